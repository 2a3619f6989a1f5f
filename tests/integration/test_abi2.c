/* test_abi2.c — plugin ABI 2 with real orbitd processes and real .so files:
 * ABI 1 and too-new plugins rejected with their reasons, a newer-minor plugin
 * accepted, a C++ plugin answering, the typed host functions round trip,
 * config-map errors (wrong type, unknown key, out of bounds, missing required
 * key) with FILE:LINE:COLUMN at -t, at start and at reload (refused, values
 * unchanged), and orbitd --try. Every wait is on a log line or an exit. */
#include "expect.h"
#include "fixture.h"
#include "proc.h"

#include <check.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define WAIT 10.0

#define FAST_TIMERS                                                                         \
	"timers: {loop_interval: 0.1, discovering_interval: 0.1, shutdown_timeout: 3}\n"

static void setup(void)
{
	fx_setup_tagged("abi2");
}

struct res {
	int rc; /* exit status; -1 timeout or no start */
	char *out, *err;
};

static void res_free(struct res *r)
{
	free(r->out);
	free(r->err);
}

/* Run bin (a build product) with the NULL-terminated arguments. */
static void run(struct res *r, const char *bin, ...)
{
	char *argv[32];
	size_t n = 0;
	char *path = fx_bpath(bin);
	argv[n++] = path;
	va_list ap;
	va_start(ap, bin);
	for (char *a; (a = va_arg(ap, char *));) {
		ck_assert(n < sizeof argv / sizeof argv[0] - 1);
		argv[n++] = a;
	}
	va_end(ap);
	argv[n] = NULL;
	int st = test_run(argv, NULL, NULL, 2 * WAIT, &r->out, &r->err);
	r->rc = st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	if (!r->out)
		r->out = strdup("");
	if (!r->err)
		r->err = strdup("");
	free(path);
}

#define CTL(r, ...) run((r), "bin/orbitctl", "-s", fx.sock, __VA_ARGS__, (char *)NULL)
#define ORBITD(r, ...) run((r), "bin/orbitd", __VA_ARGS__, (char *)NULL)

#define expect_rc(r, code)                                                                  \
	ck_assert_msg((r)->rc == (code), "exit %d, expected %d\n--- stdout\n%s--- stderr\n%s", \
		      (r)->rc, (code), (r)->out, (r)->err)

/* orbitctl execute OP --data JSON, then the daemon's log sink must show
 * "output OP from PLUGIN: WANT" (a new line, after p's cursor): waiting on
 * that line instead of a fixed --wait window. */
static void expect_output(struct test_proc *p, const char *op, const char *plugin,
			  const char *data, const char *want)
{
	struct res r;
	CTL(&r, "execute", op, "--data", data);
	expect_rc(&r, 0);
	res_free(&r);
	char line[256];
	snprintf(line, sizeof line, "output %s from %s: %s", op, plugin, want);
	test_expect_line(p, line, WAIT);
}

/* The reason orbitctl plugins --json gives for the entry of file. */
static char *reason_of(const char *file)
{
	struct res r;
	CTL(&r, "--json", "plugins");
	expect_rc(&r, 0);
	json_error_t je;
	json_t *j = json_loads(r.out, 0, &je);
	ck_assert_msg(j, "not JSON: %s", r.out);
	char *reason = NULL;
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(j, "plugins"), i, e) {
		const char *f = json_string_value(json_object_get(e, "file"));
		const char *why = json_string_value(json_object_get(e, "reason"));
		if (f && strcmp(f, file) == 0 && why)
			reason = strdup(why);
	}
	json_decref(j);
	res_free(&r);
	ck_assert_msg(reason, "no reason for %s", file);
	return reason;
}

START_TEST(abi_versions)
{
	fx_add_plugin("tests/plugins/abi1.so");
	fx_add_plugin("tests/plugins/newer.so");
	fx_add_plugin("tests/plugins/newerok.so");
	fx_write_conf("identifier: core1\n" FAST_TIMERS
		      "requirements:\n  newerok: {minimum: 1}\n");
	struct test_proc *p = fx_start_orbitd();
	test_expect_line(p, "core compliant: 1/1", WAIT);
	ck_assert(test_proc_seen(p, "plugin newerok: built for plugin ABI 2.1, runs on this "
				    "orbitd's 2.0 (it needs 2.0)", 0));
	char *why = reason_of("abi1.so");
	ck_assert_str_eq(why, "built for plugin ABI 1; this orbitd speaks ABI 2: rebuild it "
			      "against orbit/plugin.h of orbitd >= 0.2");
	free(why);
	why = reason_of("newer.so");
	ck_assert_str_eq(why, "needs plugin ABI 2.1, this orbitd has 2.0");
	free(why);
	ck_assert(test_proc_seen(p, "plugin abi1.so rejected: built for plugin ABI 1", 0));
	expect_output(p, "newerok", "newerok", "\"as is\"", "\"as is\"");
	test_stop_clean(p, WAIT);
}
END_TEST

