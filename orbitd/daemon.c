/* daemon.c — see daemon.h.
 *
 * Start-up order: loop and bus → worker pool → plugins (loaded and started,
 * so they listen before the core first discovers) → requirements → core →
 * READY. Shutdown: STOPPING → schedules off → the core closes its
 * connections gracefully → the plugins close what remains (remote cores) →
 * bounded by timers.shutdown_timeout → everything stopped, plugin shutdown
 * hooks, exit 0.
 */
#include "daemon.h"
#include "daemon_internal.h"
#include "bustap.h"
#include "ctl_trace.h"
#include "ctlcmds.h"
#include "drain.h"
#include "link.h"
#include "loader.h"
#include "strfmt.h"
#include "log.h"
#include "loopq.h"
#include "metrics.h"
#include "notify.h"
#include "plugproc.h"
#include "reqs.h"
#include "sink.h"
#include "workers.h"

#include <orbit/core.h>
#include <orbit/log.h>
#include <orbit/mqtt_bus.h>

#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef ORBIT_SYSCONFDIR
#define ORBIT_SYSCONFDIR "/usr/local/etc"
#endif

#define WORKER_THREADS 4


static int replace_str(char **slot, const char *v)
{
	char *c = strdup(v);
	if (!c)
		return -ENOMEM;
	free(*slot);
	*slot = c;
	return 0;
}

struct orbitd_config *daemon_load_config(const struct daemon_opts *opts, char **err)
{
	struct orbitd_config *cfg = NULL;
	int rc;
	*err = NULL;
	if (opts->config_path)
		rc = orbitd_config_load(opts->config_path, &cfg, err);
	else if (access(ORBIT_SYSCONFDIR "/orbitd/orbitd.yaml", F_OK) == 0)
		rc = orbitd_config_load(ORBIT_SYSCONFDIR "/orbitd/orbitd.yaml", &cfg, err);
	else
		rc = orbitd_config_load_string(orbitd_config_default_yaml, "<built-in>", NULL, &cfg,
					       err);
	if (rc < 0) {
		if (!*err)
			*err = strfmt("cannot load the configuration: %s", strerror(-rc));
		return NULL;
	}
	if ((opts->plugin_dir && replace_str(&cfg->plugins.dir, opts->plugin_dir) < 0) ||
	    (opts->socket && replace_str(&cfg->control.socket, opts->socket) < 0)) {
		orbitd_config_free(cfg);
		*err = strfmt("out of memory");
		return NULL;
	}
	if (opts->log_level >= 0)
		cfg->log_level = opts->log_level;
	return cfg;
}

/* ---- status ----------------------------------------------------------- */

struct count {
	size_t total, satisfied;
};

static int count_req(void *ctx, const orbit_requirement_status *st)
{
	struct count *c = ctx;
	c->total++;
	c->satisfied += st->satisfied;
	return 0;
}

static int count_active(void *ctx, const struct lplug_info *p)
{
	size_t *n = ctx;
	*n += p->state == LPLUG_ACTIVE;
	return 0;
}

void daemon_facts(struct daemon *d, struct daemon_facts *f)
{
	struct count c = {0};
	*f = (struct daemon_facts){0};
	/* Not the core's cached compliance flag: it is updated after the
	 * connection events that change the counts, so reading both in one of
	 * those events gave "not compliant: 6/6". */
	orbit_core_foreach_requirement(d->core, count_req, &c);
	loader_foreach(d->loader, count_active, &f->plugins_active);
	f->reqs_total = c.total;
	f->reqs_satisfied = c.satisfied;
	f->compliant = c.satisfied == c.total;
	f->connections = orbit_orbiter_connection_count(orbit_core_orbiter(d->core));
	f->uptime = orbit_now() - d->started;
	f->mqtt_enabled = d->mqtt != NULL;
	f->mqtt_connected = orbit_mqtt_bus_connected(d->mqtt);
	f->reload_done = d->last_reload.done;
	f->reload_ok = d->last_reload.ok;
	f->reload_age = orbit_now() - d->last_reload.at;
	f->reload_message = d->last_reload.message ? d->last_reload.message : "";
}

struct event_base *daemon_base(struct daemon *d)
{
	return d->base;
}

const struct orbitd_config *daemon_config(struct daemon *d)
{
	return d->cfg;
}

