--
-- energy_gaps(): each channel's runs of missing intervals, against holes
-- made by hand in an LP export and a NEM12 file (the expected rows are
-- worked out in the comments), then against an independent plain-SQL
-- computation over energy_data.  energy_meter_status: a meter that stopped
-- sending, on days counted back from current_date, with energy.status_days
-- changed.  Last, who may call and read them.
--
CREATE EXTENSION energy;
\getenv data ENERGY_TEST_DATA
\set lp :data/include/lp.psql
\i :lp

-- An LP export of meter G1, "Import Wh Total" (kwh), with its holes:
--   01/09/2015 every half hour 00:00 .. 23:30 but 10:00 (47 readings)
--   02/09/2015 no line at all
--   03/09/2015 every quarter hour 00:00 .. 23:45 but 06:00 and 06:15 (94)
--   04/09/2015 every quarter hour 00:00 .. 11:45 (48): the export stops
-- and "Export Wh Total" complete on 03/09/2015 (96 quarter hours).
CREATE TEMP TABLE g1 AS
SELECT to_char(t, 'DD/MM/YYYY HH24:MI:SS') AS at, 'Import Wh Total' AS data_type
  FROM generate_series('2015-09-01 00:00'::timestamp, '2015-09-01 23:30', '30 min') t
 WHERE t <> '2015-09-01 10:00'
UNION ALL
SELECT to_char(t, 'DD/MM/YYYY HH24:MI:SS'), 'Import Wh Total'
  FROM generate_series('2015-09-03 00:00'::timestamp, '2015-09-04 11:45', '15 min') t
 WHERE t NOT IN ('2015-09-03 06:00', '2015-09-03 06:15')
UNION ALL
SELECT to_char(t, 'DD/MM/YYYY HH24:MI:SS'), 'Export Wh Total'
  FROM generate_series('2015-09-03 00:00'::timestamp, '2015-09-03 23:45', '15 min') t;
SELECT data_type, count(*) FROM g1 GROUP BY 1 ORDER BY 1;
SELECT file_name, rows_loaded FROM energy_load_data('G1.csv', pg_temp.lp(ARRAY(
       SELECT format('G1,G1,P1,%s,%s,1.5,kwh,', at, data_type) FROM g1)));

-- The holes, each day at its own interval (01/09 half-hourly: 48
-- expected; 02/09 has no reading and keeps 01/09's interval; 03/09 and
-- 04/09 quarter-hourly: 96); "Export Wh Total" has none:
--   01/09 10:00 .. 10:00           1
--   02/09 00:00 .. 23:30          48
--   03/09 06:00 .. 06:15           2
--   04/09 12:00 .. 23:45          48 (96 - 48)
SELECT * FROM energy_gaps('G1', 'G1', '2015-09-01', '2015-09-30');
-- The range cuts the span: from 02/09 the first day with readings is
-- 03/09, so the missing 02/09 is no gap; up to 03/09 the last is 03/09.
SELECT * FROM energy_gaps('G1', NULL, '2015-09-02', '2015-09-03');
-- A range without readings, an unknown meter, NULL days: no row.
SELECT * FROM energy_gaps('G1', NULL, '2015-10-01', '2015-10-31');
SELECT * FROM energy_gaps('nobody', NULL, '2015-09-01', '2015-09-30');
SELECT count(*) FROM energy_gaps('G1', NULL, NULL, '2015-09-30');

-- The same readings of 03/09 again under another name: the first copies
-- are superseded, and the gaps are the same.  A correction of 01/09 10:00
-- then fills the first hole.
SELECT file_name, rows_loaded, rows_replacing FROM energy_load_data('G1-again.csv', pg_temp.lp(ARRAY(
       SELECT format('G1,G1,P1,%s,%s,2.5,kwh,', at, data_type) FROM g1 WHERE at LIKE '03/09/2015%')));
SELECT * FROM energy_gaps('G1', NULL, '2015-09-01', '2015-09-30');
SELECT file_name, rows_loaded FROM energy_load_data('G1-fix.csv', pg_temp.lp(ARRAY[
       'G1,G1,P1,01/09/2015 10:00:00,Import Wh Total,1.5,kwh,']));
