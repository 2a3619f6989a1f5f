/* test_engine.c — real cores and plugins on the in-process bus: handshake,
 * constraints, policies, liveness, close procedures, execution modes.
 * Every wait is on an observable state with a deadline (test_run_until). */
#include "evwait.h"
#include "orbit/builtin.h"
#include "orbit/core.h"
#include "orbit/plugin_orbiter.h"
#include "orbit/wire.h"

#include <check.h>
#include <ctype.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#define MAXP 8

struct world {
	struct event_base *base;
	orbit_bus *bus;
	orbit_core *core, *core2;
	orbit_plugin *plugins[MAXP];
	size_t n_plugins;
	orbit_timers t;
	/* observations */
	int outputs;
	char last_output[128];
	int per_plugin_inputs[MAXP];
	int dead_events, graceful_disconnects, graceless_disconnects, compliance_changes;
};

static struct world W;

static void fast_timers(orbit_timers *t)
{
	orbit_timers_default(t);
	t->loop_interval = 0.02;
	t->discovering_interval = 0.05;
	t->discovering_max_interval = 0.2;
	t->pending_requests_expire_after = 2.0;
	t->graceful_close_timeout = 2.0;
}

static void setup(void)
{
	memset(&W, 0, sizeof(W));
	W.base = event_base_new();
	W.bus = orbit_local_bus_new(W.base);
	fast_timers(&W.t);
}

static void teardown(void)
{
	orbit_core_free(W.core);
	orbit_core_free(W.core2);
	for (size_t i = 0; i < W.n_plugins; i++)
		orbit_plugin_free(W.plugins[i]);
	/* let queued closes drain so nothing is left allocated in the bus */
	event_base_loop(W.base, EVLOOP_NONBLOCK);
	orbit_bus_free(W.bus);
	event_base_free(W.base);
}

static void on_event(void *ctx, orbit_orbiter *o, const orbit_event *ev)
{
	(void)ctx;
	(void)o;
	switch (ev->kind) {
	case ORBIT_EV_REMOTE_DEAD:
		W.dead_events++;
		break;
	case ORBIT_EV_DISCONNECTED:
		if (ev->graceful)
			W.graceful_disconnects++;
		else
			W.graceless_disconnects++;
		break;
	case ORBIT_EV_COMPLIANCE:
		W.compliance_changes++;
		break;
	default:
		break;
	}
}

static void sink(void *ctx, orbit_core *c, const orbit_conn_info *conn, const orbit_payload *p)
{
	(void)ctx;
	(void)c;
	(void)conn;
	orbit_value v;
	if (orbit_value_decode(p, &v) == 0) {
		if (v.kind == ORBIT_KIND_STRING)
			snprintf(W.last_output, sizeof(W.last_output), "%s", v.str);
		orbit_value_clear(&v);
	}
	W.outputs++;
}

/* The "lowercase" operation of the Orbitalis examples. */
static void lowercase(void *ctx, orbit_plugin *p, const orbit_conn_info *conn,
		      const orbit_payload *in)
{
	size_t idx = (size_t)(uintptr_t)ctx;
	W.per_plugin_inputs[idx]++;
	orbit_value v;
	if (orbit_value_decode(in, &v) < 0)
		return;
	if (v.kind == ORBIT_KIND_STRING) {
		for (size_t i = 0; i < v.str_len; i++)
			v.str[i] = (char)tolower((unsigned char)v.str[i]);
		orbit_payload out;
		uint8_t *buf = NULL;
		if (orbit_value_encode(&v, ORBIT_FMT_NONE, &out, &buf) == 0)
			orbit_plugin_reply(p, conn->remote_id, conn->operation, &out);
		free(buf);
	} else {
		orbit_plugin_reply(p, conn->remote_id, conn->operation, in);
	}
	orbit_value_clear(&v);
}

