/* bench_mem.c — memory per connection with the libplugin API, one run per
 * invocation: one core and its plugins on the in-process bus, 10,000
 * connections in two shapes:
 *
 *   wide: 10,000 plugin orbiters with one operation each, one requirement
 *         with minimum = maximum = 10,000;
 *   deep: 100 plugin orbiters with 100 operations each, 100 requirements
 *         with minimum = maximum = 100;
 *   limited: wide, but every operation has a policy maximum of 1, so each
 *         plugin also keeps what a re-offer needs of the core's Discover.
 *
 * Heap in use (mallinfo2) and VmRSS are read after every orbiter is created
 * and started and the core's requirements are set, then again once the core
 * is compliant; the difference divided by the connections is the cost of one
 * connection — both its ends, since core and plugins share this process.
 * Baseline, same run: the bytes a connection cannot do without, i.e. the
 * strings both ends keep (peer id, operation, four topics, schemas).
 *
 * usage: bench_mem wide|deep|limited    (one shape per process, so that the heap and
 * RSS of one shape do not reuse what the other freed)
 * Output: "name value" lines (bench_util.h).
 */
#include "bench_util.h"

#include <orbit/core.h>
#include <orbit/lender.h>

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONNECTIONS 10000

static void echo(void *ctx, orbit_lender *p, const orbit_conn_info *conn, const orbit_payload *in)
{
	(void)ctx;
	orbit_lender_reply(p, conn->remote_id, conn->operation, in);
}

static size_t slen(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

static size_t spec_bytes(const orbit_spec *s)
{
	size_t n = 0;
	for (size_t i = 0; s && i < s->n_schemas; i++)
		n += slen(s->schemas[i]);
	return n;
}

static int add_strings(void *ctx, const orbit_conn_info *c)
{
	*(size_t *)ctx += slen(c->remote_id) + slen(c->operation) + slen(c->input_topic) +
			  slen(c->output_topic) + slen(c->close_to_remote_topic) +
			  slen(c->incoming_close_topic) + spec_bytes(c->input) +
			  spec_bytes(c->output);
	return 0;
}

/* n_plugins × n_ops connections; emits <shape>_* figures. */
static int run(const char *shape, size_t n_plugins, size_t n_ops, int maximum)
{
	int rc = -1;
	char name[96];
	struct event_base *base = event_base_new();
	orbit_bus *bus = base ? orbit_local_bus_new(base) : NULL;
	orbit_lender **ps = calloc(n_plugins, sizeof(*ps));
	orbit_core *core = NULL;
	orbit_spec str;
	if (!bus || !ps || orbit_spec_init_kind(&str, ORBIT_KIND_STRING))
		goto out;
	size_t heap0 = bu_heap_bytes();
	for (size_t i = 0; i < n_plugins; i++) {
		char id[32];
		snprintf(id, sizeof(id), "p%zu", i);
		if (!(ps[i] = orbit_lender_new(bus, id, NULL, NULL)))
			goto out;
		for (size_t k = 0; k < n_ops; k++) {
			char op_name[32];
			snprintf(op_name, sizeof(op_name), "op%zu", k);
			orbit_lent_op op = {.name = op_name, .input = str, .output = str,
					      .policy = {.maximum = maximum},
					      .handler = echo};
			if (orbit_lender_add_operation(ps[i], &op))
				goto out;
		}
		if (orbit_lender_start(ps[i]))
			goto out;
	}
	if (!(core = orbit_core_new(bus, "core", NULL, NULL)))
		goto out;
	for (size_t k = 0; k < n_ops; k++) {
		char op_name[32];
		snprintf(op_name, sizeof(op_name), "op%zu", k);
		orbit_requirement q = {.operation = op_name, .minimum = (int)n_plugins,
				       .maximum = (int)n_plugins, .inputs = &str, .n_inputs = 1,
				       .outputs = &str, .n_outputs = 1};
		if (orbit_core_require(core, &q))
			goto out;
	}
	event_base_loop(base, EVLOOP_NONBLOCK);
	size_t heap1 = bu_heap_bytes();
	long rss1 = bu_proc_status_kb(0, "VmRSS");
	double t0 = bu_now();
	if (orbit_core_start(core))
		goto out;
	while (!orbit_core_compliant(core) && bu_now() - t0 < 120)
		event_base_loop(base, EVLOOP_ONCE);
	double dt = bu_now() - t0;
	/* Let whatever the handshake queued last be delivered and freed. */
	event_base_loop(base, EVLOOP_NONBLOCK);
	size_t heap2 = bu_heap_bytes();
	long rss2 = bu_proc_status_kb(0, "VmRSS");
	size_t conns = orbit_orbiter_connection_count(orbit_core_orbiter(core));
	if (!orbit_core_compliant(core) || conns != n_plugins * n_ops) {
		fprintf(stderr, "bench_mem %s: %zu connections of %zu\n", shape, conns,
			n_plugins * n_ops);
		goto out;
	}
	size_t strings = 0;
	orbit_orbiter_foreach_connection(orbit_core_orbiter(core), add_strings, &strings);
	for (size_t i = 0; i < n_plugins; i++)
		orbit_orbiter_foreach_connection(orbit_lender_orbiter(ps[i]), add_strings,
						 &strings);
	snprintf(name, sizeof(name), "mem_%s_conn_bytes", shape);
	bu_emit(name, (double)(heap2 - heap1) / (double)conns);
	snprintf(name, sizeof(name), "mem_%s_conn_rss_bytes", shape);
	bu_emit(name, (double)(rss2 - rss1) * 1024.0 / (double)conns);
	snprintf(name, sizeof(name), "mem_%s_conn_strings_bytes", shape);
	bu_emit(name, (double)strings / (double)conns);
	snprintf(name, sizeof(name), "mem_%s_plugin_orbiter_bytes", shape);
	bu_emit(name, (double)(heap1 - heap0) / (double)n_plugins);
	snprintf(name, sizeof(name), "mem_%s_handshake_ms", shape);
	bu_emit(name, dt * 1e3);
	rc = 0;
out:
	orbit_core_free(core);
	for (size_t i = 0; ps && i < n_plugins; i++)
		orbit_lender_free(ps[i]);
	free(ps);
	orbit_spec_clear(&str);
	if (base)
		event_base_loop(base, EVLOOP_NONBLOCK);
	orbit_bus_free(bus);
	if (base)
		event_base_free(base);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "wide") == 0)
		return run("wide", CONNECTIONS, 1, ORBIT_UNLIMITED) < 0;
	if (argc == 2 && strcmp(argv[1], "deep") == 0)
		return run("deep", 100, CONNECTIONS / 100, ORBIT_UNLIMITED) < 0;
	if (argc == 2 && strcmp(argv[1], "limited") == 0)
		return run("limited", CONNECTIONS, 1, 1) < 0;
	fprintf(stderr, "usage: bench_mem wide|deep|limited\n");
	return 2;
}
