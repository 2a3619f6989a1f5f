/* bench_inproc.c — in-process figures, one run per invocation (the driver,
 * bench_run, repeats it and takes medians):
 *
 *  - handshake: core start → compliant with 1, 100 and 1,000 plugin
 *    orbiters on the in-process bus (libplugin API);
 *  - execute round trip: core execute → plugin handler → output → sink, with
 *    a 100-byte string and a 100-byte Avro record (bench.Reading), sequential
 *    (execute, then run the loop until the sink fired: ns per round trip) and
 *    pipelined (batches of executes, then the loop until all outputs came:
 *    round trips/s). Two plugin sides: an orbit_lender with a handler in this
 *    file (libplugin path), and bench/benchplug.so under orbitd's own plugin
 *    host (orbitd/host.c from libdaemon.a: ABI table, orbit_call, reply);
 *  - baselines taken in the same run: benchplug.so's handler called straight
 *    through dlopen with a minimal host table whose reply feeds a sink, a
 *    libavro encode + decode of the same record, and one libevent loop
 *    iteration with one active event (the floor of any "execute, then wait
 *    on the loop" round trip).
 *
 * usage: bench_inproc PLUGIN_SO [ROUNDTRIPS [seq|piped]]
 * With seq or piped only that loop runs (string payload, libplugin path), for
 * a profiler to look at. Output: "name value" lines (bench_util.h).
 */
#include "bench_record.h"
#include "bench_util.h"

#include "host.h"
#include "log.h"
#include "loopq.h"
#include "workers.h"

#include <orbit/core.h>
#include <orbit/plugin.h>
#include <orbit/lender.h>

#include <avro.h>
#include <dlfcn.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PIPELINE_WINDOW 1000

/* ---- the record ------------------------------------------------------- */

struct record {
	avro_schema_t schema;
	avro_value_iface_t *iface;
	avro_value_t value;
	uint8_t buf[512];
	size_t len;
};

static int record_fill(avro_value_t *v)
{
	avro_value_t f, item;
	size_t idx;
	if (avro_value_get_by_name(v, "sensor", &f, NULL) ||
	    avro_value_set_string(&f, BENCH_REC_SENSOR) ||
	    avro_value_get_by_name(v, "seq", &f, NULL) || avro_value_set_long(&f, BENCH_REC_SEQ) ||
	    avro_value_get_by_name(v, "time", &f, NULL) ||
	    avro_value_set_double(&f, BENCH_REC_TIME) ||
	    avro_value_get_by_name(v, "temperature", &f, NULL) ||
	    avro_value_set_float(&f, BENCH_REC_TEMP) ||
	    avro_value_get_by_name(v, "humidity", &f, NULL) ||
	    avro_value_set_float(&f, BENCH_REC_HUMIDITY) ||
	    avro_value_get_by_name(v, "status", &f, NULL) ||
	    avro_value_set_string(&f, BENCH_REC_STATUS) ||
	    avro_value_get_by_name(v, "tags", &f, NULL) || avro_value_append(&f, &item, &idx) ||
	    avro_value_set_string(&item, BENCH_REC_TAG1) || avro_value_append(&f, &item, &idx) ||
	    avro_value_set_string(&item, BENCH_REC_TAG2))
		return -1;
	return 0;
}

static int record_init(struct record *r)
{
	memset(r, 0, sizeof(*r));
	if (avro_schema_from_json_length(BENCH_RECORD_SCHEMA, sizeof(BENCH_RECORD_SCHEMA) - 1,
					 &r->schema)) {
		fprintf(stderr, "bench_inproc: schema: %s\n", avro_strerror());
		return -1;
	}
	r->iface = avro_generic_class_from_schema(r->schema);
	if (!r->iface || avro_generic_value_new(r->iface, &r->value) || record_fill(&r->value)) {
		fprintf(stderr, "bench_inproc: record: %s\n", avro_strerror());
		return -1;
	}
	avro_writer_t w = avro_writer_memory((char *)r->buf, sizeof(r->buf));
	int rc = avro_value_write(w, &r->value);
	r->len = (size_t)avro_writer_tell(w);
	avro_writer_free(w);
	return rc ? -1 : 0;
}

