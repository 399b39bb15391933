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
 * Before answering, it asks view.c whether any file was loaded after the
 * view's last refresh and says so with a NOTICE: the answer is still the
 * view's, but the caller learns it may be behind.
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

/* The plan kept for the life of the backend, for the schema it was made in. */
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

/* The lookup, prepared once per backend for the schema it was made in. */
static void
prepare_get_plan(const EnergySchema *schema)
{
	Oid			argtypes[3] = {TEXTOID, TEXTOID, DATEOID};
	SPIPlanPtr	g;

	if (plans_nspid == schema->nspid && get_plan != NULL)
		return;
	g = SPI_prepare(psprintf("SELECT meter_code, serial_number, plant_code, day, "
							 "min_energy, max_energy, avg_energy, readings "
							 "FROM %s.energy_data_view "
							 "WHERE meter_code OPERATOR(pg_catalog.=) $1 "
							 "AND serial_number OPERATOR(pg_catalog.=) $2 "
							 "AND day OPERATOR(pg_catalog.=) $3",
							 schema->nspname), 3, argtypes);
	if (g == NULL)
		elog(ERROR, "could not prepare energy_get: %s", SPI_result_code_string(SPI_result));
	SPI_keepplan(g);
	if (get_plan)
		SPI_freeplan(get_plan);
	get_plan = g;
	plans_nspid = schema->nspid;
}

/*
 * One meter's day: a NOTICE first if the view may be behind (view.c), then
 * the indexed lookup.
 */
static Datum
energy_get_internal(FunctionCallInfo fcinfo, Datum meter, Datum serial, DateADT day)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	EnergySchema schema;
	Datum		args[3];
	int			rc;

	InitMaterializedSRF(fcinfo, 0);
	energy_schema_lookup(&schema, fcinfo);

	SPI_connect();
	if (!energy_view_check(&schema))
	{
		SPI_finish();
		return (Datum) 0;
	}
	prepare_get_plan(&schema);

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
