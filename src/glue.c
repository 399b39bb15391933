/*-------------------------------------------------------------------------
 *
 * glue.c
 *	  The parser's seam with the server: its memory, its values as Datums,
 *	  its errors as ereport()s and reject rows.
 *
 * The parser (parser.c, parse_*.c) is pure C so that it can be tested and
 * fuzzed without a server; everything it hands out (EpText, EpTimestamp,
 * EpError) becomes a PostgreSQL value here, and only here.  Every stage
 * below the driver (dictionary.c, chunk.c, sink.c) converts through these
 * functions, so none of them needs to call back into loader.c.
 *
 * Errors follow COPY's split: the message is short ("invalid number"), and
 * the file, line, column and value come from an error context callback,
 * like CopyFromErrorCallback, so that errors raised deep below a row (an
 * encoding conversion, a constraint, out of memory) name the place too.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/namespace.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/memutils.h"

#include "energy.h"

/* Longest raw record kept in energy_rejects. */
#define REJECT_RAW_MAX		1000

/* ---------------------------------------------------------------------
 * Parser memory comes from a memory context, so an error frees it.  The
 * allocations may be "huge": the size limit that matters is the parser's
 * own (energy.max_record_size plus one read), not palloc's 1 GB.
 * ---------------------------------------------------------------------
 */
static void *
ep_palloc(size_t size, void *arg)
{
	return MemoryContextAllocHuge((MemoryContext) arg, size);
}

static void *
ep_repalloc(void *ptr, size_t size, void *arg)
{
	return repalloc_huge(ptr, size);
}

static void
ep_pfree(void *ptr, void *arg)
{
	pfree(ptr);
}

/* A parser whose memory lives in cxt. */
EpParser *
energy_parser_create(MemoryContext cxt, size_t max_record)
{
	EpAllocator alloc;

	alloc.alloc = ep_palloc;
	alloc.realloc = ep_repalloc;
	alloc.free = ep_pfree;
	alloc.arg = cxt;
	return ep_create(&alloc, max_record);
}

/* ---------------------------------------------------------------------
 * Values
 * ---------------------------------------------------------------------
 */

/*
 * Files are UTF-8 (the parser has validated that); a database in another
 * encoding gets the text converted, or an error if it cannot hold it.
 */
text *
energy_text(const EpText *t)
{
	if (GetDatabaseEncoding() != PG_UTF8)
	{
		char	   *s = pg_any_to_server(t->ptr, (int) t->len, PG_UTF8);

		if (s != t->ptr)
			return cstring_to_text(s);
	}
	return cstring_to_text_with_len(t->ptr, (int) t->len);
}

/*
 * A reading's day.  The parser has checked the calendar (years 1..9999),
 * so this cannot go out of range.
 */
int32
energy_day(const EpTimestamp *ts)
{
	Assert(!ts->is_null);
	Assert(ts->year >= 1 && ts->year <= 9999);
	return date2j(ts->year, ts->month, ts->day) - POSTGRES_EPOCH_JDATE;
}

/* The timestamp of a date/time whose day the caller has already computed. */
Timestamp
energy_day_timestamp(int32 day, const EpTimestamp *ts)
{
	return (int64) day * USECS_PER_DAY +
		(((int64) ts->hour * MINS_PER_HOUR + ts->minute) * SECS_PER_MINUTE + ts->second) * USECS_PER_SEC +
		ts->usec;
}

/*
 * A TOU register's other timestamps, whose day is not computed elsewhere.
 */
Timestamp
energy_timestamp(const EpTimestamp *ts)
{
	return energy_day_timestamp(energy_day(ts), ts);
}

/* ---------------------------------------------------------------------
 * The row check: what parses but the tables cannot hold
 * ---------------------------------------------------------------------
 */

/*
 * Fill err (all but its detail) for a field of a row that passed the
 * parser: the same shape as a parser error, so both modes treat it alike
 * (the ERROR of 'stop', a reject row in 'skip').
 */
