/* test_close_sides.c — `orbitctl close` on either side of a connection, and
 * the bounded list of dead remote plugins, with real orbitd processes on a
 * real mosquitto (free loopback port, stopped by PID):
 *
 * - a remote core's connection to an exported plugin closed on the
 *   plugin's side (graceful, then graceless), for an in-process plugin and
 *   for an isolated one (whose orbiter lives in the plugin process: the
 *   daemon asks it with a CLOSE link frame); the remote core sees each close
 *   and connects again;
 * - what close does not find is named;
 * - remote plugins that die are listed as dead up to control.dead_remotes,
 *   the oldest pushed out, and one that comes back leaves the list. */
#include "broker.h"
#include "expect.h"
#include "mqtt_peer.h"
#include "orbitd_host.h"
#include "proc.h"
#include "strf.h"
#include "tmpdir.h"

#include <check.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define WAIT 20.0
#define FAST "timers: {loop_interval: 0.1, discovering_interval: 0.1, shutdown_timeout: 2, " \
	     "consider_others_dead_after: 2, send_keepalive_before_timelimit: 1}\n"

static struct test_broker broker;
static char *tmp;
static char *build_dir;

static void setup(void)
{
	const char *b = getenv("ORBIT_BUILD");
	build_dir = strdup(b ? b : "build");
	tmp = test_tmpdir_new("close-sides");
	ck_assert_ptr_nonnull(tmp);
	ck_assert_int_eq(test_broker_start(&broker), 0);
}

static void teardown(void)
{
	test_broker_stop(&broker);
	test_tmpdir_free(tmp);
	free(build_dir);
}

static struct test_proc *start_daemon(const char *name, const char *plugins, const char *body)
{
	char *yaml = strf(FAST "mqtt: {host: 127.0.0.1, port: %d, reconnect_min: 0.1, "
			       "reconnect_max: 0.5}\n%s",
			  broker.port, body);
	struct test_proc *p = orbitd_host_start(tmp, build_dir, name, plugins, yaml);
	free(yaml);
	return p;
}

/* The same orbitd again, after it was killed: its directory is kept. */
static struct test_proc *restart_daemon(const char *name)
{
	char *dir = test_tmpdir_path(tmp, name);
	char *bin = strf("%s/bin/orbitd", build_dir), *conf = strf("%s/orbitd.yaml", dir),
	     *pdir = strf("%s/plugins", dir), *sock = strf("%s/ctl.sock", dir);
	char *argv[] = {bin, "-c", conf, "-p", pdir, "-s", sock, NULL};
	struct test_proc *p = test_proc_start(name, argv, NULL);
	ck_assert_ptr_nonnull(p);
	free(dir);
	free(bin);
	free(conf);
	free(pdir);
	free(sock);
	return p;
}

struct res {
	int rc;
	char *out, *err;
};

/* Run the real orbitctl on daemon `name`'s socket: args NULL-terminated. */
static void octl(struct res *r, const char *name, ...)
{
	char *bin = strf("%s/bin/orbitctl", build_dir), *sock = orbitd_host_socket(tmp, name);
	char *argv[24] = {bin, "-s", sock};
	size_t n = 3;
	va_list ap;
	va_start(ap, name);
	for (char *a; (a = va_arg(ap, char *));) {
		ck_assert(n < sizeof argv / sizeof argv[0] - 1);
		argv[n++] = a;
	}
	va_end(ap);
	argv[n] = NULL;
	int st = test_run(argv, NULL, NULL, WAIT, &r->out, &r->err);
	r->rc = st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	if (!r->out)
		r->out = strdup("");
	if (!r->err)
		r->err = strdup("");
	free(bin);
	free(sock);
}

static void res_free(struct res *r)
{
	free(r->out);
	free(r->err);
}

/* `orbitctl --json LIST` of daemon name, the array under key. */
static json_t *list_of(const char *name, const char *what)
{
	struct res r;
	octl(&r, name, "--json", what, (char *)NULL);
	ck_assert_msg(r.rc == 0, "%s: %s", what, r.err);
	json_error_t je;
	json_t *all = json_loads(r.out, 0, &je);
	ck_assert_msg(all, "%s: %s", what, r.out);
	json_t *list = json_incref(json_object_get(all, what));
	json_decref(all);
	res_free(&r);
	return list;
}

/* Wait until daemon name lists a plugin-side connection with remote for
 * operation (an isolated plugin's connections are known from its reports). */
