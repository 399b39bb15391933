/*-------------------------------------------------------------------------
 *
 * parser.h
 *	  Streaming parser for LP (load profile) and TOU (time of use) meter
 *	  exports, and for AEMO's NEM12 (interval) and NEM13 (accumulation)
 *	  meter data files.
 *
 * The parser is deliberately free of PostgreSQL headers: it is the one part
 * of the extension that touches hostile bytes, so it must be testable and
 * fuzzable as a plain C library, outside any server.  It therefore reports
 * problems as values (EpError) and never longjmps; the backend glue turns
 * those into ereport()s with SQLSTATEs.
 *
 * Contract, in short:
 *	- The caller pushes bytes in chunks of any size (ep_push, or reads them
 *	  into the parser's buffer: ep_reserve, ep_commit) and pulls
 *	  records (ep_next).  A record split across chunks parses exactly as if
 *	  it had arrived in one piece.
 *	- The first non-blank record alone decides the format: an LP or TOU
 *	  header, compared field by field, case-insensitively, trimmed; or a
 *	  NEM12/NEM13 "100" header record; or, for MDFF files that lack one, a
 *	  first "200" (NEM12) or "250" (NEM13) record, which is then also data.
 *	- NEM12 rows are readings, not records: one EpRow per interval value of
 *	  a 300 record.  A 300's qualities may be overridden by the 400 records
 *	  after it, so its rows come out only once the next record that is not
 *	  a 400 (or the end of the input) has been seen; errors of those 400
 *	  records therefore come before the rows of the 300 they follow.  A NEM
 *	  record that is accepted but carries no reading (100, 500, 550, 900) is
 *	  no event at all.  Repeated days are handed out as they come: settling
 *	  which reading wins is the caller's business.
 *	- Fields handed out point into parser-owned memory and stay valid until
 *	  the next ep_next(), ep_push() or ep_reserve() call.
 *	- All memory comes from the caller's allocator, so that in the backend
 *	  it lives in a memory context and is released on error.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ENERGY_PARSER_H
#define ENERGY_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum EpFormat
{
	EP_FORMAT_NONE = 0,			/* header not seen yet */
	EP_FORMAT_LP,
	EP_FORMAT_TOU,
	EP_FORMAT_NEM12,			/* MDFF interval data: 100 200 300 400 500 900 */
	EP_FORMAT_NEM13				/* MDFF accumulation reads: 100 250 550 900 */
} EpFormat;

/* Number of fields of each format, and their 0-based positions. */
#define EP_LP_NFIELDS	8
#define EP_TOU_NFIELDS	15

enum
{
	EP_LP_METER = 0,
	EP_LP_SERIAL,
	EP_LP_PLANT,
	EP_LP_DATETIME,
	EP_LP_DATA_TYPE,
	EP_LP_VALUE,
	EP_LP_UNITS,
	EP_LP_STATUS
};

enum
{
	EP_TOU_METER = 0,
	EP_TOU_SERIAL,
	EP_TOU_PLANT,
	EP_TOU_DATETIME,
	EP_TOU_DATA_TYPE,
	EP_TOU_ENERGY,
	EP_TOU_MAX_DEMAND,
	EP_TOU_MAX_DEMAND_AT,
	EP_TOU_UNITS,
	EP_TOU_STATUS,
	EP_TOU_PERIOD,
	EP_TOU_DLS_ACTIVE,
	EP_TOU_RESET_COUNT,
	EP_TOU_RESET_AT,
	EP_TOU_RATE
};

/*
 * NEM12/NEM13 (AEMO Meter Data File Format) field positions, 0-based, by
 * record; field 0 is always the RecordIndicator.  A 300 record has N =
 * 1440 / IntervalLength values from field 2, then QualityMethod at field
 * N + 2 and four optional fields.  Fields past the last defined one are
 * ignored (exports pad records with empty fields).
 */
#define EP_NEM_MAX_INTERVALS	1440	/* N of a 1-minute IntervalLength */

enum
{
	EP_NEM100_VERSION = 1		/* NEM12 or NEM13 */
};

enum
{
	EP_NEM200_NMI = 1,
	EP_NEM200_CONFIGURATION,
	EP_NEM200_REGISTER,
	EP_NEM200_SUFFIX,
	EP_NEM200_STREAM,
	EP_NEM200_SERIAL,
	EP_NEM200_UOM,
	EP_NEM200_INTERVAL_LENGTH,
	EP_NEM200_NEXT_READ,		/* optional; the field may be missing */
	EP_NEM200_NFIELDS = EP_NEM200_NEXT_READ /* fields required */
};

