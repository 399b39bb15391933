/*-------------------------------------------------------------------------
 *
 * resolve.c
 *	  Overlaps resolved in one pass, in C: the copies of a batch of keys
 *	  compared, marked and summed in memory, a few statements per batch.
 *
 * energy_resolve() in SQL turns every copy of a reading into a row of the
 * executor (unnest, a window sort, array_agg) twice: a fully overlapping
 * corrected re-delivery cost 27 times its first load.  Here a batch of keys
 * (meter, day, channel) costs five statements whatever its size:
 *	1. the keys' partials, which say which files' copies count (a partial
 *	   with readings) and so must be compared;
 *	2. those files' chunks of the keys, as their encoded blocks;
 *	3. one UPDATE of the blocks whose superseded marks changed (only the
 *	   marks at the block's tail are rewritten: ec_set_marks());
 *	4. one DELETE and 5. one INSERT of the partials that changed.
 * In between, per key, its copies are sorted by (time, file, line, place)
 * and every copy but the first of a time loses, as energy_resolve() ranks
 * them.  Only the copies that count today and the call's own are compared
 * (unless the key is restored after a file was removed: then every copy),
 * so the 20th copy of a day costs what the 2nd did.
 *
 * The partials of the files whose copies changed are computed again from
 * the copies that count, by the rules of the loader and energy_resolve():
 * an exact sum (aggregate.c's EnergySum over each value's digits and scale
 * as the file wrote them, which the block keeps: the loader's very sum),
 * min, max, flagged (a status; for
 * MDFF, a quality method other than A) and the key's interval, the most
 * common gap between consecutive readings that count, in whole minutes
 * rounded half up, ties to the smaller.  A file whose copies did not change
 * keeps its partial as it is.
 *
 * energy_resolve() stays the twin for what this does not handle: keys with
 * register reads (TOU, NEM13: rows, not chunks), a Citus cluster, and a
 * 1.1 schema.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "energy.h"

/* A key of the batch, deduplicated. */
typedef struct RKey
{
	int64		meter_id;
	int32		day;
	int64		channel_id;
	bool		restore;
	bool		to_sql;			/* register reads: energy_resolve()'s */
	int			first_file;		/* its files: files[first_file ..] */
	int			nfiles;
	int32		mode;			/* the interval found, 0 for none */
} RKey;

/* A file's partial(s) of a key. */
typedef struct RFile
{
	int			key;
	int64		file_id;
	int64		readings;		/* over its parts */
	int			parts;
	bool		interval_null;
	int32		interval;
	bool		mdff;			/* quality methods: flagged unless A */
	bool		compared;		/* its copies take part */
	bool		has_chunk;
	bool		changed;
} RFile;

/* A stored chunk of a compared file, its block decoded (block.c). */
typedef struct RChunk
{
	int			file;			/* in files[] */
	ItemPointerData rid;
	int64		line;			/* PG_INT64_MIN for a 1.0 row (no line) */
	int			n;
	bytea	   *block;			/* as stored: re-marked, not re-encoded */
	DateADT		day;
	Timestamp  *at;
	EcValue    *value;			/* digits and scale as the file wrote them;
								 * NULL until a partial needs them */
	EcText	   *status;			/* into block; ptr NULL for none */
	bool	   *old;			/* superseded before */
	bool	   *mask;			/* superseded after */
} RChunk;

/* One copy of a reading, for the sort. */
typedef struct RCopy
{
	Timestamp	at;
	int64		file_id;
	int64		line;
	ItemPointerData rid;
	int			ord;
	int			chunk;
} RCopy;

typedef struct Resolve
{
	RKey	   *keys;
	int			nkeys;
	RFile	   *files;
	int			nfiles;
	RChunk	   *chunks;
	int			nchunks;
	HTAB	   *replacing;		/* file_id -> count, the call's new files */
	Oid			nspid;			/* the extension's schema, for messages */
	SPITupleTable *chunk_result;	/* step 2's rows, which the chunks use */

	/* the range of keys (and their files) steps 2 to 5 work on */
	int			kfrom;
	int			kto;
	int			ffrom;
	int			fto;
} Resolve;

/*
 * Compared files per range of keys: steps 2 to 5 run per range, in memory
 * reset after each, so that a batch of keys each of which many files
 * deliver (a day sent as one file per reading) stays within a few MB.
 */
#define RANGE_FILES 1024

/* The range memory's one block: a range of day-long chunks fits in it. */
#define RANGE_BLOCK (8 * 1024 * 1024)

static SPIPlanPtr plan_partials;
static SPIPlanPtr plan_chunks;
static SPIPlanPtr plan_marks;
static SPIPlanPtr plan_delete;
static SPIPlanPtr plan_insert;
static Oid	plans_nspid = InvalidOid;

/* ---------------------------------------------------------------------
 * Arrays
 * ---------------------------------------------------------------------
 */

/* ---------------------------------------------------------------------
 * The statements, prepared once per backend and schema
 * ---------------------------------------------------------------------
 */

