/* test_daemon.c — real orbitd processes on temporary configs and plugin
 * directories with real .so plugins: compliance with the bundled plugins,
 * the broken-plugin matrix, hot drop-in and removal, reload good and bad,
 * every sink kind, schedules, -t, required plugins, SIGTERM. Every wait is on
 * a log line, a file's content or an exit — never a fixed sleep. */
#include "expect.h"
#include "fixture.h"
#include "proc.h"
#include "tmpdir.h"

#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WAIT 15.0

static void setup(void)
{
	fx_setup_tagged("orbitd");
}




#define FAST_TIMERS                                                                         \
	"timers: {loop_interval: 0.1, discovering_interval: 0.1, shutdown_timeout: 3}\n"

/* orbitd's debug trace of core1's handshake on the local bus. */
#define DISCOVER_TRACE "local bus: DiscoverMessage on $handshake.discover"
#define OFFER_TRACE "local bus: OfferMessage on $handshake.core1.offer"

START_TEST(bundled_plugins_compliant_and_outputs_in_file_sink)
{
	fx_add_plugin("plugins/lowercase.so");
	fx_add_plugin("plugins/lamp.so");
	fx_add_plugin("plugins/randint.so");
	fx_add_plugin("plugins/exec.so");
	char *out = fx_tpath("out.ndjson");
	char *status = fx_tpath("status.ndjson");
	char *execout = fx_tpath("exec.ndjson");
	char *yaml = NULL;
	ck_assert_int_ge(asprintf(&yaml,
		"identifier: core1\n" FAST_TIMERS
		"plugins:\n"
		"  randint: {config: {every: 0.1, min: 5, max: 5}}\n"
		"  exec: {config: {command: [/usr/bin/tr, a-z, A-Z]}}\n"
		"requirements:\n"
		"  lowercase:\n"
		"    minimum: 1\n"
		"    sink: {type: file, path: %s}\n"
		"    schedule: {every: 0.1, data: \"HeLLo WoRLD\"}\n"
		"  get_status:\n"
		"    minimum: 1\n"
		"    inputs: [empty]\n"
		"    outputs: [{schema: '{\"type\":\"record\",\"name\":\"StatusMessage\",\"fields\":[{\"name\":\"status\",\"type\":\"string\"}]}'}]\n"
		"    sink: {type: file, path: %s}\n"
		"    schedule: {every: 0.1}\n"
		"  turn_on: {minimum: 1, inputs: [empty], outputs: [none]}\n"
		"  randint: {minimum: 1, inputs: [none], outputs: [int64]}\n"
		"  exec:\n"
		"    minimum: 1\n"
		"    sink: {type: file, path: %s}\n"
		"    schedule: {every: 0.1, data: \"via exec\"}\n",
		out, status, execout), 0);
	fx_write_conf(yaml);
	free(yaml);
	struct test_proc *p = fx_start_orbitd();
	test_expect_line(p, "plugin lamp", WAIT);
	test_expect_line(p, "core compliant: 5/5 requirements satisfied", WAIT);
	char *content = test_file_wait_lines(out, 2, WAIT);
	ck_assert_msg(content, "no outputs in the file sink:\n%s", test_proc_output(p));
	json_error_t je;
	json_t *rec = json_loadb(content, strchr(content, '\n') - content, 0, &je);
	ck_assert_msg(rec, "not JSON: %s", content);
	ck_assert_str_eq(json_string_value(json_object_get(rec, "operation")), "lowercase");
	ck_assert_str_eq(json_string_value(json_object_get(rec, "plugin")), "lowercase");
	ck_assert_str_eq(json_string_value(json_object_get(rec, "value")), "hello world");
	ck_assert_ptr_nonnull(json_object_get(rec, "time"));
	json_decref(rec);
	free(content);
	content = test_file_wait_lines(status, 1, WAIT);
	ck_assert_ptr_nonnull(content);
	rec = json_loadb(content, strchr(content, '\n') - content, 0, &je);
	ck_assert_msg(rec, "not JSON: %s", content);
	ck_assert_str_eq(json_string_value(json_object_get(rec, "plugin")), "lamp");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(rec, "value"), "status")),
			 "off");
	json_decref(rec);
	free(content);
	/* exec ran `tr a-z A-Z` on the worker pool with the input on stdin. */
	content = test_file_wait_lines(execout, 1, WAIT);
	ck_assert_msg(content && strstr(content, "\"value\":\"VIA EXEC\""),
		      "%s", content ? content : "(nothing)");
	free(content);
	free(execout);
	/* randint emits on its own timer into the default (log) sink. */
	test_expect_line(p, "output randint from randint: 5", WAIT);
	test_stop_clean(p, WAIT);
	free(out);
	free(status);
}
END_TEST

