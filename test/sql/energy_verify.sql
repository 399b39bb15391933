--
-- energy_verify(): every way the stored state can contradict itself, one
-- row each, none on a healthy database.  Files that overlap, a correction
-- unloaded again, a replace and populates make a healthy database, which
-- it finds healthy, views populated or not, change log pending or not.
-- Then each contradiction is made by hand, as superuser, with direct
-- writes, inside a transaction: energy_verify() reports it by kind (the
-- counts worked out by hand in the comments), and ROLLBACK repairs it.
-- Last, who may call it, as whom it runs, and what it locks.
--
CREATE EXTENSION energy;
\getenv data ENERGY_TEST_DATA
\set lp :data/include/lp.psql
\i :lp

-- What energy_verify() reports, by kind.
CREATE FUNCTION pg_temp.kinds() RETURNS TABLE (kind text, n bigint)
LANGUAGE sql AS $$ SELECT kind, count(*) FROM energy_verify() GROUP BY kind ORDER BY kind $$;

-- An empty database, its views never populated: nothing to report (and no
-- error from reading a view that holds no data).
SELECT * FROM energy_verify();

-- The healthy database.  The seed's export (file 1: meter 210095893, four
-- channels, 93 readings each on 31/08/2015 and 3 on 01/09/2015, 384 in
-- all) and the same bytes again as copy.csv (file 2), whose copies win:
-- file 1 keeps 8 placeholder partials (readings 0).
SELECT file_name, rows_loaded, action FROM energy_load(:'data' || '/erm/LP_210095893_20150901T011608049.csv');
SELECT file_name, rows_loaded, rows_replacing, action
  FROM energy_load_data('copy.csv', pg_read_binary_file(:'data' || '/erm/LP_210095893_20150901T011608049.csv'));
-- A correction of 00:15 on 01/09/2015 (file 3), unloaded again: copy.csv's
-- copy counts again.
SELECT file_name, rows_loaded, rows_replacing, action
  FROM energy_load_data('fix.csv', pg_temp.lp(ARRAY[
       '210095893,210095893,ED031000001,01/09/2015 00:15:00,Export Wh Total,9,kwh,']));
SELECT energy_unload('fix.csv') AS removed;
-- A TOU export (file 4: 8 register reads of one channel on 01/09/2015,
-- each with a status) and its copy (file 5), which wins.
SELECT file_name, rows_loaded, action FROM energy_load(:'data' || '/erm/TOU_214667141_20150901T040057.csv');
SELECT file_name, rows_loaded, rows_replacing, action
  FROM energy_load_data('toucopy.csv', pg_read_binary_file(:'data' || '/erm/TOU_214667141_20150901T040057.csv'));
-- A NEM12 file (file 6): 48 half hours of VABD000163 E1 on 01/05/2003,
-- 50.1 + 21.5 = 71.6 and 46 zeros, every quality method V or S14, so all
-- 48 flagged.
SELECT file_name, rows_loaded, action FROM energy_load(:'data' || '/nem/Example-NEM12.csv');
-- A small LP file (file 7): meter V1, two readings on 02/09/2015.
SELECT file_name, rows_loaded, action
  FROM energy_load_data('small.csv', pg_temp.lp(ARRAY[
       'V1,V1,P1,02/09/2015 00:15:00,Import Wh Total,1.5,kwh,',
       'V1,V1,P1,02/09/2015 00:30:00,Import Wh Total,2.25,kwh,A']));
-- Views not populated yet: nothing to report.
SELECT * FROM energy_verify();
SELECT energy_populate_view();
SELECT * FROM energy_verify();

-- small.csv replaced (file 8: 1.5 and 3): energy_data_view's V1 02/09/2015
-- is stale until the next populate (max 2.25, not 3), and the change log
-- lists it, so that is no contradiction.
SELECT file_name, rows_loaded, action
  FROM energy_load_data('small.csv', pg_temp.lp(ARRAY[
       'V1,V1,P1,02/09/2015 00:15:00,Import Wh Total,1.5,kwh,',
       'V1,V1,P1,02/09/2015 00:30:00,Import Wh Total,3,kwh,A']));
