/*-------------------------------------------------------------------------
 *
 * billing.c
 *	  Billing figures in local time: energy_tou(), energy per time-of-use
 *	  period, and energy_demand(), maximum demand per period, from the
 *	  stored blocks; and the check of the zones of files and tariffs.
 *
 * A reading's time is a wall-clock time in its file's zone, and a tariff's
 * windows are wall-clock times in the tariff's zone; both zones are names
 * PostgreSQL's own time zone code (pg_tzset) resolves, so that every rule of
 * summer time comes from the tz database and none is written here.
 *
 * One trap is refused outright.  PostgreSQL reads a zone written as an
 * offset ('+10', '+10:00', 'UTC+10') as a POSIX zone specification, whose
 * sign is the opposite of ISO 8601's: '+10' is ten hours WEST of UTC.  A
 * user who writes NEM time that way would get every period twenty hours
 * out, silently.  So a zone must be a name ('Australia/Brisbane', or
 * 'Etc/GMT-10' for a fixed UTC+10, whose sign the tz database documents):
 * energy.file_time_zone's check hook and the tariff table's CHECK both ask
 * energy_zone_acceptable().
 *
 * The flow of a call (billing_run), for a billing run over a fleet:
 *
 *	tariff_load()     the tariff, its windows and holidays; each local day of
 *	                  the range cut once into pieces [lo, hi) of wall-clock
 *	                  time, each with its period
 *	meters            the meters with readings stored on the days the range
 *	                  can reach, in code order, 256 at a time (SPI cursor)
 *	blocks            a batch's blocks of those days through the reading
 *	                  index, their segments' channels and files once each
 *	billing_block()   each block decoded once (codec.c); each reading that
 *	                  counts placed by the start of its interval: its file's
 *	                  wall clock to an instant, the instant to the tariff's
 *	                  wall clock (ZoneSpan: one addition, from PostgreSQL's
 *	                  transition table), then its local day's pieces; an
 *	                  exact sum per period (energy_tou) or per window
 *	                  (energy_demand)
 *	billing_flush()   a meter code and serial done: windows placed, rows
 *	                  written to the result, memory reset
 *
 * No row per reading is formed, and memory holds one batch of meters; the
 * result rows go to the tuplestore, which spills to disk past work_mem.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgtime.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "energy.h"

PG_FUNCTION_INFO_V1(energy_time_zone_check);
PG_FUNCTION_INFO_V1(energy_tou_date);
PG_FUNCTION_INFO_V1(energy_tou_text);
PG_FUNCTION_INFO_V1(energy_demand_date);
PG_FUNCTION_INFO_V1(energy_demand_text);

/*
 * Whether zone names a time zone PostgreSQL knows by name.  On false,
 * *detail and *hint say why (constant strings).  An offset written as text
 * is refused (see the file's header): it starts with a sign or a digit, or
 * is UTC or GMT followed by a sign.
 */
bool
energy_zone_acceptable(const char *zone, const char **detail, const char **hint)
{
	const char *p = zone;

	*detail = NULL;
	*hint = NULL;
	if (pg_strncasecmp(p, "UTC", 3) == 0 || pg_strncasecmp(p, "GMT", 3) == 0)
		p += 3;
	if (*p == '+' || *p == '-' || (*p >= '0' && *p <= '9'))
	{
		*detail = "PostgreSQL reads an offset written as text as a POSIX zone, whose sign is reversed: \"+10\" is ten hours west of UTC.";
		*hint = "Name the zone, as Australia/Brisbane, or Etc/GMT-10 for a fixed ten hours east of UTC.";
		return false;
	}
	if (*zone == '\0' || pg_tzset(zone) == NULL)
	{
		*detail = "The zone must be a name of the tz database, as pg_timezone_names lists them.";
		*hint = "Write it as Australia/Sydney or Australia/Brisbane.";
		return false;
	}
	return true;
}

/*
 * energy_time_zone_check(zone text) RETURNS boolean: true for a zone
 * energy can use, else an error naming it (22023), so that the CHECK of
 * energy_tariff refuses a bad zone with the reason, not only the
 * constraint's name.  NULL gives NULL (the column's NOT NULL says the rest).
 */
Datum
energy_time_zone_check(PG_FUNCTION_ARGS)
{
	char	   *zone;
	const char *detail;
	const char *hint;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	zone = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (!energy_zone_acceptable(zone, &detail, &hint))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid time zone \"%s\"", zone),
				 errdetail("%s", detail),
				 errhint("%s", hint)));
	PG_RETURN_BOOL(true);
}


/* ---------------------------------------------------------------------
 * Exact sums in canonical units
 * ---------------------------------------------------------------------
 */

/*
 * A canonical value is digits x 10^-scale (as the file wrote it) times the
 * unit's factor, itself a decimal (0.001 is 1 x 10^-3): an integer at
 * scale scale + factor scale.  Sums are kept as 128-bit integers at
 * SUM_SCALE places, which holds any value the codec keeps exactly (at most
 * 18 places) times any factor of up to 6 places; a sum past 10^14 in a
 * canonical unit, or more places, is an error, never a rounded figure.
 */
#define SUM_SCALE 24

typedef struct Factor
{
	int64		digits;
	int			scale;
	/* digits x 10^(SUM_SCALE - scale - value's scale), per value scale */
	int128		mult[EC_MAX_SCALE + 1];
	bool		mult_ok[EC_MAX_SCALE + 1];
} Factor;

static const int128 *
pow10_128(void)
{
	static int128 table[SUM_SCALE + 1];

	if (table[0] == 0)
	{
		table[0] = 1;
		for (int i = 1; i <= SUM_SCALE; i++)
			table[i] = table[i - 1] * 10;
	}
	return table;
}

static void
sum_overflow(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("billing sum out of range"),
			 errdetail("A sum in a canonical unit is kept exactly to %d places, up to about 10^14.", SUM_SCALE)));
}

/* The value as an integer at SUM_SCALE places of the canonical unit. */
static inline int128
canonical_fixed(const EcValue *value, const Factor *f)
{
	EcValue		v = *value;
	int128		x;
	int			shift;

	if (!v.exact)
	{
		/* a double the file gave with an exponent: its shortest decimal */
		v = ec_value_from_double(v.value);
		if (!v.exact)
			sum_overflow();
	}
	if (v.scale >= 0 && v.scale <= EC_MAX_SCALE && f->mult_ok[v.scale])
	{
		if (__builtin_mul_overflow((int128) v.digits, f->mult[v.scale], &x))
			sum_overflow();
		return x;
	}
	shift = SUM_SCALE - v.scale - f->scale;
	if (shift < 0)
		sum_overflow();
	if (__builtin_mul_overflow((int128) v.digits, (int128) f->digits, &x) ||
		__builtin_mul_overflow(x, pow10_128()[shift], &x))
		sum_overflow();
	return x;
}

