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

-- The days energy_tou and energy_demand take as text, read as energy_get
-- reads them (src/lookup.c), whatever DateStyle says.
CREATE FUNCTION @extschema@.energy_billing_day(day text)
RETURNS date
AS 'MODULE_PATHNAME', 'energy_billing_day'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.energy_billing_day(text) IS
	'Internal: a day written dd/mm/yyyy or yyyy-mm-dd (with what drivers add) as a date, as energy_get reads it; otherwise SQLSTATE 22007.';

-- A tariff's periods over local days, computed once per day, not once per
-- reading: each matching window becomes one or two ranges of the day's
-- wall-clock time, and the day is cut at every range's ends into pieces
-- that tile [00:00, 24:00) with the period of the lowest-priority range
-- covering each (NULL where none does).  A reading is then placed by its
-- local date and time of day.
CREATE FUNCTION @extschema@.energy_tariff_days(tariff text, from_day date, to_day date)
RETURNS TABLE (day date, lo time, hi time, period text)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	WITH d AS (
		SELECT g::date AS day,
			   CASE WHEN EXISTS (SELECT FROM @extschema@.energy_holiday h, @extschema@.energy_tariff t
								  WHERE t.tariff = energy_tariff_days.tariff AND h.calendar = t.calendar
									AND h.day = g::date)
					THEN 0 ELSE pg_catalog.date_part('isodow', g)::integer END AS dow,
			   pg_catalog.date_part('month', g)::integer AS month
		  FROM pg_catalog.generate_series(energy_tariff_days.from_day::timestamp,
										  energy_tariff_days.to_day::timestamp, '1 day'::interval) g
	), ranges AS (
		SELECT d.day, w.period, w.priority, r.lo, r.hi
		  FROM d
		  JOIN @extschema@.energy_tariff_window w
			ON w.tariff = energy_tariff_days.tariff
		   AND (w.days IS NULL OR d.dow = ANY (w.days))
		   AND (w.months IS NULL OR d.month = ANY (w.months))
		 CROSS JOIN LATERAL (VALUES
				(w.start_time,
				 CASE WHEN w.end_time = '00:00' OR w.end_time < w.start_time THEN '24:00'::time ELSE w.end_time END),
				('00:00'::time,
				 CASE WHEN w.end_time < w.start_time AND w.end_time <> '00:00' THEN w.end_time END)) AS r(lo, hi)
		 WHERE r.hi IS NOT NULL
	), cuts AS (
		SELECT d.day, '00:00'::time AS at FROM d
		UNION SELECT d.day, '24:00'::time FROM d
		UNION SELECT ranges.day, ranges.lo FROM ranges
		UNION SELECT ranges.day, ranges.hi FROM ranges
	), pieces AS (
		SELECT cuts.day, cuts.at AS lo, pg_catalog.lead(cuts.at) OVER (PARTITION BY cuts.day ORDER BY cuts.at) AS hi
		  FROM cuts
	)
	SELECT p.day, p.lo, p.hi,
		   (SELECT r.period FROM ranges r
			 WHERE r.day = p.day AND r.lo <= p.lo AND r.hi >= p.hi
			 ORDER BY r.priority LIMIT 1)
	  FROM pieces p
	 WHERE p.hi IS NOT NULL;
END;
COMMENT ON FUNCTION @extschema@.energy_tariff_days(text, date, date) IS
	'Internal: the periods of a tariff over the local days from_day..to_day, as pieces [lo, hi) of each day''s wall-clock time that tile it, each with the period of its lowest-priority matching window (NULL where none matches).';

-- The readings that count of the chosen meters, in canonical units, each
-- with the instant its interval starts.  A reading at t in its file's zone
-- covers (t - interval, t]; the interval is the channel's that day
-- (energy_daily.interval_minutes: the most common gap, or the file's
-- stated interval), and a day of one lone reading has none, so its
-- interval is taken as its own instant.  Register reads (TOU files) are not
-- interval data and are left out: only energy_reading is read.  The stored
-- days read reach two days past the range, as a file's zone and a tariff's
-- may put a reading on another local date.
CREATE FUNCTION @extschema@.energy_billing_readings(meter_code text, serial_code text,
													from_day date, to_day date)
