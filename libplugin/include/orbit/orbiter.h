/* orbit/orbiter.h — what cores and plugins share: timers, connections,
 * pending requests, keepalive, close procedures, lifecycle events
 * (SPEC §4–§5, DESIGN §3).
 *
 * Threading: every function here must be called on the thread running the
 * bus's event_base; callbacks run there too.
 * Ownership: info structs passed to callbacks are borrowed for the call only.
 */
#ifndef ORBIT_ORBITER_H
#define ORBIT_ORBITER_H

#include "bus.h"
#include "spec.h"
#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct orbit_orbiter orbit_orbiter;

/* Timers in seconds; a negative value means "never". */
typedef struct orbit_timers {
	double loop_interval;                    /* housekeeping period (1); negative: no
						    periodic tick, the application calls
						    orbit_orbiter_tick; 0 is invalid */
	double pending_requests_expire_after;    /* 60 */
	double consider_others_dead_after;       /* 120: announced to remotes */
	double send_keepalive_before_timelimit;  /* 10 */
	double graceful_close_timeout;           /* 300 */
	double close_connection_if_unused_after; /* never */
	double discovering_interval;             /* core: 2; also the fastest rate */
	double discovering_max_interval;         /* core: 30; slowest rate while compliant */
} orbit_timers;

/* Pending handshakes (an Offer made, a Request sent) one orbiter keeps at
 * once, whatever the number of remotes; beyond it a Discover or Offer is
 * not answered (counted, logged at a rate-limited level) until older ones
 * complete or expire (pending_requests_expire_after). One per remote and
 * operation already bounds each remote. Process-wide, default 65536
 * (a core with 10,000 plugins has one Request pending per plugin at its
 * start; about 200 bytes each, so the default holds about 13 MB).
 * 0 or -EINVAL (0). */
int orbit_set_max_pending(size_t n);

/* Graceless closes one orbiter keeps queued to send again. A Graceless of
 * ours (not those at stop) goes twice more, in the next housekeeping pass
 * and two passes later, unless a handshake or connection for the same
 * (remote, operation) exists again by then: a close lost on a QoS-0 bus
 * must not leave the remote's side open for good. Beyond n a close goes
 * once (counted, logged). Process-wide, default 4096; 0 turns
 * retransmission off. Returns 0. */
int orbit_set_close_resend_max(size_t n);

/* A core's Request unanswered for interval seconds is sent again (the
 * same message), and after sends sends without an answer it is dropped,
 * so a Request or Confirm lost, or a plugin gone, stops counting toward
 * the requirement's maximum well before pending_requests_expire_after.
 * Process-wide, default 5 s and 3 sends (given up 15 s after the first).
 * 0, or -EINVAL (interval <= 0 or NaN, sends 0). */
int orbit_set_request_retry(double interval, unsigned sends);

/* A remote's announced considered_dead_after paces our keepalives to it;
 * a value outside [min, max] seconds is clamped into it (and logged once
 * per remote and value), so a peer announcing 1e9 still gets a keepalive
 * at least every max - send_keepalive_before_timelimit. A value <= 0 (or
 * NaN) stays "unknown": no keepalives paced by it. Process-wide (not a
 * member of orbit_timers, whose layout programs built against older
 * headers rely on), default [1, 3600]; takes effect for what is announced
 * from then on. 0, or -EINVAL (min <= 0, max < min, NaN). */
int orbit_set_accepted_dead_after(double min, double max);

/* Fill *t with the defaults above (SPEC §5.1). */
void orbit_timers_default(orbit_timers *t);

/* A connection as seen by one side. */
typedef struct orbit_conn_info {
	const char *remote_id;
	const char *operation;
	const char *input_topic;           /* plugin's input topic */
	const char *output_topic;          /* NULL when the operation has no output */
	const char *close_to_remote_topic; /* where our close messages go */
	const char *incoming_close_topic;  /* where the remote's close messages arrive */
	const orbit_spec *input, *output;  /* the plugin's offered specs */
	double created, last_use;          /* seconds on the orbiter's clock (orbit_orbiter_now) */
	bool soft_closed;                  /* graceful close sent, ack awaited */
} orbit_conn_info;

typedef struct orbit_pending_info {
	const char *remote_id;
	const char *operation;
	double created;
} orbit_pending_info;

typedef enum orbit_event_kind {
	ORBIT_EV_CONNECTED,    /* conn set */
	ORBIT_EV_DISCONNECTED, /* conn set; graceful tells how it ended */
	ORBIT_EV_COMPLIANCE,   /* compliant set (core only) */
	ORBIT_EV_REMOTE_DEAD,  /* remote_id set; its connections are closed next */
} orbit_event_kind;

typedef struct orbit_event {
	orbit_event_kind kind;
	const orbit_conn_info *conn;
	const char *remote_id;
	bool compliant;
	bool graceful;
} orbit_event;

typedef void (*orbit_event_cb)(void *ctx, orbit_orbiter *o, const orbit_event *ev);

/* Monotonic clock in seconds (CLOCK_MONOTONIC): every orbiter's clock
 * unless orbit_orbiter_set_clock gives it another. */
