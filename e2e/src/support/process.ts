import { spawn, type ChildProcess } from 'node:child_process';
import { E2eError } from './errors.js';

/** How a started process ended. */
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One line of a started process's stdout or stderr, stamped on arrival. */
export interface OutputLine {
  stream: 'stdout' | 'stderr';
  text: string;
  /** Seconds since the process was spawned. */
  at: number;
}

export interface StartProcessOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Resolve `startProcess` only once a line matches (stdout or stderr). */
  ready?: RegExp;
  /** Seconds to wait for `ready` (default 20). */
  readyTimeout?: number;
  /** Signal `stop()` sends when called without one (default SIGTERM). uWSGI wants SIGINT, nginx SIGQUIT. */
  stopSignal?: NodeJS.Signals;
  /** Pin to these CPUs with `taskset -c` (e.g. `1` or `'0,1'`). */
  cpu?: number | string;
  /** A short name for messages (default: the command). */
  name?: string;
}

export interface StartedProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly name: string;
  /** Everything written to stdout and stderr so far, line by line, in arrival order. */
  output(): string;
  lines(): readonly OutputLine[];
  /**
   * Resolves with the first line (at index `since` or later, default 0) matching `re`.
   * Rejects when `timeout` seconds pass or the process exits first.
   */
  waitForLine(re: RegExp, timeout?: number, since?: number): Promise<RegExpMatchArray>;
  /**
   * Resolves when the process has exited. Started processes do not keep the test process alive (so a
   * forgotten one cannot hang a test file), so await this together with a timer, or use `stop()`.
   */
  readonly exited: Promise<ExitInfo>;
  exitInfo(): ExitInfo | undefined;
  /**
   * Sends `signal` to the process, waits up to `timeout` seconds (default 10) for it to exit, then
   * SIGKILLs its whole process group, so workers it forked never outlive it.
   */
  stop(signal?: NodeJS.Signals, timeout?: number): Promise<ExitInfo>;
}

// The guardian is a tiny detached node process that holds the read end of a pipe from us. When this
// process dies in any way (even SIGKILL, which runs no 'exit' handler), the pipe closes and the
// guardian SIGKILLs every process group still registered. That is what makes "no orphan ever" hold.
const GUARDIAN_SOURCE = `
const groups = new Set();
let buf = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => {
  buf += d;
  let i;
  while ((i = buf.indexOf('\\n')) >= 0) {
    const line = buf.slice(0, i); buf = buf.slice(i + 1);
    const pgid = Number(line.slice(1));
    if (line[0] === '+') groups.add(pgid); else groups.delete(pgid);
  }
});
const reap = () => { for (const g of groups) { try { process.kill(-g, 'SIGKILL'); } catch {} } process.exit(0); };
process.stdin.on('end', reap);
process.stdin.on('error', reap);
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
`;

const live = new Map<number, StartedProcessImpl>();
let guardian: ChildProcess | undefined;
let exitHookInstalled = false;

function guardianSend(line: string): void {
  if (!guardian) {
    guardian = spawn(process.execPath, ['-e', GUARDIAN_SOURCE], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    guardian.unref();
    (guardian.stdin as unknown as { unref(): void }).unref();
    guardian.stdin!.on('error', () => {});
  }
  guardian.stdin!.write(line + '\n');
}

/**
 * `promise`'s value, or undefined after `seconds`. The timer is referenced: started processes are not,
 * so without it a test process awaiting only them would end with the promise pending.
 */
async function withTimer<T>(promise: Promise<T>, seconds: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), seconds * 1000);
  });
  try {
    return await Promise.race([promise, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pgid of live.keys()) killGroup(pgid, 'SIGKILL');
  });
}

/** The processes started by this test process that have not been stopped yet. */
export function liveProcesses(): StartedProcess[] {
  return [...live.values()];
}

/** Stops every process this test process started (use as `after(stopAll)`). */
export async function stopAll(): Promise<void> {
  await Promise.all([...live.values()].map((p) => p.stop()));
}

