/* logical.h — output values shown with their Avro logical types in tables:
 * timestamps and local timestamps (millis, micros) as ISO 8601, dates as
 * YYYY-MM-DD, times of day as HH:MM:SS.fff, decimals with their scale.
 * JSON output (--json) keeps the raw values: only tables use this.
 *
 * The daemon sends an output event's "logical" map (orbitd/avrologic.h):
 * value path -> logical type.
 *
 * Ownership: the caller owns the returned value.
 */
#ifndef ORBITCTL_LOGICAL_H
#define ORBITCTL_LOGICAL_H

#include <jansson.h>

/* A copy of value with every value at a path of map (may be NULL) that
 * has the JSON type its logical type is encoded as replaced by its text;
 * anything else as it was. */
json_t *logical_render(json_t *value, json_t *map);

/* The text of one raw value of logical type `logical`, written into buf;
 * NULL when v is not of the type that logical type is encoded as (or the
 * value is out of range). */
const char *logical_text(json_t *v, const char *logical, char *buf, size_t len);

#endif
