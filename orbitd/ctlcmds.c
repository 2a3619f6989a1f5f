/* ctlcmds.c — see ctlcmds.h. Result shapes are documented in orbitctl(1);
 * orbitctl renders them. Mutating commands (execute, close, reload,
 * log-level) need a privileged peer. */
#include "ctlcmds.h"
#include "avrologic.h"
#include "calltag.h"
#include "control.h"
#include "deadlist.h"
#include "log.h"
#include "plugcfg.h"
#include "plugproc.h"
#include "reqs.h"
#include "sockpath.h"
#include "strfmt.h"

#include <orbit/lender.h>
#include <orbit/plugin.h>

#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The commands' state (ctlcmds.h). */
struct ctl {
	struct daemon *d;
	struct octl *srv;
	struct ctl_watch *watches; /* orbitctl watch / execute --wait */
	struct deadlist *dead;     /* remote plugins declared dead, until they return */
};

/* One call of an `execute --wait` (calltag.h). */
struct exec_call {
	uint64_t id;            /* 0: could not be tagged */
	char *plugin;
	bool complete;          /* ended, and its outputs were handed on */
};

/* A streaming request: `watch` (everything) or `execute --wait` (the
 * outputs of its own calls until they are all complete or the wait ends). */
struct ctl_watch {
	struct ctl_watch *next;
	struct ctl *ctl;
	struct octl_req *req;
	char *operation;        /* execute: only its outputs; NULL: watch */
	struct event *timer;    /* execute: end of the wait */
	int sent;
	size_t outputs;         /* execute: shown, correlated or matched */
	size_t matched;         /* execute: of those, matched by connection/time */
	struct exec_call *calls; /* execute: one per message sent */
	size_t n_calls, cap_calls;
	size_t n_complete;
	bool closed;            /* client gone */
};

static json_t *spec_json(const orbit_spec *s)
{
	json_t *schemas = json_array();
	for (size_t i = 0; i < s->n_schemas; i++)
		json_array_append_new(schemas, json_string(s->schemas[i]));
	return json_pack("{s:o,s:b,s:b}", "schemas", schemas, "empty", s->support_empty,
			 "undefined", s->support_undefined);
}

static json_t *idlist_json(orbit_idlist v)
{
	if (!v)
		return json_null();
	json_t *a = json_array();
	for (; *v; v++)
		json_array_append_new(a, json_string(*v));
	return a;
}

static json_t *count_or_null(int n)
{
	return n < 0 ? json_null() : json_integer(n);
}

/* ---- events ----------------------------------------------------------- */

static void watch_end(struct ctl_watch *w, json_t *result);

/* ev (taken) to every plain watch; an execute gets only its calls'
 * outputs (ctl_on_output). */
static void broadcast(struct ctl *c, json_t *ev)
{
	char t[40];
	json_object_set_new(ev, "time", json_string(iso_utc_now(t, sizeof t, 3)));
	for (struct ctl_watch *w = c->watches; w; w = w->next)
		if (!w->closed && !w->operation)
			octl_req_event(w->req, json_incref(ev));
	json_decref(ev);
}

static struct exec_call *exec_call_of(struct ctl_watch *w, uint64_t id)
{
	for (size_t i = 0; id && i < w->n_calls; i++)
		if (w->calls[i].id == id)
			return &w->calls[i];
	return NULL;
}

/* An output no call claims, from plugin: what an execute can say of it.
 * A call of w to plugin that no host took (a remote plugin: the wire has no
 * correlation, or one that could not be tagged) may have caused it:
 * that call, matched by connection and time; NULL otherwise. */
static struct exec_call *exec_match(struct ctl_watch *w, const char *plugin)
{
	for (size_t i = 0; i < w->n_calls; i++)
		if (!strcmp(w->calls[i].plugin, plugin) && !calltag_hosted(w->calls[i].id))
			return &w->calls[i];
	return NULL;
}

struct logical_ctx {
	const char *plugin, *operation;
	json_t *map;
};

static int find_logical(void *ctx, const orbit_conn_info *ci)
{
	struct logical_ctx *lc = ctx;
	if (strcmp(ci->remote_id, lc->plugin) || strcmp(ci->operation, lc->operation) ||
	    !ci->output)
		return 0;
	/* Each schema the plugin offers for its output: an output matches
	 * one, and paths of the others are simply absent from its value. */
	for (size_t i = 0; i < ci->output->n_schemas; i++) {
		json_t *m = avrologic_map(ci->output->schemas[i]);
		if (m && !lc->map)
			lc->map = json_object();
		if (m)
			json_object_update_missing(lc->map, m);
		json_decref(m);
	}
	return 1;
}

/* The logical types of the output schema of the core's connection to
 * plugin for operation (avrologic.h), NULL when none. */
static json_t *output_logical(struct ctl *c, const char *operation, const char *plugin)
{
	struct logical_ctx lc = {plugin, operation, NULL};
	orbit_orbiter_foreach_connection(orbit_core_orbiter(daemon_core(c->d)), find_logical, &lc);
	return lc.map;
}

