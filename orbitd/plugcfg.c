/* plugcfg.c — see plugcfg.h.
 *
 * A built plugcfg is a flat array of items, one per declared key in map
 * order (depth first), each with its typed value beside it. Lookups are
 * linear: config maps have a handful of keys and the host reads them at init
 * and reload, not per message.
 *
 * JSON text for `orbitctl plugin show` is written with liborbit's text
 * helpers (orbit/text.h: exactly what Python's json.dumps writes), not with a
 * writer of our own.
 */
#include "plugcfg.h"
#include "strfmt.h"

#include <orbit/text.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NESTING 8 /* MAP inside MAP; plugcfg.h promises this bound */

/* The typed value of one key. */
struct pval {
	bool set;   /* given or defaulted; false: unset (and MAP keys not given) */
	bool b;
	int64_t i;
	double f;
	char *s;    /* STRING */
	char **v;   /* STRINGS: n strings */
	size_t n;
	bool one;   /* STRINGS given as one string (ORBIT_CFG_ONE_OK) */
};

struct plugcfg {
	struct plugcfg_item *items; /* path and value_json malloc'd */
	struct pval *vals;          /* beside items */
	size_t n, cap;
	/* Copies of the file names the items' positions point to: a plugcfg
	 * may outlive the configuration it was built from. */
	char **files;
	size_t n_files;
};

static const char *const type_names[] = {
	[ORBIT_CFG_END] = "end",       [ORBIT_CFG_BOOL] = "bool",
	[ORBIT_CFG_INT] = "int",       [ORBIT_CFG_FLOAT] = "float",
	[ORBIT_CFG_STRING] = "string", [ORBIT_CFG_STRINGS] = "strings",
	[ORBIT_CFG_MAP] = "map",
};

const char *plugcfg_type_name(orbit_cfg_type t)
{
	return (unsigned)t < sizeof type_names / sizeof type_names[0] ? type_names[t] : "?";
}

static void pval_clear(struct pval *p)
{
	free(p->s);
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i]);
	free(p->v);
	memset(p, 0, sizeof *p);
}

void plugcfg_free(struct plugcfg *pc)
{
	if (!pc)
		return;
	for (size_t i = 0; i < pc->n; i++) {
		free((char *)pc->items[i].path);
		free((char *)pc->items[i].value_json);
		pval_clear(&pc->vals[i]);
	}
	for (size_t i = 0; i < pc->n_files; i++)
		free(pc->files[i]);
	free(pc->files);
	free(pc->items);
	free(pc->vals);
	free(pc);
}

/* ------------------------------------------------------------------ */
/* Text helpers                                                        */

/* A bound or default for messages: integers without a fraction, other
 * numbers in their shortest round-trip form. NULL when memory ran out. */
static char *num_text(double x)
{
	char num[ORBIT_DOUBLE_REPR_MAX];

	if (x == floor(x) && fabs(x) < 1e15)
		return strfmt("%.0f", x);
	orbit_double_repr(num, x);
	return strdup(num);
}

/* What a wrong value is, for "(got ...)": scalars as written (strings
 * quoted, long ones cut), collections by kind. */
static char *got_text(const struct ocfg_value *v)
{
	switch (v->kind) {
	case OCFG_V_LIST:
		return strfmt("a list");
	case OCFG_V_MAP:
		return strfmt("a mapping");
	case OCFG_V_NULL:
		return strfmt("null");
	case OCFG_V_STRING:
		return strfmt("\"%.60s%s\"", v->text, strlen(v->text) > 60 ? "..." : "");
	default:
		return strfmt("%.60s", v->text);
	}
}

/* *what = "must be PHRASE (got ...)"; returns -EINVAL, or -ENOMEM. */
static int wrong_type(const struct ocfg_value *v, const char *phrase, char **what)
{
	char *g = got_text(v);

	*what = g ? strfmt("must be %s (got %s)", phrase, g) : NULL;
	free(g);
	return *what ? -EINVAL : -ENOMEM;
}

/* Bounds as the key declares them (ORBIT_CFG_MIN/MAX) on x: a number, a
 * string's length (unit "character") or a list's count (unit "item"). On
 * failure *what = "must be at least 0.001 (DOC)", "must have at most 3
 * items (DOC)"; returns -EINVAL, or -ENOMEM. */
