/* flaky — test plugin for the stats suite (tests/integration/test_stats.c):
 * two string -> string operations that answer with the input unchanged,
 * except that the input "fail" makes the handler return -EIO without a
 * reply, so a test knows exactly how many calls, outputs and failures
 * there were.
 *
 *   flaky       runs on the loop thread;
 *   flaky_wait  ORBIT_OP_BLOCKING: runs on a worker.
 *
 * Ownership: no state; the handlers only read the call they are given.
 */
#include <orbit/plugin.h>

#include <errno.h>
#include <string.h>

static int answer(void *state, orbit_call *call)
{
	(void)state;
	const orbit_payload *in = &call->input;
	if (in->len == 4 && memcmp(in->data, "fail", 4) == 0)
		return -EIO;
	return call->api->reply(call, in);
}

static const orbit_plugin_op ops[] = {
	{
		.name = "flaky",
		.input = ORBIT_STRING,
		.output = ORBIT_STRING,
		.handler = answer,
	},
	{
		.name = "flaky_wait",
		.input = ORBIT_STRING,
		.output = ORBIT_STRING,
		.handler = answer,
		.flags = ORBIT_OP_BLOCKING,
	},
};

ORBIT_PLUGIN_DEFINE("flaky", "1.0.0", ops, NULL, NULL, NULL, NULL, NULL);
