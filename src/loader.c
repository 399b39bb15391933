/*-------------------------------------------------------------------------
 *
 * loader.c
 *	  energy_load() and energy_load_data(): the load driver.
 *
 * A load must never lose or double data, so each file goes through the same
 * steps inside the caller's transaction:
 *	1. lock its name, so a concurrent load of the same file waits for us and
 *	   then finds it already loaded;
 *	2. compare with what energy_file holds under that name: same size and
 *	   same SHA-256 means "unchanged" and nothing is written;
 *	3. parse the header; only once the new content is known to be a meter
 *	   file is the old version (if any) deleted;
 *	4. stream the records through the parser into the sink and the per-day
 *	   partials, hashing the bytes as they pass;
 *	5. write the partials and the file's counts once.
 * An ERROR anywhere aborts the whole call; with on_error => 'skip', bad
 * records (and unreadable files of a directory) go to energy_rejects.
 *
 * Files are opened the way a server process must open what a user names:
 * stat first, refuse anything but a regular file (a FIFO would block the
 * backend forever), open non-blocking, and check again with fstat.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/dependency.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "commands/progress.h"
#include "commands/sequence.h"
#include "common/cryptohash.h"
#include "common/hashfn.h"
#include "common/sha2.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/array.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/backend_progress.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "energy.h"

PG_FUNCTION_INFO_V1(energy_load);
PG_FUNCTION_INFO_V1(energy_load_data);

/* Distinguishes our file-name locks from user advisory locks in pg_locks. */
#define ENERGY_LOCK_CLASS	0x454E

/* Longest raw record kept in energy_rejects. */
#define REJECT_RAW_MAX		1000

typedef enum OnError
{
	ON_ERROR_STOP,
	ON_ERROR_SKIP
} OnError;

/*
 * Every statement a load runs per file is prepared once per call: for a
 * directory of many small files (one meter each, the common export), parse
 * and plan time would otherwise cost more than the rows.  %1$s is the
 * extension's schema.
 */
typedef enum PlanId
{
	PLAN_LOOKUP_FILE,
	PLAN_DELETE_REJECTS,
	PLAN_DELETE_READINGS,
	PLAN_DELETE_REGISTERS,
	PLAN_DELETE_DAILY,
	PLAN_DELETE_SEGMENTS,
	PLAN_DELETE_FILE,
	PLAN_INSERT_FILE,
	PLAN_UPDATE_FILE,
	PLAN_INSERT_SEGMENTS,
	PLAN_INSERT_REJECT,
	NUM_PLANS
} PlanId;

typedef struct PlanDef
{
	const char *sql;
	int			nargs;
	Oid			argtypes[5];
} PlanDef;

static const PlanDef plan_defs[NUM_PLANS] = {
	[PLAN_LOOKUP_FILE] = {
		"SELECT file_id, file_size, sha256, format, rows_loaded, rows_rejected "
		"FROM %1$s.energy_file WHERE file_name OPERATOR(pg_catalog.=) $1",
	1, {TEXTOID}},
	[PLAN_DELETE_REJECTS] = {
		"DELETE FROM %1$s.energy_rejects WHERE file_name OPERATOR(pg_catalog.=) $1",
	1, {TEXTOID}},
	[PLAN_DELETE_READINGS] = {
		"DELETE FROM %1$s.energy_reading WHERE segment_id OPERATOR(pg_catalog.=) ANY "
		"(ARRAY(SELECT segment_id FROM %1$s.energy_segment WHERE file_id OPERATOR(pg_catalog.=) $1))",
	1, {INT8OID}},
	[PLAN_DELETE_REGISTERS] = {
		"DELETE FROM %1$s.energy_register WHERE segment_id OPERATOR(pg_catalog.=) ANY "
		"(ARRAY(SELECT segment_id FROM %1$s.energy_segment WHERE file_id OPERATOR(pg_catalog.=) $1))",
	1, {INT8OID}},
	[PLAN_DELETE_DAILY] = {
		"DELETE FROM %1$s.energy_daily d USING %1$s.energy_segment s "
		"WHERE s.file_id OPERATOR(pg_catalog.=) $1 AND d.meter_id OPERATOR(pg_catalog.=) s.meter_id "
		"AND d.channel_id OPERATOR(pg_catalog.=) s.channel_id AND d.file_id OPERATOR(pg_catalog.=) $1",
	1, {INT8OID}},
	[PLAN_DELETE_SEGMENTS] = {
		"DELETE FROM %1$s.energy_segment WHERE file_id OPERATOR(pg_catalog.=) $1",
	1, {INT8OID}},
	[PLAN_DELETE_FILE] = {
		"DELETE FROM %1$s.energy_file WHERE file_id OPERATOR(pg_catalog.=) $1",
	1, {INT8OID}},
	[PLAN_INSERT_FILE] = {
		"INSERT INTO %1$s.energy_file (file_name, file_size, sha256, format) "
		"VALUES ($1, $2, '\\x'::bytea, $3) ON CONFLICT (file_name) DO NOTHING RETURNING file_id",
	3, {TEXTOID, INT8OID, TEXTOID}},
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
};

