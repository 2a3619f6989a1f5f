/* orbiter.c — what cores and plugins share: the connection and pending
 * tables, remotes and keepalive, close procedures and the housekeeping tick
 * (SPEC §5). Where Python is buggy we follow the intent (DESIGN §3):
 * keepalives are paced by the remote's deadline and never stop while
 * connected, a silent remote is declared dead and its connections closed,
 * unused connections are judged by last use, a graceful close is sent once.
 */
#include "orbiter_internal.h"
#include "liblog.h"
#include "uuid.h"

#include <errno.h>
#include <event2/event.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double orbit_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double orb_sys_coarse(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void orbit_timers_default(orbit_timers *t)
{
	t->loop_interval = 1.0;
	t->pending_requests_expire_after = 60.0;
	t->consider_others_dead_after = 120.0;
	t->send_keepalive_before_timelimit = 10.0;
	t->graceful_close_timeout = 300.0;
	t->close_connection_if_unused_after = -1.0;
	t->discovering_interval = 2.0;
	t->discovering_max_interval = 30.0;
}

char *orb_topic(const char *first, ...)
{
	size_t len = 0;
	va_list ap;
	va_start(ap, first);
	for (const char *s = first; s; s = va_arg(ap, const char *))
		len += strlen(s) + 1;
	va_end(ap);
	char *out = malloc(len ? len : 1);
	if (!out)
		return NULL;
	char *cur = out;
	va_start(ap, first);
	for (const char *s = first; s; s = va_arg(ap, const char *)) {
		if (cur != out)
			*cur++ = '.';
		size_t n = strlen(s);
		memcpy(cur, s, n);
		cur += n;
	}
	va_end(ap);
	*cur = '\0';
	return out;
}

char *orb_conn_topic(const char *op, const char *a, const char *b, const char *kind)
{
	char token[ORBIT_TOKEN_STRLEN + 1];
	orbit_random_token(token);
	return orb_topic(op, a, b, kind, token, NULL);
}

bool orb_id_valid(const char *id)
{
	/* SPEC §1.5: identifiers become topic parts; '+' and '#' are MQTT
	 * wildcards and '/' would split topic levels. Control characters have
	 * no business in a topic and keep pair keys unambiguous. */
	if (!id || !*id || strpbrk(id, "+#/"))
		return false;
	for (const unsigned char *c = (const unsigned char *)id; *c; c++)
		if (*c < 0x20 || *c == 0x7f)
			return false;
	return true;
}

/* Key of a (remote, operation) pair: "remote\x1foperation". Remote ids are
 * validated (no control characters), so no two pairs share a key. The
 * operation is the key's tail, so a record keeps one string for both. */
static size_t pair_key_len(const char *remote, const char *op)
{
	return strlen(remote) + 1 + strlen(op) + 1;
}

static char *pair_key_fill(char *k, const char *remote, const char *op)
{
	size_t a = strlen(remote);
	memcpy(k, remote, a);
	k[a] = '\x1f';
	strcpy(k + a + 1, op);
	return k;
}

static const char *pair_key_operation(const char *key, const char *remote)
{
	return key + strlen(remote) + 1;
}

/* The value under the pair's key; the key is built on the stack when it fits,
 * since this is on the path of every output a plugin sends. */
static void *pair_get(const strmap *m, const char *remote, const char *op)
{
	char stack[256];
	size_t len = pair_key_len(remote, op);
	char *k = len <= sizeof stack ? stack : malloc(len);
	if (!k)
		return NULL;
	void *v = strmap_get(m, pair_key_fill(k, remote, op));
	if (k != stack)
		free(k);
	return v;
}

/* Strings packed after a record in the record's own allocation: fewer,
 * larger blocks cost less than one malloc per string. */
static size_t pack_len(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

static char *pack(char **at, const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s) + 1;
	char *d = memcpy(*at, s, n);
	*at += n;
	return d;
}

/* A record's pair strings packed at *at: the key, then the remote id; the
 * operation is the key's tail. Returns the key. */
static const char *pack_pair(char **at, const char *remote, const char *op,
			     const char **operation, const char **remote_id)
{
	const char *key = pair_key_fill(*at, remote, op);
	*at += pair_key_len(remote, op);
	*operation = pair_key_operation(key, remote);
	*remote_id = pack(at, remote);
	return key;
}

void orb_emit(struct orbit_orbiter *o, const orbit_event *ev)
{
	if (o->ev_cb)
		o->ev_cb(o->ev_ctx, o, ev);
}

/* ---- messages ---- */

static void count_sent(struct orbit_orbiter *o, orbit_msg_kind k, int rc)
{
	if (rc < 0)
		o->msgs.publish_failures++;
	else
		o->msgs.sent[k]++;
}

int orb_send(struct orbit_orbiter *o, const char *topic, const orbit_msg *m, unsigned flags)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = orbit_msg_encode(m, &buf, &len);
	if (rc < 0) {
		orbit_logf(LOG_ERR, "%s: cannot encode %s: %s", o->id,
			   orbit_msg_type_name(m->kind), strerror(-rc));
		return rc;
	}
	orbit_payload p = {
		.data = buf,
		.len = len,
		.format = ORBIT_FMT_AVRO,
		.message_type = orbit_msg_type_name(m->kind),
	};
	rc = orbit_bus_publish(o->bus, topic, &p, flags);
	count_sent(o, m->kind, rc);
	if (rc < 0)
		orbit_logf(LOG_WARNING, "%s: cannot publish %s on %s: %s", o->id, p.message_type,
			   topic, strerror(-rc));
	if (o->observer)
		orb_observe(o, ORBIT_DIR_SENT, topic, &p, m, rc < 0 ? rc : 0);
	free(buf);
	return rc;
}

int orbit_send_graceless_close(orbit_bus *b, const char *topic, const char *from,
			       const char *operation)
{
	if (!b || !topic || !from || !operation)
		return -EINVAL;
	orbit_msg m = {.kind = ORBIT_MSG_GRACELESS};
	m.graceless.from = (char *)from;
	m.graceless.operation = (char *)operation;
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = orbit_msg_encode(&m, &buf, &len);
	if (rc < 0)
		return rc;
	orbit_payload p = {buf, len, ORBIT_FMT_AVRO, orbit_msg_type_name(m.kind)};
	/* Behind what was published before it, the Confirm of that very
	 * connection included (held until its SUBACK): a close overtaking it
	 * would reach a core that does not know the connection yet. */
	rc = orbit_bus_publish(b, topic, &p, ORBIT_PUB_AFTER_SUBACK);
	free(buf);
	return rc;
}