static int check_bounds(const orbit_cfg_key *k, double x, const char *unit, char **what)
{
	bool low = (k->flags & ORBIT_CFG_MIN) && x < k->min;
	double bound = low ? k->min : k->max;
	char *num;

	if (!low && !((k->flags & ORBIT_CFG_MAX) && x > k->max))
		return 0;
	if (!(num = num_text(bound)))
		return -ENOMEM;
	*what = strfmt("must %s at %s %s%s%s%s%s%s%s", !unit ? "be" : k->type == ORBIT_CFG_STRING ?
		       "be" : "have", low ? "least" : "most", num, unit ? " " : "", unit ? unit : "",
		       unit && bound != 1 ? "s" : "", k->type == ORBIT_CFG_STRING ? " long" : "",
		       k->doc ? " (" : "", k->doc ? k->doc : "");
	free(num);
	if (*what && k->doc) {
		char *w = strfmt("%s)", *what);

		free(*what);
		*what = w;
	}
	return *what ? -EINVAL : -ENOMEM;
}

/* YAML 1.1 booleans (orbit/plugin_config.h promises them for BOOL keys); the
 * configuration resolves only the core schema's true/false. A quoted 'yes'
 * is accepted too: the value tree does not keep the quoting, and a BOOL key
 * has no other reading of it. */
static int yaml11_bool(const char *s)
{
	static const char *const yes[] = { "y", "Y", "yes", "Yes", "YES", "on", "On", "ON" };
	static const char *const no[] = { "n", "N", "no", "No", "NO", "off", "Off", "OFF" };

	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
		if (!strcmp(s, yes[i]))
			return 1;
		if (!strcmp(s, no[i]))
			return 0;
	}
	return -1;
}

/* A duration must carry its unit when written as a string: "10" in quotes
 * is text, not a number. */
static bool has_unit(const char *s)
{
	size_t n = strlen(s);

	return n && ((s[n - 1] >= 'a' && s[n - 1] <= 'z') || (s[n - 1] >= 'A' && s[n - 1] <= 'Z'));
}

/* ------------------------------------------------------------------ */
/* One value against one key                                           */

/* Converts the non-null value v of scalar or list key k into *out (cleared
 * by the caller; partial on failure, which pval_clear releases). On
 * -EINVAL, *what is malloc'd and *at is where the problem is (a list item
 * or v). -ENOMEM otherwise. */
static int convert(const orbit_cfg_key *k, const struct ocfg_value *v, struct pval *out,
		   const struct ocfg_value **at, char **what)
{
	int r;

	*at = v;
	out->set = true;
	switch (k->type) {
	case ORBIT_CFG_BOOL:
		if (v->kind == OCFG_V_BOOL) {
			out->b = v->b;
			return 0;
		}
		if (v->kind == OCFG_V_STRING && (r = yaml11_bool(v->text)) >= 0) {
			out->b = r;
			return 0;
		}
		return wrong_type(v, "true or false", what);
	case ORBIT_CFG_INT:
		if (v->kind != OCFG_V_INT)
			return wrong_type(v, "an integer", what);
		out->i = v->i;
		return check_bounds(k, (double)v->i, NULL, what);
	case ORBIT_CFG_FLOAT:
		if (v->kind == OCFG_V_INT || v->kind == OCFG_V_FLOAT)
			out->f = v->f;
		else if (v->kind != OCFG_V_STRING || !has_unit(v->text) ||
			 ocfg_parse_duration(v->text, &out->f) < 0)
			return wrong_type(v, "a number or a duration with unit ms, s, m or h", what);
		if (!isfinite(out->f))
			return wrong_type(v, "a finite number", what);
		return check_bounds(k, out->f, NULL, what);
	case ORBIT_CFG_STRING:
		/* Any scalar is text as written ("port: 8080" for a string key). */
		if (v->kind == OCFG_V_LIST || v->kind == OCFG_V_MAP)
			return wrong_type(v, "a string", what);
		if (!(out->s = strdup(v->text)))
			return -ENOMEM;
		if (k->choices) {
			size_t i;

			for (i = 0; k->choices[i] && strcmp(k->choices[i], v->text); i++)
				;
			if (!k->choices[i]) {
				char *list = NULL, *g;

				for (i = 0; k->choices[i]; i++) {
					char *next = strfmt("%s%s\"%s\"", list ? list : "",
							    !list ? "" : k->choices[i + 1] ? ", " : " or ",
							    k->choices[i]);
					free(list);
					if (!(list = next))
						return -ENOMEM;
				}
				g = got_text(v);
				*what = g ? strfmt("must be %s (got %s)", list, g) : NULL;
				free(g);
				free(list);
				return *what ? -EINVAL : -ENOMEM;
			}
		}
		return check_bounds(k, (double)orbit_utf8_count(v->text, strlen(v->text)), "character", what);
	case ORBIT_CFG_STRINGS:
		if (v->kind != OCFG_V_LIST) {
			if (!(k->flags & ORBIT_CFG_ONE_OK) || v->kind == OCFG_V_MAP)
				return wrong_type(v, (k->flags & ORBIT_CFG_ONE_OK)
						     ? "a string or a list of strings"
						     : "a list of strings", what);
			if (!(out->v = malloc(sizeof *out->v)) || !(out->v[0] = strdup(v->text)))
				return -ENOMEM;
			out->n = 1;
			out->one = true;
		} else if (v->n) {
			if (!(out->v = calloc(v->n, sizeof *out->v)))
				return -ENOMEM;
			for (size_t i = 0; i < v->n; i++) {
				const struct ocfg_value *it = &v->items[i];

				if (it->kind == OCFG_V_LIST || it->kind == OCFG_V_MAP ||
				    it->kind == OCFG_V_NULL) {
					*at = it;
					return wrong_type(it, "a string", what);
				}
				if (!(out->v[i] = strdup(it->text)))
					return -ENOMEM;
				out->n = i + 1;
			}
		}
		return check_bounds(k, (double)out->n, "item", what);
	default:
		*what = strfmt("has an unknown type");
		return *what ? -EINVAL : -ENOMEM;
	}
}

