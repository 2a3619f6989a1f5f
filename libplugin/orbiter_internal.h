/* orbiter_internal.h — the state both roles share (internal to libplugin).
 *
 * The orbiter owns: its strings, every remote, connection and pending record
 * (in the maps below, values freed by the orbiter), and its tick event.
 * Roles (core.c, lender.c) embed struct orbit_orbiter first and plug in
 * through struct role_ops.
 */
#ifndef ORBIT_ORBITER_INTERNAL_H
#define ORBIT_ORBITER_INTERNAL_H

#include "orbit/orbiter.h"
#include "orbit/protocol.h"
#include "stats_internal.h"
#include "wire.h"
#include "strmap.h"

#include <stddef.h>
#include <stdint.h>

struct conn;
struct pending;

/* Records in the orbiter's maps embed their map entry (node) and keep their
 * fixed strings in the same allocation, after the struct. */

/* What we know about another orbiter. */
struct remote {
	strmap_entry node;             /* in remotes, keyed by id */
	const char *id;
	const char *keepalive_topic;   /* theirs, from their Discover/Offer; */
	const char *keepalive_request_topic; /* both in topics (malloc'd) */
	char *topics;
	double dead_after;             /* how long they wait before declaring us dead */
	bool has_deadline;
	double last_seen;
	double last_keepalive_sent;    /* < 0: never */
	size_t n_conns;
	size_t n_pending;
};

/* Connections and pending requests of one operation. */
struct opslot {
	strmap_entry node;            /* in slots, keyed by operation */
	struct conn *conns;
	struct pending *pendings;
	size_t n_conns;
	size_t n_pending;
	struct orb_op_stats stats;    /* owned; freed with the slot (orb_slot_free) */
};

/* One input or output spec shared by every connection that has it: most
 * connections of an operation carry the same schemas, and a private copy
 * (strings plus their canonical forms) would be the bulk of a connection's
 * memory. Refcounted; owned by the orbiter's specs list. */
struct spec_ref {
	struct spec_ref *prev, *next; /* in the orbiter's specs list */
	uint64_t hash;
	size_t refs;
	orbit_spec spec;
};

static inline struct spec_ref *spec_ref_of(const orbit_spec *s)
{
	return (struct spec_ref *)((char *)s - offsetof(struct spec_ref, spec));
}

/* A shared reference to s (copied on first use; NULL on ENOMEM), and its
 * release. */
struct spec_ref *orb_spec_intern(struct orbit_orbiter *o, const orbit_spec *s);
void orb_spec_release(struct orbit_orbiter *o, struct spec_ref *r);

struct conn {
	strmap_entry node;            /* in conns, keyed by key */
	/* What the API shows of the connection, and the canonical copy of it:
	 * remote_id and the topics point into this allocation, input/output
	 * into shared specs (spec_ref_of gives the reference). */
	orbit_conn_info info;
	struct orbit_orbiter *o;
	struct opslot *slot;
	struct conn *prev, *next;     /* in slot->conns */
	/* The key, "remote\x1foperation", starts right after the struct (conn_key);
	 * info.operation is its tail. */
	const char *data_topic;       /* topic we subscribed for payloads (plugin: input,
				       * core: output); usually aliases one of those */
	char *ack_topic;              /* malloc'd; set while a graceful close of ours awaits its ack */
	double soft_closed_at;
	struct orb_traffic traffic;   /* folded into slot->stats.gone when it goes */
	struct orb_last_error last;   /* owned */
};

static inline const char *conn_key(const struct conn *c)
{
	return (const char *)(c + 1);
}

struct pending {
	strmap_entry node;            /* in pendings, keyed by key */
	struct opslot *slot;
	struct pending *prev, *next;  /* in slot->pendings */
	const char *key;              /* as struct conn's */
	const char *remote_id, *operation;
	struct spec_ref *input, *output;
	char *output_topic, *close_topic; /* malloc'd; core side: what the Request carried */
	char *reply_topic;            /* malloc'd; core side: where the Request went (its retries) */
	double created;
	double last_sent;             /* core side: when the Request last went */
	unsigned sends;               /* core side: how often it went */
};

