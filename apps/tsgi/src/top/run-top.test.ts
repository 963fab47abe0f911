import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { runTop } from './run-top.js';
import { parseStatsTarget } from './stats-reader.js';

const sampleText = readFileSync(new URL('./fixtures/uwsgi-2.0.21-stats-sample.json', import.meta.url), 'utf8');
const tsgiText = readFileSync(new URL('./fixtures/tsgi-stats-document.json', import.meta.url), 'utf8');

/** A stand-in stats server: writes `body()` to each connection and closes, as uWSGI's does. */
async function rawStats(t: TestContext, body: () => string, path?: string): Promise<string> {
  let connections = 0;
  const server = net.createServer((socket) => {
    connections++;
    socket.on('error', () => {});
    socket.end(body());
  });
  await new Promise<void>((r) => (path ? server.listen(path, r) : server.listen(0, '127.0.0.1', r)));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  void connections;
  return path ?? `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

function capture(): { stream: PassThrough & { isTTY?: boolean; columns?: number }; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d) => (text += d));
  return { stream, text: () => text };
}

test('--once prints one frame read from real uWSGI stats (sample) over TCP', async (t) => {
  const address = await rawStats(t, () => sampleText);
  const out = capture();
  const code = await runTop([address, '--once'], { stdout: out.stream, stdin: new PassThrough() });
  assert.equal(code, 0);
  assert.match(out.text(), new RegExp(`^uwsgi-2\\.0\\.21-debian @ ${address.replace(/\./g, '\\.')} - `));
  assert.match(out.text(), /^\s*1\s+100\.0\s+15789\s+busy\s+2\s/m);
});

test('--once over a unix socket and over http:// (uWSGI --stats-http)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsgi-top-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = await rawStats(t, () => tsgiText, join(dir, 'stats.sock'));
  const out = capture();
  assert.equal(await runTop([path, '--once'], { stdout: out.stream, stdin: new PassThrough() }), 0);
  assert.match(out.text(), /^tsgi-0\.1\.0 @ .*stats\.sock - /);

  const server = http.createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end(sampleText));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  const out2 = capture();
  assert.equal(await runTop(['--once', url], { stdout: out2.stream, stdin: new PassThrough() }), 0);
  assert.match(out2.text(), /^uwsgi-2\.0\.21-debian @ http:\/\/127\.0\.0\.1:\d+\/ - /);
});

test('--once failures exit 1 with a message: refused, not JSON, an error document', async (t) => {
  const closed = net.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as net.AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  const err = capture();
  assert.equal(await runTop([`127.0.0.1:${port}`, '--once'], { stdout: capture().stream, stdin: new PassThrough(), stderr: err.stream }), 1);
  assert.match(err.text(), /^tsgi top: unable to get uWSGI statistics from 127\.0\.0\.1:\d+: .*ECONNREFUSED/);

  const notJson = await rawStats(t, () => 'HTTP/1.1 400 Bad Request\r\n\r\n');
  const err2 = capture();
  assert.equal(await runTop([notJson, '--once'], { stdout: capture().stream, stdin: new PassThrough(), stderr: err2.stream }), 1);
  assert.match(err2.text(), /did not answer a JSON document/);

  const errorDoc = await rawStats(t, () => JSON.stringify({ error: 'stats collection failed: x', code: 'TSGI_ERR_STATS_COLLECT' }));
  const err3 = capture();
  assert.equal(await runTop([errorDoc, '--once'], { stdout: capture().stream, stdin: new PassThrough(), stderr: err3.stream }), 1);
  assert.match(err3.text(), /reported: stats collection failed: x \[TSGI_ERR_STATS_COLLECT\]/);
});

test('usage: no address, unknown flag, bad interval exit 2; --help exits 0', async () => {
  for (const argv of [[], ['--bogus', 'x:1'], ['x:1', '--interval', '0'], ['a:1', 'b:2'], ['host:99999']]) {
    const err = capture();
    assert.equal(await runTop(argv, { stdout: capture().stream, stdin: new PassThrough(), stderr: err.stream }), 2, argv.join(' '));
    assert.match(err.text(), /^tsgi top: .*\n\nusage: tsgi top ADDR/);
  }
  const out = capture();
  assert.equal(await runTop(['--help'], { stdout: out.stream, stdin: new PassThrough() }), 0);
  assert.match(out.text(), /^usage: tsgi top ADDR/);
});

test('live mode redraws on each interval with req/s from the deltas, and q quits', async (t) => {
  let requests = 100;
  const address = await rawStats(t, () => {
    const doc = JSON.parse(tsgiText);
    doc.workers[0].requests = requests;
    requests += 10;
    return JSON.stringify(doc);
  });
  const out = capture();
  out.stream.isTTY = true;
  out.stream.columns = 200;
  const stdin = new PassThrough();
  const done = runTop([address, '--interval', '0.05'], { stdout: out.stream, stdin });
  // Wait for the third frame (frames start with the clear-screen sequence).
  while (out.text().split('\x1b[H\x1b[2J').length < 4) await new Promise((r) => setTimeout(r, 10));
  stdin.write('q');
  assert.equal(await done, 0);
  const frames = out.text().split('\x1b[H\x1b[2J').slice(1);
  assert.match(frames[0], /RPS: - /);
  // 10 more requests per sample at ~0.05 s: req/s is a positive number once two samples exist.
  const rps = Number(/ - RPS: (\d+(?:\.\d+)?) - /.exec(frames[1])?.[1]);
  assert.ok(rps > 0, frames[1]);
  assert.ok(out.text().startsWith('\x1b[?25l'));
  assert.ok(out.text().endsWith('\x1b[?25h'), 'the cursor is shown again on quit');
});

test('stats addresses as uwsgitop reads them', () => {
  assert.deepEqual(parseStatsTarget(':1717'), { kind: 'tcp', host: '127.0.0.1', port: 1717 });
  assert.deepEqual(parseStatsTarget('0.0.0.0:1717'), { kind: 'tcp', host: '127.0.0.1', port: 1717 });
  assert.deepEqual(parseStatsTarget('[::1]:1717'), { kind: 'tcp', host: '::1', port: 1717 });
  assert.deepEqual(parseStatsTarget('/run/stats.sock'), { kind: 'unix', path: '/run/stats.sock' });
  assert.deepEqual(parseStatsTarget('stats.sock'), { kind: 'unix', path: 'stats.sock' });
  assert.equal(parseStatsTarget('http://127.0.0.1:1717').kind, 'http');
});
