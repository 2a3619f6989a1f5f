/* subtable.c — subscriber lists per topic; dead entries are reaped only when
 * no dispatch of that topic is running, so handlers can change subscriptions
 * freely. */
#include "subtable.h"

#include <errno.h>
#include <stdlib.h>

struct sub {
	orbit_bus_handler h;
	void *ctx;
	bool dead;
	struct sub *next;
};

struct sublist {
	struct sub *head, *tail;
	size_t n_live;
	unsigned dispatching;
	bool has_dead;
};

void subtable_init(subtable *t)
{
	strmap_init(&t->topics);
}

static void free_list(struct sublist *l)
{
	struct sub *s = l->head;
	while (s) {
		struct sub *n = s->next;
		free(s);
		s = n;
	}
	free(l);
}

void subtable_clear(subtable *t)
{
	strmap_iter it = {0};
	strmap_entry *e;
	while ((e = strmap_next(&t->topics, &it)))
		free_list(e->value);
	strmap_clear(&t->topics);
}

static void reap(subtable *t, const char *topic, struct sublist *l)
{
	if (l->dispatching)
		return;
	if (l->has_dead) {
		struct sub **pp = &l->head;
		l->tail = NULL;
		while (*pp) {
			struct sub *s = *pp;
			if (s->dead) {
				*pp = s->next;
				free(s);
			} else {
				l->tail = s;
				pp = &s->next;
			}
		}
		l->has_dead = false;
	}
	if (!l->head) {
		strmap_remove(&t->topics, topic);
		free(l);
	}
}

int subtable_add(subtable *t, const char *topic, orbit_bus_handler h, void *ctx, bool *first)
{
	struct sublist *l = strmap_get(&t->topics, topic);
	if (!l) {
		l = calloc(1, sizeof(*l));
		if (!l || strmap_put(&t->topics, topic, l) < 0) {
			free(l);
			return -ENOMEM;
		}
	}
	*first = l->n_live == 0;
	for (struct sub *s = l->head; s; s = s->next) {
		if (!s->dead && s->ctx == ctx) {
			s->h = h;
			return 0;
		}
	}
	struct sub *s = calloc(1, sizeof(*s));
	if (!s) {
		reap(t, topic, l);
		return -ENOMEM;
	}
	s->h = h;
	s->ctx = ctx;
	if (l->tail)
		l->tail->next = s;
	else
		l->head = s;
	l->tail = s;
	l->n_live++;
	return 0;
}

int subtable_remove(subtable *t, const char *topic, void *ctx, bool *last)
{
	struct sublist *l = strmap_get(&t->topics, topic);
	if (!l)
		return -ENOENT;
	for (struct sub *s = l->head; s; s = s->next) {
		if (!s->dead && s->ctx == ctx) {
			s->dead = true;
			l->has_dead = true;
			l->n_live--;
			*last = l->n_live == 0;
			reap(t, topic, l);
			return 0;
		}
	}
	return -ENOENT;
}

size_t subtable_live(subtable *t, const char *topic)
{
	struct sublist *l = strmap_get(&t->topics, topic);
	return l ? l->n_live : 0;
}

size_t subtable_dispatch(subtable *t, const char *topic, const orbit_payload *p)
{
	struct sublist *l = strmap_get(&t->topics, topic);
	if (!l)
		return 0;
	size_t called = 0;
	struct sub *end = l->tail; /* subscriptions added by handlers wait for the next message */
	l->dispatching++;
	for (struct sub *s = l->head; s; s = s->next) {
		if (!s->dead) {
			s->h(s->ctx, topic, p);
			called++;
		}
		if (s == end)
			break;
	}
	l->dispatching--;
	reap(t, topic, l);
	return called;
}

void subtable_foreach_topic(subtable *t, void (*fn)(void *arg, const char *topic), void *arg)
{
	strmap_iter it = {0};
	strmap_entry *e;
	while ((e = strmap_next(&t->topics, &it))) {
		struct sublist *l = e->value;
		if (l->n_live)
			fn(arg, e->key);
	}
}
