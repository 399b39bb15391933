--
-- energy: files as the market delivers them, gzipped.  A .gz file loads as
-- the file inside, under the archive's name without ".gz", so the same
-- NEM12 file gzipped or plain is one file (unchanged when its bytes are).
-- Damaged and hostile archives are errors naming archive and member, a
-- reject in skip mode, and nothing of them is loaded.
--
-- The archives are made here, with gzip and python3, from the real NEM
-- files of test/data/nem; each is compared with the sums of the
-- independent reader in test/data/nem/expected, as energy_nem compares the
-- plain files.
--
CREATE EXTENSION energy;
\getenv data ENERGY_TEST_DATA
\set nem :data/nem
\set gz :data/scratch/gz
\set drop :data/scratch/gzdrop
\! mkdir -m 755 "$ENERGY_TEST_DATA"/scratch/gz "$ENERGY_TEST_DATA"/scratch/gz/expected && cd "$ENERGY_TEST_DATA"/nem && for f in *; do [ -f "$f" ] && [ "$f" != README.md ] && gzip -c "$f" > ../scratch/gz/"$f".gz && cp expected/"$f".tsv ../scratch/gz/expected/"$f".gz.tsv; done; chmod 644 "$ENERGY_TEST_DATA"/scratch/gz/*.gz "$ENERGY_TEST_DATA"/scratch/gz/expected/*

\set nem_check :data/include/nem_check.psql
\i :nem_check

CREATE FUNCTION pg_temp.load_error(path text, on_error text DEFAULT 'stop') RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM energy_load(path, on_error);
    RETURN 'loaded';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || replace(SQLERRM, current_setting('energy_test.data'), '$DATA');
END $$;

-- Every file of test/data/nem gzipped: the same format, rows, rejects and
-- differences from the reference as the plain file (no row: all equal),
-- and no difference wherever the plain file has none.
SELECT name, p AS plain, g AS gzipped
  FROM pg_ls_dir(:'nem') AS name,
       LATERAL pg_temp.check_file(:'nem', name) AS p,
       LATERAL pg_temp.check_file(:'gz', name || '.gz') AS g
 WHERE name NOT IN ('README.md', 'expected')
   AND p IS DISTINCT FROM g
 ORDER BY name COLLATE "C";
SELECT count(*) AS files_compared, count(*) FILTER (WHERE g.differences = 0) AS gz_without_differences,
       sum(g.loaded) AS gz_rows_loaded
  FROM pg_ls_dir(:'gz') AS name, LATERAL pg_temp.check_file(:'gz', name) AS g
 WHERE name LIKE '%.gz';

-- One file, gzipped or plain: the member's bytes are hashed, so whichever
-- comes second is unchanged; content sent by a client likewise.
SELECT energy_unload(file_name) FROM energy_file;
SELECT file_name, format, rows_loaded, action FROM energy_load(:'nem' || '/Example_NEM12_multiple_meters.csv');
SELECT file_name, format, rows_loaded, action FROM energy_load(:'gz' || '/Example_NEM12_multiple_meters.csv.gz');
SELECT file_name, format, rows_loaded, action
  FROM energy_load_data('Example_NEM12_multiple_meters.csv.gz',
                        pg_read_binary_file(:'gz' || '/Example_NEM12_multiple_meters.csv.gz'));
SELECT file_name, file_size, file_inode IS NULL AS no_stat FROM energy_file;
-- file_size is the member's, the plain file's size
SELECT (pg_stat_file(:'nem' || '/Example_NEM12_multiple_meters.csv')).size;

-- A folder takes *.gz beside the plain files; a member not named *.csv
-- loads only if it is a meter file, as a plain file so named would.
\! mkdir -m 755 "$ENERGY_TEST_DATA"/scratch/gzdrop && cd "$ENERGY_TEST_DATA"/scratch && cp gz/Example-NEM12.csv.gz gz/'NEM12#DATA_TEST.V01.gz' gzdrop/ && cp ../nem/Example_NEM12_powercor.csv gzdrop/ && echo 'not a meter file' | gzip > gzdrop/notes.txt.gz && chmod 644 gzdrop/*
SELECT energy_unload(file_name) FROM energy_file;
SELECT file_name, format, rows_loaded, rows_rejected, action FROM energy_load(:'drop');
SELECT file_name, format, rows_loaded, rows_rejected, action FROM energy_load(:'drop', on_error => 'skip');
-- the same rows as the plain files, loaded one by one
CREATE TEMP TABLE from_gz AS SELECT meter_code, data_type, units, day, readings, sum_value
  FROM energy_channel_view WHERE false;
SELECT energy_populate_view() IS NOT NULL AS populated;
INSERT INTO from_gz SELECT meter_code, data_type, units, day, readings, sum_value FROM energy_channel_view;
SELECT energy_unload(file_name) FROM energy_file ORDER BY file_name;
SELECT count(*) FROM energy_load(:'nem' || '/Example-NEM12.csv');
SELECT count(*) FROM energy_load(:'nem' || '/NEM12#DATA_TEST.V01');
SELECT count(*) FROM energy_load(:'nem' || '/Example_NEM12_powercor.csv');
SELECT energy_populate_view() IS NOT NULL AS populated;
SELECT (SELECT count(*) FROM from_gz) AS rows_gz,
       (SELECT count(*) FROM ((TABLE from_gz EXCEPT ALL
           SELECT meter_code, data_type, units, day, readings, sum_value FROM energy_channel_view)
         UNION ALL (SELECT meter_code, data_type, units, day, readings, sum_value FROM energy_channel_view
           EXCEPT ALL TABLE from_gz)) d) AS differences;
SELECT energy_unload(file_name) FROM energy_file ORDER BY file_name;

-- Bad archives.  Each in stop mode is an ERROR naming archive and member;
-- in skip mode one reject, and nothing of it is loaded.
\set src :data/nem/Example_NEM12_multiple_meters.csv
-- a bad CRC: the trailer's CRC-32 (the 8th to 5th bytes from the end) flipped
\! cd "$ENERGY_TEST_DATA"/scratch && mkdir -m 755 bad && gzip -c ../nem/Example_NEM12_multiple_meters.csv > bad/crc.csv.gz && python3 -c "import sys; p=sys.argv[1]; b=bytearray(open(p,'rb').read()); b[-8]^=0xFF; open(p,'wb').write(b)" bad/crc.csv.gz
-- truncated: its last 100 bytes cut
\! cd "$ENERGY_TEST_DATA"/scratch && gzip -c ../nem/Example_NEM12_multiple_meters.csv > bad/full.gz && head -c $(( $(stat -c %s bad/full.gz) - 100 )) bad/full.gz > bad/truncated.csv.gz && rm bad/full.gz
-- nested: a gzip file gzipped, under a plain name and under an archive's
\! cd "$ENERGY_TEST_DATA"/scratch && gzip -c gz/Example-NEM12.csv.gz > bad/nested.csv.gz && cp bad/nested.csv.gz bad/inner.csv.gz.gz
-- a bomb: a header, then 50 MB of spaces, about 50 kB gzipped
\! cd "$ENERGY_TEST_DATA"/scratch && python3 -c "import gzip,sys; f=gzip.open(sys.argv[1],'wb'); f.write(b'MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Data Value,Units,Status\n'); [f.write(b' '*1048576) for i in range(50)]; f.close()" bad/bomb.csv.gz
-- not gzip at all, named .gz
\! cd "$ENERGY_TEST_DATA"/scratch && cp ../nem/Example-NEM12.csv bad/plain.csv.gz && chmod 644 bad/*
SELECT (pg_stat_file(:'data' || '/scratch/bad/bomb.csv.gz')).size < 100000 AS bomb_under_100kb;

\set VERBOSITY default
SELECT energy_load_data('crc.csv.gz', pg_read_binary_file(:'data' || '/scratch/bad/crc.csv.gz')); -- ERROR
SELECT pg_temp.load_error(:'data' || '/scratch/bad/crc.csv.gz');
SELECT pg_temp.load_error(:'data' || '/scratch/bad/truncated.csv.gz');
SELECT pg_temp.load_error(:'data' || '/scratch/bad/nested.csv.gz');
SELECT pg_temp.load_error(:'data' || '/scratch/bad/inner.csv.gz.gz');
-- (a header, then 50 MB without a line end: a record limit as large as
-- allowed, so that the bomb is found first, at about 3.6 MB inflated)
SET energy.max_record_size = '64MB';
SELECT pg_temp.load_error(:'data' || '/scratch/bad/bomb.csv.gz');
RESET energy.max_record_size;
SELECT pg_temp.load_error(:'data' || '/scratch/bad/plain.csv.gz');
SELECT count(*) AS files, (SELECT count(*) FROM energy_reading) AS readings FROM energy_file;

-- energy.max_inflated_size: the member (4,497 bytes) past 4 kB
SET energy.max_inflated_size = '4kB';
SELECT pg_temp.load_error(:'gz' || '/Example_NEM12_multiple_meters.csv.gz');
RESET energy.max_inflated_size;

-- skip mode: the whole folder; each bad archive one reject, none loaded,
-- the good one beside them loaded.
DELETE FROM energy_rejects;
\! cp "$ENERGY_TEST_DATA"/scratch/gz/Example-NEM12.csv.gz "$ENERGY_TEST_DATA"/scratch/bad/ && chmod 644 "$ENERGY_TEST_DATA"/scratch/bad/*
SELECT file_name, format, rows_loaded, rows_rejected, action
  FROM energy_load(:'data' || '/scratch/bad', on_error => 'skip');
-- (the bomb's counts are zlib's, shown as N and M)
SELECT file_name, line, sqlstate,
       regexp_replace(replace(message, :'data', '$DATA'), '\d+ compressed bytes had inflated to \d+',
                      'N compressed bytes had inflated to M') AS message
  FROM energy_rejects ORDER BY file_name COLLATE "C";
SELECT file_name, rows_loaded FROM energy_file;
SELECT count(DISTINCT s.file_id) AS files_with_segments FROM energy_segment s;
-- the same in energy_load_data
SELECT file_name, action, rows_rejected
  FROM energy_load_data('crc.csv.gz', pg_read_binary_file(:'data' || '/scratch/bad/crc.csv.gz'), 'skip');

-- energy.max_inflated_size is the superuser's, as energy.max_record_size
CREATE ROLE regress_archives;
SET ROLE regress_archives;
SET energy.max_inflated_size = '1GB'; -- ERROR
RESET ROLE;
DROP ROLE regress_archives;

\! rm -rf "$ENERGY_TEST_DATA"/scratch/gz "$ENERGY_TEST_DATA"/scratch/gzdrop "$ENERGY_TEST_DATA"/scratch/bad
DROP EXTENSION energy;
