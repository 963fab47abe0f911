import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { getCurrent, sleep } from '@tsgi/hub';
import type { Environ } from '../engine/environ.js';
import type { StartResponse } from '../engine/request-runner.js';
import { toNodeListener } from './to-node-listener.js';

async function withServer(listener: http.RequestListener, fn: (url: string) => Promise<void>): Promise<void> {
  const server = http.createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describe('toNodeListener', () => {
  test('a TSGI app mounted in a Node server: environ, body, streamed chunks, its own greenlet', async () => {
    const app = async function* (environ: Environ, startResponse: StartResponse) {
      const body = await (environ['tsgi.input'] as { readAll(): Promise<Buffer> }).readAll();
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      yield `${environ.REQUEST_METHOD} ${environ.PATH_INFO} ${environ.QUERY_STRING} ${body}\n`;
      await sleep(0.01);
      yield `greenlet: ${environ['tsgi.greenlet'] === getCurrent()}\n`;
    };
    await withServer(toNodeListener(app), async (url) => {
      const res = await fetch(`${url}/p?x=1`, { method: 'POST', body: 'hey' });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'text/plain');
      assert.equal(await res.text(), 'POST /p x=1 hey\ngreenlet: true\n');
    });
  });

  test('an app that throws before responding: 500, and onError is told', async () => {
    const errors: unknown[] = [];
    const listener = toNodeListener(
      () => {
        throw new Error('kaput');
      },
      { onError: (error) => errors.push(error) },
    );
    await withServer(listener, async (url) => {
      const res = await fetch(url);
      assert.equal(res.status, 500);
      await res.text();
    });
    assert.match(String(errors[0]), /kaput/);
  });

  test('refuses what is not a function', () => {
    assert.throws(() => toNodeListener('app' as never), { code: 'TSGI_ERR_ADAPTER_ARGUMENT' });
  });
});
