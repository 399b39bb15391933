--
-- energy: the readings decoder as an attacker meets it (1.3).  Blocks are
-- built here byte by byte, with their CRC-32C computed in SQL, apart from
-- the codec: a block whose one dictionary status covers 65,535 readings
-- decodes in bounded memory and only for roles that may read the readings;
-- bytes a caller passes are 22P03, a bad argument 22023 or 22008; a status
-- that is no text is never handed out nor stored.  Values written with an
-- exponent sum as the decimals they are, on every path.  A damaged stored
-- copy is XX001 naming its meter, day and file, and does not keep the
-- newer file from being replaced or unloaded.
--
CREATE EXTENSION energy;
\set VERBOSITY terse

\getenv data ENERGY_TEST_DATA
\set lp :data/include/lp.psql
\i :lp

-- The helpers live in a schema of their own (a reconnection below would
-- drop temporary ones), usable by every role.
CREATE SCHEMA regress_decoder;
GRANT USAGE ON SCHEMA regress_decoder TO PUBLIC;
-- CRC-32C (Castagnoli, reflected, all ones in and out), bit by bit, and
-- its 4 bytes little-endian: a block's last 4 bytes.
CREATE FUNCTION regress_decoder.crc32c(b bytea) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    crc bigint := 4294967295;
BEGIN
    FOR i IN 0 .. length(b) - 1 LOOP
        crc := crc # get_byte(b, i);
        FOR k IN 1 .. 8 LOOP
            IF crc & 1 = 1 THEN
                crc := (crc >> 1) # 2197175160;     -- 0x82F63B78
            ELSE
                crc := crc >> 1;
            END IF;
        END LOOP;
    END LOOP;
    crc := crc # 4294967295;
    RETURN set_byte(set_byte(set_byte(set_byte('\x00000000'::bytea,
           0, (crc & 255)::int), 1, ((crc >> 8) & 255)::int),
           2, ((crc >> 16) & 255)::int), 3, ((crc >> 24) & 255)::int);
END $$;
-- Unsigned LEB128.
CREATE FUNCTION regress_decoder.varint(v bigint) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    out bytea := '';
BEGIN
    WHILE v >= 128 LOOP
        out := out || set_byte('\x00'::bytea, 0, ((v & 127) | 128)::int);
        v := v >> 7;
    END LOOP;
    RETURN out || set_byte('\x00'::bytea, 0, v::int);
END $$;
-- A block of n readings of value 0, one microsecond apart from midnight
-- plus `start` microseconds, every one with the status `status` (one
-- dictionary entry, one run), no marks; codec.c's layout:
--   version 1, n, flags 0 (regular times in microseconds, raw values)
--   times:    zz start, zz interval 1 (= 2), no exceptions
--   values:   scale 0, zz min 0, width 0 (no bits), no exceptions
--   statuses: 1 entry (its length, its bytes), run of code 1 over n
--   marks:    0 (none); then the CRC-32C of all that
CREATE FUNCTION regress_decoder.block(n int, status bytea, start bigint DEFAULT 0) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
    SELECT body || regress_decoder.crc32c(body)
      FROM (SELECT '\x01'::bytea || regress_decoder.varint(n) || '\x00'::bytea
                   || regress_decoder.varint(start * 2) || '\x0200'::bytea
                   || '\x00000000'::bytea
                   || '\x01'::bytea || regress_decoder.varint(length(status)) || status
                   || '\x01'::bytea || regress_decoder.varint(n)
                   || '\x00'::bytea AS body) b
$$;

-- The hand-made block reads as intended: the SQL CRC is the codec's.
SELECT count(*), min(at), max(at), min(value), max(value), min(status), bool_or(superseded)
  FROM energy_block_readings(regress_decoder.block(3, convert_to('OK', 'UTF8')), '2024-01-01');