SELECT * FROM energy_gaps('G1', NULL, '2015-09-01', '2015-09-30');

-- A NEM12 file of NMI N100000001, suffix E1, kWh, with its holes.  Values
-- are named by the end of their interval, and all 48 belong to the
-- IntervalDate (the 48th ends at 00:00 the next day):
--   01/01/2024 a full 300 (48 half hours, 00:30 .. 02/01 00:00)
--   02/01/2024 no 300
--   03/01/2024 the 10th value empty (the interval ending 05:00)
--   04/01/2024 a V 300 whose 400 records say A for 1..20 and 25..48 and
--              N (null data: "no data, values written as 0") for 21..24
--   05/01/2024 a new 200 at 15 minutes: 96 values, the 96th empty (the
--              interval ending 06/01 00:00)
CREATE FUNCTION pg_temp.values(n int, empty int) RETURNS text
LANGUAGE sql AS $$
    SELECT string_agg(CASE WHEN i = empty THEN '' ELSE '1.25' END, ',' ORDER BY i) FROM generate_series(1, n) i
$$;
SELECT file_name, format, rows_loaded FROM energy_load_data('NEM12#GAPS#MDP1#RETAILER1', convert_to(concat_ws(E'\n',
       '100,NEM12,202401010000,MDP1,RETAILER1',
       '200,N100000001,E1,1,E1,N1,S1,kWh,30,',
       '300,20240101,' || pg_temp.values(48, 0) || ',A,,,20240102000000,',
       '300,20240103,' || pg_temp.values(48, 10) || ',A,,,20240104000000,',
       '300,20240104,' || pg_temp.values(48, 0) || ',V,,,20240105000000,',
       '400,1,20,A,,',
       '400,21,24,N,,',
       '400,25,48,A,,',
       '200,N100000001,E1,1,E1,N1,S1,kWh,15,',
       '300,20240105,' || pg_temp.values(96, 96) || ',A,,,20240106000000,',
       '900'), 'UTF8'));
-- What is stored: 48 + 47 + 48 + 95 readings, 4 of them N.
SELECT day, count(*), min(date_time), max(date_time), count(*) FILTER (WHERE status = 'N') AS n
  FROM energy_data WHERE meter_code = 'N100000001' GROUP BY day ORDER BY day;
