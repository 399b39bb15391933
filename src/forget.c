/*-------------------------------------------------------------------------
 *
 * forget.c
 *	  Years of history: energy_forget() removes the stored readings of the
 *	  days before a horizon and keeps their partials, so the views and
 *	  energy_get() answer those days as before; and the horizon every writer
 *	  reads at the start of its call.
 *
 * What is removed.  energy_reading's chunks of days before the horizon and
 * energy_register's reads whose day (the date of their at, the day
 * load_row() gives a register read's partial) is before it.  The partials
 * (energy_daily), the segments and the files stay: a forgotten day is a
 * day whose aggregates are all that is left.  Nothing is logged for
 * populate: the views are computed from the partials, which do not change.
 *
 * How it runs with the writers.  Every writer (a load, a replace, an unload)
 * reads the horizon at the start of its call under RowShareLock on
 * energy_horizon (energy_horizon_read), and holds that lock to its commit.
 * energy_forget() takes ExclusiveLock on the table first: it waits for
 * every writer already running, and every writer that starts later waits
 * for its commit and then reads the new horizon (with the latest snapshot,
 * whatever its isolation level).  So a forget and a writer always run one
 * after the other, and the result is one of their serial orders: a load
 * that ran first has its old readings forgotten, a load that runs after is
 * refused its rows before the horizon (glue.c, energy_horizon_check), and
 * an unload after it restores no copies on forgotten days (overlap.c).
 * Readers (energy_get, energy_data, populate, pg_dump) take AccessShareLock
 * at most, and never wait for it.
 *
 * It also takes the writers' meter-day locks (lock.c) of what it removes,
 * as any writer does: the meter-days themselves when there are at most
 * ENERGY_LOCK_KEYS_MAX of them, else every bucket in ExclusiveLock, so the
 * shared lock table holds at most ENERGY_LOCK_BUCKETS entries of it
 * whatever it removes.  Either set is taken once, at once, in the
 * protocol's order.
 *
 * Cost.  It removes one day at a time, from the oldest stored day before
 * the horizon, through the index leading with day (energy_reading) and the
 * one on at (energy_register, added with it): each day's statement reads
 * only that day's rows, so a forget costs what it removes, and a second
 * forget never reads what the first removed.  The readings of each chunk
 * are counted from its block's header (ec_count), read as the first bytes
 * of the block, without decoding it.  The space is freed as dead rows: the
 * next (auto)vacuum makes it reusable by later loads (README).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"

#include "energy.h"

PG_FUNCTION_INFO_V1(energy_forget);

/* Bytes of a block enough for its header: the version and a varint count. */
#define BLOCK_HEAD_BYTES 16

/*
 * The horizon, for a writer's call: RowShareLock on energy_horizon (held to
 * the end of the transaction, so that energy_forget() waits for this call
 * and this call for a running forget), then its day, read with the latest
 * snapshot so that a forget committed while this transaction's snapshot
 * was already taken still counts.  DATEVAL_NOBEGIN when nothing was ever
 * forgotten, or the schema (1.2 and older) has no horizon.  SPI must be
 * connected.
 */
void
energy_horizon_read(EnergySchema *schema)
{
	Oid			relid;
	SPIPlanPtr	plan;
	int			rc;

	schema->horizon = DATEVAL_NOBEGIN;
	if (!schema->layout->horizon)
		return;
	relid = energy_relation(schema, "energy_horizon");
	LockRelationOid(relid, RowShareLock);
	plan = SPI_prepare(psprintf("SELECT h.before FROM %s.energy_horizon h", schema->nspname),
					   0, NULL);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed reading energy_horizon: %s",
			 SPI_result_code_string(SPI_result));
	rc = SPI_execute_snapshot(plan, NULL, NULL, GetLatestSnapshot(),
							  InvalidSnapshot, true, false, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "reading energy_horizon failed: %s", SPI_result_code_string(rc));
	if (SPI_processed == 1)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
			schema->horizon = DatumGetDateADT(d);
	}
	SPI_freetuptable(SPI_tuptable);
	SPI_freeplan(plan);
}

/*
 * The date a statement of up to two date arguments returns in its one row;
 * DATEVAL_NOEND for NULL or no row.
 */
