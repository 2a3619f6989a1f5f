/* avro_varint.h — bounds-checked reading of Avro's zigzag varint longs and
 * length-prefixed bodies (internal; shared by the wire pre-scan and the
 * JSON converter, which both must never trust a length they have not
 * checked against what is left). Borrows the bytes; owns nothing. */
#ifndef ORBIT_AVRO_VARINT_H
#define ORBIT_AVRO_VARINT_H

#include <stdint.h>
#include <stddef.h>

/* Read one long at *p (< end) and advance *p. 0 or -EBADMSG (truncated, or
 * more than 64 bits). */
int avro_varint_long(const uint8_t **p, const uint8_t *end, int64_t *out);

/* Read a string/bytes body: a non-negative length that fits before end,
 * then that many bytes (borrowed in *body). 0 or -EBADMSG. */
int avro_varint_body(const uint8_t **p, const uint8_t *end, const uint8_t **body, size_t *len);

#endif
