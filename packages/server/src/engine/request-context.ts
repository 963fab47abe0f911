import { AsyncLocalStorage } from 'node:async_hooks';
import type { Environ } from './environ.js';

/** What tsgi knows about the request a greenlet belongs to (or was spawned from). */
export interface RequestContext {
  readonly workerId: number;
  readonly core: number;
  readonly environ: Environ;
  /** Milliseconds since the epoch when the request was accepted. */
  readonly startTime: number;
  /** The request's own greenlet. */
  readonly greenlet: unknown;
  readonly method: string;
  readonly uri: string;
  readonly remoteAddr: string;
  /** True once the response is finished; greenlets the request spawned may outlive it. */
  ended: boolean;
}

/**
 * The request context flows, like any async context, into every greenlet the request spawns, so
 * `uwsgi.requestContext()` works there too (uWSGI: `[BUG] current_wsgi_req NOT FOUND`).
 */
export const requestStorage = new AsyncLocalStorage<RequestContext>();

export function currentRequest(): RequestContext | undefined {
  return requestStorage.getStore();
}
