/* plugchild.c — see plugchild.h.
 *
 * One plugin per process, so the process's state is one static struct. The
 * link is the only way in or out: frames from the daemon are deliveries for
 * the bridged buses and the supervisor's PING, STOP, CLOSE_ALL and
 * RECONFIG; what goes back is the bridge's SUB/UNSUB/PUB, PONG, READY or
 * FAIL, RECONFIGURED and REPORT (the connections and counters orbitctl
 * shows, sent when a connection comes or goes and with every PONG; with
 * them the plugin orbiters' stats, orbit/stats.h, for `orbitctl stats`).
 */
#include "plugchild.h"
#include "calltag.h"
#include "link.h"
#include "linkbus.h"
#include "log.h"
#include "loopq.h"
#include "plugcfg.h"
#include "plugslots.h"
#include "strfmt.h"
#include "workers.h"

#include <orbit/orbiter.h>
#include <orbit/stats.h>

#include <errno.h>
#include <fcntl.h>
#include <event2/event.h>
#include <jansson.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Worker threads for the plugin's blocking operations (started lazily). */
#define CHILD_WORKERS 4
/* The output the daemon has not read yet, at most. */
#define CHILD_MAX_OUT (64u << 20)
/* An orbiter's stats in a report, at most (JSON bytes): past it the
 * per-connection list is left out (a plugin with thousands of cores); the
 * per-operation counters, which include every connection, always go. */
#define CHILD_STATS_MAX (1u << 20)

static struct {
	const struct plugchild_args *a;
	struct event_base *base;
	struct link *link;
	orbit_bus *bus[2];
	struct host_env env;
	orbit_host *h;
	const struct ocfg_plugin *pcfg; /* the section in force */
	struct ocfg_plugin *own;        /* ... when a reload built it here */
	struct event *report_ev;
	uint64_t closed_all; /* token of the last CLOSE_ALL handled */
	struct link_tag in_tag; /* the daemon's last TAG, for its next DELIVER */
} C;

/* ---- exit and sandbox -------------------------------------------------- */

/* Registered first after the fork, so it runs after every handler the
 * plugin registers and before any the daemon registered: those (and the
 * daemon's unflushed stdio buffers) belong to the parent. */
static void leave(int status, void *arg)
{
	(void)arg;
	_exit(status);
}

static void drop_capabilities(void)
{
	/* Bounding set first (needs CAP_SETPCAP, which goes last): an exec'd
	 * command of a root daemon then gets no capabilities back either. */
	for (int cap = 0; cap <= 63; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno == EINVAL)
			break;
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof data);
	syscall(SYS_capset, &hdr, data);
}

/* System calls a plugin process is refused (EPERM), whatever its user:
 * those that reach into another process — the daemon runs as the same
 * user, so ptrace or process_vm_writev would be a way out of the box —
 * and those that change the machine rather than serve a plugin. Most of
 * the latter need capabilities it no longer has anyway; the list keeps
 * them shut should a capability come back some other way. */
static const int denied_syscalls[] = {
	SYS_ptrace, SYS_process_vm_readv, SYS_process_vm_writev, SYS_kcmp,
#ifdef SYS_pidfd_getfd
	SYS_pidfd_getfd,
#endif
	SYS_mount, SYS_umount2, SYS_pivot_root, SYS_swapon, SYS_swapoff, SYS_reboot,
	SYS_kexec_load,
#ifdef SYS_kexec_file_load
	SYS_kexec_file_load,
#endif
	SYS_init_module, SYS_finit_module, SYS_delete_module, SYS_bpf, SYS_perf_event_open,
	SYS_keyctl, SYS_add_key, SYS_request_key, SYS_unshare, SYS_setns, SYS_userfaultfd,
	SYS_acct, SYS_quotactl, SYS_settimeofday, SYS_clock_settime, SYS_clock_adjtime,
	SYS_adjtimex, SYS_open_by_handle_at,
#ifdef SYS_iopl
	SYS_iopl, SYS_ioperm,
#endif
};

#if defined(__x86_64__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

/* A seccomp filter refusing denied_syscalls with EPERM (after no_new_privs,
 * so no privilege is needed). Calls of another architecture's ABI (x32,
 * i386 on x86_64), whose numbers mean other calls, are refused as a whole. */
