--
-- energy: TOU register reads delivered again and again under new names,
-- corrected, partly, and unloaded in between.  A register read is (meter,
-- channel, time, period, rate); the copy of the file loaded last counts,
-- and within one file the later line.  After every step, which copy counts,
-- the superseded marks and the partials are compared with the same rule
-- computed in plain SQL over the files as they were sent (pg_temp.sent),
-- and the values that count are listed, as worked out by hand in the
-- comments.  Last, the cost of a re-delivery: the 6th copy of a day reads
-- no more register rows than the 2nd.
--
CREATE EXTENSION energy;

-- The files, line by line, as sent: meter 7, plant P7, day 02/01/2024.
CREATE TEMP TABLE sent (file text, line int, at timestamp, channel text, period text,
                        energy numeric, status text);
-- The files loaded now, in load order.
CREATE TEMP TABLE live (file text PRIMARY KEY, seq int);

-- A file's TOU export, from its lines in sent (header first: line 1).
CREATE FUNCTION pg_temp.tou(f text) RETURNS bytea
LANGUAGE sql AS $$
    SELECT convert_to('MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Energy,'
                      || 'Maximum Demand,Time of Max Demand,Units,Status,Period,DLS Active,'
                      || 'Billing Reset Count,Billing Reset Date/Time,Rate' || E'\n'
                      || string_agg(format('7,7,P7,%s,%s,%s,0.5,30/12/1899 00:00:00,kwh,%s,%s,False,1,'
                                           '01/01/2024 00:00:00,Unified',
                                           to_char(s.at, 'DD/MM/YYYY HH24:MI:SS'), s.channel,
                                           s.energy, s.status, s.period), E'\n' ORDER BY s.line)
                      || E'\n', 'UTF8')
      FROM sent s WHERE s.file = f
$$;

-- Load a file of sent under its name, and remember it as the newest.
CREATE FUNCTION pg_temp.load(f text) RETURNS TABLE (rows_loaded bigint, rows_replacing bigint)
LANGUAGE sql AS $$
    INSERT INTO live SELECT f, coalesce(max(seq), 0) + 1 FROM live;
    SELECT l.rows_loaded, l.rows_replacing FROM energy_load_data(f, pg_temp.tou(f)) l
$$;
CREATE FUNCTION pg_temp.unload(f text) RETURNS bigint
LANGUAGE sql AS $$
    DELETE FROM live WHERE file = f;
    SELECT energy_unload(f)
$$;

-- The rule in plain SQL: of the live files' copies of a read, the one of
-- the file loaded last counts, and of that file's copies the later line.
CREATE VIEW expected_counting AS
SELECT DISTINCT ON (s.at, s.channel, s.period) s.file, s.line, s.at, s.channel, s.period, s.energy, nullif(s.status, '') AS status
  FROM sent s JOIN live l USING (file)
 ORDER BY s.at, s.channel, s.period, l.seq DESC, s.line DESC;

-- The read that counts as energy_data has it.
CREATE VIEW counting AS
SELECT f.file_name AS file, d.date_time AS at, d.data_type AS channel, d.period, d.energy, nullif(d.status, '') AS status
  FROM energy_data d JOIN energy_file f USING (file_id)
 WHERE d.meter_code = '7';

-- Each live file's partial of each (day, channel) where it sent reads:
-- how many of its reads count, their exact sum (as the file wrote them),
-- min, max and how many have a status.
CREATE VIEW expected_partials AS
SELECT s.file, s.at::date AS day, s.channel,
       count(c.line) AS readings, coalesce(sum(c.energy), 0) AS sum_value,
       min(c.energy)::float8 AS min_value, max(c.energy)::float8 AS max_value,
       count(c.line) FILTER (WHERE c.status <> '') AS flagged
  FROM sent s JOIN live USING (file)
  LEFT JOIN expected_counting c USING (file, line)
 GROUP BY 1, 2, 3;

CREATE VIEW partials AS
SELECT f.file_name AS file, d.day, c.data_type AS channel, sum(d.readings) AS readings,
       sum(d.sum_value) AS sum_value, min(d.min_value) AS min_value, max(d.max_value) AS max_value,
       sum(d.flagged) AS flagged
  FROM energy_daily d
  JOIN energy_file f USING (file_id)
  JOIN energy_channel c USING (channel_id)
 GROUP BY 1, 2, 3;

