/* workers.h — the worker pool that runs blocking plugin operations so the
 * event loop never blocks (DESIGN §3 "Threads").
 *
 * A job is work(arg) on a worker thread, then done(arg) on the loop thread
 * (through a loopq). The pool starts its threads lazily on the first job, so
 * a daemon with no blocking operation has no extra thread.
 *
 * Ownership: arg belongs to the submitter; the pool only passes it along and
 * guarantees done(arg) runs exactly once per accepted job (also at
 * workers_free, which waits for the jobs already queued).
 */
#ifndef ORBITD_WORKERS_H
#define ORBITD_WORKERS_H

#include <stddef.h>

struct loopq;
struct workers;

/* New pool of at most n threads posting completions to q (borrowed). */
struct workers *workers_new(struct loopq *q, size_t n);

/* Queue a job. Loop thread. 0, -ENOMEM, -EAGAIN (thread creation failed and
 * no thread exists to run it), -ESHUTDOWN (pool stopping). */
int workers_submit(struct workers *w, void (*work)(void *arg), void (*done)(void *arg),
		   void *arg);

/* Jobs queued or running. */
size_t workers_busy(const struct workers *w);

/* Let queued jobs finish, join the threads, free. The done callbacks are run
 * by the loopq (post them before freeing it). NULL-safe. */
void workers_free(struct workers *w);

#endif
