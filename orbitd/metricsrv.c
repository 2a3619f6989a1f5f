/* metricsrv.c — see metricsrv.h.
 *
 * evhttp in libevent 2.1 has no bound on connections and reports neither
 * oversize requests nor timeouts to its user, so this file keeps its own
 * record of each connection: evhttp asks us for each accepted connection's
 * bufferevent (evhttp_set_bevcb), which counts it; once evhttp has built its
 * connection around it (the same loop iteration, before any byte can be
 * read: the `adopt` event) we find that connection through the
 * bufferevent's callback argument and hook its close. Bytes in and out are
 * watched with evbuffer callbacks, which only count and mark; closing is
 * always done from our own events, never inside evhttp's callbacks.
 */
#include "metricsrv.h"
#include "log.h"
#include "strfmt.h"

#include <orbit/orbiter.h>

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct mconn {
	struct mconn *next;
	struct msrv *s;
	struct bufferevent *bev;          /* evhttp's once adopted */
	struct evhttp_connection *evcon;  /* NULL until adopted */
	struct evbuffer_cb_entry *in_cb, *out_cb;
	size_t received;                  /* bytes since the last request answered */
	double active;                    /* orbit_now() of the last byte in or out */
	uint64_t served;                  /* requests answered */
	bool close;                       /* close at the next adopt event */
};

struct msrv {
	struct event_base *base;
	struct evhttp *http;
	char *path;
	char *where;                      /* "HOST:PORT" for messages */
	struct msrv_limits lim;
	struct mconn *conns;
	struct event *adopt;              /* activated: adopt new, close marked */
	struct event *tick;               /* every second: timeouts */
	msrv_render_fn render;
	void *ctx;
	struct msrv_stats st;
};

static void peer(const struct mconn *c, char *buf, size_t n)
{
	char *addr = NULL;
	ev_uint16_t port = 0;
	if (c->evcon)
		evhttp_connection_get_peer(c->evcon, &addr, &port);
	snprintf(buf, n, "%s:%u", addr ? addr : "?", (unsigned)port);
}

static void unlink_conn(struct mconn *c)
{
	for (struct mconn **pp = &c->s->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	c->s->st.connections--;
	evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->in_cb);
	evbuffer_remove_cb_entry(bufferevent_get_output(c->bev), c->out_cb);
	free(c);
}

/* evhttp frees the connection (the bufferevent still lives). */
static void on_close(struct evhttp_connection *evcon, void *arg)
{
	(void)evcon;
	unlink_conn(arg);
}

static void mark_close(struct mconn *c)
{
	c->close = true;
	event_active(c->s->adopt, EV_TIMEOUT, 1);
}

static void on_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	(void)buf;
	struct mconn *c = arg;
	struct msrv *s = c->s;
	if (!info->n_added)
		return;
	c->received += info->n_added;
	c->active = orbit_now();
	if (c->received > s->lim.max_request && !c->close) {
		char who[80];
		peer(c, who, sizeof who);
		s->st.oversize++;
		olog(LOG_WARNING, "metrics %s: request from %s larger than max_request (%zu bytes): "
		     "connection closed", s->where, who, s->lim.max_request);
		mark_close(c);
	}
}

static void on_output(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	(void)buf;
	(void)info;
	((struct mconn *)arg)->active = orbit_now();
}

/* evhttp accepted a connection and wants its bufferevent. */
static struct bufferevent *on_accept(struct event_base *base, void *arg)
{
	struct msrv *s = arg;
	struct bufferevent *bev = bufferevent_socket_new(base, -1, 0);
	struct mconn *c = bev ? calloc(1, sizeof *c) : NULL;
	if (!c)
		return bev; /* out of memory: served, not tracked */
	c->s = s;
	c->bev = bev;
	c->active = orbit_now();
	c->in_cb = evbuffer_add_cb(bufferevent_get_input(bev), on_input, c);
	c->out_cb = evbuffer_add_cb(bufferevent_get_output(bev), on_output, c);
	if (!c->in_cb || !c->out_cb) {
		if (c->in_cb)
			evbuffer_remove_cb_entry(bufferevent_get_input(bev), c->in_cb);
		free(c);
		return bev;
	}
	/* Ours until adopted: if evhttp drops it before, it is not freed
	 * under us. */
	bufferevent_incref(bev);
	c->next = s->conns;
	s->conns = c;
	s->st.connections++;
	event_active(s->adopt, EV_TIMEOUT, 1);
	return bev;
}

