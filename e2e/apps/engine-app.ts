// The app the server's e2e tests run on `tsgi`: one route per behaviour under test.
import { createHash } from 'node:crypto';
import { sleep, spawn } from '@tsgi/hub';
import type { Environ, StartResponse } from '@tsgi/server';
import uwsgi from '@tsgi/server/uwsgi';

let running = 0;
let maxRunning = 0;

function query(environ: Environ): URLSearchParams {
  return new URLSearchParams(environ.QUERY_STRING);
}

export async function* application(environ: Environ, startResponse: StartResponse): AsyncGenerator<string | Buffer> {
  const path = environ.PATH_INFO;
  const q = query(environ);
  switch (path) {
    case '/hello':
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      yield 'Hello World';
      return;
    case '/sleep': {
      running++;
      maxRunning = Math.max(maxRunning, running);
      try {
        await sleep(Number(q.get('s') ?? '1'));
      } finally {
        running--;
      }
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      yield `slept on core ${String(environ['uwsgi.core'])}\n`;
      return;
    }
    case '/max-running':
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      yield String(maxRunning);
      maxRunning = running;
      return;
    case '/stream': {
      const total = Number(q.get('mb') ?? '1') * 1024 * 1024;
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      startResponse('200 OK', [['Content-Type', 'application/octet-stream']]);
      for (let sent = 0; sent < total; sent += chunk.length) yield chunk;
      return;
    }
    case '/echo': {
      const body = await (environ['tsgi.input'] as { readAll(): Promise<Buffer> }).readAll();
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      yield `${body.length} ${createHash('sha256').update(body).digest('hex')}`;
      return;
    }
    case '/throw-before':
      throw new Error('boom before the response started');
    case '/throw-after':
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      yield 'partial ';
      throw new Error('boom after the headers went out');
    case '/async-api':
      uwsgi.suspend();
      return;
    case '/context': {
      // uwsgi.requestContext() from a greenlet the request spawned (uWSGI: current_wsgi_req NOT FOUND).
      const child = spawn(() => uwsgi.requestContext().uri);
      const uri = await child.get();
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      yield `child saw ${uri} on worker ${uwsgi.workerId()}`;
      return;
    }
    case '/background': {
      const tag = q.get('tag') ?? 'x';
      spawn(async () => {
        for (let i = 1; i <= 3; i++) {
          await sleep(0.2);
          console.log(`background ${tag} ${i}`);
        }
      });
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      yield `spawned ${tag}; background greenlets now ${uwsgi.backgroundGreenlets()}`;
      return;
    }
    case '/block': {
      // A synchronous loop: the worker's event loop is blocked, as with a CPU-bound bug.
      const until = Date.now() + Number(q.get('s') ?? '30') * 1000;
      while (Date.now() < until);
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      yield 'unblocked';
      return;
    }
    case '/harakiri':
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      await sleep(60);
      yield 'never';
      return;
    default:
      startResponse('404 Not Found', [['Content-Type', 'text/plain']]);
      yield `no route for ${path}\n`;
  }
}
