/* shared_files.h — test helper: read a file under $ORBIT_SHARED (the
 * protocol vectors and traces of ../shared). */
#ifndef ORBIT_TEST_SHARED_FILES_H
#define ORBIT_TEST_SHARED_FILES_H

/* Whole file rel (relative to $ORBIT_SHARED), NUL-terminated, malloc'd; the
 * caller frees. Fails the current check test if it cannot be read. */
char *read_shared(const char *rel);

#endif