const struct daemon_opts *daemon_opts(struct daemon *d)
{
	return &d->opts;
}

orbit_core *daemon_core(struct daemon *d)
{
	return d->core;
}

struct loader *daemon_loader(struct daemon *d)
{
	return d->loader;
}

struct reqs *daemon_reqs(struct daemon *d)
{
	return d->reqs;
}

struct ctl *daemon_ctl(struct daemon *d)
{
	return d->ctl;
}

static void render_status(void *ctx, char *buf, size_t len)
{
	struct daemon *d = ctx;
	struct daemon_facts f;
	/* Shutdown drops every requirement: "0/0 satisfied" would say nothing. */
	if (d->stopping) {
		snprintf(buf, len, "stopping");
		return;
	}
	daemon_facts(d, &f);
	snprintf(buf, len, "%s: %zu/%zu requirements satisfied, %zu plugin%s active, %zu connections",
		 f.compliant ? "compliant" : "not compliant", f.reqs_satisfied, f.reqs_total,
		 f.plugins_active, f.plugins_active == 1 ? "" : "s", f.connections);
}

static void on_core_event(void *ctx, orbit_orbiter *o, const orbit_event *ev)
{
	(void)o;
	struct daemon *d = ctx;
	switch (ev->kind) {
	case ORBIT_EV_CONNECTED:
		olog(LOG_INFO, "connected to %s for %s", ev->conn->remote_id, ev->conn->operation);
		break;
	case ORBIT_EV_DISCONNECTED:
		olog(LOG_INFO, "disconnected from %s for %s (%s)", ev->conn->remote_id,
		     ev->conn->operation, ev->graceful ? "graceful" : "graceless");
		break;
	case ORBIT_EV_COMPLIANCE: {
		/* Shutdown drops every requirement: "0/0 satisfied" says nothing. */
		if (d->stopping)
			break;
		struct count c = {0};
		orbit_core_foreach_requirement(d->core, count_req, &c);
		olog(ev->compliant ? LOG_NOTICE : LOG_WARNING, "core %s: %zu/%zu requirements satisfied",
		     ev->compliant ? "compliant" : "not compliant", c.satisfied, c.total);
		break;
	}
	case ORBIT_EV_REMOTE_DEAD:
		olog(LOG_WARNING, "%s is dead (silent past consider_others_dead_after)",
		     ev->remote_id);
		break;
	}
	ctl_on_core_event(d->ctl, ev);
	notify_dirty(d->notify);
}

static void on_plugin_event(void *ctx, const struct lplug_info *p)
{
	struct daemon *d = ctx;
	/* Its process is gone (or a new one starts, after a restart): the
	 * connections to it are, too. Closing them now (not at a keepalive
	 * deadline) lets the core look for another lender at once and
	 * re-evaluate its compliance. */
	if (p->proc && (p->state == LPLUG_RESTARTING || p->state == LPLUG_FAILED ||
			plugproc_state(p->proc) == PLUGPROC_STARTING)) {
		size_t n = orbit_orbiter_close_remote(orbit_core_orbiter(d->core),
						      plugproc_identifier(p->proc));
		if (n)
			olog(LOG_INFO, "plugin %s: its %zu connection%s closed", p->name, n,
			     n == 1 ? "" : "s");
	}
	ctl_trace_plugin(d, p);
	ctl_on_plugin_event(d->ctl, p);
	notify_dirty(d->notify);
}

/* Requirements' outputs, for the control socket's watchers (reqs is made
 * before the control socket: outputs before it have nobody to reach). */
static void on_output(void *ctx, const char *operation, const char *plugin, const char *json,
		      const struct calltag_match *m)
{
	struct daemon *d = ctx;
	ctl_on_output(d->ctl, operation, plugin, json, m);
}

static void on_mqtt_state(void *ctx, bool connected)
{
	struct daemon *d = ctx;
	/* libplugin logs the session itself; the status line follows it. */
	(void)connected;
	notify_dirty(d->notify);
}

/* The MQTT bus and the core's dual bus, when configured. The broker being
 * down is not an error: the bus keeps retrying with backoff. */
