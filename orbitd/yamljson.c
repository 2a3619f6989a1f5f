/* yamljson.c — see yamljson.h. Strings and floats are written by liborbit's
 * JSON text helpers (orbit/text.h), the layout (compact, key order kept)
 * here.
 */
#include "yamljson.h"

#include <orbit/text.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* libyaml hands over valid UTF-8 only (it refuses surrogate escapes too), so
 * a refusal here would be a libyaml bug: say so rather than write half a
 * document. */
static int put_string(struct cv_reader *c, const struct ynode *n, orbit_buf *b)
{
	return orbit_json_append_string(b, n->str, n->len) == -EINVAL
		       ? cv_fail(c, n, "not valid UTF-8") : 0;
}

static int to_json(struct cv_reader *c, const struct ynode *n, orbit_buf *b, int depth,
		   size_t *budget)
{
	struct cv_scalar s;
	char num[24];
	int rc = 0;

	if ((rc = cv_enter(c, n, depth, budget)))
		return rc;

	switch (n->kind) {
	case Y_MAP:
		if ((rc = cv_need_map(c, n)))
			return rc;
		orbit_buf_append_char(b, '{');
		for (size_t i = 0; i < ymap_len(n) && !rc; i++) {
			const struct ynode *k = YMAP_KEY(n, i);
			size_t m = ocfg_kpush(&c->path, k->str, k->len);

			if (i)
				orbit_buf_append_char(b, ',');
			rc = put_string(c, k, b);
			orbit_buf_append_char(b, ':');
			if (!rc)
				rc = to_json(c, YMAP_VAL(n, i), b, depth + 1, budget);
			ocfg_kpop(&c->path, m);
		}
		orbit_buf_append_char(b, '}');
		break;
	case Y_SEQ:
		if ((rc = cv_check_collection_tag(c, n)))
			return rc;
		orbit_buf_append_char(b, '[');
		for (size_t i = 0; i < n->n && !rc; i++) {
			size_t m = ocfg_kpush_index(&c->path, i);

			if (i)
				orbit_buf_append_char(b, ',');
			rc = to_json(c, n->kids[i], b, depth + 1, budget);
			ocfg_kpop(&c->path, m);
		}
		orbit_buf_append_char(b, ']');
		break;
	case Y_SCALAR:
		if ((rc = cv_resolve(c, n, &s)))
			return rc;
		switch (s.kind) {
		case CV_NULL:
			orbit_buf_append_str(b, "null");
			break;
		case CV_BOOL:
			orbit_buf_append_str(b, s.b ? "true" : "false");
			break;
		case CV_INT:
			snprintf(num, sizeof num, "%lld", s.i);
			orbit_buf_append_str(b, num);
			break;
		case CV_FLOAT:
			/* Strict JSON: no NaN or Infinity, which Python would write. */
			if (!isfinite(s.f))
				return cv_fail(c, n, "'%s' cannot be represented in JSON", n->str);
			orbit_json_append_double(b, s.f);
			break;
		case CV_STR:
			rc = put_string(c, n, b);
			break;
		}
		break;
	}
	return b->oom ? -ENOMEM : rc;
}

int yj_text(struct cv_reader *c, const struct ynode *n, char **out)
{
	orbit_buf b = ORBIT_BUF_INIT;
	size_t budget = CV_MAX_VALUES;
	char *text;
	int rc = to_json(c, n, &b, 0, &budget);

	if (rc) {
		orbit_buf_release(&b);
		return rc;
	}
	if ((rc = orbit_buf_finish(&b, &text, NULL)))
		return rc;
	free(*out);
	*out = text;
	return 0;
}
