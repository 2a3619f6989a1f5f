# mk/install.mk — `make install` and `make uninstall`.
#
#   make install                          # under PREFIX=/usr/local
#   make install PREFIX=/usr SYSCONFDIR=/etc DESTDIR=/tmp/stage
#
# Locations come from config.mk. The man pages and conf/*.yaml name the
# default ones (/usr/local/etc, /usr/local/lib/orbitd/plugins, ...), and
# systemd/orbitd.service has @SBINDIR@ and @SYSCONFDIR@ placeholders: both are
# rewritten with the configured paths on the way in. An existing orbitd.yaml
# is never overwritten; the new one lands beside it as orbitd.yaml.new (a
# package build installs into an empty DESTDIR, so it never meets this).
#
# What is installed is a clean host and core, not the demo `make run` shows:
# conf/orbitd.production.yaml becomes orbitd.yaml (no plugins, no
# requirements), PLUGINDIR is created empty, the bundled plugins go to
# DEMOPLUGINDIR as examples, and conf.d/demo.yaml.example (the plugins and
# requirements of conf/orbitd.yaml, with plugins.dir set to DEMOPLUGINDIR)
# turns the demo on once copied to conf.d/50-demo.yaml.

INSTALL     ?= install
# The programs (orbitd/build.mk and orbitctl's build file name them).
INSTALL_ORBITD   = $(or $(ORBITD),$(BUILD)/bin/orbitd)
INSTALL_ORBITCTL = $(or $(ORBITCTL),$(BUILD)/bin/orbitctl)
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
DOCDIR      ?= $(PREFIX)/share/doc/orbitd
# The broker recipe of orbitd(8), SECURITY: documentation, not configuration
# (it belongs in the broker's /etc/mosquitto, not in orbitd's).
MOSQUITTO_EXAMPLES := conf/mosquitto/README conf/mosquitto/mosquitto.conf conf/mosquitto/acl.example \
                      conf/mosquitto/bridge.conf.example
INSTALL_TMP := $(BUILD)/install

# Longest defaults first, so /usr/local/lib/orbitd/plugins is not taken for
# something shorter. Placeholders are replaced outside comment lines only.
INSTALL_SED = sed \
	-e 's|/usr/local/share/doc/orbitd|$(DOCDIR)|g' \
	-e 's|/usr/local/lib/orbitd/examples/plugins|$(DEMOPLUGINDIR)|g' \
	-e 's|/usr/local/lib/orbitd/plugins|$(PLUGINDIR)|g' \
	-e 's|/usr/local/lib/systemd/system|$(UNITDIR)|g' \
	-e 's|/usr/local/etc|$(SYSCONFDIR)|g' \
	-e 's|/usr/local/sbin|$(SBINDIR)|g' \
	-e 's|/usr/local/bin|$(BINDIR)|g' \
	-e '/^\.TH /s|"orbitd [^"]*"|"orbitd $(VERSION)"|' \
	-e '/^\#/!s|@SBINDIR@|$(SBINDIR)|g' \
	-e '/^\#/!s|@SYSCONFDIR@|$(SYSCONFDIR)|g'

