/*-------------------------------------------------------------------------
 *
 * parser.c
 *	  Streaming parser for LP and TOU meter exports and NEM12/NEM13 meter
 *	  data files (see parser.h): the driver.
 *
 * This file and the parse_*.c files it drives are the only code in the
 * extension that reads hostile bytes, so they are written to be driven and
 * fuzzed outside the server: plain C11 and libc, no PostgreSQL headers,
 * every problem reported as a value.
 *
 * The driver owns what does not depend on the format: the parser's life,
 * the header that decides the format, the routine of that format
 * (EpRoutine, parser_int.h), and the shape of every error.  It reads the
 * header with a routine of its own; once the header has told the format,
 * the format's routine takes over and ep_next only calls it, as COPY FROM
 * calls its CopyFromRoutine.
 *
 *-------------------------------------------------------------------------
 */
#include "parser_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static EpStatus header_next(EpParser *p, EpRow *row, EpError *err);

/* Before the header no column has a name. */
static const char *
no_column_name(EpFormat format, int column)
{
	(void) format;
	(void) column;
	return NULL;
}

static const char *
no_error_column_name(const EpParser *p, int column)
{
	(void) p;
	(void) column;
	return NULL;
}

/* The routine that reads the header; it is replaced by the format's. */
static const EpRoutine header_routine = {
	.start = NULL,
	.next = header_next,
	.record = NULL,
	.column_name = no_column_name,
	.error_column_name = no_error_column_name,
	.end = NULL
};

/* The routine of each format, by EpFormat. */
static const EpRoutine *const routines[] = {
	[EP_FORMAT_NONE] = &header_routine,
	[EP_FORMAT_LP] = &ep_lptou_routine,
	[EP_FORMAT_TOU] = &ep_lptou_routine,
	[EP_FORMAT_NEM12] = &ep_nem_routine,
	[EP_FORMAT_NEM13] = &ep_nem_routine,
};

/*
 * All state, including the input buffer, comes from the caller's allocator
 * so that in the backend an error unwinding the memory context frees it.
 */
EpParser *
ep_create(const EpAllocator *allocator, size_t max_record)
{
	EpParser   *p;

	p = allocator->alloc(sizeof(EpParser), allocator->arg);
	memset(p, 0, sizeof(EpParser));
	p->alloc = *allocator;
	if (max_record == 0)
		max_record = EP_DEFAULT_MAX_RECORD;
	/* keep offset arithmetic (max_record + 2) far from overflow */
	if (max_record > SIZE_MAX / 4)
		max_record = SIZE_MAX / 4;
	p->max_record = max_record;
	/* a buffer from the start keeps "buf + start" defined on empty input */
	p->cap = 4096;
	p->buf = ep_alloc(p, p->cap);
	p->line = 1;
	p->format = EP_FORMAT_NONE;
	p->routine = &header_routine;
	p->max_fields = EP_NEM_MAX_FIELDS;
	return p;
}

/* Tolerates NULL so that cleanup paths need not check. */
void
ep_destroy(EpParser *p)
{
	if (p == NULL)
		return;
	if (p->routine->end)
		p->routine->end(p);
	if (p->buf)
		p->alloc.free(p->buf, p->alloc.arg);
	if (p->scratch)
		p->alloc.free(p->scratch, p->alloc.arg);
	p->alloc.free(p, p->alloc.arg);
}

/*
 * Only a flag: the end of input changes how the scanner treats a trailing
 * CR and an unterminated last line, which it decides on the next ep_next.
 */
void
ep_finish(EpParser *p)
{
	p->finished = true;
}

/* The header decides the format; the loader needs it to pick its sink. */
EpFormat
ep_format(const EpParser *p)
{
	return p->format;
}

/* For progress reports; counts blank, skipped and rejected bytes too. */
uint64_t
ep_bytes_consumed(const EpParser *p)
{
	return p->consumed;
}

/*
 * One row per error code, indexed by code: the short name, the SQLSTATE the
 * backend raises (PostgreSQL's own for the same fault: 22P04 as COPY's bad
 * data format, 22021 as an invalid byte sequence, 22008 as a field out of
 * range) and the phrase its message starts with.  One table, so that the
 * backend glue and the tests cannot drift apart on it.
 */
static const EpErrorInfo error_table[] = {
	{EP_ERR_NONE, "none", "00000", "no error"},
	{EP_ERR_EMPTY, "empty", "22P04", "file is empty: it has no header line"},
	{EP_ERR_HEADER, "header", "22P04", "header is not that of a meter file"},
	{EP_ERR_COLUMNS, "columns", "22P04", "wrong number of fields"},
	{EP_ERR_QUOTE, "quote", "22P04", "misplaced or unterminated quote"},
	{EP_ERR_TOO_LONG, "too_long", "54000", "record too long"},
	{EP_ERR_ENCODING, "encoding", "22021", "invalid byte sequence for encoding \"UTF8\""},
	{EP_ERR_REQUIRED, "required", "23502", "missing required value"},
	{EP_ERR_DATETIME, "datetime", "22007", "invalid date/time"},
	{EP_ERR_DATETIME_RANGE, "datetime_range", "22008", "date/time field value out of range"},
	{EP_ERR_NUMBER, "number", "22P02", "invalid number"},
	{EP_ERR_NUMBER_RANGE, "number_range", "22003", "number out of range"},
	{EP_ERR_BOOLEAN, "boolean", "22P02", "invalid boolean"},
	{EP_ERR_INTEGER, "integer", "22P02", "invalid integer"},
	{EP_ERR_INTEGER_RANGE, "integer_range", "22003", "integer out of range"},
	{EP_ERR_RECORD_TYPE, "record_type", "22P04", "unknown record indicator"},
	{EP_ERR_RECORD_ORDER, "record_order", "22P04", "record out of place"},
	{EP_ERR_VALUE_COUNT, "value_count", "22P04", "wrong number of interval values"},
	{EP_ERR_INTERVAL_LENGTH, "interval_length", "22P02", "invalid interval length"},
	{EP_ERR_QUALITY, "quality", "22P02", "invalid quality method"},
	{EP_ERR_INTERVAL_RANGE, "interval_range", "22003", "interval out of range"},
	{EP_ERR_KEY_TOO_LONG, "key_too_long", "54000", "value too long"},
	{EP_ERR_UNTRANSLATABLE, "untranslatable", "22P05", "character has no equivalent in the database encoding"},
	{EP_ERR_FORGOTTEN, "forgotten", "55000", "reading is before the horizon of forgotten readings"},
};

