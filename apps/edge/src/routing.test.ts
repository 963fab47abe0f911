import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { after, test } from 'node:test';
import { rawRequest, refusedPort, request, startEdge, startFakeHttp, startFakeUwsgi, writeHead } from './test-support/fakes.js';

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function okUwsgi(name: string) {
  const up = await startFakeUwsgi(({ socket }) => {
    writeHead(socket);
    socket.end(name);
  });
  cleanups.push(() => up.close());
  return up;
}

test('uwsgi vars are what nginx + Debian uwsgi_params send', async () => {
  const up = await okUwsgi('ok');
  const edge = await startEdge({ server_name: 'rig.local', locations: [{ prefix: '/', uwsgi_pass: up.address, modifier1: 30, modifier2: 2 }] });
  cleanups.push(() => edge.close());
  const res = await request(edge.url, { path: '/sniff/a%20b/../path?q=1&r=two', headers: { Host: 'Rig.Example:8080', 'X-Rig': '1', X_Under: 'dropped', Cookie: 'a=1' }, method: 'GET' });
  assert.equal(res.status, 200);
  const ex = up.exchanges[0];
  assert.equal(ex.modifier1, 30);
  assert.equal(ex.modifier2, 2);
  const keys = ex.vars.map(([k]) => k);
  assert.deepEqual(keys.slice(0, 15), ['QUERY_STRING', 'REQUEST_METHOD', 'CONTENT_TYPE', 'CONTENT_LENGTH', 'REQUEST_URI', 'PATH_INFO', 'DOCUMENT_ROOT', 'SERVER_PROTOCOL', 'REQUEST_SCHEME', 'REMOTE_ADDR', 'REMOTE_PORT', 'SERVER_PORT', 'SERVER_NAME', 'HTTP_HOST', 'HTTP_X_RIG']);
  assert.equal(ex.env.QUERY_STRING, 'q=1&r=two');
  assert.equal(ex.env.REQUEST_URI, '/sniff/a%20b/../path?q=1&r=two');
  assert.equal(ex.env.PATH_INFO, '/sniff/path');
  assert.equal(ex.env.CONTENT_LENGTH, '');
  assert.equal(ex.env.SERVER_NAME, 'rig.local');
  assert.equal(ex.env.SERVER_PORT, String(edge.port));
  assert.equal(ex.env.HTTP_HOST, 'rig.example', 'Debian: HTTP_HOST = $host, no port');
  assert.equal(ex.env.HTTP_COOKIE, 'a=1');
  assert.equal(ex.env.HTTPS, undefined);
  assert.equal(ex.env.SCRIPT_NAME, undefined);
  assert.ok(!keys.includes('HTTP_X_UNDER'), 'headers with "_" are dropped');
  assert.equal(keys.filter((k) => k === 'HTTP_HOST').length, 1);
});

test('a chunked request body is buffered and sent with CONTENT_LENGTH', async () => {
  const up = await okUwsgi('ok');
  const edge = await startEdge({ locations: [{ prefix: '/', uwsgi_pass: up.address, request_buffering: 'off' }] });
  cleanups.push(() => edge.close());
  const raw = await rawRequest(edge.port, 'POST /p HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n');
  assert.match(raw, /^HTTP\/1\.1 200/);
  assert.equal(up.exchanges[0].env.CONTENT_LENGTH, '11');
  assert.equal(up.exchanges[0].env.HTTP_TRANSFER_ENCODING, undefined);
  assert.equal(up.exchanges[0].body.toString(), 'hello world');
});

