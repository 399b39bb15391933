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
 CROSS JOIN LATERAL @extschema@.energy_block_readings(r.block, r.day) AS u
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
