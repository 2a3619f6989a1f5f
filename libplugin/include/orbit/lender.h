/* orbit/lender.h — the engine's plugin role, the lender: operations with
 * input, output, policy and handler; offers, confirms, outputs (SPEC §4.3,
 * §4.5, §4.8, §6).
 *
 * Why "lender": "plugin" is the ABI's word (orbit/plugin.h: the shared object,
 * orbit_plugin_desc, orbit_plugin_op), and the engine role used to share it,
 * so orbit_plugin (the role) and orbit_plugin_op (a descriptor entry) read as
 * one family. The protocol says plugins *lend* operations to cores: an
 * orbit_lender lends orbit_lent_op's. orbitd's host runs one lender (two
 * with MQTT export) per loaded plugin; an application may run one with no
 * plugin ABI at all.
 *
 * Ownership: orbit_lent_op and orbit_plugin_policy contents are copied when added.
 * Handlers get borrowed conn info and payload valid for the call only.
 */
#ifndef ORBIT_LENDER_H
#define ORBIT_LENDER_H

#include "orbiter.h"
#include "plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct orbit_lender orbit_lender;

/* An operation's policy is the plugin ABI's orbit_plugin_policy (orbit/plugin.h),
 * the one policy type of the project: the lender, orbitd's host and its
 * orbitd.yaml overrides all hold it. maximum is a limit when >= 0 (0: lend
 * to nobody) and ORBIT_UNLIMITED otherwise; the ABI's "0 = no limit" is a
 * default for zero-initialised plugin descriptors, which orbitd's host
 * applies when it reads one. Lists are orbit_idlist's (orbit/types.h);
 * reserved is ignored. */

/* An input arrived on a connection of the operation. */
typedef void (*orbit_lent_handler)(void *ctx, orbit_lender *p, const orbit_conn_info *conn,
				   const orbit_payload *in);
/* Setup data of a Request (called before the Confirm is sent). */
typedef void (*orbit_lent_setup)(void *ctx, orbit_lender *p, const orbit_conn_info *conn,
				 const uint8_t *data, size_t len);

typedef struct orbit_lent_op {
	const char *name;
	orbit_spec input;      /* copied */
	orbit_spec output;     /* copied */
	orbit_plugin_policy policy; /* default policy */
	orbit_lent_handler handler; /* required when input "has input" */
	orbit_lent_setup setup;     /* optional */
	void *ctx;                /* passed to handler and setup */
} orbit_lent_op;

/* Create a plugin orbiter with identifier id on bus (borrowed). t NULL =
 * defaults; discover_topic NULL = "$handshake.discover". NULL + errno. */
orbit_lender *orbit_lender_new(orbit_bus *bus, const char *id, const orbit_timers *t,
			       const char *discover_topic);

/* Stop (if running) and free. NULL-safe. */
void orbit_lender_free(orbit_lender *p);

orbit_orbiter *orbit_lender_orbiter(orbit_lender *p);

/* Add an operation. Returns 0, -EEXIST (duplicate name), -EINVAL (input
 * without handler, allowlist and blocklist both, bad maximum), -ENOMEM. */
int orbit_lender_add_operation(orbit_lender *p, const orbit_lent_op *op);

/* Replace an operation's policy; connections it no longer admits are closed
 * gracefully. Returns 0, -ENOENT, -EINVAL. */
int orbit_lender_set_policy(orbit_lender *p, const char *operation, const orbit_plugin_policy *pol);

/* One plugin served on two buses by two orbiters (e.g. in-process and
 * MQTT): each counts the other's connections and pending offers against its
 * operations' maximum, and a slot freed on either is re-offered on both.
 * The link ends when either is freed. Returns 0, or -EINVAL (NULL, the same
 * orbiter, or one already linked). */
int orbit_lender_share_maximum(orbit_lender *a, orbit_lender *b);

int orbit_lender_start(orbit_lender *p);
void orbit_lender_stop(orbit_lender *p);

/* Send an output to the connection (core_id, operation), if it has an output
 * topic. Returns 0, -ENOENT (no such connection), -ENOTSUP (no output topic). */
int orbit_lender_reply(orbit_lender *p, const char *core_id, const char *operation,
		       const orbit_payload *out);

/* Send an output to every connection of operation that wants output.
 * Returns how many were sent (0 is not an error) or a negative bus error. */
int orbit_lender_emit(orbit_lender *p, const char *operation, const orbit_payload *out);

#ifdef __cplusplus
}
#endif

#endif
