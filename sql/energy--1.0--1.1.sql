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
-- Reliability: a partial counts at least one reading
-------------------------------------------------------------------------------

-- The loader never writes a partial without readings, but a role granted
-- INSERT on energy_daily could, and the view divides by the readings: one
-- such row would make every later energy_populate_view() fail with a
-- division by zero.  Every existing partial has readings > 0, so the
-- constraint is added and checked at once (the update holds its table lock
-- to the end anyway, so NOT VALID would gain nothing).
ALTER TABLE @extschema@.energy_daily
	ADD CONSTRAINT energy_daily_readings_check CHECK (readings OPERATOR(pg_catalog.>) 0);

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