static void record_clear(struct record *r)
{
	if (r->iface) {
		avro_value_decref(&r->value);
		avro_value_iface_decref(r->iface);
	}
	if (r->schema)
		avro_schema_decref(r->schema);
}

/* ---- shared rig: a bus, a core, a counting sink ------------------------ */

struct rig {
	struct event_base *base;
	orbit_bus *bus;
	orbit_core *core;
	orbit_spec str, rec;
	unsigned long outputs;
	size_t out_bytes;
	/* chained mode: the sink executes again while chain_left > 0 */
	unsigned long chain_left;
	const char *chain_op;
	const orbit_exec *chain_x;
};

static void count_sink(void *ctx, orbit_core *c, const orbit_conn_info *conn,
		       const orbit_payload *p)
{
	(void)conn;
	struct rig *r = ctx;
	r->outputs++;
	r->out_bytes += p->len;
	if (r->chain_left) {
		r->chain_left--;
		orbit_core_execute(c, r->chain_op, r->chain_x);
	}
}

static int rig_init(struct rig *r)
{
	memset(r, 0, sizeof(*r));
	r->base = event_base_new();
	r->bus = r->base ? orbit_local_bus_new(r->base) : NULL;
	if (!r->bus || orbit_spec_init_kind(&r->str, ORBIT_KIND_STRING) ||
	    orbit_spec_init_schema(&r->rec, BENCH_RECORD_SCHEMA))
		return -1;
	return 0;
}

/* The core requiring one connection each of op_str and op_rec. */
static int rig_core(struct rig *r, const char *op_str, const char *op_rec)
{
	r->core = orbit_core_new(r->bus, "core", NULL, NULL);
	if (!r->core)
		return -1;
	orbit_requirement q = {.operation = op_str, .minimum = 1, .maximum = 1,
			       .inputs = &r->str, .n_inputs = 1, .outputs = &r->str,
			       .n_outputs = 1};
	if (orbit_core_require(r->core, &q) || orbit_core_set_sink(r->core, op_str, count_sink, r))
		return -1;
	q.operation = op_rec;
	q.inputs = q.outputs = &r->rec;
	if (orbit_core_require(r->core, &q) || orbit_core_set_sink(r->core, op_rec, count_sink, r))
		return -1;
	if (orbit_core_start(r->core))
		return -1;
	double deadline = bu_now() + 10;
	while (!orbit_core_compliant(r->core) && bu_now() < deadline)
		event_base_loop(r->base, EVLOOP_ONCE);
	if (!orbit_core_compliant(r->core)) {
		fprintf(stderr, "bench_inproc: core not compliant\n");
		return -1;
	}
	return 0;
}

static void rig_clear(struct rig *r)
{
	orbit_core_free(r->core);
	r->core = NULL;
	orbit_spec_clear(&r->str);
	orbit_spec_clear(&r->rec);
}

static void rig_free_bus(struct rig *r)
{
	if (r->base)
		event_base_loop(r->base, EVLOOP_NONBLOCK);
	orbit_bus_free(r->bus);
	if (r->base)
		event_base_free(r->base);
}

/* Sequential: ns per execute → … → sink, the caller driving the loop. */
static double seq_ns(struct rig *r, const char *op, const orbit_exec *x, unsigned long n)
{
	double t0 = bu_now();
	for (unsigned long i = 0; i < n; i++) {
		unsigned long before = r->outputs;
		if (orbit_core_execute(r->core, op, x) != 1) {
			fprintf(stderr, "bench_inproc: execute %s failed\n", op);
			return -1;
		}
		while (r->outputs == before)
			event_base_loop(r->base, EVLOOP_ONCE);
	}
	return (bu_now() - t0) / (double)n * 1e9;
}

/* Sequential, the caller flushing the in-process bus itself
 * (orbit_local_bus_flush) instead of running a loop iteration: a C
 * application that executes and wants the answer before it goes on. */
