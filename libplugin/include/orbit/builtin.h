/* orbit/builtin.h — busline built-in payload messages (SPEC §1.3):
 * StringMessage, Int32Message, Int64Message, Float32Message, Float64Message,
 * in every format Python accepts, and their JSON conversion for humans.
 */
#ifndef ORBIT_BUILTIN_H
#define ORBIT_BUILTIN_H

#include "spec.h"
#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A decoded built-in value. str is malloc'd and owned (free with
 * orbit_value_clear); str_len excludes the NUL. */
typedef struct orbit_value {
	orbit_kind kind; /* STRING, INT32, INT64, FLOAT32, FLOAT64 or EMPTY */
	char *str;
	size_t str_len;
	int64_t i;
	double f;
} orbit_value;

/* Decode a payload whose message_type names a built-in class, accepting every
 * format of SPEC §1.3 for it. ORBIT_FMT_NONE gives kind EMPTY.
 * Returns 0, -ENOTSUP (not a built-in class), -EBADMSG or -ENOMEM. */
int orbit_value_decode(const orbit_payload *p, orbit_value *out);

/* Encode v in the format Python senders use (string: utf-8; floats: bytes;
 * ints: bytes) — or in fmt when fmt != ORBIT_FMT_NONE. *data is malloc'd
 * (caller frees); *out views into it and into static strings.
 * Returns 0, -EINVAL (format not valid for the class, negative int32 in bytes),
 * -ERANGE or -ENOMEM. */
int orbit_value_encode(const orbit_value *v, orbit_format fmt, orbit_payload *out,
		       uint8_t **data);

/* JSON text of a decoded value ("\"hello\"", "42", "1.5", "null") exactly as
 * Python's json.dumps writes it (orbit/text.h). malloc'd, caller frees; NULL
 * with errno EINVAL (string not UTF-8, kind carries no value) or ENOMEM. */
char *orbit_value_to_json(const orbit_value *v);

/* Parse JSON text into a value of kind k (string needs a JSON string, ints a
 * JSON integer in range, floats any JSON number; EMPTY needs null).
 * Returns 0, -EINVAL (does not fit; *why explains, see orbit/types.h) or
 * -ENOMEM. */
int orbit_value_from_json(orbit_kind k, const char *json, orbit_value *out, char **why);

void orbit_value_clear(orbit_value *v);

#ifdef __cplusplus
}
#endif

#endif
