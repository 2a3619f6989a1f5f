/* test_envelope.c — busline JSON envelope (libplugin/envelope.c): the real
 * MQTT capture end to end, Python-exact encoding, tolerant and strict
 * decoding. Owned by the codec team. */
#include "test_data.h"
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "envelope_internal.h"
#include "isotime.h"
#include "orbit/builtin.h"
#include "envelope.h"
#include "wire.h"


static int decode_str(const char *json, orbit_envelope *e)
{
	return orbit_envelope_decode(json, strlen(json), e);
}

static void assert_matches(const char *text, const char *pattern)
{
	regex_t re;

	ck_assert_int_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
	ck_assert_msg(regexec(&re, text, 0, NULL, 0) == 0, "\n%s\n does not match\n%s",
		      text, pattern);
	regfree(&re);
}

/* Deterministic PRNG so fuzz failures reproduce. */
static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* --- the captured session ----------------------------------------------------- */

START_TEST(test_trace)
{
	char *text = read_test_data("mqtt-trace-core1-plugin1.txt");
	char *save = NULL;
	size_t lines = 0, protocol = 0, strings = 0;

	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *field = line, *json;
		orbit_envelope e;
		int kind;

		if (line[0] == '#')
			continue;
		/* seconds, publisher, topic, payload */
		for (int i = 0; i < 3; i++) {
			field = strchr(field, '\t');
			ck_assert_ptr_nonnull(field);
			field++;
		}
		json = field;
		lines++;
		ck_assert_msg(orbit_envelope_decode(json, strlen(json), &e) == 0, "line %zu", lines);
		ck_assert_ptr_nonnull(e.payload.message_type);
		kind = orbit_msg_kind_from_name(e.payload.message_type);
		if (kind >= 0) {
			orbit_msg m;
			uint8_t *out = NULL;
			size_t len = 0;

			ck_assert_int_eq(e.payload.format, ORBIT_FMT_AVRO);
			ck_assert_msg(orbit_msg_decode((orbit_msg_kind)kind, e.payload.data,
						       e.payload.len, &m) == 0,
				      "%s", e.payload.message_type);
			ck_assert_int_eq(orbit_msg_encode(&m, &out, &len), 0);
			ck_assert_uint_eq(len, e.payload.len);
			ck_assert_mem_eq(out, e.payload.data, len);
			free(out);
			orbit_msg_clear(&m);
			protocol++;
		} else {
			orbit_value v;

			ck_assert_str_eq(e.payload.message_type, "StringMessage");
			ck_assert_int_eq(e.payload.format, ORBIT_FMT_UTF8);
			ck_assert_int_eq(orbit_value_decode(&e.payload, &v), 0);
			ck_assert_int_eq(v.kind, ORBIT_KIND_STRING);
			ck_assert(strcmp(v.str, "HELLO") == 0 || strcmp(v.str, "hello") == 0);
			orbit_value_clear(&v);
			strings++;
		}
		orbit_envelope_clear(&e);
	}
	free(text);
	ck_assert_uint_eq(lines, 34);
	ck_assert_uint_eq(strings, 2);
	ck_assert_uint_eq(protocol, 32);
}
END_TEST

/* --- encoding ------------------------------------------------------------------ */

#define UUID4 "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
#define ISO "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{6})?"

START_TEST(test_encode_exact_format)
{
	static const uint8_t KEEPALIVE[] = { 0x0e, 'p', 'l', 'u', 'g', 'i', 'n', '1' };
	orbit_payload p = { KEEPALIVE, sizeof(KEEPALIVE), ORBIT_FMT_AVRO, "KeepaliveMessage" };
	orbit_envelope e;
	char *json = NULL;
	size_t len = 0;

	ck_assert_int_eq(orbit_envelope_encode(&p, "plugin1-pub", &json, &len), 0);
	ck_assert_uint_eq(len, strlen(json));
	assert_matches(json,
		"^\\{\"identifier\": \"" UUID4 "\", \"publisher_identifier\": \"plugin1-pub\", "
		"\"serialized_payload\": \\{\"__type__\": \"bytes\", \"value\": \"DnBsdWdpbjE=\"\\}, "
		"\"payload_format_type\": \"avro\", \"message_type\": \"KeepaliveMessage\", "
		"\"timestamp\": \\{\"__type__\": \"datetime\", \"value\": \"" ISO "\"\\}\\}$");

	ck_assert_int_eq(orbit_envelope_decode(json, len, &e), 0);
	ck_assert_int_eq(e.payload.format, ORBIT_FMT_AVRO);
	ck_assert_str_eq(e.payload.message_type, "KeepaliveMessage");
	ck_assert_uint_eq(e.payload.len, sizeof(KEEPALIVE));
	ck_assert_mem_eq(e.payload.data, KEEPALIVE, sizeof(KEEPALIVE));
	orbit_envelope_clear(&e);
	orbit_envelope_clear(&e);
	free(json);
}
END_TEST

