-- energy's SQL surface: the objects, their shapes, keys, privileges and
-- comments that the README documents.  Runs in a transaction that rolls
-- back.
\ir ../include/pgtap.psql

SELECT plan(86);

-- Tables, views, the materialized view and its unique key.
SELECT has_table('energy_file');
SELECT has_table('energy_meter');
SELECT has_table('energy_channel');
SELECT has_table('energy_segment');
SELECT has_table('energy_reading');
SELECT has_table('energy_register');
SELECT has_table('energy_daily');
SELECT has_table('energy_rejects');
SELECT has_table('energy_view_state');
SELECT has_table('energy_change');
SELECT has_index('energy_change', 'energy_change_meter_day_idx', ARRAY['meter_id', 'day']);
SELECT has_view('energy_data');
SELECT has_materialized_view('energy_data_view');
SELECT index_is_unique('energy_data_view', 'energy_data_view_key');
SELECT has_index('energy_data_view', 'energy_data_view_key', ARRAY['meter_code', 'serial_number', 'day']);
SELECT index_is_type('energy_reading', 'energy_reading_segment_brin', 'brin');
SELECT has_materialized_view('energy_channel_view');
SELECT index_is_unique('energy_channel_view', 'energy_channel_view_key');
SELECT has_index('energy_channel_view', 'energy_channel_view_key',
                 ARRAY['meter_code', 'serial_number', 'day', 'data_type', 'units']);
SELECT has_table('energy_unit');
SELECT columns_are('energy_unit', ARRAY['unit', 'canonical', 'factor']);
SELECT col_type_is('energy_unit', 'factor', 'double precision');
-- 1.3: tariffs, the horizon of forgotten readings, the silent meters, and
-- the functions over them.
SELECT has_table('energy_tariff');
SELECT has_table('energy_tariff_window');
SELECT has_table('energy_holiday');
SELECT has_table('energy_horizon');
SELECT has_view('energy_meter_status');
SELECT has_function('energy_verify', ARRAY[]::text[]);
SELECT has_function('energy_tou', ARRAY['text', 'text', 'date', 'date', 'text']);
SELECT has_function('energy_demand', ARRAY['text', 'text', 'date', 'date', 'text', 'integer']);
SELECT has_function('energy_gaps', ARRAY['text', 'text', 'date', 'date']);
SELECT has_function('energy_forget', ARRAY['date']);

-- The seed's column names.
SELECT columns_are('energy_data', ARRAY[
    'meter_code', 'serial_number', 'plant_code', 'date_time', 'data_type', 'energy',
    'units', 'status', 'maximum_demand', 'time_of_max_demand', 'period', 'dls_active',
    'billing_reset_count', 'billing_reset_date_time', 'rate', 'format', 'file_id', 'day', 'time_zone']);
SELECT columns_are('energy_data_view', ARRAY[
    'meter_code', 'serial_number', 'plant_code', 'day', 'min_energy', 'max_energy',
    'avg_energy', 'readings']);
SELECT col_type_is('energy_data_view', 'avg_energy', 'double precision');
SELECT columns_are('energy_channel_view', ARRAY[
    'meter_code', 'serial_number', 'plant_code', 'day', 'data_type', 'units', 'interval_minutes',
    'readings', 'expected_readings', 'min_value', 'max_value', 'sum_value', 'avg_value', 'flagged']);
SELECT col_type_is('energy_daily', 'sum_value', 'numeric');

-- Ready for Citus: bigint identities, the meter leading every key of the
-- partials, no triggers (foreign keys are triggers) on the fact tables.
SELECT is((SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
            WHERE c.relnamespace = 'public'::regnamespace AND a.attidentity <> ''
              AND a.atttypid <> 'int8'::regtype), 0::bigint, 'every identity column is bigint');
