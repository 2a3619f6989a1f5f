/* test_builtin.c — busline built-in payloads (libplugin/builtin.c): SPEC §1.3
 * examples, every format, bit-identity with libavro, JSON conversions.
 * Owned by the codec team. */
#include "test_data.h"
#include <avro.h>
#include <check.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orbit/builtin.h"


static void to_hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
	out[2 * n] = '\0';
}

static size_t unhex(const char *hex, uint8_t *out)
{
	size_t n = strlen(hex) / 2;

	for (size_t i = 0; i < n; i++) {
		unsigned v;

		ck_assert_int_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

/* Encode v in fmt and compare with the expected hex; then decode it back. */
static void roundtrip(const orbit_value *v, orbit_format fmt, orbit_format want_fmt,
		      const char *want_hex)
{
	orbit_payload p;
	orbit_value back;
	uint8_t *data = NULL;
	char hex[256];

	ck_assert_int_eq(orbit_value_encode(v, fmt, &p, &data), 0);
	ck_assert_ptr_eq(p.data, data);
	ck_assert_int_eq(p.format, want_fmt);
	ck_assert_str_eq(p.message_type, orbit_kind_message_type(v->kind));
	ck_assert_uint_lt(p.len, sizeof(hex) / 2);
	to_hex(p.data, p.len, hex);
	ck_assert_str_eq(hex, want_hex);
	ck_assert_int_eq(orbit_value_decode(&p, &back), 0);
	ck_assert_int_eq(back.kind, v->kind);
	if (v->kind == ORBIT_KIND_STRING) {
		ck_assert_uint_eq(back.str_len, v->str_len);
		ck_assert_int_eq(back.str[back.str_len], '\0');
		if (v->str_len)
			ck_assert_mem_eq(back.str, v->str, v->str_len);
	} else if (v->kind == ORBIT_KIND_INT32 || v->kind == ORBIT_KIND_INT64) {
		ck_assert_int_eq(back.i, v->i);
	} else if (!isnan(v->f)) {
		ck_assert_double_eq(back.f, v->kind == ORBIT_KIND_FLOAT32 &&
					    want_fmt == ORBIT_FMT_BYTES ? (float)v->f : v->f);
	}
	orbit_value_clear(&back);
	free(data);
}

/* JSON form: {"value": <text>} as Python's json.dumps writes it. */
static void roundtrip_json(const orbit_value *v, const char *want)
{
	char want_hex[512];

	to_hex((const uint8_t *)want, strlen(want), want_hex);
	roundtrip(v, ORBIT_FMT_JSON, ORBIT_FMT_JSON, want_hex);
}

/* --- SPEC §1.3 examples ------------------------------------------------------- */

START_TEST(test_int64)
{
	orbit_value v = { .kind = ORBIT_KIND_INT64, .i = 42 };

	roundtrip(&v, ORBIT_FMT_NONE, ORBIT_FMT_BYTES, "000000000000002a");
	roundtrip(&v, ORBIT_FMT_BYTES, ORBIT_FMT_BYTES, "000000000000002a");
	roundtrip(&v, ORBIT_FMT_AVRO, ORBIT_FMT_AVRO, "54");
	roundtrip_json(&v, "{\"value\": 42}");
	v.i = -2;
	roundtrip(&v, ORBIT_FMT_BYTES, ORBIT_FMT_BYTES, "fffffffffffffffe");
	roundtrip(&v, ORBIT_FMT_AVRO, ORBIT_FMT_AVRO, "03");
	v.i = INT64_MIN;
	roundtrip(&v, ORBIT_FMT_AVRO, ORBIT_FMT_AVRO, "ffffffffffffffffff01");
	roundtrip_json(&v, "{\"value\": -9223372036854775808}");
}
END_TEST

START_TEST(test_int32_unsigned_bytes)
{
	orbit_value v = { .kind = ORBIT_KIND_INT32, .i = 42 };
	orbit_payload p;
	uint8_t *data = (uint8_t *)"untouched";

	roundtrip(&v, ORBIT_FMT_NONE, ORBIT_FMT_BYTES, "0000002a");
	roundtrip(&v, ORBIT_FMT_AVRO, ORBIT_FMT_AVRO, "54");
	v.i = 4294967295;
	roundtrip(&v, ORBIT_FMT_BYTES, ORBIT_FMT_BYTES, "ffffffff");
	roundtrip(&v, ORBIT_FMT_AVRO, ORBIT_FMT_AVRO, "feffffff1f");
	v.i = -1;
	roundtrip(&v, ORBIT_FMT_AVRO, ORBIT_FMT_AVRO, "01");
	roundtrip_json(&v, "{\"value\": -1}");
	/* Python's to_bytes(4, "big") cannot write negatives or 2^32. */
	ck_assert_int_eq(orbit_value_encode(&v, ORBIT_FMT_BYTES, &p, &data), -EINVAL);
	ck_assert_ptr_null(data);
	v.i = 4294967296;
	ck_assert_int_eq(orbit_value_encode(&v, ORBIT_FMT_BYTES, &p, &data), -ERANGE);
	ck_assert_int_eq(orbit_value_encode(&v, ORBIT_FMT_AVRO, &p, &data), -ERANGE);
	v.i = (int64_t)INT32_MIN - 1;
	ck_assert_int_eq(orbit_value_encode(&v, ORBIT_FMT_JSON, &p, &data), -ERANGE);
}
END_TEST

START_TEST(test_floats)
{
	orbit_value f32 = { .kind = ORBIT_KIND_FLOAT32, .f = 1.5 };
	orbit_value f64 = { .kind = ORBIT_KIND_FLOAT64, .f = 1.5 };
	orbit_payload p;
	uint8_t *data;

	roundtrip(&f32, ORBIT_FMT_NONE, ORBIT_FMT_BYTES, "3fc00000");
	roundtrip(&f32, ORBIT_FMT_AVRO, ORBIT_FMT_AVRO, "000000000000f83f");
	roundtrip_json(&f32, "{\"value\": 1.5}");
	roundtrip(&f64, ORBIT_FMT_NONE, ORBIT_FMT_BYTES, "3ff8000000000000");
	roundtrip(&f64, ORBIT_FMT_AVRO, ORBIT_FMT_AVRO, "000000000000f83f");
	roundtrip_json(&f64, "{\"value\": 1.5}");
	f64.f = -INFINITY;
	roundtrip(&f64, ORBIT_FMT_BYTES, ORBIT_FMT_BYTES, "fff0000000000000");
	/* Float32 bytes round like struct.pack(">f"); overflow is refused. */
	f32.f = 0.1;
	roundtrip(&f32, ORBIT_FMT_BYTES, ORBIT_FMT_BYTES, "3dcccccd");
	f32.f = 1e300;
	ck_assert_int_eq(orbit_value_encode(&f32, ORBIT_FMT_BYTES, &p, &data), -ERANGE);
	roundtrip(&f32, ORBIT_FMT_AVRO, ORBIT_FMT_AVRO, "9c7500883ce4377e");
	f32.f = INFINITY;
	roundtrip(&f32, ORBIT_FMT_BYTES, ORBIT_FMT_BYTES, "7f800000");
}
END_TEST

/* Python's json.dumps writes a non-finite float as NaN, Infinity or
 * -Infinity, and so does our encoder (Python's json.loads reads them): the
 * decoder used to refuse them, its own output included (found by reading
 * fuzz_wire's properties against builtin.c). Nothing else that is not
 * JSON gets through. */
START_TEST(test_nonfinite_json)
{
	static const struct { const char *text; double f; } OK[] = {
		{ "{\"value\": NaN}", NAN }, { "{\"value\": Infinity}", INFINITY },
		{ "{\"value\": -Infinity}", -INFINITY }, { " {\"value\":NaN} \n", NAN },
	};
	static const char *const BAD[] = {
		"{\"value\": nan}", "{\"value\": NaN", "{\"value\": NaN}x", "{\"value\": +Infinity}",
		"{\"value\": NaN, \"value\": 1}", "{\"v\": NaN}", "NaN", "{\"value\": [NaN]}",
	};
	orbit_value f64 = { .kind = ORBIT_KIND_FLOAT64, .f = NAN };
	orbit_value f32 = { .kind = ORBIT_KIND_FLOAT32, .f = -INFINITY };
	orbit_payload p = { .format = ORBIT_FMT_JSON };
	orbit_value back;

	roundtrip_json(&f64, "{\"value\": NaN}");
	roundtrip_json(&f32, "{\"value\": -Infinity}");
	for (size_t i = 0; i < sizeof(OK) / sizeof(OK[0]); i++) {
		for (int k = 0; k < 2; k++) {
			p.message_type = k ? "Float32Message" : "Float64Message";
			p.data = (const uint8_t *)OK[i].text;
			p.len = strlen(OK[i].text);
			ck_assert_msg(orbit_value_decode(&p, &back) == 0, "%s", OK[i].text);
			ck_assert_int_eq(back.kind, k ? ORBIT_KIND_FLOAT32 : ORBIT_KIND_FLOAT64);
			if (isnan(OK[i].f))
				ck_assert(isnan(back.f));
			else
				ck_assert(back.f == OK[i].f);
		}
		p.message_type = "Int64Message";
		ck_assert_int_eq(orbit_value_decode(&p, &back), -EBADMSG);
	}
	p.message_type = "Float64Message";
	for (size_t i = 0; i < sizeof(BAD) / sizeof(BAD[0]); i++) {
		p.data = (const uint8_t *)BAD[i];
		p.len = strlen(BAD[i]);
		ck_assert_msg(orbit_value_decode(&p, &back) == -EBADMSG, "%s", BAD[i]);
	}
}
END_TEST

START_TEST(test_string)
{
	orbit_value v = { .kind = ORBIT_KIND_STRING, .str = "HELLO", .str_len = 5 };
	orbit_value e = { .kind = ORBIT_KIND_STRING };
	orbit_value nul = { .kind = ORBIT_KIND_STRING, .str = "a\0b", .str_len = 3 };
	orbit_value bad = { .kind = ORBIT_KIND_STRING, .str = "\xc3(", .str_len = 2 };
	orbit_value utf = { .kind = ORBIT_KIND_STRING, .str = "\xc3\xa9\xf0\x9f\x98\x80", .str_len = 6 };
	orbit_payload p;
	uint8_t *data;

	roundtrip(&v, ORBIT_FMT_NONE, ORBIT_FMT_UTF8, "48454c4c4f");
	roundtrip(&v, ORBIT_FMT_AVRO, ORBIT_FMT_AVRO, "0a48454c4c4f");
	roundtrip_json(&v, "{\"value\": \"HELLO\"}");
	roundtrip(&e, ORBIT_FMT_UTF8, ORBIT_FMT_UTF8, "");
	roundtrip(&e, ORBIT_FMT_AVRO, ORBIT_FMT_AVRO, "00");
	roundtrip(&nul, ORBIT_FMT_AVRO, ORBIT_FMT_AVRO, "06610062");
	roundtrip_json(&nul, "{\"value\": \"a\\u0000b\"}");
	/* Python: json.dumps({"value": "\u00e9\U0001f600"}) writes lower-case
	 * hex and a surrogate pair. */
	roundtrip_json(&utf, "{\"value\": \"\\u00e9\\ud83d\\ude00\"}");
	ck_assert_int_eq(orbit_value_encode(&bad, ORBIT_FMT_UTF8, &p, &data), -EINVAL);
	ck_assert_int_eq(orbit_value_encode(&v, ORBIT_FMT_BYTES, &p, &data), -EINVAL);
}
END_TEST

START_TEST(test_empty_and_kinds)
{
	orbit_value v = { .kind = ORBIT_KIND_EMPTY };
	orbit_payload p = { .format = ORBIT_FMT_AVRO };
	orbit_value out;
	uint8_t *data = (uint8_t *)"untouched";

	ck_assert_int_eq(orbit_value_encode(&v, ORBIT_FMT_NONE, &p, &data), 0);
	ck_assert_int_eq(p.format, ORBIT_FMT_NONE);
	ck_assert_ptr_null(p.data);
	ck_assert_ptr_null(p.message_type);
	ck_assert_ptr_null(data);
	ck_assert_int_eq(orbit_value_encode(&v, ORBIT_FMT_JSON, &p, &data), -EINVAL);
	ck_assert_int_eq(orbit_value_decode(&p, &out), 0);
	ck_assert_int_eq(out.kind, ORBIT_KIND_EMPTY);
	v.kind = ORBIT_KIND_NONE;
	ck_assert_int_eq(orbit_value_encode(&v, ORBIT_FMT_NONE, &p, &data), -EINVAL);
	v.kind = ORBIT_KIND_INT64;
	ck_assert_int_eq(orbit_value_encode(&v, ORBIT_FMT_UTF8, &p, &data), -EINVAL);
}
END_TEST

/* --- decoding what Python accepts, and nothing else ------------------------------ */

static int decode_hex(const char *type, orbit_format fmt, const char *hex, orbit_value *v)
{
	uint8_t buf[128];
	size_t n = unhex(hex, buf);
	orbit_payload p = { buf, n, fmt, type };

	return orbit_value_decode(&p, v);
}

static int decode_text(const char *type, orbit_format fmt, const char *text, orbit_value *v)
{
	orbit_payload p = { (const uint8_t *)text, strlen(text), fmt, type };

	return orbit_value_decode(&p, v);
}

START_TEST(test_decode_vectors_file)
{
	char *text = read_test_data("test-vectors-avro-hex.txt");
	char *save = NULL, *pending = NULL;
	int found = 0;
	orbit_value v;

	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "### ", 4) == 0) {
			pending = line + 4;
			continue;
		}
		if (!pending)
			continue;
		if (strncmp(pending, "StringMessage avro", 18) == 0) {
			ck_assert_int_eq(decode_hex("StringMessage", ORBIT_FMT_AVRO, line, &v), 0);
			ck_assert_str_eq(v.str, "HELLO");
			orbit_value_clear(&v);
			found++;
		} else if (strncmp(pending, "Int64Message avro", 17) == 0) {
			ck_assert_int_eq(decode_hex("Int64Message", ORBIT_FMT_AVRO, line, &v), 0);
			ck_assert_int_eq(v.i, 42);
			found++;
		}
		pending = NULL;
	}
	free(text);
	ck_assert_int_eq(found, 2);
}
END_TEST

