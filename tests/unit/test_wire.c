/* test_wire.c — protocol message codec (libplugin/wire.c) against the protocol
 * test vectors and captured traffic, libavro with the Python .avsc schemas,
 * and malformed input. Owned by the codec team. */
#include "test_data.h"
#include <avro.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

/* --- protocol vectors (tests/data) ----------------------------------------------------------- */

struct vector {
	char name[96];
	int kind; /* orbit_msg_kind, or -1 for busline built-ins */
	uint8_t *bytes;
	size_t len;
};

#define MAX_VECTORS 32
static struct vector vectors[MAX_VECTORS];
static size_t n_vectors, n_file_vectors;


static uint8_t *unhex(const char *hex, size_t n, size_t *len)
{
	uint8_t *out = malloc(n / 2 + 1);

	ck_assert_ptr_nonnull(out);
	ck_assert_msg(n % 2 == 0, "odd hex length");
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;

		ck_assert_int_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	*len = n / 2;
	return out;
}

/* "### Name(...) (N bytes)" headers: the first word names the message. */
static int kind_of_header(const char *name)
{
	static const struct { const char *word; int kind; } MAP[] = {
		{ "Discover", ORBIT_MSG_DISCOVER }, { "Offer", ORBIT_MSG_OFFER },
		{ "Request", ORBIT_MSG_REQUEST }, { "Reject", ORBIT_MSG_REJECT },
		{ "Confirm", ORBIT_MSG_CONFIRM },
		{ "NoLongerAvailable", ORBIT_MSG_NO_LONGER_AVAILABLE },
		{ "KeepaliveRequest", ORBIT_MSG_KEEPALIVE_REQUEST },
		{ "Keepalive", ORBIT_MSG_KEEPALIVE }, { "Graceless", ORBIT_MSG_GRACELESS },
		{ "Graceful", ORBIT_MSG_GRACEFUL }, { "CloseAck", ORBIT_MSG_CLOSE_ACK },
		{ "StringMessage", -1 }, { "Int64Message", -1 },
	};
	size_t w = strcspn(name, "( ");

	for (size_t i = 0; i < sizeof(MAP) / sizeof(MAP[0]); i++)
		if (strlen(MAP[i].word) == w && strncmp(MAP[i].word, name, w) == 0)
			return MAP[i].kind;
	ck_abort_msg("unknown vector header %s", name);
	return -2;
}

static struct vector *add_vector(const char *name, int kind, const char *hex, size_t n)
{
	struct vector *v;

	ck_assert_uint_lt(n_vectors, MAX_VECTORS);
	v = &vectors[n_vectors++];
	snprintf(v->name, sizeof(v->name), "%s", name);
	v->kind = kind;
	v->bytes = unhex(hex, n, &v->len);
	return v;
}

static void load_vectors(void)
{
	char *text = read_test_data("test-vectors-avro-hex.txt");
	char *save = NULL, *pending = NULL;

	n_vectors = 0;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "### ", 4) == 0) {
			pending = line + 4;
		} else if (pending && line[0] != '#') {
			/* The header's "(N bytes)" must agree with the hex. */
			const char *paren = strrchr(pending, '(');
			size_t declared = strtoul(paren + 1, NULL, 10);
			struct vector *v = add_vector(pending, kind_of_header(pending), line,
						      strlen(line));

			ck_assert_uint_eq(v->len, declared);
			pending = NULL;
		}
		/* Other lines (comments, the final note) carry no vector. */
	}
	free(text);
	n_file_vectors = n_vectors;

	text = read_test_data("captured-payloads-avro-hex.txt");
	save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(line, ' ');
		int kind;

		if (line[0] == '#' || !sp)
			continue;
		*sp = '\0';
		kind = orbit_msg_kind_from_name(line);
		ck_assert_msg(kind >= 0, "captured type %s", line);
		add_vector(line, kind, sp + 1, strlen(sp + 1));
	}
	free(text);
}

static void free_vectors(void)
{
	for (size_t i = 0; i < n_vectors; i++)
		free(vectors[i].bytes);
	n_vectors = 0;
}

static const struct vector *find_vector(const char *prefix, int kind)
{
	for (size_t i = 0; i < n_vectors; i++)
		if (vectors[i].kind == kind && strncmp(vectors[i].name, prefix, strlen(prefix)) == 0)
			return &vectors[i];
	ck_abort_msg("no vector %s", prefix);
	return NULL;
}

/* Deterministic PRNG so fuzz failures reproduce. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Decode; on success the message must re-encode (whatever we accept we can
 * also send). Returns the decode result. */
static int decode_and_reencode(int kind, const uint8_t *buf, size_t len)
{
	orbit_msg m;
	uint8_t *out = NULL;
	size_t out_len = 0;
	int rc = orbit_msg_decode((orbit_msg_kind)kind, buf, len, &m);

	if (rc == 0) {
		ck_assert_int_eq(orbit_msg_encode(&m, &out, &out_len), 0);
		free(out);
		orbit_msg_clear(&m);
	} else {
		ck_assert_int_eq(m.kind, 0);
	}
	return rc;
}

/* --- vectors -------------------------------------------------------------------- */

START_TEST(test_vectors_loaded)
{
	size_t builtins = 0;

	ck_assert_uint_eq(n_file_vectors, 13);
	ck_assert_uint_eq(n_vectors - n_file_vectors, 9);
	for (size_t i = 0; i < n_file_vectors; i++)
		builtins += vectors[i].kind < 0;
	ck_assert_uint_eq(builtins, 2);
}
END_TEST

