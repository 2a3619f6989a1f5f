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
 *  - with "isolated", instead: the same bench/benchplug.so in its own
 *    supervised process (orbitd/plugproc.c, the default isolation:
 *    process), driven by the same core on the same in-process bus here:
 *    sequential and pipelined round trips (string, record); the handshake
 *    of 100 isolated plugins and, as its baseline, of 100 in-process hosts;
 *    the memory of each plugin process (VmRSS, Pss, private) and of this
 *    process, the daemon's stand-in. A process of its own, so the forks
 *    copy a process that ran nothing else. Every plugin process is
 *    stopped and reaped before it exits.
 *
 * usage: bench_inproc PLUGIN_SO [ROUNDTRIPS [seq|piped|isolated|iso-seq|iso-piped]]
 * With seq or piped only that loop runs (string payload, libplugin path),
 * with iso-seq or iso-piped only that isolated loop, for a profiler to look
 * at. Output: "name value" lines (bench_util.h).
 */
#include "bench_record.h"
#include "bench_util.h"

#include "config.h"
#include "host.h"
#include "log.h"
#include "loopq.h"
#include "plugproc.h"
#include "link.h"
#include "workers.h"

#include <orbit/core.h>
#include <orbit/plugin.h>
#include <orbit/lender.h>

#include <avro.h>
#include <dlfcn.h>
#include <errno.h>
#include <event2/event.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
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
		/* The daemon's loop: polling after link frames (link.h);
		 * without links it is event_base_loop(EVLOOP_ONCE). */
		while (r->outputs == before)
			link_loop_once(r->base, LINK_SPIN);
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

/* ---- isolated: benchplug.so in its own process (orbitd/plugproc.c) ------- */

#define ISO_PLUGINS 100

/* A config with no section for the plugin: orbitd_config_isolate and
 * orbitd_config_op_limits give what orbitd gives any plugin by default
 * (isolation: process, 1 GiB address space, 10 s liveness, 60 s handler
 * timeout, 64 calls in flight). */
static const char ISO_YAML[] = "# bench_inproc: orbitd's defaults for every plugin\n"
			       "identifier: bench-core\n";

/* The rig plus what orbitd's loader has for its plugins: the env, the
 * config, the mapped .so, and n plugins, each with a section built by hand
 * (name and identifier, like plugins.NAME.identifier) and either a
 * plugproc (isolated) or a host (in-process). */
struct iso {
	struct rig r;
	struct loopq *q;
	struct workers *w;
	struct host_env env;
	struct orbitd_config *cfg;
	void *dl;
	const orbit_plugin_desc *d;
	size_t n;
	struct ocfg_plugin *pcfg;
	char (*ids)[32];
	struct plugproc **pp;
	orbit_host **h;
};

static int iso_init(struct iso *s, const char *so, size_t n)
{
	char *why = NULL;
	memset(s, 0, sizeof(*s));
	s->n = n;
	if (rig_init(&s->r))
		return -1;
	if (!(s->dl = dlopen(so, RTLD_NOW | RTLD_LOCAL))) {
		fprintf(stderr, "bench_inproc: %s\n", dlerror());
		return -1;
	}
	s->d = dlsym(s->dl, ORBIT_PLUGIN_SYMBOL);
	if (!s->d || host_validate(s->d, &why) ||
	    orbitd_config_load_string(ISO_YAML, "bench-isolated.yaml", NULL, &s->cfg, &why)) {
		fprintf(stderr, "bench_inproc: isolated: %s\n", why ? why : "no descriptor");
		free(why);
		return -1;
	}
	if (!(s->q = loopq_new(s->r.base)) || !(s->w = workers_new(s->q, 1)))
		return -1;
	s->env = (struct host_env){.base = s->r.base, .bus = s->r.bus, .core_id = "core",
				   .loopq = s->q, .workers = s->w};
	orbit_timers_default(&s->env.timers);
	if (!(s->pcfg = calloc(n, sizeof(*s->pcfg))) || !(s->ids = calloc(n, sizeof(*s->ids))) ||
	    !(s->pp = calloc(n, sizeof(*s->pp))) || !(s->h = calloc(n, sizeof(*s->h))))
		return -1;
	for (size_t i = 0; i < n; i++) {
		snprintf(s->ids[i], sizeof(s->ids[i]), "%s-%zu", s->d->name, i);
		s->pcfg[i].name = (char *)s->d->name;
		s->pcfg[i].identifier = n > 1 ? s->ids[i] : NULL;
	}
	return 0;
}

