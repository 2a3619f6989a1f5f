/* subtable.c — subscriber lists per topic; dead entries are reaped only when
 * no dispatch of that topic is running, so handlers can change subscriptions
 * freely.
 *
 * Most topics have one subscriber (every connection has topics of its own),
 * so a topic is one allocation: its list with the map entry, the topic string
 * and the first subscriber inside. Further subscribers are allocated. */
#include "subtable.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct sub {
	orbit_bus_handler h;
	void *ctx;
	bool dead;
	struct sub *next;
};

struct sublist {
	strmap_entry node; /* in topics, keyed by topic */
	struct sub *head, *tail;
	unsigned n_live;
	unsigned short dispatching; /* nesting depth of dispatches of this topic */
	bool has_dead;
	bool first_used; /* first is in the list */
	struct sub first;
	char topic[];
};

void subtable_init(subtable *t)
{
	strmap_init(&t->topics);
}

static void free_sub(struct sublist *l, struct sub *s)
{
	if (s == &l->first)
		l->first_used = false;
	else
		free(s);
}

static void free_list(void *ctx, void *v)
{
	(void)ctx;
	struct sublist *l = v;
	struct sub *s = l->head;
	while (s) {
		struct sub *n = s->next;
		free_sub(l, s);
		s = n;
	}
	free(l);
}

void subtable_clear(subtable *t)
{
	strmap_clear_with(&t->topics, free_list, NULL);
}

static void reap(subtable *t, struct sublist *l)
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
				free_sub(l, s);
			} else {
				l->tail = s;
				pp = &s->next;
			}
		}
		l->has_dead = false;
	}
	if (!l->head) {
		strmap_remove(&t->topics, l->topic);
		free(l);
	}
}

int subtable_add(subtable *t, const char *topic, orbit_bus_handler h, void *ctx, bool *first)
{
	struct sublist *l = strmap_get(&t->topics, topic);
	if (!l) {
		size_t len = strlen(topic) + 1;
		l = calloc(1, sizeof(*l) + len);
		if (!l)
			return -ENOMEM;
		memcpy(l->topic, topic, len);
		if (strmap_put_node(&t->topics, &l->node, l->topic, l) < 0) {
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
	struct sub *s = l->first_used ? calloc(1, sizeof(*s)) : &l->first;
	if (!s) {
		reap(t, l);
		return -ENOMEM;
	}
	*s = (struct sub){.h = h, .ctx = ctx};
	if (s == &l->first)
		l->first_used = true;
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
			reap(t, l);
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
	reap(t, l);
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
