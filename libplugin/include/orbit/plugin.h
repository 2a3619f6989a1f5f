/* orbit/plugin.h — the plugin ABI, version 2: what a shared object dropped
 * into orbitd's plugin directory exports, and the host functions orbitd hands
 * it. orbit-plugin(3) is the tutorial and the reference.
 *
 * A plugin exports exactly one const descriptor under the symbol
 * ORBIT_PLUGIN_SYMBOL ("orbit_plugin_descriptor"), with ORBIT_PLUGIN_DEFINE()
 * (C and C++). The host checks magic, ABI major, the minor it needs
 * (min_host_minor) and the struct sizes before calling any plugin code, then
 * validates the plugin's `config:` section of orbitd.yaml against the
 * descriptor's config map (errors name FILE:LINE:COLUMN and the key), calls
 * init() once, start() once the plugin orbiter runs, reload() when a reload
 * changed its config (the new values are already in place), and shutdown()
 * once before it forgets the plugin (the .so is never dlclose'd while the
 * daemon runs, so pointers into it stay valid).
 *
 * Build plugins with -fPIC -shared -fvisibility=hidden -Wl,--no-undefined
 * (pkg-config orbit-plugin): nothing here needs linking against liborbit;
 * every service comes through the orbit_host_api table. This header does not
 * depend on libavro.
 *
 * Versions: ABI major changes on any incompatible change (a plugin built for
 * another major is rejected with a reason that says to rebuild). Minors only
 * append: members at the end of orbit_host_api, and use of reserved room in
 * the other structs (zero-initialised by the plugin, ignored by older hosts).
 * A plugin that uses a host function newer than its min_host_minor tests it
 * first with ORBIT_API_HAS(api, member).
 *
 * Threads: every hook, handler (except those of ORBIT_OP_BLOCKING operations)
 * and callback runs on orbitd's single event-loop thread and must not block.
 * A blocking operation's handler runs on a worker thread; from there it may
 * only use its own call (input_*, reply*), api->log() and api->post(). It can
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
 *     are cancelled and freed once it returns), emit*() and send() return
 *     -ESHUTDOWN, replies of blocking calls are dropped.
 * The orbit_host pointer stays safe to pass to log() and post() for the
 * life of the process, so a thread of the plugin racing with its release is
 * no use-after-free; still, shutdown() should stop the plugin's threads.
 * After shutdown() returned the host calls no code of the plugin again.
 *
 * Ownership: the descriptor, operation table, config map and every string in
 * them are the plugin's static data. Pointers the host passes or returns
 * (calls, payloads, config values) are borrowed: for the duration of the call,
 * or as stated. Payloads and text the plugin passes to the host are copied
 * before the function returns. Strings the host returns as "malloc'd" are
 * freed with free().
 */
#ifndef ORBIT_PLUGIN_H
#define ORBIT_PLUGIN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "plugin_config.h"
#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ORBIT_PLUGIN_SYMBOL "orbit_plugin_descriptor"
#define ORBIT_PLUGIN_MAGIC UINT64_C(0x314e4c5042524f00) /* "\0ORBPLN1" little-endian */
#define ORBIT_PLUGIN_ABI_MAJOR 2 /* bumped on any incompatible change */
#define ORBIT_PLUGIN_ABI_MINOR 0 /* bumped when members are appended */

/* The host's handle for one loaded plugin (opaque). */
typedef struct orbit_host orbit_host;
/* One input being handled (opaque beyond orbit_call's public head). */
typedef struct orbit_call orbit_call;
typedef struct orbit_host_timer orbit_host_timer;
typedef struct orbit_host_watch orbit_host_watch;
typedef struct orbit_host_api orbit_host_api;

/* ---- operations ------------------------------------------------------- */

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
	const char *schema;   /* ORBIT_IO_SCHEMA only; a JSON Avro schema */
	void *reserved[2];    /* zero */
} orbit_io;