START_TEST(test_decode_accepts)
{
	orbit_value v;

	ck_assert_int_eq(decode_text("StringMessage", ORBIT_FMT_JSON, "{\"value\": \"h\\u00e9\"}", &v), 0);
	ck_assert_str_eq(v.str, "h\xc3\xa9");
	orbit_value_clear(&v);
	ck_assert_int_eq(decode_text("Int64Message", ORBIT_FMT_JSON, "{\"x\": 1, \"value\": -7}", &v), 0);
	ck_assert_int_eq(v.i, -7);
	ck_assert_int_eq(decode_text("Float32Message", ORBIT_FMT_JSON, "{\"value\": 3}", &v), 0);
	ck_assert_double_eq(v.f, 3.0);
	ck_assert_int_eq(decode_hex("Int32Message", ORBIT_FMT_BYTES, "80000000", &v), 0);
	ck_assert_int_eq(v.i, 2147483648);
	ck_assert_int_eq(decode_hex("Float64Message", ORBIT_FMT_AVRO, "000000000000f83f", &v), 0);
	ck_assert_double_eq(v.f, 1.5);
	ck_assert_int_eq(decode_hex("Float32Message", ORBIT_FMT_BYTES, "3fc00000", &v), 0);
	ck_assert_double_eq(v.f, 1.5);
	/* Non-canonical but decodable varint (libavro reads it too). */
	ck_assert_int_eq(decode_hex("Int64Message", ORBIT_FMT_AVRO, "d400", &v), 0);
	ck_assert_int_eq(v.i, 42);
}
END_TEST