SELECT col_is_pk('energy_daily', ARRAY['day', 'meter_id', 'channel_id', 'file_id', 'part']);
SELECT is((SELECT count(*) FROM pg_trigger
            WHERE tgrelid IN ('energy_reading'::regclass, 'energy_register'::regclass,
                              'energy_daily'::regclass, 'energy_segment'::regclass)),
          0::bigint, 'no triggers on readings, registers, partials or segments');
SELECT col_type_is('energy_reading', 'meter_id', 'bigint');
-- 1.2 stores a chunk's readings as one encoded block, not four arrays
SELECT col_type_is('energy_reading', 'block', 'bytea');
SELECT hasnt_column('energy_reading', 'at');
SELECT hasnt_column('energy_reading', 'superseded');
SELECT has_function('energy_block_readings', ARRAY['bytea', 'date']);

-- Function signatures and results.
SELECT has_function('energy_load', ARRAY['text', 'text']);
SELECT has_function('energy_load_data', ARRAY['text', 'bytea', 'text']);
SELECT has_function('energy_populate_view', ARRAY[]::text[]);
SELECT has_function('energy_get', ARRAY['text', 'text', 'date']);
SELECT has_function('energy_get', ARRAY['text', 'text', 'text']);
SELECT has_function('energy_get_channels', ARRAY['text', 'text', 'date']);
SELECT has_function('energy_get_channels', ARRAY['text', 'text', 'text']);
SELECT has_function('energy_unload', ARRAY['text']);
SELECT function_returns('energy_unload', ARRAY['text'], 'bigint');
SELECT has_function('energy_get_json', ARRAY['text', 'text', 'text']);
SELECT has_function('energy_get_json', ARRAY['text', 'text', 'date']);
SELECT has_function('energy_get', ARRAY['text', 'text', 'date', 'date']);
SELECT is((SELECT pg_get_function_result('energy_get(text, text, date, date)'::regprocedure)),
          'TABLE(meter_code text, serial_number text, plant_code text, day date, min_energy double precision, max_energy double precision, avg_energy double precision, readings bigint)',
          'the range form of energy_get returns the same TABLE');
SELECT ok(has_function_privilege('public', 'energy_get(text, text, date, date)', 'EXECUTE'), 'PUBLIC can run the range form');
SELECT function_returns('energy_populate_view', ARRAY[]::text[], 'bigint');
SELECT function_returns('energy_get_json', ARRAY['text', 'text', 'text'], 'jsonb');
SELECT function_returns('energy_load', ARRAY['text', 'text'], 'setof record');
SELECT is((SELECT pg_get_function_result('energy_load(text, text)'::regprocedure)),
          'TABLE(file_name text, format text, rows_loaded bigint, rows_rejected bigint, action text, rows_replacing bigint)',
          'energy_load returns its TABLE');
SELECT is((SELECT pg_get_function_result('energy_get(text, text, date)'::regprocedure)),
          'TABLE(meter_code text, serial_number text, plant_code text, day date, min_energy double precision, max_energy double precision, avg_energy double precision, readings bigint)',
          'energy_get returns its TABLE');
SELECT is((SELECT pg_get_function_arguments('energy_load(text, text)'::regprocedure)),
          'path text, on_error text DEFAULT ''stop''::text', 'on_error defaults to stop');