/* A Graceless close of ours to send again (orb_send_graceless): the encoded
 * message and its topic follow the struct in one allocation. */
struct resend {
	struct resend *next;
	uint64_t due;                 /* the housekeeping pass (o->passes) to send it in */
	unsigned left;                /* copies still to send */
	const char *key;              /* the (remote, operation) pair it closed */
	const char *remote_id, *operation;
	const char *topic;
	orbit_payload p;
};

struct orbit_orbiter;

struct role_ops {
	const char *name; /* "core", "plugin": the snapshot's role */
	/* Periodic work after the shared housekeeping. */
	void (*tick)(struct orbit_orbiter *o, double now);
	/* A connection left the table (already unsubscribed, not yet freed). */
	void (*conn_removed)(struct orbit_orbiter *o, struct conn *c);
};

struct orbit_orbiter {
	const struct role_ops *role;
	orbit_bus *bus;
	char *id, *discover_topic, *keepalive_topic, *keepalive_request_topic;
	orbit_timers t;
	strmap remotes;  /* id -> struct remote */
	strmap conns;    /* key -> struct conn */
	strmap pendings; /* key -> struct pending */
	strmap slots;    /* operation -> struct opslot */
	struct spec_ref *specs; /* shared by connections, see orb_spec_intern */
	struct event *tick_ev;   /* NULL when loop_interval < 0 (ticks are the caller's) */
	struct event *keepalive_ev; /* made on first need: a keepalive due between ticks */
	orbit_event_cb ev_cb;
	void *ev_ctx;
	/* An injected clock (orbit_orbiter_set_clock), NULL for orbit_now(). */
	orbit_clock_fn clock;
	void *clock_ctx;
	bool running;
	bool ticking;    /* inside housekeeping: a nested orbit_orbiter_tick is refused */
	uint64_t pending_refused; /* handshakes not started at orbit_set_max_pending */
	uint64_t passes;         /* housekeeping passes so far: the retransmits' clock */
	struct resend *resends;  /* closes to send again, see orb_send_graceless */
	size_t n_resends;
	uint64_t resends_refused; /* closes not queued at orbit_set_close_resend_max */
	struct orb_msg_stats msgs;
	orbit_observer_fn observer; /* orbit_orbiter_set_observer; NULL: none */
	void *observer_ctx;
};

/* orbit_now's clock at the kernel tick's resolution (a few ms), several
 * times cheaper: for stamps taken per message (last_use) and compared with
 * second-scale timers only. */
double orb_sys_coarse(void);

/* Every read of "now" by the engine goes through one of these two, so an
 * injected clock sees all of them. The default costs one well-predicted
 * branch over the system clock read (no indirect call): they are inline
 * because orb_now_coarse is on the path of every message. */
static inline double orb_now(const struct orbit_orbiter *o)
{
	return __builtin_expect(o->clock != NULL, 0) ? o->clock(o->clock_ctx) : orbit_now();
}

/* The per-message stamp; an injected clock has no coarse variant. */
static inline double orb_now_coarse(const struct orbit_orbiter *o)
{
	return __builtin_expect(o->clock != NULL, 0) ? o->clock(o->clock_ctx) : orb_sys_coarse();
}

int orb_init(struct orbit_orbiter *o, const struct role_ops *role, orbit_bus *bus, const char *id,
	     const orbit_timers *t, const char *discover_topic);
void orb_destroy(struct orbit_orbiter *o);
/* Subscribe keepalive topics and start the tick. */
int orb_start(struct orbit_orbiter *o);
/* Graceless-close everything, drop pendings, unsubscribe keepalive topics, stop the tick. */
void orb_stop(struct orbit_orbiter *o);

/* "topic" formatting: malloc'd "a.b.c..." from NULL-terminated parts. */
char *orb_topic(const char *first, ...) __attribute__((sentinel));
/* A per-connection topic we choose, "op.a.b.kind.<token>" (malloc'd): the
 * random tail (128 bits from getrandom, orbit_random_token) makes it
 * unguessable to anyone who was not told it, so nobody else can publish a
 * forged close or output on it (DESIGN §3 Security). NULL on ENOMEM. */
