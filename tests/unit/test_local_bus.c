/* test_local_bus.c — orbit_local_bus_flush (queued messages delivered on
 * the caller's stack, generations bounded by max_rounds, refused from inside
 * a delivery and on other buses) and the dual bus's routing. */
#include "orbit/bus.h"

#include <check.h>
#include <errno.h>
#include <event2/event.h>
#include <string.h>

struct rec {
	orbit_bus *bus;
	int got, follow_ups, nested_rc;
	bool nest;
};

static void handler(void *ctx, const char *topic, const orbit_payload *p)
{
	struct rec *r = ctx;
	(void)p;
	r->got++;
	if (r->nest)
		r->nested_rc = orbit_local_bus_flush(r->bus, 1);
	if (strcmp(topic, "a") == 0 && r->follow_ups-- > 0) {
		orbit_payload q = {(const uint8_t *)"x", 1, ORBIT_FMT_UTF8, NULL};
		orbit_bus_publish(r->bus, "a", &q, 0);
	}
}

START_TEST(flush_delivers_now_and_bounds_generations)
{
	struct event_base *base = event_base_new();
	orbit_bus *b = orbit_local_bus_new(base);
	struct rec r = {.bus = b, .follow_ups = 3};
	ck_assert_int_eq(orbit_bus_subscribe(b, "a", handler, &r), 0);
	orbit_payload p = {(const uint8_t *)"x", 1, ORBIT_FMT_UTF8, NULL};
	ck_assert_int_eq(orbit_bus_publish(b, "a", &p, 0), 0);
	ck_assert_int_eq(orbit_bus_publish(b, "a", &p, 0), 0);
	/* Generation 1: the two queued; each publishes a follow-up (2 left). */
	ck_assert_int_eq(orbit_local_bus_flush(b, 1), 2);
	ck_assert_int_eq(r.got, 2);
	/* Generations 2 and 3: two, then the last follow-up; then nothing. */
	ck_assert_int_eq(orbit_local_bus_flush(b, 10), 3);
	ck_assert_int_eq(r.got, 5);
	ck_assert_int_eq(orbit_local_bus_flush(b, 10), 0);
	/* The loop finds nothing left to deliver twice. */
	event_base_loop(base, EVLOOP_NONBLOCK);
	ck_assert_int_eq(r.got, 5);
	ck_assert_int_eq(orbit_local_bus_flush(b, 0), -EINVAL);
	orbit_bus_free(b);
	event_base_free(base);
}
END_TEST

START_TEST(flush_refused_inside_a_delivery)
{
	struct event_base *base = event_base_new();
	orbit_bus *b = orbit_local_bus_new(base);
	struct rec r = {.bus = b, .nest = true, .nested_rc = 1};
	ck_assert_int_eq(orbit_bus_subscribe(b, "t", handler, &r), 0);
	orbit_payload p = {NULL, 0, ORBIT_FMT_NONE, NULL};
	ck_assert_int_eq(orbit_bus_publish(b, "t", &p, 0), 0);
	event_base_loop(base, EVLOOP_NONBLOCK);
	ck_assert_int_eq(r.got, 1);
	ck_assert_int_eq(r.nested_rc, -EBUSY);
	orbit_bus_free(b);
	event_base_free(base);
}
END_TEST

START_TEST(flush_only_for_the_in_process_bus)
{
	struct event_base *base = event_base_new();
	orbit_bus *l1 = orbit_local_bus_new(base), *l2 = orbit_local_bus_new(base);
	orbit_bus *dual = orbit_dual_bus_new(l1, l2, "$handshake.discover");
	ck_assert_ptr_nonnull(dual);
	ck_assert_int_eq(orbit_local_bus_flush(dual, 1), -EINVAL);
	ck_assert_int_eq(orbit_local_bus_flush(NULL, 1), -EINVAL);
	orbit_bus_free(dual);
	orbit_bus_free(l1);
	orbit_bus_free(l2);
	event_base_free(base);
}
END_TEST

static void count(void *ctx, const char *topic, const orbit_payload *p)
{
	(void)topic;
	(void)p;
	(*(int *)ctx)++;
}

/* The dual bus keeps a connection's traffic on the bus it was made on:
 * in-process listeners win, the rest goes remote, discover goes to both. */
START_TEST(dual_bus_routes_by_local_listeners)
{
	struct event_base *base = event_base_new();
	orbit_bus *local = orbit_local_bus_new(base), *remote = orbit_local_bus_new(base);
	orbit_bus *dual = orbit_dual_bus_new(local, remote, "disc");
	int l_in = 0, r_in = 0, l_disc = 0, r_disc = 0, r_only = 0, sub = 0;
	orbit_bus_subscribe(local, "in", count, &l_in);
	orbit_bus_subscribe(remote, "in", count, &r_in);
	orbit_bus_subscribe(local, "disc", count, &l_disc);
	orbit_bus_subscribe(remote, "disc", count, &r_disc);
	orbit_bus_subscribe(remote, "far", count, &r_only);
	/* Subscribing through the dual bus listens on both. */
	ck_assert_int_eq(orbit_bus_subscribe(dual, "back", count, &sub), 0);
	orbit_payload p = {NULL, 0, ORBIT_FMT_NONE, NULL};
	orbit_bus_publish(dual, "in", &p, 0);
	orbit_bus_publish(dual, "disc", &p, 0);
	orbit_bus_publish(dual, "far", &p, 0);
	orbit_bus_publish(local, "back", &p, 0);
	orbit_bus_publish(remote, "back", &p, 0);
	event_base_loop(base, EVLOOP_NONBLOCK);
	ck_assert_int_eq(l_in, 1);
	ck_assert_int_eq(r_in, 0);
	ck_assert_int_eq(l_disc, 1);
	ck_assert_int_eq(r_disc, 1);
	ck_assert_int_eq(r_only, 1);
	ck_assert_int_eq(sub, 2);
	ck_assert_int_eq(orbit_bus_unsubscribe(dual, "back", &sub), 0);
	orbit_bus_free(dual);
	orbit_bus_free(local);
	orbit_bus_free(remote);
	event_base_free(base);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("local_bus");
	TCase *tc = tcase_create("flush");
	tcase_add_test(tc, flush_delivers_now_and_bounds_generations);
	tcase_add_test(tc, flush_refused_inside_a_delivery);
	tcase_add_test(tc, flush_only_for_the_in_process_bus);
	tcase_add_test(tc, dual_bus_routes_by_local_listeners);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
