/* test_orbitctl.c — the real orbitctl binary against a real orbitd on
 * temporary configs and plugin directories: every command as a table and as
 * JSON, execute in every mode with its outputs, watch seeing a plugin
 * drop-in, mutating commands refused to an unprivileged peer (another uid,
 * as root only), malformed requests written raw to the socket, exit codes
 * without a daemon, and a bare orbitctl finding an orbitd started without -s
 * (as `make run` does). Every wait is on a log line, an output line or an
 * exit — never a fixed sleep. */
#include "expect.h"
#include "fixture.h"
#include "proc.h"
#include "tmpdir.h"

#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define WAIT 10.0
#define NOBODY "65534"
#define SETPRIV "/usr/bin/setpriv"

#define FAST_TIMERS                                                                         \
	"timers: {loop_interval: 0.1, discovering_interval: 0.1, shutdown_timeout: 3}\n"

static void setup(void)
{
	fx_setup_tagged("orbitctl");
}

/* ---- running orbitctl ------------------------------------------------- */

struct res {
	int rc; /* exit status; -1 timeout or no start, 128+N killed by signal N */
	char *out, *err;
};

static void res_free(struct res *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

enum {
	CTL_NOSOCK = 1, /* no "-s SOCKET" */
	CTL_NOBODY = 2, /* run as uid/gid 65534 through setpriv */
};

/* Run orbitctl [-s fx.sock] args... (NULL-terminated array of at most 48)
 * with env to completion. No check assertions: also runs on other threads. */
static void ctl_argv(struct res *r, unsigned flags, char *const env[], char *const args[])
{
	char *argv[64];
	size_t n = 0;
	char *bin = fx_bpath("bin/orbitctl");
	if (flags & CTL_NOBODY) {
		argv[n++] = SETPRIV;
		argv[n++] = "--reuid=" NOBODY;
		argv[n++] = "--regid=" NOBODY;
		argv[n++] = "--clear-groups";
	}
	argv[n++] = bin;
	if (!(flags & CTL_NOSOCK)) {
		argv[n++] = "-s";
		argv[n++] = fx.sock;
	}
	for (size_t i = 0; args[i]; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	int st = test_run(argv, env, NULL, 2 * WAIT, &r->out, &r->err);
	r->rc = st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	if (!r->out)
		r->out = strdup("");
	if (!r->err)
		r->err = strdup("");
	free(bin);
}

/* Run orbitctl [-s fx.sock] ARGS... (NULL-terminated) with env to completion. */
static void ctl_env(struct res *r, unsigned flags, char *const env[], ...)
{
	char *args[49];
	size_t n = 0;
	va_list ap;
	va_start(ap, env);
	for (char *a; (a = va_arg(ap, char *));) {
		ck_assert(n < sizeof args / sizeof args[0] - 1);
		args[n++] = a;
	}
	va_end(ap);
	args[n] = NULL;
	ctl_argv(r, flags, env, args);
}

/* Several orbitctl runs at once, each on a thread of its own: for
 * executions whose --wait windows may overlap (they collect the outputs of
 * their own operation only). */
struct ctl_job {
	char *args[16]; /* NULL-terminated */
	struct res r;
	pthread_t th;
};

static void *ctl_job_run(void *arg)
{
	struct ctl_job *j = arg;
	ctl_argv(&j->r, 0, NULL, j->args);
	return NULL;
}

static void ctl_parallel(struct ctl_job *jobs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(pthread_create(&jobs[i].th, NULL, ctl_job_run, &jobs[i]), 0);
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(pthread_join(jobs[i].th, NULL), 0);
}

#define CTL(r, ...) ctl_env((r), 0, NULL, __VA_ARGS__, (char *)NULL)
#define CTLF(r, flags, ...) ctl_env((r), (flags), NULL, __VA_ARGS__, (char *)NULL)

#define expect_rc(r, code)                                                                  \
	ck_assert_msg((r)->rc == (code), "exit %d, expected %d\n--- stdout\n%s--- stderr\n%s", \
		      (r)->rc, (code), (r)->out, (r)->err)

/* Whether one line of text contains every needle (NULL-terminated). */
static bool line_has(const char *text, ...)
{
	const char *needles[16];
	size_t n = 0;
	va_list ap;
	va_start(ap, text);
	for (const char *s; (s = va_arg(ap, const char *)) && n < 16;)
		needles[n++] = s;
	va_end(ap);
	for (const char *l = text; l && *l;) {
		const char *eol = strchr(l, '\n');
		size_t len = eol ? (size_t)(eol - l) : strlen(l);
		bool all = true;
		for (size_t i = 0; i < n && all; i++)
			all = memmem(l, len, needles[i], strlen(needles[i])) != NULL;
		if (all)
			return true;
		l = eol ? eol + 1 : NULL;
	}
	return false;
}
#define LINE_HAS(text, ...) line_has((text), __VA_ARGS__, (const char *)NULL)

static json_t *parse_json(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);
	ck_assert_msg(j, "not one JSON document (%s):\n%s", je.text, text);
	return j;
}

/* Each line of a stream as a JSON object, in an array. */
static json_t *parse_lines(const char *text)
{
	json_t *a = json_array();
	for (const char *l = text; *l;) {
		const char *eol = strchr(l, '\n');
		size_t len = eol ? (size_t)(eol - l) : strlen(l);
		json_error_t je;
		json_t *j = json_loadb(l, len, 0, &je);
		ck_assert_msg(json_is_object(j), "not a JSON object line (%s): %.*s", je.text,
			      (int)len, l);
		json_array_append_new(a, j);
		l = eol ? eol + 1 : l + len;
	}
	return a;
}

static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "(not a string)";
}

/* The element of array a whose key is value (a string), or NULL. */
static json_t *find_by(json_t *a, const char *key, const char *value)
{
	size_t i;
	json_t *e;
	json_array_foreach(a, i, e) {
		const char *s = json_string_value(json_object_get(e, key));
		if (s && !strcmp(s, value))
			return e;
	}
	return NULL;
}

/* A core-side connection for operation to remote in a `connections`
 * result. */
static json_t *core_conn(json_t *res, const char *operation, const char *remote)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(res, "connections"), i, c) {
		if (!strcmp(jstr(c, "side"), "core") && !strcmp(jstr(c, "operation"), operation) &&
		    !strcmp(jstr(c, "remote"), remote))
			return c;
	}
	return NULL;
}

/* "FILE:LINE:COLUMN: " with the given file name somewhere in s. */
static bool has_file_line_col(const char *s, const char *file)
{
	for (const char *p = strstr(s, file); p; p = strstr(p + 1, file)) {
		unsigned line, col;
		int end = 0;
		if (sscanf(p + strlen(file), ":%u:%u:%n", &line, &col, &end) == 2 && end > 0 &&
		    line > 0 && col > 0)
			return true;
	}
	return false;
}

/* ---- every read-only command, table and JSON -------------------------- */

