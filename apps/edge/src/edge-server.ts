import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Readable } from 'node:stream';
import { Balancer, type Peer } from './balancer.js';
import type { BufferChain } from './buffer-chain.js';
import * as channels from './channels.js';
import { addressLabel, matchLocation, type EdgeConfig, type Location, type StaticLocation } from './config.js';
import { EdgeClientError, EdgeError, EdgeUpstreamError } from './errors.js';
import { connectionTokens, isHopByHop } from './headers.js';
import { createHttpTransport } from './http-transport.js';
import { formatAccess, formatError, LogSink, type ErrorContext } from './logs.js';
import { bufferRequestBody } from './request-body.js';
import { clientHead, relayResponse } from './response-stage.js';
import { errorPage, serveStatic } from './static-files.js';
import type { Transport, UpstreamAttempt, UpstreamResponse } from './transport.js';
import { nginxUwsgiVars } from '@tsgi/uwsgi-protocol';
import { createUwsgiTransport } from './uwsgi-transport.js';
import type { Writable } from 'node:stream';

export interface EdgeServerOptions {
  /** Replaces the access_log destination (tests, embedding). */
  readonly accessLog?: Writable;
  /** Replaces the error_log destination. */
  readonly errorLog?: Writable;
}

/** $remote_addr: a dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d; nginx logs and sends a.b.c.d. */
function clientIp(socket: Socket): string {
  const a = socket.remoteAddress ?? '-';
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'TRACE']);
const connIds = new WeakMap<Socket, number>();
/**
 * Aborted when the client connection closes, the only way an HTTP/1 response ends before it finished; one per
 * connection, made on its first proxied request (an AbortController per request costs more than the rest of the
 * request's bookkeeping together).
 */
const clientGone = new WeakMap<Socket, AbortController>();

function clientGoneSignal(socket: Socket): AbortSignal {
  let ac = clientGone.get(socket);
  if (ac === undefined) {
    const controller = (ac = new AbortController());
    clientGone.set(socket, controller);
    if (socket.destroyed) controller.abort();
    else socket.once('close', () => controller.abort());
  }
  return ac.signal;
}

/** Per-request bookkeeping for the access log. */
interface RequestLog {
  status: number;
  bytes: number;
  readonly addrs: string[];
  readonly times: number[];
}

const SPECIAL_PATH = /%|\/\.|\/\/|\0/;

/**
 * Percent-decodes (bytes kept as latin1 code units, as nginx's $uri holds bytes), merges slashes and resolves
 * `.`/`..`. Returns null for a path that is malformed or climbs above the root (nginx answers 400).
 */
