/* test_py_trace.c — the Python side of the captured session
 * (tests/data/mqtt-trace-core1-plugin1.txt: py-orbitalis core "core1"
 * and plugin "plugin1" over mosquitto) replayed against real orbitd
 * processes through a real broker, byte for byte where the trace allows.
 *
 *  A. orbitd is core1; the test is the Python plugin1 (a raw MQTT peer): the
 *     captured Offer, output, Graceless and Offers are published verbatim,
 *     Confirm/keepalives/close messages are built like the trace's (fresh
 *     timestamps, fresh input UUIDs). orbitd must answer on the topics taken
 *     from those messages, with what a Python plugin decodes and expects.
 *  B. orbitd hosts the bundled lowercase plugin exported as plugin1; the test
 *     is the Python core1: the captured Discover, Request, input, keepalive
 *     request and graceful close are published verbatim.
 *
 * Every message orbitd publishes on a topic the Python peer subscribes to is
 * checked as Python's receiver would take it (SPEC §1.2–§1.6: the envelope's
 * six keys, the bytes/datetime wrappers, Python's class names, formats the
 * class accepts) and decoded with libplugin's codec; where the capture has
 * the same message, the Avro bytes must be Python's. Both directions also
 * meet a Python 3.13 peer (the other StringMessage "doc", SPEC §2.10).
 * Waits are on messages, log lines and the sink file with deadlines, never
 * fixed sleeps. TEST_VERBOSE=1 echoes orbitd's log and every message the
 * Python side receives. */
#include "broker.h"
#include "mqtt_peer.h"
#include "proc.h"
#include "strf.h"
#include "test_data.h"
#include "tmpdir.h"

#include "orbit/builtin.h"
#include "envelope.h"
#include "orbit/spec.h"
#include "wire.h"

#include <check.h>
#include <ctype.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#define WAIT 15.0
#define TRACE "mqtt-trace-core1-plugin1.txt"
#define SCHEMAS "builtin-schema-strings.txt"

/* Timers of the capture (SPEC Appendix A). The Python side (the test)
 * keeps them; orbitd is configured with them where they reach the wire. */
#define CORE_DEAD_AFTER 5.0   /* core1's consider_others_dead_after */
#define PLUGIN_DEAD_AFTER 4.0 /* plugin1's */
#define KA_THRESHOLD 2.0      /* send_keepalive_before_timelimit, both */
#define LOOP 0.5              /* loop_interval, both */

/* Time compression on orbitd's side. loop_interval and
 * send_keepalive_before_timelimit never reach the wire (SPEC §2, §5), so
 * orbitd ticks faster and keeps its keepalive gap at KA_GAP from the
 * remote's announced considered_dead_after: the pacing checks still tell a
 * paced keepalive from one per tick. consider_others_dead_after is on the
 * wire (Discover/Offer): the two "silent peer is dead" scenarios announce
 * and apply SHORT_DEAD instead of the capture's value, and their Discover
 * and Offer checks expect exactly that value; the other scenarios keep the
 * capture's. */
#define ORBITD_LOOP 0.1
#define KA_GAP 0.5
#define SHORT_DEAD 2.0
/* orbitd's discovering_interval as core1: how soon it rediscovers after
 * losing plugin1 (not on the wire). */
#define ORBITD_DISCOVER_EVERY 0.25
/* The Python core's discovering_interval (not on the wire either). */
#define PY_DISCOVER_EVERY 0.5

/* What the running scenario's orbitd announces as considered_dead_after. */
static double orbitd_dead;

/* Python's keepalive period towards a remote announcing dead_after: send
 * when the deadline is within KA_THRESHOLD, checked once per LOOP. */
static double py_ka_every(double dead_after)
{
	return dead_after - KA_THRESHOLD > LOOP ? dead_after - KA_THRESHOLD : LOOP;
}

static struct test_broker broker;
static char *build_dir, *tmp, *plugdir;
static struct test_proc *orbitd;
static struct mqtt_peer *peer;

/* ---- small helpers ------------------------------------------------------- */

static const char *daemon_out(void)
{
	return orbitd ? test_proc_output(orbitd) : "(orbitd not started)";
}

static const char b64abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *b64(const uint8_t *d, size_t n)
{
	char *o = malloc(4 * ((n + 2) / 3) + 1), *w = o;
	if (!o)
		abort();
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)d[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)d[i + 1] << 8;
		if (i + 2 < n)
			v |= d[i + 2];
		*w++ = b64abc[v >> 18 & 63];
		*w++ = b64abc[v >> 12 & 63];
		*w++ = i + 1 < n ? b64abc[v >> 6 & 63] : '=';
		*w++ = i + 2 < n ? b64abc[v & 63] : '=';
	}
	*w = 0;
	return o;
}

/* What base64.b64decode accepts from busline's hook: standard alphabet,
 * padded to a multiple of 4, padding only at the end. */
static bool b64_ok(const char *s)
{
	size_t n = strlen(s), pad = 0;
	if (n % 4)
		return false;
	while (pad < n && pad < 2 && s[n - 1 - pad] == '=')
		pad++;
	for (size_t i = 0; i < n - pad; i++)
		if (!strchr(b64abc, s[i]) || !s[i])
			return false;
	return true;
}

static bool digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* What datetime.fromisoformat takes in the shape busline/Python writes:
 * YYYY-MM-DDTHH:MM:SS[.f+][Z|±HH:MM] with valid field ranges. */
static bool iso_ok(const char *s)
{
	if (strlen(s) < 19 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' ||
	    !digits(s + 8, 2) || s[10] != 'T' || !digits(s + 11, 2) || s[13] != ':' ||
	    !digits(s + 14, 2) || s[16] != ':' || !digits(s + 17, 2))
		return false;
	int mo = atoi(s + 5), d = atoi(s + 8), h = atoi(s + 11), mi = atoi(s + 14),
	    se = atoi(s + 17);
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59)
		return false;
	const char *p = s + 19;
	if (*p == '.') {
		size_t n = strspn(p + 1, "0123456789");
		if (!n)
			return false;
		p += 1 + n;
	}
	if (*p == 'Z')
		p++;
	else if (*p == '+' || *p == '-') {
		if (!digits(p + 1, 2) || p[3] != ':' || !digits(p + 4, 2))
			return false;
		p += 6;
	}
	return *p == 0;
}

/* What bytes.decode("utf-8") accepts: no overlong forms, no surrogates,
 * nothing above U+10FFFF. */
static bool utf8_ok(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		uint8_t c = s[i];
		size_t k = c < 0x80 ? 0 : c < 0xc2 ? 9 : c < 0xe0 ? 1 : c < 0xf0 ? 2 : c < 0xf5 ? 3 : 9;
		if (k == 9 || i + k >= n + (k == 0))
			return false;
		for (size_t j = 1; j <= k; j++)
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
		uint8_t c1 = k ? s[i + 1] : 0;
		if ((c == 0xe0 && c1 < 0xa0) || (c == 0xed && c1 >= 0xa0) ||
		    (c == 0xf0 && c1 < 0x90) || (c == 0xf4 && c1 >= 0x90))
			return false;
		i += k + 1;
	}
	return true;
}

/* A fresh str(uuid.uuid4()). */
static void uuid4(char out[37])
{
	uint8_t r[16];
	ck_assert_int_eq(getrandom(r, sizeof r, 0), (ssize_t)sizeof r);
	r[6] = (uint8_t)((r[6] & 0x0f) | 0x40);
	r[8] = (uint8_t)((r[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12],
		 r[13], r[14], r[15]);
}

static bool is_uuid4(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !strchr("0123456789abcdef", s[i]))
			return false;
	}
	return s[14] == '4' && strchr("89ab", s[19]);
}

/* ---- the capture ---------------------------------------------------------- */

struct tline {
	double t;
	char *pub, *topic, *payload; /* payload: the exact MQTT payload text */
	orbit_envelope env;          /* decoded */
};

static char *trace_text;
static struct tline lines[64];
static size_t n_lines;

static void trace_load(void)
{
	trace_text = read_test_data(TRACE);
	n_lines = 0;
	for (char *save = NULL, *l = strtok_r(trace_text, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		if (*l != '+')
			continue;
		ck_assert_uint_lt(n_lines, sizeof lines / sizeof *lines);
		struct tline *t = &lines[n_lines++];
		char *f[4];
		f[0] = l;
		for (int i = 1; i < 4; i++) {
			char *tab = strchr(f[i - 1], '\t');
			ck_assert_msg(tab, "trace line without 4 fields: %s", l);
			*tab = 0;
			f[i] = tab + 1;
		}
		t->t = strtod(f[0] + 1, NULL);
		t->pub = f[1];
		t->topic = f[2];
		t->payload = f[3];
		ck_assert_int_eq(orbit_envelope_decode(t->payload, strlen(t->payload), &t->env), 0);
	}
	ck_assert_uint_ge(n_lines, 30);
}

static void trace_free(void)
{
	for (size_t i = 0; i < n_lines; i++)
		orbit_envelope_clear(&lines[i].env);
	n_lines = 0;
	free(trace_text);
	trace_text = NULL;
}

/* The nth (from 0) line published by pub with that message_type. */
static const struct tline *tr(const char *pub, const char *type, int nth)
{
	int seen = 0;
	for (size_t i = 0; i < n_lines; i++) {
		const orbit_payload *p = &lines[i].env.payload;
		if (strcmp(lines[i].pub, pub) == 0 && p->message_type &&
		    strcmp(p->message_type, type) == 0 && seen++ == nth)
			return &lines[i];
	}
	ck_abort_msg("trace has no %s %s #%d", pub, type, nth);
	return NULL;
}

static void tr_decode(const struct tline *l, orbit_msg_kind k, orbit_msg *m)
{
	ck_assert_int_eq(orbit_msg_decode(k, l->env.payload.data, l->env.payload.len, m), 0);
}

/* Exact StringMessage schema strings of both Python flavours, read from the
 * reference file in tests/data (not from libplugin's own table). */
static char *str312, *str313;

static void schemas_load(void)
{
	char *text = read_test_data(SCHEMAS);
	int flavour = 0;
	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		if (strncmp(l, "## Python 3.12", 14) == 0)
			flavour = 12;
		else if (strncmp(l, "## Python 3.13", 14) == 0)
			flavour = 13;
		else if (strncmp(l, "StringMessage {", 15) == 0 && flavour == 12)
			str312 = strdup(l + 14);
		else if (strncmp(l, "StringMessage {", 15) == 0 && flavour == 13)
			str313 = strdup(l + 14);
	}
	free(text);
	ck_assert_ptr_nonnull(str312);
	ck_assert_ptr_nonnull(str313);
}