START_TEST(read_only_commands_table_and_json)
{
	fx_add_plugin("plugins/lowercase.so");
	fx_add_plugin("tests/plugins/echo.so");
	fx_write_conf("identifier: core1\n" FAST_TIMERS
		   "requirements:\n  lowercase: {minimum: 1}\n  echo: {minimum: 1}\n");
	struct test_proc *d = fx_start_orbitd();
	test_expect_line(d, "core compliant: 2/2", WAIT);
	struct res r;
	json_t *j, *e;
	char pid[32];
	snprintf(pid, sizeof pid, "%ld", (long)test_proc_pid(d));

	/* status */
	CTL(&r, "status");
	expect_rc(&r, 0);
	ck_assert_msg(LINE_HAS(r.out, "identifier", "core1") && LINE_HAS(r.out, "version", ORBIT_VERSION) &&
			      LINE_HAS(r.out, "pid", pid) && LINE_HAS(r.out, "uptime") &&
			      LINE_HAS(r.out, "compliant", "yes") &&
			      LINE_HAS(r.out, "requirements", "2 of 2 satisfied") &&
			      LINE_HAS(r.out, "plugins", "2 active, 0 rejected, 0 disabled, 2 in all") &&
			      LINE_HAS(r.out, "connections", "2") && LINE_HAS(r.out, "pending", "0") &&
			      LINE_HAS(r.out, "buses", "local", "mqtt off") &&
			      LINE_HAS(r.out, "last reload", "none since start"),
		      "%s", r.out);
	ck_assert_msg(!strchr(r.out, '\033'), "colour on a pipe: %s", r.out);
	res_free(&r);
	CTL(&r, "--json", "status");
	expect_rc(&r, 0);
	j = parse_json(r.out);
	ck_assert_str_eq(jstr(j, "identifier"), "core1");
	ck_assert_str_eq(jstr(j, "version"), ORBIT_VERSION);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "pid")), test_proc_pid(d));
	ck_assert(json_is_number(json_object_get(j, "uptime")));
	ck_assert(json_is_true(json_object_get(j, "compliant")));
	e = json_object_get(j, "requirements");
	ck_assert_int_eq(json_integer_value(json_object_get(e, "total")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(e, "satisfied")), 2);
	e = json_object_get(j, "plugins");
	ck_assert_int_eq(json_integer_value(json_object_get(e, "active")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(e, "rejected")), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(e, "total")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "connections")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "pending")), 0);
	e = json_object_get(json_object_get(j, "buses"), "mqtt");
	ck_assert(json_is_false(json_object_get(e, "enabled")));
	ck_assert(json_is_null(json_object_get(j, "last_reload")));
	json_decref(j);
	res_free(&r);

	/* plugins */
	CTL(&r, "plugins");
	expect_rc(&r, 0);
	ck_assert_msg(LINE_HAS(r.out, "FILE", "NAME", "VERSION", "ORIGIN", "STATE", "OPERATIONS") &&
			      LINE_HAS(r.out, "echo.so", "echo", "1.0.0", "local", "active") &&
			      LINE_HAS(r.out, "lowercase.so", "lowercase", "local", "active"),
		      "%s", r.out);
	res_free(&r);
	CTL(&r, "plugins", "--json"); /* options may follow the command */
	expect_rc(&r, 0);
	j = parse_json(r.out);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "plugins")), 2);
	e = find_by(json_object_get(j, "plugins"), "name", "lowercase");
	ck_assert_msg(e, "%s", r.out);
	ck_assert_str_eq(jstr(e, "file"), "lowercase.so");
	ck_assert_str_eq(jstr(e, "state"), "active");
	ck_assert_str_eq(jstr(e, "origin"), "local");
	ck_assert(json_is_null(json_object_get(e, "reason")));
	ck_assert_str_eq(jstr(json_array_get(json_object_get(e, "operations"), 0), "name"),
			 "lowercase");
	json_decref(j);
	res_free(&r);

	/* plugin show NAME (by name and by file) */
	CTL(&r, "plugin", "show", "lowercase");
	expect_rc(&r, 0);
	ck_assert_msg(LINE_HAS(r.out, "file", "lowercase.so") && LINE_HAS(r.out, "state", "active") &&
			      LINE_HAS(r.out, "operation", "lowercase") &&
			      LINE_HAS(r.out, "input", "string") && LINE_HAS(r.out, "output", "string") &&
			      LINE_HAS(r.out, "blocking", "no") &&
			      LINE_HAS(r.out, "maximum", "no limit") &&
			      LINE_HAS(r.out, "allowlist", "any core") &&
			      LINE_HAS(r.out, "connections", "1"),
		      "%s", r.out);
	res_free(&r);
	CTL(&r, "--json", "plugin", "show", "echo.so");
	expect_rc(&r, 0);
	j = parse_json(r.out);
	ck_assert_str_eq(jstr(j, "name"), "echo");
	ck_assert_str_eq(jstr(j, "version"), "1.0.0");
	e = json_array_get(json_object_get(j, "operations"), 0);
	ck_assert_str_eq(jstr(e, "name"), "echo");
	ck_assert_int_eq(json_integer_value(json_object_get(e, "connections")), 1);
	ck_assert(json_is_false(json_object_get(e, "blocking")));
	ck_assert(json_is_array(json_object_get(json_object_get(e, "input"), "schemas")));
	ck_assert(json_is_null(json_object_get(json_object_get(e, "policy"), "maximum")));
	json_decref(j);
	res_free(&r);
	CTL(&r, "plugin", "show", "nope");
	expect_rc(&r, 1);
	ck_assert_msg(strstr(r.err, "no plugin 'nope'"), "%s", r.err);
	ck_assert_str_eq(r.out, "");
	res_free(&r);
	CTL(&r, "--json", "plugin", "show", "nope");
	expect_rc(&r, 1);
	ck_assert_msg(strstr(r.err, "no plugin 'nope'"), "%s", r.err);
	res_free(&r);

	/* requirements, all satisfied */
	CTL(&r, "requirements");
	expect_rc(&r, 0);
	ck_assert_msg(LINE_HAS(r.out, "OPERATION", "MIN", "CONNECTED", "SATISFIED") &&
			      LINE_HAS(r.out, "lowercase", "1", "yes") &&
			      LINE_HAS(r.out, "echo", "1", "yes"),
		      "%s", r.out);
	res_free(&r);
	CTL(&r, "--json", "requirements");
	expect_rc(&r, 0);
	j = parse_json(r.out);
	e = find_by(json_object_get(j, "requirements"), "operation", "lowercase");
	ck_assert_msg(e, "%s", r.out);
	ck_assert(json_is_true(json_object_get(e, "satisfied")));
	ck_assert_int_eq(json_integer_value(json_object_get(e, "minimum")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(e, "connected")), 1);
	ck_assert(json_is_null(json_object_get(e, "maximum")));
	json_decref(j);
	res_free(&r);

	/* connections */
	CTL(&r, "connections");
	expect_rc(&r, 0);
	ck_assert_msg(LINE_HAS(r.out, "SIDE", "OPERATION", "REMOTE", "INPUT TOPIC", "AGE") &&
			      LINE_HAS(r.out, "core", "echo", "core1", "open") &&
			      LINE_HAS(r.out, "core", "lowercase", "core1", "open") &&
			      LINE_HAS(r.out, "plugin", "lowercase", "core1", "open"),
		      "%s", r.out);
	res_free(&r);
	CTL(&r, "--json", "connections");
	expect_rc(&r, 0);
	j = parse_json(r.out);
	e = core_conn(j, "echo", "echo");
	ck_assert_msg(e, "%s", r.out);
	ck_assert_str_eq(jstr(e, "local"), "core1");
	ck_assert_msg(strstr(jstr(e, "input_topic"), "echo"), "%s", r.out);
	ck_assert(json_is_number(json_object_get(e, "age")));
	ck_assert(json_is_false(json_object_get(e, "soft_closed")));
	/* Keepalive deadlines: ours for the plugin (consider_others_dead_after,
	 * 120 s by default) and the plugin's for us, both ahead. */
	double dead_in = json_number_value(json_object_get(e, "dead_in"));
	ck_assert_msg(dead_in > 100 && dead_in <= 120, "%s", r.out);
	ck_assert(json_is_number(json_object_get(e, "last_seen")));
	ck_assert_msg(core_conn(j, "lowercase", "lowercase"), "%s", r.out);
	json_decref(j);
	res_free(&r);

	/* pending: nothing is pending once compliant */
	CTL(&r, "pending");
	expect_rc(&r, 0);
	ck_assert_msg(strstr(r.out, "no pending requests"), "%s", r.out);
	res_free(&r);
	CTL(&r, "--json", "pending");
	expect_rc(&r, 0);
	j = parse_json(r.out);
	ck_assert(json_is_array(json_object_get(j, "pending")));
	ck_assert_uint_eq(json_array_size(json_object_get(j, "pending")), 0);
	json_decref(j);
	res_free(&r);

	/* version */
	CTL(&r, "version");
	expect_rc(&r, 0);
	ck_assert_msg(LINE_HAS(r.out, "orbitctl " ORBIT_VERSION) &&
			      LINE_HAS(r.out, "orbitd " ORBIT_VERSION, "plugin ABI 2."),
		      "%s", r.out);
	res_free(&r);
	CTL(&r, "--json", "version");
	expect_rc(&r, 0);
	j = parse_json(r.out);
	ck_assert_str_eq(jstr(j, "version"), ORBIT_VERSION);
	ck_assert_str_eq(jstr(j, "orbitctl"), ORBIT_VERSION);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "abi"), "major")), 2);
	json_decref(j);
	res_free(&r);

	test_stop_clean(d, WAIT);
}
END_TEST

