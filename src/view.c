/*-------------------------------------------------------------------------
 *
 * view.c
 *	  The views: whether they are populated, and energy_populate_view(),
 *	  which brings energy_data_view and energy_channel_view up to date at a
 *	  cost that follows what changed, not the size of the history.
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
 *	3. per batch of changed (meter_code, serial_number, day) keys, compute
 *	   what each view's own defining query (pg_get_viewdef, so it is never
 *	   written twice) gives for them, leave the rows that come out the same
 *	   (byte for byte: record_image_eq(), the *= that REFRESH ... CONCURRENTLY
 *	   compares with: -0 is not 0, 8.30 is not 8.3),
 *	   delete the old ones and insert the new ones.  energy_data_view has
 *	   at most one row per key; energy_channel_view one per data type and
 *	   unit of it, matched old to new by a full join on those two;
 *	4. keep the view's row count in energy_view_state from the rows
 *	   deleted and inserted (nothing is written when nothing changed).
 *
 * The first populate, one of a view that is not populated (as after a
 * restore), the first after ALTER EXTENSION UPDATE (no state row), and the
 * first after a change of energy_unit (its digest differs from the one the
 * state recorded) refresh both views in full.
 *
 * On a Citus cluster the views stay on the coordinator, but energy_daily's
 * rows live in shards, where the per-key lateral probes of step 3 cannot be
 * planned.  There each batch's partials are first staged in a temporary
 * table of energy_daily's shape, by one statement that Citus sends to the
 * shards of the batch's meters only, and step 3 reads the defining query
 * with energy_daily replaced by the stage.  The cost still follows the
 * change: a batch reads its own meter-days' partials, never the history.
 * Which of the two a populate reads (energy_daily itself, or the stage) is
 * a StageRoutine, chosen once per call.
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
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "catalog/namespace.h"
#include "rewrite/prs2lock.h"
#include "utils/ruleutils.h"
#include "storage/lmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "energy.h"

PG_FUNCTION_INFO_V1(energy_populate_view);

/* Changed meter-days rewritten per batch: memory stays bounded. */
#define POPULATE_BATCH 10000

/* The key of the view's unique index, which the change log maps to. */
#define NKEYS 3

/*
 * The statements of an incremental populate, prepared once per backend for
 * the view they were made for (the plan cache replans them if the tables
 * change): a populate that follows a small change should not pay for
 * parsing and planning the view's defining query every time.
 */
typedef struct RewritePlan
{
	Oid			viewid;
	Oid			daily;			/* the partials it reads: energy_daily or a
								 * stage */
	SPIPlanPtr	plan;			/* per key: old row's ctid, same?, new row */
} RewritePlan;

typedef struct PopulatePlans
{
	Oid			nspid;
	SPIPlanPtr	changes;		/* the change log, taken and mapped to keys */
	RewritePlan data;			/* energy_data_view */
	RewritePlan channels;		/* energy_channel_view */
} PopulatePlans;

static PopulatePlans plans;

typedef struct Stage Stage;

/*
 * Where an incremental populate reads each batch's partials from: on one
 * server energy_daily itself, on Citus a temporary table that each batch's
 * partials are staged in.  Chosen once per populate, from where the tables
 * live (as copyfrom.c chooses a format's CopyFromRoutine).
 */
typedef struct StageRoutine
{
	/* Set stage->relid (and name) to the relation the batches read. */
	void		(*open) (const EnergySchema *schema, Stage *stage);

	/* Make the stage hold the partials of a batch of keys. */
	void		(*fill) (const EnergySchema *schema, const Stage *stage, Datum *keys);
} StageRoutine;

/*
 * The partials the views' defining queries read, and energy_daily, which
 * they name, to replace by them.
 */
struct Stage
{
	const StageRoutine *routine;	/* direct_stage, or citus_stage */
	Oid			relid;			/* energy_daily itself, or the stage */
	Oid			daily;
	const char *name;			/* qualified, for SQL; NULL for energy_daily */
};

