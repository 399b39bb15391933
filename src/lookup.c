/*-------------------------------------------------------------------------
 *
 * lookup.c
 *	  energy_get(): one meter's day from energy_data_view, and
 *	  energy_get_channels(): its channels from energy_channel_view.
 *
 * Applications call it per request, as they called the service energy
 * replaced, so it is a probe into the view's unique index, read directly.
 * The day as text is parsed here, not by date_in, because those clients
 * send dd/mm/yyyy and DateStyle must never decide whether 01/09/2015 is the
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
PG_FUNCTION_INFO_V1(energy_get_range_text);
PG_FUNCTION_INFO_V1(energy_get_channels_date);
PG_FUNCTION_INFO_V1(energy_get_channels_text);

/* The columns of energy_data_view, which energy_get returns. */
#define GET_NATTS 8

/* Read up to max digits as a number; NULL when there are fewer than min. */
static const char *
read_field(const char *p, const char *end, int min, int max, int *value)
{
	int			n = 0;

	*value = 0;
	while (p < end && n < max && *p >= '0' && *p <= '9')
		*value = *value * 10 + (*p++ - '0'), n++;
	return n >= min ? p : NULL;
}

/* What follows an ISO date, as iso_suffix() read it. */
typedef enum DaySuffix
{
	SUFFIX_BAD,					/* not a form drivers send: 22007 */
	SUFFIX_OK,					/* nothing, a time, a zone, or midnight and a
								 * zone: the date as written */
	SUFFIX_ZONED_TIME			/* a time other than midnight, with a zone */
} DaySuffix;

/*
 * A zone as drivers write it: Z, or +hh, +hhmm, +hh:mm (or -).  An offset
 * past 15:59, the widest PostgreSQL takes, is out of range (22008).
 */
static const char *
read_zone(const char *p, const char *end, const char *text)
{
	int			hh,
				mm = 0;

	if (p < end && *p == 'Z')
		return p + 1;
	if (p == end || (*p != '+' && *p != '-'))
		return NULL;
	if ((p = read_field(p + 1, end, 2, 2, &hh)) == NULL)
		return NULL;
	if (p < end)
	{
		if (*p == ':')
			p++;
		if ((p = read_field(p, end, 2, 2, &mm)) == NULL)
			return NULL;
	}
	if (hh > 15 || mm > 59)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_FIELD_OVERFLOW),
				 errmsg("time zone displacement out of range: \"%s\"", text)));
	return p;
}

/*
 * What client drivers put after an ISO date: a time (hh:mm, :ss, a
 * fraction) after 'T' or a space, then perhaps a zone; or a zone alone
 * after a space (JDBC's "2015-09-01 +00").  A field out of its range
 * (T99:99) is 22008, as PostgreSQL's own input says.
 *
 * A zone never shifts the day, and that is right only for midnight: a
 * driver that sends an instant sends the local midnight of the date it was
 * given (2015-09-01T00:00:00.000+10:00).  Any other time with a zone is an
 * instant converted to some zone (JavaScript's toISOString() sends the
 * first of September in Brisbane as 2015-08-31T14:00:00.000Z), whose date
 * as written is not the day the application meant: refused, never taken
 * as a silently different day.  A time without a zone is a wall-clock
 * time of the date as written, unambiguous, and accepted.
 */
static DaySuffix
iso_suffix(const char *p, const char *end, const char *text)
{
	bool		has_time = false;
	bool		midnight = true;

	if (p == end)
		return SUFFIX_OK;
	if (*p != 'T' && *p != ' ')
		return SUFFIX_BAD;
	p++;
	if (p < end && *p >= '0' && *p <= '9')
	{
		int			hh,
					mm,
					ss = 0,
					frac = 0;

		if ((p = read_field(p, end, 1, 2, &hh)) == NULL || p == end || *p++ != ':' ||
			(p = read_field(p, end, 2, 2, &mm)) == NULL)
			return SUFFIX_BAD;
		if (p < end && *p == ':')
		{
			if ((p = read_field(p + 1, end, 2, 2, &ss)) == NULL)
				return SUFFIX_BAD;
			if (p < end && *p == '.' &&
				(p = read_field(p + 1, end, 1, 9, &frac)) == NULL)
				return SUFFIX_BAD;
		}
		if (hh > 23 || mm > 59 || ss > 59)
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_FIELD_OVERFLOW),
					 errmsg("date/time field value out of range: \"%s\"", text)));
		has_time = true;
		midnight = (hh == 0 && mm == 0 && ss == 0 && frac == 0);
		if (p < end && *p == ' ')
			p++;
		if (p == end)
			return SUFFIX_OK;
	}
	if ((p = read_zone(p, end, text)) == NULL || p != end)
		return SUFFIX_BAD;
	return (has_time && !midnight) ? SUFFIX_ZONED_TIME : SUFFIX_OK;
}

