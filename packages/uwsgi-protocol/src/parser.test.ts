import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { UwsgiProtocolError, UwsgiRequestParser, type UwsgiRequestHead, decodeVars, encodePacket, encodeVars } from './index.js';
import { FIXTURE_NAMES, loadFixture } from './test-support/helpers.js';

function head(result: unknown): UwsgiRequestHead {
  assert.ok(result !== null && !(result instanceof Error), `expected a head, got ${String(result)}`);
  return result as UwsgiRequestHead;
}

function failure(result: unknown): UwsgiProtocolError {
  assert.ok(result instanceof UwsgiProtocolError, `expected an error, got ${String(result)}`);
  return result;
}

function oneByteAtATime(parser: UwsgiRequestParser, bytes: Buffer): UwsgiRequestHead | UwsgiProtocolError | null {
  for (let i = 0; i < bytes.length; i++) {
    const r = parser.push(bytes.subarray(i, i + 1));
    if (r !== null) return r;
  }
  return null;
}

describe('UwsgiRequestParser on packets captured from nginx', () => {
  for (const name of FIXTURE_NAMES) {
    it(`${name}: one chunk and one byte at a time give the same head and body start`, () => {
      const fx = loadFixture(name);
      const whole = head(new UwsgiRequestParser().push(fx.bytes));
      const datasize = fx.bytes[1] | (fx.bytes[2] << 8);
      assert.equal(whole.datasize, datasize);
      assert.equal(whole.modifier1, 0);
      assert.equal(whole.modifier2, 0);
      assert.deepEqual(whole.vars.pairs(), decodeVars(fx.bytes.subarray(4, 4 + datasize)));
      // zero copy when the packet arrives whole
      assert.equal(whole.vars.buffer, fx.bytes);
      const split = head(oneByteAtATime(new UwsgiRequestParser(), fx.bytes));
      assert.deepEqual(split.vars.pairs(), whole.vars.pairs());
      // one byte at a time: the head completes on its last vars byte, nothing arrived early
      assert.equal(split.rest.length, 0);
      assert.deepEqual(whole.rest, fx.bytes.subarray(4 + datasize));
      const env = whole.vars.toEnviron();
      assert.equal(env.SERVER_NAME, 'fixtures.local');
      assert.equal(whole.contentLength, env.CONTENT_LENGTH === '' ? 0 : Number(env.CONTENT_LENGTH));
    });
  }

  it('post-body-debian: CONTENT_LENGTH 11 and the body arrived early', () => {
    const h = head(new UwsgiRequestParser().push(loadFixture('post-body-debian').bytes));
    assert.equal(h.contentLength, 11);
    assert.equal(h.chunked, false);
    assert.equal(h.rest.toString(), 'hello=world');
  });

  it('post-chunked-debian: nginx de-chunks and sends CONTENT_LENGTH, which wins over HTTP_TRANSFER_ENCODING', () => {
    const h = head(new UwsgiRequestParser().push(loadFixture('post-chunked-debian').bytes));
    assert.equal(h.vars.get('HTTP_TRANSFER_ENCODING'), 'chunked');
    assert.equal(h.contentLength, 11);
    assert.equal(h.chunked, false);
  });

  it('get-query-stock: duplicate headers are separate vars on nginx 1.22; get() returns the last', () => {
    const h = head(new UwsgiRequestParser().push(loadFixture('get-query-stock').bytes));
    const dups = h.vars.pairs().filter(([k]) => k === 'HTTP_X_DUP');
    assert.deepEqual(dups, [
      ['HTTP_X_DUP', 'one'],
      ['HTTP_X_DUP', 'two'],
    ]);
    assert.equal(h.vars.get('HTTP_X_DUP'), 'two');
    assert.equal(h.vars.toEnviron().HTTP_X_DUP, 'two');
    assert.equal(h.vars.get('HTTP_X_UNDER'), undefined);
    assert.equal(h.vars.get('PATH_INFO'), '/stock/a b/c/e');
  });
});

