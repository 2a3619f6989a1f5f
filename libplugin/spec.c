/* spec.c — Input/Output "SchemaSpec" values, the built-in schema strings and
 * structural schema comparison (orbit/spec.h; SPEC §2.1, §2.10, §4.9).
 * Owned by the codec team. */
#include "orbit/spec.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* dataclasses-avroschema output for busline's built-ins. The only difference
 * between flavours is the docstring indentation CPython 3.13 strips (§2.10),
 * so both are generated from one template. */
#define BUILTIN_SCHEMA(cls, type, doc, indent)                                  \
	"{\"type\": \"record\", \"name\": \"" cls "\", \"fields\": [{\"name\": "  \
	"\"value\", \"type\": \"" type "\"}], \"doc\": \"" doc "\\n\\n" indent    \
	"Author: Nicola Ricciardi\"}"
#define BUILTIN_FLAVOURS(cls, type, doc)                                        \
	{ [ORBIT_FLAVOUR_PY312] = BUILTIN_SCHEMA(cls, type, doc, "    "),          \
	  [ORBIT_FLAVOUR_PY313] = BUILTIN_SCHEMA(cls, type, doc, "") }

static const struct kind_info {
	const char *name;
	const char *message_type;
	const char *schema[2];
} KINDS[] = {
	[ORBIT_KIND_NONE] = { "none", NULL, { NULL, NULL } },
	[ORBIT_KIND_EMPTY] = { "empty", NULL, { NULL, NULL } },
	[ORBIT_KIND_STRING] = { "string", "StringMessage",
		BUILTIN_FLAVOURS("StringMessage", "string",
				 "Wrap `str` and serialize into UTF-8") },
	[ORBIT_KIND_INT32] = { "int32", "Int32Message",
		BUILTIN_FLAVOURS("Int32Message", "long",
				 "Wrap `int` and serialize into 4 bytes integer number") },
	[ORBIT_KIND_INT64] = { "int64", "Int64Message",
		BUILTIN_FLAVOURS("Int64Message", "long",
				 "Wrap `int` and serialize into 8 bytes integer number") },
	[ORBIT_KIND_FLOAT32] = { "float32", "Float32Message",
		BUILTIN_FLAVOURS("Float32Message", "double",
				 "Wrap `float` and serialize into 4 bytes floating point") },
	[ORBIT_KIND_FLOAT64] = { "float64", "Float64Message",
		BUILTIN_FLAVOURS("Float64Message", "double",
				 "Wrap `float` and serialize into 8 bytes floating point") },
};

#define N_KINDS (sizeof(KINDS) / sizeof(KINDS[0]))

const char *orbit_kind_schema(orbit_kind k, orbit_flavour f)
{
	if ((unsigned)k >= N_KINDS || (unsigned)f > ORBIT_FLAVOUR_PY313)
		return NULL;
	return KINDS[k].schema[f];
}

const char *orbit_kind_message_type(orbit_kind k)
{
	if ((unsigned)k >= N_KINDS)
		return NULL;
	return KINDS[k].message_type;
}

