/* drain.h — wait, without blocking the loop, until something has emptied
 * (connections closed gracefully) or a deadline passes, then call done.
 *
 * Used for a removed plugin and for shutdown: graceful closes need their acks
 * to travel through the loop, so the waiting itself must be a loop timer.
 * Ownership: the drain frees itself after calling done; drain_cancel frees it
 * without calling done.
 */
#ifndef ORBITD_DRAIN_H
#define ORBITD_DRAIN_H

#include <stdbool.h>

struct event_base;
struct drain;

/* Every few milliseconds ask empty(arg); when it says true, or after timeout
 * seconds (negative: never), call done(arg, timed_out). NULL + errno. */
struct drain *drain_start(struct event_base *base, bool (*empty)(void *arg),
			  void (*done)(void *arg, bool timed_out), void *arg, double timeout);

void drain_cancel(struct drain *d);

#endif
