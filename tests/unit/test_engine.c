/* test_engine.c — real cores and plugins on the in-process bus: handshake,
 * constraints, policies, liveness, close procedures, execution modes.
 *
 * Time is the test's: every orbiter reads a manual clock (W.now) through
 * orbit_orbiter_set_clock and has loop_interval < 0, so no libevent timer
 * exists (no_timer_armed checks it at every step) and housekeeping runs only
 * when the test calls orbit_orbiter_tick. Messages are delivered by
 * orbit_local_bus_flush on the test's stack. A test therefore steps time to
 * the exact instants a timer is due and asserts what happened at, and just
 * before, each one; nothing depends on how fast the machine is. Times are
 * T0 plus multiples of EPS, all exact in binary floating point, so
 * "deadline" and "deadline + EPS" are exactly what the engine compares.
 *
 * "Nothing happened" is asserted only after evidence that it had its
 * chance: the ticks run, the Discovers, Offers or keepalives seen on the bus
 * by the spies below. */
#include "orbit/builtin.h"
#include "orbit/core.h"
#include "orbit/lender.h"
#include "orbit/log.h"
#include "wire.h"

#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#define MAXP 8
#define MAXSPY 16
#define T0 1000.0
#define EPS (1.0 / 64)

/* Everything published on one topic (a test subscriber on the bus). */
struct spy {
	char topic[96];
	int n;
	int kinds[ORBIT_MSG__COUNT];
};

struct world {
	struct event_base *base;
	orbit_bus *bus;
	double now;
	orbit_core *core, *core2;
	bool core_running, core2_running;
	orbit_lender *plugins[MAXP];
	bool plugin_running[MAXP];
	size_t n_plugins;
	orbit_timers t;
	struct spy spies[MAXSPY];
	size_t n_spies;
	struct spy *discovers; /* every Discover of every core */
	int base_events;       /* what the bare event_base counts as added */
	/* observations */
	int ticks;
	int outputs;
	char last_output[128];
	int per_plugin_inputs[MAXP];
	int dead_events, graceful_disconnects, graceless_disconnects;
	char last_dead[32];
	int nested_tick_rc;
	bool compliance[32]; /* the core's compliance events, in order */
	int compliance_changes;
};

static struct world W;

static void on_spy(void *ctx, const char *topic, const orbit_payload *p)
{
	(void)topic;
	struct spy *s = ctx;
	s->n++;
	int k = p->message_type ? orbit_msg_kind_from_name(p->message_type) : -1;
	if (k >= 0 && k < ORBIT_MSG__COUNT)
		s->kinds[k]++;
}

static struct spy *spy_on(const char *topic)
{
	ck_assert_uint_lt(W.n_spies, MAXSPY);
	struct spy *s = &W.spies[W.n_spies++];
	snprintf(s->topic, sizeof s->topic, "%s", topic);
	ck_assert_int_eq(orbit_bus_subscribe(W.bus, s->topic, on_spy, s), 0);
	return s;
}

static double test_clock(void *ctx)
{
	return ((const struct world *)ctx)->now;
}

static void setup(void)
{
	memset(&W, 0, sizeof(W));
	W.base = event_base_new();
	W.base_events = event_base_get_num_events(W.base, EVENT_BASE_COUNT_ADDED);
	W.bus = orbit_local_bus_new(W.base);
	W.now = T0;
	/* The protocol's defaults (SPEC §5.1): with a manual clock they cost
	 * nothing to wait for. Housekeeping is the test's (loop_interval < 0). */
	orbit_timers_default(&W.t);
	W.t.loop_interval = -1;
	W.discovers = spy_on("$handshake.discover");
}

static void teardown(void)
{
	orbit_core_free(W.core);
	orbit_core_free(W.core2);
	for (size_t i = 0; i < W.n_plugins; i++)
		orbit_lender_free(W.plugins[i]);
	/* The closes the frees published are still queued: the bus drops them. */
	orbit_bus_free(W.bus);
	event_base_free(W.base);
}

/* Events added to the base and not merely activated (libevent counts an
 * event_active'd event as added too: the bus's drain and a plugin's
 * re-offer are such events, never timers). */
static int armed_events(void)
{
	return event_base_get_num_events(W.base, EVENT_BASE_COUNT_ADDED) -
	       event_base_get_num_events(W.base, EVENT_BASE_COUNT_ACTIVE) - W.base_events;
}

/* No libevent timer or fd event is armed: nothing can happen unless the test
 * delivers messages or ticks. */
static void no_timer_armed(void)
{
	ck_assert_int_eq(armed_events(), 0);
}

/* Deliver everything queued, including what the deliveries publish, and the
 * engine's deferred work (a plugin's re-offer of a freed slot is an active
 * event: EVLOOP_NONBLOCK runs active events only, and there is no timer to
 * wait for). Returns how many messages flush delivered. */
static int deliver(void)
{
	int total = 0;
	no_timer_armed();
	for (int i = 0; i < 1000; i++) {
		int n = orbit_local_bus_flush(W.bus, 1000);
		ck_assert_int_ge(n, 0);
		total += n;
		if (n == 0 && event_base_get_num_events(W.base, EVENT_BASE_COUNT_ACTIVE) == 0)
			return total;
		event_base_loop(W.base, EVLOOP_NONBLOCK);
	}
	ck_abort_msg("the bus never went quiet");
	return total;
}

static void tick_one(orbit_orbiter *o, bool running)
{
	ck_assert_int_eq(orbit_orbiter_tick(o), running ? 0 : -ENOTCONN);
}

/* One housekeeping pass of every orbiter at W.now (cores first), then
 * delivery of what they sent. */
static void tick_all(void)
{
	if (W.core)
		tick_one(orbit_core_orbiter(W.core), W.core_running);
	if (W.core2)
		tick_one(orbit_core_orbiter(W.core2), W.core2_running);
	for (size_t i = 0; i < W.n_plugins; i++)
		tick_one(orbit_lender_orbiter(W.plugins[i]), W.plugin_running[i]);
	W.ticks++;
	deliver();
}

/* Move the clock to t (never back) and tick there. */
static void at(double t)
{
	ck_assert(t >= W.now);
	W.now = t;
	tick_all();
}

/* Tick every `step` seconds after now, up to and including t. */
static void run_to(double t, double step)
{
	while (W.now + step <= t)
		at(W.now + step);
}

static void on_event(void *ctx, orbit_orbiter *o, const orbit_event *ev)
{
	(void)ctx;
	switch (ev->kind) {
	case ORBIT_EV_REMOTE_DEAD:
		W.dead_events++;
		snprintf(W.last_dead, sizeof W.last_dead, "%s", ev->remote_id);
		/* Housekeeping is running: a nested pass is refused. */
		W.nested_tick_rc = orbit_orbiter_tick(o);
		break;
	case ORBIT_EV_DISCONNECTED:
		if (ev->graceful)
			W.graceful_disconnects++;
		else
			W.graceless_disconnects++;
		break;
	case ORBIT_EV_COMPLIANCE:
		if (W.compliance_changes < (int)(sizeof W.compliance / sizeof *W.compliance))
			W.compliance[W.compliance_changes] = ev->compliant;
		W.compliance_changes++;
		break;
	default:
		break;
	}
}