/* The value as JSON text into *json (NULL for an unset value), as
 * json.dumps writes it. Returns 0, -EINVAL (a string that is not UTF-8: only
 * a plugin's default can be, YAML is checked) or -ENOMEM. */
static int value_json(const orbit_cfg_key *k, const struct pval *p, char **json)
{
	orbit_buf b = ORBIT_BUF_INIT;
	char num[32];
	int rc = 0;

	*json = NULL;
	if (!p->set || k->type == ORBIT_CFG_MAP)
		return 0;
	switch (k->type) {
	case ORBIT_CFG_BOOL:
		rc = orbit_buf_append_str(&b, p->b ? "true" : "false");
		break;
	case ORBIT_CFG_INT:
		snprintf(num, sizeof num, "%lld", (long long)p->i);
		rc = orbit_buf_append_str(&b, num);
		break;
	case ORBIT_CFG_FLOAT:
		rc = orbit_json_append_double(&b, p->f);
		break;
	case ORBIT_CFG_STRING:
		rc = orbit_json_append_string(&b, p->s, strlen(p->s));
		break;
	default: /* STRINGS: as written, one string or a list (", " like json.dumps) */
		if (p->one) {
			rc = orbit_json_append_string(&b, p->v[0], strlen(p->v[0]));
			break;
		}
		orbit_buf_append_char(&b, '[');
		for (size_t i = 0; !rc && i < p->n; i++) {
			if (i)
				orbit_buf_append_str(&b, ", ");
			rc = orbit_json_append_string(&b, p->v[i], strlen(p->v[i]));
		}
		orbit_buf_append_char(&b, ']');
		break;
	}
	if (!rc)
		rc = orbit_buf_finish(&b, json, NULL);
	orbit_buf_release(&b);
	return rc;
}

/* A default's value: its YAML text parsed like the configuration. */
static int convert_default(const orbit_cfg_key *k, struct pval *out, char **what)
{
	struct ocfg_value *v = NULL;
	const struct ocfg_value *at;
	char *perr = NULL;
	int rc = ocfg_value_parse(k->def, "default", &v, &perr);

	if (rc == -EINVAL) {
		*what = strfmt("is not valid YAML (%s)", perr);
		rc = *what ? -EINVAL : -ENOMEM;
	} else if (!rc && v->kind == OCFG_V_NULL) {
		*what = strfmt("is null (no default is written NULL)");
		rc = *what ? -EINVAL : -ENOMEM;
	} else if (!rc) {
		rc = convert(k, v, out, &at, what);
	}
	free(perr);
	ocfg_value_free(v);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Checking a config map                                               */

static bool good_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			return false;
	}
	return true;
}

