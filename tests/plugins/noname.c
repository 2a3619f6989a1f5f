/* noname — broken test plugin: its descriptor has no name (NULL). The name
 * is the plugin's default identifier, so the loader must reject it (and must
 * not dereference the NULL to say so: the reason names the file).
 */
#include <orbit/plugin.h>

static int ignore(void *state, orbit_call *call)
{
	(void)state;
	(void)call;
	return 0;
}

static const orbit_plugin_op ops[] = {
	{ .name = "noname", .input = ORBIT_STRING, .handler = ignore },
};

ORBIT_PLUGIN_DEFINE(NULL, "1.0.0", ops, NULL, NULL, NULL, NULL, NULL);
