/* show.c — see show.h. */
#include "show.h"
#include "logical.h"
#include "table.h"

#include <orbit/text.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Strings handed out by this module live in a ring, so a row's worth of
 * them can be built and used without bookkeeping. */
#define RING 32
static char *ring[RING];
static unsigned ring_at;

static const char *keep(char *s)
{
	ring_at = (ring_at + 1) % RING;
	free(ring[ring_at]);
	ring[ring_at] = s;
	return s;
}

static json_t *get(json_t *o, const char *key)
{
	return json_object_get(o, key);
}

static char *compact(json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	return s ? s : table_strf("?");
}

/* Any value as table text: "-" for nothing, yes/no, lists joined by ",". */
static char *text_of(json_t *v)
{
	if (!v || json_is_null(v))
		return table_strf("-");
	if (json_is_string(v))
		return table_strf("%s", json_string_value(v));
	if (json_is_boolean(v))
		return table_strf("%s", json_is_true(v) ? "yes" : "no");
	if (json_is_integer(v))
		return table_strf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
	if (json_is_real(v)) {
		char repr[ORBIT_DOUBLE_REPR_MAX];

		orbit_double_repr(repr, json_real_value(v));
		return table_strf("%s", repr);
	}
	if (json_is_array(v)) {
		if (!json_array_size(v))
			return table_strf("-");
		char *s = NULL;
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e) {
			char *t = text_of(e);
			char *n = table_strf("%s%s%s", s ? s : "", s ? "," : "", t);
			free(t);
			free(s);
			s = n;
		}
		return s;
	}
	return compact(v);
}

static const char *text(json_t *v)
{
	return keep(text_of(v));
}

const char *show_duration(json_t *seconds)
{
	if (!json_is_number(seconds) || json_number_value(seconds) < 0)
		return "-";
	double d = json_number_value(seconds);
	if (d < 10 && d != floor(d))
		return keep(table_strf("%.1fs", d));
	unsigned long long s = (unsigned long long)d;
	if (s < 60)
		return keep(table_strf("%llus", s));
	if (s < 3600)
		return keep(table_strf("%llum%02llus", s / 60, s % 60));
	if (s < 86400)
		return keep(table_strf("%lluh%02llum", s / 3600, s % 3600 / 60));
	return keep(table_strf("%llud%02lluh", s / 86400, s % 86400 / 3600));
}

static enum table_colour yes_colour(json_t *v)
{
	return json_is_true(v) ? TC_GREEN : json_is_false(v) ? TC_RED : TC_NONE;
}

static enum table_colour state_colour(const char *state)
{
	if (!state)
		return TC_NONE;
	if (!strcmp(state, "active") || !strcmp(state, "connected"))
		return TC_GREEN;
	if (!strcmp(state, "rejected") || !strcmp(state, "dead") || !strcmp(state, "failed"))
		return TC_RED;
	return TC_YELLOW;
}

static void kv(struct table *t, const char *key, enum table_colour c, const char *value)
{
	table_row(t);
	table_cell(t, TC_NONE, "%s", key);
	table_cell(t, c, "%s", value);
}

static void print_free(FILE *f, struct table *t)
{
	table_print(t, f);
	table_free(t);
}

