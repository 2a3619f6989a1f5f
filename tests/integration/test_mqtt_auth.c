/* test_mqtt_auth.c — orbitd on an authenticated broker, for real: a mosquitto
 * (tests/support/broker.c) with a password file, an ACL, TLS listeners whose
 * certificates the test makes with openssl (a CA, a broker certificate, one
 * for another host name, an expired one, a client certificate), and real
 * orbitd processes logging in with passwords or certificates. Each failure a
 * deployment meets (wrong password, wrong CA, host-name mismatch, expired
 * certificate, TLS to a plain port, plain to a TLS port, nothing listening)
 * must name its cause in orbitd's log, once, while the retries back off; the
 * shipped example (conf/mosquitto) must start and carry a handshake and an
 * execution between two confined orbs.
 *
 * Listeners (per_listener_settings true):
 *   port           plain, password file, ACL
 *   extra_port[0]  TLS (broker certificate for 127.0.0.1), password file, ACL
 *   extra_port[1]  TLS, certificate for another host name, anonymous
 *   extra_port[2]  TLS, expired certificate, anonymous
 *   extra_port[3]  TLS, client certificate required, its CN is the user, ACL
 */
#include "broker.h"
#include "expect.h"
#include "orbitd_host.h"
#include "proc.h"
#include "strf.h"
#include "tmpdir.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WAIT 20.0
#define FAST "timers: {loop_interval: 0.1, discovering_interval: 0.1, shutdown_timeout: 2, " \
	     "consider_others_dead_after: 2, send_keepalive_before_timelimit: 1}\n"

static struct test_broker broker;
static char *tmp;   /* the test's directory: certificates, passwd, acl, daemons */
static char *build_dir;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run a shell script with arguments $1 (a directory) and $2 (or none);
 * fails the test with its output. */
static void sh_in(const char *dir, const char *script, const char *arg)
{
	char *argv[] = {"/bin/sh", "-ec", (char *)script, "sh", (char *)dir, (char *)arg, NULL};
	char *out = NULL, *err = NULL;
	int st = test_run(argv, NULL, NULL, WAIT, &out, &err);
	ck_assert_msg(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "script failed: %s%s",
		      out ? out : "", err ? err : "");
	free(out);
	free(err);
}

/* The certificates: ca (signs everything), other-ca (signs nothing we use),
 * broker (127.0.0.1 and localhost), elsewhere (another host name), expired
 * (127.0.0.1, valid for one day in 2020, through `openssl ca` which takes
 * explicit dates) and carol (a client). */
static const char certs_sh[] =
	"cd \"$1\"\n"
	"key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out $1.key; }\n"
	"ca() { key $1; openssl req -x509 -key $1.key -out $1.crt -days 30 -subj \"/CN=$2\"; }\n"
	"csr() { key $1; openssl req -new -key $1.key -out $1.csr -subj \"/CN=$2\"; }\n"
	"sign() { printf 'subjectAltName=%s\\n' \"$2\" > $1.ext;\n"
	"  openssl x509 -req -in $1.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 \\\n"
	"    -extfile $1.ext -out $1.crt 2>/dev/null; }\n"
	"ca ca 'Orbit Test CA'\n"
	"ca other-ca 'Some Other CA'\n"
	"csr broker 127.0.0.1; sign broker 'IP:127.0.0.1,DNS:localhost'\n"
	"csr elsewhere elsewhere.invalid; sign elsewhere 'DNS:elsewhere.invalid'\n"
	"csr carol carol; sign carol 'DNS:carol'\n"
	"csr expired 127.0.0.1\n"
	": > index.txt; echo 1000 > expired.srl\n"
	"cat > ca.cnf <<EOF\n"
	"[ca]\ndefault_ca = tca\n"
	"[tca]\ndatabase = index.txt\nnew_certs_dir = .\nserial = expired.srl\n"
	"default_md = sha256\npolicy = any\n"
	"[any]\ncommonName = supplied\n"
	"[srv]\nsubjectAltName = IP:127.0.0.1,DNS:localhost\n"
	"EOF\n"
	"openssl ca -batch -config ca.cnf -cert ca.crt -keyfile ca.key -in expired.csr \\\n"
	"  -out expired.crt -startdate 20200101000000Z -enddate 20200102000000Z \\\n"
	"  -extensions srv -notext 2>/dev/null\n"
	/* mosquitto reads these as root or as itself: keys readable by it. */
	"chmod 0644 *.key\n";

