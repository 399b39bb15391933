/*-------------------------------------------------------------------------
 *
 * parse_value.c
 *	  Texts into values: decimals, dates and times, booleans and integers,
 *	  for every format (see parser_int.h for the other parts).
 *
 * A value is read the same way whichever file it comes from, so that an LP
 * Data Value and a NEM12 interval value give the same double, and a day
 * that loads is a day a lookup can ask for.  These functions see one
 * field's text, never the record: each returns an error code and a detail
 * sentence, and the format that called it says which column it was.
 *
 * Numbers take an exact fast path (integer mantissa < 2^53 scaled by a
 * power of ten <= 10^22: one correctly rounded IEEE operation) and fall
 * back to strtod() otherwise, so results are bit-identical to strtod().
 *
 *-------------------------------------------------------------------------
 */
#include "parser_int.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The powers of ten a double holds exactly, for the decimal fast paths. */
static const double pow10_tab[23] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};

/* ASCII case-insensitive comparison of a trimmed field with a name. */
bool
ep_field_is(const EpText *t, const char *name)
{
	const char *s = t->ptr;
	size_t		n = t->len;
	size_t		k;

	trim(&s, &n);
	if (strlen(name) != n)
		return false;
	for (k = 0; k < n; k++)
	{
		unsigned char a = (unsigned char) s[k];
		unsigned char b = (unsigned char) name[k];

		if (a >= 'A' && a <= 'Z')
			a += 'a' - 'A';
		if (b >= 'A' && b <= 'Z')
			b += 'a' - 'A';
		if (a != b)
			return false;
	}
	return true;
}

/*
 * Dates.  A meter file and a lookup both name days, and they must agree on
 * what a day is: the routines below are the one grammar for both.  A file's
 * Date/Time is always day first (d/m/yyyy), never read through DateStyle;
 * a lookup also accepts ISO yyyy-mm-dd (ep_parse_date).  Syntax is checked
 * completely before ranges, so that "2015-09-01" in a file is a format
 * error, not a range error.
 */
#define DIGIT(c) ((unsigned char) ((c) - '0') <= 9)

/*
 * Read minl..maxl digits at s[*i] into *out.  Returns how many were read, or
 * -1 when there are fewer than minl or a digit follows the last one taken.
 */
static int
read_digits(const char *s, size_t n, size_t *i, int minl, int maxl, int *out)
{
	int			v = 0;
	int			nd = 0;

	while (*i < n && DIGIT(s[*i]) && nd < maxl)
	{
		v = v * 10 + (s[*i] - '0');
		(*i)++;
		nd++;
	}
	if (nd < minl || (*i < n && DIGIT(s[*i])))
		return -1;
	*out = v;
	return nd;
}

/* The separator sep at s[*i], stepped over; false if something else. */
static inline bool
read_sep(const char *s, size_t n, size_t *i, char sep)
{
	if (*i >= n || s[*i] != sep)
		return false;
	(*i)++;
	return true;
}

/* d/m/yyyy: one or two digits of day and month, four of year. */
static bool
read_dmy(const char *s, size_t n, size_t *i, int *year, int *month, int *day)
{
	return read_digits(s, n, i, 1, 2, day) >= 0 && read_sep(s, n, i, '/') &&
		read_digits(s, n, i, 1, 2, month) >= 0 && read_sep(s, n, i, '/') &&
		read_digits(s, n, i, 4, 4, year) >= 0;
}

/* Gregorian, proleptic: what PostgreSQL's date type uses. */
int
ep_days_in_month(int year, int month)
{
	static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (month == 2 && ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0))
		return 29;
	return mdays[month - 1];
}

/*
 * The calendar: year 1..9999 (four digits, so only 0 is out), month 1..12,
 * and the day within its month.  Fills detail on failure.
 */
static EpErrorCode
check_date(int year, int month, int day, char *detail)
{
	int			dim;

	if (year == 0)
	{
		snprintf(detail, EP_DETAIL_MAX, "Year 0 is out of range.");
		return EP_ERR_DATETIME_RANGE;
	}
	if (month < 1 || month > 12)
	{
		snprintf(detail, EP_DETAIL_MAX, "Month %d is out of range.", month);
		return EP_ERR_DATETIME_RANGE;
	}
	dim = ep_days_in_month(year, month);
	if (day < 1 || day > dim)
	{
		snprintf(detail, EP_DETAIL_MAX, "Day %d is out of range for month %d of year %d.",
				 day, month, year);
		return EP_ERR_DATETIME_RANGE;
	}
	return EP_ERR_NONE;
}

