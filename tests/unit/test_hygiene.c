/* test_hygiene.c — protocol waste seen against real py-orbitalis peers, on
 * the in-process bus with the engine's clock stepped by the test (as in
 * test_engine.c: loop_interval < 0, orbit_orbiter_tick, manual clock): one
 * Discover at start, each built-in schema once per Python flavour in a
 * Discover, no freed slot re-offered to a core that has stopped, keepalives
 * paced by the remote's deadline instead of sent on every tick.
 *
 * "Nothing happened" is asserted only after evidence that it had its chance:
 * the ticks run, the re-offer event dispatched, a control case in which the
 * same step does send. */
#include "orbit/builtin.h"
#include "orbit/core.h"
#include "orbit/lender.h"
#include "wire.h"

#include <check.h>
#include <errno.h>
#include <event2/event.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define T0 1000.0
#define EPS (1.0 / 64)
#define MAXSPY 8
#define MAXAT 512

/* Everything published on one topic: when, and the last payload. */
struct spy {
	char topic[96];
	int n;
	double at[MAXAT];
	uint8_t last[4096];
	size_t last_len;
};

static struct {
	struct event_base *base;
	orbit_bus *bus;
	double now;
	orbit_timers t;
	struct spy spies[MAXSPY];
	size_t n_spies;
	int dead_events;
} W;

static void on_spy(void *ctx, const char *topic, const orbit_payload *p)
{
	(void)topic;
	struct spy *s = ctx;
	if (s->n < MAXAT)
		s->at[s->n] = W.now;
	s->n++;
	ck_assert_uint_le(p->len, sizeof s->last);
	memcpy(s->last, p->data, p->len);
	s->last_len = p->len;
}

static struct spy *spy_on(const char *topic)
{
	ck_assert_uint_lt(W.n_spies, MAXSPY);
	struct spy *s = &W.spies[W.n_spies++];
	memset(s, 0, sizeof *s);
	snprintf(s->topic, sizeof s->topic, "%s", topic);
	ck_assert_int_eq(orbit_bus_subscribe(W.bus, s->topic, on_spy, s), 0);
	return s;
}

static double test_clock(void *ctx)
{
	(void)ctx;
	return W.now;
}

static void on_event(void *ctx, orbit_orbiter *o, const orbit_event *ev)
{
	(void)ctx;
	(void)o;
	if (ev->kind == ORBIT_EV_REMOTE_DEAD)
		W.dead_events++;
}

static void manual(orbit_orbiter *o)
{
	ck_assert_int_eq(orbit_orbiter_set_clock(o, test_clock, NULL), 0);
	orbit_orbiter_set_event_cb(o, on_event, NULL);
}

static void setup(void)
{
	memset(&W, 0, sizeof W);
	W.base = event_base_new();
	W.bus = orbit_local_bus_new(W.base);
	W.now = T0;
	orbit_timers_default(&W.t);
	W.t.loop_interval = -1;
}

static void teardown(void)
{
	orbit_bus_free(W.bus);
	event_base_free(W.base);
}

/* Deliver everything queued and the engine's deferred work (a re-offer is an
 * active event, never a timer). */
static void deliver(void)
{
	for (int i = 0; i < 1000; i++) {
		int n = orbit_local_bus_flush(W.bus, 1000);
		ck_assert_int_ge(n, 0);
		if (n == 0 && event_base_get_num_events(W.base, EVENT_BASE_COUNT_ACTIVE) == 0)
			return;
		event_base_loop(W.base, EVLOOP_NONBLOCK);
	}
	ck_abort_msg("the bus never went quiet");
}

/* Tick the running orbiters among os[0..n) at t (never back), then deliver. */
static void tick_at(double t, orbit_orbiter **os, size_t n)
{
	ck_assert(t >= W.now);
	W.now = t;
	for (size_t i = 0; i < n; i++)
		if (os[i])
			orbit_orbiter_tick(os[i]);
	deliver();
}

static void lowercase(void *ctx, orbit_lender *p, const orbit_conn_info *conn,
		      const orbit_payload *in)
{
	(void)ctx;
	orbit_lender_reply(p, conn->remote_id, conn->operation, in);
}

