import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Full, GreenletExit } from './errors.js';
import { Greenlet, spawn } from './greenlet.js';
import { sleep } from './hub.js';
import { Group, Pool } from './pool.js';
import { captureHubErrors } from './test-support/errors.js';
import { PAYLOAD_BYTES, payload, promotedByRounds } from './test-support/gc.js';
import { Timeout } from './timeout.js';

describe('Pool', () => {
  it('never runs more than size greenlets; spawn waits for a free slot', async () => {
    const pool = new Pool(3);
    let running = 0;
    let peak = 0;
    const task = async (): Promise<void> => {
      peak = Math.max(peak, ++running);
      await sleep(0.005);
      running--;
    };
    for (let i = 0; i < 10; i++) {
      await pool.spawn(task);
      assert.ok(pool.length <= 3);
    }
    assert.equal(await pool.join(), true);
    assert.equal(peak, 3);
    assert.equal(pool.freeCount(), 3);
    assert.equal(pool.full(), false);
  });

  it('freeCount, full, add and discard', async () => {
    const pool = new Pool(2);
    const a = await pool.spawn(() => sleep(60));
    assert.equal(pool.freeCount(), 1);
    const b = new Greenlet(() => sleep(60));
    await pool.add(b);
    assert.equal(pool.full(), true);
    assert.equal(pool.has(b), true);
    await assert.rejects(pool.add(new Greenlet(() => 1), { blocking: false }), Full);
    await assert.rejects(pool.add(new Greenlet(() => 1), { timeout: 0.005 }), Timeout);
    pool.discard(b);
    assert.equal(pool.freeCount(), 1);
    await pool.kill();
    assert.ok(a.value instanceof GreenletExit);
    assert.equal(pool.length, 0);
    assert.equal(pool.freeCount(), 2);
    assert.throws(() => new Pool(0), { code: 'TSGI_ERR_HUB_INVALID_ARGUMENT' });
  });

  it('a greenlet waiting in Pool.spawn can be killed', async () => {
    const pool = new Pool(1);
    await pool.spawn(() => sleep(60));
    const waiter = spawn(() => pool.spawn(() => 'never'));
    await sleep(0.005);
    await waiter.kill();
    assert.ok(waiter.value instanceof GreenletExit);
    await pool.kill();
    assert.equal(pool.freeCount(), 1);
  });

  it('map keeps input order; imap is ordered; imapUnordered yields by completion', async () => {
    const pool = new Pool(4);
    const delayed = async (n: number): Promise<number> => {
      await sleep((5 - n) * 0.004);
      return n * 10;
    };
    assert.deepEqual(await pool.map(delayed, [1, 2, 3, 4]), [10, 20, 30, 40]);
    const ordered: number[] = [];
    for await (const r of pool.imap(delayed, [1, 2, 3, 4])) ordered.push(r);
    assert.deepEqual(ordered, [10, 20, 30, 40]);
    const unordered: number[] = [];
    for await (const r of pool.imapUnordered(delayed, [1, 2, 3, 4])) unordered.push(r);
    assert.deepEqual(unordered, [40, 30, 20, 10]);
    async function* source(): AsyncGenerator<number> {
      yield 1;
      yield 2;
    }
    assert.deepEqual(await pool.map((n: number) => n + 1, source()), [2, 3]);
    assert.deepEqual(await pool.map((n: number) => n, []), []);
  });

  it('imap bounded by the pool size and map rethrows a task failure', async () => {
    await captureHubErrors(async () => {
      const pool = new Pool(2);
      let running = 0;
      let peak = 0;
      await pool.map(async () => {
        peak = Math.max(peak, ++running);
        await sleep(0.002);
        running--;
      }, Array.from({ length: 8 }, (_, i) => i));
      assert.equal(peak, 2);
      await assert.rejects(
        pool.map((n: number) => {
          if (n === 2) throw new EvalError('task 2');
          return n;
        }, [1, 2, 3]),
        EvalError,
      );
      await assert.rejects(
        (async () => {
          for await (const _ of pool.imapUnordered((n: number) => {
            if (n === 1) throw new EvalError('unordered');
            return n;
          }, [0, 1])) void _;
        })(),
        EvalError,
      );
    });
  });

  it('apply runs in a member greenlet and returns its value', async () => {
    const pool = new Pool(1);
    assert.equal(await pool.apply((a: number, b: number) => a * b, 6, 7), 42);
  });
});

