/* newerok — test plugin built against a newer minor of ABI 2 (abi_minor =
 * this host's + 1) that still runs on this host's minor (min_host_minor =
 * this host's): what a plugin using a newer host function behind
 * ORBIT_API_HAS looks like to an older orbitd. The loader must accept it
 * (and log that it did); its operation "newerok" echoes its string input.
 */
#include <orbit/plugin.h>

static int echo(void *state, orbit_call *call)
{
	(void)state;
	return call->api->reply(call, &call->input);
}

static const orbit_plugin_op ops[] = {
	{.name = "newerok", .input = ORBIT_STRING, .output = ORBIT_STRING, .handler = echo},
};

ORBIT_PLUGIN_EXPORT const orbit_plugin_desc orbit_plugin_descriptor = {
	.magic = ORBIT_PLUGIN_MAGIC,
	.abi_major = ORBIT_PLUGIN_ABI_MAJOR,
	.abi_minor = ORBIT_PLUGIN_ABI_MINOR + 1,
	.min_host_minor = ORBIT_PLUGIN_ABI_MINOR,
	.size = sizeof(orbit_plugin_desc),
	.op_size = sizeof(orbit_plugin_op),
	.cfg_key_size = sizeof(orbit_cfg_key),
	.name = "newerok",
	.version = "1.0.0",
	.ops = ops,
	.n_ops = sizeof ops / sizeof ops[0],
};