static void deny_syscalls(const char *name)
{
#ifdef NATIVE_AUDIT_ARCH
	enum { N = sizeof denied_syscalls / sizeof denied_syscalls[0] };
	struct sock_filter f[N + 8];
	size_t n = 0;
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, arch));
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_AUDIT_ARCH, 1, 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, nr));
#if defined(__x86_64__)
	/* x32 calls carry bit 30 in the number. */
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
#endif
	for (size_t i = 0; i < N; i++)
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
						      (uint32_t)denied_syscalls[i], (uint8_t)(N - i), 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
	struct sock_fprog prog = {(unsigned short)n, f};
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
		olog(LOG_WARNING, "plugin %s: no system call filter: %s", name, strerror(errno));
#else
	olog(LOG_DEBUG, "plugin %s: no system call filter on this architecture", name);
#endif
}

static void set_limit(int resource, uint64_t v, const char *what)
{
	if (!v)
		return; /* unlimited: keep what the daemon has */
	struct rlimit rl = {(rlim_t)v, (rlim_t)v};
	if (setrlimit(resource, &rl) < 0)
		olog(LOG_WARNING, "plugin %s: cannot limit %s to %llu: %s", C.a->d->name, what,
		     (unsigned long long)v, strerror(errno));
}

static void sandbox(const struct plugchild_args *a)
{
	sigset_t none;
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	/* A write to a daemon that went away fails with EPIPE instead. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	/* In ps, top and pkill: which plugin, not a second orbitd. */
	char comm[16];
	snprintf(comm, sizeof comm, "orbit:%s", a->d->name);
	prctl(PR_SET_NAME, comm, 0, 0, 0);
	if (getppid() != a->parent)
		_exit(1); /* the daemon died before the signal was armed */
	setpgid(0, 0);
	/* The link to fd 3, everything else above 2 closed. */
	/* dup2 would clear close-on-exec: what the plugin runs must not get the link. */
	if (a->sock != 3 && dup3(a->sock, 3, O_CLOEXEC) < 0)
		_exit(1);
	close_range(4, ~0U, 0);
	set_limit(RLIMIT_NOFILE, a->iso.files, "open files");
	set_limit(RLIMIT_NPROC, a->iso.processes, "processes");
#ifdef __SANITIZE_ADDRESS__
	/* ASan keeps terabytes of shadow address space mapped. */
	if (a->iso.memory)
		olog(LOG_DEBUG, "plugin %s: memory limit not applied in a sanitizer build",
		     a->d->name);
#else
	set_limit(RLIMIT_AS, a->iso.memory, "address space");
#endif
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	drop_capabilities();
	deny_syscalls(a->d->name);
}

/* ---- what the supervisor reads ----------------------------------------- */

static _Thread_local int slot_ix = -1;

