/* test_config.c — orbitd/config.c: every key, defaults, conf.d merging,
 * relative paths, YAML→JSON subtrees and every kind of error with its exact
 * file:line:column. Each test works in its own mkdtemp directory.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#ifndef ORBIT_PLUGINDIR
#define ORBIT_PLUGINDIR "/usr/local/lib/orbitd/plugins"
#endif

static char tmpdir[64];

static void setup(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/orbitd-test-config-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void teardown(void)
{
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Absolute path of rel inside the test directory; static buffer per call slot. */
static const char *tpath(const char *rel)
{
	static char bufs[4][PATH_MAX];
	static int slot;
	char *b = bufs[slot++ % 4];

	snprintf(b, PATH_MAX, "%s/%s", tmpdir, rel);
	return b;
}

/* Writes rel, creating its parent directories. */
static void wfile(const char *rel, const char *text)
{
	char dir[PATH_MAX];
	FILE *f;

	snprintf(dir, sizeof dir, "%s", tpath(rel));
	for (char *p = dir + strlen(tmpdir) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		mkdir(dir, 0700);
		*p = '/';
	}
	f = fopen(tpath(rel), "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

static struct orbitd_config *load_ok(const char *rel)
{
	struct orbitd_config *cfg = NULL;
	char *err = NULL;
	int rc = orbitd_config_load(tpath(rel), &cfg, &err);

	ck_assert_msg(rc == 0, "load failed: %d %s", rc, err ? err : "(no message)");
	ck_assert_ptr_null(err);
	ck_assert_ptr_nonnull(cfg);
	return cfg;
}

static struct orbitd_config *yaml_ok(const char *text)
{
	wfile("orbitd.yaml", text);
	return load_ok("orbitd.yaml");
}

/* Loads rel expecting failure rc and the message tmpdir + "/" + expected. */
static void load_fails(const char *rel, int want_rc, const char *expected)
{
	struct orbitd_config *sentinel = (struct orbitd_config *)(uintptr_t)0x1;
	struct orbitd_config *cfg = sentinel;
	char want[PATH_MAX + 1024];
	char *err = NULL;
	int rc = orbitd_config_load(tpath(rel), &cfg, &err);

	snprintf(want, sizeof want, "%s/%s", tmpdir, expected);
	ck_assert_int_eq(rc, want_rc);
	ck_assert_ptr_eq(cfg, sentinel); /* *out untouched on error */
	ck_assert_ptr_nonnull(err);
	ck_assert_str_eq(err, want);
	free(err);
}

/* The main file holds text; expected starts "orbitd.yaml:L:C: ...". */
static void yaml_fails(const char *text, const char *expected)
{
	wfile("orbitd.yaml", text);
	load_fails("orbitd.yaml", -EINVAL, expected);
}

/* ------------------------------------------------------------------ */

START_TEST(defaults)
{
	struct orbitd_config *cfg = yaml_ok("");
	char host[256] = "", want[300];

	gethostname(host, sizeof host - 1);
	snprintf(want, sizeof want, "orbitd-%s", host);
	ck_assert_str_eq(cfg->identifier, want);
	ck_assert_str_eq(cfg->discover_topic, "$handshake.discover");
	ck_assert_str_eq(cfg->include_dir, tpath("conf.d"));
	ck_assert_uint_eq(cfg->n_files, 1);
	ck_assert_str_eq(cfg->files[0], tpath("orbitd.yaml"));
	ck_assert_ptr_null(cfg->files[1]);

	ck_assert_double_eq(cfg->timers.loop_interval, 1);
	ck_assert_double_eq(cfg->timers.discovering_interval, 2);
	ck_assert_double_eq(cfg->timers.pending_requests_expire_after, 60);
	ck_assert_double_eq(cfg->timers.consider_others_dead_after, 120);
	ck_assert_double_eq(cfg->timers.send_keepalive_before_timelimit, 10);
	ck_assert_double_eq(cfg->timers.graceful_close_timeout, 300);
	ck_assert_double_eq(cfg->timers.close_connection_if_unused_after, OCFG_NEVER);
	ck_assert_double_eq(cfg->timers.shutdown_timeout, 5);
	ck_assert_double_eq(cfg->timers.accept_dead_after_min, 1);
	ck_assert_double_eq(cfg->timers.accept_dead_after_max, 3600);

	ck_assert(!cfg->mqtt.enabled);
	ck_assert_str_eq(cfg->mqtt.host, "localhost");
	ck_assert_int_eq(cfg->mqtt.port, 1883);
	ck_assert_str_eq(cfg->mqtt.client_id, cfg->identifier);
	ck_assert_ptr_null(cfg->mqtt.username);
	ck_assert_ptr_null(cfg->mqtt.password);
	ck_assert_double_eq(cfg->mqtt.keepalive, 60);
	ck_assert_ptr_null(cfg->mqtt.tls_ca);
	ck_assert_ptr_null(cfg->mqtt.tls_cert);
	ck_assert_ptr_null(cfg->mqtt.tls_key);
	ck_assert_double_eq(cfg->mqtt.reconnect_min, 1);
	ck_assert_double_eq(cfg->mqtt.reconnect_max, 30);

	ck_assert_str_eq(cfg->plugins.dir, ORBIT_PLUGINDIR);
	ck_assert_ptr_null(cfg->plugins.enable);
	ck_assert_ptr_null(cfg->plugins.disable);
	ck_assert_uint_eq(cfg->plugins.n, 0);
	ck_assert_uint_eq(cfg->n_reqs, 0);

	ck_assert_str_eq(cfg->control.socket, "/run/orbitd/orbitd.sock");
	ck_assert_uint_eq(cfg->control.mode, 0660);
	ck_assert_ptr_null(cfg->control.group);
	ck_assert_uint_eq(cfg->control.max_request, 65536);
	ck_assert_uint_eq(cfg->control.max_clients, 256);
	ck_assert_double_eq(cfg->control.idle_timeout, 60);
	ck_assert_uint_eq(cfg->control.client_buffer, 4 << 20);
	ck_assert_uint_eq(cfg->control.total_buffer, 32 << 20);
	ck_assert_int_eq(cfg->log_level, LOG_INFO);
	ck_assert_uint_eq(cfg->log_rate_limit, 10);
	ck_assert(orbitd_config_plugin_enabled(cfg, "anything"));
	orbitd_config_free(cfg);
}
END_TEST

START_TEST(default_yaml_matches_defaults)
{
	struct orbitd_config *a = yaml_ok(""), *b = NULL;
	char *err = NULL;

	ck_assert_int_eq(orbitd_config_load_string(orbitd_config_default_yaml, "<built-in>", NULL,
						   &b, &err), 0);
	ck_assert_ptr_null(err);
	ck_assert_str_eq(b->files[0], "<built-in>");
	ck_assert_ptr_null(b->include_dir); /* no implicit conf.d for strings */
	ck_assert_str_eq(a->identifier, b->identifier);
	ck_assert_str_eq(a->discover_topic, b->discover_topic);
	ck_assert_mem_eq(&a->timers, &b->timers, sizeof a->timers);
	ck_assert_int_eq(a->mqtt.enabled, b->mqtt.enabled);
	ck_assert_str_eq(a->plugins.dir, b->plugins.dir);
	ck_assert_str_eq(a->control.socket, b->control.socket);
	ck_assert_uint_eq(a->control.mode, b->control.mode);
	ck_assert_uint_eq(a->control.max_request, b->control.max_request);
	ck_assert_uint_eq(a->control.max_clients, b->control.max_clients);
	ck_assert_double_eq(a->control.idle_timeout, b->control.idle_timeout);
	ck_assert_uint_eq(a->control.client_buffer, b->control.client_buffer);
	ck_assert_uint_eq(a->control.total_buffer, b->control.total_buffer);
	ck_assert_int_eq(a->log_level, b->log_level);
	ck_assert_uint_eq(a->log_rate_limit, b->log_rate_limit);
	ck_assert_int_eq(a->plugins.isolation, b->plugins.isolation);
	ck_assert_uint_eq(b->n_reqs, 0);
	orbitd_config_free(a);
	orbitd_config_free(b);
}
END_TEST

static const char full_yaml[] =
	"identifier: core-1\n"
	"discover_topic: site/$handshake.discover\n"
	"timers:\n"
	"  loop_interval: 250ms\n"
	"  discovering_interval: 3\n"
	"  pending_requests_expire_after: never\n"
	"  consider_others_dead_after: 2m\n"
	"  send_keepalive_before_timelimit: 7.5\n"
	"  graceful_close_timeout: never\n"
	"  close_connection_if_unused_after: 1h\n"
	"  shutdown_timeout: \"1.5s\"\n"
	"mqtt:\n"
	"  host: broker.example\n"
	"  port: 8883\n"
	"  client_id: cid\n"
	"  username: user\n"
	"  password: 1234\n"
	"  keepalive: 30s\n"
	"  tls: {ca: ca.pem, cert: /etc/c.pem, key: k/key.pem}\n"
	"  reconnect_min: 500ms\n"
	"  reconnect_max: 1m\n"
	"plugins:\n"
	"  dir: plug\n"
	"  enable: [echo, upper]\n"
	"  disable: [bad]\n"
	"  echo:\n"
	"    required: true\n"
	"    export: true\n"
	"    identifier: echo-2\n"
	"    config: {greeting: hi, times: 3}\n"
	"    policies:\n"
	"      echo: {maximum: 2, allowlist: [core-1, core-2]}\n"
	"      shout: {maximum: null, blocklist: [core-3]}\n"
	"  upper: {}\n"
	"requirements:\n"
	"  lowercase:\n"
	"    mandatory: [p1]\n"
	"    minimum: 1\n"
	"    maximum: 3\n"
	"    allowlist: [p1, p2]\n"
	"    inputs: [string, int32]\n"
	"    outputs: [float64]\n"
	"    setup_data: \"abc\"\n"
	"    sink: {type: file, path: out/lower.jsonl}\n"
	"    schedule: {every: 10s, data: \"Hello\", mode: any}\n"
	"  count:\n"
	"    blocklist: [p9]\n"
	"    maximum: ~\n"
	"    inputs: none\n"
	"    outputs: [int64, empty, float32]\n"
	"    setup_data: {hex: \"00ff10\"}\n"
	"    sink: {type: exec, command: [/usr/bin/logger, -t, orbit]}\n"
	"    schedule: {every: 1, mode: plugin, plugin: p3}\n"
	"  shell:\n"
	"    sink: {type: exec, command: \"cat >> /tmp/x\", timeout: 500ms}\n"
	"    schedule: {every: 2s, mode: distributed, data: [1, 2, 3]}\n"
	"  chain:\n"
	"    sink: {type: execute, operation: lowercase, mode: distributed}\n"
	"control:\n"
	"  socket: run/o.sock\n"
	"  mode: 0640\n"
	"  group: orbit\n"
	"  max_request: 4096\n"
	"  max_clients: 3\n"
	"  idle_timeout: 500ms\n"
	"  client_buffer: 64K\n"
	"  total_buffer: 1M\n"
	"log:\n"
	"  level: debug\n";

START_TEST(exec_timeout_never)
{
	struct orbitd_config *cfg =
		yaml_ok("requirements: {op: {sink: {type: exec, command: x, timeout: never}}}");

	ck_assert_double_eq(orbitd_config_find_req(cfg, "op")->sink.timeout, OCFG_NEVER);
	orbitd_config_free(cfg);
}
END_TEST

START_TEST(every_key)
{
	struct orbitd_config *cfg = yaml_ok(full_yaml);
	const struct ocfg_req *r;
	const struct ocfg_plugin *p;
	const struct ocfg_policy *pol;

	ck_assert_str_eq(cfg->identifier, "core-1");
	ck_assert_str_eq(cfg->discover_topic, "site/$handshake.discover");
	ck_assert_double_eq(cfg->timers.loop_interval, 0.25);
	ck_assert_double_eq(cfg->timers.discovering_interval, 3);
	ck_assert_double_eq(cfg->timers.pending_requests_expire_after, OCFG_NEVER);
	ck_assert_double_eq(cfg->timers.consider_others_dead_after, 120);
	ck_assert_double_eq(cfg->timers.send_keepalive_before_timelimit, 7.5);
	ck_assert_double_eq(cfg->timers.graceful_close_timeout, OCFG_NEVER);
	ck_assert_double_eq(cfg->timers.close_connection_if_unused_after, 3600);
	ck_assert_double_eq(cfg->timers.shutdown_timeout, 1.5);

	ck_assert(cfg->mqtt.enabled);
	ck_assert_str_eq(cfg->mqtt.host, "broker.example");
	ck_assert_int_eq(cfg->mqtt.port, 8883);
	ck_assert_str_eq(cfg->mqtt.client_id, "cid");
	ck_assert_str_eq(cfg->mqtt.username, "user");
	ck_assert_str_eq(cfg->mqtt.password, "1234");
	ck_assert_double_eq(cfg->mqtt.keepalive, 30);
	ck_assert_str_eq(cfg->mqtt.tls_ca, tpath("ca.pem"));
	ck_assert_str_eq(cfg->mqtt.tls_cert, "/etc/c.pem");
	ck_assert_str_eq(cfg->mqtt.tls_key, tpath("k/key.pem"));
	ck_assert_double_eq(cfg->mqtt.reconnect_min, 0.5);
	ck_assert_double_eq(cfg->mqtt.reconnect_max, 60);

	ck_assert_str_eq(cfg->plugins.dir, tpath("plug"));
	ck_assert_ptr_nonnull(cfg->plugins.enable);
	ck_assert_uint_eq(orbit_idlist_len(cfg->plugins.enable), 2);
	ck_assert_str_eq(cfg->plugins.enable[1], "upper");
	ck_assert_ptr_null(cfg->plugins.enable[2]);
	ck_assert_uint_eq(orbit_idlist_len(cfg->plugins.disable), 1);
	ck_assert(orbitd_config_plugin_enabled(cfg, "echo"));
	ck_assert(!orbitd_config_plugin_enabled(cfg, "bad"));
	ck_assert(!orbitd_config_plugin_enabled(cfg, "other"));
	ck_assert_uint_eq(cfg->plugins.n, 2);
	p = orbitd_config_find_plugin(cfg, "echo");
	ck_assert_ptr_nonnull(p);
	ck_assert(p->required);
	ck_assert(p->exported);
	ck_assert_str_eq(p->identifier, "echo-2");
	ck_assert_int_eq(p->config->kind, OCFG_V_MAP);
	ck_assert_uint_eq(p->config->n, 2);
	ck_assert_str_eq(p->config->keys[1], "times");
	ck_assert_int_eq(p->config->items[1].i, 3);
	ck_assert_int_eq(p->where.line, 26);
	ck_assert_int_eq(p->where.column, 3);
	ck_assert_uint_eq(p->n_policies, 2);
	pol = ocfg_plugin_policy(p, "echo");
	ck_assert(pol->maximum_set);
	ck_assert_int_eq(pol->policy.maximum, 2);
	ck_assert_ptr_nonnull(pol->policy.allowlist);
	ck_assert_str_eq(pol->policy.allowlist[1], "core-2");
	ck_assert_ptr_null(pol->policy.blocklist);
	pol = ocfg_plugin_policy(p, "shout");
	ck_assert(pol->maximum_set);
	ck_assert_int_eq(pol->policy.maximum, OCFG_UNLIMITED);
	ck_assert(orbit_idlist_has(pol->policy.blocklist, "core-3"));
	ck_assert_ptr_null(ocfg_plugin_policy(p, "nope"));
	p = orbitd_config_find_plugin(cfg, "upper");
	ck_assert(!p->required && !p->exported);
	ck_assert_ptr_null(p->identifier);
	ck_assert_ptr_null(p->config);
	ck_assert_uint_eq(p->n_policies, 0);
	ck_assert_ptr_null(orbitd_config_find_plugin(cfg, "bad"));

	ck_assert_uint_eq(cfg->n_reqs, 4);
	r = orbitd_config_find_req(cfg, "lowercase");
	ck_assert_ptr_eq(r, &cfg->reqs[0]);
	ck_assert_int_eq(r->where.line, 36);
	ck_assert_int_eq(r->where.column, 3);
	ck_assert_str_eq(r->where.file, tpath("orbitd.yaml"));
	ck_assert_str_eq(r->mandatory[0], "p1");
	ck_assert_int_eq(r->minimum, 1);
	ck_assert_int_eq(r->maximum, 3);
	ck_assert_uint_eq(orbit_idlist_len(r->allowlist), 2);
	ck_assert_ptr_null(r->blocklist);
	ck_assert_uint_eq(r->n_inputs, 2);
	ck_assert_int_eq(r->inputs[0].kind, OCFG_KIND_STRING);
	ck_assert_int_eq(r->inputs[1].kind, OCFG_KIND_INT32);
	ck_assert_ptr_null(r->inputs[1].schema);
	ck_assert_uint_eq(r->n_outputs, 1);
	ck_assert_int_eq(r->outputs[0].kind, OCFG_KIND_FLOAT64);
	ck_assert(r->setup_data.set);
	ck_assert_uint_eq(r->setup_data.len, 3);
	ck_assert_mem_eq(r->setup_data.data, "abc", 3);
	ck_assert_int_eq(r->sink.type, OCFG_SINK_FILE);
	ck_assert_str_eq(r->sink.path, tpath("out/lower.jsonl"));
	ck_assert(r->schedule.set);
	ck_assert_double_eq(r->schedule.every, 10);
	ck_assert_str_eq(r->schedule.data_json, "\"Hello\"");
	ck_assert_int_eq(r->schedule.mode, OCFG_MODE_ANY);

	r = orbitd_config_find_req(cfg, "count");
	ck_assert_ptr_null(r->allowlist);
	ck_assert(orbit_idlist_has(r->blocklist, "p9"));
	ck_assert_int_eq(r->minimum, 0);
	ck_assert_int_eq(r->maximum, OCFG_UNLIMITED);
	ck_assert_uint_eq(r->n_inputs, 1);
	ck_assert_int_eq(r->inputs[0].kind, OCFG_KIND_NONE);
	ck_assert_uint_eq(r->n_outputs, 3);
	ck_assert_int_eq(r->outputs[0].kind, OCFG_KIND_INT64);
	ck_assert_int_eq(r->outputs[1].kind, OCFG_KIND_EMPTY);
	ck_assert_int_eq(r->outputs[2].kind, OCFG_KIND_FLOAT32);
	ck_assert_uint_eq(r->setup_data.len, 3);
	ck_assert_mem_eq(r->setup_data.data, "\x00\xff\x10", 3);
	ck_assert_int_eq(r->sink.type, OCFG_SINK_EXEC);
	ck_assert(!r->sink.shell);
	ck_assert_uint_eq(r->sink.argc, 3);
	ck_assert_str_eq(r->sink.argv[0], "/usr/bin/logger");
	ck_assert_str_eq(r->sink.argv[2], "orbit");
	ck_assert_ptr_null(r->sink.argv[3]);
	ck_assert_double_eq(r->sink.timeout, OCFG_SINK_EXEC_TIMEOUT);
	ck_assert_int_eq(r->schedule.mode, OCFG_MODE_PLUGIN);
	ck_assert_str_eq(r->schedule.plugin, "p3");
	ck_assert_str_eq(r->schedule.data_json, "null");

	r = orbitd_config_find_req(cfg, "shell");
	ck_assert(r->sink.shell);
	ck_assert_uint_eq(r->sink.argc, 3);
	ck_assert_str_eq(r->sink.argv[0], "/bin/sh");
	ck_assert_str_eq(r->sink.argv[1], "-c");
	ck_assert_str_eq(r->sink.argv[2], "cat >> /tmp/x");
	ck_assert_ptr_null(r->sink.argv[3]);
	ck_assert_double_eq(r->sink.timeout, 0.5);
	ck_assert_int_eq(r->schedule.mode, OCFG_MODE_DISTRIBUTED);
	ck_assert_str_eq(r->schedule.data_json, "[1,2,3]");
	ck_assert(!r->setup_data.set);
	ck_assert_uint_eq(r->n_inputs, 1);
	ck_assert_int_eq(r->inputs[0].kind, OCFG_KIND_STRING);
	ck_assert_int_eq(r->outputs[0].kind, OCFG_KIND_STRING);

	r = orbitd_config_find_req(cfg, "chain");
	ck_assert_int_eq(r->sink.type, OCFG_SINK_EXECUTE);
	ck_assert_str_eq(r->sink.operation, "lowercase");
	ck_assert_int_eq(r->sink.mode, OCFG_MODE_DISTRIBUTED);
	ck_assert_int_eq(r->sink.where.line, 58);
	ck_assert_int_eq(r->sink.where.column, 38);
	ck_assert(!r->schedule.set);
	ck_assert_ptr_null(orbitd_config_find_req(cfg, "missing"));

	ck_assert_str_eq(cfg->control.socket, tpath("run/o.sock"));
	ck_assert_uint_eq(cfg->control.mode, 0640);
	ck_assert_str_eq(cfg->control.group, "orbit");
	ck_assert_uint_eq(cfg->control.max_request, 4096);
	ck_assert_uint_eq(cfg->control.max_clients, 3);
	ck_assert_double_eq_tol(cfg->control.idle_timeout, 0.5, 1e-9);
	ck_assert_uint_eq(cfg->control.client_buffer, 64 << 10);
	ck_assert_uint_eq(cfg->control.total_buffer, 1 << 20);
	ck_assert_int_eq(cfg->log_level, LOG_DEBUG);
	orbitd_config_free(cfg);
}
END_TEST

START_TEST(default_sink_and_types)
{
	struct orbitd_config *cfg = yaml_ok("requirements:\n  a:\n  b: {sink: log}\n");
	const struct ocfg_req *r = orbitd_config_find_req(cfg, "a");

	ck_assert_int_eq(r->sink.type, OCFG_SINK_LOG);
	ck_assert_int_eq(r->sink.where.line, 2); /* defaults point at the requirement */
	ck_assert_uint_eq(r->n_inputs, 1);
	ck_assert_int_eq(r->inputs[0].kind, OCFG_KIND_STRING);
	ck_assert_uint_eq(r->n_outputs, 1);
	ck_assert_int_eq(r->outputs[0].kind, OCFG_KIND_STRING);
	ck_assert(!r->mandatory && !r->allowlist && !r->blocklist);
	ck_assert(!r->setup_data.set);
	ck_assert(!r->schedule.set);
	ck_assert_int_eq(orbitd_config_find_req(cfg, "b")->sink.type, OCFG_SINK_LOG);
	orbitd_config_free(cfg);
}
END_TEST

static const struct {
	const char *text;
	double want;
} good_durations[] = {
	{ "0", 0 },          { "2", 2 },        { "2.5", 2.5 },     { ".5", 0.5 },
	{ "1e1", 10 },       { "\"2\"", 2 },    { "500ms", 0.5 },   { "2s", 2 },
	{ "1.5m", 90 },      { "1h", 3600 },    { "'3 s'", 3 },     { "0.25h", 900 },
	{ "never", OCFG_NEVER }, { "\"never\"", OCFG_NEVER }, { "+4s", 4 },
};

START_TEST(durations)
{
	char text[128];
	struct orbitd_config *cfg;

	snprintf(text, sizeof text, "timers: {graceful_close_timeout: %s}\n",
		 good_durations[_i].text);
	cfg = yaml_ok(text);
	ck_assert_msg(cfg->timers.graceful_close_timeout == good_durations[_i].want,
		      "%s gave %g", good_durations[_i].text, cfg->timers.graceful_close_timeout);
	orbitd_config_free(cfg);
}
END_TEST

static const struct {
	const char *text;
	const char *err;
} bad_durations[] = {
	{ "-1", "must not be negative (got '-1')" },
	{ "-2s", "must not be negative (got '-2s')" },
	{ "3x", "invalid duration '3x' (expected seconds or a number with unit ms, s, m or h)" },
	{ "1d", "invalid duration '1d' (expected seconds or a number with unit ms, s, m or h)" },
	{ "s", "invalid duration 's' (expected seconds or a number with unit ms, s, m or h)" },
	{ "0", "must be greater than 0" },
	{ "0ms", "must be greater than 0" },
	{ "never", "'never' is not allowed here" },
	{ ".inf", "must be a finite duration" },
	{ ".nan", "must be a finite duration" },
	{ "2000000000", "too large (at most 1000000000 seconds)" },
	{ "true", "expected a duration (seconds, or a string like \"500ms\"), got a boolean" },
	{ "[1]", "expected a duration (seconds, or a string like \"500ms\"), got a sequence" },
	{ "~", "expected a duration (seconds, or a string like \"500ms\"), got null" },
};

START_TEST(duration_errors)
{
	char text[128], want[256];

	snprintf(text, sizeof text, "timers:\n  loop_interval: %s\n", bad_durations[_i].text);
	snprintf(want, sizeof want, "orbitd.yaml:2:18: key 'timers.loop_interval': %s",
		 bad_durations[_i].err);
	yaml_fails(text, want);
}
END_TEST

START_TEST(never_only_where_allowed)
{
	struct orbitd_config *cfg = yaml_ok("timers:\n"
					    "  pending_requests_expire_after: never\n"
					    "  graceful_close_timeout: never\n"
					    "  close_connection_if_unused_after: never\n");

	ck_assert_double_eq(cfg->timers.pending_requests_expire_after, OCFG_NEVER);
	orbitd_config_free(cfg);
	yaml_fails("timers: {shutdown_timeout: never}",
		   "orbitd.yaml:1:28: key 'timers.shutdown_timeout': 'never' is not allowed here");
	yaml_fails("timers: {consider_others_dead_after: never}",
		   "orbitd.yaml:1:38: key 'timers.consider_others_dead_after': "
		   "'never' is not allowed here");
	yaml_fails("timers: {close_connection_if_unused_after: 0}",
		   "orbitd.yaml:1:44: key 'timers.close_connection_if_unused_after': "
		   "must be greater than 0");
}
END_TEST

START_TEST(mqtt_presence)
{
	struct orbitd_config *cfg = yaml_ok("identifier: me\nmqtt:\n");

	ck_assert(cfg->mqtt.enabled);
	ck_assert_str_eq(cfg->mqtt.client_id, "me");
	ck_assert_int_eq(cfg->mqtt.port, 1883);
	orbitd_config_free(cfg);
	cfg = yaml_ok("mqtt: {keepalive: 0}\n");
	ck_assert_double_eq(cfg->mqtt.keepalive, 0);
	orbitd_config_free(cfg);
	yaml_fails("mqtt: {keepalive: 3}",
		   "orbitd.yaml:1:19: key 'mqtt.keepalive': must be 0 (off) or whole seconds "
		   "from 5 to 65535");
	yaml_fails("mqtt: {keepalive: 5.5}",
		   "orbitd.yaml:1:19: key 'mqtt.keepalive': must be 0 (off) or whole seconds "
		   "from 5 to 65535");
	yaml_fails("mqtt: {port: 0}", "orbitd.yaml:1:14: key 'mqtt.port': must be at least 1 (got 0)");
	yaml_fails("mqtt: {port: 65536}",
		   "orbitd.yaml:1:14: key 'mqtt.port': must be at most 65535 (got 65536)");
	yaml_fails("mqtt: {port: \"1883\"}",
		   "orbitd.yaml:1:14: key 'mqtt.port': expected an integer, got a string");
	yaml_fails("mqtt: {host: \"\"}", "orbitd.yaml:1:14: key 'mqtt.host': must not be empty");
	yaml_fails("mqtt: {tls: {cert: a.pem}}",
		   "orbitd.yaml:1:13: key 'mqtt.tls': cert and key must be given together");
	yaml_fails("mqtt: {tls: {crt: a.pem}}",
		   "orbitd.yaml:1:14: key 'mqtt.tls.crt': unknown key (expected ca, cert or key)");
	yaml_fails("mqtt:\n  reconnect_max: 1s\n  reconnect_min: 2s\n",
		   "orbitd.yaml:3:18: key 'mqtt.reconnect_min': reconnect_min (2s) is greater than "
		   "reconnect_max (1s)");
	wfile("orbitd.yaml", "mqtt: {reconnect_min: 40s}\n");
	wfile("conf.d/a.yaml", "mqtt:\n  reconnect_max: 35s\n");
	load_fails("orbitd.yaml", -EINVAL, "conf.d/a.yaml:2:18: key 'mqtt.reconnect_max': "
		   "reconnect_min (40s) is greater than reconnect_max (35s)");
	unlink(tpath("conf.d/a.yaml"));
	yaml_fails("mqtt: true", "orbitd.yaml:1:7: key 'mqtt': expected a mapping, got a boolean");
}
END_TEST

/* conf.d: C-locale order, only *.yaml regular non-hidden files, later
 * scalars win, enable lists accumulate, requirements keep file order. */
START_TEST(confd_merge_order)
{
	struct orbitd_config *cfg;

	wfile("orbitd.yaml", "identifier: main\nrequirements: {m: {}}\n"
			     "plugins: {enable: [a]}\nlog: {level: error}\n");
	wfile("conf.d/20-b.yaml", "identifier: from-b\nrequirements: {b: {}}\n"
				  "plugins: {enable: [b, a]}\n");
	wfile("conf.d/10-a.yaml", "identifier: from-a\nrequirements: {a: {}}\n"
				  "timers: {loop_interval: 3}\n");
	wfile("conf.d/Z.yaml", "requirements: {z: {}}\n"); /* C locale: digits < upper < lower */
	wfile("conf.d/.hidden.yaml", "bogus: 1\n");
	wfile("conf.d/notes.yml", "bogus: 1\n");
	wfile("conf.d/readme.txt", "bogus: 1\n");
	wfile("conf.d/sub.yaml/x", "bogus: 1\n"); /* a directory named *.yaml */
	wfile("conf.d/empty.yaml", "");
	wfile("conf.d/comments.yaml", "# nothing here\n---\n");
	cfg = load_ok("orbitd.yaml");

	ck_assert_uint_eq(cfg->n_files, 6);
	ck_assert_str_eq(cfg->files[0], tpath("orbitd.yaml"));
	ck_assert_str_eq(cfg->files[1], tpath("conf.d/10-a.yaml"));
	ck_assert_str_eq(cfg->files[2], tpath("conf.d/20-b.yaml"));
	ck_assert_str_eq(cfg->files[3], tpath("conf.d/Z.yaml"));
	ck_assert_str_eq(cfg->files[4], tpath("conf.d/comments.yaml"));
	ck_assert_str_eq(cfg->files[5], tpath("conf.d/empty.yaml"));
	ck_assert_str_eq(cfg->identifier, "from-b");
	ck_assert_double_eq(cfg->timers.loop_interval, 3);
	ck_assert_int_eq(cfg->log_level, LOG_ERR);
	ck_assert_uint_eq(cfg->n_reqs, 4);
	ck_assert_str_eq(cfg->reqs[0].operation, "m");
	ck_assert_str_eq(cfg->reqs[1].operation, "a");
	ck_assert_str_eq(cfg->reqs[2].operation, "b");
	ck_assert_str_eq(cfg->reqs[3].operation, "z");
	ck_assert_str_eq(cfg->reqs[2].where.file, tpath("conf.d/20-b.yaml"));
	ck_assert_uint_eq(orbit_idlist_len(cfg->plugins.enable), 2);
	ck_assert_str_eq(cfg->plugins.enable[0], "a");
	ck_assert_str_eq(cfg->plugins.enable[1], "b");
	orbitd_config_free(cfg);
}
END_TEST

START_TEST(confd_relative_paths)
{
	struct orbitd_config *cfg;

	wfile("etc/orbitd.yaml", "include_dir: ../drop\nplugins: {dir: p}\n");
	wfile("drop/a.yaml", "control: {socket: s.sock}\n");
	cfg = load_ok("etc/orbitd.yaml");
	ck_assert_str_eq(cfg->include_dir, tpath("etc/../drop"));
	ck_assert_str_eq(cfg->plugins.dir, tpath("etc/p"));
	ck_assert_str_eq(cfg->control.socket, tpath("etc/../drop/s.sock"));
	ck_assert_uint_eq(cfg->n_files, 2);
	orbitd_config_free(cfg);
}
END_TEST

START_TEST(include_dir_errors)
{
	char want[PATH_MAX + 200];
	struct orbitd_config *cfg = NULL;
	char *err = NULL;

	wfile("orbitd.yaml", "include_dir: nowhere\n");
	ck_assert_int_eq(orbitd_config_load(tpath("orbitd.yaml"), &cfg, &err), -EINVAL);
	snprintf(want, sizeof want, "%s:1:14: key 'include_dir': cannot open '%s': "
		 "No such file or directory", tpath("orbitd.yaml"), tpath("nowhere"));
	ck_assert_str_eq(err, want);
	free(err);

	wfile("orbitd.yaml", "{}\n");
	wfile("conf.d/a.yaml", "include_dir: x\n");
	load_fails("orbitd.yaml", -EINVAL, "conf.d/a.yaml:1:1: key 'include_dir': only allowed "
		   "in the main configuration file");
}
END_TEST

START_TEST(include_dir_self)
{
	struct orbitd_config *cfg;

	/* include_dir pointing at the main file's own directory must not read it twice. */
	wfile("orbitd.yaml", "include_dir: .\nrequirements: {a: {}}\n");
	wfile("b.yaml", "requirements: {b: {}}\n");
	cfg = load_ok("orbitd.yaml");
	ck_assert_uint_eq(cfg->n_reqs, 2);
	ck_assert_uint_eq(cfg->n_files, 2);
	orbitd_config_free(cfg);
}
END_TEST

START_TEST(duplicates_across_files)
{
	char want[PATH_MAX * 2];

	wfile("orbitd.yaml", "requirements:\n  op: {}\nplugins:\n  echo: {}\n");
	wfile("conf.d/a.yaml", "requirements:\n    op: {minimum: 1}\n");
	snprintf(want, sizeof want, "conf.d/a.yaml:2:5: key 'requirements.op': duplicate "
		 "requirement (first defined at %s:2:3)", tpath("orbitd.yaml"));
	load_fails("orbitd.yaml", -EINVAL, want);

	wfile("conf.d/a.yaml", "plugins: {echo: {required: true}}\n");
	snprintf(want, sizeof want, "conf.d/a.yaml:1:11: key 'plugins.echo': duplicate plugin "
		 "section (first defined at %s:4:3)", tpath("orbitd.yaml"));
	load_fails("orbitd.yaml", -EINVAL, want);

	wfile("conf.d/a.yaml", "plugins: {disable: [x, echo]}\n");
	wfile("orbitd.yaml", "plugins: {enable: [echo]}\n");
	load_fails("orbitd.yaml", -EINVAL, "conf.d/a.yaml:1:24: key 'plugins.disable[1]': "
		   "plugin 'echo' is also in plugins.enable");
}
END_TEST

START_TEST(unknown_keys)
{
	yaml_fails("identifer: x",
		   "orbitd.yaml:1:1: key 'identifer': unknown key (expected identifier, "
		   "discover_topic, include_dir, timers, mqtt, plugins, requirements, control, log, handshake or metrics)");
	yaml_fails("timers:\n  loop: 1\n",
		   "orbitd.yaml:2:3: key 'timers.loop': unknown key (expected loop_interval, "
		   "discovering_interval, pending_requests_expire_after, consider_others_dead_after, "
		   "send_keepalive_before_timelimit, graceful_close_timeout, "
		   "close_connection_if_unused_after, shutdown_timeout, "
		   "accept_dead_after_min or accept_dead_after_max)");
	yaml_fails("mqtt: {hots: x}",
		   "orbitd.yaml:1:8: key 'mqtt.hots': unknown key (expected host, port, client_id, "
		   "username, password, keepalive, tls, reconnect_min or reconnect_max)");
	yaml_fails("plugins: {echo: {conf: 1}}",
		   "orbitd.yaml:1:18: key 'plugins.echo.conf': unknown key (expected config, "
		   "required, export, identifier, policies, isolation, limits, restart or "
		   "liveness_timeout)");
	yaml_fails("plugins: {echo: {policies: {op: {max: 1}}}}",
		   "orbitd.yaml:1:34: key 'plugins.echo.policies.op.max': unknown key (expected "
		   "maximum, allowlist, blocklist, timeout or max_inflight)");
	yaml_fails("plugins: {echo: {limits: {mem: 1}}}",
		   "orbitd.yaml:1:27: key 'plugins.echo.limits.mem': unknown key (expected "
		   "memory, files or processes)");
	yaml_fails("plugins: {echo: {restart: {backoff: 1}}}",
		   "orbitd.yaml:1:28: key 'plugins.echo.restart.backoff': unknown key (expected "
		   "backoff_min, backoff_max, max_crashes or window)");
	yaml_fails("requirements: {op: {min: 1}}",
		   "orbitd.yaml:1:21: key 'requirements.op.min': unknown key (expected mandatory, "
		   "minimum, maximum, allowlist, blocklist, inputs, outputs, setup_data, sink or "
		   "schedule)");
	yaml_fails("requirements: {op: {inputs: [{schema: '\"int\"', x: 1}]}}",
		   "orbitd.yaml:1:48: key 'requirements.op.inputs[0].x': unknown key (expected "
		   "schema or schema_file)");
	yaml_fails("requirements: {op: {setup_data: {base64: AA==}}}",
		   "orbitd.yaml:1:34: key 'requirements.op.setup_data.base64': unknown key "
		   "(expected hex)");
	yaml_fails("requirements: {op: {sink: {type: log, level: x}}}",
		   "orbitd.yaml:1:39: key 'requirements.op.sink.level': unknown key (expected type, "
		   "path, command, timeout, operation or mode)");
	yaml_fails("requirements: {op: {schedule: {every: 1, date: 2}}}",
		   "orbitd.yaml:1:42: key 'requirements.op.schedule.date': unknown key (expected "
		   "every, data, mode or plugin)");
	yaml_fails("control: {sock: x}",
		   "orbitd.yaml:1:11: key 'control.sock': unknown key (expected socket, mode, group, "
		   "max_request, max_clients, idle_timeout, client_buffer, total_buffer or "
		   "dead_remotes)");
	yaml_fails("log: {lvl: x}", "orbitd.yaml:1:7: key 'log.lvl': unknown key (expected level or rate_limit)");
}
END_TEST

START_TEST(identifier_characters)
{
	static const char *const bad = "+#/";
	const char *why = "(it would break MQTT topic names)";
	char text[256], want[512];

	for (const char *ch = bad; *ch; ch++) {
		snprintf(text, sizeof text, "identifier: \"core%c1\"\n", *ch);
		snprintf(want, sizeof want,
			 "orbitd.yaml:1:13: key 'identifier': must not contain '%c' %s", *ch, why);
		yaml_fails(text, want);

		snprintf(text, sizeof text, "requirements:\n  \"op%cx\": {}\n", *ch);
		snprintf(want, sizeof want,
			 "orbitd.yaml:2:3: key 'requirements.op%cx': must not contain '%c' %s",
			 *ch, *ch, why);
		yaml_fails(text, want);

		snprintf(text, sizeof text, "requirements:\n  op: {mandatory: [a, \"b%c\"]}\n", *ch);
		snprintf(want, sizeof want, "orbitd.yaml:2:23: key 'requirements.op.mandatory[1]': "
			 "must not contain '%c' %s", *ch, why);
		yaml_fails(text, want);

		snprintf(text, sizeof text, "plugins: {\"p%c\": {}}\n", *ch);
		snprintf(want, sizeof want,
			 "orbitd.yaml:1:11: key 'plugins.p%c': must not contain '%c' %s", *ch, *ch, why);
		yaml_fails(text, want);

		snprintf(text, sizeof text, "plugins: {p: {policies: {\"o%c\": {}}}}\n", *ch);
		snprintf(want, sizeof want, "orbitd.yaml:1:26: key 'plugins.p.policies.o%c': "
			 "must not contain '%c' %s", *ch, *ch, why);
		yaml_fails(text, want);
	}
	yaml_fails("identifier: \"\"", "orbitd.yaml:1:13: key 'identifier': must not be empty");
	yaml_fails("identifier: \"a\\0b\"", "orbitd.yaml:1:13: key 'identifier': must not contain NUL");
	yaml_fails("identifier: ~", "orbitd.yaml:1:13: key 'identifier': expected a string, got null");
	yaml_fails("requirements: {\"\": {}}",
		   "orbitd.yaml:1:16: key 'requirements.': must not be empty");
	yaml_fails("plugins: {enable: [\"a#\"]}", "orbitd.yaml:1:20: key 'plugins.enable[0]': "
		   "must not contain '#' (it would break MQTT topic names)");
	yaml_fails("requirements: {op: {sink: {type: execute, operation: \"x+\"}}}",
		   "orbitd.yaml:1:54: key 'requirements.op.sink.operation': must not contain '+' "
		   "(it would break MQTT topic names)");
	/* discover_topic is a topic: '/' is fine there, wildcards are not. */
	yaml_fails("discover_topic: \"a/#\"", "orbitd.yaml:1:17: key 'discover_topic': "
		   "must not contain '#' (it would break MQTT topic names)");
}
END_TEST

START_TEST(value_errors)
{
	static const struct {
		const char *text, *err;
	} cases[] = {
		{ "requirements: {op: {minimum: -1}}",
		  "1:30: key 'requirements.op.minimum': must not be negative (got -1)" },
		{ "requirements: {op: {maximum: -2}}",
		  "1:30: key 'requirements.op.maximum': must not be negative (got -2)" },
		{ "requirements: {op: {minimum: 1.0}}",
		  "1:30: key 'requirements.op.minimum': expected an integer, got a number" },
		{ "requirements: {op: {minimum: \"1\"}}",
		  "1:30: key 'requirements.op.minimum': expected an integer, got a string" },
		{ "requirements: {op: {minimum: 99999999999999999999}}",
		  "1:30: key 'requirements.op.minimum': integer out of range" },
		{ "requirements: {op: {minimum: 2147483648}}",
		  "1:30: key 'requirements.op.minimum': must be at most 2147483647 (got 2147483648)" },
		{ "requirements:\n  op:\n    minimum: 3\n    maximum: 2\n",
		  "4:14: key 'requirements.op.maximum': minimum (3) is greater than maximum (2)" },
		{ "requirements:\n  op:\n    maximum: 2\n    minimum: 3\n",
		  "3:14: key 'requirements.op.maximum': minimum (3) is greater than maximum (2)" },
		{ "requirements:\n  op:\n    allowlist: [a]\n    blocklist: [b]\n",
		  "4:5: key 'requirements.op.blocklist': allowlist and blocklist are mutually exclusive" },
		{ "requirements: {op: {mandatory: [a, a]}}",
		  "1:36: key 'requirements.op.mandatory[1]': duplicate entry 'a'" },
		{ "requirements: {op: {mandatory: a}}",
		  "1:32: key 'requirements.op.mandatory': expected a sequence of identifiers, got a string" },
		{ "requirements: {op: {mandatory: [x], allowlist: [y]}}",
		  "1:33: key 'requirements.op.mandatory[0]': mandatory plugin 'x' is not in the "
		  "allowlist, so the requirement can never be met" },
		{ "requirements: {op: {blocklist: [x], mandatory: [x]}}",
		  "1:49: key 'requirements.op.mandatory[0]': mandatory plugin 'x' is in the "
		  "blocklist, so the requirement can never be met" },
		{ "requirements: {op: {inputs: []}}",
		  "1:29: key 'requirements.op.inputs': must not be empty" },
		{ "requirements: {op: {outputs: [str]}}",
		  "1:31: key 'requirements.op.outputs[0]': unknown type 'str' (expected none, empty, "
		  "string, int32, int64, float32, float64, {schema: ...} or {schema_file: ...})" },
		{ "requirements: {op: {outputs: [1]}}",
		  "1:31: key 'requirements.op.outputs[0]': expected a type name or a mapping, got an integer" },
		{ "requirements: {op: {inputs: [{}]}}",
		  "1:30: key 'requirements.op.inputs[0]': expected schema or schema_file" },
		{ "requirements: {op: {inputs: [{schema: '\"int\"', schema_file: x}]}}",
		  "1:48: key 'requirements.op.inputs[0].schema_file': schema and schema_file are "
		  "mutually exclusive" },
		{ "requirements: {op: {inputs: [{schema: '{\"type\": '}]}}",
		  "1:39: key 'requirements.op.inputs[0].schema': schema is not valid JSON: unexpected token "
		  "near end of file (line 1, column 9)" },
		{ "requirements: {op: {inputs: [{schema: '42'}]}}",
		  "1:39: key 'requirements.op.inputs[0].schema': schema must be a JSON object, string or array" },
		{ "requirements: {op: {setup_data: {hex: abc}}}",
		  "1:39: key 'requirements.op.setup_data.hex': odd number of hex digits" },
		{ "requirements: {op: {setup_data: {hex: 0x12}}}",
		  "1:39: key 'requirements.op.setup_data.hex': invalid hex digit 'x' at offset 1" },
		{ "requirements: {op: {setup_data: [1]}}",
		  "1:33: key 'requirements.op.setup_data': expected a string or {hex: ...}, got a sequence" },
		{ "requirements: {op: {sink: {path: x}}}",
		  "1:27: key 'requirements.op.sink': missing 'type' (log, file, exec or execute)" },
		{ "requirements: {op: {sink: {type: mail}}}",
		  "1:34: key 'requirements.op.sink.type': unknown sink type 'mail' (expected log, "
		  "file, exec or execute)" },
		{ "requirements: {op: {sink: {type: file}}}",
		  "1:27: key 'requirements.op.sink': type file needs 'path'" },
		{ "requirements: {op: {sink: exec}}",
		  "1:27: key 'requirements.op.sink': type exec needs 'command'" },
		{ "requirements: {op: {sink: {type: execute}}}",
		  "1:27: key 'requirements.op.sink': type execute needs 'operation'" },
		{ "requirements: {op: {sink: {type: log, path: x}}}",
		  "1:39: key 'requirements.op.sink.path': only valid with type file" },
		{ "requirements: {op: {sink: {command: x, type: file, path: y}}}",
		  "1:28: key 'requirements.op.sink.command': only valid with type exec" },
		{ "requirements: {op: {sink: {type: file, path: y, mode: all}}}",
		  "1:49: key 'requirements.op.sink.mode': only valid with type execute" },
		{ "requirements: {op: {sink: {type: file, path: y, timeout: 1}}}",
		  "1:49: key 'requirements.op.sink.timeout': only valid with type exec" },
		{ "requirements: {op: {sink: {type: exec, command: x, timeout: 0}}}",
		  "1:61: key 'requirements.op.sink.timeout': must be greater than 0" },
		{ "requirements: {op: {sink: {type: exec, command: x, timeout: soon}}}",
		  "1:61: key 'requirements.op.sink.timeout': invalid duration 'soon' (expected seconds "
		  "or a number with unit ms, s, m or h, or never)" },
		{ "requirements: {op: {sink: {type: exec, command: []}}}",
		  "1:49: key 'requirements.op.sink.command': must not be empty" },
		{ "requirements: {op: {sink: {type: exec, command: [\"\", a]}}}",
		  "1:50: key 'requirements.op.sink.command[0]': must not be empty" },
		{ "requirements: {op: {sink: {type: exec, command: {a: b}}}}",
		  "1:49: key 'requirements.op.sink.command': expected a command string or an argv "
		  "sequence, got a mapping" },
		{ "requirements: {op: {sink: {type: execute, operation: op2, mode: plugin}}, op2: {}}",
		  "1:65: key 'requirements.op.sink.mode': unknown mode 'plugin' (expected all, any or "
		  "distributed)" },
		{ "requirements: {op: {schedule: {every: 1, mode: some}}}",
		  "1:48: key 'requirements.op.schedule.mode': unknown mode 'some' (expected all, any, "
		  "distributed or plugin)" },
		{ "requirements: {op: {schedule: {data: 1}}}",
		  "1:31: key 'requirements.op.schedule': missing 'every'" },
		{ "requirements: {op: {schedule: {every: 0}}}",
		  "1:39: key 'requirements.op.schedule.every': must be greater than 0" },
		{ "requirements: {op: {schedule: {every: 1, mode: plugin}}}",
		  "1:31: key 'requirements.op.schedule': mode plugin needs 'plugin'" },
		{ "requirements: {op: {schedule: {every: 1, plugin: p}}}",
		  "1:50: key 'requirements.op.schedule.plugin': only valid with mode plugin" },
		{ "requirements: {op: {schedule: {every: 1, mode: distributed, data: x}}}",
		  "1:67: key 'requirements.op.schedule.data': mode distributed needs 'data' to be a "
		  "non-empty sequence (its items are spread over the connections)" },
		{ "requirements: {op: {schedule: {every: 1, mode: distributed}}}",
		  "1:31: key 'requirements.op.schedule': mode distributed needs 'data' to be a "
		  "non-empty sequence (its items are spread over the connections)" },
		{ "requirements: {op: {blocklist: [p], schedule: {every: 1, mode: plugin, plugin: p}}}",
		  "1:80: key 'requirements.op.schedule.plugin': plugin 'p' is in the blocklist, so it "
		  "can never be connected" },
		{ "requirements: {op: {schedule: ~}}",
		  "1:31: key 'requirements.op.schedule': expected a mapping, got null" },
		{ "requirements: [op]",
		  "1:15: key 'requirements': expected a mapping, got a sequence" },
		{ "requirements: {op: 3}",
		  "1:20: key 'requirements.op': expected a mapping, got an integer" },
		{ "plugins: {p: {required: yes}}",
		  "1:25: key 'plugins.p.required': expected true or false, got 'yes'" },
		{ "plugins: {p: {export: 1}}",
		  "1:23: key 'plugins.p.export': expected true or false, got '1'" },
		{ "plugins: {p: {policies: {op: {maximum: -1}}}}",
		  "1:40: key 'plugins.p.policies.op.maximum': must not be negative (got -1)" },
		{ "plugins: {p: {policies: {op: {allowlist: [a], blocklist: [b]}}}}",
		  "1:47: key 'plugins.p.policies.op.blocklist': allowlist and blocklist are mutually "
		  "exclusive" },
		{ "plugins: {p: {policies: {op: 1}}}",
		  "1:30: key 'plugins.p.policies.op': expected a mapping, got an integer" },
		{ "plugins: {enable: [a, a]}",
		  "1:23: key 'plugins.enable[1]': duplicate entry 'a'" },
		{ "control: {mode: 0999}",
		  "1:17: key 'control.mode': expected an octal mode from 0 to 0777 such as 0660, got '0999'" },
		{ "control: {mode: 01777}",
		  "1:17: key 'control.mode': expected an octal mode from 0 to 0777 such as 0660, got '01777'" },
		{ "control: {mode: true}",
		  "1:17: key 'control.mode': expected an octal mode such as 0660, got a boolean" },
		{ "control: {max_request: 100}",
		  "1:24: key 'control.max_request': must be at least 1024 (got 100)" },
		{ "control: {max_request: 1e6}",
		  "1:24: key 'control.max_request': expected an integer, got a number" },
		{ "control: {group: \"\"}", "1:18: key 'control.group': must not be empty" },
		{ "control: {max_clients: 0}", "1:24: key 'control.max_clients': must be at least 1 (got 0)" },
		{ "control: {dead_remotes: -1}", "1:25: key 'control.dead_remotes': must not be negative (got -1)" },
		{ "control: {idle_timeout: 0}", "1:25: key 'control.idle_timeout': must be greater than 0" },
		{ "control: {client_buffer: 1K}", "1:26: key 'control.client_buffer': must be at least 16K (got '1K')" },
		{ "control: {total_buffer: lots}", "1:25: key 'control.total_buffer': invalid size 'lots' (expected bytes or a number with unit K, M or G (KiB, MiB, GiB))" },
		{ "control: {client_buffer: 1M, total_buffer: 512K}", "1:10: key 'control': total_buffer (524288 bytes) is less than client_buffer (1048576 bytes)" },
		{ "log: {level: verbose}",
		  "1:14: key 'log.level': unknown level 'verbose' (expected debug, info, notice, "
		  "warning or error)" },
		{ "log: debug", "1:6: key 'log': expected a mapping, got a string" },
		{ "timers: 5", "1:9: key 'timers': expected a mapping, got an integer" },
		{ "identifier: !!binary aGk=",
		  "1:13: key 'identifier': unsupported tag 'tag:yaml.org,2002:binary'" },
		{ "identifier: !custom x", "1:13: key 'identifier': unsupported tag '!custom'" },
		{ "mqtt: {port: !!int x}",
		  "1:14: key 'mqtt.port': value does not match its tag 'tag:yaml.org,2002:int'" },
		{ "requirements: {op: {inputs: !!set {a}}}",
		  "1:29: key 'requirements.op.inputs': unsupported tag 'tag:yaml.org,2002:set'" },
	};
	char want[1024];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(want, sizeof want, "orbitd.yaml:%s", cases[i].err);
		yaml_fails(cases[i].text, want);
	}
}
END_TEST

START_TEST(document_errors)
{
	yaml_fails("a: [1\n", "orbitd.yaml:2:1: YAML syntax error: did not find expected ',' or "
		   "']' (while parsing a flow sequence at line 1, column 4)");
	yaml_fails("timers:\n  loop_interval: 1\n bad: 2\n",
		   "orbitd.yaml:3:2: YAML syntax error: did not find expected key (while parsing a "
		   "block mapping at line 1, column 1)");
	yaml_fails("- a\n", "orbitd.yaml:1:1: the top level must be a mapping, got a sequence");
	yaml_fails("just text\n", "orbitd.yaml:1:1: the top level must be a mapping, got a string");
	yaml_fails("log: {}\n---\nlog: {}\n",
		   "orbitd.yaml:2:1: only one YAML document per file is supported");
	yaml_fails("timers: *nope\n", "orbitd.yaml:1:9: unknown alias '*nope'");
	yaml_fails("plugins: {p: {config: &a [1, *a]}}\n",
		   "orbitd.yaml:1:30: alias '*a' is inside the node it refers to");
	yaml_fails("timers:\n  loop_interval: 1\n  loop_interval: 2\n",
		   "orbitd.yaml:3:3: key 'timers.loop_interval': duplicate key (first at line 2, "
		   "column 3)");
	yaml_fails("plugins: {p: {config: {a: 1, a: 2}}}\n",
		   "orbitd.yaml:1:30: key 'plugins.p.config.a': duplicate key (first at line 1, "
		   "column 24)");
	yaml_fails("timers: {[a]: 1}\n",
		   "orbitd.yaml:1:10: key 'timers': mapping keys must be scalars, got a sequence");
	yaml_fails("log: {level: \"\xff\"}\n", "orbitd.yaml:1:15: invalid input: invalid leading "
		   "UTF-8 octet");
}
END_TEST

START_TEST(file_errors)
{
	struct orbitd_config *cfg = (struct orbitd_config *)(uintptr_t)0x1;
	char want[PATH_MAX + 100];
	char *err = NULL;

	ck_assert_int_eq(orbitd_config_load(tpath("absent.yaml"), &cfg, &err), -ENOENT);
	ck_assert_ptr_eq(cfg, (void *)(uintptr_t)0x1);
	snprintf(want, sizeof want, "%s: No such file or directory", tpath("absent.yaml"));
	ck_assert_str_eq(err, want);
	free(err);

	mkdir(tpath("dir.yaml"), 0700);
	ck_assert_int_eq(orbitd_config_load(tpath("dir.yaml"), &cfg, &err), -EISDIR);
	free(err);
	/* err may be NULL when the caller does not want the message. */
	ck_assert_int_eq(orbitd_config_load(tpath("absent.yaml"), &cfg, NULL), -ENOENT);
	ck_assert_int_eq(orbitd_config_load_string(NULL, "x", NULL, &cfg, NULL), -EINVAL);
}
END_TEST

START_TEST(schema_file_relative)
{
	struct orbitd_config *cfg;
	const struct ocfg_req *r;
	static const char avsc[] = "{\"type\": \"record\", \"name\": \"Point\",\n"
				   " \"fields\": [{\"name\": \"x\", \"type\": \"int\"}]}\n\n";

	wfile("orbitd.yaml", "requirements:\n  main: {inputs: [{schema_file: schemas/p.avsc}]}\n");
	wfile("schemas/p.avsc", avsc);
	wfile("conf.d/a.yaml", "requirements:\n  drop: {outputs: {schema_file: q.avsc}}\n");
	wfile("conf.d/q.avsc", "\"string\"");
	cfg = load_ok("orbitd.yaml");
	r = orbitd_config_find_req(cfg, "main");
	ck_assert_int_eq(r->inputs[0].kind, OCFG_KIND_SCHEMA);
	/* verbatim, only trailing whitespace trimmed */
	ck_assert_str_eq(r->inputs[0].schema, "{\"type\": \"record\", \"name\": \"Point\",\n"
					      " \"fields\": [{\"name\": \"x\", \"type\": \"int\"}]}");
	r = orbitd_config_find_req(cfg, "drop");
	ck_assert_uint_eq(r->n_outputs, 1);
	ck_assert_str_eq(r->outputs[0].schema, "\"string\"");
	ck_assert_int_eq(r->inputs[0].kind, OCFG_KIND_STRING);
	orbitd_config_free(cfg);
}
END_TEST

START_TEST(schema_file_errors)
{
	char want[PATH_MAX * 2];

	wfile("orbitd.yaml", "requirements:\n  op: {inputs: [{schema_file: s/none.avsc}]}\n");
	snprintf(want, sizeof want, "orbitd.yaml:2:31: key 'requirements.op.inputs[0].schema_file': "
		 "cannot read '%s': No such file or directory", tpath("s/none.avsc"));
	load_fails("orbitd.yaml", -EINVAL, want);

	wfile("s/bad.avsc", "{\"type\": \"record\",}");
	wfile("orbitd.yaml", "requirements:\n  op: {inputs: [{schema_file: s/bad.avsc}]}\n");
	snprintf(want, sizeof want, "orbitd.yaml:2:31: key 'requirements.op.inputs[0].schema_file': "
		 "'%s' is not valid JSON: string or '}' expected near '}' (line 1, column 19)",
		 tpath("s/bad.avsc"));
	load_fails("orbitd.yaml", -EINVAL, want);

	wfile("s/num.avsc", "12");
	wfile("orbitd.yaml", "requirements:\n  op: {inputs: [{schema_file: s/num.avsc}]}\n");
	snprintf(want, sizeof want, "orbitd.yaml:2:31: key 'requirements.op.inputs[0].schema_file': "
		 "'%s' must be a JSON object, string or array", tpath("s/num.avsc"));
	load_fails("orbitd.yaml", -EINVAL, want);
}
END_TEST

START_TEST(inline_schemas)
{
	struct orbitd_config *cfg = yaml_ok(
		"requirements:\n"
		"  op:\n"
		"    inputs:\n"
		"      - schema: {type: record, name: P, fields: [{name: x, type: int}], doc: \"a b\"}\n"
		"      - schema: '{\"type\":  \"string\"}'\n"
		"      - {schema: [\"null\", \"string\"]}\n"
		"      - schema: '\"long\"'\n");
	const struct ocfg_req *r = orbitd_config_find_req(cfg, "op");

	ck_assert_uint_eq(r->n_inputs, 4);
	ck_assert_str_eq(r->inputs[0].schema, "{\"type\":\"record\",\"name\":\"P\",\"fields\":"
					      "[{\"name\":\"x\",\"type\":\"int\"}],\"doc\":\"a b\"}");
	ck_assert_str_eq(r->inputs[1].schema, "{\"type\":  \"string\"}");
	ck_assert_str_eq(r->inputs[2].schema, "[\"null\",\"string\"]");
	ck_assert_str_eq(r->inputs[3].schema, "\"long\"");
	for (size_t i = 0; i < 4; i++)
		ck_assert_int_eq(r->inputs[i].kind, OCFG_KIND_SCHEMA);
	orbitd_config_free(cfg);
}
END_TEST

/* plugins.NAME.config is also kept as a value tree with positions, for the
 * plugin's config map (plugcfg.c). */
START_TEST(plugin_config_value)
{
	struct orbitd_config *cfg = yaml_ok(
		"plugins:\n"
		"  p:\n"
		"    config:\n"
		"      n: ~\n"
		"      b: yes\n"
		"      t: True\n"
		"      i: 0x1F\n"
		"      f: 2.5\n"
		"      q: '12'\n"
		"      s: !!str 5\n"
		"      l: [a, 1]\n"
		"      m: &x {k: v}\n"
		"      again: *x\n"
		"      e: {}\n"
		"  q:\n"
		"    required: false\n"
		"  r:\n"
		"    config:\n");
	const struct ocfg_plugin *p = orbitd_config_find_plugin(cfg, "p");
	const struct ocfg_value *v = p->config, *it = v->items;
	static const char *const keys[] = { "n", "b", "t", "i", "f", "q", "s", "l", "m", "again", "e" };
	static const enum ocfg_vkind kinds[] = { OCFG_V_NULL, OCFG_V_STRING, OCFG_V_BOOL, OCFG_V_INT,
						 OCFG_V_FLOAT, OCFG_V_STRING, OCFG_V_STRING,
						 OCFG_V_LIST, OCFG_V_MAP, OCFG_V_MAP, OCFG_V_MAP };

	ck_assert_int_eq(v->kind, OCFG_V_MAP);
	ck_assert_str_eq(v->where.file, tpath("orbitd.yaml"));
	ck_assert_int_eq(v->where.line, 4);
	ck_assert_int_eq(v->where.column, 7);
	ck_assert_uint_eq(v->n, 11);
	for (size_t i = 0; i < v->n; i++) {
		ck_assert_str_eq(v->keys[i], keys[i]);
		ck_assert_int_eq(it[i].kind, kinds[i]);
		ck_assert_int_eq(v->key_where[i].line, 4 + (int)i);
		ck_assert_int_eq(v->key_where[i].column, 7);
		/* "again" is an alias: its value sits where the anchored one is. */
		ck_assert_int_eq(it[i].where.line, i == 9 ? 12 : 4 + (int)i);
	}
	ck_assert_int_eq(it[1].where.column, 10);
	ck_assert_str_eq(it[1].text, "yes");
	ck_assert(it[2].b);
	ck_assert_int_eq(it[3].i, 31);
	ck_assert_double_eq(it[3].f, 31.0);
	ck_assert_str_eq(it[3].text, "0x1F");
	ck_assert_double_eq(it[4].f, 2.5);
	ck_assert_str_eq(it[5].text, "12");
	ck_assert_str_eq(it[6].text, "5");
	ck_assert_uint_eq(it[7].n, 2);
	ck_assert_int_eq(it[7].items[0].kind, OCFG_V_STRING);
	ck_assert_int_eq(it[7].items[1].kind, OCFG_V_INT);
	ck_assert_int_eq(it[7].items[1].where.column, 14);
	/* The alias is expanded: a copy, positioned where the anchored node is. */
	ck_assert_ptr_ne(it[9].items, it[8].items);
	ck_assert_str_eq(it[9].keys[0], "k");
	ck_assert_str_eq(it[9].items[0].text, "v");
	ck_assert_int_eq(it[9].items[0].where.line, 12);
	ck_assert_uint_eq(it[10].n, 0);
	ck_assert_ptr_null(orbitd_config_find_plugin(cfg, "q")->config);
	ck_assert_int_eq(orbitd_config_find_plugin(cfg, "r")->config->kind, OCFG_V_NULL);
	orbitd_config_free(cfg);
}
END_TEST

START_TEST(plugin_config_value_errors)
{
	yaml_fails("plugins:\n  p:\n    config:\n      a: 1\n      b: {x: 1, x: 2}\n",
		   "orbitd.yaml:5:17: key 'plugins.p.config.b.x': duplicate key (first at line 5, "
		   "column 11)");
	yaml_fails("plugins:\n  p:\n    config: [1, !!int x]\n",
		   "orbitd.yaml:3:17: key 'plugins.p.config[1]': value does not match its tag "
		   "'tag:yaml.org,2002:int'");
	yaml_fails("plugins:\n  p:\n    config: {[a]: 1}\n",
		   "orbitd.yaml:3:14: key 'plugins.p.config': mapping keys must be scalars, got "
		   "a sequence");
	yaml_fails("plugins:\n  p:\n    config: {\"a\\0b\": 1}\n",
		   "orbitd.yaml:3:14: key 'plugins.p.config.a?b': must not contain NUL");
	yaml_fails("plugins:\n  p:\n    config: [\"a\\0b\"]\n",
		   "orbitd.yaml:3:14: key 'plugins.p.config[0]': must not contain NUL");
}
END_TEST

START_TEST(value_parse)
{
	struct ocfg_value *v = NULL;
	char *err = NULL;

	ck_assert_int_eq(ocfg_value_parse("[a, 2s]", "default", &v, &err), 0);
	ck_assert_ptr_null(err);
	ck_assert_int_eq(v->kind, OCFG_V_LIST);
	ck_assert_uint_eq(v->n, 2);
	ck_assert_str_eq(v->items[1].text, "2s");
	ck_assert_str_eq(v->items[1].where.file, "default");
	ck_assert_int_eq(v->items[1].where.line, 1);
	ck_assert_int_eq(v->items[1].where.column, 5);
	ocfg_value_free(v);

	v = NULL;
	ck_assert_int_eq(ocfg_value_parse("", "d", &v, &err), 0);
	ck_assert_int_eq(v->kind, OCFG_V_NULL);
	ck_assert_int_eq(v->where.line, 1);
	ocfg_value_free(v);

	v = NULL;
	ck_assert_int_eq(ocfg_value_parse("\"x", "d", &v, &err), -EINVAL);
	ck_assert_ptr_null(v);
	ck_assert_str_eq(err, "d:1:3: YAML syntax error: found unexpected end of stream "
			 "(while scanning a quoted scalar at line 1, column 1)");
	free(err);
	ck_assert_int_eq(ocfg_value_parse("{a: 1, a: 2}", "d", &v, &err), -EINVAL);
	ck_assert_str_eq(err, "d:1:8: key 'a': duplicate key (first at line 1, column 2)");
	free(err);
	ck_assert_int_eq(ocfg_value_parse(NULL, "d", &v, &err), -EINVAL);
	ck_assert_ptr_null(err);
	ocfg_value_free(NULL);
}
END_TEST

START_TEST(parse_duration_exported)
{
	double d = 0;

	ck_assert_int_eq(ocfg_parse_duration("500ms", &d), 0);
	ck_assert_double_eq_tol(d, 0.5, 1e-12);
	ck_assert_int_eq(ocfg_parse_duration("1.5m", &d), 0);
	ck_assert_double_eq(d, 90);
	ck_assert_int_eq(ocfg_parse_duration("10", &d), 0);
	ck_assert_double_eq(d, 10);
	ck_assert_int_eq(ocfg_parse_duration("2 h", &d), 0);
	ck_assert_double_eq(d, 7200);
	ck_assert_int_eq(ocfg_parse_duration("2d", &d), -EINVAL);
	ck_assert_int_eq(ocfg_parse_duration("ms", &d), -EINVAL);
	ck_assert_int_eq(ocfg_parse_duration(NULL, &d), -EINVAL);
}
END_TEST

/* An empty include_dir is rejected; the rejected string used to leak (seen by
 * the SANITIZE=1 build's leak checker and by valgrind). */
START_TEST(include_dir_empty)
{
	yaml_fails("include_dir: \"\"\n", "orbitd.yaml:1:14: key 'include_dir': must not be empty");
	yaml_fails("plugins: {dir: ''}\n", "orbitd.yaml:1:16: key 'plugins.dir': must not be empty");
}
END_TEST

/* A FIFO where a file is expected is refused at once: opening it for
 * reading would wait for a writer, with the loop stopped (a reload). */
START_TEST(fifo_is_refused_without_waiting)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/orbitd.yaml", tmpdir);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	struct orbitd_config *cfg = NULL;
	char *err = NULL;
	ck_assert_int_lt(orbitd_config_load(path, &cfg, &err), 0);
	ck_assert_ptr_null(cfg);
	ck_assert_msg(err && strstr(err, "not a regular file"), "%s", err ? err : "(null)");
	free(err);
}
END_TEST

