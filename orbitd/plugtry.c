/* plugtry.c — see plugtry.h.
 *
 * The plugin runs exactly as in the daemon (loader_open's checks, host_new,
 * the handshake with a core on an in-process bus, the worker pool for
 * blocking operations); only the core and its single requirement are
 * private. The run ends at the first of: an output (exit 0), the handler
 * failing or, for an operation without output, succeeding, the timeout.
 */
#include "plugtry.h"
#include "host.h"
#include "loader.h"
#include "log.h"
#include "loopq.h"
#include "plugcfg.h"
#include "strfmt.h"
#include "workers.h"

#include <orbit/bus.h>
#include <orbit/core.h>
#include <orbit/payload_json.h>

#include <dlfcn.h>
#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRY_CORE_ID "orbitd-try"

struct try {
	const struct plugtry_opts *o;
	struct event_base *base;
	orbit_core *core;
	const orbit_spec *in, *out;
	bool executed;
	int status; /* exit status once decided, else -1 */
};

static void finish(struct try *t, int status)
{
	if (t->status >= 0)
		return;
	t->status = status;
	event_base_loopbreak(t->base);
}

static void on_output(void *ctx, orbit_core *core, const orbit_conn_info *conn,
		      const orbit_payload *p)
{
	(void)core;
	(void)conn;
	struct try *t = ctx;
	char *json = NULL;
	int rc = orbit_payload_to_json(p, t->out, &json);
	if (rc < 0) {
		fprintf(stderr, "orbitd: the output does not decode: %s\n", strerror(-rc));
		finish(t, 1);
		return;
	}
	printf("%s\n", json);
	fflush(stdout);
	free(json);
	finish(t, 0);
}

static void execute(struct try *t)
{
	orbit_payload item;
	uint8_t *buf = NULL;
	const char *schema = NULL;
	char *why = NULL;
	const char *data = t->o->data_json ? t->o->data_json : "null";
	t->executed = true;
	int rc = orbit_payload_from_json(data, t->in, &item, &buf, &schema, &why);
	if (rc < 0) {
		fprintf(stderr, "orbitd: --data does not fit the input of %s: %s\n",
			t->o->operation, why ? why : strerror(-rc));
		free(why);
		finish(t, 1);
		return;
	}
	orbit_exec x = {.mode = ORBIT_EXEC_ANY, .schema = schema, .items = &item, .n_items = 1};
	rc = orbit_core_execute(t->core, t->o->operation, &x);
	free(buf);
	if (rc < 0) {
		fprintf(stderr, "orbitd: cannot execute %s: %s\n", t->o->operation,
			strerror(-rc));
		finish(t, 1);
	}
}

static void on_core_event(void *ctx, orbit_orbiter *o, const orbit_event *ev)
{
	(void)o;
	struct try *t = ctx;
	if (ev->kind == ORBIT_EV_CONNECTED && !t->executed)
		execute(t);
}

static void on_call_done(void *ctx, const char *operation, int rc, bool replied)
{
	struct try *t = ctx;
	(void)operation;
	if (rc < 0) {
		fprintf(stderr, "orbitd: %s failed: %s\n", t->o->operation, strerror(-rc));
		finish(t, 1);
	} else if (!replied && !orbit_spec_has(t->out)) {
		finish(t, 0); /* nothing to wait for */
	}
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct try *t = arg;
	fprintf(stderr, "orbitd: no output from %s within %gs\n", t->o->operation,
		t->o->timeout);
	finish(t, 1);
}

/* The plugin's config from --plugin-config (NULL: none, defaults apply). */
static int build_config(const orbit_plugin_desc *d, const char *yaml, struct plugcfg **pc)
{
	struct ocfg_value *v = NULL;
	char *err = NULL;
	int rc = 0;
	if (yaml && (rc = ocfg_value_parse(yaml, "--plugin-config", &v, &err)) < 0)
		goto out;
	char *section = strfmt("plugins.%s.config", d->name);
	struct ocfg_where where = {"--plugin-config", 1, 1};
	rc = section ? plugcfg_build(d->config, v, section, &where, pc, &err) : -ENOMEM;
	free(section);
out:
	if (rc < 0)
		fprintf(stderr, "orbitd: %s\n", err ? err : strerror(-rc));
	free(err);
	ocfg_value_free(v);
	return rc;
}

