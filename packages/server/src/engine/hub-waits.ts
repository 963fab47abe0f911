import type { EventEmitter } from 'node:events';
import { waitFor } from '@tsgi/hub/internal';

/**
 * The engine's blocking points, all built on the hub's one killable wait: a request greenlet
 * waiting here is interrupted at once by kill(), a Timeout, or harakiri, like every hub wait.
 */

/** Waits until `event` fires on `emitter` (or one of `failEvents`, which rejects), bounded by `timeoutSeconds`. */
export function waitForEmitter<T = unknown>(
  emitter: EventEmitter,
  event: string,
  options: { failEvents?: Record<string, (arg: unknown) => unknown>; timeoutSeconds?: number; onTimeout?: () => unknown } = {},
): Promise<T> {
  return waitFor<T>((resolve, reject) => {
    const onEvent = (value: unknown) => {
      cleanup();
      resolve(value as T);
    };
    const failers: Array<[string, (arg: unknown) => void]> = [];
    for (const [name, toError] of Object.entries(options.failEvents ?? {})) {
      const fail = (arg: unknown) => {
        cleanup();
        reject(toError(arg));
      };
      failers.push([name, fail]);
      emitter.once(name, fail);
    }
    emitter.once(event, onEvent);
    const timer =
      options.timeoutSeconds !== undefined && options.timeoutSeconds > 0
        ? setTimeout(() => {
            cleanup();
            reject(options.onTimeout ? options.onTimeout() : new Error(`timed out after ${options.timeoutSeconds} s`));
          }, options.timeoutSeconds * 1000)
        : undefined;
    function cleanup() {
      emitter.removeListener(event, onEvent);
      for (const [name, fail] of failers) emitter.removeListener(name, fail);
      if (timer !== undefined) clearTimeout(timer);
    }
    return cleanup;
  });
}
