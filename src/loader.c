/*-------------------------------------------------------------------------
 *
 * loader.c
 *	  energy_load() and energy_load_data(): the load driver.
 *
 * A load must never lose or double data, so each file goes through the same
 * steps inside the caller's transaction:
 *	1. look its name up in energy_file, locking the row (FOR UPDATE), so a
 *	   concurrent load of the same file waits for us and then finds it
 *	   already loaded; a new name is claimed by the unique index when the
 *	   file is registered (step 3), and a load that loses that race starts
 *	   the file again;
 *	2. same size and same SHA-256 as the stored version means "unchanged"
 *	   and nothing is written;
 *	3. parse the header; only once the new content is known to be a meter
 *	   file is the old version's name released (its energy_file row goes;
 *	   its rows stay until step 6) and the new version registered;
 *	4. stream the records through the parser into the sink and the per-day
 *	   partials, hashing the bytes as they pass, so the stored hash is that
 *	   of the stored rows;
 *	5. write the partials and the file's hash and counts once;
 *	6. at the end of the call, for every file of it at once: take the locks
 *	   of every meter-day the call touches (lock.c), resolve the readings other
 *	   files share (overlap.c), remove the old versions, and bring back the
 *	   copies they had superseded.  Only then are the result rows known
 *	   (rows_replacing) and returned.
 * No lock-table entry is taken per file, so a folder of any size loads in
 * one call.
 * An ERROR anywhere aborts the whole call; with on_error => 'skip', bad
 * records (and unreadable files of a directory) go to energy_rejects.
 *
 * This file only drives: the bytes come from the file stage (file.c), the
 * parser's values and errors are converted by glue.c, rows go down through
 * the dictionaries, chunks, partials and sink, and energy_file's steps (1,
 * 3, 5 and 6: look up, register, finish, the end of the call) and rejects
 * are the file catalogue's (catalog.c, through loader_int.h).  None of
 * those calls back up into here.  While a file is loaded, an error context callback
 * (glue.c) names the file, line and column of any error, as COPY does.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>

#include "catalog/dependency.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "commands/progress.h"
#include "commands/sequence.h"
#include "common/sha2.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/backend_progress.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "loader_int.h"

PG_FUNCTION_INFO_V1(energy_load);
PG_FUNCTION_INFO_V1(energy_load_data);

/* ---------------------------------------------------------------------
 * Output
 * ---------------------------------------------------------------------
 */

/*
 * One row of the call's result, kept in the call's memory: its
 * rows_replacing is known only once the call's overlaps are resolved.
 */
static void
emit_file(LoadState *ls, const char *file_name, const char *format, int64 rows,
		  int64 rejected, const char *action, int64 file_id)
{
	MemoryContext old = MemoryContextSwitchTo(ls->call_cxt);
	LoadResult *r;

	if (ls->n_results == ls->max_results)
	{
		ls->max_results = Max(16, ls->max_results * 2);
		ls->results = ls->results == NULL ?
			palloc(sizeof(LoadResult) * ls->max_results) :
			repalloc_huge(ls->results, sizeof(LoadResult) * ls->max_results);
	}
	r = &ls->results[ls->n_results++];
	r->file_name = pstrdup(file_name);
	r->format = format;
	r->rows = rows;
	r->rejected = rejected;
	r->action = action;
	r->file_id = file_id;
	MemoryContextSwitchTo(old);
}

/* A row of the result for a file that wrote nothing. */
static void
emit(LoadState *ls, const char *file_name, const char *format, int64 rows,
	 int64 rejected, const char *action)
{
	emit_file(ls, file_name, format, rows, rejected, action, 0);
}

/*
 * The result rows, at the end of the call.  A 1.1 schema's functions return
 * five columns (no rows_replacing).
 */
static void
emit_results(LoadState *ls)
{
	TupleDesc	desc = ls->rsinfo->setDesc;

	for (int i = 0; i < ls->n_results; i++)
	{
		LoadResult *r = &ls->results[i];
		Datum		values[6];
		bool		nulls[6] = {false, false, false, false, false, false};

		values[0] = CStringGetTextDatum(r->file_name);
		values[1] = r->format ? CStringGetTextDatum(r->format) : (Datum) 0;
		nulls[1] = (r->format == NULL);
		values[2] = Int64GetDatum(r->rows);
		values[3] = Int64GetDatum(r->rejected);
		values[4] = CStringGetTextDatum(r->action);
		values[5] = Int64GetDatum(r->file_id != 0 && ls->overlap ?
								  energy_overlap_replacing(ls->overlap, r->file_id) : 0);
		Assert(desc->natts == ls->schema.layout->load_result_natts);
		tuplestore_putvalues(ls->rsinfo->setResult, desc, values, nulls);
	}
}

