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

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"

#include "energy.h"

PG_MODULE_MAGIC;

int			energy_batch_rows = 1000;
int			energy_max_record_bytes = 1024 * 1024;
int			energy_read_buffer_kb = 256;

void		_PG_init(void);

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

	MarkGUCPrefixReserved("energy");
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
}

/*
 * Relations written by the bulk path are opened by OID, resolved inside the
 * extension's schema only.
 */
Oid
energy_relation(const EnergySchema *schema, const char *relname)
{
	Oid			relid = get_relname_relid(relname, schema->nspid);

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation \"%s.%s\" of extension \"energy\" does not exist",
						schema->nspname, relname)));
	return relid;
}
