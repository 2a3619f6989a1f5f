/* sockpath.h — where the control socket lives when nothing says otherwise.
 *
 * Shared by orbitd (which creates the socket) and orbitctl (which connects to
 * it); orbitctl's build compiles this file too, so it depends on libc only.
 */
#ifndef ORBITD_SOCKPATH_H
#define ORBITD_SOCKPATH_H

/* The system-wide socket, in the directory systemd creates for orbitd. */
#define SOCKPATH_SYSTEM "/run/orbitd/orbitd.sock"

/* The socket a daemon started by this user should create:
 * SOCKPATH_SYSTEM if the effective uid is 0 or /run/orbitd is writable by
 * us; else "$XDG_RUNTIME_DIR/orbitd/orbitd.sock" if XDG_RUNTIME_DIR is set
 * (absolute); else "/tmp/orbitd-<euid>/orbitd.sock". Returns a malloc'd path
 * (the caller frees), or NULL with errno ENOMEM. */
char *sockpath_default(void);

/* The socket a client should try: sockpath_default() if a socket file is
 * there (a daemon this user started, e.g. `make run`), else SOCKPATH_SYSTEM
 * if a socket file is there (the system's orbitd), else sockpath_default()
 * (so that the "cannot connect" message names the path this user's daemon
 * would use). Malloc'd, NULL with errno ENOMEM. */
char *sockpath_client(void);

#endif