static void on_test_clock(orbit_orbiter *o)
{
	ck_assert_int_eq(orbit_orbiter_set_clock(o, test_clock, &W), 0);
	orbit_orbiter_set_event_cb(o, on_event, NULL);
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
static void lowercase(void *ctx, orbit_lender *p, const orbit_conn_info *conn,
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
			orbit_lender_reply(p, conn->remote_id, conn->operation, &out);
		free(buf);
	} else {
		orbit_lender_reply(p, conn->remote_id, conn->operation, in);
	}
	orbit_value_clear(&v);
}

static orbit_lender *add_plugin_kind(const char *id, const char *op, orbit_kind in, int maximum,
				     const orbit_timers *t)
{
	orbit_lender *p = orbit_lender_new(W.bus, id, t ? t : &W.t, NULL);
	ck_assert_ptr_nonnull(p);
	orbit_lent_op def = {.name = op, .handler = lowercase};
	def.ctx = (void *)(uintptr_t)W.n_plugins;
	def.policy.maximum = maximum;
	ck_assert_int_eq(orbit_spec_init_kind(&def.input, in), 0);
	ck_assert_int_eq(orbit_spec_init_kind(&def.output, in), 0);
	ck_assert_int_eq(orbit_lender_add_operation(p, &def), 0);
	orbit_spec_clear(&def.input);
	orbit_spec_clear(&def.output);
	on_test_clock(orbit_lender_orbiter(p));
	W.plugins[W.n_plugins++] = p;
	return p;
}

static orbit_lender *add_plugin(const char *id)
{
	return add_plugin_kind(id, "lowercase", ORBIT_KIND_STRING, ORBIT_UNLIMITED, NULL);
}

static void start_plugin(size_t i)
{
	ck_assert_int_eq(orbit_lender_start(W.plugins[i]), 0);
	W.plugin_running[i] = true;
}

static void stop_plugin(size_t i)
{
	orbit_lender_stop(W.plugins[i]);
	W.plugin_running[i] = false;
}

static void start_core(orbit_core *c)
{
	ck_assert_int_eq(orbit_core_start(c), 0);
	if (c == W.core)
		W.core_running = true;
	else
		W.core2_running = true;
}

struct req_opts {
	int min, max;
	orbit_idlist mandatory, allow, block;
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
		.allowlist = o->allow,
		.blocklist = o->block,
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
	on_test_clock(orbit_core_orbiter(c));
	return c;
}

/* The usual start: core1 with requirement o and plugin p1, both started and
 * the handshake delivered (p1 is connected if o lets it be). */
static void core1_with_p1(const struct req_opts *o)
{
	W.core = make_core("core1", o);
	add_plugin("p1");
	start_plugin(0);
	start_core(W.core);
	deliver();
}

static size_t conns(orbit_orbiter *o)
{
	return orbit_orbiter_connection_count(o);
}

static size_t core_conns(void)
{
	return conns(orbit_core_orbiter(W.core));
}

static size_t plugin_conns(size_t i)
{
	return conns(orbit_lender_orbiter(W.plugins[i]));
}

struct first_conn {
	double created, last_use;
	bool soft_closed;
	int n;
};

static int note_conn(void *ctx, const orbit_conn_info *c)
{
	struct first_conn *f = ctx;
	f->n++;
	f->created = c->created;
	f->last_use = c->last_use;
	f->soft_closed = c->soft_closed;
	return 0;
}

/* The only connection of o (asserted to be the only one). */
static struct first_conn only_conn(orbit_orbiter *o)
{
	struct first_conn f = {0};
	orbit_orbiter_foreach_connection(o, note_conn, &f);
	ck_assert_int_eq(f.n, 1);
	return f;
}

/* ---- the clock and tick API ---- */

START_TEST(clock_and_tick_api)
{
	orbit_timers t = W.t;
	t.loop_interval = 0;
	ck_assert_ptr_null(orbit_core_new(W.bus, "c0", &t, NULL));
	ck_assert_int_eq(errno, EINVAL);

	/* A periodic orbiter arms exactly its tick timer, a manual one none. */
	t.loop_interval = 1;
	orbit_core *periodic = orbit_core_new(W.bus, "cp", &t, NULL);
	ck_assert_ptr_nonnull(periodic);
	ck_assert_int_eq(orbit_core_start(periodic), 0);
	ck_assert_int_eq(armed_events(), 1);
	orbit_core_free(periodic);
	no_timer_armed();

	struct req_opts o = {.min = 1, .max = ORBIT_UNLIMITED};
	W.core = make_core("core1", &o);
	orbit_orbiter *co = orbit_core_orbiter(W.core);
	ck_assert_int_eq(orbit_orbiter_tick(co), -ENOTCONN);
	ck_assert_int_eq(orbit_orbiter_tick(NULL), -EINVAL);
	ck_assert_int_eq(orbit_orbiter_set_clock(NULL, test_clock, &W), -EINVAL);
	ck_assert(orbit_orbiter_now(co) == T0);
	W.now = T0 + 5;
	ck_assert(orbit_orbiter_now(co) == T0 + 5);
	start_core(W.core);
	no_timer_armed();
	ck_assert_int_eq(orbit_orbiter_set_clock(co, NULL, NULL), -EBUSY);
	ck_assert_int_eq(orbit_orbiter_tick(co), 0);
	orbit_core_stop(W.core);
	W.core_running = false;
	/* Back on the system clock once stopped. */
	ck_assert_int_eq(orbit_orbiter_set_clock(co, NULL, NULL), 0);
	ck_assert(orbit_orbiter_now(co) != T0 + 5);
	ck_assert_int_eq(orbit_orbiter_set_clock(co, test_clock, &W), 0);
	ck_assert(orbit_orbiter_now(co) == T0 + 5);
}
END_TEST

/* ---- handshake and compliance ---- */

START_TEST(three_plugins_reach_compliance)
{
	struct req_opts o = {.min = 3, .max = ORBIT_UNLIMITED};
	W.core = make_core("core1", &o);
	add_plugin("p1");
	add_plugin("p2");
	add_plugin("p3");
	for (size_t i = 0; i < 3; i++)
		start_plugin(i);
	start_core(W.core);
	deliver();
	/* The whole handshake is messages: no time passed, no tick ran. */
	ck_assert_int_eq(W.ticks, 0);
	ck_assert_int_eq(W.discovers->n, 1);
	ck_assert(orbit_core_compliant(W.core));
	ck_assert_uint_eq(core_conns(), 3);
	ck_assert_uint_eq(orbit_orbiter_pending_count(orbit_core_orbiter(W.core)), 0);
	for (size_t i = 0; i < 3; i++) {
		ck_assert_uint_eq(plugin_conns(i), 1);
		ck_assert_uint_eq(orbit_orbiter_pending_count(orbit_lender_orbiter(W.plugins[i])), 0);
	}
	orbit_requirement_status st;
	ck_assert_int_eq(orbit_core_requirement_status(W.core, "lowercase", &st), 0);
	ck_assert(st.satisfied);
	ck_assert_uint_eq(st.connected, 3);
	struct first_conn c = only_conn(orbit_lender_orbiter(W.plugins[0]));
	ck_assert(c.created == T0 && c.last_use == T0);
}
END_TEST

