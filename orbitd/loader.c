/* loader.c — see loader.h.
 *
 * Order of checks for one file, so that no plugin function runs before the
 * data says it is a plugin we can drive: regular file → dlopen(RTLD_NOW |
 * RTLD_LOCAL) → the descriptor symbol → host_validate (magic, ABI, sizes,
 * names, operations, schemas, policies, config map) → enabled? → unique name
 * → its config checked against the map → init. Up to that point a failure
 * dlclose's the object (only its constructors ran); after init it stays
 * mapped for good.
 *
 * A reload checks the new config of every active plugin first
 * (loader_prepare): one that does not fit refuses the whole reload, so the
 * running config and every plugin's values stay as they were.
 *
 * A file replaced while its plugin runs is an upgrade: the new file is opened
 * and validated first (a broken one is logged and the running version stays),
 * then the old version's connections are closed gracefully, its shutdown hook
 * runs, and the new one starts. dlopen finds loaded objects by name, so the
 * new file is opened as /proc/self/fd/N of a descriptor kept open for good
 * (the name must never be reused) — and by file identity, so a file rewritten
 * in place (same inode) cannot be told apart from the mapped one: that is
 * logged and ignored; replace files with mv or install(1).
 */
#include "loader.h"
#include "drain.h"
#include "plugcfg.h"
#include "plugproc.h"
#include "strfmt.h"
#include "log.h"

#include <orbit/orbiter.h>

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <event2/event.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

struct lplug {
	struct lplug *next;      /* sorted by file */
	struct lplug_info info;
	char *file, *path, *name, *version, *reason;
	void *dl;                /* kept while ACTIVE/REMOVING and after init ran */
	dev_t dev;               /* identity of the file dl came from */
	ino_t ino;
	struct drain *drain;     /* REMOVING */
	void *next_dl;           /* validated upgrade, started once the old one is gone */
	const orbit_plugin_desc *next_desc;
	struct plugcfg *pending; /* ACTIVE: the config loader_prepare checked */
	struct loader *l;
	bool forget;             /* removed from disk: drop the entry once drained */
	bool reappeared;         /* removed, then back while REMOVING: load it once drained */
};

struct loader {
	const struct host_env *env;
	char *dir;
	char *core_id;
	const struct orbitd_config *cfg;
	struct lplug *head;
	int ifd;
	struct event *iev;
	loader_event_fn cb;
	void *cb_ctx;
};


const char *lplug_state_name(enum lplug_state s)
{
	switch (s) {
	case LPLUG_ACTIVE:
		return "active";
	case LPLUG_REJECTED:
		return "rejected";
	case LPLUG_DISABLED:
		return "disabled";
	case LPLUG_REMOVING:
		return "removing";
	case LPLUG_RESTARTING:
		return "restarting";
	case LPLUG_FAILED:
		return "failed";
	}
	return "?";
}

static void sync_info(struct lplug *p)
{
	p->info.file = p->file;
	p->info.name = p->name;
	p->info.version = p->version;
	p->info.reason = p->reason;
}

static void set_state(struct lplug *p, enum lplug_state st, char *reason)
{
	free(p->reason);
	p->reason = reason;
	p->info.state = st;
	p->info.since = orbit_now();
	if (st != LPLUG_ACTIVE && st != LPLUG_REMOVING)
		p->info.host = NULL;
	if (st == LPLUG_REJECTED || st == LPLUG_DISABLED)
		p->info.proc = NULL; /* released by whoever set the state */
	sync_info(p);
	if (p->l->cb)
		p->l->cb(p->l->cb_ctx, &p->info);
}

struct loader *loader_new(const struct host_env *env, const char *dir, const char *core_id)
{
	struct loader *l = calloc(1, sizeof *l);
	if (!l)
		return NULL;
	l->env = env;
	l->ifd = -1;
	if (!(l->dir = strdup(dir)) || !(l->core_id = strdup(core_id))) {
		free(l->dir);
		free(l);
		errno = ENOMEM;
		return NULL;
	}
	return l;
}

void loader_set_event_cb(struct loader *l, loader_event_fn fn, void *ctx)
{
	l->cb = fn;
	l->cb_ctx = ctx;
}

static struct lplug *find_file(struct loader *l, const char *file)
{
	for (struct lplug *p = l->head; p; p = p->next)
		if (strcmp(p->file, file) == 0)
			return p;
	return NULL;
}

/* Loaded: it holds a host or a plugin process (running or not). */
static bool loaded(const struct lplug *p)
{
	return p->info.host || p->info.proc;
}

static struct lplug *find_active_name(struct loader *l, const char *name)
{
	for (struct lplug *p = l->head; p; p = p->next)
		if (p->name && strcmp(p->name, name) == 0 && loaded(p))
			return p;
	return NULL;
}

