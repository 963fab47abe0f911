/**
 * `@tsgi/hub/socket`: name resolution that does not queue in libuv's 4-thread pool. Names are looked
 * up in /etc/hosts first, then through c-ares (`dns.promises.Resolver`), which runs every query on
 * the event loop, so a thousand concurrent lookups proceed together. Each lookup is a killable hub
 * wait. Names that can never resolve (labels over 63 bytes, the reserved `.invalid` domain) fail
 * without touching the network.
 */
import { promises as dnsPromises } from 'node:dns';
import { readFile, stat } from 'node:fs/promises';
import { isIP } from 'node:net';
import { HubError } from './errors.js';
import { waitFor } from './hub.js';

/** The C library's EAI_* numbers, as Python's socket.gaierror reports them. */
export const EAI_NONAME = -2;
export const EAI_AGAIN = -3;
export const EAI_FAIL = -4;
export const EAI_NODATA = -5;

const reasons: Record<number, string> = {
  [EAI_NONAME]: 'Name or service not known',
  [EAI_AGAIN]: 'Temporary failure in name resolution',
  [EAI_FAIL]: 'Non-recoverable failure in name resolution',
  [EAI_NODATA]: 'No address associated with hostname',
};

/** Python's `socket.gaierror`: `[Errno -2] Name or service not known`. */
export class ResolveError extends HubError {
  readonly errno: number;
  readonly hostname: string;

  constructor(hostname: string, errno: number, detail?: string) {
    super(
      'TSGI_ERR_HUB_RESOLVE',
      `[Errno ${errno}] ${reasons[errno] ?? 'Resolution failed'}: ${JSON.stringify(hostname)}${detail ? ` (${detail})` : ''}`,
    );
    this.errno = errno;
    this.hostname = hostname;
  }
}

export interface AddrInfo {
  family: 4 | 6;
  address: string;
  port: number;
}

export interface GetAddrInfoOptions {
  /** 0 (both, the default), 4 or 6. */
  family?: 0 | 4 | 6;
}

export interface HostsTable {
  get(name: string): { v4: string[]; v6: string[] } | undefined;
}

/** Parses the text of a hosts file into a lower-cased name table. */
export function parseHosts(text: string): HostsTable {
  const table = new Map<string, { v4: string[]; v6: string[] }>();
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    const [address, ...names] = line.split(/\s+/);
    const family = isIP(address.replace(/%.*$/, ''));
    if (family === 0) continue;
    for (const name of names) {
      const key = name.toLowerCase();
      let entry = table.get(key);
      if (entry === undefined) table.set(key, (entry = { v4: [], v6: [] }));
      const list = family === 4 ? entry.v4 : entry.v6;
      if (!list.includes(address)) list.push(address);
    }
  }
  return table;
}

const HOSTS_PATH = '/etc/hosts';
let hosts: { table: HostsTable; mtimeMs: number; checkedAt: number } | null = null;

async function hostsTable(): Promise<HostsTable> {
  const t = Date.now();
  // Re-stat at most once a second: edits to /etc/hosts are picked up without a stat per lookup.
  if (hosts !== null && t - hosts.checkedAt < 1000) return hosts.table;
  try {
    const st = await stat(HOSTS_PATH);
    if (hosts === null || st.mtimeMs !== hosts.mtimeMs) {
      hosts = { table: parseHosts(await readFile(HOSTS_PATH, 'utf8')), mtimeMs: st.mtimeMs, checkedAt: t };
    } else {
      hosts.checkedAt = t;
    }
  } catch {
    hosts = { table: parseHosts(''), mtimeMs: -1, checkedAt: t };
  }
  return hosts.table;
}

let resolver: dnsPromises.Resolver | null = null;

function checkName(host: string): string {
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  if (name === '' || Buffer.byteLength(name) > 253) throw new ResolveError(host, EAI_NONAME, 'name longer than 253 bytes');
  for (const label of name.split('.')) {
    if (label === '') throw new ResolveError(host, EAI_NONAME, 'empty label');
    if (Buffer.byteLength(label) > 63) throw new ResolveError(host, EAI_NONAME, 'label longer than 63 bytes');
  }
  return name.toLowerCase();
}

async function queryDns(host: string, family: 4 | 6): Promise<string[]> {
  resolver ??= new dnsPromises.Resolver();
  try {
    return family === 4 ? await resolver.resolve4(host) : await resolver.resolve6(host);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENODATA') return [];
    if (code === 'ENOTFOUND' || code === 'EBADNAME') throw new ResolveError(host, EAI_NONAME);
    if (code === 'ETIMEOUT' || code === 'ECONNREFUSED' || code === 'ESERVFAIL') throw new ResolveError(host, EAI_AGAIN, code);
    throw new ResolveError(host, EAI_FAIL, code);
  }
}

async function resolve(host: string, family: 0 | 4 | 6): Promise<{ v4: string[]; v6: string[] }> {
  if (typeof host !== 'string') throw new ResolveError(String(host), EAI_NONAME, 'host must be a string');
  const literal = isIP(host);
  if (literal !== 0) return literal === 4 ? { v4: [host], v6: [] } : { v4: [], v6: [host] };
  const name = checkName(host);
  const entry = (await hostsTable()).get(name);
  if (entry !== undefined && (family !== 4 || entry.v4.length > 0) && (family !== 6 || entry.v6.length > 0)) {
    return entry;
  }
  // RFC 6761: localhost names are loopback and .invalid never resolves; neither goes to DNS.
  if (name === 'localhost' || name.endsWith('.localhost')) return { v4: ['127.0.0.1'], v6: ['::1'] };
  if (name === 'invalid' || name.endsWith('.invalid')) throw new ResolveError(host, EAI_NONAME, 'reserved .invalid domain');
  const [v4, v6] = await Promise.all([
    family === 6 ? [] : queryDns(name, 4),
    family === 4 ? [] : queryDns(name, 6).catch((error: unknown) => (family === 0 ? [] : Promise.reject(error))),
  ]);
  if (v4.length === 0 && v6.length === 0) throw new ResolveError(host, EAI_NODATA);
  return { v4, v6 };
}

function hubWait<T>(work: Promise<T>): Promise<T> {
  return waitFor<T>((resolve, reject) => {
    work.then(resolve, reject);
  });
}

/** The first IPv4 address of `hostname` (Python's `socket.gethostbyname`). */
export function gethostbyname(hostname: string): Promise<string> {
  return hubWait(
    resolve(hostname, 4).then(({ v4 }) => {
      if (v4.length === 0) throw new ResolveError(hostname, EAI_NODATA);
      return v4[0];
    }),
  );
}

/** Every address of `host` (IPv4 first, then IPv6), each paired with `port`. */
export function getaddrinfo(host: string, port: number | string = 0, options: GetAddrInfoOptions = {}): Promise<AddrInfo[]> {
  const family = options.family ?? 0;
  const portNumber = typeof port === 'string' ? Number.parseInt(port, 10) : port;
  return hubWait(
    resolve(host, family).then(({ v4, v6 }) => {
      const out: AddrInfo[] = [];
      if (family !== 6) for (const address of v4) out.push({ family: 4, address, port: portNumber || 0 });
      if (family !== 4) for (const address of v6) out.push({ family: 6, address, port: portNumber || 0 });
      if (out.length === 0) throw new ResolveError(host, EAI_NODATA);
      return out;
    }),
  );
}
