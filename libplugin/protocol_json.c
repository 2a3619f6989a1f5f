/* protocol_json.c — a decoded protocol message as JSON, under the wire's
 * field names (SPEC §2), for traces and observers (orbit/protocol.h).
 * Builds new jansson values; borrows the message. */
#include "protocol_json.h"
#include "base64.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A string or, for NULL (Avro null), null. */
static json_t *str(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *bytes(const orbit_bytes *b)
{
	if (!b->present)
		return json_null();
	char *text = malloc(BASE64_LEN(b->len) + 1);
	if (!text)
		return NULL;
	text[base64_encode(text, b->data, b->len)] = '\0';
	json_t *j = json_pack("{s:I, s:s}", "len", (json_int_t)b->len, "base64", text);
	free(text);
	return j;
}

static json_t *spec(const orbit_spec *s)
{
	json_t *schemas = json_array();
	for (size_t i = 0; schemas && i < s->n_schemas; i++)
		if (json_array_append_new(schemas, json_string(s->schemas[i])) < 0) {
			json_decref(schemas);
			return NULL;
		}
	return json_pack("{s:o, s:b, s:b}", "schemas", schemas, "support_empty_schema",
			 s->support_empty, "support_undefined_schema", s->support_undefined);
}

static json_t *specs(const orbit_spec *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, spec(&v[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *idlist(orbit_idlist l)
{
	if (!l)
		return json_null();
	json_t *a = json_array();
	for (size_t i = 0; a && l[i]; i++)
		if (json_array_append_new(a, json_string(l[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *queries(const orbit_query *q, size_t n)
{
	json_t *o = json_object();
	for (size_t i = 0; o && i < n; i++) {
		json_t *one = json_pack("{s:o, s:o, s:o, s:o, s:s}", "outputs",
					specs(q[i].outputs, q[i].n_outputs), "inputs",
					specs(q[i].inputs, q[i].n_inputs), "allowlist",
					idlist(q[i].allowlist), "blocklist", idlist(q[i].blocklist),
					"operation_name", q[i].operation_name);
		if (json_object_set_new(o, q[i].operation_name, one) < 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

static json_t *offered(const orbit_offered_op *op, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, json_pack("{s:s, s:o, s:o}", "name", op[i].name, "input",
						       spec(&op[i].input), "output",
						       spec(&op[i].output))) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* json_pack's "o" steals its argument and fails on NULL (ENOMEM in a
 * helper above), so a partial object is never returned. */
json_t *orb_msg_json(const orbit_msg *m)
{
	switch (m->kind) {
	case ORBIT_MSG_DISCOVER:
		return json_pack("{s:s, s:s, s:s, s:s, s:f, s:o}", "core_identifier",
				 m->discover.core_id, "offer_topic", m->discover.offer_topic,
				 "core_keepalive_topic", m->discover.keepalive_topic,
				 "core_keepalive_request_topic", m->discover.keepalive_request_topic,
				 "considered_dead_after", m->discover.considered_dead_after,
				 "queries", queries(m->discover.queries, m->discover.n_queries));
	case ORBIT_MSG_OFFER:
		return json_pack("{s:s, s:o, s:s, s:f, s:s, s:s}", "plugin_identifier",
				 m->offer.plugin_id, "offered_operations",
				 offered(m->offer.ops, m->offer.n_ops), "reply_topic",
				 m->offer.reply_topic, "considered_dead_after",
				 m->offer.considered_dead_after, "plugin_keepalive_topic",
				 m->offer.keepalive_topic, "plugin_keepalive_request_topic",
				 m->offer.keepalive_request_topic);
	case ORBIT_MSG_REQUEST:
		return json_pack("{s:s, s:s, s:s, s:o, s:s, s:o}", "core_identifier",
				 m->request.core_id, "operation_name", m->request.operation,
				 "response_topic", m->request.response_topic, "output_topic",
				 str(m->request.output_topic),
				 "core_side_close_operation_connection_topic", m->request.close_topic,
				 "setup_data", bytes(&m->request.setup_data));
	case ORBIT_MSG_REJECT:
		return json_pack("{s:s, s:s, s:o}", "core_identifier", m->reject.core_id,
				 "operation_name", m->reject.operation, "description",
				 str(m->reject.description));
	case ORBIT_MSG_CONFIRM:
		return json_pack("{s:s, s:s, s:o, s:s}", "plugin_identifier", m->confirm.plugin_id,
				 "operation_name", m->confirm.operation, "operation_input_topic",
				 str(m->confirm.input_topic),
				 "plugin_side_close_operation_connection_topic",
				 m->confirm.close_topic);
	case ORBIT_MSG_NO_LONGER_AVAILABLE:
		return json_pack("{s:s, s:s}", "plugin_identifier", m->no_longer_available.plugin_id,
				 "operation_name", m->no_longer_available.operation);
	case ORBIT_MSG_KEEPALIVE_REQUEST:
		return json_pack("{s:s, s:s}", "from_identifier", m->keepalive_request.from,
				 "keepalive_topic", m->keepalive_request.keepalive_topic);
	case ORBIT_MSG_KEEPALIVE:
		return json_pack("{s:s}", "from_identifier", m->keepalive.from);
	case ORBIT_MSG_GRACELESS:
		return json_pack("{s:s, s:s, s:o}", "from_identifier", m->graceless.from,
				 "operation_name", m->graceless.operation, "data",
				 bytes(&m->graceless.data));
	case ORBIT_MSG_GRACEFUL:
		return json_pack("{s:s, s:s, s:s, s:o}", "from_identifier", m->graceful.from,
				 "operation_name", m->graceful.operation, "ack_topic",
				 m->graceful.ack_topic, "data", bytes(&m->graceful.data));
	case ORBIT_MSG_CLOSE_ACK:
		return json_pack("{s:s, s:s}", "from_identifier", m->close_ack.from,
				 "operation_name", m->close_ack.operation);
	default:
		return NULL;
	}
}

int orb_payload_fields(const orbit_payload *p, json_t **out)
{
	*out = NULL;
	int kind = p && p->message_type ? orbit_msg_kind_from_name(p->message_type) : -EINVAL;
	if (kind < 0 || p->format != ORBIT_FMT_AVRO)
		return -EINVAL;
	orbit_msg m;
	int rc = orbit_msg_decode((orbit_msg_kind)kind, p->data, p->len, &m);
	if (rc < 0)
		return rc;
	*out = orb_msg_json(&m);
	orbit_msg_clear(&m);
	return *out ? kind : -ENOMEM;
}

int orbit_protocol_describe_json(const orbit_payload *p, json_t **out)
{
	if (!out)
		return -EINVAL;
	json_t *fields;
	int kind = orb_payload_fields(p, &fields);
	if (kind < 0)
		return kind;
	*out = json_pack("{s:s, s:s, s:o}", "message_type", p->message_type, "kind",
			 orbit_msg_kind_label((orbit_msg_kind)kind), "fields", fields);
	return *out ? 0 : -ENOMEM;
}

int orbit_protocol_describe(const orbit_payload *p, char **json_out)
{
	if (!json_out)
		return -EINVAL;
	*json_out = NULL;
	json_t *j;
	int rc = orbit_protocol_describe_json(p, &j);
	if (rc < 0)
		return rc;
	*json_out = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	return *json_out ? 0 : -ENOMEM;
}

const char *orbit_protocol_error(int error)
{
	switch (error) {
	case 0:
		return NULL;
	case -EBADMSG:
		return "malformed";
	case -E2BIG:
		return "too large";
	case -EPROTO:
		return "unexpected";
	default:
		return strerror(-error);
	}
}
