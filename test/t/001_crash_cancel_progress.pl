# Loads that are killed or cancelled leave nothing behind, and a long load
# can be watched in pg_stat_progress_copy.
#
# A loading backend is killed with SIGKILL mid-file: after crash recovery no
# trace of the file is visible and the same file loads in full.  A load
# cancelled with pg_cancel_backend(), or stopped by statement_timeout,
# leaves nothing either.
use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('energy');
$node->init;
$node->append_conf('postgresql.conf', "restart_after_crash = on\nmax_wal_size = 2GB\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION energy');

# A file big enough to be caught mid-load: 1000 meters x 4 channels x 10
# days of 15-minute readings = 3,840,000 rows.
my $dir = PostgreSQL::Test::Utils::tempdir;
my $file = "$dir/LP_crash.csv";
my $rows = 0;
open my $fh, '>', $file or die "could not write $file: $!";
print $fh "MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Data Value,Units,Status\n";
for my $m (1 .. 1000)
{
	for my $ch ('Import Wh Total', 'Export Wh Total', 'Import varh Total', 'Export varh Total')
	{
		for my $d (1 .. 10)
		{
			for my $i (0 .. 95)
			{
				printf $fh "%d,%d,PL%06d,%02d/06/2024 %02d:%02d:00,%s,%d.%06d,kwh,\n",
				  700000000 + $m, 700000000 + $m, $m, $d, int($i / 4), ($i % 4) * 15,
				  $ch, $i % 7, ($m * $i) % 1000000;
				$rows++;
			}
		}
	}
}
close $fh;
my $size = -s $file;

# Start a load in the background and wait until it shows progress.
sub start_load
{
	my ($path) = @_;
	my ($in, $out, $err) = ('', '', '');
	my $h = IPC::Run::start(
		[ 'psql', '-XAtq', '-d', $node->connstr('postgres'), '-c',
		  "SELECT * FROM energy_load('$path')" ],
		'<', \$in, '>', \$out, '2>', \$err);
	$node->poll_query_until('postgres',
		"SELECT count(*) > 0 FROM pg_stat_progress_copy WHERE tuples_processed > 0")
	  or die "no load in progress";
	return ($h, \$out, \$err);
}

sub counts
{
	return $node->safe_psql('postgres',
		"SELECT (SELECT count(*) FROM energy_file) || ',' || (SELECT count(*) FROM energy_reading r, energy_block_readings(r.block, r.day))"
		  . " || ',' || (SELECT count(*) FROM energy_segment) || ',' || (SELECT count(*) FROM energy_daily)");
}

# --- progress, then kill -9 --------------------------------------------
my ($h, $out, $err) = start_load($file);
my $progress = $node->safe_psql('postgres',
	"SELECT relid::regclass, command, type, bytes_total, bytes_processed > 0, tuples_processed > 0
	   FROM pg_stat_progress_copy");
is($progress, "energy_reading|COPY FROM|FILE|$size|t|t",
	'a running load reports into pg_stat_progress_copy');
my $pid = $node->safe_psql('postgres', 'SELECT pid FROM pg_stat_progress_copy');
my $offset = -s $node->logfile;
kill 'KILL', $pid;
$h->finish;
isnt($h->result, 0, 'the killed load failed');

# The postmaster reinitialises after the crash (connections succeed until
# it notices, then fail until recovery ends): wait in its log for the
# restart and for recovery's end.
$node->wait_for_log(
	qr/all server processes terminated; reinitializing.*database system is ready to accept connections/s,
	$offset);
$node->poll_query_until('postgres', 'SELECT true', 't')
  or die "server did not come back";
is(counts(), '0,0,0,0', 'after the crash nothing of the file is visible');

my $result = $node->safe_psql('postgres', "SELECT rows_loaded, action FROM energy_load('$file')");
is($result, "$rows|loaded", 'the same file then loads in full');
is($node->safe_psql('postgres', 'SELECT count(*) FROM energy_reading r, energy_block_readings(r.block, r.day)'), $rows, 'every row once');

# --- cancel ---------------------------------------------------------------
my $copy = "$dir/LP_cancel.csv";
system('cp', $file, $copy) == 0 or die "cp failed";
my $before = counts();
($h, $out, $err) = start_load($copy);
$pid = $node->safe_psql('postgres', 'SELECT pid FROM pg_stat_progress_copy');
$node->safe_psql('postgres', "SELECT pg_cancel_backend($pid)");
$h->finish;
like($$err, qr/canceling statement due to user request/, 'the load was cancelled');
is(counts(), $before, 'a cancelled load leaves nothing');
is($node->safe_psql('postgres', 'SELECT count(*) FROM pg_stat_progress_copy'), '0',
	'and its progress row is gone');

# --- statement_timeout --------------------------------------------------
my $timeout_copy = "$dir/LP_timeout.csv";
system('cp', $file, $timeout_copy) == 0 or die "cp failed";
$before = counts();
my ($ret, $stdout, $stderr) = $node->psql('postgres',
	"SET statement_timeout = '300ms'; SELECT * FROM energy_load('$timeout_copy')");
like($stderr, qr/canceling statement due to statement timeout/,
	'statement_timeout stops a long load');
is(counts(), $before, 'a timed-out load leaves nothing');

$node->stop;
done_testing();
