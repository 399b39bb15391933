/*-------------------------------------------------------------------------
 *
 * sink.c
 *	  The direct bulk-insert sink: readings and register reads go into their
 *	  tables the way COPY FROM puts rows in, not through SQL.
 *
 * COPY spends most of its time in type input and per-row executor work; the
 * loader has already decoded every field, and LP readings arrive packed in
 * chunks (chunk.c), so what is left is forming tuples and handing them to
 * table_multi_insert() in batches, with one
 * BulkInsertState (a ring of buffers, so a big load does not evict the rest
 * of shared_buffers) and index entries made through the executor as
 * copyfrom.c does.  Each table's batch owns a memory context that is reset
 * after every flush, so memory stays flat however large the file is.
 *
 * BRIN indexes get one entry per heap block and distinct value instead of
 * one per row.  A BRIN summary is the union of the values of its range, so
 * inserting a value a second time into the same block changes nothing; this
 * removes almost all of the per-row revmap lookups that BRIN insertion
 * costs.  Other indexes a user
 * adds get the executor's usual per-row treatment.
 *
 * Privileges are checked the way the executor checks them for INSERT, since
 * this path does not go through the planner.
 *
 * On a Citus coordinator after energy_distribute(), the tables' rows live
 * in shards on the workers, which the direct path cannot reach.  There the
 * sink is routed: the same tuples, formed the same way, go in batches as
 * one array of the table's row type to INSERT ... SELECT FROM unnest($1),
 * which Citus executes by pulling the rows to the coordinator and copying
 * each shard's share into it with its COPY protocol, one connection per
 * worker.  A batch is a few thousand rows, so the per-statement cost of a
 * distributed INSERT (planning, a round trip per worker) is spread thin.
 *
 * The two paths are two SinkPathRoutines (open, flush, close a table), as
 * copyfrom.c's formats are CopyFromRoutines: energy_sink_open() picks one
 * from where the tables live, and the rest of the sink calls through it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/pg_am_d.h"
#include "catalog/pg_class.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "storage/lmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rls.h"
#include "utils/syscache.h"

#include "energy.h"

/* energy_change's columns, the same in every version that has it */
#define CHANGE_NATTS	2
/* A chunk's times, values, statuses and marks in one block, from 1.2 on. */
#define READING_BLOCK_COLUMN "block"

/* Chunks per bulk insert: about 100 kB of rows, as COPY buffers. */
#define CHUNK_BATCH		64

/* Rows per routed INSERT: each costs a plan and a round trip per worker. */
#define ROUTED_BATCH	4096

/* One target table and its pending batch. */
typedef struct SinkTable
{
	Relation	rel;
	ResultRelInfo *rri;
	BulkInsertState bistate;
	TupleTableSlot **slots;
	int			nslots;
	int			nused;
	int			natts;			/* the table's, as the schema's layout has it */
	AttrNumber	att_block;		/* energy_reading's block (1.2), or 0 */
	AttrNumber	att_line;		/* energy_reading's line (1.1), or 0 */
	bool		check_constraints;	/* CHECK constraints a user added */
	int			nbrin;			/* BRIN indexes handled here, not by rri */
	Relation   *brin_rels;
	IndexInfo **brin_infos;
	uint64	   *lines;			/* each pending row's line in the file */
	MemoryContext batch_cxt;
	SPIPlanPtr	routed;			/* routed_path's INSERT ... SELECT */
} SinkTable;

/*
 * How a table's rows reach it: the direct bulk insert, or the routed
 * INSERT of a Citus table.  One per sink, chosen when it opens, so that
 * forming rows and batching them never ask where the tables live.
 */
typedef struct SinkPathRoutine
{
	/*
	 * Make the table (t->rel, opened and locked) ready for rows: refuse what
	 * the path cannot write, set up its writer and the batch's slots.
	 * nslots is the caller's batch size, which a path may replace by its own.
	 */
	void		(*open) (EnergySink *sink, SinkTable *t, const EnergySchema *schema,
						 Index rti, int natts, int nslots);

	/* Write the pending batch (t->nused rows, at least one). */
	void		(*flush) (EnergySink *sink, SinkTable *t);

	/* Release what open made, before the table is closed. */
	void		(*close) (SinkTable *t);
} SinkPathRoutine;