void ctl_on_output(struct ctl *c, const char *operation, const char *plugin, const char *json,
		   const struct calltag_match *m)
{
	if (!c || !c->watches)
		return;
	json_error_t je;
	json_t *v = json_loads(json, JSON_DECODE_ANY, &je);
	char t[40];
	json_t *ev = json_pack("{s:s,s:s,s:s,s:o,s:s}", "type", "output", "plugin", plugin,
			       "operation", operation, "value", v ? v : json_string(json), "time",
			       iso_utc_now(t, sizeof t, 3));
	if (!ev)
		return;
	if (m->call)
		json_object_set_new(ev, "call", json_integer((json_int_t)m->call));
	json_t *logical = output_logical(c, operation, plugin);
	if (logical)
		json_object_set_new(ev, "logical", logical);
	for (struct ctl_watch *w = c->watches; w; w = w->next) {
		if (w->closed)
			continue;
		if (!w->operation) {
			octl_req_event(w->req, json_incref(ev));
			continue;
		}
		if (strcmp(w->operation, operation))
			continue;
		struct exec_call *ec = m->call ? exec_call_of(w, m->call) : exec_match(w, plugin);
		if (!ec)
			continue; /* another call's (a schedule's, a pipeline's) */
		json_t *e = json_copy(ev);
		if (!e)
			continue;
		json_object_set_new(e, "correlated", json_boolean(m->call != 0));
		if (m->call) {
			json_object_set_new(e, "latency_ms", json_real(m->latency * 1e3));
		} else {
			/* Time since the send of the call matched: an upper bound
			 * when several are in flight. */
			double age = calltag_age(ec->id);
			json_object_set_new(e, "matched", json_string("connection/time"));
			if (age >= 0)
				json_object_set_new(e, "latency_ms", json_real(age * 1e3));
			w->matched++;
		}
		w->outputs++;
		octl_req_event(w->req, e);
	}
	json_decref(ev);
}

void ctl_on_core_event(struct ctl *c, const orbit_event *ev)
{
	if (!c)
		return;
	/* Remote plugins declared dead stay listed as such until they return
	 * or newer deaths push them out (control.dead_remotes). */
	if (ev->kind == ORBIT_EV_REMOTE_DEAD) {
		uint64_t before = deadlist_evicted(c->dead);
		if (deadlist_add(c->dead, ev->remote_id, orbit_now()) < 0)
			olog(LOG_WARNING, "out of memory: %s not listed as dead", ev->remote_id);
		else if (deadlist_evicted(c->dead) != before)
			olog(LOG_INFO, "%llu dead remote plugins forgotten so far: more than "
			     "control.dead_remotes (%zu) died without returning",
			     (unsigned long long)deadlist_evicted(c->dead),
			     daemon_config(c->d)->control.dead_remotes);
	} else if (ev->kind == ORBIT_EV_CONNECTED) {
		deadlist_del(c->dead, ev->conn->remote_id);
	}
	if (!c->watches)
		return;
	switch (ev->kind) {
	case ORBIT_EV_CONNECTED:
	case ORBIT_EV_DISCONNECTED:
	{
		json_t *e = json_pack("{s:s,s:s,s:s}", "type",
				      ev->kind == ORBIT_EV_CONNECTED ? "connected" : "disconnected",
				      "plugin", ev->conn->remote_id, "operation", ev->conn->operation);
		if (ev->kind == ORBIT_EV_DISCONNECTED)
			json_object_set_new(e, "graceful", json_boolean(ev->graceful));
		broadcast(c, e);
		break;
	}
	case ORBIT_EV_COMPLIANCE:
		broadcast(c, json_pack("{s:s,s:b}", "type", "compliance", "compliant",
				       ev->compliant));
		break;
	case ORBIT_EV_REMOTE_DEAD:
		broadcast(c, json_pack("{s:s,s:s}", "type", "dead", "remote", ev->remote_id));
		break;
	}
}

void ctl_on_plugin_event(struct ctl *c, const struct lplug_info *p)
{
	if (!c || !c->watches)
		return;
	broadcast(c,
		  json_pack("{s:s,s:s,s:o,s:s,s:o}", "type", "plugin", "file", p->file, "name",
			    p->name ? json_string(p->name) : json_null(), "state",
			    lplug_state_name(p->state), "reason",
			    p->reason ? json_string(p->reason) : json_null()));
}

/* ---- read-only commands ----------------------------------------------- */

struct tally {
	size_t rejected, disabled, total;
};

static int tally_plugin(void *ctx, const struct lplug_info *p)
{
	struct tally *t = ctx;
	t->total++;
	t->rejected += p->state == LPLUG_REJECTED;
	t->disabled += p->state == LPLUG_DISABLED;
	return 0;
}

static void cmd_status(struct daemon *d, struct octl_req *r, json_t *args)
{
	(void)args;
	struct tally t = {0};
	struct daemon_facts f;
	loader_foreach(daemon_loader(d), tally_plugin, &t);
	/* The same snapshot as the systemd status line. */
	daemon_facts(d, &f);
	orbit_orbiter *co = orbit_core_orbiter(daemon_core(d));
	json_t *reload = json_null();
	if (f.reload_done)
		reload = json_pack("{s:b,s:f,s:s}", "ok", f.reload_ok, "age", f.reload_age,
				   "message", f.reload_message);
	struct octl_stats cs;
	ctl_socket_stats(daemon_ctl(d), &cs);
	json_t *res = json_pack(
		"{s:s,s:s,s:I,s:f,s:b,s:{s:I,s:I},s:{s:I,s:I,s:I,s:I},s:I,s:I,"
		"s:I,s:{s:b,s:{s:b,s:b}},s:o}",
		"identifier", orbit_orbiter_id(co), "version", ORBIT_VERSION, "pid",
		(json_int_t)getpid(), "uptime", f.uptime, "compliant",
		f.compliant, "requirements", "total", (json_int_t)f.reqs_total,
		"satisfied", (json_int_t)f.reqs_satisfied, "plugins", "active", (json_int_t)f.plugins_active,
		"rejected", (json_int_t)t.rejected, "disabled", (json_int_t)t.disabled, "total",
		(json_int_t)t.total, "connections", (json_int_t)f.connections,
		"plugin_connections", (json_int_t)loader_connections(daemon_loader(d)), "pending",
		(json_int_t)orbit_orbiter_pending_count(co), "buses", "local", 1, "mqtt", "enabled",
		f.mqtt_enabled, "connected", f.mqtt_connected, "last_reload", reload);
	json_object_set_new(res, "control",
			    json_pack("{s:I,s:I,s:I,s:I,s:I}", "clients", (json_int_t)cs.clients,
				      "buffered", (json_int_t)cs.buffered, "refused",
				      (json_int_t)cs.refused, "idle_closed",
				      (json_int_t)cs.idle_closed, "slow_cut", (json_int_t)cs.cut));
	const struct deadlist *dead = daemon_ctl(d)->dead;
	json_object_set_new(res, "dead_remotes",
			    json_pack("{s:I,s:I}", "listed", (json_int_t)deadlist_len(dead),
				      "forgotten", (json_int_t)deadlist_evicted(dead)));
	octl_reply_ok(r, res);
}

