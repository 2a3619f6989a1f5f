/* orbit/stats.h — what an orbiter counts (DESIGN §3 Observability): protocol
 * messages by kind, per operation and per connection the payloads, bytes,
 * errors, drops and closes, and a latency histogram type for hosts to
 * record into. Counting is always on: plain counters bumped on the loop
 * thread, no locks, no allocation on the path of a payload.
 *
 * The snapshot is JSON (jansson's json_t, forward-declared here: include
 * <jansson.h> to use it). One format serves the three consumers alike: a
 * control command embeds it in its reply and renders tables from it, a
 * plugin process ships it to the daemon in its periodic report as it is,
 * and a Prometheus exposition walks it — for an isolated plugin the daemon
 * has nothing but that JSON, so one renderer of the JSON covers both kinds
 * of plugin. orbit_histogram_from_json rebuilds a shipped histogram.
 *
 * Ownership: a returned json_t * is a new reference (json_decref).
 * Threading: the orbiter's functions on its loop thread; orbit_histogram_*
 * touch only the histogram given (the caller serialises access to it).
 */
#ifndef ORBIT_STATS_H
#define ORBIT_STATS_H

#include "orbiter.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct json_t;

/* ---- latency histogram ---- */

/* Finite bucket bounds: 1-2-5 steps from 1 µs to 100 s (1e-6, 2e-6, 5e-6,
 * 1e-5, ..., 50, 100), 25 of them; one more bucket holds everything above. */
#define ORBIT_HISTOGRAM_BOUNDS 25
#define ORBIT_HISTOGRAM_BUCKETS (ORBIT_HISTOGRAM_BOUNDS + 1)

/* Durations in seconds. Zero-initialised (or orbit_histogram_reset) is
 * empty. bucket[i] counts values v with bound[i-1] < v <= bound[i]
 * (bound[-1] = -inf), bucket[ORBIT_HISTOGRAM_BOUNDS] those above the last
 * bound: not cumulative; Prometheus' le="x" count is the sum of the buckets
 * up to x, its le="+Inf" count is count. */
typedef struct orbit_histogram {
	uint64_t count;
	double sum;      /* of every value added, seconds */
	double min, max; /* meaningful when count > 0 */
	uint64_t bucket[ORBIT_HISTOGRAM_BUCKETS];
} orbit_histogram;

/* The ORBIT_HISTOGRAM_BOUNDS finite upper bounds, ascending, in seconds
 * (static storage): Prometheus' le labels. */
const double *orbit_histogram_bounds(void);

/* Empty h. */
void orbit_histogram_reset(orbit_histogram *h);

/* Record one duration in seconds (negative or NaN counts as 0). */
void orbit_histogram_add(orbit_histogram *h, double seconds);

/* Add everything in src to dst (e.g. several connections into one). */
void orbit_histogram_merge(orbit_histogram *dst, const orbit_histogram *src);

/* An estimate of the q-quantile (0 <= q <= 1) in seconds: linear within the
 * bucket that holds it, clamped to [min, max], so its error is at most that
 * bucket's width (a factor 2.5). NaN when h is empty or q out of range. */
double orbit_histogram_quantile(const orbit_histogram *h, double q);

/* h as JSON: {"count": n, "sum_seconds": s, "min_seconds": s|null,
 * "max_seconds": s|null, "buckets": [n, ...]} — ORBIT_HISTOGRAM_BUCKETS
 * non-cumulative counts aligned with orbit_histogram_bounds, the last one
 * above the last bound. NULL on ENOMEM. */
struct json_t *orbit_histogram_json(const orbit_histogram *h);

/* The reverse, for a histogram shipped as JSON. 0, or -EINVAL (not that
 * shape; *h then empty). */
int orbit_histogram_from_json(const struct json_t *j, orbit_histogram *h);

/* ---- what an orbiter counts ---- */

/* The latency histogram of o's operation, for the host to record into (the
 * engine cannot correlate an output with its input: the Orbitalis wire has
 * no correlation id; a host that calls the handler can, e.g. orbitd times
 * each call). Created empty on first use and kept while o lives; reported as
 * the operation's "latency_seconds" in the snapshot. NULL (errno) for
 * EINVAL or ENOMEM. */
orbit_histogram *orbit_orbiter_latency(orbit_orbiter *o, const char *operation);

