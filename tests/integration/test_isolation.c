/* test_isolation.c — per-plugin process isolation, through a real orbitd,
 * the real orbitctl and the misbehave test plugin (tests/plugins/misbehave.c)
 * next to the well-behaved bundled lowercase: whatever misbehave does while
 * its armed file exists (crash, abort or exit in a hook, spin in a handler
 * or in a timer, hang on a worker, exhaust memory or processes, close or
 * corrupt its socket, be flooded), orbitd keeps running under the same pid,
 * lowercase keeps answering and stays connected, `orbitctl plugins --json`
 * names what happened, the poke requirement falls unsatisfied at once, and
 * once the file is gone the plugin comes back on its own (or with
 * `orbitctl plugin restart` once `failed`) and answers again.
 *
 * One daemon per test. Waits are on log lines or on orbitctl answers polled
 * against a deadline, never on a fixed sleep; absence is never asserted by
 * waiting. Restart back-offs are set so that a state the test must observe
 * lasts at least a second.
 *
 * Skipped, saying so on stderr: hog under AddressSanitizer (ASan reserves
 * terabytes of address space, so RLIMIT_AS cannot apply) and the RSS bound
 * of flood likewise; forkbomb when not root or without setpriv (RLIMIT_NPROC
 * is per user and never enforced for root: the daemon runs as nobody).
 * Under ASan the daemon also runs with handle_segv=0, so that a plugin
 * process's SIGSEGV kills it instead of ending in an ASan report and exit 1. */
#include "expect.h"
#include "fixture.h"
#include "proc.h"
#include "tmpdir.h"

#include <check.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <pthread.h>
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
#include <time.h>
#include <unistd.h>

#define WAIT 10.0
#define NOBODY 65534
#define SETPRIV "/usr/bin/setpriv"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

#define HEAD                                                                                \
	"identifier: core1\n"                                                               \
	"timers: {loop_interval: 0.1, discovering_interval: 0.1, shutdown_timeout: 3}\n"

/* A restart that waits long enough to be seen, and never gives up. */
#define RESTART_1S "    restart: {backoff_min: 1s, backoff_max: 1s, max_crashes: 100, window: 60s}\n"

static char *armed; /* fx.tmp/armed: misbehave's armed_file */

/* The running orbitd, whose output poll_until keeps reading: it logs each
 * orbitctl connection, and a full pipe would stop it. */
static struct test_proc *daemon_proc;

static void setup(void)
{
	fx_setup_tagged("isolation");
	fx_add_plugin("plugins/lowercase.so");
	fx_add_plugin("tests/plugins/misbehave.so");
	armed = fx_tpath("armed");
}

static void teardown(void)
{
	free(armed);
	armed = NULL;
	daemon_proc = NULL;
	fx_teardown();
}

static void arm(void)
{
	ck_assert_int_eq(test_tmpdir_write(fx.tmp, "armed", ""), 0);
}