/* ---------------------------------------------------------------------
 * The load of one file
 * ---------------------------------------------------------------------
 */

/*
 * Whether a reading's quality is not "actual": an LP or TOU status that is
 * not empty; an MDFF quality method (NEM12, NEM13) other than A.  The
 * rewrite of overlapping partials (energy_resolve() in the upgrade script)
 * counts flagged readings by the same rule.
 */
static inline bool
row_flagged(EpFormat format, const EpText *status)
{
	if (format == EP_FORMAT_NEM12 || format == EP_FORMAT_NEM13)
		return status->len > 0 && status->ptr[0] != 'A';
	return status->len > 0;
}

/*
 * One parsed row down the pipeline: its ids, its partial, then its chunk
 * (LP, NEM12 intervals) or register row (TOU, NEM13 reads).  A NEM12
 * interval belongs to its IntervalDate even when it ends at 00:00 the next
 * day, and states its interval; a blank one (no value) is no reading.
 */
static inline void
load_row(LoadState *ls, FileLoad *fl, const EpRow *row)
{
	bool		nem12 = (fl->format == EP_FORMAT_NEM12);
	bool		interval = (fl->format == EP_FORMAT_LP || nem12);
	int64		meter_id;
	int64		channel_id;
	int64		seg;
	int32		day;
	Timestamp	at;

	Assert(fl->file_id != 0);
	if (row->value.is_null)
	{
		Assert(nem12);
		return;
	}
	meter_id = energy_meter_id(ls->dict, &row->meter, &row->serial, &row->plant);
	channel_id = energy_channel_id(ls->dict, &row->data_type, &row->units);
	seg = catalog_segment_id(ls, fl, meter_id, channel_id);
	day = energy_day(nem12 ? &row->day : &row->at);
	at = nem12 ? energy_timestamp(&row->at) : energy_day_timestamp(day, &row->at);
	energy_daily_add(ls->daily, meter_id, channel_id, day, at, &row->value,
					 row_flagged(fl->format, &row->status),
					 !interval ? -1 : nem12 ? row->interval_minutes : 0);

	if (interval)
	{
		EnergyReading r;

		r.meter_id = meter_id;
		r.segment_id = seg;
		r.at = at;
		r.value = &row->value;
		r.status = &row->status;
		r.line = row->line;
		energy_chunks_add(ls->chunks, &r, day);
	}
	else
	{
		EnergyRegister g;

		g.meter_id = meter_id;
		g.segment_id = seg;
		g.row = row;
		g.at = at;
		g.max_demand_at_null = row->max_demand_at.is_null;
		g.max_demand_at = g.max_demand_at_null ? 0 : energy_timestamp(&row->max_demand_at);
		g.reset_at_null = row->reset_at.is_null;
		g.reset_at = g.reset_at_null ? 0 : energy_timestamp(&row->reset_at);
		energy_sink_register(ls->sink, &g);
	}
	fl->rows++;
}

/* pg_stat_progress_copy shows a load as a COPY FROM into energy_reading. */
static void
progress_start(LoadState *ls, FileLoad *fl)
{
	const int	index[] = {PROGRESS_COPY_COMMAND, PROGRESS_COPY_TYPE, PROGRESS_COPY_BYTES_TOTAL};
	int64		val[3];

	pgstat_progress_start_command(PROGRESS_COMMAND_COPY, ls->reading_relid);
	val[0] = PROGRESS_COPY_COMMAND_FROM;
	{
		/* an archive's member: the archive's bytes */
		EnergySource *raw = fl->src->outer ? fl->src->outer : fl->src;

		val[1] = raw->fd >= 0 ? PROGRESS_COPY_TYPE_FILE : PROGRESS_COPY_TYPE_CALLBACK;
		val[2] = raw->size;
	}
	pgstat_progress_update_multi_param(3, index, val);
	fl->progress = true;
}

/*
 * Bytes and rows so far, so pg_stat_progress_copy shows a long load moving.
 */
static void
progress_update(FileLoad *fl)
{
	const int	index[] = {PROGRESS_COPY_BYTES_PROCESSED, PROGRESS_COPY_TUPLES_PROCESSED,
	PROGRESS_COPY_TUPLES_EXCLUDED};
	int64		val[3];

	val[0] = fl->src->outer ? (int64) energy_source_raw_bytes(fl->src) : (int64) fl->bytes_read;
	val[1] = (int64) fl->rows;
	val[2] = (int64) fl->rejected;
	pgstat_progress_update_multi_param(3, index, val);
}

