import { availableParallelism } from 'node:os';
import { E2eError } from './errors.js';
import { hasBinary } from './peers.js';
import { startProcess } from './process.js';

export interface WrkResult {
  requestsPerSec: number;
  /** Latency percentiles in seconds. */
  latency: { avg: number; max: number; p50: number; p75: number; p90: number; p99: number };
  requests: number;
  /** Seconds wrk ran for ("N requests in 10.01s"). */
  duration: number;
  bytesRead: number;
  /** wrk's "Socket errors" line, plus responses outside 2xx/3xx as `status`. */
  errors: { connect: number; read: number; write: number; timeout: number; status: number };
  /** wrk's output as it printed it. */
  raw: string;
}

const TIME_UNITS: Record<string, number> = { us: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
const SIZE_UNITS: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

function seconds(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(text);
  if (!m) throw new E2eError('TSGI_ERR_E2E_WRK_OUTPUT', `cannot read wrk duration "${text}"`);
  return Number(m[1]) * TIME_UNITS[m[2]];
}

function bytes(text: string): number {
  const m = /^([\d.]+)(B|KB|MB|GB|TB)$/.exec(text);
  if (!m) throw new E2eError('TSGI_ERR_E2E_WRK_OUTPUT', `cannot read wrk size "${text}"`);
  return Number(m[1]) * SIZE_UNITS[m[2]];
}

/** Parses the output of `wrk --latency` (wrk 4.x). */
export function parseWrkOutput(raw: string): WrkResult {
  const need = (re: RegExp, what: string): RegExpExecArray => {
    const m = re.exec(raw);
    if (!m) throw new E2eError('TSGI_ERR_E2E_WRK_OUTPUT', `wrk output has no ${what}; was it run with --latency? Output:\n${raw}`);
    return m;
  };
  const total = need(/^\s*(\d+) requests in ([\d.]+\w+), ([\d.]+\w+) read/m, '"N requests in T" line');
  const rps = need(/^Requests\/sec:\s+([\d.]+)/m, '"Requests/sec" line');
  const lat = need(/^\s*Latency\s+([\d.]+\w+)\s+([\d.]+\w+)\s+([\d.]+\w+)/m, 'latency thread stats');
  const pct = (p: string): number => seconds(need(new RegExp(`^\\s*${p}%\\s+([\\d.]+\\w+)`, 'm'), `${p}% latency line`)[1]);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(raw);
  const status = /Non-2xx or 3xx responses: (\d+)/.exec(raw);
  return {
    requestsPerSec: Number(rps[1]),
    latency: { avg: seconds(lat[1]), max: seconds(lat[3]), p50: pct('50'), p75: pct('75'), p90: pct('90'), p99: pct('99') },
    requests: Number(total[1]),
    duration: seconds(total[2]),
    bytesRead: bytes(total[3]),
    errors: {
      connect: sock ? Number(sock[1]) : 0,
      read: sock ? Number(sock[2]) : 0,
      write: sock ? Number(sock[3]) : 0,
      timeout: sock ? Number(sock[4]) : 0,
      status: status ? Number(status[1]) : 0,
    },
    raw,
  };
}

export interface WrkOptions {
  url: string;
  connections: number;
  threads?: number;
  /** Seconds. */
  duration: number;
  /** wrk's per-request timeout in seconds (default 5, as the reference rig). */
  timeout?: number;
  /** Pin wrk with `taskset -c` (see `cpuLayout`). */
  cpu?: number | string;
}

/** Runs Debian's wrk with `--latency` and parses what it printed. */
export async function runWrk(options: WrkOptions): Promise<WrkResult> {
  const bin = hasBinary('wrk');
  if (!bin) throw new E2eError('TSGI_ERR_E2E_PEER_MISSING', 'wrk is not installed (apt-get install wrk)');
  const threads = options.threads ?? 1;
  const args = [`-t${threads}`, `-c${options.connections}`, `-d${options.duration}s`, '--timeout', `${options.timeout ?? 5}s`, '--latency', options.url];
  const proc = await startProcess(bin, args, { name: 'wrk', cpu: options.cpu });
  // A referenced timer: the started process itself does not keep this test process alive.
  let timer: NodeJS.Timeout | undefined;
  const exit = await Promise.race([
    proc.exited,
    new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), (options.duration + 30) * 1000))),
  ]);
  clearTimeout(timer);
  if (!exit) await proc.stop('SIGKILL');
  const raw = proc.output();
  if (!exit || exit.code !== 0) {
    throw new E2eError('TSGI_ERR_E2E_WRK_FAILED', `wrk ${args.join(' ')} failed (${exit ? `exit ${exit.code ?? exit.signal}` : 'hung'}): ${raw.trim()}`);
  }
  return parseWrkOutput(raw);
}

/** Which CPUs the server side and the load generator use. */
export interface CpuLayout {
  pinned: boolean;
  server?: number;
  client?: number;
  /** One sentence for reports. */
  description: string;
}

/**
 * Server and load generator share a 2-core machine: with 2+ cores and `taskset`, every server process
 * goes on CPU 1 and wrk on CPU 0, so a single-threaded server gets exactly one core, as in the
 * reference rig. Otherwise everything floats, and the description says so.
 */
export function cpuLayout(): CpuLayout {
  const cores = availableParallelism();
  if (cores >= 2 && hasBinary('taskset')) {
    return {
      pinned: true,
      server: 1,
      client: 0,
      description: `pinned with taskset: every server process (nginx, uWSGI, Node, tsgi) on CPU 1, wrk on CPU 0 (${cores} cores available)`,
    };
  }
  return {
    pinned: false,
    description: cores < 2 ? `not pinned: only ${cores} core available, server and wrk share it` : 'not pinned: taskset is missing (apt-get install util-linux)',
  };
}