static int start_mqtt(struct daemon *d, char **err)
{
	const struct ocfg_mqtt *m = &d->cfg->mqtt;
	d->core_bus = d->bus;
	if (!m->enabled)
		return 0;
	orbit_mqtt_options o = {
		.host = m->host,
		.port = m->port,
		.client_id = m->client_id,
		.username = m->username,
		.password = m->password,
		.tls_ca = m->tls_ca,
		.tls_cert = m->tls_cert,
		.tls_key = m->tls_key,
		.keepalive = (int)m->keepalive,
		.reconnect_min = m->reconnect_min,
		.reconnect_max = m->reconnect_max,
		.on_state = on_mqtt_state,
		.ctx = d,
	};
	if (!(d->mqtt = orbit_mqtt_bus_new(d->base, &o))) {
		*err = strfmt("mqtt: cannot set up the connection to %s:%d: %s", m->host, m->port,
			    strerror(errno));
		return -EINVAL;
	}
	if (!(d->core_bus = orbit_dual_bus_new(d->bus, d->mqtt, d->cfg->discover_topic))) {
		*err = strfmt("out of memory");
		return -ENOMEM;
	}
	olog(LOG_INFO, "MQTT: connecting to %s:%d as %s", m->host, m->port, m->client_id);
	return 0;
}

/* liborbit limits its messages per call site already: not again here,
 * where they would all share the kind "%s". */
static void forward_lib_log(int level, const char *msg)
{
	olog_kind(NULL, level, "%s", msg);
}

/* ---- signals ---------------------------------------------------------- */

static void on_sighup(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	char *changes = NULL, *err = NULL;
	daemon_reload(arg, &changes, &err);
	free(changes);
	free(err);
}

static void on_sigterm(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	olog(LOG_NOTICE, "%s received, shutting down", strsignal((int)sig));
	daemon_shutdown(arg);
}

static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	notify_watchdog();
}

/* A burst of suppressed log lines with no line of its kind after it still
 * gets its count written, a second after the burst. */
static void on_log_flush(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	olog_flush_suppressed(1.0);
}

static struct event *add_signal(struct daemon *d, int sig, event_callback_fn fn)
{
	struct event *ev = evsignal_new(d->base, sig, fn, d);
	if (ev && event_add(ev, NULL) < 0) {
		event_free(ev);
		ev = NULL;
	}
	return ev;
}

/* ---- life ------------------------------------------------------------- */

static void timers_of(const struct ocfg_timers *t, orbit_timers *o)
{
	orbit_timers_default(o);
	o->loop_interval = t->loop_interval;
	o->discovering_interval = t->discovering_interval;
	o->pending_requests_expire_after = t->pending_requests_expire_after;
	o->consider_others_dead_after = t->consider_others_dead_after;
	o->send_keepalive_before_timelimit = t->send_keepalive_before_timelimit;
	o->graceful_close_timeout = t->graceful_close_timeout;
	o->close_connection_if_unused_after = t->close_connection_if_unused_after;
}