START_TEST(test_encode_no_payload)
{
	orbit_payload p = { NULL, 0, ORBIT_FMT_NONE, NULL };
	orbit_envelope e;
	char *json = NULL;
	size_t len = 0;

	ck_assert_int_eq(orbit_envelope_encode(&p, "core1-pub", &json, &len), 0);
	assert_matches(json,
		"^\\{\"identifier\": \"" UUID4 "\", \"publisher_identifier\": \"core1-pub\", "
		"\"serialized_payload\": null, \"payload_format_type\": null, "
		"\"message_type\": null, "
		"\"timestamp\": \\{\"__type__\": \"datetime\", \"value\": \"" ISO "\"\\}\\}$");
	ck_assert_int_eq(orbit_envelope_decode(json, len, &e), 0);
	ck_assert_int_eq(e.payload.format, ORBIT_FMT_NONE);
	ck_assert_ptr_null(e.payload.data);
	ck_assert_ptr_null(e.payload.message_type);
	orbit_envelope_clear(&e);
	free(json);
}
END_TEST

START_TEST(test_fresh_identifiers)
{
	orbit_payload p = { NULL, 0, ORBIT_FMT_NONE, NULL };
	char *a = NULL, *b = NULL;
	size_t len;

	ck_assert_int_eq(orbit_envelope_encode(&p, "x", &a, &len), 0);
	ck_assert_int_eq(orbit_envelope_encode(&p, "x", &b, &len), 0);
	ck_assert_int_ne(strncmp(a, b, 52), 0);
	free(a);
	free(b);
}
END_TEST

START_TEST(test_base64_padding)
{
	static const char *const WANT[] = { "", "AA==", "AAE=", "AAEC", "AAECAw==" };
	uint8_t data[200];

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 37 + 11);
	for (size_t n = 0; n <= 4; n++) {
		uint8_t seq[4] = { 0, 1, 2, 3 };
		orbit_payload p = { seq, n, ORBIT_FMT_BYTES, "Int64Message" };
		char *json = NULL, want[64];
		size_t len;

		ck_assert_int_eq(orbit_envelope_encode(&p, "x", &json, &len), 0);
		snprintf(want, sizeof(want), "\"value\": \"%s\"}", WANT[n]);
		ck_assert_msg(strstr(json, want) != NULL, "%zu bytes: %s", n, json);
		free(json);
	}
	/* Every length round-trips through the strict decoder. */
	for (size_t n = 0; n <= sizeof(data); n++) {
		orbit_payload p = { data, n, ORBIT_FMT_BYTES, "Int64Message" };
		orbit_envelope e;
		char *json = NULL;
		size_t len;

		ck_assert_int_eq(orbit_envelope_encode(&p, "x", &json, &len), 0);
		ck_assert_int_eq(orbit_envelope_decode(json, len, &e), 0);
		ck_assert_uint_eq(e.payload.len, n);
		if (n)
			ck_assert_mem_eq(e.payload.data, data, n);
		ck_assert_int_eq(e.payload.format, ORBIT_FMT_BYTES);
		orbit_envelope_clear(&e);
		free(json);
	}
}
END_TEST

