/* local_demo.c — the smallest real use of libplugin: one core and two
 * "lowercase" plugins on the in-process bus. The core reaches compliance,
 * executes once a second and prints what its sink receives, until SIGINT or
 * SIGTERM. Used by `make run` until the daemon takes over. */
#include "orbit/builtin.h"
#include "orbit/core.h"
#include "orbit/log.h"
#include "orbit/lender.h"

#include <ctype.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void lowercase(void *ctx, orbit_lender *p, const orbit_conn_info *conn,
		      const orbit_payload *in)
{
	(void)ctx;
	orbit_value v;
	if (orbit_value_decode(in, &v) < 0 || v.kind != ORBIT_KIND_STRING) {
		orbit_value_clear(&v);
		return;
	}
	for (size_t i = 0; i < v.str_len; i++)
		v.str[i] = (char)tolower((unsigned char)v.str[i]);
	orbit_payload out;
	uint8_t *buf = NULL;
	if (orbit_value_encode(&v, ORBIT_FMT_NONE, &out, &buf) == 0)
		orbit_lender_reply(p, conn->remote_id, conn->operation, &out);
	free(buf);
	orbit_value_clear(&v);
}

static void sink(void *ctx, orbit_core *c, const orbit_conn_info *conn, const orbit_payload *p)
{
	(void)ctx;
	(void)c;
	orbit_value v;
	if (orbit_value_decode(p, &v) == 0) {
		char *json = orbit_value_to_json(&v);
		printf("output from %s/%s: %s\n", conn->remote_id, conn->operation,
		       json ? json : "?");
		free(json);
		orbit_value_clear(&v);
	}
	fflush(stdout);
}

static void on_event(void *ctx, orbit_orbiter *o, const orbit_event *ev)
{
	(void)ctx;
	if (ev->kind == ORBIT_EV_COMPLIANCE)
		printf("%s: %s\n", orbit_orbiter_id(o), ev->compliant ? "compliant" : "not compliant");
	else if (ev->kind == ORBIT_EV_CONNECTED)
		printf("%s: connected to %s for %s\n", orbit_orbiter_id(o), ev->conn->remote_id,
		       ev->conn->operation);
	fflush(stdout);
}

static void execute_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	orbit_core *core = arg;
	orbit_value v = {.kind = ORBIT_KIND_STRING, .str = (char *)"HELLO ORBIT", .str_len = 11};
	orbit_payload p;
	uint8_t *buf = NULL;
	if (orbit_value_encode(&v, ORBIT_FMT_NONE, &p, &buf) < 0)
		return;
	orbit_exec x = {.mode = ORBIT_EXEC_ANY,
			.schema = orbit_kind_schema(ORBIT_KIND_STRING, ORBIT_FLAVOUR_PY312),
			.items = &p,
			.n_items = 1};
	int rc = orbit_core_execute(core, "lowercase", &x);
	if (rc < 0)
		printf("execute: %s\n", strerror(-rc));
	free(buf);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopbreak(arg);
}

int main(void)
{
	struct event_base *base = event_base_new();
	orbit_bus *bus = orbit_local_bus_new(base);
	orbit_core *core = orbit_core_new(bus, "core1", NULL, NULL);
	orbit_lender *plugins[2] = {orbit_lender_new(bus, "plugin1", NULL, NULL),
				    orbit_lender_new(bus, "plugin2", NULL, NULL)};
	if (!base || !bus || !core || !plugins[0] || !plugins[1]) {
		fprintf(stderr, "local_demo: cannot set up\n");
		return 1;
	}
	orbit_spec str;
	orbit_spec_init_kind(&str, ORBIT_KIND_STRING);
	orbit_requirement r = {.operation = "lowercase", .minimum = 2, .maximum = ORBIT_UNLIMITED,
			       .inputs = &str, .n_inputs = 1, .outputs = &str, .n_outputs = 1};
	orbit_core_require(core, &r);
	orbit_core_set_sink(core, "lowercase", sink, NULL);
	orbit_orbiter_set_event_cb(orbit_core_orbiter(core), on_event, NULL);
	orbit_lent_op op = {.name = "lowercase", .input = str, .output = str,
			      .policy = {.maximum = ORBIT_UNLIMITED}, .handler = lowercase};
	for (int i = 0; i < 2; i++) {
		orbit_lender_add_operation(plugins[i], &op);
		orbit_lender_start(plugins[i]);
	}
	orbit_spec_clear(&str);
	orbit_core_start(core);
	struct event *tick = event_new(base, -1, EV_PERSIST, execute_tick, core);
	struct timeval sec = {1, 0};
	event_add(tick, &sec);
	struct event *sigint = evsignal_new(base, SIGINT, on_signal, base);
	struct event *sigterm = evsignal_new(base, SIGTERM, on_signal, base);
	event_add(sigint, NULL);
	event_add(sigterm, NULL);
	printf("local_demo: core1 + plugin1, plugin2 on the in-process bus; ^C to stop\n");
	event_base_dispatch(base);
	event_free(tick);
	event_free(sigint);
	event_free(sigterm);
	orbit_core_free(core);
	orbit_lender_free(plugins[0]);
	orbit_lender_free(plugins[1]);
	event_base_loop(base, EVLOOP_NONBLOCK);
	orbit_bus_free(bus);
	event_base_free(base);
	return 0;
}
