/* test_link.c — orbitd/link.c, the framed socket between orbitd and a plugin
 * process, over a real socketpair and a real libevent loop: every frame kind
 * round-trips field by field; what one callback sends leaves once it has
 * returned, in order; a frame written one byte at a time is reassembled;
 * each malformed input takes the link down with EPROTO and the reason that
 * names it (a huge length before any body arrives); end of file is err 0;
 * the output bound drops message frames (counted) but never control frames
 * and never desynchronises the stream; link_free from inside the link's own
 * callbacks is safe (run under valgrind with CK_FORK=no: no error, no
 * definite leak).
 *
 * Raw frames are built here from the header layout link.h documents (12
 * bytes, host order: u32 length, u8 type, bus, format, flags, u16 topic
 * length, u16 message-type length), so a change of the layout fails here.
 * Waits run the loop against a deadline; nothing decides on a sleep.
 */
#include "evwait.h"
#include "link.h"

#include <orbit/bus.h>

#include <check.h>
#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define WAIT 5.0
#define MAXF 2048

/* ---- what a link's callbacks saw --------------------------------------- */

struct got {
	uint8_t type, bus;
	unsigned flags;
	char *topic;
	uint8_t *data; /* a copy; NULL when the frame's was */
	size_t len;
	int format;
	char *mtype;   /* NULL when the frame's was */
};

struct rx {
	struct link *l;
	struct got f[MAXF];
	int n;
	int downs;
	int err;
	char why[256];
	bool why_null;
	bool free_in_frame; /* link_free from on_frame (and return -1) */
	bool free_in_down;  /* link_free from on_down */
	int after_frame_rc; /* on_frame's return otherwise */
};

static int on_frame(void *ctx, const struct link_frame *f)
{
	struct rx *r = ctx;
	ck_assert_int_lt(r->n, MAXF);
	struct got *g = &r->f[r->n++];
	g->type = f->type;
	g->bus = f->bus;
	g->flags = f->flags;
	g->topic = strdup(f->topic);
	g->len = f->p.len;
	g->format = (int)f->p.format;
	g->data = NULL;
	if (f->p.data) {
		g->data = malloc(f->p.len + 1);
		memcpy(g->data, f->p.data, f->p.len);
	}
	g->mtype = f->p.message_type ? strdup(f->p.message_type) : NULL;
	if (r->free_in_frame) {
		link_free(r->l);
		r->l = NULL;
		return -1;
	}
	return r->after_frame_rc;
}

static void on_down(void *ctx, int err, const char *why)
{
	struct rx *r = ctx;
	r->downs++;
	r->err = err;
	r->why_null = why == NULL;
	snprintf(r->why, sizeof r->why, "%s", why ? why : "");
	if (r->free_in_down) {
		link_free(r->l);
		r->l = NULL;
	}
}

static void rx_clear(struct rx *r)
{
	for (int i = 0; i < r->n; i++) {
		free(r->f[i].topic);
		free(r->f[i].data);
		free(r->f[i].mtype);
	}
	r->n = 0;
}

/* ---- the world of one test ---------------------------------------------- */

static struct event_base *base;
static struct rx *ra, *rb; /* the callbacks' records for link a and b */
static int sv[2];

