/*-------------------------------------------------------------------------
 *
 * parser.c
 *	  Streaming parser for LP and TOU meter exports and NEM12/NEM13 meter
 *	  data files (see parser.h).
 *
 * This file is the only code in the extension that reads hostile bytes, so
 * it is written to be driven and fuzzed outside the server: plain C11 and
 * libc, no PostgreSQL headers, every problem reported as a value.
 *
 * Design notes (the "why"):
 *
 *	- Records are found by a small state machine whose whole state lives in
 *	  the parser, as offsets relative to the first unconsumed byte.  When a
 *	  chunk ends in the middle of a record the scan stops and later resumes
 *	  exactly where it was, so each byte is classified once no matter how the
 *	  input was cut, and a record split at any byte (inside CRLF, quotes, a
 *	  UTF-8 sequence) parses as if it had come in one piece.  A CR that is
 *	  the last buffered byte is not taken as a line end until we know whether
 *	  an LF follows, for the same reason.
 *	- The hot loops classify bytes with 256-entry tables; ordinary ASCII
 *	  bytes cost one load and one compare.  Bytes >= 0x80 and NUL only set a
 *	  flag; the record is validated as UTF-8 afterwards, and only then.
 *	- Fields are handed out as pointers into the input buffer.  Only quoted
 *	  fields containing "" need a copy (into one scratch buffer).
 *	- Numbers take an exact fast path (integer mantissa < 2^53 scaled by a
 *	  power of ten <= 10^22: one correctly rounded IEEE operation) and fall
 *	  back to strtod() otherwise, so results are bit-identical to strtod().
 *	- Memory is bounded by max_record plus the caller's chunk: a record that
 *	  grows past max_record is reported at once and the rest of its line is
 *	  discarded as it arrives.
 *	- A NEM12 300 record is converted when read but its rows go out only
 *	  after the 400 records that follow it, so it is copied (with the 200
 *	  record's texts it needs) into memory of the parser's own.  To know
 *	  that no 400 follows, the next record is read and, when it is none,
 *	  given back: the input position is rewound and the record read again
 *	  once the held rows are out.  Its first byte usually tells, so few
 *	  records are read twice.
 *
 *-------------------------------------------------------------------------
 */
#include "parser.h"

#include <float.h>
#include <stddef.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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

/* scanner states */
enum
{
	S_FSTART,					/* before a field, skipping blanks */
	S_UNQ,						/* inside an unquoted field */
	S_QUOTED,					/* inside quotes */
	S_QSEEN,					/* just after a quote inside quotes */
	S_AFTERQ,					/* blanks after a closing quote */
	S_JUNK						/* text after a closing quote */
};

/* scanner results */
enum
{
	SCAN_RECORD,
	SCAN_NEED_MORE,
	SCAN_END,
	SCAN_TOO_LONG,
	SCAN_EOF_QUOTE
};

/* byte classes for the scanner tables */
#define C_PLAIN		0
#define C_STOP		1			/* delimiter, quote or line end */
#define C_SPECIAL	2			/* NUL or >= 0x80: needs UTF-8 validation */

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
 * its text, str (made by build_fields).  One array of these rather than one array per
 * member, so that the few fields of an LP record sit in a few cache lines
 * however many a NEM record may need.
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

static const char *const lp_names[EP_LP_NFIELDS] = {
	"MeterPoint Code", "Serial Number", "Plant Code", "Date/Time",
	"Data Type", "Data Value", "Units", "Status"
};

static const char *const tou_names[EP_TOU_NFIELDS] = {
	"MeterPoint Code", "Serial Number", "Plant Code", "Date/Time",
	"Data Type", "Energy", "Maximum Demand", "Time of Max Demand",
	"Units", "Status", "Period", "DLS Active", "Billing Reset Count",
	"Billing Reset Date/Time", "Rate"
};

static const double pow10_tab[23] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};

/* MDFF files have records of many shapes; LP and TOU have one each. */
static inline bool
is_nem(EpFormat format)
{
	return format == EP_FORMAT_NEM12 || format == EP_FORMAT_NEM13;
}

/*
 * Byte class tables.  They are built at compile time with designated
 * initialisers so that there is no init-once race and no per-call setup.
 */
static const unsigned char cls_unq[256] = {
	[0] = C_SPECIAL,
	[','] = C_STOP,
	['\r'] = C_STOP,
	['\n'] = C_STOP,
};

static const unsigned char cls_quo[256] = {
	[0] = C_SPECIAL,
	['"'] = C_STOP,
	['\r'] = C_STOP,
	['\n'] = C_STOP,
};

/*
 * Range initialisers are a GNU extension, so the high half is marked by
 * looking at the byte instead: the compiler folds "c >= 0x80" into the
 * table test cheaply, and the tables stay standard C11.
 */
#define UNQ_CLASS(c)	((c) >= 0x80 ? C_SPECIAL : cls_unq[(c)])
#define QUO_CLASS(c)	((c) >= 0x80 ? C_SPECIAL : cls_quo[(c)])

/*
 * SWAR helpers for the unquoted scan: HASZERO flags (in bit 7) each zero
 * byte of a word; the lowest flag is always exact, which is all we need
 * since we only want the first interesting byte.  Borrows only run
 * towards more significant bytes, so the word must hold the first byte in
 * its least significant position: big-endian machines swap after loading.
 */
#define BCAST(c)	((uint64_t) 0x0101010101010101ULL * (uint8_t) (c))
#define HASZERO(v)	(((v) - BCAST(1)) & ~(v) & BCAST(0x80))

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define LOAD_LE(x)	((x) = __builtin_bswap64(x))
#else
#define LOAD_LE(x)	((void) 0)
#endif

static inline size_t
first_flagged_byte(uint64_t t)
{
	return (size_t) __builtin_ctzll(t) / 8;
}

/*
 * The allocators are callbacks so that the backend can use palloc in a
 * memory context; these wrappers only keep call sites short.
 */
static void *
ep_alloc(EpParser *p, size_t size)
{
	return p->alloc.alloc(size, p->alloc.arg);
}

static void *
ep_realloc(EpParser *p, void *ptr, size_t size)
{
	return p->alloc.realloc(ptr, size, p->alloc.arg);
}

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
	p->max_fields = EP_NEM_MAX_FIELDS;
	return p;
}

/* Tolerates NULL so that cleanup paths need not check. */
void
ep_destroy(EpParser *p)
{
	if (p == NULL)
		return;
	if (p->buf)
		p->alloc.free(p->buf, p->alloc.arg);
	if (p->scratch)
		p->alloc.free(p->scratch, p->alloc.arg);
	if (p->nem.chan_buf)
		p->alloc.free(p->nem.chan_buf, p->alloc.arg);
	if (p->nem.raw)
		p->alloc.free(p->nem.raw, p->alloc.arg);
	if (p->nem.values)
		p->alloc.free(p->nem.values, p->alloc.arg);
	p->alloc.free(p, p->alloc.arg);
}

/*
 * Compaction is done only when the consumed prefix is at least as large as
 * what remains (or when we must grow anyway), so that feeding tiny chunks
 * into a long pending record does not cost a memmove per byte: the bytes
 * moved are paid for by bytes consumed.
 */