/* Users (mosquitto_passwd, as an administrator would) and the ACL: the
 * shipped example (core1 with host1's plugin echo), carol (certificate
 * login) with the same rights as core1, and mallory, an authenticated core
 * with the handshake topics of a core but no operation topics. host1 may
 * answer carol and mallory too (a second block for a user adds to it). */
#define CORE_ACL(core)                                                                          \
	"user " core "\n"                                                                       \
	"topic write $handshake.discover\n"                                                     \
	"topic read $handshake." core ".offer\n"                                                \
	"topic read $handshake." core ".response\n"                                             \
	"topic write $handshake.echo.reply\n"                                                   \
	"topic readwrite $keepalive." core "\n"                                                 \
	"topic read $keepalive." core ".request\n"                                              \
	"topic write $keepalive.echo\n"                                                         \
	"topic write $keepalive.echo.request\n"
#define HOST_FOR(core)                                                                          \
	"user host1\n"                                                                          \
	"topic write $handshake." core ".offer\n"                                               \
	"topic write $handshake." core ".response\n"                                            \
	"topic write $keepalive." core "\n"                                                     \
	"topic write $keepalive." core ".request\n"
static const char users_sh[] =
	"cd \"$1\"\n"
	"mosquitto_passwd -b -c passwd core1 core1-secret\n"
	"mosquitto_passwd -b passwd host1 host1-secret\n"
	"mosquitto_passwd -b passwd mallory mallory-secret\n"
	"cp \"$2\" acl\n"
	"cat >> acl <<'EOF'\n"
	"\n" CORE_ACL("carol") "topic readwrite #\n"
	"\n" CORE_ACL("mallory")
	"\n" HOST_FOR("carol")
	"\n" HOST_FOR("mallory")
	"EOF\n"
	"chmod 0644 passwd acl\n";

static int write_listeners(FILE *f, const struct test_broker *b, void *arg)
{
	(void)arg;
	const char *d = tmp;
	fprintf(f,
		"password_file %s/passwd\nacl_file %s/acl\n"
		"listener %d 127.0.0.1\nallow_anonymous false\n"
		"password_file %s/passwd\nacl_file %s/acl\n"
		"cafile %s/ca.crt\ncertfile %s/broker.crt\nkeyfile %s/broker.key\n"
		"listener %d 127.0.0.1\nallow_anonymous true\n"
		"certfile %s/elsewhere.crt\nkeyfile %s/elsewhere.key\n"
		"listener %d 127.0.0.1\nallow_anonymous true\n"
		"certfile %s/expired.crt\nkeyfile %s/expired.key\n"
		"listener %d 127.0.0.1\n"
		"cafile %s/ca.crt\ncertfile %s/broker.crt\nkeyfile %s/broker.key\n"
		"require_certificate true\nuse_identity_as_username true\nacl_file %s/acl\n",
		d, d, b->extra_port[0], d, d, d, d, d, b->extra_port[1], d, d, b->extra_port[2], d,
		d, b->extra_port[3], d, d, d, d);
	return ferror(f) ? -EIO : 0;
}

static char *src_path(const char *rel)
{
	const char *src = getenv("ORBIT_SRC");
	return strf("%s/%s", src && *src ? src : ".", rel);
}

static void setup(void)
{
	const char *b = getenv("ORBIT_BUILD");
	build_dir = strdup(b ? b : "build");
	tmp = test_tmpdir_new("mqtt-auth");
	ck_assert_ptr_nonnull(tmp);
	sh_in(tmp, certs_sh, NULL);
	char *acl = src_path("conf/mosquitto/acl.example");
	sh_in(tmp, users_sh, acl);
	free(acl);
	struct test_broker_opts o = {
		.extra_ports = 4,
		.anonymous_off = true,
		.per_listener = true,
		.write_conf = write_listeners,
	};
	ck_assert_int_eq(test_broker_start_with(&broker, &o), 0);
}

static void teardown(void)
{
	test_broker_stop(&broker);
	test_tmpdir_free(tmp);
	free(build_dir);
}

/* orbitd `name` (its identifier) in tmp/name/ with plugins (space-separated
 * build-relative paths), the given mqtt flow mapping body (inside {}) and the
 * YAML after it. */
