/* test_spec.c — SchemaSpec values, built-in schema strings and §4.9
 * compatibility (libplugin/spec.c). Owned by the codec team. */
#include "test_data.h"
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orbit/spec.h"
#include "orbit/types.h"


static const orbit_kind VALUE_KINDS[] = {
	ORBIT_KIND_STRING, ORBIT_KIND_INT32, ORBIT_KIND_INT64, ORBIT_KIND_FLOAT32, ORBIT_KIND_FLOAT64,
};
#define N_VALUE_KINDS (sizeof(VALUE_KINDS) / sizeof(VALUE_KINDS[0]))

static orbit_kind kind_of_class(const char *cls)
{
	for (size_t i = 0; i < N_VALUE_KINDS; i++)
		if (strcmp(orbit_kind_message_type(VALUE_KINDS[i]), cls) == 0)
			return VALUE_KINDS[i];
	ck_abort_msg("unknown class %s", cls);
	return ORBIT_KIND_NONE;
}

/* --- built-in strings -------------------------------------------------------- */

START_TEST(test_builtin_strings_exact)
{
	char *text = read_test_data("builtin-schema-strings.txt");
	char *save = NULL;
	int flavour = -1;
	size_t seen[2] = { 0, 0 };

	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *sp;

		if (strncmp(line, "## Python 3.12", 14) == 0) {
			flavour = ORBIT_FLAVOUR_PY312;
		} else if (strncmp(line, "## Python 3.13", 14) == 0) {
			flavour = ORBIT_FLAVOUR_PY313;
		} else if (line[0] != '#') {
			ck_assert_int_ge(flavour, 0);
			sp = strchr(line, ' ');
			ck_assert_ptr_nonnull(sp);
			*sp = '\0';
			ck_assert_str_eq(orbit_kind_schema(kind_of_class(line), (orbit_flavour)flavour),
					 sp + 1);
			seen[flavour]++;
		}
	}
	free(text);
	ck_assert_uint_eq(seen[0], 5);
	ck_assert_uint_eq(seen[1], 5);
}
END_TEST

START_TEST(test_kind_names)
{
	static const char *const NAMES[] = {
		"none", "empty", "string", "int32", "int64", "float32", "float64",
	};
	orbit_kind k;

	for (size_t i = 0; i < sizeof(NAMES) / sizeof(NAMES[0]); i++) {
		ck_assert_int_eq(orbit_kind_parse(NAMES[i], &k), 0);
		ck_assert_int_eq(k, (int)i);
	}
	ck_assert_int_eq(orbit_kind_parse("String", &k), -EINVAL);
	ck_assert_int_eq(orbit_kind_parse("int", &k), -EINVAL);
	ck_assert_int_eq(orbit_kind_parse(NULL, &k), -EINVAL);
	ck_assert_str_eq(orbit_kind_message_type(ORBIT_KIND_STRING), "StringMessage");
	ck_assert_str_eq(orbit_kind_message_type(ORBIT_KIND_INT32), "Int32Message");
	ck_assert_str_eq(orbit_kind_message_type(ORBIT_KIND_FLOAT64), "Float64Message");
	ck_assert_ptr_null(orbit_kind_message_type(ORBIT_KIND_EMPTY));
	ck_assert_ptr_null(orbit_kind_schema(ORBIT_KIND_NONE, ORBIT_FLAVOUR_PY312));
	ck_assert_ptr_null(orbit_kind_schema((orbit_kind)99, ORBIT_FLAVOUR_PY312));
}
END_TEST

START_TEST(test_format_names)
{
	static const char *const NAMES[] = { "avro", "utf-8", "bytes", "json" };
	orbit_format f;

	ck_assert_ptr_null(orbit_format_name(ORBIT_FMT_NONE));
	for (size_t i = 0; i < 4; i++) {
		ck_assert_int_eq(orbit_format_parse(NAMES[i], &f), 0);
		ck_assert_str_eq(orbit_format_name(f), NAMES[i]);
	}
	ck_assert_int_eq(orbit_format_parse("utf8", &f), -EINVAL);
	ck_assert_int_eq(orbit_format_parse(NULL, &f), -EINVAL);
	ck_assert_ptr_null(orbit_format_name((orbit_format)17));
}
END_TEST

/* --- canonical form and equality ------------------------------------------------ */

