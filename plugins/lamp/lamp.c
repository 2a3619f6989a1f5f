/* lamp — bundled plugin: a (simulated) smart lamp, the Orbitalis example.
 *
 *   turn_on     empty event in, no output   the lamp goes on  (logs "lamp on")
 *   turn_off    empty event in, no output   the lamp goes off (logs "lamp off")
 *   get_status  empty event in, StatusMessage {status: "on"|"off"} out (Avro)
 *
 * Config: `initial: on|off` (default off), the state of a freshly loaded lamp.
 * A STRING with choices: orbitd reads plain scalars by YAML 1.2's core
 * schema, where unquoted on and off are strings, and a STRING key takes any
 * scalar as written, so `initial: on` arrives as the text "on"; orbitd itself
 * rejects anything but on or off, naming both. (A BOOL would take on/off too,
 * but also yes/no/true/false, which are no lamp states.) No reload hook: a
 * running lamp keeps the state its users gave it, whatever `initial` becomes.
 *
 * Threads: every hook and handler runs on the loop thread, so the on/off flag
 * needs no lock.
 * Ownership: the struct lamp made by init belongs to the plugin until
 * shutdown; it borrows the host handle and API table (valid until shutdown
 * returns).
 */
#include <orbit/plugin.h>

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct lamp {
	orbit_host *h;
	const orbit_host_api *api;
	bool on;
};

static int turn_on(void *state, orbit_call *call)
{
	struct lamp *l = state;

	(void)call;
	l->on = true;
	l->api->log(l->h, 6, "lamp on");
	return 0;
}

static int turn_off(void *state, orbit_call *call)
{
	struct lamp *l = state;

	(void)call;
	l->on = false;
	l->api->log(l->h, 6, "lamp off");
	return 0;
}

static int get_status(void *state, orbit_call *call)
{
	struct lamp *l = state;

	return call->api->reply_json(call, l->on ? "{\"status\":\"on\"}" : "{\"status\":\"off\"}");
}

static int lamp_init(orbit_host *h, const orbit_host_api *api, void **state)
{
	struct lamp *l = malloc(sizeof *l);

	if (!l)
		return -ENOMEM;
	l->h = h;
	l->api = api;
	l->on = !strcmp(api->config_string(h, "initial"), "on");
	*state = l;
	return 0;
}

static void lamp_shutdown(void *state)
{
	free(state);
}

static const char *const on_off[] = { "on", "off", NULL };

static const orbit_cfg_key config[] = {
	{
		.name = "initial",
		.type = ORBIT_CFG_STRING,
		.def = "off",
		.choices = on_off,
		.doc = "state of the lamp when the plugin is loaded: on or off",
	},
	{ 0 },
};

static const orbit_plugin_op ops[] = {
	{
		.name = "turn_on",
		.input = ORBIT_EMPTY,
		.output = ORBIT_NONE,
		.handler = turn_on,
		.doc = "switch the lamp on",
	},
	{
		.name = "turn_off",
		.input = ORBIT_EMPTY,
		.output = ORBIT_NONE,
		.handler = turn_off,
		.doc = "switch the lamp off",
	},
	{
		.name = "get_status",
		.input = ORBIT_EMPTY,
		.output = ORBIT_SCHEMA("{\"type\":\"record\",\"name\":\"StatusMessage\","
				       "\"fields\":[{\"name\":\"status\",\"type\":\"string\"}]}"),
		.handler = get_status,
		.doc = "answer {status: \"on\"} or {status: \"off\"}",
	},
};

ORBIT_PLUGIN_DEFINE("lamp", "2.0.0", ops, config, lamp_init, NULL, NULL, lamp_shutdown);
