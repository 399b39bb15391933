--
-- energy: a drop folder is loaded again and again, and costs what is new.
-- A server file that stands as energy_file recorded it when it was read
-- (size, inode, modification and change time, to the nanosecond) is
-- unchanged without being opened; any difference opens and hashes it as
-- before.
--
-- Whether a load read a file is measured by the bytes the backend read
-- (rchar of /proc/<pid>/io, which counts every read(2) of the process): a
-- file of about 1.5 MB read costs at least its size, a file not read costs
-- nothing near it.  chmod cannot make a file unreadable without moving its
-- change time (so chmod 000 makes the next load open it, and fail).
--
-- The stat is recorded only for a file last changed at least two seconds
-- before it was read (a file system's clock moves in ticks), so the test
-- waits that long after writing files it means to be recorded.
--
CREATE EXTENSION energy;
\getenv data ENERGY_TEST_DATA
\set drop :data/scratch/drop
\set big :drop/LP_big.csv
\! mkdir -m 777 "$ENERGY_TEST_DATA"/scratch/drop && cp "$ENERGY_TEST_DATA"/nem/Example-NEM12.csv "$ENERGY_TEST_DATA"/nem/Example_NEM12_multiple_meters.csv "$ENERGY_TEST_DATA"/scratch/drop/ && chmod 644 "$ENERGY_TEST_DATA"/scratch/drop/*
-- 20,000 LP readings of one meter, 15 minutes apart (208 days and 8 hours)
COPY (SELECT 'MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Data Value,Units,Status'
      UNION ALL
      SELECT pg_catalog.format('BIG,BIG,P,%s,Import Wh Total,%s.000000,kwh,',
                               pg_catalog.to_char(timestamp '2021-01-01' + i * interval '15 minutes',
                                                  'DD/MM/YYYY HH24:MI:SS'), i)
        FROM generate_series(1, 20000) i) TO :'big';
SELECT pg_sleep(2.1);

CREATE FUNCTION pg_temp.rchar() RETURNS bigint LANGUAGE sql AS $$
	SELECT substring(pg_read_file('/proc/' || pg_backend_pid() || '/io') FROM 'rchar: (\d+)')::bigint
$$;
CREATE FUNCTION pg_temp.load_error(path text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM energy_load(path);
    RETURN 'loaded';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || replace(SQLERRM, current_setting('energy_test.data'), '$DATA');
END $$;
CREATE TEMP TABLE io (step text PRIMARY KEY, bytes bigint);
\set big_size `stat -c %s "$ENERGY_TEST_DATA"/scratch/drop/LP_big.csv`
SELECT :big_size > 1000000 AS big_file_over_1mb;

-- The first load reads all three (rows: 20,000 generated; 48 and 1,152,
-- the counts of an independent reader that energy_nem checks).
SELECT pg_temp.rchar() AS r0 \gset
SELECT file_name, format, rows_loaded, rows_rejected, action FROM energy_load(:'drop');
INSERT INTO io VALUES ('first load', pg_temp.rchar() - :r0);

-- What was recorded is each file's stat, as stat(1) shows it.
\set ino `stat -c %i "$ENERGY_TEST_DATA"/scratch/drop/LP_big.csv`
\set mtime `stat -c %.9Y "$ENERGY_TEST_DATA"/scratch/drop/LP_big.csv | tr -d .`
\set ctime `stat -c %.9Z "$ENERGY_TEST_DATA"/scratch/drop/LP_big.csv | tr -d .`
SELECT file_inode = :ino AS inode, file_size = :big_size AS size,
       file_mtime_ns = :mtime AS mtime, file_ctime_ns = :ctime AS ctime
  FROM energy_file WHERE file_name = 'LP_big.csv';
SELECT count(*) AS files_with_stat FROM energy_file WHERE file_inode IS NOT NULL
   AND file_mtime_ns IS NOT NULL AND file_ctime_ns IS NOT NULL;

-- Nothing changed: all unchanged, with the counts of the first load, and
-- no file read.
SELECT pg_temp.rchar() AS r0 \gset
SELECT file_name, format, rows_loaded, rows_rejected, action FROM energy_load(:'drop');
INSERT INTO io VALUES ('second load', pg_temp.rchar() - :r0);
-- the one file named, likewise
SELECT pg_temp.rchar() AS r0 \gset
SELECT file_name, rows_loaded, action FROM energy_load(:'big');
INSERT INTO io VALUES ('file again', pg_temp.rchar() - :r0);
SELECT step, bytes >= :big_size AS read_the_big_file, bytes < 100000 AS read_under_100kb
  FROM io ORDER BY step;

-- Touched (same bytes, new times): read and hashed again, unchanged, and
-- its new stat recorded once it has settled.
\! touch "$ENERGY_TEST_DATA"/scratch/drop/LP_big.csv
SELECT pg_temp.rchar() AS r0 \gset
SELECT file_name, rows_loaded, action FROM energy_load(:'big');
SELECT pg_temp.rchar() - :r0 >= :big_size AS read_after_touch;
-- read within two seconds of the touch: its new stat is not recorded (the
-- old one stays, which no longer matches), so it is hashed again next
\set mtime `stat -c %.9Y "$ENERGY_TEST_DATA"/scratch/drop/LP_big.csv | tr -d .`
SELECT file_mtime_ns <> :mtime AS not_recorded FROM energy_file WHERE file_name = 'LP_big.csv';
SELECT pg_sleep(2.1);
SELECT pg_temp.rchar() AS r0 \gset
SELECT file_name, rows_loaded, action FROM energy_load(:'big');
SELECT pg_temp.rchar() - :r0 >= :big_size AS read_again;
\set mtime `stat -c %.9Y "$ENERGY_TEST_DATA"/scratch/drop/LP_big.csv | tr -d .`
SELECT file_mtime_ns = :mtime AS recorded FROM energy_file WHERE file_name = 'LP_big.csv';
SELECT pg_temp.rchar() AS r0 \gset
SELECT file_name, rows_loaded, action FROM energy_load(:'big');
SELECT pg_temp.rchar() - :r0 < 100000 AS not_read_again;

-- Made unreadable by the server: chmod moves the change time, so the file
-- is opened, and refused.
\! chmod 000 "$ENERGY_TEST_DATA"/scratch/drop/Example-NEM12.csv
SELECT pg_temp.load_error(:'drop');
SELECT file_name, action, rows_rejected FROM energy_load(:'drop', on_error => 'skip');
SELECT file_name, sqlstate FROM energy_rejects;
\! chmod 644 "$ENERGY_TEST_DATA"/scratch/drop/Example-NEM12.csv

-- Other bytes of the same size, with the old modification time put back
-- (touch -r): the change time still differs, so it is read: replaced.
\! cp -p "$ENERGY_TEST_DATA"/scratch/drop/LP_big.csv "$ENERGY_TEST_DATA"/scratch/big.ref && sed -i 's/,20000\.000000,/,20001.000000,/' "$ENERGY_TEST_DATA"/scratch/drop/LP_big.csv && touch -r "$ENERGY_TEST_DATA"/scratch/big.ref "$ENERGY_TEST_DATA"/scratch/drop/LP_big.csv
\set size2 `stat -c %s "$ENERGY_TEST_DATA"/scratch/drop/LP_big.csv`
\set mtime2 `stat -c %.9Y "$ENERGY_TEST_DATA"/scratch/drop/LP_big.csv | tr -d .`
SELECT :size2 = :big_size AS same_size, :mtime2 = :mtime AS same_mtime;
SELECT file_name, rows_loaded, action FROM energy_load(:'big');
SELECT max(energy) FROM energy_data WHERE meter_code = 'BIG';

-- A .gz file's member is recorded with the archive's stat (its size is the
-- member's): an archive that stands as it was is not read either.
\! mkdir -m 755 "$ENERGY_TEST_DATA"/scratch/gzdrop && gzip -1 -c "$ENERGY_TEST_DATA"/scratch/drop/LP_big.csv > "$ENERGY_TEST_DATA"/scratch/gzdrop/LP_gz.csv.gz && chmod 644 "$ENERGY_TEST_DATA"/scratch/gzdrop/*
\set gz_size `stat -c %s "$ENERGY_TEST_DATA"/scratch/gzdrop/LP_gz.csv.gz`
SELECT :gz_size > 100000 AS gz_over_100kb;
SELECT pg_sleep(2.1);
SELECT pg_temp.rchar() AS r0 \gset
SELECT file_name, rows_loaded, action FROM energy_load(:'data' || '/scratch/gzdrop');
SELECT pg_temp.rchar() - :r0 >= :gz_size AS read_first;
\set gz_ino `stat -c %i "$ENERGY_TEST_DATA"/scratch/gzdrop/LP_gz.csv.gz`
SELECT file_size = :big_size AS member_size, file_inode = :gz_ino AS archive_inode
  FROM energy_file WHERE file_name = 'LP_gz.csv';
SELECT pg_temp.rchar() AS r0 \gset
SELECT file_name, rows_loaded, action FROM energy_load(:'data' || '/scratch/gzdrop');
SELECT pg_temp.rchar() - :r0 < :gz_size / 4 AS not_read_again;
\! touch "$ENERGY_TEST_DATA"/scratch/gzdrop/LP_gz.csv.gz
SELECT pg_temp.rchar() AS r0 \gset
SELECT file_name, rows_loaded, action FROM energy_load(:'data' || '/scratch/gzdrop');
SELECT pg_temp.rchar() - :r0 >= :gz_size AS read_after_touch;

-- Content sent by a client has no stat: NULL, and always hashed.
SELECT file_name, action FROM energy_load_data('client.csv',
	convert_to(E'MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Data Value,Units,Status\nC1,C1,P,01/01/2021 00:15:00,Import Wh Total,1,kwh,\n', 'UTF8'));
SELECT file_inode IS NULL AND file_mtime_ns IS NULL AND file_ctime_ns IS NULL AS no_stat
  FROM energy_file WHERE file_name = 'client.csv';

\! rm -rf "$ENERGY_TEST_DATA"/scratch/drop "$ENERGY_TEST_DATA"/scratch/gzdrop "$ENERGY_TEST_DATA"/scratch/big.ref
DROP EXTENSION energy;