START_TEST(minimum_waits_for_enough_plugins)
{
	struct req_opts o = {.min = 2, .max = ORBIT_UNLIMITED};
	core1_with_p1(&o);
	ck_assert_uint_eq(core_conns(), 1);
	/* Five more Discovers (every discovering_interval while not
	 * compliant): p1 is connected already, nobody else answers. */
	run_to(T0 + 10, 1);
	ck_assert_int_eq(W.discovers->n, 6);
	ck_assert_uint_eq(core_conns(), 1);
	ck_assert(!orbit_core_compliant(W.core));
	add_plugin("p2");
	start_plugin(1);
	deliver();
	/* A plugin offers only when asked: compliant at the next Discover. */
	at(T0 + 12 - EPS);
	ck_assert(!orbit_core_compliant(W.core));
	ck_assert_int_eq(W.discovers->n, 6);
	at(T0 + 12);
	ck_assert_int_eq(W.discovers->n, 7);
	ck_assert(orbit_core_compliant(W.core));
	ck_assert_uint_eq(core_conns(), 2);
}
END_TEST

START_TEST(mandatory_accepts_and_refuses)
{
	const char *mand[] = {"p2", NULL};
	struct req_opts o = {.min = 0, .max = ORBIT_UNLIMITED, .mandatory = mand};
	core1_with_p1(&o);
	ck_assert_uint_eq(core_conns(), 1);
	run_to(T0 + 6, 1);
	ck_assert_int_eq(W.discovers->n, 4);
	ck_assert(!orbit_core_compliant(W.core)); /* p1 is not the mandatory one */
	orbit_requirement_status st;
	ck_assert_int_eq(orbit_core_requirement_status(W.core, "lowercase", &st), 0);
	ck_assert_uint_eq(st.mandatory_missing, 1);
	add_plugin("p2");
	start_plugin(1);
	at(T0 + 8);
	ck_assert(orbit_core_compliant(W.core));
	ck_assert_uint_eq(core_conns(), 2);
}
END_TEST

START_TEST(mandatory_does_not_count_toward_minimum)
{
	const char *mand[] = {"p1", NULL};
	struct req_opts o = {.min = 1, .max = 1, .mandatory = mand};
	core1_with_p1(&o);
	ck_assert_uint_eq(core_conns(), 1);
	/* Still room for one counted plugin: the core keeps asking. */
	run_to(T0 + 6, 1);
	ck_assert_int_eq(W.discovers->n, 4);
	ck_assert(!orbit_core_compliant(W.core));
	add_plugin("p2");
	start_plugin(1);
	at(T0 + 8);
	ck_assert(orbit_core_compliant(W.core));
	ck_assert_uint_eq(core_conns(), 2);
}
END_TEST

/* Full but a mandatory plugin missing: the Discover's allowlist narrows to
 * it, so the plugin already turned away does not offer again; a plugin
 * listed twice is one plugin. */
START_TEST(full_core_asks_only_missing_mandatory)
{
	const char *mand[] = {"p3", "p3", NULL};
	struct req_opts o = {.min = 1, .max = 1, .mandatory = mand};
	W.core = make_core("core1", &o);
	add_plugin("p1");
	add_plugin("p2");
	struct spy *offers = spy_on("$handshake.core1.offer");
	start_plugin(0);
	start_plugin(1);
	start_core(W.core);
	deliver();
	ck_assert_int_eq(offers->n, 2);
	ck_assert_uint_eq(core_conns(), 1);
	orbit_requirement_status st;
	ck_assert_int_eq(orbit_core_requirement_status(W.core, "lowercase", &st), 0);
	ck_assert_uint_eq(st.mandatory_missing, 1);
	run_to(T0 + 6, 1);
	ck_assert_int_eq(W.discovers->n, 4);
	ck_assert_int_eq(offers->n, 2);
	ck_assert(!orbit_core_compliant(W.core));
	add_plugin("p3");
	start_plugin(2);
	at(T0 + 8);
	ck_assert_int_eq(offers->n, 3);
	ck_assert(orbit_core_compliant(W.core));
	ck_assert_uint_eq(core_conns(), 2);
}
END_TEST

START_TEST(maximum_never_over_connects)
{
	struct req_opts o = {.min = 1, .max = 1};
	W.core = make_core("core1", &o);
	add_plugin("p1");
	add_plugin("p2");
	add_plugin("p3");
	struct spy *offers = spy_on("$handshake.core1.offer");
	struct spy *replies[3] = {spy_on("$handshake.p1.reply"), spy_on("$handshake.p2.reply"),
				  spy_on("$handshake.p3.reply")};
	for (size_t i = 0; i < 3; i++)
		start_plugin(i);
	start_core(W.core);
	deliver();
	ck_assert(orbit_core_compliant(W.core));
	/* All three offered at once; one Request, two Rejects. */
	ck_assert_int_eq(offers->n, 3);
	int requests = 0, rejects = 0;
	for (size_t i = 0; i < 3; i++) {
		requests += replies[i]->kinds[ORBIT_MSG_REQUEST];
		rejects += replies[i]->kinds[ORBIT_MSG_REJECT];
	}
	ck_assert_int_eq(requests, 1);
	ck_assert_int_eq(rejects, 2);
	/* Full: the core stops asking (room is what a Discover is for) while
	 * housekeeping keeps running. */
	run_to(T0 + 100, 1);
	ck_assert_int_eq(W.ticks, 100);
	ck_assert_int_eq(W.discovers->n, 1);
	ck_assert_int_eq(offers->n, 3);
	ck_assert_uint_eq(core_conns(), 1);
	size_t plugin_side = 0;
	for (size_t i = 0; i < 3; i++) {
		plugin_side += plugin_conns(i);
		ck_assert_uint_eq(orbit_orbiter_pending_count(orbit_lender_orbiter(W.plugins[i])), 0);
	}
	ck_assert_uint_eq(plugin_side, 1);
}
END_TEST

START_TEST(allowlist_accepts_only_listed)
{
	const char *allow[] = {"p2", NULL};
	struct req_opts o = {.min = 1, .max = ORBIT_UNLIMITED, .allow = allow};
	W.core = make_core("core1", &o);
	add_plugin("p1");
	add_plugin("p2");
	struct spy *offers = spy_on("$handshake.core1.offer");
	start_plugin(0);
	start_plugin(1);
	start_core(W.core);
	/* Both plugins hear every Discover; the query's allowlist leaves p1 out. */
	run_to(T0 + 30, 1);
	ck_assert(orbit_core_compliant(W.core));
	ck_assert_int_eq(W.discovers->n, 5); /* T0, +2, +6, +14, +30 (back-off) */
	ck_assert_int_eq(offers->n, 1);      /* p2's, once; p1 never offers */
	ck_assert_uint_eq(plugin_conns(0), 0);
	ck_assert_uint_eq(orbit_orbiter_pending_count(orbit_lender_orbiter(W.plugins[0])), 0);
	ck_assert_uint_eq(plugin_conns(1), 1);
}
END_TEST

START_TEST(blocklist_refuses_listed)
{
	const char *block[] = {"p1", NULL};
	struct req_opts o = {.min = 1, .max = ORBIT_UNLIMITED, .block = block};
	W.core = make_core("core1", &o);
	add_plugin("p1");
	struct spy *offers = spy_on("$handshake.core1.offer");
	start_plugin(0);
	start_core(W.core);
	run_to(T0 + 6, 1);
	ck_assert_int_eq(W.discovers->n, 4);
	ck_assert_int_eq(offers->n, 0);
	ck_assert(!orbit_core_compliant(W.core));
	ck_assert_uint_eq(core_conns(), 0);
	add_plugin("p2");
	start_plugin(1);
	at(T0 + 8);
	ck_assert(orbit_core_compliant(W.core));
	ck_assert_int_eq(offers->n, 1);
	ck_assert_uint_eq(plugin_conns(0), 0);
}
END_TEST

