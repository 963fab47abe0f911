import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { getCurrent, sleep, spawn } from '@tsgi/hub';
import { createInProcessSignals } from './in-process.js';
import { FakeClock } from './test-support/fake-clock.js';

test('registerSignal + signal: the handler runs in a new greenlet of the target worker, after the raiser yields', async (t) => {
  const logs: string[] = [];
  const sig = createInProcessSignals({ workers: 1, log: (l) => logs.push(l) });
  t.after(() => sig.close());
  const ran: unknown[] = [];
  await sig.api.registerSignal(17, 'workers', (num) => {
    ran.push({ num, g: getCurrent() });
  });
  assert.equal(sig.api.signalRegistered(17), true);
  assert.equal(sig.api.signalRegistered(18), false);
  const raiser = spawn(async () => {
    const result = await sig.api.signal(17);
    const ranInside = ran.length;
    await sleep(0.01);
    return { result, ranInside };
  });
  const { result, ranInside } = await raiser.get();
  assert.equal(ranInside, 0, 'never synchronously inside signal()');
  assert.equal(ran.length, 1);
  assert.notEqual((ran[0] as { g: unknown }).g, raiser);
  assert.deepEqual(result.workerIds, [1]);
  assert.ok(logs.includes('[uwsgi-signal] signum 17 registered (wid: 1 modifier1: 0 target: workers)'));
});

test('workers / workerN / worker routing across N in-process receivers', async (t) => {
  const sig = createInProcessSignals({ workers: 3, log: () => {} });
  t.after(() => sig.close());
  const hits: string[] = [];
  for (const w of sig.workers) {
    w.api.registerSignal(1, 'workers', () => void hits.push(`all@${w.id}`));
    w.api.registerSignal(2, 'worker2', () => void hits.push(`two@${w.id}`));
    w.api.registerSignal(3, '', () => void hits.push(`any@${w.id}`));
  }
  sig.setWorkerState(1, { freeCores: 0, busyCores: 1 });
  await sig.workers[0]!.api.signal(1);
  await sig.workers[0]!.api.signal(2);
  await sig.workers[0]!.api.signal(3);
  await sleep(0.01);
  // "any": worker 1 has no free core, and worker 3 has fewer signals pending than worker 2 (which also got signal 2).
  assert.deepEqual(hits.sort(), ['all@1', 'all@2', 'all@3', 'any@3', 'two@2']);
});

test('a signal registered "after fork" by one worker is routable; other workers lacking the handler are skipped for "worker"', async (t) => {
  const sig = createInProcessSignals({ workers: 2, log: () => {} });
  t.after(() => sig.close());
  const hits: number[] = [];
  await sig.workers[1]!.api.registerSignal(50, 'worker', () => void hits.push(2));
  await sig.workers[0]!.api.signal(50);
  await sleep(0.01);
  assert.deepEqual(hits, [2]);
});

test('the master refuses what it must: errors come back as rejections and are logged, never unhandled', async (t) => {
  const logs: string[] = [];
  const sig = createInProcessSignals({ workers: 2, log: (l) => logs.push(l) });
  t.after(() => sig.close());
  await assert.rejects(sig.api.registerSignal(4, 'worker9', () => {}), /invalid signal target: worker9/);
  assert.ok(logs.some((l) => l.startsWith('registering signal 4 failed: invalid signal target: worker9')));
  // Not awaited: still no unhandled rejection (the test runner would fail on one).
  sig.api.registerSignal(5, 'worker9', () => {});
  await sleep(0.01);
  // Synchronous validation errors throw at the call.
  assert.throws(() => sig.api.registerSignal(256, '', () => {}), (e: { code?: string }) => e.code === 'TSGI_ERR_SIGNAL_NUMBER');
  assert.throws(() => sig.api.registerSignal(1, 'mules', () => {}), (e: { code?: string }) => e.code === 'TSGI_ERR_SIGNAL_TARGET_UNSUPPORTED');
  assert.throws(() => sig.api.registerSignal(1, 'nowhere', () => {}), (e: { code?: string }) => e.code === 'TSGI_ERR_SIGNAL_TARGET_UNKNOWN');
  assert.throws(() => sig.api.registerSignal(1, '', 'x' as never), (e: { code?: string }) => e.code === 'TSGI_ERR_SIGNAL_HANDLER');
  assert.throws(() => sig.api.addTimer(1, 0), (e: { code?: string }) => e.code === 'TSGI_ERR_SIGNAL_SOURCE_INVALID');
  assert.throws(() => sig.api.addCron(1, 99, -1, -1, -1, -1), (e: { code?: string }) => e.code === 'TSGI_ERR_SIGNAL_SOURCE_INVALID');
  assert.throws(() => sig.api.signalWait(999), (e: { code?: string }) => e.code === 'TSGI_ERR_SIGNAL_NUMBER');
});

test('timers from every worker are one timer in the master, firing in exactly one worker', async (t) => {
  const clock = new FakeClock(0);
  const sig = createInProcessSignals({ workers: 3, clock, log: () => {} });
  t.after(() => sig.close());
  const hits: number[] = [];
  for (const w of sig.workers) {
    await w.api.registerSignal(18, 'worker', () => void hits.push(w.id));
    await w.api.addTimer(18, 1);
  }
  assert.equal(sig.master.sources.count('timers'), 1);
  clock.advance(3_000);
  await sleep(0.01);
  assert.equal(hits.length, 3, 'one timer, three periods, one handler each');
});

