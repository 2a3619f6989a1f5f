/* control.c — see control.h.
 *
 * A client is a bufferevent plus the requests it has open. A request whose
 * client goes away moves to the server's orphan list, where it waits for
 * the handler's reply (which is then discarded) or for octl_free.
 *
 * A client that shuts down its sending side (`nc -N`, socat at EOF) may still
 * read: its last, unterminated line is handled as a request and the
 * connection stays until every reply is sent. On such a half-closed socket
 * the kernel signals nothing when the peer then goes away altogether, so it
 * is checked (poll for POLLHUP) every HALF_CLOSED_CHECK_S while it waits.
 *
 * Unsent output is tracked by a callback on each client's output buffer
 * (every add, every write), which keeps the total for total_buffer and
 * notes when a client last took output. A client is cut synchronously
 * where the bound is crossed: its output is discarded and its socket shut
 * down at once, so memory is back before the next message is queued; the
 * client itself is freed from its check event, since the code that crossed
 * the bound may still hold it.
 */
#include "control.h"
#include "log.h"
#include "ratelimit.h"
#include "strfmt.h"

#include <errno.h>
#include <inttypes.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <grp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define LISTEN_BACKLOG 64
#define HALF_CLOSED_CHECK_S 1
/* accept() out of descriptors or memory: pause rather than spin on the
 * still-readable listening socket. */
#define ACCEPT_PAUSE_S 1
/* Connections accepted per wake-up, so a burst cannot starve the loop. */
#define ACCEPT_BATCH 32

struct client;

struct octl_req {
	struct octl *srv;
	struct client *cl; /* NULL once the client is gone */
	struct octl_req *prev, *next; /* in cl->reqs, or srv->orphans */
	json_t *id;
	void (*on_close)(void *arg);
	void *on_close_arg;
	bool close_due; /* on_close still to be called */
	size_t dropped; /* events dropped since the last overflow notice */
	uid_t uid;      /* the client's, kept past its going */
	pid_t pid;
	bool privileged;
};

struct client {
	struct octl *srv;
	struct client *prev, *next;
	struct bufferevent *bev;
	struct event *check; /* deferred close check; the half-closed timer */
	struct event *idle;  /* the idle_timeout timer; NULL without one */
	struct evbuffer_cb_entry *out_cb;
	double active;       /* last byte received or output taken (monotonic) */
	double flowing;      /* last time its output was taken or empty */
	size_t owed_dropped; /* bytes of events dropped since it last took output */
	struct octl_req *reqs;
	uid_t uid;
	gid_t gid;
	pid_t pid;
	bool privileged;
	bool discarding; /* inside a line that was too long */
	bool eof;        /* the client will send nothing more */
	bool throttled;  /* reading paused: too much output unsent */
	bool cut;        /* cut for a buffer bound: freed from its check event */
};

struct octl {
	struct event_base *base;
	char *path;
	int fd;
	struct event *accept_ev, *accept_resume;
	bool bound;
	dev_t dev;
	ino_t ino;
	bool have_gid;
	gid_t gid;
	struct octl_limits lim;
	size_t buffered; /* unsent to all clients */
	struct ratelimit refuse_log;
	uint64_t refused, idle_closed, cut;
	octl_handler_fn fn;
	void *ctx;
	struct client *clients;
	size_t n_clients;
	struct octl_req *orphans;
};


/* ---- requests ------------------------------------------------------------ */

static struct octl_req **req_list(struct octl_req *r)
{
	return r->cl ? &r->cl->reqs : &r->srv->orphans;
}

static void req_link(struct octl_req *r)
{
	struct octl_req **head = req_list(r);
	r->prev = NULL;
	r->next = *head;
	if (*head)
		(*head)->prev = r;
	*head = r;
}

static void req_unlink(struct octl_req *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		*req_list(r) = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->prev = r->next = NULL;
}

/* A JSON string of s; bytes that are not valid UTF-8 become '?' so that a
 * message quoting raw input can always be sent. */
