--
-- energy: client forms, second round.  No client gets a silently wrong
-- answer: a day with a time and a zone is that date only at midnight; the
-- range reads every text form the one-day form reads; the same sum prints
-- the same; a file's name is its base name after the last / or \, and a
-- name that cannot be one is 22023.
--
-- The test files were copied to a per-run folder named by ENERGY_TEST_DATA
-- (scripts/test-data: erm/, samples/, hostile/, scratch/).
\getenv data ENERGY_TEST_DATA
CREATE EXTENSION energy;
SELECT count(*) AS files FROM energy_load(:'data' || '/erm');
SELECT energy_populate_view();
\set lp_header 'MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Data Value,Units,Status'

\set day_error :data/include/day_error.psql
\i :day_error

-------------------------------------------------------------------------------
-- 1. A time with a zone: the date only at midnight.
-------------------------------------------------------------------------------

-- postgres.js sends new Date(2015, 8, 1) from Brisbane as its ISO instant:
-- the date written is 31 August, not the day meant.  Refused, with a hint.
SELECT * FROM energy_get('210095893', '210095893', '2015-08-31T14:00:00.000Z'); -- ERROR
SELECT energy_get_json('210095893', '210095893', '2015-08-31T14:00:00.000Z'); -- ERROR
SELECT * FROM energy_get_channels('210095893', '210095893', '2015-08-31T14:00:00.000Z'); -- ERROR
-- Midnight in any zone and with any precision is the date as written: the
-- seed's documented 12 readings of 1 September.
SELECT f AS day_as_sent, g.day, g.readings
  FROM unnest(ARRAY['2015-09-01T00:00Z', '2015-09-01T00:00:00Z', '2015-09-01T00:00:00.000Z',
                    '2015-09-01T00:00:00.000000000+10:00', '2015-09-01 00:00-05:30',
                    '2015-09-01 00:00:00 +00', '2015-09-01T00:00:00.0-0300']) AS f,
       LATERAL energy_get('210095893', '210095893', f) g;
-- Every other time with a zone is 22007, however close to midnight.
SELECT f AS day_as_sent, pg_temp.day_error(f) AS sqlstate
  FROM unnest(ARRAY['2015-09-01T00:00:01Z', '2015-09-01T00:00:00.001+10:00',
                    '2015-09-01T00:00:00.000000001Z', '2015-09-01T00:01+10',
                    '2015-09-01 12:00 +00', '2015-09-01T23:59:59.999-05:30']) AS f;
-- A time without a zone is a wall-clock time of the date as written: no
-- zone can move it, so it is that date.
SELECT f AS day_as_sent, g.day, g.readings
  FROM unnest(ARRAY['2015-09-01 13:45:00', '2015-09-01T23:59:59.999999', '2015-09-01T00:01']) AS f,
       LATERAL energy_get('210095893', '210095893', f) g;

-------------------------------------------------------------------------------
-- 2. The range with text days, never through DateStyle.
-------------------------------------------------------------------------------

-- The one-day form's answer for 01/09/2015, through the range, whatever
-- DateStyle says (MDY would read 01/09 as 9 January).
SET DateStyle = 'ISO, MDY';
SELECT day, readings FROM energy_get('210095893', '210095893', '01/09/2015', '01/09/2015');
SET DateStyle = 'SQL, DMY';
SELECT day, readings FROM energy_get('210095893', '210095893', '01/09/2015', '01/09/2015');
RESET DateStyle;
-- 30/09/2015 is no month 30: the whole of September, one row per day with
-- data, equal to SQL over the raw readings (each difference counted).
SELECT (SELECT count(*) FROM energy_get('214612534', '214612534', '01/09/2015', '30/09/2015')) AS days,
       (SELECT count(*) FROM (
           (SELECT day, min_energy, max_energy, readings
              FROM energy_get('214612534', '214612534', '01/09/2015', '30/09/2015')
            EXCEPT ALL
            SELECT date_time::date, min(energy), max(energy), count(*)
              FROM energy_data WHERE meter_code = '214612534' AND serial_number = '214612534'
               AND date_time >= '2015-09-01' AND date_time < '2015-10-01' GROUP BY 1)
           UNION ALL
           (SELECT date_time::date, min(energy), max(energy), count(*)
              FROM energy_data WHERE meter_code = '214612534' AND serial_number = '214612534'
               AND date_time >= '2015-09-01' AND date_time < '2015-10-01' GROUP BY 1
            EXCEPT ALL
            SELECT day, min_energy, max_energy, readings
              FROM energy_get('214612534', '214612534', '01/09/2015', '30/09/2015'))) d) AS differences;
