/* stuck — test plugin: operation "stuck" (string -> string,
 * ORBIT_OP_BLOCKING) whose handler never returns: it reads a pipe that
 * nobody writes. Tests use it for the in-flight bound of a plugin that
 * stops answering, and for a shutdown that must not wait for it. Operation
 * "ping" (string -> string, on the loop) answers at once, to show the loop
 * still runs.
 *
 * Ownership: the state made by init (the pipe) is never freed: a handler
 * may be blocked on it until the process exits, and shutdown() does not run
 * while one is.
 */
#include <orbit/plugin.h>

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

struct stuck {
	const orbit_host_api *api;
	int fds[2];
};

static int stuck_handler(void *state, orbit_call *call)
{
	struct stuck *s = state;
	char c;

	(void)call;
	/* Blocks forever: fds[1] stays open and is never written. */
	while (read(s->fds[0], &c, 1) < 0 && errno == EINTR)
		;
	return -EIO;
}

static int ping_handler(void *state, orbit_call *call)
{
	struct stuck *s = state;

	return s->api->reply(call, &call->input);
}

static int stuck_init(orbit_host *h, const orbit_host_api *api, void **state)
{
	struct stuck *s = malloc(sizeof *s);

	(void)h;
	if (!s)
		return -ENOMEM;
	if (pipe(s->fds) < 0) {
		free(s);
		return -errno;
	}
	s->api = api;
	*state = s;
	return 0;
}

static void stuck_shutdown(void *state)
{
	struct stuck *s = state;

	close(s->fds[0]);
	close(s->fds[1]);
	free(s);
}

static const orbit_plugin_op ops[] = {
	{
		.name = "stuck",
		.input = ORBIT_STRING,
		.output = ORBIT_STRING,
		.handler = stuck_handler,
		.flags = ORBIT_OP_BLOCKING,
	},
	{
		.name = "ping",
		.input = ORBIT_STRING,
		.output = ORBIT_STRING,
		.handler = ping_handler,
	},
};

ORBIT_PLUGIN_DEFINE("stuck", "1.0.0", ops, NULL, stuck_init, NULL, NULL, stuck_shutdown);