static struct test_proc *start_daemon(const char *name, const char *plugins, const char *mqtt,
				      const char *body)
{
	char *yaml = strf(FAST "mqtt: {host: 127.0.0.1, %s}\n%s", mqtt, body ? body : "");
	struct test_proc *p = orbitd_host_start(tmp, build_dir, name, plugins, yaml);
	free(yaml);
	return p;
}

/* The body of an mqtt mapping: port, a quick back-off and `more` (other
 * keys, or NULL); malloc'd. */
static char *mq_port(int port, const char *more)
{
	return strf("port: %d, reconnect_min: 0.1, reconnect_max: 0.5%s%s", port, more ? ", " : "",
		    more ? more : "");
}

static char *tls_ca(const char *ca)
{
	return strf("tls: {ca: %s/%s.crt}", tmp, ca);
}

/* Occurrences of needle in the broker's own log, now. */
static size_t broker_log_count(const char *needle)
{
	FILE *f = fopen(broker.log, "r");
	if (!f)
		return 0;
	size_t n = 0;
	char line[1024];
	while (fgets(line, sizeof line, f))
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

static bool broker_log_reaches(const char *needle, size_t n, double timeout)
{
	double deadline = now_s() + timeout;
	while (broker_log_count(needle) < n) {
		if (now_s() > deadline)
			return false;
		poll(NULL, 0, 10);
	}
	return true;
}

/* A loopback port nothing listens on (bound, read, closed: as the harness
 * picks its own). */
static int dead_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

/* A control connection to daemon `name` with req written to it. */
static int ctl_send(const char *name, const char *req)
{
	char *path = strf("%s/%s/ctl.sock", tmp, name);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	free(path);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	ck_assert_int_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	return fd;
}

#define EXECUTE_ECHO                                                                               \
	"{\"v\":1,\"id\":2,\"cmd\":\"execute\",\"args\":{\"operation\":\"echo\",\"data\":[\"hello\"]}}\n"

/* On daemon `name`: execute echo with "hello", no wait; 0 once the reply
 * says it was sent. */
static int exec_nowait(const char *name)
{
	int fd = ctl_send(name, EXECUTE_ECHO);
	char buf[4096];
	size_t len = 0;
	while (!memchr(buf, '\n', len)) {
		struct pollfd pfd = {fd, POLLIN, 0};
		ck_assert_msg(poll(&pfd, 1, (int)(WAIT * 1000)) == 1, "%s: no reply", name);
		ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
		ck_assert_int_gt(n, 0);
		len += (size_t)n;
	}
	buf[len] = '\0';
	close(fd);
	ck_assert_msg(strstr(buf, "\"ok\":true"), "%s: %s", name, buf);
	return 0;
}

/* On daemon `name`: watch, execute echo with "hello" (no wait) and read the
 * control stream until its output arrives (deadline WAIT). */
static void echo_roundtrip(const char *name)
{
	int fd = ctl_send(name, "{\"v\":1,\"id\":1,\"cmd\":\"watch\"}\n" EXECUTE_ECHO);
	char buf[1 << 16];
	size_t len = 0;
	double deadline = now_s() + WAIT;
	bool got = false;
	while (!got) {
		char *nl;
		while (!(nl = memchr(buf, '\n', len))) {
			double left = deadline - now_s();
			struct pollfd pfd = {fd, POLLIN, 0};
			ck_assert_msg(left > 0 && poll(&pfd, 1, (int)(left * 1000) + 1) == 1,
				      "%s: no echo output in time", name);
			ssize_t n = read(fd, buf + len, sizeof buf - len);
			ck_assert_int_gt(n, 0);
			len += (size_t)n;
		}
		json_error_t je;
		json_t *msg = json_loadb(buf, (size_t)(nl - buf), 0, &je);
		ck_assert_msg(msg, "control: %s", je.text);
		json_t *ev = json_object_get(msg, "event");
		const char *type = json_string_value(json_object_get(ev, "type"));
		const char *value = json_string_value(json_object_get(ev, "value"));
		got = type && !strcmp(type, "output") && value && !strcmp(value, "hello");
		if (!ev && json_integer_value(json_object_get(msg, "id")) == 2)
			ck_assert_msg(json_is_true(json_object_get(msg, "ok")), "execute: %.*s",
				      (int)(nl - buf), buf);
		json_decref(msg);
		len -= (size_t)(nl + 1 - buf);
		memmove(buf, nl + 1, len);
	}
	close(fd);
}

/* ---- passwords ------------------------------------------------------------ */

START_TEST(password_login_and_wrong_password)
{
	char *good = mq_port(broker.port, "username: core1, password: core1-secret");
	char *bad = mq_port(broker.port, "username: core1, password: guessed");
	struct test_proc *ok = start_daemon("core1", NULL, good, NULL);
	struct test_proc *no = start_daemon("intruder", NULL, bad, NULL);
	char *connected = strf("mqtt: connected to 127.0.0.1:%d", broker.port);
	char *refused = strf("mqtt: cannot connect to 127.0.0.1:%d: refused by the broker: "
			     "not authorised",
			     broker.port);
	test_expect_line(ok, connected, WAIT);
	test_expect_line(no, refused, WAIT);
	ck_assert_uint_eq(test_proc_count(no, "mqtt: connected"), 0);
	test_stop_clean(ok, WAIT);
	test_stop_clean(no, WAIT);
	free(connected);
	free(refused);
	free(good);
	free(bad);
}
END_TEST

/* ---- TLS ------------------------------------------------------------------ */

START_TEST(tls_with_the_right_ca_connects)
{
	char *ca = tls_ca("ca");
	char *more = strf("username: host1, password: host1-secret, %s", ca);
	char *mq = mq_port(broker.extra_port[0], more);
	struct test_proc *p = start_daemon("host1", NULL, mq, NULL);
	char *connected = strf("mqtt: connected to 127.0.0.1:%d", broker.extra_port[0]);
	test_expect_line(p, connected, WAIT);
	ck_assert_uint_eq(test_proc_count(p, "mqtt: cannot connect"), 0);
	test_stop_clean(p, WAIT);
	free(connected);
	free(mq);
	free(more);
	free(ca);
}
END_TEST

/* A TCP relay to the broker's TLS port whose listener has a full accept
 * queue when orbitd connects: the kernel drops orbitd's SYN and its connect
 * stays in progress until the SYN is sent again (a second later), as on a
 * real network or a loaded machine. The TLS handshake then starts on a
 * socket that is not connected yet and must still complete. */
struct relay {
	int lfd;    /* listening, backlog 0 */
	int filler; /* our own connection that fills the accept queue */
	int target; /* broker port */
	pthread_t th;
};

static void pump(int a, int b)
{
	struct pollfd p[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
	char buf[16384];
	for (;;) {
		if (poll(p, 2, -1) < 0)
			return;
		for (int i = 0; i < 2; i++) {
			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t n = read(p[i].fd, buf, sizeof buf);
			if (n <= 0 || write(p[1 - i].fd, buf, (size_t)n) != n)
				return;
		}
	}
}

static void *relay_run(void *arg)
{
	struct relay *r = arg;
	int in = accept4(r->lfd, NULL, NULL, SOCK_CLOEXEC);
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)r->target),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int out = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (in >= 0 && out >= 0 && connect(out, (struct sockaddr *)&sa, sizeof sa) == 0)
		pump(in, out);
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return NULL;
}

