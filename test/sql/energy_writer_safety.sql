--
-- energy: writers that nothing the caller controls can steer, and that one
-- reading cannot stop.  Each part is a hole that 1.1 had (issue 17's table,
-- rows 1, 5, 6 and 7); expected values are worked out in the comments.
-- Concurrent writers are the isolation specs' (test/specs/writers_*).
--
CREATE EXTENSION energy;
\getenv data ENERGY_TEST_DATA

\set lp :data/include/lp.psql
\i :lp

-- 1. A planted operator never runs.  A role with CREATE on the extension's
-- schema plants =(boolean[], boolean[]), an exact match that operator
-- resolution prefers over pg_catalog's =(anyarray, anyarray) wherever the
-- schema is on the search_path; it would make its owner superuser when a
-- superuser runs it.  Three loads of the same reading (1, 2, 3) and an
-- unload of the newest make the overlap rewrite compare superseded masks.
CREATE ROLE regress_energy_planter;
GRANT CREATE ON SCHEMA public TO regress_energy_planter;
CREATE TABLE planted_ran (who text);
GRANT INSERT ON planted_ran TO regress_energy_planter;
SET ROLE regress_energy_planter;
CREATE FUNCTION public.planted_eq(boolean[], boolean[]) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.planted_ran VALUES (current_user);
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        EXECUTE 'ALTER ROLE regress_energy_planter SUPERUSER';
    END IF;
    RETURN $1::text = $2::text;
END $$;
CREATE OPERATOR public.= (LEFTARG = boolean[], RIGHTARG = boolean[], FUNCTION = public.planted_eq);
RESET ROLE;
SELECT file_name, rows_loaded, rows_replacing FROM energy_load_data('planted_1.csv', pg_temp.lp(ARRAY[
    '11,11,P,01/09/2015 00:15:00,Import Wh Total,1,kwh,']));
SELECT file_name, rows_loaded, rows_replacing FROM energy_load_data('planted_2.csv', pg_temp.lp(ARRAY[
    '11,11,P,01/09/2015 00:15:00,Import Wh Total,2,kwh,']));
SELECT file_name, rows_loaded, rows_replacing FROM energy_load_data('planted_3.csv', pg_temp.lp(ARRAY[
    '11,11,P,01/09/2015 00:15:00,Import Wh Total,3,kwh,']));
SELECT energy_unload('planted_3.csv');
-- The value of planted_2.csv counts again; the planted function never ran.
SELECT energy FROM energy_data WHERE meter_code = '11';
SELECT count(*) AS planted_calls FROM planted_ran;
SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_energy_planter';
DROP OPERATOR public.= (boolean[], boolean[]);
DROP FUNCTION public.planted_eq(boolean[], boolean[]);

