/*-------------------------------------------------------------------------
 *
 * pg_compat.h
 *	  Every difference between the PostgreSQL versions energy supports, 15 to
 *	  19, in one place.
 *
 * The rest of src/ is written once, against one API: where a server call
 * changed between majors, it calls the wrapper of the same name with
 * "Compat" appended, which takes PostgreSQL 15's arguments (plus what the
 * caller must now say, where a newer version needs more) and passes them on
 * as the server being built against wants them.  Nothing outside this file
 * tests PG_VERSION_NUM.  The same idea as Citus's pg_version_compat.h.
 *
 *	version  what changed                                 wrapper
 *	16       RTE permissions moved to RTEPermissionInfo    energy_rte_add_permission
 *	16       ExecCheckRTPerms -> ExecCheckPermissions      ExecCheckPermissionsCompat
 *	16, 18   ExecInitRangeTable: permission infos (16),    ExecInitRangeTableCompat
 *	         unpruned relids (18)
 *	16, 19   ExecInsertIndexTuples: onlySummarizing (16),  ExecInsertIndexTuplesCompat
 *	         flags word in a new order (19)
 *	17, 19   CheckValidResultRel: MERGE actions (17),      CheckValidResultRelCompat
 *	         ON CONFLICT action (19)
 *	17       getIdentitySequence takes a Relation          getIdentitySequenceCompat
 *	17       index_insert_cleanup (BRIN keeps buffers      index_insert_cleanupCompat
 *	         pinned between index_insert calls)
 *	18, 19   index_beginscan: instrumentation (18),        index_beginscanCompat
 *	         scan flags (19)
 *	18       pg_attribute_noreturn() -> pg_noreturn        pg_noreturn
 *	19       funcapi.h no longer includes tuplestore.h     included here
 *
 * To support a new major: build against it with -Werror (make COPT=-Werror
 * PG_CONFIG=...), add a guard here for each call that no longer compiles,
 * and run scripts/test with PG_VERSION set to it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ENERGY_PG_COMPAT_H
#define ENERGY_PG_COMPAT_H

#include "access/genam.h"
#include "access/relation.h"
#include "access/tableam.h"
#include "catalog/dependency.h"
#include "executor/executor.h"
#include "nodes/parsenodes.h"
#include "utils/rel.h"
#if PG_VERSION_NUM >= 160000
#include "parser/parse_relation.h"
#endif
/* funcapi.h brought tuplestore_putvalues() in until 19 */
#include "utils/tuplestore.h"

#if PG_VERSION_NUM < 150000
#error "energy needs PostgreSQL 15 or later"
#endif

/*
 * A function that never returns: PostgreSQL 18 replaced the attribute after
 * the declaration, pg_attribute_noreturn(), by pg_noreturn before it (C11's
 * _Noreturn).  GCC and clang accept the old attribute in front too.
 */
#ifndef pg_noreturn
#define pg_noreturn pg_attribute_noreturn()
#endif

/*
 * Add a relation's entry to a range table built by hand, requiring the
 * privileges perms on it and, for INSERT, on every column of inserted_cols.
 * From 16 the requirement lives in an RTEPermissionInfo of its own list,
 * which the range table entry points to; the executor's CHECK-violation
 * message looks it up, so an entry without one becomes an internal error.
 */
static inline void
energy_rte_add_permission(List **rtable, List **perminfos, RangeTblEntry *rte,
						  AclMode perms, Bitmapset *inserted_cols)
{
#if PG_VERSION_NUM >= 160000
	RTEPermissionInfo *perminfo;

	perminfo = addRTEPermissionInfo(perminfos, rte);
	perminfo->requiredPerms = perms;
	perminfo->insertedCols = inserted_cols;
#else
	(void) perminfos;
	rte->requiredPerms = perms;
	rte->insertedCols = inserted_cols;
#endif
	*rtable = lappend(*rtable, rte);
}

/* Check the range table's permissions as the executor does for a query. */
static inline bool
ExecCheckPermissionsCompat(List *rtable, List *perminfos, bool ereport_on_violation)
{
#if PG_VERSION_NUM >= 160000
	return ExecCheckPermissions(rtable, perminfos, ereport_on_violation);
#else
	(void) perminfos;
	return ExecCheckRTPerms(rtable, ereport_on_violation);
#endif
}

