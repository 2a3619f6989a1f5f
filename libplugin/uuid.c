/* uuid.c — UUID4s and random tokens from getrandom(2) bytes; falls back to
 * a seeded PRNG only if the kernel call fails (its entropy pool not yet
 * initialised at early boot): uniqueness then still holds, secrecy of the
 * per-connection topics does not.
 *
 * Every MQTT envelope carries a fresh UUID, so this is on the hot path: the
 * random bytes come from a per-thread pool refilled 512 bytes at a time (one
 * system call per 32 UUIDs instead of one each), and the text is written
 * with a table rather than snprintf. */
#include "uuid.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define POOL 512

static _Thread_local uint8_t pool[POOL];
static _Thread_local size_t pool_left;

/* A forked child must not hand out its parent's next UUIDs. */
static void forget_in_child(void)
{
	pool_left = 0;
}

static void register_atfork(void)
{
	pthread_atfork(NULL, NULL, forget_in_child);
}

static void refill(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, register_atfork);
	if (getrandom(pool, POOL, GRND_NONBLOCK) != POOL) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		unsigned seed = (unsigned)(ts.tv_nsec ^ ts.tv_sec);
		for (size_t i = 0; i < POOL; i++)
			pool[i] = (uint8_t)rand_r(&seed);
	}
	pool_left = POOL;
}

static void take16(uint8_t b[16])
{
	if (pool_left < 16)
		refill();
	memcpy(b, pool + POOL - pool_left, 16);
	pool_left -= 16;
}

void orbit_random_token(char out[ORBIT_TOKEN_STRLEN + 1])
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint8_t b[16];
	take16(b);
	/* 21 characters carry 126 bits, the 22nd the last 2. */
	unsigned acc = 0, bits = 0;
	char *o = out;
	for (size_t i = 0; i < sizeof b; i++) {
		acc = acc << 8 | b[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			*o++ = b64[(acc >> bits) & 63];
		}
	}
	*o++ = b64[(acc << (6 - bits)) & 63];
	*o = 0;
}

void orbit_uuid4(char out[ORBIT_UUID_STRLEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t b[16];
	take16(b);
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	char *o = out;
	for (size_t i = 0; i < sizeof b; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*o++ = '-';
		*o++ = hex[b[i] >> 4];
		*o++ = hex[b[i] & 15];
	}
	*o = 0;
}
