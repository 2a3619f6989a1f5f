/* test_metrics.c — the `metrics:` endpoint against real processes: orbitd
 * with a real plugin serving on a free loopback port, its output checked by
 * `promtool check metrics`, scraped every second by a real Prometheus
 * server whose query API must then show orbitd's series and see its
 * counters move as the test executes an operation and restarts a plugin;
 * the endpoint's bounds (connections, request size, timeout) refuse with a
 * log line; a reload rebinds, or keeps the endpoint when it cannot. Every
 * wait is on a log line, a socket or a query answer, with a deadline. */
#include "expect.h"
#include "fixture.h"
#include "proc.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WAIT 15.0

static void setup(void)
{
	fx_setup_tagged("metrics");
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A loopback port nobody listens on now. */
static int free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

/* A connected TCP socket to 127.0.0.1:port, or -1. */
static int dial(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void send_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t k = send(fd, s, n, MSG_NOSIGNAL);
		if (k < 0)
			return; /* the peer closed: what it did is what is checked */
		s += k;
		n -= (size_t)k;
	}
}

/* Everything fd sends until it closes (malloc'd), or NULL if it has not
 * closed by the deadline. */
static char *read_to_eof(int fd, double timeout_s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	double end = now_s() + timeout_s;
	bool eof = false;
	while (!eof) {
		double left = end - now_s();
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		if (left <= 0 || poll(&pfd, 1, (int)(left * 1000) + 1) <= 0)
			break;
		char chunk[4096];
		ssize_t n = recv(fd, chunk, sizeof chunk, 0);
		if (n <= 0)
			eof = true; /* a reset counts as closed too */
		else
			fwrite(chunk, 1, (size_t)n, m);
	}
	fclose(m);
	if (!eof) {
		free(buf);
		return NULL;
	}
	return buf;
}

struct http_res {
	int status;   /* 0: no HTTP answer (closed without one) */
	char *head;   /* status line and headers */
	char *body;
};

static void http_free(struct http_res *r)
{
	free(r->head);
	free(r->body);
}

/* GET target (HTTP/1.0, so the answer ends with the connection) with extra
 * header lines ("Name: value\r\n"...), or NULL. */
static struct http_res http_get(int port, const char *target, const char *extra)
{
	struct http_res r = {0};
	int fd = dial(port);
	ck_assert_msg(fd >= 0, "cannot connect to 127.0.0.1:%d: %s", port, strerror(errno));
	char req[8192];
	int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n%s\r\n", target,
			 extra ? extra : "");
	send_all(fd, req, (size_t)n);
	char *all = read_to_eof(fd, WAIT);
	close(fd);
	ck_assert_msg(all, "GET %s: no end of answer in %gs", target, WAIT);
	char *sep = strstr(all, "\r\n\r\n");
	if (sep && sscanf(all, "HTTP/1.%*d %d", &r.status) == 1) {
		r.head = strndup(all, (size_t)(sep - all));
		r.body = strdup(sep + 4);
	} else {
		r.head = strdup("");
		r.body = strdup("");
	}
	free(all);
	return r;
}

static char *metrics_conf(int port, const char *extra)
{
	char *s;
	ck_assert_int_ge(asprintf(&s,
				  "identifier: core1\n"
				  "timers: {loop_interval: 0.05, discovering_interval: 0.05, "
				  "shutdown_timeout: 3}\n"
				  "requirements:\n"
				  "  lowercase: {minimum: 1}\n"
				  "metrics:\n"
				  "  listen: 127.0.0.1:%d\n%s",
				  port, extra ? extra : ""),
			 0);
	return s;
}

static struct test_proc *start_with_metrics(int port, const char *extra)
{
	char *conf = metrics_conf(port, extra);
	fx_add_plugin("plugins/lowercase.so");
	fx_write_conf(conf);
	free(conf);
	struct test_proc *p = fx_start_orbitd();
	test_expect_line(p, "metrics: serving http://127.0.0.1:", WAIT);
	test_expect_line(p, "core compliant: 1/1", WAIT);
	return p;
}

/* `promtool check metrics` on text: its exit status, its complaints in
 * *out (malloc'd). */