RETURNS TABLE (meter_code text, serial_number text, data_type text, units text,
			   interval_minutes integer, time_zone text, local_start timestamp,
			   value numeric, flagged boolean)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT m.meter_code, m.serial_number, c.data_type, COALESCE(un.canonical, c.units),
		   iv.minutes, f.time_zone,
		   u.at - pg_catalog.make_interval(mins => COALESCE(iv.minutes, 0)),
		   u.value::numeric * COALESCE(un.factor, 1)::numeric,
		   CASE WHEN f.format = ANY (ARRAY['NEM12', 'NEM13'])
				THEN u.status <> '' AND u.status !~~ 'A%'
				ELSE u.status <> '' END IS TRUE
	  FROM @extschema@.energy_meter m
	  JOIN @extschema@.energy_reading r
		ON r.meter_id = m.meter_id
	   AND r.day BETWEEN energy_billing_readings.from_day - 2 AND energy_billing_readings.to_day + 2
	  JOIN @extschema@.energy_segment s ON s.segment_id = r.segment_id AND s.meter_id = r.meter_id
	  JOIN @extschema@.energy_file f ON f.file_id = s.file_id
	  JOIN @extschema@.energy_channel c ON c.channel_id = s.channel_id
	  LEFT JOIN @extschema@.energy_unit un ON pg_catalog.lower(un.unit COLLATE "C") = pg_catalog.lower(c.units)
	 CROSS JOIN LATERAL (SELECT pg_catalog.min(d.interval_minutes) AS minutes
						   FROM @extschema@.energy_daily d
						  WHERE d.day = r.day AND d.meter_id = r.meter_id
							AND d.channel_id = s.channel_id) iv
	 CROSS JOIN LATERAL @extschema@.energy_block_readings(r.block, r.day) u
	 WHERE (energy_billing_readings.meter_code IS NULL OR m.meter_code = energy_billing_readings.meter_code)
	   AND (energy_billing_readings.serial_code IS NULL OR m.serial_number = energy_billing_readings.serial_code)
	   AND energy_billing_readings.from_day <= energy_billing_readings.to_day
	   AND NOT u.superseded;
END;
COMMENT ON FUNCTION @extschema@.energy_billing_readings(text, text, date, date) IS
	'Internal: the LP readings that count of a meter (NULL: every meter; NULL serial_code: every serial) stored on the days from_day - 2 .. to_day + 2, in canonical units, with the channel''s interval that day, the file''s zone and the wall-clock start of each reading''s interval. Register reads are left out.';

-- The checks both functions make before reading anything: the tariff
-- exists (42704 naming it), and the days are given.
CREATE FUNCTION @extschema@.energy_tariff_zone(tariff text, from_day date, to_day date)
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	zone text;
BEGIN
	IF from_day IS NULL OR to_day IS NULL OR tariff IS NULL THEN
		RAISE EXCEPTION 'the tariff and both days must be given'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF NOT pg_catalog.isfinite(from_day) OR NOT pg_catalog.isfinite(to_day) THEN
		RAISE EXCEPTION 'days must be finite dates'
			USING ERRCODE = 'datetime_field_overflow';
	END IF;
	SELECT t.time_zone INTO zone FROM @extschema@.energy_tariff t WHERE t.tariff = energy_tariff_zone.tariff;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'tariff "%" does not exist', tariff
			USING ERRCODE = 'undefined_object',
				  HINT = 'energy_tariff lists the tariffs.';
	END IF;
	RETURN zone;
END
$$;
COMMENT ON FUNCTION @extschema@.energy_tariff_zone(text, date, date) IS
	'Internal: the zone of a tariff, after the checks energy_tou and energy_demand make: an unknown tariff is SQLSTATE 42704, a NULL day or tariff 22004, an infinite day 22008.';

CREATE FUNCTION @extschema@.energy_tou(meter_code text, serial_code text, from_day date, to_day date,
									   tariff text)
RETURNS TABLE (meter_code text, serial_number text, data_type text, units text, period text,
			   readings bigint, sum_value numeric, flagged bigint)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	-- the checks first, whether or not there are readings
	SELECT @extschema@.energy_tariff_zone(energy_tou.tariff, energy_tou.from_day, energy_tou.to_day);
	-- each reading by the local date and time, in the tariff's zone, of the
	-- start of its interval; the pieces tile each day of the range, so a
	-- reading of the range falls in exactly one
	SELECT b.meter_code, b.serial_number, b.data_type, b.units, p.period,
		   pg_catalog.count(*), pg_catalog.trim_scale(pg_catalog.sum(b.value)),
		   pg_catalog.count(*) FILTER (WHERE b.flagged)
	  FROM @extschema@.energy_tariff t
	 CROSS JOIN @extschema@.energy_billing_readings(energy_tou.meter_code, energy_tou.serial_code,
													energy_tou.from_day, energy_tou.to_day) b
	 CROSS JOIN LATERAL (SELECT (b.local_start AT TIME ZONE b.time_zone) AT TIME ZONE t.time_zone AS at) l
	  JOIN @extschema@.energy_tariff_days(energy_tou.tariff, energy_tou.from_day, energy_tou.to_day) p
		ON p.day = l.at::date AND l.at::time >= p.lo AND l.at::time < p.hi
	 WHERE t.tariff = energy_tou.tariff
	 GROUP BY 1, 2, 3, 4, 5
	 ORDER BY 1, 2, 3, 4, 5;