-- Every form, mixed; the date forms give the same rows.
SELECT count(*) AS days FROM energy_get('214612534', '214612534', '2015-09-01T00:00:00.000+10:00', '7/9/2015');
SELECT count(*) AS days FROM energy_get('214612534', '214612534', date '2015-09-01', date '2015-09-07');
-- What a driver's text parameter resolves to: the text overload.
PREPARE range_text(text, text) AS SELECT count(*) FROM energy_get('214612534', '214612534', $1, $2);
EXECUTE range_text('01/09/2015', '07/09/2015');
-- Its errors are the one-day form's.
SELECT * FROM energy_get('214612534', '214612534', '2015-08-31T14:00:00.000Z', '07/09/2015'); -- ERROR
SELECT * FROM energy_get('214612534', '214612534', '01/09/2015', '2015/09/07'); -- ERROR
SELECT * FROM energy_get('214612534', '214612534', '31/09/2015', '01/10/2015'); -- ERROR
SELECT count(*) FROM energy_get('214612534', '214612534', NULL::text, '01/10/2015');
SELECT obj_description('energy_get(text, text, text, text)'::regprocedure) IS NOT NULL AS commented,
       has_function_privilege('public', 'energy_get(text, text, text, text)', 'EXECUTE') AS public_executes;

-------------------------------------------------------------------------------
-- 3. The same sum prints the same, whatever path computed it.
-------------------------------------------------------------------------------

-- 2.7 + 2.8 + 2.8 = 8.3, loaded once: the loader's partial has 9 places.
SELECT rows_loaded FROM energy_load_data('sum_a.csv', convert_to(:'lp_header' || E'\n'
    || E'S3,S3,P,01/09/2015 00:15:00,Export Wh Total,2.7,kwh,\n'
    || E'S3,S3,P,01/09/2015 00:30:00,Export Wh Total,2.8,kwh,\n'
    || E'S3,S3,P,01/09/2015 00:45:00,Export Wh Total,2.8,kwh,\n', 'UTF8'));
SELECT energy_populate_view() > 0 AS populated;
SELECT d.sum_value::text AS partial FROM energy_daily d JOIN energy_meter m USING (meter_id) WHERE m.meter_code = 'S3';
SELECT sum_value::text AS after_load FROM energy_get_channels('S3', 'S3', '01/09/2015');
-- The same readings again under another name: the partials are recomputed
-- in SQL (the places of the values), then an incremental populate and a
-- full refresh by hand.
SELECT rows_loaded FROM energy_load_data('sum_b.csv', convert_to(:'lp_header' || E'\n'
    || E'S3,S3,P,01/09/2015 00:15:00,Export Wh Total,2.7,kwh,\n'
    || E'S3,S3,P,01/09/2015 00:30:00,Export Wh Total,2.8,kwh,\n'
    || E'S3,S3,P,01/09/2015 00:45:00,Export Wh Total,2.8,kwh,\n', 'UTF8'));