double orbit_now(void);

/* A source of time: seconds from any fixed origin, never decreasing. */
typedef double (*orbit_clock_fn)(void *ctx);

/* Make the orbiter read time through fn(ctx) instead of orbit_now(): every
 * stamp it takes (connection creation and last use, pending requests, a
 * remote's last sign of life, keepalives sent, graceful closes, discoveries)
 * and every timeout it judges. NULL fn restores orbit_now(). For simulations
 * and deterministic tests (with loop_interval < 0 and orbit_orbiter_tick,
 * time moves only when the caller says), or an application's own time base.
 * fn runs on the loop thread; ctx is borrowed and must stay valid while the
 * clock is set. Only while stopped, since stamps taken on one clock mean
 * nothing on another. Returns 0, -EINVAL (o NULL), -EBUSY (running). */
int orbit_orbiter_set_clock(orbit_orbiter *o, orbit_clock_fn fn, void *ctx);

/* The orbiter's current time: the base of the times in orbit_conn_info,
 * orbit_pending_info and orbit_remote_times. */
double orbit_orbiter_now(const orbit_orbiter *o);

/* Run the periodic housekeeping now, at the orbiter's current time (SPEC
 * §5.1): expire pending requests, turn timed-out graceful closes graceless,
 * close unused connections, send due keepalives, declare silent remotes dead
 * and close their connections, then the role's work (core: compliance and
 * discovery; plugin: forgetting cores the orbiter forgot). It is what the
 * libevent timer runs every loop_interval; with loop_interval < 0 the
 * application's own scheduler calls it. Messages go out on the bus as usual
 * (on the in-process bus, orbit_local_bus_flush delivers them at once).
 * Returns 0, -EINVAL (o NULL), -ENOTCONN (not started), -EBUSY (called from
 * a callback of this orbiter's housekeeping). */
int orbit_orbiter_tick(orbit_orbiter *o);

/* The orbiter's identifier (owned by it). */
const char *orbit_orbiter_id(const orbit_orbiter *o);

/* Set the lifecycle callback (one per orbiter; NULL removes it). */
void orbit_orbiter_set_event_cb(orbit_orbiter *o, orbit_event_cb cb, void *ctx);

/* Visit every connection / pending request; return non-zero from fn to stop. */
void orbit_orbiter_foreach_connection(orbit_orbiter *o,
				      int (*fn)(void *ctx, const orbit_conn_info *c), void *ctx);
void orbit_orbiter_foreach_pending(orbit_orbiter *o,
				   int (*fn)(void *ctx, const orbit_pending_info *p), void *ctx);
size_t orbit_orbiter_connection_count(const orbit_orbiter *o);
size_t orbit_orbiter_pending_count(const orbit_orbiter *o);

/* Close the connection (remote, operation): graceful (ack awaited, graceless
 * on timeout; sent once) or graceless (our side removed at once). data is
 * optional bytes for the remote's hook. Returns 0 or -ENOENT. */
int orbit_orbiter_close(orbit_orbiter *o, const char *remote_id, const char *operation,
			bool graceful, const orbit_bytes *data);

/* Close every connection; returns how many closes were started. */
size_t orbit_orbiter_close_all(orbit_orbiter *o, bool graceful);

/* Drop everything with one remote at once, as if it had been declared
 * dead: its connections closed gracelessly (the close is still sent, for a
 * remote that happens to live) and its pending requests forgotten. For a
 * host that knows a peer is gone (orbitd, when a plugin process dies).
 * Returns how many connections were closed. */
size_t orbit_orbiter_close_remote(orbit_orbiter *o, const char *remote_id);

/* Publish on b, on topic (a connection's close_to_remote_topic), the
 * GracelessCloseConnectionMessage orbiter `from` would send to close its
 * connection for operation: for a host that speaks for an orbiter that
 * cannot any more (orbitd, when a plugin process died, to the remote cores
 * it served). Published after everything published on b before it
 * (ORBIT_PUB_AFTER_SUBACK). 0 or -errno. */
int orbit_send_graceless_close(orbit_bus *b, const char *topic, const char *from,
			       const char *operation);

/* Ask a known remote for a keepalive now. Returns 0, -ENOENT (unknown remote). */
int orbit_orbiter_request_keepalive(orbit_orbiter *o, const char *remote_id);

/* Keepalive bookkeeping of one remote, in orbit_orbiter_now() seconds; a negative
 * value means "none" (never sent, or the timer is off). */
typedef struct orbit_remote_times {
	double last_seen;     /* their last sign of life */
	double dead_at;       /* when we declare them dead unless they speak */
	double their_deadline; /* when they would declare us dead: our last
				  keepalive + their considered_dead_after */
} orbit_remote_times;

/* Fill *t for a known remote. 0 or -ENOENT. */
int orbit_orbiter_remote_times(const orbit_orbiter *o, const char *remote_id,
			       orbit_remote_times *t);

/* True when the remote's last sign of life is older than our
 * consider_others_dead_after (false for unknown remotes). */
bool orbit_orbiter_remote_dead(const orbit_orbiter *o, const char *remote_id);

#ifdef __cplusplus
}
#endif

#endif