static double flush_ns(struct rig *r, const char *op, const orbit_exec *x, unsigned long n)
{
	double t0 = bu_now();
	for (unsigned long i = 0; i < n; i++) {
		unsigned long before = r->outputs;
		if (orbit_core_execute(r->core, op, x) != 1) {
			fprintf(stderr, "bench_inproc: execute %s failed\n", op);
			return -1;
		}
		while (r->outputs == before)
			if (orbit_local_bus_flush(r->bus, 8) < 0) {
				fprintf(stderr, "bench_inproc: flush failed\n");
				return -1;
			}
	}
	return (bu_now() - t0) / (double)n * 1e9;
}

/* Pipelined: round trips/s with PIPELINE_WINDOW executes in flight per batch. */
static double piped_per_s(struct rig *r, const char *op, const orbit_exec *x, unsigned long n)
{
	unsigned long target = r->outputs + n;
	double t0 = bu_now();
	for (unsigned long sent = 0; sent < n;) {
		unsigned long batch = n - sent < PIPELINE_WINDOW ? n - sent : PIPELINE_WINDOW;
		for (unsigned long i = 0; i < batch; i++)
			if (orbit_core_execute(r->core, op, x) != 1) {
				fprintf(stderr, "bench_inproc: execute %s failed\n", op);
				return -1;
			}
		sent += batch;
		while (r->outputs < target - (n - sent))
			event_base_loop(r->base, EVLOOP_ONCE);
	}
	return (double)n / (bu_now() - t0);
}

/* Chained: each execute is made by the sink of the previous output (a
 * pipeline stage), still one at a time but without returning to the caller,
 * so the in-process bus runs several round trips per loop iteration. */
static double chain_ns(struct rig *r, const char *op, const orbit_exec *x, unsigned long n)
{
	unsigned long target = r->outputs + n;
	r->chain_op = op;
	r->chain_x = x;
	r->chain_left = n - 1;
	double t0 = bu_now();
	if (orbit_core_execute(r->core, op, x) != 1) {
		fprintf(stderr, "bench_inproc: execute %s failed\n", op);
		return -1;
	}
	while (r->outputs < target)
		event_base_loop(r->base, EVLOOP_ONCE);
	return (bu_now() - t0) / (double)n * 1e9;
}

struct payloads {
	orbit_payload str, rec;
	orbit_exec xs, xr;
};

static void payloads_init(struct payloads *p, const char *text, const struct record *rec)
{
	p->str = (orbit_payload){(const uint8_t *)text, 100, ORBIT_FMT_UTF8, "StringMessage"};
	p->rec = (orbit_payload){rec->buf, rec->len, ORBIT_FMT_AVRO, BENCH_RECORD_TYPE};
	p->xs = (orbit_exec){.mode = ORBIT_EXEC_ANY,
			     .schema = orbit_kind_schema(ORBIT_KIND_STRING, ORBIT_FLAVOUR_PY312),
			     .items = &p->str, .n_items = 1};
	p->xr = (orbit_exec){.mode = ORBIT_EXEC_ANY, .schema = BENCH_RECORD_SCHEMA,
			     .items = &p->rec, .n_items = 1};
}

static int roundtrips(struct rig *r, const struct payloads *pl, const char *prefix,
		      const char *op_str, const char *op_rec, unsigned long n)
{
	char name[96];
	double v;
	size_t bytes0 = r->out_bytes;
	unsigned long out0 = r->outputs;
	/* Warm-up: caches, allocator, branch predictors. */
	if (seq_ns(r, op_str, &pl->xs, n / 10) < 0 || seq_ns(r, op_rec, &pl->xr, n / 10) < 0)
		return -1;
	if ((v = seq_ns(r, op_str, &pl->xs, n)) < 0)
		return -1;
	snprintf(name, sizeof(name), "%s_string_seq_ns", prefix);
	bu_emit(name, v);
	if ((v = flush_ns(r, op_str, &pl->xs, n)) < 0)
		return -1;
	snprintf(name, sizeof(name), "%s_string_flush_ns", prefix);
	bu_emit(name, v);
	if ((v = piped_per_s(r, op_str, &pl->xs, n)) < 0)
		return -1;
	snprintf(name, sizeof(name), "%s_string_piped_per_s", prefix);
	bu_emit(name, v);
	if ((v = chain_ns(r, op_str, &pl->xs, n)) < 0)
		return -1;
	snprintf(name, sizeof(name), "%s_string_chain_ns", prefix);
	bu_emit(name, v);
	if ((v = seq_ns(r, op_rec, &pl->xr, n)) < 0)
		return -1;
	snprintf(name, sizeof(name), "%s_record_seq_ns", prefix);
	bu_emit(name, v);
	if ((v = piped_per_s(r, op_rec, &pl->xr, n)) < 0)
		return -1;
	snprintf(name, sizeof(name), "%s_record_piped_per_s", prefix);
	bu_emit(name, v);
	/* Every output came back whole: 100 bytes each. */
	if (r->out_bytes - bytes0 != (r->outputs - out0) * 100) {
		fprintf(stderr, "bench_inproc: %s: outputs of the wrong size\n", prefix);
		return -1;
	}
	return 0;
}

