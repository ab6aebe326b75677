// Peer: Fastify (npm), default server and router options; unmatched requests get the 404
// page through Fastify's setNotFoundHandler.
// Usage: node peers/node-fastify/server.js PORT   (or $PORT)
'use strict';
const fastify = require('fastify');
const fs = require('fs');
const path = require('path');
const { setTimeout: sleep } = require('timers/promises');

const fixtures = path.join(__dirname, '..', '..', 'fixtures');
const hello = fs.readFileSync(path.join(fixtures, 'hello.html'));
const notFound = fs.readFileSync(path.join(fixtures, '404.html'));
const port = Number(process.argv[2] || process.env.PORT);
const sleepMs = Number(process.env.SLEEP_SECS || '1') * 1000;

const app = fastify(); // GET routes also answer HEAD (exposeHeadRoutes)
app.get('/', async (req, reply) => reply.type('text/html').send(hello));
app.get('/sleep', async (req, reply) => {
  await sleep(sleepMs);
  return reply.type('text/html').send(hello);
});
app.setNotFoundHandler((req, reply) => reply.code(404).type('text/html').send(notFound));

app.listen({ port, host: '127.0.0.1' }).then((address) => {
  console.log(`listening on ${address}`);
});
