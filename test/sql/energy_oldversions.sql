--
-- energy: a newer library serves an older schema.  Between a package
-- upgrade and ALTER EXTENSION energy UPDATE, a 1.0 or 1.1 database keeps
-- loading, populating and answering as that version did (as contrib's
-- pg_stat_statements keeps its old entry points, tested by its
-- oldextversions test); after the update, the same answers.
--
-- The test files were copied to a per-run folder named by ENERGY_TEST_DATA
-- (scripts/test-data: erm/, samples/, hostile/, scratch/).
\getenv data ENERGY_TEST_DATA
\set lp_header 'MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Data Value,Units,Status'

-------------------------------------------------------------------------------
-- 1.0
-------------------------------------------------------------------------------

CREATE EXTENSION energy VERSION '1.0';
SELECT extversion FROM pg_extension WHERE extname = 'energy';
-- 1.0's functions: no range, no channels
SELECT to_regprocedure('energy_get(text, text, date, date)') IS NULL AS no_range,
       to_regprocedure('energy_get_channels(text, text, date)') IS NULL AS no_channels;

-- Before any populate: 1.0's NOTICE, no row.
SELECT * FROM energy_get('210095893', '210095893', '01/09/2015');
SELECT file_name, format, rows_loaded, rows_rejected, action FROM energy_load(:'data' || '/erm');
-- Populate refreshes and records its snapshot, as 1.0 did; the seed's
-- documented answer follows, as text, as a date and as the seed's body.
SELECT energy_populate_view();
SELECT count(*) AS views_rows, (SELECT view_rows FROM energy_view_state) AS recorded,
       (SELECT snapshot IS NOT NULL FROM energy_view_state) AS snapshot_recorded
  FROM energy_data_view;
SELECT * FROM energy_get('210095893', '210095893', '01/09/2015');
SELECT * FROM energy_get('210095893', '210095893', date '2015-09-01');
SELECT energy_get_json('210095893', '210095893', '2015-09-01T00:00:00.000+10:00');
SELECT energy_get_json('210095893', '210095893', '02/09/2014');
-- This library's day rules hold on a 1.0 schema too.
SELECT * FROM energy_get('210095893', '210095893', '2015-08-31T14:00:00.000Z'); -- ERROR
-- A file loaded after the populate: 1.0 tells it from the snapshot (any
-- meter: 1.0 has no change log), until the next populate.
SELECT file_name, rows_loaded, action FROM energy_load_data('C:\exports\late10.csv', convert_to(:'lp_header' || E'\n'
    || E'901,901,P9,03/09/2015 00:15:00,Import Wh Total,7.25,kwh,\n'
    || E'901,901,P9,03/09/2015 00:30:00,Import Wh Total,1.5,kwh,\n', 'UTF8'));
SELECT readings FROM energy_get('210095893', '210095893', '01/09/2015');
SELECT * FROM energy_get('901', '901', '03/09/2015');
SELECT energy_populate_view();
SELECT * FROM energy_get('901', '901', '03/09/2015');
-- Populate once populated is CONCURRENTLY: a reader of another session
-- is never blocked (the refresh needs the unique index it has).
SELECT count(*) AS rows_of_1_0 FROM energy_data_view;

-- Every answer, kept aside; answer_differences() sets energy_get's answers
-- for the view's keys now against them: 0 when they are the same.
CREATE FUNCTION pg_temp.answer_differences(kept regclass) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM ('
                   '(SELECT g.* FROM energy_data_view v, LATERAL energy_get(v.meter_code, v.serial_number, v.day) g'
                   ' EXCEPT ALL TABLE %1$s) UNION ALL (TABLE %1$s EXCEPT ALL'
                   ' SELECT g.* FROM energy_data_view v, LATERAL energy_get(v.meter_code, v.serial_number, v.day) g)) d',
                   kept) INTO n;
    RETURN n;
END $$;
CREATE TEMP TABLE answers_10 AS
SELECT g.* FROM energy_data_view v, LATERAL energy_get(v.meter_code, v.serial_number, v.day) g;
CREATE TEMP TABLE json_10 AS
SELECT v.meter_code, v.serial_number, v.day,
       energy_get_json(v.meter_code, v.serial_number, to_char(v.day, 'DD/MM/YYYY')) AS j
  FROM energy_data_view v;

-- The update: to 1.1 first, then to this version.
ALTER EXTENSION energy UPDATE TO '1.1';
SELECT energy_populate_view();
SELECT pg_temp.answer_differences('answers_10') AS differences;
ALTER EXTENSION energy UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'energy';
SELECT energy_populate_view();
SELECT pg_temp.answer_differences('answers_10') AS differences;
SELECT count(*) AS json_differences
  FROM json_10 o
 WHERE o.j IS DISTINCT FROM energy_get_json(o.meter_code, o.serial_number, to_char(o.day, 'DD/MM/YYYY'));
