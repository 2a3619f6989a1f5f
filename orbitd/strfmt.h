/* strfmt.h — printf into a fresh string, for the daemon's messages ("why"
 * texts, summaries). The caller frees the result. */
#ifndef ORBITD_STRFMT_H
#define ORBITD_STRFMT_H

#include <stdarg.h>

/* malloc'd formatted text, or NULL when memory ran out (callers treat a
 * NULL message as "out of memory"). */
char *strfmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The same from a va_list (consumed). */
char *strvfmt(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

#endif
