import type { HeaderPair } from '../engine/response-sink.js';
import { NodeResponseError } from './errors.js';

const CRLF_CRLF = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');
const EMPTY = Buffer.alloc(0);
/** Framing is the engine's business (keep-alive, chunking, close): these never reach TSGI. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding']);

export interface ParsedHead {
  /** `200 OK`, as start_response takes it. */
  status: string;
  statusCode: number;
  headers: HeaderPair[];
}

type State = 'head' | 'raw' | 'size' | 'data' | 'data-end' | 'trailers' | 'done';

function parseFields(text: string): HeaderPair[] {
  const out: HeaderPair[] = [];
  if (text === '') return out;
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new NodeResponseError(`cannot read the header line ${JSON.stringify(line)} the response wrote`);
    out.push([line.slice(0, colon), line.slice(colon + 1).trim()]);
  }
  return out;
}

/**
 * Reads back what a real `http.ServerResponse` wrote to its socket: the status line and headers
 * (informational 1xx heads are dropped: TSGI has no way to send them), then the body, un-chunked
 * when Node chose chunked encoding, and the trailers after the last chunk.
 */
export class HttpOutputParser {
  head: ParsedHead | null = null;
  trailers: HeaderPair[] = [];
  #state: State = 'head';
  #pending: Buffer = EMPTY;
  #remaining = 0;

  get done(): boolean {
    return this.#state === 'done';
  }

  /** Feeds bytes; returns the body bytes they carried (possibly none). */
  push(data: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let buf = this.#pending.length > 0 ? Buffer.concat([this.#pending, data]) : data;
    this.#pending = EMPTY;
    while (buf.length > 0) {
      switch (this.#state) {
        case 'head': {
          const end = buf.indexOf(CRLF_CRLF);
          if (end < 0) {
            this.#pending = buf;
            return out;
          }
          this.#readHead(buf.toString('latin1', 0, end));
          buf = buf.subarray(end + 4);
          break;
        }
        case 'raw':
          out.push(buf);
          return out;
        case 'size': {
          const end = buf.indexOf(CRLF);
          if (end < 0) {
            this.#pending = buf;
            return out;
          }
          const size = Number.parseInt(buf.toString('latin1', 0, end), 16);
          if (!Number.isFinite(size) || size < 0) throw new NodeResponseError('cannot read a chunk size the response wrote');
          buf = buf.subarray(end + 2);
          this.#remaining = size;
          this.#state = size === 0 ? 'trailers' : 'data';
          break;
        }
        case 'data': {
          const take = Math.min(this.#remaining, buf.length);
          out.push(buf.subarray(0, take));
          this.#remaining -= take;
          buf = buf.subarray(take);
          if (this.#remaining === 0) this.#state = 'data-end';
          break;
        }
        case 'data-end':
          if (buf.length < 2) {
            this.#pending = buf;
            return out;
          }
          buf = buf.subarray(2);
          this.#state = 'size';
          break;
        case 'trailers': {
          if (buf.length >= 2 && buf[0] === 0x0d && buf[1] === 0x0a) {
            this.#state = 'done';
            buf = buf.subarray(2);
            break;
          }
          const end = buf.indexOf(CRLF_CRLF);
          if (end < 0) {
            this.#pending = buf;
            return out;
          }
          this.trailers = parseFields(buf.toString('latin1', 0, end));
          this.#state = 'done';
          buf = buf.subarray(end + 4);
          break;
        }
        case 'done':
          return out;
      }
    }
    return out;
  }

  #readHead(text: string): void {
    const lineEnd = text.indexOf('\r\n');
    const statusLine = lineEnd < 0 ? text : text.slice(0, lineEnd);
    const m = /^HTTP\/\d\.\d (\d{3})(?: (.*))?$/.exec(statusLine);
    if (m === null) throw new NodeResponseError(`cannot read the status line ${JSON.stringify(statusLine)} the response wrote`);
    const statusCode = Number(m[1]);
    if (statusCode >= 100 && statusCode < 200) return;
    const fields = parseFields(lineEnd < 0 ? '' : text.slice(lineEnd + 2));
    let chunked = false;
    const headers: HeaderPair[] = [];
    for (const pair of fields) {
      const lower = pair[0].toLowerCase();
      if (lower === 'transfer-encoding' && /(?:^|,)\s*chunked\s*$/i.test(pair[1])) chunked = true;
      if (!HOP_BY_HOP.has(lower)) headers.push(pair);
    }
    this.head = { status: `${m[1]} ${m[2] ?? ''}`.trimEnd(), statusCode, headers };
    this.#state = chunked ? 'size' : 'raw';
  }
}
