/* test_text.c — the text module (orbit/text.h) pinned to what Python writes:
 * every expected string below is the output of Python 3's json.dumps (its
 * default ensure_ascii=True) or repr(float) for that input, as CPython
 * documents and writes it; tests/data/text/repr.txt adds 2,600 doubles with
 * the repr() Python 3.11 printed for them. */
#include "orbit/text.h"
#include "text_internal.h"

#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* json.dumps(s) for s decoded from UTF-8 bytes `in` (n bytes). */
static void dumps_is(const char *in, size_t n, const char *want)
{
	orbit_buf b = ORBIT_BUF_INIT;
	char *s;
	size_t len;

	ck_assert_int_eq(orbit_json_append_string(&b, in, n), 0);
	ck_assert_int_eq(orbit_buf_finish(&b, &s, &len), 0);
	ck_assert_str_eq(s, want);
	ck_assert_uint_eq(len, strlen(want));
	/* The measuring pass agrees with the writing pass. */
	ck_assert_uint_eq(text_json_escape(NULL, (const uint8_t *)in, n), len - 2);
	free(s);
}

#define DUMPS_IS(lit, want) dumps_is((lit), sizeof(lit) - 1, (want))

START_TEST(strings_as_json_dumps)
{
	/* json.dumps('a"b\\c') */
	DUMPS_IS("a\"b\\c", "\"a\\\"b\\\\c\"");
	/* json.dumps('\x00\x01\x08\t\n\x0b\x0c\r\x1f'): the seven short escapes
	 * where Python has them, lower-case \u00XX for the other controls. */
	DUMPS_IS("\x00\x01\x08\t\n\x0b\x0c\r\x1f",
		 "\"\\u0000\\u0001\\b\\t\\n\\u000b\\f\\r\\u001f\"");
	/* json.dumps('\x7f\x80'): DEL is escaped too (Python's ASCII range is
	 * ' '..'~'). */
	DUMPS_IS("\x7f\xc2\x80", "\"\\u007f\\u0080\"");
	/* json.dumps('\u2028\u2029') */
	DUMPS_IS("\xe2\x80\xa8\xe2\x80\xa9", "\"\\u2028\\u2029\"");
	/* json.dumps('\U0001F600'): a surrogate pair, lower-case. */
	DUMPS_IS("\xf0\x9f\x98\x80", "\"\\ud83d\\ude00\"");
	/* json.dumps('\U0010FFFF') */
	DUMPS_IS("\xf4\x8f\xbf\xbf", "\"\\udbff\\udfff\"");
	/* json.dumps('caf\u00e9 \u4e2d') */
	DUMPS_IS("caf\xc3\xa9 \xe4\xb8\xad", "\"caf\\u00e9 \\u4e2d\"");
	/* json.dumps('\ud7ff\ue000\uffff'): the code points around the
	 * surrogate block. */
	DUMPS_IS("\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf", "\"\\ud7ff\\ue000\\uffff\"");
	/* json.dumps('/') — no escape for the solidus, unlike some writers. */
	DUMPS_IS("/", "\"/\"");
	DUMPS_IS("", "\"\"");
}
END_TEST

