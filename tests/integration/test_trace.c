/* test_trace.c — `orbitctl trace` against real orbitd processes: the full
 * handshake of a plugin dropped in while tracing (Discover, Offer, Request,
 * Confirm; in-process and isolated), keepalives and a graceful close, with
 * the --remote and --operation filters; over a real mosquitto a remote
 * plugin host's handshake labelled by bus and a malformed Offer from a raw
 * MQTT peer shown as malformed; the real orbitctl's table and --json lines;
 * and a trace client that never reads cut by control.client_buffer while
 * the daemon goes on. Raw clients speak the control protocol; every wait is
 * on an event or a line, with a deadline. */
#include "broker.h"
#include "expect.h"
#include "fixture.h"
#include "mqtt_peer.h"
#include "orbitd_host.h"
#include "proc.h"
#include "tmpdir.h"

#include "envelope.h"

#include <check.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WAIT 20.0
#define FAST                                                                                \
	"timers: {loop_interval: 0.1, discovering_interval: 0.2, shutdown_timeout: 3, "     \
	"consider_others_dead_after: 2, send_keepalive_before_timelimit: 1}\n"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- a raw trace client ----------------------------------------------------- */

struct tc {
	int fd;
	char *buf;
	size_t len, cap;
	json_t *events; /* every trace event received, in order */
	json_t *reply;  /* a final reply, if one came */
	bool eof;
};

static int ctl_connect(const char *sock)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_msg(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0, "connect %s", sock);
	return fd;
}