static orbit_lender *plugin(const char *id, const char *const *ops, const int *maxima,
			    const orbit_timers *t)
{
	orbit_lender *p = orbit_lender_new(W.bus, id, t ? t : &W.t, NULL);
	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; ops[i]; i++) {
		orbit_lent_op def = {.name = ops[i], .handler = lowercase};
		def.policy.maximum = maxima[i];
		ck_assert_int_eq(orbit_spec_init_kind(&def.input, ORBIT_KIND_STRING), 0);
		ck_assert_int_eq(orbit_spec_init_kind(&def.output, ORBIT_KIND_STRING), 0);
		ck_assert_int_eq(orbit_lender_add_operation(p, &def), 0);
		orbit_spec_clear(&def.input);
		orbit_spec_clear(&def.output);
	}
	manual(orbit_lender_orbiter(p));
	return p;
}

/* A core requiring op with the given specs (minimum 1, no maximum). */
static void require_specs(orbit_core *c, const char *op, const orbit_spec *in, size_t n_in,
			  const orbit_spec *out, size_t n_out)
{
	orbit_requirement r = {.operation = op, .minimum = 1, .maximum = ORBIT_UNLIMITED,
			       .inputs = in, .n_inputs = n_in, .outputs = out, .n_outputs = n_out};
	ck_assert_int_eq(orbit_core_require(c, &r), 0);
}

static void require_string(orbit_core *c, const char *op)
{
	orbit_spec s;
	ck_assert_int_eq(orbit_spec_init_kind(&s, ORBIT_KIND_STRING), 0);
	require_specs(c, op, &s, 1, &s, 1);
	orbit_spec_clear(&s);
}

static orbit_core *core(const char *id, const orbit_timers *t)
{
	orbit_core *c = orbit_core_new(W.bus, id, t ? t : &W.t, NULL);
	ck_assert_ptr_nonnull(c);
	manual(orbit_core_orbiter(c));
	return c;
}

/* ---- 1. one Discover at start ---- */

/* SPEC §4.1 step 6: start sends one Discover, whether the core starts
 * compliant or not; then one every discovering_interval, exactly. */
START_TEST(one_discover_at_start)
{
	struct spy *d = spy_on("$handshake.discover");
	orbit_core *c = core("core1", NULL);
	require_string(c, "lowercase");
	ck_assert_int_eq(orbit_core_start(c), 0);
	deliver();
	ck_assert(!orbit_core_compliant(c));
	ck_assert_int_eq(d->n, 1);
	orbit_orbiter *os[] = {orbit_core_orbiter(c)};
	tick_at(T0 + 2 - EPS, os, 1);
	ck_assert_int_eq(d->n, 1);
	tick_at(T0 + 2, os, 1);
	ck_assert_int_eq(d->n, 2);
	tick_at(T0 + 4 - EPS, os, 1);
	ck_assert_int_eq(d->n, 2);
	tick_at(T0 + 4, os, 1);
	ck_assert_int_eq(d->n, 3);
	ck_assert(d->at[1] - d->at[0] == 2 && d->at[2] - d->at[1] == 2);
	orbit_core_free(c);

	/* Compliant at start (minimum 0): one Discover too. */
	W.now = T0 + 10;
	orbit_core *c2 = core("core2", NULL);
	orbit_spec s;
	orbit_spec_init_kind(&s, ORBIT_KIND_STRING);
	orbit_requirement r = {.operation = "lowercase", .maximum = ORBIT_UNLIMITED,
			       .inputs = &s, .n_inputs = 1, .outputs = &s, .n_outputs = 1};
	ck_assert_int_eq(orbit_core_require(c2, &r), 0);
	orbit_spec_clear(&s);
	ck_assert_int_eq(orbit_core_start(c2), 0);
	deliver();
	ck_assert(orbit_core_compliant(c2));
	ck_assert_int_eq(d->n, 4);
	orbit_core_free(c2);
}
END_TEST

/* ---- 2. each built-in schema once per flavour ---- */

static orbit_msg last_discover(const struct spy *d)
{
	orbit_msg m;
	ck_assert_int_eq(orbit_msg_decode(ORBIT_MSG_DISCOVER, d->last, d->last_len, &m), 0);
	ck_assert_uint_eq(m.discover.n_queries, 1);
	return m;
}

/* JSON equality doc included: how a Python plugin compares (SPEC §4.9). */
static bool python_equal(const char *a, const char *b)
{
	json_t *ja = json_loads(a, 0, NULL), *jb = json_loads(b, 0, NULL);
	bool eq = ja && jb && json_equal(ja, jb);
	json_decref(ja);
	json_decref(jb);
	return eq;
}

/* specs holds exactly `flavours` single-schema entries, each flavour of the
 * built-in kind k exactly once (by Python's comparison). */