void show_status(FILE *f, json_t *r)
{
	struct table *t = table_new(2, NULL);
	json_t *reqs = get(r, "requirements"), *plugins = get(r, "plugins"),
	       *buses = get(r, "buses"), *mqtt = get(buses, "mqtt"), *reload = get(r, "last_reload");

	kv(t, "identifier", TC_NONE, text(get(r, "identifier")));
	kv(t, "version", TC_NONE, text(get(r, "version")));
	kv(t, "pid", TC_NONE, text(get(r, "pid")));
	kv(t, "uptime", TC_NONE, show_duration(get(r, "uptime")));
	kv(t, "compliant", yes_colour(get(r, "compliant")), text(get(r, "compliant")));
	kv(t, "requirements", TC_NONE,
	   keep(table_strf("%s of %s satisfied", text(get(reqs, "satisfied")),
			   text(get(reqs, "total")))));
	kv(t, "plugins", TC_NONE,
	   keep(table_strf("%s active, %s rejected, %s disabled, %s in all",
			   text(get(plugins, "active")), text(get(plugins, "rejected")),
			   text(get(plugins, "disabled")), text(get(plugins, "total")))));
	kv(t, "connections", TC_NONE, text(get(r, "connections")));
	kv(t, "pending", TC_NONE, text(get(r, "pending")));
	const char *m = !json_is_true(get(mqtt, "enabled"))    ? "mqtt off"
			: json_is_true(get(mqtt, "connected")) ? "mqtt connected"
							       : "mqtt NOT connected";
	kv(t, "buses",
	   json_is_true(get(mqtt, "enabled")) && !json_is_true(get(mqtt, "connected")) ? TC_YELLOW
										      : TC_NONE,
	   keep(table_strf("%s%s", json_is_false(get(buses, "local")) ? "" : "local, ", m)));
	if (!json_is_object(reload)) {
		kv(t, "last reload", TC_NONE, "none since start");
	} else {
		json_t *msg = get(reload, "message");
		bool ok = json_is_true(get(reload, "ok"));
		kv(t, "last reload", ok ? TC_NONE : TC_RED,
		   keep(table_strf("%s %s ago%s%s", ok ? "ok" : "FAILED",
				   show_duration(get(reload, "age")),
				   json_string_length(msg) ? ": " : "",
				   json_string_length(msg) ? json_string_value(msg) : "")));
	}
	print_free(f, t);
}

/* Drop every "doc" member: documentation, not type (SPEC 2.10). */
static void strip_doc(json_t *v)
{
	size_t i;
	json_t *e;
	const char *k;
	if (json_is_object(v)) {
		json_object_del(v, "doc");
		json_object_foreach(v, k, e)
			strip_doc(e);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			strip_doc(e);
	}
}

/* An operation's payload spec: its schemas (a schema that is a JSON string,
 * like "string", unquoted; others compact, without "doc"), then "empty" and
 * "undefined" when allowed. */
static const char *spec_text(json_t *spec)
{
	char *s = NULL;
	size_t i;
	json_t *e;
	json_array_foreach(get(spec, "schemas"), i, e) {
		json_t *schema = json_is_string(e) ? json_loads(json_string_value(e),
								JSON_DECODE_ANY, NULL)
						   : NULL;
		strip_doc(schema);
		char *one = json_is_string(schema) ? table_strf("%s", json_string_value(schema))
			    : schema		    ? compact(schema)
						    : text_of(e);
		char *n = table_strf("%s%s%s", s ? s : "", s ? " | " : "", one);
		json_decref(schema);
		free(one);
		free(s);
		s = n;
	}
	const char *extra[] = {"empty", "undefined"};
	for (size_t k = 0; k < 2; k++) {
		if (!json_is_true(get(spec, extra[k])))
			continue;
		char *n = table_strf("%s%s%s", s ? s : "", s ? " | " : "", extra[k]);
		free(s);
		s = n;
	}
	return s ? keep(s) : "-";
}

static const char *op_names(json_t *ops)
{
	char *s = NULL;
	size_t i;
	json_t *op;
	json_array_foreach(ops, i, op) {
		char *n = table_strf("%s%s%s", s ? s : "", s ? "," : "", text(get(op, "name")));
		free(s);
		s = n;
	}
	return s ? keep(s) : "-";
}

/* Where a local plugin runs: "pid 1234 (2 restarts)", "in orbitd", or "-". */
static const char *process_text(json_t *p)
{
	const char *iso = json_string_value(get(p, "isolation"));
	json_t *pid = get(p, "pid"), *restarts = get(p, "restarts");
	if (iso && !strcmp(iso, "none"))
		return "in orbitd";
	if (!iso)
		return "-";
	json_int_t n = json_integer_value(restarts);
	const char *more = n ? keep(table_strf(" (%lld restart%s)", (long long)n, n == 1 ? "" : "s"))
			     : "";
	if (json_is_integer(pid))
		return keep(table_strf("pid %lld%s", (long long)json_integer_value(pid), more));
	return keep(table_strf("none%s", more));
}

