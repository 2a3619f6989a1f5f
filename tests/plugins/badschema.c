/* badschema — broken test plugin: operation "badschema" declares a user
 * schema output whose text is not an Avro schema (truncated JSON, misspelled
 * type). The loader must reject the plugin when it builds the operation's
 * spec, not later when a core asks for it.
 */
#include <orbit/plugin.h>

static int ignore(void *state, orbit_call *call)
{
	(void)state;
	(void)call;
	return 0;
}

static const orbit_plugin_op ops[] = {
	{
		.name = "badschema",
		.input = ORBIT_EMPTY,
		.output = ORBIT_SCHEMA("{\"type\":\"recrd\""), /* the defect under test */
		.handler = ignore,
	},
};

ORBIT_PLUGIN_DEFINE("badschema", "1.0.0", ops, NULL, NULL, NULL, NULL, NULL);
