import { channel } from 'node:diagnostics_channel';
import { existsSync, statSync, unlinkSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { parseSocketAddress, type SocketAddress } from '../engine/socket-address.js';
import { PROMETHEUS_CONTENT_TYPE, prometheusText } from './prometheus-text.js';
import { StatsBindError, StatsCollectError } from './stats-errors.js';
import type { StatsSnapshot } from './stats-snapshot.js';
import { uwsgiStatsDocument } from './uwsgi-stats-document.js';

/** Each answered stats request: `{ kind: 'json' | 'http' | 'prometheus', address }`. */
export const statsServedChannel = channel('tsgi:server:stats:served');
/** Each failed one (collect() rejected or timed out): `{ error, address }`. */
export const statsErrorChannel = channel('tsgi:server:stats:error');

export interface StatsServerOptions {
  /** `host:port`, `:port` (loopback), `[v6]:port`, or a unix socket path. */
  address: string;
  /** Answer HTTP (uWSGI's --stats-http): GET any path gives the JSON, GET /metrics the Prometheus text. */
  http?: boolean;
  /** Gathers the figures; called once per request (concurrent requests share one call). */
  collect: () => Promise<StatsSnapshot>;
  /** One line for the master's log. */
  log: (line: string) => void;
  /** Seconds collect() may take, and a client may take to read its answer (default 5). */
  timeout?: number;
}

export interface PrometheusServerOptions {
  /** `host:port`, `:port` (loopback), `[v6]:port`, or a unix socket path. */
  address: string;
  collect: () => Promise<StatsSnapshot>;
  log: (line: string) => void;
  /** Seconds collect() may take (default 5). */
  timeout?: number;
}

export interface StatsServer {
  /** The address actually bound (`127.0.0.1:PORT` with the real port for `:0`, or the unix path). */
  readonly address: string;
  /** Stops listening, ends open connections and removes the unix socket file. */
  close(): Promise<void>;
}

/**
 * The stats address as uWSGI reads it, except that `:port` binds loopback: the stats say a lot about
 * the instance, so they are public only when a host is given.
 */
function statsAddress(spec: string): SocketAddress {
  let address: SocketAddress;
  try {
    address = parseSocketAddress(spec);
  } catch (error) {
    throw new StatsBindError(spec, (error as Error).message, { cause: error });
  }
  if (address.kind === 'tcp' && spec.trim().startsWith(':')) return { ...address, host: '127.0.0.1', family: 4 };
  return address;
}

function formatBound(address: SocketAddress, server: net.Server): string {
  if (address.kind === 'unix') return address.path;
  const bound = server.address();
  const port = bound && typeof bound === 'object' ? bound.port : address.port;
  return address.family === 6 ? `[${address.host}]:${port}` : `${address.host}:${port}`;
}

async function unixSocketIsLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

async function listen(server: net.Server, address: SocketAddress, spec: string): Promise<void> {
  if (address.kind === 'unix' && existsSync(address.path)) {
    // A socket file left by a crashed instance would make bind fail; a live one is someone else's.
    if (!statSync(address.path).isSocket()) throw new StatsBindError(spec, `${address.path} exists and is not a socket`);
    if (await unixSocketIsLive(address.path)) throw new StatsBindError(spec, 'EADDRINUSE (another process serves this socket)');
    unlinkSync(address.path);
  }
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(new StatsBindError(spec, error.code ?? error.message, { cause: error }));
    };
    server.once('error', onError);
    const done = () => {
      server.off('error', onError);
      resolve();
    };
    if (address.kind === 'unix') server.listen({ path: address.path }, done);
    else server.listen({ host: address.host, port: address.port, ipv6Only: address.family === 6 }, done);
  });
}

/** Calls collect() once for all requests that arrive while a call is in flight, with a deadline. */
function sharedCollector(collect: () => Promise<StatsSnapshot>, timeoutSeconds: number): () => Promise<StatsSnapshot> {
  let inFlight: Promise<StatsSnapshot> | null = null;
  return () => {
    if (inFlight) return inFlight;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new StatsCollectError(`stats collection took longer than ${timeoutSeconds} s; a worker may be blocked (see --harakiri)`)),
        timeoutSeconds * 1000,
      );
    });
    const run = (async () => {
      try {
        return await Promise.race([Promise.resolve().then(collect), deadline]);
      } catch (error) {
        throw error instanceof StatsCollectError ? error : new StatsCollectError(`stats collection failed: ${(error as Error)?.message ?? String(error)}`, { cause: error });
      } finally {
        clearTimeout(timer);
        inFlight = null;
      }
    })();
    inFlight = run;
    return run;
  };
}

function errorDocument(error: StatsCollectError): string {
  return `${JSON.stringify({ error: error.message, code: error.code })}\n`;
}

interface Served {
  server: net.Server;
  sockets: Set<net.Socket>;
}

