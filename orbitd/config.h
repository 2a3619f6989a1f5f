/* config.h — orbitd's configuration: orbitd.yaml plus the conf.d files, loaded
 * and validated into one immutable struct orbitd_config.
 *
 * Ownership: a struct orbitd_config owns every string, array and sub-struct
 * reachable from it; callers treat it as read-only and release it with exactly
 * one orbitd_config_free(). Loading never modifies a live config, so a reload
 * is "load a new one, then swap": a bad file keeps the old config running.
 * Pointers returned by the accessors borrow from the config and live as long
 * as it does.
 *
 * Modules behind this header: yamltree (libyaml events → node tree with
 * positions), cfgvalue (scalar typing, typed getters, key paths and
 * messages, struct ocfg_value), yamljson (a YAML subtree as JSON text),
 * cfgfiles (the files read, conf.d order) and config.c (the schema of
 * orbitd.yaml: sections, defaults, cross-file checks, this API).
 */
#ifndef ORBITD_CONFIG_H
#define ORBITD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <orbit/plugin.h>

/* Duration value meaning "never" (timers that can be switched off). */
#define OCFG_NEVER (-1.0)
/* An exec sink's command timeout when the configuration names none: long
 * enough for any sane hook, short enough that hung commands cannot hold all
 * of a sink's slots for long. */
#define OCFG_SINK_EXEC_TIMEOUT 60.0
/* Count value meaning "no limit" (same number as ORBIT_UNLIMITED). */
#define OCFG_UNLIMITED (-1)

/* Where a value came from, for messages the daemon prints later ("plugin x
 * (conf.d/10-x.yaml:4:3) not found"). file points into orbitd_config.files. */
struct ocfg_where {
	const char *file;
	int line;   /* 1-based */
	int column; /* 1-based */
};

/* The dotted key path of a value for messages ("plugins.exec.config.argv[1]"):
 * a stack where each push returns the mark to pop back to. Control
 * characters show as '?'; a path too long for s is cut. Zero it to start. */
#define OCFG_KEYPATH_MAX 512
struct ocfg_keypath {
	char s[OCFG_KEYPATH_MAX];
	size_t len;
};
size_t ocfg_kpush(struct ocfg_keypath *p, const char *name, size_t len);
size_t ocfg_kpush_str(struct ocfg_keypath *p, const char *name);
size_t ocfg_kpush_index(struct ocfg_keypath *p, size_t i); /* "[i]" */
void ocfg_kpop(struct ocfg_keypath *p, size_t mark);

/* The configuration's message form, "FILE:LINE:COLUMN: key 'PATH': what";
 * the position is left out when w (or w->file) is NULL, the key when keypath
 * is NULL or empty. malloc'd, NULL when memory ran out. These, like
 * ocfg_value_parse/free and ocfg_parse_duration, live in cfgvalue.c. */
char *ocfg_message(const struct ocfg_where *w, const char *keypath, const char *what);

/* Optional binary data: set=false means null (none sent). An empty string is
 * set with len 0. data may contain NULs; data[len] is always a NUL. */
struct ocfg_bytes {
	uint8_t *data;
	size_t len;
	bool set;
};

/* Payload kinds; the first seven have the order and meaning of orbit_kind
 * (libplugin orbit/spec.h) so the glue can map them one to one. */
enum ocfg_kind {
	OCFG_KIND_NONE = 0,
	OCFG_KIND_EMPTY,
	OCFG_KIND_STRING,
	OCFG_KIND_INT32,
	OCFG_KIND_INT64,
	OCFG_KIND_FLOAT32,
	OCFG_KIND_FLOAT64,
	OCFG_KIND_SCHEMA, /* user Avro schema, JSON text in ocfg_type.schema */
};

struct ocfg_type {
	enum ocfg_kind kind;
	/* OCFG_KIND_SCHEMA only: the schema JSON text. A schema given as a
	 * JSON string or a .avsc file is kept verbatim (peers compare exact
	 * strings); one given as a YAML mapping is serialised compactly. */
	char *schema;
};

/* Execution modes (SPEC §6.2). */
enum ocfg_mode {
	OCFG_MODE_ALL = 0,
	OCFG_MODE_ANY,
	OCFG_MODE_DISTRIBUTED,
	OCFG_MODE_PLUGIN, /* schedules only */
};

enum ocfg_sink_type {
	OCFG_SINK_LOG = 0,
	OCFG_SINK_FILE,
	OCFG_SINK_EXEC,
	OCFG_SINK_EXECUTE,
};