static SPIPlanPtr
keep(const char *sql, int nargs, Oid *argtypes)
{
	SPIPlanPtr	plan = energy_prepare(sql, nargs, argtypes);

	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "SPI_keepplan failed");
	return plan;
}

static void
prepare_plans(const EnergySchema *schema)
{
	const char *ns = schema->nspname;
	Oid			keys[4] = {INT8ARRAYOID, DATEARRAYOID, INT8ARRAYOID, BOOLARRAYOID};
	Oid			dkeys[4] = {INT8ARRAYOID, DATEARRAYOID, INT8ARRAYOID, INT8ARRAYOID};
	Oid			chunkargs[5] = {INT4ARRAYOID, INT8ARRAYOID, DATEARRAYOID, INT8ARRAYOID, INT8ARRAYOID};
	Oid			marks[2] = {TIDARRAYOID, BYTEAARRAYOID};
	Oid			ins[10] = {INT8ARRAYOID, DATEARRAYOID, INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID,
	NUMERICARRAYOID, FLOAT8ARRAYOID, FLOAT8ARRAYOID, INT8ARRAYOID, INT4ARRAYOID};

	if (plans_nspid == schema->nspid)
		return;
	/*
	 * A key's partials with readings (a placeholder's file has no copy that
	 * counts), or every partial of a key to restore.
	 */
	plan_partials = keep(psprintf("WITH k AS (SELECT * FROM ROWS FROM (pg_catalog.unnest($1), "
								  "pg_catalog.unnest($2), pg_catalog.unnest($3), pg_catalog.unnest($4)) "
								  "WITH ORDINALITY AS k(meter_id, day, channel_id, restore, i)), "
								  "d AS (SELECT k.i, d.* FROM k JOIN %1$s.energy_daily d "
								  "ON d.meter_id OPERATOR(pg_catalog.=) k.meter_id "
								  "AND d.day OPERATOR(pg_catalog.=) k.day "
								  "AND d.channel_id OPERATOR(pg_catalog.=) k.channel_id "
								  "WHERE NOT k.restore AND d.readings OPERATOR(pg_catalog.>) 0 "
								  "UNION ALL "
								  "SELECT k.i, d.* FROM k JOIN %1$s.energy_daily d "
								  "ON d.meter_id OPERATOR(pg_catalog.=) k.meter_id "
								  "AND d.day OPERATOR(pg_catalog.=) k.day "
								  "AND d.channel_id OPERATOR(pg_catalog.=) k.channel_id "
								  "WHERE k.restore) "
								  "SELECT d.i, d.file_id, d.readings, d.interval_minutes, "
								  "f.format OPERATOR(pg_catalog.=) ANY (ARRAY['NEM12', 'NEM13']) "
								  "FROM d LEFT JOIN %1$s.energy_file f ON f.file_id OPERATOR(pg_catalog.=) d.file_id "
								  "ORDER BY d.i, d.file_id", ns), 4, keys);
	/*
	 * The chunks through the meter-day index on all three of its columns:
	 * a plain join lets the planner probe it with two (meter and day, or
	 * meter and segment) and filter the rest, reading every file's chunks of
	 * the meter-day; the lateral subquery, kept apart by OFFSET 0, is probed
	 * with the segment found first.
	 */
	plan_chunks = keep(psprintf("SELECT u.f, r.ctid, r.line, r.day, r.block "
								"FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), "
								"pg_catalog.unnest($3), pg_catalog.unnest($4), pg_catalog.unnest($5)) "
								"AS u(f, meter_id, day, channel_id, file_id) "
								"JOIN %1$s.energy_segment s ON s.file_id OPERATOR(pg_catalog.=) u.file_id "
								"AND s.meter_id OPERATOR(pg_catalog.=) u.meter_id "
								"AND s.channel_id OPERATOR(pg_catalog.=) u.channel_id "
								"CROSS JOIN LATERAL (SELECT r.ctid, r.line, r.day, r.block "
								"FROM %1$s.energy_reading r WHERE r.meter_id OPERATOR(pg_catalog.=) s.meter_id "
								"AND r.day OPERATOR(pg_catalog.=) u.day "
								"AND r.segment_id OPERATOR(pg_catalog.=) s.segment_id OFFSET 0) r", ns), 5, chunkargs);
	plan_marks = keep(psprintf("UPDATE %1$s.energy_reading t SET block = u.block "
							   "FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2)) AS u(rid, block) "
							   "WHERE t.ctid OPERATOR(pg_catalog.=) u.rid", ns), 2, marks);
	plan_delete = keep(psprintf("DELETE FROM %1$s.energy_daily d "
								"USING ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), "
								"pg_catalog.unnest($3), pg_catalog.unnest($4)) AS u(meter_id, day, channel_id, file_id) "
								"WHERE d.meter_id OPERATOR(pg_catalog.=) u.meter_id "
								"AND d.day OPERATOR(pg_catalog.=) u.day "
								"AND d.channel_id OPERATOR(pg_catalog.=) u.channel_id "
								"AND d.file_id OPERATOR(pg_catalog.=) u.file_id", ns), 4, dkeys);
	plan_insert = keep(psprintf("INSERT INTO %1$s.energy_daily (meter_id, day, channel_id, file_id, part, "
								"readings, sum_value, min_value, max_value, flagged, interval_minutes) "
								"SELECT u.m, u.d, u.c, u.f, 1, u.r, u.s, u.lo, u.hi, u.fl, u.iv "
								"FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), "
								"pg_catalog.unnest($3), pg_catalog.unnest($4), pg_catalog.unnest($5), "
								"pg_catalog.unnest($6), pg_catalog.unnest($7), pg_catalog.unnest($8), "
								"pg_catalog.unnest($9), pg_catalog.unnest($10)) "
								"AS u(m, d, c, f, r, s, lo, hi, fl, iv)", ns), 10, ins);
	plans_nspid = schema->nspid;
}