START_TEST(test_encode_escaping)
{
	/* é, newline, quote, backslash, tab, \x01, DEL, U+1F600, U+2028, / */
	const char *pub = "\xc3\xa9\n\"\\\t\x01\x7f\xf0\x9f\x98\x80\xe2\x80\xa8/\b\f\r";
	const char *want = "\"publisher_identifier\": \"\\u00e9\\n\\\"\\\\\\t\\u0001\\u007f"
			   "\\ud83d\\ude00\\u2028/\\b\\f\\r\"";
	orbit_payload p = { (const uint8_t *)"x", 1, ORBIT_FMT_UTF8, "Caf\xc3\xa9Message" };
	orbit_envelope e;
	char *json = NULL;
	size_t len;

	ck_assert_int_eq(orbit_envelope_encode(&p, pub, &json, &len), 0);
	ck_assert_msg(strstr(json, want) != NULL, "%s", json);
	ck_assert_ptr_nonnull(strstr(json, "\"message_type\": \"Caf\\u00e9Message\""));
	for (size_t i = 0; i < len; i++)
		ck_assert_uint_lt((unsigned char)json[i], 0x80);
	ck_assert_int_eq(orbit_envelope_decode(json, len, &e), 0);
	ck_assert_str_eq(e.payload.message_type, "Caf\xc3\xa9Message");
	orbit_envelope_clear(&e);
	free(json);
}
END_TEST

START_TEST(test_encode_rejects)
{
	orbit_payload p = { (const uint8_t *)"x", 1, ORBIT_FMT_AVRO, NULL };
	char *json = NULL;
	size_t len;

	ck_assert_int_eq(orbit_envelope_encode(&p, "x", &json, &len), -EINVAL);
	p = (orbit_payload){ NULL, 0, ORBIT_FMT_NONE, "KeepaliveMessage" };
	ck_assert_int_eq(orbit_envelope_encode(&p, "x", &json, &len), -EINVAL);
	p = (orbit_payload){ (const uint8_t *)"x", 1, ORBIT_FMT_NONE, NULL };
	ck_assert_int_eq(orbit_envelope_encode(&p, "x", &json, &len), -EINVAL);
	p = (orbit_payload){ NULL, 3, ORBIT_FMT_AVRO, "KeepaliveMessage" };
	ck_assert_int_eq(orbit_envelope_encode(&p, "x", &json, &len), -EINVAL);
	p = (orbit_payload){ NULL, 0, (orbit_format)42, "KeepaliveMessage" };
	ck_assert_int_eq(orbit_envelope_encode(&p, "x", &json, &len), -EINVAL);
	p = (orbit_payload){ NULL, 0, ORBIT_FMT_NONE, NULL };
	ck_assert_int_eq(orbit_envelope_encode(&p, NULL, &json, &len), -EINVAL);
	ck_assert_int_eq(orbit_envelope_encode(&p, "bad\xff", &json, &len), -EINVAL);
	ck_assert_int_eq(orbit_envelope_encode(&p, "\xed\xa0\x80", &json, &len), -EINVAL);
	ck_assert_ptr_null(json);
}
END_TEST

/* --- tolerant decoding ------------------------------------------------------------ */

START_TEST(test_foreign_envelope)
{
	/* What mosquitto_pub sent in SPEC §0: compact, UUID id, no fraction,
	 * plus an unknown key and escapes (a surrogate pair) in the publisher. */
	const char *json =
		"{\"identifier\":\"6f9619ff-8b86-4d01-b42d-00cf4fc964ff\","
		"\"publisher_identifier\":\"x\\ud83d\\ude00\\u00e9y\","
		"\"serialized_payload\":{\"__type__\":\"bytes\",\"value\":\"DnBsdWdpbjE=\"},"
		"\"payload_format_type\":\"avro\",\"message_type\":\"KeepaliveMessage\","
		"\"timestamp\":{\"__type__\":\"datetime\",\"value\":\"2025-01-02T03:04:05\"},"
		"\"extra\":{\"nested\":[1,2,{\"__type__\":\"other\"}]}}";
	orbit_envelope e;
	orbit_msg m;

	ck_assert_int_eq(decode_str(json, &e), 0);
	ck_assert_int_eq(e.payload.format, ORBIT_FMT_AVRO);
	ck_assert_str_eq(e.payload.message_type, "KeepaliveMessage");
	ck_assert_int_eq(orbit_msg_decode(ORBIT_MSG_KEEPALIVE, e.payload.data, e.payload.len, &m), 0);
	ck_assert_str_eq(m.keepalive.from, "plugin1");
	orbit_msg_clear(&m);
	orbit_envelope_clear(&e);
}
END_TEST

