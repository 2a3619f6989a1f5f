/* test_inflight.c — a real orbitd hosting tests/plugins/stuck.so in its own
 * process, whose blocking operation never returns: 2,000 inputs of 60 KB
 * sent through the control socket (orbitctl execute) leave orbitd's memory
 * bounded (max_inflight admitted, the rest dropped and counted, as
 * `orbitctl plugins --json` shows), the loop keeps answering, and SIGTERM
 * ends orbitd within shutdown_timeout whatever the plugin does: the stuck
 * calls are abandoned, exit status 0.
 *
 * The plugin runs in-process: once plugins.NAME.isolation parses, its
 * section must say `isolation: none` (the default will be a process).
 *
 * Waits are on log lines, orbitctl answers and the exit; never a sleep.
 */
#include "expect.h"
#include "fixture.h"
#include "proc.h"

#include <check.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#define WAIT 15.0
#define INPUTS 2000
#define INPUT_BYTES (60 * 1024)
#define PER_RUN 20           /* --data per orbitctl run: 1.2 MB requests */
#define SHUTDOWN_TIMEOUT 2.0 /* timers.shutdown_timeout below */
#define MAX_INFLIGHT 64      /* OCFG_OP_MAX_INFLIGHT_DEFAULT */
#define WORKERS 4            /* daemon.c's WORKER_THREADS: calls actually stuck */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* VmRSS of pid in kB. */
static long rss_kb(pid_t pid)
{
	long kb = test_proc_status_kb(pid, "VmRSS");
	ck_assert_int_gt(kb, 0);
	return kb;
}

