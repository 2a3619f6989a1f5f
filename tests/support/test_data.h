/* test_data.h — test helper: read a file under tests/data (the protocol
 * vectors, schemas and captured py-orbitalis traffic; tests/data/README.md
 * says where each came from). */
#ifndef ORBIT_TEST_DATA_H
#define ORBIT_TEST_DATA_H

/* Whole file rel (relative to $ORBIT_TEST_DATA, which the Makefile points at
 * tests/data), NUL-terminated, malloc'd; the caller frees. Fails the current
 * check test if it cannot be read. */
char *read_test_data(const char *rel);

#endif
