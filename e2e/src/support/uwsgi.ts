import { dirname, join, resolve } from 'node:path';
import { parseBoundSockets, type BoundSocket } from './bound-sockets.js';
import { E2eError } from './errors.js';
import { hasBinary } from './peers.js';
import { formatAddress, waitForListening, type PeerAddress, type TcpAddress } from './ports.js';
import { startProcess, type ExitInfo, type StartedProcess } from './process.js';
import { makeTempDir, removeTempDir } from './temp.js';

export interface UwsgiOptions {
  /** Path of the Python WSGI file (its directory is added to the pythonpath). */
  app: string;
  /** `--gevent N` async cores; omitted: plain (sync) uWSGI. */
  gevent?: number;
  /** The uwsgi-protocol socket: on TCP 127.0.0.1 port 0 (default), a unix socket in a temp dir, or none. */
  socket?: 'tcp' | 'unix' | 'none';
  /** Also listen with `--http-socket` on 127.0.0.1 port 0. */
  httpSocket?: boolean;
  master?: boolean;
  processes?: number;
  /** `--disable-logging` (request log off). */
  disableLogging?: boolean;
  /** `--listen` backlog. */
  listen?: number;
  /** `--buffer-size` in bytes. */
  bufferSize?: number;
  extraArgs?: string[];
  cpu?: number | string;
  /** Seconds to wait for the app and the workers (default 30). */
  readyTimeout?: number;
}

export interface RunningUwsgi {
  /** The uwsgi-protocol socket (absent with `socket: 'none'`). */
  address?: PeerAddress;
  /** `http://127.0.0.1:PORT` of the `--http-socket`, when asked for. */
  httpUrl?: string;
  sockets: BoundSocket[];
  /** The arguments uWSGI was started with. */
  args: string[];
  process: StartedProcess;
  /** Worker pids from the `spawned uWSGI worker N (... pid: P ...)` lines. */
  workerPids(): number[];
  log(): string;
  stop(): Promise<ExitInfo>;
}

/**
 * Starts Debian's real uWSGI (`--plugins python3,gevent_python3 --need-app`) on ephemeral ports. uWSGI
 * binds `127.0.0.1:0` and prints the port it got (`... (port auto-assigned) fd 3`), which is read
 * back from its log. It is stopped with SIGINT: SIGTERM means "brutal reload" to a uWSGI 2.0 master.
 */