START_TEST(cxx_plugin_answers)
{
	fx_add_plugin("tests/plugins/cxx_hello.so");
	fx_write_conf("identifier: core1\n" FAST_TIMERS
		      "plugins:\n  cxx_hello: {config: {word: Hi}}\n"
		      "requirements:\n  cxx_hello: {minimum: 1}\n");
	struct test_proc *p = fx_start_orbitd();
	test_expect_line(p, "core compliant: 1/1", WAIT);
	expect_output(p, "cxx_hello", "cxx_hello", "\"there\"", "\"Hi, there from C++\"");
	test_stop_clean(p, WAIT);
}
END_TEST

#define TYPED_REQS                                                                          \
	"requirements:\n"                                                                   \
	"  greet: {minimum: 1}\n"                                                           \
	"  twice: {minimum: 1, inputs: int64, outputs: int64}\n"                            \
	"  half: {minimum: 1, inputs: float64, outputs: float64}\n"                         \
	"  ping: {minimum: 1, inputs: empty, outputs: empty}\n"                             \
	"  times: {minimum: 1, inputs: empty, outputs: int32}\n"                            \
	"  wide: {minimum: 1, inputs: int64, outputs: int32}\n"

START_TEST(typed_functions_round_trip)
{
	fx_add_plugin("tests/plugins/typed.so");
	fx_write_conf("identifier: core1\n" FAST_TIMERS
		      "plugins:\n  typed: {config: {greeting: Hello, times: 7}}\n" TYPED_REQS);
	struct test_proc *p = fx_start_orbitd();
	test_expect_line(p, "core compliant: 6/6", WAIT);
	/* Defaults applied beside the given values. */
	ck_assert(test_proc_seen(p, "init: greeting=Hello times=7 ratio=0.5 loud=0 tags=2", 0));
	expect_output(p, "greet", "typed", "\"w\\u00f6rld\"", "\"Hello, w\\u00f6rld\"");
	expect_output(p, "twice", "typed", "-21", "-42");
	expect_output(p, "half", "typed", "5", "2.5");
	expect_output(p, "ping", "typed", "null", "null");
	expect_output(p, "times", "typed", "null", "7");
	expect_output(p, "wide", "typed", "-5", "-5");
	/* plugin show: each config key with its value, where it came from and
	 * its doc; each operation with its doc. */
	struct res show;
	CTL(&show, "plugin", "show", "typed");
	expect_rc(&show, 0);
	ck_assert_msg(strstr(show.out, "the configured greeting, then the input"), "%s", show.out);
	ck_assert_msg(strstr(show.out, "what greet says first"), "%s", show.out);
	ck_assert_msg(strstr(show.out, "orbitd.yaml:"), "%s", show.out);
	res_free(&show);
	CTL(&show, "--json", "plugin", "show", "typed");
	expect_rc(&show, 0);
	json_error_t je;
	json_t *pj = json_loads(show.out, 0, &je), *key;
	ck_assert_msg(pj, "not JSON: %s", show.out);
	size_t ki, seen = 0;
	json_array_foreach(json_object_get(pj, "config"), ki, key) {
		const char *path = json_string_value(json_object_get(key, "path"));
		json_t *value = json_object_get(key, "value"), *where = json_object_get(key, "where");
		bool given = json_is_true(json_object_get(key, "given"));
		if (strcmp(path, "greeting") == 0) {
			ck_assert_str_eq(json_string_value(value), "Hello");
			ck_assert(given);
			ck_assert_int_eq(json_integer_value(json_object_get(where, "line")), 4);
			seen++;
		} else if (strcmp(path, "ratio") == 0) {
			ck_assert(json_real_value(value) == 0.5 && !given && json_is_null(where));
			ck_assert_str_eq(json_string_value(json_object_get(key, "default")), "0.5");
			seen++;
		} else if (strcmp(path, "times") == 0) {
			ck_assert(json_integer_value(value) == 7 && given);
			ck_assert(json_integer_value(json_object_get(key, "max")) == 10 ||
				  json_real_value(json_object_get(key, "max")) == 10.0);
			seen++;
		}
	}
	ck_assert_int_eq(seen, 3);
	json_decref(pj);
	res_free(&show);
	/* reply_int range-checks an int32 output (busline's Int32Message goes
	 * up to 2^32 - 1): no output, the failure logged. */
	struct res r;
	CTL(&r, "execute", "wide", "--data", "5000000000");
	res_free(&r);
	test_expect_line(p, "operation wide for core1 failed: Invalid argument", WAIT);
	test_stop_clean(p, WAIT);
}
END_TEST

