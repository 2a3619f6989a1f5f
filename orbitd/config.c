/* config.c — loads orbitd.yaml and every conf.d file into one struct orbitd_config.
 *
 * Each file goes through two steps: libyaml's events are built into a small
 * node tree (every node keeps its line and column for messages; aliases share
 * the anchored node instead of copying it), then the tree is walked section by
 * section into the config under construction. That config stays private until
 * every file and every cross-file check has passed; any error frees it whole,
 * so a failed (re)load never leaves anything half-applied.
 *
 * Plain scalars are typed by the YAML 1.2 core schema. Number parsing and
 * printing assume the C locale, which orbitd never changes.
 */
#include "config.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>
#include <yaml.h>

#ifndef ORBIT_PLUGINDIR
#define ORBIT_PLUGINDIR "/usr/local/lib/orbitd/plugins"
#endif

#define MAX_FILE_SIZE (16u << 20)   /* a YAML file; far above any sane config */
#define MAX_SCHEMA_SIZE (1u << 20)  /* a .avsc file */
#define MAX_DEPTH 128               /* nesting, also after alias expansion */
#define MAX_JSON_NODES 100000       /* values in one converted subtree: stops alias bombs */
#define MAX_DURATION 1e9            /* seconds (~31 years); keeps µs in int64 */
#define KEYPATH_MAX 512

#define TAG_PREFIX "tag:yaml.org,2002:"

/* ------------------------------------------------------------------ */
/* YAML node tree                                                      */

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

struct anchor {
	char *name;
	struct ynode *node;
};

struct ydoc {
	struct ynode *root; /* NULL for an empty document */
	struct ynode *all;
	struct anchor *anchors;
	size_t n_anchors, cap_anchors;
};

/* A syntax error found while building the tree. */
struct perr {
	int line, col;
	char msg[320];
};

static void ydoc_free(struct ydoc *d)
{
	struct ynode *n, *next;

	for (n = d->all; n; n = next) {
		next = n->all_next;
		free(n->tag);
		free(n->str);
		free(n->kids);
		free(n);
	}
	for (size_t i = 0; i < d->n_anchors; i++)
		free(d->anchors[i].name);
	free(d->anchors);
	memset(d, 0, sizeof *d);
}

static struct ynode *ynode_new(struct ydoc *d, enum ykind kind, const yaml_mark_t *m,
			       const yaml_char_t *tag)
{
	struct ynode *n = calloc(1, sizeof *n);

	if (!n)
		return NULL;
	n->kind = kind;
	n->line = (int)m->line + 1;
	n->col = (int)m->column + 1;
	n->all_next = d->all;
	d->all = n;
	/* n is already owned by d, so failing here leaks nothing. */
	if (tag && !(n->tag = strdup((const char *)tag)))
		return NULL;
	return n;
}

static int ynode_add(struct ynode *parent, struct ynode *kid)
{
	if (parent->n == parent->cap) {
		size_t cap = parent->cap ? parent->cap * 2 : 8;
		struct ynode **k = realloc(parent->kids, cap * sizeof *k);

		if (!k)
			return -ENOMEM;
		parent->kids = k;
		parent->cap = cap;
	}
	parent->kids[parent->n++] = kid;
	return 0;
}

static struct ynode *anchor_find(const struct ydoc *d, const yaml_char_t *name)
{
	/* Newest first: YAML lets a later anchor reuse a name. */
	for (size_t i = d->n_anchors; i > 0; i--) {
		if (strcmp(d->anchors[i - 1].name, (const char *)name) == 0)
			return d->anchors[i - 1].node;
	}
	return NULL;
}

static int anchor_add(struct ydoc *d, const yaml_char_t *name, struct ynode *n)
{
	if (d->n_anchors == d->cap_anchors) {
		size_t cap = d->cap_anchors ? d->cap_anchors * 2 : 8;
		struct anchor *a = realloc(d->anchors, cap * sizeof *a);

		if (!a)
			return -ENOMEM;
		d->anchors = a;
		d->cap_anchors = cap;
	}
	d->anchors[d->n_anchors].name = strdup((const char *)name);
	if (!d->anchors[d->n_anchors].name)
		return -ENOMEM;
	d->anchors[d->n_anchors++].node = n;
	return 0;
}

