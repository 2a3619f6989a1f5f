/* lender.c — the plugin role (orbit/lender.h says why "lender"): answering Discovers with Offers,
 * Requests with Confirm or NoLongerAvailable, inputs with the operation's
 * handler, and sending outputs (SPEC §4.3, §4.5, §4.8, §6.4–§6.6).
 *
 * Intent over Python (DESIGN §3): the policy is checked against the
 * discovering core; the connection exists before the Confirm leaves, so an
 * input can never arrive ahead of it; a freed slot of an operation with a
 * maximum is re-offered to the other cores we know. Offered specs copy the
 * exact schema strings of the matching query entry (SPEC §2.10) so a Python
 * core's exact comparison succeeds.
 */
#include "orbit/lender.h"
#include "liblog.h"
#include "orbiter_internal.h"
#include "uuid.h"

#include <errno.h>
#include <event2/event.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct op {
	char *name;
	struct spec_ref *input, *output; /* interned: an Offer of the same strings shares them */
	int maximum;
	orbit_idlist allowlist, blocklist; /* owned copies */
	orbit_lent_handler handler;
	orbit_lent_setup setup;
	void *ctx;
};

/* What a re-offer needs of a core's last Discover (not the Discover itself:
 * with thousands of plugin orbiters that copy was the bulk of a
 * connection's memory). Only operations of ours with a maximum are kept —
 * a freed slot of an unlimited operation never needs re-offering — each with
 * the specs we would offer, shared with the connections through the
 * orbiter's spec table. One allocation: the entries, the offer topic and the
 * core id follow the struct. discovered_at and gap (between its last two
 * Discovers, < 0 unknown) tell a re-offer whether that interest is current
 * (see still_wants). */
struct known_core {
	strmap_entry node; /* in cores, keyed by id */
	const char *id, *offer_topic;
	double discovered_at, gap;
	size_t n;
	struct wanted {
		const struct op *op; /* operations live as long as the plugin */
		struct spec_ref *in, *out;
	} w[];
};

struct orbit_lender {
	struct orbit_orbiter o;
	strmap ops;         /* name -> struct op */
	strmap cores;       /* core id -> struct known_core */
	char *reply_topic;
	struct event *reoffer_ev;
	strmap reoffer;     /* operation -> core that freed its slot (malloc'd id, skipped) */
	struct orbit_lender *twin; /* same plugin on another bus: maxima are shared */
};

#define ORB(p) (&(p)->o)

static void op_free_lists(struct op *op)
{
	orbit_idlist_free(op->allowlist);
	orbit_idlist_free(op->blocklist);
	op->allowlist = op->blocklist = NULL;
}

static void op_free(struct orbit_lender *p, struct op *op)
{
	free(op->name);
	orb_spec_release(ORB(p), op->input);
	orb_spec_release(ORB(p), op->output);
	op_free_lists(op);
	free(op);
}

static void op_free_value(void *p, void *op)
{
	op_free(p, op);
}

static int op_set_policy(struct op *op, const orbit_plugin_policy *pol)
{
	orbit_idlist allow, block;

	if ((pol->allowlist && pol->blocklist) ||
	    (pol->maximum != ORBIT_UNLIMITED && pol->maximum < 0))
		return -EINVAL;
	if (orbit_idlist_dup(pol->allowlist, &allow) < 0)
		return -ENOMEM;
	if (orbit_idlist_dup(pol->blocklist, &block) < 0) {
		orbit_idlist_free(allow);
		return -ENOMEM;
	}
	op_free_lists(op);
	op->allowlist = allow;
	op->blocklist = block;
	op->maximum = pol->maximum;
	return 0;
}

static bool policy_admits(const struct op *op, const char *core)
{
	return orbit_idlist_admits(op->allowlist, op->blocklist, core);
}

/* Connections and pending offers of op that count against its maximum:
 * ours and our twin's (orbit_lender_share_maximum). */
static size_t slot_conns(struct orbit_lender *p, const char *op)
{
	size_t n = 0;
	for (struct orbit_lender *q = p; q; q = q == p ? p->twin : NULL) {
		struct opslot *s = strmap_get(&ORB(q)->slots, op);
		n += s ? s->n_conns : 0;
	}
	return n;
}

