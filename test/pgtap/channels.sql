-- energy_channel_view against SQL computed here over the raw readings in
-- energy_data, on every real export (datafiles/), the hand-written samples
-- and the 21-channel meter (test/data/channels): readings, min, max, exact
-- sum, interval, expected readings and flagged, per meter, serial, day,
-- data type and canonical unit.  The unit table is written out below, not
-- read from energy_unit.  Runs in a transaction that rolls back.
\getenv data ENERGY_TEST_DATA
\ir ../include/pgtap.psql
SET client_min_messages = warning;

SELECT plan(9);

SELECT lives_ok(format($$SELECT * FROM energy_load(%L)$$, :'data' || '/erm'), 'the real exports load');
SELECT lives_ok(format($$SELECT * FROM energy_load(%L)$$, :'data' || '/samples'), 'the samples load');
SELECT lives_ok(format($$SELECT * FROM energy_load(%L)$$, :'data' || '/channels'), 'the 21-channel meter loads');
SELECT cmp_ok(energy_populate_view(), '>', 0::bigint, 'populate');

-- The canonical units, as the README lists them.
CREATE TEMP TABLE units (unit text, canonical text, factor numeric);
INSERT INTO units VALUES
    ('wh', 'kWh', 0.001), ('kwh', 'kWh', 1), ('mwh', 'kWh', 1000),
    ('varh', 'kvarh', 0.001), ('kvarh', 'kvarh', 1), ('mvarh', 'kvarh', 1000),
    ('vah', 'kVAh', 0.001), ('kvah', 'kVAh', 1), ('mvah', 'kVAh', 1000),
    ('w', 'kW', 0.001), ('kw', 'kW', 1), ('mw', 'kW', 1000),
    ('var', 'kvar', 0.001), ('kvar', 'kvar', 1), ('mvar', 'kvar', 1000),
    ('va', 'kVA', 0.001), ('kva', 'kVA', 1), ('mva', 'kVA', 1000),
    ('v', 'V', 1), ('kv', 'V', 1000), ('a', 'A', 1), ('ka', 'A', 1000);

-- The expected rows, from the raw readings.  A unit not in the table keeps
-- its spelling (each file here spells an unknown unit one way).
CREATE TEMP TABLE expected AS
WITH r AS (
    SELECT d.meter_code, d.serial_number, d.plant_code, d.day, d.data_type,
           coalesce(u.canonical, d.units) AS units, d.format, d.date_time,
           d.energy::numeric * coalesce(u.factor, 1) AS v, d.status
      FROM energy_data d LEFT JOIN units u ON u.unit = lower(d.units)
), gaps AS (
    SELECT meter_code, serial_number, day, data_type, units,
           round(extract(epoch FROM date_time - lag(date_time) OVER w) / 60) AS gap
      FROM r WHERE format = 'LP'
    WINDOW w AS (PARTITION BY meter_code, serial_number, day, data_type, units ORDER BY date_time)
), mode AS (
    SELECT DISTINCT ON (meter_code, serial_number, day, data_type, units)
           meter_code, serial_number, day, data_type, units, gap::int AS interval_minutes
      FROM gaps WHERE gap > 0
     GROUP BY 1, 2, 3, 4, 5, gap
     ORDER BY meter_code, serial_number, day, data_type, units, count(*) DESC, gap
)
SELECT r.meter_code, r.serial_number, min(r.plant_code) AS plant_code, r.day, r.data_type, r.units,
       m.interval_minutes, count(*) AS readings, 1440 / m.interval_minutes AS expected_readings,
       min(r.v) AS min_value, max(r.v) AS max_value, sum(r.v) AS sum_value,
       count(*) FILTER (WHERE r.status <> '') AS flagged
  FROM r LEFT JOIN mode m USING (meter_code, serial_number, day, data_type, units)
 GROUP BY r.meter_code, r.serial_number, r.day, r.data_type, r.units, m.interval_minutes;

SELECT is((SELECT count(*) FROM expected WHERE meter_code = '300000021'), 21::bigint,
          'the 21-channel meter has 21 rows');

SELECT is_empty($$
    SELECT meter_code, serial_number, plant_code, day, data_type, units, interval_minutes,
           readings, expected_readings, min_value::numeric, max_value::numeric, sum_value, flagged
      FROM expected
    EXCEPT ALL
    SELECT meter_code, serial_number, plant_code, day, data_type, units, interval_minutes,
           readings, expected_readings, min_value::numeric, max_value::numeric, sum_value, flagged
      FROM energy_channel_view$$,
    'every expected row is in energy_channel_view (sums exact)');

SELECT is((SELECT count(*) FROM energy_channel_view), (SELECT count(*) FROM expected),
          'and nothing else');

SELECT is_empty($$
    SELECT * FROM energy_channel_view c JOIN expected e USING (meter_code, serial_number, day, data_type, units)
     WHERE abs(c.avg_value - (e.sum_value / e.readings)::float8) > 1e-12 * greatest(1, abs(c.avg_value))$$,
    'avg_value is the exact average to 1e-12');

-- The gap and the flags of the 21-channel meter, by hand: Current Ph A
-- misses two of 96, Current Ph C is flagged on every tenth reading.
SELECT results_eq($$
    SELECT data_type COLLATE "default", units COLLATE "default", interval_minutes,
           readings, expected_readings, flagged
      FROM energy_get_channels('300000021', NULL, '2024-03-06T00:00:00.000+10:00')
     WHERE data_type IN ('Current Ph A', 'Current Ph C', 'Import Wh Total', 'Power Factor')
     ORDER BY data_type$$,
    $$VALUES ('Current Ph A', 'A', 15, 94::bigint, 96::bigint, 0::bigint),
             ('Current Ph C', 'A', 15, 96, 96, 10),
             ('Import Wh Total', 'kWh', 15, 96, 96, 0),
             ('Power Factor', 'PF', 15, 96, 96, 0)$$,
    'energy_get_channels: a gap, flags, Wh in kWh, an unknown unit as written');

SELECT * FROM finish();
ROLLBACK;
