/*-------------------------------------------------------------------------
 *
 * energy.h
 *	  Declarations shared by the backend side of the energy extension.
 *
 * The backend side is split one file per job: settings (energy.c), the
 * dictionaries of meters and channels (dictionary.c), the per-day partial
 * aggregates and the view refresh (aggregate.c), the packing of LP readings
 * into per-day rows (chunk.c), the bulk-insert sink (sink.c), the load
 * driver (loader.c) and the lookups (lookup.c).  This
 * header is the seam between them; the parser (parser.h) stays server-free.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ENERGY_H
#define ENERGY_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/date.h"
#include "utils/timestamp.h"
#include "utils/rel.h"

#include "parser.h"

/* Settings (energy.c) */
extern int	energy_batch_rows;
extern int	energy_max_record_bytes;
extern int	energy_read_buffer_kb;

/*
 * Where the extension lives.  Resolved once per call, since the extension
 * may be dropped and created again (in another schema) between calls.
 */
typedef struct EnergySchema
{
	Oid			nspid;
	const char *nspname;		/* quoted, ready to paste into SQL */
	int			version;		/* installed schema, 101 for 1.1; 0 until read */
} EnergySchema;

/* The schema version this library was built for (energy.control's). */
#define ENERGY_SCHEMA_VERSION 101

extern void energy_schema_lookup(EnergySchema *schema, FunctionCallInfo fcinfo);
extern void energy_require_schema(EnergySchema *schema, int version,
								  const char *what);
extern Oid	energy_relation(const EnergySchema *schema, const char *relname);
extern bool energy_view_populated(const EnergySchema *schema);

/*
 * Hash of up to three small integer ids (meter, channel, segment, day).  They
 * are consecutive numbers and simplehash indexes by the low bits, so every
 * key bit must reach them: multiply each by an odd constant, then finish
 * with murmur's 64-bit mixer.
 */
static inline uint32
energy_hash_ids(uint64 a, uint64 b, uint64 c)
{
	uint64		h = a * UINT64CONST(0x9E3779B97F4A7C15) ^
		b * UINT64CONST(0xC2B2AE3D27D4EB4F) ^
		c * UINT64CONST(0x165667B19E3779F9);

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

/* Per-day partial aggregates (aggregate.c) */
typedef struct EnergyDaily EnergyDaily;

typedef struct EnergySink EnergySink;

extern EnergyDaily *energy_daily_create(MemoryContext cxt);
extern void energy_daily_begin(EnergyDaily *daily, EnergySink *sink, int64 file_id);
extern void energy_daily_add(EnergyDaily *daily, int64 meter_id,
							 int64 channel_id, int32 day,
							 const EpDecimal *value);
extern void energy_daily_end(EnergyDaily *daily);

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
	double		value;
	const EpText *status;
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
	const double *value;
	text	  **status;			/* NULL, or n entries that may be NULL */
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
} EnergyPartial;

extern EnergySink *energy_sink_open(const EnergySchema *schema);
extern void energy_sink_partial(EnergySink *sink, const EnergyPartial *p);
extern void energy_sink_chunk(EnergySink *sink, const EnergyChunk *chunk);
extern void energy_sink_register(EnergySink *sink, const EnergyRegister *r);
extern void energy_sink_change(EnergySink *sink, int64 meter_id, int32 day);
extern void energy_sink_flush(EnergySink *sink);
extern void energy_sink_close(EnergySink *sink);

/* Packing LP readings into chunks (chunk.c) */
typedef struct EnergyChunks EnergyChunks;

extern EnergyChunks *energy_chunks_create(EnergySink *sink, MemoryContext parent);
extern void energy_chunks_add(EnergyChunks *chunks, const EnergyReading *r, int32 day);
extern void energy_chunks_flush(EnergyChunks *chunks);

/* Parser text as a text datum, in the database's encoding (loader.c) */
extern text *energy_text(const EpText *t);

#endif							/* ENERGY_H */