static size_t slot_pending(struct orbit_lender *p, const char *op)
{
	size_t n = 0;
	for (struct orbit_lender *q = p; q; q = q == p ? p->twin : NULL) {
		struct opslot *s = strmap_get(&ORB(q)->slots, op);
		n += s ? s->n_pending : 0;
	}
	return n;
}

/* ---- Discover → Offer ---- */

static const orbit_spec *first_compatible(const orbit_spec *list, size_t n, const orbit_spec *own)
{
	for (size_t i = 0; i < n; i++)
		if (orbit_spec_compatible(&list[i], own))
			return &list[i];
	return NULL;
}

/* SPEC §4.3 step 2, in order, with the discovering core's id for the policy. */
static bool offerable(struct orbit_lender *p, const char *core, const orbit_query *q,
		      const struct op *op, const orbit_spec **in, const orbit_spec **out)
{
	const char *self = ORB(p)->id;
	if (!orbit_idlist_admits(q->allowlist, q->blocklist, self))
		return false;
	if (orb_pending_find(ORB(p), core, op->name) || orb_conn_find(ORB(p), core, op->name))
		return false;
	if (op->maximum != ORBIT_UNLIMITED &&
	    slot_conns(p, op->name) + slot_pending(p, op->name) >= (size_t)op->maximum)
		return false;
	*in = first_compatible(q->inputs, q->n_inputs, &op->input->spec);
	*out = first_compatible(q->outputs, q->n_outputs, &op->output->spec);
	return *in && *out && policy_admits(op, core);
}

/* Offer to core what its queries ask and we can lend; only_op limits it to
 * one operation (re-offer). query_at(ctx, i, &q) yields the i-th query. */
static void offer_to(struct orbit_lender *p, const char *core, const char *offer_topic,
		     void (*query_at)(const void *ctx, size_t i, orbit_query *q), const void *ctx,
		     size_t n_queries, const char *only_op)
{
	struct orbit_orbiter *o = ORB(p);
	orbit_offered_op *ops = calloc(n_queries ? n_queries : 1, sizeof(*ops));
	struct pending **made = calloc(n_queries ? n_queries : 1, sizeof(*made));
	size_t k = 0;
	if (!ops || !made)
		goto out;
	for (size_t i = 0; i < n_queries; i++) {
		orbit_query query;
		query_at(ctx, i, &query);
		const orbit_query *q = &query;
		if (only_op && strcmp(q->operation_name, only_op) != 0)
			continue;
		struct op *op = strmap_get(&p->ops, q->operation_name);
		const orbit_spec *in, *out;
		if (!op || !offerable(p, core, q, op, &in, &out))
			continue;
		struct pending *pd = orb_pending_add(o, core, op->name, in, out);
		if (!pd)
			continue;
		made[k] = pd;
		ops[k].name = op->name;
		ops[k].input = pd->input->spec;
		ops[k].output = pd->output->spec;
		k++;
	}
	if (!k)
		goto out;
	orbit_msg m = {.kind = ORBIT_MSG_OFFER};
	m.offer.plugin_id = o->id;
	m.offer.ops = ops;
	m.offer.n_ops = k;
	m.offer.reply_topic = p->reply_topic;
	m.offer.considered_dead_after = o->t.consider_others_dead_after >= 0
						? o->t.consider_others_dead_after
						: 1e9; /* SPEC §2.3: always a number */
	m.offer.keepalive_topic = o->keepalive_topic;
	m.offer.keepalive_request_topic = o->keepalive_request_topic;
	if (orb_send(o, offer_topic, &m, ORBIT_PUB_AFTER_SUBACK) < 0)
		for (size_t i = 0; i < k; i++)
			orb_pending_remove(o, made[i]);
out:
	free(ops);
	free(made);
}

static void discover_query(const void *ctx, size_t i, orbit_query *q)
{
	*q = ((const orbit_msg *)ctx)->discover.queries[i];
}