SELECT energy_populate_view() > 0 AS populated;
SELECT sum_value::text AS after_redelivery FROM energy_get_channels('S3', 'S3', '01/09/2015');
REFRESH MATERIALIZED VIEW energy_channel_view;
SELECT sum_value::text AS after_full_refresh FROM energy_get_channels('S3', 'S3', '01/09/2015');
-- A day split over two files (2.75 + 5.55 = 8.30), and one in Wh shown in
-- kWh (8300 Wh times 0.001): still 8.3.
SELECT rows_loaded FROM energy_load_data('sum_c.csv', convert_to(:'lp_header' || E'\n'
    || E'S4,S4,P,01/09/2015 00:15:00,Export Wh Total,2.75,kwh,\n', 'UTF8'));
SELECT rows_loaded FROM energy_load_data('sum_d.csv', convert_to(:'lp_header' || E'\n'
    || E'S4,S4,P,01/09/2015 00:30:00,Export Wh Total,5.55,kwh,\n'
    || E'S5,S5,P,01/09/2015 00:30:00,Export Wh Total,8300,wh,\n', 'UTF8'));
SELECT energy_populate_view() > 0 AS populated;
SELECT meter_code, units, sum_value::text FROM energy_channel_view
 WHERE meter_code IN ('S4', 'S5') ORDER BY 1;
-- and every sum of the view has no trailing zero to print
SELECT count(*) AS trailing_zeros FROM energy_channel_view
 WHERE sum_value::text ~ '\.\d*0$';

-------------------------------------------------------------------------------
-- 4. A file's name is its base name after the last / or \.
-------------------------------------------------------------------------------

SELECT file_name, action FROM energy_load_data('C:\exports\x.csv', convert_to(:'lp_header' || E'\n'
    || E'W4,W4,P,01/09/2015 00:15:00,Import Wh Total,1,kwh,\n', 'UTF8'));
-- the same export from Linux, from a share, and as a bare name: one file
SELECT file_name, action FROM energy_load_data('/srv/exports/x.csv', convert_to(:'lp_header' || E'\n'
    || E'W4,W4,P,01/09/2015 00:15:00,Import Wh Total,1,kwh,\n', 'UTF8'));
SELECT file_name, action FROM energy_load_data('\\server\share/exports\x.csv', convert_to(:'lp_header' || E'\n'
    || E'W4,W4,P,01/09/2015 00:15:00,Import Wh Total,1,kwh,\n', 'UTF8'));
SELECT file_name, action FROM energy_load_data('x.csv', convert_to(:'lp_header' || E'\n'
    || E'W4,W4,P,01/09/2015 00:15:00,Import Wh Total,1,kwh,\n', 'UTF8'));