/* The clock: hour 0..23, minute and second 0..59.  Fills detail on failure. */
static inline EpErrorCode
check_time(int hour, int minute, int second, char *detail)
{
	if (hour > 23)
	{
		snprintf(detail, EP_DETAIL_MAX, "Hour %d is out of range.", hour);
		return EP_ERR_DATETIME_RANGE;
	}
	if (minute > 59)
	{
		snprintf(detail, EP_DETAIL_MAX, "Minute %d is out of range.", minute);
		return EP_ERR_DATETIME_RANGE;
	}
	if (second > 59)
	{
		snprintf(detail, EP_DETAIL_MAX, "Second %d is out of range.", second);
		return EP_ERR_DATETIME_RANGE;
	}
	return EP_ERR_NONE;
}

/*
 * Parse d/m/yyyy [h:mm[:ss[.ffffff]]], a file's Date/Time.
 * Returns EP_ERR_NONE, EP_ERR_DATETIME or EP_ERR_DATETIME_RANGE (with
 * detail).  An empty text gives is_null; the caller decides whether that
 * is allowed.
 */
EpErrorCode
ep_parse_ts(const char *s, size_t n, EpTimestamp *ts, char *detail)
{
	size_t		i = 0;
	int			day = 0,
				month = 0,
				year = 0,
				hour = 0,
				minute = 0,
				second = 0,
				usec = 0;
	EpErrorCode rc;

	trim(&s, &n);
	memset(ts, 0, sizeof(*ts));
	if (n == 0)
	{
		ts->is_null = true;
		return EP_ERR_NONE;
	}

#define D2(o) ((s[(o)] - '0') * 10 + (s[(o) + 1] - '0'))

	/* fast path: the shape every real export uses, dd/mm/yyyy hh:mm:ss */
	if (n == 19 && s[2] == '/' && s[5] == '/' && s[10] == ' ' &&
		s[13] == ':' && s[16] == ':')
	{
		static const unsigned char dpos[14] = {0, 1, 3, 4, 6, 7, 8, 9,
		11, 12, 14, 15, 17, 18};
		int			k;

		for (k = 0; k < 14; k++)
			if (!DIGIT(s[dpos[k]]))
				goto syntax;
		day = D2(0);
		month = D2(3);
		year = D2(6) * 100 + D2(8);
		hour = D2(11);
		minute = D2(14);
		second = D2(17);
		goto ranges;
	}
#undef D2

	if (!read_dmy(s, n, &i, &year, &month, &day))
		goto syntax;
	if (i < n)
	{
		if (s[i] != ' ')
			goto syntax;
		while (i < n && s[i] == ' ')
			i++;
		if (read_digits(s, n, &i, 1, 2, &hour) < 0 || !read_sep(s, n, &i, ':') ||
			read_digits(s, n, &i, 2, 2, &minute) < 0)
			goto syntax;
		if (i < n)
		{
			if (!read_sep(s, n, &i, ':') || read_digits(s, n, &i, 2, 2, &second) < 0)
				goto syntax;
			if (i < n)
			{
				int			f = 0;
				int			nd;

				if (!read_sep(s, n, &i, '.') ||
					(nd = read_digits(s, n, &i, 1, 6, &f)) < 0)
					goto syntax;
				usec = f;
				for (; nd < 6; nd++)
					usec *= 10;
				if (i < n)
					goto syntax;
			}
		}
	}

ranges:
	rc = check_date(year, month, day, detail);
	if (rc == EP_ERR_NONE)
		rc = check_time(hour, minute, second, detail);
	if (rc != EP_ERR_NONE)
		return rc;
	if (year == 1899 && month == 12 && day == 30 &&
		hour == 0 && minute == 0 && second == 0 && usec == 0)
	{
		/* OLE zero date: "no time"; callers treat it as null */
		ts->is_null = true;
		return EP_ERR_NONE;
	}
	ts->year = year;
	ts->month = month;
	ts->day = day;
	ts->hour = hour;
	ts->minute = minute;
	ts->second = second;
	ts->usec = usec;
	return EP_ERR_NONE;

syntax:
	snprintf(detail, EP_DETAIL_MAX,
			 "Date/time must be written as dd/mm/yyyy hh:mm:ss.");
	return EP_ERR_DATETIME;
}

