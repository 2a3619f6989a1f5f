/* stats.c — what an orbiter counted, and its snapshot as JSON
 * (orbit/stats.h). The counters themselves are bumped in place by the
 * engine (stats_internal.h); this file keeps errors, folds departing
 * connections into their operation, and renders. The snapshot builds new
 * jansson values and borrows the orbiter. */
#include "orbiter_internal.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Longest last-error text kept (bytes, NUL excluded). */
#define LAST_ERROR_MAX 200

void orb_last_error_clear(struct orb_last_error *e)
{
	free(e->text);
	e->text = NULL;
}

/* The same text again (a flood of one error) costs no allocation. */
static void last_error_set(struct orb_last_error *e, const char *text, double at)
{
	e->at = at;
	if (e->text && strncmp(e->text, text, LAST_ERROR_MAX) == 0)
		return;
	char *copy = strndup(text, LAST_ERROR_MAX);
	if (!copy)
		return; /* counted all the same; the old text stays */
	free(e->text);
	e->text = copy;
}

void orb_stats_error(struct orbit_orbiter *o, struct opslot *s, struct conn *c, bool dropped,
		     const char *text)
{
	double now = orb_now_coarse(o);
	struct orb_traffic *t = c ? &c->traffic : &s->stats.gone;
	if (dropped)
		t->drops++;
	else
		t->errors++;
	if (c)
		last_error_set(&c->last, text, now);
	last_error_set(&s->stats.last, text, now);
}

static void traffic_add(struct orb_traffic *dst, const struct orb_traffic *src)
{
	dst->inputs += src->inputs;
	dst->input_bytes += src->input_bytes;
	dst->outputs += src->outputs;
	dst->output_bytes += src->output_bytes;
	dst->errors += src->errors;
	dst->drops += src->drops;
}

void orb_stats_conn_gone(struct conn *c)
{
	traffic_add(&c->slot->stats.gone, &c->traffic);
	c->traffic = (struct orb_traffic){0};
}

void orb_slot_free(struct opslot *s)
{
	orb_last_error_clear(&s->stats.last);
	free(s->stats.latency);
	free(s);
}

orbit_histogram *orbit_orbiter_latency(orbit_orbiter *o, const char *operation)
{
	if (!o || !operation || !*operation) {
		errno = EINVAL;
		return NULL;
	}
	struct opslot *s = orb_slot(o, operation);
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	if (!s->stats.latency && !(s->stats.latency = calloc(1, sizeof(*s->stats.latency))))
		errno = ENOMEM;
	return s->stats.latency;
}

int orbit_orbiter_record_error(orbit_orbiter *o, const char *remote_id, const char *operation,
			       bool dropped, const char *text)
{
	if (!o || !operation || !text)
		return -EINVAL;
	struct conn *c = remote_id ? orb_conn_find(o, remote_id, operation) : NULL;
	struct opslot *s = c ? c->slot : orb_slot(o, operation);
	if (!s)
		return -ENOMEM;
	orb_stats_error(o, s, c, dropped, text);
	return 0;
}

/* ---- snapshot ---- */

/* Converts the orbiter's clock into Unix time at the snapshot's instant. */
struct clocks {
	double now, unix_now;
};

static double unix_time(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static json_t *unix_at(const struct clocks *k, double at)
{
	return json_real(k->unix_now - (k->now - at));
}

static json_t *counter(uint64_t n)
{
	return json_integer((json_int_t)n);
}

/* The traffic and last error fields into obj; -1 on ENOMEM. */
static int add_traffic(json_t *obj, const struct orb_traffic *t, const struct orb_last_error *e,
		       const struct clocks *k)
{
	return json_object_update_new(
		obj, json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "inputs_total",
			       counter(t->inputs), "input_bytes_total", counter(t->input_bytes),
			       "outputs_total", counter(t->outputs), "output_bytes_total",
			       counter(t->output_bytes), "errors_total", counter(t->errors),
			       "drops_total", counter(t->drops), "last_error",
			       e->text ? json_string(e->text) : json_null(),
			       "last_error_at_unix_seconds",
			       e->text ? unix_at(k, e->at) : json_null()));
}

