--
-- energy: AEMO NEM12 and NEM13 files.  Every file of test/data/nem is
-- loaded alone (skip mode: a broken record is a reject, the rest loads) and
-- its per-channel rows are compared with the sums an independent reader
-- wrote in expected/<file>.tsv (test/data/nem/README.md).  Units are made
-- canonical here by a table of this test's own, not energy_unit.
--
CREATE EXTENSION energy;
\getenv data ENERGY_TEST_DATA
\set nem :data/nem

CREATE TEMP TABLE canon (unit text PRIMARY KEY, canonical text, factor numeric);
INSERT INTO canon VALUES ('kwh', 'kWh', 1), ('wh', 'kWh', 0.001), ('mwh', 'kWh', 1000),
    ('kvarh', 'kvarh', 1), ('varh', 'kvarh', 0.001), ('kvah', 'kVAh', 1), ('vah', 'kVAh', 0.001),
    ('kw', 'kW', 1), ('w', 'kW', 0.001), ('kvar', 'kvar', 1), ('kva', 'kVA', 1), ('v', 'V', 1), ('a', 'A', 1);

CREATE TEMP TABLE nem12_expected (
    nmi text, suffix text, uom text, interval_date text, interval_length int, n_intervals int,
    min text, max text, sum text, avg text, n_not_actual int, n_blank int, quality_flags text,
    quality_method_300 text, n_300 int);
CREATE TEMP TABLE nem13_expected (
    nmi text, suffix text, uom text, read_date text, current_read_datetime text,
    previous_read_datetime text, direction text, previous_read text, current_read text,
    quantity text, current_minus_previous text, current_quality_method text, register_id text,
    meter_serial text, line int);

-- Load one file alone and count the differences from its reference: rows
-- of either side without a match, and matched rows whose readings, min,
-- max, exact sum or interval differ.  The reference counts empty values as
-- not actual; they are no readings here, so flagged must lie between
-- n_not_actual - n_blank and n_not_actual.
CREATE FUNCTION pg_temp.check_file(dir text, name text, OUT format text, OUT loaded bigint,
                                   OUT rejected bigint, OUT expected_rows bigint, OUT differences bigint)
LANGUAGE plpgsql AS $$
DECLARE
    f record;
BEGIN
    PERFORM energy_unload(file_name) FROM energy_file;
    SELECT * INTO f FROM energy_load(dir || '/' || name, 'skip');
    format := f.format; loaded := f.rows_loaded; rejected := f.rows_rejected;
    PERFORM energy_populate_view();
    TRUNCATE nem12_expected, nem13_expected;
    IF format = 'NEM13' THEN
        EXECUTE format('COPY nem13_expected FROM %L (FORMAT text, HEADER)', dir || '/expected/' || name || '.tsv');
        SELECT count(*) INTO expected_rows FROM nem13_expected;
        SELECT count(*) INTO differences FROM (
            (SELECT e.nmi, e.suffix, coalesce(c.canonical, e.uom), to_date(e.read_date, 'YYYYMMDD'),
                    count(*), sum(e.quantity::numeric * coalesce(c.factor, 1))
               FROM nem13_expected e LEFT JOIN canon c ON c.unit = lower(e.uom) GROUP BY 1, 2, 3, 4
             EXCEPT ALL
             SELECT meter_code, data_type, units, day, sum(readings), sum(sum_value)
               FROM energy_channel_view GROUP BY 1, 2, 3, 4)
            UNION ALL
            (SELECT meter_code, data_type, units, day, sum(readings), sum(sum_value)
               FROM energy_channel_view GROUP BY 1, 2, 3, 4
             EXCEPT ALL
             SELECT e.nmi, e.suffix, coalesce(c.canonical, e.uom), to_date(e.read_date, 'YYYYMMDD'),
                    count(*), sum(e.quantity::numeric * coalesce(c.factor, 1))
               FROM nem13_expected e LEFT JOIN canon c ON c.unit = lower(e.uom) GROUP BY 1, 2, 3, 4)) d;
    ELSE
        EXECUTE format('COPY nem12_expected FROM %L (FORMAT text, HEADER)', dir || '/expected/' || name || '.tsv');
        SELECT count(*) INTO expected_rows FROM nem12_expected;
        WITH e AS (
            SELECT e.nmi, e.suffix, coalesce(c.canonical, e.uom) AS units, to_date(e.interval_date, 'YYYYMMDD') AS day,
                   min(e.interval_length) AS interval_minutes, sum(e.n_intervals) AS readings,
                   min(nullif(e.min, '')::numeric * coalesce(c.factor, 1)) AS min_value,
                   max(nullif(e.max, '')::numeric * coalesce(c.factor, 1)) AS max_value,
                   coalesce(sum(nullif(e.sum, '')::numeric * coalesce(c.factor, 1)), 0) AS sum_value,
                   sum(e.n_not_actual) AS not_actual, sum(e.n_blank) AS blank
              FROM nem12_expected e LEFT JOIN canon c ON c.unit = lower(e.uom)
             WHERE e.n_intervals > 0
             GROUP BY 1, 2, 3, 4
        ), v AS (
            SELECT meter_code, data_type, units, day, min(interval_minutes) AS interval_minutes,
                   sum(readings) AS readings, min(min_value)::numeric AS min_value,
                   max(max_value)::numeric AS max_value, sum(sum_value) AS sum_value, sum(flagged) AS flagged
              FROM energy_channel_view GROUP BY 1, 2, 3, 4
        )
        SELECT count(*) INTO differences
          FROM e FULL JOIN v ON v.meter_code = e.nmi AND v.data_type = e.suffix AND v.units = e.units AND v.day = e.day
         WHERE e.nmi IS NULL OR v.meter_code IS NULL
            OR v.readings <> e.readings OR v.min_value <> e.min_value OR v.max_value <> e.max_value
            OR v.sum_value <> e.sum_value
            OR (v.readings > 1 AND v.interval_minutes <> e.interval_minutes)
            OR v.flagged NOT BETWEEN e.not_actual - e.blank AND e.not_actual;
    END IF;
