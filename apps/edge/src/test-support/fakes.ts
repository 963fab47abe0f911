import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import { decodeVars } from '@tsgi/uwsgi-protocol';
import { normalizeConfig } from '../config.js';
import { EdgeServer } from '../edge-server.js';

export interface UwsgiExchange {
  readonly modifier1: number;
  readonly modifier2: number;
  readonly vars: [string, string][];
  readonly env: Record<string, string>;
  readonly body: Buffer;
  readonly socket: net.Socket;
}

export interface FakeUwsgi {
  readonly server: net.Server;
  readonly port: number;
  readonly address: string;
  readonly exchanges: UwsgiExchange[];
  /** Every accepted connection, in order (tests watch their close events). */
  readonly sockets: net.Socket[];
  close(): Promise<void>;
}

/**
 * A uwsgi server as uWSGI behaves on the wire: reads the 4-byte header, the vars block and CONTENT_LENGTH body
 * bytes, then lets the handler write a raw HTTP response; the body ends when the handler closes the socket.
 */
export async function startFakeUwsgi(handler: (ex: UwsgiExchange) => void | Promise<void>, options: { path?: string } = {}): Promise<FakeUwsgi> {
  const exchanges: UwsgiExchange[] = [];
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
    let buf = Buffer.alloc(0);
    let head: { m1: number; m2: number; vars: [string, string][]; need: number } | null = null;
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (!head && buf.length >= 4) {
        const size = buf.readUInt16LE(1);
        if (buf.length < 4 + size) return;
        const vars = decodeVars(buf.subarray(4, 4 + size));
        const env = Object.fromEntries(vars);
        head = { m1: buf[0], m2: buf[3], vars, need: Number(env.CONTENT_LENGTH || 0) };
        buf = buf.subarray(4 + size);
      }
      if (head && buf.length >= head.need) {
        socket.off('data', onData);
        const ex: UwsgiExchange = { modifier1: head.m1, modifier2: head.m2, vars: head.vars, env: Object.fromEntries(head.vars), body: buf.subarray(0, head.need), socket };
        exchanges.push(ex);
        Promise.resolve(handler(ex)).catch(() => socket.destroy());
      }
    };
    socket.on('data', onData);
  });
  if (options.path) server.listen(options.path);
  else server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = options.path ? 0 : (server.address() as net.AddressInfo).port;
  return {
    server,
    port,
    address: options.path ? `unix:${options.path}` : `127.0.0.1:${port}`,
    exchanges,
    sockets,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Writes the status line and headers as uWSGI does (no framing; the body ends at close). */
export function writeHead(socket: net.Socket, status = '200 OK', headers: [string, string][] = [['Content-Type', 'text/plain']]): void {
  socket.write(`HTTP/1.1 ${status}\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`);
}

/** Writes everything with backpressure; resolves when the kernel took the last byte. */
export async function writeAll(socket: net.Socket, data: Buffer, chunk = 65536): Promise<void> {
  for (let i = 0; i < data.length; i += chunk) {
    if (!socket.write(data.subarray(i, i + chunk))) {
      await Promise.race([once(socket, 'drain'), once(socket, 'close')]);
      if (socket.destroyed) return;
    }
  }
}

export interface FakeHttp {
  readonly server: http.Server;
  readonly port: number;
  readonly url: string;
  readonly requests: http.IncomingMessage[];
  close(): Promise<void>;
}

export async function startFakeHttp(handler: http.RequestListener): Promise<FakeHttp> {
  const requests: http.IncomingMessage[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req);
    handler(req, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The kernel's ephemeral port range, from which every listen on port 0 takes its port. */
function ephemeralPorts(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low > 1024 && high >= low) return [low, high];
  } catch {
    // Not Linux: the IANA range.
  }
  return [49152, 65535];
}

function connectRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

/**
 * A port nothing listens on, below the ephemeral range: a port bound and released there could be
 * the very port the kernel gives the edge under test next (seen: the edge proxying to itself).
 */
export async function refusedPort(): Promise<number> {
  const [low] = ephemeralPorts();
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 1024 + Math.floor(Math.random() * (low - 1024));
    if (await connectRefused(port)) return port;
  }
  throw new Error('no refused port found below the ephemeral range in 50 tries');
}

export interface TestEdge {
  readonly edge: EdgeServer;
  readonly url: string;
  readonly port: number;
  errorLog(): string;
  accessLog(): string;
  /** Resolves once the error log contains `text`. */
  waitForError(text: string | RegExp): Promise<string>;
  waitForAccess(text: string | RegExp): Promise<string>;
  close(): Promise<void>;
}

function collector() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => {
    text += c.toString();
    stream.emit('text');
  });
  const wait = (pattern: string | RegExp) =>
    new Promise<string>((resolve) => {
      const check = () => {
        const line = text.split('\n').find((l) => (typeof pattern === 'string' ? l.includes(pattern) : pattern.test(l)));
        if (line === undefined) return false;
        stream.off('text', check);
        resolve(line);
        return true;
      };
      if (!check()) stream.on('text', check);
    });
  return { stream, text: () => text, wait };
}

/** An in-process edge on 127.0.0.1:0 with the given config (locations etc.) and logs captured. */
export async function startEdge(raw: Record<string, unknown>): Promise<TestEdge> {
  const config = normalizeConfig({ listen: '127.0.0.1:0', ...raw });
  const err = collector();
  const acc = collector();
  const edge = new EdgeServer(config, { errorLog: err.stream, accessLog: acc.stream });
  const url = await edge.listen();
  return {
    edge,
    url,
    port: Number(new URL(url).port),
    errorLog: err.text,
    accessLog: acc.text,
    waitForError: err.wait,
    waitForAccess: acc.wait,
    close: () => edge.close(false),
  };
}

export interface ClientResult {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly rawHeaders: string[];
  readonly body: Buffer;
  /** performance.now() at each body chunk. */
  readonly chunkTimes: number[];
  readonly headAt: number;
  /** True when the response ended cleanly; false when the connection broke mid-body. */
  readonly complete: boolean;
}

/** One request with Node's http client (no agent: a fresh connection). */
export function request(url: string, opts: http.RequestOptions & { body?: Buffer | string; onChunk?: (chunk: Buffer, res: http.IncomingMessage) => void } = {}): Promise<ClientResult> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { agent: false, ...opts }, (res) => {
      const headAt = performance.now();
      const chunks: Buffer[] = [];
      const chunkTimes: number[] = [];
      let complete = false;
      res.on('data', (c: Buffer) => {
        chunks.push(c);
        chunkTimes.push(performance.now());
        opts.onChunk?.(c, res);
      });
      res.on('end', () => (complete = true));
      res.on('error', () => {});
      res.on('close', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks), chunkTimes, headAt, complete: complete && res.complete }),
      );
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Sends raw bytes and collects everything until the server closes (or `until` matches). */
export function rawRequest(port: number, data: string | Buffer, until?: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let out = '';
    s.on('data', (c) => {
      out += c.toString('latin1');
      if (until?.test(out)) {
        s.destroy();
        resolve(out);
      }
    });
    s.on('close', () => resolve(out));
    s.on('error', (e) => (out ? resolve(out) : reject(e)));
    s.write(data);
  });
}