/* Closes one orbiter keeps queued for retransmission (orbit/orbiter.h). */
static size_t max_resends = 4096;

int orbit_set_close_resend_max(size_t n)
{
	max_resends = n;
	return 0;
}

static void resend_queue(struct orbit_orbiter *o, const char *topic, const char *remote,
			 const char *op, const uint8_t *buf, size_t len, const char *type)
{
	if (o->n_resends >= max_resends) {
		o->resends_refused++;
		if (max_resends)
			orbit_logf(LOG_WARNING, "%s: %zu closes queued for retransmission already; "
				   "the close of %s/%s goes once (%llu so far)", o->id,
				   max_resends, remote, op,
				   (unsigned long long)o->resends_refused);
		return;
	}
	struct resend *r = malloc(sizeof(*r) + pair_key_len(remote, op) + pack_len(remote) +
				  pack_len(topic) + len);
	if (!r)
		return;
	char *at = (char *)(r + 1);
	r->key = pack_pair(&at, remote, op, &r->operation, &r->remote_id);
	r->topic = pack(&at, topic);
	r->p = (orbit_payload){.data = memcpy(at, buf, len), .len = len,
			       .format = ORBIT_FMT_AVRO, .message_type = type};
	/* The next pass gets past a one-off loss; the second copy, two passes
	 * later, past a broker reconnect or a burst that took the first. */
	r->due = o->passes + 1;
	r->left = 2;
	r->next = o->resends;
	o->resends = r;
	o->n_resends++;
}

void orb_send_graceless(struct orbit_orbiter *o, const char *topic, const char *remote,
			const char *op, const orbit_bytes *data, bool resend)
{
	orbit_msg m = {.kind = ORBIT_MSG_GRACELESS};
	m.graceless.from = o->id;
	m.graceless.operation = (char *)op;
	if (data)
		m.graceless.data = *data;
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = orbit_msg_encode(&m, &buf, &len);
	if (rc < 0) {
		orbit_logf(LOG_ERR, "%s: cannot encode %s: %s", o->id,
			   orbit_msg_type_name(m.kind), strerror(-rc));
		return;
	}
	orbit_payload p = {buf, len, ORBIT_FMT_AVRO, orbit_msg_type_name(m.kind)};
	rc = orbit_bus_publish(o->bus, topic, &p, 0);
	count_sent(o, m.kind, rc);
	if (rc < 0)
		orbit_logf(LOG_WARNING, "%s: cannot publish %s on %s: %s", o->id, p.message_type,
			   topic, strerror(-rc));
	if (o->observer)
		orb_observe(o, ORBIT_DIR_SENT, topic, &p, &m, rc < 0 ? rc : 0);
	/* Not at stop: the remote hears our closes then or declares us dead. */
	if (resend && o->running)
		resend_queue(o, topic, remote, op, buf, len, p.message_type);
	free(buf);
}

/* Send what is due; drop what is done or superseded: a handshake or a
 * connection for the pair exists again, so the remote may hold a new
 * connection behind the same topic (a Python peer's close topics are
 * deterministic) that a stale copy must not close. */
static void resend_closes(struct orbit_orbiter *o)
{
	for (struct resend **at = &o->resends, *r; (r = *at);) {
		if (r->due > o->passes) {
			at = &r->next;
			continue;
		}
		if (!strmap_get(&o->conns, r->key) && !strmap_get(&o->pendings, r->key)) {
			orbit_logf(LOG_DEBUG, "%s: close of %s/%s sent again", o->id, r->remote_id,
				   r->operation);
			int rc = orbit_bus_publish(o->bus, r->topic, &r->p, 0);
			count_sent(o, ORBIT_MSG_GRACELESS, rc);
			if (o->observer)
				orb_observe(o, ORBIT_DIR_SENT, r->topic, &r->p, NULL,
					    rc < 0 ? rc : 0);
			if (--r->left) {
				r->due = o->passes + 2;
				at = &r->next;
				continue;
			}
		}
		*at = r->next;
		o->n_resends--;
		free(r);
	}
}

static void drop_resends(struct orbit_orbiter *o)
{
	while (o->resends) {
		struct resend *r = o->resends;
		o->resends = r->next;
		free(r);
	}
	o->n_resends = 0;
}

int orb_decode(struct orbit_orbiter *o, const char *topic, const orbit_payload *p, unsigned mask,
	       orbit_msg *m)
{
	int kind = p->message_type ? orbit_msg_kind_from_name(p->message_type) : -EINVAL;
	if (kind < 0 || !(mask & (1u << kind)) || p->format != ORBIT_FMT_AVRO) {
		o->msgs.unexpected++;
		if (o->observer)
			orb_observe(o, ORBIT_DIR_RECEIVED, topic, p, NULL, -EPROTO);
		orbit_logf(LOG_WARNING, "%s: dropped unexpected %s (%s) on %s", o->id,
			   p->message_type ? p->message_type : "payload-less event",
			   orbit_format_name(p->format) ? orbit_format_name(p->format) : "null",
			   topic);
		return -EBADMSG;
	}
	int rc = orbit_msg_decode((orbit_msg_kind)kind, p->data, p->len, m);
	if (rc < 0) {
		o->msgs.malformed++;
		orbit_logf(LOG_WARNING, "%s: dropped malformed %s on %s: %s", o->id,
			   p->message_type, topic, strerror(-rc));
	} else {
		o->msgs.received[kind]++;
	}
	if (o->observer)
		orb_observe(o, ORBIT_DIR_RECEIVED, topic, p, rc < 0 ? NULL : m, rc);
	return rc;
}

/* ---- remotes ---- */

struct remote *orb_remote(struct orbit_orbiter *o, const char *id)
{
	return strmap_get(&o->remotes, id);
}

