/* orbit/plugin.h — the plugin ABI: what a shared object dropped into orbitd's
 * plugin directory exports, and the host functions orbitd hands it.
 *
 * A plugin exports exactly one const descriptor under the symbol
 * ORBIT_PLUGIN_SYMBOL ("orbit_plugin_descriptor"), most easily with
 * ORBIT_PLUGIN_DEFINE(). The host checks magic, ABI major, and the struct
 * sizes before calling any plugin code, then calls init() once, start() once
 * the plugin orbiter runs, reload() with a new config subtree, and shutdown()
 * once before it forgets the plugin (the .so is never dlclose'd while the
 * daemon runs, so pointers into it stay valid).
 *
 * Build plugins with -fPIC -shared -fvisibility=hidden -Wl,--no-undefined:
 * nothing here needs linking against liborbit; every service comes through the
 * orbit_host_api table (the liborbit functions types.h declares are not for
 * plugins). This header deliberately does not depend on libavro.
 *
 * Threads: every hook, handler (except those of ORBIT_OP_BLOCKING operations)
 * and callback runs on orbitd's single event-loop thread and must not block.
 * A blocking operation's handler runs on a worker thread; from there it may
 * only call api->reply(), api->input_json() and api->reply_json() on its own
 * call, api->log() and api->post(). It can
 * run while the loop thread calls reload() or other handlers: state they
 * share needs the plugin's own locking. shutdown() runs only after every
 * blocking call has returned.
 *
 * The end of a plugin: the host releases it when orbitd stops, when its file
 * is removed or replaced (upgrade), when a reload disables it, or when its
 * init() or start() failed. From that moment on, before shutdown() runs (it
 * may wait for blocking calls still on the workers), while it runs and for
 * good after it returned:
 *   - post() queues nothing and returns -ESHUTDOWN (Linux's ESHUTDOWN,
 *     "Cannot send after transport endpoint shutdown"), from any thread;
 *   - functions posted before and not run yet are dropped: never called;
 *   - timer_add() and watch() return NULL with errno ESHUTDOWN, timers and
 *     watches no longer fire (shutdown() may still cancel them; those left
 *     are cancelled and freed once it returns), emit(), emit_json() and
 *     send() return -ESHUTDOWN, replies of blocking calls are dropped.
 * The orbit_host pointer stays safe to pass to log() and post() for the
 * life of the process, so a thread of the plugin racing with its release is
 * no use-after-free; still, shutdown() should stop the plugin's threads.
 * After shutdown() returned the host calls no code of the plugin again.
 *
 * Ownership: the descriptor, operation table and every string in them are the
 * plugin's static data. Pointers the host passes to the plugin (config text,
 * calls, payloads) are borrowed for the duration of the call unless stated.
 * Payloads the plugin passes to the host are copied before the function
 * returns. Strings the host returns with "malloc'd" are freed with free().
 */
#ifndef ORBIT_PLUGIN_H
#define ORBIT_PLUGIN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "types.h"

#define ORBIT_PLUGIN_SYMBOL "orbit_plugin_descriptor"
#define ORBIT_PLUGIN_MAGIC UINT64_C(0x314e4c5042524f00) /* "\0ORBPLN1" little-endian */
#define ORBIT_PLUGIN_ABI_MAJOR 1 /* bumped on any incompatible change */
#define ORBIT_PLUGIN_ABI_MINOR 0 /* bumped when fields are appended */

/* The host's handle for one loaded plugin (opaque). */
typedef struct orbit_host orbit_host;
/* One input being handled (opaque beyond orbit_call's public head). */
typedef struct orbit_call orbit_call;
typedef struct orbit_host_timer orbit_host_timer;
typedef struct orbit_host_watch orbit_host_watch;

/* What an operation takes or gives. The first seven values are orbit_kind's
 * (orbit/spec.h); the built-in kinds use busline's StringMessage, ... schemas
 * in both Python flavours. */
typedef enum orbit_io_kind {
	ORBIT_IO_NONE = 0, /* no input / no output */
	ORBIT_IO_EMPTY,    /* payload-less events */
	ORBIT_IO_STRING,
	ORBIT_IO_INT32,
	ORBIT_IO_INT64,
	ORBIT_IO_FLOAT32,
	ORBIT_IO_FLOAT64,
	ORBIT_IO_SCHEMA,   /* the Avro schema JSON in orbit_io.schema */
	ORBIT_IO_ANY,      /* anything (SchemaSpec support_undefined) */
} orbit_io_kind;

typedef struct orbit_io {
	orbit_io_kind kind;
	const char *schema; /* ORBIT_IO_SCHEMA only; a JSON Avro schema */
} orbit_io;

