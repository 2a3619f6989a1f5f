/* types.c — wire names of busline payload formats (owned by the codec team;
 * the spelling is busline's `payload_format_type`) and the id list
 * (orbit/types.h). */
#include "orbit/types.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const FORMAT_NAMES[] = {
	[ORBIT_FMT_NONE] = NULL,
	[ORBIT_FMT_AVRO] = "avro",
	[ORBIT_FMT_UTF8] = "utf-8",
	[ORBIT_FMT_BYTES] = "bytes",
	[ORBIT_FMT_JSON] = "json",
};

#define N_FORMATS (sizeof(FORMAT_NAMES) / sizeof(FORMAT_NAMES[0]))

const char *orbit_format_name(orbit_format f)
{
	if ((unsigned)f >= N_FORMATS)
		return NULL;
	return FORMAT_NAMES[f];
}

int orbit_format_parse(const char *name, orbit_format *out)
{
	if (!name)
		return -EINVAL;
	for (size_t i = 0; i < N_FORMATS; i++) {
		if (FORMAT_NAMES[i] && strcmp(FORMAT_NAMES[i], name) == 0) {
			*out = (orbit_format)i;
			return 0;
		}
	}
	return -EINVAL;
}

size_t orbit_idlist_len(orbit_idlist l)
{
	size_t n = 0;

	while (l && l[n])
		n++;
	return n;
}

bool orbit_idlist_has(orbit_idlist l, const char *id)
{
	for (; l && *l; l++)
		if (strcmp(*l, id) == 0)
			return true;
	return false;
}

bool orbit_idlist_admits(orbit_idlist allow, orbit_idlist block, const char *id)
{
	return !orbit_idlist_has(block, id) && (!allow || orbit_idlist_has(allow, id));
}

/* Owned lists are built as char ** (here, and by wire.c's decoder); the const
 * in orbit_idlist is the ABI's promise to readers, so freeing casts it away
 * once, below. */
void orbit_idlist_free(orbit_idlist l)
{
	char **v = (char **)l;

	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

int orbit_idlist_dup(orbit_idlist src, orbit_idlist *dst)
{
	size_t n = orbit_idlist_len(src);
	char **v;

	*dst = NULL;
	if (!src)
		return 0;
	if (!(v = calloc(n + 1, sizeof(*v))))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (!(v[i] = strdup(src[i]))) {
			orbit_idlist_free((orbit_idlist)v);
			return -ENOMEM;
		}
	}
	*dst = (orbit_idlist)v;
	return 0;
}

int orbit_idlist_append(orbit_idlist *l, const char *id)
{
	size_t n = orbit_idlist_len(*l);
	char *s = strdup(id);
	char **v = s ? realloc((char **)*l, (n + 2) * sizeof(*v)) : NULL;

	if (!v) {
		free(s);
		return -ENOMEM;
	}
	v[n] = s;
	v[n + 1] = NULL;
	*l = (orbit_idlist)v;
	return 0;
}

bool orbit_idlist_equal(orbit_idlist a, orbit_idlist b)
{
	if (!a || !b)
		return a == b;
	for (; *a && *b; a++, b++)
		if (strcmp(*a, *b) != 0)
			return false;
	return !*a && !*b;
}
