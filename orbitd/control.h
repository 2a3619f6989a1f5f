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
 * Output to a client is buffered without blocking the loop. While more than
 * OCTL_OUTPUT_CAP bytes wait unsent, the server stops reading that client's
 * requests and drops its events (each request counts its drops and sends one
 * {"type":"overflow","dropped":N} event once there is room, at the latest
 * just before its final reply); final replies are never dropped.
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
#include <sys/types.h>

struct event_base;
struct octl;
struct octl_req;

#define OCTL_PROTOCOL_VERSION 1
/* Bytes waiting unsent to one client beyond which events are dropped and
 * requests are no longer read from it (see above). */
#define OCTL_OUTPUT_CAP ((size_t)4 << 20)

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
 * when group is non-NULL, that group. Lines longer than max_request bytes
 * (newline excluded; 0 means 65536) are refused with too_large. fn (non-NULL)
 * and ctx receive the requests. path and group are copied.
 * Returns the server, or NULL with errno set and, if err is non-NULL, *err a
 * malloc'd message naming the path (the caller frees; NULL only when that
 * allocation failed). */
struct octl *octl_new(struct event_base *base, const char *path, unsigned mode, const char *group,
		      size_t max_request, octl_handler_fn fn, void *ctx, char **err);

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
 * above), or -EPIPE when the client is gone; r stays valid until replied
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
