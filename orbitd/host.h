/* host.h — one loaded plugin: its plugin orbiter on the in-process bus, the
 * orbit_host_api table its code calls, its timers, fd watches and blocking
 * calls on the worker pool (DESIGN §3 "Plugin ABI", "Threads").
 *
 * Ownership: an orbit_host owns its orbiter, specs, timers, watches and its
 * plugin config (struct plugcfg); it borrows the descriptor (static data of a .so that
 * is never dlclose'd) and the environment (the daemon's, outliving it).
 * host_release() may outlive the call: the plugin's shutdown hook runs and
 * the host's resources are freed once its last blocking call has come back.
 * From release on, posts are refused (-ESHUTDOWN) and queued ones dropped
 * unrun. The struct the plugin was handed is never freed: it stays as a
 * small tombstone, so a plugin thread calling post() or log() late is safe
 * (host.c explains why).
 */
#ifndef ORBITD_HOST_H
#define ORBITD_HOST_H

#include "config.h"

#include <orbit/plugin.h>
#include <orbit/lender.h>

struct event_base;
struct plugcfg;
struct loopq;
struct workers;

/* What every host shares; owned by the daemon. */
struct host_env {
	struct event_base *base;
	orbit_bus *bus;              /* the in-process bus */
	orbit_bus *mqtt;             /* NULL without an mqtt: section */
	const char *core_id;         /* the daemon's own core, kept off exported instances */
	struct loopq *loopq;
	struct workers *workers;
	orbit_timers timers;
	const char *discover_topic;
	/* Told on the loop thread when a handler has returned (rc: its result;
	 * replied: it answered the call), for orbitd --try; NULL in the daemon,
	 * which logs failures itself. */
	void (*on_call_done)(void *ctx, const char *operation, int rc, bool replied);
	void *on_call_done_ctx;
	/* Told on the thread that runs a handler, right before it is called
	 * (op: its index in the descriptor's table) and right after it
	 * returned: the plugin process marks the slot its supervisor reads
	 * (plugproc.h). NULL in the daemon. Must not block or allocate. */
	void (*call_begin)(void *ctx, size_t op);
	void (*call_end)(void *ctx);
	void *call_hook_ctx;
};

/* Check a descriptor before any of its code runs: magic, ABI major (an
 * ABI 1 plugin is told to rebuild), the minor it needs, struct sizes, name,
 * operations (names, kinds, schemas, handlers, policies) and its config map
 * (plugcfg_check_map). Reserved members are ignored (newer minors may use
 * them). 0, or -EINVAL with *why malloc'd ("duplicate operation 'x'"). */
int host_validate(const orbit_plugin_desc *d, char **why);

/* Build the plugin config of a validated descriptor from its section
 * plugins.NAME.config of cfg (cfg NULL or no section: defaults only; a
 * missing required key is then reported at the section, or at cfg's main
 * file). 0 and *out (caller owns), or -EINVAL with *err malloc'd
 * "FILE:LINE:COLUMN: key 'plugins.NAME.config.KEY': ...", or -ENOMEM. */
int host_build_config(const orbit_plugin_desc *d, const struct orbitd_config *cfg,
		      struct plugcfg **out, char **err);

/* Build the plugin orbiter of a validated descriptor with its operations and
 * their effective policies (pcfg's overrides, NULL for none), give it config
 * (from host_build_config; taken over, also on failure), then call the
 * plugin's init. A plugin marked `export:` gets a second orbiter of the same
 * name on the MQTT bus, for remote cores (our own core is kept off it: it
 * reaches the plugin in-process); both share the plugin's handlers and state,
 * and a policy's maximum applies to each bus on its own.
 * NULL with *why malloc'd ("init failed: Input/output error"). */
orbit_host *host_new(const struct host_env *env, const orbit_plugin_desc *d,
		      const struct ocfg_plugin *pcfg, struct plugcfg *config, char **why);

/* Start the orbiter, then the plugin's start hook. 0 or -errno (*why set). */
int host_start(orbit_host *h, char **why);

/* Apply a new per-plugin section (NULL = none): policies (connections no
 * longer admitted are closed gracefully) and config (built and checked by
 * host_build_config before the reload committed; taken over; NULL: keep the
 * current one). When its values differ (plugcfg_equal) the host swaps it in
 * and calls the reload hook; a failing hook gets the old values back. 0, or
 * -errno with *why malloc'd (the plugin keeps running with what it had). */
int host_reconfigure(orbit_host *h, const struct ocfg_plugin *pcfg, struct plugcfg *config,
		     char **why);

/* Begin closing every connection gracefully. */
void host_close_all(orbit_host *h);

/* Open connections (soft-closed ones included). */
size_t host_connections(const orbit_host *h);

/* The orbiter on the in-process bus / the exported one on MQTT (NULL when
 * not exported). Owned by the host. */
orbit_lender *host_orbiter(orbit_host *h);
orbit_lender *host_remote_orbiter(orbit_host *h);

/* The descriptor (the plugin's static data) and the checked config
 * (plugcfg.h) the accessors answer with now: owned by the host, replaced by
 * a reload (do not keep it past the current loop callback); a plugin that
 * takes no config has one without keys. */
const orbit_plugin_desc *host_desc(const orbit_host *h);
const struct plugcfg *host_plugcfg(const orbit_host *h);

/* One operation as the host runs it, for orbitctl. Borrowed from the host. */
struct host_op_info {
	const char *name;
	const char *doc;     /* the plugin's one line, or NULL */
	const orbit_spec *input, *output;
	bool blocking;
	orbit_plugin_policy policy; /* effective: the plugin's default under pcfg's
				     * override; lists borrowed from both */
	size_t connections;
	double timeout;             /* run limits in force (config.h) */
	unsigned max_inflight;
	size_t inflight;            /* calls admitted now (queued or running) */
	uint64_t dropped;           /* inputs dropped at max_inflight since load */
};

size_t host_op_count(const orbit_host *h);

/* Fill *info for operation i (< host_op_count) under pcfg (NULL: none).
 * The policy's lists borrow from the descriptor or pcfg. 0 or -ENOMEM. */
int host_op_info(orbit_host *h, size_t i, const struct ocfg_plugin *pcfg,
		 struct host_op_info *info);

/* The spec of one payload of a validated descriptor's operation (what
 * host_op_info reports), for a plugin hosted in another process. 0, or
 * -errno with *why malloc'd. */
int host_io_spec(const orbit_io *io, orbit_spec *s, char **why);

/* An operation's effective policy: the plugin's default (maximum 0: no
 * limit) under the override ov (NULL: none). Lists borrowed from both. */
orbit_plugin_policy host_effective_policy(const orbit_plugin_op *op, const struct ocfg_policy *ov);

/* Stop the orbiter (graceless for what is still open), silence the plugin's
 * timers and watches, refuse its posts from now on (any thread) and drop
 * those still queued; once no blocking call is in flight the shutdown hook
 * runs, what it left of timers and watches is cancelled and the host's
 * resources are freed (all but the tombstone). Loop thread. NULL-safe; a
 * second call does nothing. */
void host_release(orbit_host *h);

#endif
