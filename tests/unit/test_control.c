/* test_control.c — orbitd/control.c (the control socket server) with raw
 * client sockets on a real event loop, and the real orbitctl binary against
 * that server with a canned handler (its options, exit statuses, tables and
 * JSON). orbitctl runs synchronously (test_run) while a helper thread runs
 * the server's loop; nothing else touches the loop meanwhile.
 *
 * Tests that need another uid (peer credentials, EACCES) run only as root.
 */
#include "control.h"
#include "evwait.h"
#include "log.h"
#include "proc.h"
#include "sockpath.h"
#include "tmpdir.h"

#include <check.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <grp.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define WAIT_S 10.0

static struct event_base *base;
static char *tmp;
static char *sock; /* tmp/run/orbitd.sock: its directory is octl_new's to create */
static struct octl *srv;

/* What the canned handler saw and holds. */
static char last_cmd[64];
static struct octl_req *held;
static int closes;
static int epipe_in_close;
static json_t *status_result;

static void on_held_close(void *arg)
{
	struct octl_req *r = arg;
	closes++;
	epipe_in_close = octl_req_event(r, json_object()) == -EPIPE;
	held = NULL;
	octl_reply_ok(r, NULL);
}

/* Subscribers for "burst" ("sub" requests, held until their client goes). */
#define MAX_SUBS 8
static struct octl_req *subs[MAX_SUBS];
static int n_subs;

static void on_sub_close(void *arg)
{
	for (int k = 0; k < n_subs; k++) {
		if (subs[k] == arg) {
			subs[k] = subs[--n_subs];
			break;
		}
	}
	octl_reply_ok(arg, NULL);
}

static void handler(void *ctx, struct octl_req *r, const char *cmd, json_t *args)
{
	(void)ctx;
	snprintf(last_cmd, sizeof last_cmd, "%s", cmd);
	if (!strcmp(cmd, "echo")) {
		octl_reply_ok(r, json_pack("{s:s,s:O,s:b,s:I,s:I}", "cmd", cmd, "args", args,
					   "privileged", octl_req_privileged(r), "uid",
					   (json_int_t)octl_req_uid(r), "pid",
					   (json_int_t)octl_req_pid(r)));
	} else if (!strcmp(cmd, "fail")) {
		octl_reply_error(r, OCTL_E_FAILED, "it failed: %d", 42);
	} else if (!strcmp(cmd, "stream")) {
		json_int_t n = json_integer_value(json_object_get(args, "n"));
		for (json_int_t i = 0; i < n; i++)
			ck_assert_int_eq(octl_req_event(r, json_pack("{s:s,s:I}", "type", "tick", "i", i)),
					 0);
		octl_reply_ok(r, json_pack("{s:I}", "n", n));
	} else if (!strcmp(cmd, "flood")) {
		json_int_t n = json_integer_value(json_object_get(args, "n"));
		size_t size = (size_t)json_integer_value(json_object_get(args, "size"));
		char *blob = malloc(size + 1);
		memset(blob, 'x', size);
		blob[size] = '\0';
		for (json_int_t i = 0; i < n; i++)
			ck_assert_int_eq(octl_req_event(r, json_pack("{s:s,s:I,s:s}", "type", "blob", "i",
								      i, "blob", blob)),
					 0);
		free(blob);
		octl_reply_ok(r, NULL);
	} else if (!strcmp(cmd, "sub")) {
		ck_assert_int_lt(n_subs, MAX_SUBS);
		subs[n_subs++] = r;
		octl_req_on_close(r, on_sub_close, r);
	} else if (!strcmp(cmd, "burst")) {
		/* n events of size bytes to every subscriber, in one go, as a
		 * plugin's burst of outputs reaches every watch. */
		json_int_t n = json_integer_value(json_object_get(args, "n"));
		size_t size = (size_t)json_integer_value(json_object_get(args, "size"));
		char *blob = malloc(size + 1);
		memset(blob, 'z', size);
		blob[size] = '\0';
		for (json_int_t i = 0; i < n; i++)
			for (int k = 0; k < n_subs; k++)
				octl_req_event(subs[k], json_pack("{s:s,s:I,s:s}", "type", "blob",
								  "i", i, "blob", blob));
		free(blob);
		octl_reply_ok(r, NULL);
	} else if (!strcmp(cmd, "big")) {
		size_t size = (size_t)json_integer_value(json_object_get(args, "size"));
		char *blob = malloc(size + 1);
		memset(blob, 'y', size);
		blob[size] = '\0';
		octl_reply_ok(r, json_pack("{s:s}", "blob", blob));
		free(blob);
	} else if (!strcmp(cmd, "hold") || !strcmp(cmd, "log-level")) {
		held = r;
		octl_req_on_close(r, on_held_close, r);
	} else if (!strcmp(cmd, "status")) {
		octl_reply_ok(r, json_deep_copy(status_result));
	} else if (!strcmp(cmd, "requirements")) {
		octl_reply_ok(r, json_pack("{s:[{s:s,s:[],s:i,s:n,s:i,s:i,s:b,s:[]},"
					   "{s:s,s:[s],s:i,s:i,s:i,s:i,s:b,s:[s]}]}",
					   "requirements", "operation", "lowercase", "mandatory",
					   "minimum", 1, "maximum", "connected", 1, "pending", 0,
					   "satisfied", 1, "mandatory_missing", "operation", "lamp",
					   "mandatory", "lamp-1", "minimum", 0, "maximum", 2,
					   "connected", 0, "pending", 1, "satisfied", 0,
					   "mandatory_missing", "lamp-1"));
	} else if (!strcmp(cmd, "execute")) {
		json_t *data = json_object_get(args, "data");
		ck_assert_int_eq(octl_req_event(r, json_pack("{s:s,s:s,s:s,s:O}", "type", "output",
							     "plugin", "p1", "operation",
							     json_string_value(json_object_get(
								     args, "operation")),
							     "value", json_array_get(data, 0))),
				 0);
		octl_reply_ok(r, json_pack("{s:I,s:i,s:O}", "sent", (json_int_t)json_array_size(data),
					   "outputs", 1, "args", args));
	} else if (!strcmp(cmd, "watch")) {
		octl_req_event(r, json_pack("{s:s,s:s,s:s,s:s}", "type", "connected", "time",
					    "2026-01-02T03:04:05Z", "operation", "lowercase",
					    "plugin", "lowercase-1"));
		held = r;
		octl_req_on_close(r, on_held_close, r);
	} else if (!strcmp(cmd, "reload")) {
		octl_reply_error(r, OCTL_E_PERMISSION_DENIED, "reload needs a privileged peer");
	} else {
		octl_reply_error(r, OCTL_E_UNKNOWN_COMMAND, "unknown command '%s'", cmd);
	}
}

static void setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	unsetenv("JOURNAL_STREAM");
	olog_init();
	olog_set_level(LOG_WARNING);
	ck_assert_ptr_nonnull(tmp = test_tmpdir_new("control"));
	sock = test_tmpdir_path(tmp, "run/orbitd.sock");
	ck_assert_ptr_nonnull(base = event_base_new());
	last_cmd[0] = '\0';
	held = NULL;
	n_subs = 0;
	closes = epipe_in_close = 0;
	status_result = json_pack(
		"{s:s,s:s,s:i,s:f,s:b,s:{s:i,s:i},s:{s:i,s:i,s:i,s:i},s:i,s:i,"
		"s:{s:b,s:{s:b,s:b}},s:{s:b,s:i,s:s}}",
		"identifier", "orbitd-test", "version", "0.1.0", "pid", 4242, "uptime", 3723.5,
		"compliant", 1, "requirements", "total", 3, "satisfied", 2, "plugins", "active", 4,
		"rejected", 1, "disabled", 0, "total", 5, "connections", 6, "pending", 0, "buses",
		"local", 1, "mqtt", "enabled", 1, "connected", 0, "last_reload", "ok", 1, "age", 75,
		"message", "requirements: unchanged");
	ck_assert_ptr_nonnull(status_result);
}

