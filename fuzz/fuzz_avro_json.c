/* fuzz_avro_json.c — libFuzzer target: JSON ⇄ Avro by schema (avro_json.c,
 * orbit/payload_json.h), what sinks, the scheduler and orbitctl execute use.
 *
 * Input: an Avro schema (JSON text), a NUL byte, then the data; without a
 * NUL the input is skipped. The data is tried both ways:
 *  - as Avro bytes: when orbit_avro_to_json reads them, the JSON it writes
 *    converts back (orbit_avro_from_json) to bytes that read as the same
 *    JSON — unless the value held a NaN or an infinity, which JSON writes as
 *    null and which then may not convert back (payload_json.h);
 *  - as JSON text: when orbit_avro_from_json converts it, the bytes read
 *    back (orbit_avro_to_json) as JSON that converts to the same bytes.
 * Aborts when a property fails.
 */
#include "fuzz_check.h"
#include "orbit/payload_json.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void from_avro(const char *schema, const uint8_t *data, size_t size)
{
	char *json, *json2, *why = NULL;
	uint8_t *bytes;
	size_t len;
	int rc;

	if (orbit_avro_to_json(schema, data, size, &json))
		return;
	rc = orbit_avro_from_json(schema, json, &bytes, &len, &why);
	if (rc) {
		fprintf(stderr, "JSON %s: %s\n", json, why ? why : "?");
		FUZZ_CHECK(rc == -EINVAL && strstr(json, "null"),
			   "JSON read from Avro does not convert back");
	} else {
		FUZZ_CHECK(orbit_avro_to_json(schema, bytes, len, &json2) == 0,
			   "Avro written from JSON does not read");
		FUZZ_CHECK(strstr(json, "null") || !strcmp(json, json2),
			   "Avro → JSON → Avro → JSON changed the JSON");
		free(json2);
	}
	free(why);
	free(bytes);
	free(json);
}

static void from_json(const char *schema, const char *text)
{
	char *json, *why = NULL;
	uint8_t *bytes, *bytes2;
	size_t len, len2;
	int rc;

	rc = orbit_avro_from_json(schema, text, &bytes, &len, &why);
	free(why);
	if (rc)
		return;
	FUZZ_CHECK(orbit_avro_to_json(schema, bytes, len, &json) == 0,
		   "Avro written from JSON does not read");
	rc = orbit_avro_from_json(schema, json, &bytes2, &len2, NULL);
	FUZZ_CHECK(rc == 0, "JSON read from our own Avro does not convert back");
	FUZZ_CHECK(len == len2 && (!len || !memcmp(bytes, bytes2, len)),
		   "JSON → Avro → JSON → Avro changed the bytes");
	free(bytes);
	free(bytes2);
	free(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	char *copy;
	size_t slen;

	if (!nul || size > FUZZ_MAX_INPUT)
		return -1;
	/* schema NUL data NUL: both are C strings, the data with its length. */
	if (!(copy = malloc(size + 1)))
		return 0;
	memcpy(copy, data, size);
	copy[size] = 0;
	slen = (size_t)(nul - data);
	from_avro(copy, (const uint8_t *)copy + slen + 1, size - slen - 1);
	from_json(copy, copy + slen + 1);
	free(copy);
	return 0;
}
