/* orbit/plugin_config.h — a plugin's config map (ABI 2): the keys its
 * `config:` section in orbitd.yaml may have, with type, default, bounds and
 * doc. orbitd validates the YAML against it (errors name FILE:LINE:COLUMN and
 * the key) at `orbitd -t`, at load and at reload, and hands the plugin typed
 * values through orbit_host_api's config_* accessors (orbit/plugin.h); no
 * plugin parses its config. Included by orbit/plugin.h.
 *
 * Ownership: a config map and every string in it are the plugin's static
 * data.
 */
#ifndef ORBIT_PLUGIN_CONFIG_H
#define ORBIT_PLUGIN_CONFIG_H

#ifdef __cplusplus
extern "C" {
#endif

/* The type of one config key. orbitd checks the YAML value against it and
 * hands the plugin the typed value (orbit_host_api's config_*). */
typedef enum orbit_cfg_type {
	ORBIT_CFG_END = 0,   /* terminates a table of keys (all-zero entry) */
	ORBIT_CFG_BOOL,      /* true/false (YAML 1.1 spellings) */
	ORBIT_CFG_INT,       /* a 64-bit integer */
	ORBIT_CFG_FLOAT,     /* a number; also a duration with a unit ("500ms", "2m") */
	ORBIT_CFG_STRING,    /* text (a scalar as written) */
	ORBIT_CFG_STRINGS,   /* a list of strings (with ORBIT_CFG_ONE_OK, one string too) */
	ORBIT_CFG_MAP,       /* a nested map whose keys are in .keys */
} orbit_cfg_type;

enum {
	ORBIT_CFG_REQUIRED = 1u << 0, /* must be given (no default) */
	ORBIT_CFG_MIN = 1u << 1,      /* .min applies (INT, FLOAT: value; STRING: length;
					 STRINGS: count) */
	ORBIT_CFG_MAX = 1u << 2,      /* .max applies, likewise */
	ORBIT_CFG_ONE_OK = 1u << 3,   /* STRINGS: a single string is accepted too
					 (config_count is then 1 and config_is_one true) */
};

typedef struct orbit_cfg_key {
	const char *name;       /* [A-Za-z0-9_-]+; NULL in the terminating entry */
	orbit_cfg_type type;
	unsigned flags;         /* ORBIT_CFG_* */
	const char *def;        /* default as YAML text ("10", "true", "[a, b]",
				   "2s"), NULL: none (the key is then unset) */
	double min, max;        /* inclusive bounds, with ORBIT_CFG_MIN / _MAX */
	const char *const *choices; /* STRING: NULL-terminated allowed values, or NULL */
	const struct orbit_cfg_key *keys; /* MAP: its table (END-terminated) */
	const char *doc;        /* one line for orbitctl plugin show and errors */
	void *reserved[4];      /* zero */
} orbit_cfg_key;

#ifdef __cplusplus
}
#endif

#endif
