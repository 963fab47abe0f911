// A Fastify 5 app, served unchanged by tsgi (export `app`: the instance) and by its own listen().
import { getCurrent, getHub, sleep } from '@tsgi/hub';
import Fastify from 'fastify';

export const app = Fastify();

app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

app.get('/json', async (req) => {
  const protocol = req.protocol;
  return { framework: 'fastify', ok: true, q: (req.query as { q?: string }).q ?? null, host: req.headers.host, protocol };
});

app.post('/echo', async (req, reply) => {
  reply.type('text/plain');
  return `echo:${(req.body as Buffer).toString()}`;
});

for (const path of ['/stream', '/sse']) {
  app.get(path, (_req, reply) => {
    const sse = path === '/sse';
    reply.raw.writeHead(200, { 'Content-Type': sse ? 'text/event-stream' : 'text/plain' });
    reply.hijack();
    void (async () => {
      for (let i = 0; i < 3; i++) {
        reply.raw.write(sse ? `data: ${i}\n\n` : `chunk ${i}\n`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      reply.raw.end();
    })();
  });
}

app.get('/throw', async () => {
  throw new Error('boom from fastify');
});

app.get('/hub', async () => {
  await sleep(0.05);
  return { slept: true, inGreenlet: getCurrent() !== getHub().main };
});
