/* shutpost — test plugin for the host API around a plugin's end: what
 * api->post(), timer_add() and watch() do once the host released the plugin
 * (daemon stop, removal of its file, upgrade), from the shutdown hook, from
 * the plugin's own thread and from the loop just before release.
 *
 * Everything it learns goes to the daemon's log through api->log, for the
 * test (tests/integration/test_plugin_shutdown.c) to read:
 *   "posted ran: TAG"            a posted function ran (TAG says who posted)
 *   "init: post -> RC"           a post while alive (must run)
 *   "shutdown: post -> RC"       post from the shutdown hook
 *   "shutdown: timer_add -> ..." / "shutdown: watch -> ..." and their errno
 *   "shutdown: thread post -> RC" the plugin's thread posted during shutdown
 *   "thread: post after release -> RC" the thread posted again after the
 *                                host released the plugin (see "fifo")
 *   "timer fired after shutdown" / "watch fired after shutdown" must never
 *                                appear: the host cancels what is left.
 * The shutdown hook deliberately leaves its timer and watch to the host and
 * arms the watch (a byte in the pipe) so that a watch left armed would fire.
 *
 * Config (optional): fifo: PATH: after shutdown the thread waits for a
 * byte on that FIFO, then posts once more; the test writes the byte once
 * the daemon logged that the plugin stopped, i.e. after release.
 * hold: PATH: the first call of the blocking operation "hold" waits
 * on a worker for a byte on that FIFO ("hold: waiting"), then posts
 * ("hold: post -> RC") and replies "held"; later calls reply "quick" at
 * once. The test removes the plugin while the first call waits: shutdown()
 * must wait for it, its post must be refused and its reply dropped.
 *
 * shutpost_post_from_loop() is exported for the companion plugin shutpeer,
 * whose shutdown hook calls it on the loop thread while orbitd releases its
 * plugins one after the other: that post is queued just before this plugin
 * is released, with no loop pass in between, so it must be dropped unrun.
 *
 * Ownership: all state is this object's static data (one instance per
 * loaded object; an upgrade loads a new object with its own copy), so a
 * posted function that ran too late would find it intact and say so in the
 * log instead of crashing. The thread is detached: it outlives shutdown on
 * purpose (a plugin thread racing with release is what is under test); the
 * pipe is closed by the thread at its very end, when the host has long
 * unwatched it, or by the process exit.
 */
#include <orbit/plugin.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_INFO 6

static orbit_host *g_h;
static const orbit_host_api *g_api;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cond; /* CLOCK_MONOTONIC, set up in init */
static bool g_go;             /* shutdown began: the thread posts */
static bool g_answered;
static int g_thread_rc;
static atomic_bool g_shut;
static char g_fifo[PATH_MAX];
static char g_hold[PATH_MAX];
static atomic_bool g_holding;
static int g_pipe[2] = {-1, -1};

ORBIT_PLUGIN_EXPORT void shutpost_post_from_loop(void);

static void ran(void *arg)
{
	g_api->log(g_h, LOG_INFO, "posted ran: %s", (const char *)arg);
}

static void tick(void *arg)
{
	(void)arg;
	if (atomic_load(&g_shut))
		g_api->log(g_h, LOG_INFO, "timer fired after shutdown");
}

static void readable(void *arg, int fd, unsigned events)
{
	char c;
	(void)arg;
	(void)events;
	if (read(fd, &c, 1) == 1 && atomic_load(&g_shut))
		g_api->log(g_h, LOG_INFO, "watch fired after shutdown");
}

void shutpost_post_from_loop(void)
{
	int rc = g_api->post(g_h, ran, "queued-before-release");
	g_api->log(g_h, LOG_INFO, "peer: post queued before release -> %d", rc);
}

