/* test_bridge.c — orbitd scaled out on the broker side: two real mosquitto
 * brokers joined by mosquitto's own bridge, configured with the shipped
 * conf/mosquitto/bridge.conf.example (only its address line replaced).
 * Broker A (the hub) is plain and carries the core `core1`; broker B bridges
 * to A and carries two plugin hosts: siteb1 (lowercase-1, echo-1) and siteb2
 * (echo-2). Shown across the bridge: the handshake, every execute mode,
 * keepalive requests both ways, keepalives keeping connections past several
 * deadlines, graceful and graceless closes started on either side, and a
 * restart of the bridging broker — held past the keepalive deadline (the
 * connections are declared dead and re-established) and short (they are
 * kept).
 *
 * Helpers for control-socket executions follow test_orbitd_mqtt.c (static
 * there). */
#include "broker.h"
#include "ctlreq.h"
#include "execrun.h"
#include "expect.h"
#include "mqtt_peer.h"
#include "proc.h"
#include "strf.h"
#include "tmpdir.h"

#include "envelope.h"
#include "wire.h"

#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define WAIT 20.0
/* Short timers: a keepalive about every second, dead after 2 s of silence. */
#define DEAD_S 2.0
#define FAST "timers: {loop_interval: 0.1, discovering_interval: 0.1, shutdown_timeout: 2, " \
	     "consider_others_dead_after: 2, send_keepalive_before_timelimit: 1}\n"
/* Timers for the short restart: a keepalive about every 5 s, dead after
 * 30 s; one keepalive lost in the outage leaves 30 - 2 * 5 = 20 s of margin. */
#define SLOW_DEAD_S 30.0
#define SLOW_PERIOD_S 5.0
#define SLOW "timers: {loop_interval: 0.1, discovering_interval: 0.1, shutdown_timeout: 2, " \
	     "consider_others_dead_after: 30, send_keepalive_before_timelimit: 25}\n"
#define MQTT_RETRY ", reconnect_min: 0.1, reconnect_max: 0.5"

static struct test_broker hub, siteb; /* A and the bridging broker B */
static char *tmp;
static char *build_dir;

static double now_s(void)
{
	return mqtt_peer_now();
}

/* Broker B's bridge: the shipped example, line by line, with its address
 * pointed at the hub (arg). */
static int write_bridge(FILE *f, const struct test_broker *b, void *arg)
{
	(void)b;
	const struct test_broker *a = arg;
	const char *src = getenv("ORBIT_SRC");
	char *path = strf("%s/conf/mosquitto/bridge.conf.example", src && *src ? src : ".");
	FILE *in = fopen(path, "r");
	int rc = in ? 0 : -errno;
	if (!in)
		fprintf(stderr, "test_bridge: %s: %s\n", path, strerror(-rc));
	free(path);
	char line[512];
	bool address = false;
	while (in && fgets(line, sizeof line, in)) {
		if (strncmp(line, "address ", 8) == 0) {
			fprintf(f, "address 127.0.0.1:%d\n", a->port);
			address = true;
		} else {
			fputs(line, f);
		}
	}
	if (in)
		fclose(in);
	return rc ? rc : address ? 0 : -EINVAL;
}

static void setup(void)
{
	const char *b = getenv("ORBIT_BUILD");
	build_dir = strdup(b ? b : "build");
	tmp = test_tmpdir_new("orbitd-bridge");
	ck_assert_ptr_nonnull(tmp);
	ck_assert_int_eq(test_broker_start(&hub), 0);
	struct test_broker_opts o = {.write_conf = write_bridge, .arg = &hub};
	ck_assert_int_eq(test_broker_start_with(&siteb, &o), 0);
}

static void teardown(void)
{
	test_broker_stop(&siteb);
	test_broker_stop(&hub);
	test_tmpdir_free(tmp);
	free(build_dir);
}

/* ---- daemons ------------------------------------------------------------- */

static char *daemon_path(const char *name, const char *file)
{
	return strf("%s/%s/%s", tmp, name, file);
}

/* orbitd `name` on tmp/name/ (config, plugins, control socket) as written
 * by start_daemon: started again after a kill. */
