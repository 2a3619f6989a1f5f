/* test_mqtt_bus.c — the MQTT bus against a real mosquitto (tests/support
 * harness): exchange between two clients, envelope round trip, SUBACK
 * ordering, unsubscribe, malformed input, offline queue, broker absent at
 * start and broker restart. Every wait is on an event with a deadline. */
#include "broker.h"
#include "evwait.h"
#include "orbit/bus.h"
#include "envelope.h"
#include "orbit/mqtt_bus.h"

#include <check.h>
#include <errno.h>
#include <event2/event.h>
#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WAIT_S 10.0
#define REC_MAX 32

static struct event_base *base;
static struct test_broker broker;

/* ---- fixtures and helpers ----------------------------------------------- */

static void setup(void)
{
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	ck_assert_int_eq(test_broker_start(&broker), 0);
}

static void teardown(void)
{
	test_broker_stop(&broker);
	event_base_free(base);
	base = NULL;
}

struct states {
	int ups, downs;
};

static void on_state(void *ctx, bool connected)
{
	struct states *s = ctx;
	if (connected)
		s->ups++;
	else
		s->downs++;
}

static orbit_bus *bus_new_opt(const char *id, struct states *st, size_t max_queued,
			      size_t max_queued_bytes)
{
	orbit_mqtt_options o = {
		.host = "127.0.0.1",
		.port = broker.port,
		.client_id = id,
		.publisher_id = id,
		.reconnect_min = 0.05,
		.reconnect_max = 0.4,
		.max_queued = max_queued,
		.max_queued_bytes = max_queued_bytes,
		.on_state = st ? on_state : NULL,
		.ctx = st,
	};
	orbit_bus *b = orbit_mqtt_bus_new(base, &o);
	ck_assert_msg(b != NULL, "orbit_mqtt_bus_new: %s", strerror(errno));
	return b;
}

static orbit_bus *bus_new(const char *id, struct states *st)
{
	return bus_new_opt(id, st, 0, 0);
}

static orbit_mqtt_counters counters(const orbit_bus *b)
{
	orbit_mqtt_counters c;
	orbit_mqtt_bus_counters(b, &c);
	return c;
}

static bool pred_connected(void *arg)
{
	return orbit_mqtt_bus_connected(arg);
}

static void wait_connected(orbit_bus *b)
{
	ck_assert_msg(test_run_until(base, pred_connected, b, WAIT_S), "bus never connected");
}

struct at_least {
	const size_t *n;
	size_t want;
};

static bool pred_at_least(void *arg)
{
	const struct at_least *a = arg;
	return *a->n >= a->want;
}

static bool wait_count(const size_t *n, size_t want)
{
	struct at_least a = {n, want};
	return test_run_until(base, pred_at_least, &a, WAIT_S);
}

/* Everything one subscriber received, copied. */
struct msg {
	char topic[96];
	orbit_format format;
	bool has_type;
	char type[64];
	size_t len;
	uint8_t data[512];
};

struct rec {
	size_t n;
	struct msg m[REC_MAX];
	/* When set, every message is answered on reply_topic from inside the
	 * handler (a publish made within a libmosquitto callback). */
	orbit_bus *reply_bus;
	const char *reply_topic;
};

static orbit_payload utf8(const char *s)
{
	return (orbit_payload){
		.data = (const uint8_t *)s,
		.len = strlen(s),
		.format = ORBIT_FMT_UTF8,
		.message_type = "StringMessage",
	};
}

static void rec_handler(void *ctx, const char *topic, const orbit_payload *p)
{
	struct rec *r = ctx;
	ck_assert_uint_lt(r->n, REC_MAX);
	struct msg *m = &r->m[r->n];
	ck_assert_uint_le(p->len, sizeof(m->data));
	snprintf(m->topic, sizeof(m->topic), "%s", topic);
	m->format = p->format;
	m->has_type = p->message_type != NULL;
	snprintf(m->type, sizeof(m->type), "%s", p->message_type ? p->message_type : "");
	m->len = p->len;
	if (p->len)
		memcpy(m->data, p->data, p->len);
	r->n++;
	if (r->reply_bus)
		ck_assert_int_eq(orbit_bus_publish(r->reply_bus, r->reply_topic, p, 0), 0);
}

