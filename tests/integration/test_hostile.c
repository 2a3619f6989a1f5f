/* test_hostile.c — hostile peers on an open broker against real orbitd
 * processes and a real mosquitto: a flood of malformed Offers costs a bounded
 * number of log lines and every dropped one is still accounted for; a core
 * announcing an absurd considered_dead_after still gets keepalives at the
 * pace of the clamped value (issue 14 items 4 and 5). */
#include "broker.h"
#include "expect.h"
#include "mqtt_peer.h"
#include "orbitd_host.h"
#include "proc.h"
#include "strf.h"
#include "tmpdir.h"
#include "wire_peer.h"

#include "envelope.h"
#include "wire.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAIT 20.0
#define TIMERS "timers: {loop_interval: 0.1, discovering_interval: 0.1, shutdown_timeout: 2, " \
	       "consider_others_dead_after: 5, send_keepalive_before_timelimit: 1%s}\n"

static struct test_broker broker;
static char *tmp;
static char *build_dir;

static void setup(void)
{
	const char *b = getenv("ORBIT_BUILD");
	build_dir = strdup(b ? b : "build");
	tmp = test_tmpdir_new("orbitd-hostile");
	ck_assert_ptr_nonnull(tmp);
	ck_assert_int_eq(test_broker_start(&broker), 0);
}

static void teardown(void)
{
	test_broker_stop(&broker);
	test_tmpdir_free(tmp);
	free(build_dir);
}

static struct test_proc *start_daemon(const char *name, const char *plugins, const char *timers_extra,
				      const char *body)
{
	char *t = strf(TIMERS, timers_extra);
	char *yaml = strf("%smqtt: {host: 127.0.0.1, port: %d}\n%s", t, broker.port, body);
	struct test_proc *p = orbitd_host_start(tmp, build_dir, name, plugins, yaml);
	free(yaml);
	free(t);
	return p;
}

static bool never(void *arg)
{
	(void)arg;
	return false;
}

/* Run p's loop (and its tick) for s seconds. */
static void pump_for(struct mqtt_peer *p, double s)
{
	mqtt_peer_run_until(p, never, NULL, s);
}

/* Every message orbiter `id` received before this returns has been handled:
 * a KeepaliveRequest is answered in order behind them. The request is sent
 * again every second: under a flood the broker may drop a QoS-0 message. */
static void barrier(struct mqtt_peer *p, const char *id)
{
	char *answer = strf("probe.keepalive.%s", id), *topic = strf("$keepalive.%s.request", id);
	ck_assert_int_eq(mqtt_peer_subscribe(p, answer), 0);
	orbit_msg m = {.kind = ORBIT_MSG_KEEPALIVE_REQUEST};
	m.keepalive_request.from = "probe";
	m.keepalive_request.keepalive_topic = answer;
	double t = mqtt_peer_now(), end = t + WAIT;
	bool answered = false;
	while (!answered && mqtt_peer_now() < end) {
		ck_assert_int_eq(wire_peer_publish(p, topic, "probe", &m), 0);
		answered = mqtt_peer_next(p, answer, t, 1.0) != NULL;
	}
	ck_assert_msg(answered, "no keepalive from %s", id);
	free(answer);
	free(topic);
}

static void publish_malformed_offer(struct mqtt_peer *p, const char *topic)
{
	static const uint8_t junk[] = {0xff, 0xff, 0xff, 0x01};
	orbit_payload pl = {junk, sizeof junk, ORBIT_FMT_AVRO, "OfferMessage"};
	char *env = NULL;
	size_t len = 0;
	ck_assert_int_eq(orbit_envelope_encode(&pl, "evil", &env, &len), 0);
	ck_assert_int_eq(mqtt_peer_publish(p, topic, env, len), 0);
	free(env);
}

/* The number just before s[at] (0 if none). */
static unsigned long long number_before(const char *s, const char *at)
{
	while (at > s && at[-1] >= '0' && at[-1] <= '9')
		at--;
	return strtoull(at, NULL, 10);
}

/* Lines of the malformed-Offer kind, and the drops reported by their tails
 * and by the flush lines that quote them. */
