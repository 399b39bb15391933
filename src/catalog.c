/*-------------------------------------------------------------------------
 *
 * catalog.c
 *	  The file catalogue: energy_file and what hangs off it (segments,
 *	  rejects), the end of a call under the writers' locks, and
 *	  energy_unload().
 *
 * A file's row in energy_file is its identity and its lock: a load looks
 * the name up FOR UPDATE (or claims a new name through the unique index),
 * registers the new version once its content is known to be a meter file,
 * and writes its hash and counts once it is loaded.  The old version's
 * rows go at the end of the call, when every meter-day the call touched is
 * locked (lock.c) and the overlap stage has resolved the readings the
 * files share (overlap.c).  An unload is the same end of a call for a
 * file with nothing new.  Every statement is prepared once per call
 * (catalog_run), since a folder of small files would otherwise pay more
 * for parsing and planning than for its rows.  The driver, loader.c,
 * calls down into this file; nothing here calls back up, but for the
 * result rows an unload does not have.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "loader_int.h"

PG_FUNCTION_INFO_V1(energy_unload);

typedef struct PlanDef
{
	const char *sql;
	int			nargs;
	Oid			argtypes[8];
} PlanDef;

static const PlanDef plan_defs[NUM_PLANS] = {
	[PLAN_LOOKUP_FILE] = {
		"SELECT file_id, file_size, sha256, format, rows_loaded, rows_rejected "
		"FROM %1$s.energy_file WHERE file_name OPERATOR(pg_catalog.=) $1 FOR UPDATE",
	1, {TEXTOID}},
	[PLAN_DELETE_REJECTS] = {
		"DELETE FROM %1$s.energy_rejects WHERE file_name OPERATOR(pg_catalog.=) $1",
	1, {TEXTOID}},
	[PLAN_DELETE_READINGS] = {
		"DELETE FROM %1$s.energy_reading r USING ("
		"SELECT DISTINCT d.meter_id, d.day, s.segment_id "
		"FROM %1$s.energy_segment s JOIN %1$s.energy_daily d "
		"ON d.meter_id OPERATOR(pg_catalog.=) s.meter_id AND d.channel_id OPERATOR(pg_catalog.=) s.channel_id "
		"AND d.file_id OPERATOR(pg_catalog.=) s.file_id "
		"WHERE s.file_id OPERATOR(pg_catalog.=) $1 OFFSET 0) k "
		"WHERE r.meter_id OPERATOR(pg_catalog.=) k.meter_id AND r.day OPERATOR(pg_catalog.=) k.day "
		"AND r.segment_id OPERATOR(pg_catalog.=) k.segment_id",
	1, {INT8OID}},
	[PLAN_DELETE_REGISTERS] = {
		"DELETE FROM %1$s.energy_register WHERE segment_id OPERATOR(pg_catalog.=) ANY "
		"(ARRAY(SELECT segment_id FROM %1$s.energy_segment WHERE file_id OPERATOR(pg_catalog.=) $1))",
	1, {INT8OID}},
	[PLAN_DELETE_DAILY] = {ENERGY_DELETE_PARTIALS_SQL, 1, {INT8OID}},
	[PLAN_DELETE_SEGMENTS] = {
		"DELETE FROM %1$s.energy_segment WHERE file_id OPERATOR(pg_catalog.=) $1",
	1, {INT8OID}},
	[PLAN_DELETE_FILE] = {
		"DELETE FROM %1$s.energy_file WHERE file_id OPERATOR(pg_catalog.=) $1",
	1, {INT8OID}},
	[PLAN_INSERT_FILE] = {
		"INSERT INTO %1$s.energy_file (file_name, file_size, sha256, format) "
		"VALUES ($1, $2, '\\x'::pg_catalog.bytea, $3) ON CONFLICT (file_name) DO NOTHING RETURNING file_id",
	3, {TEXTOID, INT8OID, TEXTOID}},
	/* 1.3: with the zone its wall-clock times are in */
	[PLAN_INSERT_FILE_ZONE] = {
		"INSERT INTO %1$s.energy_file (file_name, file_size, sha256, format, time_zone) "
		"VALUES ($1, $2, '\\x'::pg_catalog.bytea, $3, $4) ON CONFLICT (file_name) DO NOTHING RETURNING file_id",
	4, {TEXTOID, INT8OID, TEXTOID, TEXTOID}},
	[PLAN_UPDATE_FILE] = {
		"UPDATE %1$s.energy_file SET sha256 = $2, rows_loaded = $3, rows_rejected = $4, "
		"file_size = $5 WHERE file_id OPERATOR(pg_catalog.=) $1",
	5, {INT8OID, BYTEAOID, INT8OID, INT8OID, INT8OID}},
	[PLAN_INSERT_SEGMENTS] = {
		"INSERT INTO %1$s.energy_segment (segment_id, file_id, meter_id, channel_id) "
		"OVERRIDING SYSTEM VALUE SELECT u.s, $2, u.m, u.c FROM ROWS FROM "
		"(pg_catalog.unnest($1), pg_catalog.unnest($3), pg_catalog.unnest($4)) AS u(s, m, c)",
	4, {INT8ARRAYOID, INT8OID, INT8ARRAYOID, INT8ARRAYOID}},
	[PLAN_INSERT_REJECT] = {
		"INSERT INTO %1$s.energy_rejects (file_name, line, raw, sqlstate, message) "
		"VALUES ($1, $2, $3, $4, $5)",
	5, {TEXTOID, INT8OID, TEXTOID, TEXTOID, TEXTOID}},
	[PLAN_REMOVED_KEYS] = {
		"SELECT DISTINCT d.meter_id, d.day FROM %1$s.energy_segment s JOIN %1$s.energy_daily d "
		"ON d.meter_id OPERATOR(pg_catalog.=) s.meter_id AND d.channel_id OPERATOR(pg_catalog.=) s.channel_id "
		"AND d.file_id OPERATOR(pg_catalog.=) s.file_id WHERE s.file_id OPERATOR(pg_catalog.=) ANY ($1)",
	1, {INT8ARRAYOID}},
	[PLAN_LOOKUP_FILE_STAT] = {
		"SELECT file_id, file_size, sha256, format, rows_loaded, rows_rejected, "
		"file_inode, file_mtime_ns, file_ctime_ns "
		"FROM %1$s.energy_file WHERE file_name OPERATOR(pg_catalog.=) $1 FOR UPDATE",
	1, {TEXTOID}},
	[PLAN_UPDATE_FILE_STAT] = {
		"UPDATE %1$s.energy_file SET sha256 = $2, rows_loaded = $3, rows_rejected = $4, "
		"file_size = $5, file_inode = $6, file_mtime_ns = $7, file_ctime_ns = $8 "
		"WHERE file_id OPERATOR(pg_catalog.=) $1",
	8, {INT8OID, BYTEAOID, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID}},
	[PLAN_UPDATE_STAT] = {
		"UPDATE %1$s.energy_file SET file_inode = $2, file_mtime_ns = $3, file_ctime_ns = $4 "
		"WHERE file_id OPERATOR(pg_catalog.=) $1",
	4, {INT8OID, INT8OID, INT8OID, INT8OID}},
};

