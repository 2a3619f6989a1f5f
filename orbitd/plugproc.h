/* plugproc.h — one plugin in its own supervised process (isolation:
 * process): the daemon's side.
 *
 * The daemon forks; the child (plugchild.h) sandboxes itself, calls the
 * plugin's init and start and runs the plugin's orbiter on a bus bridged to
 * the daemon's buses over one socket (link.h, linkbus.h). This side makes
 * the child's subscriptions on the daemon's in-process bus (and MQTT bus for
 * an exported plugin), forwards what they receive, and publishes what the
 * child publishes: the handshake, keepalives and policies are those of any
 * other orbiter, and the daemon stays single-threaded.
 *
 * Supervision: the child is watched through a pidfd; its liveness through
 * pings on the link (liveness_timeout); its handlers through the shared
 * slots (plugslots.h) against each operation's timeout. A crash, an exit,
 * a closed socket, a malformed frame, a hang: each is named in the reason
 * ("killed by SIGSEGV while handling boom"), the process group is killed,
 * and the plugin is restarted after an exponential back-off, or marked
 * failed after restart.max_crashes crashes within restart.window, until
 * plugproc_restart (orbitctl plugin restart), a reload or a new file.
 *
 * Ownership: a plugproc owns its process, link, subscriptions and the
 * plugin config given to it; it borrows the env (the daemon's), the
 * descriptor (a .so the daemon keeps mapped) and the config sections given
 * to plugproc_new / plugproc_reconfigure, which must stay alive until the
 * next plugproc_reconfigure (the loader's rule for configs). Loop thread.
 */
#ifndef ORBITD_PLUGPROC_H
#define ORBITD_PLUGPROC_H

#include "config.h"
#include "host.h"

#include <orbit/protocol.h>

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct plugproc;
struct plugcfg;

enum plugproc_state {
	PLUGPROC_STARTING,   /* forked, init/start not done yet */
	PLUGPROC_RUNNING,    /* READY received */
	PLUGPROC_RESTARTING, /* died; back-off running (reason: why it died) */
	PLUGPROC_FAILED,     /* too many crashes: waits for plugproc_restart */
	PLUGPROC_REFUSED,    /* init or start returned an error (not restarted) */
};

/* Told after every state change (reason: plugproc_reason). */
typedef void (*plugproc_state_fn)(void *ctx, struct plugproc *pp);

/* Fork the plugin process for the validated descriptor d. pcfg: its
 * section (NULL: none); config: built by host_build_config (taken over);
 * cfg: for the per-operation run limits and isolation settings of d->name.
 * The state callback runs for every later change, never from inside this
 * call. NULL with *why malloc'd when not even the fork could be done. */
struct plugproc *plugproc_new(const struct host_env *env, const orbit_plugin_desc *d,
			      const struct ocfg_plugin *pcfg, struct plugcfg *config,
			      const struct orbitd_config *cfg, plugproc_state_fn fn, void *ctx,
			      char **why);

enum plugproc_state plugproc_state(const struct plugproc *pp);
const char *plugproc_state_name(enum plugproc_state s);

/* Why it is not running, or the last crash while it runs again; NULL when
 * it never crashed. Owned by pp. */
const char *plugproc_reason(const struct plugproc *pp);

/* The child's pid (0 when none runs), restarts so far, crashes within the
 * window, and seconds until the next restart (< 0: none planned). */
pid_t plugproc_pid(const struct plugproc *pp);
unsigned plugproc_restarts(const struct plugproc *pp);
unsigned plugproc_crashes(const struct plugproc *pp);
double plugproc_restart_in(const struct plugproc *pp);

/* The identifier of its orbiter(s). */
const char *plugproc_identifier(const struct plugproc *pp);

/* Kill the running process (if any) and start a fresh one now, with a new
 * crash window: what `orbitctl plugin restart` does. */
void plugproc_restart(struct plugproc *pp);

/* New section and config after a reload (borrowed / taken over as for
 * plugproc_new; config NULL: keep the current one). The running process
 * gets the policies and config values (its reload hook runs when they
 * differ); limits and isolation settings apply from the next start. A
 * failed plugin is started again. 0 or -errno with *why malloc'd. */
int plugproc_reconfigure(struct plugproc *pp, const struct ocfg_plugin *pcfg,
			 struct plugcfg *config, const struct orbitd_config *cfg, char **why);

/* Begin closing every connection of the plugin gracefully. */
void plugproc_close_all(struct plugproc *pp);

/* Does its last report list a connection with remote for operation? */
bool plugproc_has_connection(const struct plugproc *pp, const char *remote, const char *operation);

/* Ask the process to close its connection with remote for operation
 * (gracefully or not). 0, -ENOENT when its last report lists no such
 * connection, -ENOTCONN when no process runs, or link_send_close's. */
int plugproc_close(struct plugproc *pp, const char *remote, const char *operation, bool graceful);

/* Connections the plugin reported last (0 when no process runs). */
size_t plugproc_connections(const struct plugproc *pp);

/* The descriptor and the config values (for orbitctl); owned by pp. */
const orbit_plugin_desc *plugproc_desc(const struct plugproc *pp);
const struct plugcfg *plugproc_plugcfg(const struct plugproc *pp);

/* Operation i of the descriptor as the process runs it (host.h's struct;
 * connections and counters as last reported). pcfg as for host_op_info. */
int plugproc_op_info(struct plugproc *pp, size_t i, const struct ocfg_plugin *pcfg,
		     struct host_op_info *info);

/* The last report's connections ("connections") and pending requests
 * ("pending") as orbitctl lists them: each {"local", "remote", "operation",
 * ...} with times already relative to now. New reference (an empty array
 * when nothing is known). */
struct json_t *plugproc_list_json(const struct plugproc *pp, const char *what, double now);

/* The plugin orbiters' stats (orbit/stats.h) as the process last reported
 * them: {"local": snapshot, "mqtt": snapshot (exported only)}, checked
 * when it came. Kept after the process died (what it counted until then)
 * until a new process reports. Borrowed; NULL before the first report. */
struct json_t *plugproc_stats(const struct plugproc *pp);

/* Stop the plugin: STOP to the process (its shutdown hook runs), SIGKILL to
 * its process group if it has not exited after timeout seconds. pp is
 * freed once the process is reaped (or at once when none runs); no
 * callback runs any more. NULL-safe. */
void plugproc_release(struct plugproc *pp, double timeout);

/* A look at the messages the plugin processes exchange through the
 * daemon (orbitctl trace): plugin is the plugin's name, identifier its
 * orbiter's; dir is the plugin's view (a publish of the process is SENT, a
 * message forwarded to it RECEIVED); bus 0 is the in-process bus, 1 MQTT;
 * rc is the publish's result, 0 for a forwarded one. Everything borrowed
 * for the call. Every message is shown, payload messages included: the
 * daemon does not know which topics are protocol ones. */
typedef void (*plugproc_tap_fn)(void *ctx, const char *plugin, const char *identifier,
				orbit_direction dir, unsigned bus, const char *topic, const orbit_payload *p,
				int rc);

/* Call fn(ctx, ...) for every message of every plugin process from now on;
 * fn NULL stops it (the cost is then one pointer test per message). One tap
 * for all plugin processes. */
void plugproc_set_tap(plugproc_tap_fn fn, void *ctx);

/* At daemon exit, after every plugproc_release: wait at most timeout
 * seconds (blocking: the loop is done) for the processes still stopping,
 * SIGKILL what remains, reap everything. */
void plugproc_reap_all(double timeout);

#endif