START_TEST(test_vectors_roundtrip)
{
	size_t checked = 0;

	for (size_t i = 0; i < n_vectors; i++) {
		const struct vector *v = &vectors[i];
		orbit_msg m;
		uint8_t *out = NULL;
		size_t len = 0;

		if (v->kind < 0)
			continue;
		ck_assert_msg(orbit_msg_decode((orbit_msg_kind)v->kind, v->bytes, v->len, &m) == 0,
			      "decode %s", v->name);
		ck_assert_int_eq(m.kind, v->kind);
		ck_assert_msg(orbit_msg_encode(&m, &out, &len) == 0, "encode %s", v->name);
		ck_assert_msg(len == v->len && memcmp(out, v->bytes, len) == 0,
			      "re-encode of %s differs", v->name);
		free(out);
		orbit_msg_clear(&m);
		checked++;
	}
	ck_assert_uint_eq(checked, 20);
}
END_TEST

START_TEST(test_discover_fields)
{
	const struct vector *v = find_vector("Discover", ORBIT_MSG_DISCOVER);
	orbit_msg m;
	orbit_query *q;

	ck_assert_int_eq(orbit_msg_decode(ORBIT_MSG_DISCOVER, v->bytes, v->len, &m), 0);
	ck_assert_str_eq(m.discover.core_id, "core1");
	ck_assert_str_eq(m.discover.offer_topic, "$handshake.core1.offer");
	ck_assert_str_eq(m.discover.keepalive_topic, "$keepalive.core1");
	ck_assert_str_eq(m.discover.keepalive_request_topic, "$keepalive.core1.request");
	ck_assert_double_eq(m.discover.considered_dead_after, 120.0);
	ck_assert_uint_eq(m.discover.n_queries, 1);
	q = &m.discover.queries[0];
	ck_assert_str_eq(q->operation_name, "turn_on");
	ck_assert_uint_eq(q->n_outputs, 1);
	ck_assert_uint_eq(q->outputs[0].n_schemas, 0);
	ck_assert(!q->outputs[0].support_empty && !q->outputs[0].support_undefined);
	ck_assert_uint_eq(q->n_inputs, 1);
	ck_assert_uint_eq(q->inputs[0].n_schemas, 0);
	ck_assert(q->inputs[0].support_empty && !q->inputs[0].support_undefined);
	ck_assert_ptr_nonnull(q->allowlist);
	ck_assert_uint_eq(orbit_idlist_len(q->allowlist), 1);
	ck_assert_str_eq(q->allowlist[0], "plugin1");
	ck_assert_ptr_null(q->blocklist);
	orbit_msg_clear(&m);
	ck_assert_ptr_null(m.discover.queries);
}
END_TEST

START_TEST(test_captured_discover_and_offer)
{
	const struct vector *v = find_vector("DiscoverMessage", ORBIT_MSG_DISCOVER);
	const char *string312 = orbit_kind_schema(ORBIT_KIND_STRING, ORBIT_FLAVOUR_PY312);
	orbit_spec want;
	orbit_msg m;
	orbit_query *q;

	ck_assert_int_eq(orbit_spec_init_kind(&want, ORBIT_KIND_STRING), 0);
	ck_assert_int_eq(orbit_msg_decode(ORBIT_MSG_DISCOVER, v->bytes, v->len, &m), 0);
	ck_assert_double_eq(m.discover.considered_dead_after, 5.0);
	ck_assert_uint_eq(m.discover.n_queries, 1);
	q = &m.discover.queries[0];
	ck_assert_str_eq(q->operation_name, "lowercase");
	ck_assert_uint_eq(q->n_inputs, 1);
	ck_assert_uint_eq(q->inputs[0].n_schemas, 1);
	ck_assert_str_eq(q->inputs[0].schemas[0], string312);
	ck_assert_ptr_nonnull(q->inputs[0].canon[0]);
	ck_assert(orbit_spec_compatible(&q->inputs[0], &want));
	ck_assert(orbit_spec_compatible(&q->outputs[0], &want));
	ck_assert(!q->allowlist && !q->blocklist);
	orbit_msg_clear(&m);

	v = find_vector("OfferMessage", ORBIT_MSG_OFFER);
	ck_assert_int_eq(orbit_msg_decode(ORBIT_MSG_OFFER, v->bytes, v->len, &m), 0);
	ck_assert_str_eq(m.offer.plugin_id, "plugin1");
	ck_assert_uint_eq(m.offer.n_ops, 1);
	ck_assert_str_eq(m.offer.ops[0].name, "lowercase");
	ck_assert(orbit_spec_compatible(&m.offer.ops[0].input, &want));
	ck_assert(orbit_spec_compatible(&m.offer.ops[0].output, &want));
	ck_assert_str_eq(m.offer.reply_topic, "$handshake.plugin1.reply");
	ck_assert_double_eq(m.offer.considered_dead_after, 4.0);
	ck_assert_str_eq(m.offer.keepalive_topic, "$keepalive.plugin1");
	ck_assert_str_eq(m.offer.keepalive_request_topic, "$keepalive.plugin1.request");
	orbit_msg_clear(&m);
	orbit_spec_clear(&want);
}
END_TEST

