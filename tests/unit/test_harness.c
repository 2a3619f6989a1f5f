/* test_harness.c — tests/support/daemon.c and tmpdir.c: line capture and
 * the read cursor, partial and long lines, timeouts and EOF, exit status,
 * no deadlock on large output, environment, descriptors, process group and
 * parent-death signal of children; test_run's capture, input and timeout;
 * temporary directories and their guardian.
 *
 * Negative waits dump the captured output to stderr by design; that noise
 * is expected here.
 */
#include "proc.h"
#include "tmpdir.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct test_proc *start_sh(const char *script, char *const env[])
{
	char *argv[] = { "/bin/sh", "-c", (char *)script, NULL };
	struct test_proc *p = test_proc_start("sh", argv, env);
	ck_assert_ptr_nonnull(p);
	return p;
}

static void assert_line(struct test_proc *p, const char *needle, const char *expect)
{
	char *line = test_proc_wait_line(p, needle, 10);
	ck_assert_ptr_nonnull(line);
	ck_assert_str_eq(line, expect);
	free(line);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	static char buf[4096];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

START_TEST(lines_cursor_and_signal)
{
	struct test_proc *p = start_sh("echo one; sleep 0.1; echo two >&2; exec sleep 30", NULL);
	assert_line(p, "two", "two");
	ck_assert_uint_eq(test_proc_count(p, "one"), 1);
	ck_assert_uint_eq(test_proc_count(p, "o"), 2);
	ck_assert_uint_eq(test_proc_count(p, "three"), 0);
	ck_assert_str_eq(test_proc_output(p), "one\ntwo\n");
	/* "one" came before the cursor: seen, but not waited for again. */
	ck_assert(test_proc_seen(p, "one", 0));
	ck_assert_ptr_null(test_proc_wait_line(p, "one", 0));
	ck_assert_int_eq(getpgid(test_proc_pid(p)), test_proc_pid(p));
	ck_assert_int_eq(test_proc_wait_exit(p, 0), -1);

	ck_assert_int_eq(test_proc_signal(p, SIGTERM), 0);
	int status = test_proc_wait_exit(p, 10);
	ck_assert(WIFSIGNALED(status));
	ck_assert_int_eq(WTERMSIG(status), SIGTERM);
	ck_assert_int_eq(test_proc_wait_exit(p, 0), status);
	/* Exited but not freed: still a valid target. */
	ck_assert_int_eq(test_proc_signal(p, SIGTERM), 0);
	test_proc_free(p);
	test_proc_free(NULL);
}
END_TEST

START_TEST(consecutive_lines_and_mark)
{
	struct test_proc *p = start_sh("echo a 1; echo b; echo a 2; echo a 3", NULL);
	ck_assert(WIFEXITED(test_proc_wait_exit(p, 10)));
	assert_line(p, "a", "a 1");
	assert_line(p, "a", "a 2");
	test_proc_mark(p);
	ck_assert_ptr_null(test_proc_wait_line(p, "a", 0));
	ck_assert_uint_eq(test_proc_count(p, "a "), 3);
	test_proc_free(p);
}
END_TEST

START_TEST(wait_line_times_out)
{
	struct test_proc *p = start_sh("echo started; exec sleep 30", NULL);
	double t0 = now_s();
	ck_assert_ptr_null(test_proc_wait_line(p, "never printed", 0.1));
	double took = now_s() - t0;
	ck_assert_double_ge(took, 0.1);
	ck_assert_double_lt(took, 1.5);
	ck_assert(!test_proc_seen(p, "never printed", 0));
	t0 = now_s();
	test_proc_free(p);
	ck_assert_double_lt(now_s() - t0, 2);
}
END_TEST

START_TEST(eof_ends_wait)
{
	struct test_proc *p = start_sh("echo bye", NULL);
	double t0 = now_s();
	ck_assert_ptr_null(test_proc_wait_line(p, "never printed", 20));
	ck_assert_double_lt(now_s() - t0, 10);
	int status = test_proc_wait_exit(p, 10);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	test_proc_free(p);
}
END_TEST

START_TEST(partial_and_long_lines)
{
	struct test_proc *p = start_sh("printf part; exec sleep 30", NULL);
	/* Once "part" is captured (no newline will follow), it is no line. */
	double end = now_s() + 10;
	while (strcmp(test_proc_output(p), "part") != 0 && now_s() < end)
		test_proc_wait_exit(p, 0.01);
	ck_assert_str_eq(test_proc_output(p), "part");
	ck_assert_ptr_null(test_proc_wait_line(p, "part", 0));
	ck_assert_uint_eq(test_proc_count(p, "part"), 0);
	test_proc_free(p);

	p = start_sh("printf abc; sleep 0.1; printf 'def\\nxyz'", NULL);
	assert_line(p, "abcdef", "abcdef");
	/* At EOF the unterminated last line counts. */
	assert_line(p, "xyz", "xyz");
	test_proc_free(p);

	p = start_sh("head -c 10000 /dev/zero | tr '\\0' x; echo END; echo next", NULL);
	char *line = test_proc_wait_line(p, "END", 10);
	ck_assert_ptr_nonnull(line);
	ck_assert_uint_eq(strlen(line), 10003);
	ck_assert_uint_eq(strspn(line, "x"), 10000);
	free(line);
	assert_line(p, "next", "next");
	test_proc_free(p);
}
END_TEST

START_TEST(large_output_no_deadlock)
{
	struct test_proc *p =
		start_sh("head -c 1048576 /dev/zero | tr '\\0' y; echo; seq 1 100000; echo done", NULL);
	int status = test_proc_wait_exit(p, 30);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert_uint_eq(test_proc_count(p, "done"), 1);
	ck_assert_uint_eq(test_proc_count(p, "yyyy"), 1);
	assert_line(p, "99999", "99999");
	assert_line(p, "done", "done");
	/* 1 MiB + "\n" + 100000 numbers with newlines (588895 bytes) + "done\n" */
	ck_assert_uint_eq(strlen(test_proc_output(p)), 1048576 + 1 + 588895 + 5);
	test_proc_free(p);
}
END_TEST

START_TEST(environment)
{
	setenv("HOME", "/nonexistent-home", 1);
	setenv("ORBIT_HARNESS_KEEP", "kept", 1);
	char *env[] = { "ORBIT_HARNESS_X=41", "HOME", "ORBIT_HARNESS_X=42", NULL };
	struct test_proc *p =
		start_sh("echo \"x=$ORBIT_HARNESS_X home=${HOME-unset} keep=$ORBIT_HARNESS_KEEP\"", env);
	assert_line(p, "x=", "x=42 home=unset keep=kept");
	test_proc_free(p);
}
END_TEST

START_TEST(descriptors_closed)
{
	int leak = dup(STDERR_FILENO); /* not close-on-exec */
	ck_assert_int_ge(leak, 3);
	/* The shell's own descriptors, listed by a child of it (looking from
	 * outside could catch the dynamic loader's transient ones). */
	struct test_proc *p = start_sh("ls /proc/$$/fd; readlink /proc/$$/fd/0", NULL);
	ck_assert(WIFEXITED(test_proc_wait_exit(p, 10)));
	ck_assert_str_eq(test_proc_output(p), "0\n1\n2\n/dev/null\n");
	test_proc_free(p);
	close(leak);
}
END_TEST

/* A child whose starter dies without test_proc_free is killed. */
START_TEST(dies_with_parent)
{
	int pid_pipe[2], go_pipe[2];
	ck_assert_int_eq(pipe(pid_pipe), 0);
	ck_assert_int_eq(pipe(go_pipe), 0);
	pid_t mid = fork();
	ck_assert_int_ge(mid, 0);
	if (mid == 0) {
		close(go_pipe[1]);
		char *argv[] = { "/bin/sleep", "30", NULL };
		struct test_proc *p = test_proc_start("orphan", argv, NULL);
		pid_t pid = p ? test_proc_pid(p) : -1;
		char c;
		if (write(pid_pipe[1], &pid, sizeof(pid)) != sizeof(pid) || read(go_pipe[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(pid_pipe[1]);
	close(go_pipe[0]);
	pid_t pid;
	ck_assert_int_eq(read(pid_pipe[0], &pid, sizeof(pid)), sizeof(pid));
	ck_assert_int_gt(pid, 0);
	int pfd = pidfd_open(pid, 0);
	ck_assert_int_ge(pfd, 0);
	close(go_pipe[1]);
	ck_assert_int_eq(waitpid(mid, NULL, 0), mid);
	struct pollfd fds = { .fd = pfd, .events = POLLIN };
	ck_assert_int_eq(poll(&fds, 1, 10000), 1);
	close(pfd);
	close(pid_pipe[0]);
}
END_TEST

START_TEST(start_failure)
{
	char *argv[] = { "/nonexistent/orbitd", NULL };
	errno = 0;
	ck_assert_ptr_null(test_proc_start("missing", argv, NULL));
	ck_assert_int_eq(errno, ENOENT);
	char *out = (char *)"x", *err = (char *)"x";
	ck_assert_int_eq(test_run(argv, NULL, NULL, 5, &out, &err), -1);
	ck_assert_ptr_null(out);
	ck_assert_ptr_null(err);
}
END_TEST

START_TEST(run_captures)
{
	char *argv[] = { "/bin/sh", "-c", "echo out; echo \"err $ORBIT_HARNESS_Y\" >&2; exit 3", NULL };
	char *env[] = { "ORBIT_HARNESS_Y=why", NULL };
	char *out, *err;
	int status = test_run(argv, env, NULL, 10, &out, &err);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 3);
	ck_assert_str_eq(out, "out\n");
	ck_assert_str_eq(err, "err why\n");
	free(out);
	free(err);
	ck_assert_int_eq(test_run(argv, NULL, NULL, 10, NULL, NULL), status);
}
END_TEST

START_TEST(run_input)
{
	char *cat[] = { "/bin/cat", NULL };
	char *out, *err;
	int status = test_run(cat, NULL, "hello\nworld", 10, &out, &err);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_str_eq(out, "hello\nworld");
	ck_assert_str_eq(err, "");
	free(out);
	free(err);

	/* More than a pipe holds, in both directions at once. */
	size_t big = 1 << 20;
	char *in = malloc(big + 1);
	ck_assert_ptr_nonnull(in);
	for (size_t i = 0; i < big; i++)
		in[i] = (char)('a' + i % 26);
	in[big] = '\0';
	status = test_run(cat, NULL, in, 30, &out, NULL);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_uint_eq(strlen(out), big);
	ck_assert(!memcmp(out, in, big));
	free(out);

	/* A command that reads nothing must not kill us with SIGPIPE. */
	char *sh[] = { "/bin/sh", "-c", "exit 0", NULL };
	status = test_run(sh, NULL, in, 30, NULL, NULL);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	free(in);
}
END_TEST

START_TEST(run_timeout)
{
	char *argv[] = { "/bin/sh", "-c", "echo partial; exec sleep 30", NULL };
	char *out, *err;
	double t0 = now_s();
	ck_assert_int_eq(test_run(argv, NULL, NULL, 0.3, &out, &err), -1);
	double took = now_s() - t0;
	ck_assert_double_ge(took, 0.3);
	ck_assert_double_lt(took, 2);
	ck_assert_str_eq(out, "partial\n");
	ck_assert_str_eq(err, "");
	free(out);
	free(err);
}
END_TEST

START_TEST(tmpdir_lifecycle)
{
	char *dir = test_tmpdir_new("harness");
	ck_assert_ptr_nonnull(dir);
	ck_assert_ptr_nonnull(strstr(dir, "/orbit-harness-"));
	struct stat st;
	ck_assert_int_eq(stat(dir, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));

	ck_assert_int_eq(test_tmpdir_write(dir, "a.conf", "alpha\n"), 0);
	ck_assert_int_eq(test_tmpdir_write(dir, "sub/deeper/b.conf", "beta\n"), 0);
	ck_assert_int_eq(test_tmpdir_write(dir, "empty", NULL), 0);
	char *a = test_tmpdir_path(dir, "a.conf");
	char *b = test_tmpdir_path(dir, "sub/deeper/b.conf");
	char *c = test_tmpdir_path(dir, "c.conf");
	char *ctmp = test_tmpdir_path(dir, "c.conf.tmp");
	ck_assert_str_eq(read_file(a), "alpha\n");
	ck_assert_str_eq(read_file(b), "beta\n");
	ck_assert_int_eq(test_tmpdir_write(dir, "a.conf", "alpha 2\n"), 0);
	ck_assert_str_eq(read_file(a), "alpha 2\n");

	ck_assert_int_eq(test_copy_file(a, c, 0600), 0);
	ck_assert_str_eq(read_file(c), "alpha 2\n");
	ck_assert_int_eq(stat(c, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(test_copy_file(b, c, 0640), 0);
	ck_assert_str_eq(read_file(c), "beta\n");
	ck_assert_int_eq(stat(c, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0640);
	ck_assert_int_eq(stat(ctmp, &st), -1);
	ck_assert_int_eq(test_copy_file("/nonexistent/file", c, 0600), -ENOENT);
	ck_assert_str_eq(read_file(c), "beta\n");

	/* Whatever permissions a test left behind. */
	char *sub = test_tmpdir_path(dir, "sub");
	char *deeper = test_tmpdir_path(dir, "sub/deeper");
	char *link = test_tmpdir_path(dir, "root-link");
	ck_assert_int_eq(symlink("/", link), 0);
	ck_assert_int_eq(chmod(deeper, 0), 0);
	ck_assert_int_eq(chmod(sub, 0500), 0);

	test_tmpdir_free(dir);
	ck_assert_int_eq(stat(a, &st), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(stat("/", &st), 0);
	free(a);
	free(b);
	free(c);
	free(ctmp);
	free(sub);
	free(deeper);
	free(link);
	test_tmpdir_free(NULL);
}
END_TEST

/* A process that dies without test_tmpdir_free leaves nothing behind. */
START_TEST(tmpdir_guardian)
{
	int path_pipe[2], go_pipe[2];
	ck_assert_int_eq(pipe(path_pipe), 0);
	ck_assert_int_eq(pipe(go_pipe), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(go_pipe[1]);
		char *dir = test_tmpdir_new("guarded");
		char *kept = test_tmpdir_new("kept");
		char c;
		if (!dir || !kept || test_tmpdir_write(dir, "x/y.conf", "z") < 0)
			_exit(1);
		test_tmpdir_free(kept);
		size_t n = strlen(dir) + 1;
		if (write(path_pipe[1], dir, n) != (ssize_t)n || read(go_pipe[0], &c, 1) < 0)
			_exit(1);
		_exit(0); /* as a failed check test does */
	}
	close(path_pipe[1]);
	close(go_pipe[0]);
	char dir[PATH_MAX];
	ssize_t n = read(path_pipe[0], dir, sizeof(dir));
	ck_assert_int_gt(n, 1);
	ck_assert_int_eq(dir[n - 1], '\0');
	int ino = inotify_init1(IN_CLOEXEC);
	ck_assert_int_ge(ino, 0);
	ck_assert_int_ge(inotify_add_watch(ino, dir, IN_DELETE_SELF), 0);
	close(go_pipe[1]);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	struct pollfd fds = { .fd = ino, .events = POLLIN };
	ck_assert_int_eq(poll(&fds, 1, 10000), 1);
	struct stat st;
	ck_assert_int_eq(stat(dir, &st), -1);
	ck_assert_int_eq(errno, ENOENT);
	close(ino);
	close(path_pipe[0]);
}
END_TEST

static Suite *harness_suite(void)
{
	Suite *s = suite_create("harness");
	TCase *tc = tcase_create("proc");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, lines_cursor_and_signal);
	tcase_add_test(tc, consecutive_lines_and_mark);
	tcase_add_test(tc, wait_line_times_out);
	tcase_add_test(tc, eof_ends_wait);
	tcase_add_test(tc, partial_and_long_lines);
	tcase_add_test(tc, large_output_no_deadlock);
	tcase_add_test(tc, environment);
	tcase_add_test(tc, descriptors_closed);
	tcase_add_test(tc, dies_with_parent);
	tcase_add_test(tc, start_failure);
	suite_add_tcase(s, tc);

	tc = tcase_create("run");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, run_captures);
	tcase_add_test(tc, run_input);
	tcase_add_test(tc, run_timeout);
	suite_add_tcase(s, tc);

	tc = tcase_create("tmpdir");
	tcase_add_test(tc, tmpdir_lifecycle);
	tcase_add_test(tc, tmpdir_guardian);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(harness_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
