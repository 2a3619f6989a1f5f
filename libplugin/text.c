/* text.c — the project's one UTF-8 walk, growable buffer, JSON string
 * escaper and shortest-float formatter (orbit/text.h, text_internal.h).
 *
 * Python's json.dumps is the reference for every byte written here: Python
 * peers and the humans reading orbitctl, sinks and logs see the same text
 * whichever side wrote it.
 */
#include "text_internal.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- UTF-8 ------------------------------------------------------------------ */

/* The walk itself, inlined into the loops below; n > 0. */
static inline size_t utf8_seq(const uint8_t *s, size_t n, uint32_t *cp)
{
	uint32_t c = s[0], min;
	size_t len;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if ((c & 0xe0) == 0xc0)
		len = 2, c &= 0x1f, min = 0x80;
	else if ((c & 0xf0) == 0xe0)
		len = 3, c &= 0x0f, min = 0x800;
	else if ((c & 0xf8) == 0xf0)
		len = 4, c &= 0x07, min = 0x10000;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, UTF-16 surrogates and code points past Unicode are
	 * what Python's strict decoder refuses too. */
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

size_t orbit_utf8_next(const uint8_t *s, size_t n, uint32_t *cp)
{
	uint32_t c;
	size_t k;

	if (!s || !n)
		return 0;
	k = utf8_seq(s, n, &c);
	if (k && cp)
		*cp = c;
	return k;
}

bool orbit_utf8_valid(const uint8_t *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint32_t cp;
		size_t k;

		/* Protocol strings are mostly ASCII: no call for those. */
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		k = utf8_seq(s + i, n - i, &cp);
		if (!k)
			return false;
		i += k;
	}
	return true;
}

size_t orbit_utf8_count(const char *s, size_t n)
{
	const uint8_t *u = (const uint8_t *)s;
	size_t count = 0;

	for (size_t i = 0; i < n; count++) {
		uint32_t cp;
		size_t k = utf8_seq(u + i, n - i, &cp);

		if (!k)
			return SIZE_MAX;
		i += k;
	}
	return count;
}

size_t orbit_utf8_trim(const char *s, size_t len)
{
	const uint8_t *u = (const uint8_t *)s;
	size_t i = len, cont = 0, need;

	while (i > 0 && cont < 4 && (u[i - 1] & 0xc0) == 0x80) {
		i--;
		cont++;
	}
	if (i == 0)
		return len;
	/* Only a lead byte whose sequence the continuation bytes do not
	 * complete is dropped; text that was not UTF-8 is left as it was. */
	if ((u[i - 1] & 0xe0) == 0xc0)
		need = 2;
	else if ((u[i - 1] & 0xf0) == 0xe0)
		need = 3;
	else if ((u[i - 1] & 0xf8) == 0xf0)
		need = 4;
	else
		need = 1;
	return cont + 1 < need ? i - 1 : len;
}

/* --- growable buffer ------------------------------------------------------- */

/* Room for n more bytes at the end, or NULL (and oom) when there is none. */
static char *reserve(orbit_buf *b, size_t n)
{
	if (b->oom)
		return NULL;
	if (n > b->cap - b->len) {
		size_t cap = b->cap ? b->cap : 64;
		char *p;

		while (cap - b->len < n) {
			if (cap > SIZE_MAX / 2) {
				b->oom = true;
				return NULL;
			}
			cap *= 2;
		}
		p = realloc(b->data, cap);
		if (!p) {
			b->oom = true;
			return NULL;
		}
		b->data = p;
		b->cap = cap;
	}
	return b->data + b->len;
}

int orbit_buf_append(orbit_buf *b, const void *s, size_t n)
{
	char *d;

	if (!n)
		return b->oom ? -ENOMEM : 0;
	d = reserve(b, n);
	if (!d)
		return -ENOMEM;
	memcpy(d, s, n);
	b->len += n;
	return 0;
}

int orbit_buf_append_str(orbit_buf *b, const char *s)
{
	return orbit_buf_append(b, s, strlen(s));
}

int orbit_buf_finish(orbit_buf *b, char **out, size_t *len)
{
	char *d = reserve(b, 1);

	*out = NULL;
	if (!d) {
		orbit_buf_release(b);
		return -ENOMEM;
	}
	*d = '\0';
	*out = b->data;
	if (len)
		*len = b->len;
	*b = (orbit_buf)ORBIT_BUF_INIT;
	return 0;
}

void orbit_buf_release(orbit_buf *b)
{
	if (!b)
		return;
	free(b->data);
	*b = (orbit_buf)ORBIT_BUF_INIT;
}

