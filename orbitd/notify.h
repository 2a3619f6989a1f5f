/* notify.h — the systemd notification protocol, spoken directly (no
 * libsystemd): one AF_UNIX datagram per message to $NOTIFY_SOCKET.
 *
 * Every function is a no-op returning 0 when NOTIFY_SOCKET is unset, so the
 * daemon calls them unconditionally. They never block and never raise
 * SIGPIPE. The plain senders own no memory and open and close their own
 * socket per call: safe from any thread. The notifier below is for the loop
 * thread.
 */
#ifndef ORBITD_NOTIFY_H
#define ORBITD_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

struct event_base;

/* Send state ("READY=1", several assignments separated by '\n') as one
 * datagram. Returns 0 (also when NOTIFY_SOCKET is unset) or -errno:
 * -EINVAL (NULL state), -EAFNOSUPPORT (socket not a path or '@' abstract
 * name), -ENAMETOOLONG, -EAGAIN (manager's queue full) or the socket error. */
int notify_send(const char *state);

/* WATCHDOG=1: keep-alive ping. */
int notify_watchdog(void);

/* The watchdog period the manager expects from this process: *usec is
 * WATCHDOG_USEC, or 0 when no watchdog is set up for us (unset, or
 * WATCHDOG_PID names another process). Ping at about half of it.
 * Returns 0 or -EINVAL (malformed variables; *usec is then 0). */
int notify_watchdog_usec(uint64_t *usec);

/* ---- the daemon's notifier: STATUS that is coalesced and never lost ----
 *
 * The manager's datagram queue is short (10 on Linux) and a full one refuses
 * the datagram (EAGAIN), so one STATUS per state change loses some at
 * start-up, possibly the last. The notifier instead keeps the status as
 * "dirty" and renders it from the caller's state once the loop is idle: all
 * changes of one loop pass make one datagram, and a refused one is retried
 * (50 ms doubling to 1 s) until it goes through or is superseded. Loop
 * thread only. */
struct notifier;

/* Writes the current status text (no "STATUS=") into buf, NUL-terminated,
 * from one snapshot of the caller's state. */
typedef void (*notify_render_fn)(void *ctx, char *buf, size_t len);

/* A notifier on base; render(ctx) is called at send time. NULL + errno. */
struct notifier *notify_new(struct event_base *base, notify_render_fn render, void *ctx);

/* The state changed: send the new status once the loop is idle. */
void notify_dirty(struct notifier *n);

/* Send state ("READY=1", "STOPPING=1", notify_reloading's text...) now,
 * with the current STATUS in the same datagram so that no older status can
 * follow it. If the manager's queue is full it is kept and retried with the
 * status; a second state before that replaces it (the latest wins). Returns
 * 0, -EAGAIN/-ENOBUFS (kept, retried) or another error of notify_send. */
int notify_state(struct notifier *n, const char *state);

/* "RELOADING=1\nMONOTONIC_USEC=<now>" into buf, as systemd wants for
 * reloads (sent with notify_state). 0 or -errno. */
int notify_reloading_text(char *buf, size_t len);

/* Stop and free; NULL-safe. Anything not yet sent is dropped. */
void notify_free(struct notifier *n);

#endif