static void assert_utf8(const struct msg *m, const char *topic, const char *text)
{
	ck_assert_str_eq(m->topic, topic);
	ck_assert_int_eq(m->format, ORBIT_FMT_UTF8);
	ck_assert_str_eq(m->type, "StringMessage");
	ck_assert_uint_eq(m->len, strlen(text));
	ck_assert_mem_eq(m->data, text, m->len);
}

/* Return once every SUBSCRIBE b has issued so far is acknowledged: a publish
 * flagged AFTER_SUBACK on a fresh topic of its own only leaves after all of
 * them, and comes back to b itself. */
static void settle(orbit_bus *b, const char *name)
{
	char topic[96];
	struct rec r = {0};
	orbit_payload none = {0};
	snprintf(topic, sizeof(topic), "orbit.test.settle.%s", name);
	ck_assert_int_eq(orbit_bus_subscribe(b, topic, rec_handler, &r), 0);
	ck_assert_int_eq(orbit_bus_publish(b, topic, &none, ORBIT_PUB_AFTER_SUBACK), 0);
	ck_assert_msg(wait_count(&r.n, 1), "settle %s: own message never came back", name);
	ck_assert_int_eq(orbit_bus_unsubscribe(b, topic, &r), 0);
}

/* A plain libmosquitto client, to put arbitrary bytes on the wire. */
static struct mosquitto *raw_connect(void)
{
	struct mosquitto *m = mosquitto_new("orbit-test-raw", true, NULL);
	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(mosquitto_connect(m, "127.0.0.1", broker.port, 60), MOSQ_ERR_SUCCESS);
	return m;
}

static void raw_publish(struct mosquitto *m, const char *topic, const void *data, size_t len)
{
	ck_assert_int_eq(mosquitto_publish(m, NULL, topic, (int)len, data, 0, false),
			 MOSQ_ERR_SUCCESS);
}

static void raw_close(struct mosquitto *m)
{
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		/* the CONNACK and anything unsent are handled here */
		int rc = mosquitto_loop(m, 10, 1);
		ck_assert_int_eq(rc, MOSQ_ERR_SUCCESS);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (mosquitto_want_write(m) && t.tv_sec - t0.tv_sec < WAIT_S);
	ck_assert(!mosquitto_want_write(m));
	ck_assert_int_eq(mosquitto_disconnect(m), MOSQ_ERR_SUCCESS);
	mosquitto_destroy(m);
}

/* ---- tests -------------------------------------------------------------- */

