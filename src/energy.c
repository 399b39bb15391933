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
char	   *energy_file_time_zone = NULL;

void		_PG_init(void);
static bool check_file_time_zone(char **newval, void **extra, GucSource source);
static int	installed_version(void);

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

	DefineCustomIntVariable("energy.max_record_bytes",
							"Longest record a meter file may have.",
							"A longer record (or a run of bytes with no line end) is an error, so a file without newlines cannot exhaust memory.",
							&energy_max_record_bytes,
							1024 * 1024, 1024, 64 * 1024 * 1024,
							PGC_SUSET, GUC_UNIT_BYTE,
							NULL, NULL, NULL);

	DefineCustomIntVariable("energy.read_buffer_kb",
							"Size of each read from a meter file.",
							NULL,
							&energy_read_buffer_kb,
							256, 8, 64 * 1024,
							PGC_USERSET, GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomStringVariable("energy.file_time_zone",
							   "Time zone of the wall-clock times of LP and TOU files, recorded with each file as it loads.",
							   "NEM12 and NEM13 files are in NEM time (Australia/Brisbane) whatever this says.  energy_tou() and energy_demand() read a reading's time in its file's zone.",
							   &energy_file_time_zone,
							   ENERGY_NEM_TIME_ZONE,
							   PGC_USERSET, 0,
							   check_file_time_zone, NULL, NULL);

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
 * The SQL the C code runs must name the extension's own schema, never rely
 * on search_path: a caller's search_path may hold look-alike objects.  The
 * schema is the one the called function lives in, which is the extension's
 * (the extension is not relocatable).
 */
void
energy_schema_lookup(EnergySchema *schema, FunctionCallInfo fcinfo)
{
	char	   *nspname;

	schema->nspid = get_func_namespace(fcinfo->flinfo->fn_oid);
	nspname = get_namespace_name(schema->nspid);
	if (nspname == NULL)
		elog(ERROR, "schema of extension \"energy\" not found");
	schema->nspname = quote_identifier(nspname);
	schema->version = 0;		/* read when first needed */
}

/*
 * The version of the extension's SQL objects, as "major.minor" in
 * pg_extension, made a number (1.1 is ENERGY_SCHEMA_1_1).  A new library
 * may meet an old schema between "make install" and ALTER EXTENSION
 * UPDATE.  One probe of pg_extension's name index: lookups read it on
 * every call, since pg_extension has no cache to invalidate.
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

/*
 * The installed schema's version, read once per call (the EnergySchema
 * lives as long as the call).
 */
int
energy_schema_version(EnergySchema *schema)
{
	if (schema->version == 0)
		schema->version = installed_version();
	return schema->version;
}

/* Whether the schema has what version added. */
bool
energy_schema_at_least(EnergySchema *schema, int version)
{
	return energy_schema_version(schema) >= version;
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