START_TEST(test_canonical)
{
	char *c = orbit_schema_canonical(orbit_kind_schema(ORBIT_KIND_STRING, ORBIT_FLAVOUR_PY312));

	ck_assert_str_eq(c, "{\"fields\":[{\"name\":\"value\",\"type\":\"string\"}],"
			    "\"name\":\"StringMessage\",\"type\":\"record\"}");
	free(c);
	/* "doc" goes at every depth; bare primitive schemas are JSON too. */
	c = orbit_schema_canonical("{\"type\": \"record\", \"doc\": \"x\", \"fields\": "
				   "[{\"name\": \"a\", \"doc\": \"y\", \"type\": {\"type\": \"array\", "
				   "\"doc\": 1, \"items\": \"long\"}}], \"name\": \"R\"}");
	ck_assert_str_eq(c, "{\"fields\":[{\"name\":\"a\",\"type\":{\"items\":\"long\","
			    "\"type\":\"array\"}}],\"name\":\"R\",\"type\":\"record\"}");
	free(c);
	c = orbit_schema_canonical(" \"string\" ");
	ck_assert_str_eq(c, "\"string\"");
	free(c);
	errno = 0;
	ck_assert_ptr_null(orbit_schema_canonical("{not json"));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(orbit_schema_canonical(NULL));
}
END_TEST

START_TEST(test_flavours_equal)
{
	for (size_t i = 0; i < N_VALUE_KINDS; i++) {
		const char *a = orbit_kind_schema(VALUE_KINDS[i], ORBIT_FLAVOUR_PY312);
		const char *b = orbit_kind_schema(VALUE_KINDS[i], ORBIT_FLAVOUR_PY313);

		ck_assert_str_ne(a, b);
		ck_assert(orbit_schema_equal(a, b));
		for (size_t j = 0; j < N_VALUE_KINDS; j++)
			if (j != i)
				ck_assert(!orbit_schema_equal(
					a, orbit_kind_schema(VALUE_KINDS[j], ORBIT_FLAVOUR_PY313)));
	}
}
END_TEST

START_TEST(test_whitespace_and_key_order)
{
	const char *py = orbit_kind_schema(ORBIT_KIND_STRING, ORBIT_FLAVOUR_PY312);
	const char *compact = "{\"name\":\"StringMessage\",\"fields\":[{\"type\":\"string\","
			      "\"name\":\"value\"}],\"type\":\"record\"}";
	const char *spaced = "{\n  \"fields\" : [ { \"name\" : \"value\" , \"type\" : \"string\" } ],"
			     "\n  \"type\" : \"record\", \"name\" : \"StringMessage\",\n"
			     "  \"doc\": \"something else entirely\"\n}";
	const char *other = "{\"name\":\"StringMessage\",\"fields\":[{\"type\":\"bytes\","
			    "\"name\":\"value\"}],\"type\":\"record\"}";

	ck_assert(orbit_schema_equal(py, compact));
	ck_assert(orbit_schema_equal(compact, spaced));
	ck_assert(!orbit_schema_equal(py, other));
	/* Not JSON: compared raw. */
	ck_assert(orbit_schema_equal("not json", "not json"));
	ck_assert(!orbit_schema_equal("not json", "not  json"));
	ck_assert(!orbit_schema_equal(py, NULL));
}
END_TEST

/* --- specs -------------------------------------------------------------------------- */

START_TEST(test_spec_kinds)
{
	orbit_spec s;

	ck_assert_int_eq(orbit_spec_init_kind(&s, ORBIT_KIND_NONE), 0);
	ck_assert(!orbit_spec_has(&s));
	orbit_spec_clear(&s);
	ck_assert_int_eq(orbit_spec_init_kind(&s, ORBIT_KIND_EMPTY), 0);
	ck_assert(orbit_spec_has(&s) && s.support_empty && s.n_schemas == 0);
	orbit_spec_clear(&s);
	ck_assert_int_eq(orbit_spec_init_kind(&s, ORBIT_KIND_FLOAT32), 0);
	ck_assert_uint_eq(s.n_schemas, 1);
	ck_assert_str_eq(s.schemas[0], orbit_kind_schema(ORBIT_KIND_FLOAT32, ORBIT_FLAVOUR_PY312));
	ck_assert_ptr_nonnull(s.canon[0]);
	ck_assert(!s.support_empty && !s.support_undefined);
	orbit_spec_clear(&s);
	orbit_spec_clear(&s);
	orbit_spec_clear(NULL);
	ck_assert_int_eq(orbit_spec_init_kind(&s, (orbit_kind)99), -EINVAL);
}
END_TEST

