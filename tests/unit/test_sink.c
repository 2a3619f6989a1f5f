/* test_sink.c — orbitd/sink.c: the log, file, exec and execute sinks, with
 * real files, real commands (/bin/sh, cat, sleep) and a real event loop.
 * The daemon's stderr (the log) is captured into a file so that commands'
 * stderr can land there too without ever blocking.
 */
#include "sink.h"

#include <check.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "evwait.h"
#include "log.h"

/* Under valgrind every spawn is a full fork of the emulator (slow), and
 * pidfd_open is unknown to older versions (the polling fallback runs). */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

static char tmpdir[64];
static char logpath[128];
static int saved_stderr = -1;
static struct event_base *base;

static void setup(void)
{
	int fd;

	signal(SIGPIPE, SIG_IGN);
	unsetenv("JOURNAL_STREAM");
	olog_init();
	olog_set_level(LOG_INFO);
	snprintf(tmpdir, sizeof tmpdir, "/tmp/orbitd-test-sink-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(logpath, sizeof logpath, "%s/stderr.log", tmpdir);
	fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	saved_stderr = dup(STDERR_FILENO);
	ck_assert_int_ge(dup2(fd, STDERR_FILENO), 0);
	close(fd);
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void teardown(void)
{
	event_base_free(base);
	base = NULL;
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	nftw(tmpdir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* Whole content of path (malloc'd, NUL-terminated), or NULL. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t cap = 0, n = 0, r;

	if (!f)
		return NULL;
	do {
		if (cap - n < 4096) {
			cap = cap ? cap * 2 : 8192;
			buf = realloc(buf, cap);
			ck_assert_ptr_nonnull(buf);
		}
		r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
	} while (r > 0);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/* Occurrences of needle in the captured log. */
static int log_count(const char *needle)
{
	char *log = slurp(logpath);
	int n = 0;

	ck_assert_ptr_nonnull(log);
	for (const char *p = log; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	free(log);
	return n;
}

static bool log_has(void *needle)
{
	return log_count(needle) > 0;
}

static int count_lines(const char *path)
{
	char *s = slurp(path);
	int n = 0;

	if (!s)
		return 0;
	for (const char *p = s; *p; p++)
		n += *p == '\n';
	free(s);
	return n;
}

static bool no_children(void *arg)
{
	siginfo_t si;

	(void)arg;
	return waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 && errno == ECHILD;
}

struct want {
	struct osink *s;
	uint64_t delivered, failed;
};

static bool stats_reached(void *arg)
{
	struct want *w = arg;
	struct osink_stats st;

	osink_stats(w->s, &st);
	return st.delivered + st.failed >= w->delivered + w->failed;
}

static void wait_stats(struct osink *s, uint64_t delivered, uint64_t failed, double timeout)
{
	struct want w = { s, delivered, failed };
	struct osink_stats st;

	ck_assert_msg(test_run_until(base, stats_reached, &w, timeout), "timed out");
	/* Every output has its outcome: wrong counts show here, not as a timeout. */
	osink_stats(s, &st);
	ck_assert_uint_eq(st.delivered, delivered);
	ck_assert_uint_eq(st.failed, failed);
}

static struct osink *new_sink(const char *op, const struct ocfg_sink *conf)
{
	char *err = NULL;
	struct osink *s = osink_new(base, op, conf, NULL, NULL, &err);

	ck_assert_msg(s != NULL, "osink_new: %s", err ? err : "?");
	ck_assert_ptr_null(err);
	return s;
}

static struct osink *new_shell_sink(const char *op, const char *cmd)
{
	struct ocfg_sink conf = {
		.type = OCFG_SINK_EXEC,
		.argv = (char *[]){ "/bin/sh", "-c", (char *)cmd, NULL },
		.argc = 3,
		.shell = true,
	};

	return new_sink(op, &conf);
}

/* Check one record line (without its "\n") for op/plugin/value. */
static void check_record(const char *line, const char *op, const char *plugin, const char *value)
{
	static const char *const keys[] = { "time", "operation", "plugin", "value" };
	json_error_t jerr;
	json_t *o = json_loads(line, 0, &jerr), *v;
	regex_t re;
	void *it;
	size_t i = 0;

	ck_assert_msg(o != NULL, "not JSON: %s (%s)", line, jerr.text);
	ck_assert(json_is_object(o));
	for (it = json_object_iter(o); it; it = json_object_iter_next(o, it), i++) {
		ck_assert_uint_lt(i, 4);
		ck_assert_str_eq(json_object_iter_key(it), keys[i]);
	}
	ck_assert_uint_eq(i, 4);
	ck_assert_int_eq(regcomp(&re,
				 "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$",
				 REG_EXTENDED | REG_NOSUB), 0);
	ck_assert_int_eq(regexec(&re, json_string_value(json_object_get(o, "time")), 0, NULL, 0), 0);
	regfree(&re);
	ck_assert_str_eq(json_string_value(json_object_get(o, "operation")), op);
	ck_assert_str_eq(json_string_value(json_object_get(o, "plugin")), plugin);
	v = json_loads(value, JSON_DECODE_ANY, &jerr);
	ck_assert_ptr_nonnull(v);
	ck_assert(json_equal(v, json_object_get(o, "value")));
	json_decref(v);
	json_decref(o);
	/* Compact: no space outside strings in what the sink itself wrote. */
	ck_assert(strncmp(line, "{\"time\":\"", 9) == 0);
	ck_assert_ptr_nonnull(strstr(line, "Z\",\"operation\":"));
}

START_TEST(log_delivers)
{
	struct ocfg_sink conf = { .type = OCFG_SINK_LOG };
	struct osink *s = new_sink("op", &conf);
	struct osink_stats st;
	char *big = malloc(20001), *log;

	osink_deliver(s, "plugin1", "\"hello\"");
	memset(big, 'x', 20000);
	big[0] = '"';
	big[19999] = '"';
	big[20000] = '\0';
	osink_deliver(s, "plugin2", big);
	osink_deliver(s, NULL, NULL);
	osink_stats(s, &st);
	ck_assert_uint_eq(st.delivered, 3);
	ck_assert_uint_eq(st.failed, 0);
	osink_free(s);
	free(big);

	ck_assert_int_eq(log_count("INFO output op from plugin1: \"hello\"\n"), 1);
	ck_assert_int_eq(log_count("INFO output op from : null\n"), 1);
	log = slurp(logpath);
	/* The long one is one line, cut with an ellipsis. */
	{
		char *line = strstr(log, "output op from plugin2: \"xxx");
		char *nl = line ? strchr(line, '\n') : NULL;

		ck_assert_ptr_nonnull(nl);
		ck_assert_uint_lt((size_t)(nl - line), OLOG_LINE_MAX);
		ck_assert(strncmp(nl - 3, "\xe2\x80\xa6", 3) == 0);
	}
	free(log);
}
END_TEST

START_TEST(file_appends_records)
{
	char path[160], *text, *line, *save = NULL;
	struct ocfg_sink conf = { .type = OCFG_SINK_FILE, .path = path };
	struct osink *s;
	struct osink_stats st;
	struct stat sb;
	FILE *f;

	snprintf(path, sizeof path, "%s/out.ndjson", tmpdir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("earlier line\n", f);
	fclose(f);
	ck_assert_int_eq(chmod(path, 0640), 0);

	s = new_sink("op", &conf);
	osink_deliver(s, "plugin1", "{\"a\":[1,2,{\"b\":null}],\"c\":\"d\\n\"}");
	osink_deliver(s, "plu\"g\\in\n\x01", "\"x\"");
	osink_deliver(s, "p3", "-1.5e3");
	osink_stats(s, &st);
	ck_assert_uint_eq(st.delivered, 3);
	ck_assert_uint_eq(st.failed, 0);
	ck_assert_uint_eq(st.dropped, 0);
	osink_free(s);

	text = slurp(path);
	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq(count_lines(path), 4);
	ck_assert_str_eq(strtok_r(text, "\n", &save), "earlier line");
	line = strtok_r(NULL, "\n", &save);
	check_record(line, "op", "plugin1", "{\"a\":[1,2,{\"b\":null}],\"c\":\"d\\n\"}");
	ck_assert_ptr_nonnull(strstr(line, ",\"plugin\":\"plugin1\","
					   "\"value\":{\"a\":[1,2,{\"b\":null}],\"c\":\"d\\n\"}}"));
	line = strtok_r(NULL, "\n", &save);
	check_record(line, "op", "plu\"g\\in\n\x01", "\"x\"");
	ck_assert_ptr_nonnull(strstr(line, "\"plugin\":\"plu\\\"g\\\\in\\n\\u0001\""));
	line = strtok_r(NULL, "\n", &save);
	check_record(line, "op", "p3", "-1.5e3");
	ck_assert_ptr_nonnull(strstr(line, ",\"value\":-1.5e3}"));
	free(text);

	/* A new file is created 0640. */
	snprintf(path, sizeof path, "%s/new.ndjson", tmpdir);
	umask(022);
	s = new_sink("op", &conf);
	osink_free(s);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0640);
}
END_TEST

START_TEST(file_open_errors)
{
	char want[200];
	char *err = NULL;
	struct ocfg_sink conf = { .type = OCFG_SINK_FILE, .path = tmpdir };

	/* Tests may run as root, so use failures permissions cannot waive. */
	ck_assert_ptr_null(osink_new(base, "op", &conf, NULL, NULL, &err));
	ck_assert_int_eq(errno, EISDIR);
	snprintf(want, sizeof want, "cannot open %s: Is a directory", tmpdir);
	ck_assert_str_eq(err, want);
	free(err);
	err = NULL;

	conf.path = "/nonexistent-orbitd-dir/out.ndjson";
	ck_assert_ptr_null(osink_new(base, "op", &conf, NULL, NULL, &err));
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_str_eq(err, "cannot open /nonexistent-orbitd-dir/out.ndjson: No such file or directory");
	free(err);

	/* err is optional; an unusable conf is EINVAL. */
	ck_assert_ptr_null(osink_new(base, "op", &conf, NULL, NULL, NULL));
	ck_assert_int_eq(errno, ENOENT);
	conf.path = NULL;
	ck_assert_ptr_null(osink_new(base, "op", &conf, NULL, NULL, NULL));
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(file_write_failure)
{
	struct ocfg_sink conf = { .type = OCFG_SINK_FILE, .path = "/dev/full" };
	struct osink *s = new_sink("op", &conf);
	struct osink_stats st;

	osink_deliver(s, "plugin1", "1");
	osink_deliver(s, "plugin1", "2");
	osink_deliver(s, "plugin1", "3");
	osink_stats(s, &st);
	ck_assert_uint_eq(st.delivered, 0);
	ck_assert_uint_eq(st.failed, 3);
	/* Rate-limited: one line, the rest counted and reported later. */
	ck_assert_int_eq(log_count("sink file for op: cannot write /dev/full: "
				   "No space left on device"), 1);
	osink_free(s);
	ck_assert_int_eq(log_count("sink file for op: 2 more problems in the last second, not logged"), 1);
}
END_TEST

START_TEST(rate_limit_flushes_after_a_second)
{
	struct ocfg_sink conf = { .type = OCFG_SINK_FILE, .path = "/dev/full" };
	struct osink *s = new_sink("op", &conf);
	struct osink_stats st;

	osink_deliver(s, "plugin1", "1");
	osink_deliver(s, "plugin1", "2");
	ck_assert_int_eq(log_count("cannot write /dev/full"), 1);
	ck_assert_int_eq(log_count("more problem"), 0);
	/* The suppressed count is logged by the loop once the second is over;
	 * a problem right after that is again suppressed. */
	ck_assert(test_run_until(base, log_has,
				 "sink file for op: 1 more problem in the last second, not logged", 3));
	osink_deliver(s, "plugin1", "3");
	osink_stats(s, &st);
	ck_assert_uint_eq(st.failed, 3);
	ck_assert_int_eq(log_count("cannot write /dev/full"), 1);
	osink_free(s);
}
END_TEST

START_TEST(exec_runs_command)
{
	char path[160], cmd[220], *text;
	struct osink *s;

	snprintf(path, sizeof path, "%s/exec.ndjson", tmpdir);
	snprintf(cmd, sizeof cmd, "cat >> '%s'", path);
	s = new_shell_sink("op", cmd);
	osink_deliver(s, "plugin1", "{\"k\":\"v\"}");
	wait_stats(s, 1, 0, 10);
	osink_free(s);
	ck_assert(no_children(NULL));

	text = slurp(path);
	ck_assert_ptr_nonnull(text);
	ck_assert_uint_gt(strlen(text), 0);
	ck_assert_int_eq(text[strlen(text) - 1], '\n');
	text[strlen(text) - 1] = '\0';
	ck_assert_ptr_null(strchr(text, '\n'));
	check_record(text, "op", "plugin1", "{\"k\":\"v\"}");
	free(text);
}
END_TEST

START_TEST(exec_missing_command)
{
	struct ocfg_sink conf = {
		.type = OCFG_SINK_EXEC,
		.argv = (char *[]){ "/nonexistent/orbitd-no-such-cmd", NULL },
		.argc = 1,
	};
	struct osink *s = new_sink("op", &conf);

	osink_deliver(s, "plugin1", "1");
	/* posix_spawn reports it at once; under valgrind it is exit 127. */
	wait_stats(s, 0, 1, 10);
	ck_assert_int_eq(log_count("sink exec for op: cannot run /nonexistent/orbitd-no-such-cmd: "
				   "No such file or directory") +
			 log_count("sink exec for op: /nonexistent/orbitd-no-such-cmd exited with status 127"),
			 1);
	osink_free(s);

	s = new_shell_sink("op2", "orbitd-no-such-command-xyz");
	osink_deliver(s, "plugin1", "1");
	wait_stats(s, 0, 1, 10);
	ck_assert_int_eq(log_count("sink exec for op2: orbitd-no-such-command-xyz exited with status 127 "
				   "(command not found?)"), 1);
	osink_free(s);
	ck_assert(no_children(NULL));
}
END_TEST

START_TEST(exec_exit_status_logged)
{
	struct ocfg_sink conf = {
		.type = OCFG_SINK_EXEC,
		.argv = (char *[]){ "/bin/false", NULL },
		.argc = 1,
	};
	struct osink *s = new_sink("op", &conf);
	char cmd[400];
	sigset_t set;
	int leaked;

	osink_deliver(s, "plugin1", "1");
	wait_stats(s, 0, 1, 10);
	ck_assert_int_eq(log_count("WARNING sink exec for op: /bin/false exited with status 1\n"), 1);
	osink_free(s);

	s = new_shell_sink("op2", "kill -TERM $$");
	osink_deliver(s, "plugin1", "1");
	wait_stats(s, 0, 1, 10);
	ck_assert_int_eq(log_count("sink exec for op2: kill -TERM $$ killed by signal 15 (SIGTERM)"), 1);
	osink_free(s);

	/* The command gets default signals and an empty mask although the
	 * daemon ignores SIGPIPE (and might block signals), a blocking stdin,
	 * and no descriptor the daemon left without O_CLOEXEC. The shell reads
	 * its own /proc entries with builtins: a child reading them would race
	 * with dash, which blocks signals around its forks and waits. Its stdin
	 * is looked at through a duplicate (same open file, same flags) since
	 * `read < file` moves fd 0. */
	leaked = open("/dev/null", O_RDONLY);
	ck_assert_int_gt(leaked, 2);
	int dup = leaked == 9 ? 8 : 9; /* dash takes one-digit descriptors */
	snprintf(cmd, sizeof cmd,
		 "[ ! -e /proc/$$/fd/%d ] && exec %d<&0; ign=; blk=; fl=; "
		 "while read -r k v; do case $k in SigIgn:) ign=$v;; SigBlk:) blk=$v;; esac; "
		 "done < /proc/$$/status; "
		 "while read -r k v; do [ \"$k\" = flags: ] && fl=$v; done < /proc/$$/fdinfo/%d; "
		 "[ $((0x$ign & 0x1000)) -eq 0 ] && [ $((0x$blk)) -eq 0 ] && "
		 "[ $((0$fl & 04000)) -eq 0 ]", leaked, dup, dup);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	ck_assert_int_eq(sigprocmask(SIG_BLOCK, &set, NULL), 0);
	s = new_shell_sink("op3", cmd);
	osink_deliver(s, "plugin1", "1");
	ck_assert_int_eq(sigprocmask(SIG_UNBLOCK, &set, NULL), 0);
	close(leaked);
	wait_stats(s, 1, 0, 10);
	osink_free(s);
	ck_assert(no_children(NULL));
}
END_TEST

struct ticker {
	struct timespec last;
	double max_gap;
	int ticks;
};

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct ticker *t = arg;
	struct timespec now;
	double gap;

	(void)fd;
	(void)what;
	clock_gettime(CLOCK_MONOTONIC, &now);
	gap = (double)(now.tv_sec - t->last.tv_sec) + (double)(now.tv_nsec - t->last.tv_nsec) / 1e9;
	if (t->ticks > 0 && gap > t->max_gap)
		t->max_gap = gap;
	t->last = now;
	t->ticks++;
}

START_TEST(exec_queue_keeps_loop_responsive)
{
	char path[160], cmd[240], value[16], *text, *line, *save = NULL;
	struct ticker t = { .ticks = 0 };
	struct event *tick = event_new(base, -1, EV_PERSIST, on_tick, &t);
	struct timespec t0, t1;
	struct osink_stats st;
	struct osink *s;
	bool seen[20] = { false };
	double elapsed;

	snprintf(path, sizeof path, "%s/queue.ndjson", tmpdir);
	snprintf(cmd, sizeof cmd, "sleep 0.2; cat >> '%s'", path);
	s = new_shell_sink("op", cmd);
	ck_assert_int_eq(event_add(tick, &(struct timeval){ .tv_usec = 10000 }), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 20; i++) {
		snprintf(value, sizeof value, "%d", i);
		osink_deliver(s, "plugin1", value);
	}
	wait_stats(s, 20, 0, 30);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	elapsed = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	osink_stats(s, &st);
	ck_assert_uint_eq(st.dropped, 0);
	osink_free(s);
	event_free(tick);
	ck_assert(no_children(NULL));

	/* 8 at a time: three rounds of 0.2 s, never all 20 at once. */
	ck_assert_msg(elapsed >= 0.55, "20 commands in %.3f s: concurrency not bounded", elapsed);
	ck_assert_msg(t.max_gap < 0.15 || RUNNING_ON_VALGRIND, "the loop stalled for %.3f s", t.max_gap);
	ck_assert_int_ge(t.ticks, 20);

	text = slurp(path);
	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq(count_lines(path), 20);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *o = json_loads(line, 0, NULL);
		json_int_t v;

		ck_assert_ptr_nonnull(o);
		v = json_integer_value(json_object_get(o, "value"));
		ck_assert(v >= 0 && v < 20 && !seen[v]);
		seen[v] = true;
		json_decref(o);
	}
	free(text);
}
END_TEST

START_TEST(exec_overflow_drops)
{
	struct ocfg_sink conf = {
		.type = OCFG_SINK_EXEC,
		.argv = (char *[]){ "sleep", "30", NULL }, /* found through PATH */
		.argc = 2,
	};
	struct osink *s = new_sink("op", &conf);
	struct osink_stats st;
	int total = OSINK_EXEC_MAX_RUNNING + OSINK_EXEC_MAX_QUEUED + 36;

	for (int i = 0; i < total; i++)
		osink_deliver(s, "plugin1", "1");
	osink_stats(s, &st);
	ck_assert_uint_eq(st.dropped, 36);
	ck_assert_uint_eq(st.failed, 0);
	ck_assert_uint_eq(st.delivered, 0);
	ck_assert_int_eq(log_count("sink exec for op: 8 commands running and 256 outputs waiting: "
				   "output dropped"), 1);
	ck_assert(!no_children(NULL));

	/* Daemon exit: the queue is dropped, the sleeps are stopped and reaped. */
	osink_free(s);
	ck_assert_int_eq(log_count("sink exec for op: closed with 256 outputs waiting, dropped"), 1);
	osink_shutdown();
	ck_assert(no_children(NULL));
	ck_assert_int_eq(log_count("sinks: stopping 8 commands still running"), 1);
	ck_assert_int_eq(log_count("sink exec for op: 35 more problems in the last second, "
				   "not logged"), 1);
}
END_TEST

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Gone, or a zombie left to its new parent. */
static bool process_gone(pid_t pid)
{
	char path[64], *stat;
	bool gone;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	stat = slurp(path);
	gone = !stat || strstr(stat, ") Z ") != NULL;
	free(stat);
	return gone;
}

static bool process_gone_pred(void *arg)
{
	return process_gone(*(pid_t *)arg);
}

START_TEST(exec_timeout_stops_command)
{
	struct ocfg_sink conf = {
		.type = OCFG_SINK_EXEC,
		.argv = (char *[]){ "sleep", "30", NULL },
		.argc = 2,
		.timeout = 0.3,
	};
	struct osink *s = new_sink("op", &conf);
	struct timespec t0;
	double took;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	osink_deliver(s, "plugin1", "1");
	wait_stats(s, 0, 1, 10);
	took = seconds_since(&t0);
	ck_assert_msg(took >= 0.25 && took < 5, "stopped after %.3f s", took);
	ck_assert_int_eq(log_count("WARNING sink exec for op: sleep stopped after its timeout of "
				   "0.3 s\n"), 1);
	ck_assert(no_children(NULL));
	osink_free(s);
}
END_TEST

START_TEST(exec_timeout_kills_group_ignoring_term)
{
	char pidfile[160], cmd[400], *text;
	struct ocfg_sink conf = {
		.type = OCFG_SINK_EXEC,
		.argc = 3,
		.shell = true,
		.timeout = 0.3,
	};
	struct osink *s;
	struct timespec t0;
	double took;
	pid_t bg;

	/* The shell and what it started ignore SIGTERM: SIGKILL after the
	 * grace time stops the whole process group, background job included. */
	snprintf(pidfile, sizeof pidfile, "%s/bg.pid", tmpdir);
	snprintf(cmd, sizeof cmd, "trap '' TERM; sleep 30 & echo $! > '%s'; wait", pidfile);
	conf.argv = (char *[]){ "/bin/sh", "-c", cmd, NULL };
	s = new_sink("op", &conf);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	osink_deliver(s, "plugin1", "1");
	wait_stats(s, 0, 1, 10);
	took = seconds_since(&t0);
	ck_assert_msg(took >= 1.2 && took < 6, "stopped after %.3f s", took);
	ck_assert(no_children(NULL));
	text = slurp(pidfile);
	ck_assert_ptr_nonnull(text);
	bg = (pid_t)atoi(text);
	free(text);
	ck_assert_int_gt(bg, 1);
	/* SIGKILL is sent; the job goes once the kernel has delivered it. */
	ck_assert_msg(test_run_until(base, process_gone_pred, &bg, 10),
		      "background job %d survived", (int)bg);
	osink_free(s);
}
END_TEST

START_TEST(free_leaves_children_to_finish)
{
	char path[160], cmd[240], *text, *line, *save = NULL;
	struct osink *s;
	int n = 0;

	snprintf(path, sizeof path, "%s/late.ndjson", tmpdir);
	snprintf(cmd, sizeof cmd, "sleep 0.3; cat >> '%s'", path);
	s = new_shell_sink("op", cmd);
	for (int i = 0; i < 3; i++)
		osink_deliver(s, "plugin1", "\"late\"");
	osink_free(s);
	ck_assert(!no_children(NULL));
	ck_assert(test_run_until(base, no_children, NULL, 10));
	/* Each got its whole record before EOF. */
	text = slurp(path);
	ck_assert_ptr_nonnull(text);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save), n++)
		check_record(line, "op", "plugin1", "\"late\"");
	ck_assert_int_eq(n, 3);
	free(text);
	osink_shutdown(); /* nothing left: a no-op */
}
END_TEST

START_TEST(exec_big_record_slow_reader)
{
	size_t big = 300000;
	char path[160], cmd[240], *value = malloc(big + 3), *text;
	struct osink *s;
	json_t *o;

	snprintf(path, sizeof path, "%s/big.ndjson", tmpdir);
	snprintf(cmd, sizeof cmd, "sleep 0.2; cat >> '%s'", path);
	value[0] = '"';
	memset(value + 1, 'y', big);
	value[big + 1] = '"';
	value[big + 2] = '\0';
	s = new_shell_sink("op", cmd);
	osink_deliver(s, "plugin1", value);
	wait_stats(s, 1, 0, 20);
	osink_free(s);
	ck_assert(no_children(NULL));
	text = slurp(path);
	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq(count_lines(path), 1);
	o = json_loads(text, 0, NULL);
	ck_assert_ptr_nonnull(o);
	ck_assert_uint_eq(json_string_length(json_object_get(o, "value")), big);
	json_decref(o);
	free(text);
	free(value);
}
END_TEST

struct fake_exec {
	int calls;
	int ret;
	char op[64];
	enum ocfg_mode mode;
	char json[64];
	struct osink *recurse;
};

static int fake_execute(void *ctx, const char *operation, enum ocfg_mode mode, const char *json)
{
	struct fake_exec *f = ctx;

	f->calls++;
	snprintf(f->op, sizeof f->op, "%s", operation);
	f->mode = mode;
	snprintf(f->json, sizeof f->json, "%s", json);
	if (f->recurse)
		osink_deliver(f->recurse, "p", json);
	return f->ret;
}

START_TEST(execute_calls_fn)
{
	struct ocfg_sink conf = { .type = OCFG_SINK_EXECUTE, .operation = "upper", .mode = OCFG_MODE_ANY };
	struct fake_exec f = { .ret = 1 };
	struct osink_stats st;
	char *err = NULL;
	struct osink *s = osink_new(base, "lowercase", &conf, fake_execute, &f, &err);

	ck_assert_ptr_nonnull(s);
	osink_deliver(s, "plugin1", "\"abc\"");
	ck_assert_int_eq(f.calls, 1);
	ck_assert_str_eq(f.op, "upper");
	ck_assert_int_eq(f.mode, OCFG_MODE_ANY);
	ck_assert_str_eq(f.json, "\"abc\"");
	osink_stats(s, &st);
	ck_assert_uint_eq(st.delivered, 1);

	f.ret = -ENOENT;
	osink_deliver(s, "plugin1", "\"def\"");
	ck_assert_int_eq(f.calls, 2);
	osink_stats(s, &st);
	ck_assert_uint_eq(st.delivered, 1);
	ck_assert_uint_eq(st.failed, 1);
	ck_assert_int_eq(log_count("WARNING pipeline lowercase \xe2\x86\x92 upper: no connection\n"), 1);
	osink_free(s);

	/* An executor is required. */
	ck_assert_ptr_null(osink_new(base, "lowercase", &conf, NULL, NULL, &err));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_nonnull(err);
	free(err);
}
END_TEST

START_TEST(execute_cycle_is_bounded)
{
	struct ocfg_sink conf = { .type = OCFG_SINK_EXECUTE, .operation = "a", .mode = OCFG_MODE_ALL };
	struct fake_exec f = { .ret = 1 };
	struct osink_stats st;
	struct osink *s = osink_new(base, "a", &conf, fake_execute, &f, NULL);

	ck_assert_ptr_nonnull(s);
	f.recurse = s;
	osink_deliver(s, "p", "1");
	ck_assert_int_eq(f.calls, OSINK_EXECUTE_MAX_DEPTH);
	osink_stats(s, &st);
	ck_assert_uint_eq(st.delivered, OSINK_EXECUTE_MAX_DEPTH);
	ck_assert_uint_eq(st.failed, 1);
	ck_assert_int_eq(log_count("(a cycle?)"), 1);
	osink_free(s);
}
END_TEST

static Suite *sink_suite(void)
{
	Suite *s = suite_create("sink");
	TCase *tc = tcase_create("sink");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, log_delivers);
	tcase_add_test(tc, file_appends_records);
	tcase_add_test(tc, file_open_errors);
	tcase_add_test(tc, file_write_failure);
	tcase_add_test(tc, rate_limit_flushes_after_a_second);
	tcase_add_test(tc, exec_runs_command);
	tcase_add_test(tc, exec_missing_command);
	tcase_add_test(tc, exec_exit_status_logged);
	tcase_add_test(tc, exec_queue_keeps_loop_responsive);
	tcase_add_test(tc, exec_overflow_drops);
	tcase_add_test(tc, exec_timeout_stops_command);
	tcase_add_test(tc, exec_timeout_kills_group_ignoring_term);
	tcase_add_test(tc, free_leaves_children_to_finish);
	tcase_add_test(tc, exec_big_record_slow_reader);
	tcase_add_test(tc, execute_calls_fn);
	tcase_add_test(tc, execute_cycle_is_bounded);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(sink_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