START_TEST(test_decode_rejects)
{
	static const struct { const char *type; orbit_format fmt; const char *hex; int rc; } BAD[] = {
		{ "StringMessage", ORBIT_FMT_BYTES, "48", -EBADMSG },
		{ "StringMessage", ORBIT_FMT_UTF8, "c328", -EBADMSG },
		{ "StringMessage", ORBIT_FMT_UTF8, "eda080", -EBADMSG },      /* surrogate */
		{ "StringMessage", ORBIT_FMT_UTF8, "c0af", -EBADMSG },        /* overlong */
		{ "StringMessage", ORBIT_FMT_AVRO, "0a48454c4c", -EBADMSG },  /* short */
		{ "StringMessage", ORBIT_FMT_AVRO, "0a48454c4c4f00", -EBADMSG },
		{ "StringMessage", ORBIT_FMT_AVRO, "01", -EBADMSG },          /* -1 */
		{ "StringMessage", ORBIT_FMT_AVRO, "", -EBADMSG },
		{ "StringMessage", ORBIT_FMT_AVRO, "ffffffffffffffffffff01", -EBADMSG },
		{ "Int64Message", ORBIT_FMT_UTF8, "34", -EBADMSG },
		{ "Int64Message", ORBIT_FMT_BYTES, "2a", -EBADMSG },
		{ "Int64Message", ORBIT_FMT_BYTES, "00000000000000002a", -EBADMSG },
		{ "Int64Message", ORBIT_FMT_AVRO, "5400", -EBADMSG },
		{ "Int64Message", ORBIT_FMT_AVRO, "d4", -EBADMSG },
		{ "Int64Message", ORBIT_FMT_AVRO, "ffffffffffffffffff02", -EBADMSG },
		{ "Int32Message", ORBIT_FMT_BYTES, "0000002a00", -EBADMSG },
		{ "Int32Message", ORBIT_FMT_AVRO, "8080808020", -EBADMSG },   /* 2^32 */
		{ "Float32Message", ORBIT_FMT_BYTES, "3fc000", -EBADMSG },
		{ "Float32Message", ORBIT_FMT_AVRO, "0000c03f", -EBADMSG },   /* float, not double */
		{ "Float64Message", ORBIT_FMT_BYTES, "3ff80000", -EBADMSG },
		{ "Float64Message", ORBIT_FMT_UTF8, "31", -EBADMSG },
		{ "BoolMessage", ORBIT_FMT_BYTES, "01", -ENOTSUP },
		{ NULL, ORBIT_FMT_BYTES, "01", -ENOTSUP },
	};
	static const struct { const char *type; const char *json; } BAD_JSON[] = {
		{ "StringMessage", "{\"value\": 42}" },
		{ "StringMessage", "\"HELLO\"" },
		{ "StringMessage", "{\"valu\": \"x\"}" },
		{ "Int64Message", "{\"value\": 4.5}" },
		{ "Int64Message", "{\"value\": \"42\"}" },
		{ "Int64Message", "{\"value\": true}" },
		{ "Int64Message", "{\"value\": 99999999999999999999}" },
		{ "Int32Message", "{\"value\": 4294967296}" },
		{ "Float32Message", "{\"value\": 1e300}" },
		{ "Float64Message", "{\"value\": null}" },
		{ "Float64Message", "{\"value\": 1} x" },
		{ "Float64Message", "" },
	};
	orbit_value v;

	for (size_t i = 0; i < sizeof(BAD) / sizeof(BAD[0]); i++) {
		int rc = decode_hex(BAD[i].type, BAD[i].fmt, BAD[i].hex, &v);

		ck_assert_msg(rc == BAD[i].rc, "%s %s: %d", BAD[i].type ? BAD[i].type : "(null)",
			      BAD[i].hex, rc);
		ck_assert_ptr_null(v.str);
	}
	for (size_t i = 0; i < sizeof(BAD_JSON) / sizeof(BAD_JSON[0]); i++)
		ck_assert_msg(decode_text(BAD_JSON[i].type, ORBIT_FMT_JSON, BAD_JSON[i].json, &v) ==
			      -EBADMSG, "%s %s", BAD_JSON[i].type, BAD_JSON[i].json);
}
END_TEST