static char *join(const char *prefix, const char *name)
{
	return prefix ? strfmt("%s.%s", prefix, name) : strdup(name);
}

/* The problem with key k itself (not its nested keys), as a malloc'd
 * phrase in *what; 0 when there is none. */
static int key_problem(const orbit_cfg_key *k, char **what)
{
	const unsigned known = ORBIT_CFG_REQUIRED | ORBIT_CFG_MIN | ORBIT_CFG_MAX | ORBIT_CFG_ONE_OK;
	const bool bounded = k->type == ORBIT_CFG_INT || k->type == ORBIT_CFG_FLOAT ||
			     k->type == ORBIT_CFG_STRING || k->type == ORBIT_CFG_STRINGS;
	const bool counted = k->type == ORBIT_CFG_STRING || k->type == ORBIT_CFG_STRINGS;
	const char *why = NULL;
	struct pval p = { 0 };
	int rc;

	if (k->type <= ORBIT_CFG_END || k->type > ORBIT_CFG_MAP)
		why = "unknown type";
	else if (k->flags & ~known)
		why = "unknown flags";
	else if ((k->flags & (ORBIT_CFG_MIN | ORBIT_CFG_MAX)) && !bounded)
		why = "bounds apply to int, float, string and strings keys only";
	else if (((k->flags & ORBIT_CFG_MIN) && !isfinite(k->min)) ||
		 ((k->flags & ORBIT_CFG_MAX) && !isfinite(k->max)))
		why = "bounds must be finite";
	else if ((k->flags & ORBIT_CFG_MIN) && (k->flags & ORBIT_CFG_MAX) && k->min > k->max)
		why = "min is greater than max";
	else if (counted && (k->flags & ORBIT_CFG_MIN) && k->min < 0)
		why = "a length or count cannot have a negative min";
	else if ((k->flags & ORBIT_CFG_ONE_OK) && k->type != ORBIT_CFG_STRINGS)
		why = "ORBIT_CFG_ONE_OK applies to strings keys only";
	else if (k->choices && k->type != ORBIT_CFG_STRING)
		why = "choices apply to string keys only";
	else if (k->choices && !k->choices[0])
		why = "choices is empty";
	else if (k->keys && k->type != ORBIT_CFG_MAP)
		why = "keys apply to map keys only";
	else if (!k->keys && k->type == ORBIT_CFG_MAP)
		why = "a map key needs its keys";
	else if (k->def && k->type == ORBIT_CFG_MAP)
		why = "a map key has no default (its keys have)";
	else if (k->def && (k->flags & ORBIT_CFG_REQUIRED))
		why = "a required key has no default";
	else if (k->reserved[0] || k->reserved[1] || k->reserved[2] || k->reserved[3])
		why = "reserved fields are not zero (built for a newer orbitd?)";
	if (why) {
		*what = strdup(why);
		return *what ? -EINVAL : -ENOMEM;
	}
	if (!k->def)
		return 0;
	rc = convert_default(k, &p, what);
	pval_clear(&p);
	if (rc == -EINVAL) {
		char *w = strfmt("default \"%s\" %s", k->def, *what);

		free(*what);
		*what = w;
		rc = w ? -EINVAL : -ENOMEM;
	}
	return rc;
}

static int check_table(const orbit_cfg_key *keys, const char *prefix, int depth, char **why)
{
	int rc = 0;

	if (depth > MAX_NESTING) {
		*why = strfmt("config key '%s': maps nested deeper than %d levels", prefix,
			      MAX_NESTING);
		return *why ? -EINVAL : -ENOMEM;
	}
	for (size_t i = 0; !rc && keys[i].name; i++) {
		const orbit_cfg_key *k = &keys[i];
		char *path = NULL, *what = NULL;

		if (!good_name(k->name)) {
			*why = strfmt("config key '%s%s%s': names are made of A-Z, a-z, 0-9, _ and -",
				      prefix ? prefix : "", prefix ? "." : "", k->name);
			return *why ? -EINVAL : -ENOMEM;
		}
		if (!(path = join(prefix, k->name)))
			return -ENOMEM;
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(keys[j].name, k->name)) {
				what = strdup("declared twice");
				rc = what ? -EINVAL : -ENOMEM;
				break;
			}
		}
		if (!rc)
			rc = key_problem(k, &what);
		if (rc == -EINVAL) {
			*why = strfmt("config key '%s': %s", path, what);
			if (!*why)
				rc = -ENOMEM;
		} else if (!rc && k->type == ORBIT_CFG_MAP) {
			rc = check_table(k->keys, path, depth + 1, why);
		}
		free(what);
		free(path);
	}
	return rc;
}