static size_t malformed_lines(struct test_proc *p, unsigned long long *suppressed)
{
	static const char needle[] = "dropped malformed OfferMessage on $handshake.core.offer";
	static const char tail[] = " similar messages suppressed)";
	static const char flush[] = " similar messages suppressed, none for";
	size_t n = 0;
	*suppressed = 0;
	const char *out = test_proc_output(p);
	for (const char *line = out; line && *line;) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		char *l = strndup(line, len);
		char *t;
		if (strstr(l, needle) && (t = strstr(l, flush))) {
			*suppressed += number_before(l, t);
		} else if (strstr(l, needle)) {
			n++;
			if ((t = strstr(l, tail)))
				*suppressed += number_before(l, t);
		}
		free(l);
		line = end ? end + 1 : NULL;
	}
	return n;
}

/* 10,000 malformed Offers in a burst: orbitd writes its burst budget and then
 * at most log.rate_limit lines a second; a second after the flood one line
 * reports the count of the rest. Nothing is lost from the account: lines
 * written + drops reported = messages sent. */
START_TEST(malformed_offer_flood_is_rate_limited_in_the_log)
{
	enum { FLOOD = 10000, CHUNK = 250 };
	struct test_proc *c = start_daemon("core", NULL, "", "requirements:\n  lowercase: {minimum: 1}\n");
	test_expect_line(c, "core not compliant: 0/1", WAIT);
	struct mqtt_peer *evil = mqtt_peer_new("evil", broker.port);
	ck_assert_ptr_nonnull(evil);
	barrier(evil, "core");
	double t0 = mqtt_peer_now();
	/* In chunks, each behind a barrier: mosquitto drops QoS-0 messages to a
	 * client whose queue is full, and the account below must be exact. */
	for (int i = 0; i < FLOOD; i++) {
		publish_malformed_offer(evil, "$handshake.core.offer");
		if ((i + 1) % CHUNK == 0)
			barrier(evil, "core");
	}
	double elapsed = mqtt_peer_now() - t0;
	unsigned long long suppressed;
	size_t lines = malformed_lines(c, &suppressed);
	/* Default budget: 10 lines/s with 10 s of it up front. */
	size_t bound = 100 + (size_t)(10 * elapsed) + 1;
	ck_assert_msg(lines >= 1 && lines <= bound, "%zu lines for %d malformed Offers in %.1fs (bound %zu)",
		      lines, FLOOD, elapsed, bound);
	/* Quiet for a second: the count comes without a next line of the kind. */
	char *l = test_proc_wait_line(c, "similar messages suppressed, none for 1s; the last one "
					 "like: core: dropped malformed OfferMessage", WAIT);
	ck_assert_ptr_nonnull(l);
	free(l);
	lines = malformed_lines(c, &suppressed);
	ck_assert_uint_eq(lines + suppressed, FLOOD);
	mqtt_peer_free(evil);
	test_stop_clean(c, WAIT);
}
END_TEST

static int lowercase_query(orbit_query *q, orbit_spec *in, orbit_spec *out)
{
	memset(q, 0, sizeof *q);
	if (orbit_spec_init_kind(in, ORBIT_KIND_STRING) < 0 || orbit_spec_init_kind(out, ORBIT_KIND_STRING) < 0)
		return -1;
	q->operation_name = "lowercase";
	q->inputs = in;
	q->n_inputs = 1;
	q->outputs = out;
	q->n_outputs = 1;
	return 0;
}

struct evil_core {
	orbit_msg discover;
	orbit_query query;
	orbit_spec in, out;
	double every, last;
};

static void rediscover(void *ctx, struct mqtt_peer *p)
{
	struct evil_core *e = ctx;
	double now = mqtt_peer_now();
	if (now - e->last < e->every)
		return;
	e->last = now;
	wire_peer_publish(p, "$handshake.discover", "evilcore", &e->discover);
}

static size_t keepalives_from(struct mqtt_peer *p, const char *from, double after)
{
	size_t n = 0;
	for (size_t i = 0; i < mqtt_peer_count(p); i++) {
		const struct mqtt_peer_msg *m = mqtt_peer_msg_at(p, i);
		orbit_msg k;
		if (m->at < after || strcmp(m->topic, "$keepalive.evilcore") != 0 ||
		    wire_peer_decode(m, ORBIT_MSG_KEEPALIVE, &k) < 0)
			continue;
		n += strcmp(k.keepalive.from, from) == 0;
		orbit_msg_clear(&k);
	}
	return n;
}

