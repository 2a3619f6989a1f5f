/* test_healing.c — half-open connections heal (libplugin: orbiter.c,
 * core.c, lender.c): a forged Graceless on either side's close topic, a
 * lost close, a lost Request, a lost or late Confirm. The core and the
 * plugin must converge — both connected again, or both closed — within the
 * bound man/orbitd.yaml.5 states, and the healing must stay bounded itself
 * (retransmits never reach a new connection, the retransmit queue has a
 * limit, no close is echoed for a connection we do not know).
 *
 * As in test_engine.c, time is the test's: every orbiter reads W.now and has
 * loop_interval < 0, so housekeeping runs only when the test ticks, and
 * messages are delivered by orbit_local_bus_flush on the test's stack.
 * Orbiters publish through a lossy bus in front of the in-process one: it
 * forwards everything except the publishes a test asks it to lose (by
 * message type, the first n after skipping some) or to hold back for a
 * later release, and it logs every publish (topic and message type), which
 * is what the tests count. A forged message is published on the inner bus
 * directly, as an outsider would. */
#include "orbit/builtin.h"
#include "orbit/core.h"
#include "orbit/lender.h"
#include "wire.h"

#include <check.h>
#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#define T0 1000.0
#define EPS (1.0 / 64)
#define MAXLOG 512
#define MAXP 4

/* ---- the lossy bus ---- */

struct sent {
	char topic[160];
	int kind;
};

struct held {
	char *topic;
	orbit_payload p;
	uint8_t *data;
};

struct lossy {
	orbit_bus base;
	orbit_bus *inner;
	/* Lose `lose` publishes of message kind `kind`, after letting `skip`
	 * of them through; lose < 0: all of them. hold: keep the lost ones
	 * for release_held instead. */
	int kind, skip, lose;
	bool hold;
	struct held held;
	int lost;
	struct sent log[MAXLOG];
	int n_log;
};

static int lossy_subscribe(orbit_bus *b, const char *topic, orbit_bus_handler h, void *ctx)
{
	return orbit_bus_subscribe(((struct lossy *)b)->inner, topic, h, ctx);
}

static int lossy_unsubscribe(orbit_bus *b, const char *topic, void *ctx)
{
	return orbit_bus_unsubscribe(((struct lossy *)b)->inner, topic, ctx);
}

static int lossy_publish(orbit_bus *b, const char *topic, const orbit_payload *p, unsigned flags)
{
	struct lossy *l = (struct lossy *)b;
	int kind = p->message_type ? orbit_msg_kind_from_name(p->message_type) : -1;
	ck_assert_int_lt(l->n_log, MAXLOG);
	snprintf(l->log[l->n_log].topic, sizeof l->log[0].topic, "%s", topic);
	l->log[l->n_log++].kind = kind;
	if (kind == l->kind && l->lose != 0) {
		if (l->skip > 0) {
			l->skip--;
		} else {
			if (l->lose > 0)
				l->lose--;
			l->lost++;
			if (l->hold) {
				ck_assert_ptr_null(l->held.topic);
				l->held.topic = strdup(topic);
				l->held.data = malloc(p->len ? p->len : 1);
				memcpy(l->held.data, p->data, p->len);
				l->held.p = *p;
				l->held.p.data = l->held.data;
			}
			return 0;
		}
	}
	return orbit_bus_publish(l->inner, topic, p, flags);
}

static void lossy_destroy(orbit_bus *b)
{
	free(b);
}

static const orbit_bus_ops lossy_ops = {
	.name = "lossy",
	.subscribe = lossy_subscribe,
	.unsubscribe = lossy_unsubscribe,
	.publish = lossy_publish,
	.destroy = lossy_destroy,
};

/* ---- the world ---- */

struct world {
	struct event_base *base;
	orbit_bus *inner;
	struct lossy *lossy;
	double now;
	orbit_timers t;
	orbit_core *core;
	orbit_lender *plugins[MAXP];
	size_t n_plugins;
	int compliance_changes;
};

static struct world W;

static double test_clock(void *ctx)
{
	return ((const struct world *)ctx)->now;
}

static void on_event(void *ctx, orbit_orbiter *o, const orbit_event *ev)
{
	(void)ctx;
	(void)o;
	if (ev->kind == ORBIT_EV_COMPLIANCE)
		W.compliance_changes++;
}