static void await_plugin_side(const char *name, const char *remote, const char *op)
{
	double until = mqtt_peer_now() + WAIT;
	while (mqtt_peer_now() < until) {
		json_t *l = list_of(name, "connections");
		size_t i;
		json_t *e;
		bool found = false;
		json_array_foreach(l, i, e)
			found |= !strcmp(json_string_value(json_object_get(e, "side")), "plugin") &&
				 !strcmp(json_string_value(json_object_get(e, "remote")), remote) &&
				 !strcmp(json_string_value(json_object_get(e, "operation")), op);
		json_decref(l);
		if (found)
			return;
		poll(NULL, 0, 20);
	}
	ck_abort_msg("%s never listed its connection with %s for %s", name, remote, op);
}

/* What `dot` would need of orbitctl graph's output (graphviz is not a
 * test dependency): "digraph NAME {", then statements each on a line of
 * its own ending in ";", subgraphs opening with "{" and closing with "}",
 * quoted IDs with escapes only before " and \\, braces balanced, nothing
 * after the last "}". */
static bool dot_ok(const char *text, const char **why)
{
	int depth = 0;
	*why = "does not start with digraph";
	if (strncmp(text, "digraph ", 8))
		return false;
	for (const char *l = text; *l;) {
		const char *eol = strchr(l, '\n');
		size_t n = eol ? (size_t)(eol - l) : strlen(l);
		bool quoted = false;
		for (size_t i = 0; i < n; i++) {
			if (quoted && l[i] == '\\') {
				*why = "bad escape";
				if (i + 1 == n || (l[i + 1] != '"' && l[i + 1] != '\\'))
					return false;
				i++;
			} else if (l[i] == '"') {
				quoted = !quoted;
			}
		}
		*why = "unbalanced quotes";
		if (quoted)
			return false;
		char last = n ? l[n - 1] : 0;
		*why = "a line that is no statement";
		if (last == '{')
			depth++;
		else if (last == '}')
			depth--;
		else if (last != ';' || depth < 1)
			return false;
		*why = "text after the graph";
		if (depth == 0 && eol && eol[1])
			return false;
		l = eol ? eol + 1 : l + n;
	}
	*why = "unbalanced braces";
	return depth == 0;
}

static void close_remote_core(const char *isolation)
{
	char *b = strf("plugins:\n  echo: {export: true, identifier: echo-1, isolation: %s}\n",
		       isolation);
	struct test_proc *h = start_daemon("host", "tests/plugins/echo.so", b);
	struct test_proc *c = start_daemon("core", NULL, "requirements:\n  echo: {minimum: 1}\n");
	test_expect_line(c, "connected to echo-1 for echo", WAIT);
	await_plugin_side("host", "core", "echo");

	/* Graceful, on the side named: the remote core is told, then finds
	 * the plugin again. */
	struct res r;
	octl(&r, "host", "close", "echo", "core", "--side", "plugin", "--plugin", "echo",
	     (char *)NULL);
	ck_assert_msg(r.rc == 0, "rc %d: %s", r.rc, r.err);
	ck_assert_msg(strstr(r.out, "closing plugin echo's connection with core for echo (graceful)"),
		      "%s", r.out);
	res_free(&r);
	test_expect_line(c, "disconnected from echo-1 for echo (graceful)", WAIT);
	test_expect_line(c, "connected to echo-1 for echo", WAIT);

	/* Graceless, found without --side (the host's core holds none). */
	await_plugin_side("host", "core", "echo");
	octl(&r, "host", "--json", "close", "echo", "core", "--graceless", (char *)NULL);
	ck_assert_msg(r.rc == 0, "rc %d: %s", r.rc, r.err);
	json_error_t je;
	json_t *res = json_loads(r.out, 0, &je);
	ck_assert_msg(res, "%s", r.out);
	ck_assert_str_eq(json_string_value(json_object_get(res, "side")), "plugin");
	ck_assert_str_eq(json_string_value(json_object_get(res, "plugin")), "echo");
	ck_assert_str_eq(json_string_value(json_object_get(res, "local")), "echo-1");
	ck_assert(json_is_false(json_object_get(res, "graceful")));
	json_decref(res);
	res_free(&r);
	test_expect_line(c, "disconnected from echo-1 for echo (graceless)", WAIT);
	test_expect_line(c, "connected to echo-1 for echo", WAIT);

	/* The graph: the remote core outside this orbitd's cluster. */
	octl(&r, "host", "graph", (char *)NULL);
	ck_assert_msg(r.rc == 0, "rc %d: %s", r.rc, r.err);
	const char *why;
	ck_assert_msg(dot_ok(r.out, &why), "%s:\n%s", why, r.out);
	ck_assert_msg(strstr(r.out, "\n  \"core\" -> \"echo-1\" [label=\"echo\"];\n"), "%s", r.out);
	ck_assert_msg(strstr(r.out, "\n  \"core\" [shape=box];\n"), "%s", r.out);
	ck_assert_msg(strstr(r.out, "\n    \"echo-1\" [shape=ellipse];\n"), "%s", r.out);
	res_free(&r);

	/* What is not there is named. */
	octl(&r, "host", "close", "echo", "core", "--plugin", "nope", (char *)NULL);
	ck_assert_int_eq(r.rc, 1);
	ck_assert_msg(strstr(r.err, "no plugin 'nope'"), "%s", r.err);
	res_free(&r);
	octl(&r, "host", "close", "echo", "nobody", "--side", "plugin", (char *)NULL);
	ck_assert_int_eq(r.rc, 1);
	ck_assert_msg(strstr(r.err, "no connection to nobody for echo on a plugin's side"), "%s", r.err);
	res_free(&r);
	octl(&r, "host", "close", "echo", "core", "--side", "core", (char *)NULL);
	ck_assert_int_eq(r.rc, 1);
	ck_assert_msg(strstr(r.err, "no connection to core for echo on the core's side"), "%s", r.err);
	res_free(&r);
	octl(&r, "host", "close", "echo", "core", "--side", "middle", (char *)NULL);
	ck_assert_int_eq(r.rc, 2);
	res_free(&r);

	test_stop_clean(c, WAIT);
	test_stop_clean(h, WAIT);
	free(b);
}

