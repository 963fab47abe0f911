// tsgi's own --stats, --stats-http and --stats-prometheus through the real program (issue 5).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { programSkipReason, REPO_ROOT, startProcess, startTsgi, type RunningTsgi } from './support/index.js';

const APP = join(REPO_ROOT, 'e2e', 'apps', 'engine-app.ts');
const TOP_MAIN = join(REPO_ROOT, 'apps', 'tsgi', 'dist', 'top', 'top-main.js');
const SAMPLE = JSON.parse(readFileSync(join(REPO_ROOT, 'packages', 'server', 'src', 'stats', 'fixtures', 'uwsgi-2.0.21-stats-sample.json'), 'utf8'));
const skip = programSkipReason('tsgi');
const STATS_LINE = /stats server enabled on (?:http:\/\/)?(\S+)/i;

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'float';
  return typeof value;
}

function assertSameShape(ours: Record<string, unknown>, theirs: Record<string, unknown>, where: string): void {
  for (const [key, value] of Object.entries(theirs)) {
    assert.ok(key in ours, `${where}.${key} is missing`);
    assert.equal(jsonType(ours[key]), jsonType(value), `${where}.${key}: ${jsonType(ours[key])} where uWSGI writes ${jsonType(value)}`);
  }
}

function hostPort(address: string): [string, number] {
  const colon = address.lastIndexOf(':');
  return [address.slice(0, colon).replace(/^\[|\]$/g, ''), Number(address.slice(colon + 1))];
}

function readRaw(address: string): Promise<any> {
  return new Promise((resolve, reject) => {
    const [host, port] = hostPort(address);
    const socket = net.connect(port, host);
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (c: string) => (data += c));
    socket.on('end', () => {
      try {
        resolve(JSON.parse(data));
      } catch (error) {
        reject(new Error(`not JSON: ${data.slice(0, 200)}`, { cause: error }));
      }
    });
    socket.on('error', reject);
  });
}

const totalRequests = (doc: any) => doc.workers.reduce((s: number, w: { requests: number }) => s + w.requests, 0);
const busyCores = (doc: any) => doc.workers.flatMap((w: { cores: { in_request: number }[] }) => w.cores).filter((c: { in_request: number }) => c.in_request === 1);

