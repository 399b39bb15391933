/*-------------------------------------------------------------------------
 *
 * lookup.c
 *	  energy_get(): one meter's day from energy_data_view, and
 *	  energy_get_channels(): its channels from energy_channel_view.
 *
 * This is the seed's /get-data, called per request by applications, so it
 * is a probe into the view's unique index, read directly.  The day as
 * text is parsed here, not by date_in, because the seed's clients send
 * dd/mm/yyyy and DateStyle must never decide whether 01/09/2015 is the
 * first of September.
 *
 * A second probe asks the change log whether this meter-day was loaded,
 * replaced or unloaded since the last populate, and if so a NOTICE says so:
 * the answer is still the view's, but the caller learns it may be behind.
 *
 * On a Citus cluster the views stay on the coordinator and are read the
 * same way, but the change log and the meters live in Citus's tables,
 * whose coordinator heaps are empty: there the second probe is two
 * statements, the meter's ids from the reference table and then the change
 * log, which Citus sends to the one shard that holds the meter.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_class.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "energy.h"

PG_FUNCTION_INFO_V1(energy_get_date);
PG_FUNCTION_INFO_V1(energy_get_text);
PG_FUNCTION_INFO_V1(energy_get_range);
PG_FUNCTION_INFO_V1(energy_get_channels_date);
PG_FUNCTION_INFO_V1(energy_get_channels_text);

/* The columns of energy_data_view, which energy_get returns. */
#define GET_NATTS 8

/* Skip 1..max digits; NULL when there are fewer than min. */
static const char *
skip_digits(const char *p, const char *end, int min, int max)
{
	int			n = 0;

	while (p < end && n < max && *p >= '0' && *p <= '9')
		p++, n++;
	return n >= min ? p : NULL;
}

/* A zone as drivers write it: Z, or +hh, +hhmm, +hh:mm (or -). */
static const char *
skip_zone(const char *p, const char *end)
{
	if (p < end && *p == 'Z')
		return p + 1;
	if (p == end || (*p != '+' && *p != '-'))
		return NULL;
	if ((p = skip_digits(p + 1, end, 2, 2)) == NULL || p == end)
		return p;
	if (*p == ':')
		p++;
	return skip_digits(p, end, 2, 2);
}

/*
 * What client drivers put after an ISO date: a time (hh:mm, :ss, a
 * fraction) after 'T' or a space, then perhaps a zone; or a zone alone
 * after a space (JDBC's "2015-09-01 +00").  The day stays the date as
 * written: a zone never shifts it.
 */
static bool
iso_suffix_ok(const char *p, const char *end)
{
	if (p == end)
		return true;
	if (*p != 'T' && *p != ' ')
		return false;
	p++;
	if (p < end && *p >= '0' && *p <= '9')
	{
		if ((p = skip_digits(p, end, 1, 2)) == NULL || p == end || *p++ != ':' ||
			(p = skip_digits(p, end, 2, 2)) == NULL)
			return false;
		if (p < end && *p == ':')
		{
			if ((p = skip_digits(p + 1, end, 2, 2)) == NULL)
				return false;
			if (p < end && *p == '.' && (p = skip_digits(p + 1, end, 1, 9)) == NULL)
				return false;
		}
		if (p < end && *p == ' ')
			p++;
		if (p == end)
			return true;
	}
	p = skip_zone(p, end);
	return p == end;
}

/*
 * Accept dd/mm/yyyy or yyyy-mm-dd (one- or two-digit day and month,
 * surrounding spaces allowed), through the parser's date grammar, so a day
 * that loads from a file is a day that can be asked for; an ISO date may
 * carry what drivers add (iso_suffix_ok).  Returns false when the text has
 * none of these forms; a date of the right form but not in the calendar is
 * an error here.
 */
