/* test_orbitd_mqtt.c — orbitd as a distributed core and plugin host: real
 * orbitd processes on a real mosquitto (free loopback port, stopped by PID):
 * execute in every mode between daemons, 20 remote plugins, an exported
 * maximum shared by two cores, a SIGKILLed plugin host declared dead and
 * reconnected, a broker restart under load, garbage on every topic, and
 * identifiers MQTT cannot carry refused at config time. */
#include "broker.h"
#include "expect.h"
#include "proc.h"
#include "tmpdir.h"

#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <mosquitto.h>
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

static char *strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *strf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	return s;
}

/* One orbitd named `name` in tmp/name/ with plugins (space-separated paths
 * relative to the build dir) and the YAML body after the mqtt section. */
static struct test_proc *start_daemon(const char *name, const char *plugins, const char *body)
{
	char *dir = test_tmpdir_path(tmp, name);
	mkdir(dir, 0755);
	char *pdir = strf("%s/plugins", dir);
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
	char *yaml = strf("identifier: %s\n" FAST "mqtt: {host: 127.0.0.1, port: %d}\n%s", name,
			  broker.port, body);
	ck_assert_int_eq(test_tmpdir_write(dir, "orbitd.yaml", yaml), 0);
	free(yaml);
	char *bin = strf("%s/bin/orbitd", build_dir);
	char *conf = strf("%s/orbitd.yaml", dir);
	char *sock = strf("%s/ctl.sock", dir);
	char *argv[] = {bin, "-c", conf, "-p", pdir, "-s", sock, NULL};
	struct test_proc *p = test_proc_start(name, argv, NULL);
	ck_assert_ptr_nonnull(p);
	free(bin);
	free(conf);
	free(sock);
	free(pdir);
	free(dir);
	return p;
}



/* One control request to daemon `name`; returns the final reply (caller
 * decrefs) and the count of output events in *outputs. */
static json_t *ctl(const char *name, const char *request, size_t *outputs)
{
	char *path = strf("%s/%s/ctl.sock", tmp, name);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	free(path);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	ck_assert_int_eq(write(fd, request, strlen(request)), (ssize_t)strlen(request));
	char buf[65536];
	size_t len = 0;
	json_t *reply = NULL;
	*outputs = 0;
	while (!reply) {
		struct pollfd pfd = {fd, POLLIN, 0};
		ck_assert_msg(poll(&pfd, 1, (int)(WAIT * 1000)) == 1, "no reply to %s", request);
		ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
		ck_assert_int_gt(n, 0);
		len += (size_t)n;
		char *nl;
		while ((nl = memchr(buf, '\n', len))) {
			json_error_t je;
			json_t *msg = json_loadb(buf, (size_t)(nl - buf), 0, &je);
			ck_assert_ptr_nonnull(msg);
			if (json_object_get(msg, "event"))
				*outputs += strcmp(json_string_value(json_object_get(
							   json_object_get(msg, "event"), "type")),
						   "output") == 0;
			else
				reply = json_incref(msg);
			json_decref(msg);
			len -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, len);
		}
	}
	close(fd);
	return reply;
}

static json_int_t result_int(json_t *reply, const char *key)
{
	ck_assert_msg(json_is_true(json_object_get(reply, "ok")), "%s",
		      json_dumps(reply, JSON_COMPACT));
	return json_integer_value(json_object_get(json_object_get(reply, "result"), key));
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
	size_t outs;
	json_t *r = ctl("core", "{\"v\":1,\"id\":1,\"cmd\":\"execute\",\"args\":{\"operation\":"
				"\"echo\",\"data\":[\"a\"],\"wait\":1}}\n", &outs);
	ck_assert_int_eq(result_int(r, "sent"), 2);
	ck_assert_uint_eq(outs, 2);
	json_decref(r);
	r = ctl("core", "{\"v\":1,\"id\":2,\"cmd\":\"execute\",\"args\":{\"operation\":\"echo\","
			"\"mode\":\"any\",\"data\":[\"b\"],\"wait\":1}}\n", &outs);
	ck_assert_int_eq(result_int(r, "sent"), 1);
	ck_assert_uint_eq(outs, 1);
	json_decref(r);
	r = ctl("core", "{\"v\":1,\"id\":3,\"cmd\":\"execute\",\"args\":{\"operation\":\"echo\","
			"\"mode\":\"plugin\",\"plugin\":\"echo-2\",\"data\":[\"c\"],\"wait\":1}}\n",
		&outs);
	ck_assert_int_eq(result_int(r, "sent"), 1);
	ck_assert_uint_eq(outs, 1);
	json_decref(r);
	ck_assert(test_proc_seen(c, "output echo from echo-2: \"c\"", WAIT));
	r = ctl("core", "{\"v\":1,\"id\":4,\"cmd\":\"execute\",\"args\":{\"operation\":\"echo\","
			"\"mode\":\"distributed\",\"data\":[\"d1\",\"d2\",\"d3\",\"d4\"],\"wait\":1}}\n",
		&outs);
	ck_assert_int_eq(result_int(r, "sent"), 4);
	ck_assert_uint_eq(outs, 4);
	json_decref(r);
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
	size_t outs;
	json_t *r = ctl("core", "{\"v\":1,\"id\":1,\"cmd\":\"execute\",\"args\":{\"operation\":"
				"\"upper\",\"data\":[\"x\"],\"wait\":1.5}}\n", &outs);
	ck_assert_int_eq(result_int(r, "sent"), 10);
	ck_assert_uint_eq(outs, 10);
	json_decref(r);
	test_stop_clean(c, WAIT);
	for (int i = 0; i < 10; i++)
		test_stop_clean(hosts[i], WAIT);
}
END_TEST

