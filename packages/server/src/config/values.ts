import net from 'node:net';
import { parseSocketAddress } from '../engine/socket-address.js';
import { BadOptionValueError } from './errors.js';
import type { EnvSetting, SignalTarget, SignalTimerSetting, TouchSignalSetting } from './options.js';

const FALSE_WORDS = new Set(['false', 'off', 'no', '0']);
const TRUE_WORDS = new Set(['', 'true', 'on', 'yes', '1']);

/**
 * A boolean as uWSGI reads one (`uwsgi_opt_true`): a bare flag, or `false`/`off`/`no`/`0` (any case)
 * for false. uWSGI takes every other word as true, so `master = flase` silently enables it; tsgi
 * accepts only true/on/yes/1 (and an empty value) for true and refuses the rest.
 */
export function parseBoolean(option: string, raw: string | undefined): boolean {
  if (raw === undefined) return true;
  const word = raw.trim().toLowerCase();
  if (FALSE_WORDS.has(word)) return false;
  if (TRUE_WORDS.has(word)) return true;
  throw new BadOptionValueError(option, raw, 'a boolean (true/false, on/off, yes/no, 1/0)');
}

export interface NumberRule {
  readonly min?: number;
  readonly max?: number;
  /** Seconds may be fractional (`--harakiri 0.5`); counts may not. */
  readonly fractional?: boolean;
}

function describeRange(rule: NumberRule, what: string): string {
  if (rule.min !== undefined && rule.max !== undefined) return `${what} from ${rule.min} to ${rule.max}`;
  if (rule.min !== undefined) return `${what} >= ${rule.min}`;
  if (rule.max !== undefined) return `${what} <= ${rule.max}`;
  return what;
}

function checkRange(option: string, raw: string, n: number, rule: NumberRule, what: string): number {
  if ((rule.min !== undefined && n < rule.min) || (rule.max !== undefined && n > rule.max)) {
    throw new BadOptionValueError(option, raw, describeRange(rule, what));
  }
  return n;
}

