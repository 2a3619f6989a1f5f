# orbitctl/build.mk — the control client; included by the top Makefile.
# orbitctl needs only jansson and libc: no libevent, no libavro. It shares
# orbitd/sockpath.c (the default socket path) with the daemon and takes one
# self-contained object of liborbit, its text module (numbers printed as
# Python's repr, like every other number orbitd writes; libc and libm only),
# and its histogram module (latency quantiles for stats and top; jansson).
ORBITCTL := $(BUILD)/bin/orbitctl
EXTRA_ALL += $(ORBITCTL)

ORBITCTL_SRCS := $(sort $(wildcard orbitctl/*.c))
ORBITCTL_OBJS := $(ORBITCTL_SRCS:%.c=$(BUILD)/%.o)
ORBITCTL_LIBS := $(shell $(PKG_CONFIG) --libs jansson) -lm

$(ORBITCTL_OBJS): ALL_CFLAGS += -Iorbitd

$(ORBITCTL): $(ORBITCTL_OBJS) $(BUILD)/orbitd/sockpath.o $(BUILD)/libplugin/text.o \
	     $(BUILD)/libplugin/histogram.o
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $^ -o $@ $(ALL_LDFLAGS) $(ORBITCTL_LIBS)

-include $(ORBITCTL_OBJS:.o=.d)

# The control unit test runs the real orbitctl.
$(BUILD)/tests/unit/test_control: | $(ORBITCTL)
