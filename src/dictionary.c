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
 * Memory: a load may meet millions of new meters, so a miss must leave
 * behind only its cache entry (the key and the id, about 70 bytes).  Its
 * SQL parameters are built in a context reset after every miss, and every
 * SPI result, found or not, is freed: SPI keeps each one (8 kB at least)
 * until SPI_finish otherwise.
 *
 * Concurrency: a new dictionary row is inserted with ON CONFLICT DO
 * NOTHING, which holds the row's would-be-conflicting key until commit.
 * Two loads that bring the same new meters in opposite order would each
 * wait for the other's key: a deadlock.  So the first miss that has to
 * INSERT takes a transaction-level lock that only dictionary inserters take
 * (see dict_lock_inserts): from then on at most one open transaction has
 * uncommitted dictionary rows, and a second load that needs a new meter or
 * channel waits for the first to commit instead of deadlocking.  Readers,
 * and loads whose meters and channels are all known, never take it.  The
 * price: two concurrent loads that both introduce new meters or channels
 * run their loads one after the other from the second one's first new
 * entry on, even when the new entries differ.  Once the dictionaries know a
 * fleet's meters (its first load), later loads of it run side by side.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "energy.h"

/*
 * A key is the concatenation of its parts, each ended by a NUL byte: exact
 * with no escaping, since no field holds a NUL (the parser refuses it, as
 * PostgreSQL text cannot hold one).  Cached keys are stored end to end in
 * blocks of DICT_BLOCK bytes, each as its length (uint32) and its bytes, and
 * a hash entry names its key by a 32-bit reference (block number, offset):
 * 16-byte hash slots (1.1 to 2.2 of them an entry) and the key's own bytes,
 * with no allocation header per key, keep a million meters in about 70 MB.
 * The key being looked up, built in DictTable.key with the same layout, has
 * the reference DICT_LOOKUP.
 */
#define DICT_BLOCK_BITS 16
#define DICT_BLOCK		((uint32) 1 << DICT_BLOCK_BITS)
#define DICT_MAX_BLOCKS ((uint32) 0xFFFF)	/* so no key is DICT_LOOKUP */
#define DICT_LOOKUP		PG_UINT32_MAX

typedef struct DictEntry
{
	int64		id;
	uint32		key;			/* reference of the key's length and bytes */
	char		status;
} DictEntry;

typedef struct DictTable DictTable;

static inline const char *dict_key_ptr(const DictTable *t, uint32 ref);
static inline uint32 dict_key_hash(const DictTable *t, uint32 ref);
static inline bool dict_key_equal(const DictTable *t, uint32 a, uint32 b);

#define SH_PREFIX		dict
#define SH_ELEMENT_TYPE DictEntry
#define SH_KEY_TYPE		uint32
#define SH_KEY			key
#define SH_HASH_KEY(tb, k) dict_key_hash((const DictTable *) (tb)->private_data, k)
#define SH_EQUAL(tb, a, b) dict_key_equal((const DictTable *) (tb)->private_data, a, b)
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/* One dictionary table: its cache and the two statements that fill it. */
struct DictTable
{
	dict_hash  *hash;
	MemoryContext cxt;
	char	  **blocks;			/* the cached keys */
	uint32		nblocks;
	uint32		maxblocks;
	uint32		used;			/* bytes used in the last block */
	StringInfoData key;			/* the key being looked up (DICT_LOOKUP) */
	StringInfoData last_raw;	/* the last hit's parts, as in the file */
	int64		last_id;
	SPIPlanPtr	insert_plan;
	SPIPlanPtr	select_plan;
	const char *what;			/* "meter" or "channel", for messages */
};

static inline const char *
dict_key_ptr(const DictTable *t, uint32 ref)
{
	if (ref == DICT_LOOKUP)
		return t->key.data;
	return t->blocks[ref >> DICT_BLOCK_BITS] + (ref & (DICT_BLOCK - 1));
}

static inline uint32
dict_key_len(const char *p)
{
	uint32		len;

	memcpy(&len, p, sizeof(len));
	return len;
}

