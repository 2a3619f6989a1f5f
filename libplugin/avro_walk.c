/* avro_walk.c — see avro_walk.h. The bytes are read as libavro and fastavro
 * write them: zigzag varints, little-endian floats, arrays and maps as
 * blocks (a negative count announces the block's byte size). */
#include "avro_walk.h"
#include "avro_varint.h"
#include "orbit/text.h"

#include <errno.h>
#include <string.h>

static size_t remaining(const struct avro_walk *w)
{
	return (size_t)(w->end - w->p);
}

/* Could a value of sc take no bytes at all? Items that cannot are bounded
 * by the input length already. A named-type reference counts as "may":
 * a recursive type's size is not worth working out here. */
static bool may_be_empty(avro_schema_t sc)
{
	switch (avro_typeof(sc)) {
	case AVRO_NULL:
	case AVRO_LINK:
		return true;
	case AVRO_FIXED:
		return avro_schema_fixed_size(sc) == 0;
	case AVRO_RECORD:
		for (size_t i = 0; i < avro_schema_record_size(sc); i++)
			if (!may_be_empty(avro_schema_record_field_get_by_index(sc, (int)i)))
				return false;
		return true;
	default:
		return false;
	}
}

/* A string or map key: length-prefixed, UTF-8, NUL-free when asked. */
static int get_text(struct avro_walk *w, const uint8_t **s, size_t *n)
{
	int rc = avro_varint_body(&w->p, w->end, s, n);

	if (rc)
		return rc;
	if (!orbit_utf8_valid(*s, *n) || (w->text_no_nul && memchr(*s, 0, *n)))
		return -EBADMSG;
	return 0;
}

static int get_le(struct avro_walk *w, size_t n, uint64_t *bits)
{
	if (remaining(w) < n)
		return -EBADMSG;
	*bits = 0;
	for (size_t i = n; i-- > 0;)
		*bits = *bits << 8 | w->p[i];
	w->p += n;
	return 0;
}

static int walk_value(struct avro_walk *w, avro_schema_t sc);

static int walk_blocks(struct avro_walk *w, avro_schema_t items, bool is_map)
{
	avro_type_t kind = is_map ? AVRO_MAP : AVRO_ARRAY;
	const struct avro_walk_ops *ops = w->ops;
	bool sized = is_map || !may_be_empty(items);
	size_t total = 0;
	int rc = ops ? ops->open(w->ctx, kind) : 0;

	while (!rc) {
		const uint8_t *start = NULL;
		int64_t count, size = 0;

		rc = avro_varint_long(&w->p, w->end, &count);
		if (rc || count == 0)
			break;
		if (count < 0) {
			if (count == INT64_MIN)
				return -EBADMSG;
			count = -count;
			rc = avro_varint_long(&w->p, w->end, &size);
			if (rc)
				return rc;
			if (size < 0 || (uint64_t)size > remaining(w))
				return -EBADMSG;
			start = w->p;
		}
		/* Map keys and most items take at least one byte each: a count
		 * beyond what is left is refused before anything is walked. */
		if ((uint64_t)count > AVRO_WALK_ITEMS_MAX - total ||
		    (sized && (uint64_t)count > remaining(w)))
			return -EBADMSG;
		for (int64_t i = 0; i < count; i++, total++) {
			const uint8_t *before = w->p, *key = NULL;
			size_t klen = 0;

			if (is_map) {
				rc = get_text(w, &key, &klen);
				if (rc)
					return rc;
				w->map_entries++;
			}
			if (ops)
				rc = ops->member(w->ctx, total, NULL, key, klen);
			if (!rc)
				rc = walk_value(w, items);
			if (rc)
				return rc;
			if (w->p == before && ++w->empty_items > AVRO_WALK_EMPTY_MAX)
				return -EBADMSG;
		}
		if (start && w->p - start != size)
			return -EBADMSG;
	}
	if (!rc && ops)
		rc = ops->close(w->ctx, kind);
	return rc;
}

