/* strfmt.h — printf into a fresh string, for the daemon's messages ("why"
 * texts, summaries). The caller frees the result. */
#ifndef ORBITD_STRFMT_H
#define ORBITD_STRFMT_H

#include <stdarg.h>
#include <stddef.h>

/* malloc'd formatted text, or NULL when memory ran out (callers treat a
 * NULL message as "out of memory"). */
char *strfmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The same from a va_list (consumed). */
char *strvfmt(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* The current UTC time as ISO 8601 with `digits` (3 or 6) fractional digits
 * and a Z ("2026-12-06T04:05:06.123Z") into buf (40 bytes suffice); returns
 * buf. For events, records and traces. */
char *iso_utc_now(char *buf, size_t n, int digits);

#endif
