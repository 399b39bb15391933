-- Aggregates on test/data/samples/: energy_data_view and energy_get against SQL
-- computed over the raw rows in energy_data.  Runs in a transaction that
-- rolls back.
-- The test files were copied to a per-run folder named by ENERGY_TEST_DATA
-- (scripts/test-data: erm/, samples/, hostile/, scratch/).
\getenv data ENERGY_TEST_DATA
\ir ../include/pgtap.psql
SET client_min_messages = warning;

SELECT plan(14);

SELECT results_eq(
    format($$SELECT file_name, format, rows_loaded, rows_rejected, action
        FROM energy_load(%L)$$, :'data' || '/samples'),
    $$VALUES ('LP_100000001_20240303T010000.csv', 'LP', 24::bigint, 0::bigint, 'loaded'),
             ('LP_multi_20240301T020000.csv', 'LP', 16, 0, 'loaded'),
             ('TOU_100000001_20240303T000500.csv', 'TOU', 5, 0, 'loaded')$$,
    'test/data/samples/ loads, files in name order');

SELECT is(energy_populate_view(), (SELECT count(*) FROM (SELECT DISTINCT meter_code, serial_number, date_time::date FROM energy_data) d),
          'populate returns one row per meter, serial and day');

-- min, max and count exactly; the average to 1e-12 relative.
SELECT set_eq(
    $$SELECT meter_code, serial_number, day, min_energy, max_energy, readings FROM energy_data_view$$,
    $$SELECT meter_code, serial_number, date_time::date, min(energy), max(energy), count(*)
        FROM energy_data GROUP BY 1, 2, 3$$,
    'view min/max/count equal SQL over energy_data');
SELECT is((SELECT count(*) FROM energy_data_view v
             JOIN (SELECT meter_code, serial_number, date_time::date AS day, avg(energy::numeric) AS a
                     FROM energy_data GROUP BY 1, 2, 3) s USING (meter_code, serial_number, day)
            WHERE abs(v.avg_energy::numeric - s.a) > 1e-12 * greatest(abs(s.a), 1e-300)),
          0::bigint, 'view averages equal avg(energy::numeric) to 1e-12');
SELECT set_eq(
    $$SELECT meter_code, serial_number, day, plant_code FROM energy_data_view$$,
    $$SELECT meter_code, serial_number, date_time::date, min(plant_code) FROM energy_data GROUP BY 1, 2, 3$$,
    'view plant codes');

-- energy_get answers exactly what the view holds, for every row of it.
SELECT set_eq(
    $$SELECT g.* FROM (SELECT DISTINCT meter_code, serial_number, day FROM energy_data_view) k,
              LATERAL energy_get(k.meter_code, k.serial_number, k.day) g$$,
    $$SELECT * FROM energy_data_view$$,
    'energy_get(date) returns the view row for every key');
SELECT set_eq(
    $$SELECT g.* FROM (SELECT DISTINCT meter_code, serial_number, day FROM energy_data_view) k,
              LATERAL energy_get(k.meter_code, k.serial_number, to_char(k.day, 'DD/MM/YYYY')) g$$,
    $$SELECT * FROM energy_data_view$$,
    'energy_get(dd/mm/yyyy) returns the view row for every key');

-- Hand-computed from the files' text (see datafiles/): the TOU file's
-- register read on 01/03/2024 counts with the LP readings of that day.
SELECT results_eq(
    $$SELECT min_energy, max_energy, readings FROM energy_get('100000001', '100000001', '01/03/2024')$$,
    $$VALUES (0.09725::float8, 1490::float8, 13::bigint)$$,
    'meter 100000001 on 01/03/2024');
SELECT ok(abs((SELECT avg_energy FROM energy_get('100000001', '100000001', '01/03/2024'))
              - 115.6935081538461538461538462) < 1e-12,
          'meter 100000001 on 01/03/2024: average');
-- The meter without a plant code, from the CRLF file with quoted fields.
SELECT results_eq(
    $$SELECT plant_code, readings FROM energy_get('100000003', '100000003', '2024-02-29')$$,
    $$VALUES (NULL::text, 8::bigint)$$,
    'empty plant code is NULL');
-- Negative TOU energy with every optional field empty.
SELECT results_eq(
    $$SELECT energy, maximum_demand, time_of_max_demand, status, dls_active, billing_reset_count
        FROM energy_data WHERE meter_code = '100000004'$$,
    $$VALUES (-0.5::float8, NULL::float8, NULL::timestamp, NULL::text, NULL::boolean, NULL::bigint)$$,
    'TOU optional fields empty, OLE zero date NULL');
-- Units without case: kwh and kWh are one channel.
SELECT is((SELECT count(*) FROM energy_channel WHERE lower(units) = 'kwh' AND data_type = 'Export Wh Total'),
          1::bigint, 'kwh and kWh are one channel');

-- Reloading the folder writes nothing.
SELECT results_eq(
    format($$SELECT action FROM energy_load(%L)$$, :'data' || '/samples'),
    $$VALUES ('unchanged'), ('unchanged'), ('unchanged')$$,
    'reload is unchanged');
SELECT is((SELECT count(*) FROM energy_data), 45::bigint, 'still 45 rows');

SELECT * FROM finish();
ROLLBACK;