/* ---- Python's side of the envelope ---------------------------------------- */

/* datetime.now().isoformat(): naive local time, fraction omitted at 0 µs. */
static void py_now(char out[40])
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	localtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
	long us = ts.tv_nsec / 1000;
	if (us)
		snprintf(out + n, 40 - n, ".%06ld", us);
}

/* Exactly what busline's publisher puts on the wire for this payload
 * (SPEC §1.2, identifier = timestamp = the same datetime); ts NULL: now. */
static char *py_env(const char *pub, const orbit_payload *p, const char *ts)
{
	char now[40];
	if (!ts) {
		py_now(now);
		ts = now;
	}
	char *payload, *fmt, *type;
	if (p->format == ORBIT_FMT_NONE) {
		payload = strdup("null");
		fmt = strdup("null");
		type = strdup("null");
	} else {
		char *v = b64(p->data, p->len);
		payload = strf("{\"__type__\": \"bytes\", \"value\": \"%s\"}", v);
		free(v);
		fmt = strf("\"%s\"", orbit_format_name(p->format));
		type = strf("\"%s\"", p->message_type);
	}
	char *s = strf("{\"identifier\": {\"__type__\": \"datetime\", \"value\": \"%s\"}, "
		       "\"publisher_identifier\": \"%s\", \"serialized_payload\": %s, "
		       "\"payload_format_type\": %s, \"message_type\": %s, "
		       "\"timestamp\": {\"__type__\": \"datetime\", \"value\": \"%s\"}}",
		       ts, pub, payload, fmt, type, ts);
	free(payload);
	free(fmt);
	free(type);
	return s;
}

/* Python's class names: the only message_type strings a Python peer knows. */
static const struct {
	const char *name;
	orbit_msg_kind kind;
} py_proto[] = {
	{"DiscoverMessage", ORBIT_MSG_DISCOVER},
	{"OfferMessage", ORBIT_MSG_OFFER},
	{"RequestOperationMessage", ORBIT_MSG_REQUEST},
	{"RejectOperationMessage", ORBIT_MSG_REJECT},
	{"ConfirmConnectionMessage", ORBIT_MSG_CONFIRM},
	{"OperationNoLongerAvailableMessage", ORBIT_MSG_NO_LONGER_AVAILABLE},
	{"KeepaliveRequestMessage", ORBIT_MSG_KEEPALIVE_REQUEST},
	{"KeepaliveMessage", ORBIT_MSG_KEEPALIVE},
	{"GracelessCloneConnectionMessage", ORBIT_MSG_GRACELESS},
	{"GracefulCloseConnectionMessage", ORBIT_MSG_GRACEFUL},
	{"CloseConnectionAckMessage", ORBIT_MSG_CLOSE_ACK},
};

static const char *py_name(orbit_msg_kind k)
{
	for (size_t i = 0; i < sizeof py_proto / sizeof *py_proto; i++)
		if (py_proto[i].kind == k)
			return py_proto[i].name;
	return NULL;
}

/* Formats busline's built-in classes accept when receiving (SPEC §1.3). */
static bool builtin_accepts(const char *type, const char *fmt)
{
	static const struct {
		const char *type, *formats[4];
	} t[] = {
		{"StringMessage", {"utf-8", "avro", "json", NULL}},
		{"Int64Message", {"bytes", "avro", "json", NULL}},
		{"Int32Message", {"bytes", "avro", "json", NULL}},
		{"Float32Message", {"bytes", "avro", "json", NULL}},
		{"Float64Message", {"bytes", "avro", "json", NULL}},
	};
	for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
		if (strcmp(t[i].type, type) != 0)
			continue;
		for (size_t j = 0; t[i].formats[j]; j++)
			if (fmt && strcmp(fmt, t[i].formats[j]) == 0)
				return true;
		/* Int32/Int64 read a null format as "bytes". */
		return !fmt && strncmp(type, "Int", 3) == 0;
	}
	return false;
}

/* A failed Python-receiver check names the topic, the reason and then the
 * payload as received. Needs `m` (the mqtt_peer_msg) in scope. */
#define PYCHK(cond, fmt, ...)                                                               \
	ck_assert_msg(cond, "message on '%s': " fmt "\n  payload: %.*s", m->topic,           \
		      ##__VA_ARGS__, (int)(m->len > 2000 ? 2000 : m->len), (const char *)m->payload)

/* busline's json object_hook applied everywhere: a wrapper that does not
 * convert raises in the receive loop (SPEC §1.6). */
static void hook_check(json_t *v, const struct mqtt_peer_msg *m)
{
	if (json_is_array(v)) {
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x)
			hook_check(x, m);
		return;
	}
	if (!json_is_object(v))
		return;
	const char *ty = json_string_value(json_object_get(v, "__type__"));
	json_t *val = json_object_get(v, "value");
	if (ty && strcmp(ty, "datetime") == 0)
		PYCHK(json_is_string(val) && iso_ok(json_string_value(val)),
		      "datetime wrapper Python cannot parse");
	if (ty && strcmp(ty, "bytes") == 0)
		PYCHK(json_is_string(val) && b64_ok(json_string_value(val)),
		      "bytes wrapper Python cannot decode");
	const char *k;
	json_t *x;
	json_object_foreach(v, k, x)
		hook_check(x, m);
}

/* Everything a Python receiver does with one MQTT message (SPEC §1.2–§1.6),
 * asserting that none of it would raise; then libplugin's decoders. */
static void py_check(const struct mqtt_peer_msg *m)
{
	PYCHK(m->qos == 0 && !m->retain, "QoS %d retain %d (SPEC §1.1)", m->qos, m->retain);
	PYCHK(m->len > 0, "empty payload kills a Python receiver");
	PYCHK(utf8_ok(m->payload, m->len), "not UTF-8");
	for (size_t i = 0; i < m->len; i++)
		PYCHK(m->payload[i] < 0x80, "not ASCII-only like Python's json.dumps");
	json_error_t je;
	json_t *root = json_loadb((const char *)m->payload, m->len, 0, &je);
	PYCHK(root && json_is_object(root), "not a JSON object: %s", je.text);
	hook_check(root, m);
	static const char *keys[] = {"identifier", "publisher_identifier", "serialized_payload",
				     "payload_format_type", "message_type", "timestamp"};
	for (size_t i = 0; i < 6; i++)
		PYCHK(json_object_get(root, keys[i]), "missing key %s", keys[i]);
	PYCHK(json_object_size(root) == 6, "keys other than Python's six");
	json_t *id = json_object_get(root, "identifier");
	PYCHK(json_is_string(id) || json_is_object(id), "identifier");
	PYCHK(json_is_string(json_object_get(root, "publisher_identifier")),
	      "publisher_identifier");
	json_t *ts = json_object_get(root, "timestamp");
	const char *ts_type = json_string_value(json_object_get(ts, "__type__"));
	PYCHK(ts_type && strcmp(ts_type, "datetime") == 0, "timestamp is not a datetime wrapper");
	json_t *sp = json_object_get(root, "serialized_payload");
	json_t *fmt = json_object_get(root, "payload_format_type");
	json_t *type = json_object_get(root, "message_type");
	PYCHK(json_is_null(fmt) || json_is_string(fmt), "format");
	PYCHK(json_is_null(type) || json_is_string(type), "message_type");
	if (!json_is_null(sp)) {
		const char *sp_type = json_string_value(json_object_get(sp, "__type__"));
		PYCHK(sp_type && strcmp(sp_type, "bytes") == 0,
		      "serialized_payload is not a bytes wrapper");
		PYCHK(json_is_string(type), "payload without message_type");
		const char *t = json_string_value(type), *f = json_string_value(fmt);
		bool proto = false;
		for (size_t i = 0; i < sizeof py_proto / sizeof *py_proto; i++)
			proto = proto || strcmp(t, py_proto[i].name) == 0;
		if (proto)
			PYCHK(f && strcmp(f, "avro") == 0, "protocol message not in format avro");
		else
			PYCHK(builtin_accepts(t, f),
			      "message_type %s / format %s unknown to Python", t, f ? f : "null");
	}
	json_decref(root);

	orbit_envelope env;
	PYCHK(orbit_envelope_decode((const char *)m->payload, m->len, &env) == 0,
	      "orbit_envelope_decode failed");
	if (env.payload.format != ORBIT_FMT_NONE) {
		int k = orbit_msg_kind_from_name(env.payload.message_type);
		if (k >= 0) {
			orbit_msg msg;
			PYCHK(orbit_msg_decode((orbit_msg_kind)k, env.payload.data, env.payload.len,
					       &msg) == 0,
			      "Avro does not decode as %s", env.payload.message_type);
			orbit_msg_clear(&msg);
		} else {
			orbit_value v;
			PYCHK(orbit_value_decode(&env.payload, &v) == 0, "payload does not decode");
			if (env.payload.format == ORBIT_FMT_UTF8)
				PYCHK(utf8_ok(env.payload.data, env.payload.len),
				      "utf-8 payload is not UTF-8");
			orbit_value_clear(&v);
		}
	}
	orbit_envelope_clear(&env);
}

