/* envelope.c — busline's JSON envelope around every MQTT payload
 * (orbit/envelope.h; SPEC §1.2). Owned by the codec team.
 *
 * The encoder is on the publish hot path, so it writes the JSON by hand into
 * one exactly-sized buffer, byte for byte what Python's json.dumps writes.
 * The decoder first tries the fast path (envelope_fast.c) for that exact
 * shape; the general path uses jansson and accepts what Python's reader
 * accepts.
 */
#include "envelope_internal.h"

#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "isotime.h"
#include "text_internal.h"
#include "uuid.h"

/* Larger envelopes are refused before parsing; no Orbitalis message or sane
 * user payload comes close. */
#define ENVELOPE_MAX (4u << 20)

/* --- encoding -------------------------------------------------------------- */

static char *put(char *d, const char *s, size_t n)
{
	memcpy(d, s, n);
	return d + n;
}

#define PUT_LIT(d, lit) put((d), (lit), sizeof(lit) - 1)

#define K_IDENTIFIER "{\"identifier\": \""
#define K_PUBLISHER "\", \"publisher_identifier\": \""
#define K_PAYLOAD "\", \"serialized_payload\": "
#define BYTES_OPEN "{\"__type__\": \"bytes\", \"value\": \""
#define BYTES_CLOSE "\"}"
#define K_FORMAT ", \"payload_format_type\": "
#define K_TYPE ", \"message_type\": "
#define K_TIMESTAMP ", \"timestamp\": {\"__type__\": \"datetime\", \"value\": \""
#define TAIL "\"}}"
#define LIT_NULL "null"
#define LIT_LEN(lit) (sizeof(lit) - 1)

int orbit_envelope_encode(const orbit_payload *p, const char *publisher_id,
			  char **out, size_t *len)
{
	char uuid[ORBIT_UUID_STRLEN + 1];
	char ts[ISOTIME_MAX];
	const char *fmt;
	size_t ts_len = 0, pub_len, type_len = 0, b64_len = 0, total;
	size_t pub_n, type_n = 0;
	char *buf, *d;
	int rc;

	if (!p || !publisher_id || !out || !len)
		return -EINVAL;
	fmt = orbit_format_name(p->format);
	if (p->format == ORBIT_FMT_NONE) {
		if (p->message_type || p->len)
			return -EINVAL;
	} else if (!fmt || !p->message_type || (p->len && !p->data)) {
		return -EINVAL;
	}
	/* Escaped as json.dumps does: measured first, written in place below. */
	pub_n = strlen(publisher_id);
	pub_len = text_json_escape(NULL, (const uint8_t *)publisher_id, pub_n);
	if (pub_len == SIZE_MAX)
		return -EINVAL;
	if (fmt) {
		type_n = strlen(p->message_type);
		type_len = text_json_escape(NULL, (const uint8_t *)p->message_type, type_n);
		if (type_len == SIZE_MAX)
			return -EINVAL;
		if (p->len > SIZE_MAX / 2)
			return -ENOMEM;
		b64_len = BASE64_LEN(p->len);
	}
	rc = isotime_now(ts, &ts_len);
	if (rc)
		return rc;
	orbit_uuid4(uuid);

	total = LIT_LEN(K_IDENTIFIER) + ORBIT_UUID_STRLEN + LIT_LEN(K_PUBLISHER) + pub_len +
		LIT_LEN(K_PAYLOAD) + LIT_LEN(K_FORMAT) + LIT_LEN(K_TYPE) +
		LIT_LEN(K_TIMESTAMP) + ts_len + LIT_LEN(TAIL);
	if (fmt)
		total += LIT_LEN(BYTES_OPEN) + b64_len + LIT_LEN(BYTES_CLOSE) +
			 strlen(fmt) + 2 + type_len + 2;
	else
		total += 3 * LIT_LEN(LIT_NULL);
	buf = malloc(total + 1);
	if (!buf)
		return -ENOMEM;

	d = PUT_LIT(buf, K_IDENTIFIER);
	d = put(d, uuid, ORBIT_UUID_STRLEN);
	d = PUT_LIT(d, K_PUBLISHER);
	d += text_json_escape(d, (const uint8_t *)publisher_id, pub_n);
	d = PUT_LIT(d, K_PAYLOAD);
	if (fmt) {
		d = PUT_LIT(d, BYTES_OPEN);
		d += base64_encode(d, p->data, p->len);
		d = PUT_LIT(d, BYTES_CLOSE);
		d = PUT_LIT(d, K_FORMAT);
		*d++ = '"';
		d = put(d, fmt, strlen(fmt));
		*d++ = '"';
		d = PUT_LIT(d, K_TYPE);
		*d++ = '"';
		d += text_json_escape(d, (const uint8_t *)p->message_type, type_n);
		*d++ = '"';
	} else {
		d = PUT_LIT(d, LIT_NULL);
		d = PUT_LIT(d, K_FORMAT);
		d = PUT_LIT(d, LIT_NULL);
		d = PUT_LIT(d, K_TYPE);
		d = PUT_LIT(d, LIT_NULL);
	}
	d = PUT_LIT(d, K_TIMESTAMP);
	d = put(d, ts, ts_len);
	d = PUT_LIT(d, TAIL);
	*d = '\0';
	*out = buf;
	*len = total;
	return 0;
}

