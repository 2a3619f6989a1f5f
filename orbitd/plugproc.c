/* plugproc.c — see plugproc.h.
 *
 * Life of one process: spawn (socketpair, fork, the child runs
 * plugchild_main) → STARTING → READY → RUNNING → it dies, or we kill it
 * (kill_reason says why) → its childwatch reaps it → the group is
 * killed (what the plugin spawned goes too), the bridge's subscriptions
 * are dropped, the reason is composed (ours, else the signal or exit status
 * with what the process was doing from the shared slots) → RESTARTING after
 * a back-off, FAILED, or freed when released.
 *
 * End of file on the link usually means the process is dying (the kernel
 * closes its files before its exit can be reaped): a short grace lets the
 * exit be seen first, so a crash is named as a crash and only a
 * process that really lives on without its socket is "closed its socket".
 */
#include "plugproc.h"
#include "calltag.h"
#include "childwatch.h"
#include "link.h"
#include "log.h"
#include "plugchild.h"
#include "plugcfg.h"
#include "plugslots.h"
#include "ratelimit.h"
#include "strfmt.h"

#include <orbit/orbiter.h>
#include <orbit/stats.h>

#include <errno.h>
#include <event2/event.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Unsent bytes to one plugin process, at most (a frame is at most 16 MiB). */
#define PARENT_MAX_OUT (32u << 20)
/* Topics one plugin process may have subscribed at once. */
#define MAX_SUBS 65536
/* After end of file on the link, how long its exit has to show up. */
#define EOF_GRACE 0.2
/* Crash times remembered (restart.max_crashes is capped to it). */
#define MAX_CRASH_MEMORY 64

struct bus_ep {
	struct plugproc *pp;
	uint8_t bus;
};

struct plugproc {
	struct plugproc *next; /* every plugproc not yet freed */
	const struct host_env *env;
	const orbit_plugin_desc *d;
	const struct ocfg_plugin *pcfg;
	const struct orbitd_config *cfg;
	struct plugcfg *config;
	struct ocfg_isolate iso;
	double *op_timeout;    /* per operation, seconds, <= 0: none */
	orbit_spec *in, *out;  /* per operation, for orbitctl */
	char *identifier;
	plugproc_state_fn fn;
	void *ctx;
	enum plugproc_state state;
	char *reason;
	/* the process */
	pid_t pid;
	struct childwatch *watch;
	struct link *link;
	struct plugslots *slots; /* shared page, reused by every process */
	json_t *subs;            /* "BUS:topic" -> true */
	struct bus_ep ep[2];
	char *kill_reason;
	bool refused;            /* FAIL received: init/start said no */
	bool restart_now;        /* killed for plugproc_restart: no crash */
	bool reconfig_pending;   /* a reload came while it was starting */
	/* supervision */
	struct event *tick_ev, *eof_ev, *restart_ev, *stop_ev;
	double last_heard, last_ping, restart_at;
	uint64_t ping_token;
	uint64_t close_token;    /* of the last CLOSE_ALL sent */
	double crash_at[MAX_CRASH_MEMORY];
	unsigned n_crash_at;
	unsigned restarts;
	bool started_once;
	bool releasing;
	/* what the process told us */
	json_t *report;
	json_t *stats;           /* the last report's, kept past the process */
	/* messages to the process dropped at the output bound (the count:
	 * link_dropped of each link) */
	struct ratelimit drop_log;
	/* the process's last OUT_TAG, for its next PUB (calltag.h) */
	struct link_tag out_tag;
};

static struct plugproc *all;
/* orbitctl trace's look at the bridge (plugproc_set_tap); NULL: none. */
static plugproc_tap_fn tap;
static void *tap_ctx;

static double now(void)
{
	return orbit_now();
}

static struct timeval tv_of(double s)
{
	if (s < 0)
		s = 0;
	return (struct timeval){(time_t)s, (suseconds_t)((s - (double)(time_t)s) * 1e6)};
}

static const orbit_plugin_op *op_at(const orbit_plugin_desc *d, size_t i)
{
	return (const orbit_plugin_op *)((const char *)d->ops + i * d->op_size);
}

const char *plugproc_state_name(enum plugproc_state s)
{
	switch (s) {
	case PLUGPROC_STARTING:
		return "starting";
	case PLUGPROC_RUNNING:
		return "running";
	case PLUGPROC_RESTARTING:
		return "restarting";
	case PLUGPROC_FAILED:
		return "failed";
	case PLUGPROC_REFUSED:
		return "refused";
	}
	return "?";
}

static void set_state(struct plugproc *pp, enum plugproc_state st, char *reason)
{
	if (reason) {
		free(pp->reason);
		pp->reason = reason;
	}
	pp->state = st;
	if (pp->fn && !pp->releasing)
		pp->fn(pp->ctx, pp);
}