static void known_query(const void *ctx, size_t i, orbit_query *q)
{
	const struct wanted *w = &((const struct known_core *)ctx)->w[i];
	*q = (orbit_query){.operation_name = w->op->name,
			   .inputs = &w->in->spec, .n_inputs = 1,
			   .outputs = &w->out->spec, .n_outputs = 1};
}

static void known_core_free(struct orbit_lender *p, struct known_core *kc)
{
	for (size_t i = 0; kc && i < kc->n; i++) {
		orb_spec_release(ORB(p), kc->w[i].in);
		orb_spec_release(ORB(p), kc->w[i].out);
	}
	free(kc);
}

static void known_core_free_value(void *p, void *kc)
{
	known_core_free(p, kc);
}

/* The queries of d a re-offer could serve (see struct known_core); NULL when
 * there are none or on ENOMEM (re-offers then wait for the core's next
 * Discover). */
static struct known_core *known_core_new(struct orbit_lender *p, const orbit_msg *d)
{
	/* Sized for every query; only the first n entries are used. */
	const char *core = d->discover.core_id, *topic = d->discover.offer_topic;
	size_t most = d->discover.n_queries;
	size_t id_len = strlen(core) + 1, topic_len = strlen(topic) + 1;
	struct known_core *kc = calloc(1, sizeof(*kc) + most * sizeof(kc->w[0]) + id_len + topic_len);
	if (!kc)
		return NULL;
	char *at = (char *)&kc->w[most];
	kc->id = memcpy(at, core, id_len);
	kc->offer_topic = memcpy(at + id_len, topic, topic_len);
	for (size_t i = 0; i < most; i++) {
		const orbit_query *q = &d->discover.queries[i];
		struct op *op = strmap_get(&p->ops, q->operation_name);
		if (!op || op->maximum == ORBIT_UNLIMITED ||
		    !orbit_idlist_admits(q->allowlist, q->blocklist, ORB(p)->id))
			continue;
		const orbit_spec *in = first_compatible(q->inputs, q->n_inputs, &op->input->spec);
		const orbit_spec *out = first_compatible(q->outputs, q->n_outputs, &op->output->spec);
		if (!in || !out)
			continue;
		struct wanted *w = &kc->w[kc->n];
		if (!(w->in = orb_spec_intern(ORB(p), in)) ||
		    !(w->out = orb_spec_intern(ORB(p), out))) {
			orb_spec_release(ORB(p), w->in);
			break;
		}
		w->op = op;
		kc->n++;
	}
	if (!kc->n) {
		free(kc);
		return NULL;
	}
	return kc;
}

/* Stamp kc, the interest of a fresh Discover, with its time and the core's
 * cadence (old: the same core's previous one, or NULL). Two Discovers at one
 * instant say nothing about the cadence: the last known gap stays. */
static void discovered(struct orbit_orbiter *o, struct known_core *kc,
		       const struct known_core *old)
{
	kc->discovered_at = orb_now(o);
	kc->gap = -1;
	if (old)
		kc->gap = kc->discovered_at > old->discovered_at
				  ? kc->discovered_at - old->discovered_at
				  : old->gap;
}

static void on_discover(void *ctx, const char *topic, const orbit_payload *pl)
{
	struct orbit_lender *p = ctx;
	orbit_msg d;
	if (orb_decode(ORB(p), topic, pl, 1u << ORBIT_MSG_DISCOVER, &d) < 0)
		return;
	for (size_t i = 0; i < d.discover.n_queries; i++) {
		/* SPEC §8.8: both lists make a query meaningless; skip it. */
		if (d.discover.queries[i].allowlist && d.discover.queries[i].blocklist)
			d.discover.queries[i].n_inputs = 0;
	}
	const char *core = d.discover.core_id;
	if (!orb_id_valid(core) ||
	    !orb_remote_learn(ORB(p), core, d.discover.keepalive_topic,
			      d.discover.keepalive_request_topic, d.discover.considered_dead_after))
		goto out;
	struct known_core *kc = known_core_new(p, &d);
	struct known_core *old = strmap_remove(&p->cores, core);
	if (kc)
		discovered(ORB(p), kc, old);
	known_core_free(p, old);
	if (kc && strmap_put_node(&p->cores, &kc->node, kc->id, kc) < 0)
		known_core_free(p, kc);
	offer_to(p, core, d.discover.offer_topic, discover_query, &d, d.discover.n_queries, NULL);
out:
	orbit_msg_clear(&d);
}

