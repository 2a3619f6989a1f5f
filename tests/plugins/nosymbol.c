/* nosymbol — broken test plugin: a complete, valid descriptor that is not
 * exported. It lacks ORBIT_PLUGIN_EXPORT, so -fvisibility=hidden keeps
 * orbit_plugin_descriptor out of the dynamic symbol table — the classic
 * mistake of hand-writing the descriptor. The loader must reject the file
 * ("no orbit_plugin_descriptor symbol") and keep serving the others.
 */
#include <orbit/plugin.h>

static int ignore(void *state, orbit_call *call)
{
	(void)state;
	(void)call;
	return 0;
}

static const orbit_plugin_op ops[] = {
	{ .name = "nosymbol", .input = ORBIT_STRING, .handler = ignore },
};

/* Deliberately not ORBIT_PLUGIN_EXPORT: this is the defect under test. */
const orbit_plugin_desc orbit_plugin_descriptor = {
	.magic = ORBIT_PLUGIN_MAGIC,
	.abi_major = ORBIT_PLUGIN_ABI_MAJOR,
	.abi_minor = ORBIT_PLUGIN_ABI_MINOR,
	.size = sizeof(orbit_plugin_desc),
	.op_size = sizeof(orbit_plugin_op),
	.cfg_key_size = sizeof(orbit_cfg_key),
	.name = "nosymbol",
	.version = "1.0.0",
	.ops = ops,
	.n_ops = sizeof ops / sizeof ops[0],
};
