--
-- energy: upgrading a loaded 1.0 database to 1.1 keeps every reading, file,
-- partial and rejected row, and the same answers.  The 1.1 library serves
-- the 1.0 schema while it waits for ALTER EXTENSION energy UPDATE.
--
-- The test files were copied to a per-run folder named by ENERGY_TEST_DATA
-- (scripts/test-data: erm/, samples/, hostile/, scratch/).
\getenv data ENERGY_TEST_DATA
CREATE EXTENSION energy VERSION '1.0';
SELECT extversion FROM pg_extension WHERE extname = 'energy';

-- A loaded 1.0 database: the real exports, a file with rejected rows, a
-- populated view.  This library is 1.1, and serves 1.0 as it is.
SELECT * FROM energy_load(:'data' || '/erm');
SELECT * FROM energy_load_data('rejects.csv', convert_to(
    E'MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Data Value,Units,Status\n'
    || E'900,900,P9,02/09/2015 00:15:00,Import Wh Total,1.5,kwh,\n'
    || E'900,900,P9,02/09/2015 00:30:00,Import Wh Total,abc,kwh,\n'
    || E'900,900,P9,02/09/2015 00:45:00,Import Wh Total,2.5,kwh,\n', 'UTF8'), on_error => 'skip');
SELECT energy_populate_view();
SELECT * FROM energy_get('210095893', '210095893', '01/09/2015');

-- Everything a user can see, kept aside.
CREATE TEMP TABLE before_data AS SELECT * FROM energy_data;
CREATE TEMP TABLE before_files AS
	SELECT file_id, file_name, file_size, sha256, format, rows_loaded, rows_rejected, loaded_at, loaded_by
	  FROM energy_file;
CREATE TEMP TABLE before_daily AS SELECT * FROM energy_daily;
CREATE TEMP TABLE before_rejects AS
	SELECT reject_id, file_name, line, raw, sqlstate, message FROM energy_rejects;
CREATE TEMP TABLE before_view AS SELECT * FROM energy_data_view;
CREATE TEMP TABLE before_json AS
	SELECT energy_get_json('214612534', '214612534', '06/09/2015') AS j;

ALTER EXTENSION energy UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'energy';

-- Every row is still there, unchanged: each difference is counted both ways.
SELECT (SELECT count(*) FROM before_data) AS readings,
       (SELECT count(*) FROM ((TABLE before_data EXCEPT ALL SELECT * FROM energy_data)
                              UNION ALL (SELECT * FROM energy_data EXCEPT ALL TABLE before_data)) d) AS changed;
SELECT (SELECT count(*) FROM before_files) AS files,
       (SELECT count(*) FROM ((TABLE before_files EXCEPT ALL
                               SELECT file_id, file_name, file_size, sha256, format, rows_loaded, rows_rejected, loaded_at, loaded_by FROM energy_file)
                              UNION ALL (SELECT file_id, file_name, file_size, sha256, format, rows_loaded, rows_rejected, loaded_at, loaded_by FROM energy_file
                                         EXCEPT ALL TABLE before_files)) d) AS changed;
SELECT (SELECT count(*) FROM before_daily) AS partials,
       (SELECT count(*) FROM ((TABLE before_daily EXCEPT ALL SELECT * FROM energy_daily)
                              UNION ALL (SELECT * FROM energy_daily EXCEPT ALL TABLE before_daily)) d) AS changed;
SELECT (SELECT count(*) FROM before_rejects) AS rejects,
       (SELECT count(*) FROM ((TABLE before_rejects EXCEPT ALL SELECT reject_id, file_name, line, raw, sqlstate, message FROM energy_rejects)
                              UNION ALL (SELECT reject_id, file_name, line, raw, sqlstate, message FROM energy_rejects
                                         EXCEPT ALL TABLE before_rejects)) d) AS changed;
SELECT (SELECT count(*) FROM before_view) AS view_rows,
       (SELECT count(*) FROM ((TABLE before_view EXCEPT ALL SELECT * FROM energy_data_view)
                              UNION ALL (SELECT * FROM energy_data_view EXCEPT ALL TABLE before_view)) d) AS changed;

-- The same answers: the seed's documented one, and the JSON body.
SELECT * FROM energy_get('210095893', '210095893', '01/09/2015');
SELECT energy_get_json('214612534', '214612534', '06/09/2015') = j AS same_json FROM before_json;

-- The upgraded database goes on as before: the same files are unchanged,
-- a populate gives the same view, and the identities continue.
SELECT file_name, action FROM energy_load(:'data' || '/erm');
SELECT energy_populate_view() = (SELECT count(*) FROM before_view) AS same_view_rows;
SELECT file_name, action FROM energy_load(:'data' || '/samples');
SELECT min(file_id) > (SELECT max(file_id) FROM before_files) AS new_ids_follow
  FROM energy_file WHERE file_name NOT IN (SELECT file_name FROM before_files);

-- A fresh 1.1 install and this upgraded one have the same objects.
CREATE TEMP TABLE upgraded_objects AS
	SELECT pg_describe_object(classid, objid, 0) AS object
	  FROM pg_depend
	 WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
	   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'energy');
DROP EXTENSION energy;
CREATE EXTENSION energy;
SELECT extversion FROM pg_extension WHERE extname = 'energy';
SELECT count(*) AS differences
  FROM ((TABLE upgraded_objects EXCEPT ALL
         SELECT pg_describe_object(classid, objid, 0) FROM pg_depend
          WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
            AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'energy'))
        UNION ALL
        (SELECT pg_describe_object(classid, objid, 0) FROM pg_depend
          WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
            AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'energy')
         EXCEPT ALL TABLE upgraded_objects)) d;
DROP EXTENSION energy;
