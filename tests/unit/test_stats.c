/* test_stats.c — what an orbiter counts (orbit/stats.h) and what its
 * protocol observer sees (orbit/protocol.h), with real cores and plugins on
 * the in-process bus.
 *
 * As in test_engine.c, time is the test's: every orbiter reads W.now and has
 * loop_interval < 0, housekeeping runs when the test ticks, and messages are
 * delivered by orbit_local_bus_flush on the test's stack. Every counter is
 * compared with exactly what the test made happen; "zero" is asserted only
 * for kinds the scenario had its chance to send. */
#include "orbit/builtin.h"
#include "orbit/core.h"
#include "orbit/lender.h"
#include "orbit/protocol.h"
#include "orbit/stats.h"
#include "test_data.h"
#include "wire.h"

#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <event2/event.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define T0 1000.0
#define EPS (1.0 / 64)
#define MAXLOG 64

/* One observed message, as the observers saw it, in order. */
struct seen {
	char who[16];
	orbit_direction dir;
	int kind, error;
	char topic[128];
	json_t *fields; /* a reference kept, or NULL */
};

static struct {
	struct event_base *base;
	orbit_bus *bus;
	double now;
	orbit_timers t;
	orbit_core *core;
	orbit_lender *plugin;
	int outputs;
	struct seen log[MAXLOG];
	int n_log;
} W;

static double test_clock(void *ctx)
{
	(void)ctx;
	return W.now;
}

static void setup(void)
{
	memset(&W, 0, sizeof(W));
	W.base = event_base_new();
	W.bus = orbit_local_bus_new(W.base);
	W.now = T0;
	orbit_timers_default(&W.t);
	W.t.loop_interval = -1;
}

static void teardown(void)
{
	orbit_core_free(W.core);
	orbit_lender_free(W.plugin);
	orbit_bus_free(W.bus);
	event_base_free(W.base);
	for (int i = 0; i < W.n_log; i++)
		json_decref(W.log[i].fields);
}

/* Deliver everything queued, the engine's deferred work included. */
static void deliver(void)
{
	for (int i = 0; i < 100; i++) {
		int n = orbit_local_bus_flush(W.bus, 1000);
		ck_assert_int_ge(n, 0);
		if (n == 0 && event_base_get_num_events(W.base, EVENT_BASE_COUNT_ACTIVE) == 0)
			return;
		event_base_loop(W.base, EVLOOP_NONBLOCK);
	}
	ck_abort_msg("the bus never went quiet");
}

static void at(double t)
{
	W.now = t;
	if (W.core)
		orbit_orbiter_tick(orbit_core_orbiter(W.core));
	if (W.plugin)
		orbit_orbiter_tick(orbit_lender_orbiter(W.plugin));
	deliver();
}

static void sink(void *ctx, orbit_core *c, const orbit_conn_info *conn, const orbit_payload *p)
{
	(void)ctx;
	(void)c;
	(void)conn;
	(void)p;
	W.outputs++;
}

static void lowercase(void *ctx, orbit_lender *p, const orbit_conn_info *conn,
		      const orbit_payload *in)
{
	(void)ctx;
	orbit_value v;
	if (orbit_value_decode(in, &v) < 0)
		return;
	for (size_t i = 0; i < v.str_len; i++)
		v.str[i] = (char)tolower((unsigned char)v.str[i]);
	orbit_payload out;
	uint8_t *buf = NULL;
	if (orbit_value_encode(&v, ORBIT_FMT_NONE, &out, &buf) == 0)
		orbit_lender_reply(p, conn->remote_id, conn->operation, &out);
	free(buf);
	orbit_value_clear(&v);
}

static void make_plugin(const char *id)
{
	W.plugin = orbit_lender_new(W.bus, id, &W.t, NULL);
	ck_assert_ptr_nonnull(W.plugin);
	orbit_lent_op def = {.name = "lowercase", .handler = lowercase};
	def.policy.maximum = ORBIT_UNLIMITED;
	ck_assert_int_eq(orbit_spec_init_kind(&def.input, ORBIT_KIND_STRING), 0);
	ck_assert_int_eq(orbit_spec_init_kind(&def.output, ORBIT_KIND_STRING), 0);
	ck_assert_int_eq(orbit_lender_add_operation(W.plugin, &def), 0);
	orbit_spec_clear(&def.input);
	orbit_spec_clear(&def.output);
	ck_assert_int_eq(orbit_orbiter_set_clock(orbit_lender_orbiter(W.plugin), test_clock, NULL),
			 0);
}

static void make_core(int maximum)
{
	W.core = orbit_core_new(W.bus, "core1", &W.t, NULL);
	ck_assert_ptr_nonnull(W.core);
	orbit_spec in, out;
	orbit_spec_init_kind(&in, ORBIT_KIND_STRING);
	orbit_spec_init_kind(&out, ORBIT_KIND_STRING);
	orbit_requirement r = {.operation = "lowercase", .minimum = 1, .maximum = maximum,
			       .inputs = &in, .n_inputs = 1, .outputs = &out, .n_outputs = 1};
	ck_assert_int_eq(orbit_core_require(W.core, &r), 0);
	orbit_spec_clear(&in);
	orbit_spec_clear(&out);
	ck_assert_int_eq(orbit_core_set_sink(W.core, "lowercase", sink, NULL), 0);
	ck_assert_int_eq(orbit_orbiter_set_clock(orbit_core_orbiter(W.core), test_clock, NULL), 0);
}

