import { SignalError } from './errors.js';
import { isSignalNumber } from './signal-target.js';

/** How a `tsgi --signal ADDR,NUM` attempt ended. */
export type SignalClientOutcome = 'delivered' | 'rejected' | 'unreachable' | 'invalid-number' | 'invalid-syntax';

export interface SignalClientResult {
  /** uWSGI's exit code: 0 delivered, 1 unreachable or bad syntax, 2 rejected, 3 invalid signal number. */
  exitCode: 0 | 1 | 2 | 3;
  /** uWSGI's log line, without the trailing newline. */
  message: string;
}

export type SignalClientArgument =
  | { ok: true; address: string; num: number }
  | { ok: false; outcome: 'invalid-syntax' | 'invalid-number'; result: SignalClientResult };

/**
 * Splits the argument of `--signal` (`127.0.0.1:3031,17`, `/tmp/app.sock,3`) at its first comma, as
 * uWSGI does. A missing comma is uWSGI's syntax error (exit 1); a number that is not an integer in
 * 0..255 is "invalid signal number" (exit 3) — uWSGI's atoi would read `abc` as signal 0.
 */
export function parseSignalClientArgument(arg: string): SignalClientArgument {
  const comma = typeof arg === 'string' ? arg.indexOf(',') : -1;
  if (comma < 0) {
    return { ok: false, outcome: 'invalid-syntax', result: formatSignalClientResult({ outcome: 'invalid-syntax' }) };
  }
  const address = arg.slice(0, comma);
  const text = arg.slice(comma + 1).trim();
  const num = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!isSignalNumber(num)) {
    return { ok: false, outcome: 'invalid-number', result: formatSignalClientResult({ outcome: 'invalid-number' }) };
  }
  return { ok: true, address, num };
}

/** uWSGI's message and exit code for each outcome of `--signal` (core/uwsgi.c `uwsgi_command_signal`). */
export function formatSignalClientResult(input: { outcome: SignalClientOutcome; address?: string; num?: number }): SignalClientResult {
  const { outcome, address = '', num } = input;
  switch (outcome) {
    case 'delivered':
      return { exitCode: 0, message: `signal ${num} delivered to node ${address}` };
    case 'unreachable':
      return { exitCode: 1, message: `unable to deliver signal ${num} to node ${address}` };
    case 'rejected':
      return { exitCode: 2, message: `node ${address} rejected signal ${num}` };
    case 'invalid-number':
      return { exitCode: 3, message: 'invalid signal number' };
    case 'invalid-syntax':
      return { exitCode: 1, message: 'invalid syntax for signal, must be addr,signal' };
    default:
      throw new SignalError('TSGI_ERR_SIGNAL_OPTION', `unknown --signal outcome ${String(outcome)}`);
  }
}

/** `--signal-timer "NUM SECONDS"` and `--signal-rbtimer "NUM SECONDS"`, with uWSGI's syntax error texts. */
export function parseSignalTimerOption(value: string, kind: 'timer' | 'rb-timer' = 'timer'): { num: number; seconds: number } {
  const m = typeof value === 'string' ? /^\s*(\d+)\s+(\d+(?:\.\d+)?)\s*$/.exec(value) : null;
  const syntax =
    kind === 'timer'
      ? 'invalid signal timer syntax, must be: <signal> <seconds>'
      : 'invalid redblack signal timer syntax, must be: <signal> <seconds>';
  if (!m) throw new SignalError('TSGI_ERR_SIGNAL_OPTION', `${syntax} (got ${JSON.stringify(value)})`);
  const num = Number(m[1]);
  const seconds = Number(m[2]);
  if (!isSignalNumber(num)) throw new SignalError('TSGI_ERR_SIGNAL_OPTION', `${syntax}: invalid signal number ${m[1]} (use 0-255)`);
  if (!(seconds > 0)) throw new SignalError('TSGI_ERR_SIGNAL_OPTION', `${syntax}: the period must be more than 0 seconds`);
  return { num, seconds };
}

/** `--touch-signal "FILE NUM"` (uWSGI's syntax: file, a space, the signal). The file name is everything before the last space. */
export function parseTouchSignalOption(value: string): { path: string; num: number } {
  const m = typeof value === 'string' ? /^(.+?)\s+(\d+)\s*$/.exec(value.trim()) : null;
  const syntax = 'invalid touch-signal syntax, must be: <file> <signal>';
  if (!m) throw new SignalError('TSGI_ERR_SIGNAL_OPTION', `${syntax} (got ${JSON.stringify(value)})`);
  const num = Number(m[2]);
  if (!isSignalNumber(num)) throw new SignalError('TSGI_ERR_SIGNAL_OPTION', `${syntax}: invalid signal number ${m[2]} (use 0-255)`);
  return { path: m[1]!, num };
}
