// A Hono 4 app, served unchanged by tsgi (export default app: an object with fetch) and by @hono/node-server.
import { getCurrent, getHub, sleep } from '@tsgi/hub';
import { Hono } from 'hono';
import { stream, streamSSE } from 'hono/streaming';

const app = new Hono();

app.get('/json', (c) => {
  const url = new URL(c.req.url);
  return c.json({ framework: 'hono', ok: true, q: c.req.query('q') ?? null, host: c.req.header('host'), protocol: url.protocol.replace(':', '') });
});

app.post('/echo', async (c) => c.text(`echo:${await c.req.text()}`));

app.get('/stream', (c) => {
  c.header('Content-Type', 'text/plain');
  return stream(c, async (s) => {
    for (let i = 0; i < 3; i++) {
      await s.write(`chunk ${i}\n`);
      await s.sleep(200);
    }
  });
});

app.get('/sse', (c) =>
  streamSSE(c, async (s) => {
    for (let i = 0; i < 3; i++) {
      await s.writeSSE({ data: String(i) });
      await s.sleep(200);
    }
  }),
);

app.get('/throw', () => {
  throw new Error('boom from hono');
});

app.get('/hub', async (c) => {
  await sleep(0.05);
  return c.json({ slept: true, inGreenlet: getCurrent() !== getHub().main });
});

export default app;
