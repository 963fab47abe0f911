import { createWriteStream, type WriteStream } from 'node:fs';
import type { Writable } from 'node:stream';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** nginx's $time_local: `24/Nov/2026:16:16:57 +0000`. */
export function timeLocal(d: Date): string {
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const abs = Math.abs(off);
  return `${pad(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${sign}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`;
}

/** nginx's error-log timestamp: `2026/11/24 16:16:54`. */
export function errorTime(d: Date): string {
  return `${d.getFullYear()}/${pad(d.getMonth() + 1)}/${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Escapes what nginx escapes in log fields: `"`, `\` and bytes outside printable ASCII become `\xHH`. */
export function logEscape(s: string): string {
  return s.replace(/["\\]|[^\x20-\x7e]/g, (c) => {
    const code = c.charCodeAt(0);
    return code > 0xff ? encodeURIComponent(c).replace(/%/g, '\\x') : `\\x${code.toString(16).toUpperCase().padStart(2, '0')}`;
  });
}

export interface AccessEntry {
  readonly remoteAddr: string;
  readonly time: Date;
  readonly request: string;
  readonly status: number;
  readonly bytes: number;
  readonly referer: string | undefined;
  readonly userAgent: string | undefined;
  /** `$upstream_addr`: each server tried, ", "-separated; empty when none. */
  readonly upstreamAddrs: readonly string[];
  /** `$upstream_response_time` per try, in seconds. */
  readonly upstreamTimes: readonly number[];
}

/**
 * nginx `combined`, then `$upstream_addr $upstream_response_time`:
 * `127.0.0.1 - - [24/Nov/2026:16:16:57 +0000] "GET /x HTTP/1.1" 200 140 "-" "curl/7.88.1" 127.0.0.1:3031 3.032`
 */
export function formatAccess(e: AccessEntry): string {
  const q = (v: string | undefined) => (v ? escapeIfNeeded(v) : '-');
  const addrs = e.upstreamAddrs.length === 0 ? '-' : e.upstreamAddrs.length === 1 ? e.upstreamAddrs[0] : e.upstreamAddrs.join(', ');
  const times = e.upstreamTimes.length === 0 ? '-' : e.upstreamTimes.length === 1 ? e.upstreamTimes[0].toFixed(3) : e.upstreamTimes.map((t) => t.toFixed(3)).join(', ');
  return `${e.remoteAddr} - - [${timeLocalCached(e.time)}] "${escapeIfNeeded(e.request)}" ${e.status} ${e.bytes} "${q(e.referer)}" "${q(e.userAgent)}" ${addrs} ${times}\n`;
}

const NEEDS_ESCAPE = /["\\]|[^\x20-\x7e]/;
const escapeIfNeeded = (s: string): string => (NEEDS_ESCAPE.test(s) ? logEscape(s) : s);

/** $time_local changes once a second; nginx formats it once a second too (ngx_time_update). */
let cachedSecond = NaN;
let cachedTimeLocal = '';
function timeLocalCached(d: Date): string {
  const second = Math.floor(d.getTime() / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedTimeLocal = timeLocal(d);
  }
  return cachedTimeLocal;
}

export interface ErrorContext {
  readonly connection: number;
  readonly client: string;
  readonly server: string;
  readonly request?: string;
  readonly upstream?: string;
  readonly host?: string;
}

/**
 * One nginx-style error-log line:
 * `2026/11/24 16:16:54 [error] 4242#0: *3 upstream timed out (110: Connection timed out) while reading response
 * header from upstream, client: 127.0.0.1, server: localhost, request: "GET / HTTP/1.1", upstream: "uwsgi://127.0.0.1:3031", host: "x"`
 */
export function formatError(level: 'error' | 'warn' | 'info' | 'notice' | 'alert', text: string, ctx?: ErrorContext): string {
  let line = `${errorTime(new Date())} [${level}] ${process.pid}#0: `;
  if (ctx) {
    line += `*${ctx.connection} ${text}, client: ${ctx.client}, server: ${ctx.server}`;
    if (ctx.request !== undefined) line += `, request: "${logEscape(ctx.request)}"`;
    if (ctx.upstream !== undefined) line += `, upstream: "${ctx.upstream}"`;
    if (ctx.host !== undefined) line += `, host: "${logEscape(ctx.host)}"`;
  } else line += text;
  return line + '\n';
}

/**
 * A log destination: "-" (stdout/stderr), a file path (appended), or a stream given by the embedder. Lines written
 * in one turn of the event loop go out as one write at the end of it (one syscall, or one thread-pool job for a
 * file, instead of one per line); `close()` writes what is still pending.
 */
export class LogSink {
  #stream: Writable;
  readonly #owned: WriteStream | null;
  #pending = '';
  #scheduled = false;
  constructor(target: string | Writable, fallback: Writable) {
    if (typeof target !== 'string') {
      this.#stream = target;
      this.#owned = null;
    } else if (target === '-') {
      this.#stream = fallback;
      this.#owned = null;
    } else {
      this.#owned = createWriteStream(target, { flags: 'a' });
      // A log file that cannot be written must not take the proxy down; the error goes to the fallback once.
      this.#owned.once('error', (err) => fallback.write(`tsgi-edge: cannot write log ${target}: ${err.message}\n`));
      this.#stream = this.#owned;
    }
  }
  write(line: string): void {
    this.#pending += line;
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flush);
    }
  }
  #flush = (): void => {
    this.#scheduled = false;
    const text = this.#pending;
    this.#pending = '';
    if (text !== '' && !this.#stream.destroyed) this.#stream.write(text);
  };
  /** Writes what is pending, and closes a file this sink opened. */
  close(): Promise<void> {
    this.#flush();
    const s = this.#owned;
    if (!s || s.closed) return Promise.resolve();
    return new Promise((resolve) => s.end(resolve));
  }
}
