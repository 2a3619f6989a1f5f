/* mqtt_peer.c — a scripted raw MQTT peer for integration tests: libmosquitto
 * driven by mosquitto_loop on the caller's thread, every received PUBLISH
 * copied and kept with its arrival time. */
#include "mqtt_peer.h"

#include <errno.h>
#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CONNECT_TIMEOUT 10.0
#define SUBACK_TIMEOUT 10.0
#define FLUSH_TIMEOUT 10.0
#define STEP_MS 20

struct mqtt_peer {
	struct mosquitto *m;
	char *id;
	bool connack, refused;
	int suback_mid; /* the SUBSCRIBE waited for, or -1 */
	bool suback_ok, suback_seen;
	struct mqtt_peer_msg **msgs;
	size_t n, cap;
	void (*tick)(void *ctx, struct mqtt_peer *p);
	void *tick_ctx;
	bool in_tick;
	bool lost_logged;
	bool verbose; /* TEST_VERBOSE: echo what arrives */
};

double mqtt_peer_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_connect(struct mosquitto *m, void *obj, int rc)
{
	(void)m;
	struct mqtt_peer *p = obj;
	if (rc == 0)
		p->connack = true;
	else
		p->refused = true;
}

static void on_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *granted)
{
	(void)m;
	struct mqtt_peer *p = obj;
	if (mid != p->suback_mid)
		return;
	p->suback_seen = true;
	p->suback_ok = n == 1 && granted[0] == 0;
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *in)
{
	(void)m;
	struct mqtt_peer *p = obj;
	struct mqtt_peer_msg *msg = calloc(1, sizeof(*msg));
	if (!msg)
		abort();
	msg->topic = strdup(in->topic);
	msg->len = in->payloadlen > 0 ? (size_t)in->payloadlen : 0;
	msg->payload = malloc(msg->len + 1);
	if (!msg->topic || !msg->payload)
		abort();
	if (msg->len)
		memcpy(msg->payload, in->payload, msg->len);
	msg->payload[msg->len] = 0;
	msg->qos = in->qos;
	msg->retain = in->retain;
	msg->at = mqtt_peer_now();
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct mqtt_peer_msg **v = realloc(p->msgs, cap * sizeof(*v));
		if (!v)
			abort();
		p->msgs = v;
		p->cap = cap;
	}
	p->msgs[p->n++] = msg;
	if (p->verbose)
		fprintf(stderr, "[%s] %s %.*s\n", p->id, msg->topic, (int)msg->len,
			(const char *)msg->payload);
}

/* One network iteration without the tick. */
static int step(struct mqtt_peer *p, int ms)
{
	int rc = mosquitto_loop(p->m, ms, 1);
	if (rc != MOSQ_ERR_SUCCESS && !p->lost_logged) {
		fprintf(stderr, "mqtt_peer %s: loop: %s\n", p->id, mosquitto_strerror(rc));
		p->lost_logged = true;
	}
	return rc;
}

struct mqtt_peer *mqtt_peer_new(const char *client_id, int port)
{
	mosquitto_lib_init();
	struct mqtt_peer *p = calloc(1, sizeof(*p));
	if (!p || !(p->id = strdup(client_id))) {
		free(p);
		mosquitto_lib_cleanup();
		errno = ENOMEM;
		return NULL;
	}
	p->suback_mid = -1;
	p->verbose = getenv("TEST_VERBOSE") != NULL;
	if (!(p->m = mosquitto_new(client_id, true, p))) {
		fprintf(stderr, "mqtt_peer %s: mosquitto_new failed\n", client_id);
		goto fail;
	}
	mosquitto_int_option(p->m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
	mosquitto_connect_callback_set(p->m, on_connect);
	mosquitto_subscribe_callback_set(p->m, on_subscribe);
	mosquitto_message_callback_set(p->m, on_message);
	int rc = mosquitto_connect(p->m, "127.0.0.1", port, 60);
	if (rc != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "mqtt_peer %s: connect to port %d: %s\n", client_id, port,
			mosquitto_strerror(rc));
		goto fail;
	}
	double end = mqtt_peer_now() + CONNECT_TIMEOUT;
	while (!p->connack && !p->refused && mqtt_peer_now() < end)
		if (step(p, STEP_MS) != MOSQ_ERR_SUCCESS)
			break;
	if (!p->connack) {
		fprintf(stderr, "mqtt_peer %s: no CONNACK%s\n", client_id,
			p->refused ? " (refused)" : "");
		goto fail;
	}
	return p;
fail:
	mqtt_peer_free(p);
	errno = ECONNREFUSED;
	return NULL;
}