static void teardown(void)
{
	octl_free(srv);
	srv = NULL;
	event_base_free(base);
	json_decref(status_result);
	free(sock);
	test_tmpdir_free(tmp);
}

static struct octl *start_lim(const struct octl_limits *lim)
{
	char *err = NULL;
	struct octl *c = octl_new(base, sock, 0660, NULL, lim, handler, NULL, &err);
	ck_assert_msg(c != NULL, "octl_new: %s", err ? err : "?");
	return c;
}

static struct octl *start(const char *path, unsigned mode, const char *group, size_t max)
{
	char *err = NULL;
	struct octl_limits lim = {.max_request = max, .client_buffer = OCTL_DEFAULT_CLIENT_BUFFER};
	struct octl *c = octl_new(base, path, mode, group, &lim, handler, NULL, &err);
	ck_assert_msg(c != NULL, "octl_new: %s", err ? err : "?");
	return c;
}

/* ---- a raw client ------------------------------------------------------- */

struct cli {
	int fd;
	char *buf;
	size_t len, cap;
	bool eof;
};

static struct cli *cli_new(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct cli *c = calloc(1, sizeof *c);
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(c->fd, 0);
	ck_assert_int_eq(connect(c->fd, (struct sockaddr *)&sa, sizeof sa), 0);
	fcntl(c->fd, F_SETFL, O_NONBLOCK);
	return c;
}

static void cli_free(struct cli *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	free(c);
}

static void cli_send(struct cli *c, const char *s)
{
	size_t n = strlen(s);
	while (n) {
		ssize_t w = send(c->fd, s, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EAGAIN) {
			event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
			continue;
		}
		ck_assert_int_gt(w, 0);
		s += w;
		n -= (size_t)w;
	}
}

static void cli_read(struct cli *c)
{
	for (;;) {
		if (c->cap - c->len < 65536) {
			c->cap = c->cap ? c->cap * 2 : 1 << 17;
			c->buf = realloc(c->buf, c->cap);
		}
		ssize_t r = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
		if (r > 0)
			c->len += (size_t)r;
		else {
			if (r == 0)
				c->eof = true;
			return;
		}
	}
}

static bool cli_has_line(void *arg)
{
	struct cli *c = arg;
	cli_read(c);
	return (c->len && memchr(c->buf, '\n', c->len)) || c->eof;
}

/* Whether the server has read everything we sent (SIOCOUTQ: bytes still
 * in our socket's send queue, which for AF_UNIX is freed as the peer reads). */
static bool cli_sent_all_read(void *arg)
{
	struct cli *c = arg;
	int queued = -1;
	ck_assert_int_eq(ioctl(c->fd, SIOCOUTQ, &queued), 0);
	return queued == 0;
}

static bool cli_at_eof(void *arg)
{
	struct cli *c = arg;
	cli_read(c);
	return c->eof;
}

/* The next line as JSON (fails the test on timeout or bad JSON). */
static json_t *cli_line(struct cli *c)
{
	ck_assert_msg(test_run_until(base, cli_has_line, c, WAIT_S), "no line from the server");
	char *nl = memchr(c->buf, '\n', c->len);
	ck_assert_msg(nl != NULL, "connection closed without a line");
	json_error_t e;
	json_t *j = json_loadb(c->buf, (size_t)(nl - c->buf), 0, &e);
	ck_assert_msg(j != NULL, "bad JSON from the server: %s", e.text);
	size_t n = (size_t)(nl - c->buf) + 1;
	memmove(c->buf, nl + 1, c->len - n);
	c->len -= n;
	ck_assert_int_eq(json_integer_value(json_object_get(j, "v")), 1);
	return j;
}

static const char *err_code(json_t *m)
{
	ck_assert(json_is_false(json_object_get(m, "ok")));
	return json_string_value(json_object_get(json_object_get(m, "error"), "code"));
}

static const char *err_message(json_t *m)
{
	return json_string_value(json_object_get(json_object_get(m, "error"), "message"));
}

/* Send line and expect an error reply with code (and id null unless
 * id_expected). */
static void expect_error(struct cli *c, const char *line, const char *code, json_int_t id)
{
	cli_send(c, line);
	json_t *m = cli_line(c);
	ck_assert_msg(!strcmp(err_code(m), code), "%s: got %s", line, err_code(m));
	if (id < 0)
		ck_assert(json_is_null(json_object_get(m, "id")));
	else
		ck_assert_int_eq(json_integer_value(json_object_get(m, "id")), id);
	json_decref(m);
}

/* The echo request id answers with its id. */
static void expect_echo(struct cli *c, json_int_t id)
{
	char line[128];
	snprintf(line, sizeof line, "{\"v\":1,\"id\":%lld,\"cmd\":\"echo\"}\n", (long long)id);
	cli_send(c, line);
	json_t *m = cli_line(c);
	ck_assert(json_is_true(json_object_get(m, "ok")));
	ck_assert_int_eq(json_integer_value(json_object_get(m, "id")), id);
	json_decref(m);
}

static bool held_now(void *arg)
{
	(void)arg;
	return held != NULL;
}

static bool one_sub(void *arg)
{
	(void)arg;
	return n_subs == 1;
}

static bool n_subs_reached(void *arg)
{
	return n_subs == *(int *)arg;
}

static bool no_clients_but_one(void *arg)
{
	(void)arg;
	return octl_clients(srv) == 1;
}

static bool closed_once(void *arg)
{
	(void)arg;
	return closes == 1;
}

/* ---- server ------------------------------------------------------------- */

START_TEST(ok_and_error_replies)
{
	srv = start(sock, 0660, NULL, 0);
	struct cli *c = cli_new(sock);
	cli_send(c, "{\"v\":1,\"id\":7,\"cmd\":\"echo\",\"args\":{\"a\":[1,\"b\"]}}\n");
	json_t *m = cli_line(c);
	ck_assert(json_is_true(json_object_get(m, "ok")));
	ck_assert_int_eq(json_integer_value(json_object_get(m, "id")), 7);
	json_t *res = json_object_get(m, "result");
	ck_assert_str_eq(json_string_value(json_object_get(res, "cmd")), "echo");
	json_t *want = json_pack("{s:[i,s]}", "a", 1, "b");
	ck_assert(json_equal(json_object_get(res, "args"), want));
	json_decref(want);
	ck_assert_int_eq(json_integer_value(json_object_get(res, "pid")), getpid());
	json_decref(m);

	cli_send(c, "{\"v\":1,\"id\":\"x-1\",\"cmd\":\"fail\"}\n");
	m = cli_line(c);
	ck_assert_str_eq(err_code(m), "failed");
	ck_assert_str_eq(err_message(m), "it failed: 42");
	ck_assert_str_eq(json_string_value(json_object_get(m, "id")), "x-1");
	json_decref(m);

	/* No args: the handler gets {}. */
	cli_send(c, "{\"v\":1,\"id\":8,\"cmd\":\"echo\"}\n");
	m = cli_line(c);
	ck_assert(json_is_object(json_object_get(json_object_get(m, "result"), "args")));
	ck_assert_int_eq(json_object_size(json_object_get(json_object_get(m, "result"), "args")), 0);
	json_decref(m);
	ck_assert_uint_eq(octl_clients(srv), 1);
	ck_assert_str_eq(octl_path(srv), sock);
	cli_free(c);
}
END_TEST

