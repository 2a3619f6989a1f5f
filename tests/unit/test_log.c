/* test_log.c — orbitd/log.c: both line formats, level filtering, level
 * names, truncation, newline folding, errno preservation, whole lines
 * under concurrent logging and the per-kind rate limit (on a clock the test
 * sets). stderr is captured through a pipe.
 */
#include "log.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int pipefd[2] = { -1, -1 };
static int saved_stderr = -1;
static char captured[1 << 17];

/* Points fd 2 at a pipe; the pipe is large enough for every test's output. */
static void capture_start(void)
{
	ck_assert_int_eq(pipe(pipefd), 0);
	ck_assert_int_ge(fcntl(pipefd[0], F_SETFL, O_NONBLOCK), 0);
	fcntl(pipefd[1], F_SETPIPE_SZ, 1 << 17);
	saved_stderr = dup(STDERR_FILENO);
	ck_assert_int_ge(saved_stderr, 0);
	ck_assert_int_ge(dup2(pipefd[1], STDERR_FILENO), 0);
}

/* Restores stderr and returns everything written meanwhile. */
static const char *capture_end(size_t *len)
{
	size_t n = 0;
	ssize_t r;

	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	close(pipefd[1]);
	while (n < sizeof captured - 1 && (r = read(pipefd[0], captured + n, sizeof captured - 1 - n)) > 0)
		n += (size_t)r;
	close(pipefd[0]);
	captured[n] = '\0';
	if (len)
		*len = n;
	return captured;
}

static void use_timestamps(void)
{
	unsetenv("JOURNAL_STREAM");
	olog_init();
	olog_set_level(LOG_DEBUG);
}

static void use_journal(void)
{
	setenv("JOURNAL_STREAM", "8:12345", 1);
	olog_init();
	olog_set_level(LOG_DEBUG);
}

static void assert_matches(const char *text, const char *pattern)
{
	regex_t re;

	ck_assert_int_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
	ck_assert_msg(regexec(&re, text, 0, NULL, 0) == 0, "'%s' does not match '%s'", text, pattern);
	regfree(&re);
}

START_TEST(timestamp_format)
{
	use_timestamps();
	capture_start();
	olog(LOG_WARNING, "hello %d", 42);
	olog(LOG_ERR, "e");
	olog(LOG_NOTICE, "n");
	olog(LOG_INFO, "i");
	olog(LOG_DEBUG, "d");
	assert_matches(capture_end(NULL),
		       "^[0-9]{4}-[01][0-9]-[0-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-6][0-9]\\.[0-9]{3} "
		       "WARNING hello 42\n"
		       "[-0-9]{10} [0-9:]{8}\\.[0-9]{3} ERROR e\n"
		       "[-0-9]{10} [0-9:]{8}\\.[0-9]{3} NOTICE n\n"
		       "[-0-9]{10} [0-9:]{8}\\.[0-9]{3} INFO i\n"
		       "[-0-9]{10} [0-9:]{8}\\.[0-9]{3} DEBUG d\n$");
}
END_TEST

START_TEST(journal_format)
{
	use_journal();
	capture_start();
	olog(LOG_ERR, "boom %s", "now");
	olog(LOG_WARNING, "w");
	olog(LOG_NOTICE, "n");
	olog(LOG_INFO, "i");
	olog(LOG_DEBUG, "d");
	ck_assert_str_eq(capture_end(NULL), "<3>boom now\n<4>w\n<5>n\n<6>i\n<7>d\n");

	/* An empty JOURNAL_STREAM is not a journal. */
	setenv("JOURNAL_STREAM", "", 1);
	olog_init();
	capture_start();
	olog(LOG_INFO, "x");
	assert_matches(capture_end(NULL), "^[-0-9]{10} [0-9:]{8}\\.[0-9]{3} INFO x\n$");
}
END_TEST

