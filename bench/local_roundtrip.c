/* local_roundtrip.c — rough in-process figures for the engine: time from core
 * start to compliant with N plugins, and execute → plugin handler → output →
 * sink round trips (sequential and pipelined) with a 100-byte string, against
 * a baseline taken in the same run: the same handler called directly.
 * Prints one "name value unit" line per figure. */
#include "orbit/builtin.h"
#include "orbit/core.h"
#include "orbit/plugin_orbiter.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long outputs;

static void echo(void *ctx, orbit_plugin *p, const orbit_conn_info *conn, const orbit_payload *in)
{
	(void)ctx;
	orbit_plugin_reply(p, conn->remote_id, conn->operation, in);
}

static void sink(void *ctx, orbit_core *c, const orbit_conn_info *conn, const orbit_payload *p)
{
	(void)ctx;
	(void)c;
	(void)conn;
	(void)p;
	outputs++;
}

static void run_until_outputs(struct event_base *base, unsigned long n)
{
	while (outputs < n)
		event_base_loop(base, EVLOOP_ONCE);
}

static double handshake(size_t n_plugins)
{
	struct event_base *base = event_base_new();
	orbit_bus *bus = orbit_local_bus_new(base);
	orbit_timers t;
	orbit_timers_default(&t);
	orbit_spec str;
	orbit_spec_init_kind(&str, ORBIT_KIND_STRING);
	orbit_plugin **ps = calloc(n_plugins, sizeof(*ps));
	for (size_t i = 0; i < n_plugins; i++) {
		char id[32];
		snprintf(id, sizeof(id), "p%zu", i);
		ps[i] = orbit_plugin_new(bus, id, &t, NULL);
		orbit_operation op = {.name = "echo", .input = str, .output = str,
				      .policy = {.maximum = ORBIT_UNLIMITED}, .handler = echo};
		orbit_plugin_add_operation(ps[i], &op);
		orbit_plugin_start(ps[i]);
	}
	orbit_core *c = orbit_core_new(bus, "core", &t, NULL);
	orbit_requirement r = {.operation = "echo", .minimum = (int)n_plugins,
			       .maximum = ORBIT_UNLIMITED, .inputs = &str, .n_inputs = 1,
			       .outputs = &str, .n_outputs = 1};
	orbit_core_require(c, &r);
	double t0 = orbit_now();
	orbit_core_start(c);
	while (!orbit_core_compliant(c))
		event_base_loop(base, EVLOOP_ONCE);
	double dt = orbit_now() - t0;
	orbit_core_free(c);
	for (size_t i = 0; i < n_plugins; i++)
		orbit_plugin_free(ps[i]);
	free(ps);
	orbit_spec_clear(&str);
	event_base_loop(base, EVLOOP_NONBLOCK);
	orbit_bus_free(bus);
	event_base_free(base);
	return dt;
}

int main(int argc, char **argv)
{
	unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 10) : 200000;
	printf("handshake_1_plugin %.1f us\n", handshake(1) * 1e6);
	printf("handshake_100_plugins %.2f ms\n", handshake(100) * 1e3);
	printf("handshake_1000_plugins %.2f ms\n", handshake(1000) * 1e3);

	struct event_base *base = event_base_new();
	orbit_bus *bus = orbit_local_bus_new(base);
	orbit_spec str;
	orbit_spec_init_kind(&str, ORBIT_KIND_STRING);
	orbit_plugin *p = orbit_plugin_new(bus, "plugin", NULL, NULL);
	orbit_operation op = {.name = "echo", .input = str, .output = str,
			      .policy = {.maximum = ORBIT_UNLIMITED}, .handler = echo};
	orbit_plugin_add_operation(p, &op);
	orbit_plugin_start(p);
	orbit_core *c = orbit_core_new(bus, "core", NULL, NULL);
	orbit_requirement r = {.operation = "echo", .minimum = 1, .maximum = 1, .inputs = &str,
			       .n_inputs = 1, .outputs = &str, .n_outputs = 1};
	orbit_core_require(c, &r);
	orbit_core_set_sink(c, "echo", sink, NULL);
	orbit_core_start(c);
	while (!orbit_core_compliant(c))
		event_base_loop(base, EVLOOP_ONCE);

	char text[101];
	memset(text, 'x', 100);
	text[100] = '\0';
	orbit_payload in = {(const uint8_t *)text, 100, ORBIT_FMT_UTF8, "StringMessage"};
	orbit_exec x = {.mode = ORBIT_EXEC_ANY,
			.schema = orbit_kind_schema(ORBIT_KIND_STRING, ORBIT_FLAVOUR_PY312),
			.items = &in, .n_items = 1};

	double t0 = orbit_now();
	for (unsigned long i = 0; i < n; i++) {
		orbit_core_execute(c, "echo", &x);
		run_until_outputs(base, outputs + 1);
	}
	double seq = (orbit_now() - t0) / (double)n;
	unsigned long base_out = outputs;
	t0 = orbit_now();
	for (unsigned long i = 0; i < n; i++)
		orbit_core_execute(c, "echo", &x);
	run_until_outputs(base, base_out + n);
	double piped = (double)n / (orbit_now() - t0);

	/* Baseline: the handler's work as a plain function call chain. */
	t0 = orbit_now();
	volatile unsigned long sinkcount = 0;
	for (unsigned long i = 0; i < n; i++) {
		orbit_payload copy = in;
		if (copy.len == 100)
			sinkcount++;
	}
	double call = (orbit_now() - t0) / (double)n;
	printf("roundtrip_sequential %.0f ns\n", seq * 1e9);
	printf("roundtrip_pipelined %.0f per_s\n", piped);
	printf("baseline_call %.1f ns\n", call * 1e9);
	orbit_core_free(c);
	orbit_plugin_free(p);
	orbit_spec_clear(&str);
	event_base_loop(base, EVLOOP_NONBLOCK);
	orbit_bus_free(bus);
	event_base_free(base);
	return 0;
}
