/* text_internal.h — the engine-only parts of the text module (text.c; the
 * public ones are in orbit/text.h): the escaper underneath
 * orbit_json_append_string, for writers that size their output exactly
 * (the envelope encoder), Avro bytes as JSON, and float32's shortest form. */
#ifndef ORBIT_TEXT_INTERNAL_H
#define ORBIT_TEXT_INTERNAL_H

#include "orbit/text.h"

/* s[0..n) (UTF-8) escaped as json.dumps does, without the quotes, into dst,
 * or only measured when dst is NULL. Returns the length written (or that
 * would be written), or SIZE_MAX when s is not UTF-8. dst has room for the
 * measured length. */
size_t text_json_escape(char *dst, const uint8_t *s, size_t n);

/* Append s[0..n) as a JSON string of one code point per byte (U+0000..
 * U+00FF), Avro's JSON form of bytes and fixed, escaped like any other JSON
 * string here. Returns 0 or -ENOMEM. */
int text_json_append_bytes(orbit_buf *b, const uint8_t *s, size_t n);

/* The shortest digits that read back as the same float32 (0.1f gives "0.1",
 * not the double's 0.10000000149011612), laid out as orbit_double_repr
 * lays out a double. Returns the length. */
size_t text_float_repr(char out[ORBIT_DOUBLE_REPR_MAX], float v);

#endif
