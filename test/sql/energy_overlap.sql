--
-- energy: one reading, one value.  A reading is (meter, channel, time), and
-- for a TOU register read also period and rate; when files deliver it more
-- than once, the copy of the file loaded last counts, and within one file
-- the later line.  Expected values are worked out by hand in the comments.
--
CREATE EXTENSION energy;
\getenv data ENERGY_TEST_DATA

\set lp :data/include/lp.psql
\i :lp

-- The views against their defining queries and against the raw readings:
-- 0 when populate left them exactly right.
CREATE FUNCTION pg_temp.differences() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n bigint := 0;
    m bigint;
    v text;
BEGIN
    FOREACH v IN ARRAY ARRAY['energy_data_view', 'energy_channel_view'] LOOP
        EXECUTE format('SELECT count(*) FROM ((TABLE %1$I EXCEPT ALL (%2$s)) UNION ALL ((%2$s) EXCEPT ALL TABLE %1$I)) d',
                       v, rtrim(pg_get_viewdef(v::regclass), E'; \n')) INTO m;
        n := n + m;
    END LOOP;
    SELECT count(*) INTO m FROM (
        (SELECT meter_code, serial_number, day, min_energy, max_energy, readings FROM energy_data_view
         EXCEPT ALL
         SELECT meter_code, serial_number, day, min(energy), max(energy), count(*) FROM energy_data GROUP BY 1, 2, 3)
        UNION ALL
        (SELECT meter_code, serial_number, day, min(energy), max(energy), count(*) FROM energy_data GROUP BY 1, 2, 3
         EXCEPT ALL
         SELECT meter_code, serial_number, day, min_energy, max_energy, readings FROM energy_data_view)) d;
    RETURN n + m;
END $$;

-- Every stored copy of meter 5's readings, and whether it counts.
CREATE VIEW copies AS
SELECT f.file_name, u.at, u.value, u.lost IS NOT TRUE AS counts
  FROM energy_reading r
  JOIN energy_segment s USING (segment_id)
  JOIN energy_file f USING (file_id)
 CROSS JOIN LATERAL energy_block_readings(r.block, r.day) AS u(at, value, status, lost);

-- 1. Re-delivery under a new name: the seed's export, then the same bytes
-- as the next day's file.  384 readings, not 768; 12 on 01/09/2015.
SELECT file_name, rows_loaded, action FROM energy_load(:'data' || '/erm/LP_210095893_20150901T011608049.csv');
SELECT file_name, rows_loaded, action
  FROM energy_load_data('LP_210095893_20150902T011608049.csv',
                        pg_read_binary_file(:'data' || '/erm/LP_210095893_20150901T011608049.csv'));
SELECT count(*) AS readings FROM energy_data;
SELECT file_name, count(*) FILTER (WHERE counts) AS counting, count(*) AS stored
  FROM copies GROUP BY 1 ORDER BY 1;
SELECT energy_populate_view();
SELECT * FROM energy_get('210095893', '210095893', '01/09/2015');
SELECT pg_temp.differences() AS differences;
SELECT energy_unload('LP_210095893_20150902T011608049.csv');
SELECT energy_unload('LP_210095893_20150901T011608049.csv');

-- 2. A corrected re-delivery: a.csv has 00:15..01:00 as 1, 2, 3, 4 Wh;
-- b.csv, loaded later, corrects 00:30 and 00:45 to 20 and 30.  The day is
-- 1, 20, 30, 4: 4 readings, min 1, max 30, sum 55 Wh = 0.055 kWh.
SELECT file_name, rows_loaded FROM energy_load_data('a.csv', pg_temp.lp(ARRAY[
    '5,5,P5,01/01/2024 00:15:00,Import Wh Total,1,Wh,',
    '5,5,P5,01/01/2024 00:30:00,Import Wh Total,2,Wh,',
    '5,5,P5,01/01/2024 00:45:00,Import Wh Total,3,Wh,',
    '5,5,P5,01/01/2024 01:00:00,Import Wh Total,4,Wh,']));
SELECT file_name, rows_loaded FROM energy_load_data('b.csv', pg_temp.lp(ARRAY[
    '5,5,P5,01/01/2024 00:30:00,Import Wh Total,20,Wh,E',
    '5,5,P5,01/01/2024 00:45:00,Import Wh Total,30,Wh,E']));
SELECT date_time, energy, status, file_id = (SELECT file_id FROM energy_file WHERE file_name = 'b.csv') AS from_b
  FROM energy_data WHERE meter_code = '5' ORDER BY date_time;
SELECT energy_populate_view();
SELECT min_energy, max_energy, avg_energy, readings FROM energy_get('5', '5', '2024-01-01');
SELECT units, interval_minutes, readings, expected_readings, min_value, max_value, sum_value, avg_value, flagged
  FROM energy_get_channels('5', '5', '2024-01-01');
SELECT pg_temp.differences() AS differences;

