/* reqs.c — see reqs.h.
 *
 * Built-in kinds are required in both Python flavours of their schema
 * (SPEC §2.10): a Python plugin compares schema strings exactly and accepts
 * when any listed entry matches, while C peers compare structurally anyway.
 */
#include "reqs.h"
#include "calltag.h"
#include "strfmt.h"
#include "log.h"
#include "sink.h"

#include <orbit/payload_json.h>
#include <orbit/stats.h>

#include <errno.h>
#include <event2/event.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct reqrt {
	struct reqs *owner;
	const struct ocfg_req *req; /* borrowed from owner->cfg */
	struct osink *sink;
	struct event *sched;
	unsigned sched_misses;      /* consecutive schedule runs with no connection */
};

struct reqs {
	struct event_base *base;
	orbit_core *core;
	const struct orbitd_config *cfg;
	reqs_observer_fn observer;
	void *obs_ctx;
	struct reqrt *v;
	size_t n;
};


static struct reqrt *find(struct reqs *r, const char *operation)
{
	for (size_t i = 0; r && i < r->n; i++)
		if (strcmp(r->v[i].req->operation, operation) == 0)
			return &r->v[i];
	return NULL;
}

/* ---- specs ------------------------------------------------------------ */

/* Specs of one YAML type: one, or two for a built-in kind (both flavours). */
static int type_specs(const struct ocfg_type *t, orbit_spec *out, size_t *n)
{
	*n = 0;
	if (t->kind == OCFG_KIND_SCHEMA) {
		int rc = orbit_spec_init_schema(&out[0], t->schema);
		*n = rc == 0;
		return rc;
	}
	orbit_kind k = (orbit_kind)t->kind;
	int rc = orbit_spec_init_kind(&out[0], k);
	if (rc < 0)
		return rc;
	*n = 1;
	const char *alt = orbit_kind_schema(k, ORBIT_FLAVOUR_PY313);
	const char *main_schema = orbit_kind_schema(k, ORBIT_FLAVOUR_PY312);
	if (alt && main_schema && strcmp(alt, main_schema) != 0) {
		if ((rc = orbit_spec_init(&out[1], &alt, 1, false, false)) < 0)
			return rc;
		*n = 2;
	}
	return 0;
}

static int specs_of(const struct ocfg_type *types, size_t n_types, orbit_spec **out, size_t *n)
{
	*out = calloc(n_types * 2, sizeof **out);
	*n = 0;
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < n_types; i++) {
		size_t k = 0;
		int rc = type_specs(&types[i], *out + *n, &k);
		*n += k;
		if (rc < 0)
			return rc;
	}
	return 0;
}

static void specs_free(orbit_spec *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		orbit_spec_clear(&v[i]);
	free(v);
}

static int require(orbit_core *core, const struct ocfg_req *q)
{
	orbit_spec *in = NULL, *out = NULL;
	size_t n_in = 0, n_out = 0;
	int rc = specs_of(q->inputs, q->n_inputs, &in, &n_in);
	if (rc == 0)
		rc = specs_of(q->outputs, q->n_outputs, &out, &n_out);
	if (rc == 0) {
		orbit_requirement r = {
			.operation = q->operation,
			.minimum = q->minimum,
			.maximum = q->maximum,
			.mandatory = q->mandatory,
			.allowlist = q->allowlist,
			.blocklist = q->blocklist,
			.inputs = in,
			.n_inputs = n_in,
			.outputs = out,
			.n_outputs = n_out,
			.setup_data = {q->setup_data.data, q->setup_data.len, q->setup_data.set},
		};
		rc = orbit_core_require(core, &r);
	}
	specs_free(in, n_in);
	specs_free(out, n_out);
	return rc;
}

/* ---- outputs into sinks ----------------------------------------------- */