/*
 * Start reading a file: its error context.  What energy_file holds under
 * its name has been looked up (and locked) already: load_source.
 */
static void
file_begin(LoadState *ls, FileLoad *fl)
{
	ls->pos.file_name = fl->src->name;
	energy_error_position_line(&ls->pos, 0);
	fl->errcb.callback = energy_error_context;
	fl->errcb.arg = &ls->pos;
	fl->errcb.previous = error_context_stack;
	error_context_stack = &fl->errcb;
}

/*
 * A server file that stands as energy_file recorded it when it was read
 * (same size, inode, modification and change time, to the nanosecond) is
 * unchanged without being opened: a drop folder loaded every few minutes
 * costs a stat per file it already holds, not a read of every byte.  The
 * stat is recorded only for a file whose last change was well before its
 * read (energy_source_stat_settled), and any write to a file moves its
 * change time, which no user can set back; anything else reads and hashes
 * the file as before.  A 1.2 schema records no stat: its loads always
 * hash.  A .gz file's member is recorded with the archive's inode and
 * times (its size is the member's, which is not known before inflating):
 * an archive that stands as it was is not read either.
 */
static bool
file_stat_unchanged(LoadState *ls, FileLoad *fl)
{
	const EnergySource *src = fl->src;

	if (!ls->schema.layout->file_stat || !src->has_stat || !fl->existed ||
		!fl->old_has_stat)
		return false;
	/* a member's recorded size is its own, its stat the archive's */
	if ((src->outer == NULL && fl->old_size != src->size) || fl->old_inode != src->inode ||
		fl->old_mtime_ns != src->mtime_ns || fl->old_ctime_ns != src->ctime_ns)
		return false;
	emit(ls, src->name, fl->old_format, fl->old_rows, fl->old_rejected, "unchanged");
	return true;
}

/*
 * Same name, same size and same SHA-256 as the stored version: report it
 * "unchanged" and write nothing.  Otherwise the file is parsed and hashed
 * in one pass, so that the hash stored always describes the rows stored,
 * even if the file is rewritten while we read it; the hash taken here only
 * decides whether to parse at all.
 */
static bool
file_unchanged(LoadState *ls, FileLoad *fl)
{
	/* an archive's member has no size until it is inflated */
	if (fl->existed && (fl->src->outer != NULL || fl->old_size == fl->src->size))
	{
		if (!fl->digested)
			energy_source_digest(fl->src, ls->readbuf, ls->readbuf_size, fl->digest);
		fl->digested = false;	/* a retry reads the file again */
		if (fl->src->failed)
			energy_source_raise(fl->src);
		if (VARSIZE_ANY_EXHDR(fl->old_sha) == PG_SHA256_DIGEST_LENGTH &&
			memcmp(VARDATA_ANY(fl->old_sha), fl->digest, PG_SHA256_DIGEST_LENGTH) == 0)
		{
			/* the next load of it is a stat, if it stood still meanwhile */
			if (!energy_source_changed(fl->src))
				catalog_record_stat(ls, fl);
			emit(ls, fl->src->name, fl->old_format, fl->old_rows, fl->old_rejected,
				 "unchanged");
			return true;
		}
	}
	return false;
}

