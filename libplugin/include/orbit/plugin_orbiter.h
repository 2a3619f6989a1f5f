/* orbit/plugin_orbiter.h — the plugin role: operations with input, output,
 * policy and handler; offers, confirms, outputs (SPEC §4.3, §4.5, §4.8, §6).
 *
 * Ownership: orbit_operation and orbit_policy contents are copied when added.
 * Handlers get borrowed conn info and payload valid for the call only.
 */
#ifndef ORBIT_PLUGIN_ORBITER_H
#define ORBIT_PLUGIN_ORBITER_H

#include "orbiter.h"

typedef struct orbit_plugin orbit_plugin;

typedef struct orbit_policy {
	int maximum;                  /* connections over all cores, or ORBIT_UNLIMITED */
	const char *const *allowlist; /* core ids, only with has_allowlist */
	size_t n_allowlist;
	bool has_allowlist;
	const char *const *blocklist; /* never together with an allowlist */
	size_t n_blocklist;
	bool has_blocklist;
} orbit_policy;

/* An input arrived on a connection of the operation. */
typedef void (*orbit_op_handler)(void *ctx, orbit_plugin *p, const orbit_conn_info *conn,
				 const orbit_payload *in);
/* Setup data of a Request (called before the Confirm is sent). */
typedef void (*orbit_setup_fn)(void *ctx, orbit_plugin *p, const orbit_conn_info *conn,
			       const uint8_t *data, size_t len);

typedef struct orbit_operation {
	const char *name;
	orbit_spec input;      /* copied */
	orbit_spec output;     /* copied */
	orbit_policy policy;   /* default policy */
	orbit_op_handler handler; /* required when input "has input" */
	orbit_setup_fn setup;     /* optional */
	void *ctx;                /* passed to handler and setup */
} orbit_operation;

/* Create a plugin orbiter with identifier id on bus (borrowed). t NULL =
 * defaults; discover_topic NULL = "$handshake.discover". NULL + errno. */
orbit_plugin *orbit_plugin_new(orbit_bus *bus, const char *id, const orbit_timers *t,
			       const char *discover_topic);

/* Stop (if running) and free. NULL-safe. */
void orbit_plugin_free(orbit_plugin *p);

orbit_orbiter *orbit_plugin_orbiter(orbit_plugin *p);

/* Add an operation. Returns 0, -EEXIST (duplicate name), -EINVAL (input
 * without handler, allowlist and blocklist both, bad maximum), -ENOMEM. */
int orbit_plugin_add_operation(orbit_plugin *p, const orbit_operation *op);

/* Replace an operation's policy; connections it no longer admits are closed
 * gracefully. Returns 0, -ENOENT, -EINVAL. */
int orbit_plugin_set_policy(orbit_plugin *p, const char *operation, const orbit_policy *pol);

/* One plugin served on two buses by two orbiters (e.g. in-process and
 * MQTT): each counts the other's connections and pending offers against its
 * operations' maximum, and a slot freed on either is re-offered on both.
 * The link ends when either is freed. Returns 0, or -EINVAL (NULL, the same
 * orbiter, or one already linked). */
int orbit_plugin_share_maximum(orbit_plugin *a, orbit_plugin *b);

int orbit_plugin_start(orbit_plugin *p);
void orbit_plugin_stop(orbit_plugin *p);

/* Send an output to the connection (core_id, operation), if it has an output
 * topic. Returns 0, -ENOENT (no such connection), -ENOTSUP (no output topic). */
int orbit_plugin_reply(orbit_plugin *p, const char *core_id, const char *operation,
		       const orbit_payload *out);

/* Send an output to every connection of operation that wants output.
 * Returns how many were sent (0 is not an error) or a negative bus error. */
int orbit_plugin_emit(orbit_plugin *p, const char *operation, const orbit_payload *out);

#endif
