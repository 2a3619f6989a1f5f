/* strmap.c — string-keyed chained hash map with power-of-two buckets. */
#include "strmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* FNV-1a: short topic-like keys, no adversarial concern inside one process. */
static size_t hash_str(const char *s)
{
	size_t h = 1469598103934665603ull;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h;
}

void strmap_init(strmap *m)
{
	m->buckets = NULL;
	m->n_buckets = 0;
	m->count = 0;
}

void strmap_clear(strmap *m)
{
	for (size_t i = 0; i < m->n_buckets; i++) {
		strmap_entry *e = m->buckets[i];
		while (e) {
			strmap_entry *n = e->next;
			free(e->key);
			free(e);
			e = n;
		}
	}
	free(m->buckets);
	strmap_init(m);
}

static strmap_entry **find_slot(const strmap *m, const char *key, size_t h)
{
	if (!m->n_buckets)
		return NULL;
	strmap_entry **pp = &m->buckets[h & (m->n_buckets - 1)];
	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->hash == h && strcmp((*pp)->key, key) == 0)
			return pp;
	return pp;
}

void *strmap_get(const strmap *m, const char *key)
{
	strmap_entry **pp = find_slot(m, key, hash_str(key));
	return pp && *pp ? (*pp)->value : NULL;
}

static int grow(strmap *m)
{
	size_t n = m->n_buckets ? m->n_buckets * 2 : 16;
	strmap_entry **b = calloc(n, sizeof(*b));
	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < m->n_buckets; i++) {
		strmap_entry *e = m->buckets[i];
		while (e) {
			strmap_entry *next = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
			e = next;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->n_buckets = n;
	return 0;
}

int strmap_put(strmap *m, const char *key, void *value)
{
	size_t h = hash_str(key);
	strmap_entry **pp = find_slot(m, key, h);
	if (pp && *pp) {
		(*pp)->value = value;
		return 0;
	}
	if (m->count + 1 > m->n_buckets * 3 / 4) {
		if (grow(m) < 0)
			return -ENOMEM;
		pp = find_slot(m, key, h);
	}
	strmap_entry *e = malloc(sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->key = strdup(key);
	if (!e->key) {
		free(e);
		return -ENOMEM;
	}
	e->hash = h;
	e->value = value;
	e->next = NULL;
	*pp = e;
	m->count++;
	return 0;
}

void *strmap_remove(strmap *m, const char *key)
{
	strmap_entry **pp = find_slot(m, key, hash_str(key));
	if (!pp || !*pp)
		return NULL;
	strmap_entry *e = *pp;
	void *v = e->value;
	*pp = e->next;
	free(e->key);
	free(e);
	m->count--;
	return v;
}

size_t strmap_count(const strmap *m)
{
	return m->count;
}

strmap_entry *strmap_next(const strmap *m, strmap_iter *it)
{
	while (!it->next) {
		if (it->bucket >= m->n_buckets)
			return NULL;
		it->next = m->buckets[it->bucket++];
	}
	strmap_entry *e = it->next;
	it->next = e->next;
	return e;
}