static void setup(void)
{
	signal(SIGPIPE, SIG_IGN); /* a write to a closed peer fails with EPIPE */
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	ra = calloc(1, sizeof *ra);
	rb = calloc(1, sizeof *rb);
	ck_assert(ra && rb);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

static void teardown(void)
{
	link_free(ra->l);
	link_free(rb->l);
	for (int i = 0; i < 2; i++)
		if (sv[i] >= 0)
			close(sv[i]);
	rx_clear(ra);
	rx_clear(rb);
	free(ra);
	free(rb);
	event_base_free(base);
}

/* Link a on sv[0], b on sv[1] (the fds then belong to the links). */
static struct link *link_on(struct rx *r, int i, size_t max_out)
{
	r->l = link_new(base, sv[i], max_out, on_frame, on_down, r);
	ck_assert_msg(r->l, "link_new: %s", strerror(errno));
	sv[i] = -1;
	return r->l;
}

struct count_want {
	const int *v;
	int n;
};

static bool count_reached(void *arg)
{
	const struct count_want *w = arg;
	return *w->v >= w->n;
}

static void wait_frames(struct rx *r, int n)
{
	struct count_want w = {&r->n, n};
	ck_assert_msg(test_run_until(base, count_reached, &w, WAIT), "%d of %d frames arrived",
		      r->n, n);
}

static void wait_down(struct rx *r)
{
	struct count_want w = {&r->downs, 1};
	ck_assert_msg(test_run_until(base, count_reached, &w, WAIT), "link not down (%d frames)",
		      r->n);
}

/* Run the loop's ready events once, without blocking. */
static void spin_once(void)
{
	ck_assert_int_ge(event_base_loop(base, EVLOOP_NONBLOCK), 0);
}

/* ---- raw frames --------------------------------------------------------- */

struct raw_hdr {
	uint32_t len;
	uint8_t type, bus, format, flags;
	uint16_t topic_len, mtype_len;
};
_Static_assert(sizeof(struct raw_hdr) == 12, "the documented header is 12 bytes");

/* A frame as bytes: header fields as given (len: the body length unless
 * len_override >= 0), then topic (tlen bytes), mtype (mlen), data (dlen). */
static size_t raw_frame(uint8_t *buf, uint8_t type, uint8_t bus, uint8_t format, uint8_t flags,
			const char *topic, size_t tlen, const char *mtype, size_t mlen,
			const void *data, size_t dlen, long long len_override)
{
	struct raw_hdr h = {
		.len = len_override >= 0 ? (uint32_t)len_override : (uint32_t)(tlen + mlen + dlen),
		.type = type,
		.bus = bus,
		.format = format,
		.flags = flags,
		.topic_len = (uint16_t)tlen,
		.mtype_len = (uint16_t)mlen,
	};
	memcpy(buf, &h, sizeof h);
	size_t n = sizeof h;
	if (tlen)
		memcpy(buf + n, topic, tlen);
	n += tlen;
	if (mlen)
		memcpy(buf + n, mtype, mlen);
	n += mlen;
	if (dlen)
		memcpy(buf + n, data, dlen);
	return n + dlen;
}

static void write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t w = write(fd, p, len);
		ck_assert_msg(w > 0, "write: %s", strerror(errno));
		p += w;
		len -= (size_t)w;
	}
}

/* ---- round trips -------------------------------------------------------- */

static const orbit_payload P_NONE = {NULL, 0, ORBIT_FMT_NONE, NULL};

static void expect_msg(const struct got *g, uint8_t type, uint8_t bus, unsigned flags,
		       const char *topic, const orbit_payload *p)
{
	ck_assert_uint_eq(g->type, type);
	ck_assert_uint_eq(g->bus, bus);
	ck_assert_uint_eq(g->flags, flags);
	ck_assert_str_eq(g->topic, topic);
	const orbit_payload *e = p ? p : &P_NONE;
	ck_assert_int_eq(g->format, (int)e->format);
	ck_assert_uint_eq(g->len, e->len);
	if (e->len)
		ck_assert_mem_eq(g->data, e->data, e->len);
	else
		ck_assert_ptr_null(g->data);
	if (e->message_type) {
		ck_assert_ptr_nonnull(g->mtype);
		ck_assert_str_eq(g->mtype, e->message_type);
	} else {
		ck_assert_ptr_null(g->mtype);
	}
}

static void expect_data(const struct got *g, uint8_t type, const void *data, size_t len)
{
	ck_assert_uint_eq(g->type, type);
	ck_assert_str_eq(g->topic, "");
	ck_assert_ptr_null(g->mtype);
	ck_assert_uint_eq(g->len, len);
	if (len)
		ck_assert_mem_eq(g->data, data, len);
}

