/*-------------------------------------------------------------------------
 *
 * populate.c
 *	  energy_populate_view(): bring energy_data_view up to date at a cost
 *	  that follows what changed, not the size of the history.
 *
 * A refresh recomputes every meter-day ever loaded; a metering team loads
 * one more day into years of them.  So loads, replaces and unloads record
 * the meter-days they touch in energy_change (committed with them), and a
 * populate rewrites only those rows of the view:
 *
 *	1. lock the view in ExclusiveLock, the lock REFRESH ... CONCURRENTLY
 *	   takes: readers go on, a second populate or a REFRESH waits;
 *	2. take the change log with DELETE ... RETURNING, which hands over
 *	   exactly the entries this snapshot sees: those of loads still running
 *	   stay for the next populate;
 *	3. per batch of changed (meter_code, serial_number, day) keys, delete
 *	   the view's rows of those keys and insert what the view's own defining
 *	   query (pg_get_viewdef, so it is never written twice) gives for them;
 *	4. keep the view's row count in energy_view_state from the rows
 *	   deleted and inserted.
 *
 * The first populate, one of a view that is not populated (as after a
 * restore), and the first after ALTER EXTENSION UPDATE (no state row)
 * refresh in full.
 *
 * The executor refuses to write into a materialized view except inside
 * REFRESH (matview.c keeps that switch to itself), so rows go in and out
 * through the table AM, and index entries through ExecInsertIndexTuples,
 * the calls the executor itself makes for INSERT and DELETE.  They are
 * WAL-logged by the heap AM, invisible to other sessions until commit, and
 * the dead rows they leave are VACUUM's, as for any table.  The view stays
 * a materialized view: same relation, relkind 'm', unique index, and a hand
 * run REFRESH MATERIALIZED VIEW still gives the same rows.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "energy.h"

PG_FUNCTION_INFO_V1(energy_populate_view);

/* Changed meter-days rewritten per round: memory stays bounded. */
#define POPULATE_BATCH 10000

/* The key of the view's unique index, which the change log maps to. */
#define NKEYS 3

/* Writes into one materialized view, as the executor would make them. */
typedef struct ViewWriter
{
	Relation	rel;
	ResultRelInfo *rri;
	EState	   *estate;
	TupleTableSlot *slot;
	SPIPlanPtr	find_plan;		/* ctids of the rows of a batch of keys */
	SPIPlanPtr	compute_plan;	/* the defining query for a batch of keys */
	int64		deleted;
	int64		inserted;
} ViewWriter;

/*
 * Run a statement that must succeed with the given SPI code; return
 * SPI_processed.
 */
static uint64
populate_sql(const char *sql, int expected)
{
	int			rc = SPI_execute(sql, false, 0);

	if (rc != expected)
		elog(ERROR, "statement \"%s\" failed: %s", sql, SPI_result_code_string(rc));
	return SPI_processed;
}

/* One int8 of the first row of the last SPI result; NULL gives -1. */
static int64
first_int8(void)
{
	bool		isnull;
	Datum		d;

	Assert(SPI_processed > 0);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? -1 : DatumGetInt64(d);
}

/*
 * A full refresh: plain when the view holds no data (nobody can be reading
 * it), CONCURRENTLY otherwise.  The change log is emptied first, so the
 * refresh, with a later snapshot, sees at least every change it drops.
 */
static int64
populate_full(const EnergySchema *schema, bool populated)
{
	populate_sql(psprintf("DELETE FROM %s.energy_change", schema->nspname),
				 SPI_OK_DELETE);
	populate_sql(psprintf("REFRESH MATERIALIZED VIEW %s%s.energy_data_view",
						  populated ? "CONCURRENTLY " : "", schema->nspname),
				 SPI_OK_UTILITY);
	populate_sql(psprintf("SELECT pg_catalog.count(*) FROM %s.energy_data_view",
						  schema->nspname), SPI_OK_SELECT);
	return first_int8();
}

/*
 * The statements of an incremental populate.  The keys come as three
 * parallel arrays; the defining query is the view's own, wrapped in a
 * LATERAL subquery kept from being flattened (OFFSET 0), so that the key
 * conditions are pushed below its GROUP BY: one index probe per key, not a
 * pass over the history.
 */
