#!/usr/bin/env perl
# Peer: a PSGI app on Starman (Debian starman + libplack-perl), Starman's defaults (5 preforked workers).
# Usage: perl peers/perl-starman/server.pl PORT   (or $PORT)
use strict;
use warnings;
use File::Basename qw(dirname);
use File::Spec::Functions qw(catfile rel2abs);
use Plack::Builder;
use Plack::Handler::Starman;
use Time::HiRes ();

my $fixtures = catfile(dirname(rel2abs(__FILE__)), '..', '..', 'fixtures');
sub slurp { open my $fh, '<:raw', $_[0] or die "$_[0]: $!"; local $/; <$fh> }
my $hello     = slurp(catfile($fixtures, 'hello.html'));
my $not_found = slurp(catfile($fixtures, '404.html'));
my $sleep     = $ENV{SLEEP_SECS} // 1;
my $port      = $ARGV[0] // $ENV{PORT};

sub page { [$_[0], ['Content-Type' => 'text/html', 'Content-Length' => length $_[1]], [$_[1]]] }

my $app = sub {
  my $env = shift;
  my $get = $env->{REQUEST_METHOD} eq 'GET' || $env->{REQUEST_METHOD} eq 'HEAD';
  return page(200, $hello) if $get && $env->{PATH_INFO} eq '/';
  if ($get && $env->{PATH_INFO} eq '/sleep') {
    Time::HiRes::sleep($sleep);    # a worker process per request
    return page(200, $hello);
  }
  return page(404, $not_found);
};

$| = 1;
# Starman sends whatever body the app returns, HEAD or not: Plack's own Head middleware
# (what PSGI apps use for it) drops the body of a response to HEAD.
Plack::Handler::Starman->new(
  host         => '127.0.0.1',
  port         => $port,
  server_ready => sub { print "listening on http://127.0.0.1:$_[0]{port}\n" },
)->run(builder { enable 'Head'; $app });
