/*-------------------------------------------------------------------------
 *
 * test_parser.c
 *	  Server-free unit tests for the streaming parser: LP, TOU, and
 *	  hand-written NEM12/NEM13 cases, one or more per rule (test_nem.c
 *	  checks real NEM files against a reference reader).
 *
 * Every expected value here was worked out by hand from the input text, not
 * by running the parser, so that a test can never agree with a bug.  Every
 * input is also parsed in chunks of 1, 7 and 60 bytes and the full event
 * log must match the one-shot parse byte for byte: chunking must never
 * change a result.  Inputs that stand alone (one file or one row, and the
 * error or the counts it must give) are rows of case tables, one table per
 * topic, run by one loop, as PostgreSQL's table-driven tests are.
 *
 * Usage: test/unit/test_parser [SAMPLE_DIR [HOSTILE_DIR]]
 * (defaults datafiles and test/data/hostile, relative to the
 * repository root, which is where "make unittest" runs it).
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parser.h"
#include "unit.h"

static int	passed;
static int	failed;

#define CHECK(cond, ...) check_at((cond), __LINE__, __VA_ARGS__)

static void
check_at(int ok, int line, const char *fmt,...)
{
	va_list		ap;

	if (ok)
	{
		passed++;
		return;
	}
	failed++;
	fprintf(stderr, "FAIL (test_parser.c:%d): ", line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---------- event log ---------- */

typedef struct Ev
{
	EpStatus	st;
	/* error */
	EpErrorCode code;
	uint64_t	line;
	int			column;
	char		colname[40];
	char		value[128];
	char		detail[160];
	char		raw[160];
	/* row */
	char		meter[64];
	char		serial[64];
	char		plant[64];
	char		dtype[64];
	char		units[64];
	char		status[64];
	char		period[64];
	char		rate[64];
	EpTimestamp at;
	EpTimestamp day;
	int			minutes;
	EpTimestamp md_at;
	EpTimestamp reset_at;
	EpDecimal	value_d;
	EpDecimal	md;
	int			dls;
	bool		has_rc;
	int64_t		rc;
} Ev;

typedef struct Res
{
	Ev		   *ev;
	int			nev;
	int			cap;
	int			rows;
	int			errors;
	EpFormat	format;
	uint64_t	consumed;
	char	   *log;
	size_t		loglen;
	size_t		logcap;
} Res;

static void
logf_(Res *r, const char *fmt,...)
{
	va_list		ap;
	char		tmp[2048];
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t) n >= sizeof(tmp))
		n = sizeof(tmp) - 1;
	if (r->loglen + n + 1 > r->logcap)
	{
		r->logcap = (r->logcap + n + 1) * 2;
		r->log = realloc(r->log, r->logcap);
	}
	memcpy(r->log + r->loglen, tmp, n + 1);
	r->loglen += n;
}

static void
cpy(char *dst, size_t dsz, const char *s, size_t n)
{
	if (n >= dsz)
		n = dsz - 1;
	if (n > 0)
		memcpy(dst, s, n);
	dst[n] = '\0';
}

#define CPYT(dst, t) cpy((dst), sizeof(dst), (t).ptr, (t).len)

static void
log_ts(Res *r, const EpTimestamp *t)
{
	logf_(r, " %d:%d-%d-%d %d:%d:%d.%d", t->is_null, t->year, t->month, t->day,
		  t->hour, t->minute, t->second, t->usec);
}

static void
log_dec(Res *r, const EpDecimal *d)
{
	logf_(r, " %d:%a:%d:%lld:%d", d->is_null, d->value, d->exact,
		  (long long) d->digits, d->scale);
}

static void
log_text(Res *r, EpText t)
{
	size_t		k;

	logf_(r, " [");
	for (k = 0; k < t.len; k++)
		logf_(r, "%02x", (unsigned char) t.ptr[k]);
	logf_(r, "]");
}

/*
 * Parse data in chunks of `chunk` bytes (0: one piece) into a Res.  The
 * log string records everything the parser reported except how often it
 * asked for more, which legitimately depends on the chunking.
 */
static Res
parse_chunked(const char *data, size_t len, size_t chunk, size_t max_record)
{
	Res			r;
	EpParser   *p = ep_create(&talloc, max_record);
	size_t		off = 0;
	EpRow		row;
	EpError		err;
	int			guard = 0;

	memset(&r, 0, sizeof(r));
	for (;;)
	{
		EpStatus	st = ep_next(p, &row, &err);
		Ev		   *e;

		if (st == EP_NEED_MORE)
		{
			feed(p, data, len, chunk, &off);
			continue;
		}
		if (r.nev == r.cap)
		{
			r.cap = r.cap ? r.cap * 2 : 16;
			r.ev = realloc(r.ev, r.cap * sizeof(Ev));
		}
		e = &r.ev[r.nev++];
		memset(e, 0, sizeof(*e));
		e->st = st;
		if (st == EP_END)
		{
			logf_(&r, "END\n");
			break;
		}
		if (st == EP_ERROR)
		{
			r.errors++;
			e->code = err.code;
			e->line = err.line;
			e->column = err.column;
			cpy(e->colname, sizeof(e->colname), err.column_name ? err.column_name : "",
				err.column_name ? strlen(err.column_name) : 0);
			cpy(e->value, sizeof(e->value), err.value, strlen(err.value));
			cpy(e->detail, sizeof(e->detail), err.detail, strlen(err.detail));
			cpy(e->raw, sizeof(e->raw), err.raw ? err.raw : "", err.raw_len);
			logf_(&r, "ERR %s %llu %d %s |%s|%s| %zu\n", ep_error_name(err.code),
				  (unsigned long long) err.line, err.column, e->colname,
				  err.value, err.detail, err.raw_len);
			/* file errors repeat; stop after checking that once */
			if (err.code == EP_ERR_EMPTY || err.code == EP_ERR_HEADER)
			{
				EpError		again;

				CHECK(ep_next(p, &row, &again) == EP_ERROR &&
					  again.code == err.code && again.line == err.line,
					  "file error %s repeats", ep_error_name(err.code));
				break;
			}
			if (++guard > 100000)
				break;
			continue;
		}
		r.rows++;
		e->line = row.line;
		CPYT(e->meter, row.meter);
		CPYT(e->serial, row.serial);
		CPYT(e->plant, row.plant);
		CPYT(e->dtype, row.data_type);
		CPYT(e->units, row.units);
		CPYT(e->status, row.status);
		CPYT(e->period, row.period);
		CPYT(e->rate, row.rate);
		cpy(e->raw, sizeof(e->raw), row.raw, row.raw_len);
		e->at = row.at;
		e->day = row.day;
		e->minutes = row.interval_minutes;
		e->md_at = row.max_demand_at;
		e->reset_at = row.reset_at;
		e->value_d = row.value;
		e->md = row.max_demand;
		e->dls = row.dls_active;
		e->has_rc = row.has_reset_count;
		e->rc = row.reset_count;
		logf_(&r, "ROW %llu", (unsigned long long) row.line);
		log_text(&r, row.meter);
		log_text(&r, row.serial);
		log_text(&r, row.plant);
		log_ts(&r, &row.at);
		log_ts(&r, &row.day);
		logf_(&r, " %d", row.interval_minutes);
		log_text(&r, row.data_type);
		log_dec(&r, &row.value);
		log_text(&r, row.units);
		log_text(&r, row.status);
		log_dec(&r, &row.max_demand);
		log_ts(&r, &row.max_demand_at);
		log_text(&r, row.period);
		logf_(&r, " %d %d %lld", row.dls_active, row.has_reset_count,
			  (long long) row.reset_count);
		log_ts(&r, &row.reset_at);
		log_text(&r, row.rate);
		log_text(&r, (EpText) {row.raw, row.raw_len});
		logf_(&r, "\n");
	}
	r.format = ep_format(p);
	r.consumed = ep_bytes_consumed(p);
	ep_destroy(p);
	return r;
}

static void
res_free(Res *r)
{
	free(r->ev);
	free(r->log);
}

/*
 * Parse one-shot, then in chunks of 1, 7 and 60 bytes; all four must give
 * the same log.  Returns the one-shot result.
 */
static Res
PM(const char *data, size_t len, size_t max_record)
{
	static const size_t chunks[] = {1, 7, 60};
	Res			one = parse_chunked(data, len, 0, max_record);
	size_t		k;

	for (k = 0; k < 3; k++)
	{
		Res			other = parse_chunked(data, len, chunks[k], max_record);

		CHECK(one.loglen == other.loglen && memcmp(one.log, other.log, one.loglen) == 0,
			  "chunk %zu parse differs from one-shot for input starting \"%.40s\"\n--- one-shot:\n%s--- chunked:\n%s",
			  chunks[k], data, one.log ? one.log : "", other.log ? other.log : "");
		res_free(&other);
	}
	CHECK(live_blocks == 0, "all parser memory freed (%zu blocks live)", live_blocks);
	return one;
}

#define P(s) PM((s), strlen(s), 0)
#define PN(s, n) PM((s), (n), 0)

#define LPH "MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Data Value,Units,Status"
#define TOUH "MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Energy,Maximum Demand,Time of Max Demand,Units,Status,Period,DLS Active,Billing Reset Count,Billing Reset Date/Time,Rate"
#define ROW1 "210095893,210095893,ED031000001,31/08/2015 00:45:00,Import Wh Total,0.000000,kwh,"
#define ROW2 "210095893,210095893,ED031000001,01/09/2015 00:15:00,Export varh Total,4.200000,kvarh,A"

static bool
ts_is(const EpTimestamp *t, int y, int mo, int d, int h, int mi, int s, int us)
{
	return !t->is_null && t->year == y && t->month == mo && t->day == d &&
		t->hour == h && t->minute == mi && t->second == s && t->usec == us;
}

/* Expect exactly one error event (plus possibly rows) with these facts. */
static void
expect_err(const Res *r, int idx, EpErrorCode code, uint64_t line, int column,
		   const char *value, const char *what)
{
	const Ev   *e;

	if (idx >= r->nev)
	{
		CHECK(0, "%s: event %d missing", what, idx);
		return;
	}
	e = &r->ev[idx];
	CHECK(e->st == EP_ERROR, "%s: event %d is an error", what, idx);
	CHECK(e->code == code, "%s: code %s, expected %s", what,
		  ep_error_name(e->code), ep_error_name(code));
	CHECK(e->line == line, "%s: line %llu, expected %llu", what,
		  (unsigned long long) e->line, (unsigned long long) line);
	CHECK(e->column == column, "%s: column %d, expected %d", what, e->column, column);
	if (value != NULL)
		CHECK(strcmp(e->value, value) == 0, "%s: value \"%s\", expected \"%s\"",
			  what, e->value, value);
	CHECK(e->detail[0] >= 'A' && e->detail[0] <= 'Z' &&
		  e->detail[strlen(e->detail) - 1] == '.',
		  "%s: detail \"%s\" is a sentence", what, e->detail);
}

/* An LP file with one data row whose fields are given; returns the result. */
static Res
lp1(const char *row)
{
	char		buf[4096];

	snprintf(buf, sizeof(buf), LPH "\n%s\n", row);
	return P(buf);
}

static Res
tou1(const char *row)
{
	char		buf[4096];

	snprintf(buf, sizeof(buf), TOUH "\n%s\n", row);
	return P(buf);
}

/* An LP row with Date/Time dt and Data Value v. */
static Res
lp_dt_v(const char *dt, const char *v)
{
	char		row[1024];

	snprintf(row, sizeof(row), "1,2,P,%s,T,%s,u,s", dt, v);
	return lp1(row);
}

static void
expect_ts(const char *dt, int y, int mo, int d, int h, int mi, int s, int us)
{
	Res			r = lp_dt_v(dt, "1");

	CHECK(r.rows == 1 && ts_is(&r.ev[0].at, y, mo, d, h, mi, s, us),
		  "date \"%s\" parses as %d-%d-%d %d:%d:%d.%d", dt, y, mo, d, h, mi, s, us);
	res_free(&r);
}

