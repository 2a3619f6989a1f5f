/* test_orbitd_mqtt.c — orbitd as a distributed core and plugin host: real
 * orbitd processes on a real mosquitto (free loopback port, stopped by PID):
 * execute in every mode between daemons, 20 remote plugins, an exported
 * maximum shared by two cores, a SIGKILLed plugin host declared dead and
 * reconnected, a broker restart under load, garbage on every topic, and
 * identifiers MQTT cannot carry refused at config time. */
#include "broker.h"
#include "ctlreq.h"
#include "execrun.h"
#include "expect.h"
#include "mqtt_peer.h"
#include "orbitd_host.h"
#include "proc.h"
#include "strf.h"
#include "tmpdir.h"
#include "wire_peer.h"

#include "envelope.h"
#include "wire.h"

#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WAIT 20.0
#define FAST "timers: {loop_interval: 0.1, discovering_interval: 0.1, shutdown_timeout: 2, " \
	     "consider_others_dead_after: 2, send_keepalive_before_timelimit: 1}\n"
/* A broker that comes back is found again within 0.1-0.5 s. */
#define MQTT_RETRY ", reconnect_min: 0.1, reconnect_max: 0.5"

static struct test_broker broker;
static char *tmp;
static char *build_dir;

static void setup(void)
{
	const char *b = getenv("ORBIT_BUILD");
	build_dir = strdup(b ? b : "build");
	tmp = test_tmpdir_new("orbitd-mqtt");
	ck_assert_ptr_nonnull(tmp);
	ck_assert_int_eq(test_broker_start(&broker), 0);
}

static void teardown(void)
{
	test_broker_stop(&broker);
	test_tmpdir_free(tmp);
	free(build_dir);
}

/* One orbitd named `name` in tmp/name/ with plugins (space-separated paths
 * relative to the build dir) and the YAML body after the mqtt section. */
static struct test_proc *start_daemon(const char *name, const char *plugins, const char *body)
{
	char *yaml = strf(FAST "mqtt: {host: 127.0.0.1, port: %d" MQTT_RETRY "}\n%s", broker.port, body);
	struct test_proc *p = orbitd_host_start(tmp, build_dir, name, plugins, yaml);
	free(yaml);
	return p;
}



/* One control request to daemon `name`; returns the final reply (caller
 * decrefs) and the count of output events in *outputs. */
static json_t *ctl(const char *name, const char *request, size_t *outputs)
{
	char *path = orbitd_host_socket(tmp, name);
	json_t *reply = ctlreq(path, request, outputs, WAIT);
	free(path);
	return reply;
}

/* ---- executions watched through the control socket ------------------------ */

/* exec_collect (execrun.h) on daemon `name`. */
static json_int_t exec_on(struct exec_run *x, const char *name, const char *operation,
			  const char *args, size_t expect, const char *const *plugins)
{
	char *path = orbitd_host_socket(tmp, name);
	json_int_t sent = exec_collect(x, path, operation, args, expect, plugins, WAIT);
	free(path);
	return sent;
}

/* ---- a raw MQTT observer --------------------------------------------------- */

/* Discovers from core `core` the peer received. */
static size_t discovers_from(struct mqtt_peer *p, const char *core)
{
	size_t n = 0;
	for (size_t i = 0; i < mqtt_peer_count(p); i++) {
		const struct mqtt_peer_msg *m = mqtt_peer_msg_at(p, i);
		orbit_msg d;
		if (strcmp(m->topic, "$handshake.discover") != 0 ||
		    wire_peer_decode(m, ORBIT_MSG_DISCOVER, &d) < 0)
			continue;
		n += strcmp(d.discover.core_id, core) == 0;
		orbit_msg_clear(&d);
	}
	return n;
}

struct disc_wait {
	struct mqtt_peer *p;
	const char *core;
	size_t n;
};

static bool disc_pred(void *arg)
{
	struct disc_wait *w = arg;
	return discovers_from(w->p, w->core) >= w->n;
}

/* Wait until the peer received n Discovers from core. */
static void expect_discovers(struct mqtt_peer *p, const char *core, size_t n)
{
	struct disc_wait w = {p, core, n};
	ck_assert_msg(mqtt_peer_run_until(p, disc_pred, &w, WAIT), "%zu of %zu Discovers from %s",
		      discovers_from(p, core), n, core);
}

