--
-- energy: upgrading a loaded 1.0 database to 1.1 keeps every reading, file,
-- partial and rejected row, and the same answers.  The 1.1 library serves
-- the 1.0 schema while it waits for ALTER EXTENSION energy UPDATE.
--
-- The test files were copied to a per-run folder named by ENERGY_TEST_DATA
-- (scripts/test-data: erm/, samples/, hostile/, scratch/).
\getenv data ENERGY_TEST_DATA
CREATE EXTENSION energy VERSION '1.0';
SELECT extversion FROM pg_extension WHERE extname = 'energy';
-- A loading role of 1.0, granted as 1.0's README said.
CREATE ROLE regress_energy_old_loader;
GRANT SELECT, INSERT, UPDATE, DELETE ON energy_file, energy_meter, energy_channel,
      energy_segment, energy_reading, energy_register, energy_daily, energy_rejects
      TO regress_energy_old_loader;

-- A loaded 1.0 database: the real exports, a file with rejected rows, a
-- populated view.  This library is newer: it loads into the 1.0 schema as
-- it is, and populates and looks up as 1.0 did (energy_oldversions tests
-- that in full).
SELECT * FROM energy_load(:'data' || '/erm');
SELECT * FROM energy_load_data('rejects.csv', convert_to(
    E'MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Data Value,Units,Status\n'
    || E'900,900,P9,02/09/2015 00:15:00,Import Wh Total,1.5,kwh,\n'
    || E'900,900,P9,02/09/2015 00:30:00,Import Wh Total,abc,kwh,\n'
    || E'900,900,P9,02/09/2015 00:45:00,Import Wh Total,2.5,kwh,\n', 'UTF8'), on_error => 'skip');
-- What 1.0's energy_populate_view() did: refresh, and record the snapshot.
SELECT energy_populate_view();
SELECT * FROM energy_get('210095893', '210095893', '01/09/2015');
SELECT * FROM energy_data_view WHERE meter_code = '210095893' AND day = '2015-09-01';
-- A replace in the 1.0 schema, which has no change log to write.
SELECT file_name, rows_loaded, action FROM energy_load_data('replaced.csv', convert_to(
    E'MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Data Value,Units,Status\n'
    || E'902,902,P9,03/09/2015 00:15:00,Import Wh Total,1,kwh,\n', 'UTF8'));
SELECT file_name, rows_loaded, action FROM energy_load_data('replaced.csv', convert_to(
    E'MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Data Value,Units,Status\n'
    || E'902,902,P9,03/09/2015 00:15:00,Import Wh Total,2,kwh,\n'
    || E'902,902,P9,03/09/2015 00:30:00,Import Wh Total,4,kwh,\n', 'UTF8'));
SELECT count(*) AS partials, sum(readings) AS readings, sum(sum_value) AS sum
  FROM energy_daily d JOIN energy_meter m USING (meter_id) WHERE m.meter_code = '902';
-- A file loaded after that refresh, which the 1.0 view has not seen.
SELECT * FROM energy_load_data('late.csv', convert_to(
    E'MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Data Value,Units,Status\n'
    || E'901,901,P9,03/09/2015 00:15:00,Import Wh Total,7.25,kwh,\n', 'UTF8'));

-- Everything a user can see, kept aside.
CREATE TEMP TABLE before_data AS SELECT * FROM energy_data;
CREATE TEMP TABLE before_files AS
	SELECT file_id, file_name, file_size, sha256, format, rows_loaded, rows_rejected, loaded_at, loaded_by
	  FROM energy_file;
CREATE TEMP TABLE before_daily AS SELECT * FROM energy_daily;
CREATE TEMP VIEW daily_10 AS
	SELECT meter_id, day, channel_id, file_id, part, readings, sum_value, min_value, max_value
	  FROM energy_daily;
CREATE TEMP TABLE before_rejects AS
	SELECT reject_id, file_name, line, raw, sqlstate, message FROM energy_rejects;