static orbit_orbiter *CO(void)
{
	return orbit_core_orbiter(W.core);
}

static orbit_orbiter *PO(void)
{
	return orbit_lender_orbiter(W.plugin);
}

/* The value at a dotted path ("messages.sent_total.discover") of o's
 * snapshot, which the test owns for the call only. */
static json_t *snap_get(json_t *root, const char *path)
{
	char buf[256];
	snprintf(buf, sizeof buf, "%s", path);
	json_t *j = root;
	for (char *save = NULL, *part = strtok_r(buf, ".", &save); part;
	     part = strtok_r(NULL, ".", &save)) {
		j = json_is_array(j) ? json_array_get(j, (size_t)atoi(part)) : json_object_get(j, part);
		ck_assert_msg(j != NULL, "no %s in the snapshot (at %s)", path, part);
	}
	return j;
}

static long long stat_of(orbit_orbiter *o, const char *path)
{
	json_t *root = orbit_orbiter_stats_json(o);
	ck_assert_ptr_nonnull(root);
	json_t *j = snap_get(root, path);
	ck_assert_msg(json_is_integer(j), "%s is not an integer", path);
	long long v = json_integer_value(j);
	json_decref(root);
	return v;
}

/* The sum of a per-kind object: every message of every kind. */
static long long kinds_total(orbit_orbiter *o, const char *which)
{
	json_t *root = orbit_orbiter_stats_json(o);
	json_t *obj = snap_get(root, which);
	ck_assert_int_eq(json_object_size(obj), ORBIT_MSG__COUNT);
	long long n = 0;
	const char *k;
	json_t *v;
	json_object_foreach(obj, k, v)
		n += json_integer_value(v);
	json_decref(root);
	return n;
}

#define ck_stat(o, path, want) ck_assert_int_eq(stat_of((o), (path)), (want))

static orbit_payload hello(uint8_t **buf)
{
	orbit_value v = {.kind = ORBIT_KIND_STRING, .str = (char *)"HELLO", .str_len = 5};
	orbit_payload p;
	ck_assert_int_eq(orbit_value_encode(&v, ORBIT_FMT_NONE, &p, buf), 0);
	return p;
}

static int execute(const orbit_payload *items, size_t n)
{
	orbit_exec x = {.mode = ORBIT_EXEC_ALL,
			.schema = orbit_kind_schema(ORBIT_KIND_STRING, ORBIT_FLAVOUR_PY313),
			.items = items, .n_items = n};
	return orbit_core_execute(W.core, "lowercase", &x);
}

static void connect_both(void)
{
	make_core(ORBIT_UNLIMITED);
	make_plugin("p1");
	ck_assert_int_eq(orbit_lender_start(W.plugin), 0);
	ck_assert_int_eq(orbit_core_start(W.core), 0);
	deliver();
	ck_assert(orbit_core_compliant(W.core));
}

/* ---- counters ---- */

START_TEST(operations_listed_before_any_connection)
{
	make_core(ORBIT_UNLIMITED);
	make_plugin("p1");
	ck_stat(CO(), "operations.lowercase.connections_opened_total", 0);
	ck_stat(PO(), "operations.lowercase.inputs_total", 0);
	json_t *root = orbit_orbiter_stats_json(CO());
	ck_assert_str_eq(json_string_value(snap_get(root, "role")), "core");
	ck_assert_str_eq(json_string_value(snap_get(root, "id")), "core1");
	ck_assert_int_eq(json_array_size(snap_get(root, "connections")), 0);
	ck_assert(json_is_null(snap_get(root, "operations.lowercase.last_error")));
	json_decref(root);
	root = orbit_orbiter_stats_json(PO());
	ck_assert_str_eq(json_string_value(snap_get(root, "role")), "plugin");
	json_decref(root);
}
END_TEST

