import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSignalAllowList } from './signal-allow.js';

test('the default allow-list is loopback and unix sockets', () => {
  const allow = createSignalAllowList();
  for (const ok of ['127.0.0.1', '127.9.8.7', '::1', '::ffff:127.0.0.1', undefined, '']) assert.equal(allow.allows(ok), true, String(ok));
  for (const no of ['10.0.0.1', '192.168.1.1', '::2', 'fe80::1', '::ffff:10.0.0.1', 'garbage', '128.0.0.1']) {
    assert.equal(allow.allows(no), false, no);
  }
});

test('addresses and CIDRs, IPv4 and IPv6', () => {
  const allow = createSignalAllowList(['10.1.2.3', '192.168.0.0/16', 'fd00::/8', '2001:db8::5'], { allowUnix: false });
  assert.equal(allow.allows('10.1.2.3'), true);
  assert.equal(allow.allows('10.1.2.4'), false);
  assert.equal(allow.allows('192.168.200.9'), true);
  assert.equal(allow.allows('192.169.0.1'), false);
  assert.equal(allow.allows('fd12:3456::1'), true);
  assert.equal(allow.allows('fe00::1'), false);
  assert.equal(allow.allows('2001:db8::5'), true);
  assert.equal(allow.allows('127.0.0.1'), false);
  assert.equal(allow.allows(undefined), false);
  assert.deepEqual(allow.entries, ['10.1.2.3', '192.168.0.0/16', 'fd00::/8', '2001:db8::5']);
});

test('invalid entries are refused with TSGI_ERR_SIGNAL_ALLOW_INVALID', () => {
  for (const bad of ['localhost', '10.0.0.0/33', '::/129', '10.0.0.0/', '1.2.3', '10.0.0.0/8x', '']) {
    assert.throws(() => createSignalAllowList([bad]), (e: { code?: string }) => e.code === 'TSGI_ERR_SIGNAL_ALLOW_INVALID', bad);
  }
});