/* Shorthands for the common orbit_io values: .input = ORBIT_STRING. */
#define ORBIT_IO(kind_) {(kind_), NULL, {NULL, NULL}}
#define ORBIT_NONE ORBIT_IO(ORBIT_IO_NONE)
#define ORBIT_EMPTY ORBIT_IO(ORBIT_IO_EMPTY)
#define ORBIT_STRING ORBIT_IO(ORBIT_IO_STRING)
#define ORBIT_INT32 ORBIT_IO(ORBIT_IO_INT32)
#define ORBIT_INT64 ORBIT_IO(ORBIT_IO_INT64)
#define ORBIT_FLOAT32 ORBIT_IO(ORBIT_IO_FLOAT32)
#define ORBIT_FLOAT64 ORBIT_IO(ORBIT_IO_FLOAT64)
#define ORBIT_ANY ORBIT_IO(ORBIT_IO_ANY)
#define ORBIT_SCHEMA(json_) {ORBIT_IO_SCHEMA, (json_), {NULL, NULL}}

/* Default policy of an operation (SPEC §4.8); orbitd.yaml may override it.
 * Lists are NULL-terminated arrays of core identifiers; a NULL list pointer
 * means "no such list", a list whose first entry is NULL is an empty list. */
typedef struct orbit_plugin_policy {
	int maximum;                   /* connections over all cores; 0 or
					  ORBIT_UNLIMITED (-1) = no limit */
	const char *const *allowlist;
	const char *const *blocklist;  /* never together with an allowlist */
	void *reserved[2];             /* zero */
} orbit_plugin_policy;

/* The public head of a call. input is valid until the handler returns (for a
 * blocking operation: until its worker returns). For an ORBIT_IO_STRING
 * operation it is always the text as UTF-8 bytes (ORBIT_FMT_UTF8, not
 * NUL-terminated; api->input_string gives it NUL-terminated): the host
 * converts the other formats a peer may use. */
struct orbit_call {
	const char *core_id;        /* the core that sent the input */
	const char *operation;
	orbit_payload input;
	const orbit_host_api *api;  /* the host's table, and */
	orbit_host *host;           /* the plugin's handle: a handler without state
				       still logs and reads its config */
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
	const char *doc;              /* one line for orbitctl plugin show, or NULL */
	void *reserved[4];            /* zero */
} orbit_plugin_op;

/* ---- what the host offers ---------------------------------------------- */

/* Log levels are syslog's: 3 error, 4 warning, 5 notice, 6 info, 7 debug. */

/* True when the host's table has member (and it is set): for a plugin whose
 * min_host_minor is older than the function it wants. */
#define ORBIT_API_HAS(api, member)                                                    \
	((api)->size >= offsetof(orbit_host_api, member) + sizeof((api)->member) &&   \
	 (api)->member != NULL)

/* Handed to init(). The table is static data of the host; the functions may
 * be used until shutdown() returns (log and post for good, see "The end of a
 * plugin" above). Config accessors take
 * a key path: "name", or "map.name" for a key of a nested map. They are for
 * the loop thread, and what they return stays valid until the next reload()
 * returns (copy what a blocking handler needs). A path the config map does
 * not declare, or of another type, is a programming error: logged once,
 * answered with 0/NULL/false. */
struct orbit_host_api {
	uint32_t size;      /* sizeof(orbit_host_api) of the host */
	uint16_t abi_major;
	uint16_t abi_minor;

	/* Log one line, prefixed with the plugin's name. Any thread. */
	void (*log)(orbit_host *h, int level, const char *fmt, ...)
		__attribute__((format(printf, 3, 4)));

	/* The plugin orbiter's identifier (its name unless configured). Borrowed. */
	const char *(*identifier)(orbit_host *h);

	/* Config values, validated against the descriptor's config map, defaults
	 * applied. config_is_set: given in the YAML or by a default. */
	bool (*config_is_set)(orbit_host *h, const char *path);
	bool (*config_bool)(orbit_host *h, const char *path);
	int64_t (*config_int)(orbit_host *h, const char *path);
	double (*config_float)(orbit_host *h, const char *path);
	const char *(*config_string)(orbit_host *h, const char *path); /* NULL: unset */
	size_t (*config_count)(orbit_host *h, const char *path);       /* STRINGS */
	const char *(*config_string_at)(orbit_host *h, const char *path, size_t i);
	bool (*config_is_one)(orbit_host *h, const char *path); /* STRINGS given as one string */

