/* fuzz_control.c — libFuzzer target: the control socket's request parser
 * (orbitd/control.c: line splitting, the too_large bound, the v1 request
 * envelope, replies and events with whatever ids and strings came in).
 *
 * The parser sits behind the socket, so each input goes the way orbitd
 * gets it: a real octl server on a real AF_UNIX socket (in a private
 * directory made once), one connection per input that writes the input,
 * shuts down its sending side (the last line may lack its newline) and
 * reads until the server closes, all on one libevent loop. The handler
 * answers every well-formed request with an event and a reply echoing
 * cmd and args. Checks: the server ends the connection (it must, once its
 * answers are sent: no input may keep it), and every line it wrote is a
 * JSON object with "v": 1; crashes and leaks are the sanitizers'.
 */
#include "control.h"
#include "fuzz_check.h"
#include "log.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

/* Small, so too_large is within reach of small inputs. */
#define MAX_REQUEST 1024

static struct event_base *base;
static struct octl *srv;
static char dir[] = "/tmp/orbitd-fuzz-control-XXXXXX";
static char path[sizeof dir + 16];

/* The client's side of one input. */
struct client {
	int fd;
	const uint8_t *out;
	size_t out_len;
	char in[1 << 17];
	size_t in_len;
	bool overflow; /* more came back than in holds: not checked */
};

static void handler(void *ctx, struct octl_req *r, const char *cmd, json_t *args)
{
	(void)ctx;
	octl_req_event(r, json_pack("{s:s}", "type", "seen"));
	octl_reply_ok(r, json_pack("{s:s,s:O}", "cmd", cmd, "args", args));
}

static void cleanup(void)
{
	octl_free(srv);
	event_base_free(base);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct octl_limits lim = {.max_request = MAX_REQUEST,
				  .client_buffer = OCTL_DEFAULT_CLIENT_BUFFER,
				  .total_buffer = OCTL_DEFAULT_TOTAL_BUFFER};
	char *err = NULL;

	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	olog_init();
	olog_set_level(LOG_CRIT);
	FUZZ_CHECK(mkdtemp(dir), "mkdtemp");
	snprintf(path, sizeof path, "%s/ctl.sock", dir);
	FUZZ_CHECK((base = event_base_new()), "event_base_new");
	srv = octl_new(base, path, 0600, NULL, &lim, handler, NULL, &err);
	if (!srv)
		fprintf(stderr, "octl_new: %s\n", err ? err : "?");
	FUZZ_CHECK(srv, "octl_new");
	atexit(cleanup);
	return 0;
}

static void on_writable(evutil_socket_t fd, short what, void *arg);

/* Write what the socket takes; the rest when it is writable again. At the
 * end, or if the server is gone, shut down the sending side. */
static void send_more(struct client *c)
{
	ssize_t n = write(c->fd, c->out, c->out_len);

	if (n > 0) {
		c->out += n;
		c->out_len -= (size_t)n;
	}
	if (c->out_len && n < 0 && errno == EAGAIN) {
		FUZZ_CHECK(!event_base_once(base, c->fd, EV_WRITE, on_writable, c, NULL),
			   "event_base_once");
		return;
	}
	if (c->out_len && n > 0)
		return send_more(c);
	shutdown(c->fd, SHUT_WR);
	c->out_len = 0;
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	send_more(arg);
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;

	(void)what;
	for (;;) {
		char scratch[4096];
		bool room = c->in_len < sizeof c->in;
		ssize_t n = room ? read(fd, c->in + c->in_len, sizeof c->in - c->in_len)
				 : read(fd, scratch, sizeof scratch);
		if (n > 0) {
			if (room)
				c->in_len += (size_t)n;
			else
				c->overflow = true;
			continue;
		}
		if (n == 0 || errno != EAGAIN)
			event_base_loopbreak(base);
		return;
	}
}

/* Every line the server wrote is a JSON object of protocol v1. */
static void check_answers(const struct client *c)
{
	size_t i = 0;

	while (i < c->in_len) {
		const char *nl = memchr(c->in + i, '\n', c->in_len - i);
		json_error_t jerr;
		json_t *msg;

		FUZZ_CHECK(nl, "an answer without its newline");
		msg = json_loadb(c->in + i, (size_t)(nl - (c->in + i)), 0, &jerr);
		FUZZ_CHECK(json_is_object(msg), "an answer is not a JSON object");
		FUZZ_CHECK(json_integer_value(json_object_get(msg, "v")) == 1, "an answer without \"v\": 1");
		json_decref(msg);
		i = (size_t)(nl - c->in) + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	static struct client c;
	struct event *ev;

	if (size > FUZZ_MAX_INPUT)
		return -1;
	c = (struct client){.out = data, .out_len = size};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	c.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	FUZZ_CHECK(c.fd >= 0, "socket");
	FUZZ_CHECK(connect(c.fd, (struct sockaddr *)&sa, sizeof sa) == 0, "connect");
	ev = event_new(base, c.fd, EV_READ | EV_PERSIST, on_readable, &c);
	FUZZ_CHECK(ev && !event_add(ev, NULL), "event_add");
	send_more(&c);
	event_base_dispatch(base);
	event_free(ev);
	close(c.fd);
	if (!c.overflow)
		check_answers(&c);
	/* Let the server see the close and free the client before the next
	 * input, so that leak checks between runs see a settled heap. */
	while (octl_clients(srv))
		event_base_loop(base, EVLOOP_ONCE);
	return 0;
}