static void sink_direct_open(EnergySink *sink, SinkTable *t, const EnergySchema *schema,
							 Index rti, int natts, int nslots);
static void sink_routed_open(EnergySink *sink, SinkTable *t, const EnergySchema *schema,
							 Index rti, int natts, int nslots);
static void sink_direct_flush(EnergySink *sink, SinkTable *t);
static void sink_routed_flush(EnergySink *sink, SinkTable *t);
static void sink_direct_close(SinkTable *t);
static void sink_routed_close(SinkTable *t);

/* A plain table on this server: bulk insertion into its heap and indexes. */
static const SinkPathRoutine direct_path = {
	.open = sink_direct_open,
	.flush = sink_direct_flush,
	.close = sink_direct_close,
};

/* A Citus table: batches of rows through an INSERT that Citus routes. */
static const SinkPathRoutine routed_path = {
	.open = sink_routed_open,
	.flush = sink_routed_flush,
	.close = sink_routed_close,
};

static void sink_split_brin(SinkTable *t);
static void sink_refuse_triggers(Relation rel);
static inline void sink_position(EnergySink *sink, uint64 line);

struct EnergySink
{
	const EnergyLayout *layout; /* the schema version's tables */
	EState	   *estate;
	CommandId	cid;
	EnergyErrorPosition *pos;	/* the load's error context, or NULL */
	const SinkPathRoutine *path;	/* direct_path, or routed_path on Citus */
	SinkTable	reading;
	SinkTable	reg;
	SinkTable	daily;
	SinkTable	change;			/* rel NULL on a 1.0 schema, which has none */
};

/* The batch of a table: its slots, the rows' lines, and their memory. */
static void
sink_table_slots(EnergySink *sink, SinkTable *t, int nslots)
{
	t->nslots = nslots;
	t->lines = palloc0(sizeof(uint64) * t->nslots);
	t->slots = palloc(sizeof(TupleTableSlot *) * t->nslots);
	for (int i = 0; i < t->nslots; i++)
		t->slots[i] = table_slot_create(t->rel, &sink->estate->es_tupleTable);
	t->nused = 0;
	t->batch_cxt = AllocSetContextCreate(CurrentMemoryContext,
										 "energy sink batch",
										 ALLOCSET_DEFAULT_SIZES);
}

/*
 * Open a table and make it ready for rows, through the sink's path.
 */
static void
sink_table_open(EnergySink *sink, SinkTable *t, const EnergySchema *schema,
				Oid relid, Index rti, int natts, int nslots)
{
	t->rel = table_open(relid, RowExclusiveLock);
	sink->path->open(sink, t, schema, rti, natts, nslots);
}

/*
 * The direct path: bulk insertion.  Only plain tables take it: a
 * partitioned or foreign table is refused.
 */
static void
sink_direct_open(EnergySink *sink, SinkTable *t, const EnergySchema *schema,
				 Index rti, int natts, int nslots)
{
	Oid			relid = RelationGetRelid(t->rel);
	TupleConstr *constr;

	if (t->rel->rd_rel->relkind != RELKIND_RELATION)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot bulk load into \"%s\": it is not a plain table",
						RelationGetRelationName(t->rel))));
	t->natts = natts;
	if (RelationGetDescr(t->rel)->natts != natts)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s\" does not have the columns energy expects",
						RelationGetRelationName(t->rel)),
				 errhint("The extension's tables may be older than its library; ALTER EXTENSION energy UPDATE brings them up to date and keeps every reading.")));
	if (check_enable_rls(relid, InvalidOid, false) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot bulk load into \"%s\": row-level security is enabled",
						RelationGetRelationName(t->rel))));
	sink_refuse_triggers(t->rel);
	if (energy_citus_table(relid))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot bulk load into \"%s\": it is a Citus table, but energy_daily is not",
						RelationGetRelationName(t->rel)),
				 errdetail("Its rows live in shards, which only the routed path writes, and that path is taken when energy_distribute() has distributed every table."),
				 errhint("Run SELECT energy_distribute() on the coordinator.")));

	t->rri = makeNode(ResultRelInfo);
	InitResultRelInfo(t->rri, t->rel, rti, NULL, 0);
	CheckValidResultRelCompat(t->rri, CMD_INSERT);
	ExecOpenIndices(t->rri, false);
	sink_split_brin(t);

	constr = RelationGetDescr(t->rel)->constr;
	t->check_constraints = (constr != NULL && constr->num_check > 0);

	t->bistate = GetBulkInsertState();
	sink_table_slots(sink, t, nslots);
}