START_TEST(alias_bomb_is_bounded)
{
	/* 10 levels of 10 aliases = 10^10 values if expanded. */
	char text[4096];
	size_t n = 0;

	n += (size_t)snprintf(text + n, sizeof text - n, "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
	for (int i = 1; i < 10; i++)
		n += (size_t)snprintf(text + n, sizeof text - n,
				      "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n",
				      i, i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
	{
		char *doc;
		char *indented = malloc(sizeof text * 2);
		size_t k = 0;

		ck_assert_ptr_nonnull(indented);
		for (size_t i = 0; i < n; i++) {
			if (i == 0 || text[i - 1] == '\n')
				k += (size_t)sprintf(indented + k, "        ");
			indented[k++] = text[i];
		}
		indented[k] = '\0';
		ck_assert_int_ge(asprintf(&doc, "plugins:\n  p:\n    config:\n%s", indented), 0);
		wfile("orbitd.yaml", doc);
		free(doc);
		free(indented);
	}
	{
		struct orbitd_config *cfg = NULL;
		char *err = NULL;

		ck_assert_int_eq(orbitd_config_load(tpath("orbitd.yaml"), &cfg, &err), -EINVAL);
		ck_assert_ptr_nonnull(strstr(err, "more than 100000 values (aliases expanded)"));
		free(err);
	}
}
END_TEST

START_TEST(setup_data_forms)
{
	struct orbitd_config *cfg = yaml_ok("requirements:\n"
					    "  a: {setup_data: \"x\\0y\"}\n"
					    "  b: {setup_data: \"\"}\n"
					    "  c: {setup_data: ~}\n"
					    "  d: {setup_data: {hex: \"\"}}\n"
					    "  e: {setup_data: {hex: DEADbeef}}\n"
					    "  f: {setup_data: 0102}\n"
					    "  g: {setup_data: \"h\xc3\xa9\"}\n");
	const struct ocfg_req *r;

	r = orbitd_config_find_req(cfg, "a");
	ck_assert(r->setup_data.set);
	ck_assert_uint_eq(r->setup_data.len, 3);
	ck_assert_mem_eq(r->setup_data.data, "x\0y", 3);
	r = orbitd_config_find_req(cfg, "b");
	ck_assert(r->setup_data.set); /* empty but present: the setup hook still runs */
	ck_assert_uint_eq(r->setup_data.len, 0);
	ck_assert(!orbitd_config_find_req(cfg, "c")->setup_data.set);
	r = orbitd_config_find_req(cfg, "d");
	ck_assert(r->setup_data.set);
	ck_assert_uint_eq(r->setup_data.len, 0);
	r = orbitd_config_find_req(cfg, "e");
	ck_assert_uint_eq(r->setup_data.len, 4);
	ck_assert_mem_eq(r->setup_data.data, "\xde\xad\xbe\xef", 4);
	r = orbitd_config_find_req(cfg, "f");
	ck_assert_uint_eq(r->setup_data.len, 4);
	ck_assert_mem_eq(r->setup_data.data, "0102", 4);
	r = orbitd_config_find_req(cfg, "g");
	ck_assert_uint_eq(r->setup_data.len, 3);
	orbitd_config_free(cfg);
}
END_TEST

START_TEST(control_modes)
{
	static const struct {
		const char *text;
		unsigned mode;
	} cases[] = {
		{ "0660", 0660 }, { "\"0660\"", 0660 }, { "660", 0660 }, { "0o600", 0600 },
		{ "'0o640'", 0640 }, { "0", 0 }, { "777", 0777 }, { "0007", 07 },
	};
	char text[128];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct orbitd_config *cfg;

		snprintf(text, sizeof text, "control: {mode: %s}\n", cases[i].text);
		cfg = yaml_ok(text);
		ck_assert_msg(cfg->control.mode == cases[i].mode, "%s -> %o", cases[i].text,
			      cfg->control.mode);
		orbitd_config_free(cfg);
	}
}
END_TEST

START_TEST(control_socket_length)
{
	char text[512], want[512], path[200];

	memset(path, 'a', 108);
	path[0] = '/';
	path[108] = '\0';
	snprintf(text, sizeof text, "control: {socket: %s}\n", path);
	snprintf(want, sizeof want, "orbitd.yaml:1:19: key 'control.socket': socket path '%s' is "
		 "too long (at most 107 bytes)", path);
	yaml_fails(text, want);
	path[107] = '\0';
	snprintf(text, sizeof text, "control: {socket: %s}\n", path);
	orbitd_config_free(yaml_ok(text));
}
END_TEST

START_TEST(log_levels)
{
	static const struct {
		const char *name;
		int level;
	} cases[] = {
		{ "debug", LOG_DEBUG }, { "info", LOG_INFO }, { "notice", LOG_NOTICE },
		{ "warning", LOG_WARNING }, { "error", LOG_ERR },
	};
	char text[64];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct orbitd_config *cfg;

		snprintf(text, sizeof text, "log: {level: %s}\n", cases[i].name);
		cfg = yaml_ok(text);
		ck_assert_int_eq(cfg->log_level, cases[i].level);
		orbitd_config_free(cfg);
	}
}
END_TEST

