// Peer: Node's built-in http module, with default options.
// Usage: node peers/node-http/server.js PORT   (or $PORT)
'use strict';
const http = require('http');
const fs = require('fs');
const path = require('path');

const fixtures = path.join(__dirname, '..', '..', 'fixtures');
const hello = fs.readFileSync(path.join(fixtures, 'hello.html'));
const notFound = fs.readFileSync(path.join(fixtures, '404.html'));
const port = Number(process.argv[2] || process.env.PORT);
const sleepMs = Number(process.env.SLEEP_SECS || '1') * 1000;

function send(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'text/html', 'Content-Length': body.length });
  res.end(body); // Node omits the body itself for HEAD
}

const server = http.createServer((req, res) => {
  const get = req.method === 'GET' || req.method === 'HEAD';
  if (get && req.url === '/') {
    send(res, 200, hello);
  } else if (get && req.url === '/sleep') {
    setTimeout(() => send(res, 200, hello), sleepMs);
  } else {
    send(res, 404, notFound);
  }
});

server.listen(port, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
