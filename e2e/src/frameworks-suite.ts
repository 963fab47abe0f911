// The shared checks of the framework e2e tests (issue 10): one app per framework, served by tsgi
// through --http-socket and through nginx uwsgi_pass, and by the framework's own Node server in
// this process; the three must answer the same.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { registerTypeScriptLoader } from '@tsgi/server';
import { httpGetChunks, programSkipReason, REPO_ROOT, startNginx, startTsgi, type HttpChunksResult, type RunningNginx, type RunningTsgi } from './support/index.js';

// Express and Koa print stacks in error pages outside production; both servers run with the same setting.
process.env.NODE_ENV = 'production';

export interface NativeServer {
  url: string;
  close(): Promise<void>;
}

export interface FrameworkCase {
  name: string;
  /** File under e2e/apps/frameworks/. */
  file: string;
  /** Serves the module's app on the framework's own Node server (port 0). */
  native(module: Record<string, unknown>): Promise<NativeServer>;
  /** Routes beyond the common ones this app has (e.g. /stuck for harakiri). */
  stuckRoute?: string;
}

const skip = programSkipReason('tsgi');

interface Answer {
  status: number;
  type: string;
  body: string;
}

async function ask(base: string, path: string, options: { method?: string; body?: string } = {}): Promise<HttpChunksResult> {
  return httpGetChunks(base + path, {
    method: options.method,
    body: options.body,
    headers: options.body !== undefined ? { 'content-type': 'text/plain', 'content-length': String(Buffer.byteLength(options.body)) } : {},
    timeout: 20,
  });
}

function answer(res: HttpChunksResult): Answer {
  // `text/plain;charset=UTF-8` (undici's Response) and `text/plain; charset=UTF-8` (@hono/node-server's) are the same type.
  const type = String(res.headers['content-type'] ?? '').replace(/;\s*/g, '; ');
  const text = res.body.toString();
  const body = text.length > 200 ? `${text.slice(0, 40)}... (${res.body.length} bytes, sha1 ${createHash('sha1').update(res.body).digest('hex')})` : text;
  return { status: res.status, type, body };
}

/** The /json answer names the Host it saw, which differs per server: checked, then left out. */
function normaliseJson(a: Answer, base: string, via: string): Answer {
  const parsed = JSON.parse(a.body) as Record<string, unknown>;
  // Debian's uwsgi_params sends `HTTP_HOST $host`: the name without the port (uwsgi-observed-here.md).
  const host = via.startsWith('nginx') ? new URL(base).hostname : new URL(base).host;
  assert.equal(parsed.host, host, `through ${via}, the app saw the Host header the client sent to ${base}`);
  delete parsed.host;
  return { ...a, body: JSON.stringify(parsed) };
}

export function frameworkSuite(c: FrameworkCase): void {
  const file = join(REPO_ROOT, 'e2e', 'apps', 'frameworks', c.file);
  describe(`${c.name} on tsgi`, { skip }, () => {
    let tsgi: RunningTsgi;
    let nginx: RunningNginx;
    let native: NativeServer;
    let bases: Array<[string, string]>;

    before(async () => {
      registerTypeScriptLoader();
      const module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
      native = await c.native(module);
      // --socket before --http-socket: the socket numbering follows the kind for now.
      tsgi = await startTsgi(['--gevent', '20', '--socket', '127.0.0.1:0', '--http-socket', '127.0.0.1:0', '--module', file, '--harakiri', '2'], {
        env: { ...process.env, NODE_ENV: 'production' },
      });
      nginx = await startNginx({ locations: [{ prefix: '/', uwsgiPass: tsgi.uwsgiAddress!, buffering: false }] });
      bases = [
        ['tsgi --http-socket', tsgi.url],
        ['nginx uwsgi_pass', nginx.url],
      ];
    });

    after(async () => {
      await Promise.allSettled([tsgi?.stop(), nginx?.stop(), native?.close()]);
    });

    const routes: Array<[string, { method?: string; body?: string }]> = [
      ['/json?q=abc', {}],
      ['/echo', { method: 'POST', body: 'hello, body parser ' + 'x'.repeat(20000) }],
      ['/stream', {}],
      ['/sse', {}],
      ['/throw', {}],
      ['/missing', {}],
    ];
    for (const [path, options] of routes) {
      test(`${path}: the same status, content type and body as on ${c.name}'s own Node server`, async () => {
        let expected = answer(await ask(native.url, path, options));
        if (path.startsWith('/json')) expected = normaliseJson(expected, native.url, 'its own server');
        for (const [via, base] of bases) {
          let got = answer(await ask(base, path, options));
          if (path.startsWith('/json')) got = normaliseJson(got, base, via);
          assert.deepEqual(got, expected, `${path} through ${via}`);
        }
      });
    }

    test('streams and Server-Sent Events arrive as written, not at the end', async () => {
      for (const [via, base] of bases) {
        for (const path of ['/stream', '/sse']) {
          const res = await ask(base, path);
          assert.equal(res.status, 200);
          assert.ok(res.chunks.length >= 2, `${path} through ${via} came in ${res.chunks.length} piece(s)`);
          const spread = res.chunks[res.chunks.length - 1].at - res.chunks[0].at;
          assert.ok(spread >= 0.3, `${path} through ${via}: the last piece came ${spread} s after the first (written 0.4 s apart)`);
        }
      }
    });

    test('@tsgi/hub works in handlers: sleep() and getCurrent() is the request greenlet', async () => {
      for (const [via, base] of bases) {
        const res = await ask(base, '/hub');
        assert.equal(res.status, 200, via);
        assert.deepEqual(JSON.parse(res.body.toString()), { slept: true, inGreenlet: true }, via);
      }
    });

    test('a route that throws is logged and the worker goes on serving', async () => {
      const res = await ask(tsgi.url, '/json');
      assert.equal(res.status, 200);
      assert.match(tsgi.output(), /GET \/throw => generated \d+ bytes in \d+ msecs \(HTTP\/1\.1 500\)/);
    });

    if (c.stuckRoute !== undefined) {
      const stuck = c.stuckRoute;
      test(`--harakiri cancels a stuck ${c.name} request (504) and the others go on`, async () => {
        const mark = tsgi.lines().length;
        const [late, fine] = await Promise.all([ask(tsgi.url, stuck), ask(tsgi.url, '/json')]);
        assert.equal(fine.status, 200);
        assert.equal(late.status, 504);
        await tsgi.waitForLine(/\*\*\* HARAKIRI ON WORKER 1 CORE \d+ .*request "GET \/stuck"/, 10, mark);
      });
    }
  });
}