enum
{
	EP_NEM300_DATE = 1,
	EP_NEM300_VALUES			/* value i (1-based) is field i + 1 */
};

enum
{
	EP_NEM400_START = 1,
	EP_NEM400_END,
	EP_NEM400_QUALITY,
	EP_NEM400_REASON,
	EP_NEM400_NFIELDS = EP_NEM400_REASON	/* fields required */
};

enum
{
	EP_NEM250_NMI = 1,
	EP_NEM250_CONFIGURATION,
	EP_NEM250_REGISTER,
	EP_NEM250_SUFFIX,
	EP_NEM250_STREAM,
	EP_NEM250_SERIAL,
	EP_NEM250_DIRECTION,
	EP_NEM250_PREVIOUS_READ,
	EP_NEM250_PREVIOUS_AT,
	EP_NEM250_PREVIOUS_QUALITY,
	EP_NEM250_PREVIOUS_REASON,
	EP_NEM250_PREVIOUS_DESCRIPTION,
	EP_NEM250_CURRENT_READ,
	EP_NEM250_CURRENT_AT,
	EP_NEM250_CURRENT_QUALITY,
	EP_NEM250_CURRENT_REASON,
	EP_NEM250_CURRENT_DESCRIPTION,
	EP_NEM250_QUANTITY,
	EP_NEM250_UOM,
	EP_NEM250_NEXT_READ,
	EP_NEM250_UPDATED,
	EP_NEM250_MSATS_LOADED,
	EP_NEM250_NFIELDS = EP_NEM250_NEXT_READ /* fields required */
};

typedef enum EpStatus
{
	EP_ROW,						/* *row holds a record */
	EP_NEED_MORE,				/* push more bytes, or call ep_finish() */
	EP_END,						/* input exhausted after ep_finish() */
	EP_ERROR					/* *err describes a bad record or file */
} EpStatus;

/*
 * Error codes.  The comment names the SQLSTATE the backend maps each to.
 * "Record" errors concern one record: the parser has already stepped past
 * it, so the caller may record a reject and call ep_next() again.  "File"
 * errors (EP_ERR_EMPTY, EP_ERR_HEADER) end the file: every later ep_next()
 * returns the same error again.
 */
typedef enum EpErrorCode
{
	EP_ERR_NONE = 0,
	EP_ERR_EMPTY,				/* file: no header at all; 22P04 */
	EP_ERR_HEADER,				/* file: first record is no LP or TOU header,
								 * and no NEM 100 (or 200, 250) record; 22P04 */
	EP_ERR_COLUMNS,				/* wrong number of fields (NEM: fewer than the
								 * record needs); 22P04 */
	EP_ERR_QUOTE,				/* unterminated quote, or text after a closing
								 * quote; 22P04 */
	EP_ERR_TOO_LONG,			/* record longer than max_record; 54000 */
	EP_ERR_ENCODING,			/* invalid UTF-8, or a NUL byte; 22021 */
	EP_ERR_REQUIRED,			/* required field empty (or OLE zero date in
								 * the reading's own Date/Time); 23502 */
	EP_ERR_DATETIME,			/* not dd/mm/yyyy hh:mm:ss (NEM: yyyymmdd,
								 * yyyymmddhhmmss); 22007 */
	EP_ERR_DATETIME_RANGE,		/* a date/time field out of range; 22008 */
	EP_ERR_NUMBER,				/* not a decimal, or NaN/Infinity; 22P02 */
	EP_ERR_NUMBER_RANGE,		/* decimal overflows double; 22003 */
	EP_ERR_BOOLEAN,				/* DLS Active not a boolean; 22P02 */
	EP_ERR_INTEGER,				/* Billing Reset Count (or a 400 record's
								 * Start/EndInterval) not an integer; 22P02 */
	EP_ERR_INTEGER_RANGE,		/* such an integer overflows int64; 22003 */

	/* NEM12/NEM13 records */
	EP_ERR_RECORD_TYPE,			/* unknown RecordIndicator; 22P04 */
	EP_ERR_RECORD_ORDER,		/* a record where it cannot be: a 300 with no
								 * valid 200 before it, a 400 not after an
								 * accepted 300, a record of the other NEM
								 * version; 22P04 */
	EP_ERR_VALUE_COUNT,			/* a 300 whose field N + 2 is not a
								 * QualityMethod: not the N values its 200
								 * announces; 22P04 */
	EP_ERR_INTERVAL_LENGTH,		/* 200 IntervalLength not a whole number of
								 * minutes dividing a day; 22P02 */
	EP_ERR_QUALITY,				/* not a QualityMethod (flag A E F N S V and
								 * an optional two-digit method; no V in a
								 * 400); 22P02 */
	EP_ERR_INTERVAL_RANGE,		/* 400 Start/EndInterval not within 1..N, or
								 * start after end; 22003 */

	/*
	 * Raised by the backend's row check (glue.c), never by the parser: a row
	 * that parses but that the tables cannot hold.
	 */
	EP_ERR_KEY_TOO_LONG,		/* a meter or channel field longer than the
								 * dictionaries index; 54000 */
	EP_ERR_UNTRANSLATABLE,		/* a character the database encoding cannot
								 * hold; 22P05 */
	EP_ERR_FORGOTTEN			/* a reading of a day before the horizon
								 * energy_forget() recorded; 55000 */
} EpErrorCode;

