/* show.h — orbitctl's human rendering of each command's result and of the
 * events of execute and watch (the shapes are in orbitctl(1)). Every
 * function tolerates missing or mistyped members (printed as "-") and
 * borrows its JSON argument.
 */
#ifndef ORBITCTL_SHOW_H
#define ORBITCTL_SHOW_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

void show_status(FILE *f, json_t *result);
void show_plugins(FILE *f, json_t *result);
void show_plugin(FILE *f, json_t *plugin);
/* A `plugin show` result's "config" keys as a table (nothing when empty). */
void show_plugin_config(FILE *f, json_t *keys);
void show_requirements(FILE *f, json_t *result);
void show_connections(FILE *f, json_t *result);
void show_pending(FILE *f, json_t *result);

/* Requirements in a `requirements` result whose "satisfied" is not true. */
size_t show_unsatisfied(json_t *result);

/* One line per event: execute's outputs as "PLUGIN OPERATION VALUE", watch's
 * events as "TIME TYPE key=value ...". */
void show_output_event(FILE *f, json_t *event);
/* The tally of an execute: "sent N, outputs M", then what was matched by
 * connection/time only and whether a call did not complete in the wait. */
void show_execute_result(FILE *f, json_t *res);
void show_watch_event(FILE *f, json_t *event);

/* Seconds as "42s", "5m03s", "2h05m", "3d04h"; a negative or non-number
 * value is "-". The string stays valid for the next 31 calls of this
 * module's functions that return strings. */
const char *show_duration(json_t *seconds);

#endif