struct daemon *daemon_new(const struct daemon_opts *opts, struct orbitd_config *cfg, char **err)
{
	*err = NULL;
	struct daemon *d = calloc(1, sizeof *d);
	if (!d) {
		orbitd_config_free(cfg);
		*err = strfmt("out of memory");
		return NULL;
	}
	d->opts = *opts;
	d->cfg = cfg;
	d->started = orbit_now();
	olog_set_level(cfg->log_level);
	olog_set_rate_limit(cfg->log_rate_limit);
	orbit_set_log(forward_lib_log, LOG_DEBUG);
	/* A dead exec sink child or control client must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	if (!(d->base = event_base_new()) || !(d->bus = orbit_local_bus_new(d->base)) ||
	    !(d->loopq = loopq_new(d->base)) ||
	    !(d->workers = workers_new(d->loopq, WORKER_THREADS)) ||
	    !(d->notify = notify_new(d->base, render_status, d))) {
		*err = strfmt("cannot set up the event loop: %s", strerror(errno));
		goto fail;
	}
	if (start_mqtt(d, err) < 0)
		goto fail;
	d->env = (struct host_env){
		.base = d->base,
		.bus = d->bus,
		.mqtt = d->mqtt,
		.core_id = cfg->identifier,
		.loopq = d->loopq,
		.workers = d->workers,
		.discover_topic = cfg->discover_topic,
	};
	timers_of(&cfg->timers, &d->env.timers);
	/* Validated by the config (0 < min <= max): cannot fail. */
	orbit_set_accepted_dead_after(cfg->timers.accept_dead_after_min,
				      cfg->timers.accept_dead_after_max);
	orbit_set_max_pending(cfg->max_pending);
	orbit_set_request_retry(cfg->request_retry_after, cfg->request_sends);
	orbit_set_close_resend_max(cfg->close_resend_max);
	if (!(d->core = orbit_core_new(d->core_bus, cfg->identifier, &d->env.timers,
				       cfg->discover_topic))) {
		*err = strfmt("cannot create the core '%s': %s", cfg->identifier, strerror(errno));
		goto fail;
	}
	orbit_orbiter_set_event_cb(orbit_core_orbiter(d->core), on_core_event, d);
	if (!(d->loader = loader_new(&d->env, cfg->plugins.dir, cfg->identifier))) {
		*err = strfmt("out of memory");
		goto fail;
	}
	loader_set_event_cb(d->loader, on_plugin_event, d);
	olog(LOG_NOTICE, "orbitd %s starting as '%s' (%s, plugins from %s)", ORBIT_VERSION,
	     cfg->identifier, cfg->files && cfg->n_files ? cfg->files[0] : "<built-in>",
	     cfg->plugins.dir);
	if (loader_scan(d->loader, cfg, err) < 0)
		goto fail;
	loader_warn_unmatched(d->loader);
	int rc = loader_watch(d->loader);
	if (rc < 0)
		olog(LOG_WARNING, "plugin directory %s not watched (%s): drop-ins need a restart",
		     cfg->plugins.dir, strerror(-rc));
	if (!(d->reqs = reqs_new(d->base, d->core, cfg, on_output, d, err)))
		goto fail;
	char *summary = NULL;
	rc = reqs_apply(d->reqs, NULL, &summary);
	free(summary);
	if (rc < 0) {
		*err = strfmt("requirements refused by the core: %s", strerror(-rc));
		goto fail;
	}
	if (!(d->tap = bustap_new(d->bus, cfg->discover_topic, cfg->identifier))) {
		*err = strfmt("cannot trace the local bus: %s", strerror(errno));
		goto fail;
	}
	if ((rc = orbit_core_start(d->core)) < 0) {
		*err = strfmt("cannot start the core: %s", strerror(-rc));
		goto fail;
	}
	if (!(d->ctl = ctl_start(d, err)))
		goto fail;
	if ((rc = metrics_apply(d, &cfg->metrics, err)) < 0)
		goto fail;
	if (!(d->sig_hup = add_signal(d, SIGHUP, on_sighup)) ||
	    !(d->sig_term = add_signal(d, SIGTERM, on_sigterm)) ||
	    !(d->sig_int = add_signal(d, SIGINT, on_sigterm))) {
		*err = strfmt("cannot install signal handlers");
		goto fail;
	}
	struct timeval second = {1, 0};
	if (!(d->log_flush = event_new(d->base, -1, EV_PERSIST, on_log_flush, d)) ||
	    event_add(d->log_flush, &second) < 0) {
		*err = strfmt("cannot arm the log flush timer");
		goto fail;
	}
	uint64_t wd = 0;
	if (notify_watchdog_usec(&wd) == 0 && wd) {
		struct timeval tv = {(time_t)(wd / 2000000), (suseconds_t)((wd / 2) % 1000000)};
		if ((d->watchdog = event_new(d->base, -1, EV_PERSIST, on_watchdog, d)))
			event_add(d->watchdog, &tv);
	}
	return d;
fail:
	daemon_free(d);
	return NULL;
}

int daemon_run(struct daemon *d)
{
	notify_state(d->notify, "READY=1");
	olog(LOG_NOTICE, "ready: %zu requirement%s", d->cfg->n_reqs, d->cfg->n_reqs == 1 ? "" : "s");
	/* Polling a moment after frames to or from plugin processes (link.h). */
	link_dispatch(d->base);
	return d->exit_code;
}

static bool same_str(const char *a, const char *b)
{
	return a && b ? strcmp(a, b) == 0 : a == b;
}