START_TEST(log_rate_limit_and_accepted_timers)
{
	struct orbitd_config *cfg = yaml_ok("log: {rate_limit: 0}\n"
					    "timers: {accept_dead_after_min: 500ms, "
					    "accept_dead_after_max: 2h}\n");
	ck_assert_uint_eq(cfg->log_rate_limit, 0);
	ck_assert_double_eq(cfg->timers.accept_dead_after_min, 0.5);
	ck_assert_double_eq(cfg->timers.accept_dead_after_max, 7200);
	orbitd_config_free(cfg);
	yaml_fails("log: {rate_limit: -1}",
		   "orbitd.yaml:1:19: key 'log.rate_limit': must not be negative (got -1)");
	yaml_fails("timers: {accept_dead_after_min: 0}",
		   "orbitd.yaml:1:33: key 'timers.accept_dead_after_min': must be greater than 0");
	yaml_fails("timers: {accept_dead_after_max: 10s, accept_dead_after_min: 20s}",
		   "orbitd.yaml:1:61: key 'timers': accept_dead_after_min (20s) is greater than "
		   "accept_dead_after_max (10s)");
}
END_TEST

START_TEST(execute_sink_references)
{
	char want[PATH_MAX + 300];

	yaml_fails("requirements:\n  a: {sink: {type: execute, operation: b}}\n",
		   "orbitd.yaml:2:40: key 'requirements.a.sink.operation': no requirement named 'b'");
	yaml_fails("requirements:\n  a: {sink: {type: execute, operation: a}}\n",
		   "orbitd.yaml:2:40: key 'requirements.a.sink.operation': execute sinks form a "
		   "loop: a -> a");
	yaml_fails("requirements:\n"
		   "  a: {sink: {type: execute, operation: b}}\n"
		   "  b: {sink: {type: execute, operation: c}}\n"
		   "  c: {sink: {type: execute, operation: a}}\n",
		   "orbitd.yaml:2:40: key 'requirements.a.sink.operation': execute sinks form a "
		   "loop: a -> b -> c -> a");
	/* The target may live in a later file. */
	wfile("orbitd.yaml", "requirements:\n  a: {sink: {type: execute, operation: b}}\n");
	wfile("conf.d/b.yaml", "requirements:\n  b: {}\n");
	orbitd_config_free(load_ok("orbitd.yaml"));
	wfile("conf.d/b.yaml", "requirements:\n  b: {sink: {type: execute, operation: a, mode: any}}\n");
	snprintf(want, sizeof want, "orbitd.yaml:2:40: key 'requirements.a.sink.operation': "
		 "execute sinks form a loop: a -> b -> a");
	load_fails("orbitd.yaml", -EINVAL, want);
}
END_TEST

