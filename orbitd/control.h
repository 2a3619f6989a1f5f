/* control.h — the control socket: an AF_UNIX stream server on the daemon's
 * loop speaking orbitd's control protocol v1 (DESIGN §3 "Control").
 *
 * Wire: one JSON object per line each way, several requests per connection.
 *   request   {"v":1,"id":ID,"cmd":"name","args":{...}}    args optional
 *   success   {"v":1,"id":ID,"ok":true,"result":{...}}
 *   failure   {"v":1,"id":ID,"ok":false,"error":{"code":"...","message":"..."}}
 *   event     {"v":1,"id":ID,"event":{...}}                 before the final reply
 * ID is a JSON integer or string, echoed back (null when the request could
 * not be read far enough to know it). Every request is handed to the handler
 * as soon as its line is read, so a streaming request (watch, execute with a
 * wait) does not hold up the requests after it; replies carry the id and may
 * come in any order. Blank lines are ignored; a trailing "\r" is dropped. A
 * client may shut down its sending side after its last request (that line
 * may then lack its newline, as with `nc -N` or socat) and still reads every
 * reply; the server closes once they are sent.
 *
 * The server answers protocol errors itself, never drops a connection for
 * them and never crashes on input: bad_json (unparseable line, id null),
 * bad_request (not an object; v, id, cmd or args missing or mistyped),
 * unsupported_version (v != 1), too_large (a line longer than max_request:
 * answered with id null, the rest of that line is discarded). The codes
 * unknown_command, bad_arguments, permission_denied, not_found and failed are
 * the handler's to use (OCTL_E_*): the server does not know the commands.
 *
 * Output to a client is buffered without blocking the loop, within bounds
 * (struct octl_limits) so that slow or hostile clients cannot exhaust the
 * daemon. While more than half its client_buffer waits unsent to a client,
 * the server stops reading that client's requests and drops its events
 * (each request counts its drops and sends one
 * {"type":"overflow","dropped":N} event once there is room, at the latest
 * just before its final reply); final replies are never dropped. A client
 * owing more than client_buffer (unsent bytes plus the bytes of the events
 * dropped since it last read anything) is cut: a client that reads slowly
 * loses events, one that stops reading loses its connection. When more than
 * total_buffer waits unsent to all clients together, the slowest clients
 * are cut first until it fits: those whose output has stood still longest
 * (not taken, not empty), the one with the most unsent bytes on a tie. A cut is logged (pid,
 * uid, bytes) and counted; its connection is shut down at once.
 *
 * Beyond max_clients connections a new one gets a single line
 *   {"v":1,"id":null,"ok":false,"error":{"code":"too_many_clients",...}}
 * and is closed (counted; logged at most once per OCTL_REFUSE_LOG_S). A
 * client is closed after idle_timeout without activity (a byte received
 * from it, or a byte of its output taken by it), unless it has a request
 * open and nothing unsent: a `watch` waiting for events is busy, and so is
 * one whose client keeps reading its output; one whose output is stuck is
 * idle.
 *
 * Peers: credentials come from SO_PEERCRED at accept. A request is
 * privileged (may use mutating commands) when the peer's uid is 0 or the
 * daemon's effective uid, or the control group is its primary group or one
 * of its supplementary groups (SO_PEERGROUPS). Anyone who can
 * connect (the socket's mode and group are the first gate) may use the
 * read-only ones; the handler enforces that with octl_req_privileged.
 *
 * Everything here runs on the loop thread; nothing is thread-safe.
 */
#ifndef ORBITD_CONTROL_H
#define ORBITD_CONTROL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct event_base;
struct octl;
struct octl_req;

#define OCTL_PROTOCOL_VERSION 1
/* Defaults of struct octl_limits (and of the control section, which
 * orbitd.yaml(5) documents). */
#define OCTL_DEFAULT_MAX_REQUEST ((size_t)65536)
#define OCTL_DEFAULT_MAX_CLIENTS ((size_t)256)
#define OCTL_DEFAULT_IDLE_TIMEOUT 60.0
#define OCTL_DEFAULT_CLIENT_BUFFER ((size_t)4 << 20)
#define OCTL_DEFAULT_TOTAL_BUFFER ((size_t)32 << 20)
/* The refused-connection log line comes at most this often (with a count). */
#define OCTL_REFUSE_LOG_S 10.0

/* The bounds on what clients may hold (see above). */
struct octl_limits {
	size_t max_request;   /* longest request line; 0: 65536 */
	size_t max_clients;   /* connections at once; 0: no bound */
	double idle_timeout;  /* seconds; <= 0: never */
	size_t client_buffer; /* unsent output one client may owe; 0: no bound */
	size_t total_buffer;  /* unsent output to all clients; 0: no bound */
};

/* Counters since octl_new. */
struct octl_stats {
	size_t clients;       /* connected now */
	size_t buffered;      /* bytes unsent to all clients now */
	uint64_t refused;     /* connections refused for max_clients */
	uint64_t idle_closed; /* clients closed for idle_timeout */
	uint64_t cut;         /* clients cut for client_buffer or total_buffer */
};

