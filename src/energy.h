/*-------------------------------------------------------------------------
 *
 * energy.h
 *	  Declarations shared by the backend side of the energy extension.
 *
 * A load, in data-flow order (compare copyfromparse.c's picture):
 *
 *	file or client bytes --> the parser's buffer --> parser --> EpRow --> row check
 *	  --> dictionaries (meter, channel ids) --> chunks (LP) or registers (TOU)
 *	  --> sink (bulk insert) ; and, per row, --> partials --> sink
 *
 *	energy_source_read()   reads the file straight into the parser's buffer
 *	                       (ep_reserve(), ep_commit()) (file.c)
 *	ep_next()              splits the bytes into records and fields and
 *	                       decodes them (parser.c and parse_*.c: pure C,
 *	                       no server)
 *	energy_row_check()     refuses a row the tables cannot hold, before any
 *	                       of it is written (glue.c)
 *	energy_meter_id(),     give each row its dictionary ids
 *	energy_channel_id()    (dictionary.c)
 *	energy_chunks_add()    packs an LP reading into its day's chunk (chunk.c)
 *	energy_block_make()    encodes a chunk's readings as one block (block.c,
 *	                       codec.c)
 *	energy_sink_*()        form tuples and bulk-insert them (sink.c)
 *	energy_daily_add()     adds the value to its per-day partial; written
 *	                       through the sink per file, with the meter-days
 *	                       it covers into the change log (aggregate.c)
 *	energy_overlap_check() remembers each partial written; at the end of
 *	                       the call, under the meters' locks (lock.c), the
 *	                       ones another file shares are resolved by
 *	                       energy_resolve(): the copy loaded last counts
 *	                       (overlap.c)
 *
 * energy_populate_view() then rewrites the rows of energy_data_view and
 * energy_channel_view of the meter-days in the change log (a full refresh
 * the first time), and energy_get() and energy_get_channels() answer from
 * them (view.c, lookup.c).
 *
 * The file map, in the same order.  Calls go down the list; a few leaves
 * serve every stage wherever they are listed: energy.c (the call's
 * context), glue.c (the parser's values and errors), sum.c (exact sums),
 * spi.c (SQL from C) and citus.c (where the tables live).  Nothing calls
 * back up into the driver:
 *
 *	energy.c		module init, settings, the extension's schema
 *	loader.c		the driver: energy_load(), energy_load_data(); per file:
 *					look up and lock its name, compare, parse, write, report
 *	catalog.c		the file catalogue (loader_int.h): energy_file, segments,
 *					rejects, the end of a call under the writers' locks,
 *					energy_unload()
 *	file.c			the file stage: safe open, folder listing, read, SHA-256
 *	parser.c		the parser's driver (parser.h, server-free): format
 *					detection, then each format's routine (parser_int.h)
 *	parse_csv.c		  the byte scanner: records, fields, quoting, line ends
 *	parse_value.c	  texts into values: decimals, dates, times
 *	parse_lptou.c	  LP and TOU: header names, the column table
 *	parse_nem.c		  NEM12 and NEM13: the 100-900 records
 *	glue.c			the parser's seam with the server: its allocator, its
 *					values as Datums, its errors as ereport()s, error context
 *					and rejects, and the check that a row fits the tables
 *	dictionary.c	meter and channel ids
 *	chunk.c			LP readings packed per meter, channel and day
 *	block.c			a chunk's stored form: its encoded block, and the SQL
 *					functions that read and re-mark blocks
 *	codec.c			the block encoding (codec.h), server-free
 *	sum.c			the exact sum of decimals, a leaf the partials and the
 *					overlap stage's rewrite both use
 *	aggregate.c		per-day partial aggregates and the meter-days they cover
 *	overlap.c		one reading, one value: partials other files share; on
 *					one server or Citus, as its placement chosen per call
 *	resolve.c		their copies compared, marked and summed in one pass, in C
 *	lock.c			the writers' lock protocol: one global order of meter-day locks
 *	forget.c		energy_forget(): the readings of days before a horizon
 *					removed, their partials kept; the horizon writers read
 *	sink.c			the sink: each table's path, the direct bulk insert or
 *					the routed INSERT of a Citus table, chosen per call
 *	citus.c			where the tables live (one server or Citus), and the
 *					statements run on each shard
 *	spi.c			SQL from C: statements prepared, run and checked, and
 *					the arrays their parameters are
 *	view.c			the views: populated or not; energy_populate_view(),
 *					full or incremental, from energy_daily or (on Citus)
 *					a stage of it
 *	lookup.c		energy_get(), energy_get_channels(), with staleness from
 *					the change log
 *	billing.c		billing figures in local time: energy_tou() and
 *					energy_demand() from the stored blocks, per meter; the
 *					zones of files and tariffs, checked
 *
 * This header is the seam between them; the parser (parser.h) stays
 * server-free.  pg_compat.h holds what differs between PostgreSQL 15 and
 * 19: a call that changed is made through its wrapper there.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ENERGY_H
#define ENERGY_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "common/cryptohash.h"
#include "utils/date.h"
#include "utils/hsearch.h"
#include "utils/timestamp.h"
#include "utils/rel.h"

#include "parser.h"
#include "codec.h"
#include "pg_compat.h"

/* Settings (energy.c) */
extern int	energy_batch_rows;
extern int	energy_max_record_bytes;
extern int	energy_read_buffer_kb;
extern int	energy_max_inflated_kb;
extern bool energy_resolve_in_sql;
extern char *energy_file_time_zone;

