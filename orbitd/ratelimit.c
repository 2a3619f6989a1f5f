/* ratelimit.c — see ratelimit.h. */
#include "ratelimit.h"

#include <time.h>

static bool due(const struct ratelimit *rl, double now)
{
	return !rl->used || now - rl->last >= rl->interval;
}

static void report(struct ratelimit *rl, double now, uint64_t *n)
{
	*n = rl->count;
	rl->count = 0;
	rl->last = now;
	rl->used = true;
}

bool ratelimit_hit(struct ratelimit *rl, double now, uint64_t *n)
{
	rl->count++;
	if (!due(rl, now))
		return false;
	report(rl, now, n);
	return true;
}

bool ratelimit_flush(struct ratelimit *rl, double now, uint64_t *n)
{
	if (rl->count == 0 || !due(rl, now))
		return false;
	report(rl, now, n);
	return true;
}

double ratelimit_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
