/* conn.c — see conn.h. */
#include "conn.h"
#include "table.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* A reply line longer than this is not from an orbitd. */
#define MAX_LINE ((size_t)64 << 20)
/* How much of a reply that is not protocol v1 is quoted. */
#define QUOTE_MAX 60
/* read_more: the daemon closed the connection (not an exit status). */
#define READ_EOF (-1)

volatile sig_atomic_t conn_interrupted;

struct conn {
	int fd;
	char *path;
	long long next_id;
	char *buf; /* bytes read and not yet consumed */
	size_t len, cap;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* poll() timeout until deadline (0: none), or 0 once it has passed. */
static int ms_left(double deadline)
{
	if (deadline <= 0)
		return -1;
	double left = deadline - now_s();
	if (left <= 0)
		return 0;
	return left > 1e6 ? 1000000000 : (int)ceil(left * 1000);
}

static void hint_noconn(const char *path)
{
	fprintf(stderr,
		"orbitctl: is orbitd running? If it listens elsewhere, name its socket with "
		"-s SOCKET or ORBITD_SOCKET (%s was tried)\n",
		path);
}

int conn_open(const char *path, double timeout_s, struct conn **out)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct conn *c;
	int fd;

	*out = NULL;
	if (strlen(path) >= sizeof sa.sun_path) {
		fprintf(stderr, "orbitctl: cannot connect to %s: the path is too long\n", path);
		return CTL_EXIT_NOCONN;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		fprintf(stderr, "orbitctl: cannot create a socket: %s\n", strerror(errno));
		return CTL_EXIT_FAILED;
	}
	/* A blocking AF_UNIX connect waits (for a full backlog) at most the
	 * send timeout, which then reads EAGAIN. */
	if (timeout_s > 0) {
		struct timeval tv = {.tv_sec = (time_t)timeout_s,
				     .tv_usec = (suseconds_t)((timeout_s - floor(timeout_s)) * 1e6)};
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	}
	int rc;
	while ((rc = connect(fd, (struct sockaddr *)&sa, sizeof sa)) < 0 && errno == EINTR)
		;
	if (rc < 0) {
		int e = errno;
		close(fd);
		if (e == EACCES || e == EPERM) {
			fprintf(stderr,
				"orbitctl: permission denied connecting to %s (is your user in "
				"orbitd's control group?)\n",
				path);
			return CTL_EXIT_PERMISSION;
		}
		if (e == EAGAIN)
			fprintf(stderr, "orbitctl: cannot connect to %s: timed out after %gs\n", path,
				timeout_s);
		else
			fprintf(stderr, "orbitctl: cannot connect to %s: %s\n", path, strerror(e));
		hint_noconn(path);
		return CTL_EXIT_NOCONN;
	}
	struct timeval none = {0};
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof none);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (!(c = calloc(1, sizeof *c)) || !(c->path = strdup(path))) {
		free(c);
		close(fd);
		fprintf(stderr, "orbitctl: out of memory\n");
		return CTL_EXIT_FAILED;
	}
	c->fd = fd;
	c->next_id = 1;
	*out = c;
	return CTL_EXIT_OK;
}

void conn_close(struct conn *c)
{
	if (!c)
		return;
	close(c->fd);
	free(c->buf);
	free(c->path);
	free(c);
}

/* Wait for fd to be ready for events; 1 ready, 0 timed out, -1 interrupted
 * by SIGINT or error (errno). */
