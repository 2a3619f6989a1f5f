/* strmap.h — string-keyed open hash map (internal).
 *
 * Keys are copied and owned by the map; values are borrowed pointers the map
 * never frees. Iteration order is unspecified. Removing the current entry while
 * iterating with strmap_next is allowed.
 */
#ifndef ORBIT_STRMAP_H
#define ORBIT_STRMAP_H

#include <stddef.h>

typedef struct strmap_entry {
	char *key;
	void *value;
	size_t hash;
	struct strmap_entry *next;
} strmap_entry;

typedef struct strmap {
	strmap_entry **buckets;
	size_t n_buckets;
	size_t count;
} strmap;

void strmap_init(strmap *m);
/* Frees the map's keys and buckets, not the values. */
void strmap_clear(strmap *m);
void *strmap_get(const strmap *m, const char *key);
/* Insert or replace; returns 0 or -ENOMEM. */
int strmap_put(strmap *m, const char *key, void *value);
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
