// The gevent loop engine, one worker, through the real `tsgi` program (issue 4).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { encodePacket, encodeVars, uwsgiRequest } from '@tsgi/uwsgi-protocol';
import { httpGetChunks, programSkipReason, REPO_ROOT, startProcess, startTsgi, TSGI_BIN, type RunningTsgi } from './support/index.js';

const APP = join(REPO_ROOT, 'e2e', 'apps', 'engine-app.ts');
const CRAZY = join(REPO_ROOT, 'examples', 'crazy', 'app.ts');
const skip = programSkipReason('tsgi');

async function httpGet(url: string): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.text(), headers: Object.fromEntries(res.headers) };
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

/** Sends raw bytes to a uwsgi socket and resolves with whatever comes back before the close. */
function rawExchange(port: number, bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const parts: Buffer[] = [];
    socket.on('data', (d) => parts.push(d));
    socket.on('close', () => resolve(Buffer.concat(parts)));
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? resolve(Buffer.concat(parts)) : reject(err)));
    socket.end(bytes);
  });
}

function workerPid(tsgi: RunningTsgi): number {
  const m = /spawned tsgi worker 1 .*\(pid: (\d+)/.exec(tsgi.output());
  assert.ok(m, 'the worker spawn line names its pid');
  return Number(m[1]);
}

/** utime+stime of a process, in seconds. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

const nginxLikeVars = (path: string, extra: Record<string, string> = {}) => ({
  QUERY_STRING: '',
  REQUEST_METHOD: 'GET',
  CONTENT_TYPE: '',
  CONTENT_LENGTH: '',
  REQUEST_URI: path,
  PATH_INFO: path,
  DOCUMENT_ROOT: '/',
  SERVER_PROTOCOL: 'HTTP/1.1',
  REMOTE_ADDR: '127.0.0.1',
  REMOTE_PORT: '40000',
  SERVER_PORT: '80',
  SERVER_NAME: 'localhost',
  ...extra,
});

describe('the crazy example', { skip }, () => {
  let tsgi: RunningTsgi;
  before(async () => {
    tsgi = await startTsgi(['--gevent', '100', '--socket', '127.0.0.1:0', '--http-socket', '127.0.0.1:0', '--module', CRAZY]);
  });
  after(async () => tsgi?.stop());

  test('streams through --http-socket: first chunk before the 3 s sleep ends, then the rest in order', async () => {
    const result = await httpGetChunks(tsgi.url + '/');
    const text = result.chunks.map((c) => c.data.toString()).join('');
    assert.match(text, /^sleeping for 3 seconds\.\.\.\ndone\ngetting some ips\.\.\.\nip = 127\.0\.0\.1\nip = 127\.0\.0\.1\nip = 127\.0\.0\.1\nip = null\n$/);
    const first = result.chunks[0];
    assert.equal(first.data.toString(), 'sleeping for 3 seconds...\n');
    const done = result.chunks.find((c) => c.data.toString().includes('done'))!;
    assert.ok(done.at - first.at >= 2.5, `"done" came ${done.at - first.at} s after the first chunk, expected about 3 s`);
  });

  test('streams through --socket with the uwsgi protocol client, and the background task goes on after the response', async () => {
    const mark = tsgi.lines().length;
    const address = tsgi.uwsgiAddress as { host: string; port: number };
    const started = Date.now();
    const res = await uwsgiRequest(address, { vars: nginxLikeVars('/') });
    assert.equal(res.status, 200);
    assert.deepEqual(res.headers, [['Content-Type', 'text/html']]);
    let firstAt = 0;
    const parts: string[] = [];
    for await (const chunk of res.body) {
      if (firstAt === 0) firstAt = Date.now() - started;
      parts.push(String(chunk));
    }
    const endedAt = Date.now() - started;
    assert.ok(firstAt < 2000, `first chunk after ${firstAt} ms`);
    assert.ok(endedAt >= 2900, `response ended after ${endedAt} ms`);
    assert.match(parts.join(''), /done\ngetting some ips/);
    const logged = await tsgi.waitForLine(/GET \/ => generated \d+ bytes in \d+ msecs \(HTTP\/1\.1 200\) 1 headers in 44 bytes \(\d+ switches on core 99\)/, 10, mark);
    const requestLine = tsgi.lines().findIndex((l, i) => i >= mark && l.text.includes(logged[0]));
    await tsgi.waitForLine(/^background task 2$/, 10, requestLine);
  });
});

describe('the loop engine', { skip }, () => {
  let tsgi: RunningTsgi;
  before(async () => {
    tsgi = await startTsgi(['--gevent', '10', '--socket', '127.0.0.1:0', '--http-socket', '127.0.0.1:0', '--module', APP, '--harakiri', '2']);
  });
  after(async () => tsgi?.stop());

  test('30 concurrent 1-second requests on 10 cores: about 3 s, never more than 10 at once, CPU idle while waiting', async () => {
    await httpGet(tsgi.url + '/max-running');
    const pid = workerPid(tsgi);
    const cpuBefore = cpuSeconds(pid);
    const mark = tsgi.lines().length;
    const started = Date.now();
    const results = await Promise.all(Array.from({ length: 30 }, () => httpGet(tsgi.url + '/sleep?s=1')));
    const elapsed = (Date.now() - started) / 1000;
    const cpu = cpuSeconds(pid) - cpuBefore;
    assert.ok(results.every((r) => r.status === 200));
    assert.ok(elapsed >= 2.9 && elapsed < 6, `took ${elapsed} s, expected about 3`);
    assert.equal((await httpGet(tsgi.url + '/max-running')).body, '10');
    assert.ok(cpu < 1, `the worker burned ${cpu} CPU-seconds while requests waited for cores`);
    await tsgi.waitForLine(/\[DANGER\] async queue is full !!!/, 5, mark);
  });

  test('a request body arrives intact through the uwsgi socket (tsgi.input)', async () => {
    const body = Buffer.alloc(3 * 1024 * 1024 + 7, 0x42);
    const res = await uwsgiRequest(tsgi.uwsgiAddress as { host: string; port: number }, {
      vars: nginxLikeVars('/echo', { REQUEST_METHOD: 'POST', CONTENT_LENGTH: String(body.length) }),
      body,
    });
    assert.equal(res.status, 200);
    assert.equal((await readAll(res.body)).toString(), `${body.length} ${createHash('sha256').update(body).digest('hex')}`);
  });

  test('requestContext() works in a greenlet the request spawned', async () => {
    const res = await httpGet(tsgi.url + '/context?x=1');
    assert.equal(res.body, 'child saw /context?x=1 on worker 1');
  });

  test('background greenlets outlive their request and are counted', async () => {
    const mark = tsgi.lines().length;
    const res = await httpGet(tsgi.url + '/background?tag=bg1');
    assert.match(res.body, /^spawned bg1; background greenlets now [1-9]/);
    await tsgi.waitForLine(/^background bg1 3$/, 10, mark);
  });

  test('an app that throws before start_response gets a 500, with the stack in the log; the next request is served', async () => {
    const mark = tsgi.lines().length;
    const res = await httpGet(tsgi.url + '/throw-before');
    assert.equal(res.status, 500);
    await tsgi.waitForLine(/TSGI_ERR_APP_EXCEPTION.*GET \/throw-before failed before the response started; answered 500/, 5, mark);
    await tsgi.waitForLine(/Error: boom before the response started/, 5, mark);
    assert.equal((await httpGet(tsgi.url + '/hello')).body, 'Hello World');
  });

  test('an app that throws after the headers: the connection is closed without a clean end, and logged', async () => {
    const mark = tsgi.lines().length;
    const res = await uwsgiRequest(tsgi.uwsgiAddress as { host: string; port: number }, { vars: nginxLikeVars('/throw-after') });
    assert.equal(res.status, 200);
    const body = await readAll(res.body);
    assert.equal(body.toString(), 'partial ');
    await tsgi.waitForLine(/GET \/throw-after failed after the response headers were sent; connection closed/, 5, mark);
    assert.equal((await httpGet(tsgi.url + '/hello')).body, 'Hello World');
  });

  test("uWSGI's async API is refused with TSGI_ERR_ASYNC_API_FORBIDDEN", async () => {
    const mark = tsgi.lines().length;
    assert.equal((await httpGet(tsgi.url + '/async-api')).status, 500);
    await tsgi.waitForLine(/TSGI_ERR_ASYNC_API_FORBIDDEN|EXPLICITLY FORBIDDEN. Use sleep\(0\) from @tsgi\/hub/, 5, mark);
  });

  test('harakiri cancels only the late request (504) while a concurrent request on the same worker succeeds', async () => {
    const mark = tsgi.lines().length;
    const slow = httpGet(tsgi.url + '/harakiri');
    const fast = await httpGet(tsgi.url + '/sleep?s=0.5');
    assert.equal(fast.status, 200);
    const late = await slow;
    assert.equal(late.status, 504);
    await tsgi.waitForLine(/HARAKIRI ON WORKER 1 CORE \d+ .*"GET \/harakiri"/, 5, mark);
    assert.equal((await httpGet(tsgi.url + '/hello')).body, 'Hello World');
  });

  test('malformed uwsgi packets: each logged with uWSGI\'s text, the worker keeps serving', async () => {
    const port = (tsgi.uwsgiAddress as { port: number }).port;
    const cases: Array<[string, Buffer, RegExp]> = [
      ['HTTP sent to a uwsgi socket', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), /invalid request block size: 21573 \(max 4096\)\.\.\.skip/],
      ['an unknown modifier1', encodePacket({ modifier1: 5, vars: { PATH_INFO: '/' } }), /-- unavailable modifier requested: 5 --/],
      ['a zero-length key', Buffer.concat([Buffer.from([0, 6, 0, 0]), Buffer.from([0, 0, 1, 0, 0x78, 0])]), /uwsgi key cannot be null\. skip this var\./],
      ['a length overrunning the block', Buffer.concat([Buffer.from([0, 4, 0, 0]), Buffer.from([200, 0, 0x41, 0x42])]), /invalid uwsgi request \(current strsize: \d+\)\. skip\./],
      ['EOF inside the vars block', Buffer.concat([Buffer.from([0, 100, 0, 0]), encodeVars({ A: 'b' })]), /TSGI_ERR_UWSGI_EOF_VARS/],
    ];
    for (const [name, bytes, logLine] of cases) {
      const mark = tsgi.lines().length;
      const reply = await rawExchange(port, bytes);
      assert.equal(reply.length, 0, `${name}: nothing is sent back`);
      await tsgi.waitForLine(logLine, 5, mark);
      const ok = await uwsgiRequest({ host: '127.0.0.1', port }, { vars: nginxLikeVars('/hello') });
      assert.equal((await readAll(ok.body)).toString(), 'Hello World', `${name}: the next request is served`);
    }
  });

  test('a client that vanishes mid-stream: one Broken pipe line, the core is freed', async () => {
    const mark = tsgi.lines().length;
    const port = (tsgi.uwsgiAddress as { port: number }).port;
    await new Promise<void>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.write(encodePacket({ vars: nginxLikeVars('/stream', { QUERY_STRING: 'mb=50' }) })));
      let got = 0;
      socket.on('data', (d) => {
        got += d.length;
        if (got > 256 * 1024) {
          socket.destroy();
          resolve();
        }
      });
    });
    await tsgi.waitForLine(/uwsgi_response_write_body_do\(\): Broken pipe \[TSGI_ERR_CLIENT_GONE\] during GET \/stream/, 10, mark);
    assert.equal((await httpGet(tsgi.url + '/hello')).body, 'Hello World');
  });

  test('a slow reader of a 100 MB stream keeps worker memory flat (backpressure)', async () => {
    const pid = workerPid(tsgi);
    const port = (tsgi.uwsgiAddress as { port: number }).port;
    const before = rssBytes(pid);
    let peak = before;
    await new Promise<void>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.write(encodePacket({ vars: nginxLikeVars('/stream', { QUERY_STRING: 'mb=100' }) })));
      socket.pause();
      let got = 0;
      // Read about 1 KB per millisecond for 2 s: far slower than the app produces.
      const timer = setInterval(() => {
        let chunk: Buffer | null;
        let budget = 16 * 1024;
        while (budget > 0 && (chunk = socket.read(Math.min(budget, 1024)) as Buffer | null) !== null) {
          got += chunk.length;
          budget -= chunk.length;
        }
        peak = Math.max(peak, rssBytes(pid));
      }, 16);
      setTimeout(() => {
        clearInterval(timer);
        assert.ok(got > 0, 'the slow reader received data');
        socket.destroy();
        resolve();
      }, 2000);
    });
    assert.ok(peak - before < 40 * 1024 * 1024, `worker RSS grew by ${((peak - before) / 1048576).toFixed(1)} MB while a slow client read a 100 MB stream`);
  });
});

describe('responses known up front', { skip }, () => {
  test('go out in one write with a Content-Length instead of chunked encoding', async () => {
    const tsgi = await startTsgi(['--gevent', '10', '--http-socket', '127.0.0.1:0', '--module', join(REPO_ROOT, 'e2e', 'apps', 'hello-app.ts')]);
    try {
      const res = await fetch(tsgi.url + '/');
      assert.equal(await res.text(), 'Hello World');
      assert.equal(res.headers.get('content-length'), '11');
      assert.equal(res.headers.get('transfer-encoding'), null);
      await tsgi.waitForLine(/GET \/ => generated 11 bytes in \d+ msecs \(HTTP\/1\.1 200\) 1 headers in \d+ bytes/, 5);
    } finally {
      await tsgi.stop();
    }
  });

  test('a string body goes out as UTF-8 with its length in bytes, through --http-socket and --socket', async () => {
    const tsgi = await startTsgi(['--gevent', '10', '--http-socket', '127.0.0.1:0', '--socket', '127.0.0.1:0', '--module', join(REPO_ROOT, 'e2e', 'apps', 'whole-body-app.ts')]);
    try {
      const expected: Record<string, string> = { '/string': 'h\u00e9llo \u20ac', '/list-of-one': '\u20ac uro', '/list': '\u00e9 \u20ac z', '/bytes': 'b\u00fdtes' };
      for (const [path, text] of Object.entries(expected)) {
        const bytes = Buffer.byteLength(text);
        const logged = new RegExp(`GET ${path.replace('/', '\\/')} => generated ${bytes} bytes .*\\(HTTP/1\\.1 200\\)`);
        let mark = tsgi.lines().length;
        const res = await fetch(tsgi.url + path);
        assert.equal(await res.text(), text, path);
        assert.equal(res.headers.get('content-length'), String(bytes), path);
        await tsgi.waitForLine(logged, 5, mark);
        mark = tsgi.lines().length;
        const viaUwsgi = await uwsgiRequest(tsgi.uwsgiAddress as { host: string; port: number }, { vars: nginxLikeVars(path) });
        assert.equal(viaUwsgi.status, 200);
        assert.equal((await readAll(viaUwsgi.body as unknown as NodeJS.ReadableStream)).toString('utf8'), text, path);
        await tsgi.waitForLine(logged, 5, mark);
      }
    } finally {
      await tsgi.stop();
    }
  });

  test('a body the app never reads does not leak into the next request on a keep-alive connection (also pipelined)', async () => {
    const tsgi = await startTsgi(['--gevent', '10', '--http-socket', '127.0.0.1:0', '--module', join(REPO_ROOT, 'e2e', 'apps', 'hello-app.ts')]);
    try {
      const port = Number(new URL(tsgi.url).port);
      const body = 'GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n';
      const chunked = `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
      const requests =
        `POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}` +
        `POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${chunked}` +
        'GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
      const reply = (await rawExchange(port, Buffer.from(requests))).toString('latin1');
      assert.equal(reply.match(/HTTP\/1\.1 200 OK/g)?.length, 3, reply);
      assert.equal(reply.match(/Hello World/g)?.length, 3, reply);
      // Pipelined: /c may finish (and be logged) while /b's unread body is still being drained;
      // Node's server sends the responses in request order all the same.
      for (const line of [/POST \/a => generated 11 bytes/, /POST \/b => generated 11 bytes/, /GET \/c => generated 11 bytes/]) await tsgi.waitForLine(line, 5);
      assert.doesNotMatch(tsgi.output(), /smuggled/);
    } finally {
      await tsgi.stop();
    }
  });
});

describe('--gevent-monkey-patch', { skip }, () => {
  test('requestContext() still reaches greenlets a request spawns (the request store is inherited)', async () => {
    const tsgi = await startTsgi(['--gevent', '10', '--http-socket', '127.0.0.1:0', '--module', APP, '--gevent-monkey-patch']);
    try {
      assert.equal((await httpGet(tsgi.url + '/context?m=1')).body, 'child saw /context?m=1 on worker 1');
    } finally {
      await tsgi.stop();
    }
  });
});

describe('startup errors', { skip }, () => {
  async function runToExit(args: string[]): Promise<{ code: number | null; output: string }> {
    const proc = await startProcess(process.execPath, [TSGI_BIN, ...args], { name: 'tsgi' });
    // Started processes do not keep the test's event loop alive; this bounds the wait as well.
    const bound = setTimeout(() => void proc.stop('SIGKILL'), 20_000);
    const info = await proc.exited;
    clearTimeout(bound);
    return { code: info.code, output: proc.output() };
  }

  test('--threads with --gevent is refused with a clear message and a non-zero exit', async () => {
    const { code, output } = await runToExit(['--gevent', '100', '--threads', '4', '--http-socket', '127.0.0.1:0', '--module', APP]);
    assert.notEqual(code, 0);
    assert.match(output, /TSGI_ERR_THREADS_WITH_GEVENT/);
  });

  test('an app that cannot be loaded: a clear error and a non-zero exit', async () => {
    const { code, output } = await runToExit(['--gevent', '10', '--http-socket', '127.0.0.1:0', '--module', 'no-such-app-anywhere']);
    assert.notEqual(code, 0);
    assert.match(output, /unable to find app module "no-such-app-anywhere"/);
  });

  test('an address another program listens on: "Address already in use" and a non-zero exit, for either socket kind', async () => {
    const other = net.createServer();
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const port = (other.address() as net.AddressInfo).port;
    try {
      for (const flag of ['--http-socket', '--socket']) {
        const { code, output } = await runToExit(['--gevent', '10', flag, `127.0.0.1:${port}`, '--module', APP]);
        assert.notEqual(code, 0);
        assert.match(output, new RegExp(`unable to bind TCP address 127\\.0\\.0\\.1:${port}: EADDRINUSE \\(bind\\(\\): Address already in use\\)`));
        assert.doesNotMatch(output, /tsgi ready/);
      }
    } finally {
      other.close();
    }
  });

  test('an unknown flag fails with a suggestion', async () => {
    const { code, output } = await runToExit(['--gevnt', '10']);
    assert.notEqual(code, 0);
    assert.match(output, /did you mean --gevent\?/);
  });
});