/* Limits that come from the configuration (start-up and reload). */
static void read_limits(struct plugproc *pp, const struct orbitd_config *cfg)
{
	orbitd_config_isolate(cfg, pp->d->name, &pp->iso);
	if (pp->iso.max_crashes > MAX_CRASH_MEMORY)
		pp->iso.max_crashes = MAX_CRASH_MEMORY;
	for (size_t i = 0; i < pp->d->n_ops; i++) {
		unsigned max_inflight;
		orbitd_config_op_limits(cfg, pp->d->name, op_at(pp->d, i)->name,
					&pp->op_timeout[i], &max_inflight);
	}
}

/* ---- the bridge --------------------------------------------------------- */

static orbit_bus *bus_of(struct plugproc *pp, uint8_t bus)
{
	if (bus == 0)
		return pp->env->bus;
	if (bus == 1 && pp->pcfg && pp->pcfg->exported)
		return pp->env->mqtt;
	return NULL;
}

/* A message for one of the process's subscriptions: forward it. */
static void on_bus_msg(void *ctx, const char *topic, const orbit_payload *p)
{
	struct bus_ep *ep = ctx;
	struct plugproc *pp = ep->pp;
	if (!pp->link)
		return;
	if (tap)
		tap(tap_ctx, pp->d->name, pp->identifier, ORBIT_DIR_RECEIVED, ep->bus, topic, p, 0);
	/* The daemon's call this input is goes with it, in a frame of its own
	 * (the DELIVER stays the message as the bus gave it). */
	uint64_t id = ep->bus == 0 ? calltag_take(topic, p, pp) : 0;
	if (id) {
		struct link_tag t = {id, calltag_fp(p)};
		link_send_data(pp->link, LINK_TAG, &t, sizeof t);
	}
	int rc = link_send_msg(pp->link, LINK_DELIVER, ep->bus, 0, topic, p);
	if (rc < 0)
		calltag_done(id, 0, pp); /* lost on the way: the call has ended */
	if (rc != -ENOBUFS)
		return;
	uint64_t n;
	if (ratelimit_hit(&pp->drop_log, now(), &n))
		olog(LOG_WARNING, "plugin %s: %llu message%s to its process dropped: it has not read "
		     "the %u MiB sent to it", pp->d->name, (unsigned long long)n, n == 1 ? "" : "s",
		     PARENT_MAX_OUT >> 20);
}

static void sub_key(char *key, size_t len, uint8_t bus, const char *topic)
{
	snprintf(key, len, "%u:%s", bus, topic);
}

static void drop_subscriptions(struct plugproc *pp)
{
	const char *key;
	json_t *v;
	json_object_foreach(pp->subs, key, v) {
		const char *topic = strchr(key, ':') + 1;
		orbit_bus *b = bus_of(pp, (uint8_t)(key[0] - '0'));
		if (b)
			orbit_bus_unsubscribe(b, topic, &pp->ep[key[0] - '0']);
	}
	json_object_clear(pp->subs);
}

/* ---- killing and reaping ------------------------------------------------ */

/* Kill the process (and its group) for the reason given (taken); the
 * first reason wins. The childwatch reports the death. */
static void kill_for(struct plugproc *pp, char *reason)
{
	if (!pp->pid) {
		free(reason);
		return;
	}
	if (!pp->kill_reason) {
		pp->kill_reason = reason;
		if (reason && !pp->releasing && !pp->restart_now)
			olog(LOG_ERR, "plugin %s: %s; killing its process %d", pp->d->name, reason,
			     (int)pp->pid);
	} else {
		free(reason);
	}
	kill(-pp->pid, SIGKILL);
	kill(pp->pid, SIGKILL);
}

static const char *phase_words(uint32_t phase)
{
	switch (phase) {
	case PLUGPHASE_INIT:
		return " in init";
	case PLUGPHASE_START:
		return " in start";
	case PLUGPHASE_STOPPING:
		return " in shutdown";
	default:
		return "";
	}
}

/* The operation a slot says the process was running, or NULL. */
static const char *busy_op(struct plugproc *pp, double *since)
{
	uint32_t n = atomic_load(&pp->slots->next);
	for (uint32_t i = 0; i < n && i < PLUGSLOTS_MAX; i++) {
		uint32_t op1 = atomic_load_explicit(&pp->slots->slot[i].op1, memory_order_acquire);
		if (op1 && op1 - 1 < pp->d->n_ops) {
			if (since)
				*since = (double)atomic_load(&pp->slots->slot[i].since_ns) / 1e9;
			return op_at(pp->d, op1 - 1)->name;
		}
	}
	return NULL;
}

static char *death_reason(struct plugproc *pp, const siginfo_t *si)
{
	uint32_t phase = atomic_load(&pp->slots->phase);
	const char *op = phase == PLUGPHASE_RUNNING ? busy_op(pp, NULL) : NULL;
	char what[64];
	if (si->si_code == CLD_KILLED || si->si_code == CLD_DUMPED) {
		const char *abbrev = sigabbrev_np(si->si_status);
		if (abbrev)
			snprintf(what, sizeof what, "killed by SIG%s", abbrev);
		else
			snprintf(what, sizeof what, "killed by signal %d", si->si_status);
	} else {
		char why[sizeof pp->slots->why];
		memcpy(why, pp->slots->why, sizeof why);
		why[sizeof why - 1] = 0;
		if (*why) {
			/* Printable ASCII only: the text came from the process. */
			for (char *c = why; *c; c++)
				if (*c < 0x20 || *c > 0x7e)
					*c = '?';
			return strfmt("%s", why);
		}
		snprintf(what, sizeof what, "exited with status %d", si->si_status);
	}
	return op ? strfmt("%s while handling %s", what, op)
		  : strfmt("%s%s", what, phase_words(phase));
}