static json_t *lossy_string(const char *s)
{
	json_t *j = json_string(s);
	if (j)
		return j;
	char *copy = strdup(s);
	if (!copy)
		return NULL;
	for (unsigned char *p = (unsigned char *)copy; *p; p++)
		if (*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

/* ---- clients --------------------------------------------------------------- */

static size_t out_len(const struct client *cl)
{
	return evbuffer_get_length(bufferevent_get_output(cl->bev));
}

/* Output beyond which a client's events are dropped and its requests wait:
 * half its bound, the other half is room for final replies. */
static size_t soft_cap(const struct octl *srv)
{
	return srv->lim.client_buffer / 2;
}

/* Cut cl for a buffer bound (its own, or the total): discard its output,
 * shut its socket, and have its check event free it. */
static void client_cut(struct client *cl, bool own)
{
	struct octl *srv = cl->srv;
	size_t unsent = out_len(cl);
	if (cl->cut)
		return;
	if (own)
		olog(LOG_WARNING,
		     "control: pid %ld uid %ld cut: it owes %zu bytes (%zu unsent, %zu of events "
		     "dropped since it last read), control.client_buffer is %zu",
		     (long)cl->pid, (long)cl->uid, unsent + cl->owed_dropped, unsent,
		     cl->owed_dropped, srv->lim.client_buffer);
	else
		olog(LOG_WARNING,
		     "control: pid %ld uid %ld cut: %zu bytes unsent, stuck for %.3fs, the "
		     "slowest client; %zu unsent to all, control.total_buffer is %zu",
		     (long)cl->pid, (long)cl->uid, unsent, ratelimit_now() - cl->flowing,
		     srv->buffered, srv->lim.total_buffer);
	cl->cut = true;
	cl->throttled = true;
	srv->cut++;
	/* A socket bufferevent keeps its output's start frozen except while it
	 * writes; discarding is writing to nowhere. */
	struct evbuffer *out = bufferevent_get_output(cl->bev);
	evbuffer_unfreeze(out, 1);
	evbuffer_drain(out, unsent);
	evbuffer_freeze(out, 1);
	bufferevent_disable(cl->bev, EV_READ | EV_WRITE);
	shutdown(bufferevent_getfd(cl->bev), SHUT_RDWR);
	event_active(cl->check, EV_TIMEOUT, 0);
}

/* Whether a is slower than b: its output has stood still longer, or as
 * long with more of it. By bytes alone a client that reads every event
 * could be picked just after a large one was queued for it. */
static bool slower(const struct client *a, const struct client *b)
{
	if (a->flowing != b->flowing)
		return a->flowing < b->flowing;
	return out_len(a) > out_len(b);
}

/* Over total_buffer: cut the slowest clients first. */
static void enforce_total(struct octl *srv)
{
	while (srv->lim.total_buffer && srv->buffered > srv->lim.total_buffer) {
		struct client *worst = NULL;
		for (struct client *cl = srv->clients; cl; cl = cl->next)
			if (!cl->cut && out_len(cl) && (!worst || slower(cl, worst)))
				worst = cl;
		if (!worst)
			return;
		client_cut(worst, false);
	}
}

/* cl owes more than its bound: unsent plus dropped since it last read. */
static void enforce_client(struct client *cl)
{
	size_t max = cl->srv->lim.client_buffer;
	if (max && out_len(cl) + cl->owed_dropped > max)
		client_cut(cl, true);
}

/* Queue msg (stolen) as one line. Past the soft cap, stop reading the
 * client's requests until its output has drained; past a bound, cut. */
static int send_msg(struct client *cl, json_t *msg)
{
	if (cl->cut) {
		json_decref(msg);
		return 0;
	}
	if (!msg)
		return -ENOMEM;
	char *s = json_dumps(msg, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(msg);
	if (!s)
		return -ENOMEM;
	struct evbuffer *out = bufferevent_get_output(cl->bev);
	size_t n = strlen(s);
	s[n] = '\n';
	int rc = evbuffer_add(out, s, n + 1) < 0 ? -ENOMEM : 0;
	free(s);
	if (!cl->throttled && evbuffer_get_length(out) > soft_cap(cl->srv)) {
		cl->throttled = true;
		bufferevent_disable(cl->bev, EV_READ);
	}
	enforce_client(cl);
	enforce_total(cl->srv);
	return rc;
}

static json_t *error_msg(json_t *id, const char *code, const char *message)
{
	json_t *m = lossy_string(message);
	return json_pack("{s:i,s:O,s:b,s:{s:s,s:o}}", "v", OCTL_PROTOCOL_VERSION, "id",
			 id ? id : json_null(), "ok", 0, "error", "code", code, "message", m);
}

static void send_error(struct client *cl, json_t *id, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void send_error(struct client *cl, json_t *id, const char *code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = strvfmt(fmt, ap);
	va_end(ap);
	olog(LOG_DEBUG, "control: pid %ld: %s: %s", (long)cl->pid, code, msg ? msg : "");
	if (send_msg(cl, msg ? error_msg(id, code, msg) : NULL) < 0)
		olog(LOG_ERR, "control: pid %ld: cannot build a reply: out of memory", (long)cl->pid);
	free(msg);
}

/* Send r's overflow notice if it dropped events and there is room (or
 * force: before the final reply). */
static void flush_overflow(struct octl_req *r, bool force)
{
	if (!r->dropped || (!force && out_len(r->cl) > soft_cap(r->srv)))
		return;
	send_msg(r->cl, json_pack("{s:i,s:O,s:{s:s,s:I}}", "v", OCTL_PROTOCOL_VERSION, "id", r->id,
				  "event", "type", "overflow", "dropped", (json_int_t)r->dropped));
	r->dropped = 0;
}

static void client_free(struct client *cl)
{
	struct octl *srv = cl->srv;
	if (cl->prev)
		cl->prev->next = cl->next;
	else
		srv->clients = cl->next;
	if (cl->next)
		cl->next->prev = cl->prev;
	srv->n_clients--;
	if (cl->check)
		event_free(cl->check);
	if (cl->idle)
		event_free(cl->idle);
	if (cl->out_cb) {
		evbuffer_remove_cb_entry(bufferevent_get_output(cl->bev), cl->out_cb);
		srv->buffered -= out_len(cl);
	}
	/* libevent closes the descriptor from the loop (a finalizer); the peer
	 * learns now, even if the loop never runs again. */
	shutdown(bufferevent_getfd(cl->bev), SHUT_RDWR);
	bufferevent_free(cl->bev);
	free(cl);
}

/* Move cl's open requests to the orphans, owing an on_close call. */
static void client_detach_reqs(struct client *cl)
{
	struct octl_req *r;
	while ((r = cl->reqs)) {
		req_unlink(r);
		r->cl = NULL;
		r->close_due = true;
		req_link(r);
	}
}

/* Call the on_close callbacks owed. A callback may reply to (and so free)
 * any orphan, hence the rescan from the head after each call. */
static void notify_closes(struct octl *srv)
{
	for (;;) {
		struct octl_req *r = srv->orphans;
		while (r && !r->close_due)
			r = r->next;
		if (!r)
			return;
		r->close_due = false;
		if (r->on_close)
			r->on_close(r->on_close_arg);
	}
}

/* The client is gone (or its connection unusable): open requests learn it. */
static void client_drop(struct client *cl)
{
	struct octl *srv = cl->srv;
	olog(LOG_DEBUG, "control: pid %ld uid %ld disconnected%s", (long)cl->pid, (long)cl->uid,
	     cl->reqs ? " with requests open" : "");
	client_detach_reqs(cl);
	client_free(cl);
	notify_closes(srv);
}

static bool peer_gone(const struct client *cl)
{
	struct pollfd p = {.fd = bufferevent_getfd(cl->bev), .events = POLLOUT};
	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR));
}

/* For a client that sent EOF: close once it is gone or has everything. */
static void on_check(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct client *cl = arg;
	if (cl->cut || peer_gone(cl))
		client_drop(cl);
	else if (!cl->reqs && !out_len(cl))
		client_free(cl);
}

static void schedule_check(struct client *cl)
{
	event_active(cl->check, EV_TIMEOUT, 0);
}

static void handle_line(struct client *cl, char *line, size_t n)
{
	struct octl *srv = cl->srv;
	json_error_t jerr;
	json_t *req, *id, *v, *cmd, *args;

	if (n && line[n - 1] == '\r')
		n--;
	if (strspn(line, " \t\r") >= n)
		return;
	if (!(req = json_loadb(line, n, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr))) {
		send_error(cl, NULL, OCTL_E_BAD_JSON, "invalid JSON at column %d: %s", jerr.column,
			   jerr.text);
		return;
	}
	if (!json_is_object(req)) {
		send_error(cl, NULL, OCTL_E_BAD_REQUEST, "a request is a JSON object");
		goto out;
	}
	id = json_object_get(req, "id");
	v = json_object_get(req, "v");
	cmd = json_object_get(req, "cmd");
	args = json_object_get(req, "args");
	json_t *echo = json_is_integer(id) || json_is_string(id) ? id : NULL;
	if (!v) {
		send_error(cl, echo, OCTL_E_BAD_REQUEST,
			   "missing \"v\" (the protocol version; this orbitd speaks v1)");
	} else if (!json_is_integer(v)) {
		send_error(cl, echo, OCTL_E_BAD_REQUEST, "\"v\" must be an integer");
	} else if (json_integer_value(v) != OCTL_PROTOCOL_VERSION) {
		send_error(cl, echo, OCTL_E_UNSUPPORTED_VERSION,
			   "protocol version %" JSON_INTEGER_FORMAT
			   " is not supported: this orbitd speaks v1",
			   json_integer_value(v));
	} else if (!echo) {
		send_error(cl, NULL, OCTL_E_BAD_REQUEST,
			   id ? "\"id\" must be an integer or a string" : "missing \"id\"");
	} else if (!json_is_string(cmd) || !json_string_length(cmd)) {
		send_error(cl, echo, OCTL_E_BAD_REQUEST,
			   cmd ? "\"cmd\" must be a non-empty string" : "missing \"cmd\"");
	} else if (args && !json_is_object(args)) {
		send_error(cl, echo, OCTL_E_BAD_REQUEST, "\"args\" must be an object");
	} else {
		struct octl_req *r = calloc(1, sizeof *r);
		json_t *empty = args ? NULL : json_object();
		if (!r || (!args && !empty)) {
			free(r);
			json_decref(empty);
			send_error(cl, echo, OCTL_E_FAILED, "out of memory");
			goto out;
		}
		r->srv = srv;
		r->cl = cl;
		r->id = json_incref(echo);
		r->uid = cl->uid;
		r->pid = cl->pid;
		r->privileged = cl->privileged;
		req_link(r);
		olog(LOG_DEBUG, "control: pid %ld uid %ld: %s", (long)cl->pid, (long)cl->uid,
		     json_string_value(cmd));
		srv->fn(srv->ctx, r, json_string_value(cmd), args ? args : empty);
		json_decref(empty);
	}
out:
	json_decref(req);
}

/* Handle the complete lines read so far, unless throttled. */
static void process_input(struct client *cl)
{
	struct evbuffer *in = bufferevent_get_input(cl->bev);
	size_t max = cl->srv->lim.max_request;

	while (!cl->throttled) {
		size_t len = evbuffer_get_length(in);
		if (!len)
			return;
		struct evbuffer_ptr eol = evbuffer_search(in, "\n", 1, NULL);
		if (cl->discarding) {
			evbuffer_drain(in, eol.pos < 0 ? len : (size_t)eol.pos + 1);
			cl->discarding = eol.pos < 0;
			continue;
		}
		if (eol.pos < 0) {
			if (len > max) {
				send_error(cl, NULL, OCTL_E_TOO_LARGE,
					   "request longer than %zu bytes", max);
				evbuffer_drain(in, len);
				cl->discarding = true;
			}
			return;
		}
		size_t n = (size_t)eol.pos;
		if (n > max) {
			send_error(cl, NULL, OCTL_E_TOO_LARGE, "request longer than %zu bytes", max);
			evbuffer_drain(in, n + 1);
			continue;
		}
		char *line = malloc(n + 1);
		if (!line) {
			send_error(cl, NULL, OCTL_E_FAILED, "out of memory");
			evbuffer_drain(in, n + 1);
			continue;
		}
		evbuffer_remove(in, line, n);
		evbuffer_drain(in, 1);
		line[n] = '\0';
		handle_line(cl, line, n);
		free(line);
	}
}

/* After EOF: the unterminated last line is a request too. */
static void process_rest(struct client *cl)
{
	struct evbuffer *in = bufferevent_get_input(cl->bev);
	size_t n = evbuffer_get_length(in);
	if (cl->throttled || !n)
		return;
	if (cl->discarding) {
		evbuffer_drain(in, n);
		return;
	}
	char *line = malloc(n + 1);
	if (!line) {
		send_error(cl, NULL, OCTL_E_FAILED, "out of memory");
		evbuffer_drain(in, n);
		return;
	}
	evbuffer_remove(in, line, n);
	line[n] = '\0';
	handle_line(cl, line, n);
	free(line);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	struct client *cl = arg;
	cl->active = ratelimit_now();
	process_input(cl);
}

/* Every change of cl's output: the total, and whether cl took any. */
static void on_output(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	(void)buf;
	struct client *cl = arg;
	cl->srv->buffered += info->n_added;
	cl->srv->buffered -= info->n_deleted;
	if (cl->cut)
		return;
	if (info->n_deleted) {
		cl->active = cl->flowing = ratelimit_now();
		cl->owed_dropped = 0;
	} else if (info->n_added && !info->orig_size) {
		cl->flowing = ratelimit_now();
	}
}

static void arm_idle(struct client *cl, double seconds)
{
	struct timeval tv = {.tv_sec = (time_t)seconds,
			     .tv_usec = (suseconds_t)((seconds - (double)(time_t)seconds) * 1e6)};
	event_add(cl->idle, &tv);
}

static void on_idle(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct client *cl = arg;
	struct octl *srv = cl->srv;
	double timeout = srv->lim.idle_timeout, quiet = ratelimit_now() - cl->active;

	if (cl->cut)
		return;
	/* Waiting for the daemon (a watch with nothing to say) is not idle. */
	if (cl->reqs && !out_len(cl)) {
		cl->active = ratelimit_now();
		quiet = 0;
	}
	if (timeout <= 0)
		return;
	if (quiet < timeout) {
		arm_idle(cl, timeout - quiet);
		return;
	}
	olog(LOG_INFO, "control: pid %ld uid %ld idle for %gs, closed (control.idle_timeout)%s",
	     (long)cl->pid, (long)cl->uid, quiet,
	     out_len(cl) ? " with output unsent" : "");
	srv->idle_closed++;
	client_drop(cl);
}

/* The output drained completely (the write low-watermark is 0). */
static void on_write(struct bufferevent *bev, void *arg)
{
	(void)bev;
	struct client *cl = arg;
	if (cl->throttled) {
		cl->throttled = false;
		for (struct octl_req *r = cl->reqs; r; r = r->next)
			flush_overflow(r, false);
		if (!cl->eof)
			bufferevent_enable(cl->bev, EV_READ);
		process_input(cl);
		if (cl->eof)
			process_rest(cl);
	}
	if (cl->eof && !cl->reqs && !out_len(cl))
		client_free(cl);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	struct client *cl = arg;
	if ((what & BEV_EVENT_ERROR) || !(what & BEV_EVENT_EOF)) {
		client_drop(cl);
		return;
	}
	cl->eof = true;
	process_input(cl);
	process_rest(cl);
	if (peer_gone(cl)) {
		client_drop(cl);
	} else if (!cl->reqs && !out_len(cl)) {
		client_free(cl);
	} else if (event_add(cl->check, &(struct timeval){.tv_sec = HALF_CLOSED_CHECK_S}) < 0) {
		client_drop(cl);
	}
}

/* Whether the peer on fd has gid as its primary or a supplementary group
 * (SO_PEERGROUPS: the groups at connect time). */
static bool peer_in_group(int fd, gid_t primary, gid_t gid)
{
	gid_t small[64], *groups = small;
	socklen_t len = sizeof small;
	bool in = primary == gid;

	if (in)
		return true;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0) {
		if (errno != ERANGE || !(groups = malloc(len)))
			return false;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
			len = 0;
	}
	for (size_t i = 0; i < len / sizeof *groups && !in; i++)
		in = groups[i] == gid;
	if (groups != small)
		free(groups);
	return in;
}

static void client_new(struct octl *srv, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof cred;
	struct client *cl = NULL;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		olog(LOG_WARNING, "control: no peer credentials on a new connection: %m");
		close(fd);
		return;
	}
	if (!(cl = calloc(1, sizeof *cl)) ||
	    !(cl->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE))) {
		olog(LOG_ERR, "control: cannot accept pid %ld: out of memory", (long)cred.pid);
		free(cl);
		close(fd);
		return;
	}
	cl->srv = srv;
	cl->uid = cred.uid;
	cl->gid = cred.gid;
	cl->pid = cred.pid;
	cl->privileged = cred.uid == 0 || cred.uid == geteuid() ||
			 (srv->have_gid && peer_in_group(fd, cred.gid, srv->gid));
	cl->active = cl->flowing = ratelimit_now();
	cl->next = srv->clients;
	if (cl->next)
		cl->next->prev = cl;
	srv->clients = cl;
	srv->n_clients++;
	if (!(cl->check = event_new(srv->base, -1, EV_PERSIST, on_check, cl)) ||
	    !(cl->idle = evtimer_new(srv->base, on_idle, cl)) ||
	    !(cl->out_cb = evbuffer_add_cb(bufferevent_get_output(cl->bev), on_output, cl))) {
		olog(LOG_ERR, "control: cannot accept pid %ld: out of memory", (long)cred.pid);
		client_free(cl);
		return;
	}
	bufferevent_setcb(cl->bev, on_read, on_write, on_event, cl);
	bufferevent_enable(cl->bev, EV_READ);
	if (srv->lim.idle_timeout > 0)
		arm_idle(cl, srv->lim.idle_timeout);
	olog(LOG_DEBUG, "control: pid %ld uid %ld connected (%s)", (long)cl->pid, (long)cl->uid,
	     cl->privileged ? "privileged" : "read-only");
}

