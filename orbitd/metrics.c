/* metrics.c — see metrics.h. One function per group of families, called
 * in the order of `groups[]`; a new group (the engine's statistics, say) is
 * one more function and one more line there. Every family is written whole
 * (its samples together), so a group that needs the plugins walks them once
 * per family: a few dozen plugins at most, on a scrape every few seconds.
 *
 * Plugin series carry both the plugin's name and its file: two files can
 * claim one name (the second is rejected), and a family must not repeat a
 * label set.
 */
#include "metrics.h"
#include "ctlcmds.h"
#include "control.h"
#include "loader.h"
#include "log.h"
#include "metrics_engine.h"
#include "metricsrv.h"
#include "plugproc.h"
#include "promtext.h"

#include <orbit/core.h>
#include <orbit/mqtt_bus.h>

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct metrics {
	struct msrv *srv;
	char *host; /* the bound address, to tell a rebind from a reconfigure */
	int port;
};

#define L(...) ((const char *const[]){__VA_ARGS__, NULL})

/* ---- the daemon ------------------------------------------------------- */

static void group_daemon(struct daemon *d, struct prom *p)
{
	struct daemon_facts f;
	struct timespec rt;
	daemon_facts(d, &f);
	clock_gettime(CLOCK_REALTIME, &rt);
	double up = orbit_now() - d->started;

	prom_family(p, "orbitd_build", PROM_INFO, "orbitd's version and core identifier.");
	prom_sample(p, L("version", ORBIT_VERSION, "identifier",
			 orbit_orbiter_id(orbit_core_orbiter(d->core))), 1);
	prom_single(p, "orbitd_start_time_seconds", PROM_GAUGE,
		    "When orbitd started, in seconds since the Unix epoch.",
		    (double)rt.tv_sec + rt.tv_nsec / 1e9 - up);
	prom_single(p, "orbitd_compliant", PROM_GAUGE,
		    "1 when every requirement is satisfied, else 0.", f.compliant);
	prom_single(p, "orbitd_config_last_reload_successful", PROM_GAUGE,
		    "0 when the last reload was refused (the previous configuration runs), else 1.",
		    !d->last_reload.done || d->last_reload.ok);
}

/* ---- requirements ----------------------------------------------------- */

enum req_what { REQ_SATISFIED, REQ_CONNECTED, REQ_PENDING, REQ_MINIMUM, REQ_MAXIMUM };

static void group_requirements(struct daemon *d, struct prom *p)
{
	static const struct {
		const char *name, *help;
	} fam[] = {
		[REQ_SATISFIED] = {"orbitd_requirement_satisfied",
				   "1 when the requirement of the operation is satisfied, else 0."},
		[REQ_CONNECTED] = {"orbitd_requirement_connections",
				   "The core's connections for the operation."},
		[REQ_PENDING] = {"orbitd_requirement_pending",
				 "The core's handshakes in progress for the operation."},
		[REQ_MINIMUM] = {"orbitd_requirement_minimum",
				 "Connections the requirement needs (mandatory plugins apart)."},
		[REQ_MAXIMUM] = {"orbitd_requirement_maximum",
				 "Connections the requirement allows; absent when unlimited."},
	};
	for (size_t w = 0; w < sizeof fam / sizeof fam[0]; w++) {
		prom_family(p, fam[w].name, PROM_GAUGE, fam[w].help);
		/* In the order the configuration lists them. */
		for (size_t i = 0; i < d->cfg->n_reqs; i++) {
			orbit_requirement_status st;
			if (orbit_core_requirement_status(d->core, d->cfg->reqs[i].operation, &st))
				continue;
			double v = w == REQ_SATISFIED ? st.satisfied
				 : w == REQ_CONNECTED ? (double)st.connected
				 : w == REQ_PENDING   ? (double)st.pending
				 : w == REQ_MINIMUM   ? st.minimum
						      : st.maximum;
			if (w == REQ_MAXIMUM && st.maximum < 0)
				continue;
			prom_sample(p, L("operation", st.operation), v);
		}
	}
}

/* ---- plugins ---------------------------------------------------------- */

