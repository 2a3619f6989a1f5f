# config.mk — install locations and toolchain knobs; override on the command line.
VERSION     = 0.2.0
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
SBINDIR    ?= $(PREFIX)/sbin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR     ?= $(PREFIX)/share/man
SYSCONFDIR ?= $(PREFIX)/etc
PLUGINDIR  ?= $(LIBDIR)/orbitd/plugins
# The demo plugins: installed as examples, loaded only when the demo drop-in
# (conf.d/demo.yaml.example) is enabled.
DEMOPLUGINDIR ?= $(LIBDIR)/orbitd/examples/plugins
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
UNITDIR    ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
DESTDIR    ?=

CC         ?= cc
PKG_CONFIG ?= pkg-config
DEPS        = libevent avro-c jansson libmosquitto openssl yaml-0.1

WARN    = -Wall -Wextra -Wshadow -Wformat=2 -Wmissing-prototypes -Wstrict-prototypes
CFLAGS ?= -O2 -g
ifeq ($(WERROR),1)
WARN   += -Werror
endif
ifeq ($(SANITIZE),1)
SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
BUILD   ?= build-san
else
BUILD   ?= build
endif
