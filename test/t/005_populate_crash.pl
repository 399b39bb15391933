# A populate killed with SIGKILL leaves energy_data_view as it was before it,
# or as it is after it, never half: its rows are written in the populate's
# transaction, so crash recovery keeps all of them or none.  After recovery
# the view's heap and unique index agree (amcheck), the change log still
# holds what the lost populate took, and the next populate finishes the job.
use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('populate');
$node->init;
$node->append_conf('postgresql.conf', "restart_after_crash = on\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION energy; CREATE EXTENSION amcheck');

# 20,000 meters x 5 days, one reading each: 100,000 meter-days, so that a
# populate rewriting all of them takes long enough to be caught.
my $dir = PostgreSQL::Test::Utils::tempdir;
sub write_file
{
	my ($name, $value, $hour) = @_;
	open my $fh, '>', "$dir/$name" or die "could not write $dir/$name: $!";
	print $fh "MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Data Value,Units,Status\n";
	for my $m (1 .. 20000)
	{
		for my $d (1 .. 5)
		{
			printf $fh "%d,%d,P,%02d/06/2024 %02d:00:00,Import Wh Total,%d.5,kwh,\n",
			  800000000 + $m, 800000000 + $m, $d, $hour, $value + $m % 7;
		}
	}
	close $fh;
}
# Other hours of the same days: both files' readings count.
write_file('first.csv', 1, 10);
write_file('second.csv', 100, 11);
$node->safe_psql('postgres', "SELECT count(*) FROM energy_load('$dir/first.csv'); SELECT energy_populate_view()");
$node->safe_psql('postgres', "SELECT count(*) FROM energy_load('$dir/second.csv')");
$node->safe_psql('postgres', 'CREATE TABLE before AS SELECT * FROM energy_data_view');

my $definition = $node->safe_psql('postgres',
	"SELECT rtrim(pg_get_viewdef('energy_data_view'::regclass), E'; \\n')");
sub differences_from
{
	my ($other) = @_;
	return $node->safe_psql('postgres',
		"SELECT count(*) FROM ((TABLE energy_data_view EXCEPT ALL ($other))"
		  . " UNION ALL (($other) EXCEPT ALL TABLE energy_data_view)) d");
}
sub pending
{
	return $node->safe_psql('postgres', 'SELECT count(DISTINCT (meter_id, day)) FROM energy_change');
}
# A backend killed, the postmaster restarts every process: connections
# still succeed until it notices, and then fail until recovery ends (psql
# may then exit before poll_query_until writes its query: a broken pipe).
# So wait in the log for the restart and for recovery's end.
sub kill_backend
{
	my ($pid) = @_;
	my $offset = -s $node->logfile;
	kill 'KILL', $pid or die "could not kill $pid";
	$node->wait_for_log(
		qr/all server processes terminated; reinitializing.*database system is ready to accept connections/s,
		$offset);
	$node->poll_query_until('postgres', 'SELECT true') or die "server did not come back";
}

is(differences_from('TABLE before'), '0', 'the view before: the first file only');
is(pending(), '100000', 'the second file left 100,000 meter-days to rewrite');

# --- killed after populating, before COMMIT: the view is as before ------
my ($in, $out, $err) = ('', '', '');
my $h = IPC::Run::start([ 'psql', '-XAtq', '-d', $node->connstr('postgres') ],
	'<', \$in, '>', \$out, '2>', \$err);
$in .= "BEGIN;\nSELECT pg_backend_pid();\nSELECT energy_populate_view();\n";
$h->pump until $out =~ /^\d+\n\d+\n/m || !$h->pumpable;
my ($pid, $rows) = $out =~ /^(\d+)\n(\d+)\n/;
die "psql failed: $err" unless defined $pid;
# The populate ran to its end (its row count came back) and its
# transaction is still open, with the rows it wrote, when it is killed.
is($rows, '100000', 'populate ran to its end inside an open transaction');
ok($node->poll_query_until('postgres',
		"SELECT state = 'idle in transaction' AND backend_xid IS NOT NULL FROM pg_stat_activity WHERE pid = $pid"),
	'... which is open and has written when it is killed');
kill_backend($pid);
$h->finish;
is(differences_from('TABLE before'), '0', 'killed before COMMIT: the view is exactly as before');
is(pending(), '100000', '... and the change log still holds every meter-day');
is($node->safe_psql('postgres', "SELECT bt_index_check('energy_data_view_key', true)"), '',
	'heap and unique index agree');

# --- killed while populating: before or after, never between ------------
($in, $out, $err) = ('', '', '');
$h = IPC::Run::start([ 'psql', '-XAtq', '-d', $node->connstr('postgres') ],
	'<', \$in, '>', \$out, '2>', \$err);
$in .= "SELECT pg_backend_pid();\nSELECT energy_populate_view();\n";
$h->pump until $out =~ /^\d+\n/m || !$h->pumpable;
($pid) = $out =~ /^(\d+)\n/;
$node->poll_query_until('postgres',
	"SELECT count(*) > 0 FROM pg_stat_activity WHERE pid = $pid AND state = 'active' AND query LIKE '%energy_populate_view%'")
  or die "populate did not start";
kill_backend($pid);
$h->finish;
my $as_before = differences_from('TABLE before');
my $as_after = differences_from($definition);
ok($as_before eq '0' || $as_after eq '0', "killed mid-populate: the view is whole (before: $as_before, after: $as_after differences)");
is(pending(), $as_before eq '0' ? '100000' : '0', '... and the change log matches the view it left');
is($node->safe_psql('postgres', "SELECT bt_index_check('energy_data_view_key', true)"), '',
	'heap and unique index agree');

# --- the next populate finishes the job --------------------------------
is($node->safe_psql('postgres', 'SELECT energy_populate_view()'), '100000', 'populate: 100,000 rows');
is(differences_from($definition), '0', 'the view equals its defining query');
is(pending(), '0', 'the change log is empty');
is($node->safe_psql('postgres', "SELECT readings || ' ' || avg_energy FROM energy_get('800000007', '800000007', '03/06/2024')"),
	'2 51', 'both files count: (1.5 + 100.5) / 2');

$node->stop;
done_testing();
