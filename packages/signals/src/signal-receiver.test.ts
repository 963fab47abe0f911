import assert from 'node:assert/strict';
import diagnostics_channel from 'node:diagnostics_channel';
import { test } from 'node:test';
import { getCurrent, sleep, spawn, type Greenlet } from '@tsgi/hub';
import { SignalReceiver } from './signal-receiver.js';
import { SignalTable } from './signal-table.js';

function setup() {
  const logs: string[] = [];
  const table = new SignalTable();
  const started: number[] = [];
  const receiver = new SignalReceiver({ table, workerId: 3, log: (l) => logs.push(l), onStart: (n) => started.push(n) });
  return { logs, table, receiver, started };
}

test('each delivered signal runs its handler in its own new greenlet, never inside deliver()', async () => {
  const { table, receiver, started } = setup();
  const seen: { num: number; g: Greenlet<unknown> }[] = [];
  table.register(1, '', 3, (num) => {
    seen.push({ num, g: getCurrent() });
  });
  const main = getCurrent();
  const a = receiver.deliver(1)!;
  const b = receiver.deliver(1)!;
  assert.equal(seen.length, 0, 'the handler must not run synchronously inside deliver()');
  await a.join();
  await b.join();
  assert.equal(seen.length, 2);
  assert.deepEqual(started, [1, 1]);
  assert.notEqual(seen[0]!.g, seen[1]!.g);
  for (const { g } of seen) assert.notEqual(g, main, 'not the main greenlet');
  assert.deepEqual(
    seen.map((s) => s.g),
    [a, b],
  );
  assert.deepEqual(receiver.stats(), { workerId: 3, received: 2, handled: 2, errors: 0, consumed: 0, running: 0 });
});

test('a handler sleeping 2 s does not delay another handler', async () => {
  const { table, receiver } = setup();
  const order: string[] = [];
  table.register(1, '', 3, async () => {
    order.push('slow start');
    await sleep(2);
    order.push('slow end');
  });
  table.register(2, '', 3, () => {
    order.push('fast');
  });
  const slow = receiver.deliver(1)!;
  const fast = receiver.deliver(2)!;
  await fast.join();
  assert.deepEqual(order, ['slow start', 'fast'], 'the fast handler finished while the slow one sleeps');
  assert.equal(slow.dead, false);
  await slow.join();
  assert.deepEqual(order, ['slow start', 'fast', 'slow end']);
});

test('a throwing handler logs its stack and "error managing signal N on worker W"; the next signal is handled', async () => {
  const { table, receiver, logs } = setup();
  const errors: unknown[] = [];
  const sub = (m: unknown) => errors.push(m);
  diagnostics_channel.subscribe('tsgi:signals:error', sub);
  try {
    let calls = 0;
    table.register(7, '', 3, () => {
      calls++;
      if (calls === 1) throw new Error('boom in handler');
    });
    await receiver.deliver(7)!.join();
    await receiver.deliver(7)!.join();
    assert.equal(calls, 2);
    assert.match(logs[0]!, /^Error: boom in handler\n\s+at /);
    assert.equal(logs[1], 'error managing signal 7 on worker 3');
    assert.equal(logs.length, 2);
    assert.deepEqual(
      errors.map((e) => (e as { num: number; workerId: number }).num),
      [7],
    );
    const s = receiver.stats();
    assert.equal(s.errors, 1);
    assert.equal(s.handled, 1);
  } finally {
    diagnostics_channel.unsubscribe('tsgi:signals:error', sub);
  }
});

test('a rejected async handler is an error too', async () => {
  const { table, receiver, logs } = setup();
  table.register(8, '', 3, async () => {
    await sleep(0);
    throw new TypeError('async boom');
  });
  await receiver.deliver(8)!.join();
  assert.match(logs[0]!, /TypeError: async boom/);
  assert.equal(logs[1], 'error managing signal 8 on worker 3');
});

