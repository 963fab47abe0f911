import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatSignalClientResult, parseSignalClientArgument, parseSignalTimerOption, parseTouchSignalOption } from './signal-client.js';

test('formatSignalClientResult gives uWSGI\'s messages and exit codes', () => {
  assert.deepEqual(formatSignalClientResult({ outcome: 'delivered', address: '127.0.0.1:3031', num: 17 }), {
    exitCode: 0,
    message: 'signal 17 delivered to node 127.0.0.1:3031',
  });
  assert.deepEqual(formatSignalClientResult({ outcome: 'unreachable', address: '127.0.0.1:9', num: 1 }), {
    exitCode: 1,
    message: 'unable to deliver signal 1 to node 127.0.0.1:9',
  });
  assert.deepEqual(formatSignalClientResult({ outcome: 'rejected', address: '/tmp/s.sock', num: 30 }), {
    exitCode: 2,
    message: 'node /tmp/s.sock rejected signal 30',
  });
  assert.deepEqual(formatSignalClientResult({ outcome: 'invalid-number' }), { exitCode: 3, message: 'invalid signal number' });
  assert.deepEqual(formatSignalClientResult({ outcome: 'invalid-syntax' }), {
    exitCode: 1,
    message: 'invalid syntax for signal, must be addr,signal',
  });
});

test('parseSignalClientArgument splits ADDR,NUM and classifies errors', () => {
  assert.deepEqual(parseSignalClientArgument('127.0.0.1:3031,17'), { ok: true, address: '127.0.0.1:3031', num: 17 });
  assert.deepEqual(parseSignalClientArgument('/run/app.sock,0'), { ok: true, address: '/run/app.sock', num: 0 });
  const noComma = parseSignalClientArgument('127.0.0.1:3031');
  assert.equal(noComma.ok, false);
  assert.equal(!noComma.ok && noComma.result.exitCode, 1);
  for (const bad of ['a:1,256', 'a:1,-1', 'a:1,abc', 'a:1,', 'a:1,1.5']) {
    const r = parseSignalClientArgument(bad);
    assert.equal(!r.ok && r.outcome, 'invalid-number', bad);
    assert.equal(!r.ok && r.result.exitCode, 3, bad);
  }
});

test('--signal-timer, --signal-rbtimer and --touch-signal values', () => {
  assert.deepEqual(parseSignalTimerOption('17 5'), { num: 17, seconds: 5 });
  assert.deepEqual(parseSignalTimerOption('3 0.5', 'rb-timer'), { num: 3, seconds: 0.5 });
  assert.throws(() => parseSignalTimerOption('17'), /invalid signal timer syntax, must be: <signal> <seconds>/);
  assert.throws(() => parseSignalTimerOption('17', 'rb-timer'), /invalid redblack signal timer syntax/);
  assert.throws(() => parseSignalTimerOption('300 5'), (e: { code?: string }) => e.code === 'TSGI_ERR_SIGNAL_OPTION');
  assert.throws(() => parseSignalTimerOption('3 0'), /more than 0 seconds/);
  assert.deepEqual(parseTouchSignalOption('/tmp/reload 9'), { path: '/tmp/reload', num: 9 });
  assert.deepEqual(parseTouchSignalOption('/tmp/my file 9'), { path: '/tmp/my file', num: 9 });
  assert.throws(() => parseTouchSignalOption('/tmp/reload'), /invalid touch-signal syntax/);
  assert.throws(() => parseTouchSignalOption('/tmp/reload 999'), /invalid signal number 999/);
});
