/*
 * energy 1.2 -> 1.3: upgrade script.
 *
 * Run by ALTER EXTENSION energy UPDATE.  It changes the schema in place and
 * keeps every reading, file, partial and rejected row of a 1.2 database; a
 * fresh CREATE EXTENSION energy runs energy--1.0.sql and each upgrade
 * script in turn, so a new 1.3 database and an upgraded one are built by
 * the same lines.  Released scripts are never edited: every change of 1.3
 * goes here, in the section of the issue it belongs to.
 *
 * As in the install script, every name is schema-qualified (@extschema@ or
 * pg_catalog), and every SQL or PL/pgSQL function pins
 * search_path = pg_catalog, pg_temp.
 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION energy UPDATE TO '1.3'" to load this file. \quit

-------------------------------------------------------------------------------
-- Nothing a caller can steer
-------------------------------------------------------------------------------

-- A unit and its canonical unit are printable ASCII words separated by
-- single spaces: 'kwh ' (a trailing space) or a full-width 'ＫＷＨ' would
-- never be a file's kWh (units compare without case in ASCII only), and
-- would sit in the table looking like a unit that works.  NOT VALID: a row
-- a database already has is left as it is (and still checked when
-- changed), so the update never fails on one.
ALTER TABLE @extschema@.energy_unit
	ADD CONSTRAINT energy_unit_spelling
		CHECK (unit OPERATOR(pg_catalog.~) '^[!-~]+( [!-~]+)*$'
			   AND canonical OPERATOR(pg_catalog.~) '^[!-~]+( [!-~]+)*$') NOT VALID;

-------------------------------------------------------------------------------
-- The readings decoder
-------------------------------------------------------------------------------

-- energy_data (made again below, with each file's zone) reads each block
-- with the meter and the file of its row, so that a damaged block (XX001)
-- names them in its error's context; the
-- two-argument form reads the bytes a caller passes (22P03 when they do
-- not decode).  Both check a block in full, refuse a status that is not
-- text in the database's encoding and a day whose times would overflow
-- (22008), and return their rows in bounded memory.
CREATE FUNCTION @extschema@.energy_block_readings(block bytea, day date, meter_id bigint, file_id bigint)
RETURNS TABLE (at timestamp, value float8, status text, superseded boolean)
AS 'MODULE_PATHNAME', 'energy_block_readings_of'
LANGUAGE C STABLE STRICT PARALLEL SAFE ROWS 96;
COMMENT ON FUNCTION @extschema@.energy_block_readings(bytea, date, bigint, bigint) IS
	'Every reading of the block of energy_reading''s row of this meter and day in a segment of this file, as energy_block_readings(block, day) gives them; a damaged block is SQLSTATE XX001, and the error''s context names the meter, the day and the file. EXECUTE goes with SELECT on energy_reading.';
COMMENT ON FUNCTION @extschema@.energy_block_readings(bytea, date) IS
	'Every reading of an energy_reading block (the chunk''s day is needed: times are stored relative to its midnight), in stored order, with its superseded mark. Bytes that are no valid block are SQLSTATE 22P03. EXECUTE goes with SELECT on energy_reading.';

-- The decoder was PUBLIC's: any role could hand it a small crafted block
-- whose one status covers 65,535 readings.  The rows now take bounded
-- memory, and EXECUTE goes only with the readings themselves: whoever may
-- read energy_reading or energy_data (the raw readings are not PUBLIC's)
-- keeps reading them, and the table's owner grants EXECUTE on both forms
-- with SELECT from now on (README, Privileges).  A view runs its functions
-- with its reader's rights, so a reader of energy_data needs it too.
-- energy_block_encode served the update to 1.2 only.  energy_block_marks
-- stays PUBLIC's: its block comes back the size it went in, checked in full
-- first, and a loading role runs it in energy_resolve().
DO $$
DECLARE
	g record;
BEGIN
	REVOKE ALL ON FUNCTION @extschema@.energy_block_readings(bytea, date) FROM PUBLIC;
	REVOKE ALL ON FUNCTION @extschema@.energy_block_readings(bytea, date, bigint, bigint) FROM PUBLIC;
	REVOKE ALL ON FUNCTION @extschema@.energy_block_encode(timestamp[], float8[], text[], boolean[], date) FROM PUBLIC;
	FOR g IN SELECT DISTINCT a.grantee
			   FROM pg_catalog.pg_class c, LATERAL pg_catalog.aclexplode(c.relacl) a
			  WHERE c.oid OPERATOR(pg_catalog.=) ANY (ARRAY['@extschema@.energy_reading'::pg_catalog.regclass,
															 '@extschema@.energy_data'::pg_catalog.regclass])
				AND a.privilege_type OPERATOR(pg_catalog.=) 'SELECT'
				AND a.grantee OPERATOR(pg_catalog.<>) c.relowner
	LOOP
		EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION @extschema@.energy_block_readings(bytea, date), '
								  '@extschema@.energy_block_readings(bytea, date, bigint, bigint) TO %s',
								  CASE WHEN g.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'
									   ELSE g.grantee::pg_catalog.regrole::text END);
	END LOOP;
END
$$;

-------------------------------------------------------------------------------
-- Register re-deliveries
-------------------------------------------------------------------------------

-- A file's register reads of one key (meter, day, channel) are the rows of
-- its segment (one meter and channel) within the day: energy_resolve()
-- finds them by both columns.  The index on segment_id alone read every
-- day of the segment for each key (a month's file: 31 days for one), and
-- the one on (meter_id, at) every copy of the meter's day, superseded or
-- not, so a day delivered for the 20th time read 20 copies.  The new index
-- replaces the one on segment_id (an unload still finds a file's rows by
-- its leading column), so loads keep paying for two indexes.  On a Citus
-- cluster the DROP and the CREATE reach every shard.
DROP INDEX @extschema@.energy_register_segment_idx;
CREATE INDEX energy_register_segment_at_idx ON @extschema@.energy_register (segment_id, at);
COMMENT ON INDEX @extschema@.energy_register_segment_at_idx IS
	'A file''s register reads of a meter-day-channel (its segment, within the day): what energy_resolve() compares, and what an unload removes.';

-- The rewrite of the meter-days whose readings several files deliver
-- (energy--1.1--1.2.sql says how it ranks copies, and why a Citus cluster
-- gets one statement per shard, %1$s below).  It compares only the copies
-- that count and the call's own (or every copy of a key to restore), as in
-- 1.2, and now reads only those: the register reads of the compared files,
-- each file's through the index above.  Its last statement writes again
-- the partials of the files whose partials the marking statement removed,
-- as that statement returns them; 1.2 found those files again by reading
-- every register read of each meter-day, every superseded copy among them
-- (24,000 TOU reads under new names: 1.65 s for the 2nd copy, 7.88 s for
-- the 20th).  Which copy counts, the marks, the partials and the counts
-- returned are those of 1.2: every file with reads of a key has a partial
-- of it, so the files without one after the marking statement were exactly
-- those it removed.  An unload (no new file) skips the count of replaced
-- readings, which is empty then: the copies of the keys it restores (every
-- copy of each) are read twice, not three times.
CREATE OR REPLACE FUNCTION @extschema@.energy_resolve(meter_ids bigint[], days date[], channel_ids bigint[],
													  restore boolean[], new_files bigint[])
RETURNS TABLE (file_id bigint, replacing bigint)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
-- A call sorts the copies of its keys (the loader sends 2,000 keys, about
-- 200,000 readings a copy): in memory, not in temporary files.
SET work_mem = '128MB'
AS $fn$
DECLARE
	-- The keys, and the files whose copies a key's rewrite compares: those
	-- with copies that count (a partial with readings), or every file of a
	-- key to restore.
	keys_and_files constant text := $q$
	k AS (
		SELECT DISTINCT ON (k.meter_id, k.day, k.channel_id) k.meter_id, k.day, k.channel_id, k.restore
		  FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3),
						  pg_catalog.unnest($4)) AS k(meter_id, day, channel_id, restore)
		 ORDER BY k.meter_id, k.day, k.channel_id, k.restore DESC
	), kf AS (
		SELECT DISTINCT d.meter_id, d.day, d.channel_id, d.file_id, k.restore
		  FROM k
		  JOIN @extschema@.energy_daily d
			ON d.meter_id OPERATOR(pg_catalog.=) k.meter_id AND d.day OPERATOR(pg_catalog.=) k.day
		   AND d.channel_id OPERATOR(pg_catalog.=) k.channel_id
		 WHERE (d.meter_id %1$s) AND (k.restore OR d.readings OPERATOR(pg_catalog.>) 0)
	)$q$;
	-- Every copy in the compared files' segments of the keys: LP readings
	-- (one per reading of a block) and register reads.
	copies constant text := $q$
	copies AS (
		SELECT r.ctid AS rid, u.ord, true AS is_lp, kf.meter_id, kf.day, kf.channel_id, kf.file_id,
			   kf.restore, r.line, u.at, NULL::text AS period, NULL::text AS rate,
			   u.value, u.status, u.lost IS TRUE AS was_lost
		  FROM kf
		  JOIN @extschema@.energy_segment s
			ON s.file_id OPERATOR(pg_catalog.=) kf.file_id AND s.meter_id OPERATOR(pg_catalog.=) kf.meter_id
		   AND s.channel_id OPERATOR(pg_catalog.=) kf.channel_id AND (s.meter_id %1$s)
		  JOIN @extschema@.energy_reading r
			ON r.meter_id OPERATOR(pg_catalog.=) kf.meter_id AND r.day OPERATOR(pg_catalog.=) kf.day
		   AND r.segment_id OPERATOR(pg_catalog.=) s.segment_id AND (r.meter_id %1$s)
		 CROSS JOIN LATERAL @extschema@.energy_block_readings(r.block, r.day, kf.meter_id, kf.file_id)
			   WITH ORDINALITY AS u(at, value, status, lost, ord)
		UNION ALL
		SELECT g.ctid, 1, false, kf.meter_id, kf.day, kf.channel_id, kf.file_id,
			   kf.restore, g.line, g.at, g.period, g.rate, g.energy, g.status, g.superseded IS TRUE
		  FROM kf
		  JOIN @extschema@.energy_segment s
			ON s.file_id OPERATOR(pg_catalog.=) kf.file_id AND s.meter_id OPERATOR(pg_catalog.=) kf.meter_id
		   AND s.channel_id OPERATOR(pg_catalog.=) kf.channel_id AND (s.meter_id %1$s)
		 CROSS JOIN LATERAL (
			-- the file's reads of the key and nothing else, through the
			-- (segment_id, at) index on both columns: kept apart by
			-- OFFSET 0, so that the planner cannot probe by segment alone
			-- (every day of a file's segment); and no condition on the
			-- meter but the shard's (the segment is of one meter), which
			-- the (meter_id, at) index would take (every copy of the
			-- meter's day)
			SELECT g.ctid, g.line, g.at, g.period, g.rate, g.energy, g.status, g.superseded
			  FROM @extschema@.energy_register g
			 WHERE g.segment_id OPERATOR(pg_catalog.=) s.segment_id
			   AND g.at OPERATOR(pg_catalog.>=) kf.day::timestamp
			   AND g.at OPERATOR(pg_catalog.<) (kf.day OPERATOR(pg_catalog.+) 1)::timestamp
			   AND (g.meter_id %1$s)
			OFFSET 0) g
	)$q$;
	-- The compared copies ranked: every one but the first of a reading
	-- loses.  A key to restore compares every copy; another compares only
	-- the copies that counted (eligible): a copy already superseded stays
	-- so, and is kept apart in partitions of its own.  replacing_file is
	-- the winner's file where another file's copy that counted lost to it.
	ranked constant text := $q$
	w AS MATERIALIZED (
		SELECT c.rid, c.ord, c.is_lp, c.was_lost,
			   CASE WHEN c.eligible THEN pg_catalog.row_number() OVER p OPERATOR(pg_catalog.>) 1
					ELSE c.was_lost END AS lost,
			   CASE WHEN c.eligible AND pg_catalog.row_number() OVER p OPERATOR(pg_catalog.=) 1
						 AND pg_catalog.min(c.file_id) FILTER (WHERE NOT c.was_lost) OVER q
							 OPERATOR(pg_catalog.<>) pg_catalog.max(c.file_id) FILTER (WHERE NOT c.was_lost) OVER q
					THEN c.file_id END AS replacing_file
		  FROM (SELECT copies.*, copies.restore OR NOT copies.was_lost AS eligible FROM copies) c
		WINDOW q AS (PARTITION BY c.eligible, c.meter_id, c.day, c.channel_id, c.at, c.period, c.rate),
			   p AS (q ORDER BY c.file_id DESC, c.line DESC NULLS LAST, c.rid DESC, c.ord DESC)
	)$q$;
	-- The three statements below are formatted with the same arguments:
	-- %1$s the shard filter, %2$s the keys and their files (k, kf), %3$s
	-- the copies, %4$s their ranking (w); each takes the pieces it needs.
	-- What the new files ($5) replaced, read before anything is marked.
	count_replacing constant text := $q$
	WITH %2$s, %3$s, %4$s
	SELECT w.replacing_file, pg_catalog.count(*)
	  FROM w
	 WHERE w.replacing_file OPERATOR(pg_catalog.=) ANY ($5)
	 GROUP BY w.replacing_file
$q$;
	-- Mark the copies that lose, and remove the compared files' partials
	-- (the main statement a DELETE, as Citus routes it to a shard),
	-- returning their keys and files: the files whose partials the next
	-- statement writes again.
	mark constant text := $q$
	WITH %2$s, %3$s, %4$s, lp AS (
		UPDATE @extschema@.energy_reading t SET block = @extschema@.energy_block_marks(t.block, m.mask)
		  FROM (SELECT w.rid, CASE WHEN pg_catalog.bool_or(w.lost) THEN pg_catalog.array_agg(w.lost ORDER BY w.ord) END AS mask
				  FROM w WHERE w.is_lp GROUP BY w.rid
				HAVING pg_catalog.bool_or(w.lost IS DISTINCT FROM w.was_lost)) m
		 WHERE t.ctid OPERATOR(pg_catalog.=) m.rid AND (t.meter_id %1$s)
		RETURNING 1
	), tou AS (
		-- only the reads whose mark changes are looked up (superseded is
		-- true or NULL, which was_lost read), as lp above keeps only the
		-- blocks with a changed mark: an unload compares every copy of its
		-- keys, but changes a few
		UPDATE @extschema@.energy_register t SET superseded = CASE WHEN w.lost THEN true END
		  FROM (SELECT w.rid, w.lost FROM w
				 WHERE NOT w.is_lp AND w.lost IS DISTINCT FROM w.was_lost) w
		 WHERE t.ctid OPERATOR(pg_catalog.=) w.rid AND (t.meter_id %1$s)
		   AND t.superseded IS DISTINCT FROM (CASE WHEN w.lost THEN true END)
		RETURNING 1
	)
	DELETE FROM @extschema@.energy_daily d USING kf
	 WHERE d.meter_id OPERATOR(pg_catalog.=) kf.meter_id AND d.day OPERATOR(pg_catalog.=) kf.day
	   AND d.channel_id OPERATOR(pg_catalog.=) kf.channel_id AND d.file_id OPERATOR(pg_catalog.=) kf.file_id
	   AND (d.meter_id %1$s)
	RETURNING d.meter_id, d.day, d.channel_id, d.file_id
$q$;
	-- The compared files' partials again, from the copies that count; the
	-- statement before removed them (a separate statement: an INSERT cannot
	-- follow a DELETE of the same keys within one).  A file all of whose
	-- copies of a key lost keeps a placeholder partial (readings 0): its
	-- readings are still found through its partials' meter-days.
	recompute constant text := $q$
	WITH kf AS (
		-- the files of a key whose partials the statement before removed
		-- (the files the marks compared): never every file that has
		-- copies of the key, which would read each superseded copy again
		SELECT DISTINCT k.meter_id, k.day, k.channel_id, k.file_id, false AS restore
		  FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3),
						  pg_catalog.unnest($4)) AS k(meter_id, day, channel_id, file_id)
	), %3$s, v AS (
		SELECT * FROM copies
	), wg AS (
		-- the gaps between consecutive LP readings that count, in minutes
		SELECT v.meter_id, v.day, v.channel_id,
			   pg_catalog.round(EXTRACT(epoch FROM v.at OPERATOR(pg_catalog.-) pg_catalog.lag(v.at) OVER (
				   PARTITION BY v.meter_id, v.day, v.channel_id ORDER BY v.at)) OPERATOR(pg_catalog./) 60) AS gap
		  FROM v WHERE v.is_lp AND NOT v.was_lost
	), modes AS (
		-- each key's most common gap, the smaller of equally common ones
		SELECT DISTINCT ON (wg.meter_id, wg.day, wg.channel_id) wg.meter_id, wg.day, wg.channel_id, wg.gap::integer AS mode
		  FROM wg
		 WHERE wg.gap OPERATOR(pg_catalog.>) 0
		 GROUP BY wg.meter_id, wg.day, wg.channel_id, wg.gap
		 ORDER BY wg.meter_id, wg.day, wg.channel_id, pg_catalog.count(*) DESC, wg.gap
	), fresh AS (
		SELECT v.meter_id, v.day, v.channel_id, v.file_id,
			   pg_catalog.count(*) FILTER (WHERE NOT v.was_lost) AS readings,
			   COALESCE(pg_catalog.sum(v.value::numeric) FILTER (WHERE NOT v.was_lost), 0) AS sum_value,
			   pg_catalog.min(v.value) FILTER (WHERE NOT v.was_lost) AS min_value,
			   pg_catalog.max(v.value) FILTER (WHERE NOT v.was_lost) AS max_value,
			   pg_catalog.count(*) FILTER (WHERE NOT v.was_lost AND v.status OPERATOR(pg_catalog.<>) '') AS with_status,
			   pg_catalog.count(*) FILTER (WHERE NOT v.was_lost AND v.status OPERATOR(pg_catalog.<>) ''
										   AND v.status OPERATOR(pg_catalog.!~~) 'A%%') AS not_a,
			   pg_catalog.bool_or(v.is_lp AND NOT v.was_lost) AS has_lp
		  FROM v GROUP BY 1, 2, 3, 4
	), spread AS (
		-- a key's mode onto its files' rows by a window over both sets,
		-- not a join: the planner cannot know how many rows either has
		SELECT b.*, pg_catalog.max(b.mode) OVER (PARTITION BY b.meter_id, b.day, b.channel_id) AS key_mode
		  FROM (SELECT fresh.*, NULL::integer AS mode FROM fresh
				UNION ALL
				SELECT modes.meter_id, modes.day, modes.channel_id, NULL, NULL, NULL, NULL, NULL,
					   NULL, NULL, NULL, modes.mode
				  FROM modes) b
	)
	INSERT INTO @extschema@.energy_daily (meter_id, day, channel_id, file_id, part, readings,
										  sum_value, min_value, max_value, flagged, interval_minutes)
	SELECT p.meter_id, p.day, p.channel_id, p.file_id, 1, p.readings, p.sum_value, p.min_value, p.max_value,
		   -- not "actual": a status, or for MDFF a quality method other than A
		   -- (the loader's row_flagged(), in loader.c)
		   CASE WHEN f.format OPERATOR(pg_catalog.=) ANY (ARRAY['NEM12', 'NEM13'])
				THEN p.not_a ELSE p.with_status END,
		   CASE WHEN p.has_lp THEN p.key_mode END
	  FROM spread p
	  -- a file whose name a replace released is still removed by its partials
	  LEFT JOIN @extschema@.energy_file f ON f.file_id OPERATOR(pg_catalog.=) p.file_id
	 WHERE p.file_id IS NOT NULL
$q$;
	m bigint[] := meter_ids;
	d date[] := days;
	c bigint[] := channel_ids;
	rs boolean[] := restore;
	meters bigint[];
	-- on one server, a filter that is always true
	shard_filter text := 'IS NOT NULL';
	distributed constant boolean := @extschema@.energy_distributed();
	shards refcursor;
	r record;
	kf_sql text;
	copies_sql text;
	-- the partials the marks removed (their files are written again)
	rm bigint[];
	rd date[];
	rc bigint[];
	rf bigint[];
BEGIN
	IF distributed THEN
		-- Citus's function exists only where Citus does: EXECUTE
		OPEN shards FOR EXECUTE
			$q$SELECT pg_catalog.array_agg(k.m), pg_catalog.array_agg(k.d), pg_catalog.array_agg(k.c),
					  pg_catalog.array_agg(k.r), pg_catalog.array_agg(DISTINCT k.m)
				 FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3),
								 pg_catalog.unnest($4)) AS k(m, d, c, r)
				GROUP BY pg_catalog.get_shard_id_for_distribution_column('@extschema@.energy_daily', k.m)$q$
			USING meter_ids, days, channel_ids, restore;
	END IF;
	LOOP
		IF distributed THEN
			FETCH shards INTO m, d, c, rs, meters;
			EXIT WHEN NOT FOUND;
			shard_filter := pg_catalog.format('OPERATOR(pg_catalog.=) ANY(%L::bigint[])', meters);
		END IF;
		kf_sql := pg_catalog.format(keys_and_files, shard_filter);
		copies_sql := pg_catalog.format(copies, shard_filter);
		-- an unload registers no file: nothing to count, and the pass over
		-- every copy of the keys it restores is spared
		IF pg_catalog.cardinality(new_files) OPERATOR(pg_catalog.>) 0 THEN
			FOR r IN EXECUTE pg_catalog.format(count_replacing, shard_filter, kf_sql, copies_sql, ranked)
				USING m, d, c, rs, new_files
			LOOP
				file_id := r.replacing_file;
				replacing := r.count;
				RETURN NEXT;
			END LOOP;
		END IF;
		rm := '{}';
		rd := '{}';
		rc := '{}';
		rf := '{}';
		FOR r IN EXECUTE pg_catalog.format(mark, shard_filter, kf_sql, copies_sql, ranked)
			USING m, d, c, rs
		LOOP
			rm := pg_catalog.array_append(rm, r.meter_id);
			rd := pg_catalog.array_append(rd, r.day);
			rc := pg_catalog.array_append(rc, r.channel_id);
			rf := pg_catalog.array_append(rf, r.file_id);
		END LOOP;
		EXECUTE pg_catalog.format(recompute, shard_filter, kf_sql, copies_sql, ranked)
			USING rm, rd, rc, rf;
		EXIT WHEN NOT distributed;
	END LOOP;
	IF distributed THEN
		CLOSE shards;
	END IF;
END
$fn$;
COMMENT ON FUNCTION @extschema@.energy_resolve(bigint[], date[], bigint[], boolean[], bigint[]) IS
	'Internal, called by loads and unloads holding the locks of the keys'' meters: for the given (meter_id, day, channel_id) keys, marks every copy of a reading but the newest as superseded (comparing only the copies that count, or every copy of a key to restore) and rewrites the compared files'' partials; returns how many readings of each of new_files replaced a copy that counted. Runs with the caller''s rights.';

-------------------------------------------------------------------------------
-- energy_verify()
-------------------------------------------------------------------------------

-- Every way the stored state can contradict itself, one row each, and no
-- row on a healthy database: the invariant query the isolation specs
-- repeated, for operators, in amcheck's manner (verify_heapam() also
-- returns its findings as rows).  A reading is the resolver's key (meter,
-- chunk day, channel, time, and a register read's period and rate), as
-- energy_resolve() and resolve.c compare copies.  The kinds:
--   partial_without_file      partials of a file_id that energy_file lacks
--                             (one row per meter-day);
--   segment_without_file      a segment of a file_id that energy_file lacks;
--   reading_without_segment   chunks or register reads whose segment (of
--                             their meter) is gone: no view, no resolve and
--                             no unload finds them;
--   reading_counted_twice     two or more copies of one reading count;
--   superseded_without_winner every stored copy of a reading is marked
--                             superseded: none counts;
--   reading_without_partial   a file's copies of a channel-day with no
--                             partial of that file and channel-day (not even
--                             a placeholder): energy_data shows them, the
--                             views do not count them, and an unload, which
--                             finds a file's readings through its partials,
--                             would leave them behind;
--   partial_without_reading   a file's partials of a channel-day with no
--                             stored copy of that file behind them (not on
--                             a day before energy_horizon's: energy_forget()
--                             removed those copies and kept the partials);
--   partial_mismatch          a file's partials of a channel-day (summed
--                             over their parts) whose readings, sum, min,
--                             max or flagged count differ from its copies
--                             that count;
--   channel_day_without_count every partial of a channel-day is a
--                             placeholder (readings 0): the views' defining
--                             queries divide by zero there, so while one
--                             exists the views are not compared;
--   data_view_mismatch,       a row of the view that differs (byte for
--   channel_view_mismatch     byte, as populate compares) from what the
--                             view's own defining query gives, or a row one
--                             has and the other lacks; only for meter-days
--                             that the change log does not list (those are
--                             stale by design until the next populate), and
--                             only when the next populate is incremental
--                             (both views populated, and a view state of the
--                             current energy_unit: otherwise it refreshes in
--                             full, and stale rows are expected).
-- Not contradictions, so not reported: a change-log entry of a meter-day
-- whose view rows are current (before the first populate every loaded day
-- has one; a re-delivery of the same values, or a load that commits after
-- a populate's snapshot, leaves one; populate rewrites the day, finds the
-- same rows and writes nothing; energy_get only warns that the day may be
-- stale), and interval_minutes (a statistic: a file whose copies did not
-- change keeps the interval the loader found, whatever other files of the
-- channel-day hold).
--
-- A partial's sum is the exact sum of the decimals its file wrote;
-- energy_block_readings() hands each back as a float8, whose shortest text
-- (extra_float_digits = 1) is that decimal for every value of up to 15
-- significant digits.  A longer one (or one the loader summed in extended
-- precision, with more than 9 places or an exponent) reads back within one
-- unit of its float8's last place, so sums are compared within 1e-15 of the
-- sum of the magnitudes (for the values meters write, both sums are exact,
-- and a real difference is many orders of magnitude larger).
--
-- One snapshot: everything it compares is read by one statement, the
-- RETURN QUERY (the statement before it only asks the catalog whether the
-- views hold data).  It is VOLATILE so that this statement takes its
-- snapshot after its locks, as a plain SELECT does: a STABLE function reads
-- with the calling statement's snapshot, taken before, and after waiting
-- for a TRUNCATE (not MVCC-safe) that filled the table again would read
-- its new file with a snapshot that cannot see the rows
-- (test/specs/verify_snapshot.spec).  It only SELECTs, so it
-- holds AccessShareLock on what it reads and waits for no writer or
-- populate.  It reads every stored
-- reading: the main query decodes each block twice and groups the copies
-- twice (by reading, and by file and channel-day), hashing or sorting
-- within work_mem and spilling to disk beyond it; nothing is collected in
-- plpgsql variables (about 9 s for 2.4 million stored copies on two cores).
-- A block that does not decode stops it with SQLSTATE XX001, as energy_data
-- does.  A reading's row names the file whose copy breaks the rule (the
-- copy of the highest file_id counts): the oldest that counts, or, when
-- none counts, the newest, which should.
CREATE FUNCTION @extschema@.energy_verify()
RETURNS TABLE (kind text, meter_code text, serial_number text, day date, file_name text, detail text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
-- the details read the same for every caller: floats in their shortest
-- exact form, times and rows' dates in ISO
SET extra_float_digits = 1
SET DateStyle = 'ISO, YMD'
AS $fn$
DECLARE
	-- Every stored copy of every reading: LP readings (one per reading of a
	-- block) and register reads, with the channel and file of their segment.
	copies constant text := $q$
	copies AS NOT MATERIALIZED (
		SELECT r.meter_id, r.day, s.channel_id, s.file_id, u.at, NULL::text AS period, NULL::text AS rate,
			   u.value, u.status, u.lost
		  FROM @extschema@.energy_reading r
		  JOIN @extschema@.energy_segment s
			ON s.segment_id OPERATOR(pg_catalog.=) r.segment_id AND s.meter_id OPERATOR(pg_catalog.=) r.meter_id
		 CROSS JOIN LATERAL @extschema@.energy_block_readings(r.block, r.day) AS u(at, value, status, lost)
		UNION ALL
		SELECT g.meter_id, g.at::date, s.channel_id, s.file_id, g.at, g.period, g.rate,
			   g.energy, g.status, g.superseded IS TRUE
		  FROM @extschema@.energy_register g
		  JOIN @extschema@.energy_segment s
			ON s.segment_id OPERATOR(pg_catalog.=) g.segment_id AND s.meter_id OPERATOR(pg_catalog.=) g.meter_id
	)$q$;
	-- Per reading: how many copies count (exactly one must).
	readings constant text := $q$
	readings AS (
		SELECT c.meter_id, c.day, c.channel_id, c.at, c.period, c.rate,
			   pg_catalog.count(*) FILTER (WHERE NOT c.lost) AS counting, pg_catalog.count(*) AS stored,
			   pg_catalog.min(c.file_id) FILTER (WHERE NOT c.lost) AS first_counting,
			   pg_catalog.max(c.file_id) FILTER (WHERE NOT c.lost) AS last_counting,
			   pg_catalog.min(c.file_id) AS first_file, pg_catalog.max(c.file_id) AS last_file
		  FROM copies c
		 GROUP BY c.meter_id, c.day, c.channel_id, c.at, c.period, c.rate
		HAVING pg_catalog.count(*) FILTER (WHERE NOT c.lost) OPERATOR(pg_catalog.<>) 1
	)$q$;
	-- Per file and channel-day: its copies that count, and its partials.
	per_file constant text := $q$
	stored AS (
		SELECT c.meter_id, c.day, c.channel_id, c.file_id,
			   pg_catalog.count(*) AS stored,
			   pg_catalog.count(*) FILTER (WHERE NOT c.lost) AS readings,
			   COALESCE(pg_catalog.sum(c.value::text::numeric) FILTER (WHERE NOT c.lost), 0) AS sum_value,
			   COALESCE(pg_catalog.sum(pg_catalog.abs(c.value)) FILTER (WHERE NOT c.lost), 0) AS magnitude,
			   pg_catalog.min(c.value) FILTER (WHERE NOT c.lost) AS min_value,
			   pg_catalog.max(c.value) FILTER (WHERE NOT c.lost) AS max_value,
			   pg_catalog.count(*) FILTER (WHERE NOT c.lost AND c.status OPERATOR(pg_catalog.<>) '') AS with_status,
			   pg_catalog.count(*) FILTER (WHERE NOT c.lost AND c.status OPERATOR(pg_catalog.<>) ''
										   AND c.status OPERATOR(pg_catalog.!~~) 'A%') AS not_a
		  FROM copies c
		 GROUP BY c.meter_id, c.day, c.channel_id, c.file_id
	), partials AS (
		SELECT d.meter_id, d.day, d.channel_id, d.file_id, pg_catalog.count(*) AS parts,
			   pg_catalog.sum(d.readings) AS readings, pg_catalog.sum(d.sum_value) AS sum_value,
			   pg_catalog.min(d.min_value) AS min_value, pg_catalog.max(d.max_value) AS max_value,
			   pg_catalog.sum(d.flagged) AS flagged
		  FROM @extschema@.energy_daily d
		 GROUP BY d.meter_id, d.day, d.channel_id, d.file_id
	), joined AS (
		SELECT COALESCE(p.meter_id, s.meter_id) AS meter_id, COALESCE(p.day, s.day) AS day,
			   COALESCE(p.channel_id, s.channel_id) AS channel_id, COALESCE(p.file_id, s.file_id) AS file_id,
			   p.file_id IS NOT NULL AS has_partial, s.file_id IS NOT NULL AS has_copies,
			   p.parts, p.readings AS p_readings, p.sum_value AS p_sum, p.min_value AS p_min,
			   p.max_value AS p_max, p.flagged AS p_flagged,
			   s.stored, s.readings AS s_readings, s.sum_value AS s_sum, s.magnitude AS s_magnitude,
			   s.min_value AS s_min, s.max_value AS s_max,
			   -- not "actual": a status, or for MDFF a quality method other
			   -- than A (the loader's row_flagged()); unknown without the file
			   CASE WHEN f.format OPERATOR(pg_catalog.=) ANY (ARRAY['NEM12', 'NEM13']) THEN s.not_a
					WHEN f.file_id IS NOT NULL THEN s.with_status END AS s_flagged
		  FROM partials p
		  FULL JOIN stored s
			ON s.meter_id OPERATOR(pg_catalog.=) p.meter_id AND s.day OPERATOR(pg_catalog.=) p.day
		   AND s.channel_id OPERATOR(pg_catalog.=) p.channel_id AND s.file_id OPERATOR(pg_catalog.=) p.file_id
		  LEFT JOIN @extschema@.energy_file f
			ON f.file_id OPERATOR(pg_catalog.=) COALESCE(p.file_id, s.file_id)
	), per_file AS (
		SELECT j.*,
			   CASE WHEN NOT j.has_partial THEN 'reading_without_partial'
					-- a day before the horizon keeps its partials alone
					WHEN NOT j.has_copies
					THEN CASE WHEN j.day OPERATOR(pg_catalog.>=) COALESCE(
								   (SELECT h.before FROM @extschema@.energy_horizon h), '-infinity')
							  THEN 'partial_without_reading' END
					WHEN j.p_readings OPERATOR(pg_catalog.<>) j.s_readings
						 OR pg_catalog.abs(j.p_sum OPERATOR(pg_catalog.-) j.s_sum)
							OPERATOR(pg_catalog.>) (j.s_magnitude OPERATOR(pg_catalog.*) 1e-15)
						 OR j.p_min IS DISTINCT FROM j.s_min
						 OR j.p_max IS DISTINCT FROM j.s_max
						 OR j.p_flagged OPERATOR(pg_catalog.<>) j.s_flagged
					THEN 'partial_mismatch' END AS kind
		  FROM joined j
	)$q$;
	-- Whether the views are meant to be current where the change log lists
	-- nothing: not when the next populate refreshes in full (no view state
	-- of the current energy_unit), and they cannot be computed while a
	-- channel-day has only placeholder partials (their definitions divide
	-- by zero).  Read by the main query, in its snapshot: a one-time filter
	-- of each view's comparison, which is then not run at all.
	views_current constant text := $q$
	views_current AS (
		SELECT EXISTS (SELECT FROM @extschema@.energy_view_state s
						WHERE s.units OPERATOR(pg_catalog.=) @extschema@.energy_unit_digest())
			   AND NOT EXISTS (SELECT FROM @extschema@.energy_daily d
								GROUP BY d.meter_id, d.day, d.channel_id
							   HAVING pg_catalog.sum(d.readings) OPERATOR(pg_catalog.=) 0) AS current
	)$q$;
	-- What the rows say, one per contradiction; the views' comparisons
	-- (below) come last, when the views are populated.
	main constant text := $q$
	WITH %1$s, %2$s, %3$s, %4$s
	SELECT x.kind, COALESCE(x.meter_code, m.meter_code)::text, COALESCE(x.serial_number, m.serial_number)::text,
		   x.day, f.file_name, x.detail
	  FROM (
		SELECT 'partial_without_file' AS kind, d.meter_id, NULL::text AS meter_code, NULL::text AS serial_number,
			   d.day, d.file_id,
			   pg_catalog.format('%%s partial(s) of file_id %%s, which energy_file does not have',
								 pg_catalog.count(*), d.file_id) AS detail
		  FROM @extschema@.energy_daily d
		 WHERE NOT EXISTS (SELECT FROM @extschema@.energy_file f WHERE f.file_id OPERATOR(pg_catalog.=) d.file_id)
		 GROUP BY d.meter_id, d.day, d.file_id
		UNION ALL
		SELECT 'segment_without_file', s.meter_id, NULL, NULL, NULL, s.file_id,
			   pg_catalog.format('segment_id %%s (%%s %%s) of file_id %%s, which energy_file does not have',
								 s.segment_id, ch.data_type, ch.units, s.file_id)
		  FROM @extschema@.energy_segment s
		  LEFT JOIN @extschema@.energy_channel ch ON ch.channel_id OPERATOR(pg_catalog.=) s.channel_id
		 WHERE NOT EXISTS (SELECT FROM @extschema@.energy_file f WHERE f.file_id OPERATOR(pg_catalog.=) s.file_id)
		UNION ALL
		SELECT 'reading_without_segment', o.meter_id, NULL, NULL, o.day, NULL,
			   pg_catalog.format('%%s %%s of segment_id %%s, which energy_segment does not have for meter_id %%s',
								 pg_catalog.count(*), o.what, o.segment_id, o.meter_id)
		  FROM (SELECT r.meter_id, r.day, r.segment_id, 'chunk(s)' AS what FROM @extschema@.energy_reading r
				UNION ALL
				SELECT g.meter_id, g.at::date, g.segment_id, 'register read(s)' FROM @extschema@.energy_register g) o
		 WHERE NOT EXISTS (SELECT FROM @extschema@.energy_segment s
							WHERE s.segment_id OPERATOR(pg_catalog.=) o.segment_id
							  AND s.meter_id OPERATOR(pg_catalog.=) o.meter_id)
		 GROUP BY o.meter_id, o.day, o.segment_id, o.what
		UNION ALL
		SELECT CASE WHEN r.counting OPERATOR(pg_catalog.=) 0 THEN 'superseded_without_winner'
					ELSE 'reading_counted_twice' END,
			   r.meter_id, NULL, NULL, r.day, COALESCE(r.first_counting, r.last_file),
			   pg_catalog.format('%%s %%s at %%s%%s: %%s of its %%s stored copies count (%%s)',
								 ch.data_type, ch.units, r.at,
								 CASE WHEN r.period IS NOT NULL OR r.rate IS NOT NULL
									  THEN pg_catalog.format(' period %%s rate %%s', r.period, r.rate) ELSE '' END,
								 r.counting, r.stored,
								 CASE WHEN r.counting OPERATOR(pg_catalog.=) 0
									  THEN 'stored in ' OPERATOR(pg_catalog.||) r.stored_in
									  ELSE 'counting in ' OPERATOR(pg_catalog.||) r.counting_in END)
		  FROM (SELECT r.*,
					   CASE WHEN r.first_file OPERATOR(pg_catalog.=) r.last_file
							THEN pg_catalog.format('file_id %%s', r.first_file)
							ELSE pg_catalog.format('file_ids %%s to %%s', r.first_file, r.last_file) END AS stored_in,
					   CASE WHEN r.first_counting OPERATOR(pg_catalog.=) r.last_counting
							THEN pg_catalog.format('file_id %%s', r.first_counting)
							ELSE pg_catalog.format('file_ids %%s to %%s', r.first_counting, r.last_counting) END AS counting_in
				  FROM readings r) r
		  LEFT JOIN @extschema@.energy_channel ch ON ch.channel_id OPERATOR(pg_catalog.=) r.channel_id
		UNION ALL
		SELECT p.kind, p.meter_id, NULL, NULL, p.day, p.file_id,
			   pg_catalog.format('%%s %%s, file_id %%s: ', ch.data_type, ch.units, p.file_id) OPERATOR(pg_catalog.||)
			   CASE p.kind
					WHEN 'reading_without_partial'
					THEN pg_catalog.format('%%s stored copies (%%s count) and no partial of this file and channel-day',
										   p.stored, p.s_readings)
					WHEN 'partial_without_reading'
					THEN pg_catalog.format('%%s partial(s) (%%s readings) and no stored copy of this file and channel-day',
										   p.parts, p.p_readings)
					ELSE pg_catalog.format('partials: %%s readings, sum %%s, min %%s, max %%s, flagged %%s; '
										   'copies that count: %%s readings, sum %%s, min %%s, max %%s, flagged %%s',
										   p.p_readings, p.p_sum, p.p_min, p.p_max, p.p_flagged,
										   p.s_readings, p.s_sum, p.s_min, p.s_max, p.s_flagged) END
		  FROM per_file p
		  LEFT JOIN @extschema@.energy_channel ch ON ch.channel_id OPERATOR(pg_catalog.=) p.channel_id
		 WHERE p.kind IS NOT NULL
		UNION ALL
		SELECT 'channel_day_without_count', d.meter_id, NULL, NULL, d.day, NULL,
			   pg_catalog.format('%%s %%s: its %%s partial(s) all have readings 0 (the views were not compared)',
								 ch.data_type, ch.units, pg_catalog.count(*))
		  FROM @extschema@.energy_daily d
		  LEFT JOIN @extschema@.energy_channel ch ON ch.channel_id OPERATOR(pg_catalog.=) d.channel_id
		 GROUP BY d.meter_id, d.day, d.channel_id, ch.data_type, ch.units
		HAVING pg_catalog.sum(d.readings) OPERATOR(pg_catalog.=) 0
		%5$s
	  ) x
	  LEFT JOIN @extschema@.energy_meter m ON m.meter_id OPERATOR(pg_catalog.=) x.meter_id
	  LEFT JOIN @extschema@.energy_file f ON f.file_id OPERATOR(pg_catalog.=) x.file_id
	 ORDER BY 1, 2, 3, 4, 5, 6
$q$;
	-- A view's rows against its defining query (pg_get_viewdef, as populate
	-- reads it), on its unique key, leaving out the meter-days the change
	-- log lists.  A view's row names its meter by code, not by id.
	compare_view constant text := $q$
		UNION ALL
		SELECT %1$L, NULL, COALESCE(v.meter_code, q.meter_code), COALESCE(v.serial_number, q.serial_number),
			   COALESCE(v.day, q.day), NULL,
			   pg_catalog.format('%%s has %%s; its definition gives %%s',
								 %2$L, COALESCE(v::text, 'no row'), COALESCE(q::text, 'no row'))
		  FROM @extschema@.%2$I v
		  FULL JOIN (%3$s) q ON %4$s
		 WHERE (v.meter_code IS NULL OR q.meter_code IS NULL OR NOT v OPERATOR(pg_catalog.*=) q)
		   AND NOT EXISTS (SELECT FROM @extschema@.energy_change c
							 JOIN @extschema@.energy_meter cm ON cm.meter_id OPERATOR(pg_catalog.=) c.meter_id
							WHERE cm.meter_code OPERATOR(pg_catalog.=) COALESCE(v.meter_code, q.meter_code)
							  AND cm.serial_number OPERATOR(pg_catalog.=) COALESCE(v.serial_number, q.serial_number)
							  AND c.day OPERATOR(pg_catalog.=) COALESCE(v.day, q.day))
		   AND (SELECT vc.current FROM views_current vc)$q$;
	views text := '';
	populated boolean;
BEGIN
	-- A view that holds no data cannot be read at all (and the next populate
	-- refreshes it in full): only populated views are compared.
	SELECT dv.relispopulated AND cv.relispopulated
	  INTO populated
	  FROM pg_catalog.pg_class dv, pg_catalog.pg_class cv
	 WHERE dv.oid OPERATOR(pg_catalog.=) '@extschema@.energy_data_view'::pg_catalog.regclass
	   AND cv.oid OPERATOR(pg_catalog.=) '@extschema@.energy_channel_view'::pg_catalog.regclass;
	IF populated THEN
		views := pg_catalog.format(compare_view, 'data_view_mismatch', 'energy_data_view',
			pg_catalog.rtrim(pg_catalog.pg_get_viewdef('@extschema@.energy_data_view'::pg_catalog.regclass), E'; \n'),
			'v.meter_code OPERATOR(pg_catalog.=) q.meter_code AND v.serial_number OPERATOR(pg_catalog.=) q.serial_number'
			' AND v.day OPERATOR(pg_catalog.=) q.day')
			OPERATOR(pg_catalog.||) pg_catalog.format(compare_view, 'channel_view_mismatch', 'energy_channel_view',
			pg_catalog.rtrim(pg_catalog.pg_get_viewdef('@extschema@.energy_channel_view'::pg_catalog.regclass), E'; \n'),
			'v.meter_code OPERATOR(pg_catalog.=) q.meter_code AND v.serial_number OPERATOR(pg_catalog.=) q.serial_number'
			' AND v.day OPERATOR(pg_catalog.=) q.day AND v.data_type OPERATOR(pg_catalog.=) q.data_type'
			' AND v.units OPERATOR(pg_catalog.=) q.units');
	END IF;
	RETURN QUERY EXECUTE pg_catalog.format(main, copies, readings, per_file, views_current, views);
END
$fn$;
-- It reads every table of energy, so it is not for PUBLIC: grant EXECUTE to
-- a role that may read them all (an operator's or monitoring role with
-- SELECT on energy's tables, or the loading role, which has it).
REVOKE ALL ON FUNCTION @extschema@.energy_verify() FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.energy_verify() IS
	'Check that the stored state does not contradict itself, in amcheck''s manner: one row per contradiction (kind, meter_code, serial_number, day, file_name, detail), none on a healthy database. Kinds: partial_without_file (partials of a file_id energy_file lacks), segment_without_file (a segment of a file_id energy_file lacks), reading_without_segment (chunks or register reads whose segment is gone), reading_counted_twice (two or more copies of one reading count), superseded_without_winner (every copy of a reading is marked superseded), reading_without_partial (a file''s copies of a channel-day without a partial of that file and channel-day, so an unload would leave them behind), partial_without_reading (a file''s partials of a channel-day without a stored copy behind them, on a day not before the horizon of energy_horizon), partial_mismatch (a file''s partials of a channel-day whose readings, sum, min, max or flagged count differ from its copies that count), channel_day_without_count (every partial of a channel-day has readings 0; the views are then not compared), data_view_mismatch and channel_view_mismatch (a view row that differs from what the view''s defining query gives, for a meter-day the change log does not list, when the next populate is incremental). A change-log entry of a meter-day whose view rows are current is no contradiction. Reads under one snapshot, takes only AccessShareLock, runs with the caller''s rights and reads every stored reading. EXECUTE is revoked from PUBLIC: grant it to a role with SELECT on energy''s tables.';

-------------------------------------------------------------------------------
-- Billing figures in local time
-------------------------------------------------------------------------------

-- A zone is a name of the tz database, never an offset written as text:
-- PostgreSQL reads '+10' as a POSIX zone, ten hours WEST of UTC, so NEM time
-- written that way would put every period twenty hours out.  The check
-- raises 22023 with the reason, so a CHECK that calls it says more than the
-- constraint's name (src/billing.c).
CREATE FUNCTION @extschema@.energy_time_zone_check(zone text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'energy_time_zone_check'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.energy_time_zone_check(text) IS
	'true when zone names a time zone PostgreSQL knows (Australia/Sydney, Etc/GMT-10), else SQLSTATE 22023 saying why; an offset written as text (+10, UTC+10) is refused, since PostgreSQL reads its sign reversed. NULL gives NULL.';

-- Each file's zone: the wall-clock times of its readings are in it.  NEM12
-- and NEM13 are in NEM time, UTC+10 all year (AEMO's rule), which is
-- Brisbane's zone (no summer time since 1992; the NEM began in 1998); LP
-- and TOU exports in energy.file_time_zone when they loaded, whose default
-- is the same zone.  So every file already loaded gets Australia/Brisbane
-- (a default kept in the catalogue, no rewrite of the table), and the
-- loader names the zone of each new file.
ALTER TABLE @extschema@.energy_file
	ADD COLUMN time_zone text NOT NULL DEFAULT 'Australia/Brisbane'
		CONSTRAINT energy_file_time_zone_check CHECK (@extschema@.energy_time_zone_check(time_zone));
ALTER TABLE @extschema@.energy_file ALTER COLUMN time_zone DROP DEFAULT;
COMMENT ON COLUMN @extschema@.energy_file.time_zone IS
	'Zone of the wall-clock times of the file''s readings: Australia/Brisbane (NEM time, UTC+10 all year) for NEM12 and NEM13, energy.file_time_zone at load time for LP and TOU exports.';

-- energy_data shows it, as its last column (a view can only gain columns at
-- its end); every other column is as it was.
CREATE OR REPLACE VIEW @extschema@.energy_data AS
SELECT m.meter_code, m.serial_number, m.plant_code,
	   u.at AS date_time, c.data_type, u.value AS energy, c.units, u.status,
	   NULL::float8 AS maximum_demand, NULL::timestamp AS time_of_max_demand,
	   NULL::text AS period, NULL::boolean AS dls_active,
	   NULL::bigint AS billing_reset_count, NULL::timestamp AS billing_reset_date_time,
	   NULL::text AS rate, 'LP'::text AS format, s.file_id, r.day, f.time_zone
  FROM @extschema@.energy_reading r
  JOIN @extschema@.energy_segment s ON s.segment_id OPERATOR(pg_catalog.=) r.segment_id
								  AND s.meter_id OPERATOR(pg_catalog.=) r.meter_id
  JOIN @extschema@.energy_file f ON f.file_id OPERATOR(pg_catalog.=) s.file_id
  JOIN @extschema@.energy_meter m ON m.meter_id OPERATOR(pg_catalog.=) r.meter_id
  JOIN @extschema@.energy_channel c ON c.channel_id OPERATOR(pg_catalog.=) s.channel_id
 CROSS JOIN LATERAL @extschema@.energy_block_readings(r.block, r.day, r.meter_id, s.file_id) AS u
 WHERE NOT u.superseded
UNION ALL
SELECT m.meter_code, m.serial_number, m.plant_code,
	   g.at, c.data_type, g.energy, c.units, g.status,
	   g.maximum_demand, g.time_of_max_demand, g.period, g.dls_active,
	   g.billing_reset_count, g.billing_reset_date_time, g.rate, 'TOU'::text, s.file_id,
	   g.at::date, f.time_zone
  FROM @extschema@.energy_register g
  JOIN @extschema@.energy_segment s ON s.segment_id OPERATOR(pg_catalog.=) g.segment_id
								  AND s.meter_id OPERATOR(pg_catalog.=) g.meter_id
  JOIN @extschema@.energy_file f ON f.file_id OPERATOR(pg_catalog.=) s.file_id
  JOIN @extschema@.energy_meter m ON m.meter_id OPERATOR(pg_catalog.=) g.meter_id
  JOIN @extschema@.energy_channel c ON c.channel_id OPERATOR(pg_catalog.=) s.channel_id
 WHERE g.superseded IS NOT TRUE;
COMMENT ON VIEW @extschema@.energy_data IS
	'Every LP reading and TOU register read that counts, with the seed''s column names; energy is the LP Data Value or the TOU Energy; time_zone is the zone of date_time (its file''s). Filter on meter_code and day to read one meter''s day through an index.';

-- Tariffs are data.  A tariff names the zone its windows are read in and
-- the calendar of its public holidays; a window says which period an
-- instant of the tariff belongs to (the matching window of lowest
-- priority).  Like energy_unit, the tables belong to the extension's owner,
-- who writes them; everyone reads them; pg_dump keeps their rows.
CREATE TABLE @extschema@.energy_tariff (
	tariff text PRIMARY KEY,
	time_zone text NOT NULL
		CONSTRAINT energy_tariff_time_zone_check CHECK (@extschema@.energy_time_zone_check(time_zone)),
	calendar text
);
COMMENT ON TABLE @extschema@.energy_tariff IS
	'Time-of-use tariffs: the zone the windows of each are read in (a name, as Australia/Sydney) and the calendar of energy_holiday whose days are day 0 for it (NULL: none).';
COMMENT ON COLUMN @extschema@.energy_tariff.time_zone IS
	'Zone the tariff''s windows are wall-clock times in; summer time makes 23- and 25-hour days, and the windows stay wall-clock.';
COMMENT ON COLUMN @extschema@.energy_tariff.calendar IS
	'Name of the energy_holiday calendar whose days are day 0 (not their weekday) for this tariff; NULL for none.';

CREATE TABLE @extschema@.energy_holiday (
	calendar text NOT NULL,
	day date NOT NULL,
	PRIMARY KEY (calendar, day)
);
COMMENT ON TABLE @extschema@.energy_holiday IS
	'Public holidays per calendar: a tariff with this calendar reads these days as day 0 in its windows'' days, not as their weekday.';

CREATE TABLE @extschema@.energy_tariff_window (
	tariff text NOT NULL REFERENCES @extschema@.energy_tariff ON UPDATE CASCADE ON DELETE CASCADE,
	period text NOT NULL,
	priority integer NOT NULL,
	days integer[]
		CONSTRAINT energy_tariff_window_days_check CHECK (
			days OPERATOR(pg_catalog.<@) ARRAY[0, 1, 2, 3, 4, 5, 6, 7]
			AND pg_catalog.cardinality(days) OPERATOR(pg_catalog.>) 0),
	months integer[]
		CONSTRAINT energy_tariff_window_months_check CHECK (
			months OPERATOR(pg_catalog.<@) ARRAY[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
			AND pg_catalog.cardinality(months) OPERATOR(pg_catalog.>) 0),
	start_time time NOT NULL,
	end_time time NOT NULL,
	CONSTRAINT energy_tariff_window_times_check CHECK (
		start_time OPERATOR(pg_catalog.<) '24:00'::time AND end_time OPERATOR(pg_catalog.<) '24:00'::time
		AND (start_time OPERATOR(pg_catalog.<>) end_time OR end_time OPERATOR(pg_catalog.=) '00:00'::time)),
	CONSTRAINT energy_tariff_window_priority_key UNIQUE (tariff, priority)
);
COMMENT ON TABLE @extschema@.energy_tariff_window IS
	'The periods of a tariff: an instant belongs to the period of the matching window of lowest priority, read in the tariff''s zone. days holds ISO weekdays 1 (Monday) to 7 and 0 for a day of the tariff''s calendar (a holiday matches 0, not its weekday); NULL days or months match all; [start_time, end_time) may wrap past midnight, and end_time 00:00 is the day''s end. days and months are those of the instant''s own local date. An instant no window matches has period NULL.';
COMMENT ON COLUMN @extschema@.energy_tariff_window.priority IS
	'Where windows overlap, the lowest priority wins; two windows of one tariff cannot share one.';
COMMENT ON COLUMN @extschema@.energy_tariff_window.days IS
	'ISO weekdays 1 (Monday) to 7 (Sunday), and 0 for a holiday of the tariff''s calendar; NULL matches every day.';
COMMENT ON COLUMN @extschema@.energy_tariff_window.months IS
	'Months 1 to 12 of the local date; NULL matches every month.';
COMMENT ON COLUMN @extschema@.energy_tariff_window.end_time IS
	'End of the window, excluded; 00:00 is the end of the day, and an end before start_time wraps past midnight ([22:00, 07:00) is 00:00-07:00 and 22:00-24:00 of each matching day).';

GRANT SELECT ON @extschema@.energy_tariff, @extschema@.energy_tariff_window, @extschema@.energy_holiday TO PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.energy_tariff', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.energy_tariff_window', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.energy_holiday', '');

-- Energy per period and maximum demand, in C (src/billing.c): per meter,
-- its blocks of the days the range can reach are read through the
-- reading index and decoded once, each reading that counts placed by the
-- start of its interval, with each local day's periods worked out once;
-- no row per reading is formed.  They run with the caller's rights: the
-- caller needs SELECT on the tables they read, as for energy_data.  They
-- run statements through a cursor, so not in a parallel worker.
CREATE FUNCTION @extschema@.energy_tou(meter_code text, serial_code text, from_day date, to_day date,
									   tariff text)
RETURNS TABLE (meter_code text, serial_number text, data_type text, units text, period text,
			   readings bigint, sum_value numeric, flagged bigint)
AS 'MODULE_PATHNAME', 'energy_tou_date'
LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 8;
COMMENT ON FUNCTION @extschema@.energy_tou(text, text, date, date, text) IS
	'Energy per time-of-use period: one row per meter, channel (data type and canonical unit) and period of the tariff, with the readings, their exact sum and how many are flagged, over the intervals whose start''s local date (tariff zone) is in from_day..to_day. A reading at t in its file''s zone covers (t - interval, t] and belongs to the period of its start; no window: period NULL, so the periods add up to the channel''s total. Only the copies that count; register reads (TOU files) are left out. NULL meter_code: every meter, one at a time; NULL serial_code: every serial. An unknown tariff is 42704; from_day > to_day gives no rows.';

CREATE FUNCTION @extschema@.energy_tou(meter_code text, serial_code text, from_day text, to_day text,
									   tariff text)
RETURNS TABLE (meter_code text, serial_number text, data_type text, units text, period text,
			   readings bigint, sum_value numeric, flagged bigint)
AS 'MODULE_PATHNAME', 'energy_tou_text'
LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 8;
COMMENT ON FUNCTION @extschema@.energy_tou(text, text, text, text, text) IS
	'energy_tou with each day written as energy_get takes it: dd/mm/yyyy, or yyyy-mm-dd with an optional time; whatever DateStyle says.';

CREATE FUNCTION @extschema@.energy_demand(meter_code text, serial_code text, from_day date, to_day date,
										  tariff text, window_minutes integer DEFAULT 30)
RETURNS TABLE (meter_code text, serial_number text, data_type text, units text, period text,
			   max_demand float8, at timestamptz, readings bigint)
AS 'MODULE_PATHNAME', 'energy_demand_date'
LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 8;
COMMENT ON FUNCTION @extschema@.energy_demand(text, text, date, date, text, integer) IS
	'Maximum demand per energy channel (kWh gives kW, kvarh kvar, kVAh kVA) and period of the tariff: the largest energy of a window times 60 / window_minutes. Windows are aligned to multiples of window_minutes from midnight in the file''s zone and belong to the period of their start, and to the range when their start''s local date (tariff zone) is in from_day..to_day; at is the window''s end, the earliest of equal windows wins; readings counts the channel''s readings in the period''s windows. A window that does not divide a day, or is not a whole number of a channel''s intervals, is 22023 naming the channel. Only the copies that count; register reads are left out. An unknown tariff is 42704; from_day > to_day gives no rows.';

CREATE FUNCTION @extschema@.energy_demand(meter_code text, serial_code text, from_day text, to_day text,
										  tariff text, window_minutes integer DEFAULT 30)
RETURNS TABLE (meter_code text, serial_number text, data_type text, units text, period text,
			   max_demand float8, at timestamptz, readings bigint)
AS 'MODULE_PATHNAME', 'energy_demand_text'
LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 8;
COMMENT ON FUNCTION @extschema@.energy_demand(text, text, text, text, text, integer) IS
	'energy_demand with each day written as energy_get takes it: dd/mm/yyyy, or yyyy-mm-dd with an optional time; whatever DateStyle says.';

-------------------------------------------------------------------------------
-- Years of history: forgetting old readings
-------------------------------------------------------------------------------

-- Where the stored readings stop: energy_forget() removed the LP chunks and
-- register reads of every day before "before", and kept their partials, so
-- energy_get(), energy_get_channels() and both views answer those days as
-- before, while energy_data, energy_reading and energy_register have no
-- rows there.  One row at most (no row: nothing was forgotten).  Every
-- writer reads it at the start of its call under RowShareLock, and a
-- forget takes ExclusiveLock on it (forget.c): the two take turns.
CREATE TABLE @extschema@.energy_horizon (
	singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
	before date NOT NULL,
	forgotten_at timestamptz,
	forgotten_by name
);
GRANT SELECT ON @extschema@.energy_horizon TO PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.energy_horizon', '');
COMMENT ON TABLE @extschema@.energy_horizon IS
	'The horizon of forgotten readings: energy_forget() removed the stored readings (energy_reading, energy_register, so energy_data) of every day before "before", and kept their partials (energy_daily), so energy_get, energy_get_channels and the views still answer those days; a later file''s readings of those days are refused. No row: nothing was forgotten.';
COMMENT ON COLUMN @extschema@.energy_horizon.before IS
	'Readings of days before this one were forgotten.';
COMMENT ON COLUMN @extschema@.energy_horizon.forgotten_at IS
	'When the last energy_forget() that moved the horizon ran.';
COMMENT ON COLUMN @extschema@.energy_horizon.forgotten_by IS
	'The role that ran it.';

-- A register read's day is the date of its at (the day of its partial):
-- energy_forget() removes a day of them through this index, so its cost
-- follows what it removes (the indexes on meter_id and segment_id would
-- read every meter's or segment's history).  energy_reading has one
-- leading with day since 1.2.
CREATE INDEX energy_register_at_idx ON @extschema@.energy_register (at);

CREATE FUNCTION @extschema@.energy_forget(before date)
RETURNS bigint
AS 'MODULE_PATHNAME', 'energy_forget'
LANGUAGE C STRICT VOLATILE SECURITY INVOKER;
REVOKE ALL ON FUNCTION @extschema@.energy_forget(date) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.energy_forget(date) IS
	'Remove the stored readings (LP chunks and TOU register reads, superseded copies included) of every day before "before", keep their partials and views, record "before" in energy_horizon, and return how many readings went. A day not after the recorded horizon does nothing and returns 0. Takes turns with every load, replace and unload (ExclusiveLock on energy_horizon, then the writers'' locks of what it removes). Runs with the caller''s rights: it needs DELETE on energy_reading and energy_register and INSERT and UPDATE on energy_horizon; EXECUTE is revoked from PUBLIC. READ COMMITTED only. The space goes to the next (auto)vacuum, after which later loads reuse it.';

-------------------------------------------------------------------------------
-- Years of history: what the figures say of forgotten days
-------------------------------------------------------------------------------

-- energy_tou(), energy_demand() and energy_gaps() read the stored readings,
-- which a forget removed before its horizon: a range that reaches back
-- past it says so with a NOTICE, never a silent zero (energy_get() and the
-- views keep those days' aggregates and answer them as before).
CREATE FUNCTION @extschema@.energy_horizon_notice(from_day date, caller text)
RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
	horizon date;
BEGIN
	SELECT h.before INTO horizon FROM @extschema@.energy_horizon h;
	IF horizon IS NOT NULL AND from_day OPERATOR(pg_catalog.<) horizon THEN
		RAISE NOTICE '% reads no readings before %: they were forgotten', caller,
			pg_catalog.to_char(horizon, 'YYYY-MM-DD')
			USING DETAIL = pg_catalog.format('energy_forget() removed the stored readings of the days before %s; the figures cover the days from it on.',
											 pg_catalog.to_char(horizon, 'YYYY-MM-DD')),
				  HINT = 'energy_get(), energy_get_channels() and the views keep the daily aggregates of those days; energy_horizon says where the stored readings stop.';
	END IF;
END
$fn$;
COMMENT ON FUNCTION @extschema@.energy_horizon_notice(date, text) IS
	'Raises a NOTICE naming the caller when from_day lies before the horizon of energy_forget() (energy_horizon): energy_tou(), energy_demand() and energy_gaps() call it, so a range over forgotten days is never a silent zero.';

-------------------------------------------------------------------------------
-- Years of history: gaps and meter status
-------------------------------------------------------------------------------

-- The intervals of each channel that never arrived.  A channel is a meter
-- code and serial with a data type and canonical unit, as in
-- energy_channel_view (the plant codes and unit spellings of one channel
-- are one channel).  Only interval data counts: the partials of LP and
-- NEM12 files; TOU and NEM13 register reads have no interval and are left
-- out.  The days looked at are every day from the channel's first to its
-- last day with readings (> 0, from the copies that count) in the range.
-- Each day is expected to hold 1440 / interval readings at its own
-- interval: the smallest interval_minutes of its partials; a day without
-- readings, or with one alone (no interval), takes the interval of the
-- day before it (the channel's smallest in the range for a first day
-- without one).  The expected times are those energy_data shows:
-- day 00:00 + k x interval, k = 0 .. n-1 for an LP export (a reading is
-- named by its time, on the day of its time), and k = 1 .. n for a NEM12
-- day (a reading is named by the end of its interval and belongs to the
-- IntervalDate, so the last is 00:00 of the next day); a day without
-- readings follows the format of the day before it.  A present reading is
-- a time of a stored copy that counts (not superseded, as energy_data
-- filters them) in the channel's blocks of that day; a reading off the
-- expected times fills none of them.  A NEM12 reading of quality N (null
-- data, from its 300 or a 400 range) is missing: the format says the
-- meter had no data there and writes 0 in its place; it is stored (and
-- counted in readings and flagged), but never arrived.  Consecutive missing expected times
-- are one row: gap_from the first missing reading's time, gap_to the last
-- one's, missing how many.  Each channel-day is found through the
-- partials' primary key and its blocks through energy_reading's index on
-- (day, meter_id), so a NULL meter (every meter) reads each channel once;
-- a SQL function's rows go through a tuplestore, which spills to disk
-- beyond work_mem, so its memory is bounded.  It runs with the caller's
-- rights, who needs SELECT on the raw readings (and the decoder) as for
-- energy_data.  meter_code and serial_number come last: the rows of a
-- NULL meter or serial need them.  JIT is off: the planner cannot know how
-- few rows each channel's series of days and times give, so its cost
-- estimate of this small per-channel plan passes jit_optimize_above_cost,
-- and compiling it took 2.4 s of a 28 ms call (one meter, a month).
CREATE FUNCTION @extschema@.energy_gaps(meter_code text, serial_code text, from_day date, to_day date)
RETURNS TABLE (data_type text, units text, gap_from timestamp, gap_to timestamp, missing integer,
			   meter_code text, serial_number text)
LANGUAGE sql STABLE PARALLEL SAFE ROWS 20
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $fn$
SELECT @extschema@.energy_horizon_notice(from_day, 'energy_gaps()');
SELECT g.data_type, g.units, g.gap_from, g.gap_to, g.missing, ch.meter_code, ch.serial_number
  FROM (SELECT m.meter_code, m.serial_number, c.data_type, COALESCE(u.canonical, c.units) AS units,
			   pg_catalog.array_agg(DISTINCT d.meter_id) AS meters,
			   pg_catalog.array_agg(DISTINCT d.channel_id) AS channels,
			   pg_catalog.min(d.day) AS first_day, pg_catalog.max(d.day) AS last_day,
			   pg_catalog.min(d.interval_minutes) AS any_interval
		  FROM @extschema@.energy_daily d
		  JOIN @extschema@.energy_file f ON f.file_id OPERATOR(pg_catalog.=) d.file_id
		  JOIN @extschema@.energy_meter m ON m.meter_id OPERATOR(pg_catalog.=) d.meter_id
		  JOIN @extschema@.energy_channel c ON c.channel_id OPERATOR(pg_catalog.=) d.channel_id
		  LEFT JOIN @extschema@.energy_unit u
			ON pg_catalog.lower(u.unit COLLATE "C") OPERATOR(pg_catalog.=) pg_catalog.lower(c.units)
		 WHERE d.day OPERATOR(pg_catalog.>=) $3 AND d.day OPERATOR(pg_catalog.<=) $4
		   AND d.readings OPERATOR(pg_catalog.>) 0
		   AND f.format OPERATOR(pg_catalog.=) ANY (ARRAY['LP', 'NEM12'])
		   AND ($1 IS NULL OR m.meter_code OPERATOR(pg_catalog.=) $1)
		   AND ($2 IS NULL OR m.serial_number OPERATOR(pg_catalog.=) $2)
		 GROUP BY m.meter_code, m.serial_number, c.data_type, COALESCE(u.canonical, c.units)) ch
 CROSS JOIN LATERAL (
	WITH day AS (
		-- every day of the channel's span: its own interval and format
		SELECT s.day::date AS day, p.interval_minutes, p.nem,
			   pg_catalog.count(p.interval_minutes) OVER (ORDER BY s.day) AS interval_run,
			   pg_catalog.count(p.nem) OVER (ORDER BY s.day) AS format_run
		  FROM pg_catalog.generate_series(ch.first_day::timestamp, ch.last_day::timestamp, '1 day') AS s(day)
		  LEFT JOIN LATERAL (
			SELECT pg_catalog.min(d.interval_minutes) AS interval_minutes,
				   pg_catalog.bool_or(f.format OPERATOR(pg_catalog.=) 'NEM12') AS nem
			  FROM @extschema@.energy_daily d
			  JOIN @extschema@.energy_file f ON f.file_id OPERATOR(pg_catalog.=) d.file_id
			 WHERE d.meter_id OPERATOR(pg_catalog.=) ANY (ch.meters)
			   AND d.day OPERATOR(pg_catalog.=) s.day::date
			   AND d.channel_id OPERATOR(pg_catalog.=) ANY (ch.channels)
			   AND d.readings OPERATOR(pg_catalog.>) 0
			   AND f.format OPERATOR(pg_catalog.=) ANY (ARRAY['LP', 'NEM12'])
			HAVING pg_catalog.count(*) OPERATOR(pg_catalog.>) 0) p ON true
	), filled AS (
		-- a day without its own takes the interval and format of the day before
		SELECT day, nem IS NOT NULL AS has_readings,
			   COALESCE(pg_catalog.max(interval_minutes) OVER (PARTITION BY interval_run),
						ch.any_interval) AS step,
			   pg_catalog.bool_or(nem) OVER (PARTITION BY format_run) AS nem
		  FROM day
	), slot AS (
		-- the expected times, numbered in the channel's order
		SELECT f.day, t.at, pg_catalog.row_number() OVER (ORDER BY t.at, f.day) AS n
		  FROM filled f
		 CROSS JOIN LATERAL pg_catalog.generate_series(
				f.day OPERATOR(pg_catalog.+) pg_catalog.make_interval(mins => CASE WHEN f.nem THEN f.step ELSE 0 END),
				f.day OPERATOR(pg_catalog.+) pg_catalog.make_interval(mins => 1440 OPERATOR(pg_catalog.-) CASE WHEN f.nem THEN 0 ELSE f.step END),
				pg_catalog.make_interval(mins => f.step)) AS t(at)
		 WHERE f.step OPERATOR(pg_catalog.>) 0
	), present AS (
		-- the times of the copies that count, day by day through the index
		SELECT DISTINCT f.day, c.at
		  FROM filled f
		 CROSS JOIN LATERAL (
			SELECT b.at
			  FROM @extschema@.energy_reading r
			  JOIN @extschema@.energy_segment s ON s.segment_id OPERATOR(pg_catalog.=) r.segment_id
											  AND s.meter_id OPERATOR(pg_catalog.=) r.meter_id
			  JOIN @extschema@.energy_file e ON e.file_id OPERATOR(pg_catalog.=) s.file_id
			 CROSS JOIN LATERAL @extschema@.energy_block_readings(r.block, r.day, r.meter_id, s.file_id) AS b
			 WHERE r.day OPERATOR(pg_catalog.=) f.day
			   AND r.meter_id OPERATOR(pg_catalog.=) ANY (ch.meters)
			   AND s.channel_id OPERATOR(pg_catalog.=) ANY (ch.channels)
			   AND NOT b.superseded
			   AND NOT (e.format OPERATOR(pg_catalog.=) 'NEM12' AND b.status IS NOT DISTINCT FROM 'N')) AS c
		 WHERE f.has_readings
	)
	SELECT ch.data_type, ch.units, pg_catalog.min(x.at) AS gap_from, pg_catalog.max(x.at) AS gap_to,
		   pg_catalog.count(*)::integer AS missing
	  FROM (SELECT sl.at, sl.n OPERATOR(pg_catalog.-) pg_catalog.row_number() OVER (ORDER BY sl.n) AS run
			  FROM slot sl
			 WHERE NOT EXISTS (SELECT FROM present p
								WHERE p.day OPERATOR(pg_catalog.=) sl.day AND p.at OPERATOR(pg_catalog.=) sl.at)) x
	 GROUP BY x.run
	) g
 ORDER BY ch.meter_code, ch.serial_number, g.data_type, g.units, g.gap_from
$fn$;
COMMENT ON FUNCTION @extschema@.energy_gaps(text, text, date, date) IS
	'Each channel''s runs of missing intervals between its first and last day with readings in from_day..to_day, each day at its own interval (1440 / interval_minutes expected times: 00:00 + k x interval, k = 0..n-1, for an LP export, k = 1..n, ends of intervals, for a NEM12 day), from the times of the stored copies that count (a NEM12 reading of quality N, null data, is missing) and from days with no readings: one row per run, gap_from and gap_to the first and last missing reading''s time as energy_data shows them, missing how many. A NULL meter_code is every meter, a NULL serial_code every serial of the meter. TOU and NEM13 register reads have no interval and are left out. Runs with the caller''s rights: SELECT on the raw readings, as for energy_data.';

-- The meters gone silent: per channel, the last day with readings and the
-- readings of the last energy.status_days days before today against those
-- expected, from the partials alone (a probe of their primary key per
-- channel, never the readings).  The channels are those of the segments,
-- so a channel that sent nothing in the window still shows, with readings
-- 0.  expected_readings is days x 1440 / the channel's interval (that of
-- its last day with one before today); NULL for register reads (TOU,
-- NEM13), which have none.  A view cannot make the library load, so it
-- reads the setting as current_setting('energy.status_days', true): 7
-- while the library is not loaded in the session and the setting not set.
CREATE VIEW @extschema@.energy_meter_status AS
SELECT m.meter_code, m.serial_number, c.data_type, COALESCE(u.canonical, c.units) AS units,
	   pg_catalog.max(k.last_day) AS last_day,
	   pg_catalog.sum(k.readings)::bigint AS readings,
	   ((w.days OPERATOR(pg_catalog.*) 1440) OPERATOR(pg_catalog./) pg_catalog.min(k.interval_minutes))::bigint AS expected_readings
  FROM (SELECT DISTINCT s.meter_id, s.channel_id FROM @extschema@.energy_segment s) sc
 CROSS JOIN (SELECT COALESCE(pg_catalog.current_setting('energy.status_days', true)::integer, 7) AS days) w
 CROSS JOIN LATERAL (
	SELECT (SELECT d.day FROM @extschema@.energy_daily d
			 WHERE d.meter_id OPERATOR(pg_catalog.=) sc.meter_id
			   AND d.channel_id OPERATOR(pg_catalog.=) sc.channel_id
			   AND d.readings OPERATOR(pg_catalog.>) 0
			 ORDER BY d.day DESC LIMIT 1) AS last_day,
		   (SELECT COALESCE(pg_catalog.sum(d.readings), 0) FROM @extschema@.energy_daily d
			 WHERE d.meter_id OPERATOR(pg_catalog.=) sc.meter_id
			   AND d.channel_id OPERATOR(pg_catalog.=) sc.channel_id
			   AND d.day OPERATOR(pg_catalog.>=) (CURRENT_DATE OPERATOR(pg_catalog.-) w.days)
			   AND d.day OPERATOR(pg_catalog.<) CURRENT_DATE) AS readings,
		   (SELECT d.interval_minutes FROM @extschema@.energy_daily d
			 WHERE d.meter_id OPERATOR(pg_catalog.=) sc.meter_id
			   AND d.channel_id OPERATOR(pg_catalog.=) sc.channel_id
			   AND d.day OPERATOR(pg_catalog.<) CURRENT_DATE
			   AND d.interval_minutes IS NOT NULL
			 ORDER BY d.day DESC LIMIT 1) AS interval_minutes) k
  JOIN @extschema@.energy_meter m ON m.meter_id OPERATOR(pg_catalog.=) sc.meter_id
  JOIN @extschema@.energy_channel c ON c.channel_id OPERATOR(pg_catalog.=) sc.channel_id
  LEFT JOIN @extschema@.energy_unit u
	ON pg_catalog.lower(u.unit COLLATE "C") OPERATOR(pg_catalog.=) pg_catalog.lower(c.units)
 GROUP BY m.meter_code, m.serial_number, c.data_type, COALESCE(u.canonical, c.units), w.days;
GRANT SELECT ON @extschema@.energy_meter_status TO PUBLIC;
COMMENT ON VIEW @extschema@.energy_meter_status IS
	'Per meter and channel (data type, canonical unit): the last day with readings, and the readings of the energy.status_days days before current_date (default 7; read with current_setting(''energy.status_days'', true), so 7 in a session that has not loaded the library) against those expected, from the partials (energy_daily), not the readings. Every channel a file ever delivered shows, with readings 0 when it sent nothing in the window: WHERE last_day < current_date - 2 finds the meters gone silent.';
COMMENT ON COLUMN @extschema@.energy_meter_status.meter_code IS 'The meter''s code (NMI for NEM12/NEM13).';
COMMENT ON COLUMN @extschema@.energy_meter_status.serial_number IS 'The meter''s serial number.';
COMMENT ON COLUMN @extschema@.energy_meter_status.data_type IS 'The channel''s data type (NMISuffix for NEM12/NEM13).';
COMMENT ON COLUMN @extschema@.energy_meter_status.units IS 'Canonical unit (energy_unit.canonical), or the first spelling seen of a unit not in energy_unit, as in energy_channel_view.';
COMMENT ON COLUMN @extschema@.energy_meter_status.last_day IS 'The last day with readings (> 0) of the channel, any day, even after current_date.';
COMMENT ON COLUMN @extschema@.energy_meter_status.readings IS 'Readings that count of the energy.status_days days before current_date (current_date itself not included); 0 when none.';
COMMENT ON COLUMN @extschema@.energy_meter_status.expected_readings IS 'energy.status_days x 1440 / the channel''s interval (that of its last day with one before current_date): the readings of those days had none been missing; NULL for register reads (TOU, NEM13), which have no interval.';

-------------------------------------------------------------------------------
-- Files as the market delivers them
-------------------------------------------------------------------------------

-- A drop folder is loaded again and again: a server file that stands as it
-- stood when it was read (size, inode, modification and change time) is
-- unchanged without being read.  NULL for content sent by a client
-- (energy_load_data), for files loaded before 1.3 until their next load,
-- and for a file changed less than two seconds before it was read (a file
-- system's clock moves in ticks: its next load hashes it again).
ALTER TABLE @extschema@.energy_file
	ADD COLUMN file_inode bigint,
	ADD COLUMN file_mtime_ns bigint,
	ADD COLUMN file_ctime_ns bigint;
COMMENT ON COLUMN @extschema@.energy_file.file_inode IS
	'Inode of the server file when it was read; NULL for content sent by a client. With file_size, file_mtime_ns and file_ctime_ns, a file found as recorded is unchanged without being read.';
COMMENT ON COLUMN @extschema@.energy_file.file_mtime_ns IS
	'Modification time of the server file when it was read, in nanoseconds since 1970-01-01 UTC (pg_catalog.to_timestamp(file_mtime_ns / 1e9) shows it); NULL for content sent by a client or a file changed within two seconds of its read.';
COMMENT ON COLUMN @extschema@.energy_file.file_ctime_ns IS
	'Change time (status change: any write, chmod or rename) of the server file when it was read, in nanoseconds since 1970-01-01 UTC; NULL as file_mtime_ns is.';
