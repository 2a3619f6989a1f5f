/* subtable.h — topic → subscribers registry with re-entrancy-safe fan-out
 * (internal; shared by the local and MQTT buses).
 *
 * Owns its topic strings and subscription records; handler contexts are
 * borrowed. Handlers may subscribe/unsubscribe during subtable_dispatch:
 * removed subscriptions stop receiving at once, added ones start with the next
 * message.
 */
#ifndef ORBIT_SUBTABLE_H
#define ORBIT_SUBTABLE_H

#include "orbit/bus.h"
#include "strmap.h"

typedef struct subtable {
	strmap topics; /* topic -> struct sublist * */
} subtable;

void subtable_init(subtable *t);
void subtable_clear(subtable *t);

/* Add or replace ctx's handler on topic. *first is set when the topic had no
 * live subscriber before. Returns 0 or -ENOMEM. */
int subtable_add(subtable *t, const char *topic, orbit_bus_handler h, void *ctx, bool *first);

/* Remove ctx from topic. *last is set when no live subscriber remains.
 * Returns 0 or -ENOENT. */
int subtable_remove(subtable *t, const char *topic, void *ctx, bool *last);

/* Call every live subscriber of topic; returns how many were called. */
size_t subtable_dispatch(subtable *t, const char *topic, const orbit_payload *p);

/* How many live subscribers topic has. */
size_t subtable_live(subtable *t, const char *topic);

/* Call fn for every topic that has a live subscriber. */
void subtable_foreach_topic(subtable *t, void (*fn)(void *arg, const char *topic), void *arg);

#endif