static void setup(void)
{
	memset(&W, 0, sizeof(W));
	W.base = event_base_new();
	W.inner = orbit_local_bus_new(W.base);
	W.lossy = calloc(1, sizeof *W.lossy);
	W.lossy->base.ops = &lossy_ops;
	W.lossy->base.base = W.base;
	W.lossy->inner = W.inner;
	W.lossy->kind = -1;
	W.now = T0;
	orbit_timers_default(&W.t);
	W.t.loop_interval = -1;
}

static void teardown(void)
{
	orbit_core_free(W.core);
	for (size_t i = 0; i < W.n_plugins; i++)
		orbit_lender_free(W.plugins[i]);
	free(W.lossy->held.topic);
	free(W.lossy->held.data);
	orbit_bus_free(&W.lossy->base);
	orbit_bus_free(W.inner);
	event_base_free(W.base);
}

static void deliver(void)
{
	for (int i = 0; i < 1000; i++) {
		int n = orbit_local_bus_flush(W.inner, 1000);
		ck_assert_int_ge(n, 0);
		if (n == 0 && event_base_get_num_events(W.base, EVENT_BASE_COUNT_ACTIVE) == 0)
			return;
		event_base_loop(W.base, EVLOOP_NONBLOCK);
	}
	ck_abort_msg("the bus never went quiet");
}

/* One housekeeping pass of every orbiter at t (core first), each followed
 * by the delivery of what it sent, as independent loops would have it. */
static void at(double t)
{
	ck_assert(t >= W.now);
	W.now = t;
	ck_assert_int_eq(orbit_orbiter_tick(orbit_core_orbiter(W.core)), 0);
	deliver();
	for (size_t i = 0; i < W.n_plugins; i++) {
		ck_assert_int_eq(orbit_orbiter_tick(orbit_lender_orbiter(W.plugins[i])), 0);
		deliver();
	}
}

static void run_to(double t, double step)
{
	while (W.now + step <= t)
		at(W.now + step);
}

static void echo_handler(void *ctx, orbit_lender *p, const orbit_conn_info *conn,
			 const orbit_payload *in)
{
	(void)ctx;
	orbit_lender_reply(p, conn->remote_id, conn->operation, in);
}

static orbit_lender *add_plugin(const char *id)
{
	orbit_lender *p = orbit_lender_new(&W.lossy->base, id, &W.t, NULL);
	ck_assert_ptr_nonnull(p);
	orbit_lent_op def = {.name = "lowercase", .handler = echo_handler};
	def.policy.maximum = ORBIT_UNLIMITED;
	ck_assert_int_eq(orbit_spec_init_kind(&def.input, ORBIT_KIND_STRING), 0);
	ck_assert_int_eq(orbit_spec_init_kind(&def.output, ORBIT_KIND_STRING), 0);
	ck_assert_int_eq(orbit_lender_add_operation(p, &def), 0);
	orbit_spec_clear(&def.input);
	orbit_spec_clear(&def.output);
	ck_assert_int_eq(orbit_orbiter_set_clock(orbit_lender_orbiter(p), test_clock, &W), 0);
	ck_assert_int_eq(orbit_lender_start(p), 0);
	W.plugins[W.n_plugins++] = p;
	return p;
}

static void sink(void *ctx, orbit_core *c, const orbit_conn_info *conn, const orbit_payload *p)
{
	(void)ctx;
	(void)c;
	(void)conn;
	(void)p;
}

/* core1 requiring lowercase with minimum min and maximum max, started. */
static void start_core(int min, int max)
{
	W.core = orbit_core_new(&W.lossy->base, "core1", &W.t, NULL);
	ck_assert_ptr_nonnull(W.core);
	orbit_spec in, out;
	orbit_spec_init_kind(&in, ORBIT_KIND_STRING);
	orbit_spec_init_kind(&out, ORBIT_KIND_STRING);
	orbit_requirement r = {.operation = "lowercase", .minimum = min, .maximum = max,
			       .inputs = &in, .n_inputs = 1, .outputs = &out, .n_outputs = 1};
	ck_assert_int_eq(orbit_core_require(W.core, &r), 0);
	orbit_spec_clear(&in);
	orbit_spec_clear(&out);
	ck_assert_int_eq(orbit_core_set_sink(W.core, "lowercase", sink, NULL), 0);
	orbit_orbiter *o = orbit_core_orbiter(W.core);
	ck_assert_int_eq(orbit_orbiter_set_clock(o, test_clock, &W), 0);
	orbit_orbiter_set_event_cb(o, on_event, NULL);
	ck_assert_int_eq(orbit_core_start(W.core), 0);
	deliver();
}