/* What Python's strict UTF-8 decoder refuses is refused, not guessed at. */
START_TEST(invalid_utf8_refused)
{
	static const struct {
		const char *s;
		size_t n;
	} BAD[] = {
		{ "\xc3", 1 },             /* truncated */
		{ "a\x80", 2 },            /* lone continuation */
		{ "\xc0\xaf", 2 },         /* overlong '/' */
		{ "\xe0\x80\xaf", 3 },     /* overlong, 3 bytes */
		{ "\xed\xa0\x80", 3 },     /* UTF-16 surrogate U+D800 */
		{ "\xf4\x90\x80\x80", 4 }, /* U+110000 */
		{ "\xf8\x88\x80\x80\x80", 5 },
		{ "\xff", 1 },
	};
	orbit_buf b = ORBIT_BUF_INIT;
	uint32_t cp;

	ck_assert_int_eq(orbit_buf_append_str(&b, "x"), 0);
	for (size_t i = 0; i < sizeof(BAD) / sizeof(BAD[0]); i++) {
		ck_assert_int_eq(orbit_json_append_string(&b, BAD[i].s, BAD[i].n), -EINVAL);
		ck_assert(!orbit_utf8_valid((const uint8_t *)BAD[i].s, BAD[i].n));
		ck_assert_uint_eq(orbit_utf8_count(BAD[i].s, BAD[i].n), SIZE_MAX);
		ck_assert_uint_eq(text_json_escape(NULL, (const uint8_t *)BAD[i].s, BAD[i].n),
				  SIZE_MAX);
	}
	/* Nothing was appended by the refusals. */
	ck_assert_uint_eq(b.len, 1);
	orbit_buf_release(&b);
	ck_assert_ptr_null(b.data);

	ck_assert_uint_eq(orbit_utf8_next((const uint8_t *)"\xe2\x82\xac", 3, &cp), 3);
	ck_assert_uint_eq(cp, 0x20ac);
	ck_assert_uint_eq(orbit_utf8_next((const uint8_t *)"\xe2\x82\xac", 2, &cp), 0);
	ck_assert_uint_eq(orbit_utf8_next(NULL, 0, &cp), 0);
	ck_assert(orbit_utf8_valid((const uint8_t *)"a\0\xc3\xa9", 4));
	ck_assert_uint_eq(orbit_utf8_count("a\0\xc3\xa9\xf0\x9f\x98\x80", 8), 4);
}
END_TEST

START_TEST(bytes_as_code_points)
{
	orbit_buf b = ORBIT_BUF_INIT;
	char *s;

	/* Avro's JSON form of bytes b'\x00\x7f\x80\xff"\\A\n': Python's
	 * json.dumps('\x00\x7f\x80\xff"\\A\n'). */
	ck_assert_int_eq(text_json_append_bytes(&b, (const uint8_t *)"\x00\x7f\x80\xff\"\\A\n", 8),
			 0);
	ck_assert_int_eq(orbit_buf_finish(&b, &s, NULL), 0);
	ck_assert_str_eq(s, "\"\\u0000\\u007f\\u0080\\u00ff\\\"\\\\A\\n\"");
	free(s);
}
END_TEST

static void repr_is(double x, const char *want)
{
	char out[ORBIT_DOUBLE_REPR_MAX];
	orbit_buf b = ORBIT_BUF_INIT;
	char *s;

	ck_assert_uint_eq(orbit_double_repr(out, x), strlen(want));
	ck_assert_str_eq(out, want);
	ck_assert_int_eq(orbit_json_append_double(&b, x), 0);
	ck_assert_int_eq(orbit_buf_finish(&b, &s, NULL), 0);
	ck_assert_str_eq(s, want);
	free(s);
}

START_TEST(floats_as_repr)
{
	/* repr() and json.dumps() of each, as Python writes them. */
	repr_is(0.1, "0.1");
	repr_is(1e-05, "1e-05");
	repr_is(0.0001, "0.0001");
	repr_is(1e16, "1e+16");
	repr_is(9999999999999998.0, "9999999999999998.0");
	repr_is(123456789012345678.0, "1.2345678901234568e+17");
	repr_is(-0.0, "-0.0");
	repr_is(0.0, "0.0");
	repr_is(100.0, "100.0");
	repr_is(5e-324, "5e-324");
	repr_is(1.5e-323, "1.5e-323");
	repr_is(2.2250738585072014e-308, "2.2250738585072014e-308");
	repr_is(1.7976931348623157e308, "1.7976931348623157e+308");
	repr_is(0.30000000000000004, "0.30000000000000004");
	repr_is(2.5e-07, "2.5e-07");
	/* json.dumps(float('nan')), json.dumps(float('inf')), ... (allow_nan). */
	repr_is(NAN, "NaN");
	repr_is(INFINITY, "Infinity");
	repr_is(-INFINITY, "-Infinity");
}
END_TEST

