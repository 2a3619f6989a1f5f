/* test_ctl_bounds.c — a real orbitd with hostile or slow control clients:
 * control.max_clients refuses the connection beyond it with one line,
 * control.idle_timeout closes a silent client but not a watch that reads,
 * and control.client_buffer / total_buffer cut watch clients that stop
 * reading while a scheduled requirement bursts large outputs, keeping the
 * daemon's memory bounded and a reading watch fed. Raw clients speak the
 * protocol directly; every wait is on a line, a socket state or an exit,
 * with a deadline. */
#include "expect.h"
#include "fixture.h"
#include "proc.h"

#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define WAIT 10.0
#define FAST_TIMERS                                                                         \
	"timers: {loop_interval: 0.1, discovering_interval: 0.1, shutdown_timeout: 3}\n"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- a raw client --------------------------------------------------------- */

struct raw {
	int fd;
	char *buf;
	size_t len, cap;
	bool eof;
};

static struct raw *raw_connect(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct raw *c = calloc(1, sizeof *c);
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", fx.sock);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(c->fd, 0);
	ck_assert_int_eq(connect(c->fd, (struct sockaddr *)&sa, sizeof sa), 0);
	return c;
}

static void raw_free(struct raw *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	free(c);
}

static void raw_send(struct raw *c, const char *s)
{
	ck_assert_int_eq(send(c->fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

/* Read what is there; false when nothing was. */
static bool raw_read(struct raw *c)
{
	bool got = false;
	for (;;) {
		if (c->cap - c->len < 65536) {
			c->cap = c->cap ? c->cap * 2 : 1 << 17;
			c->buf = realloc(c->buf, c->cap);
		}
		ssize_t r = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
		if (r > 0) {
			c->len += (size_t)r;
			got = true;
		} else {
			if (r == 0)
				c->eof = true;
			return got;
		}
	}
}

static void raw_poll(struct raw *c, double until)
{
	double left = until - now();
	struct pollfd p = {.fd = c->fd, .events = POLLIN};
	poll(&p, 1, left > 0 ? (int)(left * 1000) + 1 : 0);
	raw_read(c);
}

/* The next line as JSON, or NULL at EOF or the deadline. */
static json_t *raw_line(struct raw *c, double timeout)
{
	double until = now() + timeout;
	for (;;) {
		char *nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;
		if (nl) {
			json_t *j = json_loadb(c->buf, (size_t)(nl - c->buf), 0, NULL);
			size_t n = (size_t)(nl - c->buf) + 1;
			memmove(c->buf, nl + 1, c->len - n);
			c->len -= n;
			ck_assert_ptr_nonnull(j);
			return j;
		}
		if (c->eof || now() >= until)
			return NULL;
		raw_poll(c, until);
	}
}

static bool raw_wait_eof(struct raw *c, double timeout)
{
	double until = now() + timeout;
	while (!c->eof && now() < until) {
		raw_poll(c, until);
		c->len = 0;
	}
	return c->eof;
}

/* The server shut the connection down, seen without reading from it. */
static bool raw_hung_up(struct raw *c)
{
	struct pollfd p = {.fd = c->fd, .events = POLLRDHUP};
	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLRDHUP));
}

/* The next output event of a watch (skipping other events), or NULL. */
static bool raw_next_output(struct raw *c, double timeout)
{
	double until = now() + timeout;
	for (;;) {
		json_t *m = raw_line(c, until - now());
		if (!m)
			return false;
		const char *type =
			json_string_value(json_object_get(json_object_get(m, "event"), "type"));
		bool out = type && !strcmp(type, "output");
		json_decref(m);
		if (out)
			return true;
	}
}

/* ---- orbitd ------------------------------------------------------------------ */

static void setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	fx_setup_tagged("ctlbounds");
}