/*
 * Run one of the prepared statements; returns SPI's code after checking it
 * is the expected one.
 */
int
catalog_run(LoadState *ls, PlanId id, Datum *values, const char *nulls, int expected)
{

	Assert(id >= 0 && id < NUM_PLANS);
	if (ls->plans[id] == NULL)
	{
		const PlanDef *def = &plan_defs[id];

		ls->plans[id] = energy_prepare(psprintf(def->sql, ls->schema.nspname),
									   def->nargs, (Oid *) def->argtypes);
	}
	energy_spi_run(ls->plans[id], values, nulls, expected, plan_defs[id].sql);
	return expected;
}

/* ---------------------------------------------------------------------
 * Rejects and output
 * ---------------------------------------------------------------------
 */

/*
 * One row of energy_rejects; raw NULL when there is no record to keep.  The
 * texts are already in the database encoding.
 */
void
catalog_reject(LoadState *ls, const char *file_name, uint64 line,
			  text *raw, int sqlerrcode, text *message)
{
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};

	values[0] = CStringGetTextDatum(file_name);
	values[1] = Int64GetDatum((int64) line);
	nulls[1] = line > 0 ? ' ' : 'n';
	values[2] = PointerGetDatum(raw);
	nulls[2] = raw ? ' ' : 'n';
	values[3] = CStringGetTextDatum(unpack_sql_state(sqlerrcode));
	values[4] = PointerGetDatum(message);
	catalog_run(ls, PLAN_INSERT_REJECT, values, nulls, SPI_OK_INSERT);
}

