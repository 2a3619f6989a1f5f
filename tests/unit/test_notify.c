/* test_notify.c — orbitd/notify.c against a real AF_UNIX datagram socket
 * (filesystem path in a mkdtemp directory, and an abstract name) standing in
 * for systemd's notify socket.
 */
#include "notify.h"

#include <check.h>
#include <errno.h>
#include <event2/event.h>
#include <ftw.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static char tmpdir[64];
static int sock = -1;

static int bind_socket(const struct sockaddr_un *sa, socklen_t len)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (const struct sockaddr *)sa, len), 0);
	return fd;
}

static void setup(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(tmpdir, sizeof tmpdir, "/tmp/orbitd-test-notify-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s/notify.sock", tmpdir);
	sock = bind_socket(&sa, sizeof sa);
	setenv("NOTIFY_SOCKET", sa.sun_path, 1);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void teardown(void)
{
	close(sock);
	sock = -1;
	unsetenv("NOTIFY_SOCKET");
	nftw(tmpdir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* The next datagram, already queued: sendto on AF_UNIX delivers before it
 * returns, so no waiting is needed. NULL if none. */
static const char *next_datagram(int fd)
{
	static char buf[4096];
	ssize_t n = recv(fd, buf, sizeof buf - 1, MSG_DONTWAIT);

	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return buf;
}

START_TEST(simple_states)
{
	ck_assert_int_eq(notify_send("READY=1"), 0);
	ck_assert_str_eq(next_datagram(sock), "READY=1");
	ck_assert_int_eq(notify_send("STOPPING=1"), 0);
	ck_assert_str_eq(next_datagram(sock), "STOPPING=1");
	ck_assert_int_eq(notify_watchdog(), 0);
	ck_assert_str_eq(next_datagram(sock), "WATCHDOG=1");
	ck_assert_int_eq(notify_send("STATUS=a\nERRNO=5"), 0);
	ck_assert_str_eq(next_datagram(sock), "STATUS=a\nERRNO=5");
	ck_assert_ptr_null(next_datagram(sock));
	ck_assert_int_eq(notify_send(NULL), -EINVAL);
}
END_TEST

START_TEST(reloading_has_monotonic_time)
{
	struct timespec before, after;
	uint64_t lo, hi, usec;
	char msg[64], *end;

	clock_gettime(CLOCK_MONOTONIC, &before);
	ck_assert_int_eq(notify_reloading_text(msg, sizeof msg), 0);
	clock_gettime(CLOCK_MONOTONIC, &after);
	ck_assert(!strncmp(msg, "RELOADING=1\nMONOTONIC_USEC=", 27));
	usec = strtoull(msg + 27, &end, 10);
	ck_assert_int_eq(*end, '\0');
	lo = (uint64_t)before.tv_sec * 1000000u + (uint64_t)before.tv_nsec / 1000u;
	hi = (uint64_t)after.tv_sec * 1000000u + (uint64_t)after.tv_nsec / 1000u;
	ck_assert_uint_ge(usec, lo);
	ck_assert_uint_le(usec, hi);
	ck_assert_int_eq(notify_reloading_text(msg, 10), -ENOBUFS);
}
END_TEST

static const char *render_src;

static void render_from(void *ctx, char *buf, size_t len)
{
	(void)ctx;
	snprintf(buf, len, "%s", render_src);
}

/* The status the notifier sends: newlines (which would start a new
 * assignment in the datagram) become spaces, text past 1 KiB is cut. */
START_TEST(status_formatting)
{
	static char big[3000];
	struct event_base *base = event_base_new();
	struct notifier *n = notify_new(base, render_from, NULL);
	const char *msg;

	render_src = "3 plugins, compliant\nyes\r";
	notify_dirty(n);
	event_base_loop(base, EVLOOP_ONCE);
	ck_assert_str_eq(next_datagram(sock), "STATUS=3 plugins, compliant yes ");

	memset(big, 'z', sizeof big - 1);
	render_src = big;
	notify_dirty(n);
	event_base_loop(base, EVLOOP_ONCE);
	msg = next_datagram(sock);
	ck_assert_ptr_nonnull(msg);
	ck_assert_uint_eq(strlen(msg), strlen("STATUS=") + 1024);
	notify_free(n);
	event_base_free(base);
}
END_TEST

START_TEST(abstract_socket)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char name[80];
	int fd;

	snprintf(name, sizeof name, "@orbitd-test-notify-%d-%s", (int)getpid(), tmpdir + 25);
	memcpy(sa.sun_path, name, strlen(name));
	sa.sun_path[0] = '\0';
	fd = bind_socket(&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name)));
	setenv("NOTIFY_SOCKET", name, 1);
	ck_assert_int_eq(notify_send("READY=1"), 0);
	ck_assert_str_eq(next_datagram(fd), "READY=1");
	ck_assert_ptr_null(next_datagram(sock));
	close(fd);
}
END_TEST

