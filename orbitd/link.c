/* link.c — see link.h.
 *
 * Output: frames go into an evbuffer; a user-triggered event (no fd) writes
 * it once the callback that sent them has returned — libevent runs events
 * activated during a callback in the same loop iteration — and a write
 * event finishes what the socket did not take at once.
 *
 * Input: read into an evbuffer, cut into frames as soon as one is complete.
 * A header is checked before its body is waited for, so a peer announcing a
 * 4 GB frame is refused without buffering anything of it.
 */
#include "link.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Bytes read per readable event; frames are cut after each read. */
#define READ_CHUNK (256 * 1024)

struct link_hdr {
	uint32_t len;
	uint8_t type, bus, format, flags;
	uint16_t topic_len, mtype_len;
};
_Static_assert(sizeof(struct link_hdr) == LINK_HEADER, "link header layout");

/* When a link of this process last moved a frame (CLOCK_MONOTONIC, s). */
static double last_activity;

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Whether this process may run on more than one CPU, looked at again once
 * a second (affinity can change): polling only pays when the peer runs on
 * another CPU meanwhile; sharing one, the poller takes the CPU the peer
 * needs (measured: an isolated round trip 5x slower pinned to one CPU). */
static bool several_cpus(double now)
{
	static double checked_at = -1;
	static bool several;
	if (checked_at < 0 || now - checked_at > 1.0) {
		cpu_set_t set;
		several = sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 1;
		checked_at = now;
	}
	return several;
}

int link_loop_once(struct event_base *base, double spin)
{
	double now = spin > 0 ? mono_now() : 0;
	if (spin > 0 && now - last_activity < spin && several_cpus(now))
		return event_base_loop(base, EVLOOP_NONBLOCK);
	return event_base_loop(base, EVLOOP_ONCE);
}

int link_dispatch(struct event_base *base)
{
	for (;;) {
		int rc = link_loop_once(base, LINK_SPIN);
		if (rc != 0 || event_base_got_exit(base) || event_base_got_break(base))
			return rc;
	}
}

struct link {
	int fd;
	struct evbuffer *in, *out;
	struct event *rev, *wev, *flush_ev;
	size_t max_out;
	uint64_t dropped;
	link_frame_fn on_frame;
	link_down_fn on_down;
	void *ctx;
	bool down;       /* on_down called: no more reads, writes or callbacks */
	int in_callback; /* depth of our own callbacks on the stack */
	bool doomed;     /* link_free called from a callback: free on the way out */
};

static void go_down(struct link *l, int err, const char *why)
{
	if (l->down)
		return;
	l->down = true;
	event_del(l->rev);
	event_del(l->wev);
	event_del(l->flush_ev);
	l->in_callback++;
	l->on_down(l->ctx, err, why);
	l->in_callback--;
}

/* Write what the socket takes; wait for writability for the rest. */
static void write_out(struct link *l)
{
	while (!l->down && evbuffer_get_length(l->out)) {
		int n = evbuffer_write(l->out, l->fd);
		if (n > 0)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			event_add(l->wev, NULL);
			return;
		}
		if (n < 0 && errno == EINTR)
			continue;
		go_down(l, n < 0 ? errno : EPIPE, NULL);
		return;
	}
	event_del(l->wev);
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct link *l = arg;
	l->in_callback++;
	write_out(l);
	l->in_callback--;
	if (l->doomed && !l->in_callback)
		link_free(l);
}

static void schedule_write(struct link *l)
{
	last_activity = mono_now();
	/* Already waiting for writability: that event writes it all. */
	if (!event_pending(l->wev, EV_WRITE, NULL))
		event_active(l->flush_ev, EV_WRITE, 0);
}

static bool type_known(uint8_t t)
{
	return (t >= LINK_DELIVER && t <= LINK_TAG) || (t >= LINK_SUB && t <= LINK_CALL_DONE);
}

static bool is_message(uint8_t t)
{
	return t == LINK_DELIVER || t == LINK_PUB || t == LINK_SUB || t == LINK_UNSUB;
}

/* Check one header; NULL when it is fine, else what is wrong. */
static const char *header_problem(const struct link_hdr *h, char *buf, size_t len)
{
	if (!type_known(h->type))
		snprintf(buf, len, "unknown frame type %u", h->type);
	else if (h->len > LINK_FRAME_MAX)
		snprintf(buf, len, "frame of %u bytes (limit %u)", h->len, LINK_FRAME_MAX);
	else if (h->topic_len > LINK_TOPIC_MAX)
		snprintf(buf, len, "topic of %u bytes (limit %u)", h->topic_len, LINK_TOPIC_MAX);
	else if (h->mtype_len > LINK_MTYPE_MAX)
		snprintf(buf, len, "message type of %u bytes", h->mtype_len);
	else if ((uint32_t)h->topic_len + h->mtype_len > h->len)
		snprintf(buf, len, "topic and message type longer than the frame");
	else if (!is_message(h->type) && (h->topic_len || h->mtype_len))
		snprintf(buf, len, "control frame type %u with a topic", h->type);
	else if (is_message(h->type) && !h->topic_len)
		snprintf(buf, len, "message frame type %u without a topic", h->type);
	else if (h->format > ORBIT_FMT_JSON)
		snprintf(buf, len, "payload format %u", h->format);
	else
		return NULL;
	return buf;
}

