/* metrics_engine.h — the protocol engine's statistics (orbit/stats.h) as
 * Prometheus families: messages by kind, and per operation the inputs,
 * outputs, bytes, errors, drops, closes by reason and latency histograms,
 * for the core orbiter and the plugins' orbiters. One group of metrics.c.
 *
 * It renders the engine's JSON snapshot, the one format an isolated plugin
 * can ship to the daemon, so any orbiter whose snapshot the daemon holds is
 * exported alike. Owns nothing beyond the call.
 */
#ifndef ORBITD_METRICS_ENGINE_H
#define ORBITD_METRICS_ENGINE_H

#include "daemon_internal.h"
#include "promtext.h"

void metrics_engine_group(struct daemon *d, struct prom *p);

#endif