static void disarm(void)
{
	ck_assert_msg(unlink(armed) == 0, "unlink %s: %s", armed, strerror(errno));
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void nap(void)
{
	struct timespec ts = {0, 20 * 1000 * 1000};
	nanosleep(&ts, NULL);
}

/* Poll pred(arg) until true or timeout_s passed; the last value. */
static bool poll_until(bool (*pred)(void *), void *arg, double timeout_s)
{
	double end = now_s() + timeout_s;
	for (;;) {
		if (daemon_proc)
			test_proc_mark(daemon_proc);
		if (pred(arg))
			return true;
		if (now_s() >= end)
			return false;
		nap();
	}
}

/* ---- the daemon ------------------------------------------------------- */

/* orbitd on fx's config and plugin directory, as nobody if asked (through
 * setpriv, which execs: the pid is orbitd's). */
static struct test_proc *start_orbitd(bool as_nobody)
{
	char *bin = fx_bpath("bin/orbitd"), *conf = fx_tpath("orbitd.yaml");
	char *argv[16];
	size_t n = 0;
	if (as_nobody) {
		argv[n++] = SETPRIV;
		argv[n++] = "--reuid=65534";
		argv[n++] = "--regid=65534";
		argv[n++] = "--clear-groups";
	}
	argv[n++] = bin;
	argv[n++] = "-c";
	argv[n++] = conf;
	argv[n++] = "-p";
	argv[n++] = fx.plugdir;
	argv[n++] = "-s";
	argv[n++] = fx.sock;
	argv[n++] = "-l";
	argv[n++] = "debug";
	argv[n] = NULL;
	char *asan_env[] = {"ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:handle_segv=0", NULL};
	struct test_proc *p = test_proc_start("orbitd", argv, UNDER_ASAN ? asan_env : NULL);
	ck_assert_ptr_nonnull(p);
	free(bin);
	free(conf);
	test_expect_line(p, "ready:", WAIT);
	daemon_proc = p;
	return p;
}

static void stop_orbitd(struct test_proc *d)
{
	daemon_proc = NULL;
	test_stop_clean(d, WAIT);
}

/* ---- orbitctl --------------------------------------------------------- */

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

/* orbitctl -s fx.sock ARGS... (NULL-terminated) to completion. */
static void ctl(struct res *r, ...)
{
	char *argv[32];
	size_t n = 0;
	char *bin = fx_bpath("bin/orbitctl");
	argv[n++] = bin;
	argv[n++] = "-s";
	argv[n++] = fx.sock;
	va_list ap;
	va_start(ap, r);
	for (char *a; (a = va_arg(ap, char *));) {
		ck_assert(n < sizeof argv / sizeof argv[0] - 1);
		argv[n++] = a;
	}
	va_end(ap);
	argv[n] = NULL;
	int st = test_run(argv, NULL, NULL, 2 * WAIT, &r->out, &r->err);
	r->rc = st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	if (!r->out)
		r->out = strdup("");
	if (!r->err)
		r->err = strdup("");
	free(bin);
}
#define CTL(r, ...) ctl((r), __VA_ARGS__, (char *)NULL)

#define expect_rc(r, code)                                                                  \
	ck_assert_msg((r)->rc == (code), "exit %d, expected %d\n--- stdout\n%s--- stderr\n%s", \
		      (r)->rc, (code), (r)->out, (r)->err)

/* The last answers seen, for failure messages. */
static char last_plugins[8192], last_reqs[4096];

static json_t *ctl_json(const char *cmd, char *keep, size_t keep_len)
{
	struct res r;
	CTL(&r, "--json", cmd);
	/* requirements exits 1 while one is unsatisfied. */
	ck_assert_msg(r.rc == 0 || (r.rc == 1 && !strcmp(cmd, "requirements")),
		      "orbitctl %s: exit %d\n%s%s", cmd, r.rc, r.out, r.err);
	snprintf(keep, keep_len, "%s", r.out);
	json_error_t je;
	json_t *j = json_loads(r.out, 0, &je);
	ck_assert_msg(j, "orbitctl --json %s: not JSON (%s):\n%s", cmd, je.text, r.out);
	res_free(&r);
	return j;
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

static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

/* A copy of plugin name's entry of `orbitctl --json plugins` (decref). */
static json_t *plugin_info(const char *name)
{
	json_t *j = ctl_json("plugins", last_plugins, sizeof last_plugins);
	json_t *e = find_by(json_object_get(j, "plugins"), "name", name);
	ck_assert_msg(e, "no plugin %s in:\n%.1500s", name, last_plugins);
	json_t *copy = json_deep_copy(e);
	json_decref(j);
	return copy;
}

static bool req_satisfied(const char *op)
{
	json_t *j = ctl_json("requirements", last_reqs, sizeof last_reqs);
	json_t *e = find_by(json_object_get(j, "requirements"), "operation", op);
	ck_assert_msg(e, "no requirement %s in:\n%s", op, last_reqs);
	bool sat = json_is_true(json_object_get(e, "satisfied"));
	json_decref(j);
	return sat;
}

struct req_want {
	const char *op;
	bool satisfied;
};

static bool req_is(void *arg)
{
	struct req_want *w = arg;
	return req_satisfied(w->op) == w->satisfied;
}

static void wait_req(const char *op, bool satisfied, double timeout_s)
{
	struct req_want w = {op, satisfied};
	ck_assert_msg(poll_until(req_is, &w, timeout_s), "requirement %s not %s within %.1f s:\n%s",
		      op, satisfied ? "satisfied" : "unsatisfied", timeout_s, last_reqs);
}

/* misbehave's entry has state `state` (NULL: any) and a reason that
 * contains (or, with prefix, starts with) each of the NULL-terminated
 * needles. */
struct plug_want {
	const char *state;
	bool prefix;
	const char *needles[3];
};

static bool plug_is(void *arg)
{
	struct plug_want *w = arg;
	json_t *e = plugin_info("misbehave");
	const char *reason = jstr(e, "reason");
	bool ok = !w->state || !strcmp(jstr(e, "state"), w->state);
	for (size_t i = 0; ok && i < 3 && w->needles[i]; i++)
		ok = i == 0 && w->prefix ? !strncmp(reason, w->needles[i], strlen(w->needles[i]))
					 : strstr(reason, w->needles[i]) != NULL;
	json_decref(e);
	return ok;
}

static void wait_plug(struct plug_want w, double timeout_s)
{
	ck_assert_msg(poll_until(plug_is, &w, timeout_s),
		      "misbehave not %s with reason %s\"%s\" within %.1f s; last seen:\n%s",
		      w.state ? w.state : "(any state)", w.prefix ? "starting with " : "containing ",
		      w.needles[0] ? w.needles[0] : "", timeout_s, last_plugins);
}

static json_int_t jint(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	ck_assert_msg(json_is_integer(v), "\"%s\" is not an integer in:\n%.1500s", key, last_plugins);
	return json_integer_value(v);
}

/* An isolated plugin that runs: active, in a process of its own. */
static pid_t expect_isolated_active(const char *name, pid_t daemon)
{
	json_t *e = plugin_info(name);
	ck_assert_msg(!strcmp(jstr(e, "state"), "active"), "%s not active:\n%.1500s", name,
		      last_plugins);
	ck_assert_msg(!strcmp(jstr(e, "isolation"), "process"), "%s not isolated:\n%.1500s", name,
		      last_plugins);
	pid_t pid = (pid_t)jint(e, "pid");
	ck_assert_msg(pid > 0 && pid != daemon, "%s: pid %ld (daemon %ld)", name, (long)pid,
		      (long)daemon);
	json_decref(e);
	return pid;
}

/* ---- what must hold whatever misbehave does ---------------------------- */

/* Same process, still running, still answering as that pid. */
static void expect_daemon_alive(struct test_proc *d)
{
	ck_assert_msg(test_proc_wait_exit(d, 0) == -1, "orbitd exited:\n%s", test_proc_output(d));
	char keep[4096];
	json_t *j = ctl_json("status", keep, sizeof keep);
	ck_assert_msg(json_integer_value(json_object_get(j, "pid")) == test_proc_pid(d),
		      "another orbitd answers:\n%s", keep);
	json_decref(j);
}

/* Execute op on "data" (a JSON string literal) and expect the output want
 * from plugin in the daemon's log. */
static void expect_answer(struct test_proc *d, const char *op, const char *plugin,
			  const char *data, const char *want)
{
	struct res r;
	char needle[256];
	test_proc_mark(d);
	CTL(&r, "execute", op, "--data", data);
	expect_rc(&r, 0);
	res_free(&r);
	snprintf(needle, sizeof needle, "output %s from %s: %s", op, plugin, want);
	test_expect_line(d, needle, WAIT);
}

/* lowercase keeps answering and its requirement stays satisfied. */
static void expect_neighbour_fine(struct test_proc *d)
{
	ck_assert_msg(req_satisfied("lowercase"), "lowercase unsatisfied:\n%s", last_reqs);
	expect_answer(d, "lowercase", "lowercase", "\"ABC\"", "\"abc\"");
	ck_assert_msg(req_satisfied("lowercase"), "lowercase unsatisfied:\n%s", last_reqs);
	json_t *e = plugin_info("lowercase");
	ck_assert_msg(!strcmp(jstr(e, "state"), "active"), "lowercase:\n%.1500s", last_plugins);
	json_decref(e);
}

/* ---- one misbehaviour, one recovery ------------------------------------ */

struct scenario {
	const char *mode;
	const char *yaml;     /* more keys of plugins.misbehave ("    key: value\n") */
	const char *trigger;  /* the operation whose call misbehaves; NULL: on its own */
	const char *reason;   /* in the crash reason */
	bool prefix;          /* the reason starts with it */
};

static void write_conf(const char *mode, const char *yaml, bool wait_req_too)
{
	char conf[4096];
	snprintf(conf, sizeof conf,
		 HEAD "plugins:\n"
		      "  misbehave:\n"
		      "    isolation: process\n"
		      "    config: {mode: %s, armed_file: \"%s\"}\n"
		      "%s"
		      "requirements:\n"
		      "  lowercase: {minimum: 1}\n"
		      "  poke: {minimum: 1}\n"
		      "%s",
		 mode, armed, yaml ? yaml : "", wait_req_too ? "  wait: {minimum: 1}\n" : "");
	fx_write_conf(conf);
}

static void run_scenario(const struct scenario *sc)
{
	bool wait_op = sc->trigger && !strcmp(sc->trigger, "wait");
	arm();
	write_conf(sc->mode, sc->yaml, wait_op);
	struct test_proc *d = start_orbitd(false);
	pid_t daemon = test_proc_pid(d), before = 0;
	if (sc->trigger) {
		wait_req("lowercase", true, WAIT);
		wait_req(sc->trigger, true, WAIT);
		/* lowercase has no section: isolated by default. */
		expect_isolated_active("lowercase", daemon);
		before = expect_isolated_active("misbehave", daemon);
		expect_neighbour_fine(d);
		struct res r;
		CTL(&r, "execute", sc->trigger, "--data", "\"x\"");
		expect_rc(&r, 0);
		res_free(&r);
	}
	/* Crashed, named, waiting for its restart. */
	wait_plug((struct plug_want){"restarting", sc->prefix, {sc->reason}}, WAIT + 5);
	json_t *e = plugin_info("misbehave");
	ck_assert_msg(jint(e, "crashes") >= 1, "%.1500s", last_plugins);
	ck_assert_msg(json_is_number(json_object_get(e, "restart_in")), "%.1500s", last_plugins);
	json_decref(e);
	/* Its connections closed at once, not at a keepalive deadline. */
	wait_req("poke", false, 2.0);
	expect_daemon_alive(d);
	expect_neighbour_fine(d);

	/* Disarmed: back on its own, in a new process, and answering. */
	disarm();
	wait_req("poke", true, WAIT + 5);
	pid_t after = expect_isolated_active("misbehave", daemon);
	ck_assert_msg(after != before, "same plugin pid %ld after a crash", (long)after);
	e = plugin_info("misbehave");
	ck_assert_msg(jint(e, "restarts") >= 1, "%.1500s", last_plugins);
	json_decref(e);
	if (wait_op)
		expect_answer(d, "wait", "misbehave", "\"x\"", "\"x\"");
	expect_answer(d, "poke", "misbehave", "\"x\"", "\"X\"");
	expect_daemon_alive(d);
	expect_neighbour_fine(d);
	stop_orbitd(d);
}

START_TEST(segv_in_a_handler)
{
	static const struct scenario sc = {"segv", RESTART_1S, "poke",
					   "killed by SIGSEGV while handling poke", false};
	run_scenario(&sc);
}
END_TEST

START_TEST(abort_in_init)
{
	static const struct scenario sc = {"abort_init", RESTART_1S, NULL,
					   "killed by SIGABRT in init", false};
	run_scenario(&sc);
}
END_TEST

START_TEST(exit_in_start)
{
	static const struct scenario sc = {"exit_start", RESTART_1S, NULL,
					   "exited with status 0 in start", false};
	run_scenario(&sc);
}
END_TEST

START_TEST(handler_past_its_timeout)
{
	static const struct scenario sc = {"spin", "    policies: {poke: {timeout: 1s}}\n" RESTART_1S,
					   "poke", "handler of poke ran past its timeout of 1 s",
					   false};
	run_scenario(&sc);
}
END_TEST

START_TEST(timer_spinning_misses_liveness_pings)
{
	static const struct scenario sc = {"spin_timer", "    liveness_timeout: 1s\n" RESTART_1S,
					   NULL, "stopped answering liveness pings for 1 s", false};
	run_scenario(&sc);
}
END_TEST

START_TEST(blocking_handler_past_its_timeout)
{
	static const struct scenario sc = {"hang", "    policies: {wait: {timeout: 1s}}\n" RESTART_1S,
					   "wait", "handler of wait ran past its timeout of 1 s",
					   false};
	run_scenario(&sc);
}
END_TEST

START_TEST(memory_limit)
{
	if (UNDER_ASAN) {
		fprintf(stderr, "%s: skipped under AddressSanitizer: ASan reserves terabytes of "
				"address space, so RLIMIT_AS (limits.memory) is not applied\n",
			__func__);
		return;
	}
	static const struct scenario sc = {"hog", "    limits: {memory: 128M}\n" RESTART_1S, "poke",
					   "killed by SIGABRT while handling poke", false};
	run_scenario(&sc);
}
END_TEST

START_TEST(closed_socket)
{
	static const struct scenario sc = {"closesock", RESTART_1S, "poke",
					   "closed its socket to orbitd", false};
	run_scenario(&sc);
}
END_TEST

START_TEST(malformed_frame)
{
	static const struct scenario sc = {"garbage", RESTART_1S, "poke", "sent a malformed frame",
					   true};
	run_scenario(&sc);
}
END_TEST

/* ---- back-off, then failed, then a manual restart ----------------------- */

struct crashes_want {
	json_int_t n;
};

static bool crashes_reach(void *arg)
{
	struct crashes_want *w = arg;
	json_t *e = plugin_info("misbehave");
	json_t *c = json_object_get(e, "crashes");
	bool ok = json_is_integer(c) && json_integer_value(c) >= w->n;
	json_decref(e);
	return ok;
}

START_TEST(crash_loop_fails_then_manual_restart)
{
	arm();
	write_conf("segv",
		   "    restart: {backoff_min: 0.1s, backoff_max: 0.4s, max_crashes: 3, window: 60s}\n",
		   false);
	struct test_proc *d = start_orbitd(false);
	pid_t daemon = test_proc_pid(d);
	wait_req("lowercase", true, WAIT);
	for (json_int_t i = 1; i <= 3; i++) {
		/* Restarted after its back-off (0.1 s, 0.2 s): poke it again. */
		wait_req("poke", true, WAIT);
		expect_isolated_active("misbehave", daemon);
		struct res r;
		CTL(&r, "execute", "poke", "--data", "\"x\"");
		expect_rc(&r, 0);
		res_free(&r);
		struct crashes_want w = {i};
		ck_assert_msg(poll_until(crashes_reach, &w, WAIT), "crash %d not counted:\n%.1500s",
			      (int)i, last_plugins);
	}
	wait_plug((struct plug_want){"failed",
				     false,
				     {"3 crashes within 60 s", "killed by SIGSEGV while handling poke"}},
		  WAIT);
	json_t *e = plugin_info("misbehave");
	ck_assert_msg(json_is_null(json_object_get(e, "restart_in")), "%.1500s", last_plugins);
	ck_assert_msg(json_is_null(json_object_get(e, "pid")), "%.1500s", last_plugins);
	ck_assert_msg(jint(e, "crashes") == 3, "%.1500s", last_plugins);
	json_decref(e);
	wait_req("poke", false, 2.0);
	expect_daemon_alive(d);
	expect_neighbour_fine(d);

	disarm();
	struct res r;
	CTL(&r, "plugin", "restart", "misbehave");
	expect_rc(&r, 0);
	res_free(&r);
	wait_req("poke", true, WAIT);
	expect_isolated_active("misbehave", daemon);
	expect_answer(d, "poke", "misbehave", "\"x\"", "\"X\"");
	expect_daemon_alive(d);
	expect_neighbour_fine(d);
	stop_orbitd(d);
}
END_TEST

/* ---- forkbomb under limits.processes, as nobody -------------------------- */

static int proc_stat(pid_t pid, pid_t *ppid, unsigned long long *start, char *state)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* After the command's closing parenthesis: state ppid ... field 22. */
	char *p = strrchr(buf, ')');
	if (!p)
		return -1;
	long pp;
	char st;
	unsigned long long t;
	if (sscanf(p + 2,
		   "%c %ld %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu",
		   &st, &pp, &t) != 3)
		return -1;
	if (ppid)
		*ppid = (pid_t)pp;
	if (start)
		*start = t;
	if (state)
		*state = st;
	return 0;
}

static long proc_uid(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	long uid = -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "Uid: %ld", &uid) == 1)
			break;
	fclose(f);
	return uid;
}