static void spawn(struct plugproc *pp);
static void plugproc_free(struct plugproc *pp);
static int send_reconfig(struct plugproc *pp, char **why);
static void on_stop_timeout(evutil_socket_t fd, short what, void *arg);

static void on_restart_due(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct plugproc *pp = arg;
	pp->restarts++;
	olog(LOG_NOTICE, "plugin %s: restarting it (restart %u)", pp->d->name, pp->restarts);
	spawn(pp);
}

/* A crash at time t: FAILED, or RESTARTING after the back-off. */
static void crashed(struct plugproc *pp, char *reason)
{
	double t = now();
	unsigned n = 0;
	/* Keep the crashes within the window, this one included. */
	for (unsigned i = 0; i < pp->n_crash_at; i++)
		if (t - pp->crash_at[i] <= pp->iso.window)
			pp->crash_at[n++] = pp->crash_at[i];
	if (n == MAX_CRASH_MEMORY)
		memmove(pp->crash_at, pp->crash_at + 1, --n * sizeof *pp->crash_at);
	pp->crash_at[n++] = t;
	pp->n_crash_at = n;
	if (n >= pp->iso.max_crashes) {
		olog(LOG_ERR, "plugin %s: %u crashes within %g s (last: %s); not restarted until "
		     "`orbitctl plugin restart %s`, a reload or a new file", pp->d->name, n,
		     pp->iso.window, reason, pp->d->name);
		char *why = strfmt("%u crashes within %g s; last: %s", n, pp->iso.window, reason);
		free(reason);
		set_state(pp, PLUGPROC_FAILED, why);
		return;
	}
	double delay = pp->iso.backoff_min;
	for (unsigned i = 1; i < n && delay < pp->iso.backoff_max; i++)
		delay *= 2;
	if (delay > pp->iso.backoff_max)
		delay = pp->iso.backoff_max;
	olog(LOG_WARNING, "plugin %s: %s; restarting it in %g s", pp->d->name, reason, delay);
	pp->restart_at = t + delay;
	struct timeval tv = tv_of(delay);
	event_add(pp->restart_ev, &tv);
	set_state(pp, PLUGPROC_RESTARTING, reason);
}

/* The process is gone: tell the remote cores it served over MQTT, as its
 * orbiter would have (its last report names them), instead of leaving them
 * to find out at their keepalive deadline. Our own core is told directly
 * (orbit_orbiter_close_remote, by the daemon). A core that closed already
 * ignores the message. */
static void close_for_the_dead(struct plugproc *pp)
{
	orbit_bus *mqtt = bus_of(pp, 1);
	json_t *conns = json_object_get(pp->report, "connections");
	size_t i;
	json_t *c;
	json_array_foreach(conns, i, c) {
		const char *topic = json_string_value(json_object_get(c, "close_topic"));
		const char *op = json_string_value(json_object_get(c, "operation"));
		if (mqtt && topic && op && json_integer_value(json_object_get(c, "bus")) == 1) {
			int rc = orbit_send_graceless_close(mqtt, topic, pp->identifier, op);
			olog(rc < 0 ? LOG_WARNING : LOG_DEBUG,
			     "plugin %s: closing its connection with %s for %s on its behalf: %s",
			     pp->d->name, json_string_value(json_object_get(c, "remote")), op,
			     rc < 0 ? strerror(-rc) : "sent");
		}
	}
}

/* The process is gone (si from waitid): clean up, then decide. */
static void reaped(struct plugproc *pp, const siginfo_t *si)
{
	/* What it wrote before it went (a FAIL saying why init failed, a last
	 * report) may still wait in the socket: the loop saw its exit first. */
	if (pp->link)
		link_read_pending(pp->link);
	/* What it spawned, if anything is left of its group. */
	kill(-pp->pid, SIGKILL);
	event_del(pp->tick_ev);
	event_del(pp->eof_ev);
	event_del(pp->stop_ev);
	childwatch_free(pp->watch);
	pp->watch = NULL;
	pp->pid = 0;
	drop_subscriptions(pp);
	link_free(pp->link);
	pp->link = NULL;
	close_for_the_dead(pp);
	calltag_taker_gone(pp);
	json_decref(pp->report);
	pp->report = NULL;
	char *reason = pp->kill_reason ? pp->kill_reason : death_reason(pp, si);
	pp->kill_reason = NULL;
	if (pp->releasing) {
		free(reason);
		plugproc_free(pp);
		return;
	}
	if (pp->restart_now) {
		pp->restart_now = false;
		free(reason);
		spawn(pp);
		return;
	}
	if (pp->refused) {
		/* init/start said why; its exit status adds nothing. */
		free(reason);
		set_state(pp, PLUGPROC_REFUSED, NULL);
		return;
	}
	crashed(pp, reason);
}