static int perr_set(struct perr *pe, const yaml_mark_t *m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int perr_set(struct perr *pe, const yaml_mark_t *m, const char *fmt, ...)
{
	va_list ap;

	pe->line = (int)m->line + 1;
	pe->col = (int)m->column + 1;
	va_start(ap, fmt);
	vsnprintf(pe->msg, sizeof pe->msg, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int parser_error(const yaml_parser_t *p, const unsigned char *buf, size_t len,
			struct perr *pe)
{
	yaml_mark_t m = p->problem_mark;

	if (p->error == YAML_MEMORY_ERROR)
		return -ENOMEM;
	if (p->error == YAML_READER_ERROR) {
		/* The reader reports a byte offset only. */
		size_t end = p->problem_offset < len ? p->problem_offset : len;

		m.line = 0;
		m.column = 0;
		for (size_t i = 0; i < end; i++) {
			if (buf[i] == '\n') {
				m.line++;
				m.column = 0;
			} else {
				m.column++;
			}
		}
		return perr_set(pe, &m, "invalid input: %s", p->problem ? p->problem : "unreadable");
	}
	if (p->context)
		return perr_set(pe, &m, "YAML syntax error: %s (%s at line %d, column %d)",
				p->problem ? p->problem : "unknown problem", p->context,
				(int)p->context_mark.line + 1, (int)p->context_mark.column + 1);
	return perr_set(pe, &m, "YAML syntax error: %s",
			p->problem ? p->problem : "unknown problem");
}

/* Builds the tree of buf's single document into *d (owned by the caller even
 * on failure). Returns 0, -EINVAL with *pe filled, or -ENOMEM. */
static int ydoc_parse(const unsigned char *buf, size_t len, struct ydoc *d, struct perr *pe)
{
	struct ynode *stack[MAX_DEPTH];
	yaml_parser_t p;
	yaml_event_t ev;
	size_t depth = 0;
	int docs = 0, rc = 0;
	bool end = false;

	if (!yaml_parser_initialize(&p))
		return -ENOMEM;
	yaml_parser_set_input_string(&p, buf, len);
	while (!end && !rc) {
		const yaml_char_t *anchor = NULL;
		struct ynode *n = NULL;
		bool push = false;

		if (!yaml_parser_parse(&p, &ev)) {
			rc = parser_error(&p, buf, len, pe);
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			end = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1)
				rc = perr_set(pe, &ev.start_mark,
					      "only one YAML document per file is supported");
			break;
		case YAML_ALIAS_EVENT:
			n = anchor_find(d, ev.data.alias.anchor);
			if (!n)
				rc = perr_set(pe, &ev.start_mark, "unknown alias '*%s'",
					      (const char *)ev.data.alias.anchor);
			else if (!n->done)
				rc = perr_set(pe, &ev.start_mark,
					      "alias '*%s' is inside the node it refers to",
					      (const char *)ev.data.alias.anchor);
			break;
		case YAML_SCALAR_EVENT:
			n = ynode_new(d, Y_SCALAR, &ev.start_mark, ev.data.scalar.tag);
			if (!n || !(n->str = malloc(ev.data.scalar.length + 1))) {
				rc = -ENOMEM;
				break;
			}
			memcpy(n->str, ev.data.scalar.value, ev.data.scalar.length);
			n->str[ev.data.scalar.length] = '\0';
			n->len = ev.data.scalar.length;
			n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
				   !ev.data.scalar.tag;
			n->done = true;
			anchor = ev.data.scalar.anchor;
			break;
		case YAML_SEQUENCE_START_EVENT:
			n = ynode_new(d, Y_SEQ, &ev.start_mark, ev.data.sequence_start.tag);
			anchor = ev.data.sequence_start.anchor;
			push = true;
			if (!n)
				rc = -ENOMEM;
			break;
		case YAML_MAPPING_START_EVENT:
			n = ynode_new(d, Y_MAP, &ev.start_mark, ev.data.mapping_start.tag);
			anchor = ev.data.mapping_start.anchor;
			push = true;
			if (!n)
				rc = -ENOMEM;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			if (depth > 0) /* libyaml pairs them; never trust it to the point of underflow */
				stack[--depth]->done = true;
			break;
		default:
			break;
		}
		if (!rc && n) {
			if (anchor)
				rc = anchor_add(d, anchor, n);
			if (!rc && depth > 0)
				rc = ynode_add(stack[depth - 1], n);
			else if (!rc)
				d->root = n;
			if (!rc && push) {
				if (depth == MAX_DEPTH)
					rc = perr_set(pe, &ev.start_mark,
						      "nested deeper than %d levels", MAX_DEPTH);
				else
					stack[depth++] = n;
			}
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Walking context, key paths and errors                               */

struct ctx {
	struct orbitd_config *cfg;
	const char *file;         /* current file, owned by cfg->files */
	const char *dir;          /* its directory, for relative paths */
	bool is_main;
	char *err;                /* first error message */
	char path[KEYPATH_MAX];   /* dotted key path of the value being read */
	size_t plen;
	bool include_explicit;
	struct ocfg_where include_where;
	struct ocfg_where reconnect_where; /* last of reconnect_min/max ... */
	const char *reconnect_key;         /* ... and which one it was */
	struct ocfg_where tls_where;
	struct stat main_st;      /* main file identity, so conf.d never reads it twice */
	bool main_st_set;
};

static size_t kpush(struct ctx *c, const char *name, size_t len)
{
	size_t old = c->plen;

	if (c->plen > 0 && c->plen < sizeof c->path - 1)
		c->path[c->plen++] = '.';
	for (size_t i = 0; i < len && c->plen < sizeof c->path - 1; i++) {
		unsigned char ch = (unsigned char)name[i];

		c->path[c->plen++] = ch < 0x20 ? '?' : (char)ch;
	}
	c->path[c->plen] = '\0';
	return old;
}

static size_t kpush_str(struct ctx *c, const char *name)
{
	return kpush(c, name, strlen(name));
}

static size_t kpush_index(struct ctx *c, size_t i)
{
	size_t old = c->plen;
	int r = snprintf(c->path + c->plen, sizeof c->path - c->plen, "[%zu]", i);

	if (r > 0)
		c->plen += (size_t)r < sizeof c->path - c->plen ? (size_t)r
								 : sizeof c->path - c->plen - 1;
	return old;
}

static void kpop(struct ctx *c, size_t old)
{
	c->plen = old;
	c->path[old] = '\0';
}

static void kreset(struct ctx *c)
{
	kpop(c, 0);
}

static int failv(struct ctx *c, const char *file, int line, int col, const char *fmt, va_list ap)
	__attribute__((format(printf, 5, 0)));
static int failv(struct ctx *c, const char *file, int line, int col, const char *fmt, va_list ap)
{
	char msg[512];

	if (c->err)
		return -EINVAL;
	vsnprintf(msg, sizeof msg, fmt, ap);
	/* Problems of the document as a whole (a top level that is not a mapping) have no key. */
	if (asprintf(&c->err, "%s:%d:%d: %s%s%s%s", file, line, col, c->plen ? "key '" : "",
		     c->path, c->plen ? "': " : "", msg) < 0) {
		c->err = NULL;
		return -ENOMEM; /* reported as "out of memory", not as a nameless EINVAL */
	}
	return -EINVAL;
}

/* Records "FILE:LINE:COL: key 'PATH': msg" for node n; returns -EINVAL. */
static int fail(struct ctx *c, const struct ynode *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct ctx *c, const struct ynode *n, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = failv(c, c->file, n->line, n->col, fmt, ap);
	va_end(ap);
	return rc;
}

static int fail_at(struct ctx *c, const struct ocfg_where *w, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail_at(struct ctx *c, const struct ocfg_where *w, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = failv(c, w->file, w->line, w->column, fmt, ap);
	va_end(ap);
	return rc;
}

/* An error with no key: unreadable files, syntax errors. */
static int fail_plain(struct ctx *c, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail_plain(struct ctx *c, int rc, const char *fmt, ...)
{
	va_list ap;

	if (c->err)
		return rc;
	va_start(ap, fmt);
	if (vasprintf(&c->err, fmt, ap) < 0) {
		c->err = NULL;
		rc = -ENOMEM;
	}
	va_end(ap);
	return rc;
}

static struct ocfg_where where_of(const struct ctx *c, const struct ynode *n)
{
	return (struct ocfg_where){ .file = c->file, .line = n->line, .column = n->col };
}

/* ------------------------------------------------------------------ */
/* Scalars (YAML 1.2 core schema)                                      */

enum skind { SK_NULL, SK_BOOL, SK_INT, SK_FLOAT, SK_STR };

struct scalar {
	enum skind kind;
	bool b;
	long long i;
	double f;
};

static bool all_in(const char *s, const char *set)
{
	return *s && s[strspn(s, set)] == '\0';
}

static bool text_is_null(const char *s)
{
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	       !strcmp(s, "NULL");
}

static int text_bool(const char *s)
{
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
		return 1;
	if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
		return 0;
	return -1;
}

/* 1: an integer in *v; 0: not an integer; -ERANGE: one that overflows. */
static int text_int(const char *s, long long *v)
{
	const char *digits = s;
	int base = 10;
	char *end;

	if (s[0] == '0' && s[1] == 'o' && all_in(s + 2, "01234567")) {
		digits = s + 2;
		base = 8;
	} else if (s[0] == '0' && s[1] == 'x' && all_in(s + 2, "0123456789abcdefABCDEF")) {
		digits = s + 2;
		base = 16;
	} else if (!all_in(s + (*s == '-' || *s == '+'), "0123456789")) {
		return 0;
	}
	errno = 0;
	*v = strtoll(digits, &end, base);
	if (errno == ERANGE || *end)
		return -ERANGE;
	return 1;
}

/* Core schema float: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? or inf/nan. */
static bool text_float(const char *s, double *v)
{
	const char *p = s;
	size_t mant = 0;

	if (*p == '-' || *p == '+')
		p++;
	if (!strcmp(p, ".inf") || !strcmp(p, ".Inf") || !strcmp(p, ".INF")) {
		*v = *s == '-' ? -INFINITY : INFINITY;
		return true;
	}
	if (!strcmp(s, ".nan") || !strcmp(s, ".NaN") || !strcmp(s, ".NAN")) {
		*v = NAN;
		return true;
	}
	while (*p >= '0' && *p <= '9') {
		p++;
		mant++;
	}
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9') {
			p++;
			mant++;
		}
	}
	if (!mant)
		return false;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '-' || *p == '+')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p)
		return false;
	*v = strtod(s, NULL);
	return true;
}

static bool tag_is(const char *tag, const char *name)
{
	return !strncmp(tag, TAG_PREFIX, sizeof TAG_PREFIX - 1) &&
	       !strcmp(tag + sizeof TAG_PREFIX - 1, name);
}

/* Types scalar n without reporting: 0, or -EINVAL with *why set (static). */
static int resolve_quiet(const struct ynode *n, struct scalar *s, const char **why)
{
	const char *t = n->str;
	const char *tag = n->tag;
	int r;

	memset(s, 0, sizeof *s);
	if (!n->plain && (!tag || !strcmp(tag, "!") || tag_is(tag, "str"))) {
		s->kind = SK_STR;
		return 0;
	}
	if (tag && !tag_is(tag, "null") && !tag_is(tag, "bool") && !tag_is(tag, "int") &&
	    !tag_is(tag, "float")) {
		*why = "unsupported tag";
		return -EINVAL;
	}
	if ((!tag || tag_is(tag, "null")) && text_is_null(t)) {
		s->kind = SK_NULL;
		return 0;
	}
	if ((!tag || tag_is(tag, "bool")) && (r = text_bool(t)) >= 0) {
		s->kind = SK_BOOL;
		s->b = r;
		return 0;
	}
	if (!tag || tag_is(tag, "int") || tag_is(tag, "float")) {
		r = text_int(t, &s->i);
		if (r == -ERANGE && (!tag || tag_is(tag, "int"))) {
			*why = "integer out of range";
			return -EINVAL;
		}
		if (r == 1 && tag && tag_is(tag, "float")) {
			s->kind = SK_FLOAT;
			s->f = (double)s->i;
			return 0;
		}
		if (r == 1) {
			s->kind = SK_INT;
			return 0;
		}
	}
	if ((!tag || tag_is(tag, "float")) && text_float(t, &s->f)) {
		s->kind = SK_FLOAT;
		return 0;
	}
	if (tag) {
		*why = "value does not match its tag";
		return -EINVAL;
	}
	s->kind = SK_STR;
	return 0;
}

static int resolve(struct ctx *c, const struct ynode *n, struct scalar *s)
{
	const char *why = NULL;

	if (resolve_quiet(n, s, &why) < 0)
		return n->tag ? fail(c, n, "%s '%s'", why, n->tag) : fail(c, n, "%s", why);
	return 0;
}

static const char *describe(const struct ynode *n)
{
	const char *why;
	struct scalar s;

	if (n->kind == Y_MAP)
		return "a mapping";
	if (n->kind == Y_SEQ)
		return "a sequence";
	if (resolve_quiet(n, &s, &why) < 0)
		return "a tagged value";
	switch (s.kind) {
	case SK_NULL:
		return "null";
	case SK_BOOL:
		return "a boolean";
	case SK_INT:
		return "an integer";
	case SK_FLOAT:
		return "a number";
	default:
		return "a string";
	}
}

static bool is_null(const struct ynode *n)
{
	const char *why;
	struct scalar s;

	return n->kind == Y_SCALAR && resolve_quiet(n, &s, &why) == 0 && s.kind == SK_NULL;
}

static bool key_is(const struct ynode *k, const char *name)
{
	return k->len == strlen(name) && !memcmp(k->str, name, k->len);
}

static int check_collection_tag(struct ctx *c, const struct ynode *n)
{
	if (!n->tag || !strcmp(n->tag, "!") || tag_is(n->tag, n->kind == Y_MAP ? "map" : "seq"))
		return 0;
	return fail(c, n, "unsupported tag '%s'", n->tag);
}

/* Accepts a mapping with unique scalar keys, or null, which reads as an empty
 * mapping (a section written with nothing under it). */
static int need_map(struct ctx *c, const struct ynode *n)
{
	int rc;

	if (is_null(n))
		return 0;
	if (n->kind != Y_MAP)
		return fail(c, n, "expected a mapping, got %s", describe(n));
	rc = check_collection_tag(c, n);
	for (size_t i = 0; !rc && i < n->n; i += 2) {
		const struct ynode *k = n->kids[i];

		if (k->kind != Y_SCALAR)
			return fail(c, k, "mapping keys must be scalars, got %s", describe(k));
		for (size_t j = 0; j < i; j += 2) {
			const struct ynode *o = n->kids[j];

			if (o->len == k->len && !memcmp(o->str, k->str, k->len)) {
				size_t m = kpush(c, k->str, k->len);

				rc = fail(c, k, "duplicate key (first at line %d, column %d)",
					  o->line, o->col);
				kpop(c, m);
				break;
			}
		}
	}
	return rc;
}

static size_t map_len(const struct ynode *n)
{
	return n->kind == Y_MAP ? n->n / 2 : 0;
}

#define MAP_KEY(n, i) ((n)->kids[2 * (i)])
#define MAP_VAL(n, i) ((n)->kids[2 * (i) + 1])

static int unknown_key(struct ctx *c, const struct ynode *k, const char *expected)
{
	return fail(c, k, "unknown key (expected %s)", expected);
}

/* ------------------------------------------------------------------ */
/* Typed values                                                        */

static int get_str(struct ctx *c, const struct ynode *n, char **out)
{
	struct scalar s;
	char *dup;
	int rc;

	if (n->kind != Y_SCALAR)
		return fail(c, n, "expected a string, got %s", describe(n));
	if ((rc = resolve(c, n, &s)))
		return rc;
	/* Any other scalar reads as its text ("password: 1234"), null does not. */
	if (s.kind == SK_NULL)
		return fail(c, n, "expected a string, got null");
	if (memchr(n->str, '\0', n->len))
		return fail(c, n, "must not contain NUL");
	if (!(dup = strdup(n->str)))
		return -ENOMEM;
	free(*out);
	*out = dup;
	return 0;
}

static int get_nonempty_str(struct ctx *c, const struct ynode *n, char **out)
{
	int rc = get_str(c, n, out);

	if (!rc && !**out)
		rc = fail(c, n, "must not be empty");
	return rc;
}

/* SPEC §1.5: identifiers and operation names become parts of MQTT topic
 * names, where '+' and '#' are wildcards and NUL is illegal; '/' would split
 * what orbitalis treats as one topic level. Topics may contain '/'. */
static int check_name(struct ctx *c, const struct ynode *n, const char *s, size_t len,
		      bool topic)
{
	const char *bad = topic ? "+#" : "+#/";

	if (len == 0)
		return fail(c, n, "must not be empty");
	if (memchr(s, '\0', len))
		return fail(c, n, "must not contain NUL");
	for (size_t i = 0; i < len; i++) {
		if (strchr(bad, s[i]))
			return fail(c, n, "must not contain '%c' (it would break MQTT topic names)",
				    s[i]);
	}
	return 0;
}

static int get_ident(struct ctx *c, const struct ynode *n, char **out)
{
	char *s = NULL;
	int rc = get_str(c, n, &s);

	if (!rc)
		rc = check_name(c, n, s, strlen(s), false);
	if (!rc) {
		free(*out);
		*out = s;
		s = NULL;
	}
	free(s);
	return rc;
}

static int get_topic(struct ctx *c, const struct ynode *n, char **out)
{
	char *s = NULL;
	int rc = get_str(c, n, &s);

	if (!rc)
		rc = check_name(c, n, s, strlen(s), true);
	if (!rc) {
		free(*out);
		*out = s;
		s = NULL;
	}
	free(s);
	return rc;
}

static int get_bool(struct ctx *c, const struct ynode *n, bool *out)
{
	struct scalar s;
	int rc;

	if (n->kind != Y_SCALAR)
		return fail(c, n, "expected true or false, got %s", describe(n));
	if ((rc = resolve(c, n, &s)))
		return rc;
	if (s.kind != SK_BOOL)
		return fail(c, n, "expected true or false, got '%s'", n->str);
	*out = s.b;
	return 0;
}

static int get_int(struct ctx *c, const struct ynode *n, long long lo, long long hi,
		   long long *out)
{
	struct scalar s;
	int rc;

	if (n->kind != Y_SCALAR)
		return fail(c, n, "expected an integer, got %s", describe(n));
	if ((rc = resolve(c, n, &s)))
		return rc;
	if (s.kind != SK_INT)
		return fail(c, n, "expected an integer, got %s", describe(n));
	if (s.i < 0 && lo >= 0)
		return fail(c, n, "must not be negative (got %lld)", s.i);
	if (s.i < lo)
		return fail(c, n, "must be at least %lld (got %lld)", lo, s.i);
	if (s.i > hi)
		return fail(c, n, "must be at most %lld (got %lld)", hi, s.i);
	*out = s.i;
	return 0;
}

/* "2", "1.5", "500ms", "2s", "1.5m", "1h" → seconds in *v; -EINVAL otherwise. */
static int parse_duration(const char *s, double *v)
{
	static const struct {
		const char *unit;
		double mult;
	} units[] = { { "", 1 }, { "s", 1 }, { "ms", 1e-3 }, { "m", 60 }, { "h", 3600 } };
	const char *p = s, *num;
	char numbuf[64];
	size_t digits = 0;
	bool neg = false;

	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	num = p;
	while (*p >= '0' && *p <= '9') {
		p++;
		digits++;
	}
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9') {
			p++;
			digits++;
		}
	}
	if (!digits || (size_t)(p - num) >= sizeof numbuf)
		return -EINVAL;
	memcpy(numbuf, num, (size_t)(p - num));
	numbuf[p - num] = '\0';
	while (*p == ' ')
		p++;
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (!strcmp(p, units[i].unit)) {
			*v = strtod(numbuf, NULL) * units[i].mult * (neg ? -1 : 1);
			return 0;
		}
	}
	return -EINVAL;
}

