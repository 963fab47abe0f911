import { UwsgiProtocolError } from './errors.js';
import { asBuffer, isLatin1, latin1Write } from './latin1.js';
import { type Environ, type VarPair, UwsgiVars, walkError, walkVars } from './vars.js';

/** modifier1 values tsgi handles (uWSGI's numbering). */
export const MODIFIER1_WSGI = 0;
/** WSGI with SCRIPT_NAME stripped from PATH_INFO (uWSGI's UWSGI_MODIFIER_MANAGE_PATH_INFO). */
export const MODIFIER1_WSGI_STRIP_SCRIPT_NAME = 30;
export const MODIFIER1_PING = 100;
export const MODIFIER1_SIGNAL = 110;
/** The generic response packet (signal replies use it: modifier2 = 1 delivered, 0 rejected). */
export const MODIFIER1_RESPONSE = 255;

/** Largest vars block a packet can describe (datasize is a u16). */
export const MAX_DATASIZE = 65535;

/** The 4-byte reply to a delivered signal: `{255, 0, 0, 1}` (modifier1 255, datasize 0, modifier2 1). */
export const SIGNAL_DELIVERED: Buffer = Buffer.from([255, 0, 0, 1]);
/** The 4-byte reply to a rejected signal (uWSGI: the master's signal queue was full). */
export const SIGNAL_REJECTED: Buffer = Buffer.from([255, 0, 0, 0]);

/** A string is taken as latin1 (one byte per char, 0-255); anything else must be given as bytes. */
export type VarValue = string | Uint8Array;
export type VarsInput = Record<string, VarValue> | Iterable<readonly [string | Uint8Array, VarValue]>;

function nonLatin1(what: string): UwsgiProtocolError {
  return new UwsgiProtocolError(
    'TSGI_ERR_UWSGI_NON_LATIN1',
    `${what} contains characters above U+00FF; uwsgi vars are bytes and strings are sent as latin1: pass Buffer.from(value, 'utf8') to send UTF-8`,
  );
}

/** Byte length of a key or value; strings are checked for non-latin1 chars when written. */
function byteLen(value: string | Uint8Array, what: string): number {
  if (typeof value === 'string') return value.length;
  if (value instanceof Uint8Array) return value.byteLength;
  throw new UwsgiProtocolError('TSGI_ERR_UWSGI_INVALID_ARGUMENT', `${what} must be a string or a Uint8Array, got ${value === null ? 'null' : typeof value}`);
}

function toEntries(vars: VarsInput): ArrayLike<readonly [string | Uint8Array, VarValue]> {
  if (vars === null || typeof vars !== 'object') {
    throw new UwsgiProtocolError('TSGI_ERR_UWSGI_INVALID_ARGUMENT', 'vars must be an object or an iterable of [key, value] pairs');
  }
  if (Array.isArray(vars)) return vars;
  if (typeof (vars as Iterable<unknown>)[Symbol.iterator] === 'function') return Array.from(vars as Iterable<readonly [string, VarValue]>);
  return Object.entries(vars as Record<string, VarValue>);
}

function measure(entries: ArrayLike<readonly [string | Uint8Array, VarValue]>): number {
  let size = 0;
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i];
    if (!entry || typeof entry !== 'object') {
      throw new UwsgiProtocolError('TSGI_ERR_UWSGI_INVALID_ARGUMENT', `vars entry ${i} is not a [key, value] pair`);
    }
    const klen = byteLen(entry[0], `var key #${i}`);
    const vlen = byteLen(entry[1], `var #${i}`);
    if (klen === 0) {
      throw new UwsgiProtocolError('TSGI_ERR_UWSGI_NULL_KEY', `var #${i} has an empty key; uwsgi keys are never empty`, {
        logText: 'uwsgi key cannot be null. skip this var.',
      });
    }
    if (klen > MAX_DATASIZE || vlen > MAX_DATASIZE) {
      throw new UwsgiProtocolError('TSGI_ERR_UWSGI_VALUE_TOO_BIG', `var #${i} is ${Math.max(klen, vlen)} bytes; a uwsgi key or value holds at most 65535 bytes`);
    }
    size += 4 + klen + vlen;
  }
  return size;
}

function writePart(buf: Buffer, value: string | Uint8Array, offset: number, len: number, what: number): number {
  buf[offset] = len & 0xff;
  buf[offset + 1] = len >>> 8;
  offset += 2;
  if (typeof value !== 'string') buf.set(value, offset);
  else if (len < 64) {
    // short strings: a JS loop beats a call into C++ per string, and checks for non-latin1 chars on the way
    for (let i = 0; i < len; i++) {
      const c = value.charCodeAt(i);
      if (c > 0xff) throw nonLatin1(`var #${what}`);
      buf[offset + i] = c;
    }
  } else {
    if (!isLatin1(value)) throw nonLatin1(`var #${what}`);
    latin1Write(buf, value, offset);
  }
  return offset + len;
}

function writeVars(buf: Buffer, entries: ArrayLike<readonly [string | Uint8Array, VarValue]>, offset: number): void {
  for (let i = 0; i < entries.length; i++) {
    const [k, v] = entries[i];
    offset = writePart(buf, k, offset, typeof k === 'string' ? k.length : k.byteLength, i);
    offset = writePart(buf, v, offset, typeof v === 'string' ? v.length : v.byteLength, i);
  }
}

/**
 * Encodes vars as a uwsgi vars block (no header). Order is kept and duplicate keys (given as pairs) are kept.
 * Strings are written as latin1; a string with a char above U+00FF is rejected (TSGI_ERR_UWSGI_NON_LATIN1): give
 * such values as bytes, e.g. `Buffer.from(value, 'utf8')`.
 */