/* requirements exits 1 while one is unsatisfied, in both forms. */
START_TEST(requirements_unsatisfied_exit_1)
{
	fx_add_plugin("tests/plugins/echo.so");
	fx_write_conf("identifier: core1\n" FAST_TIMERS
		   "requirements:\n  echo: {minimum: 1}\n  nosuchop: {minimum: 1}\n");
	struct test_proc *d = fx_start_orbitd();
	test_expect_line(d, "connected to echo for echo", WAIT);
	struct res r;
	CTL(&r, "requirements");
	expect_rc(&r, 1);
	ck_assert_msg(LINE_HAS(r.out, "nosuchop", " no ") && LINE_HAS(r.out, "echo", " yes "), "%s",
		      r.out);
	res_free(&r);
	CTL(&r, "--json", "requirements");
	expect_rc(&r, 1);
	json_t *j = parse_json(r.out);
	json_t *q = find_by(json_object_get(j, "requirements"), "operation", "nosuchop");
	ck_assert_msg(q, "%s", r.out);
	ck_assert(json_is_false(json_object_get(q, "satisfied")));
	ck_assert_int_eq(json_integer_value(json_object_get(q, "connected")), 0);
	q = find_by(json_object_get(j, "requirements"), "operation", "echo");
	ck_assert(json_is_true(json_object_get(q, "satisfied")));
	json_decref(j);
	res_free(&r);
	/* status says so too, and is not an error itself. */
	CTL(&r, "status");
	expect_rc(&r, 0);
	ck_assert_msg(LINE_HAS(r.out, "compliant", "no") &&
			      LINE_HAS(r.out, "requirements", "1 of 2 satisfied"),
		      "%s", r.out);
	res_free(&r);
	test_stop_clean(d, WAIT);
}
END_TEST

/* ---- mutating commands ------------------------------------------------ */

START_TEST(log_level_and_reload)
{
	fx_add_plugin("tests/plugins/echo.so");
	fx_add_plugin("tests/plugins/upper.so");
	fx_write_conf("identifier: core1\n" FAST_TIMERS "requirements:\n  echo: {minimum: 1}\n");
	struct test_proc *d = fx_start_orbitd();
	test_expect_line(d, "core compliant: 1/1", WAIT);
	struct res r;
	json_t *j;

	/* log-level: info stops the per-request debug lines, debug brings
	 * them back. */
	CTL(&r, "log-level", "info");
	expect_rc(&r, 0);
	ck_assert_str_eq(r.out, "log level: info\n");
	res_free(&r);
	test_expect_line(d, "log level set to info", WAIT);
	size_t before = test_proc_count(d, ": version");
	CTL(&r, "version");
	expect_rc(&r, 0);
	res_free(&r);
	/* The daemon logs a request before answering it: had it logged this
	 * one, the line would be readable now. */
	ck_assert_uint_eq(test_proc_count(d, ": version"), before);
	CTL(&r, "--json", "log-level", "debug");
	expect_rc(&r, 0);
	j = parse_json(r.out);
	ck_assert_str_eq(jstr(j, "level"), "debug");
	json_decref(j);
	res_free(&r);
	test_expect_line(d, "log level set to debug", WAIT);
	CTL(&r, "version");
	expect_rc(&r, 0);
	res_free(&r);
	test_expect_line(d, ": version", WAIT);
	CTL(&r, "log-level", "loud");
	expect_rc(&r, 1);
	ck_assert_msg(strstr(r.err, "debug|info|notice|warning|error"), "%s", r.err);
	res_free(&r);

	/* A good reload prints what changed, synchronously. */
	fx_write_conf("identifier: core1\n" FAST_TIMERS
		   "requirements:\n  echo: {minimum: 1}\n  upper: {minimum: 1}\n");
	test_proc_mark(d);
	CTL(&r, "reload");
	expect_rc(&r, 0);
	ck_assert_msg(LINE_HAS(r.out, "requirements:", "added upper"), "%s", r.out);
	res_free(&r);
	test_expect_line(d, "reloaded: requirements: added upper", WAIT);
	test_expect_line(d, "core compliant: 2/2", WAIT);
	fx_write_conf("identifier: core1\n" FAST_TIMERS "requirements:\n  upper: {minimum: 1}\n");
	CTL(&r, "--json", "reload");
	expect_rc(&r, 0);
	j = parse_json(r.out);
	ck_assert_msg(strstr(jstr(j, "changes"), "removed echo"), "%s", r.out);
	json_decref(j);
	res_free(&r);
	test_expect_line(d, "disconnected from echo for echo", WAIT);
	CTL(&r, "--json", "status");
	expect_rc(&r, 0);
	j = parse_json(r.out);
	json_t *lr = json_object_get(j, "last_reload");
	ck_assert_msg(json_is_true(json_object_get(lr, "ok")), "%s", r.out);
	ck_assert_msg(strstr(jstr(lr, "message"), "removed echo"), "%s", r.out);
	json_decref(j);
	res_free(&r);

	/* A bad one: exit 1, FILE:LINE:COLUMN: reason, the daemon keeps the
	 * running configuration and keeps serving. */
	fx_write_conf("identifier: core1\nrequirements:\n  upper: {minimum: [\n");
	size_t disconnects = test_proc_count(d, "disconnected from");
	CTL(&r, "reload");
	expect_rc(&r, 1);
	ck_assert_msg(has_file_line_col(r.err, "orbitd.yaml") && strstr(r.err, "YAML"), "%s",
		      r.err);
	ck_assert_str_eq(r.out, "");
	res_free(&r);
	test_expect_line(d, "reload failed, keeping the running configuration", WAIT);
	fx_write_conf("identifier: core1\nrequirements:\n  upper: {minimum: -3}\n");
	CTL(&r, "--json", "reload");
	expect_rc(&r, 1);
	ck_assert_msg(strstr(r.err, "orbitd.yaml:3:"), "%s", r.err);
	ck_assert_str_eq(r.out, "");
	res_free(&r);
	ck_assert_int_eq(kill(test_proc_pid(d), 0), 0);
	CTL(&r, "status");
	expect_rc(&r, 0);
	ck_assert_msg(LINE_HAS(r.out, "compliant", "yes") &&
			      LINE_HAS(r.out, "last reload", "FAILED", "orbitd.yaml:3:"),
		      "%s", r.out);
	res_free(&r);
	CTL(&r, "--json", "requirements");
	expect_rc(&r, 0);
	j = parse_json(r.out);
	ck_assert_msg(find_by(json_object_get(j, "requirements"), "operation", "upper") &&
			      json_array_size(json_object_get(j, "requirements")) == 1,
		      "%s", r.out);
	json_decref(j);
	res_free(&r);
	ck_assert_uint_eq(test_proc_count(d, "disconnected from"), disconnects);
	test_stop_clean(d, WAIT);
}
END_TEST

/* close (graceful, then graceless): the connection leaves `connections`
 * until discovery makes it again. */
START_TEST(close_graceful_and_graceless)
{
	fx_add_plugin("tests/plugins/echo.so");
	fx_add_plugin("plugins/lowercase.so");
	/* Discovery every second: the first connections are made at once, a
	 * closed one comes back a second later. */
	fx_write_conf("identifier: core1\n"
		   "timers: {loop_interval: 0.1, discovering_interval: 1, shutdown_timeout: 3}\n"
		   "requirements:\n  echo: {minimum: 1}\n  lowercase: {minimum: 1}\n");
	struct test_proc *d = fx_start_orbitd();
	test_expect_line(d, "core compliant: 2/2", WAIT);
	struct res r;
	json_t *j;
	static const struct {
		bool graceless;
		const char *log, *word;
	} rounds[] = {{false, "disconnected from echo for echo (graceful)", "graceful"},
		      {true, "disconnected from echo for echo (graceless)", "graceless"}};
	for (size_t i = 0; i < 2; i++) {
		size_t connects = test_proc_count(d, "connected to echo for echo");
		if (rounds[i].graceless)
			CTL(&r, "--json", "close", "echo", "echo", "--graceless");
		else
			CTL(&r, "close", "echo", "echo");
		expect_rc(&r, 0);
		if (rounds[i].graceless) {
			j = parse_json(r.out);
			ck_assert(json_is_object(j));
			json_decref(j);
		} else {
			ck_assert_msg(LINE_HAS(r.out, "closing the connection to echo for echo",
					       rounds[i].word),
				      "%s", r.out);
		}
		res_free(&r);
		test_expect_line(d, rounds[i].log, WAIT);
		CTL(&r, "--json", "connections");
		expect_rc(&r, 0);
		j = parse_json(r.out);
		/* Listed again only if discovery already reconnected it (it
		 * logs that before answering). */
		ck_assert_msg(!core_conn(j, "echo", "echo") ||
				      test_proc_count(d, "connected to echo for echo") > connects,
			      "closed connection still listed:\n%s", r.out);
		ck_assert_msg(core_conn(j, "lowercase", "lowercase"), "%s", r.out);
		json_decref(j);
		res_free(&r);
		CTL(&r, "connections");
		expect_rc(&r, 0);
		ck_assert_msg(!LINE_HAS(r.out, "core", "echo", "open") ||
				      test_proc_count(d, "connected to echo for echo") > connects,
			      "closed connection still listed:\n%s", r.out);
		res_free(&r);
		/* Until it reconnects. */
		test_expect_line(d, "connected to echo for echo", WAIT);
		CTL(&r, "--json", "connections");
		expect_rc(&r, 0);
		j = parse_json(r.out);
		ck_assert_msg(core_conn(j, "echo", "echo"), "not reconnected:\n%s", r.out);
		json_decref(j);
		res_free(&r);
	}
	/* Nothing to close: not_found, exit 1. */
	CTL(&r, "close", "echo", "nope");
	expect_rc(&r, 1);
	ck_assert_msg(strstr(r.err, "no connection to nope for echo"), "%s", r.err);
	res_free(&r);
	test_stop_clean(d, WAIT);
}
END_TEST

