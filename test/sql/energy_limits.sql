--
-- energy: settings and limits.  The "energy." prefix is reserved, records
-- longer than energy.max_record_size are refused without reading the rest
-- into memory, and anything at all (binary junk, a lone BOM) is a clear
-- error, never a crash.
--
-- The test files were copied to a per-run folder named by ENERGY_TEST_DATA
-- (scripts/test-data: erm/, samples/, hostile/, scratch/).
\getenv data ENERGY_TEST_DATA
CREATE EXTENSION energy;
\set lp_header 'MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Data Value,Units,Status'

-- Settings: defaults, units, bounds, and the reserved prefix.  The settings
-- exist once the library is loaded (by the first call, or LOAD, or
-- shared_preload_libraries).
LOAD 'energy';
SHOW energy.batch_rows;
SHOW energy.max_record_size;
SHOW energy.read_buffer_size;
SET energy.batch_rows = 0; -- ERROR
-- (a size setting out of its range: energy_limits_units)
SET energy.no_such_setting = 1; -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;

-- Tiny batches and reads give the same result as the defaults.
SELECT file_name, rows_loaded, action
  FROM energy_load(:'data' || '/erm/LP_210095893_20150901T011608049.csv');
SET energy.batch_rows = 1;
SET energy.read_buffer_size = 8;
SELECT file_name, rows_loaded, action
  FROM energy_load_data('small_batches.csv',
       pg_read_binary_file(:'data' || '/erm/LP_210095893_20150901T011608049.csv'));
-- The two names hold the same readings, so only the later one's copies
-- count in energy_data: compare what each stored, from the table.
SELECT f.file_name, count(*), sum(u.value::numeric), min(u.at), max(u.at),
       sum(extract(epoch FROM u.at) * u.value::numeric) AS weighted,
       count(*) FILTER (WHERE u.lost) AS superseded
  FROM energy_reading r JOIN energy_segment s USING (segment_id) JOIN energy_file f USING (file_id)
 CROSS JOIN LATERAL energy_block_readings(r.block, r.day) AS u(at, value, status, lost)
 WHERE f.file_name IN ('small_batches.csv', 'LP_210095893_20150901T011608049.csv')
 GROUP BY 1 ORDER BY 1;
RESET energy.batch_rows;
RESET energy.read_buffer_size;

-- A record longer than the limit: 54000, and in skip mode the next record
-- loads.
SET energy.max_record_size = '1kB';
SELECT * FROM energy_load_data('long.csv', convert_to(:'lp_header' || E'\n'
    || '1,1,P,01/01/2020 00:00:00,Import Wh Total,1,kwh,' || repeat('x', 2000) || E'\n'
    || E'1,1,P,01/01/2020 00:15:00,Import Wh Total,2,kwh,\n', 'UTF8')); -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT * FROM energy_load_data('long.csv', convert_to(:'lp_header' || E'\n'
    || '1,1,P,01/01/2020 00:00:00,Import Wh Total,1,kwh,' || repeat('x', 2000) || E'\n'
    || E'1,1,P,01/01/2020 00:15:00,Import Wh Total,2,kwh,\n', 'UTF8'), 'skip');
SELECT line, sqlstate, length(raw) AS raw_length FROM energy_rejects WHERE file_name = 'long.csv';
-- A "file" that is one endless line is refused as soon as the limit is hit.
SELECT * FROM energy_load_data('endless.csv', convert_to(repeat('y', 100000), 'UTF8')); -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
RESET energy.max_record_size;

-- Binary junk, a lone byte-order mark, nothing but blank lines.
SELECT * FROM energy_load_data('junk.csv', '\x1f8b0800000000000003ed5d0b7c54d5'::bytea); -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT * FROM energy_load_data('bom.csv', '\xefbbbf'::bytea); -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT * FROM energy_load_data('blank.csv', convert_to(E'\n \r\n\t\n', 'UTF8')); -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT * FROM energy_load_data('empty.csv', ''::bytea); -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;

-- Dates at the edges of the calendar.
SELECT * FROM energy_load_data('edges.csv', convert_to(:'lp_header' || E'\n'
    || E'2,2,P,29/02/2000 23:59:59,Import Wh Total,1,kwh,\n'
    || E'2,2,P,01/01/0001 00:00:00,Import Wh Total,2,kwh,\n'
    || E'2,2,P,31/12/9999 23:59:59.999999,Import Wh Total,3,kwh,\n', 'UTF8'));
SELECT date_time, energy FROM energy_data WHERE meter_code = '2' ORDER BY date_time;
SELECT * FROM energy_load_data('leap.csv', convert_to(:'lp_header' || E'\n'
    || E'2,2,P,29/02/1900 00:00:00,Import Wh Total,1,kwh,\n', 'UTF8')); -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT * FROM energy_load_data('year0.csv', convert_to(:'lp_header' || E'\n'
    || E'2,2,P,01/01/0000 00:00:00,Import Wh Total,1,kwh,\n', 'UTF8')); -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;

-- 1.2's names of the two settings are deprecated aliases for one release
-- (1.3): each sets the same value as the new name, with a WARNING.
SET energy.read_buffer_kb = 16;
SHOW energy.read_buffer_size;
RESET energy.read_buffer_kb;
SHOW energy.read_buffer_size;
SET energy.max_record_bytes = '2MB';
SHOW energy.max_record_size;
RESET energy.max_record_size;
SHOW energy.max_record_bytes;
DROP EXTENSION energy;
