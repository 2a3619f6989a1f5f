/* promtext.c — see promtext.h. The two formats differ only where this file
 * says so: the TYPE line's family name for counters and info metrics, the
 * info type itself, and OpenMetrics' closing "# EOF". */
#include "promtext.h"

#include <event2/buffer.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum prom_format prom_negotiate(const char *accept)
{
	/* Prometheus asks for OpenMetrics first and text with a lower q; any
	 * mention is taken as "it can parse it". */
	return accept && strcasestr(accept, "application/openmetrics-text") ? PROM_OPENMETRICS
									   : PROM_TEXT;
}

const char *prom_content_type(enum prom_format f)
{
	return f == PROM_OPENMETRICS ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
				     : "text/plain; version=0.0.4; charset=utf-8";
}

void prom_init(struct prom *p, struct evbuffer *out, enum prom_format f)
{
	*p = (struct prom){.out = out, .format = f};
}

/* s with backslash and newline escaped, and the double quote too in label
 * values (both formats escape the same way there). */
static void escaped(struct evbuffer *out, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			evbuffer_add(out, "\\\\", 2);
		else if (*s == '\n')
			evbuffer_add(out, "\\n", 2);
		else if (*s == '"' && quote)
			evbuffer_add(out, "\\\"", 2);
		else
			evbuffer_add(out, s, 1);
	}
}

static const char *suffix_of(const struct prom *p)
{
	return p->type == PROM_COUNTER ? "_total" : p->type == PROM_INFO ? "_info" : "";
}

void prom_family(struct prom *p, const char *name, enum prom_type type, const char *help)
{
	static const char *const types[] = {"gauge", "counter", "info", "histogram"};
	bool om = p->format == PROM_OPENMETRICS;
	/* The 0.0.4 format names the family as its samples are named and
	 * has no info type. */
	const char *suffix = "", *t = types[type];

	p->family = name;
	p->type = type;
	if (!om) {
		suffix = suffix_of(p);
		if (type == PROM_INFO)
			t = "gauge";
	}
	evbuffer_add_printf(p->out, "# HELP %s%s ", name, suffix);
	escaped(p->out, help, false);
	evbuffer_add_printf(p->out, "\n# TYPE %s%s %s\n", name, suffix, t);
}

/* The shortest of %.15g and %.17g that reads back as v: "0.1", not
 * "0.10000000000000001". */
static const char *number(char *buf, size_t n, double v)
{
	if (isnan(v))
		return "NaN";
	if (isinf(v))
		return v > 0 ? "+Inf" : "-Inf";
	snprintf(buf, n, "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, n, "%.17g", v);
	return buf;
}

static void value(struct evbuffer *out, double v)
{
	char buf[40];
	evbuffer_add_printf(out, " %s\n", number(buf, sizeof buf, v));
}

/* name{labels[,extra="extra_value"]} */
static void series(struct prom *p, const char *suffix, const char *const *labels,
		   const char *extra, const char *extra_value)
{
	bool any = false;

	evbuffer_add_printf(p->out, "%s%s", p->family, suffix);
	for (size_t i = 0; labels && labels[i]; i += 2) {
		if (!labels[i + 1])
			continue;
		evbuffer_add_printf(p->out, "%c%s=\"", any ? ',' : '{', labels[i]);
		escaped(p->out, labels[i + 1], true);
		evbuffer_add(p->out, "\"", 1);
		any = true;
	}
	if (extra) {
		evbuffer_add_printf(p->out, "%c%s=\"%s\"", any ? ',' : '{', extra, extra_value);
		any = true;
	}
	if (any)
		evbuffer_add(p->out, "}", 1);
}

void prom_sample(struct prom *p, const char *const *labels, double v)
{
	series(p, suffix_of(p), labels, NULL, NULL);
	value(p->out, v);
}

void prom_histogram(struct prom *p, const char *const *labels, const double *le,
		    const unsigned long long *count, unsigned n, unsigned long long total,
		    double sum)
{
	char bound[40];

	for (unsigned i = 0; i < n; i++) {
		series(p, "_bucket", labels, "le", number(bound, sizeof bound, le[i]));
		value(p->out, (double)count[i]);
	}
	series(p, "_bucket", labels, "le", "+Inf");
	value(p->out, (double)total);
	series(p, "_sum", labels, NULL, NULL);
	value(p->out, sum);
	series(p, "_count", labels, NULL, NULL);
	value(p->out, (double)total);
}

void prom_end(struct prom *p)
{
	if (p->format == PROM_OPENMETRICS)
		evbuffer_add_printf(p->out, "# EOF\n");
}

void prom_single(struct prom *p, const char *name, enum prom_type type, const char *help,
		 double value)
{
	prom_family(p, name, type, help);
	prom_sample(p, NULL, value);
}