enum plug_what {
	PLUG_STATE,
	PLUG_INFO,
	PLUG_RESTARTS,
	PLUG_CRASHES,
	OP_CONNECTIONS,
	OP_INFLIGHT,
	OP_MAX_INFLIGHT,
	OP_DROPPED,
	PLUG_N
};

static const struct {
	const char *name;
	enum prom_type type;
	const char *help;
} plug_fam[PLUG_N] = {
	[PLUG_STATE] = {"orbitd_plugin_state", PROM_GAUGE,
			"1 for the plugin's current state (active, rejected, disabled, removing, "
			"restarting, failed), 0 for the others."},
	[PLUG_INFO] = {"orbitd_plugin", PROM_INFO,
		       "A plugin file: its version and isolation (process, none; empty when not "
		       "running)."},
	[PLUG_RESTARTS] = {"orbitd_plugin_restarts", PROM_COUNTER,
			   "Restarts of an isolated plugin's process."},
	[PLUG_CRASHES] = {"orbitd_plugin_crashes", PROM_COUNTER,
			  "Crashes of an isolated plugin's process (unexpected exits, missed "
			  "liveness, timeouts)."},
	[OP_CONNECTIONS] = {"orbitd_plugin_operation_connections", PROM_GAUGE,
			    "Connections of a plugin's operation (cores it lends it to)."},
	[OP_INFLIGHT] = {"orbitd_plugin_operation_inflight", PROM_GAUGE,
			 "Calls of the operation's handler admitted now (queued or running)."},
	[OP_MAX_INFLIGHT] = {"orbitd_plugin_operation_max_inflight", PROM_GAUGE,
			     "Calls admitted at once before inputs are dropped (max_inflight)."},
	[OP_DROPPED] = {"orbitd_plugin_operation_dropped", PROM_COUNTER,
			"Inputs dropped at max_inflight since the plugin was loaded."},
};

struct plug_walk {
	struct daemon *d;
	struct prom *p;
	enum plug_what what;
};

static const char *plug_label(const struct lplug_info *pl)
{
	return pl->name ? pl->name : pl->file;
}

static void plug_ops(struct plug_walk *w, const struct lplug_info *pl)
{
	const struct ocfg_plugin *pcfg =
		pl->name ? orbitd_config_find_plugin(w->d->cfg, pl->name) : NULL;
	const orbit_plugin_desc *desc = lplug_desc(pl);
	if (!pl->host && !pl->proc)
		return;
	for (size_t i = 0; desc && i < desc->n_ops; i++) {
		struct host_op_info oi;
		int rc = lplug_op_info(pl, i, pcfg, &oi);
		if (rc)
			continue;
		double v = w->what == OP_CONNECTIONS ? (double)oi.connections
			 : w->what == OP_INFLIGHT    ? (double)oi.inflight
			 : w->what == OP_MAX_INFLIGHT ? oi.max_inflight
						      : (double)oi.dropped;
		prom_sample(w->p, L("plugin", plug_label(pl), "file", pl->file, "operation", oi.name),
			    v);
	}
}

static int plug_sample(void *ctx, const struct lplug_info *pl)
{
	struct plug_walk *w = ctx;
	const char *const *who = L("plugin", plug_label(pl), "file", pl->file);

	switch (w->what) {
	case PLUG_STATE:
		for (enum lplug_state s = LPLUG_ACTIVE; s <= LPLUG_FAILED; s++)
			prom_sample(w->p, L("plugin", plug_label(pl), "file", pl->file, "state",
					    lplug_state_name(s)),
				    pl->state == s);
		break;
	case PLUG_INFO:
		prom_sample(w->p, L("plugin", plug_label(pl), "file", pl->file, "version",
				    pl->version ? pl->version : "", "isolation",
				    pl->host ? "none" : pl->proc ? "process" : ""),
			    1);
		break;
	case PLUG_RESTARTS:
	case PLUG_CRASHES:
		if (pl->proc)
			prom_sample(w->p, who, w->what == PLUG_RESTARTS ? plugproc_restarts(pl->proc)
									: plugproc_crashes(pl->proc));
		break;
	default:
		plug_ops(w, pl);
	}
	return 0;
}

static void group_plugins(struct daemon *d, struct prom *p)
{
	struct plug_walk w = {d, p, 0};
	for (w.what = 0; w.what < PLUG_N; w.what++) {
		prom_family(p, plug_fam[w.what].name, plug_fam[w.what].type, plug_fam[w.what].help);
		loader_foreach(d->loader, plug_sample, &w);
	}
}