int ocfg_parse_duration(const char *s, double *v)
{
	return s && v ? parse_duration(s, v) : -EINVAL;
}

static int get_duration(struct ctx *c, const struct ynode *n, bool never_ok, bool positive,
			double *out)
{
	struct scalar s;
	double v;
	int rc;

	if (n->kind != Y_SCALAR)
		return fail(c, n, "expected a duration (seconds, or a string like \"500ms\"), got %s",
			    describe(n));
	if ((rc = resolve(c, n, &s)))
		return rc;
	switch (s.kind) {
	case SK_INT:
		v = (double)s.i;
		break;
	case SK_FLOAT:
		v = s.f;
		break;
	case SK_STR:
		if (!strcmp(n->str, "never")) {
			if (!never_ok)
				return fail(c, n, "'never' is not allowed here");
			*out = OCFG_NEVER;
			return 0;
		}
		if (parse_duration(n->str, &v) < 0)
			return fail(c, n, "invalid duration '%s' (expected seconds or a number "
				    "with unit ms, s, m or h%s)", n->str, never_ok ? ", or never" : "");
		break;
	default:
		return fail(c, n, "expected a duration (seconds, or a string like \"500ms\"), got %s",
			    describe(n));
	}
	if (!isfinite(v))
		return fail(c, n, "must be a finite duration");
	if (v < 0)
		return fail(c, n, "must not be negative (got '%s')", n->str);
	if (positive && v == 0)
		return fail(c, n, "must be greater than 0");
	if (v > MAX_DURATION)
		return fail(c, n, "too large (at most %.0f seconds)", MAX_DURATION);
	*out = v;
	return 0;
}

