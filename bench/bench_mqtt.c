/* bench_mqtt.c — the MQTT side of the benchmarks, one mode per invocation
 * (bench_run starts the broker and the processes and repeats the runs):
 *
 *   rawecho PORT IN OUT      raw libmosquitto echo: every message on IN is
 *                            published again on OUT (QoS 0); prints "ready"
 *                            once subscribed; runs until SIGTERM/SIGINT
 *   rawrtt PORT IN OUT N P W raw pub → echo → sub: N sequential round trips
 *                            (p50/p99 µs), then P round trips with W in
 *                            flight (round trips/s)
 *   rawoneway PORT N         raw one-way throughput: one client publishes N
 *                            messages, another (own thread) receives them
 *   bridged PORT_A PORT_B    waits (≤ 10 s) until a message published on
 *                            each broker is received on the other: a bridge
 *                            between them is up both ways
 *   orbit PORT PLUGIN N P W  a core (orbit_core on orbit_mqtt_bus) executing
 *                            "echo" on PLUGIN (an orbitd-hosted plugin):
 *                            N sequential executes → sink (p50/p99 µs), then
 *                            P executes with W in flight (outputs/s)
 *   plugins PORT N PREFIX    N plugin orbiters PREFIX-0.. on one MQTT bus,
 *                            operation "hs" (string → string); prints "ready"
 *                            once every subscription is acknowledged; runs
 *                            until SIGTERM/SIGINT
 *   handshake PORT N [LABEL] a core requiring "hs" from exactly N plugins:
 *                            time from orbit_core_start (session up) to
 *                            compliant, as mqtt_handshake<LABEL>_<N>_ms
 *
 * orbit and handshake name their core after their pid unless BENCH_CORE_ID
 * is set in the environment: a bridge between two brokers must list every
 * core's identifier before the core starts (conf/mosquitto/bridge.conf.example).
 *
 * rawrtt and orbit also print the round trips they made in all (warm-up
 * included) and the CPU time this process used, so that the driver can
 * divide every process's CPU time by the round trips.
 *
 * Payloads are 100 bytes everywhere. Output: "name value" lines
 * (bench_util.h); errors on stderr and a non-zero exit.
 */
#include "bench_util.h"

#include <orbit/core.h>
#include "envelope.h"
#include <orbit/mqtt_bus.h>
#include <orbit/lender.h>

#include <event2/event.h>
#include <mosquitto.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define HOST "127.0.0.1"
#define PAYLOAD_LEN 100
/* Longest silence while waiting for a message before a run counts as failed. */
#define WAIT_S 10.0

static volatile sig_atomic_t stopping;

static void on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

/* CPU time (user + system) of this process so far, µs. */
static double cpu_us(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static void emit_quantiles(const char *prefix, double *lat_us, size_t n)
{
	char name[96];
	bu_sort(lat_us, n);
	snprintf(name, sizeof(name), "%s_p50_us", prefix);
	bu_emit(name, bu_quantile(lat_us, n, 0.50));
	snprintf(name, sizeof(name), "%s_p99_us", prefix);
	bu_emit(name, bu_quantile(lat_us, n, 0.99));
}

/* The core's identifier: $BENCH_CORE_ID, or prefix-PID. */
static void core_id(char *buf, size_t len, const char *prefix)
{
	const char *id = getenv("BENCH_CORE_ID");
	if (id && *id)
		snprintf(buf, len, "%s", id);
	else
		snprintf(buf, len, "%s-%d", prefix, (int)getpid());
}

/* ---- raw libmosquitto ---------------------------------------------------- */

struct raw {
	struct mosquitto *mosq;
	const char *out_topic;  /* rawecho: where to echo */
	atomic_bool connected;
	atomic_bool subscribed;
	atomic_ulong received;
	double first_rx, last_rx; /* rawoneway: receive times */
};

static void raw_on_connect(struct mosquitto *m, void *obj, int rc)
{
	(void)m;
	struct raw *r = obj;
	if (rc == 0)
		atomic_store(&r->connected, true);
}

static void raw_on_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *q)
{
	(void)m;
	(void)mid;
	(void)n;
	(void)q;
	atomic_store(&((struct raw *)obj)->subscribed, true);
}

