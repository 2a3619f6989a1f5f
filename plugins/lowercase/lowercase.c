/* lowercase — bundled plugin: operation "lowercase" takes a StringMessage and
 * answers with the same text, ASCII letters lower-cased (the Orbitalis
 * "text processor" example). Multibyte UTF-8 sequences pass through unchanged:
 * their bytes are all >= 0x80, so byte-wise ASCII folding can never split or
 * alter them.
 *
 * No configuration.
 *
 * Ownership: the struct lc made by init belongs to the plugin until shutdown;
 * it borrows the host handle and API table (valid until shutdown returns).
 * Each call's output text is malloc'd here and freed once api->reply has
 * copied it.
 */
#include <orbit/plugin.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct lc {
	orbit_host *h;
	const orbit_host_api *api;
};

static void skip_ws(const char **p, const char *end)
{
	while (*p < end && (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r'))
		(*p)++;
}

static int hex4(const char *p, const char *end, unsigned *out)
{
	unsigned v = 0;

	if (end - p < 4)
		return -EBADMSG;
	for (int i = 0; i < 4; i++) {
		char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -EBADMSG;
	}
	*out = v;
	return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Decode the JSON string at *p (which must start with '"') into o, which has
 * room for end - *p bytes: no escape decodes to more bytes than it takes.
 * Advances *p past the closing quote. */
static int json_string(const char **p, const char *end, char *o, size_t *olen)
{
	const char *s;
	size_t n = 0;

	if (*p >= end || **p != '"')
		return -EBADMSG;
	s = *p + 1;
	while (s < end && *s != '"') {
		unsigned char c = (unsigned char)*s++;
		unsigned cp, lo;

		if (c < 0x20)
			return -EBADMSG;
		if (c != '\\') {
			o[n++] = (char)c;
			continue;
		}
		if (s >= end)
			return -EBADMSG;
		switch (*s++) {
		case '"': o[n++] = '"'; break;
		case '\\': o[n++] = '\\'; break;
		case '/': o[n++] = '/'; break;
		case 'b': o[n++] = '\b'; break;
		case 'f': o[n++] = '\f'; break;
		case 'n': o[n++] = '\n'; break;
		case 'r': o[n++] = '\r'; break;
		case 't': o[n++] = '\t'; break;
		case 'u':
			if (hex4(s, end, &cp))
				return -EBADMSG;
			s += 4;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return -EBADMSG;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (end - s < 6 || s[0] != '\\' || s[1] != 'u' ||
				    hex4(s + 2, end, &lo) || lo < 0xdc00 || lo > 0xdfff)
					return -EBADMSG;
				s += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			n += put_utf8(o + n, cp);
			break;
		default:
			return -EBADMSG;
		}
	}
	if (s >= end)
		return -EBADMSG;
	*p = s + 1;
	*olen = n;
	return 0;
}

/* busline's JSON form is {"value": "..."}; a bare JSON string is accepted too
 * because that is what a human (orbitctl, a test) naturally sends. */
static int json_text(const char *in, size_t len, char *o, size_t *olen)
{
	const char *p = in, *end = in + len;
	int rc;

	skip_ws(&p, end);
	if (p < end && *p == '{') {
		p++;
		skip_ws(&p, end);
		/* The key goes through o too: it is overwritten by the value. */
		if ((rc = json_string(&p, end, o, olen)))
			return rc;
		if (*olen != 5 || memcmp(o, "value", 5))
			return -EBADMSG;
		skip_ws(&p, end);
		if (p >= end || *p++ != ':')
			return -EBADMSG;
		skip_ws(&p, end);
		if ((rc = json_string(&p, end, o, olen)))
			return rc;
		skip_ws(&p, end);
		if (p >= end || *p++ != '}')
			return -EBADMSG;
	} else if ((rc = json_string(&p, end, o, olen))) {
		return rc;
	}
	skip_ws(&p, end);
	return p == end ? 0 : -EBADMSG;
}

/* Schemaless Avro of record StringMessage {value: string}: the zigzag varint
 * byte count, then the bytes, and nothing after. */
static int avro_text(const uint8_t *in, size_t len, char *o, size_t *olen)
{
	uint64_t u = 0;
	size_t i = 0;
	int64_t n;

	for (int shift = 0;; shift += 7) {
		if (i >= len || shift > 63)
			return -EBADMSG;
		u |= (uint64_t)(in[i] & 0x7f) << shift;
		if (!(in[i++] & 0x80))
			break;
	}
	n = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
	if (n < 0 || (uint64_t)n != len - i)
		return -EBADMSG;
	memcpy(o, in + i, (size_t)n);
	*olen = (size_t)n;
	return 0;
}

/* Every format Python accepts for StringMessage (SPEC §1.3); "bytes" and
 * null are not among them. */
static int decode_text(const orbit_payload *in, char *o, size_t *olen)
{
	switch (in->format) {
	case ORBIT_FMT_UTF8:
		if (in->len)
			memcpy(o, in->data, in->len);
		*olen = in->len;
		return 0;
	case ORBIT_FMT_JSON:
		return json_text((const char *)in->data, in->len, o, olen);
	case ORBIT_FMT_AVRO:
		return avro_text(in->data, in->len, o, olen);
	default:
		return -EBADMSG;
	}
}

static int lowercase_handler(void *state, orbit_call *call)
{
	struct lc *lc = state;
	const orbit_payload *in = &call->input;
	orbit_payload out = { .format = ORBIT_FMT_UTF8, .message_type = "StringMessage" };
	size_t n = 0;
	char *text;
	int rc;

	/* Decoding only ever shrinks the text, so the input size bounds it;
	 * +1 keeps the pointer non-NULL for an empty string. */
	if (!(text = malloc(in->len + 1)))
		return -ENOMEM;
	if ((rc = decode_text(in, text, &n))) {
		lc->api->log(lc->h, 4, "input from %s is not a string (format %d, %zu bytes)",
			     call->core_id, (int)in->format, in->len);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (text[i] >= 'A' && text[i] <= 'Z')
			text[i] = (char)(text[i] - 'A' + 'a');
	out.data = (const uint8_t *)text;
	out.len = n;
	rc = lc->api->reply(call, &out);
out:
	free(text);
	return rc;
}

static int lowercase_init(orbit_host *h, const orbit_host_api *api, void **state)
{
	struct lc *lc = malloc(sizeof *lc);

	if (!lc)
		return -ENOMEM;
	lc->h = h;
	lc->api = api;
	*state = lc;
	return 0;
}

static void lowercase_shutdown(void *state)
{
	free(state);
}

static const orbit_plugin_op ops[] = {
	{
		.name = "lowercase",
		.input = { ORBIT_IO_STRING, NULL },
		.output = { ORBIT_IO_STRING, NULL },
		.handler = lowercase_handler,
	},
};

ORBIT_PLUGIN_DEFINE("lowercase", "1.0.0", ops, lowercase_init, NULL, NULL, lowercase_shutdown);
