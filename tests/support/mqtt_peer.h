/* mqtt_peer.h — test harness: a scripted raw MQTT peer.
 *
 * A plain libmosquitto client (MQTT 3.1.1, clean session, no libplugin) that
 * plays a remote orbiter byte by byte: it subscribes exact topics and waits
 * for the SUBACK, publishes exactly the bytes it is given (QoS 0, retain
 * false, like busline), and records every PUBLISH it receives with its
 * arrival time, for the test to wait on and inspect afterwards.
 *
 * The peer has no thread: its network loop runs only inside its own calls,
 * on the calling thread, one bounded iteration (≤ 20 ms) at a time. After
 * each iteration the tick callback, if set, runs; a test scripts periodic
 * behaviour there (keepalives, repeated Discovers) while it waits for
 * something else. The tick may publish, subscribe and inspect messages,
 * but must not wait (no mqtt_peer_next / mqtt_peer_run_until from a tick).
 *
 * Received messages are owned by the peer and stay valid until
 * mqtt_peer_free. With TEST_VERBOSE set in the environment every received
 * message is also echoed to stderr as "[client_id] topic payload".
 * Functions returning int return 0 or -errno and print the reason to stderr
 * on failure.
 */
#ifndef ORBIT_TEST_MQTT_PEER_H
#define ORBIT_TEST_MQTT_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mqtt_peer;

/* One PUBLISH as received. */
struct mqtt_peer_msg {
	char *topic;
	uint8_t *payload; /* a NUL is appended after len bytes (not counted) */
	size_t len;
	int qos;
	bool retain;
	double at;  /* arrival, mqtt_peer_now() clock */
	bool taken; /* already returned by mqtt_peer_next */
};

/* Seconds on CLOCK_MONOTONIC. */
double mqtt_peer_now(void);

/* Connect to 127.0.0.1:port as client_id and wait (≤ 10 s) for the CONNACK.
 * NULL with errno set on failure. */
struct mqtt_peer *mqtt_peer_new(const char *client_id, int port);

/* Disconnect and free, with every recorded message. NULL-safe. */
void mqtt_peer_free(struct mqtt_peer *p);

/* Called after every loop iteration; fn NULL removes it. ctx is borrowed. */
void mqtt_peer_set_tick(struct mqtt_peer *p, void (*fn)(void *ctx, struct mqtt_peer *p),
			void *ctx);

/* Subscribe one exact topic at QoS 0; returns once the SUBACK granted it
 * (≤ 10 s). */
int mqtt_peer_subscribe(struct mqtt_peer *p, const char *topic);

/* Publish len bytes on topic, QoS 0, retain false; returns once the packet
 * has been written to the socket. */
int mqtt_peer_publish(struct mqtt_peer *p, const char *topic, const void *data, size_t len);

/* One loop iteration of at most max_s seconds (and at most 20 ms), then the
 * tick; to run for a while, use mqtt_peer_run_until. */
void mqtt_peer_pump(struct mqtt_peer *p, double max_s);

/* Run the loop until pred(arg) holds (checked before the first iteration and
 * after each one) or timeout_s passed; returns the last value of pred. */
bool mqtt_peer_run_until(struct mqtt_peer *p, bool (*pred)(void *), void *arg, double timeout_s);

/* The oldest message not yet taken whose topic is topic (any topic if NULL)
 * and which arrived at or after `after` (mqtt_peer_now clock; 0 for any),
 * waiting up to timeout_s for it; marks it taken. NULL on timeout. Messages
 * skipped because they are older than `after` stay untaken. */
const struct mqtt_peer_msg *mqtt_peer_next(struct mqtt_peer *p, const char *topic, double after,
					   double timeout_s);

/* Everything received so far, in arrival order (taken or not). */
size_t mqtt_peer_count(const struct mqtt_peer *p);
const struct mqtt_peer_msg *mqtt_peer_msg_at(const struct mqtt_peer *p, size_t i);

#endif