static void raw_on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
	struct raw *r = obj;
	if (r->out_topic)
		mosquitto_publish(m, NULL, r->out_topic, msg->payloadlen, msg->payload, 0, false);
	double t = bu_now();
	if (atomic_load(&r->received) == 0)
		r->first_rx = t;
	r->last_rx = t;
	atomic_fetch_add(&r->received, 1);
}

/* Connect and (if topic) subscribe, driving the loop ourselves. */
static int raw_open(struct raw *r, int port, const char *topic)
{
	r->mosq = mosquitto_new(NULL, true, r);
	if (!r->mosq)
		return -1;
	mosquitto_connect_callback_set(r->mosq, raw_on_connect);
	mosquitto_subscribe_callback_set(r->mosq, raw_on_subscribe);
	mosquitto_message_callback_set(r->mosq, raw_on_message);
	if (mosquitto_connect(r->mosq, HOST, port, 60) != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "bench_mqtt: cannot connect to %s:%d\n", HOST, port);
		return -1;
	}
	double deadline = bu_now() + WAIT_S;
	while (!atomic_load(&r->connected) && bu_now() < deadline)
		mosquitto_loop(r->mosq, 100, 1);
	if (!atomic_load(&r->connected))
		return -1;
	if (!topic)
		return 0;
	if (mosquitto_subscribe(r->mosq, NULL, topic, 0) != MOSQ_ERR_SUCCESS)
		return -1;
	while (!atomic_load(&r->subscribed) && bu_now() < deadline)
		mosquitto_loop(r->mosq, 100, 1);
	return atomic_load(&r->subscribed) ? 0 : -1;
}

static void raw_close(struct raw *r)
{
	if (!r->mosq)
		return;
	mosquitto_disconnect(r->mosq);
	mosquitto_loop(r->mosq, 10, 1);
	mosquitto_destroy(r->mosq);
	r->mosq = NULL;
}

static int mode_rawecho(int port, const char *in, const char *out)
{
	struct raw r = {.out_topic = out};
	int rc = 1;
	if (raw_open(&r, port, in) == 0) {
		printf("ready\n");
		fflush(stdout);
		rc = 0;
		while (!stopping) {
			int lrc = mosquitto_loop(r.mosq, 1000, 1);
			if (lrc != MOSQ_ERR_SUCCESS && !stopping) {
				fprintf(stderr, "bench_mqtt rawecho: %s\n", mosquitto_strerror(lrc));
				rc = 1;
				break;
			}
		}
	}
	raw_close(&r);
	return rc;
}

/* Loop until received reaches target; false after WAIT_S of silence. */
static bool raw_wait(struct raw *r, unsigned long target)
{
	double last = bu_now();
	unsigned long seen = atomic_load(&r->received);
	while (seen < target) {
		mosquitto_loop(r->mosq, 100, 1);
		unsigned long now_seen = atomic_load(&r->received);
		if (now_seen != seen) {
			seen = now_seen;
			last = bu_now();
		} else if (bu_now() - last > WAIT_S) {
			return false;
		}
	}
	return true;
}

static int mode_rawrtt(int port, const char *in, const char *out, unsigned long n,
		       unsigned long np, unsigned long w)
{
	struct raw r = {0};
	uint8_t payload[PAYLOAD_LEN];
	memset(payload, 'x', sizeof(payload));
	double *lat = calloc(n, sizeof(*lat));
	int rc = 1;
	if (!lat || raw_open(&r, port, out) < 0)
		goto out;
	/* Warm-up. */
	for (unsigned long i = 0; i < n / 10; i++) {
		mosquitto_publish(r.mosq, NULL, in, PAYLOAD_LEN, payload, 0, false);
		if (!raw_wait(&r, i + 1))
			goto lost;
	}
	unsigned long base = atomic_load(&r.received);
	for (unsigned long i = 0; i < n; i++) {
		double t0 = bu_now();
		mosquitto_publish(r.mosq, NULL, in, PAYLOAD_LEN, payload, 0, false);
		if (!raw_wait(&r, base + i + 1))
			goto lost;
		lat[i] = (bu_now() - t0) * 1e6;
	}
	emit_quantiles("raw_rtt", lat, n);
	base = atomic_load(&r.received);
	double t0 = bu_now();
	for (unsigned long sent = 0; sent < np;) {
		while (sent < np && sent - (atomic_load(&r.received) - base) < w) {
			mosquitto_publish(r.mosq, NULL, in, PAYLOAD_LEN, payload, 0, false);
			sent++;
		}
		mosquitto_loop(r.mosq, 100, 1);
	}
	if (!raw_wait(&r, base + np))
		goto lost;
	bu_emit("raw_rtt_piped_per_s", (double)np / (bu_now() - t0));
	bu_emit("raw_client_roundtrips", (double)atomic_load(&r.received));
	bu_emit("raw_client_cpu_us", cpu_us());
	rc = 0;
	goto out;
lost:
	fprintf(stderr, "bench_mqtt rawrtt: messages lost (%lu received)\n",
		atomic_load(&r.received));
out:
	raw_close(&r);
	free(lat);
	return rc;
}

