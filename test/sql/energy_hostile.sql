--
-- energy: hostile input.  Every file in test/data/hostile has one defect (or
-- one odd but valid shape); its README lists the SQLSTATE, line, column and
-- good-row count each must give.  With on_error => 'stop' a bad file ends
-- the call and leaves nothing behind; with 'skip' its good rows load and
-- the bad one goes to energy_rejects.
--
-- The test files were copied to a per-run folder named by ENERGY_TEST_DATA
-- (scripts/test-data: erm/, samples/, hostile/, scratch/).
\getenv data ENERGY_TEST_DATA
CREATE EXTENSION energy;
CREATE TEMP VIEW table_counts AS
SELECT (SELECT count(*) FROM energy_file) AS files,
       (SELECT count(*) FROM energy_reading r, energy_block_readings(r.block, r.day)) AS readings,
       (SELECT count(*) FROM energy_register) AS registers,
       (SELECT count(*) FROM energy_daily) AS partials,
       (SELECT count(*) FROM energy_segment) AS segments,
       (SELECT count(*) FROM energy_meter) AS meters,
       (SELECT count(*) FROM energy_channel) AS channels,
       (SELECT count(*) FROM energy_rejects) AS rejects;

CREATE FUNCTION pg_temp.try_load(path text, mode text,
    OUT state text, OUT rows_loaded bigint, OUT rows_rejected bigint, OUT action text)
LANGUAGE plpgsql AS $$
BEGIN
    SELECT l.rows_loaded, l.rows_rejected, l.action
      INTO try_load.rows_loaded, try_load.rows_rejected, try_load.action
      FROM energy_load(path, mode) l;
    state := '00000';
EXCEPTION WHEN OTHERS THEN
    state := SQLSTATE;
END $$;

CREATE TEMP TABLE before AS SELECT * FROM table_counts;

-- 'stop': the SQLSTATE of each file (00000 where it loads).
BEGIN;
SELECT f AS file, t.*
  FROM pg_ls_dir(:'data' || '/hostile') AS f,
       LATERAL pg_temp.try_load(:'data' || '/hostile/' || f, 'stop') AS t
 ORDER BY f;
ROLLBACK;

-- Nothing of the failed calls remains.
SELECT (SELECT t FROM table_counts t) = (SELECT b FROM before b) AS unchanged;

-- What the errors say: file, line, column (with its name) and value.
SELECT * FROM energy_load(:'data' || '/hostile/bad_feb_31.csv'); -- ERROR
SELECT * FROM energy_load(:'data' || '/hostile/bad_month_13.csv'); -- ERROR
SELECT * FROM energy_load(:'data' || '/hostile/bad_date_iso.csv'); -- ERROR
SELECT * FROM energy_load(:'data' || '/hostile/bad_number_nan.csv'); -- ERROR
SELECT * FROM energy_load(:'data' || '/hostile/bad_columns_short.csv'); -- ERROR
SELECT * FROM energy_load(:'data' || '/hostile/bad_utf8.csv'); -- ERROR
SELECT * FROM energy_load(:'data' || '/hostile/nul_byte.csv'); -- ERROR
SELECT * FROM energy_load(:'data' || '/hostile/missing_meter.csv'); -- ERROR
SELECT * FROM energy_load(:'data' || '/hostile/ole_zero_reading.csv'); -- ERROR
SELECT * FROM energy_load(:'data' || '/hostile/unknown_header.csv'); -- ERROR
SELECT * FROM energy_load(:'data' || '/hostile/empty.csv'); -- ERROR
SELECT (SELECT t FROM table_counts t) = (SELECT b FROM before b) AS unchanged;

-- 'skip': good rows load, each bad one is a reject.
BEGIN;
SELECT f AS file, t.*
  FROM pg_ls_dir(:'data' || '/hostile') AS f,
       LATERAL pg_temp.try_load(:'data' || '/hostile/' || f, 'skip') AS t
 ORDER BY f;
SELECT file_name, line, sqlstate, message FROM energy_rejects ORDER BY file_name, line;
-- A reject keeps the raw record, made safe for a text column.
SELECT raw FROM energy_rejects WHERE file_name IN ('bad_utf8.csv', 'nul_byte.csv') ORDER BY file_name;
-- The rows that loaded are exactly the good ones: every partial that
-- counts readings agrees with the rows of energy_data it summarises, and no
-- row is left out.  (These files deliver some of the same readings: a file
-- all of whose copies of a channel-day a later file supersedes keeps a
-- partial of 0 readings.)
SELECT count(*) AS mismatches FROM (
    SELECT d.file_id, m.meter_code, m.serial_number, c.data_type, d.day,
           d.readings, d.min_value, d.max_value
      FROM energy_daily d
      JOIN energy_meter m USING (meter_id)
      JOIN energy_channel c USING (channel_id)
     WHERE d.readings > 0) p
  FULL JOIN (
    SELECT file_id, meter_code, serial_number, data_type, date_time::date AS day,
           count(*) AS n, min(energy) AS lo, max(energy) AS hi
      FROM energy_data GROUP BY 1, 2, 3, 4, 5) x
 USING (file_id, meter_code, serial_number, data_type, day)
 WHERE x.n IS DISTINCT FROM p.readings OR x.lo IS DISTINCT FROM p.min_value
    OR x.hi IS DISTINCT FROM p.max_value;
-- energy_data shows each reading once.
SELECT count(*) AS readings,
       count(DISTINCT (meter_code, serial_number, data_type, lower(units), date_time, period, rate)) AS distinct_readings
  FROM energy_data;
-- Real-world shapes keep their values: quotes, spaces, signs, exponents.
-- Every stored copy, from the tables: the files share readings, and only
-- the copy loaded last shows in energy_data.
SELECT m.meter_code, m.plant_code, u.at AS date_time, c.data_type, u.value AS energy,
       c.units, u.status, u.lost IS TRUE AS superseded
  FROM energy_reading r
  JOIN energy_segment s USING (segment_id)
  JOIN energy_file f USING (file_id)
  JOIN energy_meter m ON m.meter_id = r.meter_id
  JOIN energy_channel c ON c.channel_id = s.channel_id
 CROSS JOIN LATERAL energy_block_readings(r.block, r.day) AS u(at, value, status, lost)
 WHERE f.file_name IN ('quoted_commas.csv', 'spaces.csv', 'negative_values.csv')
 ORDER BY f.file_name, u.at, c.data_type, u.value;
ROLLBACK;

DROP VIEW table_counts;
DROP EXTENSION energy;
