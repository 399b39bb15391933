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
--                             stored copy of that file behind them;
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
					WHEN NOT j.has_copies THEN 'partial_without_reading'
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
	'Check that the stored state does not contradict itself, in amcheck''s manner: one row per contradiction (kind, meter_code, serial_number, day, file_name, detail), none on a healthy database. Kinds: partial_without_file (partials of a file_id energy_file lacks), segment_without_file (a segment of a file_id energy_file lacks), reading_without_segment (chunks or register reads whose segment is gone), reading_counted_twice (two or more copies of one reading count), superseded_without_winner (every copy of a reading is marked superseded), reading_without_partial (a file''s copies of a channel-day without a partial of that file and channel-day, so an unload would leave them behind), partial_without_reading (a file''s partials of a channel-day without a stored copy behind them), partial_mismatch (a file''s partials of a channel-day whose readings, sum, min, max or flagged count differ from its copies that count), channel_day_without_count (every partial of a channel-day has readings 0; the views are then not compared), data_view_mismatch and channel_view_mismatch (a view row that differs from what the view''s defining query gives, for a meter-day the change log does not list, when the next populate is incremental). A change-log entry of a meter-day whose view rows are current is no contradiction. Reads under one snapshot, takes only AccessShareLock, runs with the caller''s rights and reads every stored reading. EXECUTE is revoked from PUBLIC: grant it to a role with SELECT on energy''s tables.';