/* Every message received in this test, again (also those not waited for). */
static void py_check_all(void)
{
	for (size_t i = 0; i < mqtt_peer_count(peer); i++)
		py_check(mqtt_peer_msg_at(peer, i));
}

/* ---- what the Python side sends ------------------------------------------- */

static const char *self_pub; /* "plugin1-pub" or "core1-pub", as in the trace */

/* Publishes that refresh "last seen" on the remote (SPEC §5.2), for dead timing. */
static double last_seen_update;

static void send_raw(const char *topic, const char *payload)
{
	ck_assert_int_eq(mqtt_peer_publish(peer, topic, payload, strlen(payload)), 0);
}

static void send_payload(const char *topic, const orbit_payload *p)
{
	char *env = py_env(self_pub, p, NULL);
	send_raw(topic, env);
	free(env);
}

static void send_msg(const char *topic, const orbit_msg *m)
{
	uint8_t *avro = NULL;
	size_t len = 0;
	ck_assert_int_eq(orbit_msg_encode(m, &avro, &len), 0);
	orbit_payload p = {avro, len, ORBIT_FMT_AVRO, py_name(m->kind)};
	send_payload(topic, &p);
	free(avro);
}

/* Whether topic is Python's topic py with orbitd's random token (22
 * characters, see token_topic) put in as one more dot-separated part:
 * "a.b.close.<token>" for "a.b.close", "a.b.close.<token>.ack" for
 * "a.b.close.ack". */
static bool is_py_topic_with_token(const char *topic, const char *py)
{
	static const char tok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				  "0123456789-_";
	for (const char *d = strchr(topic, '.'); d; d = strchr(d + 1, '.')) {
		const char *end = d + 1 + 22;
		if (strlen(d + 1) < 22 || strspn(d + 1, tok) < 22 || (*end && *end != '.'))
			continue;
		size_t head = (size_t)(d - topic);
		if (strncmp(topic, py, head) == 0 && strcmp(end, py + head) == 0)
			return true;
	}
	return false;
}

/* Replay a captured line: the same bytes, on `topic` (taken from the
 * message that told us where to send): Python's topic, or for the
 * per-connection topics orbitd chooses, Python's with orbitd's random token
 * in it — the captured Python bytes are sent there all the same, as a
 * Python peer uses whatever topic it is told (SPEC §3). */
static void replay(const struct tline *l, const char *topic)
{
	ck_assert_msg(strcmp(topic, l->topic) == 0 || is_py_topic_with_token(topic, l->topic),
		      "orbitd named topic '%s' where Python used '%s'", topic, l->topic);
	send_raw(topic, l->payload);
}

static void set_schema(orbit_spec *sp, const char *schema)
{
	for (size_t i = 0; i < sp->n_schemas; i++) {
		free(sp->schemas[i]);
		sp->schemas[i] = strdup(schema);
		ck_assert_ptr_nonnull(sp->schemas[i]);
	}
}

/* The same message from a Python orbiter of another minor version: every
 * payload schema string in its own docstring flavour (SPEC §2.10). */
static void reflavour(orbit_msg *m, const char *schema)
{
	if (m->kind == ORBIT_MSG_DISCOVER) {
		for (size_t i = 0; i < m->discover.n_queries; i++) {
			orbit_query *q = &m->discover.queries[i];
			for (size_t j = 0; j < q->n_inputs; j++)
				set_schema(&q->inputs[j], schema);
			for (size_t j = 0; j < q->n_outputs; j++)
				set_schema(&q->outputs[j], schema);
		}
	} else if (m->kind == ORBIT_MSG_OFFER) {
		for (size_t i = 0; i < m->offer.n_ops; i++) {
			set_schema(&m->offer.ops[i].input, schema);
			set_schema(&m->offer.ops[i].output, schema);
		}
	}
}

/* The captured line re-sent by a Python orbiter whose schema strings are
 * `schema` (NULL: the captured bytes as they are); malloc'd payload text. */
static char *flavoured(const struct tline *l, orbit_msg_kind k, const char *schema)
{
	if (!schema)
		return strdup(l->payload);
	orbit_msg m;
	tr_decode(l, k, &m);
	reflavour(&m, schema);
	uint8_t *avro = NULL;
	size_t len = 0;
	ck_assert_int_eq(orbit_msg_encode(&m, &avro, &len), 0);
	orbit_payload p = {avro, len, ORBIT_FMT_AVRO, py_name(k)};
	char *env = py_env(l->pub, &p, NULL);
	free(avro);
	orbit_msg_clear(&m);
	return env;
}

/* The Python orbiter's loop, scripted: keepalives to the remote (paced like
 * Python with the remote's considered_dead_after), and for the core the
 * periodic Discover. Runs from the peer's tick while the test waits. */
static struct {
	bool ka_on;
	char *ka_topic;
	const struct tline *ka_line; /* Avro of our KeepaliveMessage */
	double ka_every, ka_next;
	bool disc_on;
	char *disc_topic, *disc_payload; /* owned; the exact bytes to send */
	double disc_every, disc_next;
	double disc_sent[512]; /* when each Discover went out (the first 512) */
	size_t n_disc_sent;
} sc;

static void script_tick(void *ctx, struct mqtt_peer *p)
{
	(void)ctx;
	(void)p;
	double now = mqtt_peer_now();
	if (sc.ka_on && now >= sc.ka_next) {
		send_payload(sc.ka_topic, &sc.ka_line->env.payload);
		sc.ka_next = now + sc.ka_every;
		last_seen_update = now;
	}
	if (sc.disc_on && now >= sc.disc_next) {
		send_raw(sc.disc_topic, sc.disc_payload);
		if (sc.n_disc_sent < sizeof sc.disc_sent / sizeof *sc.disc_sent)
			sc.disc_sent[sc.n_disc_sent++] = now;
		sc.disc_next = now + sc.disc_every;
		last_seen_update = now;
	}
}

/* Discovers our scripted core published in [from, to). */
static size_t sent_discovers(double from, double to)
{
	size_t n = 0;
	for (size_t i = 0; i < sc.n_disc_sent; i++)
		n += sc.disc_sent[i] >= from && sc.disc_sent[i] < to;
	return n;
}

static bool two_discovers_since(void *arg)
{
	return sent_discovers(*(const double *)arg, mqtt_peer_now() + 1) >= 2;
}

/* Start our keepalives: the first after one loop interval, then every
 * `every` s (Python: the first loop iteration, then when floor(remaining) <
 * threshold, i.e. every dead_after - threshold seconds). */
static void keepalives_on(const char *topic, double every)
{
	free(sc.ka_topic);
	sc.ka_topic = strdup(topic);
	sc.ka_every = every;
	sc.ka_next = mqtt_peer_now() + LOOP;
	sc.ka_on = true;
}

/* ---- what orbitd sends ---------------------------------------------------- */

struct got {
	const struct mqtt_peer_msg *m;
	orbit_envelope env;
	orbit_msg msg;
};

static void got_clear(struct got *g)
{
	orbit_msg_clear(&g->msg);
	orbit_envelope_clear(&g->env);
}

/* The next message on topic that arrived at or after `after`, checked as a
 * Python receiver would take it. */
static const struct mqtt_peer_msg *expect_any(const char *topic, double after, const char *what)
{
	const struct mqtt_peer_msg *m = mqtt_peer_next(peer, topic, after, WAIT);
	ck_assert_msg(m, "no %s on '%s' within %gs; orbitd:\n%s", what, topic, WAIT, daemon_out());
	py_check(m);
	return m;
}

/* The next protocol message on topic, which must be of kind k. */
static void expect_msg(struct got *g, const char *topic, orbit_msg_kind k, double after)
{
	memset(g, 0, sizeof *g);
	g->m = expect_any(topic, after, py_name(k));
	ck_assert_int_eq(orbit_envelope_decode((const char *)g->m->payload, g->m->len, &g->env), 0);
	ck_assert_msg(g->env.payload.message_type &&
			      strcmp(g->env.payload.message_type, py_name(k)) == 0,
		      "on '%s': %s where a Python peer expects %s", topic,
		      g->env.payload.message_type ? g->env.payload.message_type : "no message",
		      py_name(k));
	ck_assert_int_eq(orbit_msg_decode(k, g->env.payload.data, g->env.payload.len, &g->msg), 0);
}