START_TEST(every_frame_kind_round_trips)
{
	struct link *a = link_on(ra, 0, 1u << 20);
	link_on(rb, 1, 1u << 20);

	static const uint8_t bin[] = {0, 1, 2, 0, 0xff, 0x80, 0};
	char long_topic[LINK_TOPIC_MAX + 1], long_mtype[LINK_MTYPE_MAX + 1];
	memset(long_topic, 't', LINK_TOPIC_MAX);
	long_topic[LINK_TOPIC_MAX] = 0;
	memset(long_mtype, 'm', LINK_MTYPE_MAX);
	long_mtype[LINK_MTYPE_MAX] = 0;
	const orbit_payload utf8 = {(const uint8_t *)"hello", 5, ORBIT_FMT_UTF8, "Greeting"};
	const orbit_payload avro = {bin, sizeof bin, ORBIT_FMT_AVRO, "ns.Record"};
	const orbit_payload bytes = {bin, sizeof bin, ORBIT_FMT_BYTES, NULL};
	const orbit_payload json = {(const uint8_t *)"{\"k\":[1,2]}", 11, ORBIT_FMT_JSON, NULL};
	const orbit_payload empty = {NULL, 0, ORBIT_FMT_UTF8, NULL};
	const orbit_payload empty_typed = {NULL, 0, ORBIT_FMT_AVRO, "ns.Empty"};
	const orbit_payload longest = {bin, sizeof bin, ORBIT_FMT_BYTES, long_mtype};
	const uint64_t token = 0x0102030405060708ull;
	static const char reconfig[] = "{\"policies\":[],\"config\":null}";
	static const char failed[] = "init: no such device";

	ck_assert_int_eq(link_send_msg(a, LINK_DELIVER, 0, 0, "a/b/c", &utf8), 0);
	ck_assert_int_eq(link_send_msg(a, LINK_PUB, 1, ORBIT_PUB_AFTER_SUBACK, "x", &avro), 0);
	ck_assert_int_eq(link_send_msg(a, LINK_PUB, 0, 0, "bytes/topic", &bytes), 0);
	ck_assert_int_eq(link_send_msg(a, LINK_DELIVER, 1, 0, "j", &json), 0);
	ck_assert_int_eq(link_send_msg(a, LINK_PUB, 0, 0, "empty", &empty), 0);
	ck_assert_int_eq(link_send_msg(a, LINK_DELIVER, 0, 0, "empty/typed", &empty_typed), 0);
	ck_assert_int_eq(link_send_msg(a, LINK_DELIVER, 0, 0, "none", &P_NONE), 0);
	ck_assert_int_eq(link_send_msg(a, LINK_PUB, 0, 0, "none/null", NULL), 0);
	ck_assert_int_eq(link_send_msg(a, LINK_SUB, 1, 0, "t/+/#", NULL), 0);
	ck_assert_int_eq(link_send_msg(a, LINK_UNSUB, 0, 0, "t/+/#", NULL), 0);
	ck_assert_int_eq(link_send_msg(a, LINK_PUB, 0, 0xa5, long_topic, &longest), 0);
	ck_assert_int_eq(link_send_data(a, LINK_PING, &token, sizeof token), 0);
	ck_assert_int_eq(link_send_data(a, LINK_STOP, NULL, 0), 0);
	ck_assert_int_eq(link_send_data(a, LINK_CLOSE_ALL, &token, sizeof token), 0);
	ck_assert_int_eq(link_send_data(a, LINK_RECONFIG, reconfig, strlen(reconfig)), 0);
	ck_assert_int_eq(link_send_data(a, LINK_PONG, &token, sizeof token), 0);
	ck_assert_int_eq(link_send_data(a, LINK_READY, NULL, 0), 0);
	ck_assert_int_eq(link_send_data(a, LINK_FAIL, failed, strlen(failed)), 0);
	ck_assert_int_eq(link_send_data(a, LINK_REPORT, "{}", 2), 0);
	ck_assert_int_eq(link_send_data(a, LINK_RECONFIGURED, "", 0), 0);

	/* Refused on the way out, nothing queued for them. */
	size_t queued = link_queued(a);
	char over_topic[LINK_TOPIC_MAX + 2], over_mtype[LINK_MTYPE_MAX + 2];
	memset(over_topic, 'o', sizeof over_topic - 1);
	over_topic[sizeof over_topic - 1] = 0;
	memset(over_mtype, 'o', sizeof over_mtype - 1);
	over_mtype[sizeof over_mtype - 1] = 0;
	const orbit_payload bad_mtype = {bin, 1, ORBIT_FMT_BYTES, over_mtype};
	const orbit_payload huge = {bin, LINK_FRAME_MAX, ORBIT_FMT_BYTES, NULL};
	ck_assert_int_eq(link_send_msg(a, LINK_PUB, 0, 0, over_topic, &bytes), -EMSGSIZE);
	ck_assert_int_eq(link_send_msg(a, LINK_PUB, 0, 0, "", &bytes), -EMSGSIZE);
	ck_assert_int_eq(link_send_msg(a, LINK_PUB, 0, 0, "t", &bad_mtype), -EMSGSIZE);
	ck_assert_int_eq(link_send_msg(a, LINK_PUB, 0, 0, "t", &huge), -EMSGSIZE);
	ck_assert_int_eq(link_send_data(a, LINK_REPORT, bin, (size_t)LINK_FRAME_MAX + 1), -EMSGSIZE);
	ck_assert_uint_eq(link_queued(a), queued);
	ck_assert_uint_eq(link_dropped(a), 0);

	wait_frames(rb, 20);
	const struct got *g = rb->f;
	expect_msg(g++, LINK_DELIVER, 0, 0, "a/b/c", &utf8);
	expect_msg(g++, LINK_PUB, 1, ORBIT_PUB_AFTER_SUBACK, "x", &avro);
	expect_msg(g++, LINK_PUB, 0, 0, "bytes/topic", &bytes);
	expect_msg(g++, LINK_DELIVER, 1, 0, "j", &json);
	expect_msg(g++, LINK_PUB, 0, 0, "empty", &empty);
	expect_msg(g++, LINK_DELIVER, 0, 0, "empty/typed", &empty_typed);
	expect_msg(g++, LINK_DELIVER, 0, 0, "none", NULL);
	expect_msg(g++, LINK_PUB, 0, 0, "none/null", NULL);
	expect_msg(g++, LINK_SUB, 1, 0, "t/+/#", NULL);
	expect_msg(g++, LINK_UNSUB, 0, 0, "t/+/#", NULL);
	expect_msg(g++, LINK_PUB, 0, 0xa5, long_topic, &longest);
	expect_data(g++, LINK_PING, &token, sizeof token);
	expect_data(g++, LINK_STOP, NULL, 0);
	expect_data(g++, LINK_CLOSE_ALL, &token, sizeof token);
	expect_data(g++, LINK_RECONFIG, reconfig, strlen(reconfig));
	expect_data(g++, LINK_PONG, &token, sizeof token);
	expect_data(g++, LINK_READY, NULL, 0);
	expect_data(g++, LINK_FAIL, failed, strlen(failed));
	expect_data(g++, LINK_REPORT, "{}", 2);
	expect_data(g++, LINK_RECONFIGURED, NULL, 0);
	ck_assert_int_eq(rb->n, 20);
	ck_assert_int_eq(rb->downs, 0);
	ck_assert_uint_eq(link_queued(a), 0);

	/* Both ways: b answers on the same socket. */
	ck_assert_int_eq(link_send_data(rb->l, LINK_PONG, &token, sizeof token), 0);
	wait_frames(ra, 1);
	expect_data(&ra->f[0], LINK_PONG, &token, sizeof token);
	ck_assert_int_eq(ra->downs, 0);
}
END_TEST

