/*-------------------------------------------------------------------------
 *
 * parser_int.h
 *	  What the files of the parser share, and nothing else includes.
 *
 * The parser is split by the job each part does, in the order the bytes
 * flow through it, as COPY FROM is (copyfromparse.c reads lines and fields,
 * one CopyFromRoutine per format turns them into values):
 *
 *	parse_csv.c		the byte scanner: the input buffer, records and fields,
 *					quoting, line ends, UTF-8
 *	parse_value.c	texts into values: decimals, dates and times, integers
 *	parse_lptou.c	LP and TOU: the header and the column table of a row
 *	parse_nem.c		NEM12 and NEM13: the MDFF records
 *	parser.c		the driver: the parser's life, format detection, the
 *					routine of the format, errors
 *
 * The state stays one struct, EpParser, defined here: the scanner and the
 * formats work on the same record, and one struct keeps the hot members
 * of an LP row in a few cache lines.  Like parser.h it needs no PostgreSQL
 * header: the parser is built and fuzzed outside the server too.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ENERGY_PARSER_INT_H
#define ENERGY_PARSER_INT_H

#include "parser.h"

#include <string.h>

/*
 * Assert() as in the server, without its headers: checked in the unit tests
 * and the fuzzer (built with -DEP_ASSERTS), free in the extension.
 */
#ifdef EP_ASSERTS
#include <assert.h>
#define Assert(x)	assert(x)
#else
#define Assert(x)	((void) 0)
#endif

/*
 * Everything declared below is the parser's own: hidden from the symbols
 * energy.so exports, so that it can neither clash with the server's nor be
 * interposed (calls between the files stay direct calls).
 */
#if defined(__GNUC__)
#pragma GCC visibility push(hidden)
#endif

/*
 * The functions every row passes through.  In one file the compiler
 * inlined them into one another; split by job, they are calls, and marking
 * them hot places them side by side (.text.hot), which wins back what the
 * split cost (bench/parser_speed.c: about 3% without it).
 */
#if defined(__GNUC__)
#define EP_HOT	__attribute__((hot))
#else
#define EP_HOT
#endif

#define EP_DEFAULT_MAX_RECORD	((size_t) 1024 * 1024)
/*
 * Fields remembered of a record; more are only counted.  LP and TOU need 16
 * at most; a NEM12 300 record N + 7, and the first record of a file may be
 * either, so until the format is known the larger count applies.
 */
#define EP_MAX_FIELDS			16
#define EP_NEM_MAX_FIELDS		(EP_NEM_MAX_INTERVALS + 8)
#define EP_VALUE_MAX			100 /* bytes of EpError.value text */
#define EP_NUMBER_MAX			400 /* longest decimal we accept */

/* field flags */
#define FF_QUOTED		0x01
#define FF_DQ			0x02	/* quoted and contains "" */

/*
 * Where a NEM12 300 record stands.  Its rows cannot be handed out when it is
 * read, since the 400 records after it may change their quality: it is
 * held (HOLD_OPEN) while 400s follow, then its values go out one per
 * ep_next (HOLD_EMIT).
 */
typedef enum NemHold
{
	HOLD_NONE,
	HOLD_OPEN,
	HOLD_EMIT
} NemHold;

/*
 * One field of the record last scanned: where it lies in the record, and
 * its text, str (made by parse_csv.c's build_fields).  One array of these
 * rather than one array per member, so that the few fields of an LP record
 * sit in a few cache lines however many a NEM record may need.
 */
typedef struct Field
{
	size_t		start;			/* the text, quotes and blanks excluded */
	size_t		end;
	size_t		raw;			/* the field as written */
	unsigned char flags;
	EpText		str;
} Field;

/* A position in the input, to give back a record that was read too early. */
typedef struct Mark
{
	size_t		start;
	uint64_t	line;
	uint64_t	consumed;
} Mark;

/*
 * The state a NEM file carries from record to record.  Everything a row
 * hands out lives here, in memory of the parser's own, because the input
 * buffer moves under ep_push while a 300 is held.
 */
