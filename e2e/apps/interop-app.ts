// The interop and benchmark app for tsgi: the TypeScript twin of e2e/reference/interop.py, route
// for route (/crazy, /echo, /headers, /status/404, /status/500, /hello, /sleep, /stream), so every
// pair in the interop suite and every benchmark runs the same app on tsgi as on uWSGI.
import { createHash } from 'node:crypto';
import { sleep } from '@tsgi/hub';
import type { Environ, StartResponse, TsgiApplication } from '@tsgi/server';
import { application as crazy } from '../../examples/crazy/app.ts';

const CHUNK = Buffer.from('x'.repeat(1023) + '\n');

const text = (startResponse: StartResponse, status: string, body: string, extra: Array<[string, string]> = []): Buffer[] => {
  const bytes = Buffer.from(body);
  startResponse(status, [['Content-Type', 'text/plain'], ['Content-Length', String(bytes.length)], ...extra]);
  return [bytes];
};

const routes: Record<string, TsgiApplication> = {
  crazy: crazy as TsgiApplication,
  async echo(environ, startResponse) {
    const input = environ['tsgi.input'] as AsyncIterable<Buffer>;
    const digest = createHash('sha256');
    let length = 0;
    for await (const piece of input) {
      digest.update(piece);
      length += piece.length;
    }
    const body = Buffer.from(JSON.stringify({ length, sha256: digest.digest('hex') }));
    startResponse('200 OK', [['Content-Type', 'application/json'], ['Content-Length', String(body.length)]]);
    return [body];
  },
  headers(environ, startResponse) {
    const seen: Record<string, string> = {};
    for (const key of Object.keys(environ).sort()) {
      if (key.startsWith('HTTP_') || key === 'CONTENT_TYPE' || key === 'CONTENT_LENGTH') seen[key] = String(environ[key]);
    }
    // Values are latin1 strings, byte for byte, as WSGI decodes them; JSON carries them as such.
    const body = Buffer.from(JSON.stringify(seen), 'utf8');
    startResponse('200 OK', [['Content-Type', 'application/json'], ['Content-Length', String(body.length)]]);
    return [body];
  },
  hello(environ, startResponse) {
    startResponse('200 OK', [['Content-Type', 'text/plain'], ['Content-Length', '11']]);
    return ['Hello World'];
  },
  async sleep(environ, startResponse) {
    const seconds = Number(new URLSearchParams(environ.QUERY_STRING).get('s') ?? '1');
    await sleep(seconds);
    return text(startResponse, '200 OK', `slept ${seconds.toFixed(3)}\n`);
  },
  status(environ, startResponse) {
    const path = environ.PATH_INFO;
    if (path.endsWith('/404')) return text(startResponse, '404 Not Found', 'no such thing\n', [['X-Reference-Status', '404']]);
    if (path.endsWith('/500')) return text(startResponse, '500 Internal Server Error', 'the app says it failed\n', [['X-Reference-Status', '500']]);
    return text(startResponse, '200 OK', 'fine\n', [['X-Reference-Status', '200']]);
  },
  *stream(environ, startResponse) {
    const count = Number(new URLSearchParams(environ.QUERY_STRING).get('kb') ?? '1024');
    startResponse('200 OK', [['Content-Type', 'application/octet-stream']]);
    for (let i = 0; i < count; i++) yield CHUNK;
  },
};

export function application(environ: Environ, startResponse: StartResponse) {
  const first = environ.PATH_INFO.replace(/^\/+/, '').split('/', 1)[0];
  const app = routes[first];
  if (app === undefined) return text(startResponse, '404 Not Found', 'unknown route\n');
  return app(environ, startResponse);
}