static void remote_free(struct remote *r)
{
	free(r->topics);
	free(r);
}

static void remote_free_value(void *ctx, void *r)
{
	(void)ctx;
	remote_free(r);
}

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* The remote's two keepalive topics, in one block; replaced only when a
 * Discover or Offer announces different ones. */
static int remote_set_topics(struct remote *r, const char *ka, const char *ka_req)
{
	if (r->topics && same_str(r->keepalive_topic, ka) &&
	    same_str(r->keepalive_request_topic, ka_req))
		return 0;
	char *block = malloc(pack_len(ka) + pack_len(ka_req) + 1);
	if (!block)
		return -ENOMEM;
	char *at = block;
	free(r->topics);
	r->topics = block;
	r->keepalive_topic = pack(&at, ka);
	r->keepalive_request_topic = pack(&at, ka_req);
	return 0;
}

/* The accepted range of announced deadlines (orbit/orbiter.h). Written
 * by the application's setup, read by every orbiter of the process. */
static double accept_min = 1.0, accept_max = 3600.0;

int orbit_set_accepted_dead_after(double min, double max)
{
	if (!(min > 0) || !(max >= min))
		return -EINVAL;
	accept_min = min;
	accept_max = max;
	return 0;
}

/* An announced deadline within the accepted range. */
static double clamp_dead_after(double v)
{
	return v > accept_max ? accept_max : v < accept_min ? accept_min : v;
}

struct remote *orb_remote_learn(struct orbit_orbiter *o, const char *id, const char *ka_topic,
				const char *ka_req_topic, double dead_after)
{
	struct remote *r = orb_remote(o, id);
	if (!r) {
		r = calloc(1, sizeof(*r) + pack_len(id));
		if (!r)
			return NULL;
		char *at = (char *)(r + 1);
		if (strmap_put_node(&o->remotes, &r->node, r->id = pack(&at, id), r) < 0) {
			free(r);
			return NULL;
		}
		r->last_keepalive_sent = -1;
	}
	if (remote_set_topics(r, ka_topic, ka_req_topic) < 0)
		return NULL;
	/* A deadline we cannot meet (<= 0, NaN) would make us send keepalives
	 * on every tick; treat it as "unknown" and rely on their own traffic. */
	r->has_deadline = dead_after > 0;
	if (r->has_deadline) {
		double accepted = clamp_dead_after(dead_after);
		if (accepted != dead_after && accepted != r->dead_after)
			orbit_logf(LOG_WARNING, "%s: %s announces considered_dead_after %gs; "
				   "accepted as %gs", o->id, r->id, dead_after, accepted);
		dead_after = accepted;
	}
	r->dead_after = dead_after;
	r->last_seen = orb_now(o);
	return r;
}

void orb_seen(struct orbit_orbiter *o, const char *id)
{
	struct remote *r = orb_remote(o, id);
	if (r)
		r->last_seen = orb_now(o);
}

int orbit_orbiter_remote_times(const orbit_orbiter *o, const char *remote_id,
			       orbit_remote_times *t)
{
	const struct remote *r = strmap_get(&o->remotes, remote_id);
	if (!r)
		return -ENOENT;
	t->last_seen = r->last_seen;
	t->dead_at = o->t.consider_others_dead_after >= 0
			     ? r->last_seen + o->t.consider_others_dead_after
			     : -1;
	t->their_deadline = r->has_deadline && r->last_keepalive_sent >= 0
				    ? r->last_keepalive_sent + r->dead_after
				    : -1;
	return 0;
}

bool orbit_orbiter_remote_dead(const orbit_orbiter *o, const char *remote_id)
{
	const struct remote *r = strmap_get(&o->remotes, remote_id);
	return r && o->t.consider_others_dead_after >= 0 &&
	       orb_now(o) - r->last_seen > o->t.consider_others_dead_after;
}

/* ---- slots, pending requests ---- */

struct opslot *orb_slot(struct orbit_orbiter *o, const char *operation)
{
	struct opslot *s = strmap_get(&o->slots, operation);
	if (s)
		return s;
	s = calloc(1, sizeof(*s) + pack_len(operation));
	if (!s)
		return NULL;
	char *at = (char *)(s + 1);
	if (strmap_put_node(&o->slots, &s->node, pack(&at, operation), s) < 0) {
		free(s);
		return NULL;
	}
	return s;
}

struct conn *orb_conn_find(struct orbit_orbiter *o, const char *remote, const char *op)
{
	return pair_get(&o->conns, remote, op);
}

struct pending *orb_pending_find(struct orbit_orbiter *o, const char *remote, const char *op)
{
	return pair_get(&o->pendings, remote, op);
}

static void pending_free(struct orbit_orbiter *o, struct pending *p)
{
	orb_spec_release(o, p->input);
	orb_spec_release(o, p->output);
	free(p->output_topic);
	free(p->close_topic);
	free(p->reply_topic);
	free(p);
}

void orb_pending_remove(struct orbit_orbiter *o, struct pending *p)
{
	strmap_remove(&o->pendings, p->key);
	if (p->prev)
		p->prev->next = p->next;
	else
		p->slot->pendings = p->next;
	if (p->next)
		p->next->prev = p->prev;
	p->slot->n_pending--;
	struct remote *r = orb_remote(o, p->remote_id);
	if (r && r->n_pending)
		r->n_pending--;
	pending_free(o, p);
}

/* Pending handshakes one orbiter keeps at most (orbit/orbiter.h). */
static size_t max_pending = 65536;

int orbit_set_max_pending(size_t n)
{
	if (!n)
		return -EINVAL;
	max_pending = n;
	return 0;
}

