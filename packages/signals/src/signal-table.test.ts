import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SignalError } from './errors.js';
import { SignalTable } from './signal-table.js';
import { assertSignalNumber, formatSignalTarget, parseSignalTarget } from './signal-target.js';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof SignalError, `expected a SignalError, got ${String(err)}`);
    return err.code;
  }
  return undefined;
}

test('signal numbers are integers 0..255', () => {
  for (const ok of [0, 1, 128, 255]) assert.equal(code(() => assertSignalNumber(ok)), undefined);
  for (const bad of [-1, 256, 1.5, NaN, '3', null, undefined]) assert.equal(code(() => assertSignalNumber(bad)), 'TSGI_ERR_SIGNAL_NUMBER');
});

test('targets: every supported spelling parses', () => {
  assert.deepEqual(parseSignalTarget(''), { kind: 'any' });
  assert.deepEqual(parseSignalTarget(undefined), { kind: 'any' });
  assert.deepEqual(parseSignalTarget('worker'), { kind: 'any' });
  assert.deepEqual(parseSignalTarget('worker0'), { kind: 'any' });
  assert.deepEqual(parseSignalTarget('workers'), { kind: 'all' });
  assert.deepEqual(parseSignalTarget('active-workers'), { kind: 'active' });
  assert.deepEqual(parseSignalTarget('worker12'), { kind: 'worker', id: 12 });
  assert.equal(formatSignalTarget(parseSignalTarget('')), 'default, any worker');
  assert.equal(formatSignalTarget(parseSignalTarget('worker3')), 'worker3');
});

test('mules, spooler, farms and subscribed are refused as unsupported', () => {
  for (const t of ['mule', 'mules', 'mule0', 'mule3', 'spooler', 'farm1', 'farm_jobs', 'subscribed']) {
    assert.equal(code(() => parseSignalTarget(t)), 'TSGI_ERR_SIGNAL_TARGET_UNSUPPORTED', t);
  }
});

test('unknown targets are refused at registration with uWSGI\'s text', () => {
  for (const t of ['workerx', 'all', 'Workers', 'worker-1', 42]) {
    assert.equal(code(() => parseSignalTarget(t)), 'TSGI_ERR_SIGNAL_TARGET_UNKNOWN', String(t));
  }
  assert.throws(() => parseSignalTarget('foo'), /\^\^\^ UNSUPPORTED SIGNAL TARGET: foo \^\^\^/);
});

test('table: register, re-register from a worker replaces handler and target; the master cannot re-register', () => {
  const t = new SignalTable();
  const h1 = () => 1;
  const h2 = () => 2;
  assert.equal(t.has(3), false);
  const first = t.register(3, 'workers', 1, h1);
  assert.equal(first.retargeted, false);
  assert.equal(t.get(3)!.handler, h1);
  const again = t.register(3, 'worker', 2, h2);
  assert.equal(again.retargeted, true);
  assert.equal(again.previousReceiver, 'workers');
  assert.equal(t.get(3)!.handler, h2);
  assert.deepEqual([...t.get(3)!.workerIds].sort(), [1, 2]);
  assert.equal(code(() => t.register(3, '', 0)), 'TSGI_ERR_SIGNAL_REREGISTER');
  assert.throws(() => t.register(3, '', 0), /you cannot re-register a signal as the master !!!/);
  assert.equal(code(() => t.register(4, '', 1, 'nope' as never)), 'TSGI_ERR_SIGNAL_HANDLER');
  assert.equal(t.has(4), false);
});

test('table: free() is the lowest unregistered number, undefined when all 256 are taken', () => {
  const t = new SignalTable();
  assert.equal(t.free(), 0);
  t.register(0, '', 1);
  t.register(2, '', 1);
  assert.equal(t.free(), 1);
  for (let i = 0; i < 256; i++) if (!t.has(i)) t.register(i, '', 1);
  assert.equal(t.free(), undefined);
  assert.equal(t.entries().length, 256);
});
