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
 * The overlap stage of a call remembers every partial the call writes (its
 * candidates), the files the call registers and the old versions it
 * removes.  At the end of the call, holding the locks of every meter-day
 * it touched (lock.c: the writers' protocol, and why it never deadlocks), the
 * driver has it:
 *	1. find the candidates that another file (or another part of the same
 *	   file) has copies that count of: on one server one probe of
 *	   energy_daily's primary key per candidate, with a
 *	   snapshot taken after the locks; on Citus (and under REPEATABLE READ,
 *	   or a 1.1 schema) one join with energy_daily per batch of keys, which
 *	   Citus runs shard by shard;
 *	2. resolve them (resolve.c, or energy_resolve()), comparing only the copies that
 *	   count today with the call's own: the 20th copy of a day costs what
 *	   the 2nd did (a superseded copy cannot win against the copy that
 *	   superseded it);
 *	3. after the driver removed the old versions, resolve the keys where a
 *	   removed file had copies that counted, comparing every copy, so that
 *	   the best remaining one counts again.
 * energy_resolve() reports how many readings of each new file replaced a
 * copy that counted: energy_load's rows_replacing.
 *
 * Under REPEATABLE READ or SERIALIZABLE the statements read the
 * transaction's snapshot, taken before the locks: if a writer of the same
 * keys committed in between, the call raises 40001, as an UPDATE of a row
 * changed since would.
 *
 * On a Citus cluster (energy_distribute()), loads and unloads also take
 * turns on a self-conflicting lock of the coordinator's energy_daily, and
 * run in READ COMMITTED.  Each step that depends on where the tables live
 * has its one-server and its Citus way side by side, in two
 * OverlapPlacements that a call chooses between once.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/array.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/snapmgr.h"

#include "energy.h"

/*
 * Keys rewritten per call of energy_resolve(): a call sorts the compared
 * copies of its keys, so a batch stays within the work_mem the function
 * sets (2,000 channel-days of 96 readings, two copies each: 400,000 rows).
 */
#define RESOLVE_BATCH 2000

/* Candidate keys checked per statement. */
#define CANDIDATE_BATCH 10000

/* Keys as parallel arrays of Datums, growing as needed. */
typedef struct KeyList
{
	Datum	   *meters;
	Datum	   *days;
	Datum	   *channels;
	Datum	   *extra;			/* part of a candidate, restore of a key */
	Datum	   *files;			/* file of a candidate */
	int			n;
	int			max;
} KeyList;


/*
 * Where the partials live decides how the stage reads and writes them: on
 * this server through energy_daily's heap and primary key and resolve.c,
 * on a Citus cluster only through SQL that Citus routes to the shards.  A
 * call's stage picks its placement once, when it is created (as copyfrom.c
 * picks a format's CopyFromRoutine), and calls through it.
 */
typedef struct OverlapPlacement
{
	/* Begin the call: on Citus, loads and unloads take turns here. */
	void		(*begin) (EnergyOverlap *o);

	/*
	 * Step 1: turn the candidates that other copies count against into keys
	 * to resolve; xact_snapshot when the transaction's snapshot is read.
	 */
	void		(*probe) (EnergyOverlap *o, bool xact_snapshot);

	/* Step 2 or 3 for a batch of k keys (arrays the callback may reorder). */
	void		(*resolve) (EnergyOverlap *o, Datum *meters, Datum *days,
							Datum *channels, Datum *restore, int k);

	/* energy_overlap_remove_partials(): file values[0]'s partials go. */
	void		(*remove_partials) (EnergyOverlap *o, Datum *values);
} OverlapPlacement;

struct EnergyOverlap
{
	MemoryContext cxt;
	const char *nspname;
	Oid			daily_relid;
	Oid			daily_pkey;		/* its primary key, for the probe */
	const OverlapPlacement *placement;	/* a row of the table below */
	const EnergySchema *schema;
	int64		file_id;		/* the file whose partials come next */

	KeyList		candidates;		/* every partial the call wrote */
	KeyList		keys;			/* keys to resolve */

	/* files the call registered, and how many readings each replaced */
	HTAB	   *replacing;

	SPIPlanPtr	resolve;
	SPIPlanPtr	probe;
	SPIPlanPtr	remove;			/* energy_overlap_remove_partials() */
	bool	   *to_sql;			/* resolve.c's keys left to energy_resolve() */
};

static void begin_direct(EnergyOverlap *o);
static void begin_citus(EnergyOverlap *o);
static void probe_direct(EnergyOverlap *o, bool xact_snapshot);
static void overlap_probe(EnergyOverlap *o, bool snapshot_check);
static void resolve_direct(EnergyOverlap *o, Datum *meters, Datum *days,
						   Datum *channels, Datum *restore, int k);
static void resolve_sql(EnergyOverlap *o, Datum *meters, Datum *days,
						Datum *channels, Datum *restore, int k);
static void remove_partials_direct(EnergyOverlap *o, Datum *values);
static void remove_partials_citus(EnergyOverlap *o, Datum *values);

/* One server: energy_daily's own heap and primary key, resolve.c. */
static const OverlapPlacement direct_placement = {
	.begin = begin_direct,
	.probe = probe_direct,
	.resolve = resolve_direct,
	.remove_partials = remove_partials_direct,
};

/*
 * One server, the SQL twin energy_resolve() for every key: a 1.1 schema's
 * own (which compares every copy), or 1.2's when a developer sets
 * energy.resolve_in_sql, so that the twins meet on every version.
 */
static const OverlapPlacement direct_sql_placement = {
	.begin = begin_direct,
	.probe = probe_direct,
	.resolve = resolve_sql,
	.remove_partials = remove_partials_direct,
};

/* A Citus cluster: statements Citus routes, energy_resolve(). */
static const OverlapPlacement citus_placement = {
	.begin = begin_citus,
	.probe = overlap_probe,
	.resolve = resolve_sql,
	.remove_partials = remove_partials_citus,
};

/* Append a key; extra and file as the list's kind needs. */
static void
keylist_add(MemoryContext cxt, KeyList *l, int64 meter_id, int32 day,
			int64 channel_id, Datum extra, int64 file_id)
{
	if (l->n == l->max)
	{
		int			n = Max(1024, l->max * 2);
		Datum	  **arrays[5] = {&l->meters, &l->days, &l->channels, &l->extra, &l->files};

		for (int i = 0; i < 5; i++)
			*arrays[i] = (l->max == 0) ?
				MemoryContextAllocHuge(cxt, sizeof(Datum) * n) :
				repalloc_huge(*arrays[i], sizeof(Datum) * n);
		l->max = n;
	}
	l->meters[l->n] = Int64GetDatum(meter_id);
	l->days[l->n] = DateADTGetDatum(day);
	l->channels[l->n] = Int64GetDatum(channel_id);
	l->extra[l->n] = extra;
	l->files[l->n] = Int64GetDatum(file_id);
	l->n++;
}

/*
 * The overlap stage of one call.  On a Citus cluster, loads and unloads
 * take turns here (see the top of the file).
 */
EnergyOverlap *
energy_overlap_create(EnergySchema *schema, MemoryContext cxt, bool distributed)
{
	EnergyOverlap *o = MemoryContextAllocZero(cxt, sizeof(EnergyOverlap));
	HASHCTL		hctl;

	o->cxt = cxt;
	o->nspname = MemoryContextStrdup(cxt, schema->nspname);
	o->daily_relid = energy_relation(schema, "energy_daily");
	if (distributed)
		o->placement = &citus_placement;
	else if (schema->layout->resolver == RESOLVER_SQL_1_1 || energy_resolve_in_sql)
		o->placement = &direct_sql_placement;
	else
		o->placement = &direct_placement;
	o->schema = schema;
	if (schema->layout->daily_day_first)
		o->daily_pkey = energy_relation(schema, "energy_daily_pkey");
	hctl.keysize = sizeof(int64);
	hctl.entrysize = sizeof(EnergyReplacing);
	hctl.hcxt = cxt;
	o->replacing = hash_create("energy replacing", 64, &hctl,
							   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	o->placement->begin(o);
	return o;
}

/* On one server, writers take turns by the meter-days' locks alone. */
static void
begin_direct(EnergyOverlap *o)
{
}

/*
 * On a Citus cluster, loads and unloads also take turns on a
 * self-conflicting lock of the coordinator's energy_daily, in READ
 * COMMITTED (see the top of the file).
 */
static void
begin_citus(EnergyOverlap *o)
{
	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("on a Citus cluster, energy loads and unloads run in READ COMMITTED"),
				 errdetail("A snapshot taken before waiting for a concurrent load could not see its readings."),
				 errhint("Run it in a READ COMMITTED transaction.")));
	LockRelationOid(o->daily_relid, ShareUpdateExclusiveLock);
}

