/* misbehave — test plugin: every way a plugin can take its host down, for
 * the process-isolation suite (tests/integration/test_isolation.c). Run
 * in-process (isolation: none, or orbitd --try) each mode does to orbitd
 * what it says; isolated, orbitd must survive it, name it and restart the
 * plugin.
 *
 * Config:
 *   mode (required): segv, abort_init, exit_start, spin, spin_timer, hang,
 *        hog, forkbomb, closesock, garbage, slow, hang_shutdown or
 *        exit_poke (below);
 *   armed_file: a path; the plugin misbehaves only while that file exists,
 *        checked at the moment of misbehaving (unset: never armed), so a
 *        test lets a restart succeed by deleting it. slow ignores it.
 *
 * Operations:
 *   poke (string -> string, loop thread): unarmed, replies the input
 *        upper-cased;
 *   wait (string -> string, ORBIT_OP_BLOCKING): unarmed, replies the input.
 *
 * Modes, when armed:
 *   segv        poke writes through a NULL pointer;
 *   abort_init  init() calls abort();
 *   exit_start  start() calls exit(0);
 *   spin        poke loops forever;
 *   spin_timer  start() arms a 0.2 s one-shot host timer whose callback
 *               loops forever: no handler runs, only a liveness ping can
 *               notice;
 *   hang        wait blocks forever (a read on a pipe nobody writes);
 *   hog         poke mallocs and fills 1 MiB chunks until malloc fails,
 *               then abort()s, as xmalloc would;
 *   forkbomb    poke forks children that pause() until fork fails, then
 *               replies the number it made (at most FORK_CAP; each child
 *               also dies of SIGALRM after CHILD_LIFE s, so a host that
 *               fails to kill them leaks them for a minute, not for good);
 *   closesock   poke closes every descriptor >= 3, as a careless
 *               daemonising library would, and returns without a reply;
 *   garbage     poke writes 64 random bytes to its socket to orbitd (the
 *               descriptors >= 3 that are sockets whose peer is another
 *               process; when none is, every socket >= 3) and returns
 *               without a reply;
 *   slow        (always) wait sleeps 200 ms, then replies the input;
 *   hang_shutdown  the shutdown hook blocks forever (a read on a pipe
 *               nobody writes), before it frees anything;
 *   exit_poke   poke calls exit(0), as a library that "handles" an error
 *               by exiting would.
 *
 * Threads: poke, init, start and the timer run on the loop thread; wait on
 * a worker. The state is written by init and reload only; the workers read
 * the mode and the path, which reload replaces under the lock.
 *
 * Ownership: the state made by init is the plugin's until shutdown; the
 * chunks hog allocates are never freed (the process dies of them); forked
 * children are left to the host (or to SIGALRM).
 */
#include <orbit/plugin.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOG_WARNING 4
#define LOG_INFO 6

#define CHUNK (1u << 20)
#define FORK_CAP 256   /* a safety net for a host without limits (as root) */
#define CHILD_LIFE 60  /* s */

enum mode {
	M_SEGV,
	M_ABORT_INIT,
	M_EXIT_START,
	M_SPIN,
	M_SPIN_TIMER,
	M_HANG,
	M_HOG,
	M_FORKBOMB,
	M_CLOSESOCK,
	M_GARBAGE,
	M_SLOW,
	M_HANG_SHUTDOWN,
	M_EXIT_POKE,
};

static const char *const mode_names[] = {
	[M_SEGV] = "segv",           [M_ABORT_INIT] = "abort_init", [M_EXIT_START] = "exit_start",
	[M_SPIN] = "spin",           [M_SPIN_TIMER] = "spin_timer", [M_HANG] = "hang",
	[M_HOG] = "hog",             [M_FORKBOMB] = "forkbomb",     [M_CLOSESOCK] = "closesock",
	[M_GARBAGE] = "garbage",     [M_SLOW] = "slow",             [M_HANG_SHUTDOWN] = "hang_shutdown",
	[M_EXIT_POKE] = "exit_poke", NULL,
};

struct mb {
	orbit_host *h;
	const orbit_host_api *api;
	pthread_mutex_t lock;   /* mode and armed against the workers */
	enum mode mode;
	char armed[PATH_MAX];   /* "" : never armed */
	orbit_host_timer *timer;
};

