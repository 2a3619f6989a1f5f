/* orbitd_host.h — test harness: one real orbitd in a directory of its own,
 * for tests that run several daemons side by side (MQTT, bridges, brokers
 * with authentication).
 *
 * orbitd `name` lives in dir/name/: orbitd.yaml, plugins/ and the control
 * socket ctl.sock. The directory belongs to the caller's temporary directory
 * (tmpdir.h), which removes it.
 */
#ifndef ORBIT_TEST_ORBITD_HOST_H
#define ORBIT_TEST_ORBITD_HOST_H

#include "proc.h"

/* Create dir/name/, copy the plugins (space-separated paths relative to
 * build, e.g. "plugins/lowercase.so tests/plugins/echo.so"; NULL for none),
 * write "identifier: <name>\n" followed by yaml as its orbitd.yaml and start
 * build/bin/orbitd on them. Fails the running check test on any error. */
struct test_proc *orbitd_host_start(const char *dir, const char *build, const char *name,
				    const char *plugins, const char *yaml);

/* malloc'd dir/name/ctl.sock, the control socket of that orbitd. */
char *orbitd_host_socket(const char *dir, const char *name);

#endif