test('request_buffering off streams the body: the upstream has the head before the client sent the body', async () => {
  const up = await startFakeUwsgi(({ socket, body }) => {
    writeHead(socket);
    socket.end(`got ${body.length}`);
  });
  cleanups.push(() => up.close());
  const edge = await startEdge({ locations: [{ prefix: '/', uwsgi_pass: up.address, request_buffering: 'off' }] });
  cleanups.push(() => edge.close());
  const { connect } = await import('node:net');
  const connected = once(up.server, 'connection');
  const s = connect(edge.port, '127.0.0.1');
  s.write('POST /s HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\nConnection: close\r\n\r\nhello');
  let out = '';
  s.on('data', (c) => (out += c));
  // The fake upstream only answers once all 10 bytes came: it was connected before the client sent the rest.
  await connected;
  s.write('world');
  await once(s, 'close');
  assert.match(out, /got 10/);
});

test('longest prefix routes; proxy_pass path replaces the prefix; X-Forwarded-* added; hop-by-hop stripped both ways', async () => {
  const api = await okUwsgi('api');
  const http = await startFakeHttp((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Keep-Alive': 'timeout=5', 'X-Secret-Hop': 'no', Connection: 'X-Secret-Hop', 'X-Kept': 'yes' });
    res.end(JSON.stringify({ url: req.url, headers: req.headers }));
  });
  cleanups.push(() => http.close());
  const edge = await startEdge({
    locations: [
      { prefix: '/', proxy_pass: http.url },
      { prefix: '/api/', uwsgi_pass: api.address },
      { prefix: '/h/', proxy_pass: `${http.url}/base/` },
    ],
  });
  cleanups.push(() => edge.close());
  assert.equal((await request(`${edge.url}/api/x`)).body.toString(), 'api');
  const res = await request(`${edge.url}/h/y?z=1`, { headers: { Connection: 'X-Client-Hop, keep-alive', 'X-Client-Hop': 'secret', TE: 'trailers', 'Proxy-Connection': 'keep-alive', 'X-Forwarded-For': '10.1.1.1', 'X-Normal': 'n' } });
  const seen = JSON.parse(res.body.toString()) as { url: string; headers: Record<string, string> };
  assert.equal(seen.url, '/base/y?z=1');
  assert.equal(seen.headers['x-client-hop'], undefined);
  assert.equal(seen.headers.te, undefined);
  assert.equal(seen.headers['proxy-connection'], undefined);
  assert.equal(seen.headers['x-normal'], 'n');
  assert.equal(seen.headers['x-forwarded-for'], '10.1.1.1, 127.0.0.1');
  assert.equal(seen.headers['x-forwarded-proto'], 'http');
  assert.equal(seen.headers['x-forwarded-host'], `127.0.0.1:${edge.port}`);
  assert.equal(res.headers['x-secret-hop'], undefined);
  assert.equal(res.headers['x-kept'], 'yes');
  assert.notEqual(res.headers['keep-alive'], 'timeout=5');
  const root = JSON.parse((await request(`${edge.url}/plain?a=b`)).body.toString()) as { url: string };
  assert.equal(root.url, '/plain?a=b');
});

