#!/usr/bin/perl
# sisimai_batch.pl - the peer of `make bench` for bounce-proc: Sisimai (Debian libsisimai-perl)
# reading N messages in one process, as a batch run over an archive does.
#   perl sisimai_batch.pl N FILE...     parses FILE... round-robin until N messages; prints
#                                       "N RECIPIENTS" (recipients found, a sanity figure).
# Newlines are normalised to LF first (Sisimai 4.25 cannot read CR-only files).
use strict; use warnings;
use Sisimai;
my $n = shift @ARGV;
my @msgs;
for my $f (@ARGV) {
    open(my $fh, '<:raw', $f) or die "$f: $!";
    local $/;
    my $s = <$fh> // '';
    $s =~ s/\r\n?/\n/g;
    push @msgs, $s;
}
die "no messages\n" unless @msgs;
my ($done, $rcpts) = (0, 0);
while ($done < $n) {
    for my $m (@msgs) {
        my $text = $m;
        my $list = eval { Sisimai->make(\$text) } || [];
        $rcpts += scalar @$list;
        last if ++$done >= $n;
    }
}
print "$done $rcpts\n";