static struct test_proc *run_daemon(const char *name)
{
	char *bin = strf("%s/bin/orbitd", build_dir), *conf = daemon_path(name, "orbitd.yaml"),
	     *pdir = daemon_path(name, "plugins"), *sock = daemon_path(name, "ctl.sock");
	char *argv[] = {bin, "-c", conf, "-p", pdir, "-s", sock, NULL};
	struct test_proc *p = test_proc_start(name, argv, NULL);
	ck_assert_ptr_nonnull(p);
	free(bin);
	free(conf);
	free(pdir);
	free(sock);
	return p;
}

/* One orbitd named `name` on broker `b` with `timers`, plugins (space-
 * separated paths relative to the build dir) and the YAML body after the
 * mqtt section. */
static struct test_proc *start_daemon(const char *name, const struct test_broker *b,
				      const char *timers, const char *plugins, const char *body)
{
	char *dir = test_tmpdir_path(tmp, name);
	mkdir(dir, 0755);
	char *pdir = daemon_path(name, "plugins");
	mkdir(pdir, 0755);
	char *list = strdup(plugins ? plugins : "");
	for (char *save = NULL, *tok = strtok_r(list, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		char *from = strf("%s/%s", build_dir, tok);
		char *to = strf("%s/%s", pdir, strrchr(tok, '/') + 1);
		ck_assert_int_eq(test_copy_file(from, to, 0644), 0);
		free(from);
		free(to);
	}
	free(list);
	char *yaml = strf("identifier: %s\n%smqtt: {host: 127.0.0.1, port: %d" MQTT_RETRY "}\n%s",
			  name, timers, b->port, body);
	ck_assert_int_eq(test_tmpdir_write(dir, "orbitd.yaml", yaml), 0);
	free(yaml);
	free(pdir);
	free(dir);
	return run_daemon(name);
}

struct world {
	struct test_proc *core, *b1, *b2;
};

static const char B1_PLUGINS[] = "plugins:\n"
				 "  lowercase: {export: true, identifier: lowercase-1}\n"
				 "  echo: {export: true, identifier: echo-1}\n";
static const char B2_PLUGINS[] = "plugins:\n  echo: {export: true, identifier: echo-2}\n";
static const char CORE_REQS[] = "requirements:\n  echo: {minimum: 2}\n  lowercase: {minimum: 1}\n";

/* The plugin hosts on B, then core1 on the hub; returns once core1 is
 * compliant with its three connections. */
static void start_world(struct world *w, const char *timers)
{
	w->b1 = start_daemon("siteb1", &siteb, timers, "plugins/lowercase.so tests/plugins/echo.so",
			     B1_PLUGINS);
	w->b2 = start_daemon("siteb2", &siteb, timers, "tests/plugins/echo.so", B2_PLUGINS);
	w->core = start_daemon("core1", &hub, timers, NULL, CORE_REQS);
	test_expect_line(w->core, "core compliant: 2/2", WAIT);
	ck_assert_uint_eq(test_proc_count(w->core, "connected to echo-1 for echo"), 1);
	ck_assert_uint_eq(test_proc_count(w->core, "connected to echo-2 for echo"), 1);
	ck_assert_uint_eq(test_proc_count(w->core, "connected to lowercase-1 for lowercase"), 1);
	ck_assert(test_proc_seen(w->b1, "plugin echo: remote core core1 connected for echo", WAIT));
	ck_assert(test_proc_seen(w->b1, "plugin lowercase: remote core core1 connected for lowercase",
				 WAIT));
	ck_assert(test_proc_seen(w->b2, "plugin echo: remote core core1 connected for echo", WAIT));
}

/* Connections core1 made so far (its "mqtt: connected to" is not one). */
static size_t connects(struct test_proc *core)
{
	return test_proc_count(core, "connected to echo-") +
	       test_proc_count(core, "connected to lowercase-");
}

static void stop_world(struct world *w)
{
	test_stop_clean(w->core, WAIT);
	test_stop_clean(w->b1, WAIT);
	test_stop_clean(w->b2, WAIT);
}

/* Lines that say a connection went away (or was never there). */
static const char *const GONE[] = {"is dead", "disconnected", "not compliant"};

struct gone_counts {
	size_t n[3][3]; /* [process][needle] */
};

static void gone_snapshot(struct world *w, struct gone_counts *g)
{
	struct test_proc *p[3] = {w->core, w->b1, w->b2};
	for (size_t i = 0; i < 3; i++)
		for (size_t j = 0; j < 3; j++)
			g->n[i][j] = test_proc_count(p[i], GONE[j]);
}

/* None of them logged a GONE line since the snapshot. */
static void expect_none_gone(struct world *w, const struct gone_counts *before)
{
	struct gone_counts now;
	gone_snapshot(w, &now);
	struct test_proc *p[3] = {w->core, w->b1, w->b2};
	for (size_t i = 0; i < 3; i++)
		for (size_t j = 0; j < 3; j++)
			ck_assert_msg(now.n[i][j] == before->n[i][j], "\"%s\" logged:\n%s", GONE[j],
				      test_proc_output(p[i]));
}

/* One control request to daemon `name`; returns the reply (caller
 * decrefs). */
static json_t *ctl(const char *name, const char *request)
{
	char *path = daemon_path(name, "ctl.sock");
	json_t *reply = ctlreq(path, request, NULL, WAIT);
	free(path);
	return reply;
}

static void ctl_ok(const char *name, const char *request)
{
	json_t *r = ctl(name, request);
	ck_assert_msg(json_is_true(json_object_get(r, "ok")), "%s → %s", request,
		      json_dumps(r, JSON_COMPACT));
	json_decref(r);
}

/* ---- executions watched through the control socket ------------------------ */

/* exec_collect (execrun.h) on core1. */
static json_int_t exec_on(struct exec_run *x, const char *operation, const char *args,
			  size_t expect, const char *const *plugins)
{
	char *path = daemon_path("core1", "ctl.sock");
	json_int_t sent = exec_collect(x, path, operation, args, expect, plugins, WAIT);
	free(path);
	return sent;
}

static const char *const ECHOES[] = {"echo-1", "echo-2", NULL};
static const char *const LOWER[] = {"lowercase-1", NULL};

/* Every connection of core1 carries an execution and its output, exactly
 * once (no copy looping through the bridge). */
static void expect_all_connections_serve(const char *tag)
{
	struct exec_run x;
	char *args = strf("\"data\":[\"%s\"]", tag);
	ck_assert_int_eq(exec_on(&x, "echo", args, 2, ECHOES), 2);
	ck_assert_uint_eq(x.n_out, 2);
	ck_assert_uint_eq(exec_outputs(&x, "echo-1", tag), 1);
	ck_assert_uint_eq(exec_outputs(&x, "echo-2", tag), 1);
	exec_end(&x);
	free(args);
	args = strf("\"data\":[\"%s-ABC\"]", tag);
	char *low = strf("%s-abc", tag);
	for (char *c = low; *c; c++)
		*c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
	ck_assert_int_eq(exec_on(&x, "lowercase", args, 1, LOWER), 1);
	ck_assert_uint_eq(x.n_out, 1);
	ck_assert_uint_eq(exec_outputs(&x, "lowercase-1", low), 1);
	exec_end(&x);
	free(args);
	free(low);
}

/* ---- raw MQTT peers on either broker -------------------------------------- */

/* A KeepaliveRequest from peer p to orbiter `id`, whose Keepalive answer
 * comes back to p on a topic of its own (carried by the bridge's "#");
 * false if none within timeout_s. */
static bool keepalive_probe(struct mqtt_peer *p, const char *id, double timeout_s)
{
	char *answer = strf("probe.keepalive.%s", id), *topic = strf("$keepalive.%s.request", id);
	ck_assert_int_eq(mqtt_peer_subscribe(p, answer), 0);
	orbit_msg m = {.kind = ORBIT_MSG_KEEPALIVE_REQUEST};
	m.keepalive_request.from = "probe";
	m.keepalive_request.keepalive_topic = answer;
	uint8_t *avro = NULL;
	size_t len = 0;
	ck_assert_int_eq(orbit_msg_encode(&m, &avro, &len), 0);
	orbit_payload pl = {avro, len, ORBIT_FMT_AVRO, "KeepaliveRequestMessage"};
	char *env = NULL;
	size_t env_len = 0;
	ck_assert_int_eq(orbit_envelope_encode(&pl, "probe", &env, &env_len), 0);
	double t = mqtt_peer_now();
	ck_assert_int_eq(mqtt_peer_publish(p, topic, env, env_len), 0);
	bool ok = mqtt_peer_next(p, answer, t, timeout_s) != NULL;
	free(env);
	free(avro);
	free(answer);
	free(topic);
	return ok;
}

/* The sender of a KeepaliveMessage (malloc'd), or NULL. */
static char *keepalive_from(const struct mqtt_peer_msg *msg)
{
	orbit_envelope e;
	orbit_msg k;
	char *from = NULL;
	if (orbit_envelope_decode((const char *)msg->payload, msg->len, &e) < 0)
		return NULL;
	if (orbit_msg_decode(ORBIT_MSG_KEEPALIVE, e.payload.data, e.payload.len, &k) == 0) {
		from = strdup(k.keepalive.from);
		orbit_msg_clear(&k);
	}
	orbit_envelope_clear(&e);
	return from;
}

/* Keepalives p received on topic from `from` (NULL: anyone): how many, and
 * the arrival times of the first and the last. */
static size_t keepalives(const struct mqtt_peer *p, const char *topic, const char *from,
			 double *first, double *last)
{
	size_t n = 0;
	for (size_t i = 0; i < mqtt_peer_count(p); i++) {
		const struct mqtt_peer_msg *m = mqtt_peer_msg_at(p, i);
		if (strcmp(m->topic, topic) != 0)
			continue;
		char *who = keepalive_from(m);
		if (who && (!from || !strcmp(who, from))) {
			if (n++ == 0)
				*first = m->at;
			*last = m->at;
		}
		free(who);
	}
	return n;
}

/* The bridge carries messages both ways: a message published on one broker
 * is received on the other, and back (retried: until the bridge has
 * (re)connected and subscribed, a publish is not carried). */
static void expect_bridge_up(void)
{
	struct mqtt_peer *a = mqtt_peer_new("probe-a", hub.port);
	struct mqtt_peer *b = mqtt_peer_new("probe-b", siteb.port);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(mqtt_peer_subscribe(a, "probe.to-hub"), 0);
	ck_assert_int_eq(mqtt_peer_subscribe(b, "probe.to-siteb"), 0);
	double deadline = now_s() + WAIT;
	bool in = false, out = false;
	while (!(in && out) && now_s() < deadline) {
		if (!in)
			ck_assert_int_eq(mqtt_peer_publish(a, "probe.to-siteb", "x", 1), 0);
		if (!out)
			ck_assert_int_eq(mqtt_peer_publish(b, "probe.to-hub", "x", 1), 0);
		in = in || mqtt_peer_next(b, "probe.to-siteb", 0, 0.05);
		out = out || mqtt_peer_next(a, "probe.to-hub", 0, 0.05);
	}
	mqtt_peer_free(a);
	mqtt_peer_free(b);
	ck_assert_msg(in && out, "the bridge carries nothing (hub → B %d, B → hub %d)", in, out);
}

/* ---- the tests ------------------------------------------------------------- */

START_TEST(handshake_and_every_mode_across_the_bridge)
{
	struct world w;
	start_world(&w, FAST);
	struct exec_run x;
	/* all: one execution and one output per plugin, exactly. */
	ck_assert_int_eq(exec_on(&x, "echo", "\"data\":[\"a\"]", 2, ECHOES), 2);
	ck_assert_uint_eq(x.n_out, 2);
	ck_assert_uint_eq(exec_outputs(&x, "echo-1", "a"), 1);
	ck_assert_uint_eq(exec_outputs(&x, "echo-2", "a"), 1);
	exec_end(&x);
	/* any: one of them. */
	ck_assert_int_eq(exec_on(&x, "echo", "\"mode\":\"any\",\"data\":[\"b\"]", 1, ECHOES),
			 1);
	ck_assert_uint_eq(x.n_out, 1);
	ck_assert_uint_eq(exec_outputs(&x, NULL, "b"), 1);
	exec_end(&x);
	/* plugin: that one. */
	ck_assert_int_eq(exec_on(&x, "echo",
				      "\"mode\":\"plugin\",\"plugin\":\"echo-2\",\"data\":[\"c\"]", 1,
				      ECHOES),
			 1);
	ck_assert_uint_eq(x.n_out, 1);
	ck_assert_uint_eq(exec_outputs(&x, "echo-2", "c"), 1);
	exec_end(&x);
	/* distributed: the items spread evenly over the two connections. */
	ck_assert_int_eq(exec_on(&x, "echo",
				      "\"mode\":\"distributed\",\"data\":[\"d1\",\"d2\",\"d3\",\"d4\"]",
				      4, ECHOES),
			 4);
	ck_assert_uint_eq(x.n_out, 4);
	ck_assert_uint_eq(exec_outputs(&x, "echo-1", NULL), 2);
	ck_assert_uint_eq(exec_outputs(&x, "echo-2", NULL), 2);
	for (int i = 1; i <= 4; i++) {
		char v[8];
		snprintf(v, sizeof v, "d%d", i);
		ck_assert_uint_eq(exec_outputs(&x, NULL, v), 1);
	}
	exec_end(&x);
	/* The other operation, through the other plugin of siteb1. */
	ck_assert_int_eq(exec_on(&x, "lowercase", "\"data\":[\"HeLLo\"]", 1, LOWER), 1);
	ck_assert_uint_eq(x.n_out, 1);
	ck_assert_uint_eq(exec_outputs(&x, "lowercase-1", "hello"), 1);
	exec_end(&x);
	/* Keepalive requests cross too ("$keepalive.<id>.request" lines): a
	 * peer on the hub asks a plugin on B, a peer on B asks the core. */
	struct mqtt_peer *pa = mqtt_peer_new("ask-from-hub", hub.port);
	struct mqtt_peer *pb = mqtt_peer_new("ask-from-siteb", siteb.port);
	ck_assert_ptr_nonnull(pa);
	ck_assert_ptr_nonnull(pb);
	ck_assert_msg(keepalive_probe(pa, "echo-2", WAIT), "echo-2 did not answer across");
	ck_assert_msg(keepalive_probe(pa, "lowercase-1", WAIT), "lowercase-1 did not answer");
	ck_assert_msg(keepalive_probe(pb, "core1", WAIT), "core1 did not answer across");
	mqtt_peer_free(pa);
	mqtt_peer_free(pb);
	/* core1 stops: its graceful closes reach both hosts (in any order). */
	test_stop_clean(w.core, WAIT);
	static const char *const closed[][2] = {
		{"b1", "plugin echo: remote core core1 disconnected from echo (graceful)"},
		{"b1", "plugin lowercase: remote core core1 disconnected from lowercase (graceful)"},
		{"b2", "plugin echo: remote core core1 disconnected from echo (graceful)"},
	};
	for (size_t i = 0; i < 3; i++) {
		struct test_proc *h = strcmp(closed[i][0], "b1") ? w.b2 : w.b1;
		ck_assert_msg(test_proc_seen(h, closed[i][1], WAIT), "no \"%s\":\n%s", closed[i][1],
			      test_proc_output(h));
	}
	test_stop_clean(w.b1, WAIT);
	test_stop_clean(w.b2, WAIT);
}
END_TEST

struct ka_wait {
	struct mqtt_peer *a, *b;
	double span; /* each sender's first-to-last keepalive at least this */
};

static const char *const PLUGIN_IDS[] = {"echo-1", "echo-2", "lowercase-1"};

/* Every plugin's keepalives to core1 (seen on the hub) and core1's to every
 * plugin (seen on B) have gone on for at least w->span. */
static bool ka_spanned(void *arg)
{
	struct ka_wait *w = arg;
	for (size_t i = 0; i < 3; i++) {
		double first = 0, last = 0;
		char *topic = strf("$keepalive.%s", PLUGIN_IDS[i]);
		size_t to_plugin = keepalives(w->b, topic, "core1", &first, &last);
		free(topic);
		if (to_plugin < 2 || last - first < w->span)
			return false;
		size_t to_core = keepalives(w->a, "$keepalive.core1", PLUGIN_IDS[i], &first, &last);
		if (to_core < 2 || last - first < w->span)
			return false;
	}
	return true;
}

/* Pump peer b while a waits: both see their traffic. */
static void pump_other(void *ctx, struct mqtt_peer *p)
{
	(void)p;
	mqtt_peer_pump(ctx, 0.001);
}

START_TEST(keepalives_keep_connections_across_the_bridge)
{
	struct world w;
	start_world(&w, FAST);
	struct gone_counts before;
	gone_snapshot(&w, &before);
	struct mqtt_peer *a = mqtt_peer_new("ka-hub", hub.port);
	struct mqtt_peer *b = mqtt_peer_new("ka-siteb", siteb.port);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(mqtt_peer_subscribe(a, "$keepalive.core1"), 0);
	for (size_t i = 0; i < 3; i++) {
		char *topic = strf("$keepalive.%s", PLUGIN_IDS[i]);
		ck_assert_int_eq(mqtt_peer_subscribe(b, topic), 0);
		free(topic);
	}
	/* Keepalives both ways, for three deadlines: without them every
	 * connection would have been declared dead (and logged so) by now. */
	struct ka_wait kw = {a, b, 3 * DEAD_S};
	mqtt_peer_set_tick(a, pump_other, b);
	ck_assert_msg(mqtt_peer_run_until(a, ka_spanned, &kw, WAIT + 3 * DEAD_S),
		      "keepalives did not flow across the bridge for %.0f s", kw.span);
	mqtt_peer_set_tick(a, NULL, NULL);
	for (size_t i = 0; i < 3; i++) {
		double first = 0, last = 0;
		char *topic = strf("$keepalive.%s", PLUGIN_IDS[i]);
		/* Paced by the remote's deadline: about one a second, not a flood. */
		size_t n = keepalives(b, topic, "core1", &first, &last);
		ck_assert_msg(n <= 4 * (size_t)(last - first + 1), "%zu keepalives to %s", n,
			      PLUGIN_IDS[i]);
		free(topic);
	}
	mqtt_peer_free(a);
	mqtt_peer_free(b);
	expect_none_gone(&w, &before);
	/* Still the first connections, and they serve. */
	ck_assert_uint_eq(connects(w.core), 3);
	expect_all_connections_serve("alive");
	stop_world(&w);
}
END_TEST

/* pid of plugin `name`'s process on daemon `host`. */
static pid_t plugin_pid(const char *host, const char *name)
{
	json_t *r = ctl(host, "{\"v\":1,\"id\":1,\"cmd\":\"plugins\"}\n");
	json_t *list = json_object_get(json_object_get(r, "result"), "plugins"), *e;
	size_t i;
	pid_t pid = 0;
	json_array_foreach(list, i, e)
		if (!strcmp(json_string_value(json_object_get(e, "name")), name))
			pid = (pid_t)json_integer_value(json_object_get(e, "pid"));
	json_decref(r);
	ck_assert_int_gt(pid, 0);
	return pid;
}

START_TEST(closes_both_ways_across_the_bridge)
{
	struct world w;
	start_world(&w, FAST);

	/* Core side, graceful: GracefulClose crosses to echo-1, its Ack comes
	 * back; core1 then finds echo-1 again (minimum 2). */
	test_proc_mark(w.core);
	test_proc_mark(w.b1);
	ctl_ok("core1", "{\"v\":1,\"id\":1,\"cmd\":\"close\",\"args\":{\"operation\":\"echo\","
			"\"plugin\":\"echo-1\"}}\n");
	test_expect_line(w.b1, "plugin echo: remote core core1 disconnected from echo (graceful)",
			 WAIT);
	test_expect_line(w.core, "disconnected from echo-1 for echo (graceful)", WAIT);
	test_expect_line(w.core, "connected to echo-1 for echo", WAIT);
	test_expect_line(w.core, "core compliant: 2/2", WAIT);

	/* Core side, graceless. */
	test_proc_mark(w.core);
	test_proc_mark(w.b2);
	ctl_ok("core1", "{\"v\":1,\"id\":1,\"cmd\":\"close\",\"args\":{\"operation\":\"echo\","
			"\"plugin\":\"echo-2\",\"graceless\":true}}\n");
	test_expect_line(w.core, "disconnected from echo-2 for echo (graceless)", WAIT);
	test_expect_line(w.b2, "plugin echo: remote core core1 disconnected from echo (graceless)",
			 WAIT);
	test_expect_line(w.core, "connected to echo-2 for echo", WAIT);
	test_expect_line(w.core, "core compliant: 2/2", WAIT);

	/* Plugin side, graceful: lowercase.so removed from siteb1 — its
	 * connection is closed gracefully, the core is told across. */
	test_proc_mark(w.core);
	test_proc_mark(w.b1);
	char *so = daemon_path("siteb1", "plugins/lowercase.so");
	char *keep = daemon_path("siteb1", "lowercase.so.away");
	ck_assert_int_eq(rename(so, keep), 0);
	test_expect_line(w.core, "disconnected from lowercase-1 for lowercase (graceful)", WAIT);
	test_expect_line(w.core, "core not compliant: 1/2", WAIT);
	test_expect_line(w.b1, "plugin lowercase stopped", WAIT);
	/* Back (a rename into the directory, as inotify wants): connected again. */
	ck_assert_int_eq(rename(keep, so), 0);
	test_expect_line(w.core, "connected to lowercase-1 for lowercase", WAIT);
	test_expect_line(w.core, "core compliant: 2/2", WAIT);
	free(so);
	free(keep);

	/* Plugin side, graceless: echo-1's process is killed; siteb1 sends the
	 * GracelessClose on its behalf, which crosses at once (not a keepalive
	 * deadline: nothing "is dead"). */
	test_proc_mark(w.core);
	ck_assert_int_eq(kill(plugin_pid("siteb1", "echo"), SIGKILL), 0);
	test_expect_line(w.b1, "plugin echo: killed by SIGKILL", WAIT);
	test_expect_line(w.core, "disconnected from echo-1 for echo (graceless)", WAIT);
	ck_assert_msg(!test_proc_seen(w.core, "is dead", 0), "%s", test_proc_output(w.core));
	test_expect_line(w.core, "connected to echo-1 for echo", WAIT);
	test_expect_line(w.core, "core compliant: 2/2", WAIT);

	/* Plugin side, graceful by stopping the host: siteb2's SIGTERM. */
	test_proc_mark(w.core);
	test_stop_clean(w.b2, WAIT);
	test_expect_line(w.core, "disconnected from echo-2 for echo (graceful)", WAIT);
	test_expect_line(w.core, "core not compliant: 1/2", WAIT);
	ck_assert_msg(!test_proc_seen(w.core, "is dead", 0), "%s", test_proc_output(w.core));
	w.b2 = run_daemon("siteb2");
	test_expect_line(w.core, "core compliant: 2/2", WAIT);

	expect_all_connections_serve("after");
	stop_world(&w);
}
END_TEST

/* Broker B down past the keepalive deadline: each side declares the other
 * dead and drops its connections; B back, the core rediscovers and is
 * compliant again within a bound (reconnect_max 0.5 s, the bridge connects
 * as B starts, discovering_interval 0.1 s). */
START_TEST(bridge_down_past_deadline_reconnects)
{
	struct world w;
	start_world(&w, FAST);
	test_proc_mark(w.core);
	test_proc_mark(w.b1);
	test_proc_mark(w.b2);
	ck_assert_int_eq(test_broker_kill(&siteb), 0);
	/* Silent past the deadline: dead, and the connection dropped. */
	for (size_t i = 0; i < 3; i++) {
		char *dead = strf("%s is dead", PLUGIN_IDS[i]);
		ck_assert_msg(test_proc_seen(w.core, dead, WAIT), "%s", test_proc_output(w.core));
		free(dead);
	}
	ck_assert(test_proc_seen(w.core, "disconnected from echo-1 for echo (graceless)", WAIT));
	ck_assert(test_proc_seen(w.core, "disconnected from echo-2 for echo (graceless)", WAIT));
	ck_assert(test_proc_seen(w.core, "disconnected from lowercase-1 for lowercase (graceless)",
				 WAIT));
	json_t *r = ctl("core1", "{\"v\":1,\"id\":1,\"cmd\":\"requirements\"}\n");
	json_t *reqs = json_object_get(json_object_get(r, "result"), "requirements"), *q;
	size_t i;
	ck_assert_uint_eq(json_array_size(reqs), 2);
	json_array_foreach(reqs, i, q) {
		ck_assert(json_is_false(json_object_get(q, "satisfied")));
		ck_assert_int_eq(json_integer_value(json_object_get(q, "connected")), 0);
	}
	json_decref(r);
	/* The plugins, cut off from B, declare core1 dead too: both sides start
	 * afresh (no half-kept connection to reason about). */
	test_expect_line(w.b1, "remote core core1 is dead", WAIT);
	ck_assert(test_proc_seen(w.b1, "plugin lowercase: remote core core1 is dead", WAIT));
	ck_assert(test_proc_seen(w.b1, "plugin echo: remote core core1 is dead", WAIT));
	test_expect_line(w.b2, "plugin echo: remote core core1 is dead", WAIT);
	test_proc_mark(w.core);
	double t0 = now_s();
	ck_assert_int_eq(test_broker_restart(&siteb), 0);
	test_expect_line(w.core, "core compliant: 2/2", WAIT);
	double back = now_s() - t0;
	fprintf(stderr, "test_bridge: B restarted → core1 compliant again in %.2f s\n", back);
	ck_assert_msg(back < 10.0, "compliant again only after %.2f s", back);
	/* Re-established: three new connections beside the three dropped. */
	ck_assert_uint_eq(connects(w.core), 6);
	expect_all_connections_serve("again");
	stop_world(&w);
}
END_TEST

/* Broker B restarted at once, keepalive deadline 30 s: the orbs never see a
 * silence near it, so every connection is kept — no close, no new
 * handshake — and serves again once the plugin hosts and the bridge are
 * back on B. */
START_TEST(quick_bridge_restart_keeps_connections)
{
	struct world w;
	start_world(&w, SLOW);
	struct gone_counts before;
	gone_snapshot(&w, &before);
	test_proc_mark(w.b1);
	test_proc_mark(w.b2);
	double t0 = now_s();
	ck_assert_int_eq(test_broker_restart(&siteb), 0);
	test_expect_line(w.b1, "mqtt: connected", WAIT);
	test_expect_line(w.b2, "mqtt: connected", WAIT);
	expect_bridge_up();
	/* The plugins' subscriptions are back too: they answer across. */
	struct mqtt_peer *pa = mqtt_peer_new("ask-from-hub", hub.port);
	ck_assert_ptr_nonnull(pa);
	for (size_t i = 0; i < 3; i++) {
		double deadline = now_s() + WAIT;
		bool ok = false;
		while (!ok && now_s() < deadline)
			ok = keepalive_probe(pa, PLUGIN_IDS[i], 0.2);
		ck_assert_msg(ok, "%s does not answer after the restart", PLUGIN_IDS[i]);
	}
	mqtt_peer_free(pa);
	double outage = now_s() - t0;
	fprintf(stderr, "test_bridge: B restart → bridge and plugins back in %.2f s\n", outage);
	/* The reasoning holds only if the outage stayed well inside the margin
	 * (one lost keepalive: a silence of two periods plus the outage). */
	ck_assert_msg(outage < SLOW_DEAD_S - 2 * SLOW_PERIOD_S, "outage %.2f s", outage);
	expect_all_connections_serve("kept");
	expect_none_gone(&w, &before);
	ck_assert_uint_eq(connects(w.core), 3);
	stop_world(&w);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("bridge");
	TCase *tc = tcase_create("two bridged brokers");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, handshake_and_every_mode_across_the_bridge);
	tcase_add_test(tc, keepalives_keep_connections_across_the_bridge);
	tcase_add_test(tc, closes_both_ways_across_the_bridge);
	tcase_add_test(tc, bridge_down_past_deadline_reconnects);
	tcase_add_test(tc, quick_bridge_restart_keeps_connections);
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
