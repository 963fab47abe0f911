// `tsgi top` reading real uWSGI's stats server (issue 5): its schema, as uwsgitop reads it.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  makeTempDir,
  peerSkipReason,
  REFERENCE_DIR,
  REPO_ROOT,
  removeTempDir,
  startProcess,
  startUwsgi,
  withPortRetry,
  type RunningUwsgi,
} from './support/index.js';

const TOP_MAIN = join(REPO_ROOT, 'apps', 'tsgi', 'dist', 'top', 'top-main.js');
const skip = peerSkipReason('uwsgi') ?? (existsSync(TOP_MAIN) ? undefined : 'apps/tsgi is not built yet (run the build first)');

/** Runs `tsgi top ARGS` as its own process and returns its exit code and output. */
async function top(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = await startProcess(process.execPath, [TOP_MAIN, ...args], { name: 'tsgi-top' });
  const timer = setTimeout(() => void proc.stop('SIGKILL'), 20_000);
  const exit = await proc.exited;
  clearTimeout(timer);
  const pick = (stream: 'stdout' | 'stderr') => proc.lines().filter((l) => l.stream === stream).map((l) => `${l.text}\n`).join('');
  return { code: exit.code, stdout: pick('stdout'), stderr: pick('stderr') };
}

/** One raw read of a stats socket (what uwsgitop does), parsed. */
function readStats(path: string): Promise<any> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path);
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (c: string) => (data += c));
    socket.on('end', () => {
      try {
        resolve(JSON.parse(data));
      } catch (error) {
        reject(error);
      }
    });
    socket.on('error', reject);
  });
}

function startSlowGets(url: string, n: number): Promise<string>[] {
  return Array.from({ length: n }, (_, i) => fetch(`${url}/inflight-${i}?s=4`).then((r) => r.text()));
}

describe('tsgi top against uWSGI --stats (unix socket)', { skip }, () => {
  let uwsgi: RunningUwsgi;
  let dir: string;
  let statsPath: string;
  before(async () => {
    dir = makeTempDir('stats-top');
    statsPath = join(dir, 'stats.sock');
    uwsgi = await startUwsgi({ app: join(REFERENCE_DIR, 'sleep.py'), gevent: 10, socket: 'none', httpSocket: true, master: true, extraArgs: ['--stats', statsPath] });
    await uwsgi.process.waitForLine(/Stats server enabled on/, 20);
  });
  after(async () => {
    await uwsgi?.stop();
    if (dir) removeTempDir(dir);
  });

  test('--once renders uWSGI\'s header, worker row and the requests in flight', async () => {
    const inflight = startSlowGets(uwsgi.httpUrl!, 3);
    // Synchronise on uWSGI's own view: three cores busy.
    const deadline = Date.now() + 15_000;
    for (;;) {
      const doc = await readStats(statsPath);
      if (doc.workers[0].cores.filter((c: { in_request: number }) => c.in_request).length === 3) break;
      assert.ok(Date.now() < deadline, 'uWSGI never showed 3 busy cores');
      await new Promise((r) => setTimeout(r, 50));
    }
    const { code, stdout, stderr } = await top(statsPath, '--once');
    assert.equal(code, 0, stderr);
    const lines = stdout.split('\n');
    assert.match(lines[0], new RegExp(`^uwsgi-2\\.\\d+\\.\\d+\\S* @ ${statsPath.replace(/[.]/g, '\\.')} - .* - req: 0 - RPS: - - lq: 0 - tx: 0$`));
    assert.match(lines[1], /workers: 1 \(1 busy\) - cores: 3\/10 busy/);
    assert.match(stdout, /^\s*1\s+0\.0\s+\d+\s+busy\s+0\s+-\s+0\s+0\s+0ms\s.*\s-\s+-\s+3\/10$/m);
    assert.match(stdout, /requests in flight: 3\n/);
    for (let i = 0; i < 3; i++) assert.match(stdout, new RegExp(`GET\\s+/inflight-${i}\\?s=4$`, 'm'));
    assert.deepEqual(await Promise.all(inflight), ['slept 4.000\n', 'slept 4.000\n', 'slept 4.000\n']);
    const afterwards = await top(statsPath, '--once');
    assert.match(afterwards.stdout, /^uwsgi-\S+ @ .* - req: 3 - /);
    assert.match(afterwards.stdout, /^\s*1\s+100\.0\s+\d+\s+idle\s+3\s/m);
    assert.doesNotMatch(afterwards.stdout, /requests in flight/);
  });

  test('--once exits 1 with uwsgitop\'s message when nothing listens', async () => {
    const { code, stderr } = await top(join(dir, 'missing.sock'), '--once');
    assert.equal(code, 1);
    assert.match(stderr, /^tsgi top: unable to get uWSGI statistics from .*missing\.sock: .*ENOENT/);
  });
});

describe('tsgi top against uWSGI --stats --stats-http', { skip }, () => {
  let uwsgi: RunningUwsgi;
  let port: number;
  before(async () => {
    uwsgi = await withPortRetry(async (reserved) => {
      port = reserved;
      const started = await startUwsgi({
        app: join(REFERENCE_DIR, 'sleep.py'),
        gevent: 4,
        socket: 'none',
        httpSocket: true,
        master: true,
        extraArgs: ['--stats', `127.0.0.1:${port}`, '--stats-http'],
      });
      await started.process.waitForLine(/Stats server enabled on/, 20);
      return started;
    });
  });
  after(async () => {
    await uwsgi?.stop();
  });

  test('--once http://127.0.0.1:PORT reads the HTTP stats', async () => {
    assert.equal(await (await fetch(`${uwsgi.httpUrl}/?s=0`)).text(), 'slept 0.000\n');
    const { code, stdout, stderr } = await top(`http://127.0.0.1:${port}`, '--once');
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^uwsgi-\S+ @ http:\/\/127\.0\.0\.1:\d+\/ - .* - req: 1 - /);
    assert.match(stdout, /cores: 0\/4 busy/);
  });
});
