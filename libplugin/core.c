/* core.c — the core role: requirements, residual constraints, discovery,
 * offers → requests, confirms → connections, compliance (SPEC §4.2–§4.7).
 *
 * Intent over Python (DESIGN §3): plugins listed as mandatory do not count
 * toward minimum/maximum; pending requests count toward maximum; an Offer
 * naming an operation we do not require gets a Reject for that operation
 * only; a late Confirm is answered with a Graceless so the plugin does not
 * keep a one-sided connection; discovery slows down while compliant instead of
 * running at full rate forever. Execution lives in core_execute.c.
 */
#include "core_internal.h"
#include "liblog.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ORB(c) (&(c)->o)

static void req_free(struct req *r)
{
	if (!r)
		return;
	free(r->operation);
	orbit_idlist_free(r->mandatory);
	orbit_idlist_free(r->allowlist);
	orbit_idlist_free(r->blocklist);
	for (size_t i = 0; i < r->n_inputs; i++)
		orbit_spec_clear(&r->inputs[i]);
	for (size_t i = 0; i < r->n_outputs; i++)
		orbit_spec_clear(&r->outputs[i]);
	free(r->inputs);
	free(r->outputs);
	free(r->setup_data.data);
	free(r);
}

/* Whether v[0..n) holds s exactly: the same schema strings byte for byte
 * (a Python peer compares them doc included, SPEC §4.9) and the same flags. */
static bool listed(const orbit_spec *v, size_t n, const orbit_spec *s)
{
	for (size_t i = 0; i < n; i++) {
		if (v[i].n_schemas != s->n_schemas || v[i].support_empty != s->support_empty ||
		    v[i].support_undefined != s->support_undefined)
			continue;
		size_t j = 0;
		while (j < s->n_schemas && strcmp(v[i].schemas[j], s->schemas[j]) == 0)
			j++;
		if (j == s->n_schemas)
			return true;
	}
	return false;
}

/* Append a copy of s to v (k entries so far) unless it is listed already.
 * Only s's strings and flags are read (a built-in's view has no canon). */
static int add_unique(orbit_spec *v, size_t *k, const orbit_spec *s)
{
	if (listed(v, *k, s))
		return 0;
	if (orbit_spec_init(&v[*k], (const char *const *)s->schemas, s->n_schemas,
			    s->support_empty, s->support_undefined) < 0)
		return -ENOMEM;
	(*k)++;
	return 0;
}

/* Copy specs, listing a built-in payload schema in both Python flavours
 * (SPEC §2.10: a Python plugin compares the strings doc included and
 * accepts when any entry matches), each flavour once: a spec given twice, or
 * a requirement that lists both flavours already (orbitd's do), is not
 * repeated — each copy cost ~150 bytes per Discover for nothing. */
static int copy_specs_with_flavours(orbit_spec **dst, size_t *n_dst, const orbit_spec *src,
				    size_t n)
{
	orbit_spec *v = calloc(n * 3 + 1, sizeof(*v));
	size_t k = 0;
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (add_unique(v, &k, &src[i]) < 0)
			goto fail;
		if (src[i].n_schemas != 1)
			continue;
		for (int kind = ORBIT_KIND_STRING; kind <= ORBIT_KIND_FLOAT64; kind++) {
			const char *s312 = orbit_kind_schema((orbit_kind)kind, ORBIT_FLAVOUR_PY312);
			if (!orbit_schema_equal(src[i].schemas[0], s312))
				continue;
			for (int f = ORBIT_FLAVOUR_PY312; f <= ORBIT_FLAVOUR_PY313; f++) {
				char *flavour = (char *)orbit_kind_schema((orbit_kind)kind,
									  (orbit_flavour)f);
				orbit_spec view = {
					.schemas = &flavour,
					.n_schemas = 1,
					.support_empty = src[i].support_empty,
					.support_undefined = src[i].support_undefined,
				};
				if (add_unique(v, &k, &view) < 0)
					goto fail;
			}
			break;
		}
	}
	*dst = v;
	*n_dst = k;
	return 0;
