# A fleet's worth of files, and the files a drop folder may hold: what a
# load costs (locks, memory) stays bounded whatever the folder or the file,
# and nothing but meter files is read.
#
#   - a folder of 20,000 files loads in one call, holding a bounded number
#     of locks, with bounded backend memory;
#   - a file of 1,000,000 bad lines in skip mode: one reject each, bounded
#     memory;
#   - a symbolic link planted in a drop folder is refused, its target never
#     read;
#   - a file name that is not valid UTF-8 is refused, and the database still
#     dumps and restores;
#   - a replace finds the old rows through an index, not by reading the
#     whole readings table.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('fleet');
$node->init;
# The backend's peak RSS (VmHWM) counts the shared buffers it touched: keep
# them small, so that the peak measures the backend's own memory.
$node->append_conf('postgresql.conf', "shared_buffers = 16MB\n");
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', 'CREATE EXTENSION energy');

my $header = "MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Data Value,Units,Status\n";
my $base = PostgreSQL::Test::Utils::tempdir;

# The backend's peak resident memory (kB) and the locks it holds, read in
# the same session as the load they measure.
my $hwm = q{(SELECT substring(pg_read_file('/proc/' || pg_backend_pid() || '/status') FROM 'VmHWM:\s*(\d+)')::bigint)};

sub write_file
{
	my ($path, $content) = @_;
	open my $fh, '>', $path or die "could not write $path: $!";
	print $fh $content;
	close $fh;
}

# --- A folder of 20,000 files --------------------------------------------
# One reading each, 20 meters, so the count of readings and of files is
# known without the extension: 20,000 of both.
my $fleet = "$base/fleet";
mkdir $fleet or die;
for my $i (1 .. 20000)
{
	my $m = 800000000 + $i % 20;
	my $d = 1 + int($i / 96) % 28;
	my $t = ($i % 96) * 15;
	write_file(sprintf("%s/LP_%05d.csv", $fleet, $i),
		$header . sprintf("%d,%d,P,%02d/02/2024 %02d:%02d:00,Import Wh Total,%d.5,kwh,\n",
			$m, $m, $d, int($t / 60), $t % 60, $i % 10));
}

my $out = $node->safe_psql('src', qq{
	SELECT $hwm AS before \\gset
	BEGIN;
	SELECT count(*) FILTER (WHERE action = 'loaded') || ' loaded, '
	    || sum(rows_loaded) || ' rows'
	  FROM energy_load('$fleet');
	SELECT 'locks ' || count(*) FROM pg_locks WHERE pid = pg_backend_pid();
	COMMIT;
	SELECT 'grew_kb ' || ($hwm - :before);
});
my ($loaded, $locks, $grew) = split /\n/, $out;
is($loaded, '20000 loaded, 20000 rows', 'a folder of 20,000 files loads in one call');
my ($nlocks) = $locks =~ /locks (\d+)/;
cmp_ok($nlocks, '<', 100, "the load holds a bounded number of locks ($nlocks), not one per file");
my ($kb) = $grew =~ /grew_kb (-?\d+)/;
cmp_ok($kb, '<', 64 * 1024, "backend memory grew by $kb kB for 20,000 files (< 64 MB)");
is($node->safe_psql('src', "SELECT count(*) || ' ' || sum(rows_loaded) FROM energy_file"),
	'20000 20000', 'energy_file has each file once');
is($node->safe_psql('src', 'SELECT count(*) FROM energy_reading r, energy_block_readings(r.block, r.day)'),
	'20000', 'and every reading');

# Loading the folder again writes nothing: every file is unchanged.
is($node->safe_psql('src', "SELECT action, count(*) FROM energy_load('$fleet') GROUP BY 1"),
	'unchanged|20000', 'a second load finds all 20,000 unchanged');

# --- 1,000,000 bad lines in skip mode -------------------------------------
# Each line has one field instead of eight: a reject each, and the one
# good line loads.
my $bad = "$base/bad";
mkdir $bad or die;
{
	open my $fh, '>', "$bad/LP_bad.csv" or die;
	print $fh $header;
	print $fh "900000001,900000001,P,01/01/2024 00:00:00,Import Wh Total,1.5,kwh,\n";
	print $fh "x\n" for 1 .. 1000000;
	close $fh;
}
$out = $node->safe_psql('src', qq{
	SELECT $hwm AS before \\gset
	SELECT rows_loaded || ' ' || rows_rejected FROM energy_load('$bad/LP_bad.csv', on_error => 'skip');
	SELECT 'grew_kb ' || ($hwm - :before);
});
my ($counts, $grew2) = split /\n/, $out;
is($counts, '1 1000000', '1,000,000 bad lines: one reject each, the good line loads');
($kb) = $grew2 =~ /grew_kb (-?\d+)/;
cmp_ok($kb, '<', 64 * 1024, "backend memory grew by $kb kB for 1,000,000 rejects (< 64 MB)");
is($node->safe_psql('src', "SELECT count(*), min(line), max(line) FROM energy_rejects WHERE file_name = 'LP_bad.csv'"),
	'1000000|3|1000002', 'energy_rejects has every bad line, by line number');

# --- A planted symbolic link -----------------------------------------------
# Someone who may only write into the drop folder points x.csv at a file
# only the server may read.  Neither mode reads it.
my $drop = "$base/drop";
mkdir $drop or die;
my $secret = "$base/secret.txt";
write_file($secret, "the secret first line\n");
symlink($secret, "$drop/x.csv") or die "symlink: $!";
write_file("$drop/LP_ok.csv", $header . "900000002,900000002,P,01/01/2024 00:00:00,Import Wh Total,2.5,kwh,\n");

