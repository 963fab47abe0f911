import { formatStatsTarget, parseStatsTarget, readStats, type StatsTarget } from './stats-reader.js';
import { renderTopFrame, type StatsSample } from './top-frame.js';

export interface TopIO {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?(mode: boolean): unknown };
  /** Where usage errors and read failures go in --once mode (default: stdout). */
  stderr?: NodeJS.WritableStream;
}

export const TOP_USAGE = `usage: tsgi top ADDR [--once] [--interval SECONDS] [--timeout SECONDS]

A live view of a stats server (tsgi --stats, or uWSGI's --stats / --stats-http).
ADDR is host:port, :port (loopback), [v6]:port, a unix socket path, or http://host:port.

  --once             print one frame and exit (req/s needs two frames: it shows "-")
  --interval S       seconds between frames (default 1)
  --timeout S        seconds to wait for each answer (default 5)
  -h, --help         this text

Keys: q (or Ctrl-C) quits.
`;

interface TopArgs {
  target: StatsTarget;
  once: boolean;
  interval: number;
  timeout: number;
}

class TopUsageError extends Error {
  readonly code = 'TSGI_ERR_TOP_USAGE';
}

function parseTopArgs(argv: string[]): TopArgs | 'help' {
  let address: string | undefined;
  let once = false;
  let interval = 1;
  let timeout = 5;
  const seconds = (flag: string, value: string | undefined): number => {
    const n = Number(value);
    if (value === undefined || value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new TopUsageError(`${flag} needs a number of seconds > 0, got ${value === undefined ? 'nothing' : `"${value}"`}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    switch (flag) {
      case '-h':
      case '--help':
        return 'help';
      case '--once':
        once = true;
        break;
      case '--interval':
      case '--freq':
        interval = seconds(flag, inline ?? argv[++i]);
        break;
      case '--timeout':
        timeout = seconds(flag, inline ?? argv[++i]);
        break;
      default:
        if (arg.startsWith('-') && arg !== '-') throw new TopUsageError(`unknown option ${arg}`);
        if (address !== undefined) throw new TopUsageError(`one stats address only (got "${address}" and "${arg}")`);
        address = arg;
    }
  }
  if (address === undefined) throw new TopUsageError('no stats address given');
  return { target: parseStatsTarget(address), once, interval, timeout };
}

const CLEAR = '\x1b[H\x1b[2J';
const HIDE_CURSOR = '\x1b[?25l';
const SHOW_CURSOR = '\x1b[?25h';

/**
 * `tsgi top ADDR`: reads the stats address every --interval seconds and redraws a frame until `q`
 * (or Ctrl-C on a terminal); with --once prints one frame and returns. Resolves the exit code:
 * 0, 1 when --once could not read the stats, 2 for bad arguments.
 */
export async function runTop(argv: string[], io: TopIO): Promise<number> {
  const stderr = io.stderr ?? io.stdout;
  let args: TopArgs | 'help';
  try {
    args = parseTopArgs(argv);
  } catch (error) {
    stderr.write(`tsgi top: ${(error as Error).message}\n\n${TOP_USAGE}`);
    return 2;
  }
  if (args === 'help') {
    io.stdout.write(TOP_USAGE);
    return 0;
  }
  const { target, interval, timeout } = args;
  const address = formatStatsTarget(target);

  if (args.once) {
    try {
      const doc = await readStats(target, timeout);
      io.stdout.write(renderTopFrame({ doc, at: Date.now() }, { address }));
      return 0;
    } catch (error) {
      stderr.write(`tsgi top: ${(error as Error).message}\n`);
      return 1;
    }
  }

  const tty = io.stdout.isTTY === true;
  const stdinTty = io.stdin.isTTY === true && typeof io.stdin.setRawMode === 'function';
  return new Promise<number>((resolve) => {
    let previous: StatsSample | undefined;
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;

    const onKey = (data: Buffer | string) => {
      const text = typeof data === 'string' ? data : data.toString('latin1');
      if (/[qQ\x03\x04]/.test(text)) stop();
    };
    const stop = () => {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      io.stdin.off('data', onKey);
      if (stdinTty) io.stdin.setRawMode!(false);
      io.stdin.pause();
      if (tty) io.stdout.write(SHOW_CURSOR);
      resolve(0);
    };

    const draw = async () => {
      let frame: string;
      try {
        const doc = await readStats(target, timeout);
        const sample = { doc, at: Date.now() };
        frame = renderTopFrame(sample, { address, previous, width: tty ? io.stdout.columns : undefined, ansi: tty });
        previous = sample;
      } catch (error) {
        frame = `tsgi top @ ${address} - ${new Date().toISOString()}\n\n${(error as Error).message}\n(retrying every ${interval} s; q quits)\n`;
      }
      if (stopped) return;
      io.stdout.write(tty ? `${CLEAR}${frame}` : `${frame}\n`);
      timer = setTimeout(draw, interval * 1000);
    };

    if (stdinTty) io.stdin.setRawMode!(true);
    io.stdin.on('data', onKey);
    io.stdin.resume();
    if (tty) io.stdout.write(HIDE_CURSOR);
    void draw();
  });
}
