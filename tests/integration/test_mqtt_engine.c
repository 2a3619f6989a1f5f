/* test_mqtt_engine.c — a core and a plugin on two separate MQTT sessions
 * through a real mosquitto: handshake, execute → output → sink, graceless
 * close on plugin stop, and malformed protocol messages published on the
 * handshake topics being dropped while service goes on. */
#include "broker.h"
#include "evwait.h"
#include "orbit/builtin.h"
#include "orbit/core.h"
#include "orbit/mqtt_bus.h"
#include "orbit/lender.h"

#include <check.h>
#include <ctype.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

static struct test_broker broker;
static struct event_base *base;
static orbit_bus *core_bus, *plugin_bus, *spy_bus;
static orbit_core *core;
static orbit_lender *plugin;
static int outputs;
static char last_output[64];

static void lowercase(void *ctx, orbit_lender *p, const orbit_conn_info *conn,
		      const orbit_payload *in)
{
	(void)ctx;
	orbit_value v;
	if (orbit_value_decode(in, &v) < 0)
		return;
	for (size_t i = 0; v.str && i < v.str_len; i++)
		v.str[i] = (char)tolower((unsigned char)v.str[i]);
	orbit_payload out;
	uint8_t *buf = NULL;
	if (orbit_value_encode(&v, ORBIT_FMT_NONE, &out, &buf) == 0)
		orbit_lender_reply(p, conn->remote_id, conn->operation, &out);
	free(buf);
	orbit_value_clear(&v);
}

static void sink(void *ctx, orbit_core *c, const orbit_conn_info *conn, const orbit_payload *p)
{
	(void)ctx;
	(void)c;
	(void)conn;
	orbit_value v;
	if (orbit_value_decode(p, &v) == 0 && v.kind == ORBIT_KIND_STRING)
		snprintf(last_output, sizeof(last_output), "%s", v.str);
	orbit_value_clear(&v);
	outputs++;
}

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
	core_bus = mqtt("orbit-test-core");
	plugin_bus = mqtt("orbit-test-plugin");
	spy_bus = mqtt("orbit-test-spy");
	outputs = 0;
	last_output[0] = '\0';
	orbit_timers t;
	orbit_timers_default(&t);
	t.loop_interval = 0.05;
	t.discovering_interval = 0.1;
	t.discovering_max_interval = 0.5;

	orbit_spec str;
	orbit_spec_init_kind(&str, ORBIT_KIND_STRING);
	plugin = orbit_lender_new(plugin_bus, "plugin1", &t, NULL);
	orbit_lent_op op = {.name = "lowercase", .input = str, .output = str,
			      .policy = {.maximum = ORBIT_UNLIMITED}, .handler = lowercase};
	ck_assert_int_eq(orbit_lender_add_operation(plugin, &op), 0);
	core = orbit_core_new(core_bus, "core1", &t, NULL);
	orbit_requirement r = {.operation = "lowercase", .minimum = 1, .maximum = ORBIT_UNLIMITED,
			       .inputs = &str, .n_inputs = 1, .outputs = &str, .n_outputs = 1};
	ck_assert_int_eq(orbit_core_require(core, &r), 0);
	ck_assert_int_eq(orbit_core_set_sink(core, "lowercase", sink, NULL), 0);
	orbit_spec_clear(&str);
	ck_assert_int_eq(orbit_lender_start(plugin), 0);
	ck_assert_int_eq(orbit_core_start(core), 0);
}

static bool settled(void *arg)
{
	(void)arg;
	orbit_mqtt_counters a, b;
	orbit_mqtt_bus_counters(core_bus, &a);
	orbit_mqtt_bus_counters(plugin_bus, &b);
	return a.queued == 0 && b.queued == 0;
}

static void teardown(void)
{
	orbit_core_free(core);
	orbit_lender_free(plugin);
	test_run_until(base, settled, NULL, 2);
	orbit_bus_free(core_bus);
	orbit_bus_free(plugin_bus);
	orbit_bus_free(spy_bus);
	event_base_free(base);
	test_broker_stop(&broker);
}

static bool compliant(void *arg)
{
	(void)arg;
	return orbit_core_compliant(core);
}