/* ---- libplugin path ----------------------------------------------------- */

static void lp_echo(void *ctx, orbit_lender *p, const orbit_conn_info *conn,
		    const orbit_payload *in)
{
	(void)ctx;
	orbit_lender_reply(p, conn->remote_id, conn->operation, in);
}

/* Set by main for the profile modes: only this loop of the libplugin path. */
static const char *profile_only;

static int bench_libplugin(const struct payloads *pl, unsigned long n)
{
	struct rig r;
	orbit_lender *p = NULL;
	int rc = -1;
	if (rig_init(&r))
		goto out;
	p = orbit_lender_new(r.bus, "plugin", NULL, NULL);
	if (!p)
		goto out;
	orbit_lent_op op = {.name = "echo", .input = r.str, .output = r.str,
			      .policy = {.maximum = ORBIT_UNLIMITED}, .handler = lp_echo};
	if (orbit_lender_add_operation(p, &op))
		goto out;
	op.name = "echo_rec";
	op.input = op.output = r.rec;
	if (orbit_lender_add_operation(p, &op) || orbit_lender_start(p))
		goto out;
	if (rig_core(&r, "echo", "echo_rec"))
		goto out;
	if (profile_only && strcmp(profile_only, "seq") == 0)
		rc = seq_ns(&r, "echo", &pl->xs, n) < 0 ? -1 : 0;
	else if (profile_only)
		rc = piped_per_s(&r, "echo", &pl->xs, n) < 0 ? -1 : 0;
	else
		rc = roundtrips(&r, pl, "lp", "echo", "echo_rec", n);
out:
	rig_clear(&r);
	orbit_lender_free(p);
	rig_free_bus(&r);
	return rc;
}

/* ---- orbitd's plugin host path --------------------------------------------- */

static int bench_host(const struct payloads *pl, const char *so, unsigned long n)
{
	struct rig r;
	struct loopq *q = NULL;
	struct workers *w = NULL;
	orbit_host *h = NULL;
	char *why = NULL;
	int rc = -1;
	void *dl = dlopen(so, RTLD_NOW | RTLD_LOCAL);
	if (!dl) {
		fprintf(stderr, "bench_inproc: %s\n", dlerror());
		return -1;
	}
	const orbit_plugin_desc *d = dlsym(dl, ORBIT_PLUGIN_SYMBOL);
	if (rig_init(&r) || !d)
		goto out;
	if (!(q = loopq_new(r.base)) || !(w = workers_new(q, 1)))
		goto out;
	struct host_env env = {.base = r.base, .bus = r.bus, .core_id = "core", .loopq = q,
			       .workers = w};
	orbit_timers_default(&env.timers);
	if (host_validate(d, &why) || !(h = host_new(&env, d, NULL, NULL, &why)) ||
	    host_start(h, &why)) {
		fprintf(stderr, "bench_inproc: host: %s\n", why ? why : "failed");
		goto out;
	}
	if (rig_core(&r, "echo", "echo_rec"))
		goto out;
	rc = roundtrips(&r, pl, "host", "echo", "echo_rec", n);
out:
	free(why);
	rig_clear(&r);
	host_release(h);
	if (r.base)
		event_base_loop(r.base, EVLOOP_NONBLOCK);
	workers_free(w);
	loopq_free(q);
	rig_free_bus(&r);
	dlclose(dl);
	return rc;
}