static void call_begin(void *ctx, size_t op)
{
	struct plugslots *s = ctx;
	if (slot_ix == -1) {
		uint32_t n = atomic_fetch_add(&s->next, 1);
		slot_ix = n < PLUGSLOTS_MAX ? (int)n : -2; /* -2: untracked thread */
	}
	if (slot_ix < 0)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	atomic_store_explicit(&s->slot[slot_ix].since_ns,
			      (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec,
			      memory_order_relaxed);
	atomic_store_explicit(&s->slot[slot_ix].op1, (uint32_t)op + 1, memory_order_release);
}

static void call_end(void *ctx)
{
	struct plugslots *s = ctx;
	if (slot_ix >= 0)
		atomic_store_explicit(&s->slot[slot_ix].op1, 0, memory_order_release);
}

static void set_phase(enum plugphase p)
{
	atomic_store(&C.a->slots->phase, (uint32_t)p);
}

/* Exit for a reason of this process's own, told to the supervisor. */
static __attribute__((noreturn)) void die(int status, const char *why)
{
	snprintf(C.a->slots->why, sizeof C.a->slots->why, "%s", why);
	_exit(status);
}

/* ---- report ------------------------------------------------------------ */

static json_t *times_or_null(double t)
{
	return t < 0 ? json_null() : json_real(t);
}

struct rep {
	json_t *list;
	orbit_orbiter *o;
	int bus; /* 0: the daemon's in-process bus, 1: MQTT */
};

static int rep_conn(void *ctx, const orbit_conn_info *ci)
{
	struct rep *r = ctx;
	orbit_remote_times rt = {-1, -1, -1};
	orbit_orbiter_remote_times(r->o, ci->remote_id, &rt);
	json_array_append_new(r->list, json_pack(
		"{s:s,s:s,s:s,s:s,s:o,s:f,s:f,s:b,s:o,s:o,s:o}", "local", orbit_orbiter_id(r->o),
		"remote", ci->remote_id, "operation", ci->operation, "input_topic",
		ci->input_topic, "output_topic",
		ci->output_topic ? json_string(ci->output_topic) : json_null(), "created",
		ci->created, "last_use", ci->last_use, "soft_closed", ci->soft_closed, "last_seen",
		times_or_null(rt.last_seen), "dead_at", times_or_null(rt.dead_at),
		"their_deadline", times_or_null(rt.their_deadline)));
	/* What the daemon needs to close it for us, should we die. */
	json_t *last = json_array_get(r->list, json_array_size(r->list) - 1);
	json_object_set_new(last, "bus", json_integer(r->bus));
	if (ci->close_to_remote_topic)
		json_object_set_new(last, "close_topic", json_string(ci->close_to_remote_topic));
	return 0;
}

static int rep_pending(void *ctx, const orbit_pending_info *pi)
{
	struct rep *r = ctx;
	json_array_append_new(r->list, json_pack("{s:s,s:s,s:s,s:f}", "local",
						 orbit_orbiter_id(r->o), "remote", pi->remote_id,
						 "operation", pi->operation, "created", pi->created));
	return 0;
}

/* The stats of inst's orbiter (orbit_orbiter_stats_json), bounded by
 * CHILD_STATS_MAX; "connections_omitted": true when its list was left out.
 * NULL on ENOMEM: the report is then skipped (the next one will do). */
static json_t *stats_of(orbit_lender *inst)
{
	json_t *s = orbit_orbiter_stats_json(orbit_lender_orbiter(inst));
	if (s && json_dumpb(s, NULL, 0, JSON_COMPACT) > CHILD_STATS_MAX) {
		json_object_set_new(s, "connections", json_array());
		json_object_set_new(s, "connections_omitted", json_true());
	}
	return s;
}

static void send_report(void)
{
	json_t *conns = json_array(), *pend = json_array(), *ops = json_array();
	orbit_lender *inst[] = {host_orbiter(C.h), host_remote_orbiter(C.h)};
	for (size_t i = 0; i < 2; i++) {
		if (!inst[i])
			continue;
		struct rep r = {conns, orbit_lender_orbiter(inst[i]), (int)i};
		orbit_orbiter_foreach_connection(r.o, rep_conn, &r);
		r.list = pend;
		orbit_orbiter_foreach_pending(r.o, rep_pending, &r);
	}
	for (size_t i = 0; i < host_op_count(C.h); i++) {
		struct host_op_info oi = {0};
		host_op_info(C.h, i, C.pcfg, &oi);
		json_array_append_new(ops, json_pack("{s:I,s:I,s:I}", "connections",
						     (json_int_t)oi.connections, "inflight",
						     (json_int_t)oi.inflight, "dropped",
						     (json_int_t)oi.dropped));
	}
	json_t *stats = json_pack("{s:o}", "local", stats_of(inst[0]));
	if (stats && inst[1])
		json_object_set_new(stats, "mqtt", stats_of(inst[1]));
	json_t *rep = json_pack("{s:o,s:o,s:o,s:I,s:I,s:o}", "connections", conns, "pending", pend,
				"operations", ops, "link_dropped", (json_int_t)link_dropped(C.link),
				"closed_all", (json_int_t)C.closed_all, "stats", stats);
	char *text = rep ? json_dumps(rep, JSON_COMPACT) : NULL;
	if (text)
		link_send_data(C.link, LINK_REPORT, text, strlen(text));
	free(text);
	json_decref(rep);
}

static void on_report_due(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (C.h)
		send_report();
}

/* A connection came or went: report once this loop pass is done. */
static void on_orbiter_event(void *ctx, orbit_orbiter *o, const orbit_event *ev)
{
	(void)o;
	bool remote = ctx != NULL;
	if (remote && ev->kind == ORBIT_EV_CONNECTED)
		olog(LOG_INFO, "plugin %s: remote core %s connected for %s", C.a->d->name,
		     ev->conn->remote_id, ev->conn->operation);
	else if (remote && ev->kind == ORBIT_EV_DISCONNECTED)
		olog(LOG_INFO, "plugin %s: remote core %s disconnected from %s (%s)", C.a->d->name,
		     ev->conn->remote_id, ev->conn->operation,
		     ev->graceful ? "graceful" : "graceless");
	else if (remote && ev->kind == ORBIT_EV_REMOTE_DEAD)
		olog(LOG_WARNING, "plugin %s: remote core %s is dead", C.a->d->name, ev->remote_id);
	event_active(C.report_ev, EV_WRITE, 0);
}

/* ---- reload ------------------------------------------------------------ */

static json_t *idlist_to_json(orbit_idlist l)
{
	json_t *a = json_array();
	for (size_t i = 0; l && l[i]; i++)
		json_array_append_new(a, json_string(l[i]));
	return a;
}

/* Set path ("a.b") in obj to v (taken), making the maps on the way. */
static void put_path(json_t *obj, const char *path, json_t *v)
{
	const char *dot = strchr(path, '.');
	if (!dot) {
		json_object_set_new(obj, path, v);
		return;
	}
	char key[256];
	snprintf(key, sizeof key, "%.*s", (int)(dot - path), path);
	json_t *sub = json_object_get(obj, key);
	if (!json_is_object(sub)) {
		sub = json_object();
		json_object_set_new(obj, key, sub);
	}
	put_path(sub, dot + 1, v);
}

char *plugchild_reconfig_text(const struct ocfg_plugin *pcfg, const struct plugcfg *config)
{
	json_t *pols = json_array(), *cfg = config && plugcfg_n_items(config) ? json_object()
									     : json_null();
	for (size_t i = 0; pcfg && i < pcfg->n_policies; i++) {
		const struct ocfg_policy *p = &pcfg->policies[i];
		json_t *o = json_pack("{s:s}", "operation", p->operation);
		if (p->maximum_set)
			json_object_set_new(o, "maximum",
					    p->policy.maximum == OCFG_UNLIMITED
						    ? json_null()
						    : json_integer(p->policy.maximum));
		if (p->policy.allowlist)
			json_object_set_new(o, "allowlist", idlist_to_json(p->policy.allowlist));
		if (p->policy.blocklist)
			json_object_set_new(o, "blocklist", idlist_to_json(p->policy.blocklist));
		if (p->timeout_set)
			json_object_set_new(o, "timeout", json_real(p->timeout));
		if (p->max_inflight_set)
			json_object_set_new(o, "max_inflight", json_integer(p->max_inflight));
		json_array_append_new(pols, o);
	}
	for (size_t i = 0; config && i < plugcfg_n_items(config); i++) {
		const struct plugcfg_item *it = plugcfg_item(config, i);
		json_t *v = it->value_json ? json_loads(it->value_json, JSON_DECODE_ANY, NULL) : NULL;
		if (v && json_is_object(cfg))
			put_path(cfg, it->path, v);
	}
	json_t *all = json_pack("{s:o,s:o}", "policies", pols, "config", cfg);
	char *text = all ? json_dumps(all, JSON_COMPACT) : NULL;
	json_decref(all);
	return text;
}

static int idlist_from_json(json_t *a, orbit_idlist *out)
{
	static const char *const none[] = {NULL};
	int rc = orbit_idlist_dup(none, out);
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v)
		if (rc == 0)
			rc = json_is_string(v) ? orbit_idlist_append(out, json_string_value(v))
					       : -EINVAL;
	return rc;
}

