# bench/build.mk — `make bench`: builds the benchmark programs, the bench
# plugin and everything they drive (orbitd, the bundled plugins, the echo test
# plugin), then runs bench_run, which writes bench/RESULTS.md.
#
# Included by the top Makefile after plugins/build.mk and orbitd/build.mk
# (it uses LIB_A, DAEMON_A, ORBITD, PLUGIN_CFLAGS, PLUGIN_LDFLAGS, PLUGIN_SOS).
#
#   make bench                       the full run (about 2 minutes on 2 cores)
#   make bench BENCH_ARGS=--quick    fewer runs and iterations, for a smoke test
#   make bench BENCH_ARGS='--runs 7' more runs per figure
#   make bench BENCH_ARGS='--mqtt --out /tmp/mqtt.md'
#                                    the MQTT sections only (§2, §2b across two
#                                    bridged brokers, §3's MQTT columns); the
#                                    rest reads n/a, hence an --out of its own

bench_saved_goal := $(.DEFAULT_GOAL)

BENCH_DIR     := $(BUILD)/bench
BENCH_UTIL_O  := $(BENCH_DIR)/bench_util.o
BENCH_PLUGIN  := $(BENCH_DIR)/benchplug.so
BENCH_ECHO_SO := $(BUILD)/tests/plugins/echo.so
BENCH_BINS    := $(BENCH_DIR)/bench_inproc $(BENCH_DIR)/bench_mqtt $(BENCH_DIR)/bench_mem \
                 $(BENCH_DIR)/bench_run
BENCH_OBJS    := $(BENCH_UTIL_O) $(BENCH_BINS:%=%.o)
BENCH_ARGS    ?=

# Built by make check too, so an API change cannot leave them broken until
# the next make bench.
CHECK_EXTRA += $(BENCH_BINS) $(BENCH_PLUGIN)

BENCH_CMD = $(BENCH_DIR)/bench_run --build $(BUILD) --src . --out bench/RESULTS.md $(BENCH_ARGS)

bench-now: $(BENCH_BINS) $(BENCH_PLUGIN) $(BENCH_ECHO_SO) $(ORBITD) $(PLUGIN_SOS)

# bench_inproc drives orbitd's plugin host (orbitd/host.c) from libdaemon.a.
$(BENCH_DIR)/bench_inproc.o: ALL_CFLAGS += -Iorbitd
# Benchmarks measure the codec directly (envelope.h, wire.h are private).
$(BENCH_OBJS): ALL_CFLAGS += $(PRIVATE_INC)

$(BENCH_DIR)/bench_inproc: $(BENCH_DIR)/bench_inproc.o $(BENCH_UTIL_O) $(DAEMON_A) $(LIB_A)
	$(CC) $(ALL_CFLAGS) $^ -o $@ $(ALL_LDFLAGS) $(PKG_LIBS) -ldl

$(BENCH_DIR)/bench_mqtt $(BENCH_DIR)/bench_mem: %: %.o $(BENCH_UTIL_O) $(LIB_A)
	$(CC) $(ALL_CFLAGS) $^ -o $@ $(ALL_LDFLAGS) $(PKG_LIBS)

$(BENCH_DIR)/bench_run: $(BENCH_DIR)/bench_run.o $(BENCH_UTIL_O)
	$(CC) $(ALL_CFLAGS) $^ -o $@ $(ALL_LDFLAGS) -lm

# The plugin is built like any third-party plugin: plugin flags, no liborbit.
$(BENCH_DIR)/benchplug.o: bench/benchplug.c
	@mkdir -p $(dir $@)
	$(CC) $(PLUGIN_CFLAGS) -MMD -MP -c $< -o $@

$(BENCH_PLUGIN): $(BENCH_DIR)/benchplug.o
	$(CC) $< -o $@ $(PLUGIN_LDFLAGS)

-include $(BENCH_OBJS:.o=.d) $(BENCH_DIR)/benchplug.d

.DEFAULT_GOAL := $(bench_saved_goal)