START_TEST(plugin_maximum_shared_by_two_cores)
{
	struct req_opts o = {.min = 1, .max = ORBIT_UNLIMITED};
	W.core = make_core("core1", &o);
	W.core2 = make_core("core2", &o);
	add_plugin_kind("p1", "lowercase", ORBIT_KIND_STRING, 1, NULL);
	start_plugin(0);
	start_core(W.core);
	start_core(W.core2);
	deliver();
	size_t c1 = core_conns();
	size_t c2 = conns(orbit_core_orbiter(W.core2));
	ck_assert_uint_eq(c1 + c2, 1);
	ck_assert_uint_eq(plugin_conns(0), 1);
	/* The winner no longer needs it: the freed slot goes to the other core.
	 * The clock does not move, so no core rediscovers: only the plugin's
	 * re-offer can make the loser compliant. */
	orbit_core *winner = c1 ? W.core : W.core2, *loser = c1 ? W.core2 : W.core;
	ck_assert(!orbit_core_compliant(loser));
	ck_assert_int_eq(W.discovers->n, 2);
	ck_assert_int_eq(orbit_core_unrequire(winner, "lowercase"), 0);
	deliver();
	ck_assert_int_eq(W.discovers->n, 2);
	ck_assert_int_eq(W.ticks, 0);
	ck_assert(orbit_core_compliant(loser));
	ck_assert_uint_eq(conns(orbit_core_orbiter(winner)), 0);
	ck_assert_uint_eq(conns(orbit_core_orbiter(loser)), 1);
	ck_assert_uint_eq(plugin_conns(0), 1);
}
END_TEST

START_TEST(late_plugin_is_picked_up)
{
	struct req_opts o = {.min = 1, .max = ORBIT_UNLIMITED};
	W.core = make_core("core1", &o);
	start_core(W.core);
	deliver();
	ck_assert_int_eq(W.discovers->n, 1);
	/* Not compliant: a Discover every discovering_interval, exactly. */
	at(T0 + 2 - EPS);
	ck_assert_int_eq(W.discovers->n, 1);
	at(T0 + 2);
	ck_assert_int_eq(W.discovers->n, 2);
	at(T0 + 4);
	ck_assert_int_eq(W.discovers->n, 3);
	ck_assert(!orbit_core_compliant(W.core));
	add_plugin("late");
	start_plugin(0);
	at(T0 + 5);
	ck_assert(!orbit_core_compliant(W.core));
	at(T0 + 6);
	ck_assert_int_eq(W.discovers->n, 4);
	ck_assert(orbit_core_compliant(W.core));
}
END_TEST

START_TEST(plugin_stop_and_back)
{
	struct req_opts o = {.min = 1, .max = ORBIT_UNLIMITED};
	core1_with_p1(&o);
	ck_assert(orbit_core_compliant(W.core));
	stop_plugin(0);
	deliver();
	ck_assert(!orbit_core_compliant(W.core));
	ck_assert_int_eq(W.graceless_disconnects, 2); /* one on each side */
	ck_assert_uint_eq(core_conns(), 0);
	/* unknown → not compliant at start, then compliant, then not */
	ck_assert_int_eq(W.compliance_changes, 3);
	ck_assert(!W.compliance[0] && W.compliance[1] && !W.compliance[2]);
	start_plugin(0);
	/* The last Discover (T0) is recent: the next is due at T0 + 2. */
	at(T0 + 2 - EPS);
	ck_assert(!orbit_core_compliant(W.core));
	at(T0 + 2);
	ck_assert(orbit_core_compliant(W.core));
	ck_assert_int_eq(W.discovers->n, 2);
}
END_TEST

/* Room for more while compliant: Discovers slow down (doubling from
 * discovering_interval up to discovering_max_interval) but never stop, and
 * return to the fast cadence as soon as compliance is lost. */
START_TEST(discovery_backs_off_and_speeds_up)
{
	struct req_opts o = {.min = 1, .max = ORBIT_UNLIMITED};
	core1_with_p1(&o);
	ck_assert(orbit_core_compliant(W.core));
	ck_assert_int_eq(W.discovers->n, 1);
	static const double due[] = {2, 6, 14, 30, 60, 90, 120};
	for (size_t i = 0; i < sizeof due / sizeof *due; i++) {
		at(T0 + due[i] - EPS);
		ck_assert_int_eq(W.discovers->n, 1 + (int)i);
		at(T0 + due[i]);
		ck_assert_int_eq(W.discovers->n, 2 + (int)i);
	}
	/* Lost compliance at T0 + 125: the last Discover is older than
	 * discovering_interval, so one goes out at once; then every 2 s. */
	W.now = T0 + 125;
	stop_plugin(0);
	deliver();
	ck_assert(!orbit_core_compliant(W.core));
	ck_assert_int_eq(W.discovers->n, 9);
	at(T0 + 127 - EPS);
	ck_assert_int_eq(W.discovers->n, 9);
	at(T0 + 127);
	ck_assert_int_eq(W.discovers->n, 10);
	at(T0 + 129);
	ck_assert_int_eq(W.discovers->n, 11);
}
END_TEST

/* ---- liveness ---- */

/* Each side paces its keepalives by the deadline the other announced
 * (considered_dead_after): the first at the first tick with the
 * connection, then when less than send_keepalive_before_timelimit is left. */
START_TEST(keepalive_sent_at_exact_boundaries)
{
	W.t.consider_others_dead_after = 8; /* the core's: p1 paces by it */
	W.t.send_keepalive_before_timelimit = 1;
	orbit_timers pt = W.t;
	pt.consider_others_dead_after = 4; /* p1's: the core paces by it */
	struct req_opts o = {.min = 1, .max = ORBIT_UNLIMITED};
	W.core = make_core("core1", &o);
	add_plugin_kind("p1", "lowercase", ORBIT_KIND_STRING, ORBIT_UNLIMITED, &pt);
	struct spy *to_core = spy_on("$keepalive.core1");
	struct spy *to_p1 = spy_on("$keepalive.p1");
	start_plugin(0);
	start_core(W.core);
	deliver();
	ck_assert(orbit_core_compliant(W.core));
	ck_assert_int_eq(to_core->n + to_p1->n, 0); /* only housekeeping sends them */
	at(T0);
	ck_assert_int_eq(to_core->n, 1);
	ck_assert_int_eq(to_p1->n, 1);
	orbit_remote_times rt;
	ck_assert_int_eq(orbit_orbiter_remote_times(orbit_core_orbiter(W.core), "p1", &rt), 0);
	ck_assert(rt.their_deadline == T0 + 4);
	ck_assert(rt.dead_at == T0 + 8);
	/* Core → p1: due once less than 1 s of p1's 4 s is left. */
	at(T0 + 3);
	ck_assert_int_eq(to_p1->n, 1);
	at(T0 + 3 + EPS);
	ck_assert_int_eq(to_p1->n, 2);
	ck_assert_int_eq(orbit_orbiter_remote_times(orbit_core_orbiter(W.core), "p1", &rt), 0);
	ck_assert(rt.their_deadline == T0 + 3 + EPS + 4);
	/* p1 → core: due once less than 1 s of the core's 8 s is left. */
	at(T0 + 7);
	ck_assert_int_eq(to_core->n, 1);
	at(T0 + 7 + EPS);
	ck_assert_int_eq(to_core->n, 2);
	ck_assert_int_eq(to_p1->n, 3); /* T0 + 6 + 2 EPS was due too */
	/* Receiving it is a sign of life. */
	ck_assert_int_eq(orbit_orbiter_remote_times(orbit_core_orbiter(W.core), "p1", &rt), 0);
	ck_assert(rt.last_seen == T0 + 7 + EPS);
	ck_assert(rt.dead_at == T0 + 15 + EPS);
	ck_assert_int_eq(W.dead_events, 0);
}
END_TEST