/* The four config-map errors, each on line 6 of orbitd.yaml. */
static const struct bad_config {
	const char *yaml;  /* the plugin's config lines */
	const char *where; /* FILE:LINE: of the error */
	const char *key;   /* the key named */
} bad_configs[] = {
	{"      greeting: hi\n      times: zero\n", "orbitd.yaml:6:", "plugins.typed.config.times"},
	{"      greeting: hi\n      colour: red\n", "orbitd.yaml:6:", "plugins.typed.config.colour"},
	{"      greeting: hi\n      times: 11\n", "orbitd.yaml:6:", "plugins.typed.config.times"},
	{"      times: 2\n", "orbitd.yaml:", "plugins.typed.config.greeting"},
};

static void write_typed_conf(const char *config_lines)
{
	char *yaml = NULL;
	ck_assert_int_ge(asprintf(&yaml,
				  "identifier: core1\n"
				  "plugins:\n"
				  "  typed:\n"
				  "    config:\n"
				  "%s" FAST_TIMERS TYPED_REQS,
				  config_lines),
			 0);
	fx_write_conf(yaml);
	free(yaml);
}

START_TEST(config_errors_at_test_mode)
{
	fx_add_plugin("tests/plugins/typed.so");
	char *conf = fx_tpath("orbitd.yaml");
	write_typed_conf("      greeting: hi\n");
	struct res r;
	ORBITD(&r, "-t", "-c", conf, "-p", fx.plugdir);
	expect_rc(&r, 0);
	ck_assert_msg(strstr(r.out, "configuration OK"), "%s", r.out);
	res_free(&r);
	for (size_t i = 0; i < sizeof bad_configs / sizeof bad_configs[0]; i++) {
		write_typed_conf(bad_configs[i].yaml);
		ORBITD(&r, "-t", "-c", conf, "-p", fx.plugdir);
		expect_rc(&r, 1);
		ck_assert_msg(strstr(r.err, "plugin typed.so (typed): ") &&
				      strstr(r.err, bad_configs[i].where) &&
				      strstr(r.err, bad_configs[i].key),
			      "case %zu: %s", i, r.err);
		res_free(&r);
	}
	/* A plugin the daemon would reject fails -t too, with its reason. */
	write_typed_conf("      greeting: hi\n");
	fx_add_plugin("tests/plugins/abi1.so");
	ORBITD(&r, "-t", "-c", conf, "-p", fx.plugdir);
	expect_rc(&r, 1);
	ck_assert_msg(strstr(r.err, "plugin abi1.so: built for plugin ABI 1"), "%s", r.err);
	res_free(&r);
	free(conf);
}
END_TEST

START_TEST(config_errors_reject_at_start)
{
	fx_add_plugin("tests/plugins/typed.so");
	fx_add_plugin("tests/plugins/echo.so");
	for (size_t i = 0; i < sizeof bad_configs / sizeof bad_configs[0]; i++) {
		char *yaml = NULL;
		ck_assert_int_ge(asprintf(&yaml,
					  "identifier: core1\n"
					  "plugins:\n"
					  "  typed:\n"
					  "    config:\n"
					  "%s" FAST_TIMERS "requirements:\n  echo: {minimum: 1}\n",
					  bad_configs[i].yaml),
				 0);
		fx_write_conf(yaml);
		free(yaml);
		struct test_proc *p = fx_start_orbitd();
		test_expect_line(p, "core compliant: 1/1", WAIT);
		ck_assert(test_proc_seen(p, "plugin typed.so rejected: ", WAIT));
		char *why = reason_of("typed.so");
		ck_assert_msg(strstr(why, bad_configs[i].where) && strstr(why, bad_configs[i].key),
			      "case %zu: %s", i, why);
		free(why);
		/* Rejected before init: the plugin never ran. */
		ck_assert(!test_proc_seen(p, "plugin typed: init:", 0));
		test_stop_clean(p, WAIT);
	}
}
END_TEST

