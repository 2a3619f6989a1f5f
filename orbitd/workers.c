/* workers.c — fixed-size thread pool over a mutex/condvar FIFO. See workers.h. */
#include "workers.h"
#include "loopq.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct job {
	struct job *next;
	void (*work)(void *arg);
	void (*done)(void *arg);
	void *arg;
};

struct workers {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct job *head, *tail;
	struct loopq *q;
	pthread_t *threads;
	size_t n_threads, max_threads;
	size_t idle;
	size_t busy; /* queued + running */
	bool stopping;
};

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

static void *worker_main(void *arg)
{
	struct workers *w = arg;
	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->head && !w->stopping) {
			w->idle++;
			pthread_cond_wait(&w->cond, &w->lock);
			w->idle--;
		}
		struct job *j = w->head;
		if (!j)
			break; /* stopping and drained */
		w->head = j->next;
		if (!w->head)
			w->tail = NULL;
		pthread_mutex_unlock(&w->lock);
		j->work(j->arg);
		/* A failed post would lose done(): retry, the loop frees memory. */
		while (loopq_post(w->q, finish, j) < 0)
			sched_yield();
		pthread_mutex_lock(&w->lock);
		w->busy--;
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int workers_submit(struct workers *w, void (*work)(void *arg), void (*done)(void *arg),
		   void *arg)
{
	struct job *j = malloc(sizeof *j);
	if (!j)
		return -ENOMEM;
	*j = (struct job){.work = work, .done = done, .arg = arg};
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
		int e = pthread_create(&w->threads[w->n_threads], NULL, worker_main, w);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (e == 0)
			w->n_threads++;
		else if (w->n_threads == 0) {
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

void workers_free(struct workers *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	for (size_t i = 0; i < w->n_threads; i++)
		pthread_join(w->threads[i], NULL);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w->threads);
	free(w);
}