void show_plugins(FILE *f, json_t *r)
{
	static const char *const h[] = {"FILE",  "NAME",  "VERSION",    "ORIGIN", "STATE",
					"SINCE", "PROCESS", "OPERATIONS", "REASON"};
	json_t *list = get(r, "plugins"), *p;
	size_t i;
	/* Said first: a typo's only symptom is a plugin that never shows up. */
	json_array_foreach(get(r, "unmatched"), i, p)
		fprintf(f, "warning: %s\n", text(get(p, "message")));
	if (!json_array_size(list)) {
		fputs("no plugins\n", f);
		return;
	}
	struct table *t = table_new(9, h);
	json_array_foreach(list, i, p) {
		const char *state = json_string_value(get(p, "state"));
		table_row(t);
		table_cell(t, TC_NONE, "%s", text(get(p, "file")));
		table_cell(t, TC_NONE, "%s", text(get(p, "name")));
		table_cell(t, TC_NONE, "%s", text(get(p, "version")));
		table_cell(t, TC_NONE, "%s", text(get(p, "origin")));
		table_cell(t, state_colour(state), "%s", text(get(p, "state")));
		table_cell(t, TC_NONE, "%s", show_duration(get(p, "since")));
		table_cell(t, TC_NONE, "%s", process_text(p));
		table_cell(t, TC_NONE, "%s", op_names(get(p, "operations")));
		table_cell(t, TC_NONE, "%s", text(get(p, "reason")));
	}
	print_free(f, t);
}

void show_plugin(FILE *f, json_t *p)
{
	struct table *t = table_new(2, NULL);
	json_t *op;
	size_t i;

	kv(t, "file", TC_NONE, text(get(p, "file")));
	kv(t, "name", TC_NONE, text(get(p, "name")));
	kv(t, "version", TC_NONE, text(get(p, "version")));
	kv(t, "origin", TC_NONE, text(get(p, "origin")));
	kv(t, "state", state_colour(json_string_value(get(p, "state"))), text(get(p, "state")));
	kv(t, "since", TC_NONE, keep(table_strf("%s ago", show_duration(get(p, "since")))));
	kv(t, "reason", TC_NONE, text(get(p, "reason")));
	kv(t, "process", TC_NONE, process_text(p));
	if (json_is_string(get(p, "last_crash")))
		kv(t, "last crash", TC_NONE, text(get(p, "last_crash")));
	if (json_is_number(get(p, "restart_in")))
		kv(t, "restart in", TC_NONE, show_duration(get(p, "restart_in")));
	json_array_foreach(get(p, "operations"), i, op) {
		json_t *pol = get(op, "policy"), *max = get(pol, "maximum");
		kv(t, "operation", TC_NONE, text(get(op, "name")));
		if (json_is_string(get(op, "doc")))
			kv(t, "  doc", TC_NONE, text(get(op, "doc")));
		kv(t, "  input", TC_NONE, spec_text(get(op, "input")));
		kv(t, "  output", TC_NONE, spec_text(get(op, "output")));
		kv(t, "  blocking", TC_NONE, text(get(op, "blocking")));
		kv(t, "  maximum", TC_NONE, json_is_null(max) || !max ? "no limit" : text(max));
		kv(t, "  allowlist", TC_NONE,
		   json_is_array(get(pol, "allowlist")) ? text(get(pol, "allowlist")) : "any core");
		kv(t, "  blocklist", TC_NONE, text(get(pol, "blocklist")));
		kv(t, "  connections", TC_NONE, text(get(op, "connections")));
		if (json_is_integer(get(op, "max_inflight")))
			kv(t, "  in flight", TC_NONE,
			   keep(table_strf("%s of at most %s, %s dropped", text(get(op, "inflight")),
					   text(get(op, "max_inflight")), text(get(op, "dropped")))));
		kv(t, "  timeout", TC_NONE,
		   json_is_number(get(op, "timeout")) ? show_duration(get(op, "timeout")) : "none");
	}
	print_free(f, t);
	show_plugin_config(f, get(p, "config"));
}

/* A number as the config map declared it: 65536, not 65536.0; 0.1, not
 * 0.10000000000000001. */
static const char *num(json_t *n)
{
	char repr[ORBIT_DOUBLE_REPR_MAX];
	double v = json_number_value(n);

	if (!json_is_number(n))
		return NULL;
	if (v == trunc(v) && fabs(v) < 1e15)
		return keep(table_strf("%.0f", v));
	orbit_double_repr(repr, v);
	return keep(table_strf("%s", repr));
}