/*
 * The routed path of a Citus table: slots to form the rows in, ROUTED_BATCH
 * of them, and the statement that sends a batch of them as one array.
 * Constraints, indexes, triggers and row-level security are the shards'
 * business, as for any INSERT that Citus routes.  Called with SPI
 * connected.
 */
static void
sink_routed_open(EnergySink *sink, SinkTable *t, const EnergySchema *schema,
				 Index rti, int natts, int nslots)
{
	Oid			argtypes[1];

	t->natts = natts;
	argtypes[0] = get_array_type(t->rel->rd_rel->reltype);
	if (!OidIsValid(argtypes[0]))
		elog(ERROR, "row type of \"%s\" has no array type",
			 RelationGetRelationName(t->rel));
	t->routed = energy_prepare(psprintf("INSERT INTO %s.%s SELECT (r).* FROM pg_catalog.unnest($1) r",
										schema->nspname,
										quote_identifier(RelationGetRelationName(t->rel))),
							   1, argtypes);
	sink_table_slots(sink, t, ROUTED_BATCH);
}

/*
 * Bulk insertion fires no triggers, so a trigger that an INSERT would fire
 * (a user's, or the check trigger of a foreign key) would be skipped without
 * a word, losing whatever its owner relies on: refuse instead, as for
 * row-level security.  A disabled trigger, or one that does not fire in the
 * session's replication role, is left alone, as INSERT leaves it.
 */
static void
sink_refuse_triggers(Relation rel)
{
	TriggerDesc *td = rel->trigdesc;
	bool		replica = (SessionReplicationRole == SESSION_REPLICATION_ROLE_REPLICA);

	if (td == NULL)
		return;
	for (int i = 0; i < td->numtriggers; i++)
	{
		Trigger    *tg = &td->triggers[i];

		if (!TRIGGER_FOR_INSERT(tg->tgtype) ||
			tg->tgenabled == TRIGGER_DISABLED ||
			tg->tgenabled == (replica ? TRIGGER_FIRES_ON_ORIGIN : TRIGGER_FIRES_ON_REPLICA))
			continue;
		if (tg->tgisinternal && OidIsValid(tg->tgconstraint))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot bulk load into \"%s\": it has constraint \"%s\", checked by a trigger",
							RelationGetRelationName(rel), get_constraint_name(tg->tgconstraint)),
					 errdetail("energy writes readings and partials by bulk insertion, which fires no triggers."),
					 errhint("Drop the constraint.")));
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot bulk load into \"%s\": it has trigger \"%s\"",
						RelationGetRelationName(rel), tg->tgname),
				 errdetail("energy writes readings and partials by bulk insertion, which fires no triggers."),
				 errhint("Drop the trigger, or disable it with ALTER TABLE ... DISABLE TRIGGER; energy_file shows what each load added.")));
	}
}

/*
 * Take the plain-column BRIN indexes out of the ResultRelInfo, so that the
 * executor inserts into the others and sink_brin_insert() into these.
 */
