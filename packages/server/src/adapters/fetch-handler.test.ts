import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { getCurrent, sleep, spawn, type Greenlet } from '@tsgi/hub';
import { addTsgiKeys } from '../engine/environ.js';
import { RequestRunner, type TsgiApplication } from '../engine/request-runner.js';
import { TsgiInput } from '../engine/tsgi-input.js';
import { ClientDisconnectedError, HarakiriError } from '../errors.js';
import { fromFetch } from './fetch-handler.js';
import { MemorySink } from './memory-sink.js';

function serve(app: TsgiApplication, vars: Record<string, string> = {}, withBody = false): { sink: MemorySink; greenlet: Greenlet<void>; body: PassThrough } {
  const sink = new MemorySink();
  const body = new PassThrough();
  const environ = addTsgiKeys(
    {
      REQUEST_METHOD: 'GET',
      REQUEST_URI: '/',
      PATH_INFO: '/',
      QUERY_STRING: '',
      SCRIPT_NAME: '',
      SERVER_PROTOCOL: 'HTTP/1.1',
      SERVER_NAME: 'example.test',
      SERVER_PORT: '8080',
      REMOTE_ADDR: '10.1.2.3',
      ...vars,
    },
    { input: new TsgiInput(withBody ? body : null, { timeoutSeconds: 5 }), errors: {}, multiprocess: false, core: 0, greenlet: undefined, uwsgiVersion: 'test' },
  );
  const runner = new RequestRunner(sink);
  return { sink, greenlet: spawn(() => runner.run(app, environ)), body };
}

describe('fromFetch', () => {
  test('the Request has the URL (scheme, Host, REQUEST_URI), method and headers', async () => {
    let seen: string[] = [];
    const app = fromFetch((request) => {
      seen = [request.url, request.method, request.headers.get('x-test') ?? '', request.headers.get('content-type') ?? ''];
      return new Response('ok');
    });
    const { greenlet } = serve(app, { REQUEST_METHOD: 'PUT', REQUEST_URI: '/p?q=1', HTTP_HOST: 'h.test:81', HTTP_X_TEST: 'yes', CONTENT_TYPE: 'a/b', HTTPS: 'on' });
    await greenlet.get();
    assert.deepEqual(seen, ['https://h.test:81/p?q=1', 'PUT', 'yes', 'a/b']);
  });

  test('without Host, SERVER_NAME and SERVER_PORT make the URL', async () => {
    let url = '';
    const { greenlet } = serve(fromFetch((request) => ((url = request.url), new Response(null, { status: 204 }))), { REQUEST_URI: '/x' });
    await greenlet.get();
    assert.equal(url, 'http://example.test:8080/x');
  });

  test('status, headers (each Set-Cookie on its own) and a streamed body', async () => {
    const app = fromFetch(() => {
      const headers = new Headers({ 'content-type': 'text/plain' });
      headers.append('set-cookie', 'a=1');
      headers.append('set-cookie', 'b=2');
      const stream = new ReadableStream<Uint8Array>({
        async start(controller) {
          controller.enqueue(new TextEncoder().encode('one '));
          await sleep(0.01);
          controller.enqueue(new TextEncoder().encode('two'));
          controller.close();
        },
      });
      return new Response(stream, { status: 202, headers });
    });
    const { sink, greenlet } = serve(app);
    await greenlet.get();
    assert.equal(sink.status, '202 Accepted');
    assert.deepEqual(sink.headers, [['content-type', 'text/plain'], ['set-cookie', 'a=1'], ['set-cookie', 'b=2']]);
    assert.deepEqual(sink.chunks.map(String), ['one ', 'two']);
  });

  test('the request body streams from tsgi.input (request.text())', async () => {
    const app = fromFetch(async (request) => new Response(`echo:${await request.text()}`));
    const { sink, greenlet, body } = serve(app, { REQUEST_METHOD: 'POST', CONTENT_LENGTH: '11' }, true);
    body.write('hello ');
    await sleep(0.005);
    body.end('world');
    await greenlet.get();
    assert.equal(sink.body.toString(), 'echo:hello world');
  });

  test('a client that goes away aborts request.signal and cancels the response stream', async () => {
    let aborted = false;
    let cancelled = false;
    const app = fromFetch((request) => {
      request.signal.addEventListener('abort', () => (aborted = true));
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('data: 1\n\n'));
        },
        cancel() {
          cancelled = true;
        },
      });
      return new Response(stream, { headers: { 'content-type': 'text/event-stream' } });
    });
    const { sink, greenlet } = serve(app);
    await sink.nextWrite();
    sink.disconnect();
    await sleep(0.01);
    assert.ok(aborted, 'request.signal aborted at once');
    await greenlet.kill({ exception: new ClientDisconnectedError(), block: true });
    assert.ok(cancelled, 'the body stream was cancelled');
  });

  test('harakiri interrupts a handler stuck on a plain promise, and the handler runs in the request greenlet', async () => {
    let inside: unknown;
    const app = fromFetch(() => {
      inside = getCurrent();
      return new Promise<Response>(() => undefined);
    });
    const { greenlet } = serve(app);
    await sleep(0.01);
    await greenlet.kill({ exception: new HarakiriError(1), block: true });
    assert.equal(inside, greenlet);
    assert.ok(greenlet.exception instanceof HarakiriError);
  });

  test('something that is not a Response is a clear error', async () => {
    const { greenlet } = serve(fromFetch((() => 'nope') as never));
    await assert.rejects(greenlet.get(), { code: 'TSGI_ERR_FETCH_RESPONSE' });
  });

  test('a Host the URL parser refuses is a 400', async () => {
    const { sink, greenlet } = serve(fromFetch(() => new Response('x')), { HTTP_HOST: 'bad host' });
    await greenlet.get();
    assert.equal(sink.status, '400 Bad Request');
  });

  test('an object with fetch() is called as a method', async () => {
    const app = fromFetch({
      greeting: 'hi',
      fetch(this: { greeting: string }) {
        return new Response(this.greeting);
      },
    } as never);
    const { sink, greenlet } = serve(app);
    await greenlet.get();
    assert.equal(sink.body.toString(), 'hi');
    assert.deepEqual(sink.headers, [['content-type', 'text/plain;charset=UTF-8'], ['content-length', '2']], 'a whole body gets a Content-Length');
  });
});