/* A valid envelope with the given identifier and timestamp JSON. */
static int decode_with(const char *identifier, const char *timestamp)
{
	char json[1024];
	orbit_envelope e;
	int rc;

	snprintf(json, sizeof(json),
		 "{\n  \"timestamp\" : %s,\n  \"message_type\": \"StringMessage\",\n"
		 "  \"payload_format_type\":\"utf-8\", \"serialized_payload\": "
		 "{\"value\": \"aGk=\", \"__type__\": \"bytes\"},\t\"identifier\": %s, "
		 "\"publisher_identifier\": 7}",
		 timestamp, identifier);
	rc = decode_str(json, &e);
	if (!rc) {
		ck_assert_uint_eq(e.payload.len, 2);
		ck_assert_mem_eq(e.payload.data, "hi", 2);
		ck_assert_int_eq(e.payload.format, ORBIT_FMT_UTF8);
	}
	orbit_envelope_clear(&e);
	return rc;
}

#define DT(v) "{\"__type__\": \"datetime\", \"value\": \"" v "\"}"

START_TEST(test_tolerant_fields)
{
	static const char *const IDS[] = {
		"\"x\"", "null", "42", "[1]", DT("2026-11-23T00:44:46.861384"),
		"{\"__type__\": \"uuid\"}",
	};
	static const char *const GOOD_TS[] = {
		DT("2026-11-23T00:44:46.861384"), DT("2025-01-02T03:04:05"),
		DT("2025-01-02T03:04:05.1"), DT("2025-01-02T03:04:05.123456789"),
		DT("2025-01-02T03:04:05Z"), DT("2025-01-02T03:04:05.5+02:00"),
		DT("2025-01-02T03:04:05-05:30"), DT("2025-01-02 03:04"), DT("2025-01-02"),
		DT("2024-02-29T00:00:00"), DT("2025-01-02T03"), "\"any string\"",
	};

	for (size_t i = 0; i < sizeof(IDS) / sizeof(IDS[0]); i++)
		ck_assert_msg(decode_with(IDS[i], DT("2025-01-02T03:04:05")) == 0, "%s", IDS[i]);
	for (size_t i = 0; i < sizeof(GOOD_TS) / sizeof(GOOD_TS[0]); i++)
		ck_assert_msg(decode_with("\"x\"", GOOD_TS[i]) == 0, "%s", GOOD_TS[i]);
}
END_TEST

START_TEST(test_null_payload_wins)
{
	orbit_envelope e;

	ck_assert_int_eq(decode_str("{\"identifier\": 1, \"publisher_identifier\": 2, "
				    "\"serialized_payload\": null, \"payload_format_type\": \"xml\", "
				    "\"message_type\": 5, \"timestamp\": \"t\"}", &e), 0);
	ck_assert_int_eq(e.payload.format, ORBIT_FMT_NONE);
	ck_assert_ptr_null(e.payload.message_type);
	ck_assert_ptr_null(e.payload.data);
	orbit_envelope_clear(&e);

	/* busline's integer classes read a null format as "bytes". */
	ck_assert_int_eq(decode_str("{\"identifier\": 1, \"publisher_identifier\": 2, "
				    "\"serialized_payload\": {\"__type__\": \"bytes\", \"value\": \"AAAAAAAAACo=\"}, "
				    "\"payload_format_type\": null, "
				    "\"message_type\": \"Int64Message\", \"timestamp\": \"t\"}", &e), 0);
	ck_assert_int_eq(e.payload.format, ORBIT_FMT_BYTES);
	ck_assert_uint_eq(e.payload.len, 8);
	orbit_envelope_clear(&e);
}
END_TEST

/* --- strict decoding ---------------------------------------------------------------- */

static const char VALID[] =
	"{\"identifier\": \"i\", \"publisher_identifier\": \"p\", "
	"\"serialized_payload\": {\"__type__\": \"bytes\", \"value\": \"DnBsdWdpbjE=\"}, "
	"\"payload_format_type\": \"avro\", \"message_type\": \"KeepaliveMessage\", "
	"\"timestamp\": {\"__type__\": \"datetime\", \"value\": \"2026-11-23T00:44:46.861384\"}}";