static bool
energy_parse_day(const char *text, DateADT *day)
{
	const char *s = text;
	size_t		n;
	size_t		date_len;
	EpTimestamp ts;
	char		detail[EP_DETAIL_MAX];
	EpErrorCode rc;

	while (*s == ' ')
		s++;
	n = strlen(s);
	while (n > 0 && s[n - 1] == ' ')
		n--;
	/* an ISO date ends at the first 'T' or space after it */
	date_len = n;
	if (n > 4 && s[4] == '-')
		date_len = strcspn(s, "T ");
	if (date_len > n || !iso_suffix_ok(s + date_len, s + n))
		return false;
	n = date_len;
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
 * The relations and indexes a lookup reads, resolved once per backend for
 * the schema of the function called; forgotten when any of them changes
 * (dropped with the extension, say), through the relcache callback.
 */
enum
{
	REL_VIEW, REL_VIEW_KEY, REL_METER, REL_METER_KEY, REL_CHANGE, REL_CHANGE_KEY,
	REL_CHANNELS, REL_CHANNELS_KEY, NUM_RELS
};
static const char *const rel_names[NUM_RELS] = {
	"energy_data_view", "energy_data_view_key",
	"energy_meter", "energy_meter_meter_code_serial_number_plant_code_key",
	"energy_change", "energy_change_meter_day_idx",
	"energy_channel_view", "energy_channel_view_key"
};
static Oid	rels_nspid = InvalidOid;
static Oid	rels[NUM_RELS];

/*
 * The role that SELECT on what a lookup reads was last granted to, as
 * checked: [0] for energy_get (its view, the meters, the change log), [1]
 * for energy_get_channels (the same with the channel view).
 */
static Oid	rels_granted_to[2] = {InvalidOid, InvalidOid};

/*
 * GRANT and REVOKE on a relation invalidate it, and so forget both; a
 * change of role membership forgets the grants.
 */
static void
forget_grants(Datum arg, int cacheid, uint32 hashvalue)
{
	rels_granted_to[0] = rels_granted_to[1] = InvalidOid;
}

static void
forget_rels(Datum arg, Oid relid)
{
	for (int i = 0; i < NUM_RELS; i++)
		if (!OidIsValid(relid) || rels[i] == relid)
		{
			rels_nspid = InvalidOid;
			rels_granted_to[0] = rels_granted_to[1] = InvalidOid;
		}
}

static void
resolve_rels(EnergySchema *schema)
{
	static bool callback_registered = false;

	if (rels_nspid == schema->nspid)
		return;
	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(forget_rels, (Datum) 0);
		CacheRegisterSyscacheCallback(AUTHMEMMEMROLE, forget_grants, (Datum) 0);
		callback_registered = true;
	}
	if (!OidIsValid(get_relname_relid("energy_change", schema->nspid)))
		energy_require_schema(schema, 101, "energy_get()");
	for (int i = 0; i < NUM_RELS; i++)
		rels[i] = energy_relation(schema, rel_names[i]);
	rels_nspid = schema->nspid;
	rels_granted_to[0] = rels_granted_to[1] = InvalidOid;
}

/*
 * SELECT on the tables read, checked as the executor would check it (the
 * lookup reads through their indexes directly, not through a query), once
 * per role until a GRANT or REVOKE.
 */
static void
check_rels_granted(int view)
{
	Oid			role = GetUserId();
	int			which = (view == REL_CHANNELS);
	const int	read[] = {view, REL_METER, REL_CHANGE};

	if (role == rels_granted_to[which])
		return;
	for (int i = 0; i < lengthof(read); i++)
	{
		AclResult	aclresult = pg_class_aclcheck(rels[read[i]], role, ACL_SELECT);

		if (aclresult != ACLCHECK_OK)
			aclcheck_error(aclresult, get_relkind_objtype(get_rel_relkind(rels[read[i]])),
						   rel_names[read[i]]);
	}
	rels_granted_to[which] = role;
}

/* A relation a lookup reads, opened for one call, with the index it probes. */
typedef struct Probe
{
	Relation	rel;
	Relation	index;
	IndexScanDesc scan;
	TupleTableSlot *slot;
} Probe;

static void
probe_open(Probe *p, int rel, int nkeys)
{
	Oid			relid = rels[rel];

	p->rel = table_open(relid, AccessShareLock);
	if (p->rel->rd_rel->relrowsecurity &&
		check_enable_rls(relid, InvalidOid, false) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("energy_get cannot read \"%s\": row-level security is enabled",
						rel_names[rel])));
	p->index = index_open(rels[rel + 1], AccessShareLock);
	p->scan = index_beginscanCompat(p->rel, p->index, GetActiveSnapshot(), nkeys, 0);
	p->slot = table_slot_create(p->rel, NULL);
}

