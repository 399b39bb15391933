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
 * SQL, which Citus plans and routes.  The sink, the overlap stage and
 * populate each pick a table of callbacks then (SinkPathRoutine,
 * OverlapPlacement, StageRoutine), whose Citus twin sits beside the direct
 * one, as copyfrom.c picks a format's CopyFromRoutine; a lookup, which has
 * one such step, branches once.
 *
 * Within one transaction, Citus must read a shard placement over the
 * connection that modified it.  Its parallel INSERT ... SELECT copies the
 * co-located shards of one worker over several connections, and a later
 * statement that joins those shards (the overlap rewrite, the next file's
 * deletes) then fails ("placements that were modified over multiple
 * connections").  So the loader, unload and populate switch the rest of
 * their transaction to one connection per worker, as SET LOCAL
 * citus.multi_shard_modify_mode = 'sequential' would: the workers still
 * write in parallel with each other.
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
#include "utils/guc.h"
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

	if (!energy_citus_installed())
		return false;
	energy_spi_exec("SELECT FROM pg_catalog.pg_dist_partition "
					"WHERE logicalrelid OPERATOR(pg_catalog.=) $1",
					1, argtypes, args, NULL, true, SPI_OK_SELECT, "reading pg_dist_partition");
	found = (SPI_processed > 0);
	SPI_freetuptable(SPI_tuptable);
	return found;
}

/*
 * Whether energy_distribute() has distributed this schema's tables (their
 * anchor, energy_daily, is a Citus table), as the call's context placed
 * them: an answer, with no side effect (energy_schema_place switches a
 * writer to one connection per worker, see above).
 */
bool
energy_distributed(const EnergySchema *schema)
{
	Assert(schema->placement != PLACEMENT_UNKNOWN);
	return schema->placement == PLACEMENT_CITUS;
}

/*
 * One connection per worker for the rest of the transaction (see above).
 * Only called where the tables are Citus's, so the setting exists.
 */
void
energy_citus_sequential(void)
{
	(void) set_config_option("citus.multi_shard_modify_mode", "sequential",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_LOCAL,
							 true, 0, false);
}