START_TEST(two_buses_exchange)
{
	orbit_bus *a = bus_new("orbit-test-a", NULL);
	orbit_bus *b = bus_new("orbit-test-b", NULL);
	struct rec ra = {0}, rb1 = {0}, rb2 = {0}, echo = {0};
	ck_assert_str_eq(orbit_bus_name(a), "mqtt");
	wait_connected(a);
	wait_connected(b);

	ck_assert_int_eq(orbit_bus_subscribe(a, "orbit.test.to-a", rec_handler, &ra), 0);
	ck_assert_int_eq(orbit_bus_subscribe(b, "orbit.test.to-b", rec_handler, &rb1), 0);
	ck_assert_int_eq(orbit_bus_subscribe(b, "orbit.test.to-b", rec_handler, &rb2), 0);
	/* b answers on to-a from inside its handler */
	echo.reply_bus = b;
	echo.reply_topic = "orbit.test.to-a";
	ck_assert_int_eq(orbit_bus_subscribe(b, "orbit.test.echo", rec_handler, &echo), 0);
	settle(a, "a");
	settle(b, "b");

	orbit_payload p1 = utf8("hello from a");
	orbit_payload p2 = utf8("hello from b");
	orbit_payload p3 = utf8("echo me");
	ck_assert_int_eq(orbit_bus_publish(a, "orbit.test.to-b", &p1, 0), 0);
	ck_assert_int_eq(orbit_bus_publish(b, "orbit.test.to-a", &p2, 0), 0);
	ck_assert(wait_count(&rb1.n, 1));
	ck_assert(wait_count(&rb2.n, 1));
	ck_assert(wait_count(&ra.n, 1));
	assert_utf8(&rb1.m[0], "orbit.test.to-b", "hello from a");
	assert_utf8(&rb2.m[0], "orbit.test.to-b", "hello from a");
	assert_utf8(&ra.m[0], "orbit.test.to-a", "hello from b");

	ck_assert_int_eq(orbit_bus_publish(a, "orbit.test.echo", &p3, 0), 0);
	ck_assert(wait_count(&ra.n, 2));
	assert_utf8(&ra.m[1], "orbit.test.to-a", "echo me");

	/* exact topics only: nothing else arrived */
	ck_assert_uint_eq(rb1.n, 1);
	ck_assert_uint_eq(echo.n, 1);
	orbit_mqtt_counters ca = counters(a);
	ck_assert_uint_ge(ca.published, 2);
	ck_assert_uint_eq(ca.dropped_malformed, 0);
	ck_assert_uint_eq(ca.connects, 1);
	ck_assert_uint_eq(ca.queued, 0);

	orbit_bus_free(a);
	orbit_bus_free(b);
}
END_TEST

START_TEST(payload_formats_round_trip)
{
	static const uint8_t avro[] = {0x00, 0x0e, 'p', 'l', 'u', 'g', 0xff, 0x80, 0x00};
	static const uint8_t i64[] = {0, 0, 0, 0, 0, 0, 0, 42};
	static const char text[] = "h\xc3\xa9llo \xe2\x98\x83 \"quoted\" \\ \n";
	static const char json[] = "{\"value\": 1}";
	const orbit_payload sent[] = {
		{.format = ORBIT_FMT_NONE},
		{.data = avro, .len = sizeof(avro), .format = ORBIT_FMT_AVRO,
		 .message_type = "KeepaliveMessage"},
		{.data = (const uint8_t *)text, .len = strlen(text), .format = ORBIT_FMT_UTF8,
		 .message_type = "StringMessage"},
		{.data = i64, .len = sizeof(i64), .format = ORBIT_FMT_BYTES,
		 .message_type = "Int64Message"},
		{.data = (const uint8_t *)json, .len = strlen(json), .format = ORBIT_FMT_JSON,
		 .message_type = "StringMessage"},
		{.data = NULL, .len = 0, .format = ORBIT_FMT_AVRO, .message_type = "EmptyRecord"},
	};
	const size_t n = sizeof(sent) / sizeof(sent[0]);
	orbit_bus *a = bus_new("orbit-test-a", NULL);
	orbit_bus *b = bus_new("orbit-test-b", NULL);
	struct rec r = {0};
	wait_connected(a);
	ck_assert_int_eq(orbit_bus_subscribe(b, "orbit.test.formats", rec_handler, &r), 0);
	wait_connected(b);
	settle(b, "b");
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(orbit_bus_publish(a, "orbit.test.formats", &sent[i], 0), 0);
	ck_assert(wait_count(&r.n, n));
	for (size_t i = 0; i < n; i++) {
		ck_assert_int_eq(r.m[i].format, sent[i].format);
		ck_assert_uint_eq(r.m[i].len, sent[i].len);
		if (sent[i].len)
			ck_assert_mem_eq(r.m[i].data, sent[i].data, sent[i].len);
		ck_assert_int_eq(r.m[i].has_type, sent[i].message_type != NULL);
		if (sent[i].message_type)
			ck_assert_str_eq(r.m[i].type, sent[i].message_type);
	}
	orbit_bus_free(a);
	orbit_bus_free(b);
}
END_TEST