/* A barrier through orbiter `id` (on the broker): a KeepaliveRequest to its
 * request topic, published by p, and the Keepalive it answers with, awaited.
 * The orbiter handles what the broker delivers to it in order, so it has
 * handled every message delivered to it before p's request was routed (all
 * that p itself had received or published by then); and whatever it
 * published before answering reaches p before the answer. */
static void keepalive_barrier(struct mqtt_peer *p, const char *id)
{
	char *answer = strf("probe.keepalive.%s", id), *topic = strf("$keepalive.%s.request", id);
	ck_assert_int_eq(mqtt_peer_subscribe(p, answer), 0);
	orbit_msg m = {.kind = ORBIT_MSG_KEEPALIVE_REQUEST};
	m.keepalive_request.from = "probe";
	m.keepalive_request.keepalive_topic = answer;
	double t = mqtt_peer_now();
	ck_assert_int_eq(wire_peer_publish(p, topic, "probe", &m), 0);
	ck_assert_msg(mqtt_peer_next(p, answer, t, WAIT), "no keepalive from %s", id);
	free(answer);
	free(topic);
}

/* Messages the peer received on topic. */
static size_t received_on(struct mqtt_peer *p, const char *topic)
{
	size_t n = 0;
	for (size_t i = 0; i < mqtt_peer_count(p); i++)
		n += strcmp(mqtt_peer_msg_at(p, i)->topic, topic) == 0;
	return n;
}

/* A plugin whose one slot is taken: `core` (started, "ready:" seen)
 * discovers and is offered nothing. Evidence first: the observer (subscribed
 * to the discover topic and core's offer topic before core started) saw
 * three Discovers from core, and the plugin's orbiter `plugin_id` answered
 * a keepalive barrier after them: it handled those Discovers, and an Offer
 * to core for any of them would have reached the observer before the
 * barrier's answer. Then: no Offer, and core not compliant. */
static void expect_no_offer(struct mqtt_peer *obs, struct test_proc *core, const char *core_id,
			    const char *plugin_id)
{
	expect_discovers(obs, core_id, 3);
	keepalive_barrier(obs, plugin_id);
	char *offers = strf("$handshake.%s.offer", core_id);
	ck_assert_uint_eq(received_on(obs, offers), 0);
	free(offers);
	ck_assert_msg(!test_proc_seen(core, "core compliant", 0), "%s", test_proc_output(core));
}

static const char ECHO_HOST[] = "plugins:\n  echo: {export: true, identifier: %s}\n";

START_TEST(execute_every_mode_between_daemons)
{
	char *b1 = strf(ECHO_HOST, "echo-1"), *b2 = strf(ECHO_HOST, "echo-2");
	struct test_proc *h1 = start_daemon("host1", "tests/plugins/echo.so", b1);
	struct test_proc *h2 = start_daemon("host2", "tests/plugins/echo.so", b2);
	free(b1);
	free(b2);
	struct test_proc *c = start_daemon("core", NULL, "requirements:\n  echo: {minimum: 2}\n");
	test_expect_line(c, "core compliant: 1/1", WAIT);
	test_expect_line(h1, "plugin echo: remote core core connected for echo", WAIT);
	static const char *const both[] = {"echo-1", "echo-2", NULL};
	struct exec_run x;
	/* all: one execution and one output per plugin, exactly. */
	ck_assert_int_eq(exec_on(&x, "core", "echo", "\"data\":[\"a\"]", 2, both), 2);
	ck_assert_uint_eq(x.n_out, 2);
	ck_assert_uint_eq(exec_outputs(&x, "echo-1", "a"), 1);
	ck_assert_uint_eq(exec_outputs(&x, "echo-2", "a"), 1);
	exec_end(&x);
	/* any: one of them. */
	ck_assert_int_eq(exec_on(&x, "core", "echo", "\"mode\":\"any\",\"data\":[\"b\"]", 1,
				      both), 1);
	ck_assert_uint_eq(x.n_out, 1);
	ck_assert_uint_eq(exec_outputs(&x, NULL, "b"), 1);
	exec_end(&x);
	/* plugin: that one. */
	ck_assert_int_eq(exec_on(&x, "core", "echo",
				      "\"mode\":\"plugin\",\"plugin\":\"echo-2\","
				      "\"data\":[\"c\"]",
				      1, both), 1);
	ck_assert_uint_eq(x.n_out, 1);
	ck_assert_uint_eq(exec_outputs(&x, "echo-2", "c"), 1);
	exec_end(&x);
	ck_assert(test_proc_seen(c, "output echo from echo-2: \"c\"", WAIT));
	/* distributed: the items spread evenly over the two connections. */
	ck_assert_int_eq(exec_on(&x, "core", "echo",
				      "\"mode\":\"distributed\","
				      "\"data\":[\"d1\",\"d2\",\"d3\",\"d4\"]",
				      4, both), 4);
	ck_assert_uint_eq(x.n_out, 4);
	ck_assert_uint_eq(exec_outputs(&x, "echo-1", NULL), 2);
	ck_assert_uint_eq(exec_outputs(&x, "echo-2", NULL), 2);
	for (int i = 1; i <= 4; i++) {
		char v[8];
		snprintf(v, sizeof v, "d%d", i);
		ck_assert_uint_eq(exec_outputs(&x, NULL, v), 1);
	}
	exec_end(&x);
	ck_assert_uint_eq(test_proc_count(c, "output echo from echo-1: \"d"), 2);
	ck_assert_uint_eq(test_proc_count(c, "output echo from echo-2: \"d"), 2);
	test_stop_clean(c, WAIT);
	test_expect_line(h1, "plugin echo: remote core core disconnected from echo (graceful)", WAIT);
	test_stop_clean(h1, WAIT);
	test_stop_clean(h2, WAIT);
}
END_TEST

