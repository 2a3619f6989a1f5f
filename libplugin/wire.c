/* wire.c — the 11 Orbitalis protocol messages as schemaless Avro, encoded and
 * decoded with libavro (orbit/wire.h; SPEC §2). Owned by the codec team.
 *
 * libavro trusts its input: a length prefix is allocated before the bytes are
 * known to exist and a varint may run past the buffer. Every input is
 * therefore walked against the schema first (avro_walk.c, with its limits),
 * and libavro only ever reads data that is known to be well formed and no
 * longer than it claims.
 */
#include "avro_walk.h"
#include "wire.h"
#include "orbit/text.h"

#include <avro.h>
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* --- schemas: SPEC §2.9 verbatim, without the "doc" strings ------------- */

#define SPEC_RECORD(name)                                                          \
	"{\"type\": \"record\", \"name\": \"" name "\", \"fields\": ["              \
	"{\"name\": \"schemas\", \"type\": {\"type\": \"array\", \"items\": "       \
	"\"string\", \"name\": \"schema\"}, \"default\": []}, "                     \
	"{\"name\": \"support_empty_schema\", \"type\": \"boolean\", \"default\": false}, " \
	"{\"name\": \"support_undefined_schema\", \"type\": \"boolean\", \"default\": false}]}"

#define FIELD(name, type) "{\"name\": \"" name "\", \"type\": " type "}"
#define STR "\"string\""
#define RECORD(name, fields) \
	"{\"type\": \"record\", \"name\": \"" name "\", \"fields\": [" fields "]}"

static const char DISCOVER_SCHEMA[] = RECORD("DiscoverMessage",
	FIELD("core_identifier", STR) ", "
	FIELD("offer_topic", STR) ", "
	FIELD("core_keepalive_topic", STR) ", "
	FIELD("core_keepalive_request_topic", STR) ", "
	FIELD("considered_dead_after", "\"double\"") ", "
	FIELD("queries", "{\"type\": \"map\", \"values\": " RECORD("DiscoverQuery",
		FIELD("outputs", "{\"type\": \"array\", \"items\": " SPEC_RECORD("Output")
		      ", \"name\": \"output\"}") ", "
		FIELD("inputs", "{\"type\": \"array\", \"items\": " SPEC_RECORD("Input")
		      ", \"name\": \"input\"}") ", "
		"{\"name\": \"allowlist\", \"type\": [\"null\", {\"type\": \"array\", "
		"\"items\": \"string\", \"name\": \"allowlist\"}], \"default\": null}, "
		"{\"name\": \"blocklist\", \"type\": [\"null\", {\"type\": \"array\", "
		"\"items\": \"string\", \"name\": \"blocklist\"}], \"default\": null}, "
		FIELD("operation_name", STR)) ", \"name\": \"query\"}"));

static const char OFFER_SCHEMA[] = RECORD("OfferMessage",
	FIELD("plugin_identifier", STR) ", "
	FIELD("offered_operations", "{\"type\": \"array\", \"items\": " RECORD("OfferedOperation",
		FIELD("name", STR) ", "
		FIELD("input", SPEC_RECORD("Input")) ", "
		FIELD("output", SPEC_RECORD("Output"))) ", \"name\": \"offered_operation\"}") ", "
	FIELD("reply_topic", STR) ", "
	FIELD("considered_dead_after", "\"double\"") ", "
	FIELD("plugin_keepalive_topic", STR) ", "
	FIELD("plugin_keepalive_request_topic", STR));

static const char REQUEST_SCHEMA[] = RECORD("RequestOperationMessage",
	FIELD("core_identifier", STR) ", "
	FIELD("operation_name", STR) ", "
	FIELD("response_topic", STR) ", "
	FIELD("output_topic", "[\"string\", \"null\"]") ", "
	FIELD("core_side_close_operation_connection_topic", STR) ", "
	FIELD("setup_data", "[\"bytes\", \"null\"]"));

static const char REJECT_SCHEMA[] = RECORD("RejectOperationMessage",
	FIELD("core_identifier", STR) ", "
	FIELD("operation_name", STR) ", "
	"{\"name\": \"description\", \"type\": [\"null\", \"string\"], \"default\": null}");