START_TEST(after_suback_holds_and_keeps_order)
{
	orbit_bus *a = bus_new("orbit-test-a", NULL);
	orbit_bus *b = bus_new("orbit-test-b", NULL);
	struct rec rb = {0}, ra = {0};
	orbit_payload p0 = utf8("p0"), p1 = utf8("p1"), p2 = utf8("p2"), p3 = utf8("p3");
	wait_connected(a);
	wait_connected(b);
	ck_assert_int_eq(orbit_bus_subscribe(b, "orbit.test.ordered", rec_handler, &rb), 0);
	settle(b, "b");

	/* With a SUBSCRIBE outstanding, an unflagged publish is not held... */
	ck_assert_int_eq(orbit_bus_subscribe(a, "orbit.test.reply1", rec_handler, &ra), 0);
	uint64_t before = counters(a).published;
	ck_assert_int_eq(orbit_bus_publish(a, "orbit.test.ordered", &p0, 0), 0);
	ck_assert_uint_eq(counters(a).published, before + 1);
	ck_assert_uint_eq(counters(a).queued, 0);

	/* ...a flagged one is, and so is everything published behind it. */
	ck_assert_int_eq(orbit_bus_subscribe(a, "orbit.test.reply2", rec_handler, &ra), 0);
	ck_assert_int_eq(orbit_bus_publish(a, "orbit.test.ordered", &p1, ORBIT_PUB_AFTER_SUBACK), 0);
	ck_assert_int_eq(orbit_bus_publish(a, "orbit.test.ordered", &p2, 0), 0);
	ck_assert_int_eq(orbit_bus_publish(a, "orbit.test.ordered", &p3, ORBIT_PUB_AFTER_SUBACK), 0);
	orbit_mqtt_counters c = counters(a);
	ck_assert_uint_eq(c.published, before + 1);
	ck_assert_uint_eq(c.queued, 3);

	ck_assert(wait_count(&rb.n, 4));
	assert_utf8(&rb.m[0], "orbit.test.ordered", "p0");
	assert_utf8(&rb.m[1], "orbit.test.ordered", "p1");
	assert_utf8(&rb.m[2], "orbit.test.ordered", "p2");
	assert_utf8(&rb.m[3], "orbit.test.ordered", "p3");
	c = counters(a);
	ck_assert_uint_eq(c.published, before + 4);
	ck_assert_uint_eq(c.queued, 0);

	/* The SUBACK that released them was real: a's new topics work. */
	orbit_payload q = utf8("to reply2");
	ck_assert_int_eq(orbit_bus_publish(b, "orbit.test.reply2", &q, 0), 0);
	ck_assert(wait_count(&ra.n, 1));
	assert_utf8(&ra.m[0], "orbit.test.reply2", "to reply2");
	orbit_bus_free(a);
	orbit_bus_free(b);
}
END_TEST