START_TEST(handshake_execute_and_closes_are_counted)
{
	connect_both();
	/* The handshake: four messages each way, nothing else. */
	ck_stat(CO(), "messages.sent_total.discover", 1);
	ck_stat(CO(), "messages.sent_total.request", 1);
	ck_stat(CO(), "messages.received_total.offer", 1);
	ck_stat(CO(), "messages.received_total.confirm", 1);
	ck_assert_int_eq(kinds_total(CO(), "messages.sent_total"), 2);
	ck_assert_int_eq(kinds_total(CO(), "messages.received_total"), 2);
	ck_stat(PO(), "messages.received_total.discover", 1);
	ck_stat(PO(), "messages.received_total.request", 1);
	ck_stat(PO(), "messages.sent_total.offer", 1);
	ck_stat(PO(), "messages.sent_total.confirm", 1);
	ck_assert_int_eq(kinds_total(PO(), "messages.sent_total"), 2);
	ck_assert_int_eq(kinds_total(PO(), "messages.received_total"), 2);
	ck_stat(CO(), "operations.lowercase.connections_opened_total", 1);
	ck_stat(PO(), "operations.lowercase.connections_opened_total", 1);
	ck_stat(CO(), "connections_current", 1);

	/* Two executions, two outputs: counted on both sides, with bytes. */
	uint8_t *buf;
	orbit_payload p = hello(&buf);
	orbit_payload items[2] = {p, p};
	W.now = T0 + 0.5;
	ck_assert_int_eq(execute(items, 2), 2);
	deliver();
	ck_assert_int_eq(W.outputs, 2);
	long long len = (long long)p.len;
	ck_assert_int_gt(len, 0);
	ck_stat(CO(), "operations.lowercase.inputs_total", 2);
	ck_stat(CO(), "operations.lowercase.input_bytes_total", 2 * len);
	ck_stat(CO(), "operations.lowercase.outputs_total", 2);
	ck_stat(CO(), "operations.lowercase.output_bytes_total", 2 * len);
	ck_stat(CO(), "connections.0.inputs_total", 2);
	ck_stat(CO(), "connections.0.outputs_total", 2);
	ck_stat(PO(), "operations.lowercase.inputs_total", 2);
	ck_stat(PO(), "operations.lowercase.input_bytes_total", 2 * len);
	ck_stat(PO(), "operations.lowercase.outputs_total", 2);
	ck_stat(PO(), "operations.lowercase.output_bytes_total", 2 * len);
	ck_stat(PO(), "operations.lowercase.errors_total", 0);
	json_t *root = orbit_orbiter_stats_json(CO());
	ck_assert(json_real_value(snap_get(root, "connections.0.age_seconds")) == 0.5);
	ck_assert_str_eq(json_string_value(snap_get(root, "connections.0.remote_id")), "p1");
	json_decref(root);

	/* An output with no sink is dropped, with the reason. */
	ck_assert_int_eq(orbit_core_set_sink(W.core, "lowercase", NULL, NULL), 0);
	ck_assert_int_eq(execute(&p, 1), 1);
	deliver();
	ck_stat(CO(), "operations.lowercase.drops_total", 1);
	ck_stat(CO(), "connections.0.drops_total", 1);
	root = orbit_orbiter_stats_json(CO());
	ck_assert_str_eq(json_string_value(snap_get(root, "operations.lowercase.last_error")),
			 "output with no sink");
	ck_assert(json_is_real(snap_get(root, "operations.lowercase.last_error_at_unix_seconds")));
	json_decref(root);
	ck_assert_int_eq(orbit_core_set_sink(W.core, "lowercase", sink, NULL), 0);

	/* A graceful close of the core: sent, received, acked. */
	ck_assert_int_eq(orbit_orbiter_close(CO(), "p1", "lowercase", true, NULL), 0);
	deliver();
	ck_stat(CO(), "connections_current", 0);
	ck_stat(CO(), "operations.lowercase.closes_total.graceful_sent", 1);
	ck_stat(CO(), "operations.lowercase.closes_total.acked", 1);
	ck_stat(PO(), "operations.lowercase.closes_total.graceful_received", 1);
	ck_stat(CO(), "messages.sent_total.graceful_close", 1);
	ck_stat(CO(), "messages.received_total.close_ack", 1);
	ck_stat(PO(), "messages.received_total.graceful_close", 1);
	ck_stat(PO(), "messages.sent_total.close_ack", 1);
	/* The connection's counters stay with its operation. */
	ck_stat(CO(), "operations.lowercase.inputs_total", 3);
	ck_stat(CO(), "operations.lowercase.drops_total", 1);
	ck_stat(PO(), "operations.lowercase.outputs_total", 3);

	/* Rediscovery connects again; the plugin closes gracelessly. */
	at(T0 + 2);
	ck_stat(CO(), "connections_current", 1);
	ck_stat(CO(), "operations.lowercase.connections_opened_total", 2);
	ck_stat(CO(), "operations.lowercase.inputs_total", 3);
	ck_stat(CO(), "connections.0.inputs_total", 0);
	ck_assert_int_eq(orbit_orbiter_close(PO(), "core1", "lowercase", false, NULL), 0);
	deliver();
	ck_stat(PO(), "operations.lowercase.closes_total.graceless_sent", 1);
	ck_stat(PO(), "messages.sent_total.graceless_close", 1);
	ck_stat(CO(), "operations.lowercase.closes_total.graceless_received", 1);
	ck_stat(CO(), "messages.received_total.graceless_close", 1);
	/* The core's echo (SPEC §5.5) goes out and reaches nobody. */
	ck_stat(CO(), "messages.sent_total.graceless_close", 1);
	ck_stat(PO(), "messages.received_total.graceless_close", 0);

	/* Executing with nothing connected is an error of the operation. */
	ck_assert_int_eq(execute(&p, 1), -ENOENT);
	ck_stat(CO(), "operations.lowercase.errors_total", 1);
	root = orbit_orbiter_stats_json(CO());
	ck_assert_str_eq(json_string_value(snap_get(root, "operations.lowercase.last_error")),
			 "execute with no matching connection");
	json_decref(root);
	ck_stat(CO(), "messages.malformed_total", 0);
	ck_stat(CO(), "messages.unexpected_total", 0);
	ck_stat(CO(), "messages.publish_failures_total", 0);
	free(buf);
}
END_TEST

/* ---- a raw core: it names topics a bus refuses ('+' is an MQTT wildcard) ---- */

struct raw_core {
	char offer_topic[64];
	int offers, confirms;
	char input_topic[160];
	char reply_topic[96];
};

static void raw_send(const char *topic, orbit_msg *m)
{
	uint8_t *buf;
	size_t len;
	ck_assert_int_eq(orbit_msg_encode(m, &buf, &len), 0);
	orbit_payload p = {buf, len, ORBIT_FMT_AVRO, orbit_msg_type_name(m->kind)};
	ck_assert_int_eq(orbit_bus_publish(W.bus, topic, &p, 0), 0);
	free(buf);
}

