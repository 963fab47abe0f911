import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import diagnosticsChannel from 'node:diagnostics_channel';
import { EventEmitter, once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { setTimeout as nodeSleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { GreenletExit, GreenletStateError } from './errors.js';
import { AsyncResult, Event } from './event.js';
import { Greenlet, getCurrent, iwait, joinAll, killAll, spawn, spawnLater, wait } from './greenlet.js';
import { getHub, sleep } from './hub.js';
import { BoundedSemaphore, Semaphore } from './lock.js';
import { Pool } from './pool.js';
import { Channel, Queue } from './queue.js';
import { captureHubErrors } from './test-support/errors.js';
import { Timeout } from './timeout.js';

describe('spawn and the greenlet lifecycle', () => {
  it('starts on the next loop turn, not synchronously, and records the value', async () => {
    const order: string[] = [];
    const g = spawn((a: number, b: number) => {
      order.push('run');
      return a + b;
    }, 2, 3);
    order.push('after spawn');
    assert.equal(g.started, true);
    assert.equal(g.dead, false);
    assert.equal(g.ready(), false);
    await g.join();
    assert.deepEqual(order, ['after spawn', 'run']);
    assert.equal(g.value, 5);
    assert.equal(g.dead, true);
    assert.equal(g.started, false, 'gevent: started (bool(g)) is false once dead');
    assert.equal(g.successful(), true);
    assert.equal(g.exception, undefined);
  });

  it('runs spawned greenlets in spawn order', async () => {
    const order: number[] = [];
    const gs = [0, 1, 2, 3, 4].map((i) => spawn(() => order.push(i)));
    await joinAll(gs);
    assert.deepEqual(order, [0, 1, 2, 3, 4]);
  });

  it('Greenlet.spawn, new Greenlet + start(), names and ids', async () => {
    const a = Greenlet.spawn(async () => 'a');
    const b = new Greenlet(() => 'b');
    assert.equal(b.started, false);
    assert.equal(b.dead, false);
    b.name = 'worker-b';
    b.start();
    b.start();
    await joinAll([a, b]);
    assert.equal(a.value, 'a');
    assert.equal(b.value, 'b');
    assert.equal(b.name, 'worker-b');
    assert.match(a.name, /^Greenlet-\d+$/);
    assert.ok(b.id > a.id);
    assert.equal(String(b), `<Greenlet "worker-b" at 0x${b.id.toString(16)}>`);
  });

  it('spawnLater and startLater wait the given seconds', async () => {
    const t0 = performance.now();
    const g = spawnLater(0.05, () => performance.now());
    const h = new Greenlet(() => performance.now()).startLater(0.03);
    assert.equal(g.started, true);
    await joinAll([g, h]);
    assert.ok((g.value as number) - t0 >= 45, `spawnLater ran after ${(g.value as number) - t0} ms`);
    assert.ok((h.value as number) - t0 >= 25);
  });

  it('get() returns the value, throws the exception, and throws Timeout when not ready', async () => {
    await captureHubErrors(async () => {
      const ok = spawn(async () => {
        await sleep(0.01);
        return 7;
      });
      await assert.rejects(ok.get({ block: false }), Timeout);
      await assert.rejects(ok.get({ timeout: 0.001 }), Timeout);
      assert.equal(await ok.get(), 7);
      const bad = spawn(() => {
        throw new RangeError('nope');
      });
      await assert.rejects(bad.get(), RangeError);
      assert.equal(bad.successful(), false);
      assert.ok(bad.exception instanceof RangeError);
    });
  });

  it('join(timeout) resolves without killing the greenlet', async () => {
    const g = spawn(() => sleep(0.1));
    await g.join(0.01);
    assert.equal(g.dead, false);
    await g.join();
    assert.equal(g.dead, true);
  });

  it('prints unhandled failures as gevent does, counts them and never crashes', async () => {
    const published: unknown[] = [];
    const onError = (m: unknown): void => {
      published.push(m);
    };
    diagnosticsChannel.subscribe('tsgi:hub:greenlet:error', onError);
    try {
      await captureHubErrors(async (lines) => {
        const before = getHub().unhandledErrors;
        async function failing(n: number, s: string): Promise<never> {
          await sleep(0);
          throw new TypeError(`bad ${n} ${s}`);
        }
        const g = spawn(failing, 1, 'x');
        const text = String(g);
        await g.join();
        assert.equal(getHub().unhandledErrors, before + 1);
        assert.equal(lines.length, 1);
        assert.match(lines[0], /TypeError: bad 1 x\n\s+at failing/);
        assert.ok(
          lines[0].includes(`Z ${text} failed with TypeError\n\n`),
          `expected "<time> ${text} failed with TypeError" in ${lines[0]}`,
        );
        assert.match(text, /^<Greenlet "Greenlet-\d+" at 0x[0-9a-f]+: failing\(1, 'x'\)>$/);
        assert.equal(published.length, 1);
        assert.equal((published[0] as { greenlet: unknown }).greenlet, g);
      });
    } finally {
      diagnosticsChannel.unsubscribe('tsgi:hub:greenlet:error', onError);
    }
  });

  it('publishes tsgi:hub:spawn with the parent and calls onSpawn hooks', async () => {
    const seen: Array<{ greenlet: Greenlet; parent: Greenlet }> = [];
    const onSpawnMsg = (m: unknown): void => {
      seen.push(m as { greenlet: Greenlet; parent: Greenlet });
    };
    diagnosticsChannel.subscribe('tsgi:hub:spawn', onSpawnMsg);
    try {
      const outer = spawn(async () => {
        const inner = spawn(() => 1);
        await inner.join();
        return inner;
      });
      const inner = await outer.get();
      assert.equal(seen.length, 2);
      assert.equal(seen[0].greenlet, outer);
      assert.equal(seen[0].parent, getHub().main);
      assert.equal(seen[1].greenlet, inner);
      assert.equal(seen[1].parent, outer);
    } finally {
      diagnosticsChannel.unsubscribe('tsgi:hub:spawn', onSpawnMsg);
    }
  });
});

describe('kill', () => {
  // Every kind of hub wait, entered by the greenlet under test.
  const leftovers: Greenlet<unknown>[] = [];
  const waits: Record<string, () => Promise<unknown>> = {
    sleep: () => sleep(60),
    'sleep(0) loop': async () => {
      for (;;) await sleep(0);
    },
    'Event.wait': () => new Event().wait(),
    'AsyncResult.get': () => new AsyncResult().get(),
    'Queue.get': () => new Queue().get(),
    'Queue.put (full)': async () => {
      const q = new Queue(1);
      q.putNowait(1);
      await q.put(2);
    },
    'Channel.put': () => new Channel().put(1),
    'Greenlet.join': () => {
      const other = spawn(() => sleep(60));
      leftovers.push(other);
      return other.join();
    },
    'Semaphore.acquire': () => new Semaphore(0).acquire(),
    'Pool.spawn (full)': async () => {
      const pool = new Pool(1);
      leftovers.push(await pool.spawn(() => sleep(60)));
      await pool.spawn(() => 1);
    },
    'Timeout-guarded wait': async () => {
      const t = Timeout.startNew(60);
      try {
        await new Event().wait();
      } finally {
        t.cancel();
      }
    },
    'iwait': async () => {
      for await (const _ of iwait([new Event()])) void _;
    },
  };

  for (const [kind, enter] of Object.entries(waits)) {
    it(`interrupts ${kind} at once with GreenletExit, runs finally, and is dead when block resolves`, async () => {
      let finallyRan = false;
      let caught: unknown;
      const entered = new Event();
      const g = spawn(async () => {
        try {
          entered.set();
          await enter();
        } catch (error) {
          caught = error;
          throw error;
        } finally {
          finallyRan = true;
        }
      });
      await entered.wait();
      await sleep(0.01);
      assert.equal(g.dead, false);
      const t0 = performance.now();
      await g.kill();
      assert.ok(performance.now() - t0 < 1000);
      assert.equal(g.dead, true);
      assert.equal(finallyRan, true);
      assert.ok(caught instanceof GreenletExit);
      assert.equal(g.successful(), true, 'GreenletExit counts as success');
      assert.ok(g.value instanceof GreenletExit);
      assert.equal(g.signal.aborted, true);
      await killAll(leftovers.splice(0));
    });
  }

  it('leaves no waiter behind: a killed Queue.get does not swallow the next item', async () => {
    const q = new Queue<number>();
    const victim = spawn(() => q.get());
    const survivor = spawn(() => q.get());
    await sleep(0.01);
    await victim.kill();
    q.putNowait(42);
    assert.equal(await survivor.get(), 42);
  });

  it('leaves no waiter behind: a killed Semaphore.acquire is never granted', async () => {
    const sem = new BoundedSemaphore(1);
    await sem.acquire();
    const victim = spawn(() => sem.acquire());
    await sleep(0.01);
    await victim.kill();
    sem.release();
    assert.equal(sem.value, 1, 'the permit went back to the semaphore, not to the dead waiter');
  });

  it('prevents a greenlet that has not started from ever running', async () => {
    let ran = false;
    const g = spawn(() => {
      ran = true;
    });
    await g.kill();
    assert.equal(g.dead, true);
    assert.ok(g.value instanceof GreenletExit);
    await sleep(0.01);
    assert.equal(ran, false);

    const later = spawnLater(0.01, () => {
      ran = true;
    });
    await later.kill({ block: false });
    await sleep(0.03);
    assert.equal(ran, false);
    assert.equal(later.dead, true);
    assert.equal(getHub().pendingTimers, 0);

    const fresh = new Greenlet(() => {
      ran = true;
    });
    await fresh.kill();
    fresh.start();
    await sleep(0.01);
    assert.equal(ran, false);
  });

  it('kills a greenlet stuck in a non-hub await at its next hub wait; signal aborts at once', async () => {
    let resumed = false;
    let caught: unknown;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const g = spawn(async () => {
      await gate;
      resumed = true;
      try {
        await sleep(0);
      } catch (error) {
        caught = error;
        throw error;
      }
    });
    await sleep(0.01);
    const killed = g.kill();
    assert.equal(g.signal.aborted, true, 'signal aborted synchronously by kill()');
    assert.ok(g.signal.reason instanceof GreenletExit);
    assert.equal(g.dead, false, 'still in its non-hub await');
    release();
    await killed;
    assert.equal(resumed, true);
    assert.ok(caught instanceof GreenletExit);
    assert.equal(g.dead, true);
  });

  it('signal obtained before kill aborts fetch-style consumers', async () => {
    let aborted: unknown;
    const g = spawn(async () => {
      const signal = getCurrent().signal;
      await new Promise<void>((_, reject) => {
        signal.addEventListener('abort', () => {
          aborted = signal.reason;
          reject(signal.reason);
        });
      });
    });
    await sleep(0.01);
    await g.kill();
    assert.ok(aborted instanceof GreenletExit);
    assert.equal(g.dead, true);
  });

  it('kill with another exception makes the greenlet fail with it', async () => {
    class Stop extends Error {}
    await captureHubErrors(async (lines) => {
      const g = spawn(() => sleep(60));
      await sleep(0);
      await g.kill({ exception: Stop });
      assert.ok(g.exception instanceof Stop);
      assert.equal(g.successful(), false);
      assert.equal(lines.length, 1);
    });
  });

  it('kill({block: true, timeout}) returns after the timeout if finally blocks take longer', async () => {
    const done = new Event();
    const g = spawn(async () => {
      try {
        await sleep(60);
      } finally {
        await nodeSleep(150);
        done.set();
      }
    });
    await sleep(0.01);
    await g.kill({ timeout: 0.02 });
    assert.equal(g.dead, false);
    await done.wait();
    await g.join();
    assert.equal(g.dead, true);
  });

  it('a greenlet killing itself stops at its next hub wait', async () => {
    let after = false;
    const g = spawn(async () => {
      await getCurrent().kill();
      after = true;
    });
    await g.join();
    assert.equal(after, false);
    assert.ok(g.value instanceof GreenletExit);
  });

  it('refuses to kill the main greenlet', () => {
    assert.throws(() => getHub().main.kill(), GreenletStateError);
  });

  it('spawned greenlets are independent of their spawner', async () => {
    let child!: Greenlet<unknown>;
    const parent = spawn(async () => {
      child = spawn(async () => {
        await sleep(0.02);
        return 'child done';
      });
      await sleep(60);
    });
    await sleep(0.005);
    await parent.kill();
    assert.equal(child.dead, false);
    assert.equal(await child.get(), 'child done');
  });

  it('killAll kills every greenlet and waits for them', async () => {
    const gs = [1, 2, 3].map(() => spawn(() => sleep(60)));
    await sleep(0);
    await killAll(gs);
    assert.ok(gs.every((g) => g.dead && g.value instanceof GreenletExit));
  });
});

describe('sleep', () => {
  it('sleep(0) in two greenlets interleaves them', async () => {
    const order: string[] = [];
    const run = async (name: string): Promise<void> => {
      for (let i = 0; i < 3; i++) {
        order.push(`${name}${i}`);
        await sleep(0);
      }
    };
    await joinAll([spawn(run, 'a'), spawn(run, 'b')]);
    assert.deepEqual(order, ['a0', 'b0', 'a1', 'b1', 'a2', 'b2']);
  });

  it('sleep(0) yields to I/O and timers, not only to microtasks', async () => {
    let timerFired = false;
    setTimeout(() => (timerFired = true), 0);
    const server = createServer((s) => s.end());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      let accepted = false;
      server.once('connection', () => (accepted = true));
      const g = spawn(async () => {
        const { connect } = await import('node:net');
        const sock = connect((server.address() as { port: number }).port, '127.0.0.1');
        sock.on('error', () => {});
        for (let i = 0; i < 2000 && !(accepted && timerFired); i++) await sleep(0);
        sock.destroy();
        return accepted && timerFired;
      });
      assert.equal(await g.get(), true);
    } finally {
      server.close();
    }
  });

  it('10,000 greenlets each sleeping 1 s finish in about 1 s', async () => {
    const t0 = performance.now();
    const gs: Greenlet<void>[] = [];
    for (let i = 0; i < 10_000; i++) gs.push(spawn(() => sleep(1)));
    const done = await joinAll(gs);
    const elapsed = performance.now() - t0;
    assert.equal(done.length, 10_000);
    assert.ok(elapsed >= 990, `finished too early: ${elapsed} ms`);
    assert.ok(elapsed < 4000, `took ${elapsed} ms`);
    assert.equal(getHub().pendingTimers, 0);
  });

  it('rejects a non-number', async () => {
    await assert.rejects(sleep('1' as unknown as number), { code: 'TSGI_ERR_HUB_INVALID_ARGUMENT' });
  });

  it('a cancelled long timer does not keep the process alive (the heap disarms)', async () => {
    const g = spawn(() => sleep(3600));
    await sleep(0.01);
    assert.equal(getHub().pendingTimers, 1);
    await g.kill();
    assert.equal(getHub().pendingTimers, 0);
  });
});

describe('joinAll, wait, iwait', () => {
  const sleeper = (s: number, v: unknown) => spawn(async () => {
    await sleep(s);
    return v;
  });

  it('joinAll with count returns after count finish', async () => {
    const gs = [sleeper(0.01, 'a'), sleeper(0.02, 'b'), sleeper(5, 'c')];
    const done = await joinAll(gs, { count: 2 });
    assert.deepEqual(done.map((g) => g.value), ['a', 'b']);
    assert.equal(gs[2].dead, false);
    await gs[2].kill();
  });

  it('joinAll with timeout returns the finished subset', async () => {
    const gs = [sleeper(0.01, 'a'), sleeper(5, 'b')];
    const done = await joinAll(gs, { timeout: 0.1 });
    assert.deepEqual(done, [gs[0]]);
    await gs[1].kill();
  });

  it('joinAll with raiseError rethrows the first error', async () => {
    await captureHubErrors(async () => {
      const slow = sleeper(5, 'slow');
      const bad = spawn(async () => {
        await sleep(0.01);
        throw new SyntaxError('first');
      });
      await assert.rejects(joinAll([slow, bad], { raiseError: true }), SyntaxError);
      await slow.kill();
    });
  });

  it('wait() and iwait() work over events, results and greenlets', async () => {
    const ev = new Event();
    const ar = new AsyncResult<number>();
    const g = sleeper(0.02, 'g');
    setTimeout(() => ev.set(), 5);
    setTimeout(() => ar.set(1), 10);
    const order: unknown[] = [];
    for await (const o of iwait<Event | AsyncResult<number> | Greenlet<unknown>>([g, ar, ev])) order.push(o);
    assert.deepEqual(order, [ev, ar, g]);
    const none = await wait([new Event()], { timeout: 0.01 });
    assert.deepEqual(none, []);
  });
});

describe('getCurrent', () => {
  it('is the main greenlet outside any greenlet', () => {
    assert.equal(getCurrent(), getHub().main);
    assert.equal(getCurrent().name, 'MainGreenlet');
  });

  it('is right after every kind of await', async () => {
    const q = new Queue<number>();
    const ev = new Event();
    const other = spawn(async () => {
      await sleep(0.01);
      ev.set();
      q.putNowait(1);
    });
    const g = spawn(async () => {
      const me = getCurrent();
      const checks: Array<[string, boolean]> = [];
      const check = (what: string): void => {
        checks.push([what, getCurrent() === me]);
      };
      await sleep(0);
      check('sleep(0)');
      await sleep(0.001);
      check('sleep');
      await ev.wait();
      check('Event.wait');
      await q.get();
      check('Queue.get');
      await other.join();
      check('join');
      await Promise.resolve();
      check('resolved promise');
      await nodeSleep(1);
      check('timers/promises');
      await readFile(new URL(import.meta.url));
      check('fs.promises');
      await new Promise((r) => setImmediate(r));
      check('setImmediate');
      await new Promise((r) => process.nextTick(r));
      check('nextTick');
      await new Promise<void>((r) => queueMicrotask(r));
      check('queueMicrotask');
      await spawn(() => 1).get();
      check('child get');
      await Promise.all([sleep(0.001), sleep(0)]);
      check('Promise.all of hub waits');
      return checks;
    });
    for (const [what, ok] of await g.get()) assert.ok(ok, `getCurrent() wrong after ${what}`);
  });

  it('is the hub (main greenlet) inside link callbacks, not the caller', async () => {
    const seen: Greenlet[] = [];
    const target = spawn(() => 1);
    const linker = spawn(async () => {
      target.link(() => seen.push(getCurrent()));
      target.linkValue(() => seen.push(getCurrent()));
      await target.join();
      await sleep(0);
    });
    await linker.join();
    // A link added after completion still fires.
    const late = new Promise<Greenlet>((resolve) => target.link(() => resolve(getCurrent())));
    assert.equal(await late, getHub().main);
    assert.deepEqual(seen, [getHub().main, getHub().main]);
  });

  it('linkValue / linkException fire by outcome and unlink removes a link', async () => {
    await captureHubErrors(async () => {
      const calls: string[] = [];
      const ok = spawn(() => 1);
      const bad = spawn(() => {
        throw new Error('x');
      });
      const removed = (): void => {
        calls.push('removed');
      };
      for (const g of [ok, bad]) {
        g.linkValue(() => calls.push(`value ${g === ok ? 'ok' : 'bad'}`));
        g.linkException(() => calls.push(`exception ${g === ok ? 'ok' : 'bad'}`));
        g.link(removed);
        g.unlink(removed);
      }
      await joinAll([ok, bad]);
      await sleep(0);
      assert.deepEqual(calls.sort(), ['exception bad', 'value ok']);
    });
  });

  it('is right in EventEmitter listeners the greenlet registered, when fired after hub waits', async () => {
    const emitter = new EventEmitter();
    const seen: Array<[string, Greenlet]> = [];
    const g = spawn(async () => {
      emitter.on('tick', (what: string) => seen.push([what, getCurrent()]));
      await sleep(0.001);
      emitter.emit('tick', 'after sleep');
      await new Event().wait(0.001);
      emitter.emit('tick', 'after Event.wait timeout');
      const q = new Queue<string>();
      spawn(() => q.putNowait('x'));
      await q.get();
      emitter.emit('tick', 'after Queue.get');
    });
    await g.join();
    // Fired by the hub itself (a link callback): the listener runs in the hub, like any emit.
    const linked = spawn(() => 1);
    linked.link(() => emitter.emit('tick', 'from link'));
    await linked.join();
    await sleep(0);
    assert.deepEqual(
      seen.map(([w, c]) => [w, c === g ? 'g' : c === getHub().main ? 'main' : c.name]),
      [
        ['after sleep', 'g'],
        ['after Event.wait timeout', 'g'],
        ['after Queue.get', 'g'],
        ['from link', 'main'],
      ],
    );
  });

  it('follows a greenlet through then() callbacks, thenables, Promise.all and async iterators', async () => {
    const seen: string[] = [];
    const mark = (what: string) => seen.push(`${what}:${getCurrent() === g ? 'g' : getCurrent().name}`);
    const thenable = { then: (resolve: (v: number) => void) => setImmediate(() => resolve(1)) };
    async function* ticks(): AsyncGenerator<number> {
      yield 1;
      await nodeSleep(1);
      mark('inside generator');
      yield 2;
    }
    const g = spawn(async () => {
      await Promise.resolve().then(() => mark('then'));
      await thenable;
      mark('after thenable');
      await Promise.all([nodeSleep(1), readFile(new URL(import.meta.url))]);
      mark('after Promise.all');
      for await (const _ of ticks()) mark('loop');
      await nodeSleep(1).finally(() => mark('finally'));
    });
    await g.join();
    assert.deepEqual(seen, ['then:g', 'after thenable:g', 'after Promise.all:g', 'loop:g', 'inside generator:g', 'loop:g', 'finally:g']);
  });

  it('runs callbacks Node calls from its loop (timers, nextTick, I/O) in the hub, as gevent runs callbacks', async () => {
    const seen: Array<[string, Greenlet]> = [];
    const server = createServer((socket) => socket.end('x'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const g = spawn(async () => {
      const fired = new Event();
      let left = 4;
      const note = (what: string) => () => {
        seen.push([what, getCurrent()]);
        if (--left === 0) fired.set();
      };
      setTimeout(note('setTimeout'), 1);
      setImmediate(note('setImmediate'));
      process.nextTick(note('nextTick'));
      const { connect } = await import('node:net');
      connect(port, '127.0.0.1').on('data', note('socket data'));
      await fired.wait(5);
      return getCurrent();
    });
    assert.equal(await g.get(), g);
    server.close();
    assert.deepEqual(seen.map(([what, c]) => [what, c === getHub().main ? 'main' : c === g ? 'g' : c.name]).sort(), [
      ['nextTick', 'main'],
      ['setImmediate', 'main'],
      ['setTimeout', 'main'],
      ['socket data', 'main'],
    ]);
  });

  it('inherits the spawner async context (other AsyncLocalStorage stores flow in)', async () => {
    const requestContext = new AsyncLocalStorage<string>();
    const g = requestContext.run('request-1', () =>
      spawn(async () => {
        await sleep(0);
        return requestContext.getStore();
      }),
    );
    const h = requestContext.run('request-2', () => spawn(() => requestContext.getStore()));
    assert.equal(await g.get(), 'request-1');
    assert.equal(await h.get(), 'request-2');
  });

  it('starts each greenlet in its own context, whatever the mix of spawners, gates, kills and later starts', async () => {
    const requestContext = new AsyncLocalStorage<string>();
    const report = (tag: string) => (): [string, string | undefined, boolean] => [tag, requestContext.getStore(), getCurrent().name === tag];
    const named = <T>(g: Greenlet<T>, name: string): Greenlet<T> => {
      g.name = name;
      return g;
    };
    const gs: Greenlet<[string, string | undefined, boolean]>[] = [];
    const spawnIn = (ctx: string | undefined, tag: string): Greenlet<any> => {
      const make = (): Greenlet<any> => named(spawn(report(tag)), tag);
      const g = ctx === undefined ? make() : requestContext.run(ctx, make);
      gs.push(g);
      return g;
    };
    spawnIn('A', 'a1');
    const doomed = spawnIn('B', 'b1');
    spawnIn(undefined, 'm1');
    // A callback queued between spawns closes the current start gate; later spawns take a new one.
    getHub().callSoon(() => {
      spawnIn('C', 'c2');
    });
    spawnIn('A', 'a2');
    const later = requestContext.run('L', () => named(spawnLater(0.001, report('l1')), 'l1'));
    spawnIn('B', 'b2');
    void doomed.kill({ block: false });
    // A greenlet spawning others while the first gate's greenlets are starting.
    const parent = requestContext.run('P', () =>
      named(
        spawn(() => {
          gs.push(named(spawn(report('p-child')), 'p-child'));
          return ['parent', requestContext.getStore(), getCurrent().name === 'parent'] as [string, string | undefined, boolean];
        }),
        'parent',
      ),
    );
    spawnIn('B', 'b3');
    await joinAll([parent, later]);
    await sleep(0);
    await joinAll(gs);
    assert.ok(doomed.value instanceof GreenletExit);
    const results = [parent, later, ...gs.filter((g) => g !== doomed)].map((g) => g.value);
    assert.deepEqual(
      results.sort((x: any, y: any) => String(x[0]).localeCompare(String(y[0]))),
      [
        ['a1', 'A', true],
        ['a2', 'A', true],
        ['b2', 'B', true],
        ['b3', 'B', true],
        ['c2', 'C', true],
        ['l1', 'L', true],
        ['m1', undefined, true],
        ['p-child', 'P', true],
        ['parent', 'P', true],
      ],
    );
  });

  it('leaves the spawner as it was: its greenlet and its stores, before and after the child starts', async () => {
    const store = new AsyncLocalStorage<string>();
    const parent = spawn(() =>
      store.run('parent-store', async () => {
        const seen: unknown[] = [];
        const child = spawn(() => {
          store.enterWith('child-store');
          return getCurrent();
        });
        seen.push(getCurrent() === parent, store.getStore());
        await child.join();
        seen.push(getCurrent() === parent, store.getStore(), child.value === child);
        await sleep(0);
        seen.push(getCurrent() === parent, store.getStore());
        return seen;
      }),
    );
    assert.deepEqual(await parent.get(), [true, 'parent-store', true, 'parent-store', true, true, 'parent-store']);
    assert.equal(getCurrent(), getHub().main);
  });
});