/*
 * Accept dd/mm/yyyy or yyyy-mm-dd (one- or two-digit day and month,
 * surrounding spaces allowed), through the parser's date grammar, so a day
 * that loads from a file is a day that can be asked for; an ISO date may
 * carry what drivers add (iso_suffix).  Returns false when the text has
 * none of these forms; a date of the right form but not in the calendar,
 * a time out of range, or a time with a zone that is not midnight is an
 * error here.  DateStyle is never consulted.
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
	DaySuffix	suffix;

	while (*s == ' ')
		s++;
	n = strlen(s);
	while (n > 0 && s[n - 1] == ' ')
		n--;
	/* an ISO date ends at the first 'T' or space after it */
	date_len = n;
	if (n > 4 && s[4] == '-')
		date_len = strcspn(s, "T ");
	rc = ep_parse_date(s, date_len, &ts, detail);
	if (rc == EP_ERR_DATETIME)
		return false;
	/* what follows the date, once it is one: a range error then says more */
	suffix = iso_suffix(s + date_len, s + n, text);
	if (suffix == SUFFIX_BAD)
		return false;
	if (rc != EP_ERR_NONE)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_FIELD_OVERFLOW),
				 errmsg("date out of range: \"%s\"", text)));
	if (suffix == SUFFIX_ZONED_TIME)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_DATETIME_FORMAT),
				 errmsg("invalid day \"%s\": a time other than midnight with a time zone", text),
				 errdetail("A time and a zone name an instant, whose date depends on the zone it is written in: the day meant cannot be told."),
				 errhint("Send the day as a date, or as text written yyyy-mm-dd or dd/mm/yyyy.")));
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
static int	rels_version = 0;		/* of the schema they were resolved in */
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

	int			nrels;

	if (rels_nspid == schema->nspid && rels_version == energy_schema_version(schema))
		return;
	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(forget_rels, (Datum) 0);
		CacheRegisterSyscacheCallback(AUTHMEMMEMROLE, forget_grants, (Datum) 0);
		/* ALTER ROLE ... NOINHERIT, NOSUPERUSER change what a role may read */
		CacheRegisterSyscacheCallback(AUTHOID, forget_grants, (Datum) 0);
		callback_registered = true;
	}
	/* a 1.0 schema has only the view: staleness comes from its files */
	nrels = energy_schema_has_change_log(schema) ? NUM_RELS : REL_VIEW_KEY + 1;
	for (int i = 0; i < NUM_RELS; i++)
		rels[i] = i < nrels ? energy_relation(schema, rel_names[i]) : InvalidOid;
	rels_nspid = schema->nspid;
	rels_version = energy_schema_version(schema);
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
		AclResult	aclresult;

		if (!OidIsValid(rels[read[i]]))
			continue;			/* 1.0: no change log */
		aclresult = pg_class_aclcheck(rels[read[i]], role, ACL_SELECT);

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

	energy_spi_exec(psprintf("SELECT pg_catalog.array_agg(meter_id) FROM %s.energy_meter "
							 "WHERE meter_code OPERATOR(pg_catalog.=) $1 "
							 "AND ($2 IS NULL OR serial_number OPERATOR(pg_catalog.=) $2)",
							 schema->nspname),
					2, argtypes, args, nulls, true, SPI_OK_SELECT, "reading energy_meter");
	Assert(SPI_processed == 1);	/* an aggregate without GROUP BY */
	args[0] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		return false;
	argtypes[0] = INT8ARRAYOID;
	argtypes[1] = DATEOID;
	argtypes[2] = DATEOID;
	args[1] = DateADTGetDatum(from);
	args[2] = DateADTGetDatum(to);
	energy_spi_exec(psprintf("SELECT FROM %s.energy_change "
							 "WHERE meter_id OPERATOR(pg_catalog.=) ANY ($1) "
							 "AND day OPERATOR(pg_catalog.>=) $2 "
							 "AND day OPERATOR(pg_catalog.<=) $3 LIMIT 1",
							 schema->nspname),
					3, argtypes, args, NULL, true, SPI_OK_SELECT, "reading energy_change");
	found = (SPI_processed > 0);
	return found;
}

/*
 * Whether this meter's days from..to changed since the last populate: by
 * index probes on one server, by SQL on a Citus cluster.  This is a
 * lookup's only step that depends on where the tables live, so the choice
 * is made here, once per call, without a table of callbacks as the sink,
 * the overlap stage and populate have.
 */
static bool
change_pending_any(EnergySchema *schema, Datum meter, const Datum *serial,
				   DateADT from, DateADT to)
{
	bool		found;
	int			spi_level;

	if (!energy_citus_installed())
		return change_pending(meter, serial, from, to);
	spi_level = energy_spi_connect();
	energy_schema_place(schema, false);
	if (energy_distributed(schema))
		found = change_pending_sql(schema, meter, serial, from, to);
	else
		found = change_pending(meter, serial, from, to);
	energy_spi_finish(spi_level);
	return found;
}

/*
 * What every lookup does first: its result set, its relations, its rights.
 * The schema's version is read once per call, so that a backend that saw
 * 1.0 follows an ALTER EXTENSION UPDATE run by another session.
 */
static void
lookup_begin(FunctionCallInfo fcinfo, int view, EnergySchema *schema)
{
	InitMaterializedSRF(fcinfo, 0);
	energy_schema_lookup(schema, fcinfo);
	resolve_rels(schema);
	check_rels_granted(view);
}