typedef struct NemState
{
	/* the current 200 record (NEM12): its texts are copies in chan_buf */
	bool		chan_valid;
	bool		chan_rejected;	/* the last 200 was rejected */
	char	   *chan_buf;
	size_t		chan_cap;
	EpText		nmi;
	EpText		serial;
	EpText		suffix;
	EpText		uom;
	int			interval_minutes;

	/* the 300 record held for its 400s; its raw text copied into raw */
	NemHold		hold;
	bool		rejected_300;	/* the last record was a rejected 300 (or a
								 * 400 after one) */
	uint64_t	line;
	char	   *raw;
	size_t		raw_len;
	size_t		raw_cap;
	EpTimestamp day;
	int			n;				/* values in the record */
	int			next;			/* the next one to hand out */
	EpDecimal  *values;			/* EP_NEM_MAX_INTERVALS of each, one block */
	char		(*quality)[4];	/* effective QualityMethod per interval */
	Mark		mark;			/* where the record after it starts */

	/* the record being checked, for the column names of its errors */
	int			record;
	int			nvalues;
} NemState;

/*
 * A complete record, as the scanner found it: where it starts in the buffer
 * (valid until the next push), its length without the line end, and its
 * first physical line.
 */
typedef struct Record
{
	const char *base;
	size_t		len;
	uint64_t	line;
} Record;

/* What one record gives the format's record loop. */
typedef enum EpStep
{
	STEP_SKIP,					/* no event: go on to the next record */
	STEP_ROW,					/* *row is a reading */
	STEP_ERROR					/* *err describes the record */
} EpStep;

/*
 * What a format does, chosen once, when the header has told the format
 * (parser.c's read_header), as COPY chooses its CopyFromRoutine: ep_next
 * then only calls next, and no code asks again which format it is in.
 * Before the header, a routine of parser.c's own reads it.
 */
typedef struct EpRoutine
{
	/* the format is known: set up its state (NULL: nothing to do) */
	void		(*start) (EpParser *p);

	/*
	 * The records, until one gives an event: ep_next of the format.  record
	 * is the same for one record already read, the header record of an MDFF
	 * file without its 100, which is data too.
	 */
	EpStatus	(*next) (EpParser *p, EpRow *row, EpError *err);
	EpStep		(*record) (EpParser *p, const Record *rec, EpRow *row,
						   EpError *err);

	/* the header name of a 1-based column, for ep_column_name; or NULL */
	const char *(*column_name) (EpFormat format, int column);

	/* the name of the column an error of the record at hand is about */
	const char *(*error_column_name) (const EpParser *p, int column);

	/* free the format's own memory (NULL: it has none) */
	void		(*end) (EpParser *p);
} EpRoutine;

struct EpParser
{
	EpAllocator alloc;
	size_t		max_record;

	char	   *buf;
	size_t		cap;
	size_t		start;			/* first unconsumed byte */
	size_t		end;			/* one past the last buffered byte */
	bool		finished;
	bool		bom_done;
	bool		discarding;		/* dropping the rest of a too-long line */
	EpFormat	format;
	const EpRoutine *routine;	/* the format's, or the header reader */
	uint64_t	line;			/* physical line of buf[start] */
	uint64_t	consumed;

	bool		has_file_err;
	EpError		file_err;

	/* resumable scan state, offsets relative to start */
	bool		scanning;
	int			st;
	size_t		pos;
	size_t		nf;
	size_t		fbeg;
	size_t		fend;
	size_t		rawbeg;
	unsigned char fflags;
	bool		special;
	size_t		quote_col;
	uint64_t	nlines;

	/* result of the last completed scan */
	size_t		max_fields;		/* fields remembered: EP_MAX_FIELDS or
								 * EP_NEM_MAX_FIELDS */
	size_t		rec_len;
	size_t		eol_len;

	char	   *scratch;
	size_t		scratch_cap;

	NemState	nem;

	/* last, so that the state above shares cache lines with LP's fields */
	Field		f[EP_NEM_MAX_FIELDS];
};

/*
 * The allocators are callbacks so that the backend can use palloc in a
 * memory context; these wrappers only keep call sites short.
 */
static inline void *
ep_alloc(EpParser *p, size_t size)
{
	return p->alloc.alloc(size, p->alloc.arg);
}

static inline void *
ep_realloc(EpParser *p, void *ptr, size_t size)
{
	return p->alloc.realloc(ptr, size, p->alloc.arg);
}

/* Cheap trim of blanks; used on both ends of typed fields. */
static inline void
trim(const char **s, size_t *n)
{
	const char *p = *s;
	size_t		l = *n;

	while (l > 0 && (*p == ' ' || *p == '\t'))
	{
		p++;
		l--;
	}
	while (l > 0 && (p[l - 1] == ' ' || p[l - 1] == '\t'))
		l--;
	*s = p;
	*n = l;
}

