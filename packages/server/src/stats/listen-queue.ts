import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { parseSocketAddress, type SocketAddress } from '../engine/socket-address.js';

const TCP_LISTEN = '0A';
// /proc/net/unix: the Flags bit of a listening socket (__SO_ACCEPTCON) and the state of a
// connection the kernel queued on a listener but nobody accepted yet (SS_CONNECTING, no inode).
const SO_ACCEPTCON = 0x10000;
const SS_CONNECTING = '02';

/** The 4 or 16 bytes of a numeric IP address, or null when it is not one. */
export function ipAddressBytes(host: string): number[] | null {
  const bare = host.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const family = net.isIP(bare);
  if (family === 4) return bare.split('.').map(Number);
  if (family !== 6) return null;
  let text = bare;
  let tail: number[] = [];
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    tail = dotted[1].split('.').map(Number);
    text = `${text.slice(0, dotted.index)}0:0`;
  }
  const [head, rest] = text.includes('::') ? text.split('::') : [text, undefined];
  const groups = (part: string | undefined) => (part ? part.split(':').filter((g) => g !== '') : []);
  const left = groups(head);
  const right = groups(rest);
  const words = [...left, ...Array(8 - left.length - right.length).fill('0'), ...right].map((g) => parseInt(g, 16));
  const bytes = words.flatMap((w) => [w >> 8, w & 0xff]);
  if (tail.length === 4) bytes.splice(12, 4, ...tail);
  return bytes;
}

/**
 * Decodes a /proc/net/tcp{,6} address field (`0100007F:0BB8`): the kernel prints the address as
 * 32-bit words in host byte order, so on little-endian machines each word's bytes come reversed.
 */
export function decodeProcNetAddress(field: string, littleEndian = isLittleEndian()): { bytes: number[]; port: number } | null {
  const [hex, portHex] = field.split(':');
  if (!hex || !portHex || (hex.length !== 8 && hex.length !== 32) || !/^[0-9A-Fa-f]+$/.test(hex + portHex)) return null;
  const bytes: number[] = [];
  for (let word = 0; word < hex.length; word += 8) {
    const chunk = [0, 2, 4, 6].map((i) => parseInt(hex.slice(word + i, word + i + 2), 16));
    bytes.push(...(littleEndian ? chunk.reverse() : chunk));
  }
  return { bytes, port: parseInt(portHex, 16) };
}

function isLittleEndian(): boolean {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
}

/**
 * The accept backlog of the LISTEN socket(s) bound to host:port, from the text of /proc/net/tcp or
 * /proc/net/tcp6: for a listening socket the kernel prints its current accept queue as rx_queue.
 * Several listeners on one address (SO_REUSEPORT) are summed. undefined: no such listener.
 */
export function tcpListenQueueFromProc(text: string, host: string, port: number, littleEndian = isLittleEndian()): number | undefined {
  const want = ipAddressBytes(host);
  if (!want) return undefined;
  let total: number | undefined;
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    // sl local_address rem_address st tx_queue:rx_queue ...
    if (fields.length < 5 || fields[3] !== TCP_LISTEN) continue;
    const local = decodeProcNetAddress(fields[1], littleEndian);
    if (!local || local.port !== port || local.bytes.length !== want.length || local.bytes.some((b, i) => b !== want[i])) continue;
    const rx = parseInt(fields[4].split(':')[1] ?? '', 16);
    if (Number.isFinite(rx)) total = (total ?? 0) + rx;
  }
  return total;
}

/**
 * The connections queued on the listening unix socket at `path`, from the text of /proc/net/unix:
 * the kernel lists each not-yet-accepted connection as a socket with the listener's path, state
 * SS_CONNECTING and no inode. undefined: no listener has that path.
 */
export function unixListenQueueFromProc(text: string, path: string): number | undefined {
  let listening = false;
  let queued = 0;
  for (const line of text.split('\n')) {
    // Num RefCount Protocol Flags Type St Inode Path: the path is everything after the 7th field.
    const match = /^\s*\S+:\s+[0-9A-Fa-f]+\s+[0-9A-Fa-f]+\s+([0-9A-Fa-f]+)\s+[0-9A-Fa-f]+\s+([0-9A-Fa-f]+)\s+(\d+)\s(.*)$/.exec(line);
    if (!match || match[4] !== path) continue;
    if ((parseInt(match[1], 16) & SO_ACCEPTCON) !== 0) listening = true;
    else if (match[2] === SS_CONNECTING && match[3] === '0') queued++;
  }
  return listening ? queued : undefined;
}

/**
 * How many connections wait in the kernel listen backlog of a bound socket right now (what uWSGI
 * reports as a socket's `queue` and sums into `listen_queue`). Linux only: reads /proc/net/tcp,
 * /proc/net/tcp6 or /proc/net/unix. Resolves undefined when the figure cannot be known (another OS,
 * /proc unreadable, no listener on that address); it never rejects.
 */
export async function listenQueueLength(address: SocketAddress | string): Promise<number | undefined> {
  let addr: SocketAddress;
  try {
    addr = typeof address === 'string' ? parseSocketAddress(address) : address;
  } catch {
    return undefined;
  }
  if (process.platform !== 'linux') return undefined;
  try {
    if (addr.kind === 'unix') return unixListenQueueFromProc(await readFile('/proc/net/unix', 'utf8'), addr.path);
    const file = net.isIP(addr.host) === 6 ? '/proc/net/tcp6' : '/proc/net/tcp';
    return tcpListenQueueFromProc(await readFile(file, 'latin1'), addr.host, addr.port);
  } catch {
    return undefined;
  }
}