START_TEST(broken_plugins_rejected_with_reasons)
{
	static const char *const broken[][2] = {
		{"nosymbol", "no symbol orbit_plugin_descriptor"},
		{"badmagic", "bad magic"},
		{"abimajor", "ABI 99."},
		{"shortstruct", "descriptor of 24 bytes"},
		{"dupop", "duplicate operation"},
		{"badschema", "invalid schema"},
		{"bothlists", "both an allowlist and a blocklist"},
		{"initfail", "init failed: Input/output error"},
		{"noname", "missing or invalid name"},
		{"nohandler", "takes input but has no handler"},
	};
	for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
		char rel[128];
		snprintf(rel, sizeof rel, "tests/plugins/%s.so", broken[i][0]);
		fx_add_plugin(rel);
	}
	fx_add_plugin("tests/plugins/echo.so");
	ck_assert_int_eq(test_tmpdir_write(fx.plugdir, "garbage.so", "not an ELF file\n"), 0);
	fx_write_conf("identifier: core1\n" FAST_TIMERS "requirements:\n  echo: {minimum: 1}\n");
	struct test_proc *p = fx_start_orbitd();
	test_expect_line(p, "core compliant: 1/1", WAIT);
	for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
		char needle[256];
		snprintf(needle, sizeof needle, "plugin %s.so rejected: ", broken[i][0]);
		ck_assert_msg(test_proc_seen(p, needle, WAIT), "%s not rejected", broken[i][0]);
		const char *out = test_proc_output(p);
		const char *line = strstr(out, needle);
		const char *eol = strchr(line, '\n');
		ck_assert_msg(memmem(line, (size_t)(eol - line), broken[i][1], strlen(broken[i][1])),
			      "%s: reason should say \"%s\": %.*s", broken[i][0], broken[i][1],
			      (int)(eol - line), line);
	}
	ck_assert(test_proc_seen(p, "plugin garbage.so rejected: cannot load:", WAIT));
	test_stop_clean(p, WAIT);
}
END_TEST

START_TEST(hot_drop_in_and_removal)
{
	fx_add_plugin("tests/plugins/echo.so");
	fx_write_conf("identifier: core1\n" FAST_TIMERS
		   "requirements:\n  echo: {minimum: 1}\n  upper: {minimum: 1}\n");
	struct test_proc *p = fx_start_orbitd();
	test_expect_line(p, "ready:", WAIT);
	ck_assert(!test_proc_seen(p, "core compliant:", 0));
	fx_add_plugin("tests/plugins/upper.so");
	test_expect_line(p, "plugin upper", WAIT);
	test_expect_line(p, "core compliant: 2/2", WAIT);
	char *up = test_tmpdir_path(fx.plugdir, "upper.so");
	ck_assert_int_eq(unlink(up), 0);
	free(up);
	test_expect_line(p, "plugin upper: file removed, closing its connections", WAIT);
	test_expect_line(p, "disconnected from upper for upper (graceful)", WAIT);
	test_expect_line(p, "core not compliant: 1/2", WAIT);
	test_expect_line(p, "plugin upper stopped", WAIT);
	test_stop_clean(p, WAIT);
}
END_TEST

