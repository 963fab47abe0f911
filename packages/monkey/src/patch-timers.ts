/**
 * patchTimers(): timers become owned by the greenlet that creates them: their callbacks run with it
 * current, killing the greenlet clears every timer it still owns, and the promise timers are
 * killable hub waits.
 */
import { syncBuiltinESMExports } from 'node:module';
import nodeTimers from 'node:timers';
import timersPromises from 'node:timers/promises';
import { promisify } from 'node:util';
import type { Greenlet } from '@tsgi/hub';
import { greenletStorage, isKilled, onKill, waitFor } from '@tsgi/hub/internal';
import { markPatched } from './registry.js';

/** The functions as they were when this module was first evaluated (before any patch of ours). */
export const originalTimers = {
  setTimeout: globalThis.setTimeout,
  setInterval: globalThis.setInterval,
  setImmediate: globalThis.setImmediate,
  clearTimeout: globalThis.clearTimeout,
  clearInterval: globalThis.clearInterval,
  clearImmediate: globalThis.clearImmediate,
  timersSetTimeout: nodeTimers.setTimeout,
  timersSetInterval: nodeTimers.setInterval,
  timersSetImmediate: nodeTimers.setImmediate,
  promiseSetTimeout: timersPromises.setTimeout,
  promiseSetImmediate: timersPromises.setImmediate,
  promiseSetInterval: timersPromises.setInterval,
};
const o = originalTimers;

/** Node's Timeout and Immediate objects both mark themselves `_destroyed` once fired or cleared. */
interface NodeTimer {
  _destroyed?: boolean;
}

interface Owned {
  timeouts: Set<NodeJS.Timeout>;
  immediates: Set<NodeJS.Immediate>;
  sweepAt: number;
}

const SWEEP_MIN = 64;
const owners = new WeakMap<Greenlet<any>, Owned>();

function ownedBy(g: Greenlet<any>): Owned {
  let rec = owners.get(g);
  if (rec === undefined) {
    const r: Owned = { timeouts: new Set(), immediates: new Set(), sweepAt: SWEEP_MIN };
    rec = r;
    owners.set(g, r);
    onKill(g, () => {
      owners.delete(g);
      for (const t of r.timeouts) o.clearTimeout(t);
      for (const i of r.immediates) o.clearImmediate(i);
      r.timeouts.clear();
      r.immediates.clear();
    });
  }
  return rec;
}

/*
 * Fired and cleared timers are dropped lazily, when a greenlet's set doubles, so a greenlet that
 * makes timers all its life holds only the live ones, without a cleanup closure per timer.
 */
function remember<T extends object>(set: Set<T>, rec: Owned, t: T): void {
  set.add(t);
  if (set.size >= rec.sweepAt) {
    for (const x of set) if ((x as NodeTimer)._destroyed === true) set.delete(x);
    rec.sweepAt = Math.max(SWEEP_MIN, set.size * 2);
  }
}

/** A greenlet already killed (and still running, having caught the exit) owns nothing new. */
function ownable(g: Greenlet<any> | undefined): g is Greenlet<any> {
  return g !== undefined && !g.dead && !isKilled(g);
}

/**
 * The callback, run with `g` current. The hub carries the current greenlet across promise
 * continuations only (see @tsgi/hub's greenlet-context.ts); a timer's callback is no continuation.
 */
function inGreenlet(g: Greenlet<any>, callback: (...args: any[]) => void): (this: unknown, ...args: any[]) => void {
  return function (this: unknown, ...args: any[]): void {
    greenletStorage.run(g, () => callback.apply(this, args));
  };
}

function patchedSetTimeout(this: unknown, callback: (...args: any[]) => void, ms?: number, ...args: any[]): NodeJS.Timeout {
  const g = greenletStorage.getStore();
  if (!ownable(g) || typeof callback !== 'function') return args.length === 0 ? o.setTimeout(callback, ms) : o.setTimeout(callback, ms, ...args);
  const t = o.setTimeout(inGreenlet(g, callback), ms, ...args);
  const rec = ownedBy(g);
  remember(rec.timeouts, rec, t);
  return t;
}

function patchedSetInterval(this: unknown, callback: (...args: any[]) => void, ms?: number, ...args: any[]): NodeJS.Timeout {
  const g = greenletStorage.getStore();
  if (!ownable(g) || typeof callback !== 'function') return args.length === 0 ? o.setInterval(callback, ms) : o.setInterval(callback, ms, ...args);
  const t = o.setInterval(inGreenlet(g, callback), ms, ...args);
  const rec = ownedBy(g);
  remember(rec.timeouts, rec, t);
  return t;
}

function patchedSetImmediate(this: unknown, callback: (...args: any[]) => void, ...args: any[]): NodeJS.Immediate {
  const g = greenletStorage.getStore();
  if (!ownable(g) || typeof callback !== 'function') return args.length === 0 ? o.setImmediate(callback) : o.setImmediate(callback, ...args);
  const i = o.setImmediate(inGreenlet(g, callback), ...args);
  const rec = ownedBy(g);
  remember(rec.immediates, rec, i);
  return i;
}

// util.promisify(setTimeout) must keep meaning timers/promises' setTimeout (now the patched one).
for (const fn of [patchedSetTimeout, patchedSetImmediate]) {
  const name = fn === patchedSetTimeout ? 'setTimeout' : 'setImmediate';
  Object.defineProperty(fn, promisify.custom, {
    get: () => (timersPromises as any)[name],
    enumerable: false,
    configurable: true,
  });
}

interface PromiseTimerOptions {
  signal?: AbortSignal;
  ref?: boolean;
}

function abortError(signal: AbortSignal): Error {
  const err = new Error('The operation was aborted', { cause: signal.reason }) as Error & { code: string };
  err.name = 'AbortError';
  err.code = 'ABORT_ERR';
  return err;
}