/* Where a file's bytes come from: the server's file system or the client. */
typedef struct Source
{
	const char *name;			/* base name: the file's identity */
	const char *path;			/* for messages; NULL for client data */
	int			fd;				/* -1 for client data */
	const char *data;			/* client data */
	size_t		pos;			/* read position in client data */
	int64		size;
} Source;

/* What a failed open is, so that skip mode can record it instead. */
typedef struct OpenError
{
	int			sqlerrcode;
	char	   *message;
	char	   *detail;
} OpenError;

typedef struct SegmentKey
{
	int64		meter_id;
	int64		channel_id;
} SegmentKey;

typedef struct SegmentEntry
{
	SegmentKey	key;
	int64		segment_id;
} SegmentEntry;

/* State of one call, shared by all files of a directory. */
typedef struct LoadState
{
	EnergySchema schema;
	OnError		on_error;
	ReturnSetInfo *rsinfo;
	MemoryContext file_cxt;		/* reset after each file */
	EnergyDictionary *dict;
	EnergyDaily *daily;
	EnergySink *sink;
	EnergyChunks *chunks;
	Oid			reading_relid;
	Oid			segment_seq;	/* identity sequence of energy_segment */
	char	   *readbuf;
	size_t		readbuf_size;
	SPIPlanPtr	plans[NUM_PLANS];
} LoadState;

/* State of one file. */
typedef struct FileLoad
{
	Source	   *src;
	EpFormat	format;
	int64		file_id;		/* 0 until registered */
	bool		existed;
	int64		old_file_id;
	int64		old_size;
	bytea	   *old_sha;
	char	   *old_format;
	int64		old_rows;
	int64		old_rejected;
	pg_cryptohash_ctx *hash;	/* NULL when hashed before parsing */
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	uint64		rows;
	uint64		rejected;
	uint64		bytes_read;
	HTAB	   *segments;
	SegmentEntry *last_segment;
} FileLoad;

/* ---------------------------------------------------------------------
 * Conversions from parser values
 * ---------------------------------------------------------------------
 */

/*
 * Files are UTF-8 (the parser has validated that); a database in another
 * encoding gets the text converted, or an error if it cannot hold it.
 */
text *
energy_text(const EpText *t)
{
	if (GetDatabaseEncoding() != PG_UTF8)
	{
		char	   *s = pg_any_to_server(t->ptr, (int) t->len, PG_UTF8);

		if (s != t->ptr)
			return cstring_to_text(s);
	}
	return cstring_to_text_with_len(t->ptr, (int) t->len);
}

/* The parser has checked the calendar, so this cannot go out of range. */
static int32
energy_day(const EpTimestamp *ts)
{
	return date2j(ts->year, ts->month, ts->day) - POSTGRES_EPOCH_JDATE;
}

/* The timestamp of a date/time whose day the caller has already computed. */
static Timestamp
day_timestamp(int32 day, const EpTimestamp *ts)
{
	return (int64) day * USECS_PER_DAY +
		(((int64) ts->hour * MINS_PER_HOUR + ts->minute) * SECS_PER_MINUTE + ts->second) * USECS_PER_SEC +
		ts->usec;
}

static Timestamp
energy_timestamp(const EpTimestamp *ts)
{
	return day_timestamp(energy_day(ts), ts);
}

/* ---------------------------------------------------------------------
 * Parser memory comes from the per-file context
 * ---------------------------------------------------------------------
 */
static void *
ep_palloc(size_t size, void *arg)
{
	return MemoryContextAllocHuge((MemoryContext) arg, size);
}

static void *
ep_repalloc(void *ptr, size_t size, void *arg)
{
	return repalloc_huge(ptr, size);
}

static void
ep_pfree(void *ptr, void *arg)
{
	pfree(ptr);
}

/*
 * Run one of the prepared statements; returns SPI's code after checking it
 * is the expected one.
 */
static int
run_plan(LoadState *ls, PlanId id, Datum *values, const char *nulls, int expected)
{
	int			rc;

	if (ls->plans[id] == NULL)
	{
		const PlanDef *def = &plan_defs[id];

		ls->plans[id] = SPI_prepare(psprintf(def->sql, ls->schema.nspname),
									def->nargs, (Oid *) def->argtypes);
		if (ls->plans[id] == NULL)
			elog(ERROR, "could not prepare \"%s\": %s", def->sql,
				 SPI_result_code_string(SPI_result));
	}
	rc = SPI_execute_plan(ls->plans[id], values, nulls, false, 0);
	if (rc != expected)
		elog(ERROR, "statement \"%s\" failed: %s", plan_defs[id].sql,
			 SPI_result_code_string(rc));
	return rc;
}

