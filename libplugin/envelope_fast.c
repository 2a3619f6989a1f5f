/* envelope_fast.c — the envelope decoder's fast path: one pass over the
 * shape every busline peer writes (SPEC §1.2: six keys in this order,
 * bytes/datetime wrappers), no tree, no allocation but the two results.
 *
 * It accepts strings of printable ASCII without escapes only — ids, class and
 * format names, base64 and timestamps are exactly that — so that what it
 * reads is byte for byte what jansson would have produced. Anything else
 * (escapes, other key orders, extra keys, numbers, invalid content) is
 * declined and goes to the general decoder, which also owns every error.
 */
#include "envelope_internal.h"
#include "base64.h"
#include "isotime.h"

#include <stdlib.h>
#include <string.h>

struct cursor {
	const char *s;
	size_t n, i;
};

static void skip_ws(struct cursor *c)
{
	while (c->i < c->n && (c->s[c->i] == ' ' || c->s[c->i] == '\t' ||
			       c->s[c->i] == '\n' || c->s[c->i] == '\r'))
		c->i++;
}

/* The exact text s, right here. */
static bool exact(struct cursor *c, const char *s)
{
	size_t n = strlen(s);
	if (c->n - c->i < n || memcmp(c->s + c->i, s, n) != 0)
		return false;
	c->i += n;
	return true;
}

/* The exact token tok (after whitespace). */
static bool token(struct cursor *c, const char *tok)
{
	skip_ws(c);
	return exact(c, tok);
}

/* "key": — the key's text exactly: a blank inside the quotes makes another
 * key, which the general decoder and Python reject. */
static bool key(struct cursor *c, const char *k)
{
	return token(c, "\"") && exact(c, k) && exact(c, "\"") && token(c, ":");
}

/* A string of printable ASCII without escapes; *v and *len view its content. */
static bool plain_string(struct cursor *c, const char **v, size_t *len)
{
	if (!token(c, "\""))
		return false;
	size_t start = c->i;
	for (; c->i < c->n; c->i++) {
		unsigned char ch = (unsigned char)c->s[c->i];
		if (ch == '"') {
			*v = c->s + start;
			*len = c->i++ - start;
			return true;
		}
		if (ch < 0x20 || ch > 0x7e || ch == '\\')
			return false;
	}
	return false;
}

/* A plain string, or null (*v = NULL). */
static bool string_or_null(struct cursor *c, const char **v, size_t *len)
{
	if (token(c, "null")) {
		*v = NULL;
		*len = 0;
		return true;
	}
	return plain_string(c, v, len);
}

/* {"__type__": "<kind>", "value": "<plain string>"} */
static bool wrapper(struct cursor *c, const char *kind, const char **v, size_t *len)
{
	const char *k;
	size_t klen;
	return token(c, "{") && key(c, "__type__") && plain_string(c, &k, &klen) &&
	       klen == strlen(kind) && memcmp(k, kind, klen) == 0 && token(c, ",") &&
	       key(c, "value") && plain_string(c, v, len) && token(c, "}");
}

/* An identifier: a plain string, null or any wrapper (busline versions write
 * a datetime there); the content is not used, only skipped. */
static bool identifier(struct cursor *c)
{
	const char *v, *k;
	size_t len, klen;
	if (string_or_null(c, &v, &len))
		return true;
	return token(c, "{") && key(c, "__type__") && plain_string(c, &k, &klen) &&
	       token(c, ",") && key(c, "value") && plain_string(c, &v, &len) && token(c, "}");
}

int envelope_decode_fast(const char *json, size_t len, orbit_envelope *out)
{
	struct cursor c = {json, len, 0};
	const char *b64 = NULL, *fmt, *type, *ts;
	size_t b64_len = 0, fmt_len, type_len, ts_len;
	bool has_payload;

	memset(out, 0, sizeof(*out));
	if (!token(&c, "{") || !key(&c, "identifier") || !identifier(&c) || !token(&c, ",") ||
	    !key(&c, "publisher_identifier") || !identifier(&c) || !token(&c, ",") ||
	    !key(&c, "serialized_payload"))
		return 1;
	has_payload = !token(&c, "null");
	if (has_payload && !wrapper(&c, "bytes", &b64, &b64_len))
		return 1;
	if (!token(&c, ",") || !key(&c, "payload_format_type") ||
	    !string_or_null(&c, &fmt, &fmt_len) || !token(&c, ",") ||
	    !key(&c, "message_type") || !string_or_null(&c, &type, &type_len) ||
	    !token(&c, ",") || !key(&c, "timestamp"))
		return 1;
	if (plain_string(&c, &ts, &ts_len)) {
		/* any string will do, as in the general path */
	} else if (!wrapper(&c, "datetime", &ts, &ts_len) ||
		   !isotime_valid(ts, ts_len)) {
		return 1;
	}
	if (!token(&c, "}"))
		return 1;
	skip_ws(&c);
	if (c.i != c.n)
		return 1;
	if (!has_payload)
		return 0;

	orbit_format format = ORBIT_FMT_BYTES; /* a null format reads as bytes (§1.3) */
	if (!type)
		return 1;
	if (fmt) {
		char name[32];
		if (fmt_len >= sizeof name)
			return 1;
		memcpy(name, fmt, fmt_len);
		name[fmt_len] = 0;
		if (orbit_format_parse(name, &format))
			return 1;
	}
	out->data_owned = malloc(b64_len / 4 * 3 + 1);
	out->message_type_owned = malloc(type_len + 1);
	if (!out->data_owned || !out->message_type_owned ||
	    base64_decode(b64, b64_len, out->data_owned, &out->payload.len)) {
		/* Freed here rather than with orbit_envelope_clear, so that
		 * calls go one way: envelope.c → envelope_fast.c → leaves. */
		free(out->data_owned);
		free(out->message_type_owned);
		memset(out, 0, sizeof(*out));
		return 1;
	}
	memcpy(out->message_type_owned, type, type_len);
	out->message_type_owned[type_len] = 0;
	out->payload.data = out->data_owned;
	out->payload.format = format;
	out->payload.message_type = out->message_type_owned;
	return 0;
}