	/* Call fn(arg) after `after` seconds, then every `every` seconds if every
	 * > 0. Returns a handle (owned by the host, freed by timer_cancel, by
	 * firing if one-shot, or after shutdown returns) or NULL with errno
	 * (ESHUTDOWN once the plugin is being released, EINVAL, ENOMEM).
	 * Loop thread. */
	orbit_host_timer *(*timer_add)(orbit_host *h, double after, double every,
				       void (*fn)(void *arg), void *arg);
	void (*timer_cancel)(orbit_host *h, orbit_host_timer *t); /* NULL t: nothing */

	/* Watch fd (ORBIT_WATCH_READ|WRITE) until unwatched; fn gets the
	 * events that fired. The fd stays the plugin's. Returns a handle (owned
	 * by the host, freed by unwatch or after shutdown returns) or NULL with
	 * errno (ESHUTDOWN once the plugin is being released, EINVAL, ENOMEM).
	 * Loop thread. */
	orbit_host_watch *(*watch)(orbit_host *h, int fd, unsigned events,
				   void (*fn)(void *arg, int fd, unsigned events), void *arg);
	void (*unwatch)(orbit_host *h, orbit_host_watch *w); /* NULL w: nothing */

	/* Run fn(arg) on the loop thread soon, in posting order. Safe from any
	 * thread, at any time, also after shutdown() returned. 0, -EINVAL (no
	 * fn), -ENOMEM, or -ESHUTDOWN once the plugin is being released: then
	 * fn will not run. A function queued earlier but not run when the
	 * release begins is dropped, never called: arg is not handed back, so
	 * memory it owns is for shutdown() to free (the plugin knows what it
	 * posted and which of its posted functions ran). */
	int (*post)(orbit_host *h, void (*fn)(void *arg), void *arg);

	/* The call's input by kind. input_string: the text, NUL-terminated
	 * (owned by the call), or NULL with errno (EINVAL: the operation's input
	 * is not a string; EBADMSG: not text, or text holding U+0000, which a C
	 * string cannot carry: call->input has every byte). input_int (INT32/INT64) and input_float
	 * (FLOAT32/FLOAT64): 0, -EINVAL, -EBADMSG. input_json: any kind or
	 * schema as JSON text, malloc'd, or NULL with errno. From the handler's
	 * thread. */
	const char *(*input_string)(orbit_call *call);
	int (*input_int)(orbit_call *call, int64_t *out);
	int (*input_float)(orbit_call *call, double *out);
	char *(*input_json)(orbit_call *call);

	/* Answer the call with an output, at most once per call; it goes to the
	 * calling core's connection if it wants outputs. reply: raw payload;
	 * reply_string (NUL-terminated UTF-8: text holding U+0000 goes through
	 * reply with ORBIT_FMT_UTF8), reply_int, reply_float, reply_empty
	 * encode by the operation's output kind (int/float: range checked);
	 * reply_json by its kind or schema. From the handler's thread.
	 * 0, -EALREADY, -EINVAL (does not fit the output), -ENOMEM. */
	int (*reply)(orbit_call *call, const orbit_payload *out);
	int (*reply_string)(orbit_call *call, const char *text);
	int (*reply_int)(orbit_call *call, int64_t v);
	int (*reply_float)(orbit_call *call, double v);
	int (*reply_empty)(orbit_call *call);
	int (*reply_json)(orbit_call *call, const char *json);

	/* Send an output of operation to every connection (emit*: any core; the
	 * count sent, 0 is no error, or -errno) or to one core's (send: 0,
	 * -ENOENT, -ENOTSUP). Encoding as for reply*. -ESHUTDOWN once the plugin
	 * is being released. Loop thread. */
	int (*emit)(orbit_host *h, const char *operation, const orbit_payload *out);
	int (*emit_string)(orbit_host *h, const char *operation, const char *text);
	int (*emit_int)(orbit_host *h, const char *operation, int64_t v);
	int (*emit_float)(orbit_host *h, const char *operation, double v);
	int (*emit_empty)(orbit_host *h, const char *operation);
	int (*emit_json)(orbit_host *h, const char *operation, const char *json);
	int (*send)(orbit_host *h, const char *core_id, const char *operation,
		    const orbit_payload *out);
};

enum {
	ORBIT_WATCH_READ = 1u << 0,
	ORBIT_WATCH_WRITE = 1u << 1,
};

/* ---- the descriptor ----------------------------------------------------- */

