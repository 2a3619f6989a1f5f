/* shortstruct — broken test plugin: its descriptor is only the 16-byte head
 * (magic, ABI major/minor, size = 16), as an object file from a truncated or
 * foreign header would export. The object really is 16 bytes long, so a
 * loader that reads past `size` before checking it is caught by ASan (its
 * redzones surround this global under SANITIZE=1). The loader must reject
 * it as too small.
 */
#include <orbit/plugin.h>

struct short_desc {
	uint64_t magic;
	uint16_t abi_major;
	uint16_t abi_minor;
	uint32_t size;
};

_Static_assert(sizeof(struct short_desc) == 16, "the head is 16 bytes");
_Static_assert(sizeof(struct short_desc) < sizeof(orbit_plugin_desc), "shorter than the ABI's");

ORBIT_PLUGIN_EXPORT const struct short_desc orbit_plugin_descriptor = {
	.magic = ORBIT_PLUGIN_MAGIC,
	.abi_major = ORBIT_PLUGIN_ABI_MAJOR,
	.abi_minor = ORBIT_PLUGIN_ABI_MINOR,
	.size = sizeof(struct short_desc), /* the defect under test */
};