/* ---- baselines ---------------------------------------------------------- */

static unsigned long bare_outputs;
static size_t bare_bytes;

static int bare_reply(orbit_call *call, const orbit_payload *out)
{
	(void)call;
	bare_outputs++;
	bare_bytes += out->len;
	return 0;
}

/* benchplug's handler through dlopen: ns per call (handler + reply + sink). */
static int bench_bare(const struct payloads *pl, const char *so, unsigned long n)
{
	int rc = -1;
	void *state = NULL;
	void *dl = dlopen(so, RTLD_NOW | RTLD_LOCAL);
	if (!dl) {
		fprintf(stderr, "bench_inproc: %s\n", dlerror());
		return -1;
	}
	const orbit_plugin_desc *d = dlsym(dl, ORBIT_PLUGIN_SYMBOL);
	static const orbit_host_api api = {.size = sizeof(orbit_host_api),
					   .abi_major = ORBIT_PLUGIN_ABI_MAJOR,
					   .abi_minor = ORBIT_PLUGIN_ABI_MINOR,
					   .reply = bare_reply};
	if (!d || d->n_ops < 2 || d->init(NULL, &api, &state))
		goto out;
	orbit_call cs = {.core_id = "core", .operation = "echo", .input = pl->str};
	orbit_call cr = {.core_id = "core", .operation = "echo_rec", .input = pl->rec};
	orbit_op_handler_fn hs = d->ops[0].handler, hr = d->ops[1].handler;
	for (unsigned long i = 0; i < n / 10; i++)
		hs(state, &cs);
	double t0 = bu_now();
	for (unsigned long i = 0; i < n; i++)
		hs(state, &cs);
	bu_emit("bare_call_string_ns", (bu_now() - t0) / (double)n * 1e9);
	t0 = bu_now();
	for (unsigned long i = 0; i < n; i++)
		hr(state, &cr);
	bu_emit("bare_call_record_ns", (bu_now() - t0) / (double)n * 1e9);
	rc = bare_outputs == n + n / 10 + n && bare_bytes == bare_outputs * 100 ? 0 : -1;
out:
	if (state)
		d->shutdown(state);
	dlclose(dl);
	return rc;
}

/* libavro encode + decode of the record: ns per pair. */
static int bench_avro(struct record *rec, unsigned long n)
{
	avro_value_t out;
	char buf[512];
	if (avro_generic_value_new(rec->iface, &out))
		return -1;
	avro_writer_t w = avro_writer_memory(buf, sizeof(buf));
	avro_reader_t rd = avro_reader_memory(buf, sizeof(buf));
	int rc = 0;
	double t0 = 0;
	for (unsigned long i = 0; i < n + n / 10 && !rc; i++) {
		if (i == n / 10)
			t0 = bu_now();
		avro_writer_reset(w);
		rc = avro_value_write(w, &rec->value);
		avro_reader_memory_set_source(rd, buf, avro_writer_tell(w));
		if (!rc)
			rc = avro_value_read(rd, &out);
	}
	double dt = bu_now() - t0;
	if (rc || !avro_value_equal(&rec->value, &out)) {
		fprintf(stderr, "bench_inproc: avro round trip: %s\n", avro_strerror());
		rc = -1;
	} else {
		bu_emit("avro_encode_decode_ns", dt / (double)n * 1e9);
	}
	avro_reader_free(rd);
	avro_writer_free(w);
	avro_value_decref(&out);
	return rc;
}

static void count_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	++*(unsigned long *)arg;
}

/* One loop iteration that runs one active event: ns. */
static int bench_loop_iter(unsigned long n)
{
	unsigned long fired = 0;
	struct event_base *base = event_base_new();
	struct event *ev = base ? event_new(base, -1, 0, count_cb, &fired) : NULL;
	if (!ev) {
		if (base)
			event_base_free(base);
		return -1;
	}
	double t0 = bu_now();
	for (unsigned long i = 0; i < n; i++) {
		event_active(ev, EV_WRITE, 0);
		event_base_loop(base, EVLOOP_ONCE);
	}
	bu_emit("libevent_loop_iter_ns", (bu_now() - t0) / (double)n * 1e9);
	event_free(ev);
	event_base_free(base);
	return fired == n ? 0 : -1;
}

