import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import { after, test } from 'node:test';
import { refusedPort, request, startEdge, startFakeHttp, startFakeUwsgi, writeHead, type TestEdge } from './test-support/fakes.js';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});
async function edgeFor(location: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<TestEdge> {
  const edge = await startEdge({ locations: [{ prefix: '/', ...location }], ...extra });
  cleanups.push(() => edge.close());
  return edge;
}

test('proxy_pass: refused → 502 with upstream "http://..."', async () => {
  const port = await refusedPort();
  const edge = await edgeFor({ proxy_pass: `http://127.0.0.1:${port}` });
  assert.equal((await request(`${edge.url}/r`)).status, 502);
  await edge.waitForError(`connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: localhost, request: "GET /r HTTP/1.1", upstream: "http://127.0.0.1:${port}"`);
});

test('proxy_pass: silent upstream → 504 after read_timeout', async () => {
  const up = await startFakeHttp(() => {});
  cleanups.push(() => up.close());
  const edge = await edgeFor({ proxy_pass: up.url, read_timeout: '300ms' });
  assert.equal((await request(`${edge.url}/t`)).status, 504);
  await edge.waitForError('upstream timed out (110: Connection timed out) while reading response header from upstream');
});

test('proxy_pass: head over buffer_size → 502 too big header; closed before head → 502 prematurely closed', async () => {
  const up = await startFakeHttp((req, res) => {
    if (req.url === '/big') {
      res.setHeader('X-Big', 'y'.repeat(6000));
      res.end('x');
    } else req.socket.destroy();
  });
  cleanups.push(() => up.close());
  const edge = await edgeFor({ proxy_pass: up.url, buffer_size: '4k' });
  assert.equal((await request(`${edge.url}/big`)).status, 502);
  await edge.waitForError('upstream sent too big header while reading response header from upstream');
  assert.equal((await request(`${edge.url}/gone`)).status, 502);
  await edge.waitForError('upstream prematurely closed connection while reading response header from upstream');
});

test('proxy_pass: request bodies are sent with their length, upstream status and headers come back', async () => {
  const up = await startFakeHttp((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      res.writeHead(201, 'Made', { 'Set-Cookie': ['a=1', 'b=2'], 'Content-Type': 'text/plain' });
      res.end(`${req.headers['content-length']}:${req.headers['transfer-encoding'] ?? '-'}:${Buffer.concat(parts).toString()}`);
    });
  });
  cleanups.push(() => up.close());
  const edge = await edgeFor({ proxy_pass: up.url });
  const res = await request(`${edge.url}/p`, { method: 'POST', body: 'hello', headers: { 'Transfer-Encoding': 'chunked' } });
  assert.equal(res.status, 201);
  assert.equal(res.body.toString(), '5:-:hello');
  assert.deepEqual(res.headers['set-cookie'], ['a=1', 'b=2']);
});

test('a client that stops reading is dropped after client_send_timeout, and the upstream is released', async () => {
  const big = Buffer.alloc(16 * 1024 * 1024, 'z');
  const up = await startFakeUwsgi(({ socket }) => {
    writeHead(socket);
    socket.write(big);
  });
  cleanups.push(() => up.close());
  const edge = await edgeFor({ uwsgi_pass: up.address, buffering: 'off' }, { client_send_timeout: '300ms' });
  const req = http.get(`${edge.url}/`, { agent: false });
  req.on('error', () => {});
  const [res] = (await once(req, 'response')) as [http.IncomingMessage];
  res.on('error', () => {});
  res.pause();
  await edge.waitForError('client timed out (110: Connection timed out) while sending to client');
  // The edge resets the upstream (unread data), so wait on 'close' itself: events.once would reject on the reset.
  await new Promise((r) => up.sockets[0].once('close', r));
  res.destroy();
});

test('upstream_keepalive: requests reuse an idle upstream connection; 0 (the default) opens one per request', async () => {
  const up = await startFakeHttp((_req, res) => res.end('ok'));
  cleanups.push(() => up.close());
  let connections = 0;
  up.server.on('connection', () => connections++);
  const kept = await edgeFor({ proxy_pass: up.url }, { upstream_keepalive: 4 });
  for (let i = 0; i < 3; i++) assert.equal((await request(`${kept.url}/k${i}`)).body.toString(), 'ok');
  assert.equal(connections, 1);
  assert.equal(up.requests[0].headers.connection, 'keep-alive');
  const fresh = await edgeFor({ proxy_pass: up.url });
  for (let i = 0; i < 3; i++) assert.equal((await request(`${fresh.url}/f${i}`)).body.toString(), 'ok');
  assert.equal(connections, 4);
  assert.equal(up.requests[3].headers.connection, 'close');
});

test('upstream_keepalive: a GET that meets a kept-alive connection the server dropped goes again on a new one', async () => {
  const served = new WeakSet<object>();
  const up = await startFakeHttp((req, res) => {
    // The server closed this idle connection just as the request arrived: no response at all.
    if (served.has(req.socket)) return void req.socket.destroy();
    served.add(req.socket);
    res.end(`ok ${req.url}`);
  });
  cleanups.push(() => up.close());
  const edge = await edgeFor({ proxy_pass: up.url }, { upstream_keepalive: 4 });
  assert.equal((await request(`${edge.url}/a`)).body.toString(), 'ok /a');
  const second = await request(`${edge.url}/b`);
  assert.equal(second.status, 200);
  assert.equal(second.body.toString(), 'ok /b');
  assert.deepEqual(up.requests.map((r) => r.url), ['/a', '/b', '/b']);
  const line = await edge.waitForAccess('GET /b ');
  assert.match(line, /" 200 5 /);
});
