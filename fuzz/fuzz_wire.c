/* fuzz_wire.c — libFuzzer target: the 11 protocol messages (wire.c) and the
 * built-in payloads (builtin.c), as they arrive off the bus.
 *
 * Input: one selector byte, then the payload bytes. Selector % 16 below
 * ORBIT_MSG__COUNT decodes that protocol message; otherwise the next byte
 * picks a built-in class (StringMessage ... Float64Message) and a format.
 * Checks, aborting on a failure:
 *  - a decoded message re-encodes, the encoding decodes, and encoding that
 *    gives the same bytes again (the decoder may accept non-minimal varints
 *    and blocks, so the first encoding need not equal the input);
 *  - a decoded built-in value survives JSON (orbit_value_to_json, then
 *    orbit_value_from_json) and re-encoding in its format unchanged.
 */
#include "fuzz_check.h"
#include "wire.h"
#include "orbit/builtin.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void wire(orbit_msg_kind k, const uint8_t *data, size_t size)
{
	orbit_msg m, again;
	uint8_t *enc, *enc2;
	size_t len, len2;
	int rc;

	if (orbit_msg_decode(k, data, size, &m))
		return;
	rc = orbit_msg_encode(&m, &enc, &len);
	orbit_msg_clear(&m);
	FUZZ_CHECK(rc == 0, "a decoded message does not re-encode");
	FUZZ_CHECK(orbit_msg_decode(k, enc, len, &again) == 0, "a message we encoded does not decode");
	FUZZ_CHECK(orbit_msg_encode(&again, &enc2, &len2) == 0, "a message decoded twice does not encode");
	FUZZ_CHECK(len == len2 && !memcmp(enc, enc2, len), "encode(decode(encode(m))) != encode(m)");
	orbit_msg_clear(&again);
	free(enc);
	free(enc2);
}

static void same_value(const orbit_value *a, const orbit_value *b, const char *what)
{
	FUZZ_CHECK(a->kind == b->kind, what);
	switch (a->kind) {
	case ORBIT_KIND_STRING:
		FUZZ_CHECK(a->str_len == b->str_len && !memcmp(a->str, b->str, a->str_len), what);
		break;
	case ORBIT_KIND_INT32:
	case ORBIT_KIND_INT64:
		FUZZ_CHECK(a->i == b->i, what);
		break;
	case ORBIT_KIND_FLOAT32:
	case ORBIT_KIND_FLOAT64:
		/* bit for bit (-0.0 is not 0.0), any NaN for a NaN */
		FUZZ_CHECK((isnan(a->f) && isnan(b->f)) || !memcmp(&a->f, &b->f, sizeof a->f), what);
		break;
	default:
		break;
	}
}

static void builtin(uint8_t sel, const uint8_t *data, size_t size)
{
	static const orbit_kind KINDS[] = {ORBIT_KIND_STRING, ORBIT_KIND_INT32, ORBIT_KIND_INT64,
					   ORBIT_KIND_FLOAT32, ORBIT_KIND_FLOAT64};
	static const orbit_format FORMATS[] = {ORBIT_FMT_AVRO, ORBIT_FMT_UTF8, ORBIT_FMT_BYTES,
					       ORBIT_FMT_JSON, ORBIT_FMT_NONE};
	orbit_kind kind = KINDS[sel % 5];
	orbit_payload p = {.format = FORMATS[sel / 5 % 5], .data = data, .len = size,
			   .message_type = orbit_kind_message_type(kind)};
	orbit_value v, back;
	orbit_payload enc;
	uint8_t *buf;
	char *json, *why = NULL;
	int rc;

	if (p.format == ORBIT_FMT_NONE) {
		p.data = NULL;
		p.len = 0;
	}
	if (orbit_value_decode(&p, &v))
		return;
	FUZZ_CHECK(v.kind == (p.format == ORBIT_FMT_NONE ? ORBIT_KIND_EMPTY : kind),
		   "decoded as another kind");
	/* Non-finite floats are written as Python writes them (NaN, Infinity),
	 * which is not JSON: orbit_value_from_json takes JSON numbers only. A
	 * Float32Message carried as Avro or JSON is a double, which Python does
	 * not bound, but a human's JSON for one must fit a float32. */
	bool is_float = v.kind == ORBIT_KIND_FLOAT32 || v.kind == ORBIT_KIND_FLOAT64;
	bool fits = v.kind != ORBIT_KIND_FLOAT32 || !isinf((float)v.f);
	if ((!is_float || isfinite(v.f)) && (json = orbit_value_to_json(&v))) {
		rc = orbit_value_from_json(v.kind, json, &back, &why);
		if (rc != (fits ? 0 : -EINVAL))
			fprintf(stderr, "%s: %d %s\n", json, rc, why ? why : "");
		FUZZ_CHECK(rc == (fits ? 0 : -EINVAL), "a value's JSON does not parse back");
		if (!rc)
			same_value(&v, &back, "a value changes through JSON");
		orbit_value_clear(&back);
		free(why);
		free(json);
	}
	/* -EINVAL and -ERANGE are documented refusals (a negative int32 as
	 * bytes, a class the format does not carry). */
	rc = orbit_value_encode(&v, p.format, &enc, &buf);
	FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ERANGE, "encode failed otherwise");
	if (!rc) {
		FUZZ_CHECK(orbit_value_decode(&enc, &back) == 0, "a value we encoded does not decode");
		same_value(&v, &back, "a value changes through re-encoding");
		orbit_value_clear(&back);
		free(buf);
	}
	orbit_value_clear(&v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2 || size > FUZZ_MAX_INPUT)
		return -1;
	if (data[0] % 16 < ORBIT_MSG__COUNT)
		wire((orbit_msg_kind)(data[0] % 16), data + 1, size - 1);
	else
		builtin(data[1], data + 2, size - 2);
	return 0;
}
