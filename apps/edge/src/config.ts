import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { EdgeConfigError } from './errors.js';
import { OPTIONS, OPTION_BY_KEY, type OptionSpec } from './option-table.js';
import { parseBuffers, parseFlag, parseSize, parseTime } from './units.js';

/** A TCP address (`host` undefined means every interface) or a unix socket path. */
export type SocketAddress = { host: string | undefined; port: number } | { path: string };

export interface UpstreamServer {
  readonly address: SocketAddress;
  /** The address as written in logs and `$upstream_addr` (`127.0.0.1:3031`, `unix:/run/app.sock`). */
  readonly label: string;
  readonly weight: number;
  readonly maxFails: number;
  /** Seconds. */
  readonly failTimeout: number;
}

export interface UpstreamGroupConfig {
  readonly name: string;
  readonly servers: readonly UpstreamServer[];
  readonly balance: 'round_robin' | 'least_conn';
  /** True for a group made from an address written directly in uwsgi_pass/proxy_pass. */
  readonly implicit: boolean;
}

export interface NextUpstreamPolicy {
  readonly error: boolean;
  readonly timeout: boolean;
  readonly invalidHeader: boolean;
  readonly statuses: ReadonlySet<number>;
  readonly nonIdempotent: boolean;
  /** 0 = as many as the group has servers. */
  readonly tries: number;
}

interface LocationCommon {
  readonly prefix: string;
  readonly buffering: boolean;
  readonly bufferSize: number;
  readonly buffers: { readonly count: number; readonly size: number };
  readonly maxTempFileSize: number;
  readonly requestBuffering: boolean;
  readonly clientMaxBodySize: number;
  readonly clientBodyBufferSize: number;
  /** Seconds. */
  readonly connectTimeout: number;
  readonly sendTimeout: number;
  readonly readTimeout: number;
  /** Lower-cased header names. */
  readonly ignoreHeaders: ReadonlySet<string>;
  readonly nextUpstream: NextUpstreamPolicy;
  readonly modifier1: number;
  readonly modifier2: number;
}

export interface UwsgiLocation extends LocationCommon {
  readonly kind: 'uwsgi';
  readonly upstream: string;
}
export interface ProxyLocation extends LocationCommon {
  readonly kind: 'proxy';
  readonly upstream: string;
  /** The path part of proxy_pass, which replaces the matched prefix (nginx); null keeps the URI as it came. */
  readonly uriPrefix: string | null;
}
export interface StaticLocation extends LocationCommon {
  readonly kind: 'static';
  readonly root: string;
  readonly index: readonly string[];
}
export type Location = UwsgiLocation | ProxyLocation | StaticLocation;

export interface EdgeConfig {
  readonly listen: SocketAddress;
  readonly serverName: string;
  /** null = off; '-' = stdout. */
  readonly accessLog: string | null;
  /** '-' = stderr. */
  readonly errorLog: string;
  readonly tempPath: string | null;
  readonly documentRoot: string;
  readonly clientHeaderTimeout: number;
  readonly clientBodyTimeout: number;
  readonly clientSendTimeout: number;
  readonly keepaliveTimeout: number;
  readonly maxHeaderSize: number;
  readonly shutdownTimeout: number;
  /** Idle connections kept per HTTP upstream server; 0 = none. */
  readonly upstreamKeepalive: number;
  /** Sorted longest prefix first. */
  readonly locations: readonly Location[];
  readonly upstreams: ReadonlyMap<string, UpstreamGroupConfig>;
}

type Raw = Record<string, unknown>;

const LOCATION_KEYS = new Set(OPTIONS.filter((o) => o.scope === 'location').map((o) => o.key));
const SERVER_KEYS = new Set([...OPTIONS.filter((o) => o.scope === 'server').map((o) => o.key), 'locations', 'upstreams']);

