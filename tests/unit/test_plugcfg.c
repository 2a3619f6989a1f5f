/* test_plugcfg.c — orbitd/plugcfg.c: a plugin's config section checked
 * against its config map, with the exact messages (FILE:LINE:COLUMN and key
 * path) for every rule; defaults, getters, items and equality; and the
 * checks of config maps themselves. Inputs go through the real loader
 * (orbitd_config_load_string), so positions are the ones users see.
 */
#include "config.h"
#include "plugcfg.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The bundled plugins' maps. */
static const orbit_cfg_key exec_map[] = {
	{ .name = "command", .type = ORBIT_CFG_STRINGS,
	  .flags = ORBIT_CFG_ONE_OK | ORBIT_CFG_REQUIRED,
	  .doc = "argv as a list, or one string run by /bin/sh -c" },
	{ .name = "timeout", .type = ORBIT_CFG_FLOAT, .flags = ORBIT_CFG_MIN, .min = 0.001,
	  .def = "10", .doc = "seconds before the command is stopped" },
	{ .name = "max_output", .type = ORBIT_CFG_INT, .flags = ORBIT_CFG_MIN | ORBIT_CFG_MAX,
	  .min = 1, .max = 16777216, .def = "65536", .doc = "bytes of output kept" },
	{ 0 },
};

static const orbit_cfg_key randint_map[] = {
	{ .name = "every", .type = ORBIT_CFG_FLOAT, .flags = ORBIT_CFG_MIN, .min = 0.01,
	  .def = "1", .doc = "seconds between two numbers" },
	{ .name = "min", .type = ORBIT_CFG_INT, .def = "0" },
	{ .name = "max", .type = ORBIT_CFG_INT, .def = "100" },
	{ 0 },
};

static const char *const on_off[] = { "on", "off", NULL };
static const orbit_cfg_key lamp_map[] = {
	{ .name = "initial", .type = ORBIT_CFG_STRING, .choices = on_off, .def = "off",
	  .doc = "state at start" },
	{ 0 },
};

static const orbit_cfg_key limits_keys[] = {
	{ .name = "max", .type = ORBIT_CFG_INT, .flags = ORBIT_CFG_REQUIRED, .doc = "upper limit" },
	{ .name = "names", .type = ORBIT_CFG_STRINGS, .flags = ORBIT_CFG_MIN | ORBIT_CFG_MAX,
	  .min = 1, .max = 2, .def = "[a]", .doc = "who" },
	{ 0 },
};
static const orbit_cfg_key nested_map[] = {
	{ .name = "limits", .type = ORBIT_CFG_MAP, .keys = limits_keys, .doc = "limits" },
	{ .name = "flag", .type = ORBIT_CFG_BOOL, .def = "false" },
	{ .name = "label", .type = ORBIT_CFG_STRING, .flags = ORBIT_CFG_MIN | ORBIT_CFG_MAX,
	  .min = 2, .max = 3 },
	{ .name = "opt", .type = ORBIT_CFG_INT },
	{ 0 },
};

static struct orbitd_config *cfg;

static void teardown(void)
{
	orbitd_config_free(cfg);
	cfg = NULL;
}

/* Loads "plugins: {p: ...}" with body indented under `p:` (body "" for a
 * section with nothing in it) and builds plugin p's config against map. */
static int build(const orbit_cfg_key *map, const char *body, struct plugcfg **pc, char **err)
{
	char *yaml, *lerr = NULL;
	const struct ocfg_plugin *p;
	int rc;

	ck_assert_int_ge(asprintf(&yaml, "plugins:\n  p:\n%s", body), 0);
	orbitd_config_free(cfg);
	cfg = NULL;
	rc = orbitd_config_load_string(yaml, "orbitd.yaml", NULL, &cfg, &lerr);
	ck_assert_msg(rc == 0, "load: %s", lerr ? lerr : "?");
	free(yaml);
	p = orbitd_config_find_plugin(cfg, "p");
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(plugcfg_check_map(map, sizeof(orbit_cfg_key), &lerr), 0);
	return plugcfg_build(map, p->config, "plugins.p.config", &p->where, pc, err);
}

