import { appendFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { inspect } from 'node:util';
import type { EngineLogger, RequestLogRecord } from './engine/loop-engine.js';
import type { WorkerSettings } from './ipc-messages.js';
import { compileLogFormat } from './logging/log-format.js';
import { formatRequestLogLine } from './logging/request-log.js';

/** The worker's log: uWSGI's request line (or --logformat) and error lines, to stderr or --logto. */
export function createWorkerLogger(settings: WorkerSettings, workerId: number): EngineLogger {
  const target = settings.logto ? resolve(settings.cwd, settings.logto) : null;
  const write = target ? (text: string) => appendFileSync(target, text) : (text: string) => process.stderr.write(text);
  const custom = settings.logformat ? compileLogFormat(settings.logformat) : null;
  return {
    logsRequests: !settings.disableLogging,
    info(line) {
      write(line + '\n');
    },
    error(line, error) {
      if (error === undefined) write(line + '\n');
      else write(`${line}\n${error instanceof Error ? (error.stack ?? error.message) : inspect(error)}\n`);
    },
    request(record: RequestLogRecord) {
      if (settings.disableLogging) return;
      write((custom ? custom(record) : formatRequestLogLine(record, { micros: settings.logMicros })) + '\n');
    },
  };
}
