/* metrics.h — the `metrics:` endpoint: what orbitd knows (build, state,
 * requirements, plugins, connections, control socket, MQTT bus, the
 * endpoint itself) as Prometheus metric families, served by metricsrv.h.
 * Metric names and their meaning are documented in orbitd(8), METRICS.
 *
 * Ownership: the endpoint belongs to the daemon (d->metrics) from
 * metrics_apply to metrics_stop.
 */
#ifndef ORBITD_METRICS_H
#define ORBITD_METRICS_H

#include "daemon_internal.h"

/* Bring the endpoint in line with m: open it (start), rebind it when listen
 * changed, apply path and limits, or close it when the section is gone.
 * When a new address cannot be bound, the running endpoint (if any) is
 * kept. 0, or -errno with *err a malloc'd message naming the address. */
int metrics_apply(struct daemon *d, const struct ocfg_metrics *m, char **err);

/* Close the endpoint. NULL-safe state. */
void metrics_stop(struct daemon *d);

#endif