struct pending *orb_pending_add(struct orbit_orbiter *o, const char *remote, const char *op,
				const orbit_spec *in, const orbit_spec *out)
{
	struct pending *old = orb_pending_find(o, remote, op);
	if (old)
		orb_pending_remove(o, old);
	/* One per (remote, operation) already bounds each remote; the total
	 * bounds what a crowd of remotes (forged Discovers) can make us keep
	 * until pending_requests_expire_after. */
	if (strmap_count(&o->pendings) >= max_pending) {
		o->pending_refused++;
		orbit_logf(LOG_WARNING, "%s: %zu handshakes pending already; %s's for %s not "
			   "started (%llu refused so far)", o->id, max_pending, remote, op,
			   (unsigned long long)o->pending_refused);
		return NULL;
	}
	struct opslot *slot = orb_slot(o, op);
	size_t klen = pair_key_len(remote, op);
	struct pending *p = calloc(1, sizeof(*p) + klen + pack_len(remote));
	if (!slot || !p)
		goto fail;
	char *at = (char *)(p + 1);
	p->key = pack_pair(&at, remote, op, &p->operation, &p->remote_id);
	if (!(p->input = orb_spec_intern(o, in)) || !(p->output = orb_spec_intern(o, out)) ||
	    strmap_put_node(&o->pendings, &p->node, p->key, p) < 0)
		goto fail;
	p->created = orb_now(o);
	p->slot = slot;
	p->next = slot->pendings;
	if (p->next)
		p->next->prev = p;
	slot->pendings = p;
	slot->n_pending++;
	struct remote *r = orb_remote(o, remote);
	if (r)
		r->n_pending++;
	return p;
fail:
	if (p)
		pending_free(o, p);
	return NULL;
}

/* ---- shared specs ---- */

/* The identity of a spec is its flags and exact schema strings. An orbiter
 * holds few distinct specs (one or two per operation), so they sit in a list
 * searched by hash: no key string repeating the schemas. */
static uint64_t spec_hash(const orbit_spec *s)
{
	uint64_t h = 1469598103934665603ull;
	h = (h ^ (unsigned)(s->support_empty | s->support_undefined << 1)) * 1099511628211ull;
	for (size_t i = 0; i < s->n_schemas; i++) {
		for (const char *c = s->schemas[i]; *c; c++)
			h = (h ^ (unsigned char)*c) * 1099511628211ull;
		h = (h ^ 0x1e) * 1099511628211ull;
	}
	return h;
}

static bool spec_same(const orbit_spec *a, const orbit_spec *b)
{
	if (a->support_empty != b->support_empty ||
	    a->support_undefined != b->support_undefined || a->n_schemas != b->n_schemas)
		return false;
	for (size_t i = 0; i < a->n_schemas; i++)
		if (strcmp(a->schemas[i], b->schemas[i]) != 0)
			return false;
	return true;
}

struct spec_ref *orb_spec_intern(struct orbit_orbiter *o, const orbit_spec *s)
{
	uint64_t h = spec_hash(s);
	for (struct spec_ref *r = o->specs; r; r = r->next) {
		if (r->hash == h && spec_same(&r->spec, s)) {
			r->refs++;
			return r;
		}
	}
	struct spec_ref *r = calloc(1, sizeof *r);
	if (!r || orbit_spec_copy(&r->spec, s) < 0) {
		free(r);
		return NULL;
	}
	r->hash = h;
	r->refs = 1;
	r->prev = NULL;
	r->next = o->specs;
	if (r->next)
		r->next->prev = r;
	o->specs = r;
	return r;
}

void orb_spec_release(struct orbit_orbiter *o, struct spec_ref *r)
{
	if (!r || --r->refs)
		return;
	if (r->prev)
		r->prev->next = r->next;
	else
		o->specs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	orbit_spec_clear(&r->spec);
	free(r);
}

/* ---- connections ---- */

static void conn_free(struct conn *c)
{
	free(c->ack_topic);
	orb_last_error_clear(&c->last);
	orb_spec_release(c->o, spec_ref_of(c->info.input));
	orb_spec_release(c->o, spec_ref_of(c->info.output));
	free(c);
}

static void on_close_message(void *ctx, const char *topic, const orbit_payload *p);
static void on_ack(void *ctx, const char *topic, const orbit_payload *p);

/* The data topic is one of the two payload topics, or a topic of its own. */
static const char *pack_data_topic(char **at, const char *data, const char *input,
				   const char *output)
{
	if (!data)
		return NULL;
	if (input && strcmp(data, input) == 0)
		return input;
	if (output && strcmp(data, output) == 0)
		return output;
	return pack(at, data);
}

static struct conn *conn_new(struct orbit_orbiter *o, const char *remote, const char *op,
			     struct spec_ref *in, struct spec_ref *out, const char *input_topic,
			     const char *output_topic, const char *close_to_remote,
			     const char *incoming_close, const char *data_topic)
{
	size_t klen = pair_key_len(remote, op);
	struct conn *c = calloc(1, sizeof(*c) + klen + pack_len(remote) + pack_len(input_topic) +
					   pack_len(output_topic) + pack_len(close_to_remote) +
					   pack_len(incoming_close) + pack_len(data_topic));
	if (!c)
		return NULL;
	char *at = (char *)(c + 1);
	c->o = o;
	pack_pair(&at, remote, op, &c->info.operation, &c->info.remote_id);
	c->info.input_topic = pack(&at, input_topic);
	c->info.output_topic = pack(&at, output_topic);
	c->info.close_to_remote_topic = pack(&at, close_to_remote);
	c->info.incoming_close_topic = pack(&at, incoming_close);
	c->data_topic = pack_data_topic(&at, data_topic, c->info.input_topic, c->info.output_topic);
	c->info.input = &in->spec;
	c->info.output = &out->spec;
	in->refs++;
	out->refs++;
	return c;
}