START_TEST(config_error_refuses_reload)
{
	fx_add_plugin("tests/plugins/typed.so");
	write_typed_conf("      greeting: Hello\n      times: 2\n");
	struct test_proc *p = fx_start_orbitd();
	test_expect_line(p, "core compliant: 6/6", WAIT);
	expect_output(p, "greet", "typed", "\"you\"", "\"Hello, you\"");
	for (size_t i = 0; i < sizeof bad_configs / sizeof bad_configs[0]; i++) {
		/* loud changes too: a partial swap would show. */
		char *lines = NULL;
		ck_assert_int_ge(asprintf(&lines, "%s      loud: true\n", bad_configs[i].yaml), 0);
		write_typed_conf(lines);
		free(lines);
		test_proc_mark(p);
		test_proc_signal(p, SIGHUP);
		char *l = test_proc_wait_line(p, "reload failed, keeping the running configuration",
					      WAIT);
		ck_assert_msg(l && strstr(l, "plugin typed: ") && strstr(l, bad_configs[i].where) &&
				      strstr(l, bad_configs[i].key),
			      "case %zu: %s", i, l ? l : "(none)");
		free(l);
		expect_output(p, "greet", "typed", "\"you\"", "\"Hello, you\"");
		expect_output(p, "times", "typed", "null", "2");
	}
	ck_assert(!test_proc_seen(p, "plugin typed: reload:", 0));
	/* A good one goes through: new values, the reload hook told. */
	write_typed_conf("      greeting: Bye\n      times: 3\n");
	test_proc_mark(p);
	test_proc_signal(p, SIGHUP);
	test_expect_line(p, "plugin typed: reload: greeting=Bye times=3", WAIT);
	expect_output(p, "greet", "typed", "\"you\"", "\"Bye, you\"");
	expect_output(p, "times", "typed", "null", "3");
	/* The same values again: no hook. */
	test_proc_mark(p);
	test_proc_signal(p, SIGHUP);
	test_expect_line(p, "reloaded: ", WAIT);
	ck_assert_uint_eq(test_proc_count(p, "plugin typed: reload:"), 1);
	test_stop_clean(p, WAIT);
}
END_TEST

START_TEST(try_mode)
{
	char *lc = fx_bpath("plugins/lowercase.so");
	char *typed = fx_bpath("tests/plugins/typed.so");
	char *abi1 = fx_bpath("tests/plugins/abi1.so");
	struct res r;
	ORBITD(&r, "--try", lc, "lowercase", "--data", "\"HeLLo\"");
	expect_rc(&r, 0);
	ck_assert_str_eq(r.out, "\"hello\"\n");
	res_free(&r);
	ORBITD(&r, "--try", typed, "greet", "--data", "\"you\"", "--plugin-config",
	       "{greeting: Hey, loud: true}");
	expect_rc(&r, 0);
	ck_assert_str_eq(r.out, "\"HEY, YOU\"\n");
	res_free(&r);
	ORBITD(&r, "--try", typed, "twice", "--data", "21", "--plugin-config", "greeting: x");
	expect_rc(&r, 0);
	ck_assert_str_eq(r.out, "42\n");
	res_free(&r);
	/* A failing handler: its error, exit 1, nothing on stdout. */
	ORBITD(&r, "--try", typed, "fail", "--data", "\"x\"", "--plugin-config", "{greeting: x}");
	expect_rc(&r, 1);
	ck_assert_str_eq(r.out, "");
	ck_assert_msg(strstr(r.err, "fail failed: Input/output error"), "%s", r.err);
	res_free(&r);
	/* Config checked against the map, positions in the option's text. */
	ORBITD(&r, "--try", typed, "greet", "--data", "\"x\"", "--plugin-config",
	       "{greeting: x, times: 99}");
	expect_rc(&r, 1);
	ck_assert_msg(strstr(r.err, "--plugin-config:1:") &&
			      strstr(r.err, "plugins.typed.config.times"),
		      "%s", r.err);
	res_free(&r);
	ORBITD(&r, "--try", typed, "greet", "--data", "\"x\"");
	expect_rc(&r, 1);
	ck_assert_msg(strstr(r.err, "plugins.typed.config.greeting"), "%s", r.err);
	res_free(&r);
	/* Data that does not fit the input, an unknown operation, a rejected file. */
	ORBITD(&r, "--try", typed, "twice", "--data", "\"x\"", "--plugin-config", "{greeting: x}");
	expect_rc(&r, 1);
	ck_assert_msg(strstr(r.err, "--data does not fit the input of twice"), "%s", r.err);
	res_free(&r);
	ORBITD(&r, "--try", lc, "nope");
	expect_rc(&r, 1);
	ck_assert_msg(strstr(r.err, "lowercase has no operation 'nope'"), "%s", r.err);
	res_free(&r);
	ORBITD(&r, "--try", abi1, "abi1");
	expect_rc(&r, 1);
	ck_assert_msg(strstr(r.err, "built for plugin ABI 1"), "%s", r.err);
	res_free(&r);
	/* Usage. */
	ORBITD(&r, "--try", lc);
	expect_rc(&r, 2);
	res_free(&r);
	ORBITD(&r, "--data", "1");
	expect_rc(&r, 2);
	res_free(&r);
	free(lc);
	free(typed);
	free(abi1);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("abi2");
	TCase *tc = tcase_create("abi2");
	tcase_add_checked_fixture(tc, setup, fx_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, abi_versions);
	tcase_add_test(tc, cxx_plugin_answers);
	tcase_add_test(tc, typed_functions_round_trip);
	tcase_add_test(tc, config_errors_at_test_mode);
	tcase_add_test(tc, config_errors_reject_at_start);
	tcase_add_test(tc, config_error_refuses_reload);
	tcase_add_test(tc, try_mode);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