/* Whether pid's cmdline mentions s (a forked child keeps its parent's). */
static bool cmdline_has(pid_t pid, const char *s)
{
	char path[64], buf[4096];
	snprintf(path, sizeof path, "/proc/%ld/cmdline", (long)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	for (size_t i = 0; i < n; i++)
		if (!buf[i])
			buf[i] = ' ';
	buf[n] = '\0';
	return strstr(buf, s) != NULL;
}

static bool descends_from(pid_t pid, pid_t root)
{
	for (int depth = 0; pid > 1 && depth < 64; depth++) {
		if (pid == root)
			return true;
		if (proc_stat(pid, &pid, NULL, NULL) < 0)
			return false;
	}
	return false;
}

/* The live (not zombie) processes of uid nobody that belong to this
 * daemon: itself, what descends from it, and orphans that still carry its
 * command line (our temporary directory is in it). Other suites may run
 * processes as nobody meanwhile: those are neither. At most max. */
static size_t daemon_family(pid_t daemon, pid_t *out, size_t max)
{
	size_t n = 0;
	DIR *dir = opendir("/proc");
	ck_assert_ptr_nonnull(dir);
	for (struct dirent *e; (e = readdir(dir)) && n < max;) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		pid_t pid = (pid_t)atol(e->d_name);
		char st;
		if (proc_uid(pid) != NOBODY || proc_stat(pid, NULL, NULL, &st) < 0 || st == 'Z')
			continue;
		if (descends_from(pid, daemon) || cmdline_has(pid, fx.tmp))
			out[n++] = pid;
	}
	closedir(dir);
	return n;
}