START_TEST(unset_is_noop)
{
	unsetenv("NOTIFY_SOCKET");
	ck_assert_int_eq(notify_send("READY=1"), 0);
	ck_assert_int_eq(notify_send("STOPPING=1"), 0);
	ck_assert_int_eq(notify_watchdog(), 0);
	setenv("NOTIFY_SOCKET", "", 1);
	ck_assert_int_eq(notify_send("READY=1"), 0);
	ck_assert_ptr_null(next_datagram(sock));
}
END_TEST

START_TEST(bad_addresses)
{
	char path[200], nosock[128];

	setenv("NOTIFY_SOCKET", "relative/path", 1);
	ck_assert_int_eq(notify_send("READY=1"), -EAFNOSUPPORT);
	setenv("NOTIFY_SOCKET", "vsock:2:1234", 1);
	ck_assert_int_eq(notify_send("READY=1"), -EAFNOSUPPORT);
	memset(path, 'a', sizeof path - 1);
	path[0] = '/';
	path[sizeof path - 1] = '\0';
	setenv("NOTIFY_SOCKET", path, 1);
	ck_assert_int_eq(notify_send("READY=1"), -ENAMETOOLONG);
	path[108] = '\0'; /* a path needs its NUL inside sun_path[108] */
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", path, 1), 0);
	ck_assert_int_eq(notify_send("READY=1"), -ENAMETOOLONG);
	path[0] = '@'; /* an abstract name does not */
	setenv("NOTIFY_SOCKET", path, 1);
	ck_assert_int_eq(notify_send("READY=1"), -ECONNREFUSED);
	snprintf(nosock, sizeof nosock, "%s/absent.sock", tmpdir);
	setenv("NOTIFY_SOCKET", nosock, 1);
	ck_assert_int_eq(notify_send("READY=1"), -ENOENT);
}
END_TEST

START_TEST(never_blocks)
{
	int rc = 0, sent = 0;

	/* Nobody reads: the queue fills and the call fails instead of blocking. */
	while (sent < 100000 && (rc = notify_watchdog()) == 0)
		sent++;
	ck_assert_int_eq(rc, -EAGAIN);
	ck_assert_int_gt(sent, 0);
}
END_TEST

