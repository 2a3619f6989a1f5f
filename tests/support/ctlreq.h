/* ctlreq.h — test harness: one request on a running orbitd's control
 * socket, the way orbitctl makes it, read back as JSON.
 *
 * Fails the running check test when the socket cannot be reached, orbitd
 * closes it early, a line is no JSON, or nothing final comes within
 * timeout_s.
 */
#ifndef ORBIT_TEST_CTLREQ_H
#define ORBIT_TEST_CTLREQ_H

#include <jansson.h>
#include <stddef.h>

/* Send request (one JSON line, '\n' included) to the control socket at
 * path; return its final reply (the first line that is no event; the
 * caller decrefs). *outputs, unless NULL, counts the output events that
 * streamed before it. */
json_t *ctlreq(const char *path, const char *request, size_t *outputs, double timeout_s);

#endif
