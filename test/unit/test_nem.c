/*-------------------------------------------------------------------------
 *
 * test_nem.c
 *	  The parser's NEM12/NEM13 readings against an independent reader.
 *
 * Every file of a directory is parsed, and its readings are summed up the
 * way the reference reader (a Python program written from the MDFF
 * specification, nothing shared with this parser) summed them up in
 * EXPECTED_DIR/<file>.tsv:
 *	- NEM12: per (NMI, NMISuffix, UOM as written, IntervalDate): the interval
 *	  length, the count of readings with a value (n_intervals), their min,
 *	  max and exact sum, the count of intervals whose effective quality flag
 *	  is not A (n_not_actual, empty values included), the count of empty
 *	  values (n_blank) and the count of each quality flag (quality_flags).
 *	  The reference's avg is not compared: count and exact sum fix it.
 *	- NEM13: one line per 250 record, sorted as the reference sorts them:
 *	  NMI, NMISuffix, UOM, read date, CurrentRegisterReadDateTime,
 *	  Quantity, CurrentQualityMethod, MeterSerialNumber and line.
 * A repeated day of a channel: the reference keeps the later 300 record.
 * The parser hands out both (the loader settles repeated readings by their
 * identity, the later line winning), so before summing up, this program
 * keeps, per channel (NMI, NMISuffix) and interval end time, the reading of
 * the latest line: "later record wins", as the reference does.
 *
 * The parser's errors are checked too.  EXPECTED_DIR/SUMMARY.tsv lists the
 * reference's warnings per file: a file it reads without any must parse
 * without errors.  For the files of test/data/nem with warnings, the table
 * known_errors below gives the errors the parser must report, line and
 * code (README.md there says why).  Each file is also parsed in chunks of
 * 1 and 7 bytes, which must give the same events.
 *
 * Usage: test/unit/test_nem [DIR [EXPECTED_DIR]]
 * (defaults test/data/nem and DIR/expected; "make unittest" runs it from
 * the repository root).  Prints one line per file and a count of the files
 * that match; exits 1 if any does not.
 *
 *-------------------------------------------------------------------------
 */
#define _DEFAULT_SOURCE

#include <dirent.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parser.h"
#include "unit.h"

typedef __int128 Big;			/* decimals scaled by 10^18: exact sums */

#define SCALE 18

/*
 * The errors the parser reports for the files of test/data/nem that the
 * reference reads with warnings: "line:code" in order, blank-separated.
 */
static const struct
{
	const char *file;
	const char *errors;
}			known_errors[] = {
	/* 300 under a 15-minute 200 with 48 values; its 400s then have no 300 */
	{"Example_NEM12_15min_200_30min_300.csv",
	"3:value_count 4:record_order 5:record_order"},
	/* a 300 of 5 values (the reference skips it alike) */
	{"Example_NEM12_incomplete_interval.csv", "3:value_count"},
	/* a 300 before any 200 */
	{"NEM12#000000000000021#CNRGYMDP#NEMMCO", "2:record_order"},
	/* a 400 with QualityMethod V: refused, its intervals keep the 300's V */
	{"NEM12#000000000000023#CNRGYMDP#NEMMCO", "4:quality"},
	/* a 400 with empty Start/EndInterval */
	{"NEM12#EmptyCells400Record#CNRGYMDP#NEMMCO.csv", "7:required"},
	/* 45 values under a 30-minute 200 */
	{"NEM12#InvalidIntervalDataLength#CNRGYMDP#NEMMCO.csv", "3:value_count"},
	/* a 300 broken over three lines, then 400s with no 300 */
	{"NEM12#Scenario10#ETSAMDP#NEMMCO.csv",
	"27:value_count 28:record_type 29:record_type 30:record_order 31:record_order"},
	{"Example_empty_file.csv", "0:empty"},
};

/* ---------- what the parser gave ---------- */

typedef struct Reading
{
	char	   *nmi;
	char	   *suffix;
	char	   *uom;
	char	   *serial;
	char	   *status;
	int			day;			/* yyyymmdd */
	int64_t		end;			/* minutes since 0001-01-01 (NEM12) */
	char		at[16];			/* yyyymmddhhmmss (NEM13) */
	int			minutes;
	bool		blank;
	bool		exact;
	Big			value;			/* scaled by 10^SCALE */
	uint64_t	line;
} Reading;