static void stage_open_direct(const EnergySchema *schema, Stage *stage);
static void stage_open_citus(const EnergySchema *schema, Stage *stage);
static void stage_fill_direct(const EnergySchema *schema, const Stage *stage,
							  Datum *keys);
static void stage_fill_citus(const EnergySchema *schema, const Stage *stage,
							 Datum *keys);

/* One server: the batches read energy_daily where it is. */
static const StageRoutine direct_stage = {
	.open = stage_open_direct,
	.fill = stage_fill_direct,
};

/* Citus: each batch's partials are first copied into a temporary table. */
static const StageRoutine citus_stage = {
	.open = stage_open_citus,
	.fill = stage_fill_citus,
};

/* Writes into one materialized view, as the executor would make them. */
typedef struct ViewWriter
{
	RewritePlan *plan;
	Relation	rel;
	ResultRelInfo *rri;
	EState	   *estate;
	TupleTableSlot *slot;
	Datum	   *values;			/* a row of the rewrite: ctid, same?, the
								 * view's columns */
	bool	   *nulls;
	int64		deleted;
	int64		inserted;
} ViewWriter;

/*
 * Whether energy_data_view holds data: not before the first populate, nor
 * after a restore from a dump, which recreates it empty, nor after a
 * REFRESH ... WITH NO DATA.
 */
bool
energy_view_populated(const EnergySchema *schema, const char *name)
{
	Oid			viewid = energy_relation(schema, name);
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(viewid));
	bool		populated;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", viewid);
	populated = ((Form_pg_class) GETSTRUCT(tup))->relispopulated;
	ReleaseSysCache(tup);
	return populated;
}

/*
 * Run a statement that must succeed with the given SPI code; return
 * SPI_processed.
 */
static uint64
populate_sql(const char *sql, int expected)
{
	energy_spi_exec(sql, 0, NULL, NULL, NULL, false, expected, sql);
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
populate_full(const EnergySchema *schema)
{
	const char *views[] = {"energy_data_view", "energy_channel_view"};

	populate_sql(psprintf("DELETE FROM %s.energy_change", schema->nspname),
				 SPI_OK_DELETE);
	for (int i = 0; i < lengthof(views); i++)
		populate_sql(psprintf("REFRESH MATERIALIZED VIEW %s%s.%s",
							  energy_view_populated(schema, views[i]) ? "CONCURRENTLY " : "",
							  schema->nspname, views[i]),
					 SPI_OK_UTILITY);
	populate_sql(psprintf("SELECT pg_catalog.count(*) FROM %s.energy_data_view",
						  schema->nspname), SPI_OK_SELECT);
	return first_int8();
}

/* Prepare and keep one statement of the incremental path, planned once. */
static SPIPlanPtr
keep_plan(const char *sql, int nargs, Oid *argtypes)
{
	/*
	 * A generic plan: its shape (index probes per key) does not depend on how
	 * many keys a batch has, so planning it once per backend is enough.
	 */
	SPIPlanPtr	plan = SPI_prepare_cursor(sql, nargs, argtypes, CURSOR_OPT_GENERIC_PLAN);

	if (plan == NULL || SPI_keepplan(plan) != 0)
		elog(ERROR, "could not prepare \"%s\": %s", sql,
			 SPI_result_code_string(SPI_result));
	return plan;
}

/*
 * The change log, taken whole (the entries this snapshot sees) and turned
 * into the view's keys, in key order so that the view's index is walked,
 * not jumped about.
 */
static void
prepare_changes(const EnergySchema *schema)
{
	if (plans.nspid == schema->nspid)
		return;
	if (OidIsValid(plans.nspid))
		SPI_freeplan(plans.changes);
	plans.nspid = InvalidOid;
	plans.changes = keep_plan(psprintf("WITH c AS (DELETE FROM %1$s.energy_change RETURNING meter_id, day) "
									   "SELECT DISTINCT m.meter_code, m.serial_number, c.day "
									   "FROM c JOIN %1$s.energy_meter m "
									   "ON m.meter_id OPERATOR(pg_catalog.=) c.meter_id "
									   "ORDER BY 1, 2, 3", schema->nspname), 0, NULL);
	plans.nspid = schema->nspid;
}

/* Point every reference to energy_daily at the stage. */
static bool
stage_substitute(Node *node, void *context)
{
	const Stage *stage = (const Stage *) context;

	if (node == NULL)
		return false;
	if (IsA(node, RangeTblEntry))
	{
		RangeTblEntry *rte = (RangeTblEntry *) node;

		if (rte->rtekind == RTE_RELATION && rte->relid == stage->daily)
			rte->relid = stage->relid;
		return false;
	}
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, stage_substitute, context,
								 QTW_EXAMINE_RTES_BEFORE);
	return expression_tree_walker(node, stage_substitute, context);
}