/* Play core "evilcore" announcing considered_dead_after dead_after: Discovers
 * every 0.3 s from p's tick (they keep it alive in the plugin's eyes), then
 * Request what lc1 offers; returns once lc1 confirmed. It never answers a
 * close: a GracefulClose to it stays unacknowledged. */
static void evil_connect(struct mqtt_peer *p, struct evil_core *e, double dead_after)
{
	ck_assert_int_eq(mqtt_peer_subscribe(p, "$handshake.evilcore.offer"), 0);
	ck_assert_int_eq(mqtt_peer_subscribe(p, "$handshake.evilcore.response"), 0);
	ck_assert_int_eq(mqtt_peer_subscribe(p, "$keepalive.evilcore"), 0);
	*e = (struct evil_core){.discover = {.kind = ORBIT_MSG_DISCOVER}, .every = 0.3};
	ck_assert_int_eq(lowercase_query(&e->query, &e->in, &e->out), 0);
	e->discover.discover.core_id = "evilcore";
	e->discover.discover.offer_topic = "$handshake.evilcore.offer";
	e->discover.discover.keepalive_topic = "$keepalive.evilcore";
	e->discover.discover.keepalive_request_topic = "$keepalive.evilcore.request";
	e->discover.discover.considered_dead_after = dead_after;
	e->discover.discover.queries = &e->query;
	e->discover.discover.n_queries = 1;
	mqtt_peer_set_tick(p, rediscover, e);
	const struct mqtt_peer_msg *m = mqtt_peer_next(p, "$handshake.evilcore.offer", 0, WAIT);
	ck_assert_msg(m, "no Offer from lc1");
	orbit_msg offer;
	ck_assert_int_eq(wire_peer_decode(m, ORBIT_MSG_OFFER, &offer), 0);
	ck_assert_str_eq(offer.offer.plugin_id, "lc1");
	orbit_msg req = {.kind = ORBIT_MSG_REQUEST};
	req.request.core_id = "evilcore";
	req.request.operation = "lowercase";
	req.request.response_topic = "$handshake.evilcore.response";
	req.request.output_topic = "lowercase.evilcore.lc1.output";
	req.request.close_topic = "lowercase.evilcore.lc1.close";
	ck_assert_int_eq(wire_peer_publish(p, offer.offer.reply_topic, "evilcore", &req), 0);
	orbit_msg_clear(&offer);
	m = mqtt_peer_next(p, "$handshake.evilcore.response", 0, WAIT);
	ck_assert_msg(m, "no Confirm from lc1");
	orbit_msg confirm;
	ck_assert_int_eq(wire_peer_decode(m, ORBIT_MSG_CONFIRM, &confirm), 0);
	orbit_msg_clear(&confirm);
}

static void evil_done(struct mqtt_peer *p, struct evil_core *e)
{
	mqtt_peer_set_tick(p, NULL, NULL);
	orbit_spec_clear(&e->in);
	orbit_spec_clear(&e->out);
	mqtt_peer_free(p);
}

#define LC_HOST "plugins:\n  lowercase: {export: true, identifier: lc1}\n"

/* A core announcing considered_dead_after = 1e9 and connected to an exported
 * plugin: the plugin clamps the announcement to timers.accept_dead_after_max
 * (2 s here) and keeps sending keepalives at that pace; trusted blindly, the
 * first keepalive would have been the last for 31 years. */
START_TEST(announced_dead_after_is_clamped)
{
	struct test_proc *h = start_daemon("host", "plugins/lowercase.so", ", accept_dead_after_max: 2",
					   LC_HOST);
	test_expect_line(h, "plugin lowercase", WAIT);
	struct mqtt_peer *p = mqtt_peer_new("evilcore", broker.port);
	ck_assert_ptr_nonnull(p);
	struct evil_core e;
	evil_connect(p, &e, 1e9);
	double t0 = mqtt_peer_now();
	test_expect_line(h, "announces considered_dead_after 1e+09s", WAIT);
	/* At the clamped 2 s with send_keepalive_before_timelimit 1 s, one
	 * keepalive about every second; 6 s give room for at least 3. */
	pump_for(p, 6.0);
	size_t n = keepalives_from(p, "lc1", t0);
	ck_assert_msg(n >= 3, "%zu keepalives in 6 s to a core announcing 1e9 s", n);
	ck_assert_uint_eq(test_proc_count(h, "announces considered_dead_after 1e+09s"), 1);
	evil_done(p, &e);
	test_stop_clean(h, WAIT);
}
END_TEST

