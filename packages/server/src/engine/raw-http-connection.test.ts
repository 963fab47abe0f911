import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { describe, it } from 'node:test';
import { sleep } from '@tsgi/hub';
import { bindHandle } from './listen-handle.js';
import { LoopEngine } from './loop-engine.js';
import { rawHttpParser } from './raw-http-connection.js';
import type { TsgiApplication } from './request-runner.js';

interface Served {
  port: number;
  engine: LoopEngine;
  errors: string[];
  close(): Promise<void>;
}

/** A one-socket --http-socket engine serving `app`, listening on an ephemeral port. */
async function serve(app: TsgiApplication, options: { socketTimeout?: number; cores?: number } = {}): Promise<Served> {
  const bound = await bindHandle({ kind: 'tcp', host: '127.0.0.1', port: 0, family: 4, spec: '127.0.0.1:0' });
  const port = (bound.address as { port: number }).port;
  const errors: string[] = [];
  const engine = new LoopEngine({
    workerId: 1,
    cores: options.cores ?? 4,
    bufferSize: 4096,
    socketTimeout: options.socketTimeout ?? 4,
    limitPost: 0,
    harakiri: 0,
    backlog: 100,
    multiprocess: false,
    version: 'test',
    sockets: [{ index: 0, protocol: 'http', name: `127.0.0.1:${port}`, port }],
    app,
    log: { info: () => undefined, error: (line) => errors.push(line), request: () => undefined, logsRequests: false },
    requestHandle: () => undefined,
  });
  engine.start();
  engine.supplyHandle(0, bound.handle);
  await engine.whenListening();
  return {
    port,
    engine,
    errors,
    async close() {
      engine.stopAccepting();
      engine.dispose();
      bound.close();
    },
  };
}