START_TEST(unsubscribe_stops_delivery)
{
	orbit_bus *a = bus_new("orbit-test-a", NULL);
	orbit_bus *b = bus_new("orbit-test-b", NULL);
	struct rec rt = {0}, rm = {0};
	orbit_payload p = utf8("x");
	wait_connected(a);
	wait_connected(b);
	ck_assert_int_eq(orbit_bus_subscribe(b, "orbit.test.t", rec_handler, &rt), 0);
	ck_assert_int_eq(orbit_bus_subscribe(b, "orbit.test.marker", rec_handler, &rm), 0);
	settle(b, "b1");
	ck_assert_int_eq(orbit_bus_publish(a, "orbit.test.t", &p, 0), 0);
	ck_assert(wait_count(&rt.n, 1));

	ck_assert_int_eq(orbit_bus_unsubscribe(b, "orbit.test.t", &rt), 0);
	ck_assert_int_eq(orbit_bus_unsubscribe(b, "orbit.test.t", &rt), -ENOENT);
	ck_assert_int_eq(orbit_bus_unsubscribe(b, "orbit.test.never", &rt), -ENOENT);
	/* b's UNSUBSCRIBE precedes settle's SUBSCRIBE on the same connection,
	 * so after settle the broker has dropped the subscription. */
	settle(b, "b2");
	uint64_t received = counters(b).received;
	ck_assert_int_eq(orbit_bus_publish(a, "orbit.test.t", &p, 0), 0);
	ck_assert_int_eq(orbit_bus_publish(a, "orbit.test.marker", &p, 0), 0);
	ck_assert(wait_count(&rm.n, 1));
	ck_assert_uint_eq(rt.n, 1);
	/* only the marker crossed the wire: the MQTT UNSUBSCRIBE was sent */
	ck_assert_uint_eq(counters(b).received, received + 1);
	orbit_bus_free(a);
	orbit_bus_free(b);
}
END_TEST

START_TEST(malformed_messages_are_dropped)
{
	static const char *topic = "orbit.test.garbage";
	static const char unknown_format[] =
		"{\"identifier\": \"x\", \"publisher_identifier\": \"raw\", "
		"\"serialized_payload\": {\"__type__\": \"bytes\", \"value\": \"AA==\"}, "
		"\"payload_format_type\": \"xml\", \"message_type\": \"StringMessage\", "
		"\"timestamp\": {\"__type__\": \"datetime\", \"value\": \"2025-01-02T03:04:05\"}}";
	static const uint8_t binary[] = {0xff, 0xfe, 0x00, 0x01, '{'};
	orbit_payload good = utf8("still alive");
	char *env = NULL;
	size_t env_len;
	orbit_bus *a = bus_new("orbit-test-a", NULL);
	orbit_bus *b = bus_new("orbit-test-b", NULL);
	struct rec r = {0};
	wait_connected(a);
	ck_assert_int_eq(orbit_bus_subscribe(b, topic, rec_handler, &r), 0);
	wait_connected(b);
	settle(b, "b");
	ck_assert_int_eq(orbit_envelope_encode(&good, "raw", &env, &env_len), 0);
	uint64_t received = counters(b).received;

	struct mosquitto *raw = raw_connect();
	raw_publish(raw, topic, "not json at all", 15);
	raw_publish(raw, topic, NULL, 0);
	raw_publish(raw, topic, binary, sizeof(binary));
	raw_publish(raw, topic, env, env_len / 2);
	raw_publish(raw, topic, unknown_format, strlen(unknown_format));
	raw_publish(raw, topic, env, env_len);
	raw_close(raw);
	free(env);

	ck_assert(wait_count(&r.n, 1));
	assert_utf8(&r.m[0], topic, "still alive");
	orbit_mqtt_counters c = counters(b);
	ck_assert_uint_eq(c.received, received + 6);
	ck_assert_uint_eq(c.dropped_malformed, 5);

	/* and it keeps serving */
	orbit_payload again = utf8("again");
	ck_assert_int_eq(orbit_bus_publish(a, topic, &again, 0), 0);
	ck_assert(wait_count(&r.n, 2));
	assert_utf8(&r.m[1], topic, "again");
	ck_assert(orbit_mqtt_bus_connected(b));
	orbit_bus_free(a);
	orbit_bus_free(b);
}
END_TEST

