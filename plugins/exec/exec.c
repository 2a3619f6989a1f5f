/* exec — bundled plugin: operation "exec" runs a configured command with the
 * input string on its stdin and answers with what it printed on stdout (both
 * StringMessage). It is flagged ORBIT_OP_BLOCKING, so it runs on orbitd's
 * worker pool: several calls may run at once, and the loop never waits.
 *
 * Config:
 *   command     ["/bin/prog", "arg", ...] (run directly; a name without a
 *               slash is looked up in PATH) or "shell text" (run by
 *               /bin/sh -c); required
 *   timeout     seconds before the command's process group is killed
 *               (default 10); the call then fails with -ETIMEDOUT, no output
 *   max_output  bytes of stdout kept (default 65536); the rest is read and
 *               dropped so the command never stalls on a full pipe
 * A non-zero exit status is logged as a warning; stdout is still the reply.
 * The command's stderr is orbitd's, so its complaints land in orbitd's log.
 *
 * Threads: no static mutable state. The config is an immutable, refcounted
 * struct xcfg: a call takes a reference under the lock, and reload swaps in a
 * new one, so a running command keeps the config it started with.
 *
 * Ownership: the struct xstate made by init belongs to the plugin until
 * shutdown (the host runs shutdown only once no call is in flight); it
 * borrows the host handle and API table. Each struct xcfg is freed by its
 * last reference. Each call's input copy and output buffer are malloc'd here
 * and freed once api->reply has copied the output.
 */
#include "../common/json_scan.h"

#include <orbit/plugin.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_TIMEOUT 10.0
#define DEFAULT_MAX_OUTPUT 65536

struct xcfg {
	atomic_uint refs;
	char **argv;         /* NULL-terminated; argv and strings malloc'd */
	bool shell;          /* argv is /bin/sh -c argv[2] */
	double timeout;
	size_t max_output;
};

struct xstate {
	orbit_host *h;
	const orbit_host_api *api;
	pthread_mutex_t lock; /* guards cfg (the pointer, not the struct) */
	struct xcfg *cfg;
};

static void xcfg_unref(struct xcfg *c)
{
	if (!c || atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	for (char **a = c->argv; a && *a; a++)
		free(*a);
	free(c->argv);
	free(c);
}

/* ---- config parsing: a small strict JSON reader for exactly this shape ---- */


static int hex4(const char *p, unsigned *out)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -EINVAL;
	}
	*out = v;
	return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Decode the JSON string at *p into o (room for end - *p bytes: no escape
 * decodes to more bytes than it takes); *p moves past the closing quote.
 * "\u0000" is refused: argv strings cannot hold it. */
static int json_string(const char **p, const char *end, char *o, size_t *olen)
{
	const char *s;
	size_t n = 0;

	if (*p >= end || **p != '"')
		return -EINVAL;
	s = *p + 1;
	while (s < end && *s != '"') {
		unsigned char c = (unsigned char)*s++;
		unsigned cp, lo;

		if (c < 0x20)
			return -EINVAL;
		if (c != '\\') {
			o[n++] = (char)c;
			continue;
		}
		if (s >= end)
			return -EINVAL;
		switch (*s++) {
		case '"': o[n++] = '"'; break;
		case '\\': o[n++] = '\\'; break;
		case '/': o[n++] = '/'; break;
		case 'b': o[n++] = '\b'; break;
		case 'f': o[n++] = '\f'; break;
		case 'n': o[n++] = '\n'; break;
		case 'r': o[n++] = '\r'; break;
		case 't': o[n++] = '\t'; break;
		case 'u':
			if (end - s < 4 || hex4(s, &cp) || cp == 0)
				return -EINVAL;
			s += 4;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return -EINVAL;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (end - s < 6 || s[0] != '\\' || s[1] != 'u' || hex4(s + 2, &lo) ||
				    lo < 0xdc00 || lo > 0xdfff)
					return -EINVAL;
				s += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			n += put_utf8(o + n, cp);
			break;
		default:
			return -EINVAL;
		}
	}
	if (s >= end)
		return -EINVAL;
	*p = s + 1;
	*olen = n;
	return 0;
}

/* A NUL-terminated malloc'd copy of the JSON string at *p, or NULL. */
static char *dup_string(const char **p)
{
	const char *end = *p + strlen(*p);
	char *o = malloc((size_t)(end - *p) + 1);
	size_t n;

	if (!o || json_string(p, end, o, &n)) {
		free(o);
		return NULL;
	}
	o[n] = '\0';
	return o;
}


