/* linkbus.c — see linkbus.h. */
#include "linkbus.h"
#include "link.h"

#include <errno.h>
#include <stdlib.h>

struct linkbus {
	orbit_bus base;
	orbit_bus *inner; /* in-process fan-out */
	struct link *link;
	uint8_t bus;
};

#define LB(b) ((struct linkbus *)(b))

static int lb_subscribe(orbit_bus *b, const char *topic, orbit_bus_handler h, void *ctx)
{
	bool first = !orbit_local_bus_has_subscribers(LB(b)->inner, topic);
	int rc = orbit_bus_subscribe(LB(b)->inner, topic, h, ctx);
	if (rc == 0 && first &&
	    (rc = link_send_msg(LB(b)->link, LINK_SUB, LB(b)->bus, 0, topic, NULL)) < 0)
		orbit_bus_unsubscribe(LB(b)->inner, topic, ctx);
	return rc;
}

static int lb_unsubscribe(orbit_bus *b, const char *topic, void *ctx)
{
	int rc = orbit_bus_unsubscribe(LB(b)->inner, topic, ctx);
	if (rc == 0 && !orbit_local_bus_has_subscribers(LB(b)->inner, topic))
		link_send_msg(LB(b)->link, LINK_UNSUB, LB(b)->bus, 0, topic, NULL);
	return rc;
}

static int lb_publish(orbit_bus *b, const char *topic, const orbit_payload *p, unsigned flags)
{
	return link_send_msg(LB(b)->link, LINK_PUB, LB(b)->bus, flags, topic, p);
}

static void lb_destroy(orbit_bus *b)
{
	orbit_bus_free(LB(b)->inner);
	free(b);
}

static const orbit_bus_ops linkbus_ops = {
	.name = "link",
	.subscribe = lb_subscribe,
	.unsubscribe = lb_unsubscribe,
	.publish = lb_publish,
	.destroy = lb_destroy,
};

orbit_bus *linkbus_new(struct event_base *base, struct link *link, uint8_t bus)
{
	struct linkbus *lb = calloc(1, sizeof *lb);
	if (!lb || !(lb->inner = orbit_local_bus_new(base))) {
		free(lb);
		errno = ENOMEM;
		return NULL;
	}
	lb->base.ops = &linkbus_ops;
	lb->base.base = base;
	lb->link = link;
	lb->bus = bus;
	return &lb->base;
}

int linkbus_deliver(orbit_bus *b, const char *topic, const orbit_payload *p)
{
	return orbit_bus_publish(LB(b)->inner, topic, p, 0);
}