START_TEST(load_string_paths)
{
	struct orbitd_config *cfg = NULL;
	char *err = NULL;
	char base[PATH_MAX];

	snprintf(base, sizeof base, "%s", tpath("base"));
	wfile("base/conf/x.yaml", "requirements: {x: {inputs: {schema_file: ../s.avsc}}}\n");
	wfile("base/s.avsc", "{\"type\": \"int\"}");
	ck_assert_int_eq(orbitd_config_load_string("include_dir: conf\nplugins: {dir: plugins}\n",
						   "<mem>", base, &cfg, &err), 0);
	ck_assert_str_eq(cfg->plugins.dir, tpath("base/plugins"));
	ck_assert_str_eq(cfg->include_dir, tpath("base/conf"));
	ck_assert_uint_eq(cfg->n_files, 2);
	ck_assert_str_eq(cfg->files[1], tpath("base/conf/x.yaml"));
	ck_assert_str_eq(orbitd_config_find_req(cfg, "x")->inputs[0].schema, "{\"type\": \"int\"}");
	orbitd_config_free(cfg);

	ck_assert_int_eq(orbitd_config_load_string("log: {level: nope}\n", "<mem>", NULL, &cfg,
						   &err), -EINVAL);
	ck_assert_str_eq(err, "<mem>:1:14: key 'log.level': unknown level 'nope' (expected debug, "
		       "info, notice, warning or error)");
	free(err);
	ck_assert_int_eq(orbitd_config_load_string("plugins: {dir: rel}\n", NULL, NULL, &cfg, &err), 0);
	ck_assert_str_eq(cfg->plugins.dir, "rel");
	ck_assert_str_eq(cfg->files[0], "<string>");
	orbitd_config_free(cfg);
}
END_TEST