static void raw_discover(const char *offer_topic)
{
	orbit_query q = {.operation_name = (char *)"lowercase"};
	orbit_spec s;
	orbit_spec_init_kind(&s, ORBIT_KIND_STRING);
	q.inputs = q.outputs = &s;
	q.n_inputs = q.n_outputs = 1;
	orbit_msg m = {.kind = ORBIT_MSG_DISCOVER};
	m.discover.core_id = (char *)"raw";
	m.discover.offer_topic = (char *)offer_topic;
	m.discover.keepalive_topic = (char *)"$keepalive.raw";
	m.discover.keepalive_request_topic = (char *)"$keepalive.raw.request";
	m.discover.considered_dead_after = 120;
	m.discover.queries = &q;
	m.discover.n_queries = 1;
	raw_send("$handshake.discover", &m);
	orbit_spec_clear(&s);
}

static void raw_on_offer(void *ctx, const char *topic, const orbit_payload *p)
{
	(void)topic;
	struct raw_core *r = ctx;
	orbit_msg m;
	ck_assert_int_eq(orbit_msg_decode(ORBIT_MSG_OFFER, p->data, p->len, &m), 0);
	r->offers++;
	snprintf(r->reply_topic, sizeof r->reply_topic, "%s", m.offer.reply_topic);
	orbit_msg_clear(&m);
}

static void raw_on_response(void *ctx, const char *topic, const orbit_payload *p)
{
	(void)topic;
	struct raw_core *r = ctx;
	orbit_msg m;
	ck_assert_int_eq(orbit_msg_decode(ORBIT_MSG_CONFIRM, p->data, p->len, &m), 0);
	r->confirms++;
	snprintf(r->input_topic, sizeof r->input_topic, "%s", m.confirm.input_topic);
	orbit_msg_clear(&m);
}

START_TEST(failing_publishes_are_counted)
{
	make_plugin("p1");
	ck_assert_int_eq(orbit_lender_start(W.plugin), 0);
	/* An offer topic no bus takes: the Offer fails, no handshake stays. */
	raw_discover("$handshake.raw+.offer");
	deliver();
	ck_stat(PO(), "messages.received_total.discover", 1);
	ck_stat(PO(), "messages.publish_failures_total", 1);
	ck_stat(PO(), "messages.sent_total.offer", 0);
	ck_stat(PO(), "pending_current", 0);

	/* A connection whose output topic no bus takes: the output fails. */
	struct raw_core r = {0};
	ck_assert_int_eq(orbit_bus_subscribe(W.bus, "$handshake.raw.offer", raw_on_offer, &r), 0);
	ck_assert_int_eq(orbit_bus_subscribe(W.bus, "$handshake.raw.response", raw_on_response, &r),
			 0);
	raw_discover("$handshake.raw.offer");
	deliver();
	ck_assert_int_eq(r.offers, 1);
	orbit_msg q = {.kind = ORBIT_MSG_REQUEST};
	q.request.core_id = (char *)"raw";
	q.request.operation = (char *)"lowercase";
	q.request.response_topic = (char *)"$handshake.raw.response";
	q.request.output_topic = (char *)"lowercase.raw.p1.output+x";
	q.request.close_topic = (char *)"lowercase.raw.p1.close";
	raw_send(r.reply_topic, &q);
	deliver();
	ck_assert_int_eq(r.confirms, 1);
	uint8_t *buf;
	orbit_payload p = hello(&buf);
	ck_assert_int_eq(orbit_bus_publish(W.bus, r.input_topic, &p, 0), 0);
	deliver();
	ck_stat(PO(), "operations.lowercase.inputs_total", 1);
	ck_stat(PO(), "operations.lowercase.outputs_total", 0);
	ck_stat(PO(), "operations.lowercase.errors_total", 1);
	ck_stat(PO(), "connections.0.errors_total", 1);
	json_t *root = orbit_orbiter_stats_json(PO());
	ck_assert_str_eq(json_string_value(snap_get(root, "connections.0.last_error")),
			 "output not published");
	json_decref(root);
	/* Protocol publishes are not payloads: still the one failure. */
	ck_stat(PO(), "messages.publish_failures_total", 1);
	free(buf);
}
END_TEST

/* ---- a raw plugin: confirms, then never acks nor speaks again ---- */

static void mute_on_reply(void *ctx, const char *topic, const orbit_payload *p)
{
	(void)ctx;
	(void)topic;
	orbit_msg m;
	if (orbit_msg_decode(ORBIT_MSG_REQUEST, p->data, p->len, &m) < 0)
		return;
	orbit_msg c = {.kind = ORBIT_MSG_CONFIRM};
	c.confirm.plugin_id = (char *)"mute";
	c.confirm.operation = (char *)"lowercase";
	c.confirm.input_topic = (char *)"lowercase.core1.mute.input.x";
	c.confirm.close_topic = (char *)"lowercase.mute.core1.close";
	raw_send(m.request.response_topic, &c);
	orbit_msg_clear(&m);
}

static void mute_on_discover(void *ctx, const char *topic, const orbit_payload *p)
{
	(void)ctx;
	(void)topic;
	orbit_msg d;
	if (orbit_msg_decode(ORBIT_MSG_DISCOVER, p->data, p->len, &d) < 0)
		return;
	orbit_offered_op op = {.name = (char *)"lowercase"};
	op.input = d.discover.queries[0].inputs[0];
	op.output = d.discover.queries[0].outputs[0];
	orbit_msg m = {.kind = ORBIT_MSG_OFFER};
	m.offer.plugin_id = (char *)"mute";
	m.offer.ops = &op;
	m.offer.n_ops = 1;
	m.offer.reply_topic = (char *)"$handshake.mute.reply";
	m.offer.considered_dead_after = 120;
	m.offer.keepalive_topic = (char *)"$keepalive.mute";
	m.offer.keepalive_request_topic = (char *)"$keepalive.mute.request";
	raw_send(d.discover.offer_topic, &m);
	orbit_msg_clear(&d);
}