struct ocfg_sink {
	enum ocfg_sink_type type;
	char *path;           /* FILE: absolute or relative to the YAML file */
	char **argv;          /* EXEC: NULL-terminated; {"/bin/sh","-c",cmd} for a string */
	size_t argc;
	bool shell;           /* EXEC: command was a string run by /bin/sh -c */
	double timeout;       /* EXEC: seconds a command may run, then it is stopped;
			       * <= 0 (OCFG_NEVER): no limit. Config default
			       * OCFG_SINK_EXEC_TIMEOUT. */
	char *operation;      /* EXECUTE: another requirement's operation */
	enum ocfg_mode mode;  /* EXECUTE: ALL, ANY or DISTRIBUTED */
	/* For runtime messages: the execute sink's operation, else the sink, else
	 * (default sink) the requirement's name. */
	struct ocfg_where where;
};

struct ocfg_schedule {
	bool set;             /* false: no schedule */
	double every;         /* seconds, > 0 */
	char *data_json;      /* JSON text, "null" by default */
	enum ocfg_mode mode;
	char *plugin;         /* MODE_PLUGIN only */
};

/* One operation requirement (SPEC §4.7). */
struct ocfg_req {
	char *operation;
	/* Lists of identifiers are liborbit's orbit_idlist, owned: NULL for an
	 * absent or null list (no constraint), {NULL} for an explicit empty one. */
	orbit_idlist mandatory;
	int minimum;                      /* >= 0 */
	int maximum;                      /* >= minimum, or OCFG_UNLIMITED */
	orbit_idlist allowlist;           /* at most one of the two is set */
	orbit_idlist blocklist;
	struct ocfg_type *inputs;         /* n_inputs >= 1; default [string] */
	size_t n_inputs;
	struct ocfg_type *outputs;        /* n_outputs >= 1; default [string] */
	size_t n_outputs;
	struct ocfg_bytes setup_data;
	struct ocfg_sink sink;            /* default {type: log} */
	struct ocfg_schedule schedule;
	struct ocfg_where where;          /* of the requirement's name */
};

/* Override of one operation's policy (SPEC §4.8), in the plugin ABI's
 * policy type, the one the lender takes. Only what is set overrides the
 * plugin's built-in policy: maximum when maximum_set (OCFG_UNLIMITED for
 * null, else a limit, 0 included); the lists when either is non-NULL, and
 * then they replace both of the plugin's lists. The lists are owned. */
struct ocfg_policy {
	char *operation;
	bool maximum_set;
	orbit_plugin_policy policy;
	struct ocfg_where where;          /* of the operation's name */
	/* How the host runs the operation (not part of the wire policy):
	 * timeout: seconds one call of its handler may run (an isolated
	 * plugin's process is killed and restarted past it; an in-process one
	 * is only logged), OCFG_NEVER for none; max_inflight: calls admitted
	 * at once (queued or running), beyond which an input is dropped and
	 * counted. Unset: the defaults below. */
	bool timeout_set;
	double timeout;
	bool max_inflight_set;
	unsigned max_inflight;
};

/* Defaults of the per-operation run limits above. */
#define OCFG_OP_TIMEOUT_DEFAULT 60.0
#define OCFG_OP_MAX_INFLIGHT_DEFAULT 64u

/* How a plugin is hosted (plugins.isolation, plugins.NAME.isolation). */
enum ocfg_isolation {
	OCFG_ISOLATION_PROCESS, /* its own supervised process (the default) */
	OCFG_ISOLATION_NONE,    /* in orbitd's process, on its event loop */
};

/* The supervision and resource bounds of an isolated plugin
 * (plugins.NAME.limits, .restart, .liveness_timeout). */
struct ocfg_isolate {
	enum ocfg_isolation isolation;
	uint64_t memory;          /* limits.memory: RLIMIT_AS bytes, 0 = unlimited; default 1 GiB */
	uint64_t files;           /* limits.files: RLIMIT_NOFILE, default 1024 */
	uint64_t processes;       /* limits.processes: RLIMIT_NPROC (per user), default 512 */
	double liveness_timeout;  /* liveness_timeout: s without an answer to pings, default 10 */
	double backoff_min;       /* restart.backoff_min: first restart delay, default 0.5 s */
	double backoff_max;       /* restart.backoff_max: >= backoff_min, default 30 s */
	unsigned max_crashes;     /* restart.max_crashes: crashes within window that make
				     the plugin `failed`, default 5 */
	double window;            /* restart.window: default 60 s */
};

/* A YAML subtree kept with its positions: a plugin's `config:` section,
 * checked against the plugin's config map once the plugin is known
 * (plugcfg.h). Scalars keep their text and how the YAML core schema resolved
 * them; quoted or !!str-tagged scalars are always OCFG_V_STRING. Aliases are
 * expanded. Owned by its parent; the root by the struct that holds it. */
