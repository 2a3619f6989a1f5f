/* histogram.c — fixed log-scale latency histograms (orbit/stats.h): 1-2-5
 * bounds from 1 µs to 100 s, the shape Prometheus' le buckets take, and the
 * same buckets for every histogram so that any two merge. Touches only the
 * histogram it is given. */
#include "orbit/stats.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <string.h>

static const double bounds[ORBIT_HISTOGRAM_BOUNDS] = {
	1e-6, 2e-6, 5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4,
	1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 1e-1, 2e-1, 5e-1,
	1, 2, 5, 10, 20, 50, 100,
};

const double *orbit_histogram_bounds(void)
{
	return bounds;
}

void orbit_histogram_reset(orbit_histogram *h)
{
	memset(h, 0, sizeof(*h));
}

/* The bucket of v: the first bound >= v (binary search over 25). */
static size_t bucket_of(double v)
{
	size_t lo = 0, hi = ORBIT_HISTOGRAM_BOUNDS;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (v <= bounds[mid])
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

void orbit_histogram_add(orbit_histogram *h, double seconds)
{
	if (!(seconds > 0))
		seconds = 0; /* negative, zero and NaN */
	if (!h->count || seconds < h->min)
		h->min = seconds;
	if (!h->count || seconds > h->max)
		h->max = seconds;
	h->count++;
	h->sum += seconds;
	h->bucket[bucket_of(seconds)]++;
}

void orbit_histogram_merge(orbit_histogram *dst, const orbit_histogram *src)
{
	if (!src->count)
		return;
	if (!dst->count || src->min < dst->min)
		dst->min = src->min;
	if (!dst->count || src->max > dst->max)
		dst->max = src->max;
	dst->count += src->count;
	dst->sum += src->sum;
	for (size_t i = 0; i < ORBIT_HISTOGRAM_BUCKETS; i++)
		dst->bucket[i] += src->bucket[i];
}

double orbit_histogram_quantile(const orbit_histogram *h, double q)
{
	if (!h->count || !(q >= 0 && q <= 1))
		return NAN;
	/* The rank of the wanted value, 1-based: the smallest value is rank 1. */
	double rank = q * (double)(h->count - 1) + 1;
	uint64_t below = 0;
	size_t i = 0;
	while (i < ORBIT_HISTOGRAM_BUCKETS - 1 && (double)(below + h->bucket[i]) < rank)
		below += h->bucket[i++];
	/* Within the bucket its values are taken as spread evenly over
	 * (lower, upper], the min and max narrowing the ends. */
	double lower = i ? bounds[i - 1] : 0;
	double upper = i < ORBIT_HISTOGRAM_BOUNDS ? bounds[i] : h->max;
	if (lower < h->min)
		lower = h->min;
	if (upper > h->max)
		upper = h->max;
	double n = (double)h->bucket[i];
	double v = n > 1 ? lower + (upper - lower) * (rank - (double)below - 1) / (n - 1) : upper;
	if (v < h->min)
		v = h->min;
	if (v > h->max)
		v = h->max;
	return v;
}

json_t *orbit_histogram_json(const orbit_histogram *h)
{
	json_t *b = json_array();
	for (size_t i = 0; b && i < ORBIT_HISTOGRAM_BUCKETS; i++)
		if (json_array_append_new(b, json_integer((json_int_t)h->bucket[i])) < 0) {
			json_decref(b);
			return NULL;
		}
	return json_pack("{s:I, s:f, s:o, s:o, s:o}", "count", (json_int_t)h->count,
			 "sum_seconds", h->sum,
			 "min_seconds", h->count ? json_real(h->min) : json_null(),
			 "max_seconds", h->count ? json_real(h->max) : json_null(), "buckets", b);
}

/* A number of j (integer or real) as a double; -EINVAL otherwise. */
static int number(const json_t *j, double *v)
{
	if (!json_is_number(j))
		return -EINVAL;
	*v = json_number_value(j);
	return 0;
}

int orbit_histogram_from_json(const json_t *j, orbit_histogram *h)
{
	orbit_histogram_reset(h);
	const json_t *count = json_object_get(j, "count");
	const json_t *b = json_object_get(j, "buckets");
	double sum, min = 0, max = 0;
	if (!json_is_integer(count) || json_integer_value(count) < 0 ||
	    number(json_object_get(j, "sum_seconds"), &sum) < 0 || !json_is_array(b) ||
	    json_array_size(b) != ORBIT_HISTOGRAM_BUCKETS)
		return -EINVAL;
	uint64_t total = 0;
	for (size_t i = 0; i < ORBIT_HISTOGRAM_BUCKETS; i++) {
		const json_t *n = json_array_get(b, i);
		if (!json_is_integer(n) || json_integer_value(n) < 0)
			goto bad;
		h->bucket[i] = (uint64_t)json_integer_value(n);
		total += h->bucket[i];
	}
	h->count = (uint64_t)json_integer_value(count);
	if (total != h->count)
		goto bad;
	if (h->count && (number(json_object_get(j, "min_seconds"), &min) < 0 ||
			 number(json_object_get(j, "max_seconds"), &max) < 0))
		goto bad;
	h->sum = sum;
	h->min = min;
	h->max = max;
	return 0;
bad:
	orbit_histogram_reset(h);
	return -EINVAL;
}