START_TEST(broker_down_at_start)
{
	struct states st = {0};
	struct rec r = {0};
	orbit_payload p = utf8("sent while offline");
	ck_assert_int_eq(test_broker_kill(&broker), 0);

	orbit_bus *a = bus_new("orbit-test-a", &st);
	ck_assert(!orbit_mqtt_bus_connected(a));
	ck_assert_int_eq(orbit_bus_subscribe(a, "orbit.test.offline", rec_handler, &r), 0);
	ck_assert_int_eq(orbit_bus_publish(a, "orbit.test.offline", &p, 0), 0);
	orbit_mqtt_counters c = counters(a);
	ck_assert_uint_eq(c.queued, 1);
	ck_assert_uint_eq(c.published, 0);
	ck_assert_uint_eq(c.connects, 0);

	ck_assert_int_eq(test_broker_restart(&broker), 0);
	wait_connected(a);
	ck_assert_int_eq(st.ups, 1);
	ck_assert_int_eq(st.downs, 0);
	/* the queued publish waited for the resubscription, so it comes back */
	ck_assert(wait_count(&r.n, 1));
	assert_utf8(&r.m[0], "orbit.test.offline", "sent while offline");
	c = counters(a);
	ck_assert_uint_eq(c.queued, 0);
	ck_assert_uint_eq(c.published, 1);
	ck_assert_uint_eq(c.connects, 1);
	orbit_bus_free(a);
}
END_TEST

START_TEST(offline_queue_is_bounded)
{
	orbit_payload p = utf8("q");
	ck_assert_int_eq(test_broker_kill(&broker), 0);
	orbit_bus *a = bus_new_opt("orbit-test-a", NULL, 8, 0);
	for (int i = 0; i < 8; i++)
		ck_assert_int_eq(orbit_bus_publish(a, "orbit.test.q", &p, 0), 0);
	ck_assert_int_eq(orbit_bus_publish(a, "orbit.test.q", &p, 0), -ENOTCONN);
	ck_assert_uint_eq(counters(a).queued, 8);
	orbit_bus_free(a); /* drops the queue; ASan checks it is freed */

	static char big[600];
	memset(big, 'x', sizeof(big) - 1);
	orbit_payload pb = utf8(big);
	/* the envelope of 600 bytes is about 1050: one fits, two do not */
	orbit_bus *b = bus_new_opt("orbit-test-b", NULL, 0, 1500);
	ck_assert_int_eq(orbit_bus_publish(b, "orbit.test.q", &pb, 0), 0);
	ck_assert_int_eq(orbit_bus_publish(b, "orbit.test.q", &pb, 0), -ENOTCONN);
	ck_assert_uint_eq(counters(b).queued, 1);
	orbit_bus_free(b);
}
END_TEST

struct both_reconnected {
	orbit_bus *a, *b;
};

static bool pred_both_reconnected(void *arg)
{
	struct both_reconnected *w = arg;
	return orbit_mqtt_bus_connected(w->a) && orbit_mqtt_bus_connected(w->b) &&
	       counters(w->a).connects == 2 && counters(w->b).connects == 2;
}

START_TEST(broker_restart_resubscribes)
{
	struct states sa = {0}, sb = {0};
	struct rec r = {0};
	orbit_payload before = utf8("before"), after = utf8("after");
	orbit_bus *a = bus_new("orbit-test-a", &sa);
	orbit_bus *b = bus_new("orbit-test-b", &sb);
	ck_assert_int_eq(orbit_bus_subscribe(b, "orbit.test.survives", rec_handler, &r), 0);
	wait_connected(a);
	wait_connected(b);
	settle(b, "b1");
	ck_assert_int_eq(orbit_bus_publish(a, "orbit.test.survives", &before, 0), 0);
	ck_assert(wait_count(&r.n, 1));

	ck_assert_int_eq(test_broker_restart(&broker), 0);
	struct both_reconnected w = {a, b};
	ck_assert_msg(test_run_until(base, pred_both_reconnected, &w, WAIT_S), "no reconnect");
	ck_assert_int_eq(sa.downs, 1);
	ck_assert_int_eq(sb.downs, 1);
	ck_assert_int_eq(sa.ups, 2);
	ck_assert_int_eq(sb.ups, 2);

	/* b resubscribed by itself; settle only waits for that SUBACK */
	settle(b, "b2");
	ck_assert_int_eq(orbit_bus_publish(a, "orbit.test.survives", &after, 0), 0);
	ck_assert(wait_count(&r.n, 2));
	assert_utf8(&r.m[1], "orbit.test.survives", "after");
	orbit_bus_free(a);
	orbit_bus_free(b);
}
END_TEST