/* close on the plugin side of an in-process connection: the hosted
 * plugin closes its connection with the daemon's own core, which sees it
 * and connects again; --side core would not have found it. */
START_TEST(close_plugin_side_locally)
{
	fx_add_plugin("tests/plugins/echo.so");
	fx_write_conf("identifier: core1\n" FAST_TIMERS "requirements:\n  echo: {minimum: 1}\n");
	struct test_proc *d = fx_start_orbitd();
	test_expect_line(d, "core compliant: 1/1", WAIT);
	struct res r;
	/* The isolated plugin's side is known once its process reported it. */
	for (int tries = 0, listed = 0; !listed; tries++) {
		CTL(&r, "--json", "connections");
		json_t *j = parse_json(r.out);
		size_t i;
		json_t *c;
		json_array_foreach(json_object_get(j, "connections"), i, c)
			listed |= !strcmp(jstr(c, "side"), "plugin") && !strcmp(jstr(c, "remote"), "core1");
		json_decref(j);
		res_free(&r);
		ck_assert_msg(listed || tries < WAIT * 50, "plugin side never listed");
		if (!listed)
			poll(NULL, 0, 20);
	}
	/* graph: the connection, listed on both sides, is one edge. */
	CTL(&r, "graph");
	expect_rc(&r, 0);
	ck_assert_msg(!strncmp(r.out, "digraph orbitd {\n", 17), "%s", r.out);
	static const char edge_line[] = "  \"core1\" -> \"echo\" [label=\"echo\"];\n";
	const char *edge = strstr(r.out, edge_line);
	ck_assert_msg(edge && !strstr(edge + 1, edge_line), "%s", r.out);
	res_free(&r);
	CTL(&r, "close", "echo", "core1", "--side", "core");
	expect_rc(&r, 1);
	ck_assert_msg(strstr(r.err, "no connection to core1 for echo on the core's side"), "%s", r.err);
	res_free(&r);
	test_proc_mark(d);
	CTL(&r, "close", "echo", "core1", "--graceless");
	expect_rc(&r, 0);
	ck_assert_msg(LINE_HAS(r.out, "closing plugin echo's connection with core1 for echo",
			       "graceless"),
		      "%s", r.out);
	res_free(&r);
	test_expect_line(d, "disconnected from echo for echo (graceless)", WAIT);
	test_expect_line(d, "connected to echo for echo", WAIT);
	test_stop_clean(d, WAIT);
}
END_TEST

/* The stamp plugin's record has a field of each logical type (its source
 * says which values): tables show dates and times, JSON the raw values. */
#define STAMP_SCHEMA                                                                        \
	"{\"type\":\"record\",\"name\":\"Stamp\",\"fields\":["                                  \
	"{\"name\":\"at\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}},"    \
	"{\"name\":\"us\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}},"    \
	"{\"name\":\"local\",\"type\":{\"type\":\"long\",\"logicalType\":"                        \
	"\"local-timestamp-millis\"}},"                                                      \
	"{\"name\":\"day\",\"type\":{\"type\":\"int\",\"logicalType\":\"date\"}},"                 \
	"{\"name\":\"tod\",\"type\":{\"type\":\"int\",\"logicalType\":\"time-millis\"}},"          \
	"{\"name\":\"tus\",\"type\":{\"type\":\"long\",\"logicalType\":\"time-micros\"}},"         \
	"{\"name\":\"price\",\"type\":{\"type\":\"bytes\",\"logicalType\":\"decimal\","           \
	"\"precision\":9,\"scale\":2}},"                                                        \
	"{\"name\":\"id\",\"type\":{\"type\":\"string\",\"logicalType\":\"uuid\"}},"              \
	"{\"name\":\"maybe\",\"type\":[\"null\",{\"type\":\"long\",\"logicalType\":"             \
	"\"timestamp-millis\"}]},"                                                            \
	"{\"name\":\"n\",\"type\":\"long\"}]}"

START_TEST(logical_types_in_tables_raw_in_json)
{
	fx_add_plugin("tests/plugins/stamp.so");
	fx_write_conf("identifier: core1\n" FAST_TIMERS
		      "requirements:\n  stamp: {minimum: 1, inputs: empty, outputs: {schema: '"
		      STAMP_SCHEMA "'}}\n");
	struct test_proc *d = fx_start_orbitd();
	test_expect_line(d, "core compliant: 1/1", WAIT);
	char *bin = fx_bpath("bin/orbitctl");
	char *argv_table[] = {bin, "-s", fx.sock, "watch", NULL};
	struct test_proc *wt = test_proc_start("watch-table", argv_table, NULL);
	ck_assert_ptr_nonnull(wt);
	test_expect_line(d, ": watch", WAIT);
	struct res r;
	CTL(&r, "execute", "stamp", "--wait", "1");
	expect_rc(&r, 0);
	static const char *const shown[] = {
		"\"at\":\"2026-12-06T04:05:06.123Z\"", "\"us\":\"2026-12-06T04:05:06.123456Z\"",
		"\"local\":\"2026-12-06T04:05:06.123\"", "\"day\":\"2026-12-06\"",
		"\"tod\":\"04:05:06.123\"", "\"tus\":\"04:05:06.123456\"", "\"price\":\"-123.45\"",
		"\"id\":\"6f1c2a52-0d1e-4c8f-9a57-3b8e2f6d1c00\"",
		"\"maybe\":\"2026-12-06T04:05:06.123Z\"", "\"n\":1796529906123"};
	for (size_t i = 0; i < sizeof shown / sizeof shown[0]; i++)
		ck_assert_msg(LINE_HAS(r.out, "stamp stamp {", shown[i]), "%s not in:\n%s", shown[i],
			      r.out);
	res_free(&r);
	/* The watch's table shows the same. */
	for (size_t i = 0; i < sizeof shown / sizeof shown[0]; i++)
		ck_assert_msg(test_proc_seen(wt, shown[i], WAIT), "%s not in:\n%s", shown[i],
			      test_proc_output(wt));
	ck_assert_msg(!test_proc_seen(wt, "logical", 0), "%s", test_proc_output(wt));
	/* JSON: the raw value, and the types beside it. */
	CTL(&r, "--json", "execute", "stamp", "--wait", "1");
	expect_rc(&r, 0);
	json_t *a = parse_lines(r.out);
	json_t *ev = json_array_get(a, 0);
	json_t *v = json_object_get(ev, "value");
	ck_assert_msg(json_integer_value(json_object_get(v, "at")) == 1796529906123LL, "%s", r.out);
	ck_assert_int_eq(json_integer_value(json_object_get(v, "day")), 20793);
	json_t *logical = json_object_get(ev, "logical");
	ck_assert_str_eq(jstr(logical, "at"), "timestamp-millis");
	ck_assert_str_eq(jstr(logical, "price"), "decimal(9,2)");
	ck_assert_str_eq(jstr(logical, "maybe"), "timestamp-millis");
	ck_assert_ptr_null(json_object_get(logical, "n"));
	json_decref(a);
	res_free(&r);
	ck_assert_int_eq(test_proc_signal(wt, SIGINT), 0);
	test_proc_wait_exit(wt, WAIT);
	test_proc_free(wt);
	free(bin);
	test_stop_clean(d, WAIT);
}
END_TEST

/* ---- execute ---------------------------------------------------------- */