int plugcfg_check_map(const orbit_cfg_key *map, size_t key_size, char **why)
{
	*why = NULL;
	if (!map)
		return 0;
	/* Entries are indexed with this host's sizeof: a larger entry means a
	 * newer layout than reserved[] could absorb, which this host cannot
	 * walk; a smaller one lacks fields. */
	if (key_size != sizeof(orbit_cfg_key)) {
		*why = strfmt("config map entries are %zu bytes, this orbitd's are %zu", key_size,
			      sizeof(orbit_cfg_key));
		return *why ? -EINVAL : -ENOMEM;
	}
	return check_table(map, NULL, 1, why);
}

/* ------------------------------------------------------------------ */
/* Building                                                            */

struct build {
	struct plugcfg *pc;
	struct ocfg_keypath path; /* "SECTION.KEY..." of the value at hand, for messages */
	char *err;
};

/* *err = "FILE:LINE:COLUMN: key 'SECTION.PATH': WHAT", the configuration's
 * message (no position when w has none); takes what. Returns -EINVAL, or
 * -ENOMEM. */
static int fail(struct build *b, const struct ocfg_where *w, char *what)
{
	if (!what)
		return -ENOMEM;
	b->err = ocfg_message(w, b->path.s, what);
	free(what);
	return b->err ? -EINVAL : -ENOMEM;
}

/* A position owned by pc: the file name is copied once per file. */
static int own_where(struct plugcfg *pc, const struct ocfg_where *w, struct ocfg_where *out)
{
	char **f;

	*out = *w;
	if (!w->file)
		return 0;
	for (size_t i = 0; i < pc->n_files; i++) {
		if (!strcmp(pc->files[i], w->file)) {
			out->file = pc->files[i];
			return 0;
		}
	}
	if (!(f = realloc(pc->files, (pc->n_files + 1) * sizeof *f)))
		return -ENOMEM;
	pc->files = f;
	if (!(f[pc->n_files] = strdup(w->file)))
		return -ENOMEM;
	out->file = f[pc->n_files++];
	return 0;
}

/* Appends the item for key k at path (taken); its index in *idx. */
static int add_item(struct plugcfg *pc, const orbit_cfg_key *k, char *path, size_t *idx)
{
	if (pc->n == pc->cap) {
		size_t cap = pc->cap ? pc->cap * 2 : 8;
		struct plugcfg_item *it = realloc(pc->items, cap * sizeof *it);
		struct pval *pv;

		if (it)
			pc->items = it;
		pv = it ? realloc(pc->vals, cap * sizeof *pv) : NULL;
		if (!pv) {
			free(path);
			return -ENOMEM;
		}
		pc->vals = pv;
		pc->cap = cap;
	}
	memset(&pc->items[pc->n], 0, sizeof pc->items[pc->n]);
	memset(&pc->vals[pc->n], 0, sizeof pc->vals[pc->n]);
	pc->items[pc->n].path = path;
	pc->items[pc->n].key = k;
	*idx = pc->n++;
	return 0;
}

static const struct ocfg_value *map_get(const struct ocfg_value *m, const char *name, size_t *i)
{
	for (*i = 0; m && m->kind == OCFG_V_MAP && *i < m->n; (*i)++) {
		if (!strcmp(m->keys[*i], name))
			return &m->items[*i];
	}
	return NULL;
}