enum ocfg_vkind {
	OCFG_V_NULL = 0,
	OCFG_V_BOOL,
	OCFG_V_INT,
	OCFG_V_FLOAT,
	OCFG_V_STRING,
	OCFG_V_LIST,
	OCFG_V_MAP,
};
struct ocfg_value {
	enum ocfg_vkind kind;
	struct ocfg_where where;     /* of the value */
	char *text;                  /* scalars: as written (NUL-terminated) */
	bool b;                      /* OCFG_V_BOOL */
	long long i;                 /* OCFG_V_INT */
	double f;                    /* OCFG_V_FLOAT (also set for OCFG_V_INT) */
	struct ocfg_value *items;    /* LIST items, MAP values: n of them */
	size_t n;
	char **keys;                 /* MAP: the key of each value */
	struct ocfg_where *key_where;/* MAP: where each key is */
};

/* Parse a YAML snippet (a config map's default, such as "[a, b]" or "2s")
 * into *out (free with ocfg_value_free); positions name `name`, which the
 * positions borrow (keep it as long as the value). An empty snippet is an
 * OCFG_V_NULL value. Returns 0, -EINVAL with *err = malloc'd
 * "NAME:LINE:COLUMN: what", or -ENOMEM (*err NULL). */
int ocfg_value_parse(const char *yaml, const char *name, struct ocfg_value **out, char **err);

/* Free a value tree made by ocfg_value_parse (NULL is fine). */
void ocfg_value_free(struct ocfg_value *v);

/* A duration as orbitd.yaml writes them ("1.5", "500ms", "2s", "3m", "1h";
 * a sign is accepted, bounds are the caller's): 0 and *v in seconds, or
 * -EINVAL. */
int ocfg_parse_duration(const char *s, double *v);

/* A per-plugin section plugins.<name>. */
struct ocfg_plugin {
	char *name;
	struct ocfg_value *config;        /* the `config:` subtree, NULL if absent */
	char *identifier;                 /* its orbiter's identifier; NULL: the name */
	bool required;                    /* failing to load it fails the daemon */
	bool exported;                    /* `export:` offer it to remote cores over MQTT */
	struct ocfg_policy *policies;
	size_t n_policies;
	struct ocfg_where where;          /* of the section's name */
	bool isolation_set;               /* isolation: written in the section */
	struct ocfg_isolate isolate;      /* isolation (else plugins.isolation),
					     limits, restart, liveness_timeout */
};

struct ocfg_timers {
	double loop_interval;                   /* > 0, default 1 */
	double discovering_interval;            /* default 2 */
	double pending_requests_expire_after;   /* default 60, or OCFG_NEVER */
	double consider_others_dead_after;      /* > 0, default 120 */
	double send_keepalive_before_timelimit; /* default 10 */
	double graceful_close_timeout;          /* default 300, or OCFG_NEVER */
	double close_connection_if_unused_after;/* default OCFG_NEVER */
	double shutdown_timeout;                /* default 5 */
	double accept_dead_after_min;           /* > 0, default 1 */
	double accept_dead_after_max;           /* > 0, >= min, default 3600 */
};

struct ocfg_mqtt {
	bool enabled;            /* an `mqtt:` section exists in some file */
	char *host;              /* default "localhost" */
	int port;                /* 1..65535, default 1883 */
	char *client_id;         /* default: the identifier */
	char *username;          /* NULL if unset */
	char *password;          /* NULL if unset */
	double keepalive;        /* 0 or 5..65535 s, default 60 */
	char *tls_ca;            /* NULL if unset; paths resolved like all paths */
	char *tls_cert;
	char *tls_key;
	double reconnect_min;    /* > 0, default 1 */
	double reconnect_max;    /* >= reconnect_min, default 30 */
};

struct ocfg_plugins {
	char *dir;                   /* default ORBIT_PLUGINDIR */
	orbit_idlist enable;         /* non-NULL: only these load */
	orbit_idlist disable;
	/* Where each entry of enable / disable was written, same index; for
	 * warnings about names no plugin has. */
	struct ocfg_where *enable_where;
	struct ocfg_where *disable_where;
	struct ocfg_plugin *v;       /* per-plugin sections in file order */
	size_t n;
	enum ocfg_isolation isolation; /* plugins.isolation: the default of every
					  plugin, default process */
};

struct ocfg_control {
	char *socket;        /* default "/run/orbitd/orbitd.sock" */
	unsigned mode;       /* permission bits, default 0660 */
	char *group;         /* NULL if unset */
	size_t max_request;  /* bytes, default 65536 */
	size_t max_clients;  /* connections at once, default 256 */
	double idle_timeout; /* seconds, default 60, or OCFG_NEVER */
	uint64_t client_buffer; /* unsent output one client may owe, default 4 MiB */
	uint64_t total_buffer;  /* unsent output to all clients, default 32 MiB */
	size_t dead_remotes;    /* dead remote plugins remembered, default 64 */
};

/* The Prometheus endpoint (metrics:), off without the section. The bounds
 * protect the daemon's loop from scrapers: whatever a client holds (a
 * connection, its request, its time) has a limit. */
