import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MODIFIER1_PING,
  MODIFIER1_SIGNAL,
  MODIFIER1_WSGI,
  MODIFIER1_WSGI_STRIP_SCRIPT_NAME,
  SIGNAL_DELIVERED,
  SIGNAL_REJECTED,
  decodeVars,
  encodeHeader,
  encodePacket,
  encodePing,
  encodePong,
  encodeSignal,
  encodeVars,
  varsToEnviron,
} from './index.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('codec', () => {
  it('encodes vars as u16le key_len, key, u16le val_len, val (fixed vector)', () => {
    assert.equal(hex(encodeVars({ A: 'bc', D: '' })), '0100' + '41' + '0200' + '6263' + '0100' + '44' + '0000');
  });

  it('keeps order and duplicates given as pairs; decodeVars returns them in wire order', () => {
    const pairs: [string, string][] = [
      ['X', '1'],
      ['Y', '2'],
      ['X', '3'],
    ];
    assert.deepEqual(decodeVars(encodeVars(pairs)), pairs);
    assert.deepEqual(decodeVars(encodeVars(new Map(pairs))), [
      ['X', '3'],
      ['Y', '2'],
    ]);
  });

  it('varsToEnviron keeps the LAST duplicate and treats __proto__ as a plain key', () => {
    const env = varsToEnviron([
      ['X', '1'],
      ['__proto__', 'p'],
      ['X', '3'],
    ]);
    assert.equal(env.X, '3');
    assert.equal(Object.getPrototypeOf(env), null);
    assert.equal(env['__proto__'], 'p');
  });

  it('strings are latin1 byte for byte; bytes are sent as given; non-latin1 strings are refused', () => {
    const block = encodeVars([
      ['K', '\u00e9\u00ff'],
      ['B', Buffer.from('\u20ac', 'utf8')],
    ]);
    assert.equal(hex(block), '01004b0200e9ff' + '0100420300e282ac');
    assert.deepEqual(decodeVars(block), [
      ['K', '\u00e9\u00ff'],
      ['B', '\u00e2\u0082\u00ac'],
    ]);
    assert.throws(() => encodeVars({ K: '\u20ac' }), { code: 'TSGI_ERR_UWSGI_NON_LATIN1' });
  });

  it('refuses empty keys and parts over 65535 bytes', () => {
    assert.throws(() => encodeVars({ '': 'x' }), { code: 'TSGI_ERR_UWSGI_NULL_KEY', logText: 'uwsgi key cannot be null. skip this var.' });
    assert.throws(() => encodeVars({ K: 'x'.repeat(65536) }), { code: 'TSGI_ERR_UWSGI_VALUE_TOO_BIG' });
    assert.equal(encodeVars({ K: 'x'.repeat(65535) }).length, 5 + 65535);
    assert.throws(() => encodeVars({ K: 5 as unknown as string }), { code: 'TSGI_ERR_UWSGI_INVALID_ARGUMENT' });
  });

  it('encodeHeader: modifier1, datasize little-endian, modifier2', () => {
    assert.equal(hex(encodeHeader(0, 0x01a4, 0)), '00a40100');
    assert.equal(hex(encodeHeader(30, 65535, 7)), '1effff07');
    assert.throws(() => encodeHeader(0, 65536, 0), { code: 'TSGI_ERR_UWSGI_PACKET_TOO_BIG', logText: 'uwsgi request is too big: 65536' });
    assert.throws(() => encodeHeader(256, 0, 0), { code: 'TSGI_ERR_UWSGI_INVALID_ARGUMENT' });
  });

  it('encodePacket = header + vars; over 65535 bytes of vars throws with nginx\'s text', () => {
    const packet = encodePacket({ modifier1: 30, modifier2: 2, vars: { A: 'b' } });
    assert.equal(hex(packet), '1e0600020100410100' + '62');
    assert.equal(hex(encodePacket({ vars: encodeVars({ A: 'b' }) })), '000600000100410100' + '62');
    assert.equal(hex(encodePacket()), '00000000');
    const big = { A: 'x'.repeat(40000), B: 'y'.repeat(40000) };
    assert.throws(() => encodePacket({ vars: big }), (e: Error & { code: string; logText: string }) => {
      assert.equal(e.code, 'TSGI_ERR_UWSGI_PACKET_TOO_BIG');
      assert.equal(e.logText, `uwsgi request is too big: ${8 + 80002}`);
      return true;
    });
  });

  it('signal, ping and reply packets are byte-exact', () => {
    assert.equal(hex(encodeSignal(17)), '6e000011');
    assert.throws(() => encodeSignal(256), { code: 'TSGI_ERR_UWSGI_INVALID_SIGNAL', logText: 'invalid signal number' });
    assert.equal(hex(SIGNAL_DELIVERED), 'ff000001');
    assert.equal(hex(SIGNAL_REJECTED), 'ff000000');
    assert.equal(hex(encodePing()), '64000000');
    assert.equal(hex(encodePong()), '64000001');
    assert.equal(hex(encodePong('hi')), '640200016869');
    assert.deepEqual([MODIFIER1_WSGI, MODIFIER1_WSGI_STRIP_SCRIPT_NAME, MODIFIER1_PING, MODIFIER1_SIGNAL], [0, 30, 100, 110]);
  });

  it('decodeVars throws coded errors on malformed blocks and honours maxVars', () => {
    assert.throws(() => decodeVars(Buffer.from('0000', 'hex')), { code: 'TSGI_ERR_UWSGI_VAR_OVERRUN' });
    assert.throws(() => decodeVars(Buffer.from('000001000000', 'hex')), { code: 'TSGI_ERR_UWSGI_NULL_KEY' });
    // the observed uWSGI case: key length 500 in an 8-byte block
    assert.throws(() => decodeVars(Buffer.from('f401414243444546', 'hex')), {
      code: 'TSGI_ERR_UWSGI_VAR_OVERRUN',
      logText: 'invalid uwsgi request (current strsize: 500). skip.',
    });
    assert.throws(() => decodeVars(encodeVars({ A: '1', B: '2' }), { maxVars: 1 }), { code: 'TSGI_ERR_UWSGI_MAX_VARS', logText: 'max vec size reached. skip this var.' });
    assert.deepEqual(decodeVars(new Uint8Array(0)), []);
  });
});
