/* wire_peer.h — test harness: Orbitalis protocol messages over a raw
 * mqtt_peer, as a remote orbiter (or an attacker on an open broker) sends
 * and sees them: encoded with libplugin's wire codec and envelope, published
 * verbatim; received ones decoded.
 *
 * The messages passed in are borrowed (built by hand, see wire.h); decoded
 * ones are owned by the caller (orbit_msg_clear). Functions return 0 or
 * -errno and print the reason to stderr.
 */
#ifndef ORBIT_TEST_WIRE_PEER_H
#define ORBIT_TEST_WIRE_PEER_H

#include "mqtt_peer.h"
#include "wire.h"

/* Encode m (its kind says the message type) as sent by `from` and publish
 * it on topic. */
int wire_peer_publish(struct mqtt_peer *p, const char *topic, const char *from, const orbit_msg *m);

/* Decode a received PUBLISH as protocol message kind k into *out. -EBADMSG
 * when it is not one (wrong message_type, malformed envelope or body). */
int wire_peer_decode(const struct mqtt_peer_msg *in, orbit_msg_kind k, orbit_msg *out);

#endif
