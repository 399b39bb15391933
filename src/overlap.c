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

	/* the keys to rewrite, as three growing arrays */
	Datum	   *meters;
	Datum	   *days;
	Datum	   *channels;
	int			nkeys;
	int			maxkeys;

	SPIPlanPtr	resolve;
};

/*
 * The overlap stage of one load.  Its tables open on the first probe, so a
 * load of unchanged files never touches them.
 */
EnergyOverlap *
energy_overlap_create(const EnergySchema *schema, MemoryContext cxt)
{
	EnergyOverlap *o = MemoryContextAllocZero(cxt, sizeof(EnergyOverlap));

	o->cxt = cxt;
	o->nspname = MemoryContextStrdup(cxt, schema->nspname);
	o->daily_relid = energy_relation(schema, "energy_daily");
	o->daily_pkey = energy_relation(schema, "energy_daily_pkey");
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
	o->scan = index_beginscan(o->rel, o->index, &o->dirty, 3, 0);
	o->slot = table_slot_create(o->rel, NULL);
	MemoryContextSwitchTo(old);
}

/* Remember a key to rewrite. */
void
energy_overlap_add(EnergyOverlap *o, int64 meter_id, int32 day, int64 channel_id)
{
	if (o->nkeys == o->maxkeys)
	{
		int			n = Max(1024, o->maxkeys * 2);

		if (o->maxkeys == 0)
		{
			o->meters = MemoryContextAlloc(o->cxt, sizeof(Datum) * n);
			o->days = MemoryContextAlloc(o->cxt, sizeof(Datum) * n);
			o->channels = MemoryContextAlloc(o->cxt, sizeof(Datum) * n);
		}
		else
		{
			o->meters = repalloc_huge(o->meters, sizeof(Datum) * n);
			o->days = repalloc_huge(o->days, sizeof(Datum) * n);
			o->channels = repalloc_huge(o->channels, sizeof(Datum) * n);
		}
		o->maxkeys = n;
	}
	o->meters[o->nkeys] = Int64GetDatum(meter_id);
	o->days[o->nkeys] = DateADTGetDatum(day);
	o->channels[o->nkeys] = Int64GetDatum(channel_id);
	o->nkeys++;
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

/*
 * Rewrite the remembered keys, a batch per call of energy_resolve(), and
 * forget them.  Returns how many keys there were.
 */
int64
energy_overlap_resolve(EnergyOverlap *o)
{
	int64		n = o->nkeys;

	if (n == 0)
		return 0;
	if (o->resolve == NULL)
	{
		Oid			argtypes[3] = {INT8ARRAYOID, DATEARRAYOID, INT8ARRAYOID};
		char	   *sql = psprintf("SELECT %s.energy_resolve($1, $2, $3)", o->nspname);

		o->resolve = SPI_prepare(sql, 3, argtypes);
		if (o->resolve == NULL)
			elog(ERROR, "could not prepare \"%s\": %s", sql,
				 SPI_result_code_string(SPI_result));
	}
	for (int from = 0; from < o->nkeys; from += RESOLVE_BATCH)
	{
		int			k = Min(RESOLVE_BATCH, o->nkeys - from);
		Datum		args[3];
		int			rc;

		CHECK_FOR_INTERRUPTS();
		args[0] = int8_array(o->meters + from, k);
		args[1] = date_array(o->days + from, k);
		args[2] = int8_array(o->channels + from, k);
		rc = SPI_execute_plan(o->resolve, args, NULL, false, 0);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "energy_resolve failed: %s", SPI_result_code_string(rc));
		SPI_freetuptable(SPI_tuptable);
		pfree(DatumGetPointer(args[0]));
		pfree(DatumGetPointer(args[1]));
		pfree(DatumGetPointer(args[2]));
	}
	o->nkeys = 0;
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