/* ---- Request / Reject ---- */

static void on_input(void *ctx, const char *topic, const orbit_payload *pl)
{
	(void)topic;
	struct conn *c = ctx;
	struct orbit_lender *p = (struct orbit_lender *)c->o;
	c->info.last_use = orb_now_coarse(c->o);
	c->traffic.inputs++;
	c->traffic.input_bytes += pl->len;
	struct op *op = strmap_get(&p->ops, c->info.operation);
	if (op && op->handler)
		op->handler(op->ctx, p, &c->info, pl);
	else
		orb_stats_error(c->o, c->slot, c, true, "input with no handler");
}

static void send_nla(struct orbit_lender *p, const orbit_msg *req)
{
	orbit_msg m = {.kind = ORBIT_MSG_NO_LONGER_AVAILABLE};
	m.no_longer_available.plugin_id = ORB(p)->id;
	m.no_longer_available.operation = req->request.operation;
	orb_send(ORB(p), req->request.response_topic, &m, 0);
}

static bool same_topic(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static void send_confirm(struct orbit_lender *p, const orbit_msg *req, const char *input_topic,
			 const char *close_topic)
{
	orbit_msg m = {.kind = ORBIT_MSG_CONFIRM};
	m.confirm.plugin_id = ORB(p)->id;
	m.confirm.operation = req->request.operation;
	m.confirm.input_topic = (char *)input_topic;
	m.confirm.close_topic = (char *)close_topic;
	orb_send(ORB(p), req->request.response_topic, &m, ORBIT_PUB_AFTER_SUBACK);
}

static void handle_request(struct orbit_lender *p, const orbit_msg *m)
{
	struct orbit_orbiter *o = ORB(p);
	const char *core = m->request.core_id, *opname = m->request.operation;
	struct pending *pd = orb_pending_find(o, core, opname);
	if (!pd) {
		struct conn *c = orb_conn_find(o, core, opname);
		if (c && same_topic(c->info.close_to_remote_topic, m->request.close_topic) &&
		    same_topic(c->info.output_topic, m->request.output_topic)) {
			/* The core sent its Request again: our Confirm was lost. */
			send_confirm(p, m, c->info.input_topic, c->info.incoming_close_topic);
			return;
		}
		if (c) {
			/* Another Request for what we hold: the core lost its side
			 * and knows nothing of ours (no message to it). It gets a
			 * NoLongerAvailable and our fresh Offer at its next Discover. */
			orbit_logf(LOG_INFO, "%s: new request of %s from %s we hold connected: "
				   "dropping our stale side", o->id, opname, core);
			c->slot->stats.closes.stale++;
			orb_conn_remove(o, c, false);
			send_nla(p, m);
			return;
		}
		orbit_logf(LOG_INFO, "%s: request of %s from %s without offer", o->id, opname, core);
		return;
	}
	struct op *op = strmap_get(&p->ops, opname);
	if (!op || !policy_admits(op, core) ||
	    (op->maximum != ORBIT_UNLIMITED && slot_conns(p, opname) >= (size_t)op->maximum)) {
		orb_pending_remove(o, pd);
		send_nla(p, m);
		return;
	}
	char uuid[ORBIT_UUID_STRLEN + 1];
	orbit_uuid4(uuid);
	char *input_topic = orb_topic(opname, core, o->id, "input", uuid, NULL);
	char *close_topic = orb_conn_topic(opname, o->id, core, "close");
	struct conn *c = NULL;
	if (input_topic && close_topic)
		c = orb_conn_add(o, core, opname, pd->input, pd->output, input_topic,
				 m->request.output_topic, m->request.close_topic, close_topic,
				 input_topic, on_input);
	orb_pending_remove(o, pd);
	if (c) {
		if (m->request.setup_data.present && op->setup)
			op->setup(op->ctx, p, &c->info, m->request.setup_data.data,
				  m->request.setup_data.len);
		send_confirm(p, m, input_topic, close_topic);
	}
	free(input_topic);
	free(close_topic);
}

static void on_reply(void *ctx, const char *topic, const orbit_payload *pl)
{
	struct orbit_lender *p = ctx;
	orbit_msg m;
	unsigned mask = 1u << ORBIT_MSG_REQUEST | 1u << ORBIT_MSG_REJECT;
	if (orb_decode(ORB(p), topic, pl, mask, &m) < 0)
		return;
	if (m.kind == ORBIT_MSG_REQUEST) {
		orb_seen(ORB(p), m.request.core_id);
		handle_request(p, &m);
	} else {
		orb_seen(ORB(p), m.reject.core_id);
		struct pending *pd = orb_pending_find(ORB(p), m.reject.core_id, m.reject.operation);
		if (pd)
			orb_pending_remove(ORB(p), pd);
	}
	orbit_msg_clear(&m);
}

/* ---- re-offer ---- */

static void clear_reoffers(struct orbit_lender *p)
{
	strmap_iter it = {0};
	strmap_entry *e;
	while ((e = strmap_next(&p->reoffer, &it)))
		free(e->value);
	strmap_clear(&p->reoffer);
}

/* Whether kc's last Discover still speaks for the core, so that a freed slot
 * may be offered to it without waiting for its next one. A core that wants
 * an operation keeps discovering it every discovering_interval (SPEC §4.2;
 * orbitd backs off, doubling, while compliant); one that stopped goes quiet,
 * and a stopped Python core keeps its offer topic subscribed (SPEC §5.8) and
 * would Request what we offer. So the interest lapses when
 *   - the core closed a connection with us since (plugin_conn_removed forgets
 *     it: the Graceless closes of a stop, or a change of mind), or
 *   - the core is silent past our consider_others_dead_after, or
 *   - its last Discover is older than the deadline it announced to us
 *     (considered_dead_after: silent that long it would call us dead), or
 *     than three of its Discover gaps (a doubling back-off plus a tick's
 *     jitter; a core that slowed down is merely not re-offered to).
 * Either mistake is cheap on one side only: a live core not re-offered to
 * gets the slot at its next Discover, as with a Python plugin, while an
 * Offer to a stopped one could connect it. */
static bool still_wants(struct orbit_lender *p, const struct known_core *kc, double now)
{
	const struct remote *r = orb_remote(ORB(p), kc->id);
	if (!r || orbit_orbiter_remote_dead(ORB(p), kc->id))
		return false;
	double window = r->has_deadline ? r->dead_after : INFINITY;
	if (kc->gap > 0 && 3 * kc->gap < window)
		window = 3 * kc->gap;
	return now - kc->discovered_at <= window;
}

static void reoffer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct orbit_lender *p = arg;
	double now = orb_now(ORB(p));
	strmap_iter it = {0};
	strmap_entry *e;
	while ((e = strmap_next(&p->reoffer, &it))) {
		strmap_iter ci = {0};
		strmap_entry *ce;
		while ((ce = strmap_next(&p->cores, &ci))) {
			struct known_core *kc = ce->value;
			if (strcmp(ce->key, e->value) != 0 && still_wants(p, kc, now))
				offer_to(p, ce->key, kc->offer_topic, known_query, kc, kc->n,
					 e->key);
		}
		free(strmap_remove(&p->reoffer, e->key));
	}
}