START_TEST(wildcards_and_bad_topics_refused)
{
	struct rec r = {0};
	orbit_payload p = utf8("x");
	static char long_topic[70000];
	memset(long_topic, 'a', sizeof(long_topic) - 1);
	orbit_bus *a = bus_new("orbit-test-a", NULL);
	static const char *const bad[] = {"a/+", "a/#", "#", "+", "a+b", "", "bad\xff" "utf8",
					  "ctl\x01", long_topic};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(orbit_bus_subscribe(a, bad[i], rec_handler, &r), -EINVAL);
		ck_assert_int_eq(orbit_bus_publish(a, bad[i], &p, 0), -EINVAL);
		/* the transport itself refuses them too, not only the generic layer */
		ck_assert_int_eq(a->ops->subscribe(a, bad[i], rec_handler, &r), -EINVAL);
		ck_assert_int_eq(a->ops->publish(a, bad[i], &p, 0), -EINVAL);
	}
	ck_assert_int_eq(a->ops->subscribe(a, NULL, rec_handler, &r), -EINVAL);
	ck_assert_int_eq(a->ops->publish(a, NULL, &p, 0), -EINVAL);
	/* a payload the envelope cannot express */
	orbit_payload no_type = {.data = (const uint8_t *)"x", .len = 1, .format = ORBIT_FMT_UTF8};
	ck_assert_int_eq(orbit_bus_publish(a, "orbit.test.ok", &no_type, 0), -EINVAL);
	ck_assert_uint_eq(counters(a).queued, 0);
	orbit_bus_free(a);
}
END_TEST

START_TEST(bad_options_refused)
{
	orbit_mqtt_options o = {.host = "127.0.0.1", .port = broker.port, .keepalive = 3};
	errno = 0;
	ck_assert_ptr_null(orbit_mqtt_bus_new(base, &o));
	ck_assert_int_eq(errno, EINVAL);
	o = (orbit_mqtt_options){.reconnect_min = 5, .reconnect_max = 1};
	ck_assert_ptr_null(orbit_mqtt_bus_new(base, &o));
	ck_assert_int_eq(errno, EINVAL);
	o = (orbit_mqtt_options){.tls_ca = "/nonexistent", .tls_cert = "/nonexistent"};
	ck_assert_ptr_null(orbit_mqtt_bus_new(base, &o));
	ck_assert_int_eq(errno, EINVAL);
	o = (orbit_mqtt_options){.port = 70000};
	ck_assert_ptr_null(orbit_mqtt_bus_new(base, &o));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(orbit_mqtt_bus_new(base, NULL));
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

static Suite *mqtt_bus_suite(void)
{
	Suite *s = suite_create("mqtt_bus");
	TCase *tc = tcase_create("broker");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, two_buses_exchange);
	tcase_add_test(tc, payload_formats_round_trip);
	tcase_add_test(tc, after_suback_holds_and_keeps_order);
	tcase_add_test(tc, unsubscribe_stops_delivery);
	tcase_add_test(tc, malformed_messages_are_dropped);
	tcase_add_test(tc, broker_down_at_start);
	tcase_add_test(tc, offline_queue_is_bounded);
	tcase_add_test(tc, broker_restart_resubscribes);
	tcase_add_test(tc, wildcards_and_bad_topics_refused);
	tcase_add_test(tc, bad_options_refused);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	/* the raw test client needs the library; the bus initialises it too */
	if (mosquitto_lib_init() != MOSQ_ERR_SUCCESS)
		return EXIT_FAILURE;
	SRunner *sr = srunner_create(mqtt_bus_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	mosquitto_lib_cleanup();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