function isObject(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function convert(spec: OptionSpec, value: unknown, key: string): unknown {
  switch (spec.kind) {
    case 'size':
      return parseSize(value, key);
    case 'time':
      return parseTime(value, key);
    case 'flag':
      return parseFlag(value, key);
    case 'buffers':
      return parseBuffers(value, key);
    case 'int': {
      const n = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw new EdgeConfigError(key, `expected a whole number >= 0, got ${JSON.stringify(value)}`);
      return n;
    }
    case 'string':
      if (typeof value !== 'string' || value === '') throw new EdgeConfigError(key, `expected a non-empty string, got ${JSON.stringify(value)}`);
      return value;
    case 'list': {
      const list = typeof value === 'string' ? value.split(/[\s,]+/).filter(Boolean) : value;
      if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) throw new EdgeConfigError(key, `expected a list of strings, got ${JSON.stringify(value)}`);
      if (spec.values) {
        for (const item of list) {
          if (!spec.values.includes(item)) throw new EdgeConfigError(key, `unknown value ${JSON.stringify(item)}; expected some of ${spec.values.join(', ')}`);
        }
      }
      return list;
    }
    case 'enum':
      if (typeof value !== 'string' || !spec.values?.includes(value)) throw new EdgeConfigError(key, `expected one of ${spec.values?.join(', ')}, got ${JSON.stringify(value)}`);
      return value;
  }
}

function valueOf(key: string, raw: Raw, defaults: Raw, path: string): unknown {
  const spec = OPTION_BY_KEY.get(key)!;
  if (raw[key] !== undefined) return convert(spec, raw[key], `${path}${key}`);
  if (defaults[key] !== undefined) return convert(spec, defaults[key], key);
  return spec.default === null ? null : convert(spec, spec.default, key);
}

/** Parses `HOST:PORT`, `:PORT`, `[v6]:PORT`, `PORT` or `unix:/path`. */
export function parseSocketAddress(value: string, key: string, defaultPort?: number): SocketAddress {
  if (value.startsWith('unix:')) {
    const path = value.slice(5);
    if (path === '') throw new EdgeConfigError(key, 'unix: needs a socket path, such as unix:/run/app.sock');
    return { path };
  }
  let host: string | undefined;
  let port: string | undefined;
  const v6 = /^\[([0-9a-fA-F:.%\w]+)\](?::(\d+))?$/.exec(value);
  if (v6) {
    host = v6[1];
    port = v6[2];
  } else if (/^\d+$/.test(value)) {
    port = value;
  } else {
    const idx = value.lastIndexOf(':');
    if (idx === -1) host = value;
    else {
      host = value.slice(0, idx) || undefined;
      port = value.slice(idx + 1);
    }
  }
  if (host !== undefined && !/^[\w.\-:%]+$/.test(host)) throw new EdgeConfigError(key, `bad host in ${JSON.stringify(value)}`);
  const p = port === undefined || port === '' ? defaultPort : Number(port);
  if (p === undefined || !Number.isInteger(p) || p < 0 || p > 65535 || (port !== undefined && !/^\d+$/.test(port))) {
    throw new EdgeConfigError(key, `expected HOST:PORT, :PORT or unix:/path, got ${JSON.stringify(value)}`);
  }
  return { host, port: p };
}

export function addressLabel(a: SocketAddress): string {
  if ('path' in a) return `unix:${a.path}`;
  const host = a.host ?? '0.0.0.0';
  return host.includes(':') ? `[${host}]:${a.port}` : `${host}:${a.port}`;
}

