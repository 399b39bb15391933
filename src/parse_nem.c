/*-------------------------------------------------------------------------
 *
 * parse_nem.c
 *	  NEM12 and NEM13 (AEMO Meter Data File Format): the MDFF records (see
 *	  parser_int.h for the other parts).
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
 *
 * A NEM12 300 record is converted when read but its rows go out only after
 * the 400 records that follow it, so it is copied (with the 200 record's
 * texts it needs) into memory of the parser's own.  To know that no 400
 * follows, the next record is read and, when it is none, given back: the
 * input position is rewound and the record read again once the held rows
 * are out.  Its first byte usually tells, so few records are read twice.
 *
 *-------------------------------------------------------------------------
 */
#include "parser_int.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

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
 * (*is_data).  EP_FORMAT_NONE when it does not.
 */
EpFormat
ep_nem_detect(EpParser *p, bool *is_data)
{
	int			rt = nem_record_type(p);

	*is_data = (rt == 200 || rt == 250);
	if (rt == 100 && p->nf > EP_NEM100_VERSION)
	{
		if (ep_field_is(&p->f[EP_NEM100_VERSION].str, "NEM12"))
			return EP_FORMAT_NEM12;
		if (ep_field_is(&p->f[EP_NEM100_VERSION].str, "NEM13"))
			return EP_FORMAT_NEM13;
	}
	else if (rt == 200)
		return EP_FORMAT_NEM12;
	else if (rt == 250)
		return EP_FORMAT_NEM13;
	return EP_FORMAT_NONE;
}

/*
 * A first record that is no header but an MDFF record: a 100 of another
 * version, or a record that cannot start a file.  Returns false, *err
 * untouched, for any other record.
 */
bool
ep_nem_explain(EpParser *p, const Record *rec, EpError *err)
{
	int			rt = nem_record_type(p);

	if (rt == 100)
		ep_set_error(p, err, EP_ERR_HEADER, rec->line, 0, rec->base, rec->len,
					 rec->base, rec->len,
					 "The 100 record's VersionHeader is neither NEM12 nor NEM13.");
	else if (rt == 300 || rt == 400 || rt == 500 || rt == 550 || rt == 900)
		ep_set_error(p, err, EP_ERR_HEADER, rec->line, 0, rec->base, rec->len,
					 rec->base, rec->len,
					 "A NEM12 or NEM13 file starts with a 100 record (or without one a 200 or 250 record), not a %d record.",
					 rt);
	else
		return false;
	return true;
}

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
static EpStep nem_fail(EpParser *p, EpError *err, const Record *rec,
					   EpErrorCode code, int field, const char *fmt,...)
			__attribute__((format(printf, 6, 7)));

static EpStep
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
	ep_set_error(p, err, code, rec->line, field + 1, v.ptr, v.len,
				 rec->base, rec->len, "%s", detail);
	return STEP_ERROR;
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
static EpStep
nem_100(EpParser *p, const Record *rec, EpError *err)
{
	const char *want = p->format == EP_FORMAT_NEM12 ? "NEM12" : "NEM13";
	EpText		v = nem_field(p, EP_NEM100_VERSION);

	nem_end_channel(p);
	if (!ep_field_is(&v, want))
		return nem_fail(p, err, rec, EP_ERR_RECORD_ORDER, EP_NEM100_VERSION,
						"The 100 record of a %s file must name %s.", want, want);
	return STEP_SKIP;
}

/*
 * The required fields of the NEM records, as a column table like LP's: a
 * record's columns are walked left to right, each checked not empty and
 * then converted, so that the column an error names is deterministic and
 * every record reports an empty field in the same words.  A kind says how
 * the text is converted; the name in a message is the field's MDFF name
 * (ep_nem_column_name).
 */
typedef enum NemKind
{
	NEM_TEXT,					/* text, kept as it is */
	NEM_MINUTES,				/* IntervalLength: minutes dividing a day */
	NEM_DAY,					/* IntervalDate: yyyymmdd, not 31/12/9999 */
	NEM_DATETIME,				/* yyyymmddhhmmss (or yyyymmddhhmm) */
	NEM_DECIMAL,				/* a decimal */
	NEM_FIRST_INTERVAL,			/* StartInterval: 1 .. N of the held 300 */
	NEM_LAST_INTERVAL,			/* EndInterval: StartInterval .. N */
	NEM_QUALITY					/* a 400's QualityMethod: no V */
} NemKind;

typedef struct NemColumn
{
	int			field;			/* 0-based position in the record */
	NemKind		kind;
	size_t		offset;			/* of the member it fills */
} NemColumn;

/*
 * A record's table: the fields it must have (0: its value count decides
 * instead) and its required columns.
 */
