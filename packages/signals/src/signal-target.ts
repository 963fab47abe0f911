import { SignalError } from './errors.js';

/** uWSGI's signal numbers are one byte: 0-255, none reserved. */
export const SIGNAL_COUNT = 256;

/** A parsed registration target. `any` is uWSGI's "" / "worker" / "worker0": exactly one worker, the first free. */
export type SignalTarget =
  | { kind: 'any' }
  | { kind: 'all' }
  | { kind: 'active' }
  | { kind: 'worker'; id: number };

export function isSignalNumber(num: unknown): num is number {
  return Number.isInteger(num) && (num as number) >= 0 && (num as number) < SIGNAL_COUNT;
}

/** Throws TSGI_ERR_SIGNAL_NUMBER unless `num` is an integer in 0..255. */
export function assertSignalNumber(num: unknown): asserts num is number {
  if (!isSignalNumber(num)) {
    throw new SignalError(
      'TSGI_ERR_SIGNAL_NUMBER',
      `invalid signal number: ${String(num)} (uWSGI signals are one byte: use an integer from 0 to 255)`,
    );
  }
}

const UNSUPPORTED = /^(?:mules?\d*|spooler|subscribed|farm\d+|farm_.+)$/;

/**
 * Parses a uWSGI signal target. Mules, the spooler, farms and `subscribed` do not exist in tsgi yet
 * and are refused (TSGI_ERR_SIGNAL_TARGET_UNSUPPORTED); anything else unknown is refused at
 * registration (TSGI_ERR_SIGNAL_TARGET_UNKNOWN) instead of at delivery as uWSGI does.
 */
export function parseSignalTarget(target: unknown): SignalTarget {
  if (target === undefined || target === null || target === '' || target === 'worker') return { kind: 'any' };
  if (typeof target !== 'string') {
    throw new SignalError(
      'TSGI_ERR_SIGNAL_TARGET_UNKNOWN',
      `invalid signal target: ${String(target)} (use "", "worker", "workers", "active-workers" or "workerN")`,
    );
  }
  if (target === 'workers') return { kind: 'all' };
  if (target === 'active-workers') return { kind: 'active' };
  const m = /^worker(\d{1,6})$/.exec(target);
  if (m) {
    const id = Number(m[1]);
    return id === 0 ? { kind: 'any' } : { kind: 'worker', id };
  }
  if (UNSUPPORTED.test(target)) {
    throw new SignalError(
      'TSGI_ERR_SIGNAL_TARGET_UNSUPPORTED',
      `signal target "${target}" is not supported by tsgi yet (there are no mules, farms or spooler): ` +
        'use "", "worker", "workers", "active-workers" or "workerN"',
    );
  }
  throw new SignalError(
    'TSGI_ERR_SIGNAL_TARGET_UNKNOWN',
    `^^^ UNSUPPORTED SIGNAL TARGET: ${target} ^^^ (use "", "worker", "workers", "active-workers" or "workerN")`,
  );
}

/** The canonical spelling of a target, as the registration log line prints it. */
export function formatSignalTarget(target: SignalTarget): string {
  switch (target.kind) {
    case 'any':
      return 'default, any worker';
    case 'all':
      return 'workers';
    case 'active':
      return 'active-workers';
    case 'worker':
      return `worker${target.id}`;
  }
}

export function sameSignalTarget(a: SignalTarget, b: SignalTarget): boolean {
  return a.kind === b.kind && (a.kind !== 'worker' || a.id === (b as { id: number }).id);
}
