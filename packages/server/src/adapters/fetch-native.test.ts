import assert from 'node:assert/strict';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { fetchNativeListener, knownBody, responseSourceVisible, sendFetchResponse } from './fetch-native.js';
import { installLazyRequestSupport, LazyRequest } from './lazy-request.js';
import { LightResponse } from './light-response.js';
import type { NativeHttpRequest } from './native-http.js';

const OriginalResponse = globalThis.Response;

/** A loopback server whose requests go to `handle`; answers come back as raw text for exact checks. */
function serverFor(handle: (req: IncomingMessage, res: ServerResponse) => unknown): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    new Promise((resolve) => resolve(handle(req, res))).catch((err: unknown) => {
      res.statusCode = 599;
      res.end(String(err));
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

const native = (environ: Record<string, unknown> = {}): NativeHttpRequest => ({ environ: environ as never, greenlet: undefined });

describe('LazyRequest', () => {
  let server: { url: string; close(): Promise<void> };
  let seen: (request: Request) => Promise<unknown>;
  let result: unknown;

  before(async () => {
    installLazyRequestSupport();
    server = await serverFor(async (req, res) => {
      const request = new LazyRequest(req, res, `http://${req.headers.host}${req.url}`, { greenlet: undefined }) as unknown as Request;
      result = await seen(request);
      res.end('ok');
    });
  });
  after(() => server.close());

  test('method, url and headers come from req; nothing else is built until asked', async () => {
    seen = async (request) => ({
      instance: request instanceof Request,
      method: request.method,
      url: request.url,
      header: request.headers.get('x-one'),
      name: request.constructor.name,
    });
    await fetch(server.url + '/path?q=1', { headers: { 'x-one': 'uno' } });
    assert.deepEqual(result, { instance: true, method: 'GET', url: `${server.url}/path?q=1`, header: 'uno', name: 'LazyRequest' });
  });

  test('the body, clone() and new Request(lazy, init) reach the real Request', async () => {
    seen = async (request) => {
      const copy = new Request(request, { headers: { 'x-two': 'dos' } });
      return { text: await copy.text(), header: copy.headers.get('x-two'), method: copy.method, used: request.bodyUsed };
    };
    await fetch(server.url + '/', { method: 'PUT', body: 'payload' });
    assert.deepEqual(result, { text: 'payload', header: 'dos', method: 'PUT', used: true });
    seen = async (request) => Promise.all([request.clone().text(), request.text()]);
    await fetch(server.url + '/', { method: 'POST', body: 'twice' });
    assert.deepEqual(result, ['twice', 'twice']);
  });
});

describe('LightResponse', () => {
  test('strings and bytes are kept as they are; the real Response is built when its body is used', async () => {
    const light = new LightResponse('hello', { status: 201, headers: { 'X-Custom': 'a' } }) as unknown as Response;
    assert.ok(light instanceof OriginalResponse);
    assert.ok((new OriginalResponse('x') as unknown) instanceof LightResponse);
    assert.equal(light.status, 201);
    assert.equal(light.ok, true);
    assert.deepEqual(LightResponse.fastPartsOf(light), {
      status: 201,
      flat: ['x-custom', 'a', 'content-type', 'text/plain;charset=UTF-8'],
      hasLength: false,
      body: 'hello',
    });
    assert.equal(await light.clone().text(), 'hello');
    assert.equal(LightResponse.fastPartsOf(light), null);
    assert.equal(await light.text(), 'hello');
  });

  test('headers changed through .headers are the ones sent', () => {
    const light = new LightResponse(new Uint8Array([1, 2])) as unknown as Response;
    light.headers.set('x-late', 'yes');
    assert.deepEqual(LightResponse.fastPartsOf(light)?.flat, ['x-late', 'yes']);
  });

  test('other bodies and invalid inits get the real Response at once, errors included', () => {
    assert.equal(LightResponse.fastPartsOf(new LightResponse(new ReadableStream())), null);
    assert.throws(() => new LightResponse('x', { status: 204 }), TypeError);
    assert.throws(() => new LightResponse('x', { status: 700 }), RangeError);
  });
});

describe('sendFetchResponse', () => {
  let server: { url: string; close(): Promise<void> };
  let make: () => unknown;

  before(async () => {
    server = await serverFor((req, res) => sendFetchResponse(make(), req, res));
  });
  after(() => server.close());

  test('an undici Response made from a string is written from its source, with its length', async () => {
    const response = new OriginalResponse('from a string', { headers: { 'x-a': '1' } });
    // Where undici hides the source (Node 24), the body is streamed instead: same bytes on the wire.
    assert.equal(knownBody(response), responseSourceVisible ? 'from a string' : null);
    make = () => response;
    const got = await fetch(server.url);
    assert.equal(got.headers.get('content-length'), responseSourceVisible ? '13' : null);
    assert.equal(got.headers.get('x-a'), '1');
    assert.equal(await got.text(), 'from a string');
  });

  test('a stream body is streamed, chunked, and a body already read is not taken from its source', async () => {
    make = () => new OriginalResponse(new ReadableStream({ start: (c) => (c.enqueue(new TextEncoder().encode('one ')), c.enqueue(new TextEncoder().encode('two')), c.close()) }));
    const got = await fetch(server.url);
    assert.equal(got.headers.get('transfer-encoding'), 'chunked');
    assert.equal(await got.text(), 'one two');
    const read = new OriginalResponse('gone');
    await read.text();
    assert.equal(knownBody(read), null);
  });

  test('Set-Cookie fields stay apart; a null body gets Content-Length 0, a 204 none', async () => {
    make = () => {
      const headers = new Headers();
      headers.append('set-cookie', 'a=1');
      headers.append('set-cookie', 'b=2');
      return new OriginalResponse(null, { status: 200, headers });
    };
    const got = await fetch(server.url);
    assert.deepEqual(got.headers.getSetCookie(), ['a=1', 'b=2']);
    assert.equal(got.headers.get('content-length'), '0');
    make = () => new OriginalResponse(null, { status: 204 });
    const none = await fetch(server.url);
    assert.equal(none.status, 204);
    assert.equal(none.headers.get('content-length'), null);
  });

  test('something else than a Response fails with TSGI_ERR_FETCH_RESPONSE', async () => {
    make = () => ({ not: 'a response' });
    const got = await fetch(server.url);
    assert.equal(got.status, 599);
    assert.match(await got.text(), /the fetch handler returned an object/);
  });
});

describe('fetchNativeListener', () => {
  test('a handler that answers at once is written in the same call; the environ is built only when read', async () => {
    let environReads = 0;
    const ctx: NativeHttpRequest = {
      get environ() {
        environReads++;
        return { REMOTE_ADDR: '10.0.0.1' } as never;
      },
      greenlet: undefined,
    };
    let sync = false;
    let second: unknown;
    const listener = fetchNativeListener((request, environ) => {
      second = environ;
      return new Response(`hi ${request.method}`);
    });
    const server = await serverFor((req, res) => {
      const result = listener(req, res, ctx);
      sync = result === undefined && res.writableEnded;
    });
    try {
      const got = await fetch(server.url);
      assert.equal(await got.text(), 'hi GET');
      assert.equal(sync, true);
      assert.equal(environReads, 0);
      assert.equal((second as Record<string, unknown>).REMOTE_ADDR, '10.0.0.1');
      assert.equal(environReads, 1);
    } finally {
      await server.close();
    }
  });

  test('an async handler is awaited and its Response written', async () => {
    const listener = fetchNativeListener(async () => Response.json({ later: true }));
    const server = await serverFor((req, res) => listener(req, res, native()));
    try {
      assert.deepEqual(await (await fetch(server.url)).json(), { later: true });
    } finally {
      await server.close();
    }
  });
});