START_TEST(test_312_vs_313_compatible)
{
	orbit_spec a, b, c;

	ck_assert_int_eq(orbit_spec_init_schema(&a, orbit_kind_schema(ORBIT_KIND_STRING,
								      ORBIT_FLAVOUR_PY312)), 0);
	ck_assert_int_eq(orbit_spec_init_schema(&b, orbit_kind_schema(ORBIT_KIND_STRING,
								      ORBIT_FLAVOUR_PY313)), 0);
	ck_assert_int_eq(orbit_spec_init_kind(&c, ORBIT_KIND_INT64), 0);
	ck_assert(orbit_spec_compatible(&a, &b));
	ck_assert(orbit_spec_compatible(&b, &a));
	ck_assert(!orbit_spec_compatible(&a, &c));
	ck_assert(!orbit_spec_compatible(&a, NULL));
	orbit_spec_clear(&a);
	orbit_spec_clear(&b);
	orbit_spec_clear(&c);
}
END_TEST

START_TEST(test_empty_vs_schema_plus_empty)
{
	const char *s = orbit_kind_schema(ORBIT_KIND_STRING, ORBIT_FLAVOUR_PY312);
	orbit_spec empty, both, plain;

	ck_assert_int_eq(orbit_spec_init_kind(&empty, ORBIT_KIND_EMPTY), 0);
	ck_assert_int_eq(orbit_spec_init(&both, &s, 1, true, false), 0);
	ck_assert_int_eq(orbit_spec_init_schema(&plain, s), 0);
	ck_assert(!orbit_spec_compatible(&empty, &both));
	ck_assert(!orbit_spec_compatible(&both, &empty));
	ck_assert(!orbit_spec_compatible(&plain, &both));
	ck_assert(orbit_spec_compatible(&both, &both));
	ck_assert(orbit_spec_compatible(&empty, &empty));
	orbit_spec_clear(&empty);
	orbit_spec_clear(&both);
	orbit_spec_clear(&plain);
}
END_TEST

START_TEST(test_no_input_matches_only_no_input)
{
	orbit_spec none, none2, empty, str, undefined;

	ck_assert_int_eq(orbit_spec_init_kind(&none, ORBIT_KIND_NONE), 0);
	ck_assert_int_eq(orbit_spec_init(&none2, NULL, 0, false, false), 0);
	ck_assert_int_eq(orbit_spec_init_kind(&empty, ORBIT_KIND_EMPTY), 0);
	ck_assert_int_eq(orbit_spec_init_kind(&str, ORBIT_KIND_STRING), 0);
	ck_assert_int_eq(orbit_spec_init(&undefined, NULL, 0, false, true), 0);
	ck_assert(orbit_spec_compatible(&none, &none2));
	ck_assert(!orbit_spec_compatible(&none, &empty));
	ck_assert(!orbit_spec_compatible(&none, &str));
	ck_assert(!orbit_spec_compatible(&none, &undefined));
	ck_assert(!orbit_spec_compatible(&undefined, &str)); /* not a wildcard */
	ck_assert(!orbit_spec_compatible(&empty, &none));
	orbit_spec_clear(&none);
	orbit_spec_clear(&none2);
	orbit_spec_clear(&empty);
	orbit_spec_clear(&str);
	orbit_spec_clear(&undefined);
}
END_TEST

START_TEST(test_set_equality)
{
	const char *x = "{\"type\": \"record\", \"name\": \"X\", \"fields\": []}";
	const char *x2 = "{\"fields\": [], \"name\": \"X\", \"type\": \"record\", \"doc\": \"d\"}";
	const char *y = "\"long\"";
	const char *xy[] = { x, y }, *yx[] = { y, x2 }, *xx[] = { x, x2 }, *bad[] = { x, NULL };
	orbit_spec a, b, c;

	ck_assert_int_eq(orbit_spec_init(&a, xy, 2, false, false), 0);
	ck_assert_int_eq(orbit_spec_init(&b, yx, 2, false, false), 0);
	ck_assert_int_eq(orbit_spec_init(&c, xx, 2, false, false), 0);
	ck_assert(orbit_spec_compatible(&a, &b));
	/* Python's one-way check would call [x, x] compatible with [x, y]. */
	ck_assert(!orbit_spec_compatible(&c, &a));
	ck_assert(!orbit_spec_compatible(&a, &c));
	orbit_spec_clear(&a);
	orbit_spec_clear(&b);
	orbit_spec_clear(&c);
	ck_assert_int_eq(orbit_spec_init(&a, bad, 2, false, false), -EINVAL);
	ck_assert_ptr_null(a.schemas);
	ck_assert_int_eq(orbit_spec_init(&a, NULL, 1, false, false), -EINVAL);
}
END_TEST

