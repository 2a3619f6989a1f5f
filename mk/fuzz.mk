# mk/fuzz.mk — `make fuzz`: the libFuzzer targets in fuzz/ (fuzz/README.md).
#
#   make fuzz                    build every target, run each FUZZ_SECONDS (10)
#   make fuzz FUZZ_SECONDS=600   longer
#   make fuzz FUZZ_TARGETS=fuzz_envelope
#
# The targets and everything they link (liborbit, the daemon's modules) are
# built by clang with -fsanitize=fuzzer-no-link,address,undefined into their
# own tree, FUZZ_BUILD, by a sub-make of the usual rules with BUILD, CC and
# SANFLAGS replaced; `make check` never needs clang. mk/deps.sh fuzz installs
# clang and the fuzzer runtime first.
#
# Each run starts from the seeds (fuzz/corpus/<target>/, in git) copied into
# FUZZ_BUILD/fuzz/corpus/<target>/, where what libFuzzer finds accumulates
# from run to run without touching the tree. Any crash, leak, UBSan report,
# failed property (abort) or input slower than FUZZ_TIMEOUT fails the run;
# the input is saved as FUZZ_BUILD/fuzz/<target>-crash-... and the log is
# printed. Each target prints one line: executions, exec/s, cov and ft.

FUZZ_BUILD   ?= build-fuzz
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 10
FUZZ_TIMEOUT ?= 10
FUZZ_SANFLAGS = -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
                -fno-sanitize-recover=undefined
FUZZ_SRCS    := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_TARGETS ?= $(FUZZ_SRCS:fuzz/%.c=%)
FUZZ_BINS     = $(FUZZ_TARGETS:%=$(BUILD)/fuzz/%)

.PHONY: fuzz fuzz-build fuzz-now fuzz-build-now deps-fuzz

deps-fuzz:
	@PKG_CONFIG=$(PKG_CONFIG) sh mk/deps.sh fuzz

fuzz fuzz-build: deps-fuzz
	@$(MAKE) --no-print-directory $@-now BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) SANITIZE= \
		SANFLAGS='$(FUZZ_SANFLAGS)'

fuzz-build-now: $(FUZZ_BINS)

$(BUILD)/fuzz/%: fuzz/%.c fuzz/fuzz_check.h $(LIB_A) $(DAEMON_A) $(VERSION_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -MF $@.d $(PRIVATE_INC) -Iorbitd -Ifuzz $< $(DAEMON_A) $(LIB_A) \
		-o $@ -fsanitize=fuzzer $(ALL_LDFLAGS) $(PKG_LIBS) -ldl

# One target after another (2 cores are shared): seeds refreshed into the
# working corpus, then FUZZ_SECONDS of fuzzing with the target's dictionary.
fuzz-now: $(FUZZ_BINS)
	@fail=0; for t in $(FUZZ_TARGETS); do \
		dir=$(BUILD)/fuzz/corpus/$$t; log=$(BUILD)/fuzz/$$t.log; \
		mkdir -p $$dir && cp fuzz/corpus/$$t/* $$dir/ || exit 1; \
		dict=; [ -f fuzz/$$t.dict ] && dict=-dict=fuzz/$$t.dict; \
		if ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
		   UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		   $(BUILD)/fuzz/$$t $$dict -max_total_time=$(FUZZ_SECONDS) -timeout=$(FUZZ_TIMEOUT) \
			-print_final_stats=1 -artifact_prefix=$(BUILD)/fuzz/$$t- $$dir >$$log 2>&1; \
		then r=PASS; else r=FAIL; fail=1; sed 's/^/  | /' $$log | tail -n 60; fi; \
		echo "$$r $$t $$(sh fuzz/summary.sh $$log)"; \
	done; exit $$fail
