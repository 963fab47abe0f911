/**
 * patchNet(): client sockets belong to the greenlet that connects them (or, for a pooled
 * keep-alive socket, to the greenlet whose request checked it out); killing that greenlet destroys
 * them with its exception, and a Timeout does so when the greenlet is blocked outside a hub wait
 * (that is, on the socket). dns.lookup goes through the hub's resolver.
 */
import dns from 'node:dns';
import http from 'node:http';
import { syncBuiltinESMExports } from 'node:module';
import net from 'node:net';
import type { Greenlet } from '@tsgi/hub';
import { greenletStorage, isKilled, onKill, onThrow } from '@tsgi/hub/internal';
import { getaddrinfo, type AddrInfo } from '@tsgi/hub/socket';
import { markPatched } from './registry.js';

type LookupCallback = (err: Error | null, address?: string | dns.LookupAddress[], family?: number) => void;

const original = {
  connect: net.Socket.prototype.connect,
  addRequest: (http.Agent.prototype as any).addRequest as (this: http.Agent, req: http.ClientRequest, ...rest: any[]) => void,
  lookup: dns.lookup,
  promisesLookup: dns.promises.lookup,
};

interface Ownership {
  owner: Greenlet<any> | null;
}

const ownership = new WeakMap<net.Socket, Ownership>();
const socketsOf = new WeakMap<Greenlet<any>, Set<net.Socket>>();

function socketSet(g: Greenlet<any>): Set<net.Socket> {
  let set = socketsOf.get(g);
  if (set === undefined) {
    const s = new Set<net.Socket>();
    set = s;
    socketsOf.set(g, s);
    onKill(g, (reason) => {
      socketsOf.delete(g);
      for (const socket of s) socket.destroy(asError(reason));
      s.clear();
    });
    // A Timeout that finds the greenlet outside any hub wait reaches it through its sockets, which
    // is where it is blocked; delivered that way, it must not surface again at the next hub wait.
    onThrow(g, (exc, interrupted) => {
      if (interrupted || isKilled(g) || s.size === 0) return false;
      const err = asError(exc);
      for (const socket of [...s]) socket.destroy(err);
      return true;
    });
  }
  return set;
}

/** Socket.destroy() wants an Error; kill() may throw anything into a greenlet. */
function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : Object.assign(new Error(`greenlet killed with ${String(reason)}`), { cause: reason });
}

function ownable(g: Greenlet<any> | null | undefined): g is Greenlet<any> {
  return g !== null && g !== undefined && !g.dead && !isKilled(g);
}

/** Makes `owner` (null: nobody) the owner of `socket`, releasing it from its previous owner. */
export function bindSocket(socket: net.Socket, owner: Greenlet<any> | null): void {
  let rec = ownership.get(socket);
  if (rec === undefined) {
    const r: Ownership = { owner: null };
    rec = r;
    ownership.set(socket, r);
    const release = (): void => bindSocket(socket, null);
    socket.once('close', release);
    // A keep-alive socket handed back to its Agent's pool is nobody's until checked out again.
    socket.on('free', release);
  }
  if (rec.owner === owner) return;
  if (rec.owner !== null) socketsOf.get(rec.owner)?.delete(socket);
  rec.owner = ownable(owner) && !socket.destroyed ? owner : null;
  if (rec.owner !== null) socketSet(rec.owner).add(socket);
}

/** The greenlet that owns `socket` now, or null. */
export function socketOwner(socket: net.Socket): Greenlet<any> | null {
  return ownership.get(socket)?.owner ?? null;
}

function patchedConnect(this: net.Socket, ...args: any[]): net.Socket {
  const g = greenletStorage.getStore();
  if (ownable(g)) bindSocket(this, g);
  return (original.connect as (...a: any[]) => net.Socket).apply(this, args);
}

/*
 * The request is made in its greenlet (http.request calls addRequest synchronously), but the socket
 * may come later from another context (a queued request gets the socket another one freed), so the
 * owner is taken now and applied when the socket is assigned.
 */
function patchedAddRequest(this: http.Agent, req: http.ClientRequest, ...rest: any[]): void {
  const g = greenletStorage.getStore();
  if (ownable(g)) req.once('socket', (socket: net.Socket) => bindSocket(socket, g));
  original.addRequest.call(this, req, ...rest);
}

