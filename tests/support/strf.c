/* strf.c — see strf.h. */
#include "strf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

char *strf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	return s;
}
