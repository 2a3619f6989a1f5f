/* avro_json.c — payloads ⇄ JSON text, converted by the connection's schema
 * (orbit/payload_json.h; DESIGN §3). Owned by the codec team.
 *
 * Neither direction goes through libavro's generic values: libavro's reader
 * trusts length prefixes and block counts (ten random bytes can ask it for
 * gigabytes or for an endless array of nulls), and its values know nothing
 * of field defaults. Reading is avro_walk.c's bounded walk (the protocol
 * decoder's too), writing JSON text from its events; writing Avro walks the
 * parsed schema (avro_schema_t) by hand.
 * The bytes written are the ones libavro and fastavro write: zigzag varints,
 * little-endian floats, every array and map as a single block.
 */
#include "avro_varint.h"
#include "avro_walk.h"
#include "orbit/payload_json.h"
#include "orbit/builtin.h"
#include "text_internal.h"

#include <avro.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Nesting refused beyond this when writing Avro, as when reading it. */
#define DEPTH_MAX AVRO_WALK_DEPTH_MAX

/* Distinct schemas kept parsed; a process converts with a handful. */
#define CACHE_SLOTS 16

/* Longest "a.b[3]" location quoted in a reason. */
#define PATH_LEN 160

/* Values quoted in reasons only when shorter than this. */
#define QUOTE_MAX 40

/* Reasons for the caller: *why replaced by a malloc'd message, if asked. */
static int say(char **why, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int say(char **why, int rc, const char *fmt, ...)
{
	va_list ap;

	if (!why)
		return rc;
	free(*why);
	va_start(ap, fmt);
	if (vasprintf(why, fmt, ap) < 0)
		*why = NULL;
	va_end(ap);
	return rc;
}

/* --- JSON text out, as Python's json.dumps writes it ---------------------- */

static void put_int(orbit_buf *b, int64_t v)
{
	char tmp[24];

	orbit_buf_append(b, tmp, (size_t)snprintf(tmp, sizeof(tmp), "%" PRId64, v));
}

/* Text already known to be UTF-8 (validated, or jansson's), so the escaper
 * can only fail for memory, which the buffer remembers. */
static void put_json_string(orbit_buf *b, const void *s, size_t n)
{
	orbit_json_append_string(b, s, n);
}

/* JSON has no NaN or infinity: null, where json.dumps would write a
 * non-standard token. */
static void put_double(orbit_buf *b, double x)
{
	if (!isfinite(x))
		orbit_buf_append_str(b, "null");
	else
		orbit_json_append_double(b, x);
}

/* float32's own shortest digits, so 0.1f shows as 0.1 rather than the
 * double 0.10000000149011612. */
static void put_float(orbit_buf *b, float f)
{
	char num[ORBIT_DOUBLE_REPR_MAX];

	if (!isfinite(f))
		orbit_buf_append_str(b, "null");
	else
		orbit_buf_append(b, num, text_float_repr(num, f));
}

/* A parsed JSON value back to compact text (the "json" payload format). */
static void put_json(orbit_buf *b, json_t *j)
{
	const char *key;
	json_t *v;
	size_t i = 0;

	switch (json_typeof(j)) {
	case JSON_OBJECT:
		orbit_buf_append_char(b, '{');
		json_object_foreach(j, key, v) {
			if (i++)
				orbit_buf_append_char(b, ',');
			put_json_string(b, key, strlen(key));
			orbit_buf_append_char(b, ':');
			put_json(b, v);
		}
		orbit_buf_append_char(b, '}');
		break;
	case JSON_ARRAY:
		orbit_buf_append_char(b, '[');
		json_array_foreach(j, i, v) {
			if (i)
				orbit_buf_append_char(b, ',');
			put_json(b, v);
		}
		orbit_buf_append_char(b, ']');
		break;
	case JSON_STRING:
		put_json_string(b, json_string_value(j), json_string_length(j));
		break;
	case JSON_INTEGER:
		put_int(b, json_integer_value(j));
		break;
	case JSON_REAL:
		put_double(b, json_real_value(j));
		break;
	case JSON_TRUE:
		orbit_buf_append_str(b, "true");
		break;
	case JSON_FALSE:
		orbit_buf_append_str(b, "false");
		break;
	default:
		orbit_buf_append_str(b, "null");
		break;
	}
}

static int parse_json(const char *text, json_t **out, char **why)
{
	json_error_t err;

	/* Duplicate keys would silently drop a value the user typed. */
	*out = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &err);
	if (*out)
		return 0;
	if (json_error_code(&err) == json_error_out_of_memory)
		return -ENOMEM;
	return say(why, -EINVAL, "not valid JSON: %s (line %d, column %d)", err.text, err.line,
		   err.column);
}