static orbit_plugin *add_plugin_kind(const char *id, const char *op, orbit_kind in, int maximum,
				     const orbit_timers *t)
{
	orbit_plugin *p = orbit_plugin_new(W.bus, id, t ? t : &W.t, NULL);
	ck_assert_ptr_nonnull(p);
	orbit_operation def = {.name = op, .handler = lowercase};
	def.ctx = (void *)(uintptr_t)W.n_plugins;
	def.policy.maximum = maximum;
	ck_assert_int_eq(orbit_spec_init_kind(&def.input, in), 0);
	ck_assert_int_eq(orbit_spec_init_kind(&def.output, in), 0);
	ck_assert_int_eq(orbit_plugin_add_operation(p, &def), 0);
	orbit_spec_clear(&def.input);
	orbit_spec_clear(&def.output);
	orbit_orbiter_set_event_cb(orbit_plugin_orbiter(p), on_event, NULL);
	W.plugins[W.n_plugins++] = p;
	return p;
}

static orbit_plugin *add_plugin(const char *id)
{
	return add_plugin_kind(id, "lowercase", ORBIT_KIND_STRING, ORBIT_UNLIMITED, NULL);
}

struct req_opts {
	int min, max;
	const char *const *mandatory;
	size_t n_mandatory;
	const char *const *allow;
	size_t n_allow;
	const char *const *block;
	size_t n_block;
	orbit_kind kinds[2];
	size_t n_kinds;
};

static orbit_core *make_core(const char *id, const struct req_opts *o)
{
	orbit_core *c = orbit_core_new(W.bus, id, &W.t, NULL);
	ck_assert_ptr_nonnull(c);
	orbit_spec ins[2], outs[2];
	size_t n = o->n_kinds ? o->n_kinds : 1;
	for (size_t i = 0; i < n; i++) {
		orbit_kind k = o->n_kinds ? o->kinds[i] : ORBIT_KIND_STRING;
		orbit_spec_init_kind(&ins[i], k);
		orbit_spec_init_kind(&outs[i], k);
	}
	orbit_requirement r = {
		.operation = "lowercase",
		.minimum = o->min,
		.maximum = o->max,
		.mandatory = o->mandatory,
		.n_mandatory = o->n_mandatory,
		.allowlist = o->allow,
		.n_allowlist = o->n_allow,
		.has_allowlist = o->allow != NULL,
		.blocklist = o->block,
		.n_blocklist = o->n_block,
		.has_blocklist = o->block != NULL,
		.inputs = ins,
		.n_inputs = n,
		.outputs = outs,
		.n_outputs = n,
	};
	ck_assert_int_eq(orbit_core_require(c, &r), 0);
	for (size_t i = 0; i < n; i++) {
		orbit_spec_clear(&ins[i]);
		orbit_spec_clear(&outs[i]);
	}
	ck_assert_int_eq(orbit_core_set_sink(c, "lowercase", sink, NULL), 0);
	orbit_orbiter_set_event_cb(orbit_core_orbiter(c), on_event, NULL);
	return c;
}

static bool core_compliant(void *arg)
{
	return orbit_core_compliant(arg);
}

static bool core_not_compliant(void *arg)
{
	return !orbit_core_compliant(arg);
}

struct count_wait {
	orbit_orbiter *o;
	size_t conns;
};

static bool has_conns(void *arg)
{
	struct count_wait *w = arg;
	return orbit_orbiter_connection_count(w->o) == w->conns &&
	       orbit_orbiter_pending_count(w->o) == 0;
}

static bool wait_conns(orbit_orbiter *o, size_t n, double timeout)
{
	struct count_wait w = {o, n};
	return test_run_until(W.base, has_conns, &w, timeout);
}

static bool never(void *arg)
{
	(void)arg;
	return false;
}

/* Let the system run for a while to show something does NOT happen. */
static void settle(double seconds)
{
	test_run_until(W.base, never, NULL, seconds);
}

/* ---- handshake and compliance ---- */

START_TEST(three_plugins_reach_compliance)
{
	struct req_opts o = {.min = 3, .max = ORBIT_UNLIMITED};
	W.core = make_core("core1", &o);
	add_plugin("p1");
	add_plugin("p2");
	add_plugin("p3");
	for (size_t i = 0; i < 3; i++)
		ck_assert_int_eq(orbit_plugin_start(W.plugins[i]), 0);
	ck_assert_int_eq(orbit_core_start(W.core), 0);
	ck_assert(test_run_until(W.base, core_compliant, W.core, 5));
	ck_assert(wait_conns(orbit_core_orbiter(W.core), 3, 5));
	for (size_t i = 0; i < 3; i++)
		ck_assert_uint_eq(orbit_orbiter_connection_count(orbit_plugin_orbiter(W.plugins[i])),
				  1);
	orbit_requirement_status st;
	ck_assert_int_eq(orbit_core_requirement_status(W.core, "lowercase", &st), 0);
	ck_assert(st.satisfied);
	ck_assert_uint_eq(st.connected, 3);
}
END_TEST

