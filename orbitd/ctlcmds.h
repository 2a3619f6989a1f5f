/* ctlcmds.h — the control socket's commands (status, plugins, requirements,
 * connections, pending, execute, watch, close, reload, log-level, version)
 * over the daemon's state, and the event feed for `watch` and
 * `execute --wait`. The socket protocol itself is control.c's.
 *
 * Ownership: the watches (streaming requests) belong to this module and are
 * ended by the client going away or by ctl_stop.
 */
#ifndef ORBITD_CTLCMDS_H
#define ORBITD_CTLCMDS_H

#include "daemon_internal.h"
#include "loader.h"

#include <orbit/orbiter.h>

/* Open the control socket (control.socket, or the per-user default when it
 * is the built-in one and we cannot use /run/orbitd). 0 or -errno + *err. */
int ctl_start(struct daemon *d, char **err);

/* A reload's control limits (clients, idle timeout, buffers) for the
 * running socket; the socket's path, mode, group and request size need a
 * restart. */
void ctl_apply_limits(struct daemon *d, const struct ocfg_control *c);

/* End every streaming request and close the socket. NULL-safe state. */
void ctl_stop(struct daemon *d);

/* Feeds for watchers; cheap when nobody watches. */
struct calltag_match;
void ctl_on_output(void *d, const char *operation, const char *plugin, const char *json,
		   const struct calltag_match *m);
void ctl_on_core_event(struct daemon *d, const orbit_event *ev);
void ctl_on_plugin_event(struct daemon *d, const struct lplug_info *p);

#endif