START_TEST(test_request_fields)
{
	const struct vector *v = find_vector("RequestOperationMessage", ORBIT_MSG_REQUEST);
	orbit_msg m;

	ck_assert_int_eq(orbit_msg_decode(ORBIT_MSG_REQUEST, v->bytes, v->len, &m), 0);
	ck_assert_str_eq(m.request.core_id, "core1");
	ck_assert_str_eq(m.request.operation, "lowercase");
	ck_assert_str_eq(m.request.response_topic, "$handshake.core1.response");
	ck_assert_str_eq(m.request.output_topic, "lowercase.core1.plugin1.output");
	ck_assert_str_eq(m.request.close_topic, "lowercase.core1.plugin1.close");
	ck_assert(m.request.setup_data.present);
	ck_assert_uint_eq(m.request.setup_data.len, 2);
	ck_assert_mem_eq(m.request.setup_data.data, "\x01\x02", 2);
	orbit_msg_clear(&m);

	v = find_vector("Request(", ORBIT_MSG_REQUEST);
	ck_assert_int_eq(orbit_msg_decode(ORBIT_MSG_REQUEST, v->bytes, v->len, &m), 0);
	ck_assert_ptr_null(m.request.output_topic);
	ck_assert(!m.request.setup_data.present);
	ck_assert_ptr_null(m.request.setup_data.data);
	orbit_msg_clear(&m);

	v = find_vector("Graceless(", ORBIT_MSG_GRACELESS);
	ck_assert_int_eq(orbit_msg_decode(ORBIT_MSG_GRACELESS, v->bytes, v->len, &m), 0);
	ck_assert(m.graceless.data.present);
	ck_assert_uint_eq(m.graceless.data.len, 1);
	ck_assert_uint_eq(m.graceless.data.data[0], 0xff);
	orbit_msg_clear(&m);

	v = find_vector("Confirm", ORBIT_MSG_CONFIRM);
	ck_assert_int_eq(orbit_msg_decode(ORBIT_MSG_CONFIRM, v->bytes, v->len, &m), 0);
	ck_assert_str_eq(m.confirm.input_topic,
			 "turn_on.core1.plugin1.input.00000000-0000-0000-0000-000000000000");
	ck_assert_str_eq(m.confirm.close_topic, "turn_on.plugin1.core1.close");
	orbit_msg_clear(&m);
}
END_TEST

/* --- encoding by hand --------------------------------------------------------- */

static void assert_encodes_to(const orbit_msg *m, const struct vector *v)
{
	uint8_t *out = NULL;
	size_t len = 0;

	ck_assert_int_eq(orbit_msg_encode(m, &out, &len), 0);
	ck_assert_uint_eq(len, v->len);
	ck_assert_mem_eq(out, v->bytes, len);
	free(out);
}

START_TEST(test_encode_by_hand)
{
	const char *allow[] = { "plugin1", NULL };
	orbit_spec none = { 0 }, empty = { .support_empty = true };
	orbit_query q = {
		.operation_name = "turn_on",
		.outputs = &none, .n_outputs = 1,
		.inputs = &empty, .n_inputs = 1,
		.allowlist = allow,
	};
	orbit_msg m = { .kind = ORBIT_MSG_DISCOVER };
	uint8_t ff = 0xff;

	m.discover.core_id = "core1";
	m.discover.offer_topic = "$handshake.core1.offer";
	m.discover.keepalive_topic = "$keepalive.core1";
	m.discover.keepalive_request_topic = "$keepalive.core1.request";
	m.discover.considered_dead_after = 120.0;
	m.discover.queries = &q;
	m.discover.n_queries = 1;
	assert_encodes_to(&m, find_vector("Discover", ORBIT_MSG_DISCOVER));

	memset(&m, 0, sizeof(m));
	m.kind = ORBIT_MSG_GRACELESS;
	m.graceless.from = "core1";
	m.graceless.operation = "turn_on";
	m.graceless.data = (orbit_bytes){ &ff, 1, true };
	assert_encodes_to(&m, find_vector("Graceless", ORBIT_MSG_GRACELESS));

	memset(&m, 0, sizeof(m));
	m.kind = ORBIT_MSG_REJECT;
	m.reject.core_id = "core1";
	m.reject.operation = "turn_on";
	assert_encodes_to(&m, find_vector("Reject", ORBIT_MSG_REJECT));

	memset(&m, 0, sizeof(m));
	m.kind = ORBIT_MSG_KEEPALIVE;
	m.keepalive.from = "plugin1";
	assert_encodes_to(&m, find_vector("Keepalive (", ORBIT_MSG_KEEPALIVE));
}
END_TEST