test('failover: a refusing server is skipped for GETs; POSTs are not retried unless non_idempotent', async () => {
  const good = await okUwsgi('good');
  const dead = await refusedPort();
  const upstreams = { app: { servers: [`127.0.0.1:${dead}`, good.address] } };
  const edge = await startEdge({ upstreams, locations: [{ prefix: '/', uwsgi_pass: 'app' }, { prefix: '/retry-post/', uwsgi_pass: 'app', next_upstream: 'error timeout non_idempotent' }] });
  cleanups.push(() => edge.close());
  const first = await request(`${edge.url}/a`);
  assert.equal(first.status, 200);
  assert.equal(first.body.toString(), 'good');
  const line = await edge.waitForAccess('GET /a ');
  assert.ok(line.endsWith(`127.0.0.1:${dead}, ${good.address} ${line.split(' ').at(-2)} ${line.split(' ').at(-1)}`), line);
  assert.match(line, / \d\.\d{3}, \d\.\d{3}$/);
  await edge.waitForError(`connect() failed (111: Connection refused) while connecting to upstream`);
  // max_fails 1: the dead server is now down for fail_timeout, so the next GETs go straight to the good one.
  for (let i = 0; i < 3; i++) assert.equal((await request(`${edge.url}/b${i}`)).status, 200);
  assert.ok((await edge.waitForAccess('GET /b2 ')).includes(` ${good.address} `));

  const edge2 = await startEdge({ upstreams: { app: { servers: [{ address: `127.0.0.1:${dead}`, max_fails: 0 }, good.address] } }, locations: [{ prefix: '/', uwsgi_pass: 'app' }, { prefix: '/retry-post/', uwsgi_pass: 'app', next_upstream: 'error timeout non_idempotent' }] });
  cleanups.push(() => edge2.close());
  const post = await request(`${edge2.url}/x`, { method: 'POST', body: 'b' });
  assert.equal(post.status, 502, 'POST is not idempotent: no second try');
  const post2 = await request(`${edge2.url}/retry-post/x`, { method: 'POST', body: 'b' });
  assert.equal(post2.status, 200);
  assert.equal(good.exchanges.at(-1)!.body.toString(), 'b', 'the buffered body was sent again to the next server');
});

test('all servers failed → 502 no live upstreams', async () => {
  const d1 = await refusedPort();
  const d2 = await refusedPort();
  const edge = await startEdge({ upstreams: { app: { servers: [`127.0.0.1:${d1}`, `127.0.0.1:${d2}`] } }, locations: [{ prefix: '/', uwsgi_pass: 'app' }] });
  cleanups.push(() => edge.close());
  assert.equal((await request(`${edge.url}/1`)).status, 502);
  assert.equal((await request(`${edge.url}/2`)).status, 502);
  await edge.waitForError('no live upstreams while connecting to upstream');
});

test('weighted round-robin through the edge', async () => {
  const a = await okUwsgi('a');
  const b = await okUwsgi('b');
  const edge = await startEdge({ upstreams: { app: { servers: [{ address: a.address, weight: 2 }, b.address] } }, locations: [{ prefix: '/', uwsgi_pass: 'app' }] });
  cleanups.push(() => edge.close());
  let seq = '';
  for (let i = 0; i < 6; i++) seq += (await request(`${edge.url}/`)).body.toString();
  assert.equal(seq, 'abaaba');
});

test('curl -N sees each chunk of an unbuffered stream as it comes', async () => {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const up = await startFakeUwsgi(async ({ socket }) => {
    writeHead(socket, '200 OK', [['Content-Type', 'text/html']]);
    socket.write('sleeping for 3 seconds...\n');
    await released;
    socket.end('done\n');
  });
  cleanups.push(() => up.close());
  const edge = await startEdge({ locations: [{ prefix: '/', uwsgi_pass: up.address, buffering: 'off' }] });
  cleanups.push(() => edge.close());
  const { spawn } = await import('node:child_process');
  const curl = spawn('curl', ['-N', '-s', '--raw', '--max-time', '20', `${edge.url}/`]);
  let out = '';
  await new Promise<void>((r) =>
    curl.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('sleeping')) r();
    }),
  );
  assert.equal(out, '1a\r\nsleeping for 3 seconds...\n\r\n');
  release();
  await new Promise((r) => curl.on('close', r));
  assert.equal(out, '1a\r\nsleeping for 3 seconds...\n\r\n5\r\ndone\n\r\n0\r\n\r\n');
});