static void on_accept_resume(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct octl *srv = arg;
	event_add(srv->accept_ev, NULL);
}

/* One line saying why, then close: a client beyond max_clients. */
static void refuse(struct octl *srv, int fd)
{
	struct ucred cred = {.pid = 0, .uid = (uid_t)-1};
	socklen_t len = sizeof cred;
	uint64_t n;
	char line[256];

	getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len);
	int k = snprintf(line, sizeof line,
			 "{\"v\":%d,\"id\":null,\"ok\":false,\"error\":{\"code\":\"%s\","
			 "\"message\":\"too many control clients (%zu, control.max_clients)\"}}\n",
			 OCTL_PROTOCOL_VERSION, OCTL_E_TOO_MANY_CLIENTS, srv->lim.max_clients);
	/* A fresh socket's buffer takes one short line; if not, EOF says enough. */
	if (send(fd, line, (size_t)k, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		olog(LOG_DEBUG, "control: refusing pid %ld: %m", (long)cred.pid);
	shutdown(fd, SHUT_RDWR);
	close(fd);
	srv->refused++;
	if (ratelimit_hit(&srv->refuse_log, ratelimit_now(), &n))
		olog(LOG_WARNING,
		     "control: refused pid %ld uid %ld: %zu clients connected "
		     "(control.max_clients); %" PRIu64 " refused since the last such line",
		     (long)cred.pid, (long)cred.uid, srv->n_clients, n);
}

static void on_accept(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	struct octl *srv = arg;
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd >= 0) {
			if (srv->lim.max_clients && srv->n_clients >= srv->lim.max_clients)
				refuse(srv, cfd);
			else
				client_new(srv, cfd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		olog(LOG_WARNING, "control: accept on %s failed (%m); pausing for %ds", srv->path,
		     ACCEPT_PAUSE_S);
		event_del(srv->accept_ev);
		event_add(srv->accept_resume, &(struct timeval){.tv_sec = ACCEPT_PAUSE_S});
		return;
	}
}

/* ---- the socket file -------------------------------------------------------- */

static int lookup_group(const char *name, gid_t *gid)
{
	long sz = sysconf(_SC_GETGR_R_SIZE_MAX);
	size_t size = sz > 0 ? (size_t)sz : 1024;
	struct group gr, *res = NULL;
	int rc;

	for (;;) {
		char *buf = malloc(size);
		if (!buf)
			return -ENOMEM;
		rc = getgrnam_r(name, &gr, buf, size, &res);
		if (!rc && res)
			*gid = res->gr_gid;
		free(buf);
		if (rc != ERANGE || size >= ((size_t)1 << 20))
			break;
		size *= 2;
	}
	if (rc)
		return -rc;
	if (res)
		return 0;
	/* A number names a gid that need not have a name. */
	char *end;
	errno = 0;
	unsigned long n = strtoul(name, &end, 10);
	if (name[0] >= '0' && name[0] <= '9' && !*end && !errno && n == (gid_t)n) {
		*gid = (gid_t)n;
		return 0;
	}
	return -ENOENT;
}

/* mkdir -p of path's directory, 0755 (the umask applies). */
static int make_parents(const char *path, char **err)
{
	char *dir = strdup(path);
	int rc = 0;
	if (!dir)
		return -ENOMEM;
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		for (char *p = dir + 1;; p++) {
			if (*p && *p != '/')
				continue;
			char c = *p;
			*p = '\0';
			if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
				rc = -errno;
				*err = strfmt("cannot create the directory %s for control socket %s: %s",
					    dir, path, strerror(errno));
				break;
			}
			*p = c;
			if (!c)
				break;
		}
	}
	free(dir);
	return rc;
}