/* Offer op's freed slot again, on the next loop iteration, to the cores we
 * know but leaving (it let go on purpose or it will rediscover). */
static void queue_reoffer(struct orbit_lender *p, const char *operation, const char *leaving)
{
	struct op *op = strmap_get(&p->ops, operation);
	if (!ORB(p)->running || !op || op->maximum == ORBIT_UNLIMITED)
		return;
	char *who = strdup(leaving);
	if (!who)
		return;
	free(strmap_get(&p->reoffer, operation));
	if (strmap_put(&p->reoffer, operation, who) < 0) {
		free(who);
		return;
	}
	event_active(p->reoffer_ev, EV_WRITE, 0);
}

static void plugin_conn_removed(struct orbit_orbiter *o, struct conn *c)
{
	struct orbit_lender *p = (struct orbit_lender *)o;
	/* What the core's last Discover said no longer holds (see still_wants):
	 * it is stopping or changed its mind. Its next Discover tells again. */
	known_core_free(p, strmap_remove(&p->cores, c->info.remote_id));
	if (p->twin)
		known_core_free(p->twin, strmap_remove(&p->twin->cores, c->info.remote_id));
	/* Deferred: we are inside a close. A shared maximum's slot may go to a
	 * core of the twin's bus too. */
	queue_reoffer(p, c->info.operation, c->info.remote_id);
	if (p->twin)
		queue_reoffer(p->twin, c->info.operation, c->info.remote_id);
}