/*
 * The view's defining query as SQL, from its rule, as REFRESH reads it,
 * with energy_daily replaced by the stage (by itself on one server).
 */
static char *
view_definition(Relation view, const Stage *stage)
{
	RuleLock   *rules = view->rd_rules;
	Query	   *query;

	if (rules == NULL || rules->numLocks != 1 ||
		list_length(rules->rules[0]->actions) != 1)
		elog(ERROR, "materialized view \"%s\" has no single query",
			 RelationGetRelationName(view));
	query = copyObject(linitial_node(Query, rules->rules[0]->actions));
	(void) query_tree_walker(query, stage_substitute, (void *) stage,
							 QTW_EXAMINE_RTES_BEFORE);
	return pg_get_querydef(query, false);
}

/* Open the stage through its routine. */
static void
stage_open(const EnergySchema *schema, Stage *stage, const StageRoutine *routine)
{
	stage->routine = routine;
	stage->daily = energy_relation(schema, "energy_daily");
	routine->open(schema, stage);
}

/* On one server the batches read energy_daily itself. */
static void
stage_open_direct(const EnergySchema *schema, Stage *stage)
{
	stage->relid = stage->daily;
	stage->name = NULL;
}

/* The owner of a relation. */
static Oid
relation_owner(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/*
 * Whether the stage found is still as populate made it: owned by the user
 * populate runs as, and with no trigger or rule that its filling would
 * fire.
 */
static bool
stage_is_plain(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Form_pg_class form;
	bool		plain;

	if (!HeapTupleIsValid(tup))
		return false;
	form = (Form_pg_class) GETSTRUCT(tup);
	plain = form->relowner == GetUserId() && !form->relhastriggers &&
		!form->relhasrules && form->relkind == RELKIND_RELATION &&
		form->relpersistence == RELPERSISTENCE_TEMP;
	ReleaseSysCache(tup);
	return plain;
}

/*
 * The rewrite runs as each view's owner (see writer_apply), and reads the
 * stage: an owner other than the extension's may read it.
 */
static void
stage_grant_owners(const EnergySchema *schema)
{
	const char *views[] = {"energy_data_view", "energy_channel_view"};

	for (int i = 0; i < lengthof(views); i++)
	{
		Oid			owner = relation_owner(energy_relation(schema, views[i]));

		if (owner != GetUserId())
			populate_sql(psprintf("GRANT SELECT ON pg_temp.energy_populate_daily TO %s",
								  quote_identifier(GetUserNameFromId(owner, false))),
						 SPI_OK_UTILITY);
	}
}

/*
 * The stage for this transaction's populate on Citus: a temporary table of
 * energy_daily's shape, with its primary key, dropped at commit.  The
 * rewrite probes it once per key, as it probes energy_daily on one server:
 * without the index each probe read the whole stage (a populate of 40,000
 * meter-days took 130 s instead of a fraction of one).
 *
 * The stage lives in the caller's temporary schema, where the caller may
 * create tables: one of that name made first (with a trigger that would
 * run as the extension's owner, who fills it) must never be taken for the
 * stage.  So it is created without IF NOT EXISTS, and a relation of that
 * name is accepted only if it is the stage this backend created earlier in
 * the same transaction (a second populate before commit), still owned by
 * this user, with neither triggers nor rules; anything else is refused.
 */
static Oid	stage_relid = InvalidOid;
static TransactionId stage_xid = InvalidTransactionId;

static void
stage_open_citus(const EnergySchema *schema, Stage *stage)
{
	Oid			relid = RangeVarGetRelid(makeRangeVar("pg_temp", "energy_populate_daily", -1),
										 NoLock, true);

	if (OidIsValid(relid) &&
		!(relid == stage_relid && stage_xid == GetTopTransactionIdIfAny() &&
		  stage_is_plain(relid)))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_TABLE),
				 errmsg("relation \"energy_populate_daily\" already exists in this session's temporary schema"),
				 errdetail("energy_populate_view() stages partials in a temporary table of that name, and uses none it did not create."),
				 errhint("Drop the temporary table \"energy_populate_daily\", then call energy_populate_view() again.")));
	if (!OidIsValid(relid))
	{
		populate_sql(psprintf("CREATE TEMPORARY TABLE energy_populate_daily "
							  "(LIKE %s.energy_daily INCLUDING INDEXES) ON COMMIT DROP",
							  schema->nspname),
					 SPI_OK_UTILITY);
		relid = RangeVarGetRelid(makeRangeVar("pg_temp", "energy_populate_daily", -1),
								 NoLock, false);
		stage_relid = relid;
		stage_xid = GetTopTransactionId();
		stage_grant_owners(schema);
	}
	stage->relid = relid;
	stage->name = "pg_temp.energy_populate_daily";
}