END;
COMMENT ON FUNCTION @extschema@.energy_tou(text, text, date, date, text) IS
	'Energy per time-of-use period: one row per channel (data type and canonical unit) and period of the tariff, with the readings, their exact sum and how many are flagged, over the intervals whose start''s local date (tariff zone) is in from_day..to_day. A reading at t in its file''s zone covers (t - interval, t] and belongs to the period of its start; no window: period NULL, so the periods add up to the channel''s total. Only the copies that count; register reads (TOU files) are left out. NULL meter_code: every meter; NULL serial_code: every serial. An unknown tariff is 42704; from_day > to_day gives no rows.';

CREATE FUNCTION @extschema@.energy_tou(meter_code text, serial_code text, from_day text, to_day text,
									   tariff text)
RETURNS TABLE (meter_code text, serial_number text, data_type text, units text, period text,
			   readings bigint, sum_value numeric, flagged bigint)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT * FROM @extschema@.energy_tou(energy_tou.meter_code, energy_tou.serial_code,
										 @extschema@.energy_billing_day(energy_tou.from_day),
										 @extschema@.energy_billing_day(energy_tou.to_day), energy_tou.tariff);
END;
COMMENT ON FUNCTION @extschema@.energy_tou(text, text, text, text, text) IS
	'energy_tou with each day written as energy_get takes it: dd/mm/yyyy, or yyyy-mm-dd with an optional time; whatever DateStyle says.';

-- A demand window must be whole intervals of every energy channel-day it
-- reads (at least one): a window shorter than the channel's interval, or
-- not a multiple of it, would split readings.  Read from the partials.
CREATE FUNCTION @extschema@.energy_demand_check(want_meter text, want_serial text, first_day date,
												last_day date, w integer)
RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	bad record;
BEGIN
	IF w IS NULL OR w < 1 OR w > 1440 OR 1440 % w <> 0 THEN
		RAISE EXCEPTION 'invalid demand window of % minutes', w
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'Windows are aligned from midnight, so their length must divide a day (1440 minutes).',
				  HINT = 'Use 15 or 30.';
	END IF;
	SELECT m.meter_code, m.serial_number, c.data_type, c.units, d.day, d.interval_minutes AS minutes INTO bad
	  FROM @extschema@.energy_meter m
	  JOIN @extschema@.energy_daily d
		ON d.meter_id = m.meter_id AND d.day BETWEEN first_day - 2 AND last_day + 2
	  JOIN @extschema@.energy_channel c ON c.channel_id = d.channel_id
	  LEFT JOIN @extschema@.energy_unit un ON pg_catalog.lower(un.unit COLLATE "C") = pg_catalog.lower(c.units)
	 WHERE (want_meter IS NULL OR m.meter_code = want_meter)
	   AND (want_serial IS NULL OR m.serial_number = want_serial)
	   AND COALESCE(un.canonical, c.units) IN ('kWh', 'kvarh', 'kVAh')
	   AND d.readings > 0 AND (d.interval_minutes > w OR w % d.interval_minutes <> 0)
	   AND first_day <= last_day
	 ORDER BY d.day, m.meter_code, m.serial_number, c.data_type
	 LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'demand window of % minutes does not fit the % minute interval of meter "%" serial "%" channel "%" (%) on %',
						w, bad.minutes, bad.meter_code, bad.serial_number, bad.data_type, bad.units,
						pg_catalog.to_char(bad.day, 'YYYY-MM-DD')
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'A window must be a whole number of the channel''s intervals, at least one.',
				  HINT = pg_catalog.format('Use a multiple of %s minutes.', bad.minutes);
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.energy_demand_check(text, text, date, date, integer) IS
	'Internal: refuses (22023) a demand window that does not divide a day, or that is not a whole number of the interval of an energy channel-day the call would read, naming the channel.';

CREATE FUNCTION @extschema@.energy_demand(meter_code text, serial_code text, from_day date, to_day date,
										  tariff text, window_minutes integer DEFAULT 30)