START_TEST(execute_every_mode)
{
	fx_add_plugin("plugins/lowercase.so");
	fx_add_plugin("tests/plugins/echo.so");
	fx_add_plugin("tests/plugins/upper.so");
	fx_write_conf("identifier: core1\n" FAST_TIMERS
		   "requirements:\n  lowercase: {minimum: 1}\n  echo: {minimum: 1}\n"
		   "  upper: {minimum: 1}\n");
	struct test_proc *d = fx_start_orbitd();
	test_expect_line(d, "core compliant: 3/3", WAIT);
	struct res r;
	json_t *a, *e;

	/* Each round runs one execution per operation at once: a --wait
	 * collects the outputs of its own operation only, so their windows
	 * may overlap. */
	struct ctl_job round1[] = {
		/* --all as a table: the output line, then the tally. */
		{.args = {"execute", "lowercase", "--all", "--data", "\"HeLLo\"", "--wait", "1"}},
		/* The default mode is all; echo hands the input back untouched. */
		{.args = {"execute", "echo", "--data", "\"Mixed Case\"", "--wait", "1"}},
		/* --any as JSON: one output object per line, then the result. */
		{.args = {"--json", "execute", "upper", "--any", "--data", "\"HeLLo\"", "--data",
			  "\"world\"", "--wait", "1"}},
	};
	ctl_parallel(round1, 3);
	expect_rc(&round1[0].r, 0);
	ck_assert_msg(strstr(round1[0].r.out, "lowercase lowercase \"hello\"  (call ") &&
			      strstr(round1[0].r.out, " ms)\nsent 1, outputs 1\n"),
		      "%s", round1[0].r.out);
	expect_rc(&round1[1].r, 0);
	ck_assert_msg(strstr(round1[1].r.out, "echo echo \"Mixed Case\"  (call ") &&
			      strstr(round1[1].r.out, " ms)\nsent 1, outputs 1\n"),
		      "%s", round1[1].r.out);
	expect_rc(&round1[2].r, 0);
	a = parse_lines(round1[2].r.out);
	ck_assert_msg(json_array_size(a) == 3, "%s", round1[2].r.out);
	for (size_t i = 0; i < 2; i++) {
		e = json_array_get(a, i);
		ck_assert_str_eq(jstr(e, "type"), "output");
		ck_assert_str_eq(jstr(e, "plugin"), "upper");
		ck_assert_str_eq(jstr(e, "operation"), "upper");
		ck_assert(json_is_string(json_object_get(e, "time")));
	}
	ck_assert_str_eq(jstr(json_array_get(a, 0), "value"), "HELLO");
	ck_assert_str_eq(jstr(json_array_get(a, 1), "value"), "WORLD");
	e = json_array_get(a, 2);
	ck_assert_int_eq(json_integer_value(json_object_get(e, "sent")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(e, "outputs")), 2);
	json_decref(a);
	for (size_t i = 0; i < 3; i++)
		res_free(&round1[i].r);

	CTL(&r, "execute", "lowercase", "--plugin", "nope", "--data", "\"ABC\"");
	expect_rc(&r, 1);
	ck_assert_msg(strstr(r.err, "nope"), "%s", r.err);
	res_free(&r);

	struct ctl_job round2[] = {
		/* --plugin ID */
		{.args = {"execute", "lowercase", "--plugin", "lowercase", "--data", "\"ABC\"",
			  "--wait", "1"}},
		/* --distributed: the items spread over the connections. */
		{.args = {"--json", "execute", "upper", "--distributed", "--data", "\"a\"",
			  "--data", "\"b\"", "--data", "\"c\"", "--wait", "1"}},
		{.args = {"execute", "echo", "--distributed", "--data", "\"X\"", "--data", "\"Y\"",
			  "--wait", "1"}},
	};
	ctl_parallel(round2, 3);
	expect_rc(&round2[0].r, 0);
	ck_assert_msg(strstr(round2[0].r.out, "lowercase lowercase \"abc\"  (call ") &&
			      strstr(round2[0].r.out, " ms)\nsent 1, outputs 1\n"),
		      "%s", round2[0].r.out);
	expect_rc(&round2[1].r, 0);
	a = parse_lines(round2[1].r.out);
	ck_assert_msg(json_array_size(a) == 4, "%s", round2[1].r.out);
	const char *want[] = {"A", "B", "C"};
	for (size_t i = 0; i < 3; i++)
		ck_assert_str_eq(jstr(json_array_get(a, i), "value"), want[i]);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(a, 3), "sent")), 3);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(a, 3), "outputs")), 3);
	json_decref(a);
	expect_rc(&round2[2].r, 0);
	ck_assert_msg(LINE_HAS(round2[2].r.out, "echo echo \"X\"") &&
			      LINE_HAS(round2[2].r.out, "echo echo \"Y\"") &&
			      LINE_HAS(round2[2].r.out, "sent 2, outputs 2"),
		      "%s", round2[2].r.out);
	for (size_t i = 0; i < 3; i++)
		res_free(&round2[i].r);

	/* Without --wait: sent, nothing waited for. */
	CTL(&r, "--json", "execute", "lowercase", "--data", "\"Q\"");
	expect_rc(&r, 0);
	a = parse_lines(r.out);
	ck_assert_msg(json_array_size(a) == 1, "%s", r.out);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(a, 0), "sent")), 1);
	json_decref(a);
	res_free(&r);

	/* Data that does not fit the input schema: refused, naming why. */
	CTL(&r, "execute", "lowercase", "--data", "5", "--wait", "1");
	expect_rc(&r, 1);
	ck_assert_msg(strstr(r.err, "5") && strstr(r.err, "lowercase") && strstr(r.err, "string"),
		      "%s", r.err);
	ck_assert_str_eq(r.out, "");
	res_free(&r);
	/* All or nothing: a bad second datum keeps the first from running. */
	size_t ran = test_proc_count(d, "output lowercase from lowercase: \"zzz\"");
	CTL(&r, "execute", "lowercase", "--data", "\"ZZZ\"", "--data", "5", "--wait", "0.3");
	expect_rc(&r, 1);
	ck_assert_str_eq(r.out, "");
	res_free(&r);
	/* YYY goes after where ZZZ would have gone, on the same connection:
	 * its output, once logged, comes after any output of ZZZ. */
	CTL(&r, "execute", "lowercase", "--data", "\"YYY\"");
	expect_rc(&r, 0);
	res_free(&r);
	ck_assert(test_proc_seen(d, "output lowercase from lowercase: \"yyy\"", WAIT));
	ck_assert_uint_eq(test_proc_count(d, "output lowercase from lowercase: \"zzz\""), ran);
	CTL(&r, "--json", "execute", "echo", "--data", "{\"a\": [1]}");
	expect_rc(&r, 1);
	ck_assert_msg(strstr(r.err, "echo") && strstr(r.err, "string"), "%s", r.err);
	res_free(&r);
	/* Not JSON at all: a usage error, with the quoting hint. */
	CTL(&r, "execute", "lowercase", "--data", "HeLLo");
	expect_rc(&r, 2);
	ck_assert_msg(strstr(r.err, "not JSON") && strstr(r.err, "quotes"), "%s", r.err);
	res_free(&r);
	/* An operation that is not required. */
	CTL(&r, "execute", "nosuchop", "--data", "\"x\"");
	expect_rc(&r, 1);
	ck_assert_msg(strstr(r.err, "nosuchop"), "%s", r.err);
	res_free(&r);
	/* Two modes at once. */
	CTL(&r, "execute", "lowercase", "--any", "--all", "--data", "\"x\"");
	expect_rc(&r, 2);
	res_free(&r);
	test_stop_clean(d, WAIT);
}
END_TEST

/* ---- watch ------------------------------------------------------------ */

