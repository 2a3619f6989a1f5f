/* test_data.c — reads the protocol artefacts the tests compare against. */
#include "test_data.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

char *read_test_data(const char *rel)
{
	const char *dir = getenv("ORBIT_TEST_DATA");
	char path[4096];
	FILE *f;
	char *buf;
	long n;

	ck_assert_msg(dir != NULL, "ORBIT_TEST_DATA is not set (run the tests through make)");
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}