/* The parser, the hash and the segment table of one pass over the file. */
static void
parse_begin(LoadState *ls, FileLoad *fl)
{
	HASHCTL		hctl;

	Assert(fl->parser == NULL && fl->hash == NULL);
	hctl.keysize = sizeof(SegmentKey);
	hctl.entrysize = sizeof(SegmentEntry);
	hctl.hcxt = ls->file_cxt;
	fl->segments = hash_create("energy segments", 64, &hctl,
							   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	fl->last_segment = NULL;
	fl->parser = energy_parser_create(ls->file_cxt, (size_t) energy_max_record_bytes);
	fl->hash = energy_sha256_begin();
	fl->rows = fl->rejected = fl->bytes_read = 0;
	progress_start(ls, fl);
}

/* Undo parse_begin, on every way out of a pass. */
static void
parse_end(FileLoad *fl)
{
	if (fl->hash)
		pg_cryptohash_free(fl->hash);
	fl->hash = NULL;
	if (fl->progress)
		pgstat_progress_end_command();
	fl->progress = false;
	ep_destroy(fl->parser);
	fl->parser = NULL;
	if (fl->segments)
		hash_destroy(fl->segments);
	fl->segments = NULL;
}

/*
 * The next chunk of bytes into the parser and the hash, or their end.  It
 * is read straight into the parser's buffer (a copy of every byte less),
 * and into ours only once the parser takes no more, for the hash.
 */
static void
feed_parser(LoadState *ls, FileLoad *fl)
{
	char	   *dst = ep_reserve(fl->parser, ls->readbuf_size);
	size_t		n;

	if (dst == NULL)
		dst = ls->readbuf;
	energy_error_position_line(&ls->pos, 0);
	n = energy_source_read(fl->src, dst, ls->readbuf_size);
	if (n == 0)
	{
		ep_finish(fl->parser);
		return;
	}
	energy_sha256_update(fl->hash, dst, n);
	if (dst != ls->readbuf)
		ep_commit(fl->parser, n);
	fl->bytes_read += n;
	progress_update(fl);
}

/*
 * Write one reject in a short-lived context, reset at once: a file of a
 * million bad lines costs the memory of one.
 */
static void
reject_write(LoadState *ls, const char *file_name, const EpError *err)
{
	MemoryContext old = MemoryContextSwitchTo(ls->reject_cxt);

	catalog_parse_reject(ls, file_name, err);
	MemoryContextSwitchTo(old);
	MemoryContextReset(ls->reject_cxt);
}

/*
 * The content is not a meter file (no header, or another one).  'stop'
 * raises; 'skip' records one reject for the file and leaves its old
 * version, if any, in place.  Its first line is quoted only if it looks
 * like a CSV header (energy_header_error_redact).
 */
static void
reject_file(LoadState *ls, FileLoad *fl, EpError *err)
{
	energy_header_error_redact(err);
	if (ls->on_error == ON_ERROR_STOP)
		energy_raise_parse_error(&ls->pos, err);
	energy_error_position_set(&ls->pos, err);
	catalog_delete_rejects(ls, fl->src->name);
	reject_write(ls, fl->src->name, err);
	emit(ls, fl->src->name, NULL, 0, 1, "rejected");
}

/* A bad record: the ERROR of 'stop', or a row of energy_rejects. */
static void
reject_record(LoadState *ls, FileLoad *fl, const EpError *err)
{
	if (ls->on_error == ON_ERROR_STOP)
		energy_raise_parse_error(&ls->pos, err);
	energy_error_position_set(&ls->pos, err);
	reject_write(ls, fl->src->name, err);
	fl->rejected++;
}

/*
 * energy_unit, read once per call: a unit in lower case and its factor.
 */
static void
read_units(LoadState *ls)
{
	HASHCTL		hctl;

	hctl.keysize = UNIT_KEY_MAX;
	hctl.entrysize = sizeof(UnitFactor);
	hctl.hcxt = ls->call_cxt;
	ls->factors = hash_create("energy unit factors", 64, &hctl,
							  HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	ls->last_units_len = SIZE_MAX;
	/* a 1.0 schema has no unit table: every unit is unknown */
	if (!ls->schema.layout->unit_table)
		return;
	energy_spi_exec(psprintf("SELECT pg_catalog.lower(unit), factor FROM %s.energy_unit",
							 ls->schema.nspname),
					0, NULL, NULL, NULL, true, SPI_OK_SELECT, "reading energy_unit");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		char	   *unit = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		bool		isnull;
		UnitFactor *u;

		if (strlen(unit) >= UNIT_KEY_MAX)
			continue;
		u = hash_search(ls->factors, unit, HASH_ENTER, NULL);
		u->factor = DatumGetFloat8(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
	}
	SPI_freetuptable(SPI_tuptable);
	ls->last_units_len = SIZE_MAX;
}

/*
 * The factor of a row's unit, 0 for a unit energy_unit does not know (it
 * counts as 1 in the views, and is checked against every factor it may be
 * given later: energy_value_check); rows come in runs of one channel, so
 * the last answer is kept.
 */
static double
unit_factor(LoadState *ls, const EpText *units)
{
	char		key[UNIT_KEY_MAX];
	UnitFactor *u;

	if (units->len == ls->last_units_len &&
		memcmp(units->ptr, ls->last_units, units->len) == 0)
		return ls->last_factor;
	if (units->len >= UNIT_KEY_MAX)
		return 0.0;
	for (size_t i = 0; i < units->len; i++)
		key[i] = pg_ascii_tolower((unsigned char) units->ptr[i]);
	key[units->len] = '\0';
	u = hash_search(ls->factors, key, HASH_FIND, NULL);
	memcpy(ls->last_units, units->ptr, units->len);
	ls->last_units_len = units->len;
	ls->last_factor = u ? u->factor : 0.0;
	return ls->last_factor;
}

/* How a pass over a file ended. */
typedef enum ParseOutcome
{
	PARSE_LOADED,				/* every record loaded or rejected */
	PARSE_NOT_METER,			/* not a meter file: rejected or raised */
	PARSE_LOST_RACE				/* a concurrent load took the name first */
} ParseOutcome;

/*
 * The record loop: pull records, feed bytes when the parser needs them,
 * and send each record down the pipeline or to the rejects.  The file is
 * registered (and its old version deleted) at the first record after the
 * header, once the content is known to be a meter file, before anything
 * else is written.
 */
static ParseOutcome
parse_records(LoadState *ls, FileLoad *fl)
{
	uint32		tick = 0;

	for (;;)
	{
		EpRow		row;
		EpError		err;
		EpStatus	st = ep_next(fl->parser, &row, &err);

		if (st == EP_NEED_MORE)
		{
			feed_parser(ls, fl);
			continue;
		}
		if (st == EP_ERROR && (err.code == EP_ERR_EMPTY || err.code == EP_ERR_HEADER ||
							   (ls->sniff && ep_format(fl->parser) == EP_FORMAT_NONE)))
		{
			/* a folder's other file that is no meter file: not ours */
			if (ls->sniff && ls->on_error == ON_ERROR_STOP)
				return PARSE_NOT_METER;
			reject_file(ls, fl, &err);
			return PARSE_NOT_METER;
		}
		if (fl->file_id == 0 && !catalog_register(ls, fl, ep_format(fl->parser)))
			return PARSE_LOST_RACE;
		if (st == EP_END)
			return PARSE_LOADED;

		if ((++tick & 1023) == 0)
		{
			CHECK_FOR_INTERRUPTS();
			progress_update(fl);
		}

		if (st == EP_ERROR)
			reject_record(ls, fl, &err);
		else if (!energy_row_check(&row, fl->format, &err) ||
				 (!row.value.is_null &&
				  (!energy_value_check(&row, fl->format, unit_factor(ls, &row.units), &err) ||
				   !energy_horizon_check(&row, fl->format,
										 energy_day(fl->format == EP_FORMAT_NEM12 ? &row.day : &row.at),
										 ls->schema.horizon, &err))))
		{
			/*
			 * a row the tables (or the views) cannot hold, or a reading of
			 * a forgotten day: a reject
			 */
			reject_record(ls, fl, &err);
		}
		else
		{
			energy_error_position_line(&ls->pos, row.line);
			load_row(ls, fl, &row);
		}
	}
}

/*
 * The end of a parsed file: everything still buffered goes to the tables,
 * then the file's row in energy_file gets the hash of the bytes just parsed
 * and the counts.
 */
static void
file_write(LoadState *ls, FileLoad *fl)
{
	energy_error_position_line(&ls->pos, 0);
	if (fl->src->outer)
		energy_source_check_unchanged(fl->src->outer, fl->src->raw_read);
	else
		energy_source_check_unchanged(fl->src, fl->bytes_read);
	energy_sha256_end(fl->hash, fl->digest);
	fl->hash = NULL;
	energy_chunks_flush(ls->chunks);
	energy_sink_flush(ls->sink);
	energy_daily_end(ls->daily);
	catalog_finish(ls, fl);
	progress_update(fl);

	emit_file(ls, fl->src->name, catalog_format_name(fl->format), (int64) fl->rows,
			  (int64) fl->rejected, fl->existed ? "replaced" : "loaded", fl->file_id);
}

/*
 * Another load committed this name between our lookup and our INSERT.
 * Nothing was written; start the file again, from the lookup, unless this
 * keeps happening.
 */
static void
file_retry(LoadState *ls, FileLoad *fl, int attempt)
{
	if (attempt >= CLAIM_ATTEMPTS)
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not serialize access to file \"%s\" due to concurrent loads",
						fl->src->name),
				 errhint("Retry the load.")));
	energy_source_rewind(fl->src);
	catalog_lookup(ls, fl);
}

