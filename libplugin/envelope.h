/* envelope.h (private to libplugin) — busline's JSON envelope (SPEC §1.2) used on MQTT.
 *
 * The encoder writes exactly what Python writes (six keys in order, ", " and
 * ": " separators, ASCII-only, bytes/datetime wrappers, padded base64).
 * The decoder is tolerant as §1.2 requires.
 */
#ifndef ORBIT_ENVELOPE_H
#define ORBIT_ENVELOPE_H

#include "orbit/types.h"

/* A decoded envelope; owns data and message_type (free with
 * orbit_envelope_clear). payload views into it. */
typedef struct orbit_envelope {
	orbit_payload payload;
	uint8_t *data_owned;
	char *message_type_owned;
} orbit_envelope;

/* Encode p into a malloc'd NUL-terminated JSON string (*out, *len without the
 * NUL); caller frees. publisher_id is any string (copied into the JSON).
 * Returns 0, -EINVAL (format without message_type or vice versa) or -ENOMEM. */
int orbit_envelope_encode(const orbit_payload *p, const char *publisher_id,
			  char **out, size_t *len);

/* Decode a JSON envelope of len bytes (need not be NUL-terminated).
 * Returns 0, -EBADMSG (not JSON, missing key, bad base64, bad datetime, unknown
 * format, non-null payload with null message_type), -E2BIG or -ENOMEM. */
int orbit_envelope_decode(const char *json, size_t len, orbit_envelope *out);

/* Release what the envelope owns and zero it. NULL-safe. */
void orbit_envelope_clear(orbit_envelope *e);

#endif