/* If path exists: fail when an orbitd answers there, remove it when it is a
 * stale socket. */
static int clear_stale(const char *path, const struct sockaddr_un *sa, char **err)
{
	struct stat st;
	int rc = 0;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		*err = strfmt("cannot examine control socket %s: %s", path, strerror(errno));
		return -errno;
	}
	if (!S_ISSOCK(st.st_mode)) {
		*err = strfmt("control socket %s exists and is not a socket", path);
		return -EEXIST;
	}
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s < 0) {
		*err = strfmt("cannot create a socket: %s", strerror(errno));
		return -errno;
	}
	/* Non-blocking, a full backlog reads EAGAIN: someone listens. */
	if (connect(s, (const struct sockaddr *)sa, sizeof *sa) == 0 || errno == EAGAIN ||
	    errno == EINPROGRESS) {
		*err = strfmt("control socket %s is in use by another orbitd", path);
		rc = -EADDRINUSE;
	} else if (errno == ECONNREFUSED || errno == ENOENT) {
		if (unlink(path) < 0 && errno != ENOENT) {
			*err = strfmt("cannot remove stale control socket %s: %s", path,
				    strerror(errno));
			rc = -errno;
		} else {
			olog(LOG_INFO, "control: removed stale socket %s", path);
		}
	} else {
		*err = strfmt("cannot check control socket %s: %s", path, strerror(errno));
		rc = -errno;
	}
	close(s);
	return rc;
}

