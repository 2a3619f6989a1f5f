/* graph.c — see graph.h. Identifiers are quoted DOT IDs (", \ escaped;
 * control characters dropped): any orbiter name is a valid node. */
#include "graph.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static void quoted(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		if ((unsigned char)*s >= 0x20)
			fputc(*s, f);
	}
	fputc('"', f);
}

/* Nodes: id -> {"core": bool, "local": bool, "dead": bool}. */
static void node(json_t *nodes, const char *id, bool core, bool local)
{
	json_t *n = json_object_get(nodes, id);
	if (!n) {
		n = json_pack("{s:b,s:b,s:b}", "core", core, "local", local, "dead", 0);
		json_object_set_new(nodes, id, n);
	}
	if (local)
		json_object_set_new(n, "local", json_true());
}

static void print_node(FILE *f, const char *indent, const char *id, json_t *n)
{
	fputs(indent, f);
	quoted(f, id);
	fprintf(f, " [shape=%s%s];\n", json_is_true(json_object_get(n, "core")) ? "box" : "ellipse",
		json_is_true(json_object_get(n, "dead")) ? ", style=dashed" : "");
}

void graph_dot(FILE *f, json_t *status, json_t *plugins, json_t *connections)
{
	const char *self = str(status, "identifier");
	json_t *nodes = json_object(), *edges = json_object();
	size_t i;
	json_t *e;

	node(nodes, self, true, true);
	json_array_foreach(json_object_get(connections, "connections"), i, e) {
		bool core_side = !strcmp(str(e, "side"), "core");
		const char *core = core_side ? str(e, "local") : str(e, "remote");
		const char *plugin = core_side ? str(e, "remote") : str(e, "local");
		node(nodes, core, true, !strcmp(core, self));
		node(nodes, plugin, false, !core_side);
		/* Both sides of an in-process connection: one edge. */
		json_t *key = json_pack("[s,s,s]", core, plugin, str(e, "operation"));
		char *k = json_dumps(key, JSON_COMPACT);
		if (k)
			json_object_set_new(edges, k, key);
		else
			json_decref(key);
		free(k);
	}
	json_array_foreach(json_object_get(plugins, "plugins"), i, e) {
		const char *name = str(e, "name");
		bool local = !strcmp(str(e, "origin"), "local");
		if (!*name || (local && strcmp(str(e, "state"), "active")))
			continue;
		node(nodes, name, false, local);
		if (!strcmp(str(e, "state"), "dead"))
			json_object_set_new(json_object_get(nodes, name), "dead", json_true());
	}

	const char *id;
	json_t *n;
	fputs("digraph orbitd {\n  rankdir=LR;\n  node [fontname=\"sans-serif\"];\n"
	      "  edge [fontname=\"sans-serif\", fontsize=10];\n  subgraph \"cluster_self\" {\n"
	      "    label=",
	      f);
	quoted(f, self);
	fputs(";\n", f);
	json_object_foreach(nodes, id, n)
		if (json_is_true(json_object_get(n, "local")))
			print_node(f, "    ", id, n);
	fputs("  }\n", f);
	json_object_foreach(nodes, id, n)
		if (!json_is_true(json_object_get(n, "local")))
			print_node(f, "  ", id, n);
	json_t *key;
	json_object_foreach(edges, id, key) {
		fputs("  ", f);
		quoted(f, json_string_value(json_array_get(key, 0)));
		fputs(" -> ", f);
		quoted(f, json_string_value(json_array_get(key, 1)));
		fputs(" [label=", f);
		quoted(f, json_string_value(json_array_get(key, 2)));
		fputs("];\n", f);
	}
	fputs("}\n", f);
	json_decref(nodes);
	json_decref(edges);
}