static void on_child_exit(void *ctx, const siginfo_t *si)
{
	reaped(ctx, si);
}

/* ---- frames from the process ------------------------------------------- */

static void bad_frame(struct plugproc *pp, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void bad_frame(struct plugproc *pp, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *what = strvfmt(fmt, ap);
	va_end(ap);
	kill_for(pp, strfmt("sent a malformed frame: %s", what ? what : "?"));
	free(what);
}

/* Text from the process, for a log line: printable ASCII only, bounded. */
static char *clean_text(const orbit_payload *p)
{
	size_t n = p->len < 512 ? p->len : 512;
	char *s = malloc(n + 1);
	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++)
		s[i] = p->data[i] >= 0x20 && p->data[i] < 0x7f ? (char)p->data[i] : '?';
	s[n] = 0;
	return s;
}

static int on_sub(struct plugproc *pp, const struct link_frame *f)
{
	orbit_bus *b = bus_of(pp, f->bus);
	char key[LINK_TOPIC_MAX + 8];
	if (!b) {
		bad_frame(pp, "bus %u", f->bus);
		return -1;
	}
	sub_key(key, sizeof key, f->bus, f->topic);
	if (f->type == LINK_UNSUB) {
		if (json_object_get(pp->subs, key)) {
			orbit_bus_unsubscribe(b, f->topic, &pp->ep[f->bus]);
			json_object_del(pp->subs, key);
		}
		return 0;
	}
	if (json_object_get(pp->subs, key))
		return 0;
	if (json_object_size(pp->subs) >= MAX_SUBS) {
		kill_for(pp, strfmt("subscribed to more than %d topics", MAX_SUBS));
		return -1;
	}
	int rc = orbit_bus_subscribe(b, f->topic, on_bus_msg, &pp->ep[f->bus]);
	if (rc == -EINVAL) {
		bad_frame(pp, "subscription to an invalid topic");
		return -1;
	}
	if (rc == 0)
		json_object_set_new(pp->subs, key, json_true());
	return 0;
}

/* A report's "stats": {"local": S, "mqtt": S} (mqtt when exported), each
 * an orbiter's snapshot (orbit/stats.h) with an "operations" object of
 * objects whose histograms rebuild and a "connections" array. The values
 * are the plugin's word, shown as they are (orbitctl cleans text); this is
 * the shape that readers rely on. */
static bool stats_ok(json_t *st)
{
	const char *bus, *name;
	json_t *s, *op;
	if (!json_is_object(json_object_get(st, "local")))
		return false;
	json_object_foreach(st, bus, s) {
		json_t *ops = json_object_get(s, "operations");
		if ((strcmp(bus, "local") != 0 && strcmp(bus, "mqtt") != 0) || !json_is_object(ops) ||
		    !json_is_array(json_object_get(s, "connections")))
			return false;
		json_object_foreach(ops, name, op) {
			json_t *lat = json_object_get(op, "latency_seconds");
			orbit_histogram h;
			if (!json_is_object(op) || (lat && orbit_histogram_from_json(lat, &h) < 0))
				return false;
		}
	}
	return true;
}

