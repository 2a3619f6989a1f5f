/* plugslots.h — what a plugin process is doing, in memory its supervisor
 * reads: one shared anonymous page mapped before the fork.
 *
 * The plugin process writes (a few stores per handler call, no system
 * call); the daemon reads it to say which operation a crashed process was
 * handling and to kill a handler that runs past its operation's timeout.
 * The daemon trusts none of it: an index is checked against the operation
 * table before use, and garbage can at worst mislabel the plugin's own
 * crash or get it killed.
 */
#ifndef ORBITD_PLUGSLOTS_H
#define ORBITD_PLUGSLOTS_H

#include <stdatomic.h>
#include <stdint.h>

/* Threads tracked: the loop thread and the blocking-call workers. */
#define PLUGSLOTS_MAX 16

enum plugphase {
	PLUGPHASE_FORKED = 0, /* sandboxing itself */
	PLUGPHASE_INIT,       /* in the plugin's init */
	PLUGPHASE_START,      /* in the plugin's start hook */
	PLUGPHASE_RUNNING,
	PLUGPHASE_STOPPING,   /* in the plugin's shutdown hook */
};

struct plugslot {
	_Atomic uint32_t op1;       /* operation index + 1; 0: idle */
	_Atomic uint64_t since_ns;  /* CLOCK_MONOTONIC when the call began */
};

struct plugslots {
	_Atomic uint32_t phase;     /* enum plugphase */
	_Atomic uint32_t next;      /* slots handed out to threads so far */
	struct plugslot slot[PLUGSLOTS_MAX];
	/* Why the plugin process is about to exit on its own, when it knows
	 * (its loop broke, its link is gone): written before _exit, read by
	 * the supervisor for an exit status (not for a signal). NUL-terminated
	 * by the reader. */
	char why[160];
};

#endif