/* The plugin file is moved away and back (an upgrade done by hand, a
 * package manager) while the old plugin is still closing its connections —
 * for as long as shutdown_timeout, with a core that never acknowledges:
 * the file is loaded again once the old one stopped, not forgotten. */
START_TEST(plugin_file_back_while_draining_is_loaded_again)
{
	struct test_proc *h = start_daemon("host", "plugins/lowercase.so", "", LC_HOST);
	test_expect_line(h, "plugin lowercase", WAIT);
	struct mqtt_peer *p = mqtt_peer_new("evilcore", broker.port);
	ck_assert_ptr_nonnull(p);
	struct evil_core e;
	evil_connect(p, &e, 5);
	test_expect_line(h, "remote core evilcore connected for lowercase", WAIT);
	char *in = strf("%s/host/plugins/lowercase.so", tmp), *out = strf("%s/host/lowercase.so", tmp);
	ck_assert_int_eq(rename(in, out), 0);
	test_expect_line(h, "plugin lowercase: file removed, closing its connections", WAIT);
	ck_assert_int_eq(rename(out, in), 0);
	test_expect_line(h, "lowercase.so is back", WAIT);
	test_expect_line(h, "plugin lowercase stopped", WAIT);
	test_expect_line(h, "plugin lowercase 2.0.0 loaded", WAIT);
	/* And it serves again: evilcore is offered lowercase anew. */
	double t = mqtt_peer_now();
	ck_assert_msg(mqtt_peer_next(p, "$handshake.evilcore.offer", t, WAIT), "no new Offer");
	free(in);
	free(out);
	evil_done(p, &e);
	test_stop_clean(h, WAIT);
}
END_TEST

/* A listening socket nobody accepts on: the kernel completes TCP, then
 * nothing — a broker that hangs, or a wrong service. Returns the fd. */
static int silent_listener(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sa;
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* A broker that completes TCP and then says nothing, plain and with TLS:
 * each attempt is abandoned 10 s after it started, with the stage named,
 * and retried — not left to the 60 s MQTT keepalive (or, for a TLS
 * handshake whose socket died, for ever spinning). */
START_TEST(silent_broker_attempts_end_at_the_deadline)
{
	int port;
	int fd = silent_listener(&port);
	char *dir = test_tmpdir_path(tmp, "ca");
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	char *key = strf("%s/ca.key", dir), *crt = strf("%s/ca.crt", dir);
	char *argv[] = {"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
			"ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", crt,
			"-days", "1", "-subj", "/CN=test", NULL};
	char *out = NULL, *err = NULL;
	int st = test_run(argv, NULL, NULL, WAIT, &out, &err);
	ck_assert_msg(st == 0, "openssl: %s", err ? err : "");
	free(out);
	free(err);
	char *plain = strf("mqtt: {host: 127.0.0.1, port: %d}\n", port);
	char *tls = strf("mqtt: {host: 127.0.0.1, port: %d, tls: {ca: %s}}\n", port, crt);
	struct test_proc *a = orbitd_host_start(tmp, build_dir, "plain", NULL, plain);
	struct test_proc *b = orbitd_host_start(tmp, build_dir, "tls", NULL, tls);
	char *want = strf("mqtt: cannot connect to 127.0.0.1:%d: no CONNACK within 10s", port);
	test_expect_line(a, want, WAIT);
	free(want);
	want = strf("mqtt: cannot connect to 127.0.0.1:%d: no TLS handshake within 10s", port);
	test_expect_line(b, want, WAIT);
	free(want);
	test_stop_clean(a, WAIT);
	test_stop_clean(b, WAIT);
	close(fd);
	free(plain);
	free(tls);
	free(key);
	free(crt);
	free(dir);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("hostile");
	TCase *tc = tcase_create("open broker");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, malformed_offer_flood_is_rate_limited_in_the_log);
	tcase_add_test(tc, announced_dead_after_is_clamped);
	tcase_add_test(tc, plugin_file_back_while_draining_is_loaded_again);
	tcase_add_test(tc, silent_broker_attempts_end_at_the_deadline);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
