/* builtin.c — busline's built-in payload classes (StringMessage, Int32/64,
 * Float32/64) in every format Python accepts, and their JSON text for humans
 * (orbit/builtin.h; SPEC §1.3). Owned by the codec team.
 *
 * The Avro forms are one-field records, so they are written by hand here
 * (bit-identical to libavro: zigzag varint longs, little-endian doubles).
 */
#include "avro_varint.h"
#include "orbit/builtin.h"
#include "orbit/text.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Int32Message: its "bytes" form is 4-byte unsigned and its Avro form a
 * long, so the values Python can exchange span both int32 and uint32. */
#define INT32_VALUE_MIN ((int64_t)INT32_MIN)
#define INT32_VALUE_MAX ((int64_t)UINT32_MAX)


static int kind_of(const char *message_type)
{
	if (!message_type)
		return -ENOTSUP;
	for (int k = ORBIT_KIND_STRING; k <= ORBIT_KIND_FLOAT64; k++)
		if (strcmp(orbit_kind_message_type((orbit_kind)k), message_type) == 0)
			return k;
	return -ENOTSUP;
}

static int set_string(orbit_value *v, const void *s, size_t n)
{
	v->str = malloc(n + 1);
	if (!v->str)
		return -ENOMEM;
	if (n)
		memcpy(v->str, s, n);
	v->str[n] = '\0';
	v->str_len = n;
	return 0;
}

/* --- raw encodings ---------------------------------------------------------- */

static uint64_t get_be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static void put_be(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = n; i-- > 0; v >>= 8)
		p[i] = (uint8_t)v;
}

static double get_le_double(const uint8_t *p)
{
	uint64_t bits = 0;
	double d;

	for (size_t i = 8; i-- > 0;)
		bits = bits << 8 | p[i];
	memcpy(&d, &bits, sizeof(d));
	return d;
}

static void put_le_double(uint8_t *p, double d)
{
	uint64_t bits;

	memcpy(&bits, &d, sizeof(bits));
	for (size_t i = 0; i < 8; i++, bits >>= 8)
		p[i] = (uint8_t)bits;
}

/* --- JSON ------------------------------------------------------------------- */

static bool float32_fits(double f)
{
	return !isinf((float)f) || isinf(f);
}

/* One JSON value as a value of kind k; -EINVAL with a reason otherwise. */
static int value_from_json(orbit_kind k, const json_t *j, orbit_value *out, const char **why)
{
	json_int_t i;

	out->kind = k;
	switch (k) {
	case ORBIT_KIND_EMPTY:
		if (json_is_null(j))
			return 0;
		*why = "expected null for a payload-less value";
		return -EINVAL;
	case ORBIT_KIND_STRING:
		if (json_is_string(j))
			return set_string(out, json_string_value(j), json_string_length(j));
		*why = "expected a JSON string";
		return -EINVAL;
	case ORBIT_KIND_INT32:
	case ORBIT_KIND_INT64:
		if (!json_is_integer(j)) {
			*why = "expected a JSON integer";
			return -EINVAL;
		}
		i = json_integer_value(j);
		if (k == ORBIT_KIND_INT32 && (i < INT32_VALUE_MIN || i > INT32_VALUE_MAX)) {
			*why = "integer out of int32 range (-2147483648..4294967295)";
			return -EINVAL;
		}
		out->i = i;
		return 0;
	case ORBIT_KIND_FLOAT32:
	case ORBIT_KIND_FLOAT64:
		if (!json_is_number(j)) {
			*why = "expected a JSON number";
			return -EINVAL;
		}
		out->f = json_number_value(j);
		if (k == ORBIT_KIND_FLOAT32 && !float32_fits(out->f)) {
			*why = "number out of float32 range";
			return -EINVAL;
		}
		return 0;
	default:
		*why = "this kind carries no value";
		return -EINVAL;
	}
}