/* On one server energy_daily holds every batch's partials already. */
static void
stage_fill_direct(const EnergySchema *schema, const Stage *stage, Datum *keys)
{
}

/*
 * Stage the partials of a batch of keys: those of the keys' meters (by id,
 * from the reference table of meters) on the keys' days, a superset of what
 * the rewrite reads.  Citus sends the statement to the shards that hold
 * those meters.
 */
static void
stage_fill_citus(const EnergySchema *schema, const Stage *stage, Datum *keys)
{
	Oid			argtypes[2] = {TEXTARRAYOID, TEXTARRAYOID};
	Datum		args[2] = {keys[0], keys[1]};
	bool		isnull;
	int			rc;

	rc = SPI_execute_with_args(psprintf("SELECT pg_catalog.array_agg(m.meter_id) "
										"FROM %s.energy_meter m JOIN ROWS FROM (pg_catalog.unnest($1), "
										"pg_catalog.unnest($2)) AS k(meter_code, serial_number) "
										"ON m.meter_code OPERATOR(pg_catalog.=) k.meter_code "
										"AND m.serial_number OPERATOR(pg_catalog.=) k.serial_number",
										schema->nspname),
							   2, argtypes, args, NULL, true, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "finding the meters of a batch failed: %s", SPI_result_code_string(rc));
	args[0] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		args[0] = PointerGetDatum(construct_empty_array(INT8OID));
	args[1] = keys[2];
	argtypes[0] = INT8ARRAYOID;
	argtypes[1] = DATEARRAYOID;
	populate_sql(psprintf("TRUNCATE %s", stage->name), SPI_OK_UTILITY);
	energy_spi_exec(psprintf("INSERT INTO %s SELECT d.* FROM %s.energy_daily d "
							 "WHERE d.meter_id OPERATOR(pg_catalog.=) ANY ($1) "
							 "AND d.day OPERATOR(pg_catalog.=) ANY ($2)",
							 stage->name, schema->nspname),
					2, argtypes, args, NULL, false, SPI_OK_INSERT, "staging the partials of a batch");
}

