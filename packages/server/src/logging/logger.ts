import { channel } from 'node:diagnostics_channel';
import { closeSync, openSync, writeSync } from 'node:fs';
import { TsgiError } from '../errors.js';
import { compileLogFormat, type LogFormatter } from './log-format.js';
import { formatRequestLogLine, type RequestLogRecord } from './request-log.js';

/** Every line a Logger writes: `{ line, destination }` (line without its newline). */
export const logLineChannel = channel('tsgi:server:log:line');
/** A failed write: `{ error, destination }`. The line is lost; the process goes on. */
export const logErrorChannel = channel('tsgi:server:log:error');

/** --logto FILE cannot be opened for appending. */
export class LogFileError extends TsgiError {
  readonly path: string;
  constructor(path: string, cause: unknown) {
    super('TSGI_ERR_LOG_FILE', `cannot open --logto ${path} for appending: ${(cause as Error).message}; check the directory exists and is writable`, { cause });
    this.path = path;
  }
}

export interface LoggerOptions {
  /** --logto: append to this file; null or absent: stderr. */
  readonly logto?: string | null;
}

/**
 * The server's log: one line per call, written synchronously (a line written before a crash is in
 * the file), to stderr or appended to --logto FILE. Write errors never throw into the caller.
 */
export class Logger {
  readonly destination: string;
  #fd: number | null = null;
  #path: string | null;
  #reportedError = false;

  constructor(options: LoggerOptions = {}) {
    this.#path = options.logto ?? null;
    this.destination = this.#path ?? 'stderr';
    if (this.#path !== null) {
      try {
        this.#fd = openSync(this.#path, 'a');
      } catch (error) {
        throw new LogFileError(this.#path, error);
      }
    }
  }

  /** Writes `line` and a newline (unless it already ends with one). */
  log(line: string): void {
    const text = line.endsWith('\n') ? line : `${line}\n`;
    if (logLineChannel.hasSubscribers) logLineChannel.publish({ line: text.slice(0, -1), destination: this.destination });
    try {
      writeAll(this.#fd ?? STDERR_FD, text);
    } catch (error) {
      this.#report(error);
    }
  }

  /** Closes and reopens --logto (after logrotate moved the file: the lead wires it to SIGHUP). No-op for stderr. */
  reopen(): void {
    if (this.#path === null) return;
    const old = this.#fd;
    try {
      this.#fd = openSync(this.#path, 'a');
      this.#reportedError = false;
    } catch (error) {
      this.#report(error);
      return;
    }
    if (old !== null) closeSafely(old);
  }

  close(): void {
    if (this.#fd !== null) closeSafely(this.#fd);
    this.#fd = null;
    this.#path = null;
  }

  #report(error: unknown): void {
    if (logErrorChannel.hasSubscribers) logErrorChannel.publish({ error, destination: this.destination });
    if (this.#reportedError) return;
    this.#reportedError = true;
    try {
      process.stderr.write(`tsgi: cannot write the log to ${this.destination}: ${(error as Error).message} (further errors are not repeated)\n`);
    } catch {
      // stderr itself is gone: nothing left to tell.
    }
  }
}

const STDERR_FD = 2;
const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Writes the whole line before returning, so nothing is left in a queue when the process dies
 * (process.stderr queues writes to a pipe once libuv has made it non-blocking). A full pipe
 * (EAGAIN) is waited out in 1 ms sleeps; the request path pays for a reader that does not read,
 * as uWSGI's blocking writev() does.
 */
function writeAll(fd: number, text: string): void {
  const buf = Buffer.from(text);
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(fd, buf, off);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

function closeSafely(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already closed: nothing to release.
  }
}

export interface RequestLogSettings {
  readonly disableLogging: boolean;
  readonly log4xx: boolean;
  readonly log5xx: boolean;
  readonly logformat: string | null;
  readonly logMicros: boolean;
}

/** uWSGI's log_request(): nothing with --disable-logging, except 4xx/5xx responses when --log-4xx/--log-5xx ask for them. */
export function shouldLogRequest(settings: RequestLogSettings, status: number): boolean {
  if (settings.log4xx && status >= 400 && status <= 499) return true;
  if (settings.log5xx && status >= 500 && status <= 599) return true;
  return !settings.disableLogging;
}

/**
 * The formatter the options ask for: --logformat compiled once, else uWSGI's default line
 * (in micros with --log-micros).
 */
export function createRequestLogFormatter(settings: Pick<RequestLogSettings, 'logformat' | 'logMicros'>): LogFormatter {
  if (settings.logformat !== null) return compileLogFormat(settings.logformat);
  const options = { micros: settings.logMicros };
  return (record: RequestLogRecord) => formatRequestLogLine(record, options);
}
