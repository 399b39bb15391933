--
-- energy: nothing a populate grantee, a view owner or any caller can
-- steer (1.3's security round).  Each case below ran the planted code with
-- the extension owner's rights on 1.2:
--   1. a relation put in place of the extension's own view (by a role that
--      owns the view and may create in its schema) had its defining query
--      run by populate;
--   2. the view's defining query ran as the extension's owner, not the
--      view's (REFRESH runs it as the owner);
--   3. an unqualified cast ('\x'::bytea) in a statement the loader runs
--      met a planted domain when the caller put public first;
--   4. a 1.1 schema's energy_resolve(), which pins no search_path, met a
--      planted =(boolean[], boolean[]) through the caller's search_path.
-- (The Citus stage planted in the caller's temporary schema is tested in
-- test/citus/run, which has a cluster.)
--
\getenv data ENERGY_TEST_DATA
\set lp :data/include/lp.psql
\i :lp

CREATE EXTENSION energy;
CREATE ROLE regress_energy_steer;
GRANT CREATE ON SCHEMA public TO regress_energy_steer;
CREATE ROLE regress_energy_populator;
GRANT EXECUTE ON FUNCTION energy_populate_view() TO regress_energy_populator;
-- What the planted code reports: who it ran as.
CREATE TABLE planted_ran (what text, ran_as text);
GRANT INSERT ON planted_ran TO PUBLIC;
SELECT file_name, rows_loaded FROM energy_load_data('one.csv', pg_temp.lp(ARRAY[
    '1,1,P,01/09/2015 00:15:00,Import Wh Total,5,kwh,']));
SELECT energy_populate_view() AS rows;

-------------------------------------------------------------------------------
-- 1. An impostor under the view's name
-------------------------------------------------------------------------------
ALTER MATERIALIZED VIEW energy_data_view OWNER TO regress_energy_steer;
SET ROLE regress_energy_steer;
CREATE FUNCTION public.steer() RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.planted_ran VALUES ('impostor', current_user);
    RETURN 1;
END $$;
ALTER MATERIALIZED VIEW energy_data_view RENAME TO energy_data_view_away;
CREATE MATERIALIZED VIEW public.energy_data_view AS
SELECT '1'::text AS meter_code, '1'::text AS serial_number, NULL::text AS plant_code,
       date '2015-09-01' AS day, 0::float8 AS min_energy, 0::float8 AS max_energy,
       0::float8 AS avg_energy, public.steer() AS readings;
CREATE UNIQUE INDEX ON public.energy_data_view (meter_code, serial_number, day);
RESET ROLE;
DELETE FROM planted_ran;
SELECT file_name, rows_loaded FROM energy_load_data('two.csv', pg_temp.lp(ARRAY[
    '1,1,P,01/09/2015 00:30:00,Import Wh Total,6,kwh,']));
-- Populate finds the extension's views by membership: the impostor is
-- refused, by a grantee and by the superuser alike, and never run.
SET ROLE regress_energy_populator;
SELECT energy_populate_view(); -- ERROR
RESET ROLE;
SELECT energy_populate_view(); -- ERROR
SELECT * FROM energy_get('1', '1', '01/09/2015'); -- ERROR
SELECT count(*) AS planted_calls FROM planted_ran;
-- The extension's view under its name again: populate goes on.
DROP MATERIALIZED VIEW public.energy_data_view;
ALTER MATERIALIZED VIEW energy_data_view_away RENAME TO energy_data_view;