/* The Avro bytes are those Python produced in the capture. */
static void same_avro(const struct got *g, const struct tline *l)
{
	const orbit_payload *a = &g->env.payload, *b = &l->env.payload;
	char *x = b64(a->data, a->len), *y = b64(b->data, b->len);
	ck_assert_msg(a->len == b->len && memcmp(a->data, b->data, a->len) == 0,
		      "%s on '%s' differs from Python's (trace +%.3f):\n orbitd %s\n python %s",
		      a->message_type, g->m->topic, l->t, x, y);
	free(x);
	free(y);
}

/* The Avro bytes are those of m (what Python would have produced). */
static void same_avro_as(const struct got *g, const orbit_msg *m, const char *what)
{
	uint8_t *avro = NULL;
	size_t len = 0;
	ck_assert_int_eq(orbit_msg_encode(m, &avro, &len), 0);
	const orbit_payload *a = &g->env.payload;
	char *x = b64(a->data, a->len), *y = b64(avro, len);
	ck_assert_msg(a->len == len && memcmp(a->data, avro, len) == 0,
		      "%s on '%s' differs from %s:\n orbitd %s\n python %s", a->message_type,
		      g->m->topic, what, x, y);
	free(x);
	free(y);
	free(avro);
}

/* topic is prefix plus a 22-character random token (orbitd's own
 * per-connection topics; a Python peer uses whatever topic it is told). */
static void token_topic(const char *topic, const char *prefix)
{
	size_t n = strlen(prefix);
	ck_assert_msg(topic && strncmp(topic, prefix, n) == 0 && strlen(topic + n) == 22 &&
			      strspn(topic + n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
						"0123456789-_") == 22,
		      "topic '%s' is not %s{token}", topic ? topic : "(null)", prefix);
}

/* The Avro bytes are those of Python's message l with orbitd's own
 * per-connection topics put in: every other byte is Python's. */
static void same_avro_but_topics(const struct got *g, const struct tline *l)
{
	orbit_msg py;
	tr_decode(l, g->msg.kind, &py);
	orbit_msg mix = py;
	if (g->msg.kind == ORBIT_MSG_REQUEST) {
		mix.request.output_topic = g->msg.request.output_topic;
		mix.request.close_topic = g->msg.request.close_topic;
	} else {
		ck_assert_int_eq(g->msg.kind, ORBIT_MSG_GRACEFUL);
		mix.graceful.ack_topic = g->msg.graceful.ack_topic;
	}
	same_avro_as(g, &mix, "Python's with orbitd's topics");
	orbit_msg_clear(&py);
}

struct logwait {
	const char *needle;
	size_t n;
};

static bool log_pred(void *arg)
{
	struct logwait *w = arg;
	return test_proc_count(orbitd, w->needle) >= w->n;
}

/* Wait (serving the MQTT peer meanwhile) until orbitd printed n lines
 * containing needle. */
static void expect_log(const char *needle, size_t n)
{
	struct logwait w = {needle, n};
	ck_assert_msg(mqtt_peer_run_until(peer, log_pred, &w, WAIT),
		      "orbitd never printed \"%s\" (%zu times):\n%s", needle, n, daemon_out());
}

static double when_logged(const char *needle, size_t n)
{
	expect_log(needle, n);
	return mqtt_peer_now();
}

/* ---- fixtures --------------------------------------------------------------- */

static void setup(void)
{
	const char *b = getenv("ORBIT_BUILD");
	build_dir = strdup(b ? b : "build");
	tmp = test_tmpdir_new("pytrace");
	ck_assert_ptr_nonnull(tmp);
	plugdir = test_tmpdir_path(tmp, "plugins");
	ck_assert_int_eq(mkdir(plugdir, 0755), 0);
	trace_load();
	schemas_load();
	memset(&sc, 0, sizeof sc);
	last_seen_update = 0;
	orbitd = NULL;
	peer = NULL;
}

static void teardown(void)
{
	test_proc_free(orbitd);
	orbitd = NULL;
	mqtt_peer_free(peer);
	peer = NULL;
	test_broker_stop(&broker);
	free(sc.ka_topic);
	free(sc.disc_topic);
	free(sc.disc_payload);
	memset(&sc, 0, sizeof sc);
	free(str312);
	free(str313);
	str312 = str313 = NULL;
	trace_free();
	free(plugdir);
	test_tmpdir_free(tmp);
	free(build_dir);
}

static void start_broker_and_peer(const char *client_id, const char *pub,
				  const char *const *topics)
{
	ck_assert_int_eq(test_broker_start(&broker), 0);
	peer = mqtt_peer_new(client_id, broker.port);
	ck_assert_ptr_nonnull(peer);
	mqtt_peer_set_tick(peer, script_tick, NULL);
	self_pub = pub;
	for (size_t i = 0; topics[i]; i++)
		ck_assert_int_eq(mqtt_peer_subscribe(peer, topics[i]), 0);
}

static void start_orbitd(const char *yaml)
{
	ck_assert_int_eq(test_tmpdir_write(tmp, "orbitd.yaml", yaml), 0);
	char *bin = strf("%s/bin/orbitd", build_dir);
	char *conf = test_tmpdir_path(tmp, "orbitd.yaml");
	char *sock = test_tmpdir_path(tmp, "orbitd.sock");
	char *argv[] = {bin, "-c", conf, "-p", plugdir, "-s", sock, "-l", "debug", NULL};
	orbitd = test_proc_start("orbitd", argv, NULL);
	ck_assert_ptr_nonnull(orbitd);
	free(bin);
	free(conf);
	free(sock);
}

struct exited {
	int status;
};

static bool exited_pred(void *arg)
{
	struct exited *e = arg;
	e->status = test_proc_wait_exit(orbitd, 0);
	return e->status != -1;
}

/* Wait for orbitd's exit while serving the peer; returns the wait status. */
static int wait_orbitd_exit(void)
{
	struct exited e = {-1};
	ck_assert_msg(mqtt_peer_run_until(peer, exited_pred, &e, WAIT), "orbitd did not exit:\n%s",
		      daemon_out());
	return e.status;
}

/* ---- 0. the replay machinery against the capture itself ----------------- */

/* Rebuilding each captured payload the way this file builds the Python side
 * gives the captured bytes back, and every captured message passes the
 * Python-receiver check: so what the tests send is what Python sends, and
 * what they demand of orbitd is no more than Python itself produces. */
START_TEST(replay_machinery_reproduces_the_capture)
{
	for (size_t i = 0; i < n_lines; i++) {
		const struct tline *l = &lines[i];
		json_t *root = json_loads(l->payload, 0, NULL);
		ck_assert_ptr_nonnull(root);
		json_t *stamp = json_object_get(root, "timestamp");
		const char *ts = json_string_value(json_object_get(stamp, "value"));
		char *env = py_env(l->pub, &l->env.payload, ts);
		ck_assert_msg(strcmp(env, l->payload) == 0, "line +%.3f:\n%s\n%s", l->t, env,
			      l->payload);
		free(env);
		json_decref(root);
		struct mqtt_peer_msg m = {.topic = l->topic, .payload = (uint8_t *)l->payload,
					  .len = strlen(l->payload)};
		py_check(&m);
		/* Avro re-encodes byte-identically (what send_msg relies on). */
		int k = orbit_msg_kind_from_name(l->env.payload.message_type);
		if (k < 0)
			continue;
		orbit_msg msg;
		tr_decode(l, (orbit_msg_kind)k, &msg);
		uint8_t *avro;
		size_t len;
		ck_assert_int_eq(orbit_msg_encode(&msg, &avro, &len), 0);
		ck_assert(len == l->env.payload.len && memcmp(avro, l->env.payload.data, len) == 0);
		free(avro);
		orbit_msg_clear(&msg);
	}
	/* The capture's schema string is the 3.12 flavour of the reference file. */
	orbit_msg d;
	tr_decode(tr("core1-pub", "DiscoverMessage", 0), ORBIT_MSG_DISCOVER, &d);
	ck_assert_str_eq(d.discover.queries[0].inputs[0].schemas[0], str312);
	orbit_msg_clear(&d);
}
END_TEST

/* ---- A. orbitd is core1, the test is Python plugin1 ---------------------- */

/* Topics a Python plugin1 subscribes to at start (SPEC §4.1), plus the
 * incoming close topic it subscribes when plugging (§4.5). */
static const char *const plugin_topics[] = {
	"$keepalive.plugin1.request", "$keepalive.plugin1", "$handshake.plugin1.reply",
	"$handshake.discover", "lowercase.plugin1.core1.close", NULL,
};

static char *sink_path;

/* orbitd as core1 with the capture's requirement, announcing core_dead as
 * its considered_dead_after. It logs "core not compliant: 0/1" once at
 * start: the counts of that line include it. */