/* The partials about to be written are those of file_id, new in this call. */
void
energy_overlap_begin(EnergyOverlap *o, int64 file_id)
{
	EnergyReplacing *r;
	bool		found;

	o->file_id = file_id;
	r = hash_search(o->replacing, &file_id, HASH_ENTER, &found);
	if (!found)
		r->count = 0;
}

/*
 * Remember a key to resolve: restore when a removed file's copies counted
 * there, so that every copy must be compared again.  A key of a day before
 * the horizon is not resolved: its readings were forgotten (forget.c), so
 * the copies a removed file superseded there cannot come back, and its
 * other partials stay as they are (a load brings no reading of such a day).
 */
void
energy_overlap_add(EnergyOverlap *o, int64 meter_id, int32 day, int64 channel_id,
				   bool restore)
{
	if (day < o->schema->horizon)
		return;
	keylist_add(o->cxt, &o->keys, meter_id, day, channel_id, BoolGetDatum(restore), 0);
}

/*
 * A partial just written (as part "part" of the file).  Suspect partials (a
 * reading repeated within the file, an interval the loader could not find)
 * are resolved whatever other files hold; the others are checked at the
 * end of the call, under the meter-days' locks.
 */
void
energy_overlap_check(EnergyOverlap *o, int64 meter_id, int32 day,
					 int64 channel_id, int32 part, bool suspect)
{
	keylist_add(o->cxt, &o->candidates, meter_id, day, channel_id,
				Int32GetDatum(part), o->file_id);
	if (suspect)
		energy_overlap_add(o, meter_id, day, channel_id, false);
}

