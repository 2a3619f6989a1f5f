/* local_bus.c — the in-process bus: exact-topic fan-out on the libevent loop.
 *
 * publish() makes the one copy a deferred delivery needs (topic, class name
 * and bytes in a single allocation) and appends it to a FIFO; a libevent
 * event drains the FIFO on the next loop iteration and hands the same bytes to
 * every subscriber (no serialisation, no per-subscriber copy). Messages
 * published while draining are handled in the same callback for a bounded
 * number of rounds (an execute → output → sink chain costs one loop iteration,
 * not three), then wait for the next iteration so handlers that keep
 * publishing cannot starve the loop.
 */
#include "orbit/bus.h"
#include "subtable.h"

#include <errno.h>
#include <stdint.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

/* Rounds of follow-up messages handled in one drain before yielding. */
#define DRAIN_ROUNDS 8

struct queued {
	struct queued *next;
	char *topic;
	orbit_payload p;
	/* topic, message_type and data follow in the same allocation */
};

struct local_bus {
	orbit_bus base;
	subtable subs;
	struct event *drain_ev;
	struct queued *head, *tail;
	bool draining; /* inside a delivery: a flush now would reorder */
};

static int local_subscribe(orbit_bus *b, const char *topic, orbit_bus_handler h, void *ctx)
{
	struct local_bus *lb = (struct local_bus *)b;
	bool first;
	return subtable_add(&lb->subs, topic, h, ctx, &first);
}

static int local_unsubscribe(orbit_bus *b, const char *topic, void *ctx)
{
	struct local_bus *lb = (struct local_bus *)b;
	bool last;
	return subtable_remove(&lb->subs, topic, ctx, &last);
}

static int local_publish(orbit_bus *b, const char *topic, const orbit_payload *p, unsigned flags)
{
	(void)flags; /* subscriptions are effective at once: nothing to wait for */
	struct local_bus *lb = (struct local_bus *)b;
	size_t tlen = strlen(topic) + 1;
	size_t mlen = p->message_type ? strlen(p->message_type) + 1 : 0;
	struct queued *q = malloc(sizeof(*q) + tlen + mlen + p->len);
	if (!q)
		return -ENOMEM;
	char *cur = (char *)(q + 1);
	q->next = NULL;
	q->topic = memcpy(cur, topic, tlen);
	cur += tlen;
	q->p = *p;
	q->p.message_type = mlen ? memcpy(cur, p->message_type, mlen) : NULL;
	cur += mlen;
	q->p.data = p->len ? memcpy(cur, p->data, p->len) : NULL;
	if (lb->tail)
		lb->tail->next = q;
	else
		lb->head = q;
	lb->tail = q;
	if (q == lb->head)
		event_active(lb->drain_ev, EV_WRITE, 0);
	return 0;
}

/* Deliver up to `rounds` generations of queued messages; returns how many. */
static size_t deliver(struct local_bus *lb, int rounds)
{
	size_t n = 0;
	lb->draining = true;
	for (int round = 0; round < rounds && lb->head; round++) {
		struct queued *q = lb->head;
		lb->head = lb->tail = NULL;
		while (q) {
			struct queued *next = q->next;
			subtable_dispatch(&lb->subs, q->topic, &q->p);
			free(q);
			q = next;
			n++;
		}
	}
	lb->draining = false;
	return n;
}

static void drain(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	deliver(arg, DRAIN_ROUNDS);
}

static void local_destroy(orbit_bus *b)
{
	struct local_bus *lb = (struct local_bus *)b;
	struct queued *q = lb->head;
	while (q) {
		struct queued *next = q->next;
		free(q);
		q = next;
	}
	event_free(lb->drain_ev);
	subtable_clear(&lb->subs);
	free(lb);
}

static const orbit_bus_ops local_ops = {
	.name = "local",
	.subscribe = local_subscribe,
	.unsubscribe = local_unsubscribe,
	.publish = local_publish,
	.destroy = local_destroy,
};

orbit_bus *orbit_local_bus_new(struct event_base *base)
{
	struct local_bus *lb = calloc(1, sizeof(*lb));
	if (!lb)
		return NULL;
	lb->base.ops = &local_ops;
	lb->base.base = base;
	subtable_init(&lb->subs);
	lb->drain_ev = event_new(base, -1, 0, drain, lb);
	if (!lb->drain_ev) {
		free(lb);
		errno = ENOMEM;
		return NULL;
	}
	return &lb->base;
}

bool orbit_local_bus_has_subscribers(orbit_bus *b, const char *topic)
{
	if (!b || b->ops != &local_ops || !topic)
		return false;
	return subtable_live(&((struct local_bus *)b)->subs, topic) > 0;
}

int orbit_local_bus_flush(orbit_bus *b, int max_rounds)
{
	if (!b || b->ops != &local_ops || max_rounds < 1)
		return -EINVAL;
	struct local_bus *lb = (struct local_bus *)b;
	if (lb->draining)
		return -EBUSY;
	size_t n = deliver(lb, max_rounds);
	return n > INT32_MAX ? INT32_MAX : (int)n;
}