/*
 * Run a statement.  SPI leaves its procedure's context current after each
 * call, which lives as long as the whole load: the batch's context is made
 * current again, so that what the batch allocates goes with it.
 */
static void
run(SPIPlanPtr plan, Datum *args, int expected)
{
	MemoryContext cxt = CurrentMemoryContext;

	energy_spi_run(plan, args, NULL, expected, "resolving overlaps");
	MemoryContextSwitchTo(cxt);
}

/* ---------------------------------------------------------------------
 * Reading the batch
 * ---------------------------------------------------------------------
 */

static int
cmp_rkey(const void *a, const void *b)
{
	const RKey *x = a;
	const RKey *y = b;

	if (x->meter_id != y->meter_id)
		return x->meter_id < y->meter_id ? -1 : 1;
	if (x->day != y->day)
		return x->day < y->day ? -1 : 1;
	if (x->channel_id != y->channel_id)
		return x->channel_id < y->channel_id ? -1 : 1;
	return 0;
}

/* The keys, sorted and each once (restored if any copy of it says so). */
static void
read_keys(Resolve *r, const Datum *meters, const Datum *days, const Datum *channels,
		  const Datum *restore, int n)
{
	int			m = 0;

	r->keys = palloc0(sizeof(RKey) * n);
	for (int i = 0; i < n; i++)
	{
		r->keys[i].meter_id = DatumGetInt64(meters[i]);
		r->keys[i].day = DatumGetDateADT(days[i]);
		r->keys[i].channel_id = DatumGetInt64(channels[i]);
		r->keys[i].restore = DatumGetBool(restore[i]);
	}
	qsort(r->keys, n, sizeof(RKey), cmp_rkey);
	for (int i = 0; i < n; i++)
	{
		if (m > 0 && cmp_rkey(&r->keys[m - 1], &r->keys[i]) == 0)
			r->keys[m - 1].restore |= r->keys[i].restore;
		else
			r->keys[m++] = r->keys[i];
	}
	r->nkeys = m;
}

/* The keys as the four arrays the first statement takes. */
static void
key_arrays(Resolve *r, Datum *args)
{
	Datum	   *cols[4];

	for (int c = 0; c < 4; c++)
		cols[c] = palloc(sizeof(Datum) * r->nkeys);
	for (int i = 0; i < r->nkeys; i++)
	{
		cols[0][i] = Int64GetDatum(r->keys[i].meter_id);
		cols[1][i] = DateADTGetDatum(r->keys[i].day);
		cols[2][i] = Int64GetDatum(r->keys[i].channel_id);
		cols[3][i] = BoolGetDatum(r->keys[i].restore);
	}
	args[0] = energy_array(cols[0], NULL, r->nkeys, INT8OID);
	args[1] = energy_array(cols[1], NULL, r->nkeys, DATEOID);
	args[2] = energy_array(cols[2], NULL, r->nkeys, INT8OID);
	args[3] = energy_array(cols[3], NULL, r->nkeys, BOOLOID);
}

/*
 * Step 1: the keys' files whose copies are compared, from their partials
 * (in key, file order): those with readings, or every one of a key to
 * restore.
 */
static void
read_partials(Resolve *r)
{
	Datum		args[4];

	key_arrays(r, args);
	run(plan_partials, args, SPI_OK_SELECT);
	r->files = palloc0(sizeof(RFile) * Max(1, SPI_processed));
	r->nfiles = 0;
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		int			key = (int) DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull)) - 1;
		int64		file_id = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
		RFile	   *f = (r->nfiles > 0) ? &r->files[r->nfiles - 1] : NULL;
		Datum		iv;
		Datum		mdff;

		if (f == NULL || f->key != key || f->file_id != file_id)
		{
			f = &r->files[r->nfiles++];
			f->key = key;
			f->file_id = file_id;
			iv = SPI_getbinval(tup, desc, 4, &f->interval_null);
			f->interval = f->interval_null ? 0 : DatumGetInt32(iv);
			mdff = SPI_getbinval(tup, desc, 5, &isnull);
			f->mdff = !isnull && DatumGetBool(mdff);
			if (r->keys[key].nfiles++ == 0)
				r->keys[key].first_file = r->nfiles - 1;
		}
		f->parts++;
		f->readings += DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
	}
	SPI_freetuptable(SPI_tuptable);
	for (int i = 0; i < r->nfiles; i++)
		r->files[i].compared = r->keys[r->files[i].key].restore || r->files[i].readings > 0;
}