/* The factor's multiplier for each scale a value may have. */
static void
factor_prepare(Factor *f)
{
	for (int s = 0; s <= EC_MAX_SCALE; s++)
	{
		int			shift = SUM_SCALE - s - f->scale;

		f->mult_ok[s] = shift >= 0 &&
			!__builtin_mul_overflow((int128) f->digits, pow10_128()[shift], &f->mult[s]);
	}
}

static inline void
fixed_add(int128 *acc, int128 x)
{
	if (__builtin_add_overflow(*acc, x, acc))
		sum_overflow();
}

/* An integer at SUM_SCALE places as a numeric, without trailing zeros. */
static Datum
fixed_numeric(int128 v)
{
	char		digits[64];
	char		out[72];
	int			n = 0;
	int			pos = 0;
	bool		neg = v < 0;
	uint128		u = neg ? -(uint128) v : (uint128) v;

	do
	{
		digits[n++] = '0' + (int) (u % 10);
		u /= 10;
	} while (u != 0);
	while (n <= SUM_SCALE)
		digits[n++] = '0';
	if (neg)
		out[pos++] = '-';
	for (int i = n - 1; i >= 0; i--)
	{
		out[pos++] = digits[i];
		if (i == SUM_SCALE)
			out[pos++] = '.';
	}
	out[pos] = '\0';
	return DirectFunctionCall1(numeric_trim_scale,
							   DirectFunctionCall3(numeric_in, CStringGetDatum(out),
												   ObjectIdGetDatum(InvalidOid),
												   Int32GetDatum(-1)));
}

/* ---------------------------------------------------------------------
 * A tariff's periods, per local day
 * ---------------------------------------------------------------------
 */

/* [lo, hi) of a local day's wall-clock time, in one period (-1: none). */
typedef struct TariffPiece
{
	TimeADT		lo;
	TimeADT		hi;
	int			period;
} TariffPiece;

typedef struct TariffWindow
{
	int			period;
	bool		all_days;
	bool		day[8];			/* 0 holiday, 1-7 ISO weekdays */
	bool		all_months;
	bool		month[13];
	TimeADT		start;
	TimeADT		end;
} TariffWindow;

typedef struct Tariff
{
	char	   *name;
	pg_tz	   *tz;
	int			nperiods;
	char	  **period;			/* names, in C order; index nperiods is NULL */
	DateADT		from;
	int			ndays;
	int		   *first;			/* ndays + 1 offsets into pieces */
	TariffPiece	   *pieces;
} Tariff;

/* The integers of an int[] (NULL elements are refused by the table). */
static int
int_array(Datum d, int **out)
{
	ArrayType  *a = DatumGetArrayTypeP(d);
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	deconstruct_array(a, INT4OID, 4, true, TYPALIGN_INT, &elems, &nulls, &n);
	*out = palloc(sizeof(int) * Max(n, 1));
	for (int i = 0; i < n; i++)
		(*out)[i] = nulls[i] ? -1 : DatumGetInt32(elems[i]);
	return n;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

static int
cmp_time(const void *a, const void *b)
{
	TimeADT		x = *(const TimeADT *) a;
	TimeADT		y = *(const TimeADT *) b;

	return x < y ? -1 : x > y;
}

/*
 * Read the tariff (42704 when there is none) and cut each local day of
 * from..to into pieces with their periods, once: each matching window is
 * one or two ranges of the day's wall-clock time (one wrapping past
 * midnight is two), the day is cut at every range's ends, and each piece
 * gets the period of the first range, in priority order, covering it.
 */
static Tariff *
tariff_load(const EnergySchema *schema, text *name, DateADT from, DateADT to)
{
	Tariff	   *t = palloc0(sizeof(Tariff));
	Oid			types[3] = {TEXTOID, DATEOID, DATEOID};
	Datum		args[3];
	bool		isnull;
	char	   *calendar = NULL;
	TariffWindow	   *win;
	int			nwin;
	bool	   *holiday;
	int			npieces = 0;
	int			cap;

	t->name = text_to_cstring(name);
	args[0] = PointerGetDatum(name);
	energy_spi_exec(psprintf("SELECT t.time_zone, t.calendar FROM %s.energy_tariff t "
							 "WHERE t.tariff OPERATOR(pg_catalog.=) $1", schema->nspname),
					1, types, args, NULL, true, SPI_OK_SELECT, "read the tariff");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("tariff \"%s\" does not exist", t->name),
				 errhint("energy_tariff lists the tariffs.")));
	{
		char	   *zone = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

		t->tz = pg_tzset(zone);
		if (t->tz == NULL)
			elog(ERROR, "time zone \"%s\" of tariff \"%s\" not found", zone, t->name);
		calendar = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	}

	/* the windows, in priority order, and their periods' names */
	energy_spi_exec(psprintf("SELECT w.period, w.days, w.months, w.start_time, w.end_time "
							 "FROM %s.energy_tariff_window w WHERE w.tariff OPERATOR(pg_catalog.=) $1 "
							 "ORDER BY w.priority", schema->nspname),
					1, types, args, NULL, true, SPI_OK_SELECT, "read the tariff's windows");
	nwin = (int) SPI_processed;
	win = palloc0(sizeof(TariffWindow) * Max(nwin, 1));
	t->period = palloc(sizeof(char *) * Max(nwin, 1));
	for (int i = 0; i < nwin; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		char	   *period = SPI_getvalue(tup, desc, 1);
		Datum		d;
		int		   *v;
		int			n;

		t->period[i] = period;
		win[i].period = i;		/* renumbered below */
		d = SPI_getbinval(tup, desc, 2, &isnull);
		win[i].all_days = isnull;
		if (!isnull)
		{
			n = int_array(d, &v);
			for (int k = 0; k < n; k++)
				if (v[k] >= 0 && v[k] <= 7)
					win[i].day[v[k]] = true;
		}
		d = SPI_getbinval(tup, desc, 3, &isnull);
		win[i].all_months = isnull;
		if (!isnull)
		{
			n = int_array(d, &v);
			for (int k = 0; k < n; k++)
				if (v[k] >= 1 && v[k] <= 12)
					win[i].month[v[k]] = true;
		}
		win[i].start = DatumGetTimeADT(SPI_getbinval(tup, desc, 4, &isnull));
		win[i].end = DatumGetTimeADT(SPI_getbinval(tup, desc, 5, &isnull));
	}
	/* distinct names in C order; each window points at its name */
	{
		char	  **names = palloc(sizeof(char *) * Max(nwin, 1));
		int			n = 0;

		memcpy(names, t->period, sizeof(char *) * nwin);
		qsort(names, nwin, sizeof(char *), cmp_str);
		for (int i = 0; i < nwin; i++)
			if (n == 0 || strcmp(names[n - 1], names[i]) != 0)
				names[n++] = names[i];
		for (int i = 0; i < nwin; i++)
		{
			char	  **hit = bsearch(&t->period[i], names, n, sizeof(char *), cmp_str);

			win[i].period = (int) (hit - names);
		}
		t->period = names;
		t->nperiods = n;
	}

	/* the holidays of the range */
	t->from = from;
	t->ndays = (int) (to - from + 1);
	holiday = palloc0(sizeof(bool) * t->ndays);
	if (calendar != NULL)
	{
		args[0] = CStringGetTextDatum(calendar);
		args[1] = DateADTGetDatum(from);
		args[2] = DateADTGetDatum(to);
		energy_spi_exec(psprintf("SELECT h.day FROM %s.energy_holiday h "
								 "WHERE h.calendar OPERATOR(pg_catalog.=) $1 "
								 "AND h.day OPERATOR(pg_catalog.>=) $2 AND h.day OPERATOR(pg_catalog.<=) $3",
								 schema->nspname),
						3, types, args, NULL, true, SPI_OK_SELECT, "read the tariff's holidays");
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			DateADT		day = DatumGetDateADT(SPI_getbinval(SPI_tuptable->vals[i],
															SPI_tuptable->tupdesc, 1, &isnull));

			holiday[day - from] = true;
		}
	}

	/* each day's pieces */
	cap = t->ndays * 4 + 16;
	t->pieces = palloc(sizeof(TariffPiece) * cap);
	t->first = palloc(sizeof(int) * (t->ndays + 1));
	for (int d = 0; d < t->ndays; d++)
	{
		int			jd = from + d + POSTGRES_EPOCH_JDATE;
		int			wday = j2day(jd);
		int			year,
					month,
					mday;
		int			dow;
		TimeADT    *cut = palloc(sizeof(TimeADT) * (nwin * 4 + 2));
		TariffPiece	   *range = palloc(sizeof(TariffPiece) * (nwin * 2 + 1));
		int			ncut = 0,
					nrange = 0;

		j2date(jd, &year, &month, &mday);
		dow = holiday[d] ? 0 : (wday == 0 ? 7 : wday);
		for (int i = 0; i < nwin; i++)
		{
			TariffWindow	   *w = &win[i];

			if (!(w->all_days || w->day[dow]) || !(w->all_months || w->month[month]))
				continue;
			if (w->end == 0 || w->end < w->start)
				range[nrange++] = (TariffPiece) {w->start, USECS_PER_DAY, w->period};
			else
				range[nrange++] = (TariffPiece) {w->start, w->end, w->period};
			if (w->end != 0 && w->end < w->start)
				range[nrange++] = (TariffPiece) {0, w->end, w->period};
		}
		cut[ncut++] = 0;
		cut[ncut++] = USECS_PER_DAY;
		for (int i = 0; i < nrange; i++)
		{
			cut[ncut++] = range[i].lo;
			cut[ncut++] = range[i].hi;
		}
		qsort(cut, ncut, sizeof(TimeADT), cmp_time);
		t->first[d] = npieces;
		for (int i = 0; i + 1 < ncut; i++)
		{
			int			period = -1;

			if (cut[i] == cut[i + 1])
				continue;
			for (int k = 0; k < nrange; k++)
				if (range[k].lo <= cut[i] && range[k].hi >= cut[i + 1])
				{
					period = range[k].period;
					break;
				}
			/* adjacent pieces of one period are one */
			if (npieces > t->first[d] && t->pieces[npieces - 1].period == period)
			{
				t->pieces[npieces - 1].hi = cut[i + 1];
				continue;
			}
			if (npieces == cap)
			{
				cap *= 2;
				t->pieces = repalloc(t->pieces, sizeof(TariffPiece) * cap);
			}
			t->pieces[npieces++] = (TariffPiece) {cut[i], cut[i + 1], period};
		}
		pfree(cut);
		pfree(range);
	}
	t->first[t->ndays] = npieces;
	return t;
}