/*
 * The meter-days of every partial the call wrote, for the locks (lock.c);
 * the caller adds those of the files it removes.
 */
int
energy_overlap_keys(EnergyOverlap *o, EnergyLockKey **keys)
{
	EnergyLockKey *k = palloc(sizeof(EnergyLockKey) * Max(1, o->candidates.n));

	for (int i = 0; i < o->candidates.n; i++)
	{
		k[i].meter_id = DatumGetInt64(o->candidates.meters[i]);
		k[i].day = DatumGetDateADT(o->candidates.days[i]);
	}
	*keys = k;
	return o->candidates.n;
}

/*
 * Under REPEATABLE READ or SERIALIZABLE: whether a batch's probe finds the
 * same partials in the transaction's snapshot as in the latest committed
 * state.  The probe returns a fingerprint of every partial of the keys
 * (their count, and a sum over their file, readings and inserting
 * transaction), so that a writer of the same keys that committed after the
 * snapshot was taken is noticed.
 */
static void
overlap_crosscheck(EnergyOverlap *o, SPIPlanPtr plan, Datum *args)
{
	int64		seen[2];

	for (int i = 0; i < 2; i++)
	{
		Snapshot	snap = (i == 0) ? GetTransactionSnapshot() : GetLatestSnapshot();
		bool		isnull;
		int			rc = SPI_execute_snapshot(plan, args, NULL, snap, InvalidSnapshot,
											  true, false, 0);

		if (rc != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "comparing snapshots failed: %s", SPI_result_code_string(rc));
		seen[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		SPI_freetuptable(SPI_tuptable);
	}
	if (seen[0] != seen[1])
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not serialize access due to a concurrent load or unload of the same readings"),
				 errhint("Retry the load.")));
}

/*
 * Which candidates another file (or another part of this file) also has
 * copies that count of: one join with energy_daily per batch (through its
 * primary key), which on a Citus cluster runs in every shard of the
 * batch's meters.  Those become keys to resolve.  A file
 * whose copies of a key all lost already (a placeholder partial) has none
 * that could count against the new ones.
 */
