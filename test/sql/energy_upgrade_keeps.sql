--
-- energy: upgrading keeps everything.  A loaded 1.1 database (with
-- superseded copies, an unloaded file and a populated view), and a loaded
-- 1.0 database taken through 1.1, each updated to 1.2: every reading,
-- superseded mark, partial, file, reject and view row is the same after,
-- the grants given on the functions 1.2 recreates are given again, and
-- the writers of 1.2 then work on the data.  Then a loaded 1.2 database
-- updated to 1.3, compared the same way.
--
\getenv data ENERGY_TEST_DATA

\set lp :data/include/lp.psql
\i :lp

-- What a database holds, table by table, as rows of text: taken before the
-- update (into pg_temp.before) and compared after.  The tables come with
-- the extension, below: the bodies are checked when they run.
-- LP readings one row each, with their chunk, place, time, value (its
-- float8 printed exactly), status and superseded mark: from 1.1's arrays
-- before the update, from 1.2's encoded blocks after it.
CREATE FUNCTION pg_temp.readings() RETURNS TABLE (row_text text)
LANGUAGE plpgsql AS $$
BEGIN
    SET LOCAL extra_float_digits = 3;
    IF EXISTS (SELECT FROM pg_attribute WHERE attrelid = 'energy_reading'::regclass
                                         AND attname = 'block' AND NOT attisdropped) THEN
        RETURN QUERY EXECUTE $q$
            SELECT (r.meter_id, r.segment_id, r.day, r.line, u.ord, u.at, u.value, u.status, u.lost)::text
              FROM energy_reading r
             CROSS JOIN LATERAL energy_block_readings(r.block, r.day)
                   WITH ORDINALITY AS u(at, value, status, lost, ord)$q$;
    ELSE
        RETURN QUERY EXECUTE $q$
            SELECT (r.meter_id, r.segment_id, r.day, r.line, u.ord, u.at, u.value, u.status,
                    coalesce(u.lost, false))::text
              FROM energy_reading r
             CROSS JOIN LATERAL unnest(r.at, r.value, r.status, r.superseded)
                   WITH ORDINALITY AS u(at, value, status, lost, ord)$q$;
    END IF;
END $$;

SET check_function_bodies = off;
CREATE FUNCTION pg_temp.contents() RETURNS TABLE (what text, row_text text)
LANGUAGE sql AS $$
    SELECT 'reading', r.row_text FROM pg_temp.readings() r
    UNION ALL SELECT 'register', g::text FROM energy_register g
    UNION ALL SELECT 'daily', (d.meter_id, d.day, d.channel_id, d.file_id, d.part, d.readings, d.sum_value,
                               d.min_value, d.max_value, d.flagged, d.interval_minutes)::text FROM energy_daily d
    UNION ALL SELECT 'file', (f.file_id, f.file_name, f.file_size, f.sha256, f.format, f.rows_loaded,
                              f.rows_rejected)::text FROM energy_file f
    UNION ALL SELECT 'segment', s::text FROM energy_segment s
    UNION ALL SELECT 'reject', (j.file_name, j.line, j.raw, j.sqlstate, j.message)::text FROM energy_rejects j
    -- the 1.2 columns of energy_data (1.3 adds time_zone after them)
    UNION ALL SELECT 'data', (d.meter_code, d.serial_number, d.plant_code, d.date_time, d.data_type, d.energy,
                              d.units, d.status, d.maximum_demand, d.time_of_max_demand, d.period, d.dls_active,
                              d.billing_reset_count, d.billing_reset_date_time, d.rate, d.format, d.file_id,
                              d.day)::text FROM energy_data d
    UNION ALL SELECT 'data_view', v::text FROM energy_data_view v
    -- sum_value as a number: 1.2 prints it without trailing zeros (client forms)
    UNION ALL SELECT 'channel_view', (c.meter_code, c.serial_number, c.plant_code, c.day, c.data_type, c.units,
                                      c.interval_minutes, c.readings, c.expected_readings, c.min_value,
                                      c.max_value, trim_scale(c.sum_value), c.avg_value, c.flagged)::text
      FROM energy_channel_view c
$$;

CREATE FUNCTION pg_temp.changed() RETURNS TABLE (what text, before bigint, changed bigint)
LANGUAGE sql AS $$
    SELECT b.what, b.n, coalesce(d.n, 0)
      FROM (SELECT what, count(*) AS n FROM before GROUP BY 1) b
      LEFT JOIN (SELECT what, count(*) AS n
                   FROM ((TABLE before EXCEPT ALL SELECT * FROM pg_temp.contents())
                         UNION ALL
                         (SELECT * FROM pg_temp.contents() EXCEPT ALL TABLE before)) x
                  GROUP BY 1) d USING (what)
     ORDER BY 1
$$;

RESET check_function_bodies;

-- The views against their defining queries and against the raw readings:
-- 0 when they are exactly right.
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

