// A Koa 3 app, served unchanged by tsgi (export default: the Koa instance) and by Node's http server.
import { PassThrough } from 'node:stream';
import { getCurrent, getHub, sleep } from '@tsgi/hub';
import Koa from 'koa';

const app = new Koa();
app.silent = true;

app.use(async (ctx) => {
  switch (`${ctx.method} ${ctx.path}`) {
    case 'GET /json':
      ctx.body = { framework: 'koa', ok: true, q: ctx.query.q ?? null, host: ctx.host, protocol: ctx.protocol };
      return;
    case 'POST /echo': {
      const parts: Buffer[] = [];
      for await (const chunk of ctx.req) parts.push(chunk as Buffer);
      ctx.type = 'text/plain';
      ctx.body = `echo:${Buffer.concat(parts).toString()}`;
      return;
    }
    case 'GET /stream':
    case 'GET /sse': {
      const sse = ctx.path === '/sse';
      const stream = new PassThrough();
      ctx.type = sse ? 'text/event-stream' : 'text/plain';
      ctx.body = stream;
      void (async () => {
        for (let i = 0; i < 3; i++) {
          stream.write(sse ? `data: ${i}\n\n` : `chunk ${i}\n`);
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        stream.end();
      })();
      return;
    }
    case 'GET /throw':
      throw new Error('boom from koa');
    case 'GET /hub':
      await sleep(0.05);
      ctx.body = { slept: true, inGreenlet: getCurrent() !== getHub().main };
      return;
  }
});

export default app;
