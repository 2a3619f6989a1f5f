/* randint — bundled plugin: a sensor-like source. Operation "randint" takes
 * no input and, once the plugin runs, emits a random integer in [min, max]
 * (an Int64Message) to every connection every `every` seconds.
 *
 * Config (orbitd checks types, bounds and unknown keys against the map below):
 *   every  seconds between outputs, at least 0.001 (default 1; "500ms" works)
 *   min    smallest value, an integer (default 0)
 *   max    largest value, an integer >= min (default 100)
 *
 * The numbers come from a per-plugin xorshift64* generator seeded from
 * getrandom(): cheap, good enough for a demo sensor, not for secrets.
 *
 * Threads: everything runs on the loop thread (hooks and the timer
 * callback): no locks.
 * Ownership: the struct randint made by init belongs to the plugin until
 * shutdown; it borrows the host handle and API table (valid until shutdown
 * returns). The timer handle is the host's (freed by timer_cancel, or by the
 * host after shutdown).
 */
#include <orbit/plugin.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

struct rcfg {
	double every;
	int64_t min, max;
};

struct randint {
	orbit_host *h;
	const orbit_host_api *api;
	struct rcfg cfg;
	orbit_host_timer *timer; /* NULL until start() */
	uint64_t rng;            /* xorshift64* state, never 0 */
	bool emit_failing;       /* log an emit failure once per streak */
};

/* The current config values into *c. The map checks each key on its own but
 * cannot relate two keys, so min <= max is checked here: 0 or -EINVAL (on
 * reload, orbitd then restores the old values). */
static int read_config(struct randint *r, struct rcfg *c)
{
	c->every = r->api->config_float(r->h, "every");
	c->min = r->api->config_int(r->h, "min");
	c->max = r->api->config_int(r->h, "max");
	if (c->min > c->max) {
		r->api->log(r->h, 3, "config: min (%lld) is greater than max (%lld)",
			    (long long)c->min, (long long)c->max);
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
static int64_t draw(struct randint *r)
{
	uint64_t span = (uint64_t)r->cfg.max - (uint64_t)r->cfg.min, n, v;

	if (span == UINT64_MAX)
		return (int64_t)next(r);
	n = span + 1;
	do
		v = next(r);
	while (v < -n % n);
	return (int64_t)((uint64_t)r->cfg.min + v % n);
}

static void tick(void *arg)
{
	struct randint *r = arg;
	int64_t v = draw(r);
	int rc = r->api->emit_int(r->h, "randint", v);

	if (rc < 0 && !r->emit_failing)
		r->api->log(r->h, 4, "emitting %lld failed: %s", (long long)v, strerror(-rc));
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

static int arm(struct randint *r, double every)
{
	orbit_host_timer *t = r->api->timer_add(r->h, every, every, tick, r);

	if (!t) {
		int rc = -errno;

		r->api->log(r->h, 3, "cannot add a %g s timer: %s", every, strerror(-rc));
		return rc;
	}
	r->timer = t;
	return 0;
}

static int randint_start(void *state)
{
	struct randint *r = state;

	return arm(r, r->cfg.every);
}

static int randint_reload(void *state)
{
	struct randint *r = state;
	orbit_host_timer *old_timer = r->timer;
	struct rcfg c;
	int rc;

	if ((rc = read_config(r, &c)))
		return rc;
	/* A running timer changes only with the period (a new one would
	 * restart the phase). Arm the new one before dropping the old so a
	 * failure leaves the plugin exactly as it was. */
	if (old_timer && c.every != r->cfg.every) {
		if ((rc = arm(r, c.every)))
			return rc;
		r->api->timer_cancel(r->h, old_timer);
	}
	r->cfg = c;
	return 0;
}

static void randint_shutdown(void *state)
{
	free(state);
}

static const orbit_cfg_key config[] = {
	{
		.name = "every",
		.type = ORBIT_CFG_FLOAT,
		.flags = ORBIT_CFG_MIN,
		.def = "1",
		/* Below a millisecond the loop would do little but emit. */
		.min = 0.001,
		.doc = "seconds between outputs",
	},
	{
		.name = "min",
		.type = ORBIT_CFG_INT,
		.def = "0",
		.doc = "smallest value emitted",
	},
	{
		.name = "max",
		.type = ORBIT_CFG_INT,
		.def = "100",
		.doc = "largest value emitted, at least min",
	},
	{ 0 },
};

static const orbit_plugin_op ops[] = {
	{
		.name = "randint",
		.input = ORBIT_NONE,
		.output = ORBIT_INT64,
		.doc = "a random integer in [min, max] every `every` seconds",
	},
};

ORBIT_PLUGIN_DEFINE("randint", "2.0.0", ops, config, randint_init, randint_start, randint_reload,
		    randint_shutdown);