static void
sink_split_brin(SinkTable *t)
{
	ResultRelInfo *rri = t->rri;
	int			keep = 0;

	t->nbrin = 0;
	t->brin_rels = palloc(sizeof(Relation) * Max(rri->ri_NumIndices, 1));
	t->brin_infos = palloc(sizeof(IndexInfo *) * Max(rri->ri_NumIndices, 1));
	for (int i = 0; i < rri->ri_NumIndices; i++)
	{
		Relation	irel = rri->ri_IndexRelationDescs[i];
		IndexInfo  *info = rri->ri_IndexRelationInfo[i];

		if (irel->rd_rel->relam == BRIN_AM_OID &&
			info->ii_Expressions == NIL && info->ii_Predicate == NIL)
		{
			t->brin_rels[t->nbrin] = irel;
			t->brin_infos[t->nbrin] = info;
			t->nbrin++;
		}
		else
		{
			rri->ri_IndexRelationDescs[keep] = irel;
			rri->ri_IndexRelationInfo[keep] = info;
			keep++;
		}
	}
	rri->ri_NumIndices = keep;
}

/*
 * Insert the batch into one BRIN index, skipping a row whose heap block and
 * key equal the previous row's: it could not change the range's summary.
 * The first row of every block is always inserted, which is also the row
 * that triggers autosummarize of the previous range.
 */
static void
sink_brin_insert(SinkTable *t, EState *estate, Relation irel, IndexInfo *info)
{
	TupleDesc	hdesc = RelationGetDescr(t->rel);
	int			nkeys = info->ii_NumIndexAttrs;
	BlockNumber last_blk = InvalidBlockNumber;
	Datum		last_values[INDEX_MAX_KEYS];
	bool		last_isnull[INDEX_MAX_KEYS];

	for (int i = 0; i < t->nused; i++)
	{
		TupleTableSlot *slot = t->slots[i];
		BlockNumber blk = ItemPointerGetBlockNumber(&slot->tts_tid);
		Datum		values[INDEX_MAX_KEYS];
		bool		isnull[INDEX_MAX_KEYS];
		bool		same = (blk == last_blk);

		FormIndexDatum(info, slot, estate, values, isnull);
		for (int k = 0; same && k < nkeys; k++)
		{
			Form_pg_attribute att = TupleDescAttr(hdesc, info->ii_IndexAttrNumbers[k] - 1);

			same = (isnull[k] == last_isnull[k]) &&
				(isnull[k] || datumIsEqual(values[k], last_values[k],
										   att->attbyval, att->attlen));
		}
		if (same)
			continue;

		index_insert(irel, values, isnull, &slot->tts_tid, t->rel,
					 UNIQUE_CHECK_NO, false, info);
		last_blk = blk;
		memcpy(last_values, values, sizeof(Datum) * nkeys);
		memcpy(last_isnull, isnull, sizeof(bool) * nkeys);
	}
}

/*
 * A table's columns, before it is opened, as the permission check's set:
 * every column but the dropped ones (1.2 dropped energy_reading's arrays,
 * which a privilege cannot name any more).
 */
static Bitmapset *
rel_columns(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Bitmapset  *cols = NULL;
	int			natts;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	natts = ((Form_pg_class) GETSTRUCT(tup))->relnatts;
	ReleaseSysCache(tup);
	for (int a = 1; a <= natts; a++)
	{
		HeapTuple	att = SearchSysCache2(ATTNUM, ObjectIdGetDatum(relid),
										  Int16GetDatum(a));
		bool		dropped;

		if (!HeapTupleIsValid(att))
			elog(ERROR, "cache lookup failed for attribute %d of relation %u", a, relid);
		dropped = ((Form_pg_attribute) GETSTRUCT(att))->attisdropped;
		ReleaseSysCache(att);
		if (!dropped)
			cols = bms_add_member(cols, a - FirstLowInvalidHeapAttributeNumber);
	}
	return cols;
}

/*
 * The column the layout names must be the table's, by name and not
 * dropped: the sink writes it by number.  Nothing but the relcache entry
 * already open is read.
 */
static void
sink_check_column(SinkTable *t, AttrNumber att, const char *name)
{
	TupleDesc	desc = RelationGetDescr(t->rel);
	Form_pg_attribute a;

	if (att == 0)
		return;
	a = TupleDescAttr(desc, att - 1);
	if (a->attisdropped || strcmp(NameStr(a->attname), name) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s\" does not have the columns energy expects",
						RelationGetRelationName(t->rel)),
				 errdetail("Column %d is not \"%s\".", att, name)));
}