START_TEST(frames_at_the_size_limit_pass)
{
	struct link *a = link_on(ra, 0, 3 * (size_t)LINK_FRAME_MAX);
	link_on(rb, 1, 1u << 20);
	uint8_t *big = malloc(LINK_FRAME_MAX);
	ck_assert_ptr_nonnull(big);
	for (size_t i = 0; i < LINK_FRAME_MAX; i++)
		big[i] = (uint8_t)(i * 7 + i / 251);
	ck_assert_int_eq(link_send_data(a, LINK_REPORT, big, LINK_FRAME_MAX), 0);
	/* topic + message type + data: exactly the limit. */
	const orbit_payload p = {big, LINK_FRAME_MAX - 5 - 2, ORBIT_FMT_BYTES, "mt"};
	ck_assert_int_eq(link_send_msg(a, LINK_PUB, 0, 0, "a/b/c", &p), 0);
	const orbit_payload over = {big, LINK_FRAME_MAX - 5 - 2 + 1, ORBIT_FMT_BYTES, "mt"};
	ck_assert_int_eq(link_send_msg(a, LINK_PUB, 0, 0, "a/b/c", &over), -EMSGSIZE);
	wait_frames(rb, 2);
	expect_data(&rb->f[0], LINK_REPORT, big, LINK_FRAME_MAX);
	expect_msg(&rb->f[1], LINK_PUB, 0, 0, "a/b/c", &p);
	ck_assert_int_eq(rb->downs, 0);
	free(big);
}
END_TEST

/* ---- batching ----------------------------------------------------------- */

#define BATCH 1000

struct batch {
	struct link *a;
	size_t queued_in_cb;
	size_t frame_bytes;
	bool ran;
};

static void send_batch(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct batch *b = arg;
	for (int i = 0; i < BATCH; i++) {
		char data[32], topic[32];
		int n = snprintf(data, sizeof data, "%d", i);
		snprintf(topic, sizeof topic, "seq/%d", i % 7);
		orbit_payload p = {(const uint8_t *)data, (size_t)n, ORBIT_FMT_UTF8, NULL};
		ck_assert_int_eq(link_send_msg(b->a, LINK_DELIVER, 0, 0, topic, &p), 0);
		b->frame_bytes += LINK_HEADER + strlen(topic) + (size_t)n;
		if (i % 100 == 0) {
			ck_assert_int_eq(link_send_data(b->a, LINK_PING, &i, sizeof i), 0);
			b->frame_bytes += LINK_HEADER + sizeof i;
		}
	}
	/* Nothing written while the callback runs: one write once it returns. */
	b->queued_in_cb = link_queued(b->a);
	b->ran = true;
}

