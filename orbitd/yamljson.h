/* yamljson.h — a YAML subtree as compact JSON text: what a schedule's
 * `data:` sends and what an inline `schema:` mapping becomes.
 *
 * Scalars are typed as everywhere in the configuration (cfgvalue.h); maps
 * keep their key order; floats are written in their shortest round-trip
 * form with a fraction ("1000.0"), strings as Python's json.dumps writes
 * them (non-ASCII as lower-case \uXXXX): liborbit's orbit/text.h does both.
 */
#ifndef ORBITD_YAMLJSON_H
#define ORBITD_YAMLJSON_H

#include "cfgvalue.h"

/* The JSON text of subtree n into *out (malloc'd, replacing it). Fails
 * (recorded in r) on what JSON cannot hold (.inf, .nan), on more than
 * CV_MAX_VALUES values or YTREE_MAX_DEPTH levels after alias expansion, and
 * on anything cv_need_map or the scalar typing rejects. 0, -EINVAL or
 * -ENOMEM. */
int yj_text(struct cv_reader *r, const struct ynode *n, char **out);

#endif
