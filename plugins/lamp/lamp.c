/* lamp — bundled plugin: a (simulated) smart lamp, the Orbitalis example.
 *
 *   turn_on     empty event in, no output   the lamp goes on  (logs "lamp on")
 *   turn_off    empty event in, no output   the lamp goes off (logs "lamp off")
 *   get_status  empty event in, StatusMessage {status: "on"|"off"} out (Avro)
 *
 * Config: {"initial": "on"|"off"} (default "off"); true/false are accepted
 * for people who write `initial: true` in YAML. Anything else fails init (or
 * reload) with -EINVAL after a log line saying what was wrong.
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

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

/* If p starts with the JSON string literal lit (no escapes: none of the
 * words this parser knows needs one), return the text after it. */
static const char *match_string(const char *p, const char *lit)
{
	size_t n = strlen(lit);

	if (*p != '"' || strncmp(p + 1, lit, n) || p[n + 1] != '"')
		return NULL;
	return p + n + 2;
}

static const char *match_word(const char *p, const char *word)
{
	size_t n = strlen(word);

	return strncmp(p, word, n) ? NULL : p + n;
}

/* Parse the config JSON into *on. "null" (no config) keeps the default. */
static int parse_config(struct lamp *l, const char *json, bool *on)
{
	const char *p = skip_ws(json), *q;

	*on = false;
	if ((q = match_word(p, "null")) && !*skip_ws(q))
		return 0;
	if (*p != '{')
		goto bad;
	p = skip_ws(p + 1);
	if (*p == '}') {
		if (*skip_ws(p + 1))
			goto bad;
		return 0;
	}
	if (!(q = match_string(p, "initial"))) {
		l->api->log(l->h, 3, "config: the only key is \"initial\"");
		return -EINVAL;
	}
	p = skip_ws(q);
	if (*p != ':')
		goto bad;
	p = skip_ws(p + 1);
	if ((q = match_string(p, "on")) || (q = match_word(p, "true"))) {
		*on = true;
	} else if ((q = match_string(p, "off")) || (q = match_word(p, "false"))) {
		*on = false;
	} else {
		l->api->log(l->h, 3, "config: \"initial\" must be \"on\" or \"off\"");
		return -EINVAL;
	}
	p = skip_ws(q);
	if (*p != '}' || *skip_ws(p + 1))
		goto bad;
	return 0;
bad:
	l->api->log(l->h, 3, "config: expected {\"initial\": \"on\"|\"off\"}, got %s", json);
	return -EINVAL;
}

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
	int rc;

	if (!l)
		return -ENOMEM;
	l->h = h;
	l->api = api;
	if ((rc = parse_config(l, api->config(h), &l->on))) {
		free(l);
		return rc;
	}
	*state = l;
	return 0;
}

/* A new "initial" only matters for a fresh lamp: a running one keeps the
 * state its users gave it, so reload just validates. */
static int lamp_reload(void *state, const char *config_json)
{
	bool ignored;

	return parse_config(state, config_json, &ignored);
}

static void lamp_shutdown(void *state)
{
	free(state);
}

static const orbit_plugin_op ops[] = {
	{
		.name = "turn_on",
		.input = { ORBIT_IO_EMPTY, NULL },
		.output = { ORBIT_IO_NONE, NULL },
		.handler = turn_on,
	},
	{
		.name = "turn_off",
		.input = { ORBIT_IO_EMPTY, NULL },
		.output = { ORBIT_IO_NONE, NULL },
		.handler = turn_off,
	},
	{
		.name = "get_status",
		.input = { ORBIT_IO_EMPTY, NULL },
		.output = { ORBIT_IO_SCHEMA,
			    "{\"type\":\"record\",\"name\":\"StatusMessage\","
			    "\"fields\":[{\"name\":\"status\",\"type\":\"string\"}]}" },
		.handler = get_status,
	},
};

ORBIT_PLUGIN_DEFINE("lamp", "1.0.0", ops, lamp_init, NULL, lamp_reload, lamp_shutdown);
