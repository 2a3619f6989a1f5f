/* echo — test plugin: operation "echo" (string -> string) answers with the
 * input payload exactly as it came (bytes, format and message type), so tests
 * can check that payloads cross the host untouched.
 *
 * Ownership: the struct made by init is the plugin's until shutdown; it
 * borrows the host handle and API table.
 */
#include <orbit/plugin.h>

#include <errno.h>
#include <stdlib.h>

struct echo {
	orbit_host *h;
	const orbit_host_api *api;
};

static int echo_handler(void *state, orbit_call *call)
{
	struct echo *e = state;

	return e->api->reply(call, &call->input);
}

static int echo_init(orbit_host *h, const orbit_host_api *api, void **state)
{
	struct echo *e = malloc(sizeof *e);

	if (!e)
		return -ENOMEM;
	e->h = h;
	e->api = api;
	*state = e;
	return 0;
}

static void echo_shutdown(void *state)
{
	free(state);
}

static const orbit_plugin_op ops[] = {
	{
		.name = "echo",
		.input = ORBIT_STRING,
		.output = ORBIT_STRING,
		.handler = echo_handler,
	},
};

ORBIT_PLUGIN_DEFINE("echo", "1.0.0", ops, NULL, echo_init, NULL, NULL, echo_shutdown);