/*
 * How one version of the extension's SQL objects lays its tables out: one
 * row per schema version this library serves (energy.c's served_versions).
 * A newer library serves an older schema as that version behaved until
 * ALTER EXTENSION energy UPDATE (as contrib's pg_stat_statements keeps its
 * old entry points); every stage reads what it needs of the layout here,
 * and none asks the catalog, counts columns or probes for a relation to
 * find out.  Dropping a version is deleting its row and the code that
 * only its row selects.
 */
typedef enum EnergyReadingForm
{
	READING_ARRAYS,				/* 1.0: at, value and status arrays */
	READING_ARRAYS_LINE,		/* 1.1: the same, with line and superseded */
	READING_BLOCK				/* 1.2: one encoded block, marks inside */
} EnergyReadingForm;

typedef enum EnergyResolver
{
	RESOLVER_NONE,				/* 1.0: copies are never compared */
	RESOLVER_SQL_1_1,			/* 1.1's energy_resolve(): every copy */
	RESOLVER_COUNTING			/* 1.2: only the copies that count: resolve.c,
								 * or energy_resolve() for register reads and
								 * on Citus */
} EnergyResolver;

typedef struct EnergyLayout
{
	int			version;		/* major * 100 + minor */
	EnergyReadingForm reading_form;
	int			reading_natts;	/* columns, dropped ones included */
	AttrNumber	reading_line;	/* energy_reading's line, or 0 */
	AttrNumber	reading_block;	/* energy_reading's block, or 0 */
	int			register_natts;
	int			daily_natts;
	bool		marks;			/* readings and register reads carry their line
								 * and superseded mark, partials their flagged
								 * count and interval */
	bool		change_log;		/* energy_change: incremental populate,
								 * staleness per meter-day */
	bool		unit_table;		/* energy_unit and energy_channel_view */
	bool		daily_day_first;	/* energy_daily's key is (day, meter,
									 * channel), not (meter, day, channel) */
	EnergyResolver resolver;
	int			load_result_natts;	/* energy_load's result: 6 has
									 * rows_replacing */
	int			chunk_max;		/* readings per energy_reading row */
	bool		file_time_zone; /* energy_file records each file's zone */
	bool		horizon;		/* energy_horizon: readings before its day are
								 * forgotten (energy_forget, forget.c) */
	bool		file_stat;		/* energy_file records each server file's
								 * size, mtime, ctime and inode, so that a
								 * file found as recorded is unchanged
								 * without being read */
} EnergyLayout;