/* Default policy of an operation (SPEC §4.8); orbitd.yaml may override it.
 * Lists are NULL-terminated arrays of core identifiers; a NULL list pointer
 * means "no such list", a list whose first entry is NULL is an empty list. */
typedef struct orbit_plugin_policy {
	int maximum;                   /* connections over all cores; 0 or
					  ORBIT_UNLIMITED (-1) = no limit */
	const char *const *allowlist;
	const char *const *blocklist;  /* never together with an allowlist */
} orbit_plugin_policy;

/* The public head of a call. input is valid until the handler returns (for a
 * blocking operation: until its worker returns). For an ORBIT_IO_STRING
 * operation it is always the text as UTF-8 bytes (ORBIT_FMT_UTF8, not
 * NUL-terminated): the host converts the other formats a peer may use. */
struct orbit_call {
	const char *core_id;    /* the core that sent the input */
	const char *operation;
	orbit_payload input;
};

/* An input arrived. Return 0, or a negative errno (logged by the host with
 * the plugin's name; the core sees no output). */
typedef int (*orbit_op_handler_fn)(void *state, orbit_call *call);

enum {
	/* The handler may block (I/O, child processes, heavy work): it runs on
	 * orbitd's worker pool; its reply is sent from the loop thread after it
	 * returns. */
	ORBIT_OP_BLOCKING = 1u << 0,
};

typedef struct orbit_plugin_op {
	const char *name;             /* unique within the plugin */
	orbit_io input;
	orbit_io output;
	orbit_plugin_policy policy;
	orbit_op_handler_fn handler;  /* required unless input is ORBIT_IO_NONE */
	unsigned flags;               /* ORBIT_OP_* */
} orbit_plugin_op;

/* Log levels are syslog's: 3 error, 4 warning, 5 notice, 6 info, 7 debug. */

/* What the host offers; handed to init(). The table is static data of the
 * host; the functions may be used until shutdown() returns (log and post for
 * good, see "The end of a plugin" above). A plugin built against a newer
 * minor checks size before using fields past those it knows the host has. */
typedef struct orbit_host_api {
	uint32_t size;      /* sizeof(orbit_host_api) of the host */
	uint16_t abi_major;
	uint16_t abi_minor;

	/* Log one line, prefixed with the plugin's name. Any thread. */
	void (*log)(orbit_host *h, int level, const char *fmt, ...)
		__attribute__((format(printf, 3, 4)));

	/* The plugin's `config:` subtree of orbitd.yaml as compact JSON text
	 * ("null" when absent). Borrowed; valid until the next reload() returns. */
	const char *(*config)(orbit_host *h);

	/* The plugin orbiter's identifier (its name unless configured). Borrowed. */
	const char *(*identifier)(orbit_host *h);

	/* Call fn(arg) after `after` seconds, then every `every` seconds if every
	 * > 0. Returns a handle (owned by the host, freed by timer_cancel, by
	 * firing if one-shot, or after shutdown returns) or NULL with errno
	 * (ESHUTDOWN once the plugin is being released, EINVAL, ENOMEM).
	 * Loop thread. */
	orbit_host_timer *(*timer_add)(orbit_host *h, double after, double every,
				       void (*fn)(void *arg), void *arg);
	void (*timer_cancel)(orbit_host *h, orbit_host_timer *t);

	/* Watch fd (ORBIT_WATCH_READ|WRITE) until unwatched; fn gets the
	 * events that fired. The fd stays the plugin's. Returns a handle (owned
	 * by the host, freed by unwatch or after shutdown returns) or NULL with
	 * errno (ESHUTDOWN once the plugin is being released, EINVAL, ENOMEM).
	 * Loop thread. */
	orbit_host_watch *(*watch)(orbit_host *h, int fd, unsigned events,
				   void (*fn)(void *arg, int fd, unsigned events), void *arg);
	void (*unwatch)(orbit_host *h, orbit_host_watch *w);

	/* Run fn(arg) on the loop thread soon, in posting order. The only entry
	 * point safe from any thread (besides log and, in a blocking handler,
	 * reply), at any time, also after shutdown() returned. 0, -EINVAL (no
	 * fn), -ENOMEM, or -ESHUTDOWN once the plugin is being released: then
	 * fn will not run. A function queued earlier but not run when the
	 * release begins is dropped, never called: arg is not handed back, so
	 * memory it owns is for shutdown() to free (the plugin knows what it
	 * posted and which of its posted functions ran). */
	int (*post)(orbit_host *h, void (*fn)(void *arg), void *arg);

	/* Answer the call with an output (copied). At most once per call; the
	 * output goes to the calling core's connection if it wants outputs.
	 * From the handler only (its thread). 0, -EALREADY, -EINVAL, -ENOMEM. */
	int (*reply)(orbit_call *call, const orbit_payload *out);

	/* Send an output to every connection of operation (any core). Returns
	 * how many were sent (0 is no error) or -errno (-ESHUTDOWN once the
	 * plugin is being released). Loop thread. */
	int (*emit)(orbit_host *h, const char *operation, const orbit_payload *out);

	/* Send an output to one core's connection. 0, -ENOENT, -ENOTSUP,
	 * -ESHUTDOWN (being released). */
	int (*send)(orbit_host *h, const char *core_id, const char *operation,
		    const orbit_payload *out);

	/* The call's input as JSON text, decoded by the operation's input kind
	 * or schema ("\"text\"", "42", "{...}", "null"). malloc'd, or NULL with
	 * errno (EBADMSG: not decodable). From the handler only. */
	char *(*input_json)(orbit_call *call);

	/* reply/emit with JSON text encoded by the operation's output kind or
	 * schema (the format Python peers expect). -EINVAL when it does not fit. */
	int (*reply_json)(orbit_call *call, const char *json);
	int (*emit_json)(orbit_host *h, const char *operation, const char *json);
} orbit_host_api;

