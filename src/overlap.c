/*-------------------------------------------------------------------------
 *
 * overlap.c
 *	  One reading, one value: the copy from the most recently loaded file
 *	  wins, across files and within one.
 *
 * Feeds deliver the same interval again, under a new file name, in an
 * overlapping export window, or corrected.  Comparing every reading with
 * every stored one would cost the history; instead a load compares its
 * partials, one per meter, day and channel, with the partials of other
 * files, through energy_daily's primary key.  A partial no other file has
 * cannot share a reading with anyone, and that is almost every partial of
 * a normal load: the check costs one index probe per meter-day-channel,
 * about one per hundred readings.
 *
 * The keys that do overlap (and the partials aggregate.c calls suspect: a
 * reading repeated within the file, or an interval it could not find) are
 * rewritten at the end of the file by energy_resolve(), an SQL function of
 * the extension: it marks every copy but the newest superseded and
 * recomputes the keys' partials from the copies that count.  A file
 * removed (replaced or unloaded) hands over the keys it shared, so that the
 * copies it had superseded count again.
 *
 * Concurrent loads.  Two loads of overlapping files may run at once, and
 * neither sees the other's rows in its snapshot.  So the probe reads with
 * a dirty snapshot, as a unique index check does, after the load's own
 * partials are in the table: of two loads writing the same key, the one
 * that probes second sees the other's partial.  A partial whose inserting
 * or deleting transaction is still running is waited for, then the probe
 * is repeated: the load then rewrites the key with the other's readings
 * committed (READ COMMITTED takes a new snapshot per statement; under
 * REPEATABLE READ, a partial committed outside the snapshot is a
 * serialization failure, 40001, as an UPDATE of a row changed since would
 * be).  When both loads see each other, both wait and the deadlock
 * detector cancels one: no reading is ever counted twice.
 *
 * On a Citus cluster (energy_distribute()), energy_daily's rows live in
 * shards, which no local index probe reaches.  There the keys a file wrote
 * are collected as candidates and checked at the end of the file by one
 * statement per batch, which joins them with energy_daily on the meter and
 * which Citus runs shard by shard.  A dirty snapshot has no counterpart in
 * a distributed query, so concurrent loads and unloads on a cluster take
 * turns instead: each holds a self-conflicting lock on the coordinator's
 * energy_daily to the end of its transaction, and runs in READ COMMITTED,
 * whose next statement sees what the previous holder committed.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/array.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "energy.h"

/*
 * Keys rewritten per call of energy_resolve(): a call sorts every copy of
 * its keys, so a batch stays within the work_mem the function sets (2,000
 * channel-days of 96 readings, two copies each: 400,000 rows).
 */
#define RESOLVE_BATCH 2000

/* Candidate keys checked per statement on a Citus cluster. */
#define CANDIDATE_BATCH 10000

/* Keys as parallel arrays of Datums, growing as needed. */
typedef struct KeyList
{
	Datum	   *meters;
	Datum	   *days;
	Datum	   *channels;
	Datum	   *parts;
	int			n;
	int			max;
} KeyList;

struct EnergyOverlap
{
	MemoryContext cxt;
	const char *nspname;
	Oid			daily_relid;
	Oid			daily_pkey;
	int64		file_id;

	/* the probe: energy_daily's primary key, read with a dirty snapshot */
	Relation	rel;
	Relation	index;
	IndexScanDesc scan;
	TupleTableSlot *slot;
	SnapshotData dirty;

	/* the keys to rewrite */
	KeyList		keys;

	/* on Citus: the keys written, to check at the end of the file */
	bool		distributed;
	KeyList		candidates;

	SPIPlanPtr	resolve;
};

/* Append a key; part is kept only for candidates. */
static void
keylist_add(MemoryContext cxt, KeyList *l, int64 meter_id, int32 day,
			int64 channel_id, int32 part)
{
	if (l->n == l->max)
	{
		int			n = Max(1024, l->max * 2);
		Datum	  **arrays[4] = {&l->meters, &l->days, &l->channels, &l->parts};

		for (int i = 0; i < 4; i++)
			*arrays[i] = (l->max == 0) ?
				MemoryContextAlloc(cxt, sizeof(Datum) * n) :
				repalloc_huge(*arrays[i], sizeof(Datum) * n);
		l->max = n;
	}
	l->meters[l->n] = Int64GetDatum(meter_id);
	l->days[l->n] = DateADTGetDatum(day);
	l->channels[l->n] = Int64GetDatum(channel_id);
	l->parts[l->n] = Int32GetDatum(part);
	l->n++;
}

/*
 * The overlap stage of one load (or unload).  Its tables open on the first
 * probe, so a load of unchanged files never touches them.  On a Citus
 * cluster, loads and unloads take turns here (see the top of the file).
 */
