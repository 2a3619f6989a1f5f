# orbitd/build.mk — the daemon binary; included by the top Makefile.
ORBITD := $(BUILD)/bin/orbitd
EXTRA_ALL += $(ORBITD)
RUN_CMD = $(ORBITD) -c conf/orbitd.yaml -p $(BUILD)/plugins

# Install locations compiled in: the default config file and plugin directory.
$(BUILD)/orbitd/config.o: ALL_CFLAGS += -DORBIT_PLUGINDIR='"$(PLUGINDIR)"'
$(BUILD)/orbitd/daemon.o: ALL_CFLAGS += -DORBIT_SYSCONFDIR='"$(SYSCONFDIR)"'

$(ORBITD): $(BUILD)/orbitd/main.o $(DAEMON_A) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $^ -o $@ $(ALL_LDFLAGS) $(PKG_LIBS) -ldl

# The compiled-in paths change with PREFIX/SYSCONFDIR/PLUGINDIR on the command
# line; a stamp rewritten only when they differ makes those objects rebuild.
PATHS_STAMP := $(BUILD)/orbitd/paths.stamp
.PHONY: orbitd-paths-always
$(PATHS_STAMP): orbitd-paths-always
	@mkdir -p $(dir $@)
	@echo '$(PLUGINDIR) $(SYSCONFDIR)' | cmp -s - $@ || echo '$(PLUGINDIR) $(SYSCONFDIR)' > $@
$(BUILD)/orbitd/config.o $(BUILD)/orbitd/daemon.o: $(PATHS_STAMP)