static json_t *op_json(const struct host_op_info *oi)
{
	return json_pack("{s:s,s:o,s:o,s:o,s:b,s:{s:o,s:o,s:o},s:I,s:I,s:I,s:I,s:o}", "name",
			 oi->name, "doc", oi->doc ? json_string(oi->doc) : json_null(), "input",
			 spec_json(oi->input), "output", spec_json(oi->output), "blocking",
			 oi->blocking, "policy", "maximum", count_or_null(oi->policy.maximum),
			 "allowlist", idlist_json(oi->policy.allowlist), "blocklist",
			 idlist_json(oi->policy.blocklist), "connections",
			 (json_int_t)oi->connections, "inflight", (json_int_t)oi->inflight,
			 "max_inflight", (json_int_t)oi->max_inflight, "dropped",
			 (json_int_t)oi->dropped, "timeout",
			 oi->timeout > 0 ? json_real(oi->timeout) : json_null());
}

static json_t *plugin_json(struct daemon *d, const struct lplug_info *p)
{
	json_t *ops = json_array();
	const struct ocfg_plugin *pcfg =
		p->name ? orbitd_config_find_plugin(daemon_config(d), p->name) : NULL;
	const orbit_plugin_desc *desc = lplug_desc(p);
	for (size_t i = 0; desc && i < desc->n_ops; i++) {
		struct host_op_info oi;
		int rc = lplug_op_info(p, i, pcfg, &oi);
		if (rc == 0)
			json_array_append_new(ops, op_json(&oi));
	}
	json_t *o = json_pack("{s:s,s:o,s:o,s:s,s:s,s:o,s:f,s:o,s:o}", "file", p->file, "name",
			      p->name ? json_string(p->name) : json_null(), "version",
			      p->version ? json_string(p->version) : json_null(), "origin", "local",
			      "state", lplug_state_name(p->state), "reason",
			      p->reason ? json_string(p->reason) : json_null(), "since",
			      orbit_now() - p->since, "operations", ops, "isolation",
			      p->host ? json_string("none")
			      : p->proc ? json_string("process")
					: json_null());
	if (p->proc) {
		double in = plugproc_restart_in(p->proc);
		pid_t pid = plugproc_pid(p->proc);
		json_object_set_new(o, "pid", pid ? json_integer(pid) : json_null());
		json_object_set_new(o, "restarts", json_integer(plugproc_restarts(p->proc)));
		json_object_set_new(o, "crashes", json_integer(plugproc_crashes(p->proc)));
		json_object_set_new(o, "restart_in", in >= 0 ? json_real(in) : json_null());
		if (plugproc_reason(p->proc) && !p->reason)
			json_object_set_new(o, "last_crash", json_string(plugproc_reason(p->proc)));
	}
	return o;
}

/* A plugin's config keys for `plugin show`: declaration (type, default,
 * bounds, choices, doc) and current value, with where it was given. */
static json_t *plugcfg_json(const struct plugcfg *pc)
{
	json_t *keys = json_array();

	for (size_t i = 0; i < plugcfg_n_items(pc); i++) {
		const struct plugcfg_item *it = plugcfg_item(pc, i);
		const orbit_cfg_key *k = it->key;
		json_t *choices = json_null(), *value = json_null(), *where = json_null();
		json_error_t je;

		if (k->choices) {
			choices = json_array();
			for (size_t c = 0; k->choices[c]; c++)
				json_array_append_new(choices, json_string(k->choices[c]));
		}
		if (it->value_json && !(value = json_loads(it->value_json, JSON_DECODE_ANY, &je)))
			value = json_null();
		if (it->given && it->where.file)
			where = json_pack("{s:s,s:i,s:i}", "file", it->where.file, "line",
					  it->where.line, "column", it->where.column);
		json_array_append_new(keys, json_pack(
			"{s:s,s:s,s:b,s:o,s:o,s:o,s:o,s:o,s:o,s:b,s:o}", "path", it->path, "type",
			plugcfg_type_name(k->type), "required", (k->flags & ORBIT_CFG_REQUIRED) != 0,
			"default", k->def ? json_string(k->def) : json_null(), "min",
			(k->flags & ORBIT_CFG_MIN) ? json_real(k->min) : json_null(), "max",
			(k->flags & ORBIT_CFG_MAX) ? json_real(k->max) : json_null(), "choices",
			choices, "doc", k->doc ? json_string(k->doc) : json_null(), "value", value,
			"given", it->given, "where", where));
	}
	return keys;
}

struct plugins_ctx {
	struct daemon *d;
	json_t *list;
	const char *only; /* plugin show NAME: name or file */
	json_t *found;
};

static int add_plugin(void *ctx, const struct lplug_info *p)
{
	struct plugins_ctx *c = ctx;
	if (c->only) {
		if ((p->name && strcmp(p->name, c->only) == 0) || strcmp(p->file, c->only) == 0) {
			c->found = plugin_json(c->d, p);
			json_object_set_new(c->found, "config",
					    p->host   ? plugcfg_json(host_plugcfg(p->host))
					    : p->proc ? plugcfg_json(plugproc_plugcfg(p->proc))
						      : json_array());
			return 1;
		}
		return 0;
	}
	json_array_append_new(c->list, plugin_json(c->d, p));
	return 0;
}

/* Remote plugins are known through the core's connections to them (and
 * the ones declared dead): id -> plugin object. Local plugins' identifiers
 * are left out. */
struct remote_ctx {
	struct daemon *d;
	json_t *by_id;
	double now;
};