/*
 * A day as a lookup names it: exactly d/m/yyyy or yyyy-mm-dd (one or two
 * digits of day and month), nothing around it.  The same grammar and
 * calendar as a file's Date/Time, so a day that loads is a day that can be
 * asked for.
 */
EpErrorCode
ep_parse_date(const char *s, size_t n, EpTimestamp *ts, char *detail)
{
	size_t		i = 0;
	int			first = 0,
				year = 0,
				month = 0,
				day = 0;
	int			nd;
	EpErrorCode rc;

	memset(ts, 0, sizeof(*ts));
	snprintf(detail, EP_DETAIL_MAX, "The day must be written dd/mm/yyyy or yyyy-mm-dd.");
	nd = read_digits(s, n, &i, 1, 4, &first);
	if (nd < 0)
		return EP_ERR_DATETIME;
	if (nd <= 2 && i < n && s[i] == '/')
	{
		i = 0;
		if (!read_dmy(s, n, &i, &year, &month, &day))
			return EP_ERR_DATETIME;
	}
	else if (nd == 4 && read_sep(s, n, &i, '-'))
	{
		year = first;
		if (read_digits(s, n, &i, 1, 2, &month) < 0 || !read_sep(s, n, &i, '-') ||
			read_digits(s, n, &i, 1, 2, &day) < 0)
			return EP_ERR_DATETIME;
	}
	else
		return EP_ERR_DATETIME;
	if (i != n)
		return EP_ERR_DATETIME;
	rc = check_date(year, month, day, detail);
	if (rc != EP_ERR_NONE)
		return rc;
	ts->year = year;
	ts->month = month;
	ts->day = day;
	return EP_ERR_NONE;
}

/*
 * An MDFF date, yyyymmdd, or date and time, yyyymmddhhmmss (yyyymmddhhmm
 * too, the DateTime(12) some exports write), against the same calendar and
 * clock as a file's Date/Time.  name is the field's, for the detail.  NEM
 * time has no daylight saving and no zone: the fields are taken as they
 * are.  n must be > 0 (callers report an empty field themselves).
 */
EpErrorCode
ep_parse_nem_ts(const char *s, size_t n, bool with_time, EpTimestamp *ts,
				const char *name, char *detail)
{
	int			d[14] = {0};
	EpErrorCode rc;
	size_t		k;

	memset(ts, 0, sizeof(*ts));
	if (with_time ? (n != 14 && n != 12) : n != 8)
		goto syntax;
	for (k = 0; k < n; k++)
	{
		if (!DIGIT(s[k]))
			goto syntax;
		d[k] = s[k] - '0';
	}
	ts->year = d[0] * 1000 + d[1] * 100 + d[2] * 10 + d[3];
	ts->month = d[4] * 10 + d[5];
	ts->day = d[6] * 10 + d[7];
	ts->hour = d[8] * 10 + d[9];
	ts->minute = d[10] * 10 + d[11];
	ts->second = d[12] * 10 + d[13];
	rc = check_date(ts->year, ts->month, ts->day, detail);
	if (rc == EP_ERR_NONE)
		rc = check_time(ts->hour, ts->minute, ts->second, detail);
	return rc;

syntax:
	snprintf(detail, EP_DETAIL_MAX, "%s must be written %s.", name,
			 with_time ? "yyyymmddhhmmss" : "yyyymmdd");
	return EP_ERR_DATETIME;
}

/*
 * One digit of the general decimal path: leading zeros are not significant;
 * past 19 significant digits the mantissa stops growing (the value then goes
 * through strtod and is not exact).
 */
static inline void
add_digit(int dg, uint64_t *m, int *sig, bool *nonzero)
{
	if (dg != 0 || *sig > 0)
	{
		if (*sig < 19)
			*m = *m * 10 + dg;
		(*sig)++;
		if (dg)
			*nonzero = true;
	}
}

/*
 * Parse a decimal.  One pass checks the grammar and accumulates the
 * mantissa; the value then comes from the exact fast path or from strtod()
 * on a bounded copy, so it always equals strtod()'s correctly rounded
 * result.  n must be > 0 after trimming (callers handle empty).
 */