/* The isolation defaults of config.h, as orbitd_config_isolate gives them. */
static void assert_isolate_defaults(const struct ocfg_isolate *is, enum ocfg_isolation isolation)
{
	ck_assert_int_eq(is->isolation, isolation);
	ck_assert_uint_eq(is->memory, 1u << 30);
	ck_assert_uint_eq(is->files, 1024);
	ck_assert_uint_eq(is->processes, 512);
	ck_assert_double_eq(is->liveness_timeout, 10);
	ck_assert_double_eq(is->backoff_min, 0.5);
	ck_assert_double_eq(is->backoff_max, 30);
	ck_assert_uint_eq(is->max_crashes, 5);
	ck_assert_double_eq(is->window, 60);
}

START_TEST(isolation_defaults)
{
	struct orbitd_config *cfg = yaml_ok("plugins: {p: {policies: {op: {maximum: 1}}}}\n");
	const struct ocfg_plugin *p = orbitd_config_find_plugin(cfg, "p");
	const struct ocfg_policy *pol = ocfg_plugin_policy(p, "op");
	struct ocfg_isolate is;
	double timeout = 0;
	unsigned inflight = 0;

	ck_assert_int_eq(cfg->plugins.isolation, OCFG_ISOLATION_PROCESS);
	ck_assert(!p->isolation_set);
	assert_isolate_defaults(&p->isolate, OCFG_ISOLATION_PROCESS);
	orbitd_config_isolate(cfg, "p", &is);
	assert_isolate_defaults(&is, OCFG_ISOLATION_PROCESS);
	orbitd_config_isolate(cfg, "no-section", &is);
	assert_isolate_defaults(&is, OCFG_ISOLATION_PROCESS);

	ck_assert(!pol->timeout_set && !pol->max_inflight_set);
	orbitd_config_op_limits(cfg, "p", "op", &timeout, &inflight);
	ck_assert_double_eq(timeout, OCFG_OP_TIMEOUT_DEFAULT);
	ck_assert_uint_eq(inflight, OCFG_OP_MAX_INFLIGHT_DEFAULT);
	orbitd_config_op_limits(cfg, "p", "other", &timeout, &inflight);
	ck_assert_double_eq(timeout, 60);
	ck_assert_uint_eq(inflight, 64);
	orbitd_config_op_limits(cfg, "nobody", "op", &timeout, &inflight);
	ck_assert_double_eq(timeout, 60);
	ck_assert_uint_eq(inflight, 64);
	orbitd_config_free(cfg);
}
END_TEST

