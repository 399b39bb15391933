--
-- energy: energy_distribute() on a server without Citus refuses clearly
-- (SQLSTATE 0A000) and changes nothing; segments carry their meter in
-- their primary key, as Citus needs, and energy_data answers the same.
--
-- The test files were copied to a per-run folder named by ENERGY_TEST_DATA
-- (scripts/test-data: erm/, samples/, hostile/, scratch/).
\getenv data ENERGY_TEST_DATA
CREATE EXTENSION energy;
SELECT count(*) AS files FROM energy_load(:'data' || '/erm');

SELECT * FROM energy_distribute(); -- ERROR
DO $$
BEGIN
    PERFORM energy_distribute();
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'refused with SQLSTATE %', SQLSTATE;
END
$$;

-- Nothing changed: same readings, and no table is anything but a plain one.
SELECT count(*) AS readings, count(DISTINCT file_id) AS files FROM energy_data;
SELECT c.relname, c.relkind
  FROM pg_class c JOIN pg_depend d ON d.objid = c.oid AND d.deptype = 'e'
 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'energy')
   AND c.relkind IN ('r', 'p', 'f')
 ORDER BY 1;

-- The segment key says the meter.
SELECT pg_get_constraintdef(oid) FROM pg_constraint
 WHERE conrelid = 'energy_segment'::regclass AND contype IN ('p', 'u') ORDER BY 1;

-- energy_data joins readings with segments by segment and meter: every
-- reading once.
SELECT meter_code, format, count(*), round(sum(energy)::numeric, 6) AS sum FROM energy_data GROUP BY 1, 2 ORDER BY 1, 2;

-- Only the owner (or whoever is granted EXECUTE) may distribute.
SELECT has_function_privilege('public', 'energy_distribute()', 'EXECUTE') AS public_may_distribute;
SELECT obj_description('energy_distribute()'::regprocedure, 'pg_proc') IS NOT NULL AS commented;

DROP EXTENSION energy;
