/* daemon_internal.h — the daemon's state, for daemon.c (life cycle) and
 * the modules it wires in; the control commands read it through daemon.h.
 *
 * Ownership: see daemon.h; every pointer here is owned by the daemon.
 */
#ifndef ORBITD_DAEMON_INTERNAL_H
#define ORBITD_DAEMON_INTERNAL_H

#include "daemon.h"
#include "host.h"

#include <orbit/core.h>

struct event_base;
struct loopq;
struct workers;
struct loader;
struct reqs;
struct drain;
struct notifier;
struct metrics;

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
	struct ctl *ctl;           /* the control commands' state (ctlcmds.h), NULL until started */
	struct bustap *tap;        /* debug trace of the core's handshake on bus */
	struct notifier *notify;   /* systemd READY/RELOADING/STOPPING/STATUS */
	struct metrics *metrics;   /* the metrics: endpoint, NULL when off (metrics.h) */
};

#endif
