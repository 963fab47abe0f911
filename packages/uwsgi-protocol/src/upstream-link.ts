import net from 'node:net';
import { getSystemErrorName } from 'node:util';
import type { UwsgiAddress } from './address.js';
import { lastWriteWasAsync, rawStreams, readResult, UV_EOF, writeRaw, type RawStreamHandle, type RawWriteReq } from './raw-stream.js';

/*
 * The client's connection to a uwsgi server: a net.Socket, or a bare libuv handle.
 *
 * A uwsgi request is one connection: connect, one write, read to the end, close. A net.Socket per request (a Duplex
 * with two stream states, listeners, a pending-write queue, a shutdown before close) costs more CPU than the rest of
 * the request. RawLink does the same on the TCP or pipe handle itself: the request is queued until the connect
 * completes and then written at once, reads go straight to the caller, and the handle is closed.
 *
 * The handle API is Node's own tcp_wrap/pipe_wrap/stream_wrap bindings (see raw-stream.ts), reached through
 * process.binding(): legacy but present from Node 20 to 24. If they are missing or changed shape, every request uses
 * net.Socket; TSGI_RAW_UWSGI=0 forces that too. A TCP host that is not an IP address (it needs a DNS lookup) also goes through
 * net.Socket.
 */

/** What a link reports to its exchange. */
export interface LinkEvents {
  onConnect(): void;
  onData(chunk: Buffer): void;
  /** The server closed its side (or, for a net.Socket, the socket closed without an error). */
  onEnd(): void;
  onError(error: NodeJS.ErrnoException): void;
  /** The writes that made write() return false are out (or the link closed). */
  onDrain(): void;
}

export interface Link {
  /** Queues or writes `chunk`; false when the caller should wait for onDrain before writing more. */
  write(chunk: Uint8Array): boolean;
  /** True while written bytes are still queued beyond what the caller may add without waiting. */
  readonly needsDrain: boolean;
  pause(): void;
  resume(): void;
  destroy(): void;
}

/** The bytes a link queues before write() asks the caller to wait (a net.Socket's default highWaterMark). */
const HIGH_WATER_MARK = 16384;

class SocketLink implements Link {
  readonly #socket: net.Socket;

  constructor(address: UwsgiAddress, events: LinkEvents) {
    // noDelay as an option: set once at connect, where setNoDelay() before connecting sets it twice.
    const socket = 'path' in address ? net.connect({ path: address.path }) : net.connect({ host: address.host ?? '127.0.0.1', port: address.port, noDelay: true });
    this.#socket = socket;
    socket.once('connect', () => events.onConnect());
    socket.on('data', (chunk: Buffer) => events.onData(chunk));
    socket.on('end', () => events.onEnd());
    socket.on('error', (error: NodeJS.ErrnoException) => events.onError(error));
    socket.on('drain', () => events.onDrain());
    socket.on('close', () => {
      // a close without 'end' (destroyed by the peer's reset after an error event, or by us) is an end to the
      // exchange, which ignores it when it is already done
      events.onDrain();
      events.onEnd();
    });
  }

  write(chunk: Uint8Array): boolean {
    return this.#socket.write(chunk);
  }

  get needsDrain(): boolean {
    return this.#socket.writableNeedDrain;
  }

  pause(): void {
    this.#socket.pause();
  }

  resume(): void {
    this.#socket.resume();
  }

  destroy(): void {
    this.#socket.destroy();
  }
}

interface ConnectReq {
  oncomplete: (this: ConnectReq, status: number) => void;
  address: string;
  port?: number;
}

interface RawHandle extends RawStreamHandle {
  connect(req: ConnectReq, address: string, port?: number): number;
  connect6?(req: ConnectReq, address: string, port: number): number;
  setNoDelay?(enable: boolean): number;
  [LINK]?: RawLink;
}

interface SocketBindings {
  TCP: new (type: number) => RawHandle;
  TCPConnectWrap: new () => ConnectReq;
  tcpSocket: number;
  Pipe: new (type: number) => RawHandle;
  PipeConnectWrap: new () => ConnectReq;
  pipeSocket: number;
}

