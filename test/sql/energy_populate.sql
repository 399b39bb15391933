--
-- energy: populate in proportion to what changed.  After every populate the
-- view holds exactly what its defining query returns, whatever loads,
-- replaces, empty re-deliveries and hand-run REFRESHes came before, and its
-- row count is the one populate returns.  Checked on chosen cases, then on
-- 200 random sequences of operations.
--
CREATE EXTENSION energy;

-- The invariant: the view against its own defining query, both ways, and
-- populate's count against count(*).  Returns the number of differences.
CREATE FUNCTION pg_temp.view_differences(populate_rows bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    def text := rtrim(pg_get_viewdef('energy_data_view'::regclass), E'; \n');
    n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM ((TABLE energy_data_view EXCEPT ALL (%1$s))
                     UNION ALL ((%1$s) EXCEPT ALL TABLE energy_data_view)) d', def) INTO n;
    RETURN n + abs(populate_rows - (SELECT count(*) FROM energy_data_view));
END $$;

-- Independently of the partials: count, min and max of each meter-day as
-- SQL computes them from the raw readings in energy_data.
CREATE FUNCTION pg_temp.raw_differences() RETURNS bigint
LANGUAGE sql AS $$
    SELECT count(*) FROM (
        (SELECT meter_code, serial_number, day, min_energy, max_energy, readings FROM energy_data_view
         EXCEPT ALL
         SELECT meter_code, serial_number, day, min(energy), max(energy), count(*)
           FROM energy_data GROUP BY 1, 2, 3)
        UNION ALL
        (SELECT meter_code, serial_number, day, min(energy), max(energy), count(*)
           FROM energy_data GROUP BY 1, 2, 3
         EXCEPT ALL
         SELECT meter_code, serial_number, day, min_energy, max_energy, readings FROM energy_data_view)) d
$$;

-- An LP file: header, then one line per (meter, day, time, value).
\getenv data ENERGY_TEST_DATA
\set lp :data/include/lp.psql
\i :lp

-- The first populate is a full refresh, and so is the populate after it
-- when nothing changed: both give the defining query's rows.
SELECT * FROM energy_load_data('a.csv', pg_temp.lp(ARRAY[
    '1,1,P1,01/01/2024 00:15:00,Import Wh Total,1.5,kwh,',
    '1,1,P1,01/01/2024 00:30:00,Import Wh Total,2.5,kwh,',
    '1,1,P1,02/01/2024 00:15:00,Import Wh Total,4,kwh,',
    '2,2,P2,01/01/2024 00:15:00,Import Wh Total,8,kwh,']));
SELECT count(*) AS pending_meter_days FROM (SELECT DISTINCT meter_id, day FROM energy_change) c;
SELECT pg_temp.view_differences(energy_populate_view()) AS differences;
SELECT count(*) AS pending FROM energy_change;
SELECT pg_temp.view_differences(energy_populate_view()) AS differences;

-- A new file: only its meter-days are pending, then rewritten.
SELECT * FROM energy_load_data('b.csv', pg_temp.lp(ARRAY[
    '1,1,P1,02/01/2024 00:30:00,Import Wh Total,-3,kwh,',
    '3,3,P3,03/01/2024 00:15:00,Import Wh Total,5,kwh,']));
SELECT m.meter_code, c.day FROM energy_change c JOIN energy_meter m USING (meter_id) ORDER BY 1, 2;
SELECT * FROM energy_get('1', '1', '02/01/2024');
SELECT pg_temp.view_differences(energy_populate_view()) AS differences, pg_temp.raw_differences() AS raw;
SELECT * FROM energy_get('1', '1', '02/01/2024');

-- A replace that drops a meter-day: the old file's days are logged too, and
-- the row of a day nothing covers any more goes from the view.
SELECT * FROM energy_load_data('a.csv', pg_temp.lp(ARRAY[
    '1,1,P1,01/01/2024 00:15:00,Import Wh Total,9,kwh,']));
SELECT m.meter_code, c.day FROM energy_change c JOIN energy_meter m USING (meter_id) ORDER BY 1, 2;
SELECT pg_temp.view_differences(energy_populate_view()) AS differences, pg_temp.raw_differences() AS raw;
SELECT meter_code, day, readings, avg_energy FROM energy_data_view ORDER BY 1, 2;

-- Another plant code for the same meter and serial is one more meter id but
-- the same row of the view: the whole row is recomputed.
SELECT * FROM energy_load_data('c.csv', pg_temp.lp(ARRAY[
    '1,1,P9,01/01/2024 00:45:00,Import Wh Total,1,kwh,']));
SELECT pg_temp.view_differences(energy_populate_view()) AS differences, pg_temp.raw_differences() AS raw;
SELECT * FROM energy_get('1', '1', '01/01/2024');

-- A REFRESH by hand gives the same rows; the change log stays right, and
-- populate counts the view again once.
SELECT * FROM energy_load_data('d.csv', pg_temp.lp(ARRAY[
    '4,4,P4,05/01/2024 00:15:00,Import Wh Total,2,kwh,']));
REFRESH MATERIALIZED VIEW energy_data_view;
SELECT view_rows FROM energy_view_state;
SELECT count(*) AS pending FROM energy_change;
SELECT pg_temp.view_differences(energy_populate_view()) AS differences;
SELECT view_rows = (SELECT count(*) FROM energy_data_view) AS counted FROM energy_view_state;
SELECT * FROM energy_load_data('d.csv', pg_temp.lp(ARRAY[
    '4,4,P4,05/01/2024 00:15:00,Import Wh Total,3,kwh,']));
REFRESH MATERIALIZED VIEW CONCURRENTLY energy_data_view;
SELECT pg_temp.view_differences(energy_populate_view()) AS differences;

-- A view emptied by hand (WITH NO DATA, or a restore) is refreshed in full.
REFRESH MATERIALIZED VIEW energy_data_view WITH NO DATA;
SELECT * FROM energy_get('1', '1', '01/01/2024');
SELECT pg_temp.view_differences(energy_populate_view()) AS differences;

-- The view stays a materialized view with its unique index.
SELECT relkind, relispopulated FROM pg_class WHERE oid = 'energy_data_view'::regclass;
SELECT indexrelid::regclass, indisunique FROM pg_index WHERE indrelid = 'energy_data_view'::regclass;

-- energy_get reads the view's index directly, with the privileges a query
-- would need, checked again after a REVOKE or GRANT.
CREATE ROLE regress_energy_get_reader;
SET ROLE regress_energy_get_reader;
SELECT readings FROM energy_get('1', '1', '01/01/2024');
RESET ROLE;
REVOKE SELECT ON energy_data_view FROM PUBLIC;
SET ROLE regress_energy_get_reader;
SELECT readings FROM energy_get('1', '1', '01/01/2024'); -- ERROR
RESET ROLE;
GRANT SELECT ON energy_data_view TO PUBLIC;
REVOKE SELECT ON energy_change FROM PUBLIC;
SET ROLE regress_energy_get_reader;
SELECT readings FROM energy_get('1', '1', '01/01/2024'); -- ERROR
RESET ROLE;
GRANT SELECT ON energy_change TO PUBLIC;
SET ROLE regress_energy_get_reader;
SELECT readings FROM energy_get('1', '1', '01/01/2024');
RESET ROLE;
DROP ROLE regress_energy_get_reader;

-- Random sequences: 200 of them, each from an empty database, of 12 steps
-- drawn from loads of new or existing names (random meters, days, values;
-- sometimes empty), populates, and hand-run REFRESHes.  The invariant is
-- checked after every populate.
CREATE FUNCTION pg_temp.random_file() RETURNS bytea
LANGUAGE sql AS $$
    SELECT pg_temp.lp(coalesce(array_agg(format('%s,%s,P%s,%s/01/2024 %s:%s:00,%s,%s,kwh,',
                                                 m, m, (m + p) % 2, lpad(d::text, 2, '0'),
                                                 lpad(h::text, 2, '0'), lpad((q * 15)::text, 2, '0'),
                                                 CASE WHEN c = 0 THEN 'Import Wh Total' ELSE 'Export Wh Total' END,
                                                 v)), '{}'))
      FROM (SELECT 1 + floor(random() * 4)::int AS m, floor(random() * 2)::int AS p,
                   1 + floor(random() * 3)::int AS d, floor(random() * 24)::int AS h,
                   floor(random() * 4)::int AS q, floor(random() * 2)::int AS c,
                   round((random() * 20 - 5)::numeric, 3) AS v
              FROM generate_series(1, floor(random() * 6)::int)) r
$$;

CREATE FUNCTION pg_temp.random_sequences(sequences int, steps int)
RETURNS TABLE (operations bigint, populates bigint, failures bigint)
LANGUAGE plpgsql AS $$
DECLARE
    op float8;
    rows bigint;
BEGIN
    operations := 0; populates := 0; failures := 0;
    FOR s IN 1 .. sequences LOOP
        TRUNCATE energy_file, energy_segment, energy_reading, energy_register,
                 energy_daily, energy_change, energy_view_state;
        REFRESH MATERIALIZED VIEW energy_data_view WITH NO DATA;
        FOR i IN 1 .. steps LOOP
            op := random();
            operations := operations + 1;
            IF op < 0.55 THEN
                PERFORM energy_load_data(format('f%s.csv', floor(random() * 4)::int), pg_temp.random_file());
            ELSIF op < 0.9 THEN
                rows := energy_populate_view();
                populates := populates + 1;
                IF pg_temp.view_differences(rows) <> 0 OR pg_temp.raw_differences() <> 0 THEN
                    failures := failures + 1;
                END IF;
            ELSIF op < 0.95 AND (SELECT relispopulated FROM pg_class WHERE oid = 'energy_data_view'::regclass) THEN
                REFRESH MATERIALIZED VIEW CONCURRENTLY energy_data_view;
            ELSE
                REFRESH MATERIALIZED VIEW energy_data_view;
            END IF;
        END LOOP;
        rows := energy_populate_view();
        populates := populates + 1;
        IF pg_temp.view_differences(rows) <> 0 OR pg_temp.raw_differences() <> 0 THEN
            failures := failures + 1;
        END IF;
    END LOOP;
    RETURN NEXT;
END $$;

SELECT setseed(0.2015);
SET client_min_messages = warning;
SELECT * FROM pg_temp.random_sequences(200, 12);
RESET client_min_messages;

DROP EXTENSION energy;