typedef struct Parse
{
	EpFormat	format;
	Reading    *r;
	size_t		n;
	size_t		cap;
	char		errors[4096];	/* "line:code" list */
	int			nerrors;
	uint64_t	hash;			/* of every event, for the chunk check */
} Parse;

/* A row's texts die with the next ep_next: the readings keep copies. */
static char *
dup_text(EpText t)
{
	char	   *s = malloc(t.len + 1);

	if (s == NULL)
		abort();
	memcpy(s, t.ptr, t.len);
	s[t.len] = '\0';
	return s;
}

/* FNV-1a: one number for all events, so that three parses compare cheaply. */
static uint64_t
fnv(uint64_t h, const void *data, size_t len)
{
	const unsigned char *s = data;

	for (size_t k = 0; k < len; k++)
	{
		h ^= s[k];
		h *= 1099511628211ULL;
	}
	return h;
}

/* Days since 0001-01-01 of a proleptic Gregorian date. */
static int64_t
day_number(int y, int m, int d)
{
	static const int before[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
	int64_t		yy = y - 1;
	int64_t		n = yy * 365 + yy / 4 - yy / 100 + yy / 400 + before[m - 1] + d - 1;

	if (m > 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		n++;
	return n;
}

/* An exact decimal at the common scale, so that sums need no rounding. */
static Big
scaled(const EpDecimal *d)
{
	Big			v = d->digits;

	for (int k = d->scale; k < SCALE; k++)
		v *= 10;
	return v;
}

/*
 * Parse data in chunks of `chunk` bytes (0: one piece), keeping every
 * reading and a list of the errors.
 */
static void
parse(const char *data, size_t len, size_t chunk, Parse *out)
{
	EpParser   *p = ep_create(&talloc, 0);
	size_t		off = 0;
	size_t		o = 0;
	EpRow		row;
	EpError		err;

	memset(out, 0, sizeof(*out));
	out->hash = 14695981039346656037ULL;
	for (;;)
	{
		EpStatus	st = ep_next(p, &row, &err);
		Reading    *r;

		if (st == EP_NEED_MORE)
		{
			feed(p, data, len, chunk, &off);
			continue;
		}
		if (st == EP_END)
			break;
		if (st == EP_ERROR)
		{
			out->nerrors++;
			o += snprintf(out->errors + o, sizeof(out->errors) - o, "%s%llu:%s",
						  o ? " " : "", (unsigned long long) err.line,
						  ep_error_name(err.code));
			if (o >= sizeof(out->errors))
				o = sizeof(out->errors) - 1;
			out->hash = fnv(out->hash, &err.line, sizeof(err.line));
			out->hash = fnv(out->hash, &err.column, sizeof(err.column));
			out->hash = fnv(out->hash, err.detail, strlen(err.detail));
			if (err.code == EP_ERR_EMPTY || err.code == EP_ERR_HEADER)
				break;
			continue;
		}
		if (out->n == out->cap)
		{
			out->cap = out->cap ? out->cap * 2 : 1024;
			out->r = realloc(out->r, out->cap * sizeof(Reading));
			if (out->r == NULL)
				abort();
		}
		r = &out->r[out->n++];
		memset(r, 0, sizeof(*r));
		r->nmi = dup_text(row.meter);
		r->suffix = dup_text(row.data_type);
		r->uom = dup_text(row.units);
		r->serial = dup_text(row.serial);
		r->status = dup_text(row.status);
		r->day = row.day.year * 10000 + row.day.month * 100 + row.day.day;
		r->end = day_number(row.at.year, row.at.month, row.at.day) * 1440 +
			row.at.hour * 60 + row.at.minute;
		snprintf(r->at, sizeof(r->at), "%04d%02d%02d%02d%02d%02d", row.at.year,
				 row.at.month, row.at.day, row.at.hour, row.at.minute, row.at.second);
		r->minutes = row.interval_minutes;
		r->blank = row.value.is_null;
		r->exact = row.value.is_null || row.value.exact;
		r->value = row.value.is_null ? 0 : scaled(&row.value);
		r->line = row.line;
		out->hash = fnv(out->hash, &row.line, sizeof(row.line));
		out->hash = fnv(out->hash, row.raw, row.raw_len);
		out->hash = fnv(out->hash, r->at, strlen(r->at));
		out->hash = fnv(out->hash, &r->day, sizeof(r->day));
		out->hash = fnv(out->hash, &r->value, sizeof(r->value));
		out->hash = fnv(out->hash, r->status, strlen(r->status));
	}
	out->format = ep_format(p);
	ep_destroy(p);
}

/* Every reading owns its texts. */
static void
parse_free(Parse *ps)
{
	for (size_t k = 0; k < ps->n; k++)
	{
		free(ps->r[k].nmi);
		free(ps->r[k].suffix);
		free(ps->r[k].uom);
		free(ps->r[k].serial);
		free(ps->r[k].status);
	}
	free(ps->r);
}

/* ---------- the reference's numbers, as text ---------- */

/* A scaled decimal as the reference prints it: no exponent, no trailing zeros. */
static void
fmt_big(Big v, char *out)
{
	char		digits[64];
	int			n = 0;
	int			o = 0;
	int			last;
	unsigned __int128 u = v < 0 ? -(unsigned __int128) v : (unsigned __int128) v;

	if (v == 0)
	{
		strcpy(out, "0");
		return;
	}
	while (u > 0 || n <= SCALE)
	{
		digits[n++] = (char) ('0' + (int) (u % 10));
		u /= 10;
	}
	/* digits[] is reversed: digits[SCALE - 1 .. 0] are the fraction */
	if (v < 0)
		out[o++] = '-';
	for (int k = n - 1; k >= SCALE; k--)
		out[o++] = digits[k];
	for (last = 0; last < SCALE && digits[last] == '0'; last++)
		;
	if (last < SCALE)
	{
		out[o++] = '.';
		for (int k = SCALE - 1; k >= last; k--)
			out[o++] = digits[k];
	}
	out[o] = '\0';
}

/* ---------- the expected file ---------- */

typedef struct Tsv
{
	char	   *text;
	char	  **cell;			/* rows x ncols */
	int			ncols;
	int			nrows;			/* without the header */
} Tsv;

/*
 * A reference output: tab-separated, a header line of column names (looked
 * up by name, so that column order does not matter).  Cells point into the
 * text, cut at tabs and line ends.
 */
static bool
tsv_read(const char *path, Tsv *t)
{
	size_t		len;
	char	   *s = read_file(path, &len);
	int			cap = 0;
	int			n = 0;

	memset(t, 0, sizeof(*t));
	if (s == NULL)
		return false;
	t->text = s;
	while (*s)
	{
		char	   *eol = strchr(s, '\n');

		if (eol)
			*eol = '\0';
		for (char *c = s;; c++)
		{
			if (n == cap)
			{
				cap = cap ? cap * 2 : 256;
				t->cell = realloc(t->cell, cap * sizeof(char *));
			}
			t->cell[n++] = c;
			c = strchr(c, '\t');
			if (c == NULL)
				break;
			*c = '\0';
		}
		if (t->ncols == 0)
			t->ncols = n;
		if (n % t->ncols != 0)
			return false;
		if (eol == NULL)
			break;
		s = eol + 1;
	}
	t->nrows = n / (t->ncols ? t->ncols : 1) - 1;
	return true;
}

/* The cell of column col in line row (-1: the header), or NULL. */
static const char *
tsv_get(const Tsv *t, int row, const char *col)
{
	for (int c = 0; c < t->ncols; c++)
		if (strcmp(t->cell[c], col) == 0)
			return t->cell[(row + 1) * t->ncols + c];
	return NULL;
}

/* The warnings count of a file in SUMMARY.tsv, or -1 when not listed. */
static int
summary_warnings(const Tsv *summary, const char *file)
{
	for (int r = 0; r < summary->nrows; r++)
		if (strcmp(tsv_get(summary, r, "file"), file) == 0)
			return atoi(tsv_get(summary, r, "n_warnings"));
	return -1;
}

/* ---------- comparison ---------- */

/* What the last check_file found, for its line of output. */
static char why[8192];

/* Say why a file does not match; returns false for the caller to return. */
static bool
mismatch(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return false;
}

#define CMP(a, b) (((a) > (b)) - ((a) < (b)))

/* By channel: NMI, then NMISuffix. */
static int
cmp_channel(const Reading *x, const Reading *y)
{
	int			c = strcmp(x->nmi, y->nmi);

	return c ? c : strcmp(x->suffix, y->suffix);
}

/* By channel, interval end and line: a reading's later copies follow it. */
static int
cmp_channel_end(const void *a, const void *b)
{
	const Reading *x = a;
	const Reading *y = b;
	int			c = cmp_channel(x, y);

	if (c == 0)
		c = CMP(x->end, y->end);
	return c ? c : CMP(x->line, y->line);
}

/* As the reference orders its days: channel, UOM as written, day. */
static int
cmp_day(const void *a, const void *b)
{
	const Reading *x = a;
	const Reading *y = b;
	int			c = cmp_channel(x, y);

	if (c == 0)
		c = strcmp(x->uom, y->uom);
	return c ? c : CMP(x->day, y->day);
}

/* As the reference orders its 250 reads: by day, then line. */
static int
cmp_read(const void *a, const void *b)
{
	int			c = cmp_day(a, b);

	return c ? c : CMP(((const Reading *) a)->line, ((const Reading *) b)->line);
}

/*
 * One day of one channel against line `row` of the expected file: the
 * readings r[0..n), all of the same (NMI, suffix, UOM, day).
 */
static bool
compare_day(const Reading *r, size_t n, const Tsv *t, int row)
{
	int			count = 0;
	int			blank = 0;
	int			not_actual = 0;
	int			flags[128] = {0};
	Big			sum = 0;
	Big			mn = 0;
	Big			mx = 0;
	char		smin[80] = "";
	char		smax[80] = "";
	char		ssum[80] = "";
	char		qf[256] = "";
	char		key[256];
	char		ilen[16];
	size_t		o = 0;

	snprintf(key, sizeof(key), "%s/%s/%s %d", r->nmi, r->suffix, r->uom, r->day);
	if (strcmp(tsv_get(t, row, "nmi"), r->nmi) != 0 ||
		strcmp(tsv_get(t, row, "suffix"), r->suffix) != 0 ||
		strcmp(tsv_get(t, row, "uom"), r->uom) != 0 ||
		atoi(tsv_get(t, row, "interval_date")) != r->day)
		return mismatch("day %s, expected %s/%s/%s %s", key,
						tsv_get(t, row, "nmi"), tsv_get(t, row, "suffix"),
						tsv_get(t, row, "uom"), tsv_get(t, row, "interval_date"));
	for (size_t k = 0; k < n; k++)
	{
		unsigned char f = (unsigned char) r[k].status[0];

		if (r[k].minutes != r[0].minutes)
			return mismatch("%s: interval lengths %d and %d", key, r[0].minutes,
							r[k].minutes);
		if (!r[k].exact)
			return mismatch("%s: a value with more than 18 digits", key);
		flags[f & 127]++;
		if (f != 'A')
			not_actual++;
		if (r[k].blank)
		{
			blank++;
			continue;
		}
		if (count == 0 || r[k].value < mn)
			mn = r[k].value;
		if (count == 0 || r[k].value > mx)
			mx = r[k].value;
		sum += r[k].value;
		count++;
	}
	if (count > 0)
	{
		fmt_big(mn, smin);
		fmt_big(mx, smax);
		fmt_big(sum, ssum);
	}
	for (int f = 0; f < 128; f++)
		if (flags[f])
			o += snprintf(qf + o, sizeof(qf) - o, "%s%c:%d", o ? "," : "", f, flags[f]);
	snprintf(ilen, sizeof(ilen), "%d", r->minutes);
#define SAME(col, mine) \
	do { \
		if (strcmp(tsv_get(t, row, col), (mine)) != 0) \
			return mismatch("%s: %s %s, expected %s", key, col, (mine), \
							tsv_get(t, row, col)); \
	} while (0)
	SAME("interval_length", ilen);
	SAME("min", smin);
	SAME("max", smax);
	SAME("sum", ssum);
	SAME("quality_flags", qf);
#undef SAME
	if (atoi(tsv_get(t, row, "n_intervals")) != count ||
		atoi(tsv_get(t, row, "n_not_actual")) != not_actual ||
		atoi(tsv_get(t, row, "n_blank")) != blank)
		return mismatch("%s: %d readings, %d not actual, %d blank; expected %s, %s, %s",
						key, count, not_actual, blank, tsv_get(t, row, "n_intervals"),
						tsv_get(t, row, "n_not_actual"), tsv_get(t, row, "n_blank"));
	return true;
}

/*
 * NEM12: of the readings of a channel with the same end time, the one of
 * the latest line wins (the reference keeps the later 300 record of a
 * repeated day); then the winners are summed up day by day.
 */
static bool
compare_nem12(Parse *ps, const Tsv *t)
{
	Reading    *w = malloc((ps->n + 1) * sizeof(Reading));
	size_t		nw = 0;
	int			row = 0;
	bool		ok = true;

	if (w == NULL)
		abort();
	if (ps->n > 0)
		qsort(ps->r, ps->n, sizeof(Reading), cmp_channel_end);
	for (size_t k = 0; k < ps->n; k++)
		if (k + 1 == ps->n ||
			strcmp(ps->r[k].nmi, ps->r[k + 1].nmi) != 0 ||
			strcmp(ps->r[k].suffix, ps->r[k + 1].suffix) != 0 ||
			ps->r[k].end != ps->r[k + 1].end)
			w[nw++] = ps->r[k];
	if (nw > 0)
		qsort(w, nw, sizeof(Reading), cmp_day);
	for (size_t k = 0; k < nw && ok; row++)
	{
		size_t		e = k + 1;

		while (e < nw && cmp_day(&w[k], &w[e]) == 0)
			e++;
		if (row >= t->nrows)
			ok = mismatch("day %s/%s %d is not in the reference", w[k].nmi,
						  w[k].suffix, w[k].day);
		else
			ok = compare_day(&w[k], e - k, t, row);
		k = e;
	}
	if (ok && row != t->nrows)
		ok = mismatch("%d days, the reference has %d", row, t->nrows);
	free(w);
	return ok;
}

/* NEM13: read by read, in the reference's order. */
static bool
compare_nem13(Parse *ps, const Tsv *t)
{
	if ((int) ps->n != t->nrows)
		return mismatch("%zu reads, the reference has %d", ps->n, t->nrows);
	if (ps->n > 0)
		qsort(ps->r, ps->n, sizeof(Reading), cmp_read);
	for (int k = 0; k < t->nrows; k++)
	{
		const Reading *r = &ps->r[k];
		char		day[16];
		char		qty[80];
		char		line[24];
		const char *mine[] = {r->nmi, r->suffix, r->uom, day, r->at, qty,
		r->status, r->serial, line};
		const char *col[] = {"nmi", "suffix", "uom", "read_date",
			"current_read_datetime", "quantity", "current_quality_method",
		"meter_serial", "line"};

		snprintf(day, sizeof(day), "%d", r->day);
		snprintf(line, sizeof(line), "%llu", (unsigned long long) r->line);
		fmt_big(r->value, qty);
		if (!r->exact)
			return mismatch("line %s: a Quantity with more than 18 digits", line);
		for (size_t c = 0; c < sizeof(col) / sizeof(col[0]); c++)
			if (strcmp(tsv_get(t, k, col[c]), mine[c]) != 0)
				return mismatch("read %d (line %s): %s %s, expected %s", k + 1,
								line, col[c], mine[c], tsv_get(t, k, col[c]));
	}
	return true;
}

/*
 * One file: parse it three ways (the events must agree), compare its
 * readings with the reference and its errors with what is expected of it.
 */
static bool
check_file(const char *dir, const char *expdir, const char *name,
		   const Tsv *summary)
{
	char		path[8300];
	size_t		len;
	char	   *data;
	Parse		ps;
	Parse		other;
	Tsv			t;
	bool		ok = true;
	int			warnings = summary_warnings(summary, name);
	const char *want = NULL;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	data = read_file(path, &len);
	if (data == NULL)
		return mismatch("cannot read %s", path);
	snprintf(path, sizeof(path), "%s/%s.tsv", expdir, name);
	if (!tsv_read(path, &t))
	{
		free(data);
		return mismatch("cannot read %s", path);
	}
	parse(data, len, 0, &ps);
	for (size_t chunk = 1; chunk <= 7 && ok; chunk += 6)
	{
		parse(data, len, chunk, &other);
		if (other.hash != ps.hash)
			ok = mismatch("parsed in chunks of %zu bytes, the events differ", chunk);
		parse_free(&other);
	}
	for (size_t k = 0; k < sizeof(known_errors) / sizeof(known_errors[0]); k++)
		if (strcmp(known_errors[k].file, name) == 0)
			want = known_errors[k].errors;
	if (ok && want != NULL && strcmp(ps.errors, want) != 0)
		ok = mismatch("errors \"%s\", expected \"%s\"", ps.errors, want);
	else if (ok && want == NULL && warnings == 0 && ps.nerrors > 0)
		ok = mismatch("errors \"%s\" in a file the reference reads without warnings",
					  ps.errors);
	if (ok && t.ncols > 0 && strcmp(t.cell[0], "nmi") != 0)
		ok = mismatch("%s is no reference output", path);
	else if (ok && tsv_get(&t, -1, "interval_date") != NULL)
	{
		if (ps.format != EP_FORMAT_NEM12 && t.nrows > 0)
			ok = mismatch("format %d, the reference read NEM12", ps.format);
		else
			ok = compare_nem12(&ps, &t);
	}
	else if (ok)
	{
		if (ps.format != EP_FORMAT_NEM13 && t.nrows > 0)
			ok = mismatch("format %d, the reference read NEM13", ps.format);
		else
			ok = compare_nem13(&ps, &t);
	}
	if (ok)
		snprintf(why, sizeof(why), "%zu rows%s%s", ps.n,
				 ps.nerrors ? ", errors " : "", ps.errors);
	parse_free(&ps);
	free(t.cell);
	free(t.text);
	free(data);
	return ok;
}

/* Files in name order, so that the output is the same on every system. */
static int
cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

int
main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "test/data/nem";
	char		expdir[4096];
	char		path[4200];
	char	  **names = NULL;
	size_t		n = 0;
	size_t		cap = 0;
	int			matched = 0;
	DIR		   *d;
	struct dirent *e;
	Tsv			summary;

	snprintf(expdir, sizeof(expdir), "%s", argc > 2 ? argv[2] : "");
	if (argc <= 2)
		snprintf(expdir, sizeof(expdir), "%s/expected", dir);
	snprintf(path, sizeof(path), "%s/SUMMARY.tsv", expdir);
	if (!tsv_read(path, &summary))
	{
		fprintf(stderr, "test_nem: cannot read %s\n", path);
		return 1;
	}
	d = opendir(dir);
	if (d == NULL)
	{
		fprintf(stderr, "test_nem: cannot open %s\n", dir);
		return 1;
	}
	while ((e = readdir(d)) != NULL)
	{
		size_t		l = strlen(e->d_name);

		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (e->d_name[0] == '.' || strcmp(e->d_name, "README.md") == 0 ||
			strcmp(e->d_name, "expected") == 0 ||
			(l > 4 && strcmp(e->d_name + l - 4, ".tsv") == 0))
			continue;
		if (n == cap)
		{
			cap = cap ? cap * 2 : 64;
			names = realloc(names, cap * sizeof(char *));
		}
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(char *), cmp_name);
	for (size_t k = 0; k < n; k++)
	{
		bool		ok = check_file(dir, expdir, names[k], &summary);

		printf("%s %s: %s\n", ok ? "ok  " : "FAIL", names[k], why);
		matched += ok;
		free(names[k]);
	}
	free(names);
	free(summary.cell);
	free(summary.text);
	printf("nem: %d of %zu files match the reference\n", matched, n);
	if (live_blocks != 0)
	{
		printf("nem: %zu blocks of parser memory not freed\n", live_blocks);
		return 1;
	}
	return matched == (int) n && n > 0 ? 0 : 1;
}
