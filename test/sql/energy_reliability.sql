--
-- energy: reliability.  Finite readings give finite aggregates, even where
-- their sum passes DBL_MAX; the loader needs INSERT on every column it
-- writes; a table with a trigger that bulk insertion would skip is refused;
-- a partial without readings cannot be written.
--
CREATE EXTENSION energy;

-- Readings near DBL_MAX, both signs, and near the smallest doubles: each
-- meter's day averages to avg(energy::numeric) over its raw readings.
SELECT file_name, rows_loaded, action FROM energy_load_data('huge.csv', convert_to(
    E'MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Data Value,Units,Status\n'
    || E'901,901,P,01/09/2015 00:15:00,Import Wh Total,1e308,kwh,\n'
    || E'901,901,P,01/09/2015 00:30:00,Import Wh Total,1e308,kwh,\n'
    || E'902,902,P,01/09/2015 00:15:00,Import Wh Total,1.7976931348623157e308,kwh,\n'
    || E'902,902,P,01/09/2015 00:30:00,Import Wh Total,1.7976931348623157E+308,kwh,\n'
    || E'902,902,P,01/09/2015 00:45:00,Import Wh Total,1.7976931348623157e308,kwh,\n'
    || E'903,903,P,01/09/2015 00:15:00,Import Wh Total,-1.7976931348623157e308,kwh,\n'
    || E'903,903,P,01/09/2015 00:30:00,Import Wh Total,-1e308,kwh,\n'
    || E'904,904,P,01/09/2015 00:15:00,Import Wh Total,1e308,kwh,\n'
    || E'904,904,P,01/09/2015 00:30:00,Import Wh Total,-1e308,kwh,\n'
    || E'904,904,P,01/09/2015 00:45:00,Import Wh Total,1.5,kwh,\n'
    || E'905,905,P,01/09/2015 00:15:00,Import Wh Total,5e-324,kwh,\n'
    || E'905,905,P,01/09/2015 00:30:00,Import Wh Total,2.2250738585072014e-308,kwh,\n', 'UTF8'));
SELECT energy_populate_view();
SELECT v.meter_code, v.min_energy, v.max_energy, v.avg_energy, v.readings,
       v.avg_energy = 'NaN' OR v.avg_energy IN ('Infinity', '-Infinity') AS not_finite,
       abs(v.avg_energy::numeric - d.avg) <= 1e-12 * abs(d.avg) AS matches_numeric_avg
  FROM energy_data_view v
  JOIN (SELECT meter_code, serial_number, day, avg(energy::numeric) AS avg
          FROM energy_data GROUP BY 1, 2, 3) d USING (meter_code, serial_number, day)
 ORDER BY v.meter_code;
SELECT meter_code, sum_value > 1.7976931348623157e308 AS beyond_dbl_max
  FROM energy_daily JOIN energy_meter USING (meter_id)
 WHERE meter_code IN ('901', '902') ORDER BY 1;

-- Meter codes as long as a row may hold (800 bytes, in code, serial and
-- plant) fill the dictionary cache's 64 kB key blocks after a few dozen
-- meters: 40 of them, each met twice, are cached across blocks all the
-- same, and the second row of each finds its meter.
SELECT file_name, rows_loaded FROM energy_load_data('long_codes.csv', convert_to(
    E'MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Data Value,Units,Status\n'
    || (SELECT string_agg(format('%s,%s,%s,02/09/2015 00:%s:00,Import Wh Total,%s,kwh,',
                                 lpad(m::text, 800, c), lpad(m::text, 800, c), lpad(m::text, 800, c),
                                 t, m), E'\n' ORDER BY t, c, m)
          FROM generate_series(1, 20) m, unnest(ARRAY['7', '8']) c, unnest(ARRAY['15', '30']) t)
    || E'\n', 'UTF8'));
-- 20 meters of each pad, 2 readings each, values 1..20 twice: 420.
SELECT left(meter_code, 1) AS pad, length(meter_code), count(*) AS meters
  FROM energy_meter WHERE length(meter_code) = 800 GROUP BY 1, 2 ORDER BY 1;
SELECT left(meter_code, 1) AS pad, count(*) AS meter_days, min(readings), max(readings),
       sum(readings) AS readings, sum(sum_value) AS sum
  FROM energy_daily JOIN energy_meter USING (meter_id)
 WHERE length(meter_code) = 800 GROUP BY 1 ORDER BY 1;

