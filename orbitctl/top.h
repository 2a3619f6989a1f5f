/* top.h — `orbitctl top`: orbitd's operations ranked live, like top(1).
 * Each frame fetches a `stats` document; rates per second are the
 * difference of two snapshots of the same orbiter over their snapshot times
 * (an isolated plugin's counters move when its process reports, so a rate
 * is kept until its orbiter's snapshot is newer).
 *
 * On a terminal frames are redrawn in place (ANSI, alternate screen, cut to
 * the window's height) and a key ends it ('q') or changes the order ('s');
 * elsewhere (a pipe, a file, a test) frames are printed one after the
 * other, a blank line apart, and it ends after `frames` (default 1).
 */
#ifndef ORBITCTL_TOP_H
#define ORBITCTL_TOP_H

#include <jansson.h>
#include <stdbool.h>

struct top_opts {
	double delay;    /* seconds between frames (> 0) */
	long frames;     /* frames to show, 0: until 'q' (on a non-terminal: 1) */
	bool by_latency; /* rank by handler latency p99, not executions per second */
};

/* Fetch one stats document into *doc (a new reference): CTL_EXIT_OK, or an
 * exit status (the failure reported already). */
typedef int (*top_fetch_fn)(void *ctx, json_t **doc);

/* Run top until its frames are shown, 'q', SIGINT (conn_interrupted) or a
 * failed fetch. Returns the exit status. */
int top_run(const struct top_opts *o, top_fetch_fn fetch, void *ctx);

#endif
