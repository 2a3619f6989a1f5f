/* cfgvalue.h — typed values read from a YAML tree (yamltree.h), with the
 * position and key path of each one for messages: the configuration's
 * vocabulary, shared by the section walkers (config.c), the YAML → JSON
 * writer (yamljson.c), the file input (cfgfiles.c) and, through struct
 * ocfg_value and ocfg_message (config.h), the plugin config check
 * (plugcfg.c).
 *
 * Plain scalars are typed by the YAML 1.2 core schema; quoted or
 * !!str-tagged ones are strings. Number parsing assumes the C locale, which
 * orbitd never changes.
 *
 * Errors: every getter records the first problem in the reader as
 * "FILE:LINE:COLUMN: key 'a.b': what" and returns -EINVAL (later problems
 * keep the first message), or returns -ENOMEM without a message. Getters
 * that fill an output (char **, orbit_idlist *, ...) replace what it
 * held only on success; the caller owns the result.
 */
#ifndef ORBITD_CFGVALUE_H
#define ORBITD_CFGVALUE_H

#include "config.h"
#include "yamltree.h"

#include <stdarg.h>

/* Values in one converted subtree, after alias expansion: stops alias bombs. */
#define CV_MAX_VALUES 100000

/* What reading one document needs. Zero it, then set file (and dir). */
struct cv_reader {
	const char *file;          /* the document's name in positions (borrowed) */
	const char *dir;           /* its directory for relative paths; NULL or ".": as written */
	char *err;                 /* the first error message, malloc'd (the reader's owner frees) */
	struct ocfg_keypath path;  /* key path of the value being read */
};

/* Records "FILE:LINE:COL: key 'PATH': msg" at node n (at w for cv_fail_at);
 * returns -EINVAL, or -ENOMEM when the message could not be made. */
int cv_fail(struct cv_reader *r, const struct ynode *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int cv_fail_at(struct cv_reader *r, const struct ocfg_where *w, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* One more node n at depth of a recursive walk (value tree, YAML -> JSON):
 * refuses nesting past YTREE_MAX_DEPTH and more than CV_MAX_VALUES nodes in
 * all (*budget counts down; aliases can multiply a small file). 0 or
 * cv_fail's error. */
int cv_enter(struct cv_reader *r, const struct ynode *n, int depth, size_t *budget);

/* Records a message as given (no position, no key: unreadable files, syntax
 * errors) and returns rc, or -ENOMEM. */
int cv_fail_plain(struct cv_reader *r, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Parses text (len bytes) into *d (zeroed by the caller, who frees it with
 * ydoc_free also on failure); a syntax error is recorded as
 * "FILE:LINE:COLUMN: what". 0, -EINVAL or -ENOMEM. */
int cv_parse(struct cv_reader *r, const char *text, size_t len, struct ydoc *d);

/* Where node n is, in the reader's file. */
struct ocfg_where cv_where(const struct cv_reader *r, const struct ynode *n);

/* A scalar typed by the core schema (or its explicit tag). */
enum cv_skind { CV_NULL, CV_BOOL, CV_INT, CV_FLOAT, CV_STR };
struct cv_scalar {
	enum cv_skind kind;
	bool b;
	long long i;
	double f;  /* CV_FLOAT only */
};

/* Types scalar n into *s: 0, or -EINVAL recorded (unsupported tag, integer
 * out of range, text that does not match its tag). */
int cv_resolve(struct cv_reader *r, const struct ynode *n, struct cv_scalar *s);

/* What n is, for "expected X, got Y" ("a mapping", "an integer"); static. */
const char *cv_describe(const struct ynode *n);

/* Whether n is a scalar that reads as null. */
bool cv_is_null(const struct ynode *n);

/* Accepts a mapping (untagged or !!map) with unique scalar keys, or null,
 * which reads as an empty mapping (a section with nothing under it). */
int cv_need_map(struct cv_reader *r, const struct ynode *n);

/* Accepts n's tag: none, "!", or the core tag of its kind (map or seq). */
int cv_check_collection_tag(struct cv_reader *r, const struct ynode *n);

/* Records "unknown key (expected EXPECTED)" at key k. */
int cv_unknown_key(struct cv_reader *r, const struct ynode *k, const char *expected);

/* SPEC §1.5: a name that becomes part of MQTT topics (an identifier, an
 * operation; a topic when topic is set, which may contain '/'): not empty,
 * no NUL, no '+' or '#', no '/' unless topic. s/len is n's text or a copy. */
int cv_check_name(struct cv_reader *r, const struct ynode *n, const char *s, size_t len,
		  bool topic);

/* Typed getters into *out. A string is any non-null scalar as written. */
int cv_str(struct cv_reader *r, const struct ynode *n, char **out);
int cv_nonempty_str(struct cv_reader *r, const struct ynode *n, char **out);
/* One of n_names words (an enum's YAML spellings, index = value): *out the
 * index, or "unknown WHAT 'x' (expected a, b or c)". */
int cv_choice(struct cv_reader *r, const struct ynode *n, const char *what,
	      const char *const *names, int n_names, int *out);
int cv_ident(struct cv_reader *r, const struct ynode *n, char **out);
int cv_topic(struct cv_reader *r, const struct ynode *n, char **out);
int cv_bool(struct cv_reader *r, const struct ynode *n, bool *out);
/* An integer within lo..hi. */
int cv_int(struct cv_reader *r, const struct ynode *n, long long lo, long long hi,
	   long long *out);
/* Seconds (a number or "500ms"-like text; "never" → OCFG_NEVER when
 * never_ok); >= 0, > 0 when positive, finite and at most ~31 years. */
int cv_duration(struct cv_reader *r, const struct ynode *n, bool never_ok, bool positive,
		double *out);
/* A size in bytes: an integer, or a number with a binary unit K, M or G
 * (also spelt KiB, MiB, GiB) such as "512M" or "1.5G", rounded down to
 * whole bytes; "unlimited" → 0 when unlimited_ok. Otherwise within
 * lo..hi. */
int cv_size(struct cv_reader *r, const struct ynode *n, bool unlimited_ok, uint64_t lo,
	    uint64_t hi, uint64_t *out);
/* A non-empty path; a relative one is taken from the reader's dir, so a
 * config tree can move as a whole. */
int cv_path(struct cv_reader *r, const struct ynode *n, char **out);
/* Permission bits, octal as with chmod ("0660", 0660, 660, 0o660). */
int cv_mode(struct cv_reader *r, const struct ynode *n, unsigned *out);
/* A sequence of distinct identifiers into *l (replacing it: an owned
 * orbit_idlist); null leaves it NULL. */
int cv_idlist(struct cv_reader *r, const struct ynode *n, orbit_idlist *l);
/* The subtree n as a value tree with positions (struct ocfg_value). */
int cv_value(struct cv_reader *r, const struct ynode *n, struct ocfg_value **out);


/* "DIR/NAME" (no doubled slash), malloc'd; NULL when memory ran out. */
char *cv_path_join(const char *dir, const char *name);

#endif
