/*-------------------------------------------------------------------------
 *
 * aggregate.c
 *	  Per-day partial aggregates, accumulated while a file is parsed, and the
 *	  meter-days they cover, for the change log that populate reads.
 *
 * A view computed with MIN/MAX/AVG over every raw reading costs, at each
 * refresh, in proportion to all readings ever loaded.  Here each
 * load leaves one row per (meter, day, channel, file) with count, sum, min
 * and max, so energy_data_view is an aggregate over partials and its refresh
 * costs meter-days, not readings.
 *
 * Sums are exact (sum.c): a sum of any number of decimals is their exact
 * decimal sum, stored as numeric, so avg_energy equals
 * avg(energy::numeric) over the raw rows, rounded once to float8.
 *
 * Memory stays flat however large the file: when DAILY_OPEN_MAX partials are
 * open, all are written (as "part" n of the file) and the table starts
 * again.  A day that straddles such a write is two rows of energy_daily,
 * whose counts and sums the view adds up like any others.
 *
 * Each partial also counts its flagged readings and finds the channel's
 * interval that day, the most common gap between consecutive readings in
 * whole minutes (ties to the smallest), from a few (gap, count) slots: a
 * file lists a channel's day in time order with one or two distinct gaps.
 * A partial whose readings go back in time (a reading repeated within the
 * file) or show more distinct gaps than the slots hold is "suspect": the
 * overlap stage recomputes it from the stored readings, in SQL, with the
 * same rules (energy_resolve() in the upgrade script: whole minutes rounded
 * half up, ties to the smaller gap).  TOU register reads are always suspect: a file lists one
 * time several times (one read per period and rate) and not in time order,
 * and they are few (a handful per meter and day), so their day is always
 * checked against the stored reads.  After each write every partial is handed to the overlap
 * stage (overlap.c), which finds the ones another file shares.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"

#include "energy.h"

/* Partials kept in memory before they are written: about 1.5 MB. */
#define DAILY_OPEN_MAX 8192

/* Distinct gaps a partial tracks before its interval is left to SQL. */
#define GAP_SLOTS 4

typedef struct DailyKey
{
	int64		meter_id;
	int64		channel_id;
	int32		day;
} DailyKey;

typedef struct DailyEntry
{
	DailyKey	key;
	uint32		hash;
	char		status;
	int64		count;
	EnergySum	sum;
	bool		suspect;		/* the stored readings must decide */
	double		min;
	double		max;
	int64		flagged;
	Timestamp	last_at;		/* of the previous reading */
	int32		stated;			/* the file's interval: >0 stated, 0 from
								 * gaps, -1 none (TOU) */
	int32		gap[GAP_SLOTS]; /* distinct gaps seen, in minutes */
	int32		gap_count[GAP_SLOTS];
} DailyEntry;

#define SH_PREFIX		daily
#define SH_ELEMENT_TYPE DailyEntry
#define SH_KEY_TYPE		DailyKey
#define SH_KEY			key
#define SH_HASH_KEY(tb, k) energy_hash_ids((uint64) (k).meter_id, (uint64) (k).channel_id, (uint32) (k).day)
#define SH_EQUAL(tb, a, b) ((a).meter_id == (b).meter_id && (a).channel_id == (b).channel_id && (a).day == (b).day)
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a) ((a)->hash)
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/*
 * The meter-days a file's partials cover, for the change log (populate
 * rewrites only those).  A file writes its channels' partials of a
 * meter-day together, so each is logged once per file, not per channel.
 */
typedef struct MeterDayKey
{
	int64		meter_id;
	int32		day;
} MeterDayKey;

typedef struct MeterDayEntry
{
	MeterDayKey key;
	uint32		hash;
	char		status;
} MeterDayEntry;

#define SH_PREFIX		meterday
#define SH_ELEMENT_TYPE MeterDayEntry
#define SH_KEY_TYPE		MeterDayKey
#define SH_KEY			key
#define SH_HASH_KEY(tb, k) energy_hash_ids((uint64) (k).meter_id, (uint32) (k).day, 0)
#define SH_EQUAL(tb, a, b) ((a).meter_id == (b).meter_id && (a).day == (b).day)
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a) ((a)->hash)
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/* Meter-days kept before they are logged: about 1 MB, as the partials. */
#define CHANGED_OPEN_MAX 32768

struct EnergyDaily
{
	MemoryContext cxt;
	MemoryContext write_cxt;	/* numeric sums of one write */
	daily_hash *hash;
	meterday_hash *changed;		/* meter-days written, not yet logged */
	DailyEntry *last;			/* consecutive rows share their day */
	EnergySink *sink;
	EnergyOverlap *overlap;		/* NULL on a 1.0 schema */
	int64		file_id;
	int32		part;			/* writes of this file so far */
};

