/* uuid.c — UUID4 from getrandom(2); falls back to a seeded PRNG only if the
 * kernel call fails, since uniqueness (not secrecy) is what topics need. */
#include "uuid.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

void orbit_uuid4(char out[ORBIT_UUID_STRLEN + 1])
{
	uint8_t b[16];
	if (getrandom(b, sizeof(b), GRND_NONBLOCK) != (ssize_t)sizeof(b)) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		unsigned seed = (unsigned)(ts.tv_nsec ^ ts.tv_sec);
		for (size_t i = 0; i < sizeof(b); i++)
			b[i] = (uint8_t)rand_r(&seed);
	}
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	snprintf(out, ORBIT_UUID_STRLEN + 1,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
		 b[12], b[13], b[14], b[15]);
}
