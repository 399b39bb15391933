--
-- energy: energy_forget(before) removes the stored readings of the days
-- before "before" and keeps their partials, so the views and energy_get
-- answer those days as before; the horizon it records refuses later
-- readings of those days, and an unload after it restores nothing there.
--
\getenv data ENERGY_TEST_DATA
CREATE EXTENSION energy;
-- LP: 210095893 on 31/08 and 01/09/2015, 214612534 on 06-07/09/2015; TOU:
-- 214667141 on 01/09/2015 (8 reads), 212621145 on 11/09/2015.
SELECT count(*) AS files FROM energy_load(:'data' || '/erm');
-- NEM12: two meters on 2003-12-04 and -05; one on 2005-03-01 to -04.
SELECT format, rows_loaded FROM energy_load(:'data' || '/nem/Example_NEM12_multiple_meters.csv');
SELECT format, rows_loaded FROM energy_load(:'data' || '/nem/NEM12#SCENARIO5#UNITEDDP#NEMMCO.csv');
-- A re-delivery of two readings of 31/08: the original's copies of them
-- are superseded (still stored), the new ones count.
SELECT rows_loaded, action FROM energy_load_data('redelivery.csv', convert_to(
    E'MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Data Value,Units,Status\n'
    || E'210095893,210095893,ED031000001,31/08/2015 00:45:00,Import Wh Total,7.25,kwh,\n'
    || E'210095893,210095893,ED031000001,31/08/2015 01:00:00,Import Wh Total,2.5,kwh,\n', 'UTF8'));
SELECT energy_populate_view();
SELECT * FROM energy_verify();
SELECT * FROM energy_horizon;

-- The answers before forgetting, kept to compare row by row.
CREATE TEMP TABLE dv0 AS SELECT * FROM energy_data_view;
CREATE TEMP TABLE cv0 AS SELECT * FROM energy_channel_view;
CREATE TEMP TABLE get0 AS
SELECT g.* FROM (SELECT DISTINCT meter_code, serial_number FROM energy_data_view) m,
       energy_get(m.meter_code, m.serial_number, '2000-01-01', '2016-01-01') g;
CREATE TEMP TABLE ch0 AS
SELECT c.* FROM (SELECT DISTINCT meter_code, serial_number, day FROM energy_data_view) v,
       energy_get_channels(v.meter_code, v.serial_number, v.day) c;
SELECT count(*) > 0 AS has_rows FROM dv0 WHERE day < '2015-09-01';
-- What the first forget must remove, counted another way: the readings
-- that count (energy_data) plus the superseded copies, decoded.
CREATE TEMP TABLE expect AS
SELECT (SELECT count(*) FROM energy_data WHERE day < '2015-09-01')
     + (SELECT count(*) FROM energy_reading r, energy_block_readings(r.block, r.day) u
         WHERE r.day < '2015-09-01' AND u.superseded)
     + (SELECT count(*) FROM energy_register WHERE at < '2015-09-01' AND superseded) AS n,
       (SELECT count(*) FROM energy_reading r, energy_block_readings(r.block, r.day) u
         WHERE r.day < '2015-09-01' AND u.superseded) AS superseded;
-- 372 LP readings of 31/08 (two of them twice), 6 NEM12 300 records of
-- 48 half-hours, and 4 days of the SCENARIO5 meter.
SELECT superseded, n FROM expect;

-- The meter-days it removes: few enough (at most 64) to lock one by one.
SELECT count(*) AS meter_days FROM (SELECT meter_id, day FROM energy_reading WHERE day < '2015-09-01'
                                    UNION SELECT meter_id, at::date FROM energy_register WHERE at < '2015-09-01') k \gset
BEGIN;
SELECT energy_forget('2015-09-01') = n AS returns_what_went FROM expect;
-- The writers' locks (lock.c): each meter-day ("ED", 17732) in
-- ExclusiveLock, under its buckets ("EB", 17730) in RowExclusiveLock; and
-- ExclusiveLock on energy_horizon, which every writer's call waits for.
SELECT objsubid, mode, count(*) = :meter_days AS one_per_meter_day, count(*) <= 32 AS buckets
  FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'advisory' AND objsubid IN (17730, 17732)
 GROUP BY 1, 2 ORDER BY 1, 2;