static void daily_write_all(EnergyDaily *daily);
static void daily_note_change(EnergyDaily *daily, int64 meter_id, int32 day);
static void daily_log_changes(EnergyDaily *daily);

EnergyDaily *
energy_daily_create(MemoryContext cxt)
{
	EnergyDaily *d = MemoryContextAllocZero(cxt, sizeof(EnergyDaily));

	d->cxt = cxt;
	d->write_cxt = AllocSetContextCreate(cxt, "energy daily write", ALLOCSET_DEFAULT_SIZES);
	d->hash = daily_create(cxt, 256, NULL);
	d->changed = meterday_create(cxt, 256, NULL);
	return d;
}

/*
 * Start the partials of one file, to be written through sink and checked
 * for overlaps by overlap (NULL: not checked).
 */
void
energy_daily_begin(EnergyDaily *daily, EnergySink *sink, EnergyOverlap *overlap,
				   int64 file_id)
{
	daily_reset(daily->hash);
	meterday_reset(daily->changed);
	daily->last = NULL;
	daily->sink = sink;
	daily->overlap = overlap;
	daily->file_id = file_id;
	if (overlap)
		energy_overlap_begin(overlap, file_id);
	daily->part = 0;
}

/*
 * The gap from the previous reading, in whole minutes (rounded half up), in
 * the entry's slots.  A reading at or before the previous one, or a gap no
 * slot is left for, makes the entry suspect.
 */
static inline void
daily_gap(DailyEntry *e, Timestamp at)
{
	int64		minutes;

	if (at <= e->last_at)
	{
		e->suspect = true;
		return;
	}
	minutes = (at - e->last_at + USECS_PER_MINUTE / 2) / USECS_PER_MINUTE;
	e->last_at = at;
	if (minutes == 0)
		return;
	for (int i = 0; i < GAP_SLOTS; i++)
	{
		if (e->gap[i] == minutes)
		{
			e->gap_count[i]++;
			return;
		}
		if (e->gap[i] == 0)
		{
			e->gap[i] = (int32) Min(minutes, PG_INT32_MAX);
			e->gap_count[i] = 1;
			return;
		}
	}
	e->suspect = true;
}

/* The most common gap; ties go to the smaller.  0 when there is none. */
static int32
daily_interval(const DailyEntry *e)
{
	int32		best = 0;
	int32		best_count = 0;

	if (e->stated != 0)
		return Max(e->stated, 0);
	for (int i = 0; i < GAP_SLOTS && e->gap[i] != 0; i++)
		if (e->gap_count[i] > best_count ||
			(e->gap_count[i] == best_count && e->gap[i] < best))
		{
			best = e->gap[i];
			best_count = e->gap_count[i];
		}
	return best;
}

/* A new partial, holding nothing yet. */
static void
daily_entry_init(DailyEntry *e, double v, Timestamp at, int32 stated)
{
	e->count = 0;
	memset(&e->sum, 0, sizeof(e->sum));
	e->suspect = false;
	e->min = v;
	e->max = v;
	e->flagged = 0;
	/* the first reading's gap is never counted: it only sets last_at */
	e->last_at = at;
	e->stated = stated;
	memset(e->gap, 0, sizeof(e->gap));
	memset(e->gap_count, 0, sizeof(e->gap_count));
}

/*
 * Called once per row: the last entry is tried first, since a file runs
 * through one channel's day before the next.  interval is the interval the
 * file states (NEM12), 0 to find it from the gaps (LP), or -1 for none
 * (TOU register reads).
 */
void
energy_daily_add(EnergyDaily *daily, int64 meter_id, int64 channel_id,
				 int32 day, Timestamp at, const EpDecimal *value,
				 bool flagged, int32 interval)
{
	DailyEntry *e = daily->last;
	double		v = value->value;
	bool		fresh = false;

	/* energy_daily_begin() came first: every partial belongs to a file */
	Assert(daily->file_id != 0 && daily->sink != NULL);
	Assert(!value->is_null);

	if (e == NULL || e->key.day != day || e->key.meter_id != meter_id ||
		e->key.channel_id != channel_id)
	{
		DailyKey	k;
		bool		found;

		k.meter_id = meter_id;
		k.channel_id = channel_id;
		k.day = day;
		if (daily->hash->members >= DAILY_OPEN_MAX && daily_lookup(daily->hash, k) == NULL)
			daily_write_all(daily);
		e = daily_insert(daily->hash, k, &found);
		if (!found)
		{
			daily_entry_init(e, v, at, interval);
			fresh = true;
		}
		daily->last = e;
	}

	if (interval < 0)
		e->suspect = true;		/* register reads: see below */
	else if (!fresh)
	{
		if (interval == 0)
			daily_gap(e, at);
		else if (at <= e->last_at)
			e->suspect = true;
		else
			e->last_at = at;
	}
	e->count++;
	e->flagged += flagged;
	if (v < e->min)
		e->min = v;
	if (v > e->max)
		e->max = v;
	energy_sum_add(&e->sum, value);
}

