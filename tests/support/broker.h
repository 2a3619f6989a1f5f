/* broker.h — test harness: a private mosquitto on a free loopback port.
 *
 * Each broker gets its own temporary directory (config, log) and runs as a
 * child process that is stopped by PID, never by name. A failing check test
 * leaves through _exit (no teardown, no atexit), so cleanup does not rely on
 * the test finishing: mosquitto dies with the test process (PR_SET_PDEATHSIG)
 * and a small guardian process removes the directory once the test process
 * is gone, however it ended.
 *
 * All functions return 0 or -errno and print the reason (and the broker's
 * log, if any) to stderr on failure.
 */
#ifndef ORBIT_TEST_BROKER_H
#define ORBIT_TEST_BROKER_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#define TEST_MOSQUITTO_BIN "/usr/sbin/mosquitto"

#define TEST_BROKER_EXTRA_PORTS 4

struct test_broker;

/* What a test adds to the broker's configuration (test_broker_start_with).
 * write_conf is called after the default listener's lines with the broker's
 * directory and extra ports already set: it writes more listeners, a
 * password_file, an acl_file, TLS files (into b->dir) or a bridge. It returns
 * 0 or -errno. */
struct test_broker_opts {
	int extra_ports;     /* free loopback ports to pick into b->extra_port */
	bool anonymous_off;  /* write "allow_anonymous false" instead of true */
	bool per_listener;   /* write "per_listener_settings true" first */
	int (*write_conf)(FILE *f, const struct test_broker *b, void *arg);
	void *arg;
};

struct test_broker {
	int port;            /* loopback TCP port, fixed for the broker's life */
	int extra_port[TEST_BROKER_EXTRA_PORTS]; /* opts->extra_ports of them */
	pid_t pid;           /* running mosquitto, or 0 */
	char dir[PATH_MAX];  /* temporary directory holding conf and log */
	char conf[PATH_MAX];
	char log[PATH_MAX];  /* mosquitto's own log (log_dest file) */
	char out[PATH_MAX];  /* its stdout and stderr */
	/* private */
	struct test_broker_opts opts;
	pid_t guard_pid;     /* guardian: removes dir when guard_fd closes */
	int guard_fd;        /* write end of the guardian's pipe, or -1 */
};

/* Pick a free port, write the config and start mosquitto; returns once it
 * accepts TCP connections (deadline 10 s). */
int test_broker_start(struct test_broker *b);

/* The same with additions to the configuration (see test_broker_opts); they
 * are kept for test_broker_restart. The default listener on b->port always
 * exists (start waits for it). */
int test_broker_start_with(struct test_broker *b, const struct test_broker_opts *o);

/* Kill the process (SIGTERM, then SIGKILL after 5 s) but keep port and
 * directory, so that test_broker_restart can bring it back: "broker down". */
int test_broker_kill(struct test_broker *b);

/* (Kill if running and) start again on the same port; waits like start. */
int test_broker_restart(struct test_broker *b);

/* Kill if running and remove the directory. Safe to call twice, also after
 * a failed test_broker_start (never on a struct that did not go through it). */
int test_broker_stop(struct test_broker *b);

/* Whether the process is running (reaps it if it exited). */
bool test_broker_running(struct test_broker *b);

#endif
