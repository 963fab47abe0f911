/**
 * gevent's Timeout: an exception that arms itself. It binds to the greenlet that starts it and, on
 * expiry, is thrown into that greenlet at its current hub wait (or its next one, if the greenlet is
 * busy elsewhere). Nesting works because each Timeout throws only itself (or its own exception).
 */
import { GreenletStateError, HubError, optionalSeconds } from './errors.js';
import { NONE, getCurrentOwner, getHub, type WaitOwner } from './hub.js';
import type { TimerEntry } from './timer-heap.js';

export type ExceptionSpec = Error | (new () => Error);

export class Timeout extends HubError implements TimerEntry {
  _deadline = 0;
  _seq = 0;
  _heapIndex = -1;
  /** The limit in seconds; undefined means the Timeout never fires. */
  readonly seconds: number | undefined;
  private readonly exception: ExceptionSpec | undefined;
  private owner: WaitOwner | null = null;
  private thrown: unknown = NONE;

  constructor(seconds?: number | null, exception?: ExceptionSpec) {
    const s = optionalSeconds(seconds, 'Timeout seconds');
    super('TSGI_ERR_HUB_TIMEOUT', s === undefined ? 'Timeout' : `${s} second${s === 1 ? '' : 's'}`);
    this.seconds = s;
    this.exception = exception;
  }

  /** Starts a Timeout bound to the current greenlet. `seconds` may be a Timeout to start as is. */
  static startNew(seconds?: number | null | Timeout, exception?: ExceptionSpec): Timeout {
    const t = seconds instanceof Timeout ? seconds : new Timeout(seconds, exception);
    return t.start();
  }

  /** True while the timer is armed. */
  get pending(): boolean {
    return this._heapIndex >= 0;
  }

  start(): this {
    if (this.pending) {
      throw new GreenletStateError(`${this.toString()} is already started; to restart it, cancel() it first`);
    }
    this.owner = getCurrentOwner();
    this.thrown = NONE;
    if (this.seconds !== undefined) getHub().addTimer(this, this.seconds);
    return this;
  }

  /**
   * Disarms the timer. If it already fired into a greenlet that has not reached a hub wait yet, the
   * undelivered exception is withdrawn too, so it cannot surface after the guarded code finished.
   */
  cancel(): void {
    if (this._heapIndex >= 0) getHub().removeTimer(this);
    const owner = this.owner;
    if (owner !== null && this.thrown !== NONE && owner._pending === this.thrown) owner._pending = NONE;
    this.owner = null;
    this.thrown = NONE;
  }

  /** Alias of cancel(), as gevent's `close()`. */
  close(): void {
    this.cancel();
  }

  _fire(): void {
    const owner = this.owner;
    if (owner === null) return;
    const spec = this.exception;
    const exc = spec === undefined ? this : typeof spec === 'function' ? new spec() : spec;
    this.thrown = exc;
    owner._throw(exc);
  }

  override toString(): string {
    return `Timeout(${this.seconds ?? 'None'})`;
  }
}

export interface WithTimeoutOptions<V> {
  /** Returned instead of throwing when this call's own Timeout expires. */
  timeoutValue?: V;
}

/**
 * Runs `fn` under a Timeout of `seconds`. Throws the Timeout when it expires, unless
 * `timeoutValue` is given (even as undefined); an outer Timeout always propagates.
 */
export async function withTimeout<T, V = never>(
  seconds: number | null | undefined,
  fn: () => T | PromiseLike<T>,
  options?: WithTimeoutOptions<V>,
): Promise<T | V> {
  const timeout = Timeout.startNew(seconds);
  try {
    return await fn();
  } catch (error) {
    if (error === timeout && options !== undefined && 'timeoutValue' in options) return options.timeoutValue as V;
    throw error;
  } finally {
    timeout.cancel();
  }
}
