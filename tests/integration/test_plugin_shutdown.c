/* test_plugin_shutdown.c — the host API at a plugin's end, through a real
 * orbitd and the shutpost/shutpeer test plugins: once orbitd releases a
 * plugin (SIGTERM, removal of its file, upgrade), api->post() returns
 * -ESHUTDOWN, from the shutdown hook and from the plugin's own thread (also
 * after the host is gone), timer_add()/watch() give NULL with errno
 * ESHUTDOWN, timers and watches left over never fire, and a post accepted
 * just before release is dropped, never run. Under SANITIZE=1 the daemon
 * path is also checked for use-after-free: an ASan report makes orbitd exit
 * non-zero, which test_stop_clean / the exit checks catch.
 *
 * "Never ran" is asserted once the daemon has exited cleanly: orbitd runs
 * whatever is still queued on its loop before it exits, so a post that had
 * not been dropped would have run (and logged) by then.
 *
 * These are the in-process host's promises (isolation: none; shutpeer also
 * calls into shutpost's object, which needs one address space); an isolated
 * plugin's process keeps the same ones inside it and is covered by
 * test_isolation. */
#include "expect.h"
#include "fixture.h"
#include "proc.h"
#include "tmpdir.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define WAIT 15.0

#define FAST_TIMERS                                                                         \
	"timers: {loop_interval: 0.1, discovering_interval: 0.1, shutdown_timeout: 3}\n"

static char eshut[16];    /* "-108" on Linux */
static char eshut_no[32]; /* "errno 108" */

static void setup(void)
{
	fx_setup_tagged("plugshut");
	snprintf(eshut, sizeof eshut, "%d", -ESHUTDOWN);
	snprintf(eshut_no, sizeof eshut_no, "errno %d", ESHUTDOWN);
}

/* check's messages are bounded: the output (an ASan report can be long)
 * goes to stderr, which the suite's log keeps. */
static void dump(struct test_proc *p)
{
	fprintf(stderr, "---- orbitd output\n%s---- end of orbitd output\n", test_proc_output(p));
}

static void expect_never(struct test_proc *p, const char *needle)
{
	if (test_proc_seen(p, needle, 0))
		dump(p);
	ck_assert_msg(!test_proc_seen(p, needle, 0), "\"%s\" should never appear", needle);
}

static void expect_count(struct test_proc *p, const char *needle, size_t n)
{
	size_t got = test_proc_count(p, needle);
	if (got != n)
		dump(p);
	ck_assert_msg(got == n, "%zu x \"%s\", want %zu", got, needle, n);
}

/* What every released shutpost instance must have logged, and what none may
 * have: checked on the whole output after orbitd exited. */
static void expect_shutdown_semantics(struct test_proc *p, size_t instances)
{
	char needle[128];
	snprintf(needle, sizeof needle, "plugin shutpost: shutdown: post -> %s", eshut);
	expect_count(p, needle, instances);
	snprintf(needle, sizeof needle, "plugin shutpost: shutdown: timer_add -> NULL %s", eshut_no);
	expect_count(p, needle, instances);
	snprintf(needle, sizeof needle, "plugin shutpost: shutdown: watch -> NULL %s", eshut_no);
	expect_count(p, needle, instances);
	snprintf(needle, sizeof needle, "plugin shutpost: shutdown: thread post -> %s", eshut);
	expect_count(p, needle, instances);
	/* Posts while alive do run. */
	expect_count(p, "plugin shutpost: posted ran: from-init", instances);
	expect_never(p, "posted ran: from-shutdown");
	expect_never(p, "posted ran: thread-during-shutdown");
	expect_never(p, "posted ran: thread-after-release");
	expect_never(p, "posted ran: queued-before-release");
	expect_never(p, "fired after shutdown");
}

static void stop_and_wait_exit(struct test_proc *p)
{
	ck_assert_int_eq(test_proc_signal(p, SIGTERM), 0);
	int st = test_proc_wait_exit(p, WAIT);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		dump(p);
	ck_assert_msg(st != -1, "no exit on SIGTERM");
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit status 0x%x", st);
}