int orbit_kind_parse(const char *name, orbit_kind *out)
{
	if (!name)
		return -EINVAL;
	for (size_t i = 0; i < N_KINDS; i++) {
		if (strcmp(KINDS[i].name, name) == 0) {
			*out = (orbit_kind)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* "doc" is documentation only, and its value is what differs between Python
 * flavours; it is removed at every depth so nested records compare too. */
static void strip_doc(json_t *j)
{
	if (json_is_object(j)) {
		const char *key;
		json_t *v;

		json_object_del(j, "doc");
		json_object_foreach(j, key, v)
			strip_doc(v);
	} else if (json_is_array(j)) {
		size_t i;
		json_t *v;

		json_array_foreach(j, i, v)
			strip_doc(v);
	}
}

char *orbit_schema_canonical(const char *schema)
{
	json_error_t err;
	json_t *j;
	char *out;

	if (!schema) {
		errno = EINVAL;
		return NULL;
	}
	/* Bare primitive schemas ("\"string\"") are valid Avro, hence DECODE_ANY. */
	j = json_loads(schema, JSON_DECODE_ANY, &err);
	if (!j) {
		errno = json_error_code(&err) == json_error_out_of_memory ? ENOMEM : EINVAL;
		return NULL;
	}
	strip_doc(j);
	out = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(j);
	if (!out)
		errno = ENOMEM;
	return out;
}

void orbit_spec_clear(orbit_spec *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_schemas; i++) {
		if (s->schemas)
			free(s->schemas[i]);
		if (s->canon)
			free(s->canon[i]);
	}
	free(s->schemas);
	free(s->canon);
	memset(s, 0, sizeof(*s));
}

int orbit_spec_init(orbit_spec *s, const char *const *schemas, size_t n,
		    bool support_empty, bool support_undefined)
{
	int rc = 0;

	memset(s, 0, sizeof(*s));
	s->support_empty = support_empty;
	s->support_undefined = support_undefined;
	if (n == 0)
		return 0;
	if (!schemas)
		return -EINVAL;
	s->schemas = calloc(n, sizeof(*s->schemas));
	s->canon = calloc(n, sizeof(*s->canon));
	if (!s->schemas || !s->canon) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		/* Count first so a partial spec is freed in full by clear(). */
		s->n_schemas = i + 1;
		if (!schemas[i]) {
			rc = -EINVAL;
			goto out;
		}
		s->schemas[i] = strdup(schemas[i]);
		if (!s->schemas[i]) {
			rc = -ENOMEM;
			goto out;
		}
		s->canon[i] = orbit_schema_canonical(schemas[i]);
		if (!s->canon[i] && errno == ENOMEM) {
			rc = -ENOMEM;
			goto out;
		}
	}
out:
	if (rc)
		orbit_spec_clear(s);
	return rc;
}

int orbit_spec_init_schema(orbit_spec *s, const char *schema)
{
	return orbit_spec_init(s, &schema, 1, false, false);
}

int orbit_spec_init_kind(orbit_spec *s, orbit_kind k)
{
	const char *schema;

	switch (k) {
	case ORBIT_KIND_NONE:
		return orbit_spec_init(s, NULL, 0, false, false);
	case ORBIT_KIND_EMPTY:
		return orbit_spec_init(s, NULL, 0, true, false);
	default:
		schema = orbit_kind_schema(k, ORBIT_FLAVOUR_PY312);
		if (!schema) {
			memset(s, 0, sizeof(*s));
			return -EINVAL;
		}
		return orbit_spec_init(s, &schema, 1, false, false);
	}
}

int orbit_spec_copy(orbit_spec *dst, const orbit_spec *src)
{
	int rc = 0;
	size_t n = src->n_schemas;

	memset(dst, 0, sizeof(*dst));
	dst->support_empty = src->support_empty;
	dst->support_undefined = src->support_undefined;
	if (n == 0)
		return 0;
	dst->schemas = calloc(n, sizeof(*dst->schemas));
	dst->canon = calloc(n, sizeof(*dst->canon));
	if (!dst->schemas || !dst->canon) {
		rc = -ENOMEM;
		goto out;
	}
	dst->n_schemas = n;
	for (size_t i = 0; i < n; i++) {
		dst->schemas[i] = strdup(src->schemas[i]);
		if (src->canon[i])
			dst->canon[i] = strdup(src->canon[i]);
		if (!dst->schemas[i] || (src->canon[i] && !dst->canon[i])) {
			rc = -ENOMEM;
			goto out;
		}
	}
out:
	if (rc)
		orbit_spec_clear(dst);
	return rc;
}

bool orbit_spec_has(const orbit_spec *s)
{
	return s->support_undefined || s->support_empty || s->n_schemas > 0;
}

/* §4.9: structural when both sides are JSON, raw otherwise. */
static bool entry_equal(const char *raw_a, const char *canon_a,
			const char *raw_b, const char *canon_b)
{
	if (canon_a && canon_b)
		return strcmp(canon_a, canon_b) == 0;
	return strcmp(raw_a, raw_b) == 0;
}

static bool contains(const orbit_spec *s, const char *raw, const char *canon)
{
	for (size_t i = 0; i < s->n_schemas; i++)
		if (entry_equal(s->schemas[i], s->canon[i], raw, canon))
			return true;
	return false;
}

/* Python only checks A ⊆ B with equal lengths, which is asymmetric when A
 * holds duplicates; checking both ways gives the intended set equality. */
static bool subset(const orbit_spec *a, const orbit_spec *b)
{
	for (size_t i = 0; i < a->n_schemas; i++)
		if (!contains(b, a->schemas[i], a->canon[i]))
			return false;
	return true;
}

bool orbit_spec_compatible(const orbit_spec *a, const orbit_spec *b)
{
	if (!a || !b)
		return false;
	if (orbit_spec_has(a) != orbit_spec_has(b))
		return false;
	if (a->support_undefined != b->support_undefined ||
	    a->support_empty != b->support_empty ||
	    a->n_schemas != b->n_schemas)
		return false;
	return subset(a, b) && subset(b, a);
}

bool orbit_spec_accepts(const orbit_spec *s, const char *schema)
{
	char *canon;
	bool found;

	if (s->support_undefined)
		return true;
	if (!schema)
		return s->support_empty;
	/* Senders usually copy our exact string: skip the JSON parse then. */
	for (size_t i = 0; i < s->n_schemas; i++)
		if (strcmp(s->schemas[i], schema) == 0)
			return true;
	canon = orbit_schema_canonical(schema);
	found = canon && contains(s, schema, canon);
	free(canon);
	return found;
}

bool orbit_schema_equal(const char *a, const char *b)
{
	char *ca, *cb;
	bool eq;

	if (!a || !b)
		return false;
	if (strcmp(a, b) == 0)
		return true;
	ca = orbit_schema_canonical(a);
	cb = orbit_schema_canonical(b);
	eq = ca && cb && strcmp(ca, cb) == 0;
	free(ca);
	free(cb);
	return eq;
}
