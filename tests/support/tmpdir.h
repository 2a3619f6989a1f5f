/* tmpdir.h — test helper: temporary directories and the files in them.
 *
 * A directory from test_tmpdir_new is removed by test_tmpdir_free. A failing
 * check test leaves through _exit (no teardown), so every directory is also
 * registered with a per-process guardian (a small /bin/sh reading a socket)
 * that removes whatever is still registered once the test process is gone,
 * however it ended.
 *
 * Functions returning int return 0 or -errno; pointer returns are NULL with
 * errno set. Failures are also reported on stderr.
 */
#ifndef ORBIT_TEST_TMPDIR_H
#define ORBIT_TEST_TMPDIR_H

#include <sys/types.h>

/* Create a fresh directory "orbit-<tag>-XXXXXX" (mode 0700) under $TMPDIR,
 * or /tmp when unset. tag may be NULL and should not contain '/'. Returns
 * the malloc'd absolute-or-as-given path; release it with test_tmpdir_free. */
char *test_tmpdir_new(const char *tag);

/* Write content (NULL for empty) to dir/name, mode 0644, creating missing
 * parent directories inside dir when name has '/' in it. The file appears
 * atomically (written to dir/name.tmp, then renamed), so a watcher never
 * reads a half-written file. */
int test_tmpdir_write(const char *dir, const char *name, const char *content);

/* "dir/name", malloc'd; the caller frees. */
char *test_tmpdir_path(const char *dir, const char *name);

/* Copy the file from to the path to, with exactly the given mode (umask does
 * not apply): written to "<to>.tmp" then rename()d over to, so inotify
 * watchers see one complete file. */
int test_copy_file(const char *from, const char *to, mode_t mode);

/* Remove dir recursively (also read-only or unreadable subdirectories;
 * symlinks are removed, never followed), unregister it from the guardian and
 * free(dir). NULL-safe. */
void test_tmpdir_free(char *dir);

#endif