/** Polls the stats until `ready(doc)`, bounded: counters are updated as each request closes. */
async function statsUntil(read: () => Promise<any>, ready: (doc: any) => boolean, what: string): Promise<any> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const doc = await read();
    if (ready(doc)) return doc;
    assert.ok(Date.now() < deadline, `stats never showed ${what}: ${JSON.stringify(doc).slice(0, 400)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function top(...args: string[]): Promise<{ code: number | null; stdout: string }> {
  const proc = await startProcess(process.execPath, [TOP_MAIN, ...args], { name: 'tsgi-top' });
  const timer = setTimeout(() => void proc.stop('SIGKILL'), 20_000);
  const exit = await proc.exited;
  clearTimeout(timer);
  return { code: exit.code, stdout: proc.lines().filter((l) => l.stream === 'stdout').map((l) => `${l.text}\n`).join('') };
}

describe('tsgi --stats (raw JSON, uWSGI schema)', { skip }, () => {
  let tsgi: RunningTsgi;
  let stats: string;
  before(async () => {
    tsgi = await startTsgi(['--master', '--processes', '2', '--gevent', '10', '--http-socket', '127.0.0.1:0', '--module', APP, '--stats', ':0']);
    stats = (await tsgi.waitForLine(STATS_LINE, 20))[1];
  });
  after(async () => {
    await tsgi?.stop();
  });

  test('binds loopback for ":0" and answers every key of uWSGI\'s schema with its types', async () => {
    assert.match(stats, /^127\.0\.0\.1:\d+$/);
    const doc = await readRaw(stats);
    assertSameShape(doc, SAMPLE, 'stats');
    assertSameShape(doc.workers[0], SAMPLE.workers[0], 'workers[0]');
    assertSameShape(doc.workers[0].cores[0], SAMPLE.workers[0].cores[0], 'workers[0].cores[0]');
    assertSameShape(doc.sockets[0], SAMPLE.sockets[0], 'sockets[0]');
    assert.equal(doc.workers.length, 2);
    assert.equal(doc.workers[0].cores.length, 10);
    assert.equal(doc.sockets[0].name, `127.0.0.1:${tsgi.port}`);
    assert.equal(typeof doc.workers[0].tsgi_background_greenlets, 'number');
    assert.equal(typeof doc.workers[0].tsgi_waiting_for_core, 'number');
  });

  test('requests count what was sent; in-flight requests show on busy cores', async () => {
    const before = totalRequests(await readRaw(stats));
    for (let i = 0; i < 7; i++) assert.equal(await (await fetch(`${tsgi.url}/hello`)).text(), 'Hello World');
    const slow = [fetch(`${tsgi.url}/sleep?s=3`).then((r) => r.text()), fetch(`${tsgi.url}/sleep?s=3`).then((r) => r.text())];
    const busy = await statsUntil(() => readRaw(stats), (d) => busyCores(d).length === 2, '2 busy cores');
    const uris = busyCores(busy).map((c: { vars: string[] }) => c.vars.find((v) => v.startsWith('REQUEST_URI=')));
    assert.deepEqual(uris, ['REQUEST_URI=/sleep?s=3', 'REQUEST_URI=/sleep?s=3']);
    const frame = await top(stats, '--once');
    assert.equal(frame.code, 0);
    assert.match(frame.stdout, /^tsgi-\S+ @ 127\.0\.0\.1:\d+ - /);
    assert.match(frame.stdout, /requests in flight: 2\n/);
    await Promise.all(slow);
    const done = await statsUntil(() => readRaw(stats), (d) => totalRequests(d) >= before + 9, `${before + 9} requests`);
    assert.equal(totalRequests(done), before + 9);
    assert.equal(busyCores(done).length, 0);
  });
});

describe('tsgi --stats-http and --stats-prometheus', { skip }, () => {
  let tsgi: RunningTsgi;
  let stats: string;
  let prometheus: string;
  before(async () => {
    tsgi = await startTsgi(['--master', '--gevent', '5', '--http-socket', '127.0.0.1:0', '--module', APP, '--stats', ':0', '--stats-http', '--stats-prometheus', ':0']);
    stats = (await tsgi.waitForLine(STATS_LINE, 20))[1];
    prometheus = (await tsgi.waitForLine(/prometheus metrics enabled on http:\/\/(\S+)\/metrics/i, 20))[1];
  });
  after(async () => {
    await tsgi?.stop();
  });

  test('HTTP GET gives the JSON, /metrics and the Prometheus endpoint give the same counts', async () => {
    for (let i = 0; i < 3; i++) await (await fetch(`${tsgi.url}/hello`)).text();
    const res = await statsUntil(
      async () => {
        const r = await fetch(`http://${stats}/`);
        assert.equal(r.headers.get('content-type'), 'application/json');
        return r.json();
      },
      (d) => totalRequests(d) >= 3,
      '3 requests',
    );
    assert.equal(totalRequests(res), 3);
    const metrics = await (await fetch(`http://${stats}/metrics`)).text();
    assert.match(metrics, /^# TYPE tsgi_worker_requests_total counter$/m);
    assert.match(metrics, /^tsgi_worker_requests_total\{worker="1"\} 3$/m);
    const dedicated = await fetch(`http://${prometheus}/metrics`);
    assert.match(String(dedicated.headers.get('content-type')), /^text\/plain; version=0\.0\.4/);
    assert.match(await dedicated.text(), /^tsgi_worker_requests_total\{worker="1"\} 3$/m);
    const frame = await top(`http://${stats}`, '--once');
    assert.equal(frame.code, 0);
    assert.match(frame.stdout, / - req: 3 - /);
  });
});