/*
 * What REFRESH MATERIALIZED VIEW runs a view's defining query as
 * (matview.c): the view's owner, in a security-restricted operation, with
 * a GUC nest level so that nothing the query calls can leave a setting
 * behind.  Populate runs with the extension owner's rights (SECURITY
 * DEFINER); a role that owns one of the views must not have its functions
 * run with those, whether the planner folds them while the rewrite is
 * prepared or the executor calls them while it runs.
 */
typedef struct AsOwner
{
	Oid			save_userid;
	int			save_sec_context;
	int			save_nestlevel;
} AsOwner;

static void
as_owner_begin(AsOwner *as, Relation view)
{
	GetUserIdAndSecContext(&as->save_userid, &as->save_sec_context);
	SetUserIdAndSecContext(view->rd_rel->relowner,
						   as->save_sec_context | SECURITY_RESTRICTED_OPERATION);
	as->save_nestlevel = NewGUCNestLevel();
}

static void
as_owner_end(AsOwner *as)
{
	AtEOXact_GUC(false, as->save_nestlevel);
	SetUserIdAndSecContext(as->save_userid, as->save_sec_context);
}

/*
 * The keys come as three parallel arrays.  For each, the statement gives
 * the ctid of the view's row (if any), whether the new row equals it, and
 * the new row from the view's own defining query (all NULL when nothing
 * covers that meter-day any more).  Both are LATERAL subqueries kept from
 * being flattened (OFFSET 0), so the key conditions reach the indexes below
 * the defining query's GROUP BY: a few index probes per key, never a pass
 * over the history.  A view with several rows per key (match_more names
 * the rest of its unique key) pairs old and new rows by a full join: an
 * old row without a new one is deleted, a new one without an old one
 * inserted.
 */
static void
prepare_plan(const EnergySchema *schema, Relation view, RewritePlan *rp,
			 const char *match_more, const Stage *stage)
{
	Oid			argtypes[NKEYS] = {TEXTARRAYOID, TEXTARRAYOID, DATEARRAYOID};
	const char *match = "v.meter_code OPERATOR(pg_catalog.=) k.meter_code "
	"AND v.serial_number OPERATOR(pg_catalog.=) k.serial_number "
	"AND v.day OPERATOR(pg_catalog.=) k.day";
	TupleDesc	desc = RelationGetDescr(view);
	StringInfoData oldcols,
				newcols;
	char	   *viewdef;
	size_t		len;
	AsOwner		as;

	if (rp->viewid == RelationGetRelid(view) && rp->daily == stage->relid)
		return;
	if (OidIsValid(rp->viewid))
	{
		SPI_freeplan(rp->plan);
		rp->viewid = InvalidOid;
	}

	viewdef = view_definition(view, stage);
	len = strlen(viewdef);
	while (len > 0 && (viewdef[len - 1] == ';' || isspace((unsigned char) viewdef[len - 1])))
		viewdef[--len] = '\0';

	initStringInfo(&oldcols);
	initStringInfo(&newcols);
	for (int i = 0; i < desc->natts; i++)
	{
		const char *col = quote_identifier(NameStr(TupleDescAttr(desc, i)->attname));

		appendStringInfo(&oldcols, "%so.%s", i ? ", " : "", col);
		appendStringInfo(&newcols, "%sn.%s", i ? ", " : "", col);
	}

	as_owner_begin(&as, view);
	if (match_more == NULL)
		rp->plan = keep_plan(psprintf("SELECT o.ctid, pg_catalog.record_image_eq(ROW(%s), ROW(%s)), %s "
									  "FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), "
									  "pg_catalog.unnest($3)) AS k(meter_code, serial_number, day) "
									  "LEFT JOIN LATERAL (SELECT v.ctid, v.* FROM %s.%s v "
									  "WHERE %s OFFSET 0) o ON true "
									  "LEFT JOIN LATERAL (SELECT * FROM (%s) v WHERE %s OFFSET 0) n ON true",
									  oldcols.data, newcols.data, newcols.data,
									  schema->nspname, RelationGetRelationName(view),
									  match, viewdef, match),
							 NKEYS, argtypes);
	else
		rp->plan = keep_plan(psprintf("SELECT x.* "
									  "FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), "
									  "pg_catalog.unnest($3)) AS k(meter_code, serial_number, day) "
									  "CROSS JOIN LATERAL (SELECT o.ctid, pg_catalog.record_image_eq(ROW(%s), ROW(%s)), %s "
									  "FROM (SELECT v.ctid, v.* FROM %s.%s v WHERE %s OFFSET 0) o "
									  "FULL JOIN (SELECT * FROM (%s) v WHERE %s OFFSET 0) n ON %s) x",
									  oldcols.data, newcols.data, newcols.data,
									  schema->nspname, RelationGetRelationName(view),
									  match, viewdef, match, match_more),
							 NKEYS, argtypes);
	as_owner_end(&as);
	rp->viewid = RelationGetRelid(view);
	rp->daily = stage->relid;
}