static orbit_orbiter *core_orb(void)
{
	return orbit_core_orbiter(W.core);
}

static orbit_orbiter *plugin_orb(size_t i)
{
	return orbit_lender_orbiter(W.plugins[i]);
}

static size_t conns(orbit_orbiter *o)
{
	return orbit_orbiter_connection_count(o);
}

/* The topics of o's only connection. */
struct topics {
	char input[160], output[160], to_remote[160], incoming[160];
	int n;
};

static int note_topics(void *ctx, const orbit_conn_info *c)
{
	struct topics *t = ctx;
	t->n++;
	snprintf(t->input, sizeof t->input, "%s", c->input_topic);
	snprintf(t->output, sizeof t->output, "%s", c->output_topic ? c->output_topic : "");
	snprintf(t->to_remote, sizeof t->to_remote, "%s", c->close_to_remote_topic);
	snprintf(t->incoming, sizeof t->incoming, "%s", c->incoming_close_topic);
	return 0;
}

static struct topics only_conn(orbit_orbiter *o)
{
	struct topics t = {0};
	orbit_orbiter_foreach_connection(o, note_topics, &t);
	ck_assert_int_eq(t.n, 1);
	return t;
}

/* How many messages of kind were published on topic (NULL: any topic)
 * since log entry `from`. */
static int sent(int from, const char *topic, orbit_msg_kind kind)
{
	int n = 0;
	for (int i = from; i < W.lossy->n_log; i++)
		if ((int)kind == W.lossy->log[i].kind &&
		    (!topic || strcmp(topic, W.lossy->log[i].topic) == 0))
			n++;
	return n;
}

/* Publish a Graceless from `from` for lowercase on topic, as an outsider. */
static void forge_close(const char *topic, const char *from)
{
	ck_assert_int_eq(orbit_send_graceless_close(W.inner, topic, from, "lowercase"), 0);
}

static void lose(orbit_msg_kind kind, int skip, int n)
{
	W.lossy->kind = (int)kind;
	W.lossy->skip = skip;
	W.lossy->lose = n;
	W.lossy->lost = 0;
}

/* Both sides hold one connection and the core is compliant. */
static void connected(void)
{
	ck_assert_uint_eq(conns(core_orb()), 1);
	ck_assert_uint_eq(conns(plugin_orb(0)), 1);
	ck_assert_uint_eq(orbit_orbiter_pending_count(core_orb()), 0);
	ck_assert_uint_eq(orbit_orbiter_pending_count(plugin_orb(0)), 0);
	ck_assert(orbit_core_compliant(W.core));
	/* and they agree on the topics */
	struct topics c = only_conn(core_orb()), p = only_conn(plugin_orb(0));
	ck_assert_str_eq(c.input, p.input);
	ck_assert_str_eq(c.output, p.output);
	ck_assert_str_eq(c.to_remote, p.incoming);
	ck_assert_str_eq(c.incoming, p.to_remote);
}

static void core1_with_p1(int min, int max)
{
	add_plugin("p1");
	start_core(min, max);
	connected();
}

/* ---- topics ---- */

/* "prefix" followed by exactly 22 characters of [A-Za-z0-9_-]. */
static void has_token_tail(const char *topic, const char *prefix)
{
	size_t n = strlen(prefix);
	ck_assert_msg(strncmp(topic, prefix, n) == 0, "%s does not start with %s", topic, prefix);
	ck_assert_uint_eq(strlen(topic + n), 22);
	ck_assert_uint_eq(strspn(topic + n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					     "0123456789-_"),
			  22);
}

