/* calltag.c — see calltag.h.
 *
 * Topics with waiting tags are found through a jansson object (a hash the
 * daemon links already) whose values are the FIFOs' addresses; the FIFOs
 * are also kept in a list in creation order, so the oldest can go first
 * when there are too many. Calls live in a ring indexed by id: the id
 * CALLTAG_MAX_CALLS later takes the slot of a call, which is how the
 * oldest is forgotten.
 */
#include "calltag.h"

#include <orbit/orbiter.h>

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

struct tag {
	uint64_t id, fp;
};

struct fifo {
	struct fifo *prev, *next; /* creation order */
	char *topic;
	struct tag *v; /* ring of cap entries */
	unsigned head, n, cap;
};

struct call {
	uint64_t id; /* 0: free slot */
	double sent;
	const void *taker; /* NULL: not taken (yet) */
	unsigned expected, arrived;
	bool done, announced;
};

static struct {
	json_t *topics; /* topic -> integer (struct fifo *) */
	struct fifo *first, *last;
	size_t n_fifos, n_tags;
	struct call *calls; /* CALLTAG_MAX_CALLS, made by the first send */
	uint64_t next_id;
	void (*complete)(void *ctx, uint64_t id);
	void *complete_ctx;
	void (*relay_output)(void *ctx, uint64_t id, uint64_t fp);
	void (*relay_done)(void *ctx, uint64_t id, unsigned outputs);
	void *relay_ctx;
} T;

uint64_t calltag_fp(const orbit_payload *p)
{
	/* FNV-1a: cheap, and only needs to tell a connection's messages in
	 * flight apart. */
	uint64_t h = 0xcbf29ce484222325ull;
	h = (h ^ (uint64_t)p->format) * 0x100000001b3ull;
	for (const char *t = p->message_type; t && *t; t++)
		h = (h ^ (uint8_t)*t) * 0x100000001b3ull;
	for (size_t i = 0; i < p->len; i++)
		h = (h ^ p->data[i]) * 0x100000001b3ull;
	return h;
}

static struct call *call_of(uint64_t id)
{
	struct call *c = T.calls ? &T.calls[id % CALLTAG_MAX_CALLS] : NULL;
	return id && c && c->id == id ? c : NULL;
}

static struct fifo *fifo_of(const char *topic)
{
	if (!T.topics || !json_object_size(T.topics))
		return NULL;
	json_t *v = json_object_get(T.topics, topic);
	return v ? (struct fifo *)(intptr_t)json_integer_value(v) : NULL;
}

static void fifo_free(struct fifo *f)
{
	if (f->prev)
		f->prev->next = f->next;
	else
		T.first = f->next;
	if (f->next)
		f->next->prev = f->prev;
	else
		T.last = f->prev;
	json_object_del(T.topics, f->topic);
	T.n_fifos--;
	T.n_tags -= f->n;
	free(f->topic);
	free(f->v);
	free(f);
}

static struct fifo *fifo_new(const char *topic)
{
	if (!T.topics && !(T.topics = json_object()))
		return NULL;
	if (T.n_fifos >= CALLTAG_MAX_TOPICS)
		fifo_free(T.first);
	struct fifo *f = calloc(1, sizeof *f);
	if (!f || !(f->topic = strdup(topic)) ||
	    json_object_set_new(T.topics, topic, json_integer((json_int_t)(intptr_t)f)) < 0) {
		if (f)
			free(f->topic);
		free(f);
		return NULL;
	}
	f->prev = T.last;
	if (T.last)
		T.last->next = f;
	else
		T.first = f;
	T.last = f;
	T.n_fifos++;
	return f;
}

/* Drop the oldest tag of the oldest topic: tags of a remote connection,
 * never taken, are the usual ones. */
static void drop_oldest(void)
{
	struct fifo *f = T.first;
	f->head = (f->head + 1) % f->cap;
	f->n--;
	T.n_tags--;
	if (!f->n)
		fifo_free(f);
}

int calltag_push(const char *topic, uint64_t id, uint64_t fp)
{
	if (T.n_tags >= CALLTAG_MAX_TAGS)
		drop_oldest();
	struct fifo *f = fifo_of(topic);
	if (!f && !(f = fifo_new(topic)))
		return -ENOMEM;
	if (f->n == f->cap) {
		unsigned cap = f->cap ? f->cap * 2 : 4;
		struct tag *v = malloc(cap * sizeof *v);
		if (!v)
			return -ENOMEM;
		for (unsigned i = 0; i < f->n; i++)
			v[i] = f->v[(f->head + i) % f->cap];
		free(f->v);
		f->v = v;
		f->head = 0;
		f->cap = cap;
	}
	f->v[(f->head + f->n) % f->cap] = (struct tag){id, fp};
	f->n++;
	T.n_tags++;
	return 0;
}