/* Error codes (the "code" member of an error reply). */
#define OCTL_E_BAD_JSON "bad_json"
#define OCTL_E_BAD_REQUEST "bad_request"
#define OCTL_E_UNSUPPORTED_VERSION "unsupported_version"
#define OCTL_E_TOO_LARGE "too_large"
#define OCTL_E_UNKNOWN_COMMAND "unknown_command"
#define OCTL_E_BAD_ARGUMENTS "bad_arguments"
#define OCTL_E_PERMISSION_DENIED "permission_denied"
#define OCTL_E_NOT_FOUND "not_found"
#define OCTL_E_FAILED "failed"
#define OCTL_E_TOO_MANY_CLIENTS "too_many_clients"

/* Called on the loop thread for each well-formed request, in the order of a
 * connection's lines. cmd (borrowed) is non-empty; args is a JSON object
 * ({} when the request had none), borrowed for the call: json_incref it to
 * keep it. The handler owns r until it ends it with octl_reply_ok or
 * octl_reply_error, right away or later (after a wait, for a stream); until
 * then r stays valid even if the client goes away (see octl_req_on_close).
 * The handler must not call octl_free. */
typedef void (*octl_handler_fn)(void *ctx, struct octl_req *r, const char *cmd, json_t *args);

/* Listen on path (an AF_UNIX stream socket) on base, which must outlive the
 * server. Creates path's missing parent directories (0755, umask applies)
 * when it can. If path exists: a socket that answers a connect() means
 * another orbitd runs there, which is an error ("control socket PATH is in
 * use by another orbitd"); a socket nobody listens on is stale and replaced;
 * anything else is an error. The socket file gets exactly mode (& 0777) and,
 * when group is non-NULL, that group. lim (copied; NULL: the OCTL_DEFAULT_*
 * values) bounds the clients; lines longer than its max_request bytes
 * (newline excluded) are refused with too_large. fn (non-NULL)
 * and ctx receive the requests. path and group are copied.
 * Returns the server, or NULL with errno set and, if err is non-NULL, *err a
 * malloc'd message naming the path (the caller frees; NULL only when that
 * allocation failed). */
struct octl *octl_new(struct event_base *base, const char *path, unsigned mode, const char *group,
		      const struct octl_limits *lim, octl_handler_fn fn, void *ctx, char **err);

/* Replace the bounds (lim copied, NULL: the defaults), as a reload does.
 * They apply from the next check on: connections above a lowered
 * max_clients stay, output above a lowered buffer bound is cut as soon as
 * more is queued or the next idle check runs. */
void octl_set_limits(struct octl *c, const struct octl_limits *lim);

/* The counters and current figures into *st. */
void octl_stats(const struct octl *c, struct octl_stats *st);

/* Whether r's peer may use mutating commands (see above). */
bool octl_req_privileged(const struct octl_req *r);

/* r's peer's uid and pid, as the kernel reported them at connect time
 * (still valid after the client went away). */
uid_t octl_req_uid(const struct octl_req *r);
pid_t octl_req_pid(const struct octl_req *r);

/* End r with {"ok":true,"result":result}. result is stolen (NULL sends {}).
 * Frees r: it must not be used afterwards. If the client is gone the reply
 * is discarded. A pending overflow notice is sent first. */
void octl_reply_ok(struct octl_req *r, json_t *result);

/* End r with {"ok":false,"error":{"code":code,"message":<fmt...>}}. code
 * is borrowed (use OCTL_E_*). Frees r as octl_reply_ok does. */
void octl_reply_error(struct octl_req *r, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Send {"event":event} for r before its final reply. event is stolen.
 * Returns 0 when it was queued or dropped for overflow (counted, see
 * above), or -EPIPE when the client is gone or cut; r stays valid until replied
 * either way. -ENOMEM if the line could not be built. */
int octl_req_event(struct octl_req *r, json_t *event);

/* Have fn(arg) called once, on the loop thread, if r's client disconnects
 * (or the server is freed) before r is replied to. From then on replies and
 * events for r are discarded, but the handler must still end r with a reply
 * (from within fn or later), which frees it, except after octl_free. A
 * second call replaces the first; fn NULL removes it. */
void octl_req_on_close(struct octl_req *r, void (*fn)(void *arg), void *arg);

/* Connected clients right now. */
size_t octl_clients(const struct octl *c);

/* The socket's path, as given to octl_new; borrowed, valid until octl_free. */
const char *octl_path(const struct octl *c);

/* Close every connection and the listening socket, and unlink the socket
 * file if it is still the one octl_new created. Every request not yet
 * replied to gets its on_close callback (which may reply to it), then is
 * freed: after octl_free returns no octl_req may be used. Call it before
 * freeing what the handler's on_close callbacks touch. NULL-safe. */
void octl_free(struct octl *c);

#endif
