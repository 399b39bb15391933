--
-- energy: energy_unload removes a file, its readings, partials and rejects;
-- the views follow at the next populate.  energy_load_data keeps the base
-- name of the name it is given, so one export loaded either way is one file.
--
-- The test files were copied to a per-run folder named by ENERGY_TEST_DATA
-- (scripts/test-data: erm/, samples/, hostile/, scratch/).
\getenv data ENERGY_TEST_DATA
CREATE EXTENSION energy;
SELECT count(*) AS files FROM energy_load(:'data' || '/erm');
SELECT * FROM energy_load_data('dir/sub/rejects.csv', convert_to(
    E'MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Data Value,Units,Status\n'
    || E'900,900,P9,02/09/2015 00:15:00,Import Wh Total,1.5,kwh,\n'
    || E'900,900,P9,02/09/2015 00:30:00,Import Wh Total,abc,kwh,\n', 'UTF8'), on_error => 'skip');
SELECT file_name FROM energy_rejects;
SELECT energy_populate_view();

-- The same bytes sent with a path are the same file: unchanged.
SELECT * FROM energy_load_data('exports/2015/LP_210095893_20150901T011608049.csv',
                               pg_read_binary_file(:'data' || '/erm/LP_210095893_20150901T011608049.csv'));
SELECT * FROM energy_load_data('nowhere/', '\x00'); -- ERROR

-- Readings of the file, counted from energy_data before it goes.
CREATE TEMP TABLE before AS
SELECT (SELECT count(*) FROM energy_data d JOIN energy_file f USING (file_id)
         WHERE f.file_name = 'LP_210095893_20150901T011608049.csv') AS its_readings,
       (SELECT count(*) FROM energy_data) AS all_readings;
SELECT energy_unload('LP_210095893_20150901T011608049.csv') = its_readings AS returns_its_readings
  FROM before;
SELECT (SELECT count(*) FROM energy_data) = all_readings - its_readings AS others_kept FROM before;
SELECT count(*) AS file_rows FROM energy_file WHERE file_name = 'LP_210095893_20150901T011608049.csv';
SELECT count(*) AS partials FROM energy_daily d JOIN energy_meter m USING (meter_id) WHERE m.meter_code = '210095893';
-- Its meter-days are logged: the answer is stale until the next populate,
-- which removes the rows of days nothing covers any more.
SELECT readings FROM energy_get('210095893', '210095893', '01/09/2015');
SELECT energy_populate_view();
SELECT readings FROM energy_get('210095893', '210095893', '01/09/2015');
SELECT count(*) AS view_rows FROM energy_data_view WHERE meter_code = '210095893';

-- A TOU file, by a path; its rejects go with a file that had some.
SELECT energy_unload('x/TOU_214667141_20150901T040057.csv');
SELECT energy_unload('rejects.csv');
SELECT count(*) AS rejects FROM energy_rejects;
SELECT file_name FROM energy_file ORDER BY 1;

-- An unknown name, or one already unloaded.
SELECT energy_unload('LP_210095893_20150901T011608049.csv'); -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT energy_unload('never.csv'); -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;

-- The privilege of loading: not for PUBLIC.
CREATE ROLE regress_energy_unloader;
SET ROLE regress_energy_unloader;
SELECT energy_unload('LP_214612534_20150907T084333712.csv'); -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
RESET ROLE;
DROP ROLE regress_energy_unloader;

-- Unloaded and loaded again: the file comes back whole.
SELECT file_name, rows_loaded, action
  FROM energy_load(:'data' || '/erm/LP_210095893_20150901T011608049.csv');
SELECT energy_populate_view();
SELECT plant_code, min_energy, max_energy, avg_energy, readings
  FROM energy_get('210095893', '210095893', '01/09/2015');

DROP EXTENSION energy;
