/* slow — test plugin: operation "slow" (string -> string, ORBIT_OP_BLOCKING)
 * sleeps 200 ms on a worker thread, then answers with the input unchanged.
 * Tests use it to show that a blocking handler never stalls the loop (other
 * operations keep answering meanwhile) and that several run at once.
 *
 * Ownership: the struct made by init is the plugin's until shutdown; it
 * borrows the host handle and API table and is only read by the workers.
 */
#include <orbit/plugin.h>

#include <errno.h>
#include <stdlib.h>
#include <time.h>

struct slow {
	orbit_host *h;
	const orbit_host_api *api;
};

static int slow_handler(void *state, orbit_call *call)
{
	struct slow *s = state;
	struct timespec left = { .tv_sec = 0, .tv_nsec = 200 * 1000 * 1000 };

	/* Blocking on purpose: this is what the worker pool exists for. */
	while (nanosleep(&left, &left) < 0 && errno == EINTR)
		;
	return s->api->reply(call, &call->input);
}

static int slow_init(orbit_host *h, const orbit_host_api *api, void **state)
{
	struct slow *s = malloc(sizeof *s);

	if (!s)
		return -ENOMEM;
	s->h = h;
	s->api = api;
	*state = s;
	return 0;
}

static void slow_shutdown(void *state)
{
	free(state);
}

static const orbit_plugin_op ops[] = {
	{
		.name = "slow",
		.input = ORBIT_STRING,
		.output = ORBIT_STRING,
		.handler = slow_handler,
		.flags = ORBIT_OP_BLOCKING,
	},
};

ORBIT_PLUGIN_DEFINE("slow", "1.0.0", ops, NULL, slow_init, NULL, NULL, slow_shutdown);
