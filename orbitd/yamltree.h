/* yamltree.h — one YAML document as a small node tree with positions: what
 * the configuration reads (cfgvalue.h) instead of libyaml's event stream.
 *
 * Every node keeps its 1-based line and column for messages. Aliases share
 * the anchored node instead of copying it, so a tree is a DAG: walkers bound
 * their work after expansion (cfgvalue.h's CV_MAX_VALUES). Nesting is bounded
 * by YTREE_MAX_DEPTH while parsing.
 *
 * Ownership: a struct ydoc owns every node in it (the all list) and the
 * anchor names; nodes borrowed from it live until ydoc_free().
 */
#ifndef ORBITD_YAMLTREE_H
#define ORBITD_YAMLTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#define YTREE_MAX_DEPTH 128 /* nesting, also after alias expansion */

enum ykind { Y_SCALAR, Y_SEQ, Y_MAP };

struct ynode {
	enum ykind kind;
	int line, col;          /* 1-based */
	bool plain;             /* untagged plain scalar: typed by the core schema */
	bool done;              /* fully parsed: an alias to it cannot recurse */
	char *tag;              /* explicit tag, NULL when implicit */
	char *str;              /* scalar text, NUL-terminated (may hold NULs: len) */
	size_t len;
	struct ynode **kids;    /* sequence items, or mapping key, value, key, ... */
	size_t n, cap;
	struct ynode *all_next; /* every node of the document, for freeing */
};

struct yanchor {
	char *name;
	struct ynode *node;
};

struct ydoc {
	struct ynode *root; /* NULL for an empty document */
	struct ynode *all;
	struct yanchor *anchors;
	size_t n_anchors, cap_anchors;
};

/* A syntax error found while building the tree: the message has no file
 * name, the caller knows it. */
struct ydoc_err {
	int line, col;
	char msg[320];
};

/* Builds the tree of buf's single document into *d (zeroed by the caller,
 * owned by the caller even on failure: release it with ydoc_free). Returns 0,
 * -EINVAL with *pe filled (syntax, more than one document, unknown or
 * recursive alias, too deep), or -ENOMEM. */
int ydoc_parse(const unsigned char *buf, size_t len, struct ydoc *d, struct ydoc_err *pe);

/* Frees every node and anchor of d and zeroes it. */
void ydoc_free(struct ydoc *d);

/* Number of key/value pairs of a mapping node (0 for other kinds). */
static inline size_t ymap_len(const struct ynode *n)
{
	return n->kind == Y_MAP ? n->n / 2 : 0;
}

#define YMAP_KEY(n, i) ((n)->kids[2 * (i)])
#define YMAP_VAL(n, i) ((n)->kids[2 * (i) + 1])

/* Whether scalar k's text is exactly name (embedded NULs never match). */
static inline bool ykey_is(const struct ynode *k, const char *name)
{
	return k->len == strlen(name) && !memcmp(k->str, name, k->len);
}

#endif