/*
 * The range table exists only so that permission checks and constraint
 * error messages work as they do for an INSERT.
 */
EnergySink *
energy_sink_open(const EnergySchema *schema, EnergyErrorPosition *pos)
{
	EnergySink *sink = palloc0(sizeof(EnergySink));
	const EnergyLayout *layout = schema->layout;
	Oid			relids[4];
	int			ntables;
	List	   *rtable = NIL;
	List	   *perminfos = NIL;

	sink->pos = pos;
	sink->layout = layout;
	sink->path = energy_distributed(schema) ? &routed_path : &direct_path;

	relids[0] = energy_relation(schema, "energy_reading");
	relids[1] = energy_relation(schema, "energy_register");
	relids[2] = energy_relation(schema, "energy_daily");
	/* Until ALTER EXTENSION UPDATE, a 1.0 schema loads without a change log. */
	ntables = layout->change_log ? 4 : 3;
	if (layout->change_log)
		relids[3] = energy_relation(schema, "energy_change");

	/*
	 * Every column is written, so INSERT is needed on every column, as for an
	 * INSERT naming them all: without insertedCols, the executor would accept
	 * INSERT on any one column.  The tables are locked first, as a planned
	 * INSERT's are before the executor checks its permissions (which asserts
	 * it from PostgreSQL 18 on).
	 */
	for (int i = 0; i < ntables; i++)
	{
		RangeTblEntry *rte = makeNode(RangeTblEntry);

		rte->rtekind = RTE_RELATION;
		rte->relid = relids[i];
		rte->relkind = RELKIND_RELATION;
		rte->rellockmode = RowExclusiveLock;
		LockRelationOid(relids[i], RowExclusiveLock);
		energy_rte_add_permission(&rtable, &perminfos, rte, ACL_INSERT,
								  rel_columns(relids[i]));
	}
	ExecCheckPermissionsCompat(rtable, perminfos, true);

	sink->estate = CreateExecutorState();
	ExecInitRangeTableCompat(sink->estate, rtable, perminfos);
	sink->cid = GetCurrentCommandId(true);
	sink->estate->es_output_cid = sink->cid;

	sink_table_open(sink, &sink->reading, schema, relids[0], 1, layout->reading_natts,
					CHUNK_BATCH);
	sink->reading.att_block = layout->reading_block;
	sink->reading.att_line = layout->reading_line;
	sink_check_column(&sink->reading, sink->reading.att_block, READING_BLOCK_COLUMN);
	sink_check_column(&sink->reading, sink->reading.att_line, "line");
	sink_table_open(sink, &sink->reg, schema, relids[1], 2, layout->register_natts,
					energy_batch_rows);
	sink_table_open(sink, &sink->daily, schema, relids[2], 3, layout->daily_natts,
					energy_batch_rows);
	if (ntables == 4)
		sink_table_open(sink, &sink->change, schema, relids[3], 4, CHANGE_NATTS,
						energy_batch_rows);
	return sink;
}

/*
 * Rows are checked and indexed a batch after they were read: while one is,
 * the load's error context names its line, as COPY's multi-insert buffers
 * do, so an error (a CHECK a user added, a unique index) points at the
 * row that caused it.  Line 0 means the batch as a whole.
 */
static inline void
sink_position(EnergySink *sink, uint64 line)
{
	if (sink->pos)
		energy_error_position_line(sink->pos, line);
}

/*
 * Write the pending batch through the sink's path, then forget the batch's
 * memory.
 */
static void
sink_table_flush(EnergySink *sink, SinkTable *t)
{
	EnergyErrorPosition saved;

	if (t->nused == 0)
		return;
	Assert(t->rel != NULL);

	CHECK_FOR_INTERRUPTS();
	if (sink->pos)
		saved = *sink->pos;

	sink->path->flush(sink, t);

	/* back to the row being loaded, whose add may have caused this flush */
	if (sink->pos)
		*sink->pos = saved;
	for (int i = 0; i < t->nused; i++)
		ExecClearTuple(t->slots[i]);
	ResetPerTupleExprContext(sink->estate);
	MemoryContextReset(t->batch_cxt);
	t->nused = 0;
}