START_TEST(test_encode_rejects)
{
	const char *list[] = { "p", NULL };
	char bad_utf8[] = { 'a', (char)0xc3, 0 };
	orbit_query q[2] = {
		{ .operation_name = "op", .allowlist = list, .blocklist = list },
		{ .operation_name = "op" },
	};
	orbit_msg m = { .kind = ORBIT_MSG_DISCOVER };
	uint8_t *out = (uint8_t *)"untouched";
	size_t len = 7;

	m.discover.core_id = "c";
	m.discover.offer_topic = "o";
	m.discover.keepalive_topic = "k";
	m.discover.keepalive_request_topic = "r";
	m.discover.queries = q;
	m.discover.n_queries = 1;
	ck_assert_int_eq(orbit_msg_encode(&m, &out, &len), -EINVAL);

	/* Same operation twice would be merged by the map. */
	m.discover.queries = &q[1];
	ck_assert_int_eq(orbit_msg_encode(&m, &out, &len), 0);
	free(out);
	q[0] = q[1];
	m.discover.queries = q;
	m.discover.n_queries = 2;
	ck_assert_int_eq(orbit_msg_encode(&m, &out, &len), -EINVAL);

	m.discover.n_queries = 0;
	m.discover.offer_topic = NULL;
	ck_assert_int_eq(orbit_msg_encode(&m, &out, &len), -EINVAL);
	m.discover.offer_topic = bad_utf8;
	ck_assert_int_eq(orbit_msg_encode(&m, &out, &len), -EINVAL);

	memset(&m, 0, sizeof(m));
	m.kind = ORBIT_MSG_CLOSE_ACK;
	m.close_ack.from = "a";
	ck_assert_int_eq(orbit_msg_encode(&m, &out, &len), -EINVAL);

	memset(&m, 0, sizeof(m));
	m.kind = ORBIT_MSG_GRACELESS;
	m.graceless.from = "a";
	m.graceless.operation = "b";
	m.graceless.data = (orbit_bytes){ NULL, 3, true };
	ck_assert_int_eq(orbit_msg_encode(&m, &out, &len), -EINVAL);

	m.kind = ORBIT_MSG__COUNT;
	ck_assert_int_eq(orbit_msg_encode(&m, &out, &len), -EINVAL);
	ck_assert_int_eq(orbit_msg_encode(NULL, &out, &len), -EINVAL);
}
END_TEST

START_TEST(test_type_names)
{
	for (int k = 0; k < ORBIT_MSG__COUNT; k++) {
		const char *name = orbit_msg_type_name((orbit_msg_kind)k);

		ck_assert_ptr_nonnull(name);
		ck_assert_int_eq(orbit_msg_kind_from_name(name), k);
	}
	ck_assert_str_eq(orbit_msg_type_name(ORBIT_MSG_GRACELESS), "GracelessCloneConnectionMessage");
	ck_assert_str_eq(orbit_msg_type_name(ORBIT_MSG_NO_LONGER_AVAILABLE),
			 "OperationNoLongerAvailableMessage");
	ck_assert_int_eq(orbit_msg_kind_from_name("GracelessCloseConnectionMessage"), -EINVAL);
	ck_assert_int_eq(orbit_msg_kind_from_name("StringMessage"), -EINVAL);
	ck_assert_int_eq(orbit_msg_kind_from_name(NULL), -EINVAL);
	ck_assert_ptr_null(orbit_msg_type_name(ORBIT_MSG__COUNT));
}
END_TEST

/* --- every field and branch against the Python .avsc files via libavro ------- */

/* Reads our bytes with the schema Python generated and returns the record. */
static void read_with_avsc(orbit_msg_kind k, const uint8_t *buf, size_t len,
			   avro_schema_t *schema, avro_value_iface_t **iface, avro_value_t *val)
{
	char rel[256];
	char *json;
	avro_reader_t r;
	size_t size;

	snprintf(rel, sizeof(rel), "schemas/%s.avsc", orbit_msg_type_name(k));
	json = read_test_data(rel);
	ck_assert_msg(avro_schema_from_json_length(json, strlen(json), schema) == 0,
		      "%s: %s", rel, avro_strerror());
	free(json);
	*iface = avro_generic_class_from_schema(*schema);
	ck_assert_ptr_nonnull(*iface);
	ck_assert_int_eq(avro_generic_value_new(*iface, val), 0);
	r = avro_reader_memory((const char *)buf, (int64_t)len);
	ck_assert_msg(avro_value_read(r, val) == 0, "%s: %s", rel, avro_strerror());
	avro_reader_free(r);
	ck_assert_int_eq(avro_value_sizeof(val, &size), 0);
	ck_assert_uint_eq(size, len);
}

static void release_avsc(avro_schema_t schema, avro_value_iface_t *iface, avro_value_t *val)
{
	avro_value_decref(val);
	avro_value_iface_decref(iface);
	avro_schema_decref(schema);
}

static void assert_json(const avro_value_t *val, const char *want)
{
	char *json = NULL;

	ck_assert_int_eq(avro_value_to_json(val, 1, &json), 0);
	ck_assert_msg(strcmp(json, want) == 0, "\n got  %s\n want %s", json, want);
	free(json);
}

static void check_against_avsc(const orbit_msg *m, const char *want_json)
{
	avro_schema_t schema;
	avro_value_iface_t *iface;
	avro_value_t val;
	orbit_msg back;
	uint8_t *buf = NULL, *again = NULL;
	size_t len = 0, again_len = 0;

	ck_assert_int_eq(orbit_msg_encode(m, &buf, &len), 0);
	read_with_avsc(m->kind, buf, len, &schema, &iface, &val);
	assert_json(&val, want_json);
	release_avsc(schema, iface, &val);

	ck_assert_int_eq(orbit_msg_decode(m->kind, buf, len, &back), 0);
	ck_assert_int_eq(orbit_msg_encode(&back, &again, &again_len), 0);
	ck_assert_uint_eq(again_len, len);
	ck_assert_mem_eq(again, buf, len);
	orbit_msg_clear(&back);
	free(again);
	free(buf);
}

