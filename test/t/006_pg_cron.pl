# The README's pg_cron recipe, run as written on a real pg_cron: a drop
# folder loaded (skip mode) and the views populated every minute.  A file
# dropped in appears in energy_get without any manual call; a broken file
# becomes a reject, and the next good file still loads.  pg_cron 1.4
# (Debian's postgresql-15-cron) schedules by the minute, so the test waits
# for one or two runs.  Skipped where pg_cron is not installed for the
# PostgreSQL under test.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('cron');
my $libdir = $node->config_data('--pkglibdir');
plan skip_all => "pg_cron is not installed for this PostgreSQL ($libdir)"
  unless -e "$libdir/pg_cron.so";

$node->init;
# The recipe's settings (README, "Loading a drop folder with pg_cron").
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'pg_cron'
cron.database_name = 'postgres'
cron.use_background_workers = on
max_worker_processes = 16
});
$node->start;

my $drop = PostgreSQL::Test::Utils::tempdir;
my $header = 'MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Data Value,Units,Status';

# Deliver a file as the recipe says: written beside, renamed in.
sub deliver
{
	my ($name, @lines) = @_;
	open(my $fh, '>', "$drop/.$name.part") or die "could not write $name: $!";
	print $fh join("\n", @lines), "\n";
	close($fh);
	rename("$drop/.$name.part", "$drop/$name") or die "could not rename $name: $!";
}

# Wait (at most 150 s: two or three runs) for a query to return true.
sub wait_for
{
	my ($sql) = @_;
	for (1 .. 150)
	{
		return 1 if $node->safe_psql('postgres', $sql) eq 't';
		sleep 1;
	}
	return 0;
}

$node->safe_psql('postgres', 'CREATE EXTENSION energy; CREATE EXTENSION pg_cron');
# The job, as in the README but for the folder's path.
$node->safe_psql('postgres', qq{
SELECT cron.schedule('energy-drop', '* * * * *',
  \$\$SELECT count(*) FROM energy_load('$drop', on_error => 'skip'); SELECT energy_populate_view()\$\$)});

deliver('LP_A.csv', $header,
	'CRONA,CRONA,P,01/03/2024 00:15:00,Import Wh Total,1.5,kwh,',
	'CRONA,CRONA,P,01/03/2024 00:30:00,Import Wh Total,2.5,kwh,');
ok(wait_for(q{SELECT EXISTS (SELECT FROM energy_get('CRONA', 'CRONA', '2024-03-01'::date))}),
	'a file dropped in appears in energy_get without a manual call');
is($node->safe_psql('postgres', q{SELECT readings || ' ' || avg_energy FROM energy_get('CRONA', 'CRONA', '2024-03-01'::date)}),
	'2 2', 'with its two readings, average 2');

# A broken file and, after it in name order, a good one.
deliver('LP_B.csv', 'this is not a meter file');
deliver('LP_C.csv', $header,
	'CRONC,CRONC,P,02/03/2024 00:15:00,Import Wh Total,4,kwh,');
ok(wait_for(q{SELECT EXISTS (SELECT FROM energy_get('CRONC', 'CRONC', '2024-03-02'::date))}),
	'the next good file still loads');
is($node->safe_psql('postgres', q{SELECT string_agg(file_name || ' ' || sqlstate, ',') FROM energy_rejects}),
	'LP_B.csv 22P04', 'the broken file is a reject');
is($node->safe_psql('postgres', q{SELECT string_agg(file_name, ',' ORDER BY file_name) FROM energy_file}),
	'LP_A.csv,LP_C.csv', 'energy_file holds the good files');
is($node->safe_psql('postgres', q{SELECT count(*) FILTER (WHERE status <> 'succeeded' AND status <> 'running') FROM cron.job_run_details}),
	'0', 'every run of the job succeeded (cron.job_run_details)');
cmp_ok($node->safe_psql('postgres', q{SELECT count(*) FROM cron.job_run_details WHERE status = 'succeeded'}),
	'>=', 2, 'the job ran at least twice');

$node->stop;
done_testing();
