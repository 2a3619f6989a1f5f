/* test_hygiene_mqtt.c — the protocol hygiene of test_hygiene.c where the
 * wire matters, through a real mosquitto: a raw MQTT peer (what a
 * py-orbitalis plugin sees) records the Discovers of a core started as
 * orbitd starts it, and the keepalives of a core and a plugin that announce
 * the accepted minimum deadline (1 s) with the default 1 s loop. */
#include "broker.h"
#include "envelope.h"
#include "evwait.h"
#include "mqtt_peer.h"
#include "orbit/builtin.h"
#include "orbit/core.h"
#include "orbit/lender.h"
#include "orbit/mqtt_bus.h"
#include "wire.h"

#include <check.h>
#include <event2/event.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static struct test_broker broker;
static struct event_base *base;
static struct mqtt_peer *peer;
static int dead_events;

static orbit_bus *mqtt(const char *client)
{
	orbit_mqtt_options o = {.host = "127.0.0.1", .port = broker.port, .client_id = client,
				.reconnect_min = 0.05, .reconnect_max = 0.5};
	orbit_bus *b = orbit_mqtt_bus_new(base, &o);
	ck_assert_ptr_nonnull(b);
	return b;
}

static void setup(void)
{
	ck_assert_int_eq(test_broker_start(&broker), 0);
	base = event_base_new();
	peer = mqtt_peer_new("hygiene-peer", broker.port);
	ck_assert_ptr_nonnull(peer);
	dead_events = 0;
}

static void teardown(void)
{
	mqtt_peer_free(peer);
	event_base_free(base);
	test_broker_stop(&broker);
}

static void on_event(void *ctx, orbit_orbiter *o, const orbit_event *ev)
{
	(void)ctx;
	(void)o;
	if (ev->kind == ORBIT_EV_REMOTE_DEAD)
		dead_events++;
}

/* Messages the peer received on topic. */
static size_t count_on(const char *topic)
{
	size_t n = 0;
	for (size_t i = 0; i < mqtt_peer_count(peer); i++)
		n += strcmp(mqtt_peer_msg_at(peer, i)->topic, topic) == 0;
	return n;
}

struct want {
	const char *topic;
	size_t n;
};

/* Both loops turn: the engine's (base) and the peer's. */
static bool peer_has(void *arg)
{
	const struct want *w = arg;
	mqtt_peer_pump(peer, 0.005);
	return count_on(w->topic) >= w->n;
}

static bool python_equal(const char *a, const char *b)
{
	json_t *ja = json_loads(a, 0, NULL), *jb = json_loads(b, 0, NULL);
	bool eq = ja && jb && json_equal(ja, jb);
	json_decref(ja);
	json_decref(jb);
	return eq;
}

/* A Python plugin of flavour f finds its exact string in one entry. */
static int entries_of_flavour(const orbit_spec *v, size_t n, orbit_flavour f)
{
	int k = 0;
	for (size_t i = 0; i < n; i++)
		k += v[i].n_schemas == 1 &&
		     python_equal(v[i].schemas[0], orbit_kind_schema(ORBIT_KIND_STRING, f));
	return k;
}

/* A core required string -> string as orbitd requires it (both flavours
 * given): one Discover at start, the next one discovering_interval later,
 * each flavour listed once. */
START_TEST(discover_on_the_wire)
{
	ck_assert_int_eq(mqtt_peer_subscribe(peer, "$handshake.discover"), 0);
	orbit_bus *bus = mqtt("hygiene-core");
	orbit_timers t;
	orbit_timers_default(&t);
	t.loop_interval = 0.05;
	t.discovering_interval = 0.5;
	orbit_core *core = orbit_core_new(bus, "core1", &t, NULL);
	ck_assert_ptr_nonnull(core);
	const char *both[] = {orbit_kind_schema(ORBIT_KIND_STRING, ORBIT_FLAVOUR_PY312),
			      orbit_kind_schema(ORBIT_KIND_STRING, ORBIT_FLAVOUR_PY313)};
	orbit_spec specs[2];
	for (size_t i = 0; i < 2; i++)
		ck_assert_int_eq(orbit_spec_init_schema(&specs[i], both[i]), 0);
	orbit_requirement r = {.operation = "lowercase", .minimum = 1, .maximum = ORBIT_UNLIMITED,
			       .inputs = specs, .n_inputs = 2, .outputs = specs, .n_outputs = 2};
	ck_assert_int_eq(orbit_core_require(core, &r), 0);
	orbit_spec_clear(&specs[0]);
	orbit_spec_clear(&specs[1]);
	double started = mqtt_peer_now();
	ck_assert_int_eq(orbit_core_start(core), 0);

	struct want w = {"$handshake.discover", 2};
	ck_assert(test_run_until(base, peer_has, &w, 10));
	const struct mqtt_peer_msg *a = mqtt_peer_next(peer, w.topic, 0, 0);
	const struct mqtt_peer_msg *b = mqtt_peer_next(peer, w.topic, 0, 0);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	/* Not two at start (they were 5 ms apart): the second is the loop's,
	 * discovering_interval after start (the first waits for the broker's
	 * CONNACK and SUBACKs, so the two can be closer than that). */
	ck_assert_msg(b->at - started >= 0.5 - 0.01, "second Discover %.3fs after start",
		      b->at - started);
	fprintf(stderr, "string->string Discover on MQTT: %zu bytes\n", a->len);

	orbit_envelope env;
	ck_assert_int_eq(orbit_envelope_decode((const char *)a->payload, a->len, &env), 0);
	orbit_msg m;
	ck_assert_int_eq(orbit_msg_decode(ORBIT_MSG_DISCOVER, env.payload.data, env.payload.len,
					  &m), 0);
	ck_assert_uint_eq(m.discover.n_queries, 1);
	const orbit_query *q = &m.discover.queries[0];
	ck_assert_uint_eq(q->n_inputs, 2);
	ck_assert_uint_eq(q->n_outputs, 2);
	for (int f = ORBIT_FLAVOUR_PY312; f <= ORBIT_FLAVOUR_PY313; f++) {
		ck_assert_int_eq(entries_of_flavour(q->inputs, q->n_inputs, (orbit_flavour)f), 1);
		ck_assert_int_eq(entries_of_flavour(q->outputs, q->n_outputs, (orbit_flavour)f), 1);
	}
	orbit_msg_clear(&m);
	orbit_envelope_clear(&env);
	orbit_core_free(core);
	orbit_bus_free(bus);
}
END_TEST