export function normalizeUriPath(target: string): string | null {
  let path = target;
  const q = path.indexOf('?');
  if (q !== -1) path = path.slice(0, q);
  if (!path.startsWith('/')) {
    const m = /^https?:\/\/[^/]+(\/.*)?$/i.exec(path);
    if (!m) return null;
    path = m[1] ?? '/';
  }
  // Most paths need none of the work below: no escapes, no dot segments, no doubled slashes.
  if (!SPECIAL_PATH.test(path)) return path;
  if (/%(?![0-9a-fA-F]{2})/.test(path)) return null;
  const decoded = path.replace(/%([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  if (decoded.includes('\0')) return null;
  const out: string[] = [];
  const segments = decoded.split('/');
  for (let i = 1; i < segments.length; i++) {
    const s = segments[i];
    const last = i === segments.length - 1;
    if (s === '' && !last) continue;
    if (s === '.') {
      if (last) out.push('');
      continue;
    }
    if (s === '..') {
      if (out.length === 0) return null;
      out.pop();
      if (last) out.push('');
      continue;
    }
    out.push(s);
  }
  return '/' + out.join('/');
}

/**
 * The proxy: one HTTP listener, locations matched by longest prefix, upstream groups with balancing and passive
 * health, uwsgi and HTTP transports, and the buffering response stage.
 */
export class EdgeServer {
  readonly server: Server;
  #config: EdgeConfig;
  #balancers = new Map<string, Balancer>();
  readonly #access: LogSink | null;
  readonly #error: LogSink;
  readonly #options: EdgeServerOptions;
  readonly #http = createHttpTransport(() => this.#config.upstreamKeepalive);
  readonly #uwsgi: Transport;
  #connections = 0;
  #inflight = 0;
  #closing = false;
  #closed: Promise<void> | null = null;

  constructor(config: EdgeConfig, options: EdgeServerOptions = {}) {
    this.#config = config;
    this.#options = options;
    this.#access = options.accessLog ? new LogSink(options.accessLog, process.stdout) : config.accessLog === null ? null : new LogSink(config.accessLog, process.stdout);
    this.#error = new LogSink(options.errorLog ?? config.errorLog, process.stderr);
    this.#buildBalancers(config);
    this.#uwsgi = createUwsgiTransport((a) => this.#uwsgiVars(a));
    this.server = createServer(
      {
        maxHeaderSize: config.maxHeaderSize,
        requestTimeout: 0,
        headersTimeout: config.clientHeaderTimeout * 1000,
        keepAliveTimeout: config.keepaliveTimeout * 1000,
        connectionsCheckingInterval: Math.min(1000, Math.max(50, (config.clientHeaderTimeout * 1000) / 4)),
      },
      (req, res) => this.#handle(req, res),
    );
    this.server.on('connection', (socket: Socket) => {
      connIds.set(socket, ++this.#connections);
      socket.setNoDelay(true);
    });
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => this.#clientError(err, socket));
  }

  get config(): EdgeConfig {
    return this.#config;
  }

  /** Requests being handled right now. */
  get inflight(): number {
    return this.#inflight;
  }

  #buildBalancers(config: EdgeConfig): void {
    const next = new Map<string, Balancer>();
    for (const [name, group] of config.upstreams) {
      const old = this.#balancers.get(name);
      // A group whose servers did not change keeps its health and round-robin state across a reload.
      const same = old && old.peers.length === group.servers.length && old.peers.every((p, i) => p.server.label === group.servers[i].label && p.server.weight === group.servers[i].weight) && old.mode === group.balance;
      next.set(name, same ? old : new Balancer(group));
    }
    this.#balancers = next;
  }

  /** Starts listening; resolves with the URL clients use (`http://127.0.0.1:8080` or `unix:/path`). */
  listen(): Promise<string> {
    const l = this.#config.listen;
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      const done = () => {
        this.server.off('error', reject);
        resolve(this.url);
      };
      if ('path' in l) this.server.listen(l.path, done);
      else this.server.listen(l.port, l.host, done);
    });
  }

  get url(): string {
    const a = this.server.address();
    if (a === null) return '';
    if (typeof a === 'string') return `unix:${a}`;
    const info = a as AddressInfo;
    return `http://${addressLabel({ host: info.address, port: info.port })}`;
  }

  /** Applies a new configuration to new requests; in-flight requests finish with the one they started with. */
  reload(config: EdgeConfig): void {
    if (addressLabel(config.listen) !== addressLabel(this.#config.listen)) {
      this.logError('warn', `listen ${addressLabel(config.listen)} ignored on reload: restart tsgi-edge to change the listen address`);
      config = { ...config, listen: this.#config.listen };
    }
    this.#buildBalancers(config);
    this.#config = config;
    this.logError('notice', 'reconfiguring');
    if (channels.reload.hasSubscribers) channels.reload.publish({ ok: true });
  }

  /**
   * Stops accepting, lets every in-flight response finish (closing keep-alive connections as they go idle), and
   * resolves when the last connection closed. `graceful: false` closes every connection at once.
   */
  close(graceful = true): Promise<void> {
    if (!this.#closed) {
      this.#closing = true;
      this.#closed = new Promise<void>((resolve) => {
        this.server.close(() => resolve());
        this.server.closeIdleConnections();
        if (!graceful) this.server.closeAllConnections();
        else if (this.#config.shutdownTimeout > 0) {
          setTimeout(() => this.server.closeAllConnections(), this.#config.shutdownTimeout * 1000).unref();
        }
      }).then(async () => {
        this.#http.close();
        await this.#access?.close();
        await this.#error.close();
      });
    } else if (!graceful) this.server.closeAllConnections();
    return this.#closed;
  }

  logError(level: 'error' | 'warn' | 'notice' | 'info' | 'alert', text: string, ctx?: ErrorContext): void {
    this.#error.write(formatError(level, text, ctx));
  }

  #context(req: IncomingMessage, upstream?: string): ErrorContext {
    return {
      connection: connIds.get(req.socket) ?? 0,
      client: clientIp(req.socket),
      server: this.#config.serverName,
      request: `${req.method} ${req.url} HTTP/${req.httpVersion}`,
      upstream,
      host: req.headers.host,
    };
  }

  #clientError(err: NodeJS.ErrnoException, socket: Socket): void {
    const code = err.code ?? '';
    if (code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const ctx: ErrorContext = { connection: connIds.get(socket) ?? 0, client: clientIp(socket), server: this.#config.serverName };
    let status = 400;
    let text = `client sent invalid request (${err.message})`;
    if (code === 'HPE_HEADER_OVERFLOW') {
      status = 431;
      text = 'client sent too long header line';
    } else if (code === 'ERR_HTTP_REQUEST_TIMEOUT' || code === 'ERR_HTTP_HEADERS_TIMEOUT') {
      // nginx sends nothing to a client that timed out sending its head; it just closes (access log: 408).
      this.logError('info', 'client timed out (110: Connection timed out) while reading client request headers', ctx);
      this.#accessLine(clientIp(socket), '-', 408, 0, undefined, undefined, [], []);
      if (channels.clientError.hasSubscribers) channels.clientError.publish({ status: 408, code: 'TSGI_ERR_EDGE_CLIENT_HEADER_TIMEOUT' });
      socket.destroy();
      return;
    } else if (code === 'HPE_UNEXPECTED_CONTENT_LENGTH' || code === 'HPE_INVALID_TRANSFER_ENCODING' || /transfer-encoding|content-length/i.test(err.message)) {
      text = `client sent conflicting or invalid "Content-Length"/"Transfer-Encoding" headers (${err.message})`;
    }
    this.logError('info', text, ctx);
    this.#accessLine(clientIp(socket), '-', status, 0, undefined, undefined, [], []);
    if (channels.clientError.hasSubscribers) channels.clientError.publish({ status, code: status === 431 ? 'TSGI_ERR_EDGE_HEADER_TOO_LARGE' : 'TSGI_ERR_EDGE_BAD_REQUEST' });
    const page = errorPage(status);
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nServer: tsgi-edge\r\nContent-Type: text/html\r\nContent-Length: ${page.length}\r\nConnection: close\r\n\r\n${page}`);
  }

  #accessLine(remote: string, request: string, status: number, bytes: number, referer: string | undefined, ua: string | undefined, addrs: string[], times: number[]): void {
    this.#access?.write(formatAccess({ remoteAddr: remote, time: new Date(), request, status, bytes, referer, userAgent: ua, upstreamAddrs: addrs, upstreamTimes: times }));
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    this.#inflight++;
    const log: RequestLog = { status: 0, bytes: 0, addrs: [], times: [] };
    const started = performance.now();
    if (this.#closing) res.shouldKeepAlive = false;
    const routed = this.#route(req, res, log).catch((err: unknown) => {
      // Nothing may crash the process on one bad request: answer 500 if we still can, and say why.
      this.logError('alert', `internal error: ${(err as Error)?.stack ?? String(err)}`, this.#context(req));
      this.#respondError(req, res, 500, log);
    });
    res.once('close', () => {
      // The log line waits for the route to settle too, so bytes and upstream times are final.
      void routed.then(() => {
        this.#inflight--;
        const status = !res.writableFinished && (log.status === 0 || !res.headersSent) ? 499 : log.status || res.statusCode;
        if (this.#access !== null) this.#accessLine(clientIp(req.socket), `${req.method} ${req.url} HTTP/${req.httpVersion}`, status, log.bytes, req.headers.referer, req.headers['user-agent'], log.addrs, log.times);
        if (channels.requestEnd.hasSubscribers) {
          channels.requestEnd.publish({ req, status, bytes: log.bytes, seconds: (performance.now() - started) / 1000, upstream: log.addrs });
        }
        if (this.#closing) this.server.closeIdleConnections();
      });
    });
  }

  #respondError(req: IncomingMessage, res: ServerResponse, status: number, log: RequestLog, extra: Record<string, string> = {}): void {
    log.status = status;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const page = errorPage(status);
    log.bytes = req.method === 'HEAD' ? 0 : page.length;
    res.writeHead(status, { 'Content-Type': 'text/html', 'Content-Length': page.length, Server: 'tsgi-edge', ...extra });
    res.end(req.method === 'HEAD' ? undefined : page);
  }

  async #route(req: IncomingMessage, res: ServerResponse, log: RequestLog): Promise<void> {
    const config = this.#config;
    const path = normalizeUriPath(req.url ?? '/');
    if (path === null) {
      this.logError('info', 'client sent invalid request URI', this.#context(req));
      return this.#respondError(req, res, 400, log, { Connection: 'close' });
    }
    const location = matchLocation(config, path);
    if (!location) return this.#respondError(req, res, 404, log);
    if (channels.requestStart.hasSubscribers) channels.requestStart.publish({ req, location });

    if (location.kind === 'static') return this.#static(req, res, location, path, log);

    const te = req.headers['transfer-encoding'];
    const cl = req.headers['content-length'] === undefined ? null : Number(req.headers['content-length']);
    if (location.clientMaxBodySize > 0 && cl !== null && cl > location.clientMaxBodySize) {
      this.logError('error', `client intended to send too large body: ${cl} bytes`, this.#context(req));
      if (channels.clientError.hasSubscribers) channels.clientError.publish({ status: 413, code: 'TSGI_ERR_EDGE_BODY_TOO_LARGE' });
      return this.#respondError(req, res, 413, log, { Connection: 'close' });
    }
    const hasBody = te !== undefined || (cl !== null && cl > 0);
    let chain: BufferChain | null = null;
    // Chunked bodies are always buffered: uwsgi needs CONTENT_LENGTH, and nginx does the same for HTTP/1.0 upstreams.
    if (hasBody && (location.requestBuffering || te !== undefined)) {
      try {
        chain = await bufferRequestBody(req, { maxSize: location.clientMaxBodySize, memoryLimit: location.clientBodyBufferSize, timeout: config.clientBodyTimeout, tempDir: config.tempPath });
      } catch (err) {
        if (!(err instanceof EdgeClientError)) throw err;
        this.logError('error', err.logText, this.#context(req));
        if (channels.clientError.hasSubscribers) channels.clientError.publish({ status: err.status, code: err.code });
        if (err.status === 408) {
          log.status = 408;
          res.destroy();
          return;
        }
        return this.#respondError(req, res, err.status, log, { Connection: 'close' });
      }
      if (chain === null) return;
    }
    try {
      await this.#proxy(req, res, location, path, chain, hasBody ? (chain ? chain.size : cl) : null, log);
    } finally {
      chain?.destroy();
    }
  }

  #static(req: IncomingMessage, res: ServerResponse, location: StaticLocation, path: string, log: RequestLog): void {
    const q = (req.url ?? '').indexOf('?');
    // $uri holds bytes as latin1 code units; file names on disk are UTF-8.
    const fsPath = Buffer.from(path, 'latin1').toString('utf8');
    const result = serveStatic(req, res, location, fsPath, q === -1 ? '' : (req.url ?? '').slice(q));
    log.status = result.status;
    log.bytes = req.method === 'HEAD' ? 0 : result.bytes;
  }

  /** What nginx with Debian's uwsgi_params sends (HTTP_HOST = $host), so an app cannot tell the two apart. */
  #uwsgiVars(a: UpstreamAttempt): [string, string][] {
    const config = this.#config;
    const vars = nginxUwsgiVars(a.req, {
      serverName: config.serverName,
      serverPort: a.serverPort,
      remotePort: a.clientPort,
      documentRoot: config.documentRoot,
      https: false,
      contentLength: a.bodyLength ?? undefined,
      debianHostParam: true,
      joinDuplicateHeaders: true,
    });
    // A chunked body is buffered and sent with CONTENT_LENGTH; a chunked framing header would mislead the app.
    return a.req.headers['transfer-encoding'] === undefined ? vars : vars.filter(([k]) => k !== 'HTTP_TRANSFER_ENCODING');
  }

  #proxyHeaders(req: IncomingMessage, bodyLength: number | null, buffered: boolean): Record<string, string | string[]> {
    const tokens = connectionTokens(req.headers.connection);
    const out: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined || isHopByHop(name, tokens) || name === 'expect') continue;
      out[name] = value;
    }
    const client = clientIp(req.socket);
    const xff = req.headers['x-forwarded-for'];
    out['x-forwarded-for'] = xff ? `${Array.isArray(xff) ? xff.join(', ') : xff}, ${client}` : client;
    out['x-forwarded-proto'] = 'http';
    if (req.headers.host !== undefined) out['x-forwarded-host'] = req.headers.host;
    if (buffered && bodyLength !== null) out['content-length'] = String(bodyLength);
    return out;
  }

  async #proxy(req: IncomingMessage, res: ServerResponse, location: Exclude<Location, StaticLocation>, path: string, chain: BufferChain | null, bodyLength: number | null, log: RequestLog): Promise<void> {
    const config = this.#config;
    const balancer = this.#balancers.get(location.upstream);
    if (!balancer) throw new EdgeError('TSGI_ERR_EDGE_INTERNAL', `no balancer for upstream ${location.upstream}`);
    const policy = location.nextUpstream;
    const maxTries = policy.tries > 0 ? Math.min(policy.tries, balancer.peers.length) : balancer.peers.length;
    const streamed = bodyLength !== null && chain === null;
    const retryable = !streamed && (IDEMPOTENT.has(req.method ?? '') || policy.nonIdempotent);
    const scheme = location.kind === 'uwsgi' ? 'uwsgi' : 'http';
    const rawUrl = req.url ?? '/';
    let uri = location.kind === 'uwsgi' ? path : rawUrl;
    if (location.kind === 'proxy' && location.uriPrefix !== null) {
      const q = rawUrl.indexOf('?');
      const rawPath = q === -1 ? rawUrl : rawUrl.slice(0, q);
      const rest = rawPath.startsWith(location.prefix) ? rawPath.slice(location.prefix.length) : path.slice(location.prefix.length);
      uri = location.uriPrefix + rest + (q === -1 ? '' : rawUrl.slice(q));
    }
    const headers = location.kind === 'proxy' ? this.#proxyHeaders(req, bodyLength, chain !== null) : {};
    const transport = location.kind === 'uwsgi' ? this.#uwsgi : this.#http;
    const tried = new Set<Peer>();
    const signal = clientGoneSignal(req.socket);

    for (;;) {
      const peer = balancer.pick(tried);
      if (!peer) {
        const err = new EdgeUpstreamError('no-live-upstreams', 'connecting');
        this.logError('error', err.logText, this.#context(req, balancer.name.startsWith('=') ? undefined : `${scheme}://${balancer.name}`));
        if (channels.upstreamError.hasSubscribers) channels.upstreamError.publish({ req, server: null, error: err });
        return this.#respondError(req, res, 502, log);
      }
      tried.add(peer);
      peer.active++;
      let released = false;
      const release = () => {
        if (!released) {
          released = true;
          peer.active--;
        }
      };
      const t0 = performance.now();
      log.addrs.push(peer.server.label);
      const upstreamName = `${scheme}://${peer.server.label}`;
      if (channels.upstreamStart.hasSubscribers) channels.upstreamStart.publish({ req, server: peer.server.label, try: tried.size });
      let upstream: UpstreamResponse;
      let head;
      try {
        upstream = await transport({
          req,
          res,
          location,
          server: peer.server,
          headers,
          body: chain ? Readable.from(chain.replay()) : streamed ? req : null,
          bodyLength,
          uri,
          clientAddress: clientIp(req.socket),
          clientPort: req.socket.remotePort ?? 0,
          serverName: config.serverName,
          serverPort: req.socket.localPort ?? 0,
          signal,
        });
      } catch (e) {
        release();
        log.times.push((performance.now() - t0) / 1000);
        if (signal.aborted) {
          log.status = 499;
          return;
        }
        const err = e instanceof EdgeUpstreamError ? e : new EdgeUpstreamError('error', 'header', { detail: (e as Error)?.message, cause: e });
        if (!this.#upstreamFailed(req, balancer, peer, err, upstreamName, policy, retryable && tried.size < maxTries)) continue;
        return this.#respondError(req, res, err.status, log);
      }
      try {
        head = clientHead(upstream, location);
      } catch (e) {
        upstream.destroy();
        release();
        log.times.push((performance.now() - t0) / 1000);
        const err = e as EdgeUpstreamError;
        if (!this.#upstreamFailed(req, balancer, peer, err, upstreamName, policy, retryable && tried.size < maxTries)) continue;
        return this.#respondError(req, res, err.status, log);
      }
      if (policy.statuses.has(upstream.status) && retryable && tried.size < maxTries) {
        upstream.destroy();
        release();
        log.times.push((performance.now() - t0) / 1000);
        balancer.failed(peer);
        continue;
      }
      balancer.succeeded(peer);
      log.status = upstream.status;
      if (channels.upstreamResponse.hasSubscribers) channels.upstreamResponse.publish({ req, server: peer.server.label, status: upstream.status, buffering: head.buffering });
      const result = await relayResponse({ req, res, location, upstream, head, clientSendTimeout: config.clientSendTimeout, tempDir: config.tempPath, onUpstreamDone: release });
      log.bytes = result.bytes;
      log.times.push(((result.upstreamEndedAt ?? performance.now()) - t0) / 1000);
      if (result.outcome === 'upstream-error' && result.error) {
        this.logError('error', result.error.logText, this.#context(req, upstreamName));
        if (channels.upstreamError.hasSubscribers) channels.upstreamError.publish({ req, server: peer.server.label, error: result.error });
      } else if (result.outcome === 'client-timeout') {
        this.logError('info', 'client timed out (110: Connection timed out) while sending to client', this.#context(req, upstreamName));
      }
      return;
    }
  }

  /** Logs one failed try and books it for passive health; returns false when the next server should be tried. */
  #upstreamFailed(req: IncomingMessage, balancer: Balancer, peer: Peer, err: EdgeUpstreamError, upstreamName: string, policy: Location['nextUpstream'], canRetry: boolean): boolean {
    this.logError('error', err.logText, this.#context(req, upstreamName));
    if (channels.upstreamError.hasSubscribers) channels.upstreamError.publish({ req, server: peer.server.label, error: err });
    const isTimeout = err.failure === 'timeout' || err.failure === 'connect-timeout';
    const isHeader = err.failure === 'invalid-header' || err.failure === 'too-big-header';
    const counts = isTimeout ? policy.timeout : isHeader ? policy.invalidHeader : policy.error;
    if (counts) balancer.failed(peer);
    return !(counts && canRetry);
  }
}
