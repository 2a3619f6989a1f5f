/* exec — bundled plugin: operation "exec" runs a configured command with the
 * input string on its stdin and answers with what it printed on stdout (both
 * StringMessage). It is flagged ORBIT_OP_BLOCKING, so it runs on orbitd's
 * worker pool: several calls may run at once, and the loop never waits.
 *
 * Config (the map at the end; orbitd checks it):
 *   command     [/bin/prog, arg, ...] (run directly; a name without a slash
 *               is looked up in PATH) or "shell text" (run by /bin/sh -c);
 *               required
 *   timeout     seconds before the command's process group is killed
 *               (default 10); the call then fails with -ETIMEDOUT, no output
 *   max_output  bytes of stdout kept (default 65536, at most 1 GiB); the rest
 *               is read and dropped so the command never stalls on a full pipe
 * A non-zero exit status is logged as a warning; stdout is still the reply.
 * The command's stderr is orbitd's, so its complaints land in orbitd's log.
 *
 * Threads: handlers run on workers, where the config_* accessors may not be
 * used (they are loop-thread only, and their strings die at the next
 * reload). So init and reload, on the loop thread, copy the values into an
 * immutable, refcounted struct xcfg; a call takes a reference under the lock
 * and reload swaps in a new one, so a running command keeps the config it
 * started with. No static mutable state.
 *
 * Ownership: the struct xstate made by init belongs to the plugin until
 * shutdown (the host runs shutdown only once no call is in flight); it
 * borrows the host handle and API table. Each struct xcfg is one malloc'd
 * block (argv and its strings inside), freed by its last reference. Each
 * call's output buffer is malloc'd here and freed once api->reply has copied
 * it; its input is the call's.
 */
#include <orbit/plugin.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct xcfg {
	atomic_uint refs;
	bool shell;          /* argv is /bin/sh -c argv[2] */
	double timeout;
	size_t max_output;
	char **argv;         /* NULL-terminated, in the same block */
};

struct xstate {
	orbit_host *h;
	const orbit_host_api *api;
	pthread_mutex_t lock; /* guards cfg (the pointer, not the struct) */
	struct xcfg *cfg;
};

static void xcfg_unref(struct xcfg *c)
{
	if (c && atomic_fetch_sub(&c->refs, 1) == 1)
		free(c);
}

/* Word i of the command line: a list is argv as written, one string is the
 * text for /bin/sh -c. */
static const char *arg(struct xstate *x, bool shell, size_t i)
{
	static const char *const sh[] = { "/bin/sh", "-c" };

	if (!shell)
		return x->api->config_string_at(x->h, "command", i);
	return i < 2 ? sh[i] : x->api->config_string_at(x->h, "command", 0);
}

/* A snapshot of the current config values (one reference), for the workers.
 * The map has checked types and bounds; what it cannot say (an empty program
 * or shell text) is logged here. NULL with errno EINVAL or ENOMEM. */
static struct xcfg *snapshot(struct xstate *x)
{
	bool shell = x->api->config_is_one(x->h, "command");
	size_t argc = shell ? 3 : x->api->config_count(x->h, "command");
	size_t size = sizeof(struct xcfg) + (argc + 1) * sizeof(char *);
	const char *first = arg(x, shell, shell ? 2 : 0);
	struct xcfg *c;
	char *p;

	/* NULL too: the map makes the key required with at least one entry,
	 * but a host that broke that promise must not crash us. */
	if (!first || !*first) {
		x->api->log(x->h, 3, "config: \"command\" %s",
			    shell ? "is empty" : "names no program");
		errno = EINVAL;
		return NULL;
	}
	for (size_t i = 0; i < argc; i++)
		size += strlen(arg(x, shell, i)) + 1;
	/* sizeof(struct xcfg) is a multiple of its alignment, which a pointer
	 * member makes at least a pointer's: argv may follow it. */
	if (!(c = malloc(size)))
		return NULL;
	atomic_init(&c->refs, 1);
	c->shell = shell;
	c->timeout = x->api->config_float(x->h, "timeout");
	c->max_output = (size_t)x->api->config_int(x->h, "max_output");
	c->argv = (char **)(c + 1);
	p = (char *)(c->argv + argc + 1);
	for (size_t i = 0; i < argc; i++) {
		size_t n = strlen(arg(x, shell, i)) + 1;

		c->argv[i] = memcpy(p, arg(x, shell, i), n);
		p += n;
	}
	c->argv[argc] = NULL;
	return c;
}