/* Take back the newest tag on topic if it is id's: its message did not go
 * out after all. */
static void unpush(const char *topic, uint64_t id)
{
	struct fifo *f = fifo_of(topic);
	if (!f || f->v[(f->head + f->n - 1) % f->cap].id != id)
		return;
	f->n--;
	T.n_tags--;
	if (!f->n)
		fifo_free(f);
}

/* The id of the first tag on topic with p's fingerprint, dropping it and
 * the tags before it (their messages were lost); 0 when none has it. */
static uint64_t pop(const char *topic, const orbit_payload *p)
{
	struct fifo *f = fifo_of(topic);
	if (!f)
		return 0;
	uint64_t fp = calltag_fp(p);
	for (unsigned i = 0; i < f->n; i++) {
		struct tag t = f->v[(f->head + i) % f->cap];
		if (t.fp != fp)
			continue;
		f->head = (f->head + i + 1) % f->cap;
		f->n -= i + 1;
		T.n_tags -= i + 1;
		if (!f->n)
			fifo_free(f);
		return t.id;
	}
	return 0;
}

uint64_t calltag_send(const char *topic, const orbit_payload *p)
{
	if (!T.calls && !(T.calls = calloc(CALLTAG_MAX_CALLS, sizeof *T.calls)))
		return 0;
	uint64_t id = ++T.next_id;
	if (calltag_push(topic, id, calltag_fp(p)) < 0)
		return 0;
	T.calls[id % CALLTAG_MAX_CALLS] = (struct call){.id = id, .sent = orbit_now()};
	return id;
}

uint64_t calltag_take(const char *topic, const orbit_payload *p, const void *taker)
{
	uint64_t id = pop(topic, p);
	struct call *c = call_of(id);
	if (c && !T.relay_output) {
		if (c->taker)
			return 0; /* taken twice: nobody's answer is trusted */
		c->taker = taker;
	}
	/* A plugin process knows calls only by their tags. */
	return c || T.relay_output ? id : 0;
}

void calltag_output(uint64_t id, const char *topic, const orbit_payload *p, const void *taker)
{
	if (!id)
		return;
	if (T.relay_output) {
		T.relay_output(T.relay_ctx, id, calltag_fp(p));
		return;
	}
	struct call *c = call_of(id);
	if (c && c->taker == taker && !c->done)
		calltag_push(topic, id, calltag_fp(p));
}

void calltag_unsent(uint64_t id, const char *topic)
{
	if (id && !T.relay_output)
		unpush(topic, id);
}

static void announce(struct call *c)
{
	if (!c->done || c->arrived < c->expected || c->announced)
		return;
	c->announced = true;
	if (T.complete)
		T.complete(T.complete_ctx, c->id);
}

void calltag_done(uint64_t id, unsigned outputs, const void *taker)
{
	if (!id)
		return;
	if (T.relay_done) {
		T.relay_done(T.relay_ctx, id, outputs);
		return;
	}
	struct call *c = call_of(id);
	if (!c || c->taker != taker || c->done)
		return;
	c->done = true;
	c->expected = outputs;
	announce(c);
}

void calltag_taker_gone(const void *taker)
{
	/* A scan of the ring: a process dies rarely, calls go on often. */
	for (size_t i = 0; T.calls && taker && i < CALLTAG_MAX_CALLS; i++) {
		struct call *c = &T.calls[i];
		if (!c->id || c->taker != taker || c->done)
			continue;
		c->done = true;
		c->expected = c->arrived;
		announce(c);
	}
}

void calltag_arrived(const char *topic, const orbit_payload *p, struct calltag_match *m)
{
	struct call *c = call_of(pop(topic, p));
	*m = (struct calltag_match){0};
	if (!c)
		return;
	c->arrived++;
	m->call = c->id;
	m->latency = orbit_now() - c->sent;
}

void calltag_settle(uint64_t id)
{
	struct call *c = call_of(id);
	if (c)
		announce(c);
}

bool calltag_hosted(uint64_t id)
{
	struct call *c = call_of(id);
	return c && c->taker;
}

double calltag_age(uint64_t id)
{
	struct call *c = call_of(id);
	return c ? orbit_now() - c->sent : -1;
}

void calltag_set_complete(void (*fn)(void *ctx, uint64_t id), void *ctx)
{
	T.complete = fn;
	T.complete_ctx = ctx;
}

void calltag_relay(void (*output)(void *ctx, uint64_t id, uint64_t fp),
		   void (*done)(void *ctx, uint64_t id, unsigned outputs), void *ctx)
{
	T.relay_output = output;
	T.relay_done = done;
	T.relay_ctx = ctx;
}

void calltag_reset(void)
{
	while (T.first)
		fifo_free(T.first);
	json_decref(T.topics);
	free(T.calls);
	memset(&T, 0, sizeof T);
}