--
-- Row 3: the amplifying block.  16 kB of bytes or so, and every one of its
-- 65,535 readings carries the same 1,000-byte status: 64 MB of text.
--
CREATE TABLE regress_decoder.amplifier AS
SELECT regress_decoder.block(65535, convert_to(repeat('Z', 1000), 'UTF8')) AS b;
SELECT length(b) < 1100 AS small_block FROM regress_decoder.amplifier;

-- Not for PUBLIC: an ordinary role may not call the decoder at all.
CREATE ROLE regress_energy_decoder_nobody;
GRANT SELECT ON regress_decoder.amplifier TO regress_energy_decoder_nobody;
SET ROLE regress_energy_decoder_nobody;
SELECT count(*) FROM regress_decoder.amplifier, energy_block_readings(b, '2024-01-01'); -- ERROR
SELECT count(*) FROM regress_decoder.amplifier, energy_block_readings(b, '2024-01-01', 1, 1); -- ERROR
SELECT energy_block_encode(ARRAY['2024-01-01']::timestamp[], ARRAY[1]::float8[], NULL, NULL, '2024-01-01'); -- ERROR
-- energy_block_marks stays PUBLIC's: its block comes back its own size
SELECT length(energy_block_marks(regress_decoder.block(2, '\x41'), ARRAY[true, false])) > 0 AS remarked;
RESET ROLE;
SELECT has_function_privilege('public', 'energy_block_readings(bytea, date)', 'EXECUTE') AS public_2,
       has_function_privilege('public', 'energy_block_readings(bytea, date, bigint, bigint)', 'EXECUTE') AS public_4,
       has_function_privilege('public', 'energy_block_encode(timestamp[], float8[], text[], boolean[], date)', 'EXECUTE') AS public_encode,
       has_function_privilege('public', 'energy_block_marks(bytea, boolean[])', 'EXECUTE') AS public_marks;