START_TEST(watch_sees_plugin_drop_in)
{
	fx_add_plugin("tests/plugins/echo.so");
	fx_write_conf("identifier: core1\n" FAST_TIMERS
		   "requirements:\n  echo: {minimum: 1}\n  upper: {minimum: 1}\n");
	struct test_proc *d = fx_start_orbitd();
	test_expect_line(d, "connected to echo for echo", WAIT);
	char *bin = fx_bpath("bin/orbitctl");
	char *argv_json[] = {bin, "-s", fx.sock, "watch", "--json", NULL};
	char *argv_table[] = {bin, "-s", fx.sock, "watch", NULL};
	test_proc_mark(d);
	struct test_proc *wj = test_proc_start("watch-json", argv_json, NULL);
	ck_assert_ptr_nonnull(wj);
	test_expect_line(d, ": watch", WAIT);
	struct test_proc *wt = test_proc_start("watch-table", argv_table, NULL);
	ck_assert_ptr_nonnull(wt);
	test_expect_line(d, ": watch", WAIT);
	/* Both streams are registered: drop the plugin in. */
	fx_add_plugin("tests/plugins/upper.so");
	test_expect_line(d, "core compliant: 2/2", WAIT);

	json_error_t je;
	char *l = test_proc_wait_line(wj, "\"type\":\"plugin\"", WAIT);
	ck_assert_ptr_nonnull(l);
	json_t *ev = json_loads(l, 0, &je);
	ck_assert_msg(ev, "%s", l);
	ck_assert_str_eq(jstr(ev, "file"), "upper.so");
	ck_assert_str_eq(jstr(ev, "name"), "upper");
	ck_assert_str_eq(jstr(ev, "state"), "active");
	ck_assert(json_is_string(json_object_get(ev, "time")));
	json_decref(ev);
	free(l);
	l = test_proc_wait_line(wj, "\"type\":\"connected\"", WAIT);
	ck_assert_ptr_nonnull(l);
	ev = json_loads(l, 0, &je);
	ck_assert_msg(ev, "%s", l);
	ck_assert_str_eq(jstr(ev, "plugin"), "upper");
	ck_assert_str_eq(jstr(ev, "operation"), "upper");
	json_decref(ev);
	free(l);
	l = test_proc_wait_line(wj, "\"type\":\"compliance\"", WAIT);
	ck_assert_ptr_nonnull(l);
	ck_assert_msg(strstr(l, "\"compliant\":true"), "%s", l);
	free(l);
	test_expect_line(wt, " plugin file=upper.so name=upper state=active", WAIT);
	test_expect_line(wt, " connected ", WAIT);
	ck_assert(test_proc_seen(wt, "plugin=upper", 0));

	/* Outputs of an execute flow to the watchers too. */
	struct res r;
	CTL(&r, "execute", "upper", "--data", "\"shout\"");
	expect_rc(&r, 0);
	res_free(&r);
	l = test_proc_wait_line(wj, "\"type\":\"output\"", WAIT);
	ck_assert_ptr_nonnull(l);
	ev = json_loads(l, 0, &je);
	ck_assert_msg(ev, "%s", l);
	ck_assert_str_eq(jstr(ev, "plugin"), "upper");
	ck_assert_str_eq(jstr(ev, "value"), "SHOUT");
	json_decref(ev);
	free(l);
	test_expect_line(wt, " output plugin=upper operation=upper value=\"SHOUT\"", WAIT);

	/* ^C ends a watch with status 0; the daemon sees it go. */
	for (int i = 0; i < 2; i++) {
		struct test_proc *w = i ? wt : wj;
		char gone[64];
		snprintf(gone, sizeof gone, "control: pid %ld uid %ld disconnected",
			 (long)test_proc_pid(w), (long)geteuid());
		ck_assert_int_eq(test_proc_signal(w, SIGINT), 0);
		int st = test_proc_wait_exit(w, WAIT);
		ck_assert_msg(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x:\n%s",
			      st, test_proc_output(w));
		test_proc_free(w);
		ck_assert_msg(test_proc_seen(d, gone, WAIT), "%s", gone);
	}
	free(bin);
	test_stop_clean(d, WAIT);
}
END_TEST

/* A watch ends with status 1 when orbitd goes away. */
START_TEST(watch_ends_when_daemon_stops)
{
	fx_add_plugin("tests/plugins/echo.so");
	fx_write_conf("identifier: core1\n" FAST_TIMERS "requirements:\n  echo: {minimum: 1}\n");
	struct test_proc *d = fx_start_orbitd();
	test_expect_line(d, "ready:", WAIT);
	char *bin = fx_bpath("bin/orbitctl");
	char *argv[] = {bin, "-s", fx.sock, "--json", "watch", NULL};
	struct test_proc *w = test_proc_start("watch", argv, NULL);
	ck_assert_ptr_nonnull(w);
	test_expect_line(d, ": watch", WAIT);
	test_stop_clean(d, WAIT);
	int st = test_proc_wait_exit(w, WAIT);
	ck_assert_msg(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 1, "status 0x%x:\n%s", st,
		      test_proc_output(w));
	test_proc_free(w);
	free(bin);
}
END_TEST

/* ---- privilege tiers -------------------------------------------------- */

static bool can_become_nobody(const char *test)
{
	if (geteuid() != 0 || access(SETPRIV, X_OK) != 0) {
		fprintf(stderr, "%s: skipped (needs root and %s)\n", test, SETPRIV);
		return false;
	}
	return true;
}

START_TEST(unprivileged_peer_read_only)
{
	if (!can_become_nobody(__func__))
		return;
	/* nobody must reach the socket: fx.tmp is 0700. */
	ck_assert_int_eq(chmod(fx.tmp, 0711), 0);
	fx_add_plugin("tests/plugins/echo.so");
	fx_write_conf("identifier: core1\n" FAST_TIMERS "control: {mode: \"0666\"}\n"
		   "requirements:\n  echo: {minimum: 1}\n");
	struct test_proc *d = fx_start_orbitd();
	test_expect_line(d, "core compliant: 1/1", WAIT);
	struct stat st;
	ck_assert_int_eq(stat(fx.sock, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0666);
	struct res r;
	CTLF(&r, CTL_NOBODY, "status");
	expect_rc(&r, 0);
	ck_assert_msg(LINE_HAS(r.out, "identifier", "core1"), "%s", r.out);
	res_free(&r);
	test_expect_line(d, "uid 65534 connected (read-only)", WAIT);
	CTLF(&r, CTL_NOBODY, "--json", "plugins");
	expect_rc(&r, 0);
	res_free(&r);
	CTLF(&r, CTL_NOBODY, "requirements");
	expect_rc(&r, 0);
	res_free(&r);

	static const char *const refused[][6] = {
		{"reload", NULL},
		{"execute", "echo", "--data", "\"x\"", "--wait", "1"},
		{"close", "echo", "echo", NULL},
		{"close", "echo", "echo", "--graceless", NULL},
		{"log-level", "error", NULL},
	};
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		const char *const *a = refused[i];
		ctl_env(&r, CTL_NOBODY, NULL, a[0], a[1], a[2], a[3], a[4], a[5], (char *)NULL);
		expect_rc(&r, 4);
		ck_assert_msg(strstr(r.err, "permission denied") && strstr(r.err, a[0]), "%s",
			      r.err);
		ck_assert_str_eq(r.out, "");
		res_free(&r);
	}
	/* Nothing happened. */
	ck_assert(!test_proc_seen(d, "reloading the configuration", 0));
	ck_assert(!test_proc_seen(d, "disconnected from echo", 0));
	ck_assert(!test_proc_seen(d, "log level set", 0));
	/* The same commands work for root. */
	CTL(&r, "close", "echo", "echo");
	expect_rc(&r, 0);
	res_free(&r);
	test_expect_line(d, "disconnected from echo for echo", WAIT);
	test_stop_clean(d, WAIT);
}
END_TEST

/* With the default mode 0660 another user cannot even connect: exit 4. */
START_TEST(socket_mode_keeps_others_out)
{
	if (!can_become_nobody(__func__))
		return;
	ck_assert_int_eq(chmod(fx.tmp, 0711), 0);
	fx_write_conf("identifier: core1\n" FAST_TIMERS);
	struct test_proc *d = fx_start_orbitd();
	test_expect_line(d, "ready:", WAIT);
	struct stat st;
	ck_assert_int_eq(stat(fx.sock, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0660);
	struct res r;
	CTLF(&r, CTL_NOBODY, "status");
	expect_rc(&r, 4);
	ck_assert_msg(strstr(r.err, "permission denied") && strstr(r.err, fx.sock), "%s", r.err);
	res_free(&r);
	test_stop_clean(d, WAIT);
}
END_TEST

/* ---- raw protocol ----------------------------------------------------- */

struct raw {
	int fd;
	char buf[1 << 16];
	size_t len;
};

static void raw_open(struct raw *c, const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	c->len = 0;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(c->fd, 0);
	ck_assert_msg(connect(c->fd, (struct sockaddr *)&sa, sizeof sa) == 0, "connect %s: %s",
		      path, strerror(errno));
	struct timeval tv = {(time_t)WAIT, 0};
	ck_assert_int_eq(setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
	ck_assert_int_eq(setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv), 0);
}

static void raw_send(struct raw *c, const char *s, size_t n)
{
	while (n) {
		ssize_t w = send(c->fd, s, n, MSG_NOSIGNAL);
		ck_assert_msg(w > 0, "send: %s", strerror(errno));
		s += w;
		n -= (size_t)w;
	}
}

/* The next reply line, parsed; fails the test on timeout, EOF or junk. */
static json_t *raw_reply(struct raw *c)
{
	char *nl;
	while (!(nl = memchr(c->buf, '\n', c->len))) {
		ck_assert_msg(c->len < sizeof c->buf, "reply line too long");
		ssize_t r = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
		ck_assert_msg(r > 0, "no reply: %s", r ? strerror(errno) : "connection closed");
		c->len += (size_t)r;
	}
	json_error_t je;
	size_t n = (size_t)(nl - c->buf);
	json_t *j = json_loadb(c->buf, n, 0, &je);
	ck_assert_msg(json_is_object(j), "reply not a JSON object: %.*s", (int)n, c->buf);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "v")), 1);
	memmove(c->buf, nl + 1, c->len - n - 1);
	c->len -= n + 1;
	return j;
}

