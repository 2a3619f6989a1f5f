/* broker.c — starts, kills and restarts a private mosquitto for tests; owns
 * the child process, its temporary directory and the guardian that removes
 * that directory. Readiness is observed (a TCP connect that succeeds), never
 * assumed after a sleep. */
#include "broker.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define READY_TIMEOUT_MS 10000
#define STOP_TIMEOUT_MS 5000
#define POLL_STEP_MS 10

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void sleep_step(void)
{
	poll(NULL, 0, POLL_STEP_MS);
}

static void dump_file(const char *what, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	fprintf(stderr, "---- %s (%s)\n", what, path);
	char line[512];
	while (fgets(line, sizeof(line), f))
		fputs(line, stderr);
	fclose(f);
}

static void report(const struct test_broker *b, const char *what, int err)
{
	fprintf(stderr, "test broker (port %d): %s: %s\n", b->port, what, strerror(err));
	dump_file("mosquitto log", b->log);
	dump_file("mosquitto output", b->out);
}

/* Wait for pid to exit, up to ms milliseconds; true if it did. */
static bool reap_within(pid_t pid, long ms)
{
	int status;
	long deadline = now_ms() + ms;
	do {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid || (r < 0 && errno == ECHILD))
			return true;
		sleep_step();
	} while (now_ms() < deadline);
	return false;
}

/* SIGTERM, wait up to STOP_TIMEOUT_MS, then SIGKILL. 0 or -errno. */
static int kill_pid(pid_t pid)
{
	int status;
	if (kill(pid, SIGTERM) < 0 && errno != ESRCH)
		return -errno;
	if (reap_within(pid, STOP_TIMEOUT_MS))
		return 0;
	fprintf(stderr, "test broker: pid %d ignored SIGTERM, killing\n", (int)pid);
	kill(pid, SIGKILL);
	return waitpid(pid, &status, 0) == pid ? 0 : -errno;
}

static int remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
	return rmdir(dir) < 0 && errno != ENOENT ? -errno : 0;
}

/* Fork the guardian: it holds the read end of a pipe whose write end only
 * this process has (close-on-exec), and removes b->dir when that end reads
 * EOF — on test_broker_stop, or when this process dies in any way. */
static int spawn_guardian(struct test_broker *b)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0) {
		int rc = -errno;
		close(p[0]);
		close(p[1]);
		return rc;
	}
	if (pid == 0) {
		/* Hold nothing of the test (its sockets must close when it closes
		 * them) and outlive a Ctrl-C aimed at the test. */
		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		/* check kills the forked test's process group when a test
		 * fails: the guardian must not be in it. */
		setsid();
		if (dup2(p[0], 0) < 0)
			_exit(1);
		close_range(1, ~0U, 0);
		char c;
		ssize_t n;
		do
			n = read(0, &c, 1);
		while (n > 0 || (n < 0 && errno == EINTR));
		remove_dir(b->dir);
		_exit(0);
	}
	close(p[0]);
	b->guard_pid = pid;
	b->guard_fd = p[1];
	return 0;
}

static int pick_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	int rc;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0)
		rc = -errno;
	else
		rc = ntohs(sa.sin_port);
	close(fd);
	return rc;
}

static int write_conf(const struct test_broker *b)
{
	FILE *f = fopen(b->conf, "w");
	if (!f)
		return -errno;
	const struct test_broker_opts *o = &b->opts;
	fprintf(f, "# written by tests/support/broker.c\n");
	if (o->per_listener)
		fprintf(f, "per_listener_settings true\n");
	fprintf(f,
		"listener %d 127.0.0.1\n"
		"allow_anonymous %s\n"
		"persistence false\n"
		"log_dest file %s\n"
		"log_type all\n"
		"connection_messages true\n",
		b->port, o->anonymous_off ? "false" : "true", b->log);
	/* As root mosquitto would switch to the "mosquitto" user, which cannot
	 * write into our 0700 directory. */
	if (geteuid() == 0)
		fprintf(f, "user root\n");
	int rc = o->write_conf ? o->write_conf(f, b, o->arg) : 0;
	if (fclose(f) && rc == 0)
		rc = -errno;
	return rc;
}