START_TEST(topics_have_a_random_tail)
{
	core1_with_p1(1, ORBIT_UNLIMITED);
	struct topics c = only_conn(core_orb());
	has_token_tail(c.output, "lowercase.core1.p1.output.");
	has_token_tail(c.incoming, "lowercase.core1.p1.close.");
	has_token_tail(c.to_remote, "lowercase.p1.core1.close.");
	ck_assert_str_eq(strstr(c.input, ".input.") ? "ok" : c.input, "ok");
	/* A second connection of the same pair gets new tails. */
	ck_assert_int_eq(orbit_orbiter_close(core_orb(), "p1", "lowercase", false, NULL), 0);
	deliver();
	at(T0 + 2);
	connected();
	struct topics d = only_conn(core_orb());
	ck_assert_str_ne(c.output, d.output);
	ck_assert_str_ne(c.incoming, d.incoming);
	ck_assert_str_ne(c.to_remote, d.to_remote);
	/* A graceful close's ack topic sits beside our close topic. */
	int mark = W.lossy->n_log;
	ck_assert_int_eq(orbit_orbiter_close(core_orb(), "p1", "lowercase", true, NULL), 0);
	deliver();
	char ack[200];
	snprintf(ack, sizeof ack, "%s.ack", d.incoming);
	ck_assert_int_eq(sent(mark, ack, ORBIT_MSG_CLOSE_ACK), 1);
	ck_assert_uint_eq(conns(core_orb()), 0);
	ck_assert_uint_eq(conns(plugin_orb(0)), 0);
}
END_TEST

/* ---- forged closes ---- */

/* Forged on the core's close topic: the core drops its side and echoes the
 * close to the plugin, which drops its side too (its echo reaches nobody:
 * the core unsubscribed). The core's next Discover reconnects them: healed
 * within one round trip plus discovering_interval and a handshake. */
START_TEST(forged_close_on_core_side_heals)
{
	core1_with_p1(1, ORBIT_UNLIMITED);
	struct topics before = only_conn(core_orb());
	int mark = W.lossy->n_log;
	forge_close(before.incoming, "p1");
	deliver();
	ck_assert_uint_eq(conns(core_orb()), 0);
	ck_assert_uint_eq(conns(plugin_orb(0)), 0);
	ck_assert(!orbit_core_compliant(W.core));
	/* one echo each way, and that is all: nobody knows the connection now */
	ck_assert_int_eq(sent(mark, before.to_remote, ORBIT_MSG_GRACELESS), 1);
	ck_assert_int_eq(sent(mark, before.incoming, ORBIT_MSG_GRACELESS), 1);
	ck_assert_int_eq(sent(mark, NULL, ORBIT_MSG_GRACELESS), 2);
	/* The core lost compliance within 2 s of its start Discover: its next
	 * Discover is due at T0 + 2. */
	at(T0 + 2 - EPS);
	ck_assert_uint_eq(conns(core_orb()), 0);
	at(T0 + 2);
	connected();
	struct topics after = only_conn(core_orb());
	ck_assert_str_ne(before.incoming, after.incoming);
	ck_assert_str_ne(before.input, after.input);
	/* echoes are never sent again */
	run_to(T0 + 6, 1);
	ck_assert_int_eq(sent(mark, NULL, ORBIT_MSG_GRACELESS), 2);
	connected();
}
END_TEST

/* Forged on the plugin's close topic: the plugin drops its side and echoes
 * to the core, which drops its side, is no longer compliant and discovers
 * again at once (its last Discover is older than discovering_interval). */
START_TEST(forged_close_on_plugin_side_heals)
{
	core1_with_p1(1, ORBIT_UNLIMITED);
	struct topics before = only_conn(plugin_orb(0));
	W.now = T0 + 5;
	int mark = W.lossy->n_log;
	forge_close(before.incoming, "core1");
	deliver();
	ck_assert_int_eq(sent(mark, before.to_remote, ORBIT_MSG_GRACELESS), 1);
	ck_assert_int_eq(sent(mark, "$handshake.discover", ORBIT_MSG_DISCOVER), 1);
	connected();
	ck_assert_str_ne(before.incoming, only_conn(plugin_orb(0)).incoming);
}
END_TEST

/* The plugin lost its side and the core never heard (the echo was lost
 * too): the plugin offers again at the core's next Discover, and the core,
 * seeing an Offer from a plugin it holds connected, drops its stale side
 * and requests. */
