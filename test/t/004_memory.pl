# A load's memory does not grow with the number of new meters beyond the
# dictionary cache (about 100 bytes a meter).  1.0 kept every "not found"
# SPI result of the dictionary lookup, about 9 kB per new meter: 913 MB for
# 100,000 new meters, out of memory for a million.
#
# The peak is the backend's VmHWM, read by the backend itself after loading
# 200,000 new meters.  shared_buffers is kept small, since VmHWM also counts
# the shared buffers the backend touched.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $meters = 200_000;
my $bound_mb = 160;	# measured: about 90 MB; 1.0 needed about 1.8 GB

my $node = PostgreSQL::Test::Cluster->new('memory');
$node->init;
$node->append_conf('postgresql.conf', "shared_buffers = 16MB\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION energy');

my $dir = PostgreSQL::Test::Utils::tempdir;
my $file = "$dir/LP_new_meters.csv";
open my $fh, '>', $file or die "could not write $file: $!";
print $fh "MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Data Value,Units,Status\n";
for my $m (1 .. $meters)
{
	printf $fh "%d,%d,PL%06d,01/09/2015 00:15:00,Import Wh Total,%d.5,kwh,\n",
	  800000000 + $m, 800000000 + $m, $m, $m % 10;
}
close $fh;

my $out = $node->safe_psql('postgres', qq{
	SELECT rows_loaded FROM energy_load('$file');
	SELECT (regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'),
	                     'VmHWM:\\s*(\\d+) kB'))[1];
});
my ($rows, $hwm_kb) = split /\n/, $out;
is($rows, $meters, "$meters rows of $meters new meters loaded");
is($node->safe_psql('postgres', 'SELECT count(*) FROM energy_meter'), $meters,
	'each is a new meter');
my $hwm_mb = int($hwm_kb / 1024);
note("backend VmHWM after loading $meters new meters: $hwm_mb MB");
cmp_ok($hwm_mb, '<', $bound_mb, "peak backend memory stays under $bound_mb MB");

# A second load of the same meters finds them all in the dictionary.
$out = $node->safe_psql('postgres', qq{
	SELECT rows_loaded FROM energy_load_data('again.csv', pg_read_binary_file('$file'));
	SELECT count(*) FROM energy_meter;
});
is($out, "$meters\n$meters", 'known meters are found, not inserted again');

$node->stop;
done_testing();