/** Options the patched promise timers understand; anything else goes to Node's own (for its errors). */
function plainOptions(options: unknown): options is PromiseTimerOptions | undefined {
  if (options === undefined) return true;
  if (typeof options !== 'object' || options === null) return false;
  const { signal, ref } = options as PromiseTimerOptions;
  return (signal === undefined || signal instanceof AbortSignal) && (ref === undefined || typeof ref === 'boolean');
}

function killableTimer<T>(
  start: (done: () => void) => NodeJS.Timeout | NodeJS.Immediate,
  stop: (t: any) => void,
  value: T,
  options: PromiseTimerOptions | undefined,
): Promise<T> {
  const signal = options?.signal;
  if (signal?.aborted) return Promise.reject(abortError(signal));
  return waitFor<T>((resolve, reject) => {
    let onAbort: (() => void) | undefined;
    const t = start(() => {
      if (onAbort !== undefined) signal!.removeEventListener('abort', onAbort);
      resolve(value);
    });
    if (options?.ref === false) t.unref();
    if (signal !== undefined) {
      onAbort = () => {
        stop(t);
        reject(abortError(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
    }
    return () => {
      stop(t);
      if (onAbort !== undefined) signal!.removeEventListener('abort', onAbort);
    };
  });
}

function patchedPromiseSetTimeout<T = void>(ms?: number, value?: T, options?: PromiseTimerOptions): Promise<T> {
  if (greenletStorage.getStore() === undefined || !plainOptions(options)) {
    return o.promiseSetTimeout(ms, value as T, options as any);
  }
  return killableTimer((done) => o.setTimeout(done, ms), o.clearTimeout, value as T, options);
}

function patchedPromiseSetImmediate<T = void>(value?: T, options?: PromiseTimerOptions): Promise<T> {
  if (greenletStorage.getStore() === undefined || !plainOptions(options)) {
    return o.promiseSetImmediate(value as T, options as any);
  }
  return killableTimer((done) => o.setImmediate(done), o.clearImmediate, value as T, options);
}

/**
 * The interval iterator of timers/promises, with each `next()` a killable hub wait. Node's own is an
 * async generator, whose `return()` waits for the pending tick, so a killed greenlet would leave its
 * interval running until then; this one stops its interval at once.
 */
function patchedPromiseSetInterval<T = void>(ms?: number, value?: T, options?: PromiseTimerOptions): AsyncIterableIterator<T> {
  if (greenletStorage.getStore() === undefined || !plainOptions(options)) {
    return o.promiseSetInterval(ms, value as T, options as any);
  }
  const signal = options?.signal;
  let ticks = 0;
  let done = false;
  let wake: (() => void) | null = null;
  let fail: ((error: unknown) => void) | null = null;
  // Owned by the greenlet like any interval it starts, so a kill clears it even between next() calls.
  const interval = patchedSetInterval(() => {
    ticks++;
    const w = wake;
    wake = fail = null;
    w?.();
  }, ms);
  if (options?.ref === false) interval.unref();
  const onAbort = (): void => {
    const f = fail;
    finish();
    f?.(abortError(signal!));
  };
  const finish = (): void => {
    if (done) return;
    done = true;
    wake = fail = null;
    o.clearInterval(interval);
    signal?.removeEventListener('abort', onAbort);
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  const iterator: AsyncIterableIterator<T> = {
    async next(): Promise<IteratorResult<T>> {
      if (signal?.aborted) {
        finish();
        throw abortError(signal);
      }
      if (done) return { done: true, value: undefined };
      if (ticks === 0) {
        await waitFor<void>((resolve, reject) => {
          wake = resolve;
          fail = reject;
          return finish;
        });
      }
      ticks--;
      return { done: false, value: value as T };
    },
    async return(v?: any): Promise<IteratorResult<T>> {
      finish();
      return { done: true, value: v };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

let patched = false;

export function timersPatched(): boolean {
  return patched;
}

function install(s: typeof o.setTimeout, i: typeof o.setInterval, im: typeof o.setImmediate, ps: any, pim: any, pin: any): void {
  globalThis.setTimeout = s;
  globalThis.setInterval = i;
  globalThis.setImmediate = im;
  (nodeTimers as any).setTimeout = s;
  (nodeTimers as any).setInterval = i;
  (nodeTimers as any).setImmediate = im;
  (timersPromises as any).setTimeout = ps;
  (timersPromises as any).setImmediate = pim;
  (timersPromises as any).setInterval = pin;
  // Named ESM imports of node:timers and node:timers/promises are live bindings refreshed here.
  syncBuiltinESMExports();
}

/**
 * gevent's `patch_time`, for Node: `setTimeout`, `setInterval`, `setImmediate` (global and
 * `node:timers`) and `node:timers/promises` become greenlet-owned. Outside any greenlet nothing
 * changes. Patching twice is harmless.
 */
export function patchTimers(): void {
  if (patched) return;
  install(
    patchedSetTimeout as unknown as typeof o.setTimeout,
    patchedSetInterval as unknown as typeof o.setInterval,
    patchedSetImmediate as unknown as typeof o.setImmediate,
    patchedPromiseSetTimeout,
    patchedPromiseSetImmediate,
    patchedPromiseSetInterval,
  );
  patched = true;
  markPatched('timers', true);
}

/** Restores Node's timers. Timers made while patched stay owned (a later kill still clears them). */
export function unpatchTimers(): void {
  if (!patched) return;
  install(o.setTimeout, o.setInterval, o.setImmediate, o.promiseSetTimeout, o.promiseSetImmediate, o.promiseSetInterval);
  patched = false;
  markPatched('timers', false);
}