/* The FIFO shutpost's thread waits on after shutdown; opened read-write so
 * that neither side blocks on open and the byte stays until read. */
static int make_fifo(char **path)
{
	*path = fx_tpath("fifo");
	ck_assert_int_eq(mkfifo(*path, 0600), 0);
	int fd = open(*path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	return fd;
}

/* orbitd with shutpost installed as file (its thread waits on a fifo: a
 * byte written to *wfd makes it post), running and past init's post. */
static struct test_proc *start_shutpost(const char *file, char **fifo, int *wfd)
{
	*wfd = make_fifo(fifo);
	fx_add_plugin_as("tests/plugins/shutpost.so", file);
	char yaml[1024];
	snprintf(yaml, sizeof yaml,
		 "identifier: core1\n" FAST_TIMERS "plugins:\n  isolation: none\n  shutpost: {config: {fifo: \"%s\"}}\n",
		 *fifo);
	fx_write_conf(yaml);
	struct test_proc *p = fx_start_orbitd();
	test_expect_line(p, "ready:", WAIT);
	ck_assert(test_proc_seen(p, "plugin shutpost: posted ran: from-init", WAIT));
	return p;
}

/* SIGTERM: shutpeer (released first: "a_" sorts first) makes shutpost post
 * on the loop right before shutpost's release; that post and the shutdown
 * hook's are never run, and the hook is refused everything new. */
START_TEST(sigterm_refuses_posts_and_drops_queued_ones)
{
	fx_add_plugin_as("tests/plugins/shutpeer.so", "a_peer.so");
	fx_add_plugin_as("tests/plugins/shutpost.so", "b_post.so");
	char *post_path = test_tmpdir_path(fx.plugdir, "b_post.so");
	char yaml[1024];
	snprintf(yaml, sizeof yaml,
		 "identifier: core1\n" FAST_TIMERS
		 "plugins:\n  isolation: none\n  shutpeer: {config: {peer: \"%s\"}}\n", post_path);
	free(post_path);
	fx_write_conf(yaml);
	struct test_proc *p = fx_start_orbitd();
	test_expect_line(p, "plugin shutpost: init: post -> 0", WAIT);
	test_expect_line(p, "ready:", WAIT);
	ck_assert(test_proc_seen(p, "plugin shutpost: posted ran: from-init", WAIT));
	stop_and_wait_exit(p);
	/* The peer's post was accepted (the plugin was alive), then shutpost
	 * was released: its shutdown hook ran after the post was queued. */
	test_expect_line(p, "plugin shutpost: peer: post queued before release -> 0", 0);
	test_expect_line(p, "plugin shutpost: shutdown: post -> ", 0);
	expect_shutdown_semantics(p, 1);
	test_proc_free(p);
}
END_TEST

/* Removal of the file while orbitd runs: the loader drains and releases the
 * plugin; the daemon keeps running, its loop keeps turning, and the plugin's
 * thread posts once more after release (the host handle it holds must still
 * be safe to call). */
START_TEST(removal_refuses_posts_also_from_a_thread_after_release)
{
	char *fifo;
	int wfd;
	struct test_proc *p = start_shutpost("shutpost.so", &fifo, &wfd);
	char *so = test_tmpdir_path(fx.plugdir, "shutpost.so");
	ck_assert_int_eq(unlink(so), 0);
	free(so);
	test_expect_line(p, "plugin shutpost: file removed", WAIT);
	test_expect_line(p, "plugin shutpost: shutdown: post -> ", WAIT);
	test_expect_line(p, "plugin shutpost stopped", WAIT);
	/* Released: now the thread posts again. */
	ck_assert_int_eq(write(wfd, "x", 1), 1);
	char needle[128];
	snprintf(needle, sizeof needle, "plugin shutpost: thread: post after release -> %s", eshut);
	test_expect_line(p, needle, WAIT);
	/* The loop's turn: a new plugin comes and goes through it. */
	fx_add_plugin("tests/plugins/echo.so");
	test_expect_line(p, "plugin echo 1.0.0 loaded", WAIT);
	stop_and_wait_exit(p);
	expect_shutdown_semantics(p, 1);
	test_proc_free(p);
	close(wfd);
	free(fifo);
}
END_TEST

/* Replacing the file (upgrade) releases the old version the same way; the
 * new one starts and posts normally; both are refused at their end. */
START_TEST(upgrade_releases_the_old_version_the_same_way)
{
	char *fifo;
	int wfd;
	struct test_proc *p = start_shutpost("p.so", &fifo, &wfd);
	fx_add_plugin_as("tests/plugins/shutpost.so", "p.so");
	test_expect_line(p, "plugin shutpost: p.so replaced by shutpost", WAIT);
	test_expect_line(p, "plugin shutpost: shutdown: post -> ", WAIT);
	test_expect_line(p, "plugin shutpost stopped", WAIT);
	test_expect_line(p, "plugin shutpost: posted ran: from-init", WAIT);
	ck_assert_int_eq(write(wfd, "x", 1), 1);
	char needle[128];
	snprintf(needle, sizeof needle, "plugin shutpost: thread: post after release -> %s", eshut);
	test_expect_line(p, needle, WAIT);
	stop_and_wait_exit(p);
	expect_shutdown_semantics(p, 2);
	test_proc_free(p);
	close(wfd);
	free(fifo);
}
END_TEST

/* A blocking call still on a worker when the plugin is removed: the release
 * waits for it before shutdown() runs; its post is refused and its reply
 * dropped, and the host's memory outlives it (ASan). */
START_TEST(removal_waits_for_a_blocking_call_and_drops_its_results)
{
	char *hold = fx_tpath("hold");
	ck_assert_int_eq(mkfifo(hold, 0600), 0);
	int wfd = open(hold, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	ck_assert_int_ge(wfd, 0);
	fx_add_plugin("tests/plugins/shutpost.so");
	char yaml[1024];
	snprintf(yaml, sizeof yaml,
		 "identifier: core1\n" FAST_TIMERS
		 "plugins:\n  isolation: none\n  shutpost: {config: {hold: \"%s\"}}\n"
		 "requirements:\n  hold: {minimum: 1, inputs: [empty], outputs: [string],"
		 " schedule: {every: 0.1}}\n", hold);
	fx_write_conf(yaml);
	struct test_proc *p = fx_start_orbitd();
	test_expect_line(p, "plugin shutpost: hold: waiting", WAIT);
	test_expect_line(p, "output hold from shutpost: \"quick\"", WAIT);
	char *so = test_tmpdir_path(fx.plugdir, "shutpost.so");
	ck_assert_int_eq(unlink(so), 0);
	free(so);
	test_expect_line(p, "plugin shutpost stopped", WAIT);
	/* Released, but its call is still out: no shutdown hook yet. */
	expect_never(p, "plugin shutpost: shutdown:");
	ck_assert_int_eq(write(wfd, "x", 1), 1);
	char needle[128];
	snprintf(needle, sizeof needle, "plugin shutpost: hold: post -> %s", eshut);
	test_expect_line(p, needle, WAIT);
	snprintf(needle, sizeof needle, "plugin shutpost: shutdown: post -> %s", eshut);
	test_expect_line(p, needle, WAIT);
	stop_and_wait_exit(p);
	expect_shutdown_semantics(p, 1);
	expect_never(p, "posted ran: hold-after-release");
	expect_never(p, "\"held\"");
	test_proc_free(p);
	close(wfd);
	free(hold);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("plugin_shutdown");
	TCase *tc = tcase_create("orbitd");
	tcase_add_checked_fixture(tc, setup, fx_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, sigterm_refuses_posts_and_drops_queued_ones);
	tcase_add_test(tc, removal_refuses_posts_also_from_a_thread_after_release);
	tcase_add_test(tc, upgrade_releases_the_old_version_the_same_way);
	tcase_add_test(tc, removal_waits_for_a_blocking_call_and_drops_its_results);
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
