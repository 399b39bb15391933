/*-------------------------------------------------------------------------
 *
 * energy.c
 *	  Module initialisation and settings.
 *
 * The settings exist so that an operator can trade memory for speed and
 * bound what a hostile file may cost, without a rebuild.  The "energy."
 * prefix is reserved so that a typo in postgresql.conf is reported rather
 * than silently ignored.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/dependency.h"
#include "catalog/index.h"
#include "catalog/indexing.h"
#include "catalog/pg_class.h"
#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"

#include "energy.h"

PG_MODULE_MAGIC;

int			energy_batch_rows = 1000;
int			energy_max_record_bytes = 1024 * 1024;
int			energy_read_buffer_kb = 256;
int			energy_max_inflated_kb = 4 * 1024 * 1024;
bool		energy_resolve_in_sql = false;
char	   *energy_file_time_zone = NULL;

/*
 * Read by the view energy_meter_status through current_setting(), never by
 * C: defined here so that the value is checked (1 to 3660 days) and shows
 * in pg_settings once the library is loaded.
 */
static int	energy_status_days = 7;

void		_PG_init(void);
static bool check_file_time_zone(char **newval, void **extra, GucSource source);

/*
 * A setting set by its 1.2 name still works, with a WARNING naming the
 * new one; the built-in default and a reset say nothing.
 */
static void
warn_deprecated(GucSource source, const char *old, const char *new)
{
	if (source > PGC_S_DEFAULT)
		ereport(WARNING,
				(errcode(ERRCODE_WARNING_DEPRECATED_FEATURE),
				 errmsg("setting \"%s\" is deprecated", old),
				 errhint("Use \"%s\", which it sets: the old name goes in a later release.", new)));
}

static bool
check_deprecated_max_record(int *newval, void **extra, GucSource source)
{
	warn_deprecated(source, "energy.max_record_bytes", "energy.max_record_size");
	return true;
}

static bool
check_deprecated_read_buffer(int *newval, void **extra, GucSource source)
{
	warn_deprecated(source, "energy.read_buffer_kb", "energy.read_buffer_size");
	return true;
}

/*
 * Settings only change how a load is carried out in the caller's own
 * backend, never what ends up stored.  Most are PGC_USERSET; the record
 * limit is PGC_SUSET, since the parser's buffer and the copies of a record
 * made on its way to energy_rejects come to several times the limit: a
 * user who could raise it could make one backend take gigabytes.
 */
