# On a Citus node, energy's tables that Citus distributes or replicates
# still look like plain tables, but their rows live in shards: a load into
# them is refused (0A000), before anything of it is written, instead of
# writing rows no query reads.  Needs Citus: skipped, by name, where it is
# not installed.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $pkglibdir = `pg_config --pkglibdir`;
chomp $pkglibdir;
plan skip_all => 'Citus not installed' unless -e "$pkglibdir/citus.so";

my $node = PostgreSQL::Test::Cluster->new('citus');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'citus'\n");
$node->start;
my $port = $node->port;
$node->safe_psql('postgres', qq{
	CREATE EXTENSION citus;
	SELECT citus_set_coordinator_host('localhost', $port);
	CREATE EXTENSION energy;
});

my $lp = "MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Data Value,Units,Status\n"
  . "910,910,P,02/09/2015 00:15:00,Import Wh Total,2.5,kwh,\n";
my $load = "SELECT rows_loaded FROM energy_load_data('c.csv', convert_to(\$\$$lp\$\$, 'UTF8'))";

# Citus installed, energy's tables local: loads work as on any server.
is($node->safe_psql('postgres', $load), '1', 'local tables: the file loads');
$node->safe_psql('postgres', "SELECT energy_unload('c.csv')");

# The change log made a Citus reference table: refused, nothing written.
$node->safe_psql('postgres', "SELECT create_reference_table('energy_change')");
my ($rc, $out, $err) = $node->psql('postgres', $load, on_error_stop => 1,
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
isnt($rc, 0, 'a Citus table: the load fails');
like($err, qr/0A000/, '... with SQLSTATE 0A000');
like($err, qr/cannot bulk load into "energy_change": it is a Citus table/, '... naming the table');
is($node->safe_psql('postgres', 'SELECT count(*) FROM energy_file'), '0', '... and nothing of the file remains');

$node->stop;
done_testing();
