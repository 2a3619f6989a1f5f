/* isotime.h — the ISO 8601 datetimes of busline's envelope (SPEC §1.2):
 * the one Python's datetime.now().isoformat() writes and the ones
 * datetime.fromisoformat() reads. Internal to libplugin; a leaf: it calls
 * nothing of ours. */
#ifndef ORBIT_ISOTIME_H
#define ORBIT_ISOTIME_H

#include <stdbool.h>
#include <stddef.h>

/* "YYYY-MM-DDTHH:MM:SS.ffffff", its NUL, and room for an out-of-range year. */
#define ISOTIME_MAX 40

/* The local time now as datetime.now().isoformat() writes it (naive, the
 * fraction left out at 0 µs) into buf, NUL-terminated, its length in *len.
 * Returns 0, -EOVERFLOW or the clock's -errno. */
int isotime_now(char buf[ISOTIME_MAX], size_t *len);

/* True when s[0..n) is a datetime Python >= 3.11's datetime.fromisoformat
 * accepts in practice (s need not be NUL-terminated). */
bool isotime_valid(const char *s, size_t n);

#endif
