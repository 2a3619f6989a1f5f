/* trace.h — `orbitctl trace`: the request's arguments and the rendering of
 * its events (one protocol message each; the shape is in orbitctl(1)).
 * Functions borrow their JSON arguments.
 */
#ifndef ORBITCTL_TRACE_H
#define ORBITCTL_TRACE_H

#include <jansson.h>
#include <stdio.h>

/* The trace request's args: the filters, each NULL for none. New
 * reference, NULL when out of memory. */
json_t *trace_args(const char *remote, const char *operation);

/* One event as a line: time, direction (→ sent, ← received), bus, orbiter,
 * message type, topic, then the key fields (identifiers, operation names)
 * and what went wrong ("[malformed]", ...). An "overflow" event (events the
 * daemon dropped because we read too slowly) goes to stderr. */
void trace_show_event(FILE *f, json_t *event);

#endif
