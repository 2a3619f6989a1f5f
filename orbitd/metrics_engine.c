/* metrics_engine.c — see metrics_engine.h. Series are labelled by the
 * orbiter's role (core, plugin) and identifier, which together tell who
 * serves an operation; a plugin's name is orbitd_plugin_info's business. */
#include "metrics_engine.h"
#include "loader.h"
#include "plugproc.h"

#include <orbit/core.h>
#include <orbit/stats.h>

#include <jansson.h>
#include <string.h>

#define L(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Snapshots of the orbiters the daemon runs: the core's and those of the
 * plugins hosted in its process; an isolated plugin's orbiters live in its
 * process, which ships their snapshots in its reports (plugproc_stats). */
static int add_plugin_orbiters(void *ctx, const struct lplug_info *pl)
{
	if (pl->proc) {
		json_t *st = plugproc_stats(pl->proc);
		const char *buses[] = {"local", "mqtt"};
		for (size_t i = 0; st && i < 2; i++)
			if (json_is_object(json_object_get(st, buses[i])))
				json_array_append(ctx, json_object_get(st, buses[i]));
		return 0;
	}
	if (!pl->host)
		return 0;
	orbit_lender *inst[] = {host_orbiter(pl->host), host_remote_orbiter(pl->host)};
	for (size_t i = 0; i < 2; i++)
		if (inst[i])
			json_array_append_new(ctx, orbit_orbiter_stats_json(
							   orbit_lender_orbiter(inst[i])));
	return 0;
}

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

/* One family over every snapshot: a counter of the orbiter ("key" at the
 * top level, or under "messages"). */
static void orbiter_counter(struct prom *p, json_t *snaps, const char *name, const char *help,
			    const char *section, const char *key)
{
	size_t i;
	json_t *s;
	prom_family(p, name, PROM_COUNTER, help);
	json_array_foreach(snaps, i, s) {
		json_t *v = json_object_get(section ? json_object_get(s, section) : s, key);
		if (json_is_integer(v))
			prom_sample(p, L("role", str(s, "role"), "orbiter", str(s, "id")),
				    (double)json_integer_value(v));
	}
}

/* Messages by kind: "sent_total" or "received_total" under "messages". */
static void by_kind(struct prom *p, json_t *snaps, const char *name, const char *help,
		    const char *key)
{
	size_t i;
	json_t *s;
	prom_family(p, name, PROM_COUNTER, help);
	json_array_foreach(snaps, i, s) {
		const char *kind;
		json_t *n;
		json_object_foreach(json_object_get(json_object_get(s, "messages"), key), kind, n)
			prom_sample(p, L("role", str(s, "role"), "orbiter", str(s, "id"), "kind", kind),
				    (double)json_integer_value(n));
	}
}

/* A per-operation counter; by_reason: one series per member of the object
 * op[key] (closes by reason). */
static void op_counter(struct prom *p, json_t *snaps, const char *name, const char *help,
		       const char *key, bool by_reason)
{
	size_t i;
	json_t *s;
	prom_family(p, name, PROM_COUNTER, help);
	json_array_foreach(snaps, i, s) {
		const char *op;
		json_t *o;
		json_object_foreach(json_object_get(s, "operations"), op, o) {
			json_t *v = json_object_get(o, key);
			const char *reason;
			json_t *n;
			if (!by_reason) {
				prom_sample(p, L("role", str(s, "role"), "orbiter", str(s, "id"),
						 "operation", op),
					    (double)json_integer_value(v));
				continue;
			}
			json_object_foreach(v, reason, n)
				prom_sample(p, L("role", str(s, "role"), "orbiter", str(s, "id"),
						 "operation", op, "reason", reason),
					    (double)json_integer_value(n));
		}
	}
}

static void latency(struct prom *p, json_t *snaps)
{
	const double *bounds = orbit_histogram_bounds();
	size_t i;
	json_t *s;
	prom_family(p, "orbitd_operation_latency_seconds", PROM_HISTOGRAM,
		    "Time from an input to the handler's output, where the host times calls.");
	json_array_foreach(snaps, i, s) {
		const char *op;
		json_t *o;
		json_object_foreach(json_object_get(s, "operations"), op, o) {
			orbit_histogram h;
			unsigned long long cum[ORBIT_HISTOGRAM_BOUNDS], sum = 0;
			json_t *j = json_object_get(o, "latency_seconds");
			if (!j || orbit_histogram_from_json(j, &h) < 0)
				continue;
			for (unsigned b = 0; b < ORBIT_HISTOGRAM_BOUNDS; b++)
				cum[b] = sum += h.bucket[b];
			prom_histogram(p, L("role", str(s, "role"), "orbiter", str(s, "id"),
					    "operation", op),
				       bounds, cum, ORBIT_HISTOGRAM_BOUNDS, h.count, h.sum);
		}
	}
}

void metrics_engine_group(struct daemon *d, struct prom *p)
{
	static const struct {
		const char *name, *key, *help;
	} ops[] = {
		{"orbitd_operation_connections_opened", "connections_opened_total",
		 "Connections of the operation opened."},
		{"orbitd_operation_inputs", "inputs_total",
		 "Inputs: executions sent (core, one per connection reached) or received (plugin)."},
		{"orbitd_operation_input_bytes", "input_bytes_total", "Payload bytes of the inputs."},
		{"orbitd_operation_outputs", "outputs_total",
		 "Outputs: sent (plugin) or received (core)."},
		{"orbitd_operation_output_bytes", "output_bytes_total",
		 "Payload bytes of the outputs."},
		{"orbitd_operation_errors", "errors_total",
		 "Errors: a payload the bus refused, an execute with no connection, a failed "
		 "handler."},
		{"orbitd_operation_drops", "drops_total",
		 "Payloads discarded: an output with no sink, an input with no handler."},
	};
	json_t *snaps = json_array();
	if (!snaps)
		return;
	json_array_append_new(snaps, orbit_orbiter_stats_json(orbit_core_orbiter(d->core)));
	loader_foreach(d->loader, add_plugin_orbiters, snaps);

	by_kind(p, snaps, "orbitd_protocol_messages_sent", "Protocol messages sent, by kind.",
		"sent_total");
	by_kind(p, snaps, "orbitd_protocol_messages_received",
		"Protocol messages received, by kind.", "received_total");
	orbiter_counter(p, snaps, "orbitd_protocol_messages_malformed",
			"Messages received that could not be decoded (dropped).", "messages",
			"malformed_total");
	orbiter_counter(p, snaps, "orbitd_protocol_messages_unexpected",
			"Messages received that are not taken on their topic (dropped).", "messages",
			"unexpected_total");
	orbiter_counter(p, snaps, "orbitd_protocol_publish_failures",
			"Protocol messages the bus refused.", "messages", "publish_failures_total");
	orbiter_counter(p, snaps, "orbitd_handshakes_refused",
			"Handshakes not started at handshake.max_pending.", NULL,
			"handshakes_refused_total");
	orbiter_counter(p, snaps, "orbitd_remotes_dead",
			"Remote orbiters declared dead (silent past their deadline).", NULL,
			"remotes_dead_total");
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
		op_counter(p, snaps, ops[i].name, ops[i].help, ops[i].key, false);
	op_counter(p, snaps, "orbitd_operation_closes",
		   "Connections of the operation that ended, by reason (graceful_sent, "
		   "graceful_received, graceless_sent, graceless_received, acked, timed_out, "
		   "unused, remote_dead, stale).",
		   "closes_total", true);
	latency(p, snaps);
	json_decref(snaps);
}