static void each_flavour_once(const orbit_spec *specs, size_t n, orbit_kind k)
{
	ck_assert_uint_eq(n, 2);
	for (int f = ORBIT_FLAVOUR_PY312; f <= ORBIT_FLAVOUR_PY313; f++) {
		int seen = 0;
		for (size_t i = 0; i < n; i++) {
			ck_assert_uint_eq(specs[i].n_schemas, 1);
			seen += python_equal(specs[i].schemas[0],
					     orbit_kind_schema(k, (orbit_flavour)f));
		}
		ck_assert_int_eq(seen, 1);
	}
}

/* One requirement given as n_in schemas in and out; returns the Discover's
 * Avro size and checks its entries with check(). */
static size_t discover_of(const char *const *schemas, size_t n, size_t want_entries, orbit_kind k)
{
	struct spy *d = spy_on("$handshake.discover");
	orbit_core *c = core("core1", NULL);
	orbit_spec specs[4];
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(orbit_spec_init_schema(&specs[i], schemas[i]), 0);
	require_specs(c, "lowercase", specs, n, specs, n);
	for (size_t i = 0; i < n; i++)
		orbit_spec_clear(&specs[i]);
	ck_assert_int_eq(orbit_core_start(c), 0);
	deliver();
	ck_assert_int_eq(d->n, 1);
	orbit_msg m = last_discover(d);
	const orbit_query *q = &m.discover.queries[0];
	if (k != ORBIT_KIND_NONE) {
		each_flavour_once(q->inputs, q->n_inputs, k);
		each_flavour_once(q->outputs, q->n_outputs, k);
	} else {
		ck_assert_uint_eq(q->n_inputs, want_entries);
		ck_assert_uint_eq(q->n_outputs, want_entries);
	}
	size_t len = d->last_len;
	orbit_msg_clear(&m);
	orbit_core_free(c);
	orbit_bus_unsubscribe(W.bus, d->topic, d);
	W.n_spies--;
	return len;
}

START_TEST(builtin_schema_once_per_flavour)
{
	const char *s312 = orbit_kind_schema(ORBIT_KIND_STRING, ORBIT_FLAVOUR_PY312);
	const char *s313 = orbit_kind_schema(ORBIT_KIND_STRING, ORBIT_FLAVOUR_PY313);
	const char *one[] = {s312};
	const char *both[] = {s312, s313};      /* what orbitd's requirements give */
	const char *twice[] = {s312, s312};
	const char *reversed[] = {s313, s312};
	const char *only313[] = {s313};
	size_t base = discover_of(one, 1, 2, ORBIT_KIND_STRING);
	ck_assert_uint_eq(discover_of(both, 2, 2, ORBIT_KIND_STRING), base);
	ck_assert_uint_eq(discover_of(twice, 2, 2, ORBIT_KIND_STRING), base);
	ck_assert_uint_eq(discover_of(reversed, 2, 2, ORBIT_KIND_STRING), base);
	ck_assert_uint_eq(discover_of(only313, 1, 2, ORBIT_KIND_STRING), base);
	fprintf(stderr, "string->string Discover: %zu bytes of Avro\n", base);

	/* A record type of the user's own: its exact string, once. */
	const char *user = "{\"type\": \"record\", \"name\": \"StatusMessage\", \"fields\": "
			   "[{\"name\": \"ok\", \"type\": \"boolean\"}], \"doc\": \"Status\"}";
	const char *user_twice[] = {user, user};
	discover_of(user_twice, 2, 1, ORBIT_KIND_NONE);
	/* Two doc strings are two schemas to a Python plugin: both stay. */
	const char *user2 = "{\"type\": \"record\", \"name\": \"StatusMessage\", \"fields\": "
			    "[{\"name\": \"ok\", \"type\": \"boolean\"}]}";
	const char *two_docs[] = {user, user2, user};
	discover_of(two_docs, 3, 2, ORBIT_KIND_NONE);
}
END_TEST

/* ---- 3. no re-offer to a core that stopped ---- */

static const char *const LOWER[] = {"lowercase", NULL};
static const int ONE[] = {1};

/* core1 wins p1's single lowercase slot, core2 waits (both discover at T0).
 * c2t: core2's timers. */
struct race {
	orbit_core *c1, *c2;
	orbit_lender *p1;
	struct spy *to_c2;
	orbit_orbiter *os[3];
};

