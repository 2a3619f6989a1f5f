/* strf.h — test harness: a malloc'd printf, for paths, YAML and requests.
 * Aborts on allocation failure (a test cannot go on without the string). */
#ifndef ORBIT_TEST_STRF_H
#define ORBIT_TEST_STRF_H

/* The formatted string, malloc'd; the caller frees it. */
char *strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
