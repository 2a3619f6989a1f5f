/* linkbus.h — the plugin process's end of the bus bridge: an orbit_bus whose
 * subscriptions and publishes travel over the link to orbitd, which makes
 * them on its own bus (plugproc.c); the plugin's orbiter runs on it exactly
 * as it would on the daemon's in-process bus.
 *
 * Inside, an in-process bus does the fan-out to this process's subscribers;
 * a topic's first subscriber here sends SUB, its last leaving sends UNSUB,
 * so the daemon holds one subscription per topic and plugin process.
 * Every publish goes to the daemon, which delivers it back if this process
 * subscribed to the topic (the daemon's bus decides, as for anyone).
 *
 * Ownership: the link bus borrows the link (outliving it) and owns its
 * inner bus. Loop thread only.
 */
#ifndef ORBITD_LINKBUS_H
#define ORBITD_LINKBUS_H

#include <orbit/bus.h>

#include <stdint.h>

struct link;

/* Bus number `bus` (0: the daemon's in-process bus, 1: its MQTT bus) over
 * link. NULL + errno. */
orbit_bus *linkbus_new(struct event_base *base, struct link *link, uint8_t bus);

/* A DELIVER frame for this bus: hand the message to the subscribers here
 * (on the next pass of the inner bus, in arrival order). 0 or -errno. */
int linkbus_deliver(orbit_bus *b, const char *topic, const orbit_payload *p);

#endif
