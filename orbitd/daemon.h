/* daemon.h — one running orbitd: the loop, the in-process bus, the core, the
 * plugin loader, the requirements, reload and shutdown (DESIGN §3 "Service").
 *
 * Ownership: the daemon owns everything it creates, including the config it
 * was given (daemon_new takes it) and every config a reload loads.
 */
#ifndef ORBITD_DAEMON_H
#define ORBITD_DAEMON_H

#include "config.h"

#include <orbit/core.h>

#include <stdbool.h>

struct daemon;
struct event_base;
struct loader;
struct reqs;
struct ctl;

/* Command-line settings that win over the files, kept across reloads. */
struct daemon_opts {
	const char *config_path;  /* NULL: the built-in configuration */
	const char *plugin_dir;   /* -p, NULL: plugins.dir */
	const char *socket;       /* -s, NULL: control.socket */
	int log_level;            /* -l, < 0: log.level */
};

/* Load the configuration per opts (NULL + *err malloc'd on failure, e.g.
 * "orbitd.yaml:3:7: key 'x': ..."); the overrides of opts are applied. */
struct orbitd_config *daemon_load_config(const struct daemon_opts *opts, char **err);

/* Build the daemon on cfg (taken over, even on failure), load and start the
 * plugins, apply the requirements, start the core. NULL with *err malloc'd
 * when start-up must fail (bad sink, required plugin missing, ...). */
struct daemon *daemon_new(const struct daemon_opts *opts, struct orbitd_config *cfg, char **err);

/* Run until shut down. Returns the process exit status. */
int daemon_run(struct daemon *d);

/* Reload the configuration now (what SIGHUP does). 0, or -errno with *err
 * malloc'd saying why the running configuration was kept. *changes (if
 * non-NULL) gets a malloc'd summary of what changed. */
int daemon_reload(struct daemon *d, char **changes, char **err);

/* Begin the graceful shutdown (what SIGTERM does); daemon_run returns once
 * connections are closed or timers.shutdown_timeout passed. */
void daemon_shutdown(struct daemon *d);

void daemon_free(struct daemon *d);

/* ---- what the control commands (ctlcmds.h) read ---------------------- */

/* One snapshot for the status line and `orbitctl status`: the core is
 * compliant exactly when every requirement is satisfied, so both are
 * derived from the same per-requirement counts and cannot disagree. */
struct daemon_facts {
	size_t reqs_total, reqs_satisfied;
	bool compliant;
	size_t plugins_active, connections;
	double uptime;                /* seconds since start */
	bool mqtt_enabled, mqtt_connected;
	bool reload_done, reload_ok;  /* the last reload, if any */
	double reload_age;            /* seconds since it */
	const char *reload_message;   /* owned by d, valid until the next reload */
};

void daemon_facts(struct daemon *d, struct daemon_facts *f);

/* The daemon's parts, borrowed (owned by d, valid until daemon_free; the
 * config until the next reload). */
struct event_base *daemon_base(struct daemon *d);
const struct orbitd_config *daemon_config(struct daemon *d);
const struct daemon_opts *daemon_opts(struct daemon *d);
orbit_core *daemon_core(struct daemon *d);
struct loader *daemon_loader(struct daemon *d);
struct reqs *daemon_reqs(struct daemon *d);

/* The control commands' own state (ctl_start's), NULL before it. */
struct ctl *daemon_ctl(struct daemon *d);

#endif
