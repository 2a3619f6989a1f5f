/* avrologic.c — see avrologic.h. Named type references are not followed:
 * a logical type inside a type defined once and used again by name is
 * shown at its first use only. */
#include "avrologic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Deeper schemas exist only to exhaust the stack. */
#define MAX_DEPTH 32

static void walk(json_t *s, const char *path, json_t *map, int depth);

static void at(json_t *map, const char *path, const char *key, const char *sep, json_t *s,
	       int depth)
{
	size_t n = strlen(path) + strlen(sep) + strlen(key) + 1;
	char *p = malloc(n);
	if (!p)
		return;
	snprintf(p, n, "%s%s%s", path, *path ? sep : "", key);
	walk(s, p, map, depth + 1);
	free(p);
}

static void walk(json_t *s, const char *path, json_t *map, int depth)
{
	size_t i;
	json_t *v;
	if (depth > MAX_DEPTH)
		return;
	if (json_is_array(s)) {
		json_array_foreach(s, i, v)
			walk(v, path, map, depth + 1);
		return;
	}
	if (!json_is_object(s))
		return;
	json_t *type = json_object_get(s, "type");
	const char *t = json_string_value(type);
	const char *logical = json_string_value(json_object_get(s, "logicalType"));
	if (logical && t && strcmp(t, "record") && strcmp(t, "array") && strcmp(t, "map")) {
		if (!strcmp(logical, "decimal")) {
			char buf[64];
			snprintf(buf, sizeof buf, "decimal(%lld,%lld)",
				 (long long)json_integer_value(json_object_get(s, "precision")),
				 (long long)json_integer_value(json_object_get(s, "scale")));
			json_object_set_new(map, path, json_string(buf));
		} else {
			json_object_set_new(map, path, json_string(logical));
		}
		return;
	}
	if (!t) {
		walk(type, path, map, depth + 1); /* {"type": {...}} or a union */
	} else if (!strcmp(t, "record") || !strcmp(t, "error")) {
		json_array_foreach(json_object_get(s, "fields"), i, v) {
			const char *name = json_string_value(json_object_get(v, "name"));
			if (name)
				at(map, path, name, ".", json_object_get(v, "type"), depth);
		}
	} else if (!strcmp(t, "array")) {
		size_t n = strlen(path) + 3;
		char *p = malloc(n);
		if (p) {
			snprintf(p, n, "%s[]", path);
			walk(json_object_get(s, "items"), p, map, depth + 1);
			free(p);
		}
	}
}

json_t *avrologic_map(const char *schema)
{
	json_error_t je;
	json_t *s = schema ? json_loads(schema, JSON_DECODE_ANY, &je) : NULL;
	json_t *map = s ? json_object() : NULL;
	if (map)
		walk(s, "", map, 0);
	json_decref(s);
	if (map && !json_object_size(map)) {
		json_decref(map);
		map = NULL;
	}
	return map;
}