/* A file that could not be opened (or named) as a row of energy_rejects. */
void
catalog_file_reject(LoadState *ls, const char *file_name, int sqlerrcode,
				   const char *message, const char *detail)
{
	catalog_reject(ls, file_name, 0, NULL, sqlerrcode,
				  cstring_to_text(detail && detail[0] ? psprintf("%s: %s", message, detail) : message));
}

/* A parser error as a row of energy_rejects. */
void
catalog_parse_reject(LoadState *ls, const char *file_name, const EpError *err)
{
	catalog_reject(ls, file_name, err->line,
				  err->raw ? energy_reject_raw(err->raw, err->raw_len) : NULL,
				  energy_parse_sqlerrcode(err->code), energy_reject_message(err));
}

/*
 * The format as energy_file and the result name it; NULL before the header.
 */
const char *
catalog_format_name(EpFormat f)
{
	switch (f)
	{
		case EP_FORMAT_LP:
			return "LP";
		case EP_FORMAT_TOU:
			return "TOU";
		case EP_FORMAT_NEM12:
			return "NEM12";
		case EP_FORMAT_NEM13:
			return "NEM13";
		default:
			break;
	}
	elog(ERROR, "unexpected file format %d", (int) f);
	return NULL;				/* keep compiler quiet */
}

/* ---------------------------------------------------------------------
 * energy_file bookkeeping
 * ---------------------------------------------------------------------
 */

/*
 * What energy_file holds under this name, locked FOR UPDATE: the row is the
 * name's lock.  A concurrent load of the same name waits here until we
 * commit, then (under READ COMMITTED) sees our version; the comparison and
 * the replacement see the same version.  The lock lives in the row, not in
 * the lock table, so a call may load any number of files.
 */
void
catalog_lookup(LoadState *ls, FileLoad *fl)
{
	Datum		values[1];
	bool		isnull;
	HeapTuple	tup;
	TupleDesc	desc;

	values[0] = CStringGetTextDatum(fl->src->name);
	catalog_run(ls, ls->schema.layout->file_stat ? PLAN_LOOKUP_FILE_STAT : PLAN_LOOKUP_FILE,
				values, NULL, SPI_OK_SELECT);
	fl->old_has_stat = false;
	fl->existed = (SPI_processed > 0);
	if (!fl->existed)
	{
		/* even empty, a result holds its memory until freed */
		SPI_freetuptable(SPI_tuptable);
		return;
	}
	Assert(SPI_processed == 1);
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	fl->old_file_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	fl->old_size = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
	fl->old_sha = DatumGetByteaPCopy(SPI_getbinval(tup, desc, 3, &isnull));
	fl->old_format = SPI_getvalue(tup, desc, 4);
	fl->old_rows = DatumGetInt64(SPI_getbinval(tup, desc, 5, &isnull));
	fl->old_rejected = DatumGetInt64(SPI_getbinval(tup, desc, 6, &isnull));
	if (ls->schema.layout->file_stat)
	{
		bool		n1,
					n2,
					n3;

		fl->old_inode = DatumGetInt64(SPI_getbinval(tup, desc, 7, &n1));
		fl->old_mtime_ns = DatumGetInt64(SPI_getbinval(tup, desc, 8, &n2));
		fl->old_ctime_ns = DatumGetInt64(SPI_getbinval(tup, desc, 9, &n3));
		fl->old_has_stat = !n1 && !n2 && !n3;
	}
	SPI_freetuptable(SPI_tuptable);
}