/* A blank line: one unquoted field, empty after trimming. */
static inline bool
ep_is_blank(const EpParser *p)
{
	return p->nf == 1 && p->f[0].str.len == 0 && !(p->f[0].flags & FF_QUOTED);
}

/*
 * TOU's typed optional members, absent, as every row starts.  Member by
 * member, not memset: this runs once per row.
 */
static inline void
clear_tou_values(EpRow *row)
{
	row->max_demand.is_null = true;
	row->max_demand.value = 0.0;
	row->max_demand.exact = false;
	row->max_demand.digits = 0;
	row->max_demand.scale = 0;
	row->max_demand_at.is_null = true;
	row->reset_at.is_null = true;
	row->dls_active = -1;
	row->has_reset_count = false;
	row->reset_count = 0;
}

/* All of TOU's members absent, for a row of a format that has none. */
static inline void
clear_tou_members(EpRow *row)
{
	static const EpText empty = {NULL, 0};

	row->period = empty;
	row->rate = empty;
	memset(&row->max_demand_at, 0, sizeof(EpTimestamp));
	memset(&row->reset_at, 0, sizeof(EpTimestamp));
	clear_tou_values(row);
}

/*
 * The day a reading belongs to, when that is simply the date of its time:
 * the same timestamp at midnight.
 */
static inline void
set_day_of(EpTimestamp *day, const EpTimestamp *at)
{
	*day = *at;
	day->hour = 0;
	day->minute = 0;
	day->second = 0;
	day->usec = 0;
}

/* parser.c: errors, and the format the header decided */
extern void ep_set_error(EpParser *p, EpError *err, EpErrorCode code,
						 uint64_t line, int column, const char *val,
						 size_t vlen, const char *raw, size_t raw_len,
						 const char *fmt,...)
			__attribute__((format(printf, 10, 11)));
extern EpStatus ep_file_error(EpParser *p, EpError *err);

/* parse_csv.c: records and fields */
extern bool ep_next_record(EpParser *p, Record *rec, EpError *err,
						   EpStatus *st) EP_HOT;
extern bool ep_discard_line_rest(EpParser *p);
extern bool ep_skip_bom(EpParser *p);
extern bool ep_check_bytes_flagged(EpParser *p, const Record *rec,
								   EpError *err);
extern size_t ep_utf8_first_bad(const unsigned char *s, size_t n);
extern void ep_escape_value(char *dst, const char *src, size_t n);

/*
 * The structural checks every data record gets, whatever its format, from
 * the most basic: its bytes are UTF-8, its quotes are closed where they
 * should be.  Returns false with *err filled.  The scanner has flagged the
 * records that need a look, so most records cost two tests here, inline,
 * and only flagged ones a call (ep_check_bytes_flagged).
 */
static inline bool
ep_check_bytes(EpParser *p, const Record *rec, EpError *err)
{
	if (!p->special && p->quote_col == 0)
		return true;
	return ep_check_bytes_flagged(p, rec, err);
}

/* parse_value.c: texts into values */
extern bool ep_field_is(const EpText *t, const char *name);
extern int	ep_days_in_month(int year, int month);
extern EpErrorCode ep_parse_ts(const char *s, size_t n, EpTimestamp *ts,
							   char *detail) EP_HOT;
extern EpErrorCode ep_parse_nem_ts(const char *s, size_t n, bool with_time,
								   EpTimestamp *ts, const char *name,
								   char *detail);
extern EpErrorCode ep_parse_decimal(const char *s, size_t n, EpDecimal *d,
									char *detail) EP_HOT;
extern int	ep_parse_bool(const char *s, size_t n);
extern EpErrorCode ep_parse_int64(const char *s, size_t n, int64_t *out);

/*
 * parse_lptou.c and parse_nem.c: the formats.  detect tells whether the
 * first record is the format's header (or, in MDFF, its first data
 * record, *is_data); explain, when it is not a header at all, fills *err
 * with what the record looks like it meant to be, if anything.
 */
extern const EpRoutine ep_lptou_routine;
extern EpFormat ep_lptou_detect(EpParser *p);
extern bool ep_lptou_explain(EpParser *p, const Record *rec, EpError *err);

extern const EpRoutine ep_nem_routine;
extern EpFormat ep_nem_detect(EpParser *p, bool *is_data);
extern bool ep_nem_explain(EpParser *p, const Record *rec, EpError *err);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#endif							/* ENERGY_PARSER_INT_H */