describe('UwsgiVars.assignTo', () => {
  it('equals toEnviron on every fixture, across requests whose keys differ at the same index', () => {
    for (const name of [...FIXTURE_NAMES, ...FIXTURE_NAMES.slice().reverse()]) {
      const h = head(new UwsgiRequestParser().push(loadFixture(name).bytes));
      assert.deepEqual({ ...h.vars.assignTo({}) }, { ...h.vars.toEnviron() }, name);
    }
    const a = head(new UwsgiRequestParser().push(encodePacket({ vars: { AB: '1', CD: '2' } })));
    const b = head(new UwsgiRequestParser().push(encodePacket({ vars: { AC: '1', CD: '2', EF: '3' } })));
    assert.deepEqual(a.vars.assignTo({}), { AB: '1', CD: '2' });
    assert.deepEqual(b.vars.assignTo({}), { AC: '1', CD: '2', EF: '3' });
    assert.deepEqual(a.vars.assignTo({ X: 'kept' }), { X: 'kept', AB: '1', CD: '2' });
  });

  it('a value reused from the previous request is never stale: same length, other bytes, longer, shorter, empty', () => {
    const sequence: Record<string, string>[] = [
      { REQUEST_METHOD: 'GET', SERVER_PORT: '80', QUERY_STRING: 's=1' },
      { REQUEST_METHOD: 'GET', SERVER_PORT: '81', QUERY_STRING: 's=1' },
      { REQUEST_METHOD: 'POST', SERVER_PORT: '8', QUERY_STRING: '' },
      { REQUEST_METHOD: 'GET', SERVER_PORT: '', QUERY_STRING: 's=1' },
      { REQUEST_METHOD: 'GET', SERVER_PORT: '81', QUERY_STRING: 'x'.repeat(200) },
      { REQUEST_METHOD: 'GET', SERVER_PORT: '81', QUERY_STRING: 'x'.repeat(199) + 'y' },
    ];
    for (const vars of sequence) {
      const h = head(new UwsgiRequestParser().push(encodePacket({ vars })));
      assert.deepEqual({ ...h.vars.assignTo({}) }, vars);
    }
  });

  it('short values that repeat from request to request share one string: environs kept alive cost less', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    // What nginx sends for one request, give or take: 24 short values that repeat on every request.
    const vars: Record<string, string> = {};
    for (let i = 0; i < 24; i++) vars[`HTTP_X_HEADER_${i}`] = `value-number-${i}-of-the-request`;
    const packet = encodePacket({ vars });
    const heapPerEnviron = (build: (h: UwsgiRequestHead) => object): number => {
      const kept: object[] = [];
      gc();
      const before = getHeapStatistics().used_heap_size;
      // A fresh copy of the packet each time, as each request arrives in its own buffer.
      for (let i = 0; i < 5000; i++) kept.push(build(head(new UwsgiRequestParser().push(Buffer.from(packet)))));
      gc();
      const grown = getHeapStatistics().used_heap_size - before;
      assert.equal(kept.length, 5000);
      return grown / kept.length;
    };
    const shared = heapPerEnviron((h) => h.vars.assignTo({}));
    const copied = heapPerEnviron((h) => h.vars.toEnviron());
    // 24 values of about 30 characters: a string each is about 48 bytes, 1.1 KB per environ.
    assert.ok(copied - shared > 800, `assignTo ${shared.toFixed(0)} B vs toEnviron ${copied.toFixed(0)} B per environ`);
  });

  it('a __proto__ var is an own property and never the prototype of a plain-object target', () => {
    const raw = Buffer.from(encodeVars([['__proto__', 'evil'], ['REQUEST_METHOD', 'GET']]));
    const packet = Buffer.concat([Buffer.from([0, raw.length & 0xff, raw.length >> 8, 0]), raw]);
    const evil = head(new UwsgiRequestParser().push(packet));
    const target = evil.vars.assignTo({} as Record<string, unknown>);
    assert.equal(Object.getPrototypeOf(target), Object.prototype);
    assert.equal(Object.getOwnPropertyDescriptor(target, '__proto__')?.value, 'evil');
    assert.equal(target.REQUEST_METHOD, 'GET');
  });
});

