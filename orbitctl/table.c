/* table.c — see table.h. */
#include "table.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct cell {
	char *text;
	enum table_colour colour;
};

struct table {
	size_t ncols;
	struct cell *cells; /* row-major, ncols per row; row 0 is the header if any */
	size_t nrows, cap;
	size_t filled; /* cells of the current row */
	bool header;
};

static bool colour_on;

static const char *const codes[] = {
	[TC_NONE] = "", [TC_GREEN] = "\033[32m", [TC_RED] = "\033[31m",
	[TC_YELLOW] = "\033[33m", [TC_DIM] = "\033[2m",
};

static void oom(void)
{
	fputs("orbitctl: out of memory\n", stderr);
	exit(1);
}

void table_set_colour(bool on)
{
	colour_on = on;
}

bool table_colour(void)
{
	return colour_on;
}

char *table_strf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		oom();
	va_end(ap);
	return s;
}

char *table_clean(char *s)
{
	for (unsigned char *p = (unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
		else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			p[0] = p[1] = '?';
	}
	return s;
}

/* Columns a terminal gives s: one per UTF-8 sequence (wide characters
 * are rare enough in names to ignore). */
static size_t width(const char *s)
{
	size_t w = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		w += (*p & 0xc0) != 0x80;
	return w;
}

struct table *table_new(size_t ncols, const char *const *headers)
{
	struct table *t = calloc(1, sizeof *t);
	if (!t)
		oom();
	t->ncols = ncols;
	if (headers) {
		table_row(t);
		for (size_t i = 0; i < ncols; i++)
			table_cell(t, TC_NONE, "%s", headers[i]);
		t->header = true;
	}
	return t;
}

void table_row(struct table *t)
{
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct cell *c = realloc(t->cells, cap * t->ncols * sizeof *c);
		if (!c)
			oom();
		t->cells = c;
		t->cap = cap;
	}
	memset(&t->cells[t->nrows * t->ncols], 0, t->ncols * sizeof *t->cells);
	t->nrows++;
	t->filled = 0;
}

void table_cell(struct table *t, enum table_colour c, const char *fmt, ...)
{
	va_list ap;
	char *s;
	if (!t->nrows || t->filled >= t->ncols)
		return;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		oom();
	va_end(ap);
	struct cell *cell = &t->cells[(t->nrows - 1) * t->ncols + t->filled++];
	cell->text = table_clean(s);
	cell->colour = c;
}

size_t table_rows(const struct table *t)
{
	return t->nrows - t->header;
}

void table_print(const struct table *t, FILE *f)
{
	size_t *w = calloc(t->ncols ? t->ncols : 1, sizeof *w);
	if (!w)
		oom();
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t i = 0; i < t->ncols; i++) {
			const char *s = t->cells[r * t->ncols + i].text;
			size_t n = s ? width(s) : 0;
			if (n > w[i])
				w[i] = n;
		}
	for (size_t r = 0; r < t->nrows; r++) {
		size_t last = t->ncols;
		while (last && !t->cells[r * t->ncols + last - 1].text)
			last--;
		for (size_t i = 0; i < last; i++) {
			const struct cell *c = &t->cells[r * t->ncols + i];
			const char *s = c->text ? c->text : "";
			bool paint = colour_on && c->colour != TC_NONE;
			fprintf(f, "%s%s%s", paint ? codes[c->colour] : "", s, paint ? "\033[0m" : "");
			if (i + 1 < last)
				fprintf(f, "%*s", (int)(w[i] - width(s) + 2), "");
		}
		fputc('\n', f);
	}
	free(w);
}

void table_free(struct table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i].text);
	free(t->cells);
	free(t);
}