static void on_adopt(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct msrv *s = arg;
	struct mconn *next;

	for (struct mconn *c = s->conns; c; c = next) {
		next = c->next;
		if (!c->evcon) {
			void *evcon = NULL;
			struct bufferevent *bev = c->bev;
			bufferevent_getcb(bev, NULL, NULL, NULL, &evcon);
			if (!evcon) { /* evhttp gave up on it already */
				unlink_conn(c);
				bufferevent_decref(bev);
				continue;
			}
			c->evcon = evcon;
			evhttp_connection_set_closecb(c->evcon, on_close, c);
			bufferevent_decref(bev);
			if (s->st.connections > s->lim.max_connections) {
				char who[80];
				peer(c, who, sizeof who);
				s->st.refused++;
				olog(LOG_WARNING, "metrics %s: connection from %s refused: "
				     "max_connections (%zu) reached", s->where, who,
				     s->lim.max_connections);
				c->close = true;
			}
		}
		if (c->close)
			evhttp_connection_free(c->evcon); /* on_close frees c */
	}
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct msrv *s = arg;
	double now = orbit_now();

	for (struct mconn *c = s->conns; c; c = c->next) {
		if (!c->evcon || c->close || now - c->active < s->lim.timeout)
			continue;
		char who[80];
		peer(c, who, sizeof who);
		if (c->received || evbuffer_get_length(bufferevent_get_output(c->bev))) {
			s->st.timed_out++;
			olog(LOG_WARNING, "metrics %s: %s stalled %s for %gs (timeout): connection "
			     "closed", s->where, who, c->received ? "mid-request" : "reading its answer",
			     s->lim.timeout);
		} else if (!c->served) {
			s->st.timed_out++;
			olog(LOG_NOTICE, "metrics %s: %s sent no request for %gs (timeout): "
			     "connection closed", s->where, who, s->lim.timeout);
		} else {
			olog(LOG_DEBUG, "metrics %s: keep-alive connection from %s idle for %gs: closed",
			     s->where, who, s->lim.timeout);
		}
		mark_close(c);
	}
}

static struct mconn *conn_of(struct msrv *s, struct evhttp_connection *evcon)
{
	for (struct mconn *c = s->conns; c; c = c->next)
		if (c->evcon == evcon)
			return c;
	return NULL;
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct msrv *s = arg;
	struct mconn *c = conn_of(s, evhttp_request_get_connection(req));
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;

	if (c) {
		c->received = 0;
		c->served++;
	}
	if (!path || strcmp(path, s->path) != 0) {
		evhttp_send_error(req, HTTP_NOTFOUND, NULL);
		return;
	}
	struct evbuffer *body = evbuffer_new();
	if (!body) {
		evhttp_send_error(req, HTTP_SERVUNAVAIL, NULL);
		return;
	}
	enum prom_format f = prom_negotiate(
		evhttp_find_header(evhttp_request_get_input_headers(req), "Accept"));
	struct prom p;
	s->st.scrapes++;
	prom_init(&p, body, f);
	s->render(s->ctx, &p);
	prom_end(&p);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  prom_content_type(f));
	evhttp_send_reply(req, HTTP_OK, "OK", body);
	evbuffer_free(body);
}

static void apply_limits(struct msrv *s, const struct msrv_limits *lim)
{
	s->lim = *lim;
	evhttp_set_max_headers_size(s->http, (ev_ssize_t)lim->max_request);
	evhttp_set_max_body_size(s->http, (ev_ssize_t)lim->max_request);
	/* A backstop only: on_tick closes (and says why) first. */
	struct timeval tv = {(time_t)(2 * lim->timeout) + 1, 0};
	evhttp_set_timeout_tv(s->http, &tv);
}

struct msrv *msrv_new(struct event_base *base, const char *host, int port, const char *path,
		      const struct msrv_limits *lim, msrv_render_fn render, void *ctx, char **err)
{
	struct msrv *s = calloc(1, sizeof *s);
	struct timeval second = {1, 0};
	*err = NULL;
	if (!s)
		goto nomem;
	s->base = base;
	s->render = render;
	s->ctx = ctx;
	s->where = strfmt(strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
	if (!s->where || !(s->path = strdup(path)) || !(s->http = evhttp_new(base)) ||
	    !(s->adopt = event_new(base, -1, 0, on_adopt, s)) ||
	    !(s->tick = event_new(base, -1, EV_PERSIST, on_tick, s)) ||
	    event_add(s->tick, &second) < 0)
		goto nomem;
	apply_limits(s, lim);
	evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET);
	evhttp_set_bevcb(s->http, on_accept, s);
	evhttp_set_gencb(s->http, on_request, s);
	errno = 0;
	if (!evhttp_bind_socket_with_handle(s->http, host, (ev_uint16_t)port)) {
		/* Name resolution failures leave errno alone. */
		int e = errno;
		*err = strfmt("metrics: cannot listen on %s: %s", s->where,
			      e ? strerror(e) : "no such address");
		msrv_free(s);
		return NULL;
	}
	olog(LOG_INFO, "metrics: serving http://%s%s", s->where, s->path);
	return s;
nomem:
	msrv_free(s);
	*err = strfmt("metrics: out of memory");
	return NULL;
}

int msrv_reconfigure(struct msrv *s, const char *path, const struct msrv_limits *lim)
{
	char *p = strdup(path);
	if (!p)
		return -ENOMEM;
	free(s->path);
	s->path = p;
	apply_limits(s, lim);
	return 0;
}

void msrv_stats(const struct msrv *s, struct msrv_stats *st)
{
	*st = s->st;
}

void msrv_free(struct msrv *s)
{
	if (!s)
		return;
	/* Closes every connection: on_close unlinks the adopted ones. */
	if (s->http)
		evhttp_free(s->http);
	while (s->conns) {
		struct bufferevent *bev = s->conns->bev;
		unlink_conn(s->conns);
		bufferevent_decref(bev);
	}
	if (s->adopt)
		event_free(s->adopt);
	if (s->tick)
		event_free(s->tick);
	free(s->path);
	free(s->where);
	free(s);
}