START_TEST(replaced_plugin_file_upgrades)
{
	fx_add_plugin_as("tests/plugins/echo.so", "p.so");
	fx_write_conf("identifier: core1\n" FAST_TIMERS
		   "requirements:\n  echo: {minimum: 1}\n  upper: {minimum: 1}\n");
	struct test_proc *p = fx_start_orbitd();
	test_expect_line(p, "connected to echo for echo", WAIT);
	/* A broken replacement is refused and the running version stays. */
	fx_add_plugin_as("tests/plugins/nosymbol.so", "p.so");
	test_expect_line(p, "plugin echo: new p.so rejected: no symbol", WAIT);
	ck_assert(!test_proc_seen(p, "disconnected from echo", 0));
	/* A good one takes over: the old version closes gracefully first. */
	fx_add_plugin_as("tests/plugins/upper.so", "p.so");
	test_expect_line(p, "plugin echo: p.so replaced by upper", WAIT);
	test_expect_line(p, "disconnected from echo for echo (graceful)", WAIT);
	test_expect_line(p, "plugin echo stopped", WAIT);
	test_expect_line(p, "plugin upper", WAIT);
	test_expect_line(p, "connected to upper for upper", WAIT);
	/* And back again: an object of the same file name is loaded twice. */
	fx_add_plugin_as("tests/plugins/echo.so", "p.so");
	test_expect_line(p, "plugin upper: p.so replaced by echo", WAIT);
	test_expect_line(p, "disconnected from upper for upper (graceful)", WAIT);
	test_expect_line(p, "connected to echo for echo", WAIT);
	test_stop_clean(p, WAIT);
}
END_TEST

START_TEST(reload_good_then_bad)
{
	fx_add_plugin("tests/plugins/echo.so");
	fx_add_plugin("tests/plugins/upper.so");
	fx_write_conf("identifier: core1\n" FAST_TIMERS "requirements:\n  echo: {minimum: 1}\n");
	struct test_proc *p = fx_start_orbitd();
	test_expect_line(p, "core compliant: 1/1", WAIT);
	fx_write_conf("identifier: core1\n" FAST_TIMERS
		   "requirements:\n  upper: {minimum: 1}\n");
	test_proc_signal(p, SIGHUP);
	test_expect_line(p, "reloaded: requirements: removed echo, added upper", WAIT);
	test_expect_line(p, "core compliant: 1/1", WAIT);
	fx_write_conf("identifier: core1\n" FAST_TIMERS
		   "requirements:\n  upper: {minimum: 1, maximum: 3}\n");
	test_proc_signal(p, SIGHUP);
	test_expect_line(p, "reloaded: requirements: updated upper", WAIT);
	fx_write_conf("identifier: core1\nrequirements:\n  upper: {minimum: -3}\n");
	test_proc_mark(p);
	size_t not_compliant = test_proc_count(p, "core not compliant");
	test_proc_signal(p, SIGHUP);
	char *l = test_proc_wait_line(p, "reload failed, keeping the running configuration", WAIT);
	ck_assert_ptr_nonnull(l);
	ck_assert_msg(strstr(l, "orbitd.yaml:3:"), "no file:line: %s", l);
	free(l);
	/* Still serving the good config. */
	ck_assert_uint_eq(test_proc_count(p, "core not compliant"), not_compliant);
	ck_assert_uint_eq(test_proc_count(p, "disconnected"), 1); /* echo, on the good reload */
	test_stop_clean(p, WAIT);
}
END_TEST

