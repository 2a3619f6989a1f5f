/* json_scan.h — the two JSON scanning steps the bundled plugins' strict
 * config readers share. Header-only on purpose: plugins link nothing, and
 * each .so keeps its own copy. Pointers are borrowed, nothing is owned. */
#ifndef PLUGINS_JSON_SCAN_H
#define PLUGINS_JSON_SCAN_H

#include <stdbool.h>
#include <stddef.h>

static inline const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

/* A JSON number at p: its end, or NULL. *is_int: no fraction, no exponent. */
static inline const char *scan_number(const char *p, bool *is_int)
{
	*is_int = true;
	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (*p >= '0' && *p <= '9')
			p++;
	else
		return NULL;
	if (*p == '.') {
		*is_int = false;
		if (!(*++p >= '0' && *p <= '9'))
			return NULL;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		*is_int = false;
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			return NULL;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return p;
}

#endif