struct conn *orb_conn_add(struct orbit_orbiter *o, const char *remote, const char *op,
			  struct spec_ref *in, struct spec_ref *out, const char *input_topic,
			  const char *output_topic, const char *close_to_remote,
			  const char *incoming_close, const char *data_topic, orbit_bus_handler h)
{
	struct opslot *slot = orb_slot(o, op);
	struct conn *c = slot ? conn_new(o, remote, op, in, out, input_topic, output_topic,
					 close_to_remote, incoming_close, data_topic)
			      : NULL;
	bool close_sub = false;
	if (!c)
		goto fail;
	if (orbit_bus_subscribe(o->bus, incoming_close, on_close_message, o) < 0)
		goto fail;
	close_sub = true;
	if (data_topic && orbit_bus_subscribe(o->bus, data_topic, h, c) < 0)
		goto fail;
	if (strmap_put_node(&o->conns, &c->node, conn_key(c), c) < 0) {
		if (data_topic)
			orbit_bus_unsubscribe(o->bus, data_topic, c);
		goto fail;
	}
	c->info.created = c->info.last_use = orb_now(o);
	c->slot = slot;
	c->next = slot->conns;
	if (c->next)
		c->next->prev = c;
	slot->conns = c;
	slot->n_conns++;
	slot->stats.opened++;
	struct remote *r = orb_remote(o, remote);
	if (r)
		r->n_conns++;
	orbit_event ev = {.kind = ORBIT_EV_CONNECTED, .conn = &c->info, .remote_id = remote};
	orb_emit(o, &ev);
	return c;
fail:
	if (close_sub)
		orbit_bus_unsubscribe(o->bus, incoming_close, o);
	if (c)
		conn_free(c);
	orbit_logf(LOG_ERR, "%s: cannot create connection %s/%s", o->id, remote, op);
	return NULL;
}

void orb_conn_remove(struct orbit_orbiter *o, struct conn *c, bool graceful)
{
	strmap_remove(&o->conns, conn_key(c));
	if (c->prev)
		c->prev->next = c->next;
	else
		c->slot->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->slot->n_conns--;
	orb_stats_conn_gone(c);
	struct remote *r = orb_remote(o, c->info.remote_id);
	if (r && r->n_conns)
		r->n_conns--;
	/* Only what we subscribed is unsubscribed (SPEC §5.7 Python pitfall). */
	if (c->data_topic)
		orbit_bus_unsubscribe(o->bus, c->data_topic, c);
	orbit_bus_unsubscribe(o->bus, c->info.incoming_close_topic, o);
	if (c->ack_topic)
		orbit_bus_unsubscribe(o->bus, c->ack_topic, o);
	orbit_event ev = {
		.kind = ORBIT_EV_DISCONNECTED,
		.conn = &c->info,
		.remote_id = c->info.remote_id,
		.graceful = graceful,
	};
	orb_emit(o, &ev);
	if (o->role->conn_removed)
		o->role->conn_removed(o, c);
	conn_free(c);
}

void orb_conn_close(struct orbit_orbiter *o, struct conn *c, bool graceful, const orbit_bytes *data)
{
	orbit_bytes none = {0};
	if (!data)
		data = &none;
	if (!graceful) {
		/* Our side goes first (SPEC §5.5), then the remote is told: what
		 * the message needs of c is copied before c goes. */
		char *key = strdup(conn_key(c));
		char *to = c->info.close_to_remote_topic ? strdup(c->info.close_to_remote_topic) : NULL;
		size_t rlen = strlen(c->info.remote_id);
		c->slot->stats.closes.graceless_sent++;
		orb_conn_remove(o, c, false);
		if (key && to) {
			key[rlen] = '\0'; /* remote id, then the operation */
			orb_send_graceless(o, to, key, key + rlen + 1, data, true);
		}
		free(to);
		free(key);
		return;
	}
	if (c->info.soft_closed)
		return; /* sent once; the tick turns it graceless on timeout */
	/* Beside our incoming close topic: as unguessable as it is. */
	char *ack = orb_topic(c->info.incoming_close_topic, "ack", NULL);
	if (!ack || orbit_bus_subscribe(o->bus, ack, on_ack, o) < 0) {
		free(ack);
		orb_conn_close(o, c, false, data);
		return;
	}
	c->ack_topic = ack;
	c->info.soft_closed = true;
	c->slot->stats.closes.graceful_sent++;
	c->soft_closed_at = orb_now(o);
	orbit_msg m = {.kind = ORBIT_MSG_GRACEFUL};
	m.graceful.from = o->id;
	m.graceful.operation = (char *)c->info.operation;
	m.graceful.ack_topic = ack;
	m.graceful.data = *data;
	orb_send(o, c->info.close_to_remote_topic, &m, ORBIT_PUB_AFTER_SUBACK);
}

/* Incoming Graceless/Graceful on one of our incoming close topics. */
static void on_close_message(void *ctx, const char *topic, const orbit_payload *p)
{
	struct orbit_orbiter *o = ctx;
	orbit_msg m;
	if (orb_decode(o, topic, p, 1u << ORBIT_MSG_GRACELESS | 1u << ORBIT_MSG_GRACEFUL, &m) < 0)
		return;
	bool graceful = m.kind == ORBIT_MSG_GRACEFUL;
	const char *from = graceful ? m.graceful.from : m.graceless.from;
	const char *op = graceful ? m.graceful.operation : m.graceless.operation;
	struct conn *c = orb_conn_find(o, from, op);
	if (!c) {
		/* Python peers may repeat a GracefulClose; no connection, no ack.
		 * Nor an echo: that ends any ping-pong of closes. */
		orbit_logf(LOG_INFO, "%s: close for unknown connection %s/%s", o->id, from, op);
		goto out;
	}
	/* The echo of a Graceless: a genuine one comes from a remote that has
	 * removed its side and unsubscribed this topic (SPEC §5.5, §5.7), so
	 * the echo reaches nobody; a forged one (or a copy of ours the remote
	 * never saw, e.g. a stale retransmit) reaches the remote, which drops
	 * its side too: both sides agree, and the plugin offers again. */
	char *echo = !graceful && c->info.close_to_remote_topic
			     ? strdup(c->info.close_to_remote_topic)
			     : NULL;
	if (graceful)
		c->slot->stats.closes.graceful_received++;
	else
		c->slot->stats.closes.graceless_received++;
	orb_conn_remove(o, c, graceful);
	if (echo) {
		orb_send_graceless(o, echo, from, op, NULL, false);
		free(echo);
	}
	if (graceful) {
		orbit_msg ack = {.kind = ORBIT_MSG_CLOSE_ACK};
		ack.close_ack.from = o->id;
		ack.close_ack.operation = m.graceful.operation;
		orb_send(o, m.graceful.ack_topic, &ack, 0);
	}
out:
	orbit_msg_clear(&m);
}

