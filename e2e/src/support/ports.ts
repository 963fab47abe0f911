import { readdir, readFile, readlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { E2eError } from './errors.js';

/** A TCP address a peer listens on. */
export interface TcpAddress {
  host: string;
  port: number;
}

/** A unix-domain socket a peer listens on. */
export interface UnixAddress {
  path: string;
}

export type PeerAddress = TcpAddress | UnixAddress;

export function isUnixAddress(address: PeerAddress): address is UnixAddress {
  return 'path' in address;
}

/** `host:port` (IPv6 in brackets) or the socket path. */
export function formatAddress(address: PeerAddress): string {
  if (isUnixAddress(address)) return address.path;
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

function decodeProcAddress(hex: string): TcpAddress {
  const [addrHex, portHex] = hex.split(':');
  const port = parseInt(portHex, 16);
  if (addrHex.length === 8) {
    // /proc prints the IPv4 address as one host-order (little-endian) 32-bit word.
    const bytes = Buffer.from(addrHex, 'hex').reverse();
    return { host: [...bytes].join('.'), port };
  }
  const words: string[] = [];
  for (let i = 0; i < 32; i += 8) {
    const word = Buffer.from(addrHex.slice(i, i + 8), 'hex').reverse();
    words.push(word.subarray(0, 2).toString('hex'), word.subarray(2, 4).toString('hex'));
  }
  const host = words.map((w) => w.replace(/^0+(?=.)/, '')).join(':');
  return { host: host === '0:0:0:0:0:0:0:0' ? '::' : host === '0:0:0:0:0:0:0:1' ? '::1' : host, port };
}

/** Parses the text of /proc/net/tcp or tcp6 into LISTEN sockets keyed by inode. */
export function parseProcNetTcp(text: string): Map<string, TcpAddress> {
  const listening = new Map<string, TcpAddress>();
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 10 || cols[3] !== '0A') continue;
    listening.set(cols[9], decodeProcAddress(cols[1]));
  }
  return listening;
}

/**
 * The TCP addresses process `pid` listens on, found from the socket inodes among its open file
 * descriptors. This is how the toolkit learns the port a peer bound when it was given port 0 but
 * does not print the port it got (uWSGI's http router, for one).
 */
export async function listeningTcpAddresses(pid: number): Promise<TcpAddress[]> {
  let fds: string[];
  try {
    fds = await readdir(`/proc/${pid}/fd`);
  } catch {
    return [];
  }
  const inodes = new Set<string>();
  await Promise.all(
    fds.map(async (fd) => {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m) inodes.add(m[1]);
    }),
  );
  const found: TcpAddress[] = [];
  for (const table of ['tcp', 'tcp6']) {
    const text = await readFile(`/proc/${pid}/net/${table}`, 'utf8').catch(() => '');
    for (const [inode, address] of parseProcNetTcp(text)) if (inodes.has(inode)) found.push(address);
  }
  return found;
}

/** Polls until `pid` listens on at least `count` TCP sockets; `timeout` in seconds. */
export async function waitForListening(pid: number, count = 1, timeout = 10): Promise<TcpAddress[]> {
  const deadline = performance.now() + timeout * 1000;
  for (;;) {
    const found = await listeningTcpAddresses(pid);
    if (found.length >= count) return found;
    if (performance.now() > deadline) {
      throw new E2eError('TSGI_ERR_E2E_PORT', `process ${pid} listened on ${found.length} of ${count} TCP sockets after ${timeout} s; check its log`);
    }
    await delay(20);
  }
}

/**
 * A port the kernel just handed out for `host`, released again. Only for peers that refuse port 0
 * (nginx, Apache): another process may take it before the peer binds it, so pair it with
 * `withPortRetry`, which starts again on a fresh port when the bind fails.
 */
export async function reserveEphemeralPort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The error a peer reports when its port was taken in the meantime. */
export const ADDRESS_IN_USE = /Address already in use|EADDRINUSE|could not bind to address/i;

/**
 * Runs `attempt` with a fresh ephemeral port, again (up to `attempts` times) when it fails because
 * the port was taken between reservation and bind.
 */
export async function withPortRetry<T>(attempt: (port: number) => Promise<T>, attempts = 5, host = '127.0.0.1'): Promise<T> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    const port = await reserveEphemeralPort(host);
    try {
      return await attempt(port);
    } catch (err) {
      last = err;
      if (!(err instanceof Error) || !ADDRESS_IN_USE.test(err.message)) throw err;
    }
  }
  throw last;
}
