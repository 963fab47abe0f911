import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { StatsSnapshot } from './stats-snapshot.js';
import { startPrometheusServer, startStatsServer, type StatsServer } from './stats-server.js';

const snapshot = (): StatsSnapshot => JSON.parse(readFileSync(new URL('./fixtures/tsgi-snapshot.json', import.meta.url), 'utf8'));

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsgi-stats-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Reads a raw stats connection to its end, as uwsgitop does. */
function readRaw(address: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = address.startsWith('/') ? net.connect(address) : net.connect(Number(address.split(':').pop()), address.slice(0, address.lastIndexOf(':')).replace(/^\[|\]$/g, ''));
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
}

function httpGet(address: string, path: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const target = address.startsWith('/')
      ? { socketPath: address }
      : { host: address.slice(0, address.lastIndexOf(':')).replace(/^\[|\]$/g, ''), port: Number(address.split(':').pop()) };
    const req = http.request({ ...target, path, method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function started(t: TestContext, server: Promise<StatsServer>): Promise<StatsServer> {
  const s = await server;
  t.after(() => s.close());
  return s;
}

test('raw TCP: one uWSGI JSON document per connection, then close; ":0" binds loopback with a real port', async (t) => {
  const lines: string[] = [];
  let calls = 0;
  const server = await started(t, startStatsServer({ address: ':0', collect: async () => (calls++, snapshot()), log: (l) => lines.push(l) }));
  assert.match(server.address, /^127\.0\.0\.1:[1-9]\d*$/);
  assert.match(lines[0], new RegExp(`^\\*\\*\\* Stats server enabled on ${server.address.replace(/\./g, '\\.')} fd: \\d+ \\*\\*\\*$`));
  const first = JSON.parse(await readRaw(server.address));
  assert.equal(first.workers[0].requests, 120);
  assert.equal(first.listen_queue, 3);
  const second = JSON.parse(await readRaw(server.address));
  assert.equal(second.workers.length, 2);
  assert.equal(calls, 2);
});

test('raw unix socket: answers, leaves no socket file after close, replaces a stale one', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'stats.sock');
  // A socket file left by a process that died without closing it (libuv unlinks on a clean close).
  const dead = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(path)}, () => process.stdout.write('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => dead.kill('SIGKILL'));
  await new Promise((r) => dead.stdout!.once('data', r));
  const exited = new Promise((r) => dead.once('exit', r));
  dead.kill('SIGKILL');
  await exited;
  assert.ok(existsSync(path));
  const server = await startStatsServer({ address: path, collect: async () => snapshot(), log: () => {} });
  assert.equal(server.address, path);
  const doc = JSON.parse(await readRaw(path));
  assert.equal(doc.pid, 4242);
  await server.close();
  assert.ok(!existsSync(path), 'the socket file is removed on close');
});

test('a unix path that another live server holds, a regular file, or a malformed address is a StatsBindError', async (t) => {
  const dir = tempDir(t);
  const live = await started(t, startStatsServer({ address: join(dir, 'live.sock'), collect: async () => snapshot(), log: () => {} }));
  await assert.rejects(startStatsServer({ address: live.address, collect: async () => snapshot(), log: () => {} }), { code: 'TSGI_ERR_STATS_BIND', message: /EADDRINUSE/ });
  writeFileSync(join(dir, 'file'), 'x');
  await assert.rejects(startStatsServer({ address: join(dir, 'file'), collect: async () => snapshot(), log: () => {} }), { code: 'TSGI_ERR_STATS_BIND', message: /not a socket/ });
  await assert.rejects(startStatsServer({ address: '127.0.0.1:99999', collect: async () => snapshot(), log: () => {} }), { code: 'TSGI_ERR_STATS_BIND' });
  const tcp = await started(t, startStatsServer({ address: '127.0.0.1:0', collect: async () => snapshot(), log: () => {} }));
  await assert.rejects(startStatsServer({ address: tcp.address, collect: async () => snapshot(), log: () => {} }), { code: 'TSGI_ERR_STATS_BIND', message: /EADDRINUSE/ });
});

test('a failing collect() answers an error document, logs, publishes, and the server keeps serving', async (t) => {
  const lines: string[] = [];
  const errors: unknown[] = [];
  const onError = (m: unknown) => errors.push(m);
  subscribe('tsgi:server:stats:error', onError);
  t.after(() => unsubscribe('tsgi:server:stats:error', onError));
  let fail = true;
  const server = await started(
    t,
    startStatsServer({
      address: '127.0.0.1:0',
      collect: async () => {
        if (fail) throw new Error('worker 2 did not answer');
        return snapshot();
      },
      log: (l) => lines.push(l),
    }),
  );
  const doc = JSON.parse(await readRaw(server.address));
  assert.equal(doc.code, 'TSGI_ERR_STATS_COLLECT');
  assert.match(doc.error, /worker 2 did not answer/);
  assert.ok(lines.some((l) => /stats collection failed: worker 2 did not answer \[TSGI_ERR_STATS_COLLECT\]/.test(l)), lines.join('\n'));
  assert.equal(errors.length, 1);
  fail = false;
  assert.equal(JSON.parse(await readRaw(server.address)).pid, 4242);
});

test('a collect() that throws synchronously or never settles is answered within the timeout', async (t) => {
  const lines: string[] = [];
  const sync = await started(t, startStatsServer({ address: ':0', collect: () => { throw new TypeError('boom'); }, log: (l) => lines.push(l) }));
  assert.match(JSON.parse(await readRaw(sync.address)).error, /boom/);
  const hung = await started(t, startStatsServer({ address: ':0', http: true, timeout: 0.2, collect: () => new Promise<StatsSnapshot>(() => {}), log: (l) => lines.push(l) }));
  const hungRaw = await started(t, startStatsServer({ address: ':0', timeout: 0.2, collect: () => new Promise<StatsSnapshot>(() => {}), log: (l) => lines.push(l) }));
  assert.equal(JSON.parse(await readRaw(hungRaw.address)).code, 'TSGI_ERR_STATS_COLLECT');
  const res = await httpGet(hung.address, '/');
  assert.equal(res.status, 500);
  assert.match(JSON.parse(res.body).error, /longer than 0\.2 s/);
});

test('concurrent connections share one collect() call', async (t) => {
  let calls = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const server = await started(t, startStatsServer({ address: ':0', collect: async () => { calls++; await gate; return snapshot(); }, log: () => {} }));
  const reads = [readRaw(server.address), readRaw(server.address), readRaw(server.address)];
  while (calls === 0) await new Promise((r) => setImmediate(r));
  // Give the other two connections time to be accepted while the first call is pending.
  await new Promise((r) => setTimeout(r, 50));
  release();
  const docs = (await Promise.all(reads)).map((d) => JSON.parse(d));
  assert.ok(docs.every((d) => d.pid === 4242));
  assert.ok(calls < 3, `collect() ran ${calls} times for 3 concurrent connections`);
});

test('--stats-http: GET any path is the JSON, /metrics the Prometheus text, other methods 405', async (t) => {
  const served: unknown[] = [];
  const onServed = (m: unknown) => served.push(m);
  subscribe('tsgi:server:stats:served', onServed);
  t.after(() => unsubscribe('tsgi:server:stats:served', onServed));
  const lines: string[] = [];
  const server = await started(t, startStatsServer({ address: ':0', http: true, collect: async () => snapshot(), log: (l) => lines.push(l) }));
  assert.match(lines[0], /^\*\*\* Stats server enabled on http:\/\/127\.0\.0\.1:\d+ fd: \d+ \*\*\*$/);
  const json = await httpGet(server.address, '/');
  assert.equal(json.status, 200);
  assert.equal(json.type, 'application/json');
  assert.equal(JSON.parse(json.body).workers[1].requests, 80);
  const metrics = await httpGet(server.address, '/metrics');
  assert.equal(metrics.status, 200);
  assert.match(metrics.type, /^text\/plain; version=0\.0\.4/);
  assert.match(metrics.body, /^tsgi_worker_requests_total\{worker="1"\} 120$/m);
  assert.match(metrics.body, /^# TYPE tsgi_worker_requests_total counter$/m);
  const head = await httpGet(server.address, '/', 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
  const post = await httpGet(server.address, '/', 'POST');
  assert.equal(post.status, 405);
  assert.ok(served.some((m) => (m as { kind: string }).kind === 'prometheus'));
  assert.ok(served.some((m) => (m as { kind: string }).kind === 'http'));
});

test('--stats-http on a unix socket', async (t) => {
  const path = join(tempDir(t), 'stats-http.sock');
  const server = await started(t, startStatsServer({ address: path, http: true, collect: async () => snapshot(), log: () => {} }));
  const res = await httpGet(server.address, '/anything');
  assert.equal(JSON.parse(res.body).cwd, '/srv/app');
});

test('--stats-prometheus: /metrics and / answer the text format, other paths 404, failures 500', async (t) => {
  let fail = false;
  const lines: string[] = [];
  const server = await started(
    t,
    startPrometheusServer({
      address: ':0',
      collect: async () => {
        if (fail) throw new Error('no answer');
        return snapshot();
      },
      log: (l) => lines.push(l),
    }),
  );
  assert.match(lines[0], /^\*\*\* Prometheus metrics enabled on http:\/\/127\.0\.0\.1:\d+\/metrics \*\*\*$/);
  const metrics = await httpGet(server.address, '/metrics');
  assert.match(metrics.body, /^tsgi_worker_requests_total\{worker="2"\} 80$/m);
  assert.equal((await httpGet(server.address, '/')).status, 200);
  assert.equal((await httpGet(server.address, '/stats')).status, 404);
  fail = true;
  const failed = await httpGet(server.address, '/metrics');
  assert.equal(failed.status, 500);
  assert.equal(JSON.parse(failed.body).code, 'TSGI_ERR_STATS_COLLECT');
  assert.ok(lines.some((l) => l.includes('no answer')));
});

test('close() ends a client that connected but never read, and resolves', async (t) => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  t.after(() => release());
  const server = await startStatsServer({ address: ':0', collect: async () => { await gate; return snapshot(); }, log: () => {} });
  const port = Number(server.address.split(':')[1]);
  const client = net.connect(port, '127.0.0.1');
  const closed = new Promise<void>((r) => client.on('close', () => r()));
  client.on('error', () => {});
  await new Promise<void>((r) => client.on('connect', () => r()));
  await server.close();
  await closed;
  await assert.rejects(readRaw(server.address));
});

test('a raw client that stops reading a big answer is cut off after the timeout, with a log line', async (t) => {
  const big = snapshot();
  const core = big.workers[0].cores[0];
  big.workers[0].cores = Array.from({ length: 60_000 }, (_, id) => ({ ...core, id }));
  const lines: string[] = [];
  const server = await started(t, startStatsServer({ address: ':0', timeout: 0.3, collect: async () => big, log: (l) => lines.push(l) }));
  const [host, port] = [server.address.split(':')[0], Number(server.address.split(':')[1])];
  const client = net.connect(port, host);
  t.after(() => client.destroy());
  client.on('error', () => {});
  client.pause();
  const deadline = Date.now() + 10_000;
  while (!lines.some((l) => /did not read its answer within 0\.3 s; connection closed/.test(l))) {
    assert.ok(Date.now() < deadline, lines.join('\n'));
    await new Promise((r) => setTimeout(r, 20));
  }
});
