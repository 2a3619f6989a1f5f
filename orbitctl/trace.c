/* trace.c — see trace.h. */
#include "trace.h"
#include "table.h"

#include <stdlib.h>
#include <string.h>

json_t *trace_args(const char *remote, const char *operation)
{
	return json_pack("{s:s?,s:s?}", "remote", remote, "operation", operation);
}

/* s + " " + piece (piece freed); the result replaces s. */
static char *append(char *s, char *piece)
{
	char *n = table_strf("%s %s", s, piece);
	free(s);
	free(piece);
	return n;
}

/* Operation names of a Discover's queries or an Offer's offered
 * operations, joined by ","; NULL when there are none. */
static char *operations(json_t *fields)
{
	char *s = NULL;
	const char *key;
	json_t *v;
	size_t i;
	json_object_foreach(json_object_get(fields, "queries"), key, v) {
		char *n = s ? table_strf("%s,%s", s, key) : table_strf("%s", key);
		free(s);
		s = n;
	}
	json_array_foreach(json_object_get(fields, "offered_operations"), i, v) {
		const char *name = json_string_value(json_object_get(v, "name"));
		char *n = s ? table_strf("%s,%s", s, name ? name : "?")
			    : table_strf("%s", name ? name : "?");
		free(s);
		s = n;
	}
	return s;
}

/* The fields a reader looks for first: who (every *identifier) and what
 * for (operation_name, the operations of a Discover or an Offer). */
static char *key_fields(char *line, json_t *fields)
{
	const char *key;
	json_t *v;
	json_object_foreach(fields, key, v) {
		size_t n = strlen(key);
		bool id = n >= 10 && strcmp(key + n - 10, "identifier") == 0;
		if ((id || strcmp(key, "operation_name") == 0) && json_is_string(v))
			line = append(line, table_strf("%s=%s", key, json_string_value(v)));
	}
	char *ops = operations(fields);
	if (ops)
		line = append(line, table_strf("operations=%s", ops));
	free(ops);
	return line;
}

static const char *str(json_t *ev, const char *key)
{
	const char *s = json_string_value(json_object_get(ev, key));
	return s ? s : "-";
}

void trace_show_event(FILE *f, json_t *ev)
{
	if (strcmp(str(ev, "type"), "overflow") == 0) {
		fprintf(stderr, "orbitctl: %" JSON_INTEGER_FORMAT " trace events dropped (read too "
			"slowly)\n", json_integer_value(json_object_get(ev, "dropped")));
		return;
	}
	/* The time of day is enough on a live stream: "...T12:34:56.789012Z". */
	const char *t = str(ev, "time"), *tod = strchr(t, 'T');
	const char *plugin = json_string_value(json_object_get(ev, "plugin"));
	/* An isolated plugin's orbiter may carry another identifier. */
	if (plugin && strcmp(plugin, str(ev, "orbiter")) == 0)
		plugin = NULL;
	char *line = table_strf("%s %s %-10s %s%s%s %s %s", tod ? tod + 1 : t,
				strcmp(str(ev, "direction"), "sent") == 0 ? "→" : "←", str(ev, "bus"),
				str(ev, "orbiter"), plugin ? "/" : "", plugin ? plugin : "",
				str(ev, "message_type"), str(ev, "topic"));
	line = key_fields(line, json_object_get(ev, "fields"));
	const char *err = json_string_value(json_object_get(ev, "error"));
	if (err)
		line = append(line, table_strf("[%s]", err));
	fprintf(f, "%s\n", table_clean(line));
	free(line);
}
