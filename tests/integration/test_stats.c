/* test_stats.c — `orbitctl stats` and `orbitctl top` against real orbitd
 * processes (and a real mosquitto for the MQTT case) hosting real test
 * plugins: the counts equal the executes sent and the outputs that came
 * back, on the core and on the plugin, for a plugin in orbitd
 * (isolation: none), in its own process, and exported over MQTT to another
 * orbitd; a failing handler is counted with its error text; inputs past
 * max_inflight are counted as drops; each handler call is in the latency
 * histogram (count = calls, sum = the time the handlers took); `top` shows
 * the operations with their rates.
 *
 * Waits are on log lines and on `stats` answers reaching what was sent,
 * with a deadline; the counts are then checked to be exactly that.
 */
#include "broker.h"
#include "expect.h"
#include "orbitd_host.h"
#include "proc.h"
#include "strf.h"
#include "tmpdir.h"

#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#define WAIT 20.0
#define FAST "timers: {loop_interval: 0.1, discovering_interval: 0.1, shutdown_timeout: 2}\n"
/* An isolated plugin reports every liveness_timeout / 4. */
#define ISOLATED "isolation: process, liveness_timeout: 1s"

static char *tmp, *build_dir;
static struct test_broker broker;
static bool with_broker;

static void setup(void)
{
	const char *b = getenv("ORBIT_BUILD");
	build_dir = strdup(b ? b : "build");
	tmp = test_tmpdir_new("orbitd-stats");
	ck_assert_ptr_nonnull(tmp);
}