static inline uint32
dict_key_hash(const DictTable *t, uint32 ref)
{
	const char *p = dict_key_ptr(t, ref);

	return hash_bytes((const unsigned char *) p + sizeof(uint32), (int) dict_key_len(p));
}

static inline bool
dict_key_equal(const DictTable *t, uint32 a, uint32 b)
{
	const char *pa = dict_key_ptr(t, a);
	const char *pb = dict_key_ptr(t, b);
	uint32		len = dict_key_len(pa);

	return len == dict_key_len(pb) &&
		memcmp(pa + sizeof(uint32), pb + sizeof(uint32), len) == 0;
}

/*
 * Copy the key being looked up into the blocks and return its reference.
 * A key too long for a block gets a block of its own.
 */
static uint32
dict_key_store(DictTable *t)
{
	uint32		size = (uint32) t->key.len;
	uint32		ref;

	if (t->nblocks == 0 || t->used + size > DICT_BLOCK)
	{
		if (t->nblocks == DICT_MAX_BLOCKS)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("too many distinct %ss in one load", t->what)));
		if (t->nblocks == t->maxblocks)
		{
			t->maxblocks *= 2;
			t->blocks = repalloc(t->blocks, sizeof(char *) * t->maxblocks);
		}
		t->blocks[t->nblocks++] = MemoryContextAllocHuge(t->cxt, Max(size, DICT_BLOCK));
		t->used = 0;
	}
	ref = ((t->nblocks - 1) << DICT_BLOCK_BITS) | t->used;
	memcpy(t->blocks[t->nblocks - 1] + t->used, t->key.data, size);
	t->used += size;
	return ref;
}

/*
 * Build the key being looked up: key_begin() leaves room for its length,
 * key_part() adds each part, key_end() fills the length in.
 */
static inline void
key_begin(StringInfo key)
{
	uint32		zero = 0;

	resetStringInfo(key);
	appendBinaryStringInfo(key, (const char *) &zero, sizeof(zero));
}

static inline void
key_part(StringInfo key, const char *data, size_t len)
{
	appendBinaryStringInfo(key, data, (int) len);
	appendStringInfoChar(key, '\0');
}

static inline void
key_end(StringInfo key)
{
	uint32		len = (uint32) key->len - sizeof(uint32);

	memcpy(key->data, &len, sizeof(len));
}

struct EnergyDictionary
{
	MemoryContext cxt;
	MemoryContext miss_cxt;		/* one miss's SQL parameters; reset after it */
	Oid			lock_relid;		/* energy_meter: names the inserters' lock */
	bool		inserting;		/* that lock is held */
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

	t->hash = dict_create(cxt, 64, t);
	t->cxt = cxt;
	t->maxblocks = 16;
	t->blocks = palloc(sizeof(char *) * t->maxblocks);
	initStringInfo(&t->key);
	initStringInfo(&t->last_raw);
	t->last_id = -1;
	t->what = what;
	MemoryContextSwitchTo(old);

	t->insert_plan = energy_prepare(insert_sql, nargs, argtypes);
	t->select_plan = energy_prepare(select_sql, nargs, argtypes);
}