static bool not_compliant(void *arg)
{
	(void)arg;
	return !orbit_core_compliant(core);
}

static bool got_output(void *arg)
{
	return outputs >= *(int *)arg;
}

static int execute_hello(void)
{
	orbit_value v = {.kind = ORBIT_KIND_STRING, .str = (char *)"HELLO", .str_len = 5};
	orbit_payload p;
	uint8_t *buf = NULL;
	ck_assert_int_eq(orbit_value_encode(&v, ORBIT_FMT_NONE, &p, &buf), 0);
	orbit_exec x = {.mode = ORBIT_EXEC_ANY,
			.schema = orbit_kind_schema(ORBIT_KIND_STRING, ORBIT_FLAVOUR_PY312),
			.items = &p,
			.n_items = 1};
	int rc = orbit_core_execute(core, "lowercase", &x);
	free(buf);
	return rc;
}

START_TEST(handshake_execute_and_close_over_mqtt)
{
	ck_assert(test_run_until(base, compliant, NULL, 10));
	ck_assert_int_eq(execute_hello(), 1);
	int want = 1;
	ck_assert(test_run_until(base, got_output, &want, 10));
	ck_assert_str_eq(last_output, "hello");
	orbit_lender_stop(plugin);
	ck_assert(test_run_until(base, not_compliant, NULL, 10));
	ck_assert_uint_eq(orbit_orbiter_connection_count(orbit_core_orbiter(core)), 0);
	ck_assert_int_eq(orbit_lender_start(plugin), 0);
	ck_assert(test_run_until(base, compliant, NULL, 10));
}
END_TEST

static int incoming_close(void *ctx, const orbit_conn_info *c)
{
	snprintf(ctx, 160, "%s", c->incoming_close_topic);
	return 1;
}

START_TEST(malformed_protocol_messages_are_dropped)
{
	ck_assert(test_run_until(base, compliant, NULL, 10));
	/* The close topics end in a random token: the connection's own. */
	char core_close[160], plugin_close[160];
	orbit_orbiter_foreach_connection(orbit_core_orbiter(core), incoming_close, core_close);
	orbit_orbiter_foreach_connection(orbit_lender_orbiter(plugin), incoming_close,
					 plugin_close);
	ck_assert_str_eq(strncmp(core_close, "lowercase.core1.plugin1.close.", 30) ? core_close
										   : "ok",
			 "ok");
	ck_assert_str_eq(strncmp(plugin_close, "lowercase.plugin1.core1.close.", 30)
				 ? plugin_close
				 : "ok",
			 "ok");
	const char *topics[] = {"$handshake.discover", "$handshake.core1.offer",
				"$handshake.core1.response", "$handshake.plugin1.reply",
				"$keepalive.core1", "$keepalive.plugin1.request",
				core_close, plugin_close};
	static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
	static const char *types[] = {"DiscoverMessage", "OfferMessage", "NoSuchMessage",
				      "GracelessCloneConnectionMessage"};
	for (size_t t = 0; t < sizeof(topics) / sizeof(*topics); t++) {
		for (size_t k = 0; k < sizeof(types) / sizeof(*types); k++) {
			orbit_payload p = {garbage, sizeof(garbage), ORBIT_FMT_AVRO, types[k]};
			ck_assert_int_eq(orbit_bus_publish(spy_bus, topics[t], &p, 0), 0);
			orbit_payload s = {(const uint8_t *)"x", 1, ORBIT_FMT_UTF8, "StringMessage"};
			ck_assert_int_eq(orbit_bus_publish(spy_bus, topics[t], &s, 0), 0);
			orbit_payload none = {0};
			ck_assert_int_eq(orbit_bus_publish(spy_bus, topics[t], &none, 0), 0);
		}
	}
	/* Everything above was dropped; the connection still serves. */
	ck_assert_int_eq(execute_hello(), 1);
	int want = 1;
	ck_assert(test_run_until(base, got_output, &want, 10));
	ck_assert_str_eq(last_output, "hello");
	ck_assert(orbit_core_compliant(core));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mqtt_engine");
	TCase *tc = tcase_create("core_plugin");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, handshake_execute_and_close_over_mqtt);
	tcase_add_test(tc, malformed_protocol_messages_are_dropped);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
