/* test_calltag.c — the correlation tables of orbitd/calltag.c on their own:
 * tags taken in order, a lost message costing only its own tag, an untagged
 * message (an emit) never taken for a call's answer, outputs and ends
 * accepted only from the taker, completion announced once after the last
 * output, a call taken twice trusted for nothing, the relay of a plugin
 * process, and the bounds. */
#include "calltag.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static orbit_payload msg(const char *text)
{
	return (orbit_payload){(const uint8_t *)text, strlen(text), ORBIT_FMT_UTF8, "StringMessage"};
}

static uint64_t completed[16];
static size_t n_completed;

static void on_complete(void *ctx, uint64_t id)
{
	(void)ctx;
	ck_assert_uint_lt(n_completed, 16);
	completed[n_completed++] = id;
}

static void setup(void)
{
	calltag_reset();
	n_completed = 0;
	calltag_set_complete(on_complete, NULL);
}

static void teardown(void)
{
	calltag_reset();
}

static int host_a, host_b; /* takers */

START_TEST(tags_are_taken_in_order_and_answers_counted)
{
	orbit_payload a = msg("a"), b = msg("b"), out = msg("A");
	uint64_t c1 = calltag_send("in", &a), c2 = calltag_send("in", &b);
	ck_assert(c1 && c2 && c1 != c2);
	ck_assert(!calltag_hosted(c1));
	ck_assert_uint_eq(calltag_take("in", &a, &host_a), c1);
	ck_assert_uint_eq(calltag_take("in", &b, &host_a), c2);
	ck_assert(calltag_hosted(c1) && calltag_hosted(c2));
	/* c1 answers twice, then ends: complete once both have arrived. */
	calltag_output(c1, "out", &out, &host_a);
	calltag_output(c1, "out", &out, &host_a);
	calltag_done(c1, 2, &host_a);
	struct calltag_match m;
	calltag_arrived("out", &out, &m);
	ck_assert_uint_eq(m.call, c1);
	ck_assert(m.latency >= 0);
	calltag_settle(m.call);
	ck_assert_uint_eq(n_completed, 0);
	calltag_arrived("out", &out, &m);
	ck_assert_uint_eq(m.call, c1);
	calltag_settle(m.call);
	ck_assert_uint_eq(n_completed, 1);
	ck_assert_uint_eq(completed[0], c1);
	calltag_settle(c1);
	ck_assert_uint_eq(n_completed, 1);
	/* c2 ends with nothing: complete at once. */
	calltag_done(c2, 0, &host_a);
	ck_assert_uint_eq(n_completed, 2);
	ck_assert_uint_eq(completed[1], c2);
}
END_TEST

START_TEST(lost_and_untagged_messages)
{
	orbit_payload a = msg("a"), b = msg("b"), e = msg("emitted");
	uint64_t c1 = calltag_send("in", &a), c2 = calltag_send("in", &b);
	/* a never arrives: b still finds its own tag, a's goes with it. */
	ck_assert_uint_eq(calltag_take("in", &b, &host_a), c2);
	ck_assert_uint_eq(calltag_take("in", &a, &host_a), 0);
	ck_assert(!calltag_hosted(c1));
	/* An emit arriving before the call's answer is not the answer. */
	orbit_payload out = msg("B");
	calltag_output(c2, "out", &out, &host_a);
	struct calltag_match m;
	calltag_arrived("out", &e, &m);
	ck_assert_uint_eq(m.call, 0);
	calltag_arrived("out", &out, &m);
	ck_assert_uint_eq(m.call, c2);
	/* A message on a topic nobody tagged. */
	calltag_arrived("elsewhere", &out, &m);
	ck_assert_uint_eq(m.call, 0);
}
END_TEST