/* Where the tables live: asked once per call (energy_schema_place). */
typedef enum EnergyPlacement
{
	PLACEMENT_UNKNOWN = 0,
	PLACEMENT_ONE_SERVER,
	PLACEMENT_CITUS
} EnergyPlacement;

/*
 * A call's context: where the extension lives, which schema version it
 * has (read once, energy_schema_lookup) and so its layout, and where its
 * tables live (asked once, energy_schema_place).  Built at the start of
 * each call, since the extension may be updated, or dropped and created
 * again in another schema, between calls.
 */
typedef struct EnergySchema
{
	Oid			nspid;
	const char *nspname;		/* quoted, ready to paste into SQL */
	int			version;		/* installed schema, ENERGY_SCHEMA_1_1 for
								 * 1.1 */
	const EnergyLayout *layout; /* that version's row of served_versions */
	EnergyPlacement placement;	/* PLACEMENT_UNKNOWN until placed */
	DateADT		horizon;		/* readings before this day are forgotten:
								 * read by a writer (energy_horizon_read),
								 * else DATEVAL_NOBEGIN */
} EnergySchema;

/*
 * Versions of the extension's SQL objects, as major * 100 + minor.  Code
 * that depends on what a version added reads the layout, or asks for a
 * version by name through the helpers below, never by a bare number.
 */
#define ENERGY_SCHEMA_1_0 100
#define ENERGY_SCHEMA_1_1 101
#define ENERGY_SCHEMA_1_2 102	/* the writers' protocol, client forms */
#define ENERGY_SCHEMA_1_3 103	/* the month-end release */
/* The schema version this library was built for (energy.control's). */
#define ENERGY_SCHEMA_VERSION ENERGY_SCHEMA_1_3

extern void energy_schema_lookup(EnergySchema *schema, FunctionCallInfo fcinfo);
extern void energy_schema_lookup_nsp(EnergySchema *schema, Oid nspid);
extern void energy_schema_place(EnergySchema *schema, bool writer);
extern int	energy_schema_version(EnergySchema *schema);
extern int	energy_plan_probes(void);
extern bool energy_schema_at_least(EnergySchema *schema, int version);

/*
 * 1.1 added the change log (energy_change) with incremental populate and
 * staleness per meter-day, superseded copies of readings, and
 * energy_channel_view with energy_get_channels(); a 1.0 schema refreshes in
 * full and tells staleness from the snapshot of its last refresh.
 */
#define energy_schema_has_change_log(schema) ((schema)->layout->change_log)
#define energy_schema_has_channel_view(schema) ((schema)->layout->unit_table)

extern void energy_require_schema(EnergySchema *schema, int version,
								  const char *what);
extern Oid	energy_relation(const EnergySchema *schema, const char *relname);

/* Tables that Citus distributes (citus.c) */
extern bool energy_citus_table(Oid relid);
extern bool energy_distributed(const EnergySchema *schema);
extern void energy_citus_sequential(void);
/* SQL from C (spi.c) */
extern bool energy_citus_installed(void);
extern int	energy_spi_connect(void);
extern void energy_spi_finish(int nestlevel);
extern struct _SPI_plan *energy_prepare(const char *sql, int nargs, Oid *argtypes);
extern void energy_spi_run(struct _SPI_plan *plan, Datum *args, const char *nulls,
						   int expected, const char *what);
extern void energy_spi_exec(const char *sql, int nargs, Oid *argtypes, Datum *args,
							const char *nulls, bool read_only, int expected,
							const char *what);
extern Datum energy_array(Datum *elems, bool *nulls, int n, Oid elemtype);

