/* ctl_stats.h — one JSON document of everything orbitd counts (DESIGN §3
 * Observability): the core orbiter's stats, every loaded plugin's (with
 * where it runs) and the buses' counters. The `stats` control command
 * answers with it (its handler, ctl_cmd_stats, is in ctlcmds.h's table);
 * the shape is documented in orbitctl(1).
 *
 * Ownership: the document is a new reference for the caller; it copies
 * what it shows (an isolated plugin's last report included).
 */
#ifndef ORBITD_CTL_STATS_H
#define ORBITD_CTL_STATS_H

#include "daemon_internal.h"

#include <jansson.h>

/* The stats document of d now. NULL on ENOMEM. Loop thread. */
json_t *ctl_stats_json(struct daemon *d);

#endif
