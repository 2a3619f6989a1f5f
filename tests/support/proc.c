/* proc.c — child processes for integration tests: start, capture output as
 * lines, wait for a line or for exit with a deadline, kill and reap.
 *
 * Waiting is poll() on the output pipe and on a pidfd for the exit, with the
 * remaining time as timeout. An exited child is observed with
 * waitid(WNOWAIT) and only reaped in test_proc_free, so its pid and process
 * group id cannot be reused while the test may still signal them.
 */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define READ_CHUNK 65536
/* Per read_fd call, so that a child writing without pause cannot keep a
 * wait from checking its deadline. */
#define READ_LIMIT (1024 * 1024)
/* Exit polling step, only without pidfds (kernels before 5.3). */
#define EXIT_POLL_MS 10

/* A growing byte buffer, always NUL-terminated once data is non-NULL. */
struct obuf {
	char *data;
	size_t len, cap;
};

struct test_proc {
	char *name;
	pid_t pid;        /* the child; reaped only in test_proc_free */
	int out_fd;       /* read end of stdout+stderr, -1 after EOF */
	int pid_fd;       /* pidfd, or -1 */
	bool exited;
	int status;       /* wait status, once exited */
	bool verbose;     /* echo lines to stderr */
	struct obuf out;  /* everything captured */
	size_t done;      /* end of the complete lines in out */
	size_t cursor;    /* test_proc_wait_line resumes here (a line start) */
};

/* What read_fd found. */
enum { READ_EOF, READ_AGAIN, READ_LIMITED };

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t deadline_after(double timeout_s)
{
	if (!(timeout_s > 0))
		timeout_s = 0;
	if (timeout_s > 1e6)
		timeout_s = 1e6;
	return now_ns() + (int64_t)(timeout_s * 1e9);
}

/* Milliseconds left until deadline, rounded up so that a wait never ends
 * just before it; 0 when it has passed. */
