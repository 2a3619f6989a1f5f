/* avro_varint.c — see avro_varint.h. */
#include "avro_varint.h"

#include <errno.h>

int avro_varint_long(const uint8_t **p, const uint8_t *end, int64_t *out)
{
	uint64_t v = 0;
	for (int i = 0; i < 10; i++) {
		if (*p == end)
			return -EBADMSG;
		uint8_t b = *(*p)++;
		/* The 10th byte holds bit 63 only; more would overflow. */
		if (i == 9 && b > 1)
			return -EBADMSG;
		v |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*out = (int64_t)((v >> 1) ^ (0 - (v & 1)));
			return 0;
		}
	}
	return -EBADMSG;
}

int avro_varint_body(const uint8_t **p, const uint8_t *end, const uint8_t **body, size_t *len)
{
	int64_t n;
	int rc = avro_varint_long(p, end, &n);
	if (rc)
		return rc;
	if (n < 0 || (uint64_t)n > (size_t)(end - *p))
		return -EBADMSG;
	*body = *p;
	*len = (size_t)n;
	*p += n;
	return 0;
}

size_t avro_varint_put(uint8_t out[AVRO_VARINT_MAX], int64_t v)
{
	uint64_t n = ((uint64_t)v << 1) ^ (v < 0 ? UINT64_MAX : 0);
	size_t i = 0;

	while (n & ~(uint64_t)0x7f) {
		out[i++] = (uint8_t)((n & 0x7f) | 0x80);
		n >>= 7;
	}
	out[i++] = (uint8_t)n;
	return i;
}