/* hog's chunks, chained through their first word: reachable, so neither
 * the compiler nor a leak checker may take them away. */
static void *volatile g_hog;

static int read_config(struct mb *s)
{
	const char *m = s->api->config_string(s->h, "mode");
	const char *a = s->api->config_string(s->h, "armed_file");
	size_t i;

	for (i = 0; mode_names[i]; i++)
		if (m && strcmp(m, mode_names[i]) == 0)
			break;
	if (!mode_names[i])
		return -EINVAL;
	if (a && strlen(a) >= sizeof s->armed)
		return -ENAMETOOLONG;
	pthread_mutex_lock(&s->lock);
	s->mode = (enum mode)i;
	snprintf(s->armed, sizeof s->armed, "%s", a ? a : "");
	pthread_mutex_unlock(&s->lock);
	return 0;
}

/* The mode, and whether the armed file exists now. Any thread. */
static enum mode armed(struct mb *s, int *on)
{
	char path[PATH_MAX];
	enum mode m;

	pthread_mutex_lock(&s->lock);
	m = s->mode;
	memcpy(path, s->armed, sizeof path);
	pthread_mutex_unlock(&s->lock);
	*on = path[0] && access(path, F_OK) == 0;
	return m;
}

/* A real store through NULL, not UBSan's report of it (SANITIZE=1 builds
 * would exit with status 1 before the signal). */
__attribute__((no_sanitize("undefined"))) static void segv(void)
{
	volatile int *volatile p = NULL;

	*p = 1;
}

/* Block forever: a read on a pipe whose write end stays open. */
static int block_forever(void)
{
	int p[2];
	char c;

	if (pipe(p) < 0)
		return -errno;
	for (;;)
		if (read(p[0], &c, 1) != -1 || errno != EINTR)
			break;
	/* Never here: the write end is open. */
	close(p[0]);
	close(p[1]);
	return -EIO;
}

static void spin(void)
{
	volatile unsigned long n = 0;

	for (;;)
		n++;
}

static void hog(void)
{
	for (;;) {
		void **c = malloc(CHUNK);

		if (!c)
			abort();
		memset(c, 0xa5, CHUNK);
		*c = g_hog;
		g_hog = c;
	}
}

static int forkbomb(void)
{
	int n = 0;

	while (n < FORK_CAP) {
		pid_t pid = fork();

		if (pid < 0)
			break;
		if (pid == 0) {
			alarm(CHILD_LIFE);
			for (;;)
				pause();
		}
		n++;
	}
	return n;
}

static void closesock(void)
{
	long max = sysconf(_SC_OPEN_MAX);

	if (max < 0 || max > 65536)
		max = 65536;
	for (int fd = 3; fd < max; fd++)
		close(fd);
}

/* A socket whose peer is this process is one of its own (an event loop's
 * wake-up pair): not the line to orbitd when another one exists. */
static int peer_is_other(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof cr;

	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0 && cr.pid != getpid();
}

static int garbage(struct mb *s)
{
	int fds[256], n = 0, others = 0, wrote = 0;
	unsigned char junk[64];
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	if (!d)
		return -errno;
	while ((e = readdir(d)) && n < (int)(sizeof fds / sizeof fds[0])) {
		struct stat st;
		int fd = atoi(e->d_name);

		if (fd < 3 || fd == dirfd(d) || fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode))
			continue;
		fds[n++] = fd;
		others += peer_is_other(fd);
	}
	closedir(d);
	for (size_t i = 0; i < sizeof junk;) {
		ssize_t r = getrandom(junk + i, sizeof junk - i, 0);

		if (r > 0)
			i += (size_t)r;
	}
	for (int i = 0; i < n; i++)
		if (!others || peer_is_other(fds[i]))
			wrote += write(fds[i], junk, sizeof junk) == (ssize_t)sizeof junk;
	s->api->log(s->h, LOG_WARNING, "garbage: 64 random bytes to %d of %d sockets", wrote, n);
	return 0;
}