/*
 * Rejects describe one version of a file: a new version starts afresh.
 */
void
catalog_delete_rejects(LoadState *ls, const char *name)
{
	Datum		values[1] = {CStringGetTextDatum(name)};

	catalog_run(ls, PLAN_DELETE_REJECTS, values, NULL, SPI_OK_DELETE);
}

/*
 * A removed file's partials go.  The overlap stage removes them, logs their
 * meter-days and restores the keys where the file's copies counted, on
 * one server or on Citus (energy_overlap_remove_partials); a 1.0 schema
 * (before ALTER EXTENSION UPDATE) has no change log and no overlaps, and
 * its next populate is a full refresh anyway.
 */
static void
delete_daily(LoadState *ls, Datum *values)
{
	if (ls->overlap == NULL)
		catalog_run(ls, PLAN_DELETE_DAILY, values, NULL, SPI_OK_DELETE);
	else
		energy_overlap_remove_partials(ls->overlap, DatumGetInt64(values[0]));
}

/*
 * Release a file's name: its energy_file row goes at once (the new version
 * takes the name), its rows are removed at the end of the call, under the
 * locks of its meter-days (remove_files).
 */
void
catalog_release(LoadState *ls, int64 file_id)
{
	Datum		values[1] = {Int64GetDatum(file_id)};

	catalog_run(ls, PLAN_DELETE_FILE, values, NULL, SPI_OK_DELETE);
	if (ls->n_removed == ls->max_removed)
	{
		ls->max_removed = Max(16, ls->max_removed * 2);
		ls->removed = ls->removed == NULL ?
			MemoryContextAlloc(ls->call_cxt, sizeof(int64) * ls->max_removed) :
			repalloc_huge(ls->removed, sizeof(int64) * ls->max_removed);
	}
	ls->removed[ls->n_removed++] = file_id;
}

/*
 * Remove every trace of the released files.  Readings are found through the
 * (day, meter_id, segment_id) btree, at the meter-days the file's partials
 * name, so this costs the file's size, not the table's, whether or not the
 * table was vacuumed or analyzed (BRIN on segment_id would read every range
 * not yet summarized).
 */
static void
remove_files(LoadState *ls)
{
	for (int i = 0; i < ls->n_removed; i++)
	{
		Datum		values[1] = {Int64GetDatum(ls->removed[i])};

		CHECK_FOR_INTERRUPTS();
		catalog_run(ls, PLAN_DELETE_READINGS, values, NULL, SPI_OK_DELETE);
		catalog_run(ls, PLAN_DELETE_REGISTERS, values, NULL, SPI_OK_DELETE);
		delete_daily(ls, values);
		catalog_run(ls, PLAN_DELETE_SEGMENTS, values, NULL, SPI_OK_DELETE);
	}
	ls->n_removed = 0;
}

/*
 * The meter-days of the call: those of every partial it wrote, and those of
 * the released files (through their segments, which no other writer
 * changes, to their partials, whose meter-days no other writer changes).
 */
