/* log.h — orbitd's logger: one line per call on stderr, safe from any thread.
 *
 * Under systemd (JOURNAL_STREAM set) a line is "<N>message" so the journal
 * takes the priority from it and adds its own timestamp; otherwise it is
 * "YYYY-MM-DD HH:MM:SS.mmm LEVEL message". Levels are the syslog numbers
 * LOG_ERR (3) .. LOG_DEBUG (7). The logger owns no memory.
 *
 * Lines are rate-limited per kind (call site: the format string) by
 * liborbit's limiter, with the same setting as the library's own messages:
 * at most olog_set_rate_limit() lines per second per kind after a first
 * burst of ORBIT_LOG_BURST_SECONDS (10) seconds' worth, always written, the rest counted and reported at the end of
 * the next line of that kind that goes out, as "(N similar messages
 * suppressed)" (orbit/log.h has the details: token bucket, fixed table).
 */
#ifndef ORBITD_LOG_H
#define ORBITD_LOG_H

#include <orbit/log.h>

#include <stdarg.h>
#include <syslog.h>

/* log.rate_limit's default: lines per second per kind. */
#define OLOG_RATE_LIMIT_DEFAULT ORBIT_LOG_RATE_LIMIT_DEFAULT

/* Longest line written, newline included; longer messages end in "…".
 * Kept at PIPE_BUF so one write(2) of a line is atomic on pipes. */
#define OLOG_LINE_MAX 4096

/* Log one line at level if level <= the current level. Keeps errno, so "%m"
 * and callers' errno survive. Newlines inside the message become spaces. */
void olog(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* va_list form of olog, for hosts that forward plugins' messages. */
void olog_va(int level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* olog with the rate-limit kind given: any stable pointer (a plugin's own
 * format string, when fmt is a wrapper's), or NULL for a line never
 * limited here (liborbit's messages, limited at their source already). */
void olog_kind(const void *kind, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Lines per second per kind, 0 = unlimited (default
 * ORBIT_LOG_RATE_LIMIT_DEFAULT, 10). Shared with liborbit's messages. */
void olog_set_rate_limit(unsigned per_second);

/* Report the lines suppressed in a burst that no later line of their kind
 * has reported, once that kind has been silent for `quiet` seconds: one line
 * each with the count and a sample. The daemon calls it every second. */
void olog_flush_suppressed(double quiet);

/* The clock the limiter reads (default orbit_now); NULL restores it. For
 * tests. */
void olog_set_clock(double (*now)(void));

/* Set / get the most verbose level still written (default LOG_INFO). */
void olog_set_level(int level);
int olog_get_level(void);

/* Parse a level name: debug, info, notice, warning (warn), error (err),
 * case-insensitive. Returns 0 and sets *level, or -EINVAL. */
int olog_parse_level(const char *name, int *level);

/* Lower-case name of a level ("warning"); static storage. */
const char *olog_level_name(int level);

/* (Re)read JOURNAL_STREAM to choose the line format. Called implicitly by the
 * first olog(); call it again only after changing the environment. */
void olog_init(void);

#endif
