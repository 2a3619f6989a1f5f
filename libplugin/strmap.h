/* strmap.h — string-keyed chained hash map (internal).
 *
 * Two ways in. strmap_put copies the key into an entry the map allocates and
 * frees. strmap_put_node links an entry that lives inside the value, keyed by
 * a string the value owns: no allocation at all, which is what keeps a
 * connection small (a per-connection record is in several maps). The map
 * never frees values, nor embedded entries or their keys. Iteration order is
 * unspecified. Removing the current entry while iterating with strmap_next is
 * allowed.
 */
#ifndef ORBIT_STRMAP_H
#define ORBIT_STRMAP_H

#include <stdbool.h>
#include <stddef.h>

typedef struct strmap_entry {
	const char *key;
	void *value;
	struct strmap_entry *next;
	unsigned hash;  /* 32 bits index up to 4 G buckets; keeps an entry at 32 bytes */
	bool embedded;  /* lives in the value (strmap_put_node) */
} strmap_entry;

/* Must not be moved or copied once an entry is in (buckets may point at
 * first_bucket). */
typedef struct strmap {
	strmap_entry **buckets;
	size_t n_buckets;
	size_t count;
	strmap_entry *first_bucket;
} strmap;

void strmap_init(strmap *m);
/* Empties the map: frees what it allocated, not the values. */
void strmap_clear(strmap *m);
/* Empties the map calling free_value(ctx, value) for each entry once the map
 * no longer touches it — the way to free values whose entries are embedded. */
void strmap_clear_with(strmap *m, void (*free_value)(void *ctx, void *value), void *ctx);
void *strmap_get(const strmap *m, const char *key);
/* Insert or replace; returns 0 or -ENOMEM. */
int strmap_put(strmap *m, const char *key, void *value);
/* Insert with the embedded entry node; key must stay valid and node untouched
 * until the entry is removed. Returns 0, -EEXIST (key present, nothing
 * changed) or -ENOMEM. */
int strmap_put_node(strmap *m, strmap_entry *node, const char *key, void *value);
/* Remove key; returns its value or NULL. */
void *strmap_remove(strmap *m, const char *key);
size_t strmap_count(const strmap *m);

/* Iterator: start with it = {0}; returns the next entry or NULL. */
typedef struct strmap_iter {
	size_t bucket;
	strmap_entry *next;
} strmap_iter;
strmap_entry *strmap_next(const strmap *m, strmap_iter *it);

#endif