static struct plugcfg *build_ok(const orbit_cfg_key *map, const char *body)
{
	struct plugcfg *pc = NULL;
	char *err = NULL;
	int rc = build(map, body, &pc, &err);

	ck_assert_msg(rc == 0, "build: %s", err ? err : "?");
	ck_assert_ptr_null(err);
	return pc;
}

/* ------------------------------------------------------------------ */

static const struct bad {
	const orbit_cfg_key *map;
	const char *body;
	const char *err;
} bad[] = {
	/* missing required: at the plugin section when config is absent ... */
	{ exec_map, "    required: false\n",
	  "orbitd.yaml:2:3: key 'plugins.p.config.command': required key missing "
	  "(argv as a list, or one string run by /bin/sh -c)" },
	{ exec_map, "    config:\n",
	  "orbitd.yaml:2:3: key 'plugins.p.config.command': required key missing "
	  "(argv as a list, or one string run by /bin/sh -c)" },
	/* ... at the map that lacks it otherwise */
	{ exec_map, "    config:\n      timeout: 1\n",
	  "orbitd.yaml:4:7: key 'plugins.p.config.command': required key missing "
	  "(argv as a list, or one string run by /bin/sh -c)" },
	{ exec_map, "    config: {command: ~}\n",
	  "orbitd.yaml:3:23: key 'plugins.p.config.command': required, must not be null "
	  "(argv as a list, or one string run by /bin/sh -c)" },
	{ exec_map, "    config: {command: ls, timout: 3}\n",
	  "orbitd.yaml:3:27: key 'plugins.p.config.timout': unknown key "
	  "(expected command, timeout or max_output)" },
	{ exec_map, "    config: {command: [ls, [x]]}\n",
	  "orbitd.yaml:3:28: key 'plugins.p.config.command[1]': must be a string (got a list)" },
	{ exec_map, "    config: {command: [ls, ~]}\n",
	  "orbitd.yaml:3:28: key 'plugins.p.config.command[1]': must be a string (got null)" },
	{ exec_map, "    config: {command: {a: b}}\n",
	  "orbitd.yaml:3:23: key 'plugins.p.config.command': must be a string or a list of "
	  "strings (got a mapping)" },
	{ exec_map, "    config: {command: ls, timeout: abc}\n",
	  "orbitd.yaml:3:36: key 'plugins.p.config.timeout': must be a number or a duration "
	  "with unit ms, s, m or h (got \"abc\")" },
	{ exec_map, "    config: {command: ls, timeout: '10'}\n",
	  "orbitd.yaml:3:36: key 'plugins.p.config.timeout': must be a number or a duration "
	  "with unit ms, s, m or h (got \"10\")" },
	{ exec_map, "    config: {command: ls, timeout: 0}\n",
	  "orbitd.yaml:3:36: key 'plugins.p.config.timeout': must be at least 0.001 "
	  "(seconds before the command is stopped)" },
	{ exec_map, "    config: {command: ls, timeout: 0.5ms}\n",
	  "orbitd.yaml:3:36: key 'plugins.p.config.timeout': must be at least 0.001 "
	  "(seconds before the command is stopped)" },
	{ exec_map, "    config: {command: ls, max_output: abc}\n",
	  "orbitd.yaml:3:39: key 'plugins.p.config.max_output': must be an integer "
	  "(got \"abc\")" },
	{ exec_map, "    config: {command: ls, max_output: 1.5}\n",
	  "orbitd.yaml:3:39: key 'plugins.p.config.max_output': must be an integer (got 1.5)" },
	{ exec_map, "    config: {command: ls, max_output: 16777217}\n",
	  "orbitd.yaml:3:39: key 'plugins.p.config.max_output': must be at most 16777216 "
	  "(bytes of output kept)" },
	{ exec_map, "    config: {command: ls, max_output: 0}\n",
	  "orbitd.yaml:3:39: key 'plugins.p.config.max_output': must be at least 1 "
	  "(bytes of output kept)" },
	{ exec_map, "    config: [ls]\n",
	  "orbitd.yaml:3:13: key 'plugins.p.config': must be a mapping (got a list)" },
	{ randint_map, "    config:\n      every: 5ms\n",
	  "orbitd.yaml:4:14: key 'plugins.p.config.every': must be at least 0.01 "
	  "(seconds between two numbers)" },
	{ randint_map, "    config:\n      min: true\n",
	  "orbitd.yaml:4:12: key 'plugins.p.config.min': must be an integer (got true)" },
	{ randint_map, "    config:\n      max: \"7\"\n",
	  "orbitd.yaml:4:12: key 'plugins.p.config.max': must be an integer (got \"7\")" },
	{ lamp_map, "    config: {initial: dim}\n",
	  "orbitd.yaml:3:23: key 'plugins.p.config.initial': must be \"on\" or \"off\" "
	  "(got \"dim\")" },
	{ lamp_map, "    config: {initial: [on]}\n",
	  "orbitd.yaml:3:23: key 'plugins.p.config.initial': must be a string (got a list)" },
	{ nested_map, "    config:\n      flag: true\n",
	  "orbitd.yaml:4:7: key 'plugins.p.config.limits.max': required key missing "
	  "(upper limit)" },
	{ nested_map, "    config:\n      limits: {names: [x]}\n",
	  "orbitd.yaml:4:15: key 'plugins.p.config.limits.max': required key missing "
	  "(upper limit)" },
	{ nested_map, "    config:\n      limits: 3\n",
	  "orbitd.yaml:4:15: key 'plugins.p.config.limits': must be a mapping (got 3)" },
	{ nested_map, "    config:\n      limits: {max: 1, mx: 2}\n",
	  "orbitd.yaml:4:24: key 'plugins.p.config.limits.mx': unknown key "
	  "(expected max or names)" },
	{ nested_map, "    config:\n      limits: {max: 1, names: []}\n",
	  "orbitd.yaml:4:31: key 'plugins.p.config.limits.names': must have at least 1 item "
	  "(who)" },
	{ nested_map, "    config:\n      limits: {max: 1, names: [a, b, c]}\n",
	  "orbitd.yaml:4:31: key 'plugins.p.config.limits.names': must have at most 2 items "
	  "(who)" },
	{ nested_map, "    config:\n      limits: {max: 1, names: a}\n",
	  "orbitd.yaml:4:31: key 'plugins.p.config.limits.names': must be a list of strings "
	  "(got \"a\")" },
	{ nested_map, "    config:\n      limits: {max: 1}\n      flag: maybe\n",
	  "orbitd.yaml:5:13: key 'plugins.p.config.flag': must be true or false "
	  "(got \"maybe\")" },
	{ nested_map, "    config:\n      limits: {max: 1}\n      label: x\n",
	  "orbitd.yaml:5:14: key 'plugins.p.config.label': must be at least 2 characters long" },
	{ nested_map, "    config:\n      limits: {max: 1}\n      label: \xc3\xa9t\xc3\xa9s\n",
	  "orbitd.yaml:5:14: key 'plugins.p.config.label': must be at most 3 characters long" },
	{ NULL, "    config: {a: 1}\n",
	  "orbitd.yaml:3:13: key 'plugins.p.config': this plugin takes no config" },
};

