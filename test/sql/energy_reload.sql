--
-- energy: reloads never double data; replaced files leave only their new
-- rows; client-sent content; special files; privileges.
--
-- Files are written with COPY ... TO into a scratch folder the server may
-- write (scripts/test-data makes it).
--
-- The test files were copied to a per-run folder named by ENERGY_TEST_DATA
-- (scripts/test-data: erm/, samples/, hostile/, scratch/).
\getenv data ENERGY_TEST_DATA
CREATE EXTENSION energy;
\set lp555 :data/scratch/LP_555.csv
\set lp_header 'MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Data Value,Units,Status'

COPY (VALUES (:'lp_header'),
             ('555,555,P5,01/01/2020 00:00:00,Import Wh Total,1.000000,kwh,'),
             ('555,555,P5,01/01/2020 00:15:00,Import Wh Total,2.000000,kwh,'),
             ('555,555,P5,01/01/2020 00:30:00,Import Wh Total,3.000000,kwh,'))
  TO :'lp555';
SELECT * FROM energy_load(:'data' || '/scratch/LP_555.csv');
SELECT energy_populate_view() > 0 AS populated;
SELECT * FROM energy_get('555', '555', '01/01/2020');

-- Same name, same content: unchanged, nothing written.
SELECT * FROM energy_load(:'data' || '/scratch/LP_555.csv');
SELECT count(*) FROM energy_data WHERE meter_code = '555';

-- Same name, other content: replaced; only the new rows remain.
COPY (VALUES (:'lp_header'),
             ('555,555,P5,01/01/2020 00:00:00,Import Wh Total,10.000000,kwh,'),
             ('555,555,P5,01/01/2020 00:15:00,Import Wh Total,20.000000,kwh,'))
  TO :'lp555';
SELECT * FROM energy_load(:'data' || '/scratch/LP_555.csv');
SELECT date_time, energy FROM energy_data WHERE meter_code = '555' ORDER BY date_time;
SELECT count(*) AS files, sum(rows_loaded) AS rows FROM energy_file WHERE file_name = 'LP_555.csv';
SELECT count(*) AS partials, sum(d.readings) AS readings
  FROM energy_daily d JOIN energy_meter m USING (meter_id) WHERE m.meter_code = '555';
SELECT count(*) AS segments
  FROM energy_segment s JOIN energy_meter m USING (meter_id) WHERE m.meter_code = '555';
-- Stale until populated; then the new average (15 over 2 readings).
SELECT readings FROM energy_get('555', '555', '2020-01-01');
SELECT energy_populate_view() > 0 AS populated;
SELECT * FROM energy_get('555', '555', '2020-01-01');

-- Content sent by the client: same rules, no server file read.
SELECT * FROM energy_load_data('client.csv',
    convert_to(:'lp_header' || E'\r\n666,666,,02/01/2020 10:00:00,Import Wh Total,-1.5,KWH,A\r\n'
                            || E'666,666,,02/01/2020 10:15:00,Import Wh Total,2.25,kWh,', 'UTF8'));
SELECT * FROM energy_load_data('client.csv',
    convert_to(:'lp_header' || E'\r\n666,666,,02/01/2020 10:00:00,Import Wh Total,-1.5,KWH,A\r\n'
                            || E'666,666,,02/01/2020 10:15:00,Import Wh Total,2.25,kWh,', 'UTF8'));
SELECT plant_code, date_time, energy, units, status FROM energy_data WHERE meter_code = '666' ORDER BY date_time;

-- Arguments.
SELECT * FROM energy_load(:'data' || '/erm', 'ignore'); -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT * FROM energy_load(''); -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT * FROM energy_load_data('', '\x00'); -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;

-- Missing files and special files are refused at once, never waited on.
-- Errors that name a path show it with the run's folder as $DATA.
CREATE FUNCTION pg_temp.load_error(path text, on_error text DEFAULT 'stop') RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM energy_load(path, on_error);
    RETURN 'loaded';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || replace(SQLERRM, current_setting('energy_test.data'), '$DATA');
