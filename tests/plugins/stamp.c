/* stamp — test plugin for outputs with Avro logical types: operation
 * "stamp" (empty -> record) answers one fixed record whose fields are a
 * timestamp-millis, a timestamp-micros, a local-timestamp-millis, a date,
 * a time-millis, a time-micros, a decimal(9,2) (bytes), a uuid, an
 * optional timestamp-millis and a plain long, so that tests can see what
 * orbitctl's tables make of each (2026-12-06T04:05:06.123Z, -123.45, ...).
 *
 * Ownership: no state; the host's API table is borrowed per call.
 */
#include <orbit/plugin.h>

#define TS_MS "{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}"

static const char schema[] =
	"{\"type\":\"record\",\"name\":\"Stamp\",\"fields\":["
	"{\"name\":\"at\",\"type\":" TS_MS "},"
	"{\"name\":\"us\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}},"
	"{\"name\":\"local\",\"type\":{\"type\":\"long\",\"logicalType\":\"local-timestamp-millis\"}},"
	"{\"name\":\"day\",\"type\":{\"type\":\"int\",\"logicalType\":\"date\"}},"
	"{\"name\":\"tod\",\"type\":{\"type\":\"int\",\"logicalType\":\"time-millis\"}},"
	"{\"name\":\"tus\",\"type\":{\"type\":\"long\",\"logicalType\":\"time-micros\"}},"
	"{\"name\":\"price\",\"type\":{\"type\":\"bytes\",\"logicalType\":\"decimal\","
	"\"precision\":9,\"scale\":2}},"
	"{\"name\":\"id\",\"type\":{\"type\":\"string\",\"logicalType\":\"uuid\"}},"
	"{\"name\":\"maybe\",\"type\":[\"null\"," TS_MS "]},"
	"{\"name\":\"n\",\"type\":\"long\"}]}";

/* 2026-12-06T04:05:06.123Z; day 20793 is 2026-12-06; -12345 at scale 2 in
 * four bytes of two's complement. */
static const char value[] =
	"{\"at\":1796529906123,\"us\":1796529906123456,\"local\":1796529906123,"
	"\"day\":20793,\"tod\":14706123,\"tus\":14706123456,"
	"\"price\":\"\\u00ff\\u00ff\\u00cf\\u00c7\","
	"\"id\":\"6f1c2a52-0d1e-4c8f-9a57-3b8e2f6d1c00\",\"maybe\":1796529906123,"
	"\"n\":1796529906123}";

static int stamp(void *state, orbit_call *call)
{
	(void)state;
	return call->api->reply_json(call, value);
}

static const orbit_plugin_op ops[] = {
	{.name = "stamp", .input = ORBIT_EMPTY, .output = ORBIT_SCHEMA(schema), .handler = stamp,
	 .doc = "one record of every logical type"},
};

ORBIT_PLUGIN_DEFINE("stamp", "1.0.0", ops, NULL, NULL, NULL, NULL, NULL);
