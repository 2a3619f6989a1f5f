/* test_halfopen.c — a forged close does not leave a connection half open:
 * a real mosquitto (free loopback port) and two real orbitd processes, a
 * core requiring lowercase and a host exporting plugins/lowercase.so. The
 * test plays an outsider on the open broker: it listens to the handshake
 * topics (as anyone may: they are per orbiter and named after identifiers),
 * learns a connection's close topics from the Request and the Confirm, and
 * publishes a GracelessCloneConnectionMessage encoded with the library's
 * wire API on the core's close topic, then on the plugin's. Each time both
 * daemons must drop their side and connect afresh (new topics, seen on both
 * sides through orbitctl's connections command) and the core must be
 * compliant again within the bound man/orbitd.yaml.5 states: one round
 * trip, the core's next Discover and a handshake. The close and output
 * topics orbitd chooses carry 22 random characters, so without listening to
 * the handshake nobody could have named them. */
#include "broker.h"
#include "ctlreq.h"
#include "expect.h"
#include "mqtt_peer.h"
#include "orbitd_host.h"
#include "proc.h"
#include "strf.h"
#include "tmpdir.h"

#include "envelope.h"
#include "wire.h"

#include <check.h>
#include <jansson.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define WAIT 20.0
/* discovering_interval 0.1 s: the core's next Discover comes at most 0.1 s
 * after it lost compliance, so the whole healing is a few round trips. */
#define FAST "timers: {loop_interval: 0.1, discovering_interval: 0.1, shutdown_timeout: 2}\n"
/* The documented bound with FAST: a round trip for the close and its echo,
 * discovering_interval, a handshake (four messages, the plugin's through
 * its own process): well under a second on loopback; 3 s leaves room for a
 * loaded machine (the sanitizer build included). */
#define HEAL_BOUND 3.0

static struct test_broker broker;
static char *tmp, *build_dir;
static struct mqtt_peer *spy;

static void setup(void)
{
	const char *b = getenv("ORBIT_BUILD");
	build_dir = strdup(b ? b : "build");
	tmp = test_tmpdir_new("orbitd-halfopen");
	ck_assert_ptr_nonnull(tmp);
	ck_assert_int_eq(test_broker_start(&broker), 0);
	spy = mqtt_peer_new("outsider", broker.port);
	ck_assert_ptr_nonnull(spy);
	/* Exact $-topics: a '#' filter never matches them (SPEC §1.5). */
	ck_assert_int_eq(mqtt_peer_subscribe(spy, "$handshake.lc-1.reply"), 0);
	ck_assert_int_eq(mqtt_peer_subscribe(spy, "$handshake.core.response"), 0);
}

static void teardown(void)
{
	mqtt_peer_free(spy);
	test_broker_stop(&broker);
	test_tmpdir_free(tmp);
	free(build_dir);
}

/* orbitd `name` in tmp/name/ with the plugin (path in the build dir, or
 * NULL) and the YAML body after the mqtt section. */
static struct test_proc *start_daemon(const char *name, const char *plugin, const char *body)
{
	char *yaml = strf(FAST "mqtt: {host: 127.0.0.1, port: %d}\n%s", broker.port, body);
	struct test_proc *p = orbitd_host_start(tmp, build_dir, name, plugin, yaml);
	free(yaml);
	return p;
}

/* The reply to one control request to daemon `name` (caller decrefs). */
static json_t *ctl(const char *name, const char *request)
{
	char *path = strf("%s/%s/ctl.sock", tmp, name);
	json_t *reply = ctlreq(path, request, NULL, WAIT);
	free(path);
	ck_assert_msg(json_is_true(json_object_get(reply, "ok")), "%s failed", request);
	return reply;
}

/* The input topic of daemon name's only connection with `remote` for
 * lowercase, malloc'd; NULL when it has none. */