static const char CONFIRM_SCHEMA[] = RECORD("ConfirmConnectionMessage",
	FIELD("plugin_identifier", STR) ", "
	FIELD("operation_name", STR) ", "
	FIELD("operation_input_topic", "[\"string\", \"null\"]") ", "
	FIELD("plugin_side_close_operation_connection_topic", STR));

static const char NO_LONGER_AVAILABLE_SCHEMA[] = RECORD("OperationNoLongerAvailableMessage",
	FIELD("plugin_identifier", STR) ", "
	FIELD("operation_name", STR));

static const char KEEPALIVE_REQUEST_SCHEMA[] = RECORD("KeepaliveRequestMessage",
	FIELD("from_identifier", STR) ", "
	FIELD("keepalive_topic", STR));

static const char KEEPALIVE_SCHEMA[] = RECORD("KeepaliveMessage",
	FIELD("from_identifier", STR));

static const char GRACELESS_SCHEMA[] = RECORD("GracelessCloneConnectionMessage",
	FIELD("from_identifier", STR) ", "
	FIELD("operation_name", STR) ", "
	FIELD("data", "[\"bytes\", \"null\"]"));

static const char GRACEFUL_SCHEMA[] = RECORD("GracefulCloseConnectionMessage",
	FIELD("from_identifier", STR) ", "
	FIELD("operation_name", STR) ", "
	FIELD("ack_topic", STR) ", "
	FIELD("data", "[\"bytes\", \"null\"]"));

static const char CLOSE_ACK_SCHEMA[] = RECORD("CloseConnectionAckMessage",
	FIELD("from_identifier", STR) ", "
	FIELD("operation_name", STR));

/* --- message layout: top-level record fields in schema order ------------ */

enum ftype { F_STR, F_OPT_STR, F_OPT_BYTES, F_DOUBLE, F_QUERIES, F_OPS };

struct field {
	enum ftype type;
	size_t off; /* of the orbit_msg member; unused for F_QUERIES/F_OPS */
};

#define FLD(t, member) { t, offsetof(orbit_msg, member) }
#define MAX_FIELDS 6

static const struct msg_info {
	const char *name;
	const char *schema;
	size_t n_fields;
	struct field fields[MAX_FIELDS];
} MSGS[ORBIT_MSG__COUNT] = {
	[ORBIT_MSG_DISCOVER] = { "DiscoverMessage", DISCOVER_SCHEMA, 6, {
		FLD(F_STR, discover.core_id), FLD(F_STR, discover.offer_topic),
		FLD(F_STR, discover.keepalive_topic),
		FLD(F_STR, discover.keepalive_request_topic),
		FLD(F_DOUBLE, discover.considered_dead_after),
		FLD(F_QUERIES, discover.queries) } },
	[ORBIT_MSG_OFFER] = { "OfferMessage", OFFER_SCHEMA, 6, {
		FLD(F_STR, offer.plugin_id), FLD(F_OPS, offer.ops),
		FLD(F_STR, offer.reply_topic), FLD(F_DOUBLE, offer.considered_dead_after),
		FLD(F_STR, offer.keepalive_topic), FLD(F_STR, offer.keepalive_request_topic) } },
	[ORBIT_MSG_REQUEST] = { "RequestOperationMessage", REQUEST_SCHEMA, 6, {
		FLD(F_STR, request.core_id), FLD(F_STR, request.operation),
		FLD(F_STR, request.response_topic), FLD(F_OPT_STR, request.output_topic),
		FLD(F_STR, request.close_topic), FLD(F_OPT_BYTES, request.setup_data) } },
	[ORBIT_MSG_REJECT] = { "RejectOperationMessage", REJECT_SCHEMA, 3, {
		FLD(F_STR, reject.core_id), FLD(F_STR, reject.operation),
		FLD(F_OPT_STR, reject.description) } },
	[ORBIT_MSG_CONFIRM] = { "ConfirmConnectionMessage", CONFIRM_SCHEMA, 4, {
		FLD(F_STR, confirm.plugin_id), FLD(F_STR, confirm.operation),
		FLD(F_OPT_STR, confirm.input_topic), FLD(F_STR, confirm.close_topic) } },
	[ORBIT_MSG_NO_LONGER_AVAILABLE] = { "OperationNoLongerAvailableMessage",
		NO_LONGER_AVAILABLE_SCHEMA, 2, {
		FLD(F_STR, no_longer_available.plugin_id),
		FLD(F_STR, no_longer_available.operation) } },
	[ORBIT_MSG_KEEPALIVE_REQUEST] = { "KeepaliveRequestMessage",
		KEEPALIVE_REQUEST_SCHEMA, 2, {
		FLD(F_STR, keepalive_request.from),
		FLD(F_STR, keepalive_request.keepalive_topic) } },
	[ORBIT_MSG_KEEPALIVE] = { "KeepaliveMessage", KEEPALIVE_SCHEMA, 1, {
		FLD(F_STR, keepalive.from) } },
	[ORBIT_MSG_GRACELESS] = { "GracelessCloneConnectionMessage", GRACELESS_SCHEMA, 3, {
		FLD(F_STR, graceless.from), FLD(F_STR, graceless.operation),
		FLD(F_OPT_BYTES, graceless.data) } },
	[ORBIT_MSG_GRACEFUL] = { "GracefulCloseConnectionMessage", GRACEFUL_SCHEMA, 4, {
		FLD(F_STR, graceful.from), FLD(F_STR, graceful.operation),
		FLD(F_STR, graceful.ack_topic), FLD(F_OPT_BYTES, graceful.data) } },
	[ORBIT_MSG_CLOSE_ACK] = { "CloseConnectionAckMessage", CLOSE_ACK_SCHEMA, 2, {
		FLD(F_STR, close_ack.from), FLD(F_STR, close_ack.operation) } },
};