static int mode_rawoneway(int port, unsigned long n)
{
	struct raw pub = {0}, sub = {0};
	uint8_t payload[PAYLOAD_LEN];
	memset(payload, 'x', sizeof(payload));
	char topic[64];
	snprintf(topic, sizeof(topic), "bench/oneway/%d", (int)getpid());
	int rc = 1;
	bool sub_thread = false;
	if (raw_open(&sub, port, topic) < 0 || raw_open(&pub, port, NULL) < 0)
		goto out;
	if (mosquitto_loop_start(sub.mosq) != MOSQ_ERR_SUCCESS)
		goto out;
	sub_thread = true;
	double t0 = bu_now();
	for (unsigned long i = 0; i < n; i++) {
		mosquitto_publish(pub.mosq, NULL, topic, PAYLOAD_LEN, payload, 0, false);
		/* Let the socket drain now and then so the queue stays short. */
		if (i % 32 == 31)
			while (mosquitto_want_write(pub.mosq))
				mosquitto_loop(pub.mosq, 100, 1);
	}
	while (mosquitto_want_write(pub.mosq))
		mosquitto_loop(pub.mosq, 100, 1);
	double last = bu_now();
	unsigned long seen = 0;
	while ((seen = atomic_load(&sub.received)) < n && bu_now() - last < 2.0) {
		mosquitto_loop(pub.mosq, 10, 1);
		if (atomic_load(&sub.received) != seen)
			last = bu_now();
	}
	mosquitto_disconnect(sub.mosq);
	mosquitto_loop_stop(sub.mosq, false);
	sub_thread = false;
	seen = atomic_load(&sub.received);
	if (seen < n)
		fprintf(stderr, "bench_mqtt rawoneway: %lu of %lu received\n", seen, n);
	if (seen > 1) {
		bu_emit("raw_oneway_per_s", (double)seen / (sub.last_rx - t0));
		bu_emit("raw_oneway_lost", (double)(n - seen));
		rc = 0;
	}
out:
	if (sub_thread) {
		mosquitto_disconnect(sub.mosq);
		mosquitto_loop_stop(sub.mosq, false);
	}
	raw_close(&pub);
	raw_close(&sub);
	return rc;
}

static int mode_bridged(int port_a, int port_b)
{
	char to_a[64], to_b[64];
	snprintf(to_a, sizeof(to_a), "bench/bridge/%d/to-a", (int)getpid());
	snprintf(to_b, sizeof(to_b), "bench/bridge/%d/to-b", (int)getpid());
	struct raw a = {0}, b = {0};
	int rc = 1;
	if (raw_open(&a, port_a, to_a) < 0 || raw_open(&b, port_b, to_b) < 0)
		goto out;
	/* Until the bridge has connected and subscribed, a publish is not
	 * carried: publish again every round. */
	double deadline = bu_now() + WAIT_S;
	while ((!atomic_load(&a.received) || !atomic_load(&b.received)) && bu_now() < deadline) {
		mosquitto_publish(a.mosq, NULL, to_b, 1, "x", 0, false);
		mosquitto_publish(b.mosq, NULL, to_a, 1, "x", 0, false);
		mosquitto_loop(a.mosq, 25, 1);
		mosquitto_loop(b.mosq, 25, 1);
	}
	rc = atomic_load(&a.received) && atomic_load(&b.received) ? 0 : 1;
	if (rc)
		fprintf(stderr, "bench_mqtt bridged: nothing crosses between ports %d and %d\n",
			port_a, port_b);
out:
	raw_close(&a);
	raw_close(&b);
	return rc;
}