static DateADT
date_scalar(const char *sql, int nargs, Datum arg, Datum arg2, const char *what)
{
	Oid			argtypes[2] = {DATEOID, DATEOID};
	Datum		args[2] = {arg, arg2};
	bool		isnull;
	DateADT		result = DATEVAL_NOEND;
	Datum		d;

	energy_spi_exec(sql, nargs, argtypes, args, NULL, true, SPI_OK_SELECT, what);
	if (SPI_processed == 1)
	{
		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		if (!isnull)
			result = DatumGetDateADT(d);
	}
	SPI_freetuptable(SPI_tuptable);
	return result;
}

/*
 * The writers' locks of the meter-days from..before: the meter-days
 * themselves when few (both statements stop after one row more than the
 * protocol's small writer may hold; their rows, repeats included, bound
 * the meter-days), else every bucket.
 */
static void
forget_lock(const char *nsp, DateADT from, DateADT before)
{
	Oid			argtypes[2] = {DATEOID, DATEOID};
	Datum		args[2] = {DateADTGetDatum(from), DateADTGetDatum(before)};
	int			limit = energy_lock_keys_max() + 1;
	EnergyLockKey *keys = palloc(sizeof(EnergyLockKey) * 2 * limit);
	int			n = 0;
	const char *sql[2] = {
		"SELECT r.meter_id, r.day FROM %s.energy_reading r "
		"WHERE r.day OPERATOR(pg_catalog.>=) $1 AND r.day OPERATOR(pg_catalog.<) $2 LIMIT %d",
		"SELECT g.meter_id, g.at::pg_catalog.date FROM %s.energy_register g "
		"WHERE g.at OPERATOR(pg_catalog.>=) $1::pg_catalog.timestamp "
		"AND g.at OPERATOR(pg_catalog.<) $2::pg_catalog.timestamp LIMIT %d"
	};

	for (int k = 0; k < 2; k++)
	{
		energy_spi_exec(psprintf(sql[k], nsp, limit), 2, argtypes, args, NULL, true,
						SPI_OK_SELECT, "finding the meter-days to forget");
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			bool		isnull;

			keys[n].meter_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
														   SPI_tuptable->tupdesc, 1, &isnull));
			keys[n].day = DatumGetDateADT(SPI_getbinval(SPI_tuptable->vals[i],
														SPI_tuptable->tupdesc, 2, &isnull));
			n++;
		}
		SPI_freetuptable(SPI_tuptable);
	}
	if (n < limit)
		(void) energy_lock_keys(keys, n);
	else
		energy_lock_all();
	pfree(keys);
}

/*
 * One day's chunks and register reads go; returns their readings (each
 * chunk's count from its block's header, one per register read).
 */
static int64
forget_day(const char *nsp, DateADT day)
{
	Oid			argtypes[1] = {DATEOID};
	Datum		args[1] = {DateADTGetDatum(day)};
	int64		count = 0;

	energy_spi_exec(psprintf("DELETE FROM %s.energy_reading r WHERE r.day OPERATOR(pg_catalog.=) $1 "
							 "RETURNING pg_catalog.substr(r.block, 1, %d)",
							 nsp, BLOCK_HEAD_BYTES),
					1, argtypes, args, NULL, false, SPI_OK_DELETE_RETURNING,
					"forgetting a day's readings");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		bytea	   *head = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[i],
														 SPI_tuptable->tupdesc, 1, &isnull));
		uint32		n;
		EcErrorCode rc = ec_count((const uint8_t *) VARDATA_ANY(head),
								  VARSIZE_ANY_EXHDR(head), &n);

		if (rc != EC_OK)
			energy_block_report(ERROR, rc, true, psprintf("a chunk of %s",
														  DatumGetCString(DirectFunctionCall1(date_out, args[0]))));
		count += n;
	}
	SPI_freetuptable(SPI_tuptable);

	energy_spi_exec(psprintf("DELETE FROM %s.energy_register g "
							 "WHERE g.at OPERATOR(pg_catalog.>=) $1::pg_catalog.timestamp "
							 "AND g.at OPERATOR(pg_catalog.<) ($1 OPERATOR(pg_catalog.+) 1)::pg_catalog.timestamp",
							 nsp),
					1, argtypes, args, NULL, false, SPI_OK_DELETE,
					"forgetting a day's register reads");
	count += (int64) SPI_processed;
	return count;
}

