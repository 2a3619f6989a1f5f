/* cfgvalue.c — see cfgvalue.h. Also implements the value helpers config.h
 * declares for the whole daemon: key paths, messages, struct ocfg_value,
 * durations and identifier lists.
 */
#include "cfgvalue.h"
#include "strfmt.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DURATION 1e9 /* seconds (~31 years); keeps µs in int64 */

#define TAG_PREFIX "tag:yaml.org,2002:"

/* ------------------------------------------------------------------ */
/* Key paths and messages                                              */

size_t ocfg_kpush(struct ocfg_keypath *p, const char *name, size_t len)
{
	size_t old = p->len;

	if (p->len > 0 && p->len < sizeof p->s - 1)
		p->s[p->len++] = '.';
	for (size_t i = 0; i < len && p->len < sizeof p->s - 1; i++) {
		unsigned char ch = (unsigned char)name[i];

		p->s[p->len++] = ch < 0x20 ? '?' : (char)ch;
	}
	p->s[p->len] = '\0';
	return old;
}

size_t ocfg_kpush_str(struct ocfg_keypath *p, const char *name)
{
	return ocfg_kpush(p, name, strlen(name));
}

size_t ocfg_kpush_index(struct ocfg_keypath *p, size_t i)
{
	size_t old = p->len;
	int r = snprintf(p->s + p->len, sizeof p->s - p->len, "[%zu]", i);

	if (r > 0)
		p->len += (size_t)r < sizeof p->s - p->len ? (size_t)r : sizeof p->s - p->len - 1;
	return old;
}

void ocfg_kpop(struct ocfg_keypath *p, size_t mark)
{
	p->len = mark;
	p->s[mark] = '\0';
}

char *ocfg_message(const struct ocfg_where *w, const char *keypath, const char *what)
{
	bool key = keypath && *keypath;

	/* Problems of a document as a whole (a top level that is not a
	 * mapping) have no key. */
	if (w && w->file)
		return strfmt("%s:%d:%d: %s%s%s%s", w->file, w->line, w->column, key ? "key '" : "",
			      key ? keypath : "", key ? "': " : "", what);
	return strfmt("%s%s%s%s", key ? "key '" : "", key ? keypath : "", key ? "': " : "", what);
}