/* VALID with one key's value replaced (or the key removed when value is NULL). */
static int decode_variant(const char *key, const char *value)
{
	json_t *root = json_loads(VALID, 0, NULL);
	orbit_envelope e;
	char *json;
	int rc;

	ck_assert_ptr_nonnull(root);
	if (value) {
		json_t *v = json_loads(value, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);

		ck_assert_msg(v != NULL, "test value %s", value);
		json_object_set_new(root, key, v);
	} else {
		json_object_del(root, key);
	}
	json = json_dumps(root, 0);
	rc = decode_str(json, &e);
	/* On failure the envelope owns nothing. */
	if (rc)
		ck_assert_ptr_null(e.data_owned);
	orbit_envelope_clear(&e);
	free(json);
	json_decref(root);
	return rc;
}

START_TEST(test_garbage_rejected)
{
	static const char *const KEYS[] = {
		"identifier", "publisher_identifier", "serialized_payload",
		"payload_format_type", "message_type", "timestamp",
	};
	static const char *const BAD[][2] = {
		{ "serialized_payload", "\"DnBsdWdpbjE=\"" },
		{ "serialized_payload", "{\"__type__\": \"bytes\"}" },
		{ "serialized_payload", "{\"__type__\": \"bytes\", \"value\": 5}" },
		{ "serialized_payload", "{\"__type__\": \"datetime\", \"value\": \"2025-01-02\"}" },
		{ "serialized_payload", "{\"__type__\": \"bytes\", \"value\": \"DnBsdWdpbjE\"}" },
		{ "serialized_payload", "{\"__type__\": \"bytes\", \"value\": \"DnBsdWdpbjE==\"}" },
		{ "serialized_payload", "{\"__type__\": \"bytes\", \"value\": \"DnBs*WdpbjE=\"}" },
		{ "serialized_payload", "{\"__type__\": \"bytes\", \"value\": \"DnBsdWdp bjE=\"}" },
		{ "serialized_payload", "{\"__type__\": \"bytes\", \"value\": \"=AAA\"}" },
		{ "serialized_payload", "{\"__type__\": \"bytes\", \"value\": \"AA=A\"}" },
		{ "serialized_payload", "{\"__type__\": \"bytes\", \"value\": \"AA==AAAA\"}" },
		{ "serialized_payload", "{\"__type__\": \"bytes\", \"value\": \"DnBs\\u0000WdpbjE=\"}" },
		{ "serialized_payload", "[]" },
		{ "payload_format_type", "\"xml\"" },
		{ "payload_format_type", "\"AVRO\"" },
		{ "payload_format_type", "\"avro\\u0000\"" },
		{ "payload_format_type", "1" },
		{ "message_type", "null" },
		{ "message_type", "42" },
		{ "message_type", "\"Keepalive\\u0000Message\"" },
		{ "timestamp", DT("yesterday") },
		{ "timestamp", DT("2025-13-01T00:00:00") },
		{ "timestamp", DT("2025-02-29T00:00:00") },
		{ "timestamp", DT("2025-01-02T25:00:00") },
		{ "timestamp", DT("2025-01-02T03:60:00") },
		{ "timestamp", DT("2025-01-02T03:04:05.") },
		{ "timestamp", DT("2025-01-02T03:04:05+2") },
		{ "timestamp", DT("2025-01-02T03:04:05Z ") },
		{ "timestamp", DT("") },
		{ "timestamp", "{\"__type__\": \"datetime\", \"value\": 1700000000}" },
		{ "timestamp", "{\"__type__\": \"datetime\"}" },
		{ "timestamp", "1700000000" },
		{ "timestamp", "null" },
	};
	static const char *const NOT_ENVELOPES[] = {
		"", " ", "not json", "[]", "null", "\"str\"", "{", "{}",
		"{\"identifier\": 1} trailing", "\xef\xbb\xbf{}",
	};
	orbit_envelope e;

	ck_assert_int_eq(decode_variant("identifier", "\"ok\""), 0);
	for (size_t i = 0; i < sizeof(KEYS) / sizeof(KEYS[0]); i++)
		ck_assert_msg(decode_variant(KEYS[i], NULL) == -EBADMSG, "without %s", KEYS[i]);
	for (size_t i = 0; i < sizeof(BAD) / sizeof(BAD[0]); i++)
		ck_assert_msg(decode_variant(BAD[i][0], BAD[i][1]) == -EBADMSG, "%s = %s",
			      BAD[i][0], BAD[i][1]);
	for (size_t i = 0; i < sizeof(NOT_ENVELOPES) / sizeof(NOT_ENVELOPES[0]); i++)
		ck_assert_msg(decode_str(NOT_ENVELOPES[i], &e) == -EBADMSG, "'%s'",
			      NOT_ENVELOPES[i]);
	/* Invalid UTF-8 inside a string. */
	ck_assert_int_eq(decode_str("{\"identifier\": \"\xff\"}", &e), -EBADMSG);
	ck_assert_int_eq(orbit_envelope_decode(NULL, 0, &e), -EBADMSG);
	ck_assert_int_eq(orbit_envelope_decode(NULL, 5, &e), -EINVAL);
}
END_TEST