EnergyOverlap *
energy_overlap_create(const EnergySchema *schema, MemoryContext cxt, bool distributed)
{
	EnergyOverlap *o = MemoryContextAllocZero(cxt, sizeof(EnergyOverlap));

	o->cxt = cxt;
	o->nspname = MemoryContextStrdup(cxt, schema->nspname);
	o->daily_relid = energy_relation(schema, "energy_daily");
	o->daily_pkey = energy_relation(schema, "energy_daily_pkey");
	o->distributed = distributed;
	if (distributed)
	{
		if (IsolationUsesXactSnapshot())
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("on a Citus cluster, energy loads and unloads run in READ COMMITTED"),
					 errdetail("A snapshot taken before waiting for a concurrent load could not see its readings."),
					 errhint("Run it in a READ COMMITTED transaction.")));
		LockRelationOid(o->daily_relid, ShareUpdateExclusiveLock);
	}
	return o;
}

/* The partials about to be checked are those of file_id. */
void
energy_overlap_begin(EnergyOverlap *o, int64 file_id)
{
	o->file_id = file_id;
}

static void
overlap_open(EnergyOverlap *o)
{
	MemoryContext old = MemoryContextSwitchTo(o->cxt);

	o->rel = table_open(o->daily_relid, RowExclusiveLock);
	o->index = index_open(o->daily_pkey, RowExclusiveLock);
	InitDirtySnapshot(o->dirty);
	o->scan = index_beginscanCompat(o->rel, o->index, &o->dirty, 3, 0);
	o->slot = table_slot_create(o->rel, NULL);
	MemoryContextSwitchTo(old);
}

/* Remember a key to rewrite. */
void
energy_overlap_add(EnergyOverlap *o, int64 meter_id, int32 day, int64 channel_id)
{
	keylist_add(o->cxt, &o->keys, meter_id, day, channel_id, 0);
}

/*
 * Remember a key that may be shared, to check at the end of the file: on
 * Citus, every key a part wrote, and every key a removed file had (part
 * -1: its partials are gone, so any partial found is another file's).
 * On one server the check is made at once.
 */
void
energy_overlap_candidate(EnergyOverlap *o, int64 meter_id, int32 day,
						 int64 channel_id, int32 part)
{
	if (o->distributed)
		keylist_add(o->cxt, &o->candidates, meter_id, day, channel_id, part);
	else
		energy_overlap_add(o, meter_id, day, channel_id);
}

/*
 * A partial of another file (or of another part of this one) with the
 * same key, committed or in progress; in progress ones are waited for.
 */
static bool
overlap_probe(EnergyOverlap *o, ScanKey keys, int32 part)
{
	for (;;)
	{
		bool		found = false;
		TransactionId xwait = InvalidTransactionId;
		ItemPointerData tid;

		index_rescan(o->scan, keys, 3, NULL, 0);
		while (!found && index_getnext_slot(o->scan, ForwardScanDirection, o->slot))
		{
			bool		isnull;

			xwait = TransactionIdIsValid(o->dirty.xmin) ? o->dirty.xmin : o->dirty.xmax;
			if (TransactionIdIsValid(xwait))
			{
				tid = o->slot->tts_tid;
				break;
			}
			if (DatumGetInt64(slot_getattr(o->slot, 4, &isnull)) == o->file_id &&
				DatumGetInt32(slot_getattr(o->slot, 5, &isnull)) == part)
				continue;		/* the partial just written */
			found = true;
			if (IsolationUsesXactSnapshot() &&
				!table_tuple_satisfies_snapshot(o->rel, o->slot, GetTransactionSnapshot()))
				ereport(ERROR,
						(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
						 errmsg("could not serialize access due to a concurrent load of the same readings"),
						 errhint("Retry the load.")));
		}
		ExecClearTuple(o->slot);
		if (!TransactionIdIsValid(xwait))
			return found;
		XactLockTableWait(xwait, o->rel, &tid, XLTW_None);
		InitDirtySnapshot(o->dirty);
	}
}

/*
 * Check one partial just written (as part "part" of the file): if another
 * file has the same meter, day and channel, or the partial is suspect, its
 * key will be rewritten at the end of the file.
 */
void
energy_overlap_check(EnergyOverlap *o, int64 meter_id, int32 day,
					 int64 channel_id, int32 part, bool suspect)
{
	ScanKeyData keys[3];
	MemoryContext old;
	bool		found;

	if (o->distributed && !suspect)
	{
		keylist_add(o->cxt, &o->candidates, meter_id, day, channel_id, part);
		return;
	}
	if (!suspect)
	{
		if (o->rel == NULL)
			overlap_open(o);
		ScanKeyEntryInitialize(&keys[0], 0, 1, BTEqualStrategyNumber, InvalidOid,
							   InvalidOid, F_INT8EQ, Int64GetDatum(meter_id));
		ScanKeyEntryInitialize(&keys[1], 0, 2, BTEqualStrategyNumber, InvalidOid,
							   InvalidOid, F_DATE_EQ, DateADTGetDatum(day));
		ScanKeyEntryInitialize(&keys[2], 0, 3, BTEqualStrategyNumber, InvalidOid,
							   InvalidOid, F_INT8EQ, Int64GetDatum(channel_id));
		InitDirtySnapshot(o->dirty);
		/* the index AM allocates as it goes: in the scan's context, always */
		old = MemoryContextSwitchTo(o->cxt);
		found = overlap_probe(o, keys, part);
		MemoryContextSwitchTo(old);
		if (!found)
			return;
	}
	energy_overlap_add(o, meter_id, day, channel_id);
}