static void
probe_close(Probe *p)
{
	ExecDropSingleTupleTableSlot(p->slot);
	index_endscan(p->scan);
	index_close(p->index, AccessShareLock);
	table_close(p->rel, AccessShareLock);
}

/*
 * The i-th scan key: column k (1-based) of the index compared with value,
 * in the index's collation.
 */
static void
probe_key(Probe *p, ScanKey keys, int i, int k, StrategyNumber strategy,
		  RegProcedure proc, Datum value)
{
	ScanKeyEntryInitialize(&keys[i], 0, k, strategy, InvalidOid,
						   p->index->rd_indcollation[k - 1], proc, value);
}

/* Keys for a meter's (or meter id's) days from..to on a (key, day) index. */
static int
probe_days(Probe *p, ScanKey keys, int daycol, DateADT from, DateADT to)
{
	probe_key(p, keys, daycol - 1, daycol, BTGreaterEqualStrategyNumber, F_DATE_GE,
			  DateADTGetDatum(from));
	probe_key(p, keys, daycol, daycol, BTLessEqualStrategyNumber, F_DATE_LE,
			  DateADTGetDatum(to));
	return daycol + 1;
}

/*
 * Whether the change log holds a day from..to of this meter: the meter's
 * ids (one per plant code; of every serial when serial is NULL) from the
 * dictionary's unique index, then one probe each into energy_change's
 * (meter_id, day) index.
 */
static bool
change_pending(Datum meter, const Datum *serial, DateADT from, DateADT to)
{
	Probe		m,
				c;
	ScanKeyData mkeys[2],
				ckeys[3];
	bool		found = false;

	/* a scan compares as many keys as it began with */
	probe_open(&m, REL_METER, serial ? 2 : 1);
	probe_open(&c, REL_CHANGE, 3);
	probe_key(&m, mkeys, 0, 1, BTEqualStrategyNumber, F_TEXTEQ, meter);
	if (serial)
		probe_key(&m, mkeys, 1, 2, BTEqualStrategyNumber, F_TEXTEQ, *serial);
	index_rescan(m.scan, mkeys, serial ? 2 : 1, NULL, 0);
	while (!found && index_getnext_slot(m.scan, ForwardScanDirection, m.slot))
	{
		bool		isnull;

		probe_key(&c, ckeys, 0, 1, BTEqualStrategyNumber, F_INT8EQ,
				  slot_getattr(m.slot, 1, &isnull));
		index_rescan(c.scan, ckeys, probe_days(&c, ckeys, 2, from, to), NULL, 0);
		found = index_getnext_slot(c.scan, ForwardScanDirection, c.slot);
	}
	probe_close(&c);
	probe_close(&m);
	return found;
}

/*
 * change_pending() through SQL, for a cluster whose change log and meters
 * are Citus's (see the top of the file).  The meter's ids first, so that the
 * probe of the change log names its distribution column's values and Citus
 * routes it to their shards.
 */
static bool
change_pending_sql(const EnergySchema *schema, Datum meter, const Datum *serial,
				   DateADT from, DateADT to)
{
	Oid			argtypes[3] = {TEXTOID, TEXTOID, INT8ARRAYOID};
	Datum		args[3] = {meter, serial ? *serial : (Datum) 0, (Datum) 0};
	char		nulls[3] = {' ', serial ? ' ' : 'n', ' '};
	bool		isnull;
	bool		found;
	int			rc;

	rc = SPI_execute_with_args(psprintf("SELECT pg_catalog.array_agg(meter_id) FROM %s.energy_meter "
										"WHERE meter_code OPERATOR(pg_catalog.=) $1 "
										"AND ($2 IS NULL OR serial_number OPERATOR(pg_catalog.=) $2)",
										schema->nspname),
							   2, argtypes, args, nulls, true, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "reading energy_meter failed: %s", SPI_result_code_string(rc));
	args[0] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		return false;
	argtypes[0] = INT8ARRAYOID;
	argtypes[1] = DATEOID;
	argtypes[2] = DATEOID;
	args[1] = DateADTGetDatum(from);
	args[2] = DateADTGetDatum(to);
	rc = SPI_execute_with_args(psprintf("SELECT FROM %s.energy_change "
										"WHERE meter_id OPERATOR(pg_catalog.=) ANY ($1) "
										"AND day OPERATOR(pg_catalog.>=) $2 "
										"AND day OPERATOR(pg_catalog.<=) $3 LIMIT 1",
										schema->nspname),
							   3, argtypes, args, NULL, true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "reading energy_change failed: %s", SPI_result_code_string(rc));
	found = (SPI_processed > 0);
	return found;
}