START_TEST(timeout_and_dead_remote_are_counted)
{
	W.t.graceful_close_timeout = 2;
	W.t.consider_others_dead_after = 4;
	make_core(1);
	int token = 0;
	ck_assert_int_eq(orbit_bus_subscribe(W.bus, "$handshake.discover", mute_on_discover, &token),
			 0);
	ck_assert_int_eq(orbit_bus_subscribe(W.bus, "$handshake.mute.reply", mute_on_reply, &token),
			 0);
	ck_assert_int_eq(orbit_core_start(W.core), 0);
	deliver();
	ck_stat(CO(), "connections_current", 1);
	/* Our graceful close is never acknowledged: graceless at the timeout. */
	W.now = T0 + 1;
	ck_assert_int_eq(orbit_orbiter_close(CO(), "mute", "lowercase", true, NULL), 0);
	deliver();
	at(T0 + 3);
	ck_stat(CO(), "operations.lowercase.closes_total.timed_out", 0);
	at(T0 + 3 + EPS);
	ck_stat(CO(), "operations.lowercase.closes_total.graceful_sent", 1);
	ck_stat(CO(), "operations.lowercase.closes_total.timed_out", 1);
	ck_stat(CO(), "operations.lowercase.closes_total.graceless_sent", 1);
	ck_stat(CO(), "operations.lowercase.closes_total.acked", 0);
	ck_stat(CO(), "connections_current", 0);
	/* Rediscovered at once; then silent past consider_others_dead_after. */
	at(T0 + 5);
	ck_stat(CO(), "connections_current", 1);
	ck_stat(CO(), "operations.lowercase.connections_opened_total", 2);
	at(T0 + 9);
	ck_stat(CO(), "remotes_dead_total", 0);
	at(T0 + 9 + EPS);
	ck_stat(CO(), "remotes_dead_total", 1);
	ck_stat(CO(), "operations.lowercase.closes_total.remote_dead", 1);
	ck_stat(CO(), "operations.lowercase.closes_total.graceless_sent", 2);
	orbit_bus_unsubscribe(W.bus, "$handshake.discover", &token);
	orbit_bus_unsubscribe(W.bus, "$handshake.mute.reply", &token);
}
END_TEST

START_TEST(host_errors_and_latency_in_the_snapshot)
{
	connect_both();
	ck_assert_int_eq(orbit_orbiter_record_error(PO(), "core1", "lowercase", false,
						    "handler failed"), 0);
	ck_assert_int_eq(orbit_orbiter_record_error(PO(), NULL, "lowercase", true, "no room"), 0);
	ck_assert_int_eq(orbit_orbiter_record_error(PO(), NULL, NULL, true, "x"), -EINVAL);
	ck_stat(PO(), "connections.0.errors_total", 1);
	ck_stat(PO(), "connections.0.drops_total", 0);
	ck_stat(PO(), "operations.lowercase.errors_total", 1);
	ck_stat(PO(), "operations.lowercase.drops_total", 1);
	orbit_histogram *h = orbit_orbiter_latency(PO(), "lowercase");
	ck_assert_ptr_nonnull(h);
	ck_assert_ptr_eq(orbit_orbiter_latency(PO(), "lowercase"), h);
	orbit_histogram_add(h, 0.0003);
	orbit_histogram_add(h, 0.004);
	json_t *root = orbit_orbiter_stats_json(PO());
	ck_assert_str_eq(json_string_value(snap_get(root, "operations.lowercase.last_error")),
			 "no room");
	ck_assert_str_eq(json_string_value(snap_get(root, "connections.0.last_error")),
			 "handler failed");
	orbit_histogram back;
	ck_assert_int_eq(orbit_histogram_from_json(
				 snap_get(root, "operations.lowercase.latency_seconds"), &back), 0);
	ck_assert_uint_eq(back.count, 2);
	ck_assert(back.min == 0.0003 && back.max == 0.004);
	json_decref(root);
	/* Without a histogram the operation has no latency key. */
	root = orbit_orbiter_stats_json(CO());
	ck_assert_ptr_null(json_object_get(snap_get(root, "operations.lowercase"),
					   "latency_seconds"));
	json_decref(root);
}
END_TEST

/* ---- the histogram ---- */

