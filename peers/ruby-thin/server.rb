# Peer: a Rack app on Thin (Debian thin, EventMachine), default server options.
# Usage: ruby peers/ruby-thin/server.rb PORT   (or $PORT)
require 'thin'

FIXTURES = File.expand_path('../../fixtures', __dir__)
HELLO = File.binread(File.join(FIXTURES, 'hello.html'))
NOT_FOUND = File.binread(File.join(FIXTURES, '404.html'))
SLEEP = Float(ENV.fetch('SLEEP_SECS', '1'))
port = Integer(ARGV[0] || ENV.fetch('PORT'))

def page(status, body)
  [status, { 'Content-Type' => 'text/html', 'Content-Length' => body.bytesize.to_s }, [body]]
end

# Thin itself leaves out the body of a response to HEAD.
app = lambda do |env|
  get = %w[GET HEAD].include?(env['REQUEST_METHOD'])
  if get && env['PATH_INFO'] == '/'
    page(200, HELLO)
  elsif get && env['PATH_INFO'] == '/sleep'
    # Thin's asynchronous response: an EventMachine timer answers through async.callback.
    callback = env['async.callback']
    EM.add_timer(SLEEP) { callback.call(page(200, HELLO)) }
    Thin::Connection::AsyncResponse
  else
    page(404, NOT_FOUND)
  end
end

Thin::Logging.silent = true # Thin's own start-up lines; the one line below says it listens
EM.run do
  # In a running reactor, start binds and returns. Thin's signal handlers would stop the server
  # but, since Thin did not start this reactor, not the process: stop the reactor instead.
  Thin::Server.new('127.0.0.1', port, app, signals: false).start
  %w[INT TERM].each { |signal| trap(signal) { EM.stop } }
  puts "listening on http://127.0.0.1:#{port}"
  $stdout.flush
end
