import { UwsgiProtocolError } from './errors.js';
import { latin1Slice } from './latin1.js';

/** A [key, value] pair as it travels on the wire; both strings are latin1 (one char per byte). */
export type VarPair = [key: string, value: string];

/** An environ built from uwsgi vars: null prototype, so a `__proto__` var is an ordinary key. */
export type Environ = Record<string, string>;

// Result codes of walkVars (negative) besides a var count (>= 0).
export const WALK_NULL_KEY = -1;
export const WALK_OVERRUN = -2;
export const WALK_MAX_VARS = -3;

/** The length field that overran the block in the last failed walk (what uWSGI prints as `current strsize`). */
export let walkStrsize = 0;
/** Index of the last CONTENT_LENGTH / HTTP_TRANSFER_ENCODING var seen by the last walk, or -1. */
export let walkContentLength = -1;
export let walkTransferEncoding = -1;

const CONTENT_LENGTH = 'CONTENT_LENGTH';
const HTTP_TRANSFER_ENCODING = 'HTTP_TRANSFER_ENCODING';

function keyIs(buf: Uint8Array, at: number, name: string): boolean {
  for (let j = 0; j < name.length; j++) if (buf[at + j] !== name.charCodeAt(j)) return false;
  return true;
}

/**
 * Validates the vars block buf[start, end) and records the offset of each var's key in `out` (the key length sits
 * in the 2 bytes before it, the value length right after it, so one offset locates both). Returns the number of
 * vars or a WALK_* code. It never reads outside [start, end). On the way it notes where CONTENT_LENGTH and
 * HTTP_TRANSFER_ENCODING are, so the parser needs no second pass.
 */
export function walkVars(buf: Uint8Array, start: number, end: number, maxVars: number, out: number[]): number {
  let p = start;
  let n = 0;
  let last = 0;
  walkContentLength = -1;
  walkTransferEncoding = -1;
  while (p < end) {
    if (p + 2 >= end) {
      // one or two trailing bytes cannot hold a key length plus a key: uWSGI reports the last length it had read
      walkStrsize = last;
      return WALK_OVERRUN;
    }
    const klen = buf[p] | (buf[p + 1] << 8);
    if (klen === 0) return WALK_NULL_KEY;
    p += 2;
    if (p + klen + 2 > end) {
      walkStrsize = klen;
      return WALK_OVERRUN;
    }
    const keyStart = p;
    p += klen;
    const vlen = buf[p] | (buf[p + 1] << 8);
    p += 2;
    if (p + vlen > end) {
      walkStrsize = vlen;
      return WALK_OVERRUN;
    }
    if (n === maxVars) return WALK_MAX_VARS;
    if (klen === 14) {
      if (keyIs(buf, keyStart, CONTENT_LENGTH)) walkContentLength = n;
    } else if (klen === 22 && keyIs(buf, keyStart, HTTP_TRANSFER_ENCODING)) walkTransferEncoding = n;
    out.push(keyStart);
    n++;
    last = vlen;
    p += vlen;
  }
  return n;
}

export function walkError(code: number, datasize: number, maxVars: number): UwsgiProtocolError {
  if (code === WALK_NULL_KEY) {
    return new UwsgiProtocolError('TSGI_ERR_UWSGI_NULL_KEY', 'uwsgi var with an empty key: the sender is not speaking the uwsgi protocol (keys are never empty); the connection must be closed', {
      logText: 'uwsgi key cannot be null. skip this var.',
    });
  }
  if (code === WALK_MAX_VARS) {
    return new UwsgiProtocolError('TSGI_ERR_UWSGI_MAX_VARS', `uwsgi request has more than ${maxVars} vars: raise maxVars (uWSGI --max-vars) if the sender is legitimate`, {
      logText: 'max vec size reached. skip this var.',
    });
  }
  return new UwsgiProtocolError('TSGI_ERR_UWSGI_VAR_OVERRUN', `uwsgi var length ${walkStrsize} overruns the ${datasize}-byte vars block: the packet is corrupt or not uwsgi`, {
    logText: `invalid uwsgi request (current strsize: ${walkStrsize}). skip.`,
  });
}

/** The key and the value last seen at each var index (see UwsgiVars.assignTo). */
const KEY_CACHE_SIZE = 64;
const keyCache: Array<string | undefined> = new Array<string | undefined>(KEY_CACHE_SIZE).fill(undefined);
const valueCache: Array<string | undefined> = new Array<string | undefined>(KEY_CACHE_SIZE).fill(undefined);
/** Longer values (a URI, a cookie) rarely repeat, and comparing them would cost more than it saves. */
const MAX_CACHED_VALUE = 64;

function sameLatin1(buf: Buffer, start: number, end: number, text: string): boolean {
  if (end - start !== text.length) return false;
  for (let j = 0; j < text.length; j++) if (buf[start + j] !== text.charCodeAt(j)) return false;
  return true;
}

/**
 * The vars of one request, kept as offsets into the bytes they arrived in: parsing costs no string allocation, and
 * strings are made only for what is read. Duplicate keys stay in wire order; `get()` and `toEnviron()` take the last
 * one, as uWSGI's environ does (it fills a Python dict in wire order, so later values overwrite earlier ones).
 */