static int local_id(void *ctx, const struct lplug_info *p)
{
	json_t *ids = ctx;
	if (p->proc)
		json_object_set_new(ids, plugproc_identifier(p->proc), json_true());
	orbit_lender *inst[] = {p->host ? host_orbiter(p->host) : NULL,
				p->host ? host_remote_orbiter(p->host) : NULL};
	for (size_t i = 0; i < 2; i++)
		if (inst[i])
			json_object_set_new(ids, orbit_orbiter_id(orbit_lender_orbiter(inst[i])),
					    json_true());
	return 0;
}

static json_t *remote_entry(json_t *by_id, const char *id, const char *state, double since)
{
	json_t *e = json_object_get(by_id, id);
	if (!e) {
		e = json_pack("{s:n,s:s,s:n,s:s,s:s,s:n,s:f,s:[]}", "file", "name", id, "version",
			      "origin", "remote", "state", state, "reason", "since", since,
			      "operations");
		json_object_set_new(by_id, id, e);
	}
	return e;
}

static int add_remote_conn(void *ctx, const orbit_conn_info *ci)
{
	struct remote_ctx *c = ctx;
	json_t *e = remote_entry(c->by_id, ci->remote_id, "connected", c->now - ci->created);
	json_array_append_new(json_object_get(e, "operations"),
			      json_pack("{s:s,s:o,s:o,s:b,s:{s:n,s:n,s:n},s:i}", "name",
					ci->operation, "input", spec_json(ci->input), "output",
					spec_json(ci->output), "blocking", 0, "policy", "maximum",
					"allowlist", "blocklist", "connections", 1));
	return 0;
}

/* Remote plugins into list (or only `only`), skipping local identifiers. */
static json_t *remote_plugins(struct daemon *d)
{
	json_t *locals = json_object();
	loader_foreach(daemon_loader(d), local_id, locals);
	struct remote_ctx c = {d, json_object(), orbit_now()};
	orbit_orbiter_foreach_connection(orbit_core_orbiter(daemon_core(d)), add_remote_conn, &c);
	const struct deadlist *dead = daemon_ctl(d)->dead;
	for (size_t i = 0; i < deadlist_len(dead); i++)
		if (!json_object_get(c.by_id, deadlist_id(dead, i)))
			remote_entry(c.by_id, deadlist_id(dead, i), "dead",
				     c.now - deadlist_when(dead, i));
	const char *id;
	json_t *when;
	json_object_foreach(locals, id, when)
		json_object_del(c.by_id, id);
	json_decref(locals);
	return c.by_id;
}

/* Config entries naming no plugin or operation (loader_unmatched); an
 * empty array also when they could not be computed (out of memory). */
static json_t *unmatched_json(struct daemon *d)
{
	json_t *a = json_array();
	struct lunmatched *v;
	size_t n;
	if (loader_unmatched(daemon_loader(d), &v, &n) < 0)
		return a;
	for (size_t i = 0; i < n; i++) {
		char *where = strfmt("%s:%d:%d", v[i].where.file ? v[i].where.file : "<built-in>",
				     v[i].where.line, v[i].where.column);
		json_array_append_new(a, json_pack("{s:s,s:s,s:s?,s:s?,s:s?,s:s?}", "kind",
						   v[i].kind, "name", v[i].name, "plugin",
						   v[i].plugin, "where", where, "hint", v[i].hint,
						   "message", v[i].message));
		free(where);
	}
	lunmatched_free(v, n);
	return a;
}

static void cmd_plugins(struct daemon *d, struct octl_req *r, json_t *args)
{
	(void)args;
	struct plugins_ctx c = {.d = d, .list = json_array()};
	loader_foreach(daemon_loader(d), add_plugin, &c);
	json_t *remote = remote_plugins(d);
	const char *id;
	json_t *e;
	json_object_foreach(remote, id, e)
		json_array_append(c.list, e);
	json_decref(remote);
	octl_reply_ok(r, json_pack("{s:o,s:o}", "plugins", c.list, "unmatched", unmatched_json(d)));
}

static void cmd_plugin(struct daemon *d, struct octl_req *r, json_t *args)
{
	const char *name = json_string_value(json_object_get(args, "name"));
	if (!name) {
		octl_reply_error(r, "bad_arguments", "plugin needs {\"name\": string}");
		return;
	}
	struct plugins_ctx c = {.d = d, .list = json_array(), .only = name};
	loader_foreach(daemon_loader(d), add_plugin, &c);
	json_decref(c.list);
	if (!c.found) {
		json_t *remote = remote_plugins(d);
		c.found = json_incref(json_object_get(remote, name));
		json_decref(remote);
	}
	if (!c.found)
		octl_reply_error(r, "not_found", "no plugin '%s'", name);
	else
		octl_reply_ok(r, c.found);
}

static int add_req(void *ctx, const orbit_requirement_status *st)
{
	void **c = ctx;
	struct daemon *d = c[0];
	const struct ocfg_req *q = orbitd_config_find_req(daemon_config(d), st->operation);
	json_array_append_new(c[1], json_pack(
		"{s:s,s:o,s:I,s:o,s:I,s:I,s:b,s:I}", "operation", st->operation, "mandatory",
		q && q->mandatory ? idlist_json(q->mandatory) : json_array(),
		"minimum", (json_int_t)st->minimum, "maximum", count_or_null(st->maximum),
		"connected", (json_int_t)st->connected, "pending", (json_int_t)st->pending,
		"satisfied", st->satisfied, "mandatory_missing", (json_int_t)st->mandatory_missing));
	return 0;
}

static void cmd_requirements(struct daemon *d, struct octl_req *r, json_t *args)
{
	(void)args;
	json_t *list = json_array();
	void *c[2] = {d, list};
	/* In the order the configuration lists them, not the core's table's. */
	const struct orbitd_config *cfg = daemon_config(d);
	for (size_t i = 0; i < cfg->n_reqs; i++) {
		orbit_requirement_status st;
		if (orbit_core_requirement_status(daemon_core(d), cfg->reqs[i].operation, &st) == 0)
			add_req(c, &st);
	}
	octl_reply_ok(r, json_pack("{s:o}", "requirements", list));
}

