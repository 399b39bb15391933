--
-- energy: objects planted on the search_path are never called.  The C code
-- and the install script name pg_catalog and the extension's schema for
-- every operator and function; a role that can create objects in public
-- (and puts public first) cannot hijack a load, a refresh or a lookup.
--
-- The test files were copied to a per-run folder named by ENERGY_TEST_DATA
-- (scripts/test-data: erm/, samples/, hostile/, scratch/).
\getenv data ENERGY_TEST_DATA
CREATE EXTENSION energy;
CREATE ROLE regress_energy_planter;
GRANT CREATE, USAGE ON SCHEMA public TO regress_energy_planter;
SET ROLE regress_energy_planter;
CREATE FUNCTION public.hijack_eq(text, text) RETURNS boolean
    LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'hijacked ='; END $$;
CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = text, FUNCTION = public.hijack_eq);
CREATE FUNCTION public.lower(text) RETURNS text
    LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'hijacked lower'; END $$;
CREATE FUNCTION public.now() RETURNS timestamptz
    LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'hijacked now'; END $$;
CREATE FUNCTION public.unnest(anyarray) RETURNS SETOF anyelement
    LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'hijacked unnest'; END $$;
RESET ROLE;

-- The planted operator is live for anyone who puts public first.
SET search_path = public, pg_catalog;
SELECT 'a'::text = 'a'::text; -- ERROR

-- The extension's own statements do not see it.
SELECT * FROM energy_load_data('planted.csv',
    convert_to(E'MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Data Value,Units,Status\n'
               || E'888,888,P8,05/05/2021 00:00:00,New Channel,4.5,NewUnit,\n'
               || E'888,888,P8,05/05/2021 00:15:00,New Channel,5.5,NEWUNIT,\n', 'UTF8'));
SELECT * FROM energy_load_data('planted.csv',
    convert_to(E'MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Data Value,Units,Status\n'
               || E'888,888,P8,05/05/2021 00:00:00,New Channel,6.5,NewUnit,\n', 'UTF8'));
SELECT energy_populate_view() > 0 AS populated;
SELECT * FROM energy_get('888', '888', '05/05/2021');
SELECT energy_get_json('888', '888', '2021-05-05');
RESET search_path;

-- The install script does not see planted objects either: reinstall with
-- them in place (and in front of pg_catalog), then load and look up again.
DROP EXTENSION energy;
SET search_path = public, pg_catalog;
CREATE EXTENSION energy;
SELECT file_name, rows_loaded, action FROM energy_load(:'data' || '/erm');
SELECT energy_populate_view();
SELECT * FROM energy_get('210095893', '210095893', '01/09/2015');
RESET search_path;

DROP OWNED BY regress_energy_planter;
DROP ROLE regress_energy_planter;

DROP EXTENSION energy;
