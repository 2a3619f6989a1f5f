/* log.c — formats log lines and writes them to stderr.
 *
 * The only state is the level, the chosen format and the limiter's clock,
 * all atomics, so any thread may log; the rate limit is liborbit's
 * (orbit_log_admit), which holds its lock only to count. Each line is built in a stack buffer and
 * handed to one write(2): lines from concurrent threads never interleave
 * (writes up to PIPE_BUF are atomic on the journal's stream and on pipes).
 */
#include "log.h"

#include <orbit/log.h>
#include <orbit/orbiter.h>
#include <orbit/text.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static atomic_int cur_level = LOG_INFO;
/* -1 until decided, then 0 (timestamps) or 1 (journal "<N>" prefixes). */
static atomic_int journal = -1;
static _Atomic(double (*)(void)) clock_fn;

static const char *const upper_names[8] = {
	"EMERG", "ALERT", "CRIT", "ERROR", "WARNING", "NOTICE", "INFO", "DEBUG",
};
static const char *const lower_names[8] = {
	"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug",
};

static int clamp_level(int level)
{
	if (level < LOG_EMERG)
		return LOG_EMERG;
	if (level > LOG_DEBUG)
		return LOG_DEBUG;
	return level;
}

void olog_init(void)
{
	/* The variable alone decides: orbitd's stderr is only redirected to
	 * the journal by its own unit, which is what sets it. */
	const char *js = getenv("JOURNAL_STREAM");

	atomic_store(&journal, js && *js ? 1 : 0);
}

void olog_set_rate_limit(unsigned per_second)
{
	orbit_set_log_rate_limit(per_second);
}

void olog_set_clock(double (*now)(void))
{
	atomic_store(&clock_fn, now);
}

static double limiter_now(void)
{
	double (*fn)(void) = atomic_load(&clock_fn);

	return fn ? fn() : orbit_now();
}

void olog_set_level(int level)
{
	atomic_store(&cur_level, clamp_level(level));
}

int olog_get_level(void)
{
	return atomic_load(&cur_level);
}

int olog_parse_level(const char *name, int *level)
{
	static const struct {
		const char *name;
		int level;
	} names[] = {
		{ "debug", LOG_DEBUG }, { "info", LOG_INFO },
		{ "notice", LOG_NOTICE }, { "warning", LOG_WARNING },
		{ "warn", LOG_WARNING }, { "error", LOG_ERR }, { "err", LOG_ERR },
	};

	if (!name)
		return -EINVAL;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (strcasecmp(name, names[i].name) == 0) {
			*level = names[i].level;
			return 0;
		}
	}
	return -EINVAL;
}

const char *olog_level_name(int level)
{
	return lower_names[clamp_level(level)];
}

static size_t format_prefix(char *buf, size_t size, int level)
{
	struct timespec ts;
	struct tm tm;
	size_t n;
	int r;

	if (atomic_load(&journal) == 1) {
		r = snprintf(buf, size, "<%d>", level);
		return r > 0 ? (size_t)r : 0;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	if (!localtime_r(&ts.tv_sec, &tm))
		memset(&tm, 0, sizeof tm);
	n = strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
	r = snprintf(buf + n, size - n, ".%03ld %s ", ts.tv_nsec / 1000000L,
		     upper_names[level]);
	return n + (r > 0 ? (size_t)r : 0);
}

static void write_all(const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(STDERR_FILENO, buf, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return; /* nowhere left to report it */
		}
		buf += w;
		len -= (size_t)w;
	}
}

static void log_va(const void *kind, int level, const char *fmt, va_list ap)
{
	static const char ellipsis[] = "\xe2\x80\xa6"; /* … */
	char buf[OLOG_LINE_MAX];
	char tail[64];
	int saved = errno;
	size_t n, prefix, body, cap, tail_len = 0;
	unsigned long long dropped;
	bool truncated = false;
	int r;

	level = clamp_level(level);
	if (level > atomic_load(&cur_level))
		goto out;
	if (!orbit_log_admit(kind, limiter_now(), &dropped))
		goto out;
	if (atomic_load(&journal) < 0)
		olog_init();
	if (dropped) {
		r = snprintf(tail, sizeof tail, " (%llu similar messages suppressed)", dropped);
		tail_len = r > 0 ? (size_t)r : 0;
	}

	n = prefix = format_prefix(buf, sizeof buf, level);
	/* Room for the body's NUL is reused by the newline; "…" needs 3 more,
	 * the suppressed count (kept whole) its own. */
	cap = sizeof buf - n - (sizeof ellipsis - 1) - tail_len;
	errno = saved; /* for %m */
	r = vsnprintf(buf + n, cap, fmt ? fmt : "(null)", ap);
	if (r < 0) {
		r = snprintf(buf + n, cap, "(unformattable message)");
		if (r < 0)
			r = 0;
	}
	body = (size_t)r;
	if (body >= cap) {
		/* A truncated line stays valid UTF-8. */
		body = orbit_utf8_trim(buf + n, cap - 1);
		truncated = true;
	}
	while (!truncated && body > 0 && (buf[n + body - 1] == '\n' || buf[n + body - 1] == '\r'))
		body--;
	/* One record per line, also for the journal's line splitting. */
	for (size_t i = n; i < n + body; i++) {
		if (buf[i] == '\n' || buf[i] == '\r')
			buf[i] = ' ';
	}
	n += body;
	if (truncated) {
		memcpy(buf + n, ellipsis, sizeof ellipsis - 1);
		n += sizeof ellipsis - 1;
	}
	memcpy(buf + n, tail, tail_len);
	n += tail_len;
	buf[n] = '\0';
	orbit_log_note(kind, level, buf + prefix);
	buf[n++] = '\n';
	write_all(buf, n);
out:
	errno = saved;
}

static void report_suppressed(int level, unsigned long long n, const char *sample, void *arg)
{
	double *quiet = arg;
	/* Not limited itself (NULL kind): at most one line per kind and flush. */
	olog_kind(NULL, level, "%llu similar messages suppressed, none for %gs; the last one like: %s", n,
		  *quiet, sample);
}

void olog_flush_suppressed(double quiet)
{
	orbit_log_flush_suppressed(limiter_now(), quiet, report_suppressed, &quiet);
}

void olog_va(int level, const char *fmt, va_list ap)
{
	log_va(fmt, level, fmt, ap);
}

void olog(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_va(fmt, level, fmt, ap);
	va_end(ap);
}

void olog_kind(const void *kind, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_va(kind, level, fmt, ap);
	va_end(ap);
}
