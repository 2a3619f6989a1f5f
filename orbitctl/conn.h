/* conn.h — orbitctl's side of the control protocol v1 (see orbitctl(1)):
 * one connection to orbitd's socket, one request on it, its events and its
 * final reply, with blocking I/O bounded by poll() deadlines.
 *
 * Every failure is reported here, once, on stderr as "orbitctl: ...", and
 * returned as the exit status orbitctl should end with (CTL_EXIT_*).
 */
#ifndef ORBITCTL_CONN_H
#define ORBITCTL_CONN_H

#include <jansson.h>
#include <signal.h>

/* Exit statuses (DESIGN §3, orbitctl(1) EXIT STATUS). */
enum {
	CTL_EXIT_OK = 0,
	CTL_EXIT_FAILED = 1,      /* the command failed, timed out, or is unsatisfied */
	CTL_EXIT_USAGE = 2,       /* bad options, unknown command */
	CTL_EXIT_NOCONN = 3,      /* cannot connect to the socket */
	CTL_EXIT_PERMISSION = 4,  /* permission_denied, or EACCES on connect */
	CTL_EXIT_PROTOCOL = 5,    /* not protocol v1 on the other side */
	CTL_EXIT_INTERRUPTED = 130 /* SIGINT while waiting (conn_interrupted set) */
};

/* Set by orbitctl's SIGINT handler (when it installs one): a wait in
 * conn_call then ends with CTL_EXIT_INTERRUPTED. */
extern volatile sig_atomic_t conn_interrupted;

struct conn;

/* Connect to the control socket at path (borrowed), waiting at most
 * timeout_s (<= 0: no limit). Returns CTL_EXIT_OK and *out (free with
 * conn_close), or CTL_EXIT_NOCONN / CTL_EXIT_PERMISSION. */
int conn_open(const char *path, double timeout_s, struct conn **out);

/* Called for each event of the request; event is borrowed for the call. */
typedef void (*conn_event_fn)(void *arg, json_t *event);

/* Send {"v":1,"id":N,"cmd":cmd,"args":args} (args stolen; NULL: none) and
 * wait up to timeout_s (<= 0: no limit) for the final reply, passing events
 * to on_event (may be NULL). Returns CTL_EXIT_OK with *result (a new
 * reference the caller releases; {} if the reply had none), or the exit
 * status for the failure: the daemon's error (permission_denied: 4;
 * unsupported_version, bad_request, bad_json, unknown_command: 5; others: 1),
 * a reply that is not protocol v1 (5), a timeout or a closed connection (1),
 * SIGINT (CTL_EXIT_INTERRUPTED, nothing printed). */
int conn_call(struct conn *c, const char *cmd, json_t *args, double timeout_s,
	      conn_event_fn on_event, void *arg, json_t **result);

/* Close and free; NULL-safe. */
void conn_close(struct conn *c);

#endif