/* What only a restart changes; said out loud rather than half-applied. */
static void warn_restart_only(const struct orbitd_config *a, const struct orbitd_config *b)
{
	const char *what[8];
	size_t n = 0;
	if (strcmp(a->identifier, b->identifier) != 0)
		what[n++] = "identifier";
	if (strcmp(a->discover_topic, b->discover_topic) != 0)
		what[n++] = "discover_topic";
	if (strcmp(a->plugins.dir, b->plugins.dir) != 0)
		what[n++] = "plugins.dir";
	if (memcmp(&a->timers, &b->timers, sizeof a->timers) != 0)
		what[n++] = "timers";
	if (a->mqtt.enabled != b->mqtt.enabled ||
	    (a->mqtt.enabled && (strcmp(a->mqtt.host, b->mqtt.host) != 0 ||
				 a->mqtt.port != b->mqtt.port ||
				 strcmp(a->mqtt.client_id, b->mqtt.client_id) != 0 ||
				 !same_str(a->mqtt.username, b->mqtt.username) ||
				 !same_str(a->mqtt.password, b->mqtt.password) ||
				 !same_str(a->mqtt.tls_ca, b->mqtt.tls_ca) ||
				 !same_str(a->mqtt.tls_cert, b->mqtt.tls_cert) ||
				 !same_str(a->mqtt.tls_key, b->mqtt.tls_key) ||
				 a->mqtt.keepalive != b->mqtt.keepalive)))
		what[n++] = "mqtt";
	/* Its limits (request size, clients, buffers) apply on reload. */
	if (strcmp(a->control.socket, b->control.socket) != 0 || a->control.mode != b->control.mode ||
	    !same_str(a->control.group, b->control.group))
		what[n++] = "control";
	for (size_t i = 0; i < n; i++)
		olog(LOG_WARNING, "reload: %s changed; that takes effect at the next restart",
		     what[i]);
}

static void record_reload(struct daemon *d, bool ok, const char *msg)
{
	free(d->last_reload.message);
	d->last_reload.message = strdup(msg);
	d->last_reload.ok = ok;
	d->last_reload.at = orbit_now();
	d->last_reload.done = true;
}

int daemon_reload(struct daemon *d, char **changes, char **err)
{
	*err = NULL;
	if (changes)
		*changes = NULL;
	if (d->stopping) {
		*err = strfmt("shutting down");
		return -ESHUTDOWN;
	}
	char reloading[64];
	if (notify_reloading_text(reloading, sizeof reloading) == 0)
		notify_state(d->notify, reloading);
	olog(LOG_NOTICE, "reloading the configuration");
	struct orbitd_config *cfg = daemon_load_config(&d->opts, err);
	struct reqs *r = NULL;
	if (cfg)
		r = reqs_new(d->base, d->core, cfg, on_output, d, err);
	/* Plugin configs are part of "validate all, then swap": one that does
	 * not fit its plugin's map refuses the reload like bad YAML would. */
	if (r && loader_prepare(d->loader, cfg, err) < 0) {
		reqs_free(r);
		r = NULL;
	}
	if (!r) {
		olog(LOG_ERR, "reload failed, keeping the running configuration: %s",
		     *err ? *err : "out of memory");
		record_reload(d, false, *err ? *err : "out of memory");
		orbitd_config_free(cfg);
		notify_state(d->notify, "READY=1");
		return -EINVAL;
	}
	warn_restart_only(d->cfg, cfg);
	olog_set_level(cfg->log_level);
	olog_set_rate_limit(cfg->log_rate_limit);
	orbit_set_max_pending(cfg->max_pending);
	orbit_set_request_retry(cfg->request_retry_after, cfg->request_sends);
	orbit_set_close_resend_max(cfg->close_resend_max);
	ctl_apply_limits(d->ctl, &cfg->control);
	char *merr = NULL;
	/* A new address that cannot be bound keeps the running endpoint. */
	if (metrics_apply(d, &cfg->metrics, &merr) < 0)
		olog(LOG_ERR, "reload: %s; the metrics endpoint is left as it was",
		     merr ? merr : "out of memory");
	free(merr);
	char *summary = NULL, *report = NULL;
	reqs_apply(r, d->reqs, &summary);
	reqs_free(d->reqs);
	d->reqs = r;
	loader_reconfigure(d->loader, cfg, &report);
	loader_warn_unmatched(d->loader);
	orbitd_config_free(d->cfg);
	d->cfg = cfg;
	char *all = strfmt("requirements: %s; plugins: %s", summary ? summary : "unchanged",
			 report ? report : "ok");
	olog(LOG_NOTICE, "reloaded: %s", all ? all : "");
	record_reload(d, true, all ? all : "");
	if (changes)
		*changes = all;
	else
		free(all);
	free(summary);
	free(report);
	notify_state(d->notify, "READY=1");
	return 0;
}