/* orbitctl -s SOCK ARGS...; stdout returned (malloc'd), exit status 0. */
static char *ctl(char *const args[])
{
	char *argv[PER_RUN * 2 + 16];
	size_t n = 0;
	char *bin = fx_bpath("bin/orbitctl");
	argv[n++] = bin;
	argv[n++] = "-s";
	argv[n++] = fx.sock;
	for (size_t i = 0; args[i]; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	char *out = NULL, *err = NULL;
	int st = test_run(argv, NULL, NULL, WAIT, &out, &err);
	ck_assert_msg(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "orbitctl %s: status %d: %s", args[0], st, err ? err : "");
	free(err);
	free(bin);
	return out;
}

/* The operation object of stuck.stuck in `orbitctl --json plugins`. */
static json_t *stuck_op(void)
{
	char *args[] = {"--json", "plugins", NULL};
	char *out = ctl(args);
	json_error_t je;
	json_t *all = json_loads(out, 0, &je), *found = NULL;
	ck_assert_msg(all != NULL, "plugins --json: %s: %s", je.text, out);
	free(out);
	json_t *plugins = json_is_array(all) ? all : json_object_get(all, "plugins");
	size_t i, k;
	json_t *p, *op;
	json_array_foreach(plugins, i, p) {
		if (!json_is_string(json_object_get(p, "name")) ||
		    strcmp(json_string_value(json_object_get(p, "name")), "stuck") != 0)
			continue;
		json_array_foreach(json_object_get(p, "operations"), k, op)
			if (strcmp(json_string_value(json_object_get(op, "name")), "stuck") == 0)
				found = json_incref(op);
	}
	json_decref(all);
	ck_assert_msg(found != NULL, "no operation stuck.stuck in plugins --json");
	return found;
}

static json_int_t int_of(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	ck_assert_msg(json_is_integer(v), "%s is not an integer", key);
	return json_integer_value(v);
}

static void setup(void)
{
	fx_setup_tagged("inflight");
}

/* fx_start_orbitd, but under AddressSanitizer without its quarantine of
 * freed memory (256 MB by default: it would hold the 120 MB of inputs that
 * were freed, and RSS would measure ASan, not orbitd). Other builds ignore
 * ASAN_OPTIONS. */
static struct test_proc *start_orbitd(void)
{
	char *bin = fx_bpath("bin/orbitd");
	char *conf = fx_tpath("orbitd.yaml");
	char *argv[] = {bin, "-c", conf, "-p", fx.plugdir, "-s", fx.sock, "-l", "debug", NULL};
	const char *asan = getenv("ASAN_OPTIONS");
	char *opt = NULL;
	ck_assert_int_ge(asprintf(&opt, "ASAN_OPTIONS=%s%squarantine_size_mb=0", asan ? asan : "",
				  asan && *asan ? ":" : ""),
			 0);
	char *env[] = {opt, NULL};
	struct test_proc *p = test_proc_start("orbitd", argv, env);
	ck_assert_ptr_nonnull(p);
	free(opt);
	free(bin);
	free(conf);
	return p;
}

START_TEST(stuck_blocking_plugin_bounded_memory_and_shutdown)
{
	fx_add_plugin("tests/plugins/stuck.so");
	/* In-process: the bound protects orbitd's own memory here. */
	fx_write_conf("identifier: core1\n"
		      "plugins: {stuck: {isolation: none}}\n"
		      "timers: {loop_interval: 0.1, discovering_interval: 0.1, shutdown_timeout: 2}\n"
		      "control: {max_request: 4194304}\n"
		      "requirements:\n  stuck: {minimum: 1}\n  ping: {minimum: 1}\n");
	struct test_proc *d = start_orbitd();
	test_expect_line(d, "core compliant: 2/2", WAIT);
	pid_t pid = test_proc_pid(d);
	long before = rss_kb(pid);

	/* One 60 KB JSON string, PER_RUN times per orbitctl run. */
	char *datum = malloc(INPUT_BYTES + 3);
	ck_assert_ptr_nonnull(datum);
	datum[0] = '"';
	memset(datum + 1, 'x', INPUT_BYTES);
	datum[INPUT_BYTES + 1] = '"';
	datum[INPUT_BYTES + 2] = '\0';
	char *args[PER_RUN * 2 + 4];
	size_t n = 0;
	args[n++] = "execute";
	args[n++] = "stuck";
	for (size_t i = 0; i < PER_RUN; i++) {
		args[n++] = "--data";
		args[n++] = datum;
	}
	args[n] = NULL;
	for (size_t run = 0; run < INPUTS / PER_RUN; run++)
		free(ctl(args));
	free(datum);

	/* Every input reached the plugin: admitted up to max_inflight, the
	 * rest dropped. The loop answers meanwhile (this is it answering). */
	json_t *op = stuck_op();
	double until = now() + WAIT;
	while (int_of(op, "inflight") + int_of(op, "dropped") < INPUTS && now() < until) {
		json_decref(op);
		op = stuck_op();
	}
	ck_assert_int_eq(int_of(op, "max_inflight"), MAX_INFLIGHT);
	ck_assert_int_eq(int_of(op, "inflight"), MAX_INFLIGHT);
	ck_assert_int_eq(int_of(op, "dropped"), INPUTS - MAX_INFLIGHT);
	ck_assert(json_is_number(json_object_get(op, "timeout")));
	json_decref(op);
	test_expect_line(d, "inputs dropped at max_inflight 64 (the core must wait for results)",
			 WAIT);
	char *pargs[] = {"execute", "ping", "--data", "\"alive\"", "--wait", "1", NULL};
	char *pong = ctl(pargs);
	ck_assert_msg(strstr(pong, "alive") != NULL, "ping: %s", pong);
	free(pong);

	/* Bounded: what is admitted (64 copies of 60 KB, 3.8 MB) plus what one
	 * 1.2 MB request costs while parsed; unbounded, the 120 MB sent would
	 * stay queued. 30 MB of growth leaves room for allocator slack (and
	 * the sanitizers' own bookkeeping) and is far below that. */
	long after = rss_kb(pid);
	fprintf(stderr, "orbitd VmRSS: %ld kB before the flood, %ld kB after\n", before, after);
	ck_assert_msg(after - before < 30 * 1024, "VmRSS grew from %ld to %ld kB", before, after);

	/* SIGTERM: bounded by shutdown_timeout (the connections' drain, then
	 * the workers' wait), the stuck calls abandoned, exit 0. */
	double t0 = now();
	ck_assert_int_eq(test_proc_signal(d, SIGTERM), 0);
	int st = test_proc_wait_exit(d, 4 * SHUTDOWN_TIMEOUT + WAIT);
	double took = now() - t0;
	fprintf(stderr, "orbitd exited %.2f s after SIGTERM\n", took);
	ck_assert_msg(st != -1, "orbitd still running %.1f s after SIGTERM", took);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "orbitd exit status %d", st);
	ck_assert_msg(took < 2 * SHUTDOWN_TIMEOUT + 2.0, "shutdown took %.2f s", took);
	ck_assert(test_proc_seen(d, "4 blocking calls still running at shutdown; abandoned", 0));
	test_proc_free(d);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("inflight");
	TCase *tc = tcase_create("inflight");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, fx_teardown);
	tcase_add_test(tc, stuck_blocking_plugin_bounded_memory_and_shutdown);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
