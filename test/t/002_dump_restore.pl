# pg_dump keeps the data: the extension's tables hold the users' readings,
# so they are marked for dumping (pg_extension_config_dump), and a restore
# into a new database gives back every row, the sequences' positions, and -
# after a refresh - the same answers.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('dump');
$node->init;
$node->start;

my $dir = PostgreSQL::Test::Utils::tempdir;
system("cp datafiles/*.csv $dir/") == 0 or die "could not copy datafiles";
$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', "CREATE EXTENSION energy; SELECT count(*) FROM energy_load('$dir'); SELECT energy_populate_view()");

my $summary = q{
	SELECT (SELECT count(*) FROM energy_file) || ' files, '
	    || (SELECT count(*) FROM energy_data) || ' rows, '
	    || (SELECT count(*) FROM energy_daily) || ' partials, '
	    || (SELECT string_agg(meter_code || '/' || day || '/' || readings || '/' || avg_energy, ' ' ORDER BY 1)
	          FROM energy_data_view)
};
my $before = $node->safe_psql('src', $summary);

my $dump = "$dir/src.dump";
$node->command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', $node->connstr('src') ], 'pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE dst');
$node->command_ok([ 'pg_restore', '-d', $node->connstr('dst'), $dump ], 'pg_restore');

# A restored view is empty until refreshed; energy_get says so, not ERROR.
my ($ret, $out, $err) = $node->psql('dst',
	"SELECT count(*) FROM energy_get('210095893', '210095893', '01/09/2015')");
is($out, '0', 'before a refresh, energy_get returns no row');
like($err, qr/has not been populated yet/, '... and says why');

$node->safe_psql('dst', 'SELECT energy_populate_view()');
is($node->safe_psql('dst', $summary), $before, 'every row and every answer is back');

# The sequences continue past the restored ids: loading more works.
$node->safe_psql('dst', "COPY (VALUES ('MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Data Value,Units,Status'), ('999,999,P9,01/01/2025 00:00:00,Import Wh Total,1.5,kwh,')) TO '$dir/LP_new.csv'");
is($node->safe_psql('dst', "SELECT action FROM energy_load('$dir/LP_new.csv')"), 'loaded', 'a new file loads after the restore');
is($node->safe_psql('dst', "SELECT action FROM energy_load('$dir/LP_210095893_20150901T011608049.csv')"),
	'unchanged', 'a restored file is still recognised');
is($node->safe_psql('dst', 'SELECT count(*) FROM energy_file'), '5', 'the four exports and the new file');

$node->stop;
done_testing();
