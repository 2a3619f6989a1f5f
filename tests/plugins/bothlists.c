/* bothlists — broken test plugin: operation "bothlists" has a default policy
 * with both an allowlist and a blocklist, which SPEC §4.8 (and the ABI)
 * forbid: the loader must reject it instead of guessing which list wins.
 */
#include <orbit/plugin.h>

static int ignore(void *state, orbit_call *call)
{
	(void)state;
	(void)call;
	return 0;
}

static const char *const allow[] = { "core1", NULL };
static const char *const block[] = { "core2", NULL };

static const orbit_plugin_op ops[] = {
	{
		.name = "bothlists",
		.input = ORBIT_STRING,
		.policy = { .maximum = ORBIT_UNLIMITED, .allowlist = allow, .blocklist = block },
		.handler = ignore,
	},
};

ORBIT_PLUGIN_DEFINE("bothlists", "1.0.0", ops, NULL, NULL, NULL, NULL, NULL);
