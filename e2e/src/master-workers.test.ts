// The master and its workers through the real `tsgi` program (issues 5 and 6): respawn, rolling
// reload under load, recycling, harakiri of a blocked worker, and the signal framework across
// processes, each handler in its own greenlet.
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeTempDir, programSkipReason, REPO_ROOT, startProcess, startTsgi, TSGI_BIN, type RunningTsgi } from './support/index.js';

const ENGINE_APP = join(REPO_ROOT, 'e2e', 'apps', 'engine-app.ts');
const SIGNALS_APP = join(REPO_ROOT, 'e2e', 'apps', 'signals-app.ts');
const skip = programSkipReason('tsgi');
const agent = new http.Agent({ keepAlive: false });

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

function workerPids(tsgi: RunningTsgi, since = 0): Map<number, number> {
  const pids = new Map<number, number>();
  for (const line of tsgi.lines().slice(since)) {
    const m = /spawned tsgi worker (\d+) (?:\(and the only\) )?\(pid: (\d+)/.exec(line.text);
    if (m) pids.set(Number(m[1]), Number(m[2]));
  }
  return pids;
}

async function until(check: () => boolean, seconds: number, what: string): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('master and workers', { skip }, () => {
  let tsgi: RunningTsgi;
  before(async () => {
    tsgi = await startTsgi(['--master', '--processes', '2', '--gevent', '10', '--http-socket', '127.0.0.1:0', '--module', ENGINE_APP, '--harakiri', '3']);
  });
  after(async () => tsgi?.stop());

  test('a killed worker is respawned within a second, with a log line; the other worker served meanwhile', async () => {
    const pids = workerPids(tsgi);
    const victim = pids.get(1)!;
    const mark = tsgi.lines().length;
    process.kill(victim, 'SIGKILL');
    const served = await get(tsgi.url + '/hello');
    assert.equal(served.status, 200);
    await tsgi.waitForLine(new RegExp(`DAMN ! worker 1 \\(pid: ${victim}\\) died, killed by signal SIGKILL`), 5, mark);
    await tsgi.waitForLine(/Respawned tsgi worker 1 \(new pid: \d+\)/, 5, mark);
    await tsgi.waitForLine(/TSGI app 0 .* on worker 1 /, 10, mark);
  });

  test('SIGHUP reloads every worker, one by one, and a steady stream of requests loses nothing', async () => {
    const mark = tsgi.lines().length;
    const before = workerPids(tsgi);
    let ok = 0;
    let failed = 0;
    let reloading = true;
    const clients = Array.from({ length: 8 }, async () => {
      while (reloading) {
        try {
          const res = await get(tsgi.url + '/sleep?s=0.05');
          if (res.status === 200) ok++;
          else failed++;
        } catch {
          failed++;
        }
      }
    });
    await new Promise((r) => setTimeout(r, 300));
    process.kill(tsgi.process.pid, 'SIGHUP');
    await tsgi.waitForLine(/workers reloaded in [\d.]+ s \(SIGHUP\)/, 60, mark);
    await new Promise((r) => setTimeout(r, 300));
    reloading = false;
    await Promise.all(clients);
    const afterPids = workerPids(tsgi, mark);
    assert.equal(afterPids.size, 2, 'both workers were replaced');
    for (const [id, pid] of afterPids) assert.notEqual(pid, before.get(id));
    assert.equal(failed, 0, `${failed} requests failed during the reload (${ok} succeeded)`);
    assert.ok(ok > 20, `only ${ok} requests went through`);
  });

  test('a worker whose event loop is blocked longer than --harakiri is killed and respawned by the master', async () => {
    const mark = tsgi.lines().length;
    // /block runs a synchronous busy loop: no request-level harakiri can interrupt that.
    void get(tsgi.url + '/block?s=30').catch(() => undefined);
    await tsgi.waitForLine(/\*\*\* HARAKIRI ON WORKER \d+ \(pid: \d+, try: 1, graceful: no\) \*\*\*/, 15, mark);
    await tsgi.waitForLine(/Respawned tsgi worker \d+/, 10, mark);
    assert.equal((await get(tsgi.url + '/hello')).status, 200);
  });
});

const argvOf = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
const LEAN = ['--max-semi-space-size=2', '--heap-growing-percent=50'];
const logged = (tsgi: RunningTsgi, text: string) => tsgi.lines().some((l) => l.text.includes(text));

describe('--worker-heap', { skip }, () => {
  test('by default each worker runs with the lean heap flags, and the start log says so; the master does not', async () => {
    const tsgi = await startTsgi(['--master', '--processes', '2', '--gevent', '10', '--http-socket', '127.0.0.1:0', '--module', ENGINE_APP]);
    try {
      const pids = [...workerPids(tsgi).values()];
      assert.equal(pids.length, 2);
      for (const pid of pids) {
        const argv = argvOf(pid);
        const at = argv.indexOf(LEAN[0]);
        assert.ok(at > 0 && argv[at + 1] === LEAN[1], `worker ${pid} runs ${argv.join(' ')}`);
      }
      assert.ok(!argvOf(tsgi.process.pid).includes(LEAN[0]));
      assert.ok(logged(tsgi, "worker heap: lean (--max-semi-space-size=2 --heap-growing-percent=50); --worker-heap v8 keeps V8's defaults"), tsgi.process.output());
      assert.equal((await get(tsgi.url + '/hello')).status, 200);
    } finally {
      await tsgi.stop();
    }
  });

  test("--worker-heap v8 leaves V8's defaults; a flag NODE_OPTIONS sets is not overridden by the lean one", async () => {
    const v8 = await startTsgi(['--master', '--gevent', '10', '--http-socket', '127.0.0.1:0', '--module', ENGINE_APP, '--worker-heap', 'v8']);
    try {
      const argv = argvOf([...workerPids(v8).values()][0]);
      assert.ok(!argv.some((a) => LEAN.includes(a)), argv.join(' '));
      assert.ok(logged(v8, "worker heap: V8's defaults (--worker-heap v8)"), v8.process.output());
    } finally {
      await v8.stop();
    }
    const tuned = await startTsgi(['--master', '--gevent', '10', '--http-socket', '127.0.0.1:0', '--module', ENGINE_APP],
      { env: { ...process.env, NODE_OPTIONS: '--max-semi-space-size=8' } });
    try {
      const argv = argvOf([...workerPids(tuned).values()][0]);
      assert.ok(argv.includes(LEAN[1]) && !argv.includes(LEAN[0]), argv.join(' '));
      assert.ok(logged(tuned, "worker heap: lean (--heap-growing-percent=50; --max-semi-space-size as you set it); --worker-heap v8 keeps V8's defaults"), tuned.process.output());
      assert.equal((await get(tuned.url + '/hello')).status, 200);
    } finally {
      await tuned.stop();
    }
  });
});

describe('--worker-node-arg', { skip }, () => {
  test('each worker runs with the flags given, after tsgi\'s own and the lean heap flags the user did not set; the master does not', async () => {
    const tsgi = await startTsgi(['--master', '--processes', '2', '--gevent', '10', '--http-socket', '127.0.0.1:0', '--module', ENGINE_APP, '--worker-node-arg=--max-semi-space-size=4', '--worker-node-arg', '--expose-gc']);
    try {
      const pids = [...workerPids(tsgi).values()];
      assert.equal(pids.length, 2);
      for (const pid of pids) {
        const argv = argvOf(pid);
        const at = argv.indexOf('--heap-growing-percent=50');
        assert.ok(at > 0 && argv[at + 1] === '--max-semi-space-size=4' && argv[at + 2] === '--expose-gc', `worker ${pid} runs ${argv.join(' ')}`);
        assert.ok(!argv.includes(LEAN[0]), `worker ${pid} runs ${argv.join(' ')}`);
      }
      assert.ok(!argvOf(tsgi.process.pid).includes('--max-semi-space-size=4'));
      assert.ok(logged(tsgi, 'workers run with node --max-semi-space-size=4 --expose-gc'), tsgi.process.output());
      assert.equal((await get(tsgi.url + '/hello')).status, 200);
    } finally {
      await tsgi.stop();
    }
  });

  test('a flag Node refuses stops the start with Node\'s words and a non-zero exit, instead of a respawn loop', async () => {
    const proc = await startProcess(process.execPath, [TSGI_BIN, '--master', '--http-socket', '127.0.0.1:0', '--module', ENGINE_APP, '--worker-node-arg=--no-such-v8-flag'], { name: 'tsgi --worker-node-arg' });
    const bound = setTimeout(() => void proc.stop('SIGKILL'), 30_000);
    const info = await proc.exited;
    clearTimeout(bound);
    assert.equal(info.code, 1, proc.output());
    assert.match(proc.output(), /\*\*\* tsgi failed to start: \[TSGI_ERR_WORKER_NODE_ARG\] --worker-node-arg --no-such-v8-flag: Node refuses it \(.*bad option: --no-such-v8-flag\) \*\*\*/);
    assert.doesNotMatch(proc.output(), /spawned tsgi worker/);
  });
});

describe('recycling and touch-reload', { skip }, () => {
  test('--max-requests recycles a worker gracefully; --touch-reload reloads the workers', async () => {
    const dir = makeTempDir('tsgi-touch-');
    const touch = join(dir, 'reload.txt');
    writeFileSync(touch, '1');
    const tsgi = await startTsgi(['--master', '--processes', '1', '--gevent', '10', '--http-socket', '127.0.0.1:0', '--module', ENGINE_APP, '--max-requests', '5', '--touch-reload', touch]);
    try {
      const mark = tsgi.lines().length;
      for (let i = 0; i < 6; i++) assert.equal((await get(tsgi.url + '/hello')).status, 200);
      await tsgi.waitForLine(/The work of process \d+ is done \(reason: max requests reached \(5 >= 5\)\)\. Seeya!/, 10, mark);
      await tsgi.waitForLine(/worker 1 \(pid: \d+\) exited after its reload/, 15, mark);
      const mark2 = tsgi.lines().length;
      await new Promise((r) => setTimeout(r, 1100));
      appendFileSync(touch, '2');
      await tsgi.waitForLine(/has been touched\.\.\. grace them all !!!/, 10, mark2);
      await tsgi.waitForLine(/workers reloaded in/, 30, mark2);
      assert.equal((await get(tsgi.url + '/hello')).status, 200);
    } finally {
      await tsgi.stop();
    }
  });
});

describe('signals across processes', { skip }, () => {
  let tsgi: RunningTsgi;
  let logFile: string;
  let touchFile: string;
  const logLines = () => {
    try {
      return readFileSync(logFile, 'utf8').split('\n').filter(Boolean);
    } catch {
      return [];
    }
  };
  before(async () => {
    const dir = makeTempDir('tsgi-signals-');
    logFile = join(dir, 'signals.log');
    touchFile = join(dir, 'watched.txt');
    writeFileSync(touchFile, 'x');
    tsgi = await startTsgi(['--master', '--processes', '2', '--gevent', '10', '--socket', '127.0.0.1:0', '--http-socket', '127.0.0.1:0', '--module', SIGNALS_APP], {
      env: { ...process.env, SIGNAL_LOG: logFile, SIGNAL_TIMER: '1', SIGNAL_FILE: touchFile },
    });
  });
  after(async () => tsgi?.stop());

  test('a `workers` signal raised by a request runs its handler in both workers', async () => {
    const res = JSON.parse((await get(tsgi.url + '/raise?sig=17')).body) as { accepted: boolean; workerIds: number[] };
    assert.equal(res.accepted, true);
    await until(() => logLines().filter((l) => l.startsWith('17 ')).length === 2, 5, 'two handlers of signal 17');
    assert.deepEqual(logLines().filter((l) => l.startsWith('17 ')).sort(), ['17 worker 1', '17 worker 2']);
  });

  test('a `worker2` signal runs only in worker 2', async () => {
    await get(tsgi.url + '/raise?sig=18');
    await until(() => logLines().some((l) => l.startsWith('18 ')), 5, 'signal 18');
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(logLines().filter((l) => l.startsWith('18 ')), ['18 worker 2']);
  });

  test('a 1-second timer registered by every worker fires about once a second, in one worker at a time', async () => {
    const start = logLines().filter((l) => l.startsWith('timer ')).length;
    await new Promise((r) => setTimeout(r, 3200));
    const fired = logLines().filter((l) => l.startsWith('timer ')).length - start;
    assert.ok(fired >= 2 && fired <= 4, `the timer fired ${fired} times in 3.2 s (one timer, not one per worker)`);
  });

  test('a file monitor fires when the file is touched', async () => {
    const before = logLines().filter((l) => l.startsWith('file ')).length;
    appendFileSync(touchFile, 'y');
    await until(() => logLines().filter((l) => l.startsWith('file ')).length > before, 5, 'the file monitor');
  });

  test('a handler that sleeps 2 s does not delay a request served by the same worker', async () => {
    await get(tsgi.url + '/raise?sig=19');
    await until(() => logLines().some((l) => l.startsWith('19-start')), 5, 'handler 19 to start');
    const started = Date.now();
    for (let i = 0; i < 4; i++) assert.equal((await get(tsgi.url + '/hello')).status, 200);
    assert.ok(Date.now() - started < 1500, 'requests were not held up by the sleeping handler');
    assert.ok(!logLines().some((l) => l.startsWith('19-end')), 'the handler was still sleeping meanwhile');
  });

  test('a handler that throws logs `error managing signal N on worker W`, and the worker goes on', async () => {
    const mark = tsgi.lines().length;
    await get(tsgi.url + '/raise?sig=23');
    await tsgi.waitForLine(/error managing signal 23 on worker \d/, 5, mark);
    assert.equal((await get(tsgi.url + '/hello')).status, 200);
  });

  test('`tsgi --signal ADDR,NUM` delivers to the running instance, and refuses a bad number', async () => {
    const address = tsgi.uwsgiAddress as { host: string; port: number };
    const run = async (arg: string) => {
      const proc = await startProcess(process.execPath, [TSGI_BIN, '--signal', arg], { name: 'tsgi --signal' });
      const bound = setTimeout(() => void proc.stop('SIGKILL'), 15_000);
      const info = await proc.exited;
      clearTimeout(bound);
      return { code: info.code, output: proc.output() };
    };
    const before = logLines().filter((l) => l.startsWith('20 ')).length;
    const ok = await run(`${address.host}:${address.port},20`);
    assert.equal(ok.code, 0, ok.output);
    assert.match(ok.output, new RegExp(`signal 20 delivered to node ${address.host}:${address.port}`));
    await until(() => logLines().filter((l) => l.startsWith('20 ')).length > before, 5, 'signal 20');
    const bad = await run(`${address.host}:${address.port},300`);
    assert.equal(bad.code, 3, bad.output);
  });
});

describe('--http: tsgi-edge started in front, as uWSGI starts its HTTP router', { skip: skip ?? programSkipReason('tsgi-edge') }, () => {
  test('one command serves HTTP through the edge to the workers, and stops both', async () => {
    const tsgi = await startTsgi(['--http', '127.0.0.1:0', '--gevent', '10', '--module', ENGINE_APP]);
    try {
      const spawned = await tsgi.waitForLine(/spawned tsgi http router \(tsgi-edge\) on 127\.0\.0\.1:0 -> uwsgi:\/\/127\.0\.0\.1:\d+ \(pid: \d+\)/, 10);
      assert.ok(spawned);
      const listening = await tsgi.waitForLine(/tsgi-edge listening on (http:\/\/127\.0\.0\.1:\d+)/, 15);
      const res = await get(listening[1] + '/hello');
      assert.deepEqual(res, { status: 200, body: 'Hello World' });
    } finally {
      await tsgi.stop();
    }
    assert.match(tsgi.output(), /tsgi http router on 127\.0\.0\.1:0 exited/);
  });
});