static int promtool(const char *text, char **out)
{
	char *argv[] = {"/usr/bin/promtool", "check", "metrics", NULL};
	char *o = NULL, *e = NULL;
	int st = test_run(argv, NULL, text, WAIT, &o, &e);
	ck_assert_int_ne(st, -1);
	ck_assert_int_ge(asprintf(out, "%s%s", o ? o : "", e ? e : ""), 0);
	free(o);
	free(e);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

START_TEST(exposition_passes_promtool)
{
	int port = free_port();
	struct test_proc *p = start_with_metrics(port, NULL);

	/* The core is compliant once the Confirm is in; orbitd learns of the
	 * plugin process's side from its next report, a moment later. */
	static const char plugin_side[] = "orbitd_connections{side=\"plugin\",operation=\"lowercase\"} 1\n";
	struct http_res r = http_get(port, "/metrics", NULL);
	int scrapes = 1;
	for (double end = now_s() + WAIT; r.status == 200 && !strstr(r.body, plugin_side) && now_s() < end;) {
		struct timespec ts = {0, 50 * 1000 * 1000};
		nanosleep(&ts, NULL); /* between polls of an outside process's state */
		http_free(&r);
		r = http_get(port, "/metrics", NULL);
		scrapes++;
	}
	ck_assert_int_eq(r.status, 200);
	ck_assert_msg(strstr(r.head, "Content-Type: text/plain; version=0.0.4"), "%s", r.head);
	char *why = NULL;
	int rc = promtool(r.body, &why);
	if (rc != 0) /* check's messages are short: the exposition goes to stderr */
		fprintf(stderr, "--- exposition\n%s", r.body);
	ck_assert_msg(rc == 0, "promtool check metrics: exit %d\n%.400s", rc, why);
	free(why);
	/* What the daemon knows, as it knows it. */
	static const char *const want[] = {
		"# TYPE orbitd_build_info gauge\norbitd_build_info{version=\"",
		"orbitd_compliant 1\n",
		"orbitd_requirement_satisfied{operation=\"lowercase\"} 1\n",
		"orbitd_requirement_minimum{operation=\"lowercase\"} 1\n",
		"orbitd_plugin_state{plugin=\"lowercase\",file=\"lowercase.so\",state=\"active\"} 1\n",
		"orbitd_plugin_info{plugin=\"lowercase\",file=\"lowercase.so\",version=\"",
		"isolation=\"process\"} 1\n",
		"orbitd_plugin_restarts_total{plugin=\"lowercase\",file=\"lowercase.so\"} 0\n",
		"orbitd_plugin_operation_max_inflight{plugin=\"lowercase\",file=\"lowercase.so\","
		"operation=\"lowercase\"} 64\n",
		"orbitd_connections{side=\"core\",operation=\"lowercase\"} 1\n",
		"orbitd_connections{side=\"plugin\",operation=\"lowercase\"} 1\n",
		"# TYPE orbitd_control_refused_total counter\n",
		"orbitd_protocol_messages_sent_total{role=\"core\",orbiter=\"core1\",kind=\"request\"}",
		/* The plugin process's own orbiter, from its report. */
		"orbitd_protocol_messages_sent_total{role=\"plugin\",orbiter=\"lowercase\",kind=\"confirm\"} 1\n",
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		if (!strstr(r.body, want[i])) {
			fprintf(stderr, "--- exposition\n%s", r.body);
			ck_abort_msg("no \"%s\" in the exposition", want[i]);
		}
	/* Each scrape counts itself. */
	char scraped[64];
	snprintf(scraped, sizeof scraped, "orbitd_metrics_scrapes_total %d\n", scrapes);
	ck_assert_msg(strstr(r.body, scraped), "no \"%s\"", scraped);
	ck_assert_msg(!strstr(r.body, "orbitd_mqtt_"), "MQTT families without an mqtt: section");
	http_free(&r);

	/* OpenMetrics for a scraper that asks for it. */
	r = http_get(port, "/metrics", "Accept: application/openmetrics-text; version=1.0.0\r\n");
	ck_assert_int_eq(r.status, 200);
	ck_assert_msg(strstr(r.head, "Content-Type: application/openmetrics-text; version=1.0.0"),
		      "%s", r.head);
	size_t n = strlen(r.body);
	ck_assert_msg(n > 6 && !strcmp(r.body + n - 6, "# EOF\n"), "no final # EOF:\n%s", r.body);
	ck_assert_msg(strstr(r.body, "# TYPE orbitd_build info\n"), "%s", r.body);
	ck_assert_msg(strstr(r.body, "# TYPE orbitd_plugin_restarts counter\n"), "%s", r.body);
	http_free(&r);

	r = http_get(port, "/other", NULL);
	ck_assert_int_eq(r.status, 404);
	http_free(&r);
	test_stop_clean(p, WAIT);
}
END_TEST

/* ---- a real Prometheus ------------------------------------------------ */

/* orbitctl -s fx.sock ARGS... (NULL-terminated) to completion: exit status. */
static int ctl(const char *first, ...)
{
	char *argv[16];
	size_t n = 0;
	char *bin = fx_bpath("bin/orbitctl");
	argv[n++] = bin;
	argv[n++] = "-s";
	argv[n++] = fx.sock;
	va_list ap;
	va_start(ap, first);
	for (const char *a = first; a; a = va_arg(ap, const char *)) {
		ck_assert(n < sizeof argv / sizeof argv[0] - 1);
		argv[n++] = (char *)a;
	}
	va_end(ap);
	argv[n] = NULL;
	char *out = NULL, *err = NULL;
	int st = test_run(argv, NULL, NULL, WAIT, &out, &err);
	ck_assert_msg(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "orbitctl %s: 0x%x\n%s%s",
		      first, st, out ? out : "", err ? err : "");
	free(out);
	free(err);
	free(bin);
	return 0;
}

static void urlencode(const char *s, char *out, size_t n)
{
	size_t k = 0;
	for (; *s && k + 4 < n; s++) {
		if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		    *s == '_')
			out[k++] = *s;
		else
			k += (size_t)snprintf(out + k, n - k, "%%%02X", (unsigned char)*s);
	}
	out[k] = '\0';
}

/* The value of query's first series at Prometheus on port, or -1 when it
 * has none (yet); *labels (if non-NULL) a copy of its labels (decref). */
static double prom_query(int port, const char *query, json_t **labels)
{
	char enc[512], target[600];
	urlencode(query, enc, sizeof enc);
	snprintf(target, sizeof target, "/api/v1/query?query=%s", enc);
	struct http_res r = http_get(port, target, NULL);
	double v = -1;
	json_t *j = r.status == 200 ? json_loads(r.body, 0, NULL) : NULL;
	json_t *first = json_array_get(json_object_get(json_object_get(j, "data"), "result"), 0);
	const char *val = json_string_value(json_array_get(json_object_get(first, "value"), 1));
	if (val) {
		v = strtod(val, NULL);
		if (labels)
			*labels = json_incref(json_object_get(first, "metric"));
	}
	json_decref(j);
	http_free(&r);
	return v;
}

/* Poll the query until its value is at least want; the last value. */
static double prom_wait(int port, const char *query, double want)
{
	double end = now_s() + 3 * WAIT, v;
	while ((v = prom_query(port, query, NULL)) < want && now_s() < end) {
		struct timespec ts = {0, 200 * 1000 * 1000};
		nanosleep(&ts, NULL); /* between polls of an outside process's state */
	}
	return v;
}

START_TEST(prometheus_scrapes_orbitd)
{
	int port = free_port();
	struct test_proc *p = start_with_metrics(port, NULL);

	int pport = free_port();
	char *pconf = fx_tpath("prometheus.yml"), *pdata = fx_tpath("prometheus-data");
	FILE *f = fopen(pconf, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}\n"
		   "scrape_configs:\n"
		   "  - job_name: orbitd\n"
		   "    static_configs: [{targets: [\"127.0.0.1:%d\"]}]\n",
		port);
	fclose(f);
	char cfg_arg[600], data_arg[600], listen_arg[64];
	snprintf(cfg_arg, sizeof cfg_arg, "--config.file=%s", pconf);
	snprintf(data_arg, sizeof data_arg, "--storage.tsdb.path=%s", pdata);
	snprintf(listen_arg, sizeof listen_arg, "--web.listen-address=127.0.0.1:%d", pport);
	char *argv[] = {"/usr/bin/prometheus", cfg_arg, data_arg, listen_arg, "--log.level=warn",
			NULL};
	struct test_proc *prom = test_proc_start("prometheus", argv, NULL);
	ck_assert_ptr_nonnull(prom);

	/* Until Prometheus listens, connecting fails: wait for its port. */
	double end = now_s() + 3 * WAIT;
	int fd;
	while ((fd = dial(pport)) < 0 && now_s() < end) {
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	ck_assert_msg(fd >= 0, "prometheus never listened:\n%s", test_proc_output(prom));
	close(fd);

	json_t *labels = NULL;
	double v = -1;
	while ((v = prom_query(pport, "orbitd_build_info", &labels)) < 0 && now_s() < end) {
		struct timespec ts = {0, 200 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	ck_assert_msg(v == 1, "no orbitd_build_info in Prometheus:\n%s", test_proc_output(prom));
	ck_assert_str_eq(json_string_value(json_object_get(labels, "job")), "orbitd");
	ck_assert_str_eq(json_string_value(json_object_get(labels, "identifier")), "core1");
	ck_assert_ptr_nonnull(json_string_value(json_object_get(labels, "version")));
	json_decref(labels);
	ck_assert_double_eq(prom_wait(pport, "orbitd_compliant", 1), 1);

	/* An execution: the core's inputs of lowercase go from 0 to 1. */
	const char *inputs = "orbitd_operation_inputs_total{role=\"core\",operation=\"lowercase\"}";
	ck_assert_double_eq(prom_query(pport, inputs, NULL), 0);
	ctl("execute", "lowercase", "--data", "\"HeLLo\"", NULL);
	ck_assert_double_eq(prom_wait(pport, inputs, 1), 1);

	/* A restart of the plugin's process. */
	const char *restarts = "orbitd_plugin_restarts_total{plugin=\"lowercase\"}";
	ck_assert_double_eq(prom_query(pport, restarts, NULL), 0);
	ctl("plugin", "restart", "lowercase", NULL);
	ck_assert_double_eq(prom_wait(pport, restarts, 1), 1);
	ck_assert_double_eq(prom_wait(pport, "up{job=\"orbitd\"}", 1), 1);

	ck_assert_int_eq(test_proc_signal(prom, SIGTERM), 0);
	ck_assert_int_ne(test_proc_wait_exit(prom, WAIT), -1);
	test_proc_free(prom);
	free(pconf);
	free(pdata);
	test_stop_clean(p, WAIT);
}
END_TEST

/* ---- bounds ----------------------------------------------------------- */

START_TEST(bounds_refuse_with_a_log_line)
{
	int port = free_port();
	struct test_proc *p = start_with_metrics(port, "  max_connections: 2\n"
							"  max_request: 1024\n"
							"  timeout: 1s\n");

	/* Two silent clients hold both slots: a third is closed at once. */
	int a = dial(port), b = dial(port);
	ck_assert_int_ge(a, 0);
	ck_assert_int_ge(b, 0);
	int c = dial(port);
	ck_assert_int_ge(c, 0);
	char *got = read_to_eof(c, WAIT);
	ck_assert_msg(got && !*got, "a third connection was not closed without an answer");
	free(got);
	close(c);
	test_expect_line(p, "refused: max_connections (2) reached", WAIT);

	/* The silent ones go at the timeout, each with a line. */
	got = read_to_eof(a, WAIT);
	ck_assert_ptr_nonnull(got);
	free(got);
	got = read_to_eof(b, WAIT);
	ck_assert_ptr_nonnull(got);
	free(got);
	close(a);
	close(b);
	test_expect_line(p, "sent no request for 1s (timeout)", WAIT);
	test_expect_line(p, "sent no request for 1s (timeout)", WAIT);

	/* A request larger than max_request: closed, no metrics. */
	char big[2100];
	snprintf(big, sizeof big, "X-Padding: %0*d\r\n", 2000, 0);
	struct http_res r = http_get(port, "/metrics", big);
	ck_assert_msg(r.status != 200, "an oversize request was answered:\n%s", r.head);
	http_free(&r);
	test_expect_line(p, "larger than max_request (1024 bytes): connection closed", WAIT);

	/* The endpoint serves on, and counted each. */
	r = http_get(port, "/metrics", NULL);
	ck_assert_int_eq(r.status, 200);
	ck_assert_msg(strstr(r.body, "orbitd_metrics_refused_total 1\n"), "%s", r.body);
	ck_assert_msg(strstr(r.body, "orbitd_metrics_oversize_total 1\n"), "%s", r.body);
	ck_assert_msg(strstr(r.body, "orbitd_metrics_timed_out_total 2\n"), "%s", r.body);
	http_free(&r);

	/* A request stalled half-way is closed at the timeout. */
	int s = dial(port);
	ck_assert_int_ge(s, 0);
	const char *half = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
	send_all(s, half, strlen(half));
	got = read_to_eof(s, WAIT);
	ck_assert_msg(got && !strstr(got, "200 OK"), "a stalled request was answered");
	free(got);
	close(s);
	test_expect_line(p, "stalled mid-request for 1s (timeout)", WAIT);
	test_stop_clean(p, WAIT);
}
END_TEST

/* ---- reload and start ------------------------------------------------- */

START_TEST(reload_rebinds_or_keeps)
{
	int port = free_port();
	struct test_proc *p = start_with_metrics(port, NULL);

	/* A new address: the endpoint moves. */
	int port2 = free_port();
	char *conf = metrics_conf(port2, "  path: /m\n");
	fx_write_conf(conf);
	free(conf);
	test_proc_mark(p);
	ck_assert_int_eq(test_proc_signal(p, SIGHUP), 0);
	char want[80];
	snprintf(want, sizeof want, "metrics: serving http://127.0.0.1:%d/m", port2);
	test_expect_line(p, want, WAIT);
	test_expect_line(p, "reloaded:", WAIT);
	int fd = dial(port);
	ck_assert_msg(fd < 0, "the old address still accepts connections");
	struct http_res r = http_get(port2, "/m", NULL);
	ck_assert_int_eq(r.status, 200);
	http_free(&r);

	/* An address taken by someone else: logged, the endpoint stays. */
	int busy = free_port();
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)busy),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int holder = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_eq(bind(holder, (struct sockaddr *)&sa, sizeof sa), 0);
	ck_assert_int_eq(listen(holder, 1), 0);
	conf = metrics_conf(busy, "  path: /m\n");
	fx_write_conf(conf);
	free(conf);
	ck_assert_int_eq(test_proc_signal(p, SIGHUP), 0);
	snprintf(want, sizeof want, "cannot listen on 127.0.0.1:%d: Address already in use", busy);
	test_expect_line(p, want, WAIT);
	test_expect_line(p, "reloaded:", WAIT);
	r = http_get(port2, "/m", NULL);
	ck_assert_int_eq(r.status, 200);
	http_free(&r);
	test_stop_clean(p, WAIT);

	/* At start the same is fatal, and says which address. */
	p = fx_start_orbitd();
	int st = test_proc_wait_exit(p, WAIT);
	ck_assert_msg(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) != 0, "orbitd started: 0x%x", st);
	ck_assert_msg(strstr(test_proc_output(p), want), "no \"%s\" in:\n%s", want,
		      test_proc_output(p));
	test_proc_free(p);
	close(holder);
}
END_TEST

