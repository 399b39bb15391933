--
-- energy: energy_get_channels and the unit table.  Values are worked out by
-- hand in the comments.
--
CREATE EXTENSION energy;
\getenv data ENERGY_TEST_DATA
\set lp :data/include/lp.psql
\i :lp

-- Before the first populate: a NOTICE, no rows.
SELECT * FROM energy_get_channels('210095893', '210095893', '2015-09-01'::date);

SELECT file_name, rows_loaded FROM energy_load(:'data' || '/erm');
SELECT energy_populate_view();

-- The seed's meter-day per channel: Wh and varh are shown in kWh and kvarh.
SELECT data_type, units, interval_minutes, readings, expected_readings,
       min_value, max_value, sum_value, avg_value, flagged
  FROM energy_get_channels('210095893', '210095893', '01/09/2015');
-- Every day form gives the same rows: as a date, d/m/yyyy, ISO with the
-- time and zone drivers add (the day as written, never shifted).
SELECT count(*) FROM energy_get_channels('210095893', '210095893', '2015-09-01'::date);
SELECT count(*) FROM energy_get_channels('210095893', '210095893', '1/9/2015');
SELECT count(*) FROM energy_get_channels('210095893', '210095893', '2015-09-01T00:00:00.000+10:00');
SELECT count(*) FROM energy_get_channels('210095893', '210095893', '2015-09-01 +00');
SELECT count(*) FROM energy_get_channels('210095893', '210095893', '2015-09-01 00:00:00-11');
SELECT * FROM energy_get_channels('210095893', '210095893', '2015/09/01'); -- ERROR
SELECT * FROM energy_get_channels('210095893', '210095893', 'infinity'::date); -- ERROR
-- NULL serial: every serial of the meter; NULL meter or day: no rows.
SELECT * FROM energy_load_data('second_serial.csv', pg_temp.lp(ARRAY[
    '210095893,999,ED031000001,01/09/2015 00:15:00,Import Wh Total,1500,Wh,']));
SELECT energy_populate_view();
SELECT serial_number, data_type, units, readings, sum_value
  FROM energy_get_channels('210095893', NULL, '2015-09-01') WHERE data_type = 'Import Wh Total';
SELECT count(*) FROM energy_get_channels(NULL, NULL, '2015-09-01');
SELECT count(*) FROM energy_get_channels('210095893', NULL, NULL::date);
SELECT count(*) FROM energy_get_channels('no such meter', NULL, '2015-09-01');
-- A load after the populate: the answer is the view's, with a NOTICE.
SELECT * FROM energy_load_data('late.csv', pg_temp.lp(ARRAY[
    '210095893,999,ED031000001,01/09/2015 00:30:00,Import Wh Total,500,Wh,']));
SELECT readings FROM energy_get_channels('210095893', '999', '2015-09-01');
SELECT energy_populate_view();
SELECT readings, sum_value FROM energy_get_channels('210095893', '999', '2015-09-01');

-- The unit table: a user's own unit, then the views follow in full.
INSERT INTO energy_unit VALUES ('GWh', 'kWh', 0); -- ERROR
INSERT INTO energy_unit VALUES ('WH', 'kWh', 0.001); -- ERROR
SELECT * FROM energy_load_data('giga.csv', pg_temp.lp(ARRAY[
    '7,7,P7,03/01/2024 00:15:00,Import Wh Total,0.5,GWh,',
    '7,7,P7,03/01/2024 00:30:00,Import Wh Total,1.25,gwh,',
    '7,7,P7,03/01/2024 00:15:00,Temperature,21.5,degC,',
    '7,7,P7,03/01/2024 00:15:00,Humidity,40,DEGC,']));
SELECT energy_populate_view();
-- Not known yet: GWh keeps its first spelling, factor 1.
SELECT data_type, units, sum_value FROM energy_get_channels('7', '7', '2024-01-03');
INSERT INTO energy_unit VALUES ('GWh', 'kWh', 1000000);
-- The state recorded another unit table: the next populate refreshes in full.
SELECT units IS DISTINCT FROM energy_unit_digest() AS units_changed FROM energy_view_state;
SELECT energy_populate_view();
-- 0.5 + 1.25 GWh = 1,750,000 kWh.
SELECT data_type, units, min_value, max_value, sum_value FROM energy_get_channels('7', '7', '2024-01-03');
DELETE FROM energy_unit WHERE unit = 'GWh';
SELECT energy_populate_view();
SELECT data_type, units, sum_value FROM energy_get_channels('7', '7', '2024-01-03') WHERE data_type = 'Import Wh Total';

-- Each lookup checks SELECT on what it reads, and no more: without the
-- channel view, energy_get still answers and energy_get_channels is 42501.
CREATE ROLE regress_energy_reader;
REVOKE SELECT ON energy_channel_view FROM PUBLIC;
SET ROLE regress_energy_reader;
SELECT readings FROM energy_get('7', '7', '2024-01-03');
SELECT count(*) FROM energy_get_channels('7', '7', '2024-01-03'); -- ERROR
RESET ROLE;
GRANT SELECT ON energy_channel_view TO PUBLIC;
SET ROLE regress_energy_reader;
SELECT count(*) FROM energy_get_channels('7', '7', '2024-01-03');
RESET ROLE;
DROP ROLE regress_energy_reader;

DROP EXTENSION energy;