START_TEST(level_filter)
{
	use_journal();
	olog_set_level(LOG_NOTICE);
	ck_assert_int_eq(olog_get_level(), LOG_NOTICE);
	capture_start();
	olog(LOG_DEBUG, "hidden");
	olog(LOG_INFO, "hidden");
	olog(LOG_NOTICE, "shown");
	olog(LOG_ERR, "shown too");
	ck_assert_str_eq(capture_end(NULL), "<5>shown\n<3>shown too\n");

	/* Out-of-range levels are clamped, not trusted. */
	olog_set_level(42);
	ck_assert_int_eq(olog_get_level(), LOG_DEBUG);
	capture_start();
	olog(99, "x");
	olog(-3, "y");
	ck_assert_str_eq(capture_end(NULL), "<7>x\n<0>y\n");
}
END_TEST

START_TEST(level_names)
{
	static const struct {
		const char *name;
		int level;
	} ok[] = {
		{ "debug", LOG_DEBUG }, { "info", LOG_INFO }, { "notice", LOG_NOTICE },
		{ "warning", LOG_WARNING }, { "warn", LOG_WARNING }, { "error", LOG_ERR },
		{ "err", LOG_ERR }, { "DEBUG", LOG_DEBUG }, { "Warning", LOG_WARNING },
	};
	int level = -1;

	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		ck_assert_int_eq(olog_parse_level(ok[i].name, &level), 0);
		ck_assert_int_eq(level, ok[i].level);
	}
	level = 1234;
	ck_assert_int_eq(olog_parse_level("loud", &level), -EINVAL);
	ck_assert_int_eq(olog_parse_level("", &level), -EINVAL);
	ck_assert_int_eq(olog_parse_level(NULL, &level), -EINVAL);
	ck_assert_int_eq(level, 1234);
	ck_assert_str_eq(olog_level_name(LOG_DEBUG), "debug");
	ck_assert_str_eq(olog_level_name(LOG_INFO), "info");
	ck_assert_str_eq(olog_level_name(LOG_NOTICE), "notice");
	ck_assert_str_eq(olog_level_name(LOG_WARNING), "warning");
	ck_assert_str_eq(olog_level_name(LOG_ERR), "error");
	ck_assert_str_eq(olog_level_name(100), "debug");
}
END_TEST

START_TEST(truncation)
{
	static char big[3 * OLOG_LINE_MAX];
	const char *out;
	size_t len;

	use_journal();
	memset(big, 'a', sizeof big - 1);
	capture_start();
	olog(LOG_INFO, "%s", big);
	out = capture_end(&len);
	ck_assert_uint_eq(len, OLOG_LINE_MAX);
	ck_assert(!strncmp(out, "<6>aaa", 6));
	ck_assert_str_eq(out + len - 4, "\xe2\x80\xa6\n");
	ck_assert_int_eq(out[len - 5], 'a');

	/* A cut never leaves half a UTF-8 character: 2-byte 'é' everywhere. */
	for (size_t i = 0; i + 2 < sizeof big; i += 2)
		memcpy(big + i, "\xc3\xa9", 2);
	big[sizeof big - 1] = '\0';
	for (int shift = 0; shift < 2; shift++) {
		capture_start();
		olog(LOG_INFO, "%.*s%s", shift, "x", big);
		out = capture_end(&len);
		ck_assert_uint_le(len, OLOG_LINE_MAX);
		ck_assert_str_eq(out + len - 4, "\xe2\x80\xa6\n");
		/* before the ellipsis: a complete "é" */
		ck_assert_int_eq((unsigned char)out[len - 6], 0xc3);
		ck_assert_int_eq((unsigned char)out[len - 5], 0xa9);
	}

	/* Exactly fitting messages are not cut. */
	memset(big, 'b', sizeof big);
	big[OLOG_LINE_MAX - 3 - 1 - 3] = '\0'; /* "<6>" + body + "…"-room(3) + "\n" */
	capture_start();
	olog(LOG_INFO, "%s", big);
	out = capture_end(&len);
	ck_assert_uint_eq(len, 3 + strlen(big) + 1);
	ck_assert_int_eq(out[len - 2], 'b');
}
END_TEST

