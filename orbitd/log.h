/* log.h — orbitd's logger: one line per call on stderr, safe from any thread.
 *
 * Under systemd (JOURNAL_STREAM set) a line is "<N>message" so the journal
 * takes the priority from it and adds its own timestamp; otherwise it is
 * "YYYY-MM-DD HH:MM:SS.mmm LEVEL message". Levels are the syslog numbers
 * LOG_ERR (3) .. LOG_DEBUG (7). The logger owns no memory.
 */
#ifndef ORBITD_LOG_H
#define ORBITD_LOG_H

#include <stdarg.h>
#include <syslog.h>

/* Longest line written, newline included; longer messages end in "…".
 * Kept at PIPE_BUF so one write(2) of a line is atomic on pipes. */
#define OLOG_LINE_MAX 4096

/* Log one line at level if level <= the current level. Keeps errno, so "%m"
 * and callers' errno survive. Newlines inside the message become spaces. */
void olog(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* va_list form of olog, for hosts that forward plugins' messages. */
void olog_va(int level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

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
