/* upper — test plugin: operation "upper" (string -> string) answers with the
 * text ASCII upper-cased. Tests drop it into a running daemon's plugin
 * directory to check hot loading. Only the "utf-8" form is handled (what
 * orbitd and Python send); anything else fails the call with -EBADMSG.
 *
 * Ownership: the struct made by init is the plugin's until shutdown; it
 * borrows the host handle and API table. Each output is malloc'd here and
 * freed once api->reply has copied it.
 */
#include <orbit/plugin.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct upper {
	orbit_host *h;
	const orbit_host_api *api;
};

static int upper_handler(void *state, orbit_call *call)
{
	struct upper *u = state;
	orbit_payload out = { .format = ORBIT_FMT_UTF8, .message_type = "StringMessage" };
	char *text;
	int rc;

	if (call->input.format != ORBIT_FMT_UTF8)
		return -EBADMSG;
	if (!(text = malloc(call->input.len + 1)))
		return -ENOMEM;
	if (call->input.len)
		memcpy(text, call->input.data, call->input.len);
	for (size_t i = 0; i < call->input.len; i++)
		if (text[i] >= 'a' && text[i] <= 'z')
			text[i] = (char)(text[i] - 'a' + 'A');
	out.data = (const uint8_t *)text;
	out.len = call->input.len;
	rc = u->api->reply(call, &out);
	free(text);
	return rc;
}

static int upper_init(orbit_host *h, const orbit_host_api *api, void **state)
{
	struct upper *u = malloc(sizeof *u);

	if (!u)
		return -ENOMEM;
	u->h = h;
	u->api = api;
	*state = u;
	return 0;
}

static void upper_shutdown(void *state)
{
	free(state);
}

static const orbit_plugin_op ops[] = {
	{
		.name = "upper",
		.input = ORBIT_STRING,
		.output = ORBIT_STRING,
		.handler = upper_handler,
	},
};

ORBIT_PLUGIN_DEFINE("upper", "1.0.0", ops, NULL, upper_init, NULL, NULL, upper_shutdown);
