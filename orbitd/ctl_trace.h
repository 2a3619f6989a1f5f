/* ctl_trace.h — `orbitctl trace`: a live, decoded stream of every protocol
 * message orbitd sends and receives (orbitctl(1) "trace").
 *
 * Sources: the core orbiter and every in-process plugin's orbiter(s), through
 * their protocol observer (orbit/protocol.h), and the isolated plugins'
 * messages as the daemon forwards them (plugproc_set_tap), decoded with
 * orbit_protocol_describe_json. The observers and the tap are set while at
 * least one trace client is attached and removed with the last one, so an
 * untraced daemon pays nothing but a pointer test per message.
 *
 * Each trace client is a streaming control request (the command handler is
 * ctl_cmd_trace, declared in ctlcmds.h); its events go through
 * octl_req_event, so the control socket's per-client buffer bounds it: a
 * slow reader loses events (an "overflow" event counts them), a client that
 * stops reading is cut (control.h).
 *
 * Ownership: the trace clients belong to this module and end when their
 * client goes away (octl_free included). Loop thread only.
 */
#ifndef ORBITD_CTL_TRACE_H
#define ORBITD_CTL_TRACE_H

#include "daemon_internal.h"
#include "loader.h"

/* Told of every plugin state change (daemon.c): while tracing, a plugin
 * that became active in-process gets the observer before its orbiter
 * receives anything. */
void ctl_trace_plugin(struct daemon *d, const struct lplug_info *p);

#endif