/*
 * Open the view for writing.  It is already locked in ExclusiveLock, which
 * excludes every other writer (REFRESH, another populate) but no reader.
 */
static void
writer_open(ViewWriter *w, Oid viewid, RewritePlan *rp)
{
	memset(w, 0, sizeof(*w));
	w->plan = rp;
	w->rel = table_open(viewid, NoLock);
	Assert(w->rel->rd_rel->relkind == RELKIND_MATVIEW);
	Assert(CheckRelationLockedByMe(w->rel, ExclusiveLock, true));

	w->estate = CreateExecutorState();
	w->rri = makeNode(ResultRelInfo);
	InitResultRelInfo(w->rri, w->rel, 1, NULL, 0);
	ExecOpenIndices(w->rri, false);
	w->slot = table_slot_create(w->rel, &w->estate->es_tupleTable);
	w->values = palloc(sizeof(Datum) * (RelationGetDescr(w->rel)->natts + 2));
	w->nulls = palloc(sizeof(bool) * (RelationGetDescr(w->rel)->natts + 2));
}

static void
writer_close(ViewWriter *w)
{
	if (w->rel == NULL)
		return;
	ExecCloseIndices(w->rri);
	ExecResetTupleTable(w->estate->es_tupleTable, false);
	FreeExecutorState(w->estate);
	table_close(w->rel, NoLock);
}

/*
 * Run the rewrite statement of one batch.  It is meant as a few index
 * probes per key, and is planned (once per backend, generic) that way: a
 * planner that believes a batch holds ten keys, as it does of any unnest(),
 * would rather scan a small dictionary once per key, which is a pass per
 * key over every meter.  So sequential scans, hash and merge joins (and JIT,
 * which the penalty cost of energy_channel_view's full join, a hash join by
 * necessity, would otherwise call in) are switched off while it is planned
 * and run, as a function's SET clause
 * would, and the caller's settings come back after.
 */
static int
rewrite_execute(SPIPlanPtr plan, Datum *keys)
{
	int			nestlevel = energy_plan_probes();
	int			rc;

	rc = SPI_execute_plan(plan, keys, NULL, false, 0);
	AtEOXact_GUC(true, nestlevel);
	return rc;
}

/*
 * Rewrite the view's rows of one batch of keys.  A row that comes out the
 * same is left alone; an old row is deleted; a new row (none, for a
 * meter-day whose last file was unloaded) is inserted.  The unique index
 * checks every insertion, so a row can never be doubled.
 *
 * Everything from the defining query on runs as the view's owner, in a
 * security-restricted operation, as REFRESH MATERIALIZED VIEW runs it
 * (matview.c): the query itself (which calls whatever functions its owner
 * wrote into it), the rows written, and their index entries (an index that
 * the owner put on the view may call the owner's functions).  None of it
 * runs as the extension's owner, whose rights populate (SECURITY DEFINER)
 * has.
 */
