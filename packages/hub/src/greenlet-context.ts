/**
 * Which greenlet is current, carried across awaits on V8's promise hooks: a promise made in a
 * greenlet remembers it, and the reaction that runs for that promise (an await's continuation, a
 * then() callback) runs with it current. Callbacks Node calls from its event loop (timers, I/O
 * events, nextTick) run in the hub, as gevent runs callbacks; @tsgi/monkey's patches bind timers to
 * the greenlet that made them.
 *
 * Not an AsyncLocalStorage: on Node 20 an enabled store makes every nextTick, timer, write and
 * promise of the process call an async_hooks init hook (a plain Node hello world loses 5% to that
 * alone), and on Node 24 each run() copies the whole context frame. Here entering a greenlet is two
 * assignments, on every Node alike.
 */
import { promiseHooks } from 'node:v8';
import type { Greenlet } from './greenlet.js';

export interface GreenletStorage {
  /** The current greenlet; undefined outside any greenlet. */
  getStore(): Greenlet<any> | undefined;
  /** Calls `fn` with `greenlet` current, then makes the previous one current again. */
  run<R, A extends unknown[]>(greenlet: Greenlet<any> | undefined, fn: (...args: A) => R, ...args: A): R;
}

function promiseHookStorage(): GreenletStorage {
  const owner = Symbol('tsgi.greenlet');
  let current: Greenlet<any> | undefined;
  // Reactions never nest (V8 runs one microtask at a time), so one saved value is enough.
  let outside: Greenlet<any> | undefined;
  promiseHooks.createHook({
    init(promise) {
      if (current !== undefined) (promise as unknown as Record<symbol, unknown>)[owner] = current;
    },
    before(promise) {
      outside = current;
      current = (promise as unknown as Record<symbol, Greenlet<any> | undefined>)[owner];
    },
    after() {
      current = outside;
      outside = undefined;
    },
  });
  return {
    getStore: () => current,
    run<R, A extends unknown[]>(greenlet: Greenlet<any> | undefined, fn: (...args: A) => R, ...args: A): R {
      const previous = current;
      current = greenlet;
      try {
        return fn(...args);
      } finally {
        current = previous;
      }
    },
  };
}

export const greenletStorage: GreenletStorage = promiseHookStorage();
