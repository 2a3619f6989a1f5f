/* orbit/types.h — vocabulary shared by every libplugin header.
 *
 * Ownership: an orbit_payload is always a borrowed view; whoever hands it to a
 * callback keeps the bytes alive only for the duration of that callback.
 *
 * Explanations: a function that can say why it refused something takes a
 * last parameter `char **why`. NULL means no message is wanted. Otherwise
 * *why is NULL after success; after a failure it is a malloc'd message the
 * caller frees, or NULL when memory for it ran out. One convention for the
 * whole API: a caller never has to know whether a reason was static.
 */
#ifndef ORBIT_TYPES_H
#define ORBIT_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* How a payload's bytes were produced: busline's `payload_format_type`. */
typedef enum orbit_format {
	ORBIT_FMT_NONE = 0, /* payload-less event (JSON null on the wire) */
	ORBIT_FMT_AVRO,     /* "avro": schemaless Avro binary */
	ORBIT_FMT_UTF8,     /* "utf-8" */
	ORBIT_FMT_BYTES,    /* "bytes" */
	ORBIT_FMT_JSON,     /* "json" */
} orbit_format;

/* A message as it travels on any bus: bytes + how they were made + class name.
 * data/len are NULL/0 and message_type NULL when format is ORBIT_FMT_NONE. */
typedef struct orbit_payload {
	const uint8_t *data;
	size_t len;
	orbit_format format;
	const char *message_type;
} orbit_payload;

/* Optional bytes (Avro ["bytes","null"]): present=false means null.
 * An owning struct frees data with free(). */
typedef struct orbit_bytes {
	uint8_t *data;
	size_t len;
	bool present;
} orbit_bytes;

/* A list of identifiers (core or plugin ids: allowlists, blocklists,
 * mandatory plugins, orbitd.yaml's plugin enable/disable): the plugin ABI's
 * shape (orbit/plugin.h), which cannot change, made the one list of the
 * project — ABI, engine, wire structs and config all hold this type.
 * A NULL-terminated array of strings; a NULL list pointer means "no list"
 * (no constraint), a list whose first entry is NULL is the empty list (for an
 * allowlist: admit nobody). Lists are short, so their length is found by
 * walking. An owned list (from orbit_idlist_dup/_append) is one allocation
 * of pointers plus one per string, freed with orbit_idlist_free. */
typedef const char *const *orbit_idlist;

/* Entries before the terminator; 0 for NULL. */
size_t orbit_idlist_len(orbit_idlist l);

/* Whether id is in l (false for NULL). */
bool orbit_idlist_has(orbit_idlist l, const char *id);

/* Whether an allowlist/blocklist pair admits id: not in block, and in allow
 * when there is an allowlist. */
bool orbit_idlist_admits(orbit_idlist allow, orbit_idlist block, const char *id);

/* Owned deep copy of src into *dst (NULL for NULL). Returns 0 or -ENOMEM
 * (*dst NULL). */
int orbit_idlist_dup(orbit_idlist src, orbit_idlist *dst);

/* Append a copy of id to the owned list *l (NULL becomes a one-entry list).
 * Returns 0 or -ENOMEM (*l unchanged). */
int orbit_idlist_append(orbit_idlist *l, const char *id);

/* Free an owned list; NULL-safe. */
void orbit_idlist_free(orbit_idlist l);

/* Whether a and b are both absent, or hold the same ids in the same order. */
bool orbit_idlist_equal(orbit_idlist a, orbit_idlist b);

/* "maximum" value meaning "no limit". */
#define ORBIT_UNLIMITED (-1)

/* Wire name of a format ("avro", "utf-8", "bytes", "json"; NULL for NONE). */
const char *orbit_format_name(orbit_format f);

/* Parse a wire format name; returns 0 and sets *out, or -EINVAL. */
int orbit_format_parse(const char *name, orbit_format *out);

#ifdef __cplusplus
}
#endif

#endif
