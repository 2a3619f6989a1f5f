/* stats.c — see stats.h. Every orbiter's snapshot has one shape
 * (orbit/stats.h) whether orbitd read it from the orbiter or from an
 * isolated plugin's report, so one reader serves them all. Latency
 * quantiles come from the histograms with liborbit's own estimator
 * (orbit_histogram_quantile, linked in from its self-contained object). */
#include "stats.h"
#include "table.h"

#include <orbit/stats.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RING 16
static char *ring[RING];
static unsigned ring_at;

static const char *keep(char *s)
{
	ring_at = (ring_at + 1) % RING;
	free(ring[ring_at]);
	ring[ring_at] = s;
	return s;
}

const char *stats_latency(double s)
{
	if (isnan(s))
		return "-";
	if (s < 1e-3)
		return keep(table_strf("%.0fus", s * 1e6));
	if (s < 1)
		return keep(table_strf("%.3gms", s * 1e3));
	return keep(table_strf("%.2fs", s));
}

static json_int_t int_of(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

struct rows {
	struct stats_row *v;
	size_t n, cap;
};

static void add_orbiter(struct rows *r, const char *where, const char *bus, json_t *s)
{
	const char *op;
	json_t *o;
	json_object_foreach(json_object_get(s, "operations"), op, o) {
		if (r->n == r->cap) {
			r->cap = r->cap ? 2 * r->cap : 16;
			if (!(r->v = realloc(r->v, r->cap * sizeof *r->v))) {
				fputs("orbitctl: out of memory\n", stderr);
				exit(1);
			}
		}
		struct stats_row *row = &r->v[r->n++];
		orbit_histogram h;
		bool timed = orbit_histogram_from_json(json_object_get(o, "latency_seconds"), &h) == 0;
		*row = (struct stats_row){
			.where = table_strf("%s", where),
			.bus = bus,
			.operation = op,
			.taken = json_number_value(json_object_get(s, "taken_at_unix_seconds")),
			.inputs = int_of(o, "inputs_total"),
			.outputs = int_of(o, "outputs_total"),
			.errors = int_of(o, "errors_total"),
			.drops = int_of(o, "drops_total"),
			.input_bytes = int_of(o, "input_bytes_total"),
			.output_bytes = int_of(o, "output_bytes_total"),
			.p50 = timed ? orbit_histogram_quantile(&h, 0.5) : NAN,
			.p90 = timed ? orbit_histogram_quantile(&h, 0.9) : NAN,
			.p99 = timed ? orbit_histogram_quantile(&h, 0.99) : NAN,
			.calls = timed ? (json_int_t)h.count : 0,
			.last_error = json_string_value(json_object_get(o, "last_error")),
		};
	}
}

size_t stats_rows(json_t *doc, struct stats_row **rows)
{
	struct rows r = {0};
	add_orbiter(&r, "core", "-", json_object_get(doc, "core"));
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(doc, "plugins"), i, p) {
		const char *name = json_string_value(json_object_get(p, "name"));
		const char *bus;
		json_t *s;
		json_object_foreach(json_object_get(p, "orbiters"), bus, s)
			add_orbiter(&r, name ? name : "?", bus, s);
	}
	*rows = r.v;
	return r.n;
}

void stats_rows_free(struct stats_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(rows[i].where);
	free(rows);
}

static const char *or_dash(const char *s)
{
	return s ? s : "-";
}

static void show_operations(FILE *f, json_t *doc)
{
	static const char *const head[] = {"WHERE", "BUS", "OPERATION", "EXEC", "OUT",
					   "ERR", "DROP", "IN BYTES", "OUT BYTES", "P50",
					   "P90", "P99", "LAST ERROR"};
	struct table *t = table_new(13, head);
	struct stats_row *rows;
	size_t n = stats_rows(doc, &rows);
	for (size_t i = 0; i < n; i++) {
		struct stats_row *r = &rows[i];
		table_row(t);
		table_cell(t, TC_NONE, "%s", r->where);
		table_cell(t, TC_NONE, "%s", r->bus);
		table_cell(t, TC_NONE, "%s", r->operation);
		table_cell(t, TC_NONE, "%" JSON_INTEGER_FORMAT, r->inputs);
		table_cell(t, TC_NONE, "%" JSON_INTEGER_FORMAT, r->outputs);
		table_cell(t, r->errors ? TC_RED : TC_NONE, "%" JSON_INTEGER_FORMAT, r->errors);
		table_cell(t, r->drops ? TC_YELLOW : TC_NONE, "%" JSON_INTEGER_FORMAT, r->drops);
		table_cell(t, TC_NONE, "%" JSON_INTEGER_FORMAT, r->input_bytes);
		table_cell(t, TC_NONE, "%" JSON_INTEGER_FORMAT, r->output_bytes);
		table_cell(t, TC_NONE, "%s", stats_latency(r->p50));
		table_cell(t, TC_NONE, "%s", stats_latency(r->p90));
		table_cell(t, TC_NONE, "%s", stats_latency(r->p99));
		table_cell(t, TC_NONE, "%s", or_dash(r->last_error));
	}
	if (n)
		table_print(t, f);
	else
		fputs("no operations\n", f);
	stats_rows_free(rows, n);
	table_free(t);
}