static void
overlap_probe(EnergyOverlap *o, bool snapshot_check)
{
	KeyList    *c = &o->candidates;
	Oid			argtypes[5] = {INT8ARRAYOID, DATEARRAYOID, INT8ARRAYOID, INT4ARRAYOID, INT8ARRAYOID};
	SPIPlanPtr	fingerprint = NULL;

	if (o->probe == NULL)
		o->probe = energy_prepare(psprintf("SELECT DISTINCT k.meter_id, k.day, k.channel_id "
										   "FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), "
										   "pg_catalog.unnest($3), pg_catalog.unnest($4), pg_catalog.unnest($5)) "
										   "AS k(meter_id, day, channel_id, part, file_id) "
										   "JOIN %s.energy_daily d ON d.meter_id OPERATOR(pg_catalog.=) k.meter_id "
										   "AND d.day OPERATOR(pg_catalog.=) k.day "
										   "AND d.channel_id OPERATOR(pg_catalog.=) k.channel_id "
										   "WHERE d.readings OPERATOR(pg_catalog.>) 0 "
										   "AND (d.file_id OPERATOR(pg_catalog.<>) k.file_id "
										   "OR d.part OPERATOR(pg_catalog.<>) k.part)",
										   o->nspname), 5, argtypes);
	if (snapshot_check)
		fingerprint = energy_prepare(psprintf("SELECT pg_catalog.count(*) OPERATOR(pg_catalog.+) "
											  "COALESCE(pg_catalog.sum(d.file_id OPERATOR(pg_catalog.*) 31 "
											  "OPERATOR(pg_catalog.+) d.readings OPERATOR(pg_catalog.+) "
											  "d.xmin::pg_catalog.text::pg_catalog.int8), 0)::pg_catalog.int8 "
											  "FROM (SELECT DISTINCT * FROM ROWS FROM (pg_catalog.unnest($1), "
											  "pg_catalog.unnest($2), pg_catalog.unnest($3))) "
											  "AS k(meter_id, day, channel_id) "
											  "JOIN %s.energy_daily d ON d.meter_id OPERATOR(pg_catalog.=) k.meter_id "
											  "AND d.day OPERATOR(pg_catalog.=) k.day "
											  "AND d.channel_id OPERATOR(pg_catalog.=) k.channel_id",
											  o->nspname), 3, argtypes);

	for (int from = 0; from < c->n; from += CANDIDATE_BATCH)
	{
		int			k = Min(CANDIDATE_BATCH, c->n - from);
		Datum		args[5];

		CHECK_FOR_INTERRUPTS();
		args[0] = energy_array(c->meters + from, NULL, k, INT8OID);
		args[1] = energy_array(c->days + from, NULL, k, DATEOID);
		args[2] = energy_array(c->channels + from, NULL, k, INT8OID);
		args[3] = energy_array(c->extra + from, NULL, k, INT4OID);
		args[4] = energy_array(c->files + from, NULL, k, INT8OID);
		if (fingerprint)
			overlap_crosscheck(o, fingerprint, args);
		energy_spi_run(o->probe, args, NULL, SPI_OK_SELECT, "checking keys for overlaps");
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			bool		isnull;

			energy_overlap_add(o,
							   DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull)),
							   DatumGetDateADT(SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull)),
							   DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 3, &isnull)),
							   false);
		}
		SPI_freetuptable(SPI_tuptable);
		for (int i = 0; i < 3; i++)
			pfree(DatumGetPointer(args[i]));
	}
	c->n = 0;
}

/*
 * Where meter_id, day and channel_id (energy_daily's columns 1 to 3) are in
 * its primary key: (meter_id, day, ...) until 1.1, (day, meter_id, ...)
 * from 1.2 on, whose daily loads write one end of the index.
 */
static void
daily_key_columns(Relation index, AttrNumber *col)
{
	for (int k = 0; k < 3; k++)
	{
		col[k] = InvalidAttrNumber;
		for (int c = 0; c < index->rd_index->indnkeyatts; c++)
			if (index->rd_index->indkey.values[c] == k + 1)
				col[k] = c + 1;
		if (col[k] == InvalidAttrNumber || col[k] > 3)
			elog(ERROR, "energy_daily_pkey does not begin with meter_id, day and channel_id");
	}
}

/*
 * On one server, in READ COMMITTED: the same question as overlap_probe()'s
 * statement, asked of energy_daily's primary key directly, one index probe
 * per candidate (a first load pays only this).
 * The snapshot is taken now, after the locks: it sees every writer of these
 * meter-days that committed before us, and our own partials.
 */