static int
call_keys(LoadState *ls, EnergyLockKey **keys)
{
	EnergyLockKey *written;
	int			n = ls->overlap ? energy_overlap_keys(ls->overlap, &written) : 0;
	uint64		more = 0;
	EnergyLockKey *all;

	if (ls->n_removed > 0)
	{
		Datum		files[1];
		Datum	   *elems = palloc(sizeof(Datum) * ls->n_removed);

		for (int i = 0; i < ls->n_removed; i++)
			elems[i] = Int64GetDatum(ls->removed[i]);
		files[0] = energy_array(elems, NULL, ls->n_removed, INT8OID);
		catalog_run(ls, PLAN_REMOVED_KEYS, files, NULL, SPI_OK_SELECT);
		more = SPI_processed;
	}
	all = palloc(sizeof(EnergyLockKey) * (n + more + 1));
	if (n > 0)
		memcpy(all, written, sizeof(EnergyLockKey) * n);
	for (uint64 i = 0; i < more; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		bool		isnull;

		all[n + i].meter_id = DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull));
		all[n + i].day = DatumGetDateADT(SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull));
	}
	if (ls->n_removed > 0)
		SPI_freetuptable(SPI_tuptable);
	*keys = all;
	return n + (int) more;
}

/*
 * Step 6 of every call (see the top of the file): under the locks of every
 * meter-day the call touched, taken at once in lock.c's order, the readings
 * other files share are resolved, the released files removed, and the
 * copies they had superseded brought back.
 */
void
catalog_writers_finish(LoadState *ls)
{
	EnergyLockKey *keys;
	int			n;
	bool		waited;
	/*
	 * Every statement from here on is meant as index probes per key,
	 * whatever the planner believes of an unnest() or of tables never
	 * analyzed (one scan of energy_daily or energy_reading per file would
	 * cost the history).
	 */
	int			nestlevel = energy_plan_probes();

	if (ls->overlap == NULL)
		remove_files(ls);
	else
	{
		n = call_keys(ls, &keys);
		waited = energy_lock_keys(keys, n);
		energy_overlap_resolve_new(ls->overlap, waited);
		remove_files(ls);
		energy_overlap_resolve_removed(ls->overlap);
	}
	AtEOXact_GUC(true, nestlevel);
}

/*
 * Called once the header has shown that the new content is a meter file:
 * only now is the old version removed and the new one registered.
 *
 * A new name has no row to lock, so two loads may both find none; the
 * unique file_name then makes the second INSERT wait for the first to
 * commit and insert nothing.  Nothing has been written yet, so the loser
 * returns false and the driver starts the file again from the lookup,
 * which now sees (and waits for) the winner's row.  Under REPEATABLE READ
 * or SERIALIZABLE the snapshot cannot see that row: PostgreSQL raises a
 * serialization failure (40001) in the INSERT itself, never a second copy.
 */
bool
catalog_register(LoadState *ls, FileLoad *fl, EpFormat format)
{
	Datum		values[4];
	bool		isnull;

	Assert(format != EP_FORMAT_NONE);
	if (fl->existed)
		catalog_release(ls, fl->old_file_id);

	values[0] = CStringGetTextDatum(fl->src->name);
	values[1] = Int64GetDatum(fl->src->size);
	values[2] = CStringGetTextDatum(catalog_format_name(format));

	/*
	 * From 1.3 each file records the zone of its wall-clock times: NEM time
	 * for AEMO's files (their rule), energy.file_time_zone for the exports.
	 */
	if (ls->schema.layout->file_time_zone)
	{
		bool		nem = (format == EP_FORMAT_NEM12 || format == EP_FORMAT_NEM13);

		values[3] = CStringGetTextDatum(nem ? ENERGY_NEM_TIME_ZONE : energy_file_time_zone);
		catalog_run(ls, PLAN_INSERT_FILE_ZONE, values, NULL, SPI_OK_INSERT_RETURNING);
	}
	else
		catalog_run(ls, PLAN_INSERT_FILE, values, NULL, SPI_OK_INSERT_RETURNING);
	if (SPI_processed != 1)
	{
		Assert(!fl->existed);
		SPI_freetuptable(SPI_tuptable);
		return false;
	}
	fl->file_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_freetuptable(SPI_tuptable);
	catalog_delete_rejects(ls, fl->src->name);
	fl->format = format;
	energy_daily_begin(ls->daily, ls->sink, ls->overlap, fl->file_id);
	return true;
}