static const char *json_kind(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

/* --- parsed schemas, cached ------------------------------------------------ */

/* libavro drops "default"; the JSON of each record's fields is kept beside
 * the parsed schema to find them. */
struct rec_def {
	avro_schema_t rec;
	json_t *fields;
};

struct schema {
	char *text;
	size_t len;
	avro_schema_t avro;
	json_t *json;
	struct rec_def *recs;
	size_t n_recs;
	unsigned refs;       /* users, under cache_lock */
	unsigned long used;  /* LRU clock, under cache_lock */
	bool cached;         /* in cache[], under cache_lock */
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct schema *cache[CACHE_SLOTS];
static unsigned long cache_clock;

static void schema_free(struct schema *s)
{
	if (!s)
		return;
	if (s->avro)
		avro_schema_decref(s->avro);
	json_decref(s->json);
	free(s->recs);
	free(s->text);
	free(s);
}

/* libavro builds its tree from the same JSON in the same order, so the two
 * are walked side by side; named references are defined elsewhere. */
static int collect_records(struct schema *s, avro_schema_t sc, json_t *j)
{
	int rc = 0;

	switch (avro_typeof(sc)) {
	case AVRO_RECORD: {
		json_t *fields = json_object_get(j, "fields");
		struct rec_def *r = realloc(s->recs, (s->n_recs + 1) * sizeof(*r));

		if (!r)
			return -ENOMEM;
		s->recs = r;
		s->recs[s->n_recs++] = (struct rec_def){ sc, fields };
		for (size_t i = 0; !rc && i < avro_schema_record_size(sc); i++)
			rc = collect_records(s, avro_schema_record_field_get_by_index(sc, (int)i),
					     json_object_get(json_array_get(fields, i), "type"));
		return rc;
	}
	case AVRO_ARRAY:
		return collect_records(s, avro_schema_array_items(sc), json_object_get(j, "items"));
	case AVRO_MAP:
		return collect_records(s, avro_schema_map_values(sc), json_object_get(j, "values"));
	case AVRO_UNION:
		for (size_t i = 0; !rc && i < avro_schema_union_size(sc); i++)
			rc = collect_records(s, avro_schema_union_branch(sc, (int)i),
					     json_array_get(j, i));
		return rc;
	default:
		return 0;
	}
}

/* A record's fields, each name once: libavro takes a repeated one, and
 * the JSON written for it would repeat an object key (which we, and JSON
 * readers that reject duplicates, cannot read back). Python's avro refuses
 * it too. -EEXIST with *dup (malloc'd) saying which. */
static int find_repeated_field(const json_t *fields, const char *record, char **dup)
{
	json_t *names = json_object(), *v;
	size_t i;
	int rc = names ? 0 : -ENOMEM;

	json_array_foreach(fields, i, v) {
		const char *name = json_string_value(json_object_get(v, "name"));

		if (rc || !name)
			continue;
		if (json_object_get(names, name))
			rc = asprintf(dup, "field '%s' of '%s' is defined twice", name, record) < 0
				     ? -ENOMEM
				     : -EEXIST;
		else if (json_object_set_new(names, name, json_null()))
			rc = -ENOMEM;
	}
	json_decref(names);
	return rc;
}

/* The named types (record, error, enum, fixed) defined in j, by full name
 * (Avro spec: a dotted name is full, otherwise the type's or the enclosing
 * namespace applies) into the set seen; -EEXIST with *dup (malloc'd) saying
 * which is defined twice, a type or a record's field. libavro 1.11 refuses
 * a type defined twice but leaks the second definition, and schemas come
 * from peers (Offers): such schemas are refused here, before libavro sees
 * them. */
static int find_redefinition(const json_t *j, const char *ns, json_t *seen, char **dup)
{
	const char *type, *name, *own;
	char *full = NULL, *dot;
	size_t i;
	json_t *v;
	int rc = 0;

	if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			if ((rc = find_redefinition(v, ns, seen, dup)))
				return rc;
		return 0;
	}
	if (!json_is_object(j))
		return 0;
	type = json_string_value(json_object_get(j, "type"));
	name = json_string_value(json_object_get(j, "name"));
	if (!type)
		return find_redefinition(json_object_get(j, "type"), ns, seen, dup);
	if (!strcmp(type, "array"))
		return find_redefinition(json_object_get(j, "items"), ns, seen, dup);
	if (!strcmp(type, "map"))
		return find_redefinition(json_object_get(j, "values"), ns, seen, dup);
	if (!name || (strcmp(type, "record") && strcmp(type, "error") && strcmp(type, "enum") &&
		      strcmp(type, "fixed")))
		return 0;
	own = json_string_value(json_object_get(j, "namespace"));
	if (!own)
		own = ns;
	if (strchr(name, '.') || !own || !*own)
		full = strdup(name);
	else if (asprintf(&full, "%s.%s", own, name) < 0)
		full = NULL;
	if (!full)
		return -ENOMEM;
	if (json_object_get(seen, full)) {
		rc = asprintf(dup, "'%s' is defined twice", full) < 0 ? -ENOMEM : -EEXIST;
		free(full);
		return rc;
	}
	if (json_object_set_new(seen, full, json_null()) ||
	    (rc = find_repeated_field(json_object_get(j, "fields"), full, dup))) {
		free(full);
		return rc ? rc : -ENOMEM;
	}
	/* The fields' types are in the record's namespace: its full name's. */
	dot = strrchr(full, '.');
	if (dot)
		*dot = 0;
	json_array_foreach(json_object_get(j, "fields"), i, v)
		if ((rc = find_redefinition(json_object_get(v, "type"), dot ? full : NULL, seen, dup)))
			break;
	free(full);
	return rc;
}

static int schema_new(const char *text, size_t len, struct schema **out, char **why)
{
	struct schema *s = calloc(1, sizeof(*s));
	json_t *seen = NULL;
	json_error_t err;
	char *dup = NULL;
	int rc;

	if (!s || !(s->text = malloc(len + 1))) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(s->text, text, len + 1);
	s->len = len;
	/* Not JSON: libavro below says so. */
	s->json = json_loadb(text, len, JSON_DECODE_ANY, &err);
	if (s->json) {
		if (!(seen = json_object())) {
			rc = -ENOMEM;
			goto out;
		}
		rc = find_redefinition(s->json, NULL, seen, &dup);
		if (rc == -EEXIST)
			rc = say(why, -EINVAL, "not an Avro schema: %s", dup);
		if (rc)
			goto out;
	}
	if (avro_schema_from_json_length(text, len, &s->avro)) {
		s->avro = NULL;
		rc = say(why, -EINVAL, "not an Avro schema: %s", avro_strerror());
		goto out;
	}
	/* libavro parsed it, so only memory can have failed above. */
	rc = s->json ? collect_records(s, s->avro, s->json) : -ENOMEM;
out:
	json_decref(seen);
	free(dup);
	if (rc) {
		schema_free(s);
		s = NULL;
	}
	*out = s;
	return rc;
}

/* Released when the library is unloaded or the process exits, as wire.c's
 * schemas are, so leak checkers see a clean heap (libavro's interior
 * pointers otherwise show as "possibly lost"). A schema still in use by a
 * thread that outlives main is left to its last user. */
__attribute__((destructor)) static void drop_cache(void)
{
	pthread_mutex_lock(&cache_lock);
	for (size_t i = 0; i < CACHE_SLOTS; i++) {
		if (cache[i] && !cache[i]->refs)
			schema_free(cache[i]);
		else if (cache[i])
			cache[i]->cached = false;
		cache[i] = NULL;
	}
	pthread_mutex_unlock(&cache_lock);
}

static struct schema *cache_find(const char *text, size_t len)
{
	for (size_t i = 0; i < CACHE_SLOTS; i++)
		if (cache[i] && cache[i]->len == len && memcmp(cache[i]->text, text, len) == 0)
			return cache[i];
	return NULL;
}

/* The parsed form of a schema text, shared: release with schema_put().
 * Returns 0, -EINVAL (why says why) or -ENOMEM. */
static int schema_get(const char *text, struct schema **out, char **why)
{
	size_t len, slot = 0;
	struct schema *s, *other, *drop = NULL;
	int rc;

	if (!text)
		return say(why, -EINVAL, "no schema");
	len = strlen(text);
	pthread_mutex_lock(&cache_lock);
	s = cache_find(text, len);
	if (s) {
		s->refs++;
		s->used = ++cache_clock;
	}
	pthread_mutex_unlock(&cache_lock);
	if (s)
		goto out;

	/* Parse outside the lock; another thread may have beaten us to it. */
	rc = schema_new(text, len, &s, why);
	if (rc)
		return rc;
	s->refs = 1;
	pthread_mutex_lock(&cache_lock);
	other = cache_find(text, len);
	if (other) {
		other->refs++;
		drop = s;
		s = other;
	} else {
		for (size_t i = 0; i < CACHE_SLOTS; i++) {
			if (!cache[i]) {
				slot = i;
				break;
			}
			if (cache[i]->used < cache[slot]->used)
				slot = i;
		}
		/* An evicted schema still in use is freed by its last user. */
		if (cache[slot]) {
			cache[slot]->cached = false;
			if (!cache[slot]->refs)
				drop = cache[slot];
		}
		cache[slot] = s;
		s->cached = true;
	}
	s->used = ++cache_clock;
	pthread_mutex_unlock(&cache_lock);
	schema_free(drop);
out:
	*out = s;
	return 0;
}

static void schema_put(struct schema *s)
{
	bool last;

	if (!s)
		return;
	pthread_mutex_lock(&cache_lock);
	last = --s->refs == 0 && !s->cached;
	pthread_mutex_unlock(&cache_lock);
	if (last)
		schema_free(s);
}

static json_t *field_default(const struct schema *s, avro_schema_t rec, size_t idx)
{
	const char *name = avro_schema_record_field_name(rec, (int)idx);

	for (size_t i = 0; i < s->n_recs; i++) {
		json_t *f;
		size_t k;

		if (s->recs[i].rec != rec)
			continue;
		json_array_foreach(s->recs[i].fields, k, f) {
			const char *fname = json_string_value(json_object_get(f, "name"));

			if (fname && strcmp(fname, name) == 0)
				return json_object_get(f, "default");
		}
	}
	return NULL;
}

/* Named types by their name; anything else by the root's "name" key, which
 * dataclasses-avroschema puts on arrays too. */
static const char *root_name(const struct schema *s)
{
	switch (avro_typeof(s->avro)) {
	case AVRO_RECORD:
	case AVRO_ENUM:
	case AVRO_FIXED:
		return avro_schema_name(s->avro);
	default:
		return json_string_value(json_object_get(s->json, "name"));
	}
}

static const char *type_name(avro_schema_t sc)
{
	switch (avro_typeof(sc)) {
	case AVRO_STRING:
		return "string";
	case AVRO_BYTES:
		return "bytes";
	case AVRO_INT32:
		return "int";
	case AVRO_INT64:
		return "long";
	case AVRO_FLOAT:
		return "float";
	case AVRO_DOUBLE:
		return "double";
	case AVRO_BOOLEAN:
		return "boolean";
	case AVRO_NULL:
		return "null";
	case AVRO_ARRAY:
		return "array";
	case AVRO_MAP:
		return "map";
	case AVRO_UNION:
		return "union";
	case AVRO_RECORD:
	case AVRO_ENUM:
	case AVRO_FIXED:
		return avro_schema_name(sc);
	case AVRO_LINK:
		return type_name(avro_schema_link_target(sc));
	default:
		return "?";
	}
}

/* --- Avro binary → JSON text: the events of avro_walk ---------------------- */

static int oom(const orbit_buf *b)
{
	return b->oom ? -ENOMEM : 0;
}

static int j_null(void *ctx)
{
	return orbit_buf_append_str(ctx, "null");
}

static int j_boolean(void *ctx, bool v)
{
	return orbit_buf_append_str(ctx, v ? "true" : "false");
}

static int j_integer(void *ctx, int64_t v)
{
	put_int(ctx, v);
	return oom(ctx);
}

static int j_real(void *ctx, double v, bool single)
{
	if (single)
		put_float(ctx, (float)v);
	else
		put_double(ctx, v);
	return oom(ctx);
}

static int j_text(void *ctx, const uint8_t *s, size_t n, bool bytes)
{
	if (bytes)
		return text_json_append_bytes(ctx, s, n);
	put_json_string(ctx, s, n);
	return oom(ctx);
}

static int j_symbol(void *ctx, const char *sym)
{
	put_json_string(ctx, sym, strlen(sym));
	return oom(ctx);
}

static int j_open(void *ctx, avro_type_t kind)
{
	return orbit_buf_append_char(ctx, kind == AVRO_ARRAY ? '[' : '{');
}

static int j_member(void *ctx, size_t i, const char *name, const uint8_t *key, size_t klen)
{
	orbit_buf *b = ctx;

	if (i)
		orbit_buf_append_str(b, ", ");
	if (name || key) {
		put_json_string(b, name ? (const void *)name : key, name ? strlen(name) : klen);
		orbit_buf_append_str(b, ": ");
	}
	/* Checked per member, so a huge value stops early when memory is out. */
	return oom(b);
}

static int j_close(void *ctx, avro_type_t kind)
{
	return orbit_buf_append_char(ctx, kind == AVRO_ARRAY ? ']' : '}');
}

static const struct avro_walk_ops TO_JSON = {
	.null = j_null, .boolean = j_boolean, .integer = j_integer, .real = j_real,
	.text = j_text, .symbol = j_symbol, .open = j_open, .member = j_member,
	.close = j_close,
};

static int decode(const struct schema *s, const uint8_t *data, size_t len, char **json)
{
	static const uint8_t none[1];
	orbit_buf out = ORBIT_BUF_INIT;
	struct avro_walk w = { .p = data ? data : none, .ops = &TO_JSON, .ctx = &out };
	int rc;

	w.end = w.p + len;
	rc = avro_walk(&w, s->avro);
	if (!rc && w.p != w.end)
		rc = -EBADMSG;
	if (rc) {
		orbit_buf_release(&out);
		return rc;
	}
	return orbit_buf_finish(&out, json, NULL);
}

/* --- JSON → Avro binary ---------------------------------------------------- */

struct enc {
	orbit_buf *out;
	const struct schema *s;
	char *why;
	int depth;
	size_t path_len;
	char path[PATH_LEN];
};

static void put_long(orbit_buf *b, int64_t v)
{
	uint8_t tmp[AVRO_VARINT_MAX];

	orbit_buf_append(b, tmp, avro_varint_put(tmp, v));
}

static void put_le(orbit_buf *b, uint64_t bits, size_t n)
{
	uint8_t tmp[8];

	for (size_t i = 0; i < n; i++, bits >>= 8)
		tmp[i] = (uint8_t)bits;
	orbit_buf_append(b, tmp, n);
}

/* Cut on a character boundary: reasons travel inside JSON strings. */
static void path_append(struct enc *e, const char *s)
{
	size_t room = sizeof(e->path) - 1 - e->path_len, n = strlen(s);

	if (n > room)
		n = orbit_utf8_trim(s, room);
	memcpy(e->path + e->path_len, s, n);
	e->path_len += n;
	e->path[e->path_len] = '\0';
}

/* Extend the location by pre+name+post; returns the length to pop back to. */
static size_t push(struct enc *e, const char *pre, const char *name, const char *post)
{
	size_t old = e->path_len;

	path_append(e, pre);
	path_append(e, name);
	path_append(e, post);
	return old;
}

static void pop(struct enc *e, size_t old)
{
	e->path_len = old;
	e->path[old] = '\0';
}

static int fail(struct enc *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct enc *e, const char *fmt, ...)
{
	char *msg;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	free(e->why);
	e->why = msg;
	if (!e->path_len)
		return -EINVAL;
	n = asprintf(&e->why, "%s: %s", e->path, msg);
	free(msg);
	if (n < 0) {
		e->why = NULL;
		return -ENOMEM;
	}
	return -EINVAL;
}

static int expected(struct enc *e, const char *what, const json_t *j)
{
	return fail(e, "expected %s, got %s", what, json_kind(j));
}

static int enc_value(struct enc *e, avro_schema_t sc, json_t *j, bool dflt);

static int enc_int(struct enc *e, bool is_int, const json_t *j)
{
	json_int_t v;

	if (!json_is_integer(j))
		return expected(e, "an integer", j);
	v = json_integer_value(j);
	if (is_int && (v < INT32_MIN || v > INT32_MAX))
		return fail(e, "integer %" JSON_INTEGER_FORMAT " out of int range "
			    "(-2147483648..2147483647)", v);
	put_long(e->out, v);
	return 0;
}

static int enc_real(struct enc *e, bool is_float, const json_t *j)
{
	double x;

	if (!json_is_number(j))
		return expected(e, "a number", j);
	x = json_number_value(j);
	if (is_float) {
		float f = (float)x;
		uint32_t bits;

		if (isinf(f) && !isinf(x))
			return fail(e, "number %g out of float range", x);
		memcpy(&bits, &f, sizeof(bits));
		put_le(e->out, bits, 4);
	} else {
		uint64_t bits;

		memcpy(&bits, &x, sizeof(bits));
		put_le(e->out, bits, 8);
	}
	return 0;
}

/* bytes and fixed: a string of code points U+0000..U+00FF, one per byte. */
static int enc_bytes(struct enc *e, avro_schema_t sc, const json_t *j)
{
	const uint8_t *s;
	size_t n, count = 0;

	if (!json_is_string(j))
		return expected(e, "a string of bytes", j);
	s = (const uint8_t *)json_string_value(j);
	n = json_string_length(j);
	/* jansson's strings are UTF-8: k is 0 only if that ever changed. */
	for (size_t i = 0, k; i < n; i += k, count++) {
		uint32_t cp = 0;

		k = orbit_utf8_next(s + i, n - i, &cp);
		if (!k)
			return expected(e, "a string of bytes", j);
		if (cp > 0xff)
			return fail(e, "character U+%04" PRIX32 " is not a byte (bytes are written "
				    "as characters U+0000..U+00FF)", cp);
	}
	if (avro_typeof(sc) == AVRO_FIXED) {
		int64_t size = avro_schema_fixed_size(sc);

		if (size < 0 || (uint64_t)size != count)
			return fail(e, "expected %" PRId64 " bytes for fixed %s, got %zu", size,
				    avro_schema_name(sc), count);
	} else {
		put_long(e->out, (int64_t)count);
	}
	for (size_t i = 0, k; i < n; i += k) {
		uint32_t cp = 0;

		k = orbit_utf8_next(s + i, n - i, &cp);
		orbit_buf_append_char(e->out, (char)cp);
	}
	return 0;
}

static int enc_enum(struct enc *e, avro_schema_t sc, const json_t *j)
{
	int n = avro_schema_enum_number_of_symbols(sc);
	const char *s = json_string_value(j);
	orbit_buf list = ORBIT_BUF_INIT;
	int rc;

	if (!json_is_string(j))
		return expected(e, "a string (a symbol)", j);
	/* A symbol never holds NUL; a string that does matches none. */
	for (int i = 0; i < n && strlen(s) == json_string_length(j); i++) {
		if (strcmp(avro_schema_enum_get(sc, i), s) == 0) {
			put_long(e->out, i);
			return 0;
		}
	}
	for (int i = 0; i < n && i < 10; i++) {
		orbit_buf_append_str(&list, i ? ", " : "");
		orbit_buf_append_str(&list, avro_schema_enum_get(sc, i));
	}
	orbit_buf_append_str(&list, n > 10 ? ", ...)" : ")");
	orbit_buf_append_char(&list, '\0');
	if (list.oom)
		rc = -ENOMEM;
	else if (json_string_length(j) < QUOTE_MAX && strlen(s) == json_string_length(j))
		rc = fail(e, "'%s' is not a symbol of enum %s (%s", s, avro_schema_name(sc), list.data);
	else
		rc = fail(e, "not a symbol of enum %s (%s", avro_schema_name(sc), list.data);
	free(list.data);
	return rc;
}

static bool has_field(avro_schema_t sc, const char *key)
{
	for (size_t i = 0; i < avro_schema_record_size(sc); i++)
		if (strcmp(avro_schema_record_field_name(sc, (int)i), key) == 0)
			return true;
	return false;
}

static int enc_record(struct enc *e, avro_schema_t sc, json_t *j)
{
	const char *key;
	json_t *v;
	int rc;

	if (!json_is_object(j))
		return fail(e, "expected an object for record %s, got %s", avro_schema_name(sc),
			    json_kind(j));
	for (size_t i = 0; i < avro_schema_record_size(sc); i++) {
		const char *name = avro_schema_record_field_name(sc, (int)i);
		bool dflt = false;
		size_t old;

		v = json_object_get(j, name);
		if (!v) {
			v = field_default(e->s, sc, i);
			if (!v)
				return fail(e, "field '%s' missing", name);
			dflt = true;
		}
		old = push(e, e->path_len ? "." : "", name, "");
		rc = enc_value(e, avro_schema_record_field_get_by_index(sc, (int)i), v, dflt);
		pop(e, old);
		if (rc == -EINVAL && dflt)
			return fail(e, "field '%s' missing and its default does not fit its type",
				    name);
		if (rc)
			return rc;
	}
	json_object_foreach(j, key, v)
		if (!has_field(sc, key))
			return fail(e, "unknown field '%s' (not in record %s)", key,
				    avro_schema_name(sc));
	return 0;
}

static int enc_array(struct enc *e, avro_schema_t items, json_t *j)
{
	size_t i;
	json_t *v;
	int rc;

	if (!json_is_array(j))
		return expected(e, "an array", j);
	if (json_array_size(j))
		put_long(e->out, (int64_t)json_array_size(j));
	json_array_foreach(j, i, v) {
		char idx[32];
		size_t old;

		snprintf(idx, sizeof(idx), "[%zu]", i);
		old = push(e, "", idx, "");
		rc = enc_value(e, items, v, false);
		pop(e, old);
		if (rc)
			return rc;
	}
	put_long(e->out, 0);
	return 0;
}

static int enc_map(struct enc *e, avro_schema_t values, json_t *j)
{
	const char *key;
	json_t *v;
	int rc;

	if (!json_is_object(j))
		return expected(e, "an object (a map)", j);
	if (json_object_size(j))
		put_long(e->out, (int64_t)json_object_size(j));
	json_object_foreach(j, key, v) {
		size_t klen = strlen(key), old;

		put_long(e->out, (int64_t)klen);
		orbit_buf_append(e->out, key, klen);
		old = push(e, "[\"", key, "\"]");
		rc = enc_value(e, values, v, false);
		pop(e, old);
		if (rc)
			return rc;
	}
	put_long(e->out, 0);
	return 0;
}

/* Could this JSON value be of that type at all? Picks the union branches
 * worth trying, and the one whose complaint is worth reporting. */
static bool kind_fits(avro_schema_t sc, const json_t *j)
{
	switch (avro_typeof(sc)) {
	case AVRO_NULL:
		return json_is_null(j);
	case AVRO_BOOLEAN:
		return json_is_boolean(j);
	case AVRO_INT32:
	case AVRO_INT64:
		return json_is_integer(j);
	case AVRO_FLOAT:
	case AVRO_DOUBLE:
		return json_is_number(j);
	case AVRO_STRING:
	case AVRO_BYTES:
	case AVRO_ENUM:
	case AVRO_FIXED:
		return json_is_string(j);
	case AVRO_RECORD:
	case AVRO_MAP:
		return json_is_object(j);
	case AVRO_ARRAY:
		return json_is_array(j);
	case AVRO_LINK:
		return kind_fits(avro_schema_link_target(sc), j);
	default:
		return true;
	}
}

/* Avro's JSON encoding tags a union value with its branch: {"int": 3}. */
static bool branch_named(avro_schema_t sc, const char *key)
{
	const char *name, *ns;
	size_t nslen;

	if (avro_typeof(sc) == AVRO_LINK)
		sc = avro_schema_link_target(sc);
	name = type_name(sc);
	if (strcmp(name, key) == 0)
		return true;
	if (avro_typeof(sc) != AVRO_RECORD && avro_typeof(sc) != AVRO_ENUM &&
	    avro_typeof(sc) != AVRO_FIXED)
		return false;
	ns = avro_schema_namespace(sc);
	nslen = ns ? strlen(ns) : 0;
	return nslen && strncmp(key, ns, nslen) == 0 && key[nslen] == '.' &&
	       strcmp(key + nslen + 1, name) == 0;
}

static int try_branch(struct enc *e, avro_schema_t sc, size_t i, json_t *j, bool dflt)
{
	size_t mark = e->out->len;
	int rc;

	put_long(e->out, (int64_t)i);
	rc = enc_value(e, avro_schema_union_branch(sc, (int)i), j, dflt);
	if (rc)
		e->out->len = mark;
	return rc;
}

static int enc_union(struct enc *e, avro_schema_t sc, json_t *j, bool dflt)
{
	size_t n = avro_schema_union_size(sc), fits = 0;
	orbit_buf list = ORBIT_BUF_INIT;
	char *reason = NULL;
	int rc;

	/* Avro: a field's default is a value of the union's first branch. */
	if (dflt && n) {
		rc = try_branch(e, sc, 0, j, true);
		if (rc != -EINVAL)
			goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (!kind_fits(avro_schema_union_branch(sc, (int)i), j))
			continue;
		rc = try_branch(e, sc, i, j, false);
		if (rc != -EINVAL)
			goto out;
		if (fits++ == 0) {
			reason = e->why;
			e->why = NULL;
		}
	}
	if (json_is_object(j) && json_object_size(j) == 1) {
		void *it = json_object_iter(j);
		const char *key = json_object_iter_key(it);

		for (size_t i = 0; i < n; i++) {
			if (branch_named(avro_schema_union_branch(sc, (int)i), key)) {
				rc = try_branch(e, sc, i, json_object_iter_value(it), false);
				goto out;
			}
		}
	}
	if (fits == 1) {
		/* Only one branch could take this kind of value: its complaint. */
		free(e->why);
		e->why = reason;
		reason = NULL;
		rc = -EINVAL;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		orbit_buf_append_str(&list, i ? ", " : "[");
		orbit_buf_append_str(&list, type_name(avro_schema_union_branch(sc, (int)i)));
	}
	orbit_buf_append_str(&list, "]");
	orbit_buf_append_char(&list, '\0');
	rc = list.oom ? -ENOMEM
		      : fail(e, "no branch of union %s accepts %s", list.data, json_kind(j));
out:
	free(list.data);
	free(reason);
	return rc;
}

static int enc_value(struct enc *e, avro_schema_t sc, json_t *j, bool dflt)
{
	int rc;

	if (e->depth >= DEPTH_MAX)
		return fail(e, "nested deeper than %d levels", DEPTH_MAX);
	e->depth++;
	switch (avro_typeof(sc)) {
	case AVRO_NULL:
		rc = json_is_null(j) ? 0 : expected(e, "null", j);
		break;
	case AVRO_BOOLEAN:
		rc = json_is_boolean(j) ? 0 : expected(e, "true or false", j);
		if (!rc)
			orbit_buf_append_char(e->out, json_is_true(j) ? 1 : 0);
		break;
	case AVRO_INT32:
	case AVRO_INT64:
		rc = enc_int(e, avro_typeof(sc) == AVRO_INT32, j);
		break;
	case AVRO_FLOAT:
	case AVRO_DOUBLE:
		rc = enc_real(e, avro_typeof(sc) == AVRO_FLOAT, j);
		break;
	case AVRO_STRING:
		rc = json_is_string(j) ? 0 : expected(e, "a string", j);
		if (!rc) {
			put_long(e->out, (int64_t)json_string_length(j));
			orbit_buf_append(e->out, json_string_value(j), json_string_length(j));
		}
		break;
	case AVRO_BYTES:
	case AVRO_FIXED:
		rc = enc_bytes(e, sc, j);
		break;
	case AVRO_ENUM:
		rc = enc_enum(e, sc, j);
		break;
	case AVRO_RECORD:
		rc = enc_record(e, sc, j);
		break;
	case AVRO_ARRAY:
		rc = enc_array(e, avro_schema_array_items(sc), j);
		break;
	case AVRO_MAP:
		rc = enc_map(e, avro_schema_map_values(sc), j);
		break;
	case AVRO_UNION:
		rc = enc_union(e, sc, j, dflt);
		break;
	case AVRO_LINK:
		rc = enc_value(e, avro_schema_link_target(sc), j, dflt);
		break;
	default:
		rc = fail(e, "unsupported Avro type");
		break;
	}
	e->depth--;
	return rc;
}

/* j as s into out (appended); on -EINVAL *why (if why) gets the reason. */
static int encode(const struct schema *s, json_t *j, orbit_buf *out, char **why)
{
	struct enc e = { .out = out, .s = s };
	int rc = enc_value(&e, s->avro, j, false);

	if (out->oom)
		rc = -ENOMEM;
	if (rc == -EINVAL && why) {
		free(*why);
		*why = e.why;
		e.why = NULL;
	}
	free(e.why);
	return rc;
}

/* --- public API ------------------------------------------------------------ */

int orbit_avro_schema_check(const char *schema_json, char **why)
{
	struct schema *s = NULL;
	int rc;

	if (why)
		*why = NULL;
	if (!schema_json)
		return say(why, -EINVAL, "no schema");
	rc = schema_get(schema_json, &s, why);
	schema_put(s);
	return rc;
}

int orbit_avro_to_json(const char *schema_json, const uint8_t *data, size_t len, char **json)
{
	struct schema *s = NULL;
	int rc;

	if (!json)
		return -EINVAL;
	*json = NULL;
	if (!schema_json || (!data && len))
		return -EINVAL;
	rc = schema_get(schema_json, &s, NULL);
	if (!rc)
		rc = decode(s, data, len, json);
	schema_put(s);
	return rc;
}

int orbit_avro_from_json(const char *schema_json, const char *json, uint8_t **data, size_t *len,
			 char **why)
{
	struct schema *s = NULL;
	orbit_buf out = ORBIT_BUF_INIT;
	json_t *j = NULL;
	int rc;

	if (why)
		*why = NULL;
	if (!data || !len)
		return -EINVAL;
	*data = NULL;
	*len = 0;
	if (!schema_json || !json) {
		rc = say(why, -EINVAL, "no schema or no JSON text");
		goto out;
	}
	rc = schema_get(schema_json, &s, why);
	if (!rc)
		rc = parse_json(json, &j, why);
	if (!rc)
		rc = encode(s, j, &out, why);
	if (!rc && out.len) {
		*data = (uint8_t *)out.data;
		*len = out.len;
		out.data = NULL;
	}
out:
	free(out.data);
	json_decref(j);
	schema_put(s);
	return rc;
}

/* Decode with spec's schemas, those named like the message first. */
static int avro_by_spec(const orbit_payload *p, const orbit_spec *spec, char **json)
{
	for (int pass = 0; spec && pass < 2; pass++) {
		for (size_t i = 0; i < spec->n_schemas; i++) {
			struct schema *s;
			const char *name;
			bool named;
			int rc = schema_get(spec->schemas[i], &s, NULL);

			if (rc == -ENOMEM)
				return rc;
			if (rc)
				continue;
			name = root_name(s);
			named = name && p->message_type && strcmp(name, p->message_type) == 0;
			rc = named == (pass == 0) ? decode(s, p->data, p->len, json) : -EBADMSG;
			schema_put(s);
			if (rc == 0 || rc == -ENOMEM)
				return rc;
		}
	}
	return -EBADMSG;
}

int orbit_payload_to_json(const orbit_payload *p, const orbit_spec *spec, char **json)
{
	orbit_buf out = ORBIT_BUF_INIT;
	orbit_value v;
	json_error_t err;
	json_t *j;
	int rc;

	if (!json)
		return -EINVAL;
	*json = NULL;
	if (!p || (!p->data && p->len))
		return -EINVAL;
	/* NONE and the built-in classes, in every format Python accepts. */
	rc = orbit_value_decode(p, &v);
	if (rc == 0) {
		*json = orbit_value_to_json(&v);
		orbit_value_clear(&v);
		return *json ? 0 : errno == ENOMEM ? -ENOMEM : -EBADMSG;
	}
	if (rc != -ENOTSUP)
		return rc;
	switch (p->format) {
	case ORBIT_FMT_JSON:
		/* Handed on as a C string: a NUL byte would cut it short. */
		if (p->len && memchr(p->data, 0, p->len))
			return -EBADMSG;
		j = json_loadb((const char *)p->data, p->len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
		if (!j)
			return json_error_code(&err) == json_error_out_of_memory ? -ENOMEM : -EBADMSG;
		json_decref(j);
		orbit_buf_append(&out, p->data, p->len);
		break;
	case ORBIT_FMT_UTF8:
		if (!orbit_utf8_valid(p->data, p->len))
			return -EBADMSG;
		put_json_string(&out, p->data, p->len);
		break;
	case ORBIT_FMT_BYTES:
		orbit_buf_append_str(&out, "{\"bytes_hex\": \"");
		for (size_t i = 0; i < p->len; i++) {
			char hex[3];

			snprintf(hex, sizeof(hex), "%02x", p->data[i]);
			orbit_buf_append(&out, hex, 2);
		}
		orbit_buf_append_str(&out, "\"}");
		break;
	case ORBIT_FMT_AVRO:
		return avro_by_spec(p, spec, json);
	default:
		return -EINVAL;
	}
	return orbit_buf_finish(&out, json, NULL);
}

/* A built-in class, encoded the way Python senders do. */
static int to_builtin(orbit_kind k, const char *json, bool many, orbit_payload *out,
		      uint8_t **buf, char **why)
{
	const char *type = orbit_kind_message_type(k);
	char *reason = NULL;
	orbit_value v;
	int rc = orbit_value_from_json(k, json, &v, &reason);

	if (rc == -EINVAL && reason) {
		rc = many ? say(why, rc, "%s: %s", type, reason)
			  : say(why, rc, "%s for %s", reason, type);
		free(reason);
		return rc;
	}
	if (rc)
		return rc == -EINVAL ? -ENOMEM : rc;
	rc = orbit_value_encode(&v, ORBIT_FMT_NONE, out, buf);
	/* int.to_bytes(4) cannot carry negatives; Python reads Avro too. */
	if (rc == -EINVAL && k == ORBIT_KIND_INT32)
		rc = orbit_value_encode(&v, ORBIT_FMT_AVRO, out, buf);
	if (rc == -EINVAL || rc == -ERANGE)
		rc = say(why, -EINVAL, "value out of range for %s", type);
	orbit_value_clear(&v);
	return rc;
}

/* Any other schema: Avro, message_type its name, kept in *buf after the bytes. */
static int to_avro(const char *schema, size_t idx, bool many, json_t *j, orbit_payload *out,
		   uint8_t **buf, char **why)
{
	struct schema *s = NULL;
	orbit_buf b = ORBIT_BUF_INIT;
	char *reason = NULL;
	const char *name = NULL;
	size_t n;
	int rc = schema_get(schema, &s, &reason);

	if (rc == -EINVAL) {
		rc = say(why, rc, "schema #%zu: %s", idx + 1, reason ? reason : "invalid");
		goto out;
	}
	if (!rc)
		rc = encode(s, j, &b, &reason);
	if (rc == -EINVAL) {
		name = root_name(s);
		if (many)
			rc = say(why, rc, "%s: %s", name ? name : "unnamed schema",
				 reason ? reason : "does not fit");
		else
			rc = say(why, rc, "%s", reason ? reason : "does not fit");
		goto out;
	}
	if (rc)
		goto out;
	n = b.len;
	name = root_name(s);
	if (name)
		orbit_buf_append(&b, name, strlen(name) + 1);
	if (b.oom) {
		rc = -ENOMEM;
		goto out;
	}
	out->data = n ? (const uint8_t *)b.data : NULL;
	out->len = n;
	out->format = ORBIT_FMT_AVRO;
	out->message_type = name ? b.data + n : NULL;
	*buf = (uint8_t *)b.data;
	b.data = NULL;
out:
	free(b.data);
	free(reason);
	schema_put(s);
	return rc;
}

static orbit_kind builtin_kind(const char *schema)
{
	/* Equality ignores "doc", so one flavour recognises both. */
	for (int k = ORBIT_KIND_STRING; k <= ORBIT_KIND_FLOAT64; k++)
		if (orbit_schema_equal(schema, orbit_kind_schema((orbit_kind)k, ORBIT_FLAVOUR_PY312)))
			return (orbit_kind)k;
	return ORBIT_KIND_NONE;
}

int orbit_payload_from_json(const char *json, const orbit_spec *spec, orbit_payload *out,
			    uint8_t **buf, const char **schema_used, char **why)
{
	orbit_buf reasons = ORBIT_BUF_INIT, text = ORBIT_BUF_INIT;
	bool many;
	json_t *j = NULL;
	int rc;

	if (why)
		*why = NULL;
	if (schema_used)
		*schema_used = NULL;
	if (!out || !buf)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	*buf = NULL;
	if (!json || !spec) {
		rc = say(why, -EINVAL, "%s", json ? "no payload spec" : "no JSON text");
		goto out;
	}
	rc = parse_json(json, &j, why);
	if (rc)
		goto out;
	if (json_is_null(j) && spec->support_empty)
		goto out;
	many = spec->n_schemas > 1;
	for (size_t i = 0; i < spec->n_schemas; i++) {
		orbit_kind k = builtin_kind(spec->schemas[i]);
		char *reason = NULL;

		rc = k != ORBIT_KIND_NONE ? to_builtin(k, json, many, out, buf, &reason)
					  : to_avro(spec->schemas[i], i, many, j, out, buf, &reason);
		if (rc == 0 && schema_used)
			*schema_used = spec->schemas[i];
		if (rc != -EINVAL) {
			free(reason);
			goto out;
		}
		orbit_buf_append_str(&reasons, i ? "; " : "");
		orbit_buf_append_str(&reasons, reason ? reason : "does not fit");
		free(reason);
	}
	if (spec->support_undefined) {
		put_json(&text, j);
		if (text.oom) {
			rc = -ENOMEM;
			goto out;
		}
		out->data = (const uint8_t *)text.data;
		out->len = text.len;
		out->format = ORBIT_FMT_JSON;
		*buf = (uint8_t *)text.data;
		text.data = NULL;
		rc = 0;
		goto out;
	}
	rc = -EINVAL;
	if (spec->n_schemas == 0)
		say(why, rc, "%s", spec->support_empty ? "expected null: the spec accepts only "
			     "empty payloads" : "the spec accepts no payload");
	else if (reasons.oom)
		say(why, rc, "does not fit the spec");
	else
		say(why, rc, "%.*s", (int)reasons.len, reasons.data);
out:
	if (rc) {
		memset(out, 0, sizeof(*out));
		free(*buf);
		*buf = NULL;
		if (schema_used)
			*schema_used = NULL;
	}
	free(reasons.data);
	free(text.data);
	json_decref(j);
	return rc;
}
