/* test_uuid.c — UUID4 text form, uniqueness, and a forked child drawing
 * different identifiers from its parent (the random pool is per process). */
#include "uuid.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

START_TEST(form_and_uniqueness)
{
	enum { N = 10000 };
	char(*v)[ORBIT_UUID_STRLEN + 1] = calloc(N, sizeof *v);
	ck_assert_ptr_nonnull(v);
	for (int i = 0; i < N; i++) {
		orbit_uuid4(v[i]);
		ck_assert_uint_eq(strlen(v[i]), 36);
		for (int k = 0; k < 36; k++) {
			char ch = v[i][k];
			if (k == 8 || k == 13 || k == 18 || k == 23)
				ck_assert_int_eq(ch, '-');
			else
				ck_assert(strchr("0123456789abcdef", ch));
		}
		ck_assert_int_eq(v[i][14], '4');
		ck_assert(strchr("89ab", v[i][19]));
	}
	qsort(v, N, sizeof *v, cmp);
	for (int i = 1; i < N; i++)
		ck_assert_str_ne(v[i - 1], v[i]);
	free(v);
}
END_TEST

START_TEST(forked_child_draws_its_own)
{
	char first[ORBIT_UUID_STRLEN + 1];
	orbit_uuid4(first); /* fills the parent's pool */
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char u[ORBIT_UUID_STRLEN + 1];
		orbit_uuid4(u);
		_exit(write(p[1], u, sizeof u) == sizeof u ? 0 : 1);
	}
	char child[ORBIT_UUID_STRLEN + 1], mine[ORBIT_UUID_STRLEN + 1];
	ck_assert_int_eq(read(p[0], child, sizeof child), (ssize_t)sizeof child);
	int st;
	waitpid(pid, &st, 0);
	orbit_uuid4(mine);
	ck_assert_str_ne(child, mine);
	close(p[0]);
	close(p[1]);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("uuid");
	TCase *tc = tcase_create("uuid4");
	tcase_add_test(tc, form_and_uniqueness);
	tcase_add_test(tc, forked_child_draws_its_own);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
