import assert from 'node:assert/strict';
import { test } from 'node:test';
import { routeSignal, type WorkerSignalState } from './routing.js';
import { SignalTable } from './signal-table.js';

function w(id: number, over: Partial<WorkerSignalState> = {}): WorkerSignalState {
  return { id, pid: 1000 + id, alive: true, active: true, busyCores: 0, freeCores: 10, ...over };
}

function entry(receiver: string, registeredBy: number[] = [0]) {
  const table = new SignalTable();
  for (const wid of registeredBy) table.register(5, receiver, wid);
  return table.get(5)!;
}

test('"" / worker / worker0 route to exactly one worker: the first with a free core', () => {
  for (const receiver of ['', 'worker', 'worker0']) {
    const workers = [w(1, { freeCores: 0, busyCores: 10 }), w(2), w(3)];
    assert.deepEqual(routeSignal(5, entry(receiver), workers), { workerIds: [2], problems: [] });
  }
});

test('any-worker routing prefers fewer pending signals, then the lowest id', () => {
  assert.deepEqual(routeSignal(5, entry(''), [w(1, { pending: 3 }), w(2, { pending: 1 }), w(3, { pending: 1 })]).workerIds, [2]);
  assert.deepEqual(routeSignal(5, entry(''), [w(3), w(1), w(2)]).workerIds, [1]);
});

test('any-worker routing falls back to a busy worker rather than not delivering, and skips dead ones', () => {
  const workers = [w(1, { alive: false, pid: 0 }), w(2, { freeCores: 0 }), w(3, { freeCores: 0, pending: 2 })];
  assert.deepEqual(routeSignal(5, entry(''), workers).workerIds, [2]);
});

test('any-worker routing picks among the workers that registered the handler', () => {
  assert.deepEqual(routeSignal(5, entry('', [2]), [w(1), w(2), w(3)]).workerIds, [2]);
  // A handler the master registered (wid 0) is in every worker.
  assert.deepEqual(routeSignal(5, entry('', [0]), [w(1), w(2)]).workerIds, [1]);
  // When no live worker holds it, one still gets it (and logs that it has no handler), as in uWSGI.
  assert.deepEqual(routeSignal(5, entry('', [4]), [w(1, { freeCores: 0 }), w(2)]).workerIds, [2]);
});

test('no live worker: "could not deliver signal N to workers pool"', () => {
  assert.deepEqual(routeSignal(9, entry(''), [w(1, { alive: false })]), {
    workerIds: [],
    problems: ['could not deliver signal 9 to workers pool'],
  });
});

test('workers: every live worker, each dead one reported', () => {
  const r = routeSignal(5, entry('workers'), [w(2), w(1), w(3, { alive: false, pid: 0 })]);
  assert.deepEqual(r, { workerIds: [1, 2], problems: ['could not deliver signal 5 to worker 3'] });
});

test('active-workers: only live workers that are not cheaped or suspended', () => {
  const r = routeSignal(5, entry('active-workers'), [w(1, { active: false }), w(2), w(3, { alive: false, pid: 0 })]);
  assert.deepEqual(r, { workerIds: [2], problems: [] });
});

test('workerN: that worker only; missing slot or dead worker are reported', () => {
  assert.deepEqual(routeSignal(5, entry('worker2'), [w(1), w(2), w(3)]), { workerIds: [2], problems: [] });
  assert.deepEqual(routeSignal(5, entry('worker7'), [w(1), w(2)]), { workerIds: [], problems: ['invalid signal target: worker7'] });
  assert.deepEqual(routeSignal(5, entry('worker2'), [w(1), w(2, { alive: false })]), {
    workerIds: [],
    problems: ['could not deliver signal 5 to worker 2'],
  });
});

test('an unregistered number goes to one worker, as uWSGI sends it to the shared pipe', () => {
  assert.deepEqual(routeSignal(5, undefined, [w(1, { freeCores: 0 }), w(2)]), { workerIds: [2], problems: [] });
});
