/* cfgfiles.c — see cfgfiles.h. */
#include "cfgfiles.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_FILE_SIZE (16u << 20) /* a YAML file; far above any sane config */

int cf_read_file(const char *path, size_t max, char **out, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	size_t have = 0;
	int fd, rc = 0;

	/* O_NONBLOCK: opening a FIFO (a config or schema path pointing at one)
	 * must not wait for a writer; it is refused below. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = -EISDIR;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		goto out;
	}
	if ((unsigned long long)st.st_size > max) {
		rc = -EFBIG;
		goto out;
	}
	if (!(buf = malloc((size_t)st.st_size + 1))) {
		rc = -ENOMEM;
		goto out;
	}
	/* Stop at the size seen by fstat: a file growing meanwhile is cut, never overrun. */
	while (have < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + have, (size_t)st.st_size - have);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			goto out;
		}
		if (r == 0)
			break;
		have += (size_t)r;
	}
	buf[have] = '\0';
	*out = buf;
	*len = have;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return rc;
}

char *cf_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

static int add_file(struct orbitd_config *cfg, const char *name, const char **stored)
{
	char **f = realloc(cfg->files, (cfg->n_files + 2) * sizeof *f);

	if (!f)
		return -ENOMEM;
	cfg->files = f;
	if (!(f[cfg->n_files] = strdup(name)))
		return -ENOMEM;
	*stored = f[cfg->n_files++];
	f[cfg->n_files] = NULL;
	return 0;
}

int cf_load_text(struct cf_input *in, const char *name, const char *dir, const char *text,
		 size_t len, bool is_main)
{
	struct cv_reader *rd = in->rd;
	struct ydoc d = { 0 };
	const char *file;
	int rc;

	if ((rc = add_file(in->cfg, name, &file)))
		return rc;
	rd->file = file;
	rd->dir = dir;
	ocfg_kpop(&rd->path, 0);
	if (!(rc = cv_parse(rd, text, len, &d)))
		rc = in->apply(in->arg, d.root, is_main);
	ydoc_free(&d);
	/* rd->dir must not outlive the caller's directory string. */
	rd->dir = NULL;
	return rc;
}

int cf_load_file(struct cf_input *in, const char *path, bool is_main)
{
	char *text = NULL, *dir = NULL;
	size_t len = 0;
	int rc;

	if (is_main && stat(path, &in->main_st) == 0)
		in->main_st_set = true;
	rc = cf_read_file(path, MAX_FILE_SIZE, &text, &len);
	if (rc == -EFBIG)
		return cv_fail_plain(in->rd, rc, "%s: larger than %u bytes", path, MAX_FILE_SIZE);
	if (rc == -EINVAL)
		return cv_fail_plain(in->rd, rc, "%s: not a regular file", path);
	if (rc)
		return rc == -ENOMEM ? rc : cv_fail_plain(in->rd, rc, "%s: %s", path, strerror(-rc));
	if (!(dir = cf_dir_of(path)))
		rc = -ENOMEM;
	else
		rc = cf_load_text(in, path, dir, text, len, is_main);
	free(dir);
	free(text);
	return rc;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int cf_load_dir(struct cf_input *in, const char *dir, const struct ocfg_where *explicit_at)
{
	char **names = NULL, *full = NULL;
	size_t n = 0;
	DIR *d;
	int rc = 0;

	if (!(d = opendir(dir))) {
		rc = -errno;
		if (rc == -ENOENT && !explicit_at)
			return 0; /* conf.d is optional */
		ocfg_kpop(&in->rd->path, 0);
		ocfg_kpush_str(&in->rd->path, "include_dir");
		if (explicit_at)
			return cv_fail_at(in->rd, explicit_at, "cannot open '%s': %s", dir,
					  strerror(-rc));
		return cv_fail_plain(in->rd, rc, "%s: %s", dir, strerror(-rc));
	}
	for (;;) {
		struct dirent *de;
		size_t len;
		char **nn;

		errno = 0;
		if (!(de = readdir(d))) {
			if (errno)
				rc = cv_fail_plain(in->rd, -errno, "%s: %s", dir, strerror(errno));
			break;
		}
		len = strlen(de->d_name);
		/* Hidden files are editor and package-manager leftovers. */
		if (de->d_name[0] == '.' || len <= 5 || strcmp(de->d_name + len - 5, ".yaml"))
			continue;
		if (!(nn = realloc(names, (n + 1) * sizeof *nn))) {
			rc = -ENOMEM;
			break;
		}
		names = nn;
		if (!(names[n] = strdup(de->d_name))) {
			rc = -ENOMEM;
			break;
		}
		n++;
	}
	closedir(d);
	if (!rc && n)
		qsort(names, n, sizeof *names, cmp_names);
	for (size_t i = 0; i < n && !rc; i++) {
		struct stat st;

		free(full);
		if (!(full = cv_path_join(dir, names[i]))) {
			rc = -ENOMEM;
			break;
		}
		if (stat(full, &st) < 0) {
			rc = cv_fail_plain(in->rd, -errno, "%s: %s", full, strerror(errno));
			break;
		}
		if (!S_ISREG(st.st_mode))
			continue;
		if (in->main_st_set && st.st_dev == in->main_st.st_dev && st.st_ino == in->main_st.st_ino)
			continue; /* include_dir is the main file's own directory */
		rc = cf_load_file(in, full, false);
	}
	free(full);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}
