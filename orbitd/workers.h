/* workers.h — the worker pool that runs blocking plugin operations so the
 * event loop never blocks (DESIGN §3 "Threads").
 *
 * A job is work(arg) on a worker thread, then done(arg) on the loop thread
 * (through a loopq, on a node the job carries: handing a job back cannot
 * fail). The pool starts its threads lazily on the first job, so a daemon
 * with no blocking operation has no extra thread. The pool queues what it
 * is given: bounding that is the submitter's business (host.c's
 * max_inflight).
 *
 * Ownership: arg belongs to the submitter; the pool only passes it along and
 * guarantees done(arg) runs exactly once per accepted job — except for a job
 * still running when workers_stop gives up on it (abandoned: neither its arg
 * nor anything its work touches may be freed; the process is exiting).
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

/* Stop and free the pool, for the exit. Jobs queued but not started are
 * not started (their done is posted all the same: work did not run). Jobs
 * running are waited for at most timeout seconds (< 0: without limit);
 * those still running then are abandoned: their threads are detached and
 * left running, a line is logged, their done never runs, and the pool's
 * memory is kept for them. The done callbacks are run by the loopq (free it
 * after this). Returns the number of abandoned jobs. Loop thread, NULL-safe. */
size_t workers_stop(struct workers *w, double timeout);

/* workers_stop without a limit (benchmarks, tools). */
void workers_free(struct workers *w);

#endif
