/* postwatch — test plugin for the host services a plugin with its own
 * thread needs: api->watch on a pipe and api->post from another thread.
 * Operation "kick" (empty input, string output): the first call starts a
 * thread that writes a byte into a watched pipe and posts a function to the
 * loop; the plugin then emits "watched" and "posted" to its connections.
 *
 * Ownership: struct pw is the plugin's from init to shutdown, which joins
 * the thread and closes the pipe; the watch is cancelled there too.
 */
#include <orbit/plugin.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

struct pw {
	orbit_host *h;
	const orbit_host_api *api;
	int fds[2];
	orbit_host_watch *watch;
	pthread_t thread;
	bool started;
};

static void emit(struct pw *pw, const char *what)
{
	orbit_payload p = {(const uint8_t *)what, 0, ORBIT_FMT_UTF8, "StringMessage"};
	while (what[p.len])
		p.len++;
	pw->api->emit(pw->h, "kick", &p);
}

static void posted(void *arg)
{
	emit(arg, "posted");
}

static void readable(void *arg, int fd, unsigned events)
{
	struct pw *pw = arg;
	char c;
	(void)events;
	if (read(fd, &c, 1) == 1)
		emit(pw, "watched");
}

static void *thread_main(void *arg)
{
	struct pw *pw = arg;
	if (write(pw->fds[1], "x", 1) != 1)
		return NULL;
	pw->api->post(pw->h, posted, pw);
	return NULL;
}

static int pw_init(orbit_host *h, const orbit_host_api *api, void **state)
{
	struct pw *pw = calloc(1, sizeof *pw);
	if (!pw)
		return -ENOMEM;
	pw->h = h;
	pw->api = api;
	if (pipe2(pw->fds, O_CLOEXEC | O_NONBLOCK) < 0) {
		free(pw);
		return -errno;
	}
	*state = pw;
	return 0;
}

static int pw_start(void *state)
{
	struct pw *pw = state;
	return (pw->watch = pw->api->watch(pw->h, pw->fds[0], ORBIT_WATCH_READ, readable, pw))
		       ? 0
		       : -ENOMEM;
}

/* The first kick comes from a connected core, so the outputs have somewhere
 * to go. */
static int kick(void *state, orbit_call *call)
{
	struct pw *pw = state;
	(void)call;
	if (pw->started)
		return 0;
	int e = pthread_create(&pw->thread, NULL, thread_main, pw);
	if (e)
		return -e;
	pw->started = true;
	return 0;
}

static void pw_shutdown(void *state)
{
	struct pw *pw = state;
	if (pw->started)
		pthread_join(pw->thread, NULL);
	pw->api->unwatch(pw->h, pw->watch);
	close(pw->fds[0]);
	close(pw->fds[1]);
	free(pw);
}

static const orbit_plugin_op ops[] = {
	{.name = "kick", .input = ORBIT_EMPTY, .output = ORBIT_STRING,
	 .handler = kick},
};

ORBIT_PLUGIN_DEFINE("postwatch", "1.0.0", ops, NULL, pw_init, pw_start, NULL, pw_shutdown);