static bool plugins_closed(void *arg)
{
	return loader_connections(((struct daemon *)arg)->loader) == 0;
}

static bool core_closed(void *arg)
{
	struct daemon *d = arg;
	return orbit_orbiter_connection_count(orbit_core_orbiter(d->core)) == 0;
}

static void stop_now(void *arg, bool timed_out)
{
	struct daemon *d = arg;
	d->stop_drain = NULL;
	if (timed_out)
		olog(LOG_WARNING, "shutdown: connections still open after %gs; closing gracelessly",
		     d->cfg->timers.shutdown_timeout / 2);
	orbit_core_stop(d->core);
	event_base_loopexit(d->base, NULL);
}

static void core_drained(void *arg, bool timed_out)
{
	struct daemon *d = arg;
	d->stop_drain = NULL;
	if (timed_out) {
		stop_now(d, true);
		return;
	}
	/* What is left are plugin connections to other (remote) cores. */
	loader_close_all(d->loader);
	d->stop_drain = drain_start(d->base, plugins_closed, stop_now, d,
				    d->cfg->timers.shutdown_timeout / 2);
	if (!d->stop_drain)
		stop_now(d, false);
}

void daemon_shutdown(struct daemon *d)
{
	if (d->stopping)
		return;
	d->stopping = true;
	d->stop_deadline = orbit_now() + d->cfg->timers.shutdown_timeout;
	notify_state(d->notify, "STOPPING=1");
	reqs_stop_schedules(d->reqs);
	/* Dropping the requirements closes their connections gracefully and
	 * stops discovery, so nothing reconnects while we wait for the acks. */
	for (size_t i = 0; i < d->cfg->n_reqs; i++)
		orbit_core_unrequire(d->core, d->cfg->reqs[i].operation);
	orbit_orbiter_close_all(orbit_core_orbiter(d->core), true);
	d->stop_drain = drain_start(d->base, core_closed, core_drained, d,
				    d->cfg->timers.shutdown_timeout / 2);
	if (!d->stop_drain)
		stop_now(d, false);
}

void daemon_free(struct daemon *d)
{
	if (!d)
		return;
	drain_cancel(d->stop_drain);
	metrics_stop(d);
	ctl_stop(d->ctl);
	d->ctl = NULL;
	if (d->core)
		orbit_core_stop(d->core);
	/* Sinks before the core: their callbacks point into reqs. Exec sink
	 * children still running are ended and reaped before the loop goes. */
	reqs_free(d->reqs);
	osink_shutdown();
	orbit_core_free(d->core);
	/* Plugins' shutdown hooks run here; their blocking calls come back
	 * through the loopq once the workers are joined. */
	loader_free(d->loader);
	/* What is left of timers.shutdown_timeout since SIGTERM (all of it
	 * when start-up failed), whatever plugins do: plugin processes get
	 * STOP, then SIGKILL; blocking calls still running are abandoned. A
	 * tenth of a second at least, so a STOP can be acted on at all. */
	double budget = d->cfg ? d->cfg->timers.shutdown_timeout : 0;
	if (d->stop_deadline > 0)
		budget = d->stop_deadline - orbit_now();
	plugproc_reap_all(budget > 0.1 ? budget : 0.1);
	budget = d->stop_deadline > 0 ? d->stop_deadline - orbit_now() : budget;
	workers_stop(d->workers, budget > 0.1 ? budget : 0.1);
	loopq_free(d->loopq);
	bustap_free(d->tap);
	olog_flush_suppressed(0); /* what a last burst suppressed */
	struct event *evs[] = {d->sig_hup, d->sig_term, d->sig_int, d->watchdog, d->log_flush};
	for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++)
		if (evs[i])
			event_free(evs[i]);
	if (d->core_bus && d->core_bus != d->bus)
		orbit_bus_free(d->core_bus);
	if (d->mqtt)
		orbit_bus_free(d->mqtt);
	if (d->bus)
		orbit_bus_free(d->bus);
	notify_free(d->notify);
	if (d->base)
		event_base_free(d->base);
	orbitd_config_free(d->cfg);
	free(d->last_reload.message);
	free(d);
	orbit_set_log(NULL, LOG_WARNING);
}