struct child {
	pid_t pid;
	unsigned long long start;
};

/* The live children of parent (pid and start time, so a reused pid is not
 * taken for one of them). */
static size_t children_of(pid_t parent, struct child *out, size_t max)
{
	size_t n = 0;
	DIR *dir = opendir("/proc");
	ck_assert_ptr_nonnull(dir);
	for (struct dirent *e; (e = readdir(dir)) && n < max;) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		pid_t pid = (pid_t)atol(e->d_name), pp;
		unsigned long long t;
		char st;
		if (proc_stat(pid, &pp, &t, &st) == 0 && pp == parent && st != 'Z')
			out[n++] = (struct child){pid, t};
	}
	closedir(dir);
	return n;
}

struct gone_want {
	struct child *v;
	size_t n;
};

static bool children_gone(void *arg)
{
	struct gone_want *w = arg;
	for (size_t i = 0; i < w->n; i++) {
		unsigned long long t;
		char st;
		if (proc_stat(w->v[i].pid, NULL, &t, &st) == 0 && t == w->v[i].start && st != 'Z')
			return false;
	}
	return true;
}

struct family_want {
	pid_t daemon;
	pid_t expect[3];
	size_t n_expect;
	pid_t seen[64];
	size_t n_seen;
};

/* Exactly the daemon and its plugin processes. */
static bool family_is(void *arg)
{
	struct family_want *w = arg;
	w->n_seen = daemon_family(w->daemon, w->seen, 64);
	if (w->n_seen != w->n_expect)
		return false;
	for (size_t i = 0; i < w->n_expect; i++) {
		bool found = false;
		for (size_t j = 0; j < w->n_seen && !found; j++)
			found = w->seen[j] == w->expect[i];
		if (!found)
			return false;
	}
	return true;
}

START_TEST(process_limit_forkbomb_as_nobody)
{
	if (geteuid() != 0 || access(SETPRIV, X_OK) != 0) {
		fprintf(stderr, "%s: skipped: needs root and %s to run orbitd as nobody "
				"(RLIMIT_NPROC is per user and never enforced for root)\n",
			__func__, SETPRIV);
		return;
	}
	/* nobody creates the control socket in fx.tmp and reads the armed
	 * file's directory; root (the test, orbitctl) still reaches all. */
	ck_assert_int_eq(chown(fx.tmp, NOBODY, NOBODY), 0);
	arm();
	write_conf("forkbomb", "    limits: {processes: 32}\n" RESTART_1S, false);
	struct test_proc *d = start_orbitd(true);
	pid_t daemon = test_proc_pid(d);
	ck_assert_int_eq(proc_uid(daemon), NOBODY);
	wait_req("lowercase", true, WAIT);
	wait_req("poke", true, WAIT);
	pid_t plug = expect_isolated_active("misbehave", daemon);
	expect_isolated_active("lowercase", daemon);

	/* The reply is the number of children it made before fork failed. */
	test_proc_mark(d);
	struct res r;
	CTL(&r, "execute", "poke", "--data", "\"x\"");
	expect_rc(&r, 0);
	res_free(&r);
	char *line = test_proc_wait_line(d, "output poke from misbehave: \"", WAIT);
	ck_assert_msg(line, "no reply from the forkbomb");
	long made = strtol(strstr(line, ": \"") + 3, NULL, 10);
	free(line);
	ck_assert_msg(made >= 0 && made < 32, "%ld children under limits.processes 32", made);
	static struct child kids[512];
	size_t n_kids = children_of(plug, kids, 512);
	ck_assert_msg(n_kids >= (size_t)made, "%zu children of %ld alive, it made %ld", n_kids,
		      (long)plug, made);
	expect_daemon_alive(d);
	expect_neighbour_fine(d);

	/* A restart kills the plugin's process group: every child goes. */
	CTL(&r, "plugin", "restart", "misbehave");
	expect_rc(&r, 0);
	res_free(&r);
	struct gone_want g = {kids, n_kids};
	ck_assert_msg(poll_until(children_gone, &g, WAIT), "the forkbomb's children outlived "
			      "the restart of their plugin");
	disarm();
	wait_req("poke", true, WAIT);
	struct family_want f = {.daemon = daemon, .n_expect = 3};
	f.expect[0] = daemon;
	f.expect[1] = expect_isolated_active("misbehave", daemon);
	f.expect[2] = expect_isolated_active("lowercase", daemon);
	ck_assert_msg(f.expect[1] != plug, "misbehave still in pid %ld", (long)plug);
	ck_assert_msg(poll_until(family_is, &f, WAIT),
		      "processes of nobody from this orbitd: %zu, want 3 (orbitd %ld, misbehave "
		      "%ld, lowercase %ld)",
		      f.n_seen, (long)f.expect[0], (long)f.expect[1], (long)f.expect[2]);
	expect_answer(d, "poke", "misbehave", "\"x\"", "\"X\"");
	expect_daemon_alive(d);
	expect_neighbour_fine(d);
	stop_orbitd(d);
}
END_TEST

/* ---- flood: max_inflight bounds what orbitd holds -------------------------- */

#define FLOOD_N 2000
#define FLOOD_INPUT (60 * 1024)
#define RSS_LIMIT_KB (40 * 1024)

struct flood {
	int fd;
	int sent; /* requests written; -errno on failure */
};

static void *flood_writer(void *arg)
{
	struct flood *f = arg;
	static const char head[] = "\",\"cmd\":\"execute\",\"args\":{\"operation\":\"wait\",\"data\":[\"";
	static const char tail[] = "\"]}}\n";
	size_t cap = 64 + sizeof head + FLOOD_INPUT + sizeof tail;
	char *req = malloc(cap);
	if (!req) {
		f->sent = -ENOMEM;
		return NULL;
	}
	for (int i = 0; i < FLOOD_N; i++) {
		int n = snprintf(req, cap, "{\"v\":1,\"id\":\"f%d%s", i, head);
		memset(req + n, 'a' + i % 26, FLOOD_INPUT);
		n += FLOOD_INPUT;
		memcpy(req + n, tail, sizeof tail - 1);
		n += (int)sizeof tail - 1;
		for (int off = 0; off < n;) {
			ssize_t w = send(f->fd, req + off, (size_t)(n - off), MSG_NOSIGNAL);
			if (w <= 0) {
				f->sent = -errno;
				free(req);
				return NULL;
			}
			off += (int)w;
		}
		f->sent = i + 1;
	}
	free(req);
	return NULL;
}