/* ---- connections ------------------------------------------------------ */

/* Connections by operation, counted into a JSON object (operation ->
 * integer) so each (side, operation) is one series. */
static void count_op(json_t *by_op, const char *op, size_t n)
{
	json_t *v = json_object_get(by_op, op);
	if (v)
		json_integer_set(v, json_integer_value(v) + (json_int_t)n);
	else
		json_object_set_new(by_op, op, json_integer((json_int_t)n));
}

static int core_conn(void *ctx, const orbit_conn_info *ci)
{
	count_op(ctx, ci->operation, 1);
	return 0;
}

struct side_walk {
	struct daemon *d;
	json_t *by_op;
	size_t pending;
};

static int plugin_side(void *ctx, const struct lplug_info *pl)
{
	struct side_walk *w = ctx;
	const orbit_plugin_desc *desc = lplug_desc(pl);
	const struct ocfg_plugin *pcfg =
		pl->name ? orbitd_config_find_plugin(w->d->cfg, pl->name) : NULL;
	if (!pl->host && !pl->proc)
		return 0;
	for (size_t i = 0; desc && i < desc->n_ops; i++) {
		struct host_op_info oi;
		if (lplug_op_info(pl, i, pcfg, &oi) == 0)
			count_op(w->by_op, oi.name, oi.connections);
	}
	if (pl->proc) {
		json_t *l = plugproc_list_json(pl->proc, "pending", orbit_now());
		w->pending += json_array_size(l);
		json_decref(l);
	} else {
		orbit_lender *inst[] = {host_orbiter(pl->host), host_remote_orbiter(pl->host)};
		for (size_t i = 0; i < 2; i++)
			if (inst[i])
				w->pending += orbit_orbiter_pending_count(
					orbit_lender_orbiter(inst[i]));
	}
	return 0;
}

static void by_op_samples(struct prom *p, const char *side, json_t *by_op)
{
	const char *op;
	json_t *n;
	json_object_foreach(by_op, op, n)
		prom_sample(p, L("side", side, "operation", op), (double)json_integer_value(n));
}

static void group_connections(struct daemon *d, struct prom *p)
{
	orbit_orbiter *co = orbit_core_orbiter(d->core);
	json_t *core = json_object();
	struct side_walk plug = {d, json_object(), 0};
	if (!core || !plug.by_op)
		goto out;
	orbit_orbiter_foreach_connection(co, core_conn, core);
	loader_foreach(d->loader, plugin_side, &plug);
	prom_family(p, "orbitd_connections", PROM_GAUGE,
		    "Open connections by side (core: orbitd's requirements; plugin: its plugins "
		    "lending to cores) and operation.");
	by_op_samples(p, "core", core);
	by_op_samples(p, "plugin", plug.by_op);
	prom_family(p, "orbitd_pending", PROM_GAUGE, "Handshakes in progress by side.");
	prom_sample(p, L("side", "core"), (double)orbit_orbiter_pending_count(co));
	prom_sample(p, L("side", "plugin"), (double)plug.pending);
out:
	json_decref(core);
	json_decref(plug.by_op);
}

/* ---- control socket, MQTT bus, this endpoint ------------------------- */

static void group_control(struct daemon *d, struct prom *p)
{
	struct octl_stats cs;
	ctl_socket_stats(d->ctl, &cs);
	prom_single(p, "orbitd_control_clients", PROM_GAUGE,
		    "Control socket clients connected.", (double)cs.clients);
	prom_single(p, "orbitd_control_buffered_bytes", PROM_GAUGE,
		    "Output owed to control clients, not yet sent.", (double)cs.buffered);
	prom_single(p, "orbitd_control_refused", PROM_COUNTER,
		    "Control connections refused at control.max_clients.", (double)cs.refused);
	prom_single(p, "orbitd_control_idle_closed", PROM_COUNTER,
		    "Control clients closed after control.idle_timeout.", (double)cs.idle_closed);
	prom_single(p, "orbitd_control_slow_cut", PROM_COUNTER,
		    "Control clients cut for reading too slowly (client_buffer, total_buffer).",
		    (double)cs.cut);
}

