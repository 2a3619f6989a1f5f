/* utf8.h — strict UTF-8 validation (internal). */
#ifndef ORBIT_UTF8_H
#define ORBIT_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when s[0..n) is well-formed UTF-8 (NUL bytes allowed). */
bool orbit_utf8_valid(const uint8_t *s, size_t n);

#endif