/*
 * Hash of up to three small integer ids (three of meter, channel, segment
 * and day, or fewer with zeros for the rest).  They
 * are consecutive numbers and simplehash indexes by the low bits, so every
 * key bit must reach them: multiply each by an odd constant, then finish
 * with murmur's 64-bit mixer.
 */
static inline uint32
energy_hash_ids(uint64 a, uint64 b, uint64 c)
{
	uint64		h = a * UINT64CONST(0x9E3779B97F4A7C15);

	h ^= b * UINT64CONST(0xC2B2AE3D27D4EB4F);
	h ^= c * UINT64CONST(0x165667B19E3779F9);

	h ^= h >> 33;
	h *= UINT64CONST(0xff51afd7ed558ccd);
	h ^= h >> 33;
	h *= UINT64CONST(0xc4ceb9fe1a85ec53);
	h ^= h >> 33;
	return (uint32) h;
}

/* Dictionaries (dictionary.c) */
typedef struct EnergyDictionary EnergyDictionary;

extern EnergyDictionary *energy_dictionary_create(const EnergySchema *schema,
												  MemoryContext cxt);
extern int64 energy_meter_id(EnergyDictionary *dict, const EpText *meter,
							 const EpText *serial, const EpText *plant);
extern int64 energy_channel_id(EnergyDictionary *dict, const EpText *data_type,
							   const EpText *units);

/*
 * An exact sum of decimals (sum.c): the values the parser gave
 * exactly, at up to 9 places, in a 128-bit integer of units of 10^-9; the
 * others in a compensated extended-precision sum beside it.
 */
typedef struct EnergySum
{
	int128		fixed;
	long double float_sum;
	long double float_comp;
	bool		has_float;
} EnergySum;

extern void energy_sum_add(EnergySum *s, const EpDecimal *value);
extern Datum energy_sum_numeric(const EnergySum *s);

/* Per-day partial aggregates (aggregate.c) */
typedef struct EnergyDaily EnergyDaily;

typedef struct EnergySink EnergySink;
typedef struct EnergyOverlap EnergyOverlap;

extern EnergyDaily *energy_daily_create(MemoryContext cxt);
extern void energy_daily_begin(EnergyDaily *daily, EnergySink *sink,
							   EnergyOverlap *overlap, int64 file_id);
extern void energy_daily_add(EnergyDaily *daily, int64 meter_id,
							 int64 channel_id, int32 day, Timestamp at,
							 const EpDecimal *value, bool flagged,
							 int32 interval);
extern void energy_daily_end(EnergyDaily *daily);

/*
 * Overlaps: one reading, one value (overlap.c).  Every partial a call writes
 * is a candidate; at the end of the call, under the locks of its meters
 * (lock.c), the candidates another file shares are resolved by
 * energy_resolve(), then the keys of the old versions the call removed.
 * energy_daily_begin() tells the overlap stage whose partials come next.
 */
extern EnergyOverlap *energy_overlap_create(EnergySchema *schema,
											MemoryContext cxt, bool distributed);
extern void energy_overlap_begin(EnergyOverlap *o, int64 file_id);
extern void energy_overlap_check(EnergyOverlap *o, int64 meter_id, int32 day,
								 int64 channel_id, int32 part, bool suspect);
extern void energy_overlap_add(EnergyOverlap *o, int64 meter_id, int32 day,
							   int64 channel_id, bool restore);
typedef struct EnergyLockKey
{
	int64		meter_id;
	int32		day;
} EnergyLockKey;

extern int	energy_overlap_keys(EnergyOverlap *o, EnergyLockKey **keys);
extern void energy_overlap_resolve_new(EnergyOverlap *o, bool waited);
extern void energy_overlap_resolve_removed(EnergyOverlap *o);
extern void energy_overlap_remove_partials(EnergyOverlap *o, int64 file_id);