START_TEST(many_frames_from_one_callback_arrive_in_order)
{
	struct batch b = {.a = link_on(ra, 0, 16u << 20)};
	link_on(rb, 1, 1u << 20);
	struct event *ev = event_new(base, -1, 0, send_batch, &b);
	event_active(ev, 0, 0);
	wait_frames(rb, BATCH + BATCH / 100);
	event_free(ev);
	ck_assert(b.ran);
	ck_assert_uint_eq(b.queued_in_cb, b.frame_bytes);
	int next = 0, pings = 0;
	for (int i = 0; i < rb->n; i++) {
		const struct got *g = &rb->f[i];
		if (g->type == LINK_PING) {
			int v;
			ck_assert_uint_eq(g->len, sizeof v);
			memcpy(&v, g->data, sizeof v);
			ck_assert_int_eq(v, pings * 100);
			/* A ping goes right after the message it followed. */
			ck_assert_int_eq(next, pings * 100 + 1);
			pings++;
			continue;
		}
		char want[32], topic[32];
		snprintf(want, sizeof want, "%d", next);
		snprintf(topic, sizeof topic, "seq/%d", next % 7);
		ck_assert_uint_eq(g->type, LINK_DELIVER);
		ck_assert_str_eq(g->topic, topic);
		ck_assert_uint_eq(g->len, strlen(want));
		ck_assert_mem_eq(g->data, want, g->len);
		next++;
	}
	ck_assert_int_eq(next, BATCH);
	ck_assert_int_eq(pings, BATCH / 100);
	ck_assert_uint_eq(link_queued(b.a), 0);
	ck_assert_int_eq(rb->downs, 0);
}
END_TEST

/* ---- reassembly --------------------------------------------------------- */

START_TEST(frames_written_a_byte_at_a_time_are_reassembled)
{
	link_on(rb, 1, 1u << 20);
	uint8_t buf[256];
	static const char data[] = "{\"a\":1}";
	size_t n = raw_frame(buf, LINK_PUB, 1, ORBIT_FMT_JSON, ORBIT_PUB_AFTER_SUBACK, "x/y", 3,
			     "T", 1, data, strlen(data), -1);
	size_t n2 = raw_frame(buf + n, LINK_READY, 0, 0, 0, NULL, 0, NULL, 0, NULL, 0, -1);
	for (size_t i = 0; i < n + n2; i++) {
		write_all(sv[0], buf + i, 1);
		for (int k = 0; k < 3; k++)
			spin_once();
		/* Nothing before the last byte of a frame. */
		if (i + 1 < n)
			ck_assert_int_eq(rb->n, 0);
		else if (i + 1 < n + n2)
			ck_assert_int_le(rb->n, 1);
	}
	wait_frames(rb, 2);
	const orbit_payload want = {(const uint8_t *)data, strlen(data), ORBIT_FMT_JSON, "T"};
	expect_msg(&rb->f[0], LINK_PUB, 1, ORBIT_PUB_AFTER_SUBACK, "x/y", &want);
	expect_data(&rb->f[1], LINK_READY, NULL, 0);
	ck_assert_int_eq(rb->n, 2);
	ck_assert_int_eq(rb->downs, 0);
}
END_TEST

/* ---- malformed input ---------------------------------------------------- */

struct bad_case {
	const char *name;
	uint8_t type, format;
	const char *topic;
	size_t tlen;
	const char *mtype;
	size_t mlen;
	const char *data;
	size_t dlen;
	long long len; /* < 0: the body's */
	bool header_only;
	const char *why; /* in the reason */
};

static const struct bad_case bad_cases[] = {
	{"type 0", 0, 0, NULL, 0, NULL, 0, NULL, 0, -1, false, "unknown frame type 0"},
	{"type between the ranges", LINK_TAG + 1, 0, NULL, 0, NULL, 0, NULL, 0, -1, false,
	 "unknown frame type 8"},
	{"type past the last", LINK_CALL_DONE + 1, 0, NULL, 0, NULL, 0, NULL, 0, -1, false,
	 "unknown frame type 26"},
	{"type 255 announcing 4 GB", 255, 0, NULL, 0, NULL, 0, NULL, 0, 0xffffffffll, true,
	 "unknown frame type 255"},
	{"length over the limit, header only", LINK_REPORT, 0, NULL, 0, NULL, 0, NULL, 0,
	 (long long)LINK_FRAME_MAX + 1, true, "frame of 16777217 bytes (limit 16777216)"},
	{"4 GB frame, header only", LINK_PUB, ORBIT_FMT_BYTES, "t", 1, NULL, 0, NULL, 0,
	 0xffffffffll, true, "frame of 4294967295 bytes"},
	{"topic over the limit", LINK_SUB, 0, NULL, LINK_TOPIC_MAX + 1, NULL, 0, NULL, 0,
	 LINK_TOPIC_MAX + 1, true, "topic of 1025 bytes (limit 1024)"},
	{"message type too long", LINK_PUB, ORBIT_FMT_UTF8, "t", 1, NULL, LINK_MTYPE_MAX + 1,
	 NULL, 0, 1 + LINK_MTYPE_MAX + 1, true, "message type of 256 bytes"},
	{"topic and message type longer than the frame", LINK_PUB, ORBIT_FMT_UTF8, "top", 3, "mt",
	 2, NULL, 0, 4, false, "topic and message type longer than the frame"},
	{"control frame with a topic", LINK_PING, 0, "t", 1, NULL, 0, "12345678", 8, -1, false,
	 "control frame type 2 with a topic"},
	{"control frame with a message type", LINK_PONG, 0, NULL, 0, "m", 1, NULL, 0, -1, false,
	 "control frame type 19 with a topic"},
	{"message frame without topic", LINK_DELIVER, ORBIT_FMT_UTF8, NULL, 0, NULL, 0, "x", 1, -1,
	 false, "message frame type 1 without a topic"},
	{"SUB without topic", LINK_SUB, 0, NULL, 0, NULL, 0, NULL, 0, -1, false,
	 "message frame type 16 without a topic"},
	{"bad payload format", LINK_PUB, ORBIT_FMT_JSON + 1, "t", 1, NULL, 0, "x", 1, -1, false,
	 "payload format 5"},
	{"payload format 255 on a control frame", LINK_PING, 255, NULL, 0, NULL, 0, NULL, 0, -1,
	 false, "payload format 255"},
	{"NUL inside a topic", LINK_SUB, 0, "a\0b", 3, NULL, 0, NULL, 0, -1, false,
	 "NUL inside a topic or message type"},
	{"NUL at the end of a topic", LINK_DELIVER, ORBIT_FMT_UTF8, "ab\0", 3, NULL, 0, "x", 1, -1,
	 false, "NUL inside a topic or message type"},
	{"NUL inside a message type", LINK_PUB, ORBIT_FMT_UTF8, "t", 1, "m\0", 2, "x", 1, -1, false,
	 "NUL inside a topic or message type"},
	{"payload-less message carrying bytes", LINK_PUB, ORBIT_FMT_NONE, "t", 1, NULL, 0, "ab", 2,
	 -1, false, "a payload-less message with 2 bytes"},
	{"payload-less message with a message type", LINK_DELIVER, ORBIT_FMT_NONE, "t", 1, "M", 1,
	 NULL, 0, -1, false, "a payload-less message with 0 bytes"},
	{"payload-less SUB carrying bytes", LINK_SUB, ORBIT_FMT_NONE, "t", 1, NULL, 0, "z", 1, -1,
	 false, "a payload-less message with 1 bytes"},
};

