/* orbit/protocol.h — the 11 Orbitalis protocol messages seen from outside
 * the engine: their kinds and names, a decoder of any protocol payload into
 * JSON (for a daemon that only forwards them, e.g. an isolated plugin's
 * traffic), and an observer that sees every protocol message an orbiter
 * sends and receives, decoded (`orbitctl trace`, DESIGN §3 Observability).
 *
 * JSON values here are jansson's (json_t); this header only forward-declares
 * the type, so it needs no jansson headers. Include <jansson.h> to use them.
 *
 * Ownership: a returned json_t * is a new reference (json_decref); a json_t *
 * inside a struct passed to a callback is borrowed for the call (json_incref
 * to keep it). Strings returned through char ** are malloc'd (free()).
 *
 * Threading: orbit_orbiter_set_observer on the orbiter's loop thread, and
 * the observer runs there; the other functions are thread-safe.
 */
#ifndef ORBIT_PROTOCOL_H
#define ORBIT_PROTOCOL_H

#include "orbiter.h"
#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

struct json_t;

/* The 11 messages, in SPEC §2 order. */
typedef enum orbit_msg_kind {
	ORBIT_MSG_DISCOVER = 0,
	ORBIT_MSG_OFFER,
	ORBIT_MSG_REQUEST,
	ORBIT_MSG_REJECT,
	ORBIT_MSG_CONFIRM,
	ORBIT_MSG_NO_LONGER_AVAILABLE,
	ORBIT_MSG_KEEPALIVE_REQUEST,
	ORBIT_MSG_KEEPALIVE,
	ORBIT_MSG_GRACELESS,
	ORBIT_MSG_GRACEFUL,
	ORBIT_MSG_CLOSE_ACK,
	ORBIT_MSG__COUNT
} orbit_msg_kind;

/* The Python class name used as message_type ("DiscoverMessage", ...,
 * "GracelessCloneConnectionMessage" with its upstream spelling); NULL for
 * a value out of range. */
const char *orbit_msg_type_name(orbit_msg_kind k);

/* Kind of a message_type string; -EINVAL if it is not a protocol message. */
int orbit_msg_kind_from_name(const char *message_type);

/* A short snake_case label of k, the key of per-kind counters in
 * orbit/stats.h and of "kind" in the JSON below: "discover", "offer",
 * "request", "reject", "confirm", "no_longer_available",
 * "keepalive_request", "keepalive", "graceless_close", "graceful_close",
 * "close_ack"; NULL for a value out of range. */
const char *orbit_msg_kind_label(orbit_msg_kind k);

/* Decode the protocol payload p (format avro, message_type a protocol class
 * name) into *out, a new JSON object:
 *   {"message_type": "<class name>", "kind": "<label>", "fields": {...}}
 * "fields" holds the message's fields under their wire names (SPEC §2):
 * strings as strings, null for Avro null, doubles as reals; a nested
 * Input/Output as {"schemas": [..], "support_empty_schema": b,
 * "support_undefined_schema": b}; a Discover's "queries" as an object keyed
 * by operation, each {"outputs", "inputs", "allowlist", "blocklist",
 * "operation_name"}; an Offer's "offered_operations" as an array of
 * {"name", "input", "output"}; bytes (setup_data, data) as
 * {"len": n, "base64": "<standard base64>"} or null.
 * Returns 0, -EINVAL (p or out NULL, not a protocol message type, or not
 * avro), -EBADMSG / -E2BIG (malformed: see orbit_protocol_error) or -ENOMEM;
 * *out is NULL on error. */
int orbit_protocol_describe_json(const orbit_payload *p, struct json_t **out);

/* The same as compact JSON text in *json_out (malloc'd). Same returns. */
int orbit_protocol_describe(const orbit_payload *p, char **json_out);

/* Which way an observed message went. */
typedef enum orbit_direction {
	ORBIT_DIR_SENT = 0,
	ORBIT_DIR_RECEIVED,
} orbit_direction;

/* One protocol message an orbiter sent or received. Borrowed for the
 * observer's call. */
typedef struct orbit_observed {
	orbit_direction direction;
	const char *topic;
	/* The protocol kind, or -1 when the message_type names none. */
	int kind;
	/* As on the bus (may be NULL for a payload-less event). */
	const char *message_type;
	/* The raw message: Avro bytes, format, message_type. */
	const orbit_payload *payload;
	/* The decoded fields, as "fields" of orbit_protocol_describe_json;
	 * NULL when the message could not be decoded. */
	const struct json_t *fields;
	/* 0, or what went wrong:
	 *   received: -EBADMSG / -E2BIG malformed (dropped), -EPROTO a message
	 *   the orbiter does not take on that topic (dropped; fields are set
	 *   when it decodes nonetheless);
	 *   sent: the bus's -errno when the publish failed. */
	int error;
	/* A short text for error (static storage), NULL when error is 0. */
	const char *error_text;
	/* The orbiter's clock (orbit_orbiter_now) when it happened. */
	double at;
} orbit_observed;

typedef void (*orbit_observer_fn)(void *ctx, orbit_orbiter *o, const orbit_observed *m);

/* Call fn(ctx, o, m) for every protocol message o sends (after its publish,
 * retransmitted closes included) and every one it receives on its protocol
 * topics (before acting on it), malformed and unexpected ones included, in
 * the order they happen. Payload messages (inputs and outputs) are not
 * protocol messages and are not observed: orbit/stats.h counts them. One
 * observer per orbiter; NULL fn removes it. Without an observer the cost is
 * one pointer test per message; with one, each message is decoded into JSON
 * for it. ctx is borrowed and must outlive the observer. */
void orbit_orbiter_set_observer(orbit_orbiter *o, orbit_observer_fn fn, void *ctx);

/* Text of an orbit_observed error code: "malformed", "too large",
 * "unexpected", or strerror's for a publish failure. Static storage. */
const char *orbit_protocol_error(int error);

#ifdef __cplusplus
}
#endif

#endif
