/* ctlcmds.h — the control socket's commands (status, plugins, requirements,
 * connections, pending, execute, watch, close, reload, log-level, version)
 * over the daemon's state, and the event feed for `watch` and
 * `execute --wait`. The socket protocol itself is control.c's.
 *
 * Ownership: the commands' state — the socket, the watches (streaming
 * requests, ended by the client going away or by ctl_stop) and the list of
 * dead remote plugins — is a struct ctl, made by ctl_start and freed by
 * ctl_stop. The daemon is read through daemon.h only and outlives it.
 */
#ifndef ORBITD_CTLCMDS_H
#define ORBITD_CTLCMDS_H

#include "daemon.h"
#include "loader.h"

#include <orbit/orbiter.h>

#include <jansson.h>

struct ctl;
struct octl_req;
struct octl_stats;

/* Open the control socket (control.socket, or the per-user default when it
 * is the built-in one and we cannot use /run/orbitd) with the commands'
 * state. NULL + *err malloc'd. */
struct ctl *ctl_start(struct daemon *d, char **err);

/* A reload's control limits (clients, idle timeout, buffers, dead_remotes)
 * for the running socket; the socket's path, mode, group and request size
 * need a restart. NULL-safe. */
void ctl_apply_limits(struct ctl *c, const struct ocfg_control *cfg);

/* End every streaming request, close the socket and free c. NULL-safe. */
void ctl_stop(struct ctl *c);

/* The control socket's counters (clients, buffers, refusals, cuts), for
 * status and metrics; zeros when c is NULL. */
void ctl_socket_stats(const struct ctl *c, struct octl_stats *st);

/* Feeds for watchers and the dead list; cheap when nobody watches.
 * NULL-safe (events before ctl_start). */
struct calltag_match;
void ctl_on_output(struct ctl *c, const char *operation, const char *plugin, const char *json,
		   const struct calltag_match *m);
void ctl_on_core_event(struct ctl *c, const orbit_event *ev);
void ctl_on_plugin_event(struct ctl *c, const struct lplug_info *p);

/* A command's handler: reads the daemon through daemon.h, answers r. A
 * command kept in a module of its own declares its handler here and gets
 * one line in ctlcmds.c's table. */
typedef void ctl_cmd_fn(struct daemon *d, struct octl_req *r, json_t *args);

struct octl_req;

/* `trace`: stream every protocol message (ctl_trace.c). */
void ctl_cmd_trace(struct daemon *d, struct octl_req *r, json_t *args);

/* `stats` (ctl_stats.c): the document of ctl_stats_json. */
struct octl_req;
void ctl_cmd_stats(struct daemon *d, struct octl_req *r, json_t *args);

#endif