/*
 * A file that cannot be opened: the call's ERROR, or in skip mode one
 * reject.
 */
static void
refuse_open(LoadState *ls, const char *name, EnergyOpenError *oe)
{
	if (ls->on_error == ON_ERROR_STOP)
		ereport(ERROR,
				(errcode(oe->sqlerrcode),
				 errmsg_internal("%s", oe->message),
				 oe->detail ? errdetail_internal("%s", oe->detail) : 0));
	catalog_file_reject(ls, name, oe->sqlerrcode, oe->message, oe->detail);
	emit(ls, name, NULL, 0, 1, "rejected");
}

/* The one cleanup path of a file, whatever the way it ended. */
static void
file_end(LoadState *ls, FileLoad *fl, MemoryContext old)
{
	parse_end(fl);
	error_context_stack = fl->errcb.previous;
	ls->pos.file_name = NULL;
	MemoryContextSwitchTo(old);
	MemoryContextReset(ls->file_cxt);
}

/*
 * An archive's member in skip mode is read once before any of it is
 * loaded: a damaged one (a bad CRC, truncated, a bomb) is then one reject
 * for the member, naming the archive, and nothing of it is loaded.  Its
 * hash is taken on the way, so a member already loaded is found unchanged
 * by it (file_unchanged).  In stop mode, an error aborts the call and so
 * loads nothing either: the member is read once, as a plain file is.
 */
