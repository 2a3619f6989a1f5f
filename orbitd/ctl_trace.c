/* ctl_trace.c — see ctl_trace.h. The event shape is documented in
 * orbitctl(1) "trace":
 *   {"type":"trace","time":ISO,"direction":"sent"|"received","bus":B,
 *    "orbiter":ID,"role":"core"|"plugin","plugin":NAME|null,"topic":T,
 *    "message_type":C|null,"kind":K|null,"fields":{...}|null,"error":E|null}
 * One event is built per message and shared by every client it matches.
 */
#include "ctl_trace.h"
#include "control.h"
#include "ctlcmds.h"
#include "strfmt.h"
#include "plugproc.h"

#include <orbit/bus.h>
#include <orbit/protocol.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct tracer {
	struct tracer *next;
	struct octl_req *req;
	char *remote;    /* --remote: an identifier field or a topic part; NULL: any */
	char *operation; /* --operation; NULL: any */
};

/* One daemon per process: its trace clients. */
static struct {
	struct daemon *d;
	struct tracer *list;
} T;

/* ---- filters ---------------------------------------------------------- */

/* Whether topic has id as one of its dot-separated parts (every topic
 * naming a peer does: "$keepalive.ID", "OP.CORE.PLUGIN.close", ...). */
static bool topic_names(const char *topic, const char *id)
{
	size_t n = strlen(id);
	for (const char *s = topic; s; s = strchr(s, '.')) {
		if (*s == '.')
			s++;
		if (strncmp(s, id, n) == 0 && (s[n] == '.' || s[n] == 0))
			return true;
	}
	return false;
}

static bool suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	return n >= m && strcmp(s + n - m, suf) == 0;
}

static bool matches_remote(json_t *ev, const char *id)
{
	const char *key;
	json_t *v;
	json_object_foreach(json_object_get(ev, "fields"), key, v)
		if (suffix(key, "identifier") && json_is_string(v) &&
		    strcmp(json_string_value(v), id) == 0)
			return true;
	return topic_names(json_string_value(json_object_get(ev, "topic")), id);
}

/* The operation: a message's operation_name, an Offer's offered
 * operations, a Discover's queries, or the first part of a connection's
 * topic ("OP.CORE.PLUGIN.close", ".output", ".input.UUID"). */
static bool matches_operation(json_t *ev, const char *op)
{
	json_t *f = json_object_get(ev, "fields"), *v;
	size_t i;
	const char *name = json_string_value(json_object_get(f, "operation_name"));
	if (name && strcmp(name, op) == 0)
		return true;
	if (json_object_get(json_object_get(f, "queries"), op))
		return true;
	json_array_foreach(json_object_get(f, "offered_operations"), i, v) {
		name = json_string_value(json_object_get(v, "name"));
		if (name && strcmp(name, op) == 0)
			return true;
	}
	const char *topic = json_string_value(json_object_get(ev, "topic"));
	size_t n = strlen(op);
	return topic && topic[0] != '$' && strncmp(topic, op, n) == 0 && topic[n] == '.';
}

/* ---- events ----------------------------------------------------------- */

static void broadcast(json_t *ev)
{
	for (struct tracer *t = T.list; t; t = t->next)
		if ((!t->remote || matches_remote(ev, t->remote)) &&
		    (!t->operation || matches_operation(ev, t->operation)))
			octl_req_event(t->req, json_incref(ev));
	json_decref(ev);
}

/* fields: borrowed (may be NULL); error: static text or NULL. */
static void emit(orbit_direction dir, const char *bus, const char *orbiter, const char *role,
		 const char *plugin, const char *topic, const char *message_type, int kind,
		 const json_t *fields, const char *error)
{
	char t[40];
	const char *label = kind >= 0 ? orbit_msg_kind_label((orbit_msg_kind)kind) : NULL;
	json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s?,s:s,s:s?,s:s?,s:O?,s:s?}", "type",
			       "trace", "time", iso_utc_now(t, sizeof t, 6), "direction",
			       dir == ORBIT_DIR_SENT ? "sent" : "received", "bus", bus, "orbiter",
			       orbiter, "role", role, "plugin", plugin, "topic", topic,
			       "message_type", message_type, "kind", label, "fields",
			       (json_t *)fields, "error", error);
	if (ev)
		broadcast(ev);
}

/* Whether id is the identifier of one of the daemon's plugins. */
struct local_find {
	const char *id;
	bool found;
};

static int is_local(void *ctx, const struct lplug_info *p)
{
	struct local_find *f = ctx;
	const char *id = p->proc ? plugproc_identifier(p->proc)
		       : p->host ? orbit_orbiter_id(orbit_lender_orbiter(host_orbiter(p->host)))
				 : NULL;
	if (id && strcmp(id, f->id) == 0)
		f->found = true;
	return f->found;
}

/* The bus of a core message. The core sits on both buses (orbit/bus.h's
 * dual bus): a publish goes to both for the discover topic, else to the
 * in-process bus when someone there listens (its rule, asked the same way);
 * a received message came in-process when its sender is one of our plugins
 * (our own core is kept off their MQTT orbiters), else over MQTT. */
