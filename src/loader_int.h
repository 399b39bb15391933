/*-------------------------------------------------------------------------
 *
 * loader_int.h
 *	  What the load driver (loader.c) and the file catalogue (catalog.c)
 *	  share, and nothing else includes: the state of a call and of a file,
 *	  and the catalogue's statements and steps.
 *
 * As copyfrom_internal.h serves COPY FROM's files, this header lets the
 * driver stay a driver: loader.c reads a file, parses it and writes its
 * rows; catalog.c keeps energy_file (a name's lookup and lock, its
 * registration, its hash and counts), its segments and rejects, the end of
 * a call under the writers' locks, and energy_unload().
 *
 *-------------------------------------------------------------------------
 */
#ifndef LOADER_INT_H
#define LOADER_INT_H

#include "energy.h"

#include "common/sha2.h"
#include "executor/spi.h"
#include "funcapi.h"

/*
 * Units of energy_unit are looked up in lower case, up to this many bytes:
 * a longer unit is not in the table (unit_factor).
 */
#define UNIT_KEY_MAX	64

typedef struct UnitFactor
{
	char		unit[UNIT_KEY_MAX];
	double		factor;
} UnitFactor;

/* Attempts at claiming a file name that concurrent loads keep taking. */
#define CLAIM_ATTEMPTS		10

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
	PLAN_INSERT_FILE_ZONE,
	PLAN_UPDATE_FILE,
	PLAN_INSERT_SEGMENTS,
	PLAN_INSERT_REJECT,
	PLAN_REMOVED_KEYS,
	PLAN_LOOKUP_FILE_STAT,		/* 1.3 on: the lookup, with the stat */
	PLAN_UPDATE_FILE_STAT,		/* 1.3 on: the finish, with the stat */
	PLAN_UPDATE_STAT,			/* 1.3 on: the stat of a file found unchanged */
	NUM_PLANS
} PlanId;

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
	EnergyOverlap *overlap;		/* NULL on a 1.0 schema */
	MemoryContext call_cxt;		/* lives as long as the call */
	int			spi_level;		/* energy_spi_connect's, for energy_spi_finish */
	bool		sniff;			/* a folder's file that is not *.csv: loaded
								 * only if its content is a meter file */
	bool		in_folder;		/* loading a folder's file */
	Oid			reading_relid;
	Oid			segment_seq;	/* identity sequence of energy_segment */
	char	   *readbuf;
	size_t		readbuf_size;
	MemoryContext reject_cxt;	/* one reject's memory, reset after each */
	EnergyErrorPosition pos;	/* for the error context of the file */
	SPIPlanPtr	plans[NUM_PLANS];

	/* old versions to remove at the end of the call (step 6) */
	int64	   *removed;
	int			n_removed;
	int			max_removed;

	/* energy_unit's factors by unit in lower case, and the last one used */
	HTAB	   *factors;
	char		last_units[UNIT_KEY_MAX];
	size_t		last_units_len;
	double		last_factor;

	/* the result rows, returned at the end of the call */
	struct LoadResult *results;
	int			n_results;
	int			max_results;
} LoadState;

/* One row of the call's result, kept until rows_replacing is known. */
typedef struct LoadResult
{
	char	   *file_name;
	const char *format;			/* NULL for a rejected file */
	int64		rows;
	int64		rejected;
	const char *action;
	int64		file_id;		/* 0 when nothing was written */
} LoadResult;

/* State of one file. */
typedef struct FileLoad
{
	EnergySource *src;
	EpParser   *parser;			/* NULL until parsing starts */
	EpFormat	format;
	int64		file_id;		/* 0 until registered */
	bool		existed;
	int64		old_file_id;
	int64		old_size;
	bytea	   *old_sha;
	char	   *old_format;
	int64		old_rows;
	int64		old_rejected;
	bool		old_has_stat;	/* the stat recorded (1.3 on, server files) */
	int64		old_inode;
	int64		old_mtime_ns;
	int64		old_ctime_ns;
	pg_cryptohash_ctx *hash;	/* the pass's hash; NULL outside a pass */
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	bool		digested;		/* digest is the content's, taken ahead */
	uint64		rows;
	uint64		rejected;
	uint64		bytes_read;
	bool		progress;		/* a progress report is open */
	HTAB	   *segments;
	SegmentEntry *last_segment;
	ErrorContextCallback errcb;
} FileLoad;

/* The file catalogue (catalog.c) */
extern int	catalog_run(LoadState *ls, PlanId id, Datum *values, const char *nulls,
						int expected);
extern void catalog_reject(LoadState *ls, const char *file_name, uint64 line,
						   text *raw, int sqlerrcode, text *message);
extern void catalog_file_reject(LoadState *ls, const char *file_name, int sqlerrcode,
								const char *message, const char *detail);
extern void catalog_parse_reject(LoadState *ls, const char *file_name, const EpError *err);
extern const char *catalog_format_name(EpFormat f);
extern void catalog_lookup(LoadState *ls, FileLoad *fl);
extern void catalog_delete_rejects(LoadState *ls, const char *name);
extern void catalog_release(LoadState *ls, int64 file_id);
extern void catalog_writers_finish(LoadState *ls);
extern bool catalog_register(LoadState *ls, FileLoad *fl, EpFormat format);
extern int64 catalog_segment_id(LoadState *ls, FileLoad *fl, int64 meter_id, int64 channel_id);
extern void catalog_write_segments(LoadState *ls, FileLoad *fl);
extern void catalog_finish(LoadState *ls, FileLoad *fl);
extern void catalog_record_stat(LoadState *ls, FileLoad *fl);

#endif							/* LOADER_INT_H */