static int relay_open(struct relay *r, int target)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof sa;
	r->target = target;
	r->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(r->lfd, 0);
	ck_assert_int_eq(bind(r->lfd, (struct sockaddr *)&sa, sizeof sa), 0);
	ck_assert_int_eq(listen(r->lfd, 0), 0);
	ck_assert_int_eq(getsockname(r->lfd, (struct sockaddr *)&sa, &sl), 0);
	r->filler = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_eq(connect(r->filler, (struct sockaddr *)&sa, sizeof sa), 0);
	return ntohs(sa.sin_port);
}

/* Take the filler out of the queue and relay the next connection. */
static void relay_release(struct relay *r)
{
	int f = accept4(r->lfd, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_int_ge(f, 0);
	close(f);
	close(r->filler);
	ck_assert_int_eq(pthread_create(&r->th, NULL, relay_run, r), 0);
}

START_TEST(tls_handshake_after_a_slow_tcp_connect)
{
	struct relay r;
	int port = relay_open(&r, broker.extra_port[0]);
	char *more = strf("username: host1, password: host1-secret, tls: {ca: %s/ca.crt}", tmp);
	char *mq = mq_port(port, more);
	struct test_proc *p = start_daemon("host1", NULL, mq, NULL);
	/* The bus is made, and its connect() called, before orbitd is ready. */
	test_expect_line(p, "ready", WAIT);
	relay_release(&r);
	char *connected = strf("mqtt: connected to 127.0.0.1:%d", port);
	test_expect_line(p, connected, WAIT);
	ck_assert_uint_eq(test_proc_count(p, "mqtt: cannot connect"), 0);
	test_stop_clean(p, WAIT);
	ck_assert_int_eq(pthread_join(r.th, NULL), 0);
	close(r.lfd);
	free(connected);
	free(mq);
	free(more);
}
END_TEST

/* Every way a deployment gets TLS wrong, each in its own orbitd at once;
 * each names its cause. */
START_TEST(connection_failures_name_their_cause)
{
	char *ca = tls_ca("ca");
	char *other = tls_ca("other-ca");
	char *pw = strf("username: host1, password: host1-secret");
	char *pw_ca = strf("%s, %s", pw, ca);
	char *pw_other = strf("%s, %s", pw, other);
	int nobody = dead_port();
	struct {
		const char *name;
		char *mqtt;
		int port;
		const char *cause;
	} c[] = {
		{"wrongca", mq_port(broker.extra_port[0], pw_other), broker.extra_port[0],
		 "TLS: certificate verify failed (self-signed certificate in certificate chain)"},
		{"wrongname", mq_port(broker.extra_port[1], ca), broker.extra_port[1],
		 "TLS: certificate verify failed (host name mismatch: the broker's certificate is "
		 "not for 127.0.0.1)"},
		{"expired", mq_port(broker.extra_port[2], ca), broker.extra_port[2],
		 "TLS: certificate verify failed (certificate has expired)"},
		{"tlstoplain", mq_port(broker.port, pw_ca), broker.port,
		 "TLS: unexpected eof while reading (is the port a TLS listener?)"},
		{"plaintotls", mq_port(broker.extra_port[0], pw), broker.extra_port[0],
		 "the broker closed the connection before answering CONNECT (is the port a TLS "
		 "listener? TLS is not configured)"},
		{"nobody", mq_port(nobody, pw), nobody,
		 "connection refused (nothing listens on that port)"},
	};
	enum { N = sizeof c / sizeof c[0] };
	struct test_proc *p[N];
	for (size_t i = 0; i < N; i++)
		p[i] = start_daemon(c[i].name, NULL, c[i].mqtt, NULL);
	for (size_t i = 0; i < N; i++) {
		char *line = strf("mqtt: cannot connect to 127.0.0.1:%d: %s; retrying every 0.1..0.5 s",
				  c[i].port, c[i].cause);
		test_expect_line(p[i], line, WAIT);
		ck_assert_uint_eq(test_proc_count(p[i], "A TLS error occurred"), 0);
		free(line);
	}
	for (size_t i = 0; i < N; i++) {
		test_stop_clean(p[i], WAIT);
		free(c[i].mqtt);
	}
	free(ca);
	free(other);
	free(pw);
	free(pw_ca);
	free(pw_other);
}
END_TEST

/* A wrong password retried for a while: the attempts back off (the broker
 * sees them no faster than the back-off allows), orbitd says it once, then
 * once more when the back-off reaches its maximum, not per attempt; when the
 * password becomes valid it connects and says so once, with the count. */
START_TEST(retries_back_off_without_flooding_the_log)
{
	char *mq = strf("port: %d, client_id: flood, username: flood, password: flood-secret, "
			"reconnect_min: 0.05, reconnect_max: 0.2",
			broker.port);
	struct test_proc *p = start_daemon("flood", NULL, mq, NULL);
	static const char refused[] = "disconnected, not authorised.";
	/* Delays 0.05, 0.1, 0.2, 0.2, ...: 12 attempts take at least 11
	 * delays, 0.05 + 0.1 + 9 * 0.2 = 1.95 s after the first one. */
	ck_assert_msg(broker_log_reaches(refused, 1, WAIT), "no attempt reached the broker");
	double first = now_s();
	ck_assert_msg(broker_log_reaches(refused, 12, WAIT), "the retries stopped");
	double took = now_s() - first;
	ck_assert_msg(took >= 1.9, "12 attempts in %.2f s: no back-off", took);
	ck_assert_uint_eq(test_proc_count(p, "mqtt: cannot connect to"), 1);
	ck_assert_uint_eq(test_proc_count(p, "mqtt: still cannot connect to"), 1);
	ck_assert_uint_eq(test_proc_count(p, "mqtt:"), 2);

	/* The administrator adds the user; mosquitto rereads its password
	 * file on SIGHUP. */
	sh_in(tmp, "cd \"$1\"; mosquitto_passwd -b passwd flood flood-secret", NULL);
	ck_assert_int_eq(kill(broker.pid, SIGHUP), 0);
	char *line = test_proc_wait_line(p, "mqtt: connected to 127.0.0.1", WAIT);
	ck_assert_ptr_nonnull(line);
	ck_assert_msg(strstr(line, "' after ") && strstr(line, " failed attempts"), "%s", line);
	free(line);
	ck_assert_uint_eq(test_proc_count(p, "mqtt: connected to"), 1);
	test_stop_clean(p, WAIT);
	free(mq);
}
END_TEST

/* ---- client certificates and ACLs ------------------------------------------ */

/* carol logs in with her certificate alone on a listener that requires one;
 * the broker takes her CN as her user name and the ACL for "carol" applies:
 * she meets host1's echo (a password user on another listener) and uses it.
 * Without a client certificate that listener lets nobody in. */
START_TEST(client_certificate_login_and_its_acl)
{
	char *mh = mq_port(broker.port, "username: host1, password: host1-secret");
	struct test_proc *h = start_daemon("host1", "tests/plugins/echo.so", mh,
					   "plugins:\n  echo: {export: true}\n");
	char *mq = strf("port: %d, reconnect_min: 0.1, reconnect_max: 0.5, "
			"tls: {ca: %s/ca.crt, cert: %s/carol.crt, key: %s/carol.key}",
			broker.extra_port[3], tmp, tmp, tmp);
	struct test_proc *p = start_daemon("carol", NULL, mq, "requirements:\n  echo: {minimum: 1}\n");
	test_expect_line(p, "core compliant: 1/1", WAIT);
	ck_assert_msg(broker_log_reaches("u'carol'", 1, 0), "the broker did not see user carol");
	echo_roundtrip("carol");
	ck_assert_uint_eq(broker_log_count("Denied PUBLISH"), 0);

	char *anon = strf("port: %d, reconnect_min: 0.1, reconnect_max: 0.5, tls: {ca: %s/ca.crt}",
			  broker.extra_port[3], tmp);
	struct test_proc *q = start_daemon("nocert", NULL, anon, NULL);
	/* TLS 1.3: the broker checks after the handshake, and its alert may or
	 * may not be read before our CONNECT meets the closed session; one
	 * cause either way, so the repeats say nothing new until the reminder. */
	char *cannot = strf("mqtt: cannot connect to 127.0.0.1:%d: TLS: the broker ended the "
			    "session before CONNACK (does the listener require a client "
			    "certificate?)",
			    broker.extra_port[3]);
	test_expect_line(q, cannot, WAIT);
	test_expect_line(q, "mqtt: still cannot connect", WAIT);
	ck_assert_uint_eq(test_proc_count(q, "mqtt: cannot connect"), 1);
	ck_assert_uint_eq(test_proc_count(q, "mqtt: connected"), 0);
	test_stop_clean(q, WAIT);
	test_stop_clean(p, WAIT);
	test_stop_clean(h, WAIT);
	free(cannot);
	free(anon);
	free(mq);
	free(mh);
}
END_TEST

/* The shipped ACL confines core1 and host1 (each its own user) and still
 * carries their handshake and an execution. mallory, authenticated, with
 * the handshake topics of a core but no operation topics, connects to echo
 * too, but her input to it is refused by the broker, and core1's
 * connection goes on. */
START_TEST(acl_confines_orbs_and_keeps_them_working)
{
	char *mh = mq_port(broker.port, "username: host1, password: host1-secret");
	char *mc = mq_port(broker.port, "username: core1, password: core1-secret");
	char *mm = mq_port(broker.port, "username: mallory, password: mallory-secret");
	struct test_proc *h = start_daemon("host1", "tests/plugins/echo.so", mh,
					   "plugins:\n  echo: {export: true}\n");
	struct test_proc *c = start_daemon("core1", NULL, mc, "requirements:\n  echo: {minimum: 1}\n");
	test_expect_line(c, "core compliant: 1/1", WAIT);
	echo_roundtrip("core1");
	ck_assert_uint_eq(broker_log_count("Denied PUBLISH"), 0);

	struct test_proc *m = start_daemon("mallory", NULL, mm,
					   "requirements:\n  echo: {minimum: 1}\n");
	test_expect_line(m, "core compliant: 1/1", WAIT);
	ck_assert_int_eq(exec_nowait("mallory"), 0);
	ck_assert_msg(broker_log_reaches("Denied PUBLISH from mallory (d0, q0, r0, m0, 'echo.mallory.echo.input.", 1, WAIT),
		      "mallory's input was not refused");
	echo_roundtrip("core1");
	ck_assert_uint_eq(broker_log_count("Denied PUBLISH from core1"), 0);
	ck_assert_uint_eq(broker_log_count("Denied PUBLISH from host1"), 0);
	test_stop_clean(m, WAIT);
	test_stop_clean(c, WAIT);
	test_stop_clean(h, WAIT);
	free(mh);
	free(mc);
	free(mm);
}
END_TEST

/* ---- the shipped example --------------------------------------------------- */

/* conf/mosquitto/mosquitto.conf with its port and paths pointed at this test,
 * appended to a broker of its own: it must start, and core1 and host1 log in
 * over its TLS listener and execute echo. */
static int write_shipped(FILE *f, const struct test_broker *b, void *arg)
{
	(void)arg;
	char *conf = src_path("conf/mosquitto/mosquitto.conf");
	FILE *in = fopen(conf, "r");
	free(conf);
	if (!in)
		return -errno;
	char line[1024];
	while (fgets(line, sizeof line, in)) {
		const char *file = NULL;
		char *sp = strchr(line, ' ');
		if (line[0] == '#' || !sp) {
			fputs(line, f);
			continue;
		}
		*sp = '\0';
		if (!strcmp(line, "listener"))
			fprintf(f, "listener %d 127.0.0.1\n", b->extra_port[0]);
		else if (!strcmp(line, "cafile"))
			file = "ca.crt";
		else if (!strcmp(line, "certfile"))
			file = "broker.crt";
		else if (!strcmp(line, "keyfile"))
			file = "broker.key";
		else if (!strcmp(line, "password_file"))
			file = "passwd";
		else if (!strcmp(line, "acl_file"))
			file = "acl";
		else if (strcmp(line, "per_listener_settings")) /* the harness writes it first */
			fprintf(f, "%s %s", line, sp + 1);
		if (file)
			fprintf(f, "%s %s/%s\n", line, tmp, file);
	}
	fclose(in);
	return ferror(f) ? -EIO : 0;
}

START_TEST(shipped_example_configuration_works)
{
	test_broker_stop(&broker);
	struct test_broker_opts o = {
		.extra_ports = 1,
		.anonymous_off = true,
		.write_conf = write_shipped,
	};
	ck_assert_int_eq(test_broker_start_with(&broker, &o), 0);
	char *ca = tls_ca("ca");
	char *moreh = strf("username: host1, password: host1-secret, %s", ca);
	char *morec = strf("username: core1, password: core1-secret, %s", ca);
	char *mh = mq_port(broker.extra_port[0], moreh);
	char *mc = mq_port(broker.extra_port[0], morec);
	struct test_proc *h = start_daemon("host1", "tests/plugins/echo.so", mh,
					   "plugins:\n  echo: {export: true}\n");
	struct test_proc *c = start_daemon("core1", NULL, mc, "requirements:\n  echo: {minimum: 1}\n");
	test_expect_line(c, "core compliant: 1/1", WAIT);
	echo_roundtrip("core1");
	/* The example's ACL grants every publish the two need. */
	ck_assert_uint_eq(broker_log_count("Denied PUBLISH"), 0);
	test_stop_clean(c, WAIT);
	test_stop_clean(h, WAIT);
	free(ca);
	free(moreh);
	free(morec);
	free(mh);
	free(mc);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("mqtt-auth");
	TCase *tc = tcase_create("auth");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, password_login_and_wrong_password);
	tcase_add_test(tc, tls_with_the_right_ca_connects);
	tcase_add_test(tc, tls_handshake_after_a_slow_tcp_connect);
	tcase_add_test(tc, connection_failures_name_their_cause);
	tcase_add_test(tc, retries_back_off_without_flooding_the_log);
	tcase_add_test(tc, client_certificate_login_and_its_acl);
	tcase_add_test(tc, acl_confines_orbs_and_keeps_them_working);
	tcase_add_test(tc, shipped_example_configuration_works);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