char *orbit_value_to_json(const orbit_value *v)
{
	char num[ORBIT_DOUBLE_REPR_MAX], *s;
	orbit_buf b = ORBIT_BUF_INIT;
	int rc;

	switch (v->kind) {
	case ORBIT_KIND_EMPTY:
		return strdup("null");
	case ORBIT_KIND_STRING:
		rc = orbit_json_append_string(&b, v->str, v->str_len);
		if (!rc)
			rc = orbit_buf_finish(&b, &s, NULL);
		orbit_buf_release(&b);
		if (rc) {
			errno = -rc;
			return NULL;
		}
		return s;
	case ORBIT_KIND_INT32:
	case ORBIT_KIND_INT64:
		snprintf(num, sizeof(num), "%" PRId64, v->i);
		return strdup(num);
	case ORBIT_KIND_FLOAT32:
	case ORBIT_KIND_FLOAT64:
		orbit_double_repr(num, v->f);
		return strdup(num);
	default:
		errno = EINVAL;
		return NULL;
	}
}

int orbit_value_from_json(orbit_kind k, const char *json, orbit_value *out, char **why)
{
	const char *reason = NULL;
	json_error_t err;
	json_t *j;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!json) {
		reason = "no JSON text";
		rc = -EINVAL;
		goto out;
	}
	j = json_loads(json, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
	if (!j) {
		reason = "not valid JSON";
		rc = json_error_code(&err) == json_error_out_of_memory ? -ENOMEM : -EINVAL;
		goto out;
	}
	rc = value_from_json(k, j, out, &reason);
	json_decref(j);
out:
	if (rc)
		orbit_value_clear(out);
	/* The reasons are static; the public convention (orbit/types.h) hands
	 * out a copy the caller frees, like payload_json.h's. */
	if (why)
		*why = rc == -EINVAL && reason ? strdup(reason) : NULL;
	return rc;
}

/* --- payload decoding ------------------------------------------------------- */

static int decode_bytes(const orbit_payload *p, orbit_value *out)
{
	size_t want = out->kind == ORBIT_KIND_INT32 || out->kind == ORBIT_KIND_FLOAT32 ? 4 : 8;
	uint64_t raw;
	float f32;
	uint32_t u32;

	if (out->kind == ORBIT_KIND_STRING || p->len != want)
		return -EBADMSG;
	raw = get_be(p->data, want);
	switch (out->kind) {
	case ORBIT_KIND_INT64:
		out->i = (int64_t)raw;
		return 0;
	case ORBIT_KIND_INT32:
		out->i = (int64_t)raw; /* unsigned on the wire */
		return 0;
	case ORBIT_KIND_FLOAT32:
		u32 = (uint32_t)raw;
		memcpy(&f32, &u32, sizeof(f32));
		out->f = f32;
		return 0;
	default:
		memcpy(&out->f, &raw, sizeof(out->f));
		return 0;
	}
}

static int decode_avro(const orbit_payload *p, orbit_value *out)
{
	const uint8_t *q = p->data, *end, *body;
	size_t n;

	/* Every value here takes a byte at least (and data may be NULL). */
	if (!p->len)
		return -EBADMSG;
	end = p->data + p->len;
	switch (out->kind) {
	case ORBIT_KIND_STRING:
		if (avro_varint_body(&q, end, &body, &n) || q != end || !orbit_utf8_valid(body, n))
			return -EBADMSG;
		return set_string(out, body, n);
	case ORBIT_KIND_INT32:
	case ORBIT_KIND_INT64:
		if (avro_varint_long(&q, end, &out->i) || q != end)
			return -EBADMSG;
		if (out->kind == ORBIT_KIND_INT32 &&
		    (out->i < INT32_VALUE_MIN || out->i > INT32_VALUE_MAX))
			return -EBADMSG;
		return 0;
	default:
		if (p->len != 8)
			return -EBADMSG;
		out->f = get_le_double(p->data);
		return 0;
	}
}

/* The literal lit after JSON whitespace at *s (< end); past it on a match. */
static bool skip_past(const char **s, const char *end, const char *lit)
{
	size_t n = strlen(lit);

	while (*s < end && (**s == ' ' || **s == '\t' || **s == '\n' || **s == '\r'))
		(*s)++;
	if ((size_t)(end - *s) < n || memcmp(*s, lit, n) != 0)
		return false;
	*s += n;
	return true;
}