typedef struct NemRecordSpec
{
	int			record;
	int			nfields;
	const NemColumn *columns;
	int			ncolumns;
} NemRecordSpec;

/* What the columns of a 200, 300 and 400 record fill; a 250 fills its row. */
typedef struct Nem200
{
	EpText		nmi;
	EpText		suffix;
	int64_t		minutes;
} Nem200;

typedef struct Nem300
{
	EpTimestamp day;
} Nem300;

typedef struct Nem400
{
	int64_t		first;
	int64_t		last;
	EpText		quality;
} Nem400;

static const NemColumn nem200_columns[] = {
	{EP_NEM200_NMI, NEM_TEXT, offsetof(Nem200, nmi)},
	{EP_NEM200_SUFFIX, NEM_TEXT, offsetof(Nem200, suffix)},
	{EP_NEM200_INTERVAL_LENGTH, NEM_MINUTES, offsetof(Nem200, minutes)},
};

static const NemColumn nem300_columns[] = {
	{EP_NEM300_DATE, NEM_DAY, offsetof(Nem300, day)},
};

static const NemColumn nem400_columns[] = {
	{EP_NEM400_START, NEM_FIRST_INTERVAL, offsetof(Nem400, first)},
	{EP_NEM400_END, NEM_LAST_INTERVAL, offsetof(Nem400, last)},
	{EP_NEM400_QUALITY, NEM_QUALITY, offsetof(Nem400, quality)},
};

static const NemColumn nem250_columns[] = {
	{EP_NEM250_NMI, NEM_TEXT, offsetof(EpRow, meter)},
	{EP_NEM250_SUFFIX, NEM_TEXT, offsetof(EpRow, data_type)},
	{EP_NEM250_CURRENT_AT, NEM_DATETIME, offsetof(EpRow, at)},
	{EP_NEM250_QUANTITY, NEM_DECIMAL, offsetof(EpRow, value)},
};

#define NEM_COLUMNS(a) (a), (int) (sizeof(a) / sizeof((a)[0]))

static const NemRecordSpec nem200_spec = {
	200, EP_NEM200_NFIELDS, NEM_COLUMNS(nem200_columns)
};
static const NemRecordSpec nem300_spec = {
	300, 0, NEM_COLUMNS(nem300_columns)
};
static const NemRecordSpec nem400_spec = {
	400, EP_NEM400_NFIELDS, NEM_COLUMNS(nem400_columns)
};
static const NemRecordSpec nem250_spec = {
	250, EP_NEM250_NFIELDS, NEM_COLUMNS(nem250_columns)
};

/*
 * Convert the text t (not empty) of column c into its member of the
 * record's struct at base.  On error, detail says what is wrong.
 */
static EpErrorCode
nem_convert(const EpParser *p, const NemColumn *c, EpText t, void *base,
			const char *name, char *detail)
{
	void	   *dst = (char *) base + c->offset;
	int64_t		lo = 1;
	int64_t    *v = dst;
	EpErrorCode rc = EP_ERR_NONE;

	switch (c->kind)
	{
		case NEM_TEXT:
			*(EpText *) dst = t;
			break;
		case NEM_MINUTES:
			if (ep_parse_int64(t.ptr, t.len, v) != EP_ERR_NONE ||
				*v < 1 || *v > 1440 || 1440 % *v != 0)
			{
				snprintf(detail, EP_DETAIL_MAX,
						 "%s must be a number of minutes that divides a day, such as 5, 15 or 30.",
						 name);
				rc = EP_ERR_INTERVAL_LENGTH;
			}
			break;
		case NEM_DAY:
			{
				EpTimestamp *day = dst;

				rc = ep_parse_nem_ts(t.ptr, t.len, false, day, name, detail);
				if (rc == EP_ERR_NONE && day->year == 9999 &&
					day->month == 12 && day->day == 31)
				{
					snprintf(detail, EP_DETAIL_MAX,
							 "The last interval of 31/12/9999 would end after the year 9999.");
					rc = EP_ERR_DATETIME_RANGE;
				}
			}
			break;
		case NEM_DATETIME:
			rc = ep_parse_nem_ts(t.ptr, t.len, true, dst, name, detail);
			break;
		case NEM_DECIMAL:
			rc = ep_parse_decimal(t.ptr, t.len, dst, detail);
			break;
		case NEM_LAST_INTERVAL:
		case NEM_FIRST_INTERVAL:
			/* the last interval may not come before the first */
			if (c->kind == NEM_LAST_INTERVAL)
				lo = ((const Nem400 *) base)->first;
			rc = ep_parse_int64(t.ptr, t.len, v);
			if (rc != EP_ERR_NONE)
				snprintf(detail, EP_DETAIL_MAX, "%s must be a whole number.", name);
			else if (*v < lo || *v > p->nem.n)
			{
				snprintf(detail, EP_DETAIL_MAX,
						 "%s must be within %lld and %d, the intervals of its 300 record.",
						 name, (long long) lo, p->nem.n);
				rc = EP_ERR_INTERVAL_RANGE;
			}
			break;
		case NEM_QUALITY:
			if (!is_quality(t, false))
			{
				snprintf(detail, EP_DETAIL_MAX,
						 "A 400 record's QualityMethod is a flag A, E, F, N or S and an optional two-digit method.");
				rc = EP_ERR_QUALITY;
			}
			else
				*(EpText *) dst = t;
			break;
	}
	return rc;
}