static int open_socket(struct octl *c, unsigned mode, const char *group, char **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int rc;

	if (strlen(c->path) >= sizeof sa.sun_path) {
		*err = strfmt("control socket path %s is too long (at most %zu bytes)", c->path,
			    sizeof sa.sun_path - 1);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, c->path, strlen(c->path) + 1);
	if (group && (rc = lookup_group(group, &c->gid)) < 0) {
		*err = rc == -ENOENT ? strfmt("control socket group '%s' does not exist", group)
				     : strfmt("cannot look up group '%s': %s", group, strerror(-rc));
		return rc == -ENOENT ? -EINVAL : rc;
	}
	c->have_gid = group != NULL;
	if ((rc = make_parents(c->path, err)) < 0 || (rc = clear_stale(c->path, &sa, err)) < 0)
		return rc;
	if ((c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		*err = strfmt("cannot create a socket: %s", strerror(errno));
		return -errno;
	}
	/* The umask makes the file appear with mode already (no window with
	 * wider bits); chmod then gives exactly mode whatever the umask was. */
	mode_t old = umask(~(mode_t)mode & 0777);
	rc = bind(c->fd, (struct sockaddr *)&sa, sizeof sa);
	umask(old);
	if (rc < 0) {
		rc = -errno;
		*err = errno == EADDRINUSE
			       ? strfmt("control socket %s is in use by another orbitd", c->path)
			       : strfmt("cannot bind control socket %s: %s", c->path, strerror(errno));
		return rc;
	}
	if (stat(c->path, &st) < 0) {
		*err = strfmt("cannot examine control socket %s: %s", c->path, strerror(errno));
		return -errno;
	}
	c->bound = true;
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	if (chmod(c->path, (mode_t)mode & 0777) < 0) {
		*err = strfmt("cannot set the mode of control socket %s: %s", c->path,
			    strerror(errno));
		return -errno;
	}
	if (group && chown(c->path, (uid_t)-1, c->gid) < 0) {
		*err = strfmt("cannot give control socket %s to group %s: %s", c->path, group,
			    strerror(errno));
		return -errno;
	}
	if (listen(c->fd, LISTEN_BACKLOG) < 0) {
		*err = strfmt("cannot listen on control socket %s: %s", c->path, strerror(errno));
		return -errno;
	}
	return 0;
}

/* ---- API -------------------------------------------------------------------- */

struct octl *octl_new(struct event_base *base, const char *path, unsigned mode, const char *group,
		      const struct octl_limits *lim, octl_handler_fn fn, void *ctx, char **err)
{
	char *msg = NULL;
	int rc = -ENOMEM;
	struct octl *c = NULL;

	if (err)
		*err = NULL;
	if (!base || !path || !*path || !fn) {
		msg = strfmt("control socket: invalid arguments");
		rc = -EINVAL;
		goto fail;
	}
	if (!(c = calloc(1, sizeof *c)))
		goto fail;
	c->fd = -1;
	if (!(c->path = strdup(path)))
		goto fail;
	c->base = base;
	c->fn = fn;
	c->ctx = ctx;
	c->refuse_log = (struct ratelimit)RATELIMIT_INIT(OCTL_REFUSE_LOG_S);
	octl_set_limits(c, lim);
	if ((rc = open_socket(c, mode, group, &msg)) < 0)
		goto fail;
	rc = -ENOMEM;
	if (!(c->accept_ev = event_new(base, c->fd, EV_READ | EV_PERSIST, on_accept, c)) ||
	    !(c->accept_resume = evtimer_new(base, on_accept_resume, c)) ||
	    event_add(c->accept_ev, NULL) < 0)
		goto fail;
	return c;
fail:
	if (!msg)
		msg = strfmt("control socket %s: %s", path ? path : "(null)", strerror(-rc));
	octl_free(c);
	if (err)
		*err = msg;
	else
		free(msg);
	errno = -rc;
	return NULL;
}

bool octl_req_privileged(const struct octl_req *r)
{
	return r->privileged;
}

uid_t octl_req_uid(const struct octl_req *r)
{
	return r->uid;
}

pid_t octl_req_pid(const struct octl_req *r)
{
	return r->pid;
}

/* Free r; a client that sent EOF may be done now. */
static void req_end(struct octl_req *r)
{
	struct client *cl = r->cl;
	req_unlink(r);
	json_decref(r->id);
	free(r);
	if (cl && cl->eof && !cl->reqs)
		schedule_check(cl);
}

void octl_reply_ok(struct octl_req *r, json_t *result)
{
	if (!result)
		result = json_object();
	if (r->cl) {
		flush_overflow(r, true);
		if (send_msg(r->cl, json_pack("{s:i,s:O,s:b,s:o}", "v", OCTL_PROTOCOL_VERSION, "id",
					      r->id, "ok", 1, "result", result)) < 0)
			olog(LOG_ERR, "control: pid %ld: cannot build a reply: out of memory",
			     (long)r->cl->pid);
	} else {
		json_decref(result);
	}
	req_end(r);
}

void octl_reply_error(struct octl_req *r, const char *code, const char *fmt, ...)
{
	if (r->cl) {
		va_list ap;
		va_start(ap, fmt);
		char *msg = strvfmt(fmt, ap);
		va_end(ap);
		flush_overflow(r, true);
		if (send_msg(r->cl, msg ? error_msg(r->id, code, msg) : NULL) < 0)
			olog(LOG_ERR, "control: pid %ld: cannot build a reply: out of memory",
			     (long)r->cl->pid);
		free(msg);
	}
	req_end(r);
}

int octl_req_event(struct octl_req *r, json_t *event)
{
	if (!r->cl || r->cl->cut) {
		json_decref(event);
		return -EPIPE;
	}
	if (!event)
		return -ENOMEM;
	if (out_len(r->cl) > soft_cap(r->srv)) {
		/* Its size (plus the envelope's few bytes) counts toward the
		 * client's bound until it takes some output again. */
		r->dropped++;
		r->cl->owed_dropped += json_dumpb(event, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
		json_decref(event);
		enforce_client(r->cl);
		return r->cl->cut ? -EPIPE : 0;
	}
	flush_overflow(r, false);
	return send_msg(r->cl, json_pack("{s:i,s:O,s:o}", "v", OCTL_PROTOCOL_VERSION, "id", r->id,
					 "event", event));
}

void octl_req_on_close(struct octl_req *r, void (*fn)(void *arg), void *arg)
{
	r->on_close = fn;
	r->on_close_arg = arg;
}

void octl_set_limits(struct octl *c, const struct octl_limits *lim)
{
	static const struct octl_limits defaults = {
		.max_request = OCTL_DEFAULT_MAX_REQUEST,
		.max_clients = OCTL_DEFAULT_MAX_CLIENTS,
		.idle_timeout = OCTL_DEFAULT_IDLE_TIMEOUT,
		.client_buffer = OCTL_DEFAULT_CLIENT_BUFFER,
		.total_buffer = OCTL_DEFAULT_TOTAL_BUFFER,
	};
	bool had_idle = c->lim.idle_timeout > 0;
	c->lim = lim ? *lim : defaults;
	if (!c->lim.max_request)
		c->lim.max_request = OCTL_DEFAULT_MAX_REQUEST;
	if (!c->lim.client_buffer)
		c->lim.client_buffer = SIZE_MAX;
	/* Clients that had no idle timer get one; the others find the new
	 * timeout when theirs fires. */
	for (struct client *cl = c->clients; cl && !had_idle && c->lim.idle_timeout > 0;
	     cl = cl->next)
		arm_idle(cl, c->lim.idle_timeout);
}

void octl_stats(const struct octl *c, struct octl_stats *st)
{
	*st = (struct octl_stats){.clients = c->n_clients,
				  .buffered = c->buffered,
				  .refused = c->refused,
				  .idle_closed = c->idle_closed,
				  .cut = c->cut};
}

size_t octl_clients(const struct octl *c)
{
	return c->n_clients;
}

const char *octl_path(const struct octl *c)
{
	return c->path;
}

void octl_free(struct octl *c)
{
	struct stat st;

	if (!c)
		return;
	if (c->accept_ev)
		event_free(c->accept_ev);
	if (c->accept_resume)
		event_free(c->accept_resume);
	if (c->fd >= 0)
		close(c->fd);
	while (c->clients) {
		client_detach_reqs(c->clients);
		client_free(c->clients);
	}
	notify_closes(c);
	while (c->orphans) {
		struct octl_req *r = c->orphans;
		req_unlink(r);
		json_decref(r->id);
		free(r);
	}
	if (c->bound && stat(c->path, &st) == 0 && st.st_dev == c->dev && st.st_ino == c->ino)
		unlink(c->path);
	free(c->path);
	free(c);
}