const orbit_plugin_desc *lplug_desc(const struct lplug_info *p)
{
	return p->host ? host_desc(p->host) : p->proc ? plugproc_desc(p->proc) : NULL;
}

int lplug_op_info(const struct lplug_info *p, size_t i, const struct ocfg_plugin *pcfg,
		  struct host_op_info *info)
{
	return p->host ? host_op_info(p->host, i, pcfg, info)
	       : p->proc ? plugproc_op_info(p->proc, i, pcfg, info)
			 : -ENOENT;
}

static size_t entry_connections(const struct lplug *p)
{
	return p->info.host ? host_connections(p->info.host)
	       : p->info.proc ? plugproc_connections(p->info.proc)
			      : 0;
}

static void entry_close_all(struct lplug *p)
{
	if (p->info.host)
		host_close_all(p->info.host);
	else if (p->info.proc)
		plugproc_close_all(p->info.proc);
}

/* Stop what runs the plugin (its shutdown hook runs). */
static void entry_release(struct lplug *p)
{
	host_release(p->info.host);
	p->info.host = NULL;
	if (p->info.proc)
		plugproc_release(p->info.proc, p->l->cfg->timers.shutdown_timeout);
	p->info.proc = NULL;
}

static struct lplug *entry_new(struct loader *l, const char *file)
{
	struct lplug *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->l = l;
	p->file = strdup(file);
	p->path = strfmt("%s/%s", l->dir, file);
	if (!p->file || !p->path) {
		free(p->file);
		free(p->path);
		free(p);
		return NULL;
	}
	p->info.state = LPLUG_REJECTED;
	/* Keep C-locale name order for listings. */
	struct lplug **pp = &l->head;
	while (*pp && strcmp((*pp)->file, file) < 0)
		pp = &(*pp)->next;
	p->next = *pp;
	*pp = p;
	sync_info(p);
	return p;
}

static void entry_free(struct lplug *p)
{
	drain_cancel(p->drain);
	entry_release(p);
	if (p->next_dl)
		dlclose(p->next_dl); /* validated, never ran */
	plugcfg_free(p->pending);
	free(p->file);
	free(p->path);
	free(p->name);
	free(p->version);
	free(p->reason);
	free(p);
}

static void entry_unlink(struct loader *l, struct lplug *p)
{
	for (struct lplug **pp = &l->head; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			return;
		}
}

static void reject(struct lplug *p, char *why)
{
	olog(LOG_ERR, "plugin %s rejected: %s", p->file, why ? why : "out of memory");
	set_state(p, LPLUG_REJECTED, why);
}

int loader_open(const char *dlname, void **dl, const orbit_plugin_desc **d, char **why)
{
	/* dlerror's state is per thread; clear what an earlier call left. */
	dlerror();
	*dl = dlopen(dlname, RTLD_NOW | RTLD_LOCAL);
	if (!*dl) {
		const char *e = dlerror();
		*why = strfmt("cannot load: %s", e ? e : "unknown dlopen error");
		return -ENOEXEC;
	}
	*d = dlsym(*dl, ORBIT_PLUGIN_SYMBOL);
	if (!*d) {
		*why = strfmt("no symbol %s (not an orbitd plugin?)", ORBIT_PLUGIN_SYMBOL);
	} else if (host_validate(*d, why) < 0) {
		*d = NULL;
	}
	if (*d) {
		/* Accepted (min_host_minor is ours or older): it may test the
		 * newer functions it wants with ORBIT_API_HAS. */
		if ((*d)->abi_minor > ORBIT_PLUGIN_ABI_MINOR)
			olog(LOG_INFO, "plugin %s: built for plugin ABI %u.%u, runs on this "
			     "orbitd's %d.%d (it needs %u.%u)", (*d)->name, (*d)->abi_major,
			     (*d)->abi_minor, ORBIT_PLUGIN_ABI_MAJOR, ORBIT_PLUGIN_ABI_MINOR,
			     (*d)->abi_major, (*d)->min_host_minor);
		return 0;
	}
	dlclose(*dl);
	*dl = NULL;
	return -EINVAL;
}

/* The name to dlopen p's file (now st) by: its path, unless an object from
 * an earlier file of that name is mapped (dlopen would hand that back by
 * name); then /proc/self/fd/N of a descriptor that stays open while the new
 * object is loaded (*fd, -1 otherwise), as a name never used before. The
 * same file again (same identity) is opened by path: the mapped object is
 * what dlopen returns either way. NULL on failure, errno set. */