static int remaining_ms(int64_t deadline)
{
	int64_t left = deadline - now_ns();
	if (left <= 0)
		return 0;
	int64_t ms = (left + 999999) / 1000000;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

static int obuf_reserve(struct obuf *b, size_t n)
{
	if (b->data && b->cap - b->len > n)
		return 0;
	size_t cap = b->cap ? b->cap : READ_CHUNK;
	while (cap - b->len <= n)
		cap *= 2;
	char *grown = realloc(b->data, cap);
	if (!grown)
		return -ENOMEM;
	if (!b->data)
		grown[0] = '\0';
	b->data = grown;
	b->cap = cap;
	return 0;
}

/* Read what fd (non-blocking) has now into b, up to READ_LIMIT bytes.
 * Returns READ_EOF, READ_AGAIN (nothing more for now), READ_LIMITED (maybe
 * more), or -errno. */
static int read_fd(int fd, struct obuf *b)
{
	for (size_t got = 0; got < READ_LIMIT;) {
		if (obuf_reserve(b, READ_CHUNK) < 0)
			return -ENOMEM;
		ssize_t r = read(fd, b->data + b->len, READ_CHUNK);
		if (r > 0) {
			b->len += (size_t)r;
			b->data[b->len] = '\0';
			got += (size_t)r;
		} else if (r == 0) {
			return READ_EOF;
		} else if (errno == EAGAIN) {
			return READ_AGAIN;
		} else if (errno != EINTR) {
			return -errno;
		}
	}
	return READ_LIMITED;
}

/* Write to a pipe whose reader may be gone without dying of SIGPIPE: the
 * signal is blocked in this thread and, if the write raised it, consumed. */
static ssize_t write_nosigpipe(int fd, const void *data, size_t len)
{
	sigset_t pipe_set, old, pending;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigpending(&pending);
	bool was_pending = sigismember(&pending, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	ssize_t w = write(fd, data, len);
	int err = errno;
	if (w < 0 && err == EPIPE && !was_pending) {
		struct timespec zero = { 0, 0 };
		sigtimedwait(&pipe_set, NULL, &zero);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = err;
	return w;
}

static size_t key_len(const char *entry)
{
	return strcspn(entry, "=");
}

static bool same_key(const char *a, const char *b)
{
	size_t n = key_len(a);
	return n == key_len(b) && !memcmp(a, b, n);
}

/* environ with extra applied (see test_proc_start); a malloc'd array of
 * borrowed strings. */
static char **build_env(char *const extra[])
{
	size_t n_env = 0, n_extra = 0;
	while (environ && environ[n_env])
		n_env++;
	while (extra && extra[n_extra])
		n_extra++;
	char **env = malloc((n_env + n_extra + 1) * sizeof(*env));
	if (!env)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n_env; i++) {
		bool replaced = false;
		for (size_t j = 0; j < n_extra && !replaced; j++)
			replaced = same_key(environ[i], extra[j]);
		if (!replaced)
			env[k++] = environ[i];
	}
	for (size_t j = 0; j < n_extra; j++) {
		bool later = false;
		for (size_t l = j + 1; l < n_extra && !later; l++)
			later = same_key(extra[j], extra[l]);
		if (!later && strchr(extra[j], '='))
			env[k++] = extra[j];
	}
	env[k] = NULL;
	return env;
}

/* Child side of spawn: async-signal-safe calls only (the test may have
 * threads). Reports a failure as an errno through err_fd. */
static void exec_child(pid_t parent, char *const argv[], char **envp, int in, int out, int errout,
		       int err_fd)
{
	int err;
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		goto fail;
	/* The parent may have died before prctl; then nobody would kill us. */
	if (getppid() != parent) {
		errno = ESRCH;
		goto fail;
	}
	if (setpgid(0, 0) < 0)
		goto fail;
	/* Copies above 2 first, so that no dup2 below overwrites a source. */
	int fds[3] = { fcntl(in, F_DUPFD, 3), fcntl(out, F_DUPFD, 3), fcntl(errout, F_DUPFD, 3) };
	int report = fcntl(err_fd, F_DUPFD_CLOEXEC, 3);
	if (fds[0] < 0 || fds[1] < 0 || fds[2] < 0 || report < 0)
		goto fail;
	err_fd = report;
	for (int i = 0; i < 3; i++)
		if (dup2(fds[i], i) < 0)
			goto fail;
	if ((err_fd > 3 && close_range(3, (unsigned)err_fd - 1, 0) < 0) ||
	    close_range((unsigned)err_fd + 1, ~0U, 0) < 0)
		goto fail;
	execve(argv[0], argv, envp);
fail:
	err = errno;
	while (write(err_fd, &err, sizeof(err)) < 0 && errno == EINTR)
		;
	_exit(127);
}

/* Fork and exec argv with in/out/errout as fds 0/1/2. Returns the pid once
 * exec succeeded, or -errno (the failed child is reaped). */
static pid_t spawn(char *const argv[], char **envp, int in, int out, int errout)
{
	int p[2];
	if (!argv || !argv[0])
		return -EINVAL;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0)
		exec_child(parent, argv, envp, in, out, errout, p[1]);
	int rc = pid < 0 ? -errno : 0;
	close(p[1]);
	if (pid > 0) {
		int err;
		ssize_t r;
		do
			r = read(p[0], &err, sizeof(err));
		while (r < 0 && errno == EINTR);
		if (r == (ssize_t)sizeof(err)) {
			rc = -err;
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
		} else if (r != 0) {
			rc = r < 0 ? -errno : -EIO;
			kill(pid, SIGKILL);
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
		}
	}
	close(p[0]);
	return rc < 0 ? rc : pid;
}

/* Whether pid has exited, without reaping it; sets *status if so. */
static bool has_exited(pid_t pid, int *status)
{
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid != pid)
		return false;
	switch (si.si_code) {
	case CLD_EXITED:
		*status = W_EXITCODE(si.si_status & 0xff, 0);
		break;
	case CLD_DUMPED:
		*status = (si.si_status & 0x7f) | WCOREFLAG;
		break;
	default:
		*status = si.si_status & 0x7f;
		break;
	}
	return true;
}

