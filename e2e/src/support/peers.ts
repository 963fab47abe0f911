import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

// nginx and apache2 live in /usr/sbin, which a non-root PATH often lacks.
const EXTRA_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/** The full path of executable `name` on PATH (or in the sbin directories), or null. */
export function hasBinary(name: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), ...EXTRA_DIRS].filter(Boolean);
  for (const dir of dirs) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return null;
}

/** The Python that embeds uWSGI's plugin (Debian's), not a pyenv shim without gevent. */
export const SYSTEM_PYTHON = '/usr/bin/python3';
export const UWSGI_PLUGIN_DIR = '/usr/lib/uwsgi/plugins';
export const APACHE_MODULE_DIR = '/usr/lib/apache2/modules';

/** What each peer name needs and the Debian packages that provide it. */
const PEERS: Record<string, { check: () => boolean; install: string }> = {
  nginx: { check: () => hasBinary('nginx') !== null, install: 'nginx' },
  uwsgi: {
    check: () => hasBinary('uwsgi') !== null && existsSync(join(UWSGI_PLUGIN_DIR, 'python3_plugin.so')),
    install: 'uwsgi uwsgi-plugin-python3',
  },
  'uwsgi-gevent': {
    check: () =>
      hasBinary('uwsgi') !== null &&
      existsSync(join(UWSGI_PLUGIN_DIR, 'gevent_python3_plugin.so')) &&
      existsSync(join(UWSGI_PLUGIN_DIR, 'python3_plugin.so')),
    install: 'uwsgi uwsgi-plugin-python3 uwsgi-plugin-gevent-python3 python3-gevent',
  },
  'uwsgi-http': {
    check: () => hasBinary('uwsgi') !== null && existsSync(join(UWSGI_PLUGIN_DIR, 'http_plugin.so')),
    install: 'uwsgi-core',
  },
  apache2: {
    check: () => hasBinary('apache2') !== null && existsSync(join(APACHE_MODULE_DIR, 'mod_proxy_uwsgi.so')),
    install: 'apache2 libapache2-mod-proxy-uwsgi',
  },
  wrk: { check: () => hasBinary('wrk') !== null, install: 'wrk' },
  curl: { check: () => hasBinary('curl') !== null, install: 'curl' },
  taskset: { check: () => hasBinary('taskset') !== null, install: 'util-linux' },
};

/** Peer names `requirePeer` and `peerSkipReason` know. */
export type PeerName = 'nginx' | 'uwsgi' | 'uwsgi-gevent' | 'uwsgi-http' | 'apache2' | 'wrk' | 'curl' | 'taskset';

/**
 * Why a test needing `names` cannot run here (the missing peers and what to install), or undefined
 * when all are present. Made for node:test's `skip` option, which prints the reason.
 */
export function peerSkipReason(...names: PeerName[]): string | undefined {
  const missing = names.filter((n) => !PEERS[n].check());
  if (missing.length === 0) return undefined;
  const packages = [...new Set(missing.flatMap((n) => PEERS[n].install.split(' ')))].join(' ');
  return `peer missing: ${missing.join(', ')} (install with: apt-get install ${packages})`;
}

/**
 * Skips test `t` with a clear reason when a peer is missing; returns whether the test may go on:
 * `if (!requirePeer(t, 'nginx')) return;`
 */
export function requirePeer(t: { skip(message?: string): void }, ...names: PeerName[]): boolean {
  const reason = peerSkipReason(...names);
  if (reason === undefined) return true;
  t.skip(reason);
  return false;
}