struct conn_ctx {
	json_t *list;
	const char *side, *local;
	double now;
	orbit_orbiter *o;
};

/* Seconds from now to t, or null for "none". */
static json_t *until(double now, double t)
{
	return t < 0 ? json_null() : json_real(t - now);
}

static int add_conn(void *ctx, const orbit_conn_info *ci)
{
	struct conn_ctx *c = ctx;
	orbit_remote_times rt = {-1, -1, -1};
	orbit_orbiter_remote_times(c->o, ci->remote_id, &rt);
	json_array_append_new(c->list, json_pack(
		"{s:s,s:s,s:s,s:s,s:s,s:o,s:f,s:f,s:b,s:o,s:o,s:o}", "side", c->side, "local",
		c->local, "remote", ci->remote_id, "operation", ci->operation, "input_topic",
		ci->input_topic, "output_topic",
		ci->output_topic ? json_string(ci->output_topic) : json_null(), "age",
		c->now - ci->created, "last_use", c->now - ci->last_use, "soft_closed",
		ci->soft_closed, "last_seen", rt.last_seen < 0 ? json_null() : json_real(c->now - rt.last_seen),
		"dead_in", until(c->now, rt.dead_at), "keepalive_deadline",
		until(c->now, rt.their_deadline)));
	return 0;
}

static int add_pending(void *ctx, const orbit_pending_info *pi)
{
	struct conn_ctx *c = ctx;
	json_array_append_new(c->list, json_pack("{s:s,s:s,s:s,s:s,s:f}", "side", c->side,
						 "local", c->local, "remote", pi->remote_id,
						 "operation", pi->operation, "age",
						 c->now - pi->created));
	return 0;
}

static int plugin_conns(void *ctx, const struct lplug_info *p)
{
	struct conn_ctx *c = ctx;
	if (p->proc) {
		bool conns = strcmp(c->side, "connections") == 0;
		json_t *l = plugproc_list_json(p->proc, conns ? "connections" : "pending", c->now);
		json_array_extend(c->list, l);
		json_decref(l);
		return 0;
	}
	if (!p->host)
		return 0;
	orbit_lender *inst[] = {host_orbiter(p->host), host_remote_orbiter(p->host)};
	for (size_t i = 0; i < 2 && inst[i]; i++) {
		orbit_orbiter *o = orbit_lender_orbiter(inst[i]);
		struct conn_ctx pc = {c->list, "plugin", orbit_orbiter_id(o), c->now, o};
		if (strcmp(c->side, "connections") == 0)
			orbit_orbiter_foreach_connection(o, add_conn, &pc);
		else
			orbit_orbiter_foreach_pending(o, add_pending, &pc);
	}
	return 0;
}

static void cmd_connections(struct daemon *d, struct octl_req *r, bool pending)
{
	orbit_orbiter *co = orbit_core_orbiter(daemon_core(d));
	struct conn_ctx c = {json_array(), "core", orbit_orbiter_id(co), orbit_now(), co};
	if (pending)
		orbit_orbiter_foreach_pending(co, add_pending, &c);
	else
		orbit_orbiter_foreach_connection(co, add_conn, &c);
	struct conn_ctx all = {c.list, pending ? "pending" : "connections", NULL, c.now, NULL};
	loader_foreach(daemon_loader(d), plugin_conns, &all);
	octl_reply_ok(r, json_pack("{s:o}", pending ? "pending" : "connections", c.list));
}

/* ---- streaming -------------------------------------------------------- */

static void watch_unlink(struct ctl_watch *w)
{
	for (struct ctl_watch **pp = &w->ctl->watches; *pp; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			return;
		}
}

static void watch_free(struct ctl_watch *w)
{
	if (w->timer)
		event_free(w->timer);
	for (size_t i = 0; i < w->n_calls; i++)
		free(w->calls[i].plugin);
	free(w->calls);
	free(w->operation);
	free(w);
}

static void watch_end(struct ctl_watch *w, json_t *result)
{
	watch_unlink(w);
	octl_reply_ok(w->req, result);
	watch_free(w);
}

/* The result of an execute: what was sent, shown, and each call. */
static json_t *exec_result(const struct ctl_watch *w)
{
	json_t *calls = json_array();
	for (size_t i = 0; calls && i < w->n_calls; i++) {
		const struct exec_call *c = &w->calls[i];
		json_array_append_new(calls, json_pack("{s:I,s:s,s:b,s:b}", "call",
						       (json_int_t)c->id, "plugin", c->plugin,
						       "correlated", calltag_hosted(c->id),
						       "complete", c->complete));
	}
	return json_pack("{s:i,s:I,s:I,s:b,s:o}", "sent", w->sent, "outputs",
			 (json_int_t)w->outputs, "matched", (json_int_t)w->matched, "complete",
			 w->n_calls && w->n_complete == w->n_calls, "calls",
			 calls ? calls : json_null());
}

static void on_exec_call(void *ctx, uint64_t id, const char *plugin)
{
	struct ctl_watch *w = ctx;
	if (w->n_calls == w->cap_calls) {
		size_t cap = w->cap_calls ? w->cap_calls * 2 : 4;
		struct exec_call *v = realloc(w->calls, cap * sizeof *v);
		if (!v)
			return; /* the call goes unlisted: its outputs are not shown */
		w->calls = v;
		w->cap_calls = cap;
	}
	char *p = strdup(plugin);
	if (!p)
		return;
	w->calls[w->n_calls++] = (struct exec_call){.id = id, .plugin = p};
}

/* calltag's announcement: call id has ended and its outputs were shown.
 * The execute it belongs to returns once all of its calls have. */
