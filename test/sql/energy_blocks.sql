--
-- energy: the encoded blocks of energy_reading.  Every value form a file
-- may hold reads back as the float8 that PostgreSQL's own input gives for
-- its text (computed here, apart from the codec); marks round-trip; a
-- damaged block is an error with its SQLSTATE, never a crash or a wrong
-- answer.
--
CREATE EXTENSION energy;
\set VERBOSITY terse

\getenv data ENERGY_TEST_DATA
\set lp :data/include/lp.psql
\i :lp

-- The values as written, one per quarter-hour of 01/01/2024.
CREATE TEMP TABLE written (i int, v text, status text);
INSERT INTO written VALUES
    (1, '0', ''), (2, '-0.0', ''), (3, '0.000', 'E'), (4, '1.5', ''), (5, '-21.880', 'A'),
    (6, '123456789012345', ''), (7, '1.23456789012345', ''), (8, '-0.000000000000001', 'E'),
    (9, '1e-5', ''), (10, '2.5E+3', ''), (11, '1.7976931348623157e308', ''),
    (12, '4.9e-324', ''), (13, '-2.2250738585072014e-308', ''), (14, '0.1', 'N'),
    (15, '99999999999999999999', ''), (16, '3.14159265358979323846', ''),
    (17, '000001.2500', ''), (18, '+7', '');
SELECT file_name, rows_loaded, rows_rejected FROM energy_load_data('forms.csv', pg_temp.lp(
    (SELECT array_agg(format('9,9,P9,01/01/2024 %s,Import Wh Total,%s,kwh,%s',
                             to_char(time '00:00' + i * interval '15 minutes', 'HH24:MI:SS'), v, status) ORDER BY i)
       FROM written)), 'skip');

-- Each stored value against float8in of its text, bit for bit (the text
-- of a float8 with extra_float_digits 3 is exact), sign of zero included;
-- the time and status as written.
SET extra_float_digits = 3;
SELECT w.i, w.v, d.energy::text AS stored,
       d.energy::text = w.v::float8::text AS same,
       d.date_time = '2024-01-01'::timestamp + w.i * interval '15 minutes' AS time_ok,
       d.status IS NOT DISTINCT FROM nullif(w.status, '') AS status_ok
  FROM written w LEFT JOIN energy_data d
    ON d.meter_code = '9' AND d.date_time = '2024-01-01'::timestamp + w.i * interval '15 minutes'
 ORDER BY w.i;
RESET extra_float_digits;

-- The exact sums.  The loader adds each short decimal (at most 9 places,
-- no exponent) exactly and the others as float8s; when a later copy
-- supersedes a reading, the overlap stage sums the rest again from the
-- blocks, which keep each value's digits: the same rule, so superseding the
-- reading '0' leaves forms.csv's sum exactly as it was, and meter 10's
-- short decimals sum to numeric's sum of their texts before and after.
CREATE TEMP TABLE sums_before AS
SELECT f.file_name, d.sum_value FROM energy_daily d JOIN energy_file f USING (file_id);
SELECT file_name, rows_loaded FROM energy_load_data('short.csv', pg_temp.lp(ARRAY[
    '10,10,P10,01/01/2024 00:15:00,Import Wh Total,0.001,kwh,',
    '10,10,P10,01/01/2024 00:30:00,Import Wh Total,1.250,kwh,',
    '10,10,P10,01/01/2024 00:45:00,Import Wh Total,-3.5,kwh,',
    '10,10,P10,01/01/2024 01:00:00,Import Wh Total,1000000.123456789,kwh,',
    '10,10,P10,01/01/2024 01:15:00,Import Wh Total,0.1,kwh,']));
SELECT sum_value = 0.001 + 1.250 - 3.5 + 1000000.123456789 + 0.1 AS short_sum
  FROM energy_daily d JOIN energy_file f USING (file_id) WHERE f.file_name = 'short.csv';
SELECT file_name, rows_loaded, rows_replacing FROM energy_load_data('one.csv', pg_temp.lp(ARRAY[
    '9,9,P9,01/01/2024 00:15:00,Import Wh Total,5,kwh,',
    '10,10,P10,01/01/2024 00:30:00,Import Wh Total,7,kwh,']));
SELECT f.file_name, d.readings, d.sum_value = b.sum_value AS sum_unchanged
  FROM energy_daily d JOIN energy_file f USING (file_id) JOIN sums_before b USING (file_name)
 WHERE f.file_name = 'forms.csv';
SELECT readings, sum_value = 0.001 - 3.5 + 1000000.123456789 + 0.1 AS short_sum
  FROM energy_daily d JOIN energy_file f USING (file_id) WHERE f.file_name = 'short.csv';
