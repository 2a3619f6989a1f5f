/* avro_varint.h — Avro's zigzag varint longs: bounds-checked reading of
 * them and of length-prefixed bodies (internal; for avro_walk.c and the
 * built-in payloads, which must never trust a length they have not checked
 * against what is left), and writing them. Borrows the bytes; owns nothing. */
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

/* Longest encoding of a long. */
#define AVRO_VARINT_MAX 10

/* v as a zigzag varint into out (room for AVRO_VARINT_MAX). Returns the
 * bytes written, as libavro and fastavro write them. */
size_t avro_varint_put(uint8_t out[AVRO_VARINT_MAX], int64_t v);

#endif