/* qsort order of partials: energy_daily's primary key, (day, meter, channel) */
static int
daily_entry_cmp(const void *a, const void *b)
{
	const DailyKey *x = &(*(DailyEntry *const *) a)->key;
	const DailyKey *y = &(*(DailyEntry *const *) b)->key;

	if (x->day != y->day)
		return x->day < y->day ? -1 : 1;
	if (x->meter_id != y->meter_id)
		return x->meter_id < y->meter_id ? -1 : 1;
	if (x->channel_id != y->channel_id)
		return x->channel_id < y->channel_id ? -1 : 1;
	return 0;
}

/*
 * The open partials in energy_daily's key order.  Written in hash order,
 * their primary key entries landed all over the index, whose pages then
 * split in the middle and stayed 69% full; in key order a daily file's
 * entries go in at one end, where pages split full (90%).  Sorting a few
 * thousand entries costs far less than the index pages it saves.
 */
static DailyEntry **
daily_sorted(EnergyDaily *daily, uint32 *n)
{
	DailyEntry **all = palloc_extended(sizeof(DailyEntry *) * Max(daily->hash->members, 1),
									   MCXT_ALLOC_HUGE);
	daily_iterator it;
	DailyEntry *e;

	*n = 0;
	daily_start_iterate(daily->hash, &it);
	while ((e = daily_iterate(daily->hash, &it)) != NULL)
		all[(*n)++] = e;
	qsort(all, *n, sizeof(DailyEntry *), daily_entry_cmp);
	return all;
}

/*
 * Write the open partials through the bulk-insert sink, like the readings,
 * in key order, and forget them.  They are far fewer than readings (one per
 * meter, day and channel), so the cost that matters is the primary key's
 * index entries.
 */
static void
daily_write_all(EnergyDaily *daily)
{
	DailyEntry *e;
	DailyEntry **sorted;
	uint32		n;
	MemoryContext old = MemoryContextSwitchTo(daily->write_cxt);

	daily->part++;
	sorted = daily_sorted(daily, &n);
	for (uint32 i = 0; i < n; i++)
	{
		EnergyPartial p;

		e = sorted[i];
		p.meter_id = e->key.meter_id;
		p.day = e->key.day;
		p.channel_id = e->key.channel_id;
		p.file_id = daily->file_id;
		p.part = daily->part;
		p.readings = e->count;
		p.sum = energy_sum_numeric(&e->sum);
		p.min = e->min;
		p.max = e->max;
		p.flagged = e->flagged;
		p.interval_minutes = daily_interval(e);
		energy_sink_partial(daily->sink, &p);
		daily_note_change(daily, p.meter_id, p.day);
	}
	energy_sink_flush(daily->sink);

	/*
	 * Only now, with them all in the table, can a concurrent load see them;
	 * in key order, the overlap stage's probes walk the index forward.
	 */
	for (uint32 i = 0; daily->overlap && i < n; i++)
	{
		e = sorted[i];
		energy_overlap_check(daily->overlap, e->key.meter_id, e->key.day,
							 e->key.channel_id, daily->part, e->suspect);
	}
	MemoryContextSwitchTo(old);
	MemoryContextReset(daily->write_cxt);
	daily_reset(daily->hash);
	daily->last = NULL;
}

/* The end of the file: write what is still open, and log its meter-days. */
void
energy_daily_end(EnergyDaily *daily)
{
	if (daily->hash->members > 0)
		daily_write_all(daily);
	daily_log_changes(daily);
}

/* Remember a written meter-day; log them all when too many are held. */
static void
daily_note_change(EnergyDaily *daily, int64 meter_id, int32 day)
{
	MeterDayKey k;
	bool		found;

	k.meter_id = meter_id;
	k.day = day;
	if (daily->changed->members >= CHANGED_OPEN_MAX &&
		meterday_lookup(daily->changed, k) == NULL)
		daily_log_changes(daily);
	meterday_insert(daily->changed, k, &found);
}

/*
 * Hand the remembered meter-days to the change log.  A meter-day logged
 * twice (split over two writes) costs populate nothing: it reads DISTINCT.
 */
static void
daily_log_changes(EnergyDaily *daily)
{
	meterday_iterator it;
	MeterDayEntry *e;

	meterday_start_iterate(daily->changed, &it);
	while ((e = meterday_iterate(daily->changed, &it)) != NULL)
		energy_sink_change(daily->sink, e->key.meter_id, e->key.day);
	energy_sink_flush(daily->sink);
	meterday_reset(daily->changed);
}