static int on_frame(void *ctx, const struct link_frame *f)
{
	struct plugproc *pp = ctx;
	pp->last_heard = now();
	switch (f->type) {
	case LINK_SUB:
	case LINK_UNSUB:
		return on_sub(pp, f);
	case LINK_PUB: {
		orbit_bus *b = bus_of(pp, f->bus);
		if (!b || (f->flags & ~(unsigned)ORBIT_PUB_AFTER_SUBACK)) {
			bad_frame(pp, "publish on bus %u with flags 0x%x", f->bus, f->flags);
			return -1;
		}
		/* Tagged only when it is the message the tag announced. */
		if (pp->out_tag.id && f->bus == 0 && calltag_fp(&f->p) == pp->out_tag.fp)
			calltag_output(pp->out_tag.id, f->topic, &f->p, pp);
		pp->out_tag = (struct link_tag){0};
		int rc = orbit_bus_publish(b, f->topic, &f->p, f->flags);
		if (tap)
			tap(tap_ctx, pp->d->name, pp->identifier, ORBIT_DIR_SENT, f->bus, f->topic, &f->p, rc);
		if (rc == -EINVAL) {
			bad_frame(pp, "publish to an invalid topic");
			return -1;
		}
		return 0;
	}
	/* calltag accepts tags and ends only of calls this process took. */
	case LINK_OUT_TAG:
		if (f->p.len != sizeof pp->out_tag) {
			bad_frame(pp, "output tag of %zu bytes", f->p.len);
			return -1;
		}
		memcpy(&pp->out_tag, f->p.data, sizeof pp->out_tag);
		return 0;
	case LINK_CALL_DONE: {
		struct link_done dn;
		if (f->p.len != sizeof dn) {
			bad_frame(pp, "call end of %zu bytes", f->p.len);
			return -1;
		}
		memcpy(&dn, f->p.data, sizeof dn);
		calltag_done(dn.id, dn.outputs, pp);
		return 0;
	}
	case LINK_PONG:
		return 0;
	case LINK_READY:
		if (pp->state != PLUGPROC_STARTING) {
			bad_frame(pp, "READY twice");
			return -1;
		}
		olog(LOG_INFO, "plugin %s: process %d ready", pp->d->name, (int)pp->pid);
		if (pp->reconfig_pending) {
			char *why = NULL;
			if (send_reconfig(pp, &why) < 0)
				olog(LOG_WARNING, "plugin %s: %s", pp->d->name, why);
			free(why);
		}
		set_state(pp, PLUGPROC_RUNNING, NULL);
		return 0;
	case LINK_FAIL: {
		if (pp->state != PLUGPROC_STARTING) {
			bad_frame(pp, "FAIL after READY");
			return -1;
		}
		pp->refused = true;
		char *why = clean_text(&f->p);
		free(pp->reason);
		pp->reason = why;
		return 0;
	}
	case LINK_REPORT: {
		json_t *rep = json_loadb((const char *)f->p.data, f->p.len, 0, NULL);
		if (!json_is_object(rep) || !json_is_array(json_object_get(rep, "connections")) ||
		    !json_is_array(json_object_get(rep, "pending")) ||
		    !json_is_array(json_object_get(rep, "operations")) ||
		    !stats_ok(json_object_get(rep, "stats"))) {
			json_decref(rep);
			bad_frame(pp, "unreadable report");
			return -1;
		}
		json_decref(pp->report);
		pp->report = rep;
		json_decref(pp->stats);
		pp->stats = json_incref(json_object_get(rep, "stats"));
		return 0;
	}
	case LINK_RECONFIGURED:
		if (f->p.len) {
			char *why = clean_text(&f->p);
			olog(LOG_WARNING, "plugin %s: reload: %s", pp->d->name, why ? why : "?");
			free(why);
		}
		return 0;
	default:
		bad_frame(pp, "frame type %u is not the plugin's to send", f->type);
		return -1;
	}
}

static void on_eof_grace(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	kill_for(arg, strfmt("closed its socket to orbitd"));
}

static void on_down(void *ctx, int err, const char *why)
{
	struct plugproc *pp = ctx;
	if (err == EPROTO) {
		bad_frame(pp, "%s", why ? why : "?");
		return;
	}
	if (pp->releasing)
		return; /* it is exiting as asked */
	struct timeval tv = tv_of(EOF_GRACE);
	event_add(pp->eof_ev, &tv);
}

/* ---- supervision -------------------------------------------------------- */

static double tick_period(const struct plugproc *pp)
{
	double p = pp->iso.liveness_timeout / 4;
	for (size_t i = 0; i < pp->d->n_ops; i++)
		if (pp->op_timeout[i] > 0 && pp->op_timeout[i] / 4 < p)
			p = pp->op_timeout[i] / 4;
	return p < 0.05 ? 0.05 : p > 1.0 ? 1.0 : p;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct plugproc *pp = arg;
	double t = now(), since = 0;
	uint32_t phase = atomic_load(&pp->slots->phase);
	/* Handlers past their operation's timeout. */
	uint32_t n = atomic_load(&pp->slots->next);
	bool loop_busy = false;
	for (uint32_t i = 0; i < n && i < PLUGSLOTS_MAX && phase == PLUGPHASE_RUNNING; i++) {
		uint32_t op1 = atomic_load_explicit(&pp->slots->slot[i].op1, memory_order_acquire);
		if (!op1 || op1 - 1 >= pp->d->n_ops)
			continue;
		double limit = pp->op_timeout[op1 - 1];
		since = (double)atomic_load(&pp->slots->slot[i].since_ns) / 1e9;
		/* Slot 0 is the loop thread's: while its handler runs within
		 * a timeout, that timeout watches it, not the pings. */
		if (i == 0 && limit > 0)
			loop_busy = true;
		if (limit > 0 && t - since > limit) {
			kill_for(pp, strfmt("handler of %s ran past its timeout of %g s",
					    op_at(pp->d, op1 - 1)->name, limit));
			return;
		}
	}
	/* Liveness: the loop of the process answers pings (any frame will do). */
	double live = pp->iso.liveness_timeout;
	if (!loop_busy && t - pp->last_heard > live) {
		if (phase == PLUGPHASE_INIT || phase == PLUGPHASE_START)
			kill_for(pp, strfmt("did not finish %s within %g s",
					    phase == PLUGPHASE_INIT ? "init" : "start", live));
		else
			kill_for(pp, strfmt("stopped answering liveness pings for %g s", live));
		return;
	}
	if (t - pp->last_ping >= live / 4 && pp->link) {
		pp->ping_token++;
		link_send_data(pp->link, LINK_PING, &pp->ping_token, sizeof pp->ping_token);
		pp->last_ping = t;
	}
}

/* ---- spawning ----------------------------------------------------------- */

static void spawn_failed(struct plugproc *pp, const char *what, int err)
{
	crashed(pp, strfmt("cannot start its process: %s: %s", what, strerror(err)));
}

