/* proc.h — test harness: run real orbitd / orbitctl (or any) processes and
 * wait on what they print or on their exit, with deadlines, never sleeps.
 *
 * Every child started here gets PR_SET_PDEATHSIG(SIGKILL) (so it dies with
 * the thread that started it, e.g. a check test that failed and _exit()ed),
 * its own process group (so it is out of reach of check's per-test killpg and
 * of terminal signals, and test_proc_free can kill what it forked), stdin
 * from /dev/null unless stated otherwise, default signal dispositions and an
 * empty signal mask, and no descriptor beyond 0-2.
 *
 * Output is kept in memory as lines: a line is complete at its '\n' (which is
 * not part of it); an unterminated last line counts as complete once the
 * output reaches EOF. Only complete lines are matched. Lines have no length
 * limit. A needle matches a line that contains it (plain substring).
 *
 * Functions print the reason for a failure to stderr.
 */
#ifndef ORBIT_TEST_DAEMON_H
#define ORBIT_TEST_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* A child process whose stdout and stderr go, interleaved as written, into
 * one captured log. */
struct test_proc;

/* Start argv[0] (a path; PATH is not searched) with argv. env holds extra
 * "K=V" entries (NULL-terminated array, may be NULL) that are added to the
 * current environment, replacing a variable of the same name; an entry
 * without '=' removes that variable. name tags the process in messages; with
 * TEST_VERBOSE set in the environment every captured line is also echoed to
 * stderr as "[name] line". Returns once the child has exec'd (an exec failure
 * is reported here), or NULL on failure with errno set. Release with
 * test_proc_free. */
struct test_proc *test_proc_start(const char *name, char *const argv[], char *const env[]);

/* Wait up to timeout_s for a complete line containing needle, at or after
 * the read cursor (initially the start of the output). Returns a malloc'd
 * copy of the line (without '\n'; the caller frees) and moves the cursor past
 * it, so consecutive calls find consecutive events. On timeout or EOF returns
 * NULL, leaves the cursor alone and dumps the captured output to stderr. */
char *test_proc_wait_line(struct test_proc *p, const char *needle, double timeout_s);

/* Move the read cursor past everything captured so far (what is readable
 * now is read first), so that the next test_proc_wait_line only sees lines
 * that arrive from here on — e.g. before triggering a reload whose log line
 * an earlier reload already printed. */
void test_proc_mark(struct test_proc *p);

/* Wait up to timeout_s for a complete line containing needle anywhere in
 * the output since start, regardless of and without moving the cursor. No
 * dump on failure (it also serves to check for absence with timeout 0). */
bool test_proc_seen(struct test_proc *p, const char *needle, double timeout_s);

/* Number of complete lines captured so far that contain needle; reads what
 * is readable now, never waits. */
size_t test_proc_count(struct test_proc *p, const char *needle);

/* All output captured so far, including an unfinished last line; reads what
 * is readable now first. NUL-terminated (output containing NUL bytes reads
 * short); borrowed, valid until the next call on p. */
const char *test_proc_output(struct test_proc *p);

/* Send sig to the process (not its group). 0 or -errno; a process that has
 * exited but is not yet freed is still a valid target (the signal is lost). */
int test_proc_signal(struct test_proc *p, int sig);

/* The child's pid; also its process group id. Stays valid (the child is not
 * reaped) until test_proc_free. */
pid_t test_proc_pid(const struct test_proc *p);

/* Wait up to timeout_s for the process to exit, reading its output meanwhile
 * so that a child blocked on a full pipe cannot deadlock. Returns the wait
 * status (as from waitpid; use WIFEXITED etc.), also on later calls, or -1 on
 * timeout. Output the child wrote before exiting is captured on return. */
int test_proc_wait_exit(struct test_proc *p, double timeout_s);

/* SIGKILL the process and its process group unless already exited, reap it,
 * free everything. NULL-safe. */
void test_proc_free(struct test_proc *p);

/* Run argv[0] (a path) with argv and env as in test_proc_start, to
 * completion, with stdin from input (NULL: /dev/null), and collect stdout
 * into *out and stderr into *err (malloc'd, NUL-terminated; pass NULL to
 * discard). Returns the wait status once the process exited, after which
 * anything left in its process group is killed; or -1 after timeout_s (the
 * group is killed) or on failure to start. *out and *err are always set:
 * what was captured (also on timeout), or NULL if the command did not start;
 * the caller frees them. */
int test_run(char *const argv[], char *const env[], const char *input, double timeout_s, char **out,
	     char **err);

/* A "KEY: N kB" line of /proc/PID/status (VmRSS, VmHWM, ...): N, or -1
 * when the process or the key is not there. */
long test_proc_status_kb(pid_t pid, const char *key);

#endif
