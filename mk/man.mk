# mk/man.mk — `make man-lint`: every man/*.[0-9] must format without a single
# groff warning (and without mandoc lint messages where mandoc is installed).
# Run by `make check` through CHECK_EXTRA.
#
# groff -ww only prints its warnings and still exits 0, so anything it writes
# to stderr is a failure. The pages are plain ASCII: other characters are
# written as groff escapes (\(em, \(aq, ...), which every formatter knows.

MAN_PAGES := $(sort $(wildcard man/*.[0-9]))
ifeq ($(origin MANDOC),undefined)
MANDOC := $(shell command -v mandoc 2>/dev/null)
endif

CHECK_EXTRA += man-lint
.PHONY: man-lint

man-lint:
	@fail=0; \
	for p in $(MAN_PAGES); do \
		if LC_ALL=C grep -n '[^[:print:][:space:]]' "$$p"; then \
			echo "man-lint: $$p: non-ASCII characters (use groff escapes)"; fail=1; \
		fi; \
		for dev in ps utf8; do \
			out=$$(groff -man -ww -z -T$$dev "$$p" 2>&1 >/dev/null) && [ -z "$$out" ] || { \
				printf '%s\n' "$$out"; \
				echo "man-lint: $$p: groff -T$$dev warnings"; fail=1; }; \
		done; \
		if [ -n "$(MANDOC)" ]; then \
			out=$$($(MANDOC) -Tlint "$$p" 2>&1) && [ -z "$$out" ] || { \
				printf '%s\n' "$$out"; \
				echo "man-lint: $$p: mandoc -Tlint messages"; fail=1; }; \
		fi; \
	done; \
	[ $$fail = 0 ] && echo "man-lint: $(words $(MAN_PAGES)) pages clean$(if $(MANDOC),, (groff only: no mandoc))"; \
	exit $$fail