static void
row_error(EpError *err, const EpRow *row, EpFormat format, EpErrorCode code,
		  int column, const EpText *t)
{
	int			n = pg_encoding_mbcliplen(PG_UTF8, t->ptr, (int) Min(t->len, 100), 100);
	int			o = 0;

	memset(err, 0, sizeof(*err));
	err->code = code;
	err->line = row->line;
	err->column = column;
	err->column_name = ep_column_name(format, column);
	/* the parser validated the field as UTF-8; only controls need escaping */
	for (int i = 0; i < n && o < (int) sizeof(err->value) - 5; i++)
	{
		unsigned char c = (unsigned char) t->ptr[i];

		if (c < 0x20 || c == 0x7F)
			o += snprintf(err->value + o, sizeof(err->value) - o, "\\x%02X", c);
		else
			err->value[o++] = (char) c;
	}
	err->value[o] = '\0';
	err->raw = row->raw;
	err->raw_len = row->raw_len;
}

/*
 * Whether the whole text converts into the database encoding.  Converted
 * in pieces through a stack buffer, so the check allocates nothing however
 * long the field; a character cut at a piece's end is taken again with the
 * next piece.
 */
static bool
text_encodable(const EpText *t, Oid proc, int enc)
{
	unsigned char dst[256 * MAX_CONVERSION_GROWTH + 1];
	size_t		pos = 0;

	while (pos < t->len)
	{
		int			chunk = (int) Min(t->len - pos, (size_t) 256);
		int			n = pg_do_encoding_conversion_buf(proc, PG_UTF8, enc,
													  (unsigned char *) t->ptr + pos, chunk,
													  dst, sizeof(dst), true);

		if (n <= 0)
			return false;
		pos += n;
	}
	return true;
}

static bool
has_high_byte(const EpText *t)
{
	for (size_t i = 0; i < t->len; i++)
		if ((unsigned char) t->ptr[i] >= 0x80)
			return true;
	return false;
}

/*
 * Check a parsed row against what the tables can hold, before anything of
 * it is written: an error there would abort the whole call, even in skip
 * mode.  Meter and channel fields are keys of the dictionaries' unique
 * indexes, whose entries must fit a btree page (about 2.7 kB for all
 * columns together): each may have ENERGY_KEY_MAX bytes.  In a database
 * whose encoding is not UTF-8, every text field must convert into it.
 * Returns false with err filled.
 */
bool
energy_row_check(const EpRow *row, EpFormat format, EpError *err)
{
	bool		tou = (format == EP_FORMAT_TOU);
	const struct
	{
		const EpText *t;
		int			column;		/* 1-based */
		bool		key;
	}			fields[] = {
		{&row->meter, EP_LP_METER + 1, true},
		{&row->serial, EP_LP_SERIAL + 1, true},
		{&row->plant, EP_LP_PLANT + 1, true},
		{&row->data_type, EP_LP_DATA_TYPE + 1, true},
		{&row->units, (tou ? EP_TOU_UNITS : EP_LP_UNITS) + 1, true},
		{&row->status, (tou ? EP_TOU_STATUS : EP_LP_STATUS) + 1, false},
		{&row->period, EP_TOU_PERIOD + 1, false},
		{&row->rate, EP_TOU_RATE + 1, false},
	};
	int			nfields = tou ? lengthof(fields) : lengthof(fields) - 2;

	/* an MDFF row's fields come from two records (200 and 300): no column */
	bool		mdff = (format == EP_FORMAT_NEM12 || format == EP_FORMAT_NEM13);
	int			enc = GetDatabaseEncoding();
	Oid			proc = InvalidOid;

	for (int i = 0; i < nfields; i++)
	{
		if (fields[i].key && fields[i].t->len > ENERGY_KEY_MAX)
		{
			row_error(err, row, format, EP_ERR_KEY_TOO_LONG, mdff ? 0 : fields[i].column, fields[i].t);
			snprintf(err->detail, sizeof(err->detail),
					 "A meter or channel field may have at most %d bytes; this one has %zu.",
					 ENERGY_KEY_MAX, fields[i].t->len);
			return false;
		}
		if (enc == PG_UTF8 || enc == PG_SQL_ASCII || !has_high_byte(fields[i].t))
			continue;
		if (!OidIsValid(proc))
			proc = FindDefaultConversionProc(PG_UTF8, enc);
		if (!OidIsValid(proc) || !text_encodable(fields[i].t, proc, enc))
		{
			row_error(err, row, format, EP_ERR_UNTRANSLATABLE, mdff ? 0 : fields[i].column, fields[i].t);
			snprintf(err->detail, sizeof(err->detail),
					 "The field has a character that encoding \"%s\" cannot hold.",
					 GetDatabaseEncodingName());
			return false;
		}
	}
	return true;
}

