/* avrologic.h — where an Avro schema has logical types (dates, times,
 * timestamps, decimals, uuids), as a compact map from the path of a value
 * to its logical type, sent with outputs on the control socket so that
 * orbitctl's tables can show dates where the JSON value stays raw.
 *
 * Paths: "" for the value itself, "a.b" for field b of record field a,
 * "a[]" for the items of array a. A union's branches share its path.
 * decimal is "decimal(PRECISION,SCALE)".
 *
 * Ownership: the caller owns the returned map.
 */
#ifndef ORBITD_AVROLOGIC_H
#define ORBITD_AVROLOGIC_H

#include <jansson.h>

/* The logical types of schema (Avro schema JSON text): a new object, or
 * NULL when it has none (or is not readable JSON). */
json_t *avrologic_map(const char *schema);

#endif