static void on_call_complete(void *ctx, uint64_t id)
{
	struct ctl *c = ctx;
	for (struct ctl_watch *w = c->watches; w; w = w->next) {
		struct exec_call *ec = w->operation ? exec_call_of(w, id) : NULL;
		if (!ec || ec->complete)
			continue;
		ec->complete = true;
		/* Before the timer exists, cmd_execute is still sending. */
		if (++w->n_complete == w->n_calls && w->timer)
			watch_end(w, exec_result(w));
		return;
	}
}

static void watch_client_gone(void *arg)
{
	struct ctl_watch *w = arg;
	/* The reply is discarded by the server; it ends the request. */
	watch_end(w, NULL);
}

static void exec_wait_over(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct ctl_watch *w = arg;
	watch_end(w, exec_result(w));
}

static struct ctl_watch *watch_new(struct daemon *d, struct octl_req *r, const char *operation)
{
	struct ctl_watch *w = calloc(1, sizeof *w);
	if (!w || (operation && !(w->operation = strdup(operation)))) {
		free(w);
		return NULL;
	}
	struct ctl *c = daemon_ctl(d);
	w->ctl = c;
	w->req = r;
	w->next = c->watches;
	c->watches = w;
	octl_req_on_close(r, watch_client_gone, w);
	return w;
}

static void cmd_watch(struct daemon *d, struct octl_req *r, json_t *args)
{
	(void)args;
	if (!watch_new(d, r, NULL))
		octl_reply_error(r, "failed", "out of memory");
}

/* ---- mutating commands ------------------------------------------------ */

static int parse_mode(const char *s, enum ocfg_mode *m)
{
	static const char *const names[] = {[OCFG_MODE_ALL] = "all", [OCFG_MODE_ANY] = "any",
					    [OCFG_MODE_DISTRIBUTED] = "distributed",
					    [OCFG_MODE_PLUGIN] = "plugin"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(s, names[i]) == 0) {
			*m = (enum ocfg_mode)i;
			return 0;
		}
	return -EINVAL;
}

static void cmd_execute(struct daemon *d, struct octl_req *r, json_t *args)
{
	const char *op = json_string_value(json_object_get(args, "operation"));
	json_t *jmode = json_object_get(args, "mode");
	const char *plugin = json_string_value(json_object_get(args, "plugin"));
	json_t *data = json_object_get(args, "data");
	json_t *jwait = json_object_get(args, "wait");
	enum ocfg_mode mode = OCFG_MODE_ALL;
	double wait = jwait ? json_number_value(jwait) : 0;
	if (!op || (jmode && (!json_is_string(jmode) ||
			      parse_mode(json_string_value(jmode), &mode) < 0)) ||
	    (data && !json_is_array(data)) || (jwait && !json_is_number(jwait)) || wait < 0 ||
	    wait > 3600) {
		octl_reply_error(r, "bad_arguments",
				 "execute needs {\"operation\": string, \"mode\": all|any|plugin|"
				 "distributed, \"plugin\": id, \"data\": [values], \"wait\": 0..3600}");
		return;
	}
	if (mode == OCFG_MODE_PLUGIN && !plugin) {
		octl_reply_error(r, "bad_arguments", "mode plugin needs \"plugin\"");
		return;
	}
	/* Outputs arriving during the call itself (in-process plugins answer at
	 * once) must reach the waiter: register it before executing. */
	struct ctl_watch *w = wait > 0 ? watch_new(d, r, op) : NULL;
	if (wait > 0 && !w) {
		octl_reply_error(r, "failed", "out of memory");
		return;
	}
	size_t n = data && json_array_size(data) ? json_array_size(data) : 1;
	int sent = 0, rc = 0;
	char *why = NULL;
	/* Distributed spreads the items of one call; otherwise each datum is
	 * one execution. Every datum is checked first: all run or none. */
	size_t runs = mode == OCFG_MODE_DISTRIBUTED ? 1 : n;
	for (int dry = 1; dry >= 0 && rc >= 0; dry--) {
		for (size_t i = 0; i < runs && rc >= 0; i++) {
			json_t *item = mode == OCFG_MODE_DISTRIBUTED ? data : json_array_get(data, i);
			char *text = item ? json_dumps(item, JSON_ENCODE_ANY | JSON_COMPACT)
					  : strdup("null");
			if (!text) {
				rc = -ENOMEM;
				break;
			}
			free(why);
			why = NULL;
			rc = dry ? reqs_check_json(daemon_reqs(d), op, text, mode, plugin, &why)
				 : reqs_execute_json_calls(daemon_reqs(d), op, text, mode, plugin, &why,
							   w ? on_exec_call : NULL, w);
			free(text);
			if (!dry && rc > 0)
				sent += rc;
		}
	}
	if (rc < 0) {
		const char *code = rc == -EINVAL ? "bad_arguments" : rc == -ENOENT ? "not_found"
										  : "failed";
		if (w) {
			watch_unlink(w);
			watch_free(w);
		}
		octl_reply_error(r, code, "%s", why ? why : strerror(-rc));
		free(why);
		return;
	}
	free(why);
	if (!w) {
		octl_reply_ok(r, json_pack("{s:i,s:i}", "sent", sent, "outputs", 0));
		return;
	}
	w->sent = sent;
	struct timeval tv = {(time_t)wait, (suseconds_t)((wait - (double)(time_t)wait) * 1e6)};
	if (!(w->timer = evtimer_new(daemon_base(d), exec_wait_over, w)) || event_add(w->timer, &tv) < 0)
		exec_wait_over(-1, 0, w);
	else if (w->n_calls && w->n_complete == w->n_calls)
		watch_end(w, exec_result(w));
}

/* `close`: one connection orbitd holds, on either side. The core's (side
 * core: remote is a plugin) or a hosted plugin's (side plugin: remote is a
 * core, local or remote; plugin names the hosted plugin). What the
 * arguments leave open is looked for everywhere and must match exactly
 * one connection. */
struct close_ctx {
	const char *remote, *operation;
	const char *plugin;      /* hosted plugin's name or file, NULL: any */
	bool core, plugins;      /* sides looked at */
	json_t *found;           /* [{side, local, plugin}] */
	/* the one to close when found has one entry */
	orbit_orbiter *o;
	struct plugproc *proc;
};