async function serve(spec: string, make: () => Served, announce: (bound: string, server: net.Server) => string, log: (line: string) => void): Promise<StatsServer> {
  const address = statsAddress(spec);
  const { server, sockets } = make();
  await listen(server, address, spec);
  const bound = formatBound(address, server);
  // After listen, a server error (EMFILE on accept...) must not become an uncaught exception in the master.
  server.on('error', (error) => log(`stats server on ${bound} error: ${error.message}`));
  log(announce(bound, server));
  let closing: Promise<void> | null = null;
  return {
    address: bound,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
        if (server instanceof http.Server) server.closeAllConnections();
      });
      return closing;
    },
  };
}

function serverFd(server: net.Server): string {
  const fd = (server as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? String(fd) : '?';
}

function reportError(error: StatsCollectError, address: string, log: (line: string) => void): void {
  log(`${error.message} [${error.code}]`);
  if (statsErrorChannel.hasSubscribers) statsErrorChannel.publish({ error, address });
}

function httpHandler(
  collect: () => Promise<StatsSnapshot>,
  log: (line: string) => void,
  getAddress: () => string,
  route: (path: string) => 'json' | 'prometheus' | null,
): http.RequestListener {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('only GET and HEAD are served here\n');
      return;
    }
    const kind = route(path);
    if (kind === null) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found: the metrics are at /metrics\n');
      return;
    }
    collect().then(
      (snapshot) => {
        const body = kind === 'json' ? `${JSON.stringify(uwsgiStatsDocument(snapshot))}\n` : prometheusText(snapshot);
        const type = kind === 'json' ? 'application/json' : PROMETHEUS_CONTENT_TYPE;
        res.writeHead(200, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : body);
        if (statsServedChannel.hasSubscribers) statsServedChannel.publish({ kind: kind === 'json' ? 'http' : 'prometheus', address: getAddress() });
      },
      (error: StatsCollectError) => {
        reportError(error, getAddress(), log);
        const body = errorDocument(error);
        res.writeHead(500, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
    );
  };
}

function trackedHttpServer(handler: http.RequestListener, timeoutSeconds: number): Served {
  const server = http.createServer({ requestTimeout: timeoutSeconds * 1000 * 2, headersTimeout: timeoutSeconds * 1000 }, handler);
  server.on('clientError', (_error, socket) => socket.destroy());
  return { server, sockets: new Set() };
}

/**
 * uWSGI's stats server (--stats ADDR): each connection gets one JSON document in uWSGI's schema
 * and is closed, as uwsgitop expects; with `http` (--stats-http) it answers HTTP GET instead, the
 * JSON on any path and the Prometheus text on /metrics. `:port` binds loopback. A failing or slow
 * collect() gets an error document (`{"error", "code"}`; HTTP 500) and a log line; the server goes on.
 */
export async function startStatsServer(options: StatsServerOptions): Promise<StatsServer> {
  const timeout = options.timeout ?? 5;
  const collect = sharedCollector(options.collect, timeout);
  const log = options.log;
  let bound = options.address;
  const announce = (address: string, server: net.Server) => {
    bound = address;
    const shown = options.http ? (address.startsWith('/') ? `${address} (http)` : `http://${address}`) : address;
    return `*** Stats server enabled on ${shown} fd: ${serverFd(server)} ***`;
  };
  if (options.http) {
    const handler = httpHandler(collect, log, () => bound, (path) => (path === '/metrics' ? 'prometheus' : 'json'));
    return serve(options.address, () => trackedHttpServer(handler, timeout), announce, log);
  }
  const make = (): Served => {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      // The client may reset or never read; neither may reach the master as an exception.
      socket.on('error', () => socket.destroy());
      socket.resume();
      // Armed once the answer is written: collect() has its own deadline, this one is for a reader
      // that stops reading (the answer of a big instance does not fit in the socket buffers).
      const answer = (text: string) => {
        socket.setTimeout(timeout * 1000, () => {
          log(`stats client ${socket.remoteAddress ?? 'on ' + bound} did not read its answer within ${timeout} s; connection closed`);
          socket.destroy();
        });
        socket.end(text);
      };
      collect().then(
        (snapshot) => {
          answer(`${JSON.stringify(uwsgiStatsDocument(snapshot))}\n`);
          if (statsServedChannel.hasSubscribers) statsServedChannel.publish({ kind: 'json', address: bound });
        },
        (error: StatsCollectError) => {
          reportError(error, bound, log);
          answer(errorDocument(error));
        },
      );
    });
    return { server, sockets };
  };
  return serve(options.address, make, announce, log);
}

/**
 * A dedicated Prometheus endpoint (--stats-prometheus ADDR): GET /metrics (or /) answers the same
 * figures as the stats JSON in the text exposition format.
 */
export async function startPrometheusServer(options: PrometheusServerOptions): Promise<StatsServer> {
  const timeout = options.timeout ?? 5;
  const collect = sharedCollector(options.collect, timeout);
  let bound = options.address;
  const handler = httpHandler(collect, options.log, () => bound, (path) => (path === '/metrics' || path === '/' ? 'prometheus' : null));
  return serve(
    options.address,
    () => trackedHttpServer(handler, timeout),
    (address) => {
      bound = address;
      return `*** Prometheus metrics enabled on ${address.startsWith('/') ? `${address} (http, /metrics)` : `http://${address}/metrics`} ***`;
    },
    options.log,
  );
}
