/* test_exec_correlated.c — `execute` correlated with its own calls, through
 * real orbitd processes: on a hosted plugin (in the daemon and in its own
 * process) an execute returns as soon as its call is complete, with exactly
 * its own outputs, each with its call and latency, while a schedule of the
 * same operation keeps running; a handler with several outputs and one with
 * none; sink records carry the call; and a remote plugin over a real
 * mosquitto, whose outputs are said to be matched by connection and time
 * only. Waits are on log lines, sink lines and replies, with deadlines. */
#include "broker.h"
#include "expect.h"
#include "orbitd_host.h"
#include "proc.h"
#include "strf.h"
#include "tmpdir.h"

#include <check.h>
#include <jansson.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define WAIT 20.0
/* An execute's --wait here: a correlated one must return long before. */
#define LONG_WAIT 15
#define FAST "timers: {loop_interval: 0.1, discovering_interval: 0.1, shutdown_timeout: 2}\n"

static char *tmp;
static char *build_dir;

static void setup(void)
{
	const char *b = getenv("ORBIT_BUILD");
	build_dir = strdup(b ? b : "build");
	tmp = test_tmpdir_new("exec-corr");
	ck_assert_ptr_nonnull(tmp);
}

static void teardown(void)
{
	test_tmpdir_free(tmp);
	free(build_dir);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* An execute through daemon `name`'s control socket: its output events in
 * order, its reply, and how long it took. */
struct exec_res {
	json_t *events; /* the "event" objects */
	json_t *result; /* the reply's "result" */
	double took;
};

static void exec_res_free(struct exec_res *x)
{
	json_decref(x->events);
	json_decref(x->result);
}

static void execute(struct exec_res *x, const char *name, const char *operation,
		    const char *data, int wait)
{
	char *path = orbitd_host_socket(tmp, name);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	free(path);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	char *req = strf("{\"v\":1,\"id\":1,\"cmd\":\"execute\",\"args\":{\"operation\":\"%s\","
			 "\"data\":[%s],\"wait\":%d}}\n",
			 operation, data, wait);
	double t0 = now();
	ck_assert_int_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	free(req);
	static char buf[1 << 16];
	size_t len = 0;
	json_t *reply = NULL;
	x->events = json_array();
	while (!reply) {
		struct pollfd pfd = {fd, POLLIN, 0};
		ck_assert_msg(poll(&pfd, 1, (int)((wait + WAIT) * 1000)) == 1, "no reply");
		ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
		ck_assert_int_gt(n, 0);
		len += (size_t)n;
		char *nl;
		while ((nl = memchr(buf, '\n', len))) {
			json_error_t je;
			json_t *msg = json_loadb(buf, (size_t)(nl - buf), 0, &je);
			ck_assert_ptr_nonnull(msg);
			json_t *ev = json_object_get(msg, "event");
			if (ev)
				json_array_append(x->events, ev);
			else
				reply = json_incref(msg);
			json_decref(msg);
			len -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, len);
		}
	}
	x->took = now() - t0;
	close(fd);
	ck_assert_msg(json_is_true(json_object_get(reply, "ok")), "%s",
		      json_dumps(reply, JSON_COMPACT));
	x->result = json_incref(json_object_get(reply, "result"));
	json_decref(reply);
}