START_TEST(test_every_field_against_avsc)
{
	const char *allow[] = { "p1", "p2", NULL }, *block[] = { "p3", NULL };
	const char *schemas[] = { "\"string\"", "{\"type\": \"long\"}" };
	orbit_spec specs[3];
	orbit_query q[2] = {
		{ .operation_name = "a", .outputs = &specs[0], .n_outputs = 1,
		  .inputs = &specs[1], .n_inputs = 2, .allowlist = allow },
		{ .operation_name = "b", .blocklist = block },
	};
	orbit_offered_op op;
	orbit_msg m;
	uint8_t setup[] = { 1, 2 };

	ck_assert_int_eq(orbit_spec_init(&specs[0], schemas, 2, true, false), 0);
	ck_assert_int_eq(orbit_spec_init(&specs[1], NULL, 0, false, true), 0);
	ck_assert_int_eq(orbit_spec_init(&specs[2], schemas + 1, 1, false, false), 0);

	memset(&m, 0, sizeof(m));
	m.kind = ORBIT_MSG_DISCOVER;
	m.discover.core_id = "c";
	m.discover.offer_topic = "o";
	m.discover.keepalive_topic = "k";
	m.discover.keepalive_request_topic = "kr";
	m.discover.considered_dead_after = 2.5;
	m.discover.queries = q;
	m.discover.n_queries = 2;
	check_against_avsc(&m,
		"{\"core_identifier\": \"c\", \"offer_topic\": \"o\", \"core_keepalive_topic\": \"k\", "
		"\"core_keepalive_request_topic\": \"kr\", \"considered_dead_after\": 2.5, "
		"\"queries\": {\"a\": {\"outputs\": [{\"schemas\": [\"\\\"string\\\"\", "
		"\"{\\\"type\\\": \\\"long\\\"}\"], \"support_empty_schema\": true, "
		"\"support_undefined_schema\": false}], \"inputs\": [{\"schemas\": [], "
		"\"support_empty_schema\": false, \"support_undefined_schema\": true}, "
		"{\"schemas\": [\"{\\\"type\\\": \\\"long\\\"}\"], \"support_empty_schema\": false, "
		"\"support_undefined_schema\": false}], \"allowlist\": {\"array\": [\"p1\", \"p2\"]}, "
		"\"blocklist\": null, \"operation_name\": \"a\"}, \"b\": {\"outputs\": [], "
		"\"inputs\": [], \"allowlist\": null, \"blocklist\": {\"array\": [\"p3\"]}, "
		"\"operation_name\": \"b\"}}}");

	op = (orbit_offered_op){ .name = "a", .input = specs[2], .output = specs[0] };
	memset(&m, 0, sizeof(m));
	m.kind = ORBIT_MSG_OFFER;
	m.offer.plugin_id = "p";
	m.offer.ops = &op;
	m.offer.n_ops = 1;
	m.offer.reply_topic = "r";
	m.offer.considered_dead_after = 120.0;
	m.offer.keepalive_topic = "k";
	m.offer.keepalive_request_topic = "kr";
	check_against_avsc(&m,
		"{\"plugin_identifier\": \"p\", \"offered_operations\": [{\"name\": \"a\", "
		"\"input\": {\"schemas\": [\"{\\\"type\\\": \\\"long\\\"}\"], "
		"\"support_empty_schema\": false, \"support_undefined_schema\": false}, "
		"\"output\": {\"schemas\": [\"\\\"string\\\"\", \"{\\\"type\\\": \\\"long\\\"}\"], "
		"\"support_empty_schema\": true, \"support_undefined_schema\": false}}], "
		"\"reply_topic\": \"r\", \"considered_dead_after\": 120.0, "
		"\"plugin_keepalive_topic\": \"k\", \"plugin_keepalive_request_topic\": \"kr\"}");

	memset(&m, 0, sizeof(m));
	m.kind = ORBIT_MSG_REQUEST;
	m.request.core_id = "c";
	m.request.operation = "op";
	m.request.response_topic = "rt";
	m.request.output_topic = "ot";
	m.request.close_topic = "ct";
	m.request.setup_data = (orbit_bytes){ setup, 2, true };
	check_against_avsc(&m,
		"{\"core_identifier\": \"c\", \"operation_name\": \"op\", \"response_topic\": \"rt\", "
		"\"output_topic\": {\"string\": \"ot\"}, "
		"\"core_side_close_operation_connection_topic\": \"ct\", "
		"\"setup_data\": {\"bytes\": \"\\u0001\\u0002\"}}");
	m.request.setup_data = (orbit_bytes){ NULL, 0, true };
	check_against_avsc(&m,
		"{\"core_identifier\": \"c\", \"operation_name\": \"op\", \"response_topic\": \"rt\", "
		"\"output_topic\": {\"string\": \"ot\"}, "
		"\"core_side_close_operation_connection_topic\": \"ct\", "
		"\"setup_data\": {\"bytes\": \"\"}}");

	memset(&m, 0, sizeof(m));
	m.kind = ORBIT_MSG_REJECT;
	m.reject.core_id = "c";
	m.reject.operation = "op";
	m.reject.description = "why";
	check_against_avsc(&m, "{\"core_identifier\": \"c\", \"operation_name\": \"op\", "
			       "\"description\": {\"string\": \"why\"}}");

	memset(&m, 0, sizeof(m));
	m.kind = ORBIT_MSG_CONFIRM;
	m.confirm.plugin_id = "p";
	m.confirm.operation = "op";
	m.confirm.input_topic = "it";
	m.confirm.close_topic = "ct";
	check_against_avsc(&m, "{\"plugin_identifier\": \"p\", \"operation_name\": \"op\", "
			       "\"operation_input_topic\": {\"string\": \"it\"}, "
			       "\"plugin_side_close_operation_connection_topic\": \"ct\"}");
	m.confirm.input_topic = NULL;
	check_against_avsc(&m, "{\"plugin_identifier\": \"p\", \"operation_name\": \"op\", "
			       "\"operation_input_topic\": null, "
			       "\"plugin_side_close_operation_connection_topic\": \"ct\"}");

	memset(&m, 0, sizeof(m));
	m.kind = ORBIT_MSG_NO_LONGER_AVAILABLE;
	m.no_longer_available.plugin_id = "p";
	m.no_longer_available.operation = "op";
	check_against_avsc(&m, "{\"plugin_identifier\": \"p\", \"operation_name\": \"op\"}");

	memset(&m, 0, sizeof(m));
	m.kind = ORBIT_MSG_KEEPALIVE_REQUEST;
	m.keepalive_request.from = "f";
	m.keepalive_request.keepalive_topic = "k";
	check_against_avsc(&m, "{\"from_identifier\": \"f\", \"keepalive_topic\": \"k\"}");

	memset(&m, 0, sizeof(m));
	m.kind = ORBIT_MSG_KEEPALIVE;
	m.keepalive.from = "f\xc3\xa9";
	check_against_avsc(&m, "{\"from_identifier\": \"f\\u00E9\"}");

	memset(&m, 0, sizeof(m));
	m.kind = ORBIT_MSG_GRACELESS;
	m.graceless.from = "f";
	m.graceless.operation = "op";
	check_against_avsc(&m, "{\"from_identifier\": \"f\", \"operation_name\": \"op\", "
			       "\"data\": null}");

	memset(&m, 0, sizeof(m));
	m.kind = ORBIT_MSG_GRACEFUL;
	m.graceful.from = "f";
	m.graceful.operation = "op";
	m.graceful.ack_topic = "a";
	m.graceful.data = (orbit_bytes){ setup, 1, true };
	check_against_avsc(&m, "{\"from_identifier\": \"f\", \"operation_name\": \"op\", "
			       "\"ack_topic\": \"a\", \"data\": {\"bytes\": \"\\u0001\"}}");

	memset(&m, 0, sizeof(m));
	m.kind = ORBIT_MSG_CLOSE_ACK;
	m.close_ack.from = "f";
	m.close_ack.operation = "op";
	check_against_avsc(&m, "{\"from_identifier\": \"f\", \"operation_name\": \"op\"}");

	for (int i = 0; i < 3; i++)
		orbit_spec_clear(&specs[i]);
}
END_TEST