-- Every stored register read with its mark, and the mark the rule gives.
CREATE VIEW marks AS
SELECT f.file_name AS file, g.line, g.superseded IS TRUE AS superseded,
       NOT EXISTS (SELECT FROM expected_counting e
                    WHERE e.file = f.file_name AND e.line = g.line) AS should_be
  FROM energy_register g
  JOIN energy_segment s USING (segment_id)
  JOIN energy_file f USING (file_id);

-- 0 when the reads that count, the marks and the partials are all the
-- rule's.
CREATE FUNCTION pg_temp.differences() RETURNS TABLE (counting bigint, marks bigint, partials bigint)
LANGUAGE sql AS $$
    SELECT (SELECT count(*) FROM ((TABLE counting EXCEPT ALL
                                   SELECT file, at, channel, period, energy::float8, status FROM expected_counting)
                                  UNION ALL
                                  (SELECT file, at, channel, period, energy::float8, status FROM expected_counting
                                   EXCEPT ALL TABLE counting)) d),
           (SELECT count(*) FROM marks WHERE superseded <> should_be)
           + (SELECT count(*) FROM sent JOIN live USING (file)) - (SELECT count(*) FROM marks),
           (SELECT count(*) FROM ((TABLE partials EXCEPT ALL TABLE expected_partials)
                                  UNION ALL
                                  (TABLE expected_partials EXCEPT ALL TABLE partials)) d)
$$;

-- The files.  (a) every read; one on the next day that no other file has;
-- 00:45 is read twice, in the periods Total and Current (two reads).
INSERT INTO sent VALUES
    ('TOU_7_a.csv', 2, '2024-01-02 00:15', 'Import Wh Total', 'Total',   10.000, ''),
    ('TOU_7_a.csv', 3, '2024-01-02 00:30', 'Import Wh Total', 'Total',   11.000, ''),
    ('TOU_7_a.csv', 4, '2024-01-02 00:45', 'Import Wh Total', 'Total',   12.000, ''),
    ('TOU_7_a.csv', 5, '2024-01-02 00:45', 'Import Wh Total', 'Current',  2.000, ''),
    ('TOU_7_a.csv', 6, '2024-01-02 00:30', 'Export Wh Total', 'Total',    5.000, ''),
    ('TOU_7_a.csv', 7, '2024-01-03 00:00', 'Import Wh Total', 'Total',   13.000, ''),
-- (b) all of (a)'s day corrected
    ('TOU_7_b.csv', 2, '2024-01-02 00:15', 'Import Wh Total', 'Total',   10.100, ''),
    ('TOU_7_b.csv', 3, '2024-01-02 00:30', 'Import Wh Total', 'Total',   11.100, ''),
    ('TOU_7_b.csv', 4, '2024-01-02 00:45', 'Import Wh Total', 'Total',   12.100, ''),
    ('TOU_7_b.csv', 5, '2024-01-02 00:45', 'Import Wh Total', 'Current',  2.100, ''),
    ('TOU_7_b.csv', 6, '2024-01-02 00:30', 'Export Wh Total', 'Total',    5.100, ''),
-- (c) two Import reads corrected again, one of them estimated (status E)
    ('TOU_7_c.csv', 2, '2024-01-02 00:30', 'Import Wh Total', 'Total',   11.200, 'E'),
    ('TOU_7_c.csv', 3, '2024-01-02 00:45', 'Import Wh Total', 'Total',   12.200, ''),
-- (d) three reads, 00:45 Total twice: the later line counts
    ('TOU_7_d.csv', 2, '2024-01-02 00:15', 'Import Wh Total', 'Total',   10.300, ''),
    ('TOU_7_d.csv', 3, '2024-01-02 00:45', 'Import Wh Total', 'Total',   12.300, ''),
    ('TOU_7_d.csv', 4, '2024-01-02 00:45', 'Import Wh Total', 'Total',   12.350, ''),
    ('TOU_7_d.csv', 5, '2024-01-02 00:30', 'Export Wh Total', 'Total',    5.300, ''),
-- (e) all of the day again
    ('TOU_7_e.csv', 2, '2024-01-02 00:15', 'Import Wh Total', 'Total',   10.400, ''),
    ('TOU_7_e.csv', 3, '2024-01-02 00:30', 'Import Wh Total', 'Total',   11.400, ''),
    ('TOU_7_e.csv', 4, '2024-01-02 00:45', 'Import Wh Total', 'Total',   12.400, ''),
    ('TOU_7_e.csv', 5, '2024-01-02 00:45', 'Import Wh Total', 'Current',  2.400, ''),
    ('TOU_7_e.csv', 6, '2024-01-02 00:30', 'Export Wh Total', 'Total',    5.400, '');