/*
 * Check and convert the required columns of the current record into the
 * struct at base, after its field count.  Returns false with *err filled
 * for the first that fails.
 */
static bool
nem_columns(EpParser *p, const Record *rec, EpError *err,
			const NemRecordSpec *spec, void *base)
{
	char		detail[EP_DETAIL_MAX];

	if (spec->nfields > 0 && p->nf < (size_t) spec->nfields)
	{
		nem_fail(p, err, rec, EP_ERR_COLUMNS, -1,
				 "A %d record has at least %d fields, this one %zu.",
				 spec->record, spec->nfields, p->nf);
		return false;
	}
	for (int k = 0; k < spec->ncolumns; k++)
	{
		const NemColumn *c = &spec->columns[k];
		const char *name = ep_nem_column_name(spec->record, c->field + 1, 0);
		EpText		t = nem_field(p, (size_t) c->field);
		EpErrorCode rc;

		Assert(name != NULL);
		if (t.len == 0)
		{
			nem_fail(p, err, rec, EP_ERR_REQUIRED, c->field,
					 "%s must not be empty.", name);
			return false;
		}
		rc = nem_convert(p, c, t, base, name, detail);
		if (rc != EP_ERR_NONE)
		{
			nem_fail(p, err, rec, rc, c->field, "%s", detail);
			return false;
		}
	}
	return true;
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
static EpStep
nem_200(EpParser *p, const Record *rec, EpError *err)
{
	NemState   *h = &p->nem;
	Nem200		c;
	EpText		t[4];
	size_t		total = 0;
	size_t		o = 0;

	h->chan_valid = false;
	h->chan_rejected = true;
	if (!nem_columns(p, rec, err, &nem200_spec, &c))
		return STEP_ERROR;
	t[0] = c.nmi;
	t[1] = nem_field(p, EP_NEM200_SERIAL);
	t[2] = c.suffix;
	t[3] = nem_field(p, EP_NEM200_UOM);

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
	h->interval_minutes = (int) c.minutes;
	h->chan_valid = true;
	h->chan_rejected = false;
	return STEP_SKIP;
}

/*
 * A 300 record: one day of the current channel.  Everything is checked and
 * converted now, so that a bad record is one error at its own line; then
 * it is held (HOLD_OPEN) for the 400 records that may follow.  Its raw text
 * is copied: the input buffer may move before its rows go out.
 */
static EpStep
nem_300(EpParser *p, const Record *rec, EpError *err)
{
	NemState   *h = &p->nem;
	int			n;
	EpText		q;
	Nem300		c;
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

	if (!nem_columns(p, rec, err, &nem300_spec, &c))
		return STEP_ERROR;

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
		rc = ep_parse_decimal(v.ptr, v.len, d, detail);
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
	h->day = c.day;
	h->n = n;
	h->next = 0;
	h->hold = HOLD_OPEN;
	h->rejected_300 = false;
	return STEP_SKIP;
}

/*
 * A 400 record: the QualityMethod of intervals StartInterval..EndInterval
 * (1-based, inclusive) of the 300 record held.  A bad 400 is an error of
 * its own and leaves the 300 as it was; the 400s after it still apply.
 */
static EpStep
nem_400(EpParser *p, const Record *rec, EpError *err)
{
	NemState   *h = &p->nem;
	Nem400		c;

	if (h->hold != HOLD_OPEN)
		return nem_fail(p, err, rec, EP_ERR_RECORD_ORDER, 0,
						h->rejected_300 ?
						"The 300 record before this 400 record was rejected." :
						"A 400 record must follow a 300 record or another 400 record.");
	if (!nem_columns(p, rec, err, &nem400_spec, &c))
		return STEP_ERROR;
	for (int64_t i = c.first - 1; i < c.last; i++)
	{
		memcpy(h->quality[i], c.quality.ptr, c.quality.len);
		h->quality[i][c.quality.len] = '\0';
	}
	return STEP_SKIP;
}

/*
 * A 250 record: one register read, one row.  Its texts point into the
 * input, as an LP row's do.
 */
static EpStep
nem_250(EpParser *p, const Record *rec, EpRow *row, EpError *err)
{
	if (!nem_columns(p, rec, err, &nem250_spec, row))
		return STEP_ERROR;
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
	return STEP_ROW;
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
		if (++at->day > ep_days_in_month(at->year, at->month))
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
static EpStep
nem_record(EpParser *p, const Record *rec, EpRow *row, EpError *err)
{
	bool		nem12 = (p->format == EP_FORMAT_NEM12);
	int			rt = p->nem.record;

	if (rt != 400)
		p->nem.rejected_300 = false;
	if (!ep_check_bytes(p, rec, err))
		return STEP_ERROR;
	switch (rt)
	{
		case 100:
			return nem_100(p, rec, err);
		case 900:
			nem_end_channel(p);
			return STEP_SKIP;
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
			return STEP_SKIP;
		case 250:
		case 550:
			if (nem12)
				break;
			if (rt == 250)
				return nem_250(p, rec, row, err);
			return STEP_SKIP;
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
 * One record of an MDFF file, just read (the routine's record).  While a
 * 300 is held, a 400 applies to it and a blank line is skipped; any other
 * record is given back (rewound to the mark) and the held rows go out
 * first, so that the record's rows or error come after them.
 */
static EpStep
nem_step(EpParser *p, const Record *rec, EpRow *row, EpError *err)
{
	p->nem.record = nem_record_type(p);
	p->nem.nvalues = p->nem.record == 300 && p->nem.chan_valid ?
		1440 / p->nem.interval_minutes : 0;
	if (nem_is_blank(p))
		return STEP_SKIP;
	if (p->nem.hold != HOLD_OPEN)
		return nem_record(p, rec, row, err);
	if (p->nem.record != 400)
	{
		rewind_input(p, &p->nem.mark);
		p->nem.hold = HOLD_EMIT;
		return STEP_SKIP;
	}
	if (!ep_check_bytes(p, rec, err))
		return STEP_ERROR;
	return nem_400(p, rec, err);
}

/*
 * The record loop of an MDFF file.  While a 300 is held, the next record
 * is looked at before it is read (nem_look_ahead) and the input marked, so
 * that a record that is no 400 can be given back; when the input ends, or
 * a record is too broken to be a 400, the held rows go out first.
 */
static EpStatus
nem_next(EpParser *p, EpRow *row, EpError *err)
{
	for (;;)
	{
		Record		rec;
		EpStatus	st;
		EpStep		step;

		if (p->nem.hold == HOLD_EMIT)
		{
			if (nem_emit(p, row))
				return EP_ROW;
			continue;
		}
		if (p->discarding && !ep_discard_line_rest(p))
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

		/*
		 * No record type is known until the record is read: an error of the
		 * scan itself (too long, a quote left open) names no column but the
		 * RecordIndicator.
		 */
		p->nem.record = 0;
		if (!ep_next_record(p, &rec, err, &st))
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
		step = nem_step(p, &rec, row, err);
		if (step != STEP_SKIP)
			return step == STEP_ROW ? EP_ROW : EP_ERROR;
	}
}

/*
 * The names ep_column_name gives: NEM13's are the 250 record's; NEM12's
 * depend on the record, so only a 300's first two are named.
 */
static const char *
nem_column_name(EpFormat format, int column)
{
	if (format == EP_FORMAT_NEM13)
		return ep_nem_column_name(250, column, 0);
	return column <= EP_NEM300_DATE + 1 ?
		ep_nem_column_name(300, column, 0) : NULL;
}

/* An error names its column as the record at hand's specification does. */
static const char *
nem_error_column_name(const EpParser *p, int column)
{
	return ep_nem_column_name(p->nem.record, column, p->nem.nvalues);
}

/* The copies a NEM file keeps: the 200's texts and the held 300. */
static void
nem_end(EpParser *p)
{
	if (p->nem.chan_buf)
		p->alloc.free(p->nem.chan_buf, p->alloc.arg);
	if (p->nem.raw)
		p->alloc.free(p->nem.raw, p->alloc.arg);
	if (p->nem.values)
		p->alloc.free(p->nem.values, p->alloc.arg);
}

/*
 * The routine of NEM12 and NEM13: the two versions share their code, which
 * asks the format only where they differ (which records belong, the
 * version a 100 must name, the names of columns).
 */
const EpRoutine ep_nem_routine = {
	.start = NULL,
	.next = nem_next,
	.record = nem_step,
	.column_name = nem_column_name,
	.error_column_name = nem_error_column_name,
	.end = nem_end
};
