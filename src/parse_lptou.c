/*-------------------------------------------------------------------------
 *
 * parse_lptou.c
 *	  LP (load profile) and TOU (time of use) exports: their headers, and
 *	  the column table that turns a record into a row (see parser_int.h
 *	  for the other parts).
 *
 * The two formats are one CSV shape, a header naming the columns and then
 * one reading per record, and share their first columns, so they share
 * this file and one table: an LP record walks its first rows, a TOU record
 * all of them.
 *
 *-------------------------------------------------------------------------
 */
#include "parser_int.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* The headers, as the exports write them (compared case-insensitively). */
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

/*
 * Index of the first field that differs from names[], or -1 when the
 * record is exactly that header.
 */
static int
header_mismatch(const EpParser *p, const char *const *names, size_t nnames)
{
	size_t		k;

	if (p->nf != nnames)
		return 0;
	for (k = 0; k < nnames; k++)
		if (!ep_field_is(&p->f[k].str, names[k]))
			return (int) k;
	return -1;
}

/*
 * The two headers, in the order they are tried, and the words an error
 * names the file by.
 */
typedef struct LpTouHeader
{
	EpFormat	format;
	const char *const *names;
	size_t		nnames;
	const char *file;
} LpTouHeader;

static const LpTouHeader headers[] = {
	{EP_FORMAT_LP, lp_names, EP_LP_NFIELDS, "an LP file"},
	{EP_FORMAT_TOU, tou_names, EP_TOU_NFIELDS, "a TOU file"},
};

#define NHEADERS	(sizeof(headers) / sizeof(headers[0]))

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
			rc = ep_parse_ts(s, n, dst, detail);
			if (rc == EP_ERR_NONE && ((EpTimestamp *) dst)->is_null)
			{
				snprintf(detail, EP_DETAIL_MAX,
						 "A reading needs a time, but Date/Time is the OLE zero date that means none.");
				rc = EP_ERR_REQUIRED;
			}
			break;
		case COL_VALUE:
			rc = ep_parse_decimal(s, n, dst, detail);
			break;
		case COL_DECIMAL:
			if (n > 0)
				rc = ep_parse_decimal(s, n, dst, detail);
			break;
		case COL_TIME:
			rc = ep_parse_ts(s, n, dst, detail);
			break;
		case COL_BOOL:
			b = ep_parse_bool(s, n);
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
			rc = ep_parse_int64(s, n, dst);
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
			ep_set_error(p, err, rc, rec->line, columns[k].field + 1, val, vlen,
						 rec->base, rec->len, "%s", detail);
			return rc;
		}
	}
	set_day_of(&row->day, &row->at);
	return EP_ERR_NONE;
}

/*
 * The structural checks of an LP or TOU record: ep_check_bytes, then the
 * format's field count.  Returns false with *err filled.
 */
static bool
check_record(EpParser *p, const Record *rec, EpError *err)
{
	size_t		nfmt;

	if (!ep_check_bytes(p, rec, err))
		return false;
	nfmt = (p->format == EP_FORMAT_LP) ? EP_LP_NFIELDS : EP_TOU_NFIELDS;
	if (p->nf != nfmt)
	{
		ep_set_error(p, err, EP_ERR_COLUMNS, rec->line, 0, rec->base, rec->len,
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
		ep_field_is(&p->f[0].str, lp_names[0]) &&
		header_mismatch(p, tou ? tou_names : lp_names,
						tou ? EP_TOU_NFIELDS : EP_LP_NFIELDS) < 0;
}

/*
 * The first record is an LP or a TOU header: which, or EP_FORMAT_NONE.
 * A record with a quote out of place is no header, and is not asked.
 */
EpFormat
ep_lptou_detect(EpParser *p)
{
	for (size_t k = 0; k < NHEADERS; k++)
		if (header_mismatch(p, headers[k].names, headers[k].nnames) < 0)
			return headers[k].format;
	return EP_FORMAT_NONE;
}

/*
 * A first record that is no header but has the field count of one: the
 * error names the first field that differs, the likeliest typo.  Returns
 * false, *err untouched, for any other record.
 */
bool
ep_lptou_explain(EpParser *p, const Record *rec, EpError *err)
{
	for (size_t k = 0; k < NHEADERS; k++)
	{
		const LpTouHeader *h = &headers[k];
		int			mm;

		if (p->nf != h->nnames)
			continue;
		mm = header_mismatch(p, h->names, h->nnames);
		ep_set_error(p, err, EP_ERR_HEADER, rec->line, 0, rec->base, rec->len,
					 rec->base, rec->len,
					 "Header field %d should be \"%s\" in %s.",
					 mm + 1, h->names[mm], h->file);
		return true;
	}
	return false;
}

/*
 * An LP or TOU record needs no more than EP_MAX_FIELDS fields: remembering
 * fewer keeps the fields of a record in a few cache lines.
 */
static void
lptou_start(EpParser *p)
{
	p->max_fields = EP_MAX_FIELDS;
}

/*
 * One record: blank lines and repeated headers are skipped; checks run from
 * the most structural (encoding, quoting, field count) to the per-column
 * ones, so one record yields one well-defined error.
 */
static inline EpStep
lptou_record(EpParser *p, const Record *rec, EpRow *row, EpError *err)
{
	if (ep_is_blank(p))
		return STEP_SKIP;
	if (!check_record(p, rec, err))
		return STEP_ERROR;
	if (is_repeated_header(p))
		return STEP_SKIP;
	if (convert_row(p, row, err, rec) != EP_ERR_NONE)
		return STEP_ERROR;
	return STEP_ROW;
}

/*
 * The record loop of LP and TOU, shaped like COPY's NextCopyFrom: it keeps
 * going past the records the caller never sees, so that the caller's loop
 * stays trivial.
 */
static EP_HOT EpStatus
lptou_next(EpParser *p, EpRow *row, EpError *err)
{
	for (;;)
	{
		Record		rec;
		EpStatus	st;
		EpStep		step;

		if (p->discarding && !ep_discard_line_rest(p))
			return EP_NEED_MORE;
		if (!ep_next_record(p, &rec, err, &st))
			return st;
		step = lptou_record(p, &rec, row, err);
		if (step != STEP_SKIP)
			return step == STEP_ROW ? EP_ROW : EP_ERROR;
	}
}

/* The header names of the columns: an error names its column by them. */
static const char *
lptou_column_name(EpFormat format, int column)
{
	const LpTouHeader *h = &headers[format == EP_FORMAT_TOU];

	Assert(h->format == format);
	return column >= 1 && (size_t) column <= h->nnames ?
		h->names[column - 1] : NULL;
}

static const char *
lptou_error_column_name(const EpParser *p, int column)
{
	return lptou_column_name(p->format, column);
}

/*
 * The routine of LP and TOU.  Their rows point into the input: no memory
 * of their own to free.
 */
const EpRoutine ep_lptou_routine = {
	.start = lptou_start,
	.next = lptou_next,
	.record = lptou_record,
	.column_name = lptou_column_name,
	.error_column_name = lptou_error_column_name,
	.end = NULL
};