START_TEST(reload_reopens_file_sinks)
{
	fx_add_plugin("plugins/lowercase.so");
	char *out = fx_tpath("out.ndjson");
	char *rotated = fx_tpath("out.ndjson.1");
	char *yaml = NULL;
	ck_assert_int_ge(asprintf(&yaml,
		"identifier: core1\n" FAST_TIMERS
		"requirements:\n"
		"  lowercase:\n"
		"    minimum: 1\n"
		"    sink: {type: file, path: %s}\n"
		"    schedule: {every: 0.1, data: \"ROTATE\"}\n",
		out), 0);
	fx_write_conf(yaml);
	free(yaml);
	struct test_proc *p = fx_start_orbitd();
	char *content = test_file_wait_lines(out, 1, WAIT);
	ck_assert_msg(content, "file sink got nothing:\n%s", test_proc_output(p));
	free(content);
	/* What logrotate does: move the file away, then ask for a reload. */
	ck_assert_int_eq(rename(out, rotated), 0);
	test_proc_signal(p, SIGHUP);
	test_expect_line(p, "reloaded: requirements: unchanged", WAIT);
	content = test_file_wait_lines(out, 1, WAIT);
	ck_assert_msg(content, "no new file after the reload:\n%s", test_proc_output(p));
	ck_assert_msg(strstr(content, "\"value\":\"rotate\""), "%s", content);
	free(content);
	content = test_file_wait_lines(rotated, 1, WAIT);
	ck_assert_ptr_nonnull(content);
	free(content);
	free(out);
	free(rotated);
	test_stop_clean(p, WAIT);
}
END_TEST

START_TEST(exec_and_execute_sinks)
{
	fx_add_plugin("plugins/lowercase.so");
	fx_add_plugin("tests/plugins/upper.so");
	char *execout = fx_tpath("exec.out");
	char *pipeout = fx_tpath("pipe.out");
	char *yaml = NULL;
	ck_assert_int_ge(asprintf(&yaml,
		"identifier: core1\n" FAST_TIMERS
		"requirements:\n"
		"  lowercase:\n"
		"    minimum: 1\n"
		"    sink: {type: execute, operation: upper}\n"
		"    schedule: {every: 0.1, data: \"MiXeD\"}\n"
		"  upper:\n"
		"    minimum: 1\n"
		"    sink: {type: exec, command: \"cat >> %s\"}\n",
		execout), 0);
	fx_write_conf(yaml);
	free(yaml);
	free(pipeout);
	struct test_proc *p = fx_start_orbitd();
	test_expect_line(p, "core compliant: 2/2", WAIT);
	char *content = test_file_wait_lines(execout, 2, WAIT);
	ck_assert_msg(content, "exec sink got nothing:\n%s", test_proc_output(p));
	ck_assert_msg(strstr(content, "\"operation\":\"upper\"") &&
			      strstr(content, "\"value\":\"MIXED\""),
		      "%s", content);
	free(content);
	free(execout);
	test_stop_clean(p, WAIT);
}
END_TEST

START_TEST(blocking_operation_runs_off_the_loop)
{
	fx_add_plugin("tests/plugins/slow.so");
	fx_add_plugin("tests/plugins/echo.so");
	char *slow = fx_tpath("slow.out"), *echo = fx_tpath("echo.out");
	char *yaml = NULL;
	ck_assert_int_ge(asprintf(&yaml,
		"identifier: core1\n" FAST_TIMERS
		"requirements:\n"
		"  slow: {minimum: 1, sink: {type: file, path: %s}, schedule: {every: 0.05, data: s}}\n"
		"  echo: {minimum: 1, sink: {type: file, path: %s}, schedule: {every: 0.05, data: e}}\n",
		slow, echo), 0);
	fx_write_conf(yaml);
	free(yaml);
	struct test_proc *p = fx_start_orbitd();
	test_expect_line(p, "core compliant: 2/2", WAIT);
	/* slow sleeps 200 ms per call on the worker pool; meanwhile the loop
	 * keeps serving echo. If handlers blocked the loop, 20 echo outputs
	 * would need ≥ 20 slow calls, i.e. ≥ 4 s, with 20 lines in slow.out. */
	char *c = test_file_wait_lines(echo, 20, WAIT);
	ck_assert_ptr_nonnull(c);
	free(c);
	c = test_file_wait_lines(slow, 0, WAIT);
	size_t slow_lines = 0;
	for (char *s = c; s && *s; s++)
		slow_lines += *s == '\n';
	free(c);
	ck_assert_msg(slow_lines < 20, "slow produced %zu outputs: the loop was blocked", slow_lines);
	c = test_file_wait_lines(slow, 1, WAIT);
	ck_assert_ptr_nonnull(c);
	free(c);
	test_stop_clean(p, WAIT);
	free(slow);
	free(echo);
}
END_TEST

