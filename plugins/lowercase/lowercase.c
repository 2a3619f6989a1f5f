/* lowercase — bundled plugin: operation "lowercase" takes a StringMessage and
 * answers with the same text, ASCII letters lower-cased (the Orbitalis
 * "text processor" example). Multibyte UTF-8 sequences pass through unchanged:
 * their bytes are all >= 0x80, so byte-wise ASCII folding can never split or
 * alter them.
 *
 * No configuration, no state: the handler reaches the host through
 * call->api.
 *
 * Threads: the handler runs on the loop thread and touches only its call.
 * Ownership: the input text is the call's (api->input_string); the output is
 * a malloc'd copy, freed here once reply_string has copied it.
 */
#include <orbit/plugin.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int lowercase(void *state, orbit_call *call)
{
	const char *in = call->api->input_string(call);
	char *out;
	int rc;

	(void)state;
	if (!in || !(out = strdup(in)))
		return -errno;
	for (char *c = out; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	rc = call->api->reply_string(call, out);
	free(out);
	return rc;
}

static const orbit_plugin_op ops[] = {
	{
		.name = "lowercase",
		.input = ORBIT_STRING,
		.output = ORBIT_STRING,
		.handler = lowercase,
		.doc = "the text with ASCII letters lower-cased",
	},
};

ORBIT_PLUGIN_DEFINE("lowercase", "2.0.0", ops, NULL, NULL, NULL, NULL, NULL);
