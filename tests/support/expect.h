/* expect.h — assertions over real processes shared by the integration tests:
 * a line that must appear, a clean SIGTERM exit, a file a sink appends to.
 * They fail the running check test (ck_assert) with the process's output. */
#ifndef TEST_EXPECT_H
#define TEST_EXPECT_H

#include "proc.h"

#include <stddef.h>

/* Wait up to timeout_s for a line containing needle (after p's cursor). */
void test_expect_line(struct test_proc *p, const char *needle, double timeout_s);

/* SIGTERM p, expect exit status 0 within timeout_s, free p. */
void test_stop_clean(struct test_proc *p, double timeout_s);

/* Wait up to timeout_s until the file at path has more than n lines; returns
 * the line count (<= n on timeout). Waits on inotify events of the file's
 * directory between reads. */
size_t test_file_lines_over(const char *path, size_t n, double timeout_s);

/* The file's content (malloc'd) once it has at least n lines, or NULL after
 * timeout_s. */
char *test_file_wait_lines(const char *path, size_t n, double timeout_s);

#endif