/* ---- libplugin on MQTT ----------------------------------------------------- */

struct mq {
	struct event_base *base;
	orbit_bus *bus;
	bool up;
	unsigned long outputs;
	size_t out_bytes;
};

static void mq_on_state(void *ctx, bool connected)
{
	((struct mq *)ctx)->up = connected;
}

static int mq_open(struct mq *m, int port)
{
	memset(m, 0, sizeof(*m));
	if (!(m->base = event_base_new()))
		return -1;
	orbit_mqtt_options o = {.host = HOST, .port = port, .on_state = mq_on_state, .ctx = m,
				.reconnect_min = 0.1, .reconnect_max = 1};
	if (!(m->bus = orbit_mqtt_bus_new(m->base, &o)))
		return -1;
	double deadline = bu_now() + WAIT_S;
	while (!m->up && bu_now() < deadline)
		event_base_loop(m->base, EVLOOP_ONCE);
	return m->up ? 0 : -1;
}

static void mq_close(struct mq *m)
{
	if (m->base)
		event_base_loop(m->base, EVLOOP_NONBLOCK);
	orbit_bus_free(m->bus);
	if (m->base)
		event_base_free(m->base);
}

/* Run the loop until pred holds; false after WAIT_S. */
static bool mq_until(struct mq *m, bool (*pred)(void *), void *arg)
{
	double deadline = bu_now() + WAIT_S;
	while (!pred(arg)) {
		if (bu_now() > deadline)
			return false;
		event_base_loop(m->base, EVLOOP_ONCE);
	}
	return true;
}

static bool core_compliant(void *arg)
{
	return orbit_core_compliant(arg);
}

static void mq_sink(void *ctx, orbit_core *c, const orbit_conn_info *conn, const orbit_payload *p)
{
	(void)c;
	(void)conn;
	struct mq *m = ctx;
	m->outputs++;
	m->out_bytes += p->len;
}

static int mode_orbit(int port, const char *plugin, unsigned long n, unsigned long np,
		      unsigned long w)
{
	struct mq m;
	orbit_core *core = NULL;
	orbit_spec str = {0};
	double *lat = calloc(n, sizeof(*lat));
	int rc = 1;
	char id[64];
	core_id(id, sizeof(id), "bench-core");
	if (!lat || mq_open(&m, port) < 0 || orbit_spec_init_kind(&str, ORBIT_KIND_STRING))
		goto out;
	if (!(core = orbit_core_new(m.bus, id, NULL, NULL)))
		goto out;
	const char *allow[] = {plugin, NULL};
	orbit_requirement q = {.operation = "echo", .minimum = 1, .maximum = 1, .allowlist = allow,
			       .inputs = &str, .n_inputs = 1, .outputs = &str, .n_outputs = 1};
	if (orbit_core_require(core, &q) || orbit_core_set_sink(core, "echo", mq_sink, &m) ||
	    orbit_core_start(core))
		goto out;
	if (!mq_until(&m, core_compliant, core)) {
		fprintf(stderr, "bench_mqtt orbit: no connection to %s\n", plugin);
		goto out;
	}
	char text[PAYLOAD_LEN];
	memset(text, 'x', sizeof(text));
	orbit_payload in = {(const uint8_t *)text, PAYLOAD_LEN, ORBIT_FMT_UTF8, "StringMessage"};
	orbit_exec x = {.mode = ORBIT_EXEC_ANY,
			.schema = orbit_kind_schema(ORBIT_KIND_STRING, ORBIT_FLAVOUR_PY312),
			.items = &in, .n_items = 1};
	char *json = NULL;
	size_t jlen = 0;
	if (orbit_envelope_encode(&in, id, &json, &jlen) == 0)
		bu_emit("orbit_envelope_bytes", (double)jlen);
	free(json);
	/* Warm-up, then sequential. */
	for (unsigned long i = 0; i < n / 10 + n; i++) {
		unsigned long before = m.outputs;
		double t0 = bu_now(), deadline = t0 + WAIT_S;
		if (orbit_core_execute(core, "echo", &x) != 1) {
			fprintf(stderr, "bench_mqtt orbit: execute failed\n");
			goto out;
		}
		while (m.outputs == before && bu_now() < deadline)
			event_base_loop(m.base, EVLOOP_ONCE);
		if (m.outputs == before) {
			fprintf(stderr, "bench_mqtt orbit: output lost\n");
			goto out;
		}
		if (i >= n / 10)
			lat[i - n / 10] = (bu_now() - t0) * 1e6;
	}
	emit_quantiles("orbit_rtt", lat, n);
	unsigned long base = m.outputs;
	double t0 = bu_now(), last = t0;
	unsigned long sent = 0, seen = 0;
	while (m.outputs - base < np) {
		while (sent < np && sent - (m.outputs - base) < w) {
			if (orbit_core_execute(core, "echo", &x) != 1) {
				fprintf(stderr, "bench_mqtt orbit: execute failed\n");
				goto out;
			}
			sent++;
		}
		event_base_loop(m.base, EVLOOP_ONCE);
		if (m.outputs != seen) {
			seen = m.outputs;
			last = bu_now();
		} else if (bu_now() - last > WAIT_S) {
			fprintf(stderr, "bench_mqtt orbit: %lu of %lu pipelined outputs\n",
				m.outputs - base, np);
			goto out;
		}
	}
	bu_emit("orbit_piped_per_s", (double)np / (bu_now() - t0));
	bu_emit("orbit_client_roundtrips", (double)m.outputs);
	bu_emit("orbit_client_cpu_us", cpu_us());
	rc = m.out_bytes == m.outputs * PAYLOAD_LEN ? 0 : 1;
	if (rc)
		fprintf(stderr, "bench_mqtt orbit: outputs of the wrong size\n");
out:
	orbit_core_free(core);
	orbit_spec_clear(&str);
	mq_close(&m);
	free(lat);
	return rc;
}

