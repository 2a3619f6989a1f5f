/* strfmt.c — see strfmt.h. */
#include "strfmt.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

char *strvfmt(const char *fmt, va_list ap)
{
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	return s;
}

char *strfmt(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = strvfmt(fmt, ap);
	va_end(ap);
	return s;
}

char *iso_utc_now(char *buf, size_t n, int digits)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t k = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
	if (digits == 6)
		snprintf(buf + k, n - k, ".%06ldZ", ts.tv_nsec / 1000);
	else
		snprintf(buf + k, n - k, ".%03ldZ", ts.tv_nsec / 1000000);
	return buf;
}