/* --- bit-identical to libavro ------------------------------------------------------ */

static void libavro_encode(orbit_kind k, const orbit_value *v, uint8_t *out, size_t cap,
			   size_t *len)
{
	const char *json = orbit_kind_schema(k, ORBIT_FLAVOUR_PY312);
	avro_schema_t schema;
	avro_value_iface_t *iface;
	avro_value_t rec, field;
	avro_writer_t w;

	ck_assert_int_eq(avro_schema_from_json_length(json, strlen(json), &schema), 0);
	iface = avro_generic_class_from_schema(schema);
	ck_assert_int_eq(avro_generic_value_new(iface, &rec), 0);
	ck_assert_int_eq(avro_value_get_by_index(&rec, 0, &field, NULL), 0);
	if (k == ORBIT_KIND_STRING)
		ck_assert_int_eq(avro_value_set_string_len(&field, v->str, v->str_len + 1), 0);
	else if (k == ORBIT_KIND_INT32 || k == ORBIT_KIND_INT64)
		ck_assert_int_eq(avro_value_set_long(&field, v->i), 0);
	else
		ck_assert_int_eq(avro_value_set_double(&field, v->f), 0);
	ck_assert_int_eq(avro_value_sizeof(&rec, len), 0);
	ck_assert_uint_le(*len, cap);
	w = avro_writer_memory((const char *)out, (int64_t)*len);
	ck_assert_int_eq(avro_value_write(w, &rec), 0);
	avro_writer_free(w);
	avro_value_decref(&rec);
	avro_value_iface_decref(iface);
	avro_schema_decref(schema);
}

