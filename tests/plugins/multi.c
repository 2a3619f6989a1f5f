/* multi — test plugin: operation "multi" (string -> string) takes a count N
 * ("0" to "16") and sends its caller N outputs "1/N" ... "N/N" with send()
 * while the handler runs, and no reply: a call with several outputs, or
 * with none (N = 0), for the execute correlation tests. Anything else fails
 * the call with -EINVAL.
 *
 * Ownership: the struct made by init is the plugin's until shutdown; it
 * borrows the host handle and API table.
 */
#include <orbit/plugin.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct multi {
	orbit_host *h;
	const orbit_host_api *api;
};

static int multi_handler(void *state, orbit_call *call)
{
	struct multi *m = state;
	const char *in = m->api->input_string(call);
	char *end;
	long n = in ? strtol(in, &end, 10) : -1;

	if (!in || end == in || *end || n < 0 || n > 16)
		return -EINVAL;
	for (long i = 1; i <= n; i++) {
		char text[32];
		snprintf(text, sizeof text, "%ld/%ld", i, n);
		orbit_payload out = {.data = (const uint8_t *)text, .len = strlen(text),
				     .format = ORBIT_FMT_UTF8, .message_type = "StringMessage"};
		int rc = m->api->send(m->h, call->core_id, call->operation, &out);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int multi_init(orbit_host *h, const orbit_host_api *api, void **state)
{
	struct multi *m = malloc(sizeof *m);

	if (!m)
		return -ENOMEM;
	m->h = h;
	m->api = api;
	*state = m;
	return 0;
}

static void multi_shutdown(void *state)
{
	free(state);
}

static const orbit_plugin_op ops[] = {
	{
		.name = "multi",
		.input = ORBIT_STRING,
		.output = ORBIT_STRING,
		.handler = multi_handler,
	},
};

ORBIT_PLUGIN_DEFINE("multi", "1.0.0", ops, NULL, multi_init, NULL, NULL, multi_shutdown);
