/* fuzz_envelope.c — libFuzzer target: busline's JSON envelope (SPEC §1.2).
 *
 * The input is the envelope text. Checks, aborting on a difference:
 *  - the fast path (envelope_fast.c) may decline anything, but what it
 *    accepts the general decoder (envelope.c) accepts too, with the same
 *    format, bytes and message_type;
 *  - orbit_envelope_decode gives what the general decoder gives;
 *  - a decoded payload re-encodes, and that text decodes to the same payload
 *    (on the fast path: it is the shape our encoder writes).
 */
#include "envelope_internal.h"
#include "fuzz_check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void same(const orbit_envelope *a, const orbit_envelope *b, const char *what)
{
	FUZZ_CHECK(a->payload.format == b->payload.format, what);
	FUZZ_CHECK(a->payload.len == b->payload.len, what);
	FUZZ_CHECK(!a->payload.len || !memcmp(a->payload.data, b->payload.data, a->payload.len), what);
	FUZZ_CHECK(!a->payload.message_type == !b->payload.message_type, what);
	FUZZ_CHECK(!a->payload.message_type ||
		   !strcmp(a->payload.message_type, b->payload.message_type), what);
}

static void round_trip(const orbit_envelope *e)
{
	orbit_envelope again, fast;
	char *json;
	size_t len;
	int rc = orbit_envelope_encode(&e->payload, "fuzz", &json, &len);

	FUZZ_CHECK(rc == 0, "a decoded envelope does not re-encode");
	FUZZ_CHECK(envelope_decode_general(json, len, &again) == 0, "re-encoded envelope rejected");
	same(e, &again, "re-encoded envelope decodes differently");
	/* Our encoder escapes non-ASCII identifiers and types: the fast path may
	 * decline those, never differ. */
	if (envelope_decode_fast(json, len, &fast) == 0) {
		same(e, &fast, "re-encoded envelope decodes differently on the fast path");
		orbit_envelope_clear(&fast);
	}
	orbit_envelope_clear(&again);
	free(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *json = (const char *)data;
	orbit_envelope fast, general, api;
	int rf, rg, ra;

	if (size > FUZZ_MAX_INPUT)
		return -1;
	rf = envelope_decode_fast(json, size, &fast);
	rg = envelope_decode_general(json, size, &general);
	ra = orbit_envelope_decode(json, size, &api);
	FUZZ_CHECK(rf == 0 || rf == 1, "fast path returned something else than 0 or 1");
	if (rf == 0) {
		FUZZ_CHECK(rg == 0, "the fast path accepts what the general decoder rejects");
		same(&fast, &general, "fast and general decoders disagree");
	} else {
		FUZZ_CHECK(!fast.data_owned && !fast.message_type_owned, "a declined input owns memory");
	}
	FUZZ_CHECK(ra == rg, "orbit_envelope_decode and the general decoder disagree on the result");
	if (rg == 0) {
		same(&api, &general, "orbit_envelope_decode and the general decoder disagree");
		round_trip(&general);
	}
	orbit_envelope_clear(&fast);
	orbit_envelope_clear(&general);
	orbit_envelope_clear(&api);
	return 0;
}
