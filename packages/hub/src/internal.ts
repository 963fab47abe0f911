/**
 * `@tsgi/hub/internal`: for @tsgi/monkey and @tsgi/server only. Unstable: it changes with them.
 */
import { getCurrent, type Greenlet } from './greenlet.js';
import { greenletStorage } from './hub.js';

export { greenletStorage, waitFor } from './hub.js';
export { isKilled, onKill, onSpawn, onThrow, spawnNow, type KillHook, type ThrowHook } from './greenlet.js';

/** Runs `fn` with `greenlet` as the current greenlet (other async context unchanged). */
export function runInGreenlet<R>(greenlet: Greenlet<any>, fn: () => R): R {
  return greenlet === getCurrent() ? fn() : greenletStorage.run(greenlet, fn);
}
