/*-------------------------------------------------------------------------
 *
 * chunk.c
 *	  Packs LP readings into chunks: one row per segment (file, meter,
 *	  channel) and day, holding that day's times and values as arrays.
 *
 * A heap tuple costs 28 bytes of header and line pointer before its data,
 * and every tuple is formed, WAL-logged and placed one by one, so a row per
 * reading would spend most of its cost on overhead.  A day of one channel
 * in one row inserts a hundredth of the tuples, and from 1.2 on its
 * readings are one encoded block (block.c, codec.c): a day of half-hourly
 * readings takes about 2 bytes a reading.  energy_data decodes the blocks,
 * so SQL still sees one row per reading, with the export's column names.
 *
 * Readings are buffered per (segment, day) and a chunk is written when it
 * is full (a day of 5-minute readings in a block; 112 readings in a 1.0 or
 * 1.1 schema's arrays, which keeps their row under the TOAST threshold, so
 * it is never compressed or moved out of line), when its channel goes on to
 * another day, when the file ends, or when CHUNKS_OPEN_MAX buffers are open
 * and it is the oldest of them.  Exports run through one meter and channel
 * at a time, day after day, so a day is written as soon as it is complete;
 * a file that interleaves more series than that only gets smaller chunks,
 * never unbounded memory.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "energy.h"

/* Readings per chunk at most: energy_sink_chunk_max() says how many. */
#define CHUNK_MAX		288

/* Open buffers before the oldest is written out: about 9 MB. */
#define CHUNKS_OPEN_MAX 1024

typedef struct ChunkBuf
{
	int64		meter_id;
	int64		segment_id;
	int32		day;
	int			n;
	uint64		line;			/* line of the first reading */
	Timestamp	at[CHUNK_MAX];
	EcValue		value[CHUNK_MAX];
	text	  **status;			/* NULL until a reading has a status */
	struct ChunkBuf *older;		/* open buffers, in the order opened */
	struct ChunkBuf *newer;
	struct ChunkBuf *next_free;
} ChunkBuf;

typedef struct ChunkKey
{
	int64		segment_id;
	int32		day;
} ChunkKey;

typedef struct ChunkEntry
{
	ChunkKey	key;
	uint32		hash;
	char		status;
	ChunkBuf   *buf;
} ChunkEntry;

#define SH_PREFIX		chunkmap
#define SH_ELEMENT_TYPE ChunkEntry
#define SH_KEY_TYPE		ChunkKey
#define SH_KEY			key
#define SH_HASH_KEY(tb, k) energy_hash_ids((uint64) (k).segment_id, (uint32) (k).day, 0)
#define SH_EQUAL(tb, a, b) ((a).segment_id == (b).segment_id && (a).day == (b).day)
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a) ((a)->hash)
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

struct EnergyChunks
{
	MemoryContext cxt;
	EnergySink *sink;
	chunkmap_hash *map;
	ChunkBuf   *last;			/* the buffer of the previous reading */
	ChunkBuf   *oldest;			/* open buffers, oldest first */
	ChunkBuf   *newest;
	ChunkBuf   *free_list;
	int			open;
	int			max;			/* readings per chunk, <= CHUNK_MAX */
};

EnergyChunks *
energy_chunks_create(EnergySink *sink, MemoryContext parent)
{
	MemoryContext cxt = AllocSetContextCreate(parent, "energy chunks",
											  ALLOCSET_DEFAULT_SIZES);
	EnergyChunks *c = MemoryContextAllocZero(cxt, sizeof(EnergyChunks));

	c->cxt = cxt;
	c->sink = sink;
	c->max = energy_sink_chunk_max(sink);
	Assert(c->max <= CHUNK_MAX);
	c->map = chunkmap_create(cxt, 64, NULL);
	return c;
}

/* Hand a buffer's readings to the sink and make it reusable. */
static void
chunk_write(EnergyChunks *c, ChunkBuf *b)
{
	EnergyChunk ch;

	if (b->n == 0)
		return;
	ch.meter_id = b->meter_id;
	ch.segment_id = b->segment_id;
	ch.day = b->day;
	ch.n = b->n;
	ch.at = b->at;
	ch.value = b->value;
	ch.status = b->status;
	ch.line = b->line;
	energy_sink_chunk(c->sink, &ch);

	if (b->status)
	{
		for (int i = 0; i < b->n; i++)
			if (b->status[i])
				pfree(b->status[i]);
		pfree(b->status);
		b->status = NULL;
	}
	b->n = 0;
}

