/* loopq.h — run a function on the event-loop thread, posted from any thread.
 *
 * The only cross-thread doorway into the daemon's loop: worker threads hand
 * results back through it, plugins' api->post() goes through it. An eventfd
 * wakes the loop; posted functions run in posting order on the loop thread.
 *
 * Ownership: the queue owns its nodes; arg stays the poster's business and is
 * passed to fn exactly once — or, for entries still queued when the queue is
 * freed, to fn with the loop stopping (they still run, from loopq_free, so
 * nothing posted leaks).
 */
#ifndef ORBITD_LOOPQ_H
#define ORBITD_LOOPQ_H

#include <stdbool.h>

struct event_base;
struct loopq;

/* A queue entry embedded in the poster's own struct, for a post that must
 * not fail (a worker handing back its job). Zero it once (LOOPQ_NODE_INIT);
 * it is the queue's from loopq_post_node until fn runs, and the poster's
 * again from fn on (fn may free the struct it is embedded in). Members are
 * the queue's business. */
struct loopq_node {
	struct loopq_node *next;
	void (*fn)(void *arg);
	void *arg;
	bool heap; /* allocated by loopq_post, freed by the queue */
};
#define LOOPQ_NODE_INIT {0}

/* New queue on base (borrowed). NULL + errno. */
struct loopq *loopq_new(struct event_base *base);

/* Queue fn(arg) to run on the loop thread. Thread-safe. 0 or -ENOMEM. */
int loopq_post(struct loopq *q, void (*fn)(void *arg), void *arg);

/* Queue fn(arg) on a node of the caller's (see struct loopq_node): cannot
 * fail, allocates nothing. Thread-safe. */
void loopq_post_node(struct loopq *q, struct loopq_node *n, void (*fn)(void *arg), void *arg);

/* Run what is still queued, then free. Loop thread, NULL-safe. */
void loopq_free(struct loopq *q);

#endif
