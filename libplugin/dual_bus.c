/* dual_bus.c — orbitd's core bus when MQTT is configured: one orbiter seen by
 * in-process plugins and remote ones at once. See orbit/bus.h for the routing
 * rule; nothing here decodes messages. */
#include "orbit/bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct dual_bus {
	orbit_bus base;
	orbit_bus *local, *remote;
	char *broadcast;
};

#define DUAL(b) ((struct dual_bus *)(b))

static int dual_subscribe(orbit_bus *b, const char *topic, orbit_bus_handler h, void *ctx)
{
	int rc = orbit_bus_subscribe(DUAL(b)->local, topic, h, ctx);
	if (rc < 0)
		return rc;
	rc = orbit_bus_subscribe(DUAL(b)->remote, topic, h, ctx);
	if (rc < 0)
		orbit_bus_unsubscribe(DUAL(b)->local, topic, ctx);
	return rc;
}

static int dual_unsubscribe(orbit_bus *b, const char *topic, void *ctx)
{
	int a = orbit_bus_unsubscribe(DUAL(b)->local, topic, ctx);
	int r = orbit_bus_unsubscribe(DUAL(b)->remote, topic, ctx);
	return a == 0 || r == 0 ? 0 : a;
}

static int dual_publish(orbit_bus *b, const char *topic, const orbit_payload *p, unsigned flags)
{
	struct dual_bus *d = DUAL(b);
	if (strcmp(topic, d->broadcast) == 0) {
		int a = orbit_bus_publish(d->local, topic, p, flags);
		/* A broker that is down must not stop local discovery: the MQTT
		 * bus queues, and only a full queue reports an error. */
		int r = orbit_bus_publish(d->remote, topic, p, flags);
		return a < 0 ? a : r == -ENOBUFS || r == -ENOTCONN ? 0 : r;
	}
	if (orbit_local_bus_has_subscribers(d->local, topic))
		return orbit_bus_publish(d->local, topic, p, flags);
	return orbit_bus_publish(d->remote, topic, p, flags);
}

static void dual_destroy(orbit_bus *b)
{
	free(DUAL(b)->broadcast);
	free(b);
}

static const orbit_bus_ops dual_ops = {
	.name = "local+mqtt",
	.subscribe = dual_subscribe,
	.unsubscribe = dual_unsubscribe,
	.publish = dual_publish,
	.destroy = dual_destroy,
};

orbit_bus *orbit_dual_bus_new(orbit_bus *local, orbit_bus *remote, const char *broadcast_topic)
{
	if (!local || !remote || !broadcast_topic || local->base != remote->base) {
		errno = EINVAL;
		return NULL;
	}
	struct dual_bus *d = calloc(1, sizeof *d);
	if (!d || !(d->broadcast = strdup(broadcast_topic))) {
		free(d);
		errno = ENOMEM;
		return NULL;
	}
	d->base.ops = &dual_ops;
	d->base.base = local->base;
	d->local = local;
	d->remote = remote;
	return &d->base;
}