/*
 * Whether a row's value stays a finite float8 in its canonical unit (times
 * factor, its unit's in energy_unit): the channel view multiplies every
 * value by it, and one value that overflows (1e306 MWh) or underflows to
 * zero (4.9e-324 Wh) there would make every later populate fail.  Such a
 * value is refused here instead, as out of range (22003).
 *
 * A unit energy_unit does not list (factor 0 here) counts as 1 today, but
 * its row may be added later with any factor the table allows
 * (ENERGY_FACTOR_MIN to ENERGY_FACTOR_MAX): its values are checked against
 * both ends of that range, so that no unit added afterwards can make a
 * stored value overflow or underflow in the view.
 */
bool
energy_value_check(const EpRow *row, EpFormat format, double factor, EpError *err)
{
	double		value = row->value.value;
	bool		known = factor != 0;
	double		high = value * (known ? factor : ENERGY_FACTOR_MAX);
	double		low = value * (known ? factor : ENERGY_FACTOR_MIN);
	char		buf[32];
	EpText		t;
	int			column = 0;		/* an MDFF value has no CSV column */

	if (isfinite(high) && (low != 0 || value == 0))
		return true;
	snprintf(buf, sizeof(buf), "%.17g", value);
	t.ptr = buf;
	t.len = strlen(buf);
	if (format == EP_FORMAT_LP)
		column = EP_LP_VALUE + 1;
	else if (format == EP_FORMAT_TOU)
		column = EP_TOU_ENERGY + 1;
	row_error(err, row, format, EP_ERR_NUMBER_RANGE, column, &t);
	if (known)
		snprintf(err->detail, sizeof(err->detail),
				 "Its unit's factor is %g (energy_unit): in the canonical unit the value %s double precision.",
				 factor, isfinite(high) ? "underflows" : "overflows");
	else
		snprintf(err->detail, sizeof(err->detail),
				 "Its unit is not in energy_unit, where it may be added with any factor from %g to %g: with the %s the value %s double precision.",
				 ENERGY_FACTOR_MIN, ENERGY_FACTOR_MAX,
				 isfinite(high) ? "smallest" : "largest",
				 isfinite(high) ? "underflows" : "overflows");
	return false;
}

/*
 * Whether a row's day is on or after the horizon (energy_horizon, the day
 * before which energy_forget() removed the stored readings): an older
 * reading could no longer be compared with the copies that were there, and
 * its partial would add to partials whose readings are gone, so it is
 * refused as a row (55000, the store not in the state to take it), and the
 * rest of the file loads.  horizon is DATEVAL_NOBEGIN when nothing was
 * forgotten.
 */
bool
energy_horizon_check(const EpRow *row, EpFormat format, int32 day,
					 DateADT horizon, EpError *err)
{
	char		buf[MAXDATELEN + 1];
	char		hbuf[MAXDATELEN + 1];
	EpText		t;
	int			column = 0;		/* an MDFF row has no CSV column */
	int			y,
				m,
				d;

	if (day >= horizon)
		return true;
	/* ISO, whatever DateStyle says: the same text in every reject */
	j2date(day + POSTGRES_EPOCH_JDATE, &y, &m, &d);
	snprintf(buf, sizeof(buf), "%04d-%02d-%02d", y, m, d);
	j2date(horizon + POSTGRES_EPOCH_JDATE, &y, &m, &d);
	snprintf(hbuf, sizeof(hbuf), "%04d-%02d-%02d", y, m, d);
	t.ptr = buf;
	t.len = strlen(buf);
	if (format == EP_FORMAT_LP)
		column = EP_LP_DATETIME + 1;
	else if (format == EP_FORMAT_TOU)
		column = EP_TOU_DATETIME + 1;
	row_error(err, row, format, EP_ERR_FORGOTTEN, column, &t);
	snprintf(err->detail, sizeof(err->detail),
			 "Its day %s is before %s, the horizon before which energy_forget() removed the readings.",
			 buf, hbuf);
	return false;
}

