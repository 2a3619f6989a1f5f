/* bus.c — dispatch of the generic bus calls to the transport's table. */
#include "orbit/bus.h"

#include <errno.h>
#include <string.h>

static bool topic_ok(const char *topic)
{
	/* SPEC §1.5: '+' and '#' are illegal in PUBLISH topics and would turn an
	 * exact subscription into a wildcard; refuse them on every transport. */
	return topic && *topic && !strpbrk(topic, "+#");
}

int orbit_bus_subscribe(orbit_bus *b, const char *topic, orbit_bus_handler h, void *ctx)
{
	if (!b || !h || !topic_ok(topic))
		return -EINVAL;
	return b->ops->subscribe(b, topic, h, ctx);
}

int orbit_bus_unsubscribe(orbit_bus *b, const char *topic, void *ctx)
{
	if (!b || !topic)
		return -EINVAL;
	return b->ops->unsubscribe(b, topic, ctx);
}

int orbit_bus_publish(orbit_bus *b, const char *topic, const orbit_payload *p, unsigned flags)
{
	if (!b || !p || !topic_ok(topic))
		return -EINVAL;
	return b->ops->publish(b, topic, p, flags);
}

void orbit_bus_free(orbit_bus *b)
{
	if (b)
		b->ops->destroy(b);
}

const char *orbit_bus_name(const orbit_bus *b)
{
	return b->ops->name;
}