END $$;

SELECT name, c.*
  FROM pg_ls_dir(:'nem') AS name,
       LATERAL pg_temp.check_file(:'nem', name) AS c
 WHERE name NOT IN ('README.md', 'expected')
 ORDER BY name COLLATE "C";

-- Stop mode: a broken record ends the call with its SQLSTATE, file and line.
SELECT * FROM energy_load(:'nem' || '/NEM12#InvalidIntervalDataLength#CNRGYMDP#NEMMCO.csv'); -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT * FROM energy_load(:'nem' || '/NEM12#000000000000021#CNRGYMDP#NEMMCO'); -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;

-- The mapping, on one interval file: NMI, serial, suffix and unit; an
-- interval ends at IntervalDate + i x IntervalLength, and the last one
-- (00:00 the next day) still belongs to the IntervalDate; the status is the
-- effective quality.
SELECT count(*) FROM (SELECT energy_unload(file_name) FROM energy_file) u;
SELECT file_name, format, rows_loaded, rows_rejected, action
  FROM energy_load(:'nem' || '/NEM12#DATA_TEST.V01');
SELECT meter_code, serial_number, plant_code, data_type, units, day, min(date_time), max(date_time),
       count(*), string_agg(DISTINCT status, ',')
  FROM energy_data GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 4, 5, 6 LIMIT 4;

-- A folder: every file whose content is a meter file loads, whatever its
-- name; the others (README.md) are rejects in skip mode, and the expected/
-- folder is not a file.
SELECT count(*) FROM (SELECT energy_unload(file_name) FROM energy_file) u;
CREATE TEMP TABLE folder AS SELECT * FROM energy_load(:'nem', 'skip');
SELECT format, action, count(*) FROM folder GROUP BY 1, 2 ORDER BY 1, 2;
SELECT file_name, rows_rejected FROM folder WHERE action = 'rejected' ORDER BY 1;
-- In stop mode a folder's other files (notes.txt, a subfolder) are skipped
-- without a word (nemdir/: two meter files, a text file and a folder).
SELECT count(*) FROM (SELECT energy_unload(file_name) FROM energy_file) u;
SELECT file_name, format, rows_loaded, rows_rejected, action FROM energy_load(:'data' || '/nemdir');

DROP EXTENSION energy;