void
ep_push(EpParser *p, const char *data, size_t len)
{
	size_t		pending;

	/* after a file error the buffer is frozen so that err->raw stays valid */
	if (p->has_file_err || p->finished || len == 0)
		return;

	pending = p->end - p->start;
	if (p->start > 0 && (p->start >= pending || p->end + len > p->cap))
	{
		if (pending > 0)
			memmove(p->buf, p->buf + p->start, pending);
		p->start = 0;
		p->end = pending;
	}
	if (p->end + len > p->cap)
	{
		size_t		ncap = p->cap < 65536 ? 65536 : p->cap * 2;

		while (ncap < p->end + len)
			ncap *= 2;
		p->buf = ep_realloc(p, p->buf, ncap);
		p->cap = ncap;
	}
	memcpy(p->buf + p->end, data, len);
	p->end += len;
	Assert(p->end <= p->cap);
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
	{EP_ERR_HEADER, "header", "22P04", "header is neither LP nor TOU"},
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

const char *
ep_column_name(EpFormat format, int column)
{
	if (format == EP_FORMAT_LP && column >= 1 && column <= EP_LP_NFIELDS)
		return lp_names[column - 1];
	if (format == EP_FORMAT_TOU && column >= 1 && column <= EP_TOU_NFIELDS)
		return tou_names[column - 1];
	if (format == EP_FORMAT_NEM13)
		return ep_nem_column_name(250, column, 0);
	if (format == EP_FORMAT_NEM12 && column <= EP_NEM300_DATE + 1)
		return ep_nem_column_name(300, column, 0);
	return NULL;
}

/*
 * The MDFF names, by record.  A 300 record's names past IntervalDate depend
 * on its value count, so they are placed by arithmetic instead.
 */
static const char *const nem100_names[] = {
	"RecordIndicator", "VersionHeader", "DateTime", "FromParticipant",
	"ToParticipant"
};

static const char *const nem200_names[] = {
	"RecordIndicator", "NMI", "NMIConfiguration", "RegisterID", "NMISuffix",
	"MDMDataStreamIdentifier", "MeterSerialNumber", "UOM", "IntervalLength",
	"NextScheduledReadDate"
};

static const char *const nem300_tail_names[] = {
	"QualityMethod", "ReasonCode", "ReasonDescription", "UpdateDateTime",
	"MSATSLoadDateTime"
};

static const char *const nem400_names[] = {
	"RecordIndicator", "StartInterval", "EndInterval", "QualityMethod",
	"ReasonCode", "ReasonDescription"
};

static const char *const nem500_names[] = {
	"RecordIndicator", "TransCode", "RetServiceOrder", "ReadDateTime",
	"IndexRead"
};

static const char *const nem250_names[] = {
	"RecordIndicator", "NMI", "NMIConfiguration", "RegisterID", "NMISuffix",
	"MDMDataStreamIdentifier", "MeterSerialNumber", "DirectionIndicator",
	"PreviousRegisterRead", "PreviousRegisterReadDateTime",
	"PreviousQualityMethod", "PreviousReasonCode",
	"PreviousReasonDescription", "CurrentRegisterRead",
	"CurrentRegisterReadDateTime", "CurrentQualityMethod",
	"CurrentReasonCode", "CurrentReasonDescription", "Quantity", "UOM",
	"NextScheduledReadDate", "UpdateDateTime", "MSATSLoadDateTime"
};

static const char *const nem550_names[] = {
	"RecordIndicator", "PreviousTransCode", "PreviousRetServiceOrder",
	"CurrentTransCode", "CurrentRetServiceOrder"
};

#define NEM_NAMES(a) (a), (int) (sizeof(a) / sizeof((a)[0]))

static const struct
{
	int			record;
	const char *const *names;
	int			n;
}			nem_records[] = {
	{100, NEM_NAMES(nem100_names)},
	{200, NEM_NAMES(nem200_names)},
	{400, NEM_NAMES(nem400_names)},
	{500, NEM_NAMES(nem500_names)},
	{250, NEM_NAMES(nem250_names)},
	{550, NEM_NAMES(nem550_names)},
};

/*
 * Errors in NEM records name their column as the specification does, so
 * that a reject can be checked against it; a 300's value columns share one
 * name, the interval being the column minus two.
 */
const char *
ep_nem_column_name(int record, int column, int nvalues)
{
	size_t		k;

	if (column == 1)
		return "RecordIndicator";
	if (record == 300)
	{
		int			tail = column - (EP_NEM300_VALUES + nvalues) - 1;

		if (column == EP_NEM300_DATE + 1)
			return "IntervalDate";
		if (nvalues <= 0)
			return NULL;
		if (column > EP_NEM300_VALUES && tail < 0)
			return "IntervalValue";
		if (tail >= 0 && tail < 5)
			return nem300_tail_names[tail];
		return NULL;
	}
	for (k = 0; k < sizeof(nem_records) / sizeof(nem_records[0]); k++)
		if (nem_records[k].record == record)
			return column >= 1 && column <= nem_records[k].n ?
				nem_records[k].names[column - 1] : NULL;
	return NULL;
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
 * Length of the valid UTF-8 character at s (1..4), or 0 if the bytes there
 * are not one (NUL counts as invalid: PostgreSQL text cannot hold it).
 * Overlongs, surrogates, code points above U+10FFFF and truncated sequences
 * are all rejected, as PostgreSQL's pg_utf8_islegal() does.
 */
static int
utf8_char_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];

	if (c == 0)
		return 0;
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
	{
		if (n < 2 || (s[1] & 0xC0) != 0x80)
			return 0;
		return 2;
	}
	if (c >= 0xE0 && c <= 0xEF)
	{
		if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
			return 0;
		if (c == 0xE0 && s[1] < 0xA0)
			return 0;			/* overlong */
		if (c == 0xED && s[1] > 0x9F)
			return 0;			/* surrogate */
		return 3;
	}
	if (c >= 0xF0 && c <= 0xF4)
	{
		if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 ||
			(s[3] & 0xC0) != 0x80)
			return 0;
		if (c == 0xF0 && s[1] < 0x90)
			return 0;			/* overlong */
		if (c == 0xF4 && s[1] > 0x8F)
			return 0;			/* > U+10FFFF */
		return 4;
	}
	return 0;
}

/*
 * Offset of the first byte that does not start a valid character, or
 * (size_t) -1 when the whole text is valid.  Only called for records in
 * which the scanner saw NUL or a high byte.
 */
static size_t
utf8_first_bad(const unsigned char *s, size_t n)
{
	size_t		i = 0;

	while (i < n)
	{
		int			l;

		if (s[i] != 0 && s[i] < 0x80)
		{
			i++;
			continue;
		}
		l = utf8_char_len(s + i, n - i);
		if (l == 0)
			return i;
		i += l;
	}
	return (size_t) -1;
}

/*
 * Write text into an EpError.value: printable, never more than
 * EP_VALUE_MAX bytes, never cutting a character or an escape in half.
 * Bytes that are not printable UTF-8 become \xNN so that logs and reject
 * tables never receive raw control or invalid bytes.
 */
static void
escape_value(char *dst, const char *src, size_t n)
{
	const unsigned char *s = (const unsigned char *) src;
	size_t		o = 0;
	size_t		i = 0;
	static const char hex[] = "0123456789ABCDEF";

	while (i < n)
	{
		unsigned char c = s[i];
		int			l;

		if (c >= 0x20 && c < 0x7F)
		{
			if (o + 1 > EP_VALUE_MAX)
				break;
			dst[o++] = (char) c;
			i++;
			continue;
		}
		l = (c >= 0x80) ? utf8_char_len(s + i, n - i) : 0;
		/* C1 controls (U+0080..U+009F) are valid but not printable */
		if (l == 2 && c == 0xC2 && s[i + 1] < 0xA0)
			l = 0;
		if (l > 0)
		{
			if (o + l > EP_VALUE_MAX)
				break;
			memcpy(dst + o, s + i, l);
			o += l;
			i += l;
			continue;
		}
		if (o + 4 > EP_VALUE_MAX)
			break;
		dst[o++] = '\\';
		dst[o++] = 'x';
		dst[o++] = hex[c >> 4];
		dst[o++] = hex[c & 15];
		i++;
	}
	dst[o] = '\0';
}

/*
 * Fill an EpError.  Every error goes through here so that no field is ever
 * left stale from an earlier error.
 */
static void set_error(EpParser *p, EpError *err, EpErrorCode code, uint64_t line,
					  int column, const char *val, size_t vlen,
					  const char *raw, size_t raw_len, const char *fmt,...)
			__attribute__((format(printf, 10, 11)));