CREATE TEMP TABLE before_view AS SELECT * FROM energy_data_view;
CREATE TEMP TABLE before_json AS
	SELECT jsonb_build_object('meter_code', meter_code, 'serial_code', serial_number,
	                          'plant_code', plant_code, 'date_time', to_char(day, 'DD/MM/YYYY'),
	                          'min_energy', min_energy, 'max_energy', max_energy,
	                          'avg_energy', avg_energy, 'readings', readings) AS j
	  FROM energy_data_view WHERE meter_code = '214612534' AND day = '2015-09-06';

ALTER EXTENSION energy UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'energy';
-- The loading role may write the new change log; everyone may read it.
SELECT has_table_privilege('regress_energy_old_loader', 'energy_change', 'INSERT') AS loader_logs,
       has_table_privilege('public', 'energy_change', 'SELECT') AS public_reads;

-- Every row is still there, unchanged: each difference is counted both ways.
-- (energy_data's columns as 1.0 had them: 1.3 adds time_zone after them)
CREATE TEMP VIEW data_10 AS
	SELECT meter_code, serial_number, plant_code, date_time, data_type, energy, units, status,
	       maximum_demand, time_of_max_demand, period, dls_active, billing_reset_count,
	       billing_reset_date_time, rate, format, file_id, day
	  FROM energy_data;
SELECT (SELECT count(*) FROM before_data) AS readings,
       (SELECT count(*) FROM ((TABLE before_data EXCEPT ALL TABLE data_10)
                              UNION ALL (TABLE data_10 EXCEPT ALL TABLE before_data)) d) AS changed;
SELECT (SELECT count(*) FROM before_files) AS files,
       (SELECT count(*) FROM ((TABLE before_files EXCEPT ALL
                               SELECT file_id, file_name, file_size, sha256, format, rows_loaded, rows_rejected, loaded_at, loaded_by FROM energy_file)
                              UNION ALL (SELECT file_id, file_name, file_size, sha256, format, rows_loaded, rows_rejected, loaded_at, loaded_by FROM energy_file
                                         EXCEPT ALL TABLE before_files)) d) AS changed;
SELECT (SELECT count(*) FROM before_daily) AS partials,
       (SELECT count(*) FROM ((TABLE before_daily EXCEPT ALL TABLE daily_10)
                              UNION ALL (TABLE daily_10 EXCEPT ALL TABLE before_daily)) d) AS changed;
-- The partials' new columns are filled from the readings: the flagged
-- count and the most common gap, computed here from energy_data.
SELECT count(*) AS mismatches
  FROM energy_daily d
  JOIN energy_channel c USING (channel_id)
  JOIN energy_meter m USING (meter_id)
  LEFT JOIN (SELECT file_id, meter_code, serial_number, plant_code, data_type, day,
                    count(*) FILTER (WHERE status <> '') AS flagged
               FROM energy_data GROUP BY 1, 2, 3, 4, 5, 6) x
    ON x.file_id = d.file_id AND x.meter_code = m.meter_code AND x.serial_number = m.serial_number
   AND x.plant_code IS NOT DISTINCT FROM m.plant_code AND x.data_type = c.data_type AND x.day = d.day
  LEFT JOIN (SELECT DISTINCT ON (file_id, meter_code, data_type, day) file_id, meter_code, data_type, day, gap
               FROM (SELECT file_id, meter_code, data_type, day,
                            round(extract(epoch FROM date_time - lag(date_time) OVER w) / 60) AS gap
                       FROM energy_data WHERE format = 'LP'
                     WINDOW w AS (PARTITION BY file_id, meter_code, data_type, day ORDER BY date_time)) g
              WHERE gap > 0
              GROUP BY 1, 2, 3, 4, 5
              ORDER BY file_id, meter_code, data_type, day, count(*) DESC, gap) i
    ON i.file_id = d.file_id AND i.meter_code = m.meter_code AND i.data_type = c.data_type AND i.day = d.day
 WHERE d.flagged IS DISTINCT FROM x.flagged OR d.interval_minutes IS DISTINCT FROM i.gap::int;
SELECT (SELECT count(*) FROM before_rejects) AS rejects,
       (SELECT count(*) FROM ((TABLE before_rejects EXCEPT ALL SELECT reject_id, file_name, line, raw, sqlstate, message FROM energy_rejects)
                              UNION ALL (SELECT reject_id, file_name, line, raw, sqlstate, message FROM energy_rejects
                                         EXCEPT ALL TABLE before_rejects)) d) AS changed;
SELECT (SELECT count(*) FROM before_view) AS view_rows,
       (SELECT count(*) FROM ((TABLE before_view EXCEPT ALL SELECT * FROM energy_data_view)
                              UNION ALL (SELECT * FROM energy_data_view EXCEPT ALL TABLE before_view)) d) AS changed;

-- The same answers, now through energy_get: the late file's meter-day is
-- stale until the first 1.1 populate, which refreshes in full.
SELECT * FROM energy_get('901', '901', '03/09/2015');
SELECT readings, avg_energy FROM energy_get('902', '902', '03/09/2015');
SELECT energy_populate_view();
SELECT readings, avg_energy FROM energy_get('902', '902', '03/09/2015');
SELECT * FROM energy_get('901', '901', '03/09/2015');
SELECT * FROM energy_get('210095893', '210095893', '01/09/2015');
SELECT energy_get_json('214612534', '214612534', '06/09/2015') = j AS same_json FROM before_json;
SELECT count(*) AS changed_view_rows
  FROM ((TABLE before_view EXCEPT ALL SELECT * FROM energy_data_view WHERE meter_code NOT IN ('901', '902'))
        UNION ALL (SELECT * FROM energy_data_view WHERE meter_code NOT IN ('901', '902') EXCEPT ALL TABLE before_view)) d;

-- The upgraded database goes on as before: the same files are unchanged,
-- a populate gives the same view (and the two days it had not seen), and
-- the identities continue.
SELECT file_name, action FROM energy_load(:'data' || '/erm');
SELECT energy_populate_view() = (SELECT count(*) + 2 FROM before_view) AS same_view_rows;
SELECT file_name, action FROM energy_load(:'data' || '/samples');
SELECT min(file_id) > (SELECT max(file_id) FROM before_files) AS new_ids_follow
  FROM energy_file WHERE file_name NOT IN (SELECT file_name FROM before_files);

DROP VIEW daily_10;
DROP VIEW data_10;

-- A fresh 1.1 install and this upgraded one have the same objects.
CREATE TEMP TABLE upgraded_objects AS
	SELECT pg_describe_object(classid, objid, 0) AS object
	  FROM pg_depend
	 WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
	   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'energy');