static void on_output(void *ctx, orbit_core *core, const orbit_conn_info *conn,
		      const orbit_payload *p)
{
	struct reqrt *rt = ctx;
	char *json = NULL;
	int rc = orbit_payload_to_json(p, conn->output, &json);
	if (rc < 0) {
		olog(LOG_WARNING, "output of %s from %s (%s, %zu bytes) not decodable: %s",
		     conn->operation, conn->remote_id,
		     p->message_type ? p->message_type : "no message type", p->len,
		     strerror(-rc));
		return;
	}
	struct calltag_match m;
	calltag_arrived(conn->output_topic, p, &m);
	/* The core's latency of the operation: execute to output, for the
	 * outputs whose call is known (the engine alone cannot pair them). */
	orbit_histogram *lat = m.call ? orbit_orbiter_latency(orbit_core_orbiter(core),
							      conn->operation)
				      : NULL;
	if (lat)
		orbit_histogram_add(lat, m.latency);
	struct osink_call sc = {.call = m.call, .latency = m.latency};
	osink_deliver_call(rt->sink, conn->remote_id, json, &sc);
	if (rt->owner->observer)
		rt->owner->observer(rt->owner->obs_ctx, conn->operation, conn->remote_id, json,
				    &m);
	free(json);
	/* The output is handed on: its call may be complete now. */
	calltag_settle(m.call);
}

static int sink_execute(void *ctx, const char *operation, enum ocfg_mode mode, const char *json)
{
	struct reqs *r = ctx;
	char *why = NULL;
	int rc = reqs_execute_json(r, operation, json, mode, NULL, &why);
	if (rc == -EINVAL)
		olog(LOG_WARNING, "pipeline into %s: %s", operation, why ? why : "bad data");
	free(why);
	return rc;
}

/* ---- schedules -------------------------------------------------------- */

static void on_schedule(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct reqrt *rt = arg;
	const struct ocfg_schedule *s = &rt->req->schedule;
	char *why = NULL;
	int rc = reqs_execute_json(rt->owner, rt->req->operation, s->data_json, s->mode, s->plugin,
				   &why);
	if (rc >= 0) {
		rt->sched_misses = 0;
		olog(LOG_DEBUG, "schedule %s: sent %d", rt->req->operation, rc);
	} else if (rc == -ENOENT) {
		/* Normal until the core is compliant: say it once, then quietly. */
		if (rt->sched_misses++ == 0)
			olog(LOG_INFO, "schedule %s: no connection to execute on yet",
			     rt->req->operation);
	} else {
		olog(LOG_WARNING, "schedule %s: %s", rt->req->operation,
		     why ? why : strerror(-rc));
	}
	free(why);
}

/* ---- lifecycle -------------------------------------------------------- */

struct reqs *reqs_new(struct event_base *base, orbit_core *core,
		      const struct orbitd_config *cfg, reqs_observer_fn observer, void *obs_ctx,
		      char **err)
{
	*err = NULL;
	struct reqs *r = calloc(1, sizeof *r);
	if (!r || (cfg->n_reqs && !(r->v = calloc(cfg->n_reqs, sizeof *r->v)))) {
		free(r);
		*err = strfmt("out of memory");
		return NULL;
	}
	r->base = base;
	r->core = core;
	r->cfg = cfg;
	r->observer = observer;
	r->obs_ctx = obs_ctx;
	for (size_t i = 0; i < cfg->n_reqs; i++) {
		struct reqrt *rt = &r->v[r->n];
		rt->owner = r;
		rt->req = &cfg->reqs[i];
		r->n++;
		char *e = NULL;
		if (!(rt->sink = osink_new(base, rt->req->operation, &rt->req->sink, sink_execute,
					   r, &e))) {
			const struct ocfg_where *w = &rt->req->sink.where;
			*err = strfmt("%s:%d:%d: sink of '%s': %s", w->file, w->line, w->column,
				    rt->req->operation, e ? e : "cannot be created");
			free(e);
			goto fail;
		}
		if (rt->req->schedule.set && !(rt->sched = event_new(base, -1, EV_PERSIST,
								     on_schedule, rt))) {
			*err = strfmt("out of memory");
			goto fail;
		}
	}
	return r;
fail:
	reqs_free(r);
	return NULL;
}

