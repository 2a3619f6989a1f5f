/* sink.c — delivers a requirement's outputs to the log, a file, a command or
 * another required operation.
 *
 * EXEC commands are spawned with posix_spawnp, get their record through a
 * non-blocking pipe and are reaped by a childwatch (childwatch.h: a pidfd,
 * or a polling timer where there is none), so the loop never waits for a
 * child. Each command leads a process group of its
 * own, so a timeout or the daemon's exit stops what a shell command started
 * too (SIGTERM, then SIGKILL after a grace time). A sink freed with commands still running
 * lives on, unreachable to its owner, on a module list until its last child
 * is reaped (or osink_shutdown); all state is touched by the loop thread
 * only, so the list needs no lock.
 */
#include "sink.h"
#include "strfmt.h"

#include <errno.h>
#include <inttypes.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "childwatch.h"
#include "log.h"

extern char **environ;

/* Grace time between SIGTERM and SIGKILL, at shutdown and on a timeout. */
#define SHUTDOWN_GRACE_S 1.0

/* One formatted record; data[len] is a NUL. */
struct rec {
	struct rec *next;
	size_t len;
	char data[];
};

struct child {
	struct child *next;
	struct osink *s;
	pid_t pid;
	int wfd;                 /* our end of its stdin, -1 once closed */
	struct event *ev_write;  /* created when the pipe first fills up */
	struct childwatch *watch;
	struct event *ev_timeout; /* NULL: no timeout */
	bool timed_out;          /* SIGTERM sent on timeout; SIGKILL next */
	struct rec *rec;         /* NULL once written */
	size_t off;
};

struct osink {
	struct event_base *base;
	enum ocfg_sink_type type;
	char *operation;
	char *label;             /* "sink exec for op", "pipeline a → b" */
	struct osink_stats st;

	/* FILE */
	char *path;
	int fd;
	bool broken_line;        /* a short write left a line without "\n" */

	/* EXEC */
	char **argv;
	const char *display;     /* the shell command, or argv[0] */
	double timeout;          /* <= 0: none */
	struct child *children;
	unsigned n_running;
	struct rec *q_head, **q_tail;
	unsigned n_queued;
	bool closing;            /* freed by its owner, waiting for children */
	struct osink *next_closing;

	/* EXECUTE */
	char *target;
	enum ocfg_mode mode;
	osink_execute_fn exec_fn;
	void *exec_ctx;

	/* problem rate limit: one line per second, then a count */
	double rl_last;
	bool rl_used;
	unsigned rl_suppressed;
	struct event *rl_flush;
};

static struct osink *closing_sinks;
static unsigned execute_depth;

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- rate-limited problem reports ---- */

static void rl_summary(struct osink *s)
{
	olog(LOG_WARNING, "%s: %u more problem%s in the last second, not logged", s->label,
	     s->rl_suppressed, s->rl_suppressed == 1 ? "" : "s");
	s->rl_suppressed = 0;
}

static void on_rl_flush(evutil_socket_t fd, short what, void *arg)
{
	struct osink *s = arg;

	(void)fd;
	(void)what;
	if (s->rl_suppressed == 0)
		return;
	rl_summary(s);
	s->rl_last = now_mono();
}