export function parseNumber(option: string, raw: string | undefined, rule: NumberRule): number {
  const what = rule.fractional ? 'a number' : 'an integer';
  const text = raw?.trim() ?? '';
  const ok = rule.fractional ? /^\d+(\.\d+)?$|^\.\d+$/.test(text) : /^\d+$/.test(text);
  if (raw === undefined || !ok) throw new BadOptionValueError(option, raw, describeRange(rule, what));
  const n = Number(text);
  if (!Number.isSafeInteger(Math.floor(n))) throw new BadOptionValueError(option, raw, describeRange(rule, what));
  return checkRange(option, raw, n, rule, what);
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** A byte count: `4096`, or with a k/m/g suffix (`64k`, `1m`), which uWSGI's sizes do not take. */
export function parseSize(option: string, raw: string | undefined, rule: NumberRule): number {
  const what = 'a size in bytes (e.g. 4096, 64k, 1m)';
  const m = raw === undefined ? null : /^\s*(\d+)\s*([kKmMgG]?)\s*$/.exec(raw);
  if (raw === undefined || m === null) throw new BadOptionValueError(option, raw, describeRange(rule, what));
  const n = Number(m[1]) * SIZE_UNITS[m[2].toLowerCase()];
  if (!Number.isSafeInteger(n)) throw new BadOptionValueError(option, raw, describeRange(rule, what));
  return checkRange(option, raw, n, rule, what);
}

export function parseEnum<T extends string>(option: string, raw: string | undefined, choices: readonly T[]): T {
  const text = raw?.trim();
  if (text !== undefined && (choices as readonly string[]).includes(text)) return text as T;
  throw new BadOptionValueError(option, raw, `one of ${choices.join(', ')}`);
}

export function parseString(option: string, raw: string | undefined, placeholder: string): string {
  if (raw === undefined || raw.trim() === '') throw new BadOptionValueError(option, raw, `a ${placeholder}`);
  return raw.trim();
}

const ADDRESS_FORM = 'an address: host:port, :port (every interface), [v6addr]:port, or a unix socket path';

/** A listening address as uWSGI's --socket reads it. The engine binds it; here only its form is checked. */
export function parseAddress(option: string, raw: string | undefined): string {
  const text = raw?.trim() ?? '';
  if (text === '') throw new BadOptionValueError(option, raw, ADDRESS_FORM);
  try {
    parseSocketAddress(text);
  } catch (error) {
    throw new BadOptionValueError(option, raw, `${ADDRESS_FORM} (${(error as Error).message})`, { cause: error });
  }
  return text;
}

/** `KEY=VALUE` for --env; the value may be empty, the key may not. */
export function parseEnvSetting(option: string, raw: string | undefined): EnvSetting {
  const eq = raw === undefined ? -1 : raw.indexOf('=');
  if (raw === undefined || eq <= 0) throw new BadOptionValueError(option, raw, 'KEY=VALUE');
  return { name: raw.slice(0, eq).trim(), value: raw.slice(eq + 1) };
}

/** `--worker-node-arg --flag[=value]`: one flag, as Node takes it on its command line. */
export function parseNodeFlag(option: string, raw: string | undefined): string {
  if (raw === undefined || !/^--?[A-Za-z]/.test(raw) || /\s/.test(raw)) {
    throw new BadOptionValueError(option, raw, 'one Node or V8 flag, such as --max-semi-space-size=2 (written with = when it takes a value)');
  }
  return raw;
}

function parseSignum(option: string, raw: string, text: string, exitCode = 1): number {
  if (!/^\d+$/.test(text) || Number(text) > 255) {
    throw new BadOptionValueError(option, raw, 'a uWSGI signal number from 0 to 255 (invalid signal number)', { exitCode });
  }
  return Number(text);
}

/**
 * `ADDR,NUM` for the --signal client. uWSGI exits 1 with `invalid syntax for signal, must be addr,signal`
 * when the comma is missing and 3 with `invalid signal number` when NUM is out of range; the errors
 * carry the same exit codes. (uWSGI reads NUM with atoi, so `x` becomes signal 0; tsgi refuses it.)
 */
export function parseSignalTarget(option: string, raw: string | undefined): SignalTarget {
  const comma = raw === undefined ? -1 : raw.lastIndexOf(',');
  if (raw === undefined || comma <= 0) {
    throw new BadOptionValueError(option, raw, 'ADDR,NUM (invalid syntax for signal, must be addr,signal)');
  }
  const address = parseAddress(option, raw.slice(0, comma));
  return { address, signum: parseSignum(option, raw, raw.slice(comma + 1).trim(), 3) };
}

/** `"NUM SECONDS"` for --signal-timer / --signal-rbtimer, as uWSGI writes them. */
export function parseSignalTimer(option: string, raw: string | undefined): SignalTimerSetting {
  const m = raw === undefined ? null : /^\s*(\S+)\s+(\S+)\s*$/.exec(raw);
  if (raw === undefined || m === null) throw new BadOptionValueError(option, raw, '"NUM SECONDS" (signal number, then the period)');
  const signum = parseSignum(option, raw, m[1]);
  const seconds = parseNumber(option, m[2], { min: 0.001, fractional: true });
  return { signum, seconds };
}

/** `"FILE NUM"` for --touch-signal (uWSGI: `file signal`). */
export function parseTouchSignal(option: string, raw: string | undefined): TouchSignalSetting {
  const m = raw === undefined ? null : /^\s*(.+?)\s+(\S+)\s*$/.exec(raw);
  if (raw === undefined || m === null) throw new BadOptionValueError(option, raw, '"FILE NUM" (the file to watch, then the signal number)');
  return { file: m[1], signum: parseSignum(option, raw, m[2]) };
}

/** An IP address or a CIDR block (`127.0.0.0/8`, `::1`, `10.0.0.0/8`) for --signal-allow. */
export function parseAllowEntry(option: string, raw: string | undefined): string {
  const text = raw?.trim() ?? '';
  const slash = text.indexOf('/');
  const ip = slash < 0 ? text : text.slice(0, slash);
  const family = net.isIP(ip);
  let ok = family !== 0;
  if (ok && slash >= 0) {
    const bits = text.slice(slash + 1);
    ok = /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
  }
  if (!ok) throw new BadOptionValueError(option, raw, 'an IP address or CIDR block (e.g. 127.0.0.1, 10.0.0.0/8, ::1)');
  return text;
}

/** --logto FILE. uWSGI reads `host:port` as a UDP destination; tsgi logs to files only and says so. */
export function parseLogFile(option: string, raw: string | undefined): string {
  const text = parseString(option, raw, 'file path');
  if (!text.includes('/') && /^(\[[0-9a-fA-F:.]*\]|[^:]*):\d+$/.test(text)) {
    throw new BadOptionValueError(option, raw, 'a file path (uWSGI\'s UDP log destination host:port is not supported; write ./' + text + ' for a file of that name)');
  }
  return text;
}
