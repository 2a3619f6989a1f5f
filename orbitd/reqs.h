/* reqs.h — the requirements glue: orbitd.yaml requirements turned into the
 * core's orbit_requirements, their sinks and their schedules, and execution
 * from JSON (schedules, execute sinks, orbitctl).
 *
 * One struct reqs belongs to one loaded config. A reload builds the new one
 * first (sinks open their files then, so a bad path fails the reload before
 * anything changed), then reqs_apply() switches the core over and the old one
 * is freed.
 *
 * Ownership: reqs borrows the core, the event base and the config (which must
 * outlive it); it owns its sinks and timers.
 */
#ifndef ORBITD_REQS_H
#define ORBITD_REQS_H

#include "config.h"

#include <orbit/core.h>

struct event_base;
struct reqs;

struct calltag_match;

/* Told of every output (after its sink got it): operation, plugin, the
 * value as JSON and the call it answers (calltag.h: call 0 for none), all
 * borrowed for the call. For orbitctl watch/execute. */
typedef void (*reqs_observer_fn)(void *ctx, const char *operation, const char *plugin,
				 const char *json, const struct calltag_match *m);

/* Told of each call an execution made: its id (calltag.h; 0 when it could
 * not be tagged) and the plugin it went to (borrowed for the call). */
typedef void (*reqs_call_fn)(void *ctx, uint64_t call, const char *plugin);

/* Build sinks and (unarmed) schedules of cfg's requirements. observer may be
 * NULL. NULL with *err malloc'd ("sink of 'op' (file:line:col): cannot open
 * ..."). */
struct reqs *reqs_new(struct event_base *base, orbit_core *core,
		      const struct orbitd_config *cfg, reqs_observer_fn observer, void *obs_ctx,
		      char **err);

/* Make the core's requirements those of r: add/replace r's, drop old's that r
 * lacks (their connections close gracefully), point the sinks at r's, arm r's
 * schedules and disarm old's. old may be NULL. *summary (malloc'd, may be
 * NULL) says what changed: "added a, b; removed c; updated d". Returns 0 or
 * the first core error (the rest is still applied). */
int reqs_apply(struct reqs *r, struct reqs *old, char **summary);

/* Disarm every schedule (shutdown). */
void reqs_stop_schedules(struct reqs *r);

/* Execute operation with JSON data converted to the first of the
 * requirement's input types that both fits the JSON and has a matching
 * connection. DISTRIBUTED needs a JSON array (one item per element); PLUGIN
 * needs plugin. Returns the number of messages sent (> 0), or -ENOENT (not
 * required / no connection), -EINVAL (data fits no input type; *why malloc'd
 * when why is non-NULL). */
int reqs_execute_json(struct reqs *r, const char *operation, const char *json,
		      enum ocfg_mode mode, const char *plugin, char **why);

/* reqs_execute_json telling on_call (non-NULL) of every call it made. */
int reqs_execute_json_calls(struct reqs *r, const char *operation, const char *json,
			    enum ocfg_mode mode, const char *plugin, char **why,
			    reqs_call_fn on_call, void *ctx);

/* Whether json fits one of operation's input types, without executing:
 * 0, -ENOENT (not required), -EINVAL (*why as above). Lets a caller with
 * several items refuse them all before any runs. */
int reqs_check_json(struct reqs *r, const char *operation, const char *json,
		    enum ocfg_mode mode, const char *plugin, char **why);

/* Free sinks and timers; the core's requirements stay. NULL-safe. */
void reqs_free(struct reqs *r);

#endif