/*
 * The direct path's batch: heap first (one WAL record per page, not per
 * row), then index entries.
 */
static void
sink_direct_flush(EnergySink *sink, SinkTable *t)
{
	EState	   *estate = sink->estate;
	MemoryContext old;

	if (t->check_constraints)
		for (int i = 0; i < t->nused; i++)
		{
			sink_position(sink, t->lines[i]);
			ExecConstraints(t->rri, t->slots[i], estate);
		}

	sink_position(sink, 0);
	old = MemoryContextSwitchTo(GetPerTupleMemoryContext(estate));
	table_multi_insert(t->rel, t->slots, t->nused, sink->cid, 0, t->bistate);
	MemoryContextSwitchTo(old);

	for (int b = 0; b < t->nbrin; b++)
		sink_brin_insert(t, estate, t->brin_rels[b], t->brin_infos[b]);

	if (t->rri->ri_NumIndices > 0)
	{
		for (int i = 0; i < t->nused; i++)
		{
			List	   *recheck;

			sink_position(sink, t->lines[i]);
			recheck = ExecInsertIndexTuplesCompat(t->rri, t->slots[i], estate,
												  false, false, NULL, NIL);
			list_free(recheck);
		}
	}
}

/*
 * The routed path's batch: the slots' rows as one array of the row type.
 * An error is the batch's, not one row's: the error context names no line.
 */
static void
sink_routed_flush(EnergySink *sink, SinkTable *t)
{
	MemoryContext old = MemoryContextSwitchTo(t->batch_cxt);
	Datum	   *rows = palloc(sizeof(Datum) * t->nused);
	Datum		arg;

	for (int i = 0; i < t->nused; i++)
		rows[i] = ExecFetchSlotHeapTupleDatum(t->slots[i]);
	arg = PointerGetDatum(construct_array(rows, t->nused, t->rel->rd_rel->reltype,
										  -1, false, TYPALIGN_DOUBLE));
	MemoryContextSwitchTo(old);
	sink_position(sink, 0);
	energy_spi_run(t->routed, &arg, NULL, SPI_OK_INSERT, "a routed insert");
}

/* Empty text becomes NULL, as an empty CSV field does for COPY. */
static inline Datum
text_or_null(const EpText *t, bool *isnull)
{
	*isnull = (t->len == 0);
	return *isnull ? (Datum) 0 : PointerGetDatum(energy_text(t));
}

/*
 * A one-dimensional array of 8-byte pass-by-value elements without nulls,
 * laid out directly: the values are already in the array's storage format.
 */
static Datum
fixed_array(const void *data, int n, Oid elemtype)
{
	Size		nbytes = ARR_OVERHEAD_NONULLS(1) + (Size) n * 8;
	ArrayType  *a = palloc(nbytes);

	SET_VARSIZE(a, nbytes);
	a->ndim = 1;
	a->dataoffset = 0;
	a->elemtype = elemtype;
	ARR_DIMS(a)[0] = n;
	ARR_LBOUND(a)[0] = 1;
	memcpy(ARR_DATA_PTR(a), data, (Size) n * 8);
	return PointerGetDatum(a);
}

/*
 * A chunk as a 1.0 or 1.1 schema stores it, until ALTER EXTENSION UPDATE:
 * times, values (as float8) and statuses as arrays.
 */
