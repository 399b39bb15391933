--
-- energy: the seed's three calls (/load-data, /populate-view, /get-data) on
-- the real sample exports, checked against values computed from the CSV
-- text by PostgreSQL's own CSV reader, not by the extension.
--
-- The test files were copied to a per-run folder named by ENERGY_TEST_DATA
-- (scripts/test-data: erm/, samples/, hostile/, scratch/).
\getenv data ENERGY_TEST_DATA
CREATE EXTENSION energy;

-- Nothing populated yet: no row, and a NOTICE saying what to call.
SELECT * FROM energy_get('210095893', '210095893', '01/09/2015');

-- /load-data: every *.csv of a folder, in name order.
SELECT * FROM energy_load(:'data' || '/erm');

-- Row counts equal each file's data lines (counted here from the text).
SELECT f.file_name, f.format, f.rows_loaded,
       (SELECT count(*) - 1
          FROM regexp_split_to_table(rtrim(pg_read_file(:'data' || '/erm/' || f.file_name), E'\n'), E'\n')) AS data_lines,
       length(f.sha256) AS sha256_bytes,
       f.file_size = (pg_stat_file(:'data' || '/erm/' || f.file_name)).size AS size_matches
  FROM energy_file f ORDER BY 1;

-- The content hash is the file's SHA-256.
SELECT count(*) AS hashes_match
  FROM energy_file f
 WHERE f.sha256 = sha256(pg_read_binary_file(:'data' || '/erm/' || f.file_name));

-- Loaded but never populated: still nothing to answer from.
SELECT count(*) FROM energy_get('210095893', '210095893', '01/09/2015');

-- /populate-view
SELECT energy_populate_view();

-- /get-data: the seed's documented answer (ED031000001, 0, 4.2,
-- 1.7166666666666668, 12 readings), in every spelling, whatever DateStyle.
SELECT * FROM energy_get('210095893', '210095893', '01/09/2015');
SELECT * FROM energy_get('210095893', '210095893', '2015-09-01');
SELECT * FROM energy_get('210095893', '210095893', date '2015-09-01');
SELECT * FROM energy_get('210095893', '210095893', ' 1/9/2015 ');
SET datestyle = 'ISO, MDY';
SELECT * FROM energy_get('210095893', '210095893', '01/09/2015');
SET datestyle = 'SQL, DMY';
SELECT * FROM energy_get('210095893', '210095893', '01/09/2015');
SET datestyle = 'German';
SELECT * FROM energy_get('210095893', '210095893', '2015-09-01');
RESET datestyle;

-- No row when nothing matches.
SELECT * FROM energy_get('210095893', '210095893', '02/09/2015');
SELECT * FROM energy_get('nope', 'nope', '01/09/2015');

-- The seed's JSON body, found and not found.
SELECT energy_get_json('210095893', '210095893', '01/09/2015');
SELECT energy_get_json('212621145', '212621145', '2015-09-11');
SELECT energy_get_json('210095893', '210095893', '01/01/2000');

-- Days in neither accepted form: 22007; a form that is right but not a
-- date: 22008.
SELECT * FROM energy_get('210095893', '210095893', '2015/09/01'); -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT * FROM energy_get('210095893', '210095893', '09-01-2015'); -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT * FROM energy_get('210095893', '210095893', '01/09/2015 00:00:00'); -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT * FROM energy_get('210095893', '210095893', ''); -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT * FROM energy_get('210095893', '210095893', '31/02/2015'); -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT * FROM energy_get('210095893', '210095893', '01/13/2015'); -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT energy_get_json('210095893', '210095893', 'yesterday'); -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;

-- Every meter and day against an independent computation over the CSV
-- text: COPY reads the files as text, the dates are cut by hand and the
-- values summed as numeric.
CREATE TEMP TABLE raw_lp (meter text, serial text, plant text, date_time text,
                          data_type text, value text, units text, status text);
CREATE TEMP TABLE raw_tou (meter text, serial text, plant text, date_time text,
                           data_type text, energy text, max_demand text, max_demand_at text,
                           units text, status text, period text, dls text,
                           reset_count text, reset_at text, rate text);
\set f :data/erm/LP_210095893_20150901T011608049.csv
COPY raw_lp FROM :'f' (FORMAT csv, HEADER);
\set f :data/erm/LP_214612534_20150907T084333712.csv
COPY raw_lp FROM :'f' (FORMAT csv, HEADER);
\set f :data/erm/TOU_212621145_20150911T022358.csv
COPY raw_tou FROM :'f' (FORMAT csv, HEADER);
\set f :data/erm/TOU_214667141_20150901T040057.csv
COPY raw_tou FROM :'f' (FORMAT csv, HEADER);
CREATE TEMP VIEW expected AS
WITH v AS (
    SELECT meter, serial, date_time, value::numeric AS v FROM raw_lp
    UNION ALL
    SELECT meter, serial, date_time, energy::numeric FROM raw_tou
)
SELECT meter, serial,
       make_date(substr(date_time, 7, 4)::int, substr(date_time, 4, 2)::int, substr(date_time, 1, 2)::int) AS day,
       min(v) AS min_v, max(v) AS max_v, avg(v) AS avg_v, count(*) AS n
  FROM v GROUP BY 1, 2, 3;

SELECT (SELECT count(*) FROM expected) AS expected_days,
       (SELECT count(*) FROM energy_data_view) AS view_days;

-- Any row here is a mismatch.
SELECT e.*, d.*
  FROM expected e
  FULL JOIN energy_data_view d
    ON d.meter_code = e.meter AND d.serial_number = e.serial AND d.day = e.day
 WHERE d.day IS NULL OR e.day IS NULL
    OR d.min_energy <> e.min_v::float8 OR d.max_energy <> e.max_v::float8
    OR d.readings <> e.n
    OR abs(d.avg_energy::numeric - e.avg_v) > 1e-12 * greatest(abs(e.avg_v), 1e-300);

-- energy_data shows every row with the seed's columns.
SELECT format, count(*), count(DISTINCT file_id) AS files FROM energy_data GROUP BY 1 ORDER BY 1;
SELECT meter_code, serial_number, plant_code, date_time, data_type, energy, units, status
  FROM energy_data WHERE meter_code = '210095893' ORDER BY date_time, data_type LIMIT 3;
-- TOU: the OLE zero date (30/12/1899 00:00:00) is NULL; DLS Active is boolean.
SELECT date_time, energy, maximum_demand, time_of_max_demand, status, period,
       dls_active, billing_reset_count, billing_reset_date_time, rate
  FROM energy_data WHERE format = 'TOU' ORDER BY meter_code, date_time, period, rate;
-- Units compare without case: one channel per data type.
SELECT data_type, units FROM energy_channel ORDER BY 1;

-- Loading again changes nothing.
SELECT * FROM energy_load(:'data' || '/erm');
SELECT count(*) AS readings FROM energy_reading r, energy_block_readings(r.block, r.day);
SELECT count(*) AS registers FROM energy_register;
SELECT sum(readings) AS partial_readings FROM energy_daily;
SELECT energy_populate_view();
-- The view is fresh again: no NOTICE.
SELECT readings FROM energy_get('210095893', '210095893', '01/09/2015');

DROP EXTENSION energy;