-- (f) the bytes of (a) under a new name
INSERT INTO sent SELECT 'TOU_7_f.csv', line, at, channel, period, energy, status
  FROM sent WHERE file = 'TOU_7_a.csv';

-- 1. (a), (b), (c), (d) in turn.  rows_replacing: (b) replaces (a)'s 5
-- reads of the day; (c) 2 of (b)'s; (d) (b)'s 00:15, (c)'s 00:45 Total and
-- (b)'s Export read: 3 (its two copies of 00:45 are one read).
SELECT * FROM pg_temp.load('TOU_7_a.csv');
SELECT * FROM pg_temp.load('TOU_7_b.csv');
SELECT * FROM pg_temp.load('TOU_7_c.csv');
SELECT * FROM pg_temp.load('TOU_7_d.csv');
-- Counting: Import 00:15 (d) 10.3; 00:30 (c) 11.2 E; 00:45 Total (d)
-- 12.35; 00:45 Current (b) 2.1; Export (d) 5.3; and (a)'s 03/01 read 13.
SELECT * FROM counting ORDER BY channel, at, period;
-- Partials of 02/01: (a) 0 and 0 (placeholders); (b) Import 1 read, 2.1;
-- (c) Import 1, 11.2, 1 flagged; (d) Import 2, 10.3 + 12.35 = 22.65, min
-- 10.3, max 12.35, and Export 1, 5.3.  (a)'s 03/01: 1, 13.
SELECT * FROM partials ORDER BY day, channel, file;
SELECT * FROM pg_temp.differences();

-- 2. Unload (d), the newest: its reads go and the best remaining copies
-- count again: Import 00:15 (b) 10.1; 00:30 (c) 11.2 E; 00:45 Total (c)
-- 12.2; 00:45 Current (b) 2.1; Export (b) 5.1.  It had 4 reads.
SELECT pg_temp.unload('TOU_7_d.csv');
SELECT * FROM counting ORDER BY channel, at, period;
-- (b) Import 2 reads, 10.1 + 2.1 = 12.2, min 2.1, max 10.1, Export 1,
-- 5.1; (c) 2, 11.2 + 12.2 = 23.4, min 11.2, max 12.2, 1 flagged; (a) 0.
SELECT * FROM partials ORDER BY day, channel, file;
SELECT * FROM pg_temp.differences();

-- 3. (e), all of the day: it replaces the 5 reads that count, every one.
SELECT * FROM pg_temp.load('TOU_7_e.csv');
-- (e) Import 4 reads, 10.4 + 11.4 + 12.4 + 2.4 = 36.6, min 2.4, max 12.4;
-- Export 1, 5.4; (a), (b), (c) 0 on 02/01.
SELECT * FROM partials ORDER BY day, channel, file;
SELECT * FROM pg_temp.differences();

-- 4. Unload (b), a file in the middle none of whose reads count: nothing
-- else changes.  Then (e), the newest: of (a) and (c), Import 00:15 (a)
-- 10; 00:30 (c) 11.2 E; 00:45 Total (c) 12.2; 00:45 Current (a) 2; Export
-- (a) 5.
SELECT pg_temp.unload('TOU_7_b.csv');
SELECT * FROM pg_temp.differences();
SELECT pg_temp.unload('TOU_7_e.csv');
SELECT * FROM counting ORDER BY channel, at, period;
-- (a) Import 2 reads, 10 + 2 = 12, min 2, max 10; Export 1, 5; (c) 2,
-- 23.4, min 11.2, max 12.2, 1 flagged.
SELECT * FROM partials ORDER BY day, channel, file;
SELECT * FROM pg_temp.differences();

-- 5. (f), the bytes of (a) under a new name: each of its 6 reads replaces
-- the copy that counts, (a)'s 00:15, 00:45 Current, Export and 03/01,
-- (c)'s 00:30 and 00:45 Total: 6 replacing.  (f) Import 02/01 4 reads,
-- 10 + 11 + 12 + 2 = 35, min 2, max 12; Export 1, 5; 03/01 1, 13; (a)
-- and (c) keep placeholders.
SELECT * FROM pg_temp.load('TOU_7_f.csv');
SELECT * FROM partials ORDER BY day, channel, file;
SELECT * FROM pg_temp.differences();

