/* test_daemon_bustap.c — orbitd's debug trace of the core's handshake on the
 * local bus (bustap): one debug line per Discover and per Offer to the core,
 * counted, in bus order; nothing for other topics; nothing above debug
 * level; nothing after bustap_free. */
#include "bustap.h"
#include "log.h"

#include "orbit/bus.h"

#include <check.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char logpath[64];
static int saved_stderr = -1;
static struct event_base *base;
static orbit_bus *bus;

static void setup(void)
{
	unsetenv("JOURNAL_STREAM");
	olog_init();
	olog_set_level(LOG_DEBUG);
	snprintf(logpath, sizeof logpath, "/tmp/orbitd-test-bustap-XXXXXX");
	int fd = mkstemp(logpath);
	ck_assert_int_ge(fd, 0);
	saved_stderr = dup(STDERR_FILENO);
	ck_assert_int_ge(dup2(fd, STDERR_FILENO), 0);
	close(fd);
	base = event_base_new();
	bus = orbit_local_bus_new(base);
	ck_assert_ptr_nonnull(bus);
}

static void teardown(void)
{
	orbit_bus_free(bus);
	event_base_free(base);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	unlink(logpath);
}

/* The captured log (malloc'd). */
static char *log_text(void)
{
	FILE *f = fopen(logpath, "re");
	ck_assert_ptr_nonnull(f);
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	for (int c; (c = fgetc(f)) != EOF;)
		fputc(c, m);
	fclose(m);
	fclose(f);
	return buf;
}

static void publish(const char *topic, const char *type)
{
	orbit_payload p = {(const uint8_t *)"\x02", 1, ORBIT_FMT_AVRO, type};
	ck_assert_int_eq(orbit_bus_publish(bus, topic, &p, 0), 0);
}

/* Deliver everything queued. */
static void drain(void)
{
	while (orbit_local_bus_flush(bus, 8) > 0)
		;
}

START_TEST(discovers_and_offers_traced_in_order)
{
	struct bustap *t = bustap_new(bus, "$handshake.discover", "core1");
	ck_assert_ptr_nonnull(t);
	publish("$handshake.discover", "DiscoverMessage");
	publish("$handshake.core1.offer", "OfferMessage");
	publish("$handshake.core2.offer", "OfferMessage");
	publish("$keepalive.core1", "KeepaliveMessage");
	publish("$handshake.discover", "DiscoverMessage");
	drain();
	char *log = log_text();
	const char *d1 = strstr(log, "local bus: DiscoverMessage on $handshake.discover (1 so far)\n");
	const char *o1 = strstr(log, "local bus: OfferMessage on $handshake.core1.offer (1 so far)\n");
	const char *d2 = strstr(log, "local bus: DiscoverMessage on $handshake.discover (2 so far)\n");
	ck_assert_msg(d1 && o1 && d2 && d1 < o1 && o1 < d2, "%s", log);
	ck_assert_msg(!strstr(log, "core2") && !strstr(log, "Keepalive"), "%s", log);
	free(log);
	bustap_free(t);
	/* Gone: nothing more is traced. */
	publish("$handshake.discover", "DiscoverMessage");
	drain();
	log = log_text();
	ck_assert_msg(!strstr(log, "(3 so far)"), "%s", log);
	free(log);
	bustap_free(NULL);
}
END_TEST

START_TEST(silent_above_debug)
{
	olog_set_level(LOG_INFO);
	struct bustap *t = bustap_new(bus, "$handshake.discover", "core1");
	ck_assert_ptr_nonnull(t);
	publish("$handshake.discover", "DiscoverMessage");
	drain();
	char *log = log_text();
	ck_assert_str_eq(log, "");
	free(log);
	bustap_free(t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("bustap");
	TCase *tc = tcase_create("bustap");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, discovers_and_offers_traced_in_order);
	tcase_add_test(tc, silent_above_debug);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
