/* host.c — the host side of the plugin ABI: validation of a descriptor, the
 * plugin orbiter built from its operation table, and the orbit_host_api
 * functions. See host.h for ownership.
 *
 * Calls: a non-blocking handler runs inline on the loop with the bus's
 * borrowed payload and its reply is published at once (no copy). A blocking
 * handler gets a heap call with copies of everything, runs on a worker, and
 * its reply (copied there) is published when the job comes back to the loop.
 *
 * Lifecycle of a host (what plugin.h promises the plugin):
 *   live      everything works;
 *   released  host_release() ran (daemon stop, removal, upgrade, disable, or
 *             a failed init/start): the orbiters are stopped, timers and
 *             watches silenced; post() returns -ESHUTDOWN, timer_add() and
 *             watch() give NULL with errno ESHUTDOWN, emit()/send() return
 *             -ESHUTDOWN; posts still queued are dropped unrun (and freed)
 *             when the loop reaches them; blocking calls still on the
 *             workers come back and their replies are dropped;
 *   finalized once no blocking call is in flight: the shutdown hook runs
 *             (still "released" for everything it calls), then what is left
 *             of its timers and watches is cancelled and the host's
 *             resources are freed. What stays is a tombstone (below).
 *
 * Why a tombstone and not a reference count that frees the struct: the
 * plugin holds the orbit_host pointer, and a thread of its own may call
 * post() or log() at any moment, also after shutdown() returned (it cannot
 * know exactly when that happens). No count can cover a pointer the host
 * never sees being dropped, so the struct itself is never freed once the
 * plugin's init has seen it: it keeps the lock, the released flag and the
 * descriptor (static data of a .so that is never dlclose'd), which is all
 * post() and log() read. A tombstone is one small struct per plugin lifetime
 * (loads, upgrades); they stay reachable from a list for leak checkers.
 * In-flight blocking calls do use a count (inflight, loop thread only): they
 * point into the host's operations, which finalize frees.
 *
 * Run limits (per operation, config.h's ocfg_policy): a call is in flight
 * from its admission to its end (a loop-thread handler while it runs; a
 * blocking one from its queueing until blocking_done). Past max_inflight an
 * input is dropped before anything is copied, counted, and reported at most
 * once a second per operation — nothing is queued without bound, whoever
 * sends. A blocking handler running past its timeout is logged once (an
 * in-process handler cannot be stopped); one timer per host, armed only
 * while blocking calls are in flight, checks them and reports the tail of
 * a burst of drops.
 *
 * Stats (orbit/stats.h): each call's handler time goes into the plugin
 * orbiter's latency histogram of its operation, and a failing handler, a
 * drop or an overrun timeout is counted as an error of the connection it
 * came on. Both are loop-thread state of the orbiter: a blocking call's
 * handler is timed on its worker (started/ended) and recorded when the
 * call comes back to the loop (blocking_done). A loop-thread handler is
 * timed on its first LATENCY_EXACT_CALLS calls, then on one call in
 * LATENCY_SAMPLE_EVERY, that sample standing for the calls not timed since
 * the last one (orbit_histogram_add_n): two clock reads cost about 40 ns, a
 * tenth of an in-process round trip, and the budget for stats is 5 %. The
 * histogram's count then trails the calls by less than LATENCY_SAMPLE_EVERY;
 * inputs_total stays exact.
 *
 * At exit a blocking call may be abandoned on its worker (workers_stop): its
 * blocking_done never runs, so the host is never finalized and everything
 * the handler can reach (the call, the host, its operations and state)
 * stays allocated while the process exits.
 */
#include "host.h"
#include "calltag.h"
#include "plugcfg.h"
#include "strfmt.h"
#include "log.h"
#include "loopq.h"
#include "ratelimit.h"
#include "workers.h"

#include <orbit/builtin.h>
#include <orbit/payload_json.h>
#include <orbit/stats.h>

#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct op_rt {
	const orbit_plugin_op *op;
	orbit_spec in, out;
	struct orbit_host *h;
	/* run limits in force and their counters; loop thread only */
	double timeout;          /* OCFG_NEVER: none */
	unsigned max_inflight;
	size_t inflight;         /* admitted and not ended */
	uint64_t dropped;        /* at max_inflight, since load */
	struct ratelimit drop_rl;
	/* handler times, per instance (0: in-process bus, 1: exported); the
	 * orbiter keeps them while it lives; looked up on first use */
	orbit_histogram *latency[2];
	uint64_t timed_calls;    /* calls timed so far */
	uint64_t untimed[2];     /* per instance: calls since its last timed one */
};

/* See the top of this file: exact at first, then sampled. */
#define LATENCY_EXACT_CALLS 1024
#define LATENCY_SAMPLE_EVERY 16

struct orbit_host_timer {
	struct orbit_host_timer *prev, *next;
	struct event *ev;
	struct orbit_host *h;
	void (*fn)(void *arg);
	void *arg;
	double every;
};

struct orbit_host_watch {
	struct orbit_host_watch *prev, *next;
	struct event *ev;
	void (*fn)(void *arg, int fd, unsigned events);
	void *arg;
};

struct orbit_host {
	const struct host_env *env;
	const orbit_plugin_desc *d;
	orbit_lender *orb;
	orbit_lender *orb_remote; /* exported: the same operations on MQTT */
	void *state;
	struct plugcfg *cfg;  /* what the config_* accessors answer */
	char **misused;       /* config paths whose misuse was logged already */
	size_t n_misused;
	struct op_rt *ops;
	size_t n_ops;
	struct orbit_host_timer *timers;
	struct orbit_host_watch *watches;
	size_t inflight;  /* blocking calls on the workers; loop thread only */
	struct call *calls; /* those calls (loop thread only) */
	struct call *current; /* the loop-thread handler running now, or NULL */
	struct event *tick; /* overdue handlers, drop reports; armed while inflight */
	/* Guards released against post() from any thread. Written only on the
	 * loop thread (under the lock), so the loop thread reads it without. */
	pthread_mutex_t lock;
	bool released;
	bool init_called; /* the plugin has seen the pointer: keep a tombstone */
	bool inited, finalized;
	struct orbit_host *next_tomb;
};

/* Finalized hosts the plugin code may still hold (see the top of the
 * file). Loop thread only. */
static struct orbit_host *tombs;

struct call {
	struct orbit_call pub; /* first: the ABI's orbit_call * is a struct call * */
	struct op_rt *op;
	struct call *prev, *next; /* blocking: the host's calls */
	_Atomic double started;   /* blocking: when its handler began (0: not yet) */
	_Atomic double ended;     /* blocking: when it returned */
	bool overdue_logged;      /* blocking, loop thread */
	orbit_lender *orb;     /* the instance (bus) the input came on */
	bool blocking;
	bool replied;
	int rc;
	/* correlation (calltag.h): the daemon's id of this call (0: none), the
	 * caller's output topic (NULL: it wants none; borrowed while inline,
	 * owned when blocking) and the outputs sent to it for the call */
	uint64_t tag;
	const char *out_topic;
	unsigned outputs;
	char *in_text;         /* input_string's NUL-terminated copy, freed with the call */
	/* blocking calls only: owned copies */
	char *core_id;
	char *out_topic_copy;
	uint8_t *in_data;
	char *in_type;
	uint8_t *out_data;
	char *out_type;
	orbit_payload out;
};

static const orbit_host_api api;

/* ---- validation ------------------------------------------------------- */


static bool name_ok(const char *s)
{
	if (!s || !*s || strlen(s) > 128)
		return false;
	for (const char *c = s; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '_' || *c == '-' || *c == '.'))
			return false;
	return true;
}