-- the superseded mark is in forms.csv's block, on its first reading
SELECT u.superseded, count(*)
  FROM energy_reading r JOIN energy_segment s USING (segment_id, meter_id) JOIN energy_file f USING (file_id)
 CROSS JOIN LATERAL energy_block_readings(r.block, r.day) u
 WHERE f.file_name = 'forms.csv' GROUP BY 1 ORDER BY 1;

-- 1.1's arrays as a block (the upgrade's function), and back.
SELECT u.*
  FROM energy_block_readings(energy_block_encode(
         ARRAY['2024-01-01 00:30', '2024-01-01 01:00', '2024-01-01 01:00', '2024-01-01 00:45']::timestamp[],
         ARRAY[0.1, -0.0, 1e300, 12.5]::float8[],
         ARRAY[NULL, 'E', '', 'A'], ARRAY[false, true, NULL, false], '2024-01-01'), '2024-01-01') u;
-- Marks set and cleared; NULL marks mean none.
SELECT array_agg(u.superseded)
  FROM energy_block_readings(energy_block_marks(energy_block_encode(
         ARRAY['2024-01-01 00:30', '2024-01-01 01:00']::timestamp[], ARRAY[1, 2]::float8[], NULL, NULL,
         '2024-01-01'), ARRAY[true, false]), '2024-01-01') u;
SELECT array_agg(u.superseded)
  FROM energy_block_readings(energy_block_marks(energy_block_encode(
         ARRAY['2024-01-01 00:30', '2024-01-01 01:00']::timestamp[], ARRAY[1, 2]::float8[], NULL, ARRAY[true, true],
         '2024-01-01'), NULL), '2024-01-01') u;
SELECT energy_block_marks(energy_block_encode(ARRAY['2024-01-01']::timestamp[], ARRAY[1]::float8[], NULL, NULL,
                          '2024-01-01'), ARRAY[true, false]); -- ERROR
SELECT energy_block_encode(ARRAY['2024-01-01']::timestamp[], ARRAY[1, 2]::float8[], NULL, NULL, '2024-01-01'); -- ERROR

-- A day of 288 five-minute readings, each with its own long status: one
-- block of over 20 kB, which goes out of line (TOAST, uncompressed).  A
-- second file with the same readings supersedes every one of them, and
-- unloading it brings them back: the overlap stage reads and re-marks the
-- out-of-line blocks as it does the small ones.
CREATE TEMP TABLE long_day AS
SELECT format('12,12,P12,%s,Import Wh Total,%s,kwh,%s',
              to_char('2024-01-02'::timestamp + i * interval '5 minutes', 'DD/MM/YYYY HH24:MI:SS'),
              i * 0.25, 'S' || repeat(md5(i::text), 3)) AS line, i
  FROM generate_series(0, 287) AS i;
SELECT file_name, rows_loaded FROM energy_load_data('long1.csv', pg_temp.lp(
    (SELECT array_agg(line ORDER BY i) FROM long_day)));
SELECT count(*) AS chunks, min(length(r.block)) > 20000 AS long_blocks,
       bool_and(pg_column_size(r.block) >= length(r.block)) AS not_compressed
  FROM energy_reading r JOIN energy_meter m USING (meter_id) WHERE m.meter_code = '12';
SELECT file_name, rows_loaded, rows_replacing FROM energy_load_data('long2.csv', pg_temp.lp(
    (SELECT array_agg(line ORDER BY i) FROM long_day)));
SELECT f.file_name, count(*) FILTER (WHERE u.superseded) AS superseded, count(*) AS readings
  FROM energy_reading r JOIN energy_segment s USING (segment_id, meter_id) JOIN energy_file f USING (file_id)
 CROSS JOIN LATERAL energy_block_readings(r.block, r.day) u
 WHERE f.file_name LIKE 'long%' GROUP BY 1 ORDER BY 1;
SELECT energy_unload('long2.csv');
SELECT count(*) AS readings, sum(energy) = (SELECT sum(i * 0.25) FROM long_day) AS same_sum,
       bool_and(status = 'S' || repeat(md5(((extract(epoch FROM date_time - '2024-01-02') / 300)::int)::text), 3)) AS same_statuses
  FROM energy_data WHERE meter_code = '12';

-- populate compares a meter-day's old and new row as REFRESH ...
-- CONCURRENTLY does, byte for byte (*=): a day whose one value goes from 0
-- to -0 is rewritten, though = and IS NOT DISTINCT FROM call them equal.
SELECT energy_populate_view() > 0 AS populated;
SELECT file_name, action FROM energy_load_data('zero.csv', pg_temp.lp(ARRAY[
    '11,11,P11,01/01/2024 00:15:00,Import Wh Total,0,kwh,']));