static bool wait_dropped(void *arg)
{
	(void)arg;
	json_t *e = plugin_info("misbehave");
	json_t *op = find_by(json_object_get(e, "operations"), "name", "wait");
	json_t *dr = json_object_get(op, "dropped");
	bool ok = json_is_integer(dr) && json_integer_value(dr) > 0;
	json_decref(e);
	return ok;
}

START_TEST(flood_is_bounded_by_max_inflight)
{
	write_conf("slow", "    policies: {wait: {max_inflight: 8}}\n", true);
	struct test_proc *d = start_orbitd(false);
	pid_t daemon = test_proc_pid(d);
	wait_req("lowercase", true, WAIT);
	wait_req("wait", true, WAIT);
	expect_isolated_active("misbehave", daemon);

	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", fx.sock);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_msg(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0, "connect: %s",
		      strerror(errno));
	struct timeval tv = {(time_t)WAIT, 0};
	ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
	ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv), 0);

	/* All requests go out as fast as orbitd reads them; each is answered
	 * at once (execute without wait). RSS is sampled as answers come. */
	struct flood f = {fd, 0};
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, flood_writer, &f), 0);
	long rss_max = 0;
	int replies = 0, ok = 0;
	char buf[65536], linebuf[512];
	size_t llen = 0;
	double end = now_s() + 6 * WAIT;
	while (replies < FLOOD_N && now_s() < end) {
		/* orbitd logs every execution: keep reading its output, or it
		 * blocks on a full pipe and stops reading requests. */
		test_proc_mark(d);
		long rss = test_proc_status_kb(daemon, "VmRSS");
		if (rss > rss_max)
			rss_max = rss;
		struct pollfd pfd = {fd, POLLIN, 0};
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] != '\n') {
				if (llen < sizeof linebuf - 1)
					linebuf[llen++] = buf[i];
				continue;
			}
			linebuf[llen] = '\0';
			llen = 0;
			replies++;
			ok += strstr(linebuf, "\"ok\":true") || strstr(linebuf, "\"ok\": true");
		}
	}
	pthread_join(th, NULL);
	close(fd);
	ck_assert_msg(f.sent == FLOOD_N, "wrote %d of %d requests", f.sent, FLOOD_N);
	ck_assert_msg(replies == FLOOD_N, "%d replies to %d requests", replies, FLOOD_N);
	long hwm = test_proc_status_kb(daemon, "VmHWM");
	fprintf(stderr, "flood: %d of %d executions accepted; orbitd VmRSS at most %ld kB seen, "
			"VmHWM %ld kB\n",
		ok, FLOOD_N, rss_max, hwm);
	if (UNDER_ASAN)
		fprintf(stderr, "%s: RSS bound skipped under AddressSanitizer (shadow memory and "
				"quarantine)\n",
			__func__);
	else
		ck_assert_msg(rss_max < RSS_LIMIT_KB && hwm >= 0 && hwm < RSS_LIMIT_KB,
			      "orbitd VmRSS %ld kB, VmHWM %ld kB: over %d kB", rss_max, hwm,
			      RSS_LIMIT_KB);
	ck_assert_msg(poll_until(wait_dropped, NULL, WAIT), "nothing dropped at max_inflight 8:\n%.1500s",
		      last_plugins);
	json_t *e = plugin_info("misbehave");
	json_t *op = find_by(json_object_get(e, "operations"), "name", "wait");
	ck_assert_msg(op, "%.1500s", last_plugins);
	ck_assert_msg(jint(op, "max_inflight") == 8, "%.1500s", last_plugins);
	ck_assert_msg(jint(op, "inflight") <= 8, "%.1500s", last_plugins);
	json_decref(e);
	expect_daemon_alive(d);
	expect_neighbour_fine(d);
	stop_orbitd(d);
}
END_TEST

/* ---- a plugin that exits on its own ------------------------------------ */

START_TEST(exit_in_a_handler)
{
	static const struct scenario sc = {"exit_poke", RESTART_1S, "poke",
					   "exited with status 0 while handling poke", false};
	run_scenario(&sc);
}
END_TEST

/* ---- processes by pid ------------------------------------------------- */

/* A process as pid and start time: a reused pid is not taken for it. */
struct proc_id {
	pid_t pid;
	unsigned long long start;
};

static struct proc_id proc_id_of(pid_t pid)
{
	struct proc_id id = {pid, 0};
	ck_assert_msg(proc_stat(pid, NULL, &id.start, NULL) == 0, "no process %ld", (long)pid);
	return id;
}

/* Gone: no such process any more, another one under its pid, or a zombie
 * (dead; whoever inherited it may never reap it in a container). */
static bool proc_gone(void *arg)
{
	const struct proc_id *id = arg;
	unsigned long long t;
	char st;
	return proc_stat(id->pid, NULL, &t, &st) < 0 || t != id->start || st == 'Z' || st == 'X';
}

static void wait_gone(const struct proc_id *id, const char *what, double timeout_s)
{
	ck_assert_msg(poll_until(proc_gone, (void *)id, timeout_s),
		      "%s (pid %ld) still running after %.1f s", what, (long)id->pid, timeout_s);
}

static pid_t proc_pgrp(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	FILE *f = fopen(path, "re");
	ck_assert_msg(f, "%s: %s", path, strerror(errno));
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* After the command: state, ppid, pgrp (field 5). */
	char *p = strrchr(buf, ')');
	long pg = -1;
	ck_assert_msg(p && sscanf(p + 2, "%*c %*d %ld", &pg) == 1, "%s: %s", path, buf);
	return (pid_t)pg;
}

/* The value of "key:" in /proc/PID/status, whitespace trimmed ("" if none). */
static void status_value(pid_t pid, const char *key, char *out, size_t len)
{
	char path[64], line[512];
	size_t klen = strlen(key);
	snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
	FILE *f = fopen(path, "re");
	ck_assert_msg(f, "%s: %s", path, strerror(errno));
	out[0] = '\0';
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			char *v = line + klen + 1;
			v += strspn(v, " \t");
			v[strcspn(v, "\n")] = '\0';
			snprintf(out, len, "%s", v);
			break;
		}
	fclose(f);
}

/* The soft and hard values of the /proc/PID/limits line starting with name. */
static void limit_of(pid_t pid, const char *name, char *soft, char *hard, size_t len)
{
	char path[64], line[512];
	snprintf(path, sizeof path, "/proc/%ld/limits", (long)pid);
	FILE *f = fopen(path, "re");
	ck_assert_msg(f, "%s: %s", path, strerror(errno));
	soft[0] = hard[0] = '\0';
	size_t nlen = strlen(name);
	char s[64], h[64];
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, name, nlen) && sscanf(line + nlen, "%63s %63s", s, h) == 2) {
			snprintf(soft, len, "%s", s);
			snprintf(hard, len, "%s", h);
			break;
		}
	fclose(f);
}

struct fdent {
	int fd;
	char target[256];
};