START_TEST(only_the_taker_answers)
{
	orbit_payload a = msg("a"), out = msg("A");
	uint64_t c = calltag_send("in", &a);
	ck_assert_uint_eq(calltag_take("in", &a, &host_a), c);
	calltag_output(c, "out", &out, &host_b);
	calltag_done(c, 0, &host_b);
	ck_assert_uint_eq(n_completed, 0);
	struct calltag_match m;
	calltag_arrived("out", &out, &m);
	ck_assert_uint_eq(m.call, 0);
	/* An output taken back leaves no tag for a later one. */
	calltag_output(c, "out", &out, &host_a);
	calltag_unsent(c, "out");
	calltag_arrived("out", &out, &m);
	ck_assert_uint_eq(m.call, 0);
	calltag_done(c, 0, &host_a);
	ck_assert_uint_eq(n_completed, 1);
	/* A second tag of the same call taken elsewhere is not trusted. */
	ck_assert_int_eq(calltag_push("in", c, calltag_fp(&a)), 0);
	ck_assert_uint_eq(calltag_take("in", &a, &host_b), 0);
}
END_TEST

static uint64_t relayed_out, relayed_fp, relayed_done;
static unsigned relayed_outputs;

static void relay_out(void *ctx, uint64_t id, uint64_t fp)
{
	(void)ctx;
	relayed_out = id;
	relayed_fp = fp;
}

static void relay_done(void *ctx, uint64_t id, unsigned outputs)
{
	(void)ctx;
	relayed_done = id;
	relayed_outputs = outputs;
}

START_TEST(a_plugin_process_relays)
{
	orbit_payload a = msg("a"), out = msg("A");
	calltag_relay(relay_out, relay_done, NULL);
	/* The daemon's id, learnt from its TAG frame. */
	ck_assert_int_eq(calltag_push("in", 77, calltag_fp(&a)), 0);
	ck_assert_uint_eq(calltag_take("in", &a, &host_a), 77);
	calltag_output(77, "out", &out, &host_a);
	ck_assert_uint_eq(relayed_out, 77);
	ck_assert_uint_eq(relayed_fp, calltag_fp(&out));
	calltag_done(77, 1, &host_a);
	ck_assert_uint_eq(relayed_done, 77);
	ck_assert_uint_eq(relayed_outputs, 1);
	ck_assert_uint_eq(n_completed, 0);
}
END_TEST

START_TEST(bounds)
{
	orbit_payload a = msg("a");
	char topic[32];
	/* More topics than the bound: the oldest went, the newest is there. */
	uint64_t first = 0, last = 0;
	for (unsigned i = 0; i < CALLTAG_MAX_TOPICS + 10; i++) {
		snprintf(topic, sizeof topic, "t%u", i);
		last = calltag_send(topic, &a);
		if (!first)
			first = last;
	}
	ck_assert_uint_eq(calltag_take("t0", &a, &host_a), 0);
	snprintf(topic, sizeof topic, "t%u", CALLTAG_MAX_TOPICS + 9);
	ck_assert_uint_eq(calltag_take(topic, &a, &host_a), last);
	/* More tags than the bound on one topic: the oldest went. */
	calltag_reset();
	for (unsigned i = 0; i < CALLTAG_MAX_TAGS + 5; i++) {
		char text[16];
		snprintf(text, sizeof text, "%u", i);
		orbit_payload p = msg(text);
		ck_assert_uint_ne(calltag_send("in", &p), 0);
	}
	orbit_payload zero = msg("0"), newest = msg("16388");
	ck_assert_uint_eq(calltag_take("in", &zero, &host_a), 0);
	ck_assert_uint_eq(calltag_take("in", &newest, &host_a), CALLTAG_MAX_TAGS + 5);
	/* More calls than remembered: the oldest is forgotten. */
	ck_assert(calltag_age(1) < 0);
	ck_assert(calltag_age(CALLTAG_MAX_TAGS + 5) >= 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("calltag");
	TCase *tc = tcase_create("calltag");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, tags_are_taken_in_order_and_answers_counted);
	tcase_add_test(tc, lost_and_untagged_messages);
	tcase_add_test(tc, only_the_taker_answers);
	tcase_add_test(tc, a_plugin_process_relays);
	tcase_add_test(tc, bounds);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
