/* fuzz_check.h — what the fuzz targets share: a property check that aborts,
 * so libFuzzer saves the input as a crash, and the input size bound. */
#ifndef ORBIT_FUZZ_CHECK_H
#define ORBIT_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

/* Inputs above this are skipped (return -1 keeps them out of the corpus):
 * every decoder bounds its input far above what finds anything new, and
 * big inputs only slow each run down. */
#define FUZZ_MAX_INPUT ((size_t)1 << 16)

/* A property of the code under test, not of the input: abort on failure. */
#define FUZZ_CHECK(cond, what)                                                         \
	do {                                                                           \
		if (!(cond)) {                                                         \
			fprintf(stderr, "%s:%d: %s (%s)\n", __FILE__, __LINE__, what, #cond); \
			abort();                                                       \
		}                                                                      \
	} while (0)

#endif