/*
 * Segments get their ids from the identity sequence as they are met, and
 * their rows are written once, at the end of the file, in one statement.
 */
int64
catalog_segment_id(LoadState *ls, FileLoad *fl, int64 meter_id, int64 channel_id)
{
	SegmentKey	key;
	SegmentEntry *e = fl->last_segment;
	bool		found;

	if (e && e->key.meter_id == meter_id && e->key.channel_id == channel_id)
		return e->segment_id;

	key.meter_id = meter_id;
	key.channel_id = channel_id;
	e = hash_search(fl->segments, &key, HASH_ENTER, &found);
	if (!found)
		e->segment_id = nextval_internal(ls->segment_seq, true);
	fl->last_segment = e;
	return e->segment_id;
}

/* qsort order of segments: by id, the order they were met in */
static int
segment_entry_cmp(const void *a, const void *b)
{
	int64		x = (*(SegmentEntry *const *) a)->segment_id;
	int64		y = (*(SegmentEntry *const *) b)->segment_id;

	return x < y ? -1 : (x > y ? 1 : 0);
}

/*
 * The file's segments as arrays, one statement per SEGMENT_BATCH of them:
 * not one per segment, and not arrays of a million segments at once for a
 * file of a million new meters.  They go in by id, which is the order the
 * file met them in: both of energy_segment's indexes then grow at one end,
 * where pages split full, instead of at random places (hash order), where
 * they split half full.
 */
#define SEGMENT_BATCH 8192

void
catalog_write_segments(LoadState *ls, FileLoad *fl)
{
	Datum		seg[SEGMENT_BATCH],
				meter[SEGMENT_BATCH],
				channel[SEGMENT_BATCH];
	Datum		values[4];
	HASH_SEQ_STATUS status;
	long		n = hash_get_num_entries(fl->segments);
	SegmentEntry **all;
	SegmentEntry *e;
	long		j = 0;
	int			i = 0;
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "energy segments batch",
											  ALLOCSET_DEFAULT_SIZES);

	all = palloc_extended(sizeof(SegmentEntry *) * Max(n, 1), MCXT_ALLOC_HUGE);
	hash_seq_init(&status, fl->segments);
	while ((e = hash_seq_search(&status)) != NULL)
		all[j++] = e;
	qsort(all, n, sizeof(SegmentEntry *), segment_entry_cmp);

	values[1] = Int64GetDatum(fl->file_id);
	for (j = 0; j < n; j++)
	{
		seg[i] = Int64GetDatum(all[j]->segment_id);
		meter[i] = Int64GetDatum(all[j]->key.meter_id);
		channel[i] = Int64GetDatum(all[j]->key.channel_id);
		if (++i == SEGMENT_BATCH || j == n - 1)
		{
			MemoryContext old = MemoryContextSwitchTo(cxt);

			values[0] = energy_array(seg, NULL, i, INT8OID);
			values[2] = energy_array(meter, NULL, i, INT8OID);
			values[3] = energy_array(channel, NULL, i, INT8OID);
			catalog_run(ls, PLAN_INSERT_SEGMENTS, values, NULL, SPI_OK_INSERT);
			MemoryContextSwitchTo(old);
			MemoryContextReset(cxt);
			i = 0;
		}
	}
	pfree(all);
	MemoryContextDelete(cxt);
}

/*
 * The file's row gets its hash and counts last, once they describe what was
 * stored.
 */