START_TEST(keepalives_keep_connection_alive)
{
	W.t.consider_others_dead_after = 4;
	W.t.send_keepalive_before_timelimit = 1;
	struct req_opts o = {.min = 1, .max = ORBIT_UNLIMITED};
	W.core = make_core("core1", &o);
	add_plugin("p1");
	struct spy *to_core = spy_on("$keepalive.core1");
	struct spy *to_p1 = spy_on("$keepalive.p1");
	start_plugin(0);
	start_core(W.core);
	deliver();
	ck_assert(orbit_core_compliant(W.core));
	/* Twenty dead-after periods in quarter-second ticks. A keepalive is due
	 * after 3 s; the first tick past that is 3.25 s after the last one. */
	run_to(T0 + 80, 0.25);
	ck_assert_int_eq(W.ticks, 320);
	ck_assert_int_eq(to_p1->n, 25);   /* T0 + 0.25 + 3.25 k, k = 0..24 */
	ck_assert_int_eq(to_core->n, 25);
	ck_assert_int_eq(W.dead_events, 0);
	ck_assert(orbit_core_compliant(W.core));
	/* Still the first connection on both sides. */
	ck_assert(only_conn(orbit_core_orbiter(W.core)).created == T0);
	ck_assert(only_conn(orbit_lender_orbiter(W.plugins[0])).created == T0);
	ck_assert_int_eq(W.graceful_disconnects + W.graceless_disconnects, 0);
}
END_TEST

/* A plugin that stops sending keepalives is dead exactly
 * consider_others_dead_after after its last sign of life: the core closes its
 * connections, loses compliance and rediscovers (DESIGN §3). */
START_TEST(silent_plugin_is_declared_dead)
{
	W.t.consider_others_dead_after = 4;
	W.t.send_keepalive_before_timelimit = 1;
	orbit_timers silent = W.t;
	silent.send_keepalive_before_timelimit = -1000; /* one keepalive, the first, then none */
	struct req_opts o = {.min = 1, .max = ORBIT_UNLIMITED};
	W.core = make_core("core1", &o);
	add_plugin_kind("mute", "lowercase", ORBIT_KIND_STRING, ORBIT_UNLIMITED, &silent);
	struct spy *from_mute = spy_on("$keepalive.core1");
	start_plugin(0);
	start_core(W.core);
	deliver();
	ck_assert(orbit_core_compliant(W.core));
	orbit_orbiter *co = orbit_core_orbiter(W.core);
	run_to(T0 + 4, 1);
	ck_assert_int_eq(from_mute->n, 1); /* at T0 + 1 */
	W.now = T0 + 5;
	ck_assert(!orbit_orbiter_remote_dead(co, "mute"));
	at(T0 + 5); /* 4 s after T0 + 1: not yet */
	ck_assert_int_eq(W.dead_events, 0);
	ck_assert_uint_eq(core_conns(), 1);
	ck_assert(orbit_core_compliant(W.core));
	int discovers = W.discovers->n;
	W.now = T0 + 5 + EPS;
	ck_assert(orbit_orbiter_remote_dead(co, "mute"));
	ck_assert_int_eq(orbit_orbiter_tick(co), 0);
	ck_assert_int_eq(W.dead_events, 1);
	ck_assert_str_eq(W.last_dead, "mute");
	ck_assert_int_eq(W.nested_tick_rc, -EBUSY);
	ck_assert_uint_eq(core_conns(), 0);
	ck_assert_int_eq(W.graceless_disconnects, 1);
	ck_assert(!orbit_core_compliant(W.core));
	ck_assert_int_eq(W.discovers->n, discovers); /* published, not delivered yet */
	/* The plugin is told, and the core looks again at once. Removing our
	 * side (which re-evaluates compliance) comes before telling the remote
	 * (SPEC §5.5), so that Discover reaches the plugin while it still holds
	 * the connection: it does not answer this one. */
	ck_assert_int_gt(deliver(), 0);
	ck_assert_int_eq(W.graceless_disconnects, 2);
	ck_assert_int_eq(W.discovers->n, discovers + 1);
	ck_assert_uint_eq(plugin_conns(0), 0);
	ck_assert(!orbit_core_compliant(W.core));
	/* Back to the fast cadence: the next Discover finds it again. */
	at(T0 + 7);
	ck_assert(!orbit_core_compliant(W.core));
	at(T0 + 7 + EPS);
	ck_assert_int_eq(W.discovers->n, discovers + 2);
	ck_assert(orbit_core_compliant(W.core));
	ck_assert(only_conn(co).created == T0 + 7 + EPS);
	ck_assert(!orbit_orbiter_remote_dead(co, "mute"));
	ck_assert_int_eq(W.dead_events, 1);
	ck_assert_int_eq(W.compliance_changes, 4);
	ck_assert(!W.compliance[0] && W.compliance[1] && !W.compliance[2] && W.compliance[3]);
}
END_TEST

/* ---- a raw protocol peer that never acks nor confirms ---- */