/* The open descriptors of pid and what they point to, sorted by number. */
static size_t fds_of(pid_t pid, struct fdent *out, size_t max)
{
	char dirpath[64];
	snprintf(dirpath, sizeof dirpath, "/proc/%ld/fd", (long)pid);
	DIR *dir = opendir(dirpath);
	ck_assert_msg(dir, "%s: %s", dirpath, strerror(errno));
	size_t n = 0;
	for (struct dirent *e; (e = readdir(dir)) && n < max;) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		char path[sizeof dirpath + sizeof e->d_name + 1];
		snprintf(path, sizeof path, "%s/%s", dirpath, e->d_name);
		ssize_t k = readlink(path, out[n].target, sizeof out[n].target - 1);
		if (k < 0)
			continue; /* closed meanwhile */
		out[n].target[k] = '\0';
		out[n].fd = atoi(e->d_name);
		n++;
	}
	closedir(dir);
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && out[j - 1].fd > out[j].fd; j--) {
			struct fdent t = out[j];
			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return n;
}

static void fds_text(const struct fdent *v, size_t n, char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "  %d -> %s\n", v[i].fd, v[i].target);
}

/* ---- the sandbox of a running plugin process --------------------------- */

START_TEST(sandbox_of_an_isolated_plugin_process)
{
	char conf[2048];
	snprintf(conf, sizeof conf,
		 HEAD "plugins:\n"
		      "  lowercase:\n"
		      "    isolation: process\n"
		      "    limits: {files: 64, processes: 100, memory: 512M}\n"
		      "  misbehave:\n"
		      "    config: {mode: slow}\n"
		      "requirements:\n"
		      "  lowercase: {minimum: 1}\n"
		      "  poke: {minimum: 1}\n");
	fx_write_conf(conf);
	struct test_proc *d = start_orbitd(false);
	pid_t daemon = test_proc_pid(d);
	wait_req("lowercase", true, WAIT);
	wait_req("poke", true, WAIT);
	pid_t pid = expect_isolated_active("lowercase", daemon);
	pid_t other = expect_isolated_active("misbehave", daemon);
	expect_neighbour_fine(d);

	/* No new privileges, no capability at all (bounding set included). */
	char v[128];
	status_value(pid, "NoNewPrivs", v, sizeof v);
	ck_assert_msg(!strcmp(v, "1"), "NoNewPrivs: %s", v);
	static const char *const caps[] = {"CapEff", "CapPrm", "CapBnd", "CapInh", "CapAmb"};
	for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
		status_value(pid, caps[i], v, sizeof v);
		ck_assert_msg(v[0] && strspn(v, "0") == strlen(v), "%s: %s", caps[i], v);
	}

	/* A process group of its own, not orbitd's nor its neighbour's. */
	ck_assert_int_eq(proc_pgrp(pid), pid);
	ck_assert_int_ne(proc_pgrp(pid), proc_pgrp(daemon));
	ck_assert_int_eq(proc_pgrp(other), other);

	/* plugins.lowercase.limits, soft and hard. */
	char soft[64], hard[64];
	limit_of(pid, "Max open files", soft, hard, sizeof soft);
	ck_assert_msg(!strcmp(soft, "64") && !strcmp(hard, "64"), "open files %s %s", soft, hard);
	limit_of(pid, "Max processes", soft, hard, sizeof soft);
	ck_assert_msg(!strcmp(soft, "100") && !strcmp(hard, "100"), "processes %s %s", soft, hard);
	if (UNDER_ASAN) {
		fprintf(stderr, "%s: address space limit not checked under AddressSanitizer (not "
				"applied there)\n",
			__func__);
	} else {
		limit_of(pid, "Max address space", soft, hard, sizeof soft);
		ck_assert_msg(!strcmp(soft, "536870912") && !strcmp(hard, "536870912"),
			      "address space %s %s", soft, hard);
	}
	/* misbehave has no limits: not lowercase's. */
	limit_of(other, "Max open files", soft, hard, sizeof soft);
	ck_assert_msg(strcmp(soft, "64") != 0, "misbehave got lowercase's limit of open files");

	/* 0-2, the link on 3, and only what the plugin process made itself
	 * (its event loop: one epoll, its wake-ups): nothing of orbitd's. */
	static struct fdent pf[256], df[1024];
	size_t np = fds_of(pid, pf, 256), nd = fds_of(daemon, df, 1024);
	char pl[4096];
	fds_text(pf, np, pl, sizeof pl);
	ck_assert_msg(np >= 4 && pf[0].fd == 0 && pf[1].fd == 1 && pf[2].fd == 2 && pf[3].fd == 3,
		      "descriptors of plugin process %ld:\n%s", (long)pid, pl);
	ck_assert_msg(!strncmp(pf[3].target, "socket:[", 8), "fd 3 is no socket:\n%s", pl);
	size_t epolls = 0;
	for (size_t i = 3; i < np; i++) {
		const char *t = pf[i].target;
		bool own_kind = i == 3 || !strcmp(t, "anon_inode:[eventpoll]") ||
				!strcmp(t, "anon_inode:[eventfd]") || !strncmp(t, "pipe:[", 6);
		epolls += !strcmp(t, "anon_inode:[eventpoll]");
		ck_assert_msg(own_kind, "fd %d -> %s is not the plugin process's own:\n%s", pf[i].fd,
			      t, pl);
		if (!strncmp(t, "anon_inode:", 11))
			continue; /* one name for every such file: not comparable */
		for (size_t j = 0; j < nd; j++)
			ck_assert_msg(strcmp(t, df[j].target) != 0,
				      "fd %d -> %s is also orbitd's fd %d:\n%s", pf[i].fd, t,
				      df[j].fd, pl);
	}
	ck_assert_msg(epolls <= 1, "%zu epoll descriptors (one is its own loop's):\n%s", epolls,
		      pl);
	ck_assert_msg(np <= 12, "%zu descriptors:\n%s", np, pl);
	stop_orbitd(d);
}
END_TEST

/* ---- orbitd killed: its plugin processes go with it --------------------- */

START_TEST(orbitd_killed_takes_its_plugin_processes_along)
{
	write_conf("slow", NULL, true);
	struct test_proc *d = start_orbitd(false);
	pid_t daemon = test_proc_pid(d);
	wait_req("lowercase", true, WAIT);
	wait_req("poke", true, WAIT);
	struct proc_id lc = proc_id_of(expect_isolated_active("lowercase", daemon));
	struct proc_id mb = proc_id_of(expect_isolated_active("misbehave", daemon));
	daemon_proc = NULL;
	ck_assert_int_eq(test_proc_signal(d, SIGKILL), 0);
	int st = test_proc_wait_exit(d, WAIT);
	ck_assert_msg(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "orbitd: status %d",
		      st);
	/* Nobody supervises them now: the death signal takes them. */
	wait_gone(&lc, "lowercase's process", 5.0);
	wait_gone(&mb, "misbehave's process", 5.0);
	test_proc_free(d);
}
END_TEST

/* ---- a shutdown hook that never returns --------------------------------- */

#define SHUTDOWN_TIMEOUT 1.0
/* SIGTERM to exit: the connections' drain (at most the timeout), then the
 * wait for the plugin processes (the timeout again), and slack. */
#define SHUTDOWN_MARGIN 3.0