/* An empty list is an empty array, not null: for an allowlist that is the
 * difference between "admit nobody" and "no constraint". */
START_TEST(test_empty_list_is_not_null)
{
	const char *none[] = { NULL };
	orbit_query q = { .operation_name = "a", .allowlist = none };
	orbit_msg m = { .kind = ORBIT_MSG_DISCOVER }, back;
	uint8_t *buf = NULL;
	size_t len = 0;

	m.discover.core_id = "c";
	m.discover.offer_topic = "o";
	m.discover.keepalive_topic = "k";
	m.discover.keepalive_request_topic = "kr";
	m.discover.considered_dead_after = 2.5;
	m.discover.queries = &q;
	m.discover.n_queries = 1;
	check_against_avsc(&m,
		"{\"core_identifier\": \"c\", \"offer_topic\": \"o\", \"core_keepalive_topic\": \"k\", "
		"\"core_keepalive_request_topic\": \"kr\", \"considered_dead_after\": 2.5, "
		"\"queries\": {\"a\": {\"outputs\": [], \"inputs\": [], "
		"\"allowlist\": {\"array\": []}, \"blocklist\": null, \"operation_name\": \"a\"}}}");
	ck_assert_int_eq(orbit_msg_encode(&m, &buf, &len), 0);
	ck_assert_int_eq(orbit_msg_decode(ORBIT_MSG_DISCOVER, buf, len, &back), 0);
	ck_assert_ptr_nonnull(back.discover.queries[0].allowlist);
	ck_assert_ptr_null(back.discover.queries[0].allowlist[0]);
	ck_assert_ptr_null(back.discover.queries[0].blocklist);
	orbit_msg_clear(&back);
	free(buf);
}
END_TEST

/* --- malformed input ------------------------------------------------------------ */

START_TEST(test_truncations)
{
	/* Avro data is self-delimiting: no strict prefix of a datum is a datum. */
	for (size_t i = 0; i < n_vectors; i++) {
		const struct vector *v = &vectors[i];

		if (v->kind < 0)
			continue;
		for (size_t cut = 0; cut < v->len; cut++) {
			uint8_t *copy = malloc(cut ? cut : 1);

			memcpy(copy, v->bytes, cut);
			ck_assert_msg(decode_and_reencode(v->kind, copy, cut) == -EBADMSG,
				      "%s cut at %zu", v->name, cut);
			free(copy);
		}
	}
	ck_assert_int_eq(decode_and_reencode(ORBIT_MSG_KEEPALIVE, NULL, 0), -EBADMSG);
}
END_TEST

START_TEST(test_trailing_bytes)
{
	for (size_t i = 0; i < n_vectors; i++) {
		const struct vector *v = &vectors[i];
		uint8_t *copy;

		if (v->kind < 0)
			continue;
		copy = malloc(v->len + 1);
		memcpy(copy, v->bytes, v->len);
		copy[v->len] = 0;
		ck_assert_msg(decode_and_reencode(v->kind, copy, v->len + 1) == -EBADMSG,
			      "%s + 1 byte", v->name);
		free(copy);
	}
}
END_TEST

