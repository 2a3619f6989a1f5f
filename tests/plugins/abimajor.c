/* abimajor — broken test plugin: built for plugin ABI major 99, which no
 * orbitd speaks. The loader must reject it on the ABI check, before using
 * any field whose layout that major could have changed.
 */
#include <orbit/plugin.h>

static int ignore(void *state, orbit_call *call)
{
	(void)state;
	(void)call;
	return 0;
}

static const orbit_plugin_op ops[] = {
	{ .name = "abimajor", .input = ORBIT_STRING, .handler = ignore },
};

ORBIT_PLUGIN_EXPORT const orbit_plugin_desc orbit_plugin_descriptor = {
	.magic = ORBIT_PLUGIN_MAGIC,
	.abi_major = 99, /* the defect under test */
	.abi_minor = 0,
	.size = sizeof(orbit_plugin_desc),
	.op_size = sizeof(orbit_plugin_op),
	.cfg_key_size = sizeof(orbit_cfg_key),
	.name = "abimajor",
	.version = "1.0.0",
	.ops = ops,
	.n_ops = sizeof ops / sizeof ops[0],
};
