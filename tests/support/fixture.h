/* fixture.h — the per-test world of the orbitd integration tests: a
 * temporary directory with a plugin directory, a config file and a control
 * socket path, and orbitd started on them. One fixture per test process
 * (check forks each test); fx_setup/fx_teardown are the checked fixture. */
#ifndef TEST_FIXTURE_H
#define TEST_FIXTURE_H

#include "proc.h"

struct fixture {
	char *build;   /* $ORBIT_BUILD (build/ or build-san/) */
	char *tmp;     /* the test's temporary directory */
	char *plugdir; /* tmp/plugins */
	char *sock;    /* tmp/orbitd.sock */
};

/* Owned by the fixture; valid between fx_setup and fx_teardown. */
extern struct fixture fx;

/* Create the directories; tag names the temporary directory. */
void fx_setup_tagged(const char *tag);
void fx_teardown(void);

/* malloc'd paths: a build product ("bin/orbitd"), a file in tmp. */
char *fx_bpath(const char *rel);
char *fx_tpath(const char *rel);

/* Copy a built plugin ("plugins/lowercase.so", "tests/plugins/echo.so")
 * into the plugin directory (write-then-rename, as inotify wants). */
void fx_add_plugin(const char *rel);

/* The same under another file name (write-then-rename: a new inode, as mv
 * or install(1) give). */
void fx_add_plugin_as(const char *rel, const char *file);

/* Write tmp/orbitd.yaml. */
void fx_write_conf(const char *yaml);

/* orbitd on tmp/orbitd.yaml and the plugin directory, control socket
 * fx.sock, logging at debug. */
struct test_proc *fx_start_orbitd(void);

#endif
