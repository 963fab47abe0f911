import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UwsgiRequestParser, type UwsgiRequestHead, decodeVars, encodePacket, encodeVars } from './index.js';
import { prng } from './test-support/helpers.js';

const SEED = Number(process.env.TSGI_PROPERTY_SEED ?? 20261124);

function randomBytes(rand: () => number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (rand() * 256) | 0;
  return b;
}

function randomVars(rand: () => number, budget: number): [string, Buffer][] {
  const vars: [string, Buffer][] = [];
  const count = (rand() * 30) | 0;
  for (let i = 0; i < count && budget > 8; i++) {
    const key = randomBytes(rand, 1 + ((rand() * 20) | 0)).toString('latin1');
    const kind = rand();
    const vlen = kind < 0.2 ? 0 : kind < 0.25 ? Math.max(0, budget - 4 - key.length) : (rand() * 200) | 0;
    const len = Math.min(vlen, budget - 4 - key.length);
    if (len < 0) break;
    vars.push([key, randomBytes(rand, len)]);
    budget -= 4 + key.length + len;
  }
  return vars;
}

function splitAt(rand: () => number, bytes: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  let i = 0;
  while (i < bytes.length) {
    const n = 1 + ((rand() * (rand() < 0.3 ? 4 : 600)) | 0);
    parts.push(bytes.subarray(i, i + n));
    i += n;
  }
  return parts;
}

describe(`round trip (seed ${SEED})`, () => {
  it('random vars (empty values, binary bytes, duplicates) encode -> split at random points -> parse back equal', () => {
    const rand = prng(SEED);
    for (let round = 0; round < 2000; round++) {
      const vars = randomVars(rand, 3800);
      if (vars.length > 1 && rand() < 0.2) vars.push([vars[0][0], vars[1][1]]);
      const body = randomBytes(rand, (rand() * 50) | 0);
      const packet = Buffer.concat([encodePacket({ modifier1: (rand() * 256) | 0, modifier2: (rand() * 256) | 0, vars }), body]);
      const parser = new UwsgiRequestParser({ bufferSize: 65535, maxVars: 64 });
      let h: UwsgiRequestHead | null = null;
      const after: Buffer[] = [];
      for (const part of splitAt(rand, packet)) {
        if (h !== null) {
          after.push(part);
          continue;
        }
        const r = parser.push(part);
        assert.ok(!(r instanceof Error), `round ${round}: ${String(r)}`);
        if (r !== null) h = r;
      }
      assert.ok(h !== null, `round ${round}: head incomplete`);
      assert.equal(h.modifier1, packet[0]);
      assert.equal(h.modifier2, packet[3]);
      assert.deepEqual(
        h.vars.pairs(),
        vars.map(([k, v]) => [k, v.toString('latin1')]),
      );
      for (let i = 0; i < vars.length; i++) assert.deepEqual(h.vars.valueBytes(i), vars[i][1]);
      assert.deepEqual(Buffer.concat([h.rest, ...after]), body);
    }
  });

  it('65535-byte values and a full 65535-byte block survive encode -> split -> parse', () => {
    const rand = prng(SEED + 1);
    const big = randomBytes(rand, 65535);
    assert.deepEqual(decodeVars(encodeVars([['K', big]])), [['K', big.toString('latin1')]]);
    const value = big.subarray(0, 65535 - 5);
    const packet = encodePacket({ vars: [['K', value]] });
    assert.equal(packet.length, 4 + 65535);
    for (let round = 0; round < 20; round++) {
      const parser = new UwsgiRequestParser({ bufferSize: 65535 });
      let h: UwsgiRequestHead | null = null;
      for (const part of splitAt(rand, packet)) {
        const r = parser.push(part);
        assert.ok(!(r instanceof Error));
        if (r !== null) h = r;
      }
      assert.ok(h !== null);
      assert.deepEqual(h.vars.valueBytes(0), value);
    }
  });
});