static char *dl_name(const struct lplug *p, const struct stat *st, int *fd)
{
	*fd = -1;
	if (!p->dl || (st->st_dev == p->dev && st->st_ino == p->ino))
		return strdup(p->path);
	*fd = open(p->path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return NULL;
	char *name = strfmt("/proc/self/fd/%d", *fd);
	if (!name) {
		close(*fd);
		*fd = -1;
		errno = ENOMEM;
	}
	return name;
}

/* What p's plugin process says it is doing now. */
static void on_proc_state(void *ctx, struct plugproc *pp)
{
	struct lplug *p = ctx;
	const char *reason = plugproc_reason(pp);
	switch (plugproc_state(pp)) {
	case PLUGPROC_STARTING:
	case PLUGPROC_RUNNING:
		if (p->info.state != LPLUG_REMOVING)
			set_state(p, LPLUG_ACTIVE, NULL);
		break;
	case PLUGPROC_RESTARTING:
		set_state(p, LPLUG_RESTARTING, reason ? strdup(reason) : NULL);
		break;
	case PLUGPROC_FAILED:
		set_state(p, LPLUG_FAILED, reason ? strdup(reason) : NULL);
		break;
	case PLUGPROC_REFUSED:
		/* Like an in-process init that failed: rejected, retried by a
		 * reload. The process is gone; the plugproc goes with it. */
		p->info.proc = NULL;
		reject(p, strfmt("%s", reason ? reason : "init failed"));
		plugproc_release(pp, 0);
		break;
	}
}

static void log_loaded(const struct lplug *p, const orbit_plugin_desc *d, const char *how)
{
	(void)p;
	char ops[512];
	size_t off = 0;
	ops[0] = 0;
	for (size_t i = 0; i < d->n_ops && off < sizeof ops; i++) {
		const orbit_plugin_op *op =
			(const orbit_plugin_op *)((const char *)d->ops + i * d->op_size);
		int n = snprintf(ops + off, sizeof ops - off, "%s%s", i ? ", " : "", op->name);
		if (n < 0)
			break;
		off += (size_t)n;
	}
	olog(LOG_INFO, "plugin %s %s loaded from %s%s (%zu operation%s: %s)", d->name,
	     d->version ? d->version : "", p->file, how, d->n_ops, d->n_ops == 1 ? "" : "s", ops);
}

/* Start the validated plugin in its own process (plugproc.h). */
static void activate_isolated(struct loader *l, struct lplug *p, void *dl,
			      const orbit_plugin_desc *d, const struct ocfg_plugin *pcfg,
			      struct plugcfg *config)
{
	char *why = NULL;
	/* The process runs the object from the daemon's mapping (fork): it
	 * stays mapped for good, as after an in-process init. */
	p->dl = dl;
	struct plugproc *pp = plugproc_new(l->env, d, pcfg, config, l->cfg, on_proc_state, p, &why);
	if (!pp) {
		reject(p, why);
		return;
	}
	p->info.proc = pp;
	log_loaded(p, d, " (isolated)");
	if (plugproc_state(pp) == PLUGPROC_STARTING)
		set_state(p, LPLUG_ACTIVE, NULL);
	else
		on_proc_state(p, pp);
}

/* Start the validated object dl as p's plugin, or reject it. */
static void activate(struct loader *l, struct lplug *p, void *dl, const orbit_plugin_desc *d)
{
	char *why = NULL;
	free(p->name);
	free(p->version);
	p->name = strdup(d->name);
	p->version = strdup(d->version ? d->version : "");
	sync_info(p);
	if (!orbitd_config_plugin_enabled(l->cfg, d->name)) {
		olog(LOG_INFO, "plugin %s (%s) disabled by configuration", d->name, p->file);
		set_state(p, LPLUG_DISABLED, strfmt("disabled by configuration"));
		dlclose(dl);
		return;
	}
	struct lplug *other = find_active_name(l, d->name);
	if (other && other != p) {
		reject(p, strfmt("name '%s' already taken by %s", d->name, other->file));
		dlclose(dl);
		return;
	}
	const struct ocfg_plugin *pcfg = orbitd_config_find_plugin(l->cfg, d->name);
	const char *id = pcfg && pcfg->identifier ? pcfg->identifier : d->name;
	if (strcmp(id, l->core_id) == 0) {
		reject(p, strfmt("identifier '%s' is the daemon's own", id));
		dlclose(dl);
		return;
	}
	struct plugcfg *config;
	if (host_build_config(d, l->cfg, &config, &why) < 0) {
		reject(p, why);
		dlclose(dl); /* init never ran */
		return;
	}
	struct ocfg_isolate iso;
	orbitd_config_isolate(l->cfg, d->name, &iso);
	if (iso.isolation == OCFG_ISOLATION_PROCESS) {
		activate_isolated(l, p, dl, d, pcfg, config);
		return;
	}
	orbit_host *h = host_new(l->env, d, pcfg, config, &why);
	if (!h) {
		/* init may have run: the object stays mapped. */
		p->dl = dl;
		reject(p, why);
		return;
	}
	if (host_start(h, &why) < 0) {
		host_release(h);
		p->dl = dl;
		reject(p, why);
		return;
	}
	p->dl = dl;
	p->info.host = h;
	log_loaded(p, d, " (in-process)");
	set_state(p, LPLUG_ACTIVE, NULL);
}

/* Try to bring the file of p up. The entry exists already. */
static void load(struct loader *l, struct lplug *p)
{
	struct stat st;
	if (stat(p->path, &st) < 0) {
		reject(p, strfmt("cannot stat %s: %s", p->path, strerror(errno)));
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		reject(p, strfmt("not a regular file"));
		return;
	}
	void *dl;
	const orbit_plugin_desc *d;
	char *why = NULL;
	int fd;
	char *name = dl_name(p, &st, &fd);
	if (!name) {
		reject(p, strfmt("cannot open %s: %s", p->path, strerror(errno)));
		return;
	}
	int rc = loader_open(name, &dl, &d, &why);
	free(name);
	if (rc < 0) {
		if (fd >= 0)
			close(fd); /* nothing of it stayed loaded */
		reject(p, why);
		return;
	}
	p->dev = st.st_dev;
	p->ino = st.st_ino;
	activate(l, p, dl, d);
}

static bool is_plugin_file(const char *name)
{
	size_t n = strlen(name);
	return n > 3 && name[0] != '.' && strcmp(name + n - 3, ".so") == 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool starting(struct loader *l)
{
	for (struct lplug *p = l->head; p; p = p->next)
		if (p->info.proc && plugproc_state(p->info.proc) == PLUGPROC_STARTING)
			return true;
	return false;
}

/* Let the plugin processes just forked finish init and start: the core
 * should find them at its first Discover, and a required plugin must be
 * known to have loaded. Each is bounded by its own liveness_timeout (the
 * supervisor kills a process whose init hangs), so this is too. */
static void wait_started(struct loader *l)
{
	while (starting(l))
		event_base_loop(l->env->base, EVLOOP_ONCE);
}

int loader_scan(struct loader *l, const struct orbitd_config *cfg, char **fatal)
{
	*fatal = NULL;
	l->cfg = cfg;
	DIR *dir = opendir(l->dir);
	if (!dir) {
		olog(LOG_WARNING, "plugin directory %s: %s; no plugins loaded", l->dir,
		     strerror(errno));
	} else {
		char **names = NULL;
		size_t n = 0, cap = 0;
		struct dirent *de;
		while ((de = readdir(dir))) {
			if (!is_plugin_file(de->d_name))
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				char **nn = realloc(names, cap * sizeof *nn);
				if (!nn)
					break;
				names = nn;
			}
			if (!(names[n] = strdup(de->d_name)))
				break;
			n++;
		}
		closedir(dir);
		/* strcmp is the C locale's order, whatever LC_COLLATE says. */
		if (n)
			qsort(names, n, sizeof *names, cmp_names);
		for (size_t i = 0; i < n; i++) {
			struct lplug *p = find_file(l, names[i]);
			if (!p && (p = entry_new(l, names[i])))
				load(l, p);
			free(names[i]);
		}
		free(names);
	}
	wait_started(l);
	for (size_t i = 0; i < cfg->plugins.n; i++) {
		const struct ocfg_plugin *pc = &cfg->plugins.v[i];
		if (!pc->required || find_active_name(l, pc->name))
			continue;
		const char *why = NULL;
		for (struct lplug *p = l->head; p && !why; p = p->next)
			if (p->name && strcmp(p->name, pc->name) == 0)
				why = p->reason;
		*fatal = strfmt("required plugin '%s' (%s:%d:%d) is not loaded: %s", pc->name,
			      pc->where.file, pc->where.line, pc->where.column,
			      why ? why : "no such plugin in the plugin directory");
		return -ENOENT;
	}
	return 0;
}

/* ---- removal ---------------------------------------------------------- */

static bool drained(void *arg)
{
	return entry_connections(arg) == 0;
}

static void removed(void *arg, bool timed_out)
{
	struct lplug *p = arg;
	struct loader *l = p->l;
	p->drain = NULL;
	if (timed_out)
		olog(LOG_WARNING, "plugin %s: connections still open after %gs, closed gracelessly",
		     p->name, l->cfg->timers.shutdown_timeout);
	entry_release(p);
	olog(LOG_INFO, "plugin %s stopped", p->name);
	if (p->reappeared) {
		/* Whatever the file is now, it is loaded as any new file is. */
		p->reappeared = false;
		if (p->next_dl)
			dlclose(p->next_dl);
		p->next_dl = NULL;
		p->next_desc = NULL;
		load(l, p);
		return;
	}
	if (p->next_dl && !p->forget) {
		void *dl = p->next_dl;
		p->next_dl = NULL;
		activate(l, p, dl, p->next_desc);
		return;
	}
	if (p->forget) {
		set_state(p, LPLUG_REJECTED, strfmt("file removed"));
		entry_unlink(l, p);
		entry_free(p);
	} else {
		set_state(p, LPLUG_DISABLED, strfmt("disabled by configuration"));
	}
}

/* Close the active plugin's connections gracefully; removed() follows. */
static void begin_drain(struct loader *l, struct lplug *p)
{
	entry_close_all(p);
	set_state(p, LPLUG_REMOVING, NULL);
	p->drain = drain_start(l->env->base, drained, removed, p, l->cfg->timers.shutdown_timeout);
	if (!p->drain)
		removed(p, true);
}

/* Close the plugin's connections gracefully, then release it. */
static void unload(struct loader *l, struct lplug *p, bool forget)
{
	p->forget = forget;
	if (p->info.state == LPLUG_REMOVING)
		return;
	if (!loaded(p)) {
		if (forget) {
			entry_unlink(l, p);
			entry_free(p);
		}
		return;
	}
	olog(LOG_INFO, "plugin %s: %s, closing its connections", p->name,
	     forget ? "file removed" : "disabled");
	begin_drain(l, p);
}

/* ---- upgrade ---------------------------------------------------------- */

/* p's file was replaced while p runs (see the top of this file). */
static void upgrade(struct loader *l, struct lplug *p)
{
	struct stat st;
	if (stat(p->path, &st) < 0 || !S_ISREG(st.st_mode))
		return; /* gone again: its removal event follows */
	if (st.st_dev == p->dev && st.st_ino == p->ino) {
		olog(LOG_WARNING,
		     "plugin %s: %s was rewritten in place; the running code cannot be swapped "
		     "that way (replace the file with mv or install), restart orbitd to run it",
		     p->name, p->file);
		return;
	}
	int fd;
	char *dlname = dl_name(p, &st, &fd);
	int err = errno;
	void *dl = NULL;
	const orbit_plugin_desc *d = NULL;
	char *why = NULL;
	if (!dlname || loader_open(dlname, &dl, &d, &why) < 0) {
		olog(LOG_ERR, "plugin %s: new %s rejected: %s; the running version stays", p->name,
		     p->file, why ? why : strerror(err));
		free(why);
		free(dlname);
		if (fd >= 0)
			close(fd);
		return;
	}
	/* fd stays open: its /proc name now names a loaded object. */
	free(dlname);
	if (p->next_dl)
		dlclose(p->next_dl); /* an upgrade still waiting: superseded, never ran */
	p->next_dl = dl;
	p->next_desc = d;
	p->dev = st.st_dev;
	p->ino = st.st_ino;
	olog(LOG_NOTICE, "plugin %s: %s replaced by %s %s, restarting it", p->name, p->file,
	     d->name, d->version ? d->version : "");
	if (loaded(p) && p->info.state != LPLUG_REMOVING)
		begin_drain(l, p);
}

/* ---- inotify ---------------------------------------------------------- */

static void on_inotify(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	struct loader *l = arg;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n <= 0)
			return; /* EAGAIN: drained */
		for (char *ptr = buf; ptr < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)ptr;
			ptr += sizeof *ev + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				olog(LOG_WARNING, "plugin directory: inotify overflow, rescanning");
				char *fatal = NULL;
				loader_scan(l, l->cfg, &fatal);
				free(fatal);
				continue;
			}
			if (!ev->len || !is_plugin_file(ev->name))
				continue;
			struct lplug *p = find_file(l, ev->name);
			if (ev->mask & (IN_DELETE | IN_MOVED_FROM)) {
				if (p)
					unload(l, p, true);
			} else if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) {
				if (p && p->forget && p->info.state == LPLUG_REMOVING) {
					/* Removed and back (mv out and in, a package
					 * upgrade) before the old one finished closing:
					 * neither drop the entry nor take the file for an
					 * in-place rewrite of the running one. */
					p->forget = false;
					p->reappeared = true;
					olog(LOG_INFO, "plugin directory: %s is back; loading it once the "
					     "old %s has stopped", ev->name, p->name);
					continue;
				}
				if (p && loaded(p)) {
					upgrade(l, p);
					continue;
				}
				if (!p && !(p = entry_new(l, ev->name)))
					continue;
				olog(LOG_INFO, "plugin directory: %s appeared", ev->name);
				load(l, p);
			}
		}
	}
}

