// The toolkit against the real peers (Debian's nginx, uWSGI + gevent, wrk, curl).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { curlN, httpGetChunks } from './chunks.js';
import { peerSkipReason } from './peers.js';
import { stopAll } from './process.js';
import { sampleRss } from './rss.js';
import { makeTempDir } from './temp.js';
import { REFERENCE_DIR } from './tsgi.js';
import { startNginx } from './nginx.js';
import { startUwsgi } from './uwsgi.js';
import { runWrk } from './wrk.js';

after(stopAll);

describe('startNginx + runWrk', { skip: peerSkipReason('nginx', 'wrk') }, () => {
  it('serves `return 200`, is measured by wrk, logs access, and stops with its workers', async () => {
    const nginx = await startNginx({ locations: [{ prefix: '/', extra: 'return 200 "hello";' }], workerProcesses: 2 });
    const workers = nginx.process.lines().filter((l) => /start worker process \d+/.test(l.text)).length;
    assert.equal(workers, 2);
    const wrk = await runWrk({ url: nginx.url + '/', connections: 4, duration: 1 });
    assert.ok(wrk.requests > 0 && wrk.requestsPerSec > 0, wrk.raw);
    assert.deepEqual(wrk.errors, { connect: 0, read: 0, write: 0, timeout: 0, status: 0 });
    assert.match(nginx.accessLog(), /"GET \/ HTTP\/1\.1" 200 5 /);
    const pid = nginx.process.pid;
    await nginx.stop();
    assert.throws(() => process.kill(pid, 0));
  });
});

describe('startUwsgi', { skip: peerSkipReason('nginx', 'uwsgi-gevent', 'curl') }, () => {
  it('listens on a unix socket that nginx uwsgi_pass reaches; curlN times the 1 MB stream', async () => {
    const uwsgi = await startUwsgi({ app: join(REFERENCE_DIR, 'stream.py'), gevent: 10, socket: 'unix' });
    assert.ok(uwsgi.address && 'path' in uwsgi.address);
    const nginx = await startNginx({ locations: [{ prefix: '/', uwsgiPass: uwsgi.address, buffering: false }] });
    const res = await curlN(nginx.url + '/');
    assert.equal(res.exitCode, 0, res.stderr);
    assert.equal(res.body.length, 1024 * 1024);
    assert.ok(res.chunks.every((c, i) => i === 0 || c.at >= res.chunks[i - 1].at));
    await nginx.stop();
    await uwsgi.stop();
  });

  it('reports every worker of a master with processes, and their RSS', async () => {
    const uwsgi = await startUwsgi({ app: join(REFERENCE_DIR, 'hello.py'), gevent: 10, httpSocket: true, socket: 'none', master: true, processes: 2 });
    assert.equal(uwsgi.address, undefined);
    assert.equal(uwsgi.workerPids().length, 2);
    const sampler = sampleRss(uwsgi.workerPids(), 0.05);
    const res = await httpGetChunks(uwsgi.httpUrl + '/');
    assert.equal(res.body.toString(), 'Hello World');
    const peak = await sampler.stop();
    for (const pid of uwsgi.workerPids()) assert.ok((peak.get(pid) ?? 0) > 1024 * 1024, `worker ${pid} RSS ${peak.get(pid)}`);
    await uwsgi.stop();
  });

  it('runs the reference signals app: a raised uwsgi signal reaches a worker handler', async () => {
    const file = join(makeTempDir('signals'), 'signals.txt');
    process.env.TSGI_SIGNALS_FILE = file;
    const uwsgi = await startUwsgi({ app: join(REFERENCE_DIR, 'signals.py'), gevent: 10, httpSocket: true, socket: 'none', master: true });
    delete process.env.TSGI_SIGNALS_FILE;
    assert.equal((await httpGetChunks(uwsgi.httpUrl + '/raise')).body.toString(), 'raised\n');
    // The handler runs in the worker after the master routes the signal: poll the file, bounded.
    const deadline = performance.now() + 10_000;
    let seen = '';
    while (performance.now() < deadline && !seen) {
      seen = (() => {
        try {
          return readFileSync(file, 'utf8');
        } catch {
          return '';
        }
      })();
      if (!seen) await delay(20);
    }
    assert.match(seen, new RegExp(`^signal 17 pid (${uwsgi.workerPids().join('|')})\\n$`));
    await uwsgi.stop();
  });

  it('fails with the app error when the app cannot be loaded (--need-app)', async () => {
    await assert.rejects(startUwsgi({ app: join(REFERENCE_DIR, 'no-such-app.py') }), /exited/);
  });
});