START_TEST(offer_from_connected_plugin_replaces_stale_side)
{
	core1_with_p1(1, ORBIT_UNLIMITED);
	struct topics before = only_conn(plugin_orb(0));
	lose(ORBIT_MSG_GRACELESS, 0, -1);
	forge_close(before.incoming, "core1");
	deliver();
	ck_assert_int_eq(W.lossy->lost, 1);
	ck_assert_uint_eq(conns(core_orb()), 1);
	ck_assert_uint_eq(conns(plugin_orb(0)), 0);
	/* The core's next Discover is due at T0 + 2. */
	int mark = W.lossy->n_log;
	at(T0 + 1);
	ck_assert_int_eq(sent(mark, NULL, ORBIT_MSG_DISCOVER), 0);
	ck_assert_uint_eq(conns(plugin_orb(0)), 0);
	at(T0 + 2);
	ck_assert_int_eq(sent(mark, NULL, ORBIT_MSG_DISCOVER), 1);
	ck_assert_int_eq(sent(mark, NULL, ORBIT_MSG_OFFER), 1);
	connected();
	ck_assert_str_ne(before.incoming, only_conn(plugin_orb(0)).incoming);
}
END_TEST

/* A close for a connection nobody knows is not echoed. */
START_TEST(no_echo_for_unknown_connection)
{
	core1_with_p1(1, ORBIT_UNLIMITED);
	struct topics c = only_conn(core_orb());
	int mark = W.lossy->n_log;
	forge_close(c.incoming, "ghost");
	deliver();
	connected();
	/* evidence it was handled: the core still listens there */
	ck_assert(orbit_local_bus_has_subscribers(W.inner, c.incoming));
	ck_assert_int_eq(sent(mark, NULL, ORBIT_MSG_GRACELESS), 0);
	ck_assert_int_eq(W.lossy->n_log, mark);
}
END_TEST

/* ---- lost closes ---- */

/* The plugin's Graceless is lost: it goes again in the next housekeeping
 * pass, the core drops its side and reconnects at its next Discover; the
 * second retransmit (two passes later) is not sent, since a connection for
 * the pair exists again. */
START_TEST(lost_close_is_sent_again)
{
	core1_with_p1(1, ORBIT_UNLIMITED);
	struct topics before = only_conn(plugin_orb(0));
	lose(ORBIT_MSG_GRACELESS, 0, 1);
	int mark = W.lossy->n_log;
	ck_assert_int_eq(orbit_orbiter_close(plugin_orb(0), "core1", "lowercase", false, NULL), 0);
	deliver();
	ck_assert_int_eq(W.lossy->lost, 1);
	ck_assert_uint_eq(conns(core_orb()), 1);
	ck_assert_uint_eq(conns(plugin_orb(0)), 0);
	at(T0 + 1);
	ck_assert_int_eq(sent(mark, before.to_remote, ORBIT_MSG_GRACELESS), 2);
	ck_assert_uint_eq(conns(core_orb()), 0);
	/* the core's next Discover (2 s after its last) reconnects them */
	at(T0 + 2);
	connected();
	run_to(T0 + 8, 1);
	ck_assert_int_eq(sent(mark, before.to_remote, ORBIT_MSG_GRACELESS), 2);
	connected();
}
END_TEST

/* Without a loss the copies reach a remote that no longer knows the
 * connection: no echo, nothing else happens. */
START_TEST(close_copies_are_harmless)
{
	core1_with_p1(1, 1);
	struct topics before = only_conn(core_orb());
	int mark = W.lossy->n_log;
	/* the plugin must not connect again, or the copies would stop early */
	lose(ORBIT_MSG_OFFER, 0, -1);
	ck_assert_int_eq(orbit_orbiter_close(core_orb(), "p1", "lowercase", false, NULL), 0);
	deliver();
	ck_assert_uint_eq(conns(plugin_orb(0)), 0);
	run_to(T0 + 5, 1);
	ck_assert_int_eq(sent(mark, before.to_remote, ORBIT_MSG_GRACELESS), 3);
	/* the plugin's echo of the first went to the core's unsubscribed topic */
	ck_assert_int_eq(sent(mark, before.incoming, ORBIT_MSG_GRACELESS), 1);
	ck_assert_int_eq(sent(mark, NULL, ORBIT_MSG_GRACELESS), 4);
	ck_assert_int_ge(W.lossy->lost, 1);
}
END_TEST

/* Closes at stop go once. */
START_TEST(close_at_stop_goes_once)
{
	core1_with_p1(1, 1);
	struct topics before = only_conn(core_orb());
	int mark = W.lossy->n_log;
	orbit_core_stop(W.core);
	deliver();
	ck_assert_uint_eq(conns(plugin_orb(0)), 0);
	ck_assert_int_eq(sent(mark, before.to_remote, ORBIT_MSG_GRACELESS), 1);
	ck_assert_int_eq(orbit_core_start(W.core), 0);
	deliver();
	run_to(T0 + 5, 1);
	connected();
	ck_assert_int_eq(sent(mark, before.to_remote, ORBIT_MSG_GRACELESS), 1);
}
END_TEST