struct raw_peer {
	const char *id;
	bool confirm;
	int graceful_seen, graceless_seen, requests_seen;
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
	if (p->message_type && strcmp(p->message_type, "GracelessCloneConnectionMessage") == 0)
		r->graceless_seen++;
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

START_TEST(graceful_close_with_ack)
{
	struct req_opts o = {.min = 1, .max = ORBIT_UNLIMITED};
	core1_with_p1(&o);
	ck_assert(orbit_core_compliant(W.core));
	ck_assert_int_eq(orbit_orbiter_close(orbit_core_orbiter(W.core), "p1", "lowercase", true,
					     NULL),
			 0);
	/* Soft-closed, still there until the ack. */
	ck_assert(only_conn(orbit_core_orbiter(W.core)).soft_closed);
	ck_assert_int_eq(W.graceful_disconnects, 0);
	deliver();
	/* plugin side on the close, core side on the ack */
	ck_assert_int_eq(W.graceful_disconnects, 2);
	ck_assert_int_eq(W.graceless_disconnects, 0);
	ck_assert_uint_eq(core_conns(), 0);
	ck_assert_uint_eq(plugin_conns(0), 0);
}
END_TEST

START_TEST(graceful_close_times_out_into_graceless)
{
	/* Shorter than consider_others_dead_after (120 s): the silent peer must
	 * not be declared dead first. */
	W.t.graceful_close_timeout = 30;
	struct req_opts o = {.min = 1, .max = 1};
	W.core = make_core("core1", &o);
	struct raw_peer r = {.id = "raw", .confirm = true};
	raw_start(&r);
	start_core(W.core);
	deliver();
	ck_assert(orbit_core_compliant(W.core));
	/* the peer stops answering handshakes but keeps listening on its close topic */
	orbit_bus_unsubscribe(W.bus, "$handshake.discover", &r);
	W.now = T0 + 10;
	ck_assert_int_eq(orbit_orbiter_close(orbit_core_orbiter(W.core), "raw", "lowercase", true,
					     NULL),
			 0);
	deliver();
	ck_assert_int_eq(r.graceful_seen, 1);
	/* A tick every second up to the timeout: sent once, never repeated
	 * (Python re-sends every loop), the connection waits for its ack. */
	run_to(T0 + 40, 1);
	ck_assert_int_eq(W.ticks, 30);
	ck_assert_int_eq(r.graceful_seen, 1);
	ck_assert_int_eq(r.graceless_seen, 0);
	ck_assert(only_conn(orbit_core_orbiter(W.core)).soft_closed);
	at(T0 + 40 + EPS);
	ck_assert_uint_eq(core_conns(), 0);
	ck_assert_int_eq(W.graceless_disconnects, 1);
	ck_assert_int_eq(W.graceful_disconnects, 0);
	ck_assert_int_eq(r.graceful_seen, 1);
	ck_assert_int_eq(r.graceless_seen, 1);
	raw_stop(&r);
}
END_TEST

START_TEST(pending_request_expires)
{
	/* Expiry, not the Request retry's earlier give-up (test_healing.c),
	 * is what this test watches. */
	ck_assert_int_eq(orbit_set_request_retry(61, 1), 0);
	struct req_opts o = {.min = 1, .max = 1};
	W.core = make_core("core1", &o);
	orbit_orbiter *co = orbit_core_orbiter(W.core);
	struct raw_peer r = {.id = "raw", .confirm = false};
	raw_start(&r);
	start_core(W.core);
	deliver();
	ck_assert_int_eq(r.requests_seen, 1);
	raw_stop(&r); /* no more offers: the one pending request must go away */
	ck_assert_uint_eq(orbit_orbiter_pending_count(co), 1);
	/* The pending request fills the maximum: no Discover while it waits. */
	run_to(T0 + 60, 1);
	ck_assert_int_eq(W.discovers->n, 1);
	ck_assert_uint_eq(orbit_orbiter_pending_count(co), 1);
	/* pending_requests_expire_after (60 s) after the Request. */
	at(T0 + 60 + EPS);
	ck_assert_uint_eq(orbit_orbiter_pending_count(co), 0);
	ck_assert_uint_eq(core_conns(), 0);
	ck_assert_int_eq(W.discovers->n, 1);
	/* Room again: the next discovery slot (every 2 s, kept while the core
	 * had nothing to ask) sends a Discover. */
	at(T0 + 62 - EPS);
	ck_assert_int_eq(W.discovers->n, 1);
	at(T0 + 62);
	ck_assert_int_eq(W.discovers->n, 2);
}
END_TEST

/* The plugin side of expiry: an Offer the core never answers. */
START_TEST(pending_offer_expires)
{
	add_plugin_kind("p1", "lowercase", ORBIT_KIND_STRING, 1, NULL);
	struct spy *offers = spy_on("$handshake.mute.offer");
	start_plugin(0);
	orbit_spec str;
	orbit_spec_init_kind(&str, ORBIT_KIND_STRING);
	orbit_query q = {.operation_name = (char *)"lowercase", .inputs = &str, .n_inputs = 1,
			 .outputs = &str, .n_outputs = 1};
	orbit_msg d = {.kind = ORBIT_MSG_DISCOVER};
	d.discover.core_id = (char *)"mute";
	d.discover.offer_topic = (char *)"$handshake.mute.offer";
	d.discover.keepalive_topic = (char *)"$keepalive.mute";
	d.discover.keepalive_request_topic = (char *)"$keepalive.mute.request";
	d.discover.considered_dead_after = 1000;
	d.discover.queries = &q;
	d.discover.n_queries = 1;
	raw_send("$handshake.discover", &d);
	deliver();
	ck_assert_int_eq(offers->n, 1);
	orbit_orbiter *po = orbit_lender_orbiter(W.plugins[0]);
	ck_assert_uint_eq(orbit_orbiter_pending_count(po), 1);
	/* The offer holds the only slot: a second Discover gets nothing. */
	W.now = T0 + 30;
	raw_send("$handshake.discover", &d);
	deliver();
	ck_assert_int_eq(offers->n, 1);
	at(T0 + 60);
	ck_assert_uint_eq(orbit_orbiter_pending_count(po), 1);
	at(T0 + 60 + EPS);
	ck_assert_uint_eq(orbit_orbiter_pending_count(po), 0);
	/* The slot is free again. */
	raw_send("$handshake.discover", &d);
	deliver();
	ck_assert_int_eq(offers->n, 2);
	orbit_spec_clear(&str);
}
END_TEST

/* A crowd of cores (forged Discovers, each from another core id): one
 * pending Offer per core and operation, and no more than max_pending in
 * all; once they expire, new cores are answered again. */
START_TEST(pending_offers_are_bounded_in_all)
{
	ck_assert_int_eq(orbit_set_max_pending(0), -EINVAL);
	ck_assert_int_eq(orbit_set_max_pending(3), 0);
	add_plugin_kind("p1", "lowercase", ORBIT_KIND_STRING, ORBIT_UNLIMITED, NULL);
	start_plugin(0);
	orbit_spec str;
	orbit_spec_init_kind(&str, ORBIT_KIND_STRING);
	orbit_query q = {.operation_name = (char *)"lowercase", .inputs = &str, .n_inputs = 1,
			 .outputs = &str, .n_outputs = 1};
	orbit_orbiter *po = orbit_lender_orbiter(W.plugins[0]);
	struct spy *offers[5];
	for (int i = 0; i < 5; i++) {
		char id[16], offer[48], ka[48], kar[64];
		snprintf(id, sizeof id, "fake%d", i);
		snprintf(offer, sizeof offer, "$handshake.%s.offer", id);
		snprintf(ka, sizeof ka, "$keepalive.%s", id);
		snprintf(kar, sizeof kar, "$keepalive.%s.request", id);
		offers[i] = spy_on(offer);
		orbit_msg d = {.kind = ORBIT_MSG_DISCOVER};
		d.discover.core_id = id;
		d.discover.offer_topic = offer;
		d.discover.keepalive_topic = ka;
		d.discover.keepalive_request_topic = kar;
		d.discover.considered_dead_after = 1000;
		d.discover.queries = &q;
		d.discover.n_queries = 1;
		raw_send("$handshake.discover", &d);
		/* The same core again adds nothing: one per core and operation. */
		raw_send("$handshake.discover", &d);
		deliver();
	}
	ck_assert_uint_eq(orbit_orbiter_pending_count(po), 3);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(offers[i]->n, i < 3 ? 1 : 0);
	at(T0 + 60 + EPS);
	ck_assert_uint_eq(orbit_orbiter_pending_count(po), 0);
	orbit_set_max_pending(65536);
	orbit_spec_clear(&str);
}
END_TEST

/* close_connection_if_unused_after is judged by last use (Python uses the
 * creation time): executing keeps a connection open; once idle for longer
 * than the limit, it is closed gracefully. */
START_TEST(unused_connection_closes_after_last_use)
{
	W.t.close_connection_if_unused_after = 10;
	orbit_timers pt = W.t;
	pt.close_connection_if_unused_after = -1; /* only the core judges */
	struct req_opts o = {.min = 1, .max = ORBIT_UNLIMITED};
	W.core = make_core("core1", &o);
	add_plugin_kind("p1", "lowercase", ORBIT_KIND_STRING, ORBIT_UNLIMITED, &pt);
	start_plugin(0);
	start_core(W.core);
	deliver();
	ck_assert(orbit_core_compliant(W.core));
	run_to(T0 + 5, 1);
	orbit_value v = {.kind = ORBIT_KIND_STRING, .str = (char *)"HELLO", .str_len = 5};
	orbit_payload p;
	uint8_t *buf = NULL;
	ck_assert_int_eq(orbit_value_encode(&v, ORBIT_FMT_NONE, &p, &buf), 0);
	orbit_exec x = {.mode = ORBIT_EXEC_ALL,
			.schema = orbit_kind_schema(ORBIT_KIND_STRING, ORBIT_FLAVOUR_PY313),
			.items = &p,
			.n_items = 1};
	ck_assert_int_eq(orbit_core_execute(W.core, "lowercase", &x), 1);
	free(buf);
	deliver();
	ck_assert_int_eq(W.outputs, 1);
	struct first_conn c = only_conn(orbit_core_orbiter(W.core));
	ck_assert(c.created == T0 && c.last_use == T0 + 5);
	ck_assert(only_conn(orbit_lender_orbiter(W.plugins[0])).last_use == T0 + 5);
	/* 10 s after creation, 5 s after use: open. */
	run_to(T0 + 15, 1);
	ck_assert_int_eq(W.ticks, 15);
	ck_assert(!only_conn(orbit_core_orbiter(W.core)).soft_closed);
	ck_assert_int_eq(W.graceful_disconnects, 0);
	at(T0 + 15 + EPS);
	/* Closed gracefully (close, ack) on both sides. */
	ck_assert_int_eq(W.graceful_disconnects, 2);
	ck_assert_int_eq(W.graceless_disconnects, 0);
	ck_assert_uint_eq(core_conns(), 0);
	ck_assert_uint_eq(plugin_conns(0), 0);
	ck_assert(!orbit_core_compliant(W.core));
	/* The last Discover (back-off: T0 + 14) is under 2 s old: the core
	 * asks again, and reconnects, at T0 + 16. */
	at(T0 + 16 - EPS);
	ck_assert_uint_eq(core_conns(), 0);
	at(T0 + 16);
	ck_assert(orbit_core_compliant(W.core));
	ck_assert(only_conn(orbit_core_orbiter(W.core)).created == T0 + 16);
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

static void connect_n(int n)
{
	struct req_opts o = {.min = n, .max = ORBIT_UNLIMITED};
	W.core = make_core("core1", &o);
	static const char *ids[] = {"p0", "p1", "p2", "p3"};
	for (int i = 0; i < n; i++) {
		add_plugin(ids[i]);
		start_plugin((size_t)i);
	}
	start_core(W.core);
	deliver();
	ck_assert(orbit_core_compliant(W.core));
	ck_assert_uint_eq(core_conns(), (size_t)n);
	ck_assert_uint_eq(orbit_orbiter_pending_count(orbit_core_orbiter(W.core)), 0);
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
	ck_assert_int_eq(deliver(), 6); /* three inputs, three outputs */
	ck_assert_int_eq(W.outputs, 3);
	ck_assert_str_eq(W.last_output, "hello");
	ck_assert_int_eq(exec_mode(ORBIT_EXEC_ANY, NULL, &p, 1), 1);
	deliver();
	ck_assert_int_eq(W.outputs, 4);
	ck_assert_int_eq(exec_mode(ORBIT_EXEC_PLUGIN, "p1", &p, 1), 1);
	deliver();
	ck_assert_int_eq(W.outputs, 5);
	ck_assert_int_eq(W.per_plugin_inputs[0] + W.per_plugin_inputs[1] + W.per_plugin_inputs[2], 5);
	ck_assert_int_ge(W.per_plugin_inputs[1], 2); /* one from "all", one by name */
	ck_assert_int_eq(exec_mode(ORBIT_EXEC_PLUGIN, "nobody", &p, 1), -ENOENT);
	ck_assert_int_eq(deliver(), 0); /* nothing was sent */
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
	deliver();
	ck_assert_int_eq(W.outputs, 4);
	ck_assert_int_eq(W.per_plugin_inputs[0], 2);
	ck_assert_int_eq(W.per_plugin_inputs[1], 2);
	free(buf);
}
END_TEST

START_TEST(execute_without_connection_is_an_error)
{
	struct req_opts o = {.min = 1, .max = ORBIT_UNLIMITED};
	W.core = make_core("core1", &o);
	start_core(W.core);
	deliver();
	uint8_t *buf;
	orbit_payload p = hello(&buf);
	ck_assert_int_eq(exec_mode(ORBIT_EXEC_ALL, NULL, &p, 1), -ENOENT);
	ck_assert_int_eq(exec_mode(ORBIT_EXEC_ANY, NULL, &p, 1), -ENOENT);
	ck_assert_int_eq(exec_mode(ORBIT_EXEC_DISTRIBUTED, NULL, &p, 1), -ENOENT);
	ck_assert_int_eq(exec_mode(ORBIT_EXEC_PLUGIN, "p1", &p, 1), -ENOENT);
	ck_assert_int_eq(deliver(), 0);
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
	start_plugin(0);
	start_plugin(1);
	start_core(W.core);
	deliver();
	ck_assert(orbit_core_compliant(W.core));
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
	deliver();
	ck_assert_int_eq(W.outputs, 2);
	ck_assert_int_eq(W.per_plugin_inputs[0], 1);
	ck_assert_int_eq(W.per_plugin_inputs[1], 1);
	free(buf);
}
END_TEST

static uint8_t setup_seen[8];
static size_t setup_len = SIZE_MAX;

static void record_setup(void *ctx, orbit_lender *p, const orbit_conn_info *conn,
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
	ck_assert_ptr_nonnull(W.core);
	on_test_clock(orbit_core_orbiter(W.core));
	uint8_t data[] = {0x01, 0x02};
	orbit_requirement r = {.operation = "lowercase", .minimum = 1, .maximum = 1,
			       .inputs = &str, .n_inputs = 1, .outputs = &str, .n_outputs = 1,
			       .setup_data = {data, sizeof(data), true}};
	ck_assert_int_eq(orbit_core_require(W.core, &r), 0);
	orbit_lender *p = orbit_lender_new(W.bus, "p1", &W.t, NULL);
	ck_assert_ptr_nonnull(p);
	on_test_clock(orbit_lender_orbiter(p));
	W.plugins[W.n_plugins++] = p;
	orbit_lent_op op = {.name = "lowercase", .input = str, .output = str,
			      .policy = {.maximum = ORBIT_UNLIMITED}, .handler = lowercase,
			      .setup = record_setup};
	ck_assert_int_eq(orbit_lender_add_operation(p, &op), 0);
	orbit_spec_clear(&str);
	setup_len = SIZE_MAX;
	start_plugin(0);
	start_core(W.core);
	deliver();
	ck_assert(orbit_core_compliant(W.core));
	ck_assert_uint_eq(setup_len, 2);
	ck_assert_int_eq(setup_seen[0], 0x01);
	ck_assert_int_eq(setup_seen[1], 0x02);
}
END_TEST

/* ---- what a peer announces, what it floods ---- */

static int log_lines, log_matching, log_with_count;
static const char *log_needle;

static void count_log(int level, const char *msg)
{
	(void)level;
	log_lines++;
	if (log_needle && strstr(msg, log_needle)) {
		log_matching++;
		if (strstr(msg, "similar messages suppressed)"))
			log_with_count++;
	}
}

static void capture_log(const char *needle)
{
	log_lines = log_matching = log_with_count = 0;
	log_needle = needle;
	orbit_set_log(count_log, LOG_DEBUG);
}

/* A core announcing considered_dead_after = 1e9 is taken at
 * accept_dead_after_max (3600 s): the plugin's keepalives to it keep coming
 * send_keepalive_before_timelimit (10 s) before that deadline, and the
 * clamp is logged once, not at every Discover. */
START_TEST(announced_dead_after_is_clamped)
{
	capture_log("announces considered_dead_after");
	W.t.consider_others_dead_after = 1e9; /* the core's announcement */
	orbit_timers pt;
	orbit_timers_default(&pt);
	pt.loop_interval = -1;
	struct req_opts o = {.min = 1, .max = ORBIT_UNLIMITED};
	W.core = make_core("core1", &o);
	add_plugin_kind("p1", "lowercase", ORBIT_KIND_STRING, ORBIT_UNLIMITED, &pt);
	struct spy *to_core = spy_on("$keepalive.core1");
	start_plugin(0);
	start_core(W.core);
	deliver();
	ck_assert(orbit_core_compliant(W.core));
	at(T0);
	ck_assert_int_eq(to_core->n, 1);
	orbit_remote_times rt;
	orbit_orbiter *po = orbit_lender_orbiter(W.plugins[0]);
	ck_assert_int_eq(orbit_orbiter_remote_times(po, "core1", &rt), 0);
	ck_assert(rt.their_deadline == T0 + 3600);
	run_to(T0 + 3590, 5);
	ck_assert_int_eq(to_core->n, 1);
	at(T0 + 3595);
	ck_assert_int_eq(to_core->n, 2);
	ck_assert_int_eq(orbit_orbiter_remote_times(po, "core1", &rt), 0);
	ck_assert(rt.their_deadline == T0 + 3595 + 3600);
	ck_assert_int_eq(W.dead_events, 0);
	ck_assert(orbit_core_compliant(W.core));
	ck_assert_int_eq(log_matching, 1);

	/* The range must not be empty, nor start at 0; the default stays. */
	ck_assert_int_eq(orbit_set_accepted_dead_after(10, 5), -EINVAL);
	ck_assert_int_eq(orbit_set_accepted_dead_after(0, 5), -EINVAL);
	ck_assert_int_eq(orbit_set_accepted_dead_after(1, 3600), 0);
	orbit_set_log(NULL, LOG_WARNING);
}
END_TEST

/* 10,000 malformed Offers: the "dropped malformed" warning is written at
 * most log rate_limit times a second after a first burst of 10 s worth,
 * and the count
 * of the others ends the next one that goes out. */
START_TEST(malformed_flood_is_rate_limited)
{
	struct req_opts o = {.min = 1, .max = ORBIT_UNLIMITED};
	W.core = make_core("core1", &o);
	start_core(W.core);
	deliver();
	static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
	orbit_payload p = {junk, sizeof junk, ORBIT_FMT_AVRO, "OfferMessage"};
	unsigned limits[2] = {0, ORBIT_LOG_RATE_LIMIT_DEFAULT};
	for (int pass = 0; pass < 2; pass++) {
		orbit_set_log_rate_limit(limits[pass]);
		capture_log("dropped malformed OfferMessage");
		double start = orbit_now();
		for (int i = 0; i < 10000; i++) {
			ck_assert_int_eq(orbit_bus_publish(W.bus, "$handshake.core1.offer", &p, 0), 0);
			if (i % 500 == 499)
				deliver();
		}
		double took = orbit_now() - start;
		if (limits[pass] == 0) {
			ck_assert_int_eq(log_matching, 10000);
			continue;
		}
		int burst = (int)limits[pass] * ORBIT_LOG_BURST_SECONDS;
		ck_assert_int_ge(log_matching, burst);
		ck_assert_int_le(log_matching, burst + (int)(limits[pass] * took) + 1);
		/* Once a token is back, the next one says how many were not. */
		int before = log_matching;
		while (orbit_now() < start + took + 1.0 / limits[pass])
			nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
		ck_assert_int_eq(orbit_bus_publish(W.bus, "$handshake.core1.offer", &p, 0), 0);
		deliver();
		ck_assert_int_eq(log_matching, before + 1);
		ck_assert_int_ge(log_with_count, 1);
	}
	orbit_set_log(NULL, LOG_WARNING);
}
END_TEST

static Suite *engine_suite(void)
{
	Suite *s = suite_create("engine");
	TCase *hs = tcase_create("handshake");
	tcase_add_checked_fixture(hs, setup, teardown);
	tcase_add_test(hs, clock_and_tick_api);
	tcase_add_test(hs, three_plugins_reach_compliance);
	tcase_add_test(hs, minimum_waits_for_enough_plugins);
	tcase_add_test(hs, mandatory_accepts_and_refuses);
	tcase_add_test(hs, mandatory_does_not_count_toward_minimum);
	tcase_add_test(hs, full_core_asks_only_missing_mandatory);
	tcase_add_test(hs, maximum_never_over_connects);
	tcase_add_test(hs, allowlist_accepts_only_listed);
	tcase_add_test(hs, blocklist_refuses_listed);
	tcase_add_test(hs, plugin_maximum_shared_by_two_cores);
	tcase_add_test(hs, late_plugin_is_picked_up);
	tcase_add_test(hs, plugin_stop_and_back);
	tcase_add_test(hs, discovery_backs_off_and_speeds_up);
	tcase_add_test(hs, setup_data_reaches_the_operation);
	suite_add_tcase(s, hs);
	TCase *lv = tcase_create("liveness");
	tcase_add_checked_fixture(lv, setup, teardown);
	tcase_add_test(lv, keepalive_sent_at_exact_boundaries);
	tcase_add_test(lv, keepalives_keep_connection_alive);
	tcase_add_test(lv, announced_dead_after_is_clamped);
	tcase_add_test(lv, malformed_flood_is_rate_limited);
	tcase_add_test(lv, silent_plugin_is_declared_dead);
	tcase_add_test(lv, graceful_close_with_ack);
	tcase_add_test(lv, graceful_close_times_out_into_graceless);
	tcase_add_test(lv, pending_request_expires);
	tcase_add_test(lv, pending_offer_expires);
	tcase_add_test(lv, pending_offers_are_bounded_in_all);
	tcase_add_test(lv, unused_connection_closes_after_last_use);
	suite_add_tcase(s, lv);
	TCase *ex = tcase_create("execute");
	tcase_add_checked_fixture(ex, setup, teardown);
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