START_TEST(test_mode_and_bad_config)
{
	char *bin = fx_bpath("bin/orbitd");
	char *conf = fx_tpath("orbitd.yaml");
	fx_write_conf("identifier: core1\nrequirements:\n  echo: {minimum: 1}\n");
	char *argv[] = {bin, "-t", "-c", conf, NULL};
	char *out = NULL, *err = NULL;
	int st = test_run(argv, NULL, NULL, WAIT, &out, &err);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", err);
	ck_assert_ptr_nonnull(strstr(out, "configuration OK"));
	free(out);
	free(err);
	fx_write_conf("identifier: core1\nrequirements:\n  echo: {minimum: 1, bogus: 2}\n");
	st = test_run(argv, NULL, NULL, WAIT, &out, &err);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	ck_assert_msg(strstr(err, "orbitd.yaml:3:") && strstr(err, "bogus"), "%s", err);
	free(out);
	free(err);
	/* A bad file keeps the daemon from starting at all. */
	char *argv2[] = {bin, "-c", conf, "-p", fx.plugdir, "-s", "/nonexistent/x.sock", NULL};
	st = test_run(argv2, NULL, NULL, WAIT, &out, &err);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	free(out);
	free(err);
	char *argv3[] = {bin, "--bogus", NULL};
	st = test_run(argv3, NULL, NULL, WAIT, &out, &err);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 2);
	free(out);
	free(err);
	free(bin);
	free(conf);
}
END_TEST

START_TEST(required_plugin_missing_fails_start)
{
	fx_add_plugin("tests/plugins/initfail.so");
	fx_write_conf("identifier: core1\nplugins:\n  initfail: {required: true}\n");
	struct test_proc *p = fx_start_orbitd();
	int st = test_proc_wait_exit(p, WAIT);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	ck_assert_msg(test_proc_seen(p, "required plugin 'initfail'", 0), "%s",
		      test_proc_output(p));
	ck_assert(test_proc_seen(p, "init failed", 0));
	test_proc_free(p);
}
END_TEST

START_TEST(sigterm_closes_gracefully)
{
	fx_add_plugin("tests/plugins/echo.so");
	fx_write_conf("identifier: core1\n" FAST_TIMERS "requirements:\n  echo: {minimum: 1}\n");
	struct test_proc *p = fx_start_orbitd();
	test_expect_line(p, "core compliant: 1/1", WAIT);
	ck_assert_int_eq(test_proc_signal(p, SIGTERM), 0);
	test_expect_line(p, "disconnected from echo for echo (graceful)", WAIT);
	int st = test_proc_wait_exit(p, WAIT);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert(test_proc_seen(p, "stopped", 0));
	ck_assert(!test_proc_seen(p, "gracelessly", 0));
	test_proc_free(p);
}
END_TEST


/* Policy overrides from YAML are enforced at load and changed on reload;
 * a disabled plugin is not loaded and says why. */