static json_t *closes_json(const struct orb_closes *c)
{
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "graceful_sent",
			 counter(c->graceful_sent), "graceful_received",
			 counter(c->graceful_received), "graceless_sent", counter(c->graceless_sent),
			 "graceless_received", counter(c->graceless_received), "acked",
			 counter(c->acked), "timed_out", counter(c->timed_out), "unused",
			 counter(c->unused), "remote_dead", counter(c->remote_dead), "stale",
			 counter(c->stale));
}

static json_t *operation_json(const struct opslot *s, const struct clocks *k)
{
	struct orb_traffic t = s->stats.gone;
	for (const struct conn *c = s->conns; c; c = c->next)
		traffic_add(&t, &c->traffic);
	json_t *j = json_pack("{s:o, s:o, s:o}", "connections_current", counter(s->n_conns),
			      "connections_opened_total", counter(s->stats.opened), "closes_total",
			      closes_json(&s->stats.closes));
	if (!j || add_traffic(j, &t, &s->stats.last, k) < 0 ||
	    (s->stats.latency &&
	     json_object_set_new(j, "latency_seconds", orbit_histogram_json(s->stats.latency)) < 0)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static json_t *connection_json(const struct conn *c, const struct clocks *k)
{
	json_t *j = json_pack("{s:s, s:s, s:o, s:f, s:f, s:b}", "remote_id", c->info.remote_id,
			      "operation", c->info.operation, "opened_at_unix_seconds",
			      unix_at(k, c->info.created), "age_seconds", k->now - c->info.created,
			      "idle_seconds", k->now - c->info.last_use, "closing",
			      c->info.soft_closed);
	if (j && add_traffic(j, &c->traffic, &c->last, k) < 0) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static json_t *by_kind(const uint64_t *v)
{
	json_t *j = json_object();
	for (int i = 0; j && i < ORBIT_MSG__COUNT; i++)
		if (json_object_set_new(j, orbit_msg_kind_label((orbit_msg_kind)i), counter(v[i])) < 0) {
			json_decref(j);
			return NULL;
		}
	return j;
}

json_t *orbit_orbiter_stats_json(const orbit_orbiter *o)
{
	if (!o)
		return NULL;
	struct clocks k = {orb_now(o), unix_time()};
	const struct orb_msg_stats *m = &o->msgs;
	json_t *ops = json_object(), *conns = json_array();
	strmap_iter it = {0};
	strmap_entry *e;
	while (ops && (e = strmap_next(&o->slots, &it)))
		if (json_object_set_new(ops, e->key, operation_json(e->value, &k)) < 0)
			goto fail;
	it = (strmap_iter){0};
	while (conns && (e = strmap_next(&o->conns, &it)))
		if (json_array_append_new(conns, connection_json(e->value, &k)) < 0)
			goto fail;
	return json_pack("{s:s, s:s, s:f, s:o, s:o, s:{s:o, s:o, s:o, s:o, s:o}, s:o, s:o, s:o, "
			 "s:o, s:o}",
			 "id", o->id, "role", o->role->name, "taken_at_unix_seconds", k.unix_now,
			 "connections_current", counter(strmap_count(&o->conns)),
			 "pending_current", counter(strmap_count(&o->pendings)), "messages",
			 "sent_total", by_kind(m->sent), "received_total", by_kind(m->received),
			 "malformed_total", counter(m->malformed), "unexpected_total",
			 counter(m->unexpected), "publish_failures_total",
			 counter(m->publish_failures), "handshakes_refused_total",
			 counter(o->pending_refused), "close_resends_refused_total",
			 counter(o->resends_refused), "remotes_dead_total",
			 counter(m->remotes_dead), "operations", ops, "connections", conns);
fail:
	json_decref(ops);
	json_decref(conns);
	return NULL;
}
