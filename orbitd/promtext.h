/* promtext.h — writing metrics in the Prometheus text exposition format
 * (version 0.0.4) or in OpenMetrics 1.0 text, as the scraper asked.
 *
 * A writer appends to an evbuffer it borrows: families one after the other
 * (prom_family, then that family's samples), prom_end last. Names are the
 * caller's and must already follow the conventions (snake_case, base units);
 * label values and help texts are escaped here. The writer owns no memory.
 */
#ifndef ORBITD_PROMTEXT_H
#define ORBITD_PROMTEXT_H

#include <stdbool.h>

struct evbuffer;

enum prom_format {
	PROM_TEXT,        /* text/plain; version=0.0.4 */
	PROM_OPENMETRICS, /* application/openmetrics-text; version=1.0.0 */
};

/* Family types. A COUNTER family is named without "_total" and its samples
 * with it; an INFO family is named without "_info" (OpenMetrics' info type,
 * a gauge of value 1 in the 0.0.4 format) and its sample with it. */
enum prom_type {
	PROM_GAUGE,
	PROM_COUNTER,
	PROM_INFO,
	PROM_HISTOGRAM,
};

struct prom {
	struct evbuffer *out;     /* borrowed */
	enum prom_format format;
	const char *family;       /* current family's name, borrowed */
	enum prom_type type;
};

/* The format a scraper's Accept header (NULL: none) asks for: OpenMetrics
 * when it names application/openmetrics-text, otherwise the 0.0.4 text. */
enum prom_format prom_negotiate(const char *accept);

/* The Content-Type of a format's body. Static. */
const char *prom_content_type(enum prom_format f);

void prom_init(struct prom *p, struct evbuffer *out, enum prom_format f);

/* Start a family: its HELP and TYPE lines. name and help are borrowed until
 * the next prom_family or prom_end. */
void prom_family(struct prom *p, const char *name, enum prom_type type, const char *help);

/* One sample of the current family. labels: NULL, or name/value pairs
 * ending in a NULL name; a pair with a NULL value is left out. */
void prom_sample(struct prom *p, const char *const *labels, double value);

/* A family of one unlabelled sample: prom_family, then prom_sample. */
void prom_single(struct prom *p, const char *name, enum prom_type type, const char *help,
		 double value);

/* A histogram's series under labels: n buckets (upper bounds le[i],
 * ascending, and cumulative counts count[i]), the +Inf bucket (total), and
 * _sum and _count. */
void prom_histogram(struct prom *p, const char *const *labels, const double *le,
		    const unsigned long long *count, unsigned n, unsigned long long total,
		    double sum);

/* End the exposition ("# EOF" for OpenMetrics). */
void prom_end(struct prom *p);

#endif
