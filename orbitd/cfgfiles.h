/* cfgfiles.h — the configuration's input: which files are read, in which
 * order, and how. The main file (or a text in memory), then every *.yaml of
 * a conf.d directory in C-locale (strcmp) name order, skipping hidden files,
 * non-regular files and the main file itself; each read whole with a size
 * bound, parsed into a tree (yamltree.h) and handed to the schema's walker.
 *
 * Ownership: the input borrows everything in struct cf_input. Every file
 * name read is copied into cfg->files (the config owns it), and positions
 * recorded while walking point there.
 */
#ifndef ORBITD_CFGFILES_H
#define ORBITD_CFGFILES_H

#include "cfgvalue.h"

#include <sys/stat.h>

struct cf_input {
	struct orbitd_config *cfg; /* files read are added to cfg->files */
	struct cv_reader *rd;      /* errors; file and dir are set for each document */
	/* Walks one document's tree (root NULL: an empty document) with rd
	 * set to its file; 0 or -errno with the error recorded in rd. */
	int (*apply)(void *arg, const struct ynode *root, bool is_main);
	void *arg;
	/* Private: the main file's identity, so conf.d never reads it twice. */
	struct stat main_st;
	bool main_st_set;
};

/* Parses text (len bytes) named name, relative paths taken from dir, and
 * applies it. 0 or -errno (error recorded in in->rd, -ENOMEM possibly not). */
int cf_load_text(struct cf_input *in, const char *name, const char *dir, const char *text,
		 size_t len, bool is_main);

/* Reads path (a regular file of at most 16 MiB) and applies it, relative
 * paths taken from its directory. Same returns. */
int cf_load_file(struct cf_input *in, const char *path, bool is_main);

/* Applies every *.yaml of dir in order. explicit_at is where the main file
 * set include_dir (dir must then exist), NULL for the default conf.d, which
 * may be missing. Same returns. */
int cf_load_dir(struct cf_input *in, const char *dir, const struct ocfg_where *explicit_at);

/* Reads a whole regular file of at most max bytes into *out (malloc'd,
 * NUL-terminated; the file may hold NULs: *len). 0 or -errno: -EFBIG when
 * too large, -EISDIR, -EINVAL for other non-regular files. */
int cf_read_file(const char *path, size_t max, char **out, size_t *len);

/* The directory part of path ("." when it has none), malloc'd; NULL when
 * memory ran out. */
char *cf_dir_of(const char *path);

#endif
