--
-- energy: billing figures in local time.  energy_tou() (energy per
-- time-of-use period) and energy_demand() (maximum demand per period) over
-- NEM12 files in NEM time (UTC+10 all year) and an LP export in another
-- zone, with a Sydney tariff across both changes of summer time in 2026.
--
-- The tariff (zone Australia/Sydney, calendar nsw: Good Friday 3 April,
-- Easter Monday 6 April, Labour Day 5 October):
--   peak      priority 1, Monday-Friday (1-5), 14:00-20:00
--   shoulder  priority 2, Monday-Friday,       07:00-22:00 (peak wins 14-20)
--   offpeak   priority 3, every day (NULL),    22:00-07:00 (wraps midnight)
--   holiday   priority 4, holidays (0),        07:00-22:00
-- Saturdays and Sundays 07:00-22:00 match no window: period NULL.
--
-- Sydney is UTC+11 (AEDT) until 03:00 on Sunday 5 April 2026, when clocks
-- go back to 02:00 (UTC+10, AEST): that local day has 25 hours.  On Sunday
-- 4 October 2026 they go from 02:00 to 03:00: 23 hours.  A NEM12 interval
-- (t - L, t] starts at NEM time s, which is Sydney s + 1 h in summer time
-- and s otherwise.
--
-- Worked by hand, 30-minute data (48 intervals a NEM day), range
-- 4-6 April (Sydney dates of the intervals' starts):
--   Sat 4 Apr (AEDT, 24 h, 48 intervals, NEM 3 Apr 23:00 .. 4 Apr 22:30):
--     offpeak 00-07 (14) + 22-24 (4) = 18; NULL 07-22 = 30
--   Sun 5 Apr (25 h, 50 intervals, NEM 4 Apr 23:00 .. 5 Apr 23:30):
--     offpeak 00-07 is 8 hours (02:00-03:00 twice) = 16, + 22-24 (4) = 20;
--     NULL 07-22 = 30
--   Mon 6 Apr, Easter Monday (day 0, AEST = NEM, 48):
--     offpeak 18; holiday 07-22 = 30 (not shoulder or peak: a holiday is
--     day 0, not Monday)
--   totals: offpeak 56, holiday 30, NULL 60; 146 readings.
-- Range 3-6 October:
--   Sat 3 Oct (AEST, 48): offpeak 18, NULL 30
--   Sun 4 Oct (23 h, 46 intervals: NEM 4 Oct 00:00 .. 22:30):
--     offpeak 00-07 is 6 hours = 12, + 22-24 (4) = 16; NULL 30
--   Mon 5 Oct, Labour Day (day 0, AEDT, 48): offpeak 18, holiday 30
--   Tue 6 Oct (AEDT, 48): offpeak 18; shoulder 07-14 (14) + 20-22 (4) = 18;
--     peak 14-20 (12), which is NEM 13:00-19:00: the hour's shift
--   totals: offpeak 70, holiday 30, peak 12, shoulder 18, NULL 60; 190.
-- 15- and 5-minute data: the same hours, so 2 and 6 times each count.
--
CREATE EXTENSION energy VERSION '1.2';

-- A NEM12 file of one NMI (suffix E1, serial M<nmi>, kWh) at L-minute
-- intervals, a 300 record per IntervalDate from first to last, every value
-- val but the spikes ('yyyy-mm-dd/i/value': the i-th interval of that day).
CREATE FUNCTION pg_temp.nem12(nmi text, len int, first date, last date, val numeric,
                              spikes text[] DEFAULT '{}') RETURNS bytea
LANGUAGE sql AS $$
    SELECT convert_to(E'100,NEM12,202604010000,MDPX,RETAILER\n'
        || '200,' || nmi || ',E1,E1,E1,N1,M' || nmi || ',kWh,' || len || E',20270101\n'
        || string_agg('300,' || to_char(d, 'YYYYMMDD') || ','
                      || (SELECT string_agg(coalesce((SELECT split_part(s, '/', 3) FROM unnest(spikes) s
                                                       WHERE split_part(s, '/', 1)::date = d::date
                                                         AND split_part(s, '/', 2)::int = i), val::text),
                                            ',' ORDER BY i)
                            FROM generate_series(1, 1440 / len) i)
                      || E',A,,,20261010000000,20261010000000\n', '' ORDER BY d)
        || E'900\n', 'UTF8')
      FROM generate_series(first::timestamp, last::timestamp, '1 day') d
$$;
\getenv data ENERGY_TEST_DATA
\set lp_include :data/include/lp.psql
\i :lp_include

-------------------------------------------------------------------------------
-- Each file's zone
-------------------------------------------------------------------------------

-- A 1.2 database loads as 1.2 did; the update gives its files the zone
-- their times were in (NEM time for NEM12, the default Australia/Brisbane
-- for the exports) and changes nothing else energy_data shows.
SELECT file_name, format FROM energy_load_data('old.nem', pg_temp.nem12('OLD1', 30, '2026-04-04', '2026-04-05', 0.125));
SELECT file_name, format FROM energy_load_data('old.csv', pg_temp.lp(ARRAY['OLD2,OLD2,P1,06/10/2026 11:00:00,Import,5,kWh,A']));
CREATE TEMP TABLE before_data AS SELECT * FROM energy_data;
ALTER EXTENSION energy UPDATE TO '1.3';
SELECT file_name, format, time_zone FROM energy_file ORDER BY file_id;
SELECT (SELECT count(*) FROM before_data) AS readings,
       (SELECT count(*) FROM ((TABLE before_data EXCEPT ALL
                               SELECT meter_code, serial_number, plant_code, date_time, data_type, energy, units, status,
                                      maximum_demand, time_of_max_demand, period, dls_active, billing_reset_count,
                                      billing_reset_date_time, rate, format, file_id, day FROM energy_data)
                              UNION ALL
                              (SELECT meter_code, serial_number, plant_code, date_time, data_type, energy, units, status,
                                      maximum_demand, time_of_max_demand, period, dls_active, billing_reset_count,
                                      billing_reset_date_time, rate, format, file_id, day FROM energy_data
                               EXCEPT ALL TABLE before_data)) d) AS changed;
SELECT attname FROM pg_attribute WHERE attrelid = 'energy_data'::regclass AND attnum > 0 ORDER BY attnum DESC LIMIT 2;
SELECT count(*) FROM (SELECT energy_unload(file_name) FROM energy_file) u;
\set VERBOSITY terse

-- NEM12 files are in NEM time whatever the setting says; LP exports in the
-- setting at load time.  A zone written as an offset is refused: PostgreSQL
-- would read '+10' as ten hours WEST of UTC.
SHOW energy.file_time_zone;
\set VERBOSITY default
SET energy.file_time_zone = '+10';                       -- ERROR
\set VERBOSITY terse
SET energy.file_time_zone = 'UTC+10';                    -- ERROR
SET energy.file_time_zone = 'Mars/Olympus_Mons';         -- ERROR
SET energy.file_time_zone = 'Australia/Perth';
SELECT file_name, format, rows_loaded FROM energy_load_data('NMI30.csv', pg_temp.nem12('NMI30', 30, '2026-04-02', '2026-04-07', 1));
-- Perth (UTC+8, no summer time): readings at 11:00, 11:30 and 12:00 on
-- Tuesday 6 October, in Wh; their intervals start at 10:30, 11:00 and
-- 11:30 Perth = 13:30, 14:00 and 14:30 Sydney (AEDT): shoulder 1 kWh, peak
-- 2 + 4 = 6 kWh.  Read as NEM time they would all be shoulder.
SELECT file_name, format, rows_loaded FROM energy_load_data('perth.csv', pg_temp.lp(ARRAY[
    'PERTH1,PERTH1,P1,06/10/2026 11:00:00,Import,1000,Wh,',
    'PERTH1,PERTH1,P1,06/10/2026 11:30:00,Import,2000,Wh,',
    'PERTH1,PERTH1,P1,06/10/2026 12:00:00,Import,4000,Wh,']));
RESET energy.file_time_zone;
SELECT file_name, format, time_zone FROM energy_file ORDER BY file_id;
SELECT DISTINCT meter_code, format, time_zone FROM energy_data ORDER BY 1;
-- A name with summer time is fine for a file.
SET energy.file_time_zone = 'Australia/Sydney';
SHOW energy.file_time_zone;
RESET energy.file_time_zone;

-------------------------------------------------------------------------------
-- Tariffs are data
-------------------------------------------------------------------------------

INSERT INTO energy_tariff VALUES ('nsw_tou', 'Australia/Sydney', 'nsw');
INSERT INTO energy_holiday VALUES ('nsw', '2026-04-03'), ('nsw', '2026-04-06'), ('nsw', '2026-10-05');
INSERT INTO energy_tariff_window VALUES
    ('nsw_tou', 'peak', 1, '{1,2,3,4,5}', NULL, '14:00', '20:00'),
    ('nsw_tou', 'shoulder', 2, '{1,2,3,4,5}', NULL, '07:00', '22:00'),
    ('nsw_tou', 'offpeak', 3, NULL, NULL, '22:00', '07:00'),
    ('nsw_tou', 'holiday', 4, '{0}', NULL, '07:00', '22:00');
-- Nonsense is refused, each with its reason.
INSERT INTO energy_tariff VALUES ('bad', '+10:00', NULL);                               -- ERROR
INSERT INTO energy_tariff VALUES ('bad', 'Nowhere/Land', NULL);                         -- ERROR
INSERT INTO energy_tariff_window VALUES ('nsw_tou', 'x', 9, '{8}', NULL, '01:00', '02:00');     -- ERROR
INSERT INTO energy_tariff_window VALUES ('nsw_tou', 'x', 9, '{-1}', NULL, '01:00', '02:00');    -- ERROR
INSERT INTO energy_tariff_window VALUES ('nsw_tou', 'x', 9, NULL, '{13}', '01:00', '02:00');    -- ERROR
INSERT INTO energy_tariff_window VALUES ('nsw_tou', 'x', 9, NULL, '{0}', '01:00', '02:00');     -- ERROR
INSERT INTO energy_tariff_window VALUES ('nsw_tou', 'x', 1, NULL, NULL, '01:00', '02:00');      -- ERROR
INSERT INTO energy_tariff_window VALUES ('nsw_tou', 'x', 9, NULL, NULL, '01:00', '01:00');      -- ERROR
INSERT INTO energy_tariff_window VALUES ('nowhere', 'x', 9, NULL, NULL, '01:00', '02:00');      -- ERROR

-------------------------------------------------------------------------------
-- Energy per period across the end of summer time (30-minute NEM12)
-------------------------------------------------------------------------------

-- Every value is 1 kWh, so each sum equals its count: offpeak 56, holiday
-- 30, NULL 60 (see the header).
SELECT * FROM energy_tou('NMI30', NULL, '2026-04-04', '2026-04-06', 'nsw_tou');
-- The text form reads days as energy_get does, whatever DateStyle says.
-- '05/04/2026' is 5 April (Sunday and Monday: offpeak 20 + 18, NULL 30,
-- holiday 30), never 4 May.
SET DateStyle = 'SQL, MDY';
SELECT period, readings FROM energy_tou('NMI30', 'MNMI30', '05/04/2026', '2026-04-06', 'nsw_tou');
RESET DateStyle;
-- One day at a time: 48, 50 and 48 readings (24, 25 and 24 hours).
SELECT d::date AS day, sum(readings) AS readings
  FROM generate_series('2026-04-04'::date, '2026-04-06', '1 day') d,
       LATERAL energy_tou('NMI30', NULL, d::date, d::date, 'nsw_tou') t
 GROUP BY 1 ORDER BY 1;

-- The same hours at 15 and 5 minutes: 2 and 6 times each count.
SELECT file_name, rows_loaded FROM energy_load_data('NMI15.csv', pg_temp.nem12('NMI15', 15, '2026-04-02', '2026-04-07', 0.5));
-- (Twenty meters loaded and unloaded first leave a gap in the meter ids:
-- a billing run then reads a batch of meters whose ids lie far apart by
-- one index descent per meter and day, not by one range per day.)
SELECT count(*) FROM energy_load_data('gap.csv', pg_temp.lp(ARRAY(
    SELECT 'GAP' || i || ',GAP,P1,01/01/2026 00:30:00,Import,1,kWh,' FROM generate_series(1, 20) i)));
SELECT energy_unload('gap.csv');
SELECT file_name, rows_loaded FROM energy_load_data('NMI05.csv', pg_temp.nem12('NMI05', 5, '2026-04-02', '2026-04-07', 0.25));
SELECT a.meter_code, a.period, a.readings, a.readings / b.readings AS times_30_min, a.sum_value
  FROM energy_tou(NULL, NULL, '2026-04-04', '2026-04-06', 'nsw_tou') a
  JOIN energy_tou('NMI30', NULL, '2026-04-04', '2026-04-06', 'nsw_tou') b
    ON a.period IS NOT DISTINCT FROM b.period
 ORDER BY 1, 2;

-------------------------------------------------------------------------------
-- ... and across its start, with a weekday's peak shifted an hour
-------------------------------------------------------------------------------

SELECT file_name, rows_loaded FROM energy_load_data('NMI30_oct.csv', pg_temp.nem12('NMI30', 30, '2026-10-01', '2026-10-08', 1));
SELECT file_name, rows_loaded FROM energy_load_data('NMI15_oct.csv', pg_temp.nem12('NMI15', 15, '2026-10-01', '2026-10-08', 0.5));
SELECT file_name, rows_loaded FROM energy_load_data('NMI05_oct.csv', pg_temp.nem12('NMI05', 5, '2026-10-01', '2026-10-08', 0.25));
-- 30-minute: offpeak 70, holiday 30, peak 12, shoulder 18, NULL 60.
SELECT * FROM energy_tou(NULL, NULL, '2026-10-03', '2026-10-06', 'nsw_tou');
-- Per Sydney day: 48, 46 (23 hours), 48, 48 readings of NMI30.
SELECT d::date AS day, sum(readings) AS readings
  FROM generate_series('2026-10-03'::date, '2026-10-06', '1 day') d,
       LATERAL energy_tou('NMI30', NULL, d::date, d::date, 'nsw_tou') t
 GROUP BY 1 ORDER BY 1;
-- The peak of Tuesday 6 October starts at 14:00 Sydney = 13:00 NEM time:
-- the first peak reading is the one at 13:30 NEM, the last at 19:00.
SELECT min(date_time), max(date_time), count(*)
  FROM energy_data
 WHERE meter_code = 'NMI30' AND date_time > '2026-10-06 13:00' AND date_time <= '2026-10-06 19:00';
SELECT period, readings FROM energy_tou('NMI30', NULL, '2026-10-06', '2026-10-06', 'nsw_tou');

-- The LP export in Perth time: shoulder 1 kWh, peak 6 kWh (Wh made kWh).
SELECT * FROM energy_tou('PERTH1', NULL, '2026-10-06', '2026-10-06', 'nsw_tou');

-------------------------------------------------------------------------------
-- Totals add up
-------------------------------------------------------------------------------

-- With a tariff in NEM time, the local days are the NEM days the channel
-- view sums (the 00:00 reading's interval starts at 23:30 of its day), so
-- the periods of each channel add up to energy_channel_view's sums over the
-- same days; a tariff of two windows leaves the rest NULL.
INSERT INTO energy_tariff VALUES ('nem_two', 'Australia/Brisbane', NULL);
INSERT INTO energy_tariff_window VALUES
    ('nem_two', 'day', 1, NULL, NULL, '07:00', '19:00'),
    ('nem_two', 'late', 2, '{6,7}', '{4,10}', '19:00', '00:00');
SELECT energy_populate_view() > 0 AS populated;
SELECT t.meter_code, t.units, t.readings, t.sum_value, v.readings AS view_readings, v.sum_value AS view_sum
  FROM (SELECT meter_code, units, sum(readings) AS readings, sum(sum_value) AS sum_value
          FROM energy_tou(NULL, NULL, '2026-04-01', '2026-10-31', 'nem_two') GROUP BY 1, 2) t
  FULL JOIN (SELECT meter_code, units, sum(readings) AS readings, sum(sum_value) AS sum_value
               FROM energy_channel_view WHERE day BETWEEN '2026-04-01' AND '2026-10-31' GROUP BY 1, 2) v
    USING (meter_code, units)
 ORDER BY 1;
SELECT meter_code, period, readings FROM energy_tou('NMI30', NULL, '2026-04-03', '2026-04-04', 'nem_two') ORDER BY 1, 2;

-- A channel whose interval changes inside the range (NEM12 allows it):
-- each day at its own interval.  MIX1 is 30-minute on 6 October and
-- 15-minute on 7 October (NEM days), 1 kWh an interval.  Sydney (AEDT):
--   6 Oct: 30-minute intervals starting NEM 00:00 (01:00 Sydney) to 22:30
--     (23:30 Sydney): 46;
--   7 Oct: NEM 23:00 and 23:30 of the 6th (30 minutes, the 6th's), then
--     15-minute ones from NEM 00:00 to 22:45 (92): 94.
SELECT file_name, rows_loaded FROM energy_load_data('MIX1_a.csv', pg_temp.nem12('MIX1', 30, '2026-10-06', '2026-10-06', 1));
SELECT file_name, rows_loaded FROM energy_load_data('MIX1_b.csv', pg_temp.nem12('MIX1', 15, '2026-10-07', '2026-10-07', 1));
SELECT d::date AS day, sum(readings) AS readings
  FROM generate_series('2026-10-06'::date, '2026-10-07', '1 day') d,
       LATERAL energy_tou('MIX1', NULL, d::date, d::date, 'nsw_tou') t
 GROUP BY 1 ORDER BY 1;
-- A 15-minute window splits the 30-minute day's readings: refused, naming it.
SELECT * FROM energy_demand('MIX1', NULL, '2026-10-06', '2026-10-07', 'nsw_tou', 15);  -- ERROR

-- An LP export in Sydney time across the start of summer time (its clock
-- skips 02:00-03:00 on 4 October: 46 readings that day), and a lone
-- reading, whose day has no interval: its start is its own time.  The
-- second computation below checks both.
SET energy.file_time_zone = 'Australia/Sydney';
SELECT file_name, rows_loaded FROM energy_load_data('sydney.csv', pg_temp.lp(ARRAY(
    SELECT 'SYD1,SYD1,P1,' || to_char(t, 'DD/MM/YYYY HH24:MI:SS') || ',Import,' || (extract(hour FROM t) + 1) || ',kWh,'
      FROM generate_series('2026-10-03 00:30'::timestamp, '2026-10-06 00:00', '30 minutes') t
     WHERE NOT (t > '2026-10-04 02:00' AND t <= '2026-10-04 03:00'))));
RESET energy.file_time_zone;
SELECT file_name, rows_loaded FROM energy_load_data('lone.csv', pg_temp.lp(ARRAY['LONE1,LONE1,P1,05/10/2026 14:00:00,Import,7,kWh,']));
SELECT meter_code, period, readings, sum_value FROM energy_tou('LONE1', NULL, '2026-10-05', '2026-10-05', 'nem_two');

-------------------------------------------------------------------------------
-- A second computation: plain SQL over energy_data, row by row
-------------------------------------------------------------------------------

-- Each reading's interval start, in its file's zone, read in the tariff's
-- zone, given the period of the lowest-priority window whose days, months
-- and times match it (tested per reading, no pieces of days).
CREATE FUNCTION pg_temp.tou_by_sql(tariff_name text, first date, last date)
RETURNS TABLE (meter_code text, serial_number text, data_type text, units text, period text,
               readings bigint, sum_value numeric, flagged bigint)
LANGUAGE sql AS $$
    WITH r AS (
        SELECT e.meter_code, e.serial_number, e.data_type, v.units, e.status,
               e.energy::numeric * coalesce(u.factor, 1)::numeric AS value,
               ((e.date_time - make_interval(mins => coalesce(v.interval_minutes, 0))) AT TIME ZONE e.time_zone)
                   AT TIME ZONE t.time_zone AS s, t.calendar
          FROM energy_data e
          JOIN energy_tariff t ON t.tariff = tariff_name
          LEFT JOIN energy_unit u ON lower(u.unit) = lower(e.units)
          JOIN energy_channel_view v
            ON v.meter_code = e.meter_code AND v.serial_number = e.serial_number AND v.day = e.day
           AND v.data_type = e.data_type AND v.units = coalesce(u.canonical, e.units)
         WHERE e.format = 'LP'
    ), p AS (
        SELECT r.*, (SELECT w.period FROM energy_tariff_window w
                      WHERE w.tariff = tariff_name
                        AND (w.days IS NULL OR
                             (CASE WHEN EXISTS (SELECT FROM energy_holiday h
                                                 WHERE h.calendar = r.calendar AND h.day = r.s::date)
                                   THEN 0 ELSE extract(isodow FROM r.s)::int END) = ANY (w.days))
                        AND (w.months IS NULL OR extract(month FROM r.s)::int = ANY (w.months))
                        AND CASE WHEN w.end_time = '00:00' THEN r.s::time >= w.start_time
                                 WHEN w.start_time < w.end_time THEN r.s::time >= w.start_time AND r.s::time < w.end_time
                                 ELSE r.s::time >= w.start_time OR r.s::time < w.end_time END
                      ORDER BY w.priority LIMIT 1) AS period
          FROM r
         WHERE r.s::date BETWEEN first AND last
    )
    SELECT meter_code, serial_number, data_type, units, period, count(*), trim_scale(sum(value)),
           count(*) FILTER (WHERE status <> '' AND status NOT LIKE 'A%')
      FROM p GROUP BY 1, 2, 3, 4, 5
$$;
SELECT energy_populate_view() > 0 AS populated;
CREATE TEMP TABLE ranges (first date, last date);
INSERT INTO ranges VALUES ('2026-04-04', '2026-04-06'), ('2026-04-05', '2026-04-05'), ('2026-10-03', '2026-10-06'),
                          ('2026-10-04', '2026-10-04'), ('2026-04-01', '2026-10-31');
SELECT r.first, r.last, x.tariff,
       (SELECT count(*) FROM energy_tou(NULL, NULL, r.first, r.last, x.tariff)) AS rows,
       (SELECT count(*) FROM (SELECT * FROM energy_tou(NULL, NULL, r.first, r.last, x.tariff)
                              EXCEPT SELECT * FROM pg_temp.tou_by_sql(x.tariff, r.first, r.last)) d) AS only_in_tou,
       (SELECT count(*) FROM (SELECT * FROM pg_temp.tou_by_sql(x.tariff, r.first, r.last)
                              EXCEPT SELECT * FROM energy_tou(NULL, NULL, r.first, r.last, x.tariff)) d) AS only_in_sql
  FROM ranges r, (VALUES ('nsw_tou'), ('nem_two')) x(tariff)
 ORDER BY 1, 2, 3;
-- Every reading of a day lands in exactly one period: the periods' counts
-- add up to the readings whose interval is on that Sydney day (any instant
-- inside a 5-, 15- or 30-minute interval, here its last minute, tells its
-- date), and no period holds a reading twice (the count would be over).
SELECT meter_code, sum(readings) AS readings,
       (SELECT count(*) FROM energy_data e
         WHERE e.meter_code = t.meter_code
           AND ((e.date_time - interval '1 minute') AT TIME ZONE 'Australia/Brisbane' AT TIME ZONE 'Australia/Sydney')::date
               = '2026-04-05') AS readings_of_the_day
  FROM energy_tou(NULL, NULL, '2026-04-05', '2026-04-05', 'nsw_tou') t
 WHERE meter_code LIKE 'NMI%'
 GROUP BY 1 ORDER BY 1;

-------------------------------------------------------------------------------
-- Maximum demand
-------------------------------------------------------------------------------

-- DEM15: 15-minute data of Tuesday 6 October, 1 kWh an interval but
--   13:00-13:15 NEM 5 and 13:15-13:30 NEM 3 (intervals 53, 54): the window
--     13:00-13:30 holds 8 kWh = 16 kW, in peak (14:00 Sydney);
--   15:00-15:30 NEM 4 + 4 (intervals 61, 62): 8 kWh too, later, so 13:30
--     wins the tie;
--   16:15-16:45 NEM 4.5 + 4.5 (66, 67): across two aligned windows, each
--     5.5 kWh.
-- Range 6 October (Sydney): NEM 00:00 = 01:00 AEDT is the first reading's
-- start; NEM 23:00-24:00 is 7 October in Sydney.  Readings: offpeak
-- 01:00-07:00 (24) + 22:00-24:00 (8) = 32; shoulder 07-14 (28) + 20-22 (8)
-- = 36; peak 14-20 = 24.
--   30 minutes: offpeak 4 kW at NEM 00:30; peak 16 kW at 13:30; shoulder
--     4 kW at 06:30 (07:00 Sydney starts it).
--   15 minutes: offpeak 4 kW at 00:15, peak 20 kW at 13:15, shoulder 4 kW
--     at 06:15.
SELECT file_name, rows_loaded FROM energy_load_data('DEM15.csv', pg_temp.nem12('DEM15', 15, '2026-10-06', '2026-10-06', 1,
    '{2026-10-06/53/5,2026-10-06/54/3,2026-10-06/61/4,2026-10-06/62/4,2026-10-06/66/4.5,2026-10-06/67/4.5}'));
SET TimeZone = 'Australia/Brisbane';
SELECT * FROM energy_demand('DEM15', NULL, '2026-10-06', '2026-10-06', 'nsw_tou');
SELECT * FROM energy_demand('DEM15', NULL, '06/10/2026', '06/10/2026', 'nsw_tou', 15);
-- The readings of the periods are energy_tou's.
SELECT period, readings FROM energy_tou('DEM15', NULL, '2026-10-06', '2026-10-06', 'nsw_tou');
-- A window that is not whole intervals of a channel, shorter than one, or
-- that does not divide a day.
SELECT * FROM energy_demand('DEM15', NULL, '2026-10-06', '2026-10-06', 'nsw_tou', 20);   -- ERROR
SELECT * FROM energy_demand('DEM15', NULL, '2026-10-06', '2026-10-06', 'nsw_tou', 5);    -- ERROR
SELECT * FROM energy_demand('DEM15', NULL, '2026-10-06', '2026-10-06', 'nsw_tou', 7);    -- ERROR
SELECT * FROM energy_demand('DEM15', NULL, '2026-10-06', '2026-10-06', 'nsw_tou', 0);    -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT * FROM energy_demand('DEM15', NULL, '2026-10-06', '2026-10-06', 'nsw_tou', NULL); -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;

-- The same by plain SQL over energy_data: windows from midnight in the
-- file's zone, placed by their start in the tariff's zone.
CREATE FUNCTION pg_temp.demand_by_sql(tariff_name text, first date, last date, w int)
RETURNS TABLE (meter_code text, serial_number text, data_type text, units text, period text,
               max_demand float8, at timestamptz, readings bigint)
LANGUAGE sql AS $$
    WITH r AS (
        SELECT e.meter_code, e.serial_number, e.data_type, e.time_zone,
               e.energy::numeric * coalesce(u.factor, 1)::numeric AS value,
               e.date_time - make_interval(mins => coalesce(v.interval_minutes, 0)) AS s
          FROM energy_data e
          LEFT JOIN energy_unit u ON lower(u.unit) = lower(e.units)
          JOIN energy_channel_view v
            ON v.meter_code = e.meter_code AND v.serial_number = e.serial_number AND v.day = e.day
           AND v.data_type = e.data_type AND v.units = coalesce(u.canonical, e.units)
         WHERE e.format = 'LP' AND v.units = 'kWh'
    ), win AS (
        SELECT meter_code, serial_number, data_type,
               (date_trunc('day', s) + (floor(extract(epoch FROM s - date_trunc('day', s)) / 60 / w) * w) * interval '1 minute')
                   AT TIME ZONE time_zone AS start,
               sum(value) AS energy, count(*) AS n
          FROM r GROUP BY 1, 2, 3, 4
    ), placed AS (
        SELECT win.*,
               (SELECT wd.period FROM energy_tariff_window wd JOIN energy_tariff t USING (tariff)
                 WHERE wd.tariff = tariff_name
                   AND (wd.days IS NULL OR
                        (CASE WHEN EXISTS (SELECT FROM energy_holiday h
                                            WHERE h.calendar = t.calendar
                                              AND h.day = (win.start AT TIME ZONE t.time_zone)::date)
                              THEN 0 ELSE extract(isodow FROM win.start AT TIME ZONE t.time_zone)::int END) = ANY (wd.days))
                   AND (wd.months IS NULL OR extract(month FROM win.start AT TIME ZONE t.time_zone)::int = ANY (wd.months))
                   AND CASE WHEN wd.end_time = '00:00' THEN (win.start AT TIME ZONE t.time_zone)::time >= wd.start_time
                            WHEN wd.start_time < wd.end_time
                            THEN (win.start AT TIME ZONE t.time_zone)::time >= wd.start_time
                                 AND (win.start AT TIME ZONE t.time_zone)::time < wd.end_time
                            ELSE (win.start AT TIME ZONE t.time_zone)::time >= wd.start_time
                                 OR (win.start AT TIME ZONE t.time_zone)::time < wd.end_time END
                 ORDER BY wd.priority LIMIT 1) AS period,
               (win.start AT TIME ZONE (SELECT time_zone FROM energy_tariff WHERE tariff = tariff_name))::date AS local_day
          FROM win
    )
    SELECT DISTINCT ON (meter_code, serial_number, data_type, period)
           meter_code, serial_number, data_type, 'kW', period, (energy * 60 / w)::float8,
           start + make_interval(mins => w),
           sum(n) OVER (PARTITION BY meter_code, serial_number, data_type, period)::bigint
      FROM placed
     WHERE local_day BETWEEN first AND last
     ORDER BY meter_code, serial_number, data_type, period, energy DESC, start
$$;
SELECT energy_populate_view() > 0 AS populated;
SELECT r.first, r.last, x.tariff, x.w,
       (SELECT count(*) FROM energy_demand(NULL, NULL, r.first, r.last, x.tariff, x.w)) AS rows,
       (SELECT count(*) FROM (SELECT * FROM energy_demand(NULL, NULL, r.first, r.last, x.tariff, x.w)
                              EXCEPT SELECT * FROM pg_temp.demand_by_sql(x.tariff, r.first, r.last, x.w)) d) AS only_in_demand,
       (SELECT count(*) FROM (SELECT * FROM pg_temp.demand_by_sql(x.tariff, r.first, r.last, x.w)
                              EXCEPT SELECT * FROM energy_demand(NULL, NULL, r.first, r.last, x.tariff, x.w)) d) AS only_in_sql
  FROM ranges r, (VALUES ('nsw_tou', 30), ('nem_two', 30), ('nsw_tou', 60)) x(tariff, w)
 ORDER BY 1, 2, 3, 4;

-------------------------------------------------------------------------------
-- Corrections, unloads, no data, bad input
-------------------------------------------------------------------------------

-- A correction of 6 April (every interval 2 kWh) loaded later changes the
-- figures as it changes energy_data: offpeak 56 + 18 = 74 kWh, holiday
-- 30 -> 60 kWh, the counts unchanged; unloading it brings them back; an
-- unloaded file's readings are gone from them.
SELECT file_name, rows_loaded, rows_replacing FROM energy_load_data('NMI30_fix.csv', pg_temp.nem12('NMI30', 30, '2026-04-06', '2026-04-06', 2));
SELECT * FROM energy_tou('NMI30', NULL, '2026-04-04', '2026-04-06', 'nsw_tou');
SELECT energy_unload('NMI30_fix.csv');
SELECT period, readings, sum_value FROM energy_tou('NMI30', NULL, '2026-04-04', '2026-04-06', 'nsw_tou');
SELECT energy_unload('NMI30.csv');
SELECT period, readings, sum_value FROM energy_tou('NMI30', NULL, '2026-04-04', '2026-04-06', 'nsw_tou');
SELECT count(*) FROM energy_demand('NMI30', NULL, '2026-04-04', '2026-04-06', 'nsw_tou');

-- No data, an unknown meter, an empty range (from_day > to_day: no rows).
SELECT count(*) FROM energy_tou(NULL, NULL, '2025-01-01', '2025-01-31', 'nsw_tou');
SELECT count(*) FROM energy_tou('NO_SUCH_NMI', NULL, '2026-04-01', '2026-10-31', 'nsw_tou');
SELECT count(*) FROM energy_tou('NMI15', NULL, '2026-04-06', '2026-04-04', 'nsw_tou');
SELECT count(*) FROM energy_demand('NMI15', NULL, '2026-04-06', '2026-04-04', 'nsw_tou');
-- An unknown tariff, named; NULL arguments; a day that is not one.
SELECT * FROM energy_tou('NMI15', NULL, '2026-04-04', '2026-04-06', 'no_such_tariff');          -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT * FROM energy_demand('NMI15', NULL, '2026-04-04', '2026-04-06', 'no_such_tariff');       -- ERROR
SELECT * FROM energy_tou('NMI15', NULL, '2026-04-04', '2026-04-06', NULL);                      -- ERROR
SELECT * FROM energy_tou('NMI15', NULL, '31/02/2026', '2026-04-06', 'nsw_tou');                 -- ERROR
SELECT * FROM energy_tou('NMI15', NULL, 'soon', '2026-04-06', 'nsw_tou');                       -- ERROR
-- Register reads (TOU files) are not interval data: a TOU export's meter
-- has no rows.
SELECT count(*) FROM energy_load_data('tou.csv', convert_to(
    E'MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Energy,Maximum Demand,Time of Max Demand,Units,Status,Period,DLS Active,Billing Reset Count,Billing Reset Date/Time,Rate\n'
    || E'TOU1,TOU1,P1,06/10/2026 00:41:02,Import Wh Total,12.5,1.2,30/12/1899 00:00:00,kwh,,Total,False,1,01/09/2026 00:00:00,Unified\n', 'UTF8'));
SELECT count(*) AS register_reads FROM energy_data WHERE meter_code = 'TOU1';
SELECT count(*) FROM energy_tou('TOU1', NULL, '2026-10-01', '2026-10-31', 'nsw_tou');

-- One meter code and serial with two plant codes is two dictionary
-- meters but one meter here, as in energy_channel_view: lone readings at
-- 10:00 (1 kWh, plant PA) and 10:30 (2 kWh, plant PB) Brisbane time, both
-- in nem_two's day (07:00-19:00): one row, 2 readings, 3 kWh.  A tariff
-- with no window puts every reading under period NULL; in UTC both are on
-- 6 October (00:00 and 00:30).
SELECT file_name, rows_loaded FROM energy_load_data('plants.csv', pg_temp.lp(ARRAY[
    'PL1,PL1,PA,06/10/2026 10:00:00,Import,1,kWh,',
    'PL1,PL1,PB,06/10/2026 10:30:00,Import,2,kWh,']));
SELECT count(*) AS dictionary_meters FROM energy_meter WHERE meter_code = 'PL1';
SELECT * FROM energy_tou('PL1', NULL, '2026-10-06', '2026-10-06', 'nem_two');
INSERT INTO energy_tariff VALUES ('bare', 'UTC', NULL);
SELECT * FROM energy_tou('PL1', 'PL1', '2026-10-06', '2026-10-06', 'bare');

-------------------------------------------------------------------------------
-- Who may call, and with what rights
-------------------------------------------------------------------------------

-- Everyone may call both, as energy_get; they run with the caller's rights
-- (not SECURITY DEFINER), so a role that may not read the raw readings gets
-- 42501, and one granted them gets the figures.  The tariff tables are
-- readable by everyone and written only by their owner.
CREATE ROLE regress_billing_reader;
SELECT p.oid::regprocedure, p.prosecdef, has_function_privilege('regress_billing_reader', p.oid, 'EXECUTE') AS may_call
  FROM pg_proc p WHERE p.proname IN ('energy_tou', 'energy_demand') ORDER BY p.oid::regprocedure::text COLLATE "C";
SET ROLE regress_billing_reader;
SELECT count(*) FROM energy_tariff_window;
INSERT INTO energy_tariff VALUES ('mine', 'Australia/Sydney', NULL);                            -- ERROR
SELECT * FROM energy_tou('NMI15', NULL, '2026-04-04', '2026-04-06', 'nsw_tou');                 -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
RESET ROLE;
GRANT SELECT ON energy_reading, energy_segment, energy_channel, energy_daily TO regress_billing_reader;
SET ROLE regress_billing_reader;
SELECT period, readings, sum_value FROM energy_tou('NMI15', NULL, '2026-04-04', '2026-04-06', 'nsw_tou');
RESET ROLE;
REVOKE ALL ON energy_reading, energy_segment, energy_channel, energy_daily FROM regress_billing_reader;
DROP ROLE regress_billing_reader;

-- pg_dump keeps the tariff tables' rows: they are the users' data.
SELECT c.relname, x.cond
  FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS x(oid, cond)
  JOIN pg_class c ON c.oid = x.oid
 WHERE e.extname = 'energy' AND c.relname IN ('energy_tariff', 'energy_tariff_window', 'energy_holiday')
 ORDER BY 1;
-- Every new object is commented.
SELECT o.kind, o.name
  FROM (SELECT 'pg_class' AS cat, c.oid, 'relation' AS kind, c.relname::text AS name
          FROM pg_class c
         WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'v') AND c.relname ~ 'tariff|holiday'
        UNION ALL
        SELECT 'pg_proc', p.oid, 'function', p.oid::regprocedure::text
          FROM pg_proc p
         WHERE p.pronamespace = 'public'::regnamespace
           AND p.proname ~ '^energy_(tou|demand|billing|tariff|time_zone)') o
 ORDER BY 1, 2;
SELECT count(*) AS uncommented
  FROM (SELECT 'pg_class' AS cat, c.oid FROM pg_class c
         WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'v') AND c.relname ~ 'tariff|holiday|energy_data$'
        UNION ALL
        SELECT 'pg_proc', p.oid FROM pg_proc p
         WHERE p.pronamespace = 'public'::regnamespace
           AND p.proname ~ '^energy_(tou|demand|billing|tariff|time_zone)') o
 WHERE obj_description(o.oid, o.cat) IS NULL;

DROP EXTENSION energy;
