import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { E2eError } from './errors.js';
import { hasBinary } from './peers.js';
import { formatAddress, isUnixAddress, withPortRetry, type PeerAddress } from './ports.js';
import { startProcess, type ExitInfo, type StartedProcess } from './process.js';
import { makeTempDir, removeTempDir } from './temp.js';

export interface NginxLocation {
  /** A prefix location (`location /prefix/ { ... }`). */
  prefix: string;
  /** `uwsgi_pass` target: an address, `host:port`, or `unix:/path`. Adds `include uwsgi_params`. */
  uwsgiPass?: PeerAddress | string;
  /** `proxy_pass` URL (HTTP/1.1 to the upstream). */
  proxyPass?: string;
  /** `uwsgi_buffering` / `proxy_buffering` (nginx's default: on). */
  buffering?: boolean;
  /** `uwsgi_request_buffering` / `proxy_request_buffering` (nginx's default: on). */
  requestBuffering?: boolean;
  /** More directives inside the location, verbatim (e.g. `return 200 "hello";`). */
  extra?: string;
}

export interface NginxOptions {
  locations: NginxLocation[];
  workerProcesses?: number;
  /** Write an access log (default true; benchmarks turn it off as the reference rig did). */
  accessLog?: boolean;
  /** `client_max_body_size` (default `64m`, so large POST checks are not refused with 413). */
  clientMaxBodySize?: string;
  /** `worker_connections` (default 4096: a proxied connection needs two). */
  workerConnections?: number;
  /** Directives for the `http` block, verbatim. */
  extraHttp?: string;
  /** Pin master and workers with `taskset -c`. */
  cpu?: number | string;
  /** Seconds to wait for the workers (default 20). */
  readyTimeout?: number;
}

export interface RunningNginx {
  port: number;
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** The temp directory holding config, pid file, logs and temp paths. */
  prefix: string;
  config: string;
  process: StartedProcess;
  errorLog(): string;
  accessLog(): string;
  stop(): Promise<ExitInfo>;
}

function uwsgiTarget(pass: PeerAddress | string): string {
  if (typeof pass === 'string') return pass;
  return isUnixAddress(pass) ? `unix:${pass.path}` : formatAddress(pass);
}

const onOff = (v: boolean): string => (v ? 'on' : 'off');

/** The nginx.conf `startNginx` writes (exported for tests and for reading in failures). */
export function renderNginxConfig(options: NginxOptions, prefix: string, port: number): string {
  const asRoot = process.getuid?.() === 0;
  const locations = options.locations.map((loc) => {
    const body: string[] = [];
    if (loc.uwsgiPass !== undefined) {
      body.push('include /etc/nginx/uwsgi_params;', `uwsgi_pass ${uwsgiTarget(loc.uwsgiPass)};`);
      if (loc.buffering !== undefined) body.push(`uwsgi_buffering ${onOff(loc.buffering)};`);
      if (loc.requestBuffering !== undefined) body.push(`uwsgi_request_buffering ${onOff(loc.requestBuffering)};`);
    } else if (loc.proxyPass !== undefined) {
      body.push(`proxy_pass ${loc.proxyPass};`, 'proxy_http_version 1.1;', 'proxy_set_header Connection "";');
      if (loc.buffering !== undefined) body.push(`proxy_buffering ${onOff(loc.buffering)};`);
      if (loc.requestBuffering !== undefined) body.push(`proxy_request_buffering ${onOff(loc.requestBuffering)};`);
    }
    if (loc.extra) body.push(loc.extra);
    return `    location ${loc.prefix} {\n${body.map((l) => `      ${l}`).join('\n')}\n    }`;
  });
  const log = options.accessLog === false ? 'access_log off;' : `access_log ${join(prefix, 'access.log')} upstreamlog;`;
  return `# written by @tsgi/e2e startNginx
daemon off;
master_process on;
${asRoot ? 'user root root;' : ''}
worker_processes ${options.workerProcesses ?? 1};
worker_rlimit_nofile 20000;
pid ${join(prefix, 'nginx.pid')};
error_log ${join(prefix, 'error.log')} info;
error_log stderr notice;
events { worker_connections ${options.workerConnections ?? 4096}; }
http {
  log_format upstreamlog '$remote_addr [$time_local] "$request" $status $body_bytes_sent rt=$request_time urt=$upstream_response_time upstream=$upstream_addr';
  ${log}
  client_max_body_size ${options.clientMaxBodySize ?? '64m'};
  client_body_temp_path ${join(prefix, 'client_body')};
  proxy_temp_path ${join(prefix, 'proxy')};
  fastcgi_temp_path ${join(prefix, 'fastcgi')};
  uwsgi_temp_path ${join(prefix, 'uwsgi')};
  scgi_temp_path ${join(prefix, 'scgi')};
  ${options.extraHttp ?? ''}
  server {
    listen 127.0.0.1:${port};
    server_name tsgi-e2e.local;
${locations.join('\n')}
  }
}
`;
}

/**
 * Starts Debian's nginx in the foreground with its own prefix, config, pid file, logs and temp paths.
 * nginx refuses `listen ...:0`, so the port is one the kernel just handed out and released; when
 * another process took it in the meantime nginx fails to bind and this starts over on a new one.
 */
export async function startNginx(options: NginxOptions): Promise<RunningNginx> {
  const bin = hasBinary('nginx');
  if (!bin) throw new E2eError('TSGI_ERR_E2E_PEER_MISSING', 'nginx is not installed (apt-get install nginx)');
  const workers = options.workerProcesses ?? 1;
  return withPortRetry(async (port) => {
    const prefix = makeTempDir('nginx');
    const configPath = join(prefix, 'nginx.conf');
    const config = renderNginxConfig(options, prefix, port);
    writeFileSync(configPath, config);
    const proc = await startProcess(bin, ['-e', 'stderr', '-p', prefix, '-c', configPath], {
      name: 'nginx',
      stopSignal: 'SIGQUIT',
      cpu: options.cpu,
    });
    try {
      let since = 0;
      for (let i = 0; i < workers; i++) {
        await proc.waitForLine(/start worker process \d+/, options.readyTimeout ?? 20, since);
        since = proc.lines().findIndex((l, idx) => idx >= since && /start worker process \d+/.test(l.text)) + 1;
      }
    } catch (err) {
      await proc.stop('SIGKILL');
      removeTempDir(prefix);
      throw err;
    }
    const read = (file: string): string => {
      try {
        return readFileSync(join(prefix, file), 'utf8');
      } catch {
        return '';
      }
    };
    return {
      port,
      url: `http://127.0.0.1:${port}`,
      prefix,
      config,
      process: proc,
      errorLog: () => read('error.log'),
      accessLog: () => read('access.log'),
      async stop() {
        const exit = await proc.stop('SIGQUIT', 10);
        removeTempDir(prefix);
        return exit;
      },
    };
  });
}
