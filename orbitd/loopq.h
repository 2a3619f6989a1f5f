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

struct event_base;
struct loopq;

/* New queue on base (borrowed). NULL + errno. */
struct loopq *loopq_new(struct event_base *base);

/* Queue fn(arg) to run on the loop thread. Thread-safe. 0 or -ENOMEM. */
int loopq_post(struct loopq *q, void (*fn)(void *arg), void *arg);

/* Run what is still queued, then free. Loop thread, NULL-safe. */
void loopq_free(struct loopq *q);

#endif