-- and what 1.1 added works on the updated database
SELECT count(*) AS days FROM energy_get('214612534', '214612534', date '2015-09-01', date '2015-09-30');
SELECT data_type, sum_value FROM energy_get_channels('901', '901', '03/09/2015');
DROP EXTENSION energy;

-------------------------------------------------------------------------------
-- 1.1
-------------------------------------------------------------------------------

CREATE EXTENSION energy VERSION '1.1';
SELECT extversion FROM pg_extension WHERE extname = 'energy';
SELECT to_regprocedure('energy_get(text, text, text, text)') IS NULL AS no_text_range;
SELECT file_name, format, rows_loaded, rows_rejected, action FROM energy_load(:'data' || '/erm');
SELECT energy_populate_view();
SELECT * FROM energy_get('210095893', '210095893', '01/09/2015');
SELECT day, readings FROM energy_get('214612534', '214612534', date '2015-09-01', date '2015-09-30');
SELECT energy_get_json('210095893', '210095893', date '2015-09-01');
-- 1.1's channel view, as 1.1 printed it: the loader's sums with 9 places.
SELECT data_type, units, readings, min_value, max_value, sum_value, avg_value
  FROM energy_get_channels('210095893', '210095893', '01/09/2015');
-- A change of one meter-day: staleness of that meter-day only, then an
-- incremental populate.
SELECT file_name, rows_loaded, action FROM energy_load_data('late11.csv', convert_to(:'lp_header' || E'\n'
    || E'210095893,210095893,ED031000001,01/09/2015 23:45:00,Export Wh Total,1.25,kwh,\n', 'UTF8'));
SELECT readings FROM energy_get('210095893', '210095893', '01/09/2015');
SELECT readings FROM energy_get('214612534', '214612534', '06/09/2015');
SELECT energy_populate_view();
SELECT readings, max_energy FROM energy_get('210095893', '210095893', '01/09/2015');
SELECT data_type, readings, sum_value FROM energy_get_channels('210095893', '210095893', date '2015-09-01')
 WHERE data_type = 'Export Wh Total';

CREATE TEMP TABLE answers_11 AS
SELECT g.* FROM energy_data_view v, LATERAL energy_get(v.meter_code, v.serial_number, v.day) g;
CREATE TEMP TABLE channels_11 AS
SELECT c.* FROM energy_data_view v, LATERAL energy_get_channels(v.meter_code, v.serial_number, v.day) c;

-- A role that may not read channels keeps not reading them after the
-- update, which makes energy_get_channels again.
CREATE ROLE regress_energy_no_channels;
REVOKE EXECUTE ON FUNCTION energy_get_channels(text, text, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION energy_get_channels(text, text, date) TO regress_energy_no_channels;
REVOKE SELECT ON energy_channel_view FROM PUBLIC;

ALTER EXTENSION energy UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'energy';
-- The channel view is filled by the update: lookups go on at once.
SELECT count(*) = (SELECT count(*) FROM channels_11) AS channel_rows_kept FROM energy_channel_view;
SELECT pg_temp.answer_differences('answers_11') AS differences;
-- The same channel rows as numbers; only the printing of sum_value changed.
SELECT count(*) AS differences FROM (
    (SELECT c.* FROM energy_data_view v, LATERAL energy_get_channels(v.meter_code, v.serial_number, v.day) c
     EXCEPT ALL TABLE channels_11)
    UNION ALL
    (TABLE channels_11
     EXCEPT ALL SELECT c.* FROM energy_data_view v, LATERAL energy_get_channels(v.meter_code, v.serial_number, v.day) c)) d;
SELECT data_type, units, readings, min_value, max_value, sum_value, avg_value
  FROM energy_get_channels('210095893', '210095893', '01/09/2015');
SELECT has_function_privilege('public', 'energy_get_channels(text, text, date)', 'EXECUTE') AS public_executes,
       has_function_privilege('regress_energy_no_channels', 'energy_get_channels(text, text, date)', 'EXECUTE') AS role_executes,
       has_table_privilege('public', 'energy_channel_view', 'SELECT') AS public_reads,
       has_function_privilege('public', 'energy_get_channels(text, text, text)', 'EXECUTE') AS public_executes_text;
-- and 1.2's range with text days
SELECT count(*) AS days FROM energy_get('214612534', '214612534', '01/09/2015', '30/09/2015');
SELECT energy_populate_view();
DROP EXTENSION energy;
DROP ROLE regress_energy_no_channels;
