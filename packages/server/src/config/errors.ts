import { TsgiError } from '../errors.js';

/**
 * Base of every configuration error. `exitCode` is what the `tsgi` CLI exits with when this error
 * ends the process (uWSGI's `--signal` client, for one, exits 3 on a bad signal number).
 */
export class OptionError extends TsgiError {
  readonly exitCode: number;
  constructor(code: string, message: string, options?: { cause?: unknown; exitCode?: number }) {
    super(code, message, options);
    this.exitCode = options?.exitCode ?? 1;
  }
}

/** A flag (or a config-file key) that tsgi does not know. */
export class UnknownOptionError extends OptionError {
  readonly option: string;
  readonly suggestion: string | null;
  constructor(option: string, suggestion: string | null, display = `--${option}`) {
    const hint = suggestion === null ? '; run `tsgi --help` for the list of options' : `; did you mean --${suggestion}?`;
    super('TSGI_ERR_UNKNOWN_OPTION', `unknown option ${display}${hint}`);
    this.option = option;
    this.suggestion = suggestion;
  }
}

/** A flag's value is not of the form the flag expects. */
export class BadOptionValueError extends OptionError {
  readonly option: string;
  readonly value: string | undefined;
  constructor(option: string, value: string | undefined, expected: string, options?: { exitCode?: number; cause?: unknown }) {
    const shown = value === undefined ? 'no value' : JSON.stringify(value);
    super('TSGI_ERR_BAD_OPTION_VALUE', `bad value for --${option}: ${shown}; expected ${expected}`, options);
    this.option = option;
    this.value = value;
  }
}

/** `--threads N` (N > 1): tsgi runs the gevent loop engine only, which cannot share a worker with threads. */
export class ThreadsWithGeventError extends OptionError {
  readonly threads: number;
  constructor(threads: number, cores: number) {
    super(
      'TSGI_ERR_THREADS_WITH_GEVENT',
      `--threads ${threads} cannot be combined with the gevent loop engine (--gevent ${cores}): greenlets of one hub ` +
        `cannot run on several threads. uWSGI accepts this silently, switches to threaded mode with ${threads} cores while ` +
        `the gevent engine still hands out ${cores}, and corrupts memory or segfaults (uWSGI issue #858). ` +
        `Remove --threads and run more processes instead (--processes N), each with its own hub.`,
    );
    this.threads = threads;
  }
}

/** Two flags that ask for opposite behaviours. */
export class ConflictingOptionsError extends OptionError {
  readonly options: readonly string[];
  constructor(options: readonly string[], why: string) {
    super('TSGI_ERR_CONFLICTING_OPTIONS', `${options.map((o) => `--${o}`).join(' and ')} cannot be used together: ${why}`);
    this.options = options;
  }
}

/**
 * A config file could not be read or one of its settings is wrong. Names the file, the line (ini and
 * yaml; json where the key can be located) and the key. `reason` is the code of the underlying error
 * (e.g. TSGI_ERR_BAD_OPTION_VALUE) when there is one.
 */
export class ConfigError extends OptionError {
  readonly file: string;
  readonly line: number | null;
  readonly key: string | null;
  readonly reason: string | null;
  constructor(file: string, line: number | null, key: string | null, problem: string, options?: { cause?: unknown; reason?: string }) {
    const where = `${file}${line === null ? '' : `:${line}`}`;
    super('TSGI_ERR_CONFIG', `${where}: ${key === null ? '' : `${key}: `}${problem}`, {
      cause: options?.cause,
      exitCode: options?.cause instanceof OptionError ? options.cause.exitCode : 1,
    });
    this.file = file;
    this.line = line;
    this.key = key;
    this.reason = options?.reason ?? (options?.cause instanceof TsgiError ? options.cause.code : null);
  }
}
