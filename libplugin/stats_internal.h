/* stats_internal.h (private to libplugin) — the counters behind
 * orbit/stats.h, embedded in the orbiter's records: bumped in place on the
 * loop thread (no locks, no allocation per payload), read by stats.c. */
#ifndef ORBIT_STATS_INTERNAL_H
#define ORBIT_STATS_INTERNAL_H

#include "orbit/protocol.h"
#include "orbit/stats.h"

#include <stdint.h>

/* Payload traffic of one connection; an operation keeps the sum of its
 * connections that are gone (and errors counted with no connection). */
struct orb_traffic {
	uint64_t inputs, input_bytes, outputs, output_bytes, errors, drops;
};

/* The last error: text malloc'd (NULL: none), at on the orbiter's clock. */
struct orb_last_error {
	char *text;
	double at;
};

/* Close events of an operation's connections (orbit/stats.h "closes_total"). */
struct orb_closes {
	uint64_t graceful_sent, graceful_received, graceless_sent, graceless_received;
	uint64_t acked, timed_out, unused, remote_dead, stale;
};

/* Per operation, in its opslot; owns last.text and latency. */
struct orb_op_stats {
	struct orb_traffic gone;
	struct orb_closes closes;
	uint64_t opened;
	struct orb_last_error last;
	orbit_histogram *latency; /* made by orbit_orbiter_latency */
};

/* Per orbiter. */
struct orb_msg_stats {
	uint64_t sent[ORBIT_MSG__COUNT], received[ORBIT_MSG__COUNT];
	uint64_t malformed, unexpected, publish_failures, remotes_dead;
};

#endif
