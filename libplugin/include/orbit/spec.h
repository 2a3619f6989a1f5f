/* orbit/spec.h — Input/Output "SchemaSpec" (SPEC §2.1, §2.10, §4.9).
 *
 * An orbit_spec owns its strings: schemas[i] is the exact schema JSON string
 * as it travels on the wire; canon[i] is a private canonical form (parsed JSON
 * with every "doc" removed, keys sorted, compact) used for structural
 * comparison, or NULL when schemas[i] is not valid JSON (then raw strings are
 * compared). Free with orbit_spec_clear().
 */
#ifndef ORBIT_SPEC_H
#define ORBIT_SPEC_H

#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct orbit_spec {
	char **schemas;
	char **canon;
	size_t n_schemas;
	bool support_empty;
	bool support_undefined;
} orbit_spec;

/* Built-in busline payload kinds plus the two schema-less shapes. */
typedef enum orbit_kind {
	ORBIT_KIND_NONE = 0, /* no input / no output: {[], false, false} */
	ORBIT_KIND_EMPTY,    /* payload-less events: {[], true, false} */
	ORBIT_KIND_STRING,
	ORBIT_KIND_INT32,
	ORBIT_KIND_INT64,
	ORBIT_KIND_FLOAT32,
	ORBIT_KIND_FLOAT64,
} orbit_kind;

/* Python flavour of the built-in schema strings (SPEC §2.10). */
typedef enum orbit_flavour {
	ORBIT_FLAVOUR_PY312 = 0, /* canonical: what the project's devcontainer emits */
	ORBIT_FLAVOUR_PY313,
} orbit_flavour;

/* Exact schema string of a built-in kind in a flavour; NULL for NONE/EMPTY.
 * Static storage, never free. */
const char *orbit_kind_schema(orbit_kind k, orbit_flavour f);

/* Busline class name of a built-in kind ("StringMessage", ...); NULL for NONE/EMPTY. */
const char *orbit_kind_message_type(orbit_kind k);

/* Parse a kind name as used in YAML and orbitctl: none, empty, string, int32,
 * int64, float32, float64. Returns 0 or -EINVAL. */
int orbit_kind_parse(const char *name, orbit_kind *out);

/* Initialise *s as the spec of a kind (3.12 flavour). Returns 0 or -ENOMEM. */
int orbit_spec_init_kind(orbit_spec *s, orbit_kind k);

/* Initialise *s as {[schema], false, false}. schema is copied.
 * Returns 0 or -ENOMEM. Invalid JSON is accepted (compared raw). */
int orbit_spec_init_schema(orbit_spec *s, const char *schema);

/* Initialise *s from a list of schema strings and flags (all copied). */
int orbit_spec_init(orbit_spec *s, const char *const *schemas, size_t n,
		    bool support_empty, bool support_undefined);

/* Deep copy src into *dst (dst uninitialised). Returns 0 or -ENOMEM. */
int orbit_spec_copy(orbit_spec *dst, const orbit_spec *src);

/* Release what *s owns and zero it. NULL-safe, idempotent. */
void orbit_spec_clear(orbit_spec *s);

/* "has input"/"has output": support_undefined || support_empty || n_schemas > 0. */
bool orbit_spec_has(const orbit_spec *s);

/* SPEC §4.9 is_compatible with the C intent of §2.10: set equality of schemas
 * compared structurally, ignoring "doc". */
bool orbit_spec_compatible(const orbit_spec *a, const orbit_spec *b);

/* True when the spec accepts payloads of this schema: support_undefined, or
 * some schema structurally equal to it. schema NULL asks "accepts empty?". */
bool orbit_spec_accepts(const orbit_spec *s, const char *schema);

/* Structural equality of two schema JSON strings ignoring "doc"; raw string
 * equality when either does not parse. */
bool orbit_schema_equal(const char *a, const char *b);

/* Canonical form of a schema string (doc removed, sorted keys, compact);
 * malloc'd, caller frees; NULL if it is not JSON (errno EINVAL) or on ENOMEM. */
char *orbit_schema_canonical(const char *schema);

#ifdef __cplusplus
}
#endif

#endif