describe('UwsgiRequestParser', () => {
  it('chunked body when HTTP_TRANSFER_ENCODING is chunked and CONTENT_LENGTH is absent or empty', () => {
    const cases: Record<string, string>[] = [{ HTTP_TRANSFER_ENCODING: 'chunked' }, { CONTENT_LENGTH: '', HTTP_TRANSFER_ENCODING: 'gzip, Chunked' }];
    for (const vars of cases) {
      const h = head(new UwsgiRequestParser().push(encodePacket({ vars })));
      assert.equal(h.chunked, true);
      assert.equal(h.contentLength, 0);
    }
    assert.equal(head(new UwsgiRequestParser().push(encodePacket({ vars: { HTTP_TRANSFER_ENCODING: 'chunkedx' } }))).chunked, false);
  });

  it('a head split at every position parses the same, and body bytes in the last chunk are kept as rest', () => {
    const packet = Buffer.concat([encodePacket({ vars: { CONTENT_LENGTH: '3', A: 'b' } }), Buffer.from('xyz')]);
    for (let cut = 1; cut < packet.length; cut++) {
      const p = new UwsgiRequestParser();
      const first = p.push(packet.subarray(0, cut));
      const h = head(first ?? p.push(packet.subarray(cut)));
      assert.deepEqual(h.vars.pairs(), [
        ['CONTENT_LENGTH', '3'],
        ['A', 'b'],
      ]);
      const varsEnd = packet.length - 3;
      assert.equal(h.rest.toString(), first === null ? 'xyz' : 'xyz'.slice(0, cut - varsEnd));
    }
  });

  it('a block larger than bufferSize fails at once with uWSGI\'s text', () => {
    const p = new UwsgiRequestParser();
    const e = failure(p.push(Buffer.from([0, 0x00, 0x20, 0])));
    assert.equal(e.code, 'TSGI_ERR_UWSGI_BLOCK_SIZE');
    assert.equal(e.logText, 'invalid request block size: 8192 (max 4096)...skip');
    // garbage from the reference run: de be ef 00 -> datasize 61374
    assert.equal(failure(new UwsgiRequestParser().push(Buffer.from('debeef00', 'hex'))).logText, 'invalid request block size: 61374 (max 4096)...skip');
    assert.equal(head(new UwsgiRequestParser({ bufferSize: 65535 }).push(encodePacket({ vars: { A: 'x'.repeat(8000) } }))).datasize, 8005);
    // errors are sticky
    assert.equal(p.push(Buffer.from('x')), e);
  });

  it('empty key, overrun and too many vars fail with uWSGI\'s texts', () => {
    const nullKey = Buffer.concat([Buffer.from([0, 6, 0, 0]), Buffer.from('000001000000', 'hex')]);
    assert.equal(failure(new UwsgiRequestParser().push(nullKey)).logText, 'uwsgi key cannot be null. skip this var.');
    const overrun = Buffer.from('00080000f401414243444546', 'hex');
    const e = failure(new UwsgiRequestParser().push(overrun));
    assert.equal(e.code, 'TSGI_ERR_UWSGI_VAR_OVERRUN');
    assert.equal(e.logText, 'invalid uwsgi request (current strsize: 500). skip.');
    const many = encodePacket({ vars: Array.from({ length: 65 }, (_, i) => [`K${i}`, 'v'] as [string, string]) });
    assert.equal(failure(new UwsgiRequestParser().push(many)).code, 'TSGI_ERR_UWSGI_MAX_VARS');
    assert.equal(head(new UwsgiRequestParser({ maxVars: 65 }).push(many)).vars.length, 65);
  });

  it('CONTENT_LENGTH must be a non-negative integer and within limitPost', () => {
    for (const cl of ['-1', '1.5', ' 1', 'abc', '99999999999999999']) {
      const e = failure(new UwsgiRequestParser().push(encodePacket({ vars: { CONTENT_LENGTH: cl } })));
      assert.equal(e.code, 'TSGI_ERR_UWSGI_CONTENT_LENGTH', cl);
    }
    const e = failure(new UwsgiRequestParser({ limitPost: 10 }).push(encodePacket({ vars: { CONTENT_LENGTH: '11' } })));
    assert.equal(e.code, 'TSGI_ERR_UWSGI_LIMIT_POST');
    assert.equal(e.logText, 'Invalid (too big) CONTENT_LENGTH. skip.');
    assert.equal(head(new UwsgiRequestParser({ limitPost: 10 }).push(encodePacket({ vars: { CONTENT_LENGTH: '10' } }))).contentLength, 10);
    assert.equal(head(new UwsgiRequestParser().push(encodePacket({ vars: { CONTENT_LENGTH: '' } }))).contentLength, 0);
  });

  it('EOF inside the header or the vars is an error; EOF before any byte or after the head is not', () => {
    const p1 = new UwsgiRequestParser();
    assert.equal(p1.push(Buffer.from([0, 10])), null);
    assert.equal(p1.end()?.code, 'TSGI_ERR_UWSGI_EOF_HEADER');
    const p2 = new UwsgiRequestParser();
    assert.equal(p2.push(Buffer.from([0, 10, 0, 0, 1])), null);
    assert.equal(p2.end()?.code, 'TSGI_ERR_UWSGI_EOF_VARS');
    assert.equal(new UwsgiRequestParser().end(), null);
    const p3 = new UwsgiRequestParser();
    head(p3.push(encodePacket({ vars: { A: 'b' } })));
    assert.equal(p3.end(), null);
    assert.equal(failure(p3.push(Buffer.from('more'))).code, 'TSGI_ERR_UWSGI_PARSER_FINISHED');
  });

  it('ping and signal packets (no vars) parse to empty vars', () => {
    const h = head(new UwsgiRequestParser().push(Buffer.from([110, 0, 0, 17])));
    assert.deepEqual([h.modifier1, h.modifier2, h.datasize, h.vars.length], [110, 17, 0, 0]);
  });

  it('push() returns errors for bad arguments instead of throwing; bad options throw at construction', () => {
    assert.equal(failure(new UwsgiRequestParser().push('x' as unknown as Buffer)).code, 'TSGI_ERR_UWSGI_INVALID_ARGUMENT');
    assert.throws(() => new UwsgiRequestParser({ bufferSize: 65536 }), { code: 'TSGI_ERR_UWSGI_INVALID_ARGUMENT' });
    assert.throws(() => new UwsgiRequestParser({ maxVars: 0 }), { code: 'TSGI_ERR_UWSGI_INVALID_ARGUMENT' });
  });

  it('UwsgiVars: value bytes, has, iteration, index checks', () => {
    const h = head(new UwsgiRequestParser().push(encodePacket({ vars: encodeVars([['K', Buffer.from([0, 255])], ['E', '']]) })));
    assert.deepEqual([...h.vars.valueBytes(0)], [0, 255]);
    assert.equal(h.vars.has('E'), true);
    assert.equal(h.vars.get('E'), '');
    assert.deepEqual([...h.vars], [
      ['K', '\u0000\u00ff'],
      ['E', ''],
    ]);
    assert.throws(() => h.vars.key(2), RangeError);
  });
});