export function encodeVars(vars: VarsInput): Buffer {
  const entries = toEntries(vars);
  const buf = Buffer.allocUnsafe(measure(entries));
  writeVars(buf, entries, 0);
  return buf;
}

/** The 4-byte packet header. `datasize` is the vars block size only, never the body. */
export function encodeHeader(modifier1: number, datasize: number, modifier2 = 0): Buffer {
  checkByte(modifier1, 'modifier1');
  checkByte(modifier2, 'modifier2');
  if (!Number.isInteger(datasize) || datasize < 0 || datasize > MAX_DATASIZE) {
    throw new UwsgiProtocolError('TSGI_ERR_UWSGI_PACKET_TOO_BIG', `datasize ${datasize} does not fit the u16 header field (0..65535)`, {
      logText: `uwsgi request is too big: ${datasize}`,
    });
  }
  return Buffer.from([modifier1, datasize & 0xff, datasize >>> 8, modifier2]);
}

function checkByte(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 255) {
    throw new UwsgiProtocolError('TSGI_ERR_UWSGI_INVALID_ARGUMENT', `${what} must be an integer 0..255, got ${String(value)}`);
  }
}

export interface EncodePacketOptions {
  modifier1?: number;
  modifier2?: number;
  /** Vars to encode, or an already encoded vars block. */
  vars?: VarsInput | Uint8Array;
}

/** Header + vars block in one Buffer. Throws TSGI_ERR_UWSGI_PACKET_TOO_BIG (nginx: `uwsgi request is too big: N`) over 65535 bytes. */
export function encodePacket({ modifier1 = 0, modifier2 = 0, vars = [] }: EncodePacketOptions = {}): Buffer {
  checkByte(modifier1, 'modifier1');
  checkByte(modifier2, 'modifier2');
  let buf: Buffer;
  let size: number;
  let entries: ArrayLike<readonly [string | Uint8Array, VarValue]> | null = null;
  if (vars instanceof Uint8Array) {
    size = vars.byteLength;
  } else {
    entries = toEntries(vars);
    size = measure(entries);
  }
  if (size > MAX_DATASIZE) {
    throw new UwsgiProtocolError('TSGI_ERR_UWSGI_PACKET_TOO_BIG', `the vars block is ${size} bytes; a uwsgi packet carries at most 65535: send fewer or shorter vars (large data belongs in the body)`, {
      logText: `uwsgi request is too big: ${size}`,
    });
  }
  buf = Buffer.allocUnsafe(4 + size);
  buf[0] = modifier1;
  buf[1] = size & 0xff;
  buf[2] = size >>> 8;
  buf[3] = modifier2;
  if (entries === null) buf.set(vars as Uint8Array, 4);
  else writeVars(buf, entries, 4);
  return buf;
}

/** The packet `uwsgi --signal addr,num` sends: modifier1 110, modifier2 = num, no vars. */
export function encodeSignal(num: number): Buffer {
  if (!Number.isInteger(num) || num < 0 || num > 255) {
    throw new UwsgiProtocolError('TSGI_ERR_UWSGI_INVALID_SIGNAL', `signal number must be an integer 0..255, got ${String(num)}`, {
      logText: 'invalid signal number',
    });
  }
  return Buffer.from([MODIFIER1_SIGNAL, 0, 0, num]);
}

/** The ping packet `uwsgi --ping` sends: modifier1 100, modifier2 0, no vars. */
export function encodePing(): Buffer {
  return Buffer.from([MODIFIER1_PING, 0, 0, 0]);
}

/**
 * The pong a uWSGI node answers to a ping: modifier1 100, modifier2 1, datasize = length of the node's warning
 * message followed by that message (empty when all is well).
 */
export function encodePong(warning: string | Uint8Array = ''): Buffer {
  const bytes = typeof warning === 'string' ? Buffer.from(warning, 'latin1') : asBuffer(warning);
  return Buffer.concat([encodeHeader(MODIFIER1_PING, bytes.byteLength, 1), bytes]);
}

export interface DecodeVarsOptions {
  /** Fail with TSGI_ERR_UWSGI_MAX_VARS beyond this many vars (default: no limit). */
  maxVars?: number;
}

/** Decodes a vars block into pairs in wire order (duplicates kept). Throws a UwsgiProtocolError on malformed input. */
export function decodeVars(bytes: Uint8Array, options: DecodeVarsOptions = {}): VarPair[] {
  return decodeVarsView(bytes, options).pairs();
}

/** Like decodeVars, but returns the lazy UwsgiVars view (no strings made until read). */
export function decodeVarsView(bytes: Uint8Array, options: DecodeVarsOptions = {}): UwsgiVars {
  const buf = asBuffer(bytes);
  const maxVars = options.maxVars ?? Number.MAX_SAFE_INTEGER;
  const offsets: number[] = [];
  const n = walkVars(buf, 0, buf.length, maxVars, offsets);
  if (n < 0) throw walkError(n, buf.length, maxVars);
  return new UwsgiVars(buf, 0, buf.length, offsets, n);
}

/**
 * Pairs to an environ object (null prototype). For duplicate keys the LAST value wins, as in uWSGI, which fills the
 * WSGI environ dict in wire order.
 */
export function varsToEnviron(pairs: Iterable<readonly [string, string]>): Environ {
  const env: Environ = Object.create(null);
  for (const [k, v] of pairs) env[k] = v;
  return env;
}