/* ---------------------------------------------------------------------
 * Errors
 * ---------------------------------------------------------------------
 */

/*
 * The SQLSTATE of a parser error, from the parser's one table.
 */
int
energy_parse_sqlerrcode(EpErrorCode code)
{
	const char *s = ep_error_info(code)->sqlstate;

	return MAKE_SQLSTATE(s[0], s[1], s[2], s[3], s[4]);
}

/*
 * The value quoted in the context line, as text of the server encoding:
 * the parser wrote it as UTF-8; in a database of another encoding its
 * non-ASCII bytes are shown as \xNN, since a conversion (a catalog lookup)
 * has no place in error reporting.
 */
static const char *
context_value(const char *value)
{
	int			enc = GetDatabaseEncoding();
	StringInfoData buf;

	if (enc == PG_UTF8 || enc == PG_SQL_ASCII)
		return value;
	initStringInfo(&buf);
	for (const char *p = value; *p; p++)
	{
		if ((unsigned char) *p < 0x80)
			appendStringInfoChar(&buf, *p);
		else
			appendStringInfo(&buf, "\\x%02X", (unsigned char) *p);
	}
	return buf.data;
}

/*
 * The context line of every error raised while a file is loaded, as COPY's
 * CopyFromErrorCallback writes it: the call, the file, and as much of the
 * place as is known.
 */
void
energy_error_context(void *arg)
{
	const EnergyErrorPosition *pos_in = (const EnergyErrorPosition *) arg;
	EnergyErrorPosition copy;
	const EnergyErrorPosition *pos = pos_in;

	if (pos->file_name == NULL)
		return;
	if (pos->value && pos->value[0])
	{
		copy = *pos_in;
		copy.value = context_value(pos_in->value);
		pos = &copy;
	}
	if (pos->line == 0)
		errcontext("%s file \"%s\"", pos->function, pos->file_name);
	else if (pos->column > 0 && pos->value && pos->value[0])
		errcontext("%s file \"%s\", line " UINT64_FORMAT ", column %d (%s): \"%s\"",
				   pos->function, pos->file_name, pos->line, pos->column,
				   pos->column_name ? pos->column_name : "?", pos->value);
	else if (pos->column > 0)
		errcontext("%s file \"%s\", line " UINT64_FORMAT ", column %d (%s)",
				   pos->function, pos->file_name, pos->line, pos->column,
				   pos->column_name ? pos->column_name : "?");
	else if (pos->value && pos->value[0])
		errcontext("%s file \"%s\", line " UINT64_FORMAT ": \"%s\"",
				   pos->function, pos->file_name, pos->line, pos->value);
	else
		errcontext("%s file \"%s\", line " UINT64_FORMAT,
				   pos->function, pos->file_name, pos->line);
}

/* Point the error context at the place a parser error names. */
void
energy_error_position_set(EnergyErrorPosition *pos, const EpError *err)
{
	pos->line = err->line;
	pos->column = err->column;
	pos->column_name = err->column_name;
	pos->value = err->value;
}

/* The place is a whole row (line > 0) or the file (line 0). */
void
energy_error_position_line(EnergyErrorPosition *pos, uint64 line)
{
	pos->line = line;
	pos->column = 0;
	pos->column_name = NULL;
	pos->value = NULL;
}

/*
 * A file that is not a meter file may be anything the server can read, so
 * its first line is quoted (in the error, and as the reject's raw text)
 * only when it looks like a CSV header gone wrong: valid UTF-8 with a comma
 * in it.  A binary file, a line without commas (a password file, a key) or
 * an endless line is described by the detail alone.
 */
void
energy_header_error_redact(EpError *err)
{
	Assert(err->code == EP_ERR_EMPTY || err->code == EP_ERR_HEADER);
	if (err->raw != NULL && err->raw_len > 0 &&
		memchr(err->raw, ',', err->raw_len) != NULL &&
		pg_verify_mbstr(PG_UTF8, err->raw, (int) Min(err->raw_len, (size_t) INT_MAX), true))
		return;
	err->value[0] = '\0';
	err->raw = NULL;
	err->raw_len = 0;
}