-- 6. What a re-delivery reads: a day of 96 reads of meter 8 sent under six
-- names, each copy corrected.  A re-delivery compares only the copies that
-- count and its own, so each copy from the 2nd on reads as many register
-- rows as the 2nd: the rows of energy_register its transaction read, by
-- any scan, counted by the statistics of the transaction (which no flush
-- resets while it runs).  The energy_resolve() statements each read the
-- compared files' reads of the day: the 1st copy's own 96 three times
-- (288), then the copy that counted and the new one (576).  1.2 read every
-- stored copy again, one more each time.
CREATE TEMP TABLE cost (copy int, fetched bigint);
CREATE FUNCTION pg_temp.register_rows_read() RETURNS bigint
LANGUAGE sql AS $$
    SELECT seq_tup_read + idx_tup_fetch FROM pg_stat_xact_user_tables
     WHERE relid = 'energy_register'::regclass
$$;
CREATE FUNCTION pg_temp.copy8(k int) RETURNS bytea
LANGUAGE sql AS $$
    SELECT convert_to('MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Energy,'
                      || 'Maximum Demand,Time of Max Demand,Units,Status,Period,DLS Active,'
                      || 'Billing Reset Count,Billing Reset Date/Time,Rate' || E'\n'
                      || string_agg(format('8,8,P8,%s,Import Wh Total,%s,0.5,30/12/1899 00:00:00,kwh,,Total,'
                                           'False,1,01/01/2024 00:00:00,Unified',
                                           to_char(timestamp '2024-01-02' + i * interval '15 minutes',
                                                   'DD/MM/YYYY HH24:MI:SS'),
                                           100 + i + k / 1000.0), E'\n' ORDER BY i)
                      || E'\n', 'UTF8')
      FROM generate_series(0, 95) AS i
$$;
BEGIN;
SELECT pg_temp.register_rows_read() AS before \gset
SELECT rows_loaded FROM energy_load_data('TOU_8_1.csv', pg_temp.copy8(1));
INSERT INTO cost SELECT 1, pg_temp.register_rows_read() - :before;
COMMIT;
BEGIN;
SELECT pg_temp.register_rows_read() AS before \gset
SELECT rows_replacing FROM energy_load_data('TOU_8_2.csv', pg_temp.copy8(2));
INSERT INTO cost SELECT 2, pg_temp.register_rows_read() - :before;
COMMIT;
BEGIN;
SELECT pg_temp.register_rows_read() AS before \gset
SELECT rows_replacing FROM energy_load_data('TOU_8_3.csv', pg_temp.copy8(3));
INSERT INTO cost SELECT 3, pg_temp.register_rows_read() - :before;
COMMIT;
BEGIN;
SELECT pg_temp.register_rows_read() AS before \gset
SELECT rows_replacing FROM energy_load_data('TOU_8_4.csv', pg_temp.copy8(4));
INSERT INTO cost SELECT 4, pg_temp.register_rows_read() - :before;
COMMIT;
BEGIN;
SELECT pg_temp.register_rows_read() AS before \gset
SELECT rows_replacing FROM energy_load_data('TOU_8_5.csv', pg_temp.copy8(5));
INSERT INTO cost SELECT 5, pg_temp.register_rows_read() - :before;
COMMIT;
BEGIN;
SELECT pg_temp.register_rows_read() AS before \gset
SELECT rows_replacing FROM energy_load_data('TOU_8_6.csv', pg_temp.copy8(6));
INSERT INTO cost SELECT 6, pg_temp.register_rows_read() - :before;
COMMIT;
SELECT * FROM cost ORDER BY copy;
-- The 6th copy's 96 reads count, with their values: 100 + i + 0.006.
SELECT count(*) AS reads, sum(d.energy::numeric) = sum(100 + i + 0.006) AS newest_values
  FROM energy_data d, generate_series(0, 95) AS i
 WHERE d.meter_code = '8' AND d.date_time = timestamp '2024-01-02' + i * interval '15 minutes';
SELECT count(DISTINCT fetched) AS costs_from_the_2nd_copy FROM cost WHERE copy >= 2;

DROP VIEW marks, partials, expected_partials, counting, expected_counting;
DROP EXTENSION energy;
