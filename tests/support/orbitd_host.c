/* orbitd_host.c — see orbitd_host.h. */
#include "orbitd_host.h"
#include "strf.h"

#include "tmpdir.h"

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

char *orbitd_host_socket(const char *dir, const char *name)
{
	return strf("%s/%s/ctl.sock", dir, name);
}

struct test_proc *orbitd_host_start(const char *dir, const char *build, const char *name,
				    const char *plugins, const char *yaml)
{
	char *home = strf("%s/%s", dir, name);
	mkdir(home, 0755);
	char *pdir = strf("%s/plugins", home);
	mkdir(pdir, 0755);
	char *list = strdup(plugins ? plugins : "");
	for (char *save = NULL, *tok = strtok_r(list, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		const char *base = strrchr(tok, '/');
		char *from = strf("%s/%s", build, tok);
		char *to = strf("%s/%s", pdir, base ? base + 1 : tok);
		ck_assert_msg(test_copy_file(from, to, 0644) == 0, "cannot copy %s", from);
		free(from);
		free(to);
	}
	free(list);
	char *conf = strf("identifier: %s\n%s", name, yaml);
	ck_assert_int_eq(test_tmpdir_write(home, "orbitd.yaml", conf), 0);
	free(conf);
	char *bin = strf("%s/bin/orbitd", build);
	char *path = strf("%s/orbitd.yaml", home);
	char *sock = orbitd_host_socket(dir, name);
	char *argv[] = {bin, "-c", path, "-p", pdir, "-s", sock, NULL};
	struct test_proc *p = test_proc_start(name, argv, NULL);
	ck_assert_msg(p != NULL, "cannot start orbitd %s", name);
	free(bin);
	free(path);
	free(sock);
	free(pdir);
	free(home);
	return p;
}