static void on_ack(void *ctx, const char *topic, const orbit_payload *p)
{
	struct orbit_orbiter *o = ctx;
	orbit_msg m;
	if (orb_decode(o, topic, p, 1u << ORBIT_MSG_CLOSE_ACK, &m) < 0)
		return;
	orb_seen(o, m.close_ack.from);
	struct conn *c = orb_conn_find(o, m.close_ack.from, m.close_ack.operation);
	if (c && c->info.soft_closed) {
		c->slot->stats.closes.acked++;
		orb_conn_remove(o, c, true);
	}
	else
		orbit_logf(LOG_INFO, "%s: ack for unknown close %s/%s", o->id, m.close_ack.from,
			   m.close_ack.operation);
	orbit_msg_clear(&m);
}

/* ---- keepalive ---- */

static void send_keepalive(struct orbit_orbiter *o, const char *topic)
{
	orbit_msg m = {.kind = ORBIT_MSG_KEEPALIVE};
	m.keepalive.from = o->id;
	orb_send(o, topic, &m, 0);
}

static void on_keepalive(void *ctx, const char *topic, const orbit_payload *p)
{
	struct orbit_orbiter *o = ctx;
	orbit_msg m;
	if (orb_decode(o, topic, p, 1u << ORBIT_MSG_KEEPALIVE, &m) < 0)
		return;
	orb_seen(o, m.keepalive.from);
	orbit_msg_clear(&m);
}

static void on_keepalive_request(void *ctx, const char *topic, const orbit_payload *p)
{
	struct orbit_orbiter *o = ctx;
	orbit_msg m;
	if (orb_decode(o, topic, p, 1u << ORBIT_MSG_KEEPALIVE_REQUEST, &m) < 0)
		return;
	send_keepalive(o, m.keepalive_request.keepalive_topic);
	orbit_msg_clear(&m);
}

int orbit_orbiter_request_keepalive(orbit_orbiter *o, const char *remote_id)
{
	struct remote *r = orb_remote(o, remote_id);
	if (!r || !r->keepalive_request_topic)
		return -ENOENT;
	orbit_msg m = {.kind = ORBIT_MSG_KEEPALIVE_REQUEST};
	m.keepalive_request.from = o->id;
	m.keepalive_request.keepalive_topic = o->keepalive_topic;
	return orb_send(o, r->keepalive_request_topic, &m, ORBIT_PUB_AFTER_SUBACK);
}

/* ---- housekeeping tick ---- */

/* Keys of the entries to act on, collected first because acting (closing,
 * user callbacks) may change the maps being walked. */
struct keylist {
	char **v;
	size_t n, cap;
};

static void keylist_add(struct keylist *l, const char *k)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		char **v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return; /* the next tick retries */
		l->v = v;
		l->cap = cap;
	}
	char *d = strdup(k);
	if (d)
		l->v[l->n++] = d;
}

static void keylist_free(struct keylist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	*l = (struct keylist){0};
}

static void expire_pendings(struct orbit_orbiter *o, double now)
{
	if (o->t.pending_requests_expire_after < 0)
		return;
	strmap_iter it = {0};
	strmap_entry *e;
	while ((e = strmap_next(&o->pendings, &it))) {
		struct pending *p = e->value;
		if (now - p->created > o->t.pending_requests_expire_after) {
			orbit_logf(LOG_DEBUG, "%s: pending %s/%s expired", o->id, p->remote_id,
				   p->operation);
			orb_pending_remove(o, p); /* removing the current entry is allowed */
		}
	}
}

static void close_timed_out_and_unused(struct orbit_orbiter *o, double now)
{
	struct keylist forced = {0}, unused = {0};
	strmap_iter it = {0};
	strmap_entry *e;
	while ((e = strmap_next(&o->conns, &it))) {
		struct conn *c = e->value;
		if (c->info.soft_closed) {
			if (o->t.graceful_close_timeout >= 0 &&
			    now - c->soft_closed_at > o->t.graceful_close_timeout)
				keylist_add(&forced, conn_key(c));
		} else if (o->t.close_connection_if_unused_after >= 0 &&
			   now - c->info.last_use > o->t.close_connection_if_unused_after) {
			keylist_add(&unused, conn_key(c));
		}
	}
	for (size_t i = 0; i < forced.n; i++) {
		struct conn *c = strmap_get(&o->conns, forced.v[i]);
		if (c) {
			orbit_logf(LOG_INFO, "%s: graceful close of %s/%s timed out", o->id,
				   c->info.remote_id, c->info.operation);
			c->slot->stats.closes.timed_out++;
			orb_conn_close(o, c, false, NULL);
		}
	}
	for (size_t i = 0; i < unused.n; i++) {
		struct conn *c = strmap_get(&o->conns, unused.v[i]);
		if (c) {
			c->slot->stats.closes.unused++;
			orb_conn_close(o, c, true, NULL);
		}
	}
	keylist_free(&forced);
	keylist_free(&unused);
}

static size_t close_remote(struct orbit_orbiter *o, const char *remote_id)
{
	struct keylist keys = {0};
	strmap_iter it = {0};
	strmap_entry *e;
	while ((e = strmap_next(&o->conns, &it))) {
		struct conn *c = e->value;
		if (strcmp(c->info.remote_id, remote_id) == 0)
			keylist_add(&keys, conn_key(c));
	}
	size_t n = 0;
	for (size_t i = 0; i < keys.n; i++) {
		struct conn *c = strmap_get(&o->conns, keys.v[i]);
		if (c) {
			c->slot->stats.closes.remote_dead++;
			orb_conn_close(o, c, false, NULL);
			n++;
		}
	}
	keylist_free(&keys);
	it = (strmap_iter){0};
	while ((e = strmap_next(&o->pendings, &it))) {
		struct pending *p = e->value;
		if (strcmp(p->remote_id, remote_id) == 0)
			orb_pending_remove(o, p);
	}
	return n;
}

size_t orbit_orbiter_close_remote(orbit_orbiter *o, const char *remote_id)
{
	if (!o || !remote_id)
		return 0;
	return close_remote(o, remote_id);
}

