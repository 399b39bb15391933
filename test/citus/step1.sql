-- Step 1 of the API run, the same on the single node and on the cluster:
-- loads of new files (one file, a folder, content sent by the client, a
-- NEM folder), lookups before the first populate and while the view is
-- stale, the first (full) populate and an incremental one.
\echo '=== step 1: one LP file; lookups before the first populate'
SELECT * FROM energy_load(:'data' || '/erm/LP_210095893_20150901T011608049.csv');
\ir lookups.sql
\echo '=== the first populate (full)'
SELECT energy_populate_view();
\ir snapshot.sql

\echo '=== the LP/TOU folder (the loaded file unchanged), a NEM12 file sent by the client, a NEM folder'
SELECT * FROM energy_load(:'data' || '/erm');
SELECT * FROM energy_load_data('uploads/Example_NEM12_multiple_meters.csv',
                               pg_read_binary_file(:'data' || '/nem/Example_NEM12_multiple_meters.csv'));
SELECT * FROM energy_load(:'data' || '/nem');
\echo '=== lookups, the view stale'
\ir lookups.sql
\echo '=== populate (incremental)'
SELECT energy_populate_view();
\ir snapshot.sql