static void a_start(double core_dead)
{
	orbitd_dead = core_dead;
	start_broker_and_peer("py-plugin1", "plugin1-pub", plugin_topics);
	sink_path = test_tmpdir_path(tmp, "lowercase.ndjson");
	char *yaml = strf("identifier: core1\n"
			  "timers: {loop_interval: %g, discovering_interval: %g,"
			  " consider_others_dead_after: %g, send_keepalive_before_timelimit: %g,"
			  " shutdown_timeout: 5}\n"
			  "mqtt: {host: 127.0.0.1, port: %d,"
			  " reconnect_min: 0.1, reconnect_max: 0.5}\n"
			  "requirements:\n"
			  "  lowercase:\n"
			  "    minimum: 1\n"
			  "    setup_data: {hex: \"0102\"}\n"
			  "    sink: {type: file, path: %s}\n"
			  "    schedule: {every: 0.5, data: \"HELLO\"}\n",
			  ORBITD_LOOP, ORBITD_DISCOVER_EVERY, core_dead, PLUGIN_DEAD_AFTER - KA_GAP,
			  broker.port, sink_path);
	start_orbitd(yaml);
	free(yaml);
	sc.ka_line = tr("plugin1-pub", "KeepaliveMessage", 0);
}

static void a_end(void)
{
	free(sink_path);
	sink_path = NULL;
}

/* A Python plugin of either flavour finds its Input.string() among the
 * query's entries: Python's is_compatible is set equality of schema strings
 * compared as parsed JSON, "doc" included (SPEC §2.10, §4.9). */
static bool py_schema_eq(const char *a, const char *b)
{
	json_t *x = json_loads(a, 0, NULL), *y = json_loads(b, 0, NULL);
	bool eq = x && y ? json_equal(x, y) : strcmp(a, b) == 0;
	json_decref(x);
	json_decref(y);
	return eq;
}

static bool py_finds(const orbit_spec *list, size_t n, const char *schema)
{
	for (size_t i = 0; i < n; i++)
		if (!list[i].support_empty && !list[i].support_undefined &&
		    list[i].n_schemas == 1 && py_schema_eq(list[i].schemas[0], schema))
			return true;
	return false;
}

static void check_discover(const orbit_msg *d)
{
	orbit_msg py;
	tr_decode(tr("core1-pub", "DiscoverMessage", 0), ORBIT_MSG_DISCOVER, &py);
	ck_assert_str_eq(d->discover.core_id, py.discover.core_id);
	ck_assert_str_eq(d->discover.offer_topic, py.discover.offer_topic);
	ck_assert_str_eq(d->discover.keepalive_topic, py.discover.keepalive_topic);
	ck_assert_str_eq(d->discover.keepalive_request_topic, py.discover.keepalive_request_topic);
	ck_assert(d->discover.considered_dead_after == orbitd_dead);
	orbit_msg_clear(&py);
	ck_assert_uint_eq(d->discover.n_queries, 1);
	const orbit_query *q = &d->discover.queries[0];
	ck_assert_str_eq(q->operation_name, "lowercase");
	ck_assert_msg(!q->allowlist && !q->blocklist, "lists in an open requirement");
	ck_assert_msg(py_finds(q->inputs, q->n_inputs, str312), "no 3.12 StringMessage input");
	ck_assert_msg(py_finds(q->inputs, q->n_inputs, str313), "no 3.13 StringMessage input");
	ck_assert_msg(py_finds(q->outputs, q->n_outputs, str312), "no 3.12 StringMessage output");
	ck_assert_msg(py_finds(q->outputs, q->n_outputs, str313), "no 3.13 StringMessage output");
}

/* One plugin-side connection as the Python plugin holds it. */
struct a_conn {
	orbit_msg discover; /* what orbitd discovered with */
	orbit_msg offer;    /* what we offered (decoded from the capture) */
	orbit_msg request; /* what orbitd asked */
	char uuid[37];
	char *input_topic;
	double t_confirm;
};

static void a_conn_clear(struct a_conn *c)
{
	orbit_msg_clear(&c->discover);
	orbit_msg_clear(&c->offer);
	orbit_msg_clear(&c->request);
	free(c->input_topic);
	memset(c, 0, sizeof *c);
}

/* Discover (arrived after `after`) → captured Offer #nth (verbatim, or
 * from a Python whose schema strings are `flavour`) → Request (must equal
 * the capture's Request #nth) → subscribe input, Confirm with a fresh UUID
 * (like Python: subscribe first, then confirm). */
static void a_handshake(struct a_conn *c, int nth, double after, const char *flavour)
{
	memset(c, 0, sizeof *c);
	struct got d;
	expect_msg(&d, "$handshake.discover", ORBIT_MSG_DISCOVER, after);
	check_discover(&d.msg);
	const struct tline *offer = tr("plugin1-pub", "OfferMessage", nth);
	tr_decode(offer, ORBIT_MSG_OFFER, &c->offer);
	ck_assert_str_eq(d.msg.discover.offer_topic, offer->topic);
	char *payload = flavoured(offer, ORBIT_MSG_OFFER, flavour);
	double t = mqtt_peer_now();
	send_raw(d.msg.discover.offer_topic, payload);
	free(payload);
	last_seen_update = t;
	c->discover = d.msg;
	d.msg = (orbit_msg){0};
	got_clear(&d);

	struct got r;
	expect_msg(&r, c->offer.offer.reply_topic, ORBIT_MSG_REQUEST, t);
	const orbit_msg *q = &r.msg;
	ck_assert_str_eq(q->request.core_id, "core1");
	ck_assert_str_eq(q->request.operation, "lowercase");
	ck_assert_str_eq(q->request.response_topic, "$handshake.core1.response");
	ck_assert_ptr_nonnull(q->request.output_topic);
	token_topic(q->request.output_topic, "lowercase.core1.plugin1.output.");
	token_topic(q->request.close_topic, "lowercase.core1.plugin1.close.");
	const orbit_bytes *sd = &q->request.setup_data;
	ck_assert_msg(sd->present && sd->len == 2 && sd->data[0] == 1 && sd->data[1] == 2,
		      "setup_data is not b\"\\x01\\x02\"");
	same_avro_but_topics(&r, tr("core1-pub", "RequestOperationMessage", nth));
	c->request = r.msg;
	r.msg = (orbit_msg){0};
	got_clear(&r);

	uuid4(c->uuid);
	c->input_topic = strf("lowercase.core1.plugin1.input.%s", c->uuid);
	ck_assert_int_eq(mqtt_peer_subscribe(peer, c->input_topic), 0);
	orbit_msg cm = {.kind = ORBIT_MSG_CONFIRM};
	cm.confirm.plugin_id = "plugin1";
	cm.confirm.operation = "lowercase";
	cm.confirm.input_topic = c->input_topic;
	cm.confirm.close_topic = "lowercase.plugin1.core1.close";
	c->t_confirm = mqtt_peer_now();
	send_msg(c->request.request.response_topic, &cm);
	last_seen_update = c->t_confirm;
}

static bool sink_has_hello(void *arg)
{
	(void)arg;
	FILE *f = fopen(sink_path, "r");
	if (!f)
		return false;
	char line[4096];
	bool found = false;
	while (!found && fgets(line, sizeof line, f)) {
		json_t *r = json_loads(line, 0, NULL);
		const char *op = json_string_value(json_object_get(r, "operation"));
		const char *plugin = json_string_value(json_object_get(r, "plugin"));
		const char *value = json_string_value(json_object_get(r, "value"));
		found = op && strcmp(op, "lowercase") == 0 && plugin &&
			strcmp(plugin, "plugin1") == 0 && value && strcmp(value, "hello") == 0;
		json_decref(r);
	}
	fclose(f);
	return found;
}

/* SIGTERM: orbitd closes gracefully like Python's core did at +8.011; the
 * Python plugin acks (+8.017, verbatim); orbitd exits 0 without forcing. */
static void a_sigterm_graceful(size_t graceful_before, const struct a_conn *c)
{
	const char *a_close_topic = c->request.request.close_topic;
	double t = mqtt_peer_now();
	ck_assert_int_eq(test_proc_signal(orbitd, SIGTERM), 0);
	struct got g;
	expect_msg(&g, "lowercase.plugin1.core1.close", ORBIT_MSG_GRACEFUL, t);
	ck_assert_str_eq(g.msg.graceful.from, "core1");
	ck_assert_str_eq(g.msg.graceful.operation, "lowercase");
	/* beside orbitd's close topic of the connection (from its Request) */
	char *ack = strf("%s.ack", a_close_topic);
	ck_assert_str_eq(g.msg.graceful.ack_topic, ack);
	free(ack);
	ck_assert(!g.msg.graceful.data.present);
	same_avro_but_topics(&g, tr("core1-pub", "GracefulCloseConnectionMessage", 0));
	replay(tr("plugin1-pub", "CloseConnectionAckMessage", 0), g.msg.graceful.ack_topic);
	got_clear(&g);
	int st = wait_orbitd_exit();
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit 0x%x:\n%s", st, daemon_out());
	ck_assert_uint_eq(
		test_proc_count(orbitd, "disconnected from plugin1 for lowercase (graceful)"),
		graceful_before + 1);
	ck_assert_msg(!test_proc_seen(orbitd, "gracelessly", 0), "%s", daemon_out());
}

/* The capture's timeline with orbitd as core1: handshake, execute → output
 * → file sink, keepalive request and pacing, graceful close (here from the
 * plugin, repeated as Python does), rediscovery and reconnection with a new
 * input topic, then plugin.stop(): Graceless and the racing Offer. */