/* Removes the partials of file $1; %1$s is the schema. */
#define ENERGY_DELETE_PARTIALS_SQL \
	"DELETE FROM %1$s.energy_daily d USING %1$s.energy_segment s " \
	"WHERE s.file_id OPERATOR(pg_catalog.=) $1 AND d.meter_id OPERATOR(pg_catalog.=) s.meter_id " \
	"AND d.channel_id OPERATOR(pg_catalog.=) s.channel_id AND d.file_id OPERATOR(pg_catalog.=) $1"
extern int64 energy_overlap_replacing(EnergyOverlap *o, int64 file_id);

/*
 * How many readings of a file of the call replaced a copy that counted: an
 * entry of the overlap stage's hash (keyed by file_id), which resolve.c and
 * energy_resolve()'s results add to.
 */
typedef struct EnergyReplacing
{
	int64		file_id;
	int64		count;
} EnergyReplacing;

/* Overlaps resolved in C (resolve.c) */
extern int	energy_resolve_chunks(const EnergySchema *schema, const Datum *meters,
								  const Datum *days, const Datum *channels,
								  const Datum *restore, int n, HTAB *replacing,
								  bool *to_sql);

/* The writers' lock protocol (lock.c) */
extern bool energy_lock_keys(EnergyLockKey *keys, int n);
extern int	energy_lock_keys_max(void);
extern void energy_lock_all(void);

/* Forgetting old readings (forget.c) */
extern void energy_horizon_read(EnergySchema *schema);

/*
 * The sink: where parsed rows go.  One interface, so that a batched SQL path
 * (for partitioned, foreign or distributed tables) can sit beside the direct
 * bulk-insert path without the loader knowing which it writes through.
 */
typedef struct EnergyReading
{
	int64		meter_id;
	int64		segment_id;
	Timestamp	at;
	const EpDecimal *value;		/* as parsed: digits and scale, and double */
	const EpText *status;
	uint64		line;			/* in the file, for error context */
} EnergyReading;

typedef struct EnergyRegister
{
	int64		meter_id;
	int64		segment_id;
	const EpRow *row;			/* the TOU fields, as parsed */
	Timestamp	at;
	bool		max_demand_at_null;
	Timestamp	max_demand_at;
	bool		reset_at_null;
	Timestamp	reset_at;
} EnergyRegister;

/* A day (or part of one) of one segment's LP readings: one stored row. */
typedef struct EnergyChunk
{
	int64		meter_id;
	int64		segment_id;
	int32		day;
	int			n;
	const Timestamp *at;
	EcValue    *value;			/* as the file wrote them (codec.h) */
	text	  **status;			/* NULL, or n entries that may be NULL */
	uint64		line;			/* line of its first reading */
} EnergyChunk;

/* One row of energy_daily. */
typedef struct EnergyPartial
{
	int64		meter_id;
	int32		day;
	int64		channel_id;
	int64		file_id;
	int32		part;
	int64		readings;
	Datum		sum;			/* numeric */
	double		min;
	double		max;
	int64		flagged;		/* readings with a status */
	int32		interval_minutes;	/* 0 when none (TOU, a lone reading) */
} EnergyPartial;

typedef struct EnergyErrorPosition EnergyErrorPosition;

extern EnergySink *energy_sink_open(const EnergySchema *schema,
									EnergyErrorPosition *pos);
extern void energy_sink_partial(EnergySink *sink, const EnergyPartial *p);
extern void energy_sink_chunk(EnergySink *sink, const EnergyChunk *chunk);
extern void energy_sink_register(EnergySink *sink, const EnergyRegister *r);
extern void energy_sink_change(EnergySink *sink, int64 meter_id, int32 day);
extern int	energy_sink_chunk_max(const EnergySink *sink);
extern bool energy_sink_distributed(const EnergySink *sink);
extern void energy_sink_flush(EnergySink *sink);
extern void energy_sink_close(EnergySink *sink);

/* The stored form of a chunk: an encoded block (block.c) */
extern bytea *energy_block_make(int n, DateADT day, const Timestamp *at,
								EcValue *values, text **status,
								const bool *marks);