/* Count an error the host saw on a connection of o — a handler that
 * failed, a payload it could not convert — under the connection
 * (remote_id, operation), or the operation alone when remote_id is NULL or
 * no longer connected: errors_total, or drops_total when dropped (the
 * payload was discarded), and text (copied, truncated to 200 bytes) as the
 * last error with the time. 0 or -EINVAL (o, operation or text NULL). */
int orbit_orbiter_record_error(orbit_orbiter *o, const char *remote_id, const char *operation,
			       bool dropped, const char *text);

/* A snapshot of everything o counted, as a new JSON object. Counters are
 * integers since o was created (they survive stop and start); times are
 * Unix seconds (reals), ages seconds on o's clock. Inputs flow core → plugin
 * and outputs plugin → core; each side counts those it sent or received.
 *
 * {
 *   "id": "<orbiter id>", "role": "core" | "plugin",
 *   "taken_at_unix_seconds": t,
 *   "connections_current": n, "pending_current": n,
 *   "messages": {
 *     "sent_total":     {"<kind label>": n, ...},  every kind of
 *     "received_total": {"<kind label>": n, ...},  orbit_msg_kind_label
 *     "malformed_total": n,        received, could not be decoded: dropped
 *     "unexpected_total": n,       received, not a message taken on that
 *                                  topic (kind, format): dropped
 *     "publish_failures_total": n  protocol messages the bus refused
 *   },
 *   "handshakes_refused_total": n,   not started at orbit_set_max_pending
 *   "close_resends_refused_total": n, closes not queued for retransmission
 *   "remotes_dead_total": n,         remotes declared dead (silent)
 *   "operations": {
 *     "<operation>": {
 *       "connections_current": n,
 *       "connections_opened_total": n,
 *       "inputs_total": n,        core: executions sent (one per
 *                                 connection reached); plugin: received
 *       "input_bytes_total": n,   their payload bytes
 *       "outputs_total": n,       plugin: sent; core: received
 *       "output_bytes_total": n,
 *       "errors_total": n,        core: an input the bus refused, an
 *                                 execute with no matching connection;
 *                                 plugin: an output the bus refused, a
 *                                 reply to no connection; plus the host's
 *                                 (orbit_orbiter_record_error)
 *       "drops_total": n,         payloads discarded: core: an output with
 *                                 no sink; plugin: an input with no handler;
 *                                 plus the host's
 *       "last_error": "text" | null,
 *       "last_error_at_unix_seconds": t | null,
 *       "closes_total": {         close events of its connections:
 *         "graceful_sent": n,     our graceful closes sent (the
 *                                 connection ends at "acked", or
 *                                 "timed_out", or a close of the remote)
 *         "graceful_received": n, ended by the remote's (acked by us)
 *         "graceless_sent": n,    ended by our graceless close (timeouts,
 *                                 dead remotes, stop included)
 *         "graceless_received": n, ended by the remote's
 *         "acked": n,             our graceful close acknowledged
 *         "timed_out": n,         our graceful close unacknowledged in
 *                                 graceful_close_timeout, gone graceless
 *         "unused": n,            closed for close_connection_if_unused_after
 *         "remote_dead": n,       closed because the remote was declared
 *                                 dead, or its host said it is gone
 *                                 (orbit_orbiter_close_remote)
 *         "stale": n              dropped without a message: the remote
 *                                 showed it had lost its side
 *       },                        (the reasons are also counted in *_sent)
 *       "latency_seconds": {histogram}  only once orbit_orbiter_latency
 *                                       was called for it
 *     }, ...
 *   },
 *   "connections": [
 *     {"remote_id": "..", "operation": "..",
 *      "opened_at_unix_seconds": t, "age_seconds": s, "idle_seconds": s,
 *      "closing": bool,           our graceful close awaits its ack
 *      "inputs_total", "input_bytes_total", "outputs_total",
 *      "output_bytes_total", "errors_total", "drops_total", "last_error",
 *      "last_error_at_unix_seconds": as for the operation, for this
 *                                    connection alone}, ...
 *   ]
 * }
 * An operation's counters include its connections that are gone. NULL on
 * ENOMEM. */
struct json_t *orbit_orbiter_stats_json(const orbit_orbiter *o);

#ifdef __cplusplus
}
#endif

#endif