describe('Group', () => {
  it('has no bound, joins and kills its members', async () => {
    const group = new Group();
    const gs = Array.from({ length: 50 }, () => group.spawn(() => sleep(60)));
    assert.equal(group.length, 50);
    assert.equal(group.full(), false);
    assert.equal(await group.join({ timeout: 0.005 }), false);
    await group.kill();
    assert.ok(gs.every((g) => g.dead));
    assert.equal(group.length, 0);
    assert.equal(await group.join(), true);
  });

  it('join({raiseError}) rethrows a member failure; add/discard/killone', async () => {
    await captureHubErrors(async () => {
      const group = new Group();
      group.spawn(async () => {
        await sleep(0.002);
        throw new ReferenceError('member');
      });
      await assert.rejects(group.join({ raiseError: true }), ReferenceError);
      const g = spawn(() => sleep(60));
      group.add(g);
      assert.equal(group.has(g), true);
      await group.killone(g);
      assert.equal(g.dead, true);
      await sleep(0);
      assert.equal(group.has(g), false, 'members leave the group when they die');
      const h = new Group([spawn(() => 1)]);
      assert.equal(h.length, 1);
      assert.deepEqual(await h.map((x: number) => x * 2, [1, 2]), [2, 4]);
    });
  });

  it('greenlets: a read-only view of the members, in the order they joined, safe to discard from while iterating', async () => {
    const group = new Group();
    const pool = new Pool(3);
    const [a, b, c] = [spawn(() => sleep(60)), spawn(() => sleep(60)), spawn(() => sleep(60))];
    for (const g of [c, a, b]) group.add(g);
    group.add(a);
    await pool.add(a);
    assert.equal(group.greenlets.size, 3);
    assert.deepEqual([...group.greenlets], [c, a, b]);
    assert.ok(group.greenlets.has(a) && pool.greenlets.has(a) && !pool.greenlets.has(b));
    for (const g of group.greenlets) group.discard(g);
    assert.equal(group.greenlets.size, 0);
    assert.equal(await group.join({ timeout: 0 }), true);
    assert.deepEqual([...pool.greenlets], [a], 'leaving one group keeps a greenlet in the others');
    group.add(b);
    await Promise.all([a.kill(), b.kill(), c.kill()]);
    await sleep(0);
    assert.deepEqual([group.length, pool.length, pool.freeCount()], [0, 0, 3]);
  });

  for (const kind of ['Group', 'Pool'] as const) {
    it(`a long-lived ${kind} keeps nothing of its finished members alive: churn promotes next to nothing to the old generation`, async () => {
      // Members of a long-lived Set survived every scavenge until the next full collection (V8
      // keeps the tables a Set rehashed away, and what they point at, alive through scavenges).
      const group = kind === 'Group' ? new Group() : new Pool(25);
      const task = (p: number[]): number[] => p;
      const promoted = await promotedByRounds(async () => {
        for (let i = 0; i < 25; i++) {
          if (group instanceof Pool) await group.spawn(task, payload());
          else group.spawn(task, payload());
        }
        await group.join();
      }, 40);
      // 1,000 finished greenlets, each holding 16 KB as its value: 16 MB went through.
      const through = 40 * 25 * PAYLOAD_BYTES;
      assert.ok(promoted < through / 4, `the old generation grew by ${promoted} bytes after ${through} went through a ${kind}`);
    });
  }
});
