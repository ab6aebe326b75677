# Peer: a Rack app on Puma (Debian puma + ruby-rack), Puma's default configuration.
# Usage: ruby peers/ruby-puma/server.rb PORT   (or $PORT)
require 'rack'
require 'rack/handler/puma'

FIXTURES = File.expand_path('../../fixtures', __dir__)
HELLO = File.binread(File.join(FIXTURES, 'hello.html'))
NOT_FOUND = File.binread(File.join(FIXTURES, '404.html'))
SLEEP = Float(ENV.fetch('SLEEP_SECS', '1'))
port = Integer(ARGV[0] || ENV.fetch('PORT'))

def page(status, body)
  [status, { 'Content-Type' => 'text/html', 'Content-Length' => body.bytesize.to_s }, [body]]
end

# Puma itself leaves out the body of a response to HEAD.
app = lambda do |env|
  get = %w[GET HEAD].include?(env['REQUEST_METHOD'])
  if get && env['PATH_INFO'] == '/'
    page(200, HELLO)
  elsif get && env['PATH_INFO'] == '/sleep'
    sleep SLEEP # each request runs in one of Puma's pool threads
    page(200, HELLO)
  else
    page(404, NOT_FOUND)
  end
end

# Silent: Puma's own start-up banner is not printed; the one line below is, once booted.
Rack::Handler::Puma.run(app, Host: '127.0.0.1', Port: port, Silent: true) do |launcher|
  launcher.events.on_booted { puts "listening on http://127.0.0.1:#{port}"; $stdout.flush }
end