EpErrorCode
ep_parse_decimal(const char *s, size_t n, EpDecimal *d, char *detail)
{
	size_t		i = 0;
	bool		neg = false;
	uint64_t	m = 0;
	int			sig = 0;		/* significant digits seen */
	int			scale = 0;		/* digits after the point */
	int			ndig = 0;
	bool		nonzero = false;
	bool		has_exp = false;
	bool		exp_neg = false;
	long		exp = 0;
	double		v;

	d->is_null = false;
	d->exact = false;
	d->digits = 0;
	d->scale = 0;

	if (n > EP_NUMBER_MAX)
	{
		snprintf(detail, EP_DETAIL_MAX, "Number is longer than %d characters.",
				 EP_NUMBER_MAX);
		return EP_ERR_NUMBER;
	}
	if (s[0] == '+' || s[0] == '-')
	{
		neg = (s[0] == '-');
		i++;
	}

	/*
	 * Fast path for what meters actually write ("409646.700000"): at most 18
	 * digits, no exponent.  Leading zeros need no special care since they do
	 * not change m, and 18 digits cannot overflow m nor make the scale exceed
	 * 18, so the value is exact and < 10^18; if it is also < 2^53 one
	 * division is correctly rounded.  Anything else takes the general path
	 * below, from the start.
	 */
	{
		size_t		j = i;
		int			fd = 0;

		while (j < n && DIGIT(s[j]) && ndig < 18)
		{
			m = m * 10 + (s[j] - '0');
			ndig++;
			j++;
		}
		if (j < n && s[j] == '.')
		{
			j++;
			while (j < n && DIGIT(s[j]) && ndig < 18)
			{
				m = m * 10 + (s[j] - '0');
				ndig++;
				fd++;
				j++;
			}
			if (fd == 0)
				j = 0;			/* "5." or "." : let the slow path reject */
		}
		if (j == n && ndig > 0 && m < ((uint64_t) 1 << 53))
		{
			d->exact = true;
			d->digits = neg ? -(int64_t) m : (int64_t) m;
			d->scale = fd;
			v = (double) m / pow10_tab[fd];
			d->value = neg ? -v : v;
			return EP_ERR_NONE;
		}
		m = 0;
		ndig = 0;
	}
	while (i < n && DIGIT(s[i]))
	{
		add_digit(s[i] - '0', &m, &sig, &nonzero);
		ndig++;
		i++;
	}
	if (i < n && s[i] == '.')
	{
		i++;
		/* "5." is not in the grammar: a point needs digits after it */
		if (i >= n || !DIGIT(s[i]))
			goto syntax;
		while (i < n && DIGIT(s[i]))
		{
			add_digit(s[i] - '0', &m, &sig, &nonzero);
			scale++;
			ndig++;
			i++;
		}
	}
	if (ndig == 0)
		goto syntax;
	if (i < n && (s[i] == 'e' || s[i] == 'E'))
	{
		int			edig = 0;

		has_exp = true;
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
		{
			exp_neg = (s[i] == '-');
			i++;
		}
		while (i < n && DIGIT(s[i]))
		{
			if (exp < 100000)
				exp = exp * 10 + (s[i] - '0');
			edig++;
			i++;
		}
		if (edig == 0)
			goto syntax;
		if (exp_neg)
			exp = -exp;
	}
	if (i != n)
		goto syntax;

	if (!has_exp && sig <= 18 && scale <= 18)
	{
		d->exact = true;
		d->digits = neg ? -(int64_t) m : (int64_t) m;
		d->scale = scale;
	}
	else if (has_exp && sig <= 18)
	{
		/*
		 * An exponent only moves the point: 2.5E+3 is the decimal 2500 and
		 * 1e-5 is 0.00001, exactly.  The value is m * 10^(exp - scale);
		 * when that is digits at a scale of 0 .. 18 with at most 18
		 * digits, it is exact like any other short decimal (so its sum is
		 * the file's on every path), whatever way the file wrote it.
		 * Trailing zeros of m may go to bring the scale down to 18; a
		 * zero takes the nearest scale in range.
		 */
		static const uint64_t ipow10[18] = {
			1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000,
			1000000000, 10000000000, 100000000000, 1000000000000,
			10000000000000, 100000000000000, 1000000000000000,
			10000000000000000, 100000000000000000
		};
		long		e10 = exp - scale;

		if (!nonzero)
		{
			d->exact = true;
			d->digits = 0;
			d->scale = e10 >= 0 ? 0 : (int) (-e10 < 18 ? -e10 : 18);
		}
		else if (e10 >= 0)
		{
			if (e10 <= 17 && m <= (uint64_t) (999999999999999999ULL / ipow10[e10]))
			{
				uint64_t	u = m * ipow10[e10];

				d->exact = true;
				d->digits = neg ? -(int64_t) u : (int64_t) u;
				d->scale = 0;
			}
		}
		else
		{
			uint64_t	u = m;
			long		sc = -e10;

			while (sc > 18 && u % 10 == 0)
			{
				u /= 10;
				sc--;
			}
			if (sc <= 18)
			{
				d->exact = true;
				d->digits = neg ? -(int64_t) u : (int64_t) u;
				d->scale = (int) sc;
			}
		}
	}

	if (!nonzero)
		v = 0.0;
	else if (sig <= 19 && m < ((uint64_t) 1 << 53) &&
			 exp - scale >= -22 && exp - scale <= 22)
	{
		long		e10 = exp - scale;

		if (e10 >= 0)
			v = (double) m * pow10_tab[e10];
		else
			v = (double) m / pow10_tab[-e10];
	}
	else
	{
		char		tmp[EP_NUMBER_MAX + 1];

		memcpy(tmp, s, n);
		tmp[n] = '\0';

		/*
		 * The text carries its own sign, so strtod's result is final.  As
		 * PostgreSQL's float8in: overflow, or a nonzero value that rounds to
		 * zero, is out of range; a denormal is a value.
		 */
		v = strtod(tmp, NULL);
		if (isinf(v) || v == 0.0)
		{
			snprintf(detail, EP_DETAIL_MAX,
					 "Value is out of range for type double precision.");
			return EP_ERR_NUMBER_RANGE;
		}
		d->value = v;
		return EP_ERR_NONE;
	}
	d->value = neg ? -v : v;
	return EP_ERR_NONE;

syntax:
	snprintf(detail, EP_DETAIL_MAX, "Value is not a valid decimal number.");
	return EP_ERR_NUMBER;
}