START_TEST(orbitd_core_serves_python_plugin)
{
	a_start(CORE_DEAD_AFTER);
	struct a_conn c;
	a_handshake(&c, 0, 0, NULL);
	expect_log("connected to plugin1 for lowercase", 1);
	expect_log("core compliant: 1/1 requirements satisfied", 1);
	keepalives_on(c.discover.discover.keepalive_topic, py_ka_every(CORE_DEAD_AFTER));

	/* Input: StringMessage "HELLO" exactly as Python's core sent it (+3.002). */
	const struct mqtt_peer_msg *in = expect_any(c.input_topic, 0, "input");
	orbit_envelope ie;
	ck_assert_int_eq(orbit_envelope_decode((const char *)in->payload, in->len, &ie), 0);
	const struct tline *py_in = tr("core1-pub", "StringMessage", 0);
	ck_assert_int_eq(ie.payload.format, ORBIT_FMT_UTF8);
	ck_assert_str_eq(ie.payload.message_type, "StringMessage");
	ck_assert(ie.payload.len == py_in->env.payload.len &&
		  memcmp(ie.payload.data, py_in->env.payload.data, ie.payload.len) == 0);
	orbit_envelope_clear(&ie);

	/* Output (+3.005, verbatim) on the output topic from the Request. */
	replay(tr("plugin1-pub", "StringMessage", 0), c.request.request.output_topic);
	ck_assert_msg(mqtt_peer_run_until(peer, sink_has_hello, NULL, WAIT),
		      "no {\"plugin\":\"plugin1\",\"value\":\"hello\"} in the file sink:\n%s",
		      daemon_out());

	/* KeepaliveRequest: the answer goes to the topic in the request, used
	 * verbatim (SPEC §3: every _build_* topic may be overridden in Python). */
	const char *answer = "$keepalive.plugin1.answer";
	ck_assert_int_eq(mqtt_peer_subscribe(peer, answer), 0);
	orbit_msg kr = {.kind = ORBIT_MSG_KEEPALIVE_REQUEST};
	kr.keepalive_request.from = "plugin1";
	kr.keepalive_request.keepalive_topic = (char *)answer;
	double t = mqtt_peer_now();
	send_msg(c.discover.discover.keepalive_request_topic, &kr);
	struct got k;
	expect_msg(&k, answer, ORBIT_MSG_KEEPALIVE, t);
	ck_assert_str_eq(k.msg.keepalive.from, "core1");
	same_avro(&k, tr("core1-pub", "KeepaliveMessage", 0));
	got_clear(&k);

	/* Proactive keepalives to the topic of our Offer, paced by our
	 * considered_dead_after (4 s): the first well before that deadline,
	 * then each one before the previous one's deadline, not every tick. */
	double prev = c.t_confirm;
	for (int i = 0; i < 3; i++) {
		expect_msg(&k, c.offer.offer.keepalive_topic, ORBIT_MSG_KEEPALIVE, prev);
		ck_assert_str_eq(k.msg.keepalive.from, "core1");
		double gap = k.m->at - prev;
		ck_assert_msg(gap < PLUGIN_DEAD_AFTER,
			      "keepalive %d came %.2fs after the previous one: past plugin1's "
			      "considered_dead_after %.1fs",
			      i, gap, PLUGIN_DEAD_AFTER);
		if (i > 0)
			ck_assert_msg(gap >= KA_GAP - ORBITD_LOOP,
				      "keepalive %d only %.2fs after the previous one: "
				      "not paced by considered_dead_after",
				      i, gap);
		prev = k.m->at;
		got_clear(&k);
	}

	/* Graceful close from the plugin: ack on the ack topic we name. */
	const char *ack = "lowercase.plugin1.core1.close.ack";
	ck_assert_int_eq(mqtt_peer_subscribe(peer, ack), 0);
	orbit_msg gc = {.kind = ORBIT_MSG_GRACEFUL};
	gc.graceful.from = "plugin1";
	gc.graceful.operation = "lowercase";
	gc.graceful.ack_topic = (char *)ack;
	t = mqtt_peer_now();
	/* Python re-sends it every loop iteration until acked (SPEC §5.4):
	 * a repeat must be harmless. */
	send_msg(c.request.request.close_topic, &gc);
	send_msg(c.request.request.close_topic, &gc);
	struct got a;
	expect_msg(&a, ack, ORBIT_MSG_CLOSE_ACK, t);
	ck_assert_str_eq(a.msg.close_ack.from, "core1");
	ck_assert_str_eq(a.msg.close_ack.operation, "lowercase");
	double t_ack = a.m->at;
	got_clear(&a);
	expect_log("disconnected from plugin1 for lowercase (graceful)", 1);
	expect_log("core not compliant: 0/1 requirements satisfied", 2);

	/* Rediscovery, then the capture's reconnection (+8.53): Offer #1 →
	 * Request #1 → Confirm with a new input topic. */
	struct a_conn c2;
	a_handshake(&c2, 1, t_ack, NULL);
	ck_assert_str_ne(c2.uuid, c.uuid);
	expect_log("connected to plugin1 for lowercase", 2);
	expect_log("core compliant: 1/1 requirements satisfied", 2);
	expect_any(c2.input_topic, c2.t_confirm, "input on the new input topic");
	ck_assert_uint_eq(test_proc_count(orbitd, "disconnected from plugin1"), 1);

	/* plugin.stop() as captured (+12.56), on the reconnected connection
	 * (its close topic was unsubscribed and subscribed again): a Graceless,
	 * then the racing Offer of a Discover processed during the stop.
	 * orbitd closes its side and answers the Offer with a Request like
	 * Python's core (+12.565). */
	sc.ka_on = false;
	t = mqtt_peer_now();
	replay(tr("plugin1-pub", "GracelessCloneConnectionMessage", 0),
	       c2.request.request.close_topic);
	replay(tr("plugin1-pub", "OfferMessage", 2), c2.discover.discover.offer_topic);
	expect_log("disconnected from plugin1 for lowercase (graceless)", 1);
	expect_log("core not compliant: 0/1 requirements satisfied", 3);
	struct got r;
	expect_msg(&r, c2.offer.offer.reply_topic, ORBIT_MSG_REQUEST, t);
	same_avro_but_topics(&r, tr("core1-pub", "RequestOperationMessage", 2));
	got_clear(&r);
	/* orbitd echoed the Graceless on the plugin's close topic (a forged
	 * close would have closed the plugin's side too). Python unsubscribes
	 * that topic before it publishes its close (SPEC §5.5, §5.7), so only
	 * this peer, which stays subscribed, gets the echo: one, before the
	 * Request (one MQTT session keeps its order), never repeated. */
	const struct mqtt_peer_msg *echo =
		mqtt_peer_next(peer, "lowercase.plugin1.core1.close", t, 0);
	ck_assert_ptr_nonnull(echo);
	{
		orbit_envelope e;
		ck_assert_int_eq(orbit_envelope_decode((const char *)echo->payload, echo->len, &e),
				 0);
		ck_assert_str_eq(e.payload.message_type, "GracelessCloneConnectionMessage");
		orbit_msg m;
		ck_assert_int_eq(orbit_msg_decode(ORBIT_MSG_GRACELESS, e.payload.data,
						  e.payload.len, &m),
				 0);
		ck_assert_str_eq(m.graceless.from, "core1");
		ck_assert_str_eq(m.graceless.operation, "lowercase");
		orbit_msg_clear(&m);
		orbit_envelope_clear(&e);
	}

	/* Nothing is open any more: SIGTERM sends no close message. */
	ck_assert_int_eq(test_proc_signal(orbitd, SIGTERM), 0);
	int st = wait_orbitd_exit();
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit 0x%x:\n%s", st, daemon_out());
	ck_assert_ptr_null(mqtt_peer_next(peer, "lowercase.plugin1.core1.close", t, 0));
	py_check_all();
	a_conn_clear(&c);
	a_conn_clear(&c2);
	a_end();
}
END_TEST

/* The plugin goes silent (killed: no keepalives): orbitd declares it dead
 * after its consider_others_dead_after, closes, rediscovers; the plugin
 * started again connects again. */
START_TEST(orbitd_core_declares_silent_python_plugin_dead)
{
	a_start(SHORT_DEAD);
	struct a_conn c;
	a_handshake(&c, 0, 0, NULL);
	expect_log("connected to plugin1 for lowercase", 1);
	expect_log("core compliant: 1/1 requirements satisfied", 1);
	double silent_since = last_seen_update;
	double t_dead = when_logged("plugin1 is dead", 1);
	ck_assert_msg(t_dead - silent_since >= SHORT_DEAD,
		      "plugin1 declared dead %.2fs after its last message (< %.1fs)",
		      t_dead - silent_since, SHORT_DEAD);
	ck_assert_msg(t_dead - silent_since <= SHORT_DEAD + ORBITD_LOOP + 1.5,
		      "plugin1 declared dead as late as %.2fs after its last message",
		      t_dead - silent_since);
	expect_log("disconnected from plugin1 for lowercase", 1);
	expect_log("core not compliant: 0/1 requirements satisfied", 2);
	/* Rediscovery after the death, and plugin1, restarted under Python 3.13
	 * (its StringMessage schema has the other "doc"), connects again. */
	struct a_conn c2;
	a_handshake(&c2, 0, t_dead, str313);
	/* If orbitd told the plugin, it was with a Graceless on the plugin's
	 * close topic from core1 for lowercase, published before the Request
	 * just received (one MQTT session keeps its order). */
	const struct mqtt_peer_msg *gl = mqtt_peer_next(peer, "lowercase.plugin1.core1.close",
							c.t_confirm, 0);
	if (gl) {
		orbit_envelope e;
		ck_assert_int_eq(orbit_envelope_decode((const char *)gl->payload, gl->len, &e), 0);
		ck_assert_str_eq(e.payload.message_type, "GracelessCloneConnectionMessage");
		orbit_msg m;
		const orbit_payload *ep = &e.payload;
		ck_assert_int_eq(orbit_msg_decode(ORBIT_MSG_GRACELESS, ep->data, ep->len, &m), 0);
		ck_assert_str_eq(m.graceless.from, "core1");
		ck_assert_str_eq(m.graceless.operation, "lowercase");
		orbit_msg_clear(&m);
		orbit_envelope_clear(&e);
	}
	keepalives_on(c2.discover.discover.keepalive_topic, py_ka_every(SHORT_DEAD));
	expect_log("connected to plugin1 for lowercase", 2);
	expect_log("core compliant: 1/1 requirements satisfied", 2);
	a_sigterm_graceful(0, &c2);
	py_check_all();
	a_conn_clear(&c);
	a_conn_clear(&c2);
	a_end();
}
END_TEST