void
_PG_init(void)
{
	DefineCustomIntVariable("energy.batch_rows",
							"Rows buffered before each bulk insert of TOU register reads and per-day partials.",
							"Larger batches amortise WAL and index work; each costs a little memory.  LP readings are packed per day and written in batches of their own.",
							&energy_batch_rows,
							1000, 1, 10000,
							PGC_USERSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("energy.max_record_size",
							"Longest record a meter file may have.",
							"A longer record (or a run of bytes with no line end) is an error, so a file without newlines cannot exhaust memory.",
							&energy_max_record_bytes,
							1024 * 1024, 1024, 64 * 1024 * 1024,
							PGC_SUSET, GUC_UNIT_BYTE,
							NULL, NULL, NULL);

	/*
	 * Like the record limit, superuser only: an archive member is inflated
	 * in a bounded buffer, but what it inflates to is parsed and stored,
	 * and a small archive may claim terabytes (a bomb).
	 */
	DefineCustomIntVariable("energy.max_inflated_size",
							"Largest size an archive member (a .gz file) may inflate to.",
							"A member that inflates past it, or to more than 1000 times the compressed bytes read, is an error as soon as it does, so a small archive cannot fill the database or keep a backend busy.",
							&energy_max_inflated_kb,
							4 * 1024 * 1024, 1, INT_MAX,
							PGC_SUSET, GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("energy.read_buffer_size",
							"Size of each read from a meter file.",
							NULL,
							&energy_read_buffer_kb,
							256, 8, 64 * 1024,
							PGC_USERSET, GUC_UNIT_KB,
							NULL, NULL, NULL);

	/*
	 * 1.2's names, kept for one release: each sets the same value as its new
	 * name (the same variable) and says, when set, which name to use.
	 */
	DefineCustomIntVariable("energy.max_record_bytes",
							"Deprecated name of energy.max_record_size.",
							NULL,
							&energy_max_record_bytes,
							1024 * 1024, 1024, 64 * 1024 * 1024,
							PGC_SUSET, GUC_UNIT_BYTE | GUC_NOT_IN_SAMPLE,
							check_deprecated_max_record, NULL, NULL);

	DefineCustomIntVariable("energy.read_buffer_kb",
							"Deprecated name of energy.read_buffer_size.",
							NULL,
							&energy_read_buffer_kb,
							256, 8, 64 * 1024,
							PGC_USERSET, GUC_UNIT_KB | GUC_NOT_IN_SAMPLE,
							check_deprecated_read_buffer, NULL, NULL);

	DefineCustomBoolVariable("energy.resolve_in_sql",
							 "Resolves overlapping copies with the SQL twin energy_resolve() on one server too.",
							 "A developer setting, as debug_parallel_query is: the overlap, reload, unload and writers' tests run once with it on, so that resolve.c and energy_resolve() give the same answers on every version.",
							 &energy_resolve_in_sql,
							 false,
							 PGC_SUSET, GUC_NOT_IN_SAMPLE,
							 NULL, NULL, NULL);

	DefineCustomStringVariable("energy.file_time_zone",
							   "Time zone of the wall-clock times of LP and TOU files, recorded with each file as it loads.",
							   "NEM12 and NEM13 files are in NEM time (Australia/Brisbane) whatever this says.  energy_tou() and energy_demand() read a reading's time in its file's zone.",
							   &energy_file_time_zone,
							   ENERGY_NEM_TIME_ZONE,
							   PGC_USERSET, 0,
							   check_file_time_zone, NULL, NULL);

	DefineCustomIntVariable("energy.status_days",
							"Days before the current date over which energy_meter_status counts readings against expected ones.",
							"The view reads it with current_setting('energy.status_days', true), and takes 7 while the library is not loaded in the session.",
							&energy_status_days,
							7, 1, 3660,
							PGC_USERSET, 0,
							NULL, NULL, NULL);

	MarkGUCPrefixReserved("energy");
}

/*
 * energy.file_time_zone must name a zone PostgreSQL knows, and never be an
 * offset written as text, which PostgreSQL reads with the sign reversed
 * (billing.c).
 */
static bool
check_file_time_zone(char **newval, void **extra, GucSource source)
{
	const char *detail;
	const char *hint;

	if (*newval != NULL && energy_zone_acceptable(*newval, &detail, &hint))
		return true;
	GUC_check_errmsg("invalid time zone \"%s\"", *newval ? *newval : "");
	if (*newval != NULL)
	{
		GUC_check_errdetail("%s", detail);
		GUC_check_errhint("%s", hint);
	}
	return false;
}

/*
 * The schema versions this library serves, oldest first: what each lays
 * out (see EnergyLayout).  1.3 writes readings, partials and segments as
 * 1.2 does; its energy_file records each file's zone and how each server
 * file stood when it was read (file_stat).
 */
static const EnergyLayout served_versions[] = {
	{
		.version = ENERGY_SCHEMA_1_0,
		.reading_form = READING_ARRAYS,
		.reading_natts = 6, .reading_line = 0, .reading_block = 0, .register_natts = 12, .daily_natts = 9,
		.marks = false, .change_log = false, .unit_table = false, .daily_day_first = false,
		.resolver = RESOLVER_NONE, .load_result_natts = 5, .chunk_max = 112, .horizon = false,
	},
	{
		.version = ENERGY_SCHEMA_1_1,
		.reading_form = READING_ARRAYS_LINE,
		.reading_natts = 8, .reading_line = 7, .reading_block = 0, .register_natts = 14, .daily_natts = 11,
		.marks = true, .change_log = true, .unit_table = true, .daily_day_first = false,
		.resolver = RESOLVER_SQL_1_1, .load_result_natts = 5, .chunk_max = 112, .horizon = false,
	},
	{
		.version = ENERGY_SCHEMA_1_2,
		.reading_form = READING_BLOCK,
		.reading_natts = 8, .reading_line = 7, .reading_block = 5, .register_natts = 14, .daily_natts = 11,
		.marks = true, .change_log = true, .unit_table = true, .daily_day_first = true,
		.resolver = RESOLVER_COUNTING, .load_result_natts = 6, .chunk_max = 288, .horizon = false,
	},
	{
		.version = ENERGY_SCHEMA_1_3,
		.reading_form = READING_BLOCK,
		.reading_natts = 8, .reading_line = 7, .reading_block = 5, .register_natts = 14, .daily_natts = 11,
		.marks = true, .change_log = true, .unit_table = true, .daily_day_first = true,
		.resolver = RESOLVER_COUNTING, .load_result_natts = 6, .chunk_max = 288,
		.file_time_zone = true,
		.horizon = true,
		.file_stat = true,
	},
};

static int	installed_version(void);

/*
 * The row of served_versions for a schema version; a version this library
 * does not know (a newer schema under an older library) is refused.
 */
static const EnergyLayout *
layout_of(int version)
{
	for (int i = 0; i < lengthof(served_versions); i++)
		if (served_versions[i].version == version)
			return &served_versions[i];
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("extension \"energy\" is at version %d.%d, which this library does not serve",
					version / 100, version % 100),
			 errhint("Install the library of that version or a newer one.")));
	return NULL;				/* keep compiler quiet */
}

/*
 * A call's context, in the schema nspid: its name, the installed version
 * (one probe of pg_extension: a backend must follow an ALTER EXTENSION
 * UPDATE run by another session) and that version's layout.  The
 * placement is asked later, once SPI is connected (energy_schema_place).
 */
void
energy_schema_lookup_nsp(EnergySchema *schema, Oid nspid)
{
	char	   *nspname = get_namespace_name(nspid);

	if (nspname == NULL)
		elog(ERROR, "schema of extension \"energy\" not found");
	schema->nspid = nspid;
	schema->nspname = quote_identifier(nspname);
	schema->version = installed_version();
	schema->layout = layout_of(schema->version);
	schema->placement = PLACEMENT_UNKNOWN;
	schema->horizon = DATEVAL_NOBEGIN;
}