static void spawn(struct plugproc *pp)
{
	int sv[2];
	pp->refused = false;
	pp->reconfig_pending = false; /* forked with the config in force */
	memset(pp->slots, 0, sizeof *pp->slots);
	/* Slot 0 is the loop thread's (plugchild claims it before init). */
	atomic_store(&pp->slots->next, 1);
	pp->out_tag = (struct link_tag){0};
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		spawn_failed(pp, "socketpair", errno);
		return;
	}
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(sv[0]);
		close(sv[1]);
		spawn_failed(pp, "fork", e);
		return;
	}
	if (pid == 0) {
		struct plugchild_args a = {
			.sock = sv[1],
			.slots = pp->slots,
			.d = pp->d,
			.pcfg = pp->pcfg,
			.config = pp->config,
			.iso = pp->iso,
			.env = pp->env,
			.exported = pp->pcfg && pp->pcfg->exported && pp->env->mqtt,
			.parent = parent,
		};
		plugchild_main(&a);
	}
	close(sv[1]);
	setpgid(pid, pid); /* also done by the child: whoever runs first */
	pp->pid = pid;
	if (!(pp->watch = childwatch_new(pp->env->base, pid, on_child_exit, pp)) ||
	    !(pp->link = link_new(pp->env->base, sv[0], PARENT_MAX_OUT, on_frame, on_down, pp))) {
		/* Without a watch or link there is no supervising it. */
		int e = errno;
		close(sv[0]);
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		childwatch_free(pp->watch);
		pp->watch = NULL;
		pp->pid = 0;
		spawn_failed(pp, "supervision", e);
		return;
	}
	pp->last_heard = pp->last_ping = now();
	struct timeval tv = tv_of(tick_period(pp));
	event_add(pp->tick_ev, &tv);
	olog(LOG_INFO, "plugin %s: process %d started", pp->d->name, (int)pid);
	bool first = !pp->started_once;
	pp->started_once = true;
	if (!first)
		set_state(pp, PLUGPROC_STARTING, NULL);
	else
		pp->state = PLUGPROC_STARTING; /* plugproc_new's caller knows */
}

