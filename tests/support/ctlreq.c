/* ctlreq.c — see ctlreq.h. */
#include "ctlreq.h"

#include <check.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Whether msg is an output event. */
static int is_output(json_t *msg)
{
	const char *t = json_string_value(json_object_get(json_object_get(msg, "event"), "type"));
	return t && strcmp(t, "output") == 0;
}

json_t *ctlreq(const char *path, const char *request, size_t *outputs, double timeout_s)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	ck_assert_msg(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0, "cannot connect to %s", path);
	ck_assert_int_eq(write(fd, request, strlen(request)), (ssize_t)strlen(request));
	static char buf[1 << 20];
	size_t len = 0;
	json_t *reply = NULL;
	if (outputs)
		*outputs = 0;
	while (!reply) {
		struct pollfd pfd = {fd, POLLIN, 0};
		ck_assert_msg(poll(&pfd, 1, (int)(timeout_s * 1000)) == 1, "no reply to %s", request);
		ck_assert_msg(len < sizeof buf - 1, "a reply line longer than %zu bytes", sizeof buf);
		ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
		ck_assert_msg(n > 0, "orbitd closed the control connection before replying");
		len += (size_t)n;
		char *nl;
		while (!reply && (nl = memchr(buf, '\n', len))) {
			json_error_t je;
			json_t *msg = json_loadb(buf, (size_t)(nl - buf), 0, &je);
			ck_assert_msg(msg, "control: %s", je.text);
			if (!json_object_get(msg, "event"))
				reply = json_incref(msg);
			else if (outputs)
				*outputs += (size_t)is_output(msg);
			json_decref(msg);
			len -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, len);
		}
	}
	close(fd);
	return reply;
}
