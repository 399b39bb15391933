--
-- energy: what client drivers send.  node-postgres sends a JS Date as
-- 2015-09-01T00:00:00.000+10:00, JDBC's setDate as 2015-09-01 +00; the day
-- is the date as written, never shifted by the zone.  energy_get_json takes
-- a date too, and energy_get a range of days with at most one NOTICE.
--
-- The test files were copied to a per-run folder named by ENERGY_TEST_DATA
-- (scripts/test-data: erm/, samples/, hostile/, scratch/).
\getenv data ENERGY_TEST_DATA
CREATE EXTENSION energy;
SELECT count(*) AS files FROM energy_load(:'data' || '/erm');
SELECT energy_populate_view();

-- Every form gives the seed's documented answer for 01/09/2015.
SELECT f AS day_as_sent, g.plant_code, g.day, g.min_energy, g.max_energy, g.avg_energy, g.readings
  FROM unnest(ARRAY['01/09/2015', '2015-09-01', '2015-09-01T00:00:00.000+10:00',
                    '2015-09-01 00:00:00', '2015-09-01 +00', '2015-09-01T00:00Z',
                    '2015-09-01T10:30', '2015-09-01 23:59:59.999999',
                    '2015-09-01T00:00:00+1000', '  2015-9-1T00:00:00-03  ']) AS f,
       LATERAL energy_get('210095893', '210095893', f) g;

-- Whatever DateStyle says.
SET DateStyle = 'SQL, DMY';
SELECT day, readings FROM energy_get('210095893', '210095893', '2015-09-01T00:00:00.000-11:00');
RESET DateStyle;

-- Anything else is refused: 22007, or 22008 for a date not in the calendar.
\set day_error :data/include/day_error.psql
\i :day_error
SELECT f AS day_as_sent, pg_temp.day_error(f) AS sqlstate
  FROM unnest(ARRAY['2015-09-01T', '2015-09-01 25', '2015-09-01x', '01/09/2015T00:00',
                    '01/09/2015 00:00:00', '2015-09-01 00:00:00 +10:00:00', '2015-09-01T1',
                    '2015-09-01T10:3', '2015-09-01T10:30:5', '2015-09-01T10:30:00.',
                    '2015-09-01 +1', '2015-09-01 Z0', '2015-09-01TT10:00', '2015-09-01 10:00 PST',
                    '2015-02-30T00:00:00', '2015-09-01T00:00:00+10:00 ',
                    -- a time other than midnight with a zone (energy_client_forms)
                    '2015-09-01T23:59:59Z', '2015-09-01 23:59:59.999999-05:30']) AS f;

-- energy_get_json with a date: the same body as with text.
SELECT energy_get_json('210095893', '210095893', date '2015-09-01')
     = energy_get_json('210095893', '210095893', '01/09/2015') AS same_body;
SELECT energy_get_json('210095893', '210095893', date '2015-09-01');
SELECT energy_get_json('210095893', '210095893', date '2015-09-02');

-- A range: one row per day with data, in day order, equal to SQL over the
-- raw readings.
SELECT day, min_energy, max_energy, readings
  FROM energy_get('214612534', '214612534', date '2015-09-01', date '2015-09-30');
SELECT date_time::date AS day, min(energy), max(energy), count(*)
  FROM energy_data WHERE meter_code = '214612534' GROUP BY 1 ORDER BY 1;
SELECT count(*) AS rows FROM energy_get('214612534', '214612534', date '2015-09-07', date '2015-09-06');
SELECT count(*) AS rows FROM energy_get('214612534', '214612534', date '2015-09-07', date '2015-09-07');
SELECT * FROM energy_get('214612534', '214612534', date '2015-09-01', 'infinity'); -- ERROR

-- A change to two days of the range: one NOTICE for the call, not one a day.
SELECT file_name, action FROM energy_load_data('two_days.csv', convert_to(
    E'MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Data Value,Units,Status\n'
    || E'214612534,214612534,ED021401344,06/09/2015 23:50:00,Import Wh Total,1,kwh,\n'
    || E'214612534,214612534,ED021401344,07/09/2015 23:50:00,Import Wh Total,2,kwh,\n', 'UTF8'));
SELECT day, readings FROM energy_get('214612534', '214612534', date '2015-09-01', date '2015-09-30');
SELECT day, readings FROM energy_get('214612534', '214612534', date '2015-09-08', date '2015-09-30');
SELECT energy_populate_view();
SELECT day, readings FROM energy_get('214612534', '214612534', date '2015-09-01', date '2015-09-30');

DROP EXTENSION energy;
