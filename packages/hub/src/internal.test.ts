import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GreenletExit } from './errors.js';
import { getCurrent, spawn } from './greenlet.js';
import { Event } from './event.js';
import { getHub, sleep } from './hub.js';
import { AsyncLocalStorage } from 'node:async_hooks';
import { greenletStorage, isKilled, onKill, onSpawn, onThrow, runInGreenlet, runNow, setTag, spawnNow, tagOf, waitFor } from './internal.js';
import { captureHubErrors } from './test-support/errors.js';
import { Timeout, withTimeout } from './timeout.js';

describe('@tsgi/hub/internal', () => {
  it('waitFor is killable and runs the cancel function before rejecting', async () => {
    const events: string[] = [];
    const registered = new Event();
    const g = spawn(() =>
      waitFor<void>(() => {
        events.push('registered');
        registered.set();
        return () => events.push('cancelled');
      }),
    );
    await registered.wait();
    await g.kill();
    assert.deepEqual(events, ['registered', 'cancelled']);
    assert.ok(g.value instanceof GreenletExit);
    assert.equal(await waitFor<number>((resolve) => void setTimeout(() => resolve(3), 1)), 3);
    await assert.rejects(waitFor((_, reject) => void reject(new Error('r'))), /r/);
    assert.equal(await withTimeout(0.005, () => waitFor(() => {}), { timeoutValue: 'timed out' }), 'timed out');
  });

  it('runNow runs the body synchronously in the new greenlet up to its first wait, then the caller goes on', async () => {
    const events: string[] = [];
    const caller = getCurrent();
    const g = runNow(async (label: string) => {
      events.push(`start ${label} in ${getCurrent() === caller ? 'caller' : 'own'}`);
      await sleep(0);
      events.push(`resumed in ${getCurrent() === g ? 'own' : 'other'}`);
      return 5;
    }, 'x');
    events.push(`caller back in ${getCurrent() === caller ? 'caller' : 'other'}`);
    assert.deepEqual(events, ['start x in own', 'caller back in caller']);
    assert.equal(await g.get(), 5);
    assert.deepEqual(events.slice(2), ['resumed in own']);
    const sync = runNow(() => 7);
    assert.equal(sync.dead, true);
    assert.equal(sync.value, 7);
    await captureHubErrors(async (lines) => {
      const failed = runNow(() => {
        throw new Error('boom');
      });
      assert.equal(failed.dead, true);
      assert.match(String(failed.exception), /boom/);
      await sleep(0);
      assert.match(lines.join(''), /boom/);
    });
  });

  it('a tag is per greenlet, readable from inside it, and not inherited unless an onSpawn hook copies it', async () => {
    const off = onSpawn((child, parent) => {
      if (tagOf(parent) === 'copy me') setTag(child, tagOf(parent));
    });
    try {
      const seen: unknown[] = [];
      const tagged = spawn(async () => {
        setTag(getCurrent(), 'copy me');
        await sleep(0);
        seen.push(tagOf(getCurrent()));
        await spawn(() => seen.push(tagOf(getCurrent()))).join();
      });
      const plain = spawn(async () => {
        await sleep(0);
        seen.push(tagOf(getCurrent()));
        await spawn(() => seen.push(tagOf(getCurrent()))).join();
      });
      await Promise.all([tagged.join(), plain.join()]);
      assert.deepEqual(seen.sort(), ['copy me', 'copy me', undefined, undefined]);
    } finally {
      off();
    }
  });

  it('onSpawn sees child and parent synchronously; onKill fires inside kill()', async () => {
    const seen: string[] = [];
    const off = onSpawn((child, parent) => seen.push(`${child.name}<-${parent.name}`));
    const g = spawn(() => sleep(60));
    g.name = 'victim';
    off();
    spawn(() => 1);
    assert.equal(seen.length, 1);
    assert.match(seen[0], /^Greenlet-\d+<-MainGreenlet$/);
    let reason: unknown;
    onKill(g, (r) => (reason = r));
    const killing = g.kill();
    assert.ok(reason instanceof GreenletExit);
    await killing;
    let late: unknown;
    onKill(g, (r) => (late = r));
    assert.equal(late, reason);
  });

  it('spawnNow starts in the current turn (before any setImmediate), in the spawner\'s context, and is a full greenlet', async () => {
    const order: string[] = [];
    const context = new AsyncLocalStorage<string>();
    let seen: { current: unknown; context: string | undefined } | undefined;
    const immediate = new Promise<void>((resolve) => setImmediate(() => (order.push('immediate'), resolve())));
    const normal = spawn(() => void order.push('spawn'));
    const g = context.run('request', () =>
      spawnNow(async (x: number) => {
        order.push('spawnNow');
        seen = { current: getCurrent(), context: context.getStore() };
        await sleep(0);
        return x * 2;
      }, 21),
    );
    assert.equal(g.started, true);
    assert.equal(await g.get(), 42);
    await normal.join();
    await immediate;
    assert.deepEqual(order.slice(0, 1), ['spawnNow']);
    assert.ok(order.indexOf('spawnNow') < order.indexOf('immediate'));
    assert.equal(seen?.current, g);
    assert.equal(seen?.context, 'request');
    const killed = spawnNow(() => sleep(60));
    await killed.kill();
    assert.ok(killed.value instanceof GreenletExit);
  });

  it('runInGreenlet makes a greenlet current; greenletStorage is the store', async () => {
    const g = spawn(() => sleep(0));
    assert.equal(runInGreenlet(g, () => getCurrent()), g);
    assert.equal(greenletStorage.getStore(), undefined);
    assert.equal(getCurrent(), getHub().main);
    await g.join();
  });

  it('onKill needs no AbortSignal, fires once, can be removed, and a throwing hook does not stop the kill', async () => {
    const g = spawn(() => sleep(60));
    const calls: unknown[] = [];
    onKill(g, (r) => calls.push(['first', r]));
    const removed = onKill(g, () => calls.push('removed'));
    removed();
    onKill(g, function failing() {
      throw new Error('hook failed');
    });
    onKill(g, (r) => calls.push(['last', r]));
    assert.equal(isKilled(g), false);
    const lines = await captureHubErrors(async (out) => {
      await g.kill();
      return out;
    });
    assert.equal(isKilled(g), true);
    assert.ok(g.dead && g.value instanceof GreenletExit);
    assert.deepEqual(calls, [
      ['first', g.value],
      ['last', g.value],
    ]);
    assert.match(lines.join(''), /hook failed[\s\S]*hook failing of <Greenlet/);
    // Kill hooks never made the greenlet's AbortController.
    assert.equal((g as any)._x.controller, null);
    await g.kill();
    assert.equal(calls.length, 2);
  });

  it('onKill on a greenlet that died without a kill never fires', async () => {
    const g = spawn(() => 1);
    await g.join();
    let fired = false;
    onKill(g, () => (fired = true))();
    assert.equal(fired, false);
    assert.equal(isKilled(g), false);
  });

  it('onThrow sees a Timeout left pending in a non-hub await, and true withdraws it', async () => {
    const seen: Array<[unknown, boolean]> = [];
    let release!: () => void;
    const outside = new Promise<void>((resolve) => (release = resolve));
    const g = spawn(async () => {
      const t = Timeout.startNew(0.01);
      onThrow(getCurrent(), (exc, interrupted) => {
        seen.push([exc, interrupted]);
        release();
        return true;
      });
      await outside; // not a hub wait: the Timeout can only be left pending
      await sleep(0); // withdrawn: this wait is not interrupted
      t.cancel();
      return t;
    });
    const t = await g.get();
    assert.deepEqual(seen, [[t, false]]);
  });

  it('onThrow reports interrupted hub waits and kills, keeps a pending exception unless a hook withdraws it', async () => {
    const seen: Array<[string, boolean]> = [];
    const outsideWait = new Event();
    let release!: () => void;
    const outside = new Promise<void>((resolve) => (release = resolve));
    const g = spawn(async () => {
      onThrow(getCurrent(), (exc, interrupted) => {
        seen.push([exc instanceof Timeout ? 'timeout' : exc instanceof GreenletExit ? 'exit' : String(exc), interrupted]);
      });
      try {
        await withTimeout(0.01, () => sleep(60));
      } catch (error) {
        assert.ok(error instanceof Timeout);
      }
      outsideWait.set();
      await outside; // a non-hub await while killed
      await sleep(0); // the kill, left pending, surfaces here
      return 'not reached';
    });
    await outsideWait.wait();
    const killed = g.kill();
    release();
    await killed;
    assert.ok(g.value instanceof GreenletExit);
    assert.deepEqual(seen, [
      ['timeout', true],
      ['exit', false],
    ]);
    // Hooks are dropped with the greenlet.
    assert.equal((g as any)._x.throwHooks, null);
  });

  it('uses the timer functions Node had when the hub was loaded, not patched ones', async () => {
    const saved = { setTimeout, setImmediate, setInterval, clearTimeout, clearInterval };
    const refuse = (): never => {
      throw new Error('a patched timer function was called');
    };
    let results: Promise<unknown>[];
    Object.assign(globalThis, { setTimeout: refuse, setImmediate: refuse, setInterval: refuse, clearTimeout: refuse, clearInterval: refuse });
    try {
      results = [
        spawn(() => 7).get(), // the hub's immediate
        sleep(0.05), // arms the hub's Node timer
        sleep(0.005), // re-arms it earlier: clears the first
        getHub().startMonitor({ maxBlockingTime: 5 }), // the heartbeat interval
      ];
    } finally {
      Object.assign(globalThis, saved);
    }
    try {
      assert.deepEqual(await Promise.all(results), [7, undefined, undefined, undefined]);
    } finally {
      getHub().stopMonitor();
    }
  });
});