/*
 * Whether this meter's days from..to changed since the last populate: by
 * index probes on one server, by SQL on a Citus cluster.
 */
static bool
change_pending_any(FunctionCallInfo fcinfo, Datum meter, const Datum *serial,
				   DateADT from, DateADT to)
{
	EnergySchema schema = {0};
	bool		found;

	if (!OidIsValid(get_relname_relid("pg_dist_partition", PG_CATALOG_NAMESPACE)))
		return change_pending(meter, serial, from, to);
	energy_schema_lookup(&schema, fcinfo);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (energy_distributed(&schema))
		found = change_pending_sql(&schema, meter, serial, from, to);
	else
		found = change_pending(meter, serial, from, to);
	SPI_finish();
	return found;
}

/* What every lookup does first: its result set, its relations, its rights. */
static void
lookup_begin(FunctionCallInfo fcinfo, int view)
{
	EnergySchema schema = {0};

	InitMaterializedSRF(fcinfo, 0);
	schema.nspid = get_func_namespace(fcinfo->flinfo->fn_oid);
	if (schema.nspid != rels_nspid)
		energy_schema_lookup(&schema, fcinfo);
	resolve_rels(&schema);
	check_rels_granted(view);
}

/*
 * A meter's days from..to, in day order: one range probe into the view's
 * unique index, and one into the change log to say (once) whether the
 * answer may be behind.  Called per request by applications, so it reads
 * the indexes directly: no statement to plan or execute, as fast as a
 * primary-key lookup in a plain table.
 */
static Datum
energy_get_internal(FunctionCallInfo fcinfo, Datum meter, Datum serial,
					DateADT from, DateADT to)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Probe		v;
	ScanKeyData keys[4];

	lookup_begin(fcinfo, REL_VIEW);
	probe_open(&v, REL_VIEW, 4);
	/* never populated, or restored from a dump (which leaves it empty) */
	if (!RelationIsPopulated(v.rel))
	{
		probe_close(&v);
		ereport(NOTICE,
				(errmsg("energy_data_view has not been populated yet"),
				 errhint("Call energy_populate_view().")));
		return (Datum) 0;
	}
	Assert(RelationGetDescr(v.rel)->natts == GET_NATTS);
	probe_key(&v, keys, 0, 1, BTEqualStrategyNumber, F_TEXTEQ, meter);
	probe_key(&v, keys, 1, 2, BTEqualStrategyNumber, F_TEXTEQ, serial);
	index_rescan(v.scan, keys, probe_days(&v, keys, 3, from, to), NULL, 0);
	while (index_getnext_slot(v.scan, ForwardScanDirection, v.slot))
	{
		slot_getallattrs(v.slot);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc,
							 v.slot->tts_values, v.slot->tts_isnull);
	}
	probe_close(&v);

	if (change_pending_any(fcinfo, meter, &serial, from, to))
		ereport(NOTICE,
				(errmsg("energy_data_view is stale: %s changed after the last energy_populate_view()",
						from == to ? "this meter-day" : "days of this range"),
				 errhint("Call energy_populate_view() to include the change.")));
	return (Datum) 0;
}

/* A day given as a date: an infinite one has no row. */
static DateADT
finite_day(DateADT day)
{
	if (DATE_NOT_FINITE(day))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_FIELD_OVERFLOW),
				 errmsg("day must be a finite date")));
	return day;
}

/* A day as text, as the lookups take it, or SQLSTATE 22007. */
static DateADT
text_day(text *t)
{
	char	   *s = text_to_cstring(t);
	DateADT		day;

	if (!energy_parse_day(s, &day))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_DATETIME_FORMAT),
				 errmsg("invalid day \"%s\"", s),
				 errdetail("The day must be written dd/mm/yyyy or yyyy-mm-dd, which a time and a zone may follow.")));
	return day;
}