START_TEST(histogram_buckets_quantiles_json)
{
	const double *b = orbit_histogram_bounds();
	ck_assert(b[0] == 1e-6 && b[ORBIT_HISTOGRAM_BOUNDS - 1] == 100);
	for (int i = 1; i < ORBIT_HISTOGRAM_BOUNDS; i++)
		ck_assert(b[i] > b[i - 1]);
	orbit_histogram h = {0};
	ck_assert(isnan(orbit_histogram_quantile(&h, 0.5)));
	/* On a bound: that bucket (le semantics); above the last: the overflow. */
	orbit_histogram_add(&h, 1e-6);
	orbit_histogram_add(&h, 1.5e-6);
	orbit_histogram_add(&h, 1000);
	orbit_histogram_add(&h, -1);
	ck_assert_uint_eq(h.bucket[0], 2); /* 1e-6 and -1 (counted as 0) */
	ck_assert_uint_eq(h.bucket[1], 1);
	ck_assert_uint_eq(h.bucket[ORBIT_HISTOGRAM_BOUNDS], 1);
	ck_assert_uint_eq(h.count, 4);
	ck_assert(h.min == 0 && h.max == 1000);
	ck_assert(orbit_histogram_quantile(&h, 0) == 0);
	ck_assert(orbit_histogram_quantile(&h, 1) == 1000);
	/* 1000 values spread 1..1000 ms: the median falls in (0.2 s, 0.5 s]. */
	orbit_histogram u = {0};
	for (int i = 1; i <= 1000; i++)
		orbit_histogram_add(&u, i / 1000.0);
	double med = orbit_histogram_quantile(&u, 0.5);
	ck_assert_msg(med > 0.2 && med <= 0.5, "median %g", med);
	double p99 = orbit_histogram_quantile(&u, 0.99);
	ck_assert_msg(p99 > 0.5 && p99 <= 1, "p99 %g", p99);
	orbit_histogram m = h;
	orbit_histogram_merge(&m, &u);
	ck_assert_uint_eq(m.count, 1004);
	ck_assert(m.min == 0 && m.max == 1000);
	json_t *j = orbit_histogram_json(&m);
	orbit_histogram back;
	ck_assert_int_eq(orbit_histogram_from_json(j, &back), 0);
	ck_assert_int_eq(memcmp(back.bucket, m.bucket, sizeof m.bucket), 0);
	ck_assert(back.count == m.count && back.sum == m.sum && back.min == m.min &&
		  back.max == m.max);
	/* Counts that do not add up are refused. */
	json_array_set_new(json_object_get(j, "buckets"), 0, json_integer(0));
	ck_assert_int_eq(orbit_histogram_from_json(j, &back), -EINVAL);
	ck_assert_uint_eq(back.count, 0);
	json_decref(j);
}
END_TEST

/* ---- the observer ---- */

static void observe(void *ctx, orbit_orbiter *o, const orbit_observed *m)
{
	(void)ctx;
	ck_assert_int_lt(W.n_log, MAXLOG);
	struct seen *s = &W.log[W.n_log++];
	snprintf(s->who, sizeof s->who, "%s", orbit_orbiter_id(o));
	s->dir = m->direction;
	s->kind = m->kind;
	s->error = m->error;
	snprintf(s->topic, sizeof s->topic, "%s", m->topic);
	s->fields = m->fields ? json_incref((json_t *)m->fields) : NULL;
	ck_assert(m->at == W.now);
	ck_assert((m->error == 0) == (m->error_text == NULL));
}

static const char *field(int i, const char *path)
{
	json_t *j = snap_get(W.log[i].fields, path);
	ck_assert_msg(json_is_string(j), "%s is not a string", path);
	return json_string_value(j);
}

static void expect(int i, const char *who, orbit_direction dir, orbit_msg_kind kind)
{
	ck_assert_int_lt(i, W.n_log);
	ck_assert_str_eq(W.log[i].who, who);
	ck_assert_int_eq(W.log[i].dir, dir);
	ck_assert_int_eq(W.log[i].kind, kind);
	ck_assert_int_eq(W.log[i].error, 0);
	ck_assert_ptr_nonnull(W.log[i].fields);
}