static json_t *status_json(void)
{
	char *bin = fx_bpath("bin/orbitctl"), *out = NULL, *err = NULL;
	char *argv[] = {bin, "-s", fx.sock, "--json", "status", NULL};
	int st = test_run(argv, NULL, NULL, WAIT, &out, &err);
	ck_assert_msg(st == 0, "orbitctl status: %d: %s", st, err ? err : "");
	json_t *j = json_loads(out, 0, NULL);
	ck_assert_ptr_nonnull(j);
	free(bin);
	free(out);
	free(err);
	return j;
}

static json_int_t control_counter(json_t *status, const char *key)
{
	json_t *v = json_object_get(json_object_get(status, "control"), key);
	ck_assert_msg(json_is_integer(v), "no control.%s in status", key);
	return json_integer_value(v);
}


/* ---- tests -------------------------------------------------------------------- */

START_TEST(max_clients_refuses_beyond)
{
	fx_write_conf(FAST_TIMERS "control: {max_clients: 3, idle_timeout: never}\n");
	struct test_proc *d = fx_start_orbitd();
	test_expect_line(d, "control socket", WAIT);
	struct raw *idle[3];
	for (int i = 0; i < 3; i++) {
		test_proc_mark(d);
		idle[i] = raw_connect();
		ck_assert(test_proc_seen(d, "connected (", WAIT));
	}
	struct raw *extra = raw_connect();
	json_t *m = raw_line(extra, WAIT);
	ck_assert_msg(m != NULL, "no refusal line");
	ck_assert(json_is_false(json_object_get(m, "ok")));
	ck_assert(json_is_null(json_object_get(m, "id")));
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(m, "error"), "code")),
			 "too_many_clients");
	json_decref(m);
	ck_assert(raw_wait_eof(extra, WAIT));
	test_expect_line(d, "(control.max_clients)", WAIT);
	/* One idle client leaves: its place serves orbitctl. */
	test_proc_mark(d);
	raw_free(idle[0]);
	ck_assert(test_proc_seen(d, "disconnected", WAIT));
	json_t *st = status_json();
	ck_assert_int_eq(control_counter(st, "refused"), 1);
	ck_assert_int_eq(control_counter(st, "clients"), 3);
	json_decref(st);
	raw_free(extra);
	raw_free(idle[1]);
	raw_free(idle[2]);
	test_stop_clean(d, WAIT);
}
END_TEST

START_TEST(idle_timeout_spares_a_reading_watch)
{
	fx_add_plugin("plugins/lowercase.so");
	fx_write_conf(FAST_TIMERS "control: {idle_timeout: 500ms}\n"
				  "requirements:\n  lowercase:\n    minimum: 1\n"
				  "    schedule: {every: 0.1, data: \"TICK\"}\n");
	struct test_proc *d = fx_start_orbitd();
	test_expect_line(d, "core compliant: 1/1", WAIT);
	struct raw *w = raw_connect();
	raw_send(w, "{\"v\":1,\"id\":1,\"cmd\":\"watch\"}\n");
	double started = now();
	struct raw *idle = raw_connect();
	/* The watch reads its outputs for three idle timeouts; meanwhile the
	 * silent client goes. */
	while (now() - started < 1.5)
		ck_assert_msg(raw_next_output(w, WAIT), "the watch stopped getting outputs");
	ck_assert(raw_wait_eof(idle, WAIT));
	test_expect_line(d, "(control.idle_timeout)", WAIT);
	ck_assert(!w->eof);
	/* Still served on the same connection. */
	raw_send(w, "{\"v\":1,\"id\":2,\"cmd\":\"version\"}\n");
	for (;;) {
		json_t *m = raw_line(w, WAIT);
		ck_assert_msg(m != NULL, "no reply on the watch connection");
		bool reply = json_integer_value(json_object_get(m, "id")) == 2;
		if (reply)
			ck_assert(json_is_true(json_object_get(m, "ok")));
		json_decref(m);
		if (reply)
			break;
	}
	json_t *st = status_json();
	ck_assert_int_eq(control_counter(st, "idle_closed"), 1);
	json_decref(st);
	raw_free(w);
	raw_free(idle);
	test_stop_clean(d, WAIT);
}
END_TEST

#define N_SLOW 8
#define BLOB 24000