START_TEST(malformed_input_takes_the_link_down_with_its_reason)
{
	const struct bad_case *c = &bad_cases[_i];
	link_on(rb, 1, 1u << 20);
	static uint8_t buf[4096];
	static char fill[LINK_TOPIC_MAX + LINK_MTYPE_MAX + 2];
	memset(fill, 'f', sizeof fill);
	const char *topic = c->topic ? c->topic : fill;
	const char *mtype = c->mtype ? c->mtype : fill;
	/* A good frame first: delivered, and the bad one right behind it. */
	size_t n = raw_frame(buf, LINK_PONG, 0, 0, 0, NULL, 0, NULL, 0, "ok", 2, -1);
	size_t m = raw_frame(buf + n, c->type, 0, c->format, 0, topic, c->tlen, mtype, c->mlen,
			     c->data, c->dlen, c->len);
	write_all(sv[0], buf, c->header_only ? n + LINK_HEADER : n + m);
	wait_down(rb);
	ck_assert_msg(rb->err == EPROTO, "%s: on_down(%d \"%s\"), not EPROTO", c->name, rb->err,
		      rb->why);
	ck_assert_msg(strstr(rb->why, c->why), "%s: reason \"%s\" does not say \"%s\"", c->name,
		      rb->why, c->why);
	ck_assert_msg(rb->n == 1, "%s: %d frames delivered", c->name, rb->n);
	expect_data(&rb->f[0], LINK_PONG, "ok", 2);
	/* Down for good: once, and nothing goes out any more. */
	for (int k = 0; k < 3; k++)
		spin_once();
	ck_assert_int_eq(rb->downs, 1);
	ck_assert_int_eq(rb->n, 1);
	ck_assert_int_eq(link_send_data(rb->l, LINK_PING, NULL, 0), -ENOTCONN);
	ck_assert_int_eq(link_send_msg(rb->l, LINK_SUB, 0, 0, "t", NULL), -ENOTCONN);
}
END_TEST

/* ---- end of file -------------------------------------------------------- */

START_TEST(end_of_file_is_down_with_zero)
{
	link_on(rb, 1, 1u << 20);
	uint8_t buf[64];
	size_t n = raw_frame(buf, LINK_READY, 0, 0, 0, NULL, 0, NULL, 0, NULL, 0, -1);
	write_all(sv[0], buf, n);
	close(sv[0]);
	sv[0] = -1;
	wait_down(rb);
	ck_assert_int_eq(rb->err, 0);
	ck_assert(rb->why_null);
	ck_assert_int_eq(rb->n, 1);
	ck_assert_uint_eq(rb->f[0].type, LINK_READY);
	for (int k = 0; k < 3; k++)
		spin_once();
	ck_assert_int_eq(rb->downs, 1);
	ck_assert_int_eq(link_send_data(rb->l, LINK_PONG, NULL, 0), -ENOTCONN);
}
END_TEST

