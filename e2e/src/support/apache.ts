import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { E2eError } from './errors.js';
import { APACHE_MODULE_DIR, hasBinary } from './peers.js';
import { formatAddress, isUnixAddress, withPortRetry, type PeerAddress } from './ports.js';
import { startProcess, type ExitInfo, type StartedProcess } from './process.js';
import { makeTempDir, removeTempDir } from './temp.js';

export interface ApacheOptions {
  /** The uwsgi-protocol upstream for `ProxyPass / uwsgi://...` (TCP, or a unix socket). */
  uwsgiPass: PeerAddress | string;
  /** More directives for the config, verbatim. */
  extra?: string;
  cpu?: number | string;
  readyTimeout?: number;
}

export interface RunningApache {
  port: number;
  url: string;
  prefix: string;
  config: string;
  process: StartedProcess;
  errorLog(): string;
  accessLog(): string;
  stop(): Promise<ExitInfo>;
}

function proxyTarget(pass: PeerAddress | string): string {
  if (typeof pass === 'string') return pass.startsWith('uwsgi://') || pass.startsWith('unix:') ? pass : `uwsgi://${pass}/`;
  // mod_proxy's unix-socket form: the socket path, then a placeholder uwsgi:// URL for the scheme.
  return isUnixAddress(pass) ? `unix:${pass.path}|uwsgi://localhost/` : `uwsgi://${formatAddress(pass)}/`;
}

/** The apache2.conf `startApache` writes. */
export function renderApacheConfig(options: ApacheOptions, prefix: string, port: number): string {
  const asRoot = process.getuid?.() === 0;
  const mod = (name: string, file: string): string => `LoadModule ${name} ${join(APACHE_MODULE_DIR, file)}`;
  return `# written by @tsgi/e2e startApache
ServerRoot ${prefix}
DefaultRuntimeDir ${prefix}
PidFile ${join(prefix, 'apache2.pid')}
ServerName 127.0.0.1
Listen 127.0.0.1:${port}
${mod('mpm_event_module', 'mod_mpm_event.so')}
${mod('authz_core_module', 'mod_authz_core.so')}
${mod('proxy_module', 'mod_proxy.so')}
${mod('proxy_uwsgi_module', 'mod_proxy_uwsgi.so')}
${asRoot ? 'User nobody\nGroup nogroup' : ''}
ErrorLog ${join(prefix, 'error.log')}
LogLevel notice
LogFormat "%h %t \\"%r\\" %>s %B %D" e2e
CustomLog ${join(prefix, 'access.log')} e2e
ProxyPass / ${proxyTarget(options.uwsgiPass)}
${options.extra ?? ''}
`;
}

/**
 * Starts Debian's Apache in the foreground (`-DFOREGROUND`) with its own ServerRoot, config, pid file
 * and logs, proxying everything to a uwsgi upstream with mod_proxy_uwsgi. Apache refuses port 0, so
 * the port is reserved and released first, with a retry when the bind fails.
 */
export async function startApache(options: ApacheOptions): Promise<RunningApache> {
  const bin = hasBinary('apache2');
  if (!bin) throw new E2eError('TSGI_ERR_E2E_PEER_MISSING', 'apache2 is not installed (apt-get install apache2 libapache2-mod-proxy-uwsgi)');
  return withPortRetry(async (port) => {
    const prefix = makeTempDir('apache');
    const configPath = join(prefix, 'apache2.conf');
    const config = renderApacheConfig(options, prefix, port);
    writeFileSync(configPath, config);
    const read = (file: string): string => {
      try {
        return readFileSync(join(prefix, file), 'utf8');
      } catch {
        return '';
      }
    };
    // Errors before the log is open (a failed bind among them) go to stderr; the rest to error.log.
    // Apache cannot write its error log to a pipe Node made (/dev/stderr is a socket: ENXIO).
    const proc = await startProcess(bin, ['-f', configPath, '-DFOREGROUND'], { name: 'apache2', stopSignal: 'SIGTERM', cpu: options.cpu });
    const errorLog = (): string => proc.output() + read('error.log');
    try {
      const timeout = options.readyTimeout ?? 20;
      const deadline = performance.now() + timeout * 1000;
      while (!/AH00489: .* resuming normal operations/.test(read('error.log'))) {
        const exit = proc.exitInfo();
        if (exit) throw new E2eError('TSGI_ERR_E2E_EXITED', `apache2 exited (code ${exit.code ?? exit.signal}) while starting: ${errorLog().trim()}`);
        if (performance.now() > deadline) throw new E2eError('TSGI_ERR_E2E_READY_TIMEOUT', `apache2 was not ready within ${timeout} s: ${errorLog().trim()}`);
        await delay(20);
      }
    } catch (err) {
      await proc.stop('SIGKILL');
      removeTempDir(prefix);
      throw err;
    }
    return {
      port,
      url: `http://127.0.0.1:${port}`,
      prefix,
      config,
      process: proc,
      errorLog,
      accessLog: () => read('access.log'),
      async stop() {
        const exit = await proc.stop('SIGTERM', 10);
        removeTempDir(prefix);
        return exit;
      },
    };
  });
}
