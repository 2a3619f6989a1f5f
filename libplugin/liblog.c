/* liblog.c — formats library diagnostics, applies the per-kind rate limit
 * (orbit/log.h) and hands them to the host's sink.
 *
 * The table of kinds is guarded by one mutex: it is held for a few loads
 * and stores, never around formatting or the sink. The daemon forks plugin
 * processes while worker threads may log, so the mutex is taken around
 * fork (pthread_atfork) and a child never inherits it locked.
 */
#include "liblog.h"
#include "orbit/log.h"
#include "orbit/orbiter.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct kind_slot {
	double tokens; /* lines it may still write now */
	double last;   /* when tokens was last refilled */
	double last_suppressed;
	unsigned long long suppressed;
	int used;
	int level;     /* of the sample */
	char sample[ORBIT_LOG_SAMPLE];
};

static orbit_log_fn sink;
static int max_level = LOG_WARNING;
static atomic_uint rate_limit = ORBIT_LOG_RATE_LIMIT_DEFAULT;
static struct kind_slot kinds[ORBIT_LOG_KINDS];
static pthread_mutex_t kinds_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

void orbit_set_log(orbit_log_fn fn, int level)
{
	sink = fn;
	max_level = level;
}

void orbit_set_log_rate_limit(unsigned per_second)
{
	atomic_store(&rate_limit, per_second);
}

unsigned orbit_get_log_rate_limit(void)
{
	return atomic_load(&rate_limit);
}

static void lock_kinds(void)
{
	pthread_mutex_lock(&kinds_lock);
}

static void unlock_kinds(void)
{
	pthread_mutex_unlock(&kinds_lock);
}

static void register_atfork(void)
{
	pthread_atfork(lock_kinds, unlock_kinds, unlock_kinds);
}

static size_t slot_of(const void *kind)
{
	/* Fibonacci hashing: format strings sit a few bytes apart in .rodata,
	 * the multiply spreads their low bits over the top ones kept. */
	uint64_t h = (uint64_t)(uintptr_t)kind * 0x9E3779B97F4A7C15ull;
	return (size_t)(h >> 56) % ORBIT_LOG_KINDS;
}

int orbit_log_admit(const void *kind, double now, unsigned long long *suppressed)
{
	unsigned rate = atomic_load(&rate_limit);
	double burst = (double)rate * ORBIT_LOG_BURST_SECONDS;
	int ok;

	*suppressed = 0;
	if (!kind || rate == 0)
		return 1;
	pthread_once(&atfork_once, register_atfork);
	lock_kinds();
	struct kind_slot *s = &kinds[slot_of(kind)];
	if (!s->used) {
		s->used = 1;
		s->tokens = burst;
		s->last = now;
	} else if (now > s->last) {
		s->tokens += (now - s->last) * rate;
		s->last = now;
	}
	if (s->tokens > burst)
		s->tokens = burst;
	ok = s->tokens >= 1;
	if (ok) {
		s->tokens -= 1;
		*suppressed = s->suppressed;
		s->suppressed = 0;
	} else {
		s->suppressed++;
		s->last_suppressed = now;
	}
	unlock_kinds();
	return ok;
}

void orbit_log_note(const void *kind, int level, const char *text)
{
	if (!kind || !text || atomic_load(&rate_limit) == 0)
		return;
	pthread_once(&atfork_once, register_atfork);
	lock_kinds();
	struct kind_slot *s = &kinds[slot_of(kind)];
	s->level = level;
	snprintf(s->sample, sizeof s->sample, "%s", text);
	unlock_kinds();
}

void orbit_log_flush_suppressed(double now, double quiet,
				void (*fn)(int level, unsigned long long n, const char *sample,
					   void *arg),
				void *arg)
{
	/* Taken out under the lock, reported after it: fn may log. */
	struct {
		unsigned long long n;
		int level;
		char sample[ORBIT_LOG_SAMPLE];
	} due[ORBIT_LOG_KINDS];
	size_t n_due = 0;

	pthread_once(&atfork_once, register_atfork);
	lock_kinds();
	for (size_t i = 0; i < ORBIT_LOG_KINDS; i++) {
		struct kind_slot *s = &kinds[i];
		if (!s->used || !s->suppressed || now - s->last_suppressed < quiet)
			continue;
		due[n_due].n = s->suppressed;
		due[n_due].level = s->sample[0] ? s->level : LOG_WARNING;
		memcpy(due[n_due].sample, s->sample, sizeof s->sample);
		n_due++;
		s->suppressed = 0;
	}
	unlock_kinds();
	for (size_t i = 0; i < n_due; i++)
		fn(due[i].level, due[i].n, due[i].sample, arg);
}

void orbit_logf(int level, const char *fmt, ...)
{
	unsigned long long dropped;
	char buf[1024];
	va_list ap;
	int n;

	if (level > max_level || !orbit_log_admit(fmt, orbit_now(), &dropped))
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (dropped) {
		char tail[64];
		int t = snprintf(tail, sizeof tail, " (%llu similar messages suppressed)", dropped);
		size_t at = n < 0 ? 0 : (size_t)n;
		/* The count matters more than the end of a long message. */
		if (at > sizeof buf - 1 - (size_t)t)
			at = sizeof buf - 1 - (size_t)t;
		snprintf(buf + at, sizeof buf - at, "%s", tail);
	}
	orbit_log_note(fmt, level, buf);
	if (sink)
		sink(level, buf);
	else
		fprintf(stderr, "orbit: %s\n", buf);
}