/* Send line (as is), expect an error reply with code; id is the expected
 * id (NULL: JSON null). */
static void raw_expect_error(struct raw *c, const char *line, const char *code, json_t *id)
{
	raw_send(c, line, strlen(line));
	json_t *j = raw_reply(c);
	ck_assert_msg(json_is_false(json_object_get(j, "ok")), "not an error reply to %s", line);
	json_t *err = json_object_get(j, "error");
	ck_assert_msg(!strcmp(jstr(err, "code"), code), "%s: code %s, expected %s (%s)", line,
		      jstr(err, "code"), code, jstr(err, "message"));
	ck_assert_msg(json_string_length(json_object_get(err, "message")) > 0, "no message");
	json_t *got = json_object_get(j, "id");
	ck_assert_msg(id ? json_equal(got, id) : json_is_null(got), "wrong id in reply to %s",
		      line);
	json_decref(j);
	json_decref(id);
}

/* A good status request on the same connection still works. */
static void raw_expect_status(struct raw *c, json_int_t id)
{
	char line[96];
	snprintf(line, sizeof line, "{\"v\":1,\"id\":%" JSON_INTEGER_FORMAT ",\"cmd\":\"status\"}\n",
		 id);
	raw_send(c, line, strlen(line));
	json_t *j = raw_reply(c);
	ck_assert_msg(json_is_true(json_object_get(j, "ok")), "status failed");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "id")), id);
	ck_assert_str_eq(jstr(json_object_get(j, "result"), "identifier"), "core1");
	json_decref(j);
}

START_TEST(malformed_raw_requests)
{
	fx_add_plugin("tests/plugins/echo.so");
	fx_write_conf("identifier: core1\n" FAST_TIMERS "control: {max_request: 1024}\n"
		   "requirements:\n  echo: {minimum: 1}\n");
	struct test_proc *d = fx_start_orbitd();
	test_expect_line(d, "ready:", WAIT);
	struct raw *c = malloc(sizeof *c);
	ck_assert_ptr_nonnull(c);
	raw_open(c, fx.sock);

	raw_expect_error(c, "garbage\n", "bad_json", NULL);
	raw_expect_status(c, 1);
	raw_expect_error(c, "{\"v\":1,\"id\":2,\"cmd\":\n", "bad_json", NULL);
	raw_expect_status(c, 2);
	/* Missing or mistyped members. */
	raw_expect_error(c, "{\"v\":1,\"id\":3}\n", "bad_request", json_integer(3));
	raw_expect_error(c, "{\"v\":1,\"cmd\":\"status\"}\n", "bad_request", NULL);
	raw_expect_error(c, "{\"id\":4,\"cmd\":\"status\"}\n", "bad_request", json_integer(4));
	raw_expect_error(c, "{\"v\":1,\"id\":5,\"cmd\":\"status\",\"args\":[1]}\n", "bad_request",
			 json_integer(5));
	raw_expect_error(c, "[1,2,3]\n", "bad_request", NULL);
	raw_expect_status(c, 6);
	/* Another protocol version. */
	raw_expect_error(c, "{\"v\":2,\"id\":7,\"cmd\":\"status\"}\n", "unsupported_version",
			 json_integer(7));
	raw_expect_status(c, 8);
	/* Commands and arguments the daemon does not know. */
	raw_expect_error(c, "{\"v\":1,\"id\":\"s9\",\"cmd\":\"frobnicate\"}\n", "unknown_command",
			 json_string("s9"));
	raw_expect_error(c, "{\"v\":1,\"id\":10,\"cmd\":\"plugin\",\"args\":{}}\n",
			 "bad_arguments", json_integer(10));
	raw_expect_error(c, "{\"v\":1,\"id\":11,\"cmd\":\"plugin\",\"args\":{\"name\":\"x\"}}\n",
			 "not_found", json_integer(11));
	raw_expect_error(c,
			 "{\"v\":1,\"id\":12,\"cmd\":\"execute\",\"args\":{\"operation\":\"echo\","
			 "\"mode\":\"sideways\"}}\n",
			 "bad_arguments", json_integer(12));

	/* Longer than control.max_request: too_large, the rest of the line is
	 * skipped, and the connection goes on. First a line just over the
	 * limit, then one far larger than any buffer, with a good request
	 * right behind it in the same write. */
	static const char head[] = "{\"v\":1,\"id\":14,\"cmd\":\"status\",\"args\":{\"pad\":\"";
	static const char tail[] = "\"}}\n{\"v\":1,\"id\":15,\"cmd\":\"version\"}\n";
	size_t big = 256 * 1024, n = 0;
	char *line = malloc(sizeof head + big + sizeof tail);
	ck_assert_ptr_nonnull(line);
	memset(line, 'x', 1025);
	line[1025] = '\n';
	line[1026] = '\0';
	raw_expect_error(c, line, "too_large", NULL);
	raw_expect_status(c, 13);
	memcpy(line, head, sizeof head - 1);
	n = sizeof head - 1;
	memset(line + n, 'y', big);
	n += big;
	memcpy(line + n, tail, sizeof tail - 1);
	n += sizeof tail - 1;
	raw_send(c, line, n);
	free(line);
	json_t *j = raw_reply(c);
	ck_assert_str_eq(jstr(json_object_get(j, "error"), "code"), "too_large");
	ck_assert(json_is_null(json_object_get(j, "id")));
	json_decref(j);
	j = raw_reply(c);
	ck_assert(json_is_true(json_object_get(j, "ok")));
	ck_assert_int_eq(json_integer_value(json_object_get(j, "id")), 15);
	json_decref(j);

	/* Several requests in one write; blank lines and CRLF are fine. */
	const char pipelined[] = "{\"v\":1,\"id\":16,\"cmd\":\"version\"}\r\n\n"
				 "{\"v\":1,\"id\":17,\"cmd\":\"requirements\"}\n";
	raw_send(c, pipelined, sizeof pipelined - 1);
	bool seen[2] = {false, false};
	for (int i = 0; i < 2; i++) {
		j = raw_reply(c);
		ck_assert(json_is_true(json_object_get(j, "ok")));
		json_int_t id = json_integer_value(json_object_get(j, "id"));
		ck_assert(id == 16 || id == 17);
		seen[id - 16] = true;
		json_decref(j);
	}
	ck_assert(seen[0] && seen[1]);
	raw_expect_status(c, 18);
	close(c->fd);
	free(c);

	/* orbitctl itself still gets through, and the daemon never faltered. */
	struct res r;
	CTL(&r, "status");
	expect_rc(&r, 0);
	res_free(&r);
	test_stop_clean(d, WAIT);
}
END_TEST

/* ---- no daemon, usage ------------------------------------------------- */