/* ---- running the command ---- */

struct run {
	const struct xcfg *cfg;
	const char *in;
	size_t in_len;
	char *out;         /* malloc'd, out_len bytes kept */
	size_t out_len, out_cap;
	bool truncated;
	int status;        /* waitpid's */
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

/* One read of what is there (one per poll wakeup, so a command that writes
 * without pause cannot hold us past the deadline); keep up to max_output.
 * 0, 1 at EOF, or -errno. */
static int drain(struct run *r, int fd)
{
	char scratch[16384];
	size_t room = r->cfg->max_output - r->out_len;
	char *dst = scratch;
	size_t want = sizeof scratch;
	ssize_t n;

	if (room) {
		if (r->out_len == r->out_cap) {
			size_t cap = r->out_cap ? r->out_cap * 2 : 4096;
			char *grown;

			if (cap > r->cfg->max_output)
				cap = r->cfg->max_output;
			if (!(grown = realloc(r->out, cap)))
				return -ENOMEM;
			r->out = grown;
			r->out_cap = cap;
		}
		dst = r->out + r->out_len;
		want = r->out_cap - r->out_len;
	}
	n = read(fd, dst, want);
	if (n == 0)
		return 1;
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if (room)
		r->out_len += (size_t)n;
	else
		r->truncated = true;
	return 0;
}

static int spawn(const struct xcfg *c, int in_fd, int out_fd, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	int rc;

	if ((rc = posix_spawn_file_actions_init(&fa)))
		return -rc;
	if ((rc = posix_spawnattr_init(&attr))) {
		posix_spawn_file_actions_destroy(&fa);
		return -rc;
	}
	sigemptyset(&none);
	sigfillset(&all);
	/* fds 0-2 stay open in any daemon, so the pipe ends are >= 3 and the
	 * dup2s cannot clobber each other. closefrom makes sure no descriptor
	 * of orbitd (sockets, the broker connection) leaks into the command
	 * even if someone opened it without O_CLOEXEC. */
	if (!(rc = posix_spawn_file_actions_adddup2(&fa, in_fd, 0)) &&
	    !(rc = posix_spawn_file_actions_adddup2(&fa, out_fd, 1)) &&
	    !(rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3)) &&
	    /* The worker's signal mask and orbitd's ignored SIGPIPE are not the
	     * command's business; its own process group lets a timeout kill
	     * whatever a shell started too. */
	    !(rc = posix_spawnattr_setsigmask(&attr, &none)) &&
	    !(rc = posix_spawnattr_setsigdefault(&attr, &all)) &&
	    !(rc = posix_spawnattr_setpgroup(&attr, 0)) &&
	    !(rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
							   POSIX_SPAWN_SETPGROUP)))
		rc = (strchr(c->argv[0], '/') ? posix_spawn : posix_spawnp)(pid, c->argv[0], &fa, &attr,
									     c->argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	return -rc;
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ? -errno : 0;
}

/* Run the command over r->in. 0 (r->status set), -ETIMEDOUT (killed),
 * or -errno. */
