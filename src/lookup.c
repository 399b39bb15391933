/*-------------------------------------------------------------------------
 *
 * lookup.c
 *	  energy_get(): one meter's day from energy_data_view.
 *
 * This is the seed's /get-data, called per request by applications, so it
 * is an index lookup through a plan prepared once per backend.  The day as
 * text is parsed here, not by date_in, because the seed's clients send
 * dd/mm/yyyy and DateStyle must never decide whether 01/09/2015 is the
 * first of September.
 *
 * Before answering, it checks whether any file was loaded after the view's
 * last refresh (energy_view_state) and says so with a NOTICE: the answer is
 * still the view's, but the caller learns it may be behind.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"

#include "energy.h"

PG_FUNCTION_INFO_V1(energy_get_date);
PG_FUNCTION_INFO_V1(energy_get_text);

/* Plans kept for the life of the backend, for the schema they were made in. */
static SPIPlanPtr state_plan = NULL;
static SPIPlanPtr get_plan = NULL;
static Oid	plans_nspid = InvalidOid;

/*
 * Accept exactly dd/mm/yyyy or yyyy-mm-dd (one- or two-digit day and month,
 * surrounding spaces allowed), through the parser's date grammar, so a day
 * that loads from a file is a day that can be asked for.  Returns false when
 * the text has neither form; a date of the right form but not in the
 * calendar is an error here.
 */
static bool
energy_parse_day(const char *text, DateADT *day)
{
	const char *s = text;
	size_t		n;
	EpTimestamp ts;
	char		detail[EP_DETAIL_MAX];
	EpErrorCode rc;

	while (*s == ' ')
		s++;
	n = strlen(s);
	while (n > 0 && s[n - 1] == ' ')
		n--;
	rc = ep_parse_date(s, n, &ts, detail);
	if (rc == EP_ERR_DATETIME)
		return false;
	if (rc != EP_ERR_NONE)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_FIELD_OVERFLOW),
				 errmsg("date out of range: \"%s\"", text)));
	*day = date2j(ts.year, ts.month, ts.day) - POSTGRES_EPOCH_JDATE;
	return true;
}

static void
prepare_plans(const EnergySchema *schema)
{
	Oid			argtypes[3] = {TEXTOID, TEXTOID, DATEOID};
	SPIPlanPtr	s,
				g;

	if (plans_nspid == schema->nspid && state_plan != NULL)
		return;

	/*
	 * A file is unseen if its loading transaction is not in the snapshot of
	 * the last refresh.  Transactions not yet started here (load_xid past the
	 * current snapshot's xmax) can only come from a restored dump of another
	 * cluster, whose rows a refresh here has seen.
	 */
	s = SPI_prepare(psprintf("SELECT EXISTS (SELECT 1 FROM %s.energy_file f "
							 "WHERE f.load_xid OPERATOR(pg_catalog.>=) pg_catalog.pg_snapshot_xmin(v.snapshot) "
							 "AND f.load_xid OPERATOR(pg_catalog.<) pg_catalog.pg_snapshot_xmax(pg_catalog.pg_current_snapshot()) "
							 "AND NOT pg_catalog.pg_visible_in_snapshot(f.load_xid, v.snapshot)) "
							 "FROM %s.energy_view_state v",
							 schema->nspname, schema->nspname), 0, NULL);
	g = SPI_prepare(psprintf("SELECT meter_code, serial_number, plant_code, day, "
							 "min_energy, max_energy, avg_energy, readings "
							 "FROM %s.energy_data_view "
							 "WHERE meter_code OPERATOR(pg_catalog.=) $1 "
							 "AND serial_number OPERATOR(pg_catalog.=) $2 "
							 "AND day OPERATOR(pg_catalog.=) $3",
							 schema->nspname), 3, argtypes);
	if (s == NULL || g == NULL)
		elog(ERROR, "could not prepare energy_get: %s", SPI_result_code_string(SPI_result));
	SPI_keepplan(s);
	SPI_keepplan(g);
	if (state_plan)
		SPI_freeplan(state_plan);
	if (get_plan)
		SPI_freeplan(get_plan);
	state_plan = s;
	get_plan = g;
	plans_nspid = schema->nspid;
}

static Datum
energy_get_internal(FunctionCallInfo fcinfo, Datum meter, Datum serial, DateADT day)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	EnergySchema schema;
	Datum		args[3];
	bool		isnull;
	int			rc;

	InitMaterializedSRF(fcinfo, 0);
	energy_schema_lookup(&schema, fcinfo);

	SPI_connect();
	prepare_plans(&schema);

	rc = SPI_execute_plan(state_plan, NULL, NULL, true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "reading energy_view_state failed: %s", SPI_result_code_string(rc));
	/* never refreshed, or restored from a dump (which leaves it empty) */
	if (SPI_processed == 0 || !energy_view_populated(&schema))
	{
		ereport(NOTICE,
				(errmsg("energy_data_view has not been populated yet"),
				 errhint("Call energy_populate_view().")));
		SPI_finish();
		return (Datum) 0;
	}
	if (DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)))
		ereport(NOTICE,
				(errmsg("energy_data_view is stale: files were loaded after the last energy_populate_view()"),
				 errhint("Call energy_populate_view() to include them.")));

	args[0] = meter;
	args[1] = serial;
	args[2] = DateADTGetDatum(day);
	rc = SPI_execute_plan(get_plan, args, NULL, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "reading energy_data_view failed: %s", SPI_result_code_string(rc));

	for (uint64 i = 0; i < SPI_processed; i++)
	{
		Datum		values[8];
		bool		nulls[8];

		heap_deform_tuple(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, values, nulls);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	SPI_finish();
	return (Datum) 0;
}

Datum
energy_get_date(PG_FUNCTION_ARGS)
{
	DateADT		day = PG_GETARG_DATEADT(2);

	if (DATE_NOT_FINITE(day))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_FIELD_OVERFLOW),
				 errmsg("day must be a finite date")));
	return energy_get_internal(fcinfo, PG_GETARG_DATUM(0), PG_GETARG_DATUM(1), day);
}

Datum
energy_get_text(PG_FUNCTION_ARGS)
{
	char	   *s = text_to_cstring(PG_GETARG_TEXT_PP(2));
	DateADT		day;

	if (!energy_parse_day(s, &day))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_DATETIME_FORMAT),
				 errmsg("invalid day \"%s\"", s),
				 errdetail("The day must be written dd/mm/yyyy or yyyy-mm-dd.")));
	return energy_get_internal(fcinfo, PG_GETARG_DATUM(0), PG_GETARG_DATUM(1), day);
}