/*
 * energy_get on a 1.0 schema, as 1.0 answered: "not populated yet" when no
 * populate recorded its snapshot, and one NOTICE when a file was loaded
 * that the snapshot of the last populate does not see (1.0 has no change
 * log: any file, not only this meter's).  Transactions not yet started
 * here (load_xid past the current snapshot's xmax) can only come from a
 * restored dump of another cluster, whose rows a refresh here has seen.
 */
static Datum
energy_get_1_0(FunctionCallInfo fcinfo, EnergySchema *schema, Datum meter,
			   Datum serial, DateADT from, DateADT to)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			argtypes[4] = {TEXTOID, TEXTOID, DATEOID, DATEOID};
	Datum		args[4] = {meter, serial, DateADTGetDatum(from), DateADTGetDatum(to)};
	bool		isnull;
	int			spi_level;

	spi_level = energy_spi_connect();
	energy_spi_exec(psprintf("SELECT EXISTS (SELECT 1 FROM %1$s.energy_file f "
							 "WHERE f.load_xid OPERATOR(pg_catalog.>=) pg_catalog.pg_snapshot_xmin(v.snapshot) "
							 "AND f.load_xid OPERATOR(pg_catalog.<) pg_catalog.pg_snapshot_xmax(pg_catalog.pg_current_snapshot()) "
							 "AND NOT pg_catalog.pg_visible_in_snapshot(f.load_xid, v.snapshot)) "
							 "FROM %1$s.energy_view_state v", schema->nspname),
					0, NULL, NULL, NULL, true, SPI_OK_SELECT, "reading energy_view_state");
	if (SPI_processed == 0 || !energy_view_populated(schema, "energy_data_view"))
	{
		ereport(NOTICE,
				(errmsg("energy_data_view has not been populated yet"),
				 errhint("Call energy_populate_view().")));
		energy_spi_finish(spi_level);
		return (Datum) 0;
	}
	if (DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)))
		ereport(NOTICE,
				(errmsg("energy_data_view is stale: files were loaded after the last energy_populate_view()"),
				 errhint("Call energy_populate_view() to include them.")));
	energy_spi_exec(psprintf("SELECT meter_code, serial_number, plant_code, day, "
							 "min_energy, max_energy, avg_energy, readings "
							 "FROM %s.energy_data_view "
							 "WHERE meter_code OPERATOR(pg_catalog.=) $1 "
							 "AND serial_number OPERATOR(pg_catalog.=) $2 "
							 "AND day OPERATOR(pg_catalog.>=) $3 "
							 "AND day OPERATOR(pg_catalog.<=) $4 ORDER BY day",
							 schema->nspname),
					4, argtypes, args, NULL, true, SPI_OK_SELECT, "reading energy_data_view");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		Datum		values[GET_NATTS];
		bool		nulls[GET_NATTS];

		heap_deform_tuple(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, values, nulls);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	energy_spi_finish(spi_level);
	return (Datum) 0;
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
	EnergySchema schema;
	Probe		v;
	ScanKeyData keys[4];

	lookup_begin(fcinfo, REL_VIEW, &schema);
	if (!energy_schema_has_change_log(&schema))
		return energy_get_1_0(fcinfo, &schema, meter, serial, from, to);
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

	if (change_pending_any(&schema, meter, &serial, from, to))
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

/*
 * A day as text, as the lookups take it, or SQLSTATE 22007; the text forms
 * of energy_tou() and energy_demand() take it the same way (billing.c).
 */
DateADT
energy_text_day(text *t)
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
 * energy_get(meter, serial, from_day text, to_day text): the range with
 * each day as the one-day text form takes it, so that '01/09/2015' never
 * goes through DateStyle on its way to a date.
 */
Datum
energy_get_range_text(PG_FUNCTION_ARGS)
{
	DateADT		from = energy_text_day(PG_GETARG_TEXT_PP(2));
	DateADT		to = energy_text_day(PG_GETARG_TEXT_PP(3));

	return energy_get_internal(fcinfo, PG_GETARG_DATUM(0), PG_GETARG_DATUM(1), from, to);
}

/*
 * energy_get(meter, serial, text): the day as dd/mm/yyyy, as the meter
 * exports and their clients write it, or as drivers send a date.
 */
Datum
energy_get_text(PG_FUNCTION_ARGS)
{
	DateADT		day = energy_text_day(PG_GETARG_TEXT_PP(2));

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
	EnergySchema schema;
	Probe		v;
	ScanKeyData keys[3];
	int			nkeys = 0;

	/* only a 1.1 schema or later has the function that calls this */
	lookup_begin(fcinfo, REL_CHANNELS, &schema);
	if (!energy_schema_has_channel_view(&schema))
		energy_require_schema(&schema, ENERGY_SCHEMA_1_1, "energy_get_channels()");
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

	if (change_pending_any(&schema, meter, PG_ARGISNULL(1) ? NULL : &serial, day, day))
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
	return energy_get_channels_internal(fcinfo, energy_text_day(PG_GETARG_TEXT_PP(2)));
}