export async function startUwsgi(options: UwsgiOptions): Promise<RunningUwsgi> {
  const bin = hasBinary('uwsgi');
  if (!bin) throw new E2eError('TSGI_ERR_E2E_PEER_MISSING', 'uwsgi is not installed (apt-get install uwsgi uwsgi-plugin-python3 uwsgi-plugin-gevent-python3 python3-gevent)');
  const app = resolve(options.app);
  const socketKind = options.socket ?? 'tcp';
  let tmp: string | undefined;
  const args = ['--plugins', options.gevent ? 'python3,gevent_python3' : 'python3', '--need-app', '--pythonpath', dirname(app), '--wsgi-file', app];
  if (options.gevent) args.push('--gevent', String(options.gevent));
  const kinds: ('uwsgi' | 'http')[] = [];
  if (socketKind === 'tcp') {
    args.push('--socket', '127.0.0.1:0');
    kinds.push('uwsgi');
  } else if (socketKind === 'unix') {
    tmp = makeTempDir('uwsgi');
    args.push('--socket', join(tmp, 'uwsgi.sock'));
    kinds.push('uwsgi');
  }
  if (options.httpSocket) {
    args.push('--http-socket', '127.0.0.1:0');
    kinds.push('http');
  }
  if (options.master) args.push('--master');
  if (options.processes) args.push('--processes', String(options.processes));
  if (options.disableLogging) args.push('--disable-logging');
  if (options.listen) args.push('--listen', String(options.listen));
  if (options.bufferSize) args.push('--buffer-size', String(options.bufferSize));
  args.push(...(options.extraArgs ?? []));

  // No __pycache__ next to the reference apps in the repository.
  const env = { ...process.env, PYTHONDONTWRITEBYTECODE: '1' };
  const proc = await startProcess(bin, args, { name: 'uwsgi', stopSignal: 'SIGINT', cpu: options.cpu, env });
  const timeout = options.readyTimeout ?? 30;
  try {
    await proc.waitForLine(/^WSGI app 0 \(mountpoint='.*'\) ready/, timeout);
    // Each worker is announced by the master (or by the only process); workers forked by a master
    // share its stdout, and their own "running gevent loop engine" lines do not all show up.
    const workers = options.processes ?? 1;
    await proc.waitForLine(new RegExp(`^spawned uWSGI worker ${workers} `), timeout);
    if (options.gevent) await proc.waitForLine(/running gevent loop engine/, timeout);
  } catch (err) {
    await proc.stop('SIGKILL');
    if (tmp) removeTempDir(tmp);
    throw err;
  }
  const sockets = parseBoundSockets(proc.lines().map((l) => l.text));
  const byKind = (kind: 'uwsgi' | 'http'): BoundSocket | undefined => sockets[kinds.indexOf(kind)];
  const http = kinds.includes('http') ? byKind('http') : undefined;
  return {
    address: kinds.includes('uwsgi') ? byKind('uwsgi')?.address : undefined,
    httpUrl: http ? `http://${formatAddress(http.address)}` : undefined,
    sockets,
    args,
    process: proc,
    workerPids: () =>
      proc
        .lines()
        .map((l) => /^spawned uWSGI worker \d+ .*?\(pid: (\d+)/.exec(l.text))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => Number(m[1])),
    log: () => proc.output(),
    async stop() {
      const exit = await proc.stop('SIGINT', 10);
      if (tmp) removeTempDir(tmp);
      return exit;
    },
  };
}

export interface UwsgiHttpRouterOptions {
  /** The uwsgi-protocol upstream (`--http-to`). */
  to: PeerAddress | string;
  extraArgs?: string[];
  cpu?: number | string;
  readyTimeout?: number;
}

export interface RunningUwsgiHttpRouter {
  port: number;
  url: string;
  process: StartedProcess;
  log(): string;
  stop(): Promise<ExitInfo>;
}

/**
 * Starts uWSGI's HTTP router (`uwsgi --http 127.0.0.1:0 --http-to ADDR`). The router binds port 0 but
 * logs `uWSGI http bound on 127.0.0.1:0`, so the real port is read from /proc for the master's pid.
 */
export async function startUwsgiHttpRouter(options: UwsgiHttpRouterOptions): Promise<RunningUwsgiHttpRouter> {
  const bin = hasBinary('uwsgi');
  if (!bin) throw new E2eError('TSGI_ERR_E2E_PEER_MISSING', 'uwsgi is not installed (apt-get install uwsgi)');
  const to = typeof options.to === 'string' ? options.to : formatAddress(options.to);
  const args = ['--plugins', 'http', '--master', '--http', '127.0.0.1:0', '--http-to', to, ...(options.extraArgs ?? [])];
  const proc = await startProcess(bin, args, { name: 'uwsgi-http-router', stopSignal: 'SIGINT', cpu: options.cpu });
  let address: TcpAddress;
  try {
    await proc.waitForLine(/^spawned uWSGI http 1 \(pid: \d+\)/, options.readyTimeout ?? 20);
    [address] = await waitForListening(proc.pid, 1, options.readyTimeout ?? 20);
  } catch (err) {
    await proc.stop('SIGKILL');
    throw err;
  }
  return {
    port: address.port,
    url: `http://127.0.0.1:${address.port}`,
    process: proc,
    log: () => proc.output(),
    stop: () => proc.stop('SIGINT', 10),
  };
}