/*
 * The period of a local wall-clock time in the tariff's zone: nperiods for
 * none, -1 outside the range.
 */
static inline int
tariff_period(const Tariff *t, Timestamp local)
{
	int64		day = local / USECS_PER_DAY;
	TimeADT		tod;
	int			d;

	if (local < 0 && local % USECS_PER_DAY != 0)
		day--;
	d = (int) (day - t->from);
	if (day < t->from || d >= t->ndays)
		return -1;
	tod = local - day * USECS_PER_DAY;
	for (int i = t->first[d]; i < t->first[d + 1]; i++)
		if (tod < t->pieces[i].hi)
			return t->pieces[i].period < 0 ? t->nperiods : t->pieces[i].period;
	return t->nperiods;			/* not reached: the pieces tile the day */
}

/* ---------------------------------------------------------------------
 * Zones: a wall-clock time's instant, an instant's wall-clock time
 * ---------------------------------------------------------------------
 */

/* The instant of a wall-clock time in zone tz, as timestamp AT TIME ZONE. */
static TimestampTz
wall_to_instant(Timestamp wall, pg_tz *tz)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			off;

	if (timestamp2tm(wall, NULL, &tm, &fsec, NULL, NULL) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	off = DetermineTimeZoneOffset(&tm, tz);
	return wall + (int64) off * USECS_PER_SEC;
}

/* The wall-clock time of an instant in zone tz, as timestamptz AT TIME ZONE. */
static Timestamp
instant_to_wall(TimestampTz t, pg_tz *tz)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			off;
	const char *tzn;

	if (timestamp2tm(t, &off, &tm, &fsec, &tzn, tz) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	return t - (int64) off * USECS_PER_SEC;
}

/*
 * Where a zone's offset from UTC is known to hold: [lo, hi) in instants,
 * off seconds east of UTC, from PostgreSQL's own transition table
 * (pg_next_dst_boundary), so that the conversion of most readings is one
 * addition.  A wall-clock time is converted through it only a day or more
 * away from the span's ends, where no transition can make it ambiguous;
 * elsewhere as timestamp AT TIME ZONE converts it.
 */
typedef struct ZoneSpan
{
	pg_tz	   *tz;
	bool		valid;
	TimestampTz lo;
	TimestampTz hi;
	int64		off;			/* microseconds east of UTC */
} ZoneSpan;

#define EPOCH_SHIFT ((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY)

static void
span_fill(ZoneSpan *z, TimestampTz t)
{
	pg_time_t	at = (pg_time_t) (t / USECS_PER_SEC - (t % USECS_PER_SEC < 0) + EPOCH_SHIFT);
	pg_time_t	boundary;
	long		before_off,
				after_off;
	int			before_dst,
				after_dst;
	int			rc;

	rc = pg_next_dst_boundary(&at, &before_off, &before_dst, &boundary,
							  &after_off, &after_dst, z->tz);
	if (rc < 0)
	{
		z->valid = false;
		return;
	}
	z->valid = true;
	z->lo = (TimestampTz) (at - EPOCH_SHIFT) * USECS_PER_SEC;
	z->hi = rc == 0 ? PG_INT64_MAX : (TimestampTz) (boundary - EPOCH_SHIFT) * USECS_PER_SEC;
	z->off = (int64) before_off * USECS_PER_SEC;
}