/* Write every open buffer and forget them all. */
void
energy_chunks_flush(EnergyChunks *c)
{
	chunkmap_iterator it;
	ChunkEntry *e;

	chunkmap_start_iterate(c->map, &it);
	while ((e = chunkmap_iterate(c->map, &it)) != NULL)
	{
		chunk_write(c, e->buf);
		e->buf->next_free = c->free_list;
		c->free_list = e->buf;
	}
	chunkmap_reset(c->map);
	c->last = NULL;
	c->oldest = c->newest = NULL;
	c->open = 0;
}

/* Write an open buffer, and close it: out of the map and the list. */
static void
chunk_close(EnergyChunks *c, ChunkBuf *b)
{
	ChunkKey	k;

	Assert(b != NULL && c->open > 0);
	chunk_write(c, b);
	k.segment_id = b->segment_id;
	k.day = b->day;
	chunkmap_delete(c->map, k);
	if (b->older)
		b->older->newer = b->newer;
	else
		c->oldest = b->newer;
	if (b->newer)
		b->newer->older = b->older;
	else
		c->newest = b->older;
	if (c->last == b)
		c->last = NULL;
	b->next_free = c->free_list;
	c->free_list = b;
	c->open--;
}

static ChunkBuf *
chunk_open(EnergyChunks *c, int64 meter_id, int64 segment_id, int32 day)
{
	ChunkKey	k;
	ChunkEntry *e;
	bool		found;

	k.segment_id = segment_id;
	k.day = day;
	e = chunkmap_insert(c->map, k, &found);
	if (!found)
	{
		ChunkBuf   *b = c->free_list;

		if (b)
			c->free_list = b->next_free;
		else
			b = MemoryContextAlloc(c->cxt, sizeof(ChunkBuf));
		b->meter_id = meter_id;
		b->segment_id = segment_id;
		b->day = day;
		b->n = 0;
		b->status = NULL;
		b->older = c->newest;
		b->newer = NULL;
		if (c->newest)
			c->newest->newer = b;
		else
			c->oldest = b;
		c->newest = b;
		e->buf = b;
		c->open++;
	}
	return e->buf;
}

/*
 * Called once per LP reading.  The previous reading's buffer is tried
 * first: a file runs through one channel's day before the next.
 */
void
energy_chunks_add(EnergyChunks *c, const EnergyReading *r, int32 day)
{
	ChunkBuf   *b = c->last;

	if (b == NULL || b->segment_id != r->segment_id || b->day != day)
	{
		/*
		 * The same channel on to its next day: exports run through a
		 * channel's days in order, so the day before is complete.  It is
		 * written now, while its readings are still in the CPU's cache (left
		 * for the eviction below, 1,024 buffers later, encoding it read them
		 * back from memory).  A file that comes back to that day only gets
		 * one more chunk for it.
		 */
		if (b != NULL && b->segment_id == r->segment_id)
			chunk_close(c, b);
		b = chunk_open(c, r->meter_id, r->segment_id, day);
		if (c->open > CHUNKS_OPEN_MAX)
			chunk_close(c, c->oldest);
		c->last = b;
	}

	/* a full buffer was written and emptied at its last reading */
	Assert(b->n < c->max);
	Assert(b->meter_id == r->meter_id);
	if (b->n == 0)
		b->line = r->line;
	b->at[b->n] = r->at;
	b->value[b->n].value = r->value->value;
	b->value[b->n].exact = r->value->exact;
	b->value[b->n].digits = r->value->exact ? r->value->digits : 0;
	b->value[b->n].scale = r->value->exact ? (int16) r->value->scale : 0;
	if (r->status->len > 0)
	{
		MemoryContext old = MemoryContextSwitchTo(c->cxt);

		if (b->status == NULL)
			b->status = palloc0(sizeof(text *) * CHUNK_MAX);
		b->status[b->n] = energy_text(r->status);
		MemoryContextSwitchTo(old);
	}
	else if (b->status)
		b->status[b->n] = NULL;

	if (++b->n == c->max)
		chunk_write(c, b);
}