EnergyDictionary *
energy_dictionary_create(const EnergySchema *schema, MemoryContext cxt)
{
	EnergyDictionary *dict = MemoryContextAllocZero(cxt, sizeof(EnergyDictionary));
	const char *s = schema->nspname;

	dict->cxt = cxt;
	dict->miss_cxt = AllocSetContextCreate(cxt, "energy dictionary miss",
										   ALLOCSET_SMALL_SIZES);
	dict->lock_relid = energy_relation(schema, "energy_meter");
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
 * The lock that serializes dictionary inserters, taken before the first
 * INSERT of a load and held to the end of its transaction.  It is a lock in
 * the advisory space, so that it conflicts with nothing but itself: a table
 * lock on energy_meter in a self-conflicting mode would either conflict
 * with the ROW EXCLUSIVE lock every load already holds there (SHARE ROW
 * EXCLUSIVE: two loads would deadlock on it) or with VACUUM and ANALYZE
 * (SHARE UPDATE EXCLUSIVE).  Like the loader's file-name locks it has a
 * class of its own, which the pg_advisory_* functions cannot take: pg_locks
 * shows it as locktype advisory, objid = 'energy_meter'::regclass, objsubid
 * = ENERGY_LOCKTAG_DICTIONARY.
 *
 * One cycle remains possible, through another lock held to commit: a
 * transaction that holds this lock and then waits for a file name that a
 * second load has locked, while that load waits here for its own first new
 * meter (a folder loaded in one call while one of its files is loaded
 * alone, both bringing new meters).  The deadlock detector then ends one of
 * them with 40P01, to be retried.
 */
static void
dict_lock_inserts(EnergyDictionary *dict)
{
	LOCKTAG		tag;

	if (dict->inserting)
		return;
	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, 0, (uint32) dict->lock_relid,
						 ENERGY_LOCKTAG_DICTIONARY);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
	dict->inserting = true;
}

/* The first column of the first row of the last SPI result, which is freed. */
static bool
dict_result_id(int64 *id)
{
	bool		found = (SPI_processed > 0);

	if (found)
	{
		bool		isnull;

		*id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
										  SPI_tuptable->tupdesc, 1, &isnull));
	}
	SPI_freetuptable(SPI_tuptable);
	return found;
}

static bool
dict_select(DictTable *t, Datum *values, const char *nulls, int64 *id)
{
	energy_spi_run(t->select_plan, values, nulls, SPI_OK_SELECT, t->what);
	return dict_result_id(id);
}

/*
 * Find-or-insert one dictionary row.  A known meter costs one SELECT.  A new
 * one is inserted with ON CONFLICT DO NOTHING, under the inserters' lock: if
 * another load inserted the same meter, we waited for its commit on the
 * lock, insert nothing, and the second SELECT (a fresh snapshot, in READ
 * COMMITTED) finds its row.
 */
static int64
dict_resolve_sql(EnergyDictionary *dict, DictTable *t, Datum *values,
				 const char *nulls)
{
	int64		id;

	if (dict_select(t, values, nulls, &id))
		return id;

	dict_lock_inserts(dict);
	energy_spi_run(t->insert_plan, values, nulls, SPI_OK_INSERT_RETURNING, t->what);
	if (dict_result_id(&id))
		return id;

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
	bool		found;

	key_end(&t->key);
	entry = dict_lookup(t->hash, DICT_LOOKUP);
	if (entry == NULL)
	{
		Datum		values[3];
		char		nulls[3];
		int64		id;
		MemoryContext old = MemoryContextSwitchTo(dict->miss_cxt);

		for (int i = 0; i < nparts; i++)
		{
			nulls[i] = (null_if_empty[i] && parts[i]->len == 0) ? 'n' : ' ';
			values[i] = nulls[i] == 'n' ? (Datum) 0 :
				PointerGetDatum(energy_text(parts[i]));
		}
		id = dict_resolve_sql(dict, t, values, nulls);
		MemoryContextSwitchTo(old);
		MemoryContextReset(dict->miss_cxt);

		entry = dict_insert(t->hash, dict_key_store(t), &found);
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
	key_begin(&t->key);
	key_part(&t->key, meter->ptr, meter->len);
	key_part(&t->key, serial->ptr, serial->len);
	key_part(&t->key, plant->ptr, plant->len);
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

	if (same_as_last(t, parts, 2))
		return t->last_id;
	key_begin(&t->key);
	key_part(&t->key, data_type->ptr, data_type->len);
	enlargeStringInfo(&t->key, (int) units->len + 1);
	for (size_t i = 0; i < units->len; i++)
	{
		char		c = units->ptr[i];

		t->key.data[t->key.len++] = (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
	}
	t->key.data[t->key.len++] = '\0';
	t->key.data[t->key.len] = '\0';
	return dict_get(dict, t, parts, null_if_empty, 2);
}