/* One system call that does nothing (getppid): what crossing into the kernel
 * costs on this machine, the unit of epoll_wait's price. */
static void bench_syscall(unsigned long n)
{
	double t0 = bu_now();
	for (unsigned long i = 0; i < n; i++)
		syscall(SYS_getppid);
	bu_emit("syscall_ns", (bu_now() - t0) / (double)n * 1e9);
}

/* ---- handshake --------------------------------------------------------- */

static void hs_echo(void *ctx, orbit_lender *p, const orbit_conn_info *conn,
		    const orbit_payload *in)
{
	(void)ctx;
	orbit_lender_reply(p, conn->remote_id, conn->operation, in);
}

/* Core start → compliant with n plugin orbiters: ms, or < 0. */
static double handshake_ms(size_t n)
{
	struct rig r;
	double ms = -1;
	orbit_lender **ps = calloc(n, sizeof(*ps));
	if (!ps || rig_init(&r))
		goto out;
	for (size_t i = 0; i < n; i++) {
		char id[32];
		snprintf(id, sizeof(id), "p%zu", i);
		orbit_lent_op op = {.name = "echo", .input = r.str, .output = r.str,
				      .policy = {.maximum = ORBIT_UNLIMITED}, .handler = hs_echo};
		if (!(ps[i] = orbit_lender_new(r.bus, id, NULL, NULL)) ||
		    orbit_lender_add_operation(ps[i], &op) || orbit_lender_start(ps[i]))
			goto out;
	}
	if (!(r.core = orbit_core_new(r.bus, "core", NULL, NULL)))
		goto out;
	orbit_requirement q = {.operation = "echo", .minimum = (int)n, .maximum = (int)n,
			       .inputs = &r.str, .n_inputs = 1, .outputs = &r.str,
			       .n_outputs = 1};
	if (orbit_core_require(r.core, &q))
		goto out;
	double t0 = bu_now(), deadline = t0 + 30;
	if (orbit_core_start(r.core))
		goto out;
	while (!orbit_core_compliant(r.core) && bu_now() < deadline)
		event_base_loop(r.base, EVLOOP_ONCE);
	if (orbit_core_compliant(r.core))
		ms = (bu_now() - t0) * 1e3;
out:
	rig_clear(&r);
	for (size_t i = 0; ps && i < n; i++)
		orbit_lender_free(ps[i]);
	free(ps);
	rig_free_bus(&r);
	return ms;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bench_inproc PLUGIN_SO [ROUNDTRIPS]\n");
		return 2;
	}
	const char *so = argv[1];
	unsigned long n = argc > 2 ? strtoul(argv[2], NULL, 10) : 200000;
	if (n < 10)
		n = 10;
	olog_set_level(LOG_WARNING);
	int rc = 0;
	struct record rec;
	char text[101];
	memset(text, 'x', 100);
	text[100] = '\0';
	if (record_init(&rec)) {
		record_clear(&rec);
		return 1;
	}
	bu_emit("record_encoded_bytes", (double)rec.len);
	struct payloads pl;
	payloads_init(&pl, text, &rec);
	if (argc > 3) {
		profile_only = argv[3];
		rc = bench_libplugin(&pl, n) ? 1 : 0;
		record_clear(&rec);
		return rc;
	}
	bench_syscall(n);

	static const size_t sizes[] = {1, 100, 1000};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		double ms = handshake_ms(sizes[i]);
		char name[64];
		snprintf(name, sizeof(name), "inproc_handshake_%zu_ms", sizes[i]);
		if (ms < 0) {
			fprintf(stderr, "bench_inproc: handshake with %zu plugins failed\n", sizes[i]);
			rc = 1;
		} else {
			bu_emit(name, ms);
		}
	}
	if (bench_bare(&pl, so, n * 10) || bench_avro(&rec, n) || bench_loop_iter(n) ||
	    bench_libplugin(&pl, n) || bench_host(&pl, so, n))
		rc = 1;
	record_clear(&rec);
	return rc;
}