START_TEST(rejects)
{
	const struct bad *b = &bad[_i];
	struct plugcfg *pc = (struct plugcfg *)b; /* must come back NULL */
	char *err = NULL;

	ck_assert_int_eq(build(b->map, b->body, &pc, &err), -EINVAL);
	ck_assert_ptr_null(pc);
	ck_assert_ptr_nonnull(err);
	ck_assert_str_eq(err, b->err);
	free(err);
}
END_TEST

START_TEST(exec_values)
{
	struct plugcfg *pc = build_ok(exec_map, "    config:\n"
					       "      command: [sh, -c, \"echo \\\"hi\\\"\\u00e9\"]\n"
					       "      timeout: 1.5m\n");
	const struct plugcfg_item *it;
	bool misuse = false;

	ck_assert_uint_eq(plugcfg_count(pc, "command", &misuse), 3);
	ck_assert_str_eq(plugcfg_string_at(pc, "command", 2, &misuse), "echo \"hi\"\xc3\xa9");
	ck_assert(!plugcfg_is_one(pc, "command", &misuse));
	ck_assert_double_eq(plugcfg_float(pc, "timeout", &misuse), 90);
	ck_assert_int_eq(plugcfg_int(pc, "max_output", &misuse), 65536);
	ck_assert(plugcfg_is_set(pc, "max_output", &misuse));
	ck_assert(!misuse);

	ck_assert_uint_eq(plugcfg_n_items(pc), 3);
	it = plugcfg_item(pc, 0);
	ck_assert_str_eq(it->path, "command");
	ck_assert_ptr_eq(it->key, &exec_map[0]);
	ck_assert_str_eq(it->value_json, "[\"sh\", \"-c\", \"echo \\\"hi\\\"\\u00E9\"]");
	ck_assert(it->given);
	ck_assert_str_eq(it->where.file, "orbitd.yaml");
	ck_assert_int_eq(it->where.line, 4);
	ck_assert_int_eq(it->where.column, 16);
	it = plugcfg_item(pc, 1);
	ck_assert_str_eq(it->value_json, "90.0");
	ck_assert(it->given);
	ck_assert_int_eq(it->where.line, 5);
	it = plugcfg_item(pc, 2);
	ck_assert_str_eq(it->path, "max_output");
	ck_assert_str_eq(it->value_json, "65536");
	ck_assert(!it->given);
	ck_assert_ptr_null(it->where.file);
	ck_assert_int_eq(it->where.line, 0);
	ck_assert_ptr_null(plugcfg_item(pc, 3));
	/* The positions are the plugcfg's own: it outlives the configuration. */
	orbitd_config_free(cfg);
	cfg = NULL;
	ck_assert_str_eq(plugcfg_item(pc, 0)->where.file, "orbitd.yaml");
	plugcfg_free(pc);
}
END_TEST