char *orb_conn_topic(const char *op, const char *a, const char *b, const char *kind);
bool orb_id_valid(const char *id);

/* Encode and publish a protocol message. Returns 0 or -errno (logged). */
int orb_send(struct orbit_orbiter *o, const char *topic, const orbit_msg *m, unsigned flags);
/* Decode p as one of the kinds in mask (bit per orbit_msg_kind); logs and
 * returns < 0 on anything else. */
int orb_decode(struct orbit_orbiter *o, const char *topic, const orbit_payload *p, unsigned mask,
	       orbit_msg *m);

struct remote *orb_remote(struct orbit_orbiter *o, const char *id);
/* Record or refresh what a Discover/Offer told us about a remote; marks it seen. */
struct remote *orb_remote_learn(struct orbit_orbiter *o, const char *id, const char *ka_topic,
				const char *ka_req_topic, double dead_after);
void orb_seen(struct orbit_orbiter *o, const char *id);

struct opslot *orb_slot(struct orbit_orbiter *o, const char *operation);
struct conn *orb_conn_find(struct orbit_orbiter *o, const char *remote, const char *op);
struct pending *orb_pending_find(struct orbit_orbiter *o, const char *remote, const char *op);

/* Create a pending request (replacing an existing one); specs interned. */
struct pending *orb_pending_add(struct orbit_orbiter *o, const char *remote, const char *op,
				const orbit_spec *in, const orbit_spec *out);
void orb_pending_remove(struct orbit_orbiter *o, struct pending *p);

/* Promote into a connection; strings copied, in/out gain a reference (pass a
 * pending's). Subscribes the incoming close topic. data_topic (may be NULL) is
 * subscribed with handler h and ctx = the new connection. Returns NULL on
 * failure (nothing left subscribed). */
struct conn *orb_conn_add(struct orbit_orbiter *o, const char *remote, const char *op,
			  struct spec_ref *in, struct spec_ref *out, const char *input_topic,
			  const char *output_topic, const char *close_to_remote,
			  const char *incoming_close, const char *data_topic, orbit_bus_handler h);
/* Remove our side (SPEC §5.7) and free; fires DISCONNECTED. */
void orb_conn_remove(struct orbit_orbiter *o, struct conn *c, bool graceful);
/* Initiate a close of c (SPEC §5.5/§5.6). */
void orb_conn_close(struct orbit_orbiter *o, struct conn *c, bool graceful, const orbit_bytes *data);
/* Publish a Graceless close of (remote, op) on topic. With resend, the same
 * message goes again in later housekeeping passes (a lost QoS-0 close would
 * leave the remote's side open for good), unless a handshake or connection
 * for the pair exists again by then; never while stopping. */
void orb_send_graceless(struct orbit_orbiter *o, const char *topic, const char *remote,
			const char *op, const orbit_bytes *data, bool resend);

void orb_emit(struct orbit_orbiter *o, const orbit_event *ev);

/* ---- stats and observer (stats.c, observer.c) ---- */

/* Count an error (or a drop) on connection c, or on the operation of slot
 * s alone when c is NULL, with text (static or the caller's; copied only
 * when it differs from the last one) as the last error. */
void orb_stats_error(struct orbit_orbiter *o, struct opslot *s, struct conn *c, bool dropped,
		     const char *text);
/* Fold a departing connection's traffic into its operation's. */
void orb_stats_conn_gone(struct conn *c);
/* Free what a slot's or a connection's stats own. */
void orb_slot_free(struct opslot *s);
void orb_last_error_clear(struct orb_last_error *e);

/* Tell the observer (set: the caller checked o->observer) about a message
 * sent (rc: the publish's result) or received (error as in orbit_observed;
 * m decoded or NULL). */
void orb_observe(struct orbit_orbiter *o, orbit_direction dir, const char *topic,
		 const orbit_payload *p, const orbit_msg *m, int error);

#endif