struct want {
	const char *remote, *operation;
	bool found;
};

static int match_conn(void *ctx, const orbit_conn_info *ci)
{
	struct want *w = ctx;
	w->found = !strcmp(ci->remote_id, w->remote) && !strcmp(ci->operation, w->operation);
	return w->found;
}

static bool holds(orbit_orbiter *o, const char *remote, const char *operation)
{
	struct want w = {remote, operation, false};
	orbit_orbiter_foreach_connection(o, match_conn, &w);
	return w.found;
}

static void close_found(struct close_ctx *c, const char *side, const char *local,
			const char *plugin, orbit_orbiter *o, struct plugproc *proc)
{
	json_array_append_new(c->found, json_pack("{s:s,s:s,s:o}", "side", side, "local", local,
						   "plugin",
						   plugin ? json_string(plugin) : json_null()));
	c->o = o;
	c->proc = proc;
}

static int close_look(void *ctx, const struct lplug_info *p)
{
	struct close_ctx *c = ctx;
	if (c->plugin && (!p->name || strcmp(p->name, c->plugin)) && strcmp(p->file, c->plugin))
		return 0;
	if (p->proc) {
		if (plugproc_has_connection(p->proc, c->remote, c->operation))
			close_found(c, "plugin", plugproc_identifier(p->proc), p->name, NULL, p->proc);
		return 0;
	}
	orbit_lender *inst[] = {p->host ? host_orbiter(p->host) : NULL,
				p->host ? host_remote_orbiter(p->host) : NULL};
	for (size_t i = 0; i < 2; i++) {
		orbit_orbiter *o = inst[i] ? orbit_lender_orbiter(inst[i]) : NULL;
		if (o && holds(o, c->remote, c->operation))
			close_found(c, "plugin", orbit_orbiter_id(o), p->name, o, NULL);
	}
	return 0;
}

struct named {
	const char *name;
	bool found;
};

/* Is there a hosted plugin of that name (or file)? */
static int plugin_named(void *ctx, const struct lplug_info *p)
{
	struct named *n = ctx;
	n->found = (p->name && !strcmp(p->name, n->name)) || !strcmp(p->file, n->name);
	return n->found;
}

static void cmd_close(struct daemon *d, struct octl_req *r, json_t *args)
{
	const char *op = json_string_value(json_object_get(args, "operation"));
	const char *remote = json_string_value(json_object_get(args, "remote"));
	const char *plugin = json_string_value(json_object_get(args, "plugin"));
	const char *side = json_string_value(json_object_get(args, "side"));
	bool graceless = json_is_true(json_object_get(args, "graceless"));
	/* Version 1 of the command: {"operation", "plugin"} closed the core's
	 * connection to that plugin. */
	if (!remote && !side) {
		remote = plugin;
		plugin = NULL;
		side = "core";
	}
	if (!op || !remote || (side && strcmp(side, "core") && strcmp(side, "plugin")) ||
	    (plugin && side && !strcmp(side, "core"))) {
		octl_reply_error(r, "bad_arguments",
				 "close needs {\"operation\": string, \"remote\": string, \"side\": "
				 "core|plugin, \"plugin\": hosted plugin (side plugin)}");
		return;
	}
	struct close_ctx c = {.remote = remote, .operation = op, .plugin = plugin,
			      .core = !plugin && (!side || !strcmp(side, "core")),
			      .plugins = !side || !strcmp(side, "plugin"), .found = json_array()};
	orbit_orbiter *co = orbit_core_orbiter(daemon_core(d));
	struct named named = {plugin, false};
	if (plugin)
		loader_foreach(daemon_loader(d), plugin_named, &named);
	if (plugin && !named.found) {
		octl_reply_error(r, "not_found", "no plugin '%s'", plugin);
		goto out;
	}
	if (c.core && holds(co, remote, op))
		close_found(&c, "core", orbit_orbiter_id(co), NULL, co, NULL);
	if (c.plugins)
		loader_foreach(daemon_loader(d), close_look, &c);
	if (json_array_size(c.found) == 0) {
		if (plugin)
			octl_reply_error(r, "not_found", "plugin %s has no connection with %s for %s",
					 plugin, remote, op);
		else
			octl_reply_error(r, "not_found", "no connection to %s for %s on %s", remote,
					 op,
					 c.core && c.plugins ? "either side (the core's or a plugin's)"
					 : c.core	     ? "the core's side"
							     : "a plugin's side");
		goto out;
	}
	if (json_array_size(c.found) > 1) {
		char *which = json_dumps(c.found, JSON_COMPACT);
		octl_reply_error(r, "ambiguous",
				 "%zu connections with %s for %s (%s): say which with --side or "
				 "--plugin",
				 json_array_size(c.found), remote, op, which ? which : "");
		free(which);
		goto out;
	}
	int rc = c.proc ? plugproc_close(c.proc, remote, op, !graceless)
			: orbit_orbiter_close(c.o, remote, op, !graceless, NULL);
	if (rc < 0) {
		octl_reply_error(r, rc == -ENOENT ? "not_found" : "failed",
				 "cannot close the connection with %s for %s: %s", remote, op,
				 strerror(-rc));
		goto out;
	}
	json_t *res = json_incref(json_array_get(c.found, 0));
	json_object_set_new(res, "remote", json_string(remote));
	json_object_set_new(res, "operation", json_string(op));
	json_object_set_new(res, "graceful", json_boolean(!graceless));
	octl_reply_ok(r, res);
out:
	json_decref(c.found);
}