extern EcErrorCode energy_block_try_decode(const bytea *block, DateADT day,
										   EcArrays *out, int *n);
extern int	energy_block_decode(const bytea *block, DateADT day, EcArrays *out);
extern bytea *energy_block_remark(const bytea *block, const bool *marks,
								  bool stored);
extern void energy_block_report(int elevel, EcErrorCode rc, bool stored,
								const char *where);
extern char *energy_block_where(Oid nspid, int64 meter_id, int64 file_id,
								DateADT day);

/* Packing LP readings into chunks (chunk.c) */
typedef struct EnergyChunks EnergyChunks;

extern EnergyChunks *energy_chunks_create(EnergySink *sink, MemoryContext parent);
extern void energy_chunks_add(EnergyChunks *chunks, const EnergyReading *r, int32 day);
extern void energy_chunks_flush(EnergyChunks *chunks);

/* The file stage (file.c) */
typedef struct EnergySource
{
	const char *name;			/* base name: the file's identity */
	const char *path;			/* for messages; NULL for client data */
	int			fd;				/* -1 for client data */
	const char *data;			/* client data */
	size_t		pos;			/* read position in client data */
	int64		size;
	/* how a server file stood (lstat, then fstat once opened) */
	bool		has_stat;		/* false for client data */
	int64		inode;
	int64		mtime_ns;		/* modification time, ns since 1970 */
	int64		ctime_ns;		/* change time, ns since 1970 */
	int64		opened_ns;		/* the clock just before it was opened */
	/* a member of an archive (a .gz file): read through zlib from outer */
	struct EnergySource *outer; /* the archive's own source, or NULL */
	struct z_stream_s *zs;		/* inflate state */
	char	   *inbuf;			/* compressed bytes read from outer */
	size_t		inbuf_size;
	bool		outer_eof;		/* outer has no more bytes */
	bool		stream_end;		/* the last gzip member ended */
	uint64		inflated;		/* bytes given out so far */
	uint64		raw_read;		/* compressed bytes read from outer */
	bool		defer_errors;	/* a damaged archive sets failed, no ERROR */
	bool		failed;			/* ... and why: */
	int			fail_code;
	char	   *fail_message;
	char	   *fail_detail;
} EnergySource;

/* Why a file could not be opened, so that skip mode can record it. */
typedef struct EnergyOpenError
{
	int			sqlerrcode;
	char	   *message;
	char	   *detail;
} EnergyOpenError;

extern bool energy_source_open(EnergySource *src, const char *path,
							   const char *name, EnergyOpenError *oe);
extern bool energy_source_stat(EnergySource *src, const char *path,
							   const char *name, EnergyOpenError *oe);
extern bool energy_source_open_file(EnergySource *src, EnergyOpenError *oe);
extern bool energy_source_stat_settled(const EnergySource *src);
extern void energy_source_check_unchanged(EnergySource *src, uint64 bytes_read);
extern bool energy_source_changed(EnergySource *src);
extern bool energy_name_is_gzip(const char *name);
extern char *energy_gzip_member_name(const char *archive_name, const char **refusal);
extern void energy_source_gzip(EnergySource *member, EnergySource *outer,
							   const char *member_name, size_t inbuf_size);
extern uint64 energy_source_raw_bytes(const EnergySource *src);
extern void energy_source_raise(EnergySource *src);
extern void energy_source_from_data(EnergySource *src, const char *name,
									const char *data, size_t len);
extern void energy_source_close(EnergySource *src);
extern size_t energy_source_read(EnergySource *src, char *buf, size_t size);
extern void energy_source_rewind(EnergySource *src);
extern void energy_source_digest(EnergySource *src, char *buf, size_t size,
								 uint8 *digest);