/* Kill what is left of pid's process group and pid itself, then reap pid. */
static void kill_and_reap(pid_t pid)
{
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

static void echo_lines(const struct test_proc *p, size_t from, size_t to)
{
	while (from < to) {
		const char *s = p->out.data + from;
		const char *nl = memchr(s, '\n', to - from);
		size_t n = nl ? (size_t)(nl - s) : to - from;
		fprintf(stderr, "[%s] %.*s\n", p->name, (int)n, s);
		from += n + 1;
	}
}

/* Read what the output pipe has now (all of it when drain) and update the
 * line bookkeeping. */
static void read_output(struct test_proc *p, bool drain)
{
	int r = READ_LIMITED;
	size_t old = p->out.len;
	while (p->out_fd >= 0 && r == READ_LIMITED) {
		r = read_fd(p->out_fd, &p->out);
		if (!drain && r == READ_LIMITED)
			r = READ_AGAIN;
	}
	if (p->out.len > old) {
		const char *nl = memrchr(p->out.data + old, '\n', p->out.len - old);
		if (nl) {
			size_t end = (size_t)(nl - p->out.data) + 1;
			if (p->verbose)
				echo_lines(p, p->done, end);
			p->done = end;
		}
	}
	if (r == READ_EOF || r < 0) {
		if (r < 0)
			fprintf(stderr, "test_proc %s: reading output: %s\n", p->name, strerror(-r));
		close(p->out_fd);
		p->out_fd = -1;
		if (p->verbose)
			echo_lines(p, p->done, p->out.len);
		p->done = p->out.len;
	}
}

/* Wait up to ms for output (or, with for_exit, for the exit), then read. */
static void wait_event(struct test_proc *p, int ms, bool for_exit)
{
	struct pollfd fds[2];
	nfds_t n = 0;
	if (p->out_fd >= 0)
		fds[n++] = (struct pollfd){ .fd = p->out_fd, .events = POLLIN };
	if (for_exit && p->pid_fd >= 0)
		fds[n++] = (struct pollfd){ .fd = p->pid_fd, .events = POLLIN };
	else if (for_exit && ms > EXIT_POLL_MS)
		ms = EXIT_POLL_MS;
	if (!n && !for_exit)
		return;
	poll(n ? fds : NULL, n, ms);
	read_output(p, false);
}

/* The complete line at or after from containing needle: [*start, *end). */
static bool find_line(const struct test_proc *p, const char *needle, size_t from, size_t *start,
		      size_t *end)
{
	size_t nlen = strlen(needle);
	while (from < p->done) {
		const char *s = p->out.data + from;
		const char *nl = memchr(s, '\n', p->done - from);
		size_t n = nl ? (size_t)(nl - s) : p->done - from;
		if (memmem(s, n, needle, nlen)) {
			*start = from;
			*end = from + n;
			return true;
		}
		from += n + 1;
	}
	return false;
}

/* Wait until timeout_s for a line after from containing needle. */
static bool wait_for(struct test_proc *p, const char *needle, size_t from, double timeout_s,
		     size_t *start, size_t *end)
{
	int64_t deadline = deadline_after(timeout_s);
	for (;;) {
		read_output(p, false);
		if (find_line(p, needle, from, start, end))
			return true;
		from = p->done;
		int ms = remaining_ms(deadline);
		if (p->out_fd < 0 || ms == 0)
			return false;
		wait_event(p, ms, false);
	}
}

struct test_proc *test_proc_start(const char *name, char *const argv[], char *const env[])
{
	int pfd[2] = { -1, -1 };
	int null = -1;
	char **envp = NULL;
	int rc = 0;
	struct test_proc *p = calloc(1, sizeof(*p));
	if (!p) {
		rc = -ENOMEM;
		goto out;
	}
	p->out_fd = p->pid_fd = -1;
	p->name = strdup(name ? name : (argv && argv[0] ? argv[0] : "?"));
	envp = build_env(env);
	if (!p->name || !envp || obuf_reserve(&p->out, 0) < 0) {
		rc = -ENOMEM;
		goto out;
	}
	const char *verbose = getenv("TEST_VERBOSE");
	p->verbose = verbose && *verbose;
	null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null < 0 || pipe2(pfd, O_CLOEXEC) < 0) {
		rc = -errno;
		goto out;
	}
	pid_t pid = spawn(argv, envp, null, pfd[1], pfd[1]);
	if (pid < 0) {
		rc = (int)pid;
		goto out;
	}
	p->pid = pid;
	p->out_fd = pfd[0];
	pfd[0] = -1;
	if (fcntl(p->out_fd, F_SETFL, O_NONBLOCK) < 0) {
		rc = -errno;
		goto out;
	}
	p->pid_fd = pidfd_open(pid, 0);
out:
	if (null >= 0)
		close(null);
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	free(envp);
	if (rc < 0) {
		fprintf(stderr, "test_proc_start %s (%s): %s\n", name ? name : "",
			argv && argv[0] ? argv[0] : "(no argv)", strerror(-rc));
		test_proc_free(p);
		errno = -rc;
		return NULL;
	}
	return p;
}