int loader_watch(struct loader *l)
{
	l->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (l->ifd < 0)
		return -errno;
	/* CLOSE_WRITE and MOVED_TO: a file is only looked at once complete. */
	if (inotify_add_watch(l->ifd, l->dir,
			      IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM |
				      IN_ONLYDIR) < 0) {
		int e = errno;
		close(l->ifd);
		l->ifd = -1;
		return -e;
	}
	l->iev = event_new(l->env->base, l->ifd, EV_READ | EV_PERSIST, on_inotify, l);
	if (!l->iev || event_add(l->iev, NULL) < 0) {
		close(l->ifd);
		l->ifd = -1;
		return -ENOMEM;
	}
	return 0;
}

/* ---- reconfiguration -------------------------------------------------- */

static void append(char **report, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void append(char **report, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *line = strvfmt(fmt, ap);
	va_end(ap);
	if (!line)
		return;
	char *joined = *report ? strfmt("%s; %s", *report, line) : line;
	if (*report) {
		free(*report);
		free(line);
	}
	*report = joined;
}

static void drop_pending(struct loader *l)
{
	for (struct lplug *p = l->head; p; p = p->next) {
		plugcfg_free(p->pending);
		p->pending = NULL;
	}
}

int loader_prepare(struct loader *l, const struct orbitd_config *cfg, char **err)
{
	*err = NULL;
	drop_pending(l);
	for (struct lplug *p = l->head; p; p = p->next) {
		/* Disabled by cfg: unloaded by the reconfigure, its values unused. */
		if (!loaded(p) || p->info.state == LPLUG_REMOVING ||
		    !orbitd_config_plugin_enabled(cfg, p->name))
			continue;
		char *why = NULL;
		int rc = host_build_config(lplug_desc(&p->info), cfg, &p->pending, &why);
		if (rc < 0) {
			append(err, "plugin %s: %s", p->name, why ? why : strerror(-rc));
			free(why);
		}
	}
	if (!*err)
		return 0;
	drop_pending(l);
	return -EINVAL;
}

int loader_reconfigure(struct loader *l, const struct orbitd_config *cfg, char **report)
{
	*report = NULL;
	int problems = 0;
	l->cfg = cfg;
	for (struct lplug *p = l->head, *next; p; p = next) {
		next = p->next;
		switch (p->info.state) {
		case LPLUG_ACTIVE:
		case LPLUG_RESTARTING:
		case LPLUG_FAILED:
			if (!orbitd_config_plugin_enabled(cfg, p->name)) {
				unload(l, p, false);
				break;
			}
			char *why = NULL;
			struct plugcfg *config = p->pending;
			const struct ocfg_plugin *pcfg = orbitd_config_find_plugin(cfg, p->name);
			struct ocfg_isolate iso;
			orbitd_config_isolate(cfg, p->name, &iso);
			if ((iso.isolation == OCFG_ISOLATION_PROCESS) != (p->info.proc != NULL))
				olog(LOG_WARNING, "plugin %s: isolation changed to %s; that takes "
				     "effect when the plugin is next loaded (a new file, or a "
				     "restart of orbitd)", p->name,
				     iso.isolation == OCFG_ISOLATION_PROCESS ? "process" : "none");
			p->pending = NULL;
			int rc = p->info.proc
					 ? plugproc_reconfigure(p->info.proc, pcfg, config, cfg, &why)
					 : host_reconfigure(p->info.host, pcfg, config, &why);
			if (rc < 0) {
				olog(LOG_WARNING, "plugin %s: %s", p->name, why ? why : "reload failed");
				append(report, "plugin %s: %s", p->name, why ? why : "reload failed");
				problems++;
			}
			free(why);
			break;
		case LPLUG_REJECTED:
			/* Stays mapped after a failed init: dlopen gives the same
			 * object back (dl_name), so retrying is meaningful through
			 * its init, which a new config may satisfy. */
		case LPLUG_DISABLED:
			load(l, p);
			if (p->info.state == LPLUG_REJECTED) {
				append(report, "plugin %s: %s", p->file, p->reason);
				problems++;
			}
			break;
		case LPLUG_REMOVING:
			break;
		}
	}
	return problems;
}

int loader_restart(struct loader *l, const char *name, char **why)
{
	*why = NULL;
	for (struct lplug *p = l->head; p; p = p->next) {
		if (strcmp(p->file, name) != 0 && (!p->name || strcmp(p->name, name) != 0))
			continue;
		if (p->info.state == LPLUG_REMOVING) {
			*why = strfmt("plugin %s is being removed", name);
			return -EBUSY;
		}
		if (p->info.host) {
			*why = strfmt("plugin %s runs inside orbitd (isolation: none): replace its "
				      "file or restart orbitd to restart it", name);
			return -ENOTSUP;
		}
		if (p->info.proc) {
			plugproc_restart(p->info.proc);
			return 0;
		}
		if (p->info.state == LPLUG_DISABLED) {
			*why = strfmt("plugin %s is disabled by configuration", name);
			return -EPERM;
		}
		load(l, p);
		return 0;
	}
	*why = strfmt("no plugin '%s'", name);
	return -ENOENT;
}

void loader_foreach(struct loader *l, int (*fn)(void *ctx, const struct lplug_info *p),
		    void *ctx)
{
	for (struct lplug *p = l->head; p; p = p->next)
		if (fn(ctx, &p->info))
			return;
}

size_t loader_connections(const struct loader *l)
{
	size_t n = 0;
	for (struct lplug *p = l->head; p; p = p->next)
		n += entry_connections(p);
	return n;
}

void loader_close_all(struct loader *l)
{
	for (struct lplug *p = l->head; p; p = p->next)
		entry_close_all(p);
}

void loader_free(struct loader *l)
{
	if (!l)
		return;
	if (l->iev)
		event_free(l->iev);
	if (l->ifd >= 0)
		close(l->ifd);
	while (l->head) {
		struct lplug *p = l->head;
		l->head = p->next;
		entry_free(p);
	}
	free(l->dir);
	free(l->core_id);
	free(l);
}

/* ---- orbitd -t -------------------------------------------------------- */

/* A plugin the config may name: d NULL when its operations are not known
 * (the descriptor is not held: disabled, rejected). */
struct known {
	const char *name;
	const orbit_plugin_desc *d;
};

/* Levenshtein distance of a and b, or SIZE_MAX for names too long to bother:
 * identifiers are short, one row on the stack does. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[65];
	if (la > 64 || lb > 64)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

/* Tracks the candidate closest to a name; a hint only within a distance a
 * typo makes (one edit for short names, two otherwise). */
struct closest {
	const char *name, *best;
	size_t dist;
};

static void consider(struct closest *c, const char *cand)
{
	size_t d = edit_distance(c->name, cand);
	size_t limit = strlen(c->name) > 5 ? 2 : 1;
	if (d > 0 && d <= limit && d < c->dist) {
		c->dist = d;
		c->best = cand;
	}
}

static const struct known *find_known(const struct known *k, size_t nk, const char *name,
				      bool with_desc)
{
	for (size_t i = 0; i < nk; i++)
		if (strcmp(k[i].name, name) == 0 && (!with_desc || k[i].d))
			return &k[i];
	return NULL;
}

struct ulist {
	struct lunmatched *v;
	size_t n;
};

static int add_unmatched(struct ulist *u, const char *kind, const char *plugin,
			 const char *name, const struct ocfg_where *w, const char *hint)
{
	struct lunmatched *v = realloc(u->v, (u->n + 1) * sizeof *v);
	if (!v)
		return -ENOMEM;
	u->v = v;
	struct lunmatched *e = &v[u->n];
	memset(e, 0, sizeof *e);
	e->kind = kind;
	e->where = *w;
	char *key = plugin ? strfmt("plugins.%s.policies.%s", plugin, name)
			   : strcmp(kind, "section") == 0 ? strfmt("plugins.%s", name)
							   : strfmt("plugins.%s", kind);
	char *what = plugin ? strfmt("plugin %s has no operation %s%s%s%s", plugin, name,
				     hint ? " (did you mean " : "", hint ? hint : "", hint ? "?)" : "")
			    : strfmt("no plugin is named %s%s%s%s", name,
				     hint ? " (did you mean " : "", hint ? hint : "", hint ? "?)" : "");
	if (key && what)
		e->message = ocfg_message(w, key, what);
	e->name = strdup(name);
	e->plugin = plugin ? strdup(plugin) : NULL;
	e->hint = hint ? strdup(hint) : NULL;
	free(key);
	free(what);
	u->n++; /* counted even when incomplete, so lunmatched_free releases it */
	if (!e->message || !e->name || (plugin && !e->plugin) || (hint && !e->hint))
		return -ENOMEM;
	return 0;
}

static int check_plugin_name(struct ulist *u, const struct known *k, size_t nk,
			     const char *kind, const char *name, const struct ocfg_where *w)
{
	if (find_known(k, nk, name, false))
		return 0;
	struct closest c = {.name = name, .dist = SIZE_MAX};
	for (size_t i = 0; i < nk; i++)
		consider(&c, k[i].name);
	return add_unmatched(u, kind, NULL, name, w, c.best);
}

/* Every entry of cfg's plugins section checked against the known plugins. */
static int find_unmatched(const struct orbitd_config *cfg, const struct known *k, size_t nk,
			  struct lunmatched **v, size_t *n)
{
	const struct ocfg_plugins *pl = &cfg->plugins;
	struct ulist u = {0};
	int rc = 0;
	for (size_t i = 0; !rc && pl->enable && pl->enable[i]; i++)
		rc = check_plugin_name(&u, k, nk, "enable", pl->enable[i], &pl->enable_where[i]);
	for (size_t i = 0; !rc && pl->disable && pl->disable[i]; i++)
		rc = check_plugin_name(&u, k, nk, "disable", pl->disable[i], &pl->disable_where[i]);
	for (size_t i = 0; !rc && i < pl->n; i++) {
		const struct ocfg_plugin *p = &pl->v[i];
		const struct known *kp = find_known(k, nk, p->name, true);
		rc = check_plugin_name(&u, k, nk, "section", p->name, &p->where);
		/* A section naming no plugin already says so; only a known
		 * descriptor tells which operations exist. */
		for (size_t j = 0; !rc && kp && j < p->n_policies; j++) {
			const struct ocfg_policy *pol = &p->policies[j];
			struct closest c = {.name = pol->operation, .dist = SIZE_MAX};
			bool found = false;
			for (size_t o = 0; o < kp->d->n_ops && !found; o++) {
				const orbit_plugin_op *op = (const orbit_plugin_op *)(
					(const char *)kp->d->ops + o * kp->d->op_size);
				found = strcmp(op->name, pol->operation) == 0;
				consider(&c, op->name);
			}
			if (!found)
				rc = add_unmatched(&u, "policy", p->name, pol->operation,
						   &pol->where, c.best);
		}
	}
	if (rc < 0) {
		lunmatched_free(u.v, u.n);
		return rc;
	}
	*v = u.v;
	*n = u.n;
	return 0;
}

void lunmatched_free(struct lunmatched *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].plugin);
		free(v[i].hint);
		free(v[i].message);
	}
	free(v);
}

