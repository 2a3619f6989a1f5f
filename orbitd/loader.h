/* loader.h — the plugin directory: every *.so in it, loaded in C-locale name
 * order, validated before its code is called, hot-added and hot-removed
 * through inotify, each rejection kept with its reason (for logs and
 * orbitctl).
 *
 * Ownership: the loader owns its entries and their hosts; it borrows env and
 * the config given to loader_scan/loader_reconfigure, which must stay alive
 * until the next loader_reconfigure (the daemon swaps configs that way).
 * Shared objects are never dlclose'd once any of their functions ran.
 */
#ifndef ORBITD_LOADER_H
#define ORBITD_LOADER_H

#include "config.h"
#include "host.h"

#include <stdbool.h>
#include <stddef.h>

struct loader;

enum lplug_state {
	LPLUG_ACTIVE,   /* loaded, orbiter running */
	LPLUG_REJECTED, /* reason says why */
	LPLUG_DISABLED, /* plugins.enable / plugins.disable */
	LPLUG_REMOVING, /* file gone or disabled: connections closing */
	LPLUG_RESTARTING, /* isolated, its process died: restart after a back-off */
	LPLUG_FAILED,   /* isolated, crashed too often: until a restart/reload/new file */
};

/* One file of the plugin directory, as shown to users. Borrowed. */
struct lplug_info {
	const char *file;     /* base name */
	const char *name;     /* descriptor name, NULL if never read */
	const char *version;  /* NULL if never read */
	enum lplug_state state;
	const char *reason;   /* REJECTED/DISABLED: why; else NULL */
	orbit_host *host;     /* ACTIVE/REMOVING, in-process */
	struct plugproc *proc;/* ACTIVE/REMOVING/RESTARTING/FAILED, isolated */
	double since;         /* orbit_now() of the last state change */
};

/* The descriptor of a loaded plugin (in-process or isolated), or NULL. */
const orbit_plugin_desc *lplug_desc(const struct lplug_info *p);

/* Operation i of a loaded plugin, wherever it runs (host_op_info or, from
 * its process's last report, plugproc_op_info). 0, or -ENOENT when p is not
 * loaded. */
int lplug_op_info(const struct lplug_info *p, size_t i, const struct ocfg_plugin *pcfg,
		  struct host_op_info *info);

/* What changed in the plugin set; called after the change. */
typedef void (*loader_event_fn)(void *ctx, const struct lplug_info *p);

/* New loader over dir (copied) for a core called core_id (copied; no plugin
 * may take that name). NULL + errno. */
struct loader *loader_new(const struct host_env *env, const char *dir, const char *core_id);

void loader_set_event_cb(struct loader *l, loader_event_fn fn, void *ctx);

/* Load every *.so of the directory under cfg. A missing directory is logged
 * and is not an error. Returns 0, or -ENOENT when a plugin listed
 * `required: true` did not load (*fatal malloc'd, saying which and why). */
int loader_scan(struct loader *l, const struct orbitd_config *cfg, char **fatal);

/* Start watching the directory for drop-ins and removals. 0 or -errno. */
int loader_watch(struct loader *l);

/* First step of a reload, before anything is swapped: build every active
 * plugin's config from cfg (borrowed) against its config map and keep it for
 * loader_reconfigure. 0, or -EINVAL with *err malloc'd listing every plugin
 * whose config does not fit ("plugin exec: orbitd.yaml:12:14: key ..."):
 * nothing is kept then, and the reload must be refused. */
int loader_prepare(struct loader *l, const struct orbitd_config *cfg, char **err);

/* Apply a new config, after loader_prepare(l, cfg) succeeded: unload plugins
 * now disabled, retry rejected or disabled ones, apply policies and the
 * prepared configs to the active ones (their reload hook runs when values
 * changed). Returns how many plugins reported a problem (each is logged and
 * described in *report, malloc'd or NULL when there is nothing to say). */
int loader_reconfigure(struct loader *l, const struct orbitd_config *cfg, char **report);

/* dlopen dlname (RTLD_NOW | RTLD_LOCAL) and check its descriptor
 * (host_validate); no plugin function runs. 0 with *dl and *d (the caller
 * dlclose's *dl unless a plugin function ran), or -ENOEXEC/-EINVAL with *why
 * malloc'd (the object is closed again). */
int loader_open(const char *dlname, void **dl, const orbit_plugin_desc **d, char **why);

/* A plugins.* entry naming a plugin no file of the directory has, or an
 * operation its plugin does not have: a typo (the export or policy silently
 * never applies), or a plugin yet to be dropped in, hence a warning only. */
struct lunmatched {
	const char *kind;        /* "section", "enable", "disable" or "policy"; static */
	char *name;              /* the plugin's name, or for "policy" the operation's */
	char *plugin;            /* "policy": the plugin it is under; else NULL */
	char *hint;              /* the closest known name if close enough, else NULL */
	struct ocfg_where where; /* the entry's; file borrowed from the config */
	char *message;           /* "FILE:LINE:COLUMN: key 'PATH': what (did you mean X?)" */
};

/* Free what loader_unmatched / loader_check_dir gave. NULL-safe. */
void lunmatched_free(struct lunmatched *v, size_t n);

/* The entries of the current config (the last scan's or reconfigure's) that
 * match no plugin the loader knows by name (any state), or no operation of
 * an active one. 0 with *v (caller frees with lunmatched_free; NULL when
 * *n is 0), or -ENOMEM. */
int loader_unmatched(struct loader *l, struct lunmatched **v, size_t *n);

/* Log each of loader_unmatched's entries once, at LOG_WARNING: for after a
 * scan or a reload, not on every plugin event. */
void loader_warn_unmatched(struct loader *l);

/* orbitd -t: open every *.so of dir as a load would, check its descriptor
 * and, for plugins cfg enables, build its config from cfg; never call init.
 * report(ctx, file, name, why) once per file, name NULL when the descriptor
 * was not read, why NULL when it would load; then unmatched(ctx, u) for each
 * config entry that names none of the plugins read (see loader_unmatched).
 * Returns the count of files that would be rejected, or -errno when dir
 * cannot be read (and nothing is reported). */
int loader_check_dir(const char *dir, const struct orbitd_config *cfg,
		     void (*report)(void *ctx, const char *file, const char *name, const char *why),
		     void (*unmatched)(void *ctx, const struct lunmatched *u), void *ctx);

/* `orbitctl plugin restart NAME` (name or file): an isolated plugin's
 * process is killed and started afresh, with a new crash window; a rejected
 * one is loaded again. 0, -ENOENT (no such plugin), -ENOTSUP (in-process:
 * only a new file or a restart of orbitd restarts it), with *why malloc'd. */
int loader_restart(struct loader *l, const char *name, char **why);

/* Visit every entry in file-name order; non-zero from fn stops. */
void loader_foreach(struct loader *l, int (*fn)(void *ctx, const struct lplug_info *p),
		    void *ctx);

/* Connections of every active or removing plugin. */
size_t loader_connections(const struct loader *l);

/* Begin closing every plugin connection gracefully (shutdown). */
void loader_close_all(struct loader *l);

/* Release every host (shutdown hooks run), free. NULL-safe. */
void loader_free(struct loader *l);

const char *lplug_state_name(enum lplug_state s);

#endif
