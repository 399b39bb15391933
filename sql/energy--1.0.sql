/*
 * energy 1.0: install script.
 *
 * Storage is normalised so that a stored LP reading costs about 20 bytes:
 * meters and channels are dictionaries, a file's readings of one meter and
 * channel form a "segment", and the readings of a segment's day are one row
 * of parallel arrays (times, values, statuses) that energy_data unnests.
 * The per-day partial aggregates written at load time (energy_daily) feed
 * the materialized view, so refreshing it costs meter-days, not readings.
 *
 * Every name is schema-qualified (@extschema@ or pg_catalog) so that objects
 * planted in other schemas before CREATE EXTENSION are never picked up.
 */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION energy" to load this file. \quit

-------------------------------------------------------------------------------
-- Files
-------------------------------------------------------------------------------

CREATE TABLE @extschema@.energy_file (
	file_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	file_name text NOT NULL UNIQUE,
	file_size bigint NOT NULL,
	sha256 bytea NOT NULL,
	format text NOT NULL CHECK (format OPERATOR(pg_catalog.=) ANY (ARRAY['LP', 'TOU'])),
	rows_loaded bigint NOT NULL DEFAULT 0,
	rows_rejected bigint NOT NULL DEFAULT 0,
	loaded_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	loaded_by name NOT NULL DEFAULT CURRENT_USER,
	load_xid xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id()
);
CREATE INDEX energy_file_load_xid_idx ON @extschema@.energy_file (load_xid);

COMMENT ON TABLE @extschema@.energy_file IS
	'One row per loaded file name: its size, content hash and counts. Reloading the same name replaces or keeps it, never doubles it.';
COMMENT ON COLUMN @extschema@.energy_file.file_name IS 'Base name of the file; the identity of a file across reloads.';
COMMENT ON COLUMN @extschema@.energy_file.sha256 IS 'SHA-256 of the file''s bytes; the same name with the same hash is not loaded again.';
COMMENT ON COLUMN @extschema@.energy_file.format IS 'LP or TOU, as recognised by the header.';
COMMENT ON COLUMN @extschema@.energy_file.load_xid IS 'Transaction that loaded the file; tells energy_get whether the view has seen it.';

-------------------------------------------------------------------------------
-- Dictionaries
-------------------------------------------------------------------------------