/* {"value": NaN}, Infinity or -Infinity: what Python's json.dumps (and
 * encode_json, after it) writes for a non-finite float, which JSON, and so
 * jansson, does not have. Python's json.loads reads it; so do we. */
static int decode_nonfinite(const orbit_payload *p, orbit_value *out)
{
	static const struct { const char *text; double f; } WORDS[] = {
		{ "NaN", NAN }, { "Infinity", INFINITY }, { "-Infinity", -INFINITY },
	};
	const char *end = (const char *)p->data + p->len;

	for (size_t i = 0; i < sizeof(WORDS) / sizeof(WORDS[0]); i++) {
		const char *s = (const char *)p->data;

		/* "" skips the trailing blanks: then nothing may follow. */
		if (skip_past(&s, end, "{") && skip_past(&s, end, "\"value\"") &&
		    skip_past(&s, end, ":") && skip_past(&s, end, WORDS[i].text) &&
		    skip_past(&s, end, "}") && skip_past(&s, end, "") && s == end) {
			out->f = WORDS[i].f;
			return 0;
		}
	}
	return -EBADMSG;
}

static int decode_json(const orbit_payload *p, orbit_value *out)
{
	const char *why;
	json_error_t err;
	json_t *root, *v;
	int rc;

	root = json_loadb((const char *)p->data, p->len, JSON_ALLOW_NUL, &err);
	if (!root && json_error_code(&err) == json_error_out_of_memory)
		return -ENOMEM;
	if (!root)
		return out->kind == ORBIT_KIND_FLOAT32 || out->kind == ORBIT_KIND_FLOAT64
			       ? decode_nonfinite(p, out)
			       : -EBADMSG;
	v = json_object_get(root, "value");
	rc = v ? value_from_json(out->kind, v, out, &why) : -EBADMSG;
	if (rc == -EINVAL)
		rc = -EBADMSG;
	json_decref(root);
	return rc;
}

int orbit_value_decode(const orbit_payload *p, orbit_value *out)
{
	int k, rc;

	memset(out, 0, sizeof(*out));
	if (p->format == ORBIT_FMT_NONE) {
		out->kind = ORBIT_KIND_EMPTY;
		return 0;
	}
	k = kind_of(p->message_type);
	if (k < 0)
		return k;
	if (!p->data && p->len)
		return -EINVAL;
	out->kind = (orbit_kind)k;
	switch (p->format) {
	case ORBIT_FMT_UTF8:
		if (k != ORBIT_KIND_STRING || !orbit_utf8_valid(p->data, p->len))
			rc = -EBADMSG;
		else
			rc = set_string(out, p->data, p->len);
		break;
	case ORBIT_FMT_BYTES:
		rc = decode_bytes(p, out);
		break;
	case ORBIT_FMT_AVRO:
		rc = decode_avro(p, out);
		break;
	case ORBIT_FMT_JSON:
		rc = decode_json(p, out);
		break;
	default:
		rc = -EBADMSG;
		break;
	}
	if (rc)
		orbit_value_clear(out);
	return rc;
}

/* --- payload encoding ------------------------------------------------------- */

static bool format_allowed(orbit_kind k, orbit_format f)
{
	switch (f) {
	case ORBIT_FMT_UTF8:
		return k == ORBIT_KIND_STRING;
	case ORBIT_FMT_BYTES:
		return k != ORBIT_KIND_STRING;
	case ORBIT_FMT_AVRO:
	case ORBIT_FMT_JSON:
		return true;
	default:
		return false;
	}
}

/* Value checks that do not depend on the buffer: -EINVAL / -ERANGE. */
static int check_value(const orbit_value *v, orbit_format f)
{
	switch (v->kind) {
	case ORBIT_KIND_STRING:
		if ((!v->str && v->str_len) ||
		    (v->str_len && !orbit_utf8_valid((const uint8_t *)v->str, v->str_len)))
			return -EINVAL;
		return 0;
	case ORBIT_KIND_INT32:
		/* Python's int.to_bytes(4, "big") is unsigned. */
		if (f == ORBIT_FMT_BYTES && v->i < 0)
			return -EINVAL;
		return v->i < INT32_VALUE_MIN || v->i > INT32_VALUE_MAX ? -ERANGE : 0;
	case ORBIT_KIND_FLOAT32:
		/* struct.pack(">f") raises OverflowError the same way. */
		return f == ORBIT_FMT_BYTES && !float32_fits(v->f) ? -ERANGE : 0;
	default:
		return 0;
	}
}