START_TEST(test_random_flips)
{
	size_t accepted = 0;

	for (int iter = 0; iter < 5000; iter++) {
		const struct vector *v;
		uint8_t *copy;
		int flips = 1 + (int)(next_rand() % 4);

		do
			v = &vectors[next_rand() % n_vectors];
		while (v->kind < 0);
		copy = malloc(v->len);
		memcpy(copy, v->bytes, v->len);
		for (int f = 0; f < flips; f++)
			copy[next_rand() % v->len] ^= (uint8_t)(1 + next_rand() % 255);
		accepted += decode_and_reencode(v->kind, copy, v->len) == 0;
		free(copy);
	}
	/* Flips inside string bodies keep the message valid: both paths ran. */
	ck_assert_uint_gt(accepted, 0);
	ck_assert_uint_lt(accepted, 5000);
}
END_TEST

START_TEST(test_random_garbage)
{
	uint8_t buf[96];

	for (int iter = 0; iter < 3000; iter++) {
		size_t len = next_rand() % sizeof(buf);
		int kind = (int)(next_rand() % ORBIT_MSG__COUNT);

		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)next_rand();
		decode_and_reencode(kind, buf, len);
	}
}
END_TEST

static size_t put_varint(uint8_t *p, uint64_t zigzagged)
{
	size_t i = 0;

	while (zigzagged > 0x7f) {
		p[i++] = (uint8_t)(zigzagged | 0x80);
		zigzagged >>= 7;
	}
	p[i++] = (uint8_t)zigzagged;
	return i;
}

START_TEST(test_hostile_lengths)
{
	uint8_t buf[64];
	size_t n;
	orbit_msg m;

	/* A Keepalive whose string claims 2^62 bytes. */
	n = put_varint(buf, (uint64_t)1 << 63);
	memcpy(buf + n, "abc", 3);
	ck_assert_int_eq(orbit_msg_decode(ORBIT_MSG_KEEPALIVE, buf, n + 3, &m), -EBADMSG);
	/* One byte more than is there. */
	memcpy(buf, "\x08" "abc", 4);
	ck_assert_int_eq(orbit_msg_decode(ORBIT_MSG_KEEPALIVE, buf, 4, &m), -EBADMSG);
	buf[0] = 6;
	ck_assert_int_eq(orbit_msg_decode(ORBIT_MSG_KEEPALIVE, buf, 4, &m), 0);
	ck_assert_str_eq(m.keepalive.from, "abc");
	orbit_msg_clear(&m);
	/* Negative length (zigzag 1 = -1). */
	buf[0] = 1;
	ck_assert_int_eq(orbit_msg_decode(ORBIT_MSG_KEEPALIVE, buf, 4, &m), -EBADMSG);
	/* Eleven-byte varint, and a tenth byte carrying bits past 64. */
	memset(buf, 0x80, 10);
	buf[10] = 0;
	ck_assert_int_eq(orbit_msg_decode(ORBIT_MSG_KEEPALIVE, buf, 11, &m), -EBADMSG);
	buf[9] = 0x02;
	ck_assert_int_eq(orbit_msg_decode(ORBIT_MSG_KEEPALIVE, buf, 10, &m), -EBADMSG);
	/* An embedded NUL and malformed UTF-8 are not identifiers. */
	memcpy(buf, "\x06" "a\0c", 4);
	ck_assert_int_eq(orbit_msg_decode(ORBIT_MSG_KEEPALIVE, buf, 4, &m), -EBADMSG);
	memcpy(buf, "\x06" "a\xc3" "c", 4);
	ck_assert_int_eq(orbit_msg_decode(ORBIT_MSG_KEEPALIVE, buf, 4, &m), -EBADMSG);
}
END_TEST

/* A Discover with no queries ends in the empty map's 00: replace it. */
static int discover_with_tail(const uint8_t *tail, size_t tail_len)
{
	orbit_msg m = { .kind = ORBIT_MSG_DISCOVER };
	uint8_t *buf = NULL, *msg;
	size_t len = 0;
	int rc;

	m.discover.core_id = "c";
	m.discover.offer_topic = "o";
	m.discover.keepalive_topic = "k";
	m.discover.keepalive_request_topic = "r";
	ck_assert_int_eq(orbit_msg_encode(&m, &buf, &len), 0);
	ck_assert_uint_eq(buf[len - 1], 0);
	msg = malloc(len - 1 + tail_len);
	memcpy(msg, buf, len - 1);
	memcpy(msg + len - 1, tail, tail_len);
	rc = decode_and_reencode(ORBIT_MSG_DISCOVER, msg, len - 1 + tail_len);
	free(msg);
	free(buf);
	return rc;
}