extern pg_cryptohash_ctx *energy_sha256_begin(void);
extern void energy_sha256_update(pg_cryptohash_ctx *ctx, const char *data, size_t len);
extern void energy_sha256_end(pg_cryptohash_ctx *ctx, uint8 *digest);
extern int	energy_list_directory(const char *dirpath, char ***names);
extern bool energy_name_valid(const char *name);
extern bool energy_name_is_csv(const char *name);
extern char *energy_name_escape(const char *name);
extern const char *energy_name_refusal(const char *name);
extern void energy_path_check(const char *path, const char *what);
extern char *energy_name_base(const char *path, const char *what, bool check_name);

/* The parser's seam with the server (glue.c) */
extern EpParser *energy_parser_create(MemoryContext cxt, size_t max_record);
extern text *energy_text(const EpText *t);
extern int32 energy_day(const EpTimestamp *ts);
extern Timestamp energy_day_timestamp(int32 day, const EpTimestamp *ts);
extern Timestamp energy_timestamp(const EpTimestamp *ts);
extern int	energy_parse_sqlerrcode(EpErrorCode code);

/* Longest meter or channel field, in bytes: three fit one btree entry. */
#define ENERGY_KEY_MAX	800

extern bool energy_row_check(const EpRow *row, EpFormat format, EpError *err);
/*
 * The classes (field4) of energy's advisory locks, one per kind, so that no
 * lock of one kind can ever be taken for a lock of another, and none is the
 * 1 or 2 of the pg_advisory_* functions: pg_locks shows them as locktype
 * advisory with these objsubids.
 */
#define ENERGY_LOCKTAG_BUCKET		0x4542	/* "EB": a bucket of meter-days
											 * (lock.c) */
#define ENERGY_LOCKTAG_DAY			0x4544	/* "ED": a meter-day (lock.c) */
#define ENERGY_LOCKTAG_DICTIONARY	0x454D	/* "EM": new meters and channels
											 * (dictionary.c) */

/* energy_unit's factors lie in this range (its check constraint, 1.2) */
#define ENERGY_FACTOR_MIN 1e-12
#define ENERGY_FACTOR_MAX 1e12
extern bool energy_value_check(const EpRow *row, EpFormat format, double factor,
							   EpError *err);
extern bool energy_horizon_check(const EpRow *row, EpFormat format, int32 day,
								 DateADT horizon, EpError *err);

/*
 * Where a load is, for the context line of its errors (energy_error_context,
 * an ErrorContextCallback): the call, the file, and the line, column and
 * value when they are known.  line 0 means "the file as a whole".
 */
struct EnergyErrorPosition
{
	const char *function;		/* "energy_load" or "energy_load_data" */
	const char *file_name;
	uint64		line;
	int			column;			/* 1-based; 0 when not about one column */
	const char *column_name;
	const char *value;			/* escaped, at most ~100 bytes; or NULL */
};

extern void energy_error_context(void *arg);
extern void energy_error_position_set(EnergyErrorPosition *pos, const EpError *err);
extern void energy_error_position_line(EnergyErrorPosition *pos, uint64 line);
pg_noreturn extern void energy_raise_parse_error(EnergyErrorPosition *pos, const EpError *err);
extern void energy_header_error_redact(EpError *err);
extern text *energy_reject_message(const EpError *err);
extern text *energy_reject_raw(const char *raw, size_t len);

/* energy_data_view (view.c) */
extern bool energy_view_populated(const EnergySchema *schema, const char *name);

/* A day as the lookups take it as text, or SQLSTATE 22007 (lookup.c). */
extern DateADT energy_text_day(text *t);

/*
 * Billing figures in local time (billing.c).  NEM12 and NEM13 times are NEM
 * time, UTC+10 all year: the zone of Brisbane, which has kept no summer
 * time since 1992 (the NEM began in 1998).
 */
#define ENERGY_NEM_TIME_ZONE "Australia/Brisbane"
extern bool energy_zone_acceptable(const char *zone, const char **detail,
								   const char **hint);

#endif							/* ENERGY_H */