START_TEST(minimum_waits_for_enough_plugins)
{
	struct req_opts o = {.min = 2, .max = ORBIT_UNLIMITED};
	W.core = make_core("core1", &o);
	add_plugin("p1");
	orbit_plugin_start(W.plugins[0]);
	orbit_core_start(W.core);
	ck_assert(wait_conns(orbit_core_orbiter(W.core), 1, 5));
	settle(0.2);
	ck_assert(!orbit_core_compliant(W.core));
	add_plugin("p2");
	orbit_plugin_start(W.plugins[1]);
	ck_assert(test_run_until(W.base, core_compliant, W.core, 5));
}
END_TEST

START_TEST(mandatory_accepts_and_refuses)
{
	const char *mand[] = {"p2"};
	struct req_opts o = {.min = 0, .max = ORBIT_UNLIMITED, .mandatory = mand, .n_mandatory = 1};
	W.core = make_core("core1", &o);
	add_plugin("p1");
	orbit_plugin_start(W.plugins[0]);
	orbit_core_start(W.core);
	ck_assert(wait_conns(orbit_core_orbiter(W.core), 1, 5));
	settle(0.2);
	ck_assert(!orbit_core_compliant(W.core)); /* p1 is not the mandatory one */
	add_plugin("p2");
	orbit_plugin_start(W.plugins[1]);
	ck_assert(test_run_until(W.base, core_compliant, W.core, 5));
}
END_TEST

START_TEST(mandatory_does_not_count_toward_minimum)
{
	const char *mand[] = {"p1"};
	struct req_opts o = {.min = 1, .max = 1, .mandatory = mand, .n_mandatory = 1};
	W.core = make_core("core1", &o);
	add_plugin("p1");
	orbit_plugin_start(W.plugins[0]);
	orbit_core_start(W.core);
	ck_assert(wait_conns(orbit_core_orbiter(W.core), 1, 5));
	settle(0.2);
	ck_assert(!orbit_core_compliant(W.core));
	add_plugin("p2");
	orbit_plugin_start(W.plugins[1]);
	ck_assert(test_run_until(W.base, core_compliant, W.core, 5));
	ck_assert_uint_eq(orbit_orbiter_connection_count(orbit_core_orbiter(W.core)), 2);
}
END_TEST

START_TEST(maximum_never_over_connects)
{
	struct req_opts o = {.min = 1, .max = 1};
	W.core = make_core("core1", &o);
	add_plugin("p1");
	add_plugin("p2");
	add_plugin("p3");
	for (size_t i = 0; i < 3; i++)
		orbit_plugin_start(W.plugins[i]);
	orbit_core_start(W.core);
	ck_assert(test_run_until(W.base, core_compliant, W.core, 5));
	settle(0.3);
	ck_assert_uint_eq(orbit_orbiter_connection_count(orbit_core_orbiter(W.core)), 1);
	size_t plugin_side = 0;
	for (size_t i = 0; i < 3; i++)
		plugin_side += orbit_orbiter_connection_count(orbit_plugin_orbiter(W.plugins[i]));
	ck_assert_uint_eq(plugin_side, 1);
}
END_TEST

START_TEST(allowlist_accepts_only_listed)
{
	const char *allow[] = {"p2"};
	struct req_opts o = {.min = 1, .max = ORBIT_UNLIMITED, .allow = allow, .n_allow = 1};
	W.core = make_core("core1", &o);
	add_plugin("p1");
	add_plugin("p2");
	orbit_plugin_start(W.plugins[0]);
	orbit_plugin_start(W.plugins[1]);
	orbit_core_start(W.core);
	ck_assert(test_run_until(W.base, core_compliant, W.core, 5));
	settle(0.3);
	ck_assert_uint_eq(orbit_orbiter_connection_count(orbit_plugin_orbiter(W.plugins[0])), 0);
	ck_assert_uint_eq(orbit_orbiter_connection_count(orbit_plugin_orbiter(W.plugins[1])), 1);
}
END_TEST

