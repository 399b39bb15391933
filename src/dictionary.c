/*-------------------------------------------------------------------------
 *
 * dictionary.c
 *	  In-memory caches of the meter and channel dictionaries.
 *
 * Every reading names its meter (code, serial, plant) and channel (data type,
 * unit) in full text, but is stored with their ids.  Resolving them in SQL
 * per row would cost more than the whole insert, so each load keeps a hash
 * table of what it has resolved, plus the last hit (files are sorted by
 * channel and time, so consecutive rows nearly always repeat it).  Only a
 * miss goes to SQL, and it inserts the new dictionary row with ON CONFLICT
 * DO NOTHING so that concurrent loads of the same meter agree on one id.
 *
 * The cache lives for one call (one transaction): ids of rows inserted by a
 * transaction that later aborts must never be reused.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "utils/builtins.h"

#include "energy.h"

/* A key is the concatenation of length-prefixed parts: exact, no escaping. */
typedef struct DictKey
{
	const char *data;
	uint32		len;
} DictKey;

typedef struct DictEntry
{
	DictKey		key;
	int64		id;
	uint32		hash;
	char		status;
} DictEntry;

#define SH_PREFIX		dict
#define SH_ELEMENT_TYPE DictEntry
#define SH_KEY_TYPE		DictKey
#define SH_KEY			key
#define SH_HASH_KEY(tb, k) hash_bytes((const unsigned char *) (k).data, (int) (k).len)
#define SH_EQUAL(tb, a, b) ((a).len == (b).len && memcmp((a).data, (b).data, (a).len) == 0)
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a) ((a)->hash)
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/* One dictionary table: its cache and the two statements that fill it. */
typedef struct DictTable
{
	dict_hash  *hash;
	StringInfoData key;			/* scratch for the key being looked up */
	StringInfoData last_raw;	/* the last hit's parts, as in the file */
	int64		last_id;
	SPIPlanPtr	insert_plan;
	SPIPlanPtr	select_plan;
	const char *what;			/* "meter" or "channel", for messages */
} DictTable;

struct EnergyDictionary
{
	MemoryContext cxt;
	DictTable	meter;
	DictTable	channel;
};

/*
 * Statements are prepared once per load, not per miss; they name the
 * extension's schema and pg_catalog's operators explicitly (IS NOT DISTINCT
 * FROM would look "=" up on the caller's search_path).
 */
static void
dict_table_init(DictTable *t, MemoryContext cxt, const char *what,
				const char *insert_sql, const char *select_sql, int nargs)
{
	Oid			argtypes[3] = {TEXTOID, TEXTOID, TEXTOID};
	MemoryContext old = MemoryContextSwitchTo(cxt);

	t->hash = dict_create(cxt, 64, NULL);
	initStringInfo(&t->key);
	initStringInfo(&t->last_raw);
	t->last_id = -1;
	t->what = what;
	MemoryContextSwitchTo(old);

	t->insert_plan = SPI_prepare(insert_sql, nargs, argtypes);
	t->select_plan = SPI_prepare(select_sql, nargs, argtypes);
	if (t->insert_plan == NULL || t->select_plan == NULL)
		elog(ERROR, "could not prepare %s dictionary statements: %s",
			 what, SPI_result_code_string(SPI_result));
}

EnergyDictionary *
energy_dictionary_create(const EnergySchema *schema, MemoryContext cxt)
{
	EnergyDictionary *dict = MemoryContextAllocZero(cxt, sizeof(EnergyDictionary));
	const char *s = schema->nspname;

	dict->cxt = cxt;
	dict_table_init(&dict->meter, cxt, "meter",
					psprintf("INSERT INTO %s.energy_meter (meter_code, serial_number, plant_code) "
							 "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING meter_id", s),
					psprintf("SELECT meter_id FROM %s.energy_meter "
							 "WHERE meter_code OPERATOR(pg_catalog.=) $1 "
							 "AND serial_number OPERATOR(pg_catalog.=) $2 "
							 "AND (plant_code OPERATOR(pg_catalog.=) $3 "
							 "OR (plant_code IS NULL AND $3 IS NULL))", s),
					3);
	dict_table_init(&dict->channel, cxt, "channel",
					psprintf("INSERT INTO %s.energy_channel (data_type, units) "
							 "VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING channel_id", s),
					psprintf("SELECT channel_id FROM %s.energy_channel "
							 "WHERE data_type OPERATOR(pg_catalog.=) $1 "
							 "AND pg_catalog.lower(units COLLATE \"C\") OPERATOR(pg_catalog.=) "
							 "pg_catalog.lower($2 COLLATE \"C\")", s),
					2);
	return dict;
}

static void
key_append(StringInfo key, const char *data, size_t len)
{
	uint32		l = (uint32) len;

	appendBinaryStringInfo(key, (const char *) &l, sizeof(l));
	appendBinaryStringInfo(key, data, (int) len);
}

/*
 * Find-or-insert one dictionary row.  A known meter costs one SELECT.  A new
 * one is inserted with ON CONFLICT DO NOTHING: if another load is inserting
 * the same meter, we wait for it, insert nothing, and the second SELECT
 * (a fresh snapshot, in READ COMMITTED) finds its row.
 */
