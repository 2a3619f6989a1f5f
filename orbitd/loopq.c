/* loopq.c — cross-thread posts into the loop: a mutex-protected FIFO and an
 * eventfd the loop watches. See loopq.h. */
#include "loopq.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct loopq {
	pthread_mutex_t lock;
	struct loopq_node *head, *tail;
	int efd;
	struct event *ev;
};

static struct loopq_node *take_all(struct loopq *q)
{
	pthread_mutex_lock(&q->lock);
	struct loopq_node *n = q->head;
	q->head = q->tail = NULL;
	pthread_mutex_unlock(&q->lock);
	return n;
}

static void run_all(struct loopq *q)
{
	struct loopq_node *n;
	/* Functions may post again; keep draining until it stays empty. */
	while ((n = take_all(q))) {
		while (n) {
			/* Everything read before fn: fn may free an embedded node. */
			struct loopq_node *next = n->next;
			void (*fn)(void *arg) = n->fn;
			void *arg = n->arg;
			if (n->heap)
				free(n);
			fn(arg);
			n = next;
		}
	}
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	uint64_t v;
	/* Non-blocking eventfd: EAGAIN only means someone else drained it. */
	if (read(fd, &v, sizeof v) < 0 && errno != EAGAIN)
		return;
	run_all(arg);
}

struct loopq *loopq_new(struct event_base *base)
{
	struct loopq *q = calloc(1, sizeof *q);
	if (!q)
		return NULL;
	pthread_mutex_init(&q->lock, NULL);
	q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->efd < 0)
		goto fail;
	q->ev = event_new(base, q->efd, EV_READ | EV_PERSIST, on_wake, q);
	if (!q->ev || event_add(q->ev, NULL) < 0)
		goto fail;
	return q;
fail:;
	int e = errno ? errno : ENOMEM;
	if (q->ev)
		event_free(q->ev);
	if (q->efd >= 0)
		close(q->efd);
	pthread_mutex_destroy(&q->lock);
	free(q);
	errno = e;
	return NULL;
}

void loopq_post_node(struct loopq *q, struct loopq_node *n, void (*fn)(void *arg), void *arg)
{
	bool heap = n->heap;
	*n = (struct loopq_node){.fn = fn, .arg = arg, .heap = heap};
	pthread_mutex_lock(&q->lock);
	int was_empty = q->head == NULL;
	if (q->tail)
		q->tail->next = n;
	else
		q->head = n;
	q->tail = n;
	pthread_mutex_unlock(&q->lock);
	/* One wake-up per batch is enough: the loop drains everything. */
	if (was_empty) {
		uint64_t one = 1;
		ssize_t w = write(q->efd, &one, sizeof one);
		(void)w; /* EAGAIN means the counter is already non-zero: awake anyway */
	}
}

int loopq_post(struct loopq *q, void (*fn)(void *arg), void *arg)
{
	struct loopq_node *n = malloc(sizeof *n);
	if (!n)
		return -ENOMEM;
	n->heap = true;
	loopq_post_node(q, n, fn, arg);
	return 0;
}

void loopq_free(struct loopq *q)
{
	if (!q)
		return;
	event_free(q->ev);
	run_all(q);
	close(q->efd);
	pthread_mutex_destroy(&q->lock);
	free(q);
}