-------------------------------------------------------------------------------
-- 1.1 -> 1.2
-------------------------------------------------------------------------------
CREATE EXTENSION energy VERSION '1.1';
CREATE ROLE regress_energy_12_loader;
GRANT EXECUTE ON FUNCTION energy_load_data(text, bytea, text) TO regress_energy_12_loader;

-- The real exports; a day delivered three times (a, then b correcting two
-- readings, then c re-delivering b's and adding one); a file unloaded; a
-- file with a rejected row.  Meter 5's day: 1, 20, 300, 400, 500.
SELECT file_name, rows_loaded, action FROM energy_load(:'data' || '/erm');
SELECT file_name, rows_loaded FROM energy_load_data('a.csv', pg_temp.lp(ARRAY[
    '5,5,P5,01/01/2024 00:15:00,Import Wh Total,1,Wh,',
    '5,5,P5,01/01/2024 00:30:00,Import Wh Total,2,Wh,',
    '5,5,P5,01/01/2024 00:45:00,Import Wh Total,3,Wh,',
    '5,5,P5,01/01/2024 01:00:00,Import Wh Total,4,Wh,']));
SELECT file_name, rows_loaded FROM energy_load_data('b.csv', pg_temp.lp(ARRAY[
    '5,5,P5,01/01/2024 00:30:00,Import Wh Total,20,Wh,E',
    '5,5,P5,01/01/2024 00:45:00,Import Wh Total,30,Wh,E']));
SELECT file_name, rows_loaded FROM energy_load_data('c.csv', pg_temp.lp(ARRAY[
    '5,5,P5,01/01/2024 00:45:00,Import Wh Total,300,Wh,',
    '5,5,P5,01/01/2024 01:00:00,Import Wh Total,400,Wh,',
    '5,5,P5,01/01/2024 01:15:00,Import Wh Total,500,Wh,']));
-- Every form a value takes: each must read back as the same float8.
SELECT file_name, rows_loaded FROM energy_load_data('forms.csv', pg_temp.lp(ARRAY[
    '8,8,P8,01/01/2024 00:15:00,Import Wh Total,-0.0,Wh,',
    '8,8,P8,01/01/2024 00:30:00,Import Wh Total,123456789012345,Wh,A',
    '8,8,P8,01/01/2024 00:45:00,Import Wh Total,1.23456789012345,Wh,A',
    '8,8,P8,01/01/2024 01:00:00,Import Wh Total,-21.880,Wh,',
    '8,8,P8,01/01/2024 01:15:00,Import Wh Total,1e-5,Wh,E',
    '8,8,P8,01/01/2024 01:30:00,Import Wh Total,0.000,Wh,',
    '8,8,P8,01/01/2024 02:30:00,Import Wh Total,4.9e-300,Wh,',
    '8,8,P8,01/01/2024 02:45:00,Import Wh Total,0.1,Wh,']));
SELECT file_name, rows_loaded FROM energy_load_data('gone.csv', pg_temp.lp(ARRAY[
    '6,6,P6,01/01/2024 00:15:00,Import Wh Total,7,Wh,']));
SELECT energy_unload('gone.csv');
SELECT file_name, rows_loaded, rows_rejected FROM energy_load_data('rejects.csv', pg_temp.lp(ARRAY[
    '7,7,P7,01/01/2024 00:15:00,Import Wh Total,1.5,kwh,',
    '7,7,P7,01/01/2024 00:30:00,Import Wh Total,abc,kwh,']), 'skip');
SELECT energy_populate_view();
SELECT count(*) AS superseded_chunks FROM energy_reading WHERE superseded IS NOT NULL;
SELECT sum_value, readings FROM energy_get_channels('5', '5', '2024-01-01');

CREATE TEMP TABLE before AS SELECT * FROM pg_temp.contents();
ALTER EXTENSION energy UPDATE TO '1.2';
SELECT extversion FROM pg_extension WHERE extname = 'energy';
SELECT * FROM pg_temp.changed();
SELECT pg_temp.differences() AS differences;
-- The grant on the recreated function is there again; PUBLIC has none.
SELECT has_function_privilege('regress_energy_12_loader', 'energy_load_data(text, bytea, text)', 'EXECUTE') AS loader,
       has_function_privilege('public', 'energy_load_data(text, bytea, text)', 'EXECUTE') AS public;
SELECT pg_get_function_result('energy_load(text, text)'::regprocedure);

-- 1.2's writers on the upgraded data: d re-delivers 00:15 and 01:15 (2
-- replacing); unloading c brings back b's 30 and a's 4; the day is then
-- 10, 20, 30, 4, 50 (sum 114 Wh).
SELECT file_name, rows_loaded, rows_replacing FROM energy_load_data('d.csv', pg_temp.lp(ARRAY[
    '5,5,P5,01/01/2024 00:15:00,Import Wh Total,10,Wh,',
    '5,5,P5,01/01/2024 01:15:00,Import Wh Total,50,Wh,']));
SELECT energy_unload('c.csv');
SELECT energy_populate_view() > 0 AS populated;
SELECT readings, sum_value FROM energy_get_channels('5', '5', '2024-01-01');
SELECT pg_temp.differences() AS differences;
DROP TABLE before;
DROP EXTENSION energy;

