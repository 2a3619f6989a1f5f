/* stopwatch.c — see stopwatch.h. */
#include "stopwatch.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#define CALIBRATE_NS 2000000 /* long enough that two clock reads are noise */

static bool use_tsc, inited;
static double seconds_per_tick = 1e-9;

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#if defined(__x86_64__)
/* The kernel keeps time with the TSC only when it found it invariant and
 * synchronised: trust it exactly then. */
static bool kernel_uses_tsc(void)
{
	char cs[32] = "";
	FILE *f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "re");
	if (!f)
		return false;
	bool ok = fgets(cs, sizeof cs, f) && strcmp(cs, "tsc\n") == 0;
	fclose(f);
	return ok;
}
#endif

void stopwatch_init(void)
{
	if (inited)
		return;
	inited = true;
#if defined(__x86_64__)
	if (!kernel_uses_tsc())
		return;
	uint64_t n0 = mono_ns(), t0 = __rdtsc(), n1, t1;
	do {
		n1 = mono_ns();
		t1 = __rdtsc();
	} while (n1 - n0 < CALIBRATE_NS);
	if (t1 <= t0)
		return;
	seconds_per_tick = (double)(n1 - n0) / 1e9 / (double)(t1 - t0);
	use_tsc = true;
#endif
}

uint64_t stopwatch_ticks(void)
{
#if defined(__x86_64__)
	if (use_tsc)
		return __rdtsc();
#endif
	return mono_ns();
}

double stopwatch_seconds(uint64_t ticks)
{
	return (double)ticks * seconds_per_tick;
}