static const char *core_bus(struct daemon *d, const orbit_observed *m)
{
	if (!d->mqtt)
		return "local";
	if (m->direction == ORBIT_DIR_SENT) {
		if (strcmp(m->topic, d->cfg->discover_topic) == 0)
			return "local+mqtt";
		return orbit_local_bus_has_subscribers(d->bus, m->topic) ? "local" : "mqtt";
	}
	json_t *f = (json_t *)m->fields;
	struct local_find lf = {json_string_value(json_object_get(f, "plugin_identifier")), false};
	if (!lf.id)
		lf.id = json_string_value(json_object_get(f, "from_identifier"));
	if (lf.id)
		loader_foreach(d->loader, is_local, &lf);
	return lf.found ? "local" : "mqtt";
}

static void observed(orbit_orbiter *o, const orbit_observed *m, const char *bus, const char *role)
{
	emit(m->direction, bus, orbit_orbiter_id(o), role, NULL, m->topic, m->message_type,
	     m->kind, m->fields, m->error_text);
}

static void on_core(void *ctx, orbit_orbiter *o, const orbit_observed *m)
{
	observed(o, m, core_bus(ctx, m), "core");
}

static void on_plugin_local(void *ctx, orbit_orbiter *o, const orbit_observed *m)
{
	(void)ctx;
	observed(o, m, "local", "plugin");
}

static void on_plugin_mqtt(void *ctx, orbit_orbiter *o, const orbit_observed *m)
{
	(void)ctx;
	observed(o, m, "mqtt", "plugin");
}

/* A message an isolated plugin's process published or was forwarded:
 * payload messages are not protocol ones and are left out. */
static void on_forwarded(void *ctx, const char *plugin, const char *identifier,
			 orbit_direction dir, unsigned bus, const char *topic,
			 const orbit_payload *p, int rc)
{
	(void)ctx;
	int kind = p->message_type ? orbit_msg_kind_from_name(p->message_type) : -EINVAL;
	if (kind < 0)
		return;
	json_t *desc = NULL;
	int drc = orbit_protocol_describe_json(p, &desc);
	/* A protocol class name on bytes that are not Avro is malformed too. */
	const char *error = rc < 0	      ? orbit_protocol_error(rc)
			    : drc == -EINVAL ? orbit_protocol_error(-EBADMSG)
			    : drc < 0	      ? orbit_protocol_error(drc)
					      : NULL;
	emit(dir, bus ? "mqtt" : "local", identifier, "plugin", plugin, topic, p->message_type, kind,
	     json_object_get(desc, "fields"), error);
	json_decref(desc);
}

/* ---- attaching -------------------------------------------------------- */

static void observe_host(orbit_host *h, bool on)
{
	orbit_lender *l = host_orbiter(h), *r = host_remote_orbiter(h);
	if (l)
		orbit_orbiter_set_observer(orbit_lender_orbiter(l), on ? on_plugin_local : NULL, NULL);
	if (r)
		orbit_orbiter_set_observer(orbit_lender_orbiter(r), on ? on_plugin_mqtt : NULL, NULL);
}

static int observe_plugin(void *ctx, const struct lplug_info *p)
{
	if (p->host)
		observe_host(p->host, ctx != NULL);
	return 0;
}

/* Set (on) or remove every observer and the tap. */
static void observe_all(struct daemon *d, bool on)
{
	orbit_orbiter_set_observer(orbit_core_orbiter(d->core), on ? on_core : NULL, d);
	loader_foreach(d->loader, observe_plugin, on ? d : NULL);
	plugproc_set_tap(on ? on_forwarded : NULL, d);
}

void ctl_trace_plugin(struct daemon *d, const struct lplug_info *p)
{
	if (T.list && T.d == d && p->host)
		observe_host(p->host, true);
}

static void tracer_gone(void *arg)
{
	struct tracer *t = arg;
	for (struct tracer **pp = &T.list; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	if (!T.list)
		observe_all(T.d, false);
	/* The client is gone: the reply is discarded, and frees the request. */
	octl_reply_ok(t->req, NULL);
	free(t->remote);
	free(t->operation);
	free(t);
}

/* An optional non-empty string argument into *out (malloc'd, NULL when
 * absent). -EINVAL when present but not one, -ENOMEM. */
static int opt_string(json_t *args, const char *key, char **out)
{
	json_t *v = json_object_get(args, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v) || !*json_string_value(v))
		return -EINVAL;
	return (*out = strdup(json_string_value(v))) ? 0 : -ENOMEM;
}

void ctl_cmd_trace(struct daemon *d, struct octl_req *r, json_t *args)
{
	struct tracer *t = calloc(1, sizeof *t);
	int rc = t ? 0 : -ENOMEM;
	if (rc == 0 && (rc = opt_string(args, "remote", &t->remote)) == 0)
		rc = opt_string(args, "operation", &t->operation);
	if (rc < 0) {
		if (rc == -EINVAL)
			octl_reply_error(r, OCTL_E_BAD_ARGUMENTS,
					 "trace takes {\"remote\": identifier, \"operation\": name}, "
					 "both optional non-empty strings");
		else
			octl_reply_error(r, OCTL_E_FAILED, "out of memory");
		if (t) {
			free(t->remote);
			free(t);
		}
		return;
	}
	t->req = r;
	if (!T.list) {
		T.d = d;
		observe_all(d, true);
	}
	t->next = T.list;
	T.list = t;
	octl_req_on_close(r, tracer_gone, t);
}