START_TEST(test_hostile_blocks)
{
	/* key "a", query: outputs [], inputs [], allowlist null, blocklist null, "a" */
	static const uint8_t QUERY[] = { 0x02, 'a', 0, 0, 0, 0, 0x02, 'a' };
	uint8_t tail[64];
	size_t n;

	/* Sanity: one query in one block, then the end marker. */
	tail[0] = 0x02;
	memcpy(tail + 1, QUERY, sizeof(QUERY));
	tail[1 + sizeof(QUERY)] = 0;
	ck_assert_int_eq(discover_with_tail(tail, sizeof(QUERY) + 2), 0);

	/* The same as a negative-count block with its byte size. */
	tail[0] = 0x01; /* -1 */
	tail[1] = (uint8_t)(sizeof(QUERY) * 2);
	memcpy(tail + 2, QUERY, sizeof(QUERY));
	tail[2 + sizeof(QUERY)] = 0;
	ck_assert_int_eq(discover_with_tail(tail, sizeof(QUERY) + 3), 0);
	tail[1] = (uint8_t)((sizeof(QUERY) + 1) * 2); /* wrong byte size */
	ck_assert_int_eq(discover_with_tail(tail, sizeof(QUERY) + 3), -EBADMSG);

	/* Block counts far beyond the input. */
	n = put_varint(tail, (uint64_t)1 << 41);
	tail[n] = 0;
	ck_assert_int_eq(discover_with_tail(tail, n + 1), -EBADMSG);
	n = put_varint(tail, UINT64_MAX); /* INT64_MIN */
	tail[n] = 0;
	ck_assert_int_eq(discover_with_tail(tail, n + 1), -EBADMSG);

	/* Duplicate key: libavro would merge, so it is refused. */
	tail[0] = 0x04;
	memcpy(tail + 1, QUERY, sizeof(QUERY));
	memcpy(tail + 1 + sizeof(QUERY), QUERY, sizeof(QUERY));
	tail[1 + 2 * sizeof(QUERY)] = 0;
	ck_assert_int_eq(discover_with_tail(tail, 2 * sizeof(QUERY) + 2), -EBADMSG);

	/* Key and operation_name disagree. */
	tail[0] = 0x02;
	memcpy(tail + 1, QUERY, sizeof(QUERY));
	tail[sizeof(QUERY)] = 'b';
	tail[1 + sizeof(QUERY)] = 0;
	ck_assert_int_eq(discover_with_tail(tail, sizeof(QUERY) + 2), -EBADMSG);

	/* Union branch 2 of a two-branch union; both lists at once. */
	tail[0] = 0x02;
	memcpy(tail + 1, QUERY, sizeof(QUERY));
	tail[5] = 0x04;
	tail[1 + sizeof(QUERY)] = 0;
	ck_assert_int_eq(discover_with_tail(tail, sizeof(QUERY) + 2), -EBADMSG);
	{
		static const uint8_t BOTH[] = { 0x02, 'a', 0, 0, 0x02, 0x02, 0x02, 'x', 0,
						0x02, 0x02, 0x02, 'y', 0, 0x02, 'a', 0 };
		uint8_t t[sizeof(BOTH) + 1] = { 0x02 };

		memcpy(t + 1, BOTH, sizeof(BOTH));
		ck_assert_int_eq(discover_with_tail(t, sizeof(t)), -EBADMSG);
	}
}
END_TEST

START_TEST(test_bad_boolean_and_branch)
{
	const struct vector *v = find_vector("Discover", ORBIT_MSG_DISCOVER);
	const struct vector *r = find_vector("Reject", ORBIT_MSG_REJECT);
	uint8_t copy[256];
	size_t pos;

	/* inputs: 02 00 01 00 00 — the support_empty_schema=true byte. */
	memcpy(copy, v->bytes, v->len);
	for (pos = 0; pos + 4 < v->len; pos++)
		if (memcmp(copy + pos, "\x02\x00\x01\x00\x00", 5) == 0)
			break;
	ck_assert_uint_lt(pos + 4, v->len);
	copy[pos + 2] = 2;
	ck_assert_int_eq(decode_and_reencode(ORBIT_MSG_DISCOVER, copy, v->len), -EBADMSG);

	memcpy(copy, r->bytes, r->len);
	copy[r->len - 1] = 0x04;
	ck_assert_int_eq(decode_and_reencode(ORBIT_MSG_REJECT, copy, r->len), -EBADMSG);
	copy[r->len - 1] = 0x03; /* branch -2 */
	ck_assert_int_eq(decode_and_reencode(ORBIT_MSG_REJECT, copy, r->len), -EBADMSG);
}
END_TEST

START_TEST(test_oversized)
{
	uint8_t *big = calloc(ORBIT_WIRE_MAX + 1, 1);
	orbit_msg m;

	ck_assert_int_eq(orbit_msg_decode(ORBIT_MSG_KEEPALIVE, big, ORBIT_WIRE_MAX + 1, &m), -E2BIG);
	ck_assert_int_eq(orbit_msg_decode(ORBIT_MSG__COUNT, big, 1, &m), -EINVAL);
	free(big);
	orbit_msg_clear(NULL);
}
END_TEST

static Suite *wire_suite(void)
{
	Suite *s = suite_create("wire");
	TCase *tc = tcase_create("vectors");

	tcase_add_unchecked_fixture(tc, load_vectors, free_vectors);
	tcase_add_test(tc, test_vectors_loaded);
	tcase_add_test(tc, test_vectors_roundtrip);
	tcase_add_test(tc, test_discover_fields);
	tcase_add_test(tc, test_captured_discover_and_offer);
	tcase_add_test(tc, test_request_fields);
	tcase_add_test(tc, test_encode_by_hand);
	tcase_add_test(tc, test_encode_rejects);
	tcase_add_test(tc, test_type_names);
	tcase_add_test(tc, test_every_field_against_avsc);
	tcase_add_test(tc, test_empty_list_is_not_null);
	suite_add_tcase(s, tc);

	tc = tcase_create("malformed");
	tcase_add_unchecked_fixture(tc, load_vectors, free_vectors);
	tcase_add_test(tc, test_truncations);
	tcase_add_test(tc, test_trailing_bytes);
	tcase_add_test(tc, test_random_flips);
	tcase_add_test(tc, test_random_garbage);
	tcase_add_test(tc, test_hostile_lengths);
	tcase_add_test(tc, test_hostile_blocks);
	tcase_add_test(tc, test_bad_boolean_and_branch);
	tcase_add_test(tc, test_oversized);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(wire_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
