/* core_execute.c — sending inputs to connections (SPEC §6.1–§6.2).
 *
 * Intent over Python: executing with no matching connection is an error the
 * caller sees (-ENOENT), for every mode; plugin mode succeeds when it sends;
 * a connection matches when its input accepts the items' schema
 * (orbit_spec_accepts), not only on exact spec equality.
 */
#include "core_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static bool matches(const struct conn *k, const char *schema)
{
	return orbit_spec_accepts(k->info.input, schema);
}

static int send_to(struct orbit_core *c, struct conn *k, const orbit_exec *x, size_t item)
{
	int rc = orbit_bus_publish(c->o.bus, k->info.input_topic, &x->items[item], 0);
	if (rc < 0) {
		orb_stats_error(&c->o, k->slot, k, false, "input not published");
		return rc;
	}
	k->traffic.inputs++;
	k->traffic.input_bytes += x->items[item].len;
	k->info.last_use = orb_now_coarse(&c->o);
	if (x->on_target)
		x->on_target(x->ctx, k->info.remote_id, item);
	return 1;
}

/* Uniform-enough choice for load spreading; xorshift64* seeded once from the
 * kernel, since a getrandom(2) per execute was the costliest part of "any". */
static size_t random_below(size_t n)
{
	static uint64_t state;
	if (!state) {
		/* The fallback wants entropy, not the orbiter's time. */
		if (getrandom(&state, sizeof(state), GRND_NONBLOCK) != (ssize_t)sizeof(state))
			state = (uint64_t)(uintptr_t)&state ^ (uint64_t)orbit_now();
		state |= 1;
	}
	state ^= state >> 12;
	state ^= state << 25;
	state ^= state >> 27;
	return (size_t)((state * 0x2545F4914F6CDD1Dull) >> 32) % n;
}

int orbit_core_execute(orbit_core *c, const char *operation, const orbit_exec *x)
{
	if (!c || !operation || !x || !x->items || !x->n_items)
		return -EINVAL;
	if (x->mode == ORBIT_EXEC_PLUGIN && !x->plugin_id)
		return -EINVAL;
	for (size_t i = 0; i < x->n_items; i++)
		if (x->items[i].format != ORBIT_FMT_NONE && !x->schema)
			return -EINVAL;
	struct opslot *slot = strmap_get(&c->o.slots, operation);
	size_t k = 0;
	for (struct conn *it = slot ? slot->conns : NULL; it; it = it->next)
		if (matches(it, x->schema) &&
		    (x->mode != ORBIT_EXEC_PLUGIN || strcmp(it->info.remote_id, x->plugin_id) == 0))
			k++;
	if (!k) {
		if (slot)
			orb_stats_error(&c->o, slot, NULL, false, "execute with no matching connection");
		return -ENOENT;
	}
	struct conn **v = malloc(k * sizeof(*v));
	if (!v)
		return -ENOMEM;
	size_t j = 0;
	/* The slot lists newest first; oldest first makes distribution follow
	 * connection age, deterministic for a given table. */
	for (struct conn *it = slot->conns; it; it = it->next)
		if (matches(it, x->schema) &&
		    (x->mode != ORBIT_EXEC_PLUGIN || strcmp(it->info.remote_id, x->plugin_id) == 0))
			v[k - 1 - j++] = it;
	int sent = 0, rc = 0;
	for (size_t i = 0; i < x->n_items && rc >= 0; i++) {
		switch (x->mode) {
		case ORBIT_EXEC_ALL:
			for (size_t t = 0; t < k && rc >= 0; t++)
				rc = send_to(c, v[t], x, i);
			break;
		case ORBIT_EXEC_ANY:
			rc = send_to(c, v[random_below(k)], x, i);
			break;
		case ORBIT_EXEC_PLUGIN:
			rc = send_to(c, v[0], x, i);
			break;
		case ORBIT_EXEC_DISTRIBUTED:
			rc = send_to(c, v[i % k], x, i);
			break;
		default:
			rc = -EINVAL;
		}
		if (rc > 0)
			sent += x->mode == ORBIT_EXEC_ALL ? (int)k : 1;
	}
	free(v);
	return rc < 0 ? rc : sent;
}