struct ocfg_metrics {
	bool enabled;            /* a `metrics:` section exists in some file */
	char *listen;            /* "HOST:PORT" as written ("[::1]:9464"), default
				    "127.0.0.1:9464" */
	char *host;              /* listen's host, brackets removed */
	int port;                /* listen's port, 1..65535 */
	char *path;              /* URL path served, "/..." default "/metrics" */
	size_t max_connections;  /* at once, default 16 */
	size_t max_request;      /* bytes of one request (line, headers, body), default 8192 */
	double timeout;          /* s a request or response may stall, default 10 */
};

struct orbitd_config {
	char *identifier;        /* default "orbitd-" + hostname */
	char *discover_topic;    /* default "$handshake.discover" */
	char *include_dir;       /* the conf.d directory looked at; NULL for a string
				    config without include_dir */
	char **files;            /* every file read, main first, then conf.d in order */
	size_t n_files;
	struct ocfg_timers timers;
	struct ocfg_mqtt mqtt;
	struct ocfg_plugins plugins;
	struct ocfg_req *reqs;   /* in file order */
	size_t n_reqs;
	struct ocfg_control control;
	struct ocfg_metrics metrics;
	int log_level;           /* syslog number, LOG_DEBUG..LOG_ERR, default LOG_INFO */
	size_t max_pending;      /* handshake.max_pending: pending handshakes per
				    orbiter (orbit_set_max_pending), default 65536 */
	double request_retry_after; /* handshake.request_retry_after: an unanswered
				       Request goes again, default 5 s */
	unsigned request_sends;  /* handshake.request_sends: then given up after as
				    many sends (orbit_set_request_retry), default 3 */
	size_t close_resend_max; /* handshake.close_resend_max: closes queued for
				    retransmission per orbiter (orbit_set_close_resend_max),
				    default 4096, 0 = off */
	unsigned log_rate_limit; /* lines per second per kind, 0 = unlimited, default 10 */
};

/* The built-in configuration (every default spelled out) used when orbitd
 * runs without -c; load it with orbitd_config_load_string(). Static storage. */
extern const char orbitd_config_default_yaml[];

/* Load path and then every *.yaml in its conf.d directory (the "conf.d" next
 * to path, or the main file's include_dir:) in C-locale name order.
 * Returns 0 and a new config in *out (caller frees with orbitd_config_free),
 * or -errno: -EINVAL for any invalid content, the I/O error for unreadable
 * files, -ENOMEM. On error *err (if err is non-NULL) receives a malloc'd
 * message "FILE:LINE:COLUMN: key 'a.b': what is wrong" (caller frees; NULL
 * only if even that allocation failed) and *out is left untouched. */
int orbitd_config_load(const char *path, struct orbitd_config **out, char **err);

/* Same, from memory. name is used in messages and as files[0]; relative paths
 * are resolved against base_dir (NULL: the current directory). conf.d is read
 * only when the text sets include_dir:. */
int orbitd_config_load_string(const char *yaml, const char *name, const char *base_dir,
			      struct orbitd_config **out, char **err);

/* Release everything cfg owns. NULL-safe. */
void orbitd_config_free(struct orbitd_config *cfg);

/* Requirement of an operation, or NULL. Borrowed from cfg. */
const struct ocfg_req *orbitd_config_find_req(const struct orbitd_config *cfg,
					      const char *operation);

/* Per-plugin section of a plugin, or NULL. Borrowed from cfg. */
const struct ocfg_plugin *orbitd_config_find_plugin(const struct orbitd_config *cfg,
						    const char *name);

/* Whether plugin name may load: in plugins.enable when that is set, and not
 * in plugins.disable. */
bool orbitd_config_plugin_enabled(const struct orbitd_config *cfg, const char *name);

/* The isolation settings of plugin `name`: its section's, or for a plugin
 * without a section the defaults under plugins.isolation. */
void orbitd_config_isolate(const struct orbitd_config *cfg, const char *name,
			   struct ocfg_isolate *out);

/* The run limits of operation `op` of plugin `name` (its policies entry, else
 * the defaults): *timeout in seconds (OCFG_NEVER: none), *max_inflight. */
void orbitd_config_op_limits(const struct orbitd_config *cfg, const char *name, const char *op,
			     double *timeout, unsigned *max_inflight);

/* Policy override of one of p's operations, or NULL. Borrowed. */
const struct ocfg_policy *ocfg_plugin_policy(const struct ocfg_plugin *p, const char *operation);

/* YAML spellings of enum values ("string", "distributed", "execute"); static. */
const char *ocfg_kind_name(enum ocfg_kind k);
const char *ocfg_mode_name(enum ocfg_mode m);
const char *ocfg_sink_type_name(enum ocfg_sink_type t);

#endif