/*
 * The SQL the C code runs must name the extension's own schema, never rely
 * on search_path: a caller's search_path may hold look-alike objects.  The
 * schema is the one the called function lives in, which is the extension's
 * (the extension is not relocatable).
 */
void
energy_schema_lookup(EnergySchema *schema, FunctionCallInfo fcinfo)
{
	energy_schema_lookup_nsp(schema, get_func_namespace(fcinfo->flinfo->fn_oid));
}

/*
 * Where the tables live, asked once per call (with SPI connected): on one
 * server, or in Citus's shards once energy_distribute() has run.  A writer
 * on Citus goes on over one connection per worker for the rest of its
 * transaction (energy_citus_sequential); a reader changes nothing.
 */
void
energy_schema_place(EnergySchema *schema, bool writer)
{
	if (schema->placement == PLACEMENT_UNKNOWN)
		schema->placement =
			energy_citus_table(energy_relation(schema, "energy_daily")) ?
			PLACEMENT_CITUS : PLACEMENT_ONE_SERVER;
	if (writer && schema->placement == PLACEMENT_CITUS)
		energy_citus_sequential();
}

/*
 * The version of the extension's SQL objects, as "major.minor" in
 * pg_extension, made a number (1.1 is ENERGY_SCHEMA_1_1).  A new library
 * may meet an old schema between "make install" and ALTER EXTENSION
 * UPDATE.  One probe of pg_extension's name index, once per call, since
 * pg_extension has no cache to invalidate.
 */
static int
installed_version(void)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	int			major = 0,
				minor = 0;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber, F_NAMEEQ,
				CStringGetDatum("energy"));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, Anum_pg_extension_extversion,
									 RelationGetDescr(rel), &isnull);

		if (!isnull && sscanf(TextDatumGetCString(d), "%d.%d", &major, &minor) != 2)
			major = minor = 0;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	if (major == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"energy\" is not installed")));
	return major * 100 + minor;
}

/* The installed schema's version, as read when the call began. */
int
energy_schema_version(EnergySchema *schema)
{
	return schema->version;
}

/* Whether the schema has what version added. */
bool
energy_schema_at_least(EnergySchema *schema, int version)
{
	return schema->version >= version;
}

/*
 * Plan the statements that follow as the index probes per key they are
 * meant as: a planner that believes an unnest() holds ten keys, or that
 * sees tables never analyzed, would rather scan a table once per key, a
 * pass over the history each time.  Sequential scans, hash and merge joins
 * (and JIT, which the penalty cost of a full join with no other way would
 * call in) are switched off as a function's SET clause would; pass the
 * level returned to AtEOXact_GUC(true, level) to have the caller's back.
 */
int
energy_plan_probes(void)
{
	static const char *const off[] = {"enable_seqscan", "enable_hashjoin",
	"enable_mergejoin", "jit"};
	int			nestlevel = NewGUCNestLevel();

	for (int i = 0; i < lengthof(off); i++)
		(void) set_config_option(off[i], "off", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
	return nestlevel;
}

/*
 * Refuse what needs a newer schema than the database has, with the safe way
 * forward in the hint: ALTER EXTENSION keeps every reading, while dropping
 * and creating the extension again would lose them all.
 */
void
energy_require_schema(EnergySchema *schema, int version, const char *what)
{
	if (energy_schema_at_least(schema, version))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("%s needs version %d.%d of extension \"energy\", but the database has %d.%d",
					what, version / 100, version % 100,
					schema->version / 100, schema->version % 100),
			 errhint("Run ALTER EXTENSION energy UPDATE.")));
}

/*
 * The extension's own relation of that name: resolved inside the
 * extension's schema, and then accepted only if it is a member of the
 * extension (its pg_depend entry), never for its name alone.  A role that
 * owns one of the views (and may create in the schema) could otherwise
 * rename it away and put a relation of its own under the name, whose
 * defining query populate, running with the extension owner's rights,
 * would then read or write.  The statements that follow name the same
 * relation in their SQL: each caller locks it, or has it locked, before
 * the name is used again, and a rename needs a stronger lock.
 */
Oid
energy_relation(const EnergySchema *schema, const char *relname)
{
	Oid			relid = get_relname_relid(relname, schema->nspid);
	Oid			member;

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation \"%s.%s\" of extension \"energy\" does not exist",
						schema->nspname, relname)));
	/* an index belongs to the extension through its table */
	member = get_rel_relkind(relid) == RELKIND_INDEX ?
		IndexGetRelation(relid, false) : relid;
	if (getExtensionOfObject(RelationRelationId, member) !=
		get_extension_oid("energy", false))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("relation \"%s.%s\" is not a member of extension \"energy\"",
						schema->nspname, relname),
				 errdetail("Another relation took the name of the extension's own."),
				 errhint("Rename or drop the impostor, and give the extension's relation its name back.")));
	return relid;
}