-------------------------------------------------------------------------------
-- 2. The defining query runs as the view's owner
-------------------------------------------------------------------------------
-- regress_energy_steer owns the view but may not read the partials: the
-- rewrite, run as the owner (as REFRESH runs it), is refused as REFRESH
-- would be.  On 1.2 it ran as the extension's owner and succeeded.
SELECT energy_populate_view(); -- ERROR
REFRESH MATERIALIZED VIEW CONCURRENTLY energy_data_view; -- ERROR
-- Given what the defining query reads, the owner's populate works, and a
-- function on the view (here in an index) runs as the owner.
GRANT SELECT ON energy_daily, energy_meter TO regress_energy_steer;
SET ROLE regress_energy_steer;
CREATE FUNCTION public.steer_index(text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RAISE NOTICE 'index function runs as %', current_user;
    RETURN $1;
END $$;
CREATE INDEX energy_data_view_steer ON energy_data_view (public.steer_index(meter_code));
RESET ROLE;
DELETE FROM planted_ran;
SET ROLE regress_energy_populator;
SELECT energy_populate_view() AS rows;
RESET ROLE;
-- 5 + 6 kWh in two readings
SELECT readings, min_energy, max_energy FROM energy_get('1', '1', '01/09/2015');
DROP INDEX energy_data_view_steer;
ALTER MATERIALIZED VIEW energy_data_view OWNER TO CURRENT_USER;
REVOKE SELECT ON energy_daily, energy_meter FROM regress_energy_steer;

-------------------------------------------------------------------------------
-- 3. A planted domain, public first
-------------------------------------------------------------------------------
SET ROLE regress_energy_steer;
CREATE FUNCTION public.steer_check(pg_catalog.bytea) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.planted_ran VALUES ('domain', current_user);
    RETURN true;
END $$;
CREATE DOMAIN public.bytea AS pg_catalog.bytea CHECK (public.steer_check(VALUE));
CREATE DOMAIN public.text AS pg_catalog.text CHECK (public.steer_check(VALUE::pg_catalog.bytea));
RESET ROLE;
DELETE FROM planted_ran;
SET search_path = public, pg_catalog;
-- The planted domain is live for whoever puts public first.
SELECT '\x'::bytea IS NOT NULL AS planted_domain_live;
SELECT count(*) AS planted_calls FROM planted_ran;
DELETE FROM planted_ran;
-- The extension's statements do not see it: a new file, a replaced one,
-- an unload, a populate, a lookup.
SELECT file_name, rows_loaded, action FROM energy_load_data('three.csv', pg_temp.lp(ARRAY[
    '1,1,P,01/09/2015 00:45:00,Import Wh Total,7,kwh,']));
SELECT file_name, rows_loaded, action FROM energy_load_data('three.csv', pg_temp.lp(ARRAY[
    '1,1,P,01/09/2015 00:45:00,Import Wh Total,8,kwh,']));
SELECT energy_unload('two.csv');
SELECT energy_populate_view() AS rows;
SELECT readings, min_energy, max_energy FROM energy_get('1', '1', '01/09/2015');
RESET search_path;
SELECT count(*) AS planted_calls FROM planted_ran;
DROP DOMAIN public.bytea;
DROP DOMAIN public.text;
DROP FUNCTION public.steer_check(bytea);
DROP EXTENSION energy;

-------------------------------------------------------------------------------
-- 4. A 1.1 schema under this library: its energy_resolve() pins nothing
-------------------------------------------------------------------------------
CREATE EXTENSION energy VERSION '1.1';
SET ROLE regress_energy_steer;
CREATE FUNCTION public.steer_eq(boolean[], boolean[]) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.planted_ran VALUES ('operator', current_user);
    RETURN $1 OPERATOR(pg_catalog.=) $2;
END $$;
CREATE OPERATOR public.= (LEFTARG = boolean[], RIGHTARG = boolean[], FUNCTION = public.steer_eq);
RESET ROLE;
DELETE FROM planted_ran;
-- The planted operator wins for boolean[] on the default search_path (an
-- exact match beats pg_catalog's anyarray =).
SELECT ARRAY[true] = ARRAY[true] AS planted_operator_live;
SELECT count(*) AS planted_calls FROM planted_ran;
DELETE FROM planted_ran;
-- A day delivered twice and once more, then unloaded: 1.1's
-- energy_resolve() compares the copies' marks each time.  7 + 9 + 10 Wh:
-- b's 9 replaces a's 8 at 00:30; c's 10 replaces b's 9; unloading c
-- brings 9 back.
SELECT file_name, rows_loaded, action FROM energy_load_data('a.csv', pg_temp.lp(ARRAY[
    '5,5,P5,01/01/2024 00:15:00,Import Wh Total,7,Wh,',
    '5,5,P5,01/01/2024 00:30:00,Import Wh Total,8,Wh,']));
SELECT file_name, rows_loaded, action FROM energy_load_data('b.csv', pg_temp.lp(ARRAY[
    '5,5,P5,01/01/2024 00:30:00,Import Wh Total,9,Wh,']));
SELECT file_name, rows_loaded, action FROM energy_load_data('c.csv', pg_temp.lp(ARRAY[
    '5,5,P5,01/01/2024 00:30:00,Import Wh Total,10,Wh,']));
SELECT energy_unload('c.csv');
SELECT energy_populate_view() AS rows;
SELECT readings, sum_value FROM energy_get_channels('5', '5', '2024-01-01');
SELECT count(*) AS planted_calls FROM planted_ran;
DROP OPERATOR public.= (boolean[], boolean[]);
DROP FUNCTION public.steer_eq(boolean[], boolean[]);
DROP EXTENSION energy;

DROP TABLE planted_ran;
DROP FUNCTION public.steer(), public.steer_index(text);
REVOKE CREATE ON SCHEMA public FROM regress_energy_steer;
DROP ROLE regress_energy_steer, regress_energy_populator;
