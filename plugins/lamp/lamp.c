/* lamp — bundled plugin: a (simulated) smart lamp, the Orbitalis example.
 *
 *   turn_on     empty event in, no output   the lamp goes on  (logs "lamp on")
 *   turn_off    empty event in, no output   the lamp goes off (logs "lamp off")
 *   get_status  empty event in, StatusMessage {status: "on"|"off"} out (Avro)
 *
 * Config: initial: on|off (default off); true/false are accepted for people
 * who write `initial: true` in YAML. orbitd checks it against the config map.
 *
 * Ownership: the struct lamp made by init belongs to the plugin until
 * shutdown; it borrows the host handle and API table. Every handler runs on
 * the loop thread, so the on/off flag needs no lock.
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

/* Schemaless Avro of StatusMessage {status: string}: one string field, i.e.
 * its zigzag-encoded byte count (2*len) and the bytes. */
static int get_status(void *state, orbit_call *call)
{
	static const uint8_t on[] = { 0x04, 'o', 'n' };
	static const uint8_t off[] = { 0x06, 'o', 'f', 'f' };
	struct lamp *l = state;
	orbit_payload out = {
		.data = l->on ? on : off,
		.len = l->on ? sizeof on : sizeof off,
		.format = ORBIT_FMT_AVRO,
		.message_type = "StatusMessage",
	};

	return l->api->reply(call, &out);
}

static int lamp_init(orbit_host *h, const orbit_host_api *api, void **state)
{
	struct lamp *l = malloc(sizeof *l);

	if (!l)
		return -ENOMEM;
	l->h = h;
	l->api = api;
	const char *initial = api->config_string(h, "initial");
	l->on = strcmp(initial, "on") == 0 || strcmp(initial, "true") == 0;
	*state = l;
	return 0;
}

static void lamp_shutdown(void *state)
{
	free(state);
}

static const orbit_plugin_op ops[] = {
	{
		.name = "turn_on",
		.input = ORBIT_EMPTY,
		.output = ORBIT_NONE,
		.handler = turn_on,
	},
	{
		.name = "turn_off",
		.input = ORBIT_EMPTY,
		.output = ORBIT_NONE,
		.handler = turn_off,
	},
	{
		.name = "get_status",
		.input = ORBIT_EMPTY,
		.output = ORBIT_SCHEMA("{\"type\":\"record\",\"name\":\"StatusMessage\","
				       "\"fields\":[{\"name\":\"status\",\"type\":\"string\"}]}"),
		.handler = get_status,
	},
};

/* A new "initial" only matters for a fresh lamp: a running one keeps the
 * state its users gave it, so there is no reload hook. */
static const char *const initial_choices[] = {"on", "off", "true", "false", NULL};

static const orbit_cfg_key config[] = {
	{.name = "initial", .type = ORBIT_CFG_STRING, .def = "off", .choices = initial_choices,
	 .doc = "the lamp's state at start"},
	{0},
};

ORBIT_PLUGIN_DEFINE("lamp", "1.0.0", ops, config, lamp_init, NULL, NULL, lamp_shutdown);
