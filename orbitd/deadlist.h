/* deadlist.h — the remote plugins the core declared dead, for `orbitctl
 * plugins` ("dead" until they return): a bounded list, oldest death first.
 *
 * A remote leaves it when it connects again (deadlist_del) or when more
 * recent deaths push it out past the bound (oldest first, counted): a
 * remote that never returns is remembered only as long as there is room,
 * so remotes dying and coming back forever cannot grow it.
 *
 * Ownership: the list owns its copies of the identifiers.
 */
#ifndef ORBITD_DEADLIST_H
#define ORBITD_DEADLIST_H

#include <stddef.h>
#include <stdint.h>

struct deadlist;

/* Default bound (control.dead_remotes). */
#define DEADLIST_DEFAULT_MAX 64

/* An empty list keeping at most max entries (0: remembers none). NULL +
 * errno. */
struct deadlist *deadlist_new(size_t max);

/* Change the bound; entries beyond it go, oldest first (counted). */
void deadlist_set_max(struct deadlist *l, size_t max);

/* id died at `when`: added as the newest entry (moved there when already
 * listed). 0 or -ENOMEM (the list is left as it was). */
int deadlist_add(struct deadlist *l, const char *id, double when);

/* id is alive again (or forgotten): it leaves the list. True if listed. */
int deadlist_del(struct deadlist *l, const char *id);

/* Entries, oldest first, and how many the bound pushed out so far. */
size_t deadlist_len(const struct deadlist *l);
const char *deadlist_id(const struct deadlist *l, size_t i);
double deadlist_when(const struct deadlist *l, size_t i);
uint64_t deadlist_evicted(const struct deadlist *l);

/* NULL-safe. */
void deadlist_free(struct deadlist *l);

#endif
