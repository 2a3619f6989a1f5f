/* daemon_internal.h — the daemon's state, shared by daemon.c (life cycle)
 * and ctlcmds.c (the control commands) and nobody else.
 *
 * Ownership: see daemon.h; every pointer here is owned by the daemon.
 */
#ifndef ORBITD_DAEMON_INTERNAL_H
#define ORBITD_DAEMON_INTERNAL_H

#include "daemon.h"
#include "host.h"

#include <orbit/core.h>

#include <jansson.h>

struct event_base;
struct loopq;
struct workers;
struct loader;
struct reqs;
struct drain;
struct octl;
struct ctl_watch;
struct notifier;
struct metrics;

/* What the status line and `orbitctl status` say, from one snapshot: the
 * core is compliant exactly when every requirement is satisfied, so both are
 * derived from the same per-requirement counts and cannot disagree. */
struct daemon_facts {
	size_t reqs_total, reqs_satisfied;
	bool compliant;
	size_t plugins_active, connections;
};

void daemon_facts(struct daemon *d, struct daemon_facts *f);

struct daemon {
	struct daemon_opts opts;
	struct orbitd_config *cfg;
	struct event_base *base;
	orbit_bus *bus;            /* in-process */
	orbit_bus *mqtt;           /* NULL without an mqtt: section */
	orbit_bus *core_bus;       /* bus, or the dual of bus and mqtt */
	orbit_core *core;
	struct loopq *loopq;
	struct workers *workers;
	struct host_env env;
	struct loader *loader;
	struct reqs *reqs;
	struct event *sig_hup, *sig_term, *sig_int, *watchdog, *log_flush;
	struct drain *stop_drain;
	bool stopping;
	double stop_deadline;      /* orbit_now() + shutdown_timeout at SIGTERM; 0 before */
	int exit_code;
	double started;            /* orbit_now() at start */
	struct {
		bool done, ok;
		double at;
		char *message;
	} last_reload;
	struct octl *ctl;          /* control socket, NULL until started */
	struct ctl_watch *watches; /* orbitctl watch / execute --wait, owned by ctlcmds */
	json_t *dead_remotes;      /* remote plugin id -> orbit_now() it was declared dead */
	struct bustap *tap;        /* debug trace of the core's handshake on bus */
	struct notifier *notify;   /* systemd READY/RELOADING/STOPPING/STATUS */
	struct metrics *metrics;   /* the metrics: endpoint, NULL when off (metrics.h) */
};

#endif