SELECT energy_populate_view() > 0 AS populated;
SELECT min_energy::text, max_energy::text FROM energy_data_view WHERE meter_code = '11';
SELECT file_name, action FROM energy_load_data('zero.csv', pg_temp.lp(ARRAY[
    '11,11,P11,01/01/2024 00:15:00,Import Wh Total,-0.0,kwh,']));
SELECT energy_populate_view() > 0 AS populated;
SELECT min_energy::text, max_energy::text FROM energy_data_view WHERE meter_code = '11';

-- Damaged blocks: every one an error, never a crash or a wrong answer.
-- Bytes passed by the caller are 22P03 (invalid binary representation);
-- a block read from energy_reading through energy_data is XX001.
CREATE TEMP TABLE good AS
SELECT r.block, r.day FROM energy_reading r JOIN energy_segment s USING (segment_id, meter_id)
  JOIN energy_file f USING (file_id) WHERE f.file_name = 'forms.csv';
SELECT count(*) FROM good g, energy_block_readings(g.block, g.day);
SELECT count(*) FROM good g, energy_block_readings(''::bytea, g.day); -- ERROR
SELECT count(*) FROM good g, energy_block_readings(substr(g.block, 1, length(g.block) - 1), g.day); -- ERROR
SELECT count(*) FROM good g, energy_block_readings(set_byte(g.block, 0, 99), g.day); -- ERROR
SELECT count(*) FROM good g, energy_block_readings(set_byte(g.block, 5, get_byte(g.block, 5) # 1), g.day); -- ERROR
\set VERBOSITY sqlstate
SELECT count(*) FROM good g, energy_block_readings(set_byte(g.block, 5, get_byte(g.block, 5) # 1), g.day); -- ERROR
\set VERBOSITY terse
-- Every single-byte corruption of the block: each is refused (the checksum
-- covers every byte), or, for a flip inside the checksum itself, refused too.
DO $$
DECLARE
    b bytea;
    d date;
    refused int := 0;
    n int;
BEGIN
    SELECT block, day INTO b, d FROM good;
    FOR i IN 0 .. length(b) - 1 LOOP
        BEGIN
            SELECT count(*) INTO n FROM energy_block_readings(set_byte(b, i, get_byte(b, i) # 16), d);
        EXCEPTION WHEN invalid_binary_representation THEN
            refused := refused + 1;
        END;
    END LOOP;
    RAISE NOTICE 'bytes %, corruptions refused %', length(b), refused;
END $$;

-- A damaged block stored in the table: energy_data says so (XX001).
UPDATE energy_reading r SET block = set_byte(r.block, 3, get_byte(r.block, 3) # 255)
  FROM energy_segment s JOIN energy_file f USING (file_id)
 WHERE s.segment_id = r.segment_id AND f.file_name = 'forms.csv';
SELECT count(*) FROM energy_data WHERE meter_code = '9'; -- ERROR

-- A file's partials go into energy_daily in its primary key's order (day,
-- meter, channel) and its segments in id order, the order the file met
-- them: in hash order their entries landed all over the indexes, whose
-- pages then split half full.  Into emptied tables, the heap's order
-- (ctid) is the order of the writes.  The file runs meter by meter, each
-- meter's two channels over three days, so neither the file's order nor a
-- hash's is the key's.
TRUNCATE energy_file, energy_segment, energy_reading, energy_daily, energy_change;
SELECT file_name, rows_loaded, rows_rejected FROM energy_load_data('ordered.csv', pg_temp.lp(
    (SELECT array_agg(format('%s,%s,P,%s,%s,%s,kwh,', 900000 + m, 900000 + m,
                             to_char(t, 'DD/MM/YYYY HH24:MI:SS'), ch, m) ORDER BY m, ch, t)
       FROM generate_series(1, 300) m, unnest(ARRAY['Export Wh Total', 'Import Wh Total']) ch,
            generate_series(timestamp '2020-03-01', '2020-03-03 18:00', '6 hours') t)));
SELECT count(*) AS partials, count(*) FILTER (WHERE ctid < before) AS out_of_key_order
  FROM (SELECT ctid, lag(ctid) OVER (ORDER BY day, meter_id, channel_id) AS before FROM energy_daily) d;
SELECT count(*) AS segments, count(*) FILTER (WHERE ctid < before) AS out_of_id_order,
       count(DISTINCT (meter_id, channel_id)) AS meter_channels
  FROM (SELECT ctid, meter_id, channel_id, lag(ctid) OVER (ORDER BY segment_id) AS before FROM energy_segment) s;
DROP EXTENSION energy;