static int io_spec(const orbit_io *io, orbit_spec *s, char **why)
{
	switch (io->kind) {
	case ORBIT_IO_NONE:
	case ORBIT_IO_EMPTY:
	case ORBIT_IO_STRING:
	case ORBIT_IO_INT32:
	case ORBIT_IO_INT64:
	case ORBIT_IO_FLOAT32:
	case ORBIT_IO_FLOAT64:
		return orbit_spec_init_kind(s, (orbit_kind)io->kind);
	case ORBIT_IO_SCHEMA: {
		char *e = NULL;
		if (!io->schema) {
			*why = strfmt("schema kind without a schema");
			return -EINVAL;
		}
		if (orbit_avro_schema_check(io->schema, &e) < 0) {
			*why = strfmt("invalid schema: %s", e ? e : "not an Avro schema");
			free(e);
			return -EINVAL;
		}
		return orbit_spec_init_schema(s, io->schema);
	}
	case ORBIT_IO_ANY:
		return orbit_spec_init(s, NULL, 0, false, true);
	}
	*why = strfmt("unknown payload kind %d", (int)io->kind);
	return -EINVAL;
}

int host_validate(const orbit_plugin_desc *d, char **why)
{
	*why = NULL;
	/* The head first: magic, major and minor sit at the same offsets in
	 * every ABI, and nothing past them may be read before the major says
	 * the layout is ours and the size says the plugin's struct has it. */
	if (d->magic != ORBIT_PLUGIN_MAGIC)
		*why = strfmt("bad magic 0x%016llx", (unsigned long long)d->magic);
	else if (d->abi_major == 1)
		*why = strfmt("built for plugin ABI 1; this orbitd speaks ABI %d: rebuild it "
			      "against orbit/plugin.h of orbitd >= 0.2",
			      ORBIT_PLUGIN_ABI_MAJOR);
	else if (d->abi_major != ORBIT_PLUGIN_ABI_MAJOR)
		*why = strfmt("built for plugin ABI %u.%u; this orbitd speaks ABI %d: rebuild it "
			      "against this orbitd's orbit/plugin.h",
			      d->abi_major, d->abi_minor, ORBIT_PLUGIN_ABI_MAJOR);
	else if (d->min_host_minor > ORBIT_PLUGIN_ABI_MINOR)
		*why = strfmt("needs plugin ABI %d.%u, this orbitd has %d.%d",
			      ORBIT_PLUGIN_ABI_MAJOR, d->min_host_minor, ORBIT_PLUGIN_ABI_MAJOR,
			      ORBIT_PLUGIN_ABI_MINOR);
	else if (d->size < sizeof(orbit_plugin_desc))
		*why = strfmt("descriptor of %u bytes, expected at least %zu", d->size,
			       sizeof(orbit_plugin_desc));
	else if (d->op_size < sizeof(orbit_plugin_op))
		*why = strfmt("operation entries of %u bytes, expected at least %zu", d->op_size,
			       sizeof(orbit_plugin_op));
	else if (!name_ok(d->name))
		*why = strfmt("missing or invalid name (want [A-Za-z0-9_.-]{1,128})");
	else if (d->n_ops > 0 && !d->ops)
		*why = strfmt("operation table missing");
	if (*why)
		return -EINVAL;
	for (size_t i = 0; i < d->n_ops; i++) {
		/* Step by the plugin's entry size: a newer minor may append fields. */
		const orbit_plugin_op *op =
			(const orbit_plugin_op *)((const char *)d->ops + i * d->op_size);
		if (!op->name || !*op->name) {
			*why = strfmt("operation %zu has no name", i);
			return -EINVAL;
		}
		for (size_t j = 0; j < i; j++) {
			const orbit_plugin_op *o2 =
				(const orbit_plugin_op *)((const char *)d->ops + j * d->op_size);
			if (strcmp(o2->name, op->name) == 0) {
				*why = strfmt("duplicate operation '%s'", op->name);
				return -EINVAL;
			}
		}
		orbit_spec s = {0};
		char *e = NULL;
		if (io_spec(&op->input, &s, &e) < 0) {
			*why = strfmt("operation '%s' input: %s", op->name, e ? e : "invalid");
			free(e);
			return -EINVAL;
		}
		orbit_spec_clear(&s);
		if (io_spec(&op->output, &s, &e) < 0) {
			*why = strfmt("operation '%s' output: %s", op->name, e ? e : "invalid");
			free(e);
			return -EINVAL;
		}
		orbit_spec_clear(&s);
		if (op->input.kind != ORBIT_IO_NONE && !op->handler) {
			*why = strfmt("operation '%s' takes input but has no handler", op->name);
			return -EINVAL;
		}
		if (op->policy.allowlist && op->policy.blocklist) {
			*why = strfmt("operation '%s' policy has both an allowlist and a blocklist",
				       op->name);
			return -EINVAL;
		}
		if (op->policy.maximum < ORBIT_UNLIMITED) {
			*why = strfmt("operation '%s' policy maximum %d", op->name,
				       op->policy.maximum);
			return -EINVAL;
		}
		if (op->flags & ~(unsigned)ORBIT_OP_BLOCKING) {
			*why = strfmt("operation '%s' has unknown flags 0x%x", op->name, op->flags);
			return -EINVAL;
		}
	}
	/* Reserved members are not checked: a plugin built against a newer
	 * minor may use them (the ABI's rule is "older hosts ignore them"), so
	 * non-zero reserved room is no defect an older host could name. */
	char *e = NULL;
	if (plugcfg_check_map(d->config, d->cfg_key_size, &e) < 0) {
		*why = strfmt("config map: %s", e ? e : "invalid");
		free(e);
		return -EINVAL;
	}
	return 0;
}

/* ---- calls ------------------------------------------------------------ */

static void call_done(struct orbit_host *h);

/* An output of call c goes to its caller now (send() does not say so: it
 * is told the core, not the call): tag it, so the daemon knows which call
 * it answers. Loop thread. */
static void tag_output(struct orbit_host *h, struct call *c, const orbit_payload *out)
{
	if (c->tag && c->out_topic)
		calltag_output(c->tag, c->out_topic, out, h);
}

static int publish_reply(struct orbit_host *h, struct call *c, const orbit_payload *out)
{
	tag_output(h, c, out);
	int rc = orbit_lender_reply(c->orb, c->pub.core_id, c->pub.operation, out);
	if (rc == 0 && c->out_topic)
		c->outputs++;
	else if (c->out_topic)
		calltag_unsent(c->tag, c->out_topic);
	/* A core that wants no output (or left meanwhile) is not an error. */
	if (rc == -ENOTSUP || rc == -ENOENT)
		return 0;
	if (rc < 0)
		olog(LOG_WARNING, "plugin %s: reply to %s for %s failed: %s", h->d->name,
		     c->pub.core_id, c->pub.operation, strerror(-rc));
	return rc;
}

static int api_reply(orbit_call *pub, const orbit_payload *out)
{
	struct call *c = (struct call *)pub;
	if (!out || (out->format != ORBIT_FMT_NONE && !out->data && out->len))
		return -EINVAL;
	if (c->replied)
		return -EALREADY;
	c->replied = true;
	if (!c->blocking)
		return publish_reply(c->op->h, c, out);
	/* On a worker: keep a copy for the loop to publish. */
	c->out = *out;
	if (out->len) {
		if (!(c->out_data = malloc(out->len)))
			goto nomem;
		memcpy(c->out_data, out->data, out->len);
	}
	c->out.data = c->out_data;
	if (out->message_type && !(c->out_type = strdup(out->message_type)))
		goto nomem;
	c->out.message_type = c->out_type;
	return 0;
nomem:
	free(c->out_data);
	c->out_data = NULL;
	c->replied = false;
	return -ENOMEM;
}

static void log_handler_error(struct orbit_host *h, const struct call *c, int rc)
{
	olog(LOG_WARNING, "plugin %s: operation %s for %s failed: %s", h->d->name,
	     c->pub.operation, c->pub.core_id, strerror(rc < 0 ? -rc : rc));
}

/* Count an error of op on the connection to core_id of instance orb in
 * its orbiter's stats (dropped: the input was discarded). */