START_TEST(test_oversized)
{
	size_t n = (4u << 20) + 1;
	char *big = malloc(n);
	orbit_envelope e;

	memset(big, ' ', n);
	ck_assert_int_eq(orbit_envelope_decode(big, n, &e), -E2BIG);
	free(big);
}
END_TEST

START_TEST(test_truncations_and_flips)
{
	size_t n = strlen(VALID);
	char *copy = malloc(n + 1);
	size_t accepted = 0;
	orbit_envelope e;

	/* A strict prefix of a JSON object is never a JSON object. */
	for (size_t cut = 0; cut < n; cut++) {
		memcpy(copy, VALID, cut);
		ck_assert_int_eq(orbit_envelope_decode(copy, cut, &e), -EBADMSG);
	}
	for (int iter = 0; iter < 4000; iter++) {
		int flips = 1 + (int)(next_rand() % 3);
		int rc;

		memcpy(copy, VALID, n);
		for (int f = 0; f < flips; f++)
			copy[next_rand() % n] = (char)next_rand();
		rc = orbit_envelope_decode(copy, n, &e);
		ck_assert(rc == 0 || rc == -EBADMSG);
		accepted += rc == 0;
		orbit_envelope_clear(&e);
	}
	ck_assert_uint_gt(accepted, 0);
	free(copy);
}
END_TEST

/* --- the fast path (envelope_fast.c) ---------------------------------------------- */

/* If the fast path accepts json, the general path must decode it to the same
 * payload. Returns whether the fast path accepted. */
static bool fast_agrees(const char *json, size_t len)
{
	orbit_envelope f, g;
	int rf = envelope_decode_fast(json, len, &f);

	ck_assert_msg(rf == 0 || rf == 1, "fast path returned %d", rf);
	if (rf) {
		ck_assert_ptr_null(f.data_owned);
		ck_assert_ptr_null(f.message_type_owned);
		return false;
	}
	ck_assert_msg(envelope_decode_general(json, len, &g) == 0, "accepted only by the fast path: %.*s",
		      (int)len, json);
	ck_assert_int_eq(f.payload.format, g.payload.format);
	ck_assert_uint_eq(f.payload.len, g.payload.len);
	if (g.payload.len)
		ck_assert_mem_eq(f.payload.data, g.payload.data, g.payload.len);
	ck_assert(!f.payload.message_type == !g.payload.message_type);
	if (g.payload.message_type)
		ck_assert_str_eq(f.payload.message_type, g.payload.message_type);
	orbit_envelope_clear(&f);
	orbit_envelope_clear(&g);
	return true;
}

/* Truncations, a blank inserted at every position (inside a key it makes
 * another key: Python rejects " payload_format_type"), every position
 * replaced by each structural character, and random flips of base: wherever
 * the fast path says yes, both agree. */
static void mutate_and_compare(const char *base)
{
	static const char PALETTE[] = "\"\\{}:,[ n0A=.-T\x01\x7f\x80\xc3";
	size_t n = strlen(base);
	char *copy = malloc(n + 2);

	ck_assert_ptr_nonnull(copy);
	for (size_t cut = 0; cut < n; cut++) {
		memcpy(copy, base, cut);
		fast_agrees(copy, cut);
	}
	for (size_t at = 0; at <= n; at++) {
		memcpy(copy, base, at);
		copy[at] = ' ';
		memcpy(copy + at + 1, base + at, n - at);
		fast_agrees(copy, n + 1);
	}
	for (size_t at = 0; at < n; at++) {
		for (size_t k = 0; k < sizeof(PALETTE) - 1; k++) {
			memcpy(copy, base, n);
			copy[at] = PALETTE[k];
			fast_agrees(copy, n);
		}
	}
	for (int iter = 0; iter < 2000; iter++) {
		memcpy(copy, base, n);
		for (int f = 1 + (int)(next_rand() % 3); f > 0; f--)
			copy[next_rand() % n] = (char)next_rand();
		fast_agrees(copy, n);
	}
	free(copy);
}

