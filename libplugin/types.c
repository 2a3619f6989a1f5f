/* types.c — wire names of busline payload formats (orbit/types.h).
 * Owned by the codec team; the spelling is busline's `payload_format_type`. */
#include "orbit/types.h"

#include <errno.h>
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