static void section_free(struct ocfg_plugin *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_policies; i++) {
		free(p->policies[i].operation);
		orbit_idlist_free(p->policies[i].policy.allowlist);
		orbit_idlist_free(p->policies[i].policy.blocklist);
	}
	free(p->policies);
	free(p->name);
	free(p);
}

/* The policies of a RECONFIG frame as a section of our own. */
static struct ocfg_plugin *section_from_json(json_t *pols)
{
	struct ocfg_plugin *p = calloc(1, sizeof *p);
	size_t n = json_array_size(pols);
	if (!p || !(p->name = strdup(C.a->d->name)) ||
	    (n && !(p->policies = calloc(n, sizeof *p->policies)))) {
		section_free(p);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_array_get(pols, i), *v;
		struct ocfg_policy *pol = &p->policies[p->n_policies++];
		const char *op = json_string_value(json_object_get(o, "operation"));
		if (!op || !(pol->operation = strdup(op)))
			goto bad;
		if ((v = json_object_get(o, "maximum"))) {
			pol->maximum_set = true;
			pol->policy.maximum = json_is_null(v) ? OCFG_UNLIMITED
							      : (int)json_integer_value(v);
		}
		if ((v = json_object_get(o, "allowlist")) &&
		    idlist_from_json(v, &pol->policy.allowlist) < 0)
			goto bad;
		if ((v = json_object_get(o, "blocklist")) &&
		    idlist_from_json(v, &pol->policy.blocklist) < 0)
			goto bad;
		if ((v = json_object_get(o, "timeout"))) {
			pol->timeout_set = true;
			pol->timeout = json_number_value(v);
		}
		if ((v = json_object_get(o, "max_inflight"))) {
			pol->max_inflight_set = true;
			pol->max_inflight = (unsigned)json_integer_value(v);
		}
	}
	return p;
bad:
	section_free(p);
	return NULL;
}