/* Hand one complete frame (header h, body at b) to the callback. */
static int deliver(struct link *l, const struct link_hdr *h, const uint8_t *b)
{
	char topic[LINK_TOPIC_MAX + 1], mtype[LINK_MTYPE_MAX + 1];
	char why[96];
	memcpy(topic, b, h->topic_len);
	topic[h->topic_len] = 0;
	memcpy(mtype, b + h->topic_len, h->mtype_len);
	mtype[h->mtype_len] = 0;
	if (strlen(topic) != h->topic_len || strlen(mtype) != h->mtype_len) {
		go_down(l, EPROTO, "NUL inside a topic or message type");
		return -1;
	}
	size_t off = (size_t)h->topic_len + h->mtype_len;
	struct link_frame f = {
		.type = h->type,
		.bus = h->bus,
		.flags = h->flags,
		.topic = topic,
		.p = {h->len > off ? b + off : NULL, h->len - off, (orbit_format)h->format,
		      h->mtype_len ? mtype : NULL},
	};
	if (is_message(h->type) && f.p.format == ORBIT_FMT_NONE && (f.p.len || h->mtype_len)) {
		snprintf(why, sizeof why, "a payload-less message with %zu bytes", f.p.len);
		go_down(l, EPROTO, why);
		return -1;
	}
	return l->on_frame(l->ctx, &f);
}

/* Cut and deliver every complete frame in the input buffer. */
static void parse(struct link *l)
{
	char why[96];
	while (!l->down && !l->doomed) {
		struct link_hdr h;
		if (evbuffer_copyout(l->in, &h, sizeof h) < (ev_ssize_t)sizeof h)
			return;
		const char *bad = header_problem(&h, why, sizeof why);
		if (bad) {
			go_down(l, EPROTO, bad);
			return;
		}
		size_t total = sizeof h + h.len;
		if (evbuffer_get_length(l->in) < total)
			return;
		const uint8_t *frame = evbuffer_pullup(l->in, (ev_ssize_t)total);
		if (!frame) {
			go_down(l, ENOMEM, NULL);
			return;
		}
		int rc = deliver(l, &h, frame + sizeof h);
		if (l->doomed || l->down)
			return;
		evbuffer_drain(l->in, total);
		if (rc < 0)
			return;
	}
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	struct link *l = arg;
	l->in_callback++;
	int n = evbuffer_read(l->in, fd, READ_CHUNK);
	if (n > 0) {
		last_activity = mono_now();
		parse(l);
	}
	else if (n == 0)
		go_down(l, 0, NULL);
	else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
		go_down(l, errno, NULL);
	l->in_callback--;
	if (l->doomed && !l->in_callback)
		link_free(l);
}

void link_read_pending(struct link *l)
{
	l->in_callback++;
	while (!l->down && !l->doomed) {
		int n = evbuffer_read(l->in, l->fd, READ_CHUNK);
		if (n > 0) {
			parse(l);
			continue;
		}
		if (n == 0)
			go_down(l, 0, NULL);
		else if (errno == EINTR)
			continue;
		else if (errno != EAGAIN && errno != EWOULDBLOCK)
			go_down(l, errno, NULL);
		break;
	}
	l->in_callback--;
	if (l->doomed && !l->in_callback)
		link_free(l);
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	on_flush(-1, what, arg);
}

struct link *link_new(struct event_base *base, int fd, size_t max_out, link_frame_fn on_frame,
		      link_down_fn on_down, void *ctx)
{
	struct link *l = calloc(1, sizeof *l);
	if (!l)
		return NULL;
	l->fd = fd;
	l->max_out = max_out;
	l->on_frame = on_frame;
	l->on_down = on_down;
	l->ctx = ctx;
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || !(l->in = evbuffer_new()) ||
	    !(l->out = evbuffer_new()) ||
	    !(l->rev = event_new(base, fd, EV_READ | EV_PERSIST, on_read, l)) ||
	    !(l->wev = event_new(base, fd, EV_WRITE, on_writable, l)) ||
	    !(l->flush_ev = event_new(base, -1, 0, on_flush, l)) || event_add(l->rev, NULL) < 0) {
		int e = errno ? errno : ENOMEM;
		l->fd = -1; /* the caller keeps fd on failure */
		link_free(l);
		errno = e;
		return NULL;
	}
	return l;
}

static int queue(struct link *l, const struct link_hdr *h, const char *topic, const char *mtype,
		 const void *data, size_t len)
{
	if (evbuffer_add(l->out, h, sizeof *h) < 0 ||
	    (h->topic_len && evbuffer_add(l->out, topic, h->topic_len) < 0) ||
	    (h->mtype_len && evbuffer_add(l->out, mtype, h->mtype_len) < 0) ||
	    (len && evbuffer_add(l->out, data, len) < 0))
		return -ENOMEM; /* a partial frame would desynchronise: see below */
	schedule_write(l);
	return 0;
}