START_TEST(isolation_values)
{
	struct orbitd_config *cfg = yaml_ok(
		"plugins:\n"
		"  a:\n"
		"    isolation: none\n"
		"    limits: {memory: 512M, files: 16, processes: 1}\n"
		"    liveness_timeout: 100ms\n"
		"    restart: {backoff_min: 2s, backoff_max: 2s, max_crashes: 1, window: 1h}\n"
		"    policies:\n"
		"      fast: {timeout: 250ms, max_inflight: 1}\n"
		"      slow: {timeout: never}\n"
		"      wide: {max_inflight: 100000}\n"
		"  b:\n"
		"    isolation: process\n"
		"    limits: {memory: unlimited, files: \"unlimited\", processes: unlimited}\n"
		"  c: {limits: {memory: 16777216}}\n"
		"  d: {limits: {memory: 1.5G}}\n"
		"  e: {limits: {memory: \"2 GiB\"}}\n"
		"  f: {limits: {memory: 100000KiB}}\n"
		"  g: {limits: {memory: 32MiB, files: 1048576}}\n");
	struct ocfg_isolate is;
	double timeout;
	unsigned inflight;

	orbitd_config_isolate(cfg, "a", &is);
	ck_assert(orbitd_config_find_plugin(cfg, "a")->isolation_set);
	ck_assert_int_eq(is.isolation, OCFG_ISOLATION_NONE);
	ck_assert_uint_eq(is.memory, 512u << 20);
	ck_assert_uint_eq(is.files, 16);
	ck_assert_uint_eq(is.processes, 1);
	ck_assert_double_eq_tol(is.liveness_timeout, 0.1, 1e-12);
	ck_assert_double_eq(is.backoff_min, 2);
	ck_assert_double_eq(is.backoff_max, 2);
	ck_assert_uint_eq(is.max_crashes, 1);
	ck_assert_double_eq(is.window, 3600);
	orbitd_config_op_limits(cfg, "a", "fast", &timeout, &inflight);
	ck_assert_double_eq(timeout, 0.25);
	ck_assert_uint_eq(inflight, 1);
	orbitd_config_op_limits(cfg, "a", "slow", &timeout, &inflight);
	ck_assert_double_eq(timeout, OCFG_NEVER);
	ck_assert_uint_eq(inflight, 64);
	ck_assert(ocfg_plugin_policy(orbitd_config_find_plugin(cfg, "a"), "slow")->timeout_set);
	orbitd_config_op_limits(cfg, "a", "wide", &timeout, &inflight);
	ck_assert_double_eq(timeout, 60);
	ck_assert_uint_eq(inflight, 100000);

	orbitd_config_isolate(cfg, "b", &is);
	ck_assert_int_eq(is.isolation, OCFG_ISOLATION_PROCESS);
	ck_assert_uint_eq(is.memory, 0);
	ck_assert_uint_eq(is.files, 0);
	ck_assert_uint_eq(is.processes, 0);
	ck_assert_double_eq(is.liveness_timeout, 10);
	orbitd_config_isolate(cfg, "c", &is);
	ck_assert_uint_eq(is.memory, 16u << 20);
	ck_assert_uint_eq(is.files, 1024); /* the rest keeps its defaults */
	orbitd_config_isolate(cfg, "d", &is);
	ck_assert_uint_eq(is.memory, 3u << 29);
	orbitd_config_isolate(cfg, "e", &is);
	ck_assert_uint_eq(is.memory, 2u << 30);
	orbitd_config_isolate(cfg, "f", &is);
	ck_assert_uint_eq(is.memory, 100000u << 10);
	orbitd_config_isolate(cfg, "g", &is);
	ck_assert_uint_eq(is.memory, 32u << 20);
	ck_assert_uint_eq(is.files, 1048576);
	orbitd_config_free(cfg);
}
END_TEST

