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

\set nem_check :data/nem_check.psql
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

DROP EXTENSION energy;