static bool str_same(const char *a, const char *b)
{
	return a && b ? strcmp(a, b) == 0 : a == b;
}

static bool types_same(const struct ocfg_type *a, size_t na, const struct ocfg_type *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (a[i].kind != b[i].kind || !str_same(a[i].schema, b[i].schema))
			return false;
	return true;
}

/* Whether a reload changed anything of a requirement (for the summary). */
static bool req_same(const struct ocfg_req *a, const struct ocfg_req *b)
{
	const struct ocfg_sink *sa = &a->sink, *sb = &b->sink;
	const struct ocfg_schedule *ha = &a->schedule, *hb = &b->schedule;
	if (a->minimum != b->minimum || a->maximum != b->maximum ||
	    !orbit_idlist_equal(a->mandatory, b->mandatory) ||
	    !orbit_idlist_equal(a->allowlist, b->allowlist) ||
	    !orbit_idlist_equal(a->blocklist, b->blocklist) ||
	    !types_same(a->inputs, a->n_inputs, b->inputs, b->n_inputs) ||
	    !types_same(a->outputs, a->n_outputs, b->outputs, b->n_outputs) ||
	    a->setup_data.set != b->setup_data.set || a->setup_data.len != b->setup_data.len ||
	    (a->setup_data.len && memcmp(a->setup_data.data, b->setup_data.data, a->setup_data.len)))
		return false;
	if (sa->type != sb->type || !str_same(sa->path, sb->path) ||
	    !str_same(sa->operation, sb->operation) || sa->mode != sb->mode || sa->argc != sb->argc ||
	    sa->timeout != sb->timeout)
		return false;
	for (size_t i = 0; i < sa->argc; i++)
		if (!str_same(sa->argv[i], sb->argv[i]))
			return false;
	return ha->set == hb->set && ha->every == hb->every && ha->mode == hb->mode &&
	       str_same(ha->data_json, hb->data_json) && str_same(ha->plugin, hb->plugin);
}

static void append(char **s, const char *what, const char *name)
{
	char *n = *s ? strfmt("%s, %s%s", *s, what, name) : strfmt("%s%s", what, name);
	if (n) {
		free(*s);
		*s = n;
	}
}

int reqs_apply(struct reqs *r, struct reqs *old, char **summary)
{
	*summary = NULL;
	int first = 0;
	for (size_t i = 0; old && i < old->n; i++) {
		struct reqrt *ort = &old->v[i];
		if (ort->sched)
			event_del(ort->sched);
		if (find(r, ort->req->operation))
			continue;
		orbit_core_set_sink(r->core, ort->req->operation, NULL, NULL);
		orbit_core_unrequire(r->core, ort->req->operation);
		append(summary, "removed ", ort->req->operation);
	}
	for (size_t i = 0; i < r->n; i++) {
		struct reqrt *rt = &r->v[i];
		int rc = require(r->core, rt->req);
		if (rc < 0) {
			olog(LOG_ERR, "requirement %s (%s:%d): refused by the core: %s",
			     rt->req->operation, rt->req->where.file, rt->req->where.line,
			     strerror(-rc));
			if (!first)
				first = rc;
			continue;
		}
		orbit_core_set_sink(r->core, rt->req->operation, on_output, rt);
		struct reqrt *prev = old ? find(old, rt->req->operation) : NULL;
		if (old && !prev)
			append(summary, "added ", rt->req->operation);
		else if (prev && !req_same(prev->req, rt->req))
			append(summary, "updated ", rt->req->operation);
		if (rt->sched) {
			double every = rt->req->schedule.every;
			struct timeval tv = {(time_t)every,
					     (suseconds_t)((every - (double)(time_t)every) * 1e6)};
			event_add(rt->sched, &tv);
		}
	}
	return first;
}

