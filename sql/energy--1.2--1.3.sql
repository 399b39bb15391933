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

-- energy_data reads each block with the meter and the file of its row, so
-- that a damaged block (XX001) names them in its error's context; the
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
 CROSS JOIN LATERAL @extschema@.energy_block_readings(r.block, r.day, r.meter_id, s.file_id) AS u
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
