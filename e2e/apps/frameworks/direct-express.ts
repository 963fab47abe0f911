// An Express app whose routes report how they are served: on --http-socket tsgi hands Express the
// req/res of its own HTTP server (the direct path); through uwsgi_pass they are rebuilt from the environ.
import net from 'node:net';
import { getCurrent, getHub, sleep } from '@tsgi/hub';
import { requestContext } from '@tsgi/server/uwsgi';
import express from 'express';

export const app = express();

let active = 0;
let most = 0;

app.get('/socket', (req, res) => {
  res.json({
    realSocket: req.socket instanceof net.Socket,
    sameSocket: req.socket === res.socket,
    core: requestContext().core,
    inGreenlet: getCurrent() !== getHub().main,
  });
});

app.get('/slow', async (_req, res) => {
  active++;
  most = Math.max(most, active);
  await sleep(0.3);
  active--;
  res.send('slow done');
});

app.get('/most', (_req, res) => {
  res.json({ most });
});

app.get('/bytes', (_req, res) => {
  res.type('text/plain');
  res.write('abc');
  res.end('defgh');
});

app.get('/drip', async (_req, res) => {
  res.type('text/plain');
  for (let i = 0; i < 50 && !res.destroyed; i++) {
    res.write(`drop ${i}\n`);
    await sleep(0.1);
  }
  res.end();
});

app.get('/stuck', async (_req, res) => {
  await sleep(60);
  res.send('too late');
});

app.get('/stuck-after-headers', async (_req, res) => {
  res.type('text/plain');
  res.write('started\n');
  await sleep(60);
  res.end('too late');
});
