/* childwatch.c — see childwatch.h. */
#include "childwatch.h"

#include <errno.h>
#include <event2/event.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* How often to look where there is no pidfd. */
#define POLL_US 50000

struct childwatch {
	pid_t pid;
	int pidfd;          /* -1: ev is a polling timer */
	struct event *ev;
	childwatch_fn fn;
	void *ctx;
	bool reaped;
};

/* Reap the child if it has exited: true and *si then. */
static bool try_reap(struct childwatch *w, siginfo_t *si)
{
	memset(si, 0, sizeof *si);
	while (waitid(P_PID, (id_t)w->pid, si, WEXITED | WNOHANG) < 0) {
		if (errno == EINTR)
			continue;
		/* ECHILD: reaped behind our back, its status lost. */
		memset(si, 0, sizeof *si);
		si->si_pid = w->pid;
		break;
	}
	if (si->si_pid == 0)
		return false;
	w->reaped = true;
	event_del(w->ev);
	return true;
}

static void on_ready(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct childwatch *w = arg;
	siginfo_t si;
	if (!w->reaped && try_reap(w, &si))
		w->fn(w->ctx, &si);
}

struct childwatch *childwatch_new(struct event_base *base, pid_t pid, childwatch_fn fn, void *ctx)
{
	struct childwatch *w = calloc(1, sizeof *w);
	if (!w)
		return NULL;
	w->pid = pid;
	w->fn = fn;
	w->ctx = ctx;
	w->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	static const struct timeval poll_tv = {0, POLL_US};
	if (w->pidfd >= 0)
		w->ev = event_new(base, w->pidfd, EV_READ | EV_PERSIST, on_ready, w);
	else
		w->ev = event_new(base, -1, EV_PERSIST, on_ready, w);
	if (!w->ev || event_add(w->ev, w->pidfd >= 0 ? NULL : &poll_tv) < 0) {
		childwatch_free(w);
		errno = ENOMEM;
		return NULL;
	}
	return w;
}

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int childwatch_wait(struct childwatch *w, double timeout, siginfo_t *si)
{
	double deadline = mono() + timeout;
	while (!try_reap(w, si)) {
		double left = deadline - mono();
		if (timeout >= 0 && left <= 0)
			return -ETIMEDOUT;
		int ms = timeout < 0 || left > 0.05 ? 50 : (int)(left * 1000) + 1;
		if (w->pidfd >= 0) {
			struct pollfd p = {w->pidfd, POLLIN, 0};
			poll(&p, 1, ms);
		} else {
			poll(NULL, 0, ms < 10 ? ms : 10);
		}
	}
	return 0;
}

void childwatch_free(struct childwatch *w)
{
	if (!w)
		return;
	if (w->ev)
		event_free(w->ev);
	if (w->pidfd >= 0)
		close(w->pidfd);
	free(w);
}