static void
set_error(EpParser *p, EpError *err, EpErrorCode code, uint64_t line,
		  int column, const char *val, size_t vlen,
		  const char *raw, size_t raw_len, const char *fmt,...)
{
	va_list		ap;

	err->code = code;
	err->line = line;
	err->column = column;
	if (is_nem(p->format))
		err->column_name = ep_nem_column_name(p->nem.record, column,
											  p->nem.nvalues);
	else
		err->column_name = ep_column_name(p->format, column);
	if (val != NULL)
		escape_value(err->value, val, vlen);
	else
		err->value[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	va_end(ap);
	err->raw = raw;
	err->raw_len = raw_len;
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

/*
 * Find the end of the record at buf[start].  Returns one of SCAN_*.  This is
 * the byte loop, the one place every input byte passes through, so it stays
 * one function, as COPY's CopyReadLineText does; what it does is explained
 * here rather than split into calls.
 *
 * States (st), a record being a run of fields separated by commas:
 *	S_FSTART	before a field: blanks are skipped; '"' opens a quoted field;
 *				anything else starts an unquoted one.
 *	S_UNQ		inside an unquoted field.  Scanned eight bytes at a time (SWAR)
 *				while none is a comma, CR, LF, NUL or >= 0x80.  A comma ends
 *				the field (trailing blanks trimmed); CR or LF ends the record.
 *	S_QUOTED	inside quotes: commas and line ends are data (a line end
 *				counts a physical line, for error messages); '"' leads to
 *				S_QSEEN.
 *	S_QSEEN		just after a quote inside quotes: '"' is an escaped quote
 *				(the field gets FF_DQ and is unescaped later); a comma or
 *				line end closes the field; blanks lead to S_AFTERQ; anything
 *				else is text after a closing quote, S_JUNK.
 *	S_AFTERQ	blanks after a closing quote, allowed before a comma or line
 *				end; anything else leads to S_JUNK.
 *	S_JUNK		text after a closing quote.  Scanned to the end of the field
 *				so the record can be reported whole; quote_col remembers
 *				the column for the error (EP_ERR_QUOTE).
 *
 * Byte classes (UNQ_CLASS, QUO_CLASS): C_PLAIN bytes only advance; C_STOP
 * bytes (comma, quote, CR, LF, as the state cares) change state; C_SPECIAL
 * bytes (NUL, >= 0x80) advance and set "special", so that the record is
 * validated as UTF-8 afterwards, once, and only if it needs it.
 *
 * A line end: LF ends the record; CR ends it too, with an LF after it
 * taken as part of the same line end.  A CR that is the last buffered byte
 * is left for the next call (unless the input is finished), since its LF
 * may be in the next chunk.
 *
 * Exits: "record" stores the last field and returns SCAN_RECORD (rec_len
 * without the line end, eol_len its length); "need_more" saves every local
 * into the parser and returns SCAN_NEED_MORE, so the next call resumes at
 * the same byte in the same state; "out" (the bytes ran out) decides
 * between too long (SCAN_TOO_LONG: max_record bytes without a line end),
 * more input, a quote never closed (SCAN_EOF_QUOTE), the end of the input
 * (SCAN_END) and a last record without a line end.
 *
 * Why macros and gotos: STORE_FIELD runs at every field end, in seven places,
 * and must write to p-> while the state stays in locals; a function taking
 * all of them would cost more than the field.  The state lives in locals
 * because the buffer is char data, which may alias anything: working
 * through p-> would force the compiler to reload state after every store.
 * The gotos are the state machine's edges, like CopyReadLineText's.
 */
static int
scan_record(EpParser *p)
{
	const unsigned char *b = (const unsigned char *) p->buf + p->start;
	size_t		avail = p->end - p->start;
	size_t		lim = avail;
	bool		capped = false;
	size_t		i,
				nf,
				fbeg,
				fend,
				rawbeg,
				quote_col;
	int			st;
	unsigned char fflags;
	bool		special;
	uint64_t	nlines;
	size_t		eol = 0;
	size_t		maxf = p->max_fields;
	unsigned char c;
	int			k;

	Assert(p->start <= p->end && p->end <= p->cap);
	if (!p->scanning)
	{
		p->scanning = true;
		p->st = S_FSTART;
		p->pos = 0;
		p->nf = 0;
		p->fbeg = p->fend = p->rawbeg = 0;
		p->fflags = 0;
		p->special = false;
		p->quote_col = 0;
		p->nlines = 0;
	}
	i = p->pos;
	st = p->st;
	nf = p->nf;
	fbeg = p->fbeg;
	fend = p->fend;
	rawbeg = p->rawbeg;
	fflags = p->fflags;
	special = p->special;
	quote_col = p->quote_col;
	nlines = p->nlines;

	if (avail > p->max_record)
	{
		lim = p->max_record + 1;
		capped = true;
	}

#define STORE_FIELD(s_, e_, fl_) \
	do { \
		if (nf < maxf) \
		{ \
			p->f[nf].start = (s_); \
			p->f[nf].end = (e_); \
			p->f[nf].flags = (fl_); \
			p->f[nf].raw = rawbeg; \
		} \
		nf++; \
	} while (0)

	for (;;)
	{
		if (i >= lim)
			goto out;
		c = b[i];
		switch (st)
		{
			case S_FSTART:
				if (c == ' ' || c == '\t')
				{
					i++;
					continue;
				}
				if (c == '"')
				{
					fflags = FF_QUOTED;
					i++;
					fbeg = i;
					st = S_QUOTED;
					continue;
				}
				fbeg = i;
				fflags = 0;
				st = S_UNQ;
				goto unq;

			case S_UNQ:
		unq:

				/*
				 * Eight bytes at a time while they are all ordinary.  The
				 * stopping byte is taken from the word itself rather than
				 * reloaded: the load would sit on the critical path of every
				 * field.
				 */
				for (;;)
				{
					if (i + 8 <= lim)
					{
						uint64_t	x;
						uint64_t	t;
						size_t		pos;

						memcpy(&x, b + i, 8);
						LOAD_LE(x);
						t = HASZERO(x ^ BCAST(',')) | HASZERO(x ^ BCAST('\r')) |
							HASZERO(x ^ BCAST('\n')) | HASZERO(x) |
							(x & BCAST(0x80));
						if (t == 0)
						{
							i += 8;
							continue;
						}
						pos = first_flagged_byte(t);
						i += pos;
						c = (unsigned char) (x >> (pos * 8));
						break;
					}
					if (i >= lim)
						goto out;
					c = b[i];
					if (UNQ_CLASS(c) != C_PLAIN)
						break;
					i++;
				}
				if (c == 0 || c >= 0x80)
				{
					special = true;
					i++;
					goto unq;
				}
				if (c == ',')
				{
					size_t		e = i;

					while (e > fbeg && (b[e - 1] == ' ' || b[e - 1] == '\t'))
						e--;
					STORE_FIELD(fbeg, e, 0);
					i++;
					rawbeg = i;
					/* the common next field: unquoted, no leading blank */
					if (i < lim && b[i] != ' ' && b[i] != '\t' && b[i] != '"')
					{
						fbeg = i;
						goto unq;
					}
					st = S_FSTART;
					continue;
				}
				goto line_end;

			case S_QUOTED:
				while ((k = QUO_CLASS(c)) == C_PLAIN)
				{
					if (++i >= lim)
						goto out;
					c = b[i];
				}
				if (k == C_SPECIAL)
				{
					special = true;
					i++;
					continue;
				}
				if (c == '"')
				{
					fend = i;
					i++;
					st = S_QSEEN;
					continue;
				}
				/* line end inside quotes: data, but it is a new line */
				if (c == '\r' || b[i - 1] != '\r')
					nlines++;
				i++;
				continue;

			case S_QSEEN:
				if (c == '"')
				{
					fflags |= FF_DQ;
					i++;
					st = S_QUOTED;
					continue;
				}
				if (c == ',')
				{
					STORE_FIELD(fbeg, fend, fflags);
					i++;
					rawbeg = i;
					st = S_FSTART;
					continue;
				}
				if (c == ' ' || c == '\t')
				{
					i++;
					st = S_AFTERQ;
					continue;
				}
				if (c == '\r' || c == '\n')
					goto line_end;
				if (quote_col == 0)
					quote_col = nf + 1;
				st = S_JUNK;
				continue;

			case S_AFTERQ:
				if (c == ' ' || c == '\t')
				{
					i++;
					continue;
				}
				if (c == ',')
				{
					STORE_FIELD(fbeg, fend, fflags);
					i++;
					rawbeg = i;
					st = S_FSTART;
					continue;
				}
				if (c == '\r' || c == '\n')
					goto line_end;
				if (quote_col == 0)
					quote_col = nf + 1;
				st = S_JUNK;
				continue;

			case S_JUNK:
				k = UNQ_CLASS(c);
				if (k == C_PLAIN)
				{
					i++;
					continue;
				}
				if (k == C_SPECIAL)
				{
					special = true;
					i++;
					continue;
				}
				if (c == ',')
				{
					STORE_FIELD(fbeg, fend, fflags);
					i++;
					rawbeg = i;
					st = S_FSTART;
					continue;
				}
				goto line_end;
		}
	}

line_end:
	/* b[i] is CR or LF in a state where it ends the record */
	if (c == '\n')
		eol = 1;
	else if (i + 1 < avail)
		eol = (b[i + 1] == '\n') ? 2 : 1;
	else if (p->finished)
		eol = 1;
	else
		goto need_more;
	goto record;

out:
	if (capped && i >= lim)
	{
		p->nlines = nlines;
		p->pos = i;
		return SCAN_TOO_LONG;
	}
	if (!p->finished)
		goto need_more;
	if (st == S_QUOTED)
	{
		p->nf = nf;
		p->nlines = nlines;
		p->rec_len = avail;
		return SCAN_EOF_QUOTE;
	}
	if (avail == 0)
	{
		p->scanning = false;
		return SCAN_END;
	}
	eol = 0;
	/* FALLTHROUGH */

record:
	switch (st)
	{
		case S_FSTART:
			STORE_FIELD(i, i, 0);
			break;
		case S_UNQ:
			{
				size_t		e = i;

				while (e > fbeg && (b[e - 1] == ' ' || b[e - 1] == '\t'))
					e--;
				STORE_FIELD(fbeg, e, 0);
			}
			break;
		default:
			STORE_FIELD(fbeg, fend, fflags);
			break;
	}
	p->nf = nf;
	p->special = special;
	p->quote_col = quote_col;
	p->nlines = nlines;
	p->rec_len = i;
	p->eol_len = eol;
	p->scanning = false;
	return SCAN_RECORD;

need_more:
	p->pos = i;
	p->st = st;
	p->nf = nf;
	p->fbeg = fbeg;
	p->fend = fend;
	p->rawbeg = rawbeg;
	p->fflags = fflags;
	p->special = special;
	p->quote_col = quote_col;
	p->nlines = nlines;
	return SCAN_NEED_MORE;
#undef STORE_FIELD
}

/* Consume n bytes that belonged to a record (or were discarded). */
static inline void
consume(EpParser *p, size_t n, uint64_t lines)
{
	Assert(n <= p->end - p->start);
	p->start += n;
	p->consumed += n;
	p->line += lines;
}

/*
 * Turn the scanned field offsets into EpTexts.  Only fields with "" inside
 * quotes are copied (unescaped) into the scratch buffer, which is sized to
 * the record so that it never needs to grow while filling.
 */
static void
build_fields(EpParser *p, const char *base, size_t rec_len)
{
	size_t		n = p->nf < p->max_fields ? p->nf : p->max_fields;
	size_t		k;
	size_t		so = 0;
	bool		scratch_ready = false;

	for (k = 0; k < n; k++)
	{
		const char *s = base + p->f[k].start;
		size_t		l = p->f[k].end - p->f[k].start;

		if (p->f[k].flags & FF_DQ)
		{
			size_t		j;
			char	   *d;

			if (!scratch_ready)
			{
				if (p->scratch_cap < rec_len + 1)
				{
					size_t		ncap = rec_len + 1 < 256 ? 256 : rec_len + 1;

					if (p->scratch)
						p->alloc.free(p->scratch, p->alloc.arg);
					p->scratch = ep_alloc(p, ncap);
					p->scratch_cap = ncap;
				}
				scratch_ready = true;
			}
			d = p->scratch + so;
			/* unescape: every "" becomes " */
			{
				size_t		o = 0;

				for (j = 0; j < l; j++)
				{
					d[o++] = s[j];
					if (s[j] == '"' && j + 1 < l && s[j + 1] == '"')
						j++;
				}
				p->f[k].str.ptr = d;
				p->f[k].str.len = o;
				so += o;
			}
		}
		else
		{
			p->f[k].str.ptr = s;
			p->f[k].str.len = l;
		}
	}
}

/* ASCII case-insensitive comparison of a trimmed field with a name. */
static bool
field_is(const EpText *t, const char *name)
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
 * Index of the first field that differs from names[], or -1 when the
 * record is exactly that header.
 */
static int
header_mismatch(EpParser *p, const char *const *names, size_t nnames)
{
	size_t		k;

	if (p->nf != nnames)
		return 0;
	for (k = 0; k < nnames; k++)
		if (!field_is(&p->f[k].str, names[k]))
			return (int) k;
	return -1;
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
static int
days_in_month(int year, int month)
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
	dim = days_in_month(year, month);
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
static EpErrorCode
parse_ts(const char *s, size_t n, EpTimestamp *ts, char *detail)
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
static EpErrorCode
parse_nem_ts(const char *s, size_t n, bool with_time, EpTimestamp *ts,
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
static EpErrorCode
parse_decimal(const char *s, size_t n, EpDecimal *d, char *detail)
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
static int
parse_bool(const char *s, size_t n)
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
static EpErrorCode
parse_int64(const char *s, size_t n, int64_t *out)
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

/*
 * How each typed column of a data record is converted.  The required kinds
 * come first, so that "kind <= COL_VALUE" means "must not be empty".
 */
typedef enum ColumnKind
{
	COL_TEXT,					/* required text, kept as it is */
	COL_READING_TIME,			/* required date/time, not the OLE zero date */
	COL_VALUE,					/* required decimal */
	COL_DECIMAL,				/* optional decimal */
	COL_TIME,					/* optional date/time; OLE zero date is null */
	COL_BOOL,					/* optional boolean */
	COL_INT						/* optional 64-bit integer */
} ColumnKind;

typedef struct ColumnSpec
{
	int			field;			/* 0-based position in the record */
	ColumnKind	kind;
	size_t		offset;			/* of the EpRow member it fills */
} ColumnSpec;

/*
 * The columns checked, left to right so that the column an error names is
 * deterministic.  The first five sit at the same positions in both formats,
 * so an LP record walks the first five rows and a TOU record all of them.
 * The other text columns (plant, units, status, ...) may be empty and are
 * handed out as they are.
 */
#define COMMON_COLUMNS	5

static const ColumnSpec columns[] = {
	{EP_TOU_METER, COL_TEXT, offsetof(EpRow, meter)},
	{EP_TOU_SERIAL, COL_TEXT, offsetof(EpRow, serial)},
	{EP_TOU_DATETIME, COL_READING_TIME, offsetof(EpRow, at)},
	{EP_TOU_DATA_TYPE, COL_TEXT, offsetof(EpRow, data_type)},
	{EP_TOU_ENERGY, COL_VALUE, offsetof(EpRow, value)},
	{EP_TOU_MAX_DEMAND, COL_DECIMAL, offsetof(EpRow, max_demand)},
	{EP_TOU_MAX_DEMAND_AT, COL_TIME, offsetof(EpRow, max_demand_at)},
	{EP_TOU_DLS_ACTIVE, COL_BOOL, offsetof(EpRow, dls_active)},
	{EP_TOU_RESET_COUNT, COL_INT, offsetof(EpRow, reset_count)},
	{EP_TOU_RESET_AT, COL_TIME, offsetof(EpRow, reset_at)},
};

_Static_assert((int) EP_LP_METER == (int) EP_TOU_METER &&
			   (int) EP_LP_SERIAL == (int) EP_TOU_SERIAL &&
			   (int) EP_LP_DATETIME == (int) EP_TOU_DATETIME &&
			   (int) EP_LP_DATA_TYPE == (int) EP_TOU_DATA_TYPE &&
			   (int) EP_LP_VALUE == (int) EP_TOU_ENERGY,
			   "the common columns sit at the same positions in LP and TOU");

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

/*
 * Point the row's text members at the fields and give every optional
 * member its "absent" value, so that no member is left from the last row.
 */
static void
fill_row_texts(EpParser *p, EpRow *row, const Record *rec)
{
	const Field *f = p->f;

	row->line = rec->line;
	row->raw = rec->base;
	row->raw_len = rec->len;
	row->meter = f[EP_LP_METER].str;
	row->serial = f[EP_LP_SERIAL].str;
	row->plant = f[EP_LP_PLANT].str;
	row->data_type = f[EP_LP_DATA_TYPE].str;
	if (p->format == EP_FORMAT_TOU)
	{
		row->units = f[EP_TOU_UNITS].str;
		row->status = f[EP_TOU_STATUS].str;
		row->period = f[EP_TOU_PERIOD].str;
		row->rate = f[EP_TOU_RATE].str;
		clear_tou_values(row);
	}
	else
	{
		row->units = f[EP_LP_UNITS].str;
		row->status = f[EP_LP_STATUS].str;
		clear_tou_members(row);
	}
	row->interval_minutes = 0;
}

/*
 * Convert one column into its member of *row.  On error, *val and *vlen are
 * the text to quote (NULL for an empty required field) and detail says what
 * is wrong.
 */
static EpErrorCode
convert_column(EpParser *p, EpRow *row, const ColumnSpec *c,
			   const char **val, size_t *vlen, char *detail)
{
	const char *const *names = p->format == EP_FORMAT_TOU ? tou_names : lp_names;
	const char *s = p->f[c->field].str.ptr;
	size_t		n = p->f[c->field].str.len;
	void	   *dst = (char *) row + c->offset;
	EpErrorCode rc = EP_ERR_NONE;
	int			b;

	trim(&s, &n);
	*val = s;
	*vlen = n;
	if (n == 0 && c->kind <= COL_VALUE)
	{
		*val = NULL;
		snprintf(detail, EP_DETAIL_MAX, "%s must not be empty.", names[c->field]);
		return EP_ERR_REQUIRED;
	}
	switch (c->kind)
	{
		case COL_TEXT:
			break;
		case COL_READING_TIME:
			rc = parse_ts(s, n, dst, detail);
			if (rc == EP_ERR_NONE && ((EpTimestamp *) dst)->is_null)
			{
				snprintf(detail, EP_DETAIL_MAX,
						 "A reading needs a time, but Date/Time is the OLE zero date that means none.");
				rc = EP_ERR_REQUIRED;
			}
			break;
		case COL_VALUE:
			rc = parse_decimal(s, n, dst, detail);
			break;
		case COL_DECIMAL:
			if (n > 0)
				rc = parse_decimal(s, n, dst, detail);
			break;
		case COL_TIME:
			rc = parse_ts(s, n, dst, detail);
			break;
		case COL_BOOL:
			b = parse_bool(s, n);
			if (b == -2)
			{
				snprintf(detail, EP_DETAIL_MAX, "DLS Active must be true or false.");
				rc = EP_ERR_BOOLEAN;
			}
			else
				*(int *) dst = b;
			break;
		case COL_INT:
			if (n == 0)
				break;
			rc = parse_int64(s, n, dst);
			if (rc == EP_ERR_INTEGER)
				snprintf(detail, EP_DETAIL_MAX, "Value is not an integer.");
			else if (rc == EP_ERR_INTEGER_RANGE)
				snprintf(detail, EP_DETAIL_MAX,
						 "Value is out of range for a 64-bit integer.");
			else
				row->has_reset_count = true;
			break;
	}
	return rc;
}

/*
 * Convert the fields of a data record into *row: the text members first,
 * then a walk over the format's column table.  Returns EP_ERR_NONE or fills
 * *err for the first bad column.
 */
static EpErrorCode
convert_row(EpParser *p, EpRow *row, EpError *err, const Record *rec)
{
	bool		tou = (p->format == EP_FORMAT_TOU);
	size_t		ncols = tou ? sizeof(columns) / sizeof(columns[0]) : COMMON_COLUMNS;
	char		detail[EP_DETAIL_MAX];

	Assert(p->nf == (tou ? EP_TOU_NFIELDS : EP_LP_NFIELDS));
	fill_row_texts(p, row, rec);
	for (size_t k = 0; k < ncols; k++)
	{
		const char *val;
		size_t		vlen;
		EpErrorCode rc = convert_column(p, row, &columns[k], &val, &vlen, detail);

		if (rc != EP_ERR_NONE)
		{
			set_error(p, err, rc, rec->line, columns[k].field + 1, val, vlen,
					  rec->base, rec->len, "%s", detail);
			return rc;
		}
	}
	set_day_of(&row->day, &row->at);
	return EP_ERR_NONE;
}

/*
 * File errors freeze the parser: the buffer is no longer changed (ep_push
 * drops data), so the saved error's raw pointer stays valid for every
 * repeat.
 */
static EpStatus
file_error(EpParser *p, EpError *err)
{
	Assert(err->code == EP_ERR_EMPTY || err->code == EP_ERR_HEADER);
	p->has_file_err = true;
	p->file_err = *err;
	return EP_ERROR;
}

/*
 * Column (1-based) of the field holding byte offset off of the record, or 0
 * when it lies beyond the fields we remember and so cannot be named.
 */
static int
column_of(EpParser *p, size_t off, size_t *fs, size_t *fe, size_t rec_len)
{
	size_t		n = p->nf < p->max_fields ? p->nf : p->max_fields;
	size_t		k = 0;

	while (k + 1 < n && p->f[k + 1].raw <= off)
		k++;
	if (k + 1 == p->max_fields && p->nf > p->max_fields)
		return 0;
	*fs = p->f[k].raw;
	*fe = (k + 1 < n) ? p->f[k + 1].raw - 1 : rec_len;
	return (int) k + 1;
}

/*
 * After a too-long record, drop the rest of its line as it arrives.
 * Returns false when the line end has not come yet (more input needed).
 */
static bool
discard_line_rest(EpParser *p)
{
	const char *b = p->buf + p->start;
	size_t		avail = p->end - p->start;
	size_t		k;

	for (k = 0; k < avail; k++)
		if (b[k] == '\n' || b[k] == '\r')
			break;
	if (k == avail)
	{
		consume(p, avail, 0);
		if (!p->finished)
			return false;
	}
	else if (b[k] == '\r')
	{
		if (k + 1 < avail)
			consume(p, k + 1 + (b[k + 1] == '\n'), 1);
		else if (p->finished)
			consume(p, k + 1, 1);
		else
		{
			/* keep the CR until we know whether LF follows */
			consume(p, k, 0);
			return false;
		}
	}
	else
		consume(p, k + 1, 1);
	p->discarding = false;
	return true;
}

/*
 * Step over a UTF-8 byte-order mark at the very start.  Returns false while
 * the bytes so far could still be the start of one.
 */
static bool
skip_bom(EpParser *p)
{
	static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};
	size_t		avail = p->end - p->start;
	size_t		k;

	for (k = 0; k < avail && k < 3; k++)
		if ((unsigned char) p->buf[p->start + k] != bom[k])
			break;
	if (k == 3)
		consume(p, 3, 0);
	else if (k == avail && !p->finished)
		return false;
	p->bom_done = true;
	return true;
}

/*
 * Find the next complete record, consume it and split it into fields.
 * Returns false with *st set when there is none to parse: more input is
 * needed, the input ended, or the scan itself failed (too long, a quote
 * left open at the end); *err is then filled for EP_ERROR.
 */
static bool
next_record(EpParser *p, Record *rec, EpError *err, EpStatus *st)
{
	uint64_t	line = p->line;
	int			rc = scan_record(p);
	const char *base = p->buf + p->start;
	size_t		n;

	switch (rc)
	{
		case SCAN_NEED_MORE:
			*st = EP_NEED_MORE;
			return false;

		case SCAN_END:
			if (p->format == EP_FORMAT_NONE)
			{
				set_error(p, err, EP_ERR_EMPTY, 0, 0, NULL, 0, NULL, 0,
						  "The file has no header line.");
				*st = file_error(p, err);
			}
			else
				*st = EP_END;
			return false;

		case SCAN_TOO_LONG:
			n = p->pos;
			p->scanning = false;
			p->nem.record = 0;	/* no NEM record type known */
			if (p->format == EP_FORMAT_NONE)
			{
				set_error(p, err, EP_ERR_HEADER, line, 0, base, n, base, n,
						  "The header line is longer than %zu bytes.",
						  p->max_record);
				*st = file_error(p, err);
				return false;
			}
			set_error(p, err, EP_ERR_TOO_LONG, line, 0, base, n, base, n,
					  "Record is longer than %zu bytes.", p->max_record);
			consume(p, n, p->nlines);
			p->discarding = true;
			*st = EP_ERROR;
			return false;

		case SCAN_EOF_QUOTE:
			n = p->rec_len;
			p->scanning = false;
			p->nem.record = 0;
			if (p->format == EP_FORMAT_NONE)
			{
				set_error(p, err, EP_ERR_HEADER, line, 0, base, n, base, n,
						  "The header line has a quote that is never closed.");
				*st = file_error(p, err);
				return false;
			}
			set_error(p, err, EP_ERR_QUOTE, line, (int) p->nf + 1,
					  base, n, base, n,
					  "A quoted field is not closed before the end of the file.");
			consume(p, n, p->nlines);
			*st = EP_ERROR;
			return false;
	}

	Assert(rc == SCAN_RECORD);
	Assert(p->rec_len + p->eol_len <= p->end - p->start);
	/* a complete record: consume it now, parse it from base */
	rec->base = base;
	rec->len = p->rec_len;
	rec->line = line;
	consume(p, p->rec_len + p->eol_len, p->nlines + 1);
	build_fields(p, base, rec->len);
	return true;
}

/* A blank line: one unquoted field, empty after trimming. */
static inline bool
is_blank(EpParser *p)
{
	return p->nf == 1 && p->f[0].str.len == 0 && !(p->f[0].flags & FF_QUOTED);
}

/*
 * The RecordIndicator of an MDFF record (its first field, trimmed) as a
 * number, or -1 when it is not three digits.  Every NEM decision starts
 * here, so it is cheap: no parsing beyond three bytes.
 */
static int
nem_record_type(const EpParser *p)
{
	const char *s = p->f[0].str.ptr;
	size_t		n = p->f[0].str.len;
	int			v = 0;

	trim(&s, &n);
	if (n != 3)
		return -1;
	for (size_t k = 0; k < 3; k++)
	{
		if ((unsigned char) (s[k] - '0') > 9)
			return -1;
		v = v * 10 + (s[k] - '0');
	}
	return v;
}

/*
 * Whether the first record makes the file an MDFF one: a 100 header naming
 * NEM12 or NEM13, or, for the exports that leave the header out, a first
 * 200 (NEM12) or 250 (NEM13) record, which is then data as well
 * (*is_data).
 */
static bool
nem_detect(EpParser *p, bool *is_data)
{
	int			rt = nem_record_type(p);

	*is_data = (rt == 200 || rt == 250);
	if (rt == 100 && p->nf > EP_NEM100_VERSION)
	{
		if (field_is(&p->f[EP_NEM100_VERSION].str, "NEM12"))
			p->format = EP_FORMAT_NEM12;
		else if (field_is(&p->f[EP_NEM100_VERSION].str, "NEM13"))
			p->format = EP_FORMAT_NEM13;
	}
	else if (rt == 200)
		p->format = EP_FORMAT_NEM12;
	else if (rt == 250)
		p->format = EP_FORMAT_NEM13;
	return p->format != EP_FORMAT_NONE;
}

/*
 * The first non-blank record decides the format.  Returns false with *err
 * filled (a file error) when it is no header; the message says which
 * field differs when the field count matches one of them.  *is_data tells
 * the caller that the record is the first data record as well (an MDFF file
 * without its 100 header).
 */
static bool
read_header(EpParser *p, const Record *rec, EpError *err, bool *is_data)
{
	int			mm;
	int			rt;

	*is_data = false;

	if (p->special &&
		utf8_first_bad((const unsigned char *) rec->base, rec->len) != (size_t) -1)
	{
		set_error(p, err, EP_ERR_HEADER, rec->line, 0, rec->base, rec->len,
				  rec->base, rec->len, "The header line is not valid UTF-8.");
		return false;
	}
	if (p->quote_col == 0)
	{
		if (header_mismatch(p, lp_names, EP_LP_NFIELDS) < 0)
		{
			p->format = EP_FORMAT_LP;
			p->max_fields = EP_MAX_FIELDS;
			return true;
		}
		if (header_mismatch(p, tou_names, EP_TOU_NFIELDS) < 0)
		{
			p->format = EP_FORMAT_TOU;
			p->max_fields = EP_MAX_FIELDS;
			return true;
		}
		if (nem_detect(p, is_data))
			return true;
	}
	rt = nem_record_type(p);
	if (p->quote_col == 0 && rt == 100)
		set_error(p, err, EP_ERR_HEADER, rec->line, 0, rec->base, rec->len,
				  rec->base, rec->len,
				  "The 100 record's VersionHeader is neither NEM12 nor NEM13.");
	else if (p->quote_col == 0 &&
			 (rt == 300 || rt == 400 || rt == 500 || rt == 550 || rt == 900))
		set_error(p, err, EP_ERR_HEADER, rec->line, 0, rec->base, rec->len,
				  rec->base, rec->len,
				  "A NEM12 or NEM13 file starts with a 100 record (or without one a 200 or 250 record), not a %d record.",
				  rt);
	else if (p->quote_col == 0 && p->nf == EP_LP_NFIELDS)
	{
		mm = header_mismatch(p, lp_names, EP_LP_NFIELDS);
		set_error(p, err, EP_ERR_HEADER, rec->line, 0, rec->base, rec->len,
				  rec->base, rec->len,
				  "Header field %d should be \"%s\" in an LP file.",
				  mm + 1, lp_names[mm]);
	}
	else if (p->quote_col == 0 && p->nf == EP_TOU_NFIELDS)
	{
		mm = header_mismatch(p, tou_names, EP_TOU_NFIELDS);
		set_error(p, err, EP_ERR_HEADER, rec->line, 0, rec->base, rec->len,
				  rec->base, rec->len,
				  "Header field %d should be \"%s\" in a TOU file.",
				  mm + 1, tou_names[mm]);
	}
	else
		set_error(p, err, EP_ERR_HEADER, rec->line, 0, rec->base, rec->len,
				  rec->base, rec->len,
				  "The header is neither an LP nor a TOU header (%zu fields).",
				  p->nf);
	return false;
}

/*
 * The structural checks every data record gets, whatever its format, from
 * the most basic: its bytes are UTF-8, its quotes are closed where they
 * should be.  Returns false with *err filled.  The scanner has flagged the
 * records that need a look, so most records cost two tests here, inline
 * (check_bytes), and only flagged ones a call (check_bytes_flagged).
 */
static bool
check_bytes_flagged(EpParser *p, const Record *rec, EpError *err)
{
	if (p->special)
	{
		size_t		bad = utf8_first_bad((const unsigned char *) rec->base, rec->len);

		if (bad != (size_t) -1)
		{
			size_t		fs = 0,
						fe = rec->len;
			int			col = column_of(p, bad, &fs, &fe, rec->len);

			if (col == 0)
			{
				fs = 0;
				fe = rec->len;
			}
			set_error(p, err, EP_ERR_ENCODING, rec->line, col, rec->base + fs,
					  fe - fs, rec->base, rec->len,
					  rec->base[bad] == '\0' ?
					  "The record contains a NUL byte." :
					  "The record contains a byte sequence that is not valid UTF-8.");
			return false;
		}
	}

	if (p->quote_col != 0)
	{
		set_error(p, err, EP_ERR_QUOTE, rec->line, (int) p->quote_col,
				  rec->base, rec->len, rec->base, rec->len,
				  "A closing quote is followed by text other than a comma.");
		return false;
	}
	return true;
}

static inline bool
check_bytes(EpParser *p, const Record *rec, EpError *err)
{
	if (!p->special && p->quote_col == 0)
		return true;
	return check_bytes_flagged(p, rec, err);
}

/*
 * The structural checks of an LP or TOU record: check_bytes, then the
 * format's field count.  Returns false with *err filled.
 */
static bool
check_record(EpParser *p, const Record *rec, EpError *err)
{
	size_t		nfmt;

	if (!check_bytes(p, rec, err))
		return false;
	nfmt = (p->format == EP_FORMAT_LP) ? EP_LP_NFIELDS : EP_TOU_NFIELDS;
	if (p->nf != nfmt)
	{
		set_error(p, err, EP_ERR_COLUMNS, rec->line, 0, rec->base, rec->len,
				  rec->base, rec->len, "Expected %zu fields, found %zu.",
				  nfmt, p->nf);
		return false;
	}
	return true;
}

/* The header again (files joined with cat): skipped silently. */
static bool
is_repeated_header(EpParser *p)
{
	bool		tou = (p->format == EP_FORMAT_TOU);

	return p->f[0].str.len >= 15 &&
		field_is(&p->f[0].str, lp_names[0]) &&
		header_mismatch(p, tou ? tou_names : lp_names,
						tou ? EP_TOU_NFIELDS : EP_LP_NFIELDS) < 0;
}

/* ---------------------------------------------------------------------
 * NEM12 and NEM13 (AEMO Meter Data File Format)
 *
 * An MDFF file is a run of records told apart by their first field, the
 * RecordIndicator.  NEM12: a 200 names a channel (NMI and NMISuffix), its
 * unit and its IntervalLength; each 300 after it is one day of that
 * channel, N = 1440 / IntervalLength values and a QualityMethod; 400s after
 * a 300 override the quality of ranges of its intervals.  NEM13: each 250
 * is one register read.  100 (header), 500, 550 and 900 (end) carry no
 * reading.  Real files leave out the 100 or the 900, concatenate files,
 * pad records with empty fields and put blank lines between them: all of
 * that is accepted.  A record that cannot be used is an error value, and
 * the next ep_next goes on with the next record, as for LP.
 * ---------------------------------------------------------------------
 */

/* What one NEM record gives the record driver. */
typedef enum NemStep
{
	NEM_SKIP,					/* no event: go on to the next record */
	NEM_ROW,					/* *row is a reading */
	NEM_ERROR					/* *err describes the record */
} NemStep;

/*
 * Field k of the current record, trimmed (MDFF fields carry stray blanks);
 * empty when the record has no such field, as the padding exports add
 * makes "missing" and "empty" the same thing.
 */
static EpText
nem_field(const EpParser *p, size_t k)
{
	EpText		t = {"", 0};

	if (k < p->nf && k < p->max_fields)
	{
		t = p->f[k].str;
		trim(&t.ptr, &t.len);
	}
	return t;
}

/* Blank lines and lines of commas only (padded blank lines) are skipped. */
static bool
nem_is_blank(const EpParser *p)
{
	if (p->nf > p->max_fields)
		return false;
	for (size_t k = 0; k < p->nf; k++)
		if (nem_field(p, k).len > 0)
			return false;
	return true;
}

/*
 * Fail the current record: column field + 1 (none when field < 0), quoting
 * that field.  One place, so that every NEM error has the same shape.
 */
static NemStep nem_fail(EpParser *p, EpError *err, const Record *rec,
						EpErrorCode code, int field, const char *fmt,...)
			__attribute__((format(printf, 6, 7)));

static NemStep
nem_fail(EpParser *p, EpError *err, const Record *rec, EpErrorCode code,
		 int field, const char *fmt,...)
{
	char		detail[EP_DETAIL_MAX];
	EpText		v = {NULL, 0};
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (field >= 0)
		v = nem_field(p, (size_t) field);
	set_error(p, err, code, rec->line, field + 1, v.ptr, v.len,
			  rec->base, rec->len, "%s", detail);
	return NEM_ERROR;
}

/*
 * A QualityMethod: a flag and an optional two-digit method (A, E52, S14,
 * F14, N, V).  V ("variable: see the 400 records") belongs in a 300 only.
 * Case matters, as in the specification.
 */
static bool
is_quality(EpText t, bool allow_v)
{
	const char *flags = allow_v ? "AEFNSV" : "AEFNS";

	if (t.len != 1 && t.len != 3)
		return false;
	if (strchr(flags, t.ptr[0]) == NULL || t.ptr[0] == '\0')
		return false;
	return t.len == 1 ||
		((unsigned char) (t.ptr[1] - '0') <= 9 &&
		 (unsigned char) (t.ptr[2] - '0') <= 9);
}

/* A 100 or 900 ends what the 200 before it said. */
static void
nem_end_channel(EpParser *p)
{
	p->nem.chan_valid = false;
	p->nem.chan_rejected = false;
}

/*
 * A 100 record inside a file (files joined together): it must be of the
 * file's version, since a row cannot change format mid-file.  It starts a
 * new file, so the current channel ends.
 */
static NemStep
nem_100(EpParser *p, const Record *rec, EpError *err)
{
	const char *want = p->format == EP_FORMAT_NEM12 ? "NEM12" : "NEM13";
	EpText		v = nem_field(p, EP_NEM100_VERSION);

	nem_end_channel(p);
	if (!field_is(&v, want))
		return nem_fail(p, err, rec, EP_ERR_RECORD_ORDER, EP_NEM100_VERSION,
						"The 100 record of a %s file must name %s.", want, want);
	return NEM_SKIP;
}

/*
 * Make room for n bytes in a buffer of the parser's own.  Its content is
 * not kept: callers fill it afresh.
 */
static void
ensure_buffer(EpParser *p, char **buf, size_t *cap, size_t n)
{
	if (*cap >= n && *buf != NULL)
		return;
	if (*buf)
		p->alloc.free(*buf, p->alloc.arg);
	*cap = n < 256 ? 256 : n;
	*buf = ep_alloc(p, *cap);
}

/*
 * A 200 record: the channel the 300s after it belong to.  Its texts are
 * copied, since they outlive the record by many others.  Until a 200 is
 * accepted, the 300s after it have no channel and are rejected.
 */
static NemStep
nem_200(EpParser *p, const Record *rec, EpError *err)
{
	NemState   *h = &p->nem;
	EpText		t[4];
	EpText		len;
	int64_t		minutes = 0;
	size_t		total = 0;
	size_t		o = 0;

	h->chan_valid = false;
	h->chan_rejected = true;
	if (p->nf < EP_NEM200_NFIELDS)
		return nem_fail(p, err, rec, EP_ERR_COLUMNS, -1,
						"A 200 record has at least %d fields, this one %zu.",
						EP_NEM200_NFIELDS, p->nf);
	t[0] = nem_field(p, EP_NEM200_NMI);
	t[1] = nem_field(p, EP_NEM200_SERIAL);
	t[2] = nem_field(p, EP_NEM200_SUFFIX);
	t[3] = nem_field(p, EP_NEM200_UOM);
	len = nem_field(p, EP_NEM200_INTERVAL_LENGTH);
	if (t[0].len == 0)
		return nem_fail(p, err, rec, EP_ERR_REQUIRED, EP_NEM200_NMI,
						"NMI must not be empty.");
	if (t[2].len == 0)
		return nem_fail(p, err, rec, EP_ERR_REQUIRED, EP_NEM200_SUFFIX,
						"NMISuffix must not be empty.");
	if (len.len == 0)
		return nem_fail(p, err, rec, EP_ERR_REQUIRED, EP_NEM200_INTERVAL_LENGTH,
						"IntervalLength must not be empty.");
	if (parse_int64(len.ptr, len.len, &minutes) != EP_ERR_NONE ||
		minutes < 1 || minutes > 1440 || 1440 % minutes != 0)
		return nem_fail(p, err, rec, EP_ERR_INTERVAL_LENGTH,
						EP_NEM200_INTERVAL_LENGTH,
						"IntervalLength must be a number of minutes that divides a day, such as 5, 15 or 30.");

	for (int k = 0; k < 4; k++)
		total += t[k].len;
	ensure_buffer(p, &h->chan_buf, &h->chan_cap, total);
	for (int k = 0; k < 4; k++)
	{
		memcpy(h->chan_buf + o, t[k].ptr, t[k].len);
		t[k].ptr = h->chan_buf + o;
		o += t[k].len;
	}
	h->nmi = t[0];
	h->serial = t[1];
	h->suffix = t[2];
	h->uom = t[3];
	h->interval_minutes = (int) minutes;
	h->chan_valid = true;
	h->chan_rejected = false;
	return NEM_SKIP;
}

/*
 * A 300 record: one day of the current channel.  Everything is checked and
 * converted now, so that a bad record is one error at its own line; then
 * it is held (HOLD_OPEN) for the 400 records that may follow.  Its raw text
 * is copied: the input buffer may move before its rows go out.
 */
static NemStep
nem_300(EpParser *p, const Record *rec, EpError *err)
{
	NemState   *h = &p->nem;
	int			n;
	EpText		q;
	EpText		date;
	EpTimestamp day;
	char		detail[EP_DETAIL_MAX];
	EpErrorCode rc;

	h->rejected_300 = true;
	if (!h->chan_valid)
		return nem_fail(p, err, rec, EP_ERR_RECORD_ORDER, 0,
						h->chan_rejected ?
						"The 200 record before this 300 record was rejected." :
						"A 300 record must follow a 200 record.");
	n = 1440 / h->interval_minutes;

	/* the value count: only a QualityMethod at N + 2 shows it is right */
	q = nem_field(p, EP_NEM300_VALUES + n);
	if (!is_quality(q, true))
	{
		if (p->nf < (size_t) (EP_NEM300_VALUES + n + 1))
			return nem_fail(p, err, rec, EP_ERR_VALUE_COUNT, EP_NEM300_VALUES + n,
							"A 300 record has %d values and a QualityMethod at %d-minute intervals, but this one has %zu fields.",
							n, h->interval_minutes, p->nf);
		return nem_fail(p, err, rec, EP_ERR_VALUE_COUNT, EP_NEM300_VALUES + n,
						"A 300 record has %d values and a QualityMethod at %d-minute intervals, but field %d is not a QualityMethod.",
						n, h->interval_minutes, EP_NEM300_VALUES + n + 1);
	}

	date = nem_field(p, EP_NEM300_DATE);
	if (date.len == 0)
		return nem_fail(p, err, rec, EP_ERR_REQUIRED, EP_NEM300_DATE,
						"IntervalDate must not be empty.");
	rc = parse_nem_ts(date.ptr, date.len, false, &day, "IntervalDate", detail);
	if (rc == EP_ERR_NONE && day.year == 9999 && day.month == 12 && day.day == 31)
	{
		snprintf(detail, sizeof(detail),
				 "The last interval of 31/12/9999 would end after the year 9999.");
		rc = EP_ERR_DATETIME_RANGE;
	}
	if (rc != EP_ERR_NONE)
		return nem_fail(p, err, rec, rc, EP_NEM300_DATE, "%s", detail);

	if (h->values == NULL)
	{
		h->values = ep_alloc(p, EP_NEM_MAX_INTERVALS *
							 (sizeof(EpDecimal) + sizeof(*h->quality)));
		h->quality = (char (*)[4]) (h->values + EP_NEM_MAX_INTERVALS);
	}
	for (int i = 0; i < n; i++)
	{
		EpText		v = nem_field(p, EP_NEM300_VALUES + i);
		EpDecimal  *d = &h->values[i];

		if (v.len == 0)
		{
			/* no reading; the row still says which interval and quality */
			memset(d, 0, sizeof(*d));
			d->is_null = true;
			continue;
		}
		rc = parse_decimal(v.ptr, v.len, d, detail);
		if (rc != EP_ERR_NONE)
			return nem_fail(p, err, rec, rc, EP_NEM300_VALUES + i, "%s", detail);
	}
	for (int i = 0; i < n; i++)
	{
		memcpy(h->quality[i], q.ptr, q.len);
		h->quality[i][q.len] = '\0';
	}

	ensure_buffer(p, &h->raw, &h->raw_cap, rec->len);
	memcpy(h->raw, rec->base, rec->len);
	h->raw_len = rec->len;
	h->line = rec->line;
	h->day = day;
	h->n = n;
	h->next = 0;
	h->hold = HOLD_OPEN;
	h->rejected_300 = false;
	return NEM_SKIP;
}

/*
 * StartInterval or EndInterval of a 400 record: a whole number within the
 * held 300's intervals.  Returns NEM_SKIP when it is one.
 */
static NemStep
nem_interval(EpParser *p, const Record *rec, EpError *err, int field,
			 const char *name, int64_t lo, int64_t *out)
{
	EpText		t = nem_field(p, (size_t) field);
	EpErrorCode rc;

	if (t.len == 0)
		return nem_fail(p, err, rec, EP_ERR_REQUIRED, field,
						"%s must not be empty.", name);
	rc = parse_int64(t.ptr, t.len, out);
	if (rc != EP_ERR_NONE)
		return nem_fail(p, err, rec, rc, field, "%s must be a whole number.", name);
	if (*out < lo || *out > p->nem.n)
		return nem_fail(p, err, rec, EP_ERR_INTERVAL_RANGE, field,
						"%s must be within %lld and %d, the intervals of its 300 record.",
						name, (long long) lo, p->nem.n);
	return NEM_SKIP;
}

/*
 * A 400 record: the QualityMethod of intervals StartInterval..EndInterval
 * (1-based, inclusive) of the 300 record held.  A bad 400 is an error of
 * its own and leaves the 300 as it was; the 400s after it still apply.
 */
static NemStep
nem_400(EpParser *p, const Record *rec, EpError *err)
{
	NemState   *h = &p->nem;
	int64_t		first;
	int64_t		last;
	EpText		q;

	if (h->hold != HOLD_OPEN)
		return nem_fail(p, err, rec, EP_ERR_RECORD_ORDER, 0,
						h->rejected_300 ?
						"The 300 record before this 400 record was rejected." :
						"A 400 record must follow a 300 record or another 400 record.");
	if (p->nf < EP_NEM400_NFIELDS)
		return nem_fail(p, err, rec, EP_ERR_COLUMNS, -1,
						"A 400 record has at least %d fields, this one %zu.",
						EP_NEM400_NFIELDS, p->nf);
	if (nem_interval(p, rec, err, EP_NEM400_START, "StartInterval", 1,
					 &first) != NEM_SKIP ||
		nem_interval(p, rec, err, EP_NEM400_END, "EndInterval", first,
					 &last) != NEM_SKIP)
		return NEM_ERROR;
	q = nem_field(p, EP_NEM400_QUALITY);
	if (q.len == 0)
		return nem_fail(p, err, rec, EP_ERR_REQUIRED, EP_NEM400_QUALITY,
						"QualityMethod must not be empty.");
	if (!is_quality(q, false))
		return nem_fail(p, err, rec, EP_ERR_QUALITY, EP_NEM400_QUALITY,
						"A 400 record's QualityMethod is a flag A, E, F, N or S and an optional two-digit method.");
	for (int64_t i = first - 1; i < last; i++)
	{
		memcpy(h->quality[i], q.ptr, q.len);
		h->quality[i][q.len] = '\0';
	}
	return NEM_SKIP;
}

/*
 * A 250 record: one register read, one row.  Its texts point into the
 * input, as an LP row's do.
 */
static NemStep
nem_250(EpParser *p, const Record *rec, EpRow *row, EpError *err)
{
	EpText		at = nem_field(p, EP_NEM250_CURRENT_AT);
	EpText		qty = nem_field(p, EP_NEM250_QUANTITY);
	char		detail[EP_DETAIL_MAX];
	EpErrorCode rc;

	if (p->nf < EP_NEM250_NFIELDS)
		return nem_fail(p, err, rec, EP_ERR_COLUMNS, -1,
						"A 250 record has at least %d fields, this one %zu.",
						EP_NEM250_NFIELDS, p->nf);
	row->meter = nem_field(p, EP_NEM250_NMI);
	row->data_type = nem_field(p, EP_NEM250_SUFFIX);
	if (row->meter.len == 0)
		return nem_fail(p, err, rec, EP_ERR_REQUIRED, EP_NEM250_NMI,
						"NMI must not be empty.");
	if (row->data_type.len == 0)
		return nem_fail(p, err, rec, EP_ERR_REQUIRED, EP_NEM250_SUFFIX,
						"NMISuffix must not be empty.");
	if (at.len == 0)
		return nem_fail(p, err, rec, EP_ERR_REQUIRED, EP_NEM250_CURRENT_AT,
						"CurrentRegisterReadDateTime must not be empty.");
	rc = parse_nem_ts(at.ptr, at.len, true, &row->at,
					  "CurrentRegisterReadDateTime", detail);
	if (rc != EP_ERR_NONE)
		return nem_fail(p, err, rec, rc, EP_NEM250_CURRENT_AT, "%s", detail);
	if (qty.len == 0)
		return nem_fail(p, err, rec, EP_ERR_REQUIRED, EP_NEM250_QUANTITY,
						"Quantity must not be empty.");
	rc = parse_decimal(qty.ptr, qty.len, &row->value, detail);
	if (rc != EP_ERR_NONE)
		return nem_fail(p, err, rec, rc, EP_NEM250_QUANTITY, "%s", detail);

	row->line = rec->line;
	row->raw = rec->base;
	row->raw_len = rec->len;
	row->serial = nem_field(p, EP_NEM250_SERIAL);
	row->plant = nem_field(p, SIZE_MAX);	/* none: empty */
	row->units = nem_field(p, EP_NEM250_UOM);
	row->status = nem_field(p, EP_NEM250_CURRENT_QUALITY);
	set_day_of(&row->day, &row->at);
	row->interval_minutes = 0;
	clear_tou_members(row);
	return NEM_ROW;
}

/*
 * The end of interval minutes after the start of day: the same day, or
 * 00:00 of the next one for the last interval (month and year roll over;
 * nem_300 refuses 31/12/9999).
 */
static void
interval_end(const EpTimestamp *day, int minutes, EpTimestamp *at)
{
	*at = *day;
	if (minutes >= 1440)
	{
		minutes -= 1440;
		if (++at->day > days_in_month(at->year, at->month))
		{
			at->day = 1;
			if (++at->month > 12)
			{
				at->month = 1;
				at->year++;
			}
		}
	}
	at->hour = minutes / 60;
	at->minute = minutes % 60;
}

/*
 * The next row of the held 300 record, or false when all have gone out.
 * Value i (0-based) covers [day + i * len, day + (i + 1) * len) and is
 * labelled by its end, but belongs to the IntervalDate, even the last one.
 */
static bool
nem_emit(EpParser *p, EpRow *row)
{
	NemState   *h = &p->nem;
	static const EpText empty = {"", 0};
	int			i = h->next;

	Assert(h->hold == HOLD_EMIT);
	if (i >= h->n)
	{
		h->hold = HOLD_NONE;
		return false;
	}
	h->next++;
	row->line = h->line;
	row->raw = h->raw;
	row->raw_len = h->raw_len;
	row->meter = h->nmi;
	row->serial = h->serial;
	row->plant = empty;
	row->data_type = h->suffix;
	row->units = h->uom;
	row->value = h->values[i];
	row->status.ptr = h->quality[i];
	row->status.len = strlen(h->quality[i]);
	interval_end(&h->day, (i + 1) * h->interval_minutes, &row->at);
	row->day = h->day;
	row->interval_minutes = h->interval_minutes;
	clear_tou_members(row);
	return true;
}

/*
 * One record of an MDFF file, when no 300 is held (or the held one has
 * just been let go).  The RecordIndicator decides; a record of the other
 * NEM version is out of place rather than unknown.
 */
static NemStep
nem_record(EpParser *p, const Record *rec, EpRow *row, EpError *err)
{
	bool		nem12 = (p->format == EP_FORMAT_NEM12);
	int			rt = p->nem.record;

	if (rt != 400)
		p->nem.rejected_300 = false;
	if (!check_bytes(p, rec, err))
		return NEM_ERROR;
	switch (rt)
	{
		case 100:
			return nem_100(p, rec, err);
		case 900:
			nem_end_channel(p);
			return NEM_SKIP;
		case 200:
		case 300:
		case 400:
		case 500:
			if (!nem12)
				break;
			if (rt == 200)
				return nem_200(p, rec, err);
			if (rt == 300)
				return nem_300(p, rec, err);
			if (rt == 400)
				return nem_400(p, rec, err);
			return NEM_SKIP;
		case 250:
		case 550:
			if (nem12)
				break;
			if (rt == 250)
				return nem_250(p, rec, row, err);
			return NEM_SKIP;
		default:
			return nem_fail(p, err, rec, EP_ERR_RECORD_TYPE, 0, nem12 ?
							"A NEM12 file has records 100, 200, 300, 400, 500 and 900." :
							"A NEM13 file has records 100, 250, 550 and 900.");
	}
	return nem_fail(p, err, rec, EP_ERR_RECORD_ORDER, 0,
					"A %d record belongs in a %s file, and this is a %s file.",
					rt, nem12 ? "NEM13" : "NEM12", nem12 ? "NEM12" : "NEM13");
}

/* Where the input stands, to give a record back (see nem_step). */
static inline void
mark_input(const EpParser *p, Mark *m)
{
	m->start = p->start;
	m->line = p->line;
	m->consumed = p->consumed;
}

/* Give back what was read since the mark: it will be read again. */
static inline void
rewind_input(EpParser *p, const Mark *m)
{
	Assert(m->start <= p->start);
	p->start = m->start;
	p->line = m->line;
	p->consumed = m->consumed;
	p->discarding = false;
	p->scanning = false;
}

/* nem_look_ahead's answers */
typedef enum NemLook
{
	LOOK_MORE,					/* too few bytes to tell */
	LOOK_OTHER,					/* the next record is no 400 */
	LOOK_SCAN					/* it may be one (or a blank line): read it */
} NemLook;

/*
 * While a 300 is held: can the next record be a 400?  Most often the next
 * record is another 300 or a 200, which its first byte shows without
 * reading it (and reading it twice: a record that is not a 400 is given
 * back and read again once the held rows are out).  A 400 starts with '4'
 * (after blanks), or with a quote; a blank line with a line end or a comma.
 */
static NemLook
nem_look_ahead(const EpParser *p)
{
	const char *b = p->buf + p->start;
	size_t		avail = p->end - p->start;
	size_t		k = 0;

	if (p->scanning)
		return LOOK_SCAN;
	while (k < avail && (b[k] == ' ' || b[k] == '\t'))
		k++;
	if (k == avail)
		return p->finished ? LOOK_OTHER : LOOK_MORE;
	switch (b[k])
	{
		case '4':
		case '"':
		case ',':
		case '\r':
		case '\n':
			return LOOK_SCAN;
	}
	return LOOK_OTHER;
}

/*
 * The NEM part of the record driver, for a record just read.  While a 300
 * is held, a 400 applies to it and a blank line is skipped; any other
 * record is given back (rewound to the mark) and the held rows go out first, so
 * that the record's rows or error come after them.
 */
static NemStep
nem_step(EpParser *p, const Record *rec, EpRow *row, EpError *err)
{
	p->nem.record = nem_record_type(p);
	p->nem.nvalues = p->nem.record == 300 && p->nem.chan_valid ?
		1440 / p->nem.interval_minutes : 0;
	if (nem_is_blank(p))
		return NEM_SKIP;
	if (p->nem.hold != HOLD_OPEN)
		return nem_record(p, rec, row, err);
	if (p->nem.record != 400)
	{
		rewind_input(p, &p->nem.mark);
		p->nem.hold = HOLD_EMIT;
		return NEM_SKIP;
	}
	if (!check_bytes(p, rec, err))
		return NEM_ERROR;
	return nem_400(p, rec, err);
}

/*
 * The record driver, shaped like COPY's NextCopyFromRawFields: a short loop
 * over named steps that keeps going past records the caller never sees
 * (blank lines, the header, repeated headers), so that the caller's loop
 * stays trivial.  Checks run from the most structural (too long, encoding,
 * quoting, field count) to the per-column ones, so one record yields one
 * well-defined error.
 */
EpStatus
ep_next(EpParser *p, EpRow *row, EpError *err)
{
	for (;;)
	{
		Record		rec;
		EpStatus	st;
		bool		is_data = false;

		if (p->has_file_err)
		{
			*err = p->file_err;
			return EP_ERROR;
		}
		if (p->nem.hold == HOLD_EMIT)
		{
			if (nem_emit(p, row))
				return EP_ROW;
			continue;
		}
		if (p->discarding && !discard_line_rest(p))
			return EP_NEED_MORE;
		if (!p->bom_done && !skip_bom(p))
			return EP_NEED_MORE;
		if (p->nem.hold == HOLD_OPEN)
		{
			NemLook		look = nem_look_ahead(p);

			if (look == LOOK_MORE)
				return EP_NEED_MORE;
			if (look == LOOK_OTHER)
			{
				p->nem.hold = HOLD_EMIT;
				continue;
			}
			mark_input(p, &p->nem.mark);
		}
		if (!next_record(p, &rec, err, &st))
		{
			/* the end, or a record too broken to be a 400: held rows first */
			if (p->nem.hold == HOLD_OPEN && st != EP_NEED_MORE)
			{
				rewind_input(p, &p->nem.mark);
				p->nem.hold = HOLD_EMIT;
				continue;
			}
			return st;
		}
		if (p->format == EP_FORMAT_NONE)
		{
			if (is_blank(p))
				continue;
			if (!read_header(p, &rec, err, &is_data))
				return file_error(p, err);
			if (!is_data)
				continue;
		}
		if (is_nem(p->format))
		{
			NemStep		step = nem_step(p, &rec, row, err);

			if (step == NEM_SKIP)
				continue;
			return step == NEM_ROW ? EP_ROW : EP_ERROR;
		}
		if (is_blank(p))
			continue;
		if (!check_record(p, &rec, err))
			return EP_ERROR;
		if (is_repeated_header(p))
			continue;
		if (convert_row(p, row, err, &rec) != EP_ERR_NONE)
			return EP_ERROR;
		return EP_ROW;
	}
}
