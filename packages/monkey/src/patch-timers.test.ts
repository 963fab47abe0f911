import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import * as timersPromises from 'node:timers/promises';
import { setTimeout as sleepFor } from 'node:timers/promises';
import nodeTimers from 'node:timers';
import { promisify } from 'node:util';
import { Event, GreenletExit, Timeout, getCurrent, getHub, spawn, withTimeout } from '@tsgi/hub';
import { isPatched, originalTimers, patchTimers, unpatchTimers } from './index.js';

/** Resolves after `ms` on Node's own timer, created now (so it fires after shorter ones made before). */
const later = (ms: number): Promise<void> => new Promise((resolve) => originalTimers.setTimeout(resolve, ms));

/** A greenlet that starts three timers, then parks; returns what fired. */
async function killAfterStartingTimers(): Promise<string[]> {
  const fired: string[] = [];
  const started = new Event();
  const g = spawn(async () => {
    setTimeout(() => fired.push('timeout'), 20);
    const i = setInterval(() => fired.push('interval'), 20);
    i.unref();
    nodeTimers.setTimeout(() => fired.push('node:timers'), 20);
    setImmediate(() => fired.push('immediate'));
    started.set();
    await new Event().wait();
  });
  await started.wait();
  await g.kill();
  await later(80);
  return fired;
}

getHub().exceptionStream = null;

describe('patchTimers', () => {
  afterEach(() => unpatchTimers());
  after(() => unpatchTimers());

  it('clears the timers of a killed greenlet', async () => {
    patchTimers();
    assert.deepEqual(await killAfterStartingTimers(), []);
  });

  it('keeps owning the timers made while patched after unpatchTimers(): a later kill still clears them', async () => {
    patchTimers();
    const fired: string[] = [];
    const started = new Event();
    const g = spawn(async () => {
      setTimeout(() => fired.push('timeout'), 20);
      setImmediate(() => fired.push('immediate'));
      started.set();
      await new Event().wait();
    });
    await started.wait();
    unpatchTimers();
    await g.kill();
    await later(60);
    assert.deepEqual(fired, []);
  });

  it('unpatched, the same timers outlive the kill (the control)', async () => {
    const fired = await killAfterStartingTimers();
    assert.ok(fired.includes('timeout') && fired.includes('node:timers') && fired.includes('immediate'), fired.join());
  });

  it('runs a timer callback in the greenlet that made it; outside greenlets nothing changes', async () => {
    patchTimers();
    const g = spawn(() => new Promise<unknown>((resolve) => setTimeout(() => resolve(getCurrent()), 1)));
    assert.equal(await g.get(), g);
    const h = spawn(async () => {
      const viaImmediate = await new Promise<unknown>((resolve) => setImmediate(() => resolve(getCurrent())));
      const viaInterval = await new Promise<unknown>((resolve) => {
        const t = setInterval(() => {
          clearInterval(t);
          resolve(getCurrent());
        }, 1);
      });
      return [viaImmediate, viaInterval];
    });
    assert.deepEqual(await h.get(), [h, h]);
    const main = await new Promise<unknown>((resolve) => setTimeout(() => resolve(getCurrent()), 1));
    assert.equal(main, getCurrent());
  });

  it('keeps the timers of a greenlet that finished normally', async () => {
    patchTimers();
    let fired = false;
    const g = spawn(() => {
      setTimeout(() => {
        fired = true;
      }, 10);
    });
    await g.join();
    await later(50);
    assert.equal(fired, true);
  });

  it('kill interrupts `await setTimeout()` from timers/promises at once (named import and namespace)', async () => {
    patchTimers();
    for (const wait of [sleepFor, timersPromises.setTimeout, (ms: number) => promisify(setTimeout)(ms)]) {
      const entered = new Event();
      const g = spawn(async () => {
        entered.set();
        await wait(60_000);
      });
      await entered.wait();
      void g.kill({ block: false });
      await g.join(5);
      assert.equal(g.dead, true, 'the greenlet died at once');
      assert.ok(g.value instanceof GreenletExit);
    }
  });

  it('a Timeout interrupts `await setTimeout()` and `setInterval()` iteration', async () => {
    patchTimers();
    const g = spawn(() => withTimeout(0.05, () => sleepFor(60_000)));
    await assert.rejects(g.get({ timeout: 5 }), Timeout);
    const h = spawn(() =>
      withTimeout(0.05, async () => {
        for await (const _ of timersPromises.setInterval(60_000)) break;
      }),
    );
    await assert.rejects(h.get({ timeout: 5 }), Timeout);
  });

  it('keeps the promise timers\' values, AbortSignal and promisify', async () => {
    patchTimers();
    const g = spawn(async () => {
      const a = await sleepFor(1, 'a');
      const b = await timersPromises.setImmediate('b');
      const c = await promisify(setTimeout)(1, 'c');
      const ac = new AbortController();
      const p = sleepFor(60_000, 'never', { signal: ac.signal });
      ac.abort(new Error('stop'));
      const err = await p.catch((e: unknown) => e);
      let ticks = 0;
      for await (const v of timersPromises.setInterval(1, 'i')) {
        assert.equal(v, 'i');
        if (++ticks === 2) break;
      }
      return [a, b, c, (err as Error).name, (err as { code?: string }).code, ticks];
    });
    assert.deepEqual(await g.get(), ['a', 'b', 'c', 'AbortError', 'ABORT_ERR', 2]);
    assert.equal(promisify(setTimeout), timersPromises.setTimeout);
  });

  it('leaves promise timers outside greenlets to Node', async () => {
    patchTimers();
    assert.equal(await sleepFor(1, 'main'), 'main');
    await assert.rejects(sleepFor(1, 'x', 'not options' as never), { code: 'ERR_INVALID_ARG_TYPE' });
  });

  it('is harmless twice, undoable, and reported by isPatched', () => {
    const before = globalThis.setTimeout;
    patchTimers();
    const patched = globalThis.setTimeout;
    patchTimers();
    assert.equal(globalThis.setTimeout, patched);
    assert.notEqual(patched, before);
    assert.equal(nodeTimers.setTimeout, patched);
    assert.equal(isPatched('timers'), true);
    unpatchTimers();
    assert.equal(globalThis.setTimeout, before);
    assert.equal(timersPromises.setTimeout, originalTimers.promiseSetTimeout);
    assert.equal(isPatched('timers'), false);
  });
});
