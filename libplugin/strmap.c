/* strmap.c — string-keyed chained hash map with power-of-two buckets. An
 * entry the map allocates carries its key copy in the same block. */
#include "strmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* FNV-1a: short topic-like keys, no adversarial concern inside one process. */
static unsigned hash_str(const char *s)
{
	unsigned long long h = 1469598103934665603ull;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return (unsigned)(h ^ h >> 32);
}

void strmap_init(strmap *m)
{
	m->buckets = NULL;
	m->n_buckets = 0;
	m->count = 0;
}

void strmap_clear_with(strmap *m, void (*free_value)(void *ctx, void *value), void *ctx)
{
	for (size_t i = 0; i < m->n_buckets; i++) {
		strmap_entry *e = m->buckets[i];
		while (e) {
			strmap_entry *n = e->next;
			void *v = e->value;
			if (!e->embedded)
				free(e);
			if (free_value)
				free_value(ctx, v); /* may free an embedded e: not touched after */
			e = n;
		}
	}
	if (m->buckets != &m->first_bucket)
		free(m->buckets);
	strmap_init(m);
}

void strmap_clear(strmap *m)
{
	strmap_clear_with(m, NULL, NULL);
}

static strmap_entry **find_slot(const strmap *m, const char *key, unsigned h)
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

/* A map's first bucket is inside the map (most maps are per orbiter and
 * hold one entry: no allocation at all); then 4, 8, ... allocated buckets,
 * grown at a load of 3/4. */
static bool overloaded(const strmap *m, size_t count)
{
	return m->n_buckets == 1 ? count > 1 : count > m->n_buckets * 3 / 4;
}

static int grow(strmap *m)
{
	size_t n = m->n_buckets > 1 ? m->n_buckets * 2 : m->n_buckets ? 4 : 1;
	strmap_entry **b = n == 1 ? &m->first_bucket : calloc(n, sizeof(*b));
	if (!b)
		return -ENOMEM;
	*b = NULL;
	for (size_t i = 0; i < m->n_buckets; i++) {
		strmap_entry *e = m->buckets[i];
		while (e) {
			strmap_entry *next = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
			e = next;
		}
	}
	if (m->buckets != &m->first_bucket)
		free(m->buckets);
	m->buckets = b;
	m->n_buckets = n;
	return 0;
}

/* Where key goes, growing first if one more entry would overload the
 * buckets; NULL on ENOMEM. *found tells whether key is there already. */
static strmap_entry **place(strmap *m, const char *key, unsigned h, bool *found)
{
	strmap_entry **pp = find_slot(m, key, h);
	*found = pp && *pp;
	if (*found)
		return pp;
	if (overloaded(m, m->count + 1)) {
		if (grow(m) < 0)
			return NULL;
		pp = find_slot(m, key, h);
	}
	return pp;
}

static void link_entry(strmap *m, strmap_entry **pp, strmap_entry *e, const char *key,
		       unsigned h, void *value)
{
	e->key = key;
	e->hash = h;
	e->value = value;
	e->next = NULL;
	*pp = e;
	m->count++;
}

int strmap_put(strmap *m, const char *key, void *value)
{
	unsigned h = hash_str(key);
	bool found;
	strmap_entry **pp = place(m, key, h, &found);
	if (!pp)
		return -ENOMEM;
	if (found) {
		(*pp)->value = value;
		return 0;
	}
	size_t len = strlen(key) + 1;
	strmap_entry *e = malloc(sizeof(*e) + len);
	if (!e)
		return -ENOMEM;
	e->embedded = false;
	link_entry(m, pp, e, memcpy(e + 1, key, len), h, value);
	return 0;
}

int strmap_put_node(strmap *m, strmap_entry *node, const char *key, void *value)
{
	unsigned h = hash_str(key);
	bool found;
	strmap_entry **pp = place(m, key, h, &found);
	if (!pp)
		return -ENOMEM;
	if (found)
		return -EEXIST;
	node->embedded = true;
	link_entry(m, pp, node, key, h, value);
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
	if (!e->embedded)
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
