/* graph.h — `orbitctl graph`: the cores and plugins one orbitd knows and
 * the connections between them, as a Graphviz DOT digraph (core -> plugin,
 * one edge per operation) for `dot -Tsvg`.
 *
 * Ownership: borrows its JSON arguments.
 */
#ifndef ORBITCTL_GRAPH_H
#define ORBITCTL_GRAPH_H

#include <jansson.h>
#include <stdio.h>

/* Write the digraph from the results of `status` (the core's identifier),
 * `plugins` and `connections`. This orbitd's own orbiters are drawn in a
 * cluster; cores are boxes, plugins ellipses, dead remote plugins dashed.
 * An in-process connection, listed on both of its sides, is one edge. */
void graph_dot(FILE *f, json_t *status, json_t *plugins, json_t *connections);

#endif