static void *thread_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&g_lock);
	while (!g_go)
		pthread_cond_wait(&g_cond, &g_lock);
	pthread_mutex_unlock(&g_lock);
	int rc = g_api->post(g_h, ran, "thread-during-shutdown");
	pthread_mutex_lock(&g_lock);
	g_thread_rc = rc;
	g_answered = true;
	pthread_cond_signal(&g_cond);
	pthread_mutex_unlock(&g_lock);
	if (!*g_fifo)
		return NULL;
	int fd = open(g_fifo, O_RDONLY | O_CLOEXEC);
	char c;
	if (fd < 0 || read(fd, &c, 1) != 1) {
		g_api->log(g_h, LOG_INFO, "thread: fifo %s: %s", g_fifo, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	close(fd);
	rc = g_api->post(g_h, ran, "thread-after-release");
	g_api->log(g_h, LOG_INFO, "thread: post after release -> %d", rc);
	close(g_pipe[0]);
	close(g_pipe[1]);
	return NULL;
}

static int reply_text(orbit_call *call, const char *text)
{
	orbit_payload out = {(const uint8_t *)text, strlen(text), ORBIT_FMT_UTF8,
			     "StringMessage"};
	return g_api->reply(call, &out);
}

/* Blocking operation: runs on a worker. */
static int hold(void *state, orbit_call *call)
{
	(void)state;
	if (!*g_hold || atomic_exchange(&g_holding, true))
		return reply_text(call, "quick");
	g_api->log(g_h, LOG_INFO, "hold: waiting");
	int fd = open(g_hold, O_RDONLY | O_CLOEXEC);
	char c;
	if (fd < 0 || read(fd, &c, 1) != 1) {
		g_api->log(g_h, LOG_INFO, "hold: fifo %s: %s", g_hold, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -EIO;
	}
	close(fd);
	int rc = g_api->post(g_h, ran, "hold-after-release");
	g_api->log(g_h, LOG_INFO, "hold: post -> %d", rc);
	return reply_text(call, "held");
}

/* The string under key in the config, if any. */
static void config_path(const char *key, char *out, size_t size)
{
	const char *v = g_api->config_string(g_h, key);
	if (v && strlen(v) < size)
		strcpy(out, v);
}

static int sp_init(orbit_host *h, const orbit_host_api *api, void **state)
{
	g_h = h;
	g_api = api;
	*state = NULL;
	config_path("fifo", g_fifo, sizeof g_fifo);
	config_path("hold", g_hold, sizeof g_hold);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&g_cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pipe2(g_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	pthread_attr_t ta;
	pthread_attr_init(&ta);
	pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old); /* the daemon's signals stay its own */
	pthread_t t;
	int e = pthread_create(&t, &ta, thread_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&ta);
	if (e)
		return -e;
	int rc = api->post(h, ran, "from-init");
	api->log(h, LOG_INFO, "init: post -> %d", rc);
	return 0;
}

static int sp_start(void *state)
{
	(void)state;
	if (!g_api->timer_add(g_h, 0.001, 0.001, tick, NULL))
		return -ENOMEM;
	if (!g_api->watch(g_h, g_pipe[0], ORBIT_WATCH_READ, readable, NULL))
		return -ENOMEM;
	return 0;
}

static void sp_shutdown(void *state)
{
	(void)state;
	atomic_store(&g_shut, true);
	int rc = g_api->post(g_h, ran, "from-shutdown");
	g_api->log(g_h, LOG_INFO, "shutdown: post -> %d", rc);
	errno = 0;
	orbit_host_timer *t = g_api->timer_add(g_h, 0, 0.05, tick, NULL);
	g_api->log(g_h, LOG_INFO, "shutdown: timer_add -> %s errno %d", t ? "a timer" : "NULL",
		   errno);
	errno = 0;
	orbit_host_watch *w = g_api->watch(g_h, g_pipe[0], ORBIT_WATCH_READ, readable, NULL);
	g_api->log(g_h, LOG_INFO, "shutdown: watch -> %s errno %d", w ? "a watch" : "NULL", errno);
	/* Arm the watch left from start(): only the host's cancelling keeps it
	 * from firing now. */
	if (write(g_pipe[1], "x", 1) != 1)
		g_api->log(g_h, LOG_INFO, "shutdown: pipe write: %s", strerror(errno));

	/* Let the thread post while shutdown runs; bounded wait. */
	struct timespec dl;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += 5;
	pthread_mutex_lock(&g_lock);
	g_go = true;
	pthread_cond_broadcast(&g_cond);
	int e = 0;
	while (!g_answered && e != ETIMEDOUT)
		e = pthread_cond_timedwait(&g_cond, &g_lock, &dl);
	bool answered = g_answered;
	rc = g_thread_rc;
	pthread_mutex_unlock(&g_lock);
	if (answered)
		g_api->log(g_h, LOG_INFO, "shutdown: thread post -> %d", rc);
	else
		g_api->log(g_h, LOG_INFO, "shutdown: thread did not answer");
}

static const orbit_plugin_op ops[] = {
	{.name = "shutpost_tick", .input = ORBIT_NONE,
	 .output = ORBIT_EMPTY},
	{.name = "hold", .input = ORBIT_EMPTY, .output = ORBIT_STRING,
	 .handler = hold, .flags = ORBIT_OP_BLOCKING},
};

static const orbit_cfg_key config[] = {
	{.name = "fifo", .type = ORBIT_CFG_STRING, .doc = "FIFO the thread reports to"},
	{.name = "hold", .type = ORBIT_CFG_STRING, .doc = "FIFO the hold operation waits on"},
	{0},
};

ORBIT_PLUGIN_DEFINE("shutpost", "1.0.0", ops, config, sp_init, sp_start, NULL, sp_shutdown);