typedef struct orbit_plugin_desc {
	uint64_t magic;          /* ORBIT_PLUGIN_MAGIC */
	uint16_t abi_major;      /* ORBIT_PLUGIN_ABI_MAJOR */
	uint16_t abi_minor;      /* ORBIT_PLUGIN_ABI_MINOR it was built with */
	uint16_t min_host_minor; /* oldest host minor it runs on (it tests newer
				    functions with ORBIT_API_HAS) */
	uint16_t reserved0;
	uint32_t size;           /* sizeof(orbit_plugin_desc) */
	uint32_t op_size;        /* sizeof(orbit_plugin_op) */
	uint32_t cfg_key_size;   /* sizeof(orbit_cfg_key) */
	uint32_t reserved1;
	const char *name;        /* [A-Za-z0-9_.-]+, the default identifier */
	const char *version;
	const orbit_plugin_op *ops;
	size_t n_ops;
	const orbit_cfg_key *config; /* END-terminated, or NULL: takes no config */

	/* Optional hooks; 0 or a negative errno. init sets *state, passed back
	 * everywhere. A failing init rejects the plugin (shutdown not called). */
	int (*init)(orbit_host *h, const orbit_host_api *api, void **state);
	/* The plugin orbiter is running: timers that emit may start now. */
	int (*start)(void *state);
	/* A reload changed the plugin's config (valid against the map): the
	 * config_* accessors already answer with the new values. A failure
	 * restores the old values, keeps the plugin running and is reported. */
	int (*reload)(void *state);
	/* Last call: release everything. Connections are already closed, no
	 * blocking call is running, timers and watches no longer fire but may
	 * still be cancelled here; those left are freed after it returns.
	 * post() already returns -ESHUTDOWN and what was posted but not run is
	 * dropped (see "The end of a plugin" at the top). Also called when
	 * start() failed; not when init() failed. */
	void (*shutdown)(void *state);
	void *reserved[4];
} orbit_plugin_desc;

#ifdef __cplusplus
}
#endif

#define ORBIT_PLUGIN_EXPORT __attribute__((visibility("default")))

/* Define the exported descriptor from name, version, an array of
 * orbit_plugin_op (an array, not a pointer: its size gives the count), the
 * config map (an END-terminated orbit_cfg_key array, or NULL) and the four
 * hooks (NULL for unused ones). Works in C and C++. */
#ifdef __cplusplus
template <typename T, size_t N> static inline constexpr size_t orbit_array_count_(T (&)[N])
{
	return N;
}
#define ORBIT_PLUGIN_COUNT_(ops_) orbit_array_count_(ops_)
#define ORBIT_PLUGIN_LINKAGE_ extern "C" ORBIT_PLUGIN_EXPORT
#else
#define ORBIT_PLUGIN_COUNT_(ops_)                                                       \
	(sizeof(ops_) / sizeof((ops_)[0]) +                                             \
	 0 * sizeof(struct {                                                             \
		 _Static_assert(!__builtin_types_compatible_p(__typeof__(ops_),          \
							      __typeof__(&(ops_)[0])),   \
				"ORBIT_PLUGIN_DEFINE needs the operation array itself"); \
		 int ok_;                                                                \
	 }))
#define ORBIT_PLUGIN_LINKAGE_ ORBIT_PLUGIN_EXPORT
#endif

#define ORBIT_PLUGIN_DEFINE(name_, version_, ops_, config_, init_, start_, reload_, shutdown_) \
	ORBIT_PLUGIN_LINKAGE_ const orbit_plugin_desc orbit_plugin_descriptor = {            \
		ORBIT_PLUGIN_MAGIC,                                                           \
		ORBIT_PLUGIN_ABI_MAJOR,                                                       \
		ORBIT_PLUGIN_ABI_MINOR,                                                       \
		ORBIT_PLUGIN_ABI_MINOR,                                                       \
		0,                                                                            \
		sizeof(orbit_plugin_desc),                                                    \
		sizeof(orbit_plugin_op),                                                      \
		sizeof(orbit_cfg_key),                                                        \
		0,                                                                            \
		(name_),                                                                      \
		(version_),                                                                   \
		(ops_),                                                                       \
		ORBIT_PLUGIN_COUNT_(ops_),                                                    \
		(config_),                                                                    \
		(init_),                                                                      \
		(start_),                                                                     \
		(reload_),                                                                    \
		(shutdown_),                                                                  \
		{NULL, NULL, NULL, NULL},                                                     \
	}

#endif