/* Plugin i in its own process, as orbitd's loader starts it. */
static int iso_spawn(struct iso *s, size_t i)
{
	struct plugcfg *config = NULL;
	char *why = NULL;
	if (host_build_config(s->d, s->cfg, &config, &why) < 0 ||
	    !(s->pp[i] = plugproc_new(&s->env, s->d, &s->pcfg[i], config, s->cfg, NULL, NULL,
				      &why))) {
		fprintf(stderr, "bench_inproc: plugproc %zu: %s\n", i, why ? why : "failed");
		free(why);
		return -1;
	}
	return 0;
}

/* Plugin i in this process (orbitd/host.c), as with isolation: none. */
static int iso_host(struct iso *s, size_t i)
{
	struct plugcfg *config = NULL;
	char *why = NULL;
	if (host_build_config(s->d, s->cfg, &config, &why) < 0 ||
	    !(s->h[i] = host_new(&s->env, s->d, &s->pcfg[i], config, &why)) ||
	    host_start(s->h[i], &why)) {
		fprintf(stderr, "bench_inproc: host %zu: %s\n", i, why ? why : "failed");
		free(why);
		return -1;
	}
	return 0;
}

/* Run the loop until every plugproc is RUNNING (READY received: init and
 * start done, its orbiter's subscriptions made on our bus). */
static int iso_wait_running(struct iso *s, double timeout)
{
	double deadline = bu_now() + timeout;
	for (;;) {
		size_t running = 0;
		for (size_t i = 0; i < s->n; i++) {
			if (!s->pp[i])
				continue;
			enum plugproc_state st = plugproc_state(s->pp[i]);
			if (st == PLUGPROC_RUNNING) {
				running++;
			} else if (st != PLUGPROC_STARTING) {
				fprintf(stderr, "bench_inproc: plugproc %zu %s: %s\n", i,
					plugproc_state_name(st),
					plugproc_reason(s->pp[i]) ? plugproc_reason(s->pp[i]) : "");
				return -1;
			}
		}
		if (running == s->n)
			return 0;
		if (bu_now() > deadline) {
			fprintf(stderr, "bench_inproc: %zu of %zu plugprocs running\n", running, s->n);
			return -1;
		}
		event_base_loop(s->r.base, EVLOOP_ONCE);
	}
}

/* Stop every plugin process and reap it (none is left behind), release
 * the hosts, free the rest. */
static void iso_clear(struct iso *s)
{
	for (size_t i = 0; s->pp && i < s->n; i++)
		plugproc_release(s->pp[i], 2.0);
	plugproc_reap_all(5.0);
	for (size_t i = 0; s->h && i < s->n; i++)
		host_release(s->h[i]);
	rig_clear(&s->r);
	if (s->r.base)
		event_base_loop(s->r.base, EVLOOP_NONBLOCK);
	workers_free(s->w);
	loopq_free(s->q);
	rig_free_bus(&s->r);
	orbitd_config_free(s->cfg);
	free(s->pcfg);
	free(s->ids);
	free(s->pp);
	free(s->h);
	if (s->dl)
		dlclose(s->dl);
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return x < y ? -1 : x > y;
}

static long median_long(long *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_long);
	return n ? (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2) : -1;
}

/* Memory of the plugin processes while they run (medians over them, kB):
 * VmRSS counts every page mapped, also those shared copy-on-write with the
 * daemon since the fork; Pss charges a shared page 1/N to each of its N
 * sharers; Private_Clean + Private_Dirty (USS) is what only this process
 * holds: what one more plugin costs. */