-- As superuser, in bounded memory: the backend's peak resident size
-- (VmHWM, read by the backend itself) grows by less than 24 MB while the
-- 65,535 rows (64 MB of statuses) go by.  1.2 kept each row's copy of the
-- status until the call returned: 64 MB and more.  A fresh backend, the
-- library loaded and warm first.
\c
SET work_mem = '1MB';
SELECT count(*) FROM energy_block_readings(regress_decoder.block(2, '\x41'), '2024-01-01');
CREATE TEMP TABLE hwm AS
SELECT (regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'), 'VmHWM:\s*(\d+) kB'))[1]::bigint AS before_kb;
SELECT count(*) AS readings, sum(length(status)) AS status_bytes
  FROM energy_block_readings(regress_decoder.block(65535, convert_to(repeat('Z', 1000), 'UTF8')), '2024-01-01');
SELECT (regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'), 'VmHWM:\s*(\d+) kB'))[1]::bigint
       - before_kb < 24 * 1024 AS bounded
  FROM hwm;
RESET work_mem;
\set VERBOSITY terse
\i :lp

--
-- Row 10: the caller's bytes and arguments.
--
\set VERBOSITY sqlstate
-- a bad checksum in bytes the caller passed: 22P03, not XX001
SELECT count(*) FROM energy_block_readings(set_byte(regress_decoder.block(1, '\x41'), 3, 7), '2024-01-01'); -- ERROR
SELECT energy_block_marks(set_byte(regress_decoder.block(1, '\x41'), 3, 7), NULL); -- ERROR
\set VERBOSITY terse
SELECT count(*) FROM energy_block_readings(set_byte(regress_decoder.block(1, '\x41'), 3, 7), '2024-01-01'); -- ERROR
-- a status that is not UTF-8, or holds a NUL: neither returned nor re-marked
-- for storing; a real two-byte character is a status like any other
SELECT count(*) FROM energy_block_readings(regress_decoder.block(2, '\x41ff42'), '2024-01-01'); -- ERROR
SELECT count(*) FROM energy_block_readings(regress_decoder.block(2, '\x410042'), '2024-01-01'); -- ERROR
SELECT energy_block_marks(regress_decoder.block(2, '\x41ff42'), ARRAY[true, false]); -- ERROR
SELECT energy_block_marks(regress_decoder.block(2, '\x410042'), NULL); -- ERROR
\set VERBOSITY sqlstate
SELECT count(*) FROM energy_block_readings(regress_decoder.block(2, '\xc328'), '2024-01-01'); -- ERROR
\set VERBOSITY terse
SELECT status, status = U&'caf\00e9' AS same FROM energy_block_readings(regress_decoder.block(1, '\x636166c3a9'), '2024-01-01');
-- a day whose times would wrap: 22008, not other days' times
SELECT at FROM energy_block_readings(regress_decoder.block(1, '\x41'), '5874897-12-31'); -- ERROR
SELECT at FROM energy_block_readings(regress_decoder.block(1, '\x41'), 'infinity'); -- ERROR
SELECT at FROM energy_block_readings(regress_decoder.block(1, '\x41'), '294277-01-01'); -- ERROR
\set VERBOSITY sqlstate
SELECT at FROM energy_block_readings(regress_decoder.block(1, '\x41'), '5874897-12-31'); -- ERROR
SELECT energy_block_encode(ARRAY['2024-01-01']::timestamp[], ARRAY[1]::float8[], NULL, NULL, '5874897-12-31'); -- ERROR
\set VERBOSITY terse
-- the last day whose midnight is a timestamp still reads; a time its
-- block puts two days later (past the last timestamp) does not
SELECT at FROM energy_block_readings(regress_decoder.block(1, '\x41'), '294276-12-31');
SELECT at FROM energy_block_readings(regress_decoder.block(1, '\x41', 2 * 86400000000), '294276-12-31'); -- ERROR
-- a 2-D marks array, or 2-D arrays of a chunk: 22023, saying so
SELECT energy_block_marks(regress_decoder.block(1, '\x41'), ARRAY[[true]]); -- ERROR
SELECT energy_block_encode(ARRAY[['2024-01-01']]::timestamp[], ARRAY[[1]]::float8[], NULL, NULL, '2024-01-01'); -- ERROR
\set VERBOSITY sqlstate
SELECT energy_block_marks(regress_decoder.block(1, '\x41'), ARRAY[[true]]); -- ERROR
\set VERBOSITY terse

--
-- Row 8: values written with an exponent are the decimals they spell.
-- The day's exact sum, by hand: 2.5E+3 + 4.3E-1 + 1e-5 + 1E-7 + 0.25 +
-- 12.5e-2 = 2500 + 0.43 + 0.00001 + 0.0000001 + 0.25 + 0.125
-- = 2500.8050101 (numeric's own sum of the texts says the same).  As
-- float8s, 1.2 summed 2500.805010100000018...
--
CREATE TEMP TABLE expo (i int, v text);
INSERT INTO expo VALUES (1, '2.5E+3'), (2, '4.3E-1'), (3, '1e-5'), (4, '1E-7'), (5, '0.25'), (6, '12.5e-2');
SELECT sum(v::numeric) AS by_numeric, sum(v::numeric) = 2500.8050101 AS by_hand FROM expo;
SELECT file_name, rows_loaded FROM energy_load_data('expo1.csv', pg_temp.lp(
    (SELECT array_agg(format('20,20,P20,01/01/2024 %s,Import Wh Total,%s,kwh,',
                             to_char(time '00:00' + i * interval '15 minutes', 'HH24:MI:SS'), v) ORDER BY i)
       FROM expo)));
SELECT f.file_name, d.readings, d.sum_value
  FROM energy_daily d JOIN energy_file f USING (file_id) JOIN energy_meter m USING (meter_id)
 WHERE m.meter_code = '20' ORDER BY 1;
SELECT energy_populate_view() > 0 AS populated;
SELECT readings, sum_value, sum_value = 2500.8050101 AS exact FROM energy_get_channels('20', '20', '2024-01-01');
-- A correction under a new name: 1e-5 (00:45) becomes 3E-5.  The first
-- file's partial is summed again from its block, without that reading:
-- 2500.8050101 - 0.00001 = 2500.8050001; the correction's is 0.00003; the
-- day's 2500.8050301.
SELECT file_name, rows_loaded, rows_replacing FROM energy_load_data('expo2.csv', pg_temp.lp(ARRAY[
    '20,20,P20,01/01/2024 00:45:00,Import Wh Total,3E-5,kwh,']));
SELECT f.file_name, d.readings, d.sum_value
  FROM energy_daily d JOIN energy_file f USING (file_id) JOIN energy_meter m USING (meter_id)
 WHERE m.meter_code = '20' ORDER BY 1;
SELECT energy_populate_view() > 0 AS populated;
SELECT readings, sum_value, sum_value = 2500.8050301 AS exact FROM energy_get_channels('20', '20', '2024-01-01');
-- Unloading the correction restores the first file's reading: its sum is
-- again the file's, summed this time from its block.
SELECT energy_unload('expo2.csv');
SELECT f.file_name, d.readings, d.sum_value, d.sum_value = 2500.8050101 AS exact
  FROM energy_daily d JOIN energy_file f USING (file_id) JOIN energy_meter m USING (meter_id)
 WHERE m.meter_code = '20' ORDER BY 1;
SELECT energy_populate_view() > 0 AS populated;
SELECT readings, sum_value, sum_value = 2500.8050101 AS exact FROM energy_get_channels('20', '20', '2024-01-01');

--
-- Row 9: a damaged older copy.  old.csv's day is superseded by new.csv;
-- then old.csv's stored block is damaged (one byte of its values).
--
SELECT file_name, rows_loaded FROM energy_load_data('old.csv', pg_temp.lp(ARRAY[
    '30,30,P30,02/01/2024 00:15:00,Import Wh Total,1.5,kwh,',
    '30,30,P30,02/01/2024 00:30:00,Import Wh Total,2.5,kwh,']));
SELECT file_name, rows_loaded, rows_replacing FROM energy_load_data('new.csv', pg_temp.lp(ARRAY[
    '30,30,P30,02/01/2024 00:15:00,Import Wh Total,10,kwh,',
    '30,30,P30,02/01/2024 00:30:00,Import Wh Total,20,kwh,']));
UPDATE energy_reading r SET block = set_byte(r.block, 6, get_byte(r.block, 6) # 1)
  FROM energy_segment s JOIN energy_file f USING (file_id)
 WHERE s.segment_id = r.segment_id AND s.meter_id = r.meter_id AND f.file_name = 'old.csv';
-- Reading it is XX001, and the context names the meter, the day and the file.
\set VERBOSITY default
SELECT count(*) FROM energy_data WHERE meter_code = '30'; -- ERROR
\set VERBOSITY sqlstate
SELECT count(*) FROM energy_data WHERE meter_code = '30'; -- ERROR
\set VERBOSITY default
-- new.csv can be replaced by a version without the 00:30 reading: the
-- old version's removal restores old.csv's copy of 00:30, which cannot be
-- decoded; a WARNING names it, and old.csv's partial goes on without it
-- (1.2 stopped the load with XX001) ...
SELECT file_name, action, rows_loaded FROM energy_load_data('new.csv', pg_temp.lp(ARRAY[
    '30,30,P30,02/01/2024 00:15:00,Import Wh Total,11,kwh,']));
SELECT f.file_name, d.readings, d.sum_value
  FROM energy_daily d JOIN energy_file f USING (file_id) JOIN energy_meter m USING (meter_id)
 WHERE m.meter_code = '30' ORDER BY 1;
-- ... and unloaded, with the same WARNING (1.2: XX001, nothing unloaded).
SELECT energy_unload('new.csv');
SELECT f.file_name, d.readings, d.sum_value
  FROM energy_daily d JOIN energy_file f USING (file_id) JOIN energy_meter m USING (meter_id)
 WHERE m.meter_code = '30' ORDER BY 1;
\set VERBOSITY terse
-- The damaged copy still says so when read; unloading it (the remedy the
-- hint gives: then load it again from its source) leaves nothing damaged.
SELECT count(*) FROM energy_data WHERE meter_code = '30'; -- ERROR
SELECT energy_unload('old.csv');
SELECT count(*) FROM energy_data WHERE meter_code = '30';
-- A stored block whose checksum holds but whose status is no UTF-8 (put
-- there by hand) is damaged storage too: XX001 when read, and a later
-- file of its day loads, with the WARNING.
SELECT file_name, rows_loaded FROM energy_load_data('status1.csv', pg_temp.lp(ARRAY[
    '31,31,P31,02/01/2024 00:15:00,Import Wh Total,1.5,kwh,A']));
UPDATE energy_reading r SET block = regress_decoder.block(1, '\x41ff42', 15 * 60000000)
  FROM energy_segment s JOIN energy_file f USING (file_id)
 WHERE s.segment_id = r.segment_id AND s.meter_id = r.meter_id AND f.file_name = 'status1.csv';
\set VERBOSITY default
SELECT count(*) FROM energy_data WHERE meter_code = '31'; -- ERROR
SELECT file_name, rows_loaded, rows_replacing FROM energy_load_data('status2.csv', pg_temp.lp(ARRAY[
    '31,31,P31,02/01/2024 00:15:00,Import Wh Total,2.5,kwh,']));
\set VERBOSITY terse
SELECT f.file_name, d.readings, d.sum_value
  FROM energy_daily d JOIN energy_file f USING (file_id) JOIN energy_meter m USING (meter_id)
 WHERE m.meter_code = '31' ORDER BY 1;
DROP EXTENSION energy;

--
-- The update from 1.2 gives EXECUTE on the decoder to whoever could read
-- the readings (energy_data or energy_reading), and takes it from PUBLIC.
--
CREATE EXTENSION energy VERSION '1.2';
CREATE ROLE regress_energy_decoder_reader;
CREATE ROLE regress_energy_decoder_tables;
GRANT SELECT ON energy_data TO regress_energy_decoder_reader;
GRANT SELECT ON energy_reading, energy_segment, energy_meter, energy_channel, energy_register
   TO regress_energy_decoder_tables;
ALTER EXTENSION energy UPDATE TO '1.3';
SELECT r AS role,
       has_function_privilege(r, 'energy_block_readings(bytea, date)', 'EXECUTE') AS two_args,
       has_function_privilege(r, 'energy_block_readings(bytea, date, bigint, bigint)', 'EXECUTE') AS four_args
  FROM unnest(ARRAY['regress_energy_decoder_reader', 'regress_energy_decoder_tables',
                    'regress_energy_decoder_nobody', 'public']) AS r;
SELECT file_name, rows_loaded FROM energy_load_data('r.csv', pg_temp.lp(ARRAY[
    '40,40,P40,03/01/2024 00:15:00,Import Wh Total,1.5,kwh,']));
SET ROLE regress_energy_decoder_reader;
SELECT meter_code, date_time, energy FROM energy_data;
SET ROLE regress_energy_decoder_tables;
SELECT u.value FROM energy_reading r, energy_block_readings(r.block, r.day) u;
SET ROLE regress_energy_decoder_nobody;
SELECT meter_code FROM energy_data; -- ERROR
RESET ROLE;
DROP EXTENSION energy;
DROP SCHEMA regress_decoder CASCADE;
DROP ROLE regress_energy_decoder_nobody, regress_energy_decoder_reader, regress_energy_decoder_tables;
