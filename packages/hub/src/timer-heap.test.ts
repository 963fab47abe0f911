import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TimerHeap, type TimerEntry } from './timer-heap.js';

function entry(deadline: number, log: number[], id: number): TimerEntry {
  return { _deadline: deadline, _seq: 0, _heapIndex: -1, _fire: () => log.push(id) };
}

describe('TimerHeap', () => {
  it('pops by deadline, FIFO among equal deadlines, and removes from anywhere', () => {
    const heap = new TimerHeap();
    const log: number[] = [];
    let seed = 7;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const entries = Array.from({ length: 500 }, (_, i) => entry(Math.floor(rnd() * 50), log, i));
    entries.forEach((e) => heap.push(e));
    const removed = new Set<number>();
    for (let i = 0; i < 500; i += 3) {
      heap.remove(entries[i]);
      removed.add(i);
      assert.equal(entries[i]._heapIndex, -1);
    }
    heap.remove(entries[0]);
    for (let e = heap.pop(); e !== undefined; e = heap.pop()) e._fire();
    const expected = entries
      .map((e, i) => ({ d: e._deadline, i }))
      .filter(({ i }) => !removed.has(i))
      .sort((a, b) => a.d - b.d || a.i - b.i)
      .map(({ i }) => i);
    assert.deepEqual(log, expected);
    assert.equal(heap.size, 0);
  });
});