static void plugin_tick(struct orbit_orbiter *o, double now)
{
	(void)now;
	struct orbit_lender *p = (struct orbit_lender *)o;
	/* Forget cores the orbiter forgot (silent, nothing open with them). */
	strmap_iter it = {0};
	strmap_entry *e;
	while ((e = strmap_next(&p->cores, &it))) {
		if (!orb_remote(o, e->key)) {
			known_core_free(p, strmap_remove(&p->cores, e->key));
		}
	}
}

static const struct role_ops plugin_role = {
	.name = "plugin",
	.tick = plugin_tick,
	.conn_removed = plugin_conn_removed,
};

/* ---- public API ---- */

orbit_lender *orbit_lender_new(orbit_bus *bus, const char *id, const orbit_timers *t,
			       const char *discover_topic)
{
	struct orbit_lender *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	int rc = orb_init(ORB(p), &plugin_role, bus, id, t, discover_topic);
	if (rc < 0) {
		free(p);
		errno = -rc;
		return NULL;
	}
	strmap_init(&p->ops);
	strmap_init(&p->cores);
	strmap_init(&p->reoffer);
	p->reply_topic = orb_topic("$handshake", id, "reply", NULL);
	p->reoffer_ev = event_new(bus->base, -1, 0, reoffer, p);
	if (!p->reply_topic || !p->reoffer_ev) {
		orbit_lender_free(p);
		errno = ENOMEM;
		return NULL;
	}
	return p;
}

void orbit_lender_free(orbit_lender *p)
{
	if (!p)
		return;
	orbit_lender_stop(p);
	if (p->twin)
		p->twin->twin = NULL;
	/* Known cores and operations hold spec references: released before the
	 * orbiter goes. */
	strmap_clear_with(&p->cores, known_core_free_value, p);
	strmap_clear_with(&p->ops, op_free_value, p);
	orb_destroy(ORB(p));
	clear_reoffers(p);
	if (p->reoffer_ev)
		event_free(p->reoffer_ev);
	free(p->reply_topic);
	free(p);
}

orbit_orbiter *orbit_lender_orbiter(orbit_lender *p)
{
	return ORB(p);
}

int orbit_lender_add_operation(orbit_lender *p, const orbit_lent_op *def)
{
	if (!p || !def || !def->name || !orb_id_valid(def->name))
		return -EINVAL;
	if (strmap_get(&p->ops, def->name))
		return -EEXIST;
	if (orbit_spec_has(&def->input) && !def->handler)
		return -EINVAL;
	struct op *op = calloc(1, sizeof(*op));
	if (!op)
		return -ENOMEM;
	int rc = -ENOMEM;
	op->name = strdup(def->name);
	if (!op->name || !(op->input = orb_spec_intern(ORB(p), &def->input)) ||
	    !(op->output = orb_spec_intern(ORB(p), &def->output)))
		goto fail;
	if ((rc = op_set_policy(op, &def->policy)) < 0)
		goto fail;
	op->handler = def->handler;
	op->setup = def->setup;
	op->ctx = def->ctx;
	/* The operation shows in the stats before its first connection. */
	if (!orb_slot(ORB(p), op->name) || strmap_put(&p->ops, op->name, op) < 0) {
		rc = -ENOMEM;
		goto fail;
	}
	return 0;
fail:
	op_free(p, op);
	return rc;
}