static int iso_memory(struct iso *s)
{
	long *rss = calloc(s->n, sizeof(long)), *pss = calloc(s->n, sizeof(long)),
	     *priv = calloc(s->n, sizeof(long));
	int rc = -1;
	if (!rss || !pss || !priv)
		goto out;
	for (size_t i = 0; i < s->n; i++) {
		pid_t pid = plugproc_pid(s->pp[i]);
		long pc = bu_proc_kb(pid, "smaps_rollup", "Private_Clean"),
		     pd = bu_proc_kb(pid, "smaps_rollup", "Private_Dirty");
		rss[i] = bu_proc_status_kb(pid, "VmRSS");
		pss[i] = bu_proc_kb(pid, "smaps_rollup", "Pss");
		if (!pid || rss[i] < 0 || pss[i] < 0 || pc < 0 || pd < 0) {
			fprintf(stderr, "bench_inproc: cannot read the memory of process %d\n",
				(int)pid);
			goto out;
		}
		priv[i] = pc + pd;
	}
	bu_emit("iso_child_rss_kb", (double)median_long(rss, s->n));
	bu_emit("iso_child_pss_kb", (double)median_long(pss, s->n));
	bu_emit("iso_child_private_kb", (double)median_long(priv, s->n));
	rc = 0;
out:
	free(rss);
	free(pss);
	free(priv);
	return rc;
}

/* Handshake of n plugins (isolated or in-process hosts): ms from the first
 * plugproc_new / host_new to the core compliant with a requirement of
 * minimum = maximum = n. The core starts once every plugin is up (all
 * RUNNING), so no figure waits for a Discover interval; *up_ms is that
 * first part. Isolated, the memory of the processes is read once
 * compliant. */
static int iso_handshake(const char *so, size_t n, bool isolated)
{
	struct iso s;
	int rc = -1;
	char name[64];
	const char *tag = isolated ? "iso" : "isohost";
	if (iso_init(&s, so, n))
		goto out;
	event_base_loop(s.r.base, EVLOOP_NONBLOCK);
	size_t heap0 = bu_heap_bytes();
	double t0 = bu_now();
	for (size_t i = 0; i < n; i++)
		if (isolated ? iso_spawn(&s, i) : iso_host(&s, i))
			goto out;
	if (isolated && iso_wait_running(&s, 60))
		goto out;
	double t1 = bu_now();
	if (!(s.r.core = orbit_core_new(s.r.bus, "core", NULL, NULL)))
		goto out;
	orbit_requirement q = {.operation = "echo", .minimum = (int)n, .maximum = (int)n,
			       .inputs = &s.r.str, .n_inputs = 1, .outputs = &s.r.str,
			       .n_outputs = 1};
	if (orbit_core_require(s.r.core, &q) || orbit_core_start(s.r.core))
		goto out;
	double deadline = bu_now() + 60;
	while (!orbit_core_compliant(s.r.core) && bu_now() < deadline)
		event_base_loop(s.r.base, EVLOOP_ONCE);
	if (!orbit_core_compliant(s.r.core)) {
		fprintf(stderr, "bench_inproc: %zu %s plugins: core not compliant\n", n, tag);
		goto out;
	}
	double t2 = bu_now();
	event_base_loop(s.r.base, EVLOOP_NONBLOCK);
	snprintf(name, sizeof(name), "%s_handshake_%zu_ms", tag, n);
	bu_emit(name, (t2 - t0) * 1e3);
	snprintf(name, sizeof(name), "%s_handshake_%zu_up_ms", tag, n);
	bu_emit(name, (t1 - t0) * 1e3);
	/* This process's side of each plugin: heap once compliant (the core's
	 * connections included, the same for both). */
	snprintf(name, sizeof(name), "%s_daemon_heap_per_plugin_bytes", tag);
	bu_emit(name, (double)(bu_heap_bytes() - heap0) / (double)n);
	if (isolated) {
		bu_emit("iso_daemon_rss_kb", (double)bu_proc_status_kb(0, "VmRSS"));
		if (iso_memory(&s))
			goto out;
	}
	rc = 0;
out:
	iso_clear(&s);
	return rc;
}

/* Round trips through benchplug.so in its own process: core execute → our
 * bus → plugproc → link → plugin process (linkbus, host, handler, reply)
 * → link → our bus → sink. Sequential (one at a time, the loop run until
 * the sink fired) and pipelined (batches of PIPELINE_WINDOW). */