export class UwsgiVars implements Iterable<VarPair> {
  /** The bytes holding the block (may be larger than the block: it is usually the socket chunk it arrived in). */
  readonly buffer: Buffer;
  /** Offset in `buffer` where the block starts and ends. */
  readonly start: number;
  readonly end: number;
  /** Number of vars. */
  readonly length: number;
  readonly #keys: number[];

  constructor(buffer: Buffer, start: number, end: number, keyOffsets: number[], length: number) {
    this.buffer = buffer;
    this.start = start;
    this.end = end;
    this.#keys = keyOffsets;
    this.length = length;
  }

  /** The size of the vars block in bytes (the packet's datasize). */
  get byteLength(): number {
    return this.end - this.start;
  }

  #keyEnd(i: number): number {
    const ks = this.#keys[i];
    return ks + (this.buffer[ks - 2] | (this.buffer[ks - 1] << 8));
  }

  #valueStart(i: number): number {
    return this.#keyEnd(i) + 2;
  }

  #valueEnd(i: number): number {
    const ke = this.#keyEnd(i);
    return ke + 2 + (this.buffer[ke] | (this.buffer[ke + 1] << 8));
  }

  key(i: number): string {
    this.#check(i);
    return latin1Slice(this.buffer, this.#keys[i], this.#keyEnd(i));
  }

  value(i: number): string {
    this.#check(i);
    return latin1Slice(this.buffer, this.#valueStart(i), this.#valueEnd(i));
  }

  /** The value's bytes (a view, not a copy: copy it if you keep it beyond the request). */
  valueBytes(i: number): Buffer {
    this.#check(i);
    return this.buffer.subarray(this.#valueStart(i), this.#valueEnd(i));
  }

  /** Index of the last var named `name`, or -1. Compares bytes, so it makes no strings. */
  lastIndexOf(name: string): number {
    const buf = this.buffer;
    const len = name.length;
    outer: for (let i = this.length - 1; i >= 0; i--) {
      const ks = this.#keys[i];
      if (this.#keyEnd(i) - ks !== len) continue;
      for (let j = 0; j < len; j++) if (buf[ks + j] !== name.charCodeAt(j)) continue outer;
      return i;
    }
    return -1;
  }

  /** The last value for `name`, or undefined. */
  get(name: string): string | undefined {
    const i = this.lastIndexOf(name);
    return i < 0 ? undefined : this.value(i);
  }

  has(name: string): boolean {
    return this.lastIndexOf(name) >= 0;
  }

  /** All vars in wire order, duplicates included. */
  pairs(): VarPair[] {
    const out: VarPair[] = new Array(this.length);
    for (let i = 0; i < this.length; i++) out[i] = [this.key(i), this.value(i)];
    return out;
  }

  /** A null-prototype object; for duplicate keys the last value wins (uWSGI's environ). */
  toEnviron(): Environ {
    const env: Environ = Object.create(null);
    for (let i = 0; i < this.length; i++) env[this.key(i)] = this.value(i);
    return env;
  }

  /**
   * Writes every var into `target` (the last value wins for duplicate keys) and returns it. Key
   * strings are interned: a peer such as nginx sends the same keys in the same order on every
   * request, so each key is compared in place with the one seen at its index last time and that
   * string reused, with no allocation. Short values are reused the same way: most of them (the
   * method, the protocol, the server name and port, the peer address) repeat from one request to the
   * next, and each string kept alive by a waiting request is memory. A `__proto__` var becomes an own
   * property, never a prototype.
   */
  assignTo<T extends Record<string, unknown>>(target: T): T {
    const buf = this.buffer;
    for (let i = 0; i < this.length; i++) {
      const ks = this.#keys[i];
      const ke = this.#keyEnd(i);
      let key = i < KEY_CACHE_SIZE ? keyCache[i] : undefined;
      if (key === undefined || !sameLatin1(buf, ks, ke, key)) {
        key = latin1Slice(buf, ks, ke);
        if (i < KEY_CACHE_SIZE) keyCache[i] = key;
      }
      const vs = ke + 2;
      const ve = vs + (buf[ke] | (buf[ke + 1] << 8));
      let value: string;
      if (i >= KEY_CACHE_SIZE || ve - vs > MAX_CACHED_VALUE) value = latin1Slice(buf, vs, ve);
      else {
        const seen = valueCache[i];
        if (seen !== undefined && sameLatin1(buf, vs, ve, seen)) value = seen;
        else value = valueCache[i] = latin1Slice(buf, vs, ve);
      }
      if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
      else (target as Record<string, unknown>)[key] = value;
    }
    return target;
  }

  *[Symbol.iterator](): Iterator<VarPair> {
    for (let i = 0; i < this.length; i++) yield [this.key(i), this.value(i)];
  }

  #check(i: number): void {
    if (!(i >= 0 && i < this.length && Number.isInteger(i))) throw new RangeError(`var index ${i} out of range 0..${this.length - 1}`);
  }
}
