/* workers.c — fixed-size thread pool over a mutex/condvar FIFO. See workers.h.
 *
 * A job carries its own loopq node, so handing it back to the loop cannot
 * fail. Stopping waits for the running jobs on a CLOCK_MONOTONIC condvar
 * until its deadline; threads still running then are detached and their
 * pool is kept (never freed, reachable from `left_behind` for leak
 * checkers): such a thread, once its job returns, finds the pool abandoned,
 * posts nothing and exits. */
#include "workers.h"
#include "loopq.h"
#include "log.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct job {
	struct job *next;
	void (*work)(void *arg);
	void (*done)(void *arg);
	void *arg;
	struct loopq_node node; /* the way back to the loop */
};

struct wthread {
	pthread_t t;
	struct job *cur; /* running now (kept reachable if abandoned) */
	bool exited;
};

struct workers {
	pthread_mutex_t lock;
	pthread_cond_t cond;   /* a job is queued, or stopping */
	pthread_cond_t exited; /* a thread is leaving (CLOCK_MONOTONIC) */
	struct job *head, *tail;
	struct loopq *q;
	struct wthread *threads;
	size_t n_threads, max_threads;
	size_t idle;
	size_t alive;
	size_t busy; /* queued + running */
	bool stopping;
	bool abandoned; /* stop gave up on running threads: post nothing more */
	struct workers *next_left;
};

/* Pools whose threads were abandoned. Touched only by workers_stop. */
static struct workers *left_behind;

struct workers *workers_new(struct loopq *q, size_t n)
{
	struct workers *w = calloc(1, sizeof *w);
	if (!w)
		return NULL;
	w->threads = calloc(n ? n : 1, sizeof *w->threads);
	if (!w->threads) {
		free(w);
		errno = ENOMEM;
		return NULL;
	}
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->exited, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	w->q = q;
	w->max_threads = n ? n : 1;
	return w;
}

static void finish(void *arg)
{
	struct job *j = arg;
	j->done(j->arg);
	free(j);
}

/* The calling thread's slot. Under the lock; the slot was written before
 * the thread could take it (workers_submit holds it across pthread_create). */
static struct wthread *self(struct workers *w)
{
	for (size_t i = 0; i < w->n_threads; i++)
		if (pthread_equal(w->threads[i].t, pthread_self()))
			return &w->threads[i];
	return NULL;
}

static void *worker_main(void *arg)
{
	struct workers *w = arg;
	pthread_mutex_lock(&w->lock);
	struct wthread *me = self(w);
	for (;;) {
		while (!w->head && !w->stopping) {
			w->idle++;
			pthread_cond_wait(&w->cond, &w->lock);
			w->idle--;
		}
		struct job *j = w->stopping ? NULL : w->head;
		if (!j)
			break; /* stopping: what is queued is not started */
		w->head = j->next;
		if (!w->head)
			w->tail = NULL;
		if (me)
			me->cur = j;
		pthread_mutex_unlock(&w->lock);
		j->work(j->arg);
		pthread_mutex_lock(&w->lock);
		if (w->abandoned)
			break; /* the loop and its queue may be gone: hand back nothing */
		if (me)
			me->cur = NULL;
		w->busy--;
		loopq_post_node(w->q, &j->node, finish, j);
	}
	if (me)
		me->exited = true;
	w->alive--;
	pthread_cond_broadcast(&w->exited);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int workers_submit(struct workers *w, void (*work)(void *arg), void (*done)(void *arg),
		   void *arg)
{
	struct job *j = malloc(sizeof *j);
	if (!j)
		return -ENOMEM;
	*j = (struct job){.work = work, .done = done, .arg = arg, .node = LOOPQ_NODE_INIT};
	int rc = 0;
	pthread_mutex_lock(&w->lock);
	if (w->stopping) {
		rc = -ESHUTDOWN;
		goto out;
	}
	if (w->idle == 0 && w->n_threads < w->max_threads) {
		sigset_t all, old;
		/* Workers must not take the daemon's signals. */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		int e = pthread_create(&w->threads[w->n_threads].t, NULL, worker_main, w);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (e == 0) {
			w->n_threads++;
			w->alive++;
		} else if (w->n_threads == 0) {
			olog(LOG_ERR, "cannot start a worker thread: %s", strerror(e));
			rc = -EAGAIN;
			goto out;
		}
	}
	if (w->tail)
		w->tail->next = j;
	else
		w->head = j;
	w->tail = j;
	w->busy++;
	pthread_cond_signal(&w->cond);
out:
	pthread_mutex_unlock(&w->lock);
	if (rc < 0)
		free(j);
	return rc;
}

size_t workers_busy(const struct workers *w)
{
	pthread_mutex_lock((pthread_mutex_t *)&w->lock);
	size_t n = w->busy;
	pthread_mutex_unlock((pthread_mutex_t *)&w->lock);
	return n;
}

static struct timespec deadline_after(double s)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	double whole = floor(s);
	ts.tv_sec += (time_t)whole;
	ts.tv_nsec += (long)((s - whole) * 1e9);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

size_t workers_stop(struct workers *w, double timeout)
{
	if (!w)
		return 0;
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	pthread_cond_broadcast(&w->cond);
	/* Queued but not started: never started; done still runs (on the
	 * loop, through the queue) so their owners free them. */
	struct job *queued = w->head;
	w->head = w->tail = NULL;
	for (struct job *j = queued, *next; j; j = next) {
		next = j->next;
		w->busy--;
		loopq_post_node(w->q, &j->node, finish, j);
	}
	/* A timeout past a day is a forever: timespec arithmetic stays sane. */
	bool bounded = timeout >= 0 && timeout < 86400;
	struct timespec until = deadline_after(bounded ? timeout : 0);
	while (w->alive > 0) {
		if (!bounded) {
			pthread_cond_wait(&w->exited, &w->lock);
			continue;
		}
		if (pthread_cond_timedwait(&w->exited, &w->lock, &until) == ETIMEDOUT)
			break;
	}
	size_t left = w->alive;
	if (left) {
		/* From here no thread posts. The exited ones are joined (they
		 * hold no lock any more), the others detached: what they may
		 * touch is kept, the pool is never freed. */
		w->abandoned = true;
		for (size_t i = 0; i < w->n_threads; i++) {
			if (w->threads[i].exited)
				pthread_join(w->threads[i].t, NULL);
			else
				pthread_detach(w->threads[i].t);
		}
	}
	pthread_mutex_unlock(&w->lock);
	for (size_t i = 0; !left && i < w->n_threads; i++)
		pthread_join(w->threads[i].t, NULL);
	if (left) {
		olog(LOG_WARNING,
		     "%zu blocking call%s still running at shutdown; abandoned (the process "
		     "is exiting)",
		     left, left == 1 ? "" : "s");
		w->next_left = left_behind;
		left_behind = w;
		return left;
	}
	pthread_cond_destroy(&w->exited);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w->threads);
	free(w);
	return 0;
}

void workers_free(struct workers *w)
{
	workers_stop(w, -1);
}