/*
 * Give the executor state its range table.  From 18 the executor also
 * wants the entries that survived partition pruning: all of them, here.
 */
static inline void
ExecInitRangeTableCompat(EState *estate, List *rtable, List *perminfos)
{
#if PG_VERSION_NUM >= 180000
	ExecInitRangeTable(estate, rtable, perminfos,
					   bms_add_range(NULL, 1, list_length(rtable)));
#elif PG_VERSION_NUM >= 160000
	ExecInitRangeTable(estate, rtable, perminfos);
#else
	(void) perminfos;
	ExecInitRangeTable(estate, rtable);
#endif
}

/*
 * Make a new heap tuple's entries in every index of the result relation
 * (15's arguments).  16 added onlySummarizing, for HOT updates, which an
 * insertion never is; 19 folded the booleans into a flags word.
 */
static inline List *
ExecInsertIndexTuplesCompat(ResultRelInfo *rri, TupleTableSlot *slot,
							EState *estate, bool update, bool noDupErr,
							bool *specConflict, List *arbiterIndexes)
{
#if PG_VERSION_NUM >= 190000
	uint32		flags = 0;

	if (update)
		flags |= EIIT_IS_UPDATE;
	if (noDupErr)
		flags |= EIIT_NO_DUPE_ERROR;
	return ExecInsertIndexTuples(rri, estate, flags, slot, arbiterIndexes,
								 specConflict);
#elif PG_VERSION_NUM >= 160000
	return ExecInsertIndexTuples(rri, slot, estate, update, noDupErr,
								 specConflict, arbiterIndexes, false);
#else
	return ExecInsertIndexTuples(rri, slot, estate, update, noDupErr,
								 specConflict, arbiterIndexes);
#endif
}

/*
 * Refuse a relation that cannot take the operation (a view, a foreign table
 * without the callback, ...).  17 added MERGE's actions, 19 the ON CONFLICT
 * action: energy's inserts have neither.
 */
static inline void
CheckValidResultRelCompat(ResultRelInfo *rri, CmdType operation)
{
#if PG_VERSION_NUM >= 190000
	CheckValidResultRel(rri, operation, ONCONFLICT_NONE, NIL);
#elif PG_VERSION_NUM >= 170000
	CheckValidResultRel(rri, operation, NIL);
#else
	CheckValidResultRel(rri, operation);
#endif
}

/*
 * The sequence behind an identity column.  From 17 it takes the open
 * relation (for partitions); the lock taken here is kept to the end of the
 * transaction, as any lock on a relation the statement uses.
 */
static inline Oid
getIdentitySequenceCompat(Oid relid, AttrNumber attnum, bool missing_ok)
{
#if PG_VERSION_NUM >= 170000
	Relation	rel = relation_open(relid, AccessShareLock);
	Oid			seqid = getIdentitySequence(rel, attnum, missing_ok);

	relation_close(rel, NoLock);
	return seqid;
#else
	return getIdentitySequence(relid, attnum, missing_ok);
#endif
}

/*
 * After the last index_insert() into an index opened by hand: from 17 an
 * access method may keep state between insertions (BRIN keeps its revmap
 * buffers pinned) until this releases it.  ExecCloseIndices() does it for
 * the indexes of a ResultRelInfo.
 */
static inline void
index_insert_cleanupCompat(Relation irel, IndexInfo *info)
{
#if PG_VERSION_NUM >= 170000
	index_insert_cleanup(irel, info);
#else
	(void) irel;
	(void) info;
#endif
}

/*
 * Start an index scan (15's arguments).  18 added the scan's
 * instrumentation, for EXPLAIN ANALYZE, which energy's own scans have no
 * use for; 19 added table-scan flags (none here: the scans may read a
 * relation the statement writes).
 */
static inline IndexScanDesc
index_beginscanCompat(Relation heap, Relation index, Snapshot snapshot,
					  int nkeys, int norderbys)
{
#if PG_VERSION_NUM >= 190000
	return index_beginscan(heap, index, snapshot, NULL, nkeys, norderbys, SO_NONE);
#elif PG_VERSION_NUM >= 180000
	return index_beginscan(heap, index, snapshot, NULL, nkeys, norderbys);
#else
	return index_beginscan(heap, index, snapshot, nkeys, norderbys);
#endif
}

#endif							/* ENERGY_PG_COMPAT_H */
