/* yamljson.c — see yamljson.h. The writer is self-contained (growable
 * buffer, string escaper, float formatter) until liborbit offers one JSON
 * text writer for the whole project.
 */
#include "yamljson.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static int to_json(struct cv_reader *c, const struct ynode *n, struct sbuf *b, int depth,
		   size_t *budget)
{
	struct cv_scalar s;
	char num[40];
	int rc = 0;

	if (depth > YTREE_MAX_DEPTH)
		return cv_fail(c, n, "nested deeper than %d levels", YTREE_MAX_DEPTH);
	if (*budget == 0)
		return cv_fail(c, n, "more than %d values (aliases expanded)", CV_MAX_VALUES);
	(*budget)--;

	switch (n->kind) {
	case Y_MAP:
		if ((rc = cv_need_map(c, n)))
			return rc;
		sb_add(b, "{", 1);
		for (size_t i = 0; i < ymap_len(n) && !rc; i++) {
			const struct ynode *k = YMAP_KEY(n, i);
			size_t m = ocfg_kpush(&c->path, k->str, k->len);

			if (i)
				sb_add(b, ",", 1);
			sb_json_string(b, k->str, k->len);
			sb_add(b, ":", 1);
			rc = to_json(c, YMAP_VAL(n, i), b, depth + 1, budget);
			ocfg_kpop(&c->path, m);
		}
		sb_add(b, "}", 1);
		break;
	case Y_SEQ:
		if ((rc = cv_check_collection_tag(c, n)))
			return rc;
		sb_add(b, "[", 1);
		for (size_t i = 0; i < n->n && !rc; i++) {
			size_t m = ocfg_kpush_index(&c->path, i);

			if (i)
				sb_add(b, ",", 1);
			rc = to_json(c, n->kids[i], b, depth + 1, budget);
			ocfg_kpop(&c->path, m);
		}
		sb_add(b, "]", 1);
		break;
	case Y_SCALAR:
		if ((rc = cv_resolve(c, n, &s)))
			return rc;
		switch (s.kind) {
		case CV_NULL:
			sb_puts(b, "null");
			break;
		case CV_BOOL:
			sb_puts(b, s.b ? "true" : "false");
			break;
		case CV_INT:
			snprintf(num, sizeof num, "%lld", s.i);
			sb_puts(b, num);
			break;
		case CV_FLOAT:
			if (!isfinite(s.f))
				return cv_fail(c, n, "'%s' cannot be represented in JSON", n->str);
			format_double(num, sizeof num, s.f);
			sb_puts(b, num);
			break;
		case CV_STR:
			sb_json_string(b, n->str, n->len);
			break;
		}
		break;
	}
	return b->oom ? -ENOMEM : rc;
}

int yj_text(struct cv_reader *c, const struct ynode *n, char **out)
{
	struct sbuf b = { 0 };
	size_t budget = CV_MAX_VALUES;
	int rc = to_json(c, n, &b, 0, &budget);

	if (rc) {
		free(b.s);
		return rc;
	}
	free(*out);
	*out = b.s;
	return 0;
}