static const EpErrorInfo unknown_error = {EP_ERR_NONE, "unknown", "XX000", "invalid input"};

const EpErrorInfo *
ep_error_info(EpErrorCode code)
{
	size_t		k = (size_t) code;

	if (k >= sizeof(error_table) / sizeof(error_table[0]))
		return &unknown_error;
	Assert(error_table[k].code == code);
	return &error_table[k];
}

/* The names come from the format's routine; NULL for an unknown format. */
const char *
ep_column_name(EpFormat format, int column)
{
	if ((size_t) format >= sizeof(routines) / sizeof(routines[0]))
		return NULL;
	return routines[format]->column_name(format, column);
}

const char *
ep_sqlstate(EpErrorCode code)
{
	return ep_error_info(code)->sqlstate;
}

const char *
ep_error_name(EpErrorCode code)
{
	return ep_error_info(code)->name;
}

/*
 * Fill an EpError.  Every error goes through here so that no field is ever
 * left stale from an earlier error.
 */
void
ep_set_error(EpParser *p, EpError *err, EpErrorCode code, uint64_t line,
			 int column, const char *val, size_t vlen,
			 const char *raw, size_t raw_len, const char *fmt,...)
{
	va_list		ap;

	err->code = code;
	err->line = line;
	err->column = column;
	err->column_name = p->routine->error_column_name(p, column);
	if (val != NULL)
		ep_escape_value(err->value, val, vlen);
	else
		err->value[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	va_end(ap);
	err->raw = raw;
	err->raw_len = raw_len;
}

/*
 * File errors freeze the parser: the buffer is no longer changed (ep_push
 * drops data), so the saved error's raw pointer stays valid for every
 * repeat.
 */
EpStatus
ep_file_error(EpParser *p, EpError *err)
{
	Assert(err->code == EP_ERR_EMPTY || err->code == EP_ERR_HEADER);
	p->has_file_err = true;
	p->file_err = *err;
	return EP_ERROR;
}

/*
 * The first non-blank record decides the format, and with it the routine
 * that reads the rest.  Returns false with *err filled (a file error) when
 * it is no header; the message says what the record looks like it meant
 * to be.  *is_data tells the caller that the record is the first data
 * record as well (an MDFF file without its 100 header).
 */
static bool
read_header(EpParser *p, const Record *rec, EpError *err, bool *is_data)
{
	EpFormat	format = EP_FORMAT_NONE;

	*is_data = false;

	if (p->special &&
		ep_utf8_first_bad((const unsigned char *) rec->base, rec->len) != (size_t) -1)
	{
		ep_set_error(p, err, EP_ERR_HEADER, rec->line, 0, rec->base, rec->len,
					 rec->base, rec->len, "The header line is not valid UTF-8.");
		return false;
	}
	if (p->quote_col == 0)
	{
		format = ep_lptou_detect(p);
		if (format == EP_FORMAT_NONE)
			format = ep_nem_detect(p, is_data);
		if (format != EP_FORMAT_NONE)
		{
			p->format = format;
			p->routine = routines[format];
			if (p->routine->start)
				p->routine->start(p);
			return true;
		}
		if (ep_nem_explain(p, rec, err) || ep_lptou_explain(p, rec, err))
			return false;
	}
	ep_set_error(p, err, EP_ERR_HEADER, rec->line, 0, rec->base, rec->len,
				 rec->base, rec->len,
				 "The first record is neither an LP or TOU export header nor a NEM12 or NEM13 100 record (%zu fields).",
				 p->nf);
	return false;
}

/*
 * The header routine's next: blank lines, then the header.  Once the
 * header has chosen the format's routine, that routine reads on (and
 * takes the header record itself when it is data too).
 */
static EpStatus
header_next(EpParser *p, EpRow *row, EpError *err)
{
	for (;;)
	{
		Record		rec;
		EpStatus	st;
		bool		is_data;

		if (!p->bom_done && !ep_skip_bom(p))
			return EP_NEED_MORE;
		if (!ep_next_record(p, &rec, err, &st))
			return st;
		if (ep_is_blank(p))
			continue;
		if (!read_header(p, &rec, err, &is_data))
			return ep_file_error(p, err);
		if (is_data)
		{
			EpStep		step = p->routine->record(p, &rec, row, err);

			if (step != STEP_SKIP)
				return step == STEP_ROW ? EP_ROW : EP_ERROR;
		}
		return p->routine->next(p, row, err);
	}
}

/*
 * The record driver, shaped like COPY's NextCopyFrom: a file error ends the
 * file for good; otherwise the routine of the format (or, until the header
 * is read, the header's) reads on to the next event.
 */
EpStatus
ep_next(EpParser *p, EpRow *row, EpError *err)
{
	if (p->has_file_err)
	{
		*err = p->file_err;
		return EP_ERROR;
	}
	return p->routine->next(p, row, err);
}
