/* notify.c — writes systemd notification datagrams to $NOTIFY_SOCKET.
 *
 * A fresh non-blocking socket per message keeps this stateless (thread-safe,
 * nothing to reopen after the manager restarts) and the messages are rare:
 * start, reloads, stop, status changes and a watchdog ping every few seconds.
 */
#include "notify.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
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

int notify_ready(void)
{
	return notify_send("READY=1");
}

int notify_reloading(void)
{
	char msg[64];
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return -errno;
	snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64,
		 (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u);
	return notify_send(msg);
}

int notify_stopping(void)
{
	return notify_send("STOPPING=1");
}

int notify_status(const char *fmt, ...)
{
	char msg[sizeof "STATUS=" + STATUS_MAX];
	size_t pre = sizeof "STATUS=" - 1;
	va_list ap;
	int r;

	if (!getenv("NOTIFY_SOCKET"))
		return 0;
	memcpy(msg, "STATUS=", pre);
	va_start(ap, fmt);
	r = vsnprintf(msg + pre, sizeof msg - pre, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -EINVAL;
	/* A newline would start a new assignment in the datagram. */
	for (char *p = msg + pre; *p; p++) {
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	}
	return notify_send(msg);
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