static void
overlap_probe_index(EnergyOverlap *o)
{
	KeyList    *c = &o->candidates;
	Relation	rel;
	Relation	index;
	IndexScanDesc scan;
	TupleTableSlot *slot;
	Snapshot	snapshot;
	ScanKeyData keys[3];
	AttrNumber	col[3];

	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "energy probe",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);

	CommandCounterIncrement();
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	rel = table_open(o->daily_relid, AccessShareLock);
	index = index_open(o->daily_pkey, AccessShareLock);
	daily_key_columns(index, col);
	scan = index_beginscanCompat(rel, index, snapshot, 3, 0);
	slot = table_slot_create(rel, NULL);
	for (int i = 0; i < c->n; i++)
	{
		int64		file_id = DatumGetInt64(c->files[i]);
		int32		part = DatumGetInt32(c->extra[i]);
		bool		found = false;

		if ((i & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		ScanKeyEntryInitialize(&keys[0], 0, col[0], BTEqualStrategyNumber, InvalidOid,
							   InvalidOid, F_INT8EQ, c->meters[i]);
		ScanKeyEntryInitialize(&keys[1], 0, col[1], BTEqualStrategyNumber, InvalidOid,
							   InvalidOid, F_DATE_EQ, c->days[i]);
		ScanKeyEntryInitialize(&keys[2], 0, col[2], BTEqualStrategyNumber, InvalidOid,
							   InvalidOid, F_INT8EQ, c->channels[i]);
		/* scan keys go in the index's column order */
		if (col[0] > col[1])
		{
			ScanKeyData t = keys[0];

			keys[0] = keys[1];
			keys[1] = t;
		}
		index_rescan(scan, keys, 3, NULL, 0);
		while (!found && index_getnext_slot(scan, ForwardScanDirection, slot))
		{
			bool		isnull;

			found = (DatumGetInt64(slot_getattr(slot, 4, &isnull)) != file_id ||
					 DatumGetInt32(slot_getattr(slot, 5, &isnull)) != part) &&
				DatumGetInt64(slot_getattr(slot, 6, &isnull)) > 0;
		}
		ExecClearTuple(slot);
		if (found)
			energy_overlap_add(o, DatumGetInt64(c->meters[i]), DatumGetDateADT(c->days[i]),
							   DatumGetInt64(c->channels[i]), false);
	}
	ExecDropSingleTupleTableSlot(slot);
	index_endscan(scan);
	index_close(index, AccessShareLock);
	table_close(rel, AccessShareLock);
	UnregisterSnapshot(snapshot);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	c->n = 0;
}

/*
 * Step 1 on one server: the index probe, unless the statement must read
 * the transaction's snapshot or a primary key that leads with the meter
 * (1.1's).  On Citus overlap_probe() alone.
 */
static void
probe_direct(EnergyOverlap *o, bool xact_snapshot)
{
	if (o->schema->layout->daily_day_first && !xact_snapshot)
		overlap_probe_index(o);
	else
		overlap_probe(o, xact_snapshot);
}

/* The files the call registered, as the bigint[] energy_resolve() takes. */
static Datum
new_files_array(EnergyOverlap *o)
{
	Datum	   *files = palloc(sizeof(Datum) * Max(1, hash_get_num_entries(o->replacing)));
	HASH_SEQ_STATUS seq;
	EnergyReplacing *e;
	int			n = 0;

	hash_seq_init(&seq, o->replacing);
	while ((e = hash_seq_search(&seq)) != NULL)
		files[n++] = Int64GetDatum(e->file_id);
	return energy_array(files, NULL, n, INT8OID);
}

/*
 * A batch of keys through energy_resolve(), the SQL twin of resolve.c,
 * adding up what the new files replaced.
 */
static void
resolve_sql(EnergyOverlap *o, Datum *meters, Datum *days, Datum *channels,
			Datum *restore, int k)
{
	Datum		args[5];

	if (o->resolve == NULL)
	{
		Oid			argtypes[5] = {INT8ARRAYOID, DATEARRAYOID, INT8ARRAYOID, BOOLARRAYOID, INT8ARRAYOID};

		/*
		 * A 1.1 schema, before ALTER EXTENSION UPDATE, keeps its own
		 * energy_resolve(), which compares every copy and counts nothing.
		 */
		o->resolve = (o->schema->layout->resolver == RESOLVER_SQL_1_1) ?
			energy_prepare(psprintf("SELECT NULL::pg_catalog.int8, NULL::pg_catalog.int8 FROM %s.energy_resolve($1, $2, $3)",
									o->nspname), 3, argtypes) :
			energy_prepare(psprintf("SELECT file_id, replacing FROM %s.energy_resolve($1, $2, $3, $4, $5)",
									o->nspname), 5, argtypes);
	}
	args[0] = energy_array(meters, NULL, k, INT8OID);
	args[1] = energy_array(days, NULL, k, DATEOID);
	args[2] = energy_array(channels, NULL, k, INT8OID);
	args[3] = energy_array(restore, NULL, k, BOOLOID);
	args[4] = new_files_array(o);
	energy_spi_run(o->resolve, args, NULL, SPI_OK_SELECT, "energy_resolve");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		bool		isnull;
		int64		file_id = DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull));
		EnergyReplacing *r;

		if (isnull)
			continue;
		r = hash_search(o->replacing, &file_id, HASH_FIND, NULL);
		if (r)
			r->count += DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull));
	}
	SPI_freetuptable(SPI_tuptable);
	for (int i = 0; i < 5; i++)
		pfree(DatumGetPointer(args[i]));
}