START_TEST(config_errors_name_the_key)
{
	static const char *const bad[][2] = {
		{"metrics: {listen: 127.0.0.1}\n", "expected HOST:PORT"},
		{"metrics: {listen: \"127.0.0.1:70000\"}\n", "the port must be 1..65535"},
		{"metrics: {listen: \"::1:9464\"}\n", "IPv6 address in brackets"},
		{"metrics: {path: metrics}\n", "must start with '/'"},
		{"metrics: {max_connections: 0}\n", "max_connections"},
		{"metrics: {colour: red}\n", "listen, path, max_connections, max_request or timeout"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		fx_write_conf(bad[i][0]);
		char *bin = fx_bpath("bin/orbitd"), *conf = fx_tpath("orbitd.yaml");
		char *argv[] = {bin, "-t", "-c", conf, NULL};
		char *out = NULL, *err = NULL;
		int st = test_run(argv, NULL, NULL, WAIT, &out, &err);
		ck_assert_msg(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) != 0, "%s accepted", bad[i][0]);
		ck_assert_msg(err && strstr(err, bad[i][1]) && strstr(err, "orbitd.yaml:1:"),
			      "%s: no \"%s\" in: %s", bad[i][0], bad[i][1], err ? err : "");
		free(out);
		free(err);
		free(bin);
		free(conf);
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("metrics");
	tcase_add_checked_fixture(tc, setup, fx_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, exposition_passes_promtool);
	tcase_add_test(tc, prometheus_scrapes_orbitd);
	tcase_add_test(tc, bounds_refuse_with_a_log_line);
	tcase_add_test(tc, reload_rebinds_or_keeps);
	tcase_add_test(tc, config_errors_name_the_key);
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
