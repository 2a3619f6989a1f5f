/* liblog.h — internal logging front end of libplugin (see orbit/log.h). */
#ifndef ORBIT_LIBLOG_H
#define ORBIT_LIBLOG_H

#include <syslog.h>

void orbit_logf(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