ORBIT_HEADERS := $(sort $(wildcard libplugin/include/orbit/*.h))
INSTALL_MAN   := $(sort $(wildcard man/*.[0-9]))
# Bundled plugins only (plugins/build.mk); test plugins are never installed.
INSTALL_PLUGINS := $(notdir $(PLUGIN_SOS))

.PHONY: uninstall

install: all
	@rm -rf $(INSTALL_TMP) && mkdir -p $(INSTALL_TMP)
	$(INSTALL) -D -m 0755 $(INSTALL_ORBITD) $(DESTDIR)$(SBINDIR)/orbitd
	@if [ -e $(INSTALL_ORBITCTL) ]; then \
		echo "$(INSTALL) -D -m 0755 $(INSTALL_ORBITCTL) $(DESTDIR)$(BINDIR)/orbitctl"; \
		$(INSTALL) -D -m 0755 $(INSTALL_ORBITCTL) $(DESTDIR)$(BINDIR)/orbitctl; \
	fi
	$(INSTALL) -D -m 0644 $(LIB_SO) $(DESTDIR)$(LIBDIR)/liborbit.so.0
	ln -sf liborbit.so.0 $(DESTDIR)$(LIBDIR)/liborbit.so
	$(INSTALL) -D -m 0644 $(LIB_A) $(DESTDIR)$(LIBDIR)/liborbit.a
	$(INSTALL) -d -m 0755 $(DESTDIR)$(INCLUDEDIR)/orbit
	$(INSTALL) -m 0644 $(ORBIT_HEADERS) $(DESTDIR)$(INCLUDEDIR)/orbit/
	$(INSTALL) -d -m 0755 $(DESTDIR)$(PLUGINDIR) $(DESTDIR)$(DEMOPLUGINDIR)
	$(if $(PLUGIN_SOS),$(INSTALL) -m 0644 $(PLUGIN_SOS) $(DESTDIR)$(DEMOPLUGINDIR)/)
	@for p in $(INSTALL_PLUGINS); do \
		[ ! -e $(DESTDIR)$(PLUGINDIR)/$$p ] || \
		echo "note: $(DESTDIR)$(PLUGINDIR)/$$p is a demo plugin from an earlier install; orbitd loads it until it is removed"; \
	done
	$(INSTALL) -D -m 0644 $(PLUGIN_PC) $(DESTDIR)$(PKGCONFIGDIR)/orbit-plugin.pc
	$(INSTALL) -D -m 0644 $(LIBORBIT_PC) $(DESTDIR)$(PKGCONFIGDIR)/liborbit.pc
	@echo "SED conf/orbitd.production.yaml > $(INSTALL_TMP)/orbitd.yaml"
	@$(INSTALL_SED) conf/orbitd.production.yaml > $(INSTALL_TMP)/orbitd.yaml
	@cfg=$(DESTDIR)$(SYSCONFDIR)/orbitd/orbitd.yaml; \
	if [ ! -e $$cfg ]; then \
		echo "$(INSTALL) -D -m 0644 $(INSTALL_TMP)/orbitd.yaml $$cfg"; \
		$(INSTALL) -D -m 0644 $(INSTALL_TMP)/orbitd.yaml $$cfg; \
	elif ! cmp -s $(INSTALL_TMP)/orbitd.yaml $$cfg; then \
		echo "$$cfg exists: installing the new one as $$cfg.new"; \
		$(INSTALL) -m 0644 $(INSTALL_TMP)/orbitd.yaml $$cfg.new; \
	fi
	$(INSTALL) -D -m 0644 conf/conf.d/README $(DESTDIR)$(SYSCONFDIR)/orbitd/conf.d/README
	@echo "GEN conf/demo-dropin.head + conf/orbitd.yaml from plugins: > $(INSTALL_TMP)/demo.yaml.example"
	@grep -q '^plugins:' conf/orbitd.yaml || { \
		echo "conf/orbitd.yaml: no 'plugins:' line, where the demo drop-in starts" >&2; exit 1; }
	@{ cat conf/demo-dropin.head; \
	   awk '/^plugins:/ { p = 1; print; print "  dir: /usr/local/lib/orbitd/examples/plugins"; next } p' conf/orbitd.yaml; \
	 } | $(INSTALL_SED) > $(INSTALL_TMP)/demo.yaml.example
	$(INSTALL) -m 0644 $(INSTALL_TMP)/demo.yaml.example $(DESTDIR)$(SYSCONFDIR)/orbitd/conf.d/demo.yaml.example
	@for p in $(INSTALL_MAN); do \
		n=$${p##*/}; s=$${n##*.}; \
		$(INSTALL_SED) $$p > $(INSTALL_TMP)/$$n || exit 1; \
		echo "$(INSTALL) -D -m 0644 $$p $(DESTDIR)$(MANDIR)/man$$s/$$n"; \
		$(INSTALL) -D -m 0644 $(INSTALL_TMP)/$$n $(DESTDIR)$(MANDIR)/man$$s/$$n || exit 1; \
	done
	@echo "SED systemd/orbitd.service > $(INSTALL_TMP)/orbitd.service"
	@$(INSTALL_SED) systemd/orbitd.service > $(INSTALL_TMP)/orbitd.service
	$(INSTALL) -D -m 0644 $(INSTALL_TMP)/orbitd.service $(DESTDIR)$(UNITDIR)/orbitd.service
	$(INSTALL) -D -m 0644 systemd/orbitd.sysusers $(DESTDIR)$(SYSUSERSDIR)/orbitd.conf
	$(INSTALL) -d -m 0755 $(DESTDIR)$(DOCDIR)/examples/mosquitto
	$(INSTALL) -m 0644 $(MOSQUITTO_EXAMPLES) $(DESTDIR)$(DOCDIR)/examples/mosquitto/
	@if [ -e orbitctl/orbitctl.bash-completion ]; then \
		echo "$(INSTALL) -D -m 0644 orbitctl/orbitctl.bash-completion $(DESTDIR)$(BASHCOMPDIR)/orbitctl"; \
		$(INSTALL) -D -m 0644 orbitctl/orbitctl.bash-completion $(DESTDIR)$(BASHCOMPDIR)/orbitctl; \
	fi
	@rm -rf $(INSTALL_TMP)
	@if [ -z "$(DESTDIR)" ]; then \
		echo "installed; now: ldconfig; systemd-sysusers; systemctl daemon-reload"; \
	fi

# Configuration files (orbitd.yaml, conf.d/*.yaml) are the administrator's and
# stay; so do plugins that did not come from this tree.
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/orbitd $(DESTDIR)$(BINDIR)/orbitctl
	rm -f $(DESTDIR)$(LIBDIR)/liborbit.so.0 $(DESTDIR)$(LIBDIR)/liborbit.so \
	      $(DESTDIR)$(LIBDIR)/liborbit.a
	rm -f $(addprefix $(DESTDIR)$(INCLUDEDIR)/orbit/,$(notdir $(ORBIT_HEADERS)))
	rmdir $(DESTDIR)$(INCLUDEDIR)/orbit 2>/dev/null || true
	rm -f $(addprefix $(DESTDIR)$(DEMOPLUGINDIR)/,$(INSTALL_PLUGINS))
	rmdir $(DESTDIR)$(DEMOPLUGINDIR) $(dir $(DESTDIR)$(DEMOPLUGINDIR)) \
	      $(DESTDIR)$(PLUGINDIR) $(DESTDIR)$(LIBDIR)/orbitd 2>/dev/null || true
	rm -f $(DESTDIR)$(PKGCONFIGDIR)/orbit-plugin.pc $(DESTDIR)$(PKGCONFIGDIR)/liborbit.pc
	rm -f $(DESTDIR)$(SYSCONFDIR)/orbitd/orbitd.yaml.new \
	      $(DESTDIR)$(SYSCONFDIR)/orbitd/conf.d/README \
	      $(DESTDIR)$(SYSCONFDIR)/orbitd/conf.d/demo.yaml.example
	rm -f $(foreach p,$(INSTALL_MAN),$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(p)))/$(notdir $(p)))
	rm -f $(DESTDIR)$(UNITDIR)/orbitd.service $(DESTDIR)$(SYSUSERSDIR)/orbitd.conf
	rm -f $(DESTDIR)$(BASHCOMPDIR)/orbitctl
	rm -f $(addprefix $(DESTDIR)$(DOCDIR)/examples/mosquitto/,$(notdir $(MOSQUITTO_EXAMPLES)))
	rmdir $(DESTDIR)$(DOCDIR)/examples/mosquitto $(DESTDIR)$(DOCDIR)/examples \
	      $(DESTDIR)$(DOCDIR) 2>/dev/null || true