START_TEST(one_string_and_defaults)
{
	struct plugcfg *pc = build_ok(exec_map, "    config: {command: ls -l, timeout: 500ms,"
					       " max_output: ~}\n");
	bool misuse = false;

	ck_assert(plugcfg_is_one(pc, "command", &misuse));
	ck_assert_uint_eq(plugcfg_count(pc, "command", &misuse), 1);
	ck_assert_str_eq(plugcfg_string_at(pc, "command", 0, &misuse), "ls -l");
	ck_assert_str_eq(plugcfg_item(pc, 0)->value_json, "\"ls -l\"");
	ck_assert_double_eq_tol(plugcfg_float(pc, "timeout", &misuse), 0.5, 1e-12);
	ck_assert_str_eq(plugcfg_item(pc, 1)->value_json, "0.5");
	/* null is unset: the default applies, and it is not "given". */
	ck_assert_int_eq(plugcfg_int(pc, "max_output", &misuse), 65536);
	ck_assert(!plugcfg_item(pc, 2)->given);
	ck_assert(!misuse);
	plugcfg_free(pc);

	pc = build_ok(randint_map, "    required: false\n");
	ck_assert_double_eq(plugcfg_float(pc, "every", &misuse), 1);
	ck_assert_str_eq(plugcfg_item(pc, 0)->value_json, "1.0");
	ck_assert_int_eq(plugcfg_int(pc, "min", &misuse), 0);
	ck_assert_int_eq(plugcfg_int(pc, "max", &misuse), 100);
	plugcfg_free(pc);

	pc = build_ok(lamp_map, "    config: {initial: on}\n");
	ck_assert_str_eq(plugcfg_string(pc, "initial", &misuse), "on");
	ck_assert_str_eq(plugcfg_item(pc, 0)->value_json, "\"on\"");
	plugcfg_free(pc);
	pc = build_ok(lamp_map, "    config:\n");
	ck_assert_str_eq(plugcfg_string(pc, "initial", &misuse), "off");
	ck_assert(!misuse);
	plugcfg_free(pc);

	/* A plugin without config: nothing, or null, is fine. */
	pc = build_ok(NULL, "    config: ~\n");
	ck_assert_uint_eq(plugcfg_n_items(pc), 0);
	plugcfg_free(pc);
}
END_TEST