START_TEST(several_requests_per_connection)
{
	srv = start(sock, 0660, NULL, 0);
	struct cli *c = cli_new(sock);
	cli_send(c, "{\"v\":1,\"id\":1,\"cmd\":\"echo\"}\n{\"v\":1,\"id\":2,\"cmd\":\"fail\"}\r\n"
		    "\n  \n{\"v\":1,\"id\":3,\"cmd\":\"echo\"}\n");
	for (json_int_t id = 1; id <= 3; id++) {
		json_t *m = cli_line(c);
		ck_assert_int_eq(json_integer_value(json_object_get(m, "id")), id);
		ck_assert(json_is_boolean(json_object_get(m, "ok")));
		json_decref(m);
	}
	/* A request split across writes: the server reads the first half
	 * (our socket's send queue drains), answers nothing for it, and
	 * answers once the rest comes. */
	cli_send(c, "{\"v\":1,\"id\":4,");
	ck_assert_msg(test_run_until(base, cli_sent_all_read, c, WAIT_S),
		      "the server never read the first half");
	ck_assert(!cli_has_line(c));
	cli_send(c, "\"cmd\":\"echo\"}\n");
	json_t *m = cli_line(c);
	ck_assert_int_eq(json_integer_value(json_object_get(m, "id")), 4);
	json_decref(m);
	cli_free(c);
}
END_TEST

START_TEST(stream_events_then_reply)
{
	srv = start(sock, 0660, NULL, 0);
	struct cli *c = cli_new(sock);
	cli_send(c, "{\"v\":1,\"id\":5,\"cmd\":\"stream\",\"args\":{\"n\":3}}\n");
	for (int i = 0; i < 3; i++) {
		json_t *m = cli_line(c);
		ck_assert_int_eq(json_integer_value(json_object_get(m, "id")), 5);
		json_t *ev = json_object_get(m, "event");
		ck_assert_str_eq(json_string_value(json_object_get(ev, "type")), "tick");
		ck_assert_int_eq(json_integer_value(json_object_get(ev, "i")), i);
		ck_assert_ptr_null(json_object_get(m, "ok"));
		json_decref(m);
	}
	json_t *m = cli_line(c);
	ck_assert(json_is_true(json_object_get(m, "ok")));
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(m, "result"), "n")), 3);
	json_decref(m);
	expect_echo(c, 6);
	cli_free(c);
}
END_TEST

START_TEST(held_request_does_not_block_later_ones)
{
	srv = start(sock, 0660, NULL, 0);
	struct cli *c = cli_new(sock);
	cli_send(c, "{\"v\":1,\"id\":1,\"cmd\":\"hold\"}\n");
	expect_echo(c, 2);
	ck_assert_ptr_nonnull(held);
	ck_assert_int_eq(octl_req_event(held, json_pack("{s:s}", "type", "late")), 0);
	octl_reply_ok(held, json_pack("{s:b}", "done", 1));
	held = NULL;
	json_t *m = cli_line(c);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(m, "event"), "type")),
			 "late");
	json_decref(m);
	m = cli_line(c);
	ck_assert_int_eq(json_integer_value(json_object_get(m, "id")), 1);
	ck_assert(json_is_true(json_object_get(json_object_get(m, "result"), "done")));
	json_decref(m);
	ck_assert_int_eq(closes, 0);
	cli_free(c);
}
END_TEST

START_TEST(bad_json_keeps_connection)
{
	srv = start(sock, 0660, NULL, 0);
	struct cli *c = cli_new(sock);
	cli_send(c, "{nope\n");
	json_t *m = cli_line(c);
	ck_assert_str_eq(err_code(m), "bad_json");
	ck_assert(json_is_null(json_object_get(m, "id")));
	ck_assert_ptr_nonnull(strstr(err_message(m), "invalid JSON"));
	json_decref(m);
	expect_error(c, "{\"v\":1,\"id\":1,\"cmd\":\"echo\"} trailing\n", "bad_json", -1);
	expect_error(c, "\xff\xfe\n", "bad_json", -1);
	expect_error(c, "{\"v\":1,\"v\":1,\"id\":1,\"cmd\":\"echo\"}\n", "bad_json", -1);
	expect_echo(c, 1);
	cli_free(c);
}
END_TEST

START_TEST(malformed_requests_are_bad_request)
{
	srv = start(sock, 0660, NULL, 0);
	struct cli *c = cli_new(sock);
	expect_error(c, "[1,2]\n", "bad_request", -1);
	expect_error(c, "42\n", "bad_request", -1);
	expect_error(c, "{\"v\":1,\"cmd\":\"echo\"}\n", "bad_request", -1);
	expect_error(c, "{\"v\":1,\"id\":1.5,\"cmd\":\"echo\"}\n", "bad_request", -1);
	expect_error(c, "{\"v\":1,\"id\":null,\"cmd\":\"echo\"}\n", "bad_request", -1);
	expect_error(c, "{\"v\":1,\"id\":3}\n", "bad_request", 3);
	expect_error(c, "{\"v\":1,\"id\":4,\"cmd\":7}\n", "bad_request", 4);
	expect_error(c, "{\"v\":1,\"id\":5,\"cmd\":\"\"}\n", "bad_request", 5);
	expect_error(c, "{\"v\":1,\"id\":6,\"cmd\":\"echo\",\"args\":[]}\n", "bad_request", 6);
	expect_error(c, "{\"v\":1,\"id\":7,\"cmd\":\"echo\",\"args\":null}\n", "bad_request", 7);
	expect_error(c, "{\"id\":8,\"cmd\":\"echo\"}\n", "bad_request", 8);
	expect_error(c, "{\"v\":\"1\",\"id\":9,\"cmd\":\"echo\"}\n", "bad_request", 9);
	ck_assert_str_eq(last_cmd, "");
	expect_echo(c, 10);
	cli_free(c);
}
END_TEST

START_TEST(other_version_is_unsupported)
{
	srv = start(sock, 0660, NULL, 0);
	struct cli *c = cli_new(sock);
	cli_send(c, "{\"v\":2,\"id\":11,\"cmd\":\"echo\"}\n");
	json_t *m = cli_line(c);
	ck_assert_str_eq(err_code(m), "unsupported_version");
	ck_assert_int_eq(json_integer_value(json_object_get(m, "id")), 11);
	ck_assert_ptr_nonnull(strstr(err_message(m), "this orbitd speaks v1"));
	json_decref(m);
	ck_assert_str_eq(last_cmd, "");
	expect_echo(c, 12);
	cli_free(c);
}
END_TEST