static bool
member_checked(LoadState *ls, FileLoad *fl)
{
	EnergySource *src = fl->src;

	if (ls->on_error != ON_ERROR_SKIP)
		return true;
	src->defer_errors = true;
	energy_source_digest(src, ls->readbuf, ls->readbuf_size, fl->digest);
	src->defer_errors = false;
	if (!src->failed)
	{
		fl->digested = true;
		return true;
	}
	catalog_file_reject(ls, src->name, src->fail_code, src->fail_message, src->fail_detail);
	emit(ls, src->name, NULL, 0, 1, "rejected");
	return false;
}

/*
 * One file, shaped init -> work -> free like pgvector's BuildIndex: every
 * way through (unchanged, not a meter file, loaded) leaves by file_end, but
 * for a file found unchanged by its stat or that cannot be opened, which
 * never started.  A server file comes here stat'ed, not yet opened
 * (load_path): it is opened only if its stat is not the one recorded.
 * The work is a loop only for the rare load that loses a new name to a
 * concurrent one and must look again.
 */
static void
load_source(LoadState *ls, EnergySource *src)
{
	FileLoad	fl;
	MemoryContext old = MemoryContextSwitchTo(ls->file_cxt);
	ParseOutcome outcome = PARSE_LOADED;
	EnergyOpenError oe;

	memset(&fl, 0, sizeof(fl));
	fl.src = src;
	catalog_lookup(ls, &fl);
	if (file_stat_unchanged(ls, &fl))
	{
		MemoryContextSwitchTo(old);
		MemoryContextReset(ls->file_cxt);
		return;
	}
	if (src->path != NULL && src->fd < 0 && src->outer == NULL &&
		!energy_source_open_file(src, &oe))
	{
		refuse_open(ls, src->name, &oe);
		MemoryContextSwitchTo(old);
		MemoryContextReset(ls->file_cxt);
		return;
	}
	if (src->outer != NULL && !member_checked(ls, &fl))
	{
		MemoryContextSwitchTo(old);
		MemoryContextReset(ls->file_cxt);
		return;
	}
	file_begin(ls, &fl);
	for (int attempt = 1; !file_unchanged(ls, &fl); attempt++)
	{
		parse_begin(ls, &fl);
		outcome = parse_records(ls, &fl);
		if (outcome == PARSE_LOADED)
			file_write(ls, &fl);
		parse_end(&fl);
		if (outcome != PARSE_LOST_RACE)
			break;
		file_retry(ls, &fl, attempt);
	}
	file_end(ls, &fl, old);
}

/* ---------------------------------------------------------------------
 * Entry points
 * ---------------------------------------------------------------------
 */

/*
 * on_error as the two words the contract names, in any case.
 */
static OnError
parse_on_error(text *t)
{
	char	   *s = text_to_cstring(t);

	if (pg_strcasecmp(s, "stop") == 0)
		return ON_ERROR_STOP;
	if (pg_strcasecmp(s, "skip") == 0)
		return ON_ERROR_SKIP;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("on_error must be \"stop\" or \"skip\", not \"%s\"", s)));
	return ON_ERROR_STOP;		/* keep compiler quiet */
}

/* What every file of a call shares: SPI, caches, the sink, the buffer. */
static void
load_begin(LoadState *ls, FunctionCallInfo fcinfo, OnError on_error,
		   const char *function)
{
	MemoryContext cxt;

	memset(ls, 0, sizeof(*ls));
	InitMaterializedSRF(fcinfo, 0);
	ls->rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ls->on_error = on_error;
	ls->pos.function = function;
	energy_schema_lookup(&ls->schema, fcinfo);
	ls->reading_relid = energy_relation(&ls->schema, "energy_reading");
	ls->segment_seq = getIdentitySequenceCompat(energy_relation(&ls->schema, "energy_segment"),
												1, false);

	ls->spi_level = energy_spi_connect();
	energy_schema_place(&ls->schema, true);
	energy_horizon_read(&ls->schema);

	/* SPI_connect switched to its own context, which lives until SPI_finish */
	cxt = CurrentMemoryContext;
	ls->call_cxt = cxt;
	ls->file_cxt = AllocSetContextCreate(cxt, "energy load file", ALLOCSET_DEFAULT_SIZES);
	ls->reject_cxt = AllocSetContextCreate(cxt, "energy load reject", ALLOCSET_SMALL_SIZES);
	ls->dict = energy_dictionary_create(&ls->schema, cxt);
	read_units(ls);
	ls->daily = energy_daily_create(cxt);
	ls->sink = energy_sink_open(&ls->schema, &ls->pos);
	/* a 1.0 schema has no superseded marks: its loads compare no copies */
	if (ls->schema.layout->resolver != RESOLVER_NONE)
		ls->overlap = energy_overlap_create(&ls->schema, cxt,
											energy_sink_distributed(ls->sink));
	ls->chunks = energy_chunks_create(ls->sink, cxt);
	ls->readbuf_size = (size_t) energy_read_buffer_kb * 1024;
	ls->readbuf = palloc(ls->readbuf_size);
}

