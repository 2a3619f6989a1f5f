/* wire.h (private to libplugin) — the 11 Orbitalis protocol messages (SPEC §2) as C structs and
 * their schemaless-Avro encoding, done with libavro, bit-exact with Python.
 *
 * Ownership: a decoded orbit_msg owns every string, array and byte buffer in
 * it (malloc'd); release with orbit_msg_clear(). An orbit_msg built by hand
 * for encoding may point at borrowed memory: orbit_msg_encode never frees it;
 * then do not call orbit_msg_clear on it.
 * Nullable string fields (output_topic, input_topic, description) are NULL
 * for Avro null.
 */
#ifndef ORBIT_WIRE_H
#define ORBIT_WIRE_H

#include "orbit/protocol.h"
#include "orbit/spec.h"
#include "orbit/types.h"

/* orbit_msg_kind and the type names are public: orbit/protocol.h. */

/* One DiscoverQuery (SPEC §2.2). A NULL list is Avro null, an empty one an
 * empty array; decoded lists are owned (orbit_msg_clear frees them). */
typedef struct orbit_query {
	char *operation_name;
	orbit_spec *inputs;
	size_t n_inputs;
	orbit_spec *outputs;
	size_t n_outputs;
	orbit_idlist allowlist;
	orbit_idlist blocklist;
} orbit_query;

/* One OfferedOperation (SPEC §2.4). */
typedef struct orbit_offered_op {
	char *name;
	orbit_spec input;
	orbit_spec output;
} orbit_offered_op;

typedef struct orbit_msg {
	orbit_msg_kind kind;
	union {
		struct {
			char *core_id, *offer_topic, *keepalive_topic, *keepalive_request_topic;
			double considered_dead_after;
			orbit_query *queries; /* map order as decoded / to encode */
			size_t n_queries;
		} discover;
		struct {
			char *plugin_id;
			orbit_offered_op *ops;
			size_t n_ops;
			char *reply_topic;
			double considered_dead_after;
			char *keepalive_topic, *keepalive_request_topic;
		} offer;
		struct {
			char *core_id, *operation, *response_topic;
			char *output_topic; /* nullable */
			char *close_topic;  /* core_side_close_operation_connection_topic */
			orbit_bytes setup_data;
		} request;
		struct {
			char *core_id, *operation;
			char *description; /* nullable */
		} reject;
		struct {
			char *plugin_id, *operation;
			char *input_topic; /* nullable on the wire; never sent null */
			char *close_topic; /* plugin_side_close_operation_connection_topic */
		} confirm;
		struct {
			char *plugin_id, *operation;
		} no_longer_available;
		struct {
			char *from, *keepalive_topic;
		} keepalive_request;
		struct {
			char *from;
		} keepalive;
		struct {
			char *from, *operation;
			orbit_bytes data;
		} graceless;
		struct {
			char *from, *operation, *ack_topic;
			orbit_bytes data;
		} graceful;
		struct {
			char *from, *operation;
		} close_ack;
	};
} orbit_msg;

/* Upper bound on an encoded protocol message accepted by the decoder. */
#define ORBIT_WIRE_MAX (1u << 20)

/* Encode m as schemaless Avro into a malloc'd buffer (*out, *len); caller frees.
 * Returns 0, -EINVAL (e.g. both allowlist and blocklist set, NULL required
 * field) or -ENOMEM. */
int orbit_msg_encode(const orbit_msg *m, uint8_t **out, size_t *len);

/* Decode buf as message kind k into *m (zeroed first). Rejects truncated,
 * oversized (> ORBIT_WIRE_MAX), trailing-garbage and malformed input without
 * reading past len. Returns 0, -EBADMSG (malformed), -E2BIG or -ENOMEM; on
 * error *m owns nothing. */
int orbit_msg_decode(orbit_msg_kind k, const uint8_t *buf, size_t len, orbit_msg *m);

/* Release everything a decoded message owns and zero it. NULL-safe. */
void orbit_msg_clear(orbit_msg *m);

#endif
