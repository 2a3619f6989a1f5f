# mk/check.mk — running the test suites.
#
#   make check              every suite (unit, integration, man-page lint)
#   make unit-check         in-process suites only
#   make integration-check  suites with real orbitd/orbitctl processes and a real broker
#   make check -j2          suites run two at a time
#
# Each suite is its own target, BUILD/tests/<dir>/<suite>.run, so make runs
# them in parallel. A suite's output goes to BUILD/tests/<dir>/<suite>.log and
# is printed whole only when it fails; each prints one line with its result,
# check's own counts and its wall time. A failed suite does not stop the
# others: the summary at the end names every one that failed.

# liborbit.so exports its API only: every defined dynamic symbol is orbit_*
# (libplugin/liborbit.map).
CHECK_EXTRA += symbols-check
.PHONY: symbols-check
symbols-check: $(LIB_SO)
	@bad=$$(nm -D --defined-only $(LIB_SO) | awk '$$3 !~ /^orbit_/ {print $$3}'); \
	n=$$(nm -D --defined-only $(LIB_SO) | grep -c ' orbit_'); \
	if [ -n "$$bad" ] || [ "$$n" -eq 0 ]; then \
		echo "symbols-check: $(LIB_SO) exports non-API symbols:" $$bad; exit 1; fi; \
	echo "symbols-check: $(LIB_SO) exports $$n symbols, all orbit_*"

# A third party's view: the example plugin and the embedding example built
# with pkg-config alone against `make install DESTDIR=...`, and run.
CHECK_EXTRA += install-check
.PHONY: install-check
install-check: all
	@sh tests/install/check-install-tree.sh $(BUILD) "$(SANITIZE)" "$(SANFLAGS)"

# Every public header stands alone and compiles as C11 and as C++17 (C++
# plugins and applications include them; each has extern "C" guards).
CHECK_EXTRA += headers-check
.PHONY: headers-check
headers-check:
	@for h in libplugin/include/orbit/*.h; do \
		grep -q '^extern "C" {' $$h || { echo "headers-check: $$h has no extern \"C\" guard"; exit 1; }; \
		echo "#include <orbit/$${h##*/}>" | $(CC) -std=c11 -Wall -Wextra -Werror -x c \
			-fsyntax-only -Ilibplugin/include - || { echo "headers-check: $$h (C)"; exit 1; }; \
		echo "#include <orbit/$${h##*/}>" | $(CXX) -std=c++17 -Wall -Wextra -Werror -x c++ \
			-fsyntax-only -Ilibplugin/include - || { echo "headers-check: $$h (C++)"; exit 1; }; \
	done; echo "headers-check: every public header compiles alone as C11 and C++17"

UNIT_RUNS  := $(UNIT_BINS:%=%.run)
INTEG_RUNS := $(INTEG_BINS:%=%.run)

# Tests find their data (tests/data) through ORBIT_TEST_DATA and the build
# products through ORBIT_BUILD.
TEST_ENV = ORBIT_TEST_DATA=$(abspath tests/data) ORBIT_BUILD=$(abspath $(BUILD)) \
           CK_DEFAULT_TIMEOUT=60 ORBIT_SRC=$(abspath .) \
           ORBIT_MAKE_VARS="BUILD=$(BUILD) SANITIZE=$(SANITIZE)" \
           ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1

# A clean clone of HEAD in a bare Debian 12 chroot (debootstrap) with only
# make installed: `make check` there installs every dependency and passes.
# Needs root and a Debian mirror; about 3 minutes.
.PHONY: fresh-check
fresh-check:
	sh tests/fresh/fresh-debian-check.sh

.PHONY: check-now unit-check-now integration-check-now FORCE
FORCE:

# Integration suites start the daemon, orbitctl and test plugins: everything
# is built before any suite runs.
$(BUILD)/tests/%.run: $(BUILD)/tests/% all $(CHECK_EXTRA) FORCE
	@rm -f $@; t0=$$(date +%s%N); \
	if $(TEST_ENV) $< >$<.log 2>&1; then r=PASS; else r=FAIL; fi; \
	ms=$$(( ($$(date +%s%N) - t0) / 1000000 )); \
	line="$$r $(<:$(BUILD)/tests/%=%) $$(printf '%d.%03ds' $$((ms / 1000)) $$((ms % 1000))) \
	$$(grep -E '^[0-9]+%: Checks' $<.log | tail -n1)"; \
	if [ $$r = FAIL ]; then sed 's/^/  | /' $<.log; fi; \
	echo "$$line"; echo "$$line" > $@

# check_summary RUN-FILES: fails unless every suite left a PASS line.
define check_summary
	@fail=0; for r in $(1); do \
		grep -q '^PASS' $$r 2>/dev/null || { echo "FAILED: $${r%.run} (log: $${r%.run}.log)"; fail=1; }; \
	done; [ $$fail = 0 ] && echo "all $(words $(1)) suites passed"; exit $$fail
endef

# make starts prerequisites in the order listed: longest suites first keeps
# the -j critical path short. The order comes from each suite's wall time in
# the previous run (its .run file); without one (a clean clone), the order
# measured on these machines (SLOW_SUITES), then the rest.
SLOW_SUITES := integration/test_py_trace integration/test_orbitd_mqtt integration/test_bridge unit/test_engine \
               integration/test_orbitctl unit/test_sink integration/test_daemon unit/test_control
SLOW_RUNS   := $(filter $(INTEG_RUNS) $(UNIT_RUNS),$(SLOW_SUITES:%=$(BUILD)/tests/%.run))
CHECK_ORDER := $(shell for r in $(SLOW_RUNS) \
	$(filter-out $(SLOW_RUNS),$(INTEG_RUNS) $(UNIT_RUNS)); do \
	t=$$(cut -d' ' -f3 $$r 2>/dev/null | tr -d s); echo "$${t:-0} $$r"; \
	done | sort -s -k1,1 -rn | cut -d' ' -f2)

check-now: $(CHECK_ORDER) $(CHECK_EXTRA)
	$(call check_summary,$(UNIT_RUNS) $(INTEG_RUNS))

unit-check-now: $(UNIT_RUNS)
	$(call check_summary,$(UNIT_RUNS))

integration-check-now: $(INTEG_RUNS)
	$(call check_summary,$(INTEG_RUNS))