const LINK = Symbol('tsgi.rawLink');

type Binding = Record<string, unknown> & { constants?: Record<string, unknown> };

/** The TCP and pipe handle classes (the stream part is raw-stream.ts's), or null. */
function loadSocketBindings(): SocketBindings | null {
  if (rawStreams === null) return null;
  try {
    const binding = (process as unknown as { binding(name: string): Binding }).binding;
    const tcp = binding('tcp_wrap');
    const pipe = binding('pipe_wrap');
    const b = {
      TCP: tcp.TCP,
      TCPConnectWrap: tcp.TCPConnectWrap,
      tcpSocket: tcp.constants?.SOCKET,
      Pipe: pipe.Pipe,
      PipeConnectWrap: pipe.PipeConnectWrap,
      pipeSocket: pipe.constants?.SOCKET,
    };
    const classes = [b.TCP, b.TCPConnectWrap, b.Pipe, b.PipeConnectWrap];
    if (classes.some((c) => typeof c !== 'function') || typeof b.tcpSocket !== 'number' || typeof b.pipeSocket !== 'number') return null;
    const proto = (b.TCP as { prototype: Record<string, unknown> }).prototype;
    if (['readStart', 'readStop', 'writeBuffer', 'close', 'connect', 'connect6', 'setNoDelay'].some((m) => typeof proto[m] !== 'function')) return null;
    return b as unknown as SocketBindings;
  } catch {
    return null;
  }
}

const raw: SocketBindings | null = loadSocketBindings();

/** True when requests go over bare libuv handles (false: every request uses a net.Socket). */
export const rawLinksEnabled = raw !== null;

/** An error shaped as Node shapes libuv errors (`connect ECONNREFUSED 127.0.0.1:3031`, code, errno, syscall). */
function uvError(status: number, syscall: string, address?: string, port?: number): NodeJS.ErrnoException {
  const code = getSystemErrorName(status);
  const where = address === undefined ? '' : port === undefined ? ` ${address}` : ` ${address}:${port}`;
  const error = new Error(`${syscall} ${code}${where}`) as NodeJS.ErrnoException & { address?: string; port?: number };
  error.errno = status;
  error.code = code;
  error.syscall = syscall;
  if (address !== undefined) error.address = address;
  if (port !== undefined) error.port = port;
  return error;
}

function onRawRead(this: RawStreamHandle, buffer?: ArrayBuffer): void {
  const link = (this as RawHandle)[LINK];
  if (link === undefined) return;
  const read = readResult(buffer);
  if (typeof read !== 'number') link.events.onData(read);
  else if (read === UV_EOF) link.events.onEnd();
  else if (read < 0) link.failed(uvError(read, 'read'));
}

function onRawConnect(this: ConnectReq, status: number): void {
  (this as ConnectReq & { link: RawLink }).link.connected(status);
}

function onRawWrite(this: RawWriteReq, status: number): void {
  this.buffer = null;
  (this.handle as RawHandle)[LINK]?.written(status);
}

class RawLink implements Link {
  readonly events: LinkEvents;
  readonly #handle: RawHandle;
  readonly #address: string;
  readonly #port: number | undefined;
  /** Writes made before the connection was up, sent once it is. */
  #pending: Uint8Array[] | null = [];
  #pendingBytes = 0;
  /** Writes libuv could not finish at once. */
  #inFlight = 0;
  #reading = false;
  #paused = false;
  #closed = false;