enum {
	ORBIT_WATCH_READ = 1u << 0,
	ORBIT_WATCH_WRITE = 1u << 1,
};

typedef struct orbit_plugin_desc {
	uint64_t magic;         /* ORBIT_PLUGIN_MAGIC */
	uint16_t abi_major;     /* ORBIT_PLUGIN_ABI_MAJOR */
	uint16_t abi_minor;     /* ORBIT_PLUGIN_ABI_MINOR */
	uint32_t size;          /* sizeof(orbit_plugin_desc) */
	uint32_t op_size;       /* sizeof(orbit_plugin_op) */
	const char *name;       /* [A-Za-z0-9_.-]+, the default identifier */
	const char *version;
	const orbit_plugin_op *ops;
	size_t n_ops;

	/* Optional hooks; 0 or a negative errno. init gets the plugin's config
	 * (also available through api->config) and sets *state, passed back
	 * everywhere. A failing init rejects the plugin (shutdown not called). */
	int (*init)(orbit_host *h, const orbit_host_api *api, void **state);
	/* The plugin orbiter is running: timers that emit may start now. */
	int (*start)(void *state);
	/* A reload gave a different config subtree (JSON). A failure keeps the
	 * plugin running with its old config and is reported. */
	int (*reload)(void *state, const char *config_json);
	/* Last call: release everything. Connections are already closed, no
	 * blocking call is running, timers and watches no longer fire but may
	 * still be cancelled here; those left are freed after it returns.
	 * post() already returns -ESHUTDOWN and what was posted but not run is
	 * dropped (see "The end of a plugin" at the top). Also called when
	 * start() failed; not when init() failed. */
	void (*shutdown)(void *state);
} orbit_plugin_desc;

#define ORBIT_PLUGIN_EXPORT __attribute__((visibility("default")))

/* Define the exported descriptor from name, version, an array of
 * orbit_plugin_op (an array, not a pointer: its size gives the count) and the
 * four hooks (NULL for unused ones). */
#define ORBIT_PLUGIN_DEFINE(name_, version_, ops_, init_, start_, reload_, shutdown_) \
	_Static_assert(!__builtin_types_compatible_p(__typeof__(ops_),                   \
						     __typeof__(&(ops_)[0])),            \
		       "ORBIT_PLUGIN_DEFINE needs the operation array itself");         \
	ORBIT_PLUGIN_EXPORT const orbit_plugin_desc orbit_plugin_descriptor = {       \
		.magic = ORBIT_PLUGIN_MAGIC,                                                \
		.abi_major = ORBIT_PLUGIN_ABI_MAJOR,                                        \
		.abi_minor = ORBIT_PLUGIN_ABI_MINOR,                                        \
		.size = sizeof(orbit_plugin_desc),                                    \
		.op_size = sizeof(orbit_plugin_op),                                         \
		.name = (name_),                                                            \
		.version = (version_),                                                      \
		.ops = (ops_),                                                              \
		.n_ops = sizeof(ops_) / sizeof((ops_)[0]),                                  \
		.init = (init_),                                                            \
		.start = (start_),                                                          \
		.reload = (reload_),                                                        \
		.shutdown = (shutdown_),                                                    \
	}

#endif
