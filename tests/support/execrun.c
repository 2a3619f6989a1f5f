/* execrun.c — see execrun.h. */
#include "execrun.h"
#include "strf.h"

#include <check.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* The "sent" of an execute's reply, which must be ok. */
static json_int_t sent_of(json_t *r)
{
	ck_assert_msg(json_is_true(json_object_get(r, "ok")), "%s", json_dumps(r, JSON_COMPACT));
	return json_integer_value(json_object_get(json_object_get(r, "result"), "sent"));
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void exec_send(struct exec_run *x, const char *cmd_args)
{
	char *line = strf("{\"v\":1,\"id\":%d,%s}\n", ++x->next_id, cmd_args);
	ck_assert_int_eq(write(x->fd, line, strlen(line)), (ssize_t)strlen(line));
	free(line);
}

/* Read and take the next line: an output event of x->operation is recorded
 * (or checks off a barrier); a reply is returned (caller decrefs), anything
 * else gives NULL. Fails the test at deadline. */
static json_t *exec_step(struct exec_run *x, double deadline)
{
	char *nl;
	while (!(nl = memchr(x->buf, '\n', x->len))) {
		double left = deadline - now_s();
		struct pollfd pfd = {x->fd, POLLIN, 0};
		ck_assert_msg(left > 0 && poll(&pfd, 1, (int)(left * 1000) + 1) == 1,
			      "%s: no control message in time (%zu outputs so far)", x->operation,
			      x->n_out);
		ssize_t n = read(x->fd, x->buf + x->len, sizeof x->buf - x->len);
		ck_assert_int_gt(n, 0);
		x->len += (size_t)n;
	}
	json_error_t je;
	json_t *msg = json_loadb(x->buf, (size_t)(nl - x->buf), 0, &je), *reply = NULL;
	ck_assert_msg(msg, "control: %s", je.text);
	x->len -= (size_t)(nl + 1 - x->buf);
	memmove(x->buf, nl + 1, x->len);
	json_t *ev = json_object_get(msg, "event");
	const char *type = json_string_value(json_object_get(ev, "type"));
	const char *op = json_string_value(json_object_get(ev, "operation"));
	if (!ev) {
		reply = json_incref(msg);
	} else if (type && !strcmp(type, "output") && op && !strcmp(op, x->operation)) {
		const char *plugin = json_string_value(json_object_get(ev, "plugin"));
		const char *value = json_string_value(json_object_get(ev, "value"));
		ck_assert(plugin && value);
		char *mark = strf("barrier:%s", plugin);
		bool barrier = strcasecmp(value, mark) == 0;
		free(mark);
		for (size_t i = 0; barrier && i < x->n_barrier; i++)
			if (!strcmp(x->barrier[i], plugin)) {
				free(x->barrier[i]);
				x->barrier[i] = x->barrier[--x->n_barrier];
				break;
			}
		if (!barrier) {
			ck_assert_uint_lt(x->n_out, sizeof x->out / sizeof x->out[0]);
			x->out[x->n_out].plugin = strdup(plugin);
			x->out[x->n_out].value = strdup(value);
			x->n_out++;
		}
	}
	json_decref(msg);
	return reply;
}

/* The reply to the request just sent (events taken meanwhile). */
static json_t *exec_reply(struct exec_run *x)
{
	double deadline = now_s() + x->timeout;
	for (;;) {
		json_t *r = exec_step(x, deadline);
		if (r && json_integer_value(json_object_get(r, "id")) == x->next_id)
			return r;
		json_decref(r);
	}
}

json_int_t exec_collect(struct exec_run *x, const char *path, const char *operation,
			const char *args, size_t expect, const char *const *plugins, double timeout_s)
{
	memset(x, 0, sizeof *x);
	x->operation = operation;
	x->timeout = timeout_s;
	x->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	ck_assert_int_eq(connect(x->fd, (struct sockaddr *)&sa, sizeof sa), 0);
	exec_send(x, "\"cmd\":\"watch\"");
	char *req = strf("\"cmd\":\"execute\",\"args\":{\"operation\":\"%s\",%s}", operation, args);
	exec_send(x, req);
	free(req);
	json_t *r = exec_reply(x);
	json_int_t sent = sent_of(r);
	json_decref(r);
	double deadline = now_s() + x->timeout;
	while (x->n_out < expect)
		json_decref(exec_step(x, deadline));
	for (size_t i = 0; plugins[i]; i++) {
		ck_assert_uint_lt(x->n_barrier, sizeof x->barrier / sizeof x->barrier[0]);
		x->barrier[x->n_barrier++] = strdup(plugins[i]);
		req = strf("\"cmd\":\"execute\",\"args\":{\"operation\":\"%s\",\"mode\":\"plugin\","
			   "\"plugin\":\"%s\",\"data\":[\"barrier:%s\"]}",
			   operation, plugins[i], plugins[i]);
		exec_send(x, req);
		free(req);
		r = exec_reply(x);
		ck_assert_int_eq(sent_of(r), 1);
		json_decref(r);
	}
	deadline = now_s() + x->timeout;
	while (x->n_barrier)
		json_decref(exec_step(x, deadline));
	return sent;
}

/* Outputs collected from plugin (NULL: any) whose value is value (NULL:
 * any). */
size_t exec_outputs(const struct exec_run *x, const char *plugin, const char *value)
{
	size_t n = 0;
	for (size_t i = 0; i < x->n_out; i++)
		n += (!plugin || !strcmp(x->out[i].plugin, plugin)) &&
		     (!value || !strcmp(x->out[i].value, value));
	return n;
}

void exec_end(struct exec_run *x)
{
	close(x->fd);
	for (size_t i = 0; i < x->n_out; i++) {
		free(x->out[i].plugin);
		free(x->out[i].value);
	}
	for (size_t i = 0; i < x->n_barrier; i++)
		free(x->barrier[i]);
	memset(x, 0, sizeof *x);
}
