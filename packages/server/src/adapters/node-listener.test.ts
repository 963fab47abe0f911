import assert from 'node:assert/strict';
import { IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { getCurrent, sleep, spawn, type Greenlet } from '@tsgi/hub';
import { addTsgiKeys } from '../engine/environ.js';
import { RequestRunner, type TsgiApplication } from '../engine/request-runner.js';
import { TsgiInput } from '../engine/tsgi-input.js';
import { ClientDisconnectedError, HarakiriError } from '../errors.js';
import { MemorySink } from './memory-sink.js';
import { fromNodeListener, type NodeRequestListener } from './node-listener.js';

interface Served {
  sink: MemorySink;
  greenlet: Greenlet<void>;
  body: PassThrough;
}

/** Runs `app` for one request in its own greenlet, as the engine does. */
function serve(app: TsgiApplication, vars: Record<string, string> = {}, options: { highWaterMark?: number; body?: boolean } = {}): Served {
  const sink = new MemorySink({ highWaterMark: options.highWaterMark });
  const body = new PassThrough();
  const input = new TsgiInput(options.body ? body : null, { timeoutSeconds: 5 });
  const environ = addTsgiKeys(
    {
      REQUEST_METHOD: 'GET',
      REQUEST_URI: '/',
      PATH_INFO: '/',
      QUERY_STRING: '',
      SCRIPT_NAME: '',
      SERVER_PROTOCOL: 'HTTP/1.1',
      SERVER_NAME: 'example.test',
      SERVER_PORT: '80',
      REMOTE_ADDR: '10.1.2.3',
      REMOTE_PORT: '40123',
      HTTP_HOST: 'example.test',
      ...vars,
    },
    { input, errors: { write: () => undefined }, multiprocess: false, core: 3, greenlet: undefined, uwsgiVersion: 'test' },
  );
  const runner = new RequestRunner(sink);
  const greenlet = spawn(() => runner.run(app, environ));
  return { sink, greenlet, body };
}

const header = (sink: MemorySink, name: string): string | undefined => sink.headers.find(([n]) => n.toLowerCase() === name)?.[1];

describe('fromNodeListener', () => {
  test('req carries method, url, headers, version and the peer from the uwsgi vars', async () => {
    let seen: Record<string, unknown> = {};
    const app = fromNodeListener((req, res) => {
      seen = {
        isIncoming: req instanceof IncomingMessage,
        isResponse: res instanceof ServerResponse,
        method: req.method,
        url: req.url,
        httpVersion: req.httpVersion,
        host: req.headers.host,
        forwarded: req.headers['x-forwarded-for'],
        type: req.headers['content-type'],
        raw: req.rawHeaders.includes('X-Forwarded-For'),
        remoteAddress: req.socket.remoteAddress,
        remotePort: req.socket.remotePort,
        encrypted: (req.socket as { encrypted?: boolean }).encrypted,
      };
      res.end('ok');
    });
    const { sink, greenlet } = serve(app, {
      REQUEST_METHOD: 'DELETE',
      REQUEST_URI: '/a%20b?x=1',
      HTTP_X_FORWARDED_FOR: '1.1.1.1, 2.2.2.2',
      CONTENT_TYPE: 'text/plain',
      HTTPS: 'on',
    });
    await greenlet.get();
    assert.deepEqual(seen, {
      isIncoming: true,
      isResponse: true,
      method: 'DELETE',
      url: '/a%20b?x=1',
      httpVersion: '1.1',
      host: 'example.test',
      forwarded: '1.1.1.1, 2.2.2.2',
      type: 'text/plain',
      raw: true,
      remoteAddress: '10.1.2.3',
      remotePort: 40123,
      encrypted: true,
    });
    assert.equal(sink.body.toString(), 'ok');
  });

  test('status, headers (Set-Cookie repeated) and body come out as start_response and chunks; no Date, no framing headers', async () => {
    const app = fromNodeListener((_req, res) => {
      res.statusCode = 201;
      res.statusMessage = 'Made';
      res.setHeader('Content-Type', 'application/json');
      res.setHeader('Set-Cookie', ['a=1', 'b=2']);
      res.end('{"x":1}');
    });
    const { sink, greenlet } = serve(app);
    await greenlet.get();
    assert.equal(sink.status, '201 Made');
    assert.deepEqual(
      sink.headers.map(([n, v]) => `${n.toLowerCase()}: ${v}`),
      ['content-type: application/json', 'set-cookie: a=1', 'set-cookie: b=2', 'content-length: 7'],
    );
    assert.equal(sink.body.toString(), '{"x":1}');
    assert.ok(sink.ended);
  });

  test('res.write chunks arrive one by one as the app writes them over time (chunked output is un-chunked)', async () => {
    const app = fromNodeListener(async (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      for (let i = 0; i < 3; i++) {
        res.write(`data: ${i}\n\n`);
        await sleep(0.01);
      }
      res.end();
    });
    const { sink, greenlet } = serve(app);
    await sink.nextWrite();
    assert.equal(sink.body.toString(), 'data: 0\n\n', 'the first event is sent before the app wrote the next');
    await greenlet.get();
    assert.deepEqual(
      sink.chunks.map((c) => c.toString()),
      ['data: 0\n\n', 'data: 1\n\n', 'data: 2\n\n'],
    );
    assert.equal(header(sink, 'transfer-encoding'), undefined);
  });

  test('the request body streams from tsgi.input into req (on demand)', async () => {
    const app = fromNodeListener(async (req, res) => {
      const parts: Buffer[] = [];
      for await (const chunk of req) parts.push(chunk as Buffer);
      res.end(`got ${Buffer.concat(parts).length} bytes, complete=${req.complete}`);
    });
    const { sink, greenlet, body } = serve(app, { REQUEST_METHOD: 'POST', CONTENT_LENGTH: '200000' }, { body: true });
    body.write(Buffer.alloc(100000, 1));
    await sleep(0.01);
    body.end(Buffer.alloc(100000, 2));
    await greenlet.get();
    assert.equal(sink.body.toString(), 'got 200000 bytes, complete=true');
  });

  test('backpressure: res.write returns false while the client is behind, and drain comes when it reads', async () => {
    const results: boolean[] = [];
    let drained = 0;
    const app = fromNodeListener(async (_req, res) => {
      res.on('drain', () => drained++);
      const chunk = Buffer.alloc(32 * 1024, 0x61);
      for (let i = 0; i < 8; i++) {
        const ok = res.write(chunk);
        results.push(ok);
        if (!ok) await new Promise((resolve) => res.once('drain', resolve));
      }
      res.end();
    });
    const { sink, greenlet } = serve(app, {}, { highWaterMark: 64 * 1024 });
    while (!greenlet.dead) {
      await sleep(0.005);
      sink.read();
    }
    await greenlet.get();
    assert.ok(results.includes(false), `some write must report backpressure: ${results.join(',')}`);
    assert.ok(drained > 0, 'drain was emitted');
    assert.equal(sink.body.length, 8 * 32 * 1024);
    assert.ok(sink.waits > 0, 'the sink made the engine wait');
  });

  test('hub waits work inside the listener: getCurrent() is the request greenlet', async () => {
    let inside: unknown;
    const app = fromNodeListener(async (_req, res) => {
      await sleep(0.001);
      inside = getCurrent();
      res.end('x');
    });
    const { greenlet } = serve(app);
    await greenlet.get();
    assert.equal(inside, greenlet);
  });

  test('a client that goes away fires res "close" (and req "aborted") while the app is idle, and the engine sees a broken pipe', async () => {
    const events: string[] = [];
    const app = fromNodeListener((req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.write('data: hello\n\n');
      res.on('close', () => events.push(`res close ended=${res.writableEnded}`));
      req.on('close', () => events.push('req close'));
    });
    const { sink, greenlet } = serve(app);
    await sink.nextWrite();
    sink.disconnect();
    await assert.rejects(greenlet.get(), ClientDisconnectedError);
    await sleep(0.01);
    assert.ok(events.includes('res close ended=false'), events.join('; '));
    assert.ok(events.includes('req close'), events.join('; '));
  });

  test('harakiri (a kill of the request greenlet) interrupts a stuck handler and closes its response', async () => {
    let closed = false;
    const app = fromNodeListener(async (_req, res) => {
      res.on('close', () => (closed = true));
      await sleep(60);
      res.end('never');
    });
    const { sink, greenlet } = serve(app);
    await sleep(0.01);
    await greenlet.kill({ exception: new HarakiriError(1), block: true });
    assert.ok(greenlet.exception instanceof HarakiriError);
    await sleep(0.01);
    assert.ok(closed, 'res emitted close');
    assert.equal(sink.body.length, 0);
  });

  test('a listener that throws synchronously fails the request (the engine answers 500)', async () => {
    const app = fromNodeListener(() => {
      throw new Error('boom');
    });
    const { greenlet } = serve(app);
    await assert.rejects(greenlet.get(), /boom/);
  });

  test('trailers written by the app are handed to tsgi.trailers', async () => {
    const app = fromNodeListener((_req, res) => {
      res.setHeader('Trailer', 'X-Checksum');
      res.write('data');
      res.addTrailers({ 'X-Checksum': 'abc' });
      res.end();
    });
    const { sink, greenlet } = serve(app);
    await greenlet.get();
    assert.equal(sink.body.toString(), 'data');
    assert.deepEqual(sink.trailers, [['X-Checksum', 'abc']]);
  });

  test('HEAD: headers without a body', async () => {
    const listener: NodeRequestListener = (_req, res) => {
      res.setHeader('Content-Length', '5');
      res.end('hello');
    };
    const { sink, greenlet } = serve(fromNodeListener(listener), { REQUEST_METHOD: 'HEAD' });
    await greenlet.get();
    assert.equal(header(sink, 'content-length'), '5');
    assert.equal(sink.body.length, 0);
  });

  test('refuses what is not a function', () => {
    assert.throws(() => fromNodeListener(42 as never), { code: 'TSGI_ERR_ADAPTER_ARGUMENT' });
  });
});