fail:
	for (size_t i = 0; i < k; i++)
		orbit_spec_clear(&v[i]);
	free(v);
	return -ENOMEM;
}

static struct req *req_new(const orbit_requirement *r)
{
	if (!r->operation || !*r->operation || strpbrk(r->operation, "+#/") || r->minimum < 0 ||
	    (r->maximum != ORBIT_UNLIMITED && (r->maximum < 0 || r->maximum < r->minimum)) ||
	    (r->allowlist && r->blocklist) || !r->n_inputs || !r->n_outputs) {
		errno = EINVAL;
		return NULL;
	}
	struct req *q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	q->operation = strdup(r->operation);
	q->minimum = r->minimum;
	q->maximum = r->maximum;
	if (!q->operation || orbit_idlist_dup(r->mandatory, &q->mandatory) < 0 ||
	    orbit_idlist_dup(r->allowlist, &q->allowlist) < 0 ||
	    orbit_idlist_dup(r->blocklist, &q->blocklist) < 0 ||
	    copy_specs_with_flavours(&q->inputs, &q->n_inputs, r->inputs, r->n_inputs) < 0 ||
	    copy_specs_with_flavours(&q->outputs, &q->n_outputs, r->outputs, r->n_outputs) < 0)
		goto fail;
	if (r->setup_data.present) {
		q->setup_data.present = true;
		q->setup_data.len = r->setup_data.len;
		q->setup_data.data = malloc(r->setup_data.len ? r->setup_data.len : 1);
		if (!q->setup_data.data)
			goto fail;
		if (r->setup_data.len)
			memcpy(q->setup_data.data, r->setup_data.data, r->setup_data.len);
	}
	return q;
fail:
	req_free(q);
	errno = ENOMEM;
	return NULL;
}

static bool is_mandatory(const struct req *r, const char *plugin)
{
	return orbit_idlist_has(r->mandatory, plugin);
}

static bool admits(const struct req *r, const char *plugin)
{
	return orbit_idlist_admits(r->allowlist, r->blocklist, plugin);
}

/* O(mandatory): the slot keeps its totals and only mandatory plugins, which
 * do not count toward minimum/maximum, are looked up (it was a walk over every
 * connection, called per Offer and Confirm: quadratic in the plugins). */
void core_count(struct orbit_core *c, const struct req *r, struct req_count *n)
{
	*n = (struct req_count){0};
	struct opslot *slot = strmap_get(&ORB(c)->slots, r->operation);
	size_t mandatory_connected = 0, mandatory_pending = 0;
	for (size_t i = 0; r->mandatory && r->mandatory[i]; i++) {
		const char *m = r->mandatory[i];
		size_t j = 0;
		while (j < i && strcmp(r->mandatory[j], m) != 0)
			j++;
		if (j < i)
			continue; /* listed twice: one plugin */
		if (slot && orb_conn_find(ORB(c), m, r->operation))
			mandatory_connected++;
		else
			n->mandatory_missing++;
		if (slot && orb_pending_find(ORB(c), m, r->operation))
			mandatory_pending++;
	}
	n->connected = slot ? slot->n_conns : 0;
	n->pending = slot ? slot->n_pending : 0;
	n->counted = n->connected - mandatory_connected;
	n->pending_counted = n->pending - mandatory_pending;
	n->satisfied = n->mandatory_missing == 0 && (int)n->counted >= r->minimum;
	n->room = r->maximum == ORBIT_UNLIMITED ||
		  (int)(n->counted + n->pending_counted) < r->maximum;
}

static bool compute_compliant(struct orbit_core *c)
{
	strmap_iter it = {0};
	strmap_entry *e;
	while ((e = strmap_next(&c->reqs, &it))) {
		struct req_count n;
		core_count(c, e->value, &n);
		if (!n.satisfied)
			return false;
	}
	return true;
}

static void send_discover(struct orbit_core *c, double now);

