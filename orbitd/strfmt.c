/* strfmt.c — see strfmt.h. */
#include "strfmt.h"

#include <stdarg.h>
#include <stdio.h>

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
