/* test_notify_status.c — orbitd's systemd STATUS line under a slow manager:
 * a NOTIFY_SOCKET listener that reads nothing until the daemon logs that it
 * is compliant, so the start-up burst overflows the datagram queue (10 on
 * Linux). Whatever was dropped on the way, the STATUS the listener ends up
 * with must be the true state, and no STATUS may contradict itself. Every
 * wait is on a log line or a datagram with a deadline — never a sleep. */
#include "expect.h"
#include "fixture.h"
#include "proc.h"

#include <check.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define WAIT 15.0
#define STARTS 20

static void setup(void)
{
	fx_setup_tagged("notify");
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A manager's notify socket at its smallest: minimum receive buffer. */
static int listener(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int one = 1;
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &one, sizeof one), 0);
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	unlink(path);
	ck_assert_int_eq(bind(fd, (const struct sockaddr *)&sa, sizeof sa), 0);
	return fd;
}

/* The next datagram within the deadline, NUL-terminated in buf; false on
 * timeout. */
static bool recv_until(int fd, char *buf, size_t len, double deadline)
{
	for (;;) {
		ssize_t n = recv(fd, buf, len - 1, 0);
		if (n >= 0) {
			buf[n] = '\0';
			return true;
		}
		double left = deadline - now_s();
		if (left <= 0)
			return false;
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		poll(&pfd, 1, (int)(left * 1000) + 1);
	}
}

/* The STATUS= value of a datagram (copied into out), or false if none. */
static bool status_of(const char *dgram, char *out, size_t len)
{
	const char *s = strstr(dgram, "STATUS=");
	if (!s || (s != dgram && s[-1] != '\n'))
		return false;
	s += strlen("STATUS=");
	size_t n = strcspn(s, "\n");
	snprintf(out, len, "%.*s", (int)n, s);
	return true;
}

/* "not compliant: n/n ...": the text contradicts itself. */
static bool contradicts(const char *status)
{
	unsigned sat, tot;
	return sscanf(status, "not compliant: %u/%u", &sat, &tot) == 2 && sat == tot;
}

struct outcome {
	bool last_true;      /* the compliant state reached the listener and stayed */
	unsigned contradictions;
	char last[1100];
};

static void one_start(unsigned i, struct outcome *o)
{
	char path[108], dgram[4096], st[1100];
	snprintf(path, sizeof path, "%s/notify-%u.sock", fx.tmp, i);
	int fd = listener(path);
	setenv("NOTIFY_SOCKET", path, 1);
	struct test_proc *p = fx_start_orbitd();
	unsetenv("NOTIFY_SOCKET");
	test_expect_line(p, "core compliant: 6/6", WAIT);

	/* Drain, then give the daemon its chance to resend what the full
	 * queue refused: the true state must arrive. */
	o->last[0] = '\0';
	double deadline = now_s() + 3.0;
	while (strncmp(o->last, "compliant: 6/6", 14) != 0 &&
	       recv_until(fd, dgram, sizeof dgram, deadline)) {
		if (status_of(dgram, st, sizeof st)) {
			o->contradictions += contradicts(st);
			snprintf(o->last, sizeof o->last, "%s", st);
		}
	}
	/* Nothing sent after it may say otherwise, up to STOPPING=1. */
	o->last_true = strncmp(o->last, "compliant: 6/6", 14) == 0;
	ck_assert_int_eq(test_proc_signal(p, SIGTERM), 0);
	deadline = now_s() + WAIT;
	while (recv_until(fd, dgram, sizeof dgram, deadline) && !strstr(dgram, "STOPPING=1")) {
		if (status_of(dgram, st, sizeof st)) {
			o->contradictions += contradicts(st);
			if (strncmp(st, "compliant: 6/6", 14) != 0)
				o->last_true = false;
			snprintf(o->last, sizeof o->last, "%s", st);
		}
	}
	ck_assert_int_eq(test_proc_wait_exit(p, WAIT), 0);
	test_proc_free(p);
	close(fd);
	unlink(path);
}

START_TEST(last_status_is_the_true_state)
{
	fx_add_plugin("plugins/lowercase.so");
	fx_add_plugin("plugins/lamp.so");
	fx_add_plugin("plugins/randint.so");
	fx_add_plugin("tests/plugins/echo.so");
	fx_add_plugin("tests/plugins/upper.so");
	fx_write_conf("identifier: core1\n"
		      "timers: {loop_interval: 0.05, discovering_interval: 0.05, "
		      "shutdown_timeout: 3}\n"
		      "requirements:\n"
		      "  lowercase: {minimum: 1}\n"
		      "  turn_off: {minimum: 1, inputs: [empty], outputs: [none]}\n"
		      "  turn_on: {minimum: 1, inputs: [empty], outputs: [none]}\n"
		      "  randint: {minimum: 1, inputs: [none], outputs: [int64]}\n"
		      "  echo: {minimum: 1}\n"
		      "  upper: {minimum: 1}\n");
	unsigned wrong = 0, contradictions = 0;
	for (unsigned i = 0; i < STARTS; i++) {
		struct outcome o = {0};
		one_start(i, &o);
		if (!o.last_true) {
			wrong++;
			fprintf(stderr, "start %u: last STATUS \"%s\"\n", i, o.last);
		}
		contradictions += o.contradictions;
	}
	ck_assert_msg(wrong == 0 && contradictions == 0,
		      "%u/%u starts ended on a wrong STATUS; %u self-contradictory STATUS lines",
		      wrong, STARTS, contradictions);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("notify_status");
	TCase *tc = tcase_create("notify_status");
	tcase_add_checked_fixture(tc, setup, fx_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, last_status_is_the_true_state);
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