/*
 * One row of step 2: a chunk of a compared file, its times and marks
 * decoded (what the comparison needs).  Its values and statuses are
 * decoded only if a partial is computed from them (chunk_values): in a
 * full re-delivery, the old copies all lose and the new ones all win, so
 * neither file's partial is summed again.  The block is detoasted into the
 * range's memory (it is rewritten from there when its marks change);
 * statuses point into it.
 *
 * A block that does not decode (damaged storage) must not stop the call:
 * it would make every file that shares its days impossible to unload or
 * replace.  Nor can it be compared, re-marked or summed.  So it is left as
 * it is stored, out of the comparison, with a WARNING naming its meter,
 * day and file: its readings no longer count in its file's partial of the
 * day (which is written again without them), and energy_data, which reads
 * it, says XX001 with the same names.  Nothing reads back wrong: the
 * readings are missing from the sums, not replaced by others, and loading
 * the file again from its source brings them back.
 */
static void
add_chunk(Resolve *r, HeapTuple tup, TupleDesc desc)
{
	RChunk	   *c = &r->chunks[r->nchunks++];
	bool		isnull;
	Datum		d;
	EcArrays	a = {0};
	EcErrorCode rc;

	c->file = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
	c->rid = *(ItemPointer) DatumGetPointer(SPI_getbinval(tup, desc, 2, &isnull));
	d = SPI_getbinval(tup, desc, 3, &isnull);
	c->line = isnull ? PG_INT64_MIN : DatumGetInt64(d);
	d = SPI_getbinval(tup, desc, 4, &isnull);
	c->block = DatumGetByteaPP(SPI_getbinval(tup, desc, 5, &isnull));
	c->day = DatumGetDateADT(d);
	a.at = (int64 *) 1;
	a.superseded = (bool *) 1;
	rc = energy_block_try_decode(c->block, c->day, &a, &c->n);
	c->value = NULL;
	c->status = NULL;
	r->files[c->file].has_chunk = true;
	if (rc != EC_OK)
	{
		RFile	   *f = &r->files[c->file];
		const char *where = energy_block_where(r->nspid, r->keys[f->key].meter_id,
											   f->file_id, c->day);

		/* named in the message: psql shows a WARNING's context only on request */
		ereport(WARNING,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("energy_reading block of %s is not valid: %s", where, ec_error_name(rc)),
				 errdetail("%s Its readings are left out of the comparison and no longer count in the file's partial of the day.",
						   ec_error_detail(rc)),
				 errhint("Unload the file and load it again from its source to bring its readings back.")));
		c->n = 0;				/* no copies: left out of everything */
		c->at = palloc0(sizeof(Timestamp));	/* cmp_chunk_rank reads one */
		c->mask = palloc0(sizeof(bool));
		c->old = c->mask;
		f->changed = true;		/* its partial goes on without the block */
		return;
	}
	c->at = a.at;
	c->old = a.superseded;
	c->mask = palloc0(sizeof(bool) * Max(c->n, 1));
}

/*
 * Step 2: the chunks of every compared file of the keys.  A compared file
 * with no chunk holds register reads: its key goes to energy_resolve().
 */
static void
read_chunks(Resolve *r)
{
	Datum	   *cols[5];
	Datum		args[5];
	int			n = 0;
	uint64		nrows;

	for (int c = 0; c < 5; c++)
		cols[c] = palloc(sizeof(Datum) * Max(1, r->fto - r->ffrom));
	for (int i = r->ffrom; i < r->fto; i++)
	{
		RFile	   *f = &r->files[i];
		RKey	   *k = &r->keys[f->key];

		if (!f->compared)
			continue;
		cols[0][n] = Int32GetDatum(i);
		cols[1][n] = Int64GetDatum(k->meter_id);
		cols[2][n] = DateADTGetDatum(k->day);
		cols[3][n] = Int64GetDatum(k->channel_id);
		cols[4][n] = Int64GetDatum(f->file_id);
		n++;
	}
	args[0] = energy_array(cols[0], NULL, n, INT4OID);
	args[1] = energy_array(cols[1], NULL, n, INT8OID);
	args[2] = energy_array(cols[2], NULL, n, DATEOID);
	args[3] = energy_array(cols[3], NULL, n, INT8OID);
	args[4] = energy_array(cols[4], NULL, n, INT8OID);
	run(plan_chunks, args, SPI_OK_SELECT);
	/* add_chunk may run a statement of its own (naming a damaged block) */
	r->chunk_result = SPI_tuptable;
	nrows = SPI_processed;
	r->chunks = palloc0(sizeof(RChunk) * Max(1, nrows));
	r->nchunks = 0;
	for (uint64 i = 0; i < nrows; i++)
		add_chunk(r, r->chunk_result->vals[i], r->chunk_result->tupdesc);
	/* the chunks' blocks point into the result: it goes with the batch */
	for (int i = r->ffrom; i < r->fto; i++)
		if (r->files[i].compared && !r->files[i].has_chunk)
			r->keys[r->files[i].key].to_sql = true;
}

