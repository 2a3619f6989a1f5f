/* ctl_stats.c — see ctl_stats.h. Every orbiter's snapshot is the engine's
 * (orbit_orbiter_stats_json) as it is: an in-process plugin's read from its
 * orbiter now, an isolated one's as its process last reported it (plugproc
 * checked it when it came), so orbitctl renders both with one reader. */
#include "ctl_stats.h"
#include "control.h"
#include "ctlcmds.h"
#include "loader.h"
#include "plugproc.h"

#include <orbit/core.h>
#include <orbit/mqtt_bus.h>
#include <orbit/stats.h>

#include <time.h>
#include <unistd.h>

static json_t *orbiter_stats(orbit_lender *inst)
{
	json_t *s = inst ? orbit_orbiter_stats_json(orbit_lender_orbiter(inst)) : NULL;
	return s ? s : json_null();
}

/* {"local": S, "mqtt": S} of a plugin; an isolated plugin's last report
 * (null before its first one). */
static json_t *plugin_orbiters(const struct lplug_info *p)
{
	if (p->proc) {
		json_t *s = plugproc_stats(p->proc);
		return s ? json_deep_copy(s) : json_null();
	}
	json_t *o = json_pack("{s:o}", "local", orbiter_stats(host_orbiter(p->host)));
	if (o && host_remote_orbiter(p->host))
		json_object_set_new(o, "mqtt", orbiter_stats(host_remote_orbiter(p->host)));
	return o;
}

static int add_plugin(void *ctx, const struct lplug_info *p)
{
	json_t *list = ctx;
	if (!p->host && !p->proc)
		return 0; /* never ran: nothing counted */
	pid_t pid = p->proc ? plugproc_pid(p->proc) : getpid();
	json_array_append_new(
		list, json_pack("{s:s,s:s,s:s,s:s,s:o,s:o}", "name", p->name, "file", p->file,
				"state", lplug_state_name(p->state), "runs",
				p->proc ? "process" : "daemon", "pid",
				pid ? json_integer(pid) : json_null(), "orbiters",
				plugin_orbiters(p)));
	return 0;
}

static json_t *mqtt_json(const orbit_bus *b)
{
	if (!b)
		return json_null();
	orbit_mqtt_counters c;
	orbit_mqtt_bus_counters(b, &c);
	return json_pack("{s:b,s:I,s:I,s:I,s:I,s:I}", "connected", orbit_mqtt_bus_connected(b),
			 "published_total", (json_int_t)c.published, "received_total",
			 (json_int_t)c.received, "dropped_malformed_total",
			 (json_int_t)c.dropped_malformed, "connects_total", (json_int_t)c.connects,
			 "queued_current", (json_int_t)c.queued);
}

json_t *ctl_stats_json(struct daemon *d)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	json_t *plugins = json_array();
	if (plugins && d->loader)
		loader_foreach(d->loader, add_plugin, plugins);
	json_t *core = d->core ? orbit_orbiter_stats_json(orbit_core_orbiter(d->core)) : NULL;
	return json_pack("{s:f,s:o,s:o,s:{s:o}}", "taken_at_unix_seconds",
			 (double)ts.tv_sec + (double)ts.tv_nsec / 1e9, "core",
			 core ? core : json_null(), "plugins", plugins, "buses", "mqtt",
			 mqtt_json(d->mqtt));
}

void ctl_cmd_stats(struct daemon *d, struct octl_req *r, json_t *args)
{
	(void)args;
	json_t *doc = ctl_stats_json(d);
	if (doc)
		octl_reply_ok(r, doc);
	else
		octl_reply_error(r, OCTL_E_FAILED, "out of memory");
}
