/* lowercase — bundled plugin: operation "lowercase" takes a StringMessage and
 * answers with the same text, ASCII letters lower-cased (the Orbitalis
 * "text processor" example). Multibyte UTF-8 sequences pass through unchanged:
 * their bytes are all >= 0x80, so byte-wise ASCII folding can never split or
 * alter them.
 *
 * No configuration.
 *
 * Ownership: the struct lc made by init belongs to the plugin until shutdown;
 * it borrows the host handle and API table (valid until shutdown returns).
 * Each call's output text is malloc'd here and freed once api->reply has
 * copied it.
 */
#include <orbit/plugin.h>

#include <errno.h>
#include <stdlib.h>

struct lc {
	orbit_host *h;
	const orbit_host_api *api;
};

/* The host hands string inputs over as UTF-8 bytes whatever format the core
 * used (orbit/plugin.h), so there is nothing to decode here. */
static int lowercase_handler(void *state, orbit_call *call)
{
	struct lc *lc = state;
	const orbit_payload *in = &call->input;
	/* +1 keeps the pointer non-NULL for an empty string. */
	char *text = malloc(in->len + 1);
	if (!text)
		return -ENOMEM;
	for (size_t i = 0; i < in->len; i++) {
		char ch = (char)in->data[i];
		text[i] = ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
	}
	orbit_payload out = {(const uint8_t *)text, in->len, ORBIT_FMT_UTF8, "StringMessage"};
	int rc = lc->api->reply(call, &out);
	free(text);
	return rc;
}

static int lowercase_init(orbit_host *h, const orbit_host_api *api, void **state)
{
	struct lc *lc = malloc(sizeof *lc);

	if (!lc)
		return -ENOMEM;
	lc->h = h;
	lc->api = api;
	*state = lc;
	return 0;
}

static void lowercase_shutdown(void *state)
{
	free(state);
}

static const orbit_plugin_op ops[] = {
	{
		.name = "lowercase",
		.input = ORBIT_STRING,
		.output = ORBIT_STRING,
		.handler = lowercase_handler,
	},
};

ORBIT_PLUGIN_DEFINE("lowercase", "1.0.0", ops, NULL, lowercase_init, NULL, NULL,
		    lowercase_shutdown);
