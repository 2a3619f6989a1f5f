/* benchplug — the plugin the benchmarks load: operation "echo" (string ->
 * string) and "echo_rec" (bench.Reading -> bench.Reading) answer each input
 * with the input itself. bench_inproc runs it under orbitd's real host and
 * also calls its handler straight through dlopen, as the baseline "bare
 * function call through the same .so".
 *
 * Ownership: the state made by init is the plugin's until shutdown; it
 * borrows the host handle and API table.
 */
#include "bench_record.h"

#include <orbit/plugin.h>

#include <errno.h>
#include <stdlib.h>

struct benchplug {
	orbit_host *h;
	const orbit_host_api *api;
};

static int echo_handler(void *state, orbit_call *call)
{
	struct benchplug *b = state;

	return b->api->reply(call, &call->input);
}

static int bp_init(orbit_host *h, const orbit_host_api *api, void **state)
{
	struct benchplug *b = malloc(sizeof *b);

	if (!b)
		return -ENOMEM;
	b->h = h;
	b->api = api;
	*state = b;
	return 0;
}

static void bp_shutdown(void *state)
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
	{
		.name = "echo_rec",
		.input = ORBIT_SCHEMA(BENCH_RECORD_SCHEMA),
		.output = ORBIT_SCHEMA(BENCH_RECORD_SCHEMA),
		.handler = echo_handler,
	},
};

ORBIT_PLUGIN_DEFINE("benchplug", "1.0.0", ops, NULL, bp_init, NULL, NULL, bp_shutdown);
