--
-- energy: the resolve rule lives twice on purpose, in C (resolve.c) and in
-- SQL (energy_resolve()), and energy.resolve_in_sql sends a one-server
-- call's keys to the SQL twin, so that CI runs the overlap, reload,
-- unload, writers' and upgrade tests both ways (scripts/test).  Here: the
-- setting is a superuser's, it does route the keys (counted by
-- pg_stat_user_functions), and both twins give the same answers on the
-- same deliveries.
--
\getenv data ENERGY_TEST_DATA
\set lp :data/include/lp.psql
\i :lp

CREATE EXTENSION energy;
CREATE ROLE regress_energy_twins;
-- Only a superuser sets it, as debug_parallel_query.
SET ROLE regress_energy_twins;
SET energy.resolve_in_sql = on; -- ERROR
RESET ROLE;
SET track_functions = 'pl';

-- The same three deliveries of one LP day, in C and then in SQL: 1, 2, 3
-- Wh; b corrects 00:30 to 20; c re-delivers 00:30 as 200 and adds 01:00;
-- then c is unloaded: 1 + 20 + 3 = 24 Wh in 3 readings; b replaced one
-- reading and c one: 2 replacing.
CREATE FUNCTION pg_temp.deliver(prefix text) RETURNS TABLE (readings bigint, sum_value numeric, rows_replacing bigint)
LANGUAGE plpgsql AS $$
DECLARE
    replacing bigint := 0;
    r bigint;
BEGIN
    PERFORM energy_load_data(prefix || 'a.csv', pg_temp.lp(ARRAY[
        '9,9,P9,01/01/2024 00:15:00,Import Wh Total,1,Wh,',
        '9,9,P9,01/01/2024 00:30:00,Import Wh Total,2,Wh,',
        '9,9,P9,01/01/2024 00:45:00,Import Wh Total,3,Wh,']));
    SELECT l.rows_replacing INTO r FROM energy_load_data(prefix || 'b.csv', pg_temp.lp(ARRAY[
        '9,9,P9,01/01/2024 00:30:00,Import Wh Total,20,Wh,'])) l;
    replacing := replacing + r;
    SELECT l.rows_replacing INTO r FROM energy_load_data(prefix || 'c.csv', pg_temp.lp(ARRAY[
        '9,9,P9,01/01/2024 00:30:00,Import Wh Total,200,Wh,',
        '9,9,P9,01/01/2024 01:00:00,Import Wh Total,4,Wh,'])) l;
    replacing := replacing + r;
    PERFORM energy_unload(prefix || 'c.csv');
    RETURN QUERY SELECT sum(d.readings)::bigint, sum(d.sum_value), replacing
                   FROM energy_daily d JOIN energy_meter m USING (meter_id)
                  WHERE m.meter_code = '9';
END $$;

-- Each in one transaction, whose function calls pg_stat_xact_user_functions
-- counts: resolve.c calls energy_resolve() for no LP key; the SQL twin for
-- each of b's and c's loads and c's unload.
SET energy.resolve_in_sql = off;
BEGIN;
SELECT readings, trim_scale(sum_value) AS sum_value, rows_replacing FROM pg_temp.deliver('c_');
SELECT coalesce(sum(calls), 0) AS sql_twin_calls FROM pg_stat_xact_user_functions WHERE funcname = 'energy_resolve';
COMMIT;
-- The same deliveries again after the first are gone, through the SQL twin.
SELECT energy_unload('c_a.csv'), energy_unload('c_b.csv');
SET energy.resolve_in_sql = on;
BEGIN;
SELECT readings, trim_scale(sum_value) AS sum_value, rows_replacing FROM pg_temp.deliver('sql_');
SELECT sum(calls) AS sql_twin_calls FROM pg_stat_xact_user_functions WHERE funcname = 'energy_resolve';
COMMIT;
RESET energy.resolve_in_sql;
RESET track_functions;
DROP EXTENSION energy;
DROP ROLE regress_energy_twins;
