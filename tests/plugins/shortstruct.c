/* shortstruct — broken test plugin: its descriptor is only the head of
 * ABI 2's (magic, ABI major/minor, min_host_minor, size = its own size), as
 * an object file from a truncated or foreign header would export. The object
 * really is that long, so a loader that reads past `size` before checking it
 * is caught by ASan (its redzones surround this global under SANITIZE=1).
 * The loader must reject it as too small.
 */
#include <orbit/plugin.h>

struct short_desc {
	uint64_t magic;
	uint16_t abi_major;
	uint16_t abi_minor;
	uint16_t min_host_minor;
	uint16_t reserved0;
	uint32_t size;
};

_Static_assert(sizeof(struct short_desc) == 24, "the head is 20 bytes, padded to 24");
_Static_assert(sizeof(struct short_desc) < sizeof(orbit_plugin_desc), "shorter than the ABI's");

ORBIT_PLUGIN_EXPORT const struct short_desc orbit_plugin_descriptor = {
	.magic = ORBIT_PLUGIN_MAGIC,
	.abi_major = ORBIT_PLUGIN_ABI_MAJOR,
	.abi_minor = ORBIT_PLUGIN_ABI_MINOR,
	.size = sizeof(struct short_desc), /* the defect under test */
};
