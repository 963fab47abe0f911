import assert from 'node:assert/strict';
import diagnostics_channel from 'node:diagnostics_channel';
import { test } from 'node:test';
import type { WorkerSignalState } from './routing.js';
import { SignalMaster } from './signal-master.js';
import { FakeClock } from './test-support/fake-clock.js';

function setup(n: number, opts: { queueSize?: number; queuePolicy?: 'drop' | 'block' } = {}) {
  const workers: WorkerSignalState[] = Array.from({ length: n }, (_, i) => ({
    id: i + 1,
    pid: 100 + i,
    alive: true,
    active: true,
    busyCores: 0,
    freeCores: 4,
  }));
  const sent: [number, number][] = [];
  const logs: string[] = [];
  const clock = new FakeClock();
  const master = new SignalMaster({
    workers: () => workers,
    send: (wid, num) => sent.push([wid, num]),
    log: (l) => logs.push(l),
    clock,
    ...opts,
  });
  return { workers, sent, logs, clock, master };
}

test('register logs uWSGI\'s line; workerN beyond the workers is refused', () => {
  const { master, logs } = setup(2);
  master.register(17, 'workers', 1);
  master.register(18, '', 1);
  assert.deepEqual(logs, [
    '[uwsgi-signal] signum 17 registered (wid: 1 modifier1: 0 target: workers)',
    '[uwsgi-signal] signum 18 registered (wid: 1 modifier1: 0 target: default, any worker)',
  ]);
  assert.throws(() => master.register(19, 'worker3', 1), /invalid signal target: worker3 \(this instance has 2 workers\)/);
  assert.equal(master.table.has(19), false);
  master.register(19, 'worker2', 1);
  assert.throws(() => master.register(20, 'mules', 1), (e: { code?: string }) => e.code === 'TSGI_ERR_SIGNAL_TARGET_UNSUPPORTED');
});

test('the same registration from every worker is one entry held by all; a changed target is logged', () => {
  const { master, logs } = setup(3);
  for (const wid of [1, 2, 3]) master.register(5, 'workers', wid);
  assert.deepEqual([...master.table.get(5)!.workerIds], [1, 2, 3]);
  master.register(5, 'worker', 2);
  assert.ok(logs.some((l) => l.includes('signum 5 re-registered by worker 2: target "workers" replaced by "worker"')));
});

test('raise routes through the queues; workers fan out; the result says what happened', () => {
  const { master, sent } = setup(3);
  master.register(17, 'workers', 1);
  master.register(18, 'worker2', 1);
  const r = master.raise(17, 'worker 1');
  assert.deepEqual(r, { num: 17, registered: true, workerIds: [1, 2, 3], sent: 3, queued: 0, dropped: 0, accepted: true });
  master.raise(18);
  assert.deepEqual(sent, [[1, 17], [2, 17], [3, 17], [2, 18]]);
  assert.equal(master.stats().routed, 4);
});

test('any-worker signals spread over workers by pending count until handlers start', () => {
  const { master, sent } = setup(2);
  master.register(1, '', 1);
  master.register(1, '', 2);
  master.raise(1);
  master.raise(1);
  master.raise(1);
  assert.deepEqual(sent.map(([w]) => w), [1, 2, 1]);
  master.ack(1, 2);
  master.ack(2);
  master.raise(1);
  assert.deepEqual(sent.map(([w]) => w), [1, 2, 1, 1]);
});

test('an unregistered raise is logged, counted, and still reaches one worker', () => {
  const { master, sent, logs } = setup(2);
  const r = master.raise(99, 'worker 2');
  assert.equal(r.registered, false);
  assert.deepEqual(sent, [[1, 99]]);
  assert.equal(master.stats().unregistered, 1);
  assert.ok(logs.some((l) => l.startsWith('[uwsgi-signal] signal 99 raised by worker 2 is not registered')));
});

test('full queue with drop: the result is not accepted and the stats count it', () => {
  const { master } = setup(1, { queueSize: 1 });
  master.register(3, '', 1);
  assert.equal(master.raise(3).accepted, true);
  const r = master.raise(3);
  assert.equal(r.accepted, false);
  assert.equal(r.dropped, 1);
  const stats = master.stats();
  assert.equal(stats.unrouted, 1);
  assert.equal(stats.queues[0]!.dropped, 1);
});

test('full queue with block: onSent runs once the worker catches up', () => {
  const { master, sent } = setup(1, { queueSize: 1, queuePolicy: 'block' });
  master.register(3, '', 1);
  master.raise(3);
  let released = false;
  const r = master.raise(3, 'test', () => (released = true));
  assert.equal(r.queued, 1);
  assert.equal(r.accepted, true);
  assert.equal(released, false);
  master.ack(1);
  assert.equal(released, true);
  assert.equal(sent.length, 2);
});

test('a dead worker is skipped, and workerStarted releases signals held for it', () => {
  const { master, workers, sent, logs } = setup(2, { queueSize: 1, queuePolicy: 'block' });
  master.register(4, 'worker2', 1);
  master.raise(4);
  master.raise(4); // held: worker 2 has not started the first handler yet
  master.workerExited(2);
  workers[1]!.alive = false;
  master.raise(4);
  assert.ok(logs.includes('could not deliver signal 4 to worker 2'));
  workers[1]!.alive = true;
  master.workerStarted(2);
  assert.deepEqual(sent, [[2, 4], [2, 4]]);
});

test('sources raise through the master; identical timers from several workers are one timer', () => {
  const { master, sent, clock } = setup(2);
  master.register(18, 'worker', 1);
  for (let i = 0; i < 2; i++) master.addSource({ kind: 'timer', num: 18, seconds: 1 });
  clock.advance(3_000);
  assert.equal(sent.length, 3);
  master.close();
  clock.advance(3_000);
  assert.equal(sent.length, 3);
});

test('tsgi:signals:raise is published for each raise', () => {
  const { master } = setup(1);
  const seen: unknown[] = [];
  const sub = (m: unknown) => seen.push(m);
  diagnostics_channel.subscribe('tsgi:signals:raise', sub);
  try {
    master.register(2, 'workers', 1);
    master.raise(2, 'worker 1');
  } finally {
    diagnostics_channel.unsubscribe('tsgi:signals:raise', sub);
  }
  assert.deepEqual(seen, [{ num: 2, origin: 'worker 1', registered: true, workerIds: [1] }]);
});