int link_send_msg(struct link *l, uint8_t type, uint8_t bus, unsigned flags, const char *topic,
		  const orbit_payload *p)
{
	if (l->down)
		return -ENOTCONN;
	size_t tlen = strlen(topic);
	size_t mlen = p && p->message_type ? strlen(p->message_type) : 0;
	size_t dlen = p ? p->len : 0;
	if (!tlen || tlen > LINK_TOPIC_MAX || mlen > LINK_MTYPE_MAX ||
	    dlen > LINK_FRAME_MAX - tlen - mlen)
		return -EMSGSIZE;
	size_t total = LINK_HEADER + tlen + mlen + dlen;
	if (evbuffer_get_length(l->out) + total > l->max_out) {
		l->dropped++;
		return -ENOBUFS;
	}
	struct link_hdr h = {
		.len = (uint32_t)(tlen + mlen + dlen),
		.type = type,
		.bus = bus,
		.format = (uint8_t)(p ? p->format : ORBIT_FMT_NONE),
		.flags = (uint8_t)flags,
		.topic_len = (uint16_t)tlen,
		.mtype_len = (uint16_t)mlen,
	};
	/* evbuffer_add only fails when it cannot grow; reserving the whole
	 * frame first keeps a frame from being half queued. */
	if (evbuffer_expand(l->out, total) < 0)
		return -ENOMEM;
	return queue(l, &h, topic, p ? p->message_type : NULL, p ? p->data : NULL, dlen);
}

int link_send_data(struct link *l, uint8_t type, const void *data, size_t len)
{
	if (l->down)
		return -ENOTCONN;
	if (len > LINK_FRAME_MAX)
		return -EMSGSIZE;
	struct link_hdr h = {.len = (uint32_t)len, .type = type};
	if (evbuffer_expand(l->out, LINK_HEADER + len) < 0)
		return -ENOMEM;
	return queue(l, &h, NULL, NULL, data, len);
}

int link_send_close(struct link *l, const char *remote, const char *operation, bool graceful)
{
	size_t r = strlen(remote), o = strlen(operation);
	if (!r || !o || r > LINK_CLOSE_ID_MAX || o > LINK_CLOSE_ID_MAX)
		return -EINVAL;
	char body[1 + LINK_CLOSE_ID_MAX + 1 + LINK_CLOSE_ID_MAX];
	body[0] = graceful;
	memcpy(body + 1, remote, r + 1);
	memcpy(body + 2 + r, operation, o);
	return link_send_data(l, LINK_CLOSE, body, 2 + r + o);
}

int link_parse_close(const orbit_payload *body, char *remote, char *operation, bool *graceful)
{
	const char *b = (const char *)body->data;
	if (body->len < 4 || body->len > 2 + 2 * LINK_CLOSE_ID_MAX || b[0] > 1)
		return -EPROTO;
	const char *nul = memchr(b + 1, 0, body->len - 1);
	if (!nul)
		return -EPROTO;
	size_t r = (size_t)(nul - (b + 1)), o = body->len - 2 - r;
	if (!r || !o || r > LINK_CLOSE_ID_MAX || o > LINK_CLOSE_ID_MAX || memchr(nul + 1, 0, o))
		return -EPROTO;
	memcpy(remote, b + 1, r + 1);
	memcpy(operation, nul + 1, o);
	operation[o] = 0;
	*graceful = b[0];
	return 0;
}

int link_flush_blocking(struct link *l, double timeout)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!l->down && evbuffer_get_length(l->out)) {
		int n = evbuffer_write(l->out, l->fd);
		if (n > 0 || (n < 0 && errno == EINTR))
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		struct timespec t1;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		double left = timeout - ((double)(t1.tv_sec - t0.tv_sec) +
					 (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd pfd = {l->fd, POLLOUT, 0};
		poll(&pfd, 1, (int)(left * 1000) + 1);
	}
	return evbuffer_get_length(l->out) ? -EPIPE : 0;
}

uint64_t link_dropped(const struct link *l)
{
	return l->dropped;
}

size_t link_queued(const struct link *l)
{
	return evbuffer_get_length(l->out);
}

void link_free(struct link *l)
{
	if (!l)
		return;
	if (l->in_callback) {
		/* Our caller is one of this link's callbacks: stop everything
		 * now, free once they have returned. */
		l->doomed = true;
		l->down = true;
		event_del(l->rev);
		event_del(l->wev);
		event_del(l->flush_ev);
		return;
	}
	if (l->rev)
		event_free(l->rev);
	if (l->wev)
		event_free(l->wev);
	if (l->flush_ev)
		event_free(l->flush_ev);
	if (l->in)
		evbuffer_free(l->in);
	if (l->out)
		evbuffer_free(l->out);
	if (l->fd >= 0)
		close(l->fd);
	free(l);
}
