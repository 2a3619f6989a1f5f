/* tmpdir.c — temporary directories for tests and the guardian that removes
 * them when a test process dies without test_tmpdir_free.
 *
 * The guardian is one /bin/sh per test process, reading "+path" and "-path"
 * lines from a socket whose other end only this process holds
 * (close-on-exec; a socket so that send(MSG_NOSIGNAL) cannot raise SIGPIPE
 * if the guardian is gone). At EOF it removes every path still registered.
 * It runs in its own session: check kills each forked test's process group
 * right after the test exits, and the guardian must outlive that.
 */
#include "tmpdir.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define NFTW_FDS 32
#define MAX_CHMOD_PASSES 16

static const char guardian_script[] =
	"trap '' INT TERM HUP\n"
	"while IFS= read -r l; do\n"
	"  case $l in\n"
	"  +*) set -- \"$@\" \"${l#?}\" ;;\n"
	"  -*) d=${l#?}; n=$#\n"
	"      while [ \"$n\" -gt 0 ]; do\n"
	"        a=$1; shift; [ \"$a\" = \"$d\" ] || set -- \"$@\" \"$a\"; n=$((n - 1))\n"
	"      done ;;\n"
	"  esac\n"
	"done\n"
	"[ $# -eq 0 ] && exit 0\n"
	"chmod -R u+rwx -- \"$@\"\n"
	"exec rm -rf -- \"$@\"\n";

static pthread_mutex_t guard_lock = PTHREAD_MUTEX_INITIALIZER;
static int guard_fd = -1;
static pid_t guard_owner; /* process that started the guardian behind guard_fd */

/* Start this process's guardian unless it runs already. A descriptor
 * inherited across fork belongs to the parent's guardian: it is closed here
 * (the parent still holds it) and this process gets its own. Called with
 * guard_lock held. */