void
catalog_finish(LoadState *ls, FileLoad *fl)
{
	Datum		values[8];
	char		nulls[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
	bytea	   *sha = palloc(VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	const EnergySource *src = fl->src;

	catalog_write_segments(ls, fl);

	SET_VARSIZE(sha, VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	memcpy(VARDATA(sha), fl->digest, PG_SHA256_DIGEST_LENGTH);
	values[0] = Int64GetDatum(fl->file_id);
	values[1] = PointerGetDatum(sha);
	values[2] = Int64GetDatum((int64) fl->rows);
	values[3] = Int64GetDatum((int64) fl->rejected);
	values[4] = Int64GetDatum((int64) fl->bytes_read);
	if (ls->schema.layout->file_stat)
	{
		/* a file's stat only once it may stand for its content next time */
		bool		settled = energy_source_stat_settled(src);

		values[5] = Int64GetDatum(src->inode);
		values[6] = Int64GetDatum(src->mtime_ns);
		values[7] = Int64GetDatum(src->ctime_ns);
		nulls[5] = nulls[6] = nulls[7] = settled ? ' ' : 'n';
		catalog_run(ls, PLAN_UPDATE_FILE_STAT, values, nulls, SPI_OK_UPDATE);
	}
	else
		catalog_run(ls, PLAN_UPDATE_FILE, values, NULL, SPI_OK_UPDATE);
	if (SPI_processed != 1)
		elog(ERROR, "energy_file row of \"%s\" vanished during the load", fl->src->name);
}

/*
 * A file whose content was read and found unchanged, but whose stat was
 * not recorded (loaded before 1.3, from a client, or too soon after its
 * last change) or has changed (copied over with the same bytes, touched):
 * its stat is recorded now, so that the next load of it is a stat, not a
 * read.  Nothing else of the file is written.
 */
void
catalog_record_stat(LoadState *ls, FileLoad *fl)
{
	const EnergySource *src = fl->src;
	Datum		values[4];

	if (!ls->schema.layout->file_stat || !energy_source_stat_settled(src))
		return;
	if (fl->old_has_stat && fl->old_inode == src->inode &&
		fl->old_mtime_ns == src->mtime_ns && fl->old_ctime_ns == src->ctime_ns)
		return;
	values[0] = Int64GetDatum(fl->old_file_id);
	values[1] = Int64GetDatum(src->inode);
	values[2] = Int64GetDatum(src->mtime_ns);
	values[3] = Int64GetDatum(src->ctime_ns);
	catalog_run(ls, PLAN_UPDATE_STAT, values, NULL, SPI_OK_UPDATE);
}

/*
 * energy_unload(file_name): remove a loaded file, its readings, partials and
 * rejects, and log its meter-days for the next populate.  Returns how many
 * readings went (the file's rows_loaded).  The file's row is locked first,
 * as a load locks it, so an unload and a load of one file never interleave.
 * Privileges are the caller's: EXECUTE, and DELETE on the tables, as for
 * the statements it runs.
 */
Datum
energy_unload(PG_FUNCTION_ARGS)
{
	char	   *name = energy_name_base(text_to_cstring(PG_GETARG_TEXT_PP(0)),
										"file_name", false);
	LoadState	ls;
	FileLoad	fl;
	EnergySource src;

	memset(&ls, 0, sizeof(ls));
	memset(&fl, 0, sizeof(fl));
	energy_schema_lookup(&ls.schema, fcinfo);
	energy_source_from_data(&src, name, NULL, 0);
	fl.src = &src;
	ls.spi_level = energy_spi_connect();
	energy_schema_place(&ls.schema, true);
	energy_horizon_read(&ls.schema);
	ls.call_cxt = CurrentMemoryContext;
	ls.overlap = energy_overlap_create(&ls.schema, CurrentMemoryContext,
									   energy_distributed(&ls.schema));
	catalog_lookup(&ls, &fl);
	if (!fl.existed)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FILE),
				 errmsg("file \"%s\" is not loaded", name),
				 errhint("energy_file lists the files loaded.")));
	catalog_delete_rejects(&ls, name);
	catalog_release(&ls, fl.old_file_id);
	catalog_writers_finish(&ls);
	energy_spi_finish(ls.spi_level);
	PG_RETURN_INT64(fl.old_rows);
}