SELECT max_energy FROM energy_data_view WHERE meter_code = 'V1';
SELECT max(energy) FROM energy_data WHERE meter_code = 'V1';
SELECT * FROM energy_verify();
SELECT energy_populate_view();
SELECT max_energy FROM energy_data_view WHERE meter_code = 'V1';
SELECT * FROM energy_verify();

-- Where each file's copies stand (what the cases below rely on).
SELECT f.file_id, f.file_name, count(*) AS stored, count(*) FILTER (WHERE NOT u.lost) AS counting
  FROM energy_reading r
  JOIN energy_segment s USING (segment_id)
  JOIN energy_file f USING (file_id)
 CROSS JOIN LATERAL energy_block_readings(r.block, r.day) AS u(at, value, status, lost)
 GROUP BY 1, 2
UNION ALL
SELECT f.file_id, f.file_name, count(*), count(*) FILTER (WHERE g.superseded IS NOT TRUE)
  FROM energy_register g
  JOIN energy_segment s USING (segment_id)
  JOIN energy_file f USING (file_id)
 GROUP BY 1, 2
 ORDER BY 1;

-- partial_without_file, segment_without_file: the NEM12 file's row goes,
-- its one partial (one meter-day) and its one segment stay.
BEGIN;
DELETE FROM energy_file WHERE file_name = 'Example-NEM12.csv';
SELECT * FROM pg_temp.kinds();
SELECT kind, meter_code, serial_number, day, file_name, detail FROM energy_verify();
ROLLBACK;

-- superseded_without_winner: small.csv's 00:15 marked superseded, and no
-- other file has it; its partial says 2 readings, its copies that count 1:
-- partial_mismatch.
BEGIN;
UPDATE energy_reading r SET block = energy_block_marks(r.block, ARRAY[true, false])
  FROM energy_segment s JOIN energy_file f USING (file_id)
 WHERE s.segment_id = r.segment_id AND f.file_name = 'small.csv';
SELECT * FROM pg_temp.kinds();
SELECT kind, meter_code, serial_number, day, file_name, detail FROM energy_verify();
ROLLBACK;

-- The same of a register read: toucopy.csv's Total/Unified read marked
-- superseded, and the TOU file's copy of it lost already: 1 reading
-- without a winner, and toucopy.csv's partial (8 readings) disagrees with
-- its 7 copies that count.
BEGIN;
UPDATE energy_register g SET superseded = true
  FROM energy_segment s JOIN energy_file f USING (file_id)
 WHERE s.segment_id = g.segment_id AND f.file_name = 'toucopy.csv'
   AND g.period = 'Total' AND g.rate = 'Unified';
SELECT * FROM pg_temp.kinds();
ROLLBACK;

-- reading_counted_twice: the seed's chunk of 01/09/2015 Export Wh Total
-- (00:00, 00:15, 00:30) unmarked, while copy.csv's copies count too: 3
-- readings counted twice, and the seed's placeholder partial (0 readings)
-- disagrees with its 3 copies that count.
BEGIN;
UPDATE energy_reading r SET block = energy_block_marks(r.block, NULL)
  FROM energy_segment s JOIN energy_file f USING (file_id) JOIN energy_channel c USING (channel_id)
 WHERE s.segment_id = r.segment_id AND f.file_name = 'LP_210095893_20150901T011608049.csv'
   AND c.data_type = 'Export Wh Total' AND r.day = '2015-09-01';
SELECT * FROM pg_temp.kinds();
SELECT kind, meter_code, day, file_name, detail FROM energy_verify() WHERE kind = 'reading_counted_twice';
ROLLBACK;

-- The same of register reads: the TOU file's 8 reads unmarked, so all 8
-- (each its own time, period and rate) count twice; its one partial of
-- the channel-day says 0.
BEGIN;
UPDATE energy_register g SET superseded = NULL
  FROM energy_segment s JOIN energy_file f USING (file_id)
 WHERE s.segment_id = g.segment_id AND f.file_name = 'TOU_214667141_20150901T040057.csv';