/* ---------------------------------------------------------------------
 * Errors
 * ---------------------------------------------------------------------
 */

static const char *
error_phrase(EpErrorCode code)
{
	switch (code)
	{
		case EP_ERR_EMPTY:
			return "file has no header";
		case EP_ERR_HEADER:
			return "header is neither LP nor TOU";
		case EP_ERR_COLUMNS:
			return "wrong number of fields";
		case EP_ERR_QUOTE:
			return "misplaced or unterminated quote";
		case EP_ERR_TOO_LONG:
			return "record too long";
		case EP_ERR_ENCODING:
			return "invalid byte sequence for encoding \"UTF8\"";
		case EP_ERR_REQUIRED:
			return "missing required value";
		case EP_ERR_DATETIME:
			return "invalid date/time";
		case EP_ERR_DATETIME_RANGE:
			return "date/time field value out of range";
		case EP_ERR_NUMBER:
			return "invalid number";
		case EP_ERR_NUMBER_RANGE:
			return "number out of range";
		case EP_ERR_BOOLEAN:
			return "invalid boolean";
		case EP_ERR_INTEGER:
			return "invalid integer";
		case EP_ERR_INTEGER_RANGE:
			return "integer out of range";
		case EP_ERR_NONE:
			break;
	}
	return "invalid input";
}

static int
error_sqlerrcode(EpErrorCode code)
{
	const char *s = ep_sqlstate(code);

	return MAKE_SQLSTATE(s[0], s[1], s[2], s[3], s[4]);
}

/*
 * One message for both modes: the ERROR of 'stop' and the message column of
 * energy_rejects name the file, line, column and value the same way.
 */
static char *
error_message(const char *file_name, const EpError *err)
{
	const char *phrase = error_phrase(err->code);

	if (err->code == EP_ERR_EMPTY)
		return psprintf("file \"%s\" is empty: it has no header line", file_name);
	if (err->code == EP_ERR_HEADER)
		return psprintf("file \"%s\" is neither LP nor TOU: its header is \"%s\"",
						file_name, err->value);
	if (err->column > 0 && err->value[0] == '\0')
		return psprintf("%s in file \"%s\", line " UINT64_FORMAT ", column %d (%s)",
						phrase, file_name, err->line, err->column,
						err->column_name ? err->column_name : "?");
	if (err->column > 0)
		return psprintf("%s \"%s\" in file \"%s\", line " UINT64_FORMAT ", column %d (%s)",
						phrase, err->value, file_name, err->line, err->column,
						err->column_name ? err->column_name : "?");
	if (err->line > 0)
		return psprintf("%s in file \"%s\", line " UINT64_FORMAT ": \"%s\"",
						phrase, file_name, err->line, err->value);
	return psprintf("%s in file \"%s\": \"%s\"", phrase, file_name, err->value);
}

static void
raise_parse_error(const char *file_name, const EpError *err)
{
	ereport(ERROR,
			(errcode(error_sqlerrcode(err->code)),
			 errmsg_internal("%s", error_message(file_name, err)),
			 err->detail[0] ? errdetail_internal("%s", err->detail) : 0,
			 err->code == EP_ERR_HEADER ?
			 errhint("An LP file starts with \"MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Data Value,Units,Status\"; a TOU file with \"MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Energy,Maximum Demand,...\".") : 0));
}

/*
 * Raw text for energy_rejects: cut at a character boundary, and bytes a
 * text column cannot hold (NUL, invalid UTF-8) written as \xNN.
 */
static text *
reject_raw(const char *raw, size_t len)
{
	StringInfoData buf;
	size_t		i = 0;

	initStringInfo(&buf);
	while (i < len && buf.len < REJECT_RAW_MAX)
	{
		unsigned char c = (unsigned char) raw[i];
		int			l = (c < 0x80) ? 1 : pg_utf_mblen((const unsigned char *) raw + i);

		if (c != 0 && i + l <= len && pg_utf8_islegal((const unsigned char *) raw + i, l))
		{
			appendBinaryStringInfo(&buf, raw + i, l);
			i += l;
		}
		else
		{
			appendStringInfo(&buf, "\\x%02X", c);
			i++;
		}
	}
	{
		EpText		t = {buf.data, (size_t) buf.len};

		return energy_text(&t);
	}
}