/* ---------------------------------------------------------------------
 * Comparing
 * ---------------------------------------------------------------------
 */

/*
 * energy_resolve()'s order: by time, then the copy that wins first: the
 * later file, the later line, the later row, the later place in the row.
 */
static int
cmp_copy(const void *a, const void *b)
{
	const RCopy *x = a;
	const RCopy *y = b;
	int			c;

	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	if (x->file_id != y->file_id)
		return x->file_id > y->file_id ? -1 : 1;
	if (x->line != y->line)
		return x->line > y->line ? -1 : 1;
	c = ItemPointerCompare((ItemPointer) &x->rid, (ItemPointer) &y->rid);
	if (c != 0)
		return -c;
	return (x->ord > y->ord) ? -1 : (x->ord < y->ord);
}

/* Count a replacing reading of the winning file, if it is one of the call's. */
static void
count_replacing(Resolve *r, int64 file_id)
{
	EnergyReplacing *entry = hash_search(r->replacing, &file_id, HASH_FIND, NULL);

	if (entry)
		entry->count++;
}

static int
cmp_int32(const void *a, const void *b)
{
	int32		x = *(const int32 *) a;
	int32		y = *(const int32 *) b;

	return (x > y) - (x < y);
}

/*
 * The key's interval: the most common gap between consecutive copies that
 * count (sorted by time), in whole minutes rounded half up; ties go to the
 * smaller; 0 when there is none.
 */
static int32
key_mode(const Timestamp *live, int n)
{
	int32	   *gaps = palloc(sizeof(int32) * Max(1, n));
	int			ngaps = 0;
	int32		best = 0;
	int			best_count = 0;

	for (int i = 1; i < n; i++)
	{
		int64		minutes = (live[i] - live[i - 1] + USECS_PER_MINUTE / 2) / USECS_PER_MINUTE;

		if (minutes > 0)
			gaps[ngaps++] = (int32) Min(minutes, PG_INT32_MAX);
	}
	qsort(gaps, ngaps, sizeof(int32), cmp_int32);
	for (int i = 0; i < ngaps;)
	{
		int			j = i;

		while (j < ngaps && gaps[j] == gaps[i])
			j++;
		if (j - i > best_count)
		{
			best = gaps[i];
			best_count = j - i;
		}
		i = j;
	}
	pfree(gaps);
	return best;
}

/*
 * Mark the copies of one time: the first (in cmp_copy's order) counts, the
 * others lose; a reading that another file's copy that counted had is a
 * replacing one of the winner's file.
 */
static void
mark_group(Resolve *r, RCopy *group, int n)
{
	bool		other_counted = false;

	r->chunks[group[0].chunk].mask[group[0].ord] = false;
	for (int j = 1; j < n; j++)
	{
		RChunk	   *loser = &r->chunks[group[j].chunk];

		if (group[j].file_id != group[0].file_id && !loser->old[group[j].ord])
			other_counted = true;
		loser->mask[group[j].ord] = true;
	}
	if (other_counted)
		count_replacing(r, group[0].file_id);
}

/* Whether a copy takes part: a superseded one only when the key is restored. */
static inline bool
eligible(const RKey *k, const RChunk *ch, int i)
{
	return k->restore || !ch->old[i];
}

static RCopy
copy_of(Resolve *r, int c, int i)
{
	RChunk	   *ch = &r->chunks[c];
	RCopy		x;

	x.at = ch->at[i];
	x.file_id = r->files[ch->file].file_id;
	x.line = ch->line;
	x.rid = ch->rid;
	x.ord = i;
	x.chunk = c;
	return x;
}

/*
 * The general case: every compared copy of the key sorted by cmp_copy
 * (times out of order or repeated within a chunk).  Returns the times of
 * the copies that count, in order, in live.
 */
static int
compare_sorted(Resolve *r, const RKey *k, int first_chunk, int nchunks, Timestamp *live)
{
	int			n = 0;
	int			nlive = 0;
	RCopy	   *copies;

	for (int c = first_chunk; c < first_chunk + nchunks; c++)
		n += r->chunks[c].n;
	copies = palloc(sizeof(RCopy) * Max(1, n));
	n = 0;
	for (int c = first_chunk; c < first_chunk + nchunks; c++)
		for (int i = 0; i < r->chunks[c].n; i++)
			if (eligible(k, &r->chunks[c], i))
				copies[n++] = copy_of(r, c, i);
	qsort(copies, n, sizeof(RCopy), cmp_copy);
	for (int i = 0; i < n;)
	{
		int			j = i + 1;

		while (j < n && copies[j].at == copies[i].at)
			j++;
		mark_group(r, copies + i, j - i);
		live[nlive++] = copies[i].at;
		i = j;
	}
	pfree(copies);
	return nlive;
}

