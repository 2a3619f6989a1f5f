/* stats.h — orbitctl's reading of orbitd's `stats` document (orbitctl(1)):
 * one row per operation of every orbiter (the core's, each plugin's on each
 * bus) with its counters and handler latency quantiles, the tables of
 * `orbitctl stats`, and the rows `orbitctl top` ranks.
 *
 * Ownership: rows borrow their strings from the document they were read
 * from (keep it alive while the rows are used) except `where`, which the
 * row owns; stats_rows_free frees the array.
 */
#ifndef ORBITCTL_STATS_H
#define ORBITCTL_STATS_H

#include <jansson.h>
#include <stdio.h>

struct stats_row {
	char *where;           /* "core", or the plugin's name */
	const char *bus;       /* a plugin's: "local" or "mqtt"; the core's: "-" */
	const char *operation;
	double taken;          /* its orbiter's snapshot time, Unix seconds */
	json_int_t inputs, outputs, errors, drops, input_bytes, output_bytes;
	double p50, p90, p99;  /* handler latency, seconds; NaN: none recorded */
	json_int_t calls;      /* handler calls timed */
	const char *last_error; /* NULL: none */
};

/* The rows of a stats document, in its order. *rows malloc'd (NULL when
 * none); returns their number. */
size_t stats_rows(json_t *doc, struct stats_row **rows);
void stats_rows_free(struct stats_row *rows, size_t n);

/* "85us", "1.2ms", "2.50s"; "-" for NaN. Valid until the 16th next call. */
const char *stats_latency(double seconds);

/* The tables of `orbitctl stats`: per operation, per connection, buses. */
void show_stats(FILE *f, json_t *doc);

#endif
