/* notify.c — writes systemd notification datagrams to $NOTIFY_SOCKET.
 *
 * A fresh non-blocking socket per message keeps the writer stateless
 * (thread-safe, nothing to reopen after the manager restarts); the notifier
 * on top keeps the one piece of state that must survive a full queue: the
 * latest status and a state message not yet delivered.
 */
#include "notify.h"

#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define STATUS_MAX 1024

int notify_send(const char *state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = getenv("NOTIFY_SOCKET");
	socklen_t alen;
	size_t plen;
	ssize_t w;
	int fd, rc = 0;

	if (!state)
		return -EINVAL;
	if (!path || !*path)
		return 0;
	if (path[0] != '/' && path[0] != '@')
		return -EAFNOSUPPORT; /* e.g. vsock: addresses, not used by orbitd's units */
	plen = strlen(path);
	/* Abstract names need no terminating NUL, filesystem paths do. */
	if (plen > sizeof sa.sun_path || (path[0] == '/' && plen == sizeof sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, plen);
	if (path[0] == '@') {
		sa.sun_path[0] = '\0';
		alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen);
	} else {
		alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen + 1);
	}

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	do {
		w = sendto(fd, state, strlen(state), MSG_NOSIGNAL,
			   (const struct sockaddr *)&sa, alen);
	} while (w < 0 && errno == EINTR);
	if (w < 0)
		rc = -errno;
	close(fd);
	return rc;
}

int notify_reloading_text(char *buf, size_t len)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return -errno;
	if ((size_t)snprintf(buf, len, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64,
			     (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u) >= len)
		return -ENOBUFS;
	return 0;
}

/* "STATUS=" + text with newlines made spaces (a newline would start a new
 * assignment in the datagram); text past STATUS_MAX is cut. */
static void format_status(char *msg, size_t len, const char *text)
{
	size_t pre = sizeof "STATUS=" - 1;

	memcpy(msg, "STATUS=", pre);
	snprintf(msg + pre, len - pre, "%.*s", STATUS_MAX, text);
	for (char *p = msg + pre; *p; p++) {
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	}
}

int notify_watchdog(void)
{
	return notify_send("WATCHDOG=1");
}

/* Parses a whole decimal number: 0, or -EINVAL on anything else. */
static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

int notify_watchdog_usec(uint64_t *usec)
{
	const char *us = getenv("WATCHDOG_USEC");
	const char *pid = getenv("WATCHDOG_PID");
	uint64_t v, p;

	*usec = 0;
	if (!us)
		return 0;
	if (parse_u64(us, &v) < 0 || v == 0)
		return -EINVAL;
	if (pid) {
		if (parse_u64(pid, &p) < 0 || p == 0)
			return -EINVAL;
		/* Set for the main process only; a child that inherited it must not ping. */
		if (p != (uint64_t)getpid())
			return 0;
	}
	*usec = v;
	return 0;
}

/* ---- the daemon's notifier ------------------------------------------- */

#define RETRY_FIRST_MS 50
#define RETRY_MAX_MS 1000
#define STATE_MAX 128

struct notifier {
	struct event *ev;	/* idle send, or the retry after a refusal */
	notify_render_fn render;
	void *ctx;
	bool dirty;		/* the status may differ from what was sent */
	char state[STATE_MAX];	/* a READY=1 etc. not yet delivered, or "" */
	unsigned retry_ms;	/* 0, or the back-off after the last refusal */
	char sent[STATUS_MAX + 1]; /* the last status the manager accepted */
};

static bool transient(int rc)
{
	return rc == -EAGAIN || rc == -EWOULDBLOCK || rc == -ENOBUFS || rc == -ENOMEM;
}

static void arm(struct notifier *n, unsigned ms)
{
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};

	event_add(n->ev, &tv);
}

/* One datagram: the pending state (if any) and the current status. On a full
 * queue everything stays pending and the retry is armed; any other error
 * cannot be cured by retrying (no manager listening) and drops it. */
static int flush(struct notifier *n)
{
	char text[STATUS_MAX + 1], status[sizeof "STATUS=" + STATUS_MAX];
	char msg[STATE_MAX + sizeof status + 1];
	int rc;

	text[0] = '\0';
	n->render(n->ctx, text, sizeof text);
	if (!n->state[0] && strcmp(text, n->sent) == 0) {
		n->dirty = false;
		return 0;
	}
	format_status(status, sizeof status, text);
	snprintf(msg, sizeof msg, "%s%s%s", n->state, n->state[0] ? "\n" : "", status);
	rc = notify_send(msg);
	if (transient(rc)) {
		n->dirty = true;
		n->retry_ms = n->retry_ms ? n->retry_ms * 2 : RETRY_FIRST_MS;
		if (n->retry_ms > RETRY_MAX_MS)
			n->retry_ms = RETRY_MAX_MS;
		arm(n, n->retry_ms);
		return rc;
	}
	n->dirty = false;
	n->state[0] = '\0';
	n->retry_ms = 0;
	if (rc == 0)
		snprintf(n->sent, sizeof n->sent, "%s", text);
	return rc;
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	flush(arg);
}

struct notifier *notify_new(struct event_base *base, notify_render_fn render, void *ctx)
{
	struct notifier *n = calloc(1, sizeof *n);

	if (!n)
		return NULL;
	n->render = render;
	n->ctx = ctx;
	if (!(n->ev = evtimer_new(base, on_flush, n))) {
		free(n);
		errno = ENOMEM;
		return NULL;
	}
	return n;
}

void notify_dirty(struct notifier *n)
{
	if (n->dirty || !getenv("NOTIFY_SOCKET"))
		return;
	/* A zero timeout runs after the events of this loop pass: they all
	 * fold into the one datagram rendered then. */
	n->dirty = true;
	arm(n, 0);
}

int notify_state(struct notifier *n, const char *state)
{
	if (!state || strlen(state) >= sizeof n->state)
		return -EINVAL;
	if (!getenv("NOTIFY_SOCKET"))
		return 0;
	snprintf(n->state, sizeof n->state, "%s", state);
	/* While backing off, the queue was full moments ago: the armed retry
	 * sends the state with the status, sooner would only be refused. */
	if (n->retry_ms)
		return -EAGAIN;
	event_del(n->ev);
	return flush(n);
}

void notify_free(struct notifier *n)
{
	if (!n)
		return;
	event_free(n->ev);
	free(n);
}
