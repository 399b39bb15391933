/*-------------------------------------------------------------------------
 *
 * citus.c
 *	  Where a table lives: on this server, or in Citus's shards.
 *
 * After energy_distribute(), the storage tables of a Citus coordinator are
 * empty shells whose rows live on the workers.  The direct paths of the
 * loader, the overlap probe and the lookups read and write a table's own
 * heap and indexes, so they would see nothing and write rows no query
 * reads.  Each of them asks here once per call whether energy_daily (the
 * anchor of the co-located group) is a Citus table, and if so goes through
 * SQL, which Citus plans and routes.
 *
 * Citus plans a statement with parameters only when their values are known
 * (a custom plan); a generic plan of a multi-shard statement fails.  So on
 * Citus every statement the extension prepares asks for custom plans.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "nodes/parsenodes.h"
#include "utils/lsyscache.h"

#include "energy.h"

/*
 * Whether Citus distributes or replicates this table.  Without Citus's
 * catalog there is nothing to ask and no statement is run, so a server
 * without Citus pays one syscache lookup.  Called with SPI connected.
 */
bool
energy_citus_table(Oid relid)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1] = {ObjectIdGetDatum(relid)};
	bool		found;
	int			rc;

	if (!OidIsValid(get_relname_relid("pg_dist_partition", PG_CATALOG_NAMESPACE)))
		return false;
	rc = SPI_execute_with_args("SELECT FROM pg_catalog.pg_dist_partition "
							   "WHERE logicalrelid OPERATOR(pg_catalog.=) $1",
							   1, argtypes, args, NULL, true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "reading pg_dist_partition failed: %s", SPI_result_code_string(rc));
	found = (SPI_processed > 0);
	SPI_freetuptable(SPI_tuptable);
	return found;
}

/*
 * Whether energy_distribute() has distributed this schema's tables: their
 * anchor, energy_daily, is a Citus table.
 */
bool
energy_distributed(const EnergySchema *schema)
{
	return energy_citus_table(energy_relation(schema, "energy_daily"));
}

/*
 * Prepare a statement of the extension: where Citus is installed, planned
 * anew with each call's values (see above); otherwise as SPI_prepare does.
 */
SPIPlanPtr
energy_prepare(const char *sql, int nargs, Oid *argtypes)
{
	bool		citus = OidIsValid(get_relname_relid("pg_dist_partition",
													 PG_CATALOG_NAMESPACE));
	SPIPlanPtr	plan;

	plan = SPI_prepare_cursor(sql, nargs, argtypes,
							  citus ? CURSOR_OPT_CUSTOM_PLAN : 0);
	if (plan == NULL)
		elog(ERROR, "could not prepare \"%s\": %s", sql,
			 SPI_result_code_string(SPI_result));
	return plan;
}