/* An instant's wall-clock time in the span's zone. */
static inline Timestamp
span_wall(ZoneSpan *z, TimestampTz t)
{
	if (!z->valid || t < z->lo || t >= z->hi)
	{
		/* from 40 days before, when no transition lies between */
		span_fill(z, t - 40 * USECS_PER_DAY);
		if (z->valid && (t < z->lo || t >= z->hi))
			span_fill(z, t);
		if (!z->valid)
			return instant_to_wall(t, z->tz);
	}
	return t + z->off;
}

/* A wall-clock time's instant in the span's zone. */
static inline TimestampTz
span_instant(ZoneSpan *z, Timestamp wall)
{
	TimestampTz t;

	if (z->valid)
	{
		t = wall - z->off;
		if (t - USECS_PER_DAY >= z->lo && z->hi - USECS_PER_DAY > t)
			return t;
	}
	t = wall_to_instant(wall, z->tz);
	span_fill(z, t - USECS_PER_DAY);
	return t;
}

/* ---------------------------------------------------------------------
 * energy_tou() and energy_demand()
 * ---------------------------------------------------------------------
 */

typedef struct ChannelInfo
{
	int64		channel_id;		/* hash key */
	char	   *data_type;
	char	   *units;			/* canonical */
	Factor		factor;
	const char *demand_units;	/* kW, kvar, kVA; NULL: not energy */
} ChannelInfo;

typedef struct FileInfo
{
	int64		file_id;		/* hash key */
	ZoneSpan	zone;
	bool		mdff;			/* NEM12 or NEM13: flagged means not "A" */
} FileInfo;

/* One period's figures of a channel. */
typedef struct BillFigures
{
	int64		readings;
	int64		flagged;
	int128		sum;			/* energy_tou: at SUM_SCALE places */
	bool		has_max;		/* energy_demand: the largest window */
	int128		max;
	TimestampTz max_start;
} BillFigures;

/* A channel of the current meter: data type and canonical unit. */
typedef struct BillGroup
{
	const char *data_type;
	const char *units;
	const char *demand_units;
	BillFigures *fig;			/* nperiods + 1: the last is period NULL */
	struct WindowSum *slot;		/* energy_demand: its windows by start */
} BillGroup;

typedef struct WindowKey
{
	int64		start;			/* instant */
	int32		group;
} WindowKey;

typedef struct WindowSum
{
	WindowKey	key;
	int128		energy;
	int64		readings;
} WindowSum;

typedef struct Billing
{
	bool		demand;
	int			window;			/* minutes, energy_demand */
	EnergySchema schema;
	Tariff	   *tariff;
	ZoneSpan	tariff_zone;
	HTAB	   *channels;
	HTAB	   *files;
	SPIPlanPtr	blocks_range_plan;
	SPIPlanPtr	blocks_list_plan;
	SPIPlanPtr	segments_plan;
	SPIPlanPtr	interval_plan;
	SPIPlanPtr	channel_plan;
	SPIPlanPtr	file_plan;
	Datum		days;			/* date[] of the stored days read */
	MemoryContext meter_cxt;	/* the current meter code and serial */
	char	   *code;
	char	   *serial;
	BillGroup  *groups;
	int			ngroups;
	int			capgroups;
	HTAB	   *windows;		/* windows that have no slot */
	TimestampTz slot_base;		/* the instant of slot 0 */
	int			nslots;
	ReturnSetInfo *rsinfo;
} Billing;

static ChannelInfo *
channel_info(Billing *b, int64 channel_id)
{
	bool		found;
	ChannelInfo *c = hash_search(b->channels, &channel_id, HASH_ENTER, &found);

	if (!found)
	{
		Datum		arg = Int64GetDatum(channel_id);
		HeapTuple	tup;
		TupleDesc	desc;
		bool		isnull;
		double		factor;
		EcValue		f;
		MemoryContext old;

		energy_spi_run(b->channel_plan, &arg, NULL, SPI_OK_SELECT, "read a channel");
		if (SPI_processed != 1)
			elog(ERROR, "channel %lld not found", (long long) channel_id);
		tup = SPI_tuptable->vals[0];
		desc = SPI_tuptable->tupdesc;
		old = MemoryContextSwitchTo(GetMemoryChunkContext(b->channels));
		c->data_type = SPI_getvalue(tup, desc, 1);
		c->units = SPI_getvalue(tup, desc, 2);
		factor = DatumGetFloat8(SPI_getbinval(tup, desc, 3, &isnull));
		f = ec_value_from_double(factor);
		if (!f.exact)
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("factor %g of unit \"%s\" is not a decimal energy can sum exactly", factor, c->units)));
		c->factor.digits = f.digits;
		c->factor.scale = f.scale;
		factor_prepare(&c->factor);
		c->demand_units = strcmp(c->units, "kWh") == 0 ? "kW" :
			strcmp(c->units, "kvarh") == 0 ? "kvar" :
			strcmp(c->units, "kVAh") == 0 ? "kVA" : NULL;
		MemoryContextSwitchTo(old);
		SPI_freetuptable(SPI_tuptable);
	}
	return c;
}

static FileInfo *
file_info(Billing *b, int64 file_id)
{
	bool		found;
	FileInfo   *f = hash_search(b->files, &file_id, HASH_ENTER, &found);

	if (!found)
	{
		Datum		arg = Int64GetDatum(file_id);
		char	   *zone;
		char	   *format;

		energy_spi_run(b->file_plan, &arg, NULL, SPI_OK_SELECT, "read a file's zone");
		if (SPI_processed != 1)
			elog(ERROR, "file %lld not found", (long long) file_id);
		zone = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		format = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
		f->zone.tz = pg_tzset(zone);
		if (f->zone.tz == NULL)
			elog(ERROR, "time zone \"%s\" of file %lld not found", zone, (long long) file_id);
		f->zone.valid = false;
		f->mdff = strcmp(format, "NEM12") == 0 || strcmp(format, "NEM13") == 0;
		SPI_freetuptable(SPI_tuptable);
	}
	return f;
}

/* The current meter's group of a channel (its data type and canonical unit). */
static int
group_of(Billing *b, const ChannelInfo *c)
{
	BillGroup  *g;

	for (int i = 0; i < b->ngroups; i++)
		if (strcmp(b->groups[i].data_type, c->data_type) == 0 &&
			strcmp(b->groups[i].units, c->units) == 0)
			return i;
	if (b->ngroups == b->capgroups)
	{
		b->capgroups *= 2;
		b->groups = repalloc(b->groups, sizeof(BillGroup) * b->capgroups);
	}
	g = &b->groups[b->ngroups];
	g->data_type = c->data_type;
	g->units = c->units;
	g->demand_units = c->demand_units;
	g->fig = MemoryContextAllocZero(b->meter_cxt, sizeof(BillFigures) * (b->tariff->nperiods + 1));
	g->slot = b->demand ? MemoryContextAllocZero(b->meter_cxt, sizeof(WindowSum) * b->nslots) : NULL;
	return b->ngroups++;
}

static int
cmp_int32(const void *a, const void *b)
{
	int32		x = *(const int32 *) a;
	int32		y = *(const int32 *) b;

	return x < y ? -1 : x > y;
}