START_TEST(blocklist_refuses_listed)
{
	const char *block[] = {"p1"};
	struct req_opts o = {.min = 1, .max = ORBIT_UNLIMITED, .block = block, .n_block = 1};
	W.core = make_core("core1", &o);
	add_plugin("p1");
	orbit_plugin_start(W.plugins[0]);
	orbit_core_start(W.core);
	settle(0.3);
	ck_assert(!orbit_core_compliant(W.core));
	ck_assert_uint_eq(orbit_orbiter_connection_count(orbit_core_orbiter(W.core)), 0);
	add_plugin("p2");
	orbit_plugin_start(W.plugins[1]);
	ck_assert(test_run_until(W.base, core_compliant, W.core, 5));
	ck_assert_uint_eq(orbit_orbiter_connection_count(orbit_plugin_orbiter(W.plugins[0])), 0);
}
END_TEST

START_TEST(plugin_maximum_shared_by_two_cores)
{
	struct req_opts o = {.min = 1, .max = ORBIT_UNLIMITED};
	/* No rediscovery within the test: only the plugin's re-offer can hand
	 * the freed slot to the other core. */
	W.t.discovering_interval = W.t.discovering_max_interval = 60;
	W.core = make_core("core1", &o);
	W.core2 = make_core("core2", &o);
	add_plugin_kind("p1", "lowercase", ORBIT_KIND_STRING, 1, NULL);
	orbit_plugin_start(W.plugins[0]);
	orbit_core_start(W.core);
	orbit_core_start(W.core2);
	ck_assert(wait_conns(orbit_plugin_orbiter(W.plugins[0]), 1, 5));
	settle(0.3);
	size_t c1 = orbit_orbiter_connection_count(orbit_core_orbiter(W.core));
	size_t c2 = orbit_orbiter_connection_count(orbit_core_orbiter(W.core2));
	ck_assert_uint_eq(c1 + c2, 1);
	ck_assert_uint_eq(orbit_orbiter_connection_count(orbit_plugin_orbiter(W.plugins[0])), 1);
	/* The winner no longer needs it: the freed slot goes to the other core. */
	orbit_core *winner = c1 ? W.core : W.core2, *loser = c1 ? W.core2 : W.core;
	ck_assert(!orbit_core_compliant(loser));
	ck_assert_int_eq(orbit_core_unrequire(winner, "lowercase"), 0);
	ck_assert(test_run_until(W.base, core_compliant, loser, 5));
	ck_assert_uint_eq(orbit_orbiter_connection_count(orbit_core_orbiter(winner)), 0);
}
END_TEST

START_TEST(late_plugin_is_picked_up)
{
	struct req_opts o = {.min = 1, .max = ORBIT_UNLIMITED};
	W.core = make_core("core1", &o);
	orbit_core_start(W.core);
	settle(0.2);
	ck_assert(!orbit_core_compliant(W.core));
	add_plugin("late");
	orbit_plugin_start(W.plugins[0]);
	ck_assert(test_run_until(W.base, core_compliant, W.core, 5));
}
END_TEST

START_TEST(plugin_stop_and_back)
{
	struct req_opts o = {.min = 1, .max = ORBIT_UNLIMITED};
	W.core = make_core("core1", &o);
	add_plugin("p1");
	orbit_plugin_start(W.plugins[0]);
	orbit_core_start(W.core);
	ck_assert(test_run_until(W.base, core_compliant, W.core, 5));
	orbit_plugin_stop(W.plugins[0]);
	ck_assert(test_run_until(W.base, core_not_compliant, W.core, 5));
	ck_assert_int_ge(W.graceless_disconnects, 2); /* one on each side */
	ck_assert_int_eq(orbit_plugin_start(W.plugins[0]), 0);
	ck_assert(test_run_until(W.base, core_compliant, W.core, 5));
}
END_TEST

/* ---- liveness ---- */

START_TEST(keepalives_keep_connection_alive)
{
	W.t.consider_others_dead_after = 0.4;
	W.t.send_keepalive_before_timelimit = 0.25;
	struct req_opts o = {.min = 1, .max = ORBIT_UNLIMITED};
	W.core = make_core("core1", &o);
	add_plugin("p1");
	orbit_plugin_start(W.plugins[0]);
	orbit_core_start(W.core);
	ck_assert(test_run_until(W.base, core_compliant, W.core, 5));
	settle(1.5); /* several dead-after periods */
	ck_assert_int_eq(W.dead_events, 0);
	ck_assert(orbit_core_compliant(W.core));
}
END_TEST