static void
chunk_arrays(const EnergyChunk *ch, Datum *v, bool *n)
{
	double	   *values = palloc(sizeof(double) * ch->n);

	for (int i = 0; i < ch->n; i++)
		values[i] = ch->value[i].value;
	v[3] = fixed_array(ch->at, ch->n, TIMESTAMPOID);
	v[4] = fixed_array(values, ch->n, FLOAT8OID);
	if (ch->status == NULL)
		n[5] = true;
	else
	{
		Datum	   *elems = palloc(sizeof(Datum) * ch->n);
		bool	   *nulls = palloc(sizeof(bool) * ch->n);
		int			dims[1] = {ch->n};
		int			lbs[1] = {1};

		for (int i = 0; i < ch->n; i++)
		{
			nulls[i] = (ch->status[i] == NULL);
			elems[i] = PointerGetDatum(ch->status[i]);
		}
		v[5] = PointerGetDatum(construct_md_array(elems, nulls, 1, dims, lbs,
												  TEXTOID, -1, false, TYPALIGN_INT));
		n[5] = false;
	}
}

/*
 * What every row writer below does first: the batch's next slot (a full
 * batch is written as it fills, so one is always free), cleared, with
 * every column null or every column not.
 */
static TupleTableSlot *
row_begin(SinkTable *t, bool all_null)
{
	TupleTableSlot *slot = t->slots[t->nused];

	Assert(t->nused < t->nslots);
	ExecClearTuple(slot);
	memset(slot->tts_isnull, all_null, sizeof(bool) * t->natts);
	return slot;
}

/*
 * And last: the row formed in the slot joins the batch, with the file's
 * line it came from (0 for none), and a full batch is written.
 */
static void
row_end(EnergySink *sink, SinkTable *t, TupleTableSlot *slot, uint64 line)
{
	ExecStoreVirtualTuple(slot);
	t->lines[t->nused] = line;
	if (++t->nused == t->nslots)
		sink_table_flush(sink, t);
}

void
energy_sink_chunk(EnergySink *sink, const EnergyChunk *ch)
{
	SinkTable  *t = &sink->reading;
	/* dropped columns and superseded (nothing is, yet) stay null */
	TupleTableSlot *slot = row_begin(t, true);
	Datum	   *v = slot->tts_values;
	bool	   *n = slot->tts_isnull;
	MemoryContext old = MemoryContextSwitchTo(t->batch_cxt);

	v[0] = Int64GetDatum(ch->meter_id);
	v[1] = Int64GetDatum(ch->segment_id);
	v[2] = DateADTGetDatum(ch->day);
	n[0] = n[1] = n[2] = false;
	if (t->att_line)
	{
		v[t->att_line - 1] = Int64GetDatum((int64) ch->line);
		n[t->att_line - 1] = false;
	}
	if (t->att_block)
	{
		v[t->att_block - 1] = PointerGetDatum(energy_block_make(ch->n, ch->day, ch->at,
																ch->value, ch->status, NULL));
		n[t->att_block - 1] = false;
	}
	else
	{
		n[3] = n[4] = false;
		chunk_arrays(ch, v, n);
	}
	MemoryContextSwitchTo(old);
	row_end(sink, t, slot, ch->line);
}

/* Readings a chunk may hold: a day of 5-minute reads in a block. */
int
energy_sink_chunk_max(const EnergySink *sink)
{
	return sink->layout->chunk_max;
}

void
energy_sink_register(EnergySink *sink, const EnergyRegister *r)
{
	SinkTable  *t = &sink->reg;
	TupleTableSlot *slot = row_begin(t, false);
	const EpRow *row = r->row;
	Datum	   *v = slot->tts_values;
	bool	   *n = slot->tts_isnull;
	MemoryContext old = MemoryContextSwitchTo(t->batch_cxt);

	v[0] = Int64GetDatum(r->meter_id);
	v[1] = Int64GetDatum(r->segment_id);
	v[2] = TimestampGetDatum(r->at);
	v[3] = Float8GetDatum(row->value.value);
	n[4] = row->max_demand.is_null;
	v[4] = n[4] ? (Datum) 0 : Float8GetDatum(row->max_demand.value);
	n[5] = r->max_demand_at_null;
	v[5] = n[5] ? (Datum) 0 : TimestampGetDatum(r->max_demand_at);
	v[6] = text_or_null(&row->status, &n[6]);
	v[7] = text_or_null(&row->period, &n[7]);
	n[8] = (row->dls_active < 0);
	v[8] = BoolGetDatum(row->dls_active > 0);
	n[9] = !row->has_reset_count;
	v[9] = Int64GetDatum(row->reset_count);
	n[10] = r->reset_at_null;
	v[10] = n[10] ? (Datum) 0 : TimestampGetDatum(r->reset_at);
	v[11] = text_or_null(&row->rate, &n[11]);
	if (sink->layout->marks)
	{
		v[12] = Int64GetDatum((int64) row->line);
		n[13] = true;			/* superseded: nothing is, yet */
	}
	MemoryContextSwitchTo(old);
	row_end(sink, t, slot, r->row->line);
}