/* plugins.isolation is the default of every section that does not set its
 * own and of plugins without a section, wherever it is written. */
START_TEST(isolation_default_from_plugins)
{
	struct orbitd_config *cfg;
	struct ocfg_isolate is;

	cfg = yaml_ok("plugins:\n  a: {}\n  b: {isolation: process}\n  isolation: none\n");
	ck_assert_int_eq(cfg->plugins.isolation, OCFG_ISOLATION_NONE);
	ck_assert_int_eq(orbitd_config_find_plugin(cfg, "a")->isolate.isolation,
			 OCFG_ISOLATION_NONE);
	orbitd_config_isolate(cfg, "b", &is);
	ck_assert_int_eq(is.isolation, OCFG_ISOLATION_PROCESS);
	orbitd_config_isolate(cfg, "sectionless", &is);
	assert_isolate_defaults(&is, OCFG_ISOLATION_NONE);
	orbitd_config_free(cfg);

	/* Set in a later conf.d file than the sections, overriding the main file. */
	wfile("orbitd.yaml", "plugins:\n  isolation: none\n  a: {limits: {files: 64}}\n");
	wfile("conf.d/10-b.yaml", "plugins:\n  b: {}\n  c: {isolation: none}\n");
	wfile("conf.d/20-iso.yaml", "plugins: {isolation: process}\n");
	cfg = load_ok("orbitd.yaml");
	ck_assert_int_eq(cfg->plugins.isolation, OCFG_ISOLATION_PROCESS);
	orbitd_config_isolate(cfg, "a", &is);
	ck_assert_int_eq(is.isolation, OCFG_ISOLATION_PROCESS);
	ck_assert_uint_eq(is.files, 64);
	orbitd_config_isolate(cfg, "b", &is);
	ck_assert_int_eq(is.isolation, OCFG_ISOLATION_PROCESS);
	orbitd_config_isolate(cfg, "c", &is);
	ck_assert_int_eq(is.isolation, OCFG_ISOLATION_NONE);
	orbitd_config_free(cfg);

	/* And the other way round: none from conf.d applies to the main file's sections. */
	wfile("conf.d/20-iso.yaml", "plugins: {isolation: none}\n");
	wfile("orbitd.yaml", "plugins:\n  a: {}\n");
	cfg = load_ok("orbitd.yaml");
	orbitd_config_isolate(cfg, "a", &is);
	ck_assert_int_eq(is.isolation, OCFG_ISOLATION_NONE);
	orbitd_config_isolate(cfg, "b", &is);
	ck_assert_int_eq(is.isolation, OCFG_ISOLATION_NONE);
	orbitd_config_isolate(cfg, "c", &is);
	ck_assert_int_eq(is.isolation, OCFG_ISOLATION_NONE);
	orbitd_config_free(cfg);
}
END_TEST