START_TEST(twenty_remote_plugins_on_one_core)
{
	struct test_proc *hosts[10];
	for (int i = 0; i < 10; i++) {
		char name[32];
		snprintf(name, sizeof name, "host%d", i);
		char *body = strf("plugins:\n  echo: {export: true, identifier: echo-%d}\n"
				  "  upper: {export: true, identifier: upper-%d}\n", i, i);
		hosts[i] = start_daemon(name, "tests/plugins/echo.so tests/plugins/upper.so", body);
		free(body);
	}
	struct test_proc *c = start_daemon("core", NULL,
					   "requirements:\n  echo: {minimum: 10}\n"
					   "  upper: {minimum: 10}\n");
	test_expect_line(c, "core compliant: 2/2", WAIT);
	ck_assert_uint_eq(test_proc_count(c, "connected to echo-"), 10);
	ck_assert_uint_eq(test_proc_count(c, "connected to upper-"), 10);
	const char *uppers[11] = {NULL};
	char ids[10][16];
	for (int i = 0; i < 10; i++) {
		snprintf(ids[i], sizeof ids[i], "upper-%d", i);
		uppers[i] = ids[i];
	}
	struct exec_run x;
	ck_assert_int_eq(exec_on(&x, "core", "upper", "\"data\":[\"x\"]", 10, uppers), 10);
	ck_assert_uint_eq(x.n_out, 10);
	for (int i = 0; i < 10; i++)
		ck_assert_uint_eq(exec_outputs(&x, ids[i], "X"), 1);
	exec_end(&x);
	test_stop_clean(c, WAIT);
	for (int i = 0; i < 10; i++)
		test_stop_clean(hosts[i], WAIT);
}
END_TEST

START_TEST(exported_maximum_shared_by_two_cores)
{
	struct test_proc *h = start_daemon("host", "tests/plugins/echo.so",
					   "plugins:\n  echo: {export: true, identifier: echo-x,"
					   " policies: {echo: {maximum: 1}}}\n");
	struct test_proc *c1 = start_daemon("core1", NULL, "requirements:\n  echo: {minimum: 1}\n");
	test_expect_line(c1, "core compliant: 1/1", WAIT);
	struct mqtt_peer *obs = mqtt_peer_new("observer", broker.port);
	ck_assert_ptr_nonnull(obs);
	ck_assert_int_eq(mqtt_peer_subscribe(obs, "$handshake.discover"), 0);
	ck_assert_int_eq(mqtt_peer_subscribe(obs, "$handshake.core2.offer"), 0);
	struct test_proc *c2 = start_daemon("core2", NULL, "requirements:\n  echo: {minimum: 1}\n");
	test_expect_line(c2, "ready:", WAIT);
	/* The slot is taken: core2 keeps discovering without a connection. */
	expect_no_offer(obs, c2, "core2", "echo-x");
	test_stop_clean(c1, WAIT);
	/* The freed slot is offered again and core2 takes it; the observer
	 * sees that Offer (so it would have seen an earlier one). */
	test_expect_line(c2, "core compliant: 1/1", WAIT);
	ck_assert_ptr_nonnull(mqtt_peer_next(obs, "$handshake.core2.offer", 0, WAIT));
	mqtt_peer_free(obs);
	test_stop_clean(c2, WAIT);
	test_stop_clean(h, WAIT);
}
END_TEST