/* Every line of tests/data/text/repr.txt: bits, then Python's repr. */
START_TEST(floats_as_python_printed_them)
{
	const char *dir = getenv("ORBIT_TEST_DATA");
	char path[4096], line[128], want[64], out[ORBIT_DOUBLE_REPR_MAX];
	unsigned n = 0;
	uint64_t bits;
	double x;
	FILE *f;

	ck_assert_ptr_nonnull(dir);
	snprintf(path, sizeof(path), "%s/text/repr.txt", dir);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#')
			continue;
		ck_assert_int_eq(sscanf(line, "%" SCNx64 " %63s", &bits, want), 2);
		memcpy(&x, &bits, sizeof(x));
		orbit_double_repr(out, x);
		ck_assert_msg(strcmp(out, want) == 0, "%016" PRIx64 ": %s, Python %s", bits, out,
			      want);
		n++;
	}
	fclose(f);
	ck_assert_uint_gt(n, 2000);
}
END_TEST

START_TEST(float32_shortest)
{
	char out[ORBIT_DOUBLE_REPR_MAX];

	/* The float32 nearest 0.1 shows as 0.1, not as the double it widens to
	 * (0.10000000149011612). */
	text_float_repr(out, 0.1f);
	ck_assert_str_eq(out, "0.1");
	text_float_repr(out, 16777216.0f);
	ck_assert_str_eq(out, "16777216.0");
	text_float_repr(out, 3.4028234663852886e38f);
	ck_assert_str_eq(out, "3.4028235e+38");
	text_float_repr(out, 1e-45f); /* float32's smallest subnormal */
	ck_assert_str_eq(out, "1e-45");
	text_float_repr(out, -2.5e-5f);
	ck_assert_str_eq(out, "-2.5e-05");
}
END_TEST

START_TEST(utf8_trim)
{
	/* "é" cut after its first byte loses it; whole sequences stay. */
	ck_assert_uint_eq(orbit_utf8_trim("ab\xc3\xa9", 3), 2);
	ck_assert_uint_eq(orbit_utf8_trim("ab\xc3\xa9", 4), 4);
	ck_assert_uint_eq(orbit_utf8_trim("\xf0\x9f\x98\x80", 3), 0);
	ck_assert_uint_eq(orbit_utf8_trim("\xf0\x9f\x98\x80", 4), 4);
	ck_assert_uint_eq(orbit_utf8_trim("abc", 3), 3);
	/* Not UTF-8 to begin with: left alone. */
	ck_assert_uint_eq(orbit_utf8_trim("\x80\x80", 2), 2);
}
END_TEST

START_TEST(buffer)
{
	orbit_buf b = ORBIT_BUF_INIT;
	char *s;
	size_t len;

	/* An empty buffer still finishes to an (empty) string. */
	ck_assert_int_eq(orbit_buf_finish(&b, &s, &len), 0);
	ck_assert_str_eq(s, "");
	ck_assert_uint_eq(len, 0);
	free(s);
	for (int i = 0; i < 1000; i++)
		ck_assert_int_eq(orbit_buf_append_char(&b, (char)('a' + i % 26)), 0);
	ck_assert_int_eq(orbit_buf_append(&b, NULL, 0), 0);
	ck_assert_int_eq(orbit_buf_append_str(&b, "!"), 0);
	ck_assert_uint_eq(b.len, 1001);
	ck_assert_int_eq(orbit_buf_finish(&b, &s, &len), 0);
	ck_assert_uint_eq(len, 1001);
	ck_assert_uint_eq(strlen(s), 1001);
	ck_assert_int_eq(s[26], 'a');
	ck_assert_ptr_null(b.data);
	free(s);
	/* A failed allocation is remembered and reported once, at the end. */
	b.oom = true;
	ck_assert_int_eq(orbit_buf_append_char(&b, 'x'), -ENOMEM);
	ck_assert_int_eq(orbit_buf_finish(&b, &s, NULL), -ENOMEM);
	ck_assert_ptr_null(s);
	orbit_buf_release(NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("text");
	TCase *tc = tcase_create("text");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, strings_as_json_dumps);
	tcase_add_test(tc, invalid_utf8_refused);
	tcase_add_test(tc, bytes_as_code_points);
	tcase_add_test(tc, floats_as_repr);
	tcase_add_test(tc, floats_as_python_printed_them);
	tcase_add_test(tc, float32_shortest);
	tcase_add_test(tc, utf8_trim);
	tcase_add_test(tc, buffer);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