/* Field indexes inside the nested records. */
enum { SPEC_SCHEMAS, SPEC_EMPTY, SPEC_UNDEFINED };
enum { Q_OUTPUTS, Q_INPUTS, Q_ALLOWLIST, Q_BLOCKLIST, Q_NAME };
enum { OP_NAME, OP_INPUT, OP_OUTPUT };

/* Parsed once, kept for the life of the process. */
static struct {
	avro_schema_t schema;
	avro_value_iface_t *iface;
} classes[ORBIT_MSG__COUNT];
static int classes_rc;
static pthread_once_t classes_once = PTHREAD_ONCE_INIT;

static void load_classes(void)
{
	for (int k = 0; k < ORBIT_MSG__COUNT; k++) {
		const char *json = MSGS[k].schema;

		if (avro_schema_from_json_length(json, strlen(json), &classes[k].schema)) {
			classes_rc = -EINVAL;
			return;
		}
		classes[k].iface = avro_generic_class_from_schema(classes[k].schema);
		if (!classes[k].iface) {
			classes_rc = -ENOMEM;
			return;
		}
	}
}

/* Released when the library is unloaded or the process exits, so leak
 * checkers see a clean heap (libavro's interior pointers otherwise show as
 * "possibly lost"). Nothing runs protocol code that late: orbitd joins its
 * workers before returning from main. */
__attribute__((destructor)) static void unload_classes(void)
{
	for (int k = 0; k < ORBIT_MSG__COUNT; k++) {
		if (classes[k].iface)
			avro_value_iface_decref(classes[k].iface);
		if (classes[k].schema)
			avro_schema_decref(classes[k].schema);
		classes[k].iface = NULL;
		classes[k].schema = NULL;
	}
}

static int ensure_classes(void)
{
	pthread_once(&classes_once, load_classes);
	return classes_rc;
}

const char *orbit_msg_type_name(orbit_msg_kind k)
{
	if ((unsigned)k >= ORBIT_MSG__COUNT)
		return NULL;
	return MSGS[k].name;
}

const char *orbit_msg_kind_label(orbit_msg_kind k)
{
	static const char *const labels[ORBIT_MSG__COUNT] = {
		"discover", "offer", "request", "reject", "confirm", "no_longer_available",
		"keepalive_request", "keepalive", "graceless_close", "graceful_close", "close_ack",
	};
	if ((unsigned)k >= ORBIT_MSG__COUNT)
		return NULL;
	return labels[k];
}

int orbit_msg_kind_from_name(const char *message_type)
{
	if (!message_type)
		return -EINVAL;
	for (int k = 0; k < ORBIT_MSG__COUNT; k++)
		if (strcmp(MSGS[k].name, message_type) == 0)
			return k;
	return -EINVAL;
}