void core_update_compliance(struct orbit_core *c)
{
	if (!ORB(c)->running)
		return;
	bool now_ok = compute_compliant(c);
	if (c->state_known && now_ok == c->compliant)
		return;
	c->state_known = true;
	c->compliant = now_ok;
	orbit_event ev = {.kind = ORBIT_EV_COMPLIANCE, .compliant = now_ok};
	orb_emit(ORB(c), &ev);
	if (!now_ok) {
		/* Back to the fast cadence, and look now if the last look is old. */
		c->discover_interval = ORB(c)->t.discovering_interval;
		double now = orb_now(ORB(c));
		if (now - c->last_discover >= ORB(c)->t.discovering_interval)
			send_discover(c, now);
		else
			c->next_discover = c->last_discover + c->discover_interval;
	}
}

/* ---- discovery ---- */

/* Build the query of one wanted requirement into q (borrowing from r, except
 * the allowlist's array in `owned`, free()d by the caller, when we narrow it
 * to missing mandatory plugins). */
static bool build_query(struct orbit_core *c, struct req *r, orbit_query *q,
			const char ***owned)
{
	struct req_count n;
	core_count(c, r, &n);
	if (!n.room && !n.mandatory_missing)
		return false;
	*q = (orbit_query){
		.operation_name = r->operation,
		.inputs = r->inputs,
		.n_inputs = r->n_inputs,
		.outputs = r->outputs,
		.n_outputs = r->n_outputs,
		.allowlist = r->allowlist,
		.blocklist = r->blocklist,
	};
	*owned = NULL;
	if (n.room)
		return true;
	/* Only missing mandatory plugins may still connect: say so in the query
	 * so nobody else bothers to offer. */
	const char **v = calloc(orbit_idlist_len(r->mandatory) + 1, sizeof(*v));
	if (!v)
		return true; /* the Reject path still enforces the limit */
	size_t k = 0;
	for (size_t i = 0; r->mandatory[i]; i++)
		if (admits(r, r->mandatory[i]) &&
		    !orb_conn_find(ORB(c), r->mandatory[i], r->operation))
			v[k++] = r->mandatory[i];
	q->allowlist = v;
	q->blocklist = NULL;
	*owned = v;
	return true;
}

static void send_discover(struct orbit_core *c, double now)
{
	size_t n_reqs = strmap_count(&c->reqs);
	orbit_query *qs = calloc(n_reqs ? n_reqs : 1, sizeof(*qs));
	const char ***owned = calloc(n_reqs ? n_reqs : 1, sizeof(*owned));
	if (!qs || !owned)
		goto out;
	size_t k = 0;
	strmap_iter it = {0};
	strmap_entry *e;
	while ((e = strmap_next(&c->reqs, &it))) {
		if (build_query(c, e->value, &qs[k], &owned[k]))
			k++;
	}
	c->last_discover = now;
	c->next_discover = now + c->discover_interval;
	if (!k)
		goto out;
	orbit_msg m = {.kind = ORBIT_MSG_DISCOVER};
	m.discover.core_id = ORB(c)->id;
	m.discover.offer_topic = c->offer_topic;
	m.discover.keepalive_topic = ORB(c)->keepalive_topic;
	m.discover.keepalive_request_topic = ORB(c)->keepalive_request_topic;
	m.discover.considered_dead_after = ORB(c)->t.consider_others_dead_after >= 0
						   ? ORB(c)->t.consider_others_dead_after
						   : 1e9; /* SPEC §2.3: always a number */
	m.discover.queries = qs;
	m.discover.n_queries = k;
	orb_send(ORB(c), ORB(c)->discover_topic, &m, ORBIT_PUB_AFTER_SUBACK);
	c->discovers_sent++;
out:
	for (size_t i = 0; owned && i < n_reqs; i++)
		free(owned[i]);
	free(owned);
	free(qs);
}

static void retry_requests(struct orbit_core *c, double now);

static void core_tick(struct orbit_orbiter *o, double now)
{
	struct orbit_core *c = (struct orbit_core *)o;
	retry_requests(c, now);
	core_update_compliance(c);
	if (now + 1e-6 < c->next_discover)
		return;
	send_discover(c, now);
	if (c->compliant) {
		/* Room for more but nothing missing: look less and less often. */
		c->discover_interval *= 2;
		if (c->discover_interval > o->t.discovering_max_interval)
			c->discover_interval = o->t.discovering_max_interval;
		if (c->discover_interval < o->t.discovering_interval)
			c->discover_interval = o->t.discovering_interval;
		c->next_discover = now + c->discover_interval;
	}
}

