import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AsyncResult, Event } from './event.js';
import { getCurrent, joinAll, spawn } from './greenlet.js';
import { getHub, sleep } from './hub.js';
import { BoundedSemaphore, Lock, RLock, Semaphore } from './lock.js';
import { Timeout } from './timeout.js';

describe('Event', () => {
  it('wakes every waiter on set(), wait(timeout) resolves false, clear() resets', async () => {
    const ev = new Event();
    assert.equal(await ev.wait(0.01), false);
    const woken: number[] = [];
    const gs = [1, 2, 3].map((i) =>
      spawn(async () => {
        await ev.wait();
        woken.push(i);
      }),
    );
    await sleep(0.01);
    assert.deepEqual(woken, []);
    ev.set();
    assert.equal(ev.isSet(), true);
    await joinAll(gs);
    assert.deepEqual(woken, [1, 2, 3]);
    assert.equal(await ev.wait(), true);
    ev.clear();
    assert.equal(ev.isSet(), false);
    assert.equal(await ev.wait(0.001), false);
  });

  it('rawlink fires in the hub once set', async () => {
    const ev = new Event();
    const seen = new Promise((resolve) => ev.rawlink((e) => resolve([e, getCurrent()])));
    spawn(() => ev.set());
    assert.deepEqual(await seen, [ev, getHub().main]);
  });
});

describe('AsyncResult', () => {
  it('delivers a value to waiters, throws a set exception, and times out with Timeout', async () => {
    const r = new AsyncResult<number>();
    assert.throws(() => r.getNowait(), Timeout);
    await assert.rejects(r.get({ timeout: 0.005 }), Timeout);
    await assert.rejects(r.get({ block: false }), Timeout);
    const g = spawn(() => r.get());
    setTimeout(() => r.set(5), 5);
    assert.equal(await g.get(), 5);
    assert.equal(r.ready(), true);
    assert.equal(r.successful(), true);
    assert.equal(r.value, 5);

    const e = new AsyncResult();
    setTimeout(() => e.setException(new URIError('bad')), 5);
    assert.equal(await e.wait(), undefined);
    assert.equal(e.successful(), false);
    await assert.rejects(e.get(), URIError);
    assert.ok(e.exception instanceof URIError);
  });
});

describe('Semaphore', () => {
  it('bounds concurrency and hands permits over in FIFO order', async () => {
    const sem = new Semaphore(2);
    let inside = 0;
    let peak = 0;
    const order: number[] = [];
    const gs = [0, 1, 2, 3, 4].map((i) =>
      spawn(() =>
        sem.hold(async () => {
          order.push(i);
          peak = Math.max(peak, ++inside);
          await sleep(0.005);
          inside--;
        }),
      ),
    );
    await joinAll(gs);
    assert.equal(peak, 2);
    assert.deepEqual(order, [0, 1, 2, 3, 4]);
    assert.equal(sem.value, 2);
  });

  it('acquire returns false when not blocking or on timeout', async () => {
    const sem = new Semaphore(0);
    assert.equal(sem.locked(), true);
    assert.equal(await sem.acquire({ blocking: false }), false);
    assert.equal(await sem.acquire({ timeout: 0.005 }), false);
    assert.equal(sem.release(), 1);
    assert.equal(await sem.acquire({ blocking: false }), true);
    assert.throws(() => new Semaphore(-1), { code: 'TSGI_ERR_HUB_INVALID_ARGUMENT' });
  });

  it('BoundedSemaphore over-release throws', async () => {
    const sem = new BoundedSemaphore(2);
    await sem.acquire();
    sem.release();
    assert.throws(() => sem.release(), { code: 'TSGI_ERR_HUB_SEMAPHORE_OVER_RELEASE', message: /released too many times/ });
    const plain = new Semaphore(1);
    plain.release();
    assert.equal(plain.value, 2, 'an unbounded Semaphore may grow');
  });

  it('Lock is a mutex that cannot be released twice', async () => {
    const lock = new Lock();
    assert.equal(await lock.acquire(), true);
    assert.equal(lock.locked(), true);
    const other = spawn(() => lock.acquire({ timeout: 0.005 }));
    assert.equal(await other.get(), false);
    lock.release();
    assert.throws(() => lock.release(), { code: 'TSGI_ERR_HUB_SEMAPHORE_OVER_RELEASE' });
  });
});

describe('RLock', () => {
  it('is re-entrant for its owner greenlet and excludes others', async () => {
    const lock = new RLock();
    const events: string[] = [];
    const a = spawn(async () => {
      await lock.acquire();
      await lock.acquire();
      events.push('a twice');
      assert.equal(lock.isOwned(), true);
      await sleep(0.01);
      lock.release();
      events.push('a released once');
      await sleep(0.01);
      lock.release();
    });
    const b = spawn(async () => {
      await sleep(0);
      assert.equal(lock.isOwned(), false);
      await lock.acquire();
      events.push('b acquired');
      lock.release();
    });
    await joinAll([a, b]);
    assert.deepEqual(events, ['a twice', 'a released once', 'b acquired']);
  });

  it('release by a greenlet that does not own it throws', async () => {
    const lock = new RLock();
    await lock.acquire();
    const intruder = spawn(() => lock.release());
    await assert.rejects(intruder.get(), { code: 'TSGI_ERR_HUB_LOCK_NOT_OWNED', message: /cannot release un-acquired lock/ });
    lock.release();
    assert.equal(lock.locked(), false);
    assert.throws(() => lock.release(), { code: 'TSGI_ERR_HUB_LOCK_NOT_OWNED' });
  });
});
