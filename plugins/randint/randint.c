/* randint — bundled plugin: a sensor-like source. Operation "randint" takes
 * no input and, once the plugin runs, emits a random integer in [min, max]
 * (an Int64Message) to every connection every `every` seconds.
 *
 * Config (every key optional; orbitd checks it against the config map):
 *   every  seconds between outputs, >= 0.001 (default 1.0)
 *   min    smallest value, an integer (default 0)
 *   max    largest value, an integer >= min (default 100)
 * min > max fails init or reload with -EINVAL after a log line; a failed
 * reload keeps the running config.
 *
 * The numbers come from a per-plugin xorshift64* generator seeded from
 * getrandom(): cheap, good enough for a demo sensor, not for secrets.
 *
 * Ownership: the struct randint made by init belongs to the plugin until
 * shutdown; it borrows the host handle and API table. The timer handle is the
 * host's (freed by timer_cancel, or by the host before shutdown). Everything
 * runs on the loop thread: no locks.
 */
#include <orbit/plugin.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

/* Below a millisecond the loop would do little but emit. */
#define MIN_EVERY 0.001

struct rcfg {
	double every;
	long long min, max;
};

struct randint {
	orbit_host *h;
	const orbit_host_api *api;
	struct rcfg cfg;
	orbit_host_timer *timer; /* NULL until start() */
	uint64_t rng;            /* xorshift64* state, never 0 */
	bool emit_failing;       /* log an emit failure once per streak */
};



/* Read the config (checked by orbitd against the map below) into *c. The
 * map cannot say min <= max: that is checked here. 0 or -EINVAL. */
static int read_config(struct randint *r, struct rcfg *c)
{
	*c = (struct rcfg){
		.every = r->api->config_float(r->h, "every"),
		.min = r->api->config_int(r->h, "min"),
		.max = r->api->config_int(r->h, "max"),
	};
	if (c->min > c->max) {
		r->api->log(r->h, 3, "config: min (%lld) is greater than max (%lld)", c->min, c->max);
		return -EINVAL;
	}
	return 0;
}

static uint64_t next(struct randint *r)
{
	uint64_t x = r->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	r->rng = x;
	return x * UINT64_C(0x2545f4914f6cdd1d);
}

/* Uniform in [min, max]: reject the low 2^64 mod n draws so every residue is
 * equally likely. */
static long long draw(struct randint *r)
{
	uint64_t span = (uint64_t)r->cfg.max - (uint64_t)r->cfg.min, n, v;

	if (span == UINT64_MAX)
		return (long long)next(r);
	n = span + 1;
	do
		v = next(r);
	while (v < -n % n);
	return (long long)((uint64_t)r->cfg.min + v % n);
}

static void tick(void *arg)
{
	struct randint *r = arg;
	char json[24];
	int rc;

	snprintf(json, sizeof json, "%lld", draw(r));
	rc = r->api->emit_json(r->h, "randint", json);
	if (rc < 0 && !r->emit_failing)
		r->api->log(r->h, 4, "emitting %s failed: %s", json, strerror(-rc));
	r->emit_failing = rc < 0;
}

static void seed(struct randint *r)
{
	struct timespec ts;

	/* GRND_NONBLOCK: early at boot, an imprecise sensor beats a stalled
	 * loop; the clock and an address make a usable fallback seed. */
	if (getrandom(&r->rng, sizeof r->rng, GRND_NONBLOCK) != (ssize_t)sizeof r->rng) {
		clock_gettime(CLOCK_REALTIME, &ts);
		r->rng = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)(uintptr_t)r;
	}
	if (!r->rng)
		r->rng = UINT64_C(0x9e3779b97f4a7c15);
}

static int randint_init(orbit_host *h, const orbit_host_api *api, void **state)
{
	struct randint *r = calloc(1, sizeof *r);
	int rc;

	if (!r)
		return -ENOMEM;
	r->h = h;
	r->api = api;
	if ((rc = read_config(r, &r->cfg))) {
		free(r);
		return rc;
	}
	seed(r);
	*state = r;
	return 0;
}

static int arm(struct randint *r)
{
	orbit_host_timer *t = r->api->timer_add(r->h, r->cfg.every, r->cfg.every, tick, r);

	if (!t) {
		r->api->log(r->h, 3, "cannot add a %g s timer", r->cfg.every);
		return -ENOMEM;
	}
	r->timer = t;
	return 0;
}

static int randint_start(void *state)
{
	return arm(state);
}

static int randint_reload(void *state)
{
	struct randint *r = state;
	struct rcfg old = r->cfg;
	orbit_host_timer *old_timer = r->timer;
	struct rcfg c;
	int rc;

	if ((rc = read_config(r, &c)))
		return rc;
	r->cfg = c;
	if (!old_timer)
		return 0;
	/* Arm the new period before dropping the old one so a failure leaves
	 * the plugin exactly as it was. */
	if ((rc = arm(r))) {
		r->cfg = old;
		r->timer = old_timer;
		return rc;
	}
	r->api->timer_cancel(r->h, old_timer);
	return 0;
}

static void randint_shutdown(void *state)
{
	free(state);
}

static const orbit_plugin_op ops[] = {
	{
		.name = "randint",
		.input = ORBIT_NONE,
		.output = ORBIT_INT64,
	},
};

static const orbit_cfg_key config[] = {
	{.name = "every", .type = ORBIT_CFG_FLOAT, .flags = ORBIT_CFG_MIN, .min = MIN_EVERY,
	 .def = "1", .doc = "seconds between outputs"},
	{.name = "min", .type = ORBIT_CFG_INT, .def = "0", .doc = "smallest value"},
	{.name = "max", .type = ORBIT_CFG_INT, .def = "100", .doc = "largest value (>= min)"},
	{0},
};

ORBIT_PLUGIN_DEFINE("randint", "1.0.0", ops, config, randint_init, randint_start,
		    randint_reload, randint_shutdown);