static void assert_same_as_libavro(const orbit_value *v)
{
	uint8_t want[256];
	size_t want_len;
	orbit_payload p;
	uint8_t *data;

	libavro_encode(v->kind, v, want, sizeof(want), &want_len);
	ck_assert_int_eq(orbit_value_encode(v, ORBIT_FMT_AVRO, &p, &data), 0);
	ck_assert_uint_eq(p.len, want_len);
	ck_assert_mem_eq(p.data, want, want_len);
	free(data);
}

START_TEST(test_bit_identical_to_libavro)
{
	static const int64_t INTS[] = {
		0, 1, -1, 42, 63, 64, -64, -65, 8191, 8192, INT32_MAX, INT32_MIN,
		(int64_t)1 << 40, -((int64_t)1 << 40), INT64_MAX, INT64_MIN,
	};
	static const double DOUBLES[] = { 0.0, -0.0, 1.5, -1e-300, 1e308, 3.141592653589793 };
	static const char *const STRINGS[] = { "", "a", "HELLO", "h\xc3\xa9llo",
		"0123456789012345678901234567890123456789012345678901234567890123456789" };

	for (size_t i = 0; i < sizeof(INTS) / sizeof(INTS[0]); i++) {
		orbit_value v = { .kind = ORBIT_KIND_INT64, .i = INTS[i] };

		assert_same_as_libavro(&v);
	}
	for (size_t i = 0; i < sizeof(DOUBLES) / sizeof(DOUBLES[0]); i++) {
		orbit_value v = { .kind = ORBIT_KIND_FLOAT64, .f = DOUBLES[i] };

		assert_same_as_libavro(&v);
	}
	for (size_t i = 0; i < sizeof(STRINGS) / sizeof(STRINGS[0]); i++) {
		orbit_value v = { .kind = ORBIT_KIND_STRING, .str = (char *)STRINGS[i],
				  .str_len = strlen(STRINGS[i]) };

		assert_same_as_libavro(&v);
	}
}
END_TEST

