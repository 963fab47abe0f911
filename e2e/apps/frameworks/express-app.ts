// An Express 5 app as people write them, served unchanged by tsgi (export `app`) and by Node's http server.
import { getCurrent, getHub, sleep } from '@tsgi/hub';
import express from 'express';

export const app = express();

app.get('/json', (req, res) => {
  res.json({ framework: 'express', ok: true, q: req.query.q ?? null, host: req.headers.host, protocol: req.protocol });
});

app.post('/echo', express.raw({ type: '*/*', limit: '10mb' }), (req, res) => {
  res.type('text/plain').send(`echo:${(req.body as Buffer).toString()}`);
});

app.get('/stream', async (_req, res) => {
  res.type('text/plain');
  for (let i = 0; i < 3; i++) {
    res.write(`chunk ${i}\n`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  res.end();
});

app.get('/sse', async (req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
  let open = true;
  req.on('close', () => (open = false));
  for (let i = 0; i < 3 && open; i++) {
    res.write(`data: ${i}\n\n`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  res.end();
});

app.get('/throw', () => {
  throw new Error('boom from express');
});

app.get('/hub', async (_req, res) => {
  await sleep(0.05);
  res.json({ slept: true, inGreenlet: getCurrent() !== getHub().main });
});

app.get('/stuck', async (_req, res) => {
  await sleep(60);
  res.send('too late');
});