START_TEST(hung_shutdown_hook_is_killed_at_the_timeout)
{
	char conf[2048];
	snprintf(conf, sizeof conf,
		 "identifier: core1\n"
		 "timers: {loop_interval: 0.1, discovering_interval: 0.1, shutdown_timeout: %gs}\n"
		 "plugins:\n"
		 "  misbehave:\n"
		 "    isolation: process\n"
		 "    config: {mode: hang_shutdown, armed_file: \"%s\"}\n"
		 "requirements:\n"
		 "  lowercase: {minimum: 1}\n"
		 "  poke: {minimum: 1}\n",
		 SHUTDOWN_TIMEOUT, armed);
	fx_write_conf(conf);
	arm();
	struct test_proc *d = start_orbitd(false);
	pid_t daemon = test_proc_pid(d);
	wait_req("lowercase", true, WAIT);
	wait_req("poke", true, WAIT);
	pid_t pid = expect_isolated_active("misbehave", daemon);
	struct proc_id mb = proc_id_of(pid);
	struct proc_id lc = proc_id_of(expect_isolated_active("lowercase", daemon));
	expect_answer(d, "poke", "misbehave", "\"x\"", "\"X\"");

	daemon_proc = NULL;
	double t0 = now_s();
	ck_assert_int_eq(test_proc_signal(d, SIGTERM), 0);
	int st = test_proc_wait_exit(d, SHUTDOWN_TIMEOUT + SHUTDOWN_MARGIN);
	double took = now_s() - t0;
	ck_assert_msg(st != -1, "orbitd still running %.1f s after SIGTERM (shutdown_timeout %g s):"
				"\n%s",
		      took, SHUTDOWN_TIMEOUT, test_proc_output(d));
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "orbitd: status 0x%x:\n%s", st,
		      test_proc_output(d));
	fprintf(stderr, "%s: orbitd exited %.2f s after SIGTERM\n", __func__, took);
	wait_gone(&mb, "misbehave's process", 2.0);
	wait_gone(&lc, "lowercase's process", 2.0);
	/* The hook did hang, and orbitd said it killed the process for it. */
	ck_assert_msg(test_proc_seen(d, "hang_shutdown: shutdown blocks forever", 0),
		      "the shutdown hook never ran:\n%s", test_proc_output(d));
	char killed[128], at_exit[128];
	snprintf(killed, sizeof killed, "plugin misbehave: process %ld did not stop in time; killed",
		 (long)pid);
	snprintf(at_exit, sizeof at_exit,
		 "plugin misbehave: process %ld still running at exit; killed", (long)pid);
	ck_assert_msg(test_proc_seen(d, killed, 0) || test_proc_seen(d, at_exit, 0),
		      "no word of killing process %ld for not stopping in time:\n%s", (long)pid,
		      test_proc_output(d));
	test_proc_free(d);
}
END_TEST

/* ---- hot upgrade and removal of an isolated plugin ----------------------- */

/* Whether pid maps the file with inode ino. */
static bool maps_inode(pid_t pid, unsigned long ino)
{
	char path[64], line[1024];
	snprintf(path, sizeof path, "/proc/%ld/maps", (long)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	bool found = false;
	while (!found && fgets(line, sizeof line, f)) {
		unsigned long i;
		if (sscanf(line, "%*s %*s %*s %*s %lu", &i) == 1 && i == ino)
			found = true;
	}
	fclose(f);
	return found;
}

struct new_proc_want {
	const char *name;
	pid_t old;
	pid_t now;
};

/* name is active in a process other than old. */
static bool runs_in_new_process(void *arg)
{
	struct new_proc_want *w = arg;
	json_t *e = plugin_info(w->name);
	json_t *p = json_object_get(e, "pid");
	w->now = json_is_integer(p) ? (pid_t)json_integer_value(p) : 0;
	bool ok = !strcmp(jstr(e, "state"), "active") && w->now > 0 && w->now != w->old;
	json_decref(e);
	return ok;
}

static bool plugin_unlisted(void *arg)
{
	json_t *j = ctl_json("plugins", last_plugins, sizeof last_plugins);
	bool gone = !find_by(json_object_get(j, "plugins"), "name", arg);
	json_decref(j);
	return gone;
}

START_TEST(hot_upgrade_and_removal_of_an_isolated_plugin)
{
	write_conf("slow", NULL, false);
	struct test_proc *d = start_orbitd(false);
	pid_t daemon = test_proc_pid(d);
	wait_req("lowercase", true, WAIT);
	wait_req("poke", true, WAIT);
	pid_t before = expect_isolated_active("misbehave", daemon);
	struct proc_id old = proc_id_of(before);
	char *so = test_tmpdir_path(fx.plugdir, "misbehave.so");
	struct stat st0, st1;
	ck_assert_int_eq(stat(so, &st0), 0);
	ck_assert_msg(maps_inode(before, (unsigned long)st0.st_ino), "process %ld does not map %s",
		      (long)before, so);

	/* A new file under the same name (a new inode, as mv gives). */
	test_proc_mark(d);
	fx_add_plugin("tests/plugins/misbehave.so");
	ck_assert_int_eq(stat(so, &st1), 0);
	ck_assert_uint_ne(st1.st_ino, st0.st_ino);
	wait_gone(&old, "the old version's process", WAIT);
	struct new_proc_want w = {"misbehave", before, 0};
	ck_assert_msg(poll_until(runs_in_new_process, &w, WAIT),
		      "misbehave not running in a new process:\n%.1500s", last_plugins);
	ck_assert_msg(maps_inode(w.now, (unsigned long)st1.st_ino),
		      "new process %ld does not map the new file (inode %lu)", (long)w.now,
		      (unsigned long)st1.st_ino);
	ck_assert_msg(test_proc_seen(d, "plugin misbehave: misbehave.so replaced by", 0),
		      "no upgrade logged:\n%s", test_proc_output(d));
	wait_req("poke", true, WAIT);
	expect_answer(d, "poke", "misbehave", "\"x\"", "\"X\"");
	ck_assert_int_eq(expect_isolated_active("misbehave", daemon), w.now);

	/* The file removed: its process stops, the plugin is forgotten. */
	struct proc_id cur = proc_id_of(w.now);
	ck_assert_msg(unlink(so) == 0, "unlink %s: %s", so, strerror(errno));
	wait_gone(&cur, "the removed plugin's process", WAIT);
	ck_assert_msg(poll_until(plugin_unlisted, "misbehave", WAIT),
		      "misbehave still listed after its file was removed:\n%.1500s", last_plugins);
	wait_req("poke", false, WAIT);
	free(so);
	expect_daemon_alive(d);
	expect_neighbour_fine(d);
	stop_orbitd(d);
}
END_TEST

/* ---- reload of an isolated plugin's config -------------------------------- */

struct cfg_want {
	const char *path, *value;
	char seen[128];
};

/* `orbitctl plugin show misbehave --json`: config item path has value. */
static bool config_value_is(void *arg)
{
	struct cfg_want *w = arg;
	struct res r;
	CTL(&r, "--json", "plugin", "show", "misbehave");
	expect_rc(&r, 0);
	json_error_t je;
	json_t *j = json_loads(r.out, 0, &je);
	ck_assert_msg(j, "plugin show: not JSON (%s):\n%s", je.text, r.out);
	res_free(&r);
	json_t *item = find_by(json_object_get(j, "config"), "path", w->path);
	const char *v = json_string_value(json_object_get(item, "value"));
	snprintf(w->seen, sizeof w->seen, "%s", v ? v : "(none)");
	bool ok = v && !strcmp(v, w->value);
	json_decref(j);
	return ok;
}

START_TEST(reload_of_an_isolated_plugin_keeps_its_process)
{
	/* Armed: in segv mode a poke would crash it. */
	arm();
	write_conf("segv", RESTART_1S, true);
	struct test_proc *d = start_orbitd(false);
	pid_t daemon = test_proc_pid(d);
	wait_req("lowercase", true, WAIT);
	wait_req("poke", true, WAIT);
	wait_req("wait", true, WAIT);
	pid_t before = expect_isolated_active("misbehave", daemon);
	struct cfg_want cw = {"mode", "segv", ""};
	ck_assert_msg(config_value_is(&cw), "mode %s before the reload", cw.seen);

	test_proc_mark(d);
	write_conf("slow", RESTART_1S, true);
	ck_assert_int_eq(test_proc_signal(d, SIGHUP), 0);
	test_expect_line(d, "reloaded", WAIT);
	cw.value = "slow";
	ck_assert_msg(poll_until(config_value_is, &cw, WAIT), "mode %s after the reload", cw.seen);
	ck_assert_int_eq(expect_isolated_active("misbehave", daemon), before);
	ck_assert_msg(!test_proc_seen(d, "plugin misbehave: reload:", 0),
		      "the plugin process refused the reload:\n%s", test_proc_output(d));

	/* The process runs the new value: armed, poke answers (segv would
	 * kill it), wait takes its 200 ms. */
	expect_answer(d, "poke", "misbehave", "\"x\"", "\"X\"");
	double t0 = now_s();
	expect_answer(d, "wait", "misbehave", "\"w\"", "\"w\"");
	ck_assert_msg(now_s() - t0 >= 0.2, "wait answered in %.3f s: not slow", now_s() - t0);
	json_t *e = plugin_info("misbehave");
	ck_assert_msg(jint(e, "pid") == before && jint(e, "restarts") == 0 &&
			      jint(e, "crashes") == 0,
		      "%.1500s", last_plugins);
	json_decref(e);
	expect_daemon_alive(d);
	expect_neighbour_fine(d);
	stop_orbitd(d);
}
END_TEST

/* ---- orbitctl plugin restart of a healthy plugin --------------------------- */

START_TEST(manual_restart_of_a_healthy_plugin)
{
	write_conf("slow", NULL, false);
	struct test_proc *d = start_orbitd(false);
	pid_t daemon = test_proc_pid(d);
	wait_req("lowercase", true, WAIT);
	pid_t before = expect_isolated_active("lowercase", daemon);
	json_t *e = plugin_info("lowercase");
	json_int_t restarts = jint(e, "restarts");
	json_decref(e);
	struct proc_id old = proc_id_of(before);

	struct res r;
	CTL(&r, "plugin", "restart", "lowercase");
	expect_rc(&r, 0);
	res_free(&r);
	wait_gone(&old, "lowercase's old process", WAIT);
	struct new_proc_want w = {"lowercase", before, 0};
	ck_assert_msg(poll_until(runs_in_new_process, &w, WAIT),
		      "lowercase not running in a new process:\n%.1500s", last_plugins);
	wait_req("lowercase", true, WAIT);
	e = plugin_info("lowercase");
	ck_assert_msg(jint(e, "restarts") == restarts + 1, "restarts not incremented:\n%.1500s",
		      last_plugins);
	ck_assert_msg(jint(e, "crashes") == 0 && json_is_null(json_object_get(e, "reason")),
		      "a requested restart counted as a crash:\n%.1500s", last_plugins);
	json_decref(e);
	expect_neighbour_fine(d);

	CTL(&r, "plugin", "restart", "nosuch");
	ck_assert_msg(r.rc != 0 && r.rc != -1, "restart nosuch: exit %d\n%s%s", r.rc, r.out, r.err);
	ck_assert_msg(strstr(r.err, "nosuch") || strstr(r.out, "nosuch"),
		      "restart nosuch does not name it:\n%s%s", r.out, r.err);
	ck_assert_msg(strcasestr(r.err, "not found") || strcasestr(r.err, "not_found") ||
			      strcasestr(r.err, "no plugin") || strcasestr(r.err, "unknown"),
		      "restart nosuch: no not-found message:\n%s%s", r.out, r.err);
	res_free(&r);
	expect_daemon_alive(d);
	stop_orbitd(d);
}
END_TEST

/* ---- the link stays the plugin process's own ----------------------------- */

/* The flags of pid's descriptor fd (/proc/PID/fdinfo, octal), or -1. */
static long fd_flags(pid_t pid, int fd)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%ld/fdinfo/%d", (long)pid, fd);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	long flags = -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "flags: %lo", &flags) == 1)
			break;
	fclose(f);
	return flags;
}

