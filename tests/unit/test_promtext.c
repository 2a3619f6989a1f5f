/* test_promtext.c — the exposition writer (orbitd/promtext.c): both
 * formats' family lines, label and help escaping, numbers, histograms,
 * and the choice of format from an Accept header. */
#include "promtext.h"

#include <check.h>
#include <event2/buffer.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* What w wrote, as a string (malloc'd). */
static char *text_of(struct evbuffer *b)
{
	size_t n = evbuffer_get_length(b);
	char *s = malloc(n + 1);
	ck_assert_ptr_nonnull(s);
	evbuffer_remove(b, s, n);
	s[n] = '\0';
	return s;
}

#define L(...) ((const char *const[]){__VA_ARGS__, NULL})

START_TEST(text_format)
{
	struct evbuffer *b = evbuffer_new();
	struct prom p;
	prom_init(&p, b, PROM_TEXT);
	prom_family(&p, "x_requests", PROM_COUNTER, "Help with a \\ and a\nnewline.");
	prom_sample(&p, L("path", "a\"b\\c\nd", "skipped", NULL, "k", "v"), 3);
	prom_family(&p, "x_build", PROM_INFO, "Info.");
	prom_sample(&p, NULL, 1);
	prom_family(&p, "x_ratio", PROM_GAUGE, "Numbers.");
	prom_sample(&p, L("n", "1"), 0.1);
	prom_sample(&p, L("n", "2"), 1e21);
	prom_sample(&p, L("n", "3"), INFINITY);
	prom_sample(&p, L("n", "4"), NAN);
	prom_end(&p);
	char *s = text_of(b);
	ck_assert_str_eq(s, "# HELP x_requests_total Help with a \\\\ and a\\nnewline.\n"
			    "# TYPE x_requests_total counter\n"
			    "x_requests_total{path=\"a\\\"b\\\\c\\nd\",k=\"v\"} 3\n"
			    "# HELP x_build_info Info.\n"
			    "# TYPE x_build_info gauge\n"
			    "x_build_info 1\n"
			    "# HELP x_ratio Numbers.\n"
			    "# TYPE x_ratio gauge\n"
			    "x_ratio{n=\"1\"} 0.1\n"
			    "x_ratio{n=\"2\"} 1e+21\n"
			    "x_ratio{n=\"3\"} +Inf\n"
			    "x_ratio{n=\"4\"} NaN\n");
	free(s);
	evbuffer_free(b);
}
END_TEST

START_TEST(openmetrics_and_histogram)
{
	struct evbuffer *b = evbuffer_new();
	struct prom p;
	static const double le[] = {0.001, 0.5};
	static const unsigned long long cum[] = {2, 5};
	prom_init(&p, b, PROM_OPENMETRICS);
	prom_family(&p, "x_requests", PROM_COUNTER, "Requests.");
	prom_sample(&p, NULL, 7);
	prom_family(&p, "x_build", PROM_INFO, "Info.");
	prom_sample(&p, L("version", "1"), 1);
	prom_family(&p, "x_latency_seconds", PROM_HISTOGRAM, "Latency.");
	prom_histogram(&p, L("op", "a"), le, cum, 2, 6, 1.25);
	prom_end(&p);
	char *s = text_of(b);
	ck_assert_str_eq(s, "# HELP x_requests Requests.\n"
			    "# TYPE x_requests counter\n"
			    "x_requests_total 7\n"
			    "# HELP x_build Info.\n"
			    "# TYPE x_build info\n"
			    "x_build_info{version=\"1\"} 1\n"
			    "# HELP x_latency_seconds Latency.\n"
			    "# TYPE x_latency_seconds histogram\n"
			    "x_latency_seconds_bucket{op=\"a\",le=\"0.001\"} 2\n"
			    "x_latency_seconds_bucket{op=\"a\",le=\"0.5\"} 5\n"
			    "x_latency_seconds_bucket{op=\"a\",le=\"+Inf\"} 6\n"
			    "x_latency_seconds_sum{op=\"a\"} 1.25\n"
			    "x_latency_seconds_count{op=\"a\"} 6\n"
			    "# EOF\n");
	free(s);
	evbuffer_free(b);
}
END_TEST

START_TEST(negotiation)
{
	/* What Prometheus 2.42 sends. */
	ck_assert_int_eq(prom_negotiate("application/openmetrics-text;version=1.0.0,"
					"application/openmetrics-text;version=0.0.1;q=0.75,"
					"text/plain;version=0.0.4;q=0.5,*/*;q=0.1"),
			 PROM_OPENMETRICS);
	ck_assert_int_eq(prom_negotiate("text/plain"), PROM_TEXT);
	ck_assert_int_eq(prom_negotiate(NULL), PROM_TEXT);
	ck_assert_ptr_nonnull(strstr(prom_content_type(PROM_TEXT), "version=0.0.4"));
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("promtext");
	TCase *tc = tcase_create("promtext");
	tcase_add_test(tc, text_format);
	tcase_add_test(tc, openmetrics_and_histogram);
	tcase_add_test(tc, negotiation);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
