#!/usr/bin/env perl
# Peer: Mojolicious::Lite on Mojo::Server::Daemon (Debian libmojolicious-perl), defaults.
# Usage: perl peers/perl-mojolicious/server.pl PORT   (or $PORT)
use Mojolicious::Lite;
use Mojo::File qw(curfile);
use Mojo::IOLoop;
use Mojo::Server::Daemon;

my $fixtures  = curfile->dirname->dirname->dirname->child('fixtures');
my $hello     = $fixtures->child('hello.html')->slurp;
my $not_found = $fixtures->child('404.html')->slurp;
my $sleep     = $ENV{SLEEP_SECS} // 1;
my $port      = $ARGV[0] // $ENV{PORT};

# get routes also answer HEAD (Mojo leaves the body out); other methods get the 404 below.
get '/' => sub { shift->render(data => $hello, format => 'html') };
get '/sleep' => sub {
  my $c = shift;
  $c->render_later;
  Mojo::IOLoop->timer($sleep => sub { $c->render(data => $hello, format => 'html') });
};

# Mojolicious's documented hook for its not_found page: render ours instead.
hook before_render => sub {
  my ($c, $args) = @_;
  return unless ($args->{template} // '') =~ /^not_found\b/;
  @$args{qw(data format)} = ($not_found, 'html');
};

app->log->level('warn');    # no line per request
my $daemon = Mojo::Server::Daemon->new(app => app, listen => ["http://127.0.0.1:$port"], silent => 1);
$daemon->start;             # listens now
$| = 1;
print "listening on http://127.0.0.1:$port\n";
Mojo::IOLoop->start;