const UV_ERRNO: Record<string, number> = { ENOTFOUND: -3008, EAI_AGAIN: -3001, EAI_FAIL: -3007 };

/** The error Node's own lookup would give (`getaddrinfo ENOTFOUND host`), caused by the hub's. */
function lookupError(error: unknown, hostname: string): unknown {
  const errno = (error as { errno?: unknown; code?: unknown }).errno;
  if ((error as { code?: unknown }).code !== 'TSGI_ERR_HUB_RESOLVE' || typeof errno !== 'number') return error;
  const code = errno === -3 ? 'EAI_AGAIN' : errno === -4 ? 'EAI_FAIL' : 'ENOTFOUND';
  return Object.assign(new Error(`getaddrinfo ${code} ${hostname}`, { cause: error }), {
    code,
    errno: UV_ERRNO[code],
    syscall: 'getaddrinfo',
    hostname,
  });
}

interface LookupOpts {
  family: 0 | 4 | 6;
  all: boolean;
  order: 'ipv4first' | 'ipv6first' | 'verbatim';
}

/** Options the hub resolver can answer; null sends the call to Node's lookup (and its errors). */
function lookupOptions(options: unknown): LookupOpts | null {
  if (options === undefined) return { family: 0, all: false, order: 'ipv4first' };
  if (typeof options === 'number') return options === 0 || options === 4 || options === 6 ? { family: options, all: false, order: 'ipv4first' } : null;
  if (typeof options !== 'object' || options === null) return null;
  const o = options as dns.LookupOptions & { order?: string };
  const f = o.family === 'IPv4' ? 4 : o.family === 'IPv6' ? 6 : (o.family ?? 0);
  if (f !== 0 && f !== 4 && f !== 6) return null;
  const order = o.order === 'ipv6first' ? 'ipv6first' : 'ipv4first';
  return { family: f, all: o.all === true, order };
}

function ordered(list: AddrInfo[], order: LookupOpts['order']): AddrInfo[] {
  if (order !== 'ipv6first') return list;
  return [...list.filter((a) => a.family === 6), ...list.filter((a) => a.family === 4)];
}

function patchedLookup(hostname: string, options: unknown, callback?: unknown): void {
  if (typeof options === 'function') {
    callback = options;
    options = undefined;
  }
  const opts = lookupOptions(options);
  if (opts === null || typeof callback !== 'function' || typeof hostname !== 'string' || hostname === '') {
    return (original.lookup as any)(hostname, options, callback);
  }
  const cb = callback as LookupCallback;
  getaddrinfo(hostname, 0, { family: opts.family }).then(
    (list) => {
      const addrs = ordered(list, opts.order);
      if (opts.all) cb(null, addrs.map((a) => ({ address: a.address, family: a.family })));
      else cb(null, addrs[0].address, addrs[0].family);
    },
    (error: unknown) => cb(lookupError(error, hostname) as Error),
  );
}

async function patchedPromisesLookup(hostname: string, options?: unknown): Promise<any> {
  const opts = lookupOptions(options);
  if (opts === null || typeof hostname !== 'string' || hostname === '') return (original.promisesLookup as any)(hostname, options);
  let list: AddrInfo[];
  try {
    list = ordered(await getaddrinfo(hostname, 0, { family: opts.family }), opts.order);
  } catch (error) {
    throw lookupError(error, hostname);
  }
  const addrs = list.map((a) => ({ address: a.address, family: a.family }));
  return opts.all ? addrs : addrs[0];
}

let patched = false;

function install(on: boolean): void {
  net.Socket.prototype.connect = on ? (patchedConnect as typeof original.connect) : original.connect;
  (http.Agent.prototype as any).addRequest = on ? patchedAddRequest : original.addRequest;
  (dns as any).lookup = on ? patchedLookup : original.lookup;
  (dns.promises as any).lookup = on ? patchedPromisesLookup : original.promisesLookup;
  syncBuiltinESMExports();
}

/**
 * gevent's `patch_socket` and `patch_dns`, for Node. Patching twice is harmless.
 */
export function patchNet(): void {
  if (patched) return;
  install(true);
  patched = true;
  markPatched('net', true);
}

/** Restores Node's sockets and lookup. Sockets bound while patched stay bound. */
export function unpatchNet(): void {
  if (!patched) return;
  install(false);
  patched = false;
  markPatched('net', false);
}