static int unknown_key(struct build *b, const orbit_cfg_key *keys, const struct ocfg_value *m,
		       size_t i)
{
	char *list = NULL;
	size_t n = 0, j;
	int rc;

	while (keys[n].name)
		n++;
	for (j = 0; j < n; j++) {
		char *next = strfmt("%s%s%s", list ? list : "", !j ? "" : j + 1 < n ? ", " : " or ",
				    keys[j].name);
		free(list);
		if (!(list = next))
			break;
	}
	ocfg_kpush_str(&b->path, m->keys[i]);
	if (n && !list)
		rc = -ENOMEM;
	else
		rc = fail(b, &m->key_where[i],
			  n ? strfmt("unknown key (expected %s)", list) : strfmt("unknown key"));
	free(list);
	return rc;
}

/* Builds the items of table keys from m (a map value, or NULL when absent or
 * null). missing_at: where a missing required key is reported. */
static int build_table(struct build *b, const orbit_cfg_key *keys, const struct ocfg_value *m,
		       const char *prefix, const struct ocfg_where *missing_at)
{
	size_t j;
	int rc = 0;

	for (size_t i = 0; m && i < m->n; i++) {
		bool known = false;

		for (j = 0; keys[j].name && !known; j++)
			known = !strcmp(keys[j].name, m->keys[i]);
		if (!known)
			return unknown_key(b, keys, m, i);
	}
	for (size_t i = 0; !rc && keys[i].name; i++) {
		const orbit_cfg_key *k = &keys[i];
		const struct ocfg_value *v = map_get(m, k->name, &j), *at;
		char *path = join(prefix, k->name), *what = NULL;
		struct plugcfg_item *item;
		struct pval *pv;
		size_t idx, mark = ocfg_kpush_str(&b->path, k->name);

		if (!path || (rc = add_item(b->pc, k, path, &idx)))
			return -ENOMEM;
		/* A key written with a null value ("timeout:" or "timeout: ~") is
		 * unset, like an absent one: the default applies. */
		if (v && v->kind == OCFG_V_NULL) {
			if (k->flags & ORBIT_CFG_REQUIRED)
				return fail(b, &v->where,
					    k->doc ? strfmt("required, must not be null (%s)", k->doc)
						   : strfmt("required, must not be null"));
			v = NULL;
		}
		item = &b->pc->items[idx];
		pv = &b->pc->vals[idx];
		if (v && (rc = own_where(b->pc, &v->where, &item->where)))
			return rc;
		item->given = v != NULL;
		if (k->type == ORBIT_CFG_MAP) {
			if (v && v->kind != OCFG_V_MAP) {
				rc = wrong_type(v, "a mapping", &what);
				return rc == -EINVAL ? fail(b, &v->where, what) : rc;
			}
			pv->set = v != NULL;
			rc = build_table(b, k->keys, v, path, v ? &v->where : missing_at);
			ocfg_kpop(&b->path, mark);
			continue;
		}
		if (!v && (k->flags & ORBIT_CFG_REQUIRED))
			return fail(b, missing_at,
				    k->doc ? strfmt("required key missing (%s)", k->doc)
					   : strfmt("required key missing"));
		if (v) {
			rc = convert(k, v, pv, &at, &what);
			if (rc == -EINVAL && at != v) /* a list item: name it in the path too */
				ocfg_kpush_index(&b->path, (size_t)(at - v->items));
			if (rc == -EINVAL)
				return fail(b, &at->where, what);
		} else if (k->def) {
			/* plugcfg_check_map has accepted it: only memory can fail. */
			rc = convert_default(k, pv, &what);
			free(what);
		}
		if (!rc)
			rc = value_json(k, pv, (char **)&item->value_json);
		ocfg_kpop(&b->path, mark);
	}
	return rc;
}