static void
writer_apply(ViewWriter *w, Datum *keys)
{
	Snapshot	snapshot = GetActiveSnapshot();
	TupleDesc	desc = RelationGetDescr(w->rel);
	int			natts = desc->natts;
	CommandId	cid;
	int			rc;
	AsOwner		as;

	as_owner_begin(&as, w->rel);
	rc = rewrite_execute(w->plan->plan, keys);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "computing the rows of \"%s\" failed: %s",
			 RelationGetRelationName(w->rel), SPI_result_code_string(rc));
	Assert(SPI_tuptable->tupdesc->natts == natts + 2);
	cid = GetCurrentCommandId(true);
	w->estate->es_output_cid = cid;

	for (uint64 i = 0; i < SPI_processed; i++)
	{
		Datum	   *values = w->values;
		bool	   *nulls = w->nulls;
		List	   *recheck;

		heap_deform_tuple(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, values, nulls);
		if (!nulls[1] && DatumGetBool(values[1]))
			continue;			/* unchanged */
		if (!nulls[0])
		{
			simple_table_tuple_delete(w->rel, (ItemPointer) DatumGetPointer(values[0]),
									  snapshot);
			w->deleted++;
		}
		if (nulls[2])
			continue;			/* the meter-day has no data any more */

		ExecClearTuple(w->slot);
		memcpy(w->slot->tts_values, values + 2, sizeof(Datum) * natts);
		memcpy(w->slot->tts_isnull, nulls + 2, sizeof(bool) * natts);
		ExecStoreVirtualTuple(w->slot);
		table_tuple_insert(w->rel, w->slot, cid, 0, NULL);
		recheck = ExecInsertIndexTuplesCompat(w->rri, w->slot, w->estate,
											  false, false, NULL, NIL);
		list_free(recheck);
		ResetPerTupleExprContext(w->estate);
		w->inserted++;
	}
	as_owner_end(&as);
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
 * Rewrite the meter-days of the change log, a batch at a time.  Returns the new
 * row count, from the old one when it is known (-1 when not); *changed says
 * whether there was anything to do.
 */
static int64
populate_changes(const EnergySchema *schema, Oid viewid, int64 view_rows,
				 const StageRoutine *stage_routine, bool *changed)
{
	ViewWriter	w,
				cw;
	Portal		cursor;
	MemoryContext batch_cxt;
	Stage		stage;

	memset(&w, 0, sizeof(w));
	memset(&cw, 0, sizeof(cw));
	stage_open(schema, &stage, stage_routine);
	prepare_changes(schema);
	cursor = SPI_cursor_open(NULL, plans.changes, NULL, NULL, false);
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
		if (w.rel == NULL)
		{
			Oid			chanid = energy_relation(schema, "energy_channel_view");

			writer_open(&w, viewid, &plans.data);
			prepare_plan(schema, w.rel, &plans.data, NULL, &stage);
			writer_open(&cw, chanid, &plans.channels);
			prepare_plan(schema, cw.rel, &plans.channels,
						 "o.data_type OPERATOR(pg_catalog.=) n.data_type "
						 "AND o.units OPERATOR(pg_catalog.=) n.units", &stage);
		}
		stage.routine->fill(schema, &stage, keys);
		writer_apply(&w, keys);
		writer_apply(&cw, keys);
		MemoryContextReset(batch_cxt);
	}
	SPI_cursor_close(cursor);
	*changed = (w.rel != NULL);
	writer_close(&w);
	writer_close(&cw);

	if (view_rows < 0)
	{
		populate_sql(psprintf("SELECT pg_catalog.count(*) FROM %s.energy_data_view",
							  schema->nspname), SPI_OK_SELECT);
		*changed = true;
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

	energy_spi_exec(psprintf("INSERT INTO %1$s.energy_view_state AS s "
							 "(populated_at, populated_by, snapshot, view_rows, units) "
							 "VALUES (pg_catalog.now(), SESSION_USER, "
							 "pg_catalog.pg_current_snapshot(), $1, %1$s.energy_unit_digest()) "
							 "ON CONFLICT (singleton) DO UPDATE SET "
							 "populated_at = excluded.populated_at, "
							 "populated_by = excluded.populated_by, "
							 "snapshot = excluded.snapshot, view_rows = excluded.view_rows, "
							 "units = excluded.units",
							 schema->nspname),
					1, argtypes, args, NULL, false, SPI_OK_INSERT, "recording the populate");
}

