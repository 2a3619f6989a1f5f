/* liblog.c — formats library diagnostics and hands them to the host's sink. */
#include "liblog.h"
#include "orbit/log.h"

#include <stdarg.h>
#include <stdio.h>

static orbit_log_fn sink;
static int max_level = LOG_WARNING;

void orbit_set_log(orbit_log_fn fn, int level)
{
	sink = fn;
	max_level = level;
}

void orbit_logf(int level, const char *fmt, ...)
{
	if (level > max_level)
		return;
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (sink)
		sink(level, buf);
	else
		fprintf(stderr, "orbit: %s\n", buf);
}
