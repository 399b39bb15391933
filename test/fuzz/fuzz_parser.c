/*-------------------------------------------------------------------------
 *
 * fuzz_parser.c
 *	  libFuzzer harness for the streaming parser.
 *
 * The parser's central promise is that the way bytes are cut into chunks
 * never changes the result, so this harness is differential: it parses the
 * input in one piece and again in chunk sizes drawn from the input's first
 * bytes, hashes every event (rows with all their fields, errors with all
 * their fields) and requires the two hashes to agree.  On top of that it
 * checks properties that need no second opinion:
 *	- every decimal's double equals strtod() on its text, bit for bit, and
 *	  every "exact" decimal's digits/scale spell its text exactly;
 *	- every EpText, row->raw and err->raw points into memory the parser got
 *	  from our allocator (and is still live);
 *	- line numbers never go backwards (but in NEM12 a row may have a lower
 *	  line than the errors before it: those of the 400 records after its
 *	  300), and after EP_END all input has been consumed;
 *	- a row's day and interval agree with its time: the date of at for LP,
 *	  TOU and NEM13; for NEM12 at is a whole number of intervals, 1 to N,
 *	  after 00:00 of the day, and status is a QualityMethod;
 *	- ep_next never asks for more after ep_finish().
 * Leaks are found by ASan's leak checker (the allocator is malloc).
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parser.h"

#define MAX_BLOCKS 16

typedef struct Blocks
{
	void	   *ptr[MAX_BLOCKS];
	size_t		size[MAX_BLOCKS];
} Blocks;

static void
track(Blocks *b, void *old, void *ptr, size_t size)
{
	int			k;

	for (k = 0; k < MAX_BLOCKS; k++)
		if (old != NULL && b->ptr[k] == old)
		{
			b->ptr[k] = ptr;
			b->size[k] = size;
			return;
		}
	for (k = 0; k < MAX_BLOCKS; k++)
		if (b->ptr[k] == NULL)
		{
			b->ptr[k] = ptr;
			b->size[k] = size;
			return;
		}
	abort();					/* the parser should need only a few blocks */
}

static void *
f_alloc(size_t size, void *arg)
{
	void	   *p = malloc(size);

	if (p == NULL)
		abort();
	track(arg, NULL, p, size);
	return p;
}

static void *
f_realloc(void *ptr, size_t size, void *arg)
{
	void	   *p = realloc(ptr, size);

	if (p == NULL)
		abort();
	track(arg, ptr, p, size);
	return p;
}

static void
f_free(void *ptr, void *arg)
{
	Blocks	   *b = arg;
	int			k;

	for (k = 0; k < MAX_BLOCKS; k++)
		if (b->ptr[k] == ptr)
		{
			b->ptr[k] = NULL;
			b->size[k] = 0;
		}
	free(ptr);
}

static void
check_inside(const Blocks *b, const char *p, size_t len)
{
	int			k;

	if (len == 0)
		return;
	for (k = 0; k < MAX_BLOCKS; k++)
		if (b->ptr[k] != NULL && p >= (const char *) b->ptr[k] &&
			p + len <= (const char *) b->ptr[k] + b->size[k])
			return;
	fprintf(stderr, "EpText outside the parser's memory\n");
	abort();
}

static uint64_t
fnv(uint64_t h, const void *data, size_t len)
{
	const unsigned char *s = data;
	size_t		k;

	for (k = 0; k < len; k++)
	{
		h ^= s[k];
		h *= 1099511628211ULL;
	}
	return h;
}

#define HV(h, v) ((h) = fnv((h), &(v), sizeof(v)))

static uint64_t
hash_text(uint64_t h, const Blocks *b, EpText t)
{
	check_inside(b, t.ptr, t.len);
	HV(h, t.len);
	return fnv(h, t.ptr, t.len);
}

static uint64_t
hash_ts(uint64_t h, const EpTimestamp *t)
{
	HV(h, t->is_null);
	HV(h, t->year);
	HV(h, t->month);
	HV(h, t->day);
	HV(h, t->hour);
	HV(h, t->minute);
	HV(h, t->second);
	HV(h, t->usec);
	return h;
}