START_TEST(silent_plugin_is_declared_dead)
{
	W.t.consider_others_dead_after = 0.4;
	W.t.send_keepalive_before_timelimit = 0.25;
	orbit_timers silent = W.t;
	silent.send_keepalive_before_timelimit = -1000; /* this plugin never sends keepalives */
	struct req_opts o = {.min = 1, .max = ORBIT_UNLIMITED};
	W.core = make_core("core1", &o);
	add_plugin_kind("mute", "lowercase", ORBIT_KIND_STRING, ORBIT_UNLIMITED, &silent);
	orbit_plugin_start(W.plugins[0]);
	orbit_core_start(W.core);
	ck_assert(test_run_until(W.base, core_compliant, W.core, 5));
	int before = W.dead_events;
	ck_assert(test_run_until(W.base, core_not_compliant, W.core, 5));
	ck_assert_int_gt(W.dead_events, before);
}
END_TEST

/* ---- a raw protocol peer that never acks nor confirms ---- */

struct raw_peer {
	const char *id;
	bool confirm;
	int graceful_seen, requests_seen;
	char *response_topic, *close_topic;
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

static void raw_on_close(void *ctx, const char *topic, const orbit_payload *p)
{
	(void)topic;
	struct raw_peer *r = ctx;
	if (p->message_type && strcmp(p->message_type, "GracefulCloseConnectionMessage") == 0)
		r->graceful_seen++;
}

static void raw_on_reply(void *ctx, const char *topic, const orbit_payload *p)
{
	(void)topic;
	struct raw_peer *r = ctx;
	orbit_msg m;
	if (orbit_msg_decode(ORBIT_MSG_REQUEST, p->data, p->len, &m) < 0)
		return;
	r->requests_seen++;
	if (r->confirm) {
		char close_topic[128];
		snprintf(close_topic, sizeof(close_topic), "lowercase.%s.core1.close", r->id);
		orbit_bus_subscribe(W.bus, close_topic, raw_on_close, r);
		orbit_msg c = {.kind = ORBIT_MSG_CONFIRM};
		c.confirm.plugin_id = (char *)r->id;
		c.confirm.operation = (char *)"lowercase";
		c.confirm.input_topic = (char *)"lowercase.core1.raw.input.x";
		c.confirm.close_topic = close_topic;
		raw_send(m.request.response_topic, &c);
	}
	orbit_msg_clear(&m);
}

static void raw_on_discover(void *ctx, const char *topic, const orbit_payload *p)
{
	(void)topic;
	struct raw_peer *r = ctx;
	orbit_msg d;
	if (orbit_msg_decode(ORBIT_MSG_DISCOVER, p->data, p->len, &d) < 0)
		return;
	if (d.discover.n_queries == 1) {
		orbit_offered_op op = {.name = (char *)"lowercase"};
		op.input = d.discover.queries[0].inputs[0];
		op.output = d.discover.queries[0].outputs[0];
		orbit_msg m = {.kind = ORBIT_MSG_OFFER};
		m.offer.plugin_id = (char *)r->id;
		m.offer.ops = &op;
		m.offer.n_ops = 1;
		m.offer.reply_topic = (char *)"$handshake.raw.reply";
		m.offer.considered_dead_after = 120;
		m.offer.keepalive_topic = (char *)"$keepalive.raw";
		m.offer.keepalive_request_topic = (char *)"$keepalive.raw.request";
		raw_send(d.discover.offer_topic, &m);
	}
	orbit_msg_clear(&d);
}

static void raw_start(struct raw_peer *r)
{
	orbit_bus_subscribe(W.bus, "$handshake.discover", raw_on_discover, r);
	orbit_bus_subscribe(W.bus, "$handshake.raw.reply", raw_on_reply, r);
}

static void raw_stop(struct raw_peer *r)
{
	orbit_bus_unsubscribe(W.bus, "$handshake.discover", r);
	orbit_bus_unsubscribe(W.bus, "$handshake.raw.reply", r);
	orbit_bus_unsubscribe(W.bus, "lowercase.raw.core1.close", r);
}

static bool two_graceful(void *arg)
{
	(void)arg;
	return W.graceful_disconnects >= 2;
}

START_TEST(graceful_close_with_ack)
{
	struct req_opts o = {.min = 1, .max = ORBIT_UNLIMITED};
	W.core = make_core("core1", &o);
	add_plugin("p1");
	orbit_plugin_start(W.plugins[0]);
	orbit_core_start(W.core);
	ck_assert(test_run_until(W.base, core_compliant, W.core, 5));
	ck_assert_int_eq(orbit_orbiter_close(orbit_core_orbiter(W.core), "p1", "lowercase", true,
					     NULL),
			 0);
	/* plugin side on the close, core side on the ack */
	ck_assert(test_run_until(W.base, two_graceful, NULL, 5));
	ck_assert_int_eq(W.graceless_disconnects, 0);
}
END_TEST

static bool raw_requested(void *arg)
{
	return ((struct raw_peer *)arg)->requests_seen > 0;
}

START_TEST(graceful_close_times_out_into_graceless)
{
	W.t.graceful_close_timeout = 0.2;
	struct req_opts o = {.min = 1, .max = 1};
	W.core = make_core("core1", &o);
	struct raw_peer r = {.id = "raw", .confirm = true};
	raw_start(&r);
	orbit_core_start(W.core);
	ck_assert(test_run_until(W.base, core_compliant, W.core, 5));
	/* the peer stops answering handshakes but keeps listening on its close topic */
	orbit_bus_unsubscribe(W.bus, "$handshake.discover", &r);
	ck_assert_int_eq(orbit_orbiter_close(orbit_core_orbiter(W.core), "raw", "lowercase", true,
					     NULL),
			 0);
	ck_assert(wait_conns(orbit_core_orbiter(W.core), 0, 5));
	ck_assert_int_eq(r.graceful_seen, 1); /* sent once, never repeated */
	ck_assert_int_eq(W.graceless_disconnects, 1);
	raw_stop(&r);
}
END_TEST

START_TEST(pending_request_expires)
{
	W.t.pending_requests_expire_after = 0.2;
	struct req_opts o = {.min = 1, .max = 1};
	W.core = make_core("core1", &o);
	struct raw_peer r = {.id = "raw", .confirm = false};
	raw_start(&r);
	orbit_core_start(W.core);
	ck_assert(test_run_until(W.base, raw_requested, &r, 5));
	raw_stop(&r); /* no more offers: the one pending request must go away */
	ck_assert(wait_conns(orbit_core_orbiter(W.core), 0, 5));
	ck_assert_uint_eq(orbit_orbiter_pending_count(orbit_core_orbiter(W.core)), 0);
}
END_TEST

/* ---- execution ---- */

static orbit_payload hello(uint8_t **buf)
{
	orbit_value v = {.kind = ORBIT_KIND_STRING, .str = (char *)"HELLO", .str_len = 5};
	orbit_payload p;
	ck_assert_int_eq(orbit_value_encode(&v, ORBIT_FMT_NONE, &p, buf), 0);
	return p;
}

static bool outputs_at_least(void *arg)
{
	return W.outputs >= *(int *)arg;
}

static void connect_n(int n)
{
	struct req_opts o = {.min = n, .max = ORBIT_UNLIMITED};
	W.core = make_core("core1", &o);
	static const char *ids[] = {"p0", "p1", "p2", "p3"};
	for (int i = 0; i < n; i++) {
		add_plugin(ids[i]);
		orbit_plugin_start(W.plugins[i]);
	}
	orbit_core_start(W.core);
	ck_assert(test_run_until(W.base, core_compliant, W.core, 5));
	ck_assert(wait_conns(orbit_core_orbiter(W.core), (size_t)n, 5));
}

static int exec_mode(orbit_exec_mode mode, const char *plugin, const orbit_payload *items,
		     size_t n)
{
	orbit_exec x = {
		.mode = mode,
		.plugin_id = plugin,
		.schema = orbit_kind_schema(ORBIT_KIND_STRING, ORBIT_FLAVOUR_PY313),
		.items = items,
		.n_items = n,
	};
	return orbit_core_execute(W.core, "lowercase", &x);
}

START_TEST(execute_all_any_plugin)
{
	connect_n(3);
	uint8_t *buf;
	orbit_payload p = hello(&buf);
	ck_assert_int_eq(exec_mode(ORBIT_EXEC_ALL, NULL, &p, 1), 3);
	int want = 3;
	ck_assert(test_run_until(W.base, outputs_at_least, &want, 5));
	ck_assert_str_eq(W.last_output, "hello");
	ck_assert_int_eq(exec_mode(ORBIT_EXEC_ANY, NULL, &p, 1), 1);
	want = 4;
	ck_assert(test_run_until(W.base, outputs_at_least, &want, 5));
	ck_assert_int_eq(exec_mode(ORBIT_EXEC_PLUGIN, "p1", &p, 1), 1);
	want = 5;
	ck_assert(test_run_until(W.base, outputs_at_least, &want, 5));
	ck_assert_int_eq(W.per_plugin_inputs[0] + W.per_plugin_inputs[1] + W.per_plugin_inputs[2], 5);
	ck_assert_int_ge(W.per_plugin_inputs[1], 2); /* one from "all", one by name */
	ck_assert_int_eq(exec_mode(ORBIT_EXEC_PLUGIN, "nobody", &p, 1), -ENOENT);
	settle(0.1);
	ck_assert_int_eq(W.outputs, 5);
	free(buf);
}
END_TEST

START_TEST(execute_distributed_four_inputs_two_plugins)
{
	connect_n(2);
	uint8_t *buf;
	orbit_payload p = hello(&buf);
	orbit_payload items[4] = {p, p, p, p};
	ck_assert_int_eq(exec_mode(ORBIT_EXEC_DISTRIBUTED, NULL, items, 4), 4);
	int want = 4;
	ck_assert(test_run_until(W.base, outputs_at_least, &want, 5));
	ck_assert_int_eq(W.per_plugin_inputs[0], 2);
	ck_assert_int_eq(W.per_plugin_inputs[1], 2);
	free(buf);
}
END_TEST

START_TEST(execute_without_connection_is_an_error)
{
	struct req_opts o = {.min = 1, .max = ORBIT_UNLIMITED};
	W.core = make_core("core1", &o);
	orbit_core_start(W.core);
	uint8_t *buf;
	orbit_payload p = hello(&buf);
	ck_assert_int_eq(exec_mode(ORBIT_EXEC_ALL, NULL, &p, 1), -ENOENT);
	ck_assert_int_eq(exec_mode(ORBIT_EXEC_ANY, NULL, &p, 1), -ENOENT);
	ck_assert_int_eq(exec_mode(ORBIT_EXEC_DISTRIBUTED, NULL, &p, 1), -ENOENT);
	free(buf);
}
END_TEST

START_TEST(same_operation_different_input_schemas)
{
	struct req_opts o = {.min = 2, .max = ORBIT_UNLIMITED,
			     .kinds = {ORBIT_KIND_STRING, ORBIT_KIND_INT64}, .n_kinds = 2};
	W.core = make_core("core1", &o);
	add_plugin_kind("s", "lowercase", ORBIT_KIND_STRING, ORBIT_UNLIMITED, NULL);
	add_plugin_kind("i", "lowercase", ORBIT_KIND_INT64, ORBIT_UNLIMITED, NULL);
	orbit_plugin_start(W.plugins[0]);
	orbit_plugin_start(W.plugins[1]);
	orbit_core_start(W.core);
	ck_assert(test_run_until(W.base, core_compliant, W.core, 5));
	uint8_t *buf;
	orbit_payload p = hello(&buf);
	ck_assert_int_eq(exec_mode(ORBIT_EXEC_ALL, NULL, &p, 1), 1);
	free(buf);
	orbit_value v = {.kind = ORBIT_KIND_INT64, .i = 42};
	ck_assert_int_eq(orbit_value_encode(&v, ORBIT_FMT_NONE, &p, &buf), 0);
	orbit_exec x = {.mode = ORBIT_EXEC_ALL,
			.schema = orbit_kind_schema(ORBIT_KIND_INT64, ORBIT_FLAVOUR_PY312),
			.items = &p,
			.n_items = 1};
	ck_assert_int_eq(orbit_core_execute(W.core, "lowercase", &x), 1);
	int want = 2;
	ck_assert(test_run_until(W.base, outputs_at_least, &want, 5));
	ck_assert_int_eq(W.per_plugin_inputs[0], 1);
	ck_assert_int_eq(W.per_plugin_inputs[1], 1);
	free(buf);
}
END_TEST

static uint8_t setup_seen[8];
static size_t setup_len = SIZE_MAX;

static void record_setup(void *ctx, orbit_plugin *p, const orbit_conn_info *conn,
			 const uint8_t *data, size_t len)
{
	(void)ctx;
	(void)p;
	(void)conn;
	setup_len = len;
	memcpy(setup_seen, data, len < sizeof(setup_seen) ? len : sizeof(setup_seen));
}

START_TEST(setup_data_reaches_the_operation)
{
	orbit_spec str;
	orbit_spec_init_kind(&str, ORBIT_KIND_STRING);
	W.core = orbit_core_new(W.bus, "core1", &W.t, NULL);
	uint8_t data[] = {0x01, 0x02};
	orbit_requirement r = {.operation = "lowercase", .minimum = 1, .maximum = 1,
			       .inputs = &str, .n_inputs = 1, .outputs = &str, .n_outputs = 1,
			       .setup_data = {data, sizeof(data), true}};
	ck_assert_int_eq(orbit_core_require(W.core, &r), 0);
	orbit_plugin *p = orbit_plugin_new(W.bus, "p1", &W.t, NULL);
	W.plugins[W.n_plugins++] = p;
	orbit_operation op = {.name = "lowercase", .input = str, .output = str,
			      .policy = {.maximum = ORBIT_UNLIMITED}, .handler = lowercase,
			      .setup = record_setup};
	ck_assert_int_eq(orbit_plugin_add_operation(p, &op), 0);
	orbit_spec_clear(&str);
	setup_len = SIZE_MAX;
	orbit_plugin_start(p);
	orbit_core_start(W.core);
	ck_assert(test_run_until(W.base, core_compliant, W.core, 5));
	ck_assert_uint_eq(setup_len, 2);
	ck_assert_int_eq(setup_seen[0], 0x01);
	ck_assert_int_eq(setup_seen[1], 0x02);
}
END_TEST

static Suite *engine_suite(void)
{
	Suite *s = suite_create("engine");
	TCase *hs = tcase_create("handshake");
	tcase_add_checked_fixture(hs, setup, teardown);
	tcase_set_timeout(hs, 30);
	tcase_add_test(hs, three_plugins_reach_compliance);
	tcase_add_test(hs, minimum_waits_for_enough_plugins);
	tcase_add_test(hs, mandatory_accepts_and_refuses);
	tcase_add_test(hs, mandatory_does_not_count_toward_minimum);
	tcase_add_test(hs, maximum_never_over_connects);
	tcase_add_test(hs, allowlist_accepts_only_listed);
	tcase_add_test(hs, blocklist_refuses_listed);
	tcase_add_test(hs, plugin_maximum_shared_by_two_cores);
	tcase_add_test(hs, late_plugin_is_picked_up);
	tcase_add_test(hs, plugin_stop_and_back);
	tcase_add_test(hs, setup_data_reaches_the_operation);
	suite_add_tcase(s, hs);
	TCase *lv = tcase_create("liveness");
	tcase_add_checked_fixture(lv, setup, teardown);
	tcase_set_timeout(lv, 30);
	tcase_add_test(lv, keepalives_keep_connection_alive);
	tcase_add_test(lv, silent_plugin_is_declared_dead);
	tcase_add_test(lv, graceful_close_with_ack);
	tcase_add_test(lv, graceful_close_times_out_into_graceless);
	tcase_add_test(lv, pending_request_expires);
	suite_add_tcase(s, lv);
	TCase *ex = tcase_create("execute");
	tcase_add_checked_fixture(ex, setup, teardown);
	tcase_set_timeout(ex, 30);
	tcase_add_test(ex, execute_all_any_plugin);
	tcase_add_test(ex, execute_distributed_four_inputs_two_plugins);
	tcase_add_test(ex, execute_without_connection_is_an_error);
	tcase_add_test(ex, same_operation_different_input_schemas);
	suite_add_tcase(s, ex);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(engine_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
