/* test_workers.c — orbitd/loopq.c's embedded-node posts and orbitd/workers.c:
 * completions come back through the job's own node, queued jobs are not
 * started at stop, and a stop gives up on a job blocked forever (a read of
 * a pipe nobody writes) within its deadline, without the job's late return
 * touching anything. Real threads, a real event loop; no sleep decides a
 * result.
 */
#include "log.h"
#include "loopq.h"
#include "workers.h"

#include <check.h>
#include <errno.h>
#include <event2/event.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run the loop until *count reaches want (check's timeout ends a hang). */
static void loop_until(struct event_base *base, const int *count, int want)
{
	while (*count < want)
		ck_assert_int_ge(event_base_loop(base, EVLOOP_ONCE), 0);
}

/* ---- loopq_post_node --------------------------------------------------- */

struct item {
	struct loopq_node node;
	int *log;
	int *n;
	int tag;
};

static void record(void *arg)
{
	struct item *it = arg;
	it->log[(*it->n)++] = it->tag;
}

static void record_and_free(void *arg)
{
	record(arg);
	free(arg); /* the node is embedded: fn may free it */
}

START_TEST(post_node_in_order_reusable_and_freeable)
{
	struct event_base *base = event_base_new();
	struct loopq *q = loopq_new(base);
	ck_assert_ptr_nonnull(q);
	int log[8], n = 0;
	struct item a = {LOOPQ_NODE_INIT, log, &n, 1};
	struct item b = {LOOPQ_NODE_INIT, log, &n, 2};
	struct item *c = calloc(1, sizeof *c);
	ck_assert_ptr_nonnull(c);
	*c = (struct item){LOOPQ_NODE_INIT, log, &n, 4};

	loopq_post_node(q, &a.node, record, &a);
	ck_assert_int_eq(loopq_post(q, record, &b), 0);
	loopq_post_node(q, &c->node, record_and_free, c);
	loop_until(base, &n, 3);
	ck_assert_int_eq(log[0], 1);
	ck_assert_int_eq(log[1], 2);
	ck_assert_int_eq(log[2], 4);
	/* A node is the poster's again once its fn ran. */
	a.tag = 3;
	loopq_post_node(q, &a.node, record, &a);
	loop_until(base, &n, 4);
	ck_assert_int_eq(log[3], 3);
	/* Still queued at free: run there. */
	loopq_post_node(q, &b.node, record, &b);
	loopq_free(q);
	ck_assert_int_eq(n, 5);
	ck_assert_int_eq(log[4], 2);
	event_base_free(base);
}
END_TEST

/* ---- workers ----------------------------------------------------------- */

struct job {
	int block_fd;    /* -1: return at once; else read it (blocks) */
	int started_fd;  /* -1, or written once work runs */
	int returned_fd; /* -1, or written when work returns */
	bool ran;
	int *done_count;
};

static void work(void *arg)
{
	struct job *j = arg;
	char c = 'x';
	j->ran = true;
	if (j->started_fd >= 0)
		ck_assert_int_eq(write(j->started_fd, &c, 1), 1);
	if (j->block_fd >= 0)
		while (read(j->block_fd, &c, 1) < 0 && errno == EINTR)
			;
	if (j->returned_fd >= 0)
		ck_assert_int_eq(write(j->returned_fd, &c, 1), 1);
}

static void done(void *arg)
{
	struct job *j = arg;
	(*j->done_count)++;
}

static bool readable_within(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return poll(&p, 1, ms) == 1;
}

START_TEST(jobs_come_back_through_the_loop)
{
	struct event_base *base = event_base_new();
	struct loopq *q = loopq_new(base);
	struct workers *w = workers_new(q, 2);
	ck_assert_ptr_nonnull(w);
	int n = 0;
	struct job jobs[50];
	for (size_t i = 0; i < 50; i++) {
		jobs[i] = (struct job){-1, -1, -1, false, &n};
		ck_assert_int_eq(workers_submit(w, work, done, &jobs[i]), 0);
	}
	loop_until(base, &n, 50);
	ck_assert_uint_eq(workers_busy(w), 0);
	ck_assert_uint_eq(workers_stop(w, 5), 0);
	loopq_free(q);
	ck_assert_int_eq(n, 50);
	for (size_t i = 0; i < 50; i++)
		ck_assert(jobs[i].ran);
	event_base_free(base);
}
END_TEST