/* Chunks by the order their copies win in: file, line, row, all later first. */
static int
cmp_chunk_rank(const void *a, const void *b, void *arg)
{
	Resolve    *r = arg;
	RCopy		x = copy_of(r, *(const int *) a, 0);
	RCopy		y = copy_of(r, *(const int *) b, 0);

	x.at = y.at = 0;
	return cmp_copy(&x, &y);
}

/*
 * The common case, as files list a channel's day: within each chunk the
 * times of the compared copies strictly increase.  Then the chunks are
 * merged (a few of them: one per file that counts) instead of sorted: at
 * each time, the heads of the chunks that have it form the group, in the
 * chunks' winning order.  Returns -1 when a chunk is not in order.
 */
static int
compare_merged(Resolve *r, const RKey *k, int first_chunk, int nchunks, Timestamp *live)
{
	int		   *rank = palloc(sizeof(int) * nchunks);
	int		   *head = palloc(sizeof(int) * nchunks);
	RCopy	   *group = palloc(sizeof(RCopy) * nchunks);
	int			nlive = 0;

	for (int j = 0; j < nchunks; j++)
	{
		RChunk	   *ch = &r->chunks[first_chunk + j];
		Timestamp	last = DT_NOBEGIN;

		for (int i = 0; i < ch->n; i++)
		{
			Timestamp	at = ch->at[i];

			if (!eligible(k, ch, i))
				continue;
			if (at <= last)
				return -1;
			last = at;
		}
		rank[j] = first_chunk + j;
		head[j] = 0;
	}
	qsort_arg(rank, nchunks, sizeof(int), cmp_chunk_rank, r);

	for (;;)
	{
		Timestamp	at = DT_NOEND;
		int			n = 0;

		/* each chunk's next compared copy, and the earliest time among them */
		for (int j = 0; j < nchunks; j++)
		{
			RChunk	   *ch = &r->chunks[rank[j]];

			while (head[j] < ch->n && !eligible(k, ch, head[j]))
				head[j]++;
			if (head[j] < ch->n && ch->at[head[j]] < at)
				at = ch->at[head[j]];
		}
		if (at == DT_NOEND)
			break;
		for (int j = 0; j < nchunks; j++)
		{
			RChunk	   *ch = &r->chunks[rank[j]];

			if (head[j] < ch->n && ch->at[head[j]] == at)
				group[n++] = copy_of(r, rank[j], head[j]++);
		}
		mark_group(r, group, n);
		live[nlive++] = at;
	}
	return nlive;
}

/*
 * One key: every compared copy but the first of each time loses, the call's
 * replacing readings are counted, and the key's interval found.  A copy of
 * a compared file that was superseded stays so unless the key is restored
 * (it cannot win against the copy that superseded it).
 */
static void
compare_key(Resolve *r, int key, int first_chunk, int nchunks)
{
	RKey	   *k = &r->keys[key];
	int			n = 0;
	Timestamp  *live;
	int			nlive;

	for (int c = first_chunk; c < first_chunk + nchunks; c++)
	{
		RChunk	   *ch = &r->chunks[c];

		memcpy(ch->mask, ch->old, sizeof(bool) * ch->n);
		n += ch->n;
	}
	live = palloc(sizeof(Timestamp) * Max(1, n));
	nlive = compare_merged(r, k, first_chunk, nchunks, live);
	if (nlive < 0)
		nlive = compare_sorted(r, k, first_chunk, nchunks, live);
	k->mode = key_mode(live, nlive);
	pfree(live);
}

/*
 * Compare every key the C path handles; the chunks come in no order from
 * the statement, so they are first grouped by key (their file's key).
 */
static void
compare_keys(Resolve *r)
{
	int			nk = r->kto - r->kfrom;
	int		   *order = palloc(sizeof(int) * Max(1, r->nchunks));
	RChunk	   *sorted = palloc(sizeof(RChunk) * Max(1, r->nchunks));
	int		   *start = palloc0(sizeof(int) * (nk + 1));

	/* a counting sort of the chunks by key (their place in the range) */
	for (int c = 0; c < r->nchunks; c++)
		start[r->files[r->chunks[c].file].key - r->kfrom + 1]++;
	for (int k = 0; k < nk; k++)
		start[k + 1] += start[k];
	for (int c = 0; c < r->nchunks; c++)
		order[start[r->files[r->chunks[c].file].key - r->kfrom]++] = c;
	for (int c = 0; c < r->nchunks; c++)
		sorted[c] = r->chunks[order[c]];
	r->chunks = sorted;
	for (int k = nk; k > 0; k--)
		start[k] = start[k - 1];
	start[0] = 0;

	for (int k = 0; k < nk; k++)
	{
		if (r->keys[r->kfrom + k].to_sql)
			continue;
		compare_key(r, r->kfrom + k, start[k], start[k + 1] - start[k]);
	}
}