/* Whatever a plugin runs (system(3), popen(3), a library's exec) must not
 * inherit a line to orbitd, on which it could speak for the plugin, nor
 * anything else of the plugin process beyond 0-2: every descriptor from 3
 * on is close-on-exec. */
START_TEST(plugin_process_descriptors_are_close_on_exec)
{
	write_conf("slow", NULL, false);
	struct test_proc *d = start_orbitd(false);
	pid_t daemon = test_proc_pid(d);
	wait_req("lowercase", true, WAIT);
	pid_t pid = expect_isolated_active("lowercase", daemon);
	static struct fdent pf[256];
	size_t np = fds_of(pid, pf, 256);
	char pl[4096], bad[1024];
	size_t off = 0;
	fds_text(pf, np, pl, sizeof pl);
	bad[0] = '\0';
	for (size_t i = 0; i < np; i++) {
		if (pf[i].fd < 3)
			continue;
		long fl = fd_flags(pid, pf[i].fd);
		if (fl >= 0 && !(fl & O_CLOEXEC) && off < sizeof bad)
			off += (size_t)snprintf(bad + off, sizeof bad - off, " %d (%s, flags 0%lo)",
						pf[i].fd, pf[i].target, fl);
	}
	ck_assert_msg(!bad[0], "not close-on-exec in plugin process %ld:%s\nall:\n%s", (long)pid,
		      bad, pl);
	stop_orbitd(d);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("isolation");
	TCase *tc = tcase_create("orbitd");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, segv_in_a_handler);
	tcase_add_test(tc, abort_in_init);
	tcase_add_test(tc, exit_in_start);
	tcase_add_test(tc, handler_past_its_timeout);
	tcase_add_test(tc, timer_spinning_misses_liveness_pings);
	tcase_add_test(tc, blocking_handler_past_its_timeout);
	tcase_add_test(tc, memory_limit);
	tcase_add_test(tc, process_limit_forkbomb_as_nobody);
	tcase_add_test(tc, closed_socket);
	tcase_add_test(tc, malformed_frame);
	tcase_add_test(tc, crash_loop_fails_then_manual_restart);
	tcase_add_test(tc, flood_is_bounded_by_max_inflight);
	tcase_add_test(tc, exit_in_a_handler);
	tcase_add_test(tc, sandbox_of_an_isolated_plugin_process);
	tcase_add_test(tc, orbitd_killed_takes_its_plugin_processes_along);
	tcase_add_test(tc, hung_shutdown_hook_is_killed_at_the_timeout);
	tcase_add_test(tc, hot_upgrade_and_removal_of_an_isolated_plugin);
	tcase_add_test(tc, reload_of_an_isolated_plugin_keeps_its_process);
	tcase_add_test(tc, manual_restart_of_a_healthy_plugin);
	tcase_add_test(tc, plugin_process_descriptors_are_close_on_exec);
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