struct plugproc *plugproc_new(const struct host_env *env, const orbit_plugin_desc *d,
			      const struct ocfg_plugin *pcfg, struct plugcfg *config,
			      const struct orbitd_config *cfg, plugproc_state_fn fn, void *ctx,
			      char **why)
{
	*why = NULL;
	struct plugproc *pp = calloc(1, sizeof *pp);
	const char *id = pcfg && pcfg->identifier ? pcfg->identifier : d->name;
	size_t nops = d->n_ops ? d->n_ops : 1;
	if (!pp || !(pp->op_timeout = calloc(nops, sizeof(double))) ||
	    !(pp->in = calloc(nops, sizeof *pp->in)) || !(pp->out = calloc(nops, sizeof *pp->out)) ||
	    !(pp->identifier = strdup(id)) || !(pp->subs = json_object()))
		goto nomem;
	for (size_t i = 0; i < d->n_ops; i++) {
		char *e = NULL;
		/* Validated already: only memory can fail here. */
		if (host_io_spec(&op_at(d, i)->input, &pp->in[i], &e) < 0 ||
		    host_io_spec(&op_at(d, i)->output, &pp->out[i], &e) < 0) {
			free(e);
			goto nomem;
		}
	}
	pp->env = env;
	pp->d = d;
	pp->pcfg = pcfg;
	pp->cfg = cfg;
	pp->config = config;
	config = NULL;
	pp->fn = fn;
	pp->ctx = ctx;
	pp->drop_log = (struct ratelimit)RATELIMIT_INIT(1.0);
	pp->ep[0] = (struct bus_ep){pp, 0};
	pp->ep[1] = (struct bus_ep){pp, 1};
	read_limits(pp, cfg);
	pp->slots = mmap(NULL, sizeof *pp->slots, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (pp->slots == MAP_FAILED) {
		pp->slots = NULL;
		goto nomem;
	}
	if (!(pp->tick_ev = event_new(env->base, -1, EV_PERSIST, on_tick, pp)) ||
	    !(pp->eof_ev = evtimer_new(env->base, on_eof_grace, pp)) ||
	    !(pp->restart_ev = evtimer_new(env->base, on_restart_due, pp)) ||
	    !(pp->stop_ev = evtimer_new(env->base, on_stop_timeout, pp)))
		goto nomem;
	pp->next = all;
	all = pp;
	spawn(pp);
	return pp;
nomem:
	plugcfg_free(config);
	*why = strfmt("cannot set up its process: out of memory");
	if (pp) {
		pp->next = NULL;
		plugproc_free(pp);
	}
	return NULL;
}

/* ---- the rest of the API ------------------------------------------------ */

enum plugproc_state plugproc_state(const struct plugproc *pp)
{
	return pp->state;
}

const char *plugproc_reason(const struct plugproc *pp)
{
	return pp->reason;
}

pid_t plugproc_pid(const struct plugproc *pp)
{
	return pp->pid;
}

unsigned plugproc_restarts(const struct plugproc *pp)
{
	return pp->restarts;
}

unsigned plugproc_crashes(const struct plugproc *pp)
{
	double t = now();
	unsigned n = 0;
	for (unsigned i = 0; i < pp->n_crash_at; i++)
		n += t - pp->crash_at[i] <= pp->iso.window;
	return n;
}

double plugproc_restart_in(const struct plugproc *pp)
{
	return pp->state == PLUGPROC_RESTARTING ? pp->restart_at - now() : -1;
}

const char *plugproc_identifier(const struct plugproc *pp)
{
	return pp->identifier;
}

void plugproc_restart(struct plugproc *pp)
{
	pp->n_crash_at = 0;
	event_del(pp->restart_ev);
	pp->restarts++;
	olog(LOG_NOTICE, "plugin %s: restart requested", pp->d->name);
	if (pp->pid) {
		pp->restart_now = true;
		kill_for(pp, strfmt("restarted by request"));
		return;
	}
	spawn(pp);
}

int plugproc_reconfigure(struct plugproc *pp, const struct ocfg_plugin *pcfg,
			 struct plugcfg *config, const struct orbitd_config *cfg, char **why)
{
	*why = NULL;
	pp->pcfg = pcfg;
	pp->cfg = cfg;
	read_limits(pp, cfg);
	if (config) {
		plugcfg_free(pp->config);
		pp->config = config;
	}
	if (pp->state == PLUGPROC_FAILED || pp->state == PLUGPROC_REFUSED) {
		/* A reload is a new chance (plugproc.h). */
		pp->n_crash_at = 0;
		spawn(pp);
		return 0;
	}
	if (pp->state == PLUGPROC_STARTING) {
		/* Forked with the old values: it gets these once READY. */
		pp->reconfig_pending = true;
		return 0;
	}
	if (!pp->link || pp->state != PLUGPROC_RUNNING)
		return 0; /* the next process starts with these */
	return send_reconfig(pp, why);
}

static int send_reconfig(struct plugproc *pp, char **why)
{
	pp->reconfig_pending = false;
	char *text = plugchild_reconfig_text(pp->pcfg, pp->config);
	int rc = text ? link_send_data(pp->link, LINK_RECONFIG, text, strlen(text)) : -ENOMEM;
	free(text);
	if (rc < 0)
		*why = strfmt("cannot send the new config to its process: %s", strerror(-rc));
	return rc;
}

void plugproc_close_all(struct plugproc *pp)
{
	if (!pp->link)
		return;
	pp->close_token++;
	link_send_data(pp->link, LINK_CLOSE_ALL, &pp->close_token, sizeof pp->close_token);
}

static bool str_is(json_t *v, const char *s)
{
	const char *t = json_string_value(v);
	return t && !strcmp(t, s);
}

bool plugproc_has_connection(const struct plugproc *pp, const char *remote, const char *operation)
{
	size_t i;
	json_t *c;
	if (!pp->pid)
		return false;
	json_array_foreach(json_object_get(pp->report, "connections"), i, c)
		if (str_is(json_object_get(c, "remote"), remote) &&
		    str_is(json_object_get(c, "operation"), operation))
			return true;
	return false;
}

int plugproc_close(struct plugproc *pp, const char *remote, const char *operation, bool graceful)
{
	if (!pp->link || !pp->pid)
		return -ENOTCONN;
	if (!plugproc_has_connection(pp, remote, operation))
		return -ENOENT;
	return link_send_close(pp->link, remote, operation, graceful);
}

size_t plugproc_connections(const struct plugproc *pp)
{
	if (!pp->pid)
		return 0;
	size_t n = json_array_size(json_object_get(pp->report, "connections"));
	/* A report written before the process saw our CLOSE_ALL may show no
	 * connection the close is about to find: count one until it has. */
	json_int_t seen = json_integer_value(json_object_get(pp->report, "closed_all"));
	if ((uint64_t)seen < pp->close_token && !n)
		n = 1;
	return n;
}

const orbit_plugin_desc *plugproc_desc(const struct plugproc *pp)
{
	return pp->d;
}

const struct plugcfg *plugproc_plugcfg(const struct plugproc *pp)
{
	return pp->config;
}

int plugproc_op_info(struct plugproc *pp, size_t i, const struct ocfg_plugin *pcfg,
		     struct host_op_info *info)
{
	const orbit_plugin_op *op = op_at(pp->d, i);
	const struct ocfg_policy *ov = pcfg ? ocfg_plugin_policy(pcfg, op->name) : NULL;
	unsigned max_inflight;
	memset(info, 0, sizeof *info);
	info->name = op->name;
	info->doc = op->doc;
	info->input = &pp->in[i];
	info->output = &pp->out[i];
	info->blocking = op->flags & ORBIT_OP_BLOCKING;
	info->policy = host_effective_policy(op, ov);
	orbitd_config_op_limits(pp->cfg, pp->d->name, op->name, &info->timeout, &max_inflight);
	info->max_inflight = max_inflight;
	json_t *o = pp->pid ? json_array_get(json_object_get(pp->report, "operations"), i) : NULL;
	info->connections = (size_t)json_integer_value(json_object_get(o, "connections"));
	info->inflight = (size_t)json_integer_value(json_object_get(o, "inflight"));
	info->dropped = (uint64_t)json_integer_value(json_object_get(o, "dropped"));
	return 0;
}

/* A time of the report (absolute, this machine's monotonic clock) as
 * seconds relative to t, the way orbitctl lists them; null stays null. */
static json_t *relative(json_t *v, double t, bool until)
{
	if (!json_is_number(v))
		return json_null();
	double x = json_number_value(v);
	return json_real(until ? x - t : t - x);
}

json_t *plugproc_list_json(const struct plugproc *pp, const char *what, double t)
{
	json_t *out = json_array();
	json_t *list = pp->pid ? json_object_get(pp->report, what) : NULL;
	bool conns = strcmp(what, "connections") == 0;
	size_t i;
	json_t *e;
	json_array_foreach(list, i, e) {
		if (!json_is_object(e))
			continue;
		json_t *o = json_deep_copy(e);
		json_object_del(o, "bus");
		json_object_del(o, "close_topic");
		json_object_set_new(o, "side", json_string(conns ? "plugin" : "pending"));
		json_object_set_new(o, "age", relative(json_object_get(e, "created"), t, false));
		json_object_del(o, "created");
		if (conns) {
			json_object_set_new(o, "last_use",
					    relative(json_object_get(e, "last_use"), t, false));
			json_object_set_new(o, "last_seen",
					    relative(json_object_get(e, "last_seen"), t, false));
			json_object_set_new(o, "dead_in",
					    relative(json_object_get(e, "dead_at"), t, true));
			json_object_set_new(o, "keepalive_deadline",
					    relative(json_object_get(e, "their_deadline"), t, true));
			json_object_del(o, "dead_at");
			json_object_del(o, "their_deadline");
		}
		json_array_append_new(out, o);
	}
	return out;
}

static void plugproc_free(struct plugproc *pp)
{
	for (struct plugproc **p = &all; *p; p = &(*p)->next)
		if (*p == pp) {
			*p = pp->next;
			break;
		}
	if (pp->tick_ev)
		event_free(pp->tick_ev);
	if (pp->eof_ev)
		event_free(pp->eof_ev);
	if (pp->restart_ev)
		event_free(pp->restart_ev);
	if (pp->stop_ev)
		event_free(pp->stop_ev);
	if (pp->slots)
		munmap(pp->slots, sizeof *pp->slots);
	json_decref(pp->subs);
	json_decref(pp->report);
	json_decref(pp->stats);
	plugcfg_free(pp->config);
	for (size_t i = 0; i < pp->d->n_ops && pp->in && pp->out; i++) {
		orbit_spec_clear(&pp->in[i]);
		orbit_spec_clear(&pp->out[i]);
	}
	free(pp->in);
	free(pp->out);
	free(pp->op_timeout);
	free(pp->identifier);
	free(pp->reason);
	free(pp->kill_reason);
	free(pp);
}

static void on_stop_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct plugproc *pp = arg;
	olog(LOG_WARNING, "plugin %s: process %d did not stop in time; killed", pp->d->name,
	     (int)pp->pid);
	kill_for(pp, strfmt("did not stop in time"));
}