static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static json_int_t jint(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static char *dump(json_t *v)
{
	static char text[8192];
	char *s = json_dumps(v, JSON_COMPACT);
	snprintf(text, sizeof text, "%s", s ? s : "?");
	free(s);
	return text;
}

/* The one call of x: its id, after checking the reply says it completed
 * (hosted) with n outputs in all. */
static json_int_t expect_complete(const struct exec_res *x, json_int_t outputs)
{
	ck_assert_msg(json_is_true(json_object_get(x->result, "complete")), "%s", dump(x->result));
	ck_assert_int_eq(jint(x->result, "sent"), 1);
	ck_assert_int_eq(jint(x->result, "outputs"), outputs);
	ck_assert_int_eq(jint(x->result, "matched"), 0);
	json_t *calls = json_object_get(x->result, "calls");
	ck_assert_msg(json_array_size(calls) == 1, "%s", dump(x->result));
	json_t *c = json_array_get(calls, 0);
	ck_assert(json_is_true(json_object_get(c, "correlated")));
	ck_assert(json_is_true(json_object_get(c, "complete")));
	ck_assert_int_gt(jint(c, "call"), 0);
	/* Returned on completion, not at the end of the wait. */
	ck_assert_msg(x->took < LONG_WAIT / 3.0, "took %.3f s of a %d s wait", x->took, LONG_WAIT);
	return jint(c, "call");
}

/* Output event i of x: a correlated output of call with value. */
static void expect_output(const struct exec_res *x, size_t i, json_int_t call, const char *value)
{
	json_t *e = json_array_get(x->events, i);
	ck_assert_msg(e, "no event %zu: %s", i, dump(x->events));
	ck_assert_str_eq(jstr(e, "type"), "output");
	ck_assert_str_eq(jstr(e, "value"), value);
	ck_assert(json_is_true(json_object_get(e, "correlated")));
	ck_assert_int_eq(jint(e, "call"), call);
	double lat = json_number_value(json_object_get(e, "latency_ms"));
	ck_assert_msg(lat > 0 && lat < x->took * 1e3, "latency %.3f ms of %.3f s", lat, x->took);
}

static const char *const isolations[] = {"none", "process"};

/* ---- hosted: own output only, at once, while a schedule runs ----------- */

START_TEST(hosted_execute_returns_with_its_own_output)
{
	const char *iso = isolations[_i];
	char *sink = strf("%s/sink.ndjson", tmp);
	char *yaml = strf(FAST "plugins:\n  lowercase: {isolation: %s}\n"
			       "requirements:\n  lowercase:\n    minimum: 1\n"
			       "    schedule: {every: 0.02, data: \"SCHED\"}\n"
			       "    sink: {type: file, path: \"%s\"}\n",
			  iso, sink);
	struct test_proc *d = orbitd_host_start(tmp, build_dir, "core", "plugins/lowercase.so", yaml);
	free(yaml);
	test_expect_line(d, "core compliant: 1/1", WAIT);
	/* The schedule is running: its outputs reach the sink. */
	ck_assert_uint_gt(test_file_lines_over(sink, 5, WAIT), 5);

	for (int round = 0; round < 3; round++) {
		struct exec_res x;
		execute(&x, "core", "lowercase", "\"HeLLo\"", LONG_WAIT);
		json_int_t call = expect_complete(&x, 1);
		/* Exactly its own output: none of the schedule's "sched". */
		ck_assert_msg(json_array_size(x.events) == 1, "%s", dump(x.events));
		expect_output(&x, 0, call, "hello");
		/* The sink's record of it carries the call and its latency: it is
		 * written before the output goes to the execute. */
		char *needle = strf("\"call\":%lld,\"latency_ms\":", (long long)call);
		char *text = test_file_wait_lines(sink, 1, WAIT);
		ck_assert_ptr_nonnull(text);
		const char *rec = strstr(text, needle);
		ck_assert_msg(rec, "no record of call %lld", (long long)call);
		const char *end = strchr(rec, '\n');
		ck_assert_msg(end && strncmp(end - 17, ",\"value\":\"hello\"}", 17) == 0, "%.200s",
			      rec);
		/* The schedule's records are correlated with their own calls. */
		ck_assert_ptr_nonnull(strstr(text, "\"value\":\"sched\""));
		ck_assert_ptr_null(strstr(text, "\"correlated\":false"));
		free(text);
		free(needle);
		exec_res_free(&x);
	}
	free(sink);
	test_stop_clean(d, WAIT);
}
END_TEST

/* ---- hosted: several outputs, and none --------------------------------- */

START_TEST(handler_with_several_outputs_and_with_none)
{
	const char *iso = isolations[_i];
	char *yaml = strf(FAST "plugins:\n  multi: {isolation: %s}\n"
			       "requirements:\n  multi: {minimum: 1}\n",
			  iso);
	struct test_proc *d = orbitd_host_start(tmp, build_dir, "core", "tests/plugins/multi.so",
						yaml);
	free(yaml);
	test_expect_line(d, "core compliant: 1/1", WAIT);

	struct exec_res x;
	execute(&x, "core", "multi", "\"3\"", LONG_WAIT);
	json_int_t call = expect_complete(&x, 3);
	ck_assert_msg(json_array_size(x.events) == 3, "%s", dump(x.events));
	expect_output(&x, 0, call, "1/3");
	expect_output(&x, 1, call, "2/3");
	expect_output(&x, 2, call, "3/3");
	exec_res_free(&x);

	/* No output: done when the handler has returned. */
	execute(&x, "core", "multi", "\"0\"", LONG_WAIT);
	expect_complete(&x, 0);
	ck_assert_msg(json_array_size(x.events) == 0, "%s", dump(x.events));
	exec_res_free(&x);

	/* A failing handler has ended too. */
	execute(&x, "core", "multi", "\"many\"", LONG_WAIT);
	expect_complete(&x, 0);
	exec_res_free(&x);
	test_stop_clean(d, WAIT);
}
END_TEST

/* ---- a plugin process that dies in the call ----------------------------- */

/* The process crashes while handling the call: the call has ended with
 * what arrived (nothing), and execute returns at once, not at --wait. */
START_TEST(call_of_a_crashing_plugin_process_ends_with_it)
{
	char *armed = strf("%s/armed", tmp);
	ck_assert_int_eq(test_tmpdir_write(tmp, "armed", ""), 0);
	char *yaml = strf(FAST "plugins:\n  misbehave:\n    isolation: process\n"
			       "    config: {mode: segv, armed_file: \"%s\"}\n"
			       "requirements:\n  poke: {minimum: 1}\n",
			  armed);
	struct test_proc *d = orbitd_host_start(tmp, build_dir, "core",
						"tests/plugins/misbehave.so", yaml);
	free(yaml);
	test_expect_line(d, "core compliant: 1/1", WAIT);
	struct exec_res x;
	execute(&x, "core", "poke", "\"x\"", LONG_WAIT);
	test_expect_line(d, "killed by SIGSEGV", WAIT);
	expect_complete(&x, 0);
	ck_assert_msg(json_array_size(x.events) == 0, "%s", dump(x.events));
	exec_res_free(&x);
	free(armed);
	test_stop_clean(d, WAIT);
}
END_TEST

/* ---- remote: matched by connection and time ---------------------------- */

START_TEST(remote_plugin_outputs_are_matched_by_connection_and_time)
{
	struct test_broker broker;
	ck_assert_int_eq(test_broker_start(&broker), 0);
	char *mqtt = strf("mqtt: {host: 127.0.0.1, port: %d}\n", broker.port);
	char *host_yaml = strf(FAST "%splugins:\n  lowercase: {export: true, identifier: lc-remote}\n",
			       mqtt);
	struct test_proc *h = orbitd_host_start(tmp, build_dir, "host", "plugins/lowercase.so",
						host_yaml);
	char *sink = strf("%s/remote.ndjson", tmp);
	char *core_yaml = strf(FAST "%srequirements:\n  lowercase:\n    minimum: 1\n"
				    "    sink: {type: file, path: \"%s\"}\n",
			       mqtt, sink);
	struct test_proc *c = orbitd_host_start(tmp, build_dir, "core", NULL, core_yaml);
	test_expect_line(c, "core compliant: 1/1", WAIT);

	struct exec_res x;
	execute(&x, "core", "lowercase", "\"ReMoTe\"", 2);
	/* The wire cannot tell which call an output answers: the whole wait
	 * (less the few ms by which orbitd's timer, armed from the loop's
	 * cached time, may start before our clock did). */
	ck_assert_msg(x.took >= 2.0 - 0.05, "took %.3f s", x.took);
	ck_assert_msg(json_array_size(x.events) == 1, "%s", dump(x.events));
	json_t *e = json_array_get(x.events, 0);
	ck_assert_str_eq(jstr(e, "plugin"), "lc-remote");
	ck_assert_str_eq(jstr(e, "value"), "remote");
	ck_assert(json_is_false(json_object_get(e, "correlated")));
	ck_assert_str_eq(jstr(e, "matched"), "connection/time");
	ck_assert_ptr_null(json_object_get(e, "call"));
	ck_assert(json_number_value(json_object_get(e, "latency_ms")) > 0);
	ck_assert(json_is_false(json_object_get(x.result, "complete")));
	ck_assert_int_eq(jint(x.result, "matched"), 1);
	ck_assert_int_eq(jint(x.result, "outputs"), 1);
	json_t *call = json_array_get(json_object_get(x.result, "calls"), 0);
	ck_assert_str_eq(jstr(call, "plugin"), "lc-remote");
	ck_assert(json_is_false(json_object_get(call, "correlated")));
	exec_res_free(&x);

	/* The sink's record says so too. */
	char *text = test_file_wait_lines(sink, 1, WAIT);
	ck_assert_ptr_nonnull(text);
	ck_assert_msg(strstr(text, "\"plugin\":\"lc-remote\",\"correlated\":false,\"value\":\"remote\""),
		      "%s", text);
	free(text);

	test_stop_clean(c, WAIT);
	test_stop_clean(h, WAIT);
	free(sink);
	free(core_yaml);
	free(host_yaml);
	free(mqtt);
	test_broker_stop(&broker);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("exec_correlated");
	TCase *tc = tcase_create("exec");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, hosted_execute_returns_with_its_own_output, 0, 2);
	tcase_add_loop_test(tc, handler_with_several_outputs_and_with_none, 0, 2);
	tcase_add_test(tc, remote_plugin_outputs_are_matched_by_connection_and_time);
	tcase_add_test(tc, call_of_a_crashing_plugin_process_ends_with_it);
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