/*
 * The sink first: its last batches go out through the SPI connection's
 * memory, which SPI_finish releases.
 */
static void
load_end(LoadState *ls)
{
	energy_sink_close(ls->sink);
	catalog_writers_finish(ls);
	emit_results(ls);
	energy_spi_finish(ls->spi_level);
}

/* The privilege COPY FROM 'file' asks for. */
static void
check_read_privilege(void)
{
	if (!superuser() && !has_privs_of_role(GetUserId(), ROLE_PG_READ_SERVER_FILES))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to read server files with energy_load"),
				 errdetail("Only roles with privileges of the \"pg_read_server_files\" role may read files on the server."),
				 errhint("Send the content from the client with energy_load_data() instead.")));
}

/*
 * A .gz file: the file inside, under the archive's name without ".gz"
 * (energy_gzip_member_name).  The archive's stat stands for the member's,
 * so an archive found as recorded is opened but not read.  Its
 * buffers live in a context of their own, gone with the file.  In a
 * folder, a member not named *.csv loads only if it is a meter file, as a
 * plain file of that name would.  path is NULL for a client's content.
 */
static void refuse_name(LoadState *ls, const char *name, int sqlstate, const char *why);

static void
load_gzip_source(LoadState *ls, EnergySource *outer, const char *name)
{
	const char *why;
	char	   *member_name = energy_gzip_member_name(name, &why);
	EnergySource member;
	MemoryContext cxt,
				old;
	bool		sniff = ls->sniff;

	if (member_name == NULL)
	{
		refuse_name(ls, name, ERRCODE_INVALID_PARAMETER_VALUE, why);
		return;
	}
	cxt = AllocSetContextCreate(CurrentMemoryContext, "energy archive", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	energy_source_gzip(&member, outer, member_name, 64 * 1024);
	MemoryContextSwitchTo(old);
	ls->sniff = ls->in_folder && !energy_name_is_csv(member_name);
	load_source(ls, &member);
	ls->sniff = sniff;
	MemoryContextDelete(cxt);
}

static void
load_gzip(LoadState *ls, const char *path, const char *name)
{
	EnergySource outer;
	EnergyOpenError oe;

	if (!energy_source_open(&outer, path, name, &oe))
	{
		refuse_open(ls, name, &oe);
		return;
	}
	load_gzip_source(ls, &outer, name);
	energy_source_close(&outer);
}

/*
 * A file of a directory, or the one file named.  A file that cannot be
 * stat'ed or opened is the call's ERROR, or in skip mode one reject; it is
 * opened only if it is not as energy_file recorded it (load_source).
 */
static void
load_path(LoadState *ls, const char *path, const char *name)
{
	EnergySource src;
	EnergyOpenError oe;

	if (energy_name_is_gzip(name))
	{
		load_gzip(ls, path, name);
		return;
	}
	if (!energy_source_stat(&src, path, name, &oe))
	{
		refuse_open(ls, name, &oe);
		return;
	}
	load_source(ls, &src);
	energy_source_close(&src);
}

/*
 * A folder entry whose name is not valid in the database encoding is
 * refused, never stored as it is (its dump could not be restored) nor
 * renamed into another file's identity: the call's ERROR, or in skip mode
 * one reject under the name escaped as \xNN.  So is a name with control
 * characters (energy_name_refusal), as 22023.
 */
static void
refuse_name(LoadState *ls, const char *name, int sqlstate, const char *why)
{
	char	   *escaped = energy_name_escape(name);
	char	   *message = why ? psprintf("file name \"%s\" does not name a file", escaped) :
		psprintf("file name \"%s\" is not valid in encoding \"%s\"",
				 escaped, GetDatabaseEncodingName());
	const char *detail = why ? why : "Rename the file; names are stored as text.";

	if (ls->on_error == ON_ERROR_STOP)
		ereport(ERROR,
				(errcode(sqlstate),
				 errmsg_internal("%s", message),
				 errdetail_internal("%s", detail)));
	catalog_file_reject(ls, escaped, sqlstate, message, detail);
	emit(ls, escaped, NULL, 0, 1, "rejected");
}

/*
 * Whether a folder entry is a regular file itself (lstat: a symbolic link
 * is not).  *.csv entries are opened whatever they are, so that a link or a
 * FIFO named like an export is refused aloud (file.c); other entries that
 * are not regular files are none of the load's business.
 */
static bool
is_regular_file(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/*
 * A folder: every *.csv of it, in name order, so that a directory of one
 * meter's daily exports loads oldest first; and every other regular file
 * whose content is a meter file (AEMO's NEM12 and NEM13 files have any
 * extension).  Other files are skipped: silently in stop mode, listed as
 * rejects in skip mode.
 */
static void
load_directory(LoadState *ls, const char *dirpath)
{
	char	  **names;
	int			n = energy_list_directory(dirpath, &names);

	for (int i = 0; i < n; i++)
	{
		char	   *path;
		const char *base = strrchr(names[i], '\\');
		const char *why;

		/* a backslash ends a folder on Windows: the name is what follows */
		base = base ? base + 1 : names[i];
		if (!energy_name_valid(names[i]))
		{
			refuse_name(ls, names[i], ERRCODE_CHARACTER_NOT_IN_REPERTOIRE, NULL);
			continue;
		}
		if ((why = energy_name_refusal(base)) != NULL)
		{
			refuse_name(ls, names[i], ERRCODE_INVALID_PARAMETER_VALUE, why);
			continue;
		}
		path = psprintf("%s/%s", dirpath, names[i]);
		/* a .gz is opened whatever it is, as a .csv is: refused aloud */
		ls->sniff = !energy_name_is_csv(names[i]) && !energy_name_is_gzip(names[i]);
		ls->in_folder = true;
		if (!ls->sniff || is_regular_file(path))
			load_path(ls, path, base);
		ls->sniff = false;
		ls->in_folder = false;
		pfree(path);
	}
}

/*
 * energy_load(path, on_error): one file, or every *.csv of a folder.
 */
Datum
energy_load(PG_FUNCTION_ARGS)
{
	char	   *path = text_to_cstring(PG_GETARG_TEXT_PP(0));
	OnError		on_error = parse_on_error(PG_GETARG_TEXT_PP(1));
	LoadState	ls;
	struct stat st;

	check_read_privilege();

	if (path[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("path must not be empty")));
	/* the server builds paths in MAXPGPATH buffers: say so, never XX000 */
	if (strlen(path) >= MAXPGPATH - NAMEDATALEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("path is too long"),
				 errdetail("The path has %zu bytes; the server accepts at most %d.",
						   strlen(path), MAXPGPATH - NAMEDATALEN - 1)));
	if (stat(path, &st) < 0)
	{
		bool		too_long = (errno == ENAMETOOLONG);

		ereport(ERROR,
				(too_long ? errcode(ERRCODE_INVALID_PARAMETER_VALUE) : errcode_for_file_access(),
				 errmsg("could not stat file \"%s\": %m", path)));
	}

	load_begin(&ls, fcinfo, on_error, "energy_load");
	if (S_ISDIR(st.st_mode))
	{
		size_t		len = strlen(path);

		while (len > 1 && path[len - 1] == '/')
			path[--len] = '\0';
		load_directory(&ls, path);
	}
	else
		load_path(&ls, path, energy_name_base(path, "path", true));
	load_end(&ls);
	return (Datum) 0;
}

/*
 * energy_load_data(file_name, data, on_error): content sent by a client that
 * cannot place files on the server; the same driver as a file.
 */
Datum
energy_load_data(PG_FUNCTION_ARGS)
{
	char	   *name = energy_name_base(text_to_cstring(PG_GETARG_TEXT_PP(0)),
										"file_name", true);
	bytea	   *data = PG_GETARG_BYTEA_PP(1);
	OnError		on_error = parse_on_error(PG_GETARG_TEXT_PP(2));
	LoadState	ls;
	EnergySource src;

	load_begin(&ls, fcinfo, on_error, "energy_load_data");
	energy_source_from_data(&src, name, VARDATA_ANY(data), VARSIZE_ANY_EXHDR(data));
	if (energy_name_is_gzip(name))
		load_gzip_source(&ls, &src, name);
	else
		load_source(&ls, &src);
	load_end(&ls);
	return (Datum) 0;
}