/* ---- B. orbitd hosts plugin1, the test is Python core1 ------------------- */

/* Topics a Python core1 subscribes to at start (SPEC §4.1). */
static const char *const core_topics[] = {
	"$keepalive.core1.request", "$keepalive.core1", "$handshake.core1.response",
	"$handshake.core1.offer", NULL,
};

/* orbitd hosting plugin1, announcing plugin_dead as its
 * considered_dead_after. */
static void b_start(double plugin_dead)
{
	orbitd_dead = plugin_dead;
	start_broker_and_peer("py-core1", "core1-pub", core_topics);
	char *from = strf("%s/plugins/lowercase.so", build_dir);
	char *to = test_tmpdir_path(plugdir, "lowercase.so");
	ck_assert_int_eq(test_copy_file(from, to, 0644), 0);
	free(from);
	free(to);
	char *yaml = strf("identifier: host1\n"
			  "timers: {loop_interval: %g, consider_others_dead_after: %g,"
			  " send_keepalive_before_timelimit: %g, shutdown_timeout: 5}\n"
			  "mqtt: {host: 127.0.0.1, port: %d,"
			  " reconnect_min: 0.1, reconnect_max: 0.5}\n"
			  "plugins:\n"
			  "  lowercase: {export: true, identifier: plugin1}\n",
			  ORBITD_LOOP, plugin_dead, CORE_DEAD_AFTER - KA_GAP, broker.port);
	start_orbitd(yaml);
	free(yaml);
	/* Python core1's loop: Discover every discovering_interval (2 s in
	 * the capture, PY_DISCOVER_EVERY here), forever (maximum=None), the
	 * captured bytes verbatim. */
	const struct tline *dl = tr("core1-pub", "DiscoverMessage", 0);
	sc.disc_topic = strdup(dl->topic);
	sc.disc_payload = strdup(dl->payload);
	sc.disc_every = PY_DISCOVER_EVERY;
	sc.disc_next = 0;
	sc.disc_on = true;
	sc.ka_line = tr("core1-pub", "KeepaliveMessage", 0);
}

struct b_conn {
	orbit_msg offer, confirm;
	double t_confirm;
};

static void b_conn_clear(struct b_conn *c)
{
	orbit_msg_clear(&c->offer);
	orbit_msg_clear(&c->confirm);
}

/* Offer (after `after`) for the Discover being sent → captured Request #nth
 * verbatim → Confirm with a fresh UUID input topic. */
static void b_handshake(struct b_conn *c, int nth, double after)
{
	memset(c, 0, sizeof *c);
	struct got o;
	expect_msg(&o, "$handshake.core1.offer", ORBIT_MSG_OFFER, after);
	const orbit_msg *m = &o.msg;
	orbit_envelope de;
	ck_assert_int_eq(orbit_envelope_decode(sc.disc_payload, strlen(sc.disc_payload), &de), 0);
	orbit_msg d;
	ck_assert_int_eq(
		orbit_msg_decode(ORBIT_MSG_DISCOVER, de.payload.data, de.payload.len, &d), 0);
	orbit_envelope_clear(&de);
	const char *query_schema = d.discover.queries[0].inputs[0].schemas[0];
	ck_assert_str_eq(m->offer.plugin_id, "plugin1");
	ck_assert_uint_eq(m->offer.n_ops, 1);
	const orbit_offered_op *op = &m->offer.ops[0];
	ck_assert_str_eq(op->name, "lowercase");
	/* SPEC §2.10: the exact strings of the query, so Python's comparison
	 * (doc included) succeeds. */
	ck_assert(op->input.n_schemas == 1 && !op->input.support_empty &&
		  !op->input.support_undefined);
	ck_assert_str_eq(op->input.schemas[0], query_schema);
	ck_assert(op->output.n_schemas == 1 && !op->output.support_empty &&
		  !op->output.support_undefined);
	ck_assert_str_eq(op->output.schemas[0], d.discover.queries[0].outputs[0].schemas[0]);
	ck_assert_str_eq(m->offer.reply_topic, "$handshake.plugin1.reply");
	ck_assert(m->offer.considered_dead_after == orbitd_dead);
	ck_assert_str_eq(m->offer.keepalive_topic, "$keepalive.plugin1");
	ck_assert_str_eq(m->offer.keepalive_request_topic, "$keepalive.plugin1.request");
	/* All of it as Python's plugin1 offered (+0.040), in that flavour (and
	 * with the considered_dead_after this scenario's plugin1 announces). */
	orbit_msg py_offer;
	tr_decode(tr("plugin1-pub", "OfferMessage", nth), ORBIT_MSG_OFFER, &py_offer);
	reflavour(&py_offer, query_schema);
	ck_assert(py_offer.offer.considered_dead_after == PLUGIN_DEAD_AFTER);
	py_offer.offer.considered_dead_after = orbitd_dead;
	same_avro_as(&o, &py_offer, "Python plugin1's Offer");
	orbit_msg_clear(&py_offer);
	orbit_msg_clear(&d);
	c->offer = o.msg;
	o.msg = (orbit_msg){0};
	got_clear(&o);

	double t = mqtt_peer_now();
	replay(tr("core1-pub", "RequestOperationMessage", nth), c->offer.offer.reply_topic);
	last_seen_update = t;
	struct got cf;
	expect_msg(&cf, "$handshake.core1.response", ORBIT_MSG_CONFIRM, t);
	const orbit_msg *k = &cf.msg;
	ck_assert_str_eq(k->confirm.plugin_id, "plugin1");
	ck_assert_str_eq(k->confirm.operation, "lowercase");
	ck_assert_msg(k->confirm.input_topic, "null operation_input_topic (SPEC §2.6)");
	const char *pre = "lowercase.core1.plugin1.input.";
	ck_assert_msg(strncmp(k->confirm.input_topic, pre, strlen(pre)) == 0 &&
			      is_uuid4(k->confirm.input_topic + strlen(pre)),
		      "input topic '%s' is not {op}.{core}.{plugin}.input.{uuid4}",
		      k->confirm.input_topic);
	for (int i = 0; i < 2; i++) {
		orbit_msg py;
		tr_decode(tr("plugin1-pub", "ConfirmConnectionMessage", i), ORBIT_MSG_CONFIRM, &py);
		ck_assert_str_ne(k->confirm.input_topic, py.confirm.input_topic);
		orbit_msg_clear(&py);
	}
	token_topic(k->confirm.close_topic, "lowercase.plugin1.core1.close.");
	c->t_confirm = cf.m->at;
	c->confirm = cf.msg;
	cf.msg = (orbit_msg){0};
	got_clear(&cf);
	/* Python core on Confirm: subscribe its close topic and the output. */
	ck_assert_int_eq(mqtt_peer_subscribe(peer, "lowercase.core1.plugin1.close"), 0);
	ck_assert_int_eq(mqtt_peer_subscribe(peer, "lowercase.core1.plugin1.output"), 0);
}

/* SIGTERM: plugin1 closes gracefully on core1's close topic (from the
 * Request); core1 acks like Python, at once, so the ack topic must have been
 * subscribed (SUBACK) before the close went out (SPEC §1.1); orbitd exits 0
 * without forcing. */
static void b_sigterm_graceful(size_t graceful_before, const struct b_conn *c)
{
	const char *b_close_topic = c->confirm.confirm.close_topic;
	double t = mqtt_peer_now();
	ck_assert_int_eq(test_proc_signal(orbitd, SIGTERM), 0);
	struct got g;
	expect_msg(&g, "lowercase.core1.plugin1.close", ORBIT_MSG_GRACEFUL, t);
	ck_assert_str_eq(g.msg.graceful.from, "plugin1");
	ck_assert_str_eq(g.msg.graceful.operation, "lowercase");
	char *ack = strf("%s.ack", b_close_topic);
	ck_assert_str_eq(g.msg.graceful.ack_topic, ack);
	free(ack);
	ck_assert(!g.msg.graceful.data.present);
	orbit_msg am = {.kind = ORBIT_MSG_CLOSE_ACK};
	am.close_ack.from = "core1";
	am.close_ack.operation = "lowercase";
	send_msg(g.msg.graceful.ack_topic, &am);
	got_clear(&g);
	int st = wait_orbitd_exit();
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit 0x%x:\n%s", st, daemon_out());
	ck_assert_uint_eq(test_proc_count(orbitd, "remote core core1 disconnected from lowercase "
						  "(graceful)"),
			  graceful_before + 1);
	ck_assert_msg(!test_proc_seen(orbitd, "gracelessly", 0), "%s", daemon_out());
}