static void add_conns(struct table *t, const char *where, const char *bus, json_t *s)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(s, "connections"), i, c) {
		table_row(t);
		table_cell(t, TC_NONE, "%s", where);
		table_cell(t, TC_NONE, "%s", bus);
		table_cell(t, TC_NONE, "%s", or_dash(json_string_value(json_object_get(c, "remote_id"))));
		table_cell(t, TC_NONE, "%s", or_dash(json_string_value(json_object_get(c, "operation"))));
		table_cell(t, TC_NONE, "%" JSON_INTEGER_FORMAT, int_of(c, "inputs_total"));
		table_cell(t, TC_NONE, "%" JSON_INTEGER_FORMAT, int_of(c, "outputs_total"));
		table_cell(t, int_of(c, "errors_total") ? TC_RED : TC_NONE, "%" JSON_INTEGER_FORMAT,
			   int_of(c, "errors_total"));
		table_cell(t, int_of(c, "drops_total") ? TC_YELLOW : TC_NONE,
			   "%" JSON_INTEGER_FORMAT, int_of(c, "drops_total"));
		table_cell(t, TC_NONE, "%" JSON_INTEGER_FORMAT,
			   int_of(c, "input_bytes_total") + int_of(c, "output_bytes_total"));
		table_cell(t, TC_NONE, "%s",
			   or_dash(json_string_value(json_object_get(c, "last_error"))));
	}
	if (json_is_true(json_object_get(s, "connections_omitted"))) {
		table_row(t);
		table_cell(t, TC_NONE, "%s", where);
		table_cell(t, TC_NONE, "%s", bus);
		table_cell(t, TC_DIM, "(too many to report)");
	}
}

static void show_connections_of(FILE *f, json_t *doc)
{
	static const char *const head[] = {"WHERE", "BUS", "REMOTE", "OPERATION", "EXEC",
					   "OUT", "ERR", "DROP", "BYTES", "LAST ERROR"};
	struct table *t = table_new(10, head);
	add_conns(t, "core", "-", json_object_get(doc, "core"));
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(doc, "plugins"), i, p) {
		const char *name = json_string_value(json_object_get(p, "name"));
		const char *bus;
		json_t *s;
		json_object_foreach(json_object_get(p, "orbiters"), bus, s)
			add_conns(t, name ? name : "?", bus, s);
	}
	if (table_rows(t))
		table_print(t, f);
	else
		fputs("no connections\n", f);
	table_free(t);
}

void show_stats(FILE *f, json_t *doc)
{
	show_operations(f, doc);
	fputc('\n', f);
	show_connections_of(f, doc);
	json_t *m = json_object_get(json_object_get(doc, "buses"), "mqtt");
	if (json_is_object(m))
		fprintf(f,
			"\nmqtt: %s, %" JSON_INTEGER_FORMAT " published, %" JSON_INTEGER_FORMAT
			" received, %" JSON_INTEGER_FORMAT " malformed, %" JSON_INTEGER_FORMAT
			" connects, %" JSON_INTEGER_FORMAT " queued\n",
			json_is_true(json_object_get(m, "connected")) ? "connected" : "disconnected",
			int_of(m, "published_total"), int_of(m, "received_total"),
			int_of(m, "dropped_malformed_total"), int_of(m, "connects_total"),
			int_of(m, "queued_current"));
	else
		fputs("\nmqtt: not configured\n", f);
}