START_TEST(nested_items)
{
	struct plugcfg *pc = build_ok(nested_map, "    config:\n"
						 "      limits: {max: 7}\n"
						 "      flag: yes\n"
						 "      label: abc\n");
	static const char *const paths[] = { "limits", "limits.max", "limits.names", "flag",
					     "label", "opt" };
	static const char *const json[] = { NULL, "7", "[\"a\"]", "true", "\"abc\"", NULL };
	static const bool given[] = { true, true, false, true, true, false };
	bool misuse = false;

	ck_assert_uint_eq(plugcfg_n_items(pc), 6);
	for (size_t i = 0; i < 6; i++) {
		const struct plugcfg_item *it = plugcfg_item(pc, i);

		ck_assert_str_eq(it->path, paths[i]);
		if (json[i])
			ck_assert_str_eq(it->value_json, json[i]);
		else
			ck_assert_ptr_null(it->value_json);
		ck_assert_int_eq(it->given, given[i]);
	}
	ck_assert_ptr_eq(plugcfg_item(pc, 1)->key, &limits_keys[0]);
	ck_assert_int_eq(plugcfg_item(pc, 0)->where.column, 15);
	ck_assert_int_eq(plugcfg_int(pc, "limits.max", &misuse), 7);
	ck_assert_str_eq(plugcfg_string_at(pc, "limits.names", 0, &misuse), "a");
	ck_assert(plugcfg_bool(pc, "flag", &misuse));
	ck_assert(plugcfg_is_set(pc, "limits", &misuse));
	ck_assert(!plugcfg_is_set(pc, "opt", &misuse));
	ck_assert_int_eq(plugcfg_int(pc, "opt", &misuse), 0);
	ck_assert(!misuse);
	plugcfg_free(pc);
}
END_TEST

/* Reading a key the map does not declare, or with another type, is the
 * plugin's mistake: a zero answer and *misuse. */
