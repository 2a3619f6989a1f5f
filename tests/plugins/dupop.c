/* dupop — broken test plugin: two operations share the name "twice".
 * Operation names key connections and topics, so the loader must reject the
 * plugin (naming the duplicate) rather than serve one of them at random.
 */
#include <orbit/plugin.h>

static int ignore(void *state, orbit_call *call)
{
	(void)state;
	(void)call;
	return 0;
}

static const orbit_plugin_op ops[] = {
	{ .name = "twice", .input = ORBIT_STRING, .handler = ignore },
	{ .name = "twice", .input = ORBIT_EMPTY, .handler = ignore },
};

ORBIT_PLUGIN_DEFINE("dupop", "1.0.0", ops, NULL, NULL, NULL, NULL, NULL);