/* ---- handshake at scale ------------------------------------------------------ */

static void hs_echo(void *ctx, orbit_lender *p, const orbit_conn_info *conn,
		    const orbit_payload *in)
{
	(void)ctx;
	orbit_lender_reply(p, conn->remote_id, conn->operation, in);
}

static void probe_cb(void *ctx, const char *topic, const orbit_payload *p)
{
	(void)topic;
	(void)p;
	*(bool *)ctx = true;
}

static void on_signal(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

static int mode_plugins(int port, size_t n, const char *prefix)
{
	struct mq m;
	orbit_spec str = {0};
	orbit_lender **ps = calloc(n, sizeof(*ps));
	struct event *sig_term = NULL, *sig_int = NULL;
	bool probed = false;
	int rc = 1;
	char probe[96];
	snprintf(probe, sizeof(probe), "bench.probe.%s.%d", prefix, (int)getpid());
	if (!ps || mq_open(&m, port) < 0 || orbit_spec_init_kind(&str, ORBIT_KIND_STRING))
		goto out;
	for (size_t i = 0; i < n; i++) {
		char id[96];
		snprintf(id, sizeof(id), "%s-%zu", prefix, i);
		orbit_lent_op op = {.name = "hs", .input = str, .output = str,
				      .policy = {.maximum = ORBIT_UNLIMITED}, .handler = hs_echo};
		if (!(ps[i] = orbit_lender_new(m.bus, id, NULL, NULL)) ||
		    orbit_lender_add_operation(ps[i], &op) || orbit_lender_start(ps[i]))
			goto out;
	}
	/* A publish held until every SUBSCRIBE before it is acknowledged: when it
	 * comes back, every plugin can hear a Discover. */
	orbit_payload none = {0};
	if (orbit_bus_subscribe(m.bus, probe, probe_cb, &probed) ||
	    orbit_bus_publish(m.bus, probe, &none, ORBIT_PUB_AFTER_SUBACK))
		goto out;
	double deadline = bu_now() + 3 * WAIT_S;
	while (!probed && bu_now() < deadline)
		event_base_loop(m.base, EVLOOP_ONCE);
	if (!probed) {
		fprintf(stderr, "bench_mqtt plugins: subscriptions not acknowledged\n");
		goto out;
	}
	printf("ready %zu\n", n);
	fflush(stdout);
	sig_term = evsignal_new(m.base, SIGTERM, on_signal, m.base);
	sig_int = evsignal_new(m.base, SIGINT, on_signal, m.base);
	if (!sig_term || !sig_int || event_add(sig_term, NULL) || event_add(sig_int, NULL))
		goto out;
	event_base_dispatch(m.base);
	rc = 0;
out:
	if (sig_term)
		event_free(sig_term);
	if (sig_int)
		event_free(sig_int);
	for (size_t i = 0; ps && i < n; i++)
		orbit_lender_free(ps[i]);
	free(ps);
	orbit_spec_clear(&str);
	mq_close(&m);
	return rc;
}

static int mode_handshake(int port, size_t n, const char *label)
{
	struct mq m;
	orbit_core *core = NULL;
	orbit_spec str = {0};
	int rc = 1;
	char id[64];
	core_id(id, sizeof(id), "bench-hs-core");
	if (mq_open(&m, port) < 0 || orbit_spec_init_kind(&str, ORBIT_KIND_STRING))
		goto out;
	if (!(core = orbit_core_new(m.bus, id, NULL, NULL)))
		goto out;
	orbit_requirement q = {.operation = "hs", .minimum = (int)n, .maximum = (int)n,
			       .inputs = &str, .n_inputs = 1, .outputs = &str, .n_outputs = 1};
	if (orbit_core_require(core, &q))
		goto out;
	double t0 = bu_now(), deadline = t0 + 6 * WAIT_S;
	if (orbit_core_start(core))
		goto out;
	while (!orbit_core_compliant(core) && bu_now() < deadline)
		event_base_loop(m.base, EVLOOP_ONCE);
	if (!orbit_core_compliant(core)) {
		orbit_requirement_status st;
		orbit_core_requirement_status(core, "hs", &st);
		fprintf(stderr, "bench_mqtt handshake: %zu of %zu plugins after %.0f s\n",
			st.connected, n, bu_now() - t0);
		goto out;
	}
	char name[64];
	snprintf(name, sizeof(name), "mqtt_handshake%s_%zu_ms", label, n);
	bu_emit(name, (bu_now() - t0) * 1e3);
	rc = 0;
out:
	orbit_core_free(core);
	orbit_spec_clear(&str);
	mq_close(&m);
	return rc;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_mqtt rawecho PORT IN OUT | rawrtt PORT IN OUT N P W |\n"
			"       rawoneway PORT N | bridged PORT_A PORT_B | orbit PORT PLUGIN N P W |\n"
			"       plugins PORT N PREFIX | handshake PORT N [LABEL]\n");
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		usage();
		return 2;
	}
	const char *mode = argv[1];
	int port = atoi(argv[2]);
	struct sigaction sa = {.sa_handler = on_term};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	mosquitto_lib_init();
	int rc = 2;
	if (strcmp(mode, "rawecho") == 0 && argc == 5)
		rc = mode_rawecho(port, argv[3], argv[4]);
	else if (strcmp(mode, "rawrtt") == 0 && argc == 8)
		rc = mode_rawrtt(port, argv[3], argv[4], strtoul(argv[5], NULL, 10),
				 strtoul(argv[6], NULL, 10), strtoul(argv[7], NULL, 10));
	else if (strcmp(mode, "rawoneway") == 0 && argc == 4)
		rc = mode_rawoneway(port, strtoul(argv[3], NULL, 10));
	else if (strcmp(mode, "bridged") == 0 && argc == 4)
		rc = mode_bridged(port, atoi(argv[3]));
	else if (strcmp(mode, "orbit") == 0 && argc == 7)
		rc = mode_orbit(port, argv[3], strtoul(argv[4], NULL, 10),
				strtoul(argv[5], NULL, 10), strtoul(argv[6], NULL, 10));
	else if (strcmp(mode, "plugins") == 0 && argc == 5)
		rc = mode_plugins(port, strtoul(argv[3], NULL, 10), argv[4]);
	else if (strcmp(mode, "handshake") == 0 && (argc == 4 || argc == 5))
		rc = mode_handshake(port, strtoul(argv[3], NULL, 10), argc == 5 ? argv[4] : "");
	else
		usage();
	mosquitto_lib_cleanup();
	return rc;
}