/* Every Avro string here becomes a C string, a topic or an identifier that a
 * Python peer decodes as UTF-8: NUL and malformed UTF-8 are refused both
 * ways (decoding: avro_walk's text_no_nul). */
static bool cstr_ok(const char *s)
{
	return s && orbit_utf8_valid((const uint8_t *)s, strlen(s));
}

/* --- libavro value helpers ------------------------------------------------ */

/* libavro returns errno values, sometimes 1; only ENOMEM is worth keeping. */
static int avro_err(int rc, int fallback)
{
	if (!rc)
		return 0;
	return rc == ENOMEM ? -ENOMEM : fallback;
}

static int field_at(avro_value_t *rec, size_t idx, avro_value_t *out)
{
	return avro_err(avro_value_get_by_index(rec, idx, out, NULL), -EINVAL);
}

/* Every union here is a two-branch Optional; which side is null depends on
 * whether Python gave the field a default (§2.0). */
static int null_branch(avro_value_t *u)
{
	avro_schema_t sc = avro_value_get_schema(u);

	return avro_typeof(avro_schema_union_branch(sc, 0)) == AVRO_NULL ? 0 : 1;
}

/* Select the union branch for a present (or absent) value. */
static int set_optional(avro_value_t *u, bool present, avro_value_t *branch)
{
	int nb = null_branch(u);
	int rc = avro_err(avro_value_set_branch(u, present ? 1 - nb : nb, branch), -EINVAL);

	if (rc || present)
		return rc;
	return avro_err(avro_value_set_null(branch), -EINVAL);
}

/* The chosen branch of a decoded union, or present=false for null. */
static int get_optional(avro_value_t *u, bool *present, avro_value_t *branch)
{
	int rc = avro_err(avro_value_get_current_branch(u, branch), -EBADMSG);

	if (!rc)
		*present = avro_value_get_type(branch) != AVRO_NULL;
	return rc;
}

static int put_string(avro_value_t *v, const char *s)
{
	if (!cstr_ok(s))
		return -EINVAL;
	return avro_err(avro_value_set_string(v, s), -EINVAL);
}

static int put_string_field(avro_value_t *rec, size_t idx, const char *s)
{
	avro_value_t f;
	int rc = field_at(rec, idx, &f);

	return rc ? rc : put_string(&f, s);
}

static int put_strings(avro_value_t *arr, char *const *items, size_t n)
{
	if (n && !items)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		avro_value_t item;
		int rc = avro_err(avro_value_append(arr, &item, NULL), -EINVAL);

		if (!rc)
			rc = put_string(&item, items[i]);
		if (rc)
			return rc;
	}
	return 0;
}

static int put_bool_field(avro_value_t *rec, size_t idx, bool b)
{
	avro_value_t f;
	int rc = field_at(rec, idx, &f);

	return rc ? rc : avro_err(avro_value_set_boolean(&f, b), -EINVAL);
}

static int put_spec(avro_value_t *rec, const orbit_spec *s)
{
	avro_value_t arr;
	int rc = field_at(rec, SPEC_SCHEMAS, &arr);

	if (!rc)
		rc = put_strings(&arr, s->schemas, s->n_schemas);
	if (!rc)
		rc = put_bool_field(rec, SPEC_EMPTY, s->support_empty);
	if (!rc)
		rc = put_bool_field(rec, SPEC_UNDEFINED, s->support_undefined);
	return rc;
}

static int put_specs(avro_value_t *rec, size_t idx, const orbit_spec *specs, size_t n)
{
	avro_value_t arr;
	int rc = field_at(rec, idx, &arr);

	if (!rc && n && !specs)
		rc = -EINVAL;
	for (size_t i = 0; !rc && i < n; i++) {
		avro_value_t item;

		rc = avro_err(avro_value_append(&arr, &item, NULL), -EINVAL);
		if (!rc)
			rc = put_spec(&item, &specs[i]);
	}
	return rc;
}

static int put_optional_list(avro_value_t *rec, size_t idx, orbit_idlist l)
{
	avro_value_t u, branch;
	int rc = field_at(rec, idx, &u);

	if (!rc)
		rc = set_optional(&u, l != NULL, &branch);
	for (size_t i = 0; !rc && l && l[i]; i++) {
		avro_value_t item;

		rc = avro_err(avro_value_append(&branch, &item, NULL), -EINVAL);
		if (!rc)
			rc = put_string(&item, l[i]);
	}
	return rc;
}