static void record_error(orbit_lender *orb, const char *core_id, const struct op_rt *op,
			 bool dropped, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void record_error(orbit_lender *orb, const char *core_id, const struct op_rt *op,
			 bool dropped, const char *fmt, ...)
{
	char text[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	orbit_orbiter_record_error(orbit_lender_orbiter(orb), core_id, op->op->name, dropped, text);
}

/* Whether this loop-thread call of op is one to time (see the top). */
static bool latency_sampled(struct op_rt *op, orbit_lender *orb)
{
	int i = orb == op->h->orb_remote;
	return op->timed_calls < LATENCY_EXACT_CALLS || op->untimed[i] + 1 >= LATENCY_SAMPLE_EVERY;
}

/* One handler call of op on instance orb that returned rc; seconds < 0: it
 * was not timed (counted, for the next sample to stand for). A time goes into
 * the histogram, a failure is counted as an error. Loop thread. */
static void record_call(struct op_rt *op, orbit_lender *orb, const char *core_id,
			double seconds, int rc)
{
	int i = orb == op->h->orb_remote;
	if (seconds < 0) {
		op->untimed[i]++;
	} else {
		if (!op->latency[i])
			op->latency[i] =
				orbit_orbiter_latency(orbit_lender_orbiter(orb), op->op->name);
		if (op->latency[i])
			orbit_histogram_add_n(op->latency[i], seconds, 1 + op->untimed[i]);
		op->untimed[i] = 0;
		op->timed_calls++;
	}
	if (rc < 0)
		record_error(orb, core_id, op, false, "handler failed: %s", strerror(-rc));
}

static void call_free(struct call *c)
{
	free(c->in_text);
	free(c->core_id);
	free(c->out_topic_copy);
	free(c->in_data);
	free(c->in_type);
	free(c->out_data);
	free(c->out_type);
	free(c);
}

/* On a worker. Nothing the daemon owns is read once the handler returned:
 * at exit the call may be abandoned and the daemon freed meanwhile. */
static void blocking_work(void *arg)
{
	struct call *c = arg;
	struct orbit_host *h = c->op->h;
	void (*end)(void *ctx) = h->env->call_end;
	void *ctx = h->env->call_hook_ctx;
	atomic_store(&c->started, ratelimit_now());
	if (h->env->call_begin)
		h->env->call_begin(ctx, (size_t)(c->op - h->ops));
	int rc = c->op->op->handler(h->state, &c->pub);
	atomic_store(&c->ended, ratelimit_now());
	if (end)
		end(ctx);
	c->rc = rc;
}

static void call_link(struct orbit_host *h, struct call *c)
{
	c->next = h->calls;
	if (h->calls)
		h->calls->prev = c;
	h->calls = c;
}

static void call_unlink(struct orbit_host *h, struct call *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		h->calls = c->next;
	if (c->next)
		c->next->prev = c->prev;
}

/* Loop thread; also for a job the workers never started (stopping). */
static void blocking_done(void *arg)
{
	struct call *c = arg;
	struct orbit_host *h = c->op->h;
	bool ran = atomic_load(&c->started) > 0;
	if (ran)
		record_call(c->op, c->orb, c->pub.core_id,
			    atomic_load(&c->ended) - atomic_load(&c->started), c->rc);
	if (ran && c->rc < 0)
		log_handler_error(h, c, c->rc);
	else if (c->replied && !h->released)
		publish_reply(h, c, &c->out);
	if (ran && h->env->on_call_done)
		h->env->on_call_done(h->env->on_call_done_ctx, c->pub.operation, c->rc,
				     c->replied);
	calltag_done(c->tag, c->outputs, h);
	c->op->inflight--;
	call_unlink(h, c);
	call_free(c);
	call_done(h);
}

/* Count a dropped input; one line per operation and second at most. */
static void drop_input(struct op_rt *op, orbit_lender *orb, const char *core_id)
{
	uint64_t n;
	op->dropped++;
	record_error(orb, core_id, op, true, "input dropped at max_inflight %u", op->max_inflight);
	if (ratelimit_hit(&op->drop_rl, ratelimit_now(), &n))
		olog(LOG_WARNING,
		     "plugin %s: operation %s: %" PRIu64 " input%s dropped at max_inflight %u "
		     "(the core must wait for results)",
		     op->h->d->name, op->op->name, n, n == 1 ? "" : "s", op->max_inflight);
}

/* How often the tick runs: a second, or more often for a shorter timeout. */
static double tick_period(const struct orbit_host *h)
{
	double p = 1.0;
	for (size_t i = 0; i < h->n_ops; i++)
		if (h->ops[i].timeout > 0 && h->ops[i].timeout / 2 < p)
			p = h->ops[i].timeout / 2;
	return p < 0.01 ? 0.01 : p;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct orbit_host *h = arg;
	(void)fd;
	(void)what;
	double now = ratelimit_now();
	for (struct call *c = h->calls; c; c = c->next) {
		double started = atomic_load(&c->started);
		double limit = c->op->timeout;
		if (c->overdue_logged || started <= 0 || limit <= 0 || now - started <= limit)
			continue;
		c->overdue_logged = true;
		record_error(c->orb, c->pub.core_id, c->op, false,
			     "handler still running past its timeout of %g s", limit);
		olog(LOG_WARNING,
		     "plugin %s: handler of %s has run for %.0f s, past its timeout of %g s; "
		     "an in-process plugin cannot be stopped — isolation: process would "
		     "restart it",
		     h->d->name, c->op->op->name, now - started, limit);
	}
	for (size_t i = 0; i < h->n_ops; i++) {
		struct op_rt *op = &h->ops[i];
		uint64_t n;
		if (ratelimit_flush(&op->drop_rl, now, &n))
			olog(LOG_WARNING,
			     "plugin %s: operation %s: %" PRIu64 " input%s dropped at max_inflight "
			     "%u (the core must wait for results)",
			     h->d->name, op->op->name, n, n == 1 ? "" : "s", op->max_inflight);
	}
}

/* The first blocking call in flight arms the tick (made on first use). */
static void tick_arm(struct orbit_host *h)
{
	if (!h->tick && !(h->tick = event_new(h->env->base, -1, EV_PERSIST, on_tick, h)))
		return; /* no overdue warnings then; the calls still run */
	double p = tick_period(h);
	struct timeval tv = {(time_t)p, (suseconds_t)((p - (double)(time_t)p) * 1e6)};
	event_add(h->tick, &tv);
}

static void run_blocking(struct op_rt *op, orbit_lender *orb, const orbit_conn_info *conn,
			 const orbit_payload *in, uint64_t tag)
{
	struct orbit_host *h = op->h;
	struct call *c = calloc(1, sizeof *c);
	if (!c)
		goto nomem;
	c->op = op;
	c->orb = orb;
	c->blocking = true;
	if (!(c->core_id = strdup(conn->remote_id)) ||
	    (conn->output_topic && !(c->out_topic_copy = strdup(conn->output_topic))))
		goto nomem;
	c->tag = tag;
	c->out_topic = c->out_topic_copy;
	if (in->len && !(c->in_data = malloc(in->len)))
		goto nomem;
	if (in->len)
		memcpy(c->in_data, in->data, in->len);
	if (in->message_type && !(c->in_type = strdup(in->message_type)))
		goto nomem;
	c->pub.core_id = c->core_id;
	c->pub.operation = op->op->name; /* static in the .so */
	c->pub.input = (orbit_payload){c->in_data, in->len, in->format, c->in_type};
	c->pub.api = &api;
	c->pub.host = h;
	int rc = workers_submit(h->env->workers, blocking_work, blocking_done, c);
	if (rc < 0) {
		olog(LOG_WARNING, "plugin %s: cannot queue %s: %s", h->d->name, op->op->name,
		     strerror(-rc));
		call_free(c);
		calltag_done(tag, 0, h);
		return;
	}
	op->inflight++;
	call_link(h, c);
	if (h->inflight++ == 0)
		tick_arm(h);
	return;
nomem:
	olog(LOG_WARNING, "plugin %s: out of memory for an input of %s", h->d->name,
	     op->op->name);
	if (c)
		call_free(c);
	calltag_done(tag, 0, h);
}

static void on_input(void *ctx, orbit_lender *p, const orbit_conn_info *conn,
		     const orbit_payload *in)
{
	struct op_rt *op = ctx;
	/* The daemon's call this input is, if it tagged it (a dropped input
	 * ends its call at once, with no output). */
	uint64_t tag = calltag_take(conn->input_topic, in, op->h);
	/* Admission first, before anything is copied or decoded. */
	if (op->inflight >= op->max_inflight) {
		drop_input(op, p, conn->remote_id);
		calltag_done(tag, 0, op->h);
		return;
	}
	/* Python may send a StringMessage as utf-8, JSON or Avro (SPEC §1.3);
	 * string handlers always see the utf-8 text, so no plugin carries its
	 * own JSON and Avro decoders. */
	orbit_payload text;
	orbit_value v = {0};
	if (op->op->input.kind == ORBIT_IO_STRING && in->format != ORBIT_FMT_UTF8 &&
	    in->format != ORBIT_FMT_NONE) {
		if (orbit_value_decode(in, &v) < 0 || v.kind != ORBIT_KIND_STRING) {
			olog(LOG_WARNING, "plugin %s: input of %s from %s is not a string (%s); dropped",
			     op->h->d->name, op->op->name, conn->remote_id,
			     in->message_type ? in->message_type : "no message type");
			orbit_value_clear(&v);
			record_error(p, conn->remote_id, op, true, "input is not a string");
			calltag_done(tag, 0, op->h);
			return;
		}
		text = (orbit_payload){(const uint8_t *)v.str, v.str_len, ORBIT_FMT_UTF8,
				       "StringMessage"};
		in = &text;
	}
	if (op->op->flags & ORBIT_OP_BLOCKING) {
		run_blocking(op, p, conn, in, tag);
		orbit_value_clear(&v);
		return;
	}
	struct call c = {
		.pub = {.core_id = conn->remote_id,
			.operation = op->op->name,
			.input = *in,
			.api = &api,
			.host = op->h},
		.op = op,
		.orb = p,
		.tag = tag,
		.out_topic = conn->output_topic,
	};
	const struct host_env *env = op->h->env;
	struct call *outer = op->h->current; /* a handler's send may run another */
	op->inflight++;
	op->h->current = &c;
	if (env->call_begin)
		env->call_begin(env->call_hook_ctx, (size_t)(op - op->h->ops));
	bool timed = latency_sampled(op, p);
	double t0 = timed ? ratelimit_now() : 0;
	int rc = op->op->handler(op->h->state, &c.pub);
	double took = timed ? ratelimit_now() - t0 : -1;
	if (env->call_end)
		env->call_end(env->call_hook_ctx);
	op->h->current = outer;
	op->inflight--;
	record_call(op, p, conn->remote_id, took, rc);
	calltag_done(tag, c.outputs, op->h);
	if (rc < 0)
		log_handler_error(op->h, &c, rc);
	free(c.in_text);
	if (op->h->env->on_call_done)
		op->h->env->on_call_done(op->h->env->on_call_done_ctx, c.pub.operation, rc,
					 c.replied);
	orbit_value_clear(&v);
}

/* ---- the API table ---------------------------------------------------- */

static void api_log(orbit_host *h, int level, const char *fmt, ...)
{
	if (level < LOG_ERR)
		level = LOG_ERR;
	if (level > LOG_DEBUG)
		level = LOG_DEBUG;
	if (level > olog_get_level())
		return;
	char msg[OLOG_LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/* Each of the plugin's call sites is a kind of its own. */
	olog_kind(fmt, level, "plugin %s: %s", h->d->name, msg);
}

/* A config read the map does not back: the plugin's bug, logged once per
 * path so a timer reading it every second does not flood the log. */
static void config_misuse(struct orbit_host *h, const char *path, const char *as)
{
	for (size_t i = 0; i < h->n_misused; i++)
		if (strcmp(h->misused[i], path) == 0)
			return;
	olog(LOG_ERR, "plugin %s: reads config key '%s' as %s, which its config map does not "
	     "declare (answered with nothing)", h->d->name, path, as);
	char **v = realloc(h->misused, (h->n_misused + 1) * sizeof *v);
	if (!v)
		return;
	h->misused = v;
	if ((v[h->n_misused] = strdup(path)))
		h->n_misused++;
}

/* Each accessor: the plugcfg getter, and the misuse logged. A NULL path is
 * a misuse too (it names no key). A finalized host (a tombstone, see the
 * top) has no config left: nothing, and nothing to log. */
#define CONFIG_GETTER(type_, name_, as_, zero_)                                   \
	static type_ api_config_##name_(orbit_host *h, const char *path)          \
	{                                                                         \
		bool misuse = false;                                              \
		if (!h->cfg)                                                      \
			return zero_;                                             \
		type_ v = path ? plugcfg_##name_(h->cfg, path, &misuse) : zero_; \
		if (misuse || !path)                                              \
			config_misuse(h, path ? path : "(null)", as_);            \
		return v;                                                         \
	}
CONFIG_GETTER(bool, is_set, "any type", false)
CONFIG_GETTER(bool, bool, "a bool", false)
CONFIG_GETTER(int64_t, int, "an int", 0)
CONFIG_GETTER(double, float, "a float", 0.0)
CONFIG_GETTER(const char *, string, "a string", NULL)
CONFIG_GETTER(size_t, count, "strings", 0)
CONFIG_GETTER(bool, is_one, "strings", false)
#undef CONFIG_GETTER

static const char *api_config_string_at(orbit_host *h, const char *path, size_t i)
{
	bool misuse = false;
	if (!h->cfg)
		return NULL;
	const char *v = path ? plugcfg_string_at(h->cfg, path, i, &misuse) : NULL;
	if (misuse || !path)
		config_misuse(h, path ? path : "(null)", "strings");
	return v;
}

static const char *api_identifier(orbit_host *h)
{
	return h->orb ? orbit_orbiter_id(orbit_lender_orbiter(h->orb)) : h->d->name;
}

static void timer_unlink(struct orbit_host *h, struct orbit_host_timer *t)
{
	if (t->prev)
		t->prev->next = t->next;
	else
		h->timers = t->next;
	if (t->next)
		t->next->prev = t->prev;
	event_free(t->ev);
	free(t);
}

static struct timeval tv_of(double s)
{
	if (s < 0)
		s = 0;
	struct timeval tv = {(time_t)s, (suseconds_t)((s - (double)(time_t)s) * 1e6)};
	return tv;
}

static void timer_fire(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct orbit_host_timer *t = arg;
	void (*fn)(void *) = t->fn;
	void *fn_arg = t->arg;
	if (t->every > 0) {
		/* Re-armed first, so the callback may cancel it. */
		struct timeval tv = tv_of(t->every);
		event_add(t->ev, &tv);
	} else {
		/* One-shot: the handle dies before the callback so the plugin
		 * cannot cancel a freed timer from inside it. */
		timer_unlink(t->h, t);
	}
	fn(fn_arg);
}

static orbit_host_timer *api_timer_add(orbit_host *h, double after, double every,
				       void (*fn)(void *arg), void *arg)
{
	if (h->released) {
		errno = ESHUTDOWN;
		return NULL;
	}
	if (!fn) {
		errno = EINVAL;
		return NULL;
	}
	struct orbit_host_timer *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	*t = (struct orbit_host_timer){.h = h, .fn = fn, .arg = arg, .every = every};
	t->ev = evtimer_new(h->env->base, timer_fire, t);
	struct timeval tv = tv_of(after);
	if (!t->ev || event_add(t->ev, &tv) < 0) {
		if (t->ev)
			event_free(t->ev);
		free(t);
		return NULL;
	}
	t->next = h->timers;
	if (t->next)
		t->next->prev = t;
	h->timers = t;
	return t;
}

static void api_timer_cancel(orbit_host *h, orbit_host_timer *t)
{
	if (t)
		timer_unlink(h, t);
}

static void watch_fire(evutil_socket_t fd, short what, void *arg)
{
	struct orbit_host_watch *w = arg;
	unsigned ev = ((what & EV_READ) ? ORBIT_WATCH_READ : 0u) |
		      ((what & EV_WRITE) ? ORBIT_WATCH_WRITE : 0u);
	w->fn(w->arg, fd, ev);
}

static orbit_host_watch *api_watch(orbit_host *h, int fd, unsigned events,
				   void (*fn)(void *arg, int fd, unsigned events), void *arg)
{
	if (h->released) {
		errno = ESHUTDOWN;
		return NULL;
	}
	if (!fn || fd < 0 || !(events & (ORBIT_WATCH_READ | ORBIT_WATCH_WRITE))) {
		errno = EINVAL;
		return NULL;
	}
	struct orbit_host_watch *w = calloc(1, sizeof *w);
	if (!w)
		return NULL;
	w->fn = fn;
	w->arg = arg;
	short what = EV_PERSIST | ((events & ORBIT_WATCH_READ) ? EV_READ : 0) |
		     ((events & ORBIT_WATCH_WRITE) ? EV_WRITE : 0);
	w->ev = event_new(h->env->base, fd, what, watch_fire, w);
	if (!w->ev || event_add(w->ev, NULL) < 0) {
		if (w->ev)
			event_free(w->ev);
		free(w);
		return NULL;
	}
	w->next = h->watches;
	if (w->next)
		w->next->prev = w;
	h->watches = w;
	return w;
}

static void api_unwatch(orbit_host *h, orbit_host_watch *w)
{
	if (!w)
		return;
	if (w->prev)
		w->prev->next = w->next;
	else
		h->watches = w->next;
	if (w->next)
		w->next->prev = w->prev;
	event_free(w->ev);
	free(w);
}

struct post {
	struct orbit_host *h;
	void (*fn)(void *arg);
	void *arg;
};

/* Loop thread (also from loopq_free at exit). A post queued before its
 * plugin was released is dropped here: the plugin's state may be gone, and
 * plugin.h promises that nothing it posted runs once shutdown began. h is
 * at worst a tombstone, never freed memory. */
static void run_post(void *arg)
{
	struct post *p = arg;
	if (!p->h->released)
		p->fn(p->arg);
	free(p);
}

static int api_post(orbit_host *h, void (*fn)(void *arg), void *arg)
{
	if (!fn)
		return -EINVAL;
	struct post *p = malloc(sizeof *p);
	if (!p)
		return -ENOMEM;
	*p = (struct post){h, fn, arg};
	/* Check and enqueue under the lock host_release takes to set released:
	 * a post either is queued before release (and dropped by run_post) or
	 * is refused; and the loopq, which the daemon frees only after it
	 * released every host, cannot go away while we hold the lock. */
	pthread_mutex_lock(&h->lock);
	int rc = h->released ? -ESHUTDOWN : loopq_post(h->env->loopq, run_post, p);
	pthread_mutex_unlock(&h->lock);
	if (rc < 0)
		free(p);
	return rc;
}

static struct op_rt *find_op(struct orbit_host *h, const char *operation)
{
	for (size_t i = 0; operation && i < h->n_ops; i++)
		if (strcmp(h->ops[i].op->name, operation) == 0)
			return &h->ops[i];
	return NULL;
}

static int api_emit(orbit_host *h, const char *operation, const orbit_payload *out)
{
	if (h->released)
		return -ESHUTDOWN;
	if (!out)
		return -EINVAL;
	if (!find_op(h, operation))
		return -ENOENT;
	/* Emitted while a handler of the operation runs: its caller's copy is
	 * an output of that call. */
	struct call *c = h->current;
	bool tie = c && c->orb == h->orb && strcmp(c->pub.operation, operation) == 0;
	if (tie)
		tag_output(h, c, out);
	int n = orbit_lender_emit(h->orb, operation, out);
	if (tie && n > 0 && c->out_topic)
		c->outputs++;
	else if (tie && c->out_topic)
		calltag_unsent(c->tag, c->out_topic);
	if (n >= 0 && h->orb_remote) {
		int m = orbit_lender_emit(h->orb_remote, operation, out);
		n = m < 0 ? m : n + m;
	}
	return n;
}

static int api_send(orbit_host *h, const char *core_id, const char *operation,
		    const orbit_payload *out)
{
	if (h->released)
		return -ESHUTDOWN;
	if (!out || !core_id)
		return -EINVAL;
	/* Sent to the caller of a handler running now: an output of its call. */
	struct call *c = h->current;
	bool tie = c && c->orb == h->orb && strcmp(c->pub.core_id, core_id) == 0 &&
		   strcmp(c->pub.operation, operation) == 0;
	if (tie)
		tag_output(h, c, out);
	int rc = orbit_lender_reply(h->orb, core_id, operation, out);
	if (tie && rc == 0 && c->out_topic)
		c->outputs++;
	else if (tie && c->out_topic)
		calltag_unsent(c->tag, c->out_topic);
	if (rc == -ENOENT && h->orb_remote)
		rc = orbit_lender_reply(h->orb_remote, core_id, operation, out);
	return rc;
}

static char *api_input_json(orbit_call *pub)
{
	struct call *c = (struct call *)pub;
	char *json = NULL;
	int rc = orbit_payload_to_json(&pub->input, &c->op->in, &json);
	if (rc < 0) {
		errno = -rc;
		return NULL;
	}
	return json;
}

/* Encode json by an operation's output spec; logs why it does not fit. */
static int encode_output(struct orbit_host *h, struct op_rt *op, const char *json,
			 orbit_payload *out, uint8_t **buf)
{
	char *why = NULL;
	int rc = orbit_payload_from_json(json, &op->out, out, buf, NULL, &why);
	if (rc < 0)
		olog(LOG_WARNING, "plugin %s: output of %s does not fit its schema: %s",
		     h->d->name, op->op->name, why ? why : strerror(-rc));
	free(why);
	return rc;
}

static int api_reply_json(orbit_call *pub, const char *json)
{
	struct call *c = (struct call *)pub;
	orbit_payload out;
	uint8_t *buf = NULL;
	int rc = encode_output(c->op->h, c->op, json, &out, &buf);
	if (rc == 0)
		rc = api_reply(pub, &out);
	free(buf);
	return rc;
}

static int api_emit_json(orbit_host *h, const char *operation, const char *json)
{
	if (h->released)
		return -ESHUTDOWN;
	struct op_rt *op = find_op(h, operation);
	if (!op)
		return -ENOENT;
	orbit_payload out;
	uint8_t *buf = NULL;
	int rc = encode_output(h, op, json, &out, &buf);
	if (rc == 0)
		rc = api_emit(h, operation, &out);
	free(buf);
	return rc;
}

/* ---- typed inputs and outputs ---------------------------------------- */

/* The built-in value of a call's input when the operation's input is one of
 * the kinds in want (an ORBIT_IO_ANY input: when the peer sent one of them).
 * 0, -EINVAL (another kind), -EBADMSG (undecodable), -ENOMEM. */
static int input_value(struct call *c, orbit_kind k1, orbit_kind k2, orbit_value *v)
{
	orbit_io_kind kind = c->op->op->input.kind;
	if (kind != ORBIT_IO_ANY && kind != (orbit_io_kind)k1 && kind != (orbit_io_kind)k2)
		return -EINVAL;
	int rc = orbit_value_decode(&c->pub.input, v);
	if (rc == -ENOMEM)
		return rc;
	if (rc < 0) {
		orbit_value_clear(v);
		return kind == ORBIT_IO_ANY ? -EINVAL : -EBADMSG;
	}
	if (v->kind != k1 && v->kind != k2) {
		orbit_value_clear(v);
		return kind == ORBIT_IO_ANY ? -EINVAL : -EBADMSG;
	}
	return 0;
}

static const char *api_input_string(orbit_call *pub)
{
	struct call *c = (struct call *)pub;
	if (c->in_text)
		return c->in_text;
	orbit_value v = {0};
	int rc;
	if (c->op->op->input.kind == ORBIT_IO_STRING) {
		/* on_input made it UTF-8 text already: copy, no decoding. */
		const orbit_payload *in = &pub->input;
		if (in->len && memchr(in->data, 0, in->len)) {
			errno = EBADMSG; /* a NUL inside cannot be a C string */
			return NULL;
		}
		if (!(c->in_text = strndup(in->len ? (const char *)in->data : "", in->len))) {
			errno = ENOMEM;
			return NULL;
		}
		return c->in_text;
	}
	if ((rc = input_value(c, ORBIT_KIND_STRING, ORBIT_KIND_STRING, &v)) < 0) {
		errno = -rc;
		return NULL;
	}
	if (memchr(v.str, 0, v.str_len)) {
		orbit_value_clear(&v);
		errno = EBADMSG;
		return NULL;
	}
	c->in_text = v.str; /* taken over: freed with the call */
	return c->in_text;
}

static int api_input_int(orbit_call *pub, int64_t *out)
{
	orbit_value v = {0};
	int rc = input_value((struct call *)pub, ORBIT_KIND_INT32, ORBIT_KIND_INT64, &v);
	if (rc == 0 && out)
		*out = v.i;
	orbit_value_clear(&v);
	return rc;
}

static int api_input_float(orbit_call *pub, double *out)
{
	orbit_value v = {0};
	int rc = input_value((struct call *)pub, ORBIT_KIND_FLOAT32, ORBIT_KIND_FLOAT64, &v);
	if (rc == 0 && out)
		*out = v.f;
	orbit_value_clear(&v);
	return rc;
}

/* Encode v for op's output with the built-in codecs (builtin.h). v's kind
 * says what the plugin gives: STRING, INT64, FLOAT64 or EMPTY; the output
 * kind decides the message (an int for an INT32 output, range checked). An
 * ORBIT_IO_ANY output takes the value as given; a schema output needs
 * reply_json. *buf malloc'd or NULL. 0 or -EINVAL (does not fit), -ENOMEM. */
static int encode_value(struct orbit_host *h, struct op_rt *op, orbit_value *v,
			orbit_payload *out, uint8_t **buf)
{
	orbit_io_kind kind = op->op->output.kind;
	bool fits;
	switch (v->kind) {
	case ORBIT_KIND_INT64:
		fits = kind == ORBIT_IO_INT32 || kind == ORBIT_IO_INT64;
		break;
	case ORBIT_KIND_FLOAT64:
		fits = kind == ORBIT_IO_FLOAT32 || kind == ORBIT_IO_FLOAT64;
		break;
	default:
		fits = kind == (orbit_io_kind)v->kind;
		break;
	}
	if (kind == ORBIT_IO_ANY)
		fits = true;
	else if (fits)
		v->kind = (orbit_kind)kind;
	/* Python's int.to_bytes cannot write a negative Int32Message; Avro it
	 * accepts (payload_json.h does the same). */
	orbit_format fmt = v->kind == ORBIT_KIND_INT32 && v->i < 0 ? ORBIT_FMT_AVRO
								   : ORBIT_FMT_NONE;
	int rc = fits ? orbit_value_encode(v, fmt, out, buf) : -EINVAL;
	if (rc == -ERANGE)
		rc = -EINVAL;
	if (rc == -EINVAL)
		olog(LOG_WARNING, "plugin %s: output of %s: %s", h->d->name, op->op->name,
		     fits ? "value out of the output's range or not valid UTF-8"
			  : "of another kind than the operation's output");
	return rc;
}

static int reply_value(orbit_call *pub, orbit_value v)
{
	struct call *c = (struct call *)pub;
	orbit_payload out;
	uint8_t *buf = NULL;
	int rc = encode_value(c->op->h, c->op, &v, &out, &buf);
	if (rc == 0)
		rc = api_reply(pub, &out);
	free(buf);
	return rc;
}

static int emit_value(orbit_host *h, const char *operation, orbit_value v)
{
	if (h->released)
		return -ESHUTDOWN;
	struct op_rt *op = find_op(h, operation);
	if (!op)
		return -ENOENT;
	orbit_payload out;
	uint8_t *buf = NULL;
	int rc = encode_value(h, op, &v, &out, &buf);
	if (rc == 0)
		rc = api_emit(h, operation, &out);
	free(buf);
	return rc;
}

/* The values below borrow text: orbit_value's str is only read by
 * orbit_value_encode, never freed here. */
static orbit_value string_value(const char *text)
{
	return (orbit_value){.kind = ORBIT_KIND_STRING, .str = (char *)text,
			     .str_len = strlen(text)};
}

static int api_reply_string(orbit_call *pub, const char *text)
{
	return text ? reply_value(pub, string_value(text)) : -EINVAL;
}

static int api_reply_int(orbit_call *pub, int64_t v)
{
	return reply_value(pub, (orbit_value){.kind = ORBIT_KIND_INT64, .i = v});
}

static int api_reply_float(orbit_call *pub, double v)
{
	return reply_value(pub, (orbit_value){.kind = ORBIT_KIND_FLOAT64, .f = v});
}

static int api_reply_empty(orbit_call *pub)
{
	return reply_value(pub, (orbit_value){.kind = ORBIT_KIND_EMPTY});
}

static int api_emit_string(orbit_host *h, const char *operation, const char *text)
{
	return text ? emit_value(h, operation, string_value(text)) : -EINVAL;
}

static int api_emit_int(orbit_host *h, const char *operation, int64_t v)
{
	return emit_value(h, operation, (orbit_value){.kind = ORBIT_KIND_INT64, .i = v});
}

static int api_emit_float(orbit_host *h, const char *operation, double v)
{
	return emit_value(h, operation, (orbit_value){.kind = ORBIT_KIND_FLOAT64, .f = v});
}

static int api_emit_empty(orbit_host *h, const char *operation)
{
	return emit_value(h, operation, (orbit_value){.kind = ORBIT_KIND_EMPTY});
}

static const orbit_host_api api = {
	.size = sizeof(orbit_host_api),
	.abi_major = ORBIT_PLUGIN_ABI_MAJOR,
	.abi_minor = ORBIT_PLUGIN_ABI_MINOR,
	.log = api_log,
	.identifier = api_identifier,
	.config_is_set = api_config_is_set,
	.config_bool = api_config_bool,
	.config_int = api_config_int,
	.config_float = api_config_float,
	.config_string = api_config_string,
	.config_count = api_config_count,
	.config_string_at = api_config_string_at,
	.config_is_one = api_config_is_one,
	.timer_add = api_timer_add,
	.timer_cancel = api_timer_cancel,
	.watch = api_watch,
	.unwatch = api_unwatch,
	.post = api_post,
	.input_string = api_input_string,
	.input_int = api_input_int,
	.input_float = api_input_float,
	.input_json = api_input_json,
	.reply = api_reply,
	.reply_string = api_reply_string,
	.reply_int = api_reply_int,
	.reply_float = api_reply_float,
	.reply_empty = api_reply_empty,
	.reply_json = api_reply_json,
	.emit = api_emit,
	.emit_string = api_emit_string,
	.emit_int = api_emit_int,
	.emit_float = api_emit_float,
	.emit_empty = api_emit_empty,
	.emit_json = api_emit_json,
	.send = api_send,
};

/* ---- lifecycle -------------------------------------------------------- */

/* The effective policy of op: the plugin's default, whose maximum 0 means
 * no limit (orbit/plugin.h: descriptors are zero-initialised), with the YAML
 * override laid over it. Lists are borrowed from op or ov. */
static orbit_plugin_policy effective_policy(const orbit_plugin_op *op, const struct ocfg_policy *ov)
{
	orbit_plugin_policy pol = op->policy;

	if (pol.maximum == 0)
		pol.maximum = ORBIT_UNLIMITED;
	if (ov && ov->maximum_set)
		pol.maximum = ov->policy.maximum;
	if (ov && (ov->policy.allowlist || ov->policy.blocklist)) {
		pol.allowlist = ov->policy.allowlist;
		pol.blocklist = ov->policy.blocklist;
	}
	return pol;
}

/* The exported instance's policy: pol without our own core, which reaches
 * the plugin in-process. The list it builds is *own (the caller frees it). */
static int without_own_core(orbit_plugin_policy *pol, const char *core_id, orbit_idlist *own)
{
	static const char *const no_ids[] = {NULL};
	orbit_idlist from = pol->allowlist ? pol->allowlist : pol->blocklist;
	int rc = orbit_idlist_dup(no_ids, own);

	for (size_t i = 0; !rc && from && from[i]; i++)
		if (!pol->allowlist || strcmp(from[i], core_id) != 0)
			rc = orbit_idlist_append(own, from[i]);
	if (pol->allowlist) {
		pol->allowlist = *own;
		return rc;
	}
	if (!rc)
		rc = orbit_idlist_append(own, core_id);
	pol->blocklist = *own;
	return rc;
}

/* Set op i's policy on the instance(s). */
static int apply_policy(struct orbit_host *h, struct op_rt *rt, const struct ocfg_policy *ov,
			bool add)
{
	orbit_plugin_policy pol = effective_policy(rt->op, ov);
	orbit_idlist own = NULL;
	int rc = 0;

	for (int remote = 0; rc == 0 && remote < 2; remote++) {
		orbit_lender *orb = remote ? h->orb_remote : h->orb;
		if (!orb)
			continue;
		if (remote && (rc = without_own_core(&pol, h->env->core_id, &own)) < 0)
			break;
		if (add) {
			orbit_lent_op op = {
				.name = rt->op->name,
				.input = rt->in,
				.output = rt->out,
				.policy = pol,
				.handler = rt->op->handler ? on_input : NULL,
				.ctx = rt,
			};
			rc = orbit_lender_add_operation(orb, &op);
		} else {
			rc = orbit_lender_set_policy(orb, rt->op->name, &pol);
		}
	}
	orbit_idlist_free(own);
	return rc;
}

/* Refuse posts from here on (any thread may be posting right now). */
static void close_posts(struct orbit_host *h)
{
	pthread_mutex_lock(&h->lock);
	h->released = true;
	pthread_mutex_unlock(&h->lock);
}

/* Released and no blocking call in flight: the shutdown hook, then free all
 * but the tombstone (see the top of the file). */
static void finalize(struct orbit_host *h)
{
	if (h->finalized)
		return;
	h->finalized = true;
	if (h->inited && h->d->shutdown)
		h->d->shutdown(h->state);
	/* Timers/watches the shutdown hook may have left. */
	while (h->timers)
		api_timer_cancel(h, h->timers);
	while (h->watches)
		api_unwatch(h, h->watches);
	if (h->tick)
		event_free(h->tick);
	h->tick = NULL;
	orbit_lender_free(h->orb);
	orbit_lender_free(h->orb_remote);
	h->orb = h->orb_remote = NULL;
	for (size_t i = 0; i < h->n_ops; i++) {
		orbit_spec_clear(&h->ops[i].in);
		orbit_spec_clear(&h->ops[i].out);
	}
	free(h->ops);
	h->ops = NULL;
	h->n_ops = 0;
	plugcfg_free(h->cfg);
	h->cfg = NULL;
	for (size_t i = 0; i < h->n_misused; i++)
		free(h->misused[i]);
	free(h->misused);
	h->misused = NULL;
	h->n_misused = 0;
	h->state = NULL;
	if (!h->init_called) {
		/* No plugin code ever saw h: nothing can reach it any more. */
		pthread_mutex_destroy(&h->lock);
		free(h);
		return;
	}
	h->next_tomb = tombs;
	tombs = h;
}

static void call_done(struct orbit_host *h)
{
	if (--h->inflight > 0)
		return;
	if (h->tick)
		event_del(h->tick);
	if (h->released)
		finalize(h);
}

/* The run limits of rt under ov (NULL: the defaults). */
static void apply_limits(struct op_rt *rt, const struct ocfg_policy *ov)
{
	rt->timeout = ov && ov->timeout_set ? ov->timeout : OCFG_OP_TIMEOUT_DEFAULT;
	rt->max_inflight =
		ov && ov->max_inflight_set ? ov->max_inflight : OCFG_OP_MAX_INFLIGHT_DEFAULT;
}

int host_build_config(const orbit_plugin_desc *d, const struct orbitd_config *cfg,
		      struct plugcfg **out, char **err)
{
	*out = NULL;
	*err = NULL;
	const struct ocfg_plugin *pcfg = cfg ? orbitd_config_find_plugin(cfg, d->name) : NULL;
	/* A required key with no section to put it in: name the main file. */
	struct ocfg_where absent = {
		cfg && cfg->n_files ? cfg->files[0] : "<built-in>", 1, 1};
	if (pcfg)
		absent = pcfg->where;
	char *section = strfmt("plugins.%s.config", d->name);
	if (!section) {
		*err = strfmt("out of memory");
		return -ENOMEM;
	}
	int rc = plugcfg_build(d->config, pcfg ? pcfg->config : NULL, section, &absent, out, err);
	free(section);
	if (rc < 0 && !*err)
		*err = strfmt("config: %s", strerror(-rc));
	return rc;
}

orbit_host *host_new(const struct host_env *env, const orbit_plugin_desc *d,
		      const struct ocfg_plugin *pcfg, struct plugcfg *config, char **why)
{
	*why = NULL;
	struct orbit_host *h = calloc(1, sizeof *h);
	if (!h) {
		plugcfg_free(config);
		goto nomem;
	}
	h->env = env;
	h->d = d;
	h->cfg = config;
	pthread_mutex_init(&h->lock, NULL);
	/* Two hosts exporting the same plugin need distinct identities. */
	const char *id = pcfg && pcfg->identifier ? pcfg->identifier : d->name;
	if (!(h->orb = orbit_lender_new(env->bus, id, &env->timers, env->discover_topic))) {
		*why = strfmt("cannot create its orbiter: %s", strerror(errno));
		goto fail;
	}
	if (pcfg && pcfg->exported && !env->mqtt)
		olog(LOG_WARNING, "plugin %s (%s:%d): export needs an mqtt: section; local only",
		     d->name, pcfg->where.file, pcfg->where.line);
	if (pcfg && pcfg->exported && env->mqtt &&
	    !(h->orb_remote = orbit_lender_new(env->mqtt, id, &env->timers,
					       env->discover_topic))) {
		*why = strfmt("cannot create its MQTT orbiter: %s", strerror(errno));
		goto fail;
	}
	/* One plugin: a maximum covers its local and remote connections. */
	if (h->orb_remote)
		orbit_lender_share_maximum(h->orb, h->orb_remote);
	if (d->n_ops && !(h->ops = calloc(d->n_ops, sizeof *h->ops)))
		goto nomem;
	for (size_t i = 0; i < d->n_ops; i++) {
		struct op_rt *rt = &h->ops[h->n_ops];
		rt->op = (const orbit_plugin_op *)((const char *)d->ops + i * d->op_size);
		rt->h = h;
		char *e = NULL;
		if (io_spec(&rt->op->input, &rt->in, &e) < 0 ||
		    io_spec(&rt->op->output, &rt->out, &e) < 0) {
			*why = e ? e : strfmt("operation '%s': out of memory", rt->op->name);
			orbit_spec_clear(&rt->in);
			goto fail;
		}
		h->n_ops++;
		const struct ocfg_policy *ov = pcfg ? ocfg_plugin_policy(pcfg, rt->op->name) : NULL;
		rt->drop_rl = (struct ratelimit)RATELIMIT_INIT(1.0);
		apply_limits(rt, ov);
		int rc = apply_policy(h, rt, ov, true);
		if (rc < 0) {
			*why = strfmt("operation '%s' refused: %s", rt->op->name, strerror(-rc));
			goto fail;
		}
	}
	for (size_t i = 0; pcfg && i < pcfg->n_policies; i++)
		if (!find_op(h, pcfg->policies[i].operation))
			olog(LOG_WARNING, "plugin %s (%s:%d): policy for unknown operation '%s'",
			     d->name, pcfg->where.file, pcfg->where.line,
			     pcfg->policies[i].operation);
	if (d->init) {
		h->init_called = true;
		int rc = d->init(h, &api, &h->state);
		if (rc < 0) {
			*why = strfmt("init failed: %s", strerror(-rc));
			goto fail;
		}
	}
	h->inited = true;
	return h;
nomem:
	*why = strfmt("out of memory");
fail:
	if (h) {
		/* A failed init may have posted, armed timers or handed h to a
		 * thread: the same end as a release, without the hook. */
		close_posts(h);
		finalize(h);
	}
	return NULL;
}

/* Remote cores on the exported instance: the core side of local ones is
 * logged by the daemon already. */
static void on_remote_event(void *ctx, orbit_orbiter *o, const orbit_event *ev)
{
	struct orbit_host *h = ctx;
	(void)o;
	if (ev->kind == ORBIT_EV_CONNECTED)
		olog(LOG_INFO, "plugin %s: remote core %s connected for %s", h->d->name,
		     ev->conn->remote_id, ev->conn->operation);
	else if (ev->kind == ORBIT_EV_DISCONNECTED)
		olog(LOG_INFO, "plugin %s: remote core %s disconnected from %s (%s)", h->d->name,
		     ev->conn->remote_id, ev->conn->operation,
		     ev->graceful ? "graceful" : "graceless");
	else if (ev->kind == ORBIT_EV_REMOTE_DEAD)
		olog(LOG_WARNING, "plugin %s: remote core %s is dead", h->d->name, ev->remote_id);
}

int host_start(orbit_host *h, char **why)
{
	if (h->orb_remote)
		orbit_orbiter_set_event_cb(orbit_lender_orbiter(h->orb_remote), on_remote_event, h);
	*why = NULL;
	int rc = orbit_lender_start(h->orb);
	if (rc == 0 && h->orb_remote && (rc = orbit_lender_start(h->orb_remote)) < 0)
		orbit_lender_stop(h->orb);
	if (rc < 0) {
		*why = strfmt("cannot start its orbiter: %s", strerror(-rc));
		return rc;
	}
	if (h->d->start && (rc = h->d->start(h->state)) < 0) {
		*why = strfmt("start failed: %s", strerror(-rc));
		orbit_lender_stop(h->orb);
		if (h->orb_remote)
			orbit_lender_stop(h->orb_remote);
		return rc;
	}
	return 0;
}

int host_reconfigure(orbit_host *h, const struct ocfg_plugin *pcfg, struct plugcfg *config,
		     char **why)
{
	*why = NULL;
	int rc = 0;
	for (size_t i = 0; i < h->n_ops; i++) {
		const struct ocfg_policy *ov =
			pcfg ? ocfg_plugin_policy(pcfg, h->ops[i].op->name) : NULL;
		/* Calls in flight beyond a lowered limit end normally; new
		 * inputs are dropped until they do. */
		apply_limits(&h->ops[i], ov);
		int r = apply_policy(h, &h->ops[i], ov, false);
		if (r < 0 && rc == 0) {
			rc = r;
			*why = strfmt("policy of '%s' refused: %s", h->ops[i].op->name,
				       strerror(-r));
		}
	}
	if (!config || plugcfg_equal(config, h->cfg)) {
		plugcfg_free(config);
		return rc;
	}
	/* The hook reads the accessors: they answer with the new values. */
	struct plugcfg *old = h->cfg;
	h->cfg = config;
	int r = h->d->reload ? h->d->reload(h->state) : 0;
	if (r < 0) {
		h->cfg = old;
		plugcfg_free(config);
		if (rc == 0) {
			rc = r;
			free(*why);
			*why = strfmt("reload hook failed: %s; its previous config stays",
				      strerror(-r));
		}
		return rc;
	}
	plugcfg_free(old);
	return rc;
}

void host_close_all(orbit_host *h)
{
	orbit_orbiter_close_all(orbit_lender_orbiter(h->orb), true);
	if (h->orb_remote)
		orbit_orbiter_close_all(orbit_lender_orbiter(h->orb_remote), true);
}

size_t host_connections(const orbit_host *h)
{
	return orbit_orbiter_connection_count(orbit_lender_orbiter(h->orb)) +
	       (h->orb_remote ? orbit_orbiter_connection_count(orbit_lender_orbiter(h->orb_remote))
			      : 0);
}

orbit_lender *host_orbiter(orbit_host *h)
{
	return h->orb;
}

orbit_lender *host_remote_orbiter(orbit_host *h)
{
	return h->orb_remote;
}

const orbit_plugin_desc *host_desc(const orbit_host *h)
{
	return h->d;
}

const struct plugcfg *host_plugcfg(const orbit_host *h)
{
	return h->cfg;
}

void host_release(orbit_host *h)
{
	if (!h || h->released)
		return;
	close_posts(h);
	orbit_lender_stop(h->orb);
	if (h->orb_remote)
		orbit_lender_stop(h->orb_remote);
	/* Silence timers and watches but keep the handles: the shutdown hook
	 * may still cancel them; finalize frees what it leaves. */
	for (struct orbit_host_timer *t = h->timers; t; t = t->next)
		event_del(t->ev);
	for (struct orbit_host_watch *w = h->watches; w; w = w->next)
		event_del(w->ev);
	if (h->inflight == 0)
		finalize(h);
}

size_t host_op_count(const orbit_host *h)
{
	return h->n_ops;
}

struct op_count {
	const char *operation;
	size_t n;
};

static int count_conn(void *ctx, const orbit_conn_info *c)
{
	struct op_count *oc = ctx;
	oc->n += strcmp(c->operation, oc->operation) == 0;
	return 0;
}

int host_op_info(orbit_host *h, size_t i, const struct ocfg_plugin *pcfg,
		 struct host_op_info *info)
{
	struct op_rt *rt = &h->ops[i];
	const struct ocfg_policy *ov = pcfg ? ocfg_plugin_policy(pcfg, rt->op->name) : NULL;

	info->policy = effective_policy(rt->op, ov);
	info->name = rt->op->name;
	info->doc = rt->op->doc;
	info->input = &rt->in;
	info->output = &rt->out;
	info->blocking = rt->op->flags & ORBIT_OP_BLOCKING;
	struct op_count oc = {rt->op->name, 0};
	orbit_orbiter_foreach_connection(orbit_lender_orbiter(h->orb), count_conn, &oc);
	if (h->orb_remote)
		orbit_orbiter_foreach_connection(orbit_lender_orbiter(h->orb_remote), count_conn, &oc);
	info->connections = oc.n;
	info->timeout = rt->timeout;
	info->max_inflight = rt->max_inflight;
	info->inflight = rt->inflight;
	info->dropped = rt->dropped;
	return 0;
}

int host_io_spec(const orbit_io *io, orbit_spec *s, char **why)
{
	return io_spec(io, s, why);
}

orbit_plugin_policy host_effective_policy(const orbit_plugin_op *op, const struct ocfg_policy *ov)
{
	return effective_policy(op, ov);
}
