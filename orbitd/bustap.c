/* bustap.c — see bustap.h. */
#include "bustap.h"
#include "log.h"
#include "strfmt.h"

#include <errno.h>
#include <stdlib.h>

struct tap_topic {
	char *topic;
	unsigned long seen;
};

struct bustap {
	orbit_bus *bus;
	struct tap_topic discover, offer;
};

static void on_message(void *ctx, const char *topic, const orbit_payload *p)
{
	struct tap_topic *tt = ctx;
	tt->seen++;
	olog(LOG_DEBUG, "local bus: %s on %s (%lu so far)",
	     p->message_type ? p->message_type : "untyped message", topic, tt->seen);
}

struct bustap *bustap_new(orbit_bus *bus, const char *discover_topic, const char *core_id)
{
	struct bustap *t = calloc(1, sizeof *t);
	int rc = -ENOMEM;
	if (!t)
		goto fail;
	t->bus = bus;
	t->discover = (struct tap_topic){strfmt("%s", discover_topic), 0};
	t->offer = (struct tap_topic){strfmt("$handshake.%s.offer", core_id), 0};
	if (!t->discover.topic || !t->offer.topic)
		goto fail;
	if ((rc = orbit_bus_subscribe(bus, t->discover.topic, on_message, &t->discover)) < 0)
		goto fail;
	if ((rc = orbit_bus_subscribe(bus, t->offer.topic, on_message, &t->offer)) < 0) {
		orbit_bus_unsubscribe(bus, t->discover.topic, &t->discover);
		goto fail;
	}
	return t;
fail:
	if (t) {
		free(t->discover.topic);
		free(t->offer.topic);
		free(t);
	}
	errno = -rc;
	return NULL;
}

void bustap_free(struct bustap *t)
{
	if (!t)
		return;
	orbit_bus_unsubscribe(t->bus, t->discover.topic, &t->discover);
	orbit_bus_unsubscribe(t->bus, t->offer.topic, &t->offer);
	free(t->discover.topic);
	free(t->offer.topic);
	free(t);
}
