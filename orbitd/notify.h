/* notify.h — the systemd notification protocol, spoken directly (no
 * libsystemd): one AF_UNIX datagram per message to $NOTIFY_SOCKET.
 *
 * Every function is a no-op returning 0 when NOTIFY_SOCKET is unset, so the
 * daemon calls them unconditionally. They own no memory, open and close their
 * own socket per call, never block and never raise SIGPIPE: safe from any
 * thread.
 */
#ifndef ORBITD_NOTIFY_H
#define ORBITD_NOTIFY_H

#include <stdint.h>

/* Send state ("READY=1", several assignments separated by '\n') as one
 * datagram. Returns 0 (also when NOTIFY_SOCKET is unset) or -errno:
 * -EINVAL (NULL state), -EAFNOSUPPORT (socket not a path or '@' abstract
 * name), -ENAMETOOLONG, -EAGAIN (manager's queue full) or the socket error. */
int notify_send(const char *state);

/* READY=1: start-up finished. */
int notify_ready(void);

/* RELOADING=1 with MONOTONIC_USEC=now, as systemd wants for reloads. */
int notify_reloading(void);

/* STOPPING=1: shutdown began. */
int notify_stopping(void);

/* STATUS=<formatted text>; newlines in the text become spaces and text past
 * 1 KiB is cut. */
int notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* WATCHDOG=1: keep-alive ping. */
int notify_watchdog(void);

/* The watchdog period the manager expects from this process: *usec is
 * WATCHDOG_USEC, or 0 when no watchdog is set up for us (unset, or
 * WATCHDOG_PID names another process). Ping at about half of it.
 * Returns 0 or -EINVAL (malformed variables; *usec is then 0). */
int notify_watchdog_usec(uint64_t *usec);

#endif
