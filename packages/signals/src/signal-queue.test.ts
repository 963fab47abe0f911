import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SignalQueue } from './signal-queue.js';

test('drop policy: beyond capacity signals are dropped, logged with uWSGI\'s text and counted', () => {
  const sent: number[] = [];
  const logs: string[] = [];
  const q = new SignalQueue({ workerId: 2, capacity: 2, send: (n) => sent.push(n), log: (l) => logs.push(l) });
  assert.deepEqual([1, 2, 3, 4, 5].map((n) => q.push(n)), ['sent', 'sent', 'dropped', 'dropped', 'dropped']);
  assert.deepEqual(sent, [1, 2]);
  assert.equal(logs.length, 3);
  assert.match(logs[0]!, /^\*\*\* SIGNAL QUEUE IS FULL: buffer size 2 bytes \(you can tune it with --signal-bufsize\) \*\*\* signal 3 to worker 2 dropped$/);
  assert.deepEqual(q.stats(), { workerId: 2, capacity: 2, policy: 'drop', pending: 2, waiting: 0, sent: 2, dropped: 3 });
  q.ack();
  assert.equal(q.push(6), 'sent');
  assert.deepEqual(sent, [1, 2, 6]);
});

test('block policy: overflow waits in order and goes out as the worker acknowledges', () => {
  const sent: number[] = [];
  const released: number[] = [];
  const q = new SignalQueue({ workerId: 1, capacity: 2, policy: 'block', send: (n) => sent.push(n), log: () => {} });
  assert.deepEqual([1, 2, 3, 4].map((n) => q.push(n, () => released.push(n))), ['sent', 'sent', 'queued', 'queued']);
  assert.equal(q.push(5), 'dropped', 'the waiting line is bounded by the capacity too');
  assert.deepEqual(sent, [1, 2]);
  q.ack();
  assert.deepEqual(sent, [1, 2, 3]);
  assert.deepEqual(released, [3]);
  q.ack(2);
  assert.deepEqual(sent, [1, 2, 3, 4]);
  assert.deepEqual(released, [3, 4]);
  assert.equal(q.stats().dropped, 1);
  // A new signal never overtakes held ones.
  q.push(7);
  q.push(8);
  assert.deepEqual(sent, [1, 2, 3, 4, 7]);
  q.reset();
  assert.equal(q.pending, 0);
  q.ack(0);
  assert.deepEqual(sent, [1, 2, 3, 4, 7, 8]);
});