/* ---------------------------------------------------------------------
 * Writing
 * ---------------------------------------------------------------------
 */

/* The chunk's block with its new marks: none when nothing is superseded. */
static Datum
remarked_block(const RChunk *c)
{
	bool		any = false;

	for (int i = 0; i < c->n && !any; i++)
		any = c->mask[i];
	return PointerGetDatum(energy_block_remark(c->block, any ? c->mask : NULL, true));
}

/* Step 3: the blocks whose marks changed, in one UPDATE; their files changed. */
static void
write_marks(Resolve *r)
{
	Datum	   *rids = palloc(sizeof(Datum) * Max(1, r->nchunks));
	Datum	   *blocks = palloc(sizeof(Datum) * Max(1, r->nchunks));
	Datum		args[2];
	int			n = 0;

	for (int c = 0; c < r->nchunks; c++)
	{
		RChunk	   *ch = &r->chunks[c];

		if (r->keys[r->files[ch->file].key].to_sql ||
			memcmp(ch->old, ch->mask, sizeof(bool) * ch->n) == 0)
			continue;
		r->files[ch->file].changed = true;
		rids[n] = PointerGetDatum(&ch->rid);
		blocks[n] = remarked_block(ch);
		n++;
	}
	if (n == 0)
		return;
	args[0] = energy_array(rids, NULL, n, TIDOID);
	args[1] = energy_array(blocks, NULL, n, BYTEAOID);
	run(plan_marks, args, SPI_OK_UPDATE);
}

/* What a file's rewritten partial of a key holds. */
typedef struct RStats
{
	int64		readings;
	EnergySum	sum;
	double		min;
	double		max;
	int64		flagged;
} RStats;

/*
 * The chunk's values and statuses, decoded the first time they are needed.
 * The block decoded in add_chunk, so this cannot fail but for a bug; if it
 * does, the error names the block.
 */
static void
chunk_values(Resolve *r, RChunk *c)
{
	EcArrays	a = {0};
	EcErrorCode rc;
	int			n;

	if (c->value != NULL)
		return;
	a.value = (EcValue *) 1;
	a.status = (EcText *) 1;
	if ((rc = energy_block_try_decode(c->block, c->day, &a, &n)) != EC_OK)
	{
		RFile	   *f = &r->files[c->file];

		energy_block_report(ERROR, rc, true,
							energy_block_where(r->nspid, r->keys[f->key].meter_id,
											   f->file_id, c->day));
	}
	c->value = a.value;
	c->status = a.status;
}

static void
file_stats(Resolve *r, int file, int first_chunk, int nchunks, RStats *st)
{
	memset(st, 0, sizeof(*st));
	for (int c = first_chunk; c < first_chunk + nchunks; c++)
	{
		RChunk	   *ch = &r->chunks[c];
		bool		counts = false;

		if (ch->file != file)
			continue;
		for (int i = 0; i < ch->n && !counts; i++)
			counts = !ch->mask[i];
		if (!counts)
			continue;			/* every copy lost: nothing to add */
		chunk_values(r, ch);
		for (int i = 0; i < ch->n; i++)
		{
			double		v = ch->value[i].value;
			EpDecimal	d;

			if (ch->mask[i])
				continue;
			if (st->readings == 0 || v < st->min)
				st->min = v;
			if (st->readings == 0 || v > st->max)
				st->max = v;
			st->readings++;
			/* the value as the file wrote it: the loader's exact sum */
			d.is_null = false;
			d.value = v;
			d.exact = ch->value[i].exact;
			d.digits = ch->value[i].digits;
			d.scale = ch->value[i].scale;
			energy_sum_add(&st->sum, &d);
			if (ch->status[i].ptr != NULL && ch->status[i].len > 0 &&
				!(r->files[file].mdff && ch->status[i].ptr[0] == 'A'))
				st->flagged++;
		}
	}
}

/* Growing parallel columns of the partials to write. */
typedef struct RRows
{
	Datum	   *col[10];
	bool	   *null[10];
	int			n;
} RRows;

/*
 * Steps 4 and 5: every file whose copies changed (or whose partial no
 * longer says the key's interval, or is split in parts) gets one partial
 * again, computed from its copies that count.
 */