static void cmd_plugin_restart(struct daemon *d, struct octl_req *r, json_t *args)
{
	const char *name = json_string_value(json_object_get(args, "name"));
	char *why = NULL;
	if (!name) {
		octl_reply_error(r, "bad_arguments", "plugin-restart needs {\"name\": string}");
		return;
	}
	int rc = loader_restart(daemon_loader(d), name, &why);
	if (rc < 0)
		octl_reply_error(r, rc == -ENOENT ? "not_found" : "failed", "%s",
				 why ? why : strerror(-rc));
	else
		octl_reply_ok(r, json_pack("{s:s}", "name", name));
	free(why);
}

static void cmd_reload(struct daemon *d, struct octl_req *r, json_t *args)
{
	(void)args;
	char *changes = NULL, *err = NULL;
	if (daemon_reload(d, &changes, &err) < 0)
		octl_reply_error(r, "failed", "%s", err ? err : "reload failed");
	else
		octl_reply_ok(r, json_pack("{s:s}", "changes", changes ? changes : ""));
	free(changes);
	free(err);
}

static void cmd_log_level(struct daemon *d, struct octl_req *r, json_t *args)
{
	(void)d;
	const char *name = json_string_value(json_object_get(args, "level"));
	int level;
	if (!name || olog_parse_level(name, &level) < 0) {
		octl_reply_error(r, "bad_arguments",
				 "log-level needs {\"level\": debug|info|notice|warning|error}");
		return;
	}
	olog_set_level(level);
	olog(LOG_NOTICE, "log level set to %s", olog_level_name(level));
	octl_reply_ok(r, json_pack("{s:s}", "level", olog_level_name(level)));
}

static void cmd_connections_only(struct daemon *d, struct octl_req *r, json_t *args)
{
	(void)args;
	cmd_connections(d, r, false);
}

static void cmd_pending(struct daemon *d, struct octl_req *r, json_t *args)
{
	(void)args;
	cmd_connections(d, r, true);
}

static void cmd_version(struct daemon *d, struct octl_req *r, json_t *args)
{
	(void)d;
	(void)args;
	octl_reply_ok(r, json_pack("{s:s,s:{s:i,s:i}}", "version", ORBIT_VERSION, "abi", "major",
				   ORBIT_PLUGIN_ABI_MAJOR, "minor", ORBIT_PLUGIN_ABI_MINOR));
}

/* Every command: its name, whether it changes the daemon (then it needs a
 * privileged peer) and its handler. A command kept in a module of its own
 * declares its handler in ctlcmds.h and gets one line here. */
static const struct ctl_cmd {
	const char *name;
	bool mutating;
	ctl_cmd_fn *run;
} commands[] = {
	{"status", false, cmd_status},
	{"plugins", false, cmd_plugins},
	{"plugin", false, cmd_plugin},
	{"requirements", false, cmd_requirements},
	{"connections", false, cmd_connections_only},
	{"pending", false, cmd_pending},
	{"watch", false, cmd_watch},
	{"trace", false, ctl_cmd_trace},
	{"execute", true, cmd_execute},
	{"close", true, cmd_close},
	{"plugin-restart", true, cmd_plugin_restart},
	{"reload", true, cmd_reload},
	{"log-level", true, cmd_log_level},
	{"version", false, cmd_version},
	{"stats", false, ctl_cmd_stats},
};

static void handle(void *ctx, struct octl_req *r, const char *cmd, json_t *args)
{
	struct daemon *d = ((struct ctl *)ctx)->d;
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		const struct ctl_cmd *c = &commands[i];
		if (strcmp(cmd, c->name) != 0)
			continue;
		if (c->mutating && !octl_req_privileged(r))
			octl_reply_error(r, "permission_denied",
					 "'%s' changes the daemon: needs root, the daemon's user "
					 "or the control group",
					 cmd);
		else
			c->run(d, r, args);
		return;
	}
	octl_reply_error(r, "unknown_command", "unknown command '%s'", cmd);
}

static struct octl_limits limits_of(const struct ocfg_control *c)
{
	return (struct octl_limits){.max_request = c->max_request,
				    .max_clients = c->max_clients,
				    .idle_timeout = c->idle_timeout,
				    .client_buffer = (size_t)c->client_buffer,
				    .total_buffer = (size_t)c->total_buffer};
}

void ctl_apply_limits(struct ctl *c, const struct ocfg_control *cfg)
{
	if (!c)
		return;
	struct octl_limits lim = limits_of(cfg);
	octl_set_limits(c->srv, &lim);
	deadlist_set_max(c->dead, cfg->dead_remotes);
}

struct ctl *ctl_start(struct daemon *d, char **err)
{
	const struct ocfg_control *cc = &daemon_config(d)->control;
	struct ctl *c = calloc(1, sizeof *c);
	char *path = NULL;
	/* The built-in default names the system directory; a daemon run by a
	 * user (make run) gets the per-user place orbitctl also looks at. */
	if (!daemon_opts(d)->socket && strcmp(cc->socket, SOCKPATH_SYSTEM) == 0)
		path = sockpath_default();
	else
		path = strdup(cc->socket);
	if (!c || !path || !(c->dead = deadlist_new(cc->dead_remotes))) {
		*err = strdup("out of memory");
		goto fail;
	}
	c->d = d;
	struct octl_limits lim = limits_of(cc);
	if (!(c->srv = octl_new(daemon_base(d), path, cc->mode, cc->group, &lim, handle, c, err)))
		goto fail;
	olog(LOG_INFO, "control socket %s", path);
	free(path);
	calltag_set_complete(on_call_complete, c);
	return c;
fail:
	free(path);
	ctl_stop(c);
	return NULL;
}

void ctl_socket_stats(const struct ctl *c, struct octl_stats *st)
{
	if (c && c->srv)
		octl_stats(c->srv, st);
	else
		*st = (struct octl_stats){0};
}

void ctl_stop(struct ctl *c)
{
	if (!c)
		return;
	/* Streams end with a final reply while their requests still exist;
	 * octl_free then closes the connections. */
	calltag_set_complete(NULL, NULL);
	while (c->watches)
		watch_end(c->watches, NULL);
	octl_free(c->srv);
	deadlist_free(c->dead);
	free(c);
}