/* The host's own core (in-process) and a remote core (MQTT) share an
 * exported plugin's maximum: one connection in all, not one per bus. */
START_TEST(exported_maximum_covers_local_and_remote_cores)
{
	static const char PLUGINS[] = "plugins:\n  echo: {export: true, identifier: echo-x, "
				      "policies: {echo: {maximum: 1}}}\n";
	char *body = strf("%srequirements:\n  echo: {minimum: 1}\n", PLUGINS);
	struct test_proc *h = start_daemon("host", "tests/plugins/echo.so", body);
	free(body);
	test_expect_line(h, "connected to echo-x for echo", WAIT);
	struct mqtt_peer *obs = mqtt_peer_new("observer", broker.port);
	ck_assert_ptr_nonnull(obs);
	ck_assert_int_eq(mqtt_peer_subscribe(obs, "$handshake.discover"), 0);
	ck_assert_int_eq(mqtt_peer_subscribe(obs, "$handshake.core2.offer"), 0);
	struct test_proc *c2 = start_daemon("core2", NULL, "requirements:\n  echo: {minimum: 1}\n");
	test_expect_line(c2, "ready:", WAIT);
	expect_no_offer(obs, c2, "core2", "echo-x");
	/* The host's core lets go (its requirement is removed): core2 gets it. */
	char *dir = test_tmpdir_path(tmp, "host");
	char *yaml = strf("identifier: host\n" FAST "mqtt: {host: 127.0.0.1, port: %d" MQTT_RETRY
			  "}\n%s", broker.port, PLUGINS);
	ck_assert_int_eq(test_tmpdir_write(dir, "orbitd.yaml", yaml), 0);
	free(yaml);
	free(dir);
	test_proc_signal(h, SIGHUP);
	test_expect_line(h, "reloaded: requirements: removed echo", WAIT);
	test_expect_line(c2, "core compliant: 1/1", WAIT);
	ck_assert_ptr_nonnull(mqtt_peer_next(obs, "$handshake.core2.offer", 0, WAIT));
	mqtt_peer_free(obs);
	test_stop_clean(c2, WAIT);
	test_stop_clean(h, WAIT);
}
END_TEST

START_TEST(killed_plugin_host_is_dead_then_reconnected)
{
	char *b = strf(ECHO_HOST, "echo-1");
	struct test_proc *h = start_daemon("host", "tests/plugins/echo.so", b);
	struct test_proc *c = start_daemon("core", NULL, "requirements:\n  echo: {minimum: 1}\n");
	test_expect_line(c, "core compliant: 1/1", WAIT);
	size_t outs;
	json_t *r = ctl("core", "{\"v\":1,\"id\":1,\"cmd\":\"plugin\",\"args\":{\"name\":"
			       "\"echo-1\"}}\n", &outs);
	json_t *res = json_object_get(r, "result");
	ck_assert_str_eq(json_string_value(json_object_get(res, "origin")), "remote");
	ck_assert_str_eq(json_string_value(json_object_get(res, "state")), "connected");
	ck_assert_str_eq(json_string_value(json_object_get(
				 json_array_get(json_object_get(res, "operations"), 0), "name")),
			 "echo");
	json_decref(r);
	test_proc_signal(h, SIGKILL);
	test_proc_wait_exit(h, WAIT);
	test_proc_free(h);
	test_expect_line(c, "echo-1 is dead", WAIT);
	test_expect_line(c, "core not compliant: 0/1", WAIT);
	r = ctl("core", "{\"v\":1,\"id\":1,\"cmd\":\"plugins\"}\n", &outs);
	json_t *list = json_object_get(json_object_get(r, "result"), "plugins");
	ck_assert_uint_eq(json_array_size(list), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "state")),
			 "dead");
	json_decref(r);
	r = ctl("core", "{\"v\":1,\"id\":1,\"cmd\":\"requirements\"}\n", &outs);
	json_t *req = json_array_get(json_object_get(json_object_get(r, "result"), "requirements"), 0);
	ck_assert(json_is_false(json_object_get(req, "satisfied")));
	ck_assert_int_eq(json_integer_value(json_object_get(req, "connected")), 0);
	json_decref(r);
	/* The host comes back (same directory, same config). */
	char *dir = test_tmpdir_path(tmp, "host");
	char *bin = strf("%s/bin/orbitd", build_dir), *conf = strf("%s/orbitd.yaml", dir),
	     *pdir = strf("%s/plugins", dir), *sock = strf("%s/ctl.sock", dir);
	char *argv[] = {bin, "-c", conf, "-p", pdir, "-s", sock, NULL};
	h = test_proc_start("host", argv, NULL);
	ck_assert_ptr_nonnull(h);
	test_expect_line(c, "core compliant: 1/1", WAIT);
	test_stop_clean(c, WAIT);
	test_stop_clean(h, WAIT);
	free(dir);
	free(bin);
	free(conf);
	free(pdir);
	free(sock);
	free(b);
}
END_TEST