-- A loading role needs INSERT on every column the loader writes, as an
-- INSERT of the full rows would: INSERT on one column is not enough.
CREATE ROLE regress_energy_colloader;
GRANT EXECUTE ON FUNCTION energy_load_data(text, bytea, text) TO regress_energy_colloader;
GRANT SELECT, INSERT, UPDATE, DELETE ON energy_file, energy_meter, energy_channel,
      energy_segment, energy_register, energy_daily, energy_rejects TO regress_energy_colloader;
GRANT SELECT, UPDATE, DELETE ON energy_reading TO regress_energy_colloader;
GRANT INSERT (meter_id) ON energy_reading TO regress_energy_colloader;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO regress_energy_colloader;
SET ROLE regress_energy_colloader;
\set lp1 'MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Data Value,Units,Status\n910,910,P,02/09/2015 00:15:00,Import Wh Total,2.5,kwh,\n'
SELECT * FROM energy_load_data('colpriv.csv', convert_to(:'lp1', 'UTF8')); -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
RESET ROLE;
-- INSERT granted on every column is the same as on the table.
GRANT INSERT (meter_id, segment_id, day, block, line) ON energy_reading TO regress_energy_colloader;
GRANT INSERT ON energy_change TO regress_energy_colloader;
SET ROLE regress_energy_colloader;
SELECT * FROM energy_load_data('colpriv.csv', convert_to(:'lp1', 'UTF8'));
RESET ROLE;

-- Bulk insertion fires no triggers: a load into a table with an enabled
-- INSERT trigger is refused rather than skipping it.
CREATE TABLE regress_energy_audit (n bigint);
CREATE FUNCTION regress_energy_audit_row() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN INSERT INTO regress_energy_audit VALUES (1); RETURN NULL; END $$;
CREATE TRIGGER audit_reading AFTER INSERT ON energy_reading
    FOR EACH ROW EXECUTE FUNCTION regress_energy_audit_row();
\set lp2 'MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Data Value,Units,Status\n911,911,P,02/09/2015 00:15:00,Import Wh Total,3.5,kwh,\n'
SELECT * FROM energy_load_data('trigger.csv', convert_to(:'lp2', 'UTF8')); -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT count(*) AS files_named_trigger FROM energy_file WHERE file_name = 'trigger.csv';
-- A disabled trigger is not fired by INSERT either: the load goes ahead.
ALTER TABLE energy_reading DISABLE TRIGGER audit_reading;
SELECT * FROM energy_load_data('trigger.csv', convert_to(:'lp2', 'UTF8'));
DROP TRIGGER audit_reading ON energy_reading;
-- A statement trigger on the partials is refused too.
CREATE TRIGGER audit_daily AFTER INSERT ON energy_daily
    FOR EACH STATEMENT EXECUTE FUNCTION regress_energy_audit_row();
SELECT * FROM energy_load_data('trigger2.csv', convert_to(:'lp2', 'UTF8')); -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
-- A trigger that fires only in replica mode is not one INSERT would fire.
ALTER TABLE energy_daily ENABLE REPLICA TRIGGER audit_daily;
SELECT * FROM energy_load_data('trigger2.csv', convert_to(:'lp2', 'UTF8'));
DROP TRIGGER audit_daily ON energy_daily;
SELECT count(*) AS audited FROM regress_energy_audit;
-- A foreign key is checked by a trigger, which bulk insertion would skip.
ALTER TABLE energy_daily ADD CONSTRAINT regress_daily_meter_fk
    FOREIGN KEY (meter_id) REFERENCES energy_meter;
SELECT * FROM energy_load_data('trigger3.csv', convert_to(:'lp2', 'UTF8')); -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
ALTER TABLE energy_daily DROP CONSTRAINT regress_daily_meter_fk;

-- A partial without readings would break every later populate (the view
-- divides by the readings): it is refused.
INSERT INTO energy_daily (meter_id, day, channel_id, file_id, part, readings, sum_value, min_value, max_value)
VALUES (1, '2015-09-03', 1, 1, 1, 0, 0, 0, 0); -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT energy_populate_view() > 0 AS populated;

DROP TABLE regress_energy_audit;
DROP FUNCTION regress_energy_audit_row();
DROP EXTENSION energy;
DROP OWNED BY regress_energy_colloader;
DROP ROLE regress_energy_colloader;
