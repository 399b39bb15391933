/*
 * energy 1.0 -> 1.1: upgrade script.
 *
 * Run by ALTER EXTENSION energy UPDATE.  It changes the schema in place and
 * keeps every reading, file, partial and rejected row of a 1.0 database; a
 * fresh CREATE EXTENSION energy runs energy--1.0.sql and then this script,
 * so a new 1.1 database and an upgraded one are built by the same lines.
 * Released scripts are never edited: every change of 1.1 goes here.
 *
 * As in the install script, every name is schema-qualified (@extschema@ or
 * pg_catalog).
 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION energy UPDATE TO '1.1'" to load this file. \quit

-------------------------------------------------------------------------------
-- Reliability: a partial counts its readings
-------------------------------------------------------------------------------

-- A partial either counts readings, with their min and max, or is the
-- placeholder of a file all of whose copies of that channel-day a newer
-- file supersedes (below: it keeps the file's meter-days findable, so that
-- an unload or replace of either file finds them): readings 0, sum 0, no
-- min or max.  A role granted INSERT on energy_daily could otherwise write
-- readings = 0 with values, and the views divide by the readings.  Every
-- existing partial has readings > 0, so the constraint is added and checked
-- at once (the update holds its table lock to the end anyway, so NOT VALID
-- would gain nothing).
ALTER TABLE @extschema@.energy_daily
	ALTER COLUMN min_value DROP NOT NULL,
	ALTER COLUMN max_value DROP NOT NULL,
	ADD CONSTRAINT energy_daily_readings_check CHECK (
		(readings OPERATOR(pg_catalog.>) 0 AND min_value IS NOT NULL AND max_value IS NOT NULL)
		OR (readings OPERATOR(pg_catalog.=) 0 AND min_value IS NULL AND max_value IS NULL
			AND sum_value OPERATOR(pg_catalog.=) 0));

-------------------------------------------------------------------------------
-- Populate in proportion to what changed
-------------------------------------------------------------------------------

-- The change log: every meter-day whose partials a load, replace or unload
-- wrote or removed, committed with it.  energy_populate_view() takes the
-- entries its snapshot sees (DELETE ... RETURNING), rewrites those
-- meter-days of the views, and leaves the entries of loads still running.
-- An append log with no unique key: concurrent loads touching the same
-- meter-day never wait for each other here, and populate reads it DISTINCT.
-- The meter leads the index, as in every table Citus would distribute.
CREATE TABLE @extschema@.energy_change (
	meter_id bigint NOT NULL,
	day date NOT NULL
);
CREATE INDEX energy_change_meter_day_idx ON @extschema@.energy_change (meter_id, day);
COMMENT ON TABLE @extschema@.energy_change IS
	'Meter-days changed by loads, replaces and unloads since the last energy_populate_view(), which rewrites only those rows of the views and then removes the entries it used.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.energy_change', '');
-- energy_get reads it, and the meter dictionary, to tell a stale answer:
-- ids, days and the meter codes that energy_data_view shows everyone.
GRANT SELECT ON @extschema@.energy_change TO PUBLIC;
GRANT SELECT ON @extschema@.energy_meter TO PUBLIC;
-- Whoever may write partials now writes the change log too: the loading
-- roles of a 1.0 database keep working after the upgrade.
DO $$
DECLARE
	r record;
BEGIN
	FOR r IN SELECT DISTINCT a.grantee
			   FROM pg_catalog.pg_class c,
					LATERAL pg_catalog.aclexplode(c.relacl) a
			  WHERE c.oid OPERATOR(pg_catalog.=) '@extschema@.energy_daily'::pg_catalog.regclass
				AND a.privilege_type OPERATOR(pg_catalog.=) 'INSERT'
				AND a.grantee OPERATOR(pg_catalog.<>) c.relowner
				AND a.grantee OPERATOR(pg_catalog.<>) 0
	LOOP
		EXECUTE pg_catalog.format('GRANT INSERT ON @extschema@.energy_change TO %s',
								  r.grantee::pg_catalog.regrole);
	END LOOP;
END
$$;

-- energy_view_state.view_rows is kept up to date by populate (rows deleted
-- and inserted); NULL means unknown, after a REFRESH run by hand, and the
-- next populate counts once.  No state row means the next populate is a
-- full refresh: after an upgrade from 1.0, whose loads since the last
-- refresh the change log cannot know (a replaced file's old meter-days).
ALTER TABLE @extschema@.energy_view_state ALTER COLUMN view_rows DROP NOT NULL;
COMMENT ON TABLE @extschema@.energy_view_state IS
	'When energy_populate_view() last changed energy_data_view, by whom, and the view''s row count (NULL when a REFRESH run by hand made it unknown). Without a row, the next energy_populate_view() refreshes in full.';

-- What a 1.0 view had not seen yet: the meter-days of files loaded after its
-- last refresh, so that energy_get says the view is stale for them.
INSERT INTO @extschema@.energy_change (meter_id, day)
SELECT DISTINCT d.meter_id, d.day
  FROM @extschema@.energy_daily d
  JOIN @extschema@.energy_file f ON f.file_id OPERATOR(pg_catalog.=) d.file_id
  JOIN @extschema@.energy_view_state v ON NOT pg_catalog.pg_visible_in_snapshot(f.load_xid, v.snapshot);
DELETE FROM @extschema@.energy_view_state;

-- A REFRESH MATERIALIZED VIEW run by hand gives the same rows as populate,
-- but populate can no longer know the row count from what it changed.
CREATE FUNCTION @extschema@.energy_view_refreshed()
RETURNS event_trigger
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF EXISTS (SELECT FROM pg_catalog.pg_event_trigger_ddl_commands() c
				WHERE c.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
				  AND c.objid OPERATOR(pg_catalog.=) '@extschema@.energy_data_view'::pg_catalog.regclass) THEN
		UPDATE @extschema@.energy_view_state SET view_rows = NULL;
	END IF;
END
$$;
REVOKE ALL ON FUNCTION @extschema@.energy_view_refreshed() FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.energy_view_refreshed() IS
	'Event trigger function: after a REFRESH MATERIALIZED VIEW of energy_data_view run by hand, marks its row count as unknown.';
CREATE EVENT TRIGGER energy_view_refreshed ON ddl_command_end
	WHEN TAG IN ('REFRESH MATERIALIZED VIEW')
	EXECUTE FUNCTION @extschema@.energy_view_refreshed();
COMMENT ON EVENT TRIGGER energy_view_refreshed IS
	'Calls energy_view_refreshed() after every REFRESH MATERIALIZED VIEW, so that populate recounts energy_data_view once.';

COMMENT ON FUNCTION @extschema@.energy_populate_view() IS
	'Bring energy_data_view up to date: the first time (or when it is not populated) by a full refresh, then by rewriting only the meter-days that loads, replaces and unloads changed. Readers are never blocked. Returns its row count.';

-------------------------------------------------------------------------------
-- What client drivers send
-------------------------------------------------------------------------------

CREATE FUNCTION @extschema@.energy_get(meter_code text, serial_code text, from_day date, to_day date)
RETURNS TABLE (meter_code text, serial_number text, plant_code text, day date,
			   min_energy float8, max_energy float8, avg_energy float8, readings bigint)
AS 'MODULE_PATHNAME', 'energy_get_range'
LANGUAGE C STABLE STRICT PARALLEL SAFE ROWS 31;
COMMENT ON FUNCTION @extschema@.energy_get(text, text, date, date) IS
	'One row per day of the closed range from_day..to_day that has data, in day order, from energy_data_view; at most one NOTICE per call when days of the range changed after the last energy_populate_view().';

COMMENT ON FUNCTION @extschema@.energy_get(text, text, text) IS
	'energy_get with the day written dd/mm/yyyy or yyyy-mm-dd, whatever DateStyle says; an ISO date may carry the time and zone that drivers add (2015-09-01T00:00:00.000+10:00, 2015-09-01 +00), and the day is the date as written.';

-- The seed's response body for a row of the view, or its message when there
-- is no row (NULL): both forms of energy_get_json hand it what energy_get
-- found.
CREATE FUNCTION @extschema@.energy_json(r @extschema@.energy_data_view)
RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
	SELECT CASE WHEN r.meter_code IS NULL
				THEN '{"message": "energy data not present"}'::jsonb
				ELSE pg_catalog.jsonb_build_object(
						 'meter_code', r.meter_code,
						 'serial_code', r.serial_number,
						 'plant_code', r.plant_code,
						 'date_time', pg_catalog.to_char(r.day, 'DD/MM/YYYY'),
						 'min_energy', r.min_energy,
						 'max_energy', r.max_energy,
						 'avg_energy', r.avg_energy,
						 'readings', r.readings)
		   END;
END;
COMMENT ON FUNCTION @extschema@.energy_json(@extschema@.energy_data_view) IS
	'A row of energy_data_view as the seed''s /get-data body (jsonb), or {"message": "energy data not present"} for NULL; energy_get_json uses it.';

CREATE OR REPLACE FUNCTION @extschema@.energy_get_json(meter_code text, serial_code text, date_time text)
RETURNS jsonb
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT @extschema@.energy_json((SELECT ROW(g.*)::@extschema@.energy_data_view
		FROM @extschema@.energy_get(energy_get_json.meter_code, energy_get_json.serial_code, energy_get_json.date_time) g));
END;

CREATE FUNCTION @extschema@.energy_get_json(meter_code text, serial_code text, day date)
RETURNS jsonb
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT @extschema@.energy_json((SELECT ROW(g.*)::@extschema@.energy_data_view
		FROM @extschema@.energy_get(energy_get_json.meter_code, energy_get_json.serial_code, energy_get_json.day) g));
END;
COMMENT ON FUNCTION @extschema@.energy_get_json(text, text, date) IS
	'The seed''s /get-data response body for a day given as a date: the day''s row as jsonb, or {"message": "energy data not present"}.';

-------------------------------------------------------------------------------
-- Unloading a file
-------------------------------------------------------------------------------

CREATE FUNCTION @extschema@.energy_unload(file_name text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'energy_unload'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION @extschema@.energy_unload(text) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.energy_unload(text) IS
	'Remove a loaded file (by base name) with its readings, partials and rejects; returns how many readings it removed. The views follow at the next energy_populate_view(). An unknown name is SQLSTATE 58P01. Needs EXECUTE and the privileges a load needs.';

COMMENT ON FUNCTION @extschema@.energy_load_data(text, bytea, text) IS
	'Load an LP or TOU file whose content the client sends; the base name of file_name (after the last /) names it in energy_file, as energy_load names a file. Reads no server file.';

-------------------------------------------------------------------------------
-- One reading, one value: the copy from the most recently loaded file wins
-------------------------------------------------------------------------------

-- A reading is its meter, its channel (data type and unit) and its
-- timestamp, and for a TOU register read also its period and rate.  When
-- files deliver the same reading, every copy is kept, so that unloading the
-- newer file brings the older value back, but only the copy of the file
-- loaded last (the highest file_id: a replaced file gets a new one) counts:
-- the others are marked superseded, and energy_data, the partials and both
-- views leave them out.  Within one file the later line wins.
--
-- superseded is NULL for a chunk none of whose readings lost (almost all of
-- them: the column then costs nothing), else one flag per reading.  line is
-- the file line of the chunk's first reading: the chunks of one file, meter,
-- channel and day are written in file order, so (line, position) orders a
-- file's copies of one reading.  1.0 rows have no line, and fall back to
-- their place in the table.
ALTER TABLE @extschema@.energy_reading
	ADD COLUMN line bigint,
	ADD COLUMN superseded boolean[];
COMMENT ON COLUMN @extschema@.energy_reading.line IS
	'Line of the file where the chunk''s first reading was; orders a file''s copies of one reading (the later line wins).';
COMMENT ON COLUMN @extschema@.energy_reading.superseded IS
	'NULL when every reading of the chunk counts; else true for each reading that a later copy (a file loaded since, or a later line) supersedes.';

ALTER TABLE @extschema@.energy_register
	ADD COLUMN line bigint,
	ADD COLUMN superseded boolean;
COMMENT ON COLUMN @extschema@.energy_register.line IS
	'Line of the file the register read was on; orders a file''s copies of one reading (the later line wins).';
COMMENT ON COLUMN @extschema@.energy_register.superseded IS
	'true when a later copy of this reading (same meter, channel, time, period and rate) supersedes it; NULL when it counts.';
-- The register reads of a meter's day, for the overlap check's rewrite: it
-- costs the meter-days that overlap, never a pass over every register.
CREATE INDEX energy_register_meter_at_idx ON @extschema@.energy_register (meter_id, at);

-- What the channel view needs of each partial besides count, sum, min and
-- max: how many readings are flagged (a non-empty status), and the
-- channel's interval that day (the most common gap between consecutive
-- readings, rounded to the minute; NULL for register reads and for a day
-- of one reading).
ALTER TABLE @extschema@.energy_daily
	ADD COLUMN flagged bigint NOT NULL DEFAULT 0,
	ADD COLUMN interval_minutes integer;
COMMENT ON COLUMN @extschema@.energy_daily.flagged IS
	'Readings of the partial whose quality is not "actual": a non-empty LP or TOU status, a NEM12/NEM13 quality method other than A.';
COMMENT ON COLUMN @extschema@.energy_daily.interval_minutes IS
	'Most common gap between consecutive LP readings of the channel that day, in minutes (the smallest of equally common ones); NULL for TOU reads and for a lone reading.';
COMMENT ON TABLE @extschema@.energy_daily IS
	'Count, exact sum, min, max and flagged count of the values that count (not superseded) per meter, day, channel and file, with the day''s interval. part numbers the loader''s writes within a file: it keeps a bounded number of partials in memory, so a day can rarely be split over two parts.';

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
 CROSS JOIN LATERAL ROWS FROM (pg_catalog.unnest(r.at), pg_catalog.unnest(r.value),
							   pg_catalog.unnest(r.status), pg_catalog.unnest(r.superseded))
	   AS u(at, value, status, superseded)
 WHERE u.superseded IS NOT TRUE
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
COMMENT ON VIEW @extschema@.energy_data IS
	'Every LP reading and TOU register read that counts (one copy per reading: the most recently loaded file''s), with the seed''s column names; energy is the LP Data Value or the TOU Energy. Filter on meter_code and day to read one meter''s day through an index.';

-- Whether energy_distribute() has made energy_daily (and with it every
-- table of the co-located group) a Citus table.  Citus's catalog exists only
-- where Citus does, so it is read through EXECUTE.
CREATE FUNCTION @extschema@.energy_distributed()
RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
DECLARE
	found boolean;
BEGIN
	IF pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
		RETURN false;
	END IF;
	EXECUTE 'SELECT EXISTS (SELECT FROM pg_catalog.pg_dist_partition
							 WHERE logicalrelid OPERATOR(pg_catalog.=) $1)'
		INTO found USING '@extschema@.energy_daily'::pg_catalog.regclass;
	RETURN found;
END
$$;
COMMENT ON FUNCTION @extschema@.energy_distributed() IS
	'Whether energy_distribute() has distributed energy''s tables with Citus (false without Citus).';

-- The rewrite of the meter-days whose readings several files (or several
-- lines of one file) deliver.  The loader calls it for the keys its cheap
-- check flags (another file, or another part of this one, has a partial of
-- the same meter, day and channel), after a file is removed for the keys it
-- shared, and the update below calls it once for every key.  It runs with
-- the caller's rights: it can do nothing the caller could not do to the
-- tables by hand.  Cost: the readings of the keys given, never more.
-- Run on one server, the three statements rewrite every key of the call at
-- once.  On a Citus cluster (energy_distribute()), the keys are split by the
-- shard their meter lives in, and the statements run once per shard with
-- the shard's meters written into them, so that Citus routes each whole
-- statement to that shard (a router query: locks, windows, updates by ctid
-- and all); with the keys as parameters it could not plan them at all.
CREATE FUNCTION @extschema@.energy_resolve(meter_ids bigint[], days date[], channel_ids bigint[])
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
-- A call sorts every copy of its keys (the loader sends 2,000 keys, about
-- 200,000 readings a copy): in memory, not in temporary files.
SET work_mem = '128MB'
AS $fn$
DECLARE
	-- Two rewrites of one key take turns: lock its partials, in key order.
	lock_keys constant text := $q$
	SELECT pg_catalog.count(*) FROM (
		SELECT FROM @extschema@.energy_daily d,
			   ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2),
						  pg_catalog.unnest($3)) AS k(meter_id, day, channel_id)
		 WHERE d.meter_id OPERATOR(pg_catalog.=) k.meter_id %1$s AND d.day OPERATOR(pg_catalog.=) k.day
		   AND d.channel_id OPERATOR(pg_catalog.=) k.channel_id
		 ORDER BY d.meter_id, d.day, d.channel_id, d.file_id, d.part
		   FOR UPDATE OF d) l
$q$;
	-- Every stored copy of every reading of the keys; the newest counts.
	mark_copies constant text := $q$
	WITH k AS (
		SELECT DISTINCT * FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2),
										  pg_catalog.unnest($3)) AS k(meter_id, day, channel_id)
	), copies AS (
		SELECT r.ctid AS rid, u.ord, true AS is_lp, k.meter_id, k.day, k.channel_id,
			   s.file_id, r.line, u.at, NULL::text AS period, NULL::text AS rate
		  FROM k
		  JOIN @extschema@.energy_reading r
			ON r.meter_id OPERATOR(pg_catalog.=) k.meter_id AND r.day OPERATOR(pg_catalog.=) k.day %2$s
		  JOIN @extschema@.energy_segment s
			ON s.segment_id OPERATOR(pg_catalog.=) r.segment_id AND s.channel_id OPERATOR(pg_catalog.=) k.channel_id
		   AND s.meter_id OPERATOR(pg_catalog.=) r.meter_id %5$s
		 CROSS JOIN LATERAL pg_catalog.unnest(r.at) WITH ORDINALITY AS u(at, ord)
		UNION ALL
		SELECT g.ctid, 1, false, k.meter_id, k.day, k.channel_id, s.file_id, g.line, g.at, g.period, g.rate
		  FROM k
		  JOIN @extschema@.energy_register g
			ON g.meter_id OPERATOR(pg_catalog.=) k.meter_id %3$s
		   AND g.at OPERATOR(pg_catalog.>=) k.day::timestamp
		   AND g.at OPERATOR(pg_catalog.<) (k.day OPERATOR(pg_catalog.+) 1)::timestamp
		  JOIN @extschema@.energy_segment s
			ON s.segment_id OPERATOR(pg_catalog.=) g.segment_id AND s.channel_id OPERATOR(pg_catalog.=) k.channel_id
		   AND s.meter_id OPERATOR(pg_catalog.=) g.meter_id %5$s
	), w AS MATERIALIZED (
		SELECT rid, ord, is_lp,
			   pg_catalog.row_number() OVER (
				   PARTITION BY meter_id, day, channel_id, at, period, rate
				   ORDER BY file_id DESC, line DESC NULLS LAST, rid DESC, ord DESC) OPERATOR(pg_catalog.>) 1 AS lost
		  FROM copies
	), lp AS (
		UPDATE @extschema@.energy_reading t SET superseded = m.mask
		  FROM (SELECT rid, CASE WHEN pg_catalog.bool_or(lost) THEN pg_catalog.array_agg(lost ORDER BY ord) END AS mask
				  FROM w WHERE is_lp GROUP BY rid) m
		 WHERE t.ctid OPERATOR(pg_catalog.=) m.rid %4$s AND t.superseded IS DISTINCT FROM m.mask
		RETURNING 1
	), tou AS (
		UPDATE @extschema@.energy_register t SET superseded = CASE WHEN w.lost THEN true END
		  FROM w
		 WHERE NOT w.is_lp AND t.ctid OPERATOR(pg_catalog.=) w.rid %4$s
		   AND t.superseded IS DISTINCT FROM (CASE WHEN w.lost THEN true END)
		RETURNING 1
	)
	DELETE FROM @extschema@.energy_daily d USING k
	 WHERE d.meter_id OPERATOR(pg_catalog.=) k.meter_id AND d.day OPERATOR(pg_catalog.=) k.day
	   AND d.channel_id OPERATOR(pg_catalog.=) k.channel_id %1$s
$q$;
	-- The partials again, from the copies that count.  A file all of whose
	-- copies of a key lost keeps a placeholder partial (readings 0): its
	-- readings are still found through its partials' meter-days.
	recompute constant text := $q$
	WITH k AS (
		SELECT DISTINCT * FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2),
										  pg_catalog.unnest($3)) AS k(meter_id, day, channel_id)
	), v AS (
		SELECT k.meter_id, k.day, k.channel_id, s.file_id, u.at, u.value, u.status,
			   true AS is_lp, u.lost IS TRUE AS lost
		  FROM k
		  JOIN @extschema@.energy_reading r
			ON r.meter_id OPERATOR(pg_catalog.=) k.meter_id AND r.day OPERATOR(pg_catalog.=) k.day %2$s
		  JOIN @extschema@.energy_segment s
			ON s.segment_id OPERATOR(pg_catalog.=) r.segment_id AND s.channel_id OPERATOR(pg_catalog.=) k.channel_id
		   AND s.meter_id OPERATOR(pg_catalog.=) r.meter_id %4$s
		 CROSS JOIN LATERAL ROWS FROM (pg_catalog.unnest(r.at), pg_catalog.unnest(r.value),
									   pg_catalog.unnest(r.status), pg_catalog.unnest(r.superseded))
			   AS u(at, value, status, lost)
		UNION ALL
		SELECT k.meter_id, k.day, k.channel_id, s.file_id, g.at, g.energy, g.status,
			   false, g.superseded IS TRUE
		  FROM k
		  JOIN @extschema@.energy_register g
			ON g.meter_id OPERATOR(pg_catalog.=) k.meter_id %3$s
		   AND g.at OPERATOR(pg_catalog.>=) k.day::timestamp
		   AND g.at OPERATOR(pg_catalog.<) (k.day OPERATOR(pg_catalog.+) 1)::timestamp
		  JOIN @extschema@.energy_segment s
			ON s.segment_id OPERATOR(pg_catalog.=) g.segment_id AND s.channel_id OPERATOR(pg_catalog.=) k.channel_id
		   AND s.meter_id OPERATOR(pg_catalog.=) g.meter_id %4$s
	), wg AS (
		-- the gaps between consecutive LP readings that count, in minutes
		SELECT meter_id, day, channel_id,
			   pg_catalog.round(EXTRACT(epoch FROM at OPERATOR(pg_catalog.-) pg_catalog.lag(at) OVER (
				   PARTITION BY meter_id, day, channel_id ORDER BY at)) OPERATOR(pg_catalog./) 60) AS gap
		  FROM v WHERE is_lp AND NOT lost
	), modes AS (
		-- each key's most common gap, the smaller of equally common ones
		SELECT DISTINCT ON (meter_id, day, channel_id) meter_id, day, channel_id, gap::integer AS mode
		  FROM wg
		 WHERE gap OPERATOR(pg_catalog.>) 0
		 GROUP BY meter_id, day, channel_id, gap
		 ORDER BY meter_id, day, channel_id, pg_catalog.count(*) DESC, gap
	), fresh AS (
		SELECT meter_id, day, channel_id, file_id,
			   pg_catalog.count(*) FILTER (WHERE NOT lost) AS readings,
			   COALESCE(pg_catalog.sum(value::numeric) FILTER (WHERE NOT lost), 0) AS sum_value,
			   pg_catalog.min(value) FILTER (WHERE NOT lost) AS min_value,
			   pg_catalog.max(value) FILTER (WHERE NOT lost) AS max_value,
			   pg_catalog.count(*) FILTER (WHERE NOT lost AND status OPERATOR(pg_catalog.<>) '') AS with_status,
			   pg_catalog.count(*) FILTER (WHERE NOT lost AND status OPERATOR(pg_catalog.<>) ''
										   AND status OPERATOR(pg_catalog.!~~) 'A%%') AS not_a,
			   pg_catalog.bool_or(is_lp AND NOT lost) AS has_lp
		  FROM v GROUP BY 1, 2, 3, 4
	), spread AS (
		-- a key's mode onto its files' rows by a window over both sets,
		-- not a join: the planner cannot know how many rows either has
		SELECT b.*, pg_catalog.max(b.mode) OVER (PARTITION BY b.meter_id, b.day, b.channel_id) AS key_mode
		  FROM (SELECT meter_id, day, channel_id, file_id, readings, sum_value, min_value, max_value,
					   with_status, not_a, has_lp, NULL::integer AS mode
				  FROM fresh
				UNION ALL
				SELECT meter_id, day, channel_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, mode
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
	  JOIN @extschema@.energy_file f ON f.file_id OPERATOR(pg_catalog.=) p.file_id
	 WHERE p.file_id IS NOT NULL
$q$;
	m bigint[];
	d date[];
	c bigint[];
	shard_meters text;
BEGIN
	IF NOT @extschema@.energy_distributed() THEN
		EXECUTE pg_catalog.format(lock_keys, '') USING meter_ids, days, channel_ids;
		EXECUTE pg_catalog.format(mark_copies, '', '', '', '', '') USING meter_ids, days, channel_ids;
		EXECUTE pg_catalog.format(recompute, '', '', '', '') USING meter_ids, days, channel_ids;
		RETURN;
	END IF;
	FOR m, d, c IN EXECUTE
		$q$SELECT pg_catalog.array_agg(k.m), pg_catalog.array_agg(k.d), pg_catalog.array_agg(k.c)
			 FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3)) AS k(m, d, c)
			GROUP BY pg_catalog.get_shard_id_for_distribution_column('@extschema@.energy_daily', k.m)$q$
		USING meter_ids, days, channel_ids
	LOOP
		shard_meters := pg_catalog.quote_literal((SELECT pg_catalog.array_agg(DISTINCT x) FROM pg_catalog.unnest(m) x)::text)
			OPERATOR(pg_catalog.||) '::bigint[])';
		EXECUTE pg_catalog.format(lock_keys, 'AND d.meter_id OPERATOR(pg_catalog.=) ANY(' OPERATOR(pg_catalog.||) shard_meters)
			USING m, d, c;
		EXECUTE pg_catalog.format(mark_copies,
								  'AND d.meter_id OPERATOR(pg_catalog.=) ANY(' OPERATOR(pg_catalog.||) shard_meters,
								  'AND r.meter_id OPERATOR(pg_catalog.=) ANY(' OPERATOR(pg_catalog.||) shard_meters,
								  'AND g.meter_id OPERATOR(pg_catalog.=) ANY(' OPERATOR(pg_catalog.||) shard_meters,
								  'AND t.meter_id OPERATOR(pg_catalog.=) ANY(' OPERATOR(pg_catalog.||) shard_meters,
								  'AND s.meter_id OPERATOR(pg_catalog.=) ANY(' OPERATOR(pg_catalog.||) shard_meters)
			USING m, d, c;
		EXECUTE pg_catalog.format(recompute, '',
								  'AND r.meter_id OPERATOR(pg_catalog.=) ANY(' OPERATOR(pg_catalog.||) shard_meters,
								  'AND g.meter_id OPERATOR(pg_catalog.=) ANY(' OPERATOR(pg_catalog.||) shard_meters,
								  'AND s.meter_id OPERATOR(pg_catalog.=) ANY(' OPERATOR(pg_catalog.||) shard_meters)
			USING m, d, c;
	END LOOP;
END
$fn$;
COMMENT ON FUNCTION @extschema@.energy_resolve(bigint[], date[], bigint[]) IS
	'Internal, called by loads and unloads: for the given (meter_id, day, channel_id) keys, marks every copy of a reading but the newest as superseded and recomputes the keys'' partials from the copies that count. Runs with the caller''s rights.';

-- A 1.0 database may hold a reading twice (a re-delivery under a new name):
-- every key is resolved once, which also fills flagged and interval_minutes.
SELECT @extschema@.energy_resolve(pg_catalog.array_agg(meter_id), pg_catalog.array_agg(day),
								  pg_catalog.array_agg(channel_id))
  FROM (SELECT DISTINCT meter_id, day, channel_id FROM @extschema@.energy_daily) k;

-------------------------------------------------------------------------------
-- AEMO's meter data files: NEM12 (intervals) and NEM13 (accumulation reads)
-------------------------------------------------------------------------------

ALTER TABLE @extschema@.energy_file DROP CONSTRAINT energy_file_format_check;
ALTER TABLE @extschema@.energy_file ADD CONSTRAINT energy_file_format_check
	CHECK (format OPERATOR(pg_catalog.=) ANY (ARRAY['LP', 'TOU', 'NEM12', 'NEM13']));
COMMENT ON COLUMN @extschema@.energy_file.format IS 'LP or TOU, as recognised by the header; NEM12 or NEM13 for AEMO meter data files, recognised by content.';

-------------------------------------------------------------------------------
-- Per-channel aggregates in canonical units
-------------------------------------------------------------------------------

-- The units the extension knows, from one list: the table's first rows, and
-- the filter that keeps them out of pg_dump (CREATE EXTENSION makes them
-- again; a user's own rows, and a built-in one a user changed, are dumped).
CREATE FUNCTION @extschema@.energy_unit_builtins()
RETURNS TABLE (unit text, canonical text, factor float8)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
	SELECT * FROM (VALUES
		('Wh', 'kWh', 0.001::float8), ('kWh', 'kWh', 1), ('MWh', 'kWh', 1000),
		('varh', 'kvarh', 0.001), ('kvarh', 'kvarh', 1), ('Mvarh', 'kvarh', 1000),
		('VAh', 'kVAh', 0.001), ('kVAh', 'kVAh', 1), ('MVAh', 'kVAh', 1000),
		('W', 'kW', 0.001), ('kW', 'kW', 1), ('MW', 'kW', 1000),
		('var', 'kvar', 0.001), ('kvar', 'kvar', 1), ('Mvar', 'kvar', 1000),
		('VA', 'kVA', 0.001), ('kVA', 'kVA', 1), ('MVA', 'kVA', 1000),
		('V', 'V', 1), ('kV', 'V', 1000),
		('A', 'A', 1), ('kA', 'A', 1000)) AS u(unit, canonical, factor);
END;
COMMENT ON FUNCTION @extschema@.energy_unit_builtins() IS
	'The units energy_unit starts with; rows of energy_unit equal to one of these are not dumped by pg_dump, since CREATE EXTENSION makes them.';

-- A unit as written (compared without case), the canonical unit it is
-- shown in, and the factor its values are multiplied by.  A factor is
-- positive and finite, so min stays min and max stays max.
CREATE TABLE @extschema@.energy_unit (
	unit text COLLATE "C" NOT NULL,
	canonical text COLLATE "C" NOT NULL,
	factor float8 NOT NULL
		CHECK (factor OPERATOR(pg_catalog.>) 0 AND factor OPERATOR(pg_catalog.<) 'Infinity'::float8)
);
CREATE UNIQUE INDEX energy_unit_key ON @extschema@.energy_unit (pg_catalog.lower(unit COLLATE "C"));
INSERT INTO @extschema@.energy_unit SELECT * FROM @extschema@.energy_unit_builtins();
COMMENT ON TABLE @extschema@.energy_unit IS
	'Units as written in files (compared without case), the canonical unit energy_channel_view shows them in, and the factor their values are multiplied by (Wh -> kWh: 0.001). Add rows for units of your own; a unit not listed keeps its first spelling, with factor 1. A change here makes the next energy_populate_view() refresh the views in full.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.energy_unit',
	'WHERE (unit, canonical, factor) NOT IN (SELECT * FROM @extschema@.energy_unit_builtins())');
GRANT SELECT ON @extschema@.energy_unit TO PUBLIC;

-- A changed unit table changes rows of energy_channel_view that no load
-- touched.  Populate records a digest of the table with each state, and a
-- different digest makes the next populate a full refresh.  A digest, not a
-- trigger: Citus refuses triggers on the reference table energy_unit
-- becomes on a cluster, and a trigger would fire on every node's copy.
ALTER TABLE @extschema@.energy_view_state ADD COLUMN units text;
COMMENT ON COLUMN @extschema@.energy_view_state.units IS
	'Digest of energy_unit when the views were last brought up to date (energy_unit_digest()); another digest makes the next energy_populate_view() a full refresh.';
CREATE FUNCTION @extschema@.energy_unit_digest()
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
	SELECT pg_catalog.md5(COALESCE(pg_catalog.string_agg(
			   pg_catalog.format('%s %s %s', pg_catalog.lower(u.unit), u.canonical, u.factor::text), ','
			   ORDER BY pg_catalog.lower(u.unit), u.canonical, u.factor), ''))
	  FROM @extschema@.energy_unit u;
END;
COMMENT ON FUNCTION @extschema@.energy_unit_digest() IS
	'A digest of energy_unit''s rows, recorded by energy_populate_view(): when it differs, the next populate refreshes both views in full.';

-- One row per meter, serial, day, data type and canonical unit.  Like
-- energy_data_view it reads only partials, so a refresh costs meter-days.
-- Channels whose units differ only in scale (Wh and kWh) are one row.
CREATE MATERIALIZED VIEW @extschema@.energy_channel_view AS
SELECT m.meter_code, m.serial_number, pg_catalog.min(m.plant_code) AS plant_code, d.day,
	   c.data_type, COALESCE(u.canonical, c.units) AS units,
	   pg_catalog.min(d.interval_minutes) AS interval_minutes,
	   pg_catalog.sum(d.readings)::bigint AS readings,
	   (1440 OPERATOR(pg_catalog./) pg_catalog.min(d.interval_minutes))::bigint AS expected_readings,
	   pg_catalog.min(d.min_value OPERATOR(pg_catalog.*) COALESCE(u.factor, 1)) AS min_value,
	   pg_catalog.max(d.max_value OPERATOR(pg_catalog.*) COALESCE(u.factor, 1)) AS max_value,
	   pg_catalog.sum(d.sum_value OPERATOR(pg_catalog.*) COALESCE(u.factor, 1)::numeric) AS sum_value,
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
COMMENT ON COLUMN @extschema@.energy_channel_view.sum_value IS 'Exact sum of the values, in the canonical unit.';
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
	'energy_get_channels with the day written as energy_get(text, text, text) takes it: dd/mm/yyyy, or yyyy-mm-dd with an optional time and zone.';

COMMENT ON FUNCTION @extschema@.energy_populate_view() IS
	'Bring energy_data_view and energy_channel_view up to date: the first time (or when either is not populated, or energy_unit changed) by a full refresh, then by rewriting only the meter-days that loads, replaces and unloads changed. Readers are never blocked. Returns the row count of energy_data_view.';

-------------------------------------------------------------------------------
-- More than one machine: Citus
-------------------------------------------------------------------------------

-- Citus refuses a unique key of a distributed table without its
-- distribution column, and segments are distributed by meter: the segment
-- id leads the key (readings find their segment by it), the meter follows.
-- Segment ids come from one sequence, so they stay unique on their own.
-- Joins of readings with their segments say the meter too (energy_data
-- above), so that Citus joins them shard by shard.
ALTER TABLE @extschema@.energy_segment
	DROP CONSTRAINT energy_segment_pkey,
	ADD CONSTRAINT energy_segment_pkey PRIMARY KEY (segment_id, meter_id);

-- Run once on the coordinator.  Readings, register reads, segments,
-- partials and the change log are distributed by meter_id, co-located with
-- energy_reading, so that everything of one meter sits in one shard; the
-- dictionaries and the file list become reference tables (a copy on every
-- node), which every shard joins with; so does the unit table.  Two tables
-- stay on the coordinator: energy_view_state and energy_rejects (no meter;
-- written and read only by functions that run on the coordinator, where
-- the materialized views live too).  The
-- materialized views stay local to the coordinator.  Rows already loaded
-- are moved to the workers, and the coordinator's copies removed.  Tables
-- already distributed are left as they are, so a second call does
-- nothing.  Citus's functions are called through EXECUTE: they exist only
-- where Citus does.
CREATE FUNCTION @extschema@.energy_distribute()
RETURNS TABLE (relation regclass, placement text)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
DECLARE
	anchor regclass := '@extschema@.energy_reading'::pg_catalog.regclass;
	t regclass;
BEGIN
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname OPERATOR(pg_catalog.=) 'citus') THEN
		RAISE EXCEPTION 'energy_distribute() needs the citus extension'
			USING ERRCODE = 'feature_not_supported',
				  DETAIL = 'The citus extension is not installed in this database.',
				  HINT = 'Run energy_distribute() on the coordinator of a Citus cluster, after CREATE EXTENSION citus and adding the workers.';
	END IF;
	IF NOT pg_catalog.citus_is_coordinator() THEN
		RAISE EXCEPTION 'energy_distribute() must run on the coordinator'
			USING ERRCODE = 'feature_not_supported',
				  HINT = 'Connect to the coordinator of the Citus cluster.';
	END IF;

	FOR t, placement IN
		SELECT u.t::pg_catalog.regclass, u.placement
		  FROM (VALUES ('@extschema@.energy_reading', 'distributed by meter_id'),
					   ('@extschema@.energy_register', 'distributed by meter_id'),
					   ('@extschema@.energy_segment', 'distributed by meter_id'),
					   ('@extschema@.energy_daily', 'distributed by meter_id'),
					   ('@extschema@.energy_change', 'distributed by meter_id'),
					   ('@extschema@.energy_meter', 'reference'),
					   ('@extschema@.energy_channel', 'reference'),
					   ('@extschema@.energy_file', 'reference'),
					   ('@extschema@.energy_unit', 'reference')) AS u(t, placement)
	LOOP
		IF NOT EXISTS (SELECT FROM pg_catalog.pg_dist_partition p
						WHERE p.logicalrelid OPERATOR(pg_catalog.=) t) THEN
			IF placement OPERATOR(pg_catalog.=) 'reference' THEN
				EXECUTE 'SELECT pg_catalog.create_reference_table($1)' USING t;
			ELSIF t OPERATOR(pg_catalog.=) anchor THEN
				EXECUTE 'SELECT pg_catalog.create_distributed_table($1, ''meter_id'')' USING t;
			ELSE
				EXECUTE 'SELECT pg_catalog.create_distributed_table($1, ''meter_id'', colocate_with => $2::text)'
					USING t, anchor;
			END IF;
			-- The rows were copied to the shards; the coordinator's stay on
			-- disk, unseen, until removed.
			EXECUTE 'SELECT pg_catalog.truncate_local_data_after_distributing_table($1)' USING t;
		END IF;
		relation := t;
		RETURN NEXT;
	END LOOP;

	relation := '@extschema@.energy_view_state';
	placement := 'coordinator: no meter, written only on the coordinator';
	RETURN NEXT;
	relation := '@extschema@.energy_rejects';
	placement := 'coordinator: no meter, written only on the coordinator';
	RETURN NEXT;
END
$$;
REVOKE ALL ON FUNCTION @extschema@.energy_distribute() FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.energy_distribute() IS
	'On the coordinator of a Citus cluster: distribute readings, register reads, segments, partials and the change log by meter_id (co-located), make the meter, channel, file and unit tables reference tables, move the rows already loaded, and list where each table now lives. Without Citus, SQLSTATE 0A000. Run it as the tables'' owner.';