static int put_query(avro_value_t *rec, const orbit_query *q)
{
	int rc;

	/* A Python plugin's receiver dies on such a query (§2.2). */
	if (q->allowlist && q->blocklist)
		return -EINVAL;
	rc = put_specs(rec, Q_OUTPUTS, q->outputs, q->n_outputs);
	if (!rc)
		rc = put_specs(rec, Q_INPUTS, q->inputs, q->n_inputs);
	if (!rc)
		rc = put_optional_list(rec, Q_ALLOWLIST, q->allowlist);
	if (!rc)
		rc = put_optional_list(rec, Q_BLOCKLIST, q->blocklist);
	if (!rc)
		rc = put_string_field(rec, Q_NAME, q->operation_name);
	return rc;
}

static int put_queries(avro_value_t *map, const orbit_query *qs, size_t n)
{
	if (n && !qs)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		avro_value_t child;
		int is_new = 0;
		int rc;

		if (!cstr_ok(qs[i].operation_name))
			return -EINVAL;
		rc = avro_err(avro_value_add(map, qs[i].operation_name, &child, NULL, &is_new),
			      -EINVAL);
		if (rc)
			return rc;
		/* The map is keyed by operation name: a repeat would be merged. */
		if (!is_new)
			return -EINVAL;
		rc = put_query(&child, &qs[i]);
		if (rc)
			return rc;
	}
	return 0;
}

static int put_ops(avro_value_t *arr, const orbit_offered_op *ops, size_t n)
{
	if (n && !ops)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		avro_value_t rec, f;
		int rc = avro_err(avro_value_append(arr, &rec, NULL), -EINVAL);

		if (!rc)
			rc = put_string_field(&rec, OP_NAME, ops[i].name);
		if (!rc)
			rc = field_at(&rec, OP_INPUT, &f);
		if (!rc)
			rc = put_spec(&f, &ops[i].input);
		if (!rc)
			rc = field_at(&rec, OP_OUTPUT, &f);
		if (!rc)
			rc = put_spec(&f, &ops[i].output);
		if (rc)
			return rc;
	}
	return 0;
}

static int put_field(avro_value_t *f, const orbit_msg *m, const struct field *fd)
{
	static uint8_t empty_bytes[1];
	const char *base = (const char *)m + fd->off;
	avro_value_t branch;
	const char *s;
	const orbit_bytes *b;
	int rc;

	switch (fd->type) {
	case F_STR:
		return put_string(f, *(char *const *)base);
	case F_OPT_STR:
		s = *(char *const *)base;
		rc = set_optional(f, s != NULL, &branch);
		return rc || !s ? rc : put_string(&branch, s);
	case F_OPT_BYTES:
		b = (const orbit_bytes *)base;
		if (b->present && b->len && !b->data)
			return -EINVAL;
		rc = set_optional(f, b->present, &branch);
		if (rc || !b->present)
			return rc;
		/* libavro copies from the pointer even for zero bytes. */
		return avro_err(avro_value_set_bytes(&branch, b->data ? b->data : empty_bytes,
						     b->len), -EINVAL);
	case F_DOUBLE:
		return avro_err(avro_value_set_double(f, *(const double *)base), -EINVAL);
	case F_QUERIES:
		return put_queries(f, m->discover.queries, m->discover.n_queries);
	case F_OPS:
		return put_ops(f, m->offer.ops, m->offer.n_ops);
	}
	return -EINVAL;
}

