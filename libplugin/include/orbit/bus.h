/* orbit/bus.h — the transport seen by orbiters: exact-topic publish/subscribe.
 *
 * A bus delivers asynchronously on its libevent loop thread. A subscription is
 * identified by (topic, ctx): one handler per ctx and topic, re-subscribing
 * replaces the handler. Handlers receive borrowed topic and payload valid only
 * during the call. Unsubscribing (or subscribing) from inside a handler is
 * allowed; a message already queued is not delivered to a subscription removed
 * before its delivery.
 *
 * Ownership: publish copies what it needs; the caller keeps its buffers.
 * A bus is owned by whoever created it and must outlive every orbiter on it.
 */
#ifndef ORBIT_BUS_H
#define ORBIT_BUS_H

#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

struct event_base;
typedef struct orbit_bus orbit_bus;

typedef void (*orbit_bus_handler)(void *ctx, const char *topic, const orbit_payload *p);

/* Publish flags. */
enum {
	/* Hold this publish until every subscribe issued before it is
	 * acknowledged by the transport (MQTT SUBACK, SPEC §1.1), keeping order
	 * with later publishes. The in-process bus is always in that state. */
	ORBIT_PUB_AFTER_SUBACK = 1u << 0,
};

/* Transport implementation table. Functions return 0 or -errno. */
typedef struct orbit_bus_ops {
	const char *name; /* "local", "mqtt" */
	int (*subscribe)(orbit_bus *b, const char *topic, orbit_bus_handler h, void *ctx);
	int (*unsubscribe)(orbit_bus *b, const char *topic, void *ctx);
	int (*publish)(orbit_bus *b, const char *topic, const orbit_payload *p, unsigned flags);
	void (*destroy)(orbit_bus *b);
} orbit_bus_ops;

/* Base of every bus; implementations embed it first. */
struct orbit_bus {
	const orbit_bus_ops *ops;
	struct event_base *base;
};

/* Subscribe ctx's handler h to topic (copied). Returns 0, -EINVAL, -ENOMEM. */
int orbit_bus_subscribe(orbit_bus *b, const char *topic, orbit_bus_handler h, void *ctx);

/* Remove ctx's subscription to topic. Returns 0 or -ENOENT. */
int orbit_bus_unsubscribe(orbit_bus *b, const char *topic, void *ctx);

/* Publish p on topic to every subscriber. Returns 0, -EINVAL, -ENOMEM, -ENOTCONN. */
int orbit_bus_publish(orbit_bus *b, const char *topic, const orbit_payload *p, unsigned flags);

/* Destroy the bus; every subscription and queued message is dropped. NULL-safe. */
void orbit_bus_free(orbit_bus *b);

/* Name of the transport ("local", "mqtt"). */
const char *orbit_bus_name(const orbit_bus *b);

/* Create the in-process bus on base (not owned). NULL + errno on failure. */
orbit_bus *orbit_local_bus_new(struct event_base *base);

/* Deliver what the in-process bus has queued now, on the caller's stack,
 * instead of at the next loop iteration: for a C application that executes
 * and wants the answer before going on (execute → handler → output → sink in
 * one call, no epoll_wait). Runs up to max_rounds generations (messages
 * published by the handlers are a new generation). Loop thread only, not
 * from inside a delivery. Returns how many messages were delivered, or
 * -EINVAL (not an in-process bus), -EBUSY (called from a handler). */
int orbit_local_bus_flush(orbit_bus *b, int max_rounds);

/* Whether anyone in this process listens on topic of an in-process bus
 * (false for other transports). */
bool orbit_local_bus_has_subscribers(orbit_bus *b, const char *topic);

/* A bus over two: an in-process one and a remote one (MQTT), both borrowed
 * and outliving it. Subscriptions go to both. A publish goes to the local
 * bus when someone in-process listens on the topic, otherwise to the remote
 * one — so each connection's traffic stays on the bus it was made on, since
 * every topic after the handshake names a peer or a fresh UUID — and to both
 * for broadcast_topic (the discover topic; copied). NULL + errno. */
orbit_bus *orbit_dual_bus_new(orbit_bus *local, orbit_bus *remote, const char *broadcast_topic);

#ifdef __cplusplus
}
#endif

#endif
