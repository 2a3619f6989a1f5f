/* table.h — orbitctl's human output: aligned columns with an optional
 * header row and optional colour, and the cleaning of text that came from
 * the daemon (names and reasons may come from remote peers) before it
 * reaches a terminal.
 *
 * Out of memory ends the program (status 1): orbitctl has nothing to save.
 */
#ifndef ORBITCTL_TABLE_H
#define ORBITCTL_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum table_colour { TC_NONE, TC_GREEN, TC_RED, TC_YELLOW, TC_DIM };

struct table;

/* Whether colours are written at all (default false). */
void table_set_colour(bool on);
bool table_colour(void);

/* A table of ncols columns; headers (ncols strings, borrowed for the call)
 * or NULL for none. Free with table_free. */
struct table *table_new(size_t ncols, const char *const *headers);

/* Start a new row; cells then fill it left to right. */
void table_row(struct table *t);

/* Append a cell to the current row: printf-style text, cleaned with
 * table_clean, in colour c. Cells past ncols are ignored. */
void table_cell(struct table *t, enum table_colour c, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Number of rows added so far. */
size_t table_rows(const struct table *t);

/* Write the table to f: columns two spaces apart, padded to the widest
 * cell, no padding after the last one. */
void table_print(const struct table *t, FILE *f);

void table_free(struct table *t);

/* Replace, in place, every byte that would move a terminal (C0 controls,
 * DEL, and the UTF-8 encoding of C1 controls) with '?'. Returns s. */
char *table_clean(char *s);

/* malloc'd printf that ends the program when out of memory. */
char *table_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