START_TEST(test_fast_path_agrees)
{
	static const char *const SHAPES[] = {
		VALID,
		/* null payload, null ids, string timestamp, compact and spaced */
		"{\"identifier\": null, \"publisher_identifier\": null, \"serialized_payload\": null, "
		"\"payload_format_type\": null, \"message_type\": null, \"timestamp\": \"t\"}",
		"{\"identifier\":\"i\",\"publisher_identifier\":\"p\",\"serialized_payload\":"
		"{\"__type__\":\"bytes\",\"value\":\"aGk=\"},\"payload_format_type\":null,"
		"\"message_type\":\"Int64Message\",\"timestamp\":{\"__type__\":\"datetime\","
		"\"value\":\"2025-01-02\"}}",
		" { \"identifier\" : \"i\" ,\n \"publisher_identifier\" : \"p\" , \"serialized_payload\" : "
		"{ \"__type__\" : \"bytes\" , \"value\" : \"\" } , \"payload_format_type\" : \"json\" , "
		"\"message_type\" : \"M\" , \"timestamp\" : \"x\" }\r\n",
	};
	size_t accepted = 0;

	for (size_t i = 0; i < sizeof(SHAPES) / sizeof(SHAPES[0]); i++) {
		ck_assert_msg(fast_agrees(SHAPES[i], strlen(SHAPES[i])), "declined: %s", SHAPES[i]);
		mutate_and_compare(SHAPES[i]);
	}
	/* What our encoder writes, for every format. */
	static const orbit_format FORMATS[] = {ORBIT_FMT_UTF8, ORBIT_FMT_JSON, ORBIT_FMT_AVRO,
					       ORBIT_FMT_BYTES};
	for (size_t i = 0; i < sizeof(FORMATS) / sizeof(FORMATS[0]); i++) {
		orbit_payload p = {.format = FORMATS[i], .message_type = "StringMessage",
				   .data = (const uint8_t *)"h\xc3\xa9llo\"\\", .len = 8};
		char *json;
		size_t len;

		ck_assert_int_eq(orbit_envelope_encode(&p, "pub-\xc3\xa9", &json, &len), 0);
		/* the publisher has a non-ASCII character: escaped, so declined */
		ck_assert(!fast_agrees(json, len));
		free(json);
		ck_assert_int_eq(orbit_envelope_encode(&p, "pub", &json, &len), 0);
		ck_assert_msg(fast_agrees(json, len), "declined: %s", json);
		mutate_and_compare(json);
		free(json);
	}
	/* Every envelope Python wrote in the captured session. */
	char *text = read_test_data("mqtt-trace-core1-plugin1.txt");
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *json = line;
		if (line[0] == '#')
			continue;
		for (int i = 0; i < 3; i++)
			json = strchr(json, '\t') + 1;
		ck_assert_msg(fast_agrees(json, strlen(json)), "declined: %s", json);
		accepted++;
	}
	free(text);
	ck_assert_uint_eq(accepted, 34);
}
END_TEST

/* A blank inside a key's quotes makes another key: " payload_format_type"
 * is not payload_format_type, for Python and the general decoder, so the
 * envelope lacks that key and is refused. The fast path used to skip the
 * blank and accept it. Every key, blank before and after its name. */
START_TEST(test_blank_inside_key)
{
	static const char *const KEYS[] = {
		"identifier", "publisher_identifier", "serialized_payload",
		"payload_format_type", "message_type", "timestamp",
	};
	orbit_envelope e;

	for (size_t i = 0; i < sizeof(KEYS) / sizeof(KEYS[0]); i++) {
		for (int after = 0; after < 2; after++) {
			char key[32], blank[34], text[sizeof(VALID) + sizeof(blank)];
			char *at;

			snprintf(key, sizeof(key), "\"%s\"", KEYS[i]);
			snprintf(blank, sizeof(blank), after ? "\"%s \"" : "\" %s\"", KEYS[i]);
			/* quoted, "identifier" is not found inside "publisher_identifier" */
			ck_assert_ptr_nonnull(at = strstr(VALID, key));
			snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - VALID), VALID, blank,
				 at + strlen(key));
			ck_assert_msg(envelope_decode_fast(text, strlen(text), &e) == 1,
				      "fast path accepted %s", text);
			ck_assert_msg(orbit_envelope_decode(text, strlen(text), &e) == -EBADMSG,
				      "accepted %s", text);
		}
	}
}
END_TEST