START_TEST(test_copy)
{
	const char *list[] = { "not json", "\"int\"" };
	orbit_spec a, b, none, none_copy;

	ck_assert_int_eq(orbit_spec_init(&a, list, 2, true, false), 0);
	ck_assert_ptr_null(a.canon[0]);
	ck_assert_ptr_nonnull(a.canon[1]);
	ck_assert_int_eq(orbit_spec_copy(&b, &a), 0);
	ck_assert_uint_eq(b.n_schemas, 2);
	ck_assert_ptr_ne(b.schemas[0], a.schemas[0]);
	ck_assert_str_eq(b.schemas[0], "not json");
	ck_assert_ptr_null(b.canon[0]);
	ck_assert_str_eq(b.canon[1], a.canon[1]);
	ck_assert(b.support_empty && !b.support_undefined);
	ck_assert(orbit_spec_compatible(&a, &b));
	orbit_spec_clear(&a);
	orbit_spec_clear(&b);

	ck_assert_int_eq(orbit_spec_init_kind(&none, ORBIT_KIND_NONE), 0);
	ck_assert_int_eq(orbit_spec_copy(&none_copy, &none), 0);
	ck_assert(orbit_spec_compatible(&none, &none_copy));
	orbit_spec_clear(&none);
	orbit_spec_clear(&none_copy);
}
END_TEST

START_TEST(test_accepts)
{
	const char *s313 = orbit_kind_schema(ORBIT_KIND_STRING, ORBIT_FLAVOUR_PY313);
	orbit_spec str, empty, undefined, none;

	ck_assert_int_eq(orbit_spec_init_kind(&str, ORBIT_KIND_STRING), 0);
	ck_assert_int_eq(orbit_spec_init_kind(&empty, ORBIT_KIND_EMPTY), 0);
	ck_assert_int_eq(orbit_spec_init(&undefined, NULL, 0, false, true), 0);
	ck_assert_int_eq(orbit_spec_init_kind(&none, ORBIT_KIND_NONE), 0);

	ck_assert(orbit_spec_accepts(&str, str.schemas[0]));
	ck_assert(orbit_spec_accepts(&str, s313));
	ck_assert(!orbit_spec_accepts(&str, orbit_kind_schema(ORBIT_KIND_INT64, ORBIT_FLAVOUR_PY312)));
	ck_assert(!orbit_spec_accepts(&str, "garbage"));
	ck_assert(!orbit_spec_accepts(&str, NULL));
	ck_assert(orbit_spec_accepts(&empty, NULL));
	ck_assert(!orbit_spec_accepts(&empty, s313));
	ck_assert(orbit_spec_accepts(&undefined, s313));
	ck_assert(orbit_spec_accepts(&undefined, NULL));
	ck_assert(!orbit_spec_accepts(&none, NULL));
	ck_assert(!orbit_spec_accepts(&none, s313));
	orbit_spec_clear(&str);
	orbit_spec_clear(&empty);
	orbit_spec_clear(&undefined);
	orbit_spec_clear(&none);
}
END_TEST

static Suite *spec_suite(void)
{
	Suite *s = suite_create("spec");
	TCase *tc = tcase_create("names");

	tcase_add_test(tc, test_builtin_strings_exact);
	tcase_add_test(tc, test_kind_names);
	tcase_add_test(tc, test_format_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("schemas");
	tcase_add_test(tc, test_canonical);
	tcase_add_test(tc, test_flavours_equal);
	tcase_add_test(tc, test_whitespace_and_key_order);
	suite_add_tcase(s, tc);

	tc = tcase_create("specs");
	tcase_add_test(tc, test_spec_kinds);
	tcase_add_test(tc, test_312_vs_313_compatible);
	tcase_add_test(tc, test_empty_vs_schema_plus_empty);
	tcase_add_test(tc, test_no_input_matches_only_no_input);
	tcase_add_test(tc, test_set_equality);
	tcase_add_test(tc, test_copy);
	tcase_add_test(tc, test_accepts);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(spec_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
