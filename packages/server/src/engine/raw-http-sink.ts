import { ClientDisconnectedError } from '../errors.js';
import type { RawHttpConnection, RawHttpHead } from './raw-http-connection.js';
import { headAndBody, LazyDisconnect, type HeaderPair, type ResponseSink } from './response-sink.js';

let dateSecond = -1;
let dateText = '';

/** The Date header's value, made once a second (as Node's http server does). */
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}

const CRLF = Buffer.from('\r\n', 'latin1');
const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');

/** What the app's headers say about framing and the connection. */
interface AppHeaders {
  text: string;
  bytes: number;
  hasLength: boolean;
  chunked: boolean;
  close: boolean;
  hasDate: boolean;
}

function scanHeaders(headers: HeaderPair[]): AppHeaders {
  let text = '';
  let bytes = 0;
  let hasLength = false;
  let chunked = false;
  let close = false;
  let hasDate = false;
  for (let i = 0; i < headers.length; i++) {
    const name = headers[i][0];
    const value = headers[i][1];
    text += `${name}: ${value}\r\n`;
    bytes += name.length + value.length + 4;
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === 'date') hasDate = true;
        break;
      case 10:
        if (name.toLowerCase() === 'connection' && /(?:^|[\s,])close(?:$|[\s,])/i.test(value)) close = true;
        break;
      case 14:
        if (name.toLowerCase() === 'content-length') hasLength = true;
        break;
      case 17:
        if (name.toLowerCase() === 'transfer-encoding' && /chunked\s*$/i.test(value)) chunked = true;
        break;
    }
  }
  return { text, bytes, hasLength, chunked, close, hasDate };
}

/**
 * A response written on a raw --http-socket connection, framed as Node's http server frames it: a
 * whole response with Content-Length, a streamed one chunked (HTTP/1.1) or delimited by the close
 * (HTTP/1.0), `Date`, and `Connection: keep-alive` with `Keep-Alive: timeout=N` while the
 * connection stays open.
 */
export class RawHttpSink implements ResponseSink {
  headersSent = false;
  bodyBytes = 0;
  headerBytes = 0;
  headerCount = 0;
  waits = 0;
  trailers?: HeaderPair[];
  /** False once the connection is to close after this response (the request asked, the app did, or the worker stops). */
  keepAlive: boolean;
  /** True once the response went out whole (the connection may carry a next request). */
  completed = false;
  readonly connection: RawHttpConnection;
  readonly #http11: boolean;
  readonly #headRequest: boolean;
  /** --socket-timeout: a write's wait for progress, and the keep-alive timeout announced. */
  readonly #timeoutSeconds: number;
  #chunked = false;
  #noBody = false;
  #ended = false;
  #disconnect: LazyDisconnect | null = null;

  constructor(connection: RawHttpConnection, head: RawHttpHead, timeoutSeconds: number, keepAlive: boolean) {
    this.connection = connection;
    this.#http11 = head.versionMajor === 1 && head.versionMinor >= 1;
    this.#headRequest = head.method === 'HEAD';
    this.#timeoutSeconds = timeoutSeconds;
    this.keepAlive = keepAlive && head.keepAlive;
  }

  get clientGone(): boolean {
    return !this.#ended && this.connection.peerGone;
  }