/* "command": a JSON array of strings or one shell string, at *p. */
static int parse_command(const char **p, struct xcfg *c, const char **why)
{
	const char *s = *p;
	size_t n = 0, cap = 4;
	char **argv;

	if (*s == '"') {
		if (!(argv = calloc(4, sizeof *argv)))
			return -ENOMEM;
		c->argv = argv;
		c->shell = true;
		if (!(argv[0] = strdup("/bin/sh")) || !(argv[1] = strdup("-c")))
			return -ENOMEM;
		if (!(argv[2] = dup_string(&s))) {
			*why = "\"command\" is not a valid JSON string";
			return -EINVAL;
		}
		if (!argv[2][0]) {
			*why = "\"command\" is empty";
			return -EINVAL;
		}
		*p = s;
		return 0;
	}
	if (*s != '[') {
		*why = "\"command\" must be an array of strings or a string";
		return -EINVAL;
	}
	if (!(argv = calloc(cap, sizeof *argv)))
		return -ENOMEM;
	c->argv = argv;
	s = skip_ws(s + 1);
	while (*s != ']') {
		if (n + 2 > cap) {
			char **grown = realloc(argv, cap * 2 * sizeof *argv);

			if (!grown)
				return -ENOMEM;
			memset(grown + cap, 0, cap * sizeof *argv);
			c->argv = argv = grown;
			cap *= 2;
		}
		if (*s != '"' || !(argv[n] = dup_string(&s))) {
			*why = "\"command\" array entries must be strings";
			return -EINVAL;
		}
		n++;
		s = skip_ws(s);
		if (*s == ',') {
			s = skip_ws(s + 1);
			if (*s != '"') {
				*why = "\"command\" array entries must be strings";
				return -EINVAL;
			}
		} else if (*s != ']') {
			*why = "\"command\" array is malformed";
			return -EINVAL;
		}
	}
	if (!n || !argv[0][0]) {
		*why = "\"command\" names no program";
		return -EINVAL;
	}
	*p = s + 1;
	return 0;
}

/* Parse the config JSON into a new xcfg (one reference), logging the first
 * problem. NULL with errno EINVAL or ENOMEM. */
static struct xcfg *parse_config(struct xstate *x, const char *json)
{
	static const char *const keys[] = { "command", "timeout", "max_output" };
	struct xcfg *c = calloc(1, sizeof *c);
	const char *p = skip_ws(json), *why = NULL, *end;
	unsigned seen = 0;
	int rc = -EINVAL;

	if (!c) {
		rc = -ENOMEM;
		goto fail;
	}
	atomic_init(&c->refs, 1);
	c->timeout = DEFAULT_TIMEOUT;
	c->max_output = DEFAULT_MAX_OUTPUT;
	if (*p != '{') {
		why = "expected an object with \"command\"";
		goto fail;
	}
	p = skip_ws(p + 1);
	while (*p != '}') {
		size_t k, klen;
		bool is_int;

		if (*p != '"' || !(end = strchr(p + 1, '"'))) {
			why = "malformed object";
			goto fail;
		}
		klen = (size_t)(end - p - 1);
		for (k = 0; k < sizeof keys / sizeof keys[0]; k++)
			if (strlen(keys[k]) == klen && !strncmp(p + 1, keys[k], klen))
				break;
		if (k == sizeof keys / sizeof keys[0]) {
			x->api->log(x->h, 3, "config: unknown key \"%.*s\" "
				    "(known: command, timeout, max_output)", (int)klen, p + 1);
			goto fail;
		}
		if (seen & (1u << k)) {
			x->api->log(x->h, 3, "config: \"%s\" given twice", keys[k]);
			goto fail;
		}
		seen |= 1u << k;
		p = skip_ws(end + 1);
		if (*p != ':') {
			why = "malformed object";
			goto fail;
		}
		p = skip_ws(p + 1);
		if (k == 0) {
			if ((rc = parse_command(&p, c, &why)))
				goto fail;
		} else if (!(end = scan_number(p, &is_int))) {
			x->api->log(x->h, 3, "config: \"%s\" must be a number", keys[k]);
			goto fail;
		} else if (k == 1) {
			errno = 0;
			c->timeout = strtod(p, NULL);
			if (errno == ERANGE || !isfinite(c->timeout) || c->timeout <= 0) {
				why = "\"timeout\" must be a positive number of seconds";
				goto fail;
			}
			p = end;
		} else {
			unsigned long long v;

			errno = 0;
			v = is_int && *p != '-' ? strtoull(p, NULL, 10) : 0;
			if (!v || errno == ERANGE || v > SIZE_MAX / 2) {
				why = "\"max_output\" must be a positive integer (bytes)";
				goto fail;
			}
			c->max_output = (size_t)v;
			p = end;
		}
		p = skip_ws(p);
		if (*p == ',') {
			p = skip_ws(p + 1);
			if (*p != '"') {
				why = "malformed object";
				goto fail;
			}
		} else if (*p != '}') {
			why = "malformed object";
			goto fail;
		}
	}
	if (*skip_ws(p + 1)) {
		why = "text after the object";
		goto fail;
	}
	if (!c->argv) {
		why = "\"command\" is required";
		goto fail;
	}
	return c;
fail:
	if (!rc)
		rc = -EINVAL;
	if (why)
		x->api->log(x->h, 3, "config: %s (got %s)", why, json);
	else if (rc == -ENOMEM)
		x->api->log(x->h, 3, "config: out of memory");
	xcfg_unref(c);
	errno = -rc;
	return NULL;
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

	/* The host hands string inputs over as UTF-8 bytes (orbit/plugin.h). */
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
	if (!(x->cfg = parse_config(x, api->config(h)))) {
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

static int exec_reload(void *state, const char *config_json)
{
	struct xstate *x = state;
	struct xcfg *c = parse_config(x, config_json), *old;

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

static const orbit_plugin_op ops[] = {
	{
		.name = "exec",
		.input = { ORBIT_IO_STRING, NULL },
		.output = { ORBIT_IO_STRING, NULL },
		.handler = exec_handler,
		.flags = ORBIT_OP_BLOCKING,
	},
};

ORBIT_PLUGIN_DEFINE("exec", "1.0.0", ops, exec_init, NULL, exec_reload, exec_shutdown);