/* DLS Active: the spellings PostgreSQL's boolin accepts, minus prefixes. */
int
ep_parse_bool(const char *s, size_t n)
{
	static const char *const yes[] = {"true", "yes", "on", "t", "y", "1"};
	static const char *const no[] = {"false", "no", "off", "f", "n", "0"};
	char		low[8];
	size_t		k;

	if (n == 0)
		return -1;
	if (n > 5)
		return -2;
	for (k = 0; k < n; k++)
	{
		char		c = s[k];

		low[k] = (c >= 'A' && c <= 'Z') ? (char) (c + 'a' - 'A') : c;
	}
	low[n] = '\0';
	for (k = 0; k < 6; k++)
	{
		if (strcmp(low, yes[k]) == 0)
			return 1;
		if (strcmp(low, no[k]) == 0)
			return 0;
	}
	return -2;
}

/* Billing Reset Count into int64, with overflow detected exactly. */
EpErrorCode
ep_parse_int64(const char *s, size_t n, int64_t *out)
{
	size_t		i = 0;
	bool		neg = false;
	uint64_t	v = 0;
	uint64_t	limit;

	if (s[0] == '+' || s[0] == '-')
	{
		neg = (s[0] == '-');
		i++;
	}
	if (i >= n)
		return EP_ERR_INTEGER;
	limit = neg ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX;
	for (; i < n; i++)
	{
		if (!DIGIT(s[i]))
			return EP_ERR_INTEGER;
	}
	for (i = (s[0] == '+' || s[0] == '-') ? 1 : 0; i < n; i++)
	{
		unsigned	dg = (unsigned) (s[i] - '0');

		if (v > (limit - dg) / 10)
			return EP_ERR_INTEGER_RANGE;
		v = v * 10 + dg;
	}
	if (neg)
		*out = (v == (uint64_t) INT64_MAX + 1) ? INT64_MIN : -(int64_t) v;
	else
		*out = (int64_t) v;
	return EP_ERR_NONE;
}
#undef DIGIT
