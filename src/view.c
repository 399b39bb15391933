/*-------------------------------------------------------------------------
 *
 * view.c
 *	  energy_data_view: its refresh, its state (energy_view_state) and how
 *	  stale it is.
 *
 * The view is a real materialized view over the per-day partials, so its
 * refresh costs meter-days, not readings.  Each refresh records the
 * snapshot it was taken under; a file whose loading transaction is not in
 * that snapshot is "unseen", and lookups say the view is stale.  Keeping
 * the three in one file keeps the rule that connects them in one place.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/syscache.h"

#include "energy.h"

PG_FUNCTION_INFO_V1(energy_populate_view);

/* The staleness check, kept for the life of the backend, per schema. */
static SPIPlanPtr stale_plan = NULL;
static Oid	stale_plan_nspid = InvalidOid;

/*
 * Whether energy_data_view holds data: not before the first refresh, nor
 * after a restore from a dump, which recreates it empty.
 */
bool
energy_view_populated(const EnergySchema *schema)
{
	Oid			viewid = energy_relation(schema, "energy_data_view");
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(viewid));
	bool		populated;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", viewid);
	populated = ((Form_pg_class) GETSTRUCT(tup))->relispopulated;
	ReleaseSysCache(tup);
	return populated;
}

/*
 * A file is unseen if its loading transaction is not in the snapshot of
 * the last refresh.  Transactions not yet started here (load_xid past the
 * current snapshot's xmax) can only come from a restored dump of another
 * cluster, whose rows a refresh here has seen.
 */
static void
prepare_stale_plan(const EnergySchema *schema)
{
	SPIPlanPtr	plan;

	if (stale_plan != NULL && stale_plan_nspid == schema->nspid)
		return;
	plan = SPI_prepare(psprintf("SELECT EXISTS (SELECT 1 FROM %s.energy_file f "
								"WHERE f.load_xid OPERATOR(pg_catalog.>=) pg_catalog.pg_snapshot_xmin(v.snapshot) "
								"AND f.load_xid OPERATOR(pg_catalog.<) pg_catalog.pg_snapshot_xmax(pg_catalog.pg_current_snapshot()) "
								"AND NOT pg_catalog.pg_visible_in_snapshot(f.load_xid, v.snapshot)) "
								"FROM %s.energy_view_state v",
								schema->nspname, schema->nspname), 0, NULL);
	if (plan == NULL)
		elog(ERROR, "could not prepare the staleness check: %s",
			 SPI_result_code_string(SPI_result));
	SPI_keepplan(plan);
	if (stale_plan)
		SPI_freeplan(stale_plan);
	stale_plan = plan;
	stale_plan_nspid = schema->nspid;
}

/*
 * Before a lookup answers from the view: a NOTICE if the view may be behind
 * the loaded files.  Returns false (after a NOTICE) when the view has never
 * been populated here, so there is nothing to answer from.  Runs inside the
 * caller's SPI connection.
 */
bool
energy_view_check(const EnergySchema *schema)
{
	bool		isnull;
	int			rc;

	prepare_stale_plan(schema);
	rc = SPI_execute_plan(stale_plan, NULL, NULL, true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "reading energy_view_state failed: %s", SPI_result_code_string(rc));
	/* never refreshed, or restored from a dump (which leaves it empty) */
	if (SPI_processed == 0 || !energy_view_populated(schema))
	{
		ereport(NOTICE,
				(errmsg("energy_data_view has not been populated yet"),
				 errhint("Call energy_populate_view().")));
		return false;
	}
	if (DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)))
		ereport(NOTICE,
				(errmsg("energy_data_view is stale: files were loaded after the last energy_populate_view()"),
				 errhint("Call energy_populate_view() to include them.")));
	return true;
}

/*
 * Refresh energy_data_view.  The first refresh of an empty view cannot be
 * CONCURRENTLY; every later one is, so readers are never blocked.  The
 * snapshot recorded is taken before the refresh, so any load it does not
 * show is counted as unseen: energy_get may call the view stale when it is
 * not, never fresh when it is not.
 */
Datum
energy_populate_view(PG_FUNCTION_ARGS)
{
	EnergySchema schema;
	bool		populated;
	Datum		snapshot;
	int64		rows;
	bool		isnull;
	int			rc;
	Datum		args[2];
	Oid			argtypes[2] = {InvalidOid, INT8OID};

	energy_schema_lookup(&schema, fcinfo);
	populated = energy_view_populated(&schema);

	SPI_connect();

	rc = SPI_execute("SELECT pg_catalog.pg_current_snapshot()", false, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read the current snapshot");
	argtypes[0] = SPI_gettypeid(SPI_tuptable->tupdesc, 1);
	snapshot = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	snapshot = PointerGetDatum(PG_DETOAST_DATUM_COPY(snapshot));

	rc = SPI_execute(psprintf("REFRESH MATERIALIZED VIEW %s%s.energy_data_view",
							  populated ? "CONCURRENTLY " : "", schema.nspname),
					 false, 0);
	if (rc != SPI_OK_UTILITY)
		elog(ERROR, "refreshing energy_data_view failed: %s", SPI_result_code_string(rc));

	rc = SPI_execute(psprintf("SELECT pg_catalog.count(*) FROM %s.energy_data_view",
							  schema.nspname), false, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not count energy_data_view");
	rows = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

	args[0] = snapshot;
	args[1] = Int64GetDatum(rows);
	rc = SPI_execute_with_args(psprintf("INSERT INTO %s.energy_view_state AS s "
										"(populated_at, populated_by, snapshot, view_rows) "
										"VALUES (pg_catalog.now(), SESSION_USER, $1, $2) "
										"ON CONFLICT (singleton) DO UPDATE SET "
										"populated_at = excluded.populated_at, "
										"populated_by = excluded.populated_by, "
										"snapshot = excluded.snapshot, view_rows = excluded.view_rows",
										schema.nspname),
							   2, argtypes, args, NULL, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "recording the refresh failed: %s", SPI_result_code_string(rc));

	SPI_finish();
	PG_RETURN_INT64(rows);
}
