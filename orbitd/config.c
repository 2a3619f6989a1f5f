/* config.c — the schema of orbitd.yaml: loads the main file and every conf.d
 * file (cfgfiles.h) into one struct orbitd_config, section by section, with
 * the defaults, the checks that need every file, and the public
 * orbitd_config_* API.
 *
 * Each file's tree (yamltree.h) is walked into the config under
 * construction with the typed getters of cfgvalue.h, which name the file,
 * position and key path of any problem. That config stays private until
 * every file and every cross-file check has passed; any error frees it
 * whole, so a failed (re)load never leaves anything half-applied.
 */
#include "config.h"
#include "cfgfiles.h"
#include "cfgvalue.h"
#include "log.h"
#include "yamljson.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#ifndef ORBIT_PLUGINDIR
#define ORBIT_PLUGINDIR "/usr/local/lib/orbitd/plugins"
#endif

#define MAX_SCHEMA_SIZE (1u << 20) /* a .avsc file */
#define MIN_LIVENESS_TIMEOUT 0.1   /* seconds */

/* Loading one configuration: the reader's context plus what the walkers
 * remember across sections and files for the final checks. */
struct ctx {
	struct cv_reader rd;
	struct orbitd_config *cfg;
	bool include_explicit;
	struct ocfg_where include_where;
	struct ocfg_where reconnect_where; /* last of reconnect_min/max ... */
	const char *reconnect_key;         /* ... and which one it was */
	struct ocfg_where tls_where;
};

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
static int check_schema_text(struct cv_reader *c, const struct ynode *n, const char *text,
			     size_t len, const char *what)
{
	json_error_t jerr;
	json_t *j = json_loadb(text, len, JSON_DECODE_ANY, &jerr);
	int rc = 0;

	/* jansson reports a failed allocation before parsing with an empty text. */
	if (!j && (json_error_code(&jerr) == json_error_out_of_memory || !jerr.text[0]))
		return -ENOMEM;
	if (!j)
		return cv_fail(c, n, "%s is not valid JSON: %s (line %d, column %d)", what, jerr.text,
			       jerr.line, jerr.column);
	if (!json_is_object(j) && !json_is_string(j) && !json_is_array(j))
		rc = cv_fail(c, n, "%s must be a JSON object, string or array", what);
	json_decref(j);
	return rc;
}