/* A field's text: not NUL-terminated; quotes removed, "" unescaped. */
typedef struct EpText
{
	const char *ptr;
	size_t		len;
} EpText;

/*
 * A wall-clock date and time as written in the file (no time zone).  The
 * parser validates every field against the calendar; the backend turns it
 * into a timestamp with date2j().  is_null is set for an empty optional
 * field and for the OLE zero date 30/12/1899 00:00:00 ("no time").
 */
typedef struct EpTimestamp
{
	bool		is_null;
	int			year;			/* 1 .. 9999 */
	int			month;			/* 1 .. 12 */
	int			day;			/* 1 .. days in that month */
	int			hour;			/* 0 .. 23 */
	int			minute;			/* 0 .. 59 */
	int			second;			/* 0 .. 59 */
	int			usec;			/* 0 .. 999999, from an optional fraction */
} EpTimestamp;

/*
 * A decimal value.  "value" is the correctly rounded double (identical to
 * what strtod() gives).  When the text has at most 18 significant digits and
 * no exponent, it is also given exactly as digits * 10^-scale, so that sums
 * can be kept exact; otherwise exact is false.
 */
typedef struct EpDecimal
{
	bool		is_null;		/* empty optional field */
	double		value;
	bool		exact;
	int64_t		digits;			/* signed */
	int			scale;			/* number of decimals, 0 .. 18 */
} EpDecimal;

typedef struct EpRow
{
	uint64_t	line;			/* first physical line of the record, 1-based */
	const char *raw;			/* the record as in the file, without its line
								 * end */
	size_t		raw_len;

	/*
	 * Common to all formats; meter and data_type are never empty, nor is
	 * serial in LP and TOU.
	 *
	 * NEM12: meter is the NMI, serial the MeterSerialNumber, data_type the
	 * NMISuffix and units the UOM, all of the 200 record; value is one
	 * interval value of the 300 record (line and raw), at the end of its
	 * interval and status its effective QualityMethod (the 300's, or that of
	 * a 400 covering the interval).
	 *
	 * NEM13: the same texts from the 250 record, value its Quantity, at its
	 * CurrentRegisterReadDateTime and status its CurrentQualityMethod.
	 */
	EpText		meter;
	EpText		serial;
	EpText		plant;			/* may be empty; always empty in NEM */
	EpTimestamp at;				/* never null */
	EpText		data_type;
	EpDecimal	value;			/* LP Data Value, TOU Energy, NEM Quantity or
								 * interval value; null only for a NEM12
								 * interval whose value field is empty (no
								 * reading, but its quality is known) */
	EpText		units;			/* may be empty */
	EpText		status;			/* may be empty */

	/*
	 * The day the reading belongs to (time fields 0): the date of at, except
	 * in NEM12, where it is the 300's IntervalDate, also for the last
	 * interval, which ends at 00:00 of the next day.  Never null.
	 */
	EpTimestamp day;
	int			interval_minutes;	/* NEM12: the 200's IntervalLength; 0
									 * otherwise */

	/* TOU only; all optional */
	EpDecimal	max_demand;
	EpTimestamp max_demand_at;
	EpText		period;
	int			dls_active;		/* -1 empty, 0 false, 1 true */
	bool		has_reset_count;
	int64_t		reset_count;
	EpTimestamp reset_at;
	EpText		rate;
} EpRow;

/* Size of EpError.detail, and of the detail buffers that fill it. */
#define EP_DETAIL_MAX	160