/* --- JSON strings ------------------------------------------------------------ */

static const char HEX[] = "0123456789abcdef";

static inline bool plain(uint8_t c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

static inline void put_u16(char *d, uint32_t u)
{
	d[0] = '\\';
	d[1] = 'u';
	d[2] = HEX[(u >> 12) & 0xf];
	d[3] = HEX[(u >> 8) & 0xf];
	d[4] = HEX[(u >> 4) & 0xf];
	d[5] = HEX[u & 0xf];
}

/* json.dumps' escape of one code point that is not plain (at most 12 bytes
 * into d). Returns its length. */
static inline size_t escape_cp(char *d, uint32_t cp)
{
	char c;

	switch (cp) {
	case '"': c = '"'; break;
	case '\\': c = '\\'; break;
	case '\n': c = 'n'; break;
	case '\r': c = 'r'; break;
	case '\t': c = 't'; break;
	case '\b': c = 'b'; break;
	case '\f': c = 'f'; break;
	default: c = 0; break;
	}
	if (c) {
		d[0] = '\\';
		d[1] = c;
		return 2;
	}
	if (cp < 0x10000) {
		put_u16(d, cp);
		return 6;
	}
	/* Non-BMP: a UTF-16 surrogate pair, as Python writes it. */
	cp -= 0x10000;
	put_u16(d, 0xd800 | (cp >> 10));
	put_u16(d + 6, 0xdc00 | (cp & 0x3ff));
	return 12;
}

/* The escaper: UTF-8 text, or bytes read as code points U+0000..U+00FF.
 * Runs of plain ASCII are copied whole: ids, topics and most values are
 * nothing else. dst NULL only measures. */
static inline size_t escape(char *dst, const uint8_t *s, size_t n, bool bytes)
{
	char scratch[12];
	size_t out = 0, i = 0;

	while (i < n) {
		size_t run = i;
		uint32_t cp;

		while (run < n && plain(s[run]))
			run++;
		if (run > i) {
			if (dst)
				memcpy(dst + out, s + i, run - i);
			out += run - i;
			i = run;
			if (i == n)
				break;
		}
		if (bytes) {
			cp = s[i++];
		} else {
			size_t k = utf8_seq(s + i, n - i, &cp);

			if (!k)
				return SIZE_MAX;
			i += k;
		}
		out += escape_cp(dst ? dst + out : scratch, cp);
	}
	return out;
}

size_t text_json_escape(char *dst, const uint8_t *s, size_t n)
{
	return escape(dst, s, n, false);
}

/* Measure, make room once, write: the text is walked twice but the buffer
 * grows at most once and exactly. */
static int append_escaped(orbit_buf *b, const uint8_t *s, size_t n, bool bytes)
{
	size_t len = escape(NULL, s, n, bytes);
	char *d;

	if (len == SIZE_MAX)
		return -EINVAL;
	d = reserve(b, len + 2);
	if (!d)
		return -ENOMEM;
	d[0] = '"';
	escape(d + 1, s, n, bytes);
	d[len + 1] = '"';
	b->len += len + 2;
	return 0;
}

int orbit_json_append_string(orbit_buf *b, const char *s, size_t len)
{
	return append_escaped(b, (const uint8_t *)s, len, false);
}

int text_json_append_bytes(orbit_buf *b, const uint8_t *s, size_t n)
{
	return append_escaped(b, s, n, true);
}

/* --- floats ----------------------------------------------------------------- */

/* tmp ("-d.ddde-XX" as "%.*e" writes it) replaced by the decimal of as many
 * digits one unit in the last place above (up) or below it. */
static void neighbour(char tmp[40], bool up)
{
	bool neg = tmp[0] == '-';
	const char *s = tmp + neg;
	char d[20];
	size_t nd = 0, i;
	int exp10;

	for (; *s != 'e'; s++)
		if (*s != '.')
			d[nd++] = *s;
	exp10 = atoi(s + 1);
	i = nd;
	if (up != neg) {
		/* Larger magnitude: 9.99 carries to 1.00 a decade up. */
		while (i > 0 && d[i - 1] == '9')
			d[--i] = '0';
		if (i == 0) {
			d[0] = '1';
			exp10++;
		} else {
			d[i - 1]++;
		}
	} else {
		/* Smaller: 1.00 borrows to 9.99 a decade down (x is not 0). */
		while (i > 0 && d[i - 1] == '0')
			d[--i] = '9';
		d[i - 1]--;
		if (d[0] == '0') {
			memset(d, '9', nd);
			exp10--;
		}
	}
	snprintf(tmp, 40, "%s%c.%.*se%d", neg ? "-" : "", d[0], (int)nd - 1, d + 1, exp10);
}

/* The shortest decimal digits that read back as x (as a float32 when
 * single): into digits (no sign, no dot, no trailing zero, at least one),
 * with *exp10 the power of ten of the first digit. x is finite. Returns
 * whether it is negative. */
static bool shortest(double x, bool single, char digits[20], size_t *nd, int *exp10)
{
	/* Distinct decimals of DBL_DIG (FLT_DIG) significant digits read back
	 * as distinct normal doubles (floats), so when the nearest one of
	 * that length reads back as x, it is the shortest one padded with
	 * zeros: only the one or two lengths after it need trying, not all
	 * seventeen. Subnormals are sparser than those decimals: there every
	 * length is tried. */
	int n = fabs(x) < (single ? FLT_MIN : DBL_MIN) ? 1 : single ? FLT_DIG : DBL_DIG;
	int last = single ? 9 : 17; /* always enough to read back exactly */
	char tmp[40];
	const char *s = tmp;
	bool neg;

	for (;; n++) {
		double back;

		snprintf(tmp, sizeof(tmp), "%.*e", n - 1, x);
		if (n == last)
			break;
		back = strtod(tmp, NULL);
		if (single ? (float)back == (float)x : back == x)
			break;
		/* At a power of two the doubles below are twice as dense as
		 * those above, so what reads back as x reaches further up
		 * than down: the nearest decimal may miss while its
		 * neighbour on the other side hits (2^-24 is
		 * 5.960464477539063e-08, not ...0625). */
		neighbour(tmp, back < x);
		back = strtod(tmp, NULL);
		if (single ? (float)back == (float)x : back == x)
			break;
	}
	neg = *s == '-';
	s += neg;
	*nd = 0;
	for (; *s != 'e'; s++)
		if (*s != '.')
			digits[(*nd)++] = *s;
	*exp10 = atoi(s + 1);
	while (*nd > 1 && digits[*nd - 1] == '0')
		(*nd)--;
	return neg;
}

/* repr(float)'s layout: positional from 1e-4 to below 1e16, else d.ddde±XX. */
static size_t repr(char out[ORBIT_DOUBLE_REPR_MAX], double x, bool single)
{
	char digits[20];
	size_t nd, o = 0;
	int exp10, decpt;

	if (isnan(x))
		return (size_t)snprintf(out, ORBIT_DOUBLE_REPR_MAX, "NaN");
	if (isinf(x))
		return (size_t)snprintf(out, ORBIT_DOUBLE_REPR_MAX, "%s", x > 0 ? "Infinity"
										: "-Infinity");
	if (shortest(x, single, digits, &nd, &exp10))
		out[o++] = '-';
	decpt = exp10 + 1;
	if (decpt <= -4 || decpt > 16) {
		out[o++] = digits[0];
		if (nd > 1) {
			out[o++] = '.';
			memcpy(out + o, digits + 1, nd - 1);
			o += nd - 1;
		}
		o += (size_t)snprintf(out + o, ORBIT_DOUBLE_REPR_MAX - o, "e%c%02d",
				      exp10 < 0 ? '-' : '+', abs(exp10));
		return o;
	}
	if (decpt <= 0) {
		out[o++] = '0';
		out[o++] = '.';
		for (int z = 0; z < -decpt; z++)
			out[o++] = '0';
		memcpy(out + o, digits, nd);
		o += nd;
	} else if ((size_t)decpt < nd) {
		memcpy(out + o, digits, (size_t)decpt);
		o += (size_t)decpt;
		out[o++] = '.';
		memcpy(out + o, digits + decpt, nd - (size_t)decpt);
		o += nd - (size_t)decpt;
	} else {
		memcpy(out + o, digits, nd);
		o += nd;
		for (size_t z = nd; z < (size_t)decpt; z++)
			out[o++] = '0';
		out[o++] = '.';
		out[o++] = '0';
	}
	out[o] = '\0';
	return o;
}

size_t orbit_double_repr(char out[ORBIT_DOUBLE_REPR_MAX], double v)
{
	return repr(out, v, false);
}

size_t text_float_repr(char out[ORBIT_DOUBLE_REPR_MAX], float v)
{
	return repr(out, v, true);
}

int orbit_json_append_double(orbit_buf *b, double v)
{
	char num[ORBIT_DOUBLE_REPR_MAX];

	return orbit_buf_append(b, num, orbit_double_repr(num, v));
}
