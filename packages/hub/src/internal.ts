/**
 * `@tsgi/hub/internal`: for @tsgi/monkey and @tsgi/server only. Unstable: it changes with them.
 */
import { getCurrent, type Greenlet } from './greenlet.js';
import { greenletStorage } from './hub.js';

export { greenletStorage, waitFor } from './hub.js';
export { onSpawn } from './greenlet.js';

/**
 * Calls `cb(reason)` when `greenlet` is first killed (synchronously, inside kill()); at once if it
 * already was. Returns a function that removes the hook.
 */
export function onKill(greenlet: Greenlet<any>, cb: (reason: unknown) => void): () => void {
  const signal = greenlet.signal;
  if (signal.aborted) {
    cb(signal.reason);
    return () => {};
  }
  const listener = (): void => cb(signal.reason);
  signal.addEventListener('abort', listener, { once: true });
  return () => signal.removeEventListener('abort', listener);
}

/** Runs `fn` with `greenlet` as the current greenlet (other async context unchanged). */
export function runInGreenlet<R>(greenlet: Greenlet<any>, fn: () => R): R {
  return greenlet === getCurrent() ? fn() : greenletStorage.run(greenlet, fn);
}