static int failv(struct cv_reader *c, const struct ocfg_where *w, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
static int failv(struct cv_reader *c, const struct ocfg_where *w, const char *fmt, va_list ap)
{
	char msg[512];

	if (c->err)
		return -EINVAL;
	vsnprintf(msg, sizeof msg, fmt, ap);
	/* Reported as "out of memory", not as a nameless EINVAL. */
	return (c->err = ocfg_message(w, c->path.s, msg)) ? -EINVAL : -ENOMEM;
}

int cv_fail(struct cv_reader *c, const struct ynode *n, const char *fmt, ...)
{
	struct ocfg_where w = cv_where(c, n);
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = failv(c, &w, fmt, ap);
	va_end(ap);
	return rc;
}

int cv_fail_at(struct cv_reader *c, const struct ocfg_where *w, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = failv(c, w, fmt, ap);
	va_end(ap);
	return rc;
}

int cv_fail_plain(struct cv_reader *c, int rc, const char *fmt, ...)
{
	va_list ap;

	if (c->err)
		return rc;
	va_start(ap, fmt);
	if (!(c->err = strvfmt(fmt, ap)))
		rc = -ENOMEM;
	va_end(ap);
	return rc;
}

struct ocfg_where cv_where(const struct cv_reader *c, const struct ynode *n)
{
	return (struct ocfg_where){ .file = c->file, .line = n->line, .column = n->col };
}

int cv_parse(struct cv_reader *c, const char *text, size_t len, struct ydoc *d)
{
	struct ydoc_err pe;
	int rc = ydoc_parse((const unsigned char *)text, len, d, &pe);

	if (rc == -EINVAL)
		rc = cv_fail_plain(c, rc, "%s:%d:%d: %s", c->file, pe.line, pe.col, pe.msg);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Scalars (YAML 1.2 core schema)                                      */

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
static int resolve_quiet(const struct ynode *n, struct cv_scalar *s, const char **why)
{
	const char *t = n->str;
	const char *tag = n->tag;
	int r;

	memset(s, 0, sizeof *s);
	if (!n->plain && (!tag || !strcmp(tag, "!") || tag_is(tag, "str"))) {
		s->kind = CV_STR;
		return 0;
	}
	if (tag && !tag_is(tag, "null") && !tag_is(tag, "bool") && !tag_is(tag, "int") &&
	    !tag_is(tag, "float")) {
		*why = "unsupported tag";
		return -EINVAL;
	}
	if ((!tag || tag_is(tag, "null")) && text_is_null(t)) {
		s->kind = CV_NULL;
		return 0;
	}
	if ((!tag || tag_is(tag, "bool")) && (r = text_bool(t)) >= 0) {
		s->kind = CV_BOOL;
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
			s->kind = CV_FLOAT;
			s->f = (double)s->i;
			return 0;
		}
		if (r == 1) {
			s->kind = CV_INT;
			return 0;
		}
	}
	if ((!tag || tag_is(tag, "float")) && text_float(t, &s->f)) {
		s->kind = CV_FLOAT;
		return 0;
	}
	if (tag) {
		*why = "value does not match its tag";
		return -EINVAL;
	}
	s->kind = CV_STR;
	return 0;
}

int cv_resolve(struct cv_reader *c, const struct ynode *n, struct cv_scalar *s)
{
	const char *why = NULL;

	if (resolve_quiet(n, s, &why) < 0)
		return n->tag ? cv_fail(c, n, "%s '%s'", why, n->tag) : cv_fail(c, n, "%s", why);
	return 0;
}

const char *cv_describe(const struct ynode *n)
{
	const char *why;
	struct cv_scalar s;

	if (n->kind == Y_MAP)
		return "a mapping";
	if (n->kind == Y_SEQ)
		return "a sequence";
	if (resolve_quiet(n, &s, &why) < 0)
		return "a tagged value";
	switch (s.kind) {
	case CV_NULL:
		return "null";
	case CV_BOOL:
		return "a boolean";
	case CV_INT:
		return "an integer";
	case CV_FLOAT:
		return "a number";
	default:
		return "a string";
	}
}

bool cv_is_null(const struct ynode *n)
{
	const char *why;
	struct cv_scalar s;

	return n->kind == Y_SCALAR && resolve_quiet(n, &s, &why) == 0 && s.kind == CV_NULL;
}

int cv_check_collection_tag(struct cv_reader *c, const struct ynode *n)
{
	if (!n->tag || !strcmp(n->tag, "!") || tag_is(n->tag, n->kind == Y_MAP ? "map" : "seq"))
		return 0;
	return cv_fail(c, n, "unsupported tag '%s'", n->tag);
}

int cv_need_map(struct cv_reader *c, const struct ynode *n)
{
	int rc;

	if (cv_is_null(n))
		return 0;
	if (n->kind != Y_MAP)
		return cv_fail(c, n, "expected a mapping, got %s", cv_describe(n));
	rc = cv_check_collection_tag(c, n);
	for (size_t i = 0; !rc && i < n->n; i += 2) {
		const struct ynode *k = n->kids[i];

		if (k->kind != Y_SCALAR)
			return cv_fail(c, k, "mapping keys must be scalars, got %s", cv_describe(k));
		for (size_t j = 0; j < i; j += 2) {
			const struct ynode *o = n->kids[j];

			if (o->len == k->len && !memcmp(o->str, k->str, k->len)) {
				size_t m = ocfg_kpush(&c->path, k->str, k->len);

				rc = cv_fail(c, k, "duplicate key (first at line %d, column %d)",
					     o->line, o->col);
				ocfg_kpop(&c->path, m);
				break;
			}
		}
	}
	return rc;
}

/* ------------------------------------------------------------------ */
/* Typed values                                                        */

int cv_unknown_key(struct cv_reader *c, const struct ynode *k, const char *expected)
{
	return cv_fail(c, k, "unknown key (expected %s)", expected);
}

int cv_choice(struct cv_reader *c, const struct ynode *n, const char *what,
	      const char *const *names, int n_names, int *out)
{
	char *s = NULL;
	int rc = cv_str(c, n, &s);
	for (int i = 0; !rc && i < n_names; i++) {
		if (!strcmp(s, names[i])) {
			*out = i;
			free(s);
			return 0;
		}
	}
	if (!rc) {
		char expected[256] = "";
		size_t off = 0;
		for (int i = 0; i < n_names && off < sizeof expected; i++)
			off += (size_t)snprintf(expected + off, sizeof expected - off, "%s%s",
						i == 0 ? "" : i == n_names - 1 ? " or " : ", ",
						names[i]);
		rc = cv_fail(c, n, "unknown %s '%s' (expected %s)", what, s, expected);
	}
	free(s);
	return rc;
}

int cv_str(struct cv_reader *c, const struct ynode *n, char **out)
{
	struct cv_scalar s;
	char *dup;
	int rc;

	if (n->kind != Y_SCALAR)
		return cv_fail(c, n, "expected a string, got %s", cv_describe(n));
	if ((rc = cv_resolve(c, n, &s)))
		return rc;
	/* Any other scalar reads as its text ("password: 1234"), null does not. */
	if (s.kind == CV_NULL)
		return cv_fail(c, n, "expected a string, got null");
	if (memchr(n->str, '\0', n->len))
		return cv_fail(c, n, "must not contain NUL");
	if (!(dup = strdup(n->str)))
		return -ENOMEM;
	free(*out);
	*out = dup;
	return 0;
}

int cv_nonempty_str(struct cv_reader *c, const struct ynode *n, char **out)
{
	int rc = cv_str(c, n, out);

	if (!rc && !**out)
		rc = cv_fail(c, n, "must not be empty");
	return rc;
}

/* Identifiers and operation names become parts of MQTT topic names, where
 * '+' and '#' are wildcards and NUL is illegal; '/' would split what
 * orbitalis treats as one topic level. */
int cv_check_name(struct cv_reader *c, const struct ynode *n, const char *s, size_t len,
		  bool topic)
{
	const char *bad = topic ? "+#" : "+#/";

	if (len == 0)
		return cv_fail(c, n, "must not be empty");
	if (memchr(s, '\0', len))
		return cv_fail(c, n, "must not contain NUL");
	for (size_t i = 0; i < len; i++) {
		if (strchr(bad, s[i]))
			return cv_fail(c, n, "must not contain '%c' (it would break MQTT topic names)",
				       s[i]);
	}
	return 0;
}

int cv_ident(struct cv_reader *c, const struct ynode *n, char **out)
{
	char *s = NULL;
	int rc = cv_str(c, n, &s);

	if (!rc)
		rc = cv_check_name(c, n, s, strlen(s), false);
	if (!rc) {
		free(*out);
		*out = s;
		s = NULL;
	}
	free(s);
	return rc;
}

int cv_topic(struct cv_reader *c, const struct ynode *n, char **out)
{
	char *s = NULL;
	int rc = cv_str(c, n, &s);

	if (!rc)
		rc = cv_check_name(c, n, s, strlen(s), true);
	if (!rc) {
		free(*out);
		*out = s;
		s = NULL;
	}
	free(s);
	return rc;
}

int cv_bool(struct cv_reader *c, const struct ynode *n, bool *out)
{
	struct cv_scalar s;
	int rc;

	if (n->kind != Y_SCALAR)
		return cv_fail(c, n, "expected true or false, got %s", cv_describe(n));
	if ((rc = cv_resolve(c, n, &s)))
		return rc;
	if (s.kind != CV_BOOL)
		return cv_fail(c, n, "expected true or false, got '%s'", n->str);
	*out = s.b;
	return 0;
}

int cv_int(struct cv_reader *c, const struct ynode *n, long long lo, long long hi,
	   long long *out)
{
	struct cv_scalar s;
	int rc;

	if (n->kind != Y_SCALAR)
		return cv_fail(c, n, "expected an integer, got %s", cv_describe(n));
	if ((rc = cv_resolve(c, n, &s)))
		return rc;
	if (s.kind != CV_INT)
		return cv_fail(c, n, "expected an integer, got %s", cv_describe(n));
	if (s.i < 0 && lo >= 0)
		return cv_fail(c, n, "must not be negative (got %lld)", s.i);
	if (s.i < lo)
		return cv_fail(c, n, "must be at least %lld (got %lld)", lo, s.i);
	if (s.i > hi)
		return cv_fail(c, n, "must be at most %lld (got %lld)", hi, s.i);
	*out = s.i;
	return 0;
}

struct unit {
	const char *unit;
	double mult;
};

/* A decimal number (a sign when sign_ok), blanks, then one of the units
 * ("" among them for none): the number times the unit's multiplier in *v;
 * -EINVAL otherwise. */
static int parse_scaled(const char *s, bool sign_ok, const struct unit *units, size_t n_units,
			double *v)
{
	const char *p = s, *num;
	char numbuf[64];
	size_t digits = 0;
	bool neg = false;

	if (sign_ok && (*p == '-' || *p == '+'))
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
	for (size_t i = 0; i < n_units; i++) {
		if (!strcmp(p, units[i].unit)) {
			*v = strtod(numbuf, NULL) * units[i].mult * (neg ? -1 : 1);
			return 0;
		}
	}
	return -EINVAL;
}

/* "2", "1.5", "500ms", "2s", "1.5m", "1h" → seconds in *v; -EINVAL otherwise. */
static int parse_duration(const char *s, double *v)
{
	static const struct unit units[] = {
		{ "", 1 }, { "s", 1 }, { "ms", 1e-3 }, { "m", 60 }, { "h", 3600 },
	};
	return parse_scaled(s, true, units, sizeof units / sizeof units[0], v);
}

int ocfg_parse_duration(const char *s, double *v)
{
	return s && v ? parse_duration(s, v) : -EINVAL;
}

int cv_duration(struct cv_reader *c, const struct ynode *n, bool never_ok, bool positive,
		double *out)
{
	struct cv_scalar s;
	double v;
	int rc;

	if (n->kind != Y_SCALAR)
		return cv_fail(c, n, "expected a duration (seconds, or a string like \"500ms\"), got %s",
			       cv_describe(n));
	if ((rc = cv_resolve(c, n, &s)))
		return rc;
	switch (s.kind) {
	case CV_INT:
		v = (double)s.i;
		break;
	case CV_FLOAT:
		v = s.f;
		break;
	case CV_STR:
		if (!strcmp(n->str, "never")) {
			if (!never_ok)
				return cv_fail(c, n, "'never' is not allowed here");
			*out = OCFG_NEVER;
			return 0;
		}
		if (parse_duration(n->str, &v) < 0)
			return cv_fail(c, n, "invalid duration '%s' (expected seconds or a number "
				       "with unit ms, s, m or h%s)", n->str, never_ok ? ", or never" : "");
		break;
	default:
		return cv_fail(c, n, "expected a duration (seconds, or a string like \"500ms\"), got %s",
			       cv_describe(n));
	}
	if (!isfinite(v))
		return cv_fail(c, n, "must be a finite duration");
	if (v < 0)
		return cv_fail(c, n, "must not be negative (got '%s')", n->str);
	if (positive && v == 0)
		return cv_fail(c, n, "must be greater than 0");
	if (v > MAX_DURATION)
		return cv_fail(c, n, "too large (at most %.0f seconds)", MAX_DURATION);
	*out = v;
	return 0;
}

/* "1024", "512M", "1.5 GiB" → bytes in *v (rounded down); -EINVAL otherwise. */
static int parse_size(const char *s, uint64_t *v)
{
	static const struct unit units[] = {
		{ "", 1 }, { "K", 1024.0 }, { "M", 1048576.0 }, { "G", 1073741824.0 },
		{ "KiB", 1024.0 }, { "MiB", 1048576.0 }, { "GiB", 1073741824.0 },
	};
	double d;
	int rc = parse_scaled(s, false, units, sizeof units / sizeof units[0], &d);
	if (rc < 0)
		return rc;
	d = floor(d);
	/* Saturate far above any bound a caller sets, so that the conversion
	 * cannot overflow. */
	if (!(d < 0x1p62))
		d = 0x1p62;
	*v = (uint64_t)d;
	return 0;
}

/* b in the largest binary unit that divides it ("16M"), for messages. */
static const char *size_text(uint64_t b, char *buf, size_t len)
{
	static const char units[] = "KMG";
	int u = -1;

	while (u < 2 && b >= 1024 && b % 1024 == 0) {
		b /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%llu", (unsigned long long)b);
	else
		snprintf(buf, len, "%llu%c", (unsigned long long)b, units[u]);
	return buf;
}

int cv_size(struct cv_reader *c, const struct ynode *n, bool unlimited_ok, uint64_t lo,
	    uint64_t hi, uint64_t *out)
{
	struct cv_scalar s;
	char buf[32];
	uint64_t v;
	int rc;

	if (n->kind != Y_SCALAR)
		return cv_fail(c, n, "expected a size (bytes, or a string like \"512M\"), got %s",
			       cv_describe(n));
	if ((rc = cv_resolve(c, n, &s)))
		return rc;
	switch (s.kind) {
	case CV_INT:
		if (s.i < 0)
			return cv_fail(c, n, "must not be negative (got %lld)", s.i);
		v = (uint64_t)s.i;
		break;
	case CV_STR:
		if (!strcmp(n->str, "unlimited")) {
			if (!unlimited_ok)
				return cv_fail(c, n, "'unlimited' is not allowed here");
			*out = 0;
			return 0;
		}
		if (parse_size(n->str, &v) < 0)
			return cv_fail(c, n, "invalid size '%s' (expected bytes or a number with unit "
				       "K, M or G (KiB, MiB, GiB)%s)", n->str,
				       unlimited_ok ? ", or unlimited" : "");
		break;
	default:
		return cv_fail(c, n, "expected a size (bytes, or a string like \"512M\"), got %s",
			       cv_describe(n));
	}
	if (v < lo)
		return cv_fail(c, n, "must be at least %s (got '%s')",
			       size_text(lo, buf, sizeof buf), n->str);
	if (v > hi)
		return cv_fail(c, n, "too large (at most %s)", size_text(hi, buf, sizeof buf));
	*out = v;
	return 0;
}

char *cv_path_join(const char *dir, const char *name)
{
	char *s;

	if (asprintf(&s, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", name) < 0)
		return NULL;
	return s;
}

int cv_path(struct cv_reader *c, const struct ynode *n, char **out)
{
	char *s = NULL, *full;
	int rc = cv_nonempty_str(c, n, &s);

	if (rc) {
		/* cv_nonempty_str leaves an empty string it rejected in s. */
		free(s);
		return rc;
	}
	if (s[0] == '/' || !c->dir || !strcmp(c->dir, ".")) {
		full = s;
		s = NULL;
	} else if (!(full = cv_path_join(c->dir, s))) {
		free(s);
		return -ENOMEM;
	}
	free(s);
	free(*out);
	*out = full;
	return 0;
}

int cv_idlist(struct cv_reader *c, const struct ynode *n, orbit_idlist *l)
{
	/* An explicit [] must stay distinguishable from null: start from an
	 * owned empty list. */
	static const char *const no_ids[] = {NULL};
	int rc;

	orbit_idlist_free(*l);
	*l = NULL;
	if (cv_is_null(n))
		return 0;
	if (n->kind != Y_SEQ)
		return cv_fail(c, n, "expected a sequence of identifiers, got %s", cv_describe(n));
	if ((rc = cv_check_collection_tag(c, n)) || (rc = orbit_idlist_dup(no_ids, l)))
		return rc;
	for (size_t i = 0; i < n->n && !rc; i++) {
		size_t m = ocfg_kpush_index(&c->path, i);
		char *s = NULL;

		rc = cv_ident(c, n->kids[i], &s);
		if (!rc && orbit_idlist_has(*l, s))
			rc = cv_fail(c, n->kids[i], "duplicate entry '%s'", s);
		if (!rc)
			rc = orbit_idlist_append(l, s);
		free(s);
		ocfg_kpop(&c->path, m);
	}
	return rc;
}

/* Permission bits are octal by nature: plain 0660 would be decimal 660 under
 * YAML 1.2, so the text is read in base 8 whatever the scalar resolved to. */
int cv_mode(struct cv_reader *c, const struct ynode *v, unsigned *out)
{
	const char *t = v->str;
	struct cv_scalar s;
	int rc;

	if (v->kind != Y_SCALAR)
		return cv_fail(c, v, "expected an octal mode such as 0660, got %s", cv_describe(v));
	if ((rc = cv_resolve(c, v, &s)))
		return rc;
	if (s.kind != CV_INT && s.kind != CV_STR)
		return cv_fail(c, v, "expected an octal mode such as 0660, got %s", cv_describe(v));
	if (t[0] == '0' && t[1] == 'o')
		t += 2;
	if (!all_in(t, "01234567") || strlen(t) > 4 || strtoul(t, NULL, 8) > 0777)
		return cv_fail(c, v, "expected an octal mode from 0 to 0777 such as 0660, got '%s'",
			       v->str);
	*out = (unsigned)strtoul(t, NULL, 8);
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
int cv_enter(struct cv_reader *c, const struct ynode *n, int depth, size_t *budget)
{
	if (depth > YTREE_MAX_DEPTH)
		return cv_fail(c, n, "nested deeper than %d levels", YTREE_MAX_DEPTH);
	if (*budget == 0)
		return cv_fail(c, n, "more than %d values (aliases expanded)", CV_MAX_VALUES);
	(*budget)--;
	return 0;
}

static int to_value(struct cv_reader *c, const struct ynode *n, struct ocfg_value *v, int depth,
		    size_t *budget)
{
	struct cv_scalar s;
	int rc = 0;

	if ((rc = cv_enter(c, n, depth, budget)))
		return rc;
	v->where = cv_where(c, n);

	switch (n->kind) {
	case Y_MAP:
		if ((rc = cv_need_map(c, n)))
			return rc;
		v->kind = OCFG_V_MAP;
		if (!ymap_len(n))
			return 0;
		v->items = calloc(ymap_len(n), sizeof *v->items);
		v->keys = calloc(ymap_len(n), sizeof *v->keys);
		v->key_where = calloc(ymap_len(n), sizeof *v->key_where);
		if (!v->items || !v->keys || !v->key_where)
			return -ENOMEM;
		for (size_t i = 0; i < ymap_len(n) && !rc; i++) {
			const struct ynode *k = YMAP_KEY(n, i);
			size_t m = ocfg_kpush(&c->path, k->str, k->len);

			/* Keys are looked up as C strings: "a\0b" must not pass for "a". */
			if (memchr(k->str, '\0', k->len))
				rc = cv_fail(c, k, "must not contain NUL");
			else if (!(v->keys[i] = strdup(k->str)))
				rc = -ENOMEM;
			v->key_where[i] = cv_where(c, k);
			/* n counts initialised items, so a failure frees only those. */
			v->n = i + 1;
			if (!rc)
				rc = to_value(c, YMAP_VAL(n, i), &v->items[i], depth + 1, budget);
			ocfg_kpop(&c->path, m);
		}
		return rc;
	case Y_SEQ:
		if ((rc = cv_check_collection_tag(c, n)))
			return rc;
		v->kind = OCFG_V_LIST;
		if (!n->n)
			return 0;
		if (!(v->items = calloc(n->n, sizeof *v->items)))
			return -ENOMEM;
		for (size_t i = 0; i < n->n && !rc; i++) {
			size_t m = ocfg_kpush_index(&c->path, i);

			v->n = i + 1;
			rc = to_value(c, n->kids[i], &v->items[i], depth + 1, budget);
			ocfg_kpop(&c->path, m);
		}
		return rc;
	case Y_SCALAR:
		if ((rc = cv_resolve(c, n, &s)))
			return rc;
		if (memchr(n->str, '\0', n->len))
			return cv_fail(c, n, "must not contain NUL");
		if (!(v->text = strdup(n->str)))
			return -ENOMEM;
		switch (s.kind) {
		case CV_NULL:
			v->kind = OCFG_V_NULL;
			break;
		case CV_BOOL:
			v->kind = OCFG_V_BOOL;
			v->b = s.b;
			break;
		case CV_INT:
			v->kind = OCFG_V_INT;
			v->i = s.i;
			v->f = (double)s.i;
			break;
		case CV_FLOAT:
			v->kind = OCFG_V_FLOAT;
			v->f = s.f;
			break;
		case CV_STR:
			v->kind = OCFG_V_STRING;
			break;
		}
		return 0;
	}
	return 0;
}

int cv_value(struct cv_reader *c, const struct ynode *n, struct ocfg_value **out)
{
	struct ocfg_value *v = calloc(1, sizeof *v);
	size_t budget = CV_MAX_VALUES;
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

int ocfg_value_parse(const char *yaml, const char *name, struct ocfg_value **out, char **err)
{
	struct cv_reader c = { .file = name };
	struct ydoc d = { 0 };
	struct ocfg_value *v = NULL;
	int rc;

	if (err)
		*err = NULL;
	if (!yaml || !name || !out)
		return -EINVAL;
	if ((rc = cv_parse(&c, yaml, strlen(yaml), &d)))
		goto out;
	if (d.root) {
		rc = cv_value(&c, d.root, &v);
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