static void
record_reject(LoadState *ls, const char *file_name, uint64 line,
			  const char *raw, size_t raw_len, int sqlerrcode,
			  const char *message, const char *detail)
{
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};

	values[0] = CStringGetTextDatum(file_name);
	values[1] = Int64GetDatum((int64) line);
	nulls[1] = line > 0 ? ' ' : 'n';
	if (raw != NULL)
		values[2] = PointerGetDatum(reject_raw(raw, raw_len));
	else
		nulls[2] = 'n';
	values[3] = CStringGetTextDatum(unpack_sql_state(sqlerrcode));
	values[4] = CStringGetTextDatum(detail && detail[0] ?
									psprintf("%s: %s", message, detail) : message);
	run_plan(ls, PLAN_INSERT_REJECT, values, nulls, SPI_OK_INSERT);
}

/* ---------------------------------------------------------------------
 * Output
 * ---------------------------------------------------------------------
 */
static void
emit(LoadState *ls, const char *file_name, const char *format, int64 rows,
	 int64 rejected, const char *action)
{
	Datum		values[5];
	bool		nulls[5] = {false, false, false, false, false};

	values[0] = CStringGetTextDatum(file_name);
	if (format)
		values[1] = CStringGetTextDatum(format);
	else
		nulls[1] = true;
	values[2] = Int64GetDatum(rows);
	values[3] = Int64GetDatum(rejected);
	values[4] = CStringGetTextDatum(action);
	tuplestore_putvalues(ls->rsinfo->setResult, ls->rsinfo->setDesc, values, nulls);
}

static const char *
format_name(EpFormat f)
{
	return f == EP_FORMAT_LP ? "LP" : f == EP_FORMAT_TOU ? "TOU" : NULL;
}

/* ---------------------------------------------------------------------
 * Files
 * ---------------------------------------------------------------------
 */

static void
open_error_errno(OpenError *oe, const char *what, const char *path)
{
	int			save = errno;

	oe->sqlerrcode = (save == ENOENT || save == ENOTDIR) ? ERRCODE_UNDEFINED_FILE :
		(save == EACCES || save == EPERM) ? ERRCODE_INSUFFICIENT_PRIVILEGE :
		ERRCODE_IO_ERROR;
	oe->message = psprintf("could not %s file \"%s\": %s", what, path, strerror(save));
	oe->detail = NULL;
}

static const char *
file_kind(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISSOCK(mode))
		return "a socket";
	return "not a regular file";
}

/*
 * Open a regular file without ever blocking: stat refuses FIFOs and devices
 * before open() could wait on them or trigger a device's side effects;
 * O_NONBLOCK covers a file swapped for a FIFO in between, and fstat checks
 * what was really opened.  Returns -1 and fills *oe on failure.
 */
static int
open_regular_file(const char *path, int64 *size, OpenError *oe)
{
	struct stat st;
	int			fd;

	if (stat(path, &st) < 0)
	{
		open_error_errno(oe, "stat", path);
		return -1;
	}
	if (!S_ISREG(st.st_mode))
	{
		oe->sqlerrcode = ERRCODE_WRONG_OBJECT_TYPE;
		oe->message = psprintf("\"%s\" is not a regular file", path);
		oe->detail = psprintf("It is %s; only regular files are loaded.", file_kind(st.st_mode));
		return -1;
	}
	fd = OpenTransientFile(path, O_RDONLY | PG_BINARY | O_NONBLOCK);
	if (fd < 0)
	{
		open_error_errno(oe, "open", path);
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
	{
		CloseTransientFile(fd);
		oe->sqlerrcode = ERRCODE_WRONG_OBJECT_TYPE;
		oe->message = psprintf("\"%s\" is not a regular file", path);
		oe->detail = pstrdup("It changed while it was being opened.");
		return -1;
	}
	*size = (int64) st.st_size;
	return fd;
}

/* Read the next chunk; 0 at the end.  Interruptible between reads. */
static size_t
source_read(LoadState *ls, Source *src)
{
	CHECK_FOR_INTERRUPTS();
	if (src->fd < 0)
	{
		size_t		n = Min(ls->readbuf_size, (size_t) src->size - src->pos);

		memcpy(ls->readbuf, src->data + src->pos, n);
		src->pos += n;
		return n;
	}
	for (;;)
	{
		ssize_t		n = read(src->fd, ls->readbuf, ls->readbuf_size);

		if (n >= 0)
			return (size_t) n;
		if (errno != EINTR)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not read file \"%s\": %m", src->path)));
		CHECK_FOR_INTERRUPTS();
	}
}

static void
source_rewind(Source *src)
{
	if (src->fd < 0)
		src->pos = 0;
	else if (lseek(src->fd, 0, SEEK_SET) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not seek in file \"%s\": %m", src->path)));
}

static pg_cryptohash_ctx *
sha256_begin(void)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);

	if (ctx == NULL || pg_cryptohash_init(ctx) < 0)
		elog(ERROR, "could not initialise SHA-256: %s", pg_cryptohash_error(ctx));
	return ctx;
}

