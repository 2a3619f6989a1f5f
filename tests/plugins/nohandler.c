/* nohandler — broken test plugin: operation "nohandler" takes string inputs
 * but has no handler. Inputs would have nowhere to go, so the loader must
 * reject the plugin up front.
 */
#include <orbit/plugin.h>

static const orbit_plugin_op ops[] = {
	{
		.name = "nohandler",
		.input = ORBIT_STRING,
		.output = ORBIT_STRING,
		.handler = NULL, /* the defect under test */
	},
};

ORBIT_PLUGIN_DEFINE("nohandler", "1.0.0", ops, NULL, NULL, NULL, NULL, NULL);