static bool
dict_select(DictTable *t, Datum *values, const char *nulls, int64 *id)
{
	int			rc = SPI_execute_plan(t->select_plan, values, nulls, false, 1);
	bool		isnull;

	if (rc != SPI_OK_SELECT)
		elog(ERROR, "reading the %s dictionary failed: %s",
			 t->what, SPI_result_code_string(rc));
	if (SPI_processed == 0)
		return false;
	*id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
									  SPI_tuptable->tupdesc, 1, &isnull));
	SPI_freetuptable(SPI_tuptable);
	return true;
}

static int64
dict_resolve_sql(DictTable *t, Datum *values, const char *nulls)
{
	int			rc;
	int64		id;

	if (dict_select(t, values, nulls, &id))
		return id;

	rc = SPI_execute_plan(t->insert_plan, values, nulls, false, 0);
	if (rc != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "inserting into the %s dictionary failed: %s",
			 t->what, SPI_result_code_string(rc));
	if (SPI_processed == 1)
	{
		bool		isnull;

		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
										 SPI_tuptable->tupdesc, 1, &isnull));
		SPI_freetuptable(SPI_tuptable);
		return id;
	}

	if (!dict_select(t, values, nulls, &id))
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not serialize access to the %s dictionary due to a concurrent load",
						t->what),
				 errhint("Retry the load.")));
	return id;
}

/*
 * Is this row's meter (or channel) the previous row's?  Compared on the
 * file's own bytes, before any key is built: files run through one meter and
 * channel at a time, so this answers nearly every row.
 */
static inline bool
same_as_last(const DictTable *t, const EpText **parts, int nparts)
{
	const char *p = t->last_raw.data;
	const char *end = p + t->last_raw.len;

	if (t->last_id < 0)
		return false;
	for (int i = 0; i < nparts; i++)
	{
		uint32		l;

		if (end - p < (ptrdiff_t) sizeof(l))
			return false;
		memcpy(&l, p, sizeof(l));
		p += sizeof(l);
		if (l != parts[i]->len || end - p < (ptrdiff_t) l ||
			memcmp(p, parts[i]->ptr, l) != 0)
			return false;
		p += l;
	}
	return p == end;
}

/*
 * After the last-row check has missed: the caller has built the key in
 * t->key; it is looked up; only a miss builds SQL parameters, copies the key
 * and goes to SQL.  parts[i] with null_if_empty[i] set becomes NULL when
 * empty.
 */
static int64
dict_get(EnergyDictionary *dict, DictTable *t, const EpText **parts,
		 const bool *null_if_empty, int nparts)
{
	DictEntry  *entry;
	DictKey		k;
	bool		found;

	k.data = t->key.data;
	k.len = t->key.len;
	entry = dict_lookup(t->hash, k);
	if (entry == NULL)
	{
		Datum		values[3];
		char		nulls[3];
		int64		id;
		char	   *copy;

		for (int i = 0; i < nparts; i++)
		{
			nulls[i] = (null_if_empty[i] && parts[i]->len == 0) ? 'n' : ' ';
			values[i] = nulls[i] == 'n' ? (Datum) 0 :
				PointerGetDatum(energy_text(parts[i]));
		}
		id = dict_resolve_sql(t, values, nulls);

		copy = MemoryContextAlloc(dict->cxt, k.len);
		memcpy(copy, k.data, k.len);
		k.data = copy;
		entry = dict_insert(t->hash, k, &found);
		entry->id = id;
	}
	resetStringInfo(&t->last_raw);
	for (int i = 0; i < nparts; i++)
		key_append(&t->last_raw, parts[i]->ptr, parts[i]->len);
	t->last_id = entry->id;
	return entry->id;
}

/* A meter is (code, serial, plant); an empty plant code is stored as NULL. */
int64
energy_meter_id(EnergyDictionary *dict, const EpText *meter,
				const EpText *serial, const EpText *plant)
{
	static const bool null_if_empty[3] = {false, false, true};
	const EpText *parts[3] = {meter, serial, plant};
	DictTable  *t = &dict->meter;

	if (same_as_last(t, parts, 3))
		return t->last_id;
	resetStringInfo(&t->key);
	key_append(&t->key, meter->ptr, meter->len);
	key_append(&t->key, serial->ptr, serial->len);
	key_append(&t->key, plant->ptr, plant->len);
	return dict_get(dict, t, parts, null_if_empty, 3);
}

/*
 * A channel is (data type, unit), the unit compared without case: the key
 * holds the unit lower-cased in ASCII, as lower(units COLLATE "C") does in
 * the table's unique index, so cache and table agree on what is the same.
 */
int64
energy_channel_id(EnergyDictionary *dict, const EpText *data_type,
				  const EpText *units)
{
	static const bool null_if_empty[2] = {false, false};
	const EpText *parts[2] = {data_type, units};
	DictTable  *t = &dict->channel;
	uint32		l = (uint32) units->len;

	if (same_as_last(t, parts, 2))
		return t->last_id;
	resetStringInfo(&t->key);
	key_append(&t->key, data_type->ptr, data_type->len);
	appendBinaryStringInfo(&t->key, (const char *) &l, sizeof(l));
	enlargeStringInfo(&t->key, (int) units->len);
	for (size_t i = 0; i < units->len; i++)
	{
		char		c = units->ptr[i];

		t->key.data[t->key.len++] = (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
	}
	t->key.data[t->key.len] = '\0';
	return dict_get(dict, t, parts, null_if_empty, 2);
}