static void race_start(struct race *r, const orbit_timers *c2t, const char *const *ops,
		       const int *maxima)
{
	r->p1 = plugin("p1", ops, maxima, NULL);
	r->c1 = core("core1", NULL);
	r->c2 = core("core2", c2t);
	require_string(r->c1, "lowercase");
	for (size_t i = 0; ops[i]; i++)
		require_string(r->c2, ops[i]);
	r->to_c2 = spy_on("$handshake.core2.offer");
	ck_assert_int_eq(orbit_lender_start(r->p1), 0);
	ck_assert_int_eq(orbit_core_start(r->c1), 0);
	deliver();
	ck_assert_int_eq(orbit_core_start(r->c2), 0);
	deliver();
	ck_assert(orbit_core_compliant(r->c1));
	r->os[0] = orbit_core_orbiter(r->c1);
	r->os[1] = orbit_core_orbiter(r->c2);
	r->os[2] = orbit_lender_orbiter(r->p1);
}

static void race_free(struct race *r)
{
	orbit_core_free(r->c1);
	orbit_core_free(r->c2);
	orbit_lender_free(r->p1);
}

/* core1 lets the slot go at t; returns the Offers core2 got for it. */
static int release_at(struct race *r, double t)
{
	W.now = t;
	int before = r->to_c2->n;
	ck_assert_int_eq(orbit_core_unrequire(r->c1, "lowercase"), 0);
	deliver();
	ck_assert_uint_eq(orbit_orbiter_connection_count(r->os[0]), 0);
	return r->to_c2->n - before;
}

/* The control: a core that still discovers gets the freed slot at once. */
START_TEST(reoffer_to_a_live_core)
{
	struct race r = {0};
	race_start(&r, NULL, LOWER, ONE);
	ck_assert_int_eq(r.to_c2->n, 0);
	ck_assert(!orbit_core_compliant(r.c2));
	tick_at(T0 + 2, r.os, 3);
	ck_assert_int_eq(r.to_c2->n, 0);
	ck_assert_int_eq(release_at(&r, T0 + 3), 1);
	ck_assert(orbit_core_compliant(r.c2));
	race_free(&r);
}
END_TEST

/* core2 stops (it had no connection with p1: no Graceless tells p1) and its
 * Discovers stop: after three of its gaps its interest has lapsed. */
START_TEST(no_reoffer_after_discovers_stop)
{
	struct race r = {0};
	race_start(&r, NULL, LOWER, ONE);
	tick_at(T0 + 2, r.os, 3);
	tick_at(T0 + 4, r.os, 3);
	orbit_core_stop(r.c2);
	r.os[1] = NULL;
	/* 2 s gaps: at T0 + 10 its last Discover (T0 + 4) is 3 gaps old. */
	tick_at(T0 + 10, r.os, 3);
	ck_assert_int_eq(release_at(&r, T0 + 10 + EPS), 0);
	/* The slot is free and offered to the next core that discovers. */
	ck_assert_uint_eq(orbit_orbiter_connection_count(r.os[2]), 0);
	race_free(&r);
}
END_TEST

/* The same core still discovering at that age is re-offered to. */
START_TEST(reoffer_within_three_gaps)
{
	struct race r = {0};
	race_start(&r, NULL, LOWER, ONE);
	tick_at(T0 + 2, r.os, 3);
	tick_at(T0 + 4, r.os, 3);
	orbit_core_stop(r.c2);
	r.os[1] = NULL;
	ck_assert_int_eq(release_at(&r, T0 + 10), 1);
	race_free(&r);
}
END_TEST

/* core2 announced a 3 s deadline and discovers only every 20 s: 3 s after
 * its last Discover it would call us dead; we take it as gone too. */
START_TEST(no_reoffer_past_announced_deadline)
{
	orbit_timers t2 = W.t;
	t2.consider_others_dead_after = 3;
	t2.discovering_interval = 20;
	struct race r = {0};
	race_start(&r, &t2, LOWER, ONE);
	orbit_core_stop(r.c2);
	r.os[1] = NULL;
	tick_at(T0 + 3, r.os, 3);
	ck_assert_int_eq(release_at(&r, T0 + 3 + EPS), 0);
	race_free(&r);

	/* Control: at the deadline itself it is still current. */
	memset(&W.spies, 0, sizeof W.spies);
	W.n_spies = 0;
	W.now = T0;
	struct race r2 = {0};
	race_start(&r2, &t2, LOWER, ONE);
	ck_assert_int_eq(release_at(&r2, T0 + 3), 1);
	race_free(&r2);
}
END_TEST