static void
writer_prepare(ViewWriter *w, const EnergySchema *schema)
{
	Oid			argtypes[NKEYS] = {TEXTARRAYOID, TEXTARRAYOID, DATEARRAYOID};
	const char *keys = "ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), "
		"pg_catalog.unnest($3)) AS k(meter_code, serial_number, day)";
	const char *match = "v.meter_code OPERATOR(pg_catalog.=) k.meter_code "
		"AND v.serial_number OPERATOR(pg_catalog.=) k.serial_number "
		"AND v.day OPERATOR(pg_catalog.=) k.day";
	char	   *viewdef;
	size_t		len;

	populate_sql(psprintf("SELECT pg_catalog.pg_get_viewdef(%u)",
						  RelationGetRelid(w->rel)), SPI_OK_SELECT);
	viewdef = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	len = strlen(viewdef);
	while (len > 0 && (viewdef[len - 1] == ';' || isspace((unsigned char) viewdef[len - 1])))
		viewdef[--len] = '\0';

	w->find_plan = SPI_prepare(psprintf("SELECT v.ctid FROM %s.energy_data_view v "
										"JOIN %s ON %s",
										schema->nspname, keys, match),
							   NKEYS, argtypes);
	w->compute_plan = SPI_prepare(psprintf("SELECT v.* FROM %s, LATERAL "
										   "(SELECT * FROM (%s) v WHERE %s OFFSET 0) v",
										   keys, viewdef, match),
								  NKEYS, argtypes);
	if (w->find_plan == NULL || w->compute_plan == NULL)
		elog(ERROR, "could not prepare the populate of energy_data_view: %s",
			 SPI_result_code_string(SPI_result));
}

/*
 * Open the view for writing.  It is already locked in ExclusiveLock, which
 * excludes every other writer (REFRESH, another populate) but no reader.
 */
static void
writer_open(ViewWriter *w, const EnergySchema *schema, Oid viewid)
{
	memset(w, 0, sizeof(*w));
	w->rel = table_open(viewid, NoLock);
	Assert(w->rel->rd_rel->relkind == RELKIND_MATVIEW);
	Assert(CheckRelationLockedByMe(w->rel, ExclusiveLock, true));

	w->estate = CreateExecutorState();
	w->rri = makeNode(ResultRelInfo);
	InitResultRelInfo(w->rri, w->rel, 1, NULL, 0);
	ExecOpenIndices(w->rri, false);
	w->slot = table_slot_create(w->rel, &w->estate->es_tupleTable);
	writer_prepare(w, schema);
}

static void
writer_close(ViewWriter *w)
{
	ExecCloseIndices(w->rri);
	ExecResetTupleTable(w->estate->es_tupleTable, false);
	FreeExecutorState(w->estate);
	table_close(w->rel, NoLock);
}

/*
 * Rewrite the view's rows of one batch of keys: delete what it holds for
 * them, then insert what the defining query now gives (nothing, for a
 * meter-day whose last file was unloaded).  The unique index checks every
 * insertion, so a row can never be doubled.
 */
static void
writer_apply(ViewWriter *w, Datum *keys)
{
	Snapshot	snapshot = GetActiveSnapshot();
	CommandId	cid;
	uint64		n;
	int			rc;

	rc = SPI_execute_plan(w->find_plan, keys, NULL, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "finding the rows of energy_data_view failed: %s",
			 SPI_result_code_string(rc));
	n = SPI_processed;
	for (uint64 i = 0; i < n; i++)
	{
		bool		isnull;
		ItemPointer tid = (ItemPointer)
			DatumGetPointer(SPI_getbinval(SPI_tuptable->vals[i],
										  SPI_tuptable->tupdesc, 1, &isnull));

		simple_table_tuple_delete(w->rel, tid, snapshot);
	}
	w->deleted += n;
	SPI_freetuptable(SPI_tuptable);

	rc = SPI_execute_plan(w->compute_plan, keys, NULL, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "computing the rows of energy_data_view failed: %s",
			 SPI_result_code_string(rc));
	n = SPI_processed;
	cid = GetCurrentCommandId(true);
	w->estate->es_output_cid = cid;
	for (uint64 i = 0; i < n; i++)
	{
		List	   *recheck;

		ExecForceStoreHeapTuple(SPI_tuptable->vals[i], w->slot, false);
		table_tuple_insert(w->rel, w->slot, cid, 0, NULL);
		recheck = ExecInsertIndexTuples(w->rri, w->slot, w->estate,
										false, false, NULL, NIL);
		list_free(recheck);
		ExecClearTuple(w->slot);
		ResetPerTupleExprContext(w->estate);
	}
	w->inserted += n;
	SPI_freetuptable(SPI_tuptable);
}