static void ctl_send(int fd, const char *s)
{
	ck_assert_int_eq(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

/* A trace request with args (a JSON object text) on sock. */
static struct tc *tc_open(const char *sock, const char *args)
{
	struct tc *t = calloc(1, sizeof *t);
	t->fd = ctl_connect(sock);
	t->events = json_array();
	char req[512];
	snprintf(req, sizeof req, "{\"v\":1,\"id\":7,\"cmd\":\"trace\",\"args\":%s}\n", args);
	ctl_send(t->fd, req);
	return t;
}

static void tc_free(struct tc *t)
{
	close(t->fd);
	json_decref(t->events);
	json_decref(t->reply);
	free(t->buf);
	free(t);
}

/* Read for at most `left` seconds; complete lines become events. */
static void tc_pump(struct tc *t, double left)
{
	struct pollfd p = {.fd = t->fd, .events = POLLIN};
	if (t->eof || poll(&p, 1, left > 0 ? (int)(left * 1000) + 1 : 0) <= 0)
		return;
	for (;;) {
		if (t->cap - t->len < 65536) {
			t->cap = t->cap ? t->cap * 2 : 1 << 17;
			t->buf = realloc(t->buf, t->cap);
		}
		ssize_t r = recv(t->fd, t->buf + t->len, t->cap - t->len, 0);
		if (r <= 0) {
			t->eof = r == 0;
			break;
		}
		t->len += (size_t)r;
	}
	char *nl;
	while ((nl = memchr(t->buf, '\n', t->len))) {
		json_t *j = json_loadb(t->buf, (size_t)(nl - t->buf), 0, NULL);
		ck_assert_ptr_nonnull(j);
		json_t *ev = json_object_get(j, "event");
		if (ev)
			json_array_append(t->events, ev);
		else
			t->reply = json_incref(j);
		json_decref(j);
		size_t n = (size_t)(nl - t->buf) + 1;
		memmove(t->buf, nl + 1, t->len - n);
		t->len -= n;
	}
}

static const char *sget(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static bool is(json_t *ev, const char *dir, const char *orbiter, const char *kind)
{
	return strcmp(sget(ev, "type"), "trace") == 0 && strcmp(sget(ev, "direction"), dir) == 0 &&
	       (!orbiter || strcmp(sget(ev, "orbiter"), orbiter) == 0) && sget(ev, "kind") &&
	       strcmp(sget(ev, "kind"), kind) == 0;
}

static void dump(struct tc *t)
{
	size_t i;
	json_t *ev;
	json_array_foreach(t->events, i, ev) {
		char *s = json_dumps(ev, JSON_COMPACT);
		fprintf(stderr, "  [%zu] %.400s\n", i, s);
		free(s);
	}
}

/* The index of the first event at or after `from` that went `dir` at
 * orbiter with that kind (and, with key, whose fields[key] is val), waiting
 * for it. */
static size_t tc_find(struct tc *t, size_t from, const char *dir, const char *orbiter,
		      const char *kind, const char *key, const char *val)
{
	double until = now() + WAIT;
	for (;;) {
		for (size_t i = from; i < json_array_size(t->events); i++) {
			json_t *ev = json_array_get(t->events, i);
			if (is(ev, dir, orbiter, kind) &&
			    (!key || (sget(json_object_get(ev, "fields"), key) &&
				      !strcmp(sget(json_object_get(ev, "fields"), key), val))))
				return i;
		}
		if (now() >= until || t->eof)
			break;
		tc_pump(t, until - now());
	}
	dump(t);
	ck_abort_msg("no %s %s by %s (%s=%s) after event %zu", dir, kind, orbiter ? orbiter : "any",
		     key ? key : "-", val ? val : "-", from);
	return 0;
}

/* Pump until an event with the same time, direction and orbiter as ev
 * (the same message: every client gets the same event) arrived. */
static size_t tc_find_same(struct tc *t, json_t *ev)
{
	double until = now() + WAIT;
	for (;;) {
		for (size_t i = 0; i < json_array_size(t->events); i++) {
			json_t *e = json_array_get(t->events, i);
			if (json_equal(e, ev))
				return i;
		}
		if (now() >= until || t->eof)
			break;
		tc_pump(t, until - now());
	}
	dump(t);
	ck_abort_msg("the event %s never came", sget(ev, "time"));
	return 0;
}

/* The handshake of `plugin` (its orbiter's identifier) with core1, in this
 * order from `from`: (with discover) the core's Discover sent and received,
 * Offer sent, core's Offer received, Request sent, Request received,
 * Confirm sent, core's Confirm received. Returns the index of the last. */
static size_t expect_handshake(struct tc *t, size_t from, const char *plugin, bool discover)
{
	size_t i = from;
	if (discover) {
		i = tc_find(t, from, "received", plugin, "discover", "core_identifier", "core1");
		ck_assert_uint_lt(tc_find(t, 0, "sent", "core1", "discover", NULL, NULL), i);
		i++;
	}
	i = tc_find(t, i, "sent", plugin, "offer", "plugin_identifier", plugin);
	i = tc_find(t, i + 1, "received", "core1", "offer", "plugin_identifier", plugin);
	i = tc_find(t, i + 1, "sent", "core1", "request", "core_identifier", "core1");
	i = tc_find(t, i + 1, "received", plugin, "request", "core_identifier", "core1");
	i = tc_find(t, i + 1, "sent", plugin, "confirm", "plugin_identifier", plugin);
	return tc_find(t, i + 1, "received", "core1", "confirm", "plugin_identifier", plugin);
}

/* One control request on its own connection; the final reply. */
static json_t *ctl_call(const char *sock, const char *request)
{
	struct tc *c = calloc(1, sizeof *c);
	c->fd = ctl_connect(sock);
	c->events = json_array();
	ctl_send(c->fd, request);
	double until = now() + WAIT;
	while (!c->reply && !c->eof && now() < until)
		tc_pump(c, until - now());
	ck_assert_msg(c->reply != NULL, "no reply to %s", request);
	json_t *r = json_incref(c->reply);
	tc_free(c);
	return r;
}

static bool names(const char *topic, const char *id)
{
	size_t n = strlen(id);
	for (const char *s = topic; s; s = strchr(s + 1, '.')) {
		const char *p = *s == '.' ? s + 1 : s;
		if (!strncmp(p, id, n) && (p[n] == '.' || !p[n]))
			return true;
	}
	return false;
}

/* ---- in-process and isolated plugins ---------------------------------------- */

static void setup(void)
{
	fx_setup_tagged("trace");
}

START_TEST(handshake_keepalive_close_in_process_and_isolated)
{
	fx_write_conf("identifier: core1\n" FAST "plugins:\n"
		      "  echo: {isolation: none}\n"
		      "  lowercase: {isolation: process}\n"
		      "requirements:\n"
		      "  echo: {minimum: 1}\n"
		      "  lowercase: {minimum: 1}\n");
	struct test_proc *d = fx_start_orbitd();
	test_expect_line(d, "control socket", WAIT);
	struct tc *all = tc_open(fx.sock, "{}");
	struct tc *by_remote = tc_open(fx.sock, "{\"remote\":\"echo\"}");
	struct tc *by_op = tc_open(fx.sock, "{\"operation\":\"lowercase\"}");
	/* The core discovers with nobody to answer: the trace is attached. */
	tc_find(all, 0, "sent", "core1", "discover", NULL, NULL);

	/* The real orbitctl, as a table and as JSON. */
	char *ctl = fx_bpath("bin/orbitctl");
	char *argv_t[] = {ctl, "-s", fx.sock, "trace", "--operation", "echo", NULL};
	char *argv_j[] = {ctl, "-s", fx.sock, "--json", "trace", "--remote", "lowercase", NULL};
	struct test_proc *table = test_proc_start("trace-table", argv_t, NULL);
	struct test_proc *jsonl = test_proc_start("trace-json", argv_j, NULL);
	ck_assert_ptr_nonnull(table);
	ck_assert_ptr_nonnull(jsonl);
	/* Both attached: three trace clients and the two orbitctl. */
	double until = now() + WAIT;
	json_t *st = NULL;
	do {
		json_decref(st);
		st = ctl_call(fx.sock, "{\"v\":1,\"id\":1,\"cmd\":\"status\"}\n");
	} while (json_integer_value(json_object_get(json_object_get(
			 json_object_get(st, "result"), "control"), "clients")) < 6 && now() < until);
	json_decref(st);

	fx_add_plugin("tests/plugins/echo.so");
	fx_add_plugin("plugins/lowercase.so");
	size_t e = expect_handshake(all, 0, "echo", true);
	size_t l = expect_handshake(all, 0, "lowercase", true);

	/* Every message here went over the in-process bus; the isolated
	 * plugin's are labelled with its name, the in-process one's are the
	 * orbiter's own. */
	size_t i;
	json_t *ev;
	json_array_foreach(all->events, i, ev) {
		ck_assert_str_eq(sget(ev, "bus"), "local");
		ck_assert_ptr_null(sget(ev, "error"));
	}
	ev = json_array_get(all->events, tc_find(all, 0, "sent", "lowercase", "offer", NULL, NULL));
	ck_assert_str_eq(sget(ev, "plugin"), "lowercase");
	ck_assert_str_eq(sget(ev, "topic"), "$handshake.core1.offer");
	ev = json_array_get(all->events, tc_find(all, 0, "sent", "echo", "offer", NULL, NULL));
	ck_assert(json_is_null(json_object_get(ev, "plugin")));
	ck_assert_str_eq(sget(json_array_get(json_object_get(json_object_get(ev, "fields"),
							     "offered_operations"), 0), "name"),
			 "echo");

	/* Keepalives both ways. */
	const char *plugins[] = {"echo", "lowercase"};
	size_t after[] = {e, l};
	for (int p = 0; p < 2; p++) {
		size_t k = tc_find(all, after[p], "sent", plugins[p], "keepalive", "from_identifier",
				   plugins[p]);
		tc_find(all, k + 1, "received", "core1", "keepalive", "from_identifier", plugins[p]);
		k = tc_find(all, after[p], "sent", "core1", "keepalive", "from_identifier", "core1");
		tc_find(all, after[p], "received", plugins[p], "keepalive", "from_identifier",
			"core1");
	}

	/* A graceful close of each, and its acknowledgement. */
	size_t last[2];
	for (int p = 0; p < 2; p++) {
		char req[256];
		snprintf(req, sizeof req,
			 "{\"v\":1,\"id\":2,\"cmd\":\"close\",\"args\":{\"operation\":\"%s\","
			 "\"plugin\":\"%s\"}}\n", plugins[p], plugins[p]);
		size_t from = json_array_size(all->events);
		json_t *r = ctl_call(fx.sock, req);
		ck_assert(json_is_true(json_object_get(r, "ok")));
		json_decref(r);
		i = tc_find(all, from, "sent", "core1", "graceful_close", "operation_name", plugins[p]);
		i = tc_find(all, i + 1, "received", plugins[p], "graceful_close", "from_identifier",
			    "core1");
		i = tc_find(all, i + 1, "sent", plugins[p], "close_ack", "operation_name", plugins[p]);
		last[p] = tc_find(all, i + 1, "received", "core1", "close_ack", "from_identifier",
				  plugins[p]);
	}

	/* --remote echo: up to the last message about echo, everything names
	 * echo, in a field or in the topic; its handshake is there, the
	 * other plugin's Offer is not. */
	tc_find_same(by_remote, json_array_get(all->events, last[0]));
	json_array_foreach(by_remote->events, i, ev) {
		bool field = false;
		const char *key;
		json_t *v;
		json_object_foreach(json_object_get(ev, "fields"), key, v)
			field |= strstr(key, "identifier") && json_is_string(v) &&
				 !strcmp(json_string_value(v), "echo");
		ck_assert_msg(field || names(sget(ev, "topic"), "echo"), "not about echo: %s %s",
			      sget(ev, "kind"), sget(ev, "topic"));
		ck_assert_str_ne(sget(ev, "orbiter"), "lowercase");
	}
	/* A Discover names no plugin. */
	json_array_foreach(by_remote->events, i, ev)
		ck_assert_str_ne(sget(ev, "kind"), "discover");
	expect_handshake(by_remote, 0, "echo", false);

	/* --operation lowercase: no keepalive (they name no operation); of
	 * echo only the Discovers it received (they query lowercase too);
	 * lowercase's handshake and close are there. */
	tc_find_same(by_op, json_array_get(all->events, last[1]));
	json_array_foreach(by_op->events, i, ev) {
		ck_assert_str_ne(sget(ev, "kind"), "keepalive");
		if (!strcmp(sget(ev, "orbiter"), "echo"))
			ck_assert_str_eq(sget(ev, "kind"), "discover");
	}
	size_t h = expect_handshake(by_op, 0, "lowercase", true);
	tc_find(by_op, h, "received", "core1", "close_ack", "from_identifier", "lowercase");

	/* orbitctl's lines; SIGINT ends it with status 0. */
	test_expect_line(table, "echo OfferMessage $handshake.core1.offer plugin_identifier=echo", WAIT);
	test_expect_line(table, "core1 ConfirmConnectionMessage $handshake.core1.response", WAIT);
	char *line = test_proc_wait_line(jsonl, "\"message_type\":\"ConfirmConnectionMessage\"", WAIT);
	ck_assert_ptr_nonnull(line);
	json_t *j = json_loads(line, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(sget(json_object_get(j, "fields"), "plugin_identifier"), "lowercase");
	ck_assert_str_eq(sget(j, "kind"), "confirm");
	json_decref(j);
	free(line);
	struct test_proc *cl[] = {table, jsonl};
	for (int c = 0; c < 2; c++) {
		ck_assert_int_eq(test_proc_signal(cl[c], SIGINT), 0);
		int ws = test_proc_wait_exit(cl[c], WAIT);
		ck_assert_msg(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "orbitctl trace: status %d", ws);
		test_proc_free(cl[c]);
	}
	free(ctl);
	tc_free(all);
	tc_free(by_remote);
	tc_free(by_op);
	test_stop_clean(d, WAIT);
}
END_TEST

/* Wait until the daemon on sock has n control clients (the asker included). */
static void wait_clients(const char *sock, json_int_t n)
{
	double until = now() + WAIT;
	json_int_t have = 0;
	while (have < n && now() < until) {
		json_t *st = ctl_call(sock, "{\"v\":1,\"id\":1,\"cmd\":\"status\"}\n");
		have = json_integer_value(json_object_get(
			json_object_get(json_object_get(st, "result"), "control"), "clients"));
		json_decref(st);
	}
	ck_assert_int_ge(have, n);
}

/* The first event at or after from with a non-null error, waiting for it. */
static size_t tc_find_error(struct tc *t, size_t from)
{
	double until = now() + WAIT;
	for (;;) {
		for (size_t i = from; i < json_array_size(t->events); i++)
			if (sget(json_array_get(t->events, i), "error"))
				return i;
		if (now() >= until || t->eof)
			break;
		tc_pump(t, until - now());
	}
	dump(t);
	ck_abort_msg("no event with an error after %zu", from);
	return 0;
}

/* ---- over MQTT -------------------------------------------------------------- */

START_TEST(mqtt_remote_plugin_and_a_malformed_offer)
{
	struct test_broker broker;
	ck_assert_int_eq(test_broker_start(&broker), 0);
	char mq[256], yaml[512];
	snprintf(mq, sizeof mq, FAST "mqtt: {host: 127.0.0.1, port: %d}\n", broker.port);
	snprintf(yaml, sizeof yaml, "%srequirements:\n  echo: {minimum: 1}\n", mq);
	struct test_proc *a = orbitd_host_start(fx.tmp, fx.build, "core1", NULL, yaml);
	test_expect_line(a, "control socket", WAIT);
	char *sock = orbitd_host_socket(fx.tmp, "core1");
	struct tc *all = tc_open(sock, "{}");
	struct tc *by_remote = tc_open(sock, "{\"remote\":\"echo-b\"}");
	wait_clients(sock, 3);
	/* The discover topic is published on both buses. */
	size_t i = tc_find(all, 0, "sent", "core1", "discover", NULL, NULL);
	ck_assert_str_eq(sget(json_array_get(all->events, i), "bus"), "local+mqtt");

	snprintf(yaml, sizeof yaml, "%splugins:\n  echo: {export: true, identifier: echo-b}\n", mq);
	struct test_proc *b =
		orbitd_host_start(fx.tmp, fx.build, "hostb", "tests/plugins/echo.so", yaml);
	i = tc_find(all, 0, "received", "core1", "offer", "plugin_identifier", "echo-b");
	ck_assert_str_eq(sget(json_array_get(all->events, i), "bus"), "mqtt");
	i = tc_find(all, i + 1, "sent", "core1", "request", "operation_name", "echo");
	ck_assert_str_eq(sget(json_array_get(all->events, i), "bus"), "mqtt");
	ck_assert_str_eq(sget(json_array_get(all->events, i), "topic"), "$handshake.echo-b.reply");
	i = tc_find(all, i + 1, "received", "core1", "confirm", "plugin_identifier", "echo-b");
	ck_assert_str_eq(sget(json_array_get(all->events, i), "bus"), "mqtt");

	/* A raw peer's Offer whose Avro body is cut short. */
	struct mqtt_peer *raw = mqtt_peer_new("rawpeer", broker.port);
	ck_assert_ptr_nonnull(raw);
	orbit_payload bad = {(const uint8_t *)"\xff\xff\xff\xff", 4, ORBIT_FMT_AVRO, "OfferMessage"};
	char *env;
	size_t len;
	ck_assert_int_eq(orbit_envelope_encode(&bad, "rawpeer", &env, &len), 0);
	ck_assert_int_eq(mqtt_peer_publish(raw, "$handshake.core1.offer", env, len), 0);
	free(env);
	size_t m = tc_find_error(all, i + 1);
	json_t *ev = json_array_get(all->events, m);
	ck_assert_str_eq(sget(ev, "error"), "malformed");
	ck_assert_str_eq(sget(ev, "direction"), "received");
	ck_assert_str_eq(sget(ev, "orbiter"), "core1");
	ck_assert_str_eq(sget(ev, "kind"), "offer");
	ck_assert_str_eq(sget(ev, "bus"), "mqtt");
	ck_assert_str_eq(sget(ev, "topic"), "$handshake.core1.offer");
	ck_assert(json_is_null(json_object_get(ev, "fields")));

	/* --remote echo-b: up to a keepalive from echo-b after the malformed
	 * Offer, only echo-b's messages, none of them malformed. */
	size_t k = tc_find(all, m + 1, "received", "core1", "keepalive", "from_identifier", "echo-b");
	tc_find_same(by_remote, json_array_get(all->events, k));
	i = tc_find(by_remote, 0, "received", "core1", "offer", "plugin_identifier", "echo-b");
	i = tc_find(by_remote, i + 1, "sent", "core1", "request", "operation_name", "echo");
	tc_find(by_remote, i + 1, "received", "core1", "confirm", "plugin_identifier", "echo-b");
	json_array_foreach(by_remote->events, i, ev) {
		ck_assert_ptr_null(sget(ev, "error"));
		ck_assert_str_ne(sget(ev, "kind"), "discover");
	}
	mqtt_peer_free(raw);
	tc_free(all);
	tc_free(by_remote);
	free(sock);
	test_stop_clean(b, WAIT);
	test_stop_clean(a, WAIT);
	test_broker_stop(&broker);
}
END_TEST

/* ---- bounds ----------------------------------------------------------------- */

START_TEST(a_trace_client_that_never_reads_is_cut)
{
	/* An unsatisfiable requirement keeps discovery at full pace: each
	 * Discover is a few kB of trace, sent, and received by two plugins. */
	fx_write_conf("identifier: core1\n"
		      "timers: {loop_interval: 0.05, discovering_interval: 0.05, shutdown_timeout: 3}\n"
		      "control: {client_buffer: 16K}\n"
		      "plugins:\n  echo: {isolation: none}\n  lowercase: {isolation: process}\n"
		      "requirements:\n  echo: {minimum: 1}\n  lowercase: {minimum: 1}\n"
		      "  nobody: {minimum: 1}\n");
	fx_add_plugin("tests/plugins/echo.so");
	fx_add_plugin("plugins/lowercase.so");
	struct test_proc *d = fx_start_orbitd();
	test_expect_line(d, "control socket", WAIT);
	int mute = ctl_connect(fx.sock);
	ctl_send(mute, "{\"v\":1,\"id\":1,\"cmd\":\"trace\"}\n");
	struct tc *reader = tc_open(fx.sock, "{}");
	test_expect_line(d, "cut: it owes", 3 * WAIT);

	/* The daemon counts it and goes on; the reading client still gets
	 * the core's Discovers. */
	json_t *st = ctl_call(fx.sock, "{\"v\":1,\"id\":1,\"cmd\":\"status\"}\n");
	ck_assert_int_ge(json_integer_value(json_object_get(
		json_object_get(json_object_get(st, "result"), "control"), "slow_cut")), 1);
	json_decref(st);
	size_t n = json_array_size(reader->events);
	tc_find(reader, n, "sent", "core1", "discover", NULL, NULL);
	/* The mute client's connection was shut down: after what was queued
	 * to it, end of file. */
	char buf[65536];
	ssize_t r;
	double until = now() + WAIT;
	do {
		struct pollfd p = {.fd = mute, .events = POLLIN};
		poll(&p, 1, 100);
		r = recv(mute, buf, sizeof buf, 0);
	} while (r != 0 && now() < until);
	ck_assert_int_eq(r, 0);
	close(mute);
	tc_free(reader);
	test_stop_clean(d, WAIT);
}
END_TEST

static Suite *trace_suite(void)
{
	Suite *s = suite_create("trace");
	TCase *tc = tcase_create("local");
	tcase_add_checked_fixture(tc, setup, fx_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, handshake_keepalive_close_in_process_and_isolated);
	tcase_add_test(tc, mqtt_remote_plugin_and_a_malformed_offer);
	tcase_add_test(tc, a_trace_client_that_never_reads_is_cut);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(trace_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