/*
 * energy_forget(before date) RETURNS bigint
 *
 * Remove the stored readings (LP chunks and TOU register reads) of every day
 * before "before", record it as the horizon, and return how many readings
 * went (superseded copies included).  A day on or before the recorded
 * horizon does nothing and returns 0.  Runs with the caller's rights: it
 * needs DELETE on energy_reading and energy_register, and INSERT and
 * UPDATE on energy_horizon.
 */
Datum
energy_forget(PG_FUNCTION_ARGS)
{
	DateADT		before = PG_GETARG_DATEADT(0);
	EnergySchema schema;
	DateADT		from;
	DateADT		oldest;
	int64		removed = 0;
	int			spi_level;
	int			nestlevel;

	if (DATE_NOT_FINITE(before))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("energy_forget needs a finite day"),
				 errdetail("Every reading is before infinity, and none before -infinity.")));
	energy_schema_lookup(&schema, fcinfo);
	energy_require_schema(&schema, ENERGY_SCHEMA_1_3, "energy_forget");
	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("energy_forget runs only at the READ COMMITTED isolation level"),
				 errdetail("Under REPEATABLE READ or SERIALIZABLE its snapshot would miss the readings of loads that commit while it waits for their locks."),
				 errhint("Call it in a READ COMMITTED transaction.")));

	spi_level = energy_spi_connect();
	energy_schema_place(&schema, true);
	if (schema.placement == PLACEMENT_CITUS)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("energy_forget does not run on a Citus cluster yet")));

	/* every writer's call has ended, and no new one starts until commit */
	LockRelationOid(energy_relation(&schema, "energy_horizon"), ExclusiveLock);
	from = date_scalar(psprintf("SELECT h.before FROM %s.energy_horizon h", schema.nspname),
					   0, (Datum) 0, (Datum) 0, "reading energy_horizon");
	if (from != DATEVAL_NOEND && from >= before)
	{
		energy_spi_finish(spi_level);
		PG_RETURN_INT64(0);
	}
	if (from == DATEVAL_NOEND)
		from = DATEVAL_NOBEGIN;

	/* index probes, whatever the planner thinks of tables never analyzed */
	nestlevel = energy_plan_probes();

	/* the oldest day left (after the last horizon): where removal starts */
	oldest = date_scalar(psprintf("SELECT LEAST("
								  "(SELECT pg_catalog.min(r.day) FROM %1$s.energy_reading r "
								  "WHERE r.day OPERATOR(pg_catalog.<) $1 AND r.day OPERATOR(pg_catalog.>=) $2), "
								  "(SELECT pg_catalog.min(g.at)::pg_catalog.date FROM %1$s.energy_register g "
								  "WHERE g.at OPERATOR(pg_catalog.<) $1::pg_catalog.timestamp "
								  "AND g.at OPERATOR(pg_catalog.>=) $2::pg_catalog.timestamp))",
								  schema.nspname),
						 2, DateADTGetDatum(before), DateADTGetDatum(from),
						 "finding the oldest stored day");
	if (oldest < before)
	{
		forget_lock(schema.nspname, oldest, before);
		for (DateADT day = oldest; day < before; day++)
		{
			CHECK_FOR_INTERRUPTS();
			removed += forget_day(schema.nspname, day);
		}
	}

	{
		Oid			argtypes[1] = {DATEOID};
		Datum		args[1] = {DateADTGetDatum(before)};

		energy_spi_exec(psprintf("INSERT INTO %s.energy_horizon AS h (before, forgotten_at, forgotten_by) "
								 "VALUES ($1, pg_catalog.now(), CURRENT_USER) "
								 "ON CONFLICT (singleton) DO UPDATE SET before = EXCLUDED.before, "
								 "forgotten_at = EXCLUDED.forgotten_at, forgotten_by = EXCLUDED.forgotten_by",
								 schema.nspname),
						1, argtypes, args, NULL, false, SPI_OK_INSERT, "recording the horizon");
	}
	AtEOXact_GUC(true, nestlevel);
	energy_spi_finish(spi_level);
	PG_RETURN_INT64(removed);
}