/* An exported plugin runs in its own process: when that process dies, the
 * remote core is told at once (the GracelessClose its orbiter would have
 * sent, sent by orbitd on its behalf), not left to find out at its
 * consider_others_dead_after; the restarted plugin is found again. */
START_TEST(dead_plugin_process_closes_remote_connections_at_once)
{
	char *b = strf(ECHO_HOST, "echo-1");
	struct test_proc *h = start_daemon("host", "tests/plugins/echo.so", b);
	struct test_proc *c = start_daemon("core", NULL, "requirements:\n  echo: {minimum: 1}\n");
	test_expect_line(c, "core compliant: 1/1", WAIT);
	test_expect_line(h, "plugin echo: remote core core connected for echo", WAIT);
	size_t outs;
	/* orbitd speaks for the connections the plugin process last reported:
	 * wait until it has reported this one (the process logs it first). */
	double until = mqtt_peer_now() + WAIT;
	bool known = false;
	while (!known && mqtt_peer_now() < until) {
		json_t *cr = ctl("host", "{\"v\":1,\"id\":1,\"cmd\":\"connections\"}\n", &outs);
		json_t *list = json_object_get(json_object_get(cr, "result"), "connections");
		size_t i;
		json_t *e1;
		json_array_foreach(list, i, e1)
			known |= !strcmp(json_string_value(json_object_get(e1, "remote")), "core");
		json_decref(cr);
		if (!known)
			poll(NULL, 0, 5);
	}
	ck_assert_msg(known, "the host never listed its connection to core");
	/* And the core listens on its close topic: it subscribed at the
	 * Confirm, before it published this execute's input, which the
	 * broker handles in order; an output back proves the rest. (A close
	 * racing a Confirm is the half-open case of issue 14, not this.) */
	static const char *const one[] = {"echo-1", NULL};
	struct exec_run x;
	ck_assert_int_eq(exec_on(&x, "core", "echo", "\"data\":[\"a\"]", 1, one), 1);
	exec_end(&x);
	json_t *r = ctl("host", "{\"v\":1,\"id\":1,\"cmd\":\"plugins\"}\n", &outs);
	json_t *e = json_array_get(json_object_get(json_object_get(r, "result"), "plugins"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(e, "isolation")), "process");
	pid_t pid = (pid_t)json_integer_value(json_object_get(e, "pid"));
	ck_assert_int_gt(pid, 0);
	ck_assert_int_ne(pid, test_proc_pid(h));
	json_decref(r);
	test_proc_mark(c);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	test_expect_line(h, "plugin echo: killed by SIGKILL", WAIT);
	test_expect_line(c, "disconnected from echo-1 for echo (graceless)", WAIT);
	/* Told, not timed out: silence past consider_others_dead_after is
	 * logged before the close it causes. */
	ck_assert_msg(!test_proc_seen(c, "echo-1 is dead", 0), "%s\n---- host:\n%.3000s", test_proc_output(c), test_proc_output(h));
	test_expect_line(c, "core compliant: 1/1", WAIT);
	test_stop_clean(c, WAIT);
	test_stop_clean(h, WAIT);
	free(b);
}
END_TEST

