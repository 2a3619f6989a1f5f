/* fixture.c — see fixture.h. */
#include "fixture.h"
#include "tmpdir.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct fixture fx;

void fx_setup_tagged(const char *tag)
{
	const char *b = getenv("ORBIT_BUILD");
	fx.build = strdup(b ? b : "build");
	fx.tmp = test_tmpdir_new(tag);
	ck_assert_ptr_nonnull(fx.tmp);
	fx.plugdir = fx_tpath("plugins");
	fx.sock = fx_tpath("orbitd.sock");
	ck_assert_int_eq(mkdir(fx.plugdir, 0755), 0);
}

void fx_teardown(void)
{
	free(fx.plugdir);
	free(fx.sock);
	test_tmpdir_free(fx.tmp);
	free(fx.build);
	fx = (struct fixture){0};
}

char *fx_bpath(const char *rel)
{
	char *p = NULL;
	if (asprintf(&p, "%s/%s", fx.build, rel) < 0)
		abort();
	return p;
}

char *fx_tpath(const char *rel)
{
	return test_tmpdir_path(fx.tmp, rel);
}

void fx_add_plugin_as(const char *rel, const char *file)
{
	char *from = fx_bpath(rel);
	char *to = test_tmpdir_path(fx.plugdir, file);
	ck_assert_msg(test_copy_file(from, to, 0644) == 0, "copy %s", from);
	free(from);
	free(to);
}

void fx_add_plugin(const char *rel)
{
	fx_add_plugin_as(rel, strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel);
}

void fx_write_conf(const char *yaml)
{
	ck_assert_int_eq(test_tmpdir_write(fx.tmp, "orbitd.yaml", yaml), 0);
}

struct test_proc *fx_start_orbitd(void)
{
	char *bin = fx_bpath("bin/orbitd");
	char *conf = fx_tpath("orbitd.yaml");
	char *argv[] = {bin, "-c", conf, "-p", fx.plugdir, "-s", fx.sock, "-l", "debug", NULL};
	struct test_proc *p = test_proc_start("orbitd", argv, NULL);
	ck_assert_ptr_nonnull(p);
	free(bin);
	free(conf);
	return p;
}