static void
sha256_update(pg_cryptohash_ctx *ctx, const char *data, size_t len)
{
	if (pg_cryptohash_update(ctx, (const uint8 *) data, len) < 0)
		elog(ERROR, "could not compute SHA-256: %s", pg_cryptohash_error(ctx));
}

static void
sha256_end(pg_cryptohash_ctx *ctx, uint8 *digest)
{
	if (pg_cryptohash_final(ctx, digest, PG_SHA256_DIGEST_LENGTH) < 0)
		elog(ERROR, "could not compute SHA-256: %s", pg_cryptohash_error(ctx));
	pg_cryptohash_free(ctx);
}

/* Hash the whole source ahead of parsing: only when it may be unchanged. */
static void
source_digest(LoadState *ls, Source *src, uint8 *digest)
{
	pg_cryptohash_ctx *ctx = sha256_begin();
	size_t		n;

	while ((n = source_read(ls, src)) > 0)
		sha256_update(ctx, ls->readbuf, n);
	sha256_end(ctx, digest);
	source_rewind(src);
}

/* ---------------------------------------------------------------------
 * energy_file bookkeeping
 * ---------------------------------------------------------------------
 */

/*
 * Serialise loads of one file name until commit.  A transaction-level
 * lock, in the advisory space but with a class of its own.
 */
static void
lock_file_name(const char *name)
{
	LOCKTAG		tag;
	uint64		h = hash_bytes_extended((const unsigned char *) name, (int) strlen(name), 0);

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) (h >> 32), (uint32) h,
						 ENERGY_LOCK_CLASS);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
}

static void
lookup_existing(LoadState *ls, FileLoad *fl)
{
	Datum		values[1];
	bool		isnull;
	HeapTuple	tup;
	TupleDesc	desc;

	values[0] = CStringGetTextDatum(fl->src->name);
	run_plan(ls, PLAN_LOOKUP_FILE, values, NULL, SPI_OK_SELECT);
	fl->existed = (SPI_processed > 0);
	if (!fl->existed)
		return;
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	fl->old_file_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	fl->old_size = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
	fl->old_sha = DatumGetByteaPCopy(SPI_getbinval(tup, desc, 3, &isnull));
	fl->old_format = SPI_getvalue(tup, desc, 4);
	fl->old_rows = DatumGetInt64(SPI_getbinval(tup, desc, 5, &isnull));
	fl->old_rejected = DatumGetInt64(SPI_getbinval(tup, desc, 6, &isnull));
	SPI_freetuptable(SPI_tuptable);
}

static void
delete_rejects(LoadState *ls, const char *name)
{
	Datum		values[1] = {CStringGetTextDatum(name)};

	run_plan(ls, PLAN_DELETE_REJECTS, values, NULL, SPI_OK_DELETE);
}

/*
 * Remove every trace of a file's earlier version.  Readings are found
 * through their segments (BRIN on segment_id), so this costs the file's
 * size, not the table's.
 */
static void
delete_file(LoadState *ls, int64 file_id)
{
	Datum		values[1] = {Int64GetDatum(file_id)};

	run_plan(ls, PLAN_DELETE_READINGS, values, NULL, SPI_OK_DELETE);
	run_plan(ls, PLAN_DELETE_REGISTERS, values, NULL, SPI_OK_DELETE);
	run_plan(ls, PLAN_DELETE_DAILY, values, NULL, SPI_OK_DELETE);
	run_plan(ls, PLAN_DELETE_SEGMENTS, values, NULL, SPI_OK_DELETE);
	run_plan(ls, PLAN_DELETE_FILE, values, NULL, SPI_OK_DELETE);
}

/*
 * Called once the header has shown that the new content is a meter file:
 * only now is the old version removed and the new one registered.
 */
static void
register_file(LoadState *ls, FileLoad *fl, EpFormat format)
{
	Datum		values[3];
	bool		isnull;

	delete_rejects(ls, fl->src->name);
	if (fl->existed)
		delete_file(ls, fl->old_file_id);

	values[0] = CStringGetTextDatum(fl->src->name);
	values[1] = Int64GetDatum(fl->src->size);
	values[2] = CStringGetTextDatum(format_name(format));
	run_plan(ls, PLAN_INSERT_FILE, values, NULL, SPI_OK_INSERT_RETURNING);

	/*
	 * The name lock makes a concurrent load of the same file wait for us;
	 * under READ COMMITTED it then sees our row.  Under REPEATABLE READ or
	 * SERIALIZABLE its snapshot predates our commit, so it finds the row only
	 * here: that is a serialization failure, to be retried.
	 */
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not serialize access to file \"%s\" due to a concurrent load",
						fl->src->name),
				 errhint("Retry the load; under READ COMMITTED a concurrent load of the same file waits and then finds it loaded.")));
	fl->file_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_freetuptable(SPI_tuptable);
	fl->format = format;
	energy_daily_begin(ls->daily, ls->sink, fl->file_id);
}

