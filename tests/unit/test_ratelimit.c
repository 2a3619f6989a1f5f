/* test_ratelimit.c — orbitd/ratelimit.c on an injected clock: the first
 * event is reported at once, the rest of its interval only counted, the
 * next line carries the count, and a flush reports a burst's tail once due.
 */
#include "ratelimit.h"

#include <check.h>
#include <stdlib.h>

START_TEST(first_at_once_then_counted_then_reported)
{
	struct ratelimit rl = RATELIMIT_INIT(1.0);
	uint64_t n = 0;

	ck_assert(ratelimit_hit(&rl, 100.0, &n));
	ck_assert_uint_eq(n, 1);
	for (int i = 0; i < 999; i++)
		ck_assert(!ratelimit_hit(&rl, 100.0 + i * 0.001, &n));
	ck_assert(!ratelimit_flush(&rl, 100.5, &n));
	/* A second after the last line: this one and the 999 before it. */
	ck_assert(ratelimit_hit(&rl, 101.0, &n));
	ck_assert_uint_eq(n, 1000);
	ck_assert(!ratelimit_hit(&rl, 101.2, &n));
	ck_assert(!ratelimit_hit(&rl, 101.3, &n));
	/* Nothing more comes: the flush reports the tail once due. */
	ck_assert(!ratelimit_flush(&rl, 101.9, &n));
	ck_assert(ratelimit_flush(&rl, 102.0, &n));
	ck_assert_uint_eq(n, 2);
	ck_assert(!ratelimit_flush(&rl, 200.0, &n));
	/* Quiet long enough: the next event goes out alone. */
	ck_assert(ratelimit_hit(&rl, 300.0, &n));
	ck_assert_uint_eq(n, 1);
}
END_TEST

START_TEST(clock_is_monotonic_seconds)
{
	double a = ratelimit_now(), b = ratelimit_now();
	ck_assert(a > 0 && b >= a);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *tc = tcase_create("ratelimit");
	tcase_add_test(tc, first_at_once_then_counted_then_reported);
	tcase_add_test(tc, clock_is_monotonic_seconds);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