int orbit_lender_set_policy(orbit_lender *p, const char *operation, const orbit_plugin_policy *pol)
{
	struct op *op = strmap_get(&p->ops, operation);
	if (!op)
		return -ENOENT;
	int rc = op_set_policy(op, pol);
	if (rc < 0)
		return rc;
	struct opslot *slot = strmap_get(&ORB(p)->slots, operation);
	/* A shared maximum: what the twin holds open counts first. */
	size_t open = 0;
	struct opslot *ts = p->twin ? strmap_get(&ORB(p->twin)->slots, operation) : NULL;
	for (struct conn *t = ts ? ts->conns : NULL; t; t = t->next)
		open += !t->info.soft_closed;
	struct conn *c = slot ? slot->conns : NULL, *next;
	for (; c; c = next) {
		next = c->next;
		if (c->info.soft_closed)
			continue;
		if (!policy_admits(op, c->info.remote_id) ||
		    (op->maximum != ORBIT_UNLIMITED && open >= (size_t)op->maximum))
			orb_conn_close(ORB(p), c, true, NULL);
		else
			open++;
	}
	return 0;
}

int orbit_lender_share_maximum(orbit_lender *a, orbit_lender *b)
{
	if (!a || !b || a == b || a->twin || b->twin)
		return -EINVAL;
	a->twin = b;
	b->twin = a;
	return 0;
}

int orbit_lender_start(orbit_lender *p)
{
	struct orbit_orbiter *o = ORB(p);
	if (o->running)
		return -EALREADY;
	int rc = orb_start(o);
	if (rc < 0)
		return rc;
	if ((rc = orbit_bus_subscribe(o->bus, p->reply_topic, on_reply, p)) < 0 ||
	    (rc = orbit_bus_subscribe(o->bus, o->discover_topic, on_discover, p)) < 0) {
		orbit_bus_unsubscribe(o->bus, p->reply_topic, p);
		orb_stop(o);
		return rc;
	}
	return 0;
}

void orbit_lender_stop(orbit_lender *p)
{
	struct orbit_orbiter *o = ORB(p);
	if (!o->running)
		return;
	/* Stop listening first so no Discover races our closes (SPEC §4.10). */
	orbit_bus_unsubscribe(o->bus, o->discover_topic, p);
	orbit_bus_unsubscribe(o->bus, p->reply_topic, p);
	orb_stop(o);
	event_del(p->reoffer_ev);
	clear_reoffers(p);
}

static int send_output(struct orbit_lender *p, struct conn *c, const orbit_payload *out)
{
	if (!c->info.output_topic)
		return -ENOTSUP;
	int rc = orbit_bus_publish(ORB(p)->bus, c->info.output_topic, out, 0);
	if (rc < 0) {
		orb_stats_error(ORB(p), c->slot, c, false, "output not published");
		return rc;
	}
	c->traffic.outputs++;
	c->traffic.output_bytes += out->len;
	return 0;
}

int orbit_lender_reply(orbit_lender *p, const char *core_id, const char *operation,
		       const orbit_payload *out)
{
	struct conn *c = orb_conn_find(ORB(p), core_id, operation);
	if (!c) {
		struct opslot *s = strmap_get(&ORB(p)->slots, operation);
		if (s)
			orb_stats_error(ORB(p), s, NULL, false, "reply to no connection");
		return -ENOENT;
	}
	return send_output(p, c, out);
}

int orbit_lender_emit(orbit_lender *p, const char *operation, const orbit_payload *out)
{
	struct opslot *slot = strmap_get(&ORB(p)->slots, operation);
	int n = 0;
	for (struct conn *c = slot ? slot->conns : NULL; c; c = c->next) {
		if (!c->info.output_topic)
			continue;
		int rc = send_output(p, c, out);
		if (rc < 0)
			return rc;
		n++;
	}
	return n;
}
