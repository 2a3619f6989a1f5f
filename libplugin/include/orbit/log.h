/* orbit/log.h — where libplugin's diagnostics go.
 *
 * The library never writes to stdout; by default warnings and worse go to
 * stderr. A host (orbitd) installs its own sink. Levels are syslog's
 * (LOG_ERR=3 ... LOG_DEBUG=7). The message is borrowed for the call.
 */
#ifndef ORBIT_LOG_H
#define ORBIT_LOG_H

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*orbit_log_fn)(int level, const char *msg);

/* Install fn (NULL restores the stderr default) and the most verbose level
 * passed to it. Not thread-safe: call before starting loops. */
void orbit_set_log(orbit_log_fn fn, int max_level);

#ifdef __cplusplus
}
#endif

#endif