int loader_unmatched(struct loader *l, struct lunmatched **v, size_t *n)
{
	size_t nk = 0;
	*v = NULL;
	*n = 0;
	if (!l->cfg)
		return 0;
	for (struct lplug *p = l->head; p; p = p->next)
		nk += p->name != NULL;
	struct known *k = calloc(nk ? nk : 1, sizeof *k);
	if (!k)
		return -ENOMEM;
	nk = 0;
	for (struct lplug *p = l->head; p; p = p->next)
		if (p->name)
			k[nk++] = (struct known){p->name, lplug_desc(&p->info)};
	int rc = find_unmatched(l->cfg, k, nk, v, n);
	free(k);
	return rc;
}

void loader_warn_unmatched(struct loader *l)
{
	struct lunmatched *v;
	size_t n;
	int rc = loader_unmatched(l, &v, &n);
	if (rc < 0) {
		olog(LOG_WARNING, "config entries not checked against the plugins: %s",
		     strerror(-rc));
		return;
	}
	for (size_t i = 0; i < n; i++)
		olog(LOG_WARNING, "%s", v[i].message);
	lunmatched_free(v, n);
}

int loader_check_dir(const char *dir, const struct orbitd_config *cfg,
		     void (*report)(void *ctx, const char *file, const char *name, const char *why),
		     void (*unmatched)(void *ctx, const struct lunmatched *u), void *ctx)
{
	struct dirent **names = NULL;
	int n = scandir(dir, &names, NULL, alphasort);
	if (n < 0)
		return -errno; /* the caller says the directory was not checked */
	int problems = 0;
	/* Descriptors stay mapped until the config was matched against them. */
	void **dls = calloc(n ? n : 1, sizeof *dls);
	struct known *k = calloc(n ? n : 1, sizeof *k);
	size_t nk = 0;
	for (int i = 0; i < n; i++) {
		const char *file = names[i]->d_name;
		char *path = is_plugin_file(file) && k && dls ? strfmt("%s/%s", dir, file) : NULL;
		void *dl = NULL;
		const orbit_plugin_desc *d = NULL;
		char *why = NULL;
		struct plugcfg *pc = NULL;
		if (!path) {
			free(names[i]);
			continue;
		}
		/* The same checks as a load, short of init: this opens the
		 * objects (their constructors run) and reads descriptors only. */
		if (loader_open(path, &dl, &d, &why) == 0) {
			if (orbitd_config_plugin_enabled(cfg, d->name))
				host_build_config(d, cfg, &pc, &why);
			report(ctx, file, d->name,
			       orbitd_config_plugin_enabled(cfg, d->name) ? why : NULL);
			plugcfg_free(pc);
			dls[nk] = dl;
			k[nk++] = (struct known){d->name, d};
		} else {
			report(ctx, file, NULL, why ? why : "out of memory");
		}
		problems += why != NULL;
		free(why);
		free(path);
		free(names[i]);
	}
	free(names);
	struct lunmatched *u = NULL;
	size_t nu = 0;
	int rc = k && dls ? find_unmatched(cfg, k, nk, &u, &nu) : -ENOMEM;
	for (size_t i = 0; i < nu; i++)
		unmatched(ctx, &u[i]);
	lunmatched_free(u, nu);
	for (size_t i = 0; i < nk; i++)
		dlclose(dls[i]);
	free(dls);
	free(k);
	return rc < 0 ? rc : problems;
}
