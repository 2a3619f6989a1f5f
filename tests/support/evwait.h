/* evwait.h — test helper: run an event loop until something happened.
 *
 * Tests wait on events with a deadline, never on fixed sleeps.
 */
#ifndef ORBIT_TEST_EVWAIT_H
#define ORBIT_TEST_EVWAIT_H

#include <stdbool.h>

struct event_base;

/* Run base (one EVLOOP_ONCE iteration at a time) until pred(arg) is true or
 * timeout_s seconds have passed. pred is checked before the first iteration
 * and after each one; a short internal timer bounds each iteration, so pred
 * may depend on state that no event of base changes (a child process, a
 * file). Returns the last value of pred. */
bool test_run_until(struct event_base *base, bool (*pred)(void *), void *arg, double timeout_s);

#endif
