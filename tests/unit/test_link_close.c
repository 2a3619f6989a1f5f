/* test_link_close.c — the CLOSE link frame (orbitctl close on an isolated
 * plugin's side): sent over a real socketpair between two links on a real
 * libevent loop and read back; names beyond the limits refused on sending;
 * every malformed body refused on reading (no NUL, empty names, a NUL in
 * the operation, a bad graceful byte, too long). */
#include "evwait.h"
#include "link.h"

#include <check.h>
#include <event2/event.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define WAIT 5.0

static struct event_base *base;
static struct link *a, *b;
static char got_remote[LINK_CLOSE_ID_MAX + 1], got_op[LINK_CLOSE_ID_MAX + 1];
static bool got_graceful;
static int frames, parse_rc;

static int on_frame(void *ctx, const struct link_frame *f)
{
	(void)ctx;
	ck_assert_int_eq(f->type, LINK_CLOSE);
	parse_rc = link_parse_close(&f->p, got_remote, got_op, &got_graceful);
	frames++;
	return 0;
}

static void on_down(void *ctx, int err, const char *why)
{
	(void)ctx;
	ck_abort_msg("link down: %d %s", err, why ? why : "");
}

static bool arrived(void *arg)
{
	return frames >= *(int *)arg;
}

static void setup(void)
{
	int sv[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	base = event_base_new();
	a = link_new(base, sv[0], 1 << 16, on_frame, on_down, NULL);
	b = link_new(base, sv[1], 1 << 16, on_frame, on_down, NULL);
	ck_assert(a && b);
	frames = 0;
}

static void teardown(void)
{
	link_free(a);
	link_free(b);
	event_base_free(base);
}

START_TEST(round_trip)
{
	ck_assert_int_eq(link_send_close(a, "core-eu-1", "lowercase", true), 0);
	int want = 1;
	ck_assert(test_run_until(base, arrived, &want, WAIT));
	ck_assert_int_eq(parse_rc, 0);
	ck_assert_str_eq(got_remote, "core-eu-1");
	ck_assert_str_eq(got_op, "lowercase");
	ck_assert(got_graceful);
	/* The longest names there may be, graceless. */
	char *r = malloc(LINK_CLOSE_ID_MAX + 1), *o = malloc(LINK_CLOSE_ID_MAX + 1);
	memset(r, 'r', LINK_CLOSE_ID_MAX);
	memset(o, 'o', LINK_CLOSE_ID_MAX);
	r[LINK_CLOSE_ID_MAX] = o[LINK_CLOSE_ID_MAX] = 0;
	ck_assert_int_eq(link_send_close(a, r, o, false), 0);
	want = 2;
	ck_assert(test_run_until(base, arrived, &want, WAIT));
	ck_assert_int_eq(parse_rc, 0);
	ck_assert_str_eq(got_remote, r);
	ck_assert_str_eq(got_op, o);
	ck_assert(!got_graceful);
	/* One byte more, or nothing: not sent. */
	r[LINK_CLOSE_ID_MAX - 1] = 0;
	o[0] = 0;
	ck_assert_int_eq(link_send_close(a, r, o, true), -EINVAL);
	memset(r, 'r', LINK_CLOSE_ID_MAX);
	char *big = malloc(LINK_CLOSE_ID_MAX + 2);
	memset(big, 'x', LINK_CLOSE_ID_MAX + 1);
	big[LINK_CLOSE_ID_MAX + 1] = 0;
	ck_assert_int_eq(link_send_close(a, big, "op", true), -EINVAL);
	ck_assert_int_eq(link_send_close(a, "", "op", true), -EINVAL);
	free(big);
	free(r);
	free(o);
}
END_TEST

START_TEST(malformed_bodies)
{
	static const struct {
		const char *name;
		const char *body;
		size_t len;
	} bad[] = {
		{"empty", "", 0},
		{"no NUL", "\1remoteop", 9},
		{"empty remote", "\1\0op", 4},
		{"empty operation", "\1remote\0", 8},
		{"NUL in the operation", "\1r\0o\0p", 6},
		{"graceful byte 2", "\2r\0op", 5},
	};
	char remote[LINK_CLOSE_ID_MAX + 1], op[LINK_CLOSE_ID_MAX + 1];
	bool g;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		orbit_payload p = {(const uint8_t *)bad[i].body, bad[i].len, 0, NULL};
		ck_assert_msg(link_parse_close(&p, remote, op, &g) == -EPROTO, "%s", bad[i].name);
	}
	/* A remote one byte past the limit. */
	size_t n = 1 + LINK_CLOSE_ID_MAX + 1 + 1 + 2;
	char *b2 = malloc(n);
	b2[0] = 1;
	memset(b2 + 1, 'r', LINK_CLOSE_ID_MAX + 1);
	b2[LINK_CLOSE_ID_MAX + 2] = 0;
	memcpy(b2 + LINK_CLOSE_ID_MAX + 3, "op", 2);
	orbit_payload p = {(const uint8_t *)b2, n, 0, NULL};
	ck_assert_int_eq(link_parse_close(&p, remote, op, &g), -EPROTO);
	free(b2);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("link-close");
	TCase *tc = tcase_create("close");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, malformed_bodies);
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