START_TEST(policy_override_and_disable_follow_reload)
{
	fx_add_plugin("tests/plugins/echo.so");
	fx_add_plugin("tests/plugins/upper.so");
	fx_write_conf("identifier: core1\n" FAST_TIMERS
		   "plugins:\n  disable: [upper]\n"
		   "  echo: {policies: {echo: {blocklist: [core1]}}}\n"
		   "requirements:\n  echo: {minimum: 1}\n");
	struct test_proc *p = fx_start_orbitd();
	test_expect_line(p, "plugin upper (upper.so) disabled by configuration", WAIT);
	test_expect_line(p, "ready:", WAIT);
	/* Blocked: the plugin never offers to core1. Evidence first: three
	 * Discovers went over the local bus (orbitd's debug trace), which
	 * delivers in order, and the plugin offers from its Discover handler:
	 * an Offer answering the first two would have been traced before the
	 * third Discover. */
	while (test_proc_count(p, DISCOVER_TRACE) < 3)
		test_expect_line(p, DISCOVER_TRACE, WAIT);
	ck_assert_uint_eq(test_proc_count(p, OFFER_TRACE), 0);
	ck_assert(!test_proc_seen(p, "connected to echo", 0));
	fx_write_conf("identifier: core1\n" FAST_TIMERS
		   "plugins:\n  echo: {policies: {echo: {maximum: 1}}}\n"
		   "requirements:\n  echo: {minimum: 1}\n  upper: {minimum: 1}\n");
	test_proc_mark(p);
	test_proc_signal(p, SIGHUP);
	test_expect_line(p, "plugin upper 1.0.0 loaded from upper.so", WAIT);
	test_expect_line(p, "reloaded:", WAIT);
	test_expect_line(p, "core compliant: 2/2", WAIT);
	/* Unblocked, the plugin offered, and the trace saw it: the same trace
	 * had nothing to show while it was blocked. */
	ck_assert_uint_ge(test_proc_count(p, OFFER_TRACE), 1);
	/* Blocklisting again closes the live connection (policy enforced). */
	fx_write_conf("identifier: core1\n" FAST_TIMERS
		   "plugins:\n  echo: {policies: {echo: {blocklist: [core1]}}}\n"
		   "requirements:\n  echo: {minimum: 1}\n  upper: {minimum: 1}\n");
	test_proc_mark(p);
	test_proc_signal(p, SIGHUP);
	test_expect_line(p, "disconnected from echo for echo", WAIT);
	test_expect_line(p, "core not compliant: 1/2", WAIT);
	test_stop_clean(p, WAIT);
}
END_TEST

/* The systemd notification protocol as the manager sees it, watchdog included. */
START_TEST(notify_socket_sees_ready_status_reload_stopping)
{
	fx_add_plugin("tests/plugins/echo.so");
	fx_write_conf("identifier: core1\n" FAST_TIMERS "requirements:\n  echo: {minimum: 1}\n");
	char *path = fx_tpath("notify.sock");
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	char *env_notify = NULL;
	ck_assert_int_ge(asprintf(&env_notify, "NOTIFY_SOCKET=%s", path), 0);
	char *bin = fx_bpath("bin/orbitd"), *conf = fx_tpath("orbitd.yaml"), *sock = fx_tpath("o.sock");
	char *argv[] = {bin, "-c", conf, "-p", fx.plugdir, "-s", sock, NULL};
	char *env[] = {env_notify, "WATCHDOG_USEC=200000", NULL};
	struct test_proc *p = test_proc_start("orbitd", argv, env);
	ck_assert_ptr_nonnull(p);
	const char *want[] = {"READY=1", "STATUS=compliant: 1/1", "WATCHDOG=1", "RELOADING=1",
			      "READY=1", "STOPPING=1"};
	size_t next = 0;
	bool hupped = false, termed = false;
	while (next < sizeof want / sizeof want[0]) {
		struct pollfd pfd = {fd, POLLIN, 0};
		ck_assert_msg(poll(&pfd, 1, (int)(WAIT * 1000)) == 1, "no datagram for %s",
			      want[next]);
		char buf[2048];
		ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
		ck_assert_int_gt(n, 0);
		buf[n] = 0;
		if (strstr(buf, want[next]))
			next++;
		if (next == 3 && !hupped) {
			hupped = true;
			test_proc_signal(p, SIGHUP);
		}
		if (next == 5 && !termed) {
			termed = true;
			test_proc_signal(p, SIGTERM);
		}
	}
	int st = test_proc_wait_exit(p, WAIT);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	test_proc_free(p);
	close(fd);
	free(env_notify);
	free(bin);
	free(conf);
	free(sock);
	free(path);
}
END_TEST

/* A plugin with its own thread: fd watches and posts from another thread. */
START_TEST(plugin_thread_posts_and_fd_watch)
{
	fx_add_plugin("tests/plugins/postwatch.so");
	fx_write_conf("identifier: core1\n" FAST_TIMERS
		   "requirements:\n  kick: {minimum: 1, inputs: [empty],"
		   " schedule: {every: 0.1}}\n");
	struct test_proc *p = fx_start_orbitd();
	test_expect_line(p, "core compliant: 1/1", WAIT);
	ck_assert(test_proc_seen(p, "output kick from postwatch: \"watched\"", WAIT));
	ck_assert(test_proc_seen(p, "output kick from postwatch: \"posted\"", WAIT));
	test_stop_clean(p, WAIT);
}
END_TEST