/* --- JSON text for humans ---------------------------------------------------------- */

static void assert_to_json(orbit_kind k, double f, const char *want)
{
	orbit_value v = { .kind = k, .f = f };
	char *s = orbit_value_to_json(&v);

	ck_assert_ptr_nonnull(s);
	ck_assert_msg(strcmp(s, want) == 0, "%.17g: got %s want %s", f, s, want);
	free(s);
}

START_TEST(test_to_json)
{
	/* Expected texts are Python's json.dumps / repr of the same floats. */
	static const struct { double f; const char *want; } FLOATS[] = {
		{ 0.1, "0.1" }, { 1e16, "1e+16" }, { 1e15, "1000000000000000.0" },
		{ 1e-5, "1e-05" }, { 0.0001, "0.0001" }, { -0.0, "-0.0" }, { 0.0, "0.0" },
		{ 100.0, "100.0" }, { 1.0 / 3, "0.3333333333333333" }, { 5e-324, "5e-324" },
		{ DBL_MAX, "1.7976931348623157e+308" }, { 123456789.123, "123456789.123" },
		{ 1.5, "1.5" }, { 2.5e-7, "2.5e-07" }, { 12345678901234567890.0, "1.2345678901234567e+19" },
		{ 0.30000000000000004, "0.30000000000000004" }, { -1e100, "-1e+100" },
		{ INFINITY, "Infinity" }, { -INFINITY, "-Infinity" }, { NAN, "NaN" },
	};
	orbit_value v = { .kind = ORBIT_KIND_STRING, .str = "a\"\n\xc3\xa9", .str_len = 5 };
	char *s;

	for (size_t i = 0; i < sizeof(FLOATS) / sizeof(FLOATS[0]); i++)
		assert_to_json(ORBIT_KIND_FLOAT64, FLOATS[i].f, FLOATS[i].want);
	s = orbit_value_to_json(&v);
	/* Python: json.dumps('a"\n\u00e9') == '"a\\"\\n\\u00e9"' (lower-case hex). */
	ck_assert_str_eq(s, "\"a\\\"\\n\\u00e9\"");
	free(s);
	v = (orbit_value){ .kind = ORBIT_KIND_INT64, .i = -42 };
	s = orbit_value_to_json(&v);
	ck_assert_str_eq(s, "-42");
	free(s);
	v = (orbit_value){ .kind = ORBIT_KIND_EMPTY };
	s = orbit_value_to_json(&v);
	ck_assert_str_eq(s, "null");
	free(s);
	v = (orbit_value){ .kind = ORBIT_KIND_STRING, .str = "\xff", .str_len = 1 };
	ck_assert_ptr_null(orbit_value_to_json(&v));
	v = (orbit_value){ .kind = ORBIT_KIND_NONE };
	ck_assert_ptr_null(orbit_value_to_json(&v));
}
END_TEST