START_TEST(observer_sees_the_handshake_in_order)
{
	make_core(ORBIT_UNLIMITED);
	make_plugin("p1");
	orbit_orbiter_set_observer(CO(), observe, NULL);
	orbit_orbiter_set_observer(PO(), observe, NULL);
	ck_assert_int_eq(orbit_lender_start(W.plugin), 0);
	ck_assert_int_eq(orbit_core_start(W.core), 0);
	deliver();
	ck_assert_int_eq(W.n_log, 8);
	expect(0, "core1", ORBIT_DIR_SENT, ORBIT_MSG_DISCOVER);
	expect(1, "p1", ORBIT_DIR_RECEIVED, ORBIT_MSG_DISCOVER);
	expect(2, "p1", ORBIT_DIR_SENT, ORBIT_MSG_OFFER);
	expect(3, "core1", ORBIT_DIR_RECEIVED, ORBIT_MSG_OFFER);
	expect(4, "core1", ORBIT_DIR_SENT, ORBIT_MSG_REQUEST);
	expect(5, "p1", ORBIT_DIR_RECEIVED, ORBIT_MSG_REQUEST);
	expect(6, "p1", ORBIT_DIR_SENT, ORBIT_MSG_CONFIRM);
	expect(7, "core1", ORBIT_DIR_RECEIVED, ORBIT_MSG_CONFIRM);
	ck_assert_str_eq(W.log[0].topic, "$handshake.discover");
	ck_assert_str_eq(field(0, "core_identifier"), "core1");
	ck_assert_str_eq(field(0, "offer_topic"), "$handshake.core1.offer");
	ck_assert_str_eq(field(1, "queries.lowercase.operation_name"), "lowercase");
	ck_assert(json_is_null(snap_get(W.log[1].fields, "queries.lowercase.allowlist")));
	ck_assert_ptr_nonnull(strstr(field(1, "queries.lowercase.inputs.0.schemas.0"),
				     "StringMessage"));
	ck_assert_str_eq(W.log[2].topic, "$handshake.core1.offer");
	ck_assert_str_eq(field(2, "plugin_identifier"), "p1");
	ck_assert_str_eq(field(3, "offered_operations.0.name"), "lowercase");
	ck_assert(json_is_false(snap_get(W.log[3].fields,
					 "offered_operations.0.output.support_empty_schema")));
	ck_assert_str_eq(W.log[4].topic, "$handshake.p1.reply");
	ck_assert_str_eq(field(4, "response_topic"), "$handshake.core1.response");
	ck_assert(json_is_null(snap_get(W.log[4].fields, "setup_data")));
	ck_assert_int_eq(strncmp(field(5, "output_topic"), "lowercase.core1.p1.output.", 26), 0);
	ck_assert_int_eq(strncmp(field(7, "operation_input_topic"), "lowercase.core1.p1.input.", 25),
			 0);

	/* A graceful close with data: the bytes as length and base64. */
	orbit_bytes data = {(uint8_t *)"hi!", 3, true};
	ck_assert_int_eq(orbit_orbiter_close(CO(), "p1", "lowercase", true, &data), 0);
	deliver();
	ck_assert_int_eq(W.n_log, 12);
	expect(8, "core1", ORBIT_DIR_SENT, ORBIT_MSG_GRACEFUL);
	expect(9, "p1", ORBIT_DIR_RECEIVED, ORBIT_MSG_GRACEFUL);
	expect(10, "p1", ORBIT_DIR_SENT, ORBIT_MSG_CLOSE_ACK);
	expect(11, "core1", ORBIT_DIR_RECEIVED, ORBIT_MSG_CLOSE_ACK);
	ck_assert_str_eq(field(9, "data.base64"), "aGkh");
	ck_assert_int_eq(json_integer_value(snap_get(W.log[9].fields, "data.len")), 3);

	/* Malformed and unexpected messages on the core's offer topic. */
	orbit_payload bad = {(const uint8_t *)"\xff", 1, ORBIT_FMT_AVRO, "OfferMessage"};
	ck_assert_int_eq(orbit_bus_publish(W.bus, "$handshake.core1.offer", &bad, 0), 0);
	orbit_msg ka = {.kind = ORBIT_MSG_KEEPALIVE};
	ka.keepalive.from = (char *)"stranger";
	raw_send("$handshake.core1.offer", &ka);
	deliver();
	ck_assert_int_eq(W.n_log, 14);
	ck_assert_int_eq(W.log[12].dir, ORBIT_DIR_RECEIVED);
	ck_assert_int_eq(W.log[12].kind, ORBIT_MSG_OFFER);
	ck_assert_int_eq(W.log[12].error, -EBADMSG);
	ck_assert_ptr_null(W.log[12].fields);
	ck_assert_int_eq(W.log[13].kind, ORBIT_MSG_KEEPALIVE);
	ck_assert_int_eq(W.log[13].error, -EPROTO);
	ck_assert_str_eq(field(13, "from_identifier"), "stranger");
	ck_stat(CO(), "messages.malformed_total", 1);
	ck_stat(CO(), "messages.unexpected_total", 1);
	ck_stat(CO(), "messages.received_total.offer", 1);
	ck_assert_str_eq(orbit_protocol_error(-EBADMSG), "malformed");
	ck_assert_str_eq(orbit_protocol_error(-EPROTO), "unexpected");

	/* Removed: nothing more is seen, though messages flow. */
	orbit_orbiter_set_observer(CO(), NULL, NULL);
	orbit_orbiter_set_observer(PO(), NULL, NULL);
	at(T0 + 2);
	ck_stat(CO(), "operations.lowercase.connections_opened_total", 2);
	ck_assert_int_eq(W.n_log, 14);
}
END_TEST

/* ---- describing payloads captured from py-orbitalis ---- */

static uint8_t *unhex(const char *s, size_t n, size_t *len)
{
	uint8_t *out = malloc(n / 2 + 1);
	ck_assert_ptr_nonnull(out);
	for (size_t i = 0; i + 1 < n; i += 2) {
		unsigned v;
		ck_assert_int_eq(sscanf(s + i, "%2x", &v), 1);
		out[i / 2] = (uint8_t)v;
	}
	*len = n / 2;
	return out;
}

/* The description of captured payload `type` (parsed back from its text). */
static json_t *describe_captured(const char *text, const char *type)
{
	for (const char *line = text; line && *line;) {
		const char *end = strchr(line, '\n');
		size_t n = end ? (size_t)(end - line) : strlen(line);
		size_t tl = strlen(type);
		if (n > tl && strncmp(line, type, tl) == 0 && line[tl] == ' ') {
			size_t len;
			uint8_t *bytes = unhex(line + tl + 1, n - tl - 1, &len);
			orbit_payload p = {bytes, len, ORBIT_FMT_AVRO, type};
			char *json = NULL;
			ck_assert_int_eq(orbit_protocol_describe(&p, &json), 0);
			free(bytes);
			json_t *j = json_loads(json, 0, NULL);
			ck_assert_ptr_nonnull(j);
			free(json);
			ck_assert_str_eq(json_string_value(snap_get(j, "message_type")), type);
			return j;
		}
		line = end ? end + 1 : NULL;
	}
	ck_abort_msg("no captured %s", type);
	return NULL;
}

static const char *jstr(json_t *j, const char *path)
{
	return json_string_value(snap_get(j, path));
}