START_TEST(misuse)
{
	struct plugcfg *pc = build_ok(exec_map, "    config: {command: [a, b]}\n");
	bool m;

#define MISUSED(expr)                    \
	do {                             \
		m = false;               \
		(void)(expr);            \
		ck_assert_msg(m, #expr); \
	} while (0)
	MISUSED(plugcfg_int(pc, "timeout", &m));
	MISUSED(plugcfg_float(pc, "max_output", &m));
	MISUSED(plugcfg_string(pc, "command", &m));
	MISUSED(plugcfg_bool(pc, "nope", &m));
	MISUSED(plugcfg_is_set(pc, "nope", &m));
	MISUSED(plugcfg_count(pc, "timeout", &m));
	MISUSED(plugcfg_string_at(pc, "command", 2, &m));
	MISUSED(plugcfg_is_one(pc, "max_output", &m));
	MISUSED(plugcfg_int(NULL, "timeout", &m));
#undef MISUSED
	ck_assert_ptr_null(plugcfg_string(pc, "command", NULL));
	ck_assert_double_eq(plugcfg_float(pc, "max_output", NULL), 0);
	plugcfg_free(pc);
	plugcfg_free(NULL);
}
END_TEST

START_TEST(equality)
{
	struct plugcfg *a = build_ok(exec_map, "    config: {command: [ls], timeout: 10}\n");
	struct plugcfg *b = build_ok(exec_map, "    config: {command: [ls], timeout: 10s}\n");
	struct plugcfg *c = build_ok(exec_map, "    config: {command: ls}\n");
	struct plugcfg *d = build_ok(exec_map, "    config: {command: [ls], max_output: 65537}\n");

	/* Given or defaulted, written as 10 or 10s: the same values. */
	ck_assert(plugcfg_equal(a, b));
	ck_assert(plugcfg_equal(a, a));
	ck_assert(!plugcfg_equal(a, c)); /* one string vs a list: sh -c or not */
	ck_assert(!plugcfg_equal(a, d));
	ck_assert(!plugcfg_equal(a, NULL));
	ck_assert(plugcfg_equal(NULL, NULL));
	plugcfg_free(a);
	plugcfg_free(b);
	plugcfg_free(c);
	plugcfg_free(d);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Config maps                                                         */

static const char *const none[] = { NULL };
static const orbit_cfg_key self_ref[];
static const orbit_cfg_key self_ref[] = {
	{ .name = "m", .type = ORBIT_CFG_MAP, .keys = self_ref },
	{ 0 },
};

static const struct badmap {
	orbit_cfg_key k[3];
	const char *why;
} badmaps[] = {
	{ { { .name = "max", .type = ORBIT_CFG_INT, .def = "x" } },
	  "config key 'max': default \"x\" must be an integer (got \"x\")" },
	{ { { .name = "t", .type = ORBIT_CFG_FLOAT, .flags = ORBIT_CFG_MIN, .min = 1, .def = "0.5" } },
	  "config key 't': default \"0.5\" must be at least 1" },
	{ { { .name = "l", .type = ORBIT_CFG_STRINGS, .def = "[a, " } },
	  "config key 'l': default \"[a, \" is not valid YAML (default:2:1: YAML syntax error: "
	  "did not find expected node content (while parsing a flow node at line 2, column 1))" },
	{ { { .name = "t", .type = ORBIT_CFG_FLOAT, .def = ".inf" } },
	  "config key 't': default \".inf\" must be a finite number (got .inf)" },
	{ { { .name = "s", .type = ORBIT_CFG_STRING, .def = "~" } },
	  "config key 's': default \"~\" is null (no default is written NULL)" },
	{ { { .name = "s", .type = ORBIT_CFG_STRING, .choices = on_off, .def = "dim" } },
	  "config key 's': default \"dim\" must be \"on\" or \"off\" (got \"dim\")" },
	{ { { .name = "a b", .type = ORBIT_CFG_INT } },
	  "config key 'a b': names are made of A-Z, a-z, 0-9, _ and -" },
	{ { { .name = "a", .type = ORBIT_CFG_INT }, { .name = "a", .type = ORBIT_CFG_BOOL } },
	  "config key 'a': declared twice" },
	{ { { .name = "a", .type = (orbit_cfg_type)42 } }, "config key 'a': unknown type" },
	{ { { .name = "a", .type = ORBIT_CFG_END } }, "config key 'a': unknown type" },
	{ { { .name = "a", .type = ORBIT_CFG_INT, .flags = 1u << 9 } },
	  "config key 'a': unknown flags" },
	{ { { .name = "a", .type = ORBIT_CFG_BOOL, .flags = ORBIT_CFG_MAX } },
	  "config key 'a': bounds apply to int, float, string and strings keys only" },
	{ { { .name = "a", .type = ORBIT_CFG_INT, .flags = ORBIT_CFG_MIN | ORBIT_CFG_MAX,
	      .min = 2, .max = 1 } },
	  "config key 'a': min is greater than max" },
	{ { { .name = "a", .type = ORBIT_CFG_STRINGS, .flags = ORBIT_CFG_MIN, .min = -1 } },
	  "config key 'a': a length or count cannot have a negative min" },
	{ { { .name = "a", .type = ORBIT_CFG_STRING, .flags = ORBIT_CFG_ONE_OK } },
	  "config key 'a': ORBIT_CFG_ONE_OK applies to strings keys only" },
	{ { { .name = "a", .type = ORBIT_CFG_INT, .choices = on_off } },
	  "config key 'a': choices apply to string keys only" },
	{ { { .name = "a", .type = ORBIT_CFG_STRING, .choices = none } },
	  "config key 'a': choices is empty" },
	{ { { .name = "a", .type = ORBIT_CFG_INT, .keys = lamp_map } },
	  "config key 'a': keys apply to map keys only" },
	{ { { .name = "a", .type = ORBIT_CFG_MAP } }, "config key 'a': a map key needs its keys" },
	{ { { .name = "a", .type = ORBIT_CFG_MAP, .keys = lamp_map, .def = "{}" } },
	  "config key 'a': a map key has no default (its keys have)" },
	{ { { .name = "a", .type = ORBIT_CFG_INT, .flags = ORBIT_CFG_REQUIRED, .def = "1" } },
	  "config key 'a': a required key has no default" },
	{ { { .name = "a", .type = ORBIT_CFG_INT, .reserved = { (void *)1 } } },
	  "config key 'a': reserved fields are not zero (built for a newer orbitd?)" },
	{ { { .name = "n", .type = ORBIT_CFG_MAP, .keys = limits_keys },
	    { .name = "m", .type = ORBIT_CFG_MAP, .keys = self_ref } },
	  "config key 'm.m.m.m.m.m.m.m': maps nested deeper than 8 levels" },
};

START_TEST(bad_maps)
{
	char *why = NULL;

	ck_assert_int_eq(plugcfg_check_map(badmaps[_i].k, sizeof(orbit_cfg_key), &why), -EINVAL);
	ck_assert_ptr_nonnull(why);
	ck_assert_str_eq(why, badmaps[_i].why);
	free(why);
}
END_TEST

START_TEST(good_maps)
{
	static const orbit_cfg_key max_bad_default[] = {
		{ .name = "max", .type = ORBIT_CFG_INT, .def = "1.5" },
		{ 0 },
	};
	static const orbit_cfg_key nested_bad_default[] = {
		{ .name = "limits", .type = ORBIT_CFG_MAP, .keys = max_bad_default },
		{ 0 },
	};
	char *why = (char *)1;

	ck_assert_int_eq(plugcfg_check_map(NULL, 0, &why), 0);
	ck_assert_ptr_null(why);
	ck_assert_int_eq(plugcfg_check_map(exec_map, sizeof(orbit_cfg_key), &why), 0);
	ck_assert_int_eq(plugcfg_check_map(randint_map, sizeof(orbit_cfg_key), &why), 0);
	ck_assert_int_eq(plugcfg_check_map(lamp_map, sizeof(orbit_cfg_key), &why), 0);
	ck_assert_int_eq(plugcfg_check_map(nested_map, sizeof(orbit_cfg_key), &why), 0);
	ck_assert_ptr_null(why);

	ck_assert_int_eq(plugcfg_check_map(nested_bad_default, sizeof(orbit_cfg_key), &why),
			 -EINVAL);
	ck_assert_str_eq(why, "config key 'limits.max': default \"1.5\" must be an integer "
			 "(got 1.5)");
	free(why);
	ck_assert_int_eq(plugcfg_check_map(exec_map, sizeof(orbit_cfg_key) - 8, &why), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "config map entries are "));
	free(why);
}
END_TEST

START_TEST(type_names)
{
	ck_assert_str_eq(plugcfg_type_name(ORBIT_CFG_BOOL), "bool");
	ck_assert_str_eq(plugcfg_type_name(ORBIT_CFG_INT), "int");
	ck_assert_str_eq(plugcfg_type_name(ORBIT_CFG_FLOAT), "float");
	ck_assert_str_eq(plugcfg_type_name(ORBIT_CFG_STRING), "string");
	ck_assert_str_eq(plugcfg_type_name(ORBIT_CFG_STRINGS), "strings");
	ck_assert_str_eq(plugcfg_type_name(ORBIT_CFG_MAP), "map");
	ck_assert_str_eq(plugcfg_type_name((orbit_cfg_type)99), "?");
}
END_TEST

static Suite *plugcfg_suite(void)
{
	Suite *s = suite_create("plugcfg");
	TCase *tc = tcase_create("plugcfg");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_loop_test(tc, rejects, 0, sizeof bad / sizeof bad[0]);
	tcase_add_test(tc, exec_values);
	tcase_add_test(tc, one_string_and_defaults);
	tcase_add_test(tc, nested_items);
	tcase_add_test(tc, misuse);
	tcase_add_test(tc, equality);
	tcase_add_loop_test(tc, bad_maps, 0, sizeof badmaps / sizeof badmaps[0]);
	tcase_add_test(tc, good_maps);
	tcase_add_test(tc, type_names);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(plugcfg_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
