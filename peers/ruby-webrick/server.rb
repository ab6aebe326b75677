# Peer: Ruby's WEBrick (Debian ruby-webrick), default HTTPServer, one servlet on "/".
# Usage: ruby peers/ruby-webrick/server.rb PORT   (or $PORT)
require 'webrick'

FIXTURES = File.expand_path('../../fixtures', __dir__)
HELLO = File.binread(File.join(FIXTURES, 'hello.html'))
NOT_FOUND = File.binread(File.join(FIXTURES, '404.html'))
SLEEP = Float(ENV.fetch('SLEEP_SECS', '1'))
port = Integer(ARGV[0] || ENV.fetch('PORT'))

# A servlet: do_GET also answers HEAD (AbstractServlet#do_HEAD, WEBrick drops the body);
# other methods get WEBrick's own 405.
class Pages < WEBrick::HTTPServlet::AbstractServlet
  def do_GET(req, res)
    case req.path
    when '/' then page(res, 200, HELLO)
    when '/sleep'
      sleep SLEEP # WEBrick runs each connection in its own thread
      page(res, 200, HELLO)
    else page(res, 404, NOT_FOUND)
    end
  end

  def page(res, status, body)
    res.status = status
    res['Content-Type'] = 'text/html'
    res.body = body
  end
end

server = WEBrick::HTTPServer.new(
  BindAddress: '127.0.0.1', Port: port,
  Logger: WEBrick::Log.new($stderr, WEBrick::BasicLog::WARN), AccessLog: [],
  # WEBrick listens in new; start calls this before its accept loop.
  StartCallback: -> { puts "listening on http://127.0.0.1:#{port}"; $stdout.flush }
)
server.mount('/', Pages)
server.start
