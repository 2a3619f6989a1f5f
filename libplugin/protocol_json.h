/* protocol_json.h (private to libplugin) — protocol messages as JSON, for
 * orbit_protocol_describe and the orbiter's observer. */
#ifndef ORBIT_PROTOCOL_JSON_H
#define ORBIT_PROTOCOL_JSON_H

#include "wire.h"

#include <jansson.h>

/* The fields of m under their wire names (orbit/protocol.h), a new
 * object; NULL on ENOMEM. m is borrowed. */
json_t *orb_msg_json(const orbit_msg *m);

/* Decode protocol payload p into its fields (*out, a new object). Returns
 * its kind (>= 0), -EINVAL (not a protocol message), -EBADMSG, -E2BIG or
 * -ENOMEM; *out NULL on error. */
int orb_payload_fields(const orbit_payload *p, json_t **out);

#endif
