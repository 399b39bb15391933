/*-------------------------------------------------------------------------
 *
 * spi.c
 *	  SQL from C: the statements the extension prepares and runs through
 *	  SPI, the check of their result, and the arrays their parameters are.
 *
 * Every stage that asks SQL something (the dictionaries, the loader's
 * bookkeeping, the overlap stage, populate, the lookups) does it the same
 * way: a statement prepared once where Citus may plan it (custom plans,
 * see citus.c), run with its parameters as whole arrays (one statement per
 * batch, never one per row), and its result code checked against what the
 * statement must return, an unexpected one an internal error naming what
 * was being done.  This file is that way, written once.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "executor/spi.h"
#include "nodes/parsenodes.h"
#include "utils/array.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"

#include "energy.h"

/*
 * Connect to SPI with the search_path every statement of the extension
 * runs under: pg_catalog, then the session's temporary schema (which is
 * never searched for functions or operators).  The SQL the library writes
 * names its own objects by schema, but an unqualified cast, an operator
 * found by its argument types, or the body of a function of an older
 * schema that pins nothing (1.1's energy_resolve()) would otherwise
 * resolve through the caller's search_path, where a role with CREATE on a
 * schema could have planted a look-alike that then runs with the rights of
 * whoever loads or populates.  Set as a function's SET clause sets it (a
 * GUC nest level, restored by energy_spi_finish or by the error that
 * aborts the call), so it holds for the statements prepared, planned and
 * run in between, and for the functions they call, on every schema
 * version the library serves.  Returns what energy_spi_finish needs.
 */
int
energy_spi_connect(void)
{
	int			nestlevel;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return nestlevel;
}

/* Close what energy_spi_connect opened: the caller's search_path is back. */
void
energy_spi_finish(int nestlevel)
{
	AtEOXact_GUC(true, nestlevel);
	SPI_finish();
}

/*
 * Whether Citus is installed in this database: its catalog exists.  One
 * syscache lookup, so a server without Citus pays nothing more.
 */
bool
energy_citus_installed(void)
{
	return OidIsValid(get_relname_relid("pg_dist_partition", PG_CATALOG_NAMESPACE));
}

/*
 * Prepare a statement of the extension: where Citus is installed, planned
 * anew with each call's values (Citus plans a multi-shard statement only
 * with its parameters known); otherwise as SPI_prepare does.
 */
SPIPlanPtr
energy_prepare(const char *sql, int nargs, Oid *argtypes)
{
	SPIPlanPtr	plan;

	plan = SPI_prepare_cursor(sql, nargs, argtypes,
							  energy_citus_installed() ? CURSOR_OPT_CUSTOM_PLAN : 0);
	if (plan == NULL)
		elog(ERROR, "could not prepare \"%s\": %s", sql,
			 SPI_result_code_string(SPI_result));
	return plan;
}

/* The check every statement's result gets: what must be, or an error. */
static void
spi_check(int rc, int expected, const char *what)
{
	if (rc != expected)
		elog(ERROR, "%s failed: %s", what, SPI_result_code_string(rc));
}

/*
 * Run a prepared statement (nulls as SPI takes them, NULL for none) and
 * check that it did what it must (SPI_OK_SELECT, SPI_OK_UPDATE, ...).
 */
void
energy_spi_run(SPIPlanPtr plan, Datum *args, const char *nulls, int expected,
			   const char *what)
{
	spi_check(SPI_execute_plan(plan, args, nulls, false, 0), expected, what);
}

/*
 * Run a statement once, unprepared, with nargs parameters (none: argtypes,
 * args and nulls may be NULL; read_only as SPI takes it: true in a STABLE
 * function, whose reads must share its snapshot), and check its result.
 */
void
energy_spi_exec(const char *sql, int nargs, Oid *argtypes, Datum *args,
				const char *nulls, bool read_only, int expected, const char *what)
{
	int			rc;

	if (nargs == 0)
		rc = SPI_execute(sql, read_only, 0);
	else
		rc = SPI_execute_with_args(sql, nargs, argtypes, args, nulls, read_only, 0);
	spi_check(rc, expected, what);
}

/*
 * A one-dimensional array of n elements of a type (nulls NULL: none is
 * null), the form every batch statement takes its parameters in.
 */
Datum
energy_array(Datum *elems, bool *nulls, int n, Oid elemtype)
{
	int16		typlen;
	bool		typbyval;
	char		typalign;
	int			dims[1] = {n};
	int			lbs[1] = {1};

	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	return PointerGetDatum(construct_md_array(elems, nulls, 1, dims, lbs, elemtype,
											  typlen, typbyval, typalign));
}
