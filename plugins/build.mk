# plugins/build.mk — bundled plugins, the test plugins and the pkg-config files
# (orbit-plugin.pc for plugins, liborbit.pc for programs on the library).
# Included by the top Makefile after BUILD, WARN, CFLAGS and SANFLAGS are set.
#
#   plugins/NAME/*.c      -> $(BUILD)/plugins/NAME.so        (added to EXTRA_ALL)
#   tests/plugins/NAME.c  -> $(BUILD)/tests/plugins/NAME.so  (added to CHECK_EXTRA)
#   tests/plugins/NAME.cc -> $(BUILD)/tests/plugins/NAME.so  (C++, likewise)
#   orbit-plugin.pc.in    -> $(BUILD)/orbit-plugin.pc        (added to EXTRA_ALL)
#   liborbit.pc.in        -> $(BUILD)/liborbit.pc            (added to EXTRA_ALL)
#
# Plugins see only libplugin/include and never link liborbit: everything they
# use comes through the orbit_host_api table, so a plugin built here is built
# exactly like a third-party one built with orbit-plugin.pc.

# This file is included before the top Makefile's `all` rule: keep whatever
# default goal was in force instead of making our first rule the default.
plugins_saved_goal := $(.DEFAULT_GOAL)

PLUGIN_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(SANFLAGS) \
                -fPIC -fvisibility=hidden -Ilibplugin/include
# -Wl,--no-undefined makes a plugin that calls into liborbit (or anything not
# in libc) fail at build time instead of at dlopen. gcc records libasan and
# libubsan as NEEDED in shared objects built with -fsanitize, so the check
# holds under SANITIZE=1 too; clang does not link its sanitizer runtimes into
# shared objects (the executable provides them), so there it must go.
PLUGIN_NO_UNDEFINED := -Wl,--no-undefined
ifeq ($(SANITIZE),1)
ifneq ($(findstring clang,$(shell $(CC) --version 2>/dev/null)),)
PLUGIN_NO_UNDEFINED :=
endif
endif
PLUGIN_LDFLAGS = -shared $(PLUGIN_NO_UNDEFINED) $(LDFLAGS) $(SANFLAGS)

# C++ plugins prove orbit/plugin.h works from C++. The C-only warnings
# (-Wmissing-prototypes, -Wstrict-prototypes) are dropped for g++, which
# ignores them noisily. g++ links libstdc++ (NEEDED in the .so), so
# --no-undefined holds.
PLUGIN_CXXFLAGS = -std=c++17 -D_GNU_SOURCE \
                  $(filter-out -Wmissing-prototypes -Wstrict-prototypes,$(WARN)) \
                  $(CFLAGS) $(SANFLAGS) -fPIC -fvisibility=hidden -Ilibplugin/include

PLUGIN_NAMES := $(sort $(patsubst plugins/%/,%,$(dir $(wildcard plugins/*/*.c))))
PLUGIN_SOS   := $(PLUGIN_NAMES:%=$(BUILD)/plugins/%.so)
PLUGIN_OBJS  := $(patsubst %.c,$(BUILD)/%.o,$(sort $(wildcard plugins/*/*.c)))

TEST_PLUGIN_SRCS := $(sort $(wildcard tests/plugins/*.c))
TEST_PLUGIN_OBJS := $(TEST_PLUGIN_SRCS:%.c=$(BUILD)/%.o)
TEST_PLUGIN_CXX_SRCS := $(sort $(wildcard tests/plugins/*.cc))
TEST_PLUGIN_CXX_OBJS := $(TEST_PLUGIN_CXX_SRCS:%.cc=$(BUILD)/%.o)
TEST_PLUGIN_SOS  := $(TEST_PLUGIN_SRCS:%.c=$(BUILD)/%.so) \
                    $(TEST_PLUGIN_CXX_SRCS:%.cc=$(BUILD)/%.so)

PLUGIN_PC   := $(BUILD)/orbit-plugin.pc
LIBORBIT_PC := $(BUILD)/liborbit.pc

EXTRA_ALL   += $(PLUGIN_SOS) $(PLUGIN_PC) $(LIBORBIT_PC)
CHECK_EXTRA += $(TEST_PLUGIN_SOS)

# Static pattern rules: they take precedence over the top Makefile's generic
# $(BUILD)/%.o rule, whose flags (liborbit's private includes, libevent, ...)
# plugins must not see.
$(PLUGIN_OBJS) $(TEST_PLUGIN_OBJS): $(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(PLUGIN_CFLAGS) -MMD -MP -c $< -o $@

define plugin_link_rule
$(BUILD)/plugins/$(1).so: $(filter $(BUILD)/plugins/$(1)/%,$(PLUGIN_OBJS))
	$$(CC) $$^ -o $$@ $$(PLUGIN_LDFLAGS)
endef
$(foreach p,$(PLUGIN_NAMES),$(eval $(call plugin_link_rule,$(p))))

$(TEST_PLUGIN_CXX_OBJS): $(BUILD)/%.o: %.cc
	@mkdir -p $(dir $@)
	$(CXX) $(PLUGIN_CXXFLAGS) -MMD -MP -c $< -o $@

$(TEST_PLUGIN_SRCS:%.c=$(BUILD)/%.so): $(BUILD)/tests/plugins/%.so: $(BUILD)/tests/plugins/%.o
	$(CC) $< -o $@ $(PLUGIN_LDFLAGS)

$(TEST_PLUGIN_CXX_SRCS:%.cc=$(BUILD)/%.so): $(BUILD)/tests/plugins/%.so: $(BUILD)/tests/plugins/%.o
	$(CXX) $< -o $@ $(PLUGIN_LDFLAGS)

# Directories below PREFIX (or LIBDIR) are written relative to ${prefix}
# (${libdir}) so the file also works with pkg-config --define-prefix and
# PKG_CONFIG_SYSROOT_DIR after a DESTDIR install.
plugins_pc_rel = $(if $(filter $(2)/%,$(1)),$(patsubst $(2)/%,$${$(3)}/%,$(1)),$(1))
PLUGIN_PC_SED = -e 's|@PREFIX@|$(PREFIX)|g' \
                -e 's|@INCLUDEDIR@|$(call plugins_pc_rel,$(INCLUDEDIR),$(PREFIX),prefix)|g' \
                -e 's|@LIBDIR@|$(call plugins_pc_rel,$(LIBDIR),$(PREFIX),prefix)|g' \
                -e 's|@PLUGINDIR@|$(call plugins_pc_rel,$(call plugins_pc_rel,$(PLUGINDIR),$(LIBDIR),libdir),$(PREFIX),prefix)|g' \
                -e 's|@VERSION@|$(VERSION)|g'

# Regenerated on every run but only rewritten when the text changes, so
# `make all` then `make install PREFIX=/usr` never installs a stale prefix.
.PHONY: plugins-pc-always
$(PLUGIN_PC) $(LIBORBIT_PC): $(BUILD)/%.pc: %.pc.in plugins-pc-always
	@mkdir -p $(dir $@)
	@sed $(PLUGIN_PC_SED) $< > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv -f $@.tmp $@ && echo "generated $@"; fi

-include $(PLUGIN_OBJS:.o=.d) $(TEST_PLUGIN_OBJS:.o=.d) $(TEST_PLUGIN_CXX_OBJS:.o=.d)

.DEFAULT_GOAL := $(plugins_saved_goal)