START_TEST(close_remote_core_of_in_process_plugin)
{
	close_remote_core("none");
}
END_TEST

START_TEST(close_remote_core_of_isolated_plugin)
{
	close_remote_core("process");
}
END_TEST

/* The dead remote plugins orbitctl plugins lists. */
static size_t dead_listed(const char *name, const char *id)
{
	json_t *l = list_of(name, "plugins");
	size_t i, n = 0;
	json_t *e;
	json_array_foreach(l, i, e)
		if (!strcmp(json_string_value(json_object_get(e, "state")), "dead") &&
		    (!id || !strcmp(json_string_value(json_object_get(e, "name")), id)))
			n++;
	json_decref(l);
	return n;
}

START_TEST(dead_remotes_are_bounded_and_leave_when_back)
{
	struct test_proc *h[3];
	for (int i = 0; i < 3; i++) {
		char *name = strf("host%d", i + 1);
		char *b = strf("plugins:\n  echo: {export: true, identifier: echo-%d, "
			       "isolation: none}\n",
			       i + 1);
		h[i] = start_daemon(name, "tests/plugins/echo.so", b);
		free(name);
		free(b);
	}
	struct test_proc *c = start_daemon("core", NULL,
					   "control: {dead_remotes: 2}\n"
					   "requirements:\n  echo: {minimum: 3}\n");
	test_expect_line(c, "core compliant: 1/1", WAIT);
	/* One after the other, so that the order of their deaths is known. */
	for (int i = 0; i < 3; i++) {
		char *line = strf("echo-%d is dead", i + 1);
		test_proc_signal(h[i], SIGKILL);
		test_proc_wait_exit(h[i], WAIT);
		test_proc_free(h[i]);
		test_expect_line(c, line, WAIT);
		free(line);
	}
	/* Three died, two are remembered: the oldest went. */
	ck_assert_uint_eq(dead_listed("core", NULL), 2);
	ck_assert_uint_eq(dead_listed("core", "echo-1"), 0);
	ck_assert_uint_eq(dead_listed("core", "echo-3"), 1);
	test_expect_line(c, "1 dead remote plugins forgotten so far", WAIT);
	struct res r;
	octl(&r, "core", "--json", "status", (char *)NULL);
	json_error_t je;
	json_t *st = json_loads(r.out, 0, &je);
	ck_assert_msg(st, "%s", r.out);
	json_t *dr = json_object_get(st, "dead_remotes");
	ck_assert_int_eq(json_integer_value(json_object_get(dr, "listed")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(dr, "forgotten")), 1);
	json_decref(st);
	res_free(&r);
	/* One comes back: no longer dead. */
	h[2] = restart_daemon("host3");
	test_expect_line(c, "connected to echo-3 for echo", WAIT);
	ck_assert_uint_eq(dead_listed("core", "echo-3"), 0);
	ck_assert_uint_eq(dead_listed("core", NULL), 1);
	test_stop_clean(c, WAIT);
	test_stop_clean(h[2], WAIT);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("close-sides");
	TCase *tc = tcase_create("daemons");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, close_remote_core_of_in_process_plugin);
	tcase_add_test(tc, close_remote_core_of_isolated_plugin);
	tcase_add_test(tc, dead_remotes_are_bounded_and_leave_when_back);
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
