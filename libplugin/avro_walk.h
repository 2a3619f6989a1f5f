/* avro_walk.h — the one bounded walk of schemaless Avro bytes against a
 * parsed schema (internal to libplugin). The protocol decoder (wire.c)
 * walks every message with it before libavro reads a byte, and the JSON
 * converter (avro_json.c) writes JSON text from its events: one reader of
 * untrusted Avro, one set of limits.
 *
 * libavro's own reader trusts length prefixes and block counts (ten random
 * bytes can ask it for gigabytes, or for an endless array of nulls); this
 * walk reads nothing past the end, and bounds what the input length does
 * not:
 */
#ifndef ORBIT_AVRO_WALK_H
#define ORBIT_AVRO_WALK_H

#include <avro.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Nesting of values (records, arrays, maps, union branches, named-type
 * references): recursive schemas can nest without consuming input, and a
 * worker thread's stack is the real limit. */
#define AVRO_WALK_DEPTH_MAX 512

/* Items of one array or map, all its blocks together. */
#define AVRO_WALK_ITEMS_MAX (1u << 20)

/* Items that took no bytes (nulls, records of nulls) in the whole walk: the
 * only ones the input length does not bound. */
#define AVRO_WALK_EMPTY_MAX 65536

/* What the walk reports, in input order; NULL ops only check. Every
 * callback returns 0 or a -errno that ends the walk with it. Byte views
 * point into the input (borrowed for the call). */
struct avro_walk_ops {
	int (*null)(void *ctx);
	int (*boolean)(void *ctx, bool b);
	int (*integer)(void *ctx, int64_t v);
	/* A float32 comes widened, with single set (exactly representable). */
	int (*real)(void *ctx, double v, bool single);
	/* A string (checked UTF-8), or bytes/fixed (raw, bytes set). */
	int (*text)(void *ctx, const uint8_t *s, size_t n, bool bytes);
	int (*symbol)(void *ctx, const char *enum_symbol);
	/* A record, array or map starts (kind is AVRO_RECORD, _ARRAY or _MAP),
	 * one of its members follows (i from 0: record field `name`, array
	 * item, or map entry with key[0..klen), checked UTF-8), it ends. */
	int (*open)(void *ctx, avro_type_t kind);
	int (*member)(void *ctx, size_t i, const char *name, const uint8_t *key, size_t klen);
	int (*close)(void *ctx, avro_type_t kind);
};

/* One walk over [p, end). Set p, end, ops, ctx and text_no_nul; zero the rest. */
struct avro_walk {
	const uint8_t *p, *end;
	const struct avro_walk_ops *ops;
	void *ctx;
	bool text_no_nul;   /* strings and map keys must not hold NUL (C strings) */
	size_t map_entries; /* out: map entries seen, all maps together */
	size_t empty_items;
	int depth;
};

/* Walk one value of schema sc from w->p, advancing it (the caller checks
 * for trailing bytes). Returns 0, -EBADMSG (malformed, truncated or over a
 * limit) or a callback's error. */
int avro_walk(struct avro_walk *w, avro_schema_t sc);

#endif
