--
-- energy: AEMO NEM12 and NEM13 files.  Every file of test/data/nem is
-- loaded alone (skip mode: a broken record is a reject, the rest loads) and
-- its per-channel rows are compared with the sums an independent reader
-- wrote in expected/<file>.tsv (test/data/nem/README.md).  Units are made
-- canonical here by a table of this test's own, not energy_unit.
--
CREATE EXTENSION energy;
\getenv data ENERGY_TEST_DATA
\set nem :data/nem

\set nem_check :data/include/nem_check.psql
\i :nem_check

SELECT name, c.*
  FROM pg_ls_dir(:'nem') AS name,
       LATERAL pg_temp.check_file(:'nem', name) AS c
 WHERE name NOT IN ('README.md', 'expected')
 ORDER BY name COLLATE "C";

-- Stop mode: a broken record ends the call with its SQLSTATE, file and line.
SELECT * FROM energy_load(:'nem' || '/NEM12#InvalidIntervalDataLength#CNRGYMDP#NEMMCO.csv'); -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT * FROM energy_load(:'nem' || '/NEM12#000000000000021#CNRGYMDP#NEMMCO'); -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;

-- The mapping, on one interval file: NMI, serial, suffix and unit; an
-- interval ends at IntervalDate + i x IntervalLength, and the last one
-- (00:00 the next day) still belongs to the IntervalDate; the status is the
-- effective quality.
SELECT count(*) FROM (SELECT energy_unload(file_name) FROM energy_file) u;
SELECT file_name, format, rows_loaded, rows_rejected, action
  FROM energy_load(:'nem' || '/NEM12#DATA_TEST.V01');
SELECT meter_code, serial_number, plant_code, data_type, units, day, min(date_time), max(date_time),
       count(*), string_agg(DISTINCT status, ',')
  FROM energy_data GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 4, 5, 6 LIMIT 4;

-- A folder: every file whose content is a meter file loads, whatever its
-- name; the others (README.md) are rejects in skip mode, and the expected/
-- folder is not a file.
SELECT count(*) FROM (SELECT energy_unload(file_name) FROM energy_file) u;
CREATE TEMP TABLE folder AS SELECT * FROM energy_load(:'nem', 'skip');
SELECT format, action, count(*) FROM folder GROUP BY 1, 2 ORDER BY 1, 2;
SELECT file_name, rows_rejected FROM folder WHERE action = 'rejected' ORDER BY 1;
-- In stop mode a folder's other files (notes.txt, a subfolder) are skipped
-- without a word (nemdir/: two meter files, a text file and a folder).
SELECT count(*) FROM (SELECT energy_unload(file_name) FROM energy_file) u;
SELECT file_name, format, rows_loaded, rows_rejected, action FROM energy_load(:'data' || '/nemdir');

-- The same NEM12 file again under another name (a re-delivery), and a
-- corrected day: each reading counts once, the newer copy.
SELECT count(*) FROM (SELECT energy_unload(file_name) FROM energy_file) u;
SELECT file_name, rows_loaded FROM energy_load(:'nem' || '/NEM12#DATA_TEST.V01');
SELECT file_name, rows_loaded
  FROM energy_load_data('NEM12#DATA_TEST_AGAIN.V01', pg_read_binary_file(:'nem' || '/NEM12#DATA_TEST.V01'));
SELECT count(*) AS readings, count(DISTINCT (meter_code, data_type, date_time)) AS distinct_readings,
       count(*) FILTER (WHERE file_id = (SELECT file_id FROM energy_file WHERE file_name = 'NEM12#DATA_TEST_AGAIN.V01')) AS from_newer
  FROM energy_data;
CREATE FUNCTION pg_temp.nem12(nmi text, v text) RETURNS bytea LANGUAGE sql AS $$
    SELECT convert_to(E'100,NEM12,200506081149,UNITEDDP,NEMMCO\n'
        || '200,' || nmi || E',E1,E1,E1,N1,01009,kWh,30,20050610\n'
        || '300,20050301,' || repeat('1.5,', 47) || v || E',A,,,20050310121004,20050310182204\n'
        || E'900\n', 'UTF8') $$;
SELECT file_name, rows_loaded FROM energy_load_data('day.V01', pg_temp.nem12('NEM1201009', '1.5'));
SELECT file_name, rows_loaded FROM energy_load_data('day_corrected.V01', pg_temp.nem12('NEM1201009', '99'));
SELECT energy_populate_view();
-- 47 x 1.5 + 99 = 169.5 kWh; the last interval ends at 00:00 on 2 March.
SELECT day, readings, expected_readings, interval_minutes, max_value, sum_value
  FROM energy_get_channels('NEM1201009', NULL, '2005-03-01');
SELECT date_time, energy FROM energy_data WHERE meter_code = 'NEM1201009' ORDER BY date_time DESC LIMIT 1;

-- Hostile: a value that is not a number, an NMI the dictionaries cannot
-- index (over 800 bytes): clear errors, nothing written; in skip mode,
-- rejects.
SELECT * FROM energy_load_data('nan.V01', pg_temp.nem12('NEM1201010', 'NaN')); -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT * FROM energy_load_data('long.V01', pg_temp.nem12(repeat('N', 900), '1')); -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT file_name, rows_loaded, rows_rejected
  FROM energy_load_data('long.V01', pg_temp.nem12(repeat('N', 900), '1'), 'skip');
SELECT count(*) AS long_files FROM energy_file WHERE file_name IN ('nan.V01');

DROP EXTENSION energy;
