/*-------------------------------------------------------------------------
 *
 * lock.c
 *	  The writers' lock protocol: loads, replaces and unloads that share
 *	  meter-days take turns in one global order; writers that share none never
 *	  wait for each other.
 *
 * The problem.  A writer changes other files' rows: a load marks the copies
 * its readings supersede and rewrites those files' partials; an unload or a
 * replace brings superseded copies back.  Two writers doing that to the
 * same meter-day at once, each in its own snapshot, can lose or double a
 * reading (each thinks its copy is the only new one), and two writers that
 * lock rows as they meet them lock them in different orders and deadlock.
 *
 * The protocol.
 *
 *	1. A writer first writes what is its own: a load its file's readings,
 *	   registers, segments and partials, under a new file_id that nobody
 *	   else knows; a replace or an unload only deletes the energy_file row
 *	   of the old version (the name's lock, taken FOR UPDATE by the lookup).
 *	   Nothing of another file is read or changed yet, so this needs no
 *	   lock of ours, and loads of any files run side by side.
 *
 *	2. At the end of the call (the whole call: a folder of files takes its
 *	   locks once, for every file), the writer takes one transaction-level
 *	   lock per meter-day it touches: the meter-days of its new partials and
 *	   of the old versions it removes (a reading belongs to one meter-day,
 *	   and so does every partial).  All of them at once, in one global
 *	   order: first the buckets (meter-days hashed into ENERGY_LOCK_BUCKETS
 *	   buckets) in ascending order, then the meter-days in ascending order.
 *	   - A writer of at most ENERGY_LOCK_KEYS_MAX meter-days takes each of
 *	     its buckets in RowExclusiveLock (which does not conflict with
 *	     itself) and then each meter-day in ExclusiveLock: writers of
 *	     different meter-days never wait, even in the same bucket.
 *	   - A larger writer takes each of its buckets in ExclusiveLock and no
 *	     meter-day lock, so that a file of a million meters holds at most
 *	     ENERGY_LOCK_BUCKETS entries of the shared lock table.  It waits for,
 *	     and is waited for by, every writer of a meter-day in its buckets.
 *	   Every writer acquires in increasing order of one total order (all
 *	   buckets before all meter-days), so a cycle of waits cannot form: the
 *	   writer holding the greatest lock of any cycle would have to wait for a
 *	   smaller one, which it acquired before.  Hence no 40P01 between
 *	   energy's writers of separate calls.  (Several calls inside one user
 *	   transaction acquire per call, like any transaction that updates rows
 *	   in an order of its own; the README says so.)
 *
 *	3. Holding the locks, and with a snapshot taken after they were granted
 *	   (READ COMMITTED takes one per statement), the writer removes old
 *	   versions, finds the keys that other files share and resolves them
 *	   (overlap.c, energy_resolve()).  Every writer that touched these
 *	   meter-days before has committed (or aborted), and its rows are visible;
 *	   every later one waits for our commit and then sees ours.  So the
 *	   stored state is always the one that running the writers one at a time,
 *	   in the order they got their locks, would give.
 *
 *	   Under REPEATABLE READ or SERIALIZABLE the snapshot is the
 *	   transaction's, older than the locks: overlap.c compares what it sees
 *	   with the latest committed state and raises 40001 (retry) when a
 *	   writer of the same meter-days committed in between.
 *
 * What readers see meanwhile: nothing waits for these locks but energy's
 * writers.  energy_get, energy_data and populate read committed rows as
 * ever; populate takes none of these locks.
 *
 * The locks are advisory locks in a field space of their own (field4 is
 * ENERGY_LOCKTAG_BUCKET or ENERGY_LOCKTAG_DAY, never the 1 or 2 of
 * pg_advisory_lock, nor the dictionary's ENERGY_LOCKTAG_DICTIONARY: all
 * three are in energy.h), keyed by the database; pg_locks shows them as
 * "advisory" with objsubid 0x4542 ("EB") or 0x4544 ("ED"), a meter-day's
 * classid and objid being its meter (folded to 32 bits) and its day.  Two
 * meter-days that fold alike share a lock: a writer may then wait for
 * another without need, never the reverse.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/lock.h"
#include "utils/memutils.h"

#include "energy.h"

#define ENERGY_LOCK_BUCKETS		32
#define ENERGY_LOCK_KEYS_MAX	64

/* A meter-day as its lock names it: the order the locks are taken in. */
static inline uint64
lock_key(const EnergyLockKey *k)
{
	uint32		meter = (uint32) ((uint64) k->meter_id ^ ((uint64) k->meter_id >> 32));

	return ((uint64) meter << 32) | (uint32) k->day;
}

static int
cmp_keys(const void *a, const void *b)
{
	uint64		x = lock_key(a);
	uint64		y = lock_key(b);

	return (x > y) - (x < y);
}

/*
 * One lock of the protocol; true if it had to wait (someone held it).
 */
static bool
lock_one(uint16 kind, uint64 key, LOCKMODE mode)
{
	LOCKTAG		tag;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) (key >> 32), (uint32) key, kind);
	if (LockAcquire(&tag, mode, false, true) != LOCKACQUIRE_NOT_AVAIL)
		return false;
	(void) LockAcquire(&tag, mode, false, false);
	return true;
}

/*
 * Take the locks of the given meter-days (any order, repeats allowed; the
 * array is sorted in place), as the protocol above says.  Returns true if
 * any lock had to wait for another writer.
 */
bool
energy_lock_keys(EnergyLockKey *keys, int n)
{
	bool		buckets[ENERGY_LOCK_BUCKETS] = {0};
	bool		waited = false;
	bool		large;
	int			distinct = 0;

	if (n == 0)
		return false;
	qsort(keys, n, sizeof(EnergyLockKey), cmp_keys);
	for (int i = 0; i < n; i++)
	{
		uint64		key = lock_key(&keys[i]);

		if (distinct > 0 && key == lock_key(&keys[distinct - 1]))
			continue;
		keys[distinct++] = keys[i];
		buckets[energy_hash_ids(key, 0, 0) % ENERGY_LOCK_BUCKETS] = true;
	}
	large = (distinct > ENERGY_LOCK_KEYS_MAX);

	for (uint32 b = 0; b < ENERGY_LOCK_BUCKETS; b++)
	{
		if (buckets[b])
			waited |= lock_one(ENERGY_LOCKTAG_BUCKET, b,
							   large ? ExclusiveLock : RowExclusiveLock);
		CHECK_FOR_INTERRUPTS();
	}
	if (!large)
	{
		for (int i = 0; i < distinct; i++)
			waited |= lock_one(ENERGY_LOCKTAG_DAY, lock_key(&keys[i]), ExclusiveLock);
	}
	return waited;
}

/* The most meter-days a writer locks one by one (the rest lock buckets). */
int
energy_lock_keys_max(void)
{
	return ENERGY_LOCK_KEYS_MAX;
}

/*
 * Every bucket in ExclusiveLock, in the protocol's order: the locks of a
 * writer of more meter-days than it can name (energy_forget of a month of
 * a fleet), which then waits for, and is waited for by, every writer.  At
 * most ENERGY_LOCK_BUCKETS entries of the shared lock table.
 */
void
energy_lock_all(void)
{
	for (uint32 b = 0; b < ENERGY_LOCK_BUCKETS; b++)
	{
		(void) lock_one(ENERGY_LOCKTAG_BUCKET, b, ExclusiveLock);
		CHECK_FOR_INTERRUPTS();
	}
}