/*
 * A batch of keys on one server: with a 1.2 schema resolve.c compares the
 * copies in C, and leaves to energy_resolve() only the keys with register
 * reads.  On Citus resolve_sql() takes every batch.
 */
static void
resolve_direct(EnergyOverlap *o, Datum *m, Datum *d, Datum *c, Datum *r, int k)
{
	int			left;
	int			j = 0;

	if (o->to_sql == NULL)
		o->to_sql = MemoryContextAlloc(o->cxt, sizeof(bool) * RESOLVE_BATCH);
	left = energy_resolve_chunks(o->schema, m, d, c, r, k, o->replacing, o->to_sql);
	if (left == 0)
		return;
	/* the keys with register reads, packed at the front */
	for (int i = 0; i < k; i++)
	{
		if (!o->to_sql[i])
			continue;
		m[j] = m[i];
		d[j] = d[i];
		c[j] = c[i];
		r[j] = r[i];
		j++;
	}
	resolve_sql(o, m, d, c, r, left);
}

/* Resolve the remembered keys, a batch at a time, and forget them. */
static void
overlap_resolve_keys(EnergyOverlap *o)
{
	for (int from = 0; from < o->keys.n; from += RESOLVE_BATCH)
	{
		CHECK_FOR_INTERRUPTS();
		o->placement->resolve(o, o->keys.meters + from, o->keys.days + from,
							  o->keys.channels + from, o->keys.extra + from,
							  Min(RESOLVE_BATCH, o->keys.n - from));
	}
	o->keys.n = 0;
}

/*
 * Step 1 and 2 of the end of a call (see the top of the file), once the
 * caller holds the meter-days' locks; waited says whether it had to wait for
 * them (a concurrent writer of the same meters committed meanwhile).
 */
void
energy_overlap_resolve_new(EnergyOverlap *o, bool waited)
{
	bool		xact_snapshot = IsolationUsesXactSnapshot();

	if (xact_snapshot && waited)
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not serialize access due to a concurrent load or unload of the same meters"),
				 errhint("Retry the load.")));
	o->placement->probe(o, xact_snapshot);
	overlap_resolve_keys(o);
}

/*
 * On one server, in one statement: the file's partials go, their meter-days
 * go to the change log, and the statement returns the keys where the
 * file's copies counted and other files have copies too.
 */