static char *path_join(const char *dir, const char *name)
{
	char *s;

	if (asprintf(&s, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", name) < 0)
		return NULL;
	return s;
}

/* A path; relative ones are taken from the directory of the file that
 * contains them, so a config tree can move as a whole. */
static int get_path(struct ctx *c, const struct ynode *n, char **out)
{
	char *s = NULL, *full;
	int rc = get_nonempty_str(c, n, &s);

	if (rc) {
		/* get_nonempty_str leaves an empty string it rejected in s. */
		free(s);
		return rc;
	}
	if (s[0] == '/' || !c->dir || !strcmp(c->dir, ".")) {
		full = s;
		s = NULL;
	} else if (!(full = path_join(c->dir, s))) {
		free(s);
		return -ENOMEM;
	}
	free(s);
	free(*out);
	*out = full;
	return 0;
}

static int strlist_push(struct ocfg_strlist *l, char *owned)
{
	char **v = realloc(l->v, (l->n + 2) * sizeof *v);

	if (!v) {
		free(owned);
		return -ENOMEM;
	}
	v[l->n++] = owned;
	v[l->n] = NULL;
	l->v = v;
	return 0;
}

static void strlist_free(struct ocfg_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof *l);
}

bool ocfg_strlist_has(const struct ocfg_strlist *l, const char *s)
{
	for (size_t i = 0; l && i < l->n; i++) {
		if (!strcmp(l->v[i], s))
			return true;
	}
	return false;
}

/* A sequence of identifiers into *l (replacing it); null leaves it unset. */
static int get_idlist(struct ctx *c, const struct ynode *n, struct ocfg_strlist *l)
{
	int rc;

	strlist_free(l);
	if (is_null(n))
		return 0;
	if (n->kind != Y_SEQ)
		return fail(c, n, "expected a sequence of identifiers, got %s", describe(n));
	if ((rc = check_collection_tag(c, n)))
		return rc;
	l->set = true;
	for (size_t i = 0; i < n->n && !rc; i++) {
		size_t m = kpush_index(c, i);
		char *s = NULL;

		rc = get_ident(c, n->kids[i], &s);
		if (!rc && ocfg_strlist_has(l, s))
			rc = fail(c, n->kids[i], "duplicate entry '%s'", s);
		if (!rc)
			rc = strlist_push(l, s);
		else
			free(s);
		kpop(c, m);
	}
	return rc;
}

/* ------------------------------------------------------------------ */
/* YAML subtree → JSON text                                            */

struct sbuf {
	char *s;
	size_t len, cap;
	bool oom;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		if (!(p = realloc(b->s, cap))) {
			b->oom = true;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

/* YAML text is valid UTF-8 (libyaml checks it), so only quotes, backslashes
 * and control characters need escaping. */
static void sb_json_string(struct sbuf *b, const char *s, size_t n)
{
	size_t start = 0;

	sb_add(b, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		char esc[8];

		if (ch >= 0x20 && ch != '"' && ch != '\\')
			continue;
		sb_add(b, s + start, i - start);
		start = i + 1;
		switch (ch) {
		case '"': sb_puts(b, "\\\""); break;
		case '\\': sb_puts(b, "\\\\"); break;
		case '\n': sb_puts(b, "\\n"); break;
		case '\t': sb_puts(b, "\\t"); break;
		case '\r': sb_puts(b, "\\r"); break;
		case '\b': sb_puts(b, "\\b"); break;
		case '\f': sb_puts(b, "\\f"); break;
		default:
			snprintf(esc, sizeof esc, "\\u%04x", ch);
			sb_puts(b, esc);
		}
	}
	sb_add(b, s + start, n - start);
	sb_add(b, "\"", 1);
}

/* Shortest text that reads back as the same double, still a JSON float. */
static void format_double(char *buf, size_t size, double v)
{
	/* Whole numbers read better as "1000.0" than as "1e+03". */
	if (v == floor(v) && fabs(v) < 1e15) {
		snprintf(buf, size, "%.1f", v);
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, size, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	if (!strpbrk(buf, ".eE"))
		strncat(buf, ".0", size - strlen(buf) - 1);
}

static int to_json(struct ctx *c, const struct ynode *n, struct sbuf *b, int depth,
		   size_t *budget)
{
	struct scalar s;
	char num[40];
	int rc = 0;

	if (depth > MAX_DEPTH)
		return fail(c, n, "nested deeper than %d levels", MAX_DEPTH);
	if (*budget == 0)
		return fail(c, n, "more than %d values (aliases expanded)", MAX_JSON_NODES);
	(*budget)--;

	switch (n->kind) {
	case Y_MAP:
		if ((rc = need_map(c, n)))
			return rc;
		sb_add(b, "{", 1);
		for (size_t i = 0; i < map_len(n) && !rc; i++) {
			const struct ynode *k = MAP_KEY(n, i);
			size_t m = kpush(c, k->str, k->len);

			if (i)
				sb_add(b, ",", 1);
			sb_json_string(b, k->str, k->len);
			sb_add(b, ":", 1);
			rc = to_json(c, MAP_VAL(n, i), b, depth + 1, budget);
			kpop(c, m);
		}
		sb_add(b, "}", 1);
		break;
	case Y_SEQ:
		if ((rc = check_collection_tag(c, n)))
			return rc;
		sb_add(b, "[", 1);
		for (size_t i = 0; i < n->n && !rc; i++) {
			size_t m = kpush_index(c, i);

			if (i)
				sb_add(b, ",", 1);
			rc = to_json(c, n->kids[i], b, depth + 1, budget);
			kpop(c, m);
		}
		sb_add(b, "]", 1);
		break;
	case Y_SCALAR:
		if ((rc = resolve(c, n, &s)))
			return rc;
		switch (s.kind) {
		case SK_NULL:
			sb_puts(b, "null");
			break;
		case SK_BOOL:
			sb_puts(b, s.b ? "true" : "false");
			break;
		case SK_INT:
			snprintf(num, sizeof num, "%lld", s.i);
			sb_puts(b, num);
			break;
		case SK_FLOAT:
			if (!isfinite(s.f))
				return fail(c, n, "'%s' cannot be represented in JSON", n->str);
			format_double(num, sizeof num, s.f);
			sb_puts(b, num);
			break;
		case SK_STR:
			sb_json_string(b, n->str, n->len);
			break;
		}
		break;
	}
	return b->oom ? -ENOMEM : rc;
}

/* The JSON text of subtree n into *out (replacing it). */
static int get_json(struct ctx *c, const struct ynode *n, char **out)
{
	struct sbuf b = { 0 };
	size_t budget = MAX_JSON_NODES;
	int rc = to_json(c, n, &b, 0, &budget);

	if (rc) {
		free(b.s);
		return rc;
	}
	free(*out);
	*out = b.s;
	return 0;
}

/* ------------------------------------------------------------------ */
/* YAML subtree → struct ocfg_value                                    */

static void value_clear(struct ocfg_value *v)
{
	for (size_t i = 0; i < v->n; i++) {
		value_clear(&v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->key_where);
	free(v->text);
	memset(v, 0, sizeof *v);
}

void ocfg_value_free(struct ocfg_value *v)
{
	if (!v)
		return;
	value_clear(v);
	free(v);
}

/* Fills *v (zeroed by the caller; on failure it may hold a partial tree,
 * which value_clear releases) from n. Limits as in to_json: an alias may
 * repeat a subtree many times, so the budget counts values after expansion. */
static int to_value(struct ctx *c, const struct ynode *n, struct ocfg_value *v, int depth,
		    size_t *budget)
{
	struct scalar s;
	int rc = 0;

	if (depth > MAX_DEPTH)
		return fail(c, n, "nested deeper than %d levels", MAX_DEPTH);
	if (*budget == 0)
		return fail(c, n, "more than %d values (aliases expanded)", MAX_JSON_NODES);
	(*budget)--;
	v->where = where_of(c, n);

	switch (n->kind) {
	case Y_MAP:
		if ((rc = need_map(c, n)))
			return rc;
		v->kind = OCFG_V_MAP;
		if (!map_len(n))
			return 0;
		v->items = calloc(map_len(n), sizeof *v->items);
		v->keys = calloc(map_len(n), sizeof *v->keys);
		v->key_where = calloc(map_len(n), sizeof *v->key_where);
		if (!v->items || !v->keys || !v->key_where)
			return -ENOMEM;
		for (size_t i = 0; i < map_len(n) && !rc; i++) {
			const struct ynode *k = MAP_KEY(n, i);
			size_t m = kpush(c, k->str, k->len);

			/* Keys are looked up as C strings: "a\0b" must not pass for "a". */
			if (memchr(k->str, '\0', k->len))
				rc = fail(c, k, "must not contain NUL");
			else if (!(v->keys[i] = strdup(k->str)))
				rc = -ENOMEM;
			v->key_where[i] = where_of(c, k);
			/* n counts initialised items, so a failure frees only those. */
			v->n = i + 1;
			if (!rc)
				rc = to_value(c, MAP_VAL(n, i), &v->items[i], depth + 1, budget);
			kpop(c, m);
		}
		return rc;
	case Y_SEQ:
		if ((rc = check_collection_tag(c, n)))
			return rc;
		v->kind = OCFG_V_LIST;
		if (!n->n)
			return 0;
		if (!(v->items = calloc(n->n, sizeof *v->items)))
			return -ENOMEM;
		for (size_t i = 0; i < n->n && !rc; i++) {
			size_t m = kpush_index(c, i);

			v->n = i + 1;
			rc = to_value(c, n->kids[i], &v->items[i], depth + 1, budget);
			kpop(c, m);
		}
		return rc;
	case Y_SCALAR:
		if ((rc = resolve(c, n, &s)))
			return rc;
		if (memchr(n->str, '\0', n->len))
			return fail(c, n, "must not contain NUL");
		if (!(v->text = strdup(n->str)))
			return -ENOMEM;
		switch (s.kind) {
		case SK_NULL:
			v->kind = OCFG_V_NULL;
			break;
		case SK_BOOL:
			v->kind = OCFG_V_BOOL;
			v->b = s.b;
			break;
		case SK_INT:
			v->kind = OCFG_V_INT;
			v->i = s.i;
			v->f = (double)s.i;
			break;
		case SK_FLOAT:
			v->kind = OCFG_V_FLOAT;
			v->f = s.f;
			break;
		case SK_STR:
			v->kind = OCFG_V_STRING;
			break;
		}
		return 0;
	}
	return 0;
}

/* The value tree of subtree n into *out (replacing it). */
static int get_value(struct ctx *c, const struct ynode *n, struct ocfg_value **out)
{
	struct ocfg_value *v = calloc(1, sizeof *v);
	size_t budget = MAX_JSON_NODES;
	int rc;

	if (!v)
		return -ENOMEM;
	if ((rc = to_value(c, n, v, 0, &budget))) {
		ocfg_value_free(v);
		return rc;
	}
	ocfg_value_free(*out);
	*out = v;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Files                                                               */

/* Reads a whole regular file (at most max bytes) into a NUL-terminated
 * malloc'd buffer. Returns 0 or -errno (-EFBIG when too large). */
static int read_file(const char *path, size_t max, char **out, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	size_t have = 0;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = -EISDIR;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		goto out;
	}
	if ((unsigned long long)st.st_size > max) {
		rc = -EFBIG;
		goto out;
	}
	if (!(buf = malloc((size_t)st.st_size + 1))) {
		rc = -ENOMEM;
		goto out;
	}
	/* Stop at the size seen by fstat: a file growing meanwhile is cut, never overrun. */
	while (have < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + have, (size_t)st.st_size - have);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			goto out;
		}
		if (r == 0)
			break;
		have += (size_t)r;
	}
	buf[have] = '\0';
	*out = buf;
	*len = have;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return rc;
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

/* ------------------------------------------------------------------ */
/* Types, sinks, schedules                                             */

static const char *const kind_names[] = {
	[OCFG_KIND_NONE] = "none",       [OCFG_KIND_EMPTY] = "empty",
	[OCFG_KIND_STRING] = "string",   [OCFG_KIND_INT32] = "int32",
	[OCFG_KIND_INT64] = "int64",     [OCFG_KIND_FLOAT32] = "float32",
	[OCFG_KIND_FLOAT64] = "float64", [OCFG_KIND_SCHEMA] = "schema",
};

static const char *const mode_names[] = {
	[OCFG_MODE_ALL] = "all", [OCFG_MODE_ANY] = "any",
	[OCFG_MODE_DISTRIBUTED] = "distributed", [OCFG_MODE_PLUGIN] = "plugin",
};

static const char *const sink_names[] = {
	[OCFG_SINK_LOG] = "log", [OCFG_SINK_FILE] = "file",
	[OCFG_SINK_EXEC] = "exec", [OCFG_SINK_EXECUTE] = "execute",
};

const char *ocfg_kind_name(enum ocfg_kind k)
{
	return (unsigned)k < sizeof kind_names / sizeof kind_names[0] ? kind_names[k] : "?";
}

const char *ocfg_mode_name(enum ocfg_mode m)
{
	return (unsigned)m < sizeof mode_names / sizeof mode_names[0] ? mode_names[m] : "?";
}

const char *ocfg_sink_type_name(enum ocfg_sink_type t)
{
	return (unsigned)t < sizeof sink_names / sizeof sink_names[0] ? sink_names[t] : "?";
}

/* Validates schema JSON text: Avro schemas are JSON objects, strings (a
 * primitive's name) or arrays (unions). what names the source in messages. */
static int check_schema_text(struct ctx *c, const struct ynode *n, const char *text, size_t len,
			     const char *what)
{
	json_error_t jerr;
	json_t *j = json_loadb(text, len, JSON_DECODE_ANY, &jerr);
	int rc = 0;

	/* jansson reports a failed allocation before parsing with an empty text. */
	if (!j && (json_error_code(&jerr) == json_error_out_of_memory || !jerr.text[0]))
		return -ENOMEM;
	if (!j)
		return fail(c, n, "%s is not valid JSON: %s (line %d, column %d)", what, jerr.text,
			    jerr.line, jerr.column);
	if (!json_is_object(j) && !json_is_string(j) && !json_is_array(j))
		rc = fail(c, n, "%s must be a JSON object, string or array", what);
	json_decref(j);
	return rc;
}

static int type_schema(struct ctx *c, const struct ynode *v, struct ocfg_type *t)
{
	char *text = NULL;
	int rc;

	if (v->kind == Y_SCALAR) {
		if ((rc = get_str(c, v, &text)))
			return rc;
		rc = check_schema_text(c, v, text, strlen(text), "schema");
	} else {
		rc = get_json(c, v, &text);
	}
	if (rc) {
		free(text);
		return rc;
	}
	free(t->schema);
	t->schema = text;
	t->kind = OCFG_KIND_SCHEMA;
	return 0;
}

static int type_schema_file(struct ctx *c, const struct ynode *v, struct ocfg_type *t)
{
	char *path = NULL, *text = NULL, *what = NULL;
	size_t len = 0;
	int rc;

	if ((rc = get_path(c, v, &path)))
		return rc;
	rc = read_file(path, MAX_SCHEMA_SIZE, &text, &len);
	if (rc == -ENOMEM)
		goto out;
	if (rc) {
		rc = fail(c, v, "cannot read '%s': %s", path, strerror(-rc));
		goto out;
	}
	if (memchr(text, '\0', len)) {
		rc = fail(c, v, "'%s' contains a NUL byte", path);
		goto out;
	}
	if (asprintf(&what, "'%s'", path) < 0) {
		what = NULL;
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = check_schema_text(c, v, text, len, what)))
		goto out;
	while (len > 0 && strchr(" \t\r\n", text[len - 1]))
		text[--len] = '\0';
	free(t->schema);
	t->schema = text;
	t->kind = OCFG_KIND_SCHEMA;
	text = NULL;
out:
	free(what);
	free(text);
	free(path);
	return rc;
}

static int walk_type(struct ctx *c, const struct ynode *n, struct ocfg_type *t)
{
	const struct ynode *given = NULL;
	struct scalar s;
	int rc;

	if (n->kind == Y_SCALAR) {
		if ((rc = resolve(c, n, &s)))
			return rc;
		if (s.kind != SK_STR)
			return fail(c, n, "expected a type name or a mapping, got %s", describe(n));
		for (int k = OCFG_KIND_NONE; k < OCFG_KIND_SCHEMA; k++) {
			if (!strcmp(n->str, kind_names[k])) {
				t->kind = (enum ocfg_kind)k;
				return 0;
			}
		}
		return fail(c, n, "unknown type '%s' (expected none, empty, string, int32, int64, "
			    "float32, float64, {schema: ...} or {schema_file: ...})", n->str);
	}
	if (n->kind != Y_MAP)
		return fail(c, n, "expected a type name or a mapping, got %s", describe(n));
	if ((rc = need_map(c, n)))
		return rc;
	for (size_t i = 0; i < map_len(n) && !rc; i++) {
		const struct ynode *k = MAP_KEY(n, i), *v = MAP_VAL(n, i);
		size_t m = kpush(c, k->str, k->len);

		if (!key_is(k, "schema") && !key_is(k, "schema_file"))
			rc = unknown_key(c, k, "schema or schema_file");
		else if (given)
			rc = fail(c, k, "schema and schema_file are mutually exclusive");
		else if (key_is(k, "schema"))
			rc = type_schema(c, v, t);
		else
			rc = type_schema_file(c, v, t);
		given = k;
		kpop(c, m);
	}
	if (!rc && !given)
		rc = fail(c, n, "expected schema or schema_file");
	return rc;
}

static void types_free(struct ocfg_type *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(t[i].schema);
	free(t);
}

/* A type or a non-empty sequence of types into *arr and *n (replacing them). */
static int walk_types(struct ctx *c, const struct ynode *v, struct ocfg_type **arr, size_t *n)
{
	size_t count = v->kind == Y_SEQ ? v->n : 1;
	int rc = 0;

	if (v->kind == Y_SEQ && (rc = check_collection_tag(c, v)))
		return rc;
	if (count == 0)
		return fail(c, v, "must not be empty");
	types_free(*arr, *n);
	*n = 0;
	if (!(*arr = calloc(count, sizeof **arr)))
		return -ENOMEM;
	*n = count;
	if (v->kind != Y_SEQ)
		return walk_type(c, v, &(*arr)[0]);
	for (size_t i = 0; i < count && !rc; i++) {
		size_t m = kpush_index(c, i);

		rc = walk_type(c, v->kids[i], &(*arr)[i]);
		kpop(c, m);
	}
	return rc;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static int walk_setup_data(struct ctx *c, const struct ynode *v, struct ocfg_bytes *out)
{
	struct ocfg_bytes b = { 0 };
	char *hex = NULL;
	struct scalar s;
	int rc = 0;

	if (v->kind == Y_SCALAR) {
		if ((rc = resolve(c, v, &s)))
			return rc;
		if (s.kind != SK_NULL) {
			/* The string's UTF-8 bytes; NULs written as "\0" are kept. */
			if (!(b.data = malloc(v->len + 1)))
				return -ENOMEM;
			memcpy(b.data, v->str, v->len + 1);
			b.len = v->len;
			b.set = true;
		}
		goto done;
	}
	if (v->kind != Y_MAP)
		return fail(c, v, "expected a string or {hex: ...}, got %s", describe(v));
	if ((rc = need_map(c, v)))
		return rc;
	if (map_len(v) == 0)
		return fail(c, v, "expected a string or {hex: ...}");
	for (size_t i = 0; i < map_len(v) && !rc; i++) {
		const struct ynode *k = MAP_KEY(v, i), *h = MAP_VAL(v, i);
		size_t m = kpush(c, k->str, k->len), len;

		if (!key_is(k, "hex")) {
			rc = unknown_key(c, k, "hex");
		} else if (!(rc = get_str(c, h, &hex))) {
			len = strlen(hex);
			if (len % 2) {
				rc = fail(c, h, "odd number of hex digits");
			} else if (!(b.data = malloc(len / 2 + 1))) {
				rc = -ENOMEM;
			} else {
				for (size_t j = 0; j < len && !rc; j += 2) {
					int hi = hexval(hex[j]), lo = hexval(hex[j + 1]);

					if (hi < 0 || lo < 0)
						rc = fail(c, h, "invalid hex digit '%c' at offset %zu",
							  hi < 0 ? hex[j] : hex[j + 1], hi < 0 ? j : j + 1);
					else
						b.data[j / 2] = (uint8_t)(hi << 4 | lo);
				}
				b.len = len / 2;
				b.data[b.len] = '\0';
				b.set = true;
			}
		}
		kpop(c, m);
	}
done:
	free(hex);
	if (rc) {
		free(b.data);
		return rc;
	}
	free(out->data);
	*out = b;
	return 0;
}

static int parse_mode(struct ctx *c, const struct ynode *v, bool plugin_ok, enum ocfg_mode *out)
{
	char *s = NULL;
	int rc = get_str(c, v, &s), last = plugin_ok ? OCFG_MODE_PLUGIN : OCFG_MODE_DISTRIBUTED;

	for (int m = OCFG_MODE_ALL; !rc && m <= last; m++) {
		if (!strcmp(s, mode_names[m])) {
			*out = (enum ocfg_mode)m;
			free(s);
			return 0;
		}
	}
	if (!rc)
		rc = fail(c, v, "unknown mode '%s' (expected all, any%s distributed%s)", s,
			  plugin_ok ? "," : " or", plugin_ok ? " or plugin" : "");
	free(s);
	return rc;
}

static int walk_command(struct ctx *c, const struct ynode *v, struct ocfg_sink *s)
{
	size_t n = v->kind == Y_SEQ ? v->n : 3;
	char **argv;
	int rc = 0;

	if (v->kind == Y_MAP)
		return fail(c, v, "expected a command string or an argv sequence, got a mapping");
	if (v->kind == Y_SEQ && (rc = check_collection_tag(c, v)))
		return rc;
	if (n == 0)
		return fail(c, v, "must not be empty");
	if (!(argv = calloc(n + 1, sizeof *argv)))
		return -ENOMEM;
	if (v->kind == Y_SCALAR) {
		s->shell = true;
		rc = get_nonempty_str(c, v, &argv[2]);
		if (!rc && (!(argv[0] = strdup("/bin/sh")) || !(argv[1] = strdup("-c"))))
			rc = -ENOMEM;
	} else {
		s->shell = false;
		for (size_t i = 0; i < n && !rc; i++) {
			size_t m = kpush_index(c, i);

			rc = i == 0 ? get_nonempty_str(c, v->kids[i], &argv[i])
				    : get_str(c, v->kids[i], &argv[i]);
			kpop(c, m);
		}
	}
	if (rc) {
		for (size_t i = 0; i < n; i++)
			free(argv[i]);
		free(argv);
		return rc;
	}
	s->argv = argv;
	s->argc = n;
	return 0;
}

static int parse_sink_type(struct ctx *c, const struct ynode *v, enum ocfg_sink_type *out)
{
	char *s = NULL;
	int rc = get_str(c, v, &s);

	for (int t = OCFG_SINK_LOG; !rc && t <= OCFG_SINK_EXECUTE; t++) {
		if (!strcmp(s, sink_names[t])) {
			*out = (enum ocfg_sink_type)t;
			free(s);
			return 0;
		}
	}
	if (!rc)
		rc = fail(c, v, "unknown sink type '%s' (expected log, file, exec or execute)", s);
	free(s);
	return rc;
}

static int walk_sink(struct ctx *c, const struct ynode *v, struct ocfg_sink *s)
{
	const struct ynode *type = v;
	size_t m;
	int rc;

	s->where = where_of(c, v);
	/* A scalar is the "sink: log" shorthand for a type that needs nothing else. */
	if (v->kind != Y_SCALAR) {
		if ((rc = need_map(c, v)))
			return rc;
		type = NULL;
		for (size_t i = 0; i < map_len(v); i++) {
			if (key_is(MAP_KEY(v, i), "type"))
				type = MAP_VAL(v, i);
		}
		if (!type)
			return fail(c, v, "missing 'type' (log, file, exec or execute)");
	}
	m = v->kind == Y_SCALAR ? c->plen : kpush_str(c, "type");
	rc = parse_sink_type(c, type, &s->type);
	kpop(c, m);
	s->timeout = s->type == OCFG_SINK_EXEC ? OCFG_SINK_EXEC_TIMEOUT : OCFG_NEVER;

	for (size_t i = 0; i < map_len(v) && !rc; i++) {
		const struct ynode *k = MAP_KEY(v, i), *val = MAP_VAL(v, i);

		m = kpush(c, k->str, k->len);
		if (key_is(k, "type")) {
			rc = 0;
		} else if (key_is(k, "path")) {
			rc = s->type == OCFG_SINK_FILE ? get_path(c, val, &s->path)
						       : fail(c, k, "only valid with type file");
		} else if (key_is(k, "command")) {
			rc = s->type == OCFG_SINK_EXEC ? walk_command(c, val, s)
						       : fail(c, k, "only valid with type exec");
		} else if (key_is(k, "operation")) {
			if (s->type != OCFG_SINK_EXECUTE) {
				rc = fail(c, k, "only valid with type execute");
			} else {
				rc = get_ident(c, val, &s->operation);
				s->where = where_of(c, val);
			}
		} else if (key_is(k, "mode")) {
			rc = s->type == OCFG_SINK_EXECUTE ? parse_mode(c, val, false, &s->mode)
							  : fail(c, k, "only valid with type execute");
		} else if (key_is(k, "timeout")) {
			rc = s->type == OCFG_SINK_EXEC
				     ? get_duration(c, val, true, true, &s->timeout)
				     : fail(c, k, "only valid with type exec");
		} else {
			rc = unknown_key(c, k, "type, path, command, timeout, operation or mode");
		}
		kpop(c, m);
	}
	if (rc)
		return rc;
	if (s->type == OCFG_SINK_FILE && !s->path)
		return fail(c, v, "type file needs 'path'");
	if (s->type == OCFG_SINK_EXEC && !s->argv)
		return fail(c, v, "type exec needs 'command'");
	if (s->type == OCFG_SINK_EXECUTE && !s->operation)
		return fail(c, v, "type execute needs 'operation'");
	return 0;
}

static bool excluded(const struct ocfg_req *r, const char *id, const char **why)
{
	if (r->allowlist.set && !ocfg_strlist_has(&r->allowlist, id)) {
		*why = "is not in the allowlist";
		return true;
	}
	if (r->blocklist.set && ocfg_strlist_has(&r->blocklist, id)) {
		*why = "is in the blocklist";
		return true;
	}
	return false;
}

static int walk_schedule(struct ctx *c, const struct ynode *v, struct ocfg_req *r)
{
	struct ocfg_schedule *sch = &r->schedule;
	const struct ynode *every = NULL, *data = NULL, *plugin = NULL;
	const char *why;
	int rc;

	if (v->kind != Y_MAP)
		return fail(c, v, "expected a mapping, got %s", describe(v));
	if ((rc = need_map(c, v)))
		return rc;
	for (size_t i = 0; i < map_len(v) && !rc; i++) {
		const struct ynode *k = MAP_KEY(v, i), *val = MAP_VAL(v, i);
		size_t m = kpush(c, k->str, k->len);

		if (key_is(k, "every")) {
			rc = get_duration(c, val, false, true, &sch->every);
			every = val;
		} else if (key_is(k, "data")) {
			rc = get_json(c, val, &sch->data_json);
			data = val;
		} else if (key_is(k, "mode")) {
			rc = parse_mode(c, val, true, &sch->mode);
		} else if (key_is(k, "plugin")) {
			rc = get_ident(c, val, &sch->plugin);
			plugin = val;
		} else {
			rc = unknown_key(c, k, "every, data, mode or plugin");
		}
		kpop(c, m);
	}
	if (rc)
		return rc;
	if (!every)
		return fail(c, v, "missing 'every'");
	if (sch->mode == OCFG_MODE_PLUGIN && !plugin)
		return fail(c, v, "mode plugin needs 'plugin'");
	if (plugin && sch->mode != OCFG_MODE_PLUGIN) {
		size_t m = kpush_str(c, "plugin");

		rc = fail(c, plugin, "only valid with mode plugin");
		kpop(c, m);
		return rc;
	}
	if (sch->mode == OCFG_MODE_DISTRIBUTED && (!data || data->kind != Y_SEQ || data->n == 0)) {
		size_t m = data ? kpush_str(c, "data") : c->plen;

		rc = fail(c, data ? data : v, "mode distributed needs 'data' to be a non-empty "
			  "sequence (its items are spread over the connections)");
		kpop(c, m);
		return rc;
	}
	if (plugin && excluded(r, sch->plugin, &why)) {
		size_t m = kpush_str(c, "plugin");

		rc = fail(c, plugin, "plugin '%s' %s, so it can never be connected",
			  sch->plugin, why);
		kpop(c, m);
		return rc;
	}
	if (!sch->data_json && !(sch->data_json = strdup("null")))
		return -ENOMEM;
	sch->set = true;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Sections                                                            */

static int new_type_list(struct ocfg_type **arr, size_t *n)
{
	if (*n)
		return 0;
	if (!(*arr = calloc(1, sizeof **arr)))
		return -ENOMEM;
	(*arr)[0].kind = OCFG_KIND_STRING;
	*n = 1;
	return 0;
}

static int walk_req(struct ctx *c, const struct ynode *v, struct ocfg_req *r)
{
	const struct ynode *max_node = NULL, *mand_node = NULL;
	long long num;
	const char *why;
	int rc;

	if ((rc = need_map(c, v)))
		return rc;
	for (size_t i = 0; i < map_len(v) && !rc; i++) {
		const struct ynode *k = MAP_KEY(v, i), *val = MAP_VAL(v, i);
		size_t m = kpush(c, k->str, k->len);

		if (key_is(k, "mandatory")) {
			rc = get_idlist(c, val, &r->mandatory);
			mand_node = val;
		} else if (key_is(k, "minimum")) {
			if (!(rc = get_int(c, val, 0, INT_MAX, &num)))
				r->minimum = (int)num;
		} else if (key_is(k, "maximum")) {
			max_node = val;
			if (is_null(val))
				r->maximum = OCFG_UNLIMITED;
			else if (!(rc = get_int(c, val, 0, INT_MAX, &num)))
				r->maximum = (int)num;
		} else if (key_is(k, "allowlist") || key_is(k, "blocklist")) {
			bool allow = key_is(k, "allowlist");

			rc = get_idlist(c, val, allow ? &r->allowlist : &r->blocklist);
			if (!rc && r->allowlist.set && r->blocklist.set)
				rc = fail(c, k, "allowlist and blocklist are mutually exclusive");
		} else if (key_is(k, "inputs")) {
			rc = walk_types(c, val, &r->inputs, &r->n_inputs);
		} else if (key_is(k, "outputs")) {
			rc = walk_types(c, val, &r->outputs, &r->n_outputs);
		} else if (key_is(k, "setup_data")) {
			rc = walk_setup_data(c, val, &r->setup_data);
		} else if (key_is(k, "sink")) {
			rc = walk_sink(c, val, &r->sink);
		} else if (key_is(k, "schedule")) {
			rc = walk_schedule(c, val, r);
		} else {
			rc = unknown_key(c, k, "mandatory, minimum, maximum, allowlist, blocklist, "
					 "inputs, outputs, setup_data, sink or schedule");
		}
		kpop(c, m);
	}
	if (rc)
		return rc;
	if (r->maximum != OCFG_UNLIMITED && r->minimum > r->maximum) {
		size_t m = kpush_str(c, "maximum");

		rc = fail(c, max_node, "minimum (%d) is greater than maximum (%d)", r->minimum,
			  r->maximum);
		kpop(c, m);
		return rc;
	}
	/* SPEC §4.7: such a mandatory plugin can never connect, so the
	 * requirement could never be met; say so now, not at run time. */
	for (size_t i = 0; i < r->mandatory.n; i++) {
		if (excluded(r, r->mandatory.v[i], &why)) {
			size_t m = kpush_str(c, "mandatory");

			kpush_index(c, i);
			rc = fail(c, mand_node->kids[i],
				  "mandatory plugin '%s' %s, so the requirement can never be met",
				  r->mandatory.v[i], why);
			kpop(c, m);
			return rc;
		}
	}
	if ((rc = new_type_list(&r->inputs, &r->n_inputs)))
		return rc;
	return new_type_list(&r->outputs, &r->n_outputs);
}

static int walk_requirements(struct ctx *c, const struct ynode *v)
{
	struct orbitd_config *cfg = c->cfg;
	int rc;

	if ((rc = need_map(c, v)))
		return rc;
	for (size_t i = 0; i < map_len(v) && !rc; i++) {
		const struct ynode *k = MAP_KEY(v, i);
		size_t m = kpush(c, k->str, k->len);
		const struct ocfg_req *old;
		struct ocfg_req *arr, *r;

		if ((rc = check_name(c, k, k->str, k->len, false)))
			goto next;
		if ((old = orbitd_config_find_req(cfg, k->str))) {
			rc = fail(c, k, "duplicate requirement (first defined at %s:%d:%d)",
				  old->where.file, old->where.line, old->where.column);
			goto next;
		}
		if (!(arr = realloc(cfg->reqs, (cfg->n_reqs + 1) * sizeof *arr))) {
			rc = -ENOMEM;
			goto next;
		}
		cfg->reqs = arr;
		r = &arr[cfg->n_reqs++];
		memset(r, 0, sizeof *r);
		r->maximum = OCFG_UNLIMITED;
		r->where = where_of(c, k);
		r->sink.where = r->where;
		if (!(r->operation = strdup(k->str))) {
			rc = -ENOMEM;
			goto next;
		}
		rc = walk_req(c, MAP_VAL(v, i), r);
next:
		kpop(c, m);
	}
	return rc;
}

static int walk_policy(struct ctx *c, const struct ynode *v, struct ocfg_policy *p)
{
	long long num;
	int rc;

	if (v->kind != Y_MAP)
		return fail(c, v, "expected a mapping, got %s", describe(v));
	if ((rc = need_map(c, v)))
		return rc;
	for (size_t i = 0; i < map_len(v) && !rc; i++) {
		const struct ynode *k = MAP_KEY(v, i), *val = MAP_VAL(v, i);
		size_t m = kpush(c, k->str, k->len);

		if (key_is(k, "maximum")) {
			p->maximum_set = true;
			if (is_null(val))
				p->maximum = OCFG_UNLIMITED;
			else if (!(rc = get_int(c, val, 0, INT_MAX, &num)))
				p->maximum = (int)num;
		} else if (key_is(k, "allowlist")) {
			rc = get_idlist(c, val, &p->allowlist);
		} else if (key_is(k, "blocklist")) {
			rc = get_idlist(c, val, &p->blocklist);
		} else {
			rc = unknown_key(c, k, "maximum, allowlist or blocklist");
		}
		if (!rc && p->allowlist.set && p->blocklist.set)
			rc = fail(c, k, "allowlist and blocklist are mutually exclusive");
		kpop(c, m);
	}
	return rc;
}

static int walk_policies(struct ctx *c, const struct ynode *v, struct ocfg_plugin *p)
{
	int rc;

	if ((rc = need_map(c, v)))
		return rc;
	for (size_t i = 0; i < map_len(v) && !rc; i++) {
		const struct ynode *k = MAP_KEY(v, i);
		size_t m = kpush(c, k->str, k->len);
		struct ocfg_policy *arr, *pol;

		if ((rc = check_name(c, k, k->str, k->len, false)))
			goto next;
		if (!(arr = realloc(p->policies, (p->n_policies + 1) * sizeof *arr))) {
			rc = -ENOMEM;
			goto next;
		}
		p->policies = arr;
		pol = &arr[p->n_policies++];
		memset(pol, 0, sizeof *pol);
		if (!(pol->operation = strdup(k->str))) {
			rc = -ENOMEM;
			goto next;
		}
		rc = walk_policy(c, MAP_VAL(v, i), pol);
next:
		kpop(c, m);
	}
	return rc;
}

static int walk_plugin(struct ctx *c, const struct ynode *k, const struct ynode *v)
{
	struct orbitd_config *cfg = c->cfg;
	const struct ocfg_plugin *old;
	struct ocfg_plugin *arr, *p;
	int rc;

	if ((rc = check_name(c, k, k->str, k->len, false)))
		return rc;
	if ((old = orbitd_config_find_plugin(cfg, k->str)))
		return fail(c, k, "duplicate plugin section (first defined at %s:%d:%d)",
			    old->where.file, old->where.line, old->where.column);
	if (!(arr = realloc(cfg->plugins.v, (cfg->plugins.n + 1) * sizeof *arr)))
		return -ENOMEM;
	cfg->plugins.v = arr;
	p = &arr[cfg->plugins.n++];
	memset(p, 0, sizeof *p);
	p->where = where_of(c, k);
	if (!(p->name = strdup(k->str)))
		return -ENOMEM;
	if ((rc = need_map(c, v)))
		return rc;
	for (size_t i = 0; i < map_len(v) && !rc; i++) {
		const struct ynode *pk = MAP_KEY(v, i), *val = MAP_VAL(v, i);
		size_t m = kpush(c, pk->str, pk->len);

		if (key_is(pk, "config"))
			rc = get_value(c, val, &p->config);
		else if (key_is(pk, "required"))
			rc = get_bool(c, val, &p->required);
		else if (key_is(pk, "export"))
			rc = get_bool(c, val, &p->exported);
		else if (key_is(pk, "policies"))
			rc = walk_policies(c, val, p);
		else if (key_is(pk, "identifier"))
			rc = get_ident(c, val, &p->identifier);
		else
			rc = unknown_key(c, pk, "config, required, export, identifier or policies");
		kpop(c, m);
	}
	return rc;
}

/* enable/disable lists accumulate over files; one name in both is an error. */
static int merge_plugin_list(struct ctx *c, const struct ynode *v, bool enable)
{
	struct ocfg_plugins *pl = &c->cfg->plugins;
	struct ocfg_strlist *dst = enable ? &pl->enable : &pl->disable;
	const struct ocfg_strlist *other = enable ? &pl->disable : &pl->enable;
	struct ocfg_strlist tmp = { 0 };
	int rc = get_idlist(c, v, &tmp);

	for (size_t i = 0; !rc && i < tmp.n; i++) {
		if (ocfg_strlist_has(other, tmp.v[i])) {
			size_t m = kpush_index(c, i);

			rc = fail(c, v->kids[i], "plugin '%s' is also in plugins.%s", tmp.v[i],
				  enable ? "disable" : "enable");
			kpop(c, m);
		} else if (!ocfg_strlist_has(dst, tmp.v[i])) {
			rc = strlist_push(dst, tmp.v[i]);
			tmp.v[i] = NULL;
		}
	}
	if (!rc && tmp.set)
		dst->set = true;
	for (size_t i = 0; i < tmp.n; i++)
		free(tmp.v[i]);
	free(tmp.v);
	return rc;
}

static int walk_plugins(struct ctx *c, const struct ynode *v)
{
	int rc;

	if ((rc = need_map(c, v)))
		return rc;
	for (size_t i = 0; i < map_len(v) && !rc; i++) {
		const struct ynode *k = MAP_KEY(v, i), *val = MAP_VAL(v, i);
		size_t m = kpush(c, k->str, k->len);

		if (key_is(k, "dir"))
			rc = get_path(c, val, &c->cfg->plugins.dir);
		else if (key_is(k, "enable"))
			rc = merge_plugin_list(c, val, true);
		else if (key_is(k, "disable"))
			rc = merge_plugin_list(c, val, false);
		else
			rc = walk_plugin(c, k, val);
		kpop(c, m);
	}
	return rc;
}

static int walk_timers(struct ctx *c, const struct ynode *v)
{
	struct ocfg_timers *tm = &c->cfg->timers;
	const struct {
		const char *name;
		double *field;
		bool never_ok, positive;
	} timers[] = {
		{ "loop_interval", &tm->loop_interval, false, true },
		{ "discovering_interval", &tm->discovering_interval, false, false },
		{ "pending_requests_expire_after", &tm->pending_requests_expire_after, true, true },
		{ "consider_others_dead_after", &tm->consider_others_dead_after, false, true },
		{ "send_keepalive_before_timelimit", &tm->send_keepalive_before_timelimit, false, false },
		{ "graceful_close_timeout", &tm->graceful_close_timeout, true, false },
		{ "close_connection_if_unused_after", &tm->close_connection_if_unused_after, true, true },
		{ "shutdown_timeout", &tm->shutdown_timeout, false, false },
	};
	size_t n = sizeof timers / sizeof timers[0];
	int rc;

	if ((rc = need_map(c, v)))
		return rc;
	for (size_t i = 0; i < map_len(v) && !rc; i++) {
		const struct ynode *k = MAP_KEY(v, i);
		size_t m = kpush(c, k->str, k->len), t;

		for (t = 0; t < n && !key_is(k, timers[t].name); t++)
			;
		if (t == n)
			rc = unknown_key(c, k, "loop_interval, discovering_interval, "
					 "pending_requests_expire_after, consider_others_dead_after, "
					 "send_keepalive_before_timelimit, graceful_close_timeout, "
					 "close_connection_if_unused_after or shutdown_timeout");
		else
			rc = get_duration(c, MAP_VAL(v, i), timers[t].never_ok, timers[t].positive,
					  timers[t].field);
		kpop(c, m);
	}
	return rc;
}

static int walk_tls(struct ctx *c, const struct ynode *v)
{
	struct ocfg_mqtt *mq = &c->cfg->mqtt;
	int rc;

	if ((rc = need_map(c, v)))
		return rc;
	c->tls_where = where_of(c, v);
	for (size_t i = 0; i < map_len(v) && !rc; i++) {
		const struct ynode *k = MAP_KEY(v, i), *val = MAP_VAL(v, i);
		size_t m = kpush(c, k->str, k->len);

		if (key_is(k, "ca"))
			rc = get_path(c, val, &mq->tls_ca);
		else if (key_is(k, "cert"))
			rc = get_path(c, val, &mq->tls_cert);
		else if (key_is(k, "key"))
			rc = get_path(c, val, &mq->tls_key);
		else
			rc = unknown_key(c, k, "ca, cert or key");
		kpop(c, m);
	}
	return rc;
}

static int walk_mqtt(struct ctx *c, const struct ynode *v)
{
	struct ocfg_mqtt *mq = &c->cfg->mqtt;
	long long num;
	int rc;

	if ((rc = need_map(c, v)))
		return rc;
	mq->enabled = true;
	for (size_t i = 0; i < map_len(v) && !rc; i++) {
		const struct ynode *k = MAP_KEY(v, i), *val = MAP_VAL(v, i);
		size_t m = kpush(c, k->str, k->len);

		if (key_is(k, "host")) {
			rc = get_nonempty_str(c, val, &mq->host);
		} else if (key_is(k, "port")) {
			if (!(rc = get_int(c, val, 1, 65535, &num)))
				mq->port = (int)num;
		} else if (key_is(k, "client_id")) {
			rc = get_nonempty_str(c, val, &mq->client_id);
		} else if (key_is(k, "username")) {
			rc = get_str(c, val, &mq->username);
		} else if (key_is(k, "password")) {
			rc = get_str(c, val, &mq->password);
		} else if (key_is(k, "keepalive")) {
			rc = get_duration(c, val, false, false, &mq->keepalive);
			/* MQTT carries whole seconds in 16 bits; libmosquitto refuses 1..4. */
			if (!rc && mq->keepalive != 0 &&
			    (mq->keepalive < 5 || mq->keepalive > 65535 ||
			     mq->keepalive != floor(mq->keepalive)))
				rc = fail(c, val, "must be 0 (off) or whole seconds from 5 to 65535");
		} else if (key_is(k, "tls")) {
			rc = walk_tls(c, val);
		} else if (key_is(k, "reconnect_min")) {
			rc = get_duration(c, val, false, true, &mq->reconnect_min);
			c->reconnect_where = where_of(c, val);
			c->reconnect_key = "mqtt.reconnect_min";
		} else if (key_is(k, "reconnect_max")) {
			rc = get_duration(c, val, false, true, &mq->reconnect_max);
			c->reconnect_where = where_of(c, val);
			c->reconnect_key = "mqtt.reconnect_max";
		} else {
			rc = unknown_key(c, k, "host, port, client_id, username, password, keepalive, "
					 "tls, reconnect_min or reconnect_max");
		}
		kpop(c, m);
	}
	return rc;
}

/* Permission bits are octal by nature, as with chmod: "0660", 0660, 660 and
 * 0o660 all mean rw-rw----. (Plain 0660 would be decimal 660 under YAML 1.2.) */
static int get_mode(struct ctx *c, const struct ynode *v, unsigned *out)
{
	const char *t = v->str;
	struct scalar s;
	int rc;

	if (v->kind != Y_SCALAR)
		return fail(c, v, "expected an octal mode such as 0660, got %s", describe(v));
	if ((rc = resolve(c, v, &s)))
		return rc;
	if (s.kind != SK_INT && s.kind != SK_STR)
		return fail(c, v, "expected an octal mode such as 0660, got %s", describe(v));
	if (t[0] == '0' && t[1] == 'o')
		t += 2;
	if (!all_in(t, "01234567") || strlen(t) > 4 || strtoul(t, NULL, 8) > 0777)
		return fail(c, v, "expected an octal mode from 0 to 0777 such as 0660, got '%s'",
			    v->str);
	*out = (unsigned)strtoul(t, NULL, 8);
	return 0;
}

static int walk_control(struct ctx *c, const struct ynode *v)
{
	struct ocfg_control *ct = &c->cfg->control;
	long long num;
	int rc;

	if ((rc = need_map(c, v)))
		return rc;
	for (size_t i = 0; i < map_len(v) && !rc; i++) {
		const struct ynode *k = MAP_KEY(v, i), *val = MAP_VAL(v, i);
		size_t m = kpush(c, k->str, k->len);

		if (key_is(k, "socket")) {
			rc = get_path(c, val, &ct->socket);
			if (!rc && strlen(ct->socket) >= sizeof(((struct sockaddr_un *)0)->sun_path))
				rc = fail(c, val, "socket path '%s' is too long (at most %zu bytes)",
					  ct->socket, sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
		} else if (key_is(k, "mode")) {
			rc = get_mode(c, val, &ct->mode);
		} else if (key_is(k, "group")) {
			rc = get_nonempty_str(c, val, &ct->group);
		} else if (key_is(k, "max_request")) {
			if (!(rc = get_int(c, val, 1024, 64LL << 20, &num)))
				ct->max_request = (size_t)num;
		} else {
			rc = unknown_key(c, k, "socket, mode, group or max_request");
		}
		kpop(c, m);
	}
	return rc;
}

static int walk_log(struct ctx *c, const struct ynode *v)
{
	char *s = NULL;
	int rc;

	if ((rc = need_map(c, v)))
		return rc;
	for (size_t i = 0; i < map_len(v) && !rc; i++) {
		const struct ynode *k = MAP_KEY(v, i), *val = MAP_VAL(v, i);
		size_t m = kpush(c, k->str, k->len);

		if (!key_is(k, "level"))
			rc = unknown_key(c, k, "level");
		else if (!(rc = get_str(c, val, &s)) && olog_parse_level(s, &c->cfg->log_level) < 0)
			rc = fail(c, val, "unknown level '%s' (expected debug, info, notice, "
				  "warning or error)", s);
		kpop(c, m);
	}
	free(s);
	return rc;
}

static int walk_root(struct ctx *c, const struct ynode *root)
{
	struct orbitd_config *cfg = c->cfg;
	int rc;

	if (!root)
		return 0; /* an empty file configures nothing */
	if (root->kind != Y_MAP && !is_null(root))
		return fail(c, root, "the top level must be a mapping, got %s", describe(root));
	if ((rc = need_map(c, root)))
		return rc;
	for (size_t i = 0; i < map_len(root) && !rc; i++) {
		const struct ynode *k = MAP_KEY(root, i), *v = MAP_VAL(root, i);
		size_t m = kpush(c, k->str, k->len);

		if (key_is(k, "identifier")) {
			rc = get_ident(c, v, &cfg->identifier);
		} else if (key_is(k, "discover_topic")) {
			rc = get_topic(c, v, &cfg->discover_topic);
		} else if (key_is(k, "include_dir")) {
			if (!c->is_main) {
				rc = fail(c, k, "only allowed in the main configuration file");
			} else {
				rc = get_path(c, v, &cfg->include_dir);
				c->include_explicit = true;
				c->include_where = where_of(c, v);
			}
		} else if (key_is(k, "timers")) {
			rc = walk_timers(c, v);
		} else if (key_is(k, "mqtt")) {
			rc = walk_mqtt(c, v);
		} else if (key_is(k, "plugins")) {
			rc = walk_plugins(c, v);
		} else if (key_is(k, "requirements")) {
			rc = walk_requirements(c, v);
		} else if (key_is(k, "control")) {
			rc = walk_control(c, v);
		} else if (key_is(k, "log")) {
			rc = walk_log(c, v);
		} else {
			rc = unknown_key(c, k, "identifier, discover_topic, include_dir, timers, mqtt, "
					 "plugins, requirements, control or log");
		}
		kpop(c, m);
	}
	return rc;
}

/* ------------------------------------------------------------------ */
/* Loading                                                             */

static int add_file(struct orbitd_config *cfg, const char *name, const char **stored)
{
	char **f = realloc(cfg->files, (cfg->n_files + 2) * sizeof *f);

	if (!f)
		return -ENOMEM;
	cfg->files = f;
	if (!(f[cfg->n_files] = strdup(name)))
		return -ENOMEM;
	*stored = f[cfg->n_files++];
	f[cfg->n_files] = NULL;
	return 0;
}

/* Parses and applies one document; file is already in cfg->files. */
static int load_text(struct ctx *c, const char *file, const char *dir, const char *text,
		     size_t len, bool is_main)
{
	struct ydoc d = { 0 };
	struct perr pe;
	int rc;

	c->file = file;
	c->dir = dir;
	c->is_main = is_main;
	kreset(c);
	rc = ydoc_parse((const unsigned char *)text, len, &d, &pe);
	if (rc == -EINVAL)
		rc = fail_plain(c, rc, "%s:%d:%d: %s", file, pe.line, pe.col, pe.msg);
	else if (!rc)
		rc = walk_root(c, d.root);
	ydoc_free(&d);
	return rc;
}

static int load_path(struct ctx *c, const char *path, bool is_main)
{
	const char *file;
	char *text = NULL, *dir = NULL;
	size_t len = 0;
	int rc;

	if ((rc = add_file(c->cfg, path, &file)))
		return rc;
	rc = read_file(path, MAX_FILE_SIZE, &text, &len);
	if (rc == -EFBIG)
		return fail_plain(c, rc, "%s: larger than %u bytes", path, MAX_FILE_SIZE);
	if (rc == -EINVAL)
		return fail_plain(c, rc, "%s: not a regular file", path);
	if (rc)
		return rc == -ENOMEM ? rc : fail_plain(c, rc, "%s: %s", path, strerror(-rc));
	if (!(dir = dir_of(path)))
		rc = -ENOMEM;
	else
		rc = load_text(c, file, dir, text, len, is_main);
	/* c->dir must not outlive this file's directory string. */
	c->dir = NULL;
	free(dir);
	free(text);
	return rc;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every *.yaml in the include directory, in strcmp (C locale) order. */
static int load_confd(struct ctx *c)
{
	const char *dir = c->cfg->include_dir;
	char **names = NULL, *full = NULL;
	size_t n = 0;
	DIR *d;
	int rc = 0;

	if (!(d = opendir(dir))) {
		rc = -errno;
		if (rc == -ENOENT && !c->include_explicit)
			return 0; /* conf.d is optional */
		kreset(c);
		kpush_str(c, "include_dir");
		if (c->include_explicit)
			return fail_at(c, &c->include_where, "cannot open '%s': %s", dir,
				       strerror(-rc));
		return fail_plain(c, rc, "%s: %s", dir, strerror(-rc));
	}
	for (;;) {
		struct dirent *de;
		size_t len;
		char **nn;

		errno = 0;
		if (!(de = readdir(d))) {
			if (errno)
				rc = fail_plain(c, -errno, "%s: %s", dir, strerror(errno));
			break;
		}
		len = strlen(de->d_name);
		/* Hidden files are editor and package-manager leftovers. */
		if (de->d_name[0] == '.' || len <= 5 || strcmp(de->d_name + len - 5, ".yaml"))
			continue;
		if (!(nn = realloc(names, (n + 1) * sizeof *nn))) {
			rc = -ENOMEM;
			break;
		}
		names = nn;
		if (!(names[n] = strdup(de->d_name))) {
			rc = -ENOMEM;
			break;
		}
		n++;
	}
	closedir(d);
	if (!rc && n)
		qsort(names, n, sizeof *names, cmp_names);
	for (size_t i = 0; i < n && !rc; i++) {
		struct stat st;

		free(full);
		if (!(full = path_join(dir, names[i]))) {
			rc = -ENOMEM;
			break;
		}
		if (stat(full, &st) < 0) {
			rc = fail_plain(c, -errno, "%s: %s", full, strerror(errno));
			break;
		}
		if (!S_ISREG(st.st_mode))
			continue;
		if (c->main_st_set && st.st_dev == c->main_st.st_dev && st.st_ino == c->main_st.st_ino)
			continue; /* include_dir is the main file's own directory */
		rc = load_path(c, full, false);
	}
	free(full);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

static int set_defaults(struct orbitd_config *cfg)
{
	struct ocfg_timers *t = &cfg->timers;

	t->loop_interval = 1;
	t->discovering_interval = 2;
	t->pending_requests_expire_after = 60;
	t->consider_others_dead_after = 120;
	t->send_keepalive_before_timelimit = 10;
	t->graceful_close_timeout = 300;
	t->close_connection_if_unused_after = OCFG_NEVER;
	t->shutdown_timeout = 5;
	cfg->mqtt.port = 1883;
	cfg->mqtt.keepalive = 60;
	cfg->mqtt.reconnect_min = 1;
	cfg->mqtt.reconnect_max = 30;
	cfg->control.mode = 0660;
	cfg->control.max_request = 65536;
	cfg->log_level = LOG_INFO;
	if (!(cfg->discover_topic = strdup("$handshake.discover")) ||
	    !(cfg->mqtt.host = strdup("localhost")) ||
	    !(cfg->plugins.dir = strdup(ORBIT_PLUGINDIR)) ||
	    !(cfg->control.socket = strdup("/run/orbitd/orbitd.sock")))
		return -ENOMEM;
	return 0;
}

static int default_identifier(struct orbitd_config *cfg)
{
	char host[256] = "";

	if (gethostname(host, sizeof host - 1) < 0 || !host[0])
		strcpy(host, "localhost");
	host[sizeof host - 1] = '\0';
	/* Keep the identifier valid whatever the hostname holds. */
	for (char *p = host; *p; p++) {
		if (*p == '+' || *p == '#' || *p == '/')
			*p = '-';
	}
	return asprintf(&cfg->identifier, "orbitd-%s", host) < 0 ? (cfg->identifier = NULL, -ENOMEM)
								  : 0;
}

/* Checks that need every file: values split over files, references. */
static int finalize(struct ctx *c)
{
	struct orbitd_config *cfg = c->cfg;
	struct ocfg_mqtt *mq = &cfg->mqtt;
	int rc;

	kreset(c);
	if (!cfg->identifier && (rc = default_identifier(cfg)))
		return rc;
	if (!mq->client_id && !(mq->client_id = strdup(cfg->identifier)))
		return -ENOMEM;
	if (mq->reconnect_min > mq->reconnect_max) {
		kpush_str(c, c->reconnect_key);
		return fail_at(c, &c->reconnect_where, "reconnect_min (%gs) is greater than "
			       "reconnect_max (%gs)", mq->reconnect_min, mq->reconnect_max);
	}
	if (!mq->tls_cert != !mq->tls_key) {
		kpush_str(c, "mqtt.tls");
		return fail_at(c, &c->tls_where, "cert and key must be given together");
	}
	for (size_t i = 0; i < cfg->n_reqs; i++) {
		const struct ocfg_req *r = &cfg->reqs[i], *t = r;
		char *chain = NULL, *next;
		size_t steps = 0;

		if (r->sink.type != OCFG_SINK_EXECUTE)
			continue;
		kreset(c);
		kpush_str(c, "requirements");
		kpush_str(c, r->operation);
		kpush_str(c, "sink.operation");
		if (!orbitd_config_find_req(cfg, r->sink.operation))
			return fail_at(c, &r->sink.where, "no requirement named '%s'",
				       r->sink.operation);
		/* Each requirement has one sink, so following execute sinks from
		 * r either ends or comes back to r within n_reqs steps. */
		if (!(chain = strdup(r->operation)))
			return -ENOMEM;
		while (t && t->sink.type == OCFG_SINK_EXECUTE && steps++ <= cfg->n_reqs) {
			t = orbitd_config_find_req(cfg, t->sink.operation);
			if (!t)
				break;
			if (asprintf(&next, "%s -> %s", chain, t->operation) < 0) {
				free(chain);
				return -ENOMEM;
			}
			free(chain);
			chain = next;
			if (t == r) {
				rc = fail_at(c, &r->sink.where, "execute sinks form a loop: %s", chain);
				free(chain);
				return rc;
			}
		}
		free(chain);
	}
	kreset(c);
	return 0;
}

static int load_common(const char *name, const char *text, const char *base_dir,
		       struct orbitd_config **out, char **err)
{
	struct ctx c = { 0 };
	struct orbitd_config *cfg;
	const char *file;
	char *dir = NULL;
	int rc;

	if (err)
		*err = NULL;
	if (!name || !out)
		return -EINVAL;
	if (!(cfg = calloc(1, sizeof *cfg))) {
		rc = -ENOMEM;
		goto out;
	}
	c.cfg = cfg;
	if ((rc = set_defaults(cfg)))
		goto out;
	if (text) {
		if ((rc = add_file(cfg, name, &file)))
			goto out;
		if (!(dir = strdup(base_dir ? base_dir : "."))) {
			rc = -ENOMEM;
			goto out;
		}
		rc = load_text(&c, file, dir, text, strlen(text), true);
		c.dir = NULL;
		if (!rc && c.include_explicit)
			rc = load_confd(&c);
	} else {
		if (stat(name, &c.main_st) == 0)
			c.main_st_set = true;
		rc = load_path(&c, name, true);
		if (!rc && !c.include_explicit) {
			char *d = dir_of(name);

			if (!d || !(cfg->include_dir = path_join(d, "conf.d")))
				rc = -ENOMEM;
			free(d);
		}
		if (!rc)
			rc = load_confd(&c);
	}
	if (!rc)
		rc = finalize(&c);
out:
	free(dir);
	if (rc) {
		if (err && !c.err && rc == -ENOMEM)
			c.err = strdup("out of memory");
		else if (err && !c.err && asprintf(&c.err, "%s: %s", name, strerror(-rc)) < 0)
			c.err = NULL;
		if (err) {
			*err = c.err;
			c.err = NULL;
		}
		free(c.err);
		orbitd_config_free(cfg);
		return rc;
	}
	free(c.err);
	*out = cfg;
	return 0;
}

int orbitd_config_load(const char *path, struct orbitd_config **out, char **err)
{
	return load_common(path, NULL, NULL, out, err);
}

int orbitd_config_load_string(const char *yaml, const char *name, const char *base_dir,
			      struct orbitd_config **out, char **err)
{
	if (!yaml) {
		if (err)
			*err = NULL;
		return -EINVAL;
	}
	return load_common(name ? name : "<string>", yaml, base_dir, out, err);
}

int ocfg_value_parse(const char *yaml, const char *name, struct ocfg_value **out, char **err)
{
	struct ctx c = { 0 };
	struct ydoc d = { 0 };
	struct ocfg_value *v = NULL;
	struct perr pe;
	int rc;

	if (err)
		*err = NULL;
	if (!yaml || !name || !out)
		return -EINVAL;
	c.file = name;
	rc = ydoc_parse((const unsigned char *)yaml, strlen(yaml), &d, &pe);
	if (rc == -EINVAL)
		rc = fail_plain(&c, rc, "%s:%d:%d: %s", name, pe.line, pe.col, pe.msg);
	if (rc)
		goto out;
	if (d.root) {
		rc = get_value(&c, d.root, &v);
	} else if ((v = calloc(1, sizeof *v))) {
		/* An empty document is YAML's null. */
		v->where = (struct ocfg_where){ .file = name, .line = 1, .column = 1 };
	} else {
		rc = -ENOMEM;
	}
out:
	ydoc_free(&d);
	if (!rc)
		*out = v;
	if (err && rc == -EINVAL) {
		*err = c.err;
		c.err = NULL;
	}
	free(c.err);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Freeing and accessors                                               */

static void req_free(struct ocfg_req *r)
{
	free(r->operation);
	strlist_free(&r->mandatory);
	strlist_free(&r->allowlist);
	strlist_free(&r->blocklist);
	types_free(r->inputs, r->n_inputs);
	types_free(r->outputs, r->n_outputs);
	free(r->setup_data.data);
	free(r->sink.path);
	for (size_t i = 0; r->sink.argv && i < r->sink.argc; i++)
		free(r->sink.argv[i]);
	free(r->sink.argv);
	free(r->sink.operation);
	free(r->schedule.data_json);
	free(r->schedule.plugin);
}

static void plugin_free(struct ocfg_plugin *p)
{
	free(p->name);
	free(p->identifier);
	ocfg_value_free(p->config);
	for (size_t i = 0; i < p->n_policies; i++) {
		free(p->policies[i].operation);
		strlist_free(&p->policies[i].allowlist);
		strlist_free(&p->policies[i].blocklist);
	}
	free(p->policies);
}

void orbitd_config_free(struct orbitd_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->identifier);
	free(cfg->discover_topic);
	free(cfg->include_dir);
	for (size_t i = 0; i < cfg->n_files; i++)
		free(cfg->files[i]);
	free(cfg->files);
	free(cfg->mqtt.host);
	free(cfg->mqtt.client_id);
	free(cfg->mqtt.username);
	free(cfg->mqtt.password);
	free(cfg->mqtt.tls_ca);
	free(cfg->mqtt.tls_cert);
	free(cfg->mqtt.tls_key);
	free(cfg->plugins.dir);
	strlist_free(&cfg->plugins.enable);
	strlist_free(&cfg->plugins.disable);
	for (size_t i = 0; i < cfg->plugins.n; i++)
		plugin_free(&cfg->plugins.v[i]);
	free(cfg->plugins.v);
	for (size_t i = 0; i < cfg->n_reqs; i++)
		req_free(&cfg->reqs[i]);
	free(cfg->reqs);
	free(cfg->control.socket);
	free(cfg->control.group);
	free(cfg);
}

const struct ocfg_req *orbitd_config_find_req(const struct orbitd_config *cfg,
					      const char *operation)
{
	for (size_t i = 0; cfg && operation && i < cfg->n_reqs; i++) {
		if (cfg->reqs[i].operation && !strcmp(cfg->reqs[i].operation, operation))
			return &cfg->reqs[i];
	}
	return NULL;
}

const struct ocfg_plugin *orbitd_config_find_plugin(const struct orbitd_config *cfg,
						    const char *name)
{
	for (size_t i = 0; cfg && name && i < cfg->plugins.n; i++) {
		if (cfg->plugins.v[i].name && !strcmp(cfg->plugins.v[i].name, name))
			return &cfg->plugins.v[i];
	}
	return NULL;
}

bool orbitd_config_plugin_enabled(const struct orbitd_config *cfg, const char *name)
{
	if (cfg->plugins.enable.set && !ocfg_strlist_has(&cfg->plugins.enable, name))
		return false;
	return !ocfg_strlist_has(&cfg->plugins.disable, name);
}

const struct ocfg_policy *ocfg_plugin_policy(const struct ocfg_plugin *p, const char *operation)
{
	for (size_t i = 0; p && operation && i < p->n_policies; i++) {
		if (!strcmp(p->policies[i].operation, operation))
			return &p->policies[i];
	}
	return NULL;
}

const char orbitd_config_default_yaml[] =
	"# orbitd built-in configuration: every default spelled out, no MQTT broker\n"
	"# (an mqtt: section would enable it) and no requirements, i.e. a pure local\n"
	"# plugin host. identifier, plugins.dir and control.socket keep their\n"
	"# host- and build-dependent defaults.\n"
	"discover_topic: \"$handshake.discover\"\n"
	"timers:\n"
	"  loop_interval: 1s\n"
	"  discovering_interval: 2s\n"
	"  pending_requests_expire_after: 60s\n"
	"  consider_others_dead_after: 120s\n"
	"  send_keepalive_before_timelimit: 10s\n"
	"  graceful_close_timeout: 300s\n"
	"  close_connection_if_unused_after: never\n"
	"  shutdown_timeout: 5s\n"
	"control:\n"
	"  mode: \"0660\"\n"
	"  max_request: 65536\n"
	"log:\n"
	"  level: info\n";