/* ---- offers ---- */

static bool specs_match(const orbit_spec *list, size_t n, const orbit_spec *offered)
{
	for (size_t i = 0; i < n; i++)
		if (orbit_spec_compatible(&list[i], offered))
			return true;
	return false;
}

/* Requests unanswered are sent again (orbit/orbiter.h). Process-wide, like
 * the other engine bounds. */
static double request_retry = 5.0;
static unsigned request_sends = 3;

int orbit_set_request_retry(double interval, unsigned sends)
{
	if (!(interval > 0) || !sends)
		return -EINVAL;
	request_retry = interval;
	request_sends = sends;
	return 0;
}

/* Send (or send again) the Request of pending p for requirement r. */
static int send_request(struct orbit_core *c, struct pending *p, const struct req *r, double now)
{
	struct orbit_orbiter *o = ORB(c);
	orbit_msg m = {.kind = ORBIT_MSG_REQUEST};
	m.request.core_id = o->id;
	m.request.operation = (char *)p->operation;
	m.request.response_topic = c->response_topic;
	m.request.output_topic = p->output_topic;
	m.request.close_topic = p->close_topic;
	m.request.setup_data = r->setup_data;
	p->sends++;
	p->last_sent = now;
	return orb_send(o, p->reply_topic, &m, ORBIT_PUB_AFTER_SUBACK);
}

static void reply_to_offer(struct orbit_core *c, const char *plugin, const char *reply_topic,
			   const orbit_offered_op *op)
{
	struct orbit_orbiter *o = ORB(c);
	struct req *r = strmap_get(&c->reqs, op->name);
	const char *why = NULL;
	struct req_count n = {0};
	struct conn *stale = r ? orb_conn_find(o, plugin, op->name) : NULL;
	if (stale) {
		/* A plugin never offers what it holds connected (SPEC §4.3 step
		 * 4): it lost its side (a close we never saw, a restart). Ours
		 * goes without a message, since the plugin has nothing to close,
		 * and the Offer is handled like any other. */
		orbit_logf(LOG_INFO, "%s: %s offers %s we hold connected: dropping our stale side",
			   o->id, plugin, op->name);
		stale->slot->stats.closes.stale++;
		orb_conn_remove(o, stale, false);
	}
	if (!r) {
		why = "not required";
	} else {
		core_count(c, r, &n);
		if (!admits(r, plugin))
			why = "excluded by allowlist/blocklist";
		else if (!specs_match(r->inputs, r->n_inputs, &op->input) ||
			 !specs_match(r->outputs, r->n_outputs, &op->output))
			why = "input/output not compatible";
		else if (!is_mandatory(r, plugin)) {
			/* A fresh offer replaces its own pending request. */
			struct pending *old = orb_pending_find(o, plugin, op->name);
			size_t busy = n.counted + n.pending_counted - (old ? 1 : 0);
			if (r->maximum != ORBIT_UNLIMITED && (int)busy >= r->maximum)
				why = "maximum reached";
		}
	}
	if (why) {
		orbit_logf(LOG_DEBUG, "%s: reject %s from %s: %s", o->id, op->name, plugin, why);
		orbit_msg m = {.kind = ORBIT_MSG_REJECT};
		m.reject.core_id = o->id;
		m.reject.operation = op->name;
		orb_send(o, reply_topic, &m, 0);
		return;
	}
	/* Topics of our choosing get a random tail (orb_conn_topic). */
	char *out_topic = orbit_spec_has(&op->output)
				  ? orb_conn_topic(op->name, o->id, plugin, "output")
				  : NULL;
	char *close_topic = orb_conn_topic(op->name, o->id, plugin, "close");
	char *reply = strdup(reply_topic);
	struct pending *p = orb_pending_add(o, plugin, op->name, &op->input, &op->output);
	if (!p || !close_topic || !reply || (orbit_spec_has(&op->output) && !out_topic)) {
		if (p)
			orb_pending_remove(o, p);
		free(out_topic);
		free(close_topic);
		free(reply);
		return;
	}
	p->output_topic = out_topic;
	p->close_topic = close_topic;
	p->reply_topic = reply;
	if (send_request(c, p, r, orb_now(o)) < 0)
		orb_pending_remove(o, p);
}

