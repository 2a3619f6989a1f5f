/* test_typos.c — config entries naming no plugin (a plugins.NAME section, an
 * enable or disable entry) or no operation of their plugin (a policy) are
 * warned about with FILE:LINE:COLUMN and a "did you mean" hint: at orbitd -t
 * (exit status unchanged), once in the log at start and at each reload (not
 * on plugin events), and in orbitctl plugins. Every wait is on a log line or
 * an exit. */
#include "expect.h"
#include "fixture.h"
#include "proc.h"

#include <check.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define WAIT 10.0

#define HEAD                                                                                \
	"identifier: core1\n"                                                               \
	"timers: {loop_interval: 0.1, discovering_interval: 0.1, shutdown_timeout: 3}\n"

/* Line 4 column 23 the enable typo, 5:3 the section, 8:7 the policy. */
#define TYPOS                                                                               \
	HEAD "plugins:\n"                                                                   \
	     "  enable: [lowercase, lowrcase]\n"                                            \
	     "  lowrcase: {export: true}\n"                                                 \
	     "  lowercase:\n"                                                               \
	     "    policies:\n"                                                              \
	     "      lowercas: {maximum: 2}\n"

#define FIXED                                                                               \
	HEAD "plugins:\n"                                                                   \
	     "  enable: [lowercase]\n"                                                      \
	     "  lowercase:\n"                                                               \
	     "    export: true\n"                                                           \
	     "    policies:\n"                                                              \
	     "      lowercase: {maximum: 2}\n"

static const char *const warnings[] = {
	"orbitd.yaml:4:23: key 'plugins.enable': no plugin is named lowrcase (did you mean "
	"lowercase?)",
	"orbitd.yaml:5:3: key 'plugins.lowrcase': no plugin is named lowrcase (did you mean "
	"lowercase?)",
	"orbitd.yaml:8:7: key 'plugins.lowercase.policies.lowercas': plugin lowercase has no "
	"operation lowercas (did you mean lowercase?)",
};
#define N_WARNINGS (sizeof warnings / sizeof warnings[0])

static void setup(void)
{
	fx_setup_tagged("typos");
	fx_add_plugin("plugins/lowercase.so");
}

/* Run a build product with the NULL-terminated arguments; exit status. */
static int run(char **out, char **err, const char *bin, char *const *args)
{
	char *argv[16];
	size_t n = 0;
	char *path = fx_bpath(bin);
	argv[n++] = path;
	for (; *args; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	int st = test_run(argv, NULL, NULL, 2 * WAIT, out, err);
	free(path);
	ck_assert_msg(st != -1 && WIFEXITED(st), "%s did not exit", bin);
	return WEXITSTATUS(st);
}

/* orbitctl --json plugins: its "unmatched" array (caller decrefs). */
static json_t *unmatched(void)
{
	char *out = NULL, *err = NULL;
	char *args[] = {"-s", fx.sock, "--json", "plugins", NULL};
	ck_assert_int_eq(run(&out, &err, "bin/orbitctl", args), 0);
	json_error_t je;
	json_t *j = json_loads(out, 0, &je);
	ck_assert_msg(j, "not JSON: %s", out);
	json_t *u = json_incref(json_object_get(j, "unmatched"));
	ck_assert_msg(json_is_array(u), "no unmatched array: %s", out);
	json_decref(j);
	free(out);
	free(err);
	return u;
}

static bool has_entry(json_t *u, const char *kind, const char *name, const char *where)
{
	size_t i;
	json_t *e;
	json_array_foreach(u, i, e) {
		const char *w = json_string_value(json_object_get(e, "where"));
		if (strcmp(json_string_value(json_object_get(e, "kind")), kind) == 0 &&
		    strcmp(json_string_value(json_object_get(e, "name")), name) == 0 && w &&
		    strstr(w, where) &&
		    strcmp(json_string_value(json_object_get(e, "hint")), "lowercase") == 0)
			return true;
	}
	return false;
}

START_TEST(test_mode_warns_and_passes)
{
	fx_write_conf(TYPOS);
	char *conf = fx_tpath("orbitd.yaml"), *out = NULL, *err = NULL;
	char *args[] = {"-t", "-c", conf, "-p", fx.plugdir, NULL};
	ck_assert_int_eq(run(&out, &err, "bin/orbitd", args), 0);
	ck_assert_msg(strstr(out, "configuration OK"), "%s", out);
	for (size_t i = 0; i < N_WARNINGS; i++)
		ck_assert_msg(strstr(err, warnings[i]), "missing '%s' in:\n%s", warnings[i], err);
	free(out);
	free(err);
	/* Fixed: not a word. */
	fx_write_conf(FIXED);
	ck_assert_int_eq(run(&out, &err, "bin/orbitd", args), 0);
	ck_assert_msg(!strstr(err, "warning"), "%s", err);
	free(out);
	free(err);
	free(conf);
}
END_TEST

START_TEST(daemon_warns_once_lists_and_forgets)
{
	fx_write_conf(TYPOS);
	struct test_proc *p = fx_start_orbitd();
	for (size_t i = 0; i < N_WARNINGS; i++)
		test_expect_line(p, warnings[i], WAIT);
	/* The control socket answers from here on. */
	test_expect_line(p, "ready: 0 requirements", WAIT);
	json_t *u = unmatched();
	ck_assert_uint_eq(json_array_size(u), N_WARNINGS);
	ck_assert(has_entry(u, "enable", "lowrcase", "orbitd.yaml:4:23"));
	ck_assert(has_entry(u, "section", "lowrcase", "orbitd.yaml:5:3"));
	ck_assert(has_entry(u, "policy", "lowercas", "orbitd.yaml:8:7"));
	json_decref(u);
	char *out = NULL, *err = NULL;
	char *args[] = {"-s", fx.sock, "plugins", NULL};
	ck_assert_int_eq(run(&out, &err, "bin/orbitctl", args), 0);
	for (size_t i = 0; i < N_WARNINGS; i++)
		ck_assert_msg(strstr(out, warnings[i]), "missing '%s' in:\n%s", warnings[i], out);
	free(out);
	free(err);
	/* A drop-in is a plugin event, not a reason to say it all again. */
	fx_add_plugin("plugins/randint.so");
	test_expect_line(p, "plugin randint (randint.so) disabled by configuration", WAIT);
	for (size_t i = 0; i < N_WARNINGS; i++)
		ck_assert_uint_eq(test_proc_count(p, warnings[i]), 1);
	/* The fix reloaded: nothing more said, nothing listed. */
	fx_write_conf(FIXED);
	test_proc_signal(p, SIGHUP);
	test_expect_line(p, "reloaded: ", WAIT);
	for (size_t i = 0; i < N_WARNINGS; i++)
		ck_assert_uint_eq(test_proc_count(p, warnings[i]), 1);
	u = unmatched();
	ck_assert_uint_eq(json_array_size(u), 0);
	json_decref(u);
	/* Back to the typo: said again, once, by the reload. */
	fx_write_conf(TYPOS);
	test_proc_signal(p, SIGHUP);
	test_expect_line(p, "reloaded: ", WAIT);
	for (size_t i = 0; i < N_WARNINGS; i++)
		ck_assert_uint_eq(test_proc_count(p, warnings[i]), 2);
	test_stop_clean(p, WAIT);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("typos");
	TCase *tc = tcase_create("typos");
	tcase_add_checked_fixture(tc, setup, fx_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_mode_warns_and_passes);
	tcase_add_test(tc, daemon_warns_once_lists_and_forgets);
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