static int type_schema(struct cv_reader *c, const struct ynode *v, struct ocfg_type *t)
{
	char *text = NULL;
	int rc;

	if (v->kind == Y_SCALAR) {
		if ((rc = cv_str(c, v, &text)))
			return rc;
		rc = check_schema_text(c, v, text, strlen(text), "schema");
	} else {
		rc = yj_text(c, v, &text);
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

static int type_schema_file(struct cv_reader *c, const struct ynode *v, struct ocfg_type *t)
{
	char *path = NULL, *text = NULL, *what = NULL;
	size_t len = 0;
	int rc;

	if ((rc = cv_path(c, v, &path)))
		return rc;
	rc = cf_read_file(path, MAX_SCHEMA_SIZE, &text, &len);
	if (rc == -ENOMEM)
		goto out;
	if (rc) {
		rc = cv_fail(c, v, "cannot read '%s': %s", path, strerror(-rc));
		goto out;
	}
	if (memchr(text, '\0', len)) {
		rc = cv_fail(c, v, "'%s' contains a NUL byte", path);
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

static int walk_type(struct cv_reader *c, const struct ynode *n, struct ocfg_type *t)
{
	const struct ynode *given = NULL;
	struct cv_scalar s;
	int rc;

	if (n->kind == Y_SCALAR) {
		if ((rc = cv_resolve(c, n, &s)))
			return rc;
		if (s.kind != CV_STR)
			return cv_fail(c, n, "expected a type name or a mapping, got %s",
				       cv_describe(n));
		for (int k = OCFG_KIND_NONE; k < OCFG_KIND_SCHEMA; k++) {
			if (!strcmp(n->str, kind_names[k])) {
				t->kind = (enum ocfg_kind)k;
				return 0;
			}
		}
		return cv_fail(c, n, "unknown type '%s' (expected none, empty, string, int32, int64, "
			       "float32, float64, {schema: ...} or {schema_file: ...})", n->str);
	}
	if (n->kind != Y_MAP)
		return cv_fail(c, n, "expected a type name or a mapping, got %s", cv_describe(n));
	if ((rc = cv_need_map(c, n)))
		return rc;
	for (size_t i = 0; i < ymap_len(n) && !rc; i++) {
		const struct ynode *k = YMAP_KEY(n, i), *v = YMAP_VAL(n, i);
		size_t m = ocfg_kpush(&c->path, k->str, k->len);

		if (!ykey_is(k, "schema") && !ykey_is(k, "schema_file"))
			rc = cv_unknown_key(c, k, "schema or schema_file");
		else if (given)
			rc = cv_fail(c, k, "schema and schema_file are mutually exclusive");
		else if (ykey_is(k, "schema"))
			rc = type_schema(c, v, t);
		else
			rc = type_schema_file(c, v, t);
		given = k;
		ocfg_kpop(&c->path, m);
	}
	if (!rc && !given)
		rc = cv_fail(c, n, "expected schema or schema_file");
	return rc;
}

static void types_free(struct ocfg_type *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(t[i].schema);
	free(t);
}

/* A type or a non-empty sequence of types into *arr and *n (replacing them). */
static int walk_types(struct cv_reader *c, const struct ynode *v, struct ocfg_type **arr, size_t *n)
{
	size_t count = v->kind == Y_SEQ ? v->n : 1;
	int rc = 0;

	if (v->kind == Y_SEQ && (rc = cv_check_collection_tag(c, v)))
		return rc;
	if (count == 0)
		return cv_fail(c, v, "must not be empty");
	types_free(*arr, *n);
	*n = 0;
	if (!(*arr = calloc(count, sizeof **arr)))
		return -ENOMEM;
	*n = count;
	if (v->kind != Y_SEQ)
		return walk_type(c, v, &(*arr)[0]);
	for (size_t i = 0; i < count && !rc; i++) {
		size_t m = ocfg_kpush_index(&c->path, i);

		rc = walk_type(c, v->kids[i], &(*arr)[i]);
		ocfg_kpop(&c->path, m);
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

static int walk_setup_data(struct cv_reader *c, const struct ynode *v, struct ocfg_bytes *out)
{
	struct ocfg_bytes b = { 0 };
	char *hex = NULL;
	struct cv_scalar s;
	int rc = 0;

	if (v->kind == Y_SCALAR) {
		if ((rc = cv_resolve(c, v, &s)))
			return rc;
		if (s.kind != CV_NULL) {
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
		return cv_fail(c, v, "expected a string or {hex: ...}, got %s", cv_describe(v));
	if ((rc = cv_need_map(c, v)))
		return rc;
	if (ymap_len(v) == 0)
		return cv_fail(c, v, "expected a string or {hex: ...}");
	for (size_t i = 0; i < ymap_len(v) && !rc; i++) {
		const struct ynode *k = YMAP_KEY(v, i), *h = YMAP_VAL(v, i);
		size_t m = ocfg_kpush(&c->path, k->str, k->len), len;

		if (!ykey_is(k, "hex")) {
			rc = cv_unknown_key(c, k, "hex");
		} else if (!(rc = cv_str(c, h, &hex))) {
			len = strlen(hex);
			if (len % 2) {
				rc = cv_fail(c, h, "odd number of hex digits");
			} else if (!(b.data = malloc(len / 2 + 1))) {
				rc = -ENOMEM;
			} else {
				for (size_t j = 0; j < len && !rc; j += 2) {
					int hi = hexval(hex[j]), lo = hexval(hex[j + 1]);

					if (hi < 0 || lo < 0)
						rc = cv_fail(c, h, "invalid hex digit '%c' at offset %zu",
							     hi < 0 ? hex[j] : hex[j + 1], hi < 0 ? j : j + 1);
					else
						b.data[j / 2] = (uint8_t)(hi << 4 | lo);
				}
				b.len = len / 2;
				b.data[b.len] = '\0';
				b.set = true;
			}
		}
		ocfg_kpop(&c->path, m);
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

static int parse_mode(struct cv_reader *c, const struct ynode *v, bool plugin_ok,
		      enum ocfg_mode *out)
{
	int m, rc = cv_choice(c, v, "mode", mode_names,
			      (plugin_ok ? OCFG_MODE_PLUGIN : OCFG_MODE_DISTRIBUTED) + 1, &m);
	if (!rc)
		*out = (enum ocfg_mode)m;
	return rc;
}

static int walk_command(struct cv_reader *c, const struct ynode *v, struct ocfg_sink *s)
{
	size_t n = v->kind == Y_SEQ ? v->n : 3;
	char **argv;
	int rc = 0;

	if (v->kind == Y_MAP)
		return cv_fail(c, v, "expected a command string or an argv sequence, got a mapping");
	if (v->kind == Y_SEQ && (rc = cv_check_collection_tag(c, v)))
		return rc;
	if (n == 0)
		return cv_fail(c, v, "must not be empty");
	if (!(argv = calloc(n + 1, sizeof *argv)))
		return -ENOMEM;
	if (v->kind == Y_SCALAR) {
		s->shell = true;
		rc = cv_nonempty_str(c, v, &argv[2]);
		if (!rc && (!(argv[0] = strdup("/bin/sh")) || !(argv[1] = strdup("-c"))))
			rc = -ENOMEM;
	} else {
		s->shell = false;
		for (size_t i = 0; i < n && !rc; i++) {
			size_t m = ocfg_kpush_index(&c->path, i);

			rc = i == 0 ? cv_nonempty_str(c, v->kids[i], &argv[i])
				    : cv_str(c, v->kids[i], &argv[i]);
			ocfg_kpop(&c->path, m);
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

static int parse_sink_type(struct cv_reader *c, const struct ynode *v, enum ocfg_sink_type *out)
{
	int t, rc = cv_choice(c, v, "sink type", sink_names, OCFG_SINK_EXECUTE + 1, &t);
	if (!rc)
		*out = (enum ocfg_sink_type)t;
	return rc;
}

static int walk_sink(struct cv_reader *c, const struct ynode *v, struct ocfg_sink *s)
{
	const struct ynode *type = v;
	size_t m;
	int rc;

	s->where = cv_where(c, v);
	/* A scalar is the "sink: log" shorthand for a type that needs nothing else. */
	if (v->kind != Y_SCALAR) {
		if ((rc = cv_need_map(c, v)))
			return rc;
		type = NULL;
		for (size_t i = 0; i < ymap_len(v); i++) {
			if (ykey_is(YMAP_KEY(v, i), "type"))
				type = YMAP_VAL(v, i);
		}
		if (!type)
			return cv_fail(c, v, "missing 'type' (log, file, exec or execute)");
	}
	m = v->kind == Y_SCALAR ? c->path.len : ocfg_kpush_str(&c->path, "type");
	rc = parse_sink_type(c, type, &s->type);
	ocfg_kpop(&c->path, m);
	s->timeout = s->type == OCFG_SINK_EXEC ? OCFG_SINK_EXEC_TIMEOUT : OCFG_NEVER;

	for (size_t i = 0; i < ymap_len(v) && !rc; i++) {
		const struct ynode *k = YMAP_KEY(v, i), *val = YMAP_VAL(v, i);

		m = ocfg_kpush(&c->path, k->str, k->len);
		if (ykey_is(k, "type")) {
			rc = 0;
		} else if (ykey_is(k, "path")) {
			rc = s->type == OCFG_SINK_FILE ? cv_path(c, val, &s->path)
						       : cv_fail(c, k, "only valid with type file");
		} else if (ykey_is(k, "command")) {
			rc = s->type == OCFG_SINK_EXEC ? walk_command(c, val, s)
						       : cv_fail(c, k, "only valid with type exec");
		} else if (ykey_is(k, "operation")) {
			if (s->type != OCFG_SINK_EXECUTE) {
				rc = cv_fail(c, k, "only valid with type execute");
			} else {
				rc = cv_ident(c, val, &s->operation);
				s->where = cv_where(c, val);
			}
		} else if (ykey_is(k, "mode")) {
			rc = s->type == OCFG_SINK_EXECUTE ? parse_mode(c, val, false, &s->mode)
							  : cv_fail(c, k, "only valid with type execute");
		} else if (ykey_is(k, "timeout")) {
			rc = s->type == OCFG_SINK_EXEC
				     ? cv_duration(c, val, true, true, &s->timeout)
				     : cv_fail(c, k, "only valid with type exec");
		} else {
			rc = cv_unknown_key(c, k, "type, path, command, timeout, operation or mode");
		}
		ocfg_kpop(&c->path, m);
	}
	if (rc)
		return rc;
	if (s->type == OCFG_SINK_FILE && !s->path)
		return cv_fail(c, v, "type file needs 'path'");
	if (s->type == OCFG_SINK_EXEC && !s->argv)
		return cv_fail(c, v, "type exec needs 'command'");
	if (s->type == OCFG_SINK_EXECUTE && !s->operation)
		return cv_fail(c, v, "type execute needs 'operation'");
	return 0;
}

static bool excluded(const struct ocfg_req *r, const char *id, const char **why)
{
	if (r->allowlist && !orbit_idlist_has(r->allowlist, id)) {
		*why = "is not in the allowlist";
		return true;
	}
	if (orbit_idlist_has(r->blocklist, id)) {
		*why = "is in the blocklist";
		return true;
	}
	return false;
}

static int walk_schedule(struct cv_reader *c, const struct ynode *v, struct ocfg_req *r)
{
	struct ocfg_schedule *sch = &r->schedule;
	const struct ynode *every = NULL, *data = NULL, *plugin = NULL;
	const char *why;
	int rc;

	if (v->kind != Y_MAP)
		return cv_fail(c, v, "expected a mapping, got %s", cv_describe(v));
	if ((rc = cv_need_map(c, v)))
		return rc;
	for (size_t i = 0; i < ymap_len(v) && !rc; i++) {
		const struct ynode *k = YMAP_KEY(v, i), *val = YMAP_VAL(v, i);
		size_t m = ocfg_kpush(&c->path, k->str, k->len);

		if (ykey_is(k, "every")) {
			rc = cv_duration(c, val, false, true, &sch->every);
			every = val;
		} else if (ykey_is(k, "data")) {
			rc = yj_text(c, val, &sch->data_json);
			data = val;
		} else if (ykey_is(k, "mode")) {
			rc = parse_mode(c, val, true, &sch->mode);
		} else if (ykey_is(k, "plugin")) {
			rc = cv_ident(c, val, &sch->plugin);
			plugin = val;
		} else {
			rc = cv_unknown_key(c, k, "every, data, mode or plugin");
		}
		ocfg_kpop(&c->path, m);
	}
	if (rc)
		return rc;
	if (!every)
		return cv_fail(c, v, "missing 'every'");
	if (sch->mode == OCFG_MODE_PLUGIN && !plugin)
		return cv_fail(c, v, "mode plugin needs 'plugin'");
	if (plugin && sch->mode != OCFG_MODE_PLUGIN) {
		size_t m = ocfg_kpush_str(&c->path, "plugin");

		rc = cv_fail(c, plugin, "only valid with mode plugin");
		ocfg_kpop(&c->path, m);
		return rc;
	}
	if (sch->mode == OCFG_MODE_DISTRIBUTED && (!data || data->kind != Y_SEQ || data->n == 0)) {
		size_t m = data ? ocfg_kpush_str(&c->path, "data") : c->path.len;

		rc = cv_fail(c, data ? data : v, "mode distributed needs 'data' to be a non-empty "
			     "sequence (its items are spread over the connections)");
		ocfg_kpop(&c->path, m);
		return rc;
	}
	if (plugin && excluded(r, sch->plugin, &why)) {
		size_t m = ocfg_kpush_str(&c->path, "plugin");

		rc = cv_fail(c, plugin, "plugin '%s' %s, so it can never be connected",
			     sch->plugin, why);
		ocfg_kpop(&c->path, m);
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

static int walk_req(struct cv_reader *c, const struct ynode *v, struct ocfg_req *r)
{
	const struct ynode *max_node = NULL, *mand_node = NULL;
	long long num;
	const char *why;
	int rc;

	if ((rc = cv_need_map(c, v)))
		return rc;
	for (size_t i = 0; i < ymap_len(v) && !rc; i++) {
		const struct ynode *k = YMAP_KEY(v, i), *val = YMAP_VAL(v, i);
		size_t m = ocfg_kpush(&c->path, k->str, k->len);

		if (ykey_is(k, "mandatory")) {
			rc = cv_idlist(c, val, &r->mandatory);
			mand_node = val;
		} else if (ykey_is(k, "minimum")) {
			if (!(rc = cv_int(c, val, 0, INT_MAX, &num)))
				r->minimum = (int)num;
		} else if (ykey_is(k, "maximum")) {
			max_node = val;
			if (cv_is_null(val))
				r->maximum = OCFG_UNLIMITED;
			else if (!(rc = cv_int(c, val, 0, INT_MAX, &num)))
				r->maximum = (int)num;
		} else if (ykey_is(k, "allowlist") || ykey_is(k, "blocklist")) {
			bool allow = ykey_is(k, "allowlist");

			rc = cv_idlist(c, val, allow ? &r->allowlist : &r->blocklist);
			if (!rc && r->allowlist && r->blocklist)
				rc = cv_fail(c, k, "allowlist and blocklist are mutually exclusive");
		} else if (ykey_is(k, "inputs")) {
			rc = walk_types(c, val, &r->inputs, &r->n_inputs);
		} else if (ykey_is(k, "outputs")) {
			rc = walk_types(c, val, &r->outputs, &r->n_outputs);
		} else if (ykey_is(k, "setup_data")) {
			rc = walk_setup_data(c, val, &r->setup_data);
		} else if (ykey_is(k, "sink")) {
			rc = walk_sink(c, val, &r->sink);
		} else if (ykey_is(k, "schedule")) {
			rc = walk_schedule(c, val, r);
		} else {
			rc = cv_unknown_key(c, k, "mandatory, minimum, maximum, allowlist, blocklist, "
					    "inputs, outputs, setup_data, sink or schedule");
		}
		ocfg_kpop(&c->path, m);
	}
	if (rc)
		return rc;
	if (r->maximum != OCFG_UNLIMITED && r->minimum > r->maximum) {
		size_t m = ocfg_kpush_str(&c->path, "maximum");

		rc = cv_fail(c, max_node, "minimum (%d) is greater than maximum (%d)", r->minimum,
			     r->maximum);
		ocfg_kpop(&c->path, m);
		return rc;
	}
	/* SPEC §4.7: such a mandatory plugin can never connect, so the
	 * requirement could never be met; say so now, not at run time. */
	for (size_t i = 0; r->mandatory && r->mandatory[i]; i++) {
		if (excluded(r, r->mandatory[i], &why)) {
			size_t m = ocfg_kpush_str(&c->path, "mandatory");

			ocfg_kpush_index(&c->path, i);
			rc = cv_fail(c, mand_node->kids[i],
				     "mandatory plugin '%s' %s, so the requirement can never be met",
				     r->mandatory[i], why);
			ocfg_kpop(&c->path, m);
			return rc;
		}
	}
	if ((rc = new_type_list(&r->inputs, &r->n_inputs)))
		return rc;
	return new_type_list(&r->outputs, &r->n_outputs);
}

static int walk_requirements(struct ctx *c, const struct ynode *v)
{
	struct cv_reader *rd = &c->rd;
	struct orbitd_config *cfg = c->cfg;
	int rc;

	if ((rc = cv_need_map(rd, v)))
		return rc;
	for (size_t i = 0; i < ymap_len(v) && !rc; i++) {
		const struct ynode *k = YMAP_KEY(v, i);
		size_t m = ocfg_kpush(&rd->path, k->str, k->len);
		const struct ocfg_req *old;
		struct ocfg_req *arr, *r;

		if ((rc = cv_check_name(rd, k, k->str, k->len, false)))
			goto next;
		if ((old = orbitd_config_find_req(cfg, k->str))) {
			rc = cv_fail(rd, k, "duplicate requirement (first defined at %s:%d:%d)",
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
		r->where = cv_where(rd, k);
		r->sink.where = r->where;
		if (!(r->operation = strdup(k->str))) {
			rc = -ENOMEM;
			goto next;
		}
		rc = walk_req(rd, YMAP_VAL(v, i), r);
next:
		ocfg_kpop(&rd->path, m);
	}
	return rc;
}

static int walk_policy(struct cv_reader *c, const struct ynode *v, struct ocfg_policy *p)
{
	long long num;
	int rc;

	if (v->kind != Y_MAP)
		return cv_fail(c, v, "expected a mapping, got %s", cv_describe(v));
	if ((rc = cv_need_map(c, v)))
		return rc;
	for (size_t i = 0; i < ymap_len(v) && !rc; i++) {
		const struct ynode *k = YMAP_KEY(v, i), *val = YMAP_VAL(v, i);
		size_t m = ocfg_kpush(&c->path, k->str, k->len);

		if (ykey_is(k, "maximum")) {
			p->maximum_set = true;
			if (cv_is_null(val))
				p->policy.maximum = OCFG_UNLIMITED;
			else if (!(rc = cv_int(c, val, 0, INT_MAX, &num)))
				p->policy.maximum = (int)num;
		} else if (ykey_is(k, "allowlist")) {
			rc = cv_idlist(c, val, &p->policy.allowlist);
		} else if (ykey_is(k, "blocklist")) {
			rc = cv_idlist(c, val, &p->policy.blocklist);
		} else if (ykey_is(k, "timeout")) {
			rc = cv_duration(c, val, true, true, &p->timeout);
			p->timeout_set = !rc;
		} else if (ykey_is(k, "max_inflight")) {
			if (!(rc = cv_int(c, val, 1, INT_MAX, &num))) {
				p->max_inflight = (unsigned)num;
				p->max_inflight_set = true;
			}
		} else {
			rc = cv_unknown_key(c, k, "maximum, allowlist, blocklist, timeout or "
					    "max_inflight");
		}
		if (!rc && p->policy.allowlist && p->policy.blocklist)
			rc = cv_fail(c, k, "allowlist and blocklist are mutually exclusive");
		ocfg_kpop(&c->path, m);
	}
	return rc;
}

static int walk_policies(struct cv_reader *c, const struct ynode *v, struct ocfg_plugin *p)
{
	int rc;

	if ((rc = cv_need_map(c, v)))
		return rc;
	for (size_t i = 0; i < ymap_len(v) && !rc; i++) {
		const struct ynode *k = YMAP_KEY(v, i);
		size_t m = ocfg_kpush(&c->path, k->str, k->len);
		struct ocfg_policy *arr, *pol;

		if ((rc = cv_check_name(c, k, k->str, k->len, false)))
			goto next;
		if (!(arr = realloc(p->policies, (p->n_policies + 1) * sizeof *arr))) {
			rc = -ENOMEM;
			goto next;
		}
		p->policies = arr;
		pol = &arr[p->n_policies++];
		memset(pol, 0, sizeof *pol);
		pol->where = cv_where(c, k);
		pol->timeout = OCFG_OP_TIMEOUT_DEFAULT;
		pol->max_inflight = OCFG_OP_MAX_INFLIGHT_DEFAULT;
		if (!(pol->operation = strdup(k->str))) {
			rc = -ENOMEM;
			goto next;
		}
		rc = walk_policy(c, YMAP_VAL(v, i), pol);
next:
		ocfg_kpop(&c->path, m);
	}
	return rc;
}

static const char *const isolation_names[] = {
	[OCFG_ISOLATION_PROCESS] = "process", [OCFG_ISOLATION_NONE] = "none",
};

static int parse_isolation(struct cv_reader *c, const struct ynode *v, enum ocfg_isolation *out)
{
	int i, rc = cv_choice(c, v, "isolation", isolation_names, OCFG_ISOLATION_NONE + 1, &i);
	if (!rc)
		*out = (enum ocfg_isolation)i;
	return rc;
}

static void isolate_defaults(struct ocfg_isolate *is, enum ocfg_isolation isolation)
{
	is->isolation = isolation;
	is->memory = UINT64_C(1) << 30;
	is->files = 1024;
	is->processes = 512;
	is->liveness_timeout = 10;
	is->backoff_min = 0.5;
	is->backoff_max = 30;
	is->max_crashes = 5;
	is->window = 60;
}

/* A resource count from lo up, or "unlimited" (0, as limits.memory). */
static int limit_count(struct cv_reader *c, const struct ynode *v, long long lo, uint64_t *out)
{
	long long num;
	int rc;

	if (v->kind == Y_SCALAR && !strcmp(v->str, "unlimited")) {
		struct cv_scalar s;

		if ((rc = cv_resolve(c, v, &s)))
			return rc;
		if (s.kind == CV_STR) {
			*out = 0;
			return 0;
		}
	}
	if ((rc = cv_int(c, v, lo, INT_MAX, &num)))
		return rc;
	*out = (uint64_t)num;
	return 0;
}

static int walk_limits(struct cv_reader *c, const struct ynode *v, struct ocfg_isolate *is)
{
	int rc;

	if (v->kind != Y_MAP)
		return cv_fail(c, v, "expected a mapping, got %s", cv_describe(v));
	if ((rc = cv_need_map(c, v)))
		return rc;
	for (size_t i = 0; i < ymap_len(v) && !rc; i++) {
		const struct ynode *k = YMAP_KEY(v, i), *val = YMAP_VAL(v, i);
		size_t m = ocfg_kpush(&c->path, k->str, k->len);

		/* RLIMIT_AS below 16 MiB cannot even map a plugin and libc;
		 * 1 PiB is far above any address space. */
		if (ykey_is(k, "memory"))
			rc = cv_size(c, val, true, UINT64_C(16) << 20, UINT64_C(1) << 50, &is->memory);
		else if (ykey_is(k, "files"))
			rc = limit_count(c, val, 16, &is->files);
		else if (ykey_is(k, "processes"))
			rc = limit_count(c, val, 1, &is->processes);
		else
			rc = cv_unknown_key(c, k, "memory, files or processes");
		ocfg_kpop(&c->path, m);
	}
	return rc;
}

static int walk_restart(struct cv_reader *c, const struct ynode *v, struct ocfg_isolate *is)
{
	const struct ynode *last = NULL; /* the later of backoff_min and backoff_max */
	const char *last_key = NULL;
	long long num;
	int rc;

	if (v->kind != Y_MAP)
		return cv_fail(c, v, "expected a mapping, got %s", cv_describe(v));
	if ((rc = cv_need_map(c, v)))
		return rc;
	for (size_t i = 0; i < ymap_len(v) && !rc; i++) {
		const struct ynode *k = YMAP_KEY(v, i), *val = YMAP_VAL(v, i);
		size_t m = ocfg_kpush(&c->path, k->str, k->len);

		if (ykey_is(k, "backoff_min") || ykey_is(k, "backoff_max")) {
			bool min = ykey_is(k, "backoff_min");

			rc = cv_duration(c, val, false, true, min ? &is->backoff_min : &is->backoff_max);
			last = val;
			last_key = min ? "backoff_min" : "backoff_max";
		} else if (ykey_is(k, "max_crashes")) {
			if (!(rc = cv_int(c, val, 1, INT_MAX, &num)))
				is->max_crashes = (unsigned)num;
		} else if (ykey_is(k, "window")) {
			rc = cv_duration(c, val, false, true, &is->window);
		} else {
			rc = cv_unknown_key(c, k, "backoff_min, backoff_max, max_crashes or window");
		}
		ocfg_kpop(&c->path, m);
	}
	if (!rc && is->backoff_min > is->backoff_max) {
		size_t m = ocfg_kpush_str(&c->path, last_key);

		rc = cv_fail(c, last, "backoff_min (%gs) is greater than backoff_max (%gs)",
			     is->backoff_min, is->backoff_max);
		ocfg_kpop(&c->path, m);
	}
	return rc;
}

static int walk_plugin(struct ctx *c, const struct ynode *k, const struct ynode *v)
{
	struct cv_reader *rd = &c->rd;
	struct orbitd_config *cfg = c->cfg;
	const struct ocfg_plugin *old;
	struct ocfg_plugin *arr, *p;
	int rc;

	if ((rc = cv_check_name(rd, k, k->str, k->len, false)))
		return rc;
	if ((old = orbitd_config_find_plugin(cfg, k->str)))
		return cv_fail(rd, k, "duplicate plugin section (first defined at %s:%d:%d)",
			       old->where.file, old->where.line, old->where.column);
	if (!(arr = realloc(cfg->plugins.v, (cfg->plugins.n + 1) * sizeof *arr)))
		return -ENOMEM;
	cfg->plugins.v = arr;
	p = &arr[cfg->plugins.n++];
	memset(p, 0, sizeof *p);
	p->where = cv_where(rd, k);
	/* isolation is settled in finalize() unless the section sets it:
	 * plugins.isolation may still come later or in another file. */
	isolate_defaults(&p->isolate, OCFG_ISOLATION_PROCESS);
	if (!(p->name = strdup(k->str)))
		return -ENOMEM;
	if ((rc = cv_need_map(rd, v)))
		return rc;
	for (size_t i = 0; i < ymap_len(v) && !rc; i++) {
		const struct ynode *pk = YMAP_KEY(v, i), *val = YMAP_VAL(v, i);
		size_t m = ocfg_kpush(&rd->path, pk->str, pk->len);

		if (ykey_is(pk, "config")) {
			rc = cv_value(rd, val, &p->config);
		} else if (ykey_is(pk, "required")) {
			rc = cv_bool(rd, val, &p->required);
		} else if (ykey_is(pk, "export")) {
			rc = cv_bool(rd, val, &p->exported);
		} else if (ykey_is(pk, "policies")) {
			rc = walk_policies(rd, val, p);
		} else if (ykey_is(pk, "identifier")) {
			rc = cv_ident(rd, val, &p->identifier);
		} else if (ykey_is(pk, "isolation")) {
			rc = parse_isolation(rd, val, &p->isolate.isolation);
			p->isolation_set = !rc;
		} else if (ykey_is(pk, "limits")) {
			rc = walk_limits(rd, val, &p->isolate);
		} else if (ykey_is(pk, "restart")) {
			rc = walk_restart(rd, val, &p->isolate);
		} else if (ykey_is(pk, "liveness_timeout")) {
			rc = cv_duration(rd, val, false, true, &p->isolate.liveness_timeout);
			/* Pings go out a few times per timeout; shorter would be
			 * all pings and flag healthy plugins on a busy host. */
			if (!rc && p->isolate.liveness_timeout < MIN_LIVENESS_TIMEOUT)
				rc = cv_fail(rd, val, "must be at least %gs (got '%s')",
					     MIN_LIVENESS_TIMEOUT, val->str);
		} else {
			rc = cv_unknown_key(rd, pk, "config, required, export, identifier, policies, "
					    "isolation, limits, restart or liveness_timeout");
		}
		ocfg_kpop(&rd->path, m);
	}
	return rc;
}

/* enable/disable lists accumulate over files; one name in both is an error. */
static int merge_plugin_list(struct ctx *c, const struct ynode *v, bool enable)
{
	struct cv_reader *rd = &c->rd;
	struct ocfg_plugins *pl = &c->cfg->plugins;
	static const char *const no_ids[] = {NULL};
	orbit_idlist *dst = enable ? &pl->enable : &pl->disable;
	struct ocfg_where **dst_where = enable ? &pl->enable_where : &pl->disable_where;
	orbit_idlist other = enable ? pl->disable : pl->enable;
	orbit_idlist tmp = NULL;
	int rc = cv_idlist(rd, v, &tmp);

	for (size_t i = 0; !rc && tmp && tmp[i]; i++) {
		if (orbit_idlist_has(other, tmp[i])) {
			size_t m = ocfg_kpush_index(&rd->path, i);

			rc = cv_fail(rd, v->kids[i], "plugin '%s' is also in plugins.%s", tmp[i],
				     enable ? "disable" : "enable");
			ocfg_kpop(&rd->path, m);
		} else if (!orbit_idlist_has(*dst, tmp[i])) {
			size_t n = orbit_idlist_len(*dst);
			struct ocfg_where *w = realloc(*dst_where, (n + 1) * sizeof *w);

			if (!w) {
				rc = -ENOMEM;
				break;
			}
			*dst_where = w;
			w[n] = cv_where(rd, v->kids[i]);
			rc = orbit_idlist_append(dst, tmp[i]);
		}
	}
	/* An explicit empty list still sets it (enable: [] loads nothing). */
	if (!rc && tmp && !*dst)
		rc = orbit_idlist_dup(no_ids, dst);
	orbit_idlist_free(tmp);
	return rc;
}

static int walk_plugins(struct ctx *c, const struct ynode *v)
{
	struct cv_reader *rd = &c->rd;
	int rc;

	if ((rc = cv_need_map(rd, v)))
		return rc;
	for (size_t i = 0; i < ymap_len(v) && !rc; i++) {
		const struct ynode *k = YMAP_KEY(v, i), *val = YMAP_VAL(v, i);
		size_t m = ocfg_kpush(&rd->path, k->str, k->len);

		if (ykey_is(k, "dir"))
			rc = cv_path(rd, val, &c->cfg->plugins.dir);
		else if (ykey_is(k, "enable"))
			rc = merge_plugin_list(c, val, true);
		else if (ykey_is(k, "disable"))
			rc = merge_plugin_list(c, val, false);
		else if (ykey_is(k, "isolation"))
			rc = parse_isolation(rd, val, &c->cfg->plugins.isolation);
		else
			rc = walk_plugin(c, k, val);
		ocfg_kpop(&rd->path, m);
	}
	return rc;
}

static int walk_timers(struct ctx *c, const struct ynode *v)
{
	struct cv_reader *rd = &c->rd;
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
		{ "accept_dead_after_min", &tm->accept_dead_after_min, false, true },
		{ "accept_dead_after_max", &tm->accept_dead_after_max, false, true },
	};
	const struct ynode *range_node = NULL; /* the later of the two accept_ bounds */
	size_t n = sizeof timers / sizeof timers[0];
	int rc;

	if ((rc = cv_need_map(rd, v)))
		return rc;
	for (size_t i = 0; i < ymap_len(v) && !rc; i++) {
		const struct ynode *k = YMAP_KEY(v, i);
		size_t m = ocfg_kpush(&rd->path, k->str, k->len), t;

		for (t = 0; t < n && !ykey_is(k, timers[t].name); t++)
			;
		if (t == n)
			rc = cv_unknown_key(rd, k, "loop_interval, discovering_interval, "
					    "pending_requests_expire_after, consider_others_dead_after, "
					 "send_keepalive_before_timelimit, graceful_close_timeout, "
					 "close_connection_if_unused_after, shutdown_timeout, "
					 "accept_dead_after_min or accept_dead_after_max");
		else
			rc = cv_duration(rd, YMAP_VAL(v, i), timers[t].never_ok, timers[t].positive,
					 timers[t].field);
		if (!rc && t < n && (timers[t].field == &tm->accept_dead_after_min ||
				     timers[t].field == &tm->accept_dead_after_max))
			range_node = YMAP_VAL(v, i);
		ocfg_kpop(&rd->path, m);
	}
	/* Checked against what earlier files set too: the file that makes the
	 * range empty is the one named. */
	if (!rc && range_node && tm->accept_dead_after_min > tm->accept_dead_after_max)
		rc = cv_fail(rd, range_node, "accept_dead_after_min (%gs) is greater than "
			     "accept_dead_after_max (%gs)", tm->accept_dead_after_min,
			     tm->accept_dead_after_max);
	return rc;
}

static int walk_tls(struct ctx *c, const struct ynode *v)
{
	struct cv_reader *rd = &c->rd;
	struct ocfg_mqtt *mq = &c->cfg->mqtt;
	int rc;

	if ((rc = cv_need_map(rd, v)))
		return rc;
	c->tls_where = cv_where(rd, v);
	for (size_t i = 0; i < ymap_len(v) && !rc; i++) {
		const struct ynode *k = YMAP_KEY(v, i), *val = YMAP_VAL(v, i);
		size_t m = ocfg_kpush(&rd->path, k->str, k->len);

		if (ykey_is(k, "ca"))
			rc = cv_path(rd, val, &mq->tls_ca);
		else if (ykey_is(k, "cert"))
			rc = cv_path(rd, val, &mq->tls_cert);
		else if (ykey_is(k, "key"))
			rc = cv_path(rd, val, &mq->tls_key);
		else
			rc = cv_unknown_key(rd, k, "ca, cert or key");
		ocfg_kpop(&rd->path, m);
	}
	return rc;
}

static int walk_mqtt(struct ctx *c, const struct ynode *v)
{
	struct cv_reader *rd = &c->rd;
	struct ocfg_mqtt *mq = &c->cfg->mqtt;
	long long num;
	int rc;

	if ((rc = cv_need_map(rd, v)))
		return rc;
	mq->enabled = true;
	for (size_t i = 0; i < ymap_len(v) && !rc; i++) {
		const struct ynode *k = YMAP_KEY(v, i), *val = YMAP_VAL(v, i);
		size_t m = ocfg_kpush(&rd->path, k->str, k->len);

		if (ykey_is(k, "host")) {
			rc = cv_nonempty_str(rd, val, &mq->host);
		} else if (ykey_is(k, "port")) {
			if (!(rc = cv_int(rd, val, 1, 65535, &num)))
				mq->port = (int)num;
		} else if (ykey_is(k, "client_id")) {
			rc = cv_nonempty_str(rd, val, &mq->client_id);
		} else if (ykey_is(k, "username")) {
			rc = cv_str(rd, val, &mq->username);
		} else if (ykey_is(k, "password")) {
			rc = cv_str(rd, val, &mq->password);
		} else if (ykey_is(k, "keepalive")) {
			rc = cv_duration(rd, val, false, false, &mq->keepalive);
			/* MQTT carries whole seconds in 16 bits; libmosquitto refuses 1..4. */
			if (!rc && mq->keepalive != 0 &&
			    (mq->keepalive < 5 || mq->keepalive > 65535 ||
			     mq->keepalive != floor(mq->keepalive)))
				rc = cv_fail(rd, val, "must be 0 (off) or whole seconds from 5 to 65535");
		} else if (ykey_is(k, "tls")) {
			rc = walk_tls(c, val);
		} else if (ykey_is(k, "reconnect_min")) {
			rc = cv_duration(rd, val, false, true, &mq->reconnect_min);
			c->reconnect_where = cv_where(rd, val);
			c->reconnect_key = "mqtt.reconnect_min";
		} else if (ykey_is(k, "reconnect_max")) {
			rc = cv_duration(rd, val, false, true, &mq->reconnect_max);
			c->reconnect_where = cv_where(rd, val);
			c->reconnect_key = "mqtt.reconnect_max";
		} else {
			rc = cv_unknown_key(rd, k, "host, port, client_id, username, password, keepalive, "
					    "tls, reconnect_min or reconnect_max");
		}
		ocfg_kpop(&rd->path, m);
	}
	return rc;
}

static int walk_control(struct ctx *c, const struct ynode *v)
{
	struct cv_reader *rd = &c->rd;
	struct ocfg_control *ct = &c->cfg->control;
	long long num;
	int rc;

	if ((rc = cv_need_map(rd, v)))
		return rc;
	for (size_t i = 0; i < ymap_len(v) && !rc; i++) {
		const struct ynode *k = YMAP_KEY(v, i), *val = YMAP_VAL(v, i);
		size_t m = ocfg_kpush(&rd->path, k->str, k->len);

		if (ykey_is(k, "socket")) {
			rc = cv_path(rd, val, &ct->socket);
			if (!rc && strlen(ct->socket) >= sizeof(((struct sockaddr_un *)0)->sun_path))
				rc = cv_fail(rd, val, "socket path '%s' is too long (at most %zu bytes)",
					     ct->socket, sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
		} else if (ykey_is(k, "mode")) {
			rc = cv_mode(rd, val, &ct->mode);
		} else if (ykey_is(k, "group")) {
			rc = cv_nonempty_str(rd, val, &ct->group);
		} else if (ykey_is(k, "max_request")) {
			if (!(rc = cv_int(rd, val, 1024, 64LL << 20, &num)))
				ct->max_request = (size_t)num;
		} else if (ykey_is(k, "max_clients")) {
			if (!(rc = cv_int(rd, val, 1, 1000000, &num)))
				ct->max_clients = (size_t)num;
		} else if (ykey_is(k, "idle_timeout")) {
			rc = cv_duration(rd, val, true, true, &ct->idle_timeout);
		} else if (ykey_is(k, "client_buffer")) {
			rc = cv_size(rd, val, false, UINT64_C(16) << 10, UINT64_C(1) << 40,
				     &ct->client_buffer);
		} else if (ykey_is(k, "total_buffer")) {
			rc = cv_size(rd, val, false, UINT64_C(16) << 10, UINT64_C(1) << 40,
				     &ct->total_buffer);
		} else if (ykey_is(k, "dead_remotes")) {
			if (!(rc = cv_int(rd, val, 0, 100000, &num)))
				ct->dead_remotes = (size_t)num;
		} else {
			rc = cv_unknown_key(rd, k, "socket, mode, group, max_request, max_clients, "
					    "idle_timeout, client_buffer, total_buffer or dead_remotes");
		}
		ocfg_kpop(&rd->path, m);
	}
	/* One client alone may fill its buffer without others being cut. */
	if (!rc && ct->total_buffer < ct->client_buffer)
		rc = cv_fail(rd, v, "total_buffer (%llu bytes) is less than client_buffer (%llu bytes)",
			     (unsigned long long)ct->total_buffer,
			     (unsigned long long)ct->client_buffer);
	return rc;
}

static int walk_log(struct ctx *c, const struct ynode *v)
{
	struct cv_reader *rd = &c->rd;
	char *s = NULL;
	int rc;

	if ((rc = cv_need_map(rd, v)))
		return rc;
	for (size_t i = 0; i < ymap_len(v) && !rc; i++) {
		const struct ynode *k = YMAP_KEY(v, i), *val = YMAP_VAL(v, i);
		size_t m = ocfg_kpush(&rd->path, k->str, k->len);

		if (ykey_is(k, "rate_limit")) {
			long long lim;
			if (!(rc = cv_int(rd, val, 0, 1000000, &lim)))
				c->cfg->log_rate_limit = (unsigned)lim;
		} else if (!ykey_is(k, "level"))
			rc = cv_unknown_key(rd, k, "level or rate_limit");
		else if (!(rc = cv_str(rd, val, &s)) && olog_parse_level(s, &c->cfg->log_level) < 0)
			rc = cv_fail(rd, val, "unknown level '%s' (expected debug, info, notice, "
				     "warning or error)", s);
		ocfg_kpop(&rd->path, m);
	}
	free(s);
	return rc;
}

static int walk_handshake(struct ctx *c, const struct ynode *v)
{
	struct cv_reader *rd = &c->rd;
	int rc;

	if ((rc = cv_need_map(rd, v)))
		return rc;
	for (size_t i = 0; i < ymap_len(v) && !rc; i++) {
		const struct ynode *k = YMAP_KEY(v, i), *val = YMAP_VAL(v, i);
		size_t m = ocfg_kpush(&rd->path, k->str, k->len);
		long long n;

		if (ykey_is(k, "max_pending")) {
			if (!(rc = cv_int(rd, val, 1, 1000000, &n)))
				c->cfg->max_pending = (size_t)n;
		} else if (ykey_is(k, "request_retry_after")) {
			rc = cv_duration(rd, val, false, true, &c->cfg->request_retry_after);
		} else if (ykey_is(k, "request_sends")) {
			if (!(rc = cv_int(rd, val, 1, 100, &n)))
				c->cfg->request_sends = (unsigned)n;
		} else if (ykey_is(k, "close_resend_max")) {
			if (!(rc = cv_int(rd, val, 0, 1000000, &n)))
				c->cfg->close_resend_max = (size_t)n;
		} else {
			rc = cv_unknown_key(rd, k, "max_pending, request_retry_after, request_sends "
					    "or close_resend_max");
		}
		ocfg_kpop(&rd->path, m);
	}
	return rc;
}

/* "HOST:PORT" or "[V6]:PORT" into host (brackets removed) and port. The
 * address itself is only checked when the endpoint binds: a name that does
 * not resolve is a start-up error naming it. */
static int split_listen(struct cv_reader *rd, const struct ynode *v, const char *s, char **host,
			int *port)
{
	const char *colon = strrchr(s, ':'), *h = s;
	size_t hlen = colon ? (size_t)(colon - s) : 0;
	char *end;
	long p;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close + 1 != colon)
			return cv_fail(rd, v, "listen '%s': expected [ADDRESS]:PORT", s);
		h = s + 1;
		hlen = (size_t)(close - h);
	}
	if (!colon || hlen == 0)
		return cv_fail(rd, v, "listen '%s': expected HOST:PORT, e.g. 127.0.0.1:9464", s);
	/* "::1:9464" could be read two ways: IPv6 takes brackets. */
	if (s[0] != '[' && memchr(h, ':', hlen))
		return cv_fail(rd, v, "listen '%s': write an IPv6 address in brackets, "
			       "[ADDRESS]:PORT", s);
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || p < 1 || p > 65535)
		return cv_fail(rd, v, "listen '%s': the port must be 1..65535", s);
	free(*host);
	if (!(*host = strndup(h, hlen)))
		return -ENOMEM;
	*port = (int)p;
	return 0;
}

static int walk_metrics(struct ctx *c, const struct ynode *v)
{
	struct cv_reader *rd = &c->rd;
	struct ocfg_metrics *mt = &c->cfg->metrics;
	long long num;
	int rc;

	mt->enabled = true;
	if (cv_is_null(v))
		return 0; /* `metrics:` alone: every default */
	if ((rc = cv_need_map(rd, v)))
		return rc;
	for (size_t i = 0; i < ymap_len(v) && !rc; i++) {
		const struct ynode *k = YMAP_KEY(v, i), *val = YMAP_VAL(v, i);
		size_t m = ocfg_kpush(&rd->path, k->str, k->len);

		if (ykey_is(k, "listen")) {
			if (!(rc = cv_nonempty_str(rd, val, &mt->listen)))
				rc = split_listen(rd, val, mt->listen, &mt->host, &mt->port);
		} else if (ykey_is(k, "path")) {
			if (!(rc = cv_nonempty_str(rd, val, &mt->path)) &&
			    (mt->path[0] != '/' || strpbrk(mt->path, "?# \t")))
				rc = cv_fail(rd, val, "path '%s' must start with '/' and have no "
					     "query, fragment or blank", mt->path);
		} else if (ykey_is(k, "max_connections")) {
			if (!(rc = cv_int(rd, val, 1, 4096, &num)))
				mt->max_connections = (size_t)num;
		} else if (ykey_is(k, "max_request")) {
			uint64_t sz;
			if (!(rc = cv_size(rd, val, false, 1024, UINT64_C(1) << 20, &sz)))
				mt->max_request = (size_t)sz;
		} else if (ykey_is(k, "timeout")) {
			rc = cv_duration(rd, val, false, true, &mt->timeout);
		} else {
			rc = cv_unknown_key(rd, k, "listen, path, max_connections, max_request or "
					    "timeout");
		}
		ocfg_kpop(&rd->path, m);
	}
	return rc;
}

/* The cf_input walker: one file's top level. */
static int walk_root(void *arg, const struct ynode *root, bool is_main)
{
	struct ctx *c = arg;
	struct cv_reader *rd = &c->rd;
	struct orbitd_config *cfg = c->cfg;
	int rc;

	if (!root)
		return 0; /* an empty file configures nothing */
	if (root->kind != Y_MAP && !cv_is_null(root))
		return cv_fail(rd, root, "the top level must be a mapping, got %s",
			       cv_describe(root));
	if ((rc = cv_need_map(rd, root)))
		return rc;
	for (size_t i = 0; i < ymap_len(root) && !rc; i++) {
		const struct ynode *k = YMAP_KEY(root, i), *v = YMAP_VAL(root, i);
		size_t m = ocfg_kpush(&rd->path, k->str, k->len);

		if (ykey_is(k, "identifier")) {
			rc = cv_ident(rd, v, &cfg->identifier);
		} else if (ykey_is(k, "discover_topic")) {
			rc = cv_topic(rd, v, &cfg->discover_topic);
		} else if (ykey_is(k, "include_dir")) {
			if (!is_main) {
				rc = cv_fail(rd, k, "only allowed in the main configuration file");
			} else {
				rc = cv_path(rd, v, &cfg->include_dir);
				c->include_explicit = true;
				c->include_where = cv_where(rd, v);
			}
		} else if (ykey_is(k, "timers")) {
			rc = walk_timers(c, v);
		} else if (ykey_is(k, "mqtt")) {
			rc = walk_mqtt(c, v);
		} else if (ykey_is(k, "plugins")) {
			rc = walk_plugins(c, v);
		} else if (ykey_is(k, "requirements")) {
			rc = walk_requirements(c, v);
		} else if (ykey_is(k, "control")) {
			rc = walk_control(c, v);
		} else if (ykey_is(k, "log")) {
			rc = walk_log(c, v);
		} else if (ykey_is(k, "handshake")) {
			rc = walk_handshake(c, v);
		} else if (ykey_is(k, "metrics")) {
			rc = walk_metrics(c, v);
		} else {
			rc = cv_unknown_key(rd, k, "identifier, discover_topic, include_dir, timers, mqtt, "
					    "plugins, requirements, control, log, handshake or metrics");
		}
		ocfg_kpop(&rd->path, m);
	}
	return rc;
}

/* ------------------------------------------------------------------ */
/* Loading                                                             */

static int set_defaults(struct orbitd_config *cfg)
{
	struct ocfg_timers *t = &cfg->timers;

	cfg->max_pending = 65536;
	cfg->request_retry_after = 5;
	cfg->request_sends = 3;
	cfg->close_resend_max = 4096;
	t->loop_interval = 1;
	t->discovering_interval = 2;
	t->pending_requests_expire_after = 60;
	t->consider_others_dead_after = 120;
	t->send_keepalive_before_timelimit = 10;
	t->graceful_close_timeout = 300;
	t->close_connection_if_unused_after = OCFG_NEVER;
	t->shutdown_timeout = 5;
	t->accept_dead_after_min = 1;
	t->accept_dead_after_max = 3600;
	cfg->mqtt.port = 1883;
	cfg->mqtt.keepalive = 60;
	cfg->mqtt.reconnect_min = 1;
	cfg->mqtt.reconnect_max = 30;
	cfg->plugins.isolation = OCFG_ISOLATION_PROCESS;
	cfg->control.mode = 0660;
	cfg->control.max_request = 65536;
	cfg->control.max_clients = 256;
	cfg->control.idle_timeout = 60;
	cfg->control.client_buffer = UINT64_C(4) << 20;
	cfg->control.total_buffer = UINT64_C(32) << 20;
	cfg->control.dead_remotes = 64;
	cfg->metrics.port = 9464;
	cfg->metrics.max_connections = 16;
	cfg->metrics.max_request = 8192;
	cfg->metrics.timeout = 10;
	cfg->log_level = LOG_INFO;
	cfg->log_rate_limit = OLOG_RATE_LIMIT_DEFAULT;
	if (!(cfg->discover_topic = strdup("$handshake.discover")) ||
	    !(cfg->mqtt.host = strdup("localhost")) ||
	    !(cfg->plugins.dir = strdup(ORBIT_PLUGINDIR)) ||
	    !(cfg->control.socket = strdup("/run/orbitd/orbitd.sock")) ||
	    !(cfg->metrics.listen = strdup("127.0.0.1:9464")) ||
	    !(cfg->metrics.host = strdup("127.0.0.1")) ||
	    !(cfg->metrics.path = strdup("/metrics")))
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
	struct cv_reader *rd = &c->rd;
	struct orbitd_config *cfg = c->cfg;
	struct ocfg_mqtt *mq = &cfg->mqtt;
	int rc;

	ocfg_kpop(&rd->path, 0);
	if (!cfg->identifier && (rc = default_identifier(cfg)))
		return rc;
	if (!mq->client_id && !(mq->client_id = strdup(cfg->identifier)))
		return -ENOMEM;
	if (mq->reconnect_min > mq->reconnect_max) {
		ocfg_kpush_str(&rd->path, c->reconnect_key);
		return cv_fail_at(rd, &c->reconnect_where, "reconnect_min (%gs) is greater than "
				  "reconnect_max (%gs)", mq->reconnect_min, mq->reconnect_max);
	}
	if (!mq->tls_cert != !mq->tls_key) {
		ocfg_kpush_str(&rd->path, "mqtt.tls");
		return cv_fail_at(rd, &c->tls_where, "cert and key must be given together");
	}
	for (size_t i = 0; i < cfg->plugins.n; i++) {
		if (!cfg->plugins.v[i].isolation_set)
			cfg->plugins.v[i].isolate.isolation = cfg->plugins.isolation;
	}
	for (size_t i = 0; i < cfg->n_reqs; i++) {
		const struct ocfg_req *r = &cfg->reqs[i], *t = r;
		char *chain = NULL, *next;
		size_t steps = 0;

		if (r->sink.type != OCFG_SINK_EXECUTE)
			continue;
		ocfg_kpop(&rd->path, 0);
		ocfg_kpush_str(&rd->path, "requirements");
		ocfg_kpush_str(&rd->path, r->operation);
		ocfg_kpush_str(&rd->path, "sink.operation");
		if (!orbitd_config_find_req(cfg, r->sink.operation))
			return cv_fail_at(rd, &r->sink.where, "no requirement named '%s'",
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
				rc = cv_fail_at(rd, &r->sink.where, "execute sinks form a loop: %s", chain);
				free(chain);
				return rc;
			}
		}
		free(chain);
	}
	ocfg_kpop(&rd->path, 0);
	return 0;
}

static int load_common(const char *name, const char *text, const char *base_dir,
		       struct orbitd_config **out, char **err)
{
	struct ctx c = { 0 };
	struct cf_input in = { .rd = &c.rd, .apply = walk_root, .arg = &c };
	struct orbitd_config *cfg;
	int rc;

	if (err)
		*err = NULL;
	if (!name || !out)
		return -EINVAL;
	if (!(cfg = calloc(1, sizeof *cfg))) {
		rc = -ENOMEM;
		goto out;
	}
	c.cfg = in.cfg = cfg;
	if ((rc = set_defaults(cfg)))
		goto out;
	if (text) {
		rc = cf_load_text(&in, name, base_dir ? base_dir : ".", text, strlen(text), true);
		if (!rc && c.include_explicit)
			rc = cf_load_dir(&in, cfg->include_dir, &c.include_where);
	} else {
		rc = cf_load_file(&in, name, true);
		if (!rc && !c.include_explicit) {
			char *d = cf_dir_of(name);

			if (!d || !(cfg->include_dir = cv_path_join(d, "conf.d")))
				rc = -ENOMEM;
			free(d);
		}
		if (!rc)
			rc = cf_load_dir(&in, cfg->include_dir,
					 c.include_explicit ? &c.include_where : NULL);
	}
	if (!rc)
		rc = finalize(&c);
out:
	if (rc) {
		if (err && !c.rd.err && rc == -ENOMEM)
			c.rd.err = strdup("out of memory");
		else if (err && !c.rd.err && asprintf(&c.rd.err, "%s: %s", name, strerror(-rc)) < 0)
			c.rd.err = NULL;
		if (err) {
			*err = c.rd.err;
			c.rd.err = NULL;
		}
		free(c.rd.err);
		orbitd_config_free(cfg);
		return rc;
	}
	free(c.rd.err);
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
/* ------------------------------------------------------------------ */
/* Freeing and accessors                                               */

static void req_free(struct ocfg_req *r)
{
	free(r->operation);
	orbit_idlist_free(r->mandatory);
	orbit_idlist_free(r->allowlist);
	orbit_idlist_free(r->blocklist);
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
		orbit_idlist_free(p->policies[i].policy.allowlist);
		orbit_idlist_free(p->policies[i].policy.blocklist);
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
	orbit_idlist_free(cfg->plugins.enable);
	orbit_idlist_free(cfg->plugins.disable);
	free(cfg->plugins.enable_where);
	free(cfg->plugins.disable_where);
	for (size_t i = 0; i < cfg->plugins.n; i++)
		plugin_free(&cfg->plugins.v[i]);
	free(cfg->plugins.v);
	for (size_t i = 0; i < cfg->n_reqs; i++)
		req_free(&cfg->reqs[i]);
	free(cfg->reqs);
	free(cfg->control.socket);
	free(cfg->control.group);
	free(cfg->metrics.listen);
	free(cfg->metrics.host);
	free(cfg->metrics.path);
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
	if (cfg->plugins.enable && !orbit_idlist_has(cfg->plugins.enable, name))
		return false;
	return !orbit_idlist_has(cfg->plugins.disable, name);
}

void orbitd_config_isolate(const struct orbitd_config *cfg, const char *name,
			   struct ocfg_isolate *out)
{
	const struct ocfg_plugin *p = orbitd_config_find_plugin(cfg, name);

	if (p)
		*out = p->isolate;
	else
		isolate_defaults(out, cfg->plugins.isolation);
}

void orbitd_config_op_limits(const struct orbitd_config *cfg, const char *name, const char *op,
			     double *timeout, unsigned *max_inflight)
{
	const struct ocfg_policy *pol = ocfg_plugin_policy(orbitd_config_find_plugin(cfg, name), op);

	*timeout = pol && pol->timeout_set ? pol->timeout : OCFG_OP_TIMEOUT_DEFAULT;
	*max_inflight = pol && pol->max_inflight_set ? pol->max_inflight
						     : OCFG_OP_MAX_INFLIGHT_DEFAULT;
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
	"  accept_dead_after_min: 1s\n"
	"  accept_dead_after_max: 3600s\n"
	"plugins:\n"
	"  isolation: process\n"
	"control:\n"
	"  mode: \"0660\"\n"
	"  max_request: 65536\n"
	"  max_clients: 256\n"
	"  idle_timeout: 60s\n"
	"  client_buffer: 4M\n"
	"  total_buffer: 32M\n"
	"  dead_remotes: 64\n"
	"log:\n"
	"  level: info\n"
	"  rate_limit: 10\n";