function parseServer(raw: unknown, key: string): UpstreamServer {
  const obj: Raw = typeof raw === 'string' ? { address: raw } : isObject(raw) ? raw : {};
  if (typeof obj.address !== 'string') throw new EdgeConfigError(`${key}.address`, 'each server needs an address such as "127.0.0.1:3031" or "unix:/run/app.sock"');
  for (const k of Object.keys(obj)) {
    if (!['address', 'weight', 'max_fails', 'fail_timeout'].includes(k)) throw new EdgeConfigError(`${key}.${k}`, 'unknown key (expected address, weight, max_fails, fail_timeout)');
  }
  const address = parseSocketAddress(obj.address, `${key}.address`);
  if ('port' in address && address.host === undefined) throw new EdgeConfigError(`${key}.address`, 'an upstream address needs a host');
  const weight = obj.weight === undefined ? 1 : obj.weight;
  if (typeof weight !== 'number' || !Number.isSafeInteger(weight) || weight < 1) throw new EdgeConfigError(`${key}.weight`, `expected a whole number >= 1, got ${JSON.stringify(obj.weight)}`);
  const maxFails = obj.max_fails === undefined ? 1 : obj.max_fails;
  if (typeof maxFails !== 'number' || !Number.isSafeInteger(maxFails) || maxFails < 0) throw new EdgeConfigError(`${key}.max_fails`, `expected a whole number >= 0, got ${JSON.stringify(obj.max_fails)}`);
  const failTimeout = obj.fail_timeout === undefined ? 10 : parseTime(obj.fail_timeout, `${key}.fail_timeout`);
  return { address, label: addressLabel(address), weight, maxFails, failTimeout };
}

function parseUpstreams(raw: unknown): Map<string, UpstreamGroupConfig> {
  const groups = new Map<string, UpstreamGroupConfig>();
  if (raw === undefined) return groups;
  if (!isObject(raw)) throw new EdgeConfigError('upstreams', 'expected a mapping of group name to { servers, balance }');
  for (const [name, def] of Object.entries(raw)) {
    const key = `upstreams.${name}`;
    if (!/^[A-Za-z_][\w.-]*$/.test(name)) throw new EdgeConfigError(key, 'a group name is letters, digits, "_", "-" and "." and must not start with a digit');
    if (!isObject(def)) throw new EdgeConfigError(key, 'expected { servers: [...], balance: round_robin | least_conn }');
    for (const k of Object.keys(def)) {
      if (k !== 'servers' && k !== 'balance') throw new EdgeConfigError(`${key}.${k}`, 'unknown key (expected servers, balance)');
    }
    if (!Array.isArray(def.servers) || def.servers.length === 0) throw new EdgeConfigError(`${key}.servers`, 'expected a non-empty list of servers');
    const balance = def.balance ?? 'round_robin';
    if (balance !== 'round_robin' && balance !== 'least_conn') throw new EdgeConfigError(`${key}.balance`, `expected round_robin or least_conn, got ${JSON.stringify(balance)}`);
    groups.set(name, {
      name,
      servers: def.servers.map((s, i) => parseServer(s, `${key}.servers[${i}]`)),
      balance,
      implicit: false,
    });
  }
  return groups;
}

function nextUpstreamPolicy(list: string[], tries: number): NextUpstreamPolicy {
  const off = list.includes('off');
  return {
    error: !off && list.includes('error'),
    timeout: !off && list.includes('timeout'),
    invalidHeader: !off && list.includes('invalid_header'),
    statuses: new Set(off ? [] : list.filter((x) => x.startsWith('http_')).map((x) => Number(x.slice(5)))),
    nonIdempotent: !off && list.includes('non_idempotent'),
    tries,
  };
}

