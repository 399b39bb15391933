-- What a client can see, in an order that does not depend on the plan:
-- every loaded file, every reading of energy_data, both views, the rejects,
-- and every lookup form.  Ids, timestamps and transaction ids are left
-- out (they legitimately differ between two servers); a file's place in
-- the load order is kept, since the newest copy of a reading wins by it.
\echo '--- energy_file'
SELECT rank() OVER (ORDER BY file_id) AS load_order, file_name, file_size,
       encode(sha256, 'hex') AS sha256, format, rows_loaded, rows_rejected, loaded_by
  FROM energy_file ORDER BY file_name;

\echo '--- energy_data per file'
SELECT f.file_name, d.format, count(*) AS readings, sum(d.energy::numeric) AS sum_energy,
       count(DISTINCT (d.meter_code, d.serial_number)) AS meters, min(d.day) AS first_day, max(d.day) AS last_day
  FROM energy_data d JOIN energy_file f USING (file_id)
 GROUP BY 1, 2 ORDER BY 1, 2;

\echo '--- energy_data, every reading'
SELECT d.meter_code, d.serial_number, d.plant_code, d.date_time, d.data_type, d.energy, d.units,
       d.status, d.maximum_demand, d.time_of_max_demand, d.period, d.dls_active,
       d.billing_reset_count, d.billing_reset_date_time, d.rate, d.format, f.file_name, d.day
  FROM energy_data d JOIN energy_file f USING (file_id)
 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18;

\echo '--- energy_data, one meter-day through its index'
SELECT date_time, data_type, energy, units, status
  FROM energy_data WHERE meter_code = '210095893' AND day = '2015-09-01'
 ORDER BY 1, 2, 3, 4, 5;

\echo '--- energy_data_view'
SELECT * FROM energy_data_view ORDER BY meter_code, serial_number, day;

\echo '--- energy_channel_view'
SELECT * FROM energy_channel_view ORDER BY meter_code, serial_number, day, data_type, units;

\echo '--- energy_view_state'
SELECT view_rows FROM energy_view_state;

\echo '--- energy_rejects'
SELECT file_name, line, raw, sqlstate, message FROM energy_rejects ORDER BY file_name, line, raw;

\echo '--- energy_get, energy_get_json, energy_get_channels for every meter-day of the view'
SELECT g.* FROM (SELECT meter_code, serial_number, day FROM energy_data_view) k
 CROSS JOIN LATERAL energy_get(k.meter_code, k.serial_number, k.day) g
 ORDER BY g.meter_code, g.serial_number, g.day;
SELECT k.meter_code, k.serial_number, k.day, energy_get_json(k.meter_code, k.serial_number, k.day)
  FROM (SELECT meter_code, serial_number, day FROM energy_data_view) k
 ORDER BY 1, 2, 3;
SELECT c.* FROM (SELECT DISTINCT meter_code, day FROM energy_data_view) k
 CROSS JOIN LATERAL energy_get_channels(k.meter_code, NULL, k.day) c
 ORDER BY c.meter_code, c.serial_number, c.day, c.data_type, c.units;

\ir lookups.sql
