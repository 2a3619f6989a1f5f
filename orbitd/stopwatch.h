/* stopwatch.h — elapsed time cheap enough to take around every in-process
 * handler call (host.c): two clock_gettime(CLOCK_MONOTONIC) cost about
 * 70 ns on the 2-core machines, a sixth of the whole in-process round
 * trip; two reads of the x86-64 time-stamp counter cost a few ns.
 *
 * The counter is used only where the kernel itself keeps time with it
 * (current clocksource "tsc": invariant and synchronised across CPUs);
 * elsewhere, and on other architectures, ticks are CLOCK_MONOTONIC
 * nanoseconds. Its rate is measured once against CLOCK_MONOTONIC by
 * stopwatch_init (about 2 ms, at plugin load; not on any hot path).
 *
 * Process-wide state written by stopwatch_init only; reads from any thread.
 */
#ifndef ORBITD_STOPWATCH_H
#define ORBITD_STOPWATCH_H

#include <stdint.h>

/* Choose the counter and measure its rate; later calls do nothing. Call on
 * the loop thread before the first stopwatch_ticks. */
void stopwatch_init(void);

/* Now, in ticks of the chosen counter. */
uint64_t stopwatch_ticks(void);

/* ticks (a difference of two stopwatch_ticks) as seconds. */
double stopwatch_seconds(uint64_t ticks);

#endif