char *test_proc_wait_line(struct test_proc *p, const char *needle, double timeout_s)
{
	size_t start, end;
	if (wait_for(p, needle, p->cursor, timeout_s, &start, &end)) {
		char *line = malloc(end - start + 1);
		if (line) {
			memcpy(line, p->out.data + start, end - start);
			line[end - start] = '\0';
		}
		p->cursor = end < p->out.len ? end + 1 : end;
		return line;
	}
	fprintf(stderr,
		"test_proc %s (pid %d): no line containing \"%s\" after offset %zu within %.3g s (%s); "
		"output so far:\n",
		p->name, (int)p->pid, needle, p->cursor, timeout_s,
		p->out_fd < 0 ? "output closed" : "timed out");
	fwrite(p->out.data, 1, p->out.len, stderr);
	if (p->out.len && p->out.data[p->out.len - 1] != '\n')
		fputc('\n', stderr);
	fprintf(stderr, "---- end of %s output\n", p->name);
	return NULL;
}

void test_proc_mark(struct test_proc *p)
{
	read_output(p, false);
	p->cursor = p->done;
}

bool test_proc_seen(struct test_proc *p, const char *needle, double timeout_s)
{
	size_t start, end;
	return wait_for(p, needle, 0, timeout_s, &start, &end);
}

size_t test_proc_count(struct test_proc *p, const char *needle)
{
	size_t n = 0, start, end, from = 0;
	read_output(p, false);
	while (find_line(p, needle, from, &start, &end)) {
		n++;
		from = end + 1;
	}
	return n;
}

const char *test_proc_output(struct test_proc *p)
{
	read_output(p, false);
	return p->out.data;
}

int test_proc_signal(struct test_proc *p, int sig)
{
	return kill(p->pid, sig) < 0 ? -errno : 0;
}

pid_t test_proc_pid(const struct test_proc *p)
{
	return p->pid;
}

int test_proc_wait_exit(struct test_proc *p, double timeout_s)
{
	int64_t deadline = deadline_after(timeout_s);
	for (;;) {
		read_output(p, false);
		if (p->exited || has_exited(p->pid, &p->status)) {
			p->exited = true;
			/* Everything it wrote is in the pipe by now. */
			read_output(p, true);
			return p->status;
		}
		int ms = remaining_ms(deadline);
		if (ms == 0)
			return -1;
		wait_event(p, ms, true);
	}
}

void test_proc_free(struct test_proc *p)
{
	if (!p)
		return;
	if (p->pid > 0)
		kill_and_reap(p->pid);
	if (p->out_fd >= 0)
		close(p->out_fd);
	if (p->pid_fd >= 0)
		close(p->pid_fd);
	free(p->out.data);
	free(p->name);
	free(p);
}