/* The leaves on their own: RFC 4648 §10's vectors (what Python's
 * base64.b64encode writes) and datetime.fromisoformat's edges. */
START_TEST(test_leaves)
{
	static const char *const VEC[][2] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	static const char *const BAD_B64[] = { "Zg=", "Z===", "Zg==Zg==", "Zm9v!", "Zm 9",
					       "=Zm9" };
	static const char *const GOOD_TS[] = { "2026-12-01", "2026-12-01T10:20",
					       "2024-02-29 23:59:59.123456",
					       "2026-12-01T10:20:30,5Z", "2026-12-01T10:20:30+05:30" };
	static const char *const BAD_TS[] = { "2026-02-29", "2026-13-01", "2026-12-01T24:00",
					      "2026-12-01T10:20:30.", "2026-12-01X", "26-12-01",
					      "2026-12-01T10:20+5:30" };
	char text[16], ts[ISOTIME_MAX];
	uint8_t bytes[16];
	size_t n;

	for (size_t i = 0; i < sizeof(VEC) / sizeof(VEC[0]); i++) {
		size_t len = strlen(VEC[i][0]);

		ck_assert_uint_eq(base64_encode(text, (const uint8_t *)VEC[i][0], len),
				  BASE64_LEN(len));
		ck_assert_mem_eq(text, VEC[i][1], BASE64_LEN(len));
		ck_assert_int_eq(base64_decode(VEC[i][1], strlen(VEC[i][1]), bytes, &n), 0);
		ck_assert_uint_eq(n, len);
		ck_assert_mem_eq(bytes, VEC[i][0], len);
	}
	for (size_t i = 0; i < sizeof(BAD_B64) / sizeof(BAD_B64[0]); i++)
		ck_assert_int_eq(base64_decode(BAD_B64[i], strlen(BAD_B64[i]), bytes, &n), -EBADMSG);
	for (size_t i = 0; i < sizeof(GOOD_TS) / sizeof(GOOD_TS[0]); i++)
		ck_assert_msg(isotime_valid(GOOD_TS[i], strlen(GOOD_TS[i])), "%s", GOOD_TS[i]);
	for (size_t i = 0; i < sizeof(BAD_TS) / sizeof(BAD_TS[0]); i++)
		ck_assert_msg(!isotime_valid(BAD_TS[i], strlen(BAD_TS[i])), "%s", BAD_TS[i]);
	ck_assert_int_eq(isotime_now(ts, &n), 0);
	ck_assert_uint_eq(strlen(ts), n);
	ck_assert(isotime_valid(ts, n));
}
END_TEST

static Suite *envelope_suite(void)
{
	Suite *s = suite_create("envelope");
	TCase *tc = tcase_create("trace");

	tcase_add_test(tc, test_trace);
	suite_add_tcase(s, tc);

	tc = tcase_create("encode");
	tcase_add_test(tc, test_encode_exact_format);
	tcase_add_test(tc, test_encode_no_payload);
	tcase_add_test(tc, test_fresh_identifiers);
	tcase_add_test(tc, test_base64_padding);
	tcase_add_test(tc, test_encode_escaping);
	tcase_add_test(tc, test_encode_rejects);
	suite_add_tcase(s, tc);

	tc = tcase_create("decode");
	tcase_add_test(tc, test_foreign_envelope);
	tcase_add_test(tc, test_tolerant_fields);
	tcase_add_test(tc, test_null_payload_wins);
	tcase_add_test(tc, test_garbage_rejected);
	tcase_add_test(tc, test_oversized);
	tcase_add_test(tc, test_truncations_and_flips);
	tcase_add_test(tc, test_fast_path_agrees);
	tcase_add_test(tc, test_blank_inside_key);
	tcase_add_test(tc, test_leaves);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(envelope_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