static char *conn_input(const char *name, const char *remote)
{
	json_t *r = ctl(name, "{\"v\":1,\"id\":1,\"cmd\":\"connections\"}\n");
	json_t *list = json_object_get(json_object_get(r, "result"), "connections");
	char *input = NULL;
	size_t i, n = 0;
	json_t *e;
	json_array_foreach(list, i, e) {
		const char *rid = json_string_value(json_object_get(e, "remote"));
		const char *op = json_string_value(json_object_get(e, "operation"));
		if (!rid || strcmp(rid, remote) || !op || strcmp(op, "lowercase"))
			continue;
		n++;
		free(input);
		input = strdup(json_string_value(json_object_get(e, "input_topic")));
	}
	ck_assert_uint_le(n, 1);
	json_decref(r);
	return input;
}

/* The next `kind` the outsider sees on topic after `after`, decoded. */
static void next_msg(const char *topic, orbit_msg_kind kind, double after, orbit_msg *m,
		     double *at)
{
	const struct mqtt_peer_msg *pm = mqtt_peer_next(spy, topic, after, WAIT);
	ck_assert_msg(pm, "no message on %s", topic);
	orbit_envelope e;
	ck_assert_int_eq(orbit_envelope_decode((const char *)pm->payload, pm->len, &e), 0);
	ck_assert_str_eq(e.payload.message_type, orbit_msg_type_name(kind));
	ck_assert_int_eq(orbit_msg_decode(kind, e.payload.data, e.payload.len, m), 0);
	orbit_envelope_clear(&e);
	*at = pm->at;
}

/* topic is prefix plus 22 random characters. */
static void token_topic(const char *topic, const char *prefix)
{
	size_t n = strlen(prefix);
	ck_assert_msg(topic && strncmp(topic, prefix, n) == 0 && strlen(topic + n) == 22 &&
			      strspn(topic + n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
						"0123456789-_") == 22,
		      "topic '%s' is not %s{token}", topic ? topic : "(null)", prefix);
}

/* What the outsider learnt of one handshake. */
struct learnt {
	char *core_close, *plugin_close, *output, *input;
	double confirmed_at;
};

static void learnt_clear(struct learnt *l)
{
	free(l->core_close);
	free(l->plugin_close);
	free(l->output);
	free(l->input);
	*l = (struct learnt){0};
}

/* The next Request to lc-1 and Confirm to core after `after`. */
static void learn(struct learnt *l, double after)
{
	orbit_msg m;
	double at;
	next_msg("$handshake.lc-1.reply", ORBIT_MSG_REQUEST, after, &m, &at);
	l->core_close = strdup(m.request.close_topic);
	l->output = strdup(m.request.output_topic);
	orbit_msg_clear(&m);
	next_msg("$handshake.core.response", ORBIT_MSG_CONFIRM, at, &m, &l->confirmed_at);
	l->plugin_close = strdup(m.confirm.close_topic);
	l->input = strdup(m.confirm.input_topic);
	orbit_msg_clear(&m);
	token_topic(l->core_close, "lowercase.core.lc-1.close.");
	token_topic(l->output, "lowercase.core.lc-1.output.");
	token_topic(l->plugin_close, "lowercase.lc-1.core.close.");
}

/* Publish a Graceless from `from` for lowercase on topic, as the outsider. */
static void forge(const char *topic, const char *from)
{
	orbit_msg m = {.kind = ORBIT_MSG_GRACELESS};
	m.graceless.from = (char *)from;
	m.graceless.operation = "lowercase";
	uint8_t *avro = NULL;
	size_t len = 0;
	ck_assert_int_eq(orbit_msg_encode(&m, &avro, &len), 0);
	orbit_payload p = {avro, len, ORBIT_FMT_AVRO, orbit_msg_type_name(m.kind)};
	char *env = NULL;
	size_t elen = 0;
	ck_assert_int_eq(orbit_envelope_encode(&p, "outsider", &env, &elen), 0);
	ck_assert_int_eq(mqtt_peer_publish(spy, topic, env, elen), 0);
	free(env);
	free(avro);
}

/* Both daemons hold one connection of lowercase with each other, on the
 * input topic the handshake l named. */
