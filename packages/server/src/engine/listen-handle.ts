import { existsSync, statSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { SocketBindError } from '../errors.js';
import { formatSocketAddress, type SocketAddress } from './socket-address.js';

/**
 * A bound (not yet listening) libuv server handle. The master binds every socket once and hands
 * duplicates of it to the workers over IPC; a worker listens on a duplicate and closes it to stop
 * accepting (see accept-gate.ts), so the socket, and the connections in its kernel backlog, outlive
 * any one worker.
 */
export interface BoundHandle {
  /** The opaque libuv handle (TCP or Pipe wrap) as Node's child_process can send it. */
  readonly handle: object;
  /** The address actually bound: for port 0, the port the kernel picked. */
  readonly address: SocketAddress;
  readonly fd: number;
  close(): void;
}

interface NativeServerHandle {
  getsockname?(out: Record<string, unknown>): number;
  listen?(backlog: number): number;
  fd: number;
  close(cb?: () => void): void;
}

const UV_EADDRINUSE = -98;

/**
 * libuv keeps a bind()'s EADDRINUSE to itself until listen() (its "delayed error"), and the binder
 * never listens: the workers do. So another program listening on the address would only show as
 * workers that never accept. A throwaway socket on the same address, listened on and closed at
 * once, brings the error out here, where uWSGI reports it too: `bind(): Address already in use`.
 */
function addressInUse(address: { host: string; port: number; family: number }): boolean {
  if (address.port === 0) return false;
  const probe = createServerHandle(address.host, address.port, address.family, undefined, 0);
  if (typeof probe === 'number') return probe === UV_EADDRINUSE;
  const err = probe.listen?.(1) ?? 0;
  probe.close();
  return err === UV_EADDRINUSE;
}

type CreateServerHandle = (
  address: string,
  port: number,
  addressType: number,
  fd: number | undefined,
  flags?: number,
) => NativeServerHandle | number;

const createServerHandle = (net as unknown as { _createServerHandle: CreateServerHandle })._createServerHandle;

function errnoName(code: number): string {
  const names: Record<number, string> = { [-98]: 'EADDRINUSE', [-99]: 'EADDRNOTAVAIL', [-13]: 'EACCES', [-2]: 'ENOENT' };
  return names[code] ?? `errno ${code}`;
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

/** Binds `address` in this process without listening on it (no accept happens in the binder). */
export async function bindHandle(address: SocketAddress): Promise<BoundHandle> {
  if (typeof createServerHandle !== 'function') {
    throw new SocketBindError('this Node.js build lacks net._createServerHandle; tsgi needs Node >= 20.19');
  }
  if (address.kind === 'unix') {
    if (existsSync(address.path) && statSync(address.path).isSocket() && !(await unixSocketIsLive(address.path))) {
      unlinkSync(address.path);
    }
    const handle = createServerHandle(address.path, -1, -1, undefined);
    if (typeof handle === 'number') {
      throw new SocketBindError(`unable to bind UNIX address ${address.path}: ${errnoName(handle)}`);
    }
    return {
      handle,
      address,
      fd: handle.fd,
      close: () => handle.close(),
    };
  }
  if (addressInUse(address)) {
    throw new SocketBindError(`unable to bind TCP address ${formatSocketAddress(address)}: EADDRINUSE (bind(): Address already in use)`);
  }
  const handle = createServerHandle(address.host, address.port, address.family, undefined, 0);
  if (typeof handle === 'number') {
    throw new SocketBindError(`unable to bind TCP address ${formatSocketAddress(address)}: ${errnoName(handle)}`);
  }
  const out: Record<string, unknown> = {};
  handle.getsockname?.(out);
  const port = typeof out.port === 'number' ? out.port : address.port;
  return {
    handle,
    address: { ...address, port },
    fd: handle.fd,
    close: () => handle.close(),
  };
}