/* test_run's state: the child's pipes and what came out of them. */
struct run {
	int in_fd, out_fd, err_fd, pid_fd; /* -1 when closed */
	const char *input;
	size_t input_len, input_off;
	struct obuf out, err;
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Read fd into b (all of it when drain); close fd at EOF or error. */
static void run_read(int *fd, struct obuf *b, bool drain)
{
	int r = READ_LIMITED;
	while (*fd >= 0 && r == READ_LIMITED) {
		r = read_fd(*fd, b);
		if (!drain && r == READ_LIMITED)
			r = READ_AGAIN;
	}
	if (r == READ_EOF || r < 0) {
		if (r < 0)
			fprintf(stderr, "test_run: reading output: %s\n", strerror(-r));
		close_fd(fd);
	}
}

static void run_write(struct run *r)
{
	while (r->in_fd >= 0 && r->input_off < r->input_len) {
		ssize_t w = write_nosigpipe(r->in_fd, r->input + r->input_off, r->input_len - r->input_off);
		if (w > 0)
			r->input_off += (size_t)w;
		else if (w < 0 && errno == EAGAIN)
			return;
		else if (w == 0 || errno != EINTR)
			break; /* EPIPE: it stopped reading, which is its business */
	}
	close_fd(&r->in_fd);
}

/* Wait up to ms for one of r's descriptors, then move data. */
static void run_step(struct run *r, int ms)
{
	struct pollfd fds[4];
	nfds_t n = 0;
	if (r->in_fd >= 0)
		fds[n++] = (struct pollfd){ .fd = r->in_fd, .events = POLLOUT };
	if (r->out_fd >= 0)
		fds[n++] = (struct pollfd){ .fd = r->out_fd, .events = POLLIN };
	if (r->err_fd >= 0)
		fds[n++] = (struct pollfd){ .fd = r->err_fd, .events = POLLIN };
	if (r->pid_fd >= 0)
		fds[n++] = (struct pollfd){ .fd = r->pid_fd, .events = POLLIN };
	else if (ms > EXIT_POLL_MS)
		ms = EXIT_POLL_MS;
	poll(n ? fds : NULL, n, ms);
	run_write(r);
	run_read(&r->out_fd, &r->out, false);
	run_read(&r->err_fd, &r->err, false);
}

/* Hand b to *dst (NUL-terminated), or free it when dst is NULL. */
static void give(struct obuf *b, char **dst)
{
	if (dst)
		*dst = b->data;
	else
		free(b->data);
	b->data = NULL;
}

int test_run(char *const argv[], char *const env[], const char *input, double timeout_s, char **out,
	     char **err)
{
	struct run r = { .in_fd = -1, .out_fd = -1, .err_fd = -1, .pid_fd = -1, .input = input };
	int in[2] = { -1, -1 }, o[2] = { -1, -1 }, e[2] = { -1, -1 };
	int status = -1;
	int rc = 0;
	pid_t pid = -1;
	int64_t deadline = deadline_after(timeout_s);
	char **envp = build_env(env);
	if (!envp || obuf_reserve(&r.out, 0) < 0 || obuf_reserve(&r.err, 0) < 0) {
		rc = -ENOMEM;
		goto out;
	}
	if (input) {
		r.input_len = strlen(input);
		if (pipe2(in, O_CLOEXEC) < 0) {
			rc = -errno;
			goto out;
		}
	} else if ((in[0] = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
		rc = -errno;
		goto out;
	}
	if (pipe2(o, O_CLOEXEC) < 0 || pipe2(e, O_CLOEXEC) < 0) {
		rc = -errno;
		goto out;
	}
	pid = spawn(argv, envp, in[0], o[1], e[1]);
	if (pid < 0) {
		rc = (int)pid;
		goto out;
	}
	r.in_fd = in[1];
	r.out_fd = o[0];
	r.err_fd = e[0];
	in[1] = o[0] = e[0] = -1;
	close_fd(&in[0]);
	close_fd(&o[1]);
	close_fd(&e[1]);
	if ((r.in_fd >= 0 && fcntl(r.in_fd, F_SETFL, O_NONBLOCK) < 0) ||
	    fcntl(r.out_fd, F_SETFL, O_NONBLOCK) < 0 || fcntl(r.err_fd, F_SETFL, O_NONBLOCK) < 0) {
		rc = -errno;
		goto out;
	}
	r.pid_fd = pidfd_open(pid, 0);
	run_write(&r);
	for (;;) {
		if (has_exited(pid, &status)) {
			run_read(&r.out_fd, &r.out, true);
			run_read(&r.err_fd, &r.err, true);
			break;
		}
		int ms = remaining_ms(deadline);
		if (ms == 0) {
			fprintf(stderr, "test_run %s: no exit within %.3g s, killed\n", argv[0], timeout_s);
			break;
		}
		run_step(&r, ms);
	}
out:
	if (pid > 0)
		kill_and_reap(pid);
	if (rc < 0) {
		fprintf(stderr, "test_run %s: %s\n", argv && argv[0] ? argv[0] : "(no argv)",
			strerror(-rc));
		free(r.out.data);
		free(r.err.data);
		r.out.data = r.err.data = NULL;
	}
	for (int i = 0; i < 2; i++) {
		close_fd(&in[i]);
		close_fd(&o[i]);
		close_fd(&e[i]);
	}
	close_fd(&r.in_fd);
	close_fd(&r.out_fd);
	close_fd(&r.err_fd);
	close_fd(&r.pid_fd);
	free(envp);
	give(&r.out, out);
	give(&r.err, err);
	return status;
}

long test_proc_status_kb(pid_t pid, const char *key)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	long kb = -1;
	size_t klen = strlen(key);
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			kb = strtol(line + klen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}