SELECT * FROM pg_temp.kinds();
ROLLBACK;

-- reading_without_partial: small.csv's partial goes.  Its copies still
-- show in energy_data, and V1's 02/09/2015 in both views is no longer
-- what their definitions give (no row): one row each.  Once the change
-- log lists that meter-day, the views are stale by design: only the
-- missing partial is left.
BEGIN;
DELETE FROM energy_daily d USING energy_file f
 WHERE f.file_id = d.file_id AND f.file_name = 'small.csv';
SELECT * FROM pg_temp.kinds();
SELECT kind, meter_code, serial_number, day, file_name, detail FROM energy_verify() ORDER BY kind;
INSERT INTO energy_change (meter_id, day) SELECT meter_id, '2015-09-02' FROM energy_meter WHERE meter_code = 'V1';
SELECT * FROM pg_temp.kinds();
ROLLBACK;

-- partial_mismatch of the sum: the NEM12 partial's sum 71.6 becomes 72.6.
-- The views' avg_energy, sum_value and avg_value follow their definition,
-- not the rows: one mismatch each.  After a change of energy_unit the next
-- populate refreshes in full, so the views are not compared.
BEGIN;
UPDATE energy_daily d SET sum_value = d.sum_value + 1
  FROM energy_file f WHERE f.file_id = d.file_id AND f.file_name = 'Example-NEM12.csv';
SELECT * FROM pg_temp.kinds();
SELECT detail FROM energy_verify() WHERE kind = 'partial_mismatch';
INSERT INTO energy_unit VALUES ('regress_unit', 'regress_unit', 1);
SELECT * FROM pg_temp.kinds();
ROLLBACK;

-- partial_mismatch of the flagged count: toucopy.csv's partial says 0
-- flagged, its 8 reads have a status.  energy_channel_view shows flagged;
-- energy_data_view does not.
BEGIN;
UPDATE energy_daily d SET flagged = 0
  FROM energy_file f WHERE f.file_id = d.file_id AND f.file_name = 'toucopy.csv';
SELECT * FROM pg_temp.kinds();
ROLLBACK;

-- partial_mismatch of min and max: small.csv's partial says min 1, max 5
-- (its copies: 1.5 and 3).
BEGIN;
UPDATE energy_daily d SET min_value = 1, max_value = 5
  FROM energy_file f WHERE f.file_id = d.file_id AND f.file_name = 'small.csv';
SELECT kind, count(*) FROM energy_verify() WHERE kind = 'partial_mismatch' GROUP BY kind;
ROLLBACK;

-- partial_without_reading: a partial of small.csv for 03/09/2015, a day it
-- has no copy of (1 reading of 5).  Both views' definitions give a V1
-- 03/09/2015 row that the views lack.
BEGIN;
INSERT INTO energy_daily (meter_id, day, channel_id, file_id, part, readings, sum_value, min_value, max_value, flagged)
SELECT d.meter_id, '2015-09-03', d.channel_id, d.file_id, 1, 1, 5, 5, 5, 0
  FROM energy_daily d JOIN energy_file f USING (file_id) WHERE f.file_name = 'small.csv';
SELECT * FROM pg_temp.kinds();
ROLLBACK;

-- channel_day_without_count: the same partial as a placeholder (readings
-- 0): the views' definitions would divide by zero, so they are not
-- compared, and that is said.
BEGIN;
INSERT INTO energy_daily (meter_id, day, channel_id, file_id, part, readings, sum_value, min_value, max_value, flagged)
SELECT d.meter_id, '2015-09-03', d.channel_id, d.file_id, 1, 0, 0, NULL, NULL, 0
  FROM energy_daily d JOIN energy_file f USING (file_id) WHERE f.file_name = 'small.csv';
SELECT * FROM pg_temp.kinds();
SELECT kind, meter_code, day, file_name, detail FROM energy_verify() WHERE kind = 'channel_day_without_count';
ROLLBACK;