/* Apply a RECONFIG frame; the answer says what went wrong, if anything. */
static void reconfigure(const orbit_payload *body)
{
	json_error_t je;
	json_t *all = json_loadb((const char *)body->data, body->len, 0, &je);
	char *why = NULL, *text = NULL;
	struct ocfg_plugin *sec = all ? section_from_json(json_object_get(all, "policies")) : NULL;
	struct plugcfg *pc = NULL;
	struct ocfg_value *val = NULL;
	char *section = strfmt("plugins.%s.config", C.a->d->name);
	if (!sec || !section || !(text = json_dumps(json_object_get(all, "config"), JSON_COMPACT | JSON_ENCODE_ANY))) {
		why = strfmt("unreadable reload request");
	} else if (ocfg_value_parse(text, section, &val, &why) == 0) {
		struct ocfg_where where = {section, 1, 1};
		plugcfg_build(C.a->d->config, val, section, &where, &pc, &why);
	}
	if (!why) {
		host_reconfigure(C.h, sec, pc, &why); /* takes pc */
		section_free(C.own);
		C.own = sec;
		C.pcfg = sec;
		sec = NULL;
	}
	link_send_data(C.link, LINK_RECONFIGURED, why ? why : "", why ? strlen(why) : 0);
	ocfg_value_free(val);
	section_free(sec);
	free(section);
	free(text);
	free(why);
	json_decref(all);
	event_active(C.report_ev, EV_WRITE, 0);
}

/* ---- the link ---------------------------------------------------------- */

/* A CLOSE frame (orbitctl close --side plugin): on whichever of the
 * plugin's orbiters holds the connection; the report follows the event. */
static void close_one(const orbit_payload *body)
{
	char remote[LINK_CLOSE_ID_MAX + 1], op[LINK_CLOSE_ID_MAX + 1];
	bool graceful;
	if (!C.h || link_parse_close(body, remote, op, &graceful) < 0)
		return;
	orbit_lender *inst[] = {host_orbiter(C.h), host_remote_orbiter(C.h)};
	for (size_t i = 0; i < 2; i++)
		if (inst[i] && orbit_orbiter_close(orbit_lender_orbiter(inst[i]), remote, op,
						   graceful, NULL) == 0)
			olog(LOG_INFO, "plugin %s: closing its connection with %s for %s (%s, asked)",
			     C.a->d->name, remote, op, graceful ? "graceful" : "graceless");
}

static void stop(void)
{
	set_phase(PLUGPHASE_STOPPING);
	host_release(C.h); /* the shutdown hook, unless a blocking call still runs */
	link_flush_blocking(C.link, 1.0);
	_exit(0);
}

static int on_frame(void *ctx, const struct link_frame *f)
{
	(void)ctx;
	switch (f->type) {
	case LINK_DELIVER:
		/* The host takes the tag with the message (calltag.h). */
		if (C.in_tag.id && f->bus == 0 && calltag_fp(&f->p) == C.in_tag.fp)
			calltag_push(f->topic, C.in_tag.id, C.in_tag.fp);
		C.in_tag = (struct link_tag){0};
		if (f->bus < 2 && C.bus[f->bus])
			linkbus_deliver(C.bus[f->bus], f->topic, &f->p);
		break;
	case LINK_TAG:
		if (f->p.len == sizeof C.in_tag)
			memcpy(&C.in_tag, f->p.data, sizeof C.in_tag);
		break;
	case LINK_PING:
		link_send_data(C.link, LINK_PONG, f->p.data, f->p.len);
		if (C.h)
			send_report();
		break;
	case LINK_STOP:
		stop();
		break;
	case LINK_CLOSE_ALL:
		if (C.h)
			host_close_all(C.h);
		/* The report says from when on its count is after the close. */
		if (f->p.len == sizeof C.closed_all)
			memcpy(&C.closed_all, f->p.data, sizeof C.closed_all);
		event_active(C.report_ev, EV_WRITE, 0);
		break;
	case LINK_RECONFIG:
		if (C.h)
			reconfigure(&f->p);
		break;
	case LINK_CLOSE:
		close_one(&f->p);
		break;
	default:
		break; /* only the daemon writes here, and it sends no other */
	}
	return 0;
}