static int walk_record(struct avro_walk *w, avro_schema_t sc)
{
	const struct avro_walk_ops *ops = w->ops;
	int rc = ops ? ops->open(w->ctx, AVRO_RECORD) : 0;

	for (size_t i = 0; !rc && i < avro_schema_record_size(sc); i++) {
		if (ops)
			rc = ops->member(w->ctx, i, avro_schema_record_field_name(sc, (int)i), NULL, 0);
		if (!rc)
			rc = walk_value(w, avro_schema_record_field_get_by_index(sc, (int)i));
	}
	if (!rc && ops)
		rc = ops->close(w->ctx, AVRO_RECORD);
	return rc;
}

static int walk_scalar(struct avro_walk *w, avro_schema_t sc)
{
	const struct avro_walk_ops *ops = w->ops;
	const uint8_t *body;
	uint64_t bits;
	int64_t v;
	size_t len;
	float f;
	double x;
	int rc;

	switch (avro_typeof(sc)) {
	case AVRO_NULL:
		return ops ? ops->null(w->ctx) : 0;
	case AVRO_BOOLEAN:
		if (!remaining(w) || *w->p > 1)
			return -EBADMSG;
		v = *w->p++;
		return ops ? ops->boolean(w->ctx, v) : 0;
	case AVRO_INT32:
	case AVRO_INT64:
		rc = avro_varint_long(&w->p, w->end, &v);
		if (!rc && avro_typeof(sc) == AVRO_INT32 && (v < INT32_MIN || v > INT32_MAX))
			rc = -EBADMSG;
		return rc || !ops ? rc : ops->integer(w->ctx, v);
	case AVRO_FLOAT:
		rc = get_le(w, 4, &bits);
		if (rc || !ops)
			return rc;
		memcpy(&f, &(uint32_t){ (uint32_t)bits }, sizeof(f));
		return ops->real(w->ctx, f, true);
	case AVRO_DOUBLE:
		rc = get_le(w, 8, &bits);
		if (rc || !ops)
			return rc;
		memcpy(&x, &bits, sizeof(x));
		return ops->real(w->ctx, x, false);
	case AVRO_STRING:
		rc = get_text(w, &body, &len);
		return rc || !ops ? rc : ops->text(w->ctx, body, len, false);
	case AVRO_BYTES:
		rc = avro_varint_body(&w->p, w->end, &body, &len);
		return rc || !ops ? rc : ops->text(w->ctx, body, len, true);
	case AVRO_FIXED:
		v = avro_schema_fixed_size(sc);
		if (v < 0 || (uint64_t)v > remaining(w))
			return -EBADMSG;
		body = w->p;
		w->p += v;
		return ops ? ops->text(w->ctx, body, (size_t)v, true) : 0;
	case AVRO_ENUM:
		rc = avro_varint_long(&w->p, w->end, &v);
		if (!rc && (v < 0 || v >= avro_schema_enum_number_of_symbols(sc)))
			rc = -EBADMSG;
		return rc || !ops ? rc : ops->symbol(w->ctx, avro_schema_enum_get(sc, (int)v));
	default:
		return -EBADMSG;
	}
}

static int walk_value(struct avro_walk *w, avro_schema_t sc)
{
	int64_t branch;
	int rc;

	if (++w->depth > AVRO_WALK_DEPTH_MAX) {
		rc = -EBADMSG;
		goto out;
	}
	switch (avro_typeof(sc)) {
	case AVRO_RECORD:
		rc = walk_record(w, sc);
		break;
	case AVRO_ARRAY:
		rc = walk_blocks(w, avro_schema_array_items(sc), false);
		break;
	case AVRO_MAP:
		rc = walk_blocks(w, avro_schema_map_values(sc), true);
		break;
	case AVRO_UNION:
		rc = avro_varint_long(&w->p, w->end, &branch);
		if (!rc && (branch < 0 || (uint64_t)branch >= avro_schema_union_size(sc)))
			rc = -EBADMSG;
		if (!rc)
			rc = walk_value(w, avro_schema_union_branch(sc, (int)branch));
		break;
	case AVRO_LINK:
		rc = walk_value(w, avro_schema_link_target(sc));
		break;
	default:
		rc = walk_scalar(w, sc);
		break;
	}
out:
	w->depth--;
	return rc;
}

int avro_walk(struct avro_walk *w, avro_schema_t sc)
{
	return walk_value(w, sc);
}
