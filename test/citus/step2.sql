-- Step 2 of the API run: overlap resolution (a re-delivery under a new
-- name, corrected copies), a replace, skip mode, unloads, each followed by
-- lookups of the stale view and an incremental populate.
\echo '=== step 2: an LP file delivered again under a new name'
SELECT * FROM energy_load(:'data' || '/again/LP_210095893_redelivered.csv');
\echo '=== corrected copies (one value changed) under new names: LP (a part of the day) and NEM12'
SELECT * FROM energy_load(:'data' || '/corrected');
\echo '=== a replace: the same name, one value changed and the last line gone'
SELECT * FROM energy_load(:'data' || '/replace/LP_214612534_20150907T084333712.csv');
\echo '=== the first folder again: every file unchanged but the replaced one'
SELECT * FROM energy_load(:'data' || '/erm');
\echo '=== skip mode: a file with a bad line, and a file that is no meter file'
SELECT * FROM energy_load(:'data' || '/skip', on_error => 'skip');
\echo '=== stop mode: the same bad file fails and leaves nothing'
SELECT * FROM energy_load(:'data' || '/bad/LP_219999998_bad.csv');
\echo '=== lookups, the view stale'
\ir lookups.sql
\echo '=== populate (incremental)'
SELECT energy_populate_view();
\ir snapshot.sql

\echo '=== unloads: the newest copy (the older values count again), a TOU file, an older NEM12 copy, an unknown name'
SELECT energy_unload('LP_210095893_corrected.csv');
SELECT energy_unload('TOU_212621145_20150911T022358.csv');
SELECT energy_unload('Example_NEM12_multiple_meters.csv');
SELECT energy_unload('no-such-file.csv');
DO $$
BEGIN
    PERFORM energy_unload('no-such-file.csv');
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'unload of an unknown name: SQLSTATE %', SQLSTATE;
END
$$;
\echo '=== lookups, the view stale'
\ir lookups.sql
\echo '=== populate (incremental)'
SELECT energy_populate_view();
\ir snapshot.sql

\echo '=== the original LP file unloaded (its re-delivery keeps every reading), the corrected copy again, the replace undone by energy_load_data'
SELECT energy_unload('LP_210095893_20150901T011608049.csv');
SELECT * FROM energy_load(:'data' || '/corrected/LP_210095893_corrected.csv');
SELECT * FROM energy_load_data('LP_214612534_20150907T084333712.csv',
                               pg_read_binary_file(:'data' || '/erm/LP_214612534_20150907T084333712.csv'));
\echo '=== populate (incremental), and once more with nothing to do'
SELECT energy_populate_view();
SELECT energy_populate_view();
\ir snapshot.sql
