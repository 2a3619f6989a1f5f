/* orbit/payload_json.h — payloads as JSON text for humans (sinks, scheduler,
 * control socket, plugin host): "values cross every human interface as JSON,
 * converted by the connection's schema" (DESIGN §3).
 *
 * JSON written here is what Python's json.dumps writes (", " and ": "
 * separators, ASCII only with lower-case \uXXXX escapes, repr() floats:
 * orbit/text.h). Avro values map
 * to JSON as: records → objects in field order, arrays, maps → objects,
 * enums → the symbol string, unions → the branch value itself (null as null),
 * bytes/fixed → a string with one code point (U+0000..U+00FF) per byte,
 * int/long → integers, float/double → numbers (NaN and infinities → null).
 * The reverse accepts the same shapes, plus Avro's tagged union form
 * {"type": value}; record fields missing from the JSON take the schema's
 * "default" when it has one.
 *
 * Ownership: every char * / uint8_t * returned through an out-parameter is
 * malloc'd and belongs to the caller (free()); a "*why" may stay NULL when
 * memory ran out. Inputs are borrowed for the call. All functions are
 * thread-safe (parsed schemas are cached per process under a lock).
 */
#ifndef ORBIT_PAYLOAD_JSON_H
#define ORBIT_PAYLOAD_JSON_H

#include "spec.h"
#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Avro binary (schemaless) of `schema_json` → JSON text. *json malloc'd.
 * data may be NULL when len is 0. Returns 0, -EINVAL (bad schema or
 * arguments), -EBADMSG (the bytes do not decode exactly, trailing bytes
 * included) or -ENOMEM. *json is NULL on error. */
int orbit_avro_to_json(const char *schema_json, const uint8_t *data, size_t len, char **json);

/* JSON text → schemaless Avro binary of `schema_json`. *data malloc'd (NULL
 * when *len is 0, e.g. a "null" schema). Returns 0, -EINVAL when the schema
 * is invalid or the JSON does not fit it, or -ENOMEM. On -EINVAL, *why (if
 * why is non-NULL) is a malloc'd explanation naming the place, e.g.
 * "field 'status' missing" or "inner.list[2]: integer 3000000000 out of int
 * range"; caller frees; may be NULL on ENOMEM. *data is NULL on error. */
int orbit_avro_from_json(const char *schema_json, const char *json, uint8_t **data, size_t *len,
			 char **why);

/* Check that schema_json is an Avro schema this module can convert with.
 * Returns 0, -EINVAL (*why, if why is non-NULL, is a malloc'd reason; caller
 * frees) or -ENOMEM. */
int orbit_avro_schema_check(const char *schema_json, char **why);

/* A payload as JSON text, using spec (the connection's input or output spec;
 * may be NULL) to interpret it:
 *  - ORBIT_FMT_NONE → "null";
 *  - a built-in message_type (StringMessage, Int32Message, ...) in any format
 *    → the bare value via orbit_value_decode/orbit_value_to_json ("\"hi\"", "42");
 *  - ORBIT_FMT_JSON → the payload text as-is when it is valid JSON;
 *  - ORBIT_FMT_UTF8 → a JSON string (the bytes must be valid UTF-8);
 *  - ORBIT_FMT_AVRO → decoded with the first schema of spec that decodes it
 *    exactly, trying first the schemas whose name equals message_type;
 *  - ORBIT_FMT_BYTES → {"bytes_hex": "<lowercase hex>"}.
 * *json malloc'd, caller frees; NULL on error. Returns 0, -EBADMSG (nothing
 * decodes it), -EINVAL (bad arguments) or -ENOMEM. */
int orbit_payload_to_json(const orbit_payload *p, const orbit_spec *spec, char **json);

/* JSON text → payload for spec (must not be NULL):
 *  - JSON null with spec->support_empty → an ORBIT_FMT_NONE payload;
 *  - otherwise spec's schemas are tried in order: a schema structurally equal
 *    to a built-in kind's (either Python flavour) encodes as Python senders
 *    do, via orbit_value_from_json + orbit_value_encode (StringMessage utf-8,
 *    numbers bytes; a negative Int32Message, which Python cannot write as
 *    bytes, goes as Avro, which Python also accepts), message_type the
 *    busline class name; any other schema encodes ORBIT_FMT_AVRO with
 *    message_type the schema's name (NULL for unnamed schemas);
 *  - with none fitting and spec->support_undefined → ORBIT_FMT_JSON payload
 *    of the compact JSON text, message_type NULL.
 * out->data and out->message_type point into *buf (malloc'd, caller frees)
 * or static storage; *buf is NULL for NONE (and for a zero-length unnamed
 * Avro value). *schema_used (if non-NULL) borrows the spec's schema string
 * that was used, NULL for NONE/JSON payloads.
 * Returns 0, -EINVAL (*why, if non-NULL, malloc'd: why the JSON fits none,
 * one reason per schema tried, e.g. "expected a JSON string for
 * StringMessage") or -ENOMEM. On error *out is zeroed and *buf NULL. */
int orbit_payload_from_json(const char *json, const orbit_spec *spec, orbit_payload *out,
			    uint8_t **buf, const char **schema_used, char **why);

#ifdef __cplusplus
}
#endif

#endif