-- The holes:
--   02/01 00:30 .. 03/01 00:00    48 (the missing day, at 01/01's 30 minutes)
--   03/01 05:00 .. 05:00           1
--   04/01 10:30 .. 12:00           4 (intervals 21..24 end at 10:30, 11:00, 11:30, 12:00)
--   06/01 00:00 .. 00:00           1 (05/01's 96th quarter hour)
SELECT * FROM energy_gaps('N100000001', NULL, '2024-01-01', '2024-01-31');

-- Register reads have no interval: a TOU export gives no row.
SELECT file_name, rows_loaded FROM energy_load(:'data' || '/erm/TOU_214667141_20150901T040057.csv');
SELECT count(*) FROM energy_gaps('214667141', NULL, '2015-01-01', '2015-12-31');

-- The seed's LP exports: each channel misses the first three quarter
-- hours of its first day (the export starts at 00:45) and the rest of its
-- last day (210095893: 01/09 00:45 .. 23:45, 96 - 3 = 93; 214612534: 07/09
-- 08:45 .. 23:45, 96 - 35 = 61).
SELECT count(*) FROM energy_load(:'data' || '/erm/LP_210095893_20150901T011608049.csv');
SELECT count(*) FROM energy_load(:'data' || '/erm/LP_214612534_20150907T084333712.csv');
SELECT * FROM energy_gaps(NULL, NULL, '2015-08-01', '2015-09-30') WHERE data_type = 'Import Wh Total';

-- An independent computation over energy_data: per meter and data type,
-- every day from the first to the last with readings, at the day's most
-- common gap between readings (a day without readings: the day before's),
-- the expected times (from 00:00 for LP, from the first interval's end
-- for NEM12), the missing ones (no reading there, or a NEM12 N), and
-- runs started by a missing time whose predecessor is not missing.
CREATE TEMP VIEW independent AS
WITH r AS (
    SELECT d.meter_code, d.serial_number, d.data_type, d.day, d.date_time, d.status, f.format
      FROM energy_data d JOIN energy_file f USING (file_id)
     WHERE f.format IN ('LP', 'NEM12')
), step AS (
    SELECT meter_code, serial_number, data_type, day, bool_or(format = 'NEM12') AS nem,
           (SELECT mode() WITHIN GROUP (ORDER BY g) FROM unnest(array_agg(gap)) g WHERE g IS NOT NULL) AS step
      FROM (SELECT *, extract(epoch FROM date_time - lag(date_time) OVER w)::int / 60 AS gap
              FROM r WINDOW w AS (PARTITION BY meter_code, serial_number, data_type, day ORDER BY date_time)) x
     GROUP BY 1, 2, 3, 4
), span AS (
    SELECT meter_code, serial_number, data_type, generate_series(min(day), max(day), '1 day')::date AS day
      FROM step GROUP BY 1, 2, 3
), every_day AS (
    SELECT s.meter_code, s.serial_number, s.data_type, s.day,
           (SELECT t.step FROM step t WHERE (t.meter_code, t.serial_number, t.data_type) = (s.meter_code, s.serial_number, s.data_type)
               AND t.day <= s.day ORDER BY t.day DESC LIMIT 1) AS step,
           (SELECT t.nem FROM step t WHERE (t.meter_code, t.serial_number, t.data_type) = (s.meter_code, s.serial_number, s.data_type)
               AND t.day <= s.day ORDER BY t.day DESC LIMIT 1) AS nem
      FROM span s
), expected AS (
    SELECT e.meter_code, e.serial_number, e.data_type, e.day, at,
           NOT EXISTS (SELECT FROM r WHERE (r.meter_code, r.serial_number, r.data_type, r.day, r.date_time)
                                           = (e.meter_code, e.serial_number, e.data_type, e.day, at)
                                       AND NOT (r.format = 'NEM12' AND r.status = 'N')) AS missing
      FROM every_day e,
           generate_series(1, 1440 / e.step) i,
           LATERAL (SELECT e.day + (i - CASE WHEN e.nem THEN 0 ELSE 1 END) * e.step * interval '1 minute' AS at) a
), runs AS (
    SELECT *, sum(CASE WHEN missing AND NOT coalesce(prev, false) THEN 1 ELSE 0 END) OVER w2 AS run
      FROM (SELECT *, lag(missing) OVER w AS prev FROM expected
             WINDOW w AS (PARTITION BY meter_code, serial_number, data_type ORDER BY at, day)) y
    WINDOW w2 AS (PARTITION BY meter_code, serial_number, data_type ORDER BY at, day)
)
SELECT meter_code, serial_number, data_type, min(at) AS gap_from, max(at) AS gap_to, count(*)::int AS missing
  FROM runs WHERE missing GROUP BY meter_code, serial_number, data_type, run;
-- Row by row, both ways: nothing differs (and the rows are many).
SELECT count(*) FROM independent;
(SELECT meter_code, serial_number, data_type, gap_from, gap_to, missing FROM energy_gaps(NULL, NULL, '2000-01-01', '2030-12-31')
 EXCEPT SELECT * FROM independent)
UNION ALL
(SELECT * FROM independent
 EXCEPT SELECT meter_code, serial_number, data_type, gap_from, gap_to, missing FROM energy_gaps(NULL, NULL, '2000-01-01', '2030-12-31'));
-- Every meter (NULL) gives what each meter gives alone, within a small
-- work_mem (the rows go through a tuplestore that spills).
SET work_mem = '64kB';
SELECT (SELECT count(*) FROM energy_gaps(NULL, NULL, '2000-01-01', '2030-12-31')) AS every_meter,
       (SELECT count(*) FROM (SELECT DISTINCT meter_code FROM energy_meter) m,
               LATERAL energy_gaps(m.meter_code, NULL, '2000-01-01', '2030-12-31')) AS meter_by_meter;
RESET work_mem;

-- energy_meter_status.  A meter S1 that stopped sending four days ago
-- (half hours of current_date - 10 .. current_date - 4), a meter S2 that
-- sends every day up to yesterday (current_date - 7 .. - 1, but 8 half
-- hours of current_date - 2 missing: 40).
SELECT file_name, rows_loaded FROM energy_load_data('status.csv', pg_temp.lp(ARRAY(
       SELECT format('%s,%s,P1,%s,Import Wh Total,1,kwh,', m, m, to_char(t, 'DD/MM/YYYY HH24:MI:SS'))
         FROM (VALUES ('S1', current_date - 10, current_date - 4), ('S2', current_date - 7, current_date - 1)) v(m, f, l),
              generate_series(f::timestamp, l + time '23:30', '30 min') t
        WHERE NOT (m = 'S2' AND t >= current_date - 2 + time '08:00' AND t < current_date - 2 + time '12:00'))));
-- Window: the 7 days current_date - 7 .. current_date - 1, 336 half hours.
--   S1: last day current_date - 4; readings 4 days x 48 = 192 (cd-7..cd-4)
--   S2: last day current_date - 1; readings 6 x 48 + 40 = 328
SELECT meter_code, data_type, units, current_date - last_day AS days_ago, readings, expected_readings
  FROM energy_meter_status WHERE meter_code IN ('S1', 'S2') ORDER BY 1;
-- The meters gone silent.
SELECT meter_code FROM energy_meter_status WHERE last_day < current_date - 2 AND meter_code LIKE 'S%';
-- Three days (cd-3 .. cd-1, 144 expected): S1 sent nothing, still shown.
SET energy.status_days = 3;
SELECT meter_code, current_date - last_day AS days_ago, readings, expected_readings
  FROM energy_meter_status WHERE meter_code IN ('S1', 'S2') ORDER BY 1;
SET energy.status_days = 0;  -- ERROR
SET energy.status_days = 3661;  -- ERROR
RESET energy.status_days;
-- The seed's meters: silent since 2015; TOU register reads have no
-- expected count.
SELECT meter_code, data_type, units, last_day, readings, expected_readings
  FROM energy_meter_status WHERE meter_code NOT LIKE 'S%' AND meter_code NOT LIKE 'G%' AND meter_code NOT LIKE 'N%'
 ORDER BY 1, 3, 2;

-- Who may call and read.  The view is everyone's (as energy_channel_view);
-- energy_gaps runs with the caller's rights and reads the raw readings,
-- which are not PUBLIC's.
CREATE ROLE regress_gaps_reader;
SET ROLE regress_gaps_reader;
SELECT count(*) > 0 FROM energy_meter_status;
SELECT * FROM energy_gaps('G1', NULL, '2015-09-01', '2015-09-30');  -- ERROR
RESET ROLE;
GRANT SELECT ON energy_daily, energy_reading, energy_segment, energy_channel TO regress_gaps_reader;
GRANT EXECUTE ON FUNCTION energy_block_readings(bytea, date, bigint, bigint) TO regress_gaps_reader;
SET ROLE regress_gaps_reader;
SELECT count(*) FROM energy_gaps('G1', NULL, '2015-09-01', '2015-09-30');
RESET ROLE;

-- A session that has not loaded the library: the view takes 7 days, or a
-- value set before the library is loaded.
\c
SELECT count(*) FROM pg_settings WHERE name = 'energy.status_days';
SELECT meter_code, readings, expected_readings FROM energy_meter_status WHERE meter_code = 'S2';
SET energy.status_days = '2';
SELECT meter_code, readings, expected_readings FROM energy_meter_status WHERE meter_code = 'S2';

DROP OWNED BY regress_gaps_reader;
DROP ROLE regress_gaps_reader;
DROP EXTENSION energy;
