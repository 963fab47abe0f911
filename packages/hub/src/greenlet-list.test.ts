import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Greenlet } from './greenlet.js';
import { GreenletList } from './greenlet-list.js';
import { PAYLOAD_BYTES, payload, promotedByRounds } from './test-support/gc.js';

const noop = (): void => undefined;
const made = (n: number): Greenlet<void>[] => Array.from({ length: n }, () => new Greenlet(noop));

describe('GreenletList', () => {
  it('add, has, delete and size; a greenlet is in it at most once', () => {
    const list = new GreenletList();
    const [a, b, c] = made(3);
    assert.equal(list.size, 0);
    assert.equal(list.has(a), false);
    assert.equal(list.delete(a), false);
    assert.equal(list.add(a), true);
    assert.equal(list.add(b), true);
    assert.equal(list.add(a), false);
    assert.equal(list.size, 2);
    assert.ok(list.has(a) && list.has(b) && !list.has(c));
    assert.deepEqual([...list], [a, b]);
    assert.equal(list.delete(a), true);
    assert.equal(list.delete(a), false);
    assert.equal(list.size, 1);
    assert.equal(list.has(a), false);
    list.add(c);
    list.add(a);
    assert.deepEqual([...list], [b, c, a]);
    list.delete(c);
    assert.deepEqual([...list.values()], [b, a]);
    assert.deepEqual([...list.keys()], [b, a]);
    assert.deepEqual([...list.entries()], [[b, b], [a, a]]);
    const seen: Greenlet<any>[] = [];
    list.forEach(function (this: unknown, g, same, l) {
      assert.equal(g, same);
      assert.equal(l, list);
      assert.equal(this, seen);
      seen.push(g);
    }, seen);
    assert.deepEqual(seen, [b, a]);
    list.delete(b);
    list.delete(a);
    assert.equal(list.size, 0);
    assert.deepEqual([...list], []);
    assert.equal(Object.prototype.toString.call(list), '[object GreenletList]');
  });

  it('a greenlet can be in several lists, and leaving one keeps it in the others', () => {
    const lists = [new GreenletList(), new GreenletList(), new GreenletList()];
    const [a, b] = made(2);
    for (const list of lists) list.add(a);
    lists[1].add(b);
    assert.equal(lists[1].delete(a), true);
    assert.deepEqual(lists.map((l) => l.has(a)), [true, false, true]);
    assert.equal(lists[0].delete(a), true);
    assert.deepEqual(lists.map((l) => l.has(a)), [false, false, true]);
    assert.deepEqual([...lists[1]], [b]);
    assert.equal(lists[2].delete(a), true);
    assert.equal(a._x!.memberships, null);
    assert.deepEqual(lists.map((l) => l.size), [0, 1, 0]);
  });

  it('iterating sees the members it started with, less those deleted meanwhile, also the current one', () => {
    const list = new GreenletList();
    const [a, b, c, d, e] = made(5);
    for (const g of [a, b, c, d]) list.add(g);
    const seen: Greenlet<any>[] = [];
    for (const g of list) {
      seen.push(g);
      list.delete(g);
      if (g === a) list.delete(c);
      if (g === b) list.add(e);
    }
    assert.deepEqual(seen, [a, b, d]);
    assert.deepEqual([...list], [e]);
    // Deleted and added back while iterating: visited once, in its first place.
    for (const g of [a, b]) list.add(g);
    seen.length = 0;
    for (const g of list) {
      seen.push(g);
      if (g === e) {
        list.delete(b);
        list.add(b);
      }
    }
    assert.deepEqual(seen, [e, a, b]);
    assert.deepEqual([...list], [e, a, b]);
  });

  it('a greenlet taken out keeps nothing alive: churn through a list in the old generation promotes next to nothing', async () => {
    // 25 greenlets of 16 KB join in each of 39 rounds and leave in the next: 15.6 MB go through.
    const through = 39 * 25 * PAYLOAD_BYTES;
    const promoted = (list: { add(g: Greenlet<any>): unknown; delete(g: Greenlet<any>): unknown }): Promise<number> => {
      let members: Greenlet<any>[] = [];
      return promotedByRounds((r) => {
        const joining = r === 39 ? [] : Array.from({ length: 25 }, () => new Greenlet(noop, payload()));
        for (const g of joining) list.add(g);
        for (const g of members) list.delete(g);
        members = joining;
      }, 40);
    };
    const throughList = await promoted(new GreenletList());
    const throughSet = await promoted(new Set<Greenlet<any>>());
    assert.ok(throughList < through / 4, `the old generation grew by ${throughList} bytes after ${through} went through the list (through a Set: ${throughSet})`);
  });
});