/* Requests unanswered for request_retry go again; after request_sends
 * sends the plugin is given up on, so the Request stops counting toward
 * maximum (and a lost Request or Confirm heals by the retry). */
static void retry_requests(struct orbit_core *c, double now)
{
	struct orbit_orbiter *o = ORB(c);
	bool dropped = false;
	strmap_iter it = {0};
	strmap_entry *e;
	while ((e = strmap_next(&o->pendings, &it))) {
		struct pending *p = e->value;
		struct req *r = strmap_get(&c->reqs, p->operation);
		if (!p->sends || now - p->last_sent < request_retry)
			continue;
		if (!r || p->sends >= request_sends) {
			orbit_logf(LOG_INFO, "%s: request of %s to %s unanswered after %u send%s: "
				   "given up", o->id, p->operation, p->remote_id, p->sends,
				   p->sends == 1 ? "" : "s");
			orb_pending_remove(o, p); /* removing the current entry is allowed */
			dropped = true;
		} else if (send_request(c, p, r, now) < 0) {
			orb_pending_remove(o, p);
			dropped = true;
		}
	}
	if (dropped) {
		core_update_compliance(c);
		/* Room again: look for another plugin at once (one Discover
		 * for however many were given up). */
		c->next_discover = now;
	}
}

static void on_offer(void *ctx, const char *topic, const orbit_payload *p)
{
	struct orbit_core *c = ctx;
	orbit_msg m;
	if (orb_decode(ORB(c), topic, p, 1u << ORBIT_MSG_OFFER, &m) < 0)
		return;
	if (!orb_id_valid(m.offer.plugin_id)) {
		orbit_logf(LOG_WARNING, "%s: dropped offer from invalid id '%s'", ORB(c)->id,
			   m.offer.plugin_id);
		goto out;
	}
	orb_remote_learn(ORB(c), m.offer.plugin_id, m.offer.keepalive_topic,
			 m.offer.keepalive_request_topic, m.offer.considered_dead_after);
	for (size_t i = 0; i < m.offer.n_ops; i++)
		reply_to_offer(c, m.offer.plugin_id, m.offer.reply_topic, &m.offer.ops[i]);
out:
	orbit_msg_clear(&m);
}

/* ---- confirms ---- */

static void on_output(void *ctx, const char *topic, const orbit_payload *p)
{
	(void)topic;
	struct conn *k = ctx;
	struct orbit_core *c = (struct orbit_core *)k->o;
	k->traffic.outputs++;
	k->traffic.output_bytes += p->len;
	struct sink *s = strmap_get(&c->sinks, k->info.operation);
	if (s && s->fn)
		s->fn(s->ctx, c, &k->info, p);
	else
		orb_stats_error(k->o, k->slot, k, true, "output with no sink");
}

static void handle_confirm(struct orbit_core *c, orbit_msg *m)
{
	struct orbit_orbiter *o = ORB(c);
	const char *plugin = m->confirm.plugin_id, *op = m->confirm.operation;
	struct pending *p = orb_pending_find(o, plugin, op);
	if (!p) {
		if (orb_conn_find(o, plugin, op))
			return; /* duplicate Confirm */
		/* Late Confirm: the plugin holds a connection we do not; tell it,
		 * as firmly as any close of ours (sent again if lost). */
		orbit_logf(LOG_INFO, "%s: late confirm of %s from %s: closing it", o->id, op, plugin);
		if (m->confirm.close_topic)
			orb_send_graceless(o, m->confirm.close_topic, plugin, op, NULL, true);
		return;
	}
	if (!m->confirm.input_topic) {
		orbit_logf(LOG_WARNING, "%s: confirm of %s from %s without input topic", o->id, op,
			   plugin);
		orb_pending_remove(o, p);
		return;
	}
	struct conn *k = orb_conn_add(o, plugin, op, p->input, p->output, m->confirm.input_topic,
				      p->output_topic, m->confirm.close_topic, p->close_topic,
				      p->output_topic, on_output);
	orb_pending_remove(o, p);
	(void)k;
}

