/* test_deadlist.c — the core's list of dead remote plugins (deadlist):
 * bounded with the oldest deaths pushed out and counted; a remote that
 * returns leaves it; a remote dying again moves to the newest end; many
 * remotes dying and coming back, round after round, never grow it. */
#include "deadlist.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

static void assert_ids(const struct deadlist *l, const char *const *ids, size_t n)
{
	ck_assert_uint_eq(deadlist_len(l), n);
	for (size_t i = 0; i < n; i++)
		ck_assert_str_eq(deadlist_id(l, i), ids[i]);
}

START_TEST(bounded_oldest_out)
{
	struct deadlist *l = deadlist_new(3);
	ck_assert_ptr_nonnull(l);
	const char *ids[] = {"a", "b", "c", "d", "e"};
	for (size_t i = 0; i < 5; i++)
		ck_assert_int_eq(deadlist_add(l, ids[i], (double)i), 0);
	assert_ids(l, ids + 2, 3);
	ck_assert_uint_eq(deadlist_evicted(l), 2);
	ck_assert(deadlist_when(l, 0) == 2.0);
	/* A smaller bound drops the oldest at once. */
	deadlist_set_max(l, 1);
	assert_ids(l, ids + 4, 1);
	ck_assert_uint_eq(deadlist_evicted(l), 4);
	deadlist_free(l);
}
END_TEST

START_TEST(returning_remote_leaves)
{
	struct deadlist *l = deadlist_new(4);
	deadlist_add(l, "a", 1);
	deadlist_add(l, "b", 2);
	deadlist_add(l, "c", 3);
	ck_assert_int_eq(deadlist_del(l, "b"), 1);
	ck_assert_int_eq(deadlist_del(l, "b"), 0);
	const char *ac[] = {"a", "c"};
	assert_ids(l, ac, 2);
	/* Dying again: newest, with the new time, listed once. */
	deadlist_add(l, "a", 9);
	const char *ca[] = {"c", "a"};
	assert_ids(l, ca, 2);
	ck_assert(deadlist_when(l, 1) == 9.0);
	ck_assert_uint_eq(deadlist_evicted(l), 0);
	deadlist_free(l);
}
END_TEST

START_TEST(many_die_and_return_stays_bounded)
{
	struct deadlist *l = deadlist_new(DEADLIST_DEFAULT_MAX);
	char id[32];
	size_t peak = 0;
	/* 1000 rounds of 100 remotes dying; every other one returns. */
	for (int round = 0; round < 1000; round++) {
		for (int i = 0; i < 100; i++) {
			snprintf(id, sizeof id, "r%d-%d", round % 7, i);
			ck_assert_int_eq(deadlist_add(l, id, round), 0);
			if (deadlist_len(l) > peak)
				peak = deadlist_len(l);
		}
		for (int i = 0; i < 100; i += 2) {
			snprintf(id, sizeof id, "r%d-%d", round % 7, i);
			deadlist_del(l, id);
		}
	}
	ck_assert_uint_eq(peak, DEADLIST_DEFAULT_MAX);
	ck_assert_uint_le(deadlist_len(l), DEADLIST_DEFAULT_MAX);
	deadlist_free(l);
}
END_TEST

START_TEST(zero_remembers_none)
{
	struct deadlist *l = deadlist_new(0);
	ck_assert_int_eq(deadlist_add(l, "a", 1), 0);
	ck_assert_uint_eq(deadlist_len(l), 0);
	ck_assert_uint_eq(deadlist_evicted(l), 1);
	deadlist_free(l);
	deadlist_free(NULL);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("deadlist");
	TCase *tc = tcase_create("deadlist");
	tcase_add_test(tc, bounded_oldest_out);
	tcase_add_test(tc, returning_remote_leaves);
	tcase_add_test(tc, many_die_and_return_stays_bounded);
	tcase_add_test(tc, zero_remembers_none);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