/*
 * A block's interval in minutes: the most common gap between its
 * consecutive readings, rounded to the minute (the smaller of equally
 * common ones), as energy_daily.interval_minutes counts it; 0 when the
 * block has no gap.
 */
static int
block_interval(const int64 *at, int n)
{
	int32	   *gap;
	int			ng = 0;
	int			best = 0,
				best_count = 0;
	bool		same = true;

	if (n < 2)
		return 0;
	gap = palloc(sizeof(int32) * (n - 1));
	for (int i = 1; i < n; i++)
	{
		int64		g = at[i] - at[i - 1];

		if (g <= 0)
			continue;
		gap[ng] = (int32) ((g + 30 * USECS_PER_SEC) / (60 * USECS_PER_SEC));
		if (gap[ng] <= 0)
			continue;
		if (ng > 0 && gap[ng] != gap[0])
			same = false;
		ng++;
	}
	if (ng == 0 || same)
		best = ng == 0 ? 0 : gap[0];
	else
	{
		qsort(gap, ng, sizeof(int32), cmp_int32);
		for (int i = 0, j; i < ng; i = j)
		{
			for (j = i; j < ng && gap[j] == gap[i]; j++)
				;
			if (j - i > best_count)
			{
				best_count = j - i;
				best = gap[i];
			}
		}
	}
	pfree(gap);
	return best;
}

/* A day as yyyy-mm-dd, whatever DateStyle says, for messages. */
static char *
iso_day(DateADT day)
{
	int			y,
				m,
				d;

	j2date(day + POSTGRES_EPOCH_JDATE, &y, &m, &d);
	return psprintf("%04d-%02d-%02d", y, m, d);
}

/* The channel's interval that day from its partials, for a lone reading. */
static int
daily_interval(Billing *b, DateADT day, int64 meter_id, int64 channel_id)
{
	Datum		args[3] = {DateADTGetDatum(day), Int64GetDatum(meter_id), Int64GetDatum(channel_id)};
	bool		isnull;
	int			minutes = 0;

	energy_spi_run(b->interval_plan, args, NULL, SPI_OK_SELECT, "read a channel's interval");
	if (SPI_processed == 1)
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
			minutes = DatumGetInt32(d);
	}
	SPI_freetuptable(SPI_tuptable);
	return minutes;
}

/*
 * One stored block: each reading that counts, by the start of its
 * interval, into its period (energy_tou) or its window (energy_demand).
 */
static void
billing_block(Billing *b, int64 meter_id, int64 channel_id, int64 file_id,
			  DateADT day, bytea *block)
{
	ChannelInfo *c = channel_info(b, channel_id);
	FileInfo   *f;
	EcArrays	arr = {0};
	int			n;
	int			minutes;
	int64		iv;
	int			g;
	BillFigures *fig;

	if (b->demand && c->demand_units == NULL)
		return;					/* not an energy channel */
	f = file_info(b, file_id);
	arr.at = (int64_t *) 1;		/* wanted: energy_block_decode allocates */
	arr.value = (EcValue *) 1;
	arr.status = b->demand ? NULL : (EcText *) 1;
	arr.superseded = (bool *) 1;
	n = energy_block_decode(block, day, &arr);
	minutes = block_interval(arr.at, n);
	if (minutes == 0 && n > 0)
		minutes = daily_interval(b, day, meter_id, channel_id);
	if (b->demand && minutes > 0 && (minutes > b->window || b->window % minutes != 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("demand window of %d minutes does not fit the %d minute interval of meter \"%s\" serial \"%s\" channel \"%s\" (%s) on %s",
						b->window, minutes, b->code, b->serial, c->data_type, c->units,
						iso_day(day)),
				 errdetail("A window must be a whole number of the channel's intervals, at least one."),
				 errhint("Use a multiple of %d minutes.", minutes)));
	iv = (int64) minutes * SECS_PER_MINUTE * USECS_PER_SEC;
	g = group_of(b, c);
	fig = b->groups[g].fig;

	for (int i = 0; i < n; i++)
	{
		Timestamp	wall;
		int128		x;

		if (arr.superseded[i])
			continue;
		wall = arr.at[i] - iv;
		if (!b->demand)
		{
			TimestampTz t = span_instant(&f->zone, wall);
			int			p = tariff_period(b->tariff, span_wall(&b->tariff_zone, t));
			const EcText *s = &arr.status[i];

			if (p < 0)
				continue;
			x = canonical_fixed(&arr.value[i], &c->factor);
			fig[p].readings++;
			if (s->ptr != NULL && s->len > 0 && (!f->mdff || s->ptr[0] != 'A'))
				fig[p].flagged++;
			fixed_add(&fig[p].sum, x);
		}
		else
		{
			int64		w = (int64) b->window * SECS_PER_MINUTE * USECS_PER_SEC;
			int64		midnight = wall - ((wall % USECS_PER_DAY) + USECS_PER_DAY) % USECS_PER_DAY;
			int64		into = wall - midnight;
			WindowKey	key;
			WindowSum  *ws;
			bool		found;

			int64		slot;

			x = canonical_fixed(&arr.value[i], &c->factor);
			memset(&key, 0, sizeof(key));	/* hashed as bytes, padding too */
			key.start = span_instant(&f->zone, midnight + into - into % w);
			key.group = g;
			/* its slot, or the hash when that holds another window */
			slot = (key.start - b->slot_base) / w;
			ws = key.start >= b->slot_base && slot < b->nslots ? &b->groups[g].slot[slot] : NULL;
			if (ws != NULL && ws->readings == 0)
				ws->key = key;
			else if (ws == NULL || ws->key.start != key.start)
			{
				ws = hash_search(b->windows, &key, HASH_ENTER, &found);
				if (!found)
				{
					ws->energy = 0;
					ws->readings = 0;
				}
			}
			fixed_add(&ws->energy, x);
			ws->readings++;
		}
	}
}

/* A row of a batch's blocks: which row, and whose (its meter's place). */
typedef struct BlockRef
{
	uint64		row;
	int			meter;
	int64		id;				/* the meter's id, to find its place */
	int64		segment;
} BlockRef;

/* A segment of a batch's blocks: its channel and file. */
typedef struct SegmentInfo
{
	int64		segment_id;
	int64		channel_id;
	int64		file_id;
} SegmentInfo;

static int
cmp_segment(const void *a, const void *b)
{
	int64		x = ((const SegmentInfo *) a)->segment_id;
	int64		y = ((const SegmentInfo *) b)->segment_id;

	return x < y ? -1 : x > y;
}

static int
cmp_blockref_id(const void *a, const void *b)
{
	int64		x = ((const BlockRef *) a)->id;
	int64		y = ((const BlockRef *) b)->id;

	return x < y ? -1 : x > y;
}

static int
cmp_blockref(const void *a, const void *b)
{
	const BlockRef *x = a;
	const BlockRef *y = b;

	if (x->meter != y->meter)
		return x->meter < y->meter ? -1 : 1;
	return x->row < y->row ? -1 : x->row > y->row;
}

