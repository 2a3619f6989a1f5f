/* drain.c — see drain.h. A 10 ms poll keeps it independent of who emits
 * which event; it only runs while something is being closed. */
#include "drain.h"

#include <orbit/orbiter.h>

#include <event2/event.h>
#include <stdlib.h>

#define DRAIN_POLL_USEC 10000

struct drain {
	struct event *ev;
	bool (*empty)(void *arg);
	void (*done)(void *arg, bool timed_out);
	void *arg;
	double deadline; /* orbit_now() time, or < 0 */
};

static void tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct drain *d = arg;
	bool empty = d->empty(d->arg);
	bool late = d->deadline >= 0 && orbit_now() >= d->deadline;
	if (!empty && !late) {
		struct timeval tv = {0, DRAIN_POLL_USEC};
		event_add(d->ev, &tv);
		return;
	}
	void (*done)(void *, bool) = d->done;
	void *darg = d->arg;
	drain_cancel(d);
	done(darg, !empty);
}

struct drain *drain_start(struct event_base *base, bool (*empty)(void *arg),
			  void (*done)(void *arg, bool timed_out), void *arg, double timeout)
{
	struct drain *d = calloc(1, sizeof *d);
	if (!d)
		return NULL;
	*d = (struct drain){.empty = empty, .done = done, .arg = arg,
			    .deadline = timeout < 0 ? -1 : orbit_now() + timeout};
	if (!(d->ev = evtimer_new(base, tick, d))) {
		free(d);
		return NULL;
	}
	/* First look right away: often there is nothing to wait for. */
	event_active(d->ev, EV_TIMEOUT, 0);
	return d;
}

void drain_cancel(struct drain *d)
{
	if (!d)
		return;
	event_free(d->ev);
	free(d);
}
