import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { TsgiOptions } from './config/options.js';
import { Master } from './master.js';

export interface FrontRouterRequest {
  /** Where the front router listens (`--http` value). */
  listen: string;
  /** The uwsgi socket of this instance it forwards to. */
  upstream: string;
  buffering: boolean;
  requestBuffering: boolean;
}

export interface RunServerContext {
  cwd: string;
  /** Where log lines go when --logto is not set. */
  writeLog?: (line: string) => void;
  /**
   * Starts the `--http` front router (tsgi-edge). The app shell provides it, since @tsgi/server
   * does not depend on the edge.
   */
  startFrontRouter?: (request: FrontRouterRequest) => ChildProcess;
}

/**
 * Runs a tsgi instance until it is stopped: SIGINT/SIGTERM stop it gracefully (a second one
 * brutally), SIGQUIT brutally, SIGHUP reloads the workers one by one, SIGUSR1 logs stats.
 * Resolves with the process exit code.
 */
export async function runServer(options: TsgiOptions, context: RunServerContext): Promise<number> {
  const cwd = options.chdir ? resolve(context.cwd, options.chdir) : context.cwd;
  if (options.chdir) process.chdir(cwd);
  for (const { name, value } of options.env) process.env[name] = value;
  const logto = options.logto ? resolve(cwd, options.logto) : null;
  const write = logto
    ? (line: string) => appendFileSync(logto, line + '\n')
    : (context.writeLog ?? ((line: string) => process.stderr.write(line + '\n')));
  let effective = options;
  if (options.http.length > 0 && options.socket.length === 0) {
    // The front router needs a uwsgi socket to talk to: a private one on loopback.
    effective = { ...options, socket: ['127.0.0.1:0'], listeners: [{ protocol: 'uwsgi', address: '127.0.0.1:0' }, ...options.listeners] };
  }
  const master = new Master(effective, cwd, { log: write });
  const routers: ChildProcess[] = [];
  let stops = 0;
  const graceful = (sig: string) => {
    stops++;
    for (const router of routers) router.kill('SIGTERM');
    void master.shutdown(stops > 1 ? 'brutal' : 'graceful', sig);
  };
  const handlers: Array<[NodeJS.Signals, () => void]> = [
    ['SIGINT', () => graceful('SIGINT')],
    ['SIGTERM', () => graceful('SIGTERM')],
    ['SIGQUIT', () => {
      for (const router of routers) router.kill('SIGKILL');
      void master.shutdown('brutal', 'SIGQUIT');
    }],
    ['SIGHUP', () => void master.reload('SIGHUP')],
    ['SIGUSR1', () => void master.logStats()],
  ];
  for (const [sig, fn] of handlers) process.on(sig, fn);
  try {
    await master.start();
  } catch (err) {
    write(`*** tsgi failed to start: ${err instanceof Error ? err.message : String(err)} ***`);
    await master.shutdown('brutal', 'startup failure');
    for (const [sig, fn] of handlers) process.off(sig, fn);
    return 1;
  }
  if (options.http.length > 0) {
    const upstream = master.sockets.find((s) => s.protocol === 'uwsgi');
    if (!context.startFrontRouter) {
      write('*** --http needs the tsgi command line (it starts tsgi-edge as the front router) ***');
    } else if (upstream) {
      for (const listen of options.http) {
        const router = context.startFrontRouter({ listen, upstream: upstream.name, buffering: options.httpBuffering, requestBuffering: options.httpRequestBuffering });
        write(`spawned tsgi http router (tsgi-edge) on ${listen} -> uwsgi://${upstream.name} (pid: ${router.pid})`);
        router.on('exit', (code, signal) => write(`tsgi http router on ${listen} exited (${signal ?? code})`));
        routers.push(router);
      }
    }
  }
  const code = await master.finished;
  for (const [sig, fn] of handlers) process.off(sig, fn);
  return code;
}

/** The default front router: the tsgi-edge program at `bin`, with nginx-like settings from the flags. */
export function edgeFrontRouter(bin: string): (request: FrontRouterRequest) => ChildProcess {
  return (request) =>
    spawn(
      process.execPath,
      [bin, '--listen', request.listen, '--uwsgi-pass', request.upstream, '--buffering', request.buffering ? 'on' : 'off', '--request-buffering', request.requestBuffering ? 'on' : 'off'],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
}