/* The retransmit queue is bounded: beyond orbit_set_close_resend_max a
 * close goes once. */
START_TEST(resend_queue_is_bounded)
{
	ck_assert_int_eq(orbit_set_close_resend_max(1), 0);
	add_plugin("p1");
	add_plugin("p2");
	start_core(2, ORBIT_UNLIMITED);
	ck_assert_uint_eq(conns(core_orb()), 2);
	struct topics t1 = only_conn(plugin_orb(0)), t2 = only_conn(plugin_orb(1));
	lose(ORBIT_MSG_OFFER, 0, -1);
	int mark = W.lossy->n_log;
	ck_assert_int_eq(orbit_orbiter_close(core_orb(), "p1", "lowercase", false, NULL), 0);
	ck_assert_int_eq(orbit_orbiter_close(core_orb(), "p2", "lowercase", false, NULL), 0);
	deliver();
	run_to(T0 + 5, 1);
	ck_assert_int_eq(sent(mark, t1.incoming, ORBIT_MSG_GRACELESS), 3);
	ck_assert_int_eq(sent(mark, t2.incoming, ORBIT_MSG_GRACELESS), 1);
	ck_assert_int_eq(orbit_set_close_resend_max(4096), 0);
}
END_TEST

/* 0 turns retransmission off. */
START_TEST(resend_off)
{
	ck_assert_int_eq(orbit_set_close_resend_max(0), 0);
	core1_with_p1(1, 1);
	struct topics t = only_conn(plugin_orb(0));
	lose(ORBIT_MSG_OFFER, 0, -1);
	int mark = W.lossy->n_log;
	ck_assert_int_eq(orbit_orbiter_close(core_orb(), "p1", "lowercase", false, NULL), 0);
	run_to(T0 + 5, 1);
	ck_assert_int_ge(W.lossy->lost, 1);
	ck_assert_int_eq(sent(mark, t.incoming, ORBIT_MSG_GRACELESS), 1);
	ck_assert_int_eq(orbit_set_close_resend_max(4096), 0);
}
END_TEST

/* ---- lost Request, lost or late Confirm ---- */

/* A lost Request goes again after the retry interval (5 s). */
START_TEST(lost_request_is_sent_again)
{
	add_plugin("p1");
	lose(ORBIT_MSG_REQUEST, 0, 1);
	start_core(1, 1);
	ck_assert_int_eq(W.lossy->lost, 1);
	ck_assert_uint_eq(orbit_orbiter_pending_count(core_orb()), 1);
	ck_assert_uint_eq(orbit_orbiter_pending_count(plugin_orb(0)), 1);
	run_to(T0 + 4, 1);
	at(T0 + 5 - EPS);
	ck_assert_uint_eq(conns(core_orb()), 0);
	at(T0 + 5);
	ck_assert_int_eq(sent(0, NULL, ORBIT_MSG_REQUEST), 2);
	connected();
}
END_TEST

/* A lost Confirm: the plugin holds the connection, the core its pending
 * Request; the Request goes again and the plugin answers it with the same
 * Confirm (same topics) instead of ignoring it. */
START_TEST(lost_confirm_heals_by_request_retry)
{
	add_plugin("p1");
	lose(ORBIT_MSG_CONFIRM, 0, 1);
	start_core(1, 1);
	ck_assert_int_eq(W.lossy->lost, 1);
	ck_assert_uint_eq(conns(plugin_orb(0)), 1);
	ck_assert_uint_eq(conns(core_orb()), 0);
	struct topics p = only_conn(plugin_orb(0));
	at(T0 + 5);
	ck_assert_int_eq(sent(0, NULL, ORBIT_MSG_CONFIRM), 2);
	connected();
	struct topics q = only_conn(plugin_orb(0));
	ck_assert_str_eq(p.input, q.input);
	ck_assert_str_eq(p.incoming, q.incoming);
}
END_TEST

/* A Request never answered is given up after 3 sends (T0, +5, +10) at
 * +15, long before pending_requests_expire_after (60 s): it no longer
 * counts toward maximum and the core discovers again. */