test('static files: ETag, Last-Modified, 304, Range, index, and no way out of the directory', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edge-static-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'www', 'sub'), { recursive: true });
  writeFileSync(join(dir, 'secret.txt'), 'TOP SECRET');
  writeFileSync(join(dir, 'www', 'hello.txt'), '0123456789');
  writeFileSync(join(dir, 'www', 'sub', 'index.html'), '<p>index</p>');
  utimesSync(join(dir, 'www', 'hello.txt'), 1700000000, 1700000000);
  const edge = await startEdge({ locations: [{ prefix: '/static/', static: join(dir, 'www') }] });
  cleanups.push(() => edge.close());
  const full = await request(`${edge.url}/static/hello.txt`);
  assert.equal(full.status, 200);
  assert.equal(full.body.toString(), '0123456789');
  assert.equal(full.headers.etag, `"${(1700000000).toString(16)}-a"`);
  assert.equal(full.headers['last-modified'], 'Tue, 14 Nov 2023 22:13:20 GMT');
  assert.equal(full.headers['content-type'], 'text/plain');
  assert.equal((await request(`${edge.url}/static/hello.txt`, { headers: { 'If-None-Match': full.headers.etag! } })).status, 304);
  assert.equal((await request(`${edge.url}/static/hello.txt`, { headers: { 'If-Modified-Since': full.headers['last-modified']! } })).status, 304);
  const part = await request(`${edge.url}/static/hello.txt`, { headers: { Range: 'bytes=2-4' } });
  assert.equal(part.status, 206);
  assert.equal(part.body.toString(), '234');
  assert.equal(part.headers['content-range'], 'bytes 2-4/10');
  const suffix = await request(`${edge.url}/static/hello.txt`, { headers: { Range: 'bytes=-3' } });
  assert.equal(suffix.body.toString(), '789');
  const bad = await request(`${edge.url}/static/hello.txt`, { headers: { Range: 'bytes=20-' } });
  assert.equal(bad.status, 416);
  assert.equal(bad.headers['content-range'], 'bytes */10');
  const stale = await request(`${edge.url}/static/hello.txt`, { headers: { Range: 'bytes=2-4', 'If-Range': '"other"' } });
  assert.equal(stale.status, 200, 'If-Range that does not match: the whole file');
  assert.equal((await request(`${edge.url}/static/sub/`)).body.toString(), '<p>index</p>');
  const redirect = await request(`${edge.url}/static/sub`);
  assert.equal(redirect.status, 301);
  assert.equal(redirect.headers.location, '/static/sub/');
  assert.equal((await request(`${edge.url}/static/nope`)).status, 404);
  for (const attack of ['/static/../secret.txt', '/static/%2e%2e/secret.txt', '/static/..%2fsecret.txt', '/static/%2E%2E%2Fsecret.txt', '/static/sub/../../secret.txt', '/static/hello.txt%00.html', '/static/..\\secret.txt']) {
    const raw = await rawRequest(edge.port, `GET ${attack} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n`);
    assert.doesNotMatch(raw, /TOP SECRET/, attack);
    assert.match(raw, /^HTTP\/1\.1 (400|404) /, attack);
  }
  assert.equal((await request(`${edge.url}/static/hello.txt`, { method: 'POST' })).status, 405);
});

test('uwsgi_pass to a unix socket; HEAD gets the head only; a dual-stack listener logs IPv4 clients as a.b.c.d', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edge-unix-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const up = await startFakeUwsgi(({ socket, env }) => {
    writeHead(socket, '200 OK', [['Content-Type', 'text/plain']]);
    socket.end(`${env.REQUEST_METHOD} ${env.REMOTE_ADDR}`);
  }, { path: join(dir, 'app.sock') });
  cleanups.push(() => up.close());
  const edge = await startEdge({ listen: ':0', locations: [{ prefix: '/', uwsgi_pass: up.address }] });
  cleanups.push(() => edge.close());
  const port = edge.port;
  const get = await request(`http://127.0.0.1:${port}/u`);
  assert.equal(get.body.toString(), 'GET 127.0.0.1');
  const head = await request(`http://127.0.0.1:${port}/u`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.body.length, 0);
  const line = await edge.waitForAccess('HEAD /u');
  assert.match(line, new RegExp(`^127\\.0\\.0\\.1 - - .* unix:${join(dir, 'app.sock').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\d\\.\\d{3}$`));
});
