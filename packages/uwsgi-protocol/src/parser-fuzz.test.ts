import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { UwsgiProtocolError, UwsgiRequestParser, encodePacket } from './index.js';
import { FIXTURE_NAMES, loadFixture, prng } from './test-support/helpers.js';

const ITERATIONS = Number(process.env.TSGI_FUZZ_ITERATIONS ?? 100_000);
const SEED = Number(process.env.TSGI_FUZZ_SEED ?? 7);

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function mutate(rand: () => number, base: Buffer): Buffer {
  const b = Buffer.from(base);
  const kind = (rand() * 6) | 0;
  const edits = 1 + ((rand() * 4) | 0);
  for (let e = 0; e < edits; e++) {
    const at = (rand() * b.length) | 0;
    if (kind === 0) b[at] = (rand() * 256) | 0; // random byte
    else if (kind === 1) b[at] ^= 1 << ((rand() * 8) | 0); // bit flip
    else if (kind === 2) b[at] = [0, 0xff, 0x7f, 0x80][(rand() * 4) | 0]; // boundary values
    else if (kind === 3 && at + 1 < b.length) b.writeUInt16LE((rand() * 65536) | 0, at); // a random length
  }
  if (kind === 4) return b.subarray(0, (rand() * b.length) | 0); // truncation
  if (kind === 5) return Buffer.concat([b, b.subarray(0, (rand() * b.length) | 0)]); // duplication
  return b;
}

function randomPacket(rand: () => number): Buffer {
  if (rand() < 0.5) {
    const n = (rand() * 64) | 0;
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = (rand() * 256) | 0;
    if (n >= 4 && rand() < 0.7) b.writeUInt16LE(Math.max(0, n - 4 - ((rand() * 3) | 0)), 1);
    return b;
  }
  return encodePacket({ vars: { CONTENT_LENGTH: String((rand() * 100) | 0), K: 'v'.repeat((rand() * 50) | 0) } });
}

describe(`parser fuzz (${ITERATIONS} packets, seed ${SEED})`, () => {
  it('random and mutated packets, split anywhere: push/end never throw, every result is null, a head or a coded error, and memory stays flat', () => {
    const rand = prng(SEED);
    const bases = FIXTURE_NAMES.map((n) => loadFixture(n).bytes);
    const counts = { head: 0, error: 0, pending: 0 };
    const codes = new Set<string>();
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    for (let i = 0; i < ITERATIONS; i++) {
      const bytes = rand() < 0.6 ? mutate(rand, bases[(rand() * bases.length) | 0]) : randomPacket(rand);
      const parser = new UwsgiRequestParser({ bufferSize: rand() < 0.5 ? 4096 : 512, maxVars: 1 + ((rand() * 64) | 0), limitPost: rand() < 0.5 ? 0 : 50 });
      let result: unknown = null;
      let offset = 0;
      while (offset < bytes.length && result === null) {
        const n = 1 + ((rand() * (rand() < 0.5 ? 8 : 2000)) | 0);
        result = parser.push(bytes.subarray(offset, offset + n));
        offset += n;
      }
      if (result === null) result = parser.end();
      if (result === null) counts.pending++;
      else if (result instanceof UwsgiProtocolError) {
        counts.error++;
        codes.add(result.code);
        assert.match(result.code, /^TSGI_ERR_UWSGI_/);
      } else {
        counts.head++;
        const h = result as { vars: { pairs(): unknown[]; length: number } };
        assert.equal(h.vars.pairs().length, h.vars.length);
      }
      if (i === ITERATIONS >> 1) {
        gc();
      }
    }
    gc();
    const grown = process.memoryUsage().heapUsed - heapBefore;
    assert.ok(grown < 16 * 1024 * 1024, `heap grew by ${grown} bytes`);
    // the corpus exercises every failure path, not just one
    for (const code of ['TSGI_ERR_UWSGI_BLOCK_SIZE', 'TSGI_ERR_UWSGI_NULL_KEY', 'TSGI_ERR_UWSGI_VAR_OVERRUN', 'TSGI_ERR_UWSGI_EOF_VARS', 'TSGI_ERR_UWSGI_CONTENT_LENGTH', 'TSGI_ERR_UWSGI_LIMIT_POST']) {
      assert.ok(codes.has(code), `fuzzing never produced ${code} (${[...codes].join(', ')})`);
    }
    assert.ok(counts.head > ITERATIONS / 20, `only ${counts.head} valid heads`);
  });
});