static int poke(void *state, orbit_call *call)
{
	struct mb *s = state;
	int on;
	enum mode m = armed(s, &on);
	const char *in;
	char *out, num[32];
	int rc;

	if (on) {
		switch (m) {
		case M_SEGV:
			segv();
			break;
		case M_SPIN:
			spin();
			break;
		case M_HOG:
			hog();
			break;
		case M_FORKBOMB:
			snprintf(num, sizeof num, "%d", forkbomb());
			s->api->log(s->h, LOG_WARNING, "forkbomb: %s children", num);
			return s->api->reply_string(call, num);
		case M_CLOSESOCK:
			closesock();
			return 0;
		case M_GARBAGE:
			return garbage(s);
		case M_EXIT_POKE:
			exit(0);
		default:
			break;
		}
	}
	in = s->api->input_string(call);
	if (!in || !(out = strdup(in)))
		return -errno;
	for (char *c = out; *c; c++)
		if (*c >= 'a' && *c <= 'z')
			*c = (char)(*c - 'a' + 'A');
	rc = s->api->reply_string(call, out);
	free(out);
	return rc;
}

static int wait_op(void *state, orbit_call *call)
{
	struct mb *s = state;
	int on;
	enum mode m = armed(s, &on);

	if (m == M_SLOW) {
		struct timespec left = {0, 200 * 1000 * 1000};

		while (nanosleep(&left, &left) < 0 && errno == EINTR)
			;
	} else if (m == M_HANG && on) {
		int rc = block_forever();

		if (rc < 0)
			return rc;
	}
	return s->api->reply(call, &call->input);
}

static void spin_cb(void *arg)
{
	struct mb *s = arg;
	int on;

	s->timer = NULL; /* one-shot: freed by the host as it fires */
	armed(s, &on);
	if (on)
		spin();
	s->api->log(s->h, LOG_INFO, "spin_timer: not armed, timer returns");
}

static int mb_init(orbit_host *h, const orbit_host_api *api, void **state)
{
	struct mb *s = calloc(1, sizeof *s);
	int rc, on;

	if (!s)
		return -ENOMEM;
	s->h = h;
	s->api = api;
	pthread_mutex_init(&s->lock, NULL);
	if ((rc = read_config(s)) < 0) {
		pthread_mutex_destroy(&s->lock);
		free(s);
		return rc;
	}
	if (armed(s, &on) == M_ABORT_INIT && on)
		abort();
	*state = s;
	return 0;
}

static int mb_start(void *state)
{
	struct mb *s = state;
	int on;
	enum mode m = armed(s, &on);

	if (m == M_EXIT_START && on)
		exit(0);
	if (m == M_SPIN_TIMER && !(s->timer = s->api->timer_add(s->h, 0.2, 0, spin_cb, s)))
		return -errno;
	return 0;
}

static int mb_reload(void *state)
{
	return read_config(state);
}

static void mb_shutdown(void *state)
{
	struct mb *s = state;
	int on;

	if (armed(s, &on) == M_HANG_SHUTDOWN && on) {
		s->api->log(s->h, LOG_WARNING, "hang_shutdown: shutdown blocks forever");
		block_forever();
	}
	s->api->timer_cancel(s->h, s->timer);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static const orbit_cfg_key config[] = {
	{.name = "mode", .type = ORBIT_CFG_STRING, .flags = ORBIT_CFG_REQUIRED,
	 .choices = mode_names, .doc = "how to misbehave"},
	{.name = "armed_file", .type = ORBIT_CFG_STRING,
	 .doc = "misbehave only while this file exists (unset: never)"},
	{0},
};

static const orbit_plugin_op ops[] = {
	{
		.name = "poke",
		.input = ORBIT_STRING,
		.output = ORBIT_STRING,
		.handler = poke,
		.doc = "misbehaves per mode; else the input upper-cased",
	},
	{
		.name = "wait",
		.input = ORBIT_STRING,
		.output = ORBIT_STRING,
		.handler = wait_op,
		.flags = ORBIT_OP_BLOCKING,
		.doc = "hang: blocks forever; slow: 200 ms; else the input",
	},
};

ORBIT_PLUGIN_DEFINE("misbehave", "1.0.0", ops, config, mb_init, mb_start, mb_reload,
		    mb_shutdown);
