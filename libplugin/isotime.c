/* isotime.c — see isotime.h. */
#include "isotime.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

/* datetime.now().isoformat(): naive local time, fraction omitted at 0 µs. */
int isotime_now(char buf[ISOTIME_MAX], size_t *len)
{
	struct timespec ts;
	struct tm tm;
	long usec;
	int n;

	if (clock_gettime(CLOCK_REALTIME, &ts) || !localtime_r(&ts.tv_sec, &tm))
		return errno ? -errno : -EINVAL;
	usec = ts.tv_nsec / 1000;
	n = snprintf(buf, ISOTIME_MAX, "%04d-%02d-%02dT%02d:%02d:%02d",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		     tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (usec && n > 0 && n < ISOTIME_MAX)
		n += snprintf(buf + n, (size_t)(ISOTIME_MAX - n), ".%06ld", usec);
	if (n <= 0 || n >= ISOTIME_MAX)
		return -EOVERFLOW;
	*len = (size_t)n;
	return 0;
}

static int digits(const char *s, size_t n, size_t *i, int count, int *val)
{
	*val = 0;
	for (int k = 0; k < count; k++, (*i)++) {
		if (*i >= n || s[*i] < '0' || s[*i] > '9')
			return -1;
		*val = *val * 10 + (s[*i] - '0');
	}
	return 0;
}

static bool literal(const char *s, size_t n, size_t *i, char c)
{
	if (*i < n && s[*i] == c) {
		(*i)++;
		return true;
	}
	return false;
}

static int days_in_month(int y, int m)
{
	static const int DAYS[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : DAYS[m - 1];
}

/* What Python ≥ 3.11 datetime.fromisoformat accepts in practice: a date,
 * optionally "T"/" " and HH[:MM[:SS[.f…]]], optionally "Z" or ±HH:MM. */
bool isotime_valid(const char *s, size_t n)
{
	size_t i = 0;
	int y, mo, d, h, mi = 0, sec = 0;

	if (digits(s, n, &i, 4, &y) || !literal(s, n, &i, '-') ||
	    digits(s, n, &i, 2, &mo) || !literal(s, n, &i, '-') ||
	    digits(s, n, &i, 2, &d))
		return false;
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
		return false;
	if (i == n)
		return true;
	if (!literal(s, n, &i, 'T') && !literal(s, n, &i, ' '))
		return false;
	if (digits(s, n, &i, 2, &h))
		return false;
	if (literal(s, n, &i, ':')) {
		if (digits(s, n, &i, 2, &mi))
			return false;
		if (literal(s, n, &i, ':')) {
			if (digits(s, n, &i, 2, &sec))
				return false;
			if (literal(s, n, &i, '.') || literal(s, n, &i, ',')) {
				size_t start = i;

				while (i < n && s[i] >= '0' && s[i] <= '9')
					i++;
				if (i == start)
					return false;
			}
		}
	}
	if (h > 23 || mi > 59 || sec > 59)
		return false;
	if (literal(s, n, &i, 'Z'))
		return i == n;
	if (literal(s, n, &i, '+') || literal(s, n, &i, '-')) {
		int oh, om;

		if (digits(s, n, &i, 2, &oh) || !literal(s, n, &i, ':') ||
		    digits(s, n, &i, 2, &om) || oh > 23 || om > 59)
			return false;
	}
	return i == n;
}