void plugproc_release(struct plugproc *pp, double timeout)
{
	if (!pp || pp->releasing)
		return;
	pp->releasing = true;
	event_del(pp->restart_ev);
	event_del(pp->tick_ev);
	if (!pp->pid) {
		plugproc_free(pp);
		return;
	}
	drop_subscriptions(pp);
	if (pp->link) {
		link_send_data(pp->link, LINK_STOP, NULL, 0);
		link_flush_blocking(pp->link, 0); /* one try: the loop may be over */
	}
	struct timeval tv = tv_of(timeout);
	event_add(pp->stop_ev, &tv);
}

void plugproc_set_tap(plugproc_tap_fn fn, void *ctx)
{
	tap = fn;
	tap_ctx = fn ? ctx : NULL;
}

void plugproc_reap_all(double timeout)
{
	double deadline = now() + timeout;
	bool running = true;
	while (running && now() < deadline) {
		running = false;
		for (struct plugproc *pp = all, *next; pp; pp = next) {
			next = pp->next;
			siginfo_t si;
			if (pp->pid && childwatch_wait(pp->watch, 0, &si) == 0) {
				pp->releasing = true;
				reaped(pp, &si);
			} else if (pp->pid) {
				running = true;
			}
		}
		if (running)
			poll(NULL, 0, 10);
	}
	while (all) {
		struct plugproc *pp = all;
		if (pp->pid) {
			olog(LOG_WARNING, "plugin %s: process %d did not stop in time; killed",
			     pp->d->name, (int)pp->pid);
			kill(-pp->pid, SIGKILL);
			kill(pp->pid, SIGKILL);
			siginfo_t si;
			childwatch_wait(pp->watch, -1, &si);
			pp->releasing = true;
			reaped(pp, &si);
		} else {
			plugproc_free(pp);
		}
	}
}

json_t *plugproc_stats(const struct plugproc *pp)
{
	return pp->stats;
}