/*
 * Segments get their ids from the identity sequence as they are met, and
 * their rows are written once, at the end of the file, in one statement.
 */
static int64
segment_id(LoadState *ls, FileLoad *fl, int64 meter_id, int64 channel_id)
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

/*
 * Written in batches of at most SEGMENT_BATCH, so that a file of a million
 * new meters does not build (and plan) arrays of a million segments at once.
 */
#define SEGMENT_BATCH 8192

static void
write_segments(LoadState *ls, FileLoad *fl)
{
	Datum		seg[SEGMENT_BATCH],
				meter[SEGMENT_BATCH],
				channel[SEGMENT_BATCH];
	Datum		values[4];
	HASH_SEQ_STATUS status;
	SegmentEntry *e;
	int			i = 0;
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "energy segments batch",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);

	values[1] = Int64GetDatum(fl->file_id);
	hash_seq_init(&status, fl->segments);
	do
	{
		e = hash_seq_search(&status);
		if (e != NULL)
		{
			seg[i] = Int64GetDatum(e->segment_id);
			meter[i] = Int64GetDatum(e->key.meter_id);
			channel[i] = Int64GetDatum(e->key.channel_id);
			i++;
		}
		if (i > 0 && (i == SEGMENT_BATCH || e == NULL))
		{
			values[0] = PointerGetDatum(construct_array(seg, i, INT8OID, 8, true, TYPALIGN_DOUBLE));
			values[2] = PointerGetDatum(construct_array(meter, i, INT8OID, 8, true, TYPALIGN_DOUBLE));
			values[3] = PointerGetDatum(construct_array(channel, i, INT8OID, 8, true, TYPALIGN_DOUBLE));
			run_plan(ls, PLAN_INSERT_SEGMENTS, values, NULL, SPI_OK_INSERT);
			MemoryContextReset(cxt);
			i = 0;
		}
	} while (e != NULL);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
}

