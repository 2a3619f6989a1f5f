/* bustap.h — a debug trace of the core's handshake on the in-process bus.
 *
 * One debug line per Discover and per Offer to the core that the local bus
 * carries: "local bus: DiscoverMessage on TOPIC (N so far)". It says that
 * discovery ran, how often, and whether local plugins answered, which is
 * what "why is my requirement not met" needs, and what the integration tests
 * use as evidence before asserting that nothing connected. The local bus
 * delivers in publication order (one FIFO) and a local plugin offers from
 * its Discover handler, so an Offer answering Discover N is traced before
 * Discover N+1. Only the class name of the payload is read, never its bytes.
 */
#ifndef ORBITD_BUSTAP_H
#define ORBITD_BUSTAP_H

#include <orbit/bus.h>

struct bustap;

/* Subscribe to discover_topic and to core_id's offer topic on bus (which
 * must outlive the tap). Returns NULL with errno set on failure. */
struct bustap *bustap_new(orbit_bus *bus, const char *discover_topic, const char *core_id);

/* Unsubscribe and free. NULL-safe. */
void bustap_free(struct bustap *t);

#endif