static int wait_fd(struct conn *c, short events, double deadline)
{
	for (;;) {
		struct pollfd p = {.fd = c->fd, .events = events};
		if (conn_interrupted) {
			errno = EINTR;
			return -1;
		}
		int n = poll(&p, 1, ms_left(deadline));
		if (n > 0)
			return 1;
		if (n == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

static int send_all(struct conn *c, const char *cmd, const char *s, size_t n, double deadline,
		    double timeout_s)
{
	while (n) {
		ssize_t w = send(c->fd, s, n, MSG_NOSIGNAL);
		if (w > 0) {
			s += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			int rc = wait_fd(c, POLLOUT, deadline);
			if (rc > 0)
				continue;
			if (rc == 0) {
				fprintf(stderr, "orbitctl: %s: timed out after %gs sending to %s\n",
					cmd, timeout_s, c->path);
				return CTL_EXIT_FAILED;
			}
			if (conn_interrupted)
				return CTL_EXIT_INTERRUPTED;
		}
		fprintf(stderr, "orbitctl: %s: cannot send to %s: %s\n", cmd, c->path,
			errno == EPIPE ? "orbitd closed the connection" : strerror(errno));
		return CTL_EXIT_FAILED;
	}
	return CTL_EXIT_OK;
}

/* Read more into c->buf. CTL_EXIT_OK, READ_EOF, or the exit status of a
 * failure (message printed). */
static int read_more(struct conn *c, const char *cmd, double deadline, double timeout_s)
{
	if (c->cap - c->len < 4096) {
		size_t cap = c->cap ? c->cap * 2 : 16384;
		char *b = cap > MAX_LINE + 4096 ? NULL : realloc(c->buf, cap);
		if (!b) {
			fprintf(stderr,
				"orbitctl: %s: %s is not an orbitd control socket (a reply line "
				"longer than %zu bytes)\n",
				cmd, c->path, MAX_LINE);
			return CTL_EXIT_PROTOCOL;
		}
		c->buf = b;
		c->cap = cap;
	}
	for (;;) {
		ssize_t r = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
		if (r > 0) {
			c->len += (size_t)r;
			return CTL_EXIT_OK;
		}
		if (r == 0)
			return READ_EOF;
		if (errno == EINTR && !conn_interrupted)
			continue;
		if (errno == EAGAIN) {
			int rc = wait_fd(c, POLLIN, deadline);
			if (rc > 0)
				continue;
			if (rc == 0) {
				fprintf(stderr, "orbitctl: %s: no reply from orbitd within %gs\n", cmd,
					timeout_s);
				return CTL_EXIT_FAILED;
			}
		}
		if (conn_interrupted)
			return CTL_EXIT_INTERRUPTED;
		fprintf(stderr, "orbitctl: %s: cannot read from %s: %s\n", cmd, c->path,
			strerror(errno));
		return CTL_EXIT_FAILED;
	}
}

static int not_v1(const struct conn *c, const char *cmd, const char *why, const char *line,
		  size_t n)
{
	char quote[QUOTE_MAX + 1];
	size_t q = n < QUOTE_MAX ? n : QUOTE_MAX;
	memcpy(quote, line, q);
	quote[q] = '\0';
	table_clean(quote);
	fprintf(stderr,
		"orbitctl: %s: protocol mismatch: %s does not answer in orbitd's control "
		"protocol v1 (%s): \"%s%s\"\n",
		cmd, c->path, why, quote, n > q ? "..." : "");
	return CTL_EXIT_PROTOCOL;
}

static int daemon_error(const char *cmd, json_t *error)
{
	const char *code = json_string_value(json_object_get(error, "code"));
	const char *msg = json_string_value(json_object_get(error, "message"));
	char *clean = strdup(msg ? msg : "(no message)");
	int rc = CTL_EXIT_FAILED;

	if (clean)
		table_clean(clean);
	if (!code)
		code = "";
	if (!strcmp(code, "permission_denied")) {
		fprintf(stderr, "orbitctl: %s: permission denied: %s\n", cmd, clean);
		rc = CTL_EXIT_PERMISSION;
	} else if (!strcmp(code, "unsupported_version") || !strcmp(code, "bad_request") ||
		   !strcmp(code, "bad_json") || !strcmp(code, "unknown_command")) {
		fprintf(stderr, "orbitctl: %s: protocol mismatch with orbitd (%s): %s\n", cmd, code,
			clean);
		rc = CTL_EXIT_PROTOCOL;
	} else {
		fprintf(stderr, "orbitctl: %s: %s\n", cmd, clean);
	}
	free(clean);
	return rc;
}

/* One reply line. 1: a final reply (status in *rc), 0: an event or nothing
 * for us, or *rc set to a failure status with 1. */
static int handle_line(struct conn *c, const char *cmd, json_int_t id, const char *line, size_t n,
		       conn_event_fn on_event, void *arg, json_t **result, int *rc)
{
	json_error_t jerr;
	json_t *m = json_loadb(line, n, 0, &jerr), *v, *mid, *ok;
	int done = 1;

	if (!m) {
		*rc = not_v1(c, cmd, "not JSON", line, n);
		return 1;
	}
	v = json_object_get(m, "v");
	mid = json_object_get(m, "id");
	ok = json_object_get(m, "ok");
	if (!json_is_integer(v) || !json_object_get(m, "id")) {
		*rc = not_v1(c, cmd, "no protocol version or id", line, n);
	} else if (json_integer_value(v) != 1) {
		fprintf(stderr,
			"orbitctl: %s: protocol mismatch: orbitd speaks protocol v%" JSON_INTEGER_FORMAT
			", this orbitctl speaks v1\n",
			cmd, json_integer_value(v));
		*rc = CTL_EXIT_PROTOCOL;
	} else if (!json_is_null(mid) && !(json_is_integer(mid) && json_integer_value(mid) == id)) {
		*rc = not_v1(c, cmd, "a reply to a request never sent", line, n);
	} else if (json_object_get(m, "event")) {
		if (on_event && json_is_object(json_object_get(m, "event")))
			on_event(arg, json_object_get(m, "event"));
		done = 0;
	} else if (json_is_true(ok)) {
		json_t *res = json_object_get(m, "result");
		*result = res ? json_incref(res) : json_object();
		*rc = CTL_EXIT_OK;
	} else if (json_is_false(ok) && json_is_object(json_object_get(m, "error"))) {
		*rc = daemon_error(cmd, json_object_get(m, "error"));
	} else {
		*rc = not_v1(c, cmd, "neither a result nor an error", line, n);
	}
	json_decref(m);
	return done;
}

int conn_call(struct conn *c, const char *cmd, json_t *args, double timeout_s,
	      conn_event_fn on_event, void *arg, json_t **result)
{
	double deadline = timeout_s > 0 ? now_s() + timeout_s : 0;
	json_int_t id = c->next_id++;
	json_t *req = json_pack("{s:i,s:I,s:s}", "v", 1, "id", id, "cmd", cmd);
	char *line = NULL;
	int rc;

	*result = NULL;
	if (!req)
		json_decref(args);
	if (!req || (args && json_object_set_new(req, "args", args) < 0) ||
	    !(line = json_dumps(req, JSON_COMPACT))) {
		json_decref(req);
		fprintf(stderr, "orbitctl: out of memory\n");
		return CTL_EXIT_FAILED;
	}
	json_decref(req);
	size_t n = strlen(line);
	line[n] = '\n';
	rc = send_all(c, cmd, line, n + 1, deadline, timeout_s);
	free(line);
	if (rc != CTL_EXIT_OK)
		return rc;
	for (;;) {
		char *nl;
		while (c->len && (nl = memchr(c->buf, '\n', c->len))) {
			size_t len = (size_t)(nl - c->buf);
			int done = handle_line(c, cmd, id, c->buf, len, on_event, arg, result, &rc);
			memmove(c->buf, nl + 1, c->len - len - 1);
			c->len -= len + 1;
			if (done)
				return rc;
		}
		rc = read_more(c, cmd, deadline, timeout_s);
		if (rc == READ_EOF) {
			/* An unterminated last line still says who answered. */
			if (c->len && handle_line(c, cmd, id, c->buf, c->len, on_event, arg, result,
						  &rc)) {
				c->len = 0;
				return rc;
			}
			c->len = 0;
			fprintf(stderr, "orbitctl: %s: orbitd closed the connection\n", cmd);
			return CTL_EXIT_FAILED;
		}
		if (rc != CTL_EXIT_OK)
			return rc;
	}
}