static void
remove_partials_direct(EnergyOverlap *o, Datum *values)
{
	if (o->remove == NULL)
	{
		Oid			argtypes[1] = {INT8OID};

		o->remove = energy_prepare(psprintf("WITH gone AS (" ENERGY_DELETE_PARTIALS_SQL
											" RETURNING d.meter_id, d.day, d.channel_id, d.readings), "
											"logged AS (INSERT INTO %1$s.energy_change (meter_id, day) "
											"SELECT DISTINCT meter_id, day FROM gone) "
											"SELECT DISTINCT g.meter_id, g.day, g.channel_id FROM gone g "
											"WHERE g.readings OPERATOR(pg_catalog.>) 0 "
											"AND EXISTS (SELECT FROM %1$s.energy_daily o "
											"WHERE o.meter_id OPERATOR(pg_catalog.=) g.meter_id "
											"AND o.day OPERATOR(pg_catalog.=) g.day "
											"AND o.channel_id OPERATOR(pg_catalog.=) g.channel_id "
											"AND o.file_id OPERATOR(pg_catalog.<>) $1)",
											o->nspname),
								   1, argtypes);
	}
	energy_spi_run(o->remove, values, NULL, SPI_OK_SELECT, "removing a file's partials");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;

		energy_overlap_add(o,
						   DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull)),
						   DatumGetDateADT(SPI_getbinval(tup, desc, 2, &isnull)),
						   DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull)), true);
	}
	SPI_freetuptable(SPI_tuptable);
}

/*
 * energy_overlap_remove_partials() on a Citus cluster, which plans no
 * correlated subquery beside a data-modifying CTE: the partials go by one
 * statement that returns their keys, the meter-days go to the change log by
 * a second, and the keys where the file's copies counted are restored.
 */
static void
remove_partials_citus(EnergyOverlap *o, Datum *values)
{
	Oid			argtypes[2] = {INT8ARRAYOID, DATEARRAYOID};
	Oid			file_type[1] = {INT8OID};
	Datum		args[2];
	Datum	   *meters;
	Datum	   *days;
	uint64		n;

	energy_spi_exec(psprintf(ENERGY_DELETE_PARTIALS_SQL " RETURNING d.meter_id, d.day, d.channel_id, d.readings",
							 o->nspname),
					1, file_type, values, NULL, false,
					SPI_OK_DELETE_RETURNING, "deleting a file's partials");
	n = SPI_processed;
	if (n == 0)
		return;
	meters = palloc(sizeof(Datum) * n);
	days = palloc(sizeof(Datum) * n);
	for (uint64 i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;

		meters[i] = SPI_getbinval(tup, desc, 1, &isnull);
		days[i] = SPI_getbinval(tup, desc, 2, &isnull);
		/* copies that counted here: others may count again */
		if (DatumGetInt64(SPI_getbinval(tup, desc, 4, &isnull)) > 0)
			energy_overlap_add(o, DatumGetInt64(meters[i]), DatumGetDateADT(days[i]),
							   DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull)), true);
	}
	args[0] = energy_array(meters, NULL, (int) n, INT8OID);
	args[1] = energy_array(days, NULL, (int) n, DATEOID);
	SPI_freetuptable(SPI_tuptable);
	energy_spi_exec(psprintf("INSERT INTO %s.energy_change (meter_id, day) "
							 "SELECT DISTINCT * FROM ROWS FROM (pg_catalog.unnest($1), "
							 "pg_catalog.unnest($2)) AS k(meter_id, day)",
							 o->nspname),
					2, argtypes, args, NULL, false, SPI_OK_INSERT, "logging a file's meter-days");
}

/*
 * A removed file's partials go (a replace or an unload), and the meter-days
 * they covered go to the change log: populate must rewrite those days of
 * the views.  The keys (meter, day, channel) where the file's copies
 * counted (readings > 0) and other files have copies too are remembered:
 * the copies the file had superseded there count again once step 3
 * restores those keys.  Where the tables live is the overlap stage's
 * business (its placement): the loader calls this alone.
 */
void
energy_overlap_remove_partials(EnergyOverlap *o, int64 file_id)
{
	Datum		values[1] = {Int64GetDatum(file_id)};

	o->placement->remove_partials(o, values);
}

/* Step 3: the keys that removed files handed over (energy_overlap_add). */
void
energy_overlap_resolve_removed(EnergyOverlap *o)
{
	overlap_resolve_keys(o);
}

/* How many readings of a file of this call replaced a stored copy. */
int64
energy_overlap_replacing(EnergyOverlap *o, int64 file_id)
{
	EnergyReplacing *r = hash_search(o->replacing, &file_id, HASH_FIND, NULL);

	return r ? r->count : 0;
}
