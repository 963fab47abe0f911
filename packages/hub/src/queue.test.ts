import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Empty, Full } from './errors.js';
import { joinAll, spawn } from './greenlet.js';
import { sleep } from './hub.js';
import { Channel, JoinableQueue, LifoQueue, PriorityQueue, Queue } from './queue.js';

describe('Queue', () => {
  it('putNowait/getNowait throw Full and Empty', () => {
    const q = new Queue<number>(2);
    assert.throws(() => q.getNowait(), Empty);
    q.putNowait(1);
    q.putNowait(2);
    assert.equal(q.full(), true);
    assert.throws(() => q.putNowait(3), (e) => e instanceof Full && (e as Full).code === 'TSGI_ERR_HUB_QUEUE_FULL');
    assert.equal(q.getNowait(), 1);
    assert.equal(q.peekNowait(), 2);
    assert.equal(q.qsize(), 1);
    assert.throws(() => new Queue(-1), { code: 'TSGI_ERR_HUB_INVALID_ARGUMENT' });
  });

  it('blocking get/put with timeouts throw Empty/Full; non-blocking throw at once', async () => {
    const q = new Queue<number>(1);
    await assert.rejects(q.get({ timeout: 0.005 }), Empty);
    await assert.rejects(q.get({ block: false }), Empty);
    await q.put(1);
    await assert.rejects(q.put(2, { timeout: 0.005 }), Full);
    await assert.rejects(q.put(2, { block: false }), Full);
    assert.equal(q.qsize(), 1);
  });

  it('is FIFO; a waiting putter refills the queue as soon as a getter takes an item', async () => {
    const q = new Queue<number>(2);
    const producer = spawn(async () => {
      for (let i = 0; i < 6; i++) await q.put(i);
    });
    const got: number[] = [];
    const consumer = spawn(async () => {
      for (let i = 0; i < 6; i++) {
        got.push(await q.get());
        assert.ok(q.qsize() <= 2);
      }
    });
    await joinAll([producer, consumer]);
    assert.deepEqual(got, [0, 1, 2, 3, 4, 5]);
  });

  it('maxsize 0 / null means unbounded, as in gevent >= 1.1', () => {
    for (const q of [new Queue(0), new Queue(null), new Queue()]) {
      for (let i = 0; i < 1000; i++) q.putNowait(i);
      assert.equal(q.qsize(), 1000);
      assert.equal(q.maxsize, Infinity);
    }
  });

  it('peek waits for an item without taking it', async () => {
    const q = new Queue<string>();
    const peeker = spawn(() => q.peek());
    const getter = spawn(() => q.get());
    await sleep(0.005);
    q.putNowait('x');
    assert.equal(await getter.get(), 'x');
    q.putNowait('y');
    assert.equal(await peeker.get(), 'y');
    assert.equal(q.qsize(), 1);
    await assert.rejects(new Queue().peek({ timeout: 0.005 }), Empty);
  });

  it('async iteration gets items in order', async () => {
    const q = new Queue<number>();
    for (const i of [1, 2, 3]) q.putNowait(i);
    const seen: number[] = [];
    for await (const item of q) {
      seen.push(item);
      if (seen.length === 3) break;
    }
    assert.deepEqual(seen, [1, 2, 3]);
  });
});

describe('LifoQueue and PriorityQueue', () => {
  it('LifoQueue is last in, first out', () => {
    const q = new LifoQueue<number>();
    [1, 2, 3].forEach((i) => q.putNowait(i));
    assert.equal(q.peekNowait(), 3);
    assert.deepEqual([q.getNowait(), q.getNowait(), q.getNowait()], [3, 2, 1]);
  });

  it('PriorityQueue returns the lowest first, tuples compared like Python', () => {
    const q = new PriorityQueue<[number, string]>();
    for (const item of [[3, 'c'], [1, 'b'], [2, 'z'], [1, 'a'], [5, 'e'], [0, 'x']] as Array<[number, string]>) q.putNowait(item);
    const out: string[] = [];
    while (!q.empty()) out.push(q.getNowait()[1]);
    assert.deepEqual(out, ['x', 'a', 'b', 'z', 'c', 'e']);
    const desc = new PriorityQueue<number>(null, (a, b) => b - a);
    [4, 9, 1].forEach((i) => desc.putNowait(i));
    assert.equal(desc.getNowait(), 9);
  });
});

describe('JoinableQueue', () => {
  it('join resolves when every item is marked done; taskDone too often throws', async () => {
    const q = new JoinableQueue<number>();
    assert.equal(await q.join(0.001), true);
    for (const i of [1, 2, 3]) q.putNowait(i);
    assert.equal(q.unfinishedTasks, 3);
    assert.equal(await q.join(0.005), false);
    const worker = spawn(async () => {
      for (;;) {
        await q.get();
        await sleep(0.001);
        q.taskDone();
      }
    });
    assert.equal(await q.join(), true);
    await worker.kill();
    assert.throws(() => q.taskDone(), { code: 'TSGI_ERR_HUB_TASK_DONE_TOO_MANY' });
  });
});

describe('Channel', () => {
  it('is a rendezvous: put waits until a getter takes the item', async () => {
    const ch = new Channel<string>();
    assert.throws(() => ch.putNowait('x'), Full);
    assert.throws(() => ch.getNowait(), Empty);
    let delivered = false;
    const putter = spawn(async () => {
      await ch.put('hello');
      delivered = true;
    });
    await sleep(0.01);
    assert.equal(delivered, false);
    assert.equal(ch.balance, 1);
    assert.equal(ch.qsize(), 0);
    assert.equal(await ch.get(), 'hello');
    await putter.join();
    assert.equal(delivered, true);
    await assert.rejects(ch.put('y', { timeout: 0.005 }), Full);
    await assert.rejects(ch.get({ timeout: 0.005 }), Empty);
    const getter = spawn(() => ch.get());
    await sleep(0.001);
    assert.equal(ch.balance, -1);
    ch.putNowait('direct');
    assert.equal(await getter.get(), 'direct');
  });

  it('ping-pong between two greenlets', async () => {
    const ping = new Channel<number>();
    const pong = new Channel<number>();
    const a = spawn(async () => {
      let n = 0;
      for (let i = 0; i < 100; i++) {
        await ping.put(n);
        n = await pong.get();
      }
      return n;
    });
    const b = spawn(async () => {
      for (let i = 0; i < 100; i++) await pong.put((await ping.get()) + 1);
    });
    await joinAll([a, b]);
    assert.equal(a.value, 100);
  });
});