static void on_down(void *ctx, int err, const char *why)
{
	(void)ctx;
	(void)why;
	/* Our own descriptor went bad under a write (the end of a call is
	 * reported even when the handler sent nothing): the plugin closed it. */
	if (err == EBADF || fcntl(3, F_GETFD) < 0)
		die(5, "closed its socket to orbitd");
	/* The daemon is gone or hung up on us: nobody to serve. */
	_exit(0);
}

static void fail(const char *why)
{
	link_send_data(C.link, LINK_FAIL, why, strlen(why));
	link_flush_blocking(C.link, 1.0);
	_exit(3);
}

/* The host's outputs and ends of the daemon's calls go back as frames,
 * each OUT_TAG right before the PUB it announces. */
static void relay_output(void *ctx, uint64_t id, uint64_t fp)
{
	(void)ctx;
	struct link_tag t = {id, fp};
	link_send_data(C.link, LINK_OUT_TAG, &t, sizeof t);
}

static void relay_done(void *ctx, uint64_t id, unsigned outputs)
{
	(void)ctx;
	struct link_done dn = {.id = id, .outputs = outputs};
	link_send_data(C.link, LINK_CALL_DONE, &dn, sizeof dn);
}

void plugchild_main(const struct plugchild_args *a)
{
	char *why = NULL;
	C.a = a;
	C.pcfg = a->pcfg;
	on_exit(leave, NULL);
	sandbox(a);
	calltag_reset();
	calltag_relay(relay_output, relay_done, NULL);
	if (!(C.base = event_base_new()) ||
	    !(C.link = link_new(C.base, 3, CHILD_MAX_OUT, on_frame, on_down, NULL)) ||
	    !(C.bus[0] = linkbus_new(C.base, C.link, 0)) ||
	    (a->exported && !(C.bus[1] = linkbus_new(C.base, C.link, 1))) ||
	    !(C.report_ev = event_new(C.base, -1, 0, on_report_due, NULL)) ||
	    !(C.env.loopq = loopq_new(C.base)) ||
	    !(C.env.workers = workers_new(C.env.loopq, CHILD_WORKERS))) {
		olog(LOG_ERR, "plugin %s: cannot set up its process: %s", a->d->name,
		     strerror(errno));
		_exit(4);
	}
	C.env.base = C.base;
	C.env.bus = C.bus[0];
	C.env.mqtt = C.bus[1];
	C.env.core_id = a->env->core_id;
	C.env.timers = a->env->timers;
	C.env.discover_topic = a->env->discover_topic;
	C.env.call_begin = call_begin;
	C.env.call_end = call_end;
	C.env.call_hook_ctx = a->slots;
	slot_ix = 0; /* the loop thread's slot (the supervisor reserved it) */
	set_phase(PLUGPHASE_INIT);
	if (!(C.h = host_new(&C.env, a->d, a->pcfg, a->config, &why)))
		fail(why ? why : "init failed");
	set_phase(PLUGPHASE_START);
	if (host_start(C.h, &why) < 0)
		fail(why ? why : "start failed");
	set_phase(PLUGPHASE_RUNNING);
	orbit_orbiter_set_event_cb(orbit_lender_orbiter(host_orbiter(C.h)), on_orbiter_event, NULL);
	if (host_remote_orbiter(C.h))
		orbit_orbiter_set_event_cb(orbit_lender_orbiter(host_remote_orbiter(C.h)),
					   on_orbiter_event, C.h);
	link_send_data(C.link, LINK_READY, NULL, 0);
	link_dispatch(C.base);
	/* The loop only ends when its own descriptors went bad under it: the
	 * plugin closed what was not its own. */
	if (fcntl(3, F_GETFD) < 0)
		die(5, "closed its socket to orbitd");
	die(5, "broke its event loop (closed descriptors it does not own?)");
}