/* --- decoding -------------------------------------------------------------- */

/* j is a JSON string exactly equal to lit (embedded NULs allowed in j). */
static bool string_is(const json_t *j, const char *lit)
{
	size_t n = strlen(lit);

	return json_is_string(j) && json_string_length(j) == n &&
	       memcmp(json_string_value(j), lit, n) == 0;
}

/* busline's object hook: {"__type__": kind, "value": "<string>"}. */
static const json_t *wrapper_value(const json_t *j, const char *kind)
{
	const json_t *v;

	if (!json_is_object(j) || !string_is(json_object_get(j, "__type__"), kind))
		return NULL;
	v = json_object_get(j, "value");
	return json_is_string(v) ? v : NULL;
}

static bool timestamp_ok(const json_t *j)
{
	const json_t *v;

	if (json_is_string(j))
		return true;
	v = wrapper_value(j, "datetime");
	return v && isotime_valid(json_string_value(v), json_string_length(v));
}

/* A C string without embedded NUL, for names compared with strcmp later. */
static const char *plain_string(const json_t *j)
{
	if (!json_is_string(j) || strlen(json_string_value(j)) != json_string_length(j))
		return NULL;
	return json_string_value(j);
}

static int decode_payload(const json_t *root, orbit_envelope *out)
{
	const json_t *b64 = wrapper_value(json_object_get(root, "serialized_payload"), "bytes");
	const json_t *fmt = json_object_get(root, "payload_format_type");
	const char *fmt_name, *type = plain_string(json_object_get(root, "message_type"));
	orbit_format format;
	size_t n;
	int rc;

	if (!b64 || !type)
		return -EBADMSG;
	if (json_is_null(fmt)) {
		/* busline's integer classes read a null format as "bytes" (§1.3);
		 * no other class accepts null with data, so nothing else changes. */
		format = ORBIT_FMT_BYTES;
	} else {
		fmt_name = plain_string(fmt);
		if (!fmt_name || orbit_format_parse(fmt_name, &format))
			return -EBADMSG;
	}
	n = json_string_length(b64);
	out->data_owned = malloc(n / 4 * 3 + 1);
	out->message_type_owned = strdup(type);
	if (!out->data_owned || !out->message_type_owned)
		return -ENOMEM;
	rc = base64_decode(json_string_value(b64), n, out->data_owned, &out->payload.len);
	if (rc)
		return rc;
	out->payload.data = out->data_owned;
	out->payload.format = format;
	out->payload.message_type = out->message_type_owned;
	return 0;
}

int envelope_decode_general(const char *json, size_t len, orbit_envelope *out)
{
	static const char *const KEYS[] = {
		"identifier", "publisher_identifier", "serialized_payload",
		"payload_format_type", "message_type", "timestamp",
	};
	json_error_t err;
	json_t *root = NULL;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (!len)
		return -EBADMSG;
	/* Python's json.loads keeps "\u0000" inside strings; so do we. */
	root = json_loadb(json, len, JSON_ALLOW_NUL, &err);
	if (!root) {
		rc = json_error_code(&err) == json_error_out_of_memory ? -ENOMEM : -EBADMSG;
		goto out;
	}
	if (!json_is_object(root)) {
		rc = -EBADMSG;
		goto out;
	}
	/* Python reads the six keys by name: a missing one is fatal there. */
	for (size_t i = 0; i < sizeof(KEYS) / sizeof(KEYS[0]); i++) {
		if (!json_object_get(root, KEYS[i])) {
			rc = -EBADMSG;
			goto out;
		}
	}
	if (!timestamp_ok(json_object_get(root, "timestamp"))) {
		rc = -EBADMSG;
		goto out;
	}
	if (!json_is_null(json_object_get(root, "serialized_payload")))
		rc = decode_payload(root, out);
out:
	json_decref(root);
	if (rc)
		orbit_envelope_clear(out);
	return rc;
}

int orbit_envelope_decode(const char *json, size_t len, orbit_envelope *out)
{
	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!json && len)
		return -EINVAL;
	if (len > ENVELOPE_MAX)
		return -E2BIG;
	if (len && envelope_decode_fast(json, len, out) == 0)
		return 0;
	return envelope_decode_general(json, len, out);
}

void orbit_envelope_clear(orbit_envelope *e)
{
	if (!e)
		return;
	free(e->data_owned);
	free(e->message_type_owned);
	memset(e, 0, sizeof(*e));
}
