/* orbit/core.h — the core role: requirements, discovery, compliance,
 * execution and sinks (SPEC §4.2, §4.4, §4.6, §4.7, §6; DESIGN §3 intent).
 *
 * Counting rules (DESIGN §3, intent over Python): plugins listed as mandatory
 * do not count toward minimum/maximum; pending requests count toward maximum,
 * so the core never over-connects even when several plugins answer at once.
 * Ownership: every struct passed in is copied; the caller keeps its memory.
 */
#ifndef ORBIT_CORE_H
#define ORBIT_CORE_H

#include "orbiter.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct orbit_core orbit_core;

/* One required operation (SPEC §4.2). All borrowed: orbit_core_require deep-
 * copies the strings, the id lists (orbit/types.h) and the specs. */
typedef struct orbit_requirement {
	const char *operation;
	int minimum;                     /* >= 0 */
	int maximum;                     /* >= minimum, or ORBIT_UNLIMITED */
	orbit_idlist mandatory;          /* plugin ids; NULL or empty: none */
	orbit_idlist allowlist;          /* NULL: no allowlist; empty: admit nobody */
	orbit_idlist blocklist;          /* NULL: no blocklist; never both lists */
	const orbit_spec *inputs;        /* any of; at least one */
	size_t n_inputs;
	const orbit_spec *outputs;       /* any of; at least one */
	size_t n_outputs;
	orbit_bytes setup_data;          /* sent in every Request; present=false: null */
} orbit_requirement;

/* Where a connection's outputs go. Runs on the loop thread. */
typedef void (*orbit_sink_fn)(void *ctx, orbit_core *core, const orbit_conn_info *conn,
			      const orbit_payload *p);

/* Create a core with identifier id on bus (borrowed, must outlive the core).
 * t NULL = defaults; discover_topic NULL = "$handshake.discover".
 * NULL + errno (EINVAL for an id with '+', '#' or NUL-less emptiness). */
orbit_core *orbit_core_new(orbit_bus *bus, const char *id, const orbit_timers *t,
			   const char *discover_topic);

/* Stop (if running) and free. NULL-safe. */
void orbit_core_free(orbit_core *c);

/* The common orbiter handle (owned by the core). */
orbit_orbiter *orbit_core_orbiter(orbit_core *c);

/* Add or replace a requirement. Replacing keeps existing connections; those
 * the new policy no longer admits are closed gracefully, and connections over
 * the new maximum too. Returns 0 or -EINVAL (bad numbers, both lists, no
 * inputs/outputs), -ENOMEM. */
int orbit_core_require(orbit_core *c, const orbit_requirement *r);

/* Drop a requirement; its connections are closed gracefully. 0 or -ENOENT. */
int orbit_core_unrequire(orbit_core *c, const char *operation);

/* Sink for an operation's outputs (NULL fn removes it). Looked up when each
 * output arrives, so changing it affects existing connections too. */
int orbit_core_set_sink(orbit_core *c, const char *operation, orbit_sink_fn fn, void *ctx);

/* Subscribe handshake/keepalive topics, evaluate compliance, discover.
 * Returns 0, -EALREADY or a bus error. */
int orbit_core_start(orbit_core *c);

/* Graceless-close every connection, unsubscribe everything. Idempotent. */
void orbit_core_stop(orbit_core *c);

bool orbit_core_compliant(const orbit_core *c);

typedef struct orbit_requirement_status {
	const char *operation;
	int minimum, maximum;
	size_t connected;         /* all connections of the operation */
	size_t connected_counted; /* those counting toward minimum/maximum */
	size_t pending;
	size_t mandatory_missing;
	bool satisfied;
} orbit_requirement_status;

/* Status of one requirement (strings borrowed from the core). 0 or -ENOENT. */
int orbit_core_requirement_status(const orbit_core *c, const char *operation,
				  orbit_requirement_status *st);

/* Visit every requirement's status in name order... any order; non-zero stops. */
void orbit_core_foreach_requirement(const orbit_core *c,
				    int (*fn)(void *ctx, const orbit_requirement_status *st),
				    void *ctx);

typedef enum orbit_exec_mode {
	ORBIT_EXEC_ALL = 0,     /* every matching connection */
	ORBIT_EXEC_ANY,         /* one matching connection chosen at random */
	ORBIT_EXEC_PLUGIN,      /* the matching connection of plugin_id */
	ORBIT_EXEC_DISTRIBUTED, /* item i to matching connection i mod k */
} orbit_exec_mode;

typedef struct orbit_exec {
	orbit_exec_mode mode;
	const char *plugin_id;       /* ORBIT_EXEC_PLUGIN only */
	const char *schema;          /* schema of the items; NULL for payload-less items */
	const orbit_payload *items;  /* n_items >= 1 */
	size_t n_items;
	/* optional: told each (plugin, item index) a payload was sent to */
	void (*on_target)(void *ctx, const char *plugin_id, size_t item);
	void *ctx;
} orbit_exec;

/* Send items to connections of operation whose input accepts x->schema
 * (orbit_spec_accepts). Returns the number of messages published (> 0),
 * -ENOENT when no connection matches (never a silent no-op), -EINVAL for a bad
 * mode/arguments or a payload without schema, or a bus error. */
int orbit_core_execute(orbit_core *c, const char *operation, const orbit_exec *x);

#ifdef __cplusplus
}
#endif

#endif