function normalizeLocation(raw: unknown, defaults: Raw, index: number, groups: Map<string, UpstreamGroupConfig>, baseDir: string): Location {
  const path = `locations[${index}].`;
  if (!isObject(raw)) throw new EdgeConfigError(`locations[${index}]`, 'expected an object such as { prefix: "/", uwsgi_pass: "127.0.0.1:3031" }');
  for (const k of Object.keys(raw)) {
    if (!LOCATION_KEYS.has(k)) throw new EdgeConfigError(`${path}${k}`, `unknown key; a location takes ${[...LOCATION_KEYS].join(', ')}`);
  }
  const prefix = raw.prefix === undefined ? '/' : raw.prefix;
  if (typeof prefix !== 'string' || !prefix.startsWith('/')) throw new EdgeConfigError(`${path}prefix`, `expected a URI prefix starting with "/", got ${JSON.stringify(raw.prefix)}`);
  const targets = (['uwsgi_pass', 'proxy_pass', 'static'] as const).filter((k) => raw[k] !== undefined);
  if (targets.length !== 1) throw new EdgeConfigError(`${path}${targets[1] ?? 'uwsgi_pass'}`, 'a location needs exactly one of uwsgi_pass, proxy_pass, static');
  const get = (k: string) => valueOf(k, raw, defaults, path);
  const bufferSize = get('buffer_size') as number;
  if (bufferSize < 1) throw new EdgeConfigError(`${path}buffer_size`, 'must be at least 1 byte');
  const common: LocationCommon = {
    prefix,
    buffering: get('buffering') as boolean,
    bufferSize,
    buffers: get('buffers') as { count: number; size: number },
    maxTempFileSize: get('max_temp_file_size') as number,
    requestBuffering: get('request_buffering') as boolean,
    clientMaxBodySize: get('client_max_body_size') as number,
    clientBodyBufferSize: get('client_body_buffer_size') as number,
    connectTimeout: get('connect_timeout') as number,
    sendTimeout: get('send_timeout') as number,
    readTimeout: get('read_timeout') as number,
    ignoreHeaders: new Set((get('ignore_headers') as string[]).map((h) => h.toLowerCase())),
    nextUpstream: nextUpstreamPolicy(get('next_upstream') as string[], get('next_upstream_tries') as number),
    modifier1: get('modifier1') as number,
    modifier2: get('modifier2') as number,
  };
  for (const k of ['connect_timeout', 'send_timeout', 'read_timeout'] as const) {
    if ((get(k) as number) <= 0) throw new EdgeConfigError(`${path}${k}`, 'must be more than 0 seconds');
  }
  if (common.modifier1 > 255) throw new EdgeConfigError(`${path}modifier1`, 'must be 0..255');
  if (common.modifier2 > 255) throw new EdgeConfigError(`${path}modifier2`, 'must be 0..255');
  const target = targets[0];
  const value = raw[target];
  if (typeof value !== 'string' || value === '') throw new EdgeConfigError(`${path}${target}`, 'expected a non-empty string');
  if (target === 'static') {
    return { ...common, kind: 'static', root: isAbsolute(value) ? value : resolve(baseDir, value), index: get('index') as string[] };
  }
  if (target === 'uwsgi_pass') {
    const bare = value.replace(/^uwsgi:\/\//, '');
    return { ...common, kind: 'uwsgi', upstream: implicitGroup(bare, `${path}uwsgi_pass`, groups) };
  }
  const m = /^http:\/\/(unix:[^:]+:?|\[[^\]]+\](?::\d+)?|[^/]+)(\/.*)?$/.exec(value);
  if (!m) throw new EdgeConfigError(`${path}proxy_pass`, `expected http://HOST:PORT[/path], http://unix:/path: or http://GROUP, got ${JSON.stringify(value)}`);
  const hostPart = m[1].startsWith('unix:') ? m[1].replace(/:$/, '') : m[1];
  return { ...common, kind: 'proxy', upstream: implicitGroup(hostPart, `${path}proxy_pass`, groups, 80), uriPrefix: m[2] ?? null };
}

/** A uwsgi_pass/proxy_pass names a group, or is an address that becomes a one-server group of its own. */
function implicitGroup(value: string, key: string, groups: Map<string, UpstreamGroupConfig>, defaultPort?: number): string {
  const named = groups.get(value);
  if (named && !named.implicit) return value;
  if (!value.startsWith('unix:') && !value.includes(':') && !value.startsWith('[') && defaultPort === undefined) {
    throw new EdgeConfigError(key, `no upstream group named ${JSON.stringify(value)} (and it is not HOST:PORT or unix:/path)`);
  }
  if (defaultPort !== undefined && !value.includes(':') && !/^[\d.]+$/.test(value) && value !== 'localhost') {
    throw new EdgeConfigError(key, `no upstream group named ${JSON.stringify(value)} (write http://HOST:PORT for a single server)`);
  }
  const address = parseSocketAddress(value, key, defaultPort);
  if ('port' in address && address.host === undefined) throw new EdgeConfigError(key, 'an upstream address needs a host, such as 127.0.0.1:3031');
  const server: UpstreamServer = { address, label: addressLabel(address), weight: 1, maxFails: 1, failTimeout: 10 };
  const name = `=${server.label}`;
  groups.set(name, { name, servers: [server], balance: 'round_robin', implicit: true });
  return name;
}