is($node->safe_psql('src', "SELECT file_name || ' ' || action FROM energy_load('$drop', on_error => 'skip') ORDER BY file_name COLLATE \"C\""),
	"LP_ok.csv loaded\nx.csv rejected", 'skip mode: the link is a reject, the real file loads');
is($node->safe_psql('src', "SELECT sqlstate || ' ' || coalesce(raw, '(no raw)') || ' ' || message FROM energy_rejects WHERE file_name = 'x.csv'"),
	qq{42809 (no raw) "$drop/x.csv" is a symbolic link: Symbolic links are not followed; name the file itself.},
	'its reject names the link, and nothing of its target');
my ($ret, $stdout, $stderr) = $node->psql('src', "SELECT * FROM energy_load('$drop')");
like($stderr, qr/is a symbolic link/, 'stop mode: the link is the error');
unlike($stderr, qr/secret/, '... which quotes nothing of its target');
($ret, $stdout, $stderr) = $node->psql('src', "SELECT * FROM energy_load('$drop/x.csv')");
like($stderr, qr/is a symbolic link/, 'a link named on its own is refused too');
unlike(slurp_file($node->logfile), qr/the secret first line/, 'the server log never saw the target');
is($node->safe_psql('src', "SELECT count(*) FROM energy_rejects WHERE raw LIKE '%secret%' OR message LIKE '%secret first%'"),
	'0', 'no table holds it either');

# --- A name that is not valid UTF-8 ---------------------------------------
# A Latin-1 e-acute (byte 0xE9) in a drop folder.
my $latin = "$base/latin";
mkdir $latin or die;
write_file("$latin/caf\xe9.csv", $header . "900000003,900000003,P,01/01/2024 00:00:00,Import Wh Total,3.5,kwh,\n");
write_file("$latin/LP_good.csv", $header . "900000004,900000004,P,01/01/2024 00:00:00,Import Wh Total,4.5,kwh,\n");
($ret, $stdout, $stderr) = $node->psql('src', "SELECT * FROM energy_load('$latin')");
like($stderr, qr/file name "caf\\xE9\.csv" is not valid in encoding "UTF8"/, 'stop mode: the name is refused, escaped in the message');
is($node->safe_psql('src', "SELECT file_name || ' ' || action FROM energy_load('$latin', on_error => 'skip') ORDER BY file_name COLLATE \"C\""),
	"LP_good.csv loaded\ncaf\\xE9.csv rejected", 'skip mode: a reject under the escaped name; the other file loads');
is($node->safe_psql('src', "SELECT sqlstate FROM energy_rejects WHERE file_name = 'caf\\xE9.csv'"),
	'22021', 'the reject has the encoding SQLSTATE');

my $summary = q{SELECT (SELECT count(*) FROM energy_file) || ' files, '
	|| (SELECT count(*) FROM energy_rejects) || ' rejects, '
	|| (SELECT string_agg(file_name, ',' ORDER BY file_name) FROM energy_rejects WHERE line IS NULL)};
my $before = $node->safe_psql('src', $summary);
my $dump = "$base/src.dump";
$node->command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', $node->connstr('src') ], 'pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE dst');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('dst'), $dump ], 'pg_restore');
is($node->safe_psql('dst', $summary), $before, 'every file and reject is back after the restore');

# --- A replace finds the old rows through an index -------------------------
# energy_reading has not been vacuumed or analyzed since the folder load:
# replacing one file must read a few pages, not all of them.  Counted with
# the table's block statistics, flushed at once.
my $victim = "$fleet/LP_00001.csv";
write_file($victim, $header . "800000001,800000001,P,01/02/2024 00:15:00,Import Wh Total,7.25,kwh,\n");
$out = $node->safe_psql('src', q{
	SELECT pg_stat_force_next_flush();
	SELECT heap_blks_read + heap_blks_hit AS b0, pg_relation_size('energy_reading') / 8192 AS pages
	  FROM pg_statio_user_tables WHERE relname = 'energy_reading' \gset
	} . qq{SELECT action FROM energy_load('$victim');} . q{
	SELECT pg_stat_force_next_flush();
	SELECT (heap_blks_read + heap_blks_hit - :b0) || ' of ' || :pages
	  FROM pg_statio_user_tables WHERE relname = 'energy_reading';
});
my ($action) = $out =~ /^(loaded|replaced|unchanged)$/m;
my ($blocks) = $out =~ /^(\d+ of \d+)$/m;
is($action, 'replaced', 'the rewritten file is replaced');
my ($touched, $pages) = $blocks =~ /(\d+) of (\d+)/;
cmp_ok($pages, '>', 50, "energy_reading has $pages pages");
# A scan of the table reads every page; the index reads the pages of the
# meter-day's chunks (one per file of that meter and day) and the page the
# new chunk goes to.
cmp_ok($touched, '<', $pages / 5, "the replace touched $touched of them");
is($node->safe_psql('src', q{SELECT count(DISTINCT r.ctid) || ' ' || count(*) FROM energy_reading r CROSS JOIN LATERAL energy_block_readings(r.block, r.day)
	JOIN energy_segment s USING (segment_id) JOIN energy_file f USING (file_id) WHERE f.file_name = 'LP_00001.csv'}),
	'1 1', 'the file has its one new reading');
is($node->safe_psql('src', q{SELECT sha256 = sha256(pg_read_binary_file(}
	. qq{'$victim'}
	. q{)) FROM energy_file WHERE file_name = 'LP_00001.csv'}),
	't', 'the stored SHA-256 is that of the content parsed');

$node->stop;
done_testing();
