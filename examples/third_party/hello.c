/* hello.c — an orbitd plugin built out of tree (see the Makefile): operation
 * "hello" answers "<greeting>, <input>", the greeting from its config
 * (`plugins: {hello: {config: {greeting: hi}}}`, default "hello"). No state,
 * no hooks: the handler runs on orbitd's loop thread and reaches the host
 * through call->api and call->host. The input text and the greeting are the
 * host's; the answer is malloc'd here and copied by reply_string. */
#define _GNU_SOURCE /* asprintf */
#include <orbit/plugin.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

static int hello(void *state, orbit_call *call)
{
	const char *greeting = call->api->config_string(call->host, "greeting");
	const char *name = call->api->input_string(call);
	char *text;
	int rc;

	(void)state;
	if (!name || asprintf(&text, "%s, %s", greeting, name) < 0)
		return -errno;
	rc = call->api->reply_string(call, text);
	free(text);
	return rc;
}

static const orbit_cfg_key config[] = {
	{.name = "greeting", .type = ORBIT_CFG_STRING, .def = "hello", .doc = "the word before the name"},
	{0},
};

static const orbit_plugin_op ops[] = {
	{.name = "hello", .input = ORBIT_STRING, .output = ORBIT_STRING, .handler = hello,
	 .doc = "greets the name it is given"},
};

ORBIT_PLUGIN_DEFINE("hello", "1.0.0", ops, config, NULL, NULL, NULL, NULL);
