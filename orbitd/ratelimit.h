/* ratelimit.h — "at most one line per interval, then a count": the state
 * of one rate-limited report (a plugin operation's dropped inputs).
 *
 * Time is the caller's (seconds on any monotonic clock, ratelimit_now()
 * for CLOCK_MONOTONIC) so tests drive it. Not thread-safe: one thread per
 * struct. Owns no memory; zero-initialise with an interval.
 */
#ifndef ORBITD_RATELIMIT_H
#define ORBITD_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct ratelimit {
	double interval; /* seconds between two lines */
	double last;     /* when the last line went out */
	bool used;       /* a line went out already */
	uint64_t count;  /* events since that line */
};

#define RATELIMIT_INIT(seconds) {.interval = (seconds)}

/* One event at now. True when a line may go out now: *n is then the number
 * of events it reports (this one and those counted since the last line),
 * and the count restarts. False: counted, say nothing. */
bool ratelimit_hit(struct ratelimit *rl, double now, uint64_t *n);

/* Events counted and not reported yet whose line is due at now: true with
 * *n as for ratelimit_hit (for a timer reporting the tail of a burst). */
bool ratelimit_flush(struct ratelimit *rl, double now, uint64_t *n);

/* CLOCK_MONOTONIC in seconds. */
double ratelimit_now(void);

#endif
