/* yamltree.c — see yamltree.h. libyaml's events are turned into nodes as they
 * come: a stack holds the open collections, anchors are recorded when their
 * node starts and may only be referred to once it is complete.
 */
#include "yamltree.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

void ydoc_free(struct ydoc *d)
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
		struct yanchor *a = realloc(d->anchors, cap * sizeof *a);

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

static int perr_set(struct ydoc_err *pe, const yaml_mark_t *m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int perr_set(struct ydoc_err *pe, const yaml_mark_t *m, const char *fmt, ...)
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
			struct ydoc_err *pe)
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

int ydoc_parse(const unsigned char *buf, size_t len, struct ydoc *d, struct ydoc_err *pe)
{
	struct ynode *stack[YTREE_MAX_DEPTH];
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
				if (depth == YTREE_MAX_DEPTH)
					rc = perr_set(pe, &ev.start_mark,
						      "nested deeper than %d levels", YTREE_MAX_DEPTH);
				else
					stack[depth++] = n;
			}
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return rc;
}