test('a signal with no handler here is logged as an error unless a signalWait consumes it', async () => {
  const { receiver, logs } = setup();
  await receiver.deliver(40)!.join();
  assert.match(logs[0]!, /no handler for signal 40 in worker 3/);
  assert.equal(logs[1], 'error managing signal 40 on worker 3');
  logs.length = 0;
  const waiter = spawn(() => receiver.signalWait(41));
  await sleep(0);
  await receiver.deliver(41)!.join();
  assert.equal(await waiter.get(), 41);
  assert.deepEqual(logs, []);
  assert.equal(receiver.stats().consumed, 1);
});

test('invalid numbers from the wire are logged, not thrown', () => {
  const { receiver, logs } = setup();
  assert.equal(receiver.deliver(300), undefined);
  assert.equal(receiver.deliver(Number.NaN), undefined);
  assert.equal(logs.length, 2);
  assert.equal(receiver.stats().errors, 2);
});

test('signalWait is cooperative: other greenlets run while it waits; it returns the number and signalReceived() remembers it', async () => {
  const { table, receiver } = setup();
  table.register(5, '', 3, () => {});
  let ticks = 0;
  const ticker = spawn(async () => {
    for (let i = 0; i < 5; i++) {
      ticks++;
      await sleep(0);
    }
  });
  const waiter = spawn(async () => {
    const got = await receiver.signalWait();
    return { got, received: receiver.signalReceived() };
  });
  await ticker.join();
  assert.equal(ticks, 5, 'the loop kept running while signalWait waited');
  assert.equal(waiter.ready(), false);
  receiver.deliver(5);
  assert.deepEqual(await waiter.get(), { got: 5, received: 5 });
  assert.equal(receiver.signalReceived(), undefined, 'another greenlet has its own last signal');
});

test('signalWait(num) ignores other numbers; a timeout returns undefined', async () => {
  const { table, receiver } = setup();
  table.register(5, '', 3, () => {});
  table.register(6, '', 3, () => {});
  const waiter = spawn(() => receiver.signalWait(6));
  await sleep(0);
  receiver.deliver(5);
  await sleep(0.05);
  assert.equal(waiter.ready(), false);
  receiver.deliver(6);
  assert.equal(await waiter.get(), 6);
  assert.equal(await receiver.signalWait(9, { timeout: 0.05 }), undefined);
});

test('signalWait is killable', async () => {
  const { receiver } = setup();
  let cleaned = false;
  const waiter = spawn(async () => {
    try {
      await receiver.signalWait();
    } finally {
      cleaned = true;
    }
  });
  await sleep(0);
  await waiter.kill();
  assert.equal(waiter.dead, true);
  assert.equal(cleaned, true);
  // The killed waiter no longer consumes signals: an unregistered one now reports the missing handler.
  const logs: string[] = [];
  const r2 = new SignalReceiver({ workerId: 1, log: (l) => logs.push(l) });
  const w2 = spawn(() => r2.signalWait());
  await sleep(0);
  await w2.kill();
  await r2.deliver(1)!.join();
  assert.equal(logs.at(-1), 'error managing signal 1 on worker 1');
});

test('close() kills running handlers', async () => {
  const { table, receiver } = setup();
  let finished = false;
  table.register(1, '', 3, async () => {
    try {
      await sleep(30);
    } finally {
      finished = true;
    }
  });
  const g = receiver.deliver(1)!;
  await sleep(0);
  assert.equal(receiver.stats().running, 1);
  await receiver.close();
  assert.equal(g.dead, true);
  assert.equal(finished, true);
  assert.equal(receiver.stats().errors, 0, 'a killed handler is not an error');
});

test('tsgi:signals:deliver is published for each delivery', async () => {
  const { table, receiver } = setup();
  table.register(2, '', 3, () => {});
  const seen: unknown[] = [];
  const sub = (m: unknown) => seen.push(m);
  diagnostics_channel.subscribe('tsgi:signals:deliver', sub);
  try {
    await receiver.deliver(2)!.join();
  } finally {
    diagnostics_channel.unsubscribe('tsgi:signals:deliver', sub);
  }
  assert.deepEqual(seen, [{ num: 2, workerId: 3 }]);
});