/* Keepalive pacing. SPEC §5.2 sends once less than
 * send_keepalive_before_timelimit of the remote's deadline (the
 * considered_dead_after it announced) is left, so a remote whose deadline is
 * shorter than that threshold — 5 s against the default 10 s — gets one on
 * every tick. We send once less than min(threshold, deadline / 2) is left:
 * never more than two per deadline, and each with half the deadline at least
 * to spare for the bus and the remote's own loop. The defaults (120 s, 10 s)
 * keep Python's cadence, one every 110 s. */
static double keepalive_due(const struct orbit_orbiter *o, const struct remote *r)
{
	double margin = o->t.send_keepalive_before_timelimit;
	if (margin > r->dead_after / 2)
		margin = r->dead_after / 2;
	return r->last_keepalive_sent + r->dead_after - margin;
}

static bool keepalive_wanted(const struct remote *r)
{
	return r->n_conns && r->has_deadline && r->keepalive_topic;
}

/* Send r its keepalive if it is due at now (the first one at once; unlike
 * Python's timedelta.seconds, a missed deadline still sends). Returns when
 * the next one is due. */
static double keepalive_maybe(struct orbit_orbiter *o, struct remote *r, double now)
{
	if (r->last_keepalive_sent < 0 || now > keepalive_due(o, r)) {
		send_keepalive(o, r->keepalive_topic);
		r->last_keepalive_sent = now;
	}
	return keepalive_due(o, r);
}

static void keepalive_timer(evutil_socket_t fd, short what, void *arg);
static struct timeval tv_of(double s);

/* Ticks come every loop_interval, so a keepalive due before the next one
 * would leave late: with the accepted minimum deadline (1 s) and the default
 * loop (1 s), after the remote's deadline. Such a keepalive gets a timer of
 * its own, at its due time (plus a millisecond, so that it is due when the
 * timer fires). Without a tick (loop_interval < 0) housekeeping is the
 * application's to schedule, and so are keepalives. */
static void keepalive_arm(struct orbit_orbiter *o, double next_due, double now)
{
	if (!o->tick_ev || !o->running)
		return;
	double wait = next_due - now;
	if (!(wait < o->t.loop_interval)) {
		if (o->keepalive_ev)
			event_del(o->keepalive_ev);
		return;
	}
	/* Without the timer (ENOMEM) the next tick still sends, late. */
	if (!o->keepalive_ev &&
	    !(o->keepalive_ev = evtimer_new(o->bus->base, keepalive_timer, o)))
		return;
	struct timeval tv = tv_of(wait + 0.001);
	event_add(o->keepalive_ev, &tv);
}

static void keepalive_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct orbit_orbiter *o = arg;
	double now = orb_now(o), next = INFINITY;
	strmap_iter it = {0};
	strmap_entry *e;
	while ((e = strmap_next(&o->remotes, &it))) {
		struct remote *r = e->value;
		if (keepalive_wanted(r)) {
			double due = keepalive_maybe(o, r, now);
			if (due < next)
				next = due;
		}
	}
	keepalive_arm(o, next, now);
}

static void keepalive_and_liveness(struct orbit_orbiter *o, double now)
{
	struct keylist dead = {0}, forget = {0};
	strmap_iter it = {0};
	strmap_entry *e;
	double limit = o->t.consider_others_dead_after, next = INFINITY;
	while ((e = strmap_next(&o->remotes, &it))) {
		struct remote *r = e->value;
		bool silent = limit >= 0 && now - r->last_seen > limit;
		if (r->n_conns || r->n_pending) {
			if (silent) {
				keylist_add(&dead, r->id);
				continue;
			}
		} else if (silent) {
			keylist_add(&forget, r->id);
			continue;
		}
		if (!keepalive_wanted(r))
			continue;
		double due = keepalive_maybe(o, r, now);
		if (due < next)
			next = due;
	}
	keepalive_arm(o, next, now);
	for (size_t i = 0; i < dead.n; i++) {
		orbit_logf(LOG_WARNING, "%s: %s silent for more than %.1fs: considered dead",
			   o->id, dead.v[i], limit);
		o->msgs.remotes_dead++;
		orbit_event ev = {.kind = ORBIT_EV_REMOTE_DEAD, .remote_id = dead.v[i]};
		orb_emit(o, &ev);
		close_remote(o, dead.v[i]);
	}
	for (size_t i = 0; i < forget.n; i++) {
		struct remote *r = orb_remote(o, forget.v[i]);
		if (r && !r->n_conns && !r->n_pending) {
			strmap_remove(&o->remotes, forget.v[i]);
			remote_free(r);
		}
	}
	keylist_free(&dead);
	keylist_free(&forget);
}

/* One housekeeping pass at the orbiter's current time (SPEC §5.1). */
static void housekeeping(struct orbit_orbiter *o)
{
	double now = orb_now(o);
	o->ticking = true;
	o->passes++;
	resend_closes(o);
	expire_pendings(o, now);
	close_timed_out_and_unused(o, now);
	keepalive_and_liveness(o, now);
	if (o->role->tick)
		o->role->tick(o, now);
	o->ticking = false;
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	housekeeping(arg);
}

static struct timeval tv_of(double s)
{
	if (s < 0.001)
		s = 0.001;
	struct timeval tv = {.tv_sec = (time_t)s};
	tv.tv_usec = (suseconds_t)((s - (double)tv.tv_sec) * 1e6);
	return tv;
}

/* ---- lifecycle ---- */

int orb_init(struct orbit_orbiter *o, const struct role_ops *role, orbit_bus *bus, const char *id,
	     const orbit_timers *t, const char *discover_topic)
{
	if (!bus || !orb_id_valid(id) || (discover_topic && strpbrk(discover_topic, "+#")))
		return -EINVAL;
	o->role = role;
	o->bus = bus;
	if (t)
		o->t = *t;
	else
		orbit_timers_default(&o->t);
	/* 0 would be a busy loop; NaN compares false both ways. A negative
	 * interval means no periodic tick: the application runs housekeeping
	 * with orbit_orbiter_tick on its own schedule. */
	if (!(o->t.loop_interval > 0 || o->t.loop_interval < 0))
		return -EINVAL;
	strmap_init(&o->remotes);
	strmap_init(&o->conns);
	strmap_init(&o->pendings);
	strmap_init(&o->slots);
	o->id = strdup(id);
	o->discover_topic = strdup(discover_topic ? discover_topic : "$handshake.discover");
	o->keepalive_topic = orb_topic("$keepalive", id, NULL);
	o->keepalive_request_topic = orb_topic("$keepalive", id, "request", NULL);
	if (o->t.loop_interval > 0)
		o->tick_ev = event_new(bus->base, -1, EV_PERSIST, tick, o);
	if (!o->id || !o->discover_topic || !o->keepalive_topic || !o->keepalive_request_topic ||
	    (o->t.loop_interval > 0 && !o->tick_ev)) {
		orb_destroy(o);
		return -ENOMEM;
	}
	return 0;
}