START_TEST(exported_maximum_shared_by_two_cores)
{
	struct test_proc *h = start_daemon("host", "tests/plugins/echo.so",
					   "plugins:\n  echo: {export: true, policies: "
					   "{echo: {maximum: 1}}}\n");
	struct test_proc *c1 = start_daemon("core1", NULL, "requirements:\n  echo: {minimum: 1}\n");
	test_expect_line(c1, "core compliant: 1/1", WAIT);
	struct test_proc *c2 = start_daemon("core2", NULL, "requirements:\n  echo: {minimum: 1}\n");
	test_expect_line(c2, "ready:", WAIT);
	/* The slot is taken: core2 keeps discovering without a connection. */
	ck_assert(!test_proc_seen(c2, "core compliant", 1.0));
	test_stop_clean(c1, WAIT);
	/* The freed slot is offered again and core2 takes it. */
	test_expect_line(c2, "core compliant: 1/1", WAIT);
	test_stop_clean(c2, WAIT);
	test_stop_clean(h, WAIT);
}
END_TEST

/* The host's own core (in-process) and a remote core (MQTT) share an
 * exported plugin's maximum: one connection in all, not one per bus. */
START_TEST(exported_maximum_covers_local_and_remote_cores)
{
	static const char PLUGINS[] = "plugins:\n  echo: {export: true, policies: "
				      "{echo: {maximum: 1}}}\n";
	char *body = strf("%srequirements:\n  echo: {minimum: 1}\n", PLUGINS);
	struct test_proc *h = start_daemon("host", "tests/plugins/echo.so", body);
	free(body);
	test_expect_line(h, "connected to echo for echo", WAIT);
	struct test_proc *c2 = start_daemon("core2", NULL, "requirements:\n  echo: {minimum: 1}\n");
	test_expect_line(c2, "ready:", WAIT);
	ck_assert(!test_proc_seen(c2, "core compliant", 1.5));
	/* The host's core lets go (its requirement is removed): core2 gets it. */
	char *dir = test_tmpdir_path(tmp, "host");
	char *yaml = strf("identifier: host\n" FAST "mqtt: {host: 127.0.0.1, port: %d}\n%s",
			  broker.port, PLUGINS);
	ck_assert_int_eq(test_tmpdir_write(dir, "orbitd.yaml", yaml), 0);
	free(yaml);
	free(dir);
	test_proc_signal(h, SIGHUP);
	test_expect_line(h, "reloaded: requirements: removed echo", WAIT);
	test_expect_line(c2, "core compliant: 1/1", WAIT);
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

struct topics {
	char *v[256];
	size_t n;
};

static void on_msg(struct mosquitto *m, void *ud, const struct mosquitto_message *msg)
{
	(void)m;
	struct topics *t = ud;
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->v[i], msg->topic) == 0)
			return;
	if (t->n < 256)
		t->v[t->n++] = strdup(msg->topic);
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
	/* Learn every topic the two daemons use by listening to all of them. */
	mosquitto_lib_init();
	struct topics t = {0};
	struct mosquitto *m = mosquitto_new("garbage", true, &t);
	mosquitto_message_callback_set(m, on_msg);
	ck_assert_int_eq(mosquitto_connect(m, "127.0.0.1", broker.port, 30), MOSQ_ERR_SUCCESS);
	mosquitto_subscribe(m, NULL, "#", 0);
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		mosquitto_loop(m, 50, 1);
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while ((double)(now.tv_sec - t0.tv_sec) < 3.0);
	/* Input and output topics (UUIDs) come from the traffic; the handshake
	 * and keepalive topics follow SPEC's naming. */
	ck_assert_uint_ge(t.n, 2);
	static const char *const named[] = {"$handshake.discover", "$handshake.core.offer",
					    "$handshake.echo-1.reply", "$keepalive.core",
					    "$keepalive.echo-1", "$keepalive.core.request",
					    "$keepalive.echo-1.request"};
	for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
		struct mosquitto_message fake = {.topic = (char *)named[i]};
		on_msg(m, &t, &fake);
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
	for (size_t i = 0; i < t.n; i++)
		for (size_t j = 0; j < sizeof junk / sizeof junk[0]; j++)
			mosquitto_publish(m, NULL, t.v[i], (int)strlen(junk[j]), junk[j], 0, false);
	for (int i = 0; i < 20; i++)
		mosquitto_loop(m, 20, 1);
	mosquitto_disconnect(m);
	mosquitto_destroy(m);
	for (size_t i = 0; i < t.n; i++)
		free(t.v[i]);
	mosquitto_lib_cleanup();
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
