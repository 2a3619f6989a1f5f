/* badmagic — broken test plugin: its descriptor's magic is not
 * ORBIT_PLUGIN_MAGIC (it is the byte-swapped value, as a descriptor written
 * for the other endianness would carry). The loader must reject it before
 * reading anything else.
 */
#include <orbit/plugin.h>

static int ignore(void *state, orbit_call *call)
{
	(void)state;
	(void)call;
	return 0;
}

static const orbit_plugin_op ops[] = {
	{ .name = "badmagic", .input = ORBIT_STRING, .handler = ignore },
};

ORBIT_PLUGIN_EXPORT const orbit_plugin_desc orbit_plugin_descriptor = {
	.magic = UINT64_C(0x004f5242504c4e31), /* ORBIT_PLUGIN_MAGIC byte-swapped */
	.abi_major = ORBIT_PLUGIN_ABI_MAJOR,
	.abi_minor = ORBIT_PLUGIN_ABI_MINOR,
	.size = sizeof(orbit_plugin_desc),
	.op_size = sizeof(orbit_plugin_op),
	.cfg_key_size = sizeof(orbit_cfg_key),
	.name = "badmagic",
	.version = "1.0.0",
	.ops = ops,
	.n_ops = sizeof ops / sizeof ops[0],
};