/*
 * The primary key of energy_daily is inserted through the executor, which
 * checks its uniqueness as an INSERT would.
 */
void
energy_sink_partial(EnergySink *sink, const EnergyPartial *p)
{
	SinkTable  *t = &sink->daily;
	TupleTableSlot *slot = row_begin(t, false);
	Datum	   *v = slot->tts_values;
	bool	   *n = slot->tts_isnull;

	v[0] = Int64GetDatum(p->meter_id);
	v[1] = DateADTGetDatum(p->day);
	v[2] = Int64GetDatum(p->channel_id);
	v[3] = Int64GetDatum(p->file_id);
	v[4] = Int32GetDatum(p->part);
	v[5] = Int64GetDatum(p->readings);
	v[6] = p->sum;
	v[7] = Float8GetDatum(p->min);
	v[8] = Float8GetDatum(p->max);
	if (sink->layout->marks)
	{
		v[9] = Int64GetDatum(p->flagged);
		n[10] = (p->interval_minutes <= 0);
		v[10] = Int32GetDatum(p->interval_minutes);
	}
	row_end(sink, t, slot, 0);
}

/* One meter-day for the change log that populate reads. */
void
energy_sink_change(EnergySink *sink, int64 meter_id, int32 day)
{
	SinkTable  *t = &sink->change;
	TupleTableSlot *slot;

	if (t->rel == NULL)
		return;
	slot = row_begin(t, false);
	slot->tts_values[0] = Int64GetDatum(meter_id);
	slot->tts_values[1] = DateADTGetDatum(day);
	row_end(sink, t, slot, 0);
}



/* Whether the tables are Citus's, written through the routed path. */
bool
energy_sink_distributed(const EnergySink *sink)
{
	return sink->path == &routed_path;
}

void
energy_sink_flush(EnergySink *sink)
{
	sink_table_flush(sink, &sink->reading);
	sink_table_flush(sink, &sink->reg);
	sink_table_flush(sink, &sink->daily);
	sink_table_flush(sink, &sink->change);
}

/* The direct path's writer: its bulk-insert state and index handles. */
static void
sink_direct_close(SinkTable *t)
{
	FreeBulkInsertState(t->bistate);
	table_finish_bulk_insert(t->rel, 0);
	ExecCloseIndices(t->rri);
	for (int b = 0; b < t->nbrin; b++)
	{
		index_insert_cleanupCompat(t->brin_rels[b], t->brin_infos[b]);
		index_close(t->brin_rels[b], RowExclusiveLock);
	}
}

/* The routed path's writer: its statement. */
static void
sink_routed_close(SinkTable *t)
{
	SPI_freeplan(t->routed);
}

/*
 * Flush what is pending and release everything but the locks, which are
 * held to the end of the transaction as for any INSERT.
 */
void
energy_sink_close(EnergySink *sink)
{
	SinkTable  *tables[4] = {&sink->reading, &sink->reg, &sink->daily, &sink->change};

	energy_sink_flush(sink);
	for (int i = 0; i < 4; i++)
	{
		SinkTable  *t = tables[i];

		if (t->rel == NULL)
			continue;
		sink->path->close(t);
		table_close(t->rel, NoLock);
		MemoryContextDelete(t->batch_cxt);
	}
	ExecResetTupleTable(sink->estate->es_tupleTable, false);
	FreeExecutorState(sink->estate);
	pfree(sink);
}
