import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { E2eError } from './errors.js';
import { liveProcesses, startProcess, stopAll } from './process.js';

after(stopAll);

/** Alive and not a zombie (a container's pid 1 may never reap). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function gone(pids: number[], timeout = 10): Promise<boolean> {
  const deadline = performance.now() + timeout * 1000;
  while (performance.now() < deadline) {
    if (pids.every((p) => !alive(p))) return true;
    await delay(20);
  }
  return false;
}

const FIXTURE = fileURLToPath(new URL('./fixtures/registry-child.js', import.meta.url));

/** Runs the fixture in a separate node process; resolves with the pids it started. */
function runFixture(how: 'exit' | 'hang' | 'throw'): Promise<{ pids: number[]; kill(): void; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [FIXTURE, how], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.stdout.on('data', (d) => {
      out += d;
      const m = /pids (\d+) (\d+)/.exec(out);
      if (m) resolve({ pids: [Number(m[1]), Number(m[2])], kill: () => child.kill('SIGKILL'), exited });
    });
    child.once('exit', () => setImmediate(() => reject(new Error(`fixture ended without pids: ${out} ${err}`))));
  });
}

describe('startProcess', () => {
  it('captures stdout and stderr line by line and resolves on the ready line', async () => {
    const proc = await startProcess('/bin/sh', ['-c', 'echo one; echo two >&2; echo ready; sleep 1000'], { ready: /^ready$/ });
    // stdout and stderr are separate pipes: their relative order is not kept.
    await proc.waitForLine(/^two$/, 10);
    assert.deepEqual(
      proc.lines().map((l) => l.text).sort(),
      ['one', 'ready', 'two'],
    );
    assert.ok(proc.lines().find((l) => l.text === 'two')?.stream === 'stderr');
    const exit = await proc.stop();
    assert.equal(exit.signal, 'SIGTERM');
  });

  it('waitForLine finds lines printed later, and only from index `since` on', async () => {
    const proc = await startProcess('/bin/sh', ['-c', 'echo tick 1; echo tick 2; sleep 1000'], {});
    const m = await proc.waitForLine(/^tick \d$/, 10, 1);
    assert.equal(m[0], 'tick 2');
    assert.equal((await proc.waitForLine(/^tick \d$/, 10))[0], 'tick 1');
    await proc.stop();
  });

  it('waitForLine rejects with TSGI_ERR_E2E_EXITED when the process exits first', async () => {
    const proc = await startProcess('/bin/sh', ['-c', 'echo bye; exit 3'], {});
    await assert.rejects(proc.waitForLine(/never/, 10), (err: E2eError) => err.code === 'TSGI_ERR_E2E_EXITED' && /code 3/.test(err.message) && /bye/.test(err.message));
  });

  it('a ready line that never comes fails with TSGI_ERR_E2E_READY_TIMEOUT and kills the process', async () => {
    const before = liveProcesses().length;
    await assert.rejects(startProcess('/bin/sh', ['-c', 'sleep 1000'], { ready: /never/, readyTimeout: 0.3 }), (err: E2eError) => err.code === 'TSGI_ERR_E2E_READY_TIMEOUT');
    assert.equal(liveProcesses().length, before);
  });

  it('stop() kills the whole process group, even when the leader ignores the signal', async () => {
    const proc = await startProcess('/bin/sh', ['-c', 'trap "" TERM; sleep 1000 & echo "grandchild $!"; wait; wait'], { ready: /^grandchild \d+$/ });
    const grandchild = Number(/\d+/.exec(proc.output())![0]);
    assert.ok(alive(grandchild));
    const exit = await proc.stop('SIGTERM', 0.5);
    assert.equal(exit.signal, 'SIGKILL');
    assert.ok(await gone([proc.pid, grandchild]), 'the grandchild outlived stop()');
  });

  it('pins to a CPU with taskset', async () => {
    const proc = await startProcess('/bin/sh', ['-c', 'grep Cpus_allowed_list /proc/self/status; sleep 1000'], { cpu: 0, ready: /Cpus_allowed_list/ });
    assert.match(proc.output(), /Cpus_allowed_list:\s+0\n/);
    await proc.stop();
  });
});

describe('the process registry leaves no orphan', () => {
  it('when the test process exits normally with processes still running', async () => {
    const fixture = await runFixture('exit');
    assert.equal(await fixture.exited, 0);
    assert.ok(await gone(fixture.pids), `still running: ${fixture.pids.filter(alive)}`);
  });

  it('when the test process dies of an uncaught exception', async () => {
    const fixture = await runFixture('throw');
    assert.notEqual(await fixture.exited, 0);
    assert.ok(await gone(fixture.pids), `still running: ${fixture.pids.filter(alive)}`);
  });

  it('when the test process is SIGKILLed (the guardian reaps them)', async () => {
    const fixture = await runFixture('hang');
    assert.ok(fixture.pids.every(alive));
    fixture.kill();
    await fixture.exited;
    assert.ok(await gone(fixture.pids), `still running: ${fixture.pids.filter(alive)}`);
  });
});
