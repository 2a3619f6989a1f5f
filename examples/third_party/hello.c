/* hello — a minimal third-party orbitd plugin, built out of tree with only
 * orbit-plugin.pc (see the Makefile beside it). Operation "hello" takes a
 * string and answers "hello, <input>".
 *
 * It leans on the host's JSON helpers so it needs no codec: api->input_json
 * decodes the input whatever format the core sent (giving a JSON string such
 * as "\"world\""), and api->reply_json encodes the answer the way the core's
 * connection expects.
 *
 * Ownership: the struct made by init is the plugin's until shutdown; it
 * borrows the host handle and API table. The input JSON is the host's
 * malloc'd string, freed here; the answer is built in a malloc'd buffer and
 * freed once reply_json has used it.
 */
#include <orbit/plugin.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct hello {
	orbit_host *h;
	const orbit_host_api *api;
};

static int hello_handler(void *state, orbit_call *call)
{
	static const char prefix[] = "\"hello, ";
	struct hello *p = state;
	char *in = p->api->input_json(call), *out = NULL;
	size_t n;
	int rc;

	if (!in)
		return -errno;
	/* in is a JSON string: keep its escapes and closing quote, and put
	 * our words after its opening quote. */
	if (in[0] != '"') {
		rc = -EBADMSG;
		goto out;
	}
	n = strlen(in + 1);
	if (!(out = malloc(sizeof prefix + n))) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(out, prefix, sizeof prefix - 1);
	memcpy(out + sizeof prefix - 1, in + 1, n + 1);
	rc = p->api->reply_json(call, out);
out:
	free(out);
	free(in);
	return rc;
}

static int hello_init(orbit_host *h, const orbit_host_api *api, void **state)
{
	struct hello *p = malloc(sizeof *p);

	if (!p)
		return -ENOMEM;
	p->h = h;
	p->api = api;
	*state = p;
	return 0;
}

static void hello_shutdown(void *state)
{
	free(state);
}

static const orbit_plugin_op ops[] = {
	{
		.name = "hello",
		.input = { ORBIT_IO_STRING, NULL },
		.output = { ORBIT_IO_STRING, NULL },
		.handler = hello_handler,
	},
};

ORBIT_PLUGIN_DEFINE("hello", "1.0.0", ops, hello_init, NULL, NULL, hello_shutdown);