-- Codes are identifiers, compared byte by byte: COLLATE "C" makes every
-- sort, GROUP BY and index on them (the view's refresh above all) a memcmp
-- rather than a locale-aware comparison, and the view inherits it.
CREATE TABLE @extschema@.energy_meter (
	meter_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	meter_code text COLLATE "C" NOT NULL,
	serial_number text COLLATE "C" NOT NULL,
	plant_code text COLLATE "C",
	UNIQUE NULLS NOT DISTINCT (meter_code, serial_number, plant_code)
);
COMMENT ON TABLE @extschema@.energy_meter IS
	'Dictionary of meters: one row per (meter code, serial number, plant code) seen in any file.';

CREATE TABLE @extschema@.energy_channel (
	channel_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	data_type text COLLATE "C" NOT NULL,
	units text COLLATE "C" NOT NULL
);
CREATE UNIQUE INDEX energy_channel_key ON @extschema@.energy_channel (data_type, pg_catalog.lower(units COLLATE "C"));
COMMENT ON TABLE @extschema@.energy_channel IS
	'Dictionary of channels: one row per data type and unit; units compare without case (kwh = kWh), the first spelling seen is kept.';

-------------------------------------------------------------------------------
-- Readings
-------------------------------------------------------------------------------

CREATE TABLE @extschema@.energy_segment (
	segment_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	file_id bigint NOT NULL,
	meter_id bigint NOT NULL,
	channel_id bigint NOT NULL,
	UNIQUE (file_id, meter_id, channel_id)
);
COMMENT ON TABLE @extschema@.energy_segment IS
	'The readings of one file for one meter and channel. Reading rows point here, so they need no file or channel column of their own.';

-- LP readings packed in chunks: one row per segment and day (at most 112
-- readings, so a row stays under the TOAST threshold), times and values as
-- parallel arrays, statuses as an array only when a reading has one.  No
-- keys, no foreign keys, no triggers: an append log written by the bulk
-- loader.  BRIN on segment_id finds a file's rows for replacement.
CREATE TABLE @extschema@.energy_reading (
	meter_id bigint NOT NULL,
	segment_id bigint NOT NULL,
	day date NOT NULL,
	at timestamp[] NOT NULL,
	value float8[] NOT NULL,
	status text[],
	CHECK (pg_catalog.cardinality(at) OPERATOR(pg_catalog.=) pg_catalog.cardinality(value))
);
CREATE INDEX energy_reading_segment_brin ON @extschema@.energy_reading
	USING brin (segment_id) WITH (pages_per_range = 32);
-- One entry per packed row (about a day of a channel), so this costs well
-- under a byte per reading and finds a meter's raw readings of a day.
CREATE INDEX energy_reading_meter_day_idx ON @extschema@.energy_reading (meter_id, day);
COMMENT ON TABLE @extschema@.energy_reading IS
	'LP readings of one segment and day, packed as arrays (about 17 bytes a reading). Read them one row per reading, with the seed''s columns, through energy_data.';

CREATE TABLE @extschema@.energy_register (
	meter_id bigint NOT NULL,
	segment_id bigint NOT NULL,
	at timestamp NOT NULL,
	energy float8 NOT NULL,
	maximum_demand float8,
	time_of_max_demand timestamp,
	status text,
	period text,
	dls_active boolean,
	billing_reset_count bigint,
	billing_reset_date_time timestamp,
	rate text
);
CREATE INDEX energy_register_segment_idx ON @extschema@.energy_register (segment_id);
COMMENT ON TABLE @extschema@.energy_register IS
	'TOU register reads with their own columns. The OLE zero date (30/12/1899 00:00:00) is stored as NULL.';

-------------------------------------------------------------------------------
-- Per-day partial aggregates, written once per file at load time
-------------------------------------------------------------------------------

CREATE TABLE @extschema@.energy_daily (
	meter_id bigint NOT NULL,
	day date NOT NULL,
	channel_id bigint NOT NULL,
	file_id bigint NOT NULL,
	part integer NOT NULL,
	readings bigint NOT NULL,
	sum_value numeric NOT NULL,
	min_value float8 NOT NULL,
	max_value float8 NOT NULL,
	PRIMARY KEY (meter_id, day, channel_id, file_id, part)
);
-- No index on file_id: a replaced file's partials are found through its
-- segments and the primary key, so loads pay for one index, not two.
COMMENT ON TABLE @extschema@.energy_daily IS
	'Count, exact sum, min and max of values per meter, day, channel and file, accumulated while loading. part numbers the loader''s writes within a file: it keeps a bounded number of partials in memory, so a day can rarely be split over two parts.';

-------------------------------------------------------------------------------
-- Rejected rows (on_error => ''skip'')
-------------------------------------------------------------------------------

CREATE TABLE @extschema@.energy_rejects (
	reject_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	file_name text NOT NULL,
	line bigint,
	raw text,
	sqlstate text NOT NULL,
	message text NOT NULL,
	rejected_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX energy_rejects_file_idx ON @extschema@.energy_rejects (file_name);
COMMENT ON TABLE @extschema@.energy_rejects IS
	'Rows (or whole files) refused by a load with on_error => ''skip'': where, what, and why. A reload of the same file name replaces its rejects.';

-------------------------------------------------------------------------------
-- The seed's table, as a view
-------------------------------------------------------------------------------

CREATE VIEW @extschema@.energy_data AS
SELECT m.meter_code, m.serial_number, m.plant_code,
	   u.at AS date_time, c.data_type, u.value AS energy, c.units, u.status,
	   NULL::float8 AS maximum_demand, NULL::timestamp AS time_of_max_demand,
	   NULL::text AS period, NULL::boolean AS dls_active,
	   NULL::bigint AS billing_reset_count, NULL::timestamp AS billing_reset_date_time,
	   NULL::text AS rate, 'LP'::text AS format, s.file_id, r.day
  FROM @extschema@.energy_reading r
  JOIN @extschema@.energy_segment s ON s.segment_id OPERATOR(pg_catalog.=) r.segment_id
  JOIN @extschema@.energy_meter m ON m.meter_id OPERATOR(pg_catalog.=) r.meter_id
  JOIN @extschema@.energy_channel c ON c.channel_id OPERATOR(pg_catalog.=) s.channel_id
 CROSS JOIN LATERAL ROWS FROM (pg_catalog.unnest(r.at), pg_catalog.unnest(r.value),
							   pg_catalog.unnest(r.status)) AS u(at, value, status)
UNION ALL
SELECT m.meter_code, m.serial_number, m.plant_code,
	   g.at, c.data_type, g.energy, c.units, g.status,
	   g.maximum_demand, g.time_of_max_demand, g.period, g.dls_active,
	   g.billing_reset_count, g.billing_reset_date_time, g.rate, 'TOU'::text, s.file_id,
	   g.at::date
  FROM @extschema@.energy_register g
  JOIN @extschema@.energy_segment s ON s.segment_id OPERATOR(pg_catalog.=) g.segment_id
  JOIN @extschema@.energy_meter m ON m.meter_id OPERATOR(pg_catalog.=) g.meter_id
  JOIN @extschema@.energy_channel c ON c.channel_id OPERATOR(pg_catalog.=) s.channel_id;
COMMENT ON VIEW @extschema@.energy_data IS
	'Every LP reading and TOU register read with the seed''s column names; energy is the LP Data Value or the TOU Energy. Filter on meter_code and day to read one meter''s day through an index.';

-------------------------------------------------------------------------------
-- The aggregate view
-------------------------------------------------------------------------------

CREATE MATERIALIZED VIEW @extschema@.energy_data_view AS
SELECT m.meter_code, m.serial_number, pg_catalog.min(m.plant_code) AS plant_code, d.day,
	   pg_catalog.min(d.min_value) AS min_energy,
	   pg_catalog.max(d.max_value) AS max_energy,
	   (pg_catalog.sum(d.sum_value) OPERATOR(pg_catalog./) pg_catalog.sum(d.readings))::float8 AS avg_energy,
	   pg_catalog.sum(d.readings)::bigint AS readings
  FROM @extschema@.energy_daily d
  JOIN @extschema@.energy_meter m ON m.meter_id OPERATOR(pg_catalog.=) d.meter_id
 GROUP BY m.meter_code, m.serial_number, d.day
WITH NO DATA;
CREATE UNIQUE INDEX energy_data_view_key ON @extschema@.energy_data_view (meter_code, serial_number, day);
COMMENT ON MATERIALIZED VIEW @extschema@.energy_data_view IS
	'One row per meter code, serial number and day: min, max and average of every value of that day (LP and TOU, all channels), and how many. Refreshed by energy_populate_view().';

-- What the view has seen: the snapshot taken just before its last refresh.
CREATE TABLE @extschema@.energy_view_state (
	singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
	populated_at timestamptz NOT NULL,
	populated_by name NOT NULL,
	snapshot pg_snapshot NOT NULL,
	view_rows bigint NOT NULL
);
COMMENT ON TABLE @extschema@.energy_view_state IS
	'When energy_data_view was last refreshed, and the snapshot it saw; a file whose load_xid is not visible in it makes the view stale.';

-------------------------------------------------------------------------------
-- Functions
-------------------------------------------------------------------------------

CREATE FUNCTION @extschema@.energy_load(path text, on_error text DEFAULT 'stop')
RETURNS TABLE (file_name text, format text, rows_loaded bigint, rows_rejected bigint, action text)
AS 'MODULE_PATHNAME', 'energy_load'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.energy_load(text, text) IS
	'Load an LP or TOU file, or every *.csv of a directory in name order, from the server''s file system. on_error: stop (default) or skip. Needs superuser or pg_read_server_files.';

CREATE FUNCTION @extschema@.energy_load_data(file_name text, data bytea, on_error text DEFAULT 'stop')
RETURNS TABLE (file_name text, format text, rows_loaded bigint, rows_rejected bigint, action text)
AS 'MODULE_PATHNAME', 'energy_load_data'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.energy_load_data(text, bytea, text) IS
	'Load an LP or TOU file whose content the client sends; file_name names it in energy_file. Reads no server file.';

CREATE FUNCTION @extschema@.energy_populate_view()
RETURNS bigint
AS 'MODULE_PATHNAME', 'energy_populate_view'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE
-- REFRESH needs the view's owner; EXECUTE is the privilege to grant instead.
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.energy_populate_view() IS
	'Refresh energy_data_view from the per-day partials (concurrently once populated, so readers are never blocked); returns its row count.';

CREATE FUNCTION @extschema@.energy_get(meter_code text, serial_code text, day date)
RETURNS TABLE (meter_code text, serial_number text, plant_code text, day date,
			   min_energy float8, max_energy float8, avg_energy float8, readings bigint)
AS 'MODULE_PATHNAME', 'energy_get_date'
LANGUAGE C STABLE STRICT PARALLEL SAFE ROWS 1;
COMMENT ON FUNCTION @extschema@.energy_get(text, text, date) IS
	'The day''s aggregate row of one meter from energy_data_view, or no row. Raises a NOTICE when files were loaded after the last energy_populate_view().';

CREATE FUNCTION @extschema@.energy_get(meter_code text, serial_code text, date_time text)
RETURNS TABLE (meter_code text, serial_number text, plant_code text, day date,
			   min_energy float8, max_energy float8, avg_energy float8, readings bigint)
AS 'MODULE_PATHNAME', 'energy_get_text'
LANGUAGE C STABLE STRICT PARALLEL SAFE ROWS 1;
COMMENT ON FUNCTION @extschema@.energy_get(text, text, text) IS
	'energy_get with the day written dd/mm/yyyy or yyyy-mm-dd, whatever DateStyle says.';

CREATE FUNCTION @extschema@.energy_get_json(meter_code text, serial_code text, date_time text)
RETURNS jsonb
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT COALESCE(
		(SELECT pg_catalog.jsonb_build_object(
					'meter_code', g.meter_code,
					'serial_code', g.serial_number,
					'plant_code', g.plant_code,
					'date_time', pg_catalog.to_char(g.day, 'DD/MM/YYYY'),
					'min_energy', g.min_energy,
					'max_energy', g.max_energy,
					'avg_energy', g.avg_energy,
					'readings', g.readings)
		   FROM @extschema@.energy_get(energy_get_json.meter_code, energy_get_json.serial_code, energy_get_json.date_time) g),
		'{"message": "energy data not present"}'::jsonb);
END;
COMMENT ON FUNCTION @extschema@.energy_get_json(text, text, text) IS
	'The seed''s /get-data response body: the day''s row as jsonb, or {"message": "energy data not present"}.';

-------------------------------------------------------------------------------
-- Privileges: reading server files is for superusers and pg_read_server_files
-- (checked again in C); everything else is granted by the administrator.
-------------------------------------------------------------------------------

REVOKE ALL ON FUNCTION @extschema@.energy_load(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.energy_load_data(text, bytea, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.energy_populate_view() FROM PUBLIC;
GRANT SELECT ON @extschema@.energy_data_view TO PUBLIC;
GRANT SELECT ON @extschema@.energy_view_state TO PUBLIC;
GRANT SELECT ON @extschema@.energy_file TO PUBLIC;

-------------------------------------------------------------------------------
-- pg_dump: the tables hold the users' data, not the extension's, so their
-- rows (and their sequences' positions) are dumped.  energy_view_state is
-- not: a restored view is unpopulated and must be refreshed, and a snapshot
-- of another cluster means nothing.
-------------------------------------------------------------------------------

SELECT pg_catalog.pg_extension_config_dump('@extschema@.energy_file', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.energy_meter', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.energy_channel', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.energy_segment', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.energy_reading', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.energy_register', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.energy_daily', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.energy_rejects', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.energy_file_file_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.energy_meter_meter_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.energy_channel_channel_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.energy_segment_segment_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.energy_rejects_reject_id_seq', '');

-- The identity sequences are objects of the extension too.
COMMENT ON SEQUENCE @extschema@.energy_file_file_id_seq IS 'Identity of energy_file.file_id; a replaced file gets a new one.';
COMMENT ON SEQUENCE @extschema@.energy_meter_meter_id_seq IS 'Identity of energy_meter.meter_id.';
COMMENT ON SEQUENCE @extschema@.energy_channel_channel_id_seq IS 'Identity of energy_channel.channel_id.';
COMMENT ON SEQUENCE @extschema@.energy_segment_segment_id_seq IS 'Identity of energy_segment.segment_id, drawn by the loader as it meets each meter and channel of a file.';
COMMENT ON SEQUENCE @extschema@.energy_rejects_reject_id_seq IS 'Identity of energy_rejects.reject_id.';