static int encode_json(const orbit_value *v, uint8_t **buf, size_t *len)
{
	static const char OPEN[] = "{\"value\": ";
	char *text = orbit_value_to_json(v);
	size_t n;

	if (!text)
		return errno == EINVAL ? -EINVAL : -ENOMEM;
	n = strlen(text);
	*len = sizeof(OPEN) - 1 + n + 1;
	*buf = malloc(*len);
	if (*buf) {
		memcpy(*buf, OPEN, sizeof(OPEN) - 1);
		memcpy(*buf + sizeof(OPEN) - 1, text, n);
		(*buf)[*len - 1] = '}';
	}
	free(text);
	return *buf ? 0 : -ENOMEM;
}

/* Everything but JSON fits in the string plus a varint. */
static int encode_raw(const orbit_value *v, orbit_format f, uint8_t **buf, size_t *len)
{
	size_t cap = (v->kind == ORBIT_KIND_STRING ? v->str_len : 0) + 16;
	uint8_t *d = malloc(cap);
	float f32;
	uint32_t u32;
	uint64_t u64;

	if (!d)
		return -ENOMEM;
	*len = 0;
	if (v->kind == ORBIT_KIND_STRING) {
		if (f == ORBIT_FMT_AVRO)
			*len = avro_varint_put(d, (int64_t)v->str_len);
		if (v->str_len)
			memcpy(d + *len, v->str, v->str_len);
		*len += v->str_len;
	} else if (f == ORBIT_FMT_AVRO) {
		if (v->kind == ORBIT_KIND_INT32 || v->kind == ORBIT_KIND_INT64) {
			*len = avro_varint_put(d, v->i);
		} else {
			put_le_double(d, v->f);
			*len = 8;
		}
	} else {
		switch (v->kind) {
		case ORBIT_KIND_INT64:
			put_be(d, (uint64_t)v->i, 8);
			*len = 8;
			break;
		case ORBIT_KIND_INT32:
			put_be(d, (uint64_t)v->i, 4);
			*len = 4;
			break;
		case ORBIT_KIND_FLOAT32:
			f32 = (float)v->f;
			memcpy(&u32, &f32, sizeof(u32));
			put_be(d, u32, 4);
			*len = 4;
			break;
		default:
			memcpy(&u64, &v->f, sizeof(u64));
			put_be(d, u64, 8);
			*len = 8;
			break;
		}
	}
	*buf = d;
	return 0;
}

int orbit_value_encode(const orbit_value *v, orbit_format fmt, orbit_payload *out,
		       uint8_t **data)
{
	const char *type;
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	if (!v || !out || !data)
		return -EINVAL;
	*data = NULL;
	memset(out, 0, sizeof(*out));
	if (v->kind == ORBIT_KIND_EMPTY)
		return fmt == ORBIT_FMT_NONE ? 0 : -EINVAL;
	type = orbit_kind_message_type(v->kind);
	if (!type)
		return -EINVAL;
	/* What Python senders use (§1.3): strings as text, numbers as bytes. */
	if (fmt == ORBIT_FMT_NONE)
		fmt = v->kind == ORBIT_KIND_STRING ? ORBIT_FMT_UTF8 : ORBIT_FMT_BYTES;
	if (!format_allowed(v->kind, fmt))
		return -EINVAL;
	rc = check_value(v, fmt);
	if (rc)
		return rc;
	rc = fmt == ORBIT_FMT_JSON ? encode_json(v, &buf, &len) : encode_raw(v, fmt, &buf, &len);
	if (rc)
		return rc;
	out->data = buf;
	out->len = len;
	out->format = fmt;
	out->message_type = type;
	*data = buf;
	return 0;
}

void orbit_value_clear(orbit_value *v)
{
	if (!v)
		return;
	free(v->str);
	memset(v, 0, sizeof(*v));
}
