/* envelope_internal.h — the envelope decoder's two paths (internal to
 * libplugin; envelope.c, envelope_fast.c and their tests).
 *
 * orbit_envelope_decode tries envelope_decode_fast, which recognises only the
 * shape Python and our encoder write, and falls back to the general decoder
 * (a jansson tree) for anything else — so the fast path may decline any input
 * but must never accept one the general path would decode differently.
 * Calls go one way: envelope.c calls envelope_fast.c, both call the leaves
 * base64.c and isotime.c, nothing calls back.
 */
#ifndef ORBIT_ENVELOPE_INTERNAL_H
#define ORBIT_ENVELOPE_INTERNAL_H

#include "envelope.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* 0 with *out filled (what envelope_decode_general would give), or 1: not
 * the canonical shape, nothing owned in *out. */
int envelope_decode_fast(const char *json, size_t len, orbit_envelope *out);

/* The general decoder (orbit_envelope_decode's contract; len within limits). */
int envelope_decode_general(const char *json, size_t len, orbit_envelope *out);

#endif