START_TEST(watchdog_usec)
{
	char pid[32];
	uint64_t usec = 99;

	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	ck_assert_int_eq(notify_watchdog_usec(&usec), 0);
	ck_assert_uint_eq(usec, 0);

	setenv("WATCHDOG_USEC", "30000000", 1);
	ck_assert_int_eq(notify_watchdog_usec(&usec), 0);
	ck_assert_uint_eq(usec, 30000000);

	snprintf(pid, sizeof pid, "%d", (int)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	ck_assert_int_eq(notify_watchdog_usec(&usec), 0);
	ck_assert_uint_eq(usec, 30000000);

	snprintf(pid, sizeof pid, "%d", (int)getpid() + 1);
	setenv("WATCHDOG_PID", pid, 1);
	ck_assert_int_eq(notify_watchdog_usec(&usec), 0);
	ck_assert_uint_eq(usec, 0);

	setenv("WATCHDOG_PID", "12x", 1);
	ck_assert_int_eq(notify_watchdog_usec(&usec), -EINVAL);
	unsetenv("WATCHDOG_PID");
	setenv("WATCHDOG_USEC", "0", 1);
	ck_assert_int_eq(notify_watchdog_usec(&usec), -EINVAL);
	setenv("WATCHDOG_USEC", "-5", 1);
	ck_assert_int_eq(notify_watchdog_usec(&usec), -EINVAL);
	setenv("WATCHDOG_USEC", "99999999999999999999999", 1);
	ck_assert_int_eq(notify_watchdog_usec(&usec), -EINVAL);
	setenv("WATCHDOG_USEC", "", 1);
	ck_assert_int_eq(notify_watchdog_usec(&usec), -EINVAL);
	ck_assert_uint_eq(usec, 0);
	unsetenv("WATCHDOG_USEC");
}
END_TEST

/* ---- the notifier ---- */

static char status_text[64];
static int renders;

static void render(void *ctx, char *buf, size_t len)
{
	(void)ctx;
	renders++;
	snprintf(buf, len, "%s", status_text);
}

/* Fill the listener's queue until the next datagram is refused. */
static void fill_queue(void)
{
	int rc, sent = 0;

	while (sent < 100000 && (rc = notify_watchdog()) == 0)
		sent++;
	ck_assert_int_eq(rc, -EAGAIN);
}

/* Read the queue empty; every datagram in it must be a watchdog ping. */
static void drain_pings(void)
{
	const char *m;

	while ((m = next_datagram(sock)))
		ck_assert_str_eq(m, "WATCHDOG=1");
}

START_TEST(status_coalesced_in_one_loop_pass)
{
	struct event_base *base = event_base_new();
	struct notifier *n = notify_new(base, render, NULL);

	renders = 0;
	for (int i = 0; i < 5; i++) {
		snprintf(status_text, sizeof status_text, "state %d", i);
		notify_dirty(n);
	}
	ck_assert_ptr_null(next_datagram(sock));
	event_base_loop(base, EVLOOP_ONCE);
	ck_assert_str_eq(next_datagram(sock), "STATUS=state 4");
	ck_assert_ptr_null(next_datagram(sock));
	ck_assert_int_eq(renders, 1);
	/* The same text again is not worth a datagram. */
	notify_dirty(n);
	event_base_loop(base, EVLOOP_ONCE);
	ck_assert_ptr_null(next_datagram(sock));
	notify_free(n);
	event_base_free(base);
}
END_TEST

START_TEST(refused_status_is_retried_not_lost)
{
	struct event_base *base = event_base_new();
	struct notifier *n = notify_new(base, render, NULL);

	snprintf(status_text, sizeof status_text, "not compliant: 4/6");
	fill_queue();
	notify_dirty(n);
	event_base_loop(base, EVLOOP_ONCE); /* refused: the queue is full */
	snprintf(status_text, sizeof status_text, "compliant: 6/6");
	notify_dirty(n);
	drain_pings();
	/* Blocks until the retry timer fires, which sends the latest state. */
	event_base_loop(base, EVLOOP_ONCE);
	ck_assert_str_eq(next_datagram(sock), "STATUS=compliant: 6/6");
	ck_assert_ptr_null(next_datagram(sock));
	notify_free(n);
	event_base_free(base);
}
END_TEST

START_TEST(state_carries_status_and_survives_a_full_queue)
{
	struct event_base *base = event_base_new();
	struct notifier *n = notify_new(base, render, NULL);

	snprintf(status_text, sizeof status_text, "compliant: 1/1");
	ck_assert_int_eq(notify_state(n, "READY=1"), 0);
	ck_assert_str_eq(next_datagram(sock), "READY=1\nSTATUS=compliant: 1/1");
	fill_queue();
	snprintf(status_text, sizeof status_text, "stopping");
	ck_assert_int_eq(notify_state(n, "STOPPING=1"), -EAGAIN);
	drain_pings();
	event_base_loop(base, EVLOOP_ONCE);
	ck_assert_str_eq(next_datagram(sock), "STOPPING=1\nSTATUS=stopping");
	ck_assert_ptr_null(next_datagram(sock));
	ck_assert_int_eq(notify_state(n, NULL), -EINVAL);
	notify_free(n);
	event_base_free(base);
}
END_TEST

static Suite *notify_suite(void)
{
	Suite *s = suite_create("notify");
	TCase *tc = tcase_create("notify");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, simple_states);
	tcase_add_test(tc, reloading_has_monotonic_time);
	tcase_add_test(tc, status_formatting);
	tcase_add_test(tc, abstract_socket);
	tcase_add_test(tc, unset_is_noop);
	tcase_add_test(tc, bad_addresses);
	tcase_add_test(tc, never_blocks);
	tcase_add_test(tc, watchdog_usec);
	tcase_add_test(tc, status_coalesced_in_one_loop_pass);
	tcase_add_test(tc, refused_status_is_retried_not_lost);
	tcase_add_test(tc, state_carries_status_and_survives_a_full_queue);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(notify_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