/* The keys of the fetched batch as three arrays: meter codes, serials, days. */
static void
batch_keys(Datum *keys)
{
	uint64		n = SPI_processed;
	Datum	   *cols[NKEYS];
	Oid			types[NKEYS] = {TEXTOID, TEXTOID, DATEOID};

	for (int k = 0; k < NKEYS; k++)
		cols[k] = palloc(sizeof(Datum) * n);
	for (uint64 i = 0; i < n; i++)
		for (int k = 0; k < NKEYS; k++)
		{
			bool		isnull;

			cols[k][i] = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc,
									   k + 1, &isnull);
			Assert(!isnull);
		}
	for (int k = 0; k < NKEYS; k++)
	{
		int16		typlen;
		bool		typbyval;
		char		typalign;

		get_typlenbyvalalign(types[k], &typlen, &typbyval, &typalign);
		keys[k] = PointerGetDatum(construct_array(cols[k], (int) n, types[k],
												  typlen, typbyval, typalign));
	}
}

/*
 * Rewrite the meter-days of the change log, in key order (so the view's
 * index is walked, not jumped about), a batch at a time.  Returns the new
 * row count, from the old one when it is known (-1 when not).
 */
static int64
populate_changes(const EnergySchema *schema, Oid viewid, int64 view_rows)
{
	ViewWriter	w;
	Portal		cursor;
	MemoryContext batch_cxt;
	SPIPlanPtr	plan;

	writer_open(&w, schema, viewid);
	plan = SPI_prepare(psprintf("WITH c AS (DELETE FROM %1$s.energy_change RETURNING meter_id, day) "
								"SELECT DISTINCT m.meter_code, m.serial_number, c.day "
								"FROM c JOIN %1$s.energy_meter m "
								"ON m.meter_id OPERATOR(pg_catalog.=) c.meter_id "
								"ORDER BY 1, 2, 3", schema->nspname), 0, NULL);
	if (plan == NULL)
		elog(ERROR, "could not prepare reading the change log: %s",
			 SPI_result_code_string(SPI_result));
	cursor = SPI_cursor_open(NULL, plan, NULL, NULL, false);
	batch_cxt = AllocSetContextCreate(CurrentMemoryContext, "energy populate batch",
									  ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		Datum		keys[NKEYS];
		MemoryContext old;

		CHECK_FOR_INTERRUPTS();
		SPI_cursor_fetch(cursor, true, POPULATE_BATCH);
		if (SPI_processed == 0)
			break;
		old = MemoryContextSwitchTo(batch_cxt);
		batch_keys(keys);
		MemoryContextSwitchTo(old);
		SPI_freetuptable(SPI_tuptable);
		writer_apply(&w, keys);
		MemoryContextReset(batch_cxt);
	}
	SPI_cursor_close(cursor);
	writer_close(&w);

	if (view_rows < 0)
	{
		populate_sql(psprintf("SELECT pg_catalog.count(*) FROM %s.energy_data_view",
							  schema->nspname), SPI_OK_SELECT);
		return first_int8();
	}
	Assert(view_rows - w.deleted + w.inserted >= 0);
	return view_rows - w.deleted + w.inserted;
}

/* Record the populate and the view's row count. */
static void
write_state(const EnergySchema *schema, int64 rows)
{
	Datum		args[1] = {Int64GetDatum(rows)};
	Oid			argtypes[1] = {INT8OID};
	int			rc;

	rc = SPI_execute_with_args(psprintf("INSERT INTO %s.energy_view_state AS s "
										"(populated_at, populated_by, snapshot, view_rows) "
										"VALUES (pg_catalog.now(), SESSION_USER, "
										"pg_catalog.pg_current_snapshot(), $1) "
										"ON CONFLICT (singleton) DO UPDATE SET "
										"populated_at = excluded.populated_at, "
										"populated_by = excluded.populated_by, "
										"snapshot = excluded.snapshot, view_rows = excluded.view_rows",
										schema->nspname),
							   1, argtypes, args, NULL, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "recording the populate failed: %s", SPI_result_code_string(rc));
}

/*
 * Bring energy_data_view up to date; returns its row count.  The view is
 * locked before anything is read, so a second populate waits and then finds
 * nothing left to do.
 */
Datum
energy_populate_view(PG_FUNCTION_ARGS)
{
	EnergySchema schema;
	Oid			viewid;
	bool		populated;
	bool		has_state;
	int64		rows = -1;

	energy_schema_lookup(&schema, fcinfo);
	energy_require_schema(&schema, 101, "energy_populate_view()");
	viewid = energy_relation(&schema, "energy_data_view");
	LockRelationOid(viewid, ExclusiveLock);
	populated = energy_view_populated(&schema);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	has_state = populate_sql(psprintf("SELECT view_rows FROM %s.energy_view_state",
									  schema.nspname), SPI_OK_SELECT) > 0;
	if (has_state)
		rows = first_int8();

	if (!populated || !has_state)
		rows = populate_full(&schema, populated);
	else
		rows = populate_changes(&schema, viewid, rows);
	write_state(&schema, rows);
	SPI_finish();
	PG_RETURN_INT64(rows);
}