RETURNS TABLE (meter_code text, serial_number text, data_type text, units text, period text,
			   max_demand float8, at timestamptz, readings bigint)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	-- the checks first, whether or not there are readings
	SELECT @extschema@.energy_tariff_zone(energy_demand.tariff, energy_demand.from_day, energy_demand.to_day);
	SELECT @extschema@.energy_demand_check(energy_demand.meter_code, energy_demand.serial_code,
										   energy_demand.from_day, energy_demand.to_day,
										   energy_demand.window_minutes);
	-- Windows aligned to multiples of the window from midnight in the
	-- file's zone; each belongs to the period of its start and to the range
	-- when its start's local date (tariff zone) is in it.  Per channel and
	-- period the largest window wins, the earliest of equals.
	WITH win AS (
		SELECT b.meter_code, b.serial_number, b.data_type, b.units, s.start,
			   pg_catalog.sum(b.value) AS energy, pg_catalog.count(*) AS n
		  FROM @extschema@.energy_billing_readings(energy_demand.meter_code, energy_demand.serial_code,
												   energy_demand.from_day, energy_demand.to_day) b
		 CROSS JOIN LATERAL (SELECT pg_catalog.date_trunc('day', b.local_start) AS midnight) m
		 CROSS JOIN LATERAL (SELECT (m.midnight OPERATOR(pg_catalog.+) pg_catalog.make_interval(mins =>
					 (pg_catalog.floor(EXTRACT(epoch FROM b.local_start - m.midnight) / 60 / energy_demand.window_minutes)
					  * energy_demand.window_minutes)::integer))
					AT TIME ZONE b.time_zone AS start) s
		 WHERE b.units IN ('kWh', 'kvarh', 'kVAh')
		 GROUP BY 1, 2, 3, 4, 5
	), placed AS (
		SELECT win.*, p.period,
			   pg_catalog.sum(win.n) OVER (PARTITION BY win.meter_code, win.serial_number, win.data_type,
												   win.units, p.period) AS period_readings
		  FROM win
		  JOIN @extschema@.energy_tariff t ON t.tariff = energy_demand.tariff
		 CROSS JOIN LATERAL (SELECT win.start AT TIME ZONE t.time_zone AS at) l
		  JOIN @extschema@.energy_tariff_days(energy_demand.tariff, energy_demand.from_day, energy_demand.to_day) p
			ON p.day = l.at::date AND l.at::time >= p.lo AND l.at::time < p.hi
	)
	SELECT DISTINCT ON (placed.meter_code, placed.serial_number, placed.data_type, placed.units, placed.period)
		   placed.meter_code, placed.serial_number, placed.data_type,
		   CASE placed.units WHEN 'kWh' THEN 'kW' WHEN 'kvarh' THEN 'kvar' ELSE 'kVA' END,
		   placed.period, (placed.energy * 60 / energy_demand.window_minutes)::float8,
		   placed.start + pg_catalog.make_interval(mins => energy_demand.window_minutes),
		   placed.period_readings::bigint
	  FROM placed
	 ORDER BY placed.meter_code, placed.serial_number, placed.data_type, placed.units, placed.period,
			  placed.energy DESC, placed.start;
END;
COMMENT ON FUNCTION @extschema@.energy_demand(text, text, date, date, text, integer) IS
	'Maximum demand per energy channel (kWh gives kW, kvarh kvar, kVAh kVA) and period of the tariff: the largest energy of a window times 60 / window_minutes. Windows are aligned to multiples of window_minutes from midnight in the file''s zone and belong to the period of their start, and to the range when their start''s local date (tariff zone) is in from_day..to_day; at is the window''s end, the earliest of equal windows wins; readings counts the channel''s readings in the period. A window that does not divide a day, or is not a whole number of a channel''s intervals, is 22023 naming the channel. Only the copies that count; register reads are left out. An unknown tariff is 42704; from_day > to_day gives no rows.';

CREATE FUNCTION @extschema@.energy_demand(meter_code text, serial_code text, from_day text, to_day text,
										  tariff text, window_minutes integer DEFAULT 30)
RETURNS TABLE (meter_code text, serial_number text, data_type text, units text, period text,
			   max_demand float8, at timestamptz, readings bigint)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT * FROM @extschema@.energy_demand(energy_demand.meter_code, energy_demand.serial_code,
											@extschema@.energy_billing_day(energy_demand.from_day),
											@extschema@.energy_billing_day(energy_demand.to_day),
											energy_demand.tariff, energy_demand.window_minutes);
END;
COMMENT ON FUNCTION @extschema@.energy_demand(text, text, text, text, text, integer) IS
	'energy_demand with each day written as energy_get takes it: dd/mm/yyyy, or yyyy-mm-dd with an optional time; whatever DateStyle says.';
