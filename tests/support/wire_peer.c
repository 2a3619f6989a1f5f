/* wire_peer.c — see wire_peer.h. */
#include "wire_peer.h"

#include "envelope.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int wire_peer_publish(struct mqtt_peer *p, const char *topic, const char *from, const orbit_msg *m)
{
	uint8_t *avro = NULL;
	size_t len = 0;
	char *env = NULL;
	size_t env_len = 0;
	int rc = orbit_msg_encode(m, &avro, &len);
	if (rc == 0) {
		orbit_payload pl = {avro, len, ORBIT_FMT_AVRO, orbit_msg_type_name(m->kind)};
		rc = orbit_envelope_encode(&pl, from, &env, &env_len);
	}
	if (rc == 0)
		rc = mqtt_peer_publish(p, topic, env, env_len);
	else
		fprintf(stderr, "wire_peer: cannot encode %s: %s\n", orbit_msg_type_name(m->kind),
			strerror(-rc));
	free(env);
	free(avro);
	return rc;
}

int wire_peer_decode(const struct mqtt_peer_msg *in, orbit_msg_kind k, orbit_msg *out)
{
	orbit_envelope e;
	memset(out, 0, sizeof *out);
	if (orbit_envelope_decode((const char *)in->payload, in->len, &e) < 0)
		return -EBADMSG;
	int rc = -EBADMSG;
	if (e.payload.message_type && strcmp(e.payload.message_type, orbit_msg_type_name(k)) == 0)
		rc = orbit_msg_decode(k, e.payload.data, e.payload.len, out);
	orbit_envelope_clear(&e);
	return rc;
}
