import type { PeerAddress } from './ports.js';

/** One listening socket as uWSGI (and tsgi) report it at startup. */
export interface BoundSocket {
  /** uWSGI's socket number: the order the socket options were given in. */
  index: number;
  address: PeerAddress;
  fd: number;
}

/**
 * Matches uWSGI's startup lines
 * `uwsgi socket 0 bound to TCP address 127.0.0.1:45737 (port auto-assigned) fd 3` and
 * `uwsgi socket 1 bound to UNIX address /tmp/app.sock fd 5`; tsgi prints the same.
 */
export const BOUND_SOCKET_LINE = /^uwsgi socket (\d+) bound to (TCP|UNIX) address (.+?)(?: \(port auto-assigned\))? fd (\d+)\s*$/;

export function parseBoundSocketLine(line: string): BoundSocket | undefined {
  const m = BOUND_SOCKET_LINE.exec(line);
  if (!m) return undefined;
  const [, index, kind, where, fd] = m;
  let address: PeerAddress;
  if (kind === 'UNIX') {
    address = { path: where };
  } else {
    const colon = where.lastIndexOf(':');
    const host = where.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
    address = { host: host === '' ? '0.0.0.0' : host, port: Number(where.slice(colon + 1)) };
  }
  return { index: Number(index), address, fd: Number(fd) };
}

/** Every bound-socket line in `lines`, ordered by socket number. */
export function parseBoundSockets(lines: Iterable<string>): BoundSocket[] {
  const found: BoundSocket[] = [];
  for (const line of lines) {
    const s = parseBoundSocketLine(line);
    if (s) found.push(s);
  }
  return found.sort((a, b) => a.index - b.index);
}

/** Kinds of listening sockets, in the order their options appear in a uWSGI-style argument list. */
export type SocketKind = 'uwsgi' | 'http';

const SOCKET_FLAGS: Record<string, SocketKind> = {
  '--socket': 'uwsgi',
  '-s': 'uwsgi',
  '--uwsgi-socket': 'uwsgi',
  '--http-socket': 'http',
  '--http11-socket': 'http',
};

/** The kind of each socket option in `args`, in order: index i here is uWSGI's socket i. */
export function socketKindsFromArgs(args: readonly string[]): SocketKind[] {
  const kinds: SocketKind[] = [];
  for (const arg of args) {
    const flag = arg.split('=')[0];
    const kind = SOCKET_FLAGS[flag];
    if (kind) kinds.push(kind);
  }
  return kinds;
}
