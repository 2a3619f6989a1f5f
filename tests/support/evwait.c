/* evwait.c — runs a test's event loop until a predicate holds or a deadline
 * passes; owns only the tick timer it adds for the duration of the call. */
#include "evwait.h"

#include <event2/event.h>
#include <stdio.h>
#include <time.h>

/* How often pred is rechecked when nothing else wakes the loop. */
#define TICK_US 5000

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

bool test_run_until(struct event_base *base, bool (*pred)(void *), void *arg, double timeout_s)
{
	double deadline = now_s() + timeout_s;
	bool ok = pred(arg);
	struct event *ev = event_new(base, -1, EV_PERSIST, tick, NULL);
	if (!ev || event_add(ev, &(struct timeval){.tv_usec = TICK_US}) < 0) {
		fprintf(stderr, "test_run_until: cannot add the tick timer\n");
		goto out;
	}
	while (!ok && now_s() < deadline) {
		if (event_base_loop(base, EVLOOP_ONCE) < 0) {
			fprintf(stderr, "test_run_until: event_base_loop failed\n");
			break;
		}
		ok = pred(arg);
	}
out:
	if (ev)
		event_free(ev);
	return ok;
}