int orb_start(struct orbit_orbiter *o)
{
	int rc = orbit_bus_subscribe(o->bus, o->keepalive_request_topic, on_keepalive_request, o);
	if (rc < 0)
		return rc;
	rc = orbit_bus_subscribe(o->bus, o->keepalive_topic, on_keepalive, o);
	if (rc < 0) {
		orbit_bus_unsubscribe(o->bus, o->keepalive_request_topic, o);
		return rc;
	}
	if (o->tick_ev) {
		struct timeval tv = tv_of(o->t.loop_interval);
		event_add(o->tick_ev, &tv);
	}
	o->running = true;
	return 0;
}

void orb_stop(struct orbit_orbiter *o)
{
	if (!o->running)
		return;
	o->running = false;
	if (o->tick_ev)
		event_del(o->tick_ev);
	if (o->keepalive_ev)
		event_del(o->keepalive_ev);
	orbit_bus_unsubscribe(o->bus, o->keepalive_request_topic, o);
	orbit_bus_unsubscribe(o->bus, o->keepalive_topic, o);
	orbit_orbiter_close_all(o, false);
	drop_resends(o);
	strmap_iter it = {0};
	strmap_entry *e;
	while ((e = strmap_next(&o->pendings, &it)))
		orb_pending_remove(o, e->value);
}

static void conn_free_value(void *ctx, void *v)
{
	struct orbit_orbiter *o = ctx;
	struct conn *c = v;
	if (c->data_topic)
		orbit_bus_unsubscribe(o->bus, c->data_topic, c);
	conn_free(c);
}

static void pending_free_value(void *ctx, void *p)
{
	pending_free(ctx, p);
}

static void slot_free_value(void *ctx, void *v)
{
	(void)ctx;
	orb_slot_free(v);
}

void orb_destroy(struct orbit_orbiter *o)
{
	/* Entries are embedded in the records: each map is emptied by
	 * strmap_clear_with, which frees a record only after unlinking it. */
	strmap_clear_with(&o->conns, conn_free_value, o);
	strmap_clear_with(&o->pendings, pending_free_value, o);
	strmap_clear_with(&o->remotes, remote_free_value, NULL);
	strmap_clear_with(&o->slots, slot_free_value, NULL);
	drop_resends(o);
	/* Every spec_ref went with its last connection above. */
	if (o->tick_ev)
		event_free(o->tick_ev);
	if (o->keepalive_ev)
		event_free(o->keepalive_ev);
	free(o->id);
	free(o->discover_topic);
	free(o->keepalive_topic);
	free(o->keepalive_request_topic);
}

/* ---- public common API ---- */

const char *orbit_orbiter_id(const orbit_orbiter *o)
{
	return o->id;
}

void orbit_orbiter_set_event_cb(orbit_orbiter *o, orbit_event_cb cb, void *ctx)
{
	o->ev_cb = cb;
	o->ev_ctx = ctx;
}

int orbit_orbiter_set_clock(orbit_orbiter *o, orbit_clock_fn fn, void *ctx)
{
	if (!o)
		return -EINVAL;
	if (o->running)
		return -EBUSY;
	o->clock = fn;
	o->clock_ctx = fn ? ctx : NULL;
	return 0;
}

double orbit_orbiter_now(const orbit_orbiter *o)
{
	return orb_now(o);
}

int orbit_orbiter_tick(orbit_orbiter *o)
{
	if (!o)
		return -EINVAL;
	if (!o->running)
		return -ENOTCONN;
	if (o->ticking)
		return -EBUSY;
	housekeeping(o);
	return 0;
}

void orbit_orbiter_foreach_connection(orbit_orbiter *o,
				      int (*fn)(void *ctx, const orbit_conn_info *c), void *ctx)
{
	strmap_iter it = {0};
	strmap_entry *e;
	while ((e = strmap_next(&o->conns, &it))) {
		struct conn *c = e->value;
		if (fn(ctx, &c->info))
			return;
	}
}

void orbit_orbiter_foreach_pending(orbit_orbiter *o,
				   int (*fn)(void *ctx, const orbit_pending_info *p), void *ctx)
{
	strmap_iter it = {0};
	strmap_entry *e;
	while ((e = strmap_next(&o->pendings, &it))) {
		struct pending *p = e->value;
		orbit_pending_info info = {p->remote_id, p->operation, p->created};
		if (fn(ctx, &info))
			return;
	}
}

size_t orbit_orbiter_connection_count(const orbit_orbiter *o)
{
	return strmap_count(&o->conns);
}

size_t orbit_orbiter_pending_count(const orbit_orbiter *o)
{
	return strmap_count(&o->pendings);
}

int orbit_orbiter_close(orbit_orbiter *o, const char *remote_id, const char *operation,
			bool graceful, const orbit_bytes *data)
{
	struct conn *c = orb_conn_find(o, remote_id, operation);
	if (!c)
		return -ENOENT;
	orb_conn_close(o, c, graceful, data);
	return 0;
}

size_t orbit_orbiter_close_all(orbit_orbiter *o, bool graceful)
{
	struct keylist keys = {0};
	strmap_iter it = {0};
	strmap_entry *e;
	while ((e = strmap_next(&o->conns, &it)))
		keylist_add(&keys, e->key);
	size_t n = 0;
	for (size_t i = 0; i < keys.n; i++) {
		struct conn *c = strmap_get(&o->conns, keys.v[i]);
		if (c) {
			orb_conn_close(o, c, graceful, NULL);
			n++;
		}
	}
	keylist_free(&keys);
	return n;
}
