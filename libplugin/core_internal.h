/* core_internal.h — the core role's state (internal; core.c, core_execute.c).
 * The core owns its requirements and sink records. */
#ifndef ORBIT_CORE_INTERNAL_H
#define ORBIT_CORE_INTERNAL_H

#include "orbit/core.h"
#include "orbiter_internal.h"

struct req {
	char *operation;
	int minimum, maximum;
	orbit_idlist mandatory, allowlist, blocklist; /* owned copies, NULL kept */
	orbit_spec *inputs, *outputs; /* as configured plus the other Python flavour */
	size_t n_inputs, n_outputs;
	orbit_bytes setup_data;
};

struct sink {
	orbit_sink_fn fn;
	void *ctx;
};

struct orbit_core {
	struct orbit_orbiter o; /* first: the role is reached by casting */
	strmap reqs;      /* operation -> struct req */
	strmap sinks;     /* operation -> struct sink */
	char *offer_topic, *response_topic;
	bool state_known, compliant;
	double last_discover, next_discover, discover_interval;
	unsigned long discovers_sent;
};

/* Counts of one requirement's connections (SPEC §4.7 with DESIGN §3 intent). */
struct req_count {
	size_t connected, counted, pending, pending_counted, mandatory_missing;
	bool satisfied; /* no mandatory missing and counted >= minimum */
	bool room;      /* counted + pending_counted < maximum */
};

void core_count(struct orbit_core *c, const struct req *r, struct req_count *n);
void core_update_compliance(struct orbit_core *c);

#endif