static int iso_roundtrips(const struct payloads *pl, const char *so, unsigned long n,
			  const char *only)
{
	struct iso s;
	int rc = -1;
	unsigned long n_seq = n / 20 < 1000 ? 1000 : n / 20;
	double v;
	if (iso_init(&s, so, 1) || iso_spawn(&s, 0) || iso_wait_running(&s, 30) ||
	    rig_core(&s.r, "echo", "echo_rec"))
		goto out;
	struct rig *r = &s.r;
	size_t bytes0 = r->out_bytes;
	unsigned long out0 = r->outputs;
	if (only && strcmp(only, "iso-1cpu") == 0) {
		/* Diagnostic: this process and the plugin process (which
		 * inherited the affinity at the fork) on one CPU. */
		if (seq_ns(r, "echo", &pl->xs, n_seq / 10) < 0 ||
		    (v = seq_ns(r, "echo", &pl->xs, n_seq)) < 0)
			goto out;
		bu_emit("iso_string_seq_1cpu_ns", v);
		rc = 0;
		goto out;
	}
	if (only) {
		rc = (strcmp(only, "iso-seq") == 0 ? seq_ns(r, "echo", &pl->xs, n)
						   : piped_per_s(r, "echo", &pl->xs, n)) < 0
			     ? -1
			     : 0;
		goto out;
	}
	if (seq_ns(r, "echo", &pl->xs, n_seq / 10) < 0 ||
	    seq_ns(r, "echo_rec", &pl->xr, n_seq / 10) < 0 ||
	    piped_per_s(r, "echo", &pl->xs, PIPELINE_WINDOW * 10) < 0)
		goto out;
	if ((v = seq_ns(r, "echo", &pl->xs, n_seq)) < 0)
		goto out;
	bu_emit("iso_string_seq_ns", v);
	if ((v = piped_per_s(r, "echo", &pl->xs, n)) < 0)
		goto out;
	bu_emit("iso_string_piped_per_s", v);
	if ((v = seq_ns(r, "echo_rec", &pl->xr, n_seq)) < 0)
		goto out;
	bu_emit("iso_record_seq_ns", v);
	if ((v = piped_per_s(r, "echo_rec", &pl->xr, n)) < 0)
		goto out;
	bu_emit("iso_record_piped_per_s", v);
	if (r->out_bytes - bytes0 != (r->outputs - out0) * 100) {
		fprintf(stderr, "bench_inproc: isolated: outputs of the wrong size\n");
		goto out;
	}
	if (plugproc_restarts(s.pp[0]) || plugproc_state(s.pp[0]) != PLUGPROC_RUNNING) {
		fprintf(stderr, "bench_inproc: isolated: the plugin process restarted\n");
		goto out;
	}
	rc = 0;
out:
	iso_clear(&s);
	return rc;
}

/* The floor of any round trip between two processes here: a socketpair,
 * a forked echo, 112-byte writes (a DELIVER/PUB frame of the string's size)
 * each way, each side waiting in epoll_wait like a libevent loop, then
 * read(2) and write(2). ns per round trip, or < 0. */
static double ipc_pingpong_ns(unsigned long n)
{
	int sv[2], ep = -1;
	char buf[112];
	double ns = -1;
	memset(buf, 'x', sizeof(buf));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		close(sv[0]);
		int cep = epoll_create1(0);
		struct epoll_event e = {.events = EPOLLIN};
		if (cep < 0 || epoll_ctl(cep, EPOLL_CTL_ADD, sv[1], &e) < 0)
			_exit(1);
		for (;;) {
			struct epoll_event o;
			if (epoll_wait(cep, &o, 1, -1) < 0)
				_exit(1);
			ssize_t k = read(sv[1], buf, sizeof(buf));
			if (k <= 0 || write(sv[1], buf, (size_t)k) != k)
				_exit(0);
		}
	}
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		return -1;
	}
	struct epoll_event e = {.events = EPOLLIN};
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &e) < 0)
		goto out;
	double t0 = 0;
	for (unsigned long i = 0; i < n + n / 10; i++) {
		if (i == n / 10)
			t0 = bu_now();
		size_t got = 0;
		struct epoll_event o;
		if (write(sv[0], buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			goto out;
		while (got < sizeof(buf)) {
			if (epoll_wait(ep, &o, 1, 5000) != 1)
				goto out;
			ssize_t k = read(sv[0], buf + got, sizeof(buf) - got);
			if (k <= 0)
				goto out;
			got += (size_t)k;
		}
	}
	ns = (bu_now() - t0) / (double)n * 1e9;
out:
	if (ep >= 0)
		close(ep);
	close(sv[0]);
	waitpid(pid, NULL, 0);
	return ns;
}

/* The same two processes never sleeping: each spins on a non-blocking
 * recv(2) until the 112 bytes are in, then writes them back. What the
 * kernel's copy through the socket costs without any wake-up. ns per round
 * trip, or < 0. */
static int spin_read(int fd, char *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t k = recv(fd, buf + got, len - got, MSG_DONTWAIT);
		if (k > 0)
			got += (size_t)k;
		else if (k == 0 || (errno != EAGAIN && errno != EINTR))
			return -1;
	}
	return 0;
}

