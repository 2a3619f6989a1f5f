/* execrun.h — test harness: executions on a running orbitd through its
 * control socket, with their outputs collected exactly.
 *
 * exec_collect watches the daemon, executes, takes outputs until enough
 * came, then sends a barrier execution to each plugin and waits for their
 * answers: a plugin answers a connection's inputs in order and its outputs
 * travel in order, so after the barriers x->out is final and "exactly N"
 * can be asserted. Fails the running check test on any error or after
 * timeout_s per step.
 */
#ifndef ORBIT_TEST_EXECRUN_H
#define ORBIT_TEST_EXECRUN_H

#include <jansson.h>
#include <stddef.h>

struct exec_run {
	double timeout;    /* each step's deadline, seconds */
	int fd;
	char buf[1 << 16];
	size_t len;
	const char *operation;
	int next_id;
	size_t n_out;
	struct {
		char *plugin, *value;
	} out[64];         /* outputs of operation, barrier outputs excluded */
	char *barrier[16]; /* plugins whose barrier output is still awaited */
	size_t n_barrier;
};

/* On the orbitd whose control socket is path: watch, execute `operation`
 * with `args` (members of the args object besides operation: mode, plugin,
 * data) and no wait, and collect its outputs until at least `expect`
 * arrived; then a barrier execution of "barrier:<plugin>" on each of
 * `plugins` (NULL-terminated) in mode plugin, each awaited. Returns the
 * execution's "sent". */
json_int_t exec_collect(struct exec_run *x, const char *path, const char *operation,
			const char *args, size_t expect, const char *const *plugins, double timeout_s);

/* Outputs collected from plugin (NULL: any) with value (NULL: any). */
size_t exec_outputs(const struct exec_run *x, const char *plugin, const char *value);

/* Close and free; x can be collected into again. */
void exec_end(struct exec_run *x);

#endif