-- Privileges: loading and refreshing are not for PUBLIC; lookups are.
SELECT ok(NOT has_function_privilege('public', 'energy_load(text, text)', 'EXECUTE'), 'PUBLIC cannot run energy_load');
SELECT ok(NOT has_function_privilege('public', 'energy_load_data(text, bytea, text)', 'EXECUTE'), 'PUBLIC cannot run energy_load_data');
SELECT ok(NOT has_function_privilege('public', 'energy_populate_view()', 'EXECUTE'), 'PUBLIC cannot run energy_populate_view');
SELECT has_function('energy_unload', ARRAY['text']);
SELECT function_returns('energy_unload', ARRAY['text'], 'bigint');
SELECT ok(NOT has_function_privilege('public', 'energy_unload(text)', 'EXECUTE'), 'PUBLIC cannot run energy_unload');
SELECT ok(has_function_privilege('public', 'energy_get(text, text, text)', 'EXECUTE'), 'PUBLIC can run energy_get');
SELECT ok(has_table_privilege('public', 'energy_data_view', 'SELECT'), 'PUBLIC can read energy_data_view');
SELECT ok(NOT has_table_privilege('public', 'energy_reading', 'INSERT'), 'PUBLIC cannot write readings');
SELECT ok(has_table_privilege('public', 'energy_change', 'SELECT'), 'PUBLIC can read the change log (energy_get does)');
SELECT ok(NOT has_table_privilege('public', 'energy_change', 'INSERT'), 'PUBLIC cannot write the change log');
-- The SECURITY DEFINER functions, populate and the refresh watch, pin
-- their search_path; there are no others.
SELECT is_definer('energy_populate_view', ARRAY[]::text[]);
SELECT is(ARRAY(SELECT p.oid::regprocedure::text || ' ' || array_to_string(p.proconfig, ',')
                  FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid
                 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'energy')
                   AND p.prosecdef ORDER BY 1),
          ARRAY['energy_populate_view() search_path=pg_catalog, pg_temp',
                'energy_view_refreshed() search_path=pg_catalog, pg_temp'],
          'the SECURITY DEFINER functions pin search_path');
SELECT ok(NOT has_function_privilege('public', 'energy_view_refreshed()', 'EXECUTE'), 'PUBLIC cannot run the event trigger function');
-- A changed energy_unit is noticed by a digest that populate records, not
-- by a trigger: Citus refuses triggers on the reference table it becomes.
SELECT has_column('energy_view_state', 'units', 'the view state records a digest of energy_unit');
SELECT is((SELECT count(*) FROM pg_trigger
            WHERE tgrelid IN ('energy_unit'::regclass, 'energy_view_state'::regclass)),
          0::bigint, 'no trigger watches energy_unit or the view state');
SELECT ok(NOT has_function_privilege('public', 'energy_distribute()', 'EXECUTE'), 'PUBLIC cannot run energy_distribute');

-- pg_dump dumps the data tables (not the view state, which a restore
-- must rebuild by a refresh), and of energy_unit only the rows that are not
-- the built-in ones CREATE EXTENSION makes.
SELECT is(ARRAY(SELECT c::regclass::text FROM pg_extension e, unnest(e.extconfig) c
                 WHERE e.extname = 'energy' AND c::regclass::text NOT LIKE '%_seq' ORDER BY 1),
          ARRAY['energy_change', 'energy_channel', 'energy_daily', 'energy_file', 'energy_holiday', 'energy_horizon',
                'energy_meter', 'energy_reading', 'energy_register', 'energy_rejects', 'energy_segment',
                'energy_tariff', 'energy_tariff_window', 'energy_unit'],
          'the data tables are dumped by pg_dump');
SELECT is((SELECT c FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS x(r, c)
            WHERE e.extname = 'energy' AND r = 'energy_unit'::regclass),
          'WHERE (unit, canonical, factor) NOT IN (SELECT * FROM public.energy_unit_builtins())',
          'energy_unit dumps only the rows a user added or changed');
SELECT is((SELECT count(*) FROM energy_unit), 22::bigint, 'the 22 built-in units (README: Per-channel aggregates and units)');

-- COMMENT ON every object of the extension.
SELECT is(ARRAY(SELECT pg_describe_object(d.classid, d.objid, 0)
                  FROM pg_depend d
                 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'energy')
                   AND d.deptype = 'e'
                   AND obj_description(d.objid, (SELECT relname FROM pg_class WHERE oid = d.classid)) IS NULL
                 ORDER BY 1),
          ARRAY[]::text[], 'every object of the extension has a comment');

SELECT * FROM finish();
ROLLBACK;
