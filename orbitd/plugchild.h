/* plugchild.h — the plugin process: what runs in the child orbitd forks for
 * an isolated plugin (plugproc.h), from the fork to its _exit.
 *
 * It first makes itself a sandbox (below), then builds a fresh event loop,
 * the bridged buses (linkbus.h) and the same host as an in-process plugin
 * (host.h: the same ABI, timers, watches, post and worker pool, all local
 * to this process), calls init and start, says READY and serves the link
 * until STOP or until the daemon goes away.
 *
 * The sandbox, in this order: every signal back to its default and
 * unblocked; SIGKILL when the daemon dies (PR_SET_PDEATHSIG); its own
 * process group (the supervisor kills the group, so what the plugin spawned
 * goes too); every file descriptor but 0-2 and the link closed; resource
 * limits (address space, open files, processes: plugins.NAME.limits); no new
 * privileges (PR_SET_NO_NEW_PRIVS); every capability dropped, also from the
 * bounding set. It keeps the daemon's user, file system view and network
 * (exec must still spawn its command and plugins may talk to devices).
 *
 * Nothing of the daemon's state is used in the child but the read-only
 * inputs below (a copy-on-write snapshot taken by fork). It never returns
 * and never runs the daemon's atexit handlers or flushes the daemon's
 * stdio buffers (they belong to the parent).
 */
#ifndef ORBITD_PLUGCHILD_H
#define ORBITD_PLUGCHILD_H

#include "config.h"
#include "host.h"

#include <sys/types.h>

struct plugcfg;
struct plugslots;

struct plugchild_args {
	int sock;                        /* the child's end of the link */
	struct plugslots *slots;         /* shared with the supervisor */
	const orbit_plugin_desc *d;      /* validated by the daemon */
	const struct ocfg_plugin *pcfg;  /* NULL: no section */
	struct plugcfg *config;          /* the child's copy, taken over */
	struct ocfg_isolate iso;         /* limits */
	const struct host_env *env;      /* the daemon's: timers, ids, topics */
	bool exported;                   /* a second orbiter on the MQTT bridge */
	pid_t parent;                    /* the daemon, for the death signal race */
};

/* Run the plugin process. Never returns. */
void plugchild_main(const struct plugchild_args *a) __attribute__((noreturn));

/* The policies and config values a running plugin process gets on reload,
 * as the JSON text of a RECONFIG frame, and back: the daemon writes it
 * from the new section and config, the plugin process rebuilds a section
 * (policies only) and a config from it. plugchild_reconfig_text: malloc'd
 * or NULL (ENOMEM). */
char *plugchild_reconfig_text(const struct ocfg_plugin *pcfg, const struct plugcfg *config);

#endif