void mqtt_peer_free(struct mqtt_peer *p)
{
	if (!p)
		return;
	if (p->m) {
		/* Not threaded: the DISCONNECT is written at once. */
		if (p->connack)
			mosquitto_disconnect(p->m);
		mosquitto_destroy(p->m);
	}
	for (size_t i = 0; i < p->n; i++) {
		free(p->msgs[i]->topic);
		free(p->msgs[i]->payload);
		free(p->msgs[i]);
	}
	free(p->msgs);
	free(p->id);
	free(p);
	mosquitto_lib_cleanup();
}

void mqtt_peer_set_tick(struct mqtt_peer *p, void (*fn)(void *ctx, struct mqtt_peer *p),
			void *ctx)
{
	p->tick = fn;
	p->tick_ctx = ctx;
}

int mqtt_peer_subscribe(struct mqtt_peer *p, const char *topic)
{
	int mid = 0;
	int rc = mosquitto_subscribe(p->m, &mid, topic, 0);
	if (rc != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "mqtt_peer %s: subscribe '%s': %s\n", p->id, topic,
			mosquitto_strerror(rc));
		return -EIO;
	}
	p->suback_mid = mid;
	p->suback_seen = p->suback_ok = false;
	double end = mqtt_peer_now() + SUBACK_TIMEOUT;
	while (!p->suback_seen && mqtt_peer_now() < end)
		if (step(p, STEP_MS) != MOSQ_ERR_SUCCESS)
			break;
	p->suback_mid = -1;
	if (!p->suback_seen || !p->suback_ok) {
		fprintf(stderr, "mqtt_peer %s: subscribe '%s': %s\n", p->id, topic,
			p->suback_seen ? "refused by the broker" : "no SUBACK");
		return p->suback_seen ? -EPERM : -ETIMEDOUT;
	}
	return 0;
}

int mqtt_peer_publish(struct mqtt_peer *p, const char *topic, const void *data, size_t len)
{
	int rc = mosquitto_publish(p->m, NULL, topic, (int)len, data, 0, false);
	if (rc != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "mqtt_peer %s: publish on '%s': %s\n", p->id, topic,
			mosquitto_strerror(rc));
		return -EIO;
	}
	double end = mqtt_peer_now() + FLUSH_TIMEOUT;
	while (mosquitto_want_write(p->m) && mqtt_peer_now() < end)
		if (step(p, STEP_MS) != MOSQ_ERR_SUCCESS)
			return -EIO;
	if (mosquitto_want_write(p->m)) {
		fprintf(stderr, "mqtt_peer %s: publish on '%s' not flushed\n", p->id, topic);
		return -ETIMEDOUT;
	}
	return 0;
}

void mqtt_peer_pump(struct mqtt_peer *p, double max_s)
{
	int ms = (int)(max_s * 1000);
	if (ms > STEP_MS)
		ms = STEP_MS;
	if (ms < 0)
		ms = 0;
	step(p, ms);
	if (p->tick && !p->in_tick) {
		p->in_tick = true;
		p->tick(p->tick_ctx, p);
		p->in_tick = false;
	}
}

bool mqtt_peer_run_until(struct mqtt_peer *p, bool (*pred)(void *), void *arg, double timeout_s)
{
	double end = mqtt_peer_now() + timeout_s;
	for (;;) {
		if (pred(arg))
			return true;
		double left = end - mqtt_peer_now();
		if (left <= 0)
			return pred(arg);
		mqtt_peer_pump(p, left);
	}
}

static struct mqtt_peer_msg *find(struct mqtt_peer *p, const char *topic, double after)
{
	for (size_t i = 0; i < p->n; i++) {
		struct mqtt_peer_msg *m = p->msgs[i];
		if (!m->taken && m->at >= after && (!topic || strcmp(m->topic, topic) == 0))
			return m;
	}
	return NULL;
}

const struct mqtt_peer_msg *mqtt_peer_next(struct mqtt_peer *p, const char *topic, double after,
					   double timeout_s)
{
	double end = mqtt_peer_now() + timeout_s;
	for (;;) {
		struct mqtt_peer_msg *m = find(p, topic, after);
		if (m) {
			m->taken = true;
			return m;
		}
		double left = end - mqtt_peer_now();
		if (left <= 0)
			return NULL;
		mqtt_peer_pump(p, left);
	}
}

size_t mqtt_peer_count(const struct mqtt_peer *p)
{
	return p->n;
}

const struct mqtt_peer_msg *mqtt_peer_msg_at(const struct mqtt_peer *p, size_t i)
{
	return i < p->n ? p->msgs[i] : NULL;
}
