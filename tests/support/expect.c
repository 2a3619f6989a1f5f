/* expect.c — see expect.h. */
#include "expect.h"

#include <check.h>
#include <poll.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

void test_expect_line(struct test_proc *p, const char *needle, double timeout_s)
{
	char *l = test_proc_wait_line(p, needle, timeout_s);
	ck_assert_msg(l != NULL, "no line containing \"%s\"", needle);
	free(l);
}

void test_stop_clean(struct test_proc *p, double timeout_s)
{
	ck_assert_int_eq(test_proc_signal(p, SIGTERM), 0);
	int st = test_proc_wait_exit(p, timeout_s);
	ck_assert_msg(st != -1, "no exit on SIGTERM");
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit status 0x%x:\n%s", st,
		      test_proc_output(p));
	test_proc_free(p);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *slurp(const char *path, size_t *lines)
{
	FILE *f = fopen(path, "r");
	*lines = 0;
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	for (int c; (c = fgetc(f)) != EOF;) {
		fputc(c, m);
		*lines += c == '\n';
	}
	fclose(m);
	fclose(f);
	return buf;
}

/* Wait until something in path's directory changes or end passes: a sink
 * appending to the file shows as IN_MODIFY, its creation as IN_CREATE. The
 * directory is watched (not the file) so a file that does not exist yet
 * can be waited for. */
static void wait_change(const char *path, double end)
{
	int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (fd < 0)
		return;
	char *dir = strdup(path);
	char *slash = dir ? strrchr(dir, '/') : NULL;
	if (slash)
		*slash = 0;
	if (dir && inotify_add_watch(fd, slash ? dir : ".",
				     IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE) >= 0) {
		/* A change between the caller's read and the watch is caught by
		 * a bounded wait: at most 100 ms, then the caller reads again. */
		double left = end - now();
		int ms = left <= 0 ? 0 : left > 0.1 ? 100 : (int)(left * 1000);
		struct pollfd pfd = {fd, POLLIN, 0};
		poll(&pfd, 1, ms);
	}
	free(dir);
	close(fd);
}

size_t test_file_lines_over(const char *path, size_t n, double timeout_s)
{
	double end = now() + timeout_s;
	for (;;) {
		size_t lines;
		free(slurp(path, &lines));
		if (lines > n || now() > end)
			return lines;
		wait_change(path, end);
	}
}

char *test_file_wait_lines(const char *path, size_t n, double timeout_s)
{
	double end = now() + timeout_s;
	for (;;) {
		size_t lines;
		char *buf = slurp(path, &lines);
		if (buf && lines >= n)
			return buf;
		free(buf);
		if (now() > end)
			return NULL;
		wait_change(path, end);
	}
}