void reqs_stop_schedules(struct reqs *r)
{
	for (size_t i = 0; r && i < r->n; i++)
		if (r->v[i].sched)
			event_del(r->v[i].sched);
}

static orbit_exec_mode exec_mode(enum ocfg_mode m)
{
	switch (m) {
	case OCFG_MODE_ANY:
		return ORBIT_EXEC_ANY;
	case OCFG_MODE_DISTRIBUTED:
		return ORBIT_EXEC_DISTRIBUTED;
	case OCFG_MODE_PLUGIN:
		return ORBIT_EXEC_PLUGIN;
	case OCFG_MODE_ALL:
		break;
	}
	return ORBIT_EXEC_ALL;
}

/* Items of json for one spec: a single item, or each element of an array
 * in DISTRIBUTED mode. Fills items/bufs (n of each); *schema borrows. */
static int encode_items(const char *json, enum ocfg_mode mode, const orbit_spec *spec,
			orbit_payload **items, uint8_t ***bufs, size_t *n, const char **schema,
			char **why)
{
	*items = NULL;
	*bufs = NULL;
	*n = 0;
	json_t *arr = NULL;
	size_t count = 1;
	if (mode == OCFG_MODE_DISTRIBUTED) {
		json_error_t je;
		arr = json_loads(json, JSON_DECODE_ANY, &je);
		if (!json_is_array(arr) || json_array_size(arr) == 0) {
			json_decref(arr);
			*why = strfmt("distributed execution needs a non-empty JSON array of items");
			return -EINVAL;
		}
		count = json_array_size(arr);
	}
	int rc = -ENOMEM;
	if (!(*items = calloc(count, sizeof **items)) || !(*bufs = calloc(count, sizeof **bufs)))
		goto out;
	for (size_t i = 0; i < count; i++) {
		char *item = arr ? json_dumps(json_array_get(arr, i), JSON_ENCODE_ANY | JSON_COMPACT)
				 : NULL;
		if (arr && !item)
			goto out;
		const char *used = NULL;
		rc = orbit_payload_from_json(arr ? item : json, spec, &(*items)[i], &(*bufs)[i],
					     &used, why);
		free(item);
		(*n)++;
		if (rc < 0)
			goto out;
		/* Every item goes with one schema; the spec has a single one. */
		*schema = used;
	}
	rc = 0;
out:
	json_decref(arr);
	return rc;
}

static void items_free(orbit_payload *items, uint8_t **bufs, size_t n)
{
	for (size_t i = 0; bufs && i < n; i++)
		free(bufs[i]);
	free(bufs);
	free(items);
}

/* ---- tagging the calls ------------------------------------------------ */

struct tagging {
	orbit_core *core;
	const char *operation;
	const orbit_payload *items;
	reqs_call_fn on_call;
	void *ctx;
	const char *plugin;    /* looked for */
	const char *topic;     /* its connection's input topic */
};

static int input_topic_of(void *ctx, const orbit_conn_info *c)
{
	struct tagging *t = ctx;
	if (strcmp(c->remote_id, t->plugin) || strcmp(c->operation, t->operation))
		return 0;
	t->topic = c->input_topic;
	return 1;
}

/* The core has just published item to plugin (delivery comes later, from
 * the loop): tag it on the connection's input topic. A walk over the
 * connections, the price of finding a topic through the public API. */
static void on_target(void *ctx, const char *plugin_id, size_t item)
{
	struct tagging *t = ctx;
	t->plugin = plugin_id;
	t->topic = NULL;
	orbit_orbiter_foreach_connection(orbit_core_orbiter(t->core), input_topic_of, t);
	uint64_t id = t->topic ? calltag_send(t->topic, &t->items[item]) : 0;
	if (t->on_call)
		t->on_call(t->ctx, id, plugin_id);
}

