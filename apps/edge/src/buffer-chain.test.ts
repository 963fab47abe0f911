import assert from 'node:assert/strict';
import { readdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BufferChain } from './buffer-chain.js';

test('memory first, then an unlinked temp file, bytes kept in order', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edge-chain-'));
  try {
    const c = new BufferChain({ memoryLimit: 8, maxFileSize: 100, tempDir: dir });
    const parts = ['abcd', 'efgh', 'ijkl', 'mnop', 'qr'].map((s) => Buffer.from(s));
    for (const p of parts) assert.equal(c.push(p), true);
    assert.equal(c.fileBytes, 10);
    assert.equal(c.pending, 18);
    c.end();
    let out = '';
    for (let b = await c.shift(); b !== null; b = await c.shift()) out += b.toString();
    assert.equal(out, 'abcdefghijklmnopqr');
    assert.deepEqual(readdirSync(dir), [], 'the temp file is unlinked at once');
    c.destroy();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('full when memory and file are at their limits; space once the consumer reads', async () => {
  const c = new BufferChain({ memoryLimit: 4, maxFileSize: 0 });
  assert.equal(c.push(Buffer.from('abcd')), false);
  assert.equal(c.full, true);
  const space = new Promise((r) => c.once('space', r));
  assert.equal((await c.shift())!.toString(), 'abcd');
  await space;
  assert.equal(c.full, false);
  c.destroy();
});

test('replay() reads a kept body again from the start', async () => {
  const c = new BufferChain({ memoryLimit: 3, maxFileSize: Number.MAX_SAFE_INTEGER, keep: true });
  c.push(Buffer.from('hello '));
  c.push(Buffer.from('world'));
  c.end();
  for (let i = 0; i < 2; i++) {
    const parts: Buffer[] = [];
    for await (const b of c.replay()) parts.push(b);
    assert.equal(Buffer.concat(parts).toString(), 'hello world');
  }
  assert.equal(c.size, 11);
  c.destroy();
});

test('shiftMemory() takes memory bytes at once and stops at the temp file, where shift() reads', async () => {
  const c = new BufferChain({ memoryLimit: 4, maxFileSize: 100 });
  c.push(Buffer.from('abcd'));
  c.push(Buffer.from('efgh'));
  assert.equal(c.shiftMemory()!.toString(), 'abcd');
  assert.equal(c.shiftMemory(), undefined, 'the next bytes are in the temp file');
  assert.equal((await c.shift())!.toString(), 'efgh');
  assert.equal(c.shiftMemory(), undefined, 'nothing pending');
  assert.equal(c.pending, 0);
  c.destroy();
});
