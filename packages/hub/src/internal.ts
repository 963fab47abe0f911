/**
 * `@tsgi/hub/internal`: for @tsgi/monkey and @tsgi/server only. Unstable: it changes with them.
 */
import { getCurrent, type Greenlet } from './greenlet.js';
import { greenletStorage } from './hub.js';

export { greenletStorage, waitFor } from './hub.js';
export { GreenletList } from './greenlet-list.js';
export type { GreenletStorage } from './greenlet-context.js';
export { isKilled, onKill, onSpawn, onThrow, runNow, spawnNow, type KillHook, type ThrowHook } from './greenlet.js';

/** Runs `fn` with `greenlet` as the current greenlet (other async context unchanged). */
export function runInGreenlet<R>(greenlet: Greenlet<any>, fn: () => R): R {
  return greenlet === getCurrent() ? fn() : greenletStorage.run(greenlet, fn);
}

/**
 * The embedder's value attached to a greenlet (the server attaches the request a greenlet serves or
 * was spawned from). A plain field, not an AsyncLocalStorage: on Node 20 every store adds a promise
 * hook to every promise the process makes.
 */
export function tagOf(greenlet: Greenlet<any>): unknown {
  return greenlet._tag;
}

export function setTag(greenlet: Greenlet<any>, value: unknown): void {
  greenlet._tag = value;
}