/* Kept past the test's end: an abandoned job's arg must never be freed. */
static struct job stuck_job, queued_job;

START_TEST(stop_abandons_a_stuck_job_within_its_deadline)
{
	olog_set_level(LOG_ERR); /* the abandon line is expected */
	struct event_base *base = event_base_new();
	struct loopq *q = loopq_new(base);
	struct workers *w = workers_new(q, 1);
	ck_assert_ptr_nonnull(w);
	int block[2], started[2], returned[2], n = 0;
	ck_assert_int_eq(pipe(block), 0);
	ck_assert_int_eq(pipe(started), 0);
	ck_assert_int_eq(pipe(returned), 0);
	stuck_job = (struct job){block[0], started[1], returned[1], false, &n};
	queued_job = (struct job){-1, -1, -1, false, &n};
	ck_assert_int_eq(workers_submit(w, work, done, &stuck_job), 0);
	ck_assert(readable_within(started[0], 10000));
	/* One thread, and it is stuck: this one stays queued. */
	ck_assert_int_eq(workers_submit(w, work, done, &queued_job), 0);
	ck_assert_uint_eq(workers_busy(w), 2);

	double t0 = now();
	ck_assert_uint_eq(workers_stop(w, 0.2), 1);
	double took = now() - t0;
	ck_assert_msg(took >= 0.19 && took < 5.0, "workers_stop took %.3f s", took);
	/* The queued job was not started, and its done still runs. */
	loopq_free(q);
	ck_assert(!queued_job.ran);
	ck_assert_int_eq(n, 1);
	event_base_free(base);

	/* The stuck job returns late: its thread hands back nothing (the
	 * queue is gone) and exits; done is never run. */
	close(block[1]);
	ck_assert(readable_within(returned[0], 10000));
	ck_assert_int_eq(n, 1);
	close(block[0]);
	close(started[0]);
	close(started[1]);
	close(returned[0]);
	close(returned[1]);
}
END_TEST

START_TEST(stop_waits_for_running_jobs_under_the_deadline)
{
	struct event_base *base = event_base_new();
	struct loopq *q = loopq_new(base);
	struct workers *w = workers_new(q, 1);
	int block[2], started[2], n = 0;
	ck_assert_int_eq(pipe(block), 0);
	ck_assert_int_eq(pipe(started), 0);
	struct job j = {block[0], started[1], -1, false, &n};
	ck_assert_int_eq(workers_submit(w, work, done, &j), 0);
	ck_assert(readable_within(started[0], 10000));
	/* Let the job return by itself: its pipe reaches EOF once closed. */
	close(block[1]);
	ck_assert_uint_eq(workers_stop(w, 30), 0);
	loopq_free(q);
	ck_assert_int_eq(n, 1);
	ck_assert(j.ran);
	event_base_free(base);
	close(block[0]);
	close(started[0]);
	close(started[1]);
}
END_TEST

START_TEST(a_pool_that_never_ran_a_job_stops_at_once)
{
	struct event_base *base = event_base_new();
	struct loopq *q = loopq_new(base);
	struct workers *w = workers_new(q, 3);
	ck_assert_uint_eq(workers_stop(w, 0), 0);
	ck_assert_uint_eq(workers_stop(NULL, 0), 0);
	loopq_free(q);
	event_base_free(base);
}
END_TEST

static Suite *workers_suite(void)
{
	Suite *s = suite_create("workers");
	TCase *tc = tcase_create("workers");

	tcase_add_test(tc, post_node_in_order_reusable_and_freeable);
	tcase_add_test(tc, jobs_come_back_through_the_loop);
	tcase_add_test(tc, stop_abandons_a_stuck_job_within_its_deadline);
	tcase_add_test(tc, stop_waits_for_running_jobs_under_the_deadline);
	tcase_add_test(tc, a_pool_that_never_ran_a_job_stops_at_once);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(workers_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
