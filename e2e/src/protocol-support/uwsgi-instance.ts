// A real uWSGI for the protocol client's e2e tests: started on a unix socket in its own temp dir (uWSGI does not
// report the port it got for :0), watched through its log, stopped with SIGINT (SIGTERM means "brutal reload" to a
// uWSGI 2.0 master) and SIGKILL if it lingers.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const UWSGI_BIN = process.env.TSGI_UWSGI_BIN ?? '/usr/bin/uwsgi';

export function uwsgiMissingReason(): string | null {
  return existsSync(UWSGI_BIN) ? null : `uwsgi binary not found at ${UWSGI_BIN} (install Debian's uwsgi + uwsgi-plugin-python3, or set TSGI_UWSGI_BIN)`;
}

export interface UwsgiInstance {
  socketPath: string;
  dir: string;
  log(): string;
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

export async function startUwsgi(app: string, args: string[], readyPattern = /spawned uWSGI worker 1/): Promise<UwsgiInstance> {
  const dir = mkdtempSync(join(tmpdir(), 'tsgi-e2e-uwsgi-'));
  const socketPath = join(dir, 'uwsgi.sock');
  writeFileSync(join(dir, 'app.py'), app);
  // plugin options exist only once --plugins has loaded them, so the caller's args (with --plugins) come first
  const child: ChildProcess = spawn(UWSGI_BIN, [...args, '--socket', socketPath, '--wsgi-file', join(dir, 'app.py'), '--chdir', dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const waiters = new Set<() => void>();
  const onOutput = (chunk: Buffer) => {
    output += chunk.toString('latin1');
    for (const w of waiters) w();
  };
  child.stdout!.on('data', onOutput);
  child.stderr!.on('data', onOutput);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', () => {
    for (const w of waiters) w();
  });

  const waitForLog = (pattern: RegExp, timeoutMs = 20_000): Promise<string> =>
    new Promise((resolve, reject) => {
      const check = () => {
        const m = pattern.exec(output);
        if (m) {
          done();
          resolve(m[0]);
        } else if (child.exitCode !== null || child.signalCode !== null) {
          done();
          reject(new Error(`uWSGI exited (${child.exitCode ?? child.signalCode}) before logging ${pattern}:\n${output.slice(-3000)}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`uWSGI did not log ${pattern} within ${timeoutMs} ms:\n${output.slice(-3000)}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await waitForLog(readyPattern);
  } catch (error) {
    await stop();
    throw error;
  }
  return { socketPath, dir, log: () => output, waitForLog, stop };
}
