// Peer: Express (npm), default app settings; unmatched requests fall through to a 404 handler.
// Usage: node peers/node-express/server.js PORT   (or $PORT)
'use strict';
const express = require('express');
const fs = require('fs');
const path = require('path');

const fixtures = path.join(__dirname, '..', '..', 'fixtures');
const hello = fs.readFileSync(path.join(fixtures, 'hello.html'));
const notFound = fs.readFileSync(path.join(fixtures, '404.html'));
const port = Number(process.argv[2] || process.env.PORT);
const sleepMs = Number(process.env.SLEEP_SECS || '1') * 1000;

const app = express();
app.get('/', (req, res) => res.type('html').send(hello)); // GET routes also answer HEAD
app.get('/sleep', (req, res) => setTimeout(() => res.type('html').send(hello), sleepMs));
app.use((req, res) => res.status(404).type('html').send(notFound));

const server = app.listen(port, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