START_TEST(isolation_errors)
{
	static const struct {
		const char *text, *err;
	} cases[] = {
		{ "plugins: {isolation: thread}",
		  "1:22: key 'plugins.isolation': unknown isolation 'thread' (expected process or "
		  "none)" },
		{ "plugins: {isolation: [none]}",
		  "1:22: key 'plugins.isolation': expected a string, got a sequence" },
		{ "plugins: {p: {isolation: off}}",
		  "1:26: key 'plugins.p.isolation': unknown isolation 'off' (expected process or "
		  "none)" },
		{ "plugins: {p: {limits: 1G}}",
		  "1:23: key 'plugins.p.limits': expected a mapping, got a string" },
		{ "plugins: {p: {limits: {memory: 15M}}}",
		  "1:32: key 'plugins.p.limits.memory': must be at least 16M (got '15M')" },
		{ "plugins: {p: {limits: {memory: 16777215}}}",
		  "1:32: key 'plugins.p.limits.memory': must be at least 16M (got '16777215')" },
		{ "plugins: {p: {limits: {memory: 0}}}",
		  "1:32: key 'plugins.p.limits.memory': must be at least 16M (got '0')" },
		{ "plugins: {p: {limits: {memory: -1}}}",
		  "1:32: key 'plugins.p.limits.memory': must not be negative (got -1)" },
		{ "plugins: {p: {limits: {memory: 2T}}}",
		  "1:32: key 'plugins.p.limits.memory': invalid size '2T' (expected bytes or a number "
		  "with unit K, M or G (KiB, MiB, GiB), or unlimited)" },
		{ "plugins: {p: {limits: {memory: 1e9}}}",
		  "1:32: key 'plugins.p.limits.memory': expected a size (bytes, or a string like "
		  "\"512M\"), got a number" },
		{ "plugins: {p: {limits: {memory: 2000000G}}}",
		  "1:32: key 'plugins.p.limits.memory': too large (at most 1048576G)" },
		{ "plugins: {p: {limits: {memory: 99999999999999999999999G}}}",
		  "1:32: key 'plugins.p.limits.memory': too large (at most 1048576G)" },
		{ "plugins: {p: {limits: {files: 15}}}",
		  "1:31: key 'plugins.p.limits.files': must be at least 16 (got 15)" },
		{ "plugins: {p: {limits: {files: 0}}}",
		  "1:31: key 'plugins.p.limits.files': must be at least 16 (got 0)" },
		{ "plugins: {p: {limits: {files: many}}}",
		  "1:31: key 'plugins.p.limits.files': expected an integer, got a string" },
		{ "plugins: {p: {limits: {files: !!int unlimited}}}",
		  "1:31: key 'plugins.p.limits.files': value does not match its tag "
		  "'tag:yaml.org,2002:int'" },
		{ "plugins: {p: {limits: {processes: 0}}}",
		  "1:35: key 'plugins.p.limits.processes': must be at least 1 (got 0)" },
		{ "plugins: {p: {limits: {processes: -3}}}",
		  "1:35: key 'plugins.p.limits.processes': must not be negative (got -3)" },
		{ "plugins: {p: {liveness_timeout: 0}}",
		  "1:33: key 'plugins.p.liveness_timeout': must be greater than 0" },
		{ "plugins: {p: {liveness_timeout: 99ms}}",
		  "1:33: key 'plugins.p.liveness_timeout': must be at least 0.1s (got '99ms')" },
		{ "plugins: {p: {liveness_timeout: never}}",
		  "1:33: key 'plugins.p.liveness_timeout': 'never' is not allowed here" },
		{ "plugins: {p: {restart: 5}}",
		  "1:24: key 'plugins.p.restart': expected a mapping, got an integer" },
		{ "plugins: {p: {restart: {backoff_min: 0}}}",
		  "1:38: key 'plugins.p.restart.backoff_min': must be greater than 0" },
		{ "plugins: {p: {restart: {backoff_max: 0s}}}",
		  "1:38: key 'plugins.p.restart.backoff_max': must be greater than 0" },
		{ "plugins: {p: {restart: {backoff_min: 1m}}}",
		  "1:38: key 'plugins.p.restart.backoff_min': backoff_min (60s) is greater than "
		  "backoff_max (30s)" },
		{ "plugins: {p: {restart: {backoff_min: 2, backoff_max: 1}}}",
		  "1:54: key 'plugins.p.restart.backoff_max': backoff_min (2s) is greater than "
		  "backoff_max (1s)" },
		{ "plugins: {p: {restart: {backoff_max: 100ms}}}",
		  "1:38: key 'plugins.p.restart.backoff_max': backoff_min (0.5s) is greater than "
		  "backoff_max (0.1s)" },
		{ "plugins: {p: {restart: {max_crashes: 0}}}",
		  "1:38: key 'plugins.p.restart.max_crashes': must be at least 1 (got 0)" },
		{ "plugins: {p: {restart: {max_crashes: 1.5}}}",
		  "1:38: key 'plugins.p.restart.max_crashes': expected an integer, got a number" },
		{ "plugins: {p: {restart: {window: 0}}}",
		  "1:33: key 'plugins.p.restart.window': must be greater than 0" },
		{ "plugins: {p: {restart: {window: never}}}",
		  "1:33: key 'plugins.p.restart.window': 'never' is not allowed here" },
		{ "plugins: {p: {policies: {op: {timeout: 0}}}}",
		  "1:40: key 'plugins.p.policies.op.timeout': must be greater than 0" },
		{ "plugins: {p: {policies: {op: {timeout: -1s}}}}",
		  "1:40: key 'plugins.p.policies.op.timeout': must not be negative (got '-1s')" },
		{ "plugins: {p: {policies: {op: {timeout: soon}}}}",
		  "1:40: key 'plugins.p.policies.op.timeout': invalid duration 'soon' (expected "
		  "seconds or a number with unit ms, s, m or h, or never)" },
		{ "plugins: {p: {policies: {op: {max_inflight: 0}}}}",
		  "1:45: key 'plugins.p.policies.op.max_inflight': must be at least 1 (got 0)" },
		{ "plugins: {p: {policies: {op: {max_inflight: ~}}}}",
		  "1:45: key 'plugins.p.policies.op.max_inflight': expected an integer, got null" },
	};
	char want[1024];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(want, sizeof want, "orbitd.yaml:%s", cases[i].err);
		yaml_fails(cases[i].text, want);
	}
	/* In a conf.d file, the position names that file. */
	wfile("orbitd.yaml", "plugins: {isolation: none}\n");
	wfile("conf.d/10-p.yaml", "plugins:\n  p:\n    limits:\n      memory: 1M\n");
	load_fails("orbitd.yaml", -EINVAL, "conf.d/10-p.yaml:4:15: key 'plugins.p.limits.memory': "
		   "must be at least 16M (got '1M')");
}
END_TEST

START_TEST(names_of_enums)
{
	ck_assert_str_eq(ocfg_kind_name(OCFG_KIND_FLOAT32), "float32");
	ck_assert_str_eq(ocfg_kind_name(OCFG_KIND_SCHEMA), "schema");
	ck_assert_str_eq(ocfg_mode_name(OCFG_MODE_DISTRIBUTED), "distributed");
	ck_assert_str_eq(ocfg_sink_type_name(OCFG_SINK_EXECUTE), "execute");
	ck_assert_str_eq(ocfg_kind_name((enum ocfg_kind)99), "?");
	ck_assert(!orbit_idlist_has(NULL, "x"));
	ck_assert_ptr_null(orbitd_config_find_req(NULL, "x"));
	orbitd_config_free(NULL);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, default_yaml_matches_defaults);
	tcase_add_test(tc, every_key);
	tcase_add_test(tc, exec_timeout_never);
	tcase_add_test(tc, default_sink_and_types);
	tcase_add_loop_test(tc, durations, 0, sizeof good_durations / sizeof good_durations[0]);
	tcase_add_loop_test(tc, duration_errors, 0, sizeof bad_durations / sizeof bad_durations[0]);
	tcase_add_test(tc, never_only_where_allowed);
	tcase_add_test(tc, mqtt_presence);
	tcase_add_test(tc, confd_merge_order);
	tcase_add_test(tc, confd_relative_paths);
	tcase_add_test(tc, include_dir_errors);
	tcase_add_test(tc, include_dir_self);
	tcase_add_test(tc, duplicates_across_files);
	tcase_add_test(tc, unknown_keys);
	tcase_add_test(tc, identifier_characters);
	tcase_add_test(tc, value_errors);
	tcase_add_test(tc, document_errors);
	tcase_add_test(tc, file_errors);
	tcase_add_test(tc, schema_file_relative);
	tcase_add_test(tc, schema_file_errors);
	tcase_add_test(tc, inline_schemas);
	tcase_add_test(tc, plugin_config_value);
	tcase_add_test(tc, plugin_config_value_errors);
	tcase_add_test(tc, value_parse);
	tcase_add_test(tc, parse_duration_exported);
	tcase_add_test(tc, include_dir_empty);
	tcase_add_test(tc, fifo_is_refused_without_waiting);
	tcase_add_test(tc, alias_bomb_is_bounded);
	tcase_add_test(tc, setup_data_forms);
	tcase_add_test(tc, control_modes);
	tcase_add_test(tc, control_socket_length);
	tcase_add_test(tc, log_levels);
	tcase_add_test(tc, log_rate_limit_and_accepted_timers);
	tcase_add_test(tc, execute_sink_references);
	tcase_add_test(tc, load_string_paths);
	tcase_add_test(tc, isolation_defaults);
	tcase_add_test(tc, isolation_values);
	tcase_add_test(tc, isolation_default_from_plugins);
	tcase_add_test(tc, isolation_errors);
	tcase_add_test(tc, names_of_enums);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
