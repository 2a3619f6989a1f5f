/* orbit/mqtt_bus.h — the MQTT transport: an orbit_bus over one libmosquitto
 * connection driven by the caller's libevent loop (SPEC §1.1, §1.2).
 *
 * Wire behaviour: MQTT 3.1.1, clean session, QoS 0, retain false, one exact
 * topic per SUBSCRIBE (never wildcards). Every payload travels in busline's
 * JSON envelope; undecodable incoming messages are logged (rate-limited) and
 * dropped, never fatal.
 *
 * Ordering: a publish flagged ORBIT_PUB_AFTER_SUBACK waits while any SUBSCRIBE
 * of this bus is unacknowledged; publishes after a held one queue behind it,
 * so the bus never reorders what one caller published.
 *
 * Connection: the broker may be absent at start or go away later; the bus
 * reconnects with exponential backoff (reconnect_min doubling up to
 * reconnect_max) and resubscribes every topic that has local subscribers.
 * Publishes made while not connected are queued (bounded by max_queued
 * messages and max_queued_bytes of encoded envelopes) and sent, in order,
 * once the resubscriptions are acknowledged; beyond the bound publish returns
 * -ENOTCONN. Anything libmosquitto had accepted but not yet written when the
 * connection dropped is lost (QoS 0: at most once).
 *
 * Name resolution: each connection attempt resolves host with getaddrinfo on
 * the loop thread (libmosquitto has no asynchronous resolver). Numeric
 * addresses and names in /etc/hosts (localhost) resolve without blocking; a
 * name that needs DNS may stall the loop for up to the resolver timeout on
 * every attempt, so configure an address or a local caching resolver.
 *
 * Threads: everything, callbacks included, runs on base's loop thread. The bus
 * must not be freed from inside one of its own handlers or on_state.
 */
#ifndef ORBIT_MQTT_BUS_H
#define ORBIT_MQTT_BUS_H

#include "bus.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Connection settings. Strings are copied by orbit_mqtt_bus_new; zero/NULL
 * fields take the documented default. */
typedef struct orbit_mqtt_options {
	const char *host;        /* default "localhost" */
	int port;                /* default 1883 (8883 is not implied by TLS) */
	const char *client_id;   /* NULL: a random UUID4 */
	const char *username;    /* NULL: no authentication */
	const char *password;    /* used only with username */
	const char *tls_ca;      /* CA file (PEM); setting it turns TLS on */
	const char *tls_cert;    /* client certificate and its key: both or */
	const char *tls_key;     /* neither, and only together with tls_ca */
	int keepalive;           /* seconds, >= 5; default 60 (Python's) */
	double reconnect_min;    /* seconds before the first retry; default 1 */
	double reconnect_max;    /* backoff ceiling, <= 86400 s; default 30 */
	size_t max_queued;       /* messages held while offline; default 4096 */
	size_t max_queued_bytes; /* their encoded size; default 16 MiB */
	const char *publisher_id; /* envelope publisher_identifier; NULL: client id */
	/* Called on the loop thread when the session becomes usable (CONNACK
	 * accepted, resubscriptions sent) and when it is lost. May subscribe
	 * and publish. NULL: not called. */
	void (*on_state)(void *ctx, bool connected);
	void *ctx; /* borrowed; passed to on_state */
} orbit_mqtt_options;

/* Monotonic counters since creation, plus the current queue length. */
typedef struct orbit_mqtt_counters {
	uint64_t published;         /* envelopes handed to the MQTT session */
	uint64_t received;          /* PUBLISH packets received from the broker */
	uint64_t dropped_malformed; /* received but not a decodable envelope */
	uint64_t connects;          /* sessions established (CONNACK accepted) */
	size_t queued;              /* publishes held now (offline or behind SUBACK) */
} orbit_mqtt_counters;

/* Create an MQTT bus on base (not owned) and start connecting at once; the
 * call never waits for the broker. opt is only read during the call.
 * Free with orbit_bus_free, which disconnects cleanly and drops whatever is
 * still queued. Besides bus.h's codes, publish returns -EMSGSIZE for an
 * envelope larger than MQTT allows and -ENOBUFS when the queue is full while
 * connected (SUBACKs pending for long).
 * Returns NULL + errno: EINVAL (bad option, e.g. keepalive < 5, reconnect_min >
 * reconnect_max, tls_cert without tls_key, an unreadable TLS file), ENOMEM,
 * or EIO when libmosquitto cannot be initialised. */
orbit_bus *orbit_mqtt_bus_new(struct event_base *base, const orbit_mqtt_options *opt);

/* True while an MQTT session is established (CONNACK accepted, not lost);
 * false for NULL or a bus of another transport. */
bool orbit_mqtt_bus_connected(const orbit_bus *b);

/* Copy the bus's counters into *out (all zero for NULL or another transport). */
void orbit_mqtt_bus_counters(const orbit_bus *b, orbit_mqtt_counters *out);

#ifdef __cplusplus
}
#endif

#endif