  get disconnected(): AbortSignal {
    if (this.#disconnect === null) {
      const disconnect = new LazyDisconnect();
      this.#disconnect = disconnect;
      if (this.clientGone) disconnect.abort();
      else
        this.connection.onPeerGone = () => {
          if (!this.#ended) disconnect.abort();
        };
    }
    return this.#disconnect.signal;
  }

  /** The status line and headers, with the framing and connection headers Node's server would add. */
  #head(status: string, app: AppHeaders, length: number): string {
    let head = `HTTP/1.1 ${status}\r\n${app.text}`;
    if (!app.hasDate) head += `Date: ${httpDate()}\r\n`;
    if (app.close) this.keepAlive = false;
    if (!this.keepAlive) head += 'Connection: close\r\n';
    else if (this.#timeoutSeconds > 0) head += `Connection: keep-alive\r\nKeep-Alive: timeout=${this.#timeoutSeconds}\r\n`;
    else head += 'Connection: keep-alive\r\n';
    if (length >= 0) head += `Content-Length: ${length}\r\n`;
    else if (this.#chunked && !app.chunked) head += 'Transfer-Encoding: chunked\r\n';
    return head + '\r\n';
  }

  #count(status: string, headers: HeaderPair[], app: AppHeaders): void {
    this.headerCount = headers.length;
    // As uWSGI counts them: the status line, the app's headers and the blank line.
    this.headerBytes = app.bytes + status.length + 13;
    this.headersSent = true;
  }

  sendComplete(status: string, headers: HeaderPair[], body: Buffer | string): void {
    if (this.clientGone) throw new ClientDisconnectedError('Broken pipe');
    const app = scanHeaders(headers);
    const code = Number.parseInt(status.slice(0, 3), 10);
    const bodyless = code < 200 || code === 204 || code === 304;
    const bodyBytes = bodyless ? 0 : typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.length;
    // An app that set Transfer-Encoding: chunked itself gets its body as one chunk, as Node sends it.
    this.#chunked = app.chunked && !bodyless;
    const head = this.#head(status, app, app.hasLength || bodyless || this.#chunked ? -1 : bodyBytes);
    this.#count(status, headers, app);
    this.bodyBytes = bodyBytes;
    this.#ended = true;
    let data: Buffer;
    if (this.#headRequest) data = Buffer.from(head, 'latin1');
    else if (this.#chunked) {
      const chunk = bodyBytes > 0 ? [this.#frame(typeof body === 'string' ? Buffer.from(body, 'utf8') : body)] : [];
      data = Buffer.concat([Buffer.from(head, 'latin1'), ...chunk, LAST_CHUNK]);
    } else data = headAndBody(head, bodyless ? '' : body).bytes;
    this.connection.write(data, false, 0);
    this.completed = true;
  }

  async sendHeaders(status: string, headers: HeaderPair[], first?: Buffer): Promise<void> {
    if (this.clientGone) throw new ClientDisconnectedError('Broken pipe');
    const app = scanHeaders(headers);
    const code = Number.parseInt(status.slice(0, 3), 10);
    this.#noBody = this.#headRequest || code < 200 || code === 204 || code === 304;
    if (app.chunked) this.#chunked = !this.#noBody;
    else if (!this.#noBody && !app.hasLength) {
      if (this.#http11) this.#chunked = true;
      // An HTTP/1.0 client reads a body of unknown length up to the close.
      else this.keepAlive = false;
    }
    const head = Buffer.from(this.#head(status, app, -1), 'latin1');
    this.#count(status, headers, app);
    if (first === undefined || first.length === 0) {
      await this.#send(head);
      return;
    }
    this.bodyBytes += first.length;
    await this.#send(this.#noBody ? head : Buffer.concat([head, this.#frame(first)]));
  }

  async write(chunk: Buffer): Promise<void> {
    if (this.clientGone) throw new ClientDisconnectedError('Broken pipe');
    this.bodyBytes += chunk.length;
    if (this.#noBody || chunk.length === 0) return;
    await this.#send(this.#frame(chunk));
  }

  #frame(chunk: Buffer): Buffer {
    if (!this.#chunked) return chunk;
    const size = Buffer.from(chunk.length.toString(16) + '\r\n', 'latin1');
    return Buffer.concat([size, chunk, CRLF], size.length + chunk.length + 2);
  }

  async #send(data: Buffer): Promise<void> {
    const pending = this.connection.write(data, true, this.#timeoutSeconds);
    if (pending === undefined) return;
    this.waits++;
    await pending;
  }

  async end(): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#chunked) {
      const trailers = this.trailers;
      let last = LAST_CHUNK;
      if (trailers !== undefined && trailers.length > 0) {
        let text = '0\r\n';
        for (const [name, value] of trailers) text += `${name}: ${value}\r\n`;
        last = Buffer.from(text + '\r\n', 'latin1');
      }
      await this.#send(last);
    }
    // A close-delimited body (HTTP/1.0) ends with the close, which next() makes once the writes are out.
    this.completed = true;
  }

  abort(): void {
    this.#ended = true;
    this.completed = false;
    this.connection.close();
  }
}