static int run_command(struct run *r)
{
	int in_p[2] = { -1, -1 }, out_p[2] = { -1, -1 }, pidfd = -1, rc;
	double deadline = now() + r->cfg->timeout;
	struct timespec no_wait = { 0, 0 };
	sigset_t sigpipe, old_mask;
	size_t written = 0;
	bool exited = false;
	pid_t pid = -1;

	/* A command may stop reading its input, which is its right. orbitd
	 * ignores SIGPIPE, but a process embedding the host need not: block it
	 * in this thread (writes then fail with EPIPE) and swallow it after. */
	sigemptyset(&sigpipe);
	sigaddset(&sigpipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &sigpipe, &old_mask);
	if (pipe2(in_p, O_CLOEXEC) < 0 || pipe2(out_p, O_CLOEXEC) < 0) {
		rc = -errno;
		goto out;
	}
	if ((rc = spawn(r->cfg, in_p[0], out_p[1], &pid))) {
		pid = -1;
		goto out;
	}
	close_fd(&in_p[0]);
	close_fd(&out_p[1]);
	if ((rc = set_nonblock(in_p[1])) || (rc = set_nonblock(out_p[0])))
		goto out;
	/* A pidfd lets poll() see the exit too, so a command that closes
	 * stdout but lingers still meets the timeout. Without one (old
	 * kernels) the final waitpid blocks. */
#ifdef SYS_pidfd_open
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
	if (!r->in_len)
		close_fd(&in_p[1]);

	while (out_p[0] >= 0 || (pidfd >= 0 && !exited)) {
		struct pollfd fds[3];
		nfds_t n = 0, i_in = 3, i_out = 3, i_pid = 3;
		double left = deadline - now();

		if (left <= 0) {
			rc = -ETIMEDOUT;
			goto out;
		}
		if (in_p[1] >= 0)
			fds[i_in = n++] = (struct pollfd){ .fd = in_p[1], .events = POLLOUT };
		if (out_p[0] >= 0)
			fds[i_out = n++] = (struct pollfd){ .fd = out_p[0], .events = POLLIN };
		if (pidfd >= 0 && !exited)
			fds[i_pid = n++] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
		/* Long timeouts are waited for in day-long slices: poll takes an int. */
		if (poll(fds, n, left > 86400 ? 86400000 : (int)(left * 1000) + 1) < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		if (i_in < n && fds[i_in].revents) {
			ssize_t w = write(in_p[1], r->in + written, r->in_len - written);

			/* EPIPE: the command does not want the rest. */
			if (w > 0)
				written += (size_t)w;
			if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == r->in_len)
				close_fd(&in_p[1]);
		}
		if (i_out < n && fds[i_out].revents) {
			if ((rc = drain(r, out_p[0])) < 0)
				goto out;
			if (rc == 1)
				close_fd(&out_p[0]);
			rc = 0;
		}
		if (i_pid < n && fds[i_pid].revents)
			exited = true;
	}
	while (waitpid(pid, &r->status, 0) < 0) {
		if (errno != EINTR) {
			rc = -errno;
			break;
		}
	}
	pid = -1;
out:
	if (pid > 0) {
		/* Both: the command may have left the group we made for it. */
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		while (waitpid(pid, &r->status, 0) < 0 && errno == EINTR)
			;
	}
	close_fd(&in_p[0]);
	close_fd(&in_p[1]);
	close_fd(&out_p[0]);
	close_fd(&out_p[1]);
	close_fd(&pidfd);
	while (sigtimedwait(&sigpipe, NULL, &no_wait) > 0)
		;
	pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
	return rc;
}

/* ---- the operation ---- */

/* What to call the command in logs: the program, or the shell text. */
static const char *what(const struct xcfg *c)
{
	return c->shell ? c->argv[2] : c->argv[0];
}

static struct xcfg *cfg_get(struct xstate *x)
{
	struct xcfg *c;

	pthread_mutex_lock(&x->lock);
	c = x->cfg;
	atomic_fetch_add(&c->refs, 1);
	pthread_mutex_unlock(&x->lock);
	return c;
}

