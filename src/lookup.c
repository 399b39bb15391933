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
 * The same statement asks the change log whether this meter-day was loaded,
 * replaced or unloaded since the last populate, and if so a NOTICE says so:
 * the answer is still the view's, but the caller learns it may be behind.
 * One indexed statement per call, no second query.
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
#include "utils/lsyscache.h"

#include "energy.h"

PG_FUNCTION_INFO_V1(energy_get_date);
PG_FUNCTION_INFO_V1(energy_get_text);

/* The plan kept for the life of the backend, for the schema it was made in. */
static SPIPlanPtr get_plan = NULL;
static Oid	plan_nspid = InvalidOid;

#define GET_NATTS 8

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

/*
 * The view's row (if any) and whether the change log holds the meter-day,
 * from one statement: an index probe into the view, one into the meter
 * dictionary and one into energy_change.  The view's columns come first, the
 * flag last; a day without a row gives NULLs and the flag.
 */
static void
prepare_plan(EnergySchema *schema)
{
	Oid			argtypes[3] = {TEXTOID, TEXTOID, DATEOID};
	SPIPlanPtr	g;

	if (plan_nspid == schema->nspid && get_plan != NULL)
		return;
	if (!OidIsValid(get_relname_relid("energy_change", schema->nspid)))
		energy_require_schema(schema, 101, "energy_get()");

	g = SPI_prepare(psprintf("SELECT v.meter_code, v.serial_number, v.plant_code, v.day, "
							 "v.min_energy, v.max_energy, v.avg_energy, v.readings, "
							 "EXISTS (SELECT FROM %1$s.energy_change c "
							 "JOIN %1$s.energy_meter m ON m.meter_id OPERATOR(pg_catalog.=) c.meter_id "
							 "WHERE m.meter_code OPERATOR(pg_catalog.=) $1 "
							 "AND m.serial_number OPERATOR(pg_catalog.=) $2 "
							 "AND c.day OPERATOR(pg_catalog.=) $3) "
							 "FROM (VALUES (1)) AS one(x) "
							 "LEFT JOIN %1$s.energy_data_view v "
							 "ON v.meter_code OPERATOR(pg_catalog.=) $1 "
							 "AND v.serial_number OPERATOR(pg_catalog.=) $2 "
							 "AND v.day OPERATOR(pg_catalog.=) $3",
							 schema->nspname), 3, argtypes);
	if (g == NULL)
		elog(ERROR, "could not prepare energy_get: %s", SPI_result_code_string(SPI_result));
	SPI_keepplan(g);
	if (get_plan)
		SPI_freeplan(get_plan);
	get_plan = g;
	plan_nspid = schema->nspid;
}

static Datum
energy_get_internal(FunctionCallInfo fcinfo, Datum meter, Datum serial, DateADT day)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	EnergySchema schema;
	Datum		args[3];
	bool		stale = false;
	int			rc;

	InitMaterializedSRF(fcinfo, 0);
	energy_schema_lookup(&schema, fcinfo);

	/* never populated, or restored from a dump (which leaves it empty) */
	if (!energy_view_populated(&schema))
	{
		ereport(NOTICE,
				(errmsg("energy_data_view has not been populated yet"),
				 errhint("Call energy_populate_view().")));
		return (Datum) 0;
	}

	SPI_connect();
	prepare_plan(&schema);
	args[0] = meter;
	args[1] = serial;
	args[2] = DateADTGetDatum(day);
	rc = SPI_execute_plan(get_plan, args, NULL, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "reading energy_data_view failed: %s", SPI_result_code_string(rc));

	for (uint64 i = 0; i < SPI_processed; i++)
	{
		Datum		values[GET_NATTS + 1];
		bool		nulls[GET_NATTS + 1];

		heap_deform_tuple(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, values, nulls);
		stale = DatumGetBool(values[GET_NATTS]);
		if (!nulls[0])
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	SPI_finish();
	if (stale)
		ereport(NOTICE,
				(errmsg("energy_data_view is stale: this meter-day changed after the last energy_populate_view()"),
				 errhint("Call energy_populate_view() to include the change.")));
	return (Datum) 0;
}

/*
 * energy_get(meter, serial, day date): an infinite day has no row.
 */
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

/*
 * energy_get(meter, serial, text): the day as the seed's clients write it.
 */
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