-- 3. A partial overlap: c.csv shares 00:45 and 01:00 with the day above
-- and adds 01:15.  The day becomes 1, 20, 300, 400, 500: 5 readings, sum
-- 1221 Wh.
SELECT file_name, rows_loaded FROM energy_load_data('c.csv', pg_temp.lp(ARRAY[
    '5,5,P5,01/01/2024 00:45:00,Import Wh Total,300,Wh,',
    '5,5,P5,01/01/2024 01:00:00,Import Wh Total,400,Wh,',
    '5,5,P5,01/01/2024 01:15:00,Import Wh Total,500,Wh,']));
SELECT file_name, at, value, counts FROM copies ORDER BY at, file_name;
SELECT energy_populate_view();
SELECT readings, sum_value, min_value, max_value, flagged FROM energy_get_channels('5', NULL, '01/01/2024');
SELECT pg_temp.differences() AS differences;

-- 4. Unloading the newest file brings back what it superseded: without
-- c.csv the day is 1, 20, 30, 4 again (sum 55 Wh).
SELECT energy_unload('c.csv');
SELECT file_name, at, value, counts FROM copies ORDER BY at, file_name;
SELECT energy_populate_view();
SELECT readings, sum_value FROM energy_get_channels('5', '5', '2024-01-01');
SELECT pg_temp.differences() AS differences;

-- 5. Replacing the oldest file makes it the newest: a.csv again, with 00:30
-- as 7; it now wins everywhere it has a reading: 1, 7, 3, 4 (sum 15 Wh).
SELECT file_name, action FROM energy_load_data('a.csv', pg_temp.lp(ARRAY[
    '5,5,P5,01/01/2024 00:15:00,Import Wh Total,1,Wh,',
    '5,5,P5,01/01/2024 00:30:00,Import Wh Total,7,Wh,',
    '5,5,P5,01/01/2024 00:45:00,Import Wh Total,3,Wh,',
    '5,5,P5,01/01/2024 01:00:00,Import Wh Total,4,Wh,']));
SELECT file_name, at, value, counts FROM copies ORDER BY at, file_name;
SELECT energy_populate_view();
SELECT readings, sum_value, flagged FROM energy_get_channels('5', '5', '2024-01-01');
SELECT pg_temp.differences() AS differences;

-- 6. Within one file the later line wins: 00:15 twice (9, then 11), and a
-- channel spelled kwh whose 00:15 comes back after 00:30.  Readings: 11 on
-- the first channel; 6 (later line) and 2 on the second.
SELECT file_name, rows_loaded FROM energy_load_data('twice.csv', pg_temp.lp(ARRAY[
    '6,6,P6,02/01/2024 00:15:00,Import Wh Total,9,kwh,',
    '6,6,P6,02/01/2024 00:15:00,Import Wh Total,11,kwh,',
    '6,6,P6,02/01/2024 00:15:00,Export Wh Total,5,kwh,',
    '6,6,P6,02/01/2024 00:30:00,Export Wh Total,2,kwh,',
    '6,6,P6,02/01/2024 00:15:00,Export Wh Total,6,kwh,']));
SELECT data_type, date_time, energy FROM energy_data WHERE meter_code = '6' ORDER BY 1, 2;
SELECT energy_populate_view();
SELECT data_type, readings, sum_value, interval_minutes FROM energy_get_channels('6', '6', '2024-01-02');
SELECT pg_temp.differences() AS differences;

-- 7. TOU register reads: the same export twice counts once, and reads of
-- one time that differ in period or rate are different readings.
SELECT file_name, rows_loaded FROM energy_load(:'data' || '/erm/TOU_214667141_20150901T040057.csv');
SELECT file_name, rows_loaded
  FROM energy_load_data('TOU_214667141_20150902T040057.csv',
                        pg_read_binary_file(:'data' || '/erm/TOU_214667141_20150901T040057.csv'));
SELECT count(*) AS reads, count(DISTINCT (date_time, period, rate)) AS distinct_reads,
       count(*) FILTER (WHERE f.file_name = 'TOU_214667141_20150902T040057.csv') AS from_newer
  FROM energy_data d JOIN energy_file f USING (file_id) WHERE meter_code = '214667141';
SELECT energy_populate_view();
SELECT readings FROM energy_get('214667141', '214667141', '01/09/2015');
SELECT pg_temp.differences() AS differences;

-- 8. A load that shares no reading marks nothing and writes no placeholder.
SELECT count(*) AS superseded_chunks FROM energy_reading r
 WHERE EXISTS (SELECT FROM energy_block_readings(r.block, r.day) u WHERE u.superseded);
SELECT file_name, rows_loaded FROM energy_load(:'data' || '/erm/LP_214612534_20150907T084333712.csv');
SELECT count(*) AS superseded_chunks FROM energy_reading r
 WHERE EXISTS (SELECT FROM energy_block_readings(r.block, r.day) u WHERE u.superseded);
SELECT count(*) AS placeholders FROM energy_daily WHERE readings = 0;

-- 9. Every meter-day these operations touched reaches the views.
SELECT count(*) > 0 AS pending FROM energy_change;
SELECT energy_populate_view();
SELECT count(*) AS pending FROM energy_change;
SELECT pg_temp.differences() AS differences;

DROP VIEW copies;
DROP EXTENSION energy;