/* Minutes from day (a date) to at: they are at most a day apart. */
static int
minutes_after(const EpTimestamp *day, const EpTimestamp *at)
{
	int			m = at->hour * 60 + at->minute;

	if (at->year != day->year || at->month != day->month || at->day != day->day)
		m += 1440;
	return m;
}

/*
 * What every row's day, interval length and status must be, by format (see
 * parser.h).  Returns the 0-based column of a NEM12 row's value.
 */
static int
check_row_shape(EpFormat format, const EpRow *row)
{
	const EpTimestamp *d = &row->day;
	const EpTimestamp *a = &row->at;
	int			m;
	int			len = row->interval_minutes;

	if (d->is_null || d->hour || d->minute || d->second || d->usec)
		abort();
	if (format != EP_FORMAT_NEM12)
	{
		if (len != 0 || d->year != a->year || d->month != a->month || d->day != a->day)
			abort();
		return -1;
	}
	if (len < 1 || len > 1440 || 1440 % len != 0 || a->second || a->usec)
		abort();
	m = minutes_after(d, a);
	if (m < len || m > 1440 || m % len != 0)
		abort();
	/* the day after must really be the next calendar day */
	if (m == 1440 && !(a->hour == 0 && a->minute == 0 &&
					   (a->day == d->day + 1 ||
						(a->day == 1 && (a->month == d->month + 1 ||
										 (a->month == 1 && d->month == 12 &&
										  a->year == d->year + 1))))))
		abort();
	if (!((row->status.len == 1 || row->status.len == 3) &&
		  strchr("AEFNSV", row->status.ptr[0]) != NULL))
		abort();
	return EP_NEM300_VALUES + m / len - 1;
}

static uint64_t
hash_dec(uint64_t h, const EpDecimal *d)
{
	HV(h, d->is_null);
	HV(h, d->value);
	HV(h, d->exact);
	HV(h, d->digits);
	HV(h, d->scale);
	return h;
}

/*
 * Check a decimal against its text.  The text is recovered from raw by a
 * plain comma split, so only records without quotes are checked (the
 * others are still covered by the differential hash).
 */
static void
check_decimal(const EpDecimal *d, const char *raw, size_t raw_len, int col)
{
	char		buf[4200];
	char		digs[4200];
	size_t		k,
				s = 0,
				e;
	int			c = 0;
	double		v;
	size_t		nd = 0;
	int			sc = 0;
	bool		neg = false,
				frac = false,
				has_exp = false;
	long		ex = 0;
	char		mine[32];
	const char *dd;

	if (d->is_null || memchr(raw, '"', raw_len) != NULL)
		return;
	for (k = 0; k < raw_len && c < col; k++)
		if (raw[k] == ',')
		{
			c++;
			s = k + 1;
		}
	if (c != col)
		abort();
	for (e = s; e < raw_len && raw[e] != ','; e++)
		;
	while (s < e && (raw[s] == ' ' || raw[s] == '\t'))
		s++;
	while (e > s && (raw[e - 1] == ' ' || raw[e - 1] == '\t'))
		e--;
	if (e - s >= sizeof(buf))
		abort();
	memcpy(buf, raw + s, e - s);
	buf[e - s] = '\0';
	v = strtod(buf, NULL);
	if (memcmp(&v, &d->value, sizeof(v)) != 0)
	{
		fprintf(stderr, "decimal %s: parser %.17g, strtod %.17g\n", buf,
				d->value, v);
		abort();
	}
	if (!d->exact)
		return;
	/* exact: the digits and scale must spell the text */
	for (k = 0; buf[k]; k++)
	{
		if (buf[k] == '-')
			neg = true;
		else if (buf[k] == '.')
			frac = true;
		else if (buf[k] >= '0' && buf[k] <= '9')
		{
			if (nd > 0 || buf[k] != '0')
				digs[nd++] = buf[k];
			if (frac)
				sc++;
		}
		else if (buf[k] == 'e' || buf[k] == 'E')
		{
			has_exp = true;
			ex = strtol(buf + k + 1, NULL, 10);
			break;
		}
		else if (buf[k] != '+')
			abort();
	}
	digs[nd] = '\0';
	dd = nd ? digs : "0";
	snprintf(mine, sizeof(mine), "%llu",
			 (unsigned long long) (d->digits < 0 ? -(uint64_t) d->digits :
								   (uint64_t) d->digits));
	if (has_exp)
	{
		/*
		 * An exponent moves the point: the text's decimal (its digits at
		 * 10^(ex - sc)) and the parser's (digits at 10^-scale) must be one
		 * number, compared with trailing zeros moved into the exponents.
		 */
		long		et = ex - sc,
					ep = -(long) d->scale;
		size_t		lt = strlen(dd),
					lp = strlen(mine);

		while (lt > 1 && dd[lt - 1] == '0')
		{
			lt--;
			et++;
		}
		while (lp > 1 && mine[lp - 1] == '0')
		{
			lp--;
			ep++;
		}
		if (d->scale < 0 || d->scale > 18 ||
			(d->digits < 0) != (neg && nd > 0) ||
			(nd > 0 && (lt != lp || memcmp(dd, mine, lt) != 0 || et != ep)) ||
			(nd == 0 && d->digits != 0))
		{
			fprintf(stderr, "exact decimal %s: digits %lld scale %d\n", buf,
					(long long) d->digits, d->scale);
			abort();
		}
		return;
	}
	if (strcmp(mine, dd) != 0 || sc != d->scale ||
		(d->digits < 0) != (neg && nd > 0))
	{
		fprintf(stderr, "exact decimal %s: digits %lld scale %d\n", buf,
				(long long) d->digits, d->scale);
		abort();
	}
}