int orbit_msg_encode(const orbit_msg *m, uint8_t **out, size_t *len)
{
	const struct msg_info *info;
	avro_value_t val;
	avro_writer_t w = NULL;
	uint8_t *buf = NULL;
	size_t size = 0;
	bool have_val = false;
	int rc;

	if (!m || !out || !len || (unsigned)m->kind >= ORBIT_MSG__COUNT)
		return -EINVAL;
	rc = ensure_classes();
	if (rc)
		return rc;
	info = &MSGS[m->kind];
	rc = avro_err(avro_generic_value_new(classes[m->kind].iface, &val), -ENOMEM);
	if (rc)
		goto out;
	have_val = true;
	for (size_t i = 0; i < info->n_fields; i++) {
		avro_value_t f;

		rc = field_at(&val, i, &f);
		if (!rc)
			rc = put_field(&f, m, &info->fields[i]);
		if (rc)
			goto out;
	}
	rc = avro_err(avro_value_sizeof(&val, &size), -EINVAL);
	if (rc)
		goto out;
	buf = malloc(size);
	w = buf ? avro_writer_memory((const char *)buf, (int64_t)size) : NULL;
	if (!w) {
		rc = -ENOMEM;
		goto out;
	}
	rc = avro_err(avro_value_write(w, &val), -EINVAL);
	if (!rc && (size_t)avro_writer_tell(w) != size)
		rc = -EINVAL;
out:
	if (w)
		avro_writer_free(w);
	if (have_val)
		avro_value_decref(&val);
	if (rc) {
		free(buf);
		return rc;
	}
	*out = buf;
	*len = size;
	return 0;
}

/* --- decoding: copy out of the libavro value ----------------------------- */

static int take_string(avro_value_t *v, char **out)
{
	const char *s;
	size_t size; /* includes the NUL */
	int rc = avro_err(avro_value_get_string(v, &s, &size), -EBADMSG);

	if (rc)
		return rc;
	*out = strndup(s, size ? size - 1 : 0);
	return *out ? 0 : -ENOMEM;
}

static int take_string_field(avro_value_t *rec, size_t idx, char **out)
{
	avro_value_t f;
	int rc = field_at(rec, idx, &f);

	return rc ? rc : take_string(&f, out);
}

static int take_bool_field(avro_value_t *rec, size_t idx, bool *out)
{
	avro_value_t f;
	int b = 0;
	int rc = field_at(rec, idx, &f);

	if (!rc)
		rc = avro_err(avro_value_get_boolean(&f, &b), -EBADMSG);
	*out = b != 0;
	return rc;
}

static int take_spec(avro_value_t *rec, orbit_spec *s)
{
	avro_value_t arr;
	const char **schemas = NULL;
	size_t n = 0;
	bool empty = false, undefined = false;
	int rc = field_at(rec, SPEC_SCHEMAS, &arr);

	if (!rc)
		rc = avro_err(avro_value_get_size(&arr, &n), -EBADMSG);
	if (!rc && n) {
		schemas = calloc(n, sizeof(*schemas));
		if (!schemas)
			rc = -ENOMEM;
	}
	/* Borrow libavro's strings; orbit_spec_init copies them. */
	for (size_t i = 0; !rc && i < n; i++) {
		avro_value_t item;
		size_t size;

		rc = avro_err(avro_value_get_by_index(&arr, i, &item, NULL), -EBADMSG);
		if (!rc)
			rc = avro_err(avro_value_get_string(&item, &schemas[i], &size), -EBADMSG);
	}
	if (!rc)
		rc = take_bool_field(rec, SPEC_EMPTY, &empty);
	if (!rc)
		rc = take_bool_field(rec, SPEC_UNDEFINED, &undefined);
	if (!rc)
		rc = orbit_spec_init(s, schemas, n, empty, undefined);
	free(schemas);
	return rc;
}

