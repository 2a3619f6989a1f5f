/* logical.c — see logical.h. UTC throughout: Avro's timestamps are UTC
 * instants and its local timestamps have no zone to convert to. */
#include "logical.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Deeper values than this are not walked (a bound on the recursion). */
#define MAX_DEPTH 32

/* "YYYY-MM-DDTHH:MM:SS" + fraction of `digits` digits (0: none). */
static const char *stamp(int64_t units, int64_t per_s, int digits, const char *zone, char *buf,
			 size_t len)
{
	int64_t s = units / per_s, frac = units % per_s;
	if (frac < 0) {
		frac += per_s;
		s--;
	}
	time_t t = (time_t)s;
	struct tm tm;
	if ((int64_t)t != s || !gmtime_r(&t, &tm))
		return NULL;
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!n)
		return NULL;
	snprintf(buf + n, len - n, ".%0*" PRId64 "%s", digits, frac, zone);
	return buf;
}

static const char *time_of_day(int64_t units, int64_t per_s, int digits, char *buf, size_t len)
{
	if (units < 0 || units >= 86400 * per_s)
		return NULL;
	int64_t s = units / per_s;
	snprintf(buf, len, "%02d:%02d:%02d.%0*" PRId64, (int)(s / 3600), (int)(s / 60 % 60),
		 (int)(s % 60), digits, units % per_s);
	return buf;
}

/* Avro bytes in JSON: one char per byte (code points 0-255); the two's
 * complement big-endian unscaled value, up to 8 bytes, at scale. */
static const char *decimal(const char *s, int scale, char *buf, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;
	uint64_t u = 0;
	for (; *p && n < 9; n++) {
		unsigned c = *p++;
		if (c >= 0x80) { /* UTF-8 of U+0080..U+00FF */
			if ((c & 0xe0) != 0xc0 || (*p & 0xc0) != 0x80)
				return NULL;
			c = ((c & 0x1f) << 6) | (*p++ & 0x3f);
			if (c > 0xff)
				return NULL;
		}
		u = u << 8 | c;
	}
	if (!n || n > 8 || *p || scale < 0 || scale > 18)
		return NULL;
	if (n < 8 && (u >> (8 * n - 1)) & 1) /* sign-extend */
		u |= ~UINT64_C(0) << (8 * n);
	int64_t v = (int64_t)u;
	uint64_t mag = v < 0 ? -(uint64_t)v : (uint64_t)v, pow10 = 1;
	for (int i = 0; i < scale; i++)
		pow10 *= 10;
	if (!scale)
		snprintf(buf, len, "%s%" PRIu64, v < 0 ? "-" : "", mag);
	else
		snprintf(buf, len, "%s%" PRIu64 ".%0*" PRIu64, v < 0 ? "-" : "", mag / pow10,
			 scale, mag % pow10);
	return buf;
}

const char *logical_text(json_t *v, const char *logical, char *buf, size_t len)
{
	int prec, scale;
	if (json_is_string(v) && sscanf(logical, "decimal(%d,%d)", &prec, &scale) == 2)
		return decimal(json_string_value(v), scale, buf, len);
	if (!json_is_integer(v))
		return NULL;
	int64_t n = json_integer_value(v);
	if (!strcmp(logical, "timestamp-millis"))
		return stamp(n, 1000, 3, "Z", buf, len);
	if (!strcmp(logical, "timestamp-micros"))
		return stamp(n, 1000000, 6, "Z", buf, len);
	if (!strcmp(logical, "local-timestamp-millis"))
		return stamp(n, 1000, 3, "", buf, len);
	if (!strcmp(logical, "local-timestamp-micros"))
		return stamp(n, 1000000, 6, "", buf, len);
	if (!strcmp(logical, "time-millis"))
		return time_of_day(n, 1000, 3, buf, len);
	if (!strcmp(logical, "time-micros"))
		return time_of_day(n, 1000000, 6, buf, len);
	if (!strcmp(logical, "date") && stamp(n * 86400, 1, 0, "", buf, len)) {
		buf[10] = 0; /* the date part */
		return buf;
	}
	return NULL;
}

static json_t *render(json_t *v, json_t *map, const char *path, int depth)
{
	const char *logical = json_string_value(json_object_get(map, path));
	char buf[80];
	if (logical) {
		/* Decoded unions are bare; one written in Avro's own JSON
		 * encoding comes tagged: {"long": n}. */
		json_t *inner = v;
		if (json_is_object(v) && json_object_size(v) == 1)
			inner = json_object_iter_value(json_object_iter(v));
		const char *t = logical_text(inner, logical, buf, sizeof buf);
		if (t)
			return json_string(t);
	}
	if (depth >= MAX_DEPTH)
		return json_incref(v);
	size_t plen = strlen(path);
	if (json_is_object(v)) {
		json_t *o = json_object();
		const char *k;
		json_t *e;
		json_object_foreach(v, k, e) {
			char *p = malloc(plen + strlen(k) + 2);
			if (!p) {
				json_object_set(o, k, e);
				continue;
			}
			sprintf(p, "%s%s%s", path, plen ? "." : "", k);
			json_t *r = render(e, map, p, depth + 1);
			json_object_set_new(o, k, r);
			free(p);
		}
		return o;
	}
	if (json_is_array(v)) {
		json_t *a = json_array();
		char *p = malloc(plen + 3);
		size_t i;
		json_t *e;
		if (p)
			sprintf(p, "%s[]", path);
		json_array_foreach(v, i, e)
			json_array_append_new(a, p ? render(e, map, p, depth + 1) : json_incref(e));
		free(p);
		return a;
	}
	return json_incref(v);
}

json_t *logical_render(json_t *value, json_t *map)
{
	if (!json_is_object(map) || !json_object_size(map))
		return json_incref(value);
	return render(value, map, "", 0);
}