/**
 * Validates a configuration object (as read from JSON/YAML, or built from flags) and fills in nginx's defaults.
 * Throws EdgeConfigError naming the offending key. `baseDir` resolves relative static roots.
 */
export function normalizeConfig(raw: unknown, baseDir = process.cwd()): EdgeConfig {
  if (!isObject(raw)) throw new EdgeConfigError('(top level)', 'expected a mapping with listen, locations and optionally upstreams');
  for (const k of Object.keys(raw)) {
    if (!SERVER_KEYS.has(k) && !LOCATION_KEYS.has(k)) throw new EdgeConfigError(k, `unknown key; the top level takes ${[...SERVER_KEYS].join(', ')} and location defaults (${[...LOCATION_KEYS].filter((x) => x !== 'prefix').join(', ')})`);
  }
  for (const k of ['prefix', 'uwsgi_pass', 'proxy_pass', 'static']) {
    if (raw[k] !== undefined) throw new EdgeConfigError(k, 'belongs in an entry of locations, not at the top level');
  }
  const get = (k: string) => valueOf(k, raw, {}, '');
  const groups = parseUpstreams(raw.upstreams);
  if (!Array.isArray(raw.locations) || raw.locations.length === 0) throw new EdgeConfigError('locations', 'expected a non-empty list of locations, such as [{ prefix: "/", uwsgi_pass: "127.0.0.1:3031" }]');
  const locations = raw.locations.map((l, i) => normalizeLocation(l, raw, i, groups, baseDir));
  const seen = new Set<string>();
  locations.forEach((l, i) => {
    if (seen.has(l.prefix)) throw new EdgeConfigError(`locations[${i}].prefix`, `duplicate location prefix ${JSON.stringify(l.prefix)}`);
    seen.add(l.prefix);
  });
  locations.sort((a, b) => b.prefix.length - a.prefix.length);
  const accessLog = get('access_log') as string;
  const headerBuffers = get('large_client_header_buffers') as { count: number; size: number };
  return {
    listen: parseSocketAddress(get('listen') as string, 'listen'),
    serverName: get('server_name') as string,
    accessLog: accessLog === 'off' ? null : accessLog,
    errorLog: get('error_log') as string,
    tempPath: get('temp_path') as string | null,
    documentRoot: get('document_root') as string,
    clientHeaderTimeout: get('client_header_timeout') as number,
    clientBodyTimeout: get('client_body_timeout') as number,
    clientSendTimeout: get('client_send_timeout') as number,
    keepaliveTimeout: get('keepalive_timeout') as number,
    maxHeaderSize: headerBuffers.count * headerBuffers.size,
    shutdownTimeout: get('shutdown_timeout') as number,
    upstreamKeepalive: get('upstream_keepalive') as number,
    locations,
    upstreams: groups,
  };
}

/** Reads a JSON (`.json`) or YAML (anything else) config file and normalizes it. */
export async function loadConfigFile(file: string): Promise<Raw> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new EdgeConfigError('--config', `cannot read ${file}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new EdgeConfigError('--config', `${file} is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`);
  }
  if (!isObject(raw)) throw new EdgeConfigError('--config', `${file} must hold a mapping at the top level`);
  return raw;
}

/** The location a request path goes to: the longest matching prefix (locations are sorted that way). */
export function matchLocation(config: EdgeConfig, path: string): Location | undefined {
  return config.locations.find((l) => path.startsWith(l.prefix));
}