static void both_connected(const struct learnt *l)
{
	char *ci = conn_input("core", "lc-1"), *hi = conn_input("host", "core");
	/* The host knows its plugin process's side from the process's next
	 * report, which follows the "connected" line the process logs. */
	for (double end = mqtt_peer_now() + WAIT; (!hi || strcmp(hi, l->input)) &&
						  mqtt_peer_now() < end;) {
		struct timespec ts = {0, 20 * 1000 * 1000};
		nanosleep(&ts, NULL); /* between polls of another process's state */
		free(hi);
		hi = conn_input("host", "core");
	}
	ck_assert_ptr_nonnull(ci);
	ck_assert_ptr_nonnull(hi);
	ck_assert_str_eq(ci, l->input);
	ck_assert_str_eq(hi, l->input);
	free(ci);
	free(hi);
}

/* Forge a close on topic (from `from`), then: both sides drop, a new
 * handshake follows within HEAL_BOUND, with new topics; *healed is the time
 * from the forgery to the new Confirm. */
static void forge_and_heal(struct test_proc *core, struct test_proc *host, struct learnt *l,
			   const char *topic, const char *from, double *healed)
{
	test_proc_mark(core);
	test_proc_mark(host);
	double t = mqtt_peer_now();
	forge(topic, from);
	test_expect_line(core, "disconnected from lc-1 for lowercase (graceless)", WAIT);
	test_expect_line(host, "plugin lowercase: remote core core disconnected from lowercase "
			       "(graceless)",
			 WAIT);
	struct learnt n = {0};
	learn(&n, t);
	*healed = n.confirmed_at - t;
	ck_assert_msg(*healed < HEAL_BOUND, "healed in %.3fs", *healed);
	test_expect_line(core, "connected to lc-1 for lowercase", WAIT);
	test_expect_line(host, "plugin lowercase: remote core core connected for lowercase", WAIT);
	test_expect_line(core, "core compliant: 1/1", WAIT);
	ck_assert_str_ne(n.core_close, l->core_close);
	ck_assert_str_ne(n.plugin_close, l->plugin_close);
	ck_assert_str_ne(n.output, l->output);
	ck_assert_str_ne(n.input, l->input);
	both_connected(&n);
	learnt_clear(l);
	*l = n;
}

START_TEST(forged_closes_heal_on_both_sides)
{
	struct test_proc *host = start_daemon(
		"host", "plugins/lowercase.so",
		"plugins:\n  lowercase: {export: true, identifier: lc-1}\n");
	struct test_proc *core = start_daemon("core", NULL,
					      "requirements:\n  lowercase: {minimum: 1}\n");
	struct learnt l = {0};
	learn(&l, 0);
	test_expect_line(core, "core compliant: 1/1", WAIT);
	test_expect_line(host, "plugin lowercase: remote core core connected for lowercase", WAIT);
	both_connected(&l);

	double on_core, on_plugin;
	/* On the core's close topic, in the plugin's name. */
	forge_and_heal(core, host, &l, l.core_close, "lc-1", &on_core);
	/* On the plugin's close topic, in the core's name. */
	forge_and_heal(core, host, &l, l.plugin_close, "core", &on_plugin);
	fprintf(stderr, "halfopen: healed in %.3f s (forged on the core's close topic), "
			"%.3f s (on the plugin's)\n",
		on_core, on_plugin);

	/* A forged close for a connection nobody has is dropped, and not
	 * echoed: the connection stays. */
	test_proc_mark(core);
	forge(l.core_close, "nobody");
	test_expect_line(core, "close for unknown connection nobody/lowercase", WAIT);
	both_connected(&l);
	learnt_clear(&l);
	test_stop_clean(core, WAIT);
	test_stop_clean(host, WAIT);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("halfopen");
	TCase *tc = tcase_create("forged");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, forged_closes_heal_on_both_sides);
	suite_add_tcase(s, tc);
	SRunner *r = srunner_create(s);
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