static int
cmp_group(const void *a, const void *b)
{
	const BillGroup *x = a;
	const BillGroup *y = b;
	int			r = strcmp(x->data_type, y->data_type);

	return r != 0 ? r : strcmp(x->units, y->units);
}

/* A window into its period: the largest, the earliest of equals. */
static void
demand_place(Billing *b, const WindowSum *ws)
{
	int			p = tariff_period(b->tariff, span_wall(&b->tariff_zone, ws->key.start));
	BillFigures *fig;

	if (p < 0)
		return;
	fig = &b->groups[ws->key.group].fig[p];
	fig->readings += ws->readings;
	if (!fig->has_max || ws->energy > fig->max ||
		(ws->energy == fig->max && ws->key.start < fig->max_start))
	{
		fig->has_max = true;
		fig->max = ws->energy;
		fig->max_start = ws->key.start;
	}
}

/*
 * The current meter code and serial are done: place the windows
 * (energy_demand), write its rows, and start afresh.
 */
static void
billing_flush(Billing *b)
{
	Tariff	   *t = b->tariff;
	TupleDesc	desc = b->rsinfo->setDesc;

	if (b->demand && b->windows != NULL)
	{
		HASH_SEQ_STATUS seq;
		WindowSum  *ws;

		for (int i = 0; i < b->ngroups; i++)
			for (int k = 0; k < b->nslots; k++)
				if (b->groups[i].slot[k].readings > 0)
					demand_place(b, &b->groups[i].slot[k]);
		hash_seq_init(&seq, b->windows);
		while ((ws = hash_seq_search(&seq)) != NULL)
			demand_place(b, ws);
	}

	qsort(b->groups, b->ngroups, sizeof(BillGroup), cmp_group);
	for (int i = 0; i < b->ngroups; i++)
	{
		BillGroup  *g = &b->groups[i];

		for (int p = 0; p <= t->nperiods; p++)
		{
			BillFigures *fig = &g->fig[p];
			Datum		values[8];
			bool		nulls[8] = {0};

			if (fig->readings == 0)
				continue;
			values[0] = CStringGetTextDatum(b->code);
			values[1] = CStringGetTextDatum(b->serial);
			values[2] = CStringGetTextDatum(g->data_type);
			values[3] = CStringGetTextDatum(b->demand ? g->demand_units : g->units);
			if (p == t->nperiods)
				nulls[4] = true;
			else
				values[4] = CStringGetTextDatum(t->period[p]);
			if (!b->demand)
			{
				values[5] = Int64GetDatum(fig->readings);
				values[6] = fixed_numeric(fig->sum);
				values[7] = Int64GetDatum(fig->flagged);
			}
			else
			{
				Datum		e = fixed_numeric(fig->max);

				e = DirectFunctionCall2(numeric_mul, e, DirectFunctionCall1(int4_numeric, Int32GetDatum(60)));
				e = DirectFunctionCall2(numeric_div, e, DirectFunctionCall1(int4_numeric, Int32GetDatum(b->window)));
				values[5] = DirectFunctionCall1(numeric_float8, e);
				values[6] = TimestampTzGetDatum(fig->max_start + (int64) b->window * SECS_PER_MINUTE * USECS_PER_SEC);
				values[7] = Int64GetDatum(fig->readings);
			}
			tuplestore_putvalues(b->rsinfo->setResult, desc, values, nulls);
		}
	}

	MemoryContextReset(b->meter_cxt);
	b->code = NULL;
	b->serial = NULL;
	b->ngroups = 0;
	b->capgroups = 8;
	b->groups = MemoryContextAlloc(b->meter_cxt, sizeof(BillGroup) * b->capgroups);
	b->windows = NULL;
	if (b->demand)
	{
		HASHCTL		ctl = {0};

		ctl.keysize = sizeof(WindowKey);
		ctl.entrysize = sizeof(WindowSum);
		ctl.hcxt = b->meter_cxt;
		b->windows = hash_create("energy_demand windows", 64, &ctl,
								 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
}

/*
 * The call: check the arguments, read the tariff, then go through the
 * meters that have readings stored on the days the range can reach, in
 * code order, one meter at a time: its blocks of those days through the
 * reading index, each decoded once and its readings added up in place.
 * A meter's figures are written as soon as its code and serial are done,
 * so memory holds one meter's figures, never the fleet's.
 */
static Datum
billing_run(FunctionCallInfo fcinfo, bool demand, DateADT from, DateADT to)
{
	Billing		b = {0};
	MemoryContext call_cxt = CurrentMemoryContext;
	int			nestlevel;
	int			probes;
	Datum	   *days;
	int			ndays;
	SPIPlanPtr	meters_plan;
	Portal		portal;
	Oid			types[3] = {DATEARRAYOID, TEXTOID, TEXTOID};
	Datum		args[3];
	char		nulls[3] = {' ', ' ', ' '};
	HASHCTL		ctl = {0};
	MemoryContext block_cxt;

	if (PG_ARGISNULL(4))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the tariff and both days must be given")));
	if (demand && PG_ARGISNULL(5))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("window_minutes must be given")));
	if (DATE_NOT_FINITE(from) || DATE_NOT_FINITE(to))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_FIELD_OVERFLOW),
				 errmsg("days must be finite dates")));
	b.demand = demand;
	if (demand)
	{
		b.window = PG_GETARG_INT32(5);
		if (b.window < 1 || b.window > MINS_PER_HOUR * HOURS_PER_DAY ||
			(MINS_PER_HOUR * HOURS_PER_DAY) % b.window != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid demand window of %d minutes", b.window),
					 errdetail("Windows are aligned from midnight, so their length must divide a day (1440 minutes)."),
					 errhint("Use 15 or 30.")));
	}
	InitMaterializedSRF(fcinfo, 0);
	b.rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	energy_schema_lookup(&b.schema, fcinfo);
	energy_require_schema(&b.schema, ENERGY_SCHEMA_1_3, demand ? "energy_demand()" : "energy_tou()");

	nestlevel = energy_spi_connect();
	/* a range that reaches back past energy_forget()'s horizon says so */
	if (b.schema.layout->horizon)
	{
		Datum		nargs[2] = {DateADTGetDatum(from),
		CStringGetTextDatum(demand ? "energy_demand()" : "energy_tou()")};

		energy_spi_exec(psprintf("SELECT %s.energy_horizon_notice($1, $2)", b.schema.nspname),
						2, (Oid[]) {DATEOID, TEXTOID}, nargs, NULL, true, SPI_OK_SELECT,
						"reading energy_horizon");
	}
	probes = energy_plan_probes();
	/* the tariff exists whatever the range; an empty range has no rows */
	b.tariff = tariff_load(&b.schema, PG_GETARG_TEXT_PP(4), from, Max(from, to));
	if (from > to)
	{
		AtEOXact_GUC(true, probes);
		energy_spi_finish(nestlevel);
		return (Datum) 0;
	}
	b.tariff_zone.tz = b.tariff->tz;
	if (demand)
	{
		/* every window a stored day of the range can have, by UTC start */
		b.slot_base = (TimestampTz) (from - 4) * USECS_PER_DAY;
		b.nslots = ((int) Min(to - from, 366) + 9) * (MINS_PER_HOUR * HOURS_PER_DAY / b.window);
		b.nslots = Min(b.nslots, 4096);	/* the rest go to the hash */
	}

	/* a reading's local date may differ from its stored day by two */
	ndays = (int) (to - from) + 5;
	days = palloc(sizeof(Datum) * ndays);
	for (int i = 0; i < ndays; i++)
		days[i] = DateADTGetDatum(from - 2 + i);
	b.days = energy_array(days, NULL, ndays, DATEOID);

	ctl.keysize = sizeof(int64);
	ctl.entrysize = sizeof(ChannelInfo);
	ctl.hcxt = call_cxt;
	b.channels = hash_create("energy billing channels", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	ctl.entrysize = sizeof(FileInfo);
	b.files = hash_create("energy billing files", 256, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	/*
	 * A batch's blocks, by one of two statements.  When the batch's meter
	 * ids are close together (meters first seen in one file), one range of
	 * the index per day, the few other meters' entries of the range left
	 * out here; else one index descent per meter and day.  Their segments'
	 * channels and files come by a second statement, once per segment
	 * rather than once per block.
	 */
	b.blocks_range_plan = energy_prepare(psprintf(
		"SELECT r.meter_id, r.segment_id, r.day, r.block FROM %1$s.energy_reading r "
		"WHERE r.day OPERATOR(pg_catalog.=) ANY ($1) "
		"AND r.meter_id OPERATOR(pg_catalog.>=) $2 AND r.meter_id OPERATOR(pg_catalog.<=) $3",
		b.schema.nspname), 3, (Oid[]) {DATEARRAYOID, INT8OID, INT8OID});
	b.blocks_list_plan = energy_prepare(psprintf(
		"SELECT r.meter_id, r.segment_id, r.day, r.block FROM %1$s.energy_reading r "
		"WHERE r.day OPERATOR(pg_catalog.=) ANY ($1) AND r.meter_id OPERATOR(pg_catalog.=) ANY ($2)",
		b.schema.nspname), 2, (Oid[]) {DATEARRAYOID, INT8ARRAYOID});
	b.segments_plan = energy_prepare(psprintf(
		"SELECT s.segment_id, s.channel_id, s.file_id FROM %1$s.energy_segment s "
		"WHERE s.segment_id OPERATOR(pg_catalog.=) ANY ($1)",
		b.schema.nspname), 1, (Oid[]) {INT8ARRAYOID});
	b.interval_plan = energy_prepare(psprintf(
		"SELECT pg_catalog.min(d.interval_minutes) FROM %1$s.energy_daily d "
		"WHERE d.day OPERATOR(pg_catalog.=) $1 AND d.meter_id OPERATOR(pg_catalog.=) $2 "
		"AND d.channel_id OPERATOR(pg_catalog.=) $3",
		b.schema.nspname), 3, (Oid[]) {DATEOID, INT8OID, INT8OID});
	b.channel_plan = energy_prepare(psprintf(
		"SELECT c.data_type, COALESCE(u.canonical, c.units), COALESCE(u.factor, 1)::pg_catalog.float8 "
		"FROM %1$s.energy_channel c LEFT JOIN %1$s.energy_unit u "
		"ON pg_catalog.lower(u.unit COLLATE \"C\") OPERATOR(pg_catalog.=) pg_catalog.lower(c.units) "
		"WHERE c.channel_id OPERATOR(pg_catalog.=) $1",
		b.schema.nspname), 1, (Oid[]) {INT8OID});
	b.file_plan = energy_prepare(psprintf(
		"SELECT f.time_zone, f.format FROM %1$s.energy_file f WHERE f.file_id OPERATOR(pg_catalog.=) $1",
		b.schema.nspname), 1, (Oid[]) {INT8OID});
	meters_plan = energy_prepare(psprintf(
		"SELECT m.meter_id, m.meter_code, m.serial_number FROM %1$s.energy_meter m "
		"WHERE m.meter_id IN (SELECT r.meter_id FROM %1$s.energy_reading r "
		"WHERE r.day OPERATOR(pg_catalog.=) ANY ($1)) "
		"AND ($2 IS NULL OR m.meter_code OPERATOR(pg_catalog.=) $2) "
		"AND ($3 IS NULL OR m.serial_number OPERATOR(pg_catalog.=) $3) "
		"ORDER BY m.meter_code, m.serial_number, m.meter_id",
		b.schema.nspname), 3, types);

	b.meter_cxt = AllocSetContextCreate(call_cxt, "energy billing meter", ALLOCSET_DEFAULT_SIZES);
	block_cxt = AllocSetContextCreate(call_cxt, "energy billing block", ALLOCSET_DEFAULT_SIZES);
	billing_flush(&b);			/* the empty start */

	args[0] = b.days;
	args[1] = PG_ARGISNULL(0) ? (Datum) 0 : PG_GETARG_DATUM(0);
	nulls[1] = PG_ARGISNULL(0) ? 'n' : ' ';
	args[2] = PG_ARGISNULL(1) ? (Datum) 0 : PG_GETARG_DATUM(1);
	nulls[2] = PG_ARGISNULL(1) ? 'n' : ' ';
	portal = SPI_cursor_open(NULL, meters_plan, args, nulls, true);
	for (;;)
	{
		int			nm;
		int64	   *ids;
		char	  **codes;
		char	  **serials;
		MemoryContext batch_cxt;
		MemoryContext old;

		SPI_cursor_fetch(portal, true, 256);
		nm = (int) SPI_processed;
		if (nm == 0)
			break;
		batch_cxt = AllocSetContextCreate(call_cxt, "energy billing meters", ALLOCSET_SMALL_SIZES);
		old = MemoryContextSwitchTo(batch_cxt);
		ids = palloc(sizeof(int64) * nm);
		codes = palloc(sizeof(char *) * nm);
		serials = palloc(sizeof(char *) * nm);
		for (int i = 0; i < nm; i++)
		{
			bool		isnull;

			ids[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
			codes[i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
			serials[i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3);
		}
		MemoryContextSwitchTo(old);
		SPI_freetuptable(SPI_tuptable);

		/*
		 * The blocks of the batch's meters in one statement (one executor
		 * start, not one per meter), then meter by meter in code order.
		 */
		{
			Datum	   *idd = palloc(sizeof(Datum) * nm);
			Datum		bargs[4];
			SPITupleTable *tt;
			uint64		nb;
			BlockRef   *refs;
			BlockRef   *byid = MemoryContextAlloc(batch_cxt, sizeof(BlockRef) * nm);
			SegmentInfo *segs;
			int			nsegs = 0;
			uint64		skip;

			for (int i = 0; i < nm; i++)
			{
				idd[i] = Int64GetDatum(ids[i]);
				byid[i] = (BlockRef) {0, i, ids[i], 0};
			}
			qsort(byid, nm, sizeof(BlockRef), cmp_blockref_id);
			bargs[0] = b.days;
			if (byid[nm - 1].id - byid[0].id < (int64) nm * 4)
			{
				bargs[1] = Int64GetDatum(byid[0].id);
				bargs[2] = Int64GetDatum(byid[nm - 1].id);
				energy_spi_run(b.blocks_range_plan, bargs, NULL, SPI_OK_SELECT, "read the meters' blocks");
			}
			else
			{
				bargs[1] = energy_array(idd, NULL, nm, INT8OID);
				energy_spi_run(b.blocks_list_plan, bargs, NULL, SPI_OK_SELECT, "read the meters' blocks");
			}
			/* the rows stay while billing_block runs statements of its own */
			tt = SPI_tuptable;
			nb = SPI_processed;
			refs = MemoryContextAlloc(batch_cxt, sizeof(BlockRef) * Max(nb, 1));
			segs = MemoryContextAlloc(batch_cxt, sizeof(SegmentInfo) * Max(nb, 1));
			for (uint64 k = 0; k < nb; k++)
			{
				bool		isnull;
				BlockRef	key = {0, 0, DatumGetInt64(SPI_getbinval(tt->vals[k], tt->tupdesc, 1, &isnull)), 0};
				BlockRef   *hit = bsearch(&key, byid, nm, sizeof(BlockRef), cmp_blockref_id);

				refs[k].row = k;
				refs[k].meter = hit ? hit->meter : -1;
				refs[k].segment = DatumGetInt64(SPI_getbinval(tt->vals[k], tt->tupdesc, 2, &isnull));
				segs[k].segment_id = refs[k].segment;
			}
			qsort(refs, nb, sizeof(BlockRef), cmp_blockref);

			/* the segments' channels and files, once per segment */
			if (nb > 0)
			{
				Datum	   *sd;
				SPITupleTable *st;

				qsort(segs, nb, sizeof(SegmentInfo), cmp_segment);
				for (uint64 k = 0; k < nb; k++)
					if (nsegs == 0 || segs[nsegs - 1].segment_id != segs[k].segment_id)
						segs[nsegs++].segment_id = segs[k].segment_id;
				sd = MemoryContextAlloc(batch_cxt, sizeof(Datum) * nsegs);
				for (int k = 0; k < nsegs; k++)
				{
					sd[k] = Int64GetDatum(segs[k].segment_id);
					segs[k].channel_id = -1;
				}
				bargs[0] = energy_array(sd, NULL, nsegs, INT8OID);
				energy_spi_run(b.segments_plan, bargs, NULL, SPI_OK_SELECT, "read the blocks' segments");
				st = SPI_tuptable;
				for (uint64 k = 0; k < SPI_processed; k++)
				{
					bool		isnull;
					SegmentInfo key;
					SegmentInfo *hit;

					key.segment_id = DatumGetInt64(SPI_getbinval(st->vals[k], st->tupdesc, 1, &isnull));
					hit = bsearch(&key, segs, nsegs, sizeof(SegmentInfo), cmp_segment);
					if (hit == NULL)
						continue;
					hit->channel_id = DatumGetInt64(SPI_getbinval(st->vals[k], st->tupdesc, 2, &isnull));
					hit->file_id = DatumGetInt64(SPI_getbinval(st->vals[k], st->tupdesc, 3, &isnull));
				}
				SPI_freetuptable(st);
			}

			/* rows of meters not of the batch (in the range) sort first */
			{
				uint64		k0 = 0;

				while (k0 < nb && refs[k0].meter < 0)
					k0++;
				skip = k0;
			}
			for (int i = 0, k = (int) skip; i < nm; i++)
			{
				CHECK_FOR_INTERRUPTS();
				if (b.code != NULL && (strcmp(b.code, codes[i]) != 0 || strcmp(b.serial, serials[i]) != 0))
					billing_flush(&b);
				if (b.code == NULL)
				{
					b.code = MemoryContextStrdup(b.meter_cxt, codes[i]);
					b.serial = MemoryContextStrdup(b.meter_cxt, serials[i]);
				}
				for (; k < (int) nb && refs[k].meter == i; k++)
				{
					HeapTuple	row = tt->vals[refs[k].row];
					bool		isnull;
					SegmentInfo key;
					SegmentInfo *seg;
					DateADT		day = DatumGetDateADT(SPI_getbinval(row, tt->tupdesc, 3, &isnull));
					Datum		blk = SPI_getbinval(row, tt->tupdesc, 4, &isnull);
					MemoryContext bold;

					key.segment_id = refs[k].segment;
					seg = bsearch(&key, segs, nsegs, sizeof(SegmentInfo), cmp_segment);
					if (seg == NULL || seg->channel_id < 0)
						elog(ERROR, "segment %lld of a stored block not found", (long long) key.segment_id);
					MemoryContextReset(block_cxt);
					bold = MemoryContextSwitchTo(block_cxt);
					billing_block(&b, ids[i], seg->channel_id, seg->file_id, day,
								  (bytea *) PG_DETOAST_DATUM_PACKED(blk));
					MemoryContextSwitchTo(bold);
				}
			}
			SPI_freetuptable(tt);
		}
		MemoryContextDelete(batch_cxt);
	}
	if (b.code != NULL)
		billing_flush(&b);
	SPI_cursor_close(portal);
	AtEOXact_GUC(true, probes);
	energy_spi_finish(nestlevel);
	return (Datum) 0;
}

/* The days as dates, or 22004 for a NULL one. */
static DateADT
billing_date_arg(FunctionCallInfo fcinfo, int arg, bool as_text)
{
	if (PG_ARGISNULL(arg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the tariff and both days must be given")));
	return as_text ? energy_text_day(PG_GETARG_TEXT_PP(arg)) : PG_GETARG_DATEADT(arg);
}

/* energy_tou(meter_code, serial_code, from_day date, to_day date, tariff) */
Datum
energy_tou_date(PG_FUNCTION_ARGS)
{
	return billing_run(fcinfo, false, billing_date_arg(fcinfo, 2, false),
					   billing_date_arg(fcinfo, 3, false));
}

/* energy_tou with the days as text, read as energy_get reads them. */
Datum
energy_tou_text(PG_FUNCTION_ARGS)
{
	return billing_run(fcinfo, false, billing_date_arg(fcinfo, 2, true),
					   billing_date_arg(fcinfo, 3, true));
}

/* energy_demand(meter_code, serial_code, from_day, to_day, tariff, window_minutes) */
Datum
energy_demand_date(PG_FUNCTION_ARGS)
{
	return billing_run(fcinfo, true, billing_date_arg(fcinfo, 2, false),
					   billing_date_arg(fcinfo, 3, false));
}

/* energy_demand with the days as text. */
Datum
energy_demand_text(PG_FUNCTION_ARGS)
{
	return billing_run(fcinfo, true, billing_date_arg(fcinfo, 2, true),
					   billing_date_arg(fcinfo, 3, true));
}