static void echo(void *ctx, orbit_lender *p, const orbit_conn_info *conn, const orbit_payload *in)
{
	(void)ctx;
	orbit_lender_reply(p, conn->remote_id, conn->operation, in);
}

static bool connected(void *arg)
{
	return orbit_core_compliant(arg);
}

/* Both sides announce 1 s, the accepted minimum; both loops tick every
 * second (the default). Each side still hears from the other every half
 * second, so neither declares the other dead. */
START_TEST(one_second_deadline_kept_alive)
{
	ck_assert_int_eq(mqtt_peer_subscribe(peer, "$keepalive.plugin1"), 0);
	ck_assert_int_eq(mqtt_peer_subscribe(peer, "$keepalive.core1"), 0);
	orbit_timers t;
	orbit_timers_default(&t);
	t.consider_others_dead_after = 1;
	t.discovering_interval = 0.2;
	orbit_bus *cb = mqtt("hygiene-core"), *pb = mqtt("hygiene-plugin");
	orbit_lender *p = orbit_lender_new(pb, "plugin1", &t, NULL);
	ck_assert_ptr_nonnull(p);
	orbit_lent_op op = {.name = "lowercase", .handler = echo,
			      .policy = {.maximum = ORBIT_UNLIMITED}};
	orbit_spec_init_kind(&op.input, ORBIT_KIND_STRING);
	orbit_spec_init_kind(&op.output, ORBIT_KIND_STRING);
	ck_assert_int_eq(orbit_lender_add_operation(p, &op), 0);
	orbit_core *c = orbit_core_new(cb, "core1", &t, NULL);
	ck_assert_ptr_nonnull(c);
	orbit_requirement r = {.operation = "lowercase", .minimum = 1, .maximum = ORBIT_UNLIMITED,
			       .inputs = &op.input, .n_inputs = 1, .outputs = &op.output,
			       .n_outputs = 1};
	ck_assert_int_eq(orbit_core_require(c, &r), 0);
	orbit_spec_clear(&op.input);
	orbit_spec_clear(&op.output);
	orbit_orbiter_set_event_cb(orbit_core_orbiter(c), on_event, NULL);
	orbit_orbiter_set_event_cb(orbit_lender_orbiter(p), on_event, NULL);
	ck_assert_int_eq(orbit_lender_start(p), 0);
	ck_assert_int_eq(orbit_core_start(c), 0);
	ck_assert(test_run_until(base, connected, c, 10));

	/* Ten keepalives to the plugin: about five seconds, five deadlines. */
	struct want w = {"$keepalive.plugin1", 10};
	ck_assert(test_run_until(base, peer_has, &w, 15));
	const char *topics[] = {"$keepalive.plugin1", "$keepalive.core1"};
	for (size_t k = 0; k < 2; k++) {
		double prev = -1, most = 0, least = 1e9;
		for (size_t i = 0; i < mqtt_peer_count(peer); i++) {
			const struct mqtt_peer_msg *m = mqtt_peer_msg_at(peer, i);
			if (strcmp(m->topic, topics[k]) != 0)
				continue;
			if (prev >= 0) {
				most = m->at - prev > most ? m->at - prev : most;
				least = m->at - prev < least ? m->at - prev : least;
			}
			prev = m->at;
		}
		fprintf(stderr, "%s: gaps %.3f..%.3fs\n", topics[k], least, most);
		ck_assert_msg(most < 0.9, "%s: a gap of %.3fs", topics[k], most);
		ck_assert_msg(least > 0.4, "%s: a gap of %.3fs", topics[k], least);
	}
	ck_assert_int_eq(dead_events, 0);
	ck_assert(orbit_core_compliant(c));
	ck_assert_uint_eq(orbit_orbiter_connection_count(orbit_lender_orbiter(p)), 1);
	orbit_core_free(c);
	orbit_lender_free(p);
	orbit_bus_free(cb);
	orbit_bus_free(pb);
}
END_TEST

static Suite *hygiene_mqtt_suite(void)
{
	Suite *s = suite_create("hygiene_mqtt");
	TCase *tc = tcase_create("wire");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, discover_on_the_wire);
	tcase_add_test(tc, one_second_deadline_kept_alive);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(hygiene_mqtt_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