static void teardown(void)
{
	if (with_broker)
		test_broker_stop(&broker);
	test_tmpdir_free(tmp);
	free(build_dir);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* orbitctl -s (daemon name's socket) ARGS...: its stdout (malloc'd), exit 0. */
static char *orbitctl(const char *name, const char *const args[])
{
	char *argv[32];
	size_t n = 0;
	argv[n++] = strf("%s/bin/orbitctl", build_dir);
	argv[n++] = "-s";
	argv[n++] = orbitd_host_socket(tmp, name);
	for (size_t i = 0; args[i] && n < 31; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	char *out = NULL, *err = NULL;
	int st = test_run(argv, NULL, NULL, WAIT, &out, &err);
	ck_assert_msg(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "orbitctl %s: status %d: %s",
		      args[0], st, err ? err : "");
	free(err);
	free(argv[0]);
	free(argv[2]);
	return out;
}

static json_t *stats(const char *name)
{
	const char *args[] = {"--json", "stats", NULL};
	char *out = orbitctl(name, args);
	json_error_t je;
	json_t *doc = json_loads(out, 0, &je);
	ck_assert_msg(json_is_object(doc), "stats --json: %s: %s", je.text, out);
	free(out);
	return doc;
}

/* Execute op once per datum (JSON texts) on daemon name's core. */
static void execute(const char *name, const char *op, const char *const data[])
{
	const char *args[24] = {"execute", op};
	size_t n = 2;
	for (size_t i = 0; data[i]; i++) {
		args[n++] = "--data";
		args[n++] = data[i];
	}
	args[n] = NULL;
	free(orbitctl(name, args));
}

static json_t *core_op(json_t *doc, const char *op)
{
	return json_object_get(json_object_get(json_object_get(doc, "core"), "operations"), op);
}

static json_t *plugin(json_t *doc, const char *name)
{
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(doc, "plugins"), i, p)
		if (json_is_string(json_object_get(p, "name")) &&
		    !strcmp(json_string_value(json_object_get(p, "name")), name))
			return p;
	return NULL;
}

static json_t *plugin_op(json_t *doc, const char *name, const char *bus, const char *op)
{
	json_t *s = json_object_get(json_object_get(plugin(doc, name), "orbiters"), bus);
	return json_object_get(json_object_get(s, "operations"), op);
}

static json_int_t count(json_t *op, const char *key)
{
	return json_integer_value(json_object_get(op, key));
}

/* What the stats of daemon name (the plugin's host) must reach, the core's
 * outputs counted by daemon core_name (NULL: name). */
struct want {
	const char *plugin, *bus, *op;
	json_int_t core_outputs, plugin_outputs, plugin_errors, plugin_drops;
};

static bool holds(json_t *doc, const struct want *w, bool here)
{
	json_t *p = plugin_op(doc, w->plugin, w->bus, w->op);
	return count(p, "outputs_total") == w->plugin_outputs &&
	       count(p, "errors_total") == w->plugin_errors &&
	       count(p, "drops_total") == w->plugin_drops &&
	       (!here || count(core_op(doc, w->op), "outputs_total") == w->core_outputs);
}

/* The stats of daemon name once they hold w (polled every 20 ms until
 * WAIT). */
static json_t *stats_when(const char *name, const char *core_name, const struct want *w)
{
	double until = now() + WAIT;
	for (;;) {
		json_t *doc = stats(name);
		json_t *core = core_name && strcmp(core_name, name) ? stats(core_name) : NULL;
		bool ok = holds(doc, w, !core) &&
			  (!core || count(core_op(core, w->op), "outputs_total") == w->core_outputs);
		json_decref(core);
		if (ok)
			return doc;
		if (now() > until) {
			char *s = json_dumps(doc, JSON_INDENT(1));
			fprintf(stderr, "stats of %s:\n%s\n", name, s);
			ck_abort_msg("stats of %s never reached what was sent", name);
		}
		json_decref(doc);
		struct timespec poll_every = {0, 20 * 1000 * 1000};
		nanosleep(&poll_every, NULL);
	}
}

/* The latency histogram of a plugin operation: count and sum. */
static void latency(json_t *op, json_int_t *n, double *sum)
{
	json_t *h = json_object_get(op, "latency_seconds");
	ck_assert_msg(json_is_object(h), "no latency_seconds");
	*n = count(h, "count");
	*sum = json_number_value(json_object_get(h, "sum_seconds"));
	json_int_t in_buckets = 0;
	size_t i;
	json_t *b;
	json_array_foreach(json_object_get(h, "buckets"), i, b)
		in_buckets += json_integer_value(b);
	ck_assert_int_eq(in_buckets, *n);
}

/* Five executes of flaky and three of flaky_wait, one "fail" each: the
 * core's and the plugin's counts, the error and the histograms. */
static void flaky_counts(const char *isolation, const char *runs)
{
	char *yaml = strf(FAST "plugins: {flaky: {%s}}\n"
			  "requirements:\n  flaky: {minimum: 1}\n  flaky_wait: {minimum: 1}\n",
			  isolation);
	struct test_proc *d = orbitd_host_start(tmp, build_dir, "solo", "tests/plugins/flaky.so", yaml);
	free(yaml);
	test_expect_line(d, "core compliant: 2/2", WAIT);

	const char *five[] = {"\"a\"", "\"bb\"", "\"fail\"", "\"ccc\"", "\"d\"", NULL};
	const char *three[] = {"\"x\"", "\"fail\"", "\"yz\"", NULL};
	execute("solo", "flaky", five);
	execute("solo", "flaky_wait", three);
	struct want w1 = {"flaky", "local", "flaky", 4, 4, 1, 0};
	json_decref(stats_when("solo", NULL, &w1));
	struct want w2 = {"flaky", "local", "flaky_wait", 2, 2, 1, 0};
	json_t *doc = stats_when("solo", NULL, &w2);

	json_t *p = plugin(doc, "flaky");
	ck_assert_str_eq(json_string_value(json_object_get(p, "runs")), runs);
	ck_assert(json_is_integer(json_object_get(p, "pid")));
	const struct {
		const char *op;
		json_int_t sent, outputs, bytes;
	} ops[] = {{"flaky", 5, 4, 1 + 2 + 4 + 3 + 1}, {"flaky_wait", 3, 2, 1 + 4 + 2}};
	for (size_t i = 0; i < 2; i++) {
		json_t *c = core_op(doc, ops[i].op), *o = plugin_op(doc, "flaky", "local", ops[i].op);
		ck_assert_int_eq(count(c, "inputs_total"), ops[i].sent);
		ck_assert_int_eq(count(c, "outputs_total"), ops[i].outputs);
		ck_assert_int_eq(count(o, "inputs_total"), ops[i].sent);
		ck_assert_int_eq(count(o, "outputs_total"), ops[i].outputs);
		ck_assert_int_eq(count(o, "input_bytes_total"), ops[i].bytes);
		ck_assert_int_eq(count(o, "errors_total"), 1);
		ck_assert_int_eq(count(o, "drops_total"), 0);
		const char *le = json_string_value(json_object_get(o, "last_error"));
		ck_assert_msg(le && strstr(le, "handler failed: Input/output error"), "last_error %s",
			      le ? le : "null");
		/* The connection it came on has it too. */
		size_t k;
		json_t *conn;
		bool found = false;
		json_array_foreach(json_object_get(json_object_get(json_object_get(p, "orbiters"), "local"),
						   "connections"),
				   k, conn)
			if (!strcmp(json_string_value(json_object_get(conn, "operation")), ops[i].op)) {
				ck_assert_int_eq(count(conn, "errors_total"), 1);
				found = true;
			}
		ck_assert(found);
		json_int_t n;
		double sum;
		latency(o, &n, &sum);
		ck_assert_int_eq(n, ops[i].sent);
		ck_assert(sum >= 0 && sum < 1.0);
	}
	json_decref(doc);

	/* The table shows the same. */
	const char *args[] = {"stats", NULL};
	char *table = orbitctl("solo", args);
	ck_assert_msg(strstr(table, "OPERATION") && strstr(table, "flaky_wait") &&
			      strstr(table, "handler failed: Input/output error") &&
			      strstr(table, "mqtt: not configured"),
		      "%s", table);
	free(table);
	test_stop_clean(d, WAIT);
}

START_TEST(in_process_counts)
{
	flaky_counts("isolation: none", "daemon");
}
END_TEST

START_TEST(isolated_counts)
{
	flaky_counts(ISOLATED, "process");
}
END_TEST

/* max_inflight 1 on a handler that sleeps 200 ms: of three inputs at once
 * one runs, two are dropped and counted; the histogram has the one call at
 * its real length. */
START_TEST(drops_counted)
{
	struct test_proc *d = orbitd_host_start(
		tmp, build_dir, "solo", "tests/plugins/slow.so",
		FAST "plugins: {slow: {isolation: none, policies: {slow: {max_inflight: 1}}}}\n"
		     "requirements:\n  slow: {minimum: 1}\n");
	test_expect_line(d, "core compliant: 1/1", WAIT);
	const char *three[] = {"\"a\"", "\"b\"", "\"c\"", NULL};
	execute("solo", "slow", three);
	struct want w = {"slow", "local", "slow", 1, 1, 0, 2};
	json_t *doc = stats_when("solo", NULL, &w);
	json_t *o = plugin_op(doc, "slow", "local", "slow");
	ck_assert_int_eq(count(o, "inputs_total"), 3);
	const char *le = json_string_value(json_object_get(o, "last_error"));
	ck_assert_msg(le && !strcmp(le, "input dropped at max_inflight 1"), "last_error %s",
		      le ? le : "null");
	json_int_t n;
	double sum;
	latency(o, &n, &sum);
	ck_assert_int_eq(n, 1);
	ck_assert_msg(sum >= 0.19 && sum < 5, "slow took %g s", sum);
	json_decref(doc);
	test_stop_clean(d, WAIT);
}
END_TEST

/* flaky exported by one orbitd (in its own process) to another orbitd's
 * core over a real broker: each side counts the same executions. */
START_TEST(mqtt_counts)
{
	ck_assert_int_eq(test_broker_start(&broker), 0);
	with_broker = true;
	char *mq = strf("mqtt: {host: 127.0.0.1, port: %d, reconnect_min: 0.1, reconnect_max: 0.5}\n",
			broker.port);
	char *yh = strf(FAST "%splugins: {flaky: {" ISOLATED ", export: true}}\n", mq);
	char *yc = strf(FAST "%srequirements:\n  flaky: {minimum: 1}\n", mq);
	struct test_proc *h = orbitd_host_start(tmp, build_dir, "host", "tests/plugins/flaky.so", yh);
	struct test_proc *c = orbitd_host_start(tmp, build_dir, "core", NULL, yc);
	free(mq);
	free(yh);
	free(yc);
	test_expect_line(c, "core compliant: 1/1", WAIT);

	const char *five[] = {"\"a\"", "\"bb\"", "\"fail\"", "\"ccc\"", "\"d\"", NULL};
	execute("core", "flaky", five);
	struct want w = {"flaky", "mqtt", "flaky", 4, 4, 1, 0};
	json_t *doc = stats_when("host", "core", &w);
	json_t *o = plugin_op(doc, "flaky", "mqtt", "flaky");
	ck_assert_int_eq(count(o, "inputs_total"), 5);
	ck_assert_int_eq(count(plugin_op(doc, "flaky", "local", "flaky"), "inputs_total"), 0);
	json_int_t n;
	double sum;
	latency(o, &n, &sum);
	ck_assert_int_eq(n, 5);
	ck_assert_str_eq(json_string_value(json_object_get(plugin(doc, "flaky"), "runs")), "process");
	json_decref(doc);

	doc = stats("core");
	ck_assert_int_eq(count(core_op(doc, "flaky"), "inputs_total"), 5);
	ck_assert_int_eq(count(core_op(doc, "flaky"), "outputs_total"), 4);
	json_t *m = json_object_get(json_object_get(doc, "buses"), "mqtt");
	ck_assert(json_is_true(json_object_get(m, "connected")));
	ck_assert_int_ge(count(m, "published_total"), 5);
	ck_assert_int_ge(count(m, "received_total"), 4);
	ck_assert_int_ge(count(m, "connects_total"), 1);
	json_decref(doc);
	test_stop_clean(c, WAIT);
	test_stop_clean(h, WAIT);
}
END_TEST

/* The rate column of row (where, bus, operation) in a top frame's line. */
static double rate_in(const char *line, const char *where, const char *bus, const char *op)
{
	char w[64], b[16], o[64], r[32];
	if (sscanf(line, "%63s %15s %63s %31s", w, b, o, r) != 4 || strcmp(w, where) ||
	    strcmp(b, bus) || strcmp(o, op))
		return NAN;
	return strcmp(r, "-") ? strtod(r, NULL) : NAN;
}

/* A requirement scheduled every 50 ms: two frames of `top -n 2`, each with
 * the operation on both sides and a rate above zero. */
START_TEST(top_frames)
{
	struct test_proc *d = orbitd_host_start(
		tmp, build_dir, "solo", "tests/plugins/flaky.so",
		FAST "plugins: {flaky: {isolation: none}}\n"
		     "requirements:\n  flaky: {minimum: 1, schedule: {every: 0.05, data: \"tick\"}}\n");
	test_expect_line(d, "core compliant: 1/1", WAIT);
	const char *args[] = {"top", "-n", "2", "-d", "0.5", NULL};
	char *out = orbitctl("solo", args);
	size_t frames = 0, core_rates = 0, plugin_rates = 0;
	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
		frames += !strncmp(line, "orbitctl top - ", 15);
		core_rates += rate_in(line, "core", "-", "flaky") > 0;
		plugin_rates += rate_in(line, "flaky", "local", "flaky") > 0;
	}
	ck_assert_msg(frames == 2 && core_rates == 2 && plugin_rates == 2,
		      "%zu frames, %zu core rates, %zu plugin rates", frames, core_rates, plugin_rates);
	free(out);
	test_stop_clean(d, WAIT);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("stats");
	TCase *tc = tcase_create("stats");
	tcase_set_timeout(tc, 90);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, in_process_counts);
	tcase_add_test(tc, isolated_counts);
	tcase_add_test(tc, drops_counted);
	tcase_add_test(tc, mqtt_counts);
	tcase_add_test(tc, top_frames);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
