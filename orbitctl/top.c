/* top.c — see top.h. */
#include "top.h"
#include "conn.h"
#include "stats.h"
#include "table.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

/* Rows a frame lists at most off a terminal (a terminal: its height). */
#define TOP_MAX_ROWS 1000

/* One frame's rows and their rates (per second; NaN: not known yet). */
struct frame {
	json_t *doc; /* the rows borrow from it */
	struct stats_row *rows;
	size_t n;
	double *exec_rate, *out_rate, *err_rate;
};

static void frame_free(struct frame *f)
{
	stats_rows_free(f->rows, f->n);
	free(f->exec_rate);
	free(f->out_rate);
	free(f->err_rate);
	json_decref(f->doc);
	*f = (struct frame){0};
}

static double *rates_new(size_t n)
{
	double *v = malloc((n ? n : 1) * sizeof *v);
	if (!v) {
		fputs("orbitctl: out of memory\n", stderr);
		exit(CTL_EXIT_FAILED);
	}
	for (size_t i = 0; i < n; i++)
		v[i] = NAN;
	return v;
}

static const struct stats_row *same_row(const struct frame *prev, const struct stats_row *r,
					size_t *at)
{
	for (size_t i = 0; i < prev->n; i++) {
		const struct stats_row *p = &prev->rows[i];
		if (!strcmp(p->where, r->where) && !strcmp(p->bus, r->bus) &&
		    !strcmp(p->operation, r->operation)) {
			*at = i;
			return p;
		}
	}
	return NULL;
}

/* Rates of cur against prev: counters over the orbiter's snapshot times;
 * the previous rate while that orbiter has no newer snapshot. */
static void rates(struct frame *cur, const struct frame *prev)
{
	cur->exec_rate = rates_new(cur->n);
	cur->out_rate = rates_new(cur->n);
	cur->err_rate = rates_new(cur->n);
	for (size_t i = 0; prev && i < cur->n; i++) {
		size_t j;
		const struct stats_row *r = &cur->rows[i], *p = same_row(prev, r, &j);
		if (!p)
			continue;
		double dt = r->taken - p->taken;
		if (dt <= 0) {
			cur->exec_rate[i] = prev->exec_rate[j];
			cur->out_rate[i] = prev->out_rate[j];
			cur->err_rate[i] = prev->err_rate[j];
			continue;
		}
		cur->exec_rate[i] = (double)(r->inputs - p->inputs) / dt;
		cur->out_rate[i] = (double)(r->outputs - p->outputs) / dt;
		cur->err_rate[i] = (double)(r->errors + r->drops - p->errors - p->drops) / dt;
	}
}

/* NaN last, then descending. */
static int desc(double a, double b)
{
	if (isnan(a) || isnan(b))
		return isnan(a) - isnan(b);
	return a < b ? 1 : a > b ? -1 : 0;
}

static const struct frame *sort_frame;
static bool sort_latency;

static int by_rank(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	const struct frame *f = sort_frame;
	int c = sort_latency ? desc(f->rows[i].p99, f->rows[j].p99)
			     : desc(f->exec_rate[i], f->exec_rate[j]);
	if (!c)
		c = desc((double)f->rows[i].inputs, (double)f->rows[j].inputs);
	return c ? c : (i > j) - (i < j);
}

static const char *rate_text(double v)
{
	static char buf[3][32];
	static unsigned k;
	k = (k + 1) % 3;
	if (isnan(v))
		return "-";
	snprintf(buf[k], sizeof buf[k], v < 10 ? "%.1f" : "%.0f", v);
	return buf[k];
}

