import { BlockList, isIP } from 'node:net';
import { SignalError } from './errors.js';

/** --signal-allow's default: loopback only (unix sockets are allowed unless `allowUnix: false`). */
export const DEFAULT_SIGNAL_ALLOW = ['127.0.0.0/8', '::1'] as const;

export interface SignalAllowList {
  /**
   * Whether a remote signal (modifier1 110) from `address` may be raised. `address` is the
   * connection's remoteAddress: undefined or empty for a unix socket. IPv4-mapped IPv6 addresses
   * (`::ffff:127.0.0.1`) are checked as IPv4.
   */
  allows(address: string | undefined): boolean;
  /** The entries, as given. */
  readonly entries: readonly string[];
}

export interface SignalAllowOptions {
  /** Accept signals arriving over unix sockets (file permissions guard those). Default true. */
  allowUnix?: boolean;
}

/**
 * Builds the --signal-allow matcher from addresses and CIDRs (`10.0.0.7`, `192.168.0.0/16`,
 * `fd00::/8`). uWSGI lets anyone who reaches the socket raise signals; tsgi refuses all but these.
 * Throws TSGI_ERR_SIGNAL_ALLOW_INVALID for an entry that is neither.
 */
export function createSignalAllowList(entries: readonly string[] = DEFAULT_SIGNAL_ALLOW, options: SignalAllowOptions = {}): SignalAllowList {
  const list = new BlockList();
  for (const raw of entries) {
    const entry = typeof raw === 'string' ? raw.trim() : '';
    const slash = entry.indexOf('/');
    const address = slash < 0 ? entry : entry.slice(0, slash);
    const family = isIP(address);
    if (family === 0) throw badEntry(raw);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (slash < 0) {
      list.addAddress(address, type);
      continue;
    }
    const prefixText = entry.slice(slash + 1);
    const prefix = Number(prefixText);
    if (!/^\d{1,3}$/.test(prefixText) || prefix > (family === 4 ? 32 : 128)) throw badEntry(raw);
    list.addSubnet(address, prefix, type);
  }
  const allowUnix = options.allowUnix ?? true;
  return {
    entries: [...entries],
    allows(address) {
      if (address === undefined || address === '') return allowUnix;
      let addr = address;
      const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(addr);
      if (mapped) addr = mapped[1]!;
      const family = isIP(addr);
      if (family === 0) return false;
      return list.check(addr, family === 4 ? 'ipv4' : 'ipv6');
    },
  };
}

function badEntry(entry: unknown): SignalError {
  return new SignalError(
    'TSGI_ERR_SIGNAL_ALLOW_INVALID',
    `invalid --signal-allow entry ${JSON.stringify(entry)}: use an IPv4/IPv6 address or a CIDR such as 127.0.0.0/8 or fd00::/8`,
  );
}