START_TEST(describe_captured_python_payloads)
{
	char *text = read_test_data("captured-payloads-avro-hex.txt");
	json_t *j = describe_captured(text, "DiscoverMessage");
	ck_assert_str_eq(jstr(j, "kind"), "discover");
	ck_assert_str_eq(jstr(j, "fields.core_identifier"), "core1");
	ck_assert_str_eq(jstr(j, "fields.offer_topic"), "$handshake.core1.offer");
	ck_assert_str_eq(jstr(j, "fields.core_keepalive_request_topic"), "$keepalive.core1.request");
	ck_assert(json_real_value(snap_get(j, "fields.considered_dead_after")) == 5.0);
	ck_assert_str_eq(jstr(j, "fields.queries.lowercase.operation_name"), "lowercase");
	ck_assert_ptr_nonnull(strstr(jstr(j, "fields.queries.lowercase.outputs.0.schemas.0"),
				     "\"name\": \"StringMessage\""));
	json_decref(j);
	j = describe_captured(text, "OfferMessage");
	ck_assert_str_eq(jstr(j, "kind"), "offer");
	ck_assert_str_eq(jstr(j, "fields.plugin_identifier"), "plugin1");
	ck_assert_str_eq(jstr(j, "fields.offered_operations.0.name"), "lowercase");
	ck_assert_str_eq(jstr(j, "fields.reply_topic"), "$handshake.plugin1.reply");
	json_decref(j);
	j = describe_captured(text, "RequestOperationMessage");
	ck_assert_str_eq(jstr(j, "fields.core_identifier"), "core1");
	ck_assert_str_eq(jstr(j, "fields.operation_name"), "lowercase");
	ck_assert_str_eq(jstr(j, "fields.response_topic"), "$handshake.core1.response");
	ck_assert_str_eq(jstr(j, "fields.output_topic"), "lowercase.core1.plugin1.output");
	/* default_setup_data=b"\x01\x02" in the captured scenario */
	ck_assert_int_eq(json_integer_value(snap_get(j, "fields.setup_data.len")), 2);
	ck_assert_str_eq(jstr(j, "fields.setup_data.base64"), "AQI=");
	json_decref(j);
	j = describe_captured(text, "ConfirmConnectionMessage");
	ck_assert_str_eq(jstr(j, "kind"), "confirm");
	ck_assert_int_eq(strncmp(jstr(j, "fields.operation_input_topic"),
				 "lowercase.core1.plugin1.input.", 30), 0);
	json_decref(j);
	j = describe_captured(text, "KeepaliveRequestMessage");
	ck_assert_str_eq(jstr(j, "fields.from_identifier"), "core1");
	ck_assert_str_eq(jstr(j, "fields.keepalive_topic"), "$keepalive.core1");
	json_decref(j);
	j = describe_captured(text, "KeepaliveMessage");
	ck_assert_str_eq(jstr(j, "fields.from_identifier"), "plugin1");
	json_decref(j);
	j = describe_captured(text, "GracefulCloseConnectionMessage");
	ck_assert_str_eq(jstr(j, "kind"), "graceful_close");
	ck_assert_str_eq(jstr(j, "fields.from_identifier"), "core1");
	ck_assert(json_is_null(snap_get(j, "fields.data")));
	json_decref(j);
	j = describe_captured(text, "CloseConnectionAckMessage");
	ck_assert_str_eq(jstr(j, "fields.from_identifier"), "plugin1");
	json_decref(j);
	j = describe_captured(text, "GracelessCloneConnectionMessage");
	ck_assert_str_eq(jstr(j, "kind"), "graceless_close");
	ck_assert_str_eq(jstr(j, "fields.operation_name"), "lowercase");
	json_decref(j);
	free(text);

	/* Not a protocol message, or not its bytes. */
	char *out = (char *)"untouched";
	orbit_payload s = {(const uint8_t *)"hi", 2, ORBIT_FMT_UTF8, "StringMessage"};
	ck_assert_int_eq(orbit_protocol_describe(&s, &out), -EINVAL);
	ck_assert_ptr_null(out);
	orbit_payload bad = {(const uint8_t *)"\x02", 1, ORBIT_FMT_AVRO, "KeepaliveMessage"};
	ck_assert_int_eq(orbit_protocol_describe(&bad, &out), -EBADMSG);
	ck_assert_ptr_null(out);
	ck_assert_str_eq(orbit_msg_kind_label(ORBIT_MSG_NO_LONGER_AVAILABLE), "no_longer_available");
	ck_assert_ptr_null(orbit_msg_kind_label(ORBIT_MSG__COUNT));
}
END_TEST

static Suite *stats_suite(void)
{
	Suite *s = suite_create("stats");
	TCase *c = tcase_create("counters");
	tcase_add_checked_fixture(c, setup, teardown);
	tcase_add_test(c, operations_listed_before_any_connection);
	tcase_add_test(c, handshake_execute_and_closes_are_counted);
	tcase_add_test(c, failing_publishes_are_counted);
	tcase_add_test(c, timeout_and_dead_remote_are_counted);
	tcase_add_test(c, host_errors_and_latency_in_the_snapshot);
	tcase_add_test(c, histogram_buckets_quantiles_json);
	suite_add_tcase(s, c);
	TCase *o = tcase_create("observer");
	tcase_add_checked_fixture(o, setup, teardown);
	tcase_add_test(o, observer_sees_the_handshake_in_order);
	tcase_add_test(o, describe_captured_python_payloads);
	suite_add_tcase(s, o);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(stats_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