START_TEST(test_from_json)
{
	static const struct { orbit_kind k; const char *json; const char *why; } BAD[] = {
		{ ORBIT_KIND_INT64, "\"x\"", "expected a JSON integer" },
		{ ORBIT_KIND_INT64, "1.5", "expected a JSON integer" },
		{ ORBIT_KIND_INT32, "4294967296", "integer out of int32 range (-2147483648..4294967295)" },
		{ ORBIT_KIND_INT32, "-2147483649", "integer out of int32 range (-2147483648..4294967295)" },
		{ ORBIT_KIND_FLOAT32, "1e300", "number out of float32 range" },
		{ ORBIT_KIND_FLOAT64, "\"1.5\"", "expected a JSON number" },
		{ ORBIT_KIND_STRING, "42", "expected a JSON string" },
		{ ORBIT_KIND_EMPTY, "0", "expected null for a payload-less value" },
		{ ORBIT_KIND_NONE, "null", "this kind carries no value" },
		{ ORBIT_KIND_INT64, "garbage", "not valid JSON" },
		{ ORBIT_KIND_INT64, "1 2", "not valid JSON" },
		{ ORBIT_KIND_STRING, NULL, "no JSON text" },
	};
	orbit_value v;
	char *why = NULL;

	ck_assert_int_eq(orbit_value_from_json(ORBIT_KIND_STRING, "\"h\\u00e9\\u0000\"", &v, &why), 0);
	ck_assert_ptr_null(why);
	ck_assert_uint_eq(v.str_len, 4);
	ck_assert_mem_eq(v.str, "h\xc3\xa9\0", 4);
	orbit_value_clear(&v);
	ck_assert_int_eq(orbit_value_from_json(ORBIT_KIND_INT32, "4294967295", &v, NULL), 0);
	ck_assert_int_eq(v.i, 4294967295);
	ck_assert_int_eq(orbit_value_from_json(ORBIT_KIND_INT64, " -9223372036854775808 ", &v, NULL), 0);
	ck_assert_int_eq(v.i, INT64_MIN);
	ck_assert_int_eq(orbit_value_from_json(ORBIT_KIND_FLOAT32, "2", &v, NULL), 0);
	ck_assert_double_eq(v.f, 2.0);
	ck_assert_int_eq(orbit_value_from_json(ORBIT_KIND_FLOAT64, "-0.25", &v, NULL), 0);
	ck_assert_double_eq(v.f, -0.25);
	ck_assert_int_eq(orbit_value_from_json(ORBIT_KIND_EMPTY, "null", &v, NULL), 0);
	ck_assert_int_eq(v.kind, ORBIT_KIND_EMPTY);
	for (size_t i = 0; i < sizeof(BAD) / sizeof(BAD[0]); i++) {
		ck_assert_int_eq(orbit_value_from_json(BAD[i].k, BAD[i].json, &v, &why), -EINVAL);
		ck_assert_str_eq(why, BAD[i].why);
		ck_assert_ptr_null(v.str);
		free(why);
	}
	ck_assert_int_eq(orbit_value_from_json(ORBIT_KIND_INT64, "x", &v, NULL), -EINVAL);
}
END_TEST