START_TEST(slow_watches_are_cut)
{
	fx_add_plugin("plugins/lowercase.so");
	/* Every 20 ms a 24 KB output reaches each watch: about 1.2 MB/s. */
	char *blob = malloc(BLOB + 1), *conf = NULL;
	memset(blob, 'A', BLOB);
	blob[BLOB] = '\0';
	ck_assert_int_gt(asprintf(&conf,
				  FAST_TIMERS "control: {client_buffer: 64K, total_buffer: 256K, "
					      "idle_timeout: never}\n"
					      "requirements:\n  lowercase:\n    minimum: 1\n"
					      "    schedule: {every: 0.02, data: \"%s\"}\n",
				  blob),
			 0);
	fx_write_conf(conf);
	free(conf);
	free(blob);
	/* Logging at notice: the test reads the daemon's log only now and then,
	 * and every 24 KB output logged at info would fill the pipe. */
	char *bin = fx_bpath("bin/orbitd"), *cf = fx_tpath("orbitd.yaml");
	char *argv[] = {bin, "-c", cf, "-p", fx.plugdir, "-s", fx.sock, "-l", "notice", NULL};
	struct test_proc *d = test_proc_start("orbitd", argv, NULL);
	ck_assert_ptr_nonnull(d);
	free(bin);
	free(cf);
	test_expect_line(d, "core compliant: 1/1", WAIT);
	pid_t pid = test_proc_pid(d);

	struct raw *reader = raw_connect(), *slow[N_SLOW];
	raw_send(reader, "{\"v\":1,\"id\":1,\"cmd\":\"watch\"}\n");
	ck_assert(raw_next_output(reader, WAIT));
	long rss0 = test_proc_status_kb(pid, "VmRSS");
	for (int i = 0; i < N_SLOW; i++) {
		slow[i] = raw_connect();
		raw_send(slow[i], "{\"v\":1,\"id\":1,\"cmd\":\"watch\"}\n");
	}
	/* The reader keeps reading until every slow watch is shut down. */
	double until = now() + 4 * WAIT;
	int hung = 0;
	while (hung < N_SLOW && now() < until) {
		ck_assert_msg(raw_next_output(reader, WAIT), "the reading watch starved");
		hung = 0;
		for (int i = 0; i < N_SLOW; i++)
			hung += raw_hung_up(slow[i]);
	}
	ck_assert_int_eq(hung, N_SLOW);
	test_expect_line(d, "cut: ", WAIT);
	/* What they were sent before the cut, then EOF. */
	for (int i = 0; i < N_SLOW; i++)
		ck_assert(raw_wait_eof(slow[i], WAIT));
	/* The reader is still fed after the cuts. */
	for (int i = 0; i < 20; i++)
		ck_assert_msg(raw_next_output(reader, WAIT), "the reading watch starved");
	/* Bounded: eight stuck watches held 4 MiB each before the bounds. */
	long rss1 = test_proc_status_kb(pid, "VmRSS");
	const char *b = getenv("ORBIT_BUILD");
	long slack = b && strstr(b, "san") ? 96 * 1024 : 16 * 1024;
	ck_assert_msg(rss1 - rss0 < slack, "VmRSS grew from %ld to %ld KiB", rss0, rss1);
	json_t *st = status_json();
	ck_assert_int_ge(control_counter(st, "slow_cut"), N_SLOW);
	ck_assert_int_le(control_counter(st, "buffered"), 256 << 10);
	json_decref(st);
	for (int i = 0; i < N_SLOW; i++)
		raw_free(slow[i]);
	raw_free(reader);
	test_stop_clean(d, WAIT);
}
END_TEST

static Suite *bounds_suite(void)
{
	Suite *s = suite_create("ctl_bounds");
	TCase *tc = tcase_create("bounds");
	tcase_add_checked_fixture(tc, setup, fx_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, max_clients_refuses_beyond);
	tcase_add_test(tc, idle_timeout_spares_a_reading_watch);
	tcase_add_test(tc, slow_watches_are_cut);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(bounds_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