int plugcfg_build(const orbit_cfg_key *map, const struct ocfg_value *given, const char *section,
		  const struct ocfg_where *where_absent, struct plugcfg **out, char **err)
{
	struct build b = { 0 };
	char *what = NULL;
	int rc = 0;

	*out = NULL;
	*err = NULL;
	ocfg_kpush_str(&b.path, section ? section : "config");
	if (!(b.pc = calloc(1, sizeof *b.pc)))
		return -ENOMEM;
	if (given && given->kind == OCFG_V_NULL)
		given = NULL;
	if (given && !map)
		rc = fail(&b, &given->where, strfmt("this plugin takes no config"));
	else if (given && given->kind != OCFG_V_MAP)
		rc = wrong_type(given, "a mapping", &what) == -EINVAL
			     ? fail(&b, &given->where, what) : -ENOMEM;
	else if (map)
		rc = build_table(&b, map, given, NULL, given ? &given->where : where_absent);
	if (rc) {
		plugcfg_free(b.pc);
		if (rc == -EINVAL)
			*err = b.err;
		else
			free(b.err);
		return rc;
	}
	*out = b.pc;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Reading                                                             */

static bool pval_equal(orbit_cfg_type t, const struct pval *a, const struct pval *b)
{
	if (a->set != b->set)
		return false;
	if (!a->set)
		return true;
	switch (t) {
	case ORBIT_CFG_BOOL:
		return a->b == b->b;
	case ORBIT_CFG_INT:
		return a->i == b->i;
	case ORBIT_CFG_FLOAT:
		return a->f == b->f;
	case ORBIT_CFG_STRING:
		return !strcmp(a->s, b->s);
	case ORBIT_CFG_STRINGS:
		if (a->n != b->n || a->one != b->one)
			return false;
		for (size_t i = 0; i < a->n; i++) {
			if (strcmp(a->v[i], b->v[i]))
				return false;
		}
		return true;
	default: /* MAP: its keys are items of their own */
		return true;
	}
}

bool plugcfg_equal(const struct plugcfg *a, const struct plugcfg *b)
{
	if (!a || !b)
		return a == b;
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		const orbit_cfg_key *k = a->items[i].key;

		if (strcmp(a->items[i].path, b->items[i].path) ||
		    k->type != b->items[i].key->type || !pval_equal(k->type, &a->vals[i], &b->vals[i]))
			return false;
	}
	return true;
}

/* The value at path if it is declared with type t (any type for
 * ORBIT_CFG_END), else NULL with *misuse set. */
static const struct pval *lookup(const struct plugcfg *pc, const char *path, orbit_cfg_type t,
				 bool *misuse)
{
	for (size_t i = 0; pc && path && i < pc->n; i++) {
		if (strcmp(pc->items[i].path, path))
			continue;
		if (t != ORBIT_CFG_END && pc->items[i].key->type != t)
			break;
		return &pc->vals[i];
	}
	if (misuse)
		*misuse = true;
	return NULL;
}

bool plugcfg_is_set(const struct plugcfg *pc, const char *path, bool *misuse)
{
	const struct pval *p = lookup(pc, path, ORBIT_CFG_END, misuse);

	return p && p->set;
}

bool plugcfg_bool(const struct plugcfg *pc, const char *path, bool *misuse)
{
	const struct pval *p = lookup(pc, path, ORBIT_CFG_BOOL, misuse);

	return p && p->b;
}

int64_t plugcfg_int(const struct plugcfg *pc, const char *path, bool *misuse)
{
	const struct pval *p = lookup(pc, path, ORBIT_CFG_INT, misuse);

	return p ? p->i : 0;
}

double plugcfg_float(const struct plugcfg *pc, const char *path, bool *misuse)
{
	const struct pval *p = lookup(pc, path, ORBIT_CFG_FLOAT, misuse);

	return p ? p->f : 0;
}

const char *plugcfg_string(const struct plugcfg *pc, const char *path, bool *misuse)
{
	const struct pval *p = lookup(pc, path, ORBIT_CFG_STRING, misuse);

	return p ? p->s : NULL;
}

size_t plugcfg_count(const struct plugcfg *pc, const char *path, bool *misuse)
{
	const struct pval *p = lookup(pc, path, ORBIT_CFG_STRINGS, misuse);

	return p ? p->n : 0;
}

const char *plugcfg_string_at(const struct plugcfg *pc, const char *path, size_t i,
			      bool *misuse)
{
	const struct pval *p = lookup(pc, path, ORBIT_CFG_STRINGS, misuse);

	if (p && i < p->n)
		return p->v[i];
	if (p && misuse)
		*misuse = true;
	return NULL;
}

bool plugcfg_is_one(const struct plugcfg *pc, const char *path, bool *misuse)
{
	const struct pval *p = lookup(pc, path, ORBIT_CFG_STRINGS, misuse);

	return p && p->one;
}

size_t plugcfg_n_items(const struct plugcfg *pc)
{
	return pc ? pc->n : 0;
}

const struct plugcfg_item *plugcfg_item(const struct plugcfg *pc, size_t i)
{
	return pc && i < pc->n ? &pc->items[i] : NULL;
}