static void
finish_file(LoadState *ls, FileLoad *fl)
{
	Datum		values[5];
	bytea	   *sha = palloc(VARHDRSZ + PG_SHA256_DIGEST_LENGTH);

	write_segments(ls, fl);

	SET_VARSIZE(sha, VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	memcpy(VARDATA(sha), fl->digest, PG_SHA256_DIGEST_LENGTH);
	values[0] = Int64GetDatum(fl->file_id);
	values[1] = PointerGetDatum(sha);
	values[2] = Int64GetDatum((int64) fl->rows);
	values[3] = Int64GetDatum((int64) fl->rejected);
	values[4] = Int64GetDatum((int64) fl->bytes_read);
	run_plan(ls, PLAN_UPDATE_FILE, values, NULL, SPI_OK_UPDATE);
	if (SPI_processed != 1)
		elog(ERROR, "energy_file row of \"%s\" vanished during the load", fl->src->name);
}

/* ---------------------------------------------------------------------
 * The load of one file
 * ---------------------------------------------------------------------
 */

static inline void
load_row(LoadState *ls, FileLoad *fl, const EpRow *row)
{
	int64		meter_id = energy_meter_id(ls->dict, &row->meter, &row->serial, &row->plant);
	int64		channel_id = energy_channel_id(ls->dict, &row->data_type, &row->units);
	int64		seg = segment_id(ls, fl, meter_id, channel_id);
	int32		day = energy_day(&row->at);

	energy_daily_add(ls->daily, meter_id, channel_id, day, &row->value);

	if (fl->format == EP_FORMAT_LP)
	{
		EnergyReading r;

		r.meter_id = meter_id;
		r.segment_id = seg;
		r.at = day_timestamp(day, &row->at);
		r.value = row->value.value;
		r.status = &row->status;
		energy_chunks_add(ls->chunks, &r, day);
	}
	else
	{
		EnergyRegister g;

		g.meter_id = meter_id;
		g.segment_id = seg;
		g.row = row;
		g.at = day_timestamp(day, &row->at);
		g.max_demand_at_null = row->max_demand_at.is_null;
		g.max_demand_at = g.max_demand_at_null ? 0 : energy_timestamp(&row->max_demand_at);
		g.reset_at_null = row->reset_at.is_null;
		g.reset_at = g.reset_at_null ? 0 : energy_timestamp(&row->reset_at);
		energy_sink_register(ls->sink, &g);
	}
	fl->rows++;
}

static void
progress_start(LoadState *ls, Source *src)
{
	const int	index[] = {PROGRESS_COPY_COMMAND, PROGRESS_COPY_TYPE, PROGRESS_COPY_BYTES_TOTAL};
	int64		val[3];

	pgstat_progress_start_command(PROGRESS_COMMAND_COPY, ls->reading_relid);
	val[0] = PROGRESS_COPY_COMMAND_FROM;
	val[1] = src->fd >= 0 ? PROGRESS_COPY_TYPE_FILE : PROGRESS_COPY_TYPE_CALLBACK;
	val[2] = src->size;
	pgstat_progress_update_multi_param(3, index, val);
}

static void
progress_update(FileLoad *fl)
{
	const int	index[] = {PROGRESS_COPY_BYTES_PROCESSED, PROGRESS_COPY_TUPLES_PROCESSED,
	PROGRESS_COPY_TUPLES_EXCLUDED};
	int64		val[3];

	val[0] = (int64) fl->bytes_read;
	val[1] = (int64) fl->rows;
	val[2] = (int64) fl->rejected;
	pgstat_progress_update_multi_param(3, index, val);
}

static void
load_source(LoadState *ls, Source *src)
{
	FileLoad	fl;
	EpAllocator alloc;
	EpParser   *parser;
	EpRow		row;
	EpError		err;
	HASHCTL		hctl;
	uint32		tick = 0;
	MemoryContext old = MemoryContextSwitchTo(ls->file_cxt);

	memset(&fl, 0, sizeof(fl));
	fl.src = src;

	lock_file_name(src->name);
	lookup_existing(ls, &fl);
	if (fl.existed && fl.old_size == src->size)
	{
		source_digest(ls, src, fl.digest);
		if (VARSIZE_ANY_EXHDR(fl.old_sha) == PG_SHA256_DIGEST_LENGTH &&
			memcmp(VARDATA_ANY(fl.old_sha), fl.digest, PG_SHA256_DIGEST_LENGTH) == 0)
		{
			emit(ls, src->name, fl.old_format, fl.old_rows, fl.old_rejected, "unchanged");
			MemoryContextSwitchTo(old);
			MemoryContextReset(ls->file_cxt);
			return;
		}
	}
	else
		fl.hash = sha256_begin();

	hctl.keysize = sizeof(SegmentKey);
	hctl.entrysize = sizeof(SegmentEntry);
	hctl.hcxt = ls->file_cxt;
	fl.segments = hash_create("energy segments", 64, &hctl,
							  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	alloc.alloc = ep_palloc;
	alloc.realloc = ep_repalloc;
	alloc.free = ep_pfree;
	alloc.arg = ls->file_cxt;
	parser = ep_create(&alloc, (size_t) energy_max_record_bytes);

	progress_start(ls, src);

	for (;;)
	{
		EpStatus	st = ep_next(parser, &row, &err);

		if (st == EP_NEED_MORE)
		{
			size_t		n = source_read(ls, src);

			if (n == 0)
				ep_finish(parser);
			else
			{
				if (fl.hash)
					sha256_update(fl.hash, ls->readbuf, n);
				ep_push(parser, ls->readbuf, n);
				fl.bytes_read += n;
				progress_update(&fl);
			}
			continue;
		}

		if (st == EP_ERROR && (err.code == EP_ERR_EMPTY || err.code == EP_ERR_HEADER))
		{
			char	   *msg = error_message(src->name, &err);

			if (ls->on_error == ON_ERROR_STOP)
				raise_parse_error(src->name, &err);
			/* the old version, if any, stays: the new one is not a meter file */
			delete_rejects(ls, src->name);
			record_reject(ls, src->name, err.line, err.raw, err.raw_len,
						  error_sqlerrcode(err.code), msg, err.detail);
			emit(ls, src->name, NULL, 0, 1, "rejected");
			if (fl.hash)
				pg_cryptohash_free(fl.hash);
			pgstat_progress_end_command();
			MemoryContextSwitchTo(old);
			MemoryContextReset(ls->file_cxt);
			return;
		}

		if (fl.file_id == 0)
			register_file(ls, &fl, ep_format(parser));

		if (st == EP_END)
			break;

		if ((++tick & 1023) == 0)
		{
			CHECK_FOR_INTERRUPTS();
			progress_update(&fl);
		}

		if (st == EP_ERROR)
		{
			if (ls->on_error == ON_ERROR_STOP)
				raise_parse_error(src->name, &err);
			record_reject(ls, src->name, err.line, err.raw, err.raw_len,
						  error_sqlerrcode(err.code), error_message(src->name, &err),
						  err.detail);
			fl.rejected++;
			continue;
		}

		load_row(ls, &fl, &row);
	}

	if (fl.hash)
		sha256_end(fl.hash, fl.digest);
	energy_chunks_flush(ls->chunks);
	energy_sink_flush(ls->sink);
	energy_daily_end(ls->daily);
	finish_file(ls, &fl);
	progress_update(&fl);
	pgstat_progress_end_command();

	emit(ls, src->name, format_name(fl.format), (int64) fl.rows, (int64) fl.rejected,
		 fl.existed ? "replaced" : "loaded");

	ep_destroy(parser);
	MemoryContextSwitchTo(old);
	MemoryContextReset(ls->file_cxt);
}

/* ---------------------------------------------------------------------
 * Entry points
 * ---------------------------------------------------------------------
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

static void
load_begin(LoadState *ls, FunctionCallInfo fcinfo, OnError on_error)
{
	MemoryContext cxt;

	memset(ls, 0, sizeof(*ls));
	InitMaterializedSRF(fcinfo, 0);
	ls->rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ls->on_error = on_error;
	energy_schema_lookup(&ls->schema, fcinfo);
	ls->reading_relid = energy_relation(&ls->schema, "energy_reading");
	ls->segment_seq = getIdentitySequence(energy_relation(&ls->schema, "energy_segment"),
										  1, false);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/* SPI_connect switched to its own context, which lives until SPI_finish */
	cxt = CurrentMemoryContext;
	ls->file_cxt = AllocSetContextCreate(cxt, "energy load file", ALLOCSET_DEFAULT_SIZES);
	ls->dict = energy_dictionary_create(&ls->schema, cxt);
	ls->daily = energy_daily_create(cxt);
	ls->sink = energy_sink_open(&ls->schema);
	ls->chunks = energy_chunks_create(ls->sink, cxt);
	ls->readbuf_size = (size_t) energy_read_buffer_kb * 1024;
	ls->readbuf = palloc(ls->readbuf_size);
}

static void
load_end(LoadState *ls)
{
	energy_sink_close(ls->sink);
	SPI_finish();
}

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

/* A file of a directory, or the one file named. */
static void
load_path(LoadState *ls, const char *path, const char *name)
{
	Source		src;
	OpenError	oe;

	memset(&src, 0, sizeof(src));
	src.name = name;
	src.path = path;
	src.fd = open_regular_file(path, &src.size, &oe);
	if (src.fd < 0)
	{
		if (ls->on_error == ON_ERROR_STOP)
			ereport(ERROR,
					(errcode(oe.sqlerrcode),
					 errmsg_internal("%s", oe.message),
					 oe.detail ? errdetail_internal("%s", oe.detail) : 0));
		record_reject(ls, name, 0, NULL, 0, oe.sqlerrcode, oe.message, oe.detail);
		emit(ls, name, NULL, 0, 1, "rejected");
		return;
	}
	load_source(ls, &src);
	if (CloseTransientFile(src.fd) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not close file \"%s\": %m", path)));
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

