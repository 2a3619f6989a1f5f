/* base64.h — standard padded base64 (RFC 4648 §4), the form busline's
 * envelope carries bytes in (SPEC §1.2) and Python's base64.b64encode
 * writes. Internal to libplugin; a leaf: it calls nothing of ours.
 * Borrows its inputs, writes only into the caller's buffers. */
#ifndef ORBIT_BASE64_H
#define ORBIT_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Length of the base64 text of n bytes (n at most SIZE_MAX / 2). */
#define BASE64_LEN(n) (((n) + 2) / 3 * 4)

/* src[0..n) as base64 into dst (room for BASE64_LEN(n), no NUL written).
 * Returns BASE64_LEN(n). */
size_t base64_encode(char *dst, const uint8_t *src, size_t n);

/* Strict decoding of s[0..n): length a multiple of 4, standard alphabet,
 * '=' only as the last one or two characters. out has room for n / 4 * 3
 * bytes; *out_len gets what was written. Returns 0 or -EBADMSG. */
int base64_decode(const char *s, size_t n, uint8_t *out, size_t *out_len);

#endif