START_TEST(broker_restart_under_load)
{
	char *b = strf(ECHO_HOST, "echo-1");
	struct test_proc *h = start_daemon("host", "tests/plugins/echo.so", b);
	free(b);
	char *out = test_tmpdir_path(tmp, "out.ndjson");
	char *body = strf("requirements:\n  echo: {minimum: 1, sink: {type: file, path: %s},"
			  " schedule: {every: 0.05, data: load}}\n", out);
	struct test_proc *c = start_daemon("core", NULL, body);
	free(body);
	test_expect_line(c, "core compliant: 1/1", WAIT);
	size_t before = test_file_lines_over(out, 10, WAIT);
	ck_assert_uint_gt(before, 10);
	test_proc_mark(c);
	ck_assert_int_eq(test_broker_restart(&broker), 0);
	/* Both daemons reconnect; outputs flow again (kept or re-handshaked). */
	test_expect_line(c, "mqtt: connected", WAIT);
	size_t after = test_file_lines_over(out, before + 10, WAIT);
	ck_assert_msg(after > before + 10, "outputs stopped after the broker restart: %zu → %zu",
		      before, after);
	test_stop_clean(c, WAIT);
	test_stop_clean(h, WAIT);
	free(out);
}
END_TEST

/* The traffic topics (input and output of the echo connection) seen. */
static bool traffic_seen(void *arg)
{
	struct mqtt_peer *p = arg;
	bool in = false, out = false;
	for (size_t i = 0; i < mqtt_peer_count(p); i++) {
		const char *t = mqtt_peer_msg_at(p, i)->topic;
		in = in || strncmp(t, "echo.core.echo-1.input.", 23) == 0;
		/* the core's output topic ends in its 22-character random token */
		out = out || (strncmp(t, "echo.core.echo-1.output.", 24) == 0 && strlen(t) == 24 + 22);
	}
	return in && out;
}

START_TEST(garbage_on_every_topic_is_dropped)
{
	char *b = strf(ECHO_HOST, "echo-1");
	struct test_proc *h = start_daemon("host", "tests/plugins/echo.so", b);
	free(b);
	char *out = test_tmpdir_path(tmp, "out.ndjson");
	char *body = strf("requirements:\n  echo: {minimum: 1, sink: {type: file, path: %s},"
			  " schedule: {every: 0.1, data: ok}}\n", out);
	struct test_proc *c = start_daemon("core", NULL, body);
	free(body);
	test_expect_line(c, "core compliant: 1/1", WAIT);
	/* Learn the topics the two daemons use by listening to all of them
	 * until the connection's input and output went by. */
	struct mqtt_peer *g = mqtt_peer_new("garbage", broker.port);
	ck_assert_ptr_nonnull(g);
	ck_assert_int_eq(mqtt_peer_subscribe(g, "#"), 0);
	ck_assert_msg(mqtt_peer_run_until(g, traffic_seen, g, WAIT), "no input/output traffic");
	/* Input and output topics (UUIDs) come from the traffic; the handshake
	 * and keepalive topics follow SPEC's naming. */
	const char *topics[256];
	size_t n = 0;
	static const char *const named[] = {"$handshake.discover", "$handshake.core.offer",
					    "$handshake.echo-1.reply", "$keepalive.core",
					    "$keepalive.echo-1", "$keepalive.core.request",
					    "$keepalive.echo-1.request"};
	for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
		topics[n++] = named[i];
	size_t heard = mqtt_peer_count(g);
	for (size_t i = 0; i < heard; i++) {
		const char *t = mqtt_peer_msg_at(g, i)->topic;
		bool dup = false;
		for (size_t j = 0; j < n && !dup; j++)
			dup = strcmp(topics[j], t) == 0;
		if (!dup && n < sizeof topics / sizeof topics[0])
			topics[n++] = t;
	}
	static const char *const junk[] = {
		"", "garbage", "{", "{\"identifier\": 1}",
		/* a well-formed envelope with an unknown message type */
		"{\"identifier\": \"x\", \"publisher_identifier\": \"evil\", \"serialized_payload\": "
		"{\"__type__\": \"bytes\", \"value\": \"AAAA\"}, \"payload_format_type\": \"avro\", "
		"\"message_type\": \"NoSuchMessage\", \"timestamp\": \"x\"}",
		/* a known type whose bytes do not fit its schema (truncated) */
		"{\"identifier\": \"x\", \"publisher_identifier\": \"evil\", \"serialized_payload\": "
		"{\"__type__\": \"bytes\", \"value\": \"/w==\"}, \"payload_format_type\": \"avro\", "
		"\"message_type\": \"OfferMessage\", \"timestamp\": \"x\"}",
		/* an output of the wrong schema */
		"{\"identifier\": \"x\", \"publisher_identifier\": \"evil\", \"serialized_payload\": "
		"{\"__type__\": \"bytes\", \"value\": \"AQID\"}, \"payload_format_type\": \"bytes\", "
		"\"message_type\": \"Int64Message\", \"timestamp\": \"x\"}",
	};
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < sizeof junk / sizeof junk[0]; j++)
			ck_assert_int_eq(
				mqtt_peer_publish(g, topics[i], junk[j], strlen(junk[j])), 0);
	/* Both daemons handled all of it: each answers a keepalive request
	 * published after the junk. */
	keepalive_barrier(g, "core");
	keepalive_barrier(g, "echo-1");
	mqtt_peer_free(g);
	/* Both daemons keep serving: outputs go on arriving. */
	size_t before = test_file_lines_over(out, 0, WAIT);
	ck_assert_uint_gt(test_file_lines_over(out, before + 5, WAIT), before + 5);
	ck_assert(test_proc_seen(c, "core compliant", 0));
	test_stop_clean(c, WAIT);
	test_stop_clean(h, WAIT);
	free(out);
}
END_TEST

