/* observer.c — the protocol observer of an orbiter (orbit/protocol.h): each
 * message it sends or receives, decoded into JSON only when an observer is
 * set (the engine tests o->observer before calling in). */
#include "orbiter_internal.h"
#include "protocol_json.h"

#include <errno.h>

void orbit_orbiter_set_observer(orbit_orbiter *o, orbit_observer_fn fn, void *ctx)
{
	if (!o)
		return;
	o->observer = fn;
	o->observer_ctx = fn ? ctx : NULL;
}

void orb_observe(struct orbit_orbiter *o, orbit_direction dir, const char *topic,
		 const orbit_payload *p, const orbit_msg *m, int error)
{
	json_t *fields = NULL;
	int kind = p->message_type ? orbit_msg_kind_from_name(p->message_type) : -1;
	if (m)
		fields = orb_msg_json(m);
	else if (error != -EBADMSG && error != -E2BIG)
		orb_payload_fields(p, &fields); /* an unexpected one may decode */
	orbit_observed ob = {
		.direction = dir,
		.topic = topic,
		.kind = kind < 0 ? -1 : kind,
		.message_type = p->message_type,
		.payload = p,
		.fields = fields,
		.error = error,
		.error_text = orbit_protocol_error(error),
		.at = orb_now(o),
	};
	o->observer(o->observer_ctx, o, &ob);
	json_decref(fields);
}