SELECT mode FROM pg_locks WHERE pid = pg_backend_pid() AND relation = 'energy_horizon'::regclass ORDER BY 1;
COMMIT;
SELECT before, forgotten_by = current_user AS by_me, forgotten_at <= now() AS at_commit FROM energy_horizon;
SELECT count(*) AS data_before FROM energy_data WHERE day < '2015-09-01';
SELECT count(*) AS chunks_before FROM energy_reading WHERE day < '2015-09-01';
SELECT count(*) AS data_kept FROM energy_data WHERE day >= '2015-09-01';
-- The partials, both views, energy_get and energy_get_channels: as before,
-- row by row (each side's rows missing from the other).
SELECT energy_populate_view();
SELECT 'dv' AS what, count(*) FROM (SELECT * FROM dv0 EXCEPT ALL SELECT * FROM energy_data_view) x
UNION ALL SELECT 'dv+', count(*) FROM (SELECT * FROM energy_data_view EXCEPT ALL SELECT * FROM dv0) x
UNION ALL SELECT 'cv', count(*) FROM (SELECT * FROM cv0 EXCEPT ALL SELECT * FROM energy_channel_view) x
UNION ALL SELECT 'cv+', count(*) FROM (SELECT * FROM energy_channel_view EXCEPT ALL SELECT * FROM cv0) x;
CREATE TEMP TABLE get1 AS
SELECT g.* FROM (SELECT DISTINCT meter_code, serial_number FROM dv0) m,
       energy_get(m.meter_code, m.serial_number, '2000-01-01', '2016-01-01') g;
CREATE TEMP TABLE ch1 AS
SELECT c.* FROM (SELECT DISTINCT meter_code, serial_number, day FROM dv0) v,
       energy_get_channels(v.meter_code, v.serial_number, v.day) c;
SELECT (SELECT count(*) FROM get0) AS get_rows,
       (SELECT count(*) FROM (SELECT * FROM get0 EXCEPT ALL SELECT * FROM get1) x) AS get_lost,
       (SELECT count(*) FROM (SELECT * FROM get1 EXCEPT ALL SELECT * FROM get0) x) AS get_new,
       (SELECT count(*) FROM (SELECT * FROM ch0 EXCEPT ALL SELECT * FROM ch1) x) AS channels_lost,
       (SELECT count(*) FROM (SELECT * FROM ch1 EXCEPT ALL SELECT * FROM ch0) x) AS channels_new;
SELECT * FROM energy_verify();

-- Again, or earlier: nothing (the horizon stays).
SELECT energy_forget('2015-09-01') AS same_day, energy_forget('2010-01-01') AS earlier;
SELECT before FROM energy_horizon;

-- A file with a reading of a forgotten day: that row is refused.
SELECT * FROM energy_load_data('late.csv', convert_to(
    E'MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Data Value,Units,Status\n'
    || E'900,900,P9,31/08/2015 23:45:00,Import Wh Total,1.5,kwh,\n'
    || E'900,900,P9,01/09/2015 00:15:00,Import Wh Total,2.5,kwh,\n', 'UTF8')); -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT rows_loaded, rows_rejected, action FROM energy_load_data('late.csv', convert_to(
    E'MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Data Value,Units,Status\n'
    || E'900,900,P9,31/08/2015 23:45:00,Import Wh Total,1.5,kwh,\n'
    || E'900,900,P9,01/09/2015 00:15:00,Import Wh Total,2.5,kwh,\n', 'UTF8'), on_error => 'skip');
SELECT line, sqlstate, message FROM energy_rejects WHERE file_name = 'late.csv';
SELECT date_time, energy FROM energy_data WHERE meter_code = '900';
-- A NEM12 file of forgotten days: every reading refused, none stored.
-- (The same bytes under a new name, since the loaded file is unchanged.)
SELECT rows_loaded, rows_rejected, action FROM energy_load_data('SCENARIO5-again.csv',
    pg_read_binary_file(:'data' || '/nem/NEM12#SCENARIO5#UNITEDDP#NEMMCO.csv'), on_error => 'skip');
SELECT sqlstate, count(*), min(message) FROM energy_rejects WHERE file_name = 'SCENARIO5-again.csv' GROUP BY 1;
SELECT count(*) AS partials FROM energy_daily d JOIN energy_file f USING (file_id) WHERE f.file_name = 'SCENARIO5-again.csv';
SELECT * FROM energy_verify();

-- A later day forgets more: 01/09/2015's LP readings of 210095893 and the
-- 8 TOU reads of 214667141, and the late file's 01/09 reading.
UPDATE expect SET n = (SELECT count(*) FROM energy_data WHERE day < '2015-09-02')
     + (SELECT count(*) FROM energy_reading r, energy_block_readings(r.block, r.day) u
         WHERE r.day < '2015-09-02' AND u.superseded)
     + (SELECT count(*) FROM energy_register WHERE at < '2015-09-02' AND superseded);
SELECT n, (SELECT count(*) FROM energy_register WHERE at < '2015-09-02') AS register_reads FROM expect;
SELECT energy_forget('2015-09-02') = n AS returns_what_went FROM expect;
SELECT count(*) AS data_before FROM energy_data WHERE day < '2015-09-02';
SELECT * FROM energy_verify();

-- Unload after forget.  The re-delivery's partials of 31/08 go; the two
-- copies of the original that it superseded are not restored (their
-- readings are gone): 210095893's 31/08 ends with the original's partial
-- alone, two readings fewer than before.
SELECT energy_unload('redelivery.csv');
SELECT energy_populate_view();
SELECT g.readings AS now, g0.readings AS was
  FROM energy_get('210095893', '210095893', date '2015-08-31') g, get0 g0
 WHERE g0.meter_code = '210095893' AND g0.day = '2015-08-31';
SELECT * FROM energy_verify();
-- The original goes too: no partial of its meter is left, and the view
-- follows at the next populate.
SELECT energy_unload('LP_210095893_20150901T011608049.csv');
SELECT count(*) AS partials FROM energy_daily d JOIN energy_meter m USING (meter_id) WHERE m.meter_code = '210095893';
SELECT energy_populate_view();
SELECT count(*) AS view_rows FROM energy_data_view WHERE meter_code = '210095893';
SELECT * FROM energy_verify();

-- More than 64 meter-days (70 meters on 05/09/2015): the bucket locks
-- alone, every one of the 32 in ExclusiveLock, no meter-day lock.
SELECT rows_loaded FROM energy_load_data('fleet.csv', (SELECT convert_to(
    E'MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Data Value,Units,Status\n'
    || string_agg(format('F%s,F%s,P1,05/09/2015 00:15:00,Import Wh Total,1,kwh,', i, i), E'\n') || E'\n', 'UTF8')
  FROM generate_series(1, 70) i));
BEGIN;
SELECT energy_forget('2015-09-06') AS removed;
SELECT objsubid, mode, count(*) FROM pg_locks
 WHERE pid = pg_backend_pid() AND locktype = 'advisory' AND objsubid IN (17730, 17732)
 GROUP BY 1, 2 ORDER BY 1, 2;
COMMIT;
-- Populated after the forget, the views still count the 70 readings from
-- their partials; energy_data has none of them.
SELECT energy_populate_view() > 0 AS populated;
SELECT count(*) AS fleet_days, sum(readings) AS fleet_readings FROM energy_data_view WHERE meter_code LIKE 'F%';
SELECT count(*) AS fleet_data FROM energy_data WHERE meter_code LIKE 'F%';
SELECT * FROM energy_verify();

-- Who may call it: not PUBLIC; it runs with the caller's rights, so
-- EXECUTE alone is not enough.
SELECT prosecdef, proconfig FROM pg_proc WHERE oid = 'energy_forget(date)'::regprocedure;
CREATE ROLE regress_energy_forgetter;
SET ROLE regress_energy_forgetter;
SELECT energy_forget('2016-01-01'); -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT before FROM energy_horizon;
RESET ROLE;
GRANT EXECUTE ON FUNCTION energy_forget(date) TO regress_energy_forgetter;
SET ROLE regress_energy_forgetter;
SELECT energy_forget('2016-01-01'); -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
RESET ROLE;
SELECT energy_forget('infinity'); -- ERROR
SELECT energy_forget(NULL) IS NULL AS strict;
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT energy_forget('2016-01-01'); -- ERROR
ROLLBACK;
SELECT before FROM energy_horizon;
REVOKE ALL ON FUNCTION energy_forget(date) FROM regress_energy_forgetter;
DROP ROLE regress_energy_forgetter;

-- The figures read the stored readings: a range that reaches back past the
-- horizon (2015-09-06) says so, and one from the horizon on says nothing.
-- 210095893's readings of 2015-09-01 are gone, so those figures have no
-- rows, and the NOTICE says why.
INSERT INTO energy_tariff VALUES ('regress_flat', 'Australia/Brisbane', NULL);
SELECT * FROM energy_tou('210095893', '210095893', '2015-09-01', '2015-09-01', 'regress_flat');
SELECT * FROM energy_demand('210095893', '210095893', '2015-09-01', '2015-09-01', 'regress_flat');
SELECT * FROM energy_gaps('210095893', '210095893', '2015-09-01', '2015-09-01');
SELECT count(*) AS tou_rows FROM energy_tou(NULL, NULL, '2015-09-06', '2015-09-30', 'regress_flat');
DELETE FROM energy_tariff;
DROP EXTENSION energy;