void show_plugin_config(FILE *f, json_t *keys)
{
	static const char *const h[] = {"KEY", "TYPE", "VALUE", "FROM", "DEFAULT", "LIMITS", "DOC"};
	json_t *k;
	size_t i;

	if (!json_array_size(keys))
		return;
	struct table *t = table_new(7, h);
	json_array_foreach(keys, i, k) {
		json_t *w = get(k, "where"), *value = get(k, "value"), *ch = get(k, "choices");
		const char *lo = num(get(k, "min")), *hi = num(get(k, "max"));
		char *v = json_is_null(value) || !value ? NULL
			  : json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);
		table_row(t);
		table_cell(t, TC_NONE, "%s", text(get(k, "path")));
		table_cell(t, TC_NONE, "%s", text(get(k, "type")));
		table_cell(t, TC_NONE, "%s", v ? v : "-");
		if (json_is_true(get(k, "given")))
			table_cell(t, TC_NONE, "%s:%s:%s", text(get(w, "file")), text(get(w, "line")),
				   text(get(w, "column")));
		else
			table_cell(t, TC_DIM, "%s", json_is_true(get(k, "required")) ? "required"
						     : json_is_string(get(k, "default")) ? "default" : "-");
		table_cell(t, TC_NONE, "%s", text(get(k, "default")));
		if (json_is_array(ch))
			table_cell(t, TC_NONE, "%s", text(ch));
		else
			table_cell(t, TC_NONE, "%s%s%s", lo ? lo : "", lo || hi ? ".." : "-",
				   hi ? hi : "");
		table_cell(t, TC_NONE, "%s", text(get(k, "doc")));
		free(v);
	}
	fputs("\nconfig:\n", f);
	print_free(f, t);
}

size_t show_unsatisfied(json_t *r)
{
	size_t n = 0, i;
	json_t *q;
	json_array_foreach(get(r, "requirements"), i, q)
		n += !json_is_true(get(q, "satisfied"));
	return n;
}

void show_requirements(FILE *f, json_t *r)
{
	static const char *const h[] = {"OPERATION", "MANDATORY", "MIN",       "MAX",
					"CONNECTED", "PENDING",	  "SATISFIED", "MISSING"};
	json_t *list = get(r, "requirements"), *q;
	size_t i;
	if (!json_array_size(list)) {
		fputs("no requirements\n", f);
		return;
	}
	struct table *t = table_new(8, h);
	json_array_foreach(list, i, q) {
		table_row(t);
		table_cell(t, TC_NONE, "%s", text(get(q, "operation")));
		table_cell(t, TC_NONE, "%s", text(get(q, "mandatory")));
		table_cell(t, TC_NONE, "%s", text(get(q, "minimum")));
		table_cell(t, TC_NONE, "%s", text(get(q, "maximum")));
		table_cell(t, TC_NONE, "%s", text(get(q, "connected")));
		table_cell(t, TC_NONE, "%s", text(get(q, "pending")));
		table_cell(t, yes_colour(get(q, "satisfied")), "%s", text(get(q, "satisfied")));
		table_cell(t, TC_NONE, "%s", text(get(q, "mandatory_missing")));
	}
	print_free(f, t);
}

void show_connections(FILE *f, json_t *r)
{
	/* DEAD IN: until we declare the remote dead unless it speaks;
	 * THEIR DEADLINE: until it would declare us dead, our keepalive due. */
	static const char *const h[] = {"SIDE",	       "OPERATION",    "LOCAL", "REMOTE",
					"INPUT TOPIC", "OUTPUT TOPIC", "AGE",	"LAST USE",
					"DEAD IN",     "THEIR DEADLINE", "STATE"};
	json_t *list = get(r, "connections"), *c;
	size_t i;
	if (!json_array_size(list)) {
		fputs("no connections\n", f);
		return;
	}
	struct table *t = table_new(11, h);
	json_array_foreach(list, i, c) {
		bool soft = json_is_true(get(c, "soft_closed"));
		table_row(t);
		table_cell(t, TC_NONE, "%s", text(get(c, "side")));
		table_cell(t, TC_NONE, "%s", text(get(c, "operation")));
		table_cell(t, TC_NONE, "%s", text(get(c, "local")));
		table_cell(t, TC_NONE, "%s", text(get(c, "remote")));
		table_cell(t, TC_NONE, "%s", text(get(c, "input_topic")));
		table_cell(t, TC_NONE, "%s", text(get(c, "output_topic")));
		table_cell(t, TC_NONE, "%s", show_duration(get(c, "age")));
		table_cell(t, TC_NONE, "%s", show_duration(get(c, "last_use")));
		table_cell(t, TC_NONE, "%s", show_duration(get(c, "dead_in")));
		table_cell(t, TC_NONE, "%s", show_duration(get(c, "keepalive_deadline")));
		table_cell(t, soft ? TC_YELLOW : TC_NONE, "%s", soft ? "closing" : "open");
	}
	print_free(f, t);
}