START_TEST(no_daemon_and_usage_exit_codes)
{
	struct res r;
	/* No such socket. */
	ctl_env(&r, CTL_NOSOCK, NULL, "-s", "/nonexistent/x.sock", "status", (char *)NULL);
	expect_rc(&r, 3);
	ck_assert_msg(strstr(r.err, "/nonexistent/x.sock"), "%s", r.err);
	ck_assert_str_eq(r.out, "");
	res_free(&r);
	ctl_env(&r, CTL_NOSOCK, NULL, "--json", "--socket=/nonexistent/x.sock", "requirements",
		(char *)NULL);
	expect_rc(&r, 3);
	res_free(&r);
	/* ORBITD_SOCKET names it when -s does not. */
	char *env[] = {"ORBITD_SOCKET=/nonexistent/y.sock", NULL};
	ctl_env(&r, CTL_NOSOCK, env, "version", (char *)NULL);
	expect_rc(&r, 3);
	ck_assert_msg(strstr(r.err, "/nonexistent/y.sock"), "%s", r.err);
	res_free(&r);
	/* A stale socket nobody listens on. */
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", fx.sock);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	close(fd);
	CTL(&r, "status");
	expect_rc(&r, 3);
	ck_assert_msg(strstr(r.err, fx.sock), "%s", r.err);
	res_free(&r);
	CTL(&r, "watch");
	expect_rc(&r, 3);
	res_free(&r);

	/* Usage errors come before any connection: 2, not 3. */
	static const char *const usage[][5] = {
		{"frobnicate", NULL},
		{"--bogus", "status", NULL},
		{"status", "--bogus", NULL},
		{"status", "extra", NULL},
		{"plugin", "list", "x", NULL},
		{"plugin", "show", NULL},
		{"execute", NULL},
		{"execute", "lowercase", "--data", "{nope", NULL},
		{"execute", "lowercase", "--wait", "soon", NULL},
		{"close", "echo", NULL},
		{"log-level", NULL},
		{"-t", "-1", "status", NULL},
		{"status", "-s", NULL},
	};
	for (size_t i = 0; i < sizeof usage / sizeof usage[0]; i++) {
		const char *const *a = usage[i];
		ctl_env(&r, 0, NULL, a[0], a[1], a[2], a[3], a[4], (char *)NULL);
		ck_assert_msg(r.rc == 2, "%s %s: exit %d\n%s", a[0], a[1] ? a[1] : "", r.rc,
			      r.err);
		ck_assert_msg(strstr(r.err, "orbitctl: "), "no message: %s", r.err);
		res_free(&r);
	}
	CTL(&r, "frobnicate");
	ck_assert_msg(strstr(r.err, "unknown command 'frobnicate'"), "%s", r.err);
	res_free(&r);
	CTL(&r, "--bogus", "status");
	ck_assert_msg(strstr(r.err, "unknown option '--bogus'"), "%s", r.err);
	res_free(&r);
	ctl_env(&r, CTL_NOSOCK, NULL, (char *)NULL);
	expect_rc(&r, 2);
	ck_assert_msg(strstr(r.err, "no command"), "%s", r.err);
	res_free(&r);
	/* Help and version need no daemon. */
	ctl_env(&r, CTL_NOSOCK, NULL, "--help", (char *)NULL);
	expect_rc(&r, 0);
	ck_assert_msg(strstr(r.out, "Usage: orbitctl") && strstr(r.out, "execute OP"), "%s", r.out);
	res_free(&r);
	ctl_env(&r, CTL_NOSOCK, NULL, "-V", (char *)NULL);
	expect_rc(&r, 0);
	ck_assert_str_eq(r.out, "orbitctl " ORBIT_VERSION "\n");
	res_free(&r);
}
END_TEST

/* ---- make run and a bare orbitctl ------------------------------------- */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	char chunk[4096];
	for (size_t n; (n = fread(chunk, 1, sizeof chunk, f)) > 0;)
		fwrite(chunk, 1, n, m);
	fclose(m);
	fclose(f);
	return buf;
}

/* orbitd started as `make run` starts it (the repository's conf/orbitd.yaml,
 * the bundled plugins, no -s) and orbitctl with no -s and no ORBITD_SOCKET
 * meet on the per-user socket under XDG_RUNTIME_DIR. As root both would
 * pick /run/orbitd/orbitd.sock, shared with whatever else runs there, so
 * then both run as nobody with a private XDG_RUNTIME_DIR. */
START_TEST(bare_orbitctl_finds_make_run_orbitd)
{
	bool as_nobody = geteuid() == 0;
	if (as_nobody && access(SETPRIV, X_OK) != 0) {
		fprintf(stderr, "%s: skipped (no %s)\n", __func__, SETPRIV);
		return;
	}
	if (!as_nobody && eaccess("/run/orbitd", W_OK | X_OK) == 0) {
		fprintf(stderr, "%s: skipped (/run/orbitd is writable: the default is shared)\n",
			__func__);
		return;
	}
	ck_assert_int_eq(chmod(fx.tmp, 0711), 0);
	char *xdg = fx_tpath("xdg");
	ck_assert_int_eq(mkdir(xdg, 0700), 0);
	if (as_nobody)
		ck_assert_int_eq(chown(xdg, 65534, 65534), 0);
	/* The repository's configuration, as make run uses it (a minimal one if
	 * the sources are not at hand), and the bundled plugins. */
	const char *src = getenv("ORBIT_SRC");
	char *conf_src = NULL;
	ck_assert_int_ge(asprintf(&conf_src, "%s/conf/orbitd.yaml", src ? src : "."), 0);
	char *yaml = slurp(conf_src);
	free(conf_src);
	fx_write_conf(yaml ? yaml : "identifier: orbitd\nrequirements:\n  lowercase: {minimum: 1}\n");
	const char *ident = yaml ? NULL : "orbitd";
	free(yaml);
	fx_add_plugin("plugins/lowercase.so");
	fx_add_plugin("plugins/lamp.so");
	fx_add_plugin("plugins/randint.so");
	fx_add_plugin("plugins/exec.so");

	char *env_xdg = NULL, *env_home = NULL, *expected = NULL;
	ck_assert_int_ge(asprintf(&env_xdg, "XDG_RUNTIME_DIR=%s", xdg), 0);
	ck_assert_int_ge(asprintf(&env_home, "HOME=%s", xdg), 0);
	ck_assert_int_ge(asprintf(&expected, "control socket %s/orbitd/orbitd.sock", xdg), 0);
	char *env[] = {env_xdg, env_home, "ORBITD_SOCKET", NULL};
	char *bin = fx_bpath("bin/orbitd"), *conf = fx_tpath("orbitd.yaml");
	char *argv[16];
	size_t n = 0;
	if (as_nobody) {
		argv[n++] = SETPRIV;
		argv[n++] = "--reuid=" NOBODY;
		argv[n++] = "--regid=" NOBODY;
		argv[n++] = "--clear-groups";
		argv[n++] = "--pdeathsig=keep"; /* credentials changes clear it */
	}
	argv[n++] = bin;
	argv[n++] = "-c";
	argv[n++] = conf;
	argv[n++] = "-p";
	argv[n++] = fx.plugdir;
	argv[n] = NULL;
	struct test_proc *d = test_proc_start("orbitd", argv, env);
	ck_assert_ptr_nonnull(d);
	test_expect_line(d, expected, WAIT);
	test_expect_line(d, "ready:", WAIT);

	struct res r;
	ctl_env(&r, CTL_NOSOCK | (as_nobody ? CTL_NOBODY : 0), env, "status", (char *)NULL);
	expect_rc(&r, 0);
	ck_assert_msg(LINE_HAS(r.out, "identifier", ident ? ident : "orbitd"), "%s", r.out);
	res_free(&r);
	ctl_env(&r, CTL_NOSOCK | (as_nobody ? CTL_NOBODY : 0), env, "--json", "status",
		(char *)NULL);
	expect_rc(&r, 0);
	json_t *j = parse_json(r.out);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "pid")), test_proc_pid(d));
	json_decref(j);
	res_free(&r);
	/* The daemon's own user is privileged. */
	ctl_env(&r, CTL_NOSOCK | (as_nobody ? CTL_NOBODY : 0), env, "log-level", "info",
		(char *)NULL);
	expect_rc(&r, 0);
	res_free(&r);
	test_stop_clean(d, WAIT);
	/* And without a daemon the bare orbitctl says which socket it tried. */
	ctl_env(&r, CTL_NOSOCK | (as_nobody ? CTL_NOBODY : 0), env, "status", (char *)NULL);
	expect_rc(&r, 3);
	ck_assert_msg(strstr(r.err, "orbitd.sock"), "%s", r.err);
	res_free(&r);
	free(bin);
	free(conf);
	free(env_xdg);
	free(env_home);
	free(expected);
	free(xdg);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("orbitctl");
	TCase *tc = tcase_create("orbitctl");
	tcase_add_checked_fixture(tc, setup, fx_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, read_only_commands_table_and_json);
	tcase_add_test(tc, requirements_unsatisfied_exit_1);
	tcase_add_test(tc, log_level_and_reload);
	tcase_add_test(tc, close_graceful_and_graceless);
	tcase_add_test(tc, close_plugin_side_locally);
	tcase_add_test(tc, logical_types_in_tables_raw_in_json);
	tcase_add_test(tc, execute_every_mode);
	tcase_add_test(tc, watch_sees_plugin_drop_in);
	tcase_add_test(tc, watch_ends_when_daemon_stops);
	tcase_add_test(tc, unprivileged_peer_read_only);
	tcase_add_test(tc, socket_mode_keeps_others_out);
	tcase_add_test(tc, malformed_raw_requests);
	tcase_add_test(tc, no_daemon_and_usage_exit_codes);
	tcase_add_test(tc, bare_orbitctl_finds_make_run_orbitd);
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