static void on_response(void *ctx, const char *topic, const orbit_payload *p)
{
	struct orbit_core *c = ctx;
	orbit_msg m;
	unsigned mask = 1u << ORBIT_MSG_CONFIRM | 1u << ORBIT_MSG_NO_LONGER_AVAILABLE;
	if (orb_decode(ORB(c), topic, p, mask, &m) < 0)
		return;
	if (m.kind == ORBIT_MSG_CONFIRM) {
		orb_seen(ORB(c), m.confirm.plugin_id);
		handle_confirm(c, &m);
	} else {
		orb_seen(ORB(c), m.no_longer_available.plugin_id);
		struct pending *pd = orb_pending_find(ORB(c), m.no_longer_available.plugin_id,
						      m.no_longer_available.operation);
		if (pd)
			orb_pending_remove(ORB(c), pd);
	}
	orbit_msg_clear(&m);
	core_update_compliance(c);
}

static void core_conn_removed(struct orbit_orbiter *o, struct conn *k)
{
	(void)k;
	core_update_compliance((struct orbit_core *)o);
}

static const struct role_ops core_role = {
	.name = "core",
	.tick = core_tick,
	.conn_removed = core_conn_removed,
};

/* ---- public API ---- */

orbit_core *orbit_core_new(orbit_bus *bus, const char *id, const orbit_timers *t,
			   const char *discover_topic)
{
	struct orbit_core *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	int rc = orb_init(ORB(c), &core_role, bus, id, t, discover_topic);
	if (rc < 0) {
		free(c);
		errno = -rc;
		return NULL;
	}
	strmap_init(&c->reqs);
	strmap_init(&c->sinks);
	c->offer_topic = orb_topic("$handshake", id, "offer", NULL);
	c->response_topic = orb_topic("$handshake", id, "response", NULL);
	if (!c->offer_topic || !c->response_topic) {
		orbit_core_free(c);
		errno = ENOMEM;
		return NULL;
	}
	return c;
}

void orbit_core_free(orbit_core *c)
{
	if (!c)
		return;
	orbit_core_stop(c);
	orb_destroy(ORB(c));
	strmap_iter it = {0};
	strmap_entry *e;
	while ((e = strmap_next(&c->reqs, &it)))
		req_free(e->value);
	strmap_clear(&c->reqs);
	it = (strmap_iter){0};
	while ((e = strmap_next(&c->sinks, &it)))
		free(e->value);
	strmap_clear(&c->sinks);
	free(c->offer_topic);
	free(c->response_topic);
	free(c);
}

orbit_orbiter *orbit_core_orbiter(orbit_core *c)
{
	return ORB(c);
}

/* After a requirement changed: close what it no longer admits, then what is
 * over its maximum (newest first). */
static void enforce(struct orbit_core *c, struct req *r)
{
	struct opslot *slot = strmap_get(&ORB(c)->slots, r->operation);
	if (!slot)
		return;
	struct conn *k = slot->conns, *next;
	for (; k; k = next) {
		next = k->next;
		if (!admits(r, k->info.remote_id) && !k->info.soft_closed)
			orb_conn_close(ORB(c), k, true, NULL);
	}
	if (r->maximum == ORBIT_UNLIMITED)
		return;
	struct req_count n;
	core_count(c, r, &n);
	int extra = (int)n.counted - r->maximum;
	for (k = slot->conns; k && extra > 0; k = next) {
		next = k->next;
		if (!is_mandatory(r, k->info.remote_id) && !k->info.soft_closed) {
			orb_conn_close(ORB(c), k, true, NULL);
			extra--;
		}
	}
}