static void problem(struct osink *s, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Log "label: message" unless a line of this sink went out less than a
 * second ago; then only count it, and let rl_flush report the count when
 * the second is over. */
static void problem(struct osink *s, int level, const char *fmt, ...)
{
	char msg[OLOG_LINE_MAX];
	double now = now_mono();
	struct timeval tv;
	long usec;
	va_list ap;

	if (s->rl_used && now - s->rl_last < 1.0) {
		s->rl_suppressed++;
		if (!evtimer_pending(s->rl_flush, NULL)) {
			usec = (long)((1.0 - (now - s->rl_last)) * 1e6) + 1;
			tv.tv_sec = usec / 1000000;
			tv.tv_usec = usec % 1000000;
			evtimer_add(s->rl_flush, &tv);
		}
		return;
	}
	if (s->rl_suppressed > 0)
		rl_summary(s);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	olog(level, "%s: %s", s->label, msg);
	s->rl_used = true;
	s->rl_last = now;
}

/* ---- records ---- */

/* Write s as a JSON string (quotes included) to dst, or only measure it when
 * dst is NULL. Returns the length. Bytes >= 0x80 pass through: identifiers
 * reaching a sink were validated as UTF-8 where they entered the daemon. */
static size_t json_string(char *dst, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;
	char esc;

	if (dst)
		dst[n] = '"';
	n++;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': esc = '"'; break;
		case '\\': esc = '\\'; break;
		case '\n': esc = 'n'; break;
		case '\r': esc = 'r'; break;
		case '\t': esc = 't'; break;
		case '\b': esc = 'b'; break;
		case '\f': esc = 'f'; break;
		default: esc = *p < 0x20 ? 'u' : 0; break;
		}
		if (!esc) {
			if (dst)
				dst[n] = (char)*p;
			n++;
		} else if (esc != 'u') {
			if (dst) {
				dst[n] = '\\';
				dst[n + 1] = esc;
			}
			n += 2;
		} else {
			if (dst)
				memcpy(dst + n, (char[]){ '\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15] }, 6);
			n += 6;
		}
	}
	if (dst)
		dst[n] = '"';
	return n + 1;
}

static char *put(char *p, const char *lit)
{
	size_t n = strlen(lit);

	memcpy(p, lit, n);
	return p + n;
}

/* The record of one output, newline-terminated; NULL on ENOMEM. call
 * NULL: no correlation keys (sink.h). */
static struct rec *rec_new(const char *operation, const char *plugin, const char *value,
			   const struct osink_call *call)
{
	char corr[64] = "";
	char ts[40];
	struct rec *r;
	size_t tl, vl = strlen(value), len;
	char *p;

	tl = strlen(iso_utc_now(ts, sizeof ts, 3));
	if (call && call->call)
		snprintf(corr, sizeof corr, ",\"call\":%" PRIu64 ",\"latency_ms\":%.3f", call->call,
			 call->latency * 1e3);
	else if (call)
		snprintf(corr, sizeof corr, ",\"correlated\":false");

	len = strlen("{\"time\":\"") + tl + strlen(corr) + strlen("\",\"operation\":") + json_string(NULL, operation) +
	      strlen(",\"plugin\":") + json_string(NULL, plugin) + strlen(",\"value\":") + vl +
	      strlen("}\n");
	r = malloc(sizeof *r + len + 1);
	if (!r)
		return NULL;
	p = put(r->data, "{\"time\":\"");
	memcpy(p, ts, tl);
	p = put(p + tl, "\",\"operation\":");
	p += json_string(p, operation);
	p = put(p, ",\"plugin\":");
	p += json_string(p, plugin);
	p = put(p, corr);
	p = put(p, ",\"value\":");
	memcpy(p, value, vl);
	p = put(p + vl, "}\n");
	*p = '\0';
	r->next = NULL;
	r->len = len;
	return r;
}

/* ---- FILE ---- */

/* One writev per record so O_APPEND keeps lines whole against other writers
 * (atomic for records up to PIPE_BUF on common filesystems). Writes to a
 * regular file are synchronous: page-cache speed, accepted on the loop.
 * A failure is not retried; after a short write the next record starts
 * with "\n" so only the cut line is lost, not the next one too. */
static void file_deliver(struct osink *s, struct rec *r)
{
	struct iovec iov[2] = { { .iov_base = "\n", .iov_len = 1 },
				{ .iov_base = r->data, .iov_len = r->len } };
	size_t pre = s->broken_line ? 1 : 0;
	ssize_t w;

	do
		w = writev(s->fd, iov + (1 - pre), (int)(1 + pre));
	while (w < 0 && errno == EINTR);
	if (w >= 0 && (size_t)w >= pre)
		s->broken_line = (size_t)w > pre && (size_t)w < pre + r->len;
	if (w >= 0 && (size_t)w == pre + r->len) {
		s->st.delivered++;
		return;
	}
	s->st.failed++;
	if (w < 0)
		problem(s, LOG_WARNING, "cannot write %s: %s", s->path, strerror(errno));
	else
		problem(s, LOG_WARNING, "short write to %s (%zd of %zu bytes), output lost", s->path,
			w, pre + r->len);
}

/* ---- EXEC ---- */

static void start_queued(struct osink *s);
static void sink_destroy(struct osink *s);
static void on_writable(evutil_socket_t fd, short what, void *arg);

static void close_stdin(struct child *c)
{
	if (c->ev_write) {
		event_free(c->ev_write);
		c->ev_write = NULL;
	}
	if (c->wfd >= 0) {
		close(c->wfd);
		c->wfd = -1;
	}
	free(c->rec);
	c->rec = NULL;
}

/* Unlink c from its sink and release it; the caller has reaped it. */
static void child_release(struct child *c)
{
	struct child **pp = &c->s->children;

	while (*pp != c)
		pp = &(*pp)->next;
	*pp = c->next;
	c->s->n_running--;
	close_stdin(c);
	childwatch_free(c->watch);
	if (c->ev_timeout)
		event_free(c->ev_timeout);
	free(c);
}

static void child_write(struct child *c)
{
	struct osink *s = c->s;
	ssize_t w;

	while (c->off < c->rec->len) {
		w = write(c->wfd, c->rec->data + c->off, c->rec->len - c->off);
		if (w >= 0) {
			c->off += (size_t)w;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			/* A slow reader: go on when the pipe has room. */
			if (!c->ev_write) {
				c->ev_write = event_new(s->base, c->wfd, EV_WRITE | EV_PERSIST,
							on_writable, c);
				if (!c->ev_write || event_add(c->ev_write, NULL) < 0) {
					problem(s, LOG_WARNING, "cannot wait to write to %s: out of memory",
						s->display);
					break;
				}
			}
			return;
		}
		/* The command closed its stdin or exited: its exit status
		 * tells whether that was a failure. */
		if (errno == EPIPE)
			olog(LOG_DEBUG, "%s: %s did not read all its input", s->label, s->display);
		else
			problem(s, LOG_WARNING, "writing to %s: %s", s->display, strerror(errno));
		break;
	}
	close_stdin(c);
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	child_write(arg);
}

/* Log how the command ended (si, from its childwatch) and count it. */
static void child_report(struct child *c, const siginfo_t *si)
{
	struct osink *s = c->s;

	if (c->timed_out) {
		s->st.failed++;
		problem(s, LOG_WARNING, "%s stopped after its timeout of %g s", s->display,
			s->timeout);
	} else if (si->si_code == 0) {
		olog(LOG_DEBUG, "%s: exit status of %s lost (reaped elsewhere)", s->label, s->display);
		s->st.delivered++;
	} else if (si->si_code == CLD_EXITED && si->si_status == 0) {
		s->st.delivered++;
	} else if (si->si_code == CLD_EXITED) {
		s->st.failed++;
		problem(s, LOG_WARNING, "%s exited with status %d%s", s->display, si->si_status,
			si->si_status == 127 ? " (command not found?)" : "");
	} else {
		const char *abbr = sigabbrev_np(si->si_status);

		s->st.failed++;
		problem(s, LOG_WARNING, "%s killed by signal %d (SIG%s)", s->display, si->si_status,
			abbr ? abbr : "?");
	}
}

static const struct timeval *tv_of(double seconds, struct timeval *tv)
{
	tv->tv_sec = (time_t)seconds;
	tv->tv_usec = (suseconds_t)((seconds - (double)tv->tv_sec) * 1e6);
	return tv;
}

/* The command's time is up: SIGTERM to its process group, and SIGKILL if it
 * is still there after the grace time. Reaping stays with on_exit_ready. */
static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct child *c = arg;
	struct timeval grace;

	(void)fd;
	(void)what;
	if (c->timed_out) {
		kill(-c->pid, SIGKILL);
		return;
	}
	c->timed_out = true;
	close_stdin(c);
	kill(-c->pid, SIGTERM);
	event_add(c->ev_timeout, tv_of(SHUTDOWN_GRACE_S, &grace));
}

