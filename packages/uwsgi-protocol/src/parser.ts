import diagnostics_channel from 'node:diagnostics_channel';
import { UwsgiProtocolError } from './errors.js';
import { MAX_DATASIZE } from './codec.js';
import { UwsgiVars, walkContentLength, walkError, walkTransferEncoding, walkVars } from './vars.js';

export interface UwsgiRequestParserOptions {
  /** Largest vars block accepted, like uWSGI's --buffer-size (default 4096, at most 65535). */
  bufferSize?: number;
  /** Most vars accepted (default 64). */
  maxVars?: number;
  /** Largest CONTENT_LENGTH accepted, like uWSGI's --limit-post; 0 means unlimited (the default). */
  limitPost?: number;
}

/** What the parser yields once the header and the vars block are complete. */
export interface UwsgiRequestHead {
  modifier1: number;
  modifier2: number;
  /** Size of the vars block. */
  datasize: number;
  vars: UwsgiVars;
  /** CONTENT_LENGTH as a number (0 when absent or empty, as nginx sends it for GET). */
  contentLength: number;
  /** True when the body is chunked: HTTP_TRANSFER_ENCODING is `chunked` and CONTENT_LENGTH is absent or empty. */
  chunked: boolean;
  /** Bytes that arrived after the vars block: the start of the body ("arrived early"). */
  rest: Buffer;
}

/** `null`: more bytes are needed. */
export type UwsgiParseResult = UwsgiRequestHead | UwsgiProtocolError | null;

const EMPTY = Buffer.alloc(0);
const ST_HEADER = 0;
const ST_VARS = 1;
const ST_DONE = 2;
const ST_FAILED = 3;

const errorChannel = diagnostics_channel.channel('tsgi:uwsgi-protocol:parser:error');

export const DEFAULT_BUFFER_SIZE = 4096;
export const DEFAULT_MAX_VARS = 64;

function checkOption(value: number, name: string, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new UwsgiProtocolError('TSGI_ERR_UWSGI_INVALID_ARGUMENT', `${name} must be an integer ${min}..${max}, got ${String(value)}`);
  }
  return value;
}

/**
 * Streaming parser for one uwsgi request head (header + vars block). Feed it socket chunks with `push()`, split
 * anywhere; it returns `null` until the head is complete, then the head (once), or a UwsgiProtocolError value.
 * It never throws from `push()`/`end()`. When a whole packet arrives in one chunk the vars are indexed in place,
 * without copying. After the head, the connection's remaining bytes belong to the body (see createBodyStream).
 */
export class UwsgiRequestParser {
  readonly bufferSize: number;
  readonly maxVars: number;
  readonly limitPost: number;
  #state = ST_HEADER;
  #header: Buffer = EMPTY;
  #headerLen = 0;
  #block: Buffer = EMPTY;
  #blockLen = 0;
  #datasize = 0;
  #received = 0;
  #error: UwsgiProtocolError | null = null;

  constructor(options?: UwsgiRequestParserOptions) {
    if (options === undefined) {
      this.bufferSize = DEFAULT_BUFFER_SIZE;
      this.maxVars = DEFAULT_MAX_VARS;
      this.limitPost = 0;
      return;
    }
    const { bufferSize = DEFAULT_BUFFER_SIZE, maxVars = DEFAULT_MAX_VARS, limitPost = 0 } = options;
    this.bufferSize = checkOption(bufferSize, 'bufferSize', 1, MAX_DATASIZE);
    this.maxVars = checkOption(maxVars, 'maxVars', 1, 1 << 20);
    this.limitPost = checkOption(limitPost, 'limitPost', 0, Number.MAX_SAFE_INTEGER);
  }

  /** Bytes pushed so far (header and vars; what uWSGI logs as `{N vars in M bytes}` counts the vars block). */
  get received(): number {
    return this.#received;
  }

  get finished(): boolean {
    return this.#state === ST_DONE;
  }

  get error(): UwsgiProtocolError | null {
    return this.#error;
  }