static int take_specs(avro_value_t *rec, size_t idx, orbit_spec **out, size_t *n)
{
	avro_value_t arr;
	size_t count = 0;
	int rc = field_at(rec, idx, &arr);

	if (!rc)
		rc = avro_err(avro_value_get_size(&arr, &count), -EBADMSG);
	if (rc || !count)
		return rc;
	*out = calloc(count, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	*n = count;
	for (size_t i = 0; i < count && !rc; i++) {
		avro_value_t item;

		rc = avro_err(avro_value_get_by_index(&arr, i, &item, NULL), -EBADMSG);
		if (!rc)
			rc = take_spec(&item, &(*out)[i]);
	}
	return rc;
}

/* Built in one go (not by orbit_idlist_append) since every plugin decodes
 * every Discover; *out holds the list from the start so a failure midway
 * leaves orbit_msg_clear a NULL-terminated list to free. */
static int take_optional_list(avro_value_t *rec, size_t idx, orbit_idlist *out)
{
	avro_value_t u, branch;
	bool present = false;
	size_t count = 0;
	char **v;
	int rc = field_at(rec, idx, &u);

	if (!rc)
		rc = get_optional(&u, &present, &branch);
	if (!rc && present)
		rc = avro_err(avro_value_get_size(&branch, &count), -EBADMSG);
	if (rc || !present)
		return rc;
	if (!(v = calloc(count + 1, sizeof(*v))))
		return -ENOMEM;
	*out = (orbit_idlist)v;
	for (size_t i = 0; i < count && !rc; i++) {
		avro_value_t item;

		rc = avro_err(avro_value_get_by_index(&branch, i, &item, NULL), -EBADMSG);
		if (!rc)
			rc = take_string(&item, &v[i]);
	}
	return rc;
}

static int take_query(avro_value_t *rec, const char *key, orbit_query *q)
{
	int rc = take_specs(rec, Q_OUTPUTS, &q->outputs, &q->n_outputs);

	if (!rc)
		rc = take_specs(rec, Q_INPUTS, &q->inputs, &q->n_inputs);
	if (!rc)
		rc = take_optional_list(rec, Q_ALLOWLIST, &q->allowlist);
	if (!rc)
		rc = take_optional_list(rec, Q_BLOCKLIST, &q->blocklist);
	if (!rc)
		rc = take_string_field(rec, Q_NAME, &q->operation_name);
	/* Python builds both from one name; a disagreement is not a Python
	 * message, and both lists at once kill a Python receiver (§2.2). */
	if (!rc && (strcmp(key, q->operation_name) != 0 ||
		    (q->allowlist && q->blocklist)))
		rc = -EBADMSG;
	return rc;
}

static int take_queries(avro_value_t *map, size_t scanned, orbit_msg *m)
{
	size_t count = 0;
	int rc = avro_err(avro_value_get_size(map, &count), -EBADMSG);

	if (rc)
		return rc;
	/* libavro folds a repeated key into the first entry (appending its
	 * arrays), so fewer entries than on the wire means duplicates. */
	if (count != scanned)
		return -EBADMSG;
	if (!count)
		return 0;
	m->discover.queries = calloc(count, sizeof(*m->discover.queries));
	if (!m->discover.queries)
		return -ENOMEM;
	m->discover.n_queries = count;
	for (size_t i = 0; i < count && !rc; i++) {
		avro_value_t child;
		const char *key = NULL;

		rc = avro_err(avro_value_get_by_index(map, i, &child, &key), -EBADMSG);
		if (!rc)
			rc = take_query(&child, key, &m->discover.queries[i]);
	}
	return rc;
}

static int take_ops(avro_value_t *arr, orbit_msg *m)
{
	size_t count = 0;
	int rc = avro_err(avro_value_get_size(arr, &count), -EBADMSG);

	if (rc || !count)
		return rc;
	m->offer.ops = calloc(count, sizeof(*m->offer.ops));
	if (!m->offer.ops)
		return -ENOMEM;
	m->offer.n_ops = count;
	for (size_t i = 0; i < count && !rc; i++) {
		orbit_offered_op *op = &m->offer.ops[i];
		avro_value_t rec, f;

		rc = avro_err(avro_value_get_by_index(arr, i, &rec, NULL), -EBADMSG);
		if (!rc)
			rc = take_string_field(&rec, OP_NAME, &op->name);
		if (!rc)
			rc = field_at(&rec, OP_INPUT, &f);
		if (!rc)
			rc = take_spec(&f, &op->input);
		if (!rc)
			rc = field_at(&rec, OP_OUTPUT, &f);
		if (!rc)
			rc = take_spec(&f, &op->output);
	}
	return rc;
}

static int take_field(avro_value_t *f, orbit_msg *m, const struct field *fd,
		      size_t map_entries)
{
	char *base = (char *)m + fd->off;
	avro_value_t branch;
	orbit_bytes *b;
	const void *data;
	size_t size;
	bool present;
	int rc;

	switch (fd->type) {
	case F_STR:
		return take_string(f, (char **)base);
	case F_OPT_STR:
		rc = get_optional(f, &present, &branch);
		return rc || !present ? rc : take_string(&branch, (char **)base);
	case F_OPT_BYTES:
		b = (orbit_bytes *)base;
		rc = get_optional(f, &b->present, &branch);
		if (rc || !b->present)
			return rc;
		rc = avro_err(avro_value_get_bytes(&branch, &data, &size), -EBADMSG);
		if (rc)
			return rc;
		/* Keep present bytes non-NULL even when empty. */
		b->data = malloc(size ? size : 1);
		if (!b->data)
			return -ENOMEM;
		if (size)
			memcpy(b->data, data, size);
		b->len = size;
		return 0;
	case F_DOUBLE:
		return avro_err(avro_value_get_double(f, (double *)base), -EBADMSG);
	case F_QUERIES:
		return take_queries(f, map_entries, m);
	case F_OPS:
		return take_ops(f, m);
	}
	return -EBADMSG;
}

int orbit_msg_decode(orbit_msg_kind k, const uint8_t *buf, size_t len, orbit_msg *m)
{
	struct avro_walk w;
	const struct msg_info *info;
	avro_reader_t r = NULL;
	avro_value_t val;
	bool have_val = false;
	int rc;

	if (!m)
		return -EINVAL;
	memset(m, 0, sizeof(*m));
	if ((unsigned)k >= ORBIT_MSG__COUNT || (!buf && len))
		return -EINVAL;
	if (len > ORBIT_WIRE_MAX)
		return -E2BIG;
	rc = ensure_classes();
	if (rc)
		return rc;
	if (!buf)
		return -EBADMSG;
	info = &MSGS[k];
	/* Every string becomes a C string: NUL refused. */
	w = (struct avro_walk){ .p = buf, .end = buf + len, .text_no_nul = true };
	rc = avro_walk(&w, classes[k].schema);
	if (!rc && w.p != w.end)
		rc = -EBADMSG; /* trailing bytes */
	if (rc)
		return rc;

	r = avro_reader_memory((const char *)buf, (int64_t)len);
	if (!r)
		return -ENOMEM;
	rc = avro_err(avro_generic_value_new(classes[k].iface, &val), -ENOMEM);
	if (rc)
		goto out;
	have_val = true;
	rc = avro_err(avro_value_read(r, &val), -EBADMSG);
	if (rc)
		goto out;
	m->kind = k;
	for (size_t i = 0; i < info->n_fields && !rc; i++) {
		avro_value_t f;

		rc = field_at(&val, i, &f);
		if (!rc)
			rc = take_field(&f, m, &info->fields[i], w.map_entries);
	}
out:
	if (have_val)
		avro_value_decref(&val);
	avro_reader_free(r);
	if (rc)
		orbit_msg_clear(m);
	return rc;
}

/* --- release ---------------------------------------------------------------- */

static void free_specs(orbit_spec *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		orbit_spec_clear(&v[i]);
	free(v);
}

static void free_query(orbit_query *q)
{
	free(q->operation_name);
	free_specs(q->inputs, q->n_inputs);
	free_specs(q->outputs, q->n_outputs);
	orbit_idlist_free(q->allowlist);
	orbit_idlist_free(q->blocklist);
}

void orbit_msg_clear(orbit_msg *m)
{
	const struct msg_info *info;

	if (!m)
		return;
	if ((unsigned)m->kind >= ORBIT_MSG__COUNT)
		goto out;
	info = &MSGS[m->kind];
	for (size_t i = 0; i < info->n_fields; i++) {
		const struct field *fd = &info->fields[i];
		char *base = (char *)m + fd->off;

		switch (fd->type) {
		case F_STR:
		case F_OPT_STR:
			free(*(char **)base);
			break;
		case F_OPT_BYTES:
			free(((orbit_bytes *)base)->data);
			break;
		case F_DOUBLE:
			break;
		case F_QUERIES:
			for (size_t q = 0; m->discover.queries && q < m->discover.n_queries; q++)
				free_query(&m->discover.queries[q]);
			free(m->discover.queries);
			break;
		case F_OPS:
			for (size_t o = 0; m->offer.ops && o < m->offer.n_ops; o++) {
				free(m->offer.ops[o].name);
				orbit_spec_clear(&m->offer.ops[o].input);
				orbit_spec_clear(&m->offer.ops[o].output);
			}
			free(m->offer.ops);
			break;
		}
	}
out:
	memset(m, 0, sizeof(*m));
}