static double ipc_spin_ns(unsigned long n)
{
	int sv[2];
	char buf[112];
	double ns = -1;
	memset(buf, 'x', sizeof(buf));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		close(sv[0]);
		while (spin_read(sv[1], buf, sizeof(buf)) == 0)
			if (write(sv[1], buf, sizeof(buf)) != (ssize_t)sizeof(buf))
				break;
		_exit(0);
	}
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		return -1;
	}
	double t0 = 0;
	for (unsigned long i = 0; i < n + n / 10; i++) {
		if (i == n / 10)
			t0 = bu_now();
		if (write(sv[0], buf, sizeof(buf)) != (ssize_t)sizeof(buf) ||
		    spin_read(sv[0], buf, sizeof(buf)))
			goto out;
	}
	ns = (bu_now() - t0) / (double)n * 1e9;
out:
	close(sv[0]);
	waitpid(pid, NULL, 0);
	return ns;
}

/* Run f with this process (and what it forks) on one CPU; the affinity is
 * put back afterwards. */
static int on_one_cpu(int (*f)(void *), void *arg)
{
	cpu_set_t was, one;
	if (sched_getaffinity(0, sizeof(was), &was) < 0)
		return -1;
	CPU_ZERO(&one);
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &was)) {
			CPU_SET(c, &one);
			break;
		}
	if (sched_setaffinity(0, sizeof(one), &one) < 0)
		return -1;
	int rc = f(arg);
	sched_setaffinity(0, sizeof(was), &was);
	return rc;
}

struct iso_args {
	const struct payloads *pl;
	const char *so;
	unsigned long n;
};

static int pingpong_1cpu(void *arg)
{
	double ns = ipc_pingpong_ns(((struct iso_args *)arg)->n);
	if (ns < 0)
		return -1;
	bu_emit("ipc_pingpong_1cpu_ns", ns);
	return 0;
}

static int iso_1cpu(void *arg)
{
	struct iso_args *a = arg;
	return iso_roundtrips(a->pl, a->so, a->n, "iso-1cpu");
}

/* The isolated figures, one process per invocation (forks are taken from a
 * process that ran nothing else yet, like a daemon that just loaded). */
static int bench_isolated(const struct payloads *pl, const char *so, unsigned long n)
{
	int rc = 0;
	if (iso_handshake(so, ISO_PLUGINS, true) || iso_handshake(so, ISO_PLUGINS, false))
		rc = -1;
	if (iso_roundtrips(pl, so, n, NULL))
		rc = -1;
	unsigned long n_ipc = n / 20 < 1000 ? 1000 : n / 20;
	double ns = ipc_pingpong_ns(n_ipc);
	if (ns < 0)
		rc = -1;
	else
		bu_emit("ipc_pingpong_ns", ns);
	if ((ns = ipc_spin_ns(n_ipc)) < 0)
		rc = -1;
	else
		bu_emit("ipc_spin_ns", ns);
	struct iso_args a = {pl, so, n};
	if (on_one_cpu(pingpong_1cpu, &a) || on_one_cpu(iso_1cpu, &a))
		rc = -1;
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
	if (argc > 3 && strcmp(argv[3], "isolated") == 0) {
		rc = bench_isolated(&pl, so, n) ? 1 : 0;
		record_clear(&rec);
		return rc;
	}
	if (argc > 3 && strncmp(argv[3], "iso-", 4) == 0) {
		rc = iso_roundtrips(&pl, so, n, argv[3]) ? 1 : 0;
		record_clear(&rec);
		return rc;
	}
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
