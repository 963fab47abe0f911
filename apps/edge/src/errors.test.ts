import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, test } from 'node:test';
import { rawRequest, refusedPort, request, startEdge, startFakeHttp, startFakeUwsgi, writeHead, type TestEdge } from './test-support/fakes.js';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function edgeFor(location: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<TestEdge> {
  const edge = await startEdge({ locations: [{ prefix: '/', ...location }], ...extra });
  cleanups.push(() => edge.close());
  return edge;
}
async function uwsgi(handler: Parameters<typeof startFakeUwsgi>[0]) {
  const up = await startFakeUwsgi(handler);
  cleanups.push(() => up.close());
  return up;
}
const ctx = (edge: TestEdge, path: string, upstream: string) =>
  `, client: 127.0.0.1, server: localhost, request: "GET ${path} HTTP/1.1", upstream: "${upstream}", host: "127.0.0.1:${edge.port}"`;

test('connection refused → 502 and nginx\'s log line', async () => {
  const port = await refusedPort();
  const edge = await edgeFor({ uwsgi_pass: `127.0.0.1:${port}` });
  const res = await request(`${edge.url}/x`);
  assert.equal(res.status, 502);
  assert.match(res.body.toString(), /502 Bad Gateway/);
  const line = await edge.waitForError('connect() failed');
  assert.ok(line.endsWith(`[error] ${process.pid}#0: *1 connect() failed (111: Connection refused) while connecting to upstream${ctx(edge, '/x', `uwsgi://127.0.0.1:${port}`)}`), line);
  const access = await edge.waitForAccess('GET /x');
  assert.match(access, /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/x HTTP\/1\.1" 502 \d+ "-" "-" 127\.0\.0\.1:\d+ \d\.\d{3}$/);
});

test('upstream silent past read_timeout → 504', async () => {
  const up = await uwsgi(() => {});
  const edge = await edgeFor({ uwsgi_pass: up.address, read_timeout: '300ms' });
  const res = await request(`${edge.url}/slow`);
  assert.equal(res.status, 504);
  const line = await edge.waitForError('upstream timed out');
  assert.ok(line.includes(`upstream timed out (110: Connection timed out) while reading response header from upstream${ctx(edge, '/slow', `uwsgi://${up.address}`)}`), line);
});

test('connect timeout → 504 "while connecting to upstream"', async () => {
  // A listening socket whose accept queue is full drops further SYNs, so connect() hangs: a loopback black hole.
  const py = spawn('/usr/bin/python3', ['-c', 'import socket,sys,time\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(60)'], { stdio: ['ignore', 'pipe', 'inherit'] });
  cleanups.push(async () => {
    py.kill();
  });
  const [portText] = (await once(py.stdout!, 'data')) as [Buffer];
  const port = Number(portText.toString().trim());
  const fillers: import("node:net").Socket[] = [];
  for (let i = 0; i < 3; i++) {
    const { connect } = await import('node:net');
    const s = connect({ port, host: '127.0.0.1' });
    s.on('error', () => {});
    fillers.push(s);
  }
  cleanups.push(async () => fillers.forEach((s) => s.destroy()));
  await once(fillers[0], 'connect');
  const edge = await edgeFor({ uwsgi_pass: `127.0.0.1:${port}`, connect_timeout: '300ms' });
  const res = await request(`${edge.url}/c`);
  assert.equal(res.status, 504);
  await edge.waitForError('upstream timed out (110: Connection timed out) while connecting to upstream');
});

test('reset before the header → 502 recv() failed (104)', async () => {
  const up = await uwsgi(({ socket }) => {
    socket.resetAndDestroy();
  });
  const edge = await edgeFor({ uwsgi_pass: up.address });
  const res = await request(`${edge.url}/r`);
  assert.equal(res.status, 502);
  await edge.waitForError(`recv() failed (104: Connection reset by peer) while reading response header from upstream${ctx(edge, '/r', `uwsgi://${up.address}`)}`);
});

test('closed before the header → 502 upstream prematurely closed connection', async () => {
  const up = await uwsgi(({ socket }) => {
    socket.end();
  });
  const edge = await edgeFor({ uwsgi_pass: up.address });
  const res = await request(`${edge.url}/p`);
  assert.equal(res.status, 502);
  await edge.waitForError('upstream prematurely closed connection while reading response header from upstream');
});

test('head over buffer_size → 502 upstream sent too big header', async () => {
  const up = await uwsgi(({ socket }) => {
    writeHead(socket, '200 OK', [['X-Big', 'x'.repeat(5000)]]);
    socket.end('body');
  });
  const edge = await edgeFor({ uwsgi_pass: up.address, buffer_size: '4k' });
  const res = await request(`${edge.url}/big`);
  assert.equal(res.status, 502);
  await edge.waitForError('upstream sent too big header while reading response header from upstream');
});

test('malformed status line → 502 upstream sent invalid header', async () => {
  const up = await uwsgi(({ socket }) => {
    socket.end('bad status\n\r\n\r\n');
  });
  const edge = await edgeFor({ uwsgi_pass: up.address });
  const res = await request(`${edge.url}/bad`);
  assert.equal(res.status, 502);
  await edge.waitForError('upstream sent invalid header');
});

for (const buffering of ['on', 'off']) {
  test(`upstream closing mid-body (buffering ${buffering}) → client connection closed, never a clean end`, async () => {
    const up = await uwsgi(({ socket }) => {
      writeHead(socket, '200 OK', [['Content-Length', '100']]);
      socket.end('only ten..');
    });
    const edge = await edgeFor({ uwsgi_pass: up.address, buffering });
    const res = await request(`${edge.url}/cut`).catch((e: Error) => ({ complete: false, status: 0, error: e }));
    assert.equal(res.complete, false);
    await edge.waitForError(`upstream prematurely closed connection while reading upstream${ctx(edge, '/cut', `uwsgi://${up.address}`)}`);
  });

  test(`HTTP upstream aborting a chunked body (buffering ${buffering}) → the chunked response to the client has no last chunk`, async () => {
    const up = await startFakeHttp((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.write('x'.repeat(5000));
      setImmediate(() => res.destroy());
    });
    cleanups.push(() => up.close());
    const edge = await edgeFor({ proxy_pass: up.url, buffering });
    const raw = await rawRequest(edge.port, 'GET /chunked HTTP/1.1\r\nHost: t\r\n\r\n');
    assert.match(raw, /^HTTP\/1\.1 200 OK/);
    assert.doesNotMatch(raw, /\r\n0\r\n\r\n$/);
    await edge.waitForError('upstream prematurely closed connection while reading upstream');
  });
}

test('read_timeout between body reads → client connection closed, "while reading upstream"', async () => {
  const up = await uwsgi(({ socket }) => {
    writeHead(socket);
    socket.write('part one\n');
  });
  const edge = await edgeFor({ uwsgi_pass: up.address, buffering: 'off', read_timeout: '300ms' });
  const res = await request(`${edge.url}/stall`);
  assert.equal(res.status, 200);
  assert.equal(res.body.toString(), 'part one\n');
  assert.equal(res.complete, false);
  await edge.waitForError('upstream timed out (110: Connection timed out) while reading upstream');
});

test('client_max_body_size → 413 for a Content-Length over it and for a chunked body growing past it', async () => {
  const up = await uwsgi(({ socket }) => {
    writeHead(socket);
    socket.end('ok');
  });
  const edge = await edgeFor({ uwsgi_pass: up.address, client_max_body_size: '1k' });
  const big = await request(`${edge.url}/up`, { method: 'POST', body: Buffer.alloc(2000) });
  assert.equal(big.status, 413);
  await edge.waitForError('client intended to send too large body: 2000 bytes');
  const chunked = await rawRequest(edge.port, `POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n7d0\r\n${'a'.repeat(2000)}\r\n0\r\n\r\n`, /\r\n\r\n[\s\S]*<\/html>/);
  assert.match(chunked, /^HTTP\/1\.1 413 /);
  await edge.waitForError('client intended to send too large chunked body: 2000+ bytes');
  const small = await request(`${edge.url}/up`, { method: 'POST', body: 'hello' });
  assert.equal(small.status, 200);
  assert.equal(up.exchanges.length, 1, 'the refused bodies never reached the upstream');
  assert.equal(up.exchanges[0].body.toString(), 'hello');
});

test('request smuggling: Content-Length with Transfer-Encoding, or two Content-Lengths, → 400 and nothing upstream', async () => {
  const up = await uwsgi(({ socket }) => {
    writeHead(socket);
    socket.end('ok');
  });
  const edge = await edgeFor({ uwsgi_pass: up.address });
  const both = await rawRequest(edge.port, 'POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\nHost: t\r\n\r\n');
  assert.match(both, /^HTTP\/1\.1 400 Bad Request/);
  const two = await rawRequest(edge.port, 'POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nContent-Length: 30\r\n\r\nabcd');
  assert.match(two, /^HTTP\/1\.1 400 Bad Request/);
  const badTe = await rawRequest(edge.port, 'POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n');
  assert.match(badTe, /^HTTP\/1\.1 400 Bad Request/);
  assert.equal(up.exchanges.length, 0);
  await edge.waitForError('client sent conflicting or invalid "Content-Length"/"Transfer-Encoding" headers');
});

test('request head over large_client_header_buffers → 431', async () => {
  const edge = await edgeFor({ uwsgi_pass: '127.0.0.1:9' }, { large_client_header_buffers: '2 1k' });
  const raw = await rawRequest(edge.port, `GET / HTTP/1.1\r\nHost: t\r\nX-Big: ${'b'.repeat(3000)}\r\n\r\n`);
  assert.match(raw, /^HTTP\/1\.1 431 Request Header Fields Too Large/);
  await edge.waitForError('client sent too long header line');
});

test('a client that never finishes its head is dropped after client_header_timeout', async () => {
  const edge = await edgeFor({ uwsgi_pass: '127.0.0.1:9' }, { client_header_timeout: '300ms' });
  const raw = await rawRequest(edge.port, 'GET / HTTP/1.1\r\nHost: t\r\n');
  assert.equal(raw, '', 'closed without a response, as nginx');
  await edge.waitForError('client timed out (110: Connection timed out) while reading client request headers');
});

test('a path climbing above the root → 400; the upstream never sees it', async () => {
  const up = await uwsgi(({ socket }) => {
    writeHead(socket);
    socket.end('ok');
  });
  const edge = await edgeFor({ uwsgi_pass: up.address });
  const raw = await rawRequest(edge.port, 'GET /a/../../etc/passwd HTTP/1.1\r\nHost: t\r\n\r\n');
  assert.match(raw, /^HTTP\/1\.1 400 /);
  assert.equal(up.exchanges.length, 0);
});