DROP EXTENSION energy;
CREATE EXTENSION energy;
SELECT extversion FROM pg_extension WHERE extname = 'energy';
SELECT count(*) AS differences
  FROM ((TABLE upgraded_objects EXCEPT ALL
         SELECT pg_describe_object(classid, objid, 0) FROM pg_depend
          WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
            AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'energy'))
        UNION ALL
        (SELECT pg_describe_object(classid, objid, 0) FROM pg_depend
          WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
            AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'energy')
         EXCEPT ALL TABLE upgraded_objects)) d;
DROP EXTENSION energy;

-- 1.0 counted a reading delivered twice (the same export under a second
-- name) twice; the update keeps both copies and counts the newer one.
CREATE EXTENSION energy VERSION '1.0';
SELECT file_name, action FROM energy_load(:'data' || '/erm/LP_210095893_20150901T011608049.csv');
SELECT file_name, action
  FROM energy_load_data('LP_210095893_20150902T011608049.csv',
                        pg_read_binary_file(:'data' || '/erm/LP_210095893_20150901T011608049.csv'));
SELECT count(*) AS readings_in_10 FROM energy_data;
ALTER EXTENSION energy UPDATE;
SELECT f.file_name, count(*) AS readings
  FROM energy_data d JOIN energy_file f USING (file_id) GROUP BY 1 ORDER BY 1;
SELECT energy_populate_view();
SELECT * FROM energy_get('210095893', '210095893', '01/09/2015');
SELECT energy_unload('LP_210095893_20150902T011608049.csv');
SELECT count(*) AS readings_after_unload FROM energy_data;
DROP EXTENSION energy;
DROP ROLE regress_energy_old_loader;
