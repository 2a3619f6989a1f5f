/* initfail — broken test plugin: a valid descriptor whose init hook logs why
 * and fails with -EIO (as a plugin whose device is missing would). The host
 * must report "init failed: Input/output error", never call shutdown, and
 * keep serving the other plugins.
 */
#include <orbit/plugin.h>

#include <errno.h>
#include <stdlib.h>

static int ignore(void *state, orbit_call *call)
{
	(void)state;
	(void)call;
	return 0;
}

static int initfail_init(orbit_host *h, const orbit_host_api *api, void **state)
{
	(void)state;
	api->log(h, 3, "the device is not there (on purpose)");
	return -EIO;
}

/* Must never run: a failing init means shutdown is not called. */
static void initfail_shutdown(void *state)
{
	(void)state;
	abort();
}

static const orbit_plugin_op ops[] = {
	{ .name = "initfail", .input = ORBIT_STRING, .handler = ignore },
};

ORBIT_PLUGIN_DEFINE("initfail", "1.0.0", ops, NULL, initfail_init, NULL, NULL,
		    initfail_shutdown);
