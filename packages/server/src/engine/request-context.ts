import { getCurrent } from '@tsgi/hub';
import { tagOf } from '@tsgi/hub/internal';
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
 * The request a greenlet serves is attached to the greenlet itself, and the engine copies it to
 * every greenlet spawned from there, so `uwsgi.requestContext()` works in those too (uWSGI:
 * `[BUG] current_wsgi_req NOT FOUND`), with or without monkey patching.
 */
export function currentRequest(): RequestContext | undefined {
  return tagOf(getCurrent()) as RequestContext | undefined;
}