/* Encode json for operation and, unless dry, execute it. */
static int execute_json(struct reqs *r, const char *operation, const char *json,
			enum ocfg_mode mode, const char *plugin, char **why, bool dry,
			reqs_call_fn on_call, void *call_ctx)
{
	char *dummy = NULL;
	if (!why)
		why = &dummy;
	*why = NULL;
	struct reqrt *rt = find(r, operation);
	if (!rt) {
		*why = strfmt("'%s' is not a required operation", operation);
		return -ENOENT;
	}
	if (mode == OCFG_MODE_PLUGIN && !plugin) {
		*why = strfmt("plugin mode needs a plugin identifier");
		return -EINVAL;
	}
	int rc = -ENOENT;
	char *reasons = NULL;
	bool fitted = false;
	for (size_t i = 0; i < rt->req->n_inputs; i++) {
		orbit_spec specs[2];
		size_t n_specs = 0;
		if (type_specs(&rt->req->inputs[i], specs, &n_specs) < 0) {
			rc = -ENOMEM;
			break;
		}
		/* The first flavour is enough to encode: C and Python peers alike
		 * accept the same bytes; matching is structural. */
		orbit_payload *items = NULL;
		uint8_t **bufs = NULL;
		size_t n = 0;
		const char *schema = NULL;
		char *e = NULL;
		int erc = encode_items(json, mode, &specs[0], &items, &bufs, &n, &schema, &e);
		if (erc == 0 && dry) {
			fitted = true;
			rc = 0;
		} else if (erc == 0) {
			fitted = true;
			struct tagging t = {.core = r->core, .operation = operation,
					    .items = items, .on_call = on_call, .ctx = call_ctx};
			orbit_exec x = {.mode = exec_mode(mode), .plugin_id = plugin,
					.schema = schema, .items = items, .n_items = n,
					.on_target = on_target, .ctx = &t};
			rc = orbit_core_execute(r->core, operation, &x);
		} else if (erc == -EINVAL) {
			char *joined = reasons ? strfmt("%s; %s", reasons, e ? e : "does not fit")
					       : strfmt("%s", e ? e : "does not fit");
			free(reasons);
			reasons = joined;
		} else {
			rc = erc;
		}
		free(e);
		items_free(items, bufs, n);
		for (size_t k = 0; k < n_specs; k++)
			orbit_spec_clear(&specs[k]);
		if (rc != -ENOENT)
			break;
	}
	if (!fitted && rc == -ENOENT) {
		rc = -EINVAL;
		*why = strfmt("data %s fits no input of '%s': %s", json, operation,
			    reasons ? reasons : "no input types");
	} else if (rc == -ENOENT) {
		*why = strfmt("no connection for '%s'%s%s", operation, plugin ? " to " : "",
			    plugin ? plugin : "");
	}
	free(reasons);
	free(dummy);
	return rc;
}

int reqs_execute_json(struct reqs *r, const char *operation, const char *json,
		      enum ocfg_mode mode, const char *plugin, char **why)
{
	return execute_json(r, operation, json, mode, plugin, why, false, NULL, NULL);
}

int reqs_execute_json_calls(struct reqs *r, const char *operation, const char *json,
			    enum ocfg_mode mode, const char *plugin, char **why,
			    reqs_call_fn on_call, void *ctx)
{
	return execute_json(r, operation, json, mode, plugin, why, false, on_call, ctx);
}

int reqs_check_json(struct reqs *r, const char *operation, const char *json,
		    enum ocfg_mode mode, const char *plugin, char **why)
{
	return execute_json(r, operation, json, mode, plugin, why, true, NULL, NULL);
}

void reqs_free(struct reqs *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		osink_free(r->v[i].sink);
		if (r->v[i].sched)
			event_free(r->v[i].sched);
	}
	free(r->v);
	free(r);
}
