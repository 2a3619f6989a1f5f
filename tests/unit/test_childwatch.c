/* test_childwatch.c — orbitd/childwatch.c with real children on a real
 * libevent loop: how a child ended (exit status, signal) reaches the
 * callback, childwatch_wait reaps outside the loop and times out, and a
 * child reaped behind its back is reported with its status lost. */
#include "childwatch.h"

#include <check.h>
#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

struct seen {
	struct event_base *base;
	int calls;
	siginfo_t si;
};

static void on_exit_seen(void *ctx, const siginfo_t *si)
{
	struct seen *s = ctx;
	s->calls++;
	s->si = *si;
	event_base_loopbreak(s->base);
}

/* Run the loop until the callback came (or 10 s passed). */
static void run_until_seen(struct seen *s)
{
	struct timeval ten = {10, 0};
	event_base_loopexit(s->base, &ten);
	event_base_dispatch(s->base);
	ck_assert_int_eq(s->calls, 1);
}

static pid_t child_exiting(int status)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(status);
	return pid;
}

/* A child that waits for a signal, returned once it can take SIGTERM
 * itself: check's own SIGTERM handler, inherited, would pass the signal on
 * to the whole process group, the test included. */
static pid_t child_pausing(void)
{
	int p[2];
	char c;
	ck_assert_int_eq(pipe(p), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		signal(SIGTERM, SIG_DFL);
		if (write(p[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	close(p[0]);
	return pid;
}

START_TEST(exit_status_reaches_the_callback)
{
	struct seen s = {.base = event_base_new()};
	pid_t pid = child_exiting(3);
	struct childwatch *w = childwatch_new(s.base, pid, on_exit_seen, &s);
	ck_assert_ptr_nonnull(w);
	run_until_seen(&s);
	ck_assert_int_eq(s.si.si_pid, pid);
	ck_assert_int_eq(s.si.si_code, CLD_EXITED);
	ck_assert_int_eq(s.si.si_status, 3);
	/* Reaped: no zombie left behind. */
	ck_assert_int_eq(waitpid(pid, NULL, WNOHANG), -1);
	childwatch_free(w);
	event_base_free(s.base);
}
END_TEST

START_TEST(signal_reaches_the_callback)
{
	struct seen s = {.base = event_base_new()};
	pid_t pid = child_pausing();
	struct childwatch *w = childwatch_new(s.base, pid, on_exit_seen, &s);
	ck_assert_ptr_nonnull(w);
	kill(pid, SIGTERM);
	run_until_seen(&s);
	ck_assert_int_eq(s.si.si_code, CLD_KILLED);
	ck_assert_int_eq(s.si.si_status, SIGTERM);
	childwatch_free(w);
	event_base_free(s.base);
}
END_TEST

START_TEST(wait_outside_the_loop_times_out_then_reaps)
{
	struct seen s = {.base = event_base_new()};
	pid_t pid = child_pausing();
	struct childwatch *w = childwatch_new(s.base, pid, on_exit_seen, &s);
	siginfo_t si;
	ck_assert_int_eq(childwatch_wait(w, 0.05, &si), -ETIMEDOUT);
	kill(pid, SIGKILL);
	ck_assert_int_eq(childwatch_wait(w, 10, &si), 0);
	ck_assert_int_eq(si.si_status, SIGKILL);
	ck_assert_int_eq(s.calls, 0); /* the wait reaped it, not the loop */
	childwatch_free(w);
	event_base_free(s.base);
}
END_TEST

START_TEST(reaped_elsewhere_has_its_status_lost)
{
	struct seen s = {.base = event_base_new()};
	pid_t pid = child_exiting(0);
	struct childwatch *w = childwatch_new(s.base, pid, on_exit_seen, &s);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	siginfo_t si;
	ck_assert_int_eq(childwatch_wait(w, 10, &si), 0);
	ck_assert_int_eq(si.si_code, 0);
	ck_assert_int_eq(si.si_pid, pid);
	childwatch_free(w);
	event_base_free(s.base);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("childwatch");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, exit_status_reaches_the_callback);
	tcase_add_test(tc, signal_reaches_the_callback);
	tcase_add_test(tc, wait_outside_the_loop_times_out_then_reaps);
	tcase_add_test(tc, reaped_elsewhere_has_its_status_lost);
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
