import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseBoundSockets, socketKindsFromArgs, type BoundSocket } from './bound-sockets.js';
import { E2eError } from './errors.js';
import { formatAddress, isUnixAddress, type PeerAddress } from './ports.js';
import { startProcess, type ExitInfo, type OutputLine, type StartedProcess } from './process.js';

/** The repository root (this file runs from e2e/dist/support/). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const TSGI_BIN = join(REPO_ROOT, 'apps', 'tsgi', 'bin', 'tsgi.js');
export const EDGE_BIN = join(REPO_ROOT, 'apps', 'edge', 'bin', 'tsgi-edge.js');
/** The reference Python apps. */
export const REFERENCE_DIR = join(REPO_ROOT, 'e2e', 'reference');

// The bin scripts are committed; the program exists once its build output (what the bin imports) does.
const TSGI_MAIN = join(REPO_ROOT, 'apps', 'tsgi', 'dist', 'cli.js');
const EDGE_MAIN = join(REPO_ROOT, 'apps', 'edge', 'dist', 'cli.js');

/** Whether `apps/tsgi` has been built, so `startTsgi` can run it. */
export function tsgiBuilt(): boolean {
  return existsSync(TSGI_BIN) && existsSync(TSGI_MAIN);
}

/** Whether `apps/edge` has been built, so `startEdge` can run it. */
export function edgeBuilt(): boolean {
  return existsSync(EDGE_BIN) && existsSync(EDGE_MAIN);
}

/** For node:test's `skip` option: why tsgi (or tsgi-edge) tests cannot run yet, or undefined. */
export function programSkipReason(...programs: ('tsgi' | 'tsgi-edge')[]): string | undefined {
  const missing = programs.filter((p) => !(p === 'tsgi' ? tsgiBuilt() : edgeBuilt()));
  return missing.length ? `not built yet: ${missing.join(', ')} (run the build first)` : undefined;
}

export interface ProgramOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  cpu?: number | string;
  /** Seconds to wait for the ready line (default 30). */
  readyTimeout?: number;
  /** The Node binary (default: the one running the tests). */
  node?: string;
  /** Extra arguments for node itself, before the script (e.g. `--expose-gc`). */
  nodeArgs?: string[];
}

export interface RunningTsgi {
  process: StartedProcess;
  sockets: BoundSocket[];
  /** The first TCP port tsgi bound (the `--http-socket` one if there is one). */
  port: number;
  ports: number[];
  /** `http://HOST:PORT` of the first `--http-socket`, else of the first TCP socket. */
  url: string;
  /** The first uwsgi-protocol socket, for `uwsgi_pass` and friends. */
  uwsgiAddress?: PeerAddress;
  /** The first `--http-socket`. */
  httpAddress?: PeerAddress;
  output(): string;
  lines(): readonly OutputLine[];
  waitForLine(re: RegExp, timeout?: number, since?: number): Promise<RegExpMatchArray>;
  stop(signal?: NodeJS.Signals, timeout?: number): Promise<ExitInfo>;
}

/**
 * Runs `node apps/tsgi/bin/tsgi.js ...args` and waits for `*** tsgi ready: ... ***`. Each socket is
 * read from uWSGI's own startup line (`uwsgi socket N bound to TCP address 127.0.0.1:PORT fd F`), in
 * which tsgi prints the real port when given port 0; socket N is the Nth socket option in `args`.
 */
export async function startTsgi(args: readonly string[], options: ProgramOptions = {}): Promise<RunningTsgi> {
  if (!tsgiBuilt()) throw new E2eError('TSGI_ERR_E2E_NOT_BUILT', `tsgi is not built yet (${TSGI_MAIN} is missing): run the build first`);
  const proc = await startProcess(options.node ?? process.execPath, [...(options.nodeArgs ?? []), TSGI_BIN, ...args], {
    name: 'tsgi',
    env: options.env,
    cwd: options.cwd,
    cpu: options.cpu,
    stopSignal: 'SIGINT',
    ready: /^\*\*\* tsgi ready: .* \*\*\*$/,
    readyTimeout: options.readyTimeout ?? 30,
  });
  const sockets = parseBoundSockets(proc.lines().map((l) => l.text));
  const kinds = socketKindsFromArgs(args);
  const of = (kind: 'uwsgi' | 'http'): BoundSocket | undefined => sockets.find((s) => kinds[s.index] === kind);
  const tcp = sockets.filter((s) => !isUnixAddress(s.address));
  const http = of('http');
  const main = http && !isUnixAddress(http.address) ? http : tcp[0];
  if (!main) {
    await proc.stop('SIGKILL');
    throw new E2eError('TSGI_ERR_E2E_PORT', `tsgi printed no "uwsgi socket N bound to TCP address" line; its output:\n${proc.output()}`);
  }
  const ports = tcp.map((s) => (s.address as { port: number }).port);
  return {
    process: proc,
    sockets,
    port: (main.address as { port: number }).port,
    ports,
    url: `http://${formatAddress(main.address)}`,
    uwsgiAddress: of('uwsgi')?.address,
    httpAddress: http?.address,
    output: () => proc.output(),
    lines: () => proc.lines(),
    waitForLine: (re, timeout, since) => proc.waitForLine(re, timeout, since),
    stop: (signal, timeout) => proc.stop(signal, timeout),
  };
}

export interface RunningEdge {
  process: StartedProcess;
  port: number;
  ports: number[];
  url: string;
  output(): string;
  lines(): readonly OutputLine[];
  waitForLine(re: RegExp, timeout?: number, since?: number): Promise<RegExpMatchArray>;
  stop(signal?: NodeJS.Signals, timeout?: number): Promise<ExitInfo>;
}

/** Matches `tsgi-edge listening on http://HOST:PORT`. */
export const EDGE_LISTENING_LINE = /tsgi-edge listening on (http:\/\/(\[[^\]]+\]|[^:/\s]+):(\d+))/;

/** Runs `node apps/edge/bin/tsgi-edge.js ...args` and waits for `tsgi-edge listening on http://HOST:PORT`. */
export async function startEdge(args: readonly string[], options: ProgramOptions = {}): Promise<RunningEdge> {
  if (!edgeBuilt()) throw new E2eError('TSGI_ERR_E2E_NOT_BUILT', `tsgi-edge is not built yet (${EDGE_MAIN} is missing): run the build first`);
  const proc = await startProcess(options.node ?? process.execPath, [...(options.nodeArgs ?? []), EDGE_BIN, ...args], {
    name: 'tsgi-edge',
    env: options.env,
    cwd: options.cwd,
    cpu: options.cpu,
    stopSignal: 'SIGTERM',
    ready: EDGE_LISTENING_LINE,
    readyTimeout: options.readyTimeout ?? 30,
  });
  const found = proc
    .lines()
    .map((l) => EDGE_LISTENING_LINE.exec(l.text))
    .filter((m): m is RegExpExecArray => m !== null);
  return {
    process: proc,
    port: Number(found[0][3]),
    ports: found.map((m) => Number(m[3])),
    url: found[0][1],
    output: () => proc.output(),
    lines: () => proc.lines(),
    waitForLine: (re, timeout, since) => proc.waitForLine(re, timeout, since),
    stop: (signal, timeout) => proc.stop(signal, timeout),
  };
}