test('the addRbTimer, addMsTimer, addCron and addFileMonitor calls reach the master', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsgi-signals-api-'));
  const clock = new FakeClock(new Date(2026, 0, 1, 0, 0, 0).getTime());
  const sig = createInProcessSignals({ clock, log: () => {} });
  t.after(async () => {
    await sig.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const hits: number[] = [];
  for (const n of [1, 2, 3, 4]) await sig.api.registerSignal(n, '', (num) => void hits.push(num));
  await sig.api.addRbTimer(1, 1, 2);
  await sig.api.addMsTimer(2, 500);
  await sig.api.addCron(3, -1, -1, -1, -1, -1);
  const file = join(dir, 'touch-me');
  writeFileSync(file, '');
  await sig.api.addFileMonitor(4, file);
  assert.deepEqual(
    sig.master.sources.list().map((s) => s.spec.kind).sort(),
    ['cron', 'file', 'ms-timer', 'rb-timer'],
  );
  clock.advance(60_000);
  await sleep(0.01);
  assert.equal(hits.filter((n) => n === 1).length, 2);
  assert.equal(hits.filter((n) => n === 2).length, 120);
  assert.equal(hits.filter((n) => n === 3).length, 1);
  const fired = sig.workers[0]!.api.signalWait(4, { timeout: 10 });
  utimesSync(file, new Date(), new Date());
  assert.equal(await fired, 4);
});

test('decorators pick free numbers, register and add their sources; postfork runs per worker', async (t) => {
  const clock = new FakeClock(0);
  const sig = createInProcessSignals({ workers: 2, clock, log: () => {} });
  t.after(() => sig.close());
  const hits: string[] = [];
  const bindings = sig.workers.map((w) => {
    const d = w.decorators;
    const a = d.onSignal(0, () => void hits.push(`on@${w.id}`), { target: 'workers' });
    const b = d.timer(1, () => void hits.push(`timer@${w.id}`));
    const c = d.rbTimer(1, () => void hits.push(`rb@${w.id}`), { iterations: 1 });
    const e = d.msTimer(250, () => void hits.push(`ms@${w.id}`), { target: 'worker2' });
    const f = d.cron(-1, -1, -1, -1, -1, () => void hits.push(`cron@${w.id}`), { signum: 200 });
    return [a, b, c, e, f];
  });
  // Each worker picked the same numbers, so the master has one timer per decorator, not one per worker.
  assert.deepEqual(bindings[0]!.map((b) => b.signum), [0, 1, 2, 3, 200]);
  assert.deepEqual(bindings[1]!.map((b) => b.signum), [0, 1, 2, 3, 200]);
  await Promise.all(bindings.flat().map((b) => b.ready));
  assert.equal(sig.master.sources.count('timers'), 2);
  assert.equal(sig.master.sources.count('rb_timers'), 1);
  assert.equal(sig.master.sources.count('cron'), 1);
  assert.equal(sig.api.getFreeSignal(), 4);
  clock.advance(1_000);
  await sleep(0.01);
  assert.equal(hits.filter((h) => h.startsWith('timer@')).length, 1);
  assert.equal(hits.filter((h) => h.startsWith('rb@')).length, 1);
  assert.deepEqual(hits.filter((h) => h.startsWith('ms@')), ['ms@2', 'ms@2', 'ms@2', 'ms@2']);
  await sig.api.signal(0);
  await sleep(0.01);
  assert.deepEqual(hits.filter((h) => h.startsWith('on@')).sort(), ['on@1', 'on@2']);
  // A bad source leaves no half binding.
  assert.throws(() => sig.decorators.timer(-1, () => {}));
  assert.equal(sig.api.getFreeSignal(), 4);

  const ran: string[] = [];
  sig.decorators.postfork((wid) => void ran.push(`all@${wid}`));
  sig.decorators.postfork((wid) => void ran.push(`only2@${wid}`), { workerId: 2 });
  sig.decorators.postfork(() => {
    throw new Error('postfork boom');
  });
  assert.equal(await sig.decorators.postforkRegistry.run(1), 2);
  assert.equal(await sig.decorators.postforkRegistry.run(2), 3);
  assert.deepEqual(ran, ['all@1', 'all@2', 'only2@2']);
});

test('getFreeSignal throws TSGI_ERR_SIGNAL_NO_FREE when all 256 are registered', (t) => {
  const sig = createInProcessSignals({ log: () => {} });
  t.after(() => sig.close());
  for (let i = 0; i < 256; i++) sig.api.registerSignal(i, '', () => {});
  assert.throws(() => sig.api.getFreeSignal(), (e: { code?: string; message: string }) => e.code === 'TSGI_ERR_SIGNAL_NO_FREE');
});

test('queue policy through the in-process transport: drop reports, block delivers everything in order', async (t) => {
  const dropLogs: string[] = [];
  const drop = createInProcessSignals({ queueSize: 2, log: (l) => dropLogs.push(l) });
  const block = createInProcessSignals({ queueSize: 2, queuePolicy: 'block', log: () => {} });
  t.after(async () => {
    await drop.close();
    await block.close();
  });
  const dropped: number[] = [];
  const blocked: number[] = [];
  drop.api.registerSignal(1, '', () => void dropped.push(1));
  block.api.registerSignal(1, '', () => void blocked.push(1));
  // Five raises before the loop turns: handlers have not started, so the queue fills.
  const d = [1, 2, 3, 4].map(() => drop.api.signal(1));
  const b = [1, 2, 3, 4].map(() => block.api.signal(1));
  const dr = await Promise.all(d);
  assert.deepEqual(dr.map((r) => r.dropped), [0, 0, 1, 1]);
  assert.equal(dropLogs.filter((l) => l.includes('SIGNAL QUEUE IS FULL')).length, 2);
  await Promise.all(b);
  await sleep(0.01);
  assert.equal(dropped.length, 2);
  assert.equal(blocked.length, 4);
  assert.equal(drop.master.stats().queues[0]!.dropped, 2);
});