START_TEST(identifiers_mqtt_cannot_carry_are_refused)
{
	static const char *const bad[] = {"a+b", "a#b", "a/b"};
	char *bin = strf("%s/bin/orbitd", build_dir);
	for (size_t i = 0; i < 3; i++) {
		char *yaml = strf("identifier: \"%s\"\n", bad[i]);
		ck_assert_int_eq(test_tmpdir_write(tmp, "bad.yaml", yaml), 0);
		free(yaml);
		char *conf = test_tmpdir_path(tmp, "bad.yaml");
		char *argv[] = {bin, "-t", "-c", conf, NULL};
		char *o = NULL, *e = NULL;
		int st = test_run(argv, NULL, NULL, WAIT, &o, &e);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 1, "%s accepted", bad[i]);
		ck_assert_msg(strstr(e, "bad.yaml:1:") && strstr(e, "identifier"), "%s", e);
		free(o);
		free(e);
		free(conf);
	}
	free(bin);
}
END_TEST

/* No broker at start: orbitd serves its local plugins and keeps retrying;
 * once the broker is up it connects and a remote core gets the exported
 * plugin. */
START_TEST(broker_down_at_start_then_up)
{
	ck_assert_int_eq(test_broker_kill(&broker), 0);
	struct test_proc *h = start_daemon("host", "tests/plugins/echo.so",
					   "plugins:\n  echo: {export: true}\n"
					   "requirements:\n  echo: {minimum: 1}\n");
	test_expect_line(h, "core compliant: 1/1", WAIT);
	ck_assert(test_proc_seen(h, "mqtt: cannot connect", WAIT));
	ck_assert_int_eq(test_broker_restart(&broker), 0);
	test_expect_line(h, "mqtt: connected", WAIT);
	struct test_proc *c = start_daemon("core", NULL, "requirements:\n  echo: {minimum: 1}\n");
	test_expect_line(c, "core compliant: 1/1", WAIT);
	test_stop_clean(c, WAIT);
	test_stop_clean(h, WAIT);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("orbitd-mqtt");
	TCase *tc = tcase_create("daemons");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, execute_every_mode_between_daemons);
	tcase_add_test(tc, twenty_remote_plugins_on_one_core);
	tcase_add_test(tc, exported_maximum_shared_by_two_cores);
	tcase_add_test(tc, exported_maximum_covers_local_and_remote_cores);
	tcase_add_test(tc, dead_plugin_process_closes_remote_connections_at_once);
	tcase_add_test(tc, killed_plugin_host_is_dead_then_reconnected);
	tcase_add_test(tc, broker_restart_under_load);
	tcase_add_test(tc, garbage_on_every_topic_is_dropped);
	tcase_add_test(tc, identifiers_mqtt_cannot_carry_are_refused);
	tcase_add_test(tc, broker_down_at_start_then_up);
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
