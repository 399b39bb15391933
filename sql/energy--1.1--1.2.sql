/*
 * energy 1.1 -> 1.2: upgrade script.
 *
 * Run by ALTER EXTENSION energy UPDATE.  It changes the schema in place and
 * keeps every reading, file, partial and rejected row of a 1.1 database; a
 * fresh CREATE EXTENSION energy runs energy--1.0.sql, energy--1.0--1.1.sql
 * and then this script, so a new 1.2 database and an upgraded one are built
 * by the same lines.  Released scripts are never edited: every change of
 * 1.2 goes here, in the section of the issue it belongs to.
 *
 * As in the install script, every name is schema-qualified (@extschema@ or
 * pg_catalog), and every SQL or PL/pgSQL function pins
 * search_path = pg_catalog, pg_temp.
 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION energy UPDATE TO '1.2'" to load this file. \quit

-- Not on a Citus cluster.  1.2 rewrites energy_reading (its readings
-- encoded) and re-keys energy_daily; on distributed tables that DDL would
-- run on the workers' shards before the workers' own copy of the extension
-- has the function that encodes them, and Citus sends DDL from an
-- extension script to the workers as the whole script.  So the update
-- stops, before it changes anything, with what to do instead; the 1.2
-- library keeps serving the 1.1 schema as 1.1 did meanwhile.
DO $$
BEGIN
	IF @extschema@.energy_distributed() THEN
		RAISE EXCEPTION 'energy cannot be updated to 1.2 in place on a Citus cluster'
			USING ERRCODE = 'feature_not_supported',
				  DETAIL = 'energy_distribute() has distributed the tables of this database; the update to 1.2 re-encodes every reading, which it does on one server only.',
				  HINT = 'Keep using this database at 1.1 (the 1.2 library serves it as 1.1 did), or create the extension at 1.2 in a new database, run energy_distribute() there and load the files again.';
	END IF;
END
$$;

-------------------------------------------------------------------------------
-- Writers that never lose, double or deadlock
-------------------------------------------------------------------------------

-- Nothing the caller controls steers energy's SQL.  A function without a
-- pinned search_path resolves its operators and functions through the
-- caller's: a role with CREATE on a schema early in it could plant an
-- operator (say =(boolean[], boolean[])) that the loader then runs with the
-- loading role's rights.  Every SQL and PL/pgSQL function of the extension
-- now runs with search_path = pg_catalog, pg_temp (and names its own
-- objects with @extschema@).
ALTER FUNCTION @extschema@.energy_json(@extschema@.energy_data_view) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION @extschema@.energy_distributed() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION @extschema@.energy_unit_builtins() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION @extschema@.energy_unit_digest() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION @extschema@.energy_distribute() SET search_path = pg_catalog, pg_temp;

-- No single reading can stop populate: the channel view multiplies every
-- value by its unit's factor, so a factor is kept where a value the loader
-- accepted (its canonical value finite, checked with the factor of the
-- day) stays a float8 within a few orders of magnitude.  The built-in
-- factors are 0.001 to 1000.
-- (1.1's check asked only for a positive, finite factor.)
ALTER TABLE @extschema@.energy_unit
	DROP CONSTRAINT energy_unit_factor_check,
	ADD CONSTRAINT energy_unit_factor_check
		CHECK (factor OPERATOR(pg_catalog.>=) 1e-12::float8 AND factor OPERATOR(pg_catalog.<=) 1e12::float8);

-- energy_load and energy_load_data return one more column, last:
-- rows_replacing, the readings of the file that replaced a copy another
-- loaded file (or the file's previous version) had stored.  A function's
-- result type cannot change in place, so each is dropped and created again,
-- and the EXECUTE grants a database had given on it are given again.
DO $$
DECLARE
	g record;
	grants text[] := '{}';
	s text;
BEGIN
	FOR g IN SELECT p.oid::pg_catalog.regprocedure AS fn, a.grantee::pg_catalog.regrole AS grantee
			   FROM pg_catalog.pg_proc p, LATERAL pg_catalog.aclexplode(p.proacl) a
			  WHERE p.oid OPERATOR(pg_catalog.=) ANY (ARRAY[
						'@extschema@.energy_load(text, text)'::pg_catalog.regprocedure,
						'@extschema@.energy_load_data(text, bytea, text)'::pg_catalog.regprocedure])
				AND a.privilege_type OPERATOR(pg_catalog.=) 'EXECUTE'
				AND a.grantee OPERATOR(pg_catalog.<>) p.proowner
				AND a.grantee OPERATOR(pg_catalog.<>) 0
	LOOP
		grants := grants OPERATOR(pg_catalog.||)
			pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %s', g.fn, g.grantee);
	END LOOP;

	DROP FUNCTION @extschema@.energy_load(text, text);
	CREATE FUNCTION @extschema@.energy_load(path text, on_error text DEFAULT 'stop')
	RETURNS TABLE (file_name text, format text, rows_loaded bigint, rows_rejected bigint,
				   action text, rows_replacing bigint)
	AS 'MODULE_PATHNAME', 'energy_load'
	LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

	DROP FUNCTION @extschema@.energy_load_data(text, bytea, text);
	CREATE FUNCTION @extschema@.energy_load_data(file_name text, data bytea, on_error text DEFAULT 'stop')
	RETURNS TABLE (file_name text, format text, rows_loaded bigint, rows_rejected bigint,
				   action text, rows_replacing bigint)
	AS 'MODULE_PATHNAME', 'energy_load_data'
	LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

	REVOKE ALL ON FUNCTION @extschema@.energy_load(text, text) FROM PUBLIC;
	REVOKE ALL ON FUNCTION @extschema@.energy_load_data(text, bytea, text) FROM PUBLIC;
	FOREACH s IN ARRAY grants
	LOOP
		EXECUTE s;
	END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.energy_load(text, text) IS
	'Load an LP, TOU, NEM12 or NEM13 file, or every meter file of a directory in name order, from the server''s file system; one row per file. rows_replacing counts the readings that replaced a copy already stored. on_error: stop (default) or skip. Needs superuser or pg_read_server_files.';
COMMENT ON FUNCTION @extschema@.energy_load_data(text, bytea, text) IS
	'Load a meter file whose content the client sends; the base name of file_name names it in energy_file, as energy_load names a file. rows_replacing counts the readings that replaced a copy already stored. Reads no server file.';

-- The overlap stage reads a file's chunks of a meter-day, and an unload or
-- replace removes them: with the segment in the index, each is found by
-- the index alone, never by reading every file's chunks of that meter-day
-- (a day delivered 20 times had 20 to read).  The same entries, 8 bytes
-- wider.  The day leads: every lookup gives all three columns, and a daily
-- file's entries then go into one end of the index, which stays in
-- memory, instead of one leaf per meter all over it (with meter_id first,
-- a year of a fleet's daily loads slowed by half as the index outgrew
-- shared_buffers).  energy_daily's primary key is ordered the same way,
-- for the same reason.
DROP INDEX @extschema@.energy_reading_meter_day_idx;
CREATE INDEX energy_reading_meter_day_idx ON @extschema@.energy_reading (day, meter_id, segment_id);
ALTER TABLE @extschema@.energy_daily
	DROP CONSTRAINT energy_daily_pkey,
	ADD CONSTRAINT energy_daily_pkey PRIMARY KEY (day, meter_id, channel_id, file_id, part);


-- The rewrite of the meter-days whose readings several files (or several
-- lines of one file) deliver, in one pass per call.  The loader calls it at
-- the end of a call, holding the locks of every meter it touches (lock.c
-- says why that order never deadlocks), for:
--   * the keys another file shares with a file of the call (restore
--     false): only the copies that count today, and the call's own, are
--     compared, so the 20th copy of a day costs what the 2nd did: a
--     superseded copy can never win against the copy that superseded it;
--   * the keys where a removed file (replaced or unloaded) had copies that
--     counted (restore true): every copy of the key is compared, so that
--     the best remaining one counts again.
-- Copies are ranked by file (the higher file_id was loaded later), then by
-- line within a file.  It marks the copies that lose, rewrites the
-- partials of the files whose copies it compared, and returns, per file of
-- new_files, how many of its readings replaced a copy that counted.
-- It runs with the caller's rights, and its search_path is pinned.
--
-- On a Citus cluster (energy_distribute()), the keys are split by the shard
-- their meter lives in, and the statements run once per shard with the
-- shard's meters written into them (%1$s below), so that Citus routes each
-- whole statement to that shard; on one server %1$s is a filter that is
-- always true.
DROP FUNCTION @extschema@.energy_resolve(bigint[], date[], bigint[]);
CREATE FUNCTION @extschema@.energy_resolve(meter_ids bigint[], days date[], channel_ids bigint[],
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
		  FROM ROWS FROM (unnest($1), unnest($2), unnest($3), unnest($4)) AS k(meter_id, day, channel_id, restore)
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
		 CROSS JOIN LATERAL @extschema@.energy_block_readings(r.block, r.day)
			   WITH ORDINALITY AS u(at, value, status, lost, ord)
		UNION ALL
		SELECT g.ctid, 1, false, kf.meter_id, kf.day, kf.channel_id, kf.file_id,
			   kf.restore, g.line, g.at, g.period, g.rate, g.energy, g.status, g.superseded IS TRUE
		  FROM kf
		  JOIN @extschema@.energy_segment s
			ON s.file_id OPERATOR(pg_catalog.=) kf.file_id AND s.meter_id OPERATOR(pg_catalog.=) kf.meter_id
		   AND s.channel_id OPERATOR(pg_catalog.=) kf.channel_id AND (s.meter_id %1$s)
		  JOIN @extschema@.energy_register g
			ON g.meter_id OPERATOR(pg_catalog.=) kf.meter_id AND g.segment_id OPERATOR(pg_catalog.=) s.segment_id
		   AND g.at OPERATOR(pg_catalog.>=) kf.day::timestamp
		   AND g.at OPERATOR(pg_catalog.<) (kf.day OPERATOR(pg_catalog.+) 1)::timestamp
		   AND (g.meter_id %1$s)
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
	-- (the main statement a DELETE, as Citus routes it to a shard).
	mark constant text := $q$
	WITH %2$s, %3$s, %4$s, lp AS (
		UPDATE @extschema@.energy_reading t SET block = @extschema@.energy_block_marks(t.block, m.mask)
		  FROM (SELECT w.rid, CASE WHEN pg_catalog.bool_or(w.lost) THEN pg_catalog.array_agg(w.lost ORDER BY w.ord) END AS mask
				  FROM w WHERE w.is_lp GROUP BY w.rid
				HAVING pg_catalog.bool_or(w.lost IS DISTINCT FROM w.was_lost)) m
		 WHERE t.ctid OPERATOR(pg_catalog.=) m.rid AND (t.meter_id %1$s)
		RETURNING 1
	), tou AS (
		UPDATE @extschema@.energy_register t SET superseded = CASE WHEN w.lost THEN true END
		  FROM w
		 WHERE NOT w.is_lp AND t.ctid OPERATOR(pg_catalog.=) w.rid AND (t.meter_id %1$s)
		   AND t.superseded IS DISTINCT FROM (CASE WHEN w.lost THEN true END)
		RETURNING 1
	)
	DELETE FROM @extschema@.energy_daily d USING kf
	 WHERE d.meter_id OPERATOR(pg_catalog.=) kf.meter_id AND d.day OPERATOR(pg_catalog.=) kf.day
	   AND d.channel_id OPERATOR(pg_catalog.=) kf.channel_id AND d.file_id OPERATOR(pg_catalog.=) kf.file_id
	   AND (d.meter_id %1$s)
$q$;
	-- The compared files' partials again, from the copies that count; the
	-- statement before removed them (a separate statement: an INSERT cannot
	-- follow a DELETE of the same keys within one).  A file all of whose
	-- copies of a key lost keeps a placeholder partial (readings 0): its
	-- readings are still found through its partials' meter-days.
	recompute constant text := $q$
	WITH k AS (
		SELECT DISTINCT k.meter_id, k.day, k.channel_id
		  FROM ROWS FROM (unnest($1), unnest($2), unnest($3)) AS k(meter_id, day, channel_id)
	), kf AS (
		-- the files of a key whose partial the statement before removed
		SELECT DISTINCT s.meter_id, k.day, s.channel_id, s.file_id, false AS restore
		  FROM k
		  JOIN @extschema@.energy_reading r
			ON r.meter_id OPERATOR(pg_catalog.=) k.meter_id AND r.day OPERATOR(pg_catalog.=) k.day AND (r.meter_id %1$s)
		  JOIN @extschema@.energy_segment s
			ON s.segment_id OPERATOR(pg_catalog.=) r.segment_id AND s.meter_id OPERATOR(pg_catalog.=) r.meter_id
		   AND s.channel_id OPERATOR(pg_catalog.=) k.channel_id AND (s.meter_id %1$s)
		 WHERE NOT EXISTS (SELECT FROM @extschema@.energy_daily d
							WHERE d.meter_id OPERATOR(pg_catalog.=) k.meter_id AND d.day OPERATOR(pg_catalog.=) k.day
							  AND d.channel_id OPERATOR(pg_catalog.=) k.channel_id
							  AND d.file_id OPERATOR(pg_catalog.=) s.file_id AND (d.meter_id %1$s))
		UNION
		SELECT DISTINCT s.meter_id, k.day, s.channel_id, s.file_id, false
		  FROM k
		  JOIN @extschema@.energy_register g
			ON g.meter_id OPERATOR(pg_catalog.=) k.meter_id AND (g.meter_id %1$s)
		   AND g.at OPERATOR(pg_catalog.>=) k.day::timestamp
		   AND g.at OPERATOR(pg_catalog.<) (k.day OPERATOR(pg_catalog.+) 1)::timestamp
		  JOIN @extschema@.energy_segment s
			ON s.segment_id OPERATOR(pg_catalog.=) g.segment_id AND s.meter_id OPERATOR(pg_catalog.=) g.meter_id
		   AND s.channel_id OPERATOR(pg_catalog.=) k.channel_id AND (s.meter_id %1$s)
		 WHERE NOT EXISTS (SELECT FROM @extschema@.energy_daily d
							WHERE d.meter_id OPERATOR(pg_catalog.=) k.meter_id AND d.day OPERATOR(pg_catalog.=) k.day
							  AND d.channel_id OPERATOR(pg_catalog.=) k.channel_id
							  AND d.file_id OPERATOR(pg_catalog.=) s.file_id AND (d.meter_id %1$s))
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
BEGIN
	IF distributed THEN
		-- Citus's function exists only where Citus does: EXECUTE
		OPEN shards FOR EXECUTE
			$q$SELECT pg_catalog.array_agg(k.m), pg_catalog.array_agg(k.d), pg_catalog.array_agg(k.c),
					  pg_catalog.array_agg(k.r), pg_catalog.array_agg(DISTINCT k.m)
				 FROM ROWS FROM (unnest($1), unnest($2), unnest($3), unnest($4)) AS k(m, d, c, r)
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
		FOR r IN EXECUTE pg_catalog.format(count_replacing, shard_filter, kf_sql, copies_sql, ranked)
			USING m, d, c, rs, new_files
		LOOP
			file_id := r.replacing_file;
			replacing := r.count;
			RETURN NEXT;
		END LOOP;
		EXECUTE pg_catalog.format(mark, shard_filter, kf_sql, copies_sql, ranked)
			USING m, d, c, rs;
		EXECUTE pg_catalog.format(recompute, shard_filter, kf_sql, copies_sql, ranked)
			USING m, d, c;
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
-- Every supported PostgreSQL
-------------------------------------------------------------------------------

-------------------------------------------------------------------------------
-- Smaller than the files it came from
-------------------------------------------------------------------------------

-- LP readings are stored compressed and lossless: the times, values,
-- statuses and superseded marks of a chunk (a segment-day) are one encoded
-- block (src/codec.c describes its bytes): times as a start and an
-- interval with exceptions, values as integers at the file's own decimal
-- scale (each exactly as the file wrote it), statuses as a dictionary and
-- runs, marks as runs or a bitmap, a version byte in front and a checksum
-- behind.  A day of half-hourly readings takes about 2 bytes a reading
-- instead of 17.  These functions read and write blocks in SQL; the loader
-- and the overlap stage do the same in C.
CREATE FUNCTION @extschema@.energy_block_readings(block bytea, day date)
RETURNS TABLE (at timestamp, value float8, status text, superseded boolean)
AS 'MODULE_PATHNAME', 'energy_block_readings'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 96;
COMMENT ON FUNCTION @extschema@.energy_block_readings(bytea, date) IS
	'Every reading of an energy_reading block (the chunk''s day is needed: times are stored relative to its midnight), in stored order, with its superseded mark. A corrupt block is SQLSTATE XX001.';

CREATE FUNCTION @extschema@.energy_block_marks(block bytea, marks boolean[])
RETURNS bytea
AS 'MODULE_PATHNAME', 'energy_block_marks'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.energy_block_marks(bytea, boolean[]) IS
	'Internal: the block with these superseded marks, one per reading (NULL: none superseded); its readings'' bytes are kept as they are.';

CREATE FUNCTION @extschema@.energy_block_encode(at timestamp[], value float8[], status text[],
												superseded boolean[], day date)
RETURNS bytea
AS 'MODULE_PATHNAME', 'energy_block_encode'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.energy_block_encode(timestamp[], float8[], text[], boolean[], date) IS
	'Internal, for the upgrade from 1.1: a chunk''s arrays as a block. Each float8 becomes the shortest decimal that gives it back, so every value reads back as the same float8.';

-- The chunks are re-encoded in place, in one rewrite of the table: the
-- view that reads them is pointed away from the arrays first (the same
-- view, so its privileges and the views users built on it stay), the value
-- column becomes the block, computed from all four arrays, and the other
-- three are dropped in the same statement.
CREATE OR REPLACE VIEW @extschema@.energy_data AS
SELECT m.meter_code, m.serial_number, m.plant_code,
	   NULL::timestamp AS date_time, c.data_type, NULL::float8 AS energy, c.units, NULL::text AS status,
	   NULL::float8 AS maximum_demand, NULL::timestamp AS time_of_max_demand,
	   NULL::text AS period, NULL::boolean AS dls_active,
	   NULL::bigint AS billing_reset_count, NULL::timestamp AS billing_reset_date_time,
	   NULL::text AS rate, 'LP'::text AS format, s.file_id, r.day
  FROM @extschema@.energy_reading r
  JOIN @extschema@.energy_segment s ON s.segment_id OPERATOR(pg_catalog.=) r.segment_id
  JOIN @extschema@.energy_meter m ON m.meter_id OPERATOR(pg_catalog.=) r.meter_id
  JOIN @extschema@.energy_channel c ON c.channel_id OPERATOR(pg_catalog.=) s.channel_id
 WHERE false;

ALTER TABLE @extschema@.energy_reading DROP CONSTRAINT energy_reading_check;
ALTER TABLE @extschema@.energy_reading
	ALTER COLUMN value TYPE bytea
		USING @extschema@.energy_block_encode(at, value, status, superseded, day),
	DROP COLUMN at,
	DROP COLUMN status,
	DROP COLUMN superseded;
ALTER TABLE @extschema@.energy_reading RENAME COLUMN value TO block;
-- A block is compressed already: pglz would only spend time on a long one.
ALTER TABLE @extschema@.energy_reading ALTER COLUMN block SET STORAGE EXTERNAL;
COMMENT ON COLUMN @extschema@.energy_reading.block IS
	'The chunk''s readings, encoded: times, values exactly as the file wrote them, statuses and superseded marks (NULL-free). Read them with energy_block_readings(block, day), or one row per reading through energy_data.';
COMMENT ON TABLE @extschema@.energy_reading IS
	'LP readings of one segment and day (up to 288 a row), encoded as one block (about 2 bytes a reading for half-hourly data). Read them one row per reading, with the seed''s columns, through energy_data.';

CREATE OR REPLACE VIEW @extschema@.energy_data AS
SELECT m.meter_code, m.serial_number, m.plant_code,
	   u.at AS date_time, c.data_type, u.value AS energy, c.units, u.status,
	   NULL::float8 AS maximum_demand, NULL::timestamp AS time_of_max_demand,
	   NULL::text AS period, NULL::boolean AS dls_active,
	   NULL::bigint AS billing_reset_count, NULL::timestamp AS billing_reset_date_time,
	   NULL::text AS rate, 'LP'::text AS format, s.file_id, r.day
  FROM @extschema@.energy_reading r
  JOIN @extschema@.energy_segment s ON s.segment_id OPERATOR(pg_catalog.=) r.segment_id
								  AND s.meter_id OPERATOR(pg_catalog.=) r.meter_id
  JOIN @extschema@.energy_meter m ON m.meter_id OPERATOR(pg_catalog.=) r.meter_id
  JOIN @extschema@.energy_channel c ON c.channel_id OPERATOR(pg_catalog.=) s.channel_id
 CROSS JOIN LATERAL @extschema@.energy_block_readings(r.block, r.day) AS u
 WHERE NOT u.superseded
UNION ALL
SELECT m.meter_code, m.serial_number, m.plant_code,
	   g.at, c.data_type, g.energy, c.units, g.status,
	   g.maximum_demand, g.time_of_max_demand, g.period, g.dls_active,
	   g.billing_reset_count, g.billing_reset_date_time, g.rate, 'TOU'::text, s.file_id,
	   g.at::date
  FROM @extschema@.energy_register g
  JOIN @extschema@.energy_segment s ON s.segment_id OPERATOR(pg_catalog.=) g.segment_id
								  AND s.meter_id OPERATOR(pg_catalog.=) g.meter_id
  JOIN @extschema@.energy_meter m ON m.meter_id OPERATOR(pg_catalog.=) g.meter_id
  JOIN @extschema@.energy_channel c ON c.channel_id OPERATOR(pg_catalog.=) s.channel_id
 WHERE g.superseded IS NOT TRUE;


-------------------------------------------------------------------------------
-- Client forms, second round
-------------------------------------------------------------------------------

-- The range with each day written as the one-day text form reads it
-- (dd/mm/yyyy, yyyy-mm-dd, what drivers send), never through DateStyle:
-- string literals and text parameters now resolve to this overload, not to
-- the date one through an implicit cast.
CREATE FUNCTION @extschema@.energy_get(meter_code text, serial_code text, from_day text, to_day text)
RETURNS TABLE (meter_code text, serial_number text, plant_code text, day date,
			   min_energy float8, max_energy float8, avg_energy float8, readings bigint)
AS 'MODULE_PATHNAME', 'energy_get_range_text'
LANGUAGE C STABLE STRICT PARALLEL SAFE ROWS 31;
COMMENT ON FUNCTION @extschema@.energy_get(text, text, text, text) IS
	'energy_get(text, text, date, date) with each day written as energy_get(text, text, text) takes it: dd/mm/yyyy, or yyyy-mm-dd with an optional time, and a zone only at midnight; whatever DateStyle says.';

COMMENT ON FUNCTION @extschema@.energy_get(text, text, text) IS
	'energy_get with the day written dd/mm/yyyy or yyyy-mm-dd, whatever DateStyle says; an ISO date may carry the time drivers add, and a zone only at midnight (2015-09-01T00:00:00.000+10:00, 2015-09-01 +00): the day is the date as written. Another time with a zone is SQLSTATE 22007.';

-- sum_value prints the same for the same value, whatever path computed it.
-- A partial's exact sum has the scale of its path: 9 places from the
-- loader (8.300000000), the places of the values from energy_resolve's
-- recompute (8.3), and a sum of several partials takes the largest of
-- theirs.  numeric equality ignores the scale, but its text does not:
-- node-postgres hands the text to applications, and Java's
-- BigDecimal.equals compares the scale.  So the view trims it
-- (trim_scale: exact, no trailing zeros), whatever the partials say.
--
-- A materialized view's query cannot be replaced: the view is made again,
-- and with it energy_get_channels, whose result is the view's row type.
-- Privileges granted or revoked on them are carried over as they were (as
-- ACLs, so that pg_dump still tells them from the extension's own), and
-- the new view is filled at once when energy_data_view was populated, so
-- lookups go on answering after the update.
DO $upgrade$
DECLARE
	view_acl pg_catalog.aclitem[];
	date_acl pg_catalog.aclitem[];
	text_acl pg_catalog.aclitem[];
BEGIN
	SELECT relacl INTO view_acl FROM pg_catalog.pg_class
	 WHERE oid OPERATOR(pg_catalog.=) '@extschema@.energy_channel_view'::pg_catalog.regclass;
	SELECT proacl INTO date_acl FROM pg_catalog.pg_proc
	 WHERE oid OPERATOR(pg_catalog.=) '@extschema@.energy_get_channels(text, text, date)'::pg_catalog.regprocedure;
	SELECT proacl INTO text_acl FROM pg_catalog.pg_proc
	 WHERE oid OPERATOR(pg_catalog.=) '@extschema@.energy_get_channels(text, text, text)'::pg_catalog.regprocedure;

	DROP FUNCTION @extschema@.energy_get_channels(text, text, date);
	DROP FUNCTION @extschema@.energy_get_channels(text, text, text);
	DROP MATERIALIZED VIEW @extschema@.energy_channel_view;

	CREATE MATERIALIZED VIEW @extschema@.energy_channel_view AS
	SELECT m.meter_code, m.serial_number, pg_catalog.min(m.plant_code) AS plant_code, d.day,
		   c.data_type, COALESCE(u.canonical, c.units) AS units,
		   pg_catalog.min(d.interval_minutes) AS interval_minutes,
		   pg_catalog.sum(d.readings)::bigint AS readings,
		   (1440 OPERATOR(pg_catalog./) pg_catalog.min(d.interval_minutes))::bigint AS expected_readings,
		   pg_catalog.min(d.min_value OPERATOR(pg_catalog.*) COALESCE(u.factor, 1)) AS min_value,
		   pg_catalog.max(d.max_value OPERATOR(pg_catalog.*) COALESCE(u.factor, 1)) AS max_value,
		   pg_catalog.trim_scale(pg_catalog.sum(d.sum_value OPERATOR(pg_catalog.*) COALESCE(u.factor, 1)::numeric)) AS sum_value,
		   (pg_catalog.sum(d.sum_value OPERATOR(pg_catalog.*) COALESCE(u.factor, 1)::numeric)
			OPERATOR(pg_catalog./) pg_catalog.sum(d.readings))::float8 AS avg_value,
		   pg_catalog.sum(d.flagged)::bigint AS flagged
	  FROM @extschema@.energy_daily d
	  JOIN @extschema@.energy_meter m ON m.meter_id OPERATOR(pg_catalog.=) d.meter_id
	  JOIN @extschema@.energy_channel c ON c.channel_id OPERATOR(pg_catalog.=) d.channel_id
	  LEFT JOIN @extschema@.energy_unit u
		ON pg_catalog.lower(u.unit COLLATE "C") OPERATOR(pg_catalog.=) pg_catalog.lower(c.units)
	 GROUP BY m.meter_code, m.serial_number, d.day, c.data_type, COALESCE(u.canonical, c.units)
	WITH NO DATA;
	CREATE UNIQUE INDEX energy_channel_view_key
		ON @extschema@.energy_channel_view (meter_code, serial_number, day, data_type, units);
	GRANT SELECT ON @extschema@.energy_channel_view TO PUBLIC;
	COMMENT ON MATERIALIZED VIEW @extschema@.energy_channel_view IS
		'One row per meter code, serial number, day, data type and canonical unit (energy_unit): readings, min, max, exact sum and average in that unit; the interval (most common gap), the readings a full day has (1440 / interval_minutes; more readings missing is a gap) and how many are flagged. Refreshed by energy_populate_view().';
	COMMENT ON COLUMN @extschema@.energy_channel_view.units IS 'Canonical unit (energy_unit.canonical), or the first spelling seen of a unit not in energy_unit.';
	COMMENT ON COLUMN @extschema@.energy_channel_view.interval_minutes IS 'The channel''s interval that day: the most common gap between consecutive readings; NULL for TOU register reads.';
	COMMENT ON COLUMN @extschema@.energy_channel_view.expected_readings IS '1440 / interval_minutes: the readings of a complete day. readings < expected_readings is a gap.';
	COMMENT ON COLUMN @extschema@.energy_channel_view.sum_value IS 'Exact sum of the values, in the canonical unit, without trailing zeros (trim_scale): the same value always prints the same.';
	COMMENT ON COLUMN @extschema@.energy_channel_view.flagged IS 'Readings whose quality is not "actual": a non-empty LP or TOU status, a NEM12/NEM13 quality method other than A.';

	CREATE FUNCTION @extschema@.energy_get_channels(meter_code text, serial_code text, day date)
	RETURNS SETOF @extschema@.energy_channel_view
	AS 'MODULE_PATHNAME', 'energy_get_channels_date'
	LANGUAGE C STABLE PARALLEL SAFE ROWS 8;
	COMMENT ON FUNCTION @extschema@.energy_get_channels(text, text, date) IS
		'The day''s rows of energy_channel_view for one meter, one per data type and unit; a NULL serial_code means every serial of the meter. Raises a NOTICE when that meter-day changed after the last energy_populate_view().';
	CREATE FUNCTION @extschema@.energy_get_channels(meter_code text, serial_code text, date_time text)
	RETURNS SETOF @extschema@.energy_channel_view
	AS 'MODULE_PATHNAME', 'energy_get_channels_text'
	LANGUAGE C STABLE PARALLEL SAFE ROWS 8;
	COMMENT ON FUNCTION @extschema@.energy_get_channels(text, text, text) IS
		'energy_get_channels with the day written as energy_get(text, text, text) takes it: dd/mm/yyyy, or yyyy-mm-dd with an optional time, and a zone only at midnight.';

	-- the privileges as they were (NULL: the defaults, as now)
	UPDATE pg_catalog.pg_class SET relacl = view_acl
	 WHERE oid OPERATOR(pg_catalog.=) '@extschema@.energy_channel_view'::pg_catalog.regclass
	   AND view_acl IS NOT NULL;
	UPDATE pg_catalog.pg_proc SET proacl = date_acl
	 WHERE oid OPERATOR(pg_catalog.=) '@extschema@.energy_get_channels(text, text, date)'::pg_catalog.regprocedure;
	UPDATE pg_catalog.pg_proc SET proacl = text_acl
	 WHERE oid OPERATOR(pg_catalog.=) '@extschema@.energy_get_channels(text, text, text)'::pg_catalog.regprocedure;

	IF (SELECT relispopulated FROM pg_catalog.pg_class
		 WHERE oid OPERATOR(pg_catalog.=) '@extschema@.energy_data_view'::pg_catalog.regclass) THEN
		REFRESH MATERIALIZED VIEW @extschema@.energy_channel_view;
	END IF;
END
$upgrade$;