/* ---- the output bound --------------------------------------------------- */

#define MAX_OUT (64u * 1024)
#define MSG_DATA 1000

START_TEST(output_bound_drops_messages_never_control_frames)
{
	/* Small socket buffers: the peer, which never reads, fills them soon. */
	int small = 4096;
	ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
	ck_assert_int_eq(setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
	struct link *a = link_on(ra, 0, MAX_OUT);
	static uint8_t data[MSG_DATA];
	int accepted = 0, dropped = 0;
	/* Send while the loop flushes, until the bound is reached. */
	for (int i = 0; i < 100000 && !dropped; i++) {
		memset(data, 'a' + i % 26, sizeof data);
		memcpy(data, &i, sizeof i);
		orbit_payload p = {data, sizeof data, ORBIT_FMT_BYTES, NULL};
		int rc = link_send_msg(a, LINK_DELIVER, 0, 0, "bound", &p);
		if (rc == -ENOBUFS) {
			dropped++;
			break;
		}
		ck_assert_int_eq(rc, 0);
		accepted++;
		spin_once();
	}
	ck_assert_msg(dropped == 1, "never reached the bound after %d frames", accepted);
	ck_assert_uint_eq(link_dropped(a), 1);
	size_t frame = LINK_HEADER + strlen("bound") + MSG_DATA;
	ck_assert_uint_le(link_queued(a), MAX_OUT);
	ck_assert_uint_gt(link_queued(a) + frame, MAX_OUT);
	/* Every further message frame is dropped and counted, also a SUB. */
	orbit_payload p = {data, sizeof data, ORBIT_FMT_BYTES, NULL};
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(link_send_msg(a, LINK_PUB, 0, 0, "bound", &p), -ENOBUFS);
	/* Less room than one more data frame: less than a long SUB too. */
	static char big_topic[LINK_TOPIC_MAX + 1];
	memset(big_topic, 's', LINK_TOPIC_MAX);
	ck_assert_int_eq(link_send_msg(a, LINK_SUB, 0, 0, big_topic, NULL), -ENOBUFS);
	uint64_t drops = link_dropped(a);
	ck_assert_uint_eq(drops, 12);
	size_t before = link_queued(a);
	/* Control frames go, whatever the bound. */
	static uint8_t report[100 * 1024];
	memset(report, 'r', sizeof report);
	uint64_t token = 42;
	ck_assert_int_eq(link_send_data(a, LINK_REPORT, report, sizeof report), 0);
	ck_assert_int_eq(link_send_data(a, LINK_PING, &token, sizeof token), 0);
	ck_assert_int_eq(link_send_data(a, LINK_STOP, NULL, 0), 0);
	ck_assert_uint_eq(link_queued(a), before + 3 * LINK_HEADER + sizeof report + sizeof token);
	ck_assert_uint_gt(link_queued(a), MAX_OUT);
	ck_assert_uint_eq(link_dropped(a), drops);
	for (int k = 0; k < 5; k++)
		spin_once();
	ck_assert_int_eq(ra->downs, 0);

	/* The peer reads at last: every accepted frame, whole and in order,
	 * then the control frames; the stream never lost its sync. */
	link_on(rb, 1, 1u << 20);
	wait_frames(rb, accepted + 3);
	int i = 0;
	for (; i < accepted; i++) {
		ck_assert_uint_eq(rb->f[i].type, LINK_DELIVER);
		ck_assert_uint_eq(rb->f[i].len, MSG_DATA);
		int seq;
		memcpy(&seq, rb->f[i].data, sizeof seq);
		ck_assert_int_eq(seq, i);
	}
	expect_data(&rb->f[i++], LINK_REPORT, report, sizeof report);
	expect_data(&rb->f[i++], LINK_PING, &token, sizeof token);
	expect_data(&rb->f[i++], LINK_STOP, NULL, 0);
	ck_assert_int_eq(rb->n, i);
	ck_assert_int_eq(rb->downs, 0);
	/* Room again: message frames are accepted. */
	ck_assert_uint_eq(link_queued(a), 0);
	ck_assert_int_eq(link_send_msg(a, LINK_PUB, 0, 0, "bound", &p), 0);
	ck_assert_uint_eq(link_dropped(a), drops);
}
END_TEST

/* ---- link_free from inside the callbacks -------------------------------- */

START_TEST(free_from_inside_on_frame)
{
	struct link *a = link_on(ra, 0, 1u << 20);
	link_on(rb, 1, 1u << 20);
	rb->free_in_frame = true;
	/* Three frames in one write: the first one's callback frees b with
	 * the rest still buffered. */
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(link_send_data(a, LINK_PING, &i, sizeof i), 0);
	wait_frames(rb, 1);
	ck_assert_ptr_null(rb->l);
	/* No more callbacks of b; a sees its peer gone. */
	ck_assert_int_eq(link_send_data(a, LINK_PONG, NULL, 0), 0);
	wait_down(ra);
	ck_assert_msg(ra->err == 0 || ra->err == EPIPE || ra->err == ECONNRESET, "a: on_down(%d)",
		      ra->err);
	ck_assert_int_eq(rb->n, 1);
	ck_assert_int_eq(rb->downs, 0);
}
END_TEST

START_TEST(free_from_inside_on_down_at_end_of_file)
{
	link_on(rb, 1, 1u << 20);
	rb->free_in_down = true;
	close(sv[0]);
	sv[0] = -1;
	wait_down(rb);
	ck_assert_ptr_null(rb->l);
	ck_assert_int_eq(rb->err, 0);
	for (int k = 0; k < 3; k++)
		spin_once();
	ck_assert_int_eq(rb->downs, 1);
}
END_TEST

START_TEST(free_from_inside_on_down_for_a_bad_frame)
{
	link_on(rb, 1, 1u << 20);
	rb->free_in_down = true;
	uint8_t buf[64];
	size_t n = raw_frame(buf, LINK_READY, 0, 0, 0, NULL, 0, NULL, 0, NULL, 0, -1);
	n += raw_frame(buf + n, 99, 0, 0, 0, NULL, 0, NULL, 0, NULL, 0, -1);
	n += raw_frame(buf + n, LINK_READY, 0, 0, 0, NULL, 0, NULL, 0, NULL, 0, -1);
	write_all(sv[0], buf, n);
	wait_down(rb);
	ck_assert_ptr_null(rb->l);
	ck_assert_int_eq(rb->err, EPROTO);
	ck_assert_int_eq(rb->n, 1);
	for (int k = 0; k < 3; k++)
		spin_once();
	ck_assert_int_eq(rb->downs, 1);
	ck_assert_int_eq(rb->n, 1);
}
END_TEST

START_TEST(free_from_inside_on_down_after_a_failed_write)
{
	/* a writes to a closed peer: the write fails (EPIPE) or the read sees
	 * the end of file first; either way on_down frees a. */
	struct link *a = link_on(ra, 0, 1u << 20);
	ra->free_in_down = true;
	close(sv[1]);
	sv[1] = -1;
	ck_assert_int_eq(link_send_data(a, LINK_PING, "12345678", 8), 0);
	wait_down(ra);
	ck_assert_ptr_null(ra->l);
	ck_assert_msg(ra->err == 0 || ra->err == EPIPE || ra->err == ECONNRESET, "on_down(%d)",
		      ra->err);
	for (int k = 0; k < 3; k++)
		spin_once();
	ck_assert_int_eq(ra->downs, 1);
}
END_TEST

START_TEST(free_from_inside_on_frame_with_output_pending)
{
	struct link *a = link_on(ra, 0, 1u << 20);
	link_on(rb, 1, 1u << 20);
	ck_assert_int_eq(link_send_data(a, LINK_READY, NULL, 0), 0);
	wait_frames(rb, 1);
	/* b has an answer queued when it is freed from its callback. */
	ck_assert_int_eq(link_send_data(rb->l, LINK_PONG, "x", 1), 0);
	ck_assert_uint_gt(link_queued(rb->l), 0);
	rb->free_in_frame = true;
	ck_assert_int_eq(link_send_data(a, LINK_READY, NULL, 0), 0);
	wait_frames(rb, 2);
	ck_assert_ptr_null(rb->l);
	for (int k = 0; k < 5; k++)
		spin_once();
	ck_assert_int_eq(rb->downs, 0);
}
END_TEST

static Suite *link_suite(void)
{
	Suite *s = suite_create("link");
	TCase *tc = tcase_create("link");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, every_frame_kind_round_trips);
	tcase_add_test(tc, frames_at_the_size_limit_pass);
	tcase_add_test(tc, many_frames_from_one_callback_arrive_in_order);
	tcase_add_test(tc, frames_written_a_byte_at_a_time_are_reassembled);
	tcase_add_loop_test(tc, malformed_input_takes_the_link_down_with_its_reason, 0,
			    (int)(sizeof bad_cases / sizeof bad_cases[0]));
	tcase_add_test(tc, end_of_file_is_down_with_zero);
	tcase_add_test(tc, output_bound_drops_messages_never_control_frames);
	tcase_add_test(tc, free_from_inside_on_frame);
	tcase_add_test(tc, free_from_inside_on_down_at_end_of_file);
	tcase_add_test(tc, free_from_inside_on_down_for_a_bad_frame);
	tcase_add_test(tc, free_from_inside_on_down_after_a_failed_write);
	tcase_add_test(tc, free_from_inside_on_frame_with_output_pending);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(link_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
