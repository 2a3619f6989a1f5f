/* plugcfg.h — one plugin's config, checked against its config map
 * (orbit_cfg_key, orbit/plugin_config.h) and kept as typed values: what the
 * host's config_* accessors answer and `orbitctl plugin show` lists.
 *
 * The input is the plugin section's `config:` subtree as the configuration
 * kept it (struct ocfg_value, config.h: values with their FILE:LINE:COLUMN),
 * so an error names where it is and the key: "orbitd.yaml:12:14: key
 * 'plugins.exec.config.timeout': must be at least 0.001 (seconds before the
 * command is stopped)". Defaults are the map's YAML text, parsed the same way.
 *
 * Ownership: a struct plugcfg is immutable once built and owns everything in
 * it; it borrows the config map (the plugin's static data, which outlives it:
 * plugins are never dlclose'd). Strings returned by the getters live as long
 * as the plugcfg. Nothing here is thread-safe beyond reading a built plugcfg.
 */
#ifndef ORBITD_PLUGCFG_H
#define ORBITD_PLUGCFG_H

#include <orbit/plugin_config.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct plugcfg;

/* Check a descriptor's config map itself before anything uses it: names
 * ([A-Za-z0-9_-]+, unique per table), types, flags, bounds (min <= max),
 * choices only on STRING, keys only (and always) on MAP, each default valid
 * against its own key, nesting at most 8 deep, key_size (the plugin's
 * sizeof(orbit_cfg_key)) at least this host's. map may be NULL (no config).
 * Returns 0, or -EINVAL with *why = a malloc'd reason naming the key path
 * ("config key 'limits.max': default \"x\" is not an integer"). */
int plugcfg_check_map(const orbit_cfg_key *map, size_t key_size, char **why);

/* Validate given (NULL or an OCFG_V_NULL value: the section has no config)
 * against map (checked by plugcfg_check_map; NULL: the plugin takes no
 * config, so anything given but null is an error) and build the typed values,
 * defaults applied. section is the key path of given for messages
 * ("plugins.exec.config"). Errors: an unknown key (the known ones listed), a
 * wrong type, a value out of bounds or not among the choices, a missing
 * required key (at the position of the map that lacks it, or of the plugin
 * section when config is absent — pass that position in where_absent).
 * Returns 0 and *out, or -EINVAL with *err = malloc'd
 * "FILE:LINE:COLUMN: key 'PATH': what is wrong", or -ENOMEM. */
int plugcfg_build(const orbit_cfg_key *map, const struct ocfg_value *given, const char *section,
		  const struct ocfg_where *where_absent, struct plugcfg **out, char **err);

void plugcfg_free(struct plugcfg *pc);

/* The same values (after a reload: does the plugin need its reload hook?). */
bool plugcfg_equal(const struct plugcfg *a, const struct plugcfg *b);

/* Typed reads by key path ("name" or "map.name"). A path the map does not
 * declare, or declared with another type, answers 0/NULL/false and sets
 * *misuse (when misuse is non-NULL) so the host can log the plugin's
 * mistake once. */
bool plugcfg_is_set(const struct plugcfg *pc, const char *path, bool *misuse);
bool plugcfg_bool(const struct plugcfg *pc, const char *path, bool *misuse);
int64_t plugcfg_int(const struct plugcfg *pc, const char *path, bool *misuse);
double plugcfg_float(const struct plugcfg *pc, const char *path, bool *misuse);
const char *plugcfg_string(const struct plugcfg *pc, const char *path, bool *misuse);
size_t plugcfg_count(const struct plugcfg *pc, const char *path, bool *misuse);
const char *plugcfg_string_at(const struct plugcfg *pc, const char *path, size_t i,
			      bool *misuse);
bool plugcfg_is_one(const struct plugcfg *pc, const char *path, bool *misuse);

/* Every declared key in map order, depth first (a MAP key comes before its
 * keys), for `orbitctl plugin show`: n_items, then item i. */
struct plugcfg_item {
	const char *path;          /* "timeout", "limits.max" */
	const orbit_cfg_key *key;  /* type, flags, bounds, doc, default text */
	const char *value_json;    /* the value as JSON text; NULL: unset (and
				      for MAP keys) */
	bool given;                /* written in the YAML (else the default) */
	struct ocfg_where where;   /* of the value when given, else zero */
};
size_t plugcfg_n_items(const struct plugcfg *pc);
const struct plugcfg_item *plugcfg_item(const struct plugcfg *pc, size_t i);

/* The name of a config type as shown to people ("int", "strings", ...). */
const char *plugcfg_type_name(orbit_cfg_type t);

#endif