static void closing_unlink(struct osink *s)
{
	struct osink **pp = &closing_sinks;

	while (*pp != s)
		pp = &(*pp)->next_closing;
	*pp = s->next_closing;
}

static void on_child_exit(void *arg, const siginfo_t *si)
{
	struct child *c = arg;
	struct osink *s = c->s;

	child_report(c, si);
	child_release(c);
	if (!s->closing) {
		start_queued(s);
	} else if (!s->children) {
		closing_unlink(s);
		sink_destroy(s);
	}
}

/* Start r's command, which then owns r. Returns 0, or -errno with r freed
 * and the failure counted and logged. */
static int spawn(struct osink *s, struct rec *r)
{
	/* The daemon ignores SIGPIPE, and ignored signals survive exec: give
	 * the command the defaults it expects (pipelines in a shell command
	 * rely on SIGPIPE) and an empty signal mask. */
	static const int sigs[] = { SIGPIPE, SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2,
				    SIGCHLD, SIGALRM };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t def, none;
	struct timeval timeout_tv;
	struct child *c = NULL;
	int p[2] = { -1, -1 };
	pid_t pid;
	int rc;

	if (pipe2(p, O_CLOEXEC) < 0) {
		rc = -errno;
		goto fail;
	}
	/* Only our end is non-blocking: the command reads a normal stdin. */
	if (fcntl(p[1], F_SETFL, O_NONBLOCK) < 0) {
		rc = -errno;
		goto fail;
	}
	sigemptyset(&def);
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaddset(&def, sigs[i]);
	sigemptyset(&none);
	rc = posix_spawn_file_actions_init(&fa);
	if (rc) {
		rc = -rc;
		goto fail;
	}
	rc = posix_spawnattr_init(&attr);
	if (rc) {
		posix_spawn_file_actions_destroy(&fa);
		rc = -rc;
		goto fail;
	}
	/* stdout and stderr stay the daemon's: the journal. Nothing else
	 * leaks into the command, even from a plugin that forgot O_CLOEXEC. */
	rc = posix_spawn_file_actions_adddup2(&fa, p[0], STDIN_FILENO);
	if (!rc)
		rc = posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);
	if (!rc)
		rc = posix_spawnattr_setsigdefault(&attr, &def);
	if (!rc)
		rc = posix_spawnattr_setsigmask(&attr, &none);
	if (!rc)
		rc = posix_spawnattr_setpgroup(&attr, 0);
	if (!rc)
		rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK |
						     POSIX_SPAWN_SETPGROUP);
	if (!rc)
		rc = posix_spawnp(&pid, s->argv[0], &fa, &attr, s->argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	close(p[0]);
	p[0] = -1;
	if (rc) {
		rc = -rc;
		goto fail;
	}

	c = calloc(1, sizeof *c);
	if (c) {
		c->watch = childwatch_new(s->base, pid, on_child_exit, c);
		if (s->timeout > 0)
			c->ev_timeout = evtimer_new(s->base, on_timeout, c);
	}
	if (!c || !c->watch || (s->timeout > 0 && !c->ev_timeout) ||
	    (c->ev_timeout && event_add(c->ev_timeout, tv_of(s->timeout, &timeout_tv)) < 0)) {
		/* Nothing would reap it: stop it now, which cannot take long. */
		kill(-pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		if (c) {
			childwatch_free(c->watch);
			if (c->ev_timeout)
				event_free(c->ev_timeout);
			free(c);
		}
		rc = -ENOMEM;
		goto fail;
	}
	c->s = s;
	c->pid = pid;
	c->wfd = p[1];
	c->rec = r;
	c->next = s->children;
	s->children = c;
	s->n_running++;
	child_write(c);
	return 0;

fail:
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	free(r);
	s->st.failed++;
	problem(s, LOG_WARNING, "cannot run %s: %s", s->display, strerror(-rc));
	return rc;
}

static void start_queued(struct osink *s)
{
	struct rec *r;

	while (s->q_head && s->n_running < OSINK_EXEC_MAX_RUNNING) {
		r = s->q_head;
		s->q_head = r->next;
		if (!s->q_head)
			s->q_tail = &s->q_head;
		s->n_queued--;
		spawn(s, r);
	}
}

static void exec_deliver(struct osink *s, struct rec *r)
{
	if (s->n_running < OSINK_EXEC_MAX_RUNNING && !s->q_head) {
		spawn(s, r);
		return;
	}
	if (s->n_queued >= OSINK_EXEC_MAX_QUEUED) {
		free(r);
		s->st.dropped++;
		problem(s, LOG_WARNING, "%u commands running and %u outputs waiting: output dropped",
			s->n_running, s->n_queued);
		return;
	}
	*s->q_tail = r;
	s->q_tail = &r->next;
	s->n_queued++;
}

/* ---- EXECUTE ---- */

static void execute_deliver(struct osink *s, const char *value)
{
	int r;

	if (execute_depth >= OSINK_EXECUTE_MAX_DEPTH) {
		s->st.failed++;
		problem(s, LOG_WARNING, "nested %u pipelines deep, not executed (a cycle?)", execute_depth);
		return;
	}
	execute_depth++;
	r = s->exec_fn(s->exec_ctx, s->target, s->mode, value);
	execute_depth--;
	if (r >= 0) {
		s->st.delivered++;
		return;
	}
	s->st.failed++;
	if (r == -ENOENT)
		problem(s, LOG_WARNING, "no connection");
	else
		problem(s, LOG_WARNING, "execute (%s) failed: %s", ocfg_mode_name(s->mode), strerror(-r));
}

/* ---- public ---- */

void osink_deliver(struct osink *s, const char *plugin_id, const char *value_json)
{
	osink_deliver_call(s, plugin_id, value_json, NULL);
}

void osink_deliver_call(struct osink *s, const char *plugin_id, const char *value_json,
			const struct osink_call *call)
{
	struct rec *r;

	if (!s)
		return;
	if (!plugin_id)
		plugin_id = "";
	if (!value_json || !*value_json)
		value_json = "null";
	switch (s->type) {
	case OCFG_SINK_LOG:
		/* The precision keeps vsnprintf from walking a huge value;
		 * olog cuts the line (on a UTF-8 boundary, with "…"). Data
		 * the operator asked for, not a diagnostic: never limited. */
		olog_kind(NULL, LOG_INFO, "output %s from %s: %.*s", s->operation, plugin_id,
			  OLOG_LINE_MAX, value_json);
		s->st.delivered++;
		return;
	case OCFG_SINK_EXECUTE:
		execute_deliver(s, value_json);
		return;
	case OCFG_SINK_FILE:
	case OCFG_SINK_EXEC:
		break;
	}
	r = rec_new(s->operation, plugin_id, value_json, call);
	if (!r) {
		s->st.failed++;
		problem(s, LOG_WARNING, "output from %s lost: out of memory", plugin_id);
		return;
	}
	if (s->type == OCFG_SINK_FILE) {
		file_deliver(s, r);
		free(r);
	} else {
		exec_deliver(s, r);
	}
}

void osink_stats(const struct osink *s, struct osink_stats *st)
{
	*st = s->st;
}

static void sink_destroy(struct osink *s)
{
	if (s->rl_suppressed > 0)
		rl_summary(s);
	if (s->rl_flush)
		event_free(s->rl_flush);
	if (s->fd >= 0)
		close(s->fd);
	if (s->argv) {
		for (char **a = s->argv; *a; a++)
			free(*a);
		free(s->argv);
	}
	free(s->path);
	free(s->target);
	free(s->label);
	free(s->operation);
	free(s);
}

struct osink *osink_new(struct event_base *base, const char *operation,
			const struct ocfg_sink *conf, osink_execute_fn exec_fn, void *exec_ctx,
			char **err)
{
	struct osink *s = NULL;
	const char *kind = conf ? ocfg_sink_type_name(conf->type) : "";
	char *msg = NULL;
	size_t n = 0;
	int rc = ENOMEM;

	if (err)
		*err = NULL;
	if (!base || !operation || !conf) {
		rc = EINVAL;
		if (asprintf(&msg, "sink: missing loop, operation or configuration") < 0)
			msg = NULL;
		goto fail;
	}
	s = calloc(1, sizeof *s);
	if (!s)
		goto fail;
	s->base = base;
	s->type = conf->type;
	s->fd = -1;
	s->q_tail = &s->q_head;
	s->operation = strdup(operation);
	s->rl_flush = evtimer_new(base, on_rl_flush, s);
	if (!s->operation || !s->rl_flush)
		goto fail;

	switch (conf->type) {
	case OCFG_SINK_LOG:
		break;
	case OCFG_SINK_FILE:
		if (!conf->path) {
			rc = EINVAL;
			if (asprintf(&msg, "sink file for %s: no path", operation) < 0)
				msg = NULL;
			goto fail;
		}
		s->path = strdup(conf->path);
		if (!s->path)
			goto fail;
		s->fd = open(conf->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
			     0640);
		if (s->fd < 0) {
			rc = errno;
			if (asprintf(&msg, "cannot open %s: %s", conf->path, strerror(rc)) < 0)
				msg = NULL;
			goto fail;
		}
		break;
	case OCFG_SINK_EXEC:
		if (!conf->argv || !conf->argv[0]) {
			rc = EINVAL;
			if (asprintf(&msg, "sink exec for %s: no command", operation) < 0)
				msg = NULL;
			goto fail;
		}
		/* argv's NULL, not argc, bounds it: spawning trusts it. */
		while (conf->argv[n])
			n++;
		s->argv = calloc(n + 1, sizeof *s->argv);
		if (!s->argv)
			goto fail;
		for (size_t i = 0; i < n; i++) {
			s->argv[i] = strdup(conf->argv[i]);
			if (!s->argv[i])
				goto fail;
		}
		s->display = conf->shell && n >= 3 ? s->argv[2] : s->argv[0];
		s->timeout = conf->timeout;
		break;
	case OCFG_SINK_EXECUTE:
		if (!conf->operation || !exec_fn) {
			rc = EINVAL;
			if (asprintf(&msg, "pipeline %s: no operation or executor", operation) < 0)
				msg = NULL;
			goto fail;
		}
		s->target = strdup(conf->operation);
		if (!s->target)
			goto fail;
		s->mode = conf->mode;
		s->exec_fn = exec_fn;
		s->exec_ctx = exec_ctx;
		break;
	default:
		rc = EINVAL;
		if (asprintf(&msg, "sink for %s: unknown type %d", operation, (int)conf->type) < 0)
			msg = NULL;
		goto fail;
	}

	if (conf->type == OCFG_SINK_EXECUTE)
		rc = asprintf(&s->label, "pipeline %s \xe2\x86\x92 %s", operation, s->target);
	else
		rc = asprintf(&s->label, "sink %s for %s", kind, operation);
	if (rc < 0) {
		s->label = NULL;
		rc = ENOMEM;
		goto fail;
	}
	return s;

fail:
	if (s)
		sink_destroy(s);
	if (!msg && rc == ENOMEM && asprintf(&msg, "sink for %s: out of memory",
					     operation ? operation : "?") < 0)
		msg = NULL;
	if (err)
		*err = msg;
	else
		free(msg);
	errno = rc;
	return NULL;
}

void osink_free(struct osink *s)
{
	struct rec *r;
	unsigned dropped = s ? s->n_queued : 0;

	if (!s)
		return;
	while ((r = s->q_head)) {
		s->q_head = r->next;
		free(r);
	}
	s->q_tail = &s->q_head;
	s->n_queued = 0;
	s->st.dropped += dropped;
	if (dropped)
		olog(LOG_WARNING, "%s: closed with %u outputs waiting, dropped", s->label, dropped);
	if (!s->children) {
		sink_destroy(s);
		return;
	}
	olog(LOG_DEBUG, "%s: closed, %u commands still running", s->label, s->n_running);
	s->closing = true;
	s->next_closing = closing_sinks;
	closing_sinks = s;
}

void osink_shutdown(void)
{
	struct osink *s;
	struct child *c, *next;
	double deadline = now_mono() + SHUTDOWN_GRACE_S;
	unsigned n = 0;
	bool left;

	for (s = closing_sinks; s; s = s->next_closing) {
		for (c = s->children; c; c = c->next) {
			close_stdin(c);
			kill(-c->pid, SIGTERM);
			n++;
		}
	}
	if (n)
		olog(LOG_NOTICE, "sinks: stopping %u command%s still running", n, n == 1 ? "" : "s");
	do {
		left = false;
		for (s = closing_sinks; s; s = s->next_closing) {
			for (c = s->children; c; c = next) {
				next = c->next;
				siginfo_t si;
				if (childwatch_wait(c->watch, 0, &si) == 0)
					child_release(c);
				else
					left = true;
			}
		}
		if (left)
			nanosleep(&(struct timespec){ .tv_nsec = 10000000L }, NULL);
	} while (left && now_mono() < deadline);
	while ((s = closing_sinks)) {
		closing_sinks = s->next_closing;
		while ((c = s->children)) {
			kill(-c->pid, SIGKILL);
			siginfo_t si;
			childwatch_wait(c->watch, -1, &si);
			child_release(c);
		}
		sink_destroy(s);
	}
}