/*
 * energy_populate_view() on a 1.0 schema, as 1.0 did it: a refresh of
 * energy_data_view (CONCURRENTLY once populated, so readers are never
 * blocked), and the snapshot taken just before it recorded in
 * energy_view_state, from which lookups tell staleness (any load it does
 * not see).  1.0 has no change log, no channel view and no unit digest.
 */
static int64
populate_1_0(EnergySchema *schema)
{
	bool		populated = energy_view_populated(schema, "energy_data_view");
	Datum		args[2];
	Oid			argtypes[2] = {InvalidOid, INT8OID};
	bool		isnull;
	int64		rows;
	int			spi_level;

	spi_level = energy_spi_connect();
	populate_sql("SELECT pg_catalog.pg_current_snapshot()", SPI_OK_SELECT);
	argtypes[0] = SPI_gettypeid(SPI_tuptable->tupdesc, 1);
	args[0] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	args[0] = PointerGetDatum(PG_DETOAST_DATUM_COPY(args[0]));
	populate_sql(psprintf("REFRESH MATERIALIZED VIEW %s%s.energy_data_view",
						  populated ? "CONCURRENTLY " : "", schema->nspname),
				 SPI_OK_UTILITY);
	populate_sql(psprintf("SELECT pg_catalog.count(*) FROM %s.energy_data_view",
						  schema->nspname), SPI_OK_SELECT);
	rows = first_int8();
	args[1] = Int64GetDatum(rows);
	energy_spi_exec(psprintf("INSERT INTO %s.energy_view_state AS s "
							 "(populated_at, populated_by, snapshot, view_rows) "
							 "VALUES (pg_catalog.now(), SESSION_USER, $1, $2) "
							 "ON CONFLICT (singleton) DO UPDATE SET "
							 "populated_at = excluded.populated_at, "
							 "populated_by = excluded.populated_by, "
							 "snapshot = excluded.snapshot, view_rows = excluded.view_rows",
							 schema->nspname),
					2, argtypes, args, NULL, false, SPI_OK_INSERT, "recording the refresh");
	energy_spi_finish(spi_level);
	return rows;
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
	bool		changed = true;
	const StageRoutine *stage_routine;
	int64		rows = -1;
	int			spi_level;

	energy_schema_lookup(&schema, fcinfo);
	if (!energy_schema_has_change_log(&schema))
		PG_RETURN_INT64(populate_1_0(&schema));
	viewid = energy_relation(&schema, "energy_data_view");
	LockRelationOid(viewid, ExclusiveLock);
	LockRelationOid(energy_relation(&schema, "energy_channel_view"), ExclusiveLock);
	populated = energy_view_populated(&schema, "energy_data_view") &&
		energy_view_populated(&schema, "energy_channel_view");

	spi_level = energy_spi_connect();
	energy_schema_place(&schema, true);
	stage_routine = energy_distributed(&schema) ? &citus_stage : &direct_stage;
	/* a state of another unit table is no state: the views are refreshed */
	has_state = populate_sql(psprintf("SELECT view_rows FROM %1$s.energy_view_state "
									  "WHERE units OPERATOR(pg_catalog.=) %1$s.energy_unit_digest()",
									  schema.nspname), SPI_OK_SELECT) > 0;
	if (has_state)
		rows = first_int8();

	if (!populated || !has_state)
		rows = populate_full(&schema);
	else
		rows = populate_changes(&schema, viewid, rows, stage_routine, &changed);
	/* nothing to record when nothing changed: the call then writes nothing */
	if (changed)
		write_state(&schema, rows);
	energy_spi_finish(spi_level);
	PG_RETURN_INT64(rows);
}
