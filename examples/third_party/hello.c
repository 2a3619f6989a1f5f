/* hello.c — an orbitd plugin built out of tree (see the Makefile): operation
 * "hello" answers "hello, <input>". No state, no hooks: the handler runs on
 * orbitd's loop thread and reaches the host through call->api. The input text
 * is the call's; the answer is malloc'd here and copied by reply_string. */
#include <orbit/plugin.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hello(void *state, orbit_call *call)
{
	const char *name = call->api->input_string(call);
	char *text;
	int rc;

	(void)state;
	if (!name || !(text = malloc(sizeof "hello, " + strlen(name))))
		return -errno;
	sprintf(text, "hello, %s", name);
	rc = call->api->reply_string(call, text);
	free(text);
	return rc;
}

static const orbit_plugin_op ops[] = {
	{ .name = "hello", .input = ORBIT_STRING, .output = ORBIT_STRING, .handler = hello },
};

ORBIT_PLUGIN_DEFINE("hello", "1.0.0", ops, NULL, NULL, NULL, NULL, NULL);