class StartedProcessImpl implements StartedProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly name: string;
  readonly exited: Promise<ExitInfo>;
  readonly #lines: OutputLine[] = [];
  readonly #waiters = new Set<() => void>();
  readonly #started = performance.now();
  readonly #stopSignal: NodeJS.Signals;
  #exit: ExitInfo | undefined;
  #stopping: Promise<ExitInfo> | undefined;

  constructor(child: ChildProcess, name: string, stopSignal: NodeJS.Signals) {
    this.child = child;
    this.pid = child.pid!;
    this.name = name;
    this.#stopSignal = stopSignal;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.#exit = { code, signal };
        // Workers the process forked may still hold the group: they go with their parent.
        killGroup(this.pid, 'SIGKILL');
        live.delete(this.pid);
        guardianSend('-' + this.pid);
        this.#notify();
        resolve(this.#exit);
      });
    });
    for (const stream of ['stdout', 'stderr'] as const) {
      const readable = child[stream]!;
      let partial = '';
      readable.setEncoding('utf8');
      readable.on('data', (data: string) => {
        const parts = (partial + data).split('\n');
        partial = parts.pop()!;
        for (const text of parts) this.#push(stream, text.replace(/\r$/, ''));
      });
      readable.on('end', () => {
        if (partial) this.#push(stream, partial);
        partial = '';
      });
      // An unref'd pipe cannot keep a finished test file alive; the exit hook then kills the group.
      (readable as unknown as { unref?(): void }).unref?.();
    }
    child.unref();
  }

  #push(stream: 'stdout' | 'stderr', text: string): void {
    this.#lines.push({ stream, text, at: (performance.now() - this.#started) / 1000 });
    this.#notify();
  }

  #notify(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }

  output(): string {
    return this.#lines.map((l) => l.text + '\n').join('');
  }

  lines(): readonly OutputLine[] {
    return this.#lines;
  }

  exitInfo(): ExitInfo | undefined {
    return this.#exit;
  }

  tail(n = 30): string {
    return this.#lines
      .slice(-n)
      .map((l) => `  | ${l.text}`)
      .join('\n');
  }

  waitForLine(re: RegExp, timeout = 20, since = 0): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      let scanned = since;
      const check = (): void => {
        for (; scanned < this.#lines.length; scanned++) {
          const m = this.#lines[scanned].text.match(re);
          if (m) return done(() => resolve(m));
        }
        if (this.#exit) {
          const how = this.#exit.signal ? `signal ${this.#exit.signal}` : `code ${this.#exit.code}`;
          done(() =>
            reject(
              new E2eError(
                'TSGI_ERR_E2E_EXITED',
                `${this.name} (pid ${this.pid}) exited with ${how} before printing a line matching ${re}; its last output:\n${this.tail()}`,
              ),
            ),
          );
        }
      };
      const timer = setTimeout(() => {
        done(() =>
          reject(
            new E2eError(
              'TSGI_ERR_E2E_LINE_TIMEOUT',
              `${this.name} (pid ${this.pid}) printed no line matching ${re} within ${timeout} s; its last output:\n${this.tail()}`,
            ),
          ),
        );
      }, timeout * 1000);
      const done = (settle: () => void): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        settle();
      };
      this.#waiters.add(check);
      check();
    });
  }

  stop(signal: NodeJS.Signals = this.#stopSignal, timeout = 10): Promise<ExitInfo> {
    if (this.#exit) return Promise.resolve(this.#exit);
    this.#stopping ??= (async () => {
      try {
        process.kill(this.pid, signal);
      } catch {
        // It exited between the check and the signal; `exited` settles.
      }
      if ((await withTimer(this.exited, timeout)) === undefined) {
        killGroup(this.pid, 'SIGKILL');
        // SIGKILL cannot be ignored; the timer only keeps this process alive until the exit arrives.
        await withTimer(this.exited, 30);
      }
      return this.exited;
    })();
    return this.#stopping;
  }
}

/**
 * Starts `cmd` in its own process group, captures stdout and stderr line by line, and registers it so
 * that it is killed (with its whole group) when the test process ends, even by a crash or SIGKILL.
 */
export async function startProcess(cmd: string, args: readonly string[], options: StartProcessOptions = {}): Promise<StartedProcess> {
  installExitHook();
  const pinned = options.cpu !== undefined;
  const file = pinned ? 'taskset' : cmd;
  const argv = pinned ? ['-c', String(options.cpu), cmd, ...args] : [...args];
  const child = spawn(file, argv, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const name = options.name ?? cmd.split('/').pop()!;
  const spawned = await new Promise<Error | undefined>((resolve) => {
    child.once('spawn', () => resolve(undefined));
    child.once('error', (err) => resolve(err));
  });
  if (spawned) {
    throw new E2eError('TSGI_ERR_E2E_EXITED', `could not start ${file}: ${spawned.message}; is it installed and on PATH?`);
  }
  const proc = new StartedProcessImpl(child, name, options.stopSignal ?? 'SIGTERM');
  live.set(proc.pid, proc);
  guardianSend('+' + proc.pid);
  if (options.ready) {
    const readyTimeout = options.readyTimeout ?? 20;
    try {
      await proc.waitForLine(options.ready, readyTimeout);
    } catch (err) {
      await proc.stop('SIGKILL', 5);
      if (err instanceof E2eError && err.code === 'TSGI_ERR_E2E_LINE_TIMEOUT') {
        throw new E2eError('TSGI_ERR_E2E_READY_TIMEOUT', `${name} was not ready within ${readyTimeout} s: ${err.message}`);
      }
      throw err;
    }
  }
  return proc;
}
