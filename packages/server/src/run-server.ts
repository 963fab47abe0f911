import { appendFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { TsgiOptions } from './config/options.js';
import { Master } from './master.js';

export interface RunServerContext {
  cwd: string;
  /** Where log lines go when --logto is not set. */
  writeLog?: (line: string) => void;
}

/**
 * Runs a tsgi instance until it is stopped: SIGINT/SIGTERM stop it gracefully (a second one
 * brutally), SIGQUIT brutally. Resolves with the process exit code.
 */
export async function runServer(options: TsgiOptions, context: RunServerContext): Promise<number> {
  const cwd = options.chdir ? resolve(context.cwd, options.chdir) : context.cwd;
  if (options.chdir) process.chdir(cwd);
  for (const { name, value } of options.env) process.env[name] = value;
  const logto = options.logto ? resolve(cwd, options.logto) : null;
  const write = logto
    ? (line: string) => appendFileSync(logto, line + '\n')
    : (context.writeLog ?? ((line: string) => process.stderr.write(line + '\n')));
  const master = new Master(options, cwd, { log: write });
  let stops = 0;
  const graceful = (sig: string) => {
    stops++;
    void master.shutdown(stops > 1 ? 'brutal' : 'graceful', sig);
  };
  const onInt = () => graceful('SIGINT');
  const onTerm = () => graceful('SIGTERM');
  const onQuit = () => void master.shutdown('brutal', 'SIGQUIT');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  process.on('SIGQUIT', onQuit);
  try {
    await master.start();
  } catch (err) {
    write(`*** tsgi failed to start: ${err instanceof Error ? err.message : String(err)} ***`);
    await master.shutdown('brutal', 'startup failure');
    return 1;
  }
  const code = await master.finished;
  process.off('SIGINT', onInt);
  process.off('SIGTERM', onTerm);
  process.off('SIGQUIT', onQuit);
  return code;
}