/* Messages received on topic in [from, to). */
static size_t count_on(const char *topic, double from, double to)
{
	size_t n = 0;
	for (size_t i = 0; i < mqtt_peer_count(peer); i++) {
		const struct mqtt_peer_msg *m = mqtt_peer_msg_at(peer, i);
		n += strcmp(m->topic, topic) == 0 && m->at >= from && m->at < to;
	}
	return n;
}

START_TEST(orbitd_plugin_serves_python_core)
{
	b_start(PLUGIN_DEAD_AFTER);
	struct b_conn c;
	b_handshake(&c, 0, 0);
	expect_log("plugin lowercase: remote core core1 connected for lowercase", 1);
	keepalives_on(c.offer.offer.keepalive_topic, py_ka_every(PLUGIN_DEAD_AFTER));

	/* Input (+3.002 verbatim) → "hello" on the output topic of the Request.
	 * Sent as soon as the Confirm arrived, as a Python core may: orbitd must
	 * have had the input topic's SUBACK before confirming (SPEC §1.1). */
	double t = mqtt_peer_now();
	send_raw(c.confirm.confirm.input_topic, tr("core1-pub", "StringMessage", 0)->payload);
	const struct mqtt_peer_msg *out = expect_any("lowercase.core1.plugin1.output", t, "output");
	orbit_envelope oe;
	ck_assert_int_eq(orbit_envelope_decode((const char *)out->payload, out->len, &oe), 0);
	ck_assert_str_eq(oe.payload.message_type, "StringMessage");
	/* As Python's plugin sent it (+3.005): utf-8, SPEC §1.3. */
	const struct tline *py_out = tr("plugin1-pub", "StringMessage", 0);
	ck_assert_int_eq(oe.payload.format, ORBIT_FMT_UTF8);
	ck_assert(oe.payload.len == py_out->env.payload.len &&
		  memcmp(oe.payload.data, py_out->env.payload.data, oe.payload.len) == 0);
	orbit_value v;
	ck_assert_int_eq(orbit_value_decode(&oe.payload, &v), 0);
	ck_assert_int_eq(v.kind, ORBIT_KIND_STRING);
	ck_assert_str_eq(v.str, "hello");
	orbit_value_clear(&v);
	orbit_envelope_clear(&oe);

	/* Proactive keepalives to the topic of core1's Discover, paced by its
	 * considered_dead_after (5 s): the first well before that deadline,
	 * then each one before the previous one's deadline, not every tick.
	 * (Checked before any keepalive request, whose answers would share
	 * the topic.) */
	struct got k;
	double prev = c.t_confirm;
	for (int i = 0; i < 2; i++) {
		expect_msg(&k, "$keepalive.core1", ORBIT_MSG_KEEPALIVE, prev + 0.001);
		ck_assert_str_eq(k.msg.keepalive.from, "plugin1");
		same_avro(&k, tr("plugin1-pub", "KeepaliveMessage", 0));
		double gap = k.m->at - prev;
		ck_assert_msg(gap < CORE_DEAD_AFTER,
			      "keepalive %d to core1 %.2fs after the previous one: past core1's "
			      "considered_dead_after %.1fs",
			      i, gap, CORE_DEAD_AFTER);
		if (i > 0)
			ck_assert_msg(gap >= KA_GAP - ORBITD_LOOP,
				      "keepalive %d only %.2fs after the previous one: "
				      "not paced by considered_dead_after",
				      i, gap);
		prev = k.m->at;
		got_clear(&k);
	}

	/* Python's KeepaliveRequest (+4.005 verbatim) → a Keepalive on
	 * $keepalive.core1; and one naming another topic is answered there. */
	t = mqtt_peer_now();
	replay(tr("core1-pub", "KeepaliveRequestMessage", 0),
	       c.offer.offer.keepalive_request_topic);
	expect_msg(&k, "$keepalive.core1", ORBIT_MSG_KEEPALIVE, t);
	ck_assert_str_eq(k.msg.keepalive.from, "plugin1");
	same_avro(&k, tr("plugin1-pub", "KeepaliveMessage", 0));
	got_clear(&k);
	const char *answer = "$keepalive.core1.answer";
	ck_assert_int_eq(mqtt_peer_subscribe(peer, answer), 0);
	orbit_msg kr = {.kind = ORBIT_MSG_KEEPALIVE_REQUEST};
	kr.keepalive_request.from = "core1";
	kr.keepalive_request.keepalive_topic = (char *)answer;
	t = mqtt_peer_now();
	send_msg(c.offer.offer.keepalive_request_topic, &kr);
	expect_msg(&k, answer, ORBIT_MSG_KEEPALIVE, t);
	ck_assert_str_eq(k.msg.keepalive.from, "plugin1");
	got_clear(&k);

	/* Graceful close from core1 (+8.011 verbatim) → Ack like +8.017; not
	 * before core1 discovered twice on the open connection (checked below). */
	ck_assert_int_eq(mqtt_peer_subscribe(peer, "lowercase.core1.plugin1.close.ack"), 0);
	double since_confirm = c.t_confirm;
	ck_assert(mqtt_peer_run_until(peer, two_discovers_since, &since_confirm, WAIT));
	t = mqtt_peer_now();
	replay(tr("core1-pub", "GracefulCloseConnectionMessage", 0), c.confirm.confirm.close_topic);
	struct got a;
	expect_msg(&a, "lowercase.core1.plugin1.close.ack", ORBIT_MSG_CLOSE_ACK, t);
	same_avro(&a, tr("plugin1-pub", "CloseConnectionAckMessage", 0));
	double t_ack = a.m->at;
	got_clear(&a);
	expect_log("plugin lowercase: remote core core1 disconnected from lowercase (graceful)", 1);

	/* core1 kept discovering: while the connection was open, plugin1
	 * offered nothing more (SPEC §4.3 steps 3-4, trace +2.5). Evidence
	 * that those Discovers had their chance: they went out after the
	 * Confirm and before the graceful close whose ack came back, and
	 * orbitd publishes in the order it handles what it receives (one
	 * session each way), so an Offer for any of them would have arrived
	 * before that ack. */
	ck_assert_uint_ge(sent_discovers(c.t_confirm, t), 2);
	ck_assert_uint_eq(count_on("$handshake.core1.offer", c.t_confirm, t_ack), 0);

	/* The next Discover of core1 gets a fresh Offer (+8.53), and the
	 * replayed Request a Confirm with a new input topic. */
	struct b_conn c2;
	b_handshake(&c2, 1, t);
	ck_assert_str_ne(c2.confirm.confirm.input_topic, c.confirm.confirm.input_topic);
	expect_log("plugin lowercase: remote core core1 connected for lowercase", 2);

	b_sigterm_graceful(1, &c2);
	py_check_all();
	b_conn_clear(&c);
	b_conn_clear(&c2);
}
END_TEST

/* core1 goes silent (no Discover, no keepalive): plugin1 declares it dead
 * after its consider_others_dead_after and closes; core1 back → new Offer. */
START_TEST(orbitd_plugin_declares_silent_python_core_dead)
{
	b_start(SHORT_DEAD);
	struct b_conn c;
	b_handshake(&c, 0, 0);
	expect_log("plugin lowercase: remote core core1 connected for lowercase", 1);
	sc.disc_on = false;
	double silent_since = last_seen_update;
	double t_dead = when_logged("plugin lowercase: remote core core1 is dead", 1);
	ck_assert_msg(t_dead - silent_since >= SHORT_DEAD,
		      "core1 declared dead %.2fs after its last message (< %.1fs)",
		      t_dead - silent_since, SHORT_DEAD);
	ck_assert_msg(t_dead - silent_since <= SHORT_DEAD + ORBITD_LOOP + 1.5,
		      "core1 declared dead as late as %.2fs after its last message",
		      t_dead - silent_since);
	expect_log("plugin lowercase: remote core core1 disconnected from lowercase", 1);
	/* core1 back, restarted under Python 3.13: its Discover (the other
	 * "doc" in the StringMessage schema) gets an Offer in that flavour. */
	free(sc.disc_payload);
	sc.disc_payload =
		flavoured(tr("core1-pub", "DiscoverMessage", 0), ORBIT_MSG_DISCOVER, str313);
	sc.disc_next = 0;
	sc.disc_on = true;
	struct b_conn c2;
	b_handshake(&c2, 1, t_dead);
	expect_log("plugin lowercase: remote core core1 connected for lowercase", 2);
	b_sigterm_graceful(0, &c2);
	py_check_all();
	b_conn_clear(&c);
	b_conn_clear(&c2);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("py_trace");
	TCase *tc = tcase_create("replay");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, replay_machinery_reproduces_the_capture);
	tcase_add_test(tc, orbitd_core_serves_python_plugin);
	tcase_add_test(tc, orbitd_core_declares_silent_python_plugin_dead);
	tcase_add_test(tc, orbitd_plugin_serves_python_core);
	tcase_add_test(tc, orbitd_plugin_declares_silent_python_core_dead);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
