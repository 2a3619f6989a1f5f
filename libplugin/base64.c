/* base64.c — see base64.h. Decoding is strict because Python's
 * b64decode(validate=True) is what the envelope's other readers use: a
 * stray character is an error, not something to skip. */
#include "base64.h"

#include <errno.h>
#include <stdbool.h>

static const char B64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t base64_encode(char *dst, const uint8_t *src, size_t n)
{
	char *d = dst;
	size_t i = 0;

	for (; n - i >= 3; i += 3) {
		uint32_t v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8 | src[i + 2];

		*d++ = B64[v >> 18];
		*d++ = B64[(v >> 12) & 0x3f];
		*d++ = B64[(v >> 6) & 0x3f];
		*d++ = B64[v & 0x3f];
	}
	if (n - i) {
		uint32_t v = (uint32_t)src[i] << 16;

		if (n - i == 2)
			v |= (uint32_t)src[i + 1] << 8;
		*d++ = B64[v >> 18];
		*d++ = B64[(v >> 12) & 0x3f];
		*d++ = n - i == 2 ? B64[(v >> 6) & 0x3f] : '=';
		*d++ = '=';
	}
	return (size_t)(d - dst);
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int base64_decode(const char *s, size_t n, uint8_t *out, size_t *out_len)
{
	size_t o = 0;

	if (n % 4)
		return -EBADMSG;
	for (size_t i = 0; i < n; i += 4) {
		bool last = i + 4 == n;
		int v[4];
		int pad = 0;

		for (int k = 0; k < 4; k++) {
			v[k] = b64_value(s[i + k]);
			if (v[k] >= 0 && !pad)
				continue;
			/* '=' only ends the last quantum, at most twice. */
			if (s[i + k] != '=' || !last || k < 2)
				return -EBADMSG;
			pad++;
			v[k] = 0;
		}
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
			     (uint32_t)v[2] << 6 | (uint32_t)v[3];

		out[o++] = (uint8_t)(w >> 16);
		if (pad < 2)
			out[o++] = (uint8_t)(w >> 8);
		if (pad < 1)
			out[o++] = (uint8_t)w;
	}
	*out_len = o;
	return 0;
}
