/* orbit/log.h — where libplugin's diagnostics go, and how often.
 *
 * The library never writes to stdout; by default warnings and worse go to
 * stderr. A host (orbitd) installs its own sink. Levels are syslog's
 * (LOG_ERR=3 ... LOG_DEBUG=7). The message is borrowed for the call.
 *
 * Rate limit. A peer can make the library warn once per message it sends
 * ("dropped unexpected ...", "dropped malformed ..."), so each kind of
 * message (its call site: the format string) gets a budget of rate_limit
 * lines per second, a token bucket holding ORBIT_LOG_BURST_SECONDS worth
 * that starts full: the first rate_limit * ORBIT_LOG_BURST_SECONDS lines
 * of a kind always go out (start-up and reload bursts stay whole), then
 * one more every 1/rate_limit s. The
 * lines over budget are counted, not written, and the next line of that
 * kind that goes out ends in "(N similar messages suppressed)"; when none
 * comes, the host's periodic orbit_log_flush_suppressed reports the count
 * with a sample of the kind once it has been quiet. Kinds live in a fixed table of ORBIT_LOG_KINDS slots
 * (hash of the kind pointer): two kinds that share a slot share a budget.
 */
#ifndef ORBIT_LOG_H
#define ORBIT_LOG_H

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*orbit_log_fn)(int level, const char *msg);

/* Default of orbit_set_log_rate_limit: lines per second per kind. */
#define ORBIT_LOG_RATE_LIMIT_DEFAULT 10
/* Seconds of budget a kind may spend at once. */
#define ORBIT_LOG_BURST_SECONDS 10
/* Slots of the table of kinds (memory is fixed: a few KiB). */
#define ORBIT_LOG_KINDS 256

/* Install fn (NULL restores the stderr default) and the most verbose level
 * passed to it. Not thread-safe: call before starting loops. */
void orbit_set_log(orbit_log_fn fn, int max_level);

/* At most per_second lines per kind and second, for the library's messages
 * and every orbit_log_admit caller; 0 is unlimited. Thread-safe; a lower
 * limit applies at once to the budgets already in use. */
void orbit_set_log_rate_limit(unsigned per_second);

/* The current limit (ORBIT_LOG_RATE_LIMIT_DEFAULT until set). */
unsigned orbit_get_log_rate_limit(void);

/* The limiter, for a host's own lines (orbitd's logger uses it): one line of
 * kind (a stable pointer, e.g. its format string; NULL is never limited) at
 * now (seconds on a monotonic clock, e.g. orbit_now()). Returns 1 when the
 * line may go out, with *suppressed set to the lines of its slot counted
 * and not written since the last one that went out (0 usually; the line
 * should say so when not); returns 0 when the line is over budget: it is
 * counted, write nothing. Thread-safe and fork-safe. */
int orbit_log_admit(const void *kind, double now, unsigned long long *suppressed);

/* Bytes of a line kept as its kind's sample (NUL included). */
#define ORBIT_LOG_SAMPLE 96

/* After a line admitted by orbit_log_admit went out: remember its level and
 * text (the first ORBIT_LOG_SAMPLE - 1 bytes, copied) as the sample of its
 * kind, for orbit_log_flush_suppressed. NULL kind or text: nothing. */
void orbit_log_note(const void *kind, int level, const char *text);

/* Lines of a kind are suppressed in a burst; the next line of that kind
 * reports them ("N similar messages suppressed"). When no next line comes,
 * this reports them instead: for every kind with lines suppressed and none
 * for `quiet` seconds up to now, fn(level, n, sample, arg) is called with
 * the kind's last noted level and sample ("" if none) and the count is
 * cleared. fn runs without the limiter's lock (it may log). Call it
 * periodically, e.g. every second from the host's loop. Thread-safe. */
void orbit_log_flush_suppressed(double now, double quiet,
				void (*fn)(int level, unsigned long long n, const char *sample,
					   void *arg),
				void *arg);

#ifdef __cplusplus
}
#endif

#endif