/* energy_get(meter, serial, day date) */
Datum
energy_get_date(PG_FUNCTION_ARGS)
{
	DateADT		day = finite_day(PG_GETARG_DATEADT(2));

	return energy_get_internal(fcinfo, PG_GETARG_DATUM(0), PG_GETARG_DATUM(1), day, day);
}

/* energy_get(meter, serial, from_day date, to_day date): a closed range. */
Datum
energy_get_range(PG_FUNCTION_ARGS)
{
	DateADT		from = finite_day(PG_GETARG_DATEADT(2));
	DateADT		to = finite_day(PG_GETARG_DATEADT(3));

	return energy_get_internal(fcinfo, PG_GETARG_DATUM(0), PG_GETARG_DATUM(1), from, to);
}

/*
 * energy_get(meter, serial, text): the day as the seed's clients write it,
 * or as drivers send a date.
 */
Datum
energy_get_text(PG_FUNCTION_ARGS)
{
	DateADT		day = text_day(PG_GETARG_TEXT_PP(2));

	return energy_get_internal(fcinfo, PG_GETARG_DATUM(0), PG_GETARG_DATUM(1), day, day);
}

/*
 * A meter's channels on one day, from energy_channel_view: one probe into
 * its unique index (meter_code, serial_number, day, ...), of one serial, or
 * of every serial of the meter when serial_code is NULL.  Not strict: a
 * NULL meter or day has no rows.
 */
static Datum
energy_get_channels_internal(FunctionCallInfo fcinfo, DateADT day)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		meter = PG_GETARG_DATUM(0);
	Datum		serial = PG_ARGISNULL(1) ? (Datum) 0 : PG_GETARG_DATUM(1);
	Probe		v;
	ScanKeyData keys[3];
	int			nkeys = 0;

	lookup_begin(fcinfo, REL_CHANNELS);
	probe_open(&v, REL_CHANNELS, PG_ARGISNULL(1) ? 2 : 3);
	if (!RelationIsPopulated(v.rel))
	{
		probe_close(&v);
		ereport(NOTICE,
				(errmsg("energy_channel_view has not been populated yet"),
				 errhint("Call energy_populate_view().")));
		return (Datum) 0;
	}
	probe_key(&v, keys, nkeys++, 1, BTEqualStrategyNumber, F_TEXTEQ, meter);
	if (!PG_ARGISNULL(1))
		probe_key(&v, keys, nkeys++, 2, BTEqualStrategyNumber, F_TEXTEQ, serial);
	probe_key(&v, keys, nkeys++, 3, BTEqualStrategyNumber, F_DATE_EQ, DateADTGetDatum(day));
	index_rescan(v.scan, keys, nkeys, NULL, 0);
	while (index_getnext_slot(v.scan, ForwardScanDirection, v.slot))
	{
		slot_getallattrs(v.slot);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc,
							 v.slot->tts_values, v.slot->tts_isnull);
	}
	probe_close(&v);

	if (change_pending_any(fcinfo, meter, PG_ARGISNULL(1) ? NULL : &serial, day, day))
		ereport(NOTICE,
				(errmsg("energy_channel_view is stale: this meter-day changed after the last energy_populate_view()"),
				 errhint("Call energy_populate_view() to include the change.")));
	return (Datum) 0;
}

/* energy_get_channels(meter, serial, day date) */
Datum
energy_get_channels_date(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0) || PG_ARGISNULL(2))
	{
		InitMaterializedSRF(fcinfo, 0);
		return (Datum) 0;
	}
	return energy_get_channels_internal(fcinfo, finite_day(PG_GETARG_DATEADT(2)));
}

/* energy_get_channels(meter, serial, text): the day as energy_get takes it. */
Datum
energy_get_channels_text(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0) || PG_ARGISNULL(2))
	{
		InitMaterializedSRF(fcinfo, 0);
		return (Datum) 0;
	}
	return energy_get_channels_internal(fcinfo, text_day(PG_GETARG_TEXT_PP(2)));
}
