/* childwatch.h — be told on the event loop that a child process has
 * exited, and reap it: through a pidfd where the kernel gives one, else a
 * timer polling waitid(WNOHANG) (kernels before 5.3, seccomp filters,
 * valgrind), so the loop never waits for a child.
 *
 * Ownership: a childwatch belongs to its creator and borrows the base; it
 * reaps the child exactly once (the callback, or childwatch_wait), never
 * another process. Loop thread.
 */
#ifndef ORBITD_CHILDWATCH_H
#define ORBITD_CHILDWATCH_H

#include <signal.h>
#include <sys/types.h>

struct event_base;
struct childwatch;

/* The child exited and is reaped; si says how (si_code CLD_EXITED,
 * CLD_KILLED or CLD_DUMPED, si_status; si_code 0 when someone else reaped
 * it and its status is lost). The watch is spent: free it (from
 * here is fine). */
typedef void (*childwatch_fn)(void *ctx, const siginfo_t *si);

/* Watch child pid (one of ours) on base. NULL + errno. */
struct childwatch *childwatch_new(struct event_base *base, pid_t pid, childwatch_fn fn, void *ctx);

/* Outside the loop (at exit): wait up to timeout seconds (< 0: for as long
 * as it takes) for the child; 0 with *si once reaped (the callback does not
 * run), -ETIMEDOUT. */
int childwatch_wait(struct childwatch *w, double timeout, siginfo_t *si);

/* Stop watching (an unreaped child stays a zombie until someone reaps it).
 * NULL-safe. */
void childwatch_free(struct childwatch *w);

#endif
