/* deadlist.c — see deadlist.h. A plain array: the bound is small (tens to
 * hundreds) and the list changes only when a remote dies or returns. */
#include "deadlist.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct dead {
	char *id;
	double when;
};

struct deadlist {
	struct dead *v;
	size_t n, cap, max;
	uint64_t evicted;
};

struct deadlist *deadlist_new(size_t max)
{
	struct deadlist *l = calloc(1, sizeof *l);
	if (l)
		l->max = max;
	return l;
}

static void remove_at(struct deadlist *l, size_t i)
{
	free(l->v[i].id);
	memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof l->v[0]);
	l->n--;
}

static void trim(struct deadlist *l)
{
	while (l->n > l->max) {
		remove_at(l, 0);
		l->evicted++;
	}
}

void deadlist_set_max(struct deadlist *l, size_t max)
{
	l->max = max;
	trim(l);
}

static size_t find(const struct deadlist *l, const char *id)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].id, id) == 0)
			return i;
	return l->n;
}

int deadlist_add(struct deadlist *l, const char *id, double when)
{
	if (!l->max) {
		l->evicted++;
		return 0;
	}
	size_t i = find(l, id);
	struct dead e = {NULL, when};
	if (i < l->n) {
		e.id = l->v[i].id;
		memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof l->v[0]);
		l->v[l->n - 1] = e;
		return 0;
	}
	if (!(e.id = strdup(id)))
		return -ENOMEM;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct dead *v = realloc(l->v, cap * sizeof *v);
		if (!v) {
			free(e.id);
			return -ENOMEM;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = e;
	trim(l);
	return 0;
}

int deadlist_del(struct deadlist *l, const char *id)
{
	size_t i = find(l, id);
	if (i == l->n)
		return 0;
	remove_at(l, i);
	return 1;
}

size_t deadlist_len(const struct deadlist *l)
{
	return l->n;
}

const char *deadlist_id(const struct deadlist *l, size_t i)
{
	return l->v[i].id;
}

double deadlist_when(const struct deadlist *l, size_t i)
{
	return l->v[i].when;
}

uint64_t deadlist_evicted(const struct deadlist *l)
{
	return l->evicted;
}

void deadlist_free(struct deadlist *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].id);
	free(l->v);
	free(l);
}