static Datum
int8_array(Datum *elems, int n)
{
	return PointerGetDatum(construct_array(elems, n, INT8OID, 8, true, TYPALIGN_DOUBLE));
}

static Datum
date_array(Datum *elems, int n)
{
	return PointerGetDatum(construct_array(elems, n, DATEOID, 4, true, TYPALIGN_INT));
}

static Datum
int4_array(Datum *elems, int n)
{
	return PointerGetDatum(construct_array(elems, n, INT4OID, 4, true, TYPALIGN_INT));
}

/*
 * On Citus: which candidates another file (or another part of this file)
 * also has, by a join with energy_daily that Citus runs in every shard of
 * the candidates' meters.  Those become keys to rewrite.
 */
static void
overlap_check_candidates(EnergyOverlap *o)
{
	KeyList    *c = &o->candidates;
	Oid			argtypes[5] = {INT8ARRAYOID, DATEARRAYOID, INT8ARRAYOID, INT4ARRAYOID, INT8OID};
	char	   *sql = psprintf("SELECT DISTINCT k.meter_id, k.day, k.channel_id "
							   "FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), "
							   "pg_catalog.unnest($3), pg_catalog.unnest($4)) AS k(meter_id, day, channel_id, part) "
							   "JOIN %s.energy_daily d ON d.meter_id OPERATOR(pg_catalog.=) k.meter_id "
							   "AND d.day OPERATOR(pg_catalog.=) k.day "
							   "AND d.channel_id OPERATOR(pg_catalog.=) k.channel_id "
							   "WHERE d.file_id OPERATOR(pg_catalog.<>) $5 "
							   "OR d.part OPERATOR(pg_catalog.<>) k.part",
							   o->nspname);

	for (int from = 0; from < c->n; from += CANDIDATE_BATCH)
	{
		int			k = Min(CANDIDATE_BATCH, c->n - from);
		Datum		args[5];
		int			rc;

		CHECK_FOR_INTERRUPTS();
		args[0] = int8_array(c->meters + from, k);
		args[1] = date_array(c->days + from, k);
		args[2] = int8_array(c->channels + from, k);
		args[3] = int4_array(c->parts + from, k);
		args[4] = Int64GetDatum(o->file_id);
		rc = SPI_execute_with_args(sql, 5, argtypes, args, NULL, false, 0);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "checking keys for overlaps failed: %s", SPI_result_code_string(rc));
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			bool		isnull;

			energy_overlap_add(o,
							   DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull)),
							   DatumGetDateADT(SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull)),
							   DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 3, &isnull)));
		}
		SPI_freetuptable(SPI_tuptable);
	}
	c->n = 0;
}

/*
 * Rewrite the remembered keys, a batch per call of energy_resolve(), and
 * forget them.  Returns how many keys there were.
 */
int64
energy_overlap_resolve(EnergyOverlap *o)
{
	int64		n;

	if (o->candidates.n > 0)
		overlap_check_candidates(o);
	n = o->keys.n;

	if (n == 0)
		return 0;
	if (o->resolve == NULL)
	{
		Oid			argtypes[3] = {INT8ARRAYOID, DATEARRAYOID, INT8ARRAYOID};
		char	   *sql = psprintf("SELECT %s.energy_resolve($1, $2, $3)", o->nspname);

		o->resolve = energy_prepare(sql, 3, argtypes);
	}
	for (int from = 0; from < o->keys.n; from += RESOLVE_BATCH)
	{
		int			k = Min(RESOLVE_BATCH, o->keys.n - from);
		Datum		args[3];
		int			rc;

		CHECK_FOR_INTERRUPTS();
		args[0] = int8_array(o->keys.meters + from, k);
		args[1] = date_array(o->keys.days + from, k);
		args[2] = int8_array(o->keys.channels + from, k);
		rc = SPI_execute_plan(o->resolve, args, NULL, false, 0);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "energy_resolve failed: %s", SPI_result_code_string(rc));
		SPI_freetuptable(SPI_tuptable);
		pfree(DatumGetPointer(args[0]));
		pfree(DatumGetPointer(args[1]));
		pfree(DatumGetPointer(args[2]));
	}
	o->keys.n = 0;
	return n;
}

/* The end of the load: the probe's scan and relations go. */
void
energy_overlap_close(EnergyOverlap *o)
{
	if (o->rel == NULL)
		return;
	ExecDropSingleTupleTableSlot(o->slot);
	index_endscan(o->scan);
	index_close(o->index, NoLock);
	table_close(o->rel, NoLock);
	o->rel = NULL;
}