-- 2. A view owner's index function runs as the view's owner, as REFRESH
-- runs it, never as the extension's owner (populate is SECURITY DEFINER).
CREATE ROLE regress_energy_viewowner;
GRANT CREATE ON SCHEMA public TO regress_energy_viewowner;
SELECT energy_populate_view() AS rows;
ALTER MATERIALIZED VIEW energy_data_view OWNER TO regress_energy_viewowner;
-- The owner reads what the defining query reads: populate runs the query
-- as the owner, as REFRESH does (energy_steering tests the refusal).
GRANT SELECT ON energy_daily, energy_meter TO regress_energy_viewowner;
SET ROLE regress_energy_viewowner;
CREATE FUNCTION public.index_probe(text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RAISE NOTICE 'index function runs as the view''s owner: %', current_user = 'regress_energy_viewowner';
    RETURN $1;
END $$;
CREATE INDEX energy_data_view_probe ON energy_data_view (public.index_probe(meter_code));
RESET ROLE;
SELECT file_name, rows_loaded FROM energy_load_data('owner.csv', pg_temp.lp(ARRAY[
    '12,12,P,01/09/2015 00:15:00,Import Wh Total,5,kwh,']));
-- an incremental populate: one new row, one index entry
SELECT energy_populate_view() AS rows;
DROP INDEX energy_data_view_probe;
DROP FUNCTION public.index_probe(text);
ALTER MATERIALIZED VIEW energy_data_view OWNER TO CURRENT_USER;
REVOKE SELECT ON energy_daily, energy_meter FROM regress_energy_viewowner;

-- 3. No single reading can stop populate.  1e306 MWh is 1e309 kWh, beyond
-- float8; 4.9e-324 Wh (the smallest float8) is 4.9e-327 kWh, which
-- underflows to 0.  Both are refused at load, out of range (22003).
SELECT * FROM energy_load_data('huge.csv', pg_temp.lp(ARRAY[
    '13,13,P,01/09/2015 00:15:00,Import Wh Total,1e306,MWh,'])); -- ERROR
SELECT * FROM energy_load_data('tiny.csv', pg_temp.lp(ARRAY[
    '13,13,P,01/09/2015 00:15:00,Import Wh Total,4.9e-324,Wh,'])); -- ERROR
-- The same number in a unit of factor 1 is a value like any other.
SELECT file_name, rows_loaded FROM energy_load_data('huge_kwh.csv', pg_temp.lp(ARRAY[
    '14,14,P,01/09/2015 00:15:00,Import Wh Total,1e306,kWh,']));
-- In skip mode the bad rows are rejects and the good one loads.
SELECT file_name, rows_loaded, rows_rejected FROM energy_load_data('mixed.csv', pg_temp.lp(ARRAY[
    '13,13,P,01/09/2015 00:15:00,Import Wh Total,1e306,MWh,',
    '13,13,P,01/09/2015 00:30:00,Import Wh Total,2,MWh,',
    '13,13,P,01/09/2015 00:45:00,Import Wh Total,4.9e-324,Wh,']), 'skip');
SELECT line, sqlstate FROM energy_rejects WHERE file_name = 'mixed.csv' ORDER BY line;
SELECT energy_populate_view() AS rows;
-- 2 MWh is 2000 kWh.
SELECT readings, sum_value, units FROM energy_get_channels('13', '13', '2015-09-01');
-- A factor stays within 1e-12..1e12, so an accepted value stays finite.
INSERT INTO energy_unit VALUES ('PWh', 'kWh', 1e12);
INSERT INTO energy_unit VALUES ('EWh', 'kWh', 1e15); -- ERROR
INSERT INTO energy_unit VALUES ('pWh', 'kWh', 1e-15); -- ERROR
DELETE FROM energy_unit WHERE unit = 'PWh';
-- A unit energy_unit does not list counts as 1 in the views today, but
-- may be added later with any factor from 1e-12 to 1e12: its values are
-- checked against both ends, so adding the unit afterwards never stops
-- populate (on 1.2 they were checked with 1 alone).  1e297 xWh is 1e309
-- kWh with the factor 1e12 (overflows); 1e-313 xWh is 1e-325 kWh with
-- 1e-12, below the smallest float8 (underflows); 1e296 and 1e-311 fit.
SELECT * FROM energy_load_data('unlisted_big.csv', pg_temp.lp(ARRAY[
    '16,16,P,01/09/2015 00:15:00,Import Wh Total,1e297,xWh,'])); -- ERROR
SELECT * FROM energy_load_data('unlisted_small.csv', pg_temp.lp(ARRAY[
    '16,16,P,01/09/2015 00:15:00,Import Wh Total,1e-313,xWh,'])); -- ERROR
SELECT file_name, rows_loaded FROM energy_load_data('unlisted.csv', pg_temp.lp(ARRAY[
    '16,16,P,01/09/2015 00:15:00,Import Wh Total,1e296,xWh,',
    '16,16,P,01/09/2015 00:30:00,Import Wh Total,1e-311,xWh,']));
-- Listed at either end of the range, the unit's values stay in range:
-- 1e308 and 1e-299 kWh, then 1e284 and 1e-323 (a subnormal float8).
INSERT INTO energy_unit VALUES ('xWh', 'kWh', 1e12);
SELECT energy_populate_view() > 0 AS populated;
SELECT units, readings, min_value, max_value FROM energy_get_channels('16', '16', '2015-09-01');
UPDATE energy_unit SET factor = 1e-12 WHERE unit = 'xWh';
SELECT energy_populate_view() > 0 AS populated;
SELECT units, readings, min_value > 0 AS min_positive, min_value < 1e-322 AS min_subnormal, max_value
  FROM energy_get_channels('16', '16', '2015-09-01');
DELETE FROM energy_unit WHERE unit = 'xWh';
-- A unit and its canonical unit are printable ASCII words (1.3): 'kwh '
-- (a trailing space) or a full-width 'ＫＷＨ' would never be the kWh of a
-- file; units compare without case in ASCII only.
INSERT INTO energy_unit VALUES ('kwh ', 'kWh', 1); -- ERROR
INSERT INTO energy_unit VALUES ('ＫＷＨ', 'kWh', 1); -- ERROR
INSERT INTO energy_unit VALUES ('yWh', ' kWh', 1); -- ERROR
INSERT INTO energy_unit VALUES ('', 'kWh', 1); -- ERROR
SELECT energy_unload('unlisted.csv');

-- 4. The lookups' privilege cache forgets a role's change.  The view is
-- readable through a group; leaving the group takes that away, and
-- energy_get must say 42501 as a SELECT on the view does; so does a
-- superuser made NOSUPERUSER.  (Not ALTER ROLE
-- ... NOINHERIT: from PostgreSQL 16 that changes only later grants.)
REVOKE SELECT ON energy_data_view FROM PUBLIC;
CREATE ROLE regress_energy_readers;
CREATE ROLE regress_energy_reader IN ROLE regress_energy_readers;
GRANT SELECT ON energy_data_view TO regress_energy_readers;
SET ROLE regress_energy_reader;
SELECT readings FROM energy_get('12', '12', '2015-09-01');
RESET ROLE;
REVOKE regress_energy_readers FROM regress_energy_reader;
SET ROLE regress_energy_reader;
SELECT readings FROM energy_data_view WHERE meter_code = '12'; -- ERROR
SELECT readings FROM energy_get('12', '12', '2015-09-01'); -- ERROR
RESET ROLE;
-- ALTER ROLE ... NOSUPERUSER: a superuser's lookup was allowed and
-- remembered; the role's change (pg_authid) must make it forget.
CREATE ROLE regress_energy_super SUPERUSER;
SET ROLE regress_energy_super;
SELECT readings FROM energy_get('12', '12', '2015-09-01');
RESET ROLE;
ALTER ROLE regress_energy_super NOSUPERUSER;
SET ROLE regress_energy_super;
SELECT readings FROM energy_data_view WHERE meter_code = '12'; -- ERROR
SELECT readings FROM energy_get('12', '12', '2015-09-01'); -- ERROR
RESET ROLE;
DROP ROLE regress_energy_super;
GRANT SELECT ON energy_data_view TO PUBLIC;

-- 5. A path longer than the server accepts is a bad parameter (22023).
SELECT * FROM energy_load('/tmp/' || repeat('a', 5000)); -- ERROR

-- 6. rows_replacing: the readings of a file that replaced a copy that
-- counted.  a has 4 readings; b re-delivers 2 of them and adds 1 (2
-- replacing); c delivers b's 3 again (3: two of them had already replaced
-- a's, which count no more, and c replaces b's); a's replace by itself
-- with the same 4 times (all 4 replace: 2 of them its own old version's,
-- 2 c's).
SELECT file_name, rows_loaded, action, rows_replacing FROM energy_load_data('a.csv', pg_temp.lp(ARRAY[
    '15,15,P,01/09/2015 00:15:00,Import Wh Total,1,kwh,',
    '15,15,P,01/09/2015 00:30:00,Import Wh Total,1,kwh,',
    '15,15,P,01/09/2015 00:45:00,Import Wh Total,1,kwh,',
    '15,15,P,01/09/2015 01:00:00,Import Wh Total,1,kwh,']));
SELECT file_name, rows_loaded, action, rows_replacing FROM energy_load_data('b.csv', pg_temp.lp(ARRAY[
    '15,15,P,01/09/2015 00:45:00,Import Wh Total,2,kwh,',
    '15,15,P,01/09/2015 01:00:00,Import Wh Total,2,kwh,',
    '15,15,P,01/09/2015 01:15:00,Import Wh Total,2,kwh,']));
SELECT file_name, rows_loaded, action, rows_replacing FROM energy_load_data('c.csv', pg_temp.lp(ARRAY[
    '15,15,P,01/09/2015 00:45:00,Import Wh Total,3,kwh,',
    '15,15,P,01/09/2015 01:00:00,Import Wh Total,3,kwh,',
    '15,15,P,01/09/2015 01:15:00,Import Wh Total,3,kwh,']));
SELECT file_name, rows_loaded, action, rows_replacing FROM energy_load_data('a.csv', pg_temp.lp(ARRAY[
    '15,15,P,01/09/2015 00:15:00,Import Wh Total,4,kwh,',
    '15,15,P,01/09/2015 00:30:00,Import Wh Total,4,kwh,',
    '15,15,P,01/09/2015 00:45:00,Import Wh Total,4,kwh,',
    '15,15,P,01/09/2015 01:00:00,Import Wh Total,4,kwh,']));
-- The day is 4, 4, 4, 4 (a) and 3 (c): 5 readings, sum 19.
SELECT count(*) AS readings, sum(energy) AS sum FROM energy_data WHERE meter_code = '15';
-- The seed's export, then the same bytes under the next day's name: every
-- reading of the second replaces one of the first.
SELECT file_name, rows_loaded, rows_replacing FROM energy_load(:'data' || '/erm');
SELECT file_name, rows_loaded, rows_replacing
  FROM energy_load_data('LP_210095893_20150902T011608049.csv',
                        pg_read_binary_file(:'data' || '/erm/LP_210095893_20150901T011608049.csv'));

DROP EXTENSION energy;
DROP TABLE planted_ran;
REVOKE CREATE ON SCHEMA public FROM regress_energy_planter, regress_energy_viewowner;
DROP ROLE regress_energy_planter, regress_energy_viewowner, regress_energy_reader, regress_energy_readers;