static void
expect_ts_err(const char *dt, EpErrorCode code)
{
	Res			r = lp_dt_v(dt, "1");
	char		what[200];
	char		trimmed[200];
	const char *s = dt;
	size_t		n = strlen(dt);

	while (n > 0 && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	cpy(trimmed, sizeof(trimmed), s, n);
	snprintf(what, sizeof(what), "date \"%s\"", dt);
	CHECK(r.rows == 0 && r.errors == 1, "%s rejected", what);
	/* a tab shows as \x09 in the value */
	expect_err(&r, 0, code, 2, 4, strchr(trimmed, '\t') ? NULL : trimmed, what);
	CHECK(strcmp(r.ev[0].colname, "Date/Time") == 0, "%s: column name", what);
	res_free(&r);
}

static void
expect_num(const char *v, double value, bool exact, int64_t digits, int scale)
{
	Res			r = lp_dt_v("1/1/2000", v);
	const EpDecimal *d = &r.ev[0].value_d;

	CHECK(r.rows == 1, "number \"%s\" accepted", v);
	if (r.rows == 1)
	{
		CHECK(memcmp(&d->value, &value, sizeof(double)) == 0,
			  "number \"%s\" = %.17g, got %.17g", v, value, d->value);
		CHECK(d->exact == exact, "number \"%s\" exact=%d", v, exact);
		if (exact)
			CHECK(d->digits == digits && d->scale == scale,
				  "number \"%s\" = %lld e-%d, got %lld e-%d", v,
				  (long long) digits, scale, (long long) d->digits, d->scale);
	}
	res_free(&r);
}

static void
expect_num_err(const char *v, EpErrorCode code, const char *value)
{
	Res			r = lp_dt_v("1/1/2000", v);
	char		what[600];

	snprintf(what, sizeof(what), "number \"%.60s\"", v);
	CHECK(r.rows == 0 && r.errors == 1, "%s rejected", what);
	expect_err(&r, 0, code, 2, 6, value, what);
	CHECK(strcmp(r.ev[0].colname, "Data Value") == 0, "%s: column name", what);
	res_free(&r);
}

/*
 * A case of the tables below: one input and what parsing it must give.
 * The input is a whole file, or one data row under the LP or the TOU
 * header: exactly one of file, lp_row and tou_row is set.  A case checks
 * only what it sets: the counts when counted (rows and errors, and the
 * format when one is named); when code is set, the error that is event
 * `at` (its code, line, column, the value when set, the detail is a
 * sentence), its column name, its detail (whole, or holding a part) and
 * its raw record, each when set.  So a table reads as the facts worked out
 * by hand for each input, and one loop runs them all.
 */
typedef struct ParseCase
{
	const char *name;			/* what the failure messages call it */
	const char *file;
	size_t		len;			/* of file, when it holds a NUL; else 0 */
	const char *lp_row;
	const char *tou_row;
	bool		counted;
	int			rows;
	int			errors;
	EpFormat	format;			/* EP_FORMAT_NONE: not checked */
	int			at;				/* the event that is the error */
	EpErrorCode code;			/* EP_ERR_NONE: no error checked */
	uint64_t	line;
	int			column;
	const char *value;
	const char *colname;
	const char *detail;
	const char *detail_has;
	const char *raw;
} ParseCase;

static void
run_cases(const ParseCase *cases, size_t ncases)
{
	for (size_t k = 0; k < ncases; k++)
	{
		const ParseCase *c = &cases[k];
		const Ev   *e;
		Res			r;

		if (c->lp_row != NULL)
			r = lp1(c->lp_row);
		else if (c->tou_row != NULL)
			r = tou1(c->tou_row);
		else
			r = PN(c->file, c->len > 0 ? c->len : strlen(c->file));
		if (c->counted)
			CHECK(r.rows == c->rows && r.errors == c->errors &&
				  (c->format == EP_FORMAT_NONE || r.format == c->format),
				  "%s: %d rows and %d errors (got %d and %d), format %d (got %d)",
				  c->name, c->rows, c->errors, r.rows, r.errors, (int) c->format,
				  (int) r.format);
		if (c->code != EP_ERR_NONE)
		{
			expect_err(&r, c->at, c->code, c->line, c->column, c->value, c->name);
			e = c->at < r.nev ? &r.ev[c->at] : NULL;
			if (c->colname != NULL)
				CHECK(e != NULL && strcmp(e->colname, c->colname) == 0,
					  "%s: column name \"%s\", expected \"%s\"", c->name,
					  e ? e->colname : "", c->colname);
			if (c->detail != NULL)
				CHECK(e != NULL && strcmp(e->detail, c->detail) == 0,
					  "%s: detail \"%s\", expected \"%s\"", c->name,
					  e ? e->detail : "", c->detail);
			if (c->detail_has != NULL)
				CHECK(e != NULL && strstr(e->detail, c->detail_has) != NULL,
					  "%s: detail \"%s\" names \"%s\"", c->name,
					  e ? e->detail : "", c->detail_has);
			if (c->raw != NULL)
				CHECK(e != NULL && strcmp(e->raw, c->raw) == 0,
					  "%s: raw \"%s\", expected \"%s\"", c->name,
					  e ? e->raw : "", c->raw);
		}
		res_free(&r);
	}
}

#define RUN_CASES(cases) run_cases((cases), sizeof(cases) / sizeof((cases)[0]))

/* ---------- the tests ---------- */

static void
test_basic_lp(void)
{
	const char *in = LPH "\n" ROW1 "\n" ROW2 "\n";
	Res			r = P(in);

	CHECK(r.format == EP_FORMAT_LP, "LP format detected");
	CHECK(r.rows == 2 && r.errors == 0 && r.nev == 3, "two rows then END");
	CHECK(r.ev[0].line == 2 && r.ev[1].line == 3, "row lines 2 and 3");
	CHECK(strcmp(r.ev[0].meter, "210095893") == 0, "meter");
	CHECK(strcmp(r.ev[0].serial, "210095893") == 0, "serial");
	CHECK(strcmp(r.ev[0].plant, "ED031000001") == 0, "plant");
	CHECK(ts_is(&r.ev[0].at, 2015, 8, 31, 0, 45, 0, 0), "row 1 time");
	CHECK(strcmp(r.ev[0].dtype, "Import Wh Total") == 0, "data type");
	CHECK(r.ev[0].value_d.value == 0.0 && r.ev[0].value_d.exact &&
		  r.ev[0].value_d.digits == 0 && r.ev[0].value_d.scale == 6,
		  "0.000000 is exactly 0 scale 6");
	CHECK(strcmp(r.ev[0].units, "kwh") == 0 && r.ev[0].status[0] == '\0',
		  "units kwh, status empty");
	CHECK(r.ev[0].dls == -1 && !r.ev[0].has_rc && r.ev[0].md.is_null &&
		  r.ev[0].md_at.is_null && r.ev[0].reset_at.is_null,
		  "TOU extras empty in LP");
	CHECK(strcmp(r.ev[0].raw, ROW1) == 0, "raw is the record without line end");
	CHECK(ts_is(&r.ev[1].at, 2015, 9, 1, 0, 15, 0, 0), "row 2 time");
	CHECK(r.ev[1].value_d.value == 4.2 && r.ev[1].value_d.digits == 4200000 &&
		  r.ev[1].value_d.scale == 6, "4.200000");
	CHECK(strcmp(r.ev[1].status, "A") == 0, "status A");
	CHECK(r.ev[2].st == EP_END, "END");
	CHECK(r.consumed == strlen(in), "all bytes consumed (%llu)",
		  (unsigned long long) r.consumed);
	res_free(&r);
}

static void
test_line_ends(void)
{
	Res			r;

	r = P(LPH "\r\n" ROW1 "\r\n" ROW2 "\r\n");
	CHECK(r.rows == 2 && r.ev[0].line == 2 && r.ev[1].line == 3, "CRLF lines");
	CHECK(strcmp(r.ev[1].status, "A") == 0, "no CR left in the last field");
	res_free(&r);

	r = P(LPH "\r" ROW1 "\r" ROW2 "\r");
	CHECK(r.rows == 2 && r.ev[0].line == 2 && r.ev[1].line == 3, "lone CR lines");
	res_free(&r);

	r = P(LPH "\r\n" ROW1 "\r" ROW2 "\n" ROW1 "\r\n\r\n\n" ROW2);
	CHECK(r.rows == 4, "mixed: 4 rows");
	CHECK(r.nev == 5 && r.ev[0].line == 2 && r.ev[1].line == 3 &&
		  r.ev[2].line == 4 && r.ev[3].line == 7, "mixed line numbers 2,3,4,7");
	CHECK(strcmp(r.ev[3].status, "A") == 0, "no final newline: last field intact");
	res_free(&r);

	/* \n\r is LF then a lone CR: two line ends */
	r = P(LPH "\n\r" ROW1 "\n");
	CHECK(r.rows == 1 && r.ev[0].line == 3, "LF CR is two line ends");
	res_free(&r);
}

static void
test_bom_blank(void)
{
	Res			r;

	r = P("\xEF\xBB\xBF" LPH "\n" ROW1 "\n");
	CHECK(r.rows == 1 && r.ev[0].line == 2, "BOM skipped");
	CHECK(r.consumed == 3 + strlen(LPH) + 1 + strlen(ROW1) + 1, "BOM counted as consumed");
	res_free(&r);

	/* a BOM later in the file is data, not skipped */
	r = P(LPH "\n\xEF\xBB\xBF" ROW1 "\n");
	CHECK(r.rows == 1 && strcmp(r.ev[0].meter, "\xEF\xBB\xBF" "210095893") == 0,
		  "BOM after the start is kept");
	res_free(&r);

	r = P("\n  \n\t\n" LPH "\n\n \t \n" ROW1 "\n   \n\n" ROW2 "\n\n");
	CHECK(r.rows == 2 && r.ev[0].line == 7 && r.ev[1].line == 10,
		  "blank lines skipped, lines 7 and 10");
	res_free(&r);

	r = P(LPH);
	CHECK(r.rows == 0 && r.errors == 0 && r.nev == 1 && r.ev[0].st == EP_END &&
		  r.format == EP_FORMAT_LP, "header only, no newline: 0 rows");
	res_free(&r);

	r = P(LPH "\n");
	CHECK(r.rows == 0 && r.errors == 0 && r.format == EP_FORMAT_LP, "header only: 0 rows");
	res_free(&r);

	r = P(LPH "\n" ROW1);
	CHECK(r.rows == 1 && strcmp(r.ev[0].status, "") == 0, "no final newline");
	res_free(&r);
}

static void
test_quotes(void)
{
	Res			r;

	r = P(LPH "\n\"2100\",  \"21,00\" ,\"a\"\"b\",\"1/9/2015 0:15\",\" T \",\"-1.5\",\"\",\"x\r\ny\"\n" ROW2 "\n");
	CHECK(r.rows == 2, "quoted row parsed");
	CHECK(strcmp(r.ev[0].meter, "2100") == 0, "quoted meter");
	CHECK(strcmp(r.ev[0].serial, "21,00") == 0, "comma inside quotes, blanks around quotes");
	CHECK(strcmp(r.ev[0].plant, "a\"b") == 0, "doubled quote");
	CHECK(strcmp(r.ev[0].dtype, " T ") == 0, "quoted content kept exactly");
	CHECK(r.ev[0].value_d.value == -1.5, "quoted number");
	CHECK(strcmp(r.ev[0].status, "x\r\ny") == 0, "CRLF inside quotes kept");
	CHECK(r.ev[0].line == 2 && r.ev[1].line == 4, "record spans lines 2-3; next on 4");
	res_free(&r);

	/* a line end inside a quoted date is data, and not a valid date */
	r = P(LPH "\n1,1,,\"1/9/2015\n0:15\",T,1,,\n");
	CHECK(r.rows == 0 && r.errors == 1, "newline inside a date is rejected");
	expect_err(&r, 0, EP_ERR_DATETIME, 2, 4, "1/9/2015\\x0A0:15", "date with newline");
	res_free(&r);

	r = P(LPH "\n1,1,\"multi\nline\r\nplant\",1/9/2015,T,1,,\n" ROW1 "\n");
	CHECK(r.rows == 2 && strcmp(r.ev[0].plant, "multi\nline\r\nplant") == 0,
		  "line ends inside quotes are data");
	CHECK(r.ev[0].line == 2 && r.ev[1].line == 5, "CRLF in quotes counts one line");
	res_free(&r);

	r = P(LPH "\n1,1,ab\"c,1/9/2015,T,1,,\"\"\n");
	CHECK(r.rows == 1 && strcmp(r.ev[0].plant, "ab\"c") == 0,
		  "quote inside unquoted field is literal");
	CHECK(r.ev[0].status[0] == '\0', "\"\" is an empty field");
	res_free(&r);

	/* text after a closing quote */
	r = P(LPH "\n" ROW1 "\n1,1,\"P\"x,1/9/2015,T,1,,\n" ROW2 "\n");
	CHECK(r.rows == 2 && r.errors == 1, "quote junk: skip mode keeps 2 rows");
	expect_err(&r, 1, EP_ERR_QUOTE, 3, 3, "1,1,\"P\"x,1/9/2015,T,1,,", "text after quote");
	CHECK(strcmp(r.ev[1].colname, "Plant Code") == 0, "quote error column name");
	CHECK(r.ev[2].line == 4, "row after quote error on line 4");
	res_free(&r);

	r = P(LPH "\n1,1,\"P\" \t ,1/9/2015,T,1,,\n");
	CHECK(r.rows == 1 && strcmp(r.ev[0].plant, "P") == 0, "blanks after closing quote ignored");
	res_free(&r);

	/* EOF inside quotes */
	r = P(LPH "\n" ROW1 "\n1,1,P,1/9/2015,\"T,1,,\n" ROW2 "\n");
	CHECK(r.rows == 1 && r.errors == 1, "unterminated quote");
	expect_err(&r, 1, EP_ERR_QUOTE, 3, 5, NULL, "EOF in quotes");
	CHECK(r.ev[2].st == EP_END, "END after unterminated quote");
	res_free(&r);
}

/*
 * The header line: how it is recognised, and each way a file can fail to
 * have one.
 */
static void
test_header(void)
{
	static const ParseCase cases[] = {
		{
			.name = "header is case-insensitive and trimmed",
			.file = "  meterpoint code ,SERIAL NUMBER,plant code,date/time,data type,data value,units,status\n" ROW1 "\n",
			.counted = true, .rows = 1, .format = EP_FORMAT_LP,
		},
		{
			.name = "quoted header field",
			.file = "\"MeterPoint Code\",Serial Number,Plant Code,Date/Time,Data Type,Data Value,Units,Status\n" ROW1 "\n",
			.counted = true, .rows = 1,
		},
		{
			.name = "TOU header",
			.file = TOUH "\n",
			.counted = true, .rows = 0, .errors = 0, .format = EP_FORMAT_TOU,
		},
		/* a TOU header inside an LP file is not "the header": wrong columns */
		{
			.name = "TOU header in LP file",
			.file = LPH "\n" TOUH "\n",
			.code = EP_ERR_COLUMNS, .line = 2, .column = 0,
		},
		{
			.name = "unknown header is a file error",
			.file = "Meter,Serial\n" ROW1 "\n",
			.counted = true, .rows = 0, .errors = 1,
			.code = EP_ERR_HEADER, .line = 1, .column = 0, .value = "Meter,Serial",
		},
		{
			.name = "LP header with a wrong name",
			.file = "\n\n" "MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Value,Units,Status\n",
			.code = EP_ERR_HEADER, .line = 3, .column = 0,
			.value = "MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Value,Units,Status",
			.detail_has = "6",	/* the detail names the field */
		},
		/* header with invalid UTF-8 and with a NUL */
		{
			.name = "header with bad UTF-8",
			.file = "Meter\xff,x\n", .len = 9,
			.code = EP_ERR_HEADER, .line = 1, .column = 0, .value = "Meter\\xFF,x",
		},
		{
			.name = "header with NUL",
			.file = "Met\0r\n", .len = 6,
			.code = EP_ERR_HEADER, .line = 1, .column = 0, .value = "Met\\x00r",
		},
		/* no header at all */
		{
			.name = "empty file",
			.file = "",
			.code = EP_ERR_EMPTY, .line = 0, .column = 0, .value = "",
		},
		{
			.name = "only blank lines",
			.file = "\n \r\n\t\r",
			.code = EP_ERR_EMPTY, .line = 0, .column = 0, .value = "",
		},
		{
			.name = "only a BOM",
			.file = "\xEF\xBB\xBF",
			.code = EP_ERR_EMPTY, .line = 0, .column = 0, .value = "",
		},
		{
			.name = "BOM and a line end",
			.file = "\xEF\xBB\xBF\r\n",
			.code = EP_ERR_EMPTY, .line = 0, .column = 0, .value = "",
		},
		{
			.name = "half a BOM",
			.file = "\xEF\xBB",
			.code = EP_ERR_HEADER, .line = 1, .column = 0, .value = "\\xEF\\xBB",
		},
	};
	Res			r;
	char		buf[1024];
	int			k;

	RUN_CASES(cases);

	r = P(LPH "\n" ROW1 "\n" LPH "\n" ROW2 "\n" " METERPOINT CODE,serial number,Plant Code,Date/Time,Data Type,Data Value,Units,Status\n" ROW1 "\n");
	CHECK(r.rows == 3 && r.errors == 0, "repeated headers skipped");
	CHECK(r.ev[0].line == 2 && r.ev[1].line == 4 && r.ev[2].line == 6, "lines around repeated header");
	res_free(&r);

	/* header value is cut to 100 bytes */
	buf[0] = '\0';
	for (k = 0; k < 30; k++)
		strcat(buf, "Abcdefghij,");
	strcat(buf, "\n");
	r = P(buf);
	CHECK(r.nev == 1 && strlen(r.ev[0].value) == 100 &&
		  strncmp(r.ev[0].value, buf, 100) == 0, "header value cut to 100 bytes");
	res_free(&r);
}

/* Records with the wrong number of fields, for the header they follow. */
static void
test_columns(void)
{
	static const ParseCase cases[] = {
		{
			.name = "7 fields",
			.file = LPH "\n" ROW1 "\n1,2,3,4,5,6,7\n" ROW2 "\n",
			.counted = true, .rows = 2, .errors = 1,	/* skip mode keeps 2 */
			.at = 1, .code = EP_ERR_COLUMNS, .line = 3, .column = 0,
			.value = "1,2,3,4,5,6,7",
			.detail = "Expected 8 fields, found 7.",
			.raw = "1,2,3,4,5,6,7",
			.colname = "",		/* no column name for a record error */
		},
		{
			.name = "20 fields",
			.file = LPH "\n1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20\n",
			.code = EP_ERR_COLUMNS, .line = 2, .column = 0,
			.detail = "Expected 8 fields, found 20.",
		},
		{
			.name = "TOU with 8 fields",
			.file = TOUH "\n1,2,3,4,5,6,7,8\n",
			.code = EP_ERR_COLUMNS, .line = 2, .column = 0,
			.detail = "Expected 15 fields, found 8.",
		},
		/* a line of commas is not blank */
		{
			.name = "comma line",
			.file = LPH "\n,\n",
			.code = EP_ERR_COLUMNS, .line = 2, .column = 0, .value = ",",
		},
	};

	RUN_CASES(cases);
}

static void
test_too_long(void)
{
	Res			r;
	char	   *big;
	size_t		k;
	EpParser   *p;
	EpRow		row;
	EpError		err;
	int			errors = 0;
	int			rows = 0;
	char		chunk[65536];

	/* max_record 100: a 150-byte record fails, the next line parses */
	big = malloc(4096);
	strcpy(big, LPH "\n" ROW1 "\n1,1,");
	for (k = 0; k < 150; k++)
		strcat(big, "x");
	strcat(big, ",1/1/2000,T,1,,\n" ROW2 "\n");
	r = PM(big, strlen(big), 100);
	CHECK(r.rows == 2 && r.errors == 1, "too long: skip mode keeps 2");
	expect_err(&r, 1, EP_ERR_TOO_LONG, 3, 0, NULL, "150-byte record");
	CHECK(strlen(r.ev[1].value) == 100 && strncmp(r.ev[1].value, "1,1,xxx", 7) == 0,
		  "too-long value is the record start, cut");
	CHECK(r.ev[2].line == 4, "line after too-long record");
	res_free(&r);

	/* exactly max_record bytes is fine, one more is not: 4 + 81 + 15 = 100 */
	strcpy(big, LPH "\n" "1,1,");
	for (k = 0; k < 81; k++)
		strcat(big, "p");
	strcat(big, ",1/1/2000,T,1,,\r\n");
	r = PM(big, strlen(big), 100);
	CHECK(r.rows == 1, "record of exactly max_record bytes");
	res_free(&r);
	r = PM(big, strlen(big), 99);
	CHECK(r.rows == 0 && r.errors == 1 && r.ev[0].code == EP_ERR_TOO_LONG,
		  "record of max_record + 1 bytes");
	res_free(&r);

	/* too long inside quotes: discard to the next line end, quotes ignored */
	strcpy(big, LPH "\n1,1,\"");
	for (k = 0; k < 50; k++)
		strcat(big, "y");
	strcat(big, "\n");
	for (k = 0; k < 60; k++)
		strcat(big, "z");
	strcat(big, "\n" ROW1 "\n");
	r = PM(big, strlen(big), 100);
	CHECK(r.errors == 1 && r.ev[0].code == EP_ERR_TOO_LONG && r.ev[0].line == 2,
		  "too long across a quoted line end");
	CHECK(r.rows == 1 && r.ev[1].line == 4, "row after it on line 4");
	res_free(&r);
	free(big);

	/* 8 MiB without a newline, default limit: bounded memory, one error */
	memset(chunk, 'x', sizeof(chunk));
	peak_bytes = live_bytes;
	p = ep_create(&talloc, 0);
	ep_push(p, LPH "\n", strlen(LPH) + 1);
	for (k = 0; k < 128;)
	{
		EpStatus	st = ep_next(p, &row, &err);

		if (st == EP_NEED_MORE)
		{
			ep_push(p, chunk, sizeof(chunk));
			k++;
		}
		else if (st == EP_ERROR)
		{
			errors++;
			CHECK(err.code == EP_ERR_TOO_LONG && err.line == 2, "1 GB-style line: too long at line 2");
		}
		else
			rows++;
	}
	ep_push(p, "\n" ROW1 "\n", strlen(ROW1) + 2);
	ep_finish(p);
	for (;;)
	{
		EpStatus	st = ep_next(p, &row, &err);

		if (st == EP_END)
			break;
		if (st == EP_ROW)
		{
			rows++;
			CHECK(row.line == 3, "row after the huge line is on line 3");
		}
		else
			errors++;
	}
	CHECK(errors == 1 && rows == 1, "huge line: one error, then one row");
	CHECK(peak_bytes < 3 * 1024 * 1024, "memory stays bounded (peak %zu bytes)", peak_bytes);
	CHECK(ep_bytes_consumed(p) == strlen(LPH) + 1 + 128 * 65536 + 1 + strlen(ROW1) + 1,
		  "bytes consumed include the discarded line");
	ep_destroy(p);
}

static void
test_encoding(void)
{
	static const struct
	{
		const char *field;
		size_t		len;
		const char *value;
	}			bad[] = {
		{"Imp\xffrt", 6, "Imp\\xFFrt"},
		{"Imp\x00rt", 6, "Imp\\x00rt"},
		{"\xc0\x80", 2, "\\xC0\\x80"},	/* overlong NUL */
		{"\xe0\x80\xaf", 3, "\\xE0\\x80\\xAF"},	/* overlong '/' */
		{"\xed\xa0\x80", 3, "\\xED\\xA0\\x80"},	/* surrogate */
		{"\xf4\x90\x80\x80", 4, "\\xF4\\x90\\x80\\x80"},	/* > U+10FFFF */
		{"ab\xe2\x82", 4, "ab\\xE2\\x82"},	/* truncated euro sign */
		{"\x80", 1, "\\x80"},	/* lone continuation */
		{"\xf8\x88\x80\x80\x80", 5, "\\xF8\\x88\\x80\\x80\\x80"},
	};
	size_t		k;
	char		buf[512];
	Res			r;

	for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
	{
		size_t		n;
		char		what[64];

		n = snprintf(buf, sizeof(buf), LPH "\n1,1,P,1/1/2000,");
		memcpy(buf + n, bad[k].field, bad[k].len);
		n += bad[k].len;
		n += snprintf(buf + n, sizeof(buf) - n, ",1,,\n" ROW1 "\n");
		r = PN(buf, n);
		snprintf(what, sizeof(what), "bad UTF-8 case %zu", k);
		CHECK(r.rows == 1 && r.errors == 1, "%s: one error, one row", what);
		expect_err(&r, 0, EP_ERR_ENCODING, 2, 5, bad[k].value, what);
		CHECK(strcmp(r.ev[0].colname, "Data Type") == 0, "%s: column name", what);
		res_free(&r);
	}

	/* valid multibyte text passes and is kept */
	r = P(LPH "\n1,1,Zürich €,1/1/2000,T \xf0\x9f\x98\x80,1,,\n");
	CHECK(r.rows == 1 && strcmp(r.ev[0].plant, "Zürich €") == 0 &&
		  strcmp(r.ev[0].dtype, "T \xf0\x9f\x98\x80") == 0, "valid UTF-8 kept");
	res_free(&r);

	/* bad byte in a quoted field, after a quoted comma: column still right */
	r = PN(LPH "\n1,\"a,b\",\"c\xff\",1/1/2000,T,1,,\n", strlen(LPH) + 29);
	expect_err(&r, 0, EP_ERR_ENCODING, 2, 3, "\"c\\xFF\"", "bad byte in quoted field");
	res_free(&r);
}

/* Fields that must not be empty, and the optional ones that may. */
static void
test_required(void)
{
	static const ParseCase cases[] = {
		{
			.name = "empty meter",
			.lp_row = ",1,P,1/1/2000,T,1,,",
			.code = EP_ERR_REQUIRED, .line = 2, .column = 1, .value = "",
			.colname = "MeterPoint Code",
		},
		{
			.name = "blank serial",
			.lp_row = "1,  ,P,1/1/2000,T,1,,",
			.code = EP_ERR_REQUIRED, .line = 2, .column = 2, .value = "",
		},
		{
			.name = "empty Date/Time",
			.lp_row = "1,1,,,T,1,,",
			.code = EP_ERR_REQUIRED, .line = 2, .column = 4, .value = "",
		},
		{
			.name = "empty Data Type",
			.lp_row = "1,1,,1/1/2000,,1,,",
			.code = EP_ERR_REQUIRED, .line = 2, .column = 5, .value = "",
		},
		{
			.name = "empty Data Value",
			.lp_row = "1,1,,1/1/2000,T,,,",
			.code = EP_ERR_REQUIRED, .line = 2, .column = 6, .value = "",
			.colname = "Data Value",
		},
		{
			.name = "empty Energy",
			.tou_row = "1,1,,1/1/2000,T,,,,,,,,,,",
			.code = EP_ERR_REQUIRED, .line = 2, .column = 6, .value = "",
			.colname = "Energy",
		},
		{
			.name = "OLE zero reading time",
			.lp_row = "1,1,,30/12/1899 00:00:00,T,1,,",
			.code = EP_ERR_REQUIRED, .line = 2, .column = 4,
			.value = "30/12/1899 00:00:00",
			.detail_has = "needs a time",
		},
		{
			.name = "OLE zero date without time",
			.lp_row = "1,1,,30/12/1899,T,1,,",
			.code = EP_ERR_REQUIRED, .line = 2, .column = 4, .value = "30/12/1899",
		},
	};
	Res			r;

	RUN_CASES(cases);

	/* the OLE date at another time is a real (old) time */
	expect_ts("30/12/1899 00:00:01", 1899, 12, 30, 0, 0, 1, 0);
	/* optional fields may be empty */
	r = lp1("1,1,,1/1/2000,T,1,,");
	CHECK(r.rows == 1 && r.ev[0].plant[0] == 0 && r.ev[0].units[0] == 0, "optional empty");
	res_free(&r);
}

/*
 * Date/Time values, each in an LP row of its own: the forms accepted, with
 * the time they give, and the forms refused, with the error.
 */
static void
test_datetime(void)
{
	static const struct
	{
		const char *text;
		int			y,
					mo,
					d,
					h,
					mi,
					s,
					us;
	}			good[] = {
		{"31/08/2015 00:45:00", 2015, 8, 31, 0, 45, 0, 0},
		{"1/9/2015 0:15", 2015, 9, 1, 0, 15, 0, 0},
		{"1/9/2015", 2015, 9, 1, 0, 0, 0, 0},
		{"01/09/2015   23:59:59", 2015, 9, 1, 23, 59, 59, 0},
		{"  01/09/2015 12:00:00  ", 2015, 9, 1, 12, 0, 0, 0},
		{"01/09/2015 12:00:00.5", 2015, 9, 1, 12, 0, 0, 500000},
		{"01/09/2015 12:00:00.123456", 2015, 9, 1, 12, 0, 0, 123456},
		{"01/09/2015 12:00:00.000001", 2015, 9, 1, 12, 0, 0, 1},
		{"29/02/2016 00:00:00", 2016, 2, 29, 0, 0, 0, 0},
		{"29/02/2000 00:00:00", 2000, 2, 29, 0, 0, 0, 0},
		{"31/12/9999 23:59:59", 9999, 12, 31, 23, 59, 59, 0},
		{"1/1/0001", 1, 1, 1, 0, 0, 0, 0},
		{"12/11/2015", 2015, 11, 12, 0, 0, 0, 0},	/* day first */
		{"01/09/2015 ", 2015, 9, 1, 0, 0, 0, 0},	/* trailing blank trimmed */
	};
	static const struct
	{
		const char *text;
		EpErrorCode code;
	}			bad[] = {
		{"2015-09-01 00:00:00", EP_ERR_DATETIME},
		{"2015/09/01", EP_ERR_DATETIME},
		{"first of May", EP_ERR_DATETIME},
		{"01/09/2015 00:00:00x", EP_ERR_DATETIME},
		{"01/09/2015x", EP_ERR_DATETIME},
		{"001/09/2015", EP_ERR_DATETIME},
		{"01/009/2015", EP_ERR_DATETIME},
		{"01/09/15", EP_ERR_DATETIME},
		{"01/09/20155", EP_ERR_DATETIME},
		{"01/09/2015 000:00", EP_ERR_DATETIME},
		{"01/09/2015 00:0", EP_ERR_DATETIME},
		{"01/09/2015 00:00:0", EP_ERR_DATETIME},
		{"01/09/2015 00:00:00.", EP_ERR_DATETIME},
		{"01/09/2015 00:00:00.1234567", EP_ERR_DATETIME},
		{"01/09/2015T00:00", EP_ERR_DATETIME},
		{"01/09/2015\t00:00", EP_ERR_DATETIME},
		{"/09/2015", EP_ERR_DATETIME},
		{"+1/09/2015", EP_ERR_DATETIME},
		{"01/13/2015 00:00:00", EP_ERR_DATETIME_RANGE},
		{"01/00/2015 00:00:00", EP_ERR_DATETIME_RANGE},
		{"00/01/2015 00:00:00", EP_ERR_DATETIME_RANGE},
		{"31/02/2015 00:00:00", EP_ERR_DATETIME_RANGE},
		{"29/02/2015 00:00:00", EP_ERR_DATETIME_RANGE},
		{"29/02/1900 00:00:00", EP_ERR_DATETIME_RANGE},
		{"31/04/2015 00:00:00", EP_ERR_DATETIME_RANGE},
		{"32/01/2015 00:00:00", EP_ERR_DATETIME_RANGE},
		{"01/09/2015 24:00:00", EP_ERR_DATETIME_RANGE},
		{"01/09/2015 25:00", EP_ERR_DATETIME_RANGE},
		{"01/09/2015 00:60:00", EP_ERR_DATETIME_RANGE},
		{"01/09/2015 00:00:60", EP_ERR_DATETIME_RANGE},
		{"01/01/0000 00:00:00", EP_ERR_DATETIME_RANGE},
	};

	for (size_t k = 0; k < sizeof(good) / sizeof(good[0]); k++)
		expect_ts(good[k].text, good[k].y, good[k].mo, good[k].d, good[k].h,
				  good[k].mi, good[k].s, good[k].us);
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
		expect_ts_err(bad[k].text, bad[k].code);
}

static void
test_datetime_details(void)
{
	Res			r = lp_dt_v("01/13/2015 00:00:00", "1");

	CHECK(strcmp(r.ev[0].detail, "Month 13 is out of range.") == 0,
		  "month detail: %s", r.ev[0].detail);
	res_free(&r);
	r = lp_dt_v("31/02/2015", "1");
	CHECK(strcmp(r.ev[0].detail, "Day 31 is out of range for month 2 of year 2015.") == 0,
		  "day detail: %s", r.ev[0].detail);
	res_free(&r);
}

/*
 * Data Value numbers, each in an LP row of its own: the forms accepted,
 * with the double and (when exact) the decimal they give, and the forms
 * refused, with the error and the value it quotes.
 */
static void
test_numbers(void)
{
	static const struct
	{
		const char *text;
		double		value;
		bool		exact;
		int64_t		digits;
		int			scale;
	}			good[] = {
		{"0.000000", 0.0, true, 0, 6},
		{"-21.880000", -21.88, true, -21880000, 6},
		{"409646.700000", 409646.7, true, 409646700000LL, 6},
		{"1275.368000", 1275.368, true, 1275368000, 6},
		{"4.2", 4.2, true, 42, 1},
		{"+3", 3.0, true, 3, 0},
		{".5", 0.5, true, 5, 1},
		{"-.5", -0.5, true, -5, 1},
		{"007", 7.0, true, 7, 0},
		{"  12.50\t", 12.5, true, 1250, 2},
		{"-0", -0.0, true, 0, 0},
		{"-0.0", -0.0, true, 0, 1},
		{"0.1", 0.1, true, 1, 1},
		{"123456789012345678", 123456789012345678.0, true, 123456789012345678LL, 0},
		{"-999999999999999999", -999999999999999999.0, true, -999999999999999999LL, 0},
		{"0.000000000000000001", 1e-18, true, 1, 18},
		{"9007199254740993", 9007199254740992.0, true, 9007199254740993LL, 0},
		/* an exponent moves the point: still an exact decimal, by hand */
		{"1e3", 1000.0, true, 1000, 0},
		{"1E+3", 1000.0, true, 1000, 0},
		{"2.5E+3", 2500.0, true, 2500, 0},
		{"-2.5e-3", -0.0025, true, -25, 4},
		{"1e-5", 0.00001, true, 1, 5},
		{"12.50e1", 125.0, true, 1250, 1},	/* 1250 * 10^(1-2) */
		{"0e-999", 0.0, true, 0, 18},
		{"-0e5", -0.0, true, 0, 0},
		{"1e-18", 1e-18, true, 1, 18},
		{"100e-20", 1e-18, true, 1, 18},	/* 100 * 10^-20: zeros go */
		{"1e17", 1e17, true, 100000000000000000LL, 0},
		{"999999999999999999e0", 999999999999999999.0, true, 999999999999999999LL, 0},
		/* not exact: too many digits, too large a scale or magnitude */
		{"1234567890123456789", 1234567890123456789.0, false, 0, 0},
		{"0.0000000000000000001", 1e-19, false, 0, 0},
		{"1e18", 1e18, false, 0, 0},
		{"99999999999999999e2", 99999999999999999e2, false, 0, 0},
		{"1e-19", 1e-19, false, 0, 0},
		{"1.7976931348623157e308", 1.7976931348623157e308, false, 0, 0},
		{"2.2250738585072014e-308", 2.2250738585072014e-308, false, 0, 0},
		{"0.1234567890123456789012345", 0.1234567890123456789012345, false, 0, 0},
		{"123456789.123456789e-30", 123456789.123456789e-30, false, 0, 0},
		{"1234567890123456789e-5", 1234567890123456789e-5, false, 0, 0},
		/* denormals are values, as for float8in */
		{"4.9e-324", 4.9e-324, false, 0, 0},
		{"1e-310", 1e-310, false, 0, 0},
	};
	static const struct
	{
		const char *text;
		EpErrorCode code;
		const char *value;
	}			bad[] = {
		{"abc", EP_ERR_NUMBER, "abc"},
		{"NaN", EP_ERR_NUMBER, "NaN"},
		{"nan", EP_ERR_NUMBER, "nan"},
		{"Infinity", EP_ERR_NUMBER, "Infinity"},
		{"-inf", EP_ERR_NUMBER, "-inf"},
		{"0x10", EP_ERR_NUMBER, "0x10"},
		{"-", EP_ERR_NUMBER, "-"},
		{"+", EP_ERR_NUMBER, "+"},
		{".", EP_ERR_NUMBER, "."},
		{"5.", EP_ERR_NUMBER, "5."},
		{"1.2.3", EP_ERR_NUMBER, "1.2.3"},
		{"\"1,5\"", EP_ERR_NUMBER, "1,5"},
		{"1e", EP_ERR_NUMBER, "1e"},
		{"1e+", EP_ERR_NUMBER, "1e+"},
		{"1 5", EP_ERR_NUMBER, "1 5"},
		{"--1", EP_ERR_NUMBER, "--1"},
		{"1e400", EP_ERR_NUMBER_RANGE, "1e400"},
		{"-1e400", EP_ERR_NUMBER_RANGE, "-1e400"},
		{"1e-400", EP_ERR_NUMBER_RANGE, "1e-400"},
		{"2e-324", EP_ERR_NUMBER_RANGE, "2e-324"},
	};
	char		longnum[600];

	for (size_t k = 0; k < sizeof(good) / sizeof(good[0]); k++)
		expect_num(good[k].text, good[k].value, good[k].exact, good[k].digits,
				   good[k].scale);
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
		expect_num_err(bad[k].text, bad[k].code, bad[k].value);

	memset(longnum, '1', 401);
	longnum[401] = '\0';
	expect_num_err(longnum, EP_ERR_NUMBER, NULL);
	/* 400 characters is the limit; this one takes the strtod path */
	longnum[0] = '0';
	longnum[1] = '.';
	memset(longnum + 2, '1', 398);
	longnum[400] = '\0';
	expect_num(longnum, 0.1111111111111111111111111, false, 0, 0);
}

/*
 * TOU rows: the columns LP has not, as values and as errors.
 */
static void
test_tou(void)
{
	static const ParseCase errors[] = {
		{
			.name = "boolean Maybe",
			.tou_row = "1,1,,1/1/2000,T,1,,,,,,Maybe,,,",
			.code = EP_ERR_BOOLEAN, .line = 2, .column = 12, .value = "Maybe",
			.colname = "DLS Active",
		},
		{
			.name = "boolean truee",
			.tou_row = "1,1,,1/1/2000,T,1,,,,,,truee,,,",
			.code = EP_ERR_BOOLEAN, .line = 2, .column = 12, .value = "truee",
		},
		{
			.name = "boolean 2",
			.tou_row = "1,1,,1/1/2000,T,1,,,,,,2,,,",
			.code = EP_ERR_BOOLEAN, .line = 2, .column = 12, .value = "2",
		},
		{
			.name = "int64 overflow",
			.tou_row = "1,1,,1/1/2000,T,1,,,,,,,9223372036854775808,,",
			.code = EP_ERR_INTEGER_RANGE, .line = 2, .column = 13,
			.value = "9223372036854775808",
			.colname = "Billing Reset Count",
		},
		{
			.name = "int64 underflow",
			.tou_row = "1,1,,1/1/2000,T,1,,,,,,,-9223372036854775809,,",
			.code = EP_ERR_INTEGER_RANGE, .line = 2, .column = 13,
			.value = "-9223372036854775809",
		},
		{
			.name = "integer 2x",
			.tou_row = "1,1,,1/1/2000,T,1,,,,,,,2x,,",
			.code = EP_ERR_INTEGER, .line = 2, .column = 13, .value = "2x",
		},
		{
			.name = "integer -",
			.tou_row = "1,1,,1/1/2000,T,1,,,,,,,-,,",
			.code = EP_ERR_INTEGER, .line = 2, .column = 13, .value = "-",
		},
		{
			.name = "integer 1.0",
			.tou_row = "1,1,,1/1/2000,T,1,,,,,,,1.0,,",
			.code = EP_ERR_INTEGER, .line = 2, .column = 13, .value = "1.0",
		},
		{
			.name = "max demand abc",
			.tou_row = "1,1,,1/1/2000,T,1,abc,,,,,,,,",
			.code = EP_ERR_NUMBER, .line = 2, .column = 7, .value = "abc",
			.colname = "Maximum Demand",
		},
		{
			.name = "max demand time",
			.tou_row = "1,1,,1/1/2000,T,1,,32/01/2000,,,,,,,",
			.code = EP_ERR_DATETIME_RANGE, .line = 2, .column = 8,
			.value = "32/01/2000",
		},
		{
			.name = "reset time",
			.tou_row = "1,1,,1/1/2000,T,1,,,,,,,,2000-01-01,",
			.code = EP_ERR_DATETIME, .line = 2, .column = 14, .value = "2000-01-01",
			.colname = "Billing Reset Date/Time",
		},
	};
	Res			r;

	r = tou1("212621145,212621145,ED011300245,11/09/2015 00:41:02,Export Wh Total,409646.700000,1275.368000,30/12/1899 00:00:00,kwh,.....R....,Total,False,26,01/09/2015 00:00:00,Unified");
	CHECK(r.rows == 1 && r.format == EP_FORMAT_TOU, "TOU row");
	CHECK(r.ev[0].value_d.digits == 409646700000LL && r.ev[0].value_d.scale == 6 &&
		  r.ev[0].value_d.value == 409646.7, "TOU energy");
	CHECK(!r.ev[0].md.is_null && r.ev[0].md.value == 1275.368 &&
		  r.ev[0].md.digits == 1275368000 && r.ev[0].md.scale == 6, "max demand");
	CHECK(r.ev[0].md_at.is_null, "OLE zero max demand time is null");
	CHECK(strcmp(r.ev[0].units, "kwh") == 0 && strcmp(r.ev[0].status, ".....R....") == 0 &&
		  strcmp(r.ev[0].period, "Total") == 0 && strcmp(r.ev[0].rate, "Unified") == 0,
		  "TOU texts");
	CHECK(r.ev[0].dls == 0 && r.ev[0].has_rc && r.ev[0].rc == 26, "dls false, reset 26");
	CHECK(ts_is(&r.ev[0].reset_at, 2015, 9, 1, 0, 0, 0, 0), "reset time");
	res_free(&r);

	r = tou1("1,1,,1/1/2000,T,1,,,,,,,,,");
	CHECK(r.rows == 1 && r.ev[0].md.is_null && r.ev[0].md_at.is_null &&
		  r.ev[0].dls == -1 && !r.ev[0].has_rc && r.ev[0].reset_at.is_null,
		  "all TOU optionals empty");
	res_free(&r);

	{
		static const struct
		{
			const char *text;
			int			v;
		}			b[] = {
			{"true", 1}, {"TRUE", 1}, {"yes", 1}, {"On", 1}, {"t", 1}, {"Y", 1}, {"1", 1},
			{"false", 0}, {"False", 0}, {"NO", 0}, {"off", 0}, {"f", 0}, {"n", 0}, {"0", 0},
			{" true ", 1}, {"", -1}
		};
		size_t		k;
		char		row[256];

		for (k = 0; k < sizeof(b) / sizeof(b[0]); k++)
		{
			snprintf(row, sizeof(row), "1,1,,1/1/2000,T,1,,,,,,%s,,,", b[k].text);
			r = tou1(row);
			CHECK(r.rows == 1 && r.ev[0].dls == b[k].v, "boolean \"%s\" is %d",
				  b[k].text, b[k].v);
			res_free(&r);
		}
	}
	RUN_CASES(errors);

	r = tou1("1,1,,1/1/2000,T,1,,,,,,,-9223372036854775808,,");
	CHECK(r.rows == 1 && r.ev[0].has_rc && r.ev[0].rc == INT64_MIN, "int64 min");
	res_free(&r);
	r = tou1("1,1,,1/1/2000,T,1,,,,,,,+9223372036854775807,,");
	CHECK(r.rows == 1 && r.ev[0].rc == INT64_MAX, "int64 max");
	res_free(&r);
	r = tou1("1,1,,1/1/2000,T,1,,,,,,,,30/12/1899 00:00,");
	CHECK(r.rows == 1 && r.ev[0].reset_at.is_null, "OLE zero reset time is null");
	res_free(&r);
}

static void
test_values_and_skip(void)
{
	Res			r;
	char		buf[2048];
	size_t		n;
	int			k;

	/* skip mode: errors on several lines, rows in between keep their lines */
	r = P(LPH "\n" ROW1 "\n1,1,,1/1/2000,T,x,,\n" ROW2 "\n1,1,,1/13/2000,T,1,,\n" ROW1 "\n");
	CHECK(r.rows == 3 && r.errors == 2 && r.nev == 6, "skip mode sequence");
	CHECK(r.ev[0].line == 2 && r.ev[1].line == 3 && r.ev[2].line == 4 &&
		  r.ev[3].line == 5 && r.ev[4].line == 6, "skip mode lines");
	CHECK(strcmp(r.ev[1].raw, "1,1,,1/1/2000,T,x,,") == 0, "error raw");
	res_free(&r);

	/* value cut at a character boundary: 60 two-byte characters */
	n = snprintf(buf, sizeof(buf), LPH "\n1,1,,1/1/2000,T,");
	for (k = 0; k < 60; k++)
		n += snprintf(buf + n, sizeof(buf) - n, "é");
	n += snprintf(buf + n, sizeof(buf) - n, ",,\n");
	r = PN(buf, n);
	CHECK(r.errors == 1 && strlen(r.ev[0].value) == 100, "value cut to 100 bytes (50 chars)");
	res_free(&r);
	/* odd: 1 ASCII byte then two-byte characters: cut to 99 */
	n = snprintf(buf, sizeof(buf), LPH "\n1,1,,1/1/2000,T,x");
	for (k = 0; k < 60; k++)
		n += snprintf(buf + n, sizeof(buf) - n, "é");
	n += snprintf(buf + n, sizeof(buf) - n, ",,\n");
	r = PN(buf, n);
	CHECK(r.errors == 1 && strlen(r.ev[0].value) == 99, "value cut before a split character");
	res_free(&r);
	/* control characters escaped */
	r = P(LPH "\n1,1,,1/1/2000,T,\"1\x01\r\n\",,\n");
	expect_err(&r, 0, EP_ERR_NUMBER, 2, 6, "1\\x01\\x0D\\x0A", "control characters escaped");
	res_free(&r);
}

static void
test_codes(void)
{
	static const struct
	{
		EpErrorCode c;
		const char *state;
		const char *name;
	}			t[] = {
		{EP_ERR_EMPTY, "22P04", "empty"},
		{EP_ERR_HEADER, "22P04", "header"},
		{EP_ERR_COLUMNS, "22P04", "columns"},
		{EP_ERR_QUOTE, "22P04", "quote"},
		{EP_ERR_TOO_LONG, "54000", "too_long"},
		{EP_ERR_ENCODING, "22021", "encoding"},
		{EP_ERR_REQUIRED, "23502", "required"},
		{EP_ERR_DATETIME, "22007", "datetime"},
		{EP_ERR_DATETIME_RANGE, "22008", "datetime_range"},
		{EP_ERR_NUMBER, "22P02", "number"},
		{EP_ERR_NUMBER_RANGE, "22003", "number_range"},
		{EP_ERR_BOOLEAN, "22P02", "boolean"},
		{EP_ERR_INTEGER, "22P02", "integer"},
		{EP_ERR_INTEGER_RANGE, "22003", "integer_range"},
		{EP_ERR_RECORD_TYPE, "22P04", "record_type"},
		{EP_ERR_RECORD_ORDER, "22P04", "record_order"},
		{EP_ERR_VALUE_COUNT, "22P04", "value_count"},
		{EP_ERR_INTERVAL_LENGTH, "22P02", "interval_length"},
		{EP_ERR_QUALITY, "22P02", "quality"},
		{EP_ERR_INTERVAL_RANGE, "22003", "interval_range"},
	};
	size_t		k;

	for (k = 0; k < sizeof(t) / sizeof(t[0]); k++)
	{
		CHECK(strcmp(ep_sqlstate(t[k].c), t[k].state) == 0, "sqlstate of %s", t[k].name);
		CHECK(strcmp(ep_error_name(t[k].c), t[k].name) == 0, "name of %s", t[k].name);
	}
}

/*
 * ep_parse_date, the day a lookup names: the forms it takes, the calendar
 * it shares with a file's Date/Time, and what it refuses.
 */
static void
test_parse_date(void)
{
	static const struct
	{
		const char *s;
		EpErrorCode rc;
		int			y,
					m,
					d;
	}			t[] = {
		{"01/09/2015", EP_ERR_NONE, 2015, 9, 1},
		{"1/9/2015", EP_ERR_NONE, 2015, 9, 1},
		{"2015-09-01", EP_ERR_NONE, 2015, 9, 1},
		{"2015-9-1", EP_ERR_NONE, 2015, 9, 1},
		{"29/02/2016", EP_ERR_NONE, 2016, 2, 29},
		{"29/02/1900", EP_ERR_DATETIME_RANGE, 0, 0, 0},
		{"2000-02-30", EP_ERR_DATETIME_RANGE, 0, 0, 0},
		{"01/13/2015", EP_ERR_DATETIME_RANGE, 0, 0, 0},
		{"01/01/0000", EP_ERR_DATETIME_RANGE, 0, 0, 0},
		{"001/09/2015", EP_ERR_DATETIME, 0, 0, 0},
		{"01/09/15", EP_ERR_DATETIME, 0, 0, 0},
		{"2015/09/01", EP_ERR_DATETIME, 0, 0, 0},
		{"15-09-01", EP_ERR_DATETIME, 0, 0, 0},
		{"2015-09-01 00:00", EP_ERR_DATETIME, 0, 0, 0},
		{"01/09/2015x", EP_ERR_DATETIME, 0, 0, 0},
		{"", EP_ERR_DATETIME, 0, 0, 0},
	};

	for (size_t k = 0; k < sizeof(t) / sizeof(t[0]); k++)
	{
		EpTimestamp ts;
		char		detail[EP_DETAIL_MAX];
		EpErrorCode rc = ep_parse_date(t[k].s, strlen(t[k].s), &ts, detail);

		CHECK(rc == t[k].rc, "ep_parse_date(\"%s\") gives %s", t[k].s, ep_error_name(rc));
		if (rc == EP_ERR_NONE)
			CHECK(ts.year == t[k].y && ts.month == t[k].m && ts.day == t[k].d,
				  "ep_parse_date(\"%s\") is %d-%d-%d", t[k].s, ts.year, ts.month, ts.day);
	}
}

/* ---------- NEM12 and NEM13 ---------- */

/*
 * The cases below mostly use a 360-minute IntervalLength, so that a 300
 * record has N = 4 values: short enough to write out, and every rule
 * (roll-over, quality position, 400 ranges) still shows.
 */
#define H100 "100,NEM12,202401011200,MDP1,RET1\n"
#define C200 "200,NMI0000001,E1B1,1,E1,N1,MET1,kWh,360,20240301\n"
#define END900 "900\n"

/* A decimal as its exact digits spell it ("1.50"), or "null". */
static void
dec_text(const EpDecimal *d, char *out, size_t n)
{
	long long	v = (long long) d->digits;
	long long	p10 = 1;
	int			k;

	if (d->is_null)
	{
		snprintf(out, n, "null");
		return;
	}
	if (!d->exact)
	{
		snprintf(out, n, "inexact");
		return;
	}
	for (k = 0; k < d->scale; k++)
		p10 *= 10;
	if (d->scale == 0)
		snprintf(out, n, "%lld", v);
	else
		snprintf(out, n, "%s%lld.%0*lld", v < 0 ? "-" : "", llabs(v) / p10,
				 d->scale, llabs(v) % p10);
}

static void
ts_text(const EpTimestamp *t, char *out, size_t n)
{
	if (t->is_null)
		snprintf(out, n, "null");
	else
		snprintf(out, n, "%04d-%02d-%02d %02d:%02d:%02d", t->year, t->month,
				 t->day, t->hour, t->minute, t->second);
}

/*
 * Event idx of r is a row of this line, ending at `at` (yyyy-mm-dd hh:mm:ss),
 * of day `day` (yyyy-mm-dd), with this value (exact text or "null") and
 * status.
 */
static void
expect_nem_row(const Res *r, int idx, uint64_t line, const char *at,
			   const char *day, const char *value, const char *status,
			   const char *what)
{
	const Ev   *e;
	char		a[40];
	char		d[40];
	char		v[64];

	if (idx >= r->nev || r->ev[idx].st != EP_ROW)
	{
		CHECK(0, "%s: event %d is no row", what, idx);
		return;
	}
	e = &r->ev[idx];
	ts_text(&e->at, a, sizeof(a));
	ts_text(&e->day, d, sizeof(d));
	dec_text(&e->value_d, v, sizeof(v));
	CHECK(e->line == line, "%s: line %llu, expected %llu", what,
		  (unsigned long long) e->line, (unsigned long long) line);
	CHECK(strcmp(a, at) == 0, "%s: at %s, expected %s", what, a, at);
	CHECK(strncmp(d, day, strlen(day)) == 0 && strcmp(d + 10, " 00:00:00") == 0,
		  "%s: day %s, expected %s", what, d, day);
	CHECK(strcmp(v, value) == 0, "%s: value %s, expected %s", what, v, value);
	CHECK(strcmp(e->status, status) == 0, "%s: status \"%s\", expected \"%s\"",
		  what, e->status, status);
}

/* Every row of r has this channel (and no LP/TOU-only member set). */
static void
expect_channel(const Res *r, const char *meter, const char *serial,
			   const char *dtype, const char *units, int minutes,
			   const char *what)
{
	for (int k = 0; k < r->nev; k++)
	{
		const Ev   *e = &r->ev[k];

		if (e->st != EP_ROW)
			continue;
		CHECK(strcmp(e->meter, meter) == 0 && strcmp(e->serial, serial) == 0 &&
			  strcmp(e->dtype, dtype) == 0 && strcmp(e->units, units) == 0 &&
			  e->plant[0] == '\0' && e->minutes == minutes,
			  "%s: row %d channel %s|%s|%s|%s|%d", what, k, e->meter, e->serial,
			  e->dtype, e->units, e->minutes);
		CHECK(e->md.is_null && e->md_at.is_null && e->reset_at.is_null &&
			  e->dls == -1 && !e->has_rc && e->period[0] == '\0' &&
			  e->rate[0] == '\0', "%s: row %d has no TOU members", what, k);
	}
}

/* Which format the first record makes a file; LP and TOU as before. */
static void
test_nem_detect(void)
{
	static const ParseCase cases[] = {
		{
			.name = "100,NEM12 header: NEM12, 4 rows",
			.file = H100 C200 "300,20240101,1,2,3,4,A\n" END900,
			.counted = true, .rows = 4, .errors = 0, .format = EP_FORMAT_NEM12,
		},
		{
			.name = "100,nem13 (any case, blanks): NEM13, no rows",
			.file = "100 , nem13 ,200401101030,MDA1,Ret1\n900\n",
			.counted = true, .rows = 0, .errors = 0, .format = EP_FORMAT_NEM13,
		},
		/* no 100: a first 200 or 250 is both the format and data */
		{
			.name = "no 100, no 900: NEM12 from the 200",
			.file = C200 "300,20240101,1,2,3,4,A\n",
			.counted = true, .rows = 4, .errors = 0, .format = EP_FORMAT_NEM12,
		},
		{
			.name = "blank line, no 100: NEM13 from the 250",
			.file = "\r\n250,NMI1,11,1,11,11,SER,E,100,20040101000000,A,,,150,20040401000000,A,,,50,kWh,,,\r\n",
			.counted = true, .rows = 1, .errors = 0, .format = EP_FORMAT_NEM13,
		},
		/* what is not a header */
		{
			.name = "100,NEM14",
			.file = "100,NEM14,200401101030\n",
			.code = EP_ERR_HEADER, .line = 1, .column = 0,
			.detail_has = "VersionHeader",
		},
		{
			.name = "a first 300",
			.file = "300,20240101,1,2,3,4,A\n",
			.code = EP_ERR_HEADER, .line = 1, .column = 0,
			.detail_has = "not a 300 record",
		},
		{
			.name = "a 100 without version",
			.file = "100\n",
			.code = EP_ERR_HEADER, .line = 1, .column = 0,
		},
		{
			.name = "100,NEM12 quoted as one field",
			.file = "\"100,NEM12\"\n",
			.code = EP_ERR_HEADER, .line = 1, .column = 0,
		},
	};
	Res			r;

	RUN_CASES(cases);

	/* LP rows: the day is the date of at, no interval length */
	r = P(LPH "\n" ROW2 "\n");
	CHECK(r.format == EP_FORMAT_LP && r.rows == 1 &&
		  ts_is(&r.ev[0].day, 2015, 9, 1, 0, 0, 0, 0) && r.ev[0].minutes == 0,
		  "LP row: day 2015-09-01, interval 0");
	res_free(&r);
}

/* One 300 record: N rows, ends of intervals, day, channel, raw, line. */
static void
test_nem12_rows(void)
{
	Res			r;

	r = P(H100 C200 "300,20240131,1.50,2,,0.25,A,,,20240201000000\n" END900);
	CHECK(r.rows == 4 && r.errors == 0 && r.nev == 5, "300: 4 rows");
	expect_nem_row(&r, 0, 3, "2024-01-31 06:00:00", "2024-01-31", "1.50", "A", "value 1");
	expect_nem_row(&r, 1, 3, "2024-01-31 12:00:00", "2024-01-31", "2", "A", "value 2");
	expect_nem_row(&r, 2, 3, "2024-01-31 18:00:00", "2024-01-31", "null", "A",
				   "value 3: empty, a row without value");
	expect_nem_row(&r, 3, 3, "2024-02-01 00:00:00", "2024-01-31", "0.25", "A",
				   "value 4: ends the next day, belongs to the IntervalDate");
	expect_channel(&r, "NMI0000001", "MET1", "E1", "kWh", 360, "300");
	CHECK(strcmp(r.ev[3].raw, "300,20240131,1.50,2,,0.25,A,,,20240201000000") == 0,
		  "raw is the 300 record");
	res_free(&r);

	/* an empty serial and UOM are allowed */
	r = P(H100 "200,NMI2,E1,,E1,,,,720\n300,20240101,5,6,N\n");
	CHECK(r.rows == 2 && r.errors == 0, "empty serial and UOM: 2 rows");
	expect_channel(&r, "NMI2", "", "E1", "", 720, "empty serial");
	expect_nem_row(&r, 1, 3, "2024-01-02 00:00:00", "2024-01-01", "6", "N", "720 minutes");
	res_free(&r);
}

/* The last interval ends at 00:00 of the next day, whatever the calendar. */
static void
test_nem12_rollover(void)
{
	static const struct
	{
		const char *date;
		const char *end;
		const char *day;
	}			t[] = {
		{"20240131", "2024-02-01 00:00:00", "2024-01-31"},	/* month */
		{"20241231", "2025-01-01 00:00:00", "2024-12-31"},	/* year */
		{"20240228", "2024-02-29 00:00:00", "2024-02-28"},	/* leap year */
		{"20240229", "2024-03-01 00:00:00", "2024-02-29"},
		{"20230228", "2023-03-01 00:00:00", "2023-02-28"},	/* common year */
		{"20000228", "2000-02-29 00:00:00", "2000-02-28"},	/* 400-year rule */
		{"21000228", "2100-03-01 00:00:00", "2100-02-28"},	/* 100-year rule */
		{"20240430", "2024-05-01 00:00:00", "2024-04-30"},	/* 30-day month */
		{"99981231", "9999-01-01 00:00:00", "9998-12-31"},
	};
	char		buf[256];
	Res			r;

	for (size_t k = 0; k < sizeof(t) / sizeof(t[0]); k++)
	{
		snprintf(buf, sizeof(buf), H100 C200 "300,%s,1,2,3,4,A\n", t[k].date);
		r = P(buf);
		CHECK(r.rows == 4, "%s: 4 rows", t[k].date);
		expect_nem_row(&r, 3, 3, t[k].end, t[k].day, "4", "A", t[k].date);
		res_free(&r);
	}

	/* dates that are not */
	r = P(H100 C200 "300,99991231,1,2,3,4,A\n300,20230229,1,2,3,4,A\n"
		  "300,2024-01-01,1,2,3,4,A\n300,20241301,1,2,3,4,A\n300,,1,2,3,4,A\n"
		  "300,00000101,1,2,3,4,A\n");
	CHECK(r.rows == 0 && r.errors == 6, "bad IntervalDates: 6 errors");
	expect_err(&r, 0, EP_ERR_DATETIME_RANGE, 3, 2, "99991231", "31/12/9999 ends in year 10000");
	expect_err(&r, 1, EP_ERR_DATETIME_RANGE, 4, 2, "20230229", "29 February 2023");
	expect_err(&r, 2, EP_ERR_DATETIME, 5, 2, "2024-01-01", "not yyyymmdd");
	CHECK(strcmp(r.ev[2].detail, "IntervalDate must be written yyyymmdd.") == 0,
		  "IntervalDate detail");
	CHECK(strcmp(r.ev[2].colname, "IntervalDate") == 0, "IntervalDate column name");
	expect_err(&r, 3, EP_ERR_DATETIME_RANGE, 6, 2, "20241301", "month 13");
	expect_err(&r, 4, EP_ERR_REQUIRED, 7, 2, "", "empty IntervalDate");
	expect_err(&r, 5, EP_ERR_DATETIME_RANGE, 8, 2, "00000101", "year 0");
	res_free(&r);
}

/* 400 records: the quality of the intervals they cover, V, and bad ones. */
static void
test_nem12_400(void)
{
	Res			r;

	/* V: each interval's quality from the 400 covering it, V if none */
	r = P(H100 C200 "300,20240101,1,2,3,4,V,,,20240102000000\n"
		  "400,1,2,E52,,\n400,4,4,S14,0,reading fixed\n" END900);
	CHECK(r.rows == 4 && r.errors == 0, "V + 400s: 4 rows");
	expect_nem_row(&r, 0, 3, "2024-01-01 06:00:00", "2024-01-01", "1", "E52", "400 1..2");
	expect_nem_row(&r, 1, 3, "2024-01-01 12:00:00", "2024-01-01", "2", "E52", "400 1..2");
	expect_nem_row(&r, 2, 3, "2024-01-01 18:00:00", "2024-01-01", "3", "V",
				   "not covered: keeps V");
	expect_nem_row(&r, 3, 3, "2024-01-02 00:00:00", "2024-01-01", "4", "S14", "400 4..4");
	res_free(&r);

	/* a 400 after a 300 that is not V applies all the same; later wins */
	r = P(H100 C200 "300,20240101,1,2,3,4,A\n400,1,4,F14,,\n400,2,2,A,,\n"
		  "300,20240102,5,6,7,8,E52\n");
	CHECK(r.rows == 8 && r.errors == 0, "400 over A: 8 rows");
	expect_nem_row(&r, 0, 3, "2024-01-01 06:00:00", "2024-01-01", "1", "F14", "F14");
	expect_nem_row(&r, 1, 3, "2024-01-01 12:00:00", "2024-01-01", "2", "A", "A again");
	expect_nem_row(&r, 3, 3, "2024-01-02 00:00:00", "2024-01-01", "4", "F14", "F14 4");
	expect_nem_row(&r, 4, 6, "2024-01-02 06:00:00", "2024-01-02", "5", "E52",
				   "the next 300 is not touched");
	res_free(&r);

	/*
	 * Bad 400s are errors of their own, reported before the rows of the 300
	 * they follow; the good 400s around them still apply.
	 */
	r = P(H100 C200 "300,20240101,1,2,3,4,V\n"
		  "400,1,1,V,,\n"		/* 4: V is not for a 400 */
		  "400,5,5,A,,\n"		/* 5: beyond N */
		  "400,3,2,A,,\n"		/* 6: end before start */
		  "400,,2,A,,\n"		/* 7: empty start */
		  "400,x,2,A,,\n"		/* 8: not a number */
		  "400,1,2\n"			/* 9: no QualityMethod field */
		  "400,1,1,T,,\n"		/* 10: flag T */
		  "400,1,1,E5,,\n"		/* 11: one digit */
		  "400,0,1,A,,\n"		/* 12: interval 0 */
		  "400,2,3,S14,,\n"		/* 13: good */
		  "400,1,1,,,\n"		/* 14: empty QualityMethod */
		  "400,99999999999999999999,1,A,,\n"	/* 15: beyond int64 */
		  END900);
	CHECK(r.rows == 4 && r.errors == 11 && r.nev == 16, "bad 400s: 11 errors, 4 rows");
	expect_err(&r, 0, EP_ERR_QUALITY, 4, 4, "V", "400 with V");
	CHECK(strcmp(r.ev[0].colname, "QualityMethod") == 0, "400 column 4 name");
	expect_err(&r, 1, EP_ERR_INTERVAL_RANGE, 5, 2, "5", "400 start beyond N");
	CHECK(strcmp(r.ev[1].colname, "StartInterval") == 0, "400 column 2 name");
	expect_err(&r, 2, EP_ERR_INTERVAL_RANGE, 6, 3, "2", "400 end before start");
	CHECK(strcmp(r.ev[2].colname, "EndInterval") == 0, "400 column 3 name");
	expect_err(&r, 3, EP_ERR_REQUIRED, 7, 2, "", "400 empty start");
	expect_err(&r, 4, EP_ERR_INTEGER, 8, 2, "x", "400 start not a number");
	expect_err(&r, 5, EP_ERR_COLUMNS, 9, 0, NULL, "400 of 3 fields");
	expect_err(&r, 6, EP_ERR_QUALITY, 10, 4, "T", "400 flag T");
	expect_err(&r, 7, EP_ERR_QUALITY, 11, 4, "E5", "400 one-digit method");
	expect_err(&r, 8, EP_ERR_INTERVAL_RANGE, 12, 2, "0", "400 interval 0");
	expect_err(&r, 9, EP_ERR_REQUIRED, 14, 4, "", "400 empty QualityMethod");
	expect_err(&r, 10, EP_ERR_INTEGER_RANGE, 15, 2, NULL, "400 start beyond int64");
	expect_nem_row(&r, 11, 3, "2024-01-01 06:00:00", "2024-01-01", "1", "V", "row 1 after the errors");
	expect_nem_row(&r, 12, 3, "2024-01-01 12:00:00", "2024-01-01", "2", "S14", "row 2: the good 400");
	expect_nem_row(&r, 13, 3, "2024-01-01 18:00:00", "2024-01-01", "3", "S14", "row 3: the good 400");
	expect_nem_row(&r, 14, 3, "2024-01-02 00:00:00", "2024-01-01", "4", "V", "row 4");
	res_free(&r);

	/* 400s with no 300 before them */
	r = P(H100 C200 "400,1,1,A,,\n300,20240101,1,2,3,4,A\n500,O,S01009,20240102121004,\n"
		  "400,1,1,A,,\n300,20240101,1,2,3,A\n400,1,1,A,,\n400,2,2,A,,\n"
		  "200,NMI3,E1,1,E1,N1,MET1,kWh,360\n400,1,1,F14,,\n");
	CHECK(r.rows == 4 && r.errors == 6, "orphan 400s: 6 errors, 4 rows");
	expect_err(&r, 0, EP_ERR_RECORD_ORDER, 3, 1, "400", "400 after a 200");
	CHECK(strcmp(r.ev[0].colname, "RecordIndicator") == 0, "column 1 name");
	expect_err(&r, 5, EP_ERR_RECORD_ORDER, 6, 1, "400", "400 after a 500");
	expect_err(&r, 6, EP_ERR_VALUE_COUNT, 7, 7, "", "a short 300");
	expect_err(&r, 7, EP_ERR_RECORD_ORDER, 8, 1, "400", "400 after a rejected 300");
	CHECK(strstr(r.ev[7].detail, "rejected") != NULL, "detail says the 300 was rejected");
	expect_err(&r, 8, EP_ERR_RECORD_ORDER, 9, 1, "400", "second 400 after it");
	CHECK(strstr(r.ev[8].detail, "rejected") != NULL, "second: rejected too");
	expect_err(&r, 9, EP_ERR_RECORD_ORDER, 11, 1, "400", "400 after a later 200");
	CHECK(strstr(r.ev[9].detail, "must follow") != NULL, "detail: must follow a 300");
	res_free(&r);
}

/* The IntervalLength of each 200 rules the 300s after it. */
static void
test_nem12_interval_length(void)
{
	Res			r;
	char	   *buf;
	size_t		n = 0;
	size_t		cap = 40000;

	r = P(H100 C200 "300,20240101,1,2,3,4,A\n"
		  "200,NMI0000001,E1B1,1,E1,N1,MET1,kWh,720,20240301\n"
		  "300,20240102,5,6,A\n"
		  "300,20240103,1,2,3,4,A\n");	/* 4 values under 720 minutes */
	CHECK(r.rows == 6 && r.errors == 1, "360 then 720 minutes: 6 rows, 1 error");
	expect_nem_row(&r, 3, 3, "2024-01-02 00:00:00", "2024-01-01", "4", "A", "last of 360");
	CHECK(r.ev[3].minutes == 360 && r.ev[4].minutes == 720, "interval lengths 360, 720");
	expect_nem_row(&r, 4, 5, "2024-01-02 12:00:00", "2024-01-02", "5", "A", "first of 720");
	expect_nem_row(&r, 5, 5, "2024-01-03 00:00:00", "2024-01-02", "6", "A", "last of 720");
	expect_err(&r, 6, EP_ERR_VALUE_COUNT, 6, 5, "3", "4 values under a 720-minute 200");
	CHECK(strcmp(r.ev[6].colname, "QualityMethod") == 0, "column N + 3 is QualityMethod");
	res_free(&r);

	/* the value count: QualityMethod at N + 2, never counted from the end */
	r = P(H100 C200 "300,20240101,1,2,3,4,5,A\n300,20240102,1,2,3,A,A\n"
		  "300,20240103,1,2,3,4,A,,,,,,,,,,\n300,20240104,1,2,3,4,E\n"
		  "300,20240105,1,2,3,4,S1\n300,20240106,1,2,3,4,a\n");
	CHECK(r.rows == 8 && r.errors == 4, "value counts: 8 rows, 4 errors");
	expect_err(&r, 0, EP_ERR_VALUE_COUNT, 3, 7, "5", "5 values under 360 minutes");
	/* the count is right (A at N + 2): the fourth value "A" is no number */
	expect_err(&r, 1, EP_ERR_NUMBER, 4, 6, "A", "3 values, then A, A");
	expect_nem_row(&r, 2, 5, "2024-01-03 06:00:00", "2024-01-03", "1", "A", "padding is fine");
	expect_nem_row(&r, 6, 6, "2024-01-04 06:00:00", "2024-01-04", "1", "E",
				   "E without method (as the reference takes it)");
	expect_err(&r, 10, EP_ERR_VALUE_COUNT, 7, 7, "S1", "S1 is no QualityMethod");
	expect_err(&r, 11, EP_ERR_VALUE_COUNT, 8, 7, "a", "lower-case a is no QualityMethod");
	res_free(&r);

	/* 5 and 1 minutes: 288 and 1440 values in one record */
	for (int len = 5; len >= 1; len -= 4)
	{
		int			nv = 1440 / len;

		buf = malloc(cap);
		n = snprintf(buf, cap, H100 "200,NMI9,E1,1,E1,,M,kWh,%d\n300,20240229", len);
		for (int k = 0; k < nv; k++)
			n += snprintf(buf + n, cap - n, ",%d.%03d", k / 1000, k % 1000);
		n += snprintf(buf + n, cap - n, ",A,,,20240301000000,\n900\n");
		r = PN(buf, n);
		CHECK(r.rows == nv && r.errors == 0, "%d minutes: %d rows, got %d", len, nv, r.rows);
		if (r.rows == nv)
		{
			char		v[16];

			expect_nem_row(&r, 0, 3, len == 5 ? "2024-02-29 00:05:00" : "2024-02-29 00:01:00",
						   "2024-02-29", "0.000", "A", "first interval");
			snprintf(v, sizeof(v), "%d.%03d", (nv - 1) / 1000, (nv - 1) % 1000);
			expect_nem_row(&r, nv - 1, 3, "2024-03-01 00:00:00", "2024-02-29", v, "A",
						   "last interval");
		}
		res_free(&r);
		free(buf);
	}

	/* IntervalLength: a number of minutes that divides a day */
	r = P(H100 "200,NMI1,E1,1,E1,,M,kWh,7\n300,20240101,1,2,3,4,A\n"
		  "200,NMI1,E1,1,E1,,M,kWh,abc\n200,NMI1,E1,1,E1,,M,kWh,0\n"
		  "200,NMI1,E1,1,E1,,M,kWh,2880\n200,NMI1,E1,1,E1,,M,kWh,-30\n"
		  "200,NMI1,E1,1,E1,,M,kWh,\n200,NMI1,E1,1,E1,,M,kWh\n"
		  "200,,E1,1,E1,,M,kWh,30\n200,NMI1,E1,1,,,M,kWh,30\n"
		  "300,20240101,1,2,3,4,A\n");
	CHECK(r.rows == 0 && r.errors == 11, "bad 200s: 11 errors");
	expect_err(&r, 0, EP_ERR_INTERVAL_LENGTH, 2, 9, "7", "7 minutes");
	CHECK(strcmp(r.ev[0].colname, "IntervalLength") == 0, "200 column 9 name");
	expect_err(&r, 1, EP_ERR_RECORD_ORDER, 3, 1, "300", "300 after a rejected 200");
	CHECK(strstr(r.ev[1].detail, "200 record before this 300 record was rejected") != NULL,
		  "detail: the 200 was rejected");
	expect_err(&r, 2, EP_ERR_INTERVAL_LENGTH, 4, 9, "abc", "abc minutes");
	expect_err(&r, 3, EP_ERR_INTERVAL_LENGTH, 5, 9, "0", "0 minutes");
	expect_err(&r, 4, EP_ERR_INTERVAL_LENGTH, 6, 9, "2880", "2880 minutes");
	expect_err(&r, 5, EP_ERR_INTERVAL_LENGTH, 7, 9, "-30", "-30 minutes");
	expect_err(&r, 6, EP_ERR_REQUIRED, 8, 9, "", "empty IntervalLength");
	expect_err(&r, 7, EP_ERR_COLUMNS, 9, 0, NULL, "200 of 8 fields");
	expect_err(&r, 8, EP_ERR_REQUIRED, 10, 2, "", "empty NMI");
	CHECK(strcmp(r.ev[8].colname, "NMI") == 0, "200 column 2 name");
	expect_err(&r, 9, EP_ERR_REQUIRED, 11, 5, "", "empty NMISuffix");
	expect_err(&r, 10, EP_ERR_RECORD_ORDER, 12, 1, "300", "300 after a rejected 200");
	res_free(&r);
}

/* Interval values: decimals as for LP; an empty one is a row without value. */
static void
test_nem12_values(void)
{
	Res			r;

	r = P(H100 C200 "300,20240101,.005,00990.0, 7 ,,A\n"
		  "300,20240102,1,x,3,4,A\n300,20240103,1,2,1e400,4,A\n"
		  "300,20240104,,,,,N\n");
	CHECK(r.rows == 8 && r.errors == 2, "values: 8 rows, 2 errors");
	expect_nem_row(&r, 0, 3, "2024-01-01 06:00:00", "2024-01-01", "0.005", "A", ".005");
	CHECK(r.ev[1].value_d.digits == 9900 && r.ev[1].value_d.scale == 1, "00990.0 exact");
	expect_nem_row(&r, 2, 3, "2024-01-01 18:00:00", "2024-01-01", "7", "A", "blanks trimmed");
	expect_nem_row(&r, 3, 3, "2024-01-02 00:00:00", "2024-01-01", "null", "A", "empty");
	expect_err(&r, 4, EP_ERR_NUMBER, 4, 4, "x", "value x");
	CHECK(strcmp(r.ev[4].colname, "IntervalValue") == 0, "value column name");
	expect_err(&r, 5, EP_ERR_NUMBER_RANGE, 5, 5, "1e400", "value 1e400");
	expect_nem_row(&r, 6, 6, "2024-01-04 06:00:00", "2024-01-04", "null", "N", "all empty, N");
	expect_nem_row(&r, 9, 6, "2024-01-05 00:00:00", "2024-01-04", "null", "N", "all empty, N, last");
	res_free(&r);
}

/*
 * What real files do: no 100 or 900, blank and padded lines, any line end,
 * blanks around fields, quotes, files joined together, 500 records,
 * repeated days, unknown records.
 */
static void
test_nem12_files(void)
{
	Res			r;
	Res			r2;

	/* the same file with CRLF, LF, CR-only and no final line end */
	static const char *const ends[] = {"\r\n", "\n", "\r"};
	const char *body[] = {"100,NEM12,202401011200,MDP1,RET1", C200 "", "300,20240101,1,2,3,4,V",
	"400,1,4,A,,", "500,O,S01009,20240102121004,", "900"};

	r = P(H100 C200 "300,20240101,1,2,3,4,V\n400,1,4,A,,\n500,O,S01009,20240102121004,\n900");
	CHECK(r.rows == 4 && r.errors == 0, "LF, no final line end: 4 rows");
	for (size_t e = 0; e < 3; e++)
	{
		char		buf[1024];
		size_t		n = 0;

		for (size_t k = 0; k < 6; k++)
		{
			size_t		l = strlen(body[k]);

			/* C200 carries its own LF: write it without */
			if (l > 0 && body[k][l - 1] == '\n')
				l--;
			memcpy(buf + n, body[k], l);
			n += l;
			n += snprintf(buf + n, sizeof(buf) - n, "%s", ends[e]);
		}
		r2 = PN(buf, n);
		CHECK(r2.rows == 4 && r2.errors == 0 && r2.nev == r.nev,
			  "line ends %zu: same events", e);
		for (int k = 0; k < r.nev && k < r2.nev; k++)
			CHECK(r2.ev[k].line == r.ev[k].line &&
				  strcmp(r2.ev[k].status, r.ev[k].status) == 0 &&
				  strcmp(r2.ev[k].raw, r.ev[k].raw) == 0,
				  "line ends %zu: event %d alike", e, k);
		res_free(&r2);
	}
	res_free(&r);

	/* padding, blanks, quotes, blank lines and a padded blank line */
	r = P("\n100,NEM12,200301011534,MDP1,Retailer1,,,,,,\n\n"
		  " 200 , NMI0000001 ,E1, 1 ,E1,N1, MET1 , kWh , 360 ,,,,,,\n"
		  ",,,,,,,,,,\n"
		  "\"300\",\"20240101\",1,\"2\",3,4,\"A\",,,,,,,,\n"
		  "   \n"
		  " 400 ,1,1, F14 ,,,,,,\n"
		  "900,,,,,,,,,,\n");
	CHECK(r.rows == 4 && r.errors == 0, "padded, spaced, quoted: 4 rows");
	expect_channel(&r, "NMI0000001", "MET1", "E1", "kWh", 360, "trimmed channel");
	expect_nem_row(&r, 0, 6, "2024-01-01 06:00:00", "2024-01-01", "1", "F14",
				   "400 after a blank line");
	expect_nem_row(&r, 1, 6, "2024-01-01 12:00:00", "2024-01-01", "2", "A", "quoted value");
	res_free(&r);

	/* files joined: two blocks, a blank line between; a repeated day */
	r = P(C200 "300,20240101,1,1,1,1,A\n900\n\n"
		  H100 C200 "300,20240101,3,3,3,3,A\n900\n");
	CHECK(r.rows == 8 && r.errors == 0, "joined files: both days handed out");
	expect_nem_row(&r, 0, 2, "2024-01-01 06:00:00", "2024-01-01", "1", "A", "first copy");
	expect_nem_row(&r, 4, 7, "2024-01-01 06:00:00", "2024-01-01", "3", "A", "later copy");
	res_free(&r);

	/* a 900 ends the channel; other records are unknown or out of place */
	r = P(H100 C200 "300,20240101,1,2,3,4,A\n900\n300,20240102,1,2,3,4,A\n"
		  "123,x\nabc\n450,1\n250,NMI1\n550,N,,A,\n100,NEM13,2024\n"
		  C200 "300,20240103,1,2,3,4,A\n");
	CHECK(r.rows == 8 && r.errors == 7, "after a 900: 8 rows, 7 errors");
	expect_err(&r, 4, EP_ERR_RECORD_ORDER, 5, 1, "300", "300 after a 900");
	expect_err(&r, 5, EP_ERR_RECORD_TYPE, 6, 1, "123", "record 123");
	expect_err(&r, 6, EP_ERR_RECORD_TYPE, 7, 1, "abc", "record abc");
	expect_err(&r, 7, EP_ERR_RECORD_TYPE, 8, 1, "450", "record 450");
	expect_err(&r, 8, EP_ERR_RECORD_ORDER, 9, 1, "250", "a NEM13 record");
	expect_err(&r, 9, EP_ERR_RECORD_ORDER, 10, 1, "550", "a NEM13 550");
	expect_err(&r, 10, EP_ERR_RECORD_ORDER, 11, 2, "NEM13", "a NEM13 header");
	CHECK(strcmp(r.ev[10].colname, "VersionHeader") == 0, "100 column 2 name");
	res_free(&r);

	/*
	 * After a held 300: a record starting with '4' that is no 400, and
	 * broken records, come after the held rows.
	 */
	r = P(H100 C200 "300,20240101,1,2,3,4,A\n450,1\n300,20240102,1,2,3,4,A\n"
		  "4\xff\n300,20240103,1,2,3,4,A\n\"4\"x\n");
	CHECK(r.rows == 12 && r.errors == 3 && r.nev == 16, "held rows first: 12 rows, 3 errors");
	expect_nem_row(&r, 3, 3, "2024-01-02 00:00:00", "2024-01-01", "4", "A", "rows of line 3");
	expect_err(&r, 4, EP_ERR_RECORD_TYPE, 4, 1, "450", "then 450");
	expect_err(&r, 9, EP_ERR_ENCODING, 6, 1, NULL, "then bad UTF-8");
	expect_err(&r, 14, EP_ERR_QUOTE, 8, 1, NULL, "then a bad quote");
	res_free(&r);

	/* the same with a record too long after a held 300 */
	{
		const char *d = H100 C200 "300,20240101,1,2,3,4,A\n"
			"400,1,1,S14,,ccccccccccccccccccccccccccccccccccccccccccccccccccc\n"
			"300,20240102,1,2,3,4,A\n";

		r = PM(d, strlen(d), 60);
		CHECK(r.rows == 8 && r.errors == 1 && r.nev == 10, "too long after a 300: 8 rows, 1 error");
		expect_nem_row(&r, 0, 3, "2024-01-01 06:00:00", "2024-01-01", "1", "A",
					   "the too-long 400 did not apply");
		expect_err(&r, 4, EP_ERR_TOO_LONG, 4, 0, NULL, "then too long");
		expect_nem_row(&r, 5, 5, "2024-01-02 06:00:00", "2024-01-02", "1", "A", "next 300");
		res_free(&r);
	}

	/* a record too long, unterminated quote at the end */
	r = P(H100 C200 "300,20240101,1,2,3,4,A\n\"400");
	CHECK(r.rows == 4 && r.errors == 1 && r.ev[4].code == EP_ERR_QUOTE,
		  "unterminated quote after a 300: rows, then the error");
	res_free(&r);
}

/* NEM13: one row per 250 record. */
static void
test_nem13(void)
{
	Res			r;

	r = P("100,NEM13,200401101030,MDA1,Ret1\r\n"
		  "250,VDEF005890,1141,1,11,11,MET12345,E,000888,20040108103055,A,,,000999, 20040408000000,E64,,,111,kWh,20040408,\r\n"
		  "550,N,,E,\r\n"
		  "250,NEM1312026,12,4949,12,,SerialBMP1,I,290,20041001000001,A,,,290,200410070000,A,,,-10.5,KWH,,20041007120000,\r\n"
		  "900\r\n");
	CHECK(r.format == EP_FORMAT_NEM13 && r.rows == 2 && r.errors == 0, "NEM13: 2 rows");
	expect_nem_row(&r, 0, 2, "2004-04-08 00:00:00", "2004-04-08", "111", "E64", "250 one");
	CHECK(strcmp(r.ev[0].meter, "VDEF005890") == 0 && strcmp(r.ev[0].serial, "MET12345") == 0 &&
		  strcmp(r.ev[0].dtype, "11") == 0 && strcmp(r.ev[0].units, "kWh") == 0 &&
		  r.ev[0].minutes == 0 && r.ev[0].plant[0] == '\0', "250 one: texts");
	expect_nem_row(&r, 1, 4, "2004-10-07 00:00:00", "2004-10-07", "-10.5", "A",
				   "250 two: yyyymmddhhmm, negative Quantity");
	res_free(&r);

	r = P("100,NEM13,200401101030,MDA1,Ret1\n"
		  "250,NMI1,11,1,11,11,S,E,1,20040101000000,A,,,2,20040401000000,A,,,1,kWh\n"
		  "250,NMI1,11,1,11,11,S,E,1,20040101000000,A,,,2,20040401000000,A,,,\n"
		  "250,,11,1,11,11,S,E,1,20040101000000,A,,,2,20040401000000,A,,,1,kWh\n"
		  "250,NMI1,11,1,,11,S,E,1,20040101000000,A,,,2,20040401000000,A,,,1,kWh\n"
		  "250,NMI1,11,1,11,11,S,E,1,20040101000000,A,,,2,2.01108E+13,A,,,1,kWh\n"
		  "250,NMI1,11,1,11,11,S,E,1,20040101000000,A,,,2,20040431000000,A,,,1,kWh\n"
		  "250,NMI1,11,1,11,11,S,E,1,20040101000000,A,,,2,20040401250000,A,,,1,kWh\n"
		  "250,NMI1,11,1,11,11,S,E,1,20040101000000,A,,,2,,A,,,1,kWh\n"
		  "250,NMI1,11,1,11,11,S,E,1,20040101000000,A,,,2,20040401000000,A,,,x,kWh\n"
		  "200,NMI1,E1,1,E1,,M,kWh,30\n300,20240101\n400,1,1,A\n500,O,,,\n");
	CHECK(r.rows == 1 && r.errors == 12, "bad 250s: 1 row, 12 errors");
	expect_err(&r, 1, EP_ERR_COLUMNS, 3, 0, NULL, "250 of 19 fields");
	expect_err(&r, 2, EP_ERR_REQUIRED, 4, 2, "", "250 without NMI");
	expect_err(&r, 3, EP_ERR_REQUIRED, 5, 5, "", "250 without NMISuffix");
	expect_err(&r, 4, EP_ERR_DATETIME, 6, 15, "2.01108E+13", "Excel's read time");
	CHECK(strcmp(r.ev[4].colname, "CurrentRegisterReadDateTime") == 0, "250 column 15 name");
	CHECK(strcmp(r.ev[4].detail, "CurrentRegisterReadDateTime must be written yyyymmddhhmmss.") == 0,
		  "250 date detail");
	expect_err(&r, 5, EP_ERR_DATETIME_RANGE, 7, 15, "20040431000000", "31 April");
	expect_err(&r, 6, EP_ERR_DATETIME_RANGE, 8, 15, "20040401250000", "hour 25");
	expect_err(&r, 7, EP_ERR_REQUIRED, 9, 15, "", "no read time");
	expect_err(&r, 8, EP_ERR_NUMBER, 10, 19, "x", "Quantity x");
	CHECK(strcmp(r.ev[8].colname, "Quantity") == 0, "250 column 19 name");
	expect_err(&r, 9, EP_ERR_RECORD_ORDER, 11, 1, "200", "a 200 in NEM13");
	expect_err(&r, 10, EP_ERR_RECORD_ORDER, 12, 1, "300", "a 300 in NEM13");
	expect_err(&r, 11, EP_ERR_RECORD_ORDER, 13, 1, "400", "a 400 in NEM13");
	expect_err(&r, 12, EP_ERR_RECORD_ORDER, 14, 1, "500", "a 500 in NEM13");
	res_free(&r);

	/* an empty Quantity is an error too (row 2 of the file above) */
	r = P("250,NMI1,11,1,11,11,S,E,1,20040101000000,A,,,2,20040401000000,A,,,,kWh\n");
	expect_err(&r, 0, EP_ERR_REQUIRED, 1, 19, "", "empty Quantity");
	res_free(&r);
}

/* The names of NEM columns, as the specification writes them. */
static void
test_nem_column_names(void)
{
	CHECK(strcmp(ep_nem_column_name(300, 1, 48), "RecordIndicator") == 0 &&
		  strcmp(ep_nem_column_name(300, 2, 48), "IntervalDate") == 0 &&
		  strcmp(ep_nem_column_name(300, 3, 48), "IntervalValue") == 0 &&
		  strcmp(ep_nem_column_name(300, 50, 48), "IntervalValue") == 0 &&
		  strcmp(ep_nem_column_name(300, 51, 48), "QualityMethod") == 0 &&
		  strcmp(ep_nem_column_name(300, 55, 48), "MSATSLoadDateTime") == 0 &&
		  ep_nem_column_name(300, 56, 48) == NULL &&
		  ep_nem_column_name(300, 3, 0) == NULL, "300 column names");
	CHECK(strcmp(ep_nem_column_name(200, 5, 0), "NMISuffix") == 0 &&
		  strcmp(ep_nem_column_name(200, 10, 0), "NextScheduledReadDate") == 0 &&
		  ep_nem_column_name(200, 11, 0) == NULL &&
		  strcmp(ep_nem_column_name(250, 23, 0), "MSATSLoadDateTime") == 0 &&
		  ep_nem_column_name(250, 24, 0) == NULL &&
		  strcmp(ep_nem_column_name(900, 1, 0), "RecordIndicator") == 0 &&
		  ep_nem_column_name(900, 2, 0) == NULL &&
		  ep_nem_column_name(400, 0, 0) == NULL &&
		  strcmp(ep_nem_column_name(550, 4, 0), "CurrentTransCode") == 0 &&
		  strcmp(ep_nem_column_name(500, 5, 0), "IndexRead") == 0 &&
		  strcmp(ep_nem_column_name(100, 2, 0), "VersionHeader") == 0,
		  "other column names");
	CHECK(strcmp(ep_column_name(EP_FORMAT_NEM13, 19), "Quantity") == 0 &&
		  strcmp(ep_column_name(EP_FORMAT_NEM12, 2), "IntervalDate") == 0 &&
		  ep_column_name(EP_FORMAT_NEM12, 3) == NULL &&
		  strcmp(ep_column_name(EP_FORMAT_LP, 6), "Data Value") == 0,
		  "ep_column_name of NEM formats");
}

/* ---------- files ---------- */

static void
test_samples(const char *dir)
{
	static const struct
	{
		const char *file;
		EpFormat	fmt;
		int			rows;
	}			s[] = {
		{"LP_210095893_20150901T011608049.csv", EP_FORMAT_LP, 384},
		{"LP_214612534_20150907T084333712.csv", EP_FORMAT_LP, 512},
		{"TOU_212621145_20150911T022358.csv", EP_FORMAT_TOU, 2},
		{"TOU_214667141_20150901T040057.csv", EP_FORMAT_TOU, 8},
	};
	size_t		k;

	for (k = 0; k < 4; k++)
	{
		char		path[1024];
		size_t		len;
		char	   *d;
		Res			r;
		const Ev   *first,
				   *last;

		snprintf(path, sizeof(path), "%s/%s", dir, s[k].file);
		d = read_file(path, &len);
		CHECK(d != NULL, "sample %s readable (pass the sample folder as argv[1])", path);
		if (d == NULL)
			continue;
		r = PN(d, len);
		CHECK(r.format == s[k].fmt && r.rows == s[k].rows && r.errors == 0,
			  "sample %s: %d rows, got %d rows %d errors", s[k].file, s[k].rows,
			  r.rows, r.errors);
		CHECK(r.consumed == len, "sample %s fully consumed", s[k].file);
		first = &r.ev[0];
		last = &r.ev[r.rows - 1];
		switch (k)
		{
			case 0:
				/* 210095893,210095893,ED031000001,31/08/2015 00:45:00,Import Wh Total,0.000000,kwh, */
				CHECK(first->line == 2 && strcmp(first->meter, "210095893") == 0 &&
					  strcmp(first->plant, "ED031000001") == 0 &&
					  ts_is(&first->at, 2015, 8, 31, 0, 45, 0, 0) &&
					  strcmp(first->dtype, "Import Wh Total") == 0 &&
					  first->value_d.digits == 0 && first->value_d.scale == 6 &&
					  strcmp(first->units, "kwh") == 0 && first->status[0] == 0,
					  "LP 210095893 first row");
				/* ...,01/09/2015 00:30:00,Export varh Total,4.100000,kvarh, */
				CHECK(last->line == 385 && ts_is(&last->at, 2015, 9, 1, 0, 30, 0, 0) &&
					  strcmp(last->dtype, "Export varh Total") == 0 &&
					  last->value_d.value == 4.1 && last->value_d.digits == 4100000 &&
					  strcmp(last->units, "kvarh") == 0, "LP 210095893 last row");
				break;
			case 1:
				CHECK(first->line == 2 && strcmp(first->meter, "214612534") == 0 &&
					  strcmp(first->plant, "ED021401344") == 0 &&
					  ts_is(&first->at, 2015, 9, 6, 0, 45, 0, 0) &&
					  first->value_d.value == 0.0, "LP 214612534 first row");
				CHECK(last->line == 513 && ts_is(&last->at, 2015, 9, 7, 8, 30, 0, 0) &&
					  strcmp(last->dtype, "Export varh Total") == 0 &&
					  last->value_d.value == 0.0 && strcmp(last->units, "kvarh") == 0,
					  "LP 214612534 last row");
				break;
			case 2:
				CHECK(ts_is(&first->at, 2015, 9, 11, 0, 41, 2, 0) &&
					  first->value_d.digits == 409646700000LL && first->md.value == 1275.368 &&
					  first->md_at.is_null && first->dls == 0 && first->rc == 26 &&
					  strcmp(first->rate, "Unified") == 0, "TOU 212621145 first row");
				CHECK(last->line == 3 && strcmp(last->rate, "Rate 1") == 0 &&
					  ts_is(&last->reset_at, 2015, 9, 1, 0, 0, 0, 0), "TOU 212621145 last row");
				break;
			case 3:
				CHECK(ts_is(&first->at, 2015, 9, 1, 4, 0, 12, 0) &&
					  first->value_d.value == 0.15 && first->md.value == 0.012 &&
					  strcmp(first->period, "Total") == 0 && first->rc == 2,
					  "TOU 214667141 first row");
				CHECK(last->line == 9 && strcmp(last->period, "Previous") == 0 &&
					  ts_is(&last->md_at, 2015, 8, 27, 17, 30, 0, 0) &&
					  last->value_d.value == 0.146 && last->md.value == 0.008 &&
					  strcmp(last->rate, "Rate 1") == 0, "TOU 214667141 last row");
				break;
		}
		res_free(&r);
		free(d);
	}
}

/* The same facts as test/data/hostile/README.md; keep the two in step. */
static void
test_hostile(const char *dir)
{
	static const struct
	{
		const char *file;
		EpErrorCode code;		/* EP_ERR_NONE for good files */
		const char *sqlstate;
		uint64_t	line;
		int			column;
		int			rows;
	}			h[] = {
		{"bad_bool_dls.csv", EP_ERR_BOOLEAN, "22P02", 4, 12, 3},
		{"bad_columns_long.csv", EP_ERR_COLUMNS, "22P04", 4, 0, 3},
		{"bad_columns_short.csv", EP_ERR_COLUMNS, "22P04", 4, 0, 3},
		{"bad_date_iso.csv", EP_ERR_DATETIME, "22007", 4, 4, 3},
		{"bad_feb_31.csv", EP_ERR_DATETIME_RANGE, "22008", 4, 4, 3},
		{"bad_hour_25.csv", EP_ERR_DATETIME_RANGE, "22008", 4, 4, 3},
		{"bad_month_13.csv", EP_ERR_DATETIME_RANGE, "22008", 4, 4, 3},
		{"bad_number_abc.csv", EP_ERR_NUMBER, "22P02", 4, 6, 3},
		{"bad_number_infinity.csv", EP_ERR_NUMBER, "22P02", 4, 6, 3},
		{"bad_number_nan.csv", EP_ERR_NUMBER, "22P02", 4, 6, 3},
		{"bad_number_range.csv", EP_ERR_NUMBER_RANGE, "22003", 4, 6, 3},
		{"bad_reset_count.csv", EP_ERR_INTEGER, "22P02", 4, 13, 3},
		{"bad_utf8.csv", EP_ERR_ENCODING, "22021", 4, 5, 3},
		{"blank_lines.csv", EP_ERR_NONE, NULL, 0, 0, 3},
		{"bom.csv", EP_ERR_NONE, NULL, 0, 0, 3},
		{"crlf.csv", EP_ERR_NONE, NULL, 0, 0, 3},
		{"empty.csv", EP_ERR_EMPTY, "22P04", 0, 0, 0},
		{"header_only.csv", EP_ERR_NONE, NULL, 0, 0, 0},
		{"missing_meter.csv", EP_ERR_REQUIRED, "23502", 4, 1, 3},
		{"mixed_line_ends.csv", EP_ERR_NONE, NULL, 0, 0, 3},
		{"negative_values.csv", EP_ERR_NONE, NULL, 0, 0, 3},
		{"no_final_newline.csv", EP_ERR_NONE, NULL, 0, 0, 3},
		{"nul_byte.csv", EP_ERR_ENCODING, "22021", 4, 3, 3},
		{"ole_zero_reading.csv", EP_ERR_REQUIRED, "23502", 4, 4, 3},
		{"quote_text_after.csv", EP_ERR_QUOTE, "22P04", 4, 5, 3},
		{"quoted_commas.csv", EP_ERR_NONE, NULL, 0, 0, 3},
		{"repeated_header.csv", EP_ERR_NONE, NULL, 0, 0, 3},
		{"spaces.csv", EP_ERR_NONE, NULL, 0, 0, 3},
		{"tou_good.csv", EP_ERR_NONE, NULL, 0, 0, 3},
		{"tou_ole_optional.csv", EP_ERR_NONE, NULL, 0, 0, 2},
		{"unknown_header.csv", EP_ERR_HEADER, "22P04", 1, 0, 0},
		{"unterminated_quote.csv", EP_ERR_QUOTE, "22P04", 4, 5, 2},
	};
	size_t		k;

	for (k = 0; k < sizeof(h) / sizeof(h[0]); k++)
	{
		char		path[1024];
		size_t		len;
		char	   *d;
		Res			r;
		int			e;

		snprintf(path, sizeof(path), "%s/%s", dir, h[k].file);
		d = read_file(path, &len);
		CHECK(d != NULL, "hostile file %s readable", path);
		if (d == NULL)
			continue;
		r = PN(d, len);
		CHECK(r.rows == h[k].rows, "%s: %d good rows, got %d", h[k].file, h[k].rows, r.rows);
		if (h[k].code == EP_ERR_NONE)
			CHECK(r.errors == 0, "%s: no errors, got %d", h[k].file, r.errors);
		else
		{
			CHECK(r.errors == 1, "%s: one error, got %d", h[k].file, r.errors);
			for (e = 0; e < r.nev; e++)
				if (r.ev[e].st == EP_ERROR)
				{
					expect_err(&r, e, h[k].code, h[k].line, h[k].column, NULL, h[k].file);
					CHECK(strcmp(ep_sqlstate(r.ev[e].code), h[k].sqlstate) == 0,
						  "%s: SQLSTATE %s", h[k].file, h[k].sqlstate);
					break;
				}
		}
		res_free(&r);
		free(d);
	}
}

/*
 * Fields and lines of a few hostile fixtures, read from the folder given.
 * A fixture that cannot be read is a failure, never a silent pass.
 */
static void
test_hostile_details(const char *dir)
{
	char		path[1024];
	size_t		len;
	char	   *d;
	Res			r;

	snprintf(path, sizeof(path), "%s/quoted_commas.csv", dir);
	d = read_file(path, &len);
	CHECK(d != NULL, "quoted_commas.csv fixture readable");
	if (d == NULL)
		return;
	r = PN(d, len);
	CHECK(r.rows == 3 && strcmp(r.ev[1].dtype, "Import, Wh \"Total\"") == 0 &&
		  strcmp(r.ev[1].plant, "ED03\n1000001") == 0 && r.ev[1].line == 3 &&
		  r.ev[2].line == 5, "quoted_commas.csv fields and lines");
	res_free(&r);
	free(d);

	snprintf(path, sizeof(path), "%s/spaces.csv", dir);
	d = read_file(path, &len);
	CHECK(d != NULL, "spaces.csv fixture readable");
	if (d == NULL)
		return;
	r = PN(d, len);
	CHECK(r.rows == 3 && strcmp(r.ev[0].meter, "210095893") == 0 &&
		  r.ev[0].value_d.digits == 1500000 && ts_is(&r.ev[2].at, 2015, 9, 1, 1, 0, 0, 0) &&
		  r.ev[2].value_d.value == 3.0, "spaces.csv values trimmed");
	res_free(&r);
	free(d);

	snprintf(path, sizeof(path), "%s/negative_values.csv", dir);
	d = read_file(path, &len);
	CHECK(d != NULL, "negative_values.csv fixture readable");
	if (d == NULL)
		return;
	r = PN(d, len);
	CHECK(r.rows == 3 && r.ev[0].value_d.digits == -21880000 &&
		  r.ev[1].value_d.value == -0.5 && r.ev[2].value_d.value == 300.0,
		  "negative_values.csv values");
	res_free(&r);
	free(d);
}

/*
 * ep_reserve/ep_commit, the loader's way in: a read shorter than the room
 * reserved, seven bytes at a time, gives the rows ep_push gives; nothing
 * is taken after ep_finish, nor after a file error (whose raw text must
 * stay where it is).
 */
static void
test_reserve(void)
{
	const char *in = LPH "\n" ROW1 "\n" ROW2 "\n";
	size_t		len = strlen(in),
				off = 0;
	EpParser   *p = ep_create(&talloc, 0);
	EpRow		row;
	EpError		err;
	int			rows = 0,
				errors = 0;
	int			lines[2] = {0, 0};

	for (;;)
	{
		EpStatus	st = ep_next(p, &row, &err);

		if (st == EP_END)
			break;
		if (st == EP_NEED_MORE)
		{
			size_t		n = off + 7 <= len ? 7 : len - off;
			char	   *dst = ep_reserve(p, 64);

			CHECK(dst != NULL, "room while the input is open");
			memcpy(dst, in + off, n);
			ep_commit(p, n);
			off += n;
			if (n == 0)
				ep_finish(p);
		}
		else if (st == EP_ROW)
		{
			if (rows < 2)
				lines[rows] = (int) row.line;
			rows++;
		}
		else
			errors++;
	}
	CHECK(rows == 2 && errors == 0 && lines[0] == 2 && lines[1] == 3,
		  "reserve/commit: two rows on lines 2 and 3 (%d rows, %d errors)", rows, errors);
	CHECK(ep_bytes_consumed(p) == len, "reserve/commit: every byte consumed");
	CHECK(ep_reserve(p, 64) == NULL, "no room after ep_finish");
	ep_destroy(p);

	/* a header error freezes the buffer: no room, the raw text unchanged */
	p = ep_create(&talloc, 0);
	ep_push(p, "not,a,meter,file\n", 17);
	ep_finish(p);
	CHECK(ep_next(p, &row, &err) == EP_ERROR && err.code == EP_ERR_HEADER, "a header error");
	CHECK(ep_reserve(p, 64) == NULL, "no room after a file error");
	CHECK(ep_next(p, &row, &err) == EP_ERROR && err.raw_len == 16 &&
		  memcmp(err.raw, "not,a,meter,file", 16) == 0, "the error's raw text stays");
	ep_destroy(p);
}

int
main(int argc, char **argv)
{
	const char *samples = argc > 1 ? argv[1] : "datafiles";
	const char *hostile = argc > 2 ? argv[2] : "test/data/hostile";

	test_basic_lp();
	test_line_ends();
	test_bom_blank();
	test_quotes();
	test_header();
	test_columns();
	test_too_long();
	test_reserve();
	test_encoding();
	test_required();
	test_datetime();
	test_datetime_details();
	test_numbers();
	test_tou();
	test_values_and_skip();
	test_codes();
	test_parse_date();
	test_nem_detect();
	test_nem12_rows();
	test_nem12_rollover();
	test_nem12_400();
	test_nem12_interval_length();
	test_nem12_values();
	test_nem12_files();
	test_nem13();
	test_nem_column_names();
	test_samples(samples);
	test_hostile(hostile);
	test_hostile_details(hostile);
	CHECK(live_blocks == 0, "no parser memory leaked");

	printf("parser: %d passed, %d failed\n", passed, failed);
	return failed > 0 ? 1 : 0;
}