static bool
is_csv_name(const char *name)
{
	size_t		len = strlen(name);

	return len > 4 && name[0] != '.' && pg_strcasecmp(name + len - 4, ".csv") == 0;
}

/*
 * The seed's /load-data: every *.csv of a folder, in name order, so that a
 * directory of one meter's daily exports loads oldest first.
 */
static void
load_directory(LoadState *ls, const char *dirpath)
{
	DIR		   *dir = AllocateDir(dirpath);
	struct dirent *de;
	char	  **names = NULL;
	int			n = 0,
				cap = 0;

	while ((de = ReadDir(dir, dirpath)) != NULL)
	{
		if (!is_csv_name(de->d_name))
			continue;
		if (n == cap)
		{
			cap = cap ? cap * 2 : 64;
			names = names ? repalloc(names, sizeof(char *) * cap) : palloc(sizeof(char *) * cap);
		}
		names[n++] = pstrdup(de->d_name);
	}
	FreeDir(dir);

	if (n > 1)
		qsort(names, n, sizeof(char *), name_cmp);
	for (int i = 0; i < n; i++)
		load_path(ls, psprintf("%s/%s", dirpath, names[i]), names[i]);
}

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
	if (stat(path, &st) < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat file \"%s\": %m", path)));

	load_begin(&ls, fcinfo, on_error);
	if (S_ISDIR(st.st_mode))
	{
		size_t		len = strlen(path);

		while (len > 1 && path[len - 1] == '/')
			path[--len] = '\0';
		load_directory(&ls, path);
	}
	else
	{
		const char *slash = strrchr(path, '/');

		load_path(&ls, path, slash ? slash + 1 : path);
	}
	load_end(&ls);
	return (Datum) 0;
}

Datum
energy_load_data(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	bytea	   *data = PG_GETARG_BYTEA_PP(1);
	OnError		on_error = parse_on_error(PG_GETARG_TEXT_PP(2));
	LoadState	ls;
	Source		src;

	if (name[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("file_name must not be empty")));

	load_begin(&ls, fcinfo, on_error);
	memset(&src, 0, sizeof(src));
	src.name = name;
	src.path = NULL;
	src.fd = -1;
	src.data = VARDATA_ANY(data);
	src.size = VARSIZE_ANY_EXHDR(data);
	load_source(&ls, &src);
	load_end(&ls);
	return (Datum) 0;
}