START_TEST(unanswered_request_is_given_up)
{
	add_plugin("p1");
	lose(ORBIT_MSG_REQUEST, 0, -1);
	start_core(1, 1);
	run_to(T0 + 14, 1);
	at(T0 + 15 - EPS);
	ck_assert_uint_eq(orbit_orbiter_pending_count(core_orb()), 1);
	ck_assert_int_eq(W.lossy->lost, 3);
	int discovers = sent(0, NULL, ORBIT_MSG_DISCOVER);
	ck_assert_int_eq(discovers, 1); /* the pending request fills maximum */
	at(T0 + 15);
	ck_assert_uint_eq(orbit_orbiter_pending_count(core_orb()), 0);
	ck_assert_int_eq(sent(0, NULL, ORBIT_MSG_REQUEST), 3);
	ck_assert_int_eq(sent(0, NULL, ORBIT_MSG_DISCOVER), 2);
}
END_TEST

/* A Confirm arriving after the core gave up: the core closes the plugin's
 * one-sided connection with a Graceless to the Confirm's close topic, sent
 * again if lost; then they reconnect. */
START_TEST(late_confirm_closes_plugin_side)
{
	ck_assert_int_eq(orbit_set_request_retry(5, 1), 0);
	add_plugin("p1");
	lose(ORBIT_MSG_CONFIRM, 0, 1);
	W.lossy->hold = true;
	start_core(1, 1);
	ck_assert_ptr_nonnull(W.lossy->held.topic);
	struct topics p = only_conn(plugin_orb(0));
	at(T0 + 5);
	ck_assert_uint_eq(orbit_orbiter_pending_count(core_orb()), 0);
	/* The held Confirm arrives late; the core's Graceless is lost once. */
	lose(ORBIT_MSG_GRACELESS, 0, 1);
	W.lossy->hold = false;
	int mark = W.lossy->n_log;
	ck_assert_int_eq(orbit_bus_publish(W.inner, W.lossy->held.topic, &W.lossy->held.p, 0), 0);
	deliver();
	ck_assert_int_eq(W.lossy->lost, 1);
	ck_assert_uint_eq(conns(plugin_orb(0)), 1);
	at(T0 + 6);
	ck_assert_int_eq(sent(mark, p.incoming, ORBIT_MSG_GRACELESS), 2);
	/* the plugin's echo goes to a close topic the core never subscribed */
	ck_assert_int_eq(sent(mark, p.to_remote, ORBIT_MSG_GRACELESS), 1);
	/* the plugin dropped its side; the core's next Discover reconnects */
	ck_assert_uint_eq(conns(plugin_orb(0)), 0);
	run_to(T0 + 8, 1);
	connected();
	ck_assert_int_eq(orbit_set_request_retry(5, 3), 0);
}
END_TEST

START_TEST(setters_validate)
{
	ck_assert_int_eq(orbit_set_request_retry(0, 3), -EINVAL);
	ck_assert_int_eq(orbit_set_request_retry(-1, 3), -EINVAL);
	ck_assert_int_eq(orbit_set_request_retry(5, 0), -EINVAL);
	ck_assert_int_eq(orbit_set_request_retry(0.0 / 0.0, 3), -EINVAL);
	ck_assert_int_eq(orbit_set_request_retry(5, 3), 0);
	ck_assert_int_eq(orbit_set_close_resend_max(4096), 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("healing");
	TCase *t = tcase_create("topics");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, topics_have_a_random_tail);
	tcase_add_test(t, setters_validate);
	suite_add_tcase(s, t);
	t = tcase_create("forged");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, forged_close_on_core_side_heals);
	tcase_add_test(t, forged_close_on_plugin_side_heals);
	tcase_add_test(t, offer_from_connected_plugin_replaces_stale_side);
	tcase_add_test(t, no_echo_for_unknown_connection);
	suite_add_tcase(s, t);
	t = tcase_create("lost");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, lost_close_is_sent_again);
	tcase_add_test(t, close_copies_are_harmless);
	tcase_add_test(t, close_at_stop_goes_once);
	tcase_add_test(t, resend_queue_is_bounded);
	tcase_add_test(t, resend_off);
	tcase_add_test(t, lost_request_is_sent_again);
	tcase_add_test(t, lost_confirm_heals_by_request_retry);
	tcase_add_test(t, unanswered_request_is_given_up);
	tcase_add_test(t, late_confirm_closes_plugin_side);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *r = srunner_create(suite());
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
