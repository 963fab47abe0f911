import net from 'node:net';
import { SocketBindError } from '../errors.js';

export type SocketProtocol = 'uwsgi' | 'http';

export type SocketAddress =
  | { kind: 'tcp'; host: string; port: number; family: 4 | 6; spec: string }
  | { kind: 'unix'; path: string; spec: string };

/**
 * Parses an address as uWSGI's --socket/--http-socket read it: `:3031` (every interface), `host:port`,
 * `[v6]:port`, or a unix socket path (anything with a `/`, or without a `:`).
 */
export function parseSocketAddress(spec: string): SocketAddress {
  const trimmed = spec.trim();
  if (trimmed === '') throw new SocketBindError('empty socket address');
  if (trimmed.includes('/') || !trimmed.includes(':')) return { kind: 'unix', path: trimmed, spec: trimmed };
  let host: string;
  let portText: string;
  if (trimmed.startsWith('[')) {
    const end = trimmed.indexOf(']:');
    if (end < 0) throw new SocketBindError(`malformed IPv6 socket address "${spec}" (expected [addr]:port)`);
    host = trimmed.slice(1, end);
    portText = trimmed.slice(end + 2);
  } else {
    const colon = trimmed.lastIndexOf(':');
    host = trimmed.slice(0, colon);
    portText = trimmed.slice(colon + 1);
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
    throw new SocketBindError(`malformed port in socket address "${spec}" (expected 0-65535)`);
  }
  const port = Number(portText);
  if (host === '' || host === '*') return { kind: 'tcp', host: '0.0.0.0', port, family: 4, spec: trimmed };
  if (host === 'localhost') host = '127.0.0.1';
  const family = net.isIP(host);
  if (family === 0) throw new SocketBindError(`socket address "${spec}" must use a numeric IP address, not "${host}"`);
  return { kind: 'tcp', host, port, family: family as 4 | 6, spec: trimmed };
}

export function formatSocketAddress(address: SocketAddress): string {
  if (address.kind === 'unix') return address.path;
  return address.family === 6 ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}