/*
 * The ERROR of on_error => 'stop'.  The message is the code's phrase; the
 * place (and the offending value) is the context's.
 */
void
energy_raise_parse_error(EnergyErrorPosition *pos, const EpError *err)
{
	energy_error_position_set(pos, err);
	ereport(ERROR,
			(errcode(energy_parse_sqlerrcode(err->code)),
			 errmsg_internal("%s", ep_error_info(err->code)->phrase),
			 err->detail[0] ? errdetail_internal("%s", err->detail) : 0,
			 err->code == EP_ERR_FORGOTTEN ?
			 errhint("Readings of days before energy_horizon.before can no longer be loaded; load the file's later days, or its rows in skip mode.") : 0,
			 err->code == EP_ERR_HEADER ?
			 errhint("An LP file starts with \"MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Data Value,Units,Status\"; a TOU file with \"MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Energy,Maximum Demand,...\".") : 0));
	pg_unreachable();
}

/*
 * Append UTF-8 text to buf in the database encoding, for the reject rows:
 * bytes that are not valid UTF-8 (or NUL), and characters the database
 * encoding cannot hold, are written as \xNN, so that writing a reject never
 * fails the way the rejected row did.  Stops at about max bytes of output,
 * at a character boundary.
 */
static void
append_storable(StringInfo buf, const char *s, size_t len, int max)
{
	int			enc = GetDatabaseEncoding();
	bool		convert = (enc != PG_UTF8 && enc != PG_SQL_ASCII);
	Oid			proc = convert ? FindDefaultConversionProc(PG_UTF8, enc) : InvalidOid;
	size_t		i = 0;

	while (i < len && buf->len < max)
	{
		unsigned char c = (unsigned char) s[i];
		int			l = (c < 0x80) ? 1 : pg_utf_mblen((const unsigned char *) s + i);
		bool		legal = c != 0 && i + l <= len;

		legal = legal && pg_utf8_islegal((const unsigned char *) s + i, l);

		if (legal && c < 0x80)
		{
			appendStringInfoChar(buf, (char) c);
			i++;
			continue;
		}
		if (legal && !convert)
		{
			appendBinaryStringInfo(buf, s + i, l);
			i += l;
			continue;
		}
		if (legal && OidIsValid(proc))
		{
			unsigned char out[4 * MAX_CONVERSION_GROWTH + 1];

			if (pg_do_encoding_conversion_buf(proc, PG_UTF8, enc,
											  (unsigned char *) s + i, l,
											  out, sizeof(out), true) == l)
			{
				appendStringInfoString(buf, (char *) out);
				i += l;
				continue;
			}
		}
		/* not storable: its bytes as \xNN (one at a time if not even UTF-8) */
		for (int k = 0; k < (legal ? l : 1); k++)
			appendStringInfo(buf, "\\x%02X", (unsigned char) s[i + k]);
		i += legal ? l : 1;
	}
}

/*
 * The message column of energy_rejects, which has the file and line in
 * columns of their own and the record in "raw": the phrase, the column and
 * its value when the error is about one, and the detail.
 */
text *
energy_reject_message(const EpError *err)
{
	StringInfoData msg;
	StringInfoData buf;

	initStringInfo(&msg);
	appendStringInfoString(&msg, ep_error_info(err->code)->phrase);
	if (err->column > 0)
	{
		if (err->value[0])
			appendStringInfo(&msg, " \"%s\"", err->value);
		appendStringInfo(&msg, " in column %d (%s)", err->column,
						 err->column_name ? err->column_name : "?");
	}
	if (err->detail[0])
		appendStringInfo(&msg, ": %s", err->detail);
	initStringInfo(&buf);
	append_storable(&buf, msg.data, msg.len, INT_MAX);
	return cstring_to_text_with_len(buf.data, buf.len);
}

/* Raw text for energy_rejects: about REJECT_RAW_MAX bytes of the record. */
text *
energy_reject_raw(const char *raw, size_t len)
{
	StringInfoData buf;

	initStringInfo(&buf);
	append_storable(&buf, raw, len, REJECT_RAW_MAX);
	return cstring_to_text_with_len(buf.data, buf.len);
}