SELECT count(*) AS files FROM energy_file WHERE file_name LIKE '%x.csv';
SELECT energy_unload('D:\x.csv') AS unloaded;
-- energy_load too: a server file whose name holds a backslash
\! mkdir -m 755 "$ENERGY_TEST_DATA"/scratch/names && printf '%s\n' 'MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Data Value,Units,Status' 'W5,W5,P,01/09/2015 00:15:00,Import Wh Total,1,kwh,' > "$ENERGY_TEST_DATA"/scratch/names/'win\y.csv'
SELECT file_name, action FROM energy_load(:'data' || '/scratch/names/win\y.csv');
SELECT file_name, action FROM energy_load(:'data' || '/scratch/names');
\! rm -f "$ENERGY_TEST_DATA"/scratch/names/*

-------------------------------------------------------------------------------
-- 5. What cannot be a day, a name or a path.
-------------------------------------------------------------------------------

-- A time out of range is 22008, as PostgreSQL's own input says; a malformed
-- one 22007.
SELECT f AS day_as_sent, pg_temp.day_error(f) AS sqlstate
  FROM unnest(ARRAY['2015-09-01T99:99', '2015-09-01T24:00', '2015-09-01T23:60',
                    '2015-09-01T23:59:60', '2015-09-01 00:00+16', '2015-09-01 00:00+10:60',
                    '2015-09-01T9:99:99Z', '2015-09-01T99', '2015-09-01T10:00:00.1234567890']) AS f;
SELECT * FROM energy_get('210095893', '210095893', '2015-09-01T99:99'); -- ERROR
-- Control characters, "." and "..": 22023, the name escaped in the message.
CREATE FUNCTION pg_temp.name_error(name text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM energy_load_data(name, convert_to(E'MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Data Value,Units,Status\n'
        || E'N5,N5,P,01/09/2015 00:15:00,Import Wh Total,1,kwh,\n', 'UTF8'));
    RETURN 'accepted';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;
SELECT replace(replace(replace(f, E'\n', '\n'), E'\t', '\t'), E'\x1b', '\e') AS name, pg_temp.name_error(f) AS sqlstate
  FROM unnest(ARRAY[E'a\nb.csv', E'tab\t.csv', E'\x1b[31mred.csv', E'del\x7f.csv', E'c1\u009b31m.csv',
                    '.', '..', 'exports/..', 'C:\..', 'dir/', 'C:\', '',
                    '..x.csv', 'x..csv', 'é.csv']) AS f;
SELECT * FROM energy_load_data(E'a\nb.csv', '\x00'); -- ERROR
-- Invisible formatting characters (1.3): a direction override or isolate
-- (U+202A-E, U+2066-9, the marks U+200E, U+200F, U+061C) shows a name
-- other than it is, a zero-width character (U+200B-D, U+2060-4, U+FEFF,
-- U+180E) makes two names that print alike: 22023 each.
SELECT to_hex(ascii(substr(f, 2, 1))) AS code_point, pg_temp.name_error(f) AS sqlstate
  FROM unnest(ARRAY[E'a\u202Ab.csv', E'a\u202Eb.csv', E'a\u2066b.csv', E'a\u2069b.csv',
                    E'a\u200Eb.csv', E'a\u200Fb.csv', E'a\u061Cb.csv', E'a\u200Bb.csv',
                    E'a\u200Db.csv', E'a\u2060b.csv', E'a\u2064b.csv', E'a\uFEFFb.csv',
                    E'a\u180Eb.csv']) AS f;
SELECT file_name FROM energy_file WHERE file_name ~ '^(\.\.x|x\.\.|é)\.?csv$' ORDER BY 1;
SELECT count(*) AS control_names FROM energy_file WHERE file_name ~ '[[:cntrl:]]';
-- A folder entry with a control character: 22023, or one reject in skip
-- mode under its name escaped.
\! printf '%s\n' 'MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Data Value,Units,Status' 'W6,W6,P,01/09/2015 00:15:00,Import Wh Total,1,kwh,' > "$ENERGY_TEST_DATA"/scratch/names/"$(printf 'bad\tname.csv')"
SELECT * FROM energy_load(:'data' || '/scratch/names'); -- ERROR
SELECT file_name, rows_rejected, action FROM energy_load(:'data' || '/scratch/names', 'skip');
SELECT file_name, sqlstate, message FROM energy_rejects WHERE file_name LIKE 'bad%';
\! rm -rf "$ENERGY_TEST_DATA"/scratch/names
-- A path longer than the server takes (MAXPGPATH), or with a component
-- longer than the file system's: 22023, never an internal error.
CREATE FUNCTION pg_temp.path_error(path text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM energy_load(path);
    RETURN 'accepted';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || left(SQLERRM, 24);
END $$;
SELECT pg_temp.path_error('/tmp/' || repeat('a', 2000) || '.csv');
SELECT pg_temp.path_error('/tmp/' || repeat('a', 300) || '.csv');
SELECT pg_temp.name_error(repeat('n', 1100) || '.csv');
SELECT length(file_name) FROM energy_load_data(repeat('n', 1019) || '.csv', convert_to(:'lp_header' || E'\n'
    || E'N6,N6,P,01/09/2015 00:15:00,Import Wh Total,1,kwh,\n', 'UTF8'));

DROP EXTENSION energy;