  /** `family`: 4 or 6 for TCP (the host is an IP address), unused for a unix socket. */
  constructor(address: UwsgiAddress, family: number, events: LinkEvents) {
    const b = raw!;
    this.events = events;
    const isPipe = 'path' in address;
    const handle = isPipe ? new b.Pipe(b.pipeSocket) : new b.TCP(b.tcpSocket);
    this.#handle = handle;
    handle[LINK] = this;
    handle.onread = onRawRead;
    const req = (isPipe ? new b.PipeConnectWrap() : new b.TCPConnectWrap()) as ConnectReq & { link: RawLink };
    req.oncomplete = onRawConnect;
    req.link = this;
    let err: number;
    if (isPipe) {
      this.#address = address.path;
      this.#port = undefined;
      req.address = address.path;
      err = handle.connect(req, address.path);
    } else {
      const host = address.host ?? '127.0.0.1';
      this.#address = host;
      this.#port = address.port;
      req.address = host;
      req.port = address.port;
      handle.setNoDelay!(true);
      err = family === 6 ? handle.connect6!(req, host, address.port) : handle.connect(req, host, address.port);
    }
    if (err !== 0) {
      const error = uvError(err, 'connect', this.#address, this.#port);
      process.nextTick(() => this.failed(error));
      return;
    }
    // Reading from the start (libuv allows it once the socket exists) watches the socket for both events from the
    // first poll on: when the connect completes, the poller is modified once instead of re-added.
    this.#reading = handle.readStart() === 0;
  }

  connected(status: number): void {
    if (this.#closed) return;
    if (status < 0) {
      this.failed(uvError(status, 'connect', this.#address, this.#port));
      return;
    }
    const pending = this.#pending!;
    const full = this.#pendingBytes >= HIGH_WATER_MARK;
    this.#pending = null;
    this.#pendingBytes = 0;
    for (let i = 0; i < pending.length && !this.#closed; i++) this.#send(pending[i]);
    if (!this.#reading && !this.#paused && !this.#closed) this.#startReading();
    if (this.#closed) return;
    this.events.onConnect();
    if (full && this.#inFlight === 0 && !this.#closed) this.events.onDrain();
  }

  write(chunk: Uint8Array): boolean {
    if (this.#closed) return true;
    if (this.#pending !== null) {
      this.#pending.push(chunk);
      this.#pendingBytes += chunk.length;
      return this.#pendingBytes < HIGH_WATER_MARK;
    }
    return this.#send(chunk);
  }

  #send(chunk: Uint8Array): boolean {
    const err = writeRaw(this.#handle, chunk, onRawWrite);
    if (err !== 0) {
      const error = uvError(err, 'write');
      process.nextTick(() => this.failed(error));
      return false;
    }
    if (!lastWriteWasAsync()) return this.#inFlight === 0;
    this.#inFlight++;
    return false;
  }

  written(status: number): void {
    if (this.#closed) return;
    if (status < 0) {
      this.failed(uvError(status, 'write'));
      return;
    }
    if (--this.#inFlight === 0) this.events.onDrain();
  }

  get needsDrain(): boolean {
    return this.#inFlight > 0 || this.#pendingBytes >= HIGH_WATER_MARK;
  }

  pause(): void {
    this.#paused = true;
    if (this.#reading) {
      this.#reading = false;
      this.#handle.readStop();
    }
  }

  resume(): void {
    this.#paused = false;
    if (!this.#reading && this.#pending === null && !this.#closed) this.#startReading();
  }

  #startReading(): void {
    const err = this.#handle.readStart();
    if (err === 0) this.#reading = true;
    else this.failed(uvError(err, 'read'));
  }

  /** Reports `error` (the exchange then destroys the link) and makes sure the handle is closed. */
  failed(error: NodeJS.ErrnoException): void {
    if (this.#closed) return;
    this.events.onError(error);
    this.destroy();
  }

  destroy(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#handle[LINK] = undefined;
    this.#handle.close();
  }
}

/** Opens a connection to `address`: on a bare handle when possible, else through net.Socket. */
export function openLink(address: UwsgiAddress, events: LinkEvents): Link {
  if (raw === null) return new SocketLink(address, events);
  if ('path' in address) return new RawLink(address, 0, events);
  const family = net.isIP(address.host ?? '127.0.0.1');
  return family === 0 ? new SocketLink(address, events) : new RawLink(address, family, events);
}
