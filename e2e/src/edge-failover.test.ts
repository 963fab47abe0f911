// tsgi-edge in front of two real uWSGI + gevent instances: one is killed under load and GETs see no error;
// a slow client of a large response frees uWSGI at once with buffering on, and holds it with buffering off.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  formatAddress,
  makeTempDir,
  peerSkipReason,
  programSkipReason,
  REPO_ROOT,
  startEdge,
  startUwsgi,
  stopAll,
  type RunningEdge,
  type RunningUwsgi,
} from './support/index.js';

const APP = resolve(REPO_ROOT, 'apps/edge/test-fixtures/stream_app.py');
const skip = peerSkipReason('uwsgi') ?? programSkipReason('tsgi-edge');

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolveGet, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolveGet({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

describe('tsgi-edge with real uWSGI upstreams', { skip }, () => {
  let a: RunningUwsgi;
  let b: RunningUwsgi;
  let edge: RunningEdge;
  before(async () => {
    [a, b] = await Promise.all([startUwsgi({ app: APP, gevent: 100 }), startUwsgi({ app: APP, gevent: 100 })]);
    const dir = makeTempDir('edge-failover');
    const config = join(dir, 'edge.json');
    writeFileSync(
      config,
      JSON.stringify({
        listen: '127.0.0.1:0',
        access_log: 'off',
        upstreams: { app: { servers: [formatAddress(a.address!), formatAddress(b.address!)] } },
        locations: [
          { prefix: '/', uwsgi_pass: 'app' },
          { prefix: '/big/', uwsgi_pass: formatAddress(b.address!), buffering: 'on' },
          { prefix: '/big/off/', uwsgi_pass: formatAddress(b.address!), buffering: 'off' },
        ],
      }),
    );
    edge = await startEdge(['--config', config]);
  });
  after(() => stopAll());

  test('one of two upstreams killed under load: every GET still succeeds', async () => {
    const total = 400;
    let done = 0;
    let killed: Promise<unknown> | null = null;
    const failures: string[] = [];
    const worker = async () => {
      while (done < total) {
        done++;
        if (done === total / 4) killed = a.process.stop('SIGKILL');
        const r = await get(`${edge.url}/hello/`).catch((e: Error) => ({ status: 0, body: e.message }));
        if (r.status !== 200 || r.body !== 'hello') failures.push(`${r.status} ${r.body.slice(0, 80)}`);
      }
    };
    await Promise.all(Array.from({ length: 10 }, worker));
    await killed;
    assert.deepEqual(failures, []);
    // The killed server's in-flight tries were reset (and retried elsewhere), later ones refused, until max_fails marked it down.
    assert.match(edge.output(), /(connect\(\) failed \(111: Connection refused\) while connecting to|recv\(\) failed \(104: Connection reset by peer\) while reading response header from|upstream prematurely closed connection while reading response header from) upstream/);
  });

  // Larger than every buffer between uWSGI and the client (loopback autotunes a socket's receive
  // buffer up to 32 MiB here), so only backpressure can hold uWSGI back.
  const BIG = 128 * 1024 * 1024;
  for (const mode of ['on', 'off'] as const) {
    test(`slow client of 128 MiB, buffering ${mode}: uWSGI ${mode === 'on' ? 'finishes while the client is still reading' : 'finishes only once the client has read'}`, async () => {
      const logLine = new RegExp(`GET /big/(off/)?x => generated ${BIG} bytes`);
      const before = b.log().split('\n').filter((l) => logLine.test(l)).length;
      const finishedCount = () => b.log().split('\n').filter((l) => logLine.test(l)).length;
      let received = 0;
      let res!: http.IncomingMessage;
      const first = new Promise<void>((r) =>
        http.get(`${edge.url}/big/${mode === 'off' ? 'off/' : ''}x`, { agent: false }, (response) => {
          res = response;
          response.on('data', (c: Buffer) => {
            received += c.length;
            if (received === c.length) {
              response.pause();
              r();
            }
          });
        }),
      );
      await first;
      if (mode === 'on') {
        // uWSGI logs the request when its core is free: this must happen while the client reads nothing.
        await b.process.waitForLine(logLine, 20, b.process.lines().length - 5);
        assert.ok(received < BIG);
      } else {
        // A generous pause: with buffering on the line comes within milliseconds, so its absence here is backpressure.
        await new Promise((r) => setTimeout(r, 1500));
        assert.equal(finishedCount(), before, 'uWSGI is still held by the slow client');
      }
      const ended = new Promise<void>((r) => res.on('end', () => r()));
      res.resume();
      await ended;
      assert.equal(received, BIG);
      if (mode === 'off') await b.process.waitForLine(logLine, 20, 0);
    });
  }
});