static int exec_handler(void *state, orbit_call *call)
{
	struct xstate *x = state;
	struct xcfg *c = cfg_get(x);
	struct run r = { .cfg = c };
	orbit_payload out = { .format = ORBIT_FMT_UTF8, .message_type = "StringMessage" };
	char err[128];
	int rc;

	/* The raw payload, not input_string/reply_string: stdin and stdout
	 * are byte streams that may hold NULs, which NUL-terminated text would
	 * cut. The host hands string inputs over as UTF-8 bytes whatever format
	 * the core used (orbit/plugin.h). */
	r.in = (const char *)call->input.data;
	r.in_len = call->input.len;
	rc = run_command(&r);
	if (rc == -ETIMEDOUT) {
		x->api->log(x->h, 4, "%.80s: no result within %g s, killed", what(c), c->timeout);
		goto out;
	}
	if (rc) {
		x->api->log(x->h, 3, "%.80s: cannot run: %s", what(c),
			    strerror_r(-rc, err, sizeof err));
		goto out;
	}
	if (WIFEXITED(r.status) && WEXITSTATUS(r.status))
		x->api->log(x->h, 4, "%.80s: exited with status %d", what(c), WEXITSTATUS(r.status));
	else if (WIFSIGNALED(r.status))
		x->api->log(x->h, 4, "%.80s: killed by signal %d", what(c), WTERMSIG(r.status));
	if (r.truncated)
		x->api->log(x->h, 4, "%.80s: output cut at max_output (%zu bytes)", what(c),
			    c->max_output);
	out.data = (const uint8_t *)(r.out ? r.out : "");
	out.len = r.out_len;
	rc = x->api->reply(call, &out);
out:
	free(r.out);
	xcfg_unref(c);
	return rc;
}

static int exec_init(orbit_host *h, const orbit_host_api *api, void **state)
{
	struct xstate *x = malloc(sizeof *x);
	int rc;

	if (!x)
		return -ENOMEM;
	x->h = h;
	x->api = api;
	if (!(x->cfg = snapshot(x))) {
		rc = -errno;
		free(x);
		return rc;
	}
	if ((rc = pthread_mutex_init(&x->lock, NULL))) {
		xcfg_unref(x->cfg);
		free(x);
		return -rc;
	}
	*state = x;
	return 0;
}

static int exec_reload(void *state)
{
	struct xstate *x = state;
	struct xcfg *c = snapshot(x), *old;

	if (!c)
		return -errno;
	pthread_mutex_lock(&x->lock);
	old = x->cfg;
	x->cfg = c;
	pthread_mutex_unlock(&x->lock);
	xcfg_unref(old);
	return 0;
}

static void exec_shutdown(void *state)
{
	struct xstate *x = state;

	pthread_mutex_destroy(&x->lock);
	xcfg_unref(x->cfg);
	free(x);
}

static const orbit_cfg_key config[] = {
	{
		.name = "command",
		.type = ORBIT_CFG_STRINGS,
		.flags = ORBIT_CFG_REQUIRED | ORBIT_CFG_ONE_OK | ORBIT_CFG_MIN,
		.min = 1,
		.doc = "program and arguments, or one string for /bin/sh -c",
	},
	{
		.name = "timeout",
		.type = ORBIT_CFG_FLOAT,
		.flags = ORBIT_CFG_MIN,
		.def = "10",
		.min = 0.001,
		.doc = "seconds before the command's process group is killed",
	},
	{
		.name = "max_output",
		.type = ORBIT_CFG_INT,
		.flags = ORBIT_CFG_MIN | ORBIT_CFG_MAX,
		.def = "65536",
		/* The reply is one message held in memory. */
		.min = 1,
		.max = 1 << 30,
		.doc = "bytes of standard output kept; the rest is read and dropped",
	},
	{ 0 },
};

static const orbit_plugin_op ops[] = {
	{
		.name = "exec",
		.input = ORBIT_STRING,
		.output = ORBIT_STRING,
		.handler = exec_handler,
		.flags = ORBIT_OP_BLOCKING,
		.doc = "the command's standard output for the input on its standard input",
	},
};

ORBIT_PLUGIN_DEFINE("exec", "2.0.0", ops, config, exec_init, NULL, exec_reload, exec_shutdown);
