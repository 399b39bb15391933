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

-------------------------------------------------------------------------------
-- Writers that never lose, double or deadlock
-------------------------------------------------------------------------------

-------------------------------------------------------------------------------
-- Every supported PostgreSQL
-------------------------------------------------------------------------------

-------------------------------------------------------------------------------
-- Smaller than the files it came from
-------------------------------------------------------------------------------

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
