/* metricsrv.h — the HTTP side of the metrics endpoint: libevent's evhttp
 * on one TCP address, serving GET PATH with whatever the render callback
 * writes, in the format the scraper's Accept header asks for (promtext.h).
 *
 * It runs on the daemon's loop and never waits there. Everything a client
 * can hold is bounded, each bound with a counter and a log line when hit:
 * connections at once (more are closed as they come), bytes of one request
 * (line, headers and body: the connection is closed), and time (a client
 * stalled mid-request or never sending one is closed after `timeout`; an
 * idle keep-alive connection is closed then too, quietly).
 *
 * Ownership: the server owns its evhttp, its connections and copies of
 * host and path; render and ctx are borrowed and must outlive it.
 */
#ifndef ORBITD_METRICSRV_H
#define ORBITD_METRICSRV_H

#include "promtext.h"

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct msrv;

struct msrv_limits {
	size_t max_connections; /* at once, >= 1 */
	size_t max_request;     /* bytes of one request */
	double timeout;         /* seconds, > 0 */
};

/* Counters since msrv_new. */
struct msrv_stats {
	size_t connections;   /* open now */
	uint64_t scrapes;     /* requests answered with metrics */
	uint64_t refused;     /* connections closed for max_connections */
	uint64_t oversize;    /* requests closed for max_request */
	uint64_t timed_out;   /* clients closed for timeout mid-request or silent */
};

/* Write the metrics (families, not prom_end) into p. */
typedef void (*msrv_render_fn)(void *ctx, struct prom *p);

/* Listen on host:port (a numeric address or a name, resolved now) on base
 * and serve path. Returns the server, or NULL with *err a malloc'd message
 * naming the address ("metrics: cannot listen on 127.0.0.1:9464: Address
 * already in use"; NULL if even that allocation failed). */
struct msrv *msrv_new(struct event_base *base, const char *host, int port, const char *path,
		      const struct msrv_limits *lim, msrv_render_fn render, void *ctx,
		      char **err);

/* A reload's limits and path for the running server (copied); connections
 * above a lowered max_connections stay. 0 or -ENOMEM (old path kept). */
int msrv_reconfigure(struct msrv *s, const char *path, const struct msrv_limits *lim);

void msrv_stats(const struct msrv *s, struct msrv_stats *st);

/* Close every connection and the listener. NULL-safe. */
void msrv_free(struct msrv *s);

#endif
