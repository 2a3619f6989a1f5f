/* typed — test plugin for ABI 2's typed host functions and config map.
 *
 *   greet  string -> string   "<greeting>, <input>" (input_string, reply_string)
 *   twice  int64 -> int64     2 * input            (input_int, reply_int)
 *   half   float64 -> float64 input / 2            (input_float, reply_float)
 *   ping   empty -> empty     an empty reply        (reply_empty)
 *   times  empty -> int32     the config's times    (config_int, reply_int)
 *   fail   string -> string   fails with -EIO       (a failing handler)
 *   wide   int64 -> int32     the input as int32    (reply_int's range check:
 *                             out of range fails with the host's -EINVAL)
 *
 * Config map: greeting (string, required, 1..32 characters), times (int,
 * 1..10, default 1), ratio (float, default 0.5), loud (bool, default false:
 * upper-cases the greeting), tags (strings, default [a, b]). The reload hook
 * logs the new values, so tests see when it ran.
 *
 * Ownership: the struct typed made by init is the plugin's until shutdown;
 * the config strings it reads are the host's (read on the loop thread).
 */
#include <orbit/plugin.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct typed {
	orbit_host *h;
	const orbit_host_api *api;
};

static int greet(void *state, orbit_call *call)
{
	struct typed *t = state;
	const char *in = call->api->input_string(call);
	const char *greeting = t->api->config_string(t->h, "greeting");
	char out[128];
	if (!in)
		return -errno;
	snprintf(out, sizeof out, "%s, %s", greeting, in);
	if (t->api->config_bool(t->h, "loud"))
		for (char *c = out; *c; c++)
			if (*c >= 'a' && *c <= 'z')
				*c = (char)(*c - 'a' + 'A');
	return call->api->reply_string(call, out);
}

static int twice(void *state, orbit_call *call)
{
	int64_t v;
	int rc = call->api->input_int(call, &v);
	(void)state;
	return rc < 0 ? rc : call->api->reply_int(call, 2 * v);
}

static int half(void *state, orbit_call *call)
{
	double v;
	int rc = call->api->input_float(call, &v);
	(void)state;
	return rc < 0 ? rc : call->api->reply_float(call, v / 2);
}

static int ping(void *state, orbit_call *call)
{
	(void)state;
	return call->api->reply_empty(call);
}

static int times(void *state, orbit_call *call)
{
	struct typed *t = state;
	return call->api->reply_int(call, t->api->config_int(t->h, "times"));
}

static int fail(void *state, orbit_call *call)
{
	(void)state;
	(void)call;
	return -EIO;
}

static int wide(void *state, orbit_call *call)
{
	int64_t v;
	int rc = call->api->input_int(call, &v);
	(void)state;
	return rc < 0 ? rc : call->api->reply_int(call, v);
}

static void log_config(struct typed *t, const char *when)
{
	t->api->log(t->h, 6, "%s: greeting=%s times=%lld ratio=%g loud=%d tags=%zu", when,
		    t->api->config_string(t->h, "greeting"),
		    (long long)t->api->config_int(t->h, "times"),
		    t->api->config_float(t->h, "ratio"), t->api->config_bool(t->h, "loud"),
		    t->api->config_count(t->h, "tags"));
}

static int typed_init(orbit_host *h, const orbit_host_api *api, void **state)
{
	struct typed *t = malloc(sizeof *t);
	if (!t)
		return -ENOMEM;
	t->h = h;
	t->api = api;
	*state = t;
	log_config(t, "init");
	return 0;
}

static int typed_reload(void *state)
{
	log_config(state, "reload");
	return 0;
}

static void typed_shutdown(void *state)
{
	free(state);
}

static const orbit_plugin_op ops[] = {
	{.name = "greet", .input = ORBIT_STRING, .output = ORBIT_STRING, .handler = greet,
	 .doc = "the configured greeting, then the input"},
	{.name = "twice", .input = ORBIT_INT64, .output = ORBIT_INT64, .handler = twice},
	{.name = "half", .input = ORBIT_FLOAT64, .output = ORBIT_FLOAT64, .handler = half},
	{.name = "ping", .input = ORBIT_EMPTY, .output = ORBIT_EMPTY, .handler = ping},
	{.name = "times", .input = ORBIT_EMPTY, .output = ORBIT_INT32, .handler = times},
	{.name = "fail", .input = ORBIT_STRING, .output = ORBIT_STRING, .handler = fail},
	{.name = "wide", .input = ORBIT_INT64, .output = ORBIT_INT32, .handler = wide},
};

static const orbit_cfg_key config[] = {
	{.name = "greeting", .type = ORBIT_CFG_STRING,
	 .flags = ORBIT_CFG_REQUIRED | ORBIT_CFG_MIN | ORBIT_CFG_MAX, .min = 1, .max = 32,
	 .doc = "what greet says first"},
	{.name = "times", .type = ORBIT_CFG_INT, .flags = ORBIT_CFG_MIN | ORBIT_CFG_MAX, .min = 1,
	 .max = 10, .def = "1", .doc = "what times answers"},
	{.name = "ratio", .type = ORBIT_CFG_FLOAT, .def = "0.5", .doc = "a float"},
	{.name = "loud", .type = ORBIT_CFG_BOOL, .def = "false", .doc = "greet upper-cased"},
	{.name = "tags", .type = ORBIT_CFG_STRINGS, .def = "[a, b]", .doc = "a list"},
	{0},
};

ORBIT_PLUGIN_DEFINE("typed", "1.0.0", ops, config, typed_init, NULL, typed_reload,
		    typed_shutdown);