static void
write_partials(Resolve *r)
{
	RRows		rows;
	Datum		args[10];
	Oid			types[10] = {INT8OID, DATEOID, INT8OID, INT8OID, INT8OID,
	NUMERICOID, FLOAT8OID, FLOAT8OID, INT8OID, INT4OID};
	int			chunk = 0;

	for (int c = 0; c < 10; c++)
	{
		rows.col[c] = palloc(sizeof(Datum) * Max(1, r->fto - r->ffrom));
		rows.null[c] = palloc0(sizeof(bool) * Max(1, r->fto - r->ffrom));
	}
	rows.n = 0;
	for (int k = r->kfrom; k < r->kto; k++)
	{
		RKey	   *key = &r->keys[k];
		int			first_chunk = chunk;

		while (chunk < r->nchunks && r->files[r->chunks[chunk].file].key == k)
			chunk++;
		if (key->to_sql)
			continue;
		for (int f = key->first_file; f < key->first_file + key->nfiles; f++)
		{
			RFile	   *file = &r->files[f];
			RStats		st;
			int			i = rows.n;
			bool		same_interval;

			if (!file->compared)
				continue;
			same_interval = file->readings == 0 ||
				(key->mode == 0 ? file->interval_null :
				 (!file->interval_null && file->interval == key->mode));
			if (!file->changed && file->parts == 1 && same_interval)
				continue;
			file_stats(r, f, first_chunk, chunk - first_chunk, &st);
			rows.col[0][i] = Int64GetDatum(key->meter_id);
			rows.col[1][i] = DateADTGetDatum(key->day);
			rows.col[2][i] = Int64GetDatum(key->channel_id);
			rows.col[3][i] = Int64GetDatum(file->file_id);
			rows.col[4][i] = Int64GetDatum(st.readings);
			rows.col[5][i] = energy_sum_numeric(&st.sum);
			rows.col[6][i] = Float8GetDatum(st.min);
			rows.col[7][i] = Float8GetDatum(st.max);
			rows.col[8][i] = Int64GetDatum(st.flagged);
			rows.col[9][i] = Int32GetDatum(key->mode);
			rows.null[6][i] = rows.null[7][i] = (st.readings == 0);
			rows.null[9][i] = (st.readings == 0 || key->mode == 0);
			rows.n++;
		}
	}
	if (rows.n == 0)
		return;
	for (int c = 0; c < 10; c++)
		args[c] = energy_array(rows.col[c], rows.null[c], rows.n, types[c]);
	run(plan_delete, args, SPI_OK_DELETE);
	run(plan_insert, args, SPI_OK_INSERT);
}

/*
 * Resolve a batch of keys (parallel arrays; restore: compare every copy)
 * in C where their copies are chunks, adding the readings the call's files
 * replaced to replacing (file_id -> {file_id, count} entries).  Sets
 * to_sql[i] for each key it left to energy_resolve(), and returns how many.
 */
int
energy_resolve_chunks(const EnergySchema *schema, const Datum *meters, const Datum *days,
					  const Datum *channels, const Datum *restore, int n,
					  HTAB *replacing, bool *to_sql)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "energy resolve",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	MemoryContext range_cxt;
	Resolve		r;
	int			left = 0;

	memset(&r, 0, sizeof(r));
	r.replacing = replacing;
	r.nspid = schema->nspid;
	prepare_plans(schema);
	MemoryContextSwitchTo(cxt);
	read_keys(&r, meters, days, channels, restore, n);
	read_partials(&r);
	/*
	 * A range's decoded chunks take a few MB, allocated afresh for each
	 * range: in blocks that glibc maps and unmaps, every page would fault
	 * again each time (measured: a seventh of a re-delivery's time).  One
	 * keeper block that the resets keep is touched once per call.
	 */
	range_cxt = AllocSetContextCreate(cxt, "energy resolve range",
									  RANGE_BLOCK, RANGE_BLOCK, RANGE_BLOCK);
	for (int k0 = 0, f0 = 0; k0 < r.nkeys;)
	{
		int			k1 = k0;
		int			f1 = f0;

		while (k1 < r.nkeys && (k1 == k0 || f1 - f0 + r.keys[k1].nfiles <= RANGE_FILES))
			f1 += r.keys[k1++].nfiles;
		r.kfrom = k0;
		r.kto = k1;
		r.ffrom = f0;
		r.fto = f1;
		MemoryContextSwitchTo(range_cxt);
		read_chunks(&r);
		compare_keys(&r);
		write_marks(&r);
		write_partials(&r);
		SPI_freetuptable(r.chunk_result);
		MemoryContextSwitchTo(cxt);
		MemoryContextReset(range_cxt);
		k0 = k1;
		f0 = f1;
	}

	/* the keys left to SQL, by value: the caller's arrays are not sorted */
	for (int i = 0; i < n; i++)
	{
		RKey		probe;
		RKey	   *k;

		probe.meter_id = DatumGetInt64(meters[i]);
		probe.day = DatumGetDateADT(days[i]);
		probe.channel_id = DatumGetInt64(channels[i]);
		k = bsearch(&probe, r.keys, r.nkeys, sizeof(RKey), cmp_rkey);
		to_sql[i] = (k != NULL && k->to_sql);
		left += to_sql[i];
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	return left;
}