static void render(FILE *out, const struct frame *f, const struct top_opts *o, size_t max_rows,
		   bool tty)
{
	static const char *const head[] = {"WHERE", "BUS", "OPERATION", "EXEC/s", "OUT/s",
					   "ERR/s", "EXEC", "ERR", "DROP", "P50", "P99"};
	size_t *order = malloc((f->n ? f->n : 1) * sizeof *order);
	if (!order) {
		fputs("orbitctl: out of memory\n", stderr);
		exit(CTL_EXIT_FAILED);
	}
	for (size_t i = 0; i < f->n; i++)
		order[i] = i;
	sort_frame = f;
	sort_latency = o->by_latency;
	qsort(order, f->n, sizeof *order, by_rank);
	time_t now = time(NULL);
	struct tm tm;
	char clock[16];
	strftime(clock, sizeof clock, "%H:%M:%S", localtime_r(&now, &tm));
	fprintf(out, "orbitctl top - %s - every %gs - %zu operations - by %s%s\n", clock, o->delay,
		f->n, o->by_latency ? "latency p99" : "executions/s",
		tty ? " - s: order, q: quit" : "");
	struct table *t = table_new(11, head);
	for (size_t k = 0; k < f->n && k < max_rows; k++) {
		size_t i = order[k];
		const struct stats_row *r = &f->rows[i];
		table_row(t);
		table_cell(t, TC_NONE, "%s", r->where);
		table_cell(t, TC_NONE, "%s", r->bus);
		table_cell(t, TC_NONE, "%s", r->operation);
		table_cell(t, TC_NONE, "%s", rate_text(f->exec_rate[i]));
		table_cell(t, TC_NONE, "%s", rate_text(f->out_rate[i]));
		table_cell(t, f->err_rate[i] > 0 ? TC_RED : TC_NONE, "%s", rate_text(f->err_rate[i]));
		table_cell(t, TC_NONE, "%" JSON_INTEGER_FORMAT, r->inputs);
		table_cell(t, r->errors ? TC_RED : TC_NONE, "%" JSON_INTEGER_FORMAT, r->errors);
		table_cell(t, r->drops ? TC_YELLOW : TC_NONE, "%" JSON_INTEGER_FORMAT, r->drops);
		table_cell(t, TC_NONE, "%s", stats_latency(r->p50));
		table_cell(t, TC_NONE, "%s", stats_latency(r->p99));
	}
	table_print(t, out);
	table_free(t);
	free(order);
}

/* Wait up to s seconds for a key on a terminal: 'q' ends (true), 's'
 * flips the order. SIGINT ends too. */
static bool wait_keys(double s, struct top_opts *o, bool keys)
{
	struct timespec end, now;
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += (time_t)s;
	end.tv_nsec += (long)((s - floor(s)) * 1e9);
	if (end.tv_nsec >= 1000000000L) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000L;
	}
	for (;;) {
		if (conn_interrupted)
			return true;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long ms = (long)(end.tv_sec - now.tv_sec) * 1000 + (end.tv_nsec - now.tv_nsec) / 1000000;
		if (ms <= 0)
			return false;
		struct pollfd p = {keys ? STDIN_FILENO : -1, POLLIN, 0};
		int rc = poll(&p, 1, (int)ms);
		if (rc < 0 && errno != EINTR)
			return true;
		char c;
		if (rc > 0 && (p.revents & (POLLHUP | POLLERR)))
			keys = false; /* stdin gone: time only */
		else if (rc > 0 && read(STDIN_FILENO, &c, 1) == 1) {
			if (c == 'q' || c == 'Q')
				return true;
			if (c == 's')
				o->by_latency = !o->by_latency;
		}
	}
}

static size_t term_rows(void)
{
	struct winsize ws;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 3)
		return ws.ws_row - 3u; /* the title, the header and the cursor's line */
	return 20;
}

int top_run(const struct top_opts *opts, top_fetch_fn fetch, void *ctx)
{
	struct top_opts o = *opts;
	bool tty = isatty(STDOUT_FILENO);
	bool keys = tty && isatty(STDIN_FILENO);
	long frames = o.frames ? o.frames : tty ? 0 : 1;
	struct termios saved, raw;
	struct frame prev = {0}, cur = {0};
	int rc = fetch(ctx, &prev.doc);
	if (rc != CTL_EXIT_OK)
		return rc;
	prev.n = stats_rows(prev.doc, &prev.rows);
	rates(&prev, NULL);
	if (keys && tcgetattr(STDIN_FILENO, &saved) == 0) {
		raw = saved;
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO); /* keys at once; ^C still signals */
		raw.c_cc[VMIN] = 1;
		raw.c_cc[VTIME] = 0;
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	} else {
		keys = false;
	}
	if (tty)
		fputs("\033[?1049h\033[H\033[2Jorbitctl top: collecting...\n", stdout);
	fflush(stdout);
	for (long k = 0; frames == 0 || k < frames; k++) {
		if (wait_keys(o.delay, &o, keys))
			break;
		if ((rc = fetch(ctx, &cur.doc)) != CTL_EXIT_OK)
			break;
		cur.n = stats_rows(cur.doc, &cur.rows);
		rates(&cur, &prev);
		if (tty)
			fputs("\033[H\033[2J", stdout);
		else if (k)
			fputc('\n', stdout);
		render(stdout, &cur, &o, tty ? term_rows() : TOP_MAX_ROWS, tty);
		fflush(stdout);
		frame_free(&prev);
		prev = cur;
		cur = (struct frame){0};
	}
	if (tty)
		fputs("\033[?1049l", stdout);
	if (keys)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	frame_free(&prev);
	return rc;
}