START_TEST(newlines_folded)
{
	use_journal();
	capture_start();
	olog(LOG_INFO, "first\nsecond\r\nthird\n\n");
	olog(LOG_INFO, "\n");
	ck_assert_str_eq(capture_end(NULL), "<6>first second  third\n<6>\n");
}
END_TEST

START_TEST(errno_kept)
{
	use_journal();
	capture_start();
	errno = ENOENT;
	olog(LOG_ERR, "open: %m");
	ck_assert_int_eq(errno, ENOENT);
	errno = EACCES;
	olog(LOG_DEBUG + 1, "filtered");
	ck_assert_int_eq(errno, EACCES);
	ck_assert_str_eq(capture_end(NULL), "<3>open: No such file or directory\n<7>filtered\n");
}
END_TEST

#define THREADS 4
#define LINES 200

static void *logger(void *arg)
{
	int id = (int)(intptr_t)arg;

	for (int i = 0; i < LINES; i++)
		olog(LOG_INFO, "thread %d line %03d %s", id, i, "payload-payload-payload-payload");
	return NULL;
}

START_TEST(threads_whole_lines)
{
	pthread_t t[THREADS];
	int seen[THREADS] = { 0 };
	char *save = NULL, *line;

	use_journal();
	olog_set_rate_limit(0); /* every line, to see them all whole */
	capture_start();
	for (int i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, logger, (void *)(intptr_t)i), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	capture_end(NULL);
	for (line = strtok_r(captured, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		int id, n, end = 0;

		ck_assert_msg(sscanf(line, "<6>thread %d line %d payload-payload-payload-payload%n",
				     &id, &n, &end) == 2 && end == (int)strlen(line),
			      "mangled line '%s'", line);
		ck_assert_int_eq(n, seen[id]++); /* each thread's lines in its own order */
	}
	for (int i = 0; i < THREADS; i++)
		ck_assert_int_eq(seen[i], LINES);
}
END_TEST

/* ---- rate limit ---- */

static double fake_now;

static double fake_clock(void)
{
	return fake_now;
}

static void use_fake_clock(unsigned rate)
{
	use_journal();
	olog_set_rate_limit(rate);
	olog_set_clock(fake_clock);
	fake_now = 100;
}

static int count_lines(const char *text, const char *needle)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void flood(int n)
{
	for (int i = 0; i < n; i++)
		olog(LOG_WARNING, "dropped forged message %d", i);
}

/* The first 10 s worth of lines of a kind go out; the rest are counted
 * and the count ends the next line of that kind the budget allows. */
START_TEST(rate_limit_per_kind)
{
	use_fake_clock(3);
	capture_start();
	flood(10000);
	olog(LOG_WARNING, "another kind"); /* its own budget */
	const char *out = capture_end(NULL);
	ck_assert_int_eq(count_lines(out, "<4>dropped forged message "), 30);
	ck_assert(strstr(out, "<4>dropped forged message 29\n<4>another kind\n"));
	ck_assert(!strstr(out, "suppressed"));
	/* Half a second later: one token and a half back. */
	fake_now = 100.5;
	capture_start();
	flood(5);
	ck_assert_str_eq(capture_end(NULL),
			 "<4>dropped forged message 0 (9970 similar messages suppressed)\n");
	/* A quiet minute refills the bucket to its size, not more. */
	fake_now = 160;
	capture_start();
	flood(40);
	out = capture_end(NULL);
	ck_assert_int_eq(count_lines(out, "\n"), 30);
	ck_assert(!strncmp(out, "<4>dropped forged message 0 (4 similar messages suppressed)\n"
				"<4>dropped forged message 1\n", 88));
	/* 10 s of a steady flood: 3 lines a second. */
	capture_start();
	for (int i = 0; i < 10 * 64; i++) {
		fake_now += 1.0 / 64;
		flood(1);
	}
	out = capture_end(NULL);
	ck_assert_int_eq(count_lines(out, "\n"), 30);
	ck_assert_int_eq(count_lines(out, "similar messages suppressed"), 30);
}
END_TEST

/* A burst followed by silence: once the kind has been quiet for a second,
 * the periodic flush writes its count with a sample, at the kind's level,
 * once; the next line of the kind then has nothing left to report. */
START_TEST(rate_limit_burst_then_silence)
{
	use_fake_clock(3);
	capture_start();
	flood(100);
	fake_now = 100.5;
	olog_flush_suppressed(1.0); /* not quiet long enough */
	const char *out = capture_end(NULL);
	ck_assert_int_eq(count_lines(out, "\n"), 30);
	ck_assert(!strstr(out, "suppressed"));
	fake_now = 101.2;
	capture_start();
	olog_flush_suppressed(1.0);
	olog_flush_suppressed(1.0);
	ck_assert_str_eq(capture_end(NULL), "<4>70 similar messages suppressed, none for 1s; the last "
					    "one like: dropped forged message 29\n");
	capture_start();
	flood(1);
	ck_assert_str_eq(capture_end(NULL), "<4>dropped forged message 0\n");
}
END_TEST

/* 0 is unlimited; NULL kinds (liborbit's forwarded lines) are never limited;
 * filtered levels do not spend the budget. */
START_TEST(rate_limit_off_and_exempt)
{
	use_fake_clock(0);
	capture_start();
	flood(50);
	ck_assert_int_eq(count_lines(capture_end(NULL), "\n"), 50);

	use_fake_clock(2);
	capture_start();
	for (int i = 0; i < 50; i++)
		olog_kind(NULL, LOG_WARNING, "%s", "forwarded");
	ck_assert_int_eq(count_lines(capture_end(NULL), "<4>forwarded\n"), 50);

	static const char kind;
	olog_set_level(LOG_INFO);
	capture_start();
	for (int i = 0; i < 50; i++)
		olog_kind(&kind, LOG_DEBUG, "filtered %d", i);
	for (int i = 0; i < 25; i++)
		olog_kind(&kind, LOG_INFO, "shown %d", i);
	const char *out = capture_end(NULL);
	ck_assert_int_eq(count_lines(out, "<6>shown "), 20);
	ck_assert(strstr(out, "<6>shown 19\n"));
}
END_TEST

/* Several threads spending one kind's budget: exactly the budget goes out,
 * whole lines. */
static void *flooder(void *arg)
{
	(void)arg;
	flood(2000);
	return NULL;
}

START_TEST(rate_limit_threads)
{
	pthread_t t[THREADS];

	use_fake_clock(7);
	capture_start();
	for (int i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, flooder, NULL), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	fake_now += 1;
	flood(1);
	const char *out = capture_end(NULL);
	ck_assert_int_eq(count_lines(out, "<4>dropped forged message "), 71);
	ck_assert_int_eq(count_lines(out, "(7930 similar messages suppressed)\n"), 1);
}
END_TEST

static Suite *log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("log");

	tcase_add_test(tc, timestamp_format);
	tcase_add_test(tc, journal_format);
	tcase_add_test(tc, level_filter);
	tcase_add_test(tc, level_names);
	tcase_add_test(tc, truncation);
	tcase_add_test(tc, newlines_folded);
	tcase_add_test(tc, errno_kept);
	tcase_add_test(tc, threads_whole_lines);
	tcase_add_test(tc, rate_limit_per_kind);
	tcase_add_test(tc, rate_limit_burst_then_silence);
	tcase_add_test(tc, rate_limit_off_and_exempt);
	tcase_add_test(tc, rate_limit_threads);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(log_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