/* The SDK as a third party sees it: `make install` into a staging tree, then
 * a plugin built out of tree with nothing but pkg-config, loaded by orbitd. */
START_TEST(third_party_plugin_built_with_pkg_config)
{
	const char *src = getenv("ORBIT_SRC");
	const char *vars = getenv("ORBIT_MAKE_VARS");
	ck_assert_msg(src, "ORBIT_SRC not set (run through make check)");
	char *stage = fx_tpath("stage"), *ext = fx_tpath("ext"), *cmd = NULL;
	ck_assert_int_eq(mkdir(ext, 0755), 0);
	ck_assert_int_ge(asprintf(&cmd,
		"set -e; make -s -C '%s' %s install DESTDIR='%s' PREFIX=/usr/local >/dev/null; "
		"cp '%s/examples/third_party/hello.c' '%s/examples/third_party/Makefile' '%s/'; "
		"make -s -C '%s' PKG_CONFIG_PATH='%s/usr/local/lib/pkgconfig' "
		"PKG_CONFIG_SYSROOT_DIR='%s'",
		src, vars ? vars : "", stage, src, src, ext, ext, stage, stage), 0);
	char *argv[] = {"/bin/sh", "-c", cmd, NULL};
	char *out = NULL, *err = NULL;
	int st = test_run(argv, NULL, NULL, 120, &out, &err);
	ck_assert_msg(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "build failed:\n%s%s",
		      out ? out : "", err ? err : "");
	free(out);
	free(err);
	free(cmd);
	char *so = test_tmpdir_path(ext, "hello.so"), *to = test_tmpdir_path(fx.plugdir, "hello.so");
	ck_assert_int_eq(test_copy_file(so, to, 0644), 0);
	free(so);
	free(to);
	char *sink = fx_tpath("hello.out"), *yaml = NULL;
	ck_assert_int_ge(asprintf(&yaml, "identifier: core1\n" FAST_TIMERS
		"requirements:\n  hello: {minimum: 1, sink: {type: file, path: %s},"
		" schedule: {every: 0.1, data: world}}\n", sink), 0);
	fx_write_conf(yaml);
	free(yaml);
	struct test_proc *p = fx_start_orbitd();
	test_expect_line(p, "core compliant: 1/1", WAIT);
	char *c = test_file_wait_lines(sink, 1, WAIT);
	ck_assert_msg(c && strstr(c, "\"value\":\"hello, world\""), "%s", c ? c : "(nothing)");
	free(c);
	test_stop_clean(p, WAIT);
	free(sink);
	free(stage);
	free(ext);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("daemon");
	TCase *tc = tcase_create("orbitd");
	tcase_add_checked_fixture(tc, setup, fx_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, bundled_plugins_compliant_and_outputs_in_file_sink);
	tcase_add_test(tc, broken_plugins_rejected_with_reasons);
	tcase_add_test(tc, hot_drop_in_and_removal);
	tcase_add_test(tc, replaced_plugin_file_upgrades);
	tcase_add_test(tc, reload_good_then_bad);
	tcase_add_test(tc, exec_and_execute_sinks);
	tcase_add_test(tc, reload_reopens_file_sinks);
	tcase_add_test(tc, blocking_operation_runs_off_the_loop);
	tcase_add_test(tc, test_mode_and_bad_config);
	tcase_add_test(tc, required_plugin_missing_fails_start);
	tcase_add_test(tc, sigterm_closes_gracefully);
	tcase_add_test(tc, third_party_plugin_built_with_pkg_config);
	tcase_add_test(tc, plugin_thread_posts_and_fd_watch);
	tcase_add_test(tc, policy_override_and_disable_follow_reload);
	tcase_add_test(tc, notify_socket_sees_ready_status_reload_stopping);
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
