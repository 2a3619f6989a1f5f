# Makefile — builds libplugin (liborbit), orbitd, orbitctl, bundled plugins and
# tests. Targets: all install check unit-check integration-check bench run deps
# clean. `make check SANITIZE=1` builds everything with ASan+UBSan into
# build-san/.
include config.mk
.DEFAULT_GOAL := all

# Quiet when a library is missing: `make deps` (run first by `make run` and
# `make check`) says what is missing and installs it.
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(DEPS) 2>/dev/null)
PKG_LIBS   := $(shell $(PKG_CONFIG) --libs $(DEPS) 2>/dev/null) -lpthread -lm
CHECK_LIBS := $(shell $(PKG_CONFIG) --libs check 2>/dev/null)

# Everything sees the public headers (libplugin/include); only libplugin
# itself, the tests and the benchmarks see its private ones (PRIVATE_INC):
# orbitd, orbitctl and plugins use liborbit's API like any application.
ALL_CFLAGS  = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(SANFLAGS) -fPIC \
              -Ilibplugin/include $(PKG_CFLAGS) \
              -DORBIT_VERSION='"$(VERSION)"'
PRIVATE_INC = -Ilibplugin
ALL_LDFLAGS = $(LDFLAGS) $(SANFLAGS)

LIB_SRCS  := $(sort $(wildcard libplugin/*.c))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIB_A     := $(BUILD)/liborbit.a
LIB_SO    := $(BUILD)/liborbit.so

# The daemon's modules live in a static archive so unit tests can link them;
# orbitd/main.c only wires them together.
DAEMON_SRCS := $(filter-out orbitd/main.c,$(sort $(wildcard orbitd/*.c)))
DAEMON_OBJS := $(DAEMON_SRCS:%.c=$(BUILD)/%.o)
DAEMON_A    := $(BUILD)/libdaemon.a

UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
INTEG_SRCS := $(sort $(wildcard tests/integration/test_*.c))
TEST_SUPPORT_SRCS := $(sort $(wildcard tests/support/*.c))
TEST_SUPPORT_OBJS := $(TEST_SUPPORT_SRCS:%.c=$(BUILD)/%.o)
UNIT_BINS := $(UNIT_SRCS:%.c=$(BUILD)/%)
INTEG_BINS := $(INTEG_SRCS:%.c=$(BUILD)/%)

-include orbitd/build.mk
-include plugins/build.mk
-include orbitctl/build.mk
-include mk/install.mk
-include mk/man.mk
-include bench/build.mk
-include mk/check.mk
-include mk/package.mk
-include mk/fuzz.mk

DEMO := $(BUILD)/local_demo
EXTRA_ALL += $(DEMO)
RUN_CMD ?= $(DEMO)

$(DEMO): examples/local_demo.c $(LIB_A)
	$(CC) $(ALL_CFLAGS) $< $(LIB_A) -o $@ $(ALL_LDFLAGS) $(PKG_LIBS)

.PHONY: all check unit-check integration-check install clean run bench deps deps-build run-now bench-now
all: $(LIB_A) $(LIB_SO) $(EXTRA_ALL)

$(LIB_OBJS) $(TEST_SUPPORT_OBJS): ALL_CFLAGS += $(PRIVATE_INC)

# Every object carries ORBIT_VERSION: a new VERSION rebuilds them all. The
# stamp changes only when the version does.
VERSION_STAMP := $(BUILD)/version.stamp
.PHONY: version-stamp-always
$(VERSION_STAMP): version-stamp-always
	@mkdir -p $(dir $@)
	@echo '$(VERSION)' | cmp -s - $@ || echo '$(VERSION)' > $@

$(BUILD)/%.o: %.c $(VERSION_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(LIB_A): $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

LIB_MAP := libplugin/liborbit.map

$(LIB_SO): $(LIB_OBJS) $(LIB_MAP)
	$(CC) -shared -Wl,-soname,liborbit.so.0 -Wl,--version-script=$(LIB_MAP) $(ALL_LDFLAGS) \
		$(LIB_OBJS) -o $@ $(PKG_LIBS)

$(DAEMON_A): $(DAEMON_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/tests/%: tests/%.c $(LIB_A) $(DAEMON_A) $(TEST_SUPPORT_OBJS) $(VERSION_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -MF $@.d $(PRIVATE_INC) -Itests/support -Iorbitd $< $(TEST_SUPPORT_OBJS) $(DAEMON_A) $(LIB_A) -o $@ \
		$(ALL_LDFLAGS) $(PKG_LIBS) $(CHECK_LIBS)

# The entry points make sure the build and test dependencies are installed
# (mk/deps.sh: says what is missing and why, installs it on Debian/Ubuntu),
# then build and run in a fresh make, which sees the libraries' flags.
deps:
	@PKG_CONFIG=$(PKG_CONFIG) sh mk/deps.sh all

deps-build:
	@PKG_CONFIG=$(PKG_CONFIG) sh mk/deps.sh build

check unit-check integration-check: deps
	@$(MAKE) --no-print-directory $@-now

run bench: deps-build
	@$(MAKE) --no-print-directory $@-now

run-now: all
	$(RUN_CMD)

bench-now: all
	$(BENCH_CMD)

clean:
	rm -rf build build-san build-fuzz

.SECONDARY:

# Every object's header dependencies, whichever rule made it (orbitd's
# main.o, orbitctl, tests, plugins, bench too: a header change must rebuild
# them all, or a struct grown in a header meets stale code).
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