/** Sends `bytes` on a new connection and collects what comes back until `done(text)` or the close. */
function exchange(port: number, bytes: string, done: (text: string) => boolean = () => false): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer within 10 s; got ${JSON.stringify(text)}`));
    }, 10_000);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (done(text)) {
        clearTimeout(timer);
        socket.destroy();
        resolve({ text, closed: false });
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true });
    });
    socket.write(bytes, 'latin1');
  });
}

const count = (text: string, what: string): number => text.split(what).length - 1;

/** True once `text` holds a whole response with a Content-Length. */
function wholeResponse(text: string): boolean {
  const m = /\r\nContent-Length: (\d+)\r\n\r\n/.exec(text);
  return m !== null && text.length >= m.index + m[0].length + Number(m[1]);
}

const hello: TsgiApplication = (environ, startResponse) => {
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return [`${environ.REQUEST_METHOD} ${environ.PATH_INFO} ${environ.QUERY_STRING} ${environ.SERVER_PROTOCOL} ${environ.HTTP_X_TAG ?? '-'} ${environ.REMOTE_PORT}`];
};

describe('raw --http-socket connections', { skip: rawHttpParser === null ? 'Node has no HTTP parser binding here' : false }, () => {
  it('serves keep-alive requests on one connection without Node\'s http server, framed as Node frames them', async () => {
    const s = await serve(hello);
    try {
      const req = (tag: string) => `GET /a/b?x=${tag} HTTP/1.1\r\nHost: h\r\nX-Tag: ${tag}\r\n\r\n`;
      const { text } = await exchange(s.port, req('1'), wholeResponse);
      assert.match(text, /^HTTP\/1\.1 200 OK\r\nContent-Type: text\/plain\r\nDate: .+ GMT\r\nConnection: keep-alive\r\nKeep-Alive: timeout=4\r\nContent-Length: \d+\r\n\r\nGET \/a\/b x=1 HTTP\/1\.1 1 \d+$/);
      // Two requests on one connection, the second sent after the first answer: the same client port.
      const socket = net.connect(s.port, '127.0.0.1');
      socket.setEncoding('latin1');
      let got = '';
      const answered = (n: number) => new Promise<void>((resolve) => {
        const check = () => {
          if (count(got, 'HTTP/1.1 200 OK') >= n && /\d$/.test(got)) {
            socket.off('data', onData);
            resolve();
          }
        };
        const onData = (chunk: string) => {
          got += chunk;
          check();
        };
        socket.on('data', onData);
      });
      socket.write(req('a'));
      await answered(1);
      socket.write(req('b'));
      await answered(2);
      socket.destroy();
      const ports = [...got.matchAll(/ (?:a|b) (\d+)/g)].map((m) => m[1]);
      assert.equal(ports.length, 2);
      assert.equal(ports[0], ports[1], 'both requests came on one connection');
      assert.equal(s.engine.stats.httpHandOvers, 0);
      assert.equal(s.engine.stats.requests, 3);
    } finally {
      await s.close();
    }
  });

  it('answers pipelined requests in order; one with a body is handed to Node\'s http server with what was read of it, and the connection goes on there', async () => {
    const s = await serve(async (environ, startResponse) => {
      const body = await (environ['tsgi.input'] as { readAll(): Promise<Buffer> }).readAll();
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      return [`<${environ.REQUEST_METHOD} ${environ.PATH_INFO} ${body.toString()}>`];
    });
    try {
      const pipelined =
        'GET /one HTTP/1.1\r\nHost: h\r\n\r\n' +
        'GET /two HTTP/1.1\r\nHost: h\r\n\r\n' +
        'POST /three HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello' +
        'GET /four HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n';
      const { text, closed } = await exchange(s.port, pipelined);
      assert.ok(closed);
      assert.deepEqual([...text.matchAll(/<([^>]*)>/g)].map((m) => m[1]), ['GET /one ', 'GET /two ', 'POST /three hello', 'GET /four ']);
      assert.equal(s.engine.stats.httpHandOvers, 1);
      assert.equal(s.errors.length, 0, s.errors.join('\n'));
      // Fifty more, cut at odd places across three writes: each head is parsed only after the answer before it.
      const many = Array.from({ length: 50 }, (_, i) => `GET /n${i} HTTP/1.1\r\nHost: h\r\n${i === 49 ? 'Connection: close\r\n' : ''}\r\n`).join('');
      const socket = net.connect(s.port, '127.0.0.1');
      socket.setEncoding('latin1');
      let got = '';
      socket.on('data', (chunk: string) => (got += chunk));
      const ended = new Promise((resolve) => socket.on('close', resolve));
      for (const [from, to] of [[0, 777], [777, 1500], [1500, many.length]]) {
        socket.write(many.slice(from, to));
        await new Promise((resolve) => setImmediate(resolve));
      }
      await ended;
      assert.deepEqual([...got.matchAll(/<GET \/n(\d+) >/g)].map((m) => Number(m[1])), Array.from({ length: 50 }, (_, i) => i));
      assert.equal(s.engine.stats.httpHandOvers, 1);
    } finally {
      await s.close();
    }
  });

  it('streams chunked to HTTP/1.1 (with trailers), up to the close to HTTP/1.0; HEAD and 204 carry no body', async () => {
    const s = await serve(((environ: Record<string, unknown>, startResponse: (status: string, headers: [string, string][]) => unknown) => {
      if (environ.PATH_INFO === '/empty') {
        startResponse('204 No Content', []);
        return [];
      }
      if (environ.PATH_INFO === '/own-chunked') {
        // A whole body, with the framing asked for by the app: one chunk, no Content-Length.
        startResponse('200 OK', [['Transfer-Encoding', 'chunked']]);
        return ['whole'];
      }
      return (function* () {
        startResponse('200 OK', [['Content-Type', 'text/plain']]);
        if (environ.PATH_INFO === '/trailers') (environ['tsgi.trailers'] as (pairs: [string, string][]) => void)([['X-Sum', '42']]);
        yield 'first,';
        yield 'second';
      })();
    }) as unknown as TsgiApplication);
    try {
      const chunked = await exchange(s.port, 'GET /s HTTP/1.1\r\nHost: h\r\n\r\n', (t) => t.endsWith('0\r\n\r\n'));
      assert.match(chunked.text, /\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nfirst,\r\n6\r\nsecond\r\n0\r\n\r\n$/);
      assert.match(chunked.text, /Connection: keep-alive/);
      const trailed = await exchange(s.port, 'GET /trailers HTTP/1.1\r\nHost: h\r\n\r\n', (t) => t.endsWith('\r\n\r\n') && t.includes('0\r\nX-Sum'));
      assert.match(trailed.text, /\r\nsecond\r\n0\r\nX-Sum: 42\r\n\r\n$/);
      const old = await exchange(s.port, 'GET /s HTTP/1.0\r\n\r\n');
      assert.ok(old.closed);
      assert.match(old.text, /^HTTP\/1\.1 200 OK\r\n[^]*Connection: close\r\n\r\nfirst,second$/);
      assert.doesNotMatch(old.text, /Transfer-Encoding|Content-Length/);
      const head = await exchange(s.port, 'HEAD /s HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n');
      // As Node's http server: no body and no framing for HEAD.
      assert.match(head.text, /^HTTP\/1\.1 200 OK\r\n[^]*Connection: close\r\n\r\n$/);
      assert.doesNotMatch(head.text, /Transfer-Encoding|Content-Length/);
      const own = await exchange(s.port, 'GET /own-chunked HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n');
      assert.match(own.text, /\r\nTransfer-Encoding: chunked\r\n[^]*\r\n\r\n5\r\nwhole\r\n0\r\n\r\n$/);
      assert.doesNotMatch(own.text, /Content-Length/);
      assert.equal(count(own.text, 'Transfer-Encoding'), 1);
      const empty = await exchange(s.port, 'GET /empty HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n');
      assert.match(empty.text, /^HTTP\/1\.1 204 No Content\r\n/);
      assert.doesNotMatch(empty.text, /Content-Length|Transfer-Encoding/);
      assert.ok(empty.text.endsWith('\r\n\r\n'));
    } finally {
      await s.close();
    }
  });

  it('a request Node\'s parser refuses gets 400 and a logged TSGI_ERR_HTTP_PARSE; the next connection is served', async () => {
    const s = await serve(hello);
    try {
      const bad = await exchange(s.port, 'GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n');
      assert.ok(bad.closed);
      assert.equal(bad.text, 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      assert.equal(s.errors.length, 1);
      assert.match(s.errors[0], /^TSGI_ERR_HTTP_PARSE: invalid HTTP request on 127\.0\.0\.1:\d+: Parse Error: .+ \(HPE_INVALID_TRANSFER_ENCODING\) from 127\.0\.0\.1$/);
      const good = await exchange(s.port, 'GET /ok HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n');
      assert.match(good.text, /\r\n\r\nGET \/ok {2}HTTP\/1\.1 - \d+$/);
    } finally {
      await s.close();
    }
  });

  it('a head that does not finish within --socket-timeout gets 408 and a log line; an idle keep-alive connection is closed without one', async () => {
    const s = await serve(hello, { socketTimeout: 1 });
    try {
      const started = Date.now();
      const partial = await exchange(s.port, 'GET /slow HTTP/1.1\r\nHost: h\r\n');
      assert.ok(partial.closed);
      assert.equal(partial.text, 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      assert.ok(Date.now() - started < 5000);
      assert.equal(s.errors.length, 1);
      assert.match(s.errors[0], /\[TSGI_ERR_REQUEST_TIMEOUT\] from 127\.0\.0\.1 on 127\.0\.0\.1:\d+$/);
      const idle = await exchange(s.port, 'GET /x HTTP/1.1\r\nHost: h\r\n\r\n');
      assert.ok(idle.closed, 'the idle connection was closed by the server');
      assert.match(idle.text, /\r\n\r\nGET \/x/);
      assert.equal(s.errors.length, 1, 'no log line for an idle keep-alive connection timing out');
    } finally {
      await s.close();
    }
  });

  it('a client that leaves while its request waits: tsgi.disconnected aborts, and the core is freed for the next request', async () => {
    let signalled: (reason: unknown) => void = () => undefined;
    const aborted = new Promise<unknown>((resolve) => (signalled = resolve));
    const s = await serve(
      (async (environ: Record<string, unknown>, startResponse: (status: string, headers: [string, string][]) => unknown) => {
        if (environ.PATH_INFO === '/wait') {
          const signal = environ['tsgi.disconnected'] as AbortSignal;
          signal.addEventListener('abort', () => signalled(signal.reason));
          while (!signal.aborted) await sleep(0.01);
        }
        startResponse('200 OK', []);
        return ['done'];
      }) as unknown as TsgiApplication,
      // Two cores: with every core busy the gate closes its duplicate of the socket, and this test has no master to send the next one.
      { cores: 2 },
    );
    try {
      const socket = net.connect(s.port, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.write('GET /wait HTTP/1.1\r\nHost: h\r\n\r\n');
      while (s.engine.cores.busyCount === 0) await sleep(0.005);
      socket.destroy();
      const reason = await aborted;
      assert.equal((reason as { code?: string }).code, 'TSGI_ERR_CLIENT_GONE');
      while (s.engine.cores.busyCount > 0) await sleep(0.005);
      assert.match(s.errors.join('\n'), /Broken pipe \[TSGI_ERR_CLIENT_GONE\] during GET \/wait \(127\.0\.0\.1\)/);
      const next = await exchange(s.port, 'GET /next HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n');
      assert.match(next.text, /\r\n\r\ndone$/, s.errors.join('\n'));
    } finally {
      await s.close();
    }
  });

  it('pipelined requests are answered one at a time as the client takes the answers; one that stops reading is closed after --socket-timeout without progress', async () => {
    const big = Buffer.alloc(1 << 20, 120);
    const s = await serve(
      ((_environ: unknown, startResponse: (status: string, headers: [string, string][]) => unknown) => {
        startResponse('200 OK', [['Content-Type', 'application/octet-stream']]);
        return [big];
      }) as unknown as TsgiApplication,
      { socketTimeout: 1 },
    );
    const until = async (what: string, ready: () => boolean): Promise<void> => {
      for (const started = Date.now(); !ready(); await sleep(0.02)) if (Date.now() - started > 10_000) assert.fail(`not within 10 s: ${what}`);
    };
    try {
      // A reader: 40 answers of 1 MB, every byte of them.
      const reader = net.connect(s.port, '127.0.0.1');
      let received = 0;
      reader.on('data', (chunk: Buffer) => (received += chunk.length));
      reader.write('GET /big HTTP/1.1\r\nHost: h\r\n\r\n'.repeat(39) + 'GET /big HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n');
      await new Promise((resolve) => reader.on('close', resolve));
      assert.ok(received > 40 * big.length && received < 40 * (big.length + 200), `${received} bytes for 40 answers`);
      assert.equal(s.engine.stats.requests, 40);
      // A client that sends 300 and reads none: the worker answers what the socket buffers hold, not 300 MB.
      const stuck = net.connect(s.port, '127.0.0.1');
      stuck.on('error', () => undefined);
      stuck.pause();
      stuck.write('GET /big HTTP/1.1\r\nHost: h\r\n\r\n'.repeat(300));
      await until('the write timeout', () => s.errors.some((line) => line.includes('TSGI_ERR_WRITE_TIMEOUT')));
      const answered = s.engine.stats.requests - 40;
      assert.ok(answered >= 1 && answered < 100, `${answered} answers queued for a client that reads nothing`);
      assert.match(s.errors.join('\n'), /\[TSGI_ERR_WRITE_TIMEOUT\] to 127\.0\.0\.1 on 127\.0\.0\.1:\d+: the client does not read its answers; connection closed/);
      stuck.destroy();
    } finally {
      await s.close();
    }
  });

  it('TSGI_RAW_HTTP=0 turns the raw path off (Node\'s http server then serves every --http-socket connection)', () => {
    const module = new URL('./raw-http-connection.js', import.meta.url).href;
    const script = `const { rawHttpParser } = await import(${JSON.stringify(module)}); console.log(rawHttpParser === null);`;
    const run = (value: string) => execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, TSGI_RAW_HTTP: value }, encoding: 'utf8' }).trim();
    assert.equal(run('0'), 'true');
    assert.equal(run(''), 'false');
  });
});