/* core2 is connected to p1 for "echo" and waits for "lowercase". Its stop
 * sends a Graceless for echo (SPEC §5.8): p1 no longer re-offers to it,
 * however recent its last Discover. */
START_TEST(no_reoffer_after_graceless_at_stop)
{
	static const char *const ops[] = {"lowercase", "echo", NULL};
	static const int maxima[] = {1, ORBIT_UNLIMITED};
	struct race r = {0};
	race_start(&r, NULL, ops, maxima);
	ck_assert_uint_eq(orbit_orbiter_connection_count(r.os[1]), 1); /* echo */
	orbit_core_stop(r.c2);
	deliver();
	ck_assert_uint_eq(orbit_orbiter_connection_count(r.os[2]), 1); /* core1's */
	ck_assert_int_eq(release_at(&r, T0), 0);
	race_free(&r);

	/* Control: the same, core2 running. */
	memset(&W.spies, 0, sizeof W.spies);
	W.n_spies = 0;
	struct race r2 = {0};
	race_start(&r2, NULL, ops, maxima);
	ck_assert_int_eq(release_at(&r2, T0), 1);
	race_free(&r2);
}
END_TEST

/* ---- 4. keepalive pacing ---- */

/* p1 announces dead_after D to core1 (threshold: the default 10 s); core1
 * ticks every `step` from T0 to T0 + span. Returns core1's keepalives to p1
 * and checks each reached p1 with at least D / 2 to spare and none came
 * sooner than D / 2 after the previous one. */
static int keepalives_to_p1(double dead_after, double step, double span)
{
	orbit_timers pt = W.t;
	pt.consider_others_dead_after = dead_after;
	orbit_lender *p1 = plugin("p1", LOWER, (const int[]){ORBIT_UNLIMITED}, &pt);
	orbit_core *c1 = core("core1", NULL);
	require_string(c1, "lowercase");
	struct spy *ka = spy_on("$keepalive.p1");
	ck_assert_int_eq(orbit_lender_start(p1), 0);
	ck_assert_int_eq(orbit_core_start(c1), 0);
	deliver();
	ck_assert(orbit_core_compliant(c1));
	orbit_orbiter *os[] = {orbit_core_orbiter(c1), orbit_lender_orbiter(p1)};
	int ticks = 0;
	for (double t = T0; t <= T0 + span; t += step, ticks++)
		tick_at(t, os, 2);
	ck_assert_int_eq(ticks, (int)(span / step) + 1);
	ck_assert_int_ge(ka->n, 2);
	ck_assert_int_le(ka->n, MAXAT);
	for (int i = 1; i < ka->n; i++) {
		double gap = ka->at[i] - ka->at[i - 1];
		ck_assert(gap >= dead_after / 2);
		ck_assert(gap <= dead_after / 2 + step);
	}
	ck_assert_int_eq(W.dead_events, 0);
	ck_assert_uint_eq(orbit_orbiter_connection_count(os[1]), 1);
	int n = ka->n;
	orbit_core_free(c1);
	orbit_lender_free(p1);
	return n;
}

/* A 5 s deadline under the 10 s threshold: Python (and we, before) sent
 * one on every tick, 241 in a minute of quarter-second ticks. */
START_TEST(keepalive_paced_by_short_deadline)
{
	/* T0, then every 2.5 s + one tick (strictly less than 2.5 s left). */
	ck_assert_int_eq(keepalives_to_p1(5, 0.25, 60), 22);
}
END_TEST

/* The accepted minimum deadline, 1 s: one each half second at most (here
 * every 0.625 s: half a second, then the next eighth-second tick). */
START_TEST(keepalive_one_second_deadline)
{
	ck_assert_int_eq(keepalives_to_p1(1, 0.125, 10), 17);
}
END_TEST

static Suite *hygiene_suite(void)
{
	Suite *s = suite_create("hygiene");
	TCase *tc = tcase_create("hygiene");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, one_discover_at_start);
	tcase_add_test(tc, builtin_schema_once_per_flavour);
	tcase_add_test(tc, reoffer_to_a_live_core);
	tcase_add_test(tc, no_reoffer_after_discovers_stop);
	tcase_add_test(tc, reoffer_within_three_gaps);
	tcase_add_test(tc, no_reoffer_past_announced_deadline);
	tcase_add_test(tc, no_reoffer_after_graceless_at_stop);
	tcase_add_test(tc, keepalive_paced_by_short_deadline);
	tcase_add_test(tc, keepalive_one_second_deadline);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(hygiene_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