START_TEST(oversize_line_is_too_large)
{
	srv = start(sock, 0660, NULL, 64);
	struct cli *c = cli_new(sock);
	char big[300];
	memset(big, 'a', sizeof big - 2);
	big[sizeof big - 2] = '\n';
	big[sizeof big - 1] = '\0';
	/* Terminated in one go. */
	expect_error(c, big, "too_large", -1);
	expect_echo(c, 1);
	/* Unterminated: refused as soon as it is too long, the rest of the line
	 * is discarded when it comes. */
	big[sizeof big - 2] = '\0';
	expect_error(c, big, "too_large", -1);
	cli_send(c, "still the same line, \"cmd\":\"echo\"}\n");
	expect_echo(c, 2);
	/* Exactly at the limit is fine. */
	char line[65];
	snprintf(line, sizeof line, "{\"v\":1,\"id\":3,\"cmd\":\"echo\",\"args\":{\"x\":\"%s\"}}",
		 "012345678901234567890");
	ck_assert_uint_eq(strlen(line), 64);
	cli_send(c, line);
	cli_send(c, "\n");
	json_t *m = cli_line(c);
	ck_assert(json_is_true(json_object_get(m, "ok")));
	json_decref(m);
	ck_assert_uint_eq(octl_clients(srv), 1);
	cli_free(c);
}
END_TEST

START_TEST(unknown_command_reaches_handler)
{
	srv = start(sock, 0660, NULL, 0);
	struct cli *c = cli_new(sock);
	expect_error(c, "{\"v\":1,\"id\":1,\"cmd\":\"frobnicate\",\"x\":1}\n", "unknown_command", 1);
	ck_assert_str_eq(last_cmd, "frobnicate");
	cli_free(c);
}
END_TEST

START_TEST(same_uid_is_privileged)
{
	srv = start(sock, 0660, NULL, 0);
	struct cli *c = cli_new(sock);
	cli_send(c, "{\"v\":1,\"id\":1,\"cmd\":\"echo\"}\n");
	json_t *m = cli_line(c);
	json_t *res = json_object_get(m, "result");
	ck_assert(json_is_true(json_object_get(res, "privileged")));
	ck_assert_int_eq(json_integer_value(json_object_get(res, "uid")), geteuid());
	json_decref(m);
	cli_free(c);
}
END_TEST

/* As uid nobody with primary group gid and supplementary group extra (if
 * not -1): connect, send echo, exit 10 if privileged, 11 if not, 1 on
 * failure. */
static pid_t fork_peer(gid_t gid, gid_t extra)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid)
		return pid;
	alarm(10);
	if (setgroups(extra == (gid_t)-1 ? 0 : 1, &extra) < 0 || setgid(gid) < 0 ||
	    setuid(65534) < 0)
		_exit(1);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		_exit(1);
	const char req[] = "{\"v\":1,\"id\":1,\"cmd\":\"echo\"}\n";
	if (write(fd, req, sizeof req - 1) != (ssize_t)sizeof req - 1)
		_exit(1);
	char buf[4096];
	size_t n = 0;
	ssize_t r;
	while (n < sizeof buf - 1 && (r = read(fd, buf + n, sizeof buf - 1 - n)) > 0) {
		n += (size_t)r;
		if (memchr(buf, '\n', n))
			break;
	}
	buf[n] = '\0';
	if (strstr(buf, "\"privileged\":true"))
		_exit(10);
	_exit(strstr(buf, "\"privileged\":false") ? 11 : 1);
}

static bool child_done(void *arg)
{
	int *st = arg;
	return waitpid((pid_t)st[0], &st[1], WNOHANG) == (pid_t)st[0];
}

static int peer_status(gid_t gid, gid_t extra)
{
	int st[2] = {fork_peer(gid, extra), 0};
	ck_assert(test_run_until(base, child_done, st, WAIT_S));
	ck_assert(WIFEXITED(st[1]));
	return WEXITSTATUS(st[1]);
}

START_TEST(other_uid_is_read_only_unless_in_group)
{
	if (geteuid() != 0)
		return; /* needs root to become another uid */
	ck_assert_int_eq(chmod(tmp, 0755), 0);
	srv = start(sock, 0666, NULL, 0);
	ck_assert_int_eq(peer_status(65534, (gid_t)-1), 11);
	octl_free(srv);
	/* With a control group, its members are privileged, by primary or
	 * supplementary group. */
	struct group *g = getgrgid(0);
	ck_assert_ptr_nonnull(g);
	srv = start(sock, 0666, g->gr_name, 0);
	ck_assert_int_eq(peer_status(0, (gid_t)-1), 10);
	ck_assert_int_eq(peer_status(65534, 0), 10);
	ck_assert_int_eq(peer_status(65534, (gid_t)-1), 11);
	ck_assert_int_eq(peer_status(65534, 65534), 11);
}
END_TEST

START_TEST(stale_socket_is_replaced)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char *dir = test_tmpdir_path(tmp, "run");
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	free(dir);
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	close(fd); /* the file stays, nobody listens */
	srv = start(sock, 0660, NULL, 0);
	struct cli *c = cli_new(sock);
	expect_echo(c, 1);
	cli_free(c);
}
END_TEST

START_TEST(socket_in_use_is_refused)
{
	char *err = NULL;
	srv = start(sock, 0660, NULL, 0);
	struct octl *two = octl_new(base, sock, 0660, NULL, NULL, handler, NULL, &err);
	ck_assert_ptr_null(two);
	ck_assert_int_eq(errno, EADDRINUSE);
	ck_assert_ptr_nonnull(err);
	ck_assert_ptr_nonnull(strstr(err, "is in use by another orbitd"));
	ck_assert_ptr_nonnull(strstr(err, sock));
	free(err);
	/* The first one still has its socket. */
	struct cli *c = cli_new(sock);
	expect_echo(c, 1);
	cli_free(c);
}
END_TEST

START_TEST(setup_errors)
{
	char *err = NULL;
	/* Not a socket. */
	ck_assert_int_eq(test_tmpdir_write(tmp, "file", "x"), 0);
	char *file = test_tmpdir_path(tmp, "file");
	ck_assert_ptr_null(octl_new(base, file, 0660, NULL, NULL, handler, NULL, &err));
	ck_assert_ptr_nonnull(strstr(err, "is not a socket"));
	free(err);
	struct stat st;
	ck_assert_int_eq(stat(file, &st), 0); /* left alone */
	free(file);
	/* Unknown group. */
	ck_assert_ptr_null(octl_new(base, sock, 0660, "no-such-group-orbit", NULL, handler, NULL, &err));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "no-such-group-orbit"));
	free(err);
	/* Too long for sun_path. */
	char longp[200];
	memset(longp, 'a', sizeof longp - 1);
	longp[0] = '/';
	longp[sizeof longp - 1] = '\0';
	ck_assert_ptr_null(octl_new(base, longp, 0660, NULL, NULL, handler, NULL, &err));
	ck_assert_int_eq(errno, ENAMETOOLONG);
	free(err);
	/* err may be NULL. */
	ck_assert_ptr_null(octl_new(base, longp, 0660, NULL, NULL, handler, NULL, NULL));
}
END_TEST

