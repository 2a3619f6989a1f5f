/* bench_util.h — what every bench program shares: a monotonic clock, the
 * "name value" line protocol the driver (bench_run) parses, quantiles, and
 * process memory readings.
 *
 * Protocol: a bench program prints one figure per line as "name value",
 * where the unit is the suffix of the name (_ns, _us, _ms, _per_s, _bytes,
 * _kb); anything else on stdout is ignored by the driver. stderr is free text.
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stddef.h>
#include <sys/types.h>

/* Monotonic clock in seconds. */
double bu_now(void);

/* Print "name value" on stdout and flush (so a driver reading a pipe sees it
 * at once). */
void bu_emit(const char *name, double value);

/* Sort v[0..n) ascending in place. */
void bu_sort(double *v, size_t n);

/* Quantile q in [0, 1] of sorted v (nearest rank, interpolated); 0 for n 0. */
double bu_quantile(const double *v, size_t n, double q);

/* A "VmXXX:" line of /proc/PID/status (pid 0: this process) in kB, or -1. */
long bu_proc_status_kb(pid_t pid, const char *field);

/* A "Field:   N kB" line of /proc/PID/FILE (pid 0: this process; file such
 * as "status" or "smaps_rollup") in kB, or -1. */
long bu_proc_kb(pid_t pid, const char *file, const char *field);

/* Heap bytes in use by this process (mallinfo2 arena + mmapped). */
size_t bu_heap_bytes(void);

#endif
