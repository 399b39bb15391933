--
-- energy: rows the tables cannot hold are rejects, not the end of a call;
-- a replace keeps the hash and the rows of one content; the record limit is
-- a superuser's setting.  (Folders of 20,000 files, a million rejects,
-- symbolic links and file names in another encoding: test/t/003_fleet.pl.)
--
-- The test files were copied to a per-run folder named by ENERGY_TEST_DATA
-- (scripts/test-data: erm/, samples/, hostile/, scratch/).
\getenv data ENERGY_TEST_DATA
CREATE EXTENSION energy;
\set lp_header 'MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Data Value,Units,Status'

-- A 4,000-byte meter code cannot be a key of energy_meter's unique index:
-- in stop mode the error names the place (54000) ...
SELECT * FROM energy_load_data('long_meter.csv', convert_to(:'lp_header' || E'\n'
    || E'701,701,P,01/01/2020 00:00:00,Import Wh Total,1.5,kwh,\n'
    || repeat('7', 4000) || E',702,P,01/01/2020 00:15:00,Import Wh Total,2.5,kwh,\n'
    || E'701,701,P,01/01/2020 00:30:00,Import Wh Total,3.5,kwh,\n', 'UTF8')); -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
-- ... and in skip mode it is one reject; the other rows load.
SELECT * FROM energy_load_data('long_meter.csv', convert_to(:'lp_header' || E'\n'
    || E'701,701,P,01/01/2020 00:00:00,Import Wh Total,1.5,kwh,\n'
    || repeat('7', 4000) || E',702,P,01/01/2020 00:15:00,Import Wh Total,2.5,kwh,\n'
    || E'701,701,P,01/01/2020 00:30:00,Import Wh Total,3.5,kwh,\n', 'UTF8'), 'skip');
SELECT line, sqlstate, message, length(raw) AS raw_length
  FROM energy_rejects WHERE file_name = 'long_meter.csv';
SELECT date_time, energy FROM energy_data WHERE meter_code = '701' ORDER BY date_time;
-- 800 bytes is the limit, and a code of exactly 800 bytes loads.
SELECT file_name, rows_loaded, rows_rejected FROM energy_load_data('limit_meter.csv', convert_to(:'lp_header' || E'\n'
    || repeat('8', 800) || E',703,P,01/01/2020 00:00:00,Import Wh Total,1.5,kwh,\n'
    || repeat('8', 801) || E',703,P,01/01/2020 00:15:00,Import Wh Total,1.5,kwh,\n', 'UTF8'), 'skip');
SELECT length(meter_code) FROM energy_data WHERE serial_number = '703';

-- A character a LATIN1 database cannot hold (the euro sign) is a reject in
-- skip mode, the ERROR 22P05 in stop mode; an e-acute, which LATIN1 holds,
-- loads.
SELECT current_database() AS regress_db \gset
CREATE DATABASE regress_energy_latin1 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;
\c regress_energy_latin1
CREATE EXTENSION energy;
\set lp_header 'MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Data Value,Units,Status'
SELECT * FROM energy_load_data('euro.csv', convert_to(:'lp_header' || E'\n'
    || E'704,704,P,01/01/2020 00:00:00,Import Wh Total,1.5,kwh,\n', 'UTF8')
    || '\x3730342c3730342c502c30312f30312f323032302030303a31353a30302c496d706f727420e282ac20546f74616c2c322e352c6b77682c0a'::bytea
    || '\x3730342c3730342c502c30312f30312f323032302030303a33303a30302c43616dc3a9c3a92c332e352c6b77682c0a'::bytea); -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT * FROM energy_load_data('euro.csv', convert_to(:'lp_header' || E'\n'
    || E'704,704,P,01/01/2020 00:00:00,Import Wh Total,1.5,kwh,\n', 'UTF8')
    || '\x3730342c3730342c502c30312f30312f323032302030303a31353a30302c496d706f727420e282ac20546f74616c2c322e352c6b77682c0a'::bytea
    || '\x3730342c3730342c502c30312f30312f323032302030303a33303a30302c43616dc3a9c3a92c332e352c6b77682c0a'::bytea, 'skip');
SELECT line, sqlstate, message, raw FROM energy_rejects;
SELECT date_time, data_type = 'Cam' || chr(233) || chr(233) AS latin1_type, energy
  FROM energy_data ORDER BY date_time;
\c :regress_db
DROP DATABASE regress_energy_latin1;

-- A replace stores the hash of the content whose rows it stores.
\set lp705 :data/scratch/LP_705.csv
COPY (VALUES (:'lp_header'),
             ('705,705,P,01/01/2020 00:00:00,Import Wh Total,1.000000,kwh,'))
  TO :'lp705';
SELECT action FROM energy_load(:'lp705');
COPY (VALUES (:'lp_header'),
             ('705,705,P,01/01/2020 00:00:00,Import Wh Total,9.000000,kwh,'))
  TO :'lp705';
SELECT action FROM energy_load(:'lp705');
SELECT f.sha256 = sha256(pg_read_binary_file(:'lp705')) AS hash_matches,
       f.file_size = length(pg_read_binary_file(:'lp705')) AS size_matches,
       (SELECT energy FROM energy_data WHERE meter_code = '705') AS energy
  FROM energy_file f WHERE file_name = 'LP_705.csv';

\! rm -f "$ENERGY_TEST_DATA"/scratch/LP_705.csv

-- Rows are checked against a CHECK a user added when their batch is
-- written, after later rows were read: the error still names the line of
-- the row that broke it.
ALTER TABLE energy_register ADD CONSTRAINT regress_energy_positive CHECK (energy >= 0);
\set tou_header 'MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Energy,Maximum Demand,Time of Max Demand,Units,Status,Period,DLS Active,Billing Reset Count,Billing Reset Date/Time,Rate'
SELECT * FROM energy_load_data('checked.csv', convert_to(:'tou_header' || E'\n'
    || E'707,707,P,01/01/2020 00:00:00,Import Wh Total,1.5,,,kwh,,,,,,\n'
    || E'707,707,P,01/01/2020 00:15:00,Import Wh Total,-2.5,,,kwh,,,,,,\n'
    || E'707,707,P,01/01/2020 00:30:00,Import Wh Total,3.5,,,kwh,,,,,,\n', 'UTF8')); -- ERROR
ALTER TABLE energy_register DROP CONSTRAINT regress_energy_positive;

-- A file that is not a meter file may be anything the server can read: its
-- first line is quoted only when it looks like a CSV header (a comma, valid
-- UTF-8), never a password-file line.
SELECT * FROM energy_load_data('passwd.csv', convert_to(E'root:x:0:0:root:/root:/bin/bash\n', 'UTF8')); -- ERROR
SELECT file_name, action FROM energy_load_data('passwd.csv', convert_to(E'root:x:0:0:root:/root:/bin/bash\n', 'UTF8'), 'skip');
SELECT file_name, line, raw, sqlstate, message FROM energy_rejects WHERE file_name = 'passwd.csv';
SELECT file_name, action FROM energy_load_data('other.csv', convert_to(E'a,b,c\n1,2,3\n', 'UTF8'), 'skip');
SELECT file_name, line, raw, sqlstate, message FROM energy_rejects WHERE file_name = 'other.csv';

-- energy.max_record_size bounds what one load may hold in memory, so only
-- a superuser may change it.
CREATE ROLE regress_energy_user;
SET ROLE regress_energy_user;
SHOW energy.max_record_size;
SET energy.max_record_size = '64MB'; -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
RESET ROLE;
DROP ROLE regress_energy_user;
DROP EXTENSION energy;
