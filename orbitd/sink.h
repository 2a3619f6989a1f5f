/* sink.h — where a requirement's outputs go: the log (default), a file
 * (NDJSON append), a command (the output as JSON on its stdin) or another
 * required operation (pipelines).
 *
 * Every function runs on the event loop thread and none of them blocks it:
 * a full disk, a missing or failing command, a slow reader cost a log line
 * (rate-limited per sink) and a counter, never the loop.
 *
 * Records (FILE lines and EXEC stdin) are one compact JSON object and a
 * newline, keys in this order:
 *   {"time":"2026-11-23T10:00:00.123Z","operation":"op","plugin":"p1","value":<value>}
 * time is UTC with milliseconds; value is the output's JSON text verbatim.
 * With a correlation (osink_deliver_call), before "value": for an output
 * answering a known call of a hosted plugin
 *   "call":17,"latency_ms":0.231
 * (the call's id and the seconds from its execution to the output's
 * arrival, in milliseconds), and for any other (remote plugins: the wire
 * has no correlation; outputs a plugin emits on its own)
 *   "correlated":false
 */
#ifndef ORBITD_SINK_H
#define ORBITD_SINK_H

#include <stdint.h>

#include "config.h"

struct event_base;
struct osink;

/* EXEC: commands running at once per sink; later outputs wait in a FIFO of
 * at most OSINK_EXEC_MAX_QUEUED records, beyond that they are dropped. */
#define OSINK_EXEC_MAX_RUNNING 8
#define OSINK_EXEC_MAX_QUEUED 256
/* EXECUTE: how deeply pipeline sinks may call each other from within one
 * delivery (a synchronous cycle would otherwise recurse without end). */
#define OSINK_EXECUTE_MAX_DEPTH 8

/* Called by an EXECUTE sink: run operation with json (the output value as
 * JSON text, borrowed for the call) in mode. Returns what orbit_core_execute
 * returns: > 0 sent, -ENOENT nothing to send to, other -errno. */
typedef int (*osink_execute_fn)(void *ctx, const char *operation, enum ocfg_mode mode,
				const char *json);

/* Create the sink of requirement operation as conf describes it. conf and
 * operation are borrowed: everything needed is copied. base is the daemon's
 * loop, which must outlive the sink (and its commands, see osink_free).
 * FILE opens conf->path now (appending, created 0640; O_NONBLOCK so a FIFO
 * without reader or a device fails instead of blocking). exec_fn/exec_ctx
 * are used by EXECUTE only and must then be non-NULL/valid for the sink's
 * life. Returns the sink (free with osink_free), or NULL with errno set
 * (the open error, EINVAL for an unusable conf, ENOMEM) and, if err is
 * non-NULL, *err a malloc'd message the caller frees ("cannot open /x/y:
 * Permission denied"; NULL only if that allocation failed). */
struct osink *osink_new(struct event_base *base, const char *operation,
			const struct ocfg_sink *conf, osink_execute_fn exec_fn, void *exec_ctx,
			char **err);

/* Deliver one output: plugin_id produced value_json (compact JSON text) for
 * the sink's operation. Both are borrowed for the call; NULL reads as ""
 * and "null". Never blocks, never fails loudly: problems are logged (at most
 * one line per second per sink, then a count of the suppressed ones) and
 * counted in osink_stats. NULL s is a no-op. */
void osink_deliver(struct osink *s, const char *plugin_id, const char *value_json);

/* What the daemon knows of the call an output answers (calltag.h). */
struct osink_call {
	uint64_t call;  /* 0: none known (uncorrelated) */
	double latency; /* seconds, when call != 0 */
};

/* osink_deliver with the output's correlation in the record (call NULL:
 * none said, the record as osink_deliver writes it). */
void osink_deliver_call(struct osink *s, const char *plugin_id, const char *value_json,
			const struct osink_call *call);

/* Counters since osink_new.
 * delivered: logged; written whole to the file; command exited with status
 *            0; pipeline operation sent (exec_fn returned >= 0).
 * failed:    write error or short write; command not started, exited
 *            non-zero or killed by a signal; exec_fn returned < 0 or the
 *            pipeline was nested too deep.
 * dropped:   EXEC only: the queue was full, or the sink was freed while the
 *            output still waited in the queue. */
struct osink_stats {
	uint64_t delivered, failed, dropped;
};

/* Copy s's counters into *st. */
void osink_stats(const struct osink *s, struct osink_stats *st);

/* Free s; NULL-safe. Outputs still queued are dropped (logged). Commands
 * already running are left to finish, as on a reload nothing in flight is
 * lost: each still receives its whole record, then EOF, and is reaped from
 * the loop through its pidfd (no zombies). Until the last one is reaped the
 * module keeps what they need, so the loop must keep running (it does on a
 * reload); at daemon exit call osink_shutdown() instead of waiting. */
void osink_free(struct osink *s);

/* Daemon exit, after the loop has stopped and every sink was freed: closes
 * the stdin of the commands freed sinks left running, sends them SIGTERM,
 * reaps them (after 1 s the rest get SIGKILL) and releases what they held.
 * Blocks for at most about that second; call it before event_base_free. */
void osink_shutdown(void);

#endif
