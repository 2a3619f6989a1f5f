/* newer — test plugin that needs a newer host: built "against" the next
 * minor of ABI 2 and declaring it cannot run on an older one
 * (min_host_minor = this host's minor + 1). The loader must reject it with a
 * reason naming both minors.
 */
#include <orbit/plugin.h>

static int ignore(void *state, orbit_call *call)
{
	(void)state;
	(void)call;
	return 0;
}

static const orbit_plugin_op ops[] = {
	{.name = "newer", .input = ORBIT_STRING, .handler = ignore},
};

ORBIT_PLUGIN_EXPORT const orbit_plugin_desc orbit_plugin_descriptor = {
	.magic = ORBIT_PLUGIN_MAGIC,
	.abi_major = ORBIT_PLUGIN_ABI_MAJOR,
	.abi_minor = ORBIT_PLUGIN_ABI_MINOR + 1,
	.min_host_minor = ORBIT_PLUGIN_ABI_MINOR + 1, /* the defect under test */
	.size = sizeof(orbit_plugin_desc),
	.op_size = sizeof(orbit_plugin_op),
	.cfg_key_size = sizeof(orbit_cfg_key),
	.name = "newer",
	.version = "1.0.0",
	.ops = ops,
	.n_ops = sizeof ops / sizeof ops[0],
};