START_TEST(test_json_roundtrip_through_text)
{
	static const double FLOATS[] = { 0.1, 1e16, -2.5e-7, 1.0 / 3, 5e-324, DBL_MAX };

	for (size_t i = 0; i < sizeof(FLOATS) / sizeof(FLOATS[0]); i++) {
		orbit_value v = { .kind = ORBIT_KIND_FLOAT64, .f = FLOATS[i] }, back;
		char *s = orbit_value_to_json(&v);

		ck_assert_int_eq(orbit_value_from_json(ORBIT_KIND_FLOAT64, s, &back, NULL), 0);
		ck_assert_double_eq(back.f, v.f);
		free(s);
	}
}
END_TEST

static Suite *builtin_suite(void)
{
	Suite *s = suite_create("builtin");
	TCase *tc = tcase_create("encode");

	tcase_add_test(tc, test_int64);
	tcase_add_test(tc, test_int32_unsigned_bytes);
	tcase_add_test(tc, test_floats);
	tcase_add_test(tc, test_nonfinite_json);
	tcase_add_test(tc, test_string);
	tcase_add_test(tc, test_empty_and_kinds);
	tcase_add_test(tc, test_bit_identical_to_libavro);
	suite_add_tcase(s, tc);

	tc = tcase_create("decode");
	tcase_add_test(tc, test_decode_vectors_file);
	tcase_add_test(tc, test_decode_accepts);
	tcase_add_test(tc, test_decode_rejects);
	suite_add_tcase(s, tc);

	tc = tcase_create("json");
	tcase_add_test(tc, test_to_json);
	tcase_add_test(tc, test_from_json);
	tcase_add_test(tc, test_json_roundtrip_through_text);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(builtin_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
