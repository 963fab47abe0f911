import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Event } from './event.js';
import { getCurrent, spawn, type Greenlet } from './greenlet.js';
import { getHub, sleep } from './hub.js';
import { Queue } from './queue.js';
import { Timeout, withTimeout } from './timeout.js';

describe('Timeout', () => {
  it('throws itself into the greenlet that started it, at its current wait', async () => {
    const g = spawn(async () => {
      const t = Timeout.startNew(0.02);
      assert.equal(t.pending, true);
      try {
        await new Event().wait();
        return 'not reached';
      } catch (error) {
        return error === t ? 'own timeout' : error;
      } finally {
        t.cancel();
      }
    });
    assert.equal(await g.get(), 'own timeout');
    assert.equal(getHub().pendingTimers, 0);
  });

  it('throws a given exception instance or class instead', async () => {
    class Slow extends Error {}
    const g = spawn(async () => {
      const t = new Timeout(0.01, Slow).start();
      try {
        await sleep(10);
      } finally {
        t.cancel();
      }
    });
    await assert.rejects(g.get(), Slow);
    const fixed = new RangeError('custom');
    await assert.rejects(
      withTimeout(0.01, async () => {
        const t = Timeout.startNew(0.005, fixed);
        try {
          await sleep(1);
        } finally {
          t.cancel();
        }
      }),
      (e) => e === fixed,
    );
  });

  it('cancel() disarms it; pending reflects the timer; a None Timeout never fires', async () => {
    const t = Timeout.startNew(0.01);
    t.cancel();
    assert.equal(t.pending, false);
    await sleep(0.03);
    const never = Timeout.startNew(null);
    assert.equal(never.pending, false);
    await sleep(0.01);
    never.cancel();
    assert.equal(String(new Timeout(2)), 'Timeout(2)');
    assert.equal(new Timeout(1).message, '1 second');
    assert.equal(new Timeout(2).code, 'TSGI_ERR_HUB_TIMEOUT');
    assert.throws(() => {
      const twice = Timeout.startNew(1);
      try {
        twice.start();
      } finally {
        twice.cancel();
      }
    }, { code: 'TSGI_ERR_HUB_GREENLET_STATE' });
  });

  it('nesting: an outer timeout expiring while an inner is pending raises the outer', async () => {
    const g = spawn(async () => {
      const outer = Timeout.startNew(0.02);
      try {
        const r = await withTimeout(5, () => sleep(10), { timeoutValue: 'inner' });
        return ['no', r];
      } catch (error) {
        return [error === outer ? 'outer' : 'other', getHub().pendingTimers];
      } finally {
        outer.cancel();
      }
    });
    assert.deepEqual(await g.get(), ['outer', 0]);
  });

  it('nesting: an inner timeout expiring returns its timeoutValue and leaves the outer armed', async () => {
    const g = spawn(async () => {
      const outer = Timeout.startNew(5);
      try {
        const r = await withTimeout(0.01, () => sleep(10), { timeoutValue: 'inner value' });
        return [r, outer.pending];
      } finally {
        outer.cancel();
      }
    });
    assert.deepEqual(await g.get(), ['inner value', true]);
  });

  it('withTimeout without timeoutValue throws the Timeout; with undefined it returns undefined', async () => {
    await assert.rejects(withTimeout(0.01, () => sleep(1)), Timeout);
    assert.equal(await withTimeout(0.01, () => sleep(1), { timeoutValue: undefined }), undefined);
    assert.equal(await withTimeout(1, async () => 'fast'), 'fast');
    assert.equal(getHub().pendingTimers, 0);
  });

  it('fires into a greenlet busy in a non-hub await at its next hub wait, and cancel() withdraws it', async () => {
    const g = spawn(async () => {
      const t = Timeout.startNew(0.01);
      await new Promise((r) => setTimeout(r, 40));
      try {
        await sleep(0);
        return 'not interrupted';
      } catch (error) {
        return error === t ? 'late timeout' : error;
      } finally {
        t.cancel();
      }
    });
    assert.equal(await g.get(), 'late timeout');

    const h = spawn(async () => {
      const t = Timeout.startNew(0.01);
      await new Promise((r) => setTimeout(r, 40));
      t.cancel();
      await sleep(0);
      return 'withdrawn';
    });
    assert.equal(await h.get(), 'withdrawn');
  });

  it('binds to the greenlet that started it, not to others', async () => {
    const q = new Queue<string>();
    const bystander = spawn(async () => {
      await sleep(0.03);
      return 'fine';
    });
    const g: Greenlet<unknown> = spawn(async (): Promise<unknown> => {
      const t = Timeout.startNew(0.01);
      try {
        await q.get();
      } catch (error) {
        return [error === t, getCurrent() === g];
      } finally {
        t.cancel();
      }
    });
    assert.deepEqual(await g.get(), [true, true]);
    assert.equal(await bystander.get(), 'fine');
  });

  it('works in the main greenlet (outside any greenlet)', async () => {
    await assert.rejects(withTimeout(0.01, () => new Event().wait()), Timeout);
  });

  it('rejects a non-number of seconds', () => {
    assert.throws(() => new Timeout('1' as unknown as number), { code: 'TSGI_ERR_HUB_INVALID_ARGUMENT' });
  });
});