-------------------------------------------------------------------------------
-- 1.0 -> 1.1 -> 1.2
-------------------------------------------------------------------------------
CREATE EXTENSION energy VERSION '1.0';
-- 1.0 loads without comparing files: the same bytes under a new name are
-- stored twice until the update to 1.1 marks the older copy.
SELECT file_name, rows_loaded FROM energy_load(:'data' || '/erm');
SELECT file_name, rows_loaded
  FROM energy_load_data('LP_210095893_20150902T011608049.csv',
                        pg_read_binary_file(:'data' || '/erm/LP_210095893_20150901T011608049.csv'));
REFRESH MATERIALIZED VIEW energy_data_view;
ALTER EXTENSION energy UPDATE TO '1.1';
SELECT energy_populate_view();
SELECT count(*) AS superseded_chunks FROM energy_reading WHERE superseded IS NOT NULL;
CREATE TEMP TABLE before AS SELECT * FROM pg_temp.contents();
ALTER EXTENSION energy UPDATE TO '1.2';
SELECT * FROM pg_temp.changed();
SELECT pg_temp.differences() AS differences;
-- The seed's answer, and the newer copy counting once.
SELECT * FROM energy_get('210095893', '210095893', '01/09/2015');
SELECT energy_unload('LP_210095893_20150902T011608049.csv');
SELECT energy_populate_view() > 0 AS populated;
SELECT * FROM energy_get('210095893', '210095893', '01/09/2015');
SELECT pg_temp.differences() AS differences;
DROP TABLE before;
DROP EXTENSION energy;

-------------------------------------------------------------------------------
-- 1.2 -> 1.3
-------------------------------------------------------------------------------
-- A loaded 1.2 database (copies superseded, a file unloaded, rejects, a
-- populated view, a unit of the user's) keeps every row through the update
-- to 1.3, and 1.3's writers go on with it.
CREATE EXTENSION energy VERSION '1.2';
GRANT EXECUTE ON FUNCTION energy_load_data(text, bytea, text) TO regress_energy_12_loader;
SELECT file_name, rows_loaded, action FROM energy_load(:'data' || '/erm');
SELECT file_name, rows_loaded FROM energy_load_data('a.csv', pg_temp.lp(ARRAY[
    '5,5,P5,01/01/2024 00:15:00,Import Wh Total,1,Wh,',
    '5,5,P5,01/01/2024 00:30:00,Import Wh Total,2,Wh,']));
SELECT file_name, rows_loaded FROM energy_load_data('b.csv', pg_temp.lp(ARRAY[
    '5,5,P5,01/01/2024 00:30:00,Import Wh Total,20,Wh,E']));
SELECT file_name, rows_loaded FROM energy_load_data('gone.csv', pg_temp.lp(ARRAY[
    '6,6,P6,01/01/2024 00:15:00,Import Wh Total,7,Wh,']));
SELECT energy_unload('gone.csv');
SELECT file_name, rows_loaded, rows_rejected FROM energy_load_data('rejects.csv', pg_temp.lp(ARRAY[
    '7,7,P7,01/01/2024 00:15:00,Import Wh Total,1.5,kwh,',
    '7,7,P7,01/01/2024 00:30:00,Import Wh Total,abc,kwh,']), 'skip');
-- A unit row 1.3 would refuse (a trailing space) stays: the new check
-- applies to rows written after the update.
INSERT INTO energy_unit VALUES ('GWh ', 'kWh', 1e6);
SELECT file_name, rows_loaded FROM energy_load_data('nem.csv', pg_read_binary_file(:'data' || '/nem/Example_NEM12_multiple_meters.csv'));
SELECT energy_populate_view() > 0 AS populated;
CREATE TEMP TABLE before AS SELECT * FROM pg_temp.contents();
ALTER EXTENSION energy UPDATE TO '1.3';
SELECT extversion FROM pg_extension WHERE extname = 'energy';
SELECT * FROM pg_temp.changed();
SELECT pg_temp.differences() AS differences;
SELECT count(*) AS kept_unit FROM energy_unit WHERE unit = 'GWh ';
SELECT has_function_privilege('regress_energy_12_loader', 'energy_load_data(text, bytea, text)', 'EXECUTE') AS loader;
-- 1.3's writers on the upgraded data: c replaces b's 20 at 00:30 with 200
-- and adds 00:45; the day is 1, 200, 300 Wh (sum 0.501 kWh).
SELECT file_name, rows_loaded, rows_replacing FROM energy_load_data('c.csv', pg_temp.lp(ARRAY[
    '5,5,P5,01/01/2024 00:30:00,Import Wh Total,200,Wh,',
    '5,5,P5,01/01/2024 00:45:00,Import Wh Total,300,Wh,']));
SELECT energy_populate_view() > 0 AS populated;
SELECT readings, sum_value FROM energy_get_channels('5', '5', '2024-01-01');
SELECT pg_temp.differences() AS differences;
DROP TABLE before;
DROP EXTENSION energy;
DROP ROLE regress_energy_12_loader;