static bool accepts(int port)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET,
		.sin_port = htons((uint16_t)port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

static pid_t spawn(const struct test_broker *b)
{
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid != 0)
		return pid < 0 ? -errno : pid;
	/* Child: only what exec needs; nothing of the test may leak into the
	 * broker (an inherited client socket would outlive its close). */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(127);
	int in = open("/dev/null", O_RDONLY);
	int out = open(b->out, O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(126);
	close_range(3, ~0U, 0);
	execl(TEST_MOSQUITTO_BIN, TEST_MOSQUITTO_BIN, "-c", b->conf, (char *)NULL);
	_exit(127);
}

/* Start the process and wait until it accepts. A broker that exits early
 * (e.g. the port is briefly unavailable after a restart) is started again
 * until the deadline. */
static int launch(struct test_broker *b)
{
	long deadline = now_ms() + READY_TIMEOUT_MS;
	int rc = -ETIMEDOUT;
	while (now_ms() < deadline) {
		if (b->pid <= 0) {
			pid_t pid = spawn(b);
			if (pid < 0) {
				rc = (int)pid;
				goto out;
			}
			b->pid = pid;
		}
		if (accepts(b->port) && test_broker_running(b)) {
			rc = 0;
			goto out;
		}
		if (!test_broker_running(b))
			rc = -ECHILD;
		sleep_step();
	}
out:
	if (rc)
		report(b, "start", -rc);
	return rc;
}

/* dir/name into out[PATH_MAX]; nonzero when it does not fit. */
static int path_in(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
	return n < 0 || n >= PATH_MAX;
}

int test_broker_start(struct test_broker *b)
{
	static const struct test_broker_opts none;
	return test_broker_start_with(b, &none);
}

int test_broker_start_with(struct test_broker *b, const struct test_broker_opts *o)
{
	int rc;
	memset(b, 0, sizeof(*b));
	b->opts = *o;
	b->guard_fd = -1;
	if (o->extra_ports < 0 || o->extra_ports > TEST_BROKER_EXTRA_PORTS) {
		rc = -EINVAL;
		goto out;
	}
	const char *tmp = getenv("TMPDIR");
	if (path_in(b->dir, tmp && *tmp ? tmp : "/tmp", "orbit-broker-XXXXXX")) {
		rc = -ENAMETOOLONG;
		b->dir[0] = '\0';
		goto out;
	}
	if (!mkdtemp(b->dir)) {
		rc = -errno;
		b->dir[0] = '\0';
		goto out;
	}
	rc = spawn_guardian(b);
	if (rc < 0)
		goto out;
	if (path_in(b->conf, b->dir, "mosquitto.conf") || path_in(b->log, b->dir, "mosquitto.log") ||
	    path_in(b->out, b->dir, "mosquitto.out")) {
		rc = -ENAMETOOLONG;
		goto out;
	}
	rc = pick_port();
	if (rc < 0)
		goto out;
	b->port = rc;
	for (int i = 0; i < o->extra_ports; i++) {
		rc = pick_port();
		if (rc < 0)
			goto out;
		b->extra_port[i] = rc;
	}
	rc = write_conf(b);
	if (rc < 0)
		goto out;
	rc = launch(b);
out:
	if (rc < 0) {
		fprintf(stderr, "test broker: start failed: %s\n", strerror(-rc));
		test_broker_stop(b);
	}
	return rc;
}

bool test_broker_running(struct test_broker *b)
{
	int status;
	if (b->pid <= 0)
		return false;
	if (waitpid(b->pid, &status, WNOHANG) == 0)
		return true;
	b->pid = 0;
	return false;
}

int test_broker_kill(struct test_broker *b)
{
	int rc = 0;
	if (b->pid > 0)
		rc = kill_pid(b->pid);
	b->pid = 0;
	if (rc < 0)
		report(b, "kill", -rc);
	return rc;
}

int test_broker_restart(struct test_broker *b)
{
	int rc = test_broker_kill(b);
	return rc < 0 ? rc : launch(b);
}

int test_broker_stop(struct test_broker *b)
{
	int rc = test_broker_kill(b);
	if (b->dir[0]) {
		int drc = remove_dir(b->dir);
		if (!rc)
			rc = drc;
		b->dir[0] = '\0';
	}
	if (b->guard_pid > 0) {
		close(b->guard_fd);
		b->guard_fd = -1;
		/* Its work is already done; a guardian still waiting because some
		 * fork of ours holds the pipe is left to finish on its own. */
		reap_within(b->guard_pid, STOP_TIMEOUT_MS / 5);
		b->guard_pid = 0;
	}
	return rc;
}