int orbit_core_require(orbit_core *c, const orbit_requirement *r)
{
	if (!c || !r)
		return -EINVAL;
	struct req *q = req_new(r);
	if (!q)
		return -errno;
	/* The operation shows in the stats before its first connection. */
	if (!orb_slot(ORB(c), q->operation)) {
		req_free(q);
		return -ENOMEM;
	}
	struct req *old = strmap_get(&c->reqs, q->operation);
	if (strmap_put(&c->reqs, q->operation, q) < 0) {
		req_free(q);
		return -ENOMEM;
	}
	req_free(old);
	enforce(c, q);
	core_update_compliance(c);
	if (ORB(c)->running)
		c->next_discover = 0; /* a new or changed need: look at the next tick */
	return 0;
}

int orbit_core_unrequire(orbit_core *c, const char *operation)
{
	struct req *r = strmap_remove(&c->reqs, operation);
	if (!r)
		return -ENOENT;
	struct opslot *slot = strmap_get(&ORB(c)->slots, operation);
	struct conn *k = slot ? slot->conns : NULL, *next;
	for (; k; k = next) {
		next = k->next;
		orb_conn_close(ORB(c), k, true, NULL);
	}
	req_free(r);
	core_update_compliance(c);
	return 0;
}

int orbit_core_set_sink(orbit_core *c, const char *operation, orbit_sink_fn fn, void *ctx)
{
	struct sink *s = strmap_get(&c->sinks, operation);
	if (!fn) {
		free(strmap_remove(&c->sinks, operation));
		return 0;
	}
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s || strmap_put(&c->sinks, operation, s) < 0) {
			free(s);
			return -ENOMEM;
		}
	}
	s->fn = fn;
	s->ctx = ctx;
	return 0;
}

int orbit_core_start(orbit_core *c)
{
	struct orbit_orbiter *o = ORB(c);
	if (o->running)
		return -EALREADY;
	int rc = orb_start(o);
	if (rc < 0)
		return rc;
	/* Response first, then offer: a confirm can never beat its request. */
	if ((rc = orbit_bus_subscribe(o->bus, c->response_topic, on_response, c)) < 0 ||
	    (rc = orbit_bus_subscribe(o->bus, c->offer_topic, on_offer, c)) < 0) {
		orbit_bus_unsubscribe(o->bus, c->response_topic, c);
		orb_stop(o);
		return rc;
	}
	c->state_known = false;
	c->discover_interval = o->t.discovering_interval;
	/* Discover first: the compliance update then finds a fresh Discover
	 * and does not send a second one (it did, when not compliant at start). */
	send_discover(c, orb_now(o));
	core_update_compliance(c);
	return 0;
}

void orbit_core_stop(orbit_core *c)
{
	struct orbit_orbiter *o = ORB(c);
	if (!o->running)
		return;
	orbit_bus_unsubscribe(o->bus, c->response_topic, c);
	orbit_bus_unsubscribe(o->bus, c->offer_topic, c);
	orb_stop(o);
	c->state_known = false;
}

bool orbit_core_compliant(const orbit_core *c)
{
	return c->o.running && c->state_known && c->compliant;
}

static void fill_status(struct orbit_core *c, struct req *r, orbit_requirement_status *st)
{
	struct req_count n;
	core_count(c, r, &n);
	*st = (orbit_requirement_status){
		.operation = r->operation,
		.minimum = r->minimum,
		.maximum = r->maximum,
		.connected = n.connected,
		.connected_counted = n.counted,
		.pending = n.pending,
		.mandatory_missing = n.mandatory_missing,
		.satisfied = n.satisfied,
	};
}

int orbit_core_requirement_status(const orbit_core *c, const char *operation,
				  orbit_requirement_status *st)
{
	struct req *r = strmap_get(&c->reqs, operation);
	if (!r)
		return -ENOENT;
	fill_status((struct orbit_core *)c, r, st);
	return 0;
}

void orbit_core_foreach_requirement(const orbit_core *c,
				    int (*fn)(void *ctx, const orbit_requirement_status *st),
				    void *ctx)
{
	strmap_iter it = {0};
	strmap_entry *e;
	while ((e = strmap_next(&c->reqs, &it))) {
		orbit_requirement_status st;
		fill_status((struct orbit_core *)c, e->value, &st);
		if (fn(ctx, &st))
			return;
	}
}