  push(chunk: Buffer): UwsgiParseResult {
    if (this.#state === ST_FAILED) return this.#error;
    if (this.#state === ST_DONE) {
      return new UwsgiProtocolError('TSGI_ERR_UWSGI_PARSER_FINISHED', 'the request head is already parsed: give further bytes to the body stream');
    }
    if (!(chunk instanceof Uint8Array)) {
      return this.#fail(new UwsgiProtocolError('TSGI_ERR_UWSGI_INVALID_ARGUMENT', 'push() takes a Buffer'));
    }
    const len = chunk.length;
    if (len === 0) return null;
    this.#received += len;
    let offset = 0;
    if (this.#state === ST_HEADER) {
      if (this.#headerLen === 0 && len >= 4) {
        const datasize = chunk[1] | (chunk[2] << 8);
        // the common case: the whole head in the first chunk, indexed where it lies
        if (len >= 4 + datasize && datasize <= this.bufferSize) {
          return this.#complete(chunk[0], chunk[3], chunk, 4, 4 + datasize);
        }
      }
      if (this.#header === EMPTY) this.#header = Buffer.alloc(4);
      while (this.#headerLen < 4 && offset < len) this.#header[this.#headerLen++] = chunk[offset++];
      if (this.#headerLen < 4) return null;
      this.#datasize = this.#header[1] | (this.#header[2] << 8);
      if (this.#datasize > this.bufferSize) {
        return this.#fail(
          new UwsgiProtocolError('TSGI_ERR_UWSGI_BLOCK_SIZE', `uwsgi vars block of ${this.#datasize} bytes is larger than bufferSize ${this.bufferSize}: raise bufferSize (uWSGI --buffer-size, nginx sends up to 65535)`, {
            logText: `invalid request block size: ${this.#datasize} (max ${this.bufferSize})...skip`,
          }),
        );
      }
      this.#state = ST_VARS;
      if (len - offset >= this.#datasize) {
        return this.#complete(this.#header[0], this.#header[3], chunk, offset, offset + this.#datasize);
      }
      this.#block = Buffer.allocUnsafe(this.#datasize);
      this.#blockLen = 0;
    }
    const need = this.#datasize - this.#blockLen;
    const take = Math.min(need, len - offset);
    chunk.copy(this.#block, this.#blockLen, offset, offset + take);
    this.#blockLen += take;
    offset += take;
    if (this.#blockLen < this.#datasize) return null;
    const block = this.#block;
    this.#block = EMPTY;
    return this.#complete(this.#header[0], this.#header[3], block, 0, this.#datasize, chunk.subarray(offset));
  }

  /** The peer closed the connection: an error if a head was in progress, null if nothing had arrived or it was done. */
  end(): UwsgiProtocolError | null {
    if (this.#state === ST_FAILED) return this.#error;
    if (this.#state === ST_DONE || this.#received === 0) return null;
    if (this.#state === ST_HEADER) {
      return this.#fail(
        new UwsgiProtocolError('TSGI_ERR_UWSGI_EOF_HEADER', `connection closed after ${this.#headerLen} of the 4 header bytes`, {
          logText: 'uwsgi_proto_uwsgi_parser(): Connection reset by peer [proto/uwsgi.c line 40]',
        }),
      );
    }
    return this.#fail(
      new UwsgiProtocolError('TSGI_ERR_UWSGI_EOF_VARS', `connection closed after ${this.#blockLen} of the ${this.#datasize} vars bytes`, {
        logText: 'uwsgi_proto_uwsgi_parser(): Connection reset by peer [proto/uwsgi.c line 40]',
      }),
    );
  }

  #complete(modifier1: number, modifier2: number, buf: Buffer, start: number, end: number, rest?: Buffer): UwsgiParseResult {
    // a plain array: allocating a typed array costs more than the whole walk
    const offsets: number[] = [];
    const n = walkVars(buf, start, end, this.maxVars, offsets);
    if (n < 0) return this.#fail(walkError(n, end - start, this.maxVars));
    const vars = new UwsgiVars(buf, start, end, offsets, n);
    let contentLength = 0;
    let chunked = false;
    const cl = walkContentLength;
    if (cl >= 0 && vars.valueBytes(cl).length > 0) {
      const parsed = parseContentLength(vars.valueBytes(cl));
      if (parsed < 0) {
        return this.#fail(
          new UwsgiProtocolError('TSGI_ERR_UWSGI_CONTENT_LENGTH', `CONTENT_LENGTH ${JSON.stringify(vars.value(cl))} is not a non-negative integer`, {
            logText: 'Invalid CONTENT_LENGTH. skip.',
          }),
        );
      }
      if (this.limitPost > 0 && parsed > this.limitPost) {
        return this.#fail(
          new UwsgiProtocolError('TSGI_ERR_UWSGI_LIMIT_POST', `CONTENT_LENGTH ${parsed} exceeds limitPost ${this.limitPost} (uWSGI --limit-post)`, {
            logText: 'Invalid (too big) CONTENT_LENGTH. skip.',
          }),
        );
      }
      contentLength = parsed;
    } else {
      const te = walkTransferEncoding;
      chunked = te >= 0 && isChunked(vars.valueBytes(te));
    }
    this.#state = ST_DONE;
    return {
      modifier1,
      modifier2,
      datasize: end - start,
      vars,
      contentLength,
      chunked,
      rest: rest ?? (end < buf.length ? buf.subarray(end) : EMPTY),
    };
  }

  #fail(error: UwsgiProtocolError): UwsgiProtocolError {
    this.#state = ST_FAILED;
    this.#error = error;
    this.#block = EMPTY;
    if (errorChannel.hasSubscribers) errorChannel.publish({ error, received: this.#received });
    return error;
  }
}

/** Decimal digits only (no sign, no spaces), at most Number.MAX_SAFE_INTEGER; -1 otherwise. */
export function parseContentLength(bytes: Uint8Array): number {
  const len = bytes.length;
  if (len === 0 || len > 16) return -1;
  let value = 0;
  for (let i = 0; i < len; i++) {
    const d = bytes[i] - 0x30;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value <= Number.MAX_SAFE_INTEGER ? value : -1;
}

const CHUNKED = 'chunked';

/** True when the last transfer coding is `chunked` (case-insensitive), as in `gzip, chunked`. */
function isChunked(bytes: Uint8Array): boolean {
  let end = bytes.length;
  while (end > 0 && (bytes[end - 1] === 0x20 || bytes[end - 1] === 0x09)) end--;
  const start = end - CHUNKED.length;
  if (start < 0) return false;
  for (let i = 0; i < CHUNKED.length; i++) if ((bytes[start + i] | 0x20) !== CHUNKED.charCodeAt(i)) return false;
  if (start === 0) return true;
  let j = start - 1;
  while (j >= 0 && (bytes[j] === 0x20 || bytes[j] === 0x09)) j--;
  return j >= 0 && bytes[j] === 0x2c;
}
