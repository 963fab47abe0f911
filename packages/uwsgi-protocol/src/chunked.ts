import { UwsgiProtocolError } from './errors.js';

const S_SIZE = 0;
const S_SIZE_EXT = 1;
const S_SIZE_LF = 2;
const S_DATA = 3;
const S_DATA_CR = 4;
const S_DATA_LF = 5;
const S_TRAILER_START = 6;
const S_TRAILER_LINE = 7;
const S_FINAL_LF = 8;
const S_DONE = 9;
const S_FAILED = 10;

/** Longest chunk-size line (extensions included) or trailer line accepted. */
const MAX_LINE = 4096;
/** 13 hex digits = 2^52, below Number.MAX_SAFE_INTEGER. */
const MAX_SIZE_DIGITS = 13;

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/**
 * Incremental decoder for HTTP/1.1 chunked framing (RFC 9112 §7.1), used for request bodies sent with
 * `HTTP_TRANSFER_ENCODING: chunked` and for chunked upstream responses. A bare LF is accepted where CRLF is due,
 * as nginx and uWSGI accept it. Trailers are read and dropped.
 */
export class ChunkedDecoder {
  #state = S_SIZE;
  #size = 0;
  #digits = 0;
  #line = 0;
  #total = 0;
  readonly #limit: number;
  readonly #onData: (data: Buffer) => void;
  readonly #what: string;
  error: UwsgiProtocolError | null = null;

  /** `limit`: fail once the decoded size exceeds it (0 = unlimited). `what` names the stream in error messages. */
  constructor(onData: (data: Buffer) => void, limit = 0, what = 'chunked body') {
    this.#onData = onData;
    this.#limit = limit;
    this.#what = what;
  }

  get finished(): boolean {
    return this.#state === S_DONE;
  }

  /** Decoded bytes so far. */
  get total(): number {
    return this.#total;
  }

  /** Consumes bytes from `chunk`; returns how many it used (less than the length only once finished), or -1 on error. */
  write(chunk: Buffer): number {
    const len = chunk.length;
    let i = 0;
    while (i < len) {
      switch (this.#state) {
        case S_DATA: {
          const take = Math.min(this.#size, len - i);
          this.#size -= take;
          this.#onData(chunk.subarray(i, i + take));
          i += take;
          if (this.#size === 0) this.#state = S_DATA_CR;
          continue;
        }
        case S_SIZE: {
          const c = chunk[i++];
          const v = hexValue(c);
          if (v >= 0) {
            if (++this.#digits > MAX_SIZE_DIGITS) return this.#fail('chunk size has too many digits');
            this.#size = this.#size * 16 + v;
          } else if (this.#digits === 0) {
            return this.#fail('chunk size is not a hex number');
          } else if (c === 0x3b || c === 0x20 || c === 0x09) {
            this.#state = S_SIZE_EXT;
            this.#line = 0;
          } else if (c === 0x0d) {
            this.#state = S_SIZE_LF;
          } else if (c === 0x0a) {
            this.#endSizeLine();
          } else {
            return this.#fail('chunk size is not a hex number');
          }
          continue;
        }
        case S_SIZE_EXT: {
          const c = chunk[i++];
          if (c === 0x0a) this.#endSizeLine();
          else if (c === 0x0d) this.#state = S_SIZE_LF;
          else if (++this.#line > MAX_LINE) return this.#fail('chunk extension too long');
          continue;
        }
        case S_SIZE_LF:
          if (chunk[i++] !== 0x0a) return this.#fail('CR not followed by LF after chunk size');
          this.#endSizeLine();
          if (this.error) return -1;
          continue;
        case S_DATA_CR: {
          const c = chunk[i++];
          if (c === 0x0d) this.#state = S_DATA_LF;
          else if (c === 0x0a) this.#nextChunk();
          else return this.#fail('chunk data not followed by CRLF');
          continue;
        }
        case S_DATA_LF:
          if (chunk[i++] !== 0x0a) return this.#fail('chunk data not followed by CRLF');
          this.#nextChunk();
          continue;
        case S_TRAILER_START: {
          const c = chunk[i++];
          if (c === 0x0d) this.#state = S_FINAL_LF;
          else if (c === 0x0a) this.#state = S_DONE;
          else {
            this.#state = S_TRAILER_LINE;
            this.#line = 1;
          }
          continue;
        }
        case S_TRAILER_LINE: {
          const c = chunk[i++];
          if (c === 0x0a) this.#state = S_TRAILER_START;
          else if (++this.#line > MAX_LINE) return this.#fail('chunked trailer line too long');
          continue;
        }
        case S_FINAL_LF:
          if (chunk[i++] !== 0x0a) return this.#fail('CR not followed by LF after the last chunk');
          this.#state = S_DONE;
          continue;
        case S_DONE:
          return i;
        default:
          return -1;
      }
    }
    if (this.error) return -1;
    return i;
  }

  #endSizeLine(): void {
    if (this.#size === 0) {
      this.#state = S_TRAILER_START;
      return;
    }
    this.#total += this.#size;
    if (this.#limit > 0 && this.#total > this.#limit) {
      this.#fail(`exceeds the limit of ${this.#limit} bytes`, 'TSGI_ERR_UWSGI_LIMIT_POST');
      return;
    }
    this.#state = S_DATA;
  }

  #nextChunk(): void {
    this.#state = S_SIZE;
    this.#size = 0;
    this.#digits = 0;
  }

  #fail(reason: string, code: 'TSGI_ERR_UWSGI_CHUNKED' | 'TSGI_ERR_UWSGI_LIMIT_POST' = 'TSGI_ERR_UWSGI_CHUNKED'): -1 {
    this.#state = S_FAILED;
    this.error = new UwsgiProtocolError(code, `invalid ${this.#what}: ${reason}`, {
      logText: code === 'TSGI_ERR_UWSGI_LIMIT_POST' ? 'Invalid (too big) CONTENT_LENGTH. skip.' : '',
    });
    return -1;
  }
}