static int start_guardian(void)
{
	if (guard_fd >= 0 && guard_owner == getpid())
		return 0;
	if (guard_fd >= 0) {
		close(guard_fd);
		guard_fd = -1;
	}
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0) {
		int rc = -errno;
		close(sv[0]);
		close(sv[1]);
		return rc;
	}
	if (pid == 0) {
		/* Async-signal-safe calls only: the test may have threads. */
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		setsid();
		int in = fcntl(sv[1], F_DUPFD, 3);
		int null = open("/dev/null", O_RDWR);
		if (in < 0 || null < 0 || dup2(in, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
			_exit(126);
		close_range(3, ~0U, 0);
		execl("/bin/sh", "sh", "-c", guardian_script, "orbit-tmpdir-guardian", (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	guard_fd = sv[0];
	guard_owner = getpid();
	return 0;
}

/* Tell the guardian op ('+' or '-') path. */
static int guardian_send(char op, const char *path)
{
	size_t n = strlen(path);
	char *msg = malloc(n + 2);
	if (!msg)
		return -ENOMEM;
	msg[0] = op;
	memcpy(msg + 1, path, n);
	msg[n + 1] = '\n';
	int rc = 0;
	pthread_mutex_lock(&guard_lock);
	if (op == '+')
		rc = start_guardian();
	else if (guard_fd < 0 || guard_owner != getpid())
		goto out; /* never registered in this process */
	for (size_t off = 0; !rc && off < n + 2;) {
		ssize_t w = send(guard_fd, msg + off, n + 2 - off, MSG_NOSIGNAL);
		if (w < 0 && errno != EINTR)
			rc = -errno;
		else if (w > 0)
			off += (size_t)w;
	}
out:
	pthread_mutex_unlock(&guard_lock);
	free(msg);
	return rc;
}

char *test_tmpdir_new(const char *tag)
{
	const char *base = getenv("TMPDIR");
	if (!base || !*base)
		base = "/tmp";
	if (!tag)
		tag = "test";
	char *dir = NULL;
	int rc;
	/* The guardian's protocol is line-based. */
	if (strchr(base, '\n') || strchr(tag, '\n') || strchr(tag, '/')) {
		rc = -EINVAL;
		goto out;
	}
	if (asprintf(&dir, "%s/orbit-%s-XXXXXX", base, tag) < 0) {
		dir = NULL;
		rc = -ENOMEM;
		goto out;
	}
	if (!mkdtemp(dir)) {
		rc = -errno;
		goto out;
	}
	rc = guardian_send('+', dir);
	if (rc < 0)
		rmdir(dir);
out:
	if (rc < 0) {
		fprintf(stderr, "test_tmpdir_new(%s) under %s: %s\n", tag, base, strerror(-rc));
		free(dir);
		errno = -rc;
		return NULL;
	}
	return dir;
}

char *test_tmpdir_path(const char *dir, const char *name)
{
	char *p;
	if (asprintf(&p, "%s/%s", dir, name) < 0) {
		errno = ENOMEM;
		return NULL;
	}
	return p;
}

/* Create the missing directories between the first skip bytes of path (an
 * existing directory) and its last component. */
static int make_parents(const char *path, size_t skip)
{
	char *copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	int rc = 0;
	for (char *s = strchr(copy + skip + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(copy, 0755) < 0 && errno != EEXIST) {
			rc = -errno;
			break;
		}
		*s = '/';
	}
	free(copy);
	return rc;
}

/* Write len bytes of data to "<to>.tmp" with exactly mode, then rename it to
 * to. */
static int write_atomic(const char *to, const void *data, size_t len, mode_t mode)
{
	char *tmp = NULL;
	int fd = -1;
	int rc = 0;
	if (asprintf(&tmp, "%s.tmp", to) < 0) {
		tmp = NULL;
		rc = -ENOMEM;
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, (const char *)data + off, len - off);
		if (w < 0 && errno != EINTR) {
			rc = -errno;
			goto out;
		}
		if (w > 0)
			off += (size_t)w;
	}
	if (fchmod(fd, mode) < 0) {
		rc = -errno;
		goto out;
	}
	rc = close(fd) < 0 ? -errno : 0;
	fd = -1;
	if (rc < 0)
		goto out;
	if (rename(tmp, to) < 0)
		rc = -errno;
out:
	if (fd >= 0)
		close(fd);
	if (rc < 0 && tmp)
		unlink(tmp);
	free(tmp);
	return rc;
}

int test_tmpdir_write(const char *dir, const char *name, const char *content)
{
	char *path = test_tmpdir_path(dir, name);
	int rc = path ? make_parents(path, strlen(dir)) : -ENOMEM;
	if (!rc)
		rc = write_atomic(path, content ? content : "", content ? strlen(content) : 0, 0644);
	if (rc < 0)
		fprintf(stderr, "test_tmpdir_write(%s, %s): %s\n", dir, name, strerror(-rc));
	free(path);
	return rc;
}

int test_copy_file(const char *from, const char *to, mode_t mode)
{
	char *data = NULL;
	size_t len = 0, cap = 0;
	int rc = 0;
	int fd = open(from, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 65536;
			char *grown = realloc(data, cap);
			if (!grown) {
				rc = -ENOMEM;
				goto out;
			}
			data = grown;
		}
		ssize_t r = read(fd, data + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	rc = write_atomic(to, data, len, mode);
out:
	if (fd >= 0)
		close(fd);
	free(data);
	if (rc < 0)
		fprintf(stderr, "test_copy_file(%s, %s): %s\n", from, to, strerror(-rc));
	return rc;
}

/* nftw callbacks take no argument; the removal state is per thread. */
static _Thread_local bool saw_unreadable;
static _Thread_local int remove_err;

/* Make every directory usable by its owner so that a test which removed
 * permissions (to provoke an error) does not leave the tree behind. */
static int open_up(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)ftw;
	if (type == FTW_DNR || (type == FTW_D && (st->st_mode & 0700) != 0700)) {
		chmod(path, 0700);
		if (type == FTW_DNR)
			saw_unreadable = true;
	}
	return 0;
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if ((type == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT && !remove_err)
		remove_err = errno;
	return 0;
}

void test_tmpdir_free(char *dir)
{
	if (!dir)
		return;
	/* Each pass can only open up directories it could read; an unreadable
	 * one's contents show up in the next pass. */
	for (int i = 0; i < MAX_CHMOD_PASSES; i++) {
		saw_unreadable = false;
		nftw(dir, open_up, NFTW_FDS, FTW_PHYS);
		if (!saw_unreadable)
			break;
	}
	remove_err = 0;
	if (nftw(dir, remove_one, NFTW_FDS, FTW_PHYS | FTW_DEPTH) < 0 && errno != ENOENT)
		remove_err = errno;
	if (remove_err)
		fprintf(stderr, "test_tmpdir_free(%s): %s\n", dir, strerror(remove_err));
	else
		guardian_send('-', dir);
	free(dir);
}