START_TEST(mode_bits_applied_and_file_removed)
{
	struct stat st;
	mode_t old = umask(077);
	srv = start(sock, 0660, NULL, 0);
	umask(old);
	ck_assert_int_eq(stat(sock, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_int_eq(st.st_mode & 07777, 0660);
	octl_free(srv);
	srv = NULL;
	ck_assert_int_eq(stat(sock, &st), -1);
	ck_assert_int_eq(errno, ENOENT);

	old = umask(0);
	srv = start(sock, 0600, NULL, 0);
	umask(old);
	ck_assert_int_eq(stat(sock, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	/* Replaced by someone else: not ours to unlink. */
	ck_assert_int_eq(unlink(sock), 0);
	ck_assert_int_eq(test_tmpdir_write(tmp, "run/orbitd.sock", "other"), 0);
	octl_free(srv);
	srv = NULL;
	ck_assert_int_eq(stat(sock, &st), 0);
}
END_TEST

START_TEST(disconnect_runs_on_close)
{
	srv = start(sock, 0660, NULL, 0);
	struct cli *c = cli_new(sock);
	cli_send(c, "{\"v\":1,\"id\":1,\"cmd\":\"hold\"}\n");
	expect_echo(c, 2);
	ck_assert_ptr_nonnull(held);
	close(c->fd);
	c->fd = -1;
	ck_assert(test_run_until(base, closed_once, NULL, WAIT_S));
	ck_assert(epipe_in_close);
	ck_assert_ptr_null(held);
	ck_assert_uint_eq(octl_clients(srv), 0);
	cli_free(c);
}
END_TEST

START_TEST(half_close_still_gets_replies)
{
	srv = start(sock, 0660, NULL, 0);
	struct cli *c = cli_new(sock);
	/* The last request unterminated, then EOF: like `nc -N` or socat. */
	cli_send(c, "{\"v\":1,\"id\":1,\"cmd\":\"hold\"}\n{\"v\":1,\"id\":2,\"cmd\":\"echo\"}");
	ck_assert_int_eq(shutdown(c->fd, SHUT_WR), 0);
	json_t *m = cli_line(c);
	ck_assert_int_eq(json_integer_value(json_object_get(m, "id")), 2);
	json_decref(m);
	ck_assert_ptr_nonnull(held);
	ck_assert_int_eq(closes, 0);
	octl_reply_ok(held, NULL);
	held = NULL;
	m = cli_line(c);
	ck_assert_int_eq(json_integer_value(json_object_get(m, "id")), 1);
	json_decref(m);
	/* Everything answered: the server closes. */
	ck_assert(test_run_until(base, cli_at_eof, c, WAIT_S));
	ck_assert_uint_eq(octl_clients(srv), 0);
	cli_free(c);
}
END_TEST

/* held is set, then three more loop iterations ran (counted in *arg). */
static bool held_then_loops(void *arg)
{
	int *loops = arg;
	return held && ++*loops > 3;
}

START_TEST(half_closed_then_gone_runs_on_close)
{
	srv = start(sock, 0660, NULL, 0);
	struct cli *c = cli_new(sock);
	cli_send(c, "{\"v\":1,\"id\":1,\"cmd\":\"hold\"}\n");
	ck_assert_int_eq(shutdown(c->fd, SHUT_WR), 0);
	/* Evidence that the server had its chance to act on the EOF: the
	 * request reached the handler, and then the loop ran a few more
	 * times with the socket readable (at EOF), which is when a
	 * bufferevent reports it. No reply and no close came of it. */
	int loops = 0;
	ck_assert(test_run_until(base, held_then_loops, &loops, WAIT_S));
	ck_assert(!cli_has_line(c));
	close(c->fd);
	c->fd = -1;
	ck_assert(test_run_until(base, closed_once, NULL, WAIT_S));
	ck_assert_uint_eq(octl_clients(srv), 0);
	cli_free(c);
}
END_TEST

START_TEST(free_runs_on_close)
{
	srv = start(sock, 0660, NULL, 0);
	struct cli *c = cli_new(sock);
	cli_send(c, "{\"v\":1,\"id\":1,\"cmd\":\"hold\"}\n");
	expect_echo(c, 2);
	ck_assert_ptr_nonnull(held);
	octl_free(srv);
	srv = NULL;
	ck_assert_int_eq(closes, 1);
	ck_assert(test_run_until(base, cli_at_eof, c, WAIT_S));
	cli_free(c);
}
END_TEST

START_TEST(slow_reader_gets_overflow_notice)
{
	srv = start(sock, 0660, NULL, 0);
	struct cli *c = cli_new(sock);
	/* 3.5 MB of events while the client reads nothing: beyond half its
	 * client_buffer (4 MiB) they are dropped and counted, never blocking;
	 * what it owes (unsent and dropped) stays within the bound, so the
	 * client is not cut. */
	const int n = 35;
	char req[128];
	snprintf(req, sizeof req,
		 "{\"v\":1,\"id\":1,\"cmd\":\"flood\",\"args\":{\"n\":%d,\"size\":100000}}\n", n);
	cli_send(c, req);
	while (strcmp(last_cmd, "flood") != 0)
		event_base_loop(base, EVLOOP_ONCE);
	json_int_t events = 0, dropped = 0, next_i = 0;
	bool overflow_seen = false;
	for (;;) {
		json_t *m = cli_line(c);
		json_t *ev = json_object_get(m, "event");
		if (!ev) {
			ck_assert(json_is_true(json_object_get(m, "ok")));
			json_decref(m);
			break;
		}
		const char *type = json_string_value(json_object_get(ev, "type"));
		if (!strcmp(type, "overflow")) {
			ck_assert(!overflow_seen);
			overflow_seen = true;
			dropped = json_integer_value(json_object_get(ev, "dropped"));
		} else {
			ck_assert(!overflow_seen);
			ck_assert_int_eq(json_integer_value(json_object_get(ev, "i")), next_i++);
			events++;
		}
		json_decref(m);
	}
	ck_assert(overflow_seen);
	ck_assert_int_gt(dropped, 0);
	ck_assert_int_eq(events + dropped, n);
	expect_echo(c, 2);
	cli_free(c);
}
END_TEST

START_TEST(pipelined_requests_with_unread_replies)
{
	srv = start(sock, 0660, NULL, 0);
	struct cli *c = cli_new(sock);
	/* 40 MB of replies the client does not read at first: past the cap the
	 * server stops handling requests instead of buffering without end, and
	 * answers every one, in order, once the client reads. */
	const int n = 40;
	char req[128];
	for (int i = 0; i < n; i++) {
		snprintf(req, sizeof req,
			 "{\"v\":1,\"id\":%d,\"cmd\":\"big\",\"args\":{\"size\":1000000}}\n", i);
		cli_send(c, req);
	}
	while (strcmp(last_cmd, "big") != 0)
		event_base_loop(base, EVLOOP_ONCE);
	for (int i = 0; i < n; i++) {
		json_t *m = cli_line(c);
		ck_assert_int_eq(json_integer_value(json_object_get(m, "id")), i);
		ck_assert_uint_eq(json_string_length(json_object_get(json_object_get(m, "result"),
								     "blob")),
				  1000000);
		json_decref(m);
	}
	expect_echo(c, n);
	cli_free(c);
}
END_TEST

START_TEST(max_clients_refuses_with_a_line)
{
	struct octl_limits lim = {.max_clients = 2};
	srv = start_lim(&lim);
	struct cli *a = cli_new(sock), *b = cli_new(sock);
	expect_echo(a, 1);
	expect_echo(b, 1);
	struct cli *c = cli_new(sock);
	json_t *m = cli_line(c);
	ck_assert_str_eq(err_code(m), OCTL_E_TOO_MANY_CLIENTS);
	ck_assert(json_is_null(json_object_get(m, "id")));
	json_decref(m);
	ck_assert(test_run_until(base, cli_at_eof, c, WAIT_S));
	struct octl_stats st;
	octl_stats(srv, &st);
	ck_assert_uint_eq(st.refused, 1);
	ck_assert_uint_eq(st.clients, 2);
	/* A place freed is a place taken. */
	cli_free(a);
	ck_assert(test_run_until(base, no_clients_but_one, NULL, WAIT_S));
	struct cli *d = cli_new(sock);
	expect_echo(d, 2);
	cli_free(b);
	cli_free(c);
	cli_free(d);
}
END_TEST

START_TEST(idle_client_closed_busy_one_kept)
{
	struct octl_limits lim = {.idle_timeout = 0.2};
	srv = start_lim(&lim);
	/* First in, same timeout: a client with a request open and nothing
	 * unsent (a watch waiting for events) is busy. */
	struct cli *busy = cli_new(sock);
	cli_send(busy, "{\"v\":1,\"id\":1,\"cmd\":\"hold\"}\n");
	ck_assert(test_run_until(base, held_now, NULL, WAIT_S));
	struct cli *idle = cli_new(sock);
	expect_echo(idle, 1);
	ck_assert(test_run_until(base, cli_at_eof, idle, WAIT_S));
	struct octl_stats st;
	octl_stats(srv, &st);
	ck_assert_uint_eq(st.idle_closed, 1);
	ck_assert_uint_eq(st.clients, 1);
	ck_assert_ptr_nonnull(held);
	ck_assert(!busy->eof);
	expect_echo(busy, 2);
	cli_free(idle);
	cli_free(busy);
}
END_TEST

START_TEST(client_that_stops_reading_is_cut)
{
	struct octl_limits lim = {.client_buffer = 64 << 10};
	srv = start_lim(&lim);
	struct cli *slow = cli_new(sock), *other = cli_new(sock);
	cli_send(slow, "{\"v\":1,\"id\":1,\"cmd\":\"sub\"}\n");
	ck_assert(test_run_until(base, one_sub, NULL, WAIT_S));
	/* 1 MB at once: far past what it may owe. */
	cli_send(other, "{\"v\":1,\"id\":1,\"cmd\":\"burst\",\"args\":{\"n\":100,\"size\":10000}}\n");
	json_t *m = cli_line(other);
	ck_assert(json_is_true(json_object_get(m, "ok")));
	json_decref(m);
	ck_assert(test_run_until(base, cli_at_eof, slow, WAIT_S));
	ck_assert_int_eq(n_subs, 0);
	struct octl_stats st;
	octl_stats(srv, &st);
	ck_assert_uint_eq(st.cut, 1);
	ck_assert_uint_eq(st.buffered, 0);
	expect_echo(other, 2);
	cli_free(slow);
	cli_free(other);
}
END_TEST

struct eofs {
	struct cli **c;
	int n, want;
};

/* Exactly want of the clients are at EOF (the others are read dry). */
static bool eofs_reached(void *arg)
{
	struct eofs *e = arg;
	int k, n = 0;
	for (k = 0; k < e->n; k++) {
		cli_read(e->c[k]);
		e->c[k]->len = 0;
		n += e->c[k]->eof;
	}
	return n == e->want;
}

START_TEST(total_buffer_cuts_the_slowest_first)
{
	struct octl_limits lim = {.client_buffer = 8 << 20, .total_buffer = 256 << 10};
	srv = start_lim(&lim);
	struct cli *c[3], *other = cli_new(sock);
	for (int k = 0; k < 3; k++) {
		c[k] = cli_new(sock);
		cli_send(c[k], "{\"v\":1,\"id\":1,\"cmd\":\"sub\"}\n");
		ck_assert(test_run_until(base, n_subs_reached, &(int){k + 1}, WAIT_S));
	}
	/* 3 x 200 KB queued in one go: more than 256 KiB in all. */
	cli_send(other, "{\"v\":1,\"id\":1,\"cmd\":\"burst\",\"args\":{\"n\":10,\"size\":20000}}\n");
	json_t *m = cli_line(other);
	ck_assert(json_is_true(json_object_get(m, "ok")));
	json_decref(m);
	struct octl_stats st;
	octl_stats(srv, &st);
	ck_assert_uint_ge(st.cut, 1);
	ck_assert_uint_le(st.buffered, 256 << 10);
	/* The cut ones see EOF; at least one subscriber was kept. */
	struct eofs e = {.c = c, .n = 3, .want = (int)st.cut};
	ck_assert(test_run_until(base, eofs_reached, &e, WAIT_S));
	ck_assert_int_lt(e.want, 3);
	ck_assert_int_eq(n_subs, 3 - e.want);
	for (int k = 0; k < 3; k++)
		cli_free(c[k]);
	cli_free(other);
}
END_TEST

START_TEST(sockpath_rules)
{
	char *p;
	if (geteuid() == 0) {
		p = sockpath_default();
		ck_assert_str_eq(p, SOCKPATH_SYSTEM);
		free(p);
		return;
	}
	setenv("XDG_RUNTIME_DIR", "/run/user/4242", 1);
	p = sockpath_default();
	if (strcmp(p, SOCKPATH_SYSTEM) != 0)
		ck_assert_str_eq(p, "/run/user/4242/orbitd/orbitd.sock");
	free(p);
	unsetenv("XDG_RUNTIME_DIR");
	p = sockpath_default();
	char want[64];
	snprintf(want, sizeof want, "/tmp/orbitd-%u/orbitd.sock", (unsigned)geteuid());
	if (strcmp(p, SOCKPATH_SYSTEM) != 0)
		ck_assert_str_eq(p, want);
	free(p);
}
END_TEST

/* ---- orbitctl against the server ------------------------------------------- */

struct bg {
	pthread_t thread;
	atomic_bool stop;
};

static bool bg_stopped(void *arg)
{
	struct bg *b = arg;
	return atomic_load(&b->stop);
}

static void *bg_main(void *arg)
{
	test_run_until(base, bg_stopped, arg, 120);
	return NULL;
}

/* Run the server's loop in a thread until bg_stop. */
static void bg_start(struct bg *b)
{
	atomic_store(&b->stop, false);
	ck_assert_int_eq(pthread_create(&b->thread, NULL, bg_main, b), 0);
}

static void bg_stop(struct bg *b)
{
	atomic_store(&b->stop, true);
	pthread_join(b->thread, NULL);
}

static char *orbitctl_path(void)
{
	const char *b = getenv("ORBIT_BUILD");
	char *p = NULL;
	ck_assert_int_gt(asprintf(&p, "%s/bin/orbitctl", b ? b : "build"), 0);
	return p;
}

/* Run orbitctl with args (NULL-terminated) and env; its exit status. */
static int ctl_env(char *const env[], char **out, char **err, const char *first, ...)
{
	char *argv[32];
	int n = 0;
	va_list ap;
	argv[n++] = orbitctl_path();
	va_start(ap, first);
	for (const char *a = first; a && n < 31; a = va_arg(ap, const char *))
		argv[n++] = (char *)a;
	va_end(ap);
	argv[n] = NULL;
	struct bg b;
	bg_start(&b);
	int st = test_run(argv, env, NULL, 30, out, err);
	bg_stop(&b);
	free(argv[0]);
	ck_assert_msg(st != -1 && WIFEXITED(st), "orbitctl did not exit");
	return WEXITSTATUS(st);
}

#define CTL(out, err, ...) ctl_env(NULL, out, err, __VA_ARGS__, NULL)

START_TEST(orbitctl_usage_errors)
{
	char *out, *err;
	ck_assert_int_eq(CTL(&out, &err, "-s", sock), 2);
	ck_assert_ptr_nonnull(strstr(err, "Usage: orbitctl"));
	free(out);
	free(err);
	ck_assert_int_eq(CTL(&out, &err, "bogus"), 2);
	ck_assert_ptr_nonnull(strstr(err, "unknown command 'bogus'"));
	free(out);
	free(err);
	ck_assert_int_eq(CTL(&out, &err, "execute"), 2);
	free(out);
	free(err);
	ck_assert_int_eq(CTL(&out, &err, "execute", "op", "--data", "not json"), 2);
	ck_assert_ptr_nonnull(strstr(err, "not JSON"));
	free(out);
	free(err);
	ck_assert_int_eq(CTL(&out, &err, "execute", "op", "--any", "--all"), 2);
	free(out);
	free(err);
	ck_assert_int_eq(CTL(&out, &err, "-t", "soon", "status"), 2);
	free(out);
	free(err);
	ck_assert_int_eq(CTL(&out, &err, "status", "--frob"), 2);
	ck_assert_ptr_nonnull(strstr(err, "--frob"));
	free(out);
	free(err);
	ck_assert_int_eq(CTL(&out, &err, "status", "extra"), 2);
	free(out);
	free(err);
	ck_assert_int_eq(CTL(&out, &err, "--help"), 0);
	ck_assert_ptr_nonnull(strstr(out, "Usage: orbitctl"));
	free(out);
	free(err);
}
END_TEST

START_TEST(orbitctl_cannot_connect)
{
	char *out, *err;
	char *missing = test_tmpdir_path(tmp, "nothing.sock");
	ck_assert_int_eq(CTL(&out, &err, "-s", missing, "status"), 3);
	ck_assert_ptr_nonnull(strstr(err, missing));
	ck_assert_ptr_nonnull(strstr(err, "ORBITD_SOCKET"));
	free(out);
	free(err);
	/* ORBITD_SOCKET is used when -s is not given. */
	char *envv;
	ck_assert_int_gt(asprintf(&envv, "ORBITD_SOCKET=%s", missing), 0);
	char *env[] = {envv, NULL};
	ck_assert_int_eq(ctl_env(env, &out, &err, "status", NULL), 3);
	ck_assert_ptr_nonnull(strstr(err, missing));
	free(out);
	free(err);
	free(envv);
	free(missing);
}
END_TEST

/* A server that answers one line with reply, then closes. */
struct raw {
	int lfd;
	const char *reply;
	pthread_t thread;
};

static void *raw_main(void *arg)
{
	struct raw *r = arg;
	int fd = accept(r->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	char buf[4096];
	size_t n = 0;
	ssize_t k;
	while (n < sizeof buf && (k = read(fd, buf + n, sizeof buf - n)) > 0) {
		n += (size_t)k;
		if (memchr(buf, '\n', n))
			break;
	}
	if (write(fd, r->reply, strlen(r->reply)) < 0)
		perror("raw server write");
	close(fd);
	return NULL;
}

static int ctl_against_raw(const char *reply, char **err)
{
	struct raw r = {.reply = reply};
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char *path = test_tmpdir_path(tmp, "raw.sock");
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	unlink(path);
	r.lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(r.lfd, (struct sockaddr *)&sa, sizeof sa), 0);
	ck_assert_int_eq(listen(r.lfd, 4), 0);
	ck_assert_int_eq(pthread_create(&r.thread, NULL, raw_main, &r), 0);
	char *bin = orbitctl_path();
	char *argv[] = {bin, "-s", path, "status", NULL};
	int st = test_run(argv, NULL, NULL, 30, NULL, err);
	pthread_join(r.thread, NULL);
	close(r.lfd);
	free(bin);
	free(path);
	ck_assert(st != -1 && WIFEXITED(st));
	return WEXITSTATUS(st);
}

START_TEST(orbitctl_protocol_mismatch)
{
	char *err;
	ck_assert_int_eq(ctl_against_raw("hello there\n", &err), 5);
	ck_assert_ptr_nonnull(strstr(err, "protocol"));
	free(err);
	ck_assert_int_eq(ctl_against_raw("{\"v\":2,\"id\":1,\"ok\":true,\"result\":{}}\n", &err), 5);
	ck_assert_ptr_nonnull(strstr(err, "v2"));
	free(err);
	ck_assert_int_eq(ctl_against_raw("{\"v\":1,\"id\":1,\"ok\":false,\"error\":{\"code\":"
					 "\"unsupported_version\",\"message\":\"this orbitd speaks "
					 "v1\"}}\n",
					 &err),
			 5);
	free(err);
	/* Unterminated garbage before EOF, and a bare EOF. */
	ck_assert_int_eq(ctl_against_raw("\x1b[31mred", &err), 5);
	ck_assert_ptr_null(strchr(err, '\x1b'));
	free(err);
	ck_assert_int_eq(ctl_against_raw("", &err), 1);
	free(err);
}
END_TEST

START_TEST(orbitctl_permission_denied)
{
	char *out, *err;
	srv = start(sock, 0660, NULL, 0);
	ck_assert_int_eq(CTL(&out, &err, "-s", sock, "reload"), 4);
	ck_assert_ptr_nonnull(strstr(err, "reload needs a privileged peer"));
	free(out);
	free(err);
	if (geteuid() != 0 || access("/usr/bin/setpriv", X_OK) != 0)
		return;
	/* EACCES on connect: the socket is 0660 root's. */
	ck_assert_int_eq(chmod(tmp, 0755), 0);
	char *bin = orbitctl_path();
	char *argv[] = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
			bin, "-s", sock, "status", NULL};
	struct bg b;
	bg_start(&b);
	int st = test_run(argv, NULL, NULL, 30, &out, &err);
	bg_stop(&b);
	ck_assert(st != -1 && WIFEXITED(st));
	ck_assert_msg(WEXITSTATUS(st) == 4, "exit %d: %s", WEXITSTATUS(st), err);
	ck_assert_ptr_nonnull(strstr(err, "permission denied"));
	free(out);
	free(err);
	free(bin);
}
END_TEST

START_TEST(orbitctl_status_table_and_json)
{
	char *out, *err;
	srv = start(sock, 0660, NULL, 0);
	ck_assert_int_eq(CTL(&out, &err, "-s", sock, "status"), 0);
	ck_assert_msg(strstr(out, "identifier    orbitd-test\n") != NULL, "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "compliant     yes\n"));
	ck_assert_ptr_nonnull(strstr(out, "uptime        1h02m\n"));
	ck_assert_ptr_nonnull(strstr(out, "requirements  2 of 3 satisfied\n"));
	ck_assert_ptr_nonnull(strstr(out, "4 active, 1 rejected, 0 disabled, 5 in all"));
	ck_assert_ptr_nonnull(strstr(out, "local, mqtt NOT connected"));
	ck_assert_ptr_nonnull(strstr(out, "ok 1m15s ago: requirements: unchanged"));
	ck_assert_ptr_null(strchr(out, '\x1b')); /* not a TTY: no colour */
	ck_assert_str_eq(err, "");
	free(out);
	free(err);

	/* --json after the command, too. */
	ck_assert_int_eq(CTL(&out, &err, "status", "--json", "-s", sock), 0);
	json_error_t e;
	json_t *j = json_loads(out, 0, &e);
	ck_assert_msg(j != NULL, "%s: %s", e.text, out);
	ck_assert(json_equal(j, status_result));
	json_decref(j);
	free(out);
	free(err);
}
END_TEST

START_TEST(orbitctl_requirements_unsatisfied)
{
	char *out, *err;
	srv = start(sock, 0660, NULL, 0);
	ck_assert_int_eq(CTL(&out, &err, "-s", sock, "requirements"), 1);
	ck_assert_ptr_nonnull(strstr(out, "OPERATION"));
	ck_assert_ptr_nonnull(strstr(out, "lamp-1"));
	free(out);
	free(err);
	ck_assert_int_eq(CTL(&out, &err, "-s", sock, "-j", "requirements"), 1);
	json_t *j = json_loads(out, 0, NULL);
	ck_assert_int_eq(json_array_size(json_object_get(j, "requirements")), 2);
	json_decref(j);
	free(out);
	free(err);
}
END_TEST

START_TEST(orbitctl_execute_events)
{
	char *out, *err;
	srv = start(sock, 0660, NULL, 0);
	ck_assert_int_eq(CTL(&out, &err, "-s", sock, "execute", "lowercase", "--data", "\"HeLLo\"",
			     "--data", "{\"a\":1}", "--plugin", "p1", "--wait", "2"),
			 0);
	ck_assert_msg(strstr(out, "p1 lowercase \"HeLLo\"\nsent 2, outputs 1\n") != NULL, "%s", out);
	free(out);
	free(err);
	ck_assert_int_eq(CTL(&out, &err, "-s", sock, "--json", "execute", "lowercase"), 0);
	char *nl = strchr(out, '\n');
	ck_assert_ptr_nonnull(nl);
	json_t *ev = json_loadb(out, (size_t)(nl - out), 0, NULL);
	ck_assert_str_eq(json_string_value(json_object_get(ev, "type")), "output");
	ck_assert(json_is_null(json_object_get(ev, "value")));
	json_decref(ev);
	json_t *res = json_loads(nl + 1, 0, NULL);
	ck_assert_ptr_nonnull(res);
	json_t *args = json_object_get(res, "args");
	json_t *want = json_pack("{s:s,s:s,s:[n],s:i}", "operation", "lowercase", "mode", "all",
				 "data", "wait", 0);
	ck_assert_msg(json_equal(args, want), "%s", nl + 1);
	json_decref(want);
	json_decref(res);
	free(out);
	free(err);
}
END_TEST

static bool held_set(void *arg)
{
	(void)arg;
	return held != NULL;
}

START_TEST(orbitctl_watch_until_interrupted)
{
	srv = start(sock, 0660, NULL, 0);
	char *bin = orbitctl_path();
	char *argv[] = {bin, "-s", sock, "watch", NULL};
	struct test_proc *p = test_proc_start("orbitctl", argv, NULL);
	ck_assert_ptr_nonnull(p);
	ck_assert(test_run_until(base, held_set, NULL, WAIT_S));
	struct bg b;
	bg_start(&b);
	char *line = test_proc_wait_line(p, "connected", WAIT_S);
	ck_assert_ptr_nonnull(line);
	ck_assert_str_eq(line, "2026-01-02T03:04:05Z connected operation=lowercase plugin=lowercase-1");
	free(line);
	test_proc_signal(p, SIGINT);
	int st = test_proc_wait_exit(p, WAIT_S);
	bg_stop(&b);
	ck_assert(st != -1 && WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	ck_assert(test_run_until(base, closed_once, NULL, WAIT_S));
	test_proc_free(p);
	free(bin);
}
END_TEST

START_TEST(orbitctl_watch_daemon_gone)
{
	srv = start(sock, 0660, NULL, 0);
	char *bin = orbitctl_path();
	char *argv[] = {bin, "-s", sock, "--json", "watch", NULL};
	struct test_proc *p = test_proc_start("orbitctl", argv, NULL);
	ck_assert_ptr_nonnull(p);
	ck_assert(test_run_until(base, held_set, NULL, WAIT_S));
	struct bg b;
	bg_start(&b);
	char *line = test_proc_wait_line(p, "\"type\":\"connected\"", WAIT_S);
	ck_assert_ptr_nonnull(line);
	free(line);
	bg_stop(&b);
	octl_free(srv);
	srv = NULL;
	int st = test_proc_wait_exit(p, WAIT_S);
	ck_assert(st != -1 && WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 1);
	test_proc_free(p);
	free(bin);
}
END_TEST

START_TEST(orbitctl_timeout)
{
	char *out, *err;
	srv = start(sock, 0660, NULL, 0);
	/* The handler never answers log-level. */
	ck_assert_int_eq(CTL(&out, &err, "-s", sock, "-t", "0.1", "log-level", "debug"), 1);
	ck_assert_ptr_nonnull(strstr(err, "no reply from orbitd within 0.1s"));
	free(out);
	free(err);
	ck_assert(test_run_until(base, closed_once, NULL, WAIT_S));
}
END_TEST

static Suite *control_suite(void)
{
	Suite *s = suite_create("control");
	TCase *tc = tcase_create("server");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, ok_and_error_replies);
	tcase_add_test(tc, several_requests_per_connection);
	tcase_add_test(tc, stream_events_then_reply);
	tcase_add_test(tc, held_request_does_not_block_later_ones);
	tcase_add_test(tc, bad_json_keeps_connection);
	tcase_add_test(tc, malformed_requests_are_bad_request);
	tcase_add_test(tc, other_version_is_unsupported);
	tcase_add_test(tc, oversize_line_is_too_large);
	tcase_add_test(tc, unknown_command_reaches_handler);
	tcase_add_test(tc, same_uid_is_privileged);
	tcase_add_test(tc, other_uid_is_read_only_unless_in_group);
	tcase_add_test(tc, stale_socket_is_replaced);
	tcase_add_test(tc, socket_in_use_is_refused);
	tcase_add_test(tc, setup_errors);
	tcase_add_test(tc, mode_bits_applied_and_file_removed);
	tcase_add_test(tc, disconnect_runs_on_close);
	tcase_add_test(tc, half_close_still_gets_replies);
	tcase_add_test(tc, half_closed_then_gone_runs_on_close);
	tcase_add_test(tc, free_runs_on_close);
	tcase_add_test(tc, slow_reader_gets_overflow_notice);
	tcase_add_test(tc, pipelined_requests_with_unread_replies);
	tcase_add_test(tc, max_clients_refuses_with_a_line);
	tcase_add_test(tc, idle_client_closed_busy_one_kept);
	tcase_add_test(tc, client_that_stops_reading_is_cut);
	tcase_add_test(tc, total_buffer_cuts_the_slowest_first);
	tcase_add_test(tc, sockpath_rules);
	suite_add_tcase(s, tc);

	TCase *ctl = tcase_create("orbitctl");
	tcase_add_checked_fixture(ctl, setup, teardown);
	tcase_set_timeout(ctl, 120);
	tcase_add_test(ctl, orbitctl_usage_errors);
	tcase_add_test(ctl, orbitctl_cannot_connect);
	tcase_add_test(ctl, orbitctl_protocol_mismatch);
	tcase_add_test(ctl, orbitctl_permission_denied);
	tcase_add_test(ctl, orbitctl_status_table_and_json);
	tcase_add_test(ctl, orbitctl_requirements_unsatisfied);
	tcase_add_test(ctl, orbitctl_execute_events);
	tcase_add_test(ctl, orbitctl_watch_until_interrupted);
	tcase_add_test(ctl, orbitctl_watch_daemon_gone);
	tcase_add_test(ctl, orbitctl_timeout);
	suite_add_tcase(s, ctl);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(control_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