END $$;
SELECT pg_temp.load_error(:'data' || '/no-such-file.csv');
\! mkfifo "$ENERGY_TEST_DATA"/scratch/fifo.csv
SELECT pg_temp.load_error(:'data' || '/scratch/fifo.csv');
SELECT * FROM energy_load('/dev/null'); -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
\! mkdir "$ENERGY_TEST_DATA"/scratch/subdir.csv
SELECT * FROM energy_load(:'data' || '/scratch/subdir.csv/'); -- loads the (empty) directory
-- In a directory, the FIFO stops the call ...
SELECT pg_temp.load_error(:'data' || '/scratch');
-- ... or, with on_error => 'skip', it and the directory named like a file
-- are one reject each while the rest loads.
SELECT * FROM energy_load(:'data' || '/scratch', on_error => 'skip');
SELECT file_name, line, raw, sqlstate, replace(message, :'data', '$DATA') AS message FROM energy_rejects
 WHERE file_name IN ('fifo.csv', 'subdir.csv') ORDER BY reject_id;
\! rm -f "$ENERGY_TEST_DATA"/scratch/fifo.csv; rmdir "$ENERGY_TEST_DATA"/scratch/subdir.csv

-- A directory without *.csv files loads nothing.
SELECT * FROM energy_load(:'data');

-- Privileges, on a populated database.
SELECT count(*) FROM energy_load(:'data' || '/erm');
SELECT energy_populate_view() > 0 AS populated;
-- EXECUTE on energy_load is revoked from PUBLIC ...
CREATE ROLE regress_energy_reader;
SET ROLE regress_energy_reader;
SELECT * FROM energy_load(:'data' || '/erm'); -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT * FROM energy_load_data('x.csv', '\x00'); -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT energy_populate_view(); -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
-- ... but lookups are for everyone.
SELECT meter_code, readings FROM energy_get('210095893', '210095893', '01/09/2015');
RESET ROLE;
-- ... and even with EXECUTE granted, reading server files needs
-- pg_read_server_files, checked in C.
GRANT EXECUTE ON FUNCTION energy_load(text, text) TO regress_energy_reader;
SET ROLE regress_energy_reader;
SELECT * FROM energy_load('/etc/passwd'); -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT * FROM energy_load(:'data' || '/erm'); -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
RESET ROLE;

-- A loader role as the README describes it.
CREATE ROLE regress_energy_loader;
GRANT pg_read_server_files TO regress_energy_loader;
GRANT EXECUTE ON FUNCTION energy_load(text, text), energy_load_data(text, bytea, text),
      energy_unload(text), energy_populate_view(), energy_block_readings(bytea, date),
      energy_block_readings(bytea, date, bigint, bigint) TO regress_energy_loader;
GRANT SELECT, INSERT, UPDATE, DELETE ON energy_file, energy_meter, energy_channel,
      energy_segment, energy_reading, energy_register, energy_daily, energy_change, energy_rejects
      TO regress_energy_loader;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO regress_energy_loader;
SET ROLE regress_energy_loader;
SELECT * FROM energy_load(:'data' || '/samples');
SELECT energy_populate_view() > 0 AS populated;
SELECT * FROM energy_get('100000001', '100000001', '01/03/2024');
RESET ROLE;
-- Without INSERT on the readings, the bulk path refuses like INSERT would.
REVOKE INSERT ON energy_reading FROM regress_energy_loader;
SET ROLE regress_energy_loader;
SELECT * FROM energy_load_data('denied.csv', convert_to(:'lp_header' || E'\n777,777,,01/01/2020 00:00:00,X,1,kwh,', 'UTF8')); -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
RESET ROLE;
SELECT count(*) FROM energy_file WHERE file_name = 'denied.csv';

DROP OWNED BY regress_energy_reader, regress_energy_loader;
DROP ROLE regress_energy_reader, regress_energy_loader;

DROP EXTENSION energy;