typedef struct EpError
{
	EpErrorCode code;
	uint64_t	line;			/* line where the record starts; 0 if none */
	int			column;			/* 1-based column, 0 when not about one */
	const char *column_name;	/* canonical header name of that column (NEM:
								 * its MDFF field name), or NULL */
	char		value[128];		/* offending text (or the header found), cut
								 * to at most 100 bytes at a character
								 * boundary, bytes that are not printable
								 * UTF-8 written as \xNN; always
								 * NUL-terminated */
	char		detail[EP_DETAIL_MAX];	/* one sentence on what is wrong, e.g.
										 * "Month 13 is out of range." */
	const char *raw;			/* the bad record's raw bytes, for rejects;
								 * valid until the next call */
	size_t		raw_len;
} EpError;

/*
 * Allocation callbacks.  Each must return memory or not return at all
 * (palloc ereports; the unit tests abort), so the parser never checks for
 * NULL.
 */
typedef struct EpAllocator
{
	void	   *(*alloc) (size_t size, void *arg);
	void	   *(*realloc) (void *ptr, size_t size, void *arg);
	void		(*free) (void *ptr, void *arg);
	void	   *arg;
} EpAllocator;

typedef struct EpParser EpParser;

/* max_record: a record (or a run of bytes with no line end) longer than
 * this many bytes is EP_ERR_TOO_LONG; 0 means the default of 1 MiB. */
extern EpParser *ep_create(const EpAllocator *allocator, size_t max_record);
extern void ep_destroy(EpParser *p);

/* Append bytes.  Invalidates every EpText handed out so far. */
extern void ep_push(EpParser *p, const char *data, size_t len);

/*
 * ep_push without the copy, for a caller that reads the bytes itself:
 * ep_reserve returns room for len bytes at the end of the parser's buffer
 * (NULL when it takes no more input: after a file error or ep_finish), the
 * caller reads at most len bytes into it, and ep_commit(n) appends the n it
 * read.  ep_reserve invalidates every EpText handed out so far.
 */
extern char *ep_reserve(EpParser *p, size_t len);
extern void ep_commit(EpParser *p, size_t n);

/* No more bytes will come: a last record without a line end is complete. */
extern void ep_finish(EpParser *p);

extern EpStatus ep_next(EpParser *p, EpRow *row, EpError *err);

extern EpFormat ep_format(const EpParser *p);

/* Bytes of input consumed by records returned so far (for progress). */
extern uint64_t ep_bytes_consumed(const EpParser *p);

/*
 * What the backend needs to know about an error code, in one row, so that
 * its name, SQLSTATE and message can never drift apart: name is short and
 * stable (tests and reject tables match on it), sqlstate is five
 * characters, phrase starts the message ("invalid number").
 */
typedef struct EpErrorInfo
{
	EpErrorCode code;
	const char *name;
	const char *sqlstate;
	const char *phrase;
} EpErrorInfo;

/* The row of code; an unknown code gets a row of its own, never NULL. */
extern const EpErrorInfo *ep_error_info(EpErrorCode code);

/*
 * The canonical header name of a 1-based column of a format, or NULL.  For
 * NEM13 these are the 250 record's field names; for NEM12, whose names
 * depend on the record, only columns 1 and 2 of a 300 record are named
 * (see ep_nem_column_name).
 */
extern const char *ep_column_name(EpFormat format, int column);

/*
 * The MDFF field name of a 1-based column of a NEM record (record is its
 * RecordIndicator: 100, 200, 250, 300, 400, 500, 550 or 900; any other
 * names only column 1), or NULL.  nvalues is a 300 record's N, which
 * places its QualityMethod and later fields.  EpError.column_name of a NEM
 * error comes from here.
 */
extern const char *ep_nem_column_name(int record, int column, int nvalues);

/* The SQLSTATE (five characters) that an error code maps to. */
extern const char *ep_sqlstate(EpErrorCode code);

/* A short English name for an error code, for messages and tests. */
extern const char *ep_error_name(EpErrorCode code);

/*
 * A day as a lookup names it: exactly d/m/yyyy or yyyy-mm-dd, checked
 * against the calendar by the same code as a file's Date/Time.  Fills year,
 * month and day of *ts; returns EP_ERR_NONE, EP_ERR_DATETIME (not of either
 * form) or EP_ERR_DATETIME_RANGE (not in the calendar), with a sentence in
 * detail (EP_DETAIL_MAX bytes).
 */
extern EpErrorCode ep_parse_date(const char *s, size_t n, EpTimestamp *ts,
								 char *detail);

#endif							/* ENERGY_PARSER_H */