int plugtry_run(const struct plugtry_opts *o)
{
	struct try t = {.o = o, .status = -1};
	void *dl = NULL;
	const orbit_plugin_desc *d = NULL;
	struct plugcfg *pc = NULL;
	orbit_bus *bus = NULL;
	struct loopq *q = NULL;
	struct workers *w = NULL;
	orbit_host *h = NULL;
	struct event *timer = NULL;
	bool ran = false; /* a plugin function ran: never dlclose */
	char *why = NULL;
	/* dlopen looks a bare name up in the library path: a file is meant. */
	char *path = strchr(o->path, '/') ? strdup(o->path) : strfmt("./%s", o->path);
	if (!path || loader_open(path, &dl, &d, &why) < 0) {
		fprintf(stderr, "orbitd: %s rejected: %s\n", o->path, why ? why : "out of memory");
		goto out;
	}
	if (build_config(d, o->config_yaml, &pc) < 0)
		goto out;
	if (!(t.base = event_base_new()) || !(bus = orbit_local_bus_new(t.base)) ||
	    !(q = loopq_new(t.base)) || !(w = workers_new(q, 1))) {
		fprintf(stderr, "orbitd: cannot set up the event loop: %s\n", strerror(errno));
		goto out;
	}
	struct host_env env = {
		.base = t.base,
		.bus = bus,
		.core_id = TRY_CORE_ID,
		.loopq = q,
		.workers = w,
		.on_call_done = on_call_done,
		.on_call_done_ctx = &t,
	};
	orbit_timers_default(&env.timers);
	/* From here on the plugin's code runs: the object stays mapped. */
	ran = true;
	h = host_new(&env, d, NULL, pc, &why);
	pc = NULL;
	if (!h || host_start(h, &why) < 0) {
		fprintf(stderr, "orbitd: %s rejected: %s\n", o->path, why ? why : "out of memory");
		goto out;
	}
	struct host_op_info info = {0};
	bool found = false;
	for (size_t i = 0; i < host_op_count(h) && !found; i++)
		found = host_op_info(h, i, NULL, &info) == 0 &&
			strcmp(info.name, o->operation) == 0;
	if (!found) {
		fprintf(stderr, "orbitd: %s has no operation '%s'\n", d->name, o->operation);
		goto out;
	}
	if (!orbit_spec_has(info.input)) {
		fprintf(stderr, "orbitd: %s takes no input: nothing to execute\n", o->operation);
		goto out;
	}
	t.in = info.input;
	t.out = info.output;
	orbit_requirement req = {
		.operation = o->operation,
		.minimum = 1,
		.maximum = 1,
		.inputs = info.input,
		.n_inputs = 1,
		.outputs = info.output,
		.n_outputs = 1,
	};
	struct timeval tv = {(time_t)o->timeout,
			     (suseconds_t)((o->timeout - (double)(time_t)o->timeout) * 1e6)};
	int rc;
	if (!(t.core = orbit_core_new(bus, TRY_CORE_ID, &env.timers, NULL)) ||
	    (rc = orbit_core_require(t.core, &req)) < 0 ||
	    (rc = orbit_core_set_sink(t.core, o->operation, on_output, &t)) < 0 ||
	    !(timer = evtimer_new(t.base, on_timeout, &t)) || evtimer_add(timer, &tv) < 0) {
		fprintf(stderr, "orbitd: cannot set up the core: %s\n", strerror(errno));
		goto out;
	}
	orbit_orbiter_set_event_cb(orbit_core_orbiter(t.core), on_core_event, &t);
	if ((rc = orbit_core_start(t.core)) < 0) {
		fprintf(stderr, "orbitd: cannot start the core: %s\n", strerror(-rc));
		goto out;
	}
	event_base_dispatch(t.base);
out:
	if (timer)
		event_free(timer);
	orbit_core_free(t.core);
	host_release(h);
	/* Blocking calls still out finish here; their completions release the
	 * host through the queue. */
	workers_stop(w, o->timeout);
	loopq_free(q);
	orbit_bus_free(bus);
	if (t.base)
		event_base_free(t.base);
	plugcfg_free(pc);
	if (dl && !ran)
		dlclose(dl); /* rejected before any of its functions ran */
	free(why);
	free(path);
	return t.status < 0 ? 1 : t.status;
}