static void group_mqtt(struct daemon *d, struct prom *p)
{
	orbit_mqtt_counters mc;
	if (!d->mqtt)
		return; /* no mqtt: section, no MQTT families */
	orbit_mqtt_bus_counters(d->mqtt, &mc);
	prom_single(p, "orbitd_mqtt_connected", PROM_GAUGE,
		    "1 while the MQTT session with the broker is established, else 0.",
		    orbit_mqtt_bus_connected(d->mqtt));
	prom_single(p, "orbitd_mqtt_connects", PROM_COUNTER,
		    "MQTT sessions established.", (double)mc.connects);
	prom_single(p, "orbitd_mqtt_published", PROM_COUNTER,
		    "Envelopes handed to the MQTT session.", (double)mc.published);
	prom_single(p, "orbitd_mqtt_received", PROM_COUNTER,
		    "PUBLISH packets received from the broker.", (double)mc.received);
	prom_single(p, "orbitd_mqtt_dropped_malformed", PROM_COUNTER,
		    "Messages received that were not a decodable envelope.",
		    (double)mc.dropped_malformed);
	prom_single(p, "orbitd_mqtt_queued", PROM_GAUGE,
		    "Publishes held now (offline, or waiting for a subscription).",
		    (double)mc.queued);
}

static void group_endpoint(struct daemon *d, struct prom *p)
{
	struct msrv_stats st;
	msrv_stats(d->metrics->srv, &st);
	prom_single(p, "orbitd_metrics_connections", PROM_GAUGE,
		    "Connections to this endpoint now.", (double)st.connections);
	prom_single(p, "orbitd_metrics_scrapes", PROM_COUNTER,
		    "Requests answered with metrics, this one included.", (double)st.scrapes);
	prom_single(p, "orbitd_metrics_refused", PROM_COUNTER,
		    "Connections closed at metrics.max_connections.", (double)st.refused);
	prom_single(p, "orbitd_metrics_oversize", PROM_COUNTER,
		    "Requests closed for exceeding metrics.max_request.", (double)st.oversize);
	prom_single(p, "orbitd_metrics_timed_out", PROM_COUNTER,
		    "Clients closed after metrics.timeout, stalled or silent.",
		    (double)st.timed_out);
}

static void (*const groups[])(struct daemon *d, struct prom *p) = {
	group_daemon, group_requirements, group_plugins, group_connections,
	metrics_engine_group, group_control, group_mqtt, group_endpoint,
};

static void render(void *ctx, struct prom *p)
{
	for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
		groups[i](ctx, p);
}

/* ---- life ------------------------------------------------------------- */

static struct msrv_limits limits_of(const struct ocfg_metrics *m)
{
	return (struct msrv_limits){m->max_connections, m->max_request, m->timeout};
}

int metrics_apply(struct daemon *d, const struct ocfg_metrics *m, char **err)
{
	struct metrics *cur = d->metrics;
	struct msrv_limits lim = limits_of(m);
	*err = NULL;

	if (!m->enabled) {
		if (cur)
			olog(LOG_NOTICE, "metrics: endpoint closed (no metrics: section)");
		metrics_stop(d);
		return 0;
	}
	if (cur && !strcmp(cur->host, m->host) && cur->port == m->port)
		return msrv_reconfigure(cur->srv, m->path, &lim);

	struct metrics *n = calloc(1, sizeof *n);
	if (!n || !(n->host = strdup(m->host))) {
		free(n);
		*err = strdup("metrics: out of memory");
		return -ENOMEM;
	}
	n->port = m->port;
	/* Bound before the old one closes: a failure keeps it. The endpoint's
	 * own group reads d->metrics, which is the one serving at any time. */
	if (!(n->srv = msrv_new(d->base, m->host, m->port, m->path, &lim, render, d, err))) {
		free(n->host);
		free(n);
		return -EADDRNOTAVAIL;
	}
	metrics_stop(d);
	d->metrics = n;
	return 0;
}

void metrics_stop(struct daemon *d)
{
	struct metrics *m = d->metrics;
	if (!m)
		return;
	msrv_free(m->srv);
	free(m->host);
	free(m);
	d->metrics = NULL;
}