-- reading_without_segment: small.csv's segment goes; its one chunk stays,
-- and its partial now has no copy behind it.
BEGIN;
DELETE FROM energy_segment s USING energy_file f WHERE f.file_id = s.file_id AND f.file_name = 'small.csv';
SELECT * FROM pg_temp.kinds();
ROLLBACK;

-- A view that alone is wrong: refreshed while small.csv's partial said max
-- 5, the partial then put back.  energy_data_view's max_energy and
-- energy_channel_view's max_value for V1 02/09/2015 differ from their
-- definitions; nothing else does.
BEGIN;
UPDATE energy_daily d SET max_value = 5 FROM energy_file f WHERE f.file_id = d.file_id AND f.file_name = 'small.csv';
REFRESH MATERIALIZED VIEW energy_data_view;
REFRESH MATERIALIZED VIEW energy_channel_view;
UPDATE energy_daily d SET max_value = 3 FROM energy_file f WHERE f.file_id = d.file_id AND f.file_name = 'small.csv';
SELECT * FROM pg_temp.kinds();
SELECT kind, meter_code, serial_number, day, detail FROM energy_verify() WHERE kind = 'data_view_mismatch';
ROLLBACK;

-- Not a contradiction: the change log lists a meter-day whose view rows
-- are current (populate would rewrite it and find the same rows).
BEGIN;
INSERT INTO energy_change (meter_id, day) SELECT meter_id, '2015-09-02' FROM energy_meter WHERE meter_code = 'V1';
SELECT * FROM energy_verify();
ROLLBACK;

-- Every case rolled back: healthy again.
SELECT * FROM energy_verify();

-- Who may call it: not PUBLIC (it reads every table).  It runs with the
-- caller's rights (SECURITY INVOKER): a role granted EXECUTE but not
-- SELECT on the storage tables is refused by the first it reads; with
-- SELECT on them it runs.
CREATE ROLE regress_verify_nobody;
CREATE ROLE regress_verify_monitor;
SELECT has_function_privilege('regress_verify_nobody', 'energy_verify()', 'EXECUTE') AS nobody_may;
SELECT prosecdef, provolatile, proconfig FROM pg_proc WHERE oid = 'energy_verify()'::regprocedure;
\set VERBOSITY terse
SET ROLE regress_verify_nobody;
SELECT * FROM energy_verify(); -- ERROR
RESET ROLE;
GRANT EXECUTE ON FUNCTION energy_verify() TO regress_verify_monitor;
SET ROLE regress_verify_monitor;
SELECT * FROM energy_verify(); -- ERROR
RESET ROLE;
\set VERBOSITY default
-- with SELECT on the tables, and the decoder that goes with energy_reading
GRANT SELECT ON energy_daily, energy_reading, energy_register, energy_segment, energy_channel TO regress_verify_monitor;
GRANT EXECUTE ON FUNCTION energy_block_readings(bytea, date) TO regress_verify_monitor;
SET ROLE regress_verify_monitor;
SELECT * FROM energy_verify();
RESET ROLE;

-- What it locks: AccessShareLock, a reader's lock, on what it reads (the
-- tables and, since they are compared, both views), nothing stronger.
BEGIN;
SELECT count(*) FROM energy_verify();
SELECT c.relname, l.mode
  FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
 WHERE l.pid = pg_backend_pid() AND c.relkind IN ('r', 'm') AND c.relnamespace = 'public'::regnamespace
 ORDER BY 1, 2;
COMMIT;

-- Memory: it aggregates in SQL, so a tiny work_mem only makes its sorts
-- and hashes spill; the answer is the same.
SET work_mem = '64kB';
SELECT * FROM energy_verify();
RESET work_mem;

REVOKE ALL ON energy_daily, energy_reading, energy_register, energy_segment, energy_channel FROM regress_verify_monitor;
REVOKE ALL ON FUNCTION energy_verify() FROM regress_verify_monitor;
REVOKE ALL ON FUNCTION energy_block_readings(bytea, date) FROM regress_verify_monitor;
DROP ROLE regress_verify_nobody;
DROP ROLE regress_verify_monitor;
DROP EXTENSION energy;