void show_pending(FILE *f, json_t *r)
{
	static const char *const h[] = {"SIDE", "OPERATION", "LOCAL", "REMOTE", "AGE"};
	json_t *list = get(r, "pending"), *p;
	size_t i;
	if (!json_array_size(list)) {
		fputs("no pending requests\n", f);
		return;
	}
	struct table *t = table_new(5, h);
	json_array_foreach(list, i, p) {
		table_row(t);
		table_cell(t, TC_NONE, "%s", text(get(p, "side")));
		table_cell(t, TC_NONE, "%s", text(get(p, "operation")));
		table_cell(t, TC_NONE, "%s", text(get(p, "local")));
		table_cell(t, TC_NONE, "%s", text(get(p, "remote")));
		table_cell(t, TC_NONE, "%s", show_duration(get(p, "age")));
	}
	print_free(f, t);
}

void show_output_event(FILE *f, json_t *ev)
{
	json_t *shown = logical_render(get(ev, "value") ? get(ev, "value") : json_null(),
				       get(ev, "logical"));
	char *v = compact(shown);
	json_decref(shown);
	char *line = table_strf("%s %s %s", text(get(ev, "plugin")), text(get(ev, "operation")), v);
	fprintf(f, "%s", table_clean(line));
	/* Which call it answers and when, or that the wire could not say. */
	json_t *lat = get(ev, "latency_ms");
	if (json_is_true(get(ev, "correlated")))
		fprintf(f, "  (call %" JSON_INTEGER_FORMAT ", %.3f ms)",
			json_integer_value(get(ev, "call")), json_number_value(lat));
	else if (get(ev, "matched") && lat)
		fprintf(f, "  (matched by connection/time, %.3f ms after the execute)",
			json_number_value(lat));
	else if (get(ev, "matched"))
		fputs("  (matched by connection/time)", f);
	fputc('\n', f);
	free(line);
	free(v);
}

void show_execute_result(FILE *f, json_t *res)
{
	json_int_t matched = json_integer_value(get(res, "matched"));
	size_t open = 0;
	json_t *c;
	size_t i;
	json_array_foreach(get(res, "calls"), i, c)
		open += json_is_true(get(c, "correlated")) && !json_is_true(get(c, "complete"));
	fprintf(f, "sent %" JSON_INTEGER_FORMAT ", outputs %" JSON_INTEGER_FORMAT,
		json_integer_value(get(res, "sent")), json_integer_value(get(res, "outputs")));
	if (matched)
		fprintf(f, " (%" JSON_INTEGER_FORMAT " matched by connection/time: remote plugins "
			"cannot say which call an output answers)", matched);
	if (open)
		fprintf(f, ", %zu call%s still running at the end of the wait", open,
			open == 1 ? "" : "s");
	fputc('\n', f);
}

/* key=value, a string bare unless it is empty or has blanks or quotes. */
static char *field(const char *key, json_t *v)
{
	const char *s = json_string_value(v);
	char *val = s && *s && !strpbrk(s, " \t\"=") && strcmp(key, "value") ? table_strf("%s", s)
										: compact(v);
	char *out = table_strf("%s=%s", key, val);
	free(val);
	return out;
}

void show_watch_event(FILE *f, json_t *ev)
{
	char *line = table_strf("%s %s", text(get(ev, "time")), text(get(ev, "type")));
	const char *key;
	json_t *v;
	json_object_foreach(ev, key, v) {
		if (!strcmp(key, "time") || !strcmp(key, "type") || !strcmp(key, "logical"))
			continue;
		json_t *shown = strcmp(key, "value") ? json_incref(v)
						     : logical_render(v, get(ev, "logical"));
		char *fv = field(key, shown);
		json_decref(shown);
		char *n = table_strf("%s %s", line, fv);
		free(fv);
		free(line);
		line = n;
	}
	fprintf(f, "%s\n", table_clean(line));
	free(line);
}