/*
 * Parse data[0..size) feeding chunks; chunk == NULL means one piece.
 * Returns a hash of all events.
 */
static uint64_t
run(const uint8_t *data, size_t size, const uint8_t *chunks, size_t nchunks,
	size_t max_record)
{
	Blocks		blocks;
	EpAllocator a = {f_alloc, f_realloc, f_free, &blocks};
	EpParser   *p;
	size_t		off = 0;
	size_t		ci = 0;
	uint64_t	h = 14695981039346656037ULL;
	uint64_t	last_line = 0;
	uint64_t	last_err_line = 0;
	bool		finished = false;
	EpRow		row;
	EpError		err;

	memset(&blocks, 0, sizeof(blocks));
	p = ep_create(&a, max_record);
	for (;;)
	{
		EpStatus	st = ep_next(p, &row, &err);

		if (st != EP_NEED_MORE)
			HV(h, st);			/* how often it asks depends on the chunks */
		if (st == EP_NEED_MORE)
		{
			size_t		n;

			if (finished)
				abort();		/* NEED_MORE after ep_finish() */
			if (off >= size)
			{
				ep_finish(p);
				finished = true;
				continue;
			}
			n = chunks ? (size_t) chunks[ci++ % nchunks] % 61 + 1 : size;
			if (n > size - off)
				n = size - off;
			ep_push(p, (const char *) data + off, n);
			off += n;
			continue;
		}
		if (st == EP_END)
		{
			if (ep_bytes_consumed(p) != size)
				abort();
			break;
		}
		if (st == EP_ROW)
		{
			EpFormat	format = ep_format(p);
			bool		tou = format == EP_FORMAT_TOU;
			int			col;

			if (row.line < last_line || row.line == 0 ||
				(format != EP_FORMAT_NEM12 && row.line < last_err_line))
				abort();
			last_line = row.line;
			HV(h, row.line);
			check_inside(&blocks, row.raw, row.raw_len);
			h = fnv(h, row.raw, row.raw_len);
			h = hash_text(h, &blocks, row.meter);
			h = hash_text(h, &blocks, row.serial);
			h = hash_text(h, &blocks, row.plant);
			h = hash_ts(h, &row.at);
			h = hash_text(h, &blocks, row.data_type);
			h = hash_dec(h, &row.value);
			h = hash_text(h, &blocks, row.units);
			h = hash_text(h, &blocks, row.status);
			h = hash_dec(h, &row.max_demand);
			h = hash_ts(h, &row.max_demand_at);
			h = hash_text(h, &blocks, row.period);
			HV(h, row.dls_active);
			HV(h, row.has_reset_count);
			HV(h, row.reset_count);
			h = hash_ts(h, &row.reset_at);
			h = hash_text(h, &blocks, row.rate);
			h = hash_ts(h, &row.day);
			HV(h, row.interval_minutes);
			if (row.meter.len == 0 || row.data_type.len == 0 || row.at.is_null ||
				(row.serial.len == 0 &&
				 (format == EP_FORMAT_LP || format == EP_FORMAT_TOU)) ||
				(row.value.is_null && format != EP_FORMAT_NEM12))
				abort();
			col = check_row_shape(format, &row);
			if (format == EP_FORMAT_NEM13)
				col = EP_NEM250_QUANTITY;
			else if (format != EP_FORMAT_NEM12)
				col = tou ? EP_TOU_ENERGY : EP_LP_VALUE;
			check_decimal(&row.value, row.raw, row.raw_len, col);
			if (tou)
				check_decimal(&row.max_demand, row.raw, row.raw_len,
							  EP_TOU_MAX_DEMAND);
			continue;
		}
		/* EP_ERROR */
		if (err.code == EP_ERR_NONE || strlen(err.value) > 100 ||
			strlen(err.detail) == 0 || err.detail[strlen(err.detail) - 1] != '.' ||
			err.detail[0] < 'A' || err.detail[0] > 'Z')
			abort();
		if (err.line != 0 && (err.line < last_err_line || err.line < last_line))
			abort();
		if (err.line)
			last_err_line = err.line;
		check_inside(&blocks, err.raw, err.raw_len);
		HV(h, err.code);
		HV(h, err.line);
		HV(h, err.column);
		h = fnv(h, err.value, strlen(err.value));
		h = fnv(h, err.detail, strlen(err.detail));
		h = fnv(h, err.raw, err.raw_len);
		if (err.code == EP_ERR_EMPTY || err.code == EP_ERR_HEADER)
		{
			EpError		again;

			/* file errors repeat */
			if (ep_next(p, &row, &again) != EP_ERROR || again.code != err.code)
				abort();
			break;
		}
	}
	ep_destroy(p);
	for (ci = 0; ci < MAX_BLOCKS; ci++)
		if (blocks.ptr[ci] != NULL)
			abort();			/* not freed by ep_destroy */
	return h;
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* the first bytes choose chunk sizes and max_record; all bytes are CSV */
	uint8_t		chunks[8];
	size_t		nchunks = 0;
	size_t		max_record = 0;
	uint64_t	one,
				other;
	size_t		k;

	for (k = 0; k < 8 && k < size; k++)
		chunks[nchunks++] = data[k];
	if (nchunks == 0)
		chunks[nchunks++] = 1;
	if (size > 0 && (data[0] & 3) == 0)
		max_record = 8 + data[size - 1];	/* exercise EP_ERR_TOO_LONG */

	one = run(data, size, NULL, 0, max_record);
	other = run(data, size, chunks, nchunks, max_record);
	if (one != other)
	{
		fprintf(stderr, "chunked parse differs from one-shot\n");
		abort();
	}
	/*
	 * And byte by byte, the harshest split.  Only for small inputs: it is
	 * the slowest run, and splits at every byte of a short input already
	 * cover every state the scanner can be cut in.
	 */
	if (size <= 1024)
	{
		chunks[0] = 0;
		other = run(data, size, chunks, 1, max_record);
		if (one != other)
		{
			fprintf(stderr, "byte-by-byte parse differs from one-shot\n");
			abort();
		}
	}

	/*
	 * The same bytes as a day a lookup names: the date grammar is shared, so
	 * it must hold against hostile text too.  A date it accepts is in the
	 * calendar.
	 */
	if (size <= 64)
	{
		EpTimestamp ts;
		char		detail[EP_DETAIL_MAX];

		if (ep_parse_date((const char *) data, size, &ts, detail) == EP_ERR_NONE &&
			(ts.year < 1 || ts.year > 9999 || ts.month < 1 || ts.month > 12 ||
			 ts.day < 1 || ts.day > 31))
		{
			fprintf(stderr, "ep_parse_date accepted a day outside the calendar\n");
			abort();
		}
	}
	return 0;
}
